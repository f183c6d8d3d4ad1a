/*
 * Unit tests for gw_route: pattern compile and match, captures, templates
 * (expansion, errors, buffer limits), MQTT topic and filter checks, and the
 * route index against a linear reference on a 10,000-route table.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "runner.h"

static unsigned split(const char *s, struct gw_seg *segs)
{
	int n = gw_path_split(s, strlen(s), segs, GW_TOPIC_MAX_LEVELS);

	ck_assert_int_ge(n, 0);
	return (unsigned)n;
}

/* Capture @i of @m joined with '/', into a static buffer. */
static const char *cap_str(const struct gw_match *m, unsigned i)
{
	static char buf[256];
	size_t o = 0;

	for (unsigned k = 0; k < m->cap[i].n; k++) {
		if (k)
			buf[o++] = '/';
		memcpy(buf + o, m->cap[i].seg[k].p, m->cap[i].seg[k].len);
		o += m->cap[i].seg[k].len;
	}
	buf[o] = '\0';
	return buf;
}

START_TEST(split_paths)
{
	struct gw_seg s[4];

	ck_assert_int_eq(gw_path_split("", 0, s, 4), 0);
	ck_assert_int_eq(gw_path_split("a", 1, s, 4), 1);
	ck_assert_int_eq(gw_path_split("a/", 2, s, 4), 2);
	ck_assert_uint_eq(s[1].len, 0);
	ck_assert_int_eq(gw_path_split("a//bc", 5, s, 4), 3);
	ck_assert_uint_eq(s[1].len, 0);
	ck_assert_uint_eq(s[2].len, 2);
	ck_assert_int_eq(memcmp(s[2].p, "bc", 2), 0);
	ck_assert_int_eq(gw_path_split("a/b/c/d/e", 9, s, 4), -E2BIG);
}
END_TEST

START_TEST(pattern_errors)
{
	static const char *const bad[] = {"",    "a/#/b", "a+/b", "a/b#",
					  "#/a", "a/++",  "x/#a", NULL};
	struct gw_pattern p;
	const char *why = NULL;

	for (int i = 0; bad[i]; i++) {
		ck_assert_msg(gw_pattern_compile(&p, bad[i], &why) == -EINVAL,
			      "%s accepted", bad[i]);
		ck_assert_ptr_nonnull(why);
		gw_pattern_cleanup(&p);
	}
	ck_assert_int_eq(gw_pattern_compile(&p,
					    "+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/"
					    "+/+",
					    &why),
			 -EINVAL);
	ck_assert_int_eq(gw_pattern_compile(&p, "#", NULL), 0);
	ck_assert_uint_eq(p.nwild, 1);
	ck_assert(p.hash);
	gw_pattern_cleanup(&p);
}
END_TEST

START_TEST(pattern_match)
{
	struct gw_pattern p;
	struct gw_match m;
	struct gw_seg s[16];
	unsigned n;

	ck_assert_int_eq(gw_pattern_compile(&p, "sensors/+/temp", NULL), 0);
	ck_assert_uint_eq(p.nwild, 1);
	n = split("sensors/kitchen/temp", s);
	ck_assert(gw_pattern_match(&p, s, n, &m));
	ck_assert_uint_eq(m.ncap, 1);
	ck_assert_str_eq(cap_str(&m, 0), "kitchen");
	n = split("sensors/kitchen/temp/x", s);
	ck_assert(!gw_pattern_match(&p, s, n, &m));
	n = split("sensors/temp", s);
	ck_assert(!gw_pattern_match(&p, s, n, &m));
	n = split("sensors/kitchen/tem", s);
	ck_assert(!gw_pattern_match(&p, s, n, NULL));
	gw_pattern_cleanup(&p);

	ck_assert_int_eq(gw_pattern_compile(&p, "a/+/b/#", NULL), 0);
	ck_assert_uint_eq(p.nwild, 2);
	n = split("a/x/b/c/d/e", s);
	ck_assert(gw_pattern_match(&p, s, n, &m));
	ck_assert_uint_eq(m.ncap, 2);
	ck_assert_str_eq(cap_str(&m, 0), "x");
	ck_assert_str_eq(cap_str(&m, 1), "c/d/e");
	/* '#' matches zero segments too, as in MQTT */
	n = split("a/x/b", s);
	ck_assert(gw_pattern_match(&p, s, n, &m));
	ck_assert_uint_eq(m.cap[1].n, 0);
	n = split("a/x", s);
	ck_assert(!gw_pattern_match(&p, s, n, &m));
	gw_pattern_cleanup(&p);
}
END_TEST

