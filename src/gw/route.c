/*
 * gw_route: patterns, templates, the route index (a segment trie) and MQTT
 * topic checks. See route.h for the syntax.
 */
#include "route.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

int gw_path_split(const char *s, size_t len, struct gw_seg *segs, unsigned max)
{
	unsigned n = 0;
	size_t start = 0;

	if (len == 0)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		if (n == max)
			return -E2BIG;
		segs[n].p = s + start;
		segs[n].len = i - start;
		n++;
		start = i + 1;
	}
	return (int)n;
}

/* ---- Patterns ---- */

static void set_why(const char **why, const char *reason)
{
	if (why)
		*why = reason;
}

int gw_pattern_compile(struct gw_pattern *p, const char *text, const char **why)
{
	size_t len = strlen(text);
	unsigned nsegs = 1;

	memset(p, 0, sizeof(*p));
	if (len == 0) {
		set_why(why, "empty pattern");
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		if (text[i] == '/')
			nsegs++;
	if (nsegs > GW_TOPIC_MAX_LEVELS) {
		set_why(why, "too many segments");
		return -EINVAL;
	}
	p->text = strdup(text);
	p->segs = calloc(nsegs, sizeof(*p->segs));
	if (!p->text || !p->segs) {
		gw_pattern_cleanup(p);
		set_why(why, "out of memory");
		return -ENOMEM;
	}

	const char *s = p->text;
	for (unsigned k = 0; k < nsegs; k++) {
		const char *end = strchr(s, '/');
		size_t slen = end ? (size_t)(end - s) : strlen(s);
		struct gw_pattern_seg *seg = &p->segs[k];

		if (slen == 1 && (s[0] == '+' || s[0] == '#')) {
			if (s[0] == '#' && k != nsegs - 1) {
				set_why(why, "'#' is allowed only as the last "
					     "segment");
				goto invalid;
			}
			seg->kind = s[0] == '+' ? GW_SEG_PLUS : GW_SEG_HASH;
			if (++p->nwild > GW_PATTERN_MAX_WILDCARDS) {
				set_why(why, "too many wildcards");
				goto invalid;
			}
		} else if (memchr(s, '+', slen) || memchr(s, '#', slen)) {
			/* MQTT 3.1.1 §4.7.1: a wildcard fills its level. */
			set_why(why, "'+' and '#' must fill a whole segment");
			goto invalid;
		} else {
			seg->kind = GW_SEG_LITERAL;
			seg->lit = s;
			seg->len = slen;
		}
		s += slen + 1;
	}
	p->nsegs = nsegs;
	p->hash = p->segs[nsegs - 1].kind == GW_SEG_HASH;
	return 0;
invalid:
	gw_pattern_cleanup(p);
	return -EINVAL;
}

void gw_pattern_cleanup(struct gw_pattern *p)
{
	free(p->text);
	free(p->segs);
	memset(p, 0, sizeof(*p));
}

bool gw_pattern_match(const struct gw_pattern *p, const struct gw_seg *segs,
		      unsigned n, struct gw_match *m)
{
	unsigned fixed = p->hash ? p->nsegs - 1 : p->nsegs;
	unsigned ncap = 0;

	if (p->nsegs == 0 || n < fixed || (!p->hash && n != fixed))
		return false;
	for (unsigned i = 0; i < fixed; i++) {
		const struct gw_pattern_seg *ps = &p->segs[i];

		if (ps->kind == GW_SEG_LITERAL) {
			if (ps->len != segs[i].len ||
			    memcmp(ps->lit, segs[i].p, ps->len) != 0)
				return false;
		} else if (m) {
			m->cap[ncap].seg = &segs[i];
			m->cap[ncap].n = 1;
			ncap++;
		}
	}
	if (m) {
		if (p->hash) {
			m->cap[ncap].seg = segs + fixed;
			m->cap[ncap].n = n - fixed;
			ncap++;
		}
		m->ncap = ncap;
	}
	return true;
}

/* ---- Templates ---- */

int gw_template_compile(struct gw_template *t, const char *text, unsigned ncap,
			unsigned allow, const char **why)
{
	size_t len = strlen(text);
	unsigned nparts = 0;

	memset(t, 0, sizeof(*t));
	t->text = strdup(text);
	/* At most one part per placeholder plus one literal around each. */
	for (size_t i = 0; i < len; i++)
		if (text[i] == '{')
			nparts++;
	nparts = 2 * nparts + 1;
	t->parts = calloc(nparts, sizeof(*t->parts));
	if (!t->text || !t->parts) {
		gw_template_cleanup(t);
		set_why(why, "out of memory");
		return -ENOMEM;
	}

	const char *s = t->text;
	while (*s) {
		struct gw_tmpl_part *part = &t->parts[t->nparts];
		size_t lit = strcspn(s, "{}");

		if (lit > 0) {
			part->kind = GW_TMPL_LIT;
			part->lit = s;
			part->len = lit;
			t->nparts++;
			s += lit;
			continue;
		}
		if (*s == '}') {
			set_why(why, "'}' without '{'");
			goto invalid;
		}
		const char *close = strchr(s, '}');
		const char *name = s + 1;
		size_t nlen;

		if (!close || memchr(name, '{', (size_t)(close - name))) {
			set_why(why, "'{' without '}'");
			goto invalid;
		}
		nlen = (size_t)(close - name);
		if (nlen == 6 && memcmp(name, "device", 6) == 0) {
			if (!(allow & GW_TMPL_ALLOW_DEVICE)) {
				set_why(why, "{device} is not available here");
				goto invalid;
			}
			part->kind = GW_TMPL_DEVICE;
			t->uses_device = true;
		} else if (nlen == 4 && memcmp(name, "path", 4) == 0) {
			if (!(allow & GW_TMPL_ALLOW_PATH)) {
				set_why(why, "{path} is not available here");
				goto invalid;
			}
			part->kind = GW_TMPL_PATH;
			t->uses_path = true;
		} else if (nlen > 0 && nlen <= 3 &&
			   strspn(name, "0123456789") >= nlen) {
			unsigned n = 0;

			for (size_t i = 0; i < nlen; i++)
				n = n * 10 + (unsigned)(name[i] - '0');
			if (n == 0) {
				set_why(why, "captures are numbered from {1}");
				goto invalid;
			}
			if (n > ncap) {
				set_why(why, ncap == 0 ? "names a wildcard but "
							 "there is no pattern "
							 "wildcard"
						       : "names a wildcard the "
							 "pattern does not "
							 "have");
				goto invalid;
			}
			part->kind = GW_TMPL_CAP;
			part->n = n;
			if (n > t->max_cap)
				t->max_cap = n;
		} else {
			set_why(why, "unknown placeholder (use {1}.., {device} "
				     "or {path})");
			goto invalid;
		}
		t->nparts++;
		s = close + 1;
	}
	return 0;
invalid:
	gw_template_cleanup(t);
	return -EINVAL;
}

void gw_template_cleanup(struct gw_template *t)
{
	free(t->text);
	free(t->parts);
	memset(t, 0, sizeof(*t));
}

/* Append @len bytes; false when they do not fit (with room for the NUL). */
static bool put(char *buf, size_t cap, size_t *pos, const char *s, size_t len)
{
	if (len >= cap - *pos)
		return false;
	memcpy(buf + *pos, s, len);
	*pos += len;
	return true;
}

static bool put_segs(char *buf, size_t cap, size_t *pos,
		     const struct gw_seg *segs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (i > 0 && !put(buf, cap, pos, "/", 1))
			return false;
		if (!put(buf, cap, pos, segs[i].p, segs[i].len))
			return false;
	}
	return true;
}

