/*
 * Unit tests of the option table and the uint format (src/coap/option.c):
 * RFC 7252 §3.2, §5.4.1, §5.4.3, §5.4.5 and the §5.10 table.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <ucoap/msg.h>

#include "runner.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 7252 §5.10 Table 4, RFC 7641 §2, RFC 7959 §2.1 and §4, by hand. */
static const struct ucoap_opt_info want_table[] = {
    {1, "If-Match", UCOAP_FMT_OPAQUE, 0, 8, true},
    {3, "Uri-Host", UCOAP_FMT_STRING, 1, 255, false},
    {4, "ETag", UCOAP_FMT_OPAQUE, 1, 8, true},
    {5, "If-None-Match", UCOAP_FMT_EMPTY, 0, 0, false},
    {6, "Observe", UCOAP_FMT_UINT, 0, 3, false},
    {7, "Uri-Port", UCOAP_FMT_UINT, 0, 2, false},
    {8, "Location-Path", UCOAP_FMT_STRING, 0, 255, true},
    {11, "Uri-Path", UCOAP_FMT_STRING, 0, 255, true},
    {12, "Content-Format", UCOAP_FMT_UINT, 0, 2, false},
    {14, "Max-Age", UCOAP_FMT_UINT, 0, 4, false},
    {15, "Uri-Query", UCOAP_FMT_STRING, 0, 255, true},
    {17, "Accept", UCOAP_FMT_UINT, 0, 2, false},
    {20, "Location-Query", UCOAP_FMT_STRING, 0, 255, true},
    {23, "Block2", UCOAP_FMT_UINT, 0, 3, false},
    {27, "Block1", UCOAP_FMT_UINT, 0, 3, false},
    {28, "Size2", UCOAP_FMT_UINT, 0, 4, false},
    {35, "Proxy-Uri", UCOAP_FMT_STRING, 1, 1034, false},
    {39, "Proxy-Scheme", UCOAP_FMT_STRING, 1, 255, false},
    {60, "Size1", UCOAP_FMT_UINT, 0, 4, false},
};

START_TEST(table_rows)
{
	const struct ucoap_opt_info *w = &want_table[_i];
	const struct ucoap_opt_info *got = ucoap_opt_info(w->num);

	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got->num, w->num);
	ck_assert_str_eq(got->name, w->name);
	ck_assert_int_eq(got->format, w->format);
	ck_assert_uint_eq(got->min_len, w->min_len);
	ck_assert_uint_eq(got->max_len, w->max_len);
	ck_assert_int_eq(got->repeatable, w->repeatable);
}
END_TEST

/* Nothing else is known: every other number in 0..65535 gives NULL. */
START_TEST(table_has_nothing_else)
{
	size_t found = 0;

	for (uint32_t n = 0; n <= 0xffff; n++) {
		const struct ucoap_opt_info *i = ucoap_opt_info((uint16_t)n);

		if (!i)
			continue;
		ck_assert_uint_eq(i->num, n);
		found++;
	}
	ck_assert_uint_eq(found, ARRAY_LEN(want_table));
}
END_TEST

START_TEST(critical_is_odd)
{
	ck_assert(ucoap_opt_is_critical(UCOAP_OPT_URI_PATH));
	ck_assert(ucoap_opt_is_critical(UCOAP_OPT_IF_MATCH));
	ck_assert(!ucoap_opt_is_critical(UCOAP_OPT_CONTENT_FORMAT));
	ck_assert(!ucoap_opt_is_critical(UCOAP_OPT_OBSERVE));
}
END_TEST

/* ---- uint format (§3.2) ---- */

static const struct {
	uint32_t v;
	uint8_t bytes[4];
	size_t len;
} uint_vecs[] = {
    {0, {0}, 0},
    {1, {0x01}, 1},
    {255, {0xff}, 1},
    {256, {0x01, 0x00}, 2},
    {65535, {0xff, 0xff}, 2},
    {65536, {0x01, 0x00, 0x00}, 3},
    {0xffffff, {0xff, 0xff, 0xff}, 3},
    {0x1000000, {0x01, 0x00, 0x00, 0x00}, 4},
    {0xffffffff, {0xff, 0xff, 0xff, 0xff}, 4},
};

START_TEST(uint_encode_minimal)
{
	uint8_t out[4] = {0xaa, 0xaa, 0xaa, 0xaa};
	size_t len = ucoap_uint_encode(uint_vecs[_i].v, out);

	ck_assert_uint_eq(len, uint_vecs[_i].len);
	ck_assert_mem_eq(out, uint_vecs[_i].bytes, len);
	/* Nothing written past the length. */
	for (size_t i = len; i < 4; i++)
		ck_assert_uint_eq(out[i], 0xaa);
	ck_assert_uint_eq(ucoap_uint_decode(out, len), uint_vecs[_i].v);
}
END_TEST

START_TEST(uint_decode_non_minimal)
{
	static const uint8_t zeros[4] = {0, 0, 0, 0};
	static const uint8_t padded[3] = {0, 0, 0x2a};

	ck_assert_uint_eq(ucoap_uint_decode(zeros, 4), 0);
	ck_assert_uint_eq(ucoap_uint_decode(zeros, 1), 0);
	ck_assert_uint_eq(ucoap_uint_decode(padded, 3), 42);
	ck_assert_uint_eq(ucoap_uint_decode(NULL, 0), 0);
}
END_TEST

