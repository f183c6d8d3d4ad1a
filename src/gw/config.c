/*
 * gw_config: load and validate the libconfig file (spec "Config file").
 * The only file that includes <libconfig.h>.
 *
 * libconfig 1.5 (Debian 12) traps, each handled before or after it runs:
 * see config_scan.h for @include of a directory (exit(2)), wrapped
 * integers and dropped "\x00". The scan runs first; when it finds an
 * include libconfig cannot safely read, libconfig is not run at all.
 *
 * Validation walks the tree with const key tables per group, so every
 * unknown key is found, and keeps going after a problem so that
 * --check-config lists all of them at once.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_scan.h"

struct pool_chunk {
	struct pool_chunk *next;
	max_align_t data[];
};

struct gw_config_pool {
	struct pool_chunk *head;
};

/* libconfig's name for a file -> the name we show, in the pool. */
struct file_name {
	const char *lc;
	const char *shown;
};

struct loader {
	struct gw_config *cfg;
	gw_config_report_fn report;
	void *user;
	unsigned problems;
	bool nomem;
	const char *path; /* as given */
	const char *dir;  /* the include directory, in the pool */
	struct gw_scan scan;
	struct file_name *names;
	size_t n_names;
	struct pending *pending; /* problems, reported sorted at the end */
	size_t n_pending, cap_pending;
};

/*
 * Problems are found section by section, not line by line; they are held
 * and reported in file order so --check-config reads like the file.
 */
struct pending {
	char *file;
	unsigned line;
	char *msg;
	size_t seq;
	size_t file_rank;
};

/* ---- Memory: everything hangs off the config's pool ---- */

static void *palloc(struct loader *L, size_t size)
{
	struct pool_chunk *c = calloc(1, sizeof(*c) + size);

	if (!c) {
		L->nomem = true;
		return NULL;
	}
	c->next = L->cfg->pool->head;
	L->cfg->pool->head = c;
	return c->data;
}

static char *pstrndup(struct loader *L, const char *s, size_t len)
{
	char *d = palloc(L, len + 1);

	if (d)
		memcpy(d, s, len);
	return d;
}

static char *pstrdup(struct loader *L, const char *s)
{
	return pstrndup(L, s, strlen(s));
}

static char *pprintf(struct loader *L, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *pprintf(struct loader *L, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *d;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(d = palloc(L, (size_t)n + 1)))
		return NULL;
	va_start(ap, fmt);
	vsnprintf(d, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return d;
}

/* ---- Locations and reports ---- */

/*
 * libconfig names the main file as it was passed and an included file as
 * its @include wrote it (relative to the include directory); show the
 * latter as a path the user can open.
 */
static const char *shown_file(struct loader *L, const char *lc)
{
	/* the copy in the config: it outlives the caller's string */
	if (!lc || strcmp(lc, L->path) == 0)
		return L->cfg->path ? L->cfg->path : L->path;
	for (size_t i = 0; i < L->n_names; i++)
		if (strcmp(L->names[i].lc, lc) == 0)
			return L->names[i].shown;
	struct file_name *n =
	    palloc(L, (L->n_names + 1) * sizeof(*n)); /* pool: no realloc */
	char *lcd = pstrdup(L, lc);
	char *shown = pprintf(L, "%s/%s", L->dir, lc);
	if (!n || !lcd || !shown)
		return L->path;
	if (L->n_names)
		memcpy(n, L->names, L->n_names * sizeof(*n));
	n[L->n_names].lc = lcd;
	n[L->n_names].shown = shown;
	L->names = n;
	L->n_names++;
	return shown;
}

static struct gw_config_loc loc_of(struct loader *L, const config_setting_t *s)
{
	struct gw_config_loc loc = {
	    .file = shown_file(L, config_setting_source_file(s)),
	    .line = config_setting_source_line(s),
	};
	return loc;
}

static void problem_at(struct loader *L, const char *file, unsigned line,
		       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem_at(struct loader *L, const char *file, unsigned line,
		       const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	L->problems++;
	if (!L->report)
		return;
	if (L->n_pending == L->cap_pending) {
		size_t cap = L->cap_pending ? 2 * L->cap_pending : 16;
		struct pending *p = realloc(L->pending, cap * sizeof(*p));

		if (!p)
			goto now;
		L->pending = p;
		L->cap_pending = cap;
	}
	struct pending *p = &L->pending[L->n_pending];
	p->file = strdup(file);
	p->msg = strdup(msg);
	if (!p->file || !p->msg) {
		free(p->file);
		free(p->msg);
		goto now;
	}
	p->line = line;
	p->seq = L->n_pending;
	/* the main file first, the others in the order they showed up */
	p->file_rank = strcmp(file, L->path) == 0 ? 0 : L->n_pending + 1;
	for (size_t i = 0; i < L->n_pending; i++)
		if (strcmp(L->pending[i].file, file) == 0) {
			p->file_rank = L->pending[i].file_rank;
			break;
		}
	L->n_pending++;
	return;
now:
	L->report(L->user, file, line, msg);
}

static int pending_cmp(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;

	if (x->file_rank != y->file_rank)
		return x->file_rank < y->file_rank ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void flush_problems(struct loader *L)
{
	qsort(L->pending, L->n_pending, sizeof(*L->pending), pending_cmp);
	for (size_t i = 0; i < L->n_pending; i++) {
		L->report(L->user, L->pending[i].file, L->pending[i].line,
			  L->pending[i].msg);
		free(L->pending[i].file);
		free(L->pending[i].msg);
	}
	free(L->pending);
	L->pending = NULL;
	L->n_pending = L->cap_pending = 0;
}

/* "mqtt.tls.ca_file", "devices[2].name", "" for the root. */
static void keypath(const config_setting_t *s, char *buf, size_t cap)
{
	const config_setting_t *parent = config_setting_parent(s);
	size_t n;

	buf[0] = '\0';
	if (!parent)
		return;
	keypath(parent, buf, cap);
	n = strlen(buf);
	if (config_setting_is_list(parent) || config_setting_is_array(parent))
		snprintf(buf + n, cap - n, "[%d]", config_setting_index(s));
	else
		snprintf(buf + n, cap - n, "%s%s", n ? "." : "",
			 config_setting_name(s) ? config_setting_name(s) : "?");
}

/* A problem with setting @s: the message gets "KEY: " in front. */
static void problem(struct loader *L, const config_setting_t *s,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(struct loader *L, const config_setting_t *s,
		    const char *fmt, ...)
{
	char key[256], msg[900];
	struct gw_config_loc loc = loc_of(L, s);
	va_list ap;

	keypath(s, key, sizeof(key));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	problem_at(L, loc.file, loc.line, "%s: %s", key[0] ? key : "(top)",
		   msg);
}

/* @s quoted for a message: escaped, cut at 80 bytes. */
static const char *quote(const char *s, char *buf, size_t cap)
{
	size_t o = 0;

	buf[o++] = '"';
	for (size_t i = 0; s[i] && o + 8 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 80) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
#define QBUF 400

static const char *type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "nothing";
	}
}

/* The setting name the scanner saw for @s (its own or its list's). */
static const char *scan_name(const config_setting_t *s)
{
	while (s && !config_setting_name(s))
		s = config_setting_parent(s);
	return s ? config_setting_name(s) : "";
}

static struct gw_scan_note *take_note(struct loader *L,
				      const config_setting_t *s,
				      enum gw_scan_note_kind kind)
{
	struct gw_scan_note *n = gw_config_scan_find(
	    &L->scan, kind,
	    config_setting_source_file(s) ? config_setting_source_file(s)
					  : L->path,
	    config_setting_source_line(s), scan_name(s));
	if (n)
		n->used = true;
	return n;
}

/* ---- Typed getters: 1 found and valid, 0 absent, -1 problem reported ---- */

static bool in_list(const char *name, const char *const *keys)
{
	for (; *keys; keys++)
		if (strcmp(name, *keys) == 0)
			return true;
	return false;
}

/* Report every member of group @g not named in @keys. */
static void check_keys(struct loader *L, const config_setting_t *g,
		       const char *const *keys)
{
	char where[256];

	keypath(g, where, sizeof(where));
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m =
		    config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m);
		struct gw_config_loc loc;

		if (!name || in_list(name, keys))
			continue;
		loc = loc_of(L, m);
		problem_at(L, loc.file, loc.line, "unknown key '%s' in %s",
			   name, where[0] ? where : "the top level");
		/* its value's own trouble is moot */
		take_note(L, m, GW_SCAN_BIG_INT);
		take_note(L, m, GW_SCAN_NUL);
	}
}

static int get_bool(struct loader *L, const config_setting_t *g,
		    const char *key, bool *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		problem(L, s, "expected true or false, got %s", type_name(s));
		return -1;
	}
	*out = config_setting_get_bool(s) != 0;
	return 1;
}