int gw_template_expand(const struct gw_template *t,
		       const struct gw_expand_ctx *ctx, char *buf, size_t cap)
{
	size_t pos = 0;
	bool lead = false; /* an empty rest began the text */

	if (cap == 0)
		return -ENOSPC;
	for (unsigned i = 0; i < t->nparts; i++) {
		const struct gw_tmpl_part *part = &t->parts[i];
		const struct gw_seg *segs = NULL;
		unsigned n = 0;
		bool ok, skip;

		switch (part->kind) {
		case GW_TMPL_LIT:
			/* "{1}/t" with an empty rest is "t", not "/t". */
			skip = lead && part->len > 0 && part->lit[0] == '/';
			ok = put(buf, cap, &pos, part->lit + skip,
				 part->len - skip);
			break;
		case GW_TMPL_DEVICE:
			if (!ctx || !ctx->device)
				goto novalue;
			ok = put(buf, cap, &pos, ctx->device,
				 strlen(ctx->device));
			break;
		case GW_TMPL_CAP:
			if (!ctx || !ctx->match || part->n > ctx->match->ncap)
				goto novalue;
			segs = ctx->match->cap[part->n - 1].seg;
			n = ctx->match->cap[part->n - 1].n;
			goto multi;
		case GW_TMPL_PATH:
			if (!ctx || (!ctx->path && ctx->npath > 0))
				goto novalue;
			segs = ctx->path;
			n = ctx->npath;
		multi:
			/*
			 * "a/#" matches "a" with an empty rest: "home/{1}"
			 * then means "home", not "home/" (an empty level).
			 */
			if (n == 0 && pos > 0 && buf[pos - 1] == '/')
				pos--;
			ok = put_segs(buf, cap, &pos, segs, n);
			if (n == 0 && pos == 0) {
				lead = true;
				continue;
			}
			break;
		default:
			goto novalue;
		}
		lead = false;
		if (!ok) {
			buf[0] = '\0';
			return -ENOSPC;
		}
	}
	buf[pos] = '\0';
	return (int)pos;
novalue:
	buf[0] = '\0';
	return -EINVAL;
}

