/* ucoap_addr_*: parsing, printing and comparing IPv4/IPv6 peer addresses. */
#include <check.h>
#include <stdlib.h>

#include <ucoap/endpoint.h>

#include "runner.h"

static const char *str(const char *text, uint16_t def)
{
	static char buf[UCOAP_ADDR_STRLEN];
	struct ucoap_addr a;

	if (ucoap_addr_parse(&a, text, def) < 0)
		return "invalid";
	ck_assert_int_gt(ucoap_addr_str(&a, buf, sizeof(buf)), 0);
	return buf;
}

START_TEST(test_parse_and_print)
{
	ck_assert_str_eq(str("192.0.2.1:5684", 5683), "192.0.2.1:5684");
	ck_assert_str_eq(str("192.0.2.1", 5683), "192.0.2.1:5683");
	ck_assert_str_eq(str("[::1]:1", 5683), "[::1]:1");
	ck_assert_str_eq(str("[2001:db8::1]", 5683), "[2001:db8::1]:5683");
	ck_assert_str_eq(str("2001:db8::1", 7), "[2001:db8::1]:7");
	ck_assert_str_eq(str("[::]:0", 5683), "[::]:0");
	/* IPv4-mapped IPv6 prints as IPv4. */
	ck_assert_str_eq(str("[::ffff:192.0.2.9]:9", 5683), "192.0.2.9:9");
	ck_assert_str_eq(str("192.0.2.1:65536", 5683), "invalid");
	ck_assert_str_eq(str("192.0.2.1:", 5683), "invalid");
	ck_assert_str_eq(str("192.0.2.1:-1", 5683), "invalid");
	ck_assert_str_eq(str("[192.0.2.1]:1", 5683), "invalid");
	ck_assert_str_eq(str("[::1]x", 5683), "invalid");
	ck_assert_str_eq(str("[::1", 5683), "invalid");
	ck_assert_str_eq(str("localhost", 5683), "invalid");
	ck_assert_str_eq(str("", 5683), "invalid");
	ck_assert_str_eq(str("1.2.3.4.5", 5683), "invalid");
}
END_TEST

START_TEST(test_host_str_and_nospace)
{
	struct ucoap_addr a;
	char buf[UCOAP_ADDR_STRLEN];

	ck_assert_int_eq(ucoap_addr_set(&a, "::ffff:10.0.0.1", 80), 0);
	ck_assert_int_eq(ucoap_addr_host_str(&a, buf, sizeof(buf)), 8);
	ck_assert_str_eq(buf, "10.0.0.1");
	ck_assert_uint_eq(ucoap_addr_port(&a), 80);
	ck_assert_int_eq(ucoap_addr_str(&a, buf, 11), UCOAP_ERR_NOSPACE);
	ck_assert_int_eq(ucoap_addr_str(&a, buf, 12), 11);
	/* The longest form fits UCOAP_ADDR_STRLEN. */
	ck_assert_int_eq(ucoap_addr_set(&a,
					"ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
					"ffff",
					65535),
			 0);
	ck_assert_int_gt(ucoap_addr_str(&a, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf,
			 "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	ck_assert_int_eq(ucoap_addr_set(&a, "nope", 1), UCOAP_ERR_INVAL);
}
END_TEST

START_TEST(test_equal_across_mapped_forms)
{
	struct ucoap_addr v4, v6, other_port, other_host, real6;

	ucoap_addr_set(&v4, "192.0.2.1", 5683);
	ucoap_addr_set(&v6, "::ffff:192.0.2.1", 5683);
	ucoap_addr_set(&other_port, "192.0.2.1", 5684);
	ucoap_addr_set(&other_host, "192.0.2.2", 5683);
	ucoap_addr_set(&real6, "2001:db8::1", 5683);
	ck_assert(ucoap_addr_equal(&v4, &v6));
	ck_assert(ucoap_addr_equal(&v6, &v4));
	ck_assert(!ucoap_addr_equal(&v4, &other_port));
	ck_assert(ucoap_addr_same_host(&v6, &other_port));
	ck_assert(!ucoap_addr_equal(&v4, &other_host));
	ck_assert(!ucoap_addr_same_host(&v4, &other_host));
	ck_assert(!ucoap_addr_equal(&v4, &real6));
	ck_assert(ucoap_addr_equal(&real6, &real6));
}
END_TEST

static Suite *addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("addr");

	tcase_add_test(tc, test_parse_and_print);
	tcase_add_test(tc, test_host_str_and_nospace);
	tcase_add_test(tc, test_equal_across_mapped_forms);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(addr_suite());
}
