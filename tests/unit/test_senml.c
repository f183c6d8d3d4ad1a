/*
 * Unit tests for gw_senml: the examples of RFC 8428 §5.1 resolved as
 * §4.6 says (names, units, times, values and the published text), the
 * same packs in SenML CBOR (§6), and every rejection senml.h lists.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "senml.h"

#define MAX_RECS 32

struct got {
	size_t n;
	char name[MAX_RECS][96];
	char unit[MAX_RECS][16]; /* "" when none */
	bool has_time[MAX_RECS];
	double time[MAX_RECS];
	enum gw_senml_kind kind[MAX_RECS];
	char text[MAX_RECS][64];
	int stop_at; /* return an error at this record (-1: never) */
};

static int collect(void *user, const struct gw_senml_record *r)
{
	struct got *g = user;

	if ((int)g->n == g->stop_at)
		return -ECANCELED;
	ck_assert_uint_lt(g->n, MAX_RECS);
	snprintf(g->name[g->n], sizeof(g->name[0]), "%s", r->name);
	snprintf(g->unit[g->n], sizeof(g->unit[0]), "%s",
		 r->unit ? r->unit : "");
	g->has_time[g->n] = r->has_time;
	g->time[g->n] = r->time;
	g->kind[g->n] = r->kind;
	snprintf(g->text[g->n], sizeof(g->text[0]), "%s", r->text);
	g->n++;
	return 0;
}

static int run(const char *json, struct got *g)
{
	size_t count = 99;
	int rc;

	memset(g, 0, sizeof(*g));
	g->stop_at = -1;
	rc = gw_senml_resolve((const uint8_t *)json, strlen(json),
			      GW_SENML_CF_JSON, collect, g, &count);
	if (rc == 0)
		ck_assert_uint_eq(count, g->n);
	return rc;
}

static int run_cbor(const char *hex, struct got *g)
{
	uint8_t buf[512];
	size_t n = strlen(hex) / 2;

	ck_assert_uint_le(n, sizeof(buf));
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		buf[i] = (uint8_t)v;
	}
	memset(g, 0, sizeof(*g));
	g->stop_at = -1;
	return gw_senml_resolve(buf, n, GW_SENML_CF_CBOR, collect, g, NULL);
}

static void rec_is(const struct got *g, size_t i, const char *name,
		   const char *unit, const char *text)
{
	ck_assert_uint_lt(i, g->n);
	ck_assert_str_eq(g->name[i], name);
	ck_assert_str_eq(g->unit[i], unit);
	ck_assert_str_eq(g->text[i], text);
}

/* §5.1.1 Single Datapoint */
START_TEST(single_datapoint)
{
	struct got g;

	ck_assert_int_eq(
	    run("[{\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"Cel\","
		"\"v\":23.1}]",
		&g),
	    0);
	ck_assert_uint_eq(g.n, 1);
	rec_is(&g, 0, "urn:dev:ow:10e2073a01080063", "Cel", "23.1");
	ck_assert(!g.has_time[0]);
	ck_assert_int_eq(g.kind[0], GW_SENML_NUMBER);
}
END_TEST

/* §5.1.2 Multiple Datapoints: the base name prefixes both names. */
static const char multiple_json[] =
    "[{\"bn\":\"urn:dev:ow:10e2073a01080063:\",\"n\":\"voltage\","
    "\"u\":\"V\",\"v\":120.1},"
    " {\"n\":\"current\",\"u\":\"A\",\"v\":1.2}]";
/* The same pack in SenML CBOR (§6: bn = -2, n = 0, u = 1, v = 2). */
static const char multiple_cbor[] =
    "82a421781c75726e3a6465763a6f773a313065323037336130313038303036333a00"
    "67766f6c7461676501615602fb405e066666666666a3006763757272656e74016141"
    "02fb3ff3333333333333";

static void check_multiple(const struct got *g)
{
	ck_assert_uint_eq(g->n, 2);
	rec_is(g, 0, "urn:dev:ow:10e2073a01080063:voltage", "V", "120.1");
	rec_is(g, 1, "urn:dev:ow:10e2073a01080063:current", "A", "1.2");
}

START_TEST(multiple_datapoints)
{
	struct got g;

	ck_assert_int_eq(run(multiple_json, &g), 0);
	check_multiple(&g);
	ck_assert_int_eq(run_cbor(multiple_cbor, &g), 0);
	check_multiple(&g);
}
END_TEST