/* ---- Route index ---- */

/*
 * One trie node per pattern prefix. Literal children live in an
 * open-addressing hash table so a node with thousands of children (one
 * route per sensor id) costs one probe, not a scan.
 */
struct rnode {
	char *lit; /* this node's segment (literal children only) */
	size_t len;
	uint32_t hash;
	struct rnode **kids; /* hash table, capacity nkids_cap (power of 2) */
	unsigned nkids, nkids_cap;
	struct rnode *plus;
	/* ids of patterns ending here, and ending here with '#', sorted */
	uint32_t *end_ids, *hash_ids;
	unsigned n_end, n_hash;
	/* lowest and highest id anywhere in this subtree, for pruning */
	uint32_t min_id, max_id;
};

struct gw_route_index {
	struct rnode root;
	size_t count;
};

static void node_init(struct rnode *n)
{
	memset(n, 0, sizeof(*n));
	n->min_id = UINT32_MAX;
}

static void node_cleanup(struct rnode *n)
{
	for (unsigned i = 0; i < n->nkids_cap; i++) {
		if (n->kids[i]) {
			node_cleanup(n->kids[i]);
			free(n->kids[i]);
		}
	}
	free(n->kids);
	if (n->plus) {
		node_cleanup(n->plus);
		free(n->plus);
	}
	free(n->lit);
	free(n->end_ids);
	free(n->hash_ids);
}

struct gw_route_index *gw_route_index_new(void)
{
	struct gw_route_index *idx = calloc(1, sizeof(*idx));

	if (idx)
		node_init(&idx->root);
	return idx;
}

void gw_route_index_free(struct gw_route_index *idx)
{
	if (!idx)
		return;
	node_cleanup(&idx->root);
	free(idx);
}

static struct rnode *kid_find(const struct rnode *n, const char *p, size_t len,
			      uint32_t h)
{
	if (n->nkids_cap == 0)
		return NULL;
	unsigned mask = n->nkids_cap - 1;
	for (unsigned i = h & mask;; i = (i + 1) & mask) {
		const struct rnode *k = n->kids[i];

		if (!k)
			return NULL;
		if (k->hash == h && k->len == len &&
		    memcmp(k->lit, p, len) == 0)
			return n->kids[i];
	}
}

static void kid_place(struct rnode **table, unsigned cap, struct rnode *k)
{
	unsigned mask = cap - 1;
	unsigned i = k->hash & mask;

	while (table[i])
		i = (i + 1) & mask;
	table[i] = k;
}

static struct rnode *kid_add(struct rnode *n, const char *p, size_t len,
			     uint32_t h)
{
	/* Keep the load factor at or under 1/2. */
	if ((n->nkids + 1) * 2 > n->nkids_cap) {
		unsigned cap = n->nkids_cap ? n->nkids_cap * 2 : 4;
		struct rnode **table = calloc(cap, sizeof(*table));

		if (!table)
			return NULL;
		for (unsigned i = 0; i < n->nkids_cap; i++)
			if (n->kids[i])
				kid_place(table, cap, n->kids[i]);
		free(n->kids);
		n->kids = table;
		n->nkids_cap = cap;
	}
	struct rnode *k = malloc(sizeof(*k));
	if (!k)
		return NULL;
	node_init(k);
	k->lit = malloc(len + 1);
	if (!k->lit) {
		free(k);
		return NULL;
	}
	memcpy(k->lit, p, len);
	k->lit[len] = '\0';
	k->len = len;
	k->hash = h;
	kid_place(n->kids, n->nkids_cap, k);
	n->nkids++;
	return k;
}

