/*
 * gw_cfg loader state shared by the config files (config_int.h): the pool
 * that owns everything a struct gw_config points to, the problems held
 * until the end of the load, and the checks several sections use. Knows
 * nothing of libconfig.
 */
#include "config_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "route.h"

struct pool_chunk {
	struct pool_chunk *next;
	max_align_t data[];
};

struct gw_config_pool {
	struct pool_chunk *head;
};

/* libconfig's name for a file -> the name we show, in the pool. */
struct gw_cfg_file_name {
	const char *lc;
	const char *shown;
};

/*
 * Problems are found section by section, not line by line; they are held
 * and reported in file order so --check-config reads like the file.
 */
struct gw_cfg_pending {
	char *file;
	unsigned line;
	char *msg;
	size_t seq;
	size_t file_rank;
};

/* ---- Memory: everything hangs off the config's pool ---- */

void *gw_cfg_alloc(struct gw_cfg_loader *L, size_t size)
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

char *gw_cfg_strndup(struct gw_cfg_loader *L, const char *s, size_t len)
{
	char *d = gw_cfg_alloc(L, len + 1);

	if (d)
		memcpy(d, s, len);
	return d;
}

char *gw_cfg_strdup(struct gw_cfg_loader *L, const char *s)
{
	return gw_cfg_strndup(L, s, strlen(s));
}

char *gw_cfg_printf(struct gw_cfg_loader *L, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *d;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(d = gw_cfg_alloc(L, (size_t)n + 1)))
		return NULL;
	va_start(ap, fmt);
	vsnprintf(d, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return d;
}

struct gw_config_pool *gw_cfg_pool_new(void)
{
	return calloc(1, sizeof(struct gw_config_pool));
}

void gw_cfg_pool_free(struct gw_config_pool *pool)
{
	struct pool_chunk *c = pool ? pool->head : NULL;

	while (c) {
		struct pool_chunk *next = c->next;

		free(c);
		c = next;
	}
	free(pool); /* NULL is fine */
}

/* ---- Locations and reports ---- */

/*
 * libconfig names the main file as it was passed and an included file as
 * its @include wrote it (relative to the include directory); show the
 * latter as a path the user can open.
 */
const char *gw_cfg_file_shown(struct gw_cfg_loader *L, const char *lc)
{
	/* the copy in the config: it outlives the caller's string */
	if (!lc || strcmp(lc, L->path) == 0)
		return L->cfg->path ? L->cfg->path : L->path;
	for (size_t i = 0; i < L->n_names; i++)
		if (strcmp(L->names[i].lc, lc) == 0)
			return L->names[i].shown;
	struct gw_cfg_file_name *n = gw_cfg_alloc(
	    L, (L->n_names + 1) * sizeof(*n)); /* pool: no realloc */
	char *lcd = gw_cfg_strdup(L, lc);
	char *shown = gw_cfg_printf(L, "%s/%s", L->dir, lc);
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

void gw_cfg_problem_at(struct gw_cfg_loader *L, const char *file, unsigned line,
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
		struct gw_cfg_pending *p =
		    realloc(L->pending, cap * sizeof(*p));

		if (!p)
			goto now;
		L->pending = p;
		L->cap_pending = cap;
	}
	struct gw_cfg_pending *p = &L->pending[L->n_pending];
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
	const struct gw_cfg_pending *x = a, *y = b;

	if (x->file_rank != y->file_rank)
		return x->file_rank < y->file_rank ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void gw_cfg_problems_flush(struct gw_cfg_loader *L)
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

const char *gw_cfg_quote(const char *s, char *buf, size_t cap)
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

/* ---- Checks shared by the sections ---- */

bool gw_cfg_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

void gw_cfg_check_topic(struct gw_cfg_loader *L, const struct gw_cfg_node *s,
			const char *topic)
{
	const char *why;
	char q[GW_CFG_QBUF];

	if (gw_topic_valid(topic, strlen(topic), &why) < 0)
		gw_cfg_problem(L, s, "%s is not a valid MQTT topic: %s",
			       gw_cfg_quote(topic, q, sizeof(q)), why);
}

void gw_cfg_get_topic(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
		      const char *key, const char **out)
{
	if (gw_cfg_get_str(L, g, key, out) == 1)
		gw_cfg_check_topic(L, gw_cfg_member(g, key), *out);
}

int gw_cfg_check_filter(struct gw_cfg_loader *L, const struct gw_cfg_node *s,
			const char *filter)
{
	const char *why;
	char q[GW_CFG_QBUF];

	if (gw_topic_filter_valid(filter, &why) == 0)
		return 0;
	gw_cfg_problem(L, s, "%s is not a valid MQTT topic filter: %s",
		       gw_cfg_quote(filter, q, sizeof(q)), why);
	return -1;
}

const char *gw_cfg_resolve(struct gw_cfg_loader *L, const char *name)
{
	return name[0] == '/' ? name : gw_cfg_printf(L, "%s/%s", L->dir, name);
}

const char *gw_cfg_file_path(struct gw_cfg_loader *L,
			     const struct gw_cfg_node *s, const char *name)
{
	const char *path = gw_cfg_resolve(L, name);
	char q[GW_CFG_QBUF];

	if (path && access(path, R_OK) < 0) {
		gw_cfg_problem(L, s, "cannot read %s: %s",
			       gw_cfg_quote(path, q, sizeof(q)),
			       strerror(errno));
		return NULL;
	}
	return path;
}
