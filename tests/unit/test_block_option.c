/*
 * Unit tests of the Block1/Block2 and Size1/Size2 option values
 * (src/coap/block_opt.c): RFC 7959 §2.2 and §4, golden bytes at every
 * length boundary of the 0-3 byte value, both directions.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <ucoap/block.h>

#include "runner.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct vec {
	uint8_t bytes[3];
	size_t len;
	uint32_t num;
	bool more;
	uint8_t szx;
};

/* Worked by hand from §2.2: value = NUM << 4 | M << 3 | SZX. */
static const struct vec vecs[] = {
    {{0}, 0, 0, false, 0},             /* 0/0/16: the empty value */
    {{0x0E}, 1, 0, true, 6},           /* 0/1/1024 */
    {{0x16}, 1, 1, false, 6},          /* 1/0/1024 */
    {{0xF9}, 1, 15, true, 1},          /* the largest 1-byte NUM */
    {{0x01, 0x00}, 2, 16, false, 0},   /* the smallest 2-byte NUM */
    {{0xFF, 0xFE}, 2, 0xFFF, true, 6}, /* the largest 2-byte NUM */
    {{0x01, 0x00, 0x00}, 3, 0x1000, false, 0},
    {{0xFF, 0xFF, 0xFE}, 3, UCOAP_BLOCK_NUM_MAX, true, 6},
};

START_TEST(decode_vectors)
{
	const struct vec *v = &vecs[_i];
	struct ucoap_block b;

	ck_assert_int_eq(ucoap_block_decode(v->bytes, v->len, &b), 0);
	ck_assert_uint_eq(b.num, v->num);
	ck_assert(b.more == v->more);
	ck_assert_uint_eq(b.szx, v->szx);
}
END_TEST

START_TEST(encode_vectors)
{
	const struct vec *v = &vecs[_i];
	struct ucoap_block b = {v->num, v->more, v->szx};
	uint8_t out[4];
	uint32_t val;

	ck_assert_int_eq(ucoap_block_encode(&b, &val), 0);
	ck_assert_uint_eq(ucoap_uint_encode(val, out), v->len);
	ck_assert_mem_eq(out, v->bytes, v->len);
}
END_TEST

START_TEST(decode_rejects)
{
	static const uint8_t szx7[] = {0x07}, szx7_long[] = {0x01, 0x0F},
			     four[] = {0x00, 0x00, 0x00, 0x10};
	struct ucoap_block b;

	/* §2.2: SZX 7 is reserved; more than 3 bytes is not a block value. */
	ck_assert_int_eq(ucoap_block_decode(szx7, 1, &b), UCOAP_ERR_INVAL);
	ck_assert_int_eq(ucoap_block_decode(szx7_long, 2, &b), UCOAP_ERR_INVAL);
	ck_assert_int_eq(ucoap_block_decode(four, 4, &b), UCOAP_ERR_INVAL);
}
END_TEST

START_TEST(encode_rejects)
{
	struct ucoap_block big = {UCOAP_BLOCK_NUM_MAX + 1, false, 0};
	struct ucoap_block szx7 = {0, false, 7};
	uint32_t v = 12345;

	ck_assert_int_eq(ucoap_block_encode(&big, &v), UCOAP_ERR_INVAL);
	ck_assert_int_eq(ucoap_block_encode(&szx7, &v), UCOAP_ERR_INVAL);
	ck_assert_uint_eq(v, 12345);
}
END_TEST

START_TEST(round_trip)
{
	static const uint32_t nums[] = {0,    1,    15,    16,
					4095, 4096, 65535, UCOAP_BLOCK_NUM_MAX};

	for (size_t i = 0; i < ARRAY_LEN(nums); i++)
		for (uint8_t szx = 0; szx <= UCOAP_BLOCK_SZX_MAX; szx++)
			for (int m = 0; m < 2; m++) {
				struct ucoap_block in = {nums[i], m, szx}, out;
				uint8_t bytes[4];
				uint32_t v;
				size_t len;

				ck_assert_int_eq(ucoap_block_encode(&in, &v),
						 0);
				len = ucoap_uint_encode(v, bytes);
				ck_assert_uint_le(len, 3);
				ck_assert_int_eq(
				    ucoap_block_decode(bytes, len, &out), 0);
				ck_assert_uint_eq(out.num, in.num);
				ck_assert(out.more == in.more);
				ck_assert_uint_eq(out.szx, in.szx);
			}
}
END_TEST

START_TEST(sizes_and_offsets)
{
	struct ucoap_block b = {3, false, 5};

	ck_assert_uint_eq(ucoap_block_size(0), 16);
	ck_assert_uint_eq(ucoap_block_size(6), 1024);
	ck_assert_uint_eq(ucoap_block_offset(&b), 3 * 512);
	ck_assert_int_eq(ucoap_block_szx(16), 0);
	ck_assert_int_eq(ucoap_block_szx(31), 0);
	ck_assert_int_eq(ucoap_block_szx(32), 1);
	ck_assert_int_eq(ucoap_block_szx(1000), 5);
	ck_assert_int_eq(ucoap_block_szx(1024), 6);
	ck_assert_int_eq(ucoap_block_szx(65536), 6);
	ck_assert_int_eq(ucoap_block_szx(15), UCOAP_ERR_INVAL);
}
END_TEST

