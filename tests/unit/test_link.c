/*
 * Unit tests of the CoRE Link Format (src/coap/link.c): the RFC 6690 §5
 * examples written and read back, the §4.1 query filters, and the
 * documents the reader must refuse.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <ucoap/link.h>

#include "runner.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 6690 §5, the "sensors" example, as one line. */
static const char rfc_doc[] =
    "</sensors>;ct=40;title=\"Sensor Index\","
    "</sensors/temp>;rt=\"temperature-c\";if=\"sensor\","
    "</sensors/light>;rt=\"light-lux\";if=\"sensor\","
    "<http://www.example.com/sensors/t123>;anchor=\"/sensors/temp\""
    ";rel=\"describedby\","
    "</t>;anchor=\"/sensors/temp\";rel=\"alternate\"";

static const struct ucoap_link_attr t123_attrs[] = {{"anchor", "/sensors/temp"},
						    {"rel", "describedby"}};
static const struct ucoap_link_attr t_attrs[] = {{"anchor", "/sensors/temp"},
						 {"rel", "alternate"}};

static const struct ucoap_link rfc_links[] = {
    {.href = "/sensors", .ct = 40, .title = "Sensor Index"},
    {.href = "/sensors/temp",
     .rt = "temperature-c",
     .if_ = "sensor",
     .ct = UCOAP_CF_NONE},
    {.href = "sensors/light", /* the '/' is added */
     .rt = "light-lux",
     .if_ = "sensor",
     .ct = UCOAP_CF_NONE},
    {.href = "http://www.example.com/sensors/t123",
     .ct = UCOAP_CF_NONE,
     .extra = t123_attrs,
     .nextra = 2},
    {.href = "/t", .ct = UCOAP_CF_NONE, .extra = t_attrs, .nextra = 2},
};

static char out[1024];
static size_t out_len;

/* Format rfc_links filtered by the Uri-Query values @queries. */
static int format_with(const char *const *queries, size_t nq)
{
	struct ucoap_msg req;

	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&req, ".well-known/core"), 0);
	for (size_t i = 0; i < nq; i++)
		ck_assert_int_eq(ucoap_msg_add_opt(&req, UCOAP_OPT_URI_QUERY,
						   queries[i],
						   strlen(queries[i])),
				 0);
	out_len = 0;
	return ucoap_link_format(rfc_links, ARRAY_LEN(rfc_links), &req, out,
				 sizeof(out), &out_len);
}

#define EXPECT_DOC(s)                                                          \
	do {                                                                   \
		ck_assert_uint_eq(out_len, strlen(s));                         \
		ck_assert_mem_eq(out, s, out_len);                             \
	} while (0)

START_TEST(write_rfc_example)
{
	ck_assert_int_eq(ucoap_link_format(rfc_links, ARRAY_LEN(rfc_links),
					   NULL, out, sizeof(out), &out_len),
			 0);
	EXPECT_DOC(rfc_doc);
	/* No query options: the same. */
	ck_assert_int_eq(format_with(NULL, 0), 0);
	EXPECT_DOC(rfc_doc);
}
END_TEST

START_TEST(write_observable_and_size)
{
	static const struct ucoap_link l[] = {
	    {.href = "/large", .rt = "block", .ct = 0, .sz = 2048},
	    {.href = "/obs", .ct = 0, .obs = true, .if_ = "core.s core.p"},
	};

	ck_assert_int_eq(
	    ucoap_link_format(l, 2, NULL, out, sizeof(out), &out_len), 0);
	EXPECT_DOC("</large>;rt=\"block\";ct=0;sz=2048,"
		   "</obs>;if=\"core.s core.p\";ct=0;obs");
}
END_TEST

/* RFC 6690 §5 example 2: GET /.well-known/core?if=sensor. */
START_TEST(filter_if)
{
	static const char *const q[] = {"if=sensor"};

	ck_assert_int_eq(format_with(q, 1), 0);
	EXPECT_DOC("</sensors/temp>;rt=\"temperature-c\";if=\"sensor\","
		   "</sensors/light>;rt=\"light-lux\";if=\"sensor\"");
}
END_TEST

START_TEST(filter_rt_exact_and_prefix)
{
	static const char *const exact[] = {"rt=temperature-c"};
	static const char *const prefix[] = {"rt=light*"};
	static const char *const partial[] = {"rt=temperature"};
	static const char *const any[] = {"rt=*"};

	ck_assert_int_eq(format_with(exact, 1), 0);
	EXPECT_DOC("</sensors/temp>;rt=\"temperature-c\";if=\"sensor\"");
	ck_assert_int_eq(format_with(prefix, 1), 0);
	EXPECT_DOC("</sensors/light>;rt=\"light-lux\";if=\"sensor\"");
	/* Without '*' a prefix is not a match. */
	ck_assert_int_eq(format_with(partial, 1), 0);
	EXPECT_DOC("");
	/* '*' alone: every link that has an rt at all. */
	ck_assert_int_eq(format_with(any, 1), 0);
	EXPECT_DOC("</sensors/temp>;rt=\"temperature-c\";if=\"sensor\","
		   "</sensors/light>;rt=\"light-lux\";if=\"sensor\"");
}
END_TEST