/* Insert @id into the sorted array *@ids of *@n entries. */
static int ids_add(uint32_t **ids, unsigned *n, uint32_t id)
{
	uint32_t *a = realloc(*ids, (*n + 1) * sizeof(*a));
	unsigned i;

	if (!a)
		return -ENOMEM;
	*ids = a;
	for (i = *n; i > 0 && a[i - 1] > id; i--)
		a[i] = a[i - 1];
	a[i] = id;
	(*n)++;
	return 0;
}

int gw_route_index_add(struct gw_route_index *idx, const struct gw_pattern *p,
		       uint32_t id)
{
	struct rnode *path[GW_TOPIC_MAX_LEVELS + 1];
	unsigned depth = 0;
	struct rnode *n = &idx->root;
	int rc;

	if (p->nsegs == 0)
		return -EINVAL;
	path[depth++] = n;
	for (unsigned i = 0; i < p->nsegs; i++) {
		const struct gw_pattern_seg *s = &p->segs[i];

		if (s->kind == GW_SEG_HASH)
			break;
		if (s->kind == GW_SEG_PLUS) {
			if (!n->plus) {
				n->plus = malloc(sizeof(*n->plus));
				if (!n->plus)
					return -ENOMEM;
				node_init(n->plus);
			}
			n = n->plus;
		} else {
			uint32_t h = gw_fnv1a(s->lit, s->len);
			struct rnode *k = kid_find(n, s->lit, s->len, h);

			if (!k)
				k = kid_add(n, s->lit, s->len, h);
			if (!k)
				return -ENOMEM;
			n = k;
		}
		path[depth++] = n;
	}
	rc = p->hash ? ids_add(&n->hash_ids, &n->n_hash, id)
		     : ids_add(&n->end_ids, &n->n_end, id);
	if (rc < 0)
		return rc;
	/* Nodes created on the way but left empty after a failure are harmless.
	 */
	for (unsigned i = 0; i < depth; i++) {
		if (id < path[i]->min_id)
			path[i]->min_id = id;
		if (id > path[i]->max_id)
			path[i]->max_id = id;
	}
	idx->count++;
	return 0;
}

size_t gw_route_index_count(const struct gw_route_index *idx)
{
	return idx->count;
}

/* The first id >= @min in the sorted @ids, or UINT32_MAX. */
static uint32_t ids_first(const uint32_t *ids, unsigned n, uint32_t min)
{
	unsigned lo = 0, hi = n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (ids[mid] < min)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n ? ids[lo] : UINT32_MAX;
}

struct search {
	const struct gw_seg *segs;
	unsigned n;
	uint32_t min_id;
	uint32_t best;
	struct gw_match cur; /* captures along the current trie path */
	struct gw_match *out;
};

static void found(struct search *s, uint32_t id, const struct gw_seg *rest,
		  unsigned nrest, bool hash)
{
	if (id >= s->best)
		return;
	s->best = id;
	if (!s->out)
		return;
	*s->out = s->cur;
	if (hash) {
		s->out->cap[s->out->ncap].seg = rest;
		s->out->cap[s->out->ncap].n = nrest;
		s->out->ncap++;
	}
}

/*
 * Depth-first over every trie branch the input can follow. Each node is
 * reached at one depth only (every edge eats one segment), so a lookup
 * visits each node at most once, and subtrees whose ids cannot beat the
 * best match so far are skipped.
 */