static int int_value(struct loader *L, const config_setting_t *s, long long lo,
		     long long hi, long long *out)
{
	struct gw_scan_note *big;
	long long v;

	if (config_setting_type(s) == CONFIG_TYPE_FLOAT) {
		problem(L, s, "expected an integer, got %g",
			config_setting_get_float(s));
		return -1;
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		problem(L, s, "expected an integer, got %s", type_name(s));
		return -1;
	}
	big = take_note(L, s, GW_SCAN_BIG_INT);
	if (big) {
		/* libconfig wrapped it: quote what the user wrote */
		problem(L, s, "%s is out of range (%lld..%lld)", big->text, lo,
			hi);
		return -1;
	}
	v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		problem(L, s, "%lld is out of range (%lld..%lld)", v, lo, hi);
		return -1;
	}
	*out = v;
	return 1;
}

static int get_int(struct loader *L, const config_setting_t *g, const char *key,
		   long long lo, long long hi, long long *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	return s ? int_value(L, s, lo, hi, out) : 0;
}

static int get_u32(struct loader *L, const config_setting_t *g, const char *key,
		   long long lo, long long hi, uint32_t *out)
{
	long long v;
	int rc = get_int(L, g, key, lo, hi, &v);

	if (rc == 1)
		*out = (uint32_t)v;
	return rc;
}

static int get_float(struct loader *L, const config_setting_t *g,
		     const char *key, double lo, double hi, double *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	double v;

	if (!s)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64) {
		struct gw_scan_note *big = take_note(L, s, GW_SCAN_BIG_INT);

		if (big) {
			problem(L, s, "%s is out of range (%g..%g)", big->text,
				lo, hi);
			return -1;
		}
		v = (double)config_setting_get_int64(s);
	} else if (config_setting_type(s) == CONFIG_TYPE_FLOAT) {
		v = config_setting_get_float(s);
	} else {
		problem(L, s, "expected a number, got %s", type_name(s));
		return -1;
	}
	/* written so that NaN fails too */
	if (!(v >= lo && v <= hi)) {
		problem(L, s, "%g is out of range (%g..%g)", v, lo, hi);
		return -1;
	}
	*out = v;
	return 1;
}

/* A string setting @s, copied into the pool. */
static int str_value(struct loader *L, const config_setting_t *s,
		     bool allow_empty, const char **out)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		problem(L, s, "expected a string, got %s", type_name(s));
		return -1;
	}
	if (take_note(L, s, GW_SCAN_NUL)) {
		problem(L, s, "a string may not contain \\x00 (NUL)");
		return -1;
	}
	v = config_setting_get_string(s);
	if (!allow_empty && !*v) {
		problem(L, s, "must not be empty");
		return -1;
	}
	*out = pstrdup(L, v);
	return *out ? 1 : -1;
}

static int get_str(struct loader *L, const config_setting_t *g, const char *key,
		   const char **out)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	return s ? str_value(L, s, false, out) : 0;
}

static int get_str_empty_ok(struct loader *L, const config_setting_t *g,
			    const char *key, const char **out)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	return s ? str_value(L, s, true, out) : 0;
}

/* A string that must be one of @names; *@out gets its index. */
static int get_enum(struct loader *L, const config_setting_t *g,
		    const char *key, const char *const *names, int *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	const char *v;
	char q[QBUF], all[256] = "";

	if (!s)
		return 0;
	if (str_value(L, s, true, &v) < 0)
		return -1;
	for (int i = 0; names[i]; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return 1;
		}
		snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s",
			 i ? ", " : "", names[i]);
	}
	problem(L, s, "%s is not one of %s", quote(v, q, sizeof(q)), all);
	return -1;
}

static int get_group(struct loader *L, const config_setting_t *parent,
		     const char *key, const config_setting_t **out)
{
	const config_setting_t *s = config_setting_get_member(parent, key);

	if (!s)
		return 0;
	if (!config_setting_is_group(s)) {
		problem(L, s, "expected a group { ... }, got %s", type_name(s));
		return -1;
	}
	*out = s;
	return 1;
}

/* A list of groups "( { ... }, ... )"; an empty array is accepted too. */
static int get_group_list(struct loader *L, const config_setting_t *parent,
			  const char *key, const config_setting_t **out)
{
	const config_setting_t *s = config_setting_get_member(parent, key);

	if (!s)
		return 0;
	if (!config_setting_is_list(s) &&
	    !(config_setting_is_array(s) && config_setting_length(s) == 0)) {
		problem(L, s, "expected a list ( { ... }, ... ), got %s",
			type_name(s));
		return -1;
	}
	*out = s;
	return 1;
}

/* An array or list of strings; *@out (pool) gets them. */
static int get_str_list(struct loader *L, const config_setting_t *g,
			const char *key, const char ***out, size_t *n_out,
			const config_setting_t **where)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	const char **v;
	int n, bad = 0;

	if (!s)
		return 0;
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		problem(L, s, "expected a list of strings [ \"...\" ], got %s",
			type_name(s));
		return -1;
	}
	n = config_setting_length(s);
	v = palloc(L, ((size_t)n + 1) * sizeof(*v));
	if (!v)
		return -1;
	for (int i = 0; i < n; i++)
		if (str_value(L, config_setting_get_elem(s, (unsigned)i), false,
			      &v[i]) < 0)
			bad++;
	if (bad)
		return -1;
	*out = v;
	*n_out = (size_t)n;
	if (where)
		*where = s;
	return 1;
}

/* ---- Checks shared by the sections ---- */

static bool name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