START_TEST(filter_href)
{
	static const char *const exact[] = {"href=/sensors/light"};
	static const char *const prefix[] = {"href=/sensors/*"};
	static const char *const abs[] = {"href=http*"};

	ck_assert_int_eq(format_with(exact, 1), 0);
	/* Matched as written: the '/' we added counts. */
	EXPECT_DOC("</sensors/light>;rt=\"light-lux\";if=\"sensor\"");
	ck_assert_int_eq(format_with(prefix, 1), 0);
	EXPECT_DOC("</sensors/temp>;rt=\"temperature-c\";if=\"sensor\","
		   "</sensors/light>;rt=\"light-lux\";if=\"sensor\"");
	ck_assert_int_eq(format_with(abs, 1), 0);
	EXPECT_DOC("<http://www.example.com/sensors/t123>"
		   ";anchor=\"/sensors/temp\";rel=\"describedby\"");
}
END_TEST

START_TEST(filter_numbers_titles_extras_and_all)
{
	static const char *const ct[] = {"ct=40"};
	static const char *const title[] = {"title=Sensor*"};
	static const char *const rel[] = {"rel=alternate"};
	static const char *const both[] = {"if=sensor", "rt=light-lux"};
	static const char *const none[] = {"if=sensor", "rt=nothing"};

	ck_assert_int_eq(format_with(ct, 1), 0);
	EXPECT_DOC("</sensors>;ct=40;title=\"Sensor Index\"");
	ck_assert_int_eq(format_with(title, 1), 0);
	EXPECT_DOC("</sensors>;ct=40;title=\"Sensor Index\"");
	ck_assert_int_eq(format_with(rel, 1), 0);
	EXPECT_DOC("</t>;anchor=\"/sensors/temp\";rel=\"alternate\"");
	/* Several filters: a link must pass them all. */
	ck_assert_int_eq(format_with(both, 2), 0);
	EXPECT_DOC("</sensors/light>;rt=\"light-lux\";if=\"sensor\"");
	ck_assert_int_eq(format_with(none, 2), 0);
	EXPECT_DOC("");
}
END_TEST

START_TEST(match_space_separated_and_flags)
{
	struct ucoap_link l = {.href = "/obs",
			       .rt = "temperature humidity",
			       .ct = UCOAP_CF_NONE,
			       .obs = true};

	ck_assert(ucoap_link_match(&l, "rt=humidity", 11));
	ck_assert(ucoap_link_match(&l, "rt=temp*", 8));
	ck_assert(ucoap_link_match(&l, "rt=temperature humidity", 23));
	ck_assert(!ucoap_link_match(&l, "rt=temperature hum", 18));
	ck_assert(ucoap_link_match(&l, "obs", 3));
	ck_assert(!ucoap_link_match(&l, "ct", 2));
	ck_assert(!ucoap_link_match(&l, "if=*", 4));
	l.obs = false;
	ck_assert(!ucoap_link_match(&l, "obs", 3));
}
END_TEST

START_TEST(write_errors)
{
	struct ucoap_link bad_title = {
	    .href = "/a", .ct = UCOAP_CF_NONE, .title = "say \"hi\""};
	struct ucoap_link bad_href = {.href = "/a>b", .ct = UCOAP_CF_NONE};
	struct ucoap_link no_href = {.ct = UCOAP_CF_NONE};
	struct ucoap_link bad_ct = {.href = "/a", .ct = 70000};
	char small[10];

	ck_assert_int_eq(
	    ucoap_link_format(&bad_title, 1, NULL, out, sizeof(out), &out_len),
	    UCOAP_ERR_INVAL);
	ck_assert_int_eq(
	    ucoap_link_format(&bad_href, 1, NULL, out, sizeof(out), &out_len),
	    UCOAP_ERR_INVAL);
	ck_assert_int_eq(
	    ucoap_link_format(&no_href, 1, NULL, out, sizeof(out), &out_len),
	    UCOAP_ERR_INVAL);
	ck_assert_int_eq(
	    ucoap_link_format(&bad_ct, 1, NULL, out, sizeof(out), &out_len),
	    UCOAP_ERR_INVAL);
	ck_assert_int_eq(ucoap_link_format(rfc_links, ARRAY_LEN(rfc_links),
					   NULL, small, sizeof(small),
					   &out_len),
			 UCOAP_ERR_NOSPACE);
}
END_TEST

static void expect_view(const struct ucoap_link_view *v, const char *href)
{
	ck_assert_uint_eq(v->href_len, strlen(href));
	ck_assert_mem_eq(v->href, href, v->href_len);
}