static void search_node(struct search *s, const struct rnode *node, unsigned i)
{
	if (node->min_id >= s->best || node->max_id < s->min_id ||
	    node->min_id == UINT32_MAX)
		return;
	if (node->n_hash)
		found(s, ids_first(node->hash_ids, node->n_hash, s->min_id),
		      s->segs + i, s->n - i, true);
	if (i == s->n) {
		if (node->n_end)
			found(s,
			      ids_first(node->end_ids, node->n_end, s->min_id),
			      NULL, 0, false);
		return;
	}
	const struct gw_seg *seg = &s->segs[i];
	const struct rnode *k =
	    kid_find(node, seg->p, seg->len, gw_fnv1a(seg->p, seg->len));
	if (k)
		search_node(s, k, i + 1);
	if (node->plus && s->cur.ncap < GW_PATTERN_MAX_WILDCARDS) {
		s->cur.cap[s->cur.ncap].seg = seg;
		s->cur.cap[s->cur.ncap].n = 1;
		s->cur.ncap++;
		search_node(s, node->plus, i + 1);
		s->cur.ncap--;
	}
}

int gw_route_index_lookup(const struct gw_route_index *idx,
			  const struct gw_seg *segs, unsigned n,
			  uint32_t min_id, uint32_t *id, struct gw_match *m)
{
	struct search s = {
	    .segs = segs,
	    .n = n,
	    .min_id = min_id,
	    .best = UINT32_MAX,
	    .out = m,
	};

	search_node(&s, &idx->root, 0);
	if (s.best == UINT32_MAX)
		return -ENOENT;
	*id = s.best;
	return 0;
}

/* ---- MQTT topics ---- */

static int topic_check(const char *t, size_t len, bool filter, const char **why)
{
	unsigned levels = 1;
	size_t start = 0;

	if (len == 0) {
		set_why(why, "empty topic");
		return -EINVAL;
	}
	if (len > GW_TOPIC_MAX_LEN) {
		set_why(why, "longer than 65535 bytes");
		return -EINVAL;
	}
	if (!gw_utf8_valid(t, len, GW_UTF8_MQTT)) {
		set_why(why, memchr(t, '\0', len)
				 ? "contains NUL"
				 : "not valid UTF-8 (or has control "
				   "characters)");
		return -EINVAL;
	}
	/* MQTT §4.7.2: topics starting with '$' belong to the server; a
	 * filter may name them ("$SYS/#"), a publish may not. */
	if (!filter && t[0] == '$') {
		set_why(why, "starts with '$' (reserved for the broker)");
		return -EINVAL;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && t[i] != '/') {
			if (t[i] != '+' && t[i] != '#')
				continue;
			if (!filter) {
				set_why(why,
					"contains a wildcard ('+' or '#')");
				return -EINVAL;
			}
			continue;
		}
		size_t slen = i - start;
		const char *seg = t + start;
		bool wild = memchr(seg, '+', slen) || memchr(seg, '#', slen);

		if (wild && slen != 1) {
			set_why(why, "'+' and '#' must fill a whole level");
			return -EINVAL;
		}
		if (slen == 1 && seg[0] == '#' && i != len) {
			set_why(why, "'#' is allowed only as the last level");
			return -EINVAL;
		}
		if (i < len && ++levels > GW_TOPIC_MAX_LEVELS) {
			set_why(why, "too many levels");
			return -EINVAL;
		}
		start = i + 1;
	}
	return 0;
}

int gw_topic_valid(const char *topic, size_t len, const char **why)
{
	return topic_check(topic, len, false, why);
}

int gw_topic_filter_valid(const char *filter, const char **why)
{
	return topic_check(filter, strlen(filter), true, why);
}

bool gw_topic_filter_match(const char *filter, const char *topic, size_t len)
{
	const char *f = filter;
	size_t i = 0;

	/* MQTT 3.1.1 §4.7.2: wildcards never match a leading '$'. */
	if (len > 0 && topic[0] == '$' && (f[0] == '+' || f[0] == '#'))
		return false;
	for (;;) {
		const char *fend = strchr(f, '/');
		size_t flen = fend ? (size_t)(fend - f) : strlen(f);

		if (flen == 1 && f[0] == '#')
			return true; /* the rest, including nothing */
		if (i > len)
			/* the topic ended at the previous level */
			return false;
		size_t tlen = 0;
		while (i + tlen < len && topic[i + tlen] != '/')
			tlen++;
		if (!(flen == 1 && f[0] == '+') &&
		    (flen != tlen || memcmp(f, topic + i, tlen) != 0))
			return false;
		i += tlen + 1;
		if (!fend) {
			/* filter done: the topic must be done too */
			return i == len + 1;
		}
		f = fend + 1;
		if (i > len) {
			/* topic done, filter has more: only "/#" matches */
			return strcmp(f, "#") == 0;
		}
	}
}