static void check_topic(struct loader *L, const config_setting_t *s,
			const char *topic)
{
	const char *why;
	char q[QBUF];

	if (gw_topic_valid(topic, strlen(topic), &why) < 0)
		problem(L, s, "%s is not a valid MQTT topic: %s",
			quote(topic, q, sizeof(q)), why);
}

/* A plain topic key (no placeholders). */
static void get_topic(struct loader *L, const config_setting_t *g,
		      const char *key, const char **out)
{
	if (get_str(L, g, key, out) == 1)
		check_topic(L, config_setting_get_member(g, key), *out);
}

/*
 * Compile template @text and check that what it expands to is a valid
 * topic (every placeholder standing for "x").
 */
static int compile_topic_template(struct loader *L, const config_setting_t *s,
				  struct gw_template *t, const char *text,
				  unsigned ncap, unsigned allow)
{
	static const struct gw_seg x = {"x", 1};
	struct gw_match m = {.ncap = ncap};
	struct gw_expand_ctx ctx = {
	    .match = &m, .device = "x", .path = &x, .npath = 1};
	const char *why;
	char q[QBUF], *buf;
	int rc, n;

	rc = gw_template_compile(t, text, ncap, allow, &why);
	if (rc == -ENOMEM)
		L->nomem = true;
	if (rc < 0) {
		problem(L, s, "%s: %s", quote(text, q, sizeof(q)), why);
		return -1;
	}
	for (unsigned i = 0; i < ncap; i++) {
		m.cap[i].seg = &x;
		m.cap[i].n = 1;
	}
	buf = malloc(strlen(text) + 4 * 20 + 1);
	if (!buf) {
		L->nomem = true;
		return -1;
	}
	n = gw_template_expand(t, &ctx, buf, strlen(text) + 81);
	rc = 0;
	if (n >= 0 && gw_topic_valid(buf, (size_t)n, &why) < 0) {
		problem(L, s, "%s is not a valid MQTT topic: %s",
			quote(text, q, sizeof(q)), why);
		rc = -1;
	}
	free(buf);
	return rc;
}

static int compile_pattern(struct loader *L, const config_setting_t *s,
			   struct gw_pattern *p, const char *text)
{
	const char *why;
	char q[QBUF];
	int rc = gw_pattern_compile(p, text, &why);

	if (rc == -ENOMEM)
		L->nomem = true;
	if (rc < 0) {
		problem(L, s, "%s: %s", quote(text, q, sizeof(q)), why);
		return -1;
	}
	return 0;
}

/*
 * Resolve a file named in the config relative to its directory (the
 * daemon runs from /) and check that it can be read now.
 */
static const char *config_file_path(struct loader *L, const config_setting_t *s,
				    const char *name)
{
	const char *path =
	    name[0] == '/' ? name : pprintf(L, "%s/%s", L->dir, name);
	char q[QBUF];

	if (path && access(path, R_OK) < 0) {
		problem(L, s, "cannot read %s: %s", quote(path, q, sizeof(q)),
			strerror(errno));
		return NULL;
	}
	return path;
}

/* ---- gateway ---- */

static void default_id(struct loader *L)
{
	char host[256];
	char *id;

	if (gethostname(host, sizeof(host)) < 0 || !host[0])
		strcpy(host, "coapbridge");
	host[sizeof(host) - 1] = '\0';
	id = pstrdup(L, host);
	if (!id)
		return;
	/* node ids and client ids allow [A-Za-z0-9_-] only */
	for (char *c = id; *c; c++)
		if (!name_ok((char[]){*c, '\0'}))
			*c = '_';
	L->cfg->gateway.id = id;
}

static void load_gateway(struct loader *L, const config_setting_t *root)
{
	static const char *const keys[] = {"id", "base_topic", "default_routes",
					   NULL};
	struct gw_config_gateway *gw = &L->cfg->gateway;
	const config_setting_t *g = NULL;
	char q[QBUF];

	gw->base_topic = GW_CONFIG_DEFAULT_BASE_TOPIC;
	gw->default_routes = true;
	if (get_group(L, root, "gateway", &g) == 1) {
		check_keys(L, g, keys);
		if (get_str(L, g, "id", &gw->id) == 1 && !name_ok(gw->id)) {
			problem(L, config_setting_get_member(g, "id"),
				"%s may only have A-Z a-z 0-9 _ -",
				quote(gw->id, q, sizeof(q)));
			gw->id = NULL;
		}
		if (get_str(L, g, "base_topic", &gw->base_topic) == 1) {
			const config_setting_t *s =
			    config_setting_get_member(g, "base_topic");
			size_t n = strlen(gw->base_topic);

			/* a leading '$' gets the message below only */
			if (gw->base_topic[0] != '$')
				check_topic(L, s, gw->base_topic);
			if (gw->base_topic[0] == '/' ||
			    gw->base_topic[n - 1] == '/' ||
			    gw->base_topic[0] == '$')
				problem(L, s,
					"%s must not start or end with '/' "
					"or start with '$'",
					quote(gw->base_topic, q, sizeof(q)));
		}
		get_bool(L, g, "default_routes", &gw->default_routes);
	}
	if (!gw->id)
		default_id(L);
}

/* ---- coap ---- */

static void load_coap(struct loader *L, const config_setting_t *root)
{
	static const char *const keys[] = {"listen",
					   "allow_unknown_devices",
					   "max_message_size",
					   "ack_timeout_ms",
					   "ack_random_factor",
					   "max_retransmit",
					   "request_timeout_ms",
					   NULL};
	struct gw_config_coap *c = &L->cfg->coap;
	const config_setting_t *g = NULL, *where = NULL;
	const char **listen = NULL;
	size_t n = 0;
	char q[QBUF];

	c->max_message_size = GW_CONFIG_DEFAULT_MAX_MESSAGE_SIZE;
	c->ack_timeout_ms = UCOAP_ACK_TIMEOUT_MS;
	c->ack_random_factor = UCOAP_ACK_RANDOM_FACTOR;
	c->max_retransmit = UCOAP_MAX_RETRANSMIT;
	c->request_timeout_ms = GW_CONFIG_DEFAULT_REQUEST_TIMEOUT_MS;
	if (get_group(L, root, "coap", &g) == 1) {
		check_keys(L, g, keys);
		if (get_str_list(L, g, "listen", &listen, &n, &where) == 1 &&
		    n == 0)
			problem(L, where, "needs at least one address");
		get_bool(L, g, "allow_unknown_devices",
			 &c->allow_unknown_devices);
		get_u32(L, g, "max_message_size", 64, 65535,
			&c->max_message_size);
		get_u32(L, g, "ack_timeout_ms", 10, 600000, &c->ack_timeout_ms);
		get_float(L, g, "ack_random_factor", 1.0, 10.0,
			  &c->ack_random_factor);
		get_u32(L, g, "max_retransmit", 0, 20, &c->max_retransmit);
		get_u32(L, g, "request_timeout_ms", 1, 3600000,
			&c->request_timeout_ms);
	}
	if (!listen || n == 0) {
		static const char *const def[] = {GW_CONFIG_DEFAULT_LISTEN};

		listen = (const char **)def;
		n = 1;
		where = NULL;
	}
	c->listen = palloc(L, n * sizeof(*c->listen));
	if (!c->listen)
		return;
	c->n_listen = n;
	for (size_t i = 0; i < n; i++) {
		if (ucoap_addr_parse(&c->listen[i], listen[i],
				     UCOAP_DEFAULT_PORT) != 0 &&
		    where)
			problem(L, config_setting_get_elem(where, (unsigned)i),
				"%s is not ADDR:PORT, [IPV6]:PORT or ADDR",
				quote(listen[i], q, sizeof(q)));
	}
}