static const char *expand(const char *tmpl, unsigned ncap,
			  const struct gw_expand_ctx *ctx, int *rc)
{
	static char buf[256];
	struct gw_template t;

	ck_assert_int_eq(gw_template_compile(
			     &t, tmpl, ncap,
			     GW_TMPL_ALLOW_DEVICE | GW_TMPL_ALLOW_PATH, NULL),
			 0);
	*rc = gw_template_expand(&t, ctx, buf, sizeof(buf));
	gw_template_cleanup(&t);
	return buf;
}

START_TEST(template_expand)
{
	struct gw_pattern p;
	struct gw_match m;
	struct gw_seg s[16], path[16];
	unsigned n, np;
	int rc;

	ck_assert_int_eq(gw_pattern_compile(&p, "sensors/+/#", NULL), 0);
	n = split("sensors/t1/a/b", s);
	ck_assert(gw_pattern_match(&p, s, n, &m));
	np = split("sensors/t1/a/b", path);
	struct gw_expand_ctx ctx = {
	    .match = &m, .device = "kitchen", .path = path, .npath = np};

	ck_assert_str_eq(expand("home/{device}/{1}/temperature", 2, &ctx, &rc),
			 "home/kitchen/t1/temperature");
	ck_assert_int_eq(rc, (int)strlen("home/kitchen/t1/temperature"));
	ck_assert_str_eq(expand("x/{2}/y", 2, &ctx, &rc), "x/a/b/y");
	ck_assert_str_eq(expand("{path}", 2, &ctx, &rc), "sensors/t1/a/b");
	ck_assert_str_eq(expand("{2}{1}", 2, &ctx, &rc), "a/bt1");
	ck_assert_str_eq(expand("plain", 2, &ctx, &rc), "plain");

	/* an empty '#' capture takes the '/' before it along */
	n = split("sensors/t1", s);
	ck_assert(gw_pattern_match(&p, s, n, &m));
	ck_assert_str_eq(expand("home/{1}/{2}", 2, &ctx, &rc), "home/t1");
	ck_assert_int_eq(rc, 7);
	ctx.npath = 0;
	ck_assert_str_eq(expand("B/D/{path}", 2, &ctx, &rc), "B/D");
	/* at the start, the '/' after it: no empty first level */
	ck_assert_str_eq(expand("{2}/t", 2, &ctx, &rc), "t");
	ck_assert_str_eq(expand("{path}/x/{2}/y", 2, &ctx, &rc), "x/y");
	ck_assert_str_eq(expand("{2}/{1}", 2, &ctx, &rc), "t1");

	/* values missing from the context */
	ctx.device = NULL;
	expand("x/{device}", 2, &ctx, &rc);
	ck_assert_int_eq(rc, -EINVAL);
	gw_pattern_cleanup(&p);
}
END_TEST

START_TEST(template_nospace)
{
	struct gw_template t;
	struct gw_expand_ctx ctx = {.device = "kitchen"};
	char buf[16];

	ck_assert_int_eq(gw_template_compile(&t, "home/{device}/x", 0,
					     GW_TMPL_ALLOW_DEVICE, NULL),
			 0);
	/* "home/kitchen/x" is 14 bytes: 15 fit with the NUL, 14 do not */
	ck_assert_int_eq(gw_template_expand(&t, &ctx, buf, 15), 14);
	ck_assert_str_eq(buf, "home/kitchen/x");
	ck_assert_int_eq(gw_template_expand(&t, &ctx, buf, 14), -ENOSPC);
	ck_assert_int_eq(gw_template_expand(&t, &ctx, buf, 1), -ENOSPC);
	ck_assert_int_eq(gw_template_expand(&t, &ctx, buf, 0), -ENOSPC);
	gw_template_cleanup(&t);
}
END_TEST

