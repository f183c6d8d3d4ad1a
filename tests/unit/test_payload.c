/* Unit tests for gw_payload: UTF-8 check, base64, the result document. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "payload.h"
#include "runner.h"

START_TEST(utf8_accepts_text)
{
	ck_assert(gw_utf8_text((const uint8_t *)"", 0));
	ck_assert(gw_utf8_text((const uint8_t *)"22.5", 4));
	ck_assert(gw_utf8_text((const uint8_t *)"\xc2\xb0"
						"C",
			       3));                                  /* °C */
	ck_assert(gw_utf8_text((const uint8_t *)"\xe2\x82\xac", 3)); /* € */
	ck_assert(gw_utf8_text((const uint8_t *)"\xf0\x9f\x98\x80", 4));
}
END_TEST

START_TEST(utf8_rejects_binary)
{
	ck_assert(!gw_utf8_text((const uint8_t *)"a\0b", 3)); /* NUL */
	ck_assert(!gw_utf8_text((const uint8_t *)"\xff", 1)); /* bad lead */
	ck_assert(!gw_utf8_text((const uint8_t *)"\xc2", 1)); /* truncated */
	ck_assert(!gw_utf8_text((const uint8_t *)"\xe2\x82", 2));
	ck_assert(!gw_utf8_text((const uint8_t *)"\xc0\xaf", 2)); /* overlong */
	ck_assert(
	    !gw_utf8_text((const uint8_t *)"\xed\xa0\x80", 3)); /* surrogate */
	ck_assert(!gw_utf8_text((const uint8_t *)"\xf4\x90\x80\x80",
				4)); /* > U+10FFFF */
	ck_assert(!gw_utf8_text((const uint8_t *)"\xc2\x41",
				2)); /* bad continuation */
}
END_TEST

START_TEST(base64_rfc4648_vectors)
{
	/* RFC 4648 §10 test vectors. */
	static const char *const in[] = {"",     "f",     "fo",    "foo",
					 "foob", "fooba", "foobar"};
	static const char *const out[] = {
	    "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	char buf[16];

	for (unsigned i = 0; i < 7; i++) {
		int n = gw_base64((const uint8_t *)in[i], strlen(in[i]), buf,
				  sizeof(buf));
		ck_assert_int_eq(n, (int)strlen(out[i]));
		ck_assert_str_eq(buf, out[i]);
	}
	ck_assert_int_eq(gw_base64((const uint8_t *)"foobar", 6, buf, 8),
			 -ENOSPC);
}
END_TEST

START_TEST(result_json_forms)
{
	char buf[256];

	ck_assert_int_gt(gw_payload_result_json("2.05", (const uint8_t *)"on",
						2, buf, sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, "{\"code\":\"2.05\",\"payload\":\"on\"}");
	/* Quotes and control characters are escaped, not pasted. */
	ck_assert_int_gt(gw_payload_result_json("2.04",
						(const uint8_t *)"a\"b\n", 4,
						buf, sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, "{\"code\":\"2.04\",\"payload\":\"a\\\"b\\n\"}");
	ck_assert_int_gt(gw_payload_result_json("2.05",
						(const uint8_t *)"\x00\xff", 2,
						buf, sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, "{\"code\":\"2.05\",\"payload_b64\":\"AP8=\"}");
	ck_assert_int_gt(
	    gw_payload_result_json("timeout", NULL, 0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "{\"code\":\"timeout\"}");
	ck_assert_int_eq(gw_payload_result_json("2.05",
						(const uint8_t *)"0123456789",
						10, buf, 12),
			 -ENOSPC);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("payload");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, utf8_accepts_text);
	tcase_add_test(tc, utf8_rejects_binary);
	tcase_add_test(tc, base64_rfc4648_vectors);
	tcase_add_test(tc, result_json_forms);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