/* ---- mqtt ---- */

static const char *read_password(struct loader *L, const config_setting_t *s,
				 const char *path)
{
	char buf[65536 + 2], q[QBUF];
	struct stat st;
	ssize_t n = 0, r;
	int fd;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		problem(L, s, "cannot read %s: %s", quote(path, q, sizeof(q)),
			strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		problem(L, s, "%s is not a regular file",
			quote(path, q, sizeof(q)));
		close(fd);
		return NULL;
	}
	while ((size_t)n < sizeof(buf) - 1) {
		r = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	buf[n] = '\0';
	size_t len = strcspn(buf, "\n");
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (memchr(buf, '\0', len)) {
		problem(L, s, "%s: the password contains a NUL byte",
			quote(path, q, sizeof(q)));
		return NULL;
	}
	if (len > 65535) {
		problem(L, s, "%s: the password is longer than 65535 bytes",
			quote(path, q, sizeof(q)));
		return NULL;
	}
	const char *pw = pstrndup(L, buf, len);
	explicit_bzero(buf, sizeof(buf));
	return pw;
}

static void load_tls(struct loader *L, const config_setting_t *t)
{
	static const char *const keys[] = {"ca_file",  "ca_path", "cert_file",
					   "key_file", "version", "ciphers",
					   "insecure", NULL};
	static const char *const versions[] = {"tlsv1.2", "tlsv1.3", NULL};
	struct gw_config_tls *tls = &L->cfg->mqtt.tls;
	static const char *const file_keys[] = {"ca_file", "ca_path",
						"cert_file", "key_file"};
	const char **slots[] = {&tls->ca_file, &tls->ca_path, &tls->cert_file,
				&tls->key_file};
	int v;

	tls->enabled = true;
	tls->loc = loc_of(L, t);
	check_keys(L, t, keys);
	for (size_t i = 0; i < 4; i++) {
		const char *name;

		if (get_str(L, t, file_keys[i], &name) == 1)
			*slots[i] = config_file_path(
			    L, config_setting_get_member(t, file_keys[i]),
			    name);
	}
	if (config_setting_get_member(t, "cert_file") &&
	    !config_setting_get_member(t, "key_file"))
		problem(L, t, "cert_file needs key_file");
	if (config_setting_get_member(t, "key_file") &&
	    !config_setting_get_member(t, "cert_file"))
		problem(L, t, "key_file needs cert_file");
	if (get_enum(L, t, "version", versions, &v) == 1)
		tls->version = versions[v];
	get_str(L, t, "ciphers", &tls->ciphers);
	get_bool(L, t, "insecure", &tls->insecure);
}

static void load_mqtt(struct loader *L, const config_setting_t *root)
{
	static const char *const keys[] = {
	    "host",          "port",        "client_id", "username",
	    "password_file", "protocol",    "keepalive", "qos",
	    "tls",           "queue_limit", NULL};
	static const char *const protocols[] = {"v5", "v3.1.1", NULL};
	struct gw_config_mqtt *m = &L->cfg->mqtt;
	const config_setting_t *g = NULL, *t = NULL;
	long long v;
	int p;
	bool port_set = false;

	m->host = GW_CONFIG_DEFAULT_MQTT_HOST;
	m->port = GW_CONFIG_DEFAULT_MQTT_PORT;
	m->protocol = GW_CONFIG_MQTT_V5;
	m->keepalive = GW_CONFIG_DEFAULT_KEEPALIVE;
	m->qos = GW_CONFIG_DEFAULT_QOS;
	m->queue_limit = GW_CONFIG_DEFAULT_QUEUE_LIMIT;
	if (get_group(L, root, "mqtt", &g) == 1) {
		check_keys(L, g, keys);
		get_str(L, g, "host", &m->host);
		if (get_int(L, g, "port", 1, 65535, &v) == 1) {
			m->port = (uint16_t)v;
			port_set = true;
		} else if (config_setting_get_member(g, "port")) {
			port_set = true;
		}
		get_str(L, g, "client_id", &m->client_id);
		get_str(L, g, "username", &m->username);
		if (get_str(L, g, "password_file", &m->password_file) == 1) {
			const config_setting_t *s =
			    config_setting_get_member(g, "password_file");
			const char *path =
			    m->password_file[0] == '/'
				? m->password_file
				: pprintf(L, "%s/%s", L->dir, m->password_file);

			if (!config_setting_get_member(g, "username"))
				problem(L, s, "needs mqtt.username");
			if (path) {
				m->password_file = path;
				m->password = read_password(L, s, path);
			}
		}
		if (get_enum(L, g, "protocol", protocols, &p) == 1)
			m->protocol =
			    p == 0 ? GW_CONFIG_MQTT_V5 : GW_CONFIG_MQTT_V311;
		/* mosquitto refuses keepalives under 5 s */
		get_u32(L, g, "keepalive", 5, 65535, &m->keepalive);
		if (get_int(L, g, "qos", 0, 2, &v) == 1)
			m->qos = (int)v;
		if (get_group(L, g, "tls", &t) == 1)
			load_tls(L, t);
		get_u32(L, g, "queue_limit", 0, 10000000, &m->queue_limit);
	}
	if (m->tls.enabled && !port_set)
		m->port = GW_CONFIG_DEFAULT_MQTT_TLS_PORT;
	if (!m->client_id && L->cfg->gateway.id)
		m->client_id = pprintf(L, "coapbridge-%s", L->cfg->gateway.id);
}

/* ---- devices ---- */

/* Why @a cannot be a device's address, or NULL when it can. */
static const char *address_kind_problem(const struct ucoap_addr *a)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
	uint32_t v4;

	if (a->ss.ss_family == AF_INET6) {
		if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
			return "the unspecified address";
		if (IN6_IS_ADDR_MULTICAST(&s6->sin6_addr))
			return "a multicast address";
		if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			return NULL;
		memcpy(&v4, &s6->sin6_addr.s6_addr[12], 4);
	} else {
		v4 = ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr;
	}
	v4 = ntohl(v4);
	if (v4 == 0)
		return "the unspecified address";
	if (v4 == 0xFFFFFFFFu)
		return "the broadcast address";
	if ((v4 >> 28) == 0xE)
		return "a multicast address";
	return NULL;
}

