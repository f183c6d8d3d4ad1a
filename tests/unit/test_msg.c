/* Unit tests of the CoAP message codec (src/coap/msg.c), RFC 7252 §3. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <ucoap/msg.h>

static const uint8_t get_temperature[] = {0x40, 0x01, 0x7d, 0x34, 0xbb, 't',
					  'e',  'm',  'p',  'e',  'r',  'a',
					  't',  'u',  'r',  'e'};

START_TEST(decode_get_temperature)
{
	struct ucoap_msg m;
	char path[32];

	ck_assert_int_eq(
	    ucoap_msg_decode(&m, get_temperature, sizeof(get_temperature)), 0);
	ck_assert_uint_eq(m.type, UCOAP_TYPE_CON);
	ck_assert_uint_eq(m.code, UCOAP_GET);
	ck_assert_uint_eq(m.mid, 0x7d34);
	ck_assert_uint_eq(m.token_len, 0);
	ck_assert_uint_eq(m.opt_count, 1);
	ck_assert_uint_eq(m.opts[0].num, UCOAP_OPT_URI_PATH);
	ck_assert_int_eq(ucoap_msg_uri_path(&m, path, sizeof(path)), 11);
	ck_assert_str_eq(path, "temperature");
	ck_assert_uint_eq(m.payload_len, 0);
}
END_TEST

START_TEST(encode_get_temperature)
{
	struct ucoap_msg m;
	uint8_t buf[64];
	size_t len = 0;

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	m.mid = 0x7d34;
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "/temperature"), 0);
	ck_assert_int_eq(ucoap_msg_encode(&m, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, sizeof(get_temperature));
	ck_assert_mem_eq(buf, get_temperature, len);
}
END_TEST

static Suite *msg_suite(void)
{
	Suite *s = suite_create("msg");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, decode_get_temperature);
	tcase_add_test(tc, encode_get_temperature);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(msg_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