/*
 * §5.1.3 Multiple Measurements, resolved as §5.1.4 shows: the base unit
 * A applies where no unit is given, the base time is added to each
 * relative time, bver is understood and dropped.
 */
START_TEST(multiple_measurements_resolved)
{
	static const double dt[] = {0, -5, -4, -3, -2, -1, 0};
	struct got g;

	ck_assert_int_eq(
	    run("[{\"bn\":\"urn:dev:ow:10e2073a0108006:\","
		"\"bt\":1.276020076001e+09,\"bu\":\"A\",\"bver\":5,"
		"\"n\":\"voltage\",\"u\":\"V\",\"v\":120.1},"
		"{\"n\":\"current\",\"t\":-5,\"v\":1.2},"
		"{\"n\":\"current\",\"t\":-4,\"v\":1.3},"
		"{\"n\":\"current\",\"t\":-3,\"v\":1.4},"
		"{\"n\":\"current\",\"t\":-2,\"v\":1.5},"
		"{\"n\":\"current\",\"t\":-1,\"v\":1.6},"
		"{\"n\":\"current\",\"v\":1.7}]",
		&g),
	    0);
	ck_assert_uint_eq(g.n, 7);
	rec_is(&g, 0, "urn:dev:ow:10e2073a0108006:voltage", "V", "120.1");
	rec_is(&g, 1, "urn:dev:ow:10e2073a0108006:current", "A", "1.2");
	rec_is(&g, 6, "urn:dev:ow:10e2073a0108006:current", "A", "1.7");
	for (size_t i = 0; i < 7; i++) {
		ck_assert(g.has_time[i]);
		ck_assert_double_eq_tol(g.time[i], 1.276020076001e+09 + dt[i],
					1e-6);
	}
}
END_TEST

/*
 * §5.1.3's second example: one name for every record (the base name
 * alone), units switching between %RH, lon, lat and %EL.
 */
START_TEST(time_series_one_name)
{
	struct got g;

	ck_assert_int_eq(run("[{\"bn\":\"urn:dev:ow:10e2073a01080063\","
			     "\"bt\":1.320067464e+09,\"bu\":\"%RH\",\"v\":20},"
			     "{\"u\":\"lon\",\"v\":24.30621},"
			     "{\"u\":\"lat\",\"v\":60.07965},"
			     "{\"t\":60,\"v\":20.3},"
			     "{\"u\":\"lon\",\"t\":60,\"v\":24.30622},"
			     "{\"u\":\"lat\",\"t\":60,\"v\":60.07965},"
			     "{\"t\":120,\"v\":20.7},"
			     "{\"u\":\"lon\",\"t\":120,\"v\":24.30623},"
			     "{\"u\":\"lat\",\"t\":120,\"v\":60.07966},"
			     "{\"u\":\"%EL\",\"t\":150,\"v\":98},"
			     "{\"t\":180,\"v\":21.2},"
			     "{\"u\":\"lon\",\"t\":180,\"v\":24.30628},"
			     "{\"u\":\"lat\",\"t\":180,\"v\":60.07967}]",
			     &g),
			 0);
	ck_assert_uint_eq(g.n, 13);
	for (size_t i = 0; i < g.n; i++)
		ck_assert_str_eq(g.name[i], "urn:dev:ow:10e2073a01080063");
	rec_is(&g, 0, "urn:dev:ow:10e2073a01080063", "%RH", "20");
	rec_is(&g, 1, "urn:dev:ow:10e2073a01080063", "lon", "24.30621");
	rec_is(&g, 9, "urn:dev:ow:10e2073a01080063", "%EL", "98");
	rec_is(&g, 10, "urn:dev:ow:10e2073a01080063", "%RH", "21.2");
	ck_assert_double_eq_tol(g.time[0], 1.320067464e+09, 1e-6);
	ck_assert_double_eq_tol(g.time[12], 1.320067464e+09 + 180, 1e-6);
}
END_TEST

/* §5.1.5 Multiple Data Types: string, boolean and data values. */
static void check_types(const struct got *g)
{
	ck_assert_uint_eq(g->n, 4);
	rec_is(g, 0, "urn:dev:ow:10e2073a01080063:temp", "Cel", "23.1");
	rec_is(g, 1, "urn:dev:ow:10e2073a01080063:label", "", "Machine Room");
	rec_is(g, 2, "urn:dev:ow:10e2073a01080063:open", "", "false");
	rec_is(g, 3, "urn:dev:ow:10e2073a01080063:nfc-reader", "", "aGkgCg");
	ck_assert_int_eq(g->kind[0], GW_SENML_NUMBER);
	ck_assert_int_eq(g->kind[1], GW_SENML_STRING);
	ck_assert_int_eq(g->kind[2], GW_SENML_BOOL);
	ck_assert_int_eq(g->kind[3], GW_SENML_DATA);
}