static void load_device(struct loader *L, const config_setting_t *d,
			size_t index)
{
	static const char *const keys[] = {
	    "name",    "address",   "port", "availability_timeout",
	    "publish", "subscribe", NULL};
	struct gw_config_device *dev = &L->cfg->devices[index];
	const config_setting_t *s;
	const config_setting_t *where;
	long long v;
	char q[QBUF];

	dev->loc = loc_of(L, d);
	dev->port = UCOAP_DEFAULT_PORT;
	dev->availability_timeout = GW_CONFIG_DEFAULT_AVAILABILITY_TIMEOUT;
	check_keys(L, d, keys);
	s = config_setting_get_member(d, "name");
	if (!s) {
		problem(L, d, "missing 'name'");
	} else if (str_value(L, s, false, &dev->name) == 1) {
		if (!name_ok(dev->name)) {
			problem(L, s, "%s may only have A-Z a-z 0-9 _ -",
				quote(dev->name, q, sizeof(q)));
		} else if (strcmp(dev->name, "bridge") == 0) {
			/* B/bridge/state is the gateway's own topic */
			problem(L, s, "\"bridge\" is reserved");
		} else {
			for (size_t i = 0; i < index; i++) {
				const struct gw_config_device *o =
				    &L->cfg->devices[i];

				if (o->name && strcmp(o->name, dev->name) == 0)
					problem(L, s,
						"%s is already the name of the "
						"device at %s:%u",
						quote(dev->name, q, sizeof(q)),
						o->loc.file, o->loc.line);
			}
		}
	}
	if (get_int(L, d, "port", 1, 65535, &v) == 1)
		dev->port = (uint16_t)v;
	get_u32(L, d, "availability_timeout", 1, 31536000,
		&dev->availability_timeout);
	s = config_setting_get_member(d, "address");
	if (!s) {
		problem(L, d, "missing 'address'");
	} else if (str_value(L, s, false, &dev->address) == 1) {
		const char *why;

		if (ucoap_addr_set(&dev->addr, dev->address, dev->port) != 0) {
			problem(L, s,
				"%s is not an IPv4 or IPv6 address (no "
				"names, no port: use 'port')",
				quote(dev->address, q, sizeof(q)));
			dev->address = NULL;
		} else if ((why = address_kind_problem(&dev->addr))) {
			problem(L, s, "%s is %s, not a unicast address",
				quote(dev->address, q, sizeof(q)), why);
			dev->address = NULL;
		} else {
			/* a request is attributed by source address alone */
			for (size_t i = 0; i < index; i++) {
				const struct gw_config_device *o =
				    &L->cfg->devices[i];

				if (o->address &&
				    ucoap_addr_same_host(&o->addr, &dev->addr))
					problem(
					    L, s,
					    "%s is already the address of "
					    "the device at %s:%u",
					    quote(dev->address, q, sizeof(q)),
					    o->loc.file, o->loc.line);
			}
		}
	}
	static const char *const lists[] = {"publish", "subscribe"};
	const char ***outs[] = {&dev->publish, &dev->subscribe};
	size_t *ns[] = {&dev->n_publish, &dev->n_subscribe};
	for (size_t k = 0; k < 2; k++) {
		if (get_str_list(L, d, lists[k], outs[k], ns[k], &where) != 1)
			continue;
		for (size_t i = 0; i < *ns[k]; i++) {
			const char *why;

			if (gw_topic_filter_valid((*outs[k])[i], &why) < 0)
				problem(
				    L,
				    config_setting_get_elem(where, (unsigned)i),
				    "%s is not a valid MQTT topic filter: "
				    "%s",
				    quote((*outs[k])[i], q, sizeof(q)), why);
		}
	}
}

static void load_devices(struct loader *L, const config_setting_t *root)
{
	const config_setting_t *list = NULL;
	size_t n;

	if (get_group_list(L, root, "devices", &list) != 1)
		return;
	n = (size_t)config_setting_length(list);
	if (n == 0)
		return;
	L->cfg->devices = palloc(L, n * sizeof(*L->cfg->devices));
	if (!L->cfg->devices)
		return;
	L->cfg->n_devices = n;
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *d =
		    config_setting_get_elem(list, (unsigned)i);

		if (!config_setting_is_group(d)) {
			problem(L, d, "expected a group { ... }, got %s",
				type_name(d));
			continue;
		}
		load_device(L, d, i);
	}
}

int gw_config_device_find(const struct gw_config *cfg, const char *name,
			  size_t len)
{
	for (size_t i = 0; i < cfg->n_devices; i++) {
		const char *n = cfg->devices[i].name;

		if (n && strlen(n) == len && memcmp(n, name, len) == 0)
			return (int)i;
	}
	return -1;
}

/* ---- routes ---- */

static const char *const method_names[] = {"GET", "POST", "PUT", "DELETE",
					   NULL};

/* Is a pattern certain to be shadowed by the gateway's own paths? */
static bool path_reserved(const struct gw_pattern *p)
{
	const struct gw_pattern_seg *s = p->segs;

	if (p->nsegs >= 1 && s[0].kind == GW_SEG_LITERAL && s[0].len == 2 &&
	    memcmp(s[0].lit, "ps", 2) == 0)
		return true;
	return p->nsegs == 2 && s[0].kind == GW_SEG_LITERAL &&
	       s[1].kind == GW_SEG_LITERAL && s[0].len == 11 &&
	       memcmp(s[0].lit, ".well-known", 11) == 0 && s[1].len == 4 &&
	       memcmp(s[1].lit, "core", 4) == 0;
}

static const config_setting_t *
required(struct loader *L, const config_setting_t *g, const char *key)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (!s)
		problem(L, g, "missing '%s'", key);
	return s;
}

static void load_uplink(struct loader *L, const config_setting_t *r,
			struct gw_config_uplink *u)
{
	static const char *const keys[] = {"path",   "methods", "topic", "qos",
					   "retain", "payload", "senml", NULL};
	static const char *const payloads[] = {"raw", "json", NULL};
	static const char *const senmls[] = {"none", "split", NULL};
	const config_setting_t *s, *where;
	const char *text, **methods;
	size_t n;
	long long v;
	int e;
	bool path_ok = false;
	char q[QBUF];

	u->loc = loc_of(L, r);
	u->methods = GW_METHOD_POST | GW_METHOD_PUT;
	u->qos = L->cfg->mqtt.qos;
	check_keys(L, r, keys);
	if ((s = required(L, r, "path")) &&
	    str_value(L, s, false, &text) == 1) {
		if (text[0] == '/')
			problem(L, s,
				"%s: write the path without a leading '/'",
				quote(text, q, sizeof(q)));
		else if (compile_pattern(L, s, &u->path, text) == 0) {
			path_ok = true;
			if (path_reserved(&u->path))
				problem(L, s,
					"%s is the gateway's own (ps/..., "
					".well-known/core): it would never "
					"match",
					quote(text, q, sizeof(q)));
		}
	}
	if (get_str_list(L, r, "methods", &methods, &n, &where) == 1) {
		if (n == 0)
			problem(L, where, "needs at least one method");
		else
			u->methods = 0;
		for (size_t i = 0; i < n; i++) {
			int m = -1;

			for (int k = 0; method_names[k]; k++)
				if (strcmp(methods[i], method_names[k]) == 0)
					m = k;
			if (m < 0)
				problem(
				    L,
				    config_setting_get_elem(where, (unsigned)i),
				    "%s is not one of GET, POST, PUT, "
				    "DELETE",
				    quote(methods[i], q, sizeof(q)));
			else
				u->methods |= m == 0   ? GW_METHOD_GET
					      : m == 1 ? GW_METHOD_POST
					      : m == 2 ? GW_METHOD_PUT
						       : GW_METHOD_DELETE;
		}
	}
	if ((s = required(L, r, "topic")) &&
	    str_value(L, s, false, &text) == 1 && path_ok)
		compile_topic_template(L, s, &u->topic, text, u->path.nwild,
				       GW_TMPL_ALLOW_DEVICE |
					   GW_TMPL_ALLOW_PATH);
	if (get_int(L, r, "qos", 0, 2, &v) == 1)
		u->qos = (int)v;
	get_bool(L, r, "retain", &u->retain);
	if (get_enum(L, r, "payload", payloads, &e) == 1)
		u->payload = e ? GW_PAYLOAD_JSON : GW_PAYLOAD_RAW;
	if (get_enum(L, r, "senml", senmls, &e) == 1)
		u->senml = e ? GW_SENML_SPLIT : GW_SENML_NONE;
}