START_TEST(template_errors)
{
	struct gw_template t;
	const char *why = NULL;

	ck_assert_int_eq(gw_template_compile(&t, "a/{2}", 1, 0, &why), -EINVAL);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(gw_template_compile(&t, "a/{0}", 1, 0, &why), -EINVAL);
	ck_assert_int_eq(gw_template_compile(&t, "a/{1", 1, 0, &why), -EINVAL);
	ck_assert_int_eq(gw_template_compile(&t, "a/1}", 1, 0, &why), -EINVAL);
	ck_assert_int_eq(gw_template_compile(&t, "a/{x}", 1, 0, &why), -EINVAL);
	ck_assert_int_eq(gw_template_compile(&t, "a/{}", 1, 0, &why), -EINVAL);
	ck_assert_int_eq(gw_template_compile(&t, "{device}", 0, 0, &why),
			 -EINVAL);
	ck_assert_int_eq(
	    gw_template_compile(&t, "{path}", 0, GW_TMPL_ALLOW_DEVICE, &why),
	    -EINVAL);
	ck_assert_int_eq(gw_template_compile(&t, "{1}", 0, 0, &why), -EINVAL);
	ck_assert_int_eq(gw_template_compile(&t, "a/{1}/{1}", 1, 0, &why), 0);
	ck_assert_uint_eq(t.max_cap, 1);
	gw_template_cleanup(&t);
	ck_assert_int_eq(gw_template_compile(&t, "", 0, 0, &why), 0);
	gw_template_cleanup(&t);
}
END_TEST

START_TEST(topic_valid)
{
	const char *why;
	char *big;

	ck_assert_int_eq(gw_topic_valid("a/b", 3, NULL), 0);
	ck_assert_int_eq(gw_topic_valid("a//b/", 5, NULL), 0);
	ck_assert_int_eq(gw_topic_valid("h\xc3\xa9", 3, NULL), 0);
	ck_assert_int_eq(gw_topic_valid("", 0, &why), -EINVAL);
	ck_assert_int_eq(gw_topic_valid("a/+", 3, &why), -EINVAL);
	ck_assert_int_eq(gw_topic_valid("a/#", 3, &why), -EINVAL);
	ck_assert_int_eq(gw_topic_valid("a\0b", 3, &why), -EINVAL);
	ck_assert_str_eq(why, "contains NUL");
	ck_assert_int_eq(gw_topic_valid("a\xff", 2, &why), -EINVAL);
	ck_assert_int_eq(gw_topic_valid("a\xc3", 2, &why), -EINVAL);
	/* overlong '/' and a UTF-16 surrogate */
	ck_assert_int_eq(gw_topic_valid("\xc0\xaf", 2, &why), -EINVAL);
	ck_assert_int_eq(gw_topic_valid("\xed\xa0\x80", 3, &why), -EINVAL);
	ck_assert_int_eq(gw_topic_valid("a\x01", 2, &why), -EINVAL);
	/* a non-character: mosquitto drops the connection over it */
	ck_assert_int_eq(gw_topic_valid("a\xef\xbf\xbf", 4, &why), -EINVAL);
	/* MQTT §4.7.2: the broker's own topics; filters may name them */
	ck_assert_int_eq(gw_topic_valid("$SYS/x", 6, &why), -EINVAL);
	ck_assert_str_eq(why, "starts with '$' (reserved for the broker)");
	ck_assert_int_eq(gw_topic_valid("a/$x", 4, NULL), 0);

	big = malloc(65536);
	memset(big, 'a', 65536);
	ck_assert_int_eq(gw_topic_valid(big, 65535, NULL), 0);
	ck_assert_int_eq(gw_topic_valid(big, 65536, &why), -EINVAL);
	/* 201 levels */
	for (int i = 1; i < 402; i += 2)
		big[i] = '/';
	ck_assert_int_eq(gw_topic_valid(big, 401, &why), -EINVAL);
	ck_assert_int_eq(gw_topic_valid(big, 399, NULL), 0);
	free(big);

	ck_assert_int_eq(gw_topic_filter_valid("a/+/#", NULL), 0);
	ck_assert_int_eq(gw_topic_filter_valid("#", NULL), 0);
	ck_assert_int_eq(gw_topic_filter_valid("$SYS/#", NULL), 0);
	ck_assert_int_eq(gw_topic_filter_valid("a/#/b", &why), -EINVAL);
	ck_assert_int_eq(gw_topic_filter_valid("a/b+", &why), -EINVAL);
	ck_assert_int_eq(gw_topic_filter_valid("", &why), -EINVAL);
}
END_TEST

