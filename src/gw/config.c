/*
 * gw_config: load the libconfig file (spec "Config file"). The only file
 * that includes <libconfig.h> (STYLE.md rule 3): it reads the tree and
 * offers it to the section validators (config_gateway.c, config_devices.c,
 * config_routes.c, config_ha.c) as opaque nodes with typed getters, the
 * interface in config_int.h.
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
#include "config_int.h"

#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A node is a libconfig setting; only this file knows. */
static const config_setting_t *cs(const struct gw_cfg_node *n)
{
	return (const config_setting_t *)n;
}

static const struct gw_cfg_node *node(const config_setting_t *s)
{
	return (const struct gw_cfg_node *)s;
}

const struct gw_cfg_node *gw_cfg_member(const struct gw_cfg_node *g,
					const char *key)
{
	return node(config_setting_get_member(cs(g), key));
}

const struct gw_cfg_node *gw_cfg_elem(const struct gw_cfg_node *l, size_t i)
{
	return node(config_setting_get_elem(cs(l), (unsigned)i));
}

size_t gw_cfg_len(const struct gw_cfg_node *n)
{
	int len = config_setting_length(cs(n));

	return len > 0 ? (size_t)len : 0;
}

/* ---- Locations and reports ---- */

static struct gw_config_loc loc_of(struct gw_cfg_loader *L,
				   const config_setting_t *s)
{
	struct gw_config_loc loc = {
	    .file = gw_cfg_file_shown(L, config_setting_source_file(s)),
	    .line = config_setting_source_line(s),
	};
	return loc;
}