/*
 * Split "coap://HOST/path?query" into its parts (pool copies). Returns 0
 * or -1 with the problem reported.
 */
static int split_uri(struct loader *L, const config_setting_t *s,
		     const char *uri, const char **host, const char **path,
		     const char **query)
{
	const char *h, *end, *q;
	char qb[QBUF];

	if (strncmp(uri, "coap://", 7) != 0) {
		problem(L, s, "%s must start with coap://",
			quote(uri, qb, sizeof(qb)));
		return -1;
	}
	h = uri + 7;
	end = h + strcspn(h, "/?#");
	if (*end == '#') {
		problem(L, s, "%s: a CoAP URI has no fragment",
			quote(uri, qb, sizeof(qb)));
		return -1;
	}
	if (end == h) {
		problem(L, s, "%s has no host", quote(uri, qb, sizeof(qb)));
		return -1;
	}
	if (memchr(h, ':', (size_t)(end - h)) ||
	    memchr(h, '[', (size_t)(end - h))) {
		problem(L, s,
			"%s: the host must be a device name (the port comes "
			"from the device)",
			quote(uri, qb, sizeof(qb)));
		return -1;
	}
	*host = pstrndup(L, h, (size_t)(end - h));
	if (*end == '/')
		end++;
	q = strchr(end, '?');
	if (strchr(end, '#')) {
		problem(L, s, "%s: a CoAP URI has no fragment",
			quote(uri, qb, sizeof(qb)));
		return -1;
	}
	*path = pstrndup(L, end, q ? (size_t)(q - end) : strlen(end));
	*query = q ? pstrdup(L, q + 1) : NULL;
	return *host && *path && (!q || *query) ? 0 : -1;
}

static void load_downlink(struct loader *L, const config_setting_t *r,
			  struct gw_config_downlink *dl)
{
	static const char *const keys[] = {
	    "topic",           "method",     "uri",
	    "confirmable",     "timeout_ms", "response_topic",
	    "accept_retained", NULL};
	const config_setting_t *s;
	const char *text, *host, *path, *query, *why;
	bool topic_ok = false;
	int m;
	char q[QBUF];

	dl->loc = loc_of(L, r);
	dl->method = 3; /* PUT: the usual command */
	dl->device = -1;
	dl->confirmable = true;
	dl->timeout_ms = L->cfg->coap.request_timeout_ms;
	check_keys(L, r, keys);
	if ((s = required(L, r, "topic")) &&
	    str_value(L, s, false, &text) == 1) {
		if (gw_topic_filter_valid(text, &why) < 0)
			problem(L, s, "%s is not a valid MQTT topic filter: %s",
				quote(text, q, sizeof(q)), why);
		else if (compile_pattern(L, s, &dl->topic, text) == 0)
			topic_ok = true;
	}
	if (get_enum(L, r, "method", method_names, &m) == 1)
		dl->method = (uint8_t)(m + 1); /* RFC 7252 §12.1.1 codes */
	if ((s = required(L, r, "uri")) &&
	    str_value(L, s, false, &dl->uri) == 1 && topic_ok &&
	    split_uri(L, s, dl->uri, &host, &path, &query) == 0) {
		unsigned ncap = dl->topic.nwild;

		if (gw_template_compile(&dl->host, host, ncap, 0, &why) < 0)
			problem(L, s, "%s: host %s: %s",
				quote(dl->uri, q, sizeof(q)), host, why);
		else if (dl->host.nparts <= 1 && !dl->host.max_cap &&
			 (dl->device = gw_config_device_find(L->cfg, host,
							     strlen(host))) < 0)
			/* MQTT must never pick an arbitrary address */
			problem(L, s,
				"%s: host '%s' is not a configured device",
				quote(dl->uri, q, sizeof(q)), host);
		if (gw_template_compile(&dl->path, path, ncap,
					GW_TMPL_ALLOW_DEVICE, &why) < 0)
			problem(L, s, "%s: path: %s",
				quote(dl->uri, q, sizeof(q)), why);
		if (gw_template_compile(&dl->query, query ? query : "", ncap,
					GW_TMPL_ALLOW_DEVICE, &why) < 0)
			problem(L, s, "%s: query: %s",
				quote(dl->uri, q, sizeof(q)), why);
	}
	get_bool(L, r, "confirmable", &dl->confirmable);
	get_u32(L, r, "timeout_ms", 1, 3600000, &dl->timeout_ms);
	if (get_str(L, r, "response_topic", &text) == 1 && topic_ok &&
	    compile_topic_template(
		L, config_setting_get_member(r, "response_topic"),
		&dl->response_topic, text, dl->topic.nwild,
		GW_TMPL_ALLOW_DEVICE) == 0)
		dl->has_response_topic = true;
	get_bool(L, r, "accept_retained", &dl->accept_retained);
}

static void load_observe(struct loader *L, const config_setting_t *r,
			 struct gw_config_observe *o)
{
	static const char *const keys[] = {"uri", "topic", "qos", "retain",
					   NULL};
	const config_setting_t *s;
	const char *text, *host;
	long long v;
	char q[QBUF];

	o->loc = loc_of(L, r);
	o->device = -1;
	o->qos = L->cfg->mqtt.qos;
	check_keys(L, r, keys);
	if ((s = required(L, r, "uri")) &&
	    str_value(L, s, false, &o->uri) == 1 &&
	    split_uri(L, s, o->uri, &host, &o->path, &o->query) == 0) {
		o->device = gw_config_device_find(L->cfg, host, strlen(host));
		if (o->device < 0)
			problem(L, s,
				"%s: host '%s' is not a configured device",
				quote(o->uri, q, sizeof(q)), host);
	}
	if ((s = required(L, r, "topic")) && str_value(L, s, false, &text) == 1)
		compile_topic_template(L, s, &o->topic, text, 0,
				       GW_TMPL_ALLOW_DEVICE |
					   GW_TMPL_ALLOW_PATH);
	if (get_int(L, r, "qos", 0, 2, &v) == 1)
		o->qos = (int)v;
	get_bool(L, r, "retain", &o->retain);
}