static bool fm(const char *f, const char *t)
{
	return gw_topic_filter_match(f, t, strlen(t));
}

START_TEST(filter_match)
{
	ck_assert(fm("a/b", "a/b"));
	ck_assert(!fm("a/b", "a/b/c"));
	ck_assert(!fm("a/b/c", "a/b"));
	ck_assert(fm("a/+", "a/b"));
	ck_assert(fm("a/+", "a/"));
	ck_assert(!fm("a/+", "a"));
	ck_assert(!fm("a/+", "a/b/c"));
	ck_assert(fm("a/#", "a"));
	ck_assert(fm("a/#", "a/b/c"));
	ck_assert(!fm("a/#", "ab"));
	ck_assert(fm("#", "x/y"));
	ck_assert(fm("+/+", "/x"));
	ck_assert(fm("+/b/#", "a/b"));
	ck_assert(!fm("a/b", "a/bc"));
	/* MQTT 3.1.1 §4.7.2 */
	ck_assert(!fm("#", "$SYS/x"));
	ck_assert(!fm("+/x", "$SYS/x"));
	ck_assert(fm("$SYS/#", "$SYS/x"));
}
END_TEST

START_TEST(index_basic)
{
	static const char *const pats[] = {"a/b", "a/+", "a/#", "+/b/c",
					   "#",   "a/b", NULL};
	struct gw_route_index *idx = gw_route_index_new();
	struct gw_pattern p;
	struct gw_match m;
	struct gw_seg s[8];
	uint32_t id;
	unsigned n;

	ck_assert_ptr_nonnull(idx);
	n = split("a/b", s);
	ck_assert_int_eq(gw_route_index_lookup(idx, s, n, 0, &id, &m), -ENOENT);
	for (uint32_t i = 0; pats[i]; i++) {
		ck_assert_int_eq(gw_pattern_compile(&p, pats[i], NULL), 0);
		ck_assert_int_eq(gw_route_index_add(idx, &p, i), 0);
		gw_pattern_cleanup(&p);
	}
	ck_assert_uint_eq(gw_route_index_count(idx), 6);

	/* every match in priority order: a/b, a/+, a/#, #, a/b again */
	static const uint32_t want[] = {0, 1, 2, 4, 5};
	uint32_t from = 0;
	for (unsigned k = 0; k < 5; k++) {
		ck_assert_int_eq(
		    gw_route_index_lookup(idx, s, n, from, &id, &m), 0);
		ck_assert_uint_eq(id, want[k]);
		from = id + 1;
	}
	ck_assert_int_eq(gw_route_index_lookup(idx, s, n, from, &id, &m),
			 -ENOENT);

	ck_assert_int_eq(gw_route_index_lookup(idx, s, n, 1, &id, &m), 0);
	ck_assert_uint_eq(id, 1);
	ck_assert_uint_eq(m.ncap, 1);
	ck_assert_str_eq(cap_str(&m, 0), "b");
	ck_assert_int_eq(gw_route_index_lookup(idx, s, n, 2, &id, &m), 0);
	ck_assert_uint_eq(m.ncap, 1);
	ck_assert_str_eq(cap_str(&m, 0), "b");

	n = split("x/b/c", s);
	ck_assert_int_eq(gw_route_index_lookup(idx, s, n, 0, &id, &m), 0);
	ck_assert_uint_eq(id, 3);
	ck_assert_str_eq(cap_str(&m, 0), "x");
	n = split("a", s);
	ck_assert_int_eq(gw_route_index_lookup(idx, s, n, 0, &id, &m), 0);
	ck_assert_uint_eq(id, 2);
	ck_assert_uint_eq(m.cap[0].n, 0);
	gw_route_index_free(idx);
	gw_route_index_free(NULL);
}
END_TEST