START_TEST(multiple_data_types)
{
	struct got g;

	ck_assert_int_eq(
	    run("[{\"bn\":\"urn:dev:ow:10e2073a01080063:\",\"n\":\"temp\","
		"\"u\":\"Cel\",\"v\":23.1},"
		"{\"n\":\"label\",\"vs\":\"Machine Room\"},"
		"{\"n\":\"open\",\"vb\":false},"
		"{\"n\":\"nfc-reader\",\"vd\":\"aGkgCg\"}]",
		&g),
	    0);
	check_types(&g);
	/* In CBOR the data value is a byte string (vd = 8): h'6869200a'. */
	ck_assert_int_eq(
	    run_cbor("84a421781c75726e3a6465763a6f773a31306532303733613031303"
		     "83030363"
		     "33a006474656d70016343656c02fb403719999999999aa200656c61"
		     "62656c036c4d616368696e6520526f6f6da200646f70656e04f4a2"
		     "006a6e66632d72656164657208446869200a",
		     &g),
	    0);
	check_types(&g);
}
END_TEST

/* §5.1.6 Collection of Resources: a second base name takes over. */
START_TEST(collection_of_resources)
{
	struct got g;

	ck_assert_int_eq(
	    run("[{\"bn\":\"2001:db8::2/\",\"bt\":1.320078429e+09,"
		"\"n\":\"temperature\",\"u\":\"Cel\",\"v\":27.2},"
		"{\"n\":\"humidity\",\"u\":\"%RH\",\"v\":80},"
		"{\"bn\":\"2001:db8::1/\",\"n\":\"temperature\",\"u\":\"Cel\","
		"\"v\":12.3},"
		"{\"n\":\"humidity\",\"u\":\"%RH\",\"v\":67}]",
		&g),
	    0);
	ck_assert_uint_eq(g.n, 4);
	rec_is(&g, 0, "2001:db8::2/temperature", "Cel", "27.2");
	rec_is(&g, 1, "2001:db8::2/humidity", "%RH", "80");
	rec_is(&g, 2, "2001:db8::1/temperature", "Cel", "12.3");
	rec_is(&g, 3, "2001:db8::1/humidity", "%RH", "67");
	/* The base time stays in force across the new base name. */
	ck_assert_double_eq_tol(g.time[3], 1.320078429e+09, 1e-6);
}
END_TEST

START_TEST(base_value_and_sum)
{
	struct got g;

	ck_assert_int_eq(run("[{\"bn\":\"m:\",\"bv\":100,\"n\":\"a\",\"v\":1},"
			     "{\"n\":\"b\",\"v\":-1.5},"
			     "{\"n\":\"e\",\"bs\":1000,\"s\":5},"
			     "{\"n\":\"f\",\"s\":7,\"v\":2}]",
			     &g),
			 0);
	ck_assert_uint_eq(g.n, 4);
	rec_is(&g, 0, "m:a", "", "101");
	rec_is(&g, 1, "m:b", "", "98.5");
	rec_is(&g, 2, "m:e", "", "1005");
	ck_assert_int_eq(g.kind[2], GW_SENML_SUM);
	/* A value wins over a sum for what is published. */
	rec_is(&g, 3, "m:f", "", "102");
}
END_TEST

START_TEST(records_without_value_and_unknown_labels)
{
	struct got g;

	/* A record with base fields only gives nothing; "foo" is ignored. */
	ck_assert_int_eq(run("[{\"bn\":\"d:\",\"bu\":\"W\"},"
			     "{\"n\":\"p\",\"v\":5,\"foo\":[1]}]",
			     &g),
			 0);
	ck_assert_uint_eq(g.n, 1);
	rec_is(&g, 0, "d:p", "W", "5");
	ck_assert_int_eq(run(" [ ] \n", &g), 0);
	ck_assert_uint_eq(g.n, 0);
}
END_TEST

