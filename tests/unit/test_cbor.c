/*
 * Unit tests for gw_cbor (cborjson.c): every example of RFC 8949
 * Appendix A, as hex -> the exact JSON text the gateway publishes, plus
 * the choices cborjson.h documents for what JSON cannot say, and the
 * rejections.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cborjson.h"
#include "runner.h"

struct vec {
	const char *hex;
	const char *json;
};

/*
 * RFC 8949 Appendix A, Table 6, in its order. The expected text is what
 * the mapping in cborjson.h gives: exact integer digits, shortest
 * round-trip floats, null for NaN/Infinity/undefined/simple values, tag
 * content for tags, base64url for byte strings, base16 inside tag 23.
 */
static const struct vec appendix_a[] = {
    {"00", "0"},
    {"01", "1"},
    {"0a", "10"},
    {"17", "23"},
    {"1818", "24"},
    {"1819", "25"},
    {"1864", "100"},
    {"1903e8", "1000"},
    {"1a000f4240", "1000000"},
    {"1b000000e8d4a51000", "1000000000000"},
    {"1bffffffffffffffff", "18446744073709551615"},
    {"c249010000000000000000", "18446744073709551616"},
    {"3bffffffffffffffff", "-18446744073709551616"},
    {"c349010000000000000000", "-18446744073709551617"},
    {"20", "-1"},
    {"29", "-10"},
    {"3863", "-100"},
    {"3903e7", "-1000"},
    {"f90000", "0"},
    {"f98000", "-0.0"},
    {"f93c00", "1"},
    {"fb3ff199999999999a", "1.1"},
    {"f93e00", "1.5"},
    {"f97bff", "65504"},
    {"fa47c35000", "100000"},
    {"fa7f7fffff", "3.4028234663852886e+38"},
    {"fb7e37e43c8800759c", "1e+300"},
    {"f90001", "5.9604644775390625e-08"},
    {"f90400", "6.103515625e-05"},
    {"f9c400", "-4"},
    {"fbc010666666666666", "-4.1"},
    /* 15 digits would round these: each needs all 17 */
    {"fb3fd3333333333334", "0.30000000000000004"},
    {"fb3ff0000000000001", "1.0000000000000002"},
    {"fbc3e0000000000001", "-9.2233720368547779e+18"},
    {"f97c00", "null"}, /* Infinity */
    {"f97e00", "null"}, /* NaN */
    {"f9fc00", "null"}, /* -Infinity */
    {"fa7f800000", "null"},
    {"fa7fc00000", "null"},
    {"faff800000", "null"},
    {"fb7ff0000000000000", "null"},
    {"fb7ff8000000000000", "null"},
    {"fbfff0000000000000", "null"},
    {"f4", "false"},
    {"f5", "true"},
    {"f6", "null"},
    {"f7", "null"}, /* undefined */
    /* simple(16) "f0" and simple(255) "f8ff": see unassigned_simple */
    {"c074323031332d30332d32315432303a30343a30305a",
     "\"2013-03-21T20:04:00Z\""},
    {"c11a514b67b0", "1363896240"},
    {"c1fb41d452d9ec200000", "1363896240.5"},
    {"d74401020304", "\"01020304\""},    /* 23: expected base16 */
    {"d818456449455446", "\"ZElFVEY\""}, /* 24: embedded CBOR, bytes */
    {"d82076687474703a2f2f7777772e6578616d706c652e636f6d",
     "\"http://www.example.com\""},
    {"40", "\"\""},
    {"4401020304", "\"AQIDBA\""},
    {"60", "\"\""},
    {"6161", "\"a\""},
    {"6449455446", "\"IETF\""},
    {"62225c", "\"\\\"\\\\\""},
    {"62c3bc", "\"\xc3\xbc\""},
    {"63e6b0b4", "\"\xe6\xb0\xb4\""},
    {"64f0908591", "\"\xf0\x90\x85\x91\""},
    {"80", "[]"},
    {"83010203", "[1,2,3]"},
    {"8301820203820405", "[1,[2,3],[4,5]]"},
    {"98190102030405060708090a0b0c0d0e0f101112131415161718181819",
     "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,"
     "25]"},
    {"a0", "{}"},
    {"a201020304", "{\"1\":2,\"3\":4}"},
    {"a26161016162820203", "{\"a\":1,\"b\":[2,3]}"},
    {"826161a161626163", "[\"a\",{\"b\":\"c\"}]"},
    {"a56161614161626142616361436164614461656145",
     "{\"a\":\"A\",\"b\":\"B\",\"c\":\"C\",\"d\":\"D\",\"e\":\"E\"}"},
    {"5f42010243030405ff", "\"AQIDBAU\""},
    {"7f657374726561646d696e67ff", "\"streaming\""},
    {"9fff", "[]"},
    {"9f018202039f0405ffff", "[1,[2,3],[4,5]]"},
    {"9f01820203820405ff", "[1,[2,3],[4,5]]"},
    {"83018202039f0405ff", "[1,[2,3],[4,5]]"},
    {"83019f0203ff820405", "[1,[2,3],[4,5]]"},
    {"9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff",
     "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,"
     "25]"},
    {"bf61610161629f0203ffff", "{\"a\":1,\"b\":[2,3]}"},
    {"826161bf61626163ff", "[\"a\",{\"b\":\"c\"}]"},
    {"bf6346756ef563416d7421ff", "{\"Fun\":true,\"Amt\":-2}"},
};

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	ck_assert_uint_le(n, cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* Convert @hex; returns the error or 0 with *json set (caller frees). */
static int to_json(const char *hex, char **json)
{
	uint8_t buf[512];
	size_t n = unhex(hex, buf, sizeof(buf)), len = 0;
	int rc = gw_cbor_to_json(buf, n, json, &len);

	if (rc == 0)
		ck_assert_uint_eq(len, strlen(*json));
	return rc;
}

START_TEST(appendix_a_example)
{
	const struct vec *v = &appendix_a[_i];
	char *json = NULL;

	ck_assert_msg(to_json(v->hex, &json) == 0, "%s: rejected", v->hex);
	ck_assert_msg(strcmp(json, v->json) == 0, "%s: got %s, want %s", v->hex,
		      json, v->json);
	/* Whatever is published must itself be valid JSON. */
	cJSON *back = cJSON_Parse(json);
	ck_assert_msg(back != NULL, "%s: %s does not parse", v->hex, json);
	cJSON_Delete(back);
	free(json);
}
END_TEST

static void expect(const char *hex, const char *want)
{
	char *json = NULL;

	ck_assert_msg(to_json(hex, &json) == 0, "%s: rejected", hex);
	ck_assert_msg(strcmp(json, want) == 0, "%s: got %s, want %s", hex, json,
		      want);
	free(json);
}

static void expect_err(const char *hex, int err)
{
	char *json = NULL;
	int rc = to_json(hex, &json);

	ck_assert_msg(rc == err, "%s: got %d (%s), want %d", hex, rc,
		      json ? json : "-", err);
}

START_TEST(byte_string_encodings)
{
	/* 22(h'fbff'): expected base64, with padding; 21: base64url. */
	expect("d642fbff", "\"+/8=\"");
	expect("d542fbff", "\"-_8\"");
	/* The hint reaches byte strings nested inside the tagged item. */
	expect("d78242abcd41ef", "[\"abcd\",\"ef\"]");
	/* A byte string outside any hint stays base64url. */
	expect("8242fbffd642fbff", "[\"-_8\",\"+/8=\"]");
}
END_TEST

START_TEST(bignums)
{
	/* 2(h'00') is 0, 3(h'') is -1: leading zeros and the empty form. */
	expect("c24100", "0");
	expect("c340", "-1");
	/* 3(h'ff') = -256 */
	expect("c341ff", "-256");
	/* 2^128 = 340282366920938463463374607431768211456 */
	expect("c25101000000000000000000000000000000"
	       "00",
	       "340282366920938463463374607431768211456");
	/* A bignum longer than 64 bytes is a base64url string (§6.1),
	 * '~'-prefixed when negative. */
	char hex[2 * 70 + 1] = "c35841";
	for (int i = 0; i < 65; i++)
		strcat(hex, "00");
	char want[100] = "\"~";
	for (int i = 0; i < 86; i++)
		strcat(want, "A");
	strcat(want, "A\"");
	expect(hex, want);
}
END_TEST

START_TEST(large_integers_keep_their_digits)
{
	/* 2^53 + 1 cannot be a double; 10^15 would print as 1e+15. */
	expect("1b0020000000000001", "9007199254740993");
	expect("1b00038d7ea4c68000", "1000000000000000");
	expect("1b00038d7ea4c67fff", "999999999999999");
	expect("3b00038d7ea4c67fff", "-1000000000000000");
	expect("3b00038d7ea4c67ffe", "-999999999999999");
}
END_TEST

START_TEST(non_string_keys)
{
	/* {-2: "x", true: 1, h'01': 2, 1.5: 4, null: 5, 2(h'01'): 6} */
	expect("a6216178f501410102f93e0004f605c2410106",
	       "{\"-2\":\"x\",\"true\":1,\"AQ\":2,\"1.5\":4,\"null\":5,"
	       "\"1\":6}");
	/* Arrays and maps as keys, also behind a tag, are rejected. */
	expect_err("a182010203", -EBADMSG);
	expect_err("a1a000", -EBADMSG);
	expect_err("a1c182010200", -EBADMSG);
	expect_err("a1a1a1a0000000", -EBADMSG);
	/* {1: "a", "1": "b"}: two keys, one JSON name */
	expect_err("a201616161316162", -EBADMSG);
	/* {"a": 1, "a": 2}: a key repeated */
	expect_err("a2616101616102", -EBADMSG);
	/* the same, one level down, among other keys */
	expect_err("a16178a3617a01616101617a02", -EBADMSG);
}
END_TEST

START_TEST(rejected)
{
	expect_err("", -EBADMSG);           /* nothing */
	expect_err("0000", -EBADMSG);       /* two items */
	expect_err("83010203ff", -EBADMSG); /* trailing break */
	expect_err("1903", -EBADMSG);       /* truncated argument */
	expect_err("8301", -EBADMSG);       /* truncated array */
	expect_err("62c328", -EBADMSG);     /* invalid UTF-8 */
	expect_err("63610062", -EBADMSG);   /* U+0000 in a text string */
	expect_err("1c", -EBADMSG);         /* reserved additional info */
	expect_err("ff", -EBADMSG);         /* a lone break */
	/* Collections claiming more elements than there are bytes: refused
	 * before libcbor would allocate for them (found by fuzz_payload). */
	expect_err("9bffffffffffffffff00", -EBADMSG);
	expect_err("9a7fffffff00", -EBADMSG);
	expect_err("bb00000001000000000000", -EBADMSG);
	expect_err("8201", -EBADMSG);
	expect_err("a20102", -EBADMSG);
}
END_TEST

/*
 * Appendix A's simple(16) and simple(255) are well-formed but unassigned;
 * libcbor 0.8 refuses to decode unassigned simple values, so they are
 * rejected like malformed input (documented in cborjson.h) rather than
 * turned into null.
 */
START_TEST(unassigned_simple)
{
	expect_err("f0", -EBADMSG);
	expect_err("f8ff", -EBADMSG);
	expect_err("8201f0", -EBADMSG);
}
END_TEST

START_TEST(depth_limit)
{
	char hex[2 * 64 + 3] = "";

	/* GW_CBOR_MAX_DEPTH nested arrays around 0 are fine, one more is
	 * not. */
	for (int i = 0; i < GW_CBOR_MAX_DEPTH; i++)
		strcat(hex, "81");
	strcat(hex, "00");
	char *json = NULL;
	ck_assert_int_eq(to_json(hex, &json), 0);
	free(json);
	memmove(hex + 2, hex, strlen(hex) + 1);
	memcpy(hex, "81", 2);
	expect_err(hex, -EBADMSG);
}
END_TEST

START_TEST(tree_is_usable)
{
	/* {"t": 21.5, "h": 40} as a tree, as SenML CBOR uses it. */
	uint8_t buf[32];
	size_t n = unhex("a26174f94d606168182"
			 "8",
			 buf, sizeof(buf));
	cJSON *doc = NULL;

	ck_assert_int_eq(gw_cbor_to_cjson(buf, n, &doc), 0);
	ck_assert(cJSON_IsObject(doc));
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(doc, "t")));
	ck_assert_double_eq(cJSON_GetObjectItem(doc, "t")->valuedouble, 21.5);
	ck_assert_double_eq(cJSON_GetObjectItem(doc, "h")->valuedouble, 40);
	cJSON_Delete(doc);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cbor");
	TCase *tc = tcase_create("cbor");

	tcase_add_loop_test(tc, appendix_a_example, 0,
			    (int)(sizeof(appendix_a) / sizeof(appendix_a[0])));
	tcase_add_test(tc, byte_string_encodings);
	tcase_add_test(tc, bignums);
	tcase_add_test(tc, large_integers_keep_their_digits);
	tcase_add_test(tc, non_string_keys);
	tcase_add_test(tc, rejected);
	tcase_add_test(tc, unassigned_simple);
	tcase_add_test(tc, depth_limit);
	tcase_add_test(tc, tree_is_usable);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