static void expect_attr(const struct ucoap_link_view *v, const char *name,
			const char *want)
{
	const char *val;
	size_t len;

	ck_assert_int_eq(ucoap_link_attr(v, name, &val, &len), 0);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_mem_eq(val, want, len);
}

START_TEST(read_rfc_example)
{
	static const char *const hrefs[] = {
	    "/sensors", "/sensors/temp", "/sensors/light",
	    "http://www.example.com/sensors/t123", "/t"};
	struct ucoap_link_view v[5];
	size_t pos = 0, n = 0, len = strlen(rfc_doc);
	const char *val;
	size_t vl;
	int rc;

	while ((rc = ucoap_link_next(rfc_doc, len, &pos, &v[n])) == 0) {
		ck_assert_uint_lt(n, 5);
		expect_view(&v[n], hrefs[n]);
		n++;
	}
	ck_assert_int_eq(rc, UCOAP_ERR_NOENT);
	ck_assert_uint_eq(n, 5);
	expect_attr(&v[0], "ct", "40");
	expect_attr(&v[0], "title", "Sensor Index");
	expect_attr(&v[1], "rt", "temperature-c");
	expect_attr(&v[1], "IF", "sensor"); /* names ignore case */
	expect_attr(&v[3], "anchor", "/sensors/temp");
	expect_attr(&v[3], "rel", "describedby");
	ck_assert_int_eq(ucoap_link_attr(&v[0], "rt", &val, &vl),
			 UCOAP_ERR_NOENT);
	ck_assert_int_eq(ucoap_link_attr(&v[1], "r", &val, &vl),
			 UCOAP_ERR_NOENT);
}
END_TEST

START_TEST(read_quoted_separators_and_flags)
{
	static const char doc[] =
	    "</a>;title=\"x,y;z\";obs;sz=12,</b>,</c>;title=\"q\\\"x\"";
	struct ucoap_link_view v;
	size_t pos = 0;

	ck_assert_int_eq(ucoap_link_next(doc, strlen(doc), &pos, &v), 0);
	expect_view(&v, "/a");
	expect_attr(&v, "title", "x,y;z");
	expect_attr(&v, "obs", "");
	expect_attr(&v, "sz", "12");
	ck_assert_int_eq(ucoap_link_next(doc, strlen(doc), &pos, &v), 0);
	expect_view(&v, "/b");
	ck_assert_uint_eq(v.params_len, 0);
	ck_assert_int_eq(ucoap_link_next(doc, strlen(doc), &pos, &v), 0);
	expect_view(&v, "/c");
	expect_attr(&v, "title", "q\\\"x"); /* escapes stay */
	ck_assert_int_eq(ucoap_link_next(doc, strlen(doc), &pos, &v),
			 UCOAP_ERR_NOENT);
}
END_TEST

START_TEST(read_round_trip)
{
	struct ucoap_link_view v;
	size_t pos = 0, n = 0;

	ck_assert_int_eq(ucoap_link_format(rfc_links, ARRAY_LEN(rfc_links),
					   NULL, out, sizeof(out), &out_len),
			 0);
	while (ucoap_link_next(out, out_len, &pos, &v) == 0)
		n++;
	ck_assert_uint_eq(n, ARRAY_LEN(rfc_links));
	ck_assert_uint_eq(pos, out_len);
}
END_TEST

static const char *const bad_docs[] = {
    "/a",             /* no '<' */
    "</a",            /* no '>' */
    "</a>,",          /* a ',' with no link after it */
    "</a>;title=\"x", /* unterminated quoted string */
    "</a>rt=x",       /* parameters must start with ';' */
    "</a>,,</b>",     /* empty link */
    " </a>",          /* no whitespace in the grammar */
};

START_TEST(read_rejects)
{
	const char *d = bad_docs[_i];
	struct ucoap_link_view v;
	size_t pos = 0;
	int rc;

	while ((rc = ucoap_link_next(d, strlen(d), &pos, &v)) == 0)
		;
	ck_assert_int_eq(rc, UCOAP_ERR_INVAL);
}
END_TEST

static Suite *link_suite(void)
{
	Suite *s = suite_create("link");
	TCase *tc = tcase_create("write");

	tcase_add_test(tc, write_rfc_example);
	tcase_add_test(tc, write_observable_and_size);
	tcase_add_test(tc, write_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("filter");
	tcase_add_test(tc, filter_if);
	tcase_add_test(tc, filter_rt_exact_and_prefix);
	tcase_add_test(tc, filter_href);
	tcase_add_test(tc, filter_numbers_titles_extras_and_all);
	tcase_add_test(tc, match_space_separated_and_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("read");
	tcase_add_test(tc, read_rfc_example);
	tcase_add_test(tc, read_quoted_separators_and_flags);
	tcase_add_test(tc, read_round_trip);
	tcase_add_loop_test(tc, read_rejects, 0, ARRAY_LEN(bad_docs));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(link_suite());
}