START_TEST(rejections)
{
	static const char *const bad[] = {
	    "{\"n\":\"a\",\"v\":1}",                /* not an array */
	    "[1]",                                  /* not an object */
	    "[{\"n\":\"a\",\"v\":1}] x",            /* trailing garbage */
	    "[{\"n\":\"a\",\"v\":1}",               /* truncated */
	    "[{\"v\":1}]",                          /* no name at all */
	    "[{\"n\":\"-a\",\"v\":1}]",             /* bad first character */
	    "[{\"n\":\"a b\",\"v\":1}]",            /* bad character */
	    "[{\"n\":\"a+\",\"v\":1}]",             /* MQTT wildcard */
	    "[{\"n\":\"a#\",\"v\":1}]",             /* MQTT wildcard */
	    "[{\"n\":\"a//b\",\"v\":1}]",           /* empty topic level */
	    "[{\"n\":\"a/\",\"v\":1}]",             /* empty last level */
	    "[{\"n\":\"a\",\"v\":1,\"vs\":\"x\"}]", /* two values */
	    "[{\"n\":\"a\",\"v\":\"1\"}]",          /* v not a number */
	    "[{\"n\":1,\"v\":1}]",                  /* n not a string */
	    "[{\"n\":\"a\",\"vb\":1}]",             /* vb not a boolean */
	    "[{\"n\":\"a\",\"v\":1,\"n\":\"b\"}]",  /* a label twice */
	    "[{\"bver\":11,\"n\":\"a\",\"v\":1}]",  /* a newer version */
	    "[{\"n\":\"a\",\"v\":1,\"x_\":1}]",     /* must-understand */
	    "",
	};
	struct got g;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(run(bad[i], &g) == -EBADMSG, "accepted: %s",
			      bad[i]);
	/* Other content-formats are not SenML. */
	ck_assert_int_eq(
	    gw_senml_resolve((const uint8_t *)"[]", 2, 50, collect, &g, NULL),
	    -EBADMSG);
	/* Malformed CBOR. */
	ck_assert_int_eq(run_cbor("82a1", &g), -EBADMSG);
}
END_TEST

START_TEST(whole_pack_checked_first)
{
	struct got g;

	/* The third record is bad: the first two are never given out. */
	ck_assert_int_eq(run("[{\"n\":\"a\",\"v\":1},{\"n\":\"b\",\"v\":2},"
			     "{\"n\":\"c d\",\"v\":3}]",
			     &g),
			 -EBADMSG);
	ck_assert_uint_eq(g.n, 0);
}
END_TEST

START_TEST(callback_error_stops)
{
	struct got g = {.stop_at = 1};
	size_t count = 0;
	const char *pack = "[{\"n\":\"a\",\"v\":1},{\"n\":\"b\",\"v\":2},"
			   "{\"n\":\"c\",\"v\":3}]";

	ck_assert_int_eq(gw_senml_resolve((const uint8_t *)pack, strlen(pack),
					  GW_SENML_CF_JSON, collect, &g,
					  &count),
			 -ECANCELED);
	ck_assert_uint_eq(g.n, 1);
}
END_TEST

START_TEST(number_text)
{
	char buf[40];

	ck_assert_int_gt(gw_senml_number_text(0.1, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "0.1");
	gw_senml_number_text(120, buf, sizeof(buf));
	ck_assert_str_eq(buf, "120");
	gw_senml_number_text(-4.1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "-4.1");
	gw_senml_number_text(1e300, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1e+300");
	/* Needs 17 digits to read back the same. */
	gw_senml_number_text(5.9604644775390625e-08, buf, sizeof(buf));
	ck_assert_double_eq(strtod(buf, NULL), 5.9604644775390625e-08);
	ck_assert_int_eq(gw_senml_number_text(1.5, buf, 3), -ENOSPC);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("senml");
	TCase *tc = tcase_create("senml");

	tcase_add_test(tc, single_datapoint);
	tcase_add_test(tc, multiple_datapoints);
	tcase_add_test(tc, multiple_measurements_resolved);
	tcase_add_test(tc, time_series_one_name);
	tcase_add_test(tc, multiple_data_types);
	tcase_add_test(tc, collection_of_resources);
	tcase_add_test(tc, base_value_and_sum);
	tcase_add_test(tc, records_without_value_and_unknown_labels);
	tcase_add_test(tc, rejections);
	tcase_add_test(tc, whole_pack_checked_first);
	tcase_add_test(tc, callback_error_stops);
	tcase_add_test(tc, number_text);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