/* ---- bad_critical (§5.4.1, §5.4.3, §5.4.5) ---- */

static char big[2048];

START_TEST(bad_critical_none)
{
	struct ucoap_msg m;

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_uint_eq(ucoap_msg_bad_critical(&m), 0);
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "a/b?c&d"), 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 3, "host", 4), 0);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, 7, 5683), 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 1, NULL, 0), 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 1, "etag", 4), 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 35, big, 1034), 0);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, 27, 0xffffff), 0);
	/* Unknown elective options are ignored (§5.4.1). */
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 2, "x", 1), 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 2048, "x", 1), 0);
	/* An elective option out of range is not bad_critical's business. */
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 12, "xxx", 3), 0);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, 12, 0), 0);
	ck_assert_uint_eq(ucoap_msg_bad_critical(&m), 0);
}
END_TEST

START_TEST(bad_critical_unknown)
{
	struct ucoap_msg m;

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "a"), 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 2049, "x", 1), 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 9, NULL, 0), 0);
	/* The first one in message order. */
	ck_assert_uint_eq(ucoap_msg_bad_critical(&m), 9);
	ucoap_msg_del_opt(&m, 9);
	ck_assert_uint_eq(ucoap_msg_bad_critical(&m), 2049);
	ucoap_msg_del_opt(&m, 2049);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 65535, NULL, 0), 0);
	ck_assert_uint_eq(ucoap_msg_bad_critical(&m), 65535);
}
END_TEST

START_TEST(bad_critical_length)
{
	static const struct {
		uint16_t num;
		size_t len;
		bool bad;
	} vecs[] = {
	    {3, 0, true},     {3, 1, false},    {3, 255, false},
	    {3, 256, true},   {1, 8, false},    {1, 9, true},
	    {5, 0, false},    {5, 1, true},     {7, 2, false},
	    {7, 3, true},     {11, 255, false}, {11, 256, true},
	    {15, 256, true},  {23, 3, false},   {23, 4, true},
	    {27, 4, true},    {35, 0, true},    {35, 1034, false},
	    {35, 1035, true}, {39, 0, true},    {39, 255, false},
	    {39, 256, true},
	};

	for (size_t i = 0; i < ARRAY_LEN(vecs); i++) {
		struct ucoap_msg m;

		ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
		ck_assert_int_eq(
		    ucoap_msg_add_opt(&m, vecs[i].num, big, vecs[i].len), 0);
		ck_assert_msg(ucoap_msg_bad_critical(&m) ==
				  (vecs[i].bad ? vecs[i].num : 0),
			      "option %u length %zu", vecs[i].num, vecs[i].len);
	}
}
END_TEST

/* §5.4.5: a second occurrence of a non-repeatable critical option. */
START_TEST(bad_critical_repeated)
{
	struct ucoap_msg m;

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 3, "a", 1), 0);
	ck_assert_uint_eq(ucoap_msg_bad_critical(&m), 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 3, "b", 1), 0);
	ck_assert_uint_eq(ucoap_msg_bad_critical(&m), 3);

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, 27, 1), 0);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, 27, 2), 0);
	ck_assert_uint_eq(ucoap_msg_bad_critical(&m), 27);

	/* Repeatable critical options and repeated elective ones are fine. */
	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "a/b/c?x&y"), 0);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, 12, 0), 0);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, 12, 50), 0);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, 6, 0), 0);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, 6, 1), 0);
	ck_assert_uint_eq(ucoap_msg_bad_critical(&m), 0);
}
END_TEST

/* The same checks on a decoded datagram: Uri-Host of length 0. */
START_TEST(bad_critical_decoded)
{
	static const uint8_t wire[] = {0x40, 0x01, 0x00, 0x01, 0x30, 0x81, 'p'};
	struct ucoap_msg m;

	ck_assert_int_eq(ucoap_msg_decode(&m, wire, sizeof(wire)), 0);
	ck_assert_uint_eq(ucoap_msg_bad_critical(&m), 3);
}
END_TEST

static Suite *option_suite(void)
{
	Suite *s = suite_create("option");
	TCase *tc;

	tc = tcase_create("table");
	tcase_add_loop_test(tc, table_rows, 0, ARRAY_LEN(want_table));
	tcase_add_test(tc, table_has_nothing_else);
	tcase_add_test(tc, critical_is_odd);
	suite_add_tcase(s, tc);

	tc = tcase_create("uint");
	tcase_add_loop_test(tc, uint_encode_minimal, 0, ARRAY_LEN(uint_vecs));
	tcase_add_test(tc, uint_decode_non_minimal);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad_critical");
	tcase_add_test(tc, bad_critical_none);
	tcase_add_test(tc, bad_critical_unknown);
	tcase_add_test(tc, bad_critical_length);
	tcase_add_test(tc, bad_critical_repeated);
	tcase_add_test(tc, bad_critical_decoded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(option_suite());
}