/* Allocate @n zeroed elements of @size for a route list; NULL when n == 0. */
static void *route_array(struct loader *L, const config_setting_t *list,
			 size_t size, size_t *n)
{
	*n = list ? (size_t)config_setting_length(list) : 0;
	if (*n == 0)
		return NULL;
	void *a = palloc(L, *n * size);
	if (!a)
		*n = 0;
	return a;
}

static bool route_elem(struct loader *L, const config_setting_t *list, size_t i,
		       const config_setting_t **out)
{
	*out = config_setting_get_elem(list, (unsigned)i);
	if (!config_setting_is_group(*out)) {
		problem(L, *out, "expected a group { ... }, got %s",
			type_name(*out));
		return false;
	}
	return true;
}

static void load_routes(struct loader *L, const config_setting_t *root)
{
	static const char *const keys[] = {"uplink", "downlink", "observe",
					   NULL};
	struct gw_config *cfg = L->cfg;
	const config_setting_t *g = NULL, *up = NULL, *down = NULL, *obs = NULL;
	const config_setting_t *r;

	if (get_group(L, root, "routes", &g) != 1)
		return;
	check_keys(L, g, keys);
	get_group_list(L, g, "uplink", &up);
	get_group_list(L, g, "downlink", &down);
	get_group_list(L, g, "observe", &obs);
	cfg->uplink = route_array(L, up, sizeof(*cfg->uplink), &cfg->n_uplink);
	for (size_t i = 0; i < cfg->n_uplink; i++)
		if (route_elem(L, up, i, &r))
			load_uplink(L, r, &cfg->uplink[i]);
	cfg->downlink =
	    route_array(L, down, sizeof(*cfg->downlink), &cfg->n_downlink);
	for (size_t i = 0; i < cfg->n_downlink; i++)
		if (route_elem(L, down, i, &r))
			load_downlink(L, r, &cfg->downlink[i]);
	cfg->observe =
	    route_array(L, obs, sizeof(*cfg->observe), &cfg->n_observe);
	for (size_t i = 0; i < cfg->n_observe; i++)
		if (route_elem(L, obs, i, &r))
			load_observe(L, r, &cfg->observe[i]);
}

/* ---- homeassistant ---- */

static const char *const components[] = {
    "sensor", "binary_sensor", "switch", "light", "number", "button", NULL};

static void load_entity(struct loader *L, const config_setting_t *e,
			size_t index)
{
	static const char *const keys[] = {"device",
					   "component",
					   "object_id",
					   "name",
					   "state_topic",
					   "command_topic",
					   "device_class",
					   "unit",
					   "state_class",
					   "value_template",
					   "json_attributes_topic",
					   "payload_on",
					   "payload_off",
					   "brightness_state_topic",
					   "brightness_command_topic",
					   "brightness_scale",
					   "min",
					   "max",
					   "step",
					   "icon",
					   "entity_category",
					   NULL};
	/* Home Assistant's sensor state classes */
	static const char *const state_classes[] = {
	    "measurement", "measurement_angle", "total", "total_increasing",
	    NULL};
	static const char *const categories[] = {"config", "diagnostic", NULL};
	struct gw_config_entity *en = &L->cfg->homeassistant.entities[index];
	const config_setting_t *s;
	char q[QBUF];
	int k;

	en->loc = loc_of(L, e);
	en->device = -1;
	en->brightness_scale = GW_CONFIG_DEFAULT_BRIGHTNESS_SCALE;
	check_keys(L, e, keys);
	if ((s = required(L, e, "device")) &&
	    str_value(L, s, false, &en->device_name) == 1 &&
	    (en->device = gw_config_device_find(L->cfg, en->device_name,
						strlen(en->device_name))) < 0)
		problem(L, s, "%s is not a configured device",
			quote(en->device_name, q, sizeof(q)));
	bool comp_ok = false;
	if (required(L, e, "component") &&
	    get_enum(L, e, "component", components, &k) == 1) {
		en->component = (enum gw_ha_component)k;
		en->component_name = components[k];
		comp_ok = true;
	}
	if ((s = required(L, e, "object_id")) &&
	    str_value(L, s, false, &en->object_id) == 1) {
		if (!name_ok(en->object_id)) {
			problem(L, s, "%s may only have A-Z a-z 0-9 _ -",
				quote(en->object_id, q, sizeof(q)));
		} else if (en->device_name) {
			for (size_t i = 0; i < index; i++) {
				const struct gw_config_entity *o =
				    &L->cfg->homeassistant.entities[i];

				if (o->object_id && o->device_name &&
				    strcmp(o->device_name, en->device_name) ==
					0 &&
				    strcmp(o->object_id, en->object_id) == 0)
					problem(
					    L, s,
					    "%s is already used for device "
					    "'%s' at %s:%u",
					    quote(en->object_id, q, sizeof(q)),
					    en->device_name, o->loc.file,
					    o->loc.line);
			}
		}
	}
	get_str(L, e, "name", &en->name);
	get_topic(L, e, "state_topic", &en->state_topic);
	get_topic(L, e, "command_topic", &en->command_topic);
	get_str(L, e, "device_class", &en->device_class);
	get_str(L, e, "unit", &en->unit);
	if (get_enum(L, e, "state_class", state_classes, &k) == 1)
		en->state_class = state_classes[k];
	get_str(L, e, "value_template", &en->value_template);
	get_topic(L, e, "json_attributes_topic", &en->json_attributes_topic);
	get_str_empty_ok(L, e, "payload_on", &en->payload_on);
	get_str_empty_ok(L, e, "payload_off", &en->payload_off);
	get_topic(L, e, "brightness_state_topic", &en->brightness_state_topic);
	get_topic(L, e, "brightness_command_topic",
		  &en->brightness_command_topic);
	get_u32(L, e, "brightness_scale", 1, 65535, &en->brightness_scale);
	if (get_float(L, e, "min", -1e15, 1e15, &en->min) == 1)
		en->has_min = true;
	if (get_float(L, e, "max", -1e15, 1e15, &en->max) == 1)
		en->has_max = true;
	if (get_float(L, e, "step", 1e-9, 1e15, &en->step) == 1)
		en->has_step = true;
	get_str(L, e, "icon", &en->icon);
	if (get_enum(L, e, "entity_category", categories, &k) == 1)
		en->entity_category = categories[k];
	if (en->has_min && en->has_max && !(en->min < en->max))
		problem(L, config_setting_get_member(e, "max"),
			"%g is not above min (%g)", en->max, en->min);
	if (!comp_ok)
		return;

	/* Keys that only make sense for some components. */
	enum gw_ha_component c = en->component;
	static const char *const light_only[] = {"brightness_state_topic",
						 "brightness_command_topic",
						 "brightness_scale", NULL};
	static const char *const number_only[] = {"min", "max", "step", NULL};
	for (int i = 0; light_only[i]; i++)
		if (c != GW_HA_LIGHT &&
		    (s = config_setting_get_member(e, light_only[i])))
			problem(L, s, "only for component \"light\"");
	for (int i = 0; number_only[i]; i++)
		if (c != GW_HA_NUMBER &&
		    (s = config_setting_get_member(e, number_only[i])))
			problem(L, s, "only for component \"number\"");
	if (c != GW_HA_SENSOR &&
	    (s = config_setting_get_member(e, "state_class")))
		problem(L, s, "only for component \"sensor\"");
	if ((c == GW_HA_SENSOR || c == GW_HA_BINARY_SENSOR) &&
	    !config_setting_get_member(e, "state_topic"))
		problem(L, e, "missing 'state_topic' (a %s reports a state)",
			en->component_name);
	if ((c == GW_HA_SWITCH || c == GW_HA_LIGHT || c == GW_HA_NUMBER ||
	     c == GW_HA_BUTTON) &&
	    !config_setting_get_member(e, "command_topic"))
		problem(L, e, "missing 'command_topic' (a %s takes commands)",
			en->component_name);
	if ((c == GW_HA_SENSOR || c == GW_HA_BUTTON) &&
	    (s = config_setting_get_member(e, "payload_on")))
		problem(L, s, "not for component \"%s\"", en->component_name);
}