START_TEST(slice)
{
	struct ucoap_block b = {0, false, 6};
	size_t off = 99, n = 99;
	bool more = false;

	/* 3 KiB in 1 KiB blocks: 0 and 1 have more, 2 is the last. */
	ck_assert_int_eq(ucoap_block_slice(3072, &b, &off, &n, &more), 0);
	ck_assert_uint_eq(off, 0);
	ck_assert_uint_eq(n, 1024);
	ck_assert(more);
	b.num = 2;
	ck_assert_int_eq(ucoap_block_slice(3072, &b, &off, &n, &more), 0);
	ck_assert_uint_eq(off, 2048);
	ck_assert_uint_eq(n, 1024);
	ck_assert(!more);
	b.num = 3;
	ck_assert_int_eq(ucoap_block_slice(3072, &b, &off, &n, &more),
			 UCOAP_ERR_NOENT);
	/* A short last block. */
	b = (struct ucoap_block){3, false, 4};
	ck_assert_int_eq(ucoap_block_slice(1000, &b, &off, &n, &more), 0);
	ck_assert_uint_eq(off, 768);
	ck_assert_uint_eq(n, 232);
	ck_assert(!more);
	/* An empty body is one empty block 0, and nothing after it. */
	b = (struct ucoap_block){0, false, 0};
	ck_assert_int_eq(ucoap_block_slice(0, &b, &off, &n, &more), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert(!more);
	b.num = 1;
	ck_assert_int_eq(ucoap_block_slice(0, &b, &off, &n, &more),
			 UCOAP_ERR_NOENT);
}
END_TEST

START_TEST(message_golden)
{
	/*
	 * CON GET mid 1, no token, Block2 2/0/1024 (value 0x26) and Size2
	 * 3072 (0x0C00): option 23 is delta 13+10, option 28 delta 5.
	 */
	static const uint8_t want[] = {0x40, 0x01, 0x00, 0x01, 0xD1,
				       0x0A, 0x26, 0x52, 0x0C, 0x00};
	struct ucoap_block b = {2, false, 6}, got;
	struct ucoap_msg m, d;
	uint8_t buf[32];
	uint32_t size;
	size_t len;

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	m.mid = 1;
	ck_assert_int_eq(ucoap_msg_add_size(&m, UCOAP_OPT_SIZE2, 3072), 0);
	ck_assert_int_eq(ucoap_msg_add_block(&m, UCOAP_OPT_BLOCK2, &b), 0);
	ck_assert_int_eq(ucoap_msg_encode(&m, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(want));

	ck_assert_int_eq(ucoap_msg_decode(&d, want, sizeof(want)), 0);
	ck_assert_int_eq(ucoap_msg_get_block(&d, UCOAP_OPT_BLOCK2, &got), 0);
	ck_assert_uint_eq(got.num, 2);
	ck_assert(!got.more);
	ck_assert_uint_eq(got.szx, 6);
	ck_assert_int_eq(ucoap_msg_get_block(&d, UCOAP_OPT_BLOCK1, &got),
			 UCOAP_ERR_NOENT);
	ck_assert_int_eq(ucoap_msg_get_size(&d, UCOAP_OPT_SIZE2, &size), 0);
	ck_assert_uint_eq(size, 3072);
	ck_assert_int_eq(ucoap_msg_get_size(&d, UCOAP_OPT_SIZE1, &size),
			 UCOAP_ERR_NOENT);
}
END_TEST

START_TEST(message_rejects_szx7)
{
	/* CON GET mid 1, Block1 (option 27: delta 13+14) value 0x0F. */
	static const uint8_t in[] = {0x40, 0x01, 0x00, 0x01, 0xD1, 0x0E, 0x0F};
	struct ucoap_block b = {UCOAP_BLOCK_NUM_MAX + 1, false, 0};
	struct ucoap_msg m;

	ck_assert_int_eq(ucoap_msg_decode(&m, in, sizeof(in)), 0);
	ck_assert_int_eq(ucoap_msg_get_block(&m, UCOAP_OPT_BLOCK1, &b),
			 UCOAP_ERR_INVAL);
	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_add_block(&m, UCOAP_OPT_BLOCK1, &b),
			 UCOAP_ERR_INVAL);
	ck_assert_uint_eq(m.opt_count, 0);
}
END_TEST

static Suite *block_suite(void)
{
	Suite *s = suite_create("block_option");
	TCase *tc = tcase_create("value");

	tcase_add_loop_test(tc, decode_vectors, 0, ARRAY_LEN(vecs));
	tcase_add_loop_test(tc, encode_vectors, 0, ARRAY_LEN(vecs));
	tcase_add_test(tc, decode_rejects);
	tcase_add_test(tc, encode_rejects);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, sizes_and_offsets);
	tcase_add_test(tc, slice);
	suite_add_tcase(s, tc);

	tc = tcase_create("message");
	tcase_add_test(tc, message_golden);
	tcase_add_test(tc, message_rejects_szx7);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(block_suite());
}