/* A small deterministic generator, so a failure can be replayed. */
static uint32_t rnd_state = 12345;
static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

static const char *const words[] = {"a",    "b", "c",       "sensors",
				    "temp", "x", "kitchen", ""};

static void random_text(char *buf, bool pattern)
{
	unsigned depth = 1 + rnd(5);
	size_t o = 0;

	for (unsigned i = 0; i < depth; i++) {
		const char *w;
		char num[16];

		if (i)
			buf[o++] = '/';
		if (pattern && rnd(4) == 0)
			w = "+";
		else if (pattern && i == depth - 1 && rnd(6) == 0)
			w = "#";
		else if (rnd(3) == 0) {
			snprintf(num, sizeof(num), "n%u", rnd(400));
			w = num;
		} else
			w = words[rnd(pattern ? 7 : 8)];
		strcpy(buf + o, w);
		o += strlen(w);
	}
	buf[o] = '\0';
}

static bool same_match(const struct gw_match *a, const struct gw_match *b)
{
	if (a->ncap != b->ncap)
		return false;
	for (unsigned i = 0; i < a->ncap; i++)
		if (a->cap[i].seg != b->cap[i].seg ||
		    a->cap[i].n != b->cap[i].n)
			return false;
	return true;
}

START_TEST(index_10000_vs_linear)
{
	enum { NROUTES = 10000, NLOOKUPS = 20000 };
	struct gw_pattern *pats = calloc(NROUTES, sizeof(*pats));
	struct gw_route_index *idx = gw_route_index_new();
	char text[128];
	unsigned hits = 0;

	ck_assert_ptr_nonnull(pats);
	for (uint32_t i = 0; i < NROUTES; i++) {
		random_text(text, true);
		ck_assert_int_eq(gw_pattern_compile(&pats[i], text, NULL), 0);
		ck_assert_int_eq(gw_route_index_add(idx, &pats[i], i), 0);
	}
	ck_assert_uint_eq(gw_route_index_count(idx), NROUTES);
	for (unsigned k = 0; k < NLOOKUPS; k++) {
		struct gw_seg s[8];
		struct gw_match m, ref_m;
		uint32_t id = 0, ref = UINT32_MAX;
		uint32_t min_id = rnd(4) == 0 ? rnd(NROUTES) : 0;
		unsigned n;
		int rc;

		random_text(text, false);
		n = split(text, s);
		for (uint32_t i = min_id; i < NROUTES; i++)
			if (gw_pattern_match(&pats[i], s, n, &ref_m)) {
				ref = i;
				break;
			}
		rc = gw_route_index_lookup(idx, s, n, min_id, &id, &m);
		if (ref == UINT32_MAX) {
			ck_assert_msg(rc == -ENOENT, "%s: index found %u", text,
				      id);
			continue;
		}
		hits++;
		ck_assert_msg(rc == 0 && id == ref, "%s: index %u, linear %u",
			      text, rc == 0 ? id : 0, ref);
		ck_assert_msg(same_match(&m, &ref_m), "%s: captures differ",
			      text);
	}
	/* the table must really exercise both outcomes */
	ck_assert_uint_gt(hits, NLOOKUPS / 10);
	ck_assert_uint_lt(hits, NLOOKUPS);
	for (uint32_t i = 0; i < NROUTES; i++)
		gw_pattern_cleanup(&pats[i]);
	free(pats);
	gw_route_index_free(idx);
}
END_TEST

static Suite *route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, split_paths);
	tcase_add_test(tc, pattern_errors);
	tcase_add_test(tc, pattern_match);
	tcase_add_test(tc, template_expand);
	tcase_add_test(tc, template_nospace);
	tcase_add_test(tc, template_errors);
	tcase_add_test(tc, topic_valid);
	tcase_add_test(tc, filter_match);
	tcase_add_test(tc, index_basic);
	tcase_add_test(tc, index_10000_vs_linear);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(route_suite());
}