struct gw_config_loc gw_cfg_loc(struct gw_cfg_loader *L,
				const struct gw_cfg_node *n)
{
	return loc_of(L, cs(n));
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

static void vproblem(struct gw_cfg_loader *L, const config_setting_t *s,
		     const char *fmt, va_list ap)
{
	char key[256], msg[900];
	struct gw_config_loc loc = loc_of(L, s);

	keypath(s, key, sizeof(key));
	vsnprintf(msg, sizeof(msg), fmt, ap);
	gw_cfg_problem_at(L, loc.file, loc.line, "%s: %s",
			  key[0] ? key : "(top)", msg);
}

static void problem(struct gw_cfg_loader *L, const config_setting_t *s,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(struct gw_cfg_loader *L, const config_setting_t *s,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(L, s, fmt, ap);
	va_end(ap);
}

void gw_cfg_problem(struct gw_cfg_loader *L, const struct gw_cfg_node *s,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(L, cs(s), fmt, ap);
	va_end(ap);
}

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

static struct gw_scan_note *take_note(struct gw_cfg_loader *L,
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
void gw_cfg_check_keys(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
		       const char *const *keys)
{
	const config_setting_t *gs = cs(g);
	char where[256];

	keypath(gs, where, sizeof(where));
	for (int i = 0; i < config_setting_length(gs); i++) {
		const config_setting_t *m =
		    config_setting_get_elem(gs, (unsigned)i);
		const char *name = config_setting_name(m);
		struct gw_config_loc loc;

		if (!name || in_list(name, keys))
			continue;
		loc = loc_of(L, m);
		gw_cfg_problem_at(L, loc.file, loc.line,
				  "unknown key '%s' in %s", name,
				  where[0] ? where : "the top level");
		/* its value's own trouble is moot */
		take_note(L, m, GW_SCAN_BIG_INT);
		take_note(L, m, GW_SCAN_NUL);
	}
}

int gw_cfg_get_bool(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
		    const char *key, bool *out)
{
	const config_setting_t *s = config_setting_get_member(cs(g), key);

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		problem(L, s, "expected true or false, got %s", type_name(s));
		return -1;
	}
	*out = config_setting_get_bool(s) != 0;
	return 1;
}

static int int_value(struct gw_cfg_loader *L, const config_setting_t *s,
		     long long lo, long long hi, long long *out)
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

int gw_cfg_get_int(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
		   const char *key, long long lo, long long hi, long long *out)
{
	const config_setting_t *s = config_setting_get_member(cs(g), key);

	return s ? int_value(L, s, lo, hi, out) : 0;
}

int gw_cfg_get_u32(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
		   const char *key, long long lo, long long hi, uint32_t *out)
{
	long long v;
	int rc = gw_cfg_get_int(L, g, key, lo, hi, &v);

	if (rc == 1)
		*out = (uint32_t)v;
	return rc;
}

int gw_cfg_get_float(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
		     const char *key, double lo, double hi, double *out)
{
	const config_setting_t *s = config_setting_get_member(cs(g), key);
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

static int str_value(struct gw_cfg_loader *L, const config_setting_t *s,
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
	*out = gw_cfg_strdup(L, v);
	return *out ? 1 : -1;
}

int gw_cfg_str_value(struct gw_cfg_loader *L, const struct gw_cfg_node *s,
		     bool allow_empty, const char **out)
{
	return str_value(L, cs(s), allow_empty, out);
}

int gw_cfg_get_str(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
		   const char *key, const char **out)
{
	const config_setting_t *s = config_setting_get_member(cs(g), key);

	return s ? str_value(L, s, false, out) : 0;
}

int gw_cfg_get_str_empty_ok(struct gw_cfg_loader *L,
			    const struct gw_cfg_node *g, const char *key,
			    const char **out)
{
	const config_setting_t *s = config_setting_get_member(cs(g), key);

	return s ? str_value(L, s, true, out) : 0;
}

/* A string that must be one of @names; *@out gets its index. */
int gw_cfg_get_enum(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
		    const char *key, const char *const *names, int *out)
{
	const config_setting_t *s = config_setting_get_member(cs(g), key);
	const char *v;
	char q[GW_CFG_QBUF], all[256] = "";

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
	problem(L, s, "%s is not one of %s", gw_cfg_quote(v, q, sizeof(q)),
		all);
	return -1;
}

int gw_cfg_get_group(struct gw_cfg_loader *L, const struct gw_cfg_node *parent,
		     const char *key, const struct gw_cfg_node **out)
{
	const config_setting_t *s = config_setting_get_member(cs(parent), key);

	if (!s)
		return 0;
	if (!config_setting_is_group(s)) {
		problem(L, s, "expected a group { ... }, got %s", type_name(s));
		return -1;
	}
	*out = node(s);
	return 1;
}

/* A list of groups "( { ... }, ... )"; an empty array is accepted too. */
int gw_cfg_get_group_list(struct gw_cfg_loader *L,
			  const struct gw_cfg_node *parent, const char *key,
			  const struct gw_cfg_node **out)
{
	const config_setting_t *s = config_setting_get_member(cs(parent), key);

	if (!s)
		return 0;
	if (!config_setting_is_list(s) &&
	    !(config_setting_is_array(s) && config_setting_length(s) == 0)) {
		problem(L, s, "expected a list ( { ... }, ... ), got %s",
			type_name(s));
		return -1;
	}
	*out = node(s);
	return 1;
}

/* An array or list of strings; *@out (pool) gets them. */
int gw_cfg_get_str_list(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
			const char *key, const char ***out, size_t *n_out,
			const struct gw_cfg_node **where)
{
	const config_setting_t *s = config_setting_get_member(cs(g), key);
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
	v = gw_cfg_alloc(L, ((size_t)n + 1) * sizeof(*v));
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
		*where = node(s);
	return 1;
}

const struct gw_cfg_node *gw_cfg_required(struct gw_cfg_loader *L,
					  const struct gw_cfg_node *g,
					  const char *key)
{
	const config_setting_t *s = config_setting_get_member(cs(g), key);

	if (!s)
		problem(L, cs(g), "missing '%s'", key);
	return node(s);
}

/* ---- Lists of groups ---- */

void *gw_cfg_list_alloc(struct gw_cfg_loader *L, const struct gw_cfg_node *list,
			size_t size, size_t *n)
{
	*n = list ? gw_cfg_len(list) : 0;
	if (*n == 0)
		return NULL;
	void *a = gw_cfg_alloc(L, *n * size);
	if (!a)
		*n = 0;
	return a;
}

bool gw_cfg_list_group(struct gw_cfg_loader *L, const struct gw_cfg_node *list,
		       size_t i, const struct gw_cfg_node **out)
{
	const config_setting_t *s =
	    config_setting_get_elem(cs(list), (unsigned)i);

	*out = node(s);
	if (!config_setting_is_group(s)) {
		problem(L, s, "expected a group { ... }, got %s", type_name(s));
		return false;
	}
	return true;
}

/* ---- The whole file ---- */

static void report_notes(struct gw_cfg_loader *L)
{
	for (size_t i = 0; i < L->scan.n_notes; i++) {
		const struct gw_scan_note *n = &L->scan.notes[i];
		const char *file = gw_cfg_file_shown(L, n->file);

		if (n->used)
			continue;
		if (n->kind == GW_SCAN_BIG_INT)
			gw_cfg_problem_at(
			    L, file, n->line, "%s%sinteger %s is out of range",
			    n->name, n->name[0] ? ": " : "", n->text);
		else
			gw_cfg_problem_at(
			    L, file, n->line,
			    "%s%sa string may not contain \\x00 (NUL)", n->name,
			    n->name[0] ? ": " : "");
	}
}

static void scan_report(void *user, const char *file, unsigned line,
			const char *message)
{
	struct gw_cfg_loader *L = user;

	/* the scanner names included files as libconfig does */
	gw_cfg_problem_at(L, gw_cfg_file_shown(L, file), line, "%s", message);
}

static void load_tree(struct gw_cfg_loader *L)
{
	static const char *const keys[] = {"gateway", "coap",   "mqtt",
					   "devices", "routes", "homeassistant",
					   NULL};
	config_t lc;
	const struct gw_cfg_node *root;

	config_init(&lc);
	config_set_include_dir(&lc, L->dir);
	if (config_read_file(&lc, L->path) != CONFIG_TRUE) {
		const char *f = config_error_file(&lc);

		gw_cfg_problem_at(L, f ? gw_cfg_file_shown(L, f) : L->path,
				  (unsigned)config_error_line(&lc), "%s",
				  config_error_text(&lc));
		config_destroy(&lc);
		return;
	}
	root = node(config_root_setting(&lc));
	gw_cfg_check_keys(L, root, keys);
	/* in dependency order: ids, then defaults, then what refers to
	 * devices */
	gw_cfg_load_gateway(L, root);
	gw_cfg_load_coap(L, root);
	gw_cfg_load_mqtt(L, root);
	gw_cfg_load_devices(L, root);
	gw_cfg_load_routes(L, root);
	gw_cfg_load_homeassistant(L, root);
	report_notes(L);
	config_destroy(&lc);
}

int gw_config_load(const char *path, struct gw_config **out,
		   gw_config_report_fn report, void *user)
{
	struct gw_cfg_loader L = {.report = report, .user = user, .path = path};
	const char *slash;
	int rc;

	L.cfg = calloc(1, sizeof(*L.cfg));
	if (!L.cfg || !(L.cfg->pool = gw_cfg_pool_new())) {
		free(L.cfg);
		if (report)
			report(user, path, 0, "out of memory");
		return -ENOMEM;
	}
	L.cfg->path = gw_cfg_strdup(&L, path);
	/* @include names are relative to the config file's directory */
	slash = strrchr(path, '/');
	L.dir = slash == path ? "/"
		: slash       ? gw_cfg_strndup(&L, path, (size_t)(slash - path))
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
		gw_cfg_routes_index(&L);
	if (L.nomem)
		goto nomem;
	if (L.problems) {
		gw_cfg_problems_flush(&L);
		gw_config_free(L.cfg);
		return -EINVAL;
	}
	*out = L.cfg;
	return 0;
nomem:
	gw_config_scan_cleanup(&L.scan);
	gw_cfg_problem_at(&L, path, 0, "out of memory");
	gw_cfg_problems_flush(&L);
	gw_config_free(L.cfg);
	return -ENOMEM;
}

int gw_config_keep_restart_only(struct gw_config *n, const struct gw_config *o)
{
	struct gw_cfg_loader L = {.cfg = n};
	char *base = gw_cfg_strdup(&L, o->gateway.base_topic);
	char *host = gw_cfg_strdup(&L, o->mqtt.host);

	if (!base || !host)
		return -ENOMEM;
	n->gateway.base_topic = base;
	n->mqtt.host = host;
	n->mqtt.port = o->mqtt.port;
	n->mqtt.protocol = o->mqtt.protocol;
	return 0;
}

void gw_config_free(struct gw_config *cfg)
{
	if (!cfg)
		return;
	gw_cfg_routes_cleanup(cfg);
	gw_cfg_pool_free(cfg->pool);
	free(cfg);
}