static void load_homeassistant(struct loader *L, const config_setting_t *root)
{
	static const char *const keys[] = {"enabled", "discovery_prefix",
					   "entities", NULL};
	struct gw_config_homeassistant *ha = &L->cfg->homeassistant;
	const config_setting_t *g = NULL, *list = NULL, *e;

	ha->discovery_prefix = GW_CONFIG_DEFAULT_DISCOVERY_PREFIX;
	if (get_group(L, root, "homeassistant", &g) != 1)
		return;
	check_keys(L, g, keys);
	get_bool(L, g, "enabled", &ha->enabled);
	get_topic(L, g, "discovery_prefix", &ha->discovery_prefix);
	if (get_group_list(L, g, "entities", &list) != 1)
		return;
	ha->entities =
	    route_array(L, list, sizeof(*ha->entities), &ha->n_entities);
	for (size_t i = 0; i < ha->n_entities; i++)
		if (route_elem(L, list, i, &e))
			load_entity(L, e, i);
}

/* ---- The whole file ---- */

static void report_notes(struct loader *L)
{
	for (size_t i = 0; i < L->scan.n_notes; i++) {
		const struct gw_scan_note *n = &L->scan.notes[i];
		const char *file = shown_file(L, n->file);

		if (n->used)
			continue;
		if (n->kind == GW_SCAN_BIG_INT)
			problem_at(L, file, n->line,
				   "%s%sinteger %s is out of range", n->name,
				   n->name[0] ? ": " : "", n->text);
		else
			problem_at(L, file, n->line,
				   "%s%sa string may not contain \\x00 (NUL)",
				   n->name, n->name[0] ? ": " : "");
	}
}

static void build_indexes(struct loader *L)
{
	struct gw_config *cfg = L->cfg;

	cfg->uplink_index = gw_route_index_new();
	cfg->downlink_index = gw_route_index_new();
	if (!cfg->uplink_index || !cfg->downlink_index) {
		L->nomem = true;
		return;
	}
	for (size_t i = 0; i < cfg->n_uplink; i++)
		if (gw_route_index_add(cfg->uplink_index, &cfg->uplink[i].path,
				       (uint32_t)i) < 0)
			L->nomem = true;
	for (size_t i = 0; i < cfg->n_downlink; i++)
		if (gw_route_index_add(cfg->downlink_index,
				       &cfg->downlink[i].topic,
				       (uint32_t)i) < 0)
			L->nomem = true;
}

static void scan_report(void *user, const char *file, unsigned line,
			const char *message)
{
	struct loader *L = user;

	/* the scanner names included files as libconfig does */
	problem_at(L, shown_file(L, file), line, "%s", message);
}

static void load_tree(struct loader *L)
{
	static const char *const keys[] = {"gateway", "coap",   "mqtt",
					   "devices", "routes", "homeassistant",
					   NULL};
	config_t lc;
	const config_setting_t *root;

	config_init(&lc);
	config_set_include_dir(&lc, L->dir);
	if (config_read_file(&lc, L->path) != CONFIG_TRUE) {
		const char *f = config_error_file(&lc);

		problem_at(L, f ? shown_file(L, f) : L->path,
			   (unsigned)config_error_line(&lc), "%s",
			   config_error_text(&lc));
		config_destroy(&lc);
		return;
	}
	root = config_root_setting(&lc);
	check_keys(L, root, keys);
	/* in dependency order: ids, then defaults, then what refers to devices
	 */
	load_gateway(L, root);
	load_coap(L, root);
	load_mqtt(L, root);
	load_devices(L, root);
	load_routes(L, root);
	load_homeassistant(L, root);
	report_notes(L);
	config_destroy(&lc);
}

int gw_config_load(const char *path, struct gw_config **out,
		   gw_config_report_fn report, void *user)
{
	struct loader L = {.report = report, .user = user, .path = path};
	const char *slash;
	int rc;

	L.cfg = calloc(1, sizeof(*L.cfg));
	if (!L.cfg || !(L.cfg->pool = calloc(1, sizeof(*L.cfg->pool)))) {
		free(L.cfg);
		if (report)
			report(user, path, 0, "out of memory");
		return -ENOMEM;
	}
	L.cfg->path = pstrdup(&L, path);
	/* @include names are relative to the config file's directory */
	slash = strrchr(path, '/');
	L.dir = slash == path ? "/"
		: slash       ? pstrndup(&L, path, (size_t)(slash - path))
			      : ".";
	if (!L.cfg->path || !L.dir)
		goto nomem;

	rc = gw_config_scan(&L.scan, path, L.dir, scan_report, &L);
	if (rc < 0)
		goto nomem;
	/* libconfig would exit or fail on what the scan found: skip it */
	if (L.scan.fatal == 0)
		load_tree(&L);
	gw_config_scan_cleanup(&L.scan);
	if (L.nomem)
		goto nomem;
	if (L.problems == 0)
		build_indexes(&L);
	if (L.nomem)
		goto nomem;
	if (L.problems) {
		flush_problems(&L);
		gw_config_free(L.cfg);
		return -EINVAL;
	}
	*out = L.cfg;
	return 0;
nomem:
	gw_config_scan_cleanup(&L.scan);
	problem_at(&L, path, 0, "out of memory");
	flush_problems(&L);
	gw_config_free(L.cfg);
	return -ENOMEM;
}

void gw_config_free(struct gw_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_uplink; i++) {
		gw_pattern_cleanup(&cfg->uplink[i].path);
		gw_template_cleanup(&cfg->uplink[i].topic);
	}
	for (size_t i = 0; i < cfg->n_downlink; i++) {
		gw_pattern_cleanup(&cfg->downlink[i].topic);
		gw_template_cleanup(&cfg->downlink[i].host);
		gw_template_cleanup(&cfg->downlink[i].path);
		gw_template_cleanup(&cfg->downlink[i].query);
		gw_template_cleanup(&cfg->downlink[i].response_topic);
	}
	for (size_t i = 0; i < cfg->n_observe; i++)
		gw_template_cleanup(&cfg->observe[i].topic);
	gw_route_index_free(cfg->uplink_index);
	gw_route_index_free(cfg->downlink_index);
	if (cfg->pool) {
		struct pool_chunk *c = cfg->pool->head;

		while (c) {
			struct pool_chunk *next = c->next;

			free(c);
			c = next;
		}
		free(cfg->pool);
	}
	free(cfg);
}
