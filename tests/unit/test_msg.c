/*
 * Unit tests of the CoAP message codec (src/coap/msg.c): golden byte
 * vectors in both directions at every encoding boundary of RFC 7252 §3
 * and §3.1, every decode error, the empty-message rules of §4.1, the
 * option helpers, and one test per microCoAPy codec defect.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <ucoap/msg.h>

#include "runner.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The largest option length §3.1 can express: 65535 + 269. */
#define OPT_LEN_MAX 65804

/* Decode @wire, encode the result, and require the same bytes back. */
static void assert_roundtrip(const uint8_t *wire, size_t len)
{
	struct ucoap_msg m;
	uint8_t *out = malloc(len + 16);
	size_t out_len = 0;

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(ucoap_msg_decode(&m, wire, len), 0);
	ck_assert_int_eq(ucoap_msg_encode(&m, out, len + 16, &out_len), 0);
	ck_assert_uint_eq(out_len, len);
	ck_assert_mem_eq(out, wire, len);
	free(out);
}

static void assert_encodes_to(const struct ucoap_msg *m, const uint8_t *wire,
			      size_t len)
{
	uint8_t *out = malloc(len + 16);
	size_t out_len = 0;

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(ucoap_msg_encode(m, out, len + 16, &out_len), 0);
	ck_assert_uint_eq(out_len, len);
	ck_assert_mem_eq(out, wire, len);
	free(out);
}

/* ---- RFC 7252 style example messages (Appendix A figures) ---- */

static const uint8_t get_temperature[] = {0x40, 0x01, 0x7d, 0x34, 0xbb, 't',
					  'e',  'm',  'p',  'e',  'r',  'a',
					  't',  'u',  'r',  'e'};
static const uint8_t ack_content[] = {0x60, 0x45, 0x7d, 0x34, 0xff, '2',
				      '2',  '.',  '3',  ' ',  'C'};
/* CON GET mid 0x7d35 token 0x20 Uri-Path "temperature" (§A, Figure 2x). */
static const uint8_t get_with_token[] = {0x41, 0x01, 0x7d, 0x35, 0x20, 0xbb,
					 't',  'e',  'm',  'p',  'e',  'r',
					 'a',  't',  'u',  'r',  'e'};
/* ACK 2.05 mid 0x7d35 token 0x20 payload "22.3 C". */
static const uint8_t ack_with_token[] = {0x61, 0x45, 0x7d, 0x35, 0x20, 0xff,
					 '2',  '2',  '.',  '3',  ' ',  'C'};
/* NON 2.05 with an 8-byte token, Content-Format 0 and Max-Age 60. */
static const uint8_t non_token8[] = {0x58, 0x45, 0x12, 0x34, 1,   2,
				     3,    4,    5,    6,    7,   8,
				     0xc0, 0x21, 0x3c, 0xff, 'h', 'i'};

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
	ck_assert_uint_eq(m.opts[0].len, 11);
	/* A view into the datagram, not a copy. */
	ck_assert_ptr_eq(m.opts[0].val, get_temperature + 5);
	ck_assert_int_eq(ucoap_msg_uri_path(&m, path, sizeof(path)), 11);
	ck_assert_str_eq(path, "temperature");
	ck_assert_uint_eq(m.payload_len, 0);
	ck_assert_ptr_null(m.payload);
}
END_TEST

START_TEST(encode_get_temperature)
{
	struct ucoap_msg m;

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	m.mid = 0x7d34;
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "/temperature"), 0);
	assert_encodes_to(&m, get_temperature, sizeof(get_temperature));
}
END_TEST

START_TEST(decode_ack_content)
{
	struct ucoap_msg m;

	ck_assert_int_eq(ucoap_msg_decode(&m, ack_content, sizeof(ack_content)),
			 0);
	ck_assert_uint_eq(m.type, UCOAP_TYPE_ACK);
	ck_assert_uint_eq(m.code, UCOAP_CONTENT);
	ck_assert_uint_eq(m.mid, 0x7d34);
	ck_assert_uint_eq(m.opt_count, 0);
	ck_assert_uint_eq(m.payload_len, 6);
	ck_assert_ptr_eq(m.payload, ack_content + 5);
	ck_assert_mem_eq(m.payload, "22.3 C", 6);
}
END_TEST

START_TEST(encode_ack_content)
{
	struct ucoap_msg m;

	ucoap_msg_init(&m, UCOAP_TYPE_ACK, UCOAP_CONTENT);
	m.mid = 0x7d34;
	m.payload = (const uint8_t *)"22.3 C";
	m.payload_len = 6;
	assert_encodes_to(&m, ack_content, sizeof(ack_content));
}
END_TEST

START_TEST(encode_with_tokens)
{
	struct ucoap_msg m;
	static const uint8_t tok8[] = {1, 2, 3, 4, 5, 6, 7, 8};

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	m.mid = 0x7d35;
	m.token_len = 1;
	m.token[0] = 0x20;
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "temperature"), 0);
	assert_encodes_to(&m, get_with_token, sizeof(get_with_token));

	ucoap_msg_init(&m, UCOAP_TYPE_ACK, UCOAP_CONTENT);
	m.mid = 0x7d35;
	m.token_len = 1;
	m.token[0] = 0x20;
	m.payload = (const uint8_t *)"22.3 C";
	m.payload_len = 6;
	assert_encodes_to(&m, ack_with_token, sizeof(ack_with_token));

	ucoap_msg_init(&m, UCOAP_TYPE_NON, UCOAP_CONTENT);
	m.mid = 0x1234;
	m.token_len = 8;
	memcpy(m.token, tok8, 8);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, UCOAP_OPT_MAX_AGE, 60), 0);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, UCOAP_OPT_CONTENT_FORMAT, 0),
			 0);
	m.payload = (const uint8_t *)"hi";
	m.payload_len = 2;
	assert_encodes_to(&m, non_token8, sizeof(non_token8));
}
END_TEST

START_TEST(decode_with_tokens)
{
	struct ucoap_msg m;
	uint32_t v = 99;

	ck_assert_int_eq(
	    ucoap_msg_decode(&m, get_with_token, sizeof(get_with_token)), 0);
	ck_assert_uint_eq(m.token_len, 1);
	ck_assert_uint_eq(m.token[0], 0x20);
	ck_assert_uint_eq(m.opt_count, 1);

	ck_assert_int_eq(ucoap_msg_decode(&m, non_token8, sizeof(non_token8)),
			 0);
	ck_assert_uint_eq(m.type, UCOAP_TYPE_NON);
	ck_assert_uint_eq(m.token_len, 8);
	ck_assert_mem_eq(m.token, non_token8 + 4, 8);
	ck_assert_uint_eq(m.opt_count, 2);
	ck_assert_int_eq(ucoap_msg_content_format(&m), UCOAP_CF_TEXT);
	ck_assert_int_eq(ucoap_msg_get_uint(&m, UCOAP_OPT_MAX_AGE, &v), 0);
	ck_assert_uint_eq(v, 60);
	ck_assert_uint_eq(m.payload_len, 2);
	ck_assert_mem_eq(m.payload, "hi", 2);
}
END_TEST

START_TEST(roundtrip_examples)
{
	assert_roundtrip(get_temperature, sizeof(get_temperature));
	assert_roundtrip(ack_content, sizeof(ack_content));
	assert_roundtrip(get_with_token, sizeof(get_with_token));
	assert_roundtrip(ack_with_token, sizeof(ack_with_token));
	assert_roundtrip(non_token8, sizeof(non_token8));
}
END_TEST

/* ---- Option delta boundaries (§3.1) ---- */

struct delta_vec {
	uint16_t num;
	uint8_t hdr[3]; /* option header for num with a zero-length value */
	size_t hdr_len;
};

static const struct delta_vec delta_vecs[] = {
    {12, {0xc0}, 1},
    {13, {0xd0, 0x00}, 2},
    {268, {0xd0, 0xff}, 2},
    {269, {0xe0, 0x00, 0x00}, 3},
    {270, {0xe0, 0x00, 0x01}, 3},
    /* The largest option number: 65535 - 269 = 0xfef2. */
    {65535, {0xe0, 0xfe, 0xf2}, 3},
};

START_TEST(option_delta_boundaries)
{
	const struct delta_vec *v = &delta_vecs[_i];
	uint8_t wire[8] = {0x40, 0x01, 0x00, 0x01};
	size_t len = 4 + v->hdr_len;
	struct ucoap_msg m;

	memcpy(wire + 4, v->hdr, v->hdr_len);
	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	m.mid = 1;
	ck_assert_int_eq(ucoap_msg_add_opt(&m, v->num, NULL, 0), 0);
	assert_encodes_to(&m, wire, len);

	ck_assert_int_eq(ucoap_msg_decode(&m, wire, len), 0);
	ck_assert_uint_eq(m.opt_count, 1);
	ck_assert_uint_eq(m.opts[0].num, v->num);
	ck_assert_uint_eq(m.opts[0].len, 0);
	assert_roundtrip(wire, len);
}
END_TEST

/* Deltas add up: 11 then 11 + 269 + 300 (two extended forms in a row). */
START_TEST(option_delta_chain)
{
	static const uint8_t wire[] = {0x40, 0x01, 0x00, 0x01, 0xb0,
				       0xe0, 0x00, 0x1f, 0xd0, 0x00};
	struct ucoap_msg m;

	ck_assert_int_eq(ucoap_msg_decode(&m, wire, sizeof(wire)), 0);
	ck_assert_uint_eq(m.opt_count, 3);
	ck_assert_uint_eq(m.opts[0].num, 11);
	ck_assert_uint_eq(m.opts[1].num, 11 + 269 + 31);
	ck_assert_uint_eq(m.opts[2].num, 11 + 269 + 31 + 13);
	assert_roundtrip(wire, sizeof(wire));
}
END_TEST

/* ---- Option length boundaries (§3.1) ---- */

struct len_vec {
	size_t len;
	uint8_t hdr[3]; /* header of option 8 (Location-Path) of that length */
	size_t hdr_len;
};

static const struct len_vec len_vecs[] = {
    {0, {0x80}, 1},
    {12, {0x8c}, 1},
    {13, {0x8d, 0x00}, 2},
    {268, {0x8d, 0xff}, 2},
    {269, {0x8e, 0x00, 0x00}, 3},
    {270, {0x8e, 0x00, 0x01}, 3},
    {1034, {0x8e, 0x02, 0xfd}, 3},
    {OPT_LEN_MAX - 1, {0x8e, 0xff, 0xfe}, 3},
    {OPT_LEN_MAX, {0x8e, 0xff, 0xff}, 3},
};

START_TEST(option_length_boundaries)
{
	const struct len_vec *v = &len_vecs[_i];
	size_t len = 4 + v->hdr_len + v->len;
	uint8_t *wire = malloc(len);
	uint8_t *val = malloc(v->len + 1);
	struct ucoap_msg m;

	ck_assert_ptr_nonnull(wire);
	ck_assert_ptr_nonnull(val);
	for (size_t i = 0; i < v->len; i++)
		val[i] = (uint8_t)(i * 7);
	memcpy(wire, "\x40\x02\xbe\xef", 4);
	memcpy(wire + 4, v->hdr, v->hdr_len);
	memcpy(wire + 4 + v->hdr_len, val, v->len);

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_POST);
	m.mid = 0xbeef;
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 8, val, v->len), 0);
	assert_encodes_to(&m, wire, len);

	ck_assert_int_eq(ucoap_msg_decode(&m, wire, len), 0);
	ck_assert_uint_eq(m.opt_count, 1);
	ck_assert_uint_eq(m.opts[0].num, 8);
	ck_assert_uint_eq(m.opts[0].len, v->len);
	ck_assert_ptr_eq(m.opts[0].val, wire + 4 + v->hdr_len);
	ck_assert_uint_eq(m.payload_len, 0);
	assert_roundtrip(wire, len);
	free(val);
	free(wire);
}
END_TEST

START_TEST(option_length_too_long_rejected)
{
	struct ucoap_msg m;
	static uint8_t big[OPT_LEN_MAX + 1];

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_POST);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 8, big, OPT_LEN_MAX + 1),
			 UCOAP_ERR_INVAL);
	ck_assert_uint_eq(m.opt_count, 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 8, NULL, 1), UCOAP_ERR_INVAL);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 8, big, OPT_LEN_MAX), 0);
}
END_TEST

/* Both nibbles extended at once: delta 269 (num 269) and length 13. */
START_TEST(option_both_extended)
{
	uint8_t wire[4 + 4 + 13] = {0x40, 0x01, 0x00, 0x07,
				    0xed, 0x00, 0x00, 0x00};
	struct ucoap_msg m;

	memset(wire + 8, 'z', 13);
	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	m.mid = 7;
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 269, wire + 8, 13), 0);
	assert_encodes_to(&m, wire, sizeof(wire));
	ck_assert_int_eq(ucoap_msg_decode(&m, wire, sizeof(wire)), 0);
	ck_assert_uint_eq(m.opts[0].num, 269);
	ck_assert_uint_eq(m.opts[0].len, 13);
}
END_TEST

/* ---- Decode errors ---- */

struct err_vec {
	const char *name;
	uint8_t wire[16];
	size_t len;
	int err;
	bool header_valid; /* type/code/mid/token filled despite the error */
};

static const struct err_vec err_vecs[] = {
    {"empty datagram", {0}, 0, UCOAP_ERR_SHORT, false},
    {"3 bytes", {0x40, 0x01, 0x00}, 3, UCOAP_ERR_SHORT, false},
    {"version 0", {0x00, 0x01, 0x00, 0x01}, 4, UCOAP_ERR_VERSION, false},
    {"version 2", {0x80, 0x01, 0x00, 0x01}, 4, UCOAP_ERR_VERSION, false},
    {"version 3", {0xc0, 0x01, 0x00, 0x01}, 4, UCOAP_ERR_VERSION, false},
    {"TKL 9",
     {0x49, 0x01, 0x12, 0x34, 1, 2, 3, 4, 5, 6, 7, 8, 9},
     13,
     UCOAP_ERR_TOKEN_LEN,
     true},
    {"TKL 15", {0x4f, 0x01, 0x12, 0x34}, 4, UCOAP_ERR_TOKEN_LEN, true},
    {"token past end",
     {0x44, 0x01, 0x12, 0x34, 1, 2},
     6,
     UCOAP_ERR_TOKEN_LEN,
     true},
    {"delta nibble 15",
     {0x41, 0x01, 0x12, 0x34, 0xaa, 0xf0},
     6,
     UCOAP_ERR_OPT_NIBBLE,
     true},
    {"length nibble 15",
     {0x41, 0x01, 0x12, 0x34, 0xaa, 0xbf, 'x'},
     7,
     UCOAP_ERR_OPT_NIBBLE,
     true},
    {"length nibble 15, delta 0",
     {0x41, 0x01, 0x12, 0x34, 0xaa, 0x0f},
     6,
     UCOAP_ERR_OPT_NIBBLE,
     true},
    {"value past end",
     {0x41, 0x01, 0x12, 0x34, 0xaa, 0xb3, 'a', 'b'},
     8,
     UCOAP_ERR_OPT_TRUNCATED,
     true},
    {"1-byte delta missing",
     {0x41, 0x01, 0x12, 0x34, 0xaa, 0xd0},
     6,
     UCOAP_ERR_OPT_TRUNCATED,
     true},
    {"2-byte delta half",
     {0x41, 0x01, 0x12, 0x34, 0xaa, 0xe0, 0x00},
     7,
     UCOAP_ERR_OPT_TRUNCATED,
     true},
    {"1-byte length missing",
     {0x41, 0x01, 0x12, 0x34, 0xaa, 0x8d},
     6,
     UCOAP_ERR_OPT_TRUNCATED,
     true},
    {"2-byte length half",
     {0x41, 0x01, 0x12, 0x34, 0xaa, 0x8e, 0x00},
     7,
     UCOAP_ERR_OPT_TRUNCATED,
     true},
    {"2-byte length past end",
     {0x41, 0x01, 0x12, 0x34, 0xaa, 0x8e, 0x00, 0x00, 'x'},
     9,
     UCOAP_ERR_OPT_TRUNCATED,
     true},
    {"marker, no payload",
     {0x41, 0x01, 0x12, 0x34, 0xaa, 0xb1, 'a', 0xff},
     8,
     UCOAP_ERR_PAYLOAD_MARKER,
     true},
    {"marker only",
     {0x40, 0x45, 0x12, 0x34, 0xff},
     5,
     UCOAP_ERR_PAYLOAD_MARKER,
     true},
    {"delta 65804 from 0",
     {0x41, 0x01, 0x12, 0x34, 0xaa, 0xe0, 0xff, 0xff},
     8,
     UCOAP_ERR_OPT_NUMBER,
     true},
    {"number 65535 + 1",
     {0x41, 0x01, 0x12, 0x34, 0xaa, 0xe0, 0xfe, 0xf2, 0x10},
     9,
     UCOAP_ERR_OPT_NUMBER,
     true},
    {"empty with token",
     {0x41, 0x00, 0x12, 0x34, 0xaa},
     5,
     UCOAP_ERR_EMPTY_NOT_EMPTY,
     true},
    {"empty with option",
     {0x40, 0x00, 0x12, 0x34, 0xb1, 'a'},
     6,
     UCOAP_ERR_EMPTY_NOT_EMPTY,
     true},
    {"empty with payload",
     {0x70, 0x00, 0x12, 0x34, 0xff, 'a'},
     6,
     UCOAP_ERR_EMPTY_NOT_EMPTY,
     true},
    {"empty with a stray byte",
     {0x40, 0x00, 0x12, 0x34, 0x00},
     5,
     UCOAP_ERR_EMPTY_NOT_EMPTY,
     true},
    {"class 1", {0x41, 0x20, 0x12, 0x34, 0xaa}, 5, UCOAP_ERR_CODE_CLASS, true},
    {"class 6", {0x41, 0xc1, 0x12, 0x34, 0xaa}, 5, UCOAP_ERR_CODE_CLASS, true},
    {"class 7", {0x41, 0xff, 0x12, 0x34, 0xaa}, 5, UCOAP_ERR_CODE_CLASS, true},
};

START_TEST(decode_errors)
{
	const struct err_vec *v = &err_vecs[_i];
	struct ucoap_msg m;
	int err = ucoap_msg_decode(&m, v->wire, v->len);

	ck_assert_msg(err == v->err, "%s: got %d (%s), want %d", v->name, err,
		      ucoap_strerror(err), v->err);
	if (!v->header_valid)
		return;
	/* Enough is filled in to answer a CON with RST (§4.2). */
	ck_assert_uint_eq(m.type, (v->wire[0] >> 4) & 3);
	ck_assert_uint_eq(m.code, v->wire[1]);
	ck_assert_uint_eq(m.mid, 0x1234);
	if ((v->wire[0] & 0x0f) <= 8 && v->err != UCOAP_ERR_TOKEN_LEN) {
		ck_assert_uint_eq(m.token_len, v->wire[0] & 0x0f);
		ck_assert_mem_eq(m.token, v->wire + 4, m.token_len);
	}
}
END_TEST

/* ---- Empty messages (§4.1) ---- */

START_TEST(empty_messages)
{
	static const uint8_t ping[] = {0x40, 0x00, 0xab, 0xcd};
	static const uint8_t rst[] = {0x70, 0x00, 0xab, 0xcd};
	static const uint8_t ack[] = {0x60, 0x00, 0xab, 0xcd};
	struct ucoap_msg m;

	ck_assert_int_eq(ucoap_msg_decode(&m, ping, sizeof(ping)), 0);
	ck_assert_uint_eq(m.type, UCOAP_TYPE_CON);
	ck_assert_uint_eq(m.code, UCOAP_EMPTY);
	ck_assert_uint_eq(m.mid, 0xabcd);
	ck_assert_uint_eq(m.token_len, 0);
	ck_assert_uint_eq(m.opt_count, 0);
	ck_assert_uint_eq(m.payload_len, 0);
	assert_roundtrip(ping, sizeof(ping));
	assert_roundtrip(rst, sizeof(rst));
	assert_roundtrip(ack, sizeof(ack));

	ucoap_msg_init(&m, UCOAP_TYPE_RST, UCOAP_EMPTY);
	m.mid = 0xabcd;
	assert_encodes_to(&m, rst, sizeof(rst));
}
END_TEST

/* Every code class but 1, 6 and 7 decodes (§12.1). */
START_TEST(code_classes)
{
	uint8_t wire[] = {0x40, 0x00, 0x00, 0x01, 0xff, 'p'};
	struct ucoap_msg m;

	for (unsigned code = 1; code < 256; code++) {
		unsigned cls = code >> 5;
		int want = (cls == 1 || cls == 6 || cls == 7)
			       ? UCOAP_ERR_CODE_CLASS
			       : 0;

		wire[1] = (uint8_t)code;
		ck_assert_int_eq(ucoap_msg_decode(&m, wire, sizeof(wire)),
				 want);
	}
}
END_TEST

/* ---- Option count ---- */

/* A message of @n Uri-Path options "s" and payload "PAYLOAD". */
static size_t build_many(uint8_t *wire, unsigned n)
{
	size_t len = 0;

	memcpy(wire, "\x42\x02\x00\x2a\x01\x02", 6);
	len = 6;
	for (unsigned i = 0; i < n; i++) {
		wire[len++] = i == 0 ? 0xb1 : 0x01;
		wire[len++] = (uint8_t)('a' + i % 26);
	}
	wire[len++] = 0xff;
	memcpy(wire + len, "PAYLOAD", 7);
	return len + 7;
}

START_TEST(max_options_accepted)
{
	uint8_t wire[256];
	size_t len = build_many(wire, UCOAP_MAX_OPTIONS);
	struct ucoap_msg m;

	ck_assert_int_eq(ucoap_msg_decode(&m, wire, len), 0);
	ck_assert_uint_eq(m.opt_count, UCOAP_MAX_OPTIONS);
	ck_assert_uint_eq(m.payload_len, 7);
	ck_assert_mem_eq(m.payload, "PAYLOAD", 7);
	assert_roundtrip(wire, len);
}
END_TEST

START_TEST(too_many_options_rejected)
{
	uint8_t wire[256];
	size_t len = build_many(wire, UCOAP_MAX_OPTIONS + 1);
	struct ucoap_msg m;

	ck_assert_int_eq(ucoap_msg_decode(&m, wire, len),
			 UCOAP_ERR_TOO_MANY_OPTS);
	ck_assert_uint_eq(m.mid, 0x2a);
	ck_assert_uint_eq(m.token_len, 2);

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	for (unsigned i = 0; i < UCOAP_MAX_OPTIONS; i++)
		ck_assert_int_eq(ucoap_msg_add_opt(&m, 11, "s", 1), 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 11, "s", 1),
			 UCOAP_ERR_TOO_MANY_OPTS);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, 12, 1),
			 UCOAP_ERR_TOO_MANY_OPTS);
	ck_assert_uint_eq(m.opt_count, UCOAP_MAX_OPTIONS);
}
END_TEST

/* ---- Encode ---- */

START_TEST(encode_rejects_bad_messages)
{
	struct ucoap_msg m;
	uint8_t buf[64];
	size_t len = 0;

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	m.opt_count = 2;
	m.opts[0] = (struct ucoap_opt){
	    .val = (const uint8_t *)"b", .num = 15, .len = 1};
	m.opts[1] = (struct ucoap_opt){
	    .val = (const uint8_t *)"a", .num = 11, .len = 1};
	ck_assert_int_eq(ucoap_msg_encode(&m, buf, sizeof(buf), &len),
			 UCOAP_ERR_INVAL);

	ucoap_msg_init(&m, 4, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_encode(&m, buf, sizeof(buf), &len),
			 UCOAP_ERR_INVAL);

	ucoap_msg_init(&m, UCOAP_TYPE_NON, UCOAP_GET);
	m.payload_len = 3;
	ck_assert_int_eq(ucoap_msg_encode(&m, buf, sizeof(buf), &len),
			 UCOAP_ERR_INVAL);

	/* An inline value cannot be longer than the inline storage. */
	ucoap_msg_init(&m, UCOAP_TYPE_NON, UCOAP_GET);
	m.opt_count = 1;
	m.opts[0] = (struct ucoap_opt){.num = 14, .len = UCOAP_OPT_INLINE + 1};
	ck_assert_int_eq(ucoap_msg_encode(&m, buf, sizeof(buf), &len),
			 UCOAP_ERR_INVAL);
}
END_TEST

/* Every capacity short of the message fails cleanly; the exact one works. */
START_TEST(encode_nospace_at_every_capacity)
{
	struct ucoap_msg m;
	uint8_t buf[64];
	uint8_t exact[sizeof(non_token8)];
	size_t len = 12345;

	ck_assert_int_eq(ucoap_msg_decode(&m, non_token8, sizeof(non_token8)),
			 0);
	for (size_t cap = 0; cap < sizeof(non_token8); cap++) {
		ck_assert_int_eq(ucoap_msg_encode(&m, buf, cap, &len),
				 UCOAP_ERR_NOSPACE);
		ck_assert_uint_eq(len, 12345);
	}
	ck_assert_int_eq(ucoap_msg_encode(&m, exact, sizeof(exact), &len), 0);
	ck_assert_uint_eq(len, sizeof(non_token8));
	ck_assert_mem_eq(exact, non_token8, len);
}
END_TEST

START_TEST(encode_no_marker_without_payload)
{
	static const uint8_t wire[] = {0x50, 0x44, 0x00, 0x09};
	struct ucoap_msg m;

	ucoap_msg_init(&m, UCOAP_TYPE_NON, UCOAP_CHANGED);
	m.mid = 9;
	/* A non-NULL pointer with length 0 is still no payload. */
	m.payload = (const uint8_t *)"x";
	m.payload_len = 0;
	assert_encodes_to(&m, wire, sizeof(wire));
}
END_TEST

/* ---- Option helpers ---- */

START_TEST(add_opt_keeps_sorted_and_stable)
{
	struct ucoap_msg m;
	static const struct {
		uint16_t num;
		const char *val;
	} want[] = {{3, "host"}, {11, "a"},  {11, "b"}, {11, "c"},
		    {15, "q1"},  {15, "q2"}, {60, ""}};
	const struct ucoap_opt *o;

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_POST);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 15, "q1", 2), 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 11, "a", 1), 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 60, NULL, 0), 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 11, "b", 1), 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 3, "host", 4), 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 15, "q2", 2), 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 11, "c", 1), 0);
	ck_assert_uint_eq(m.opt_count, ARRAY_LEN(want));
	for (size_t i = 0; i < ARRAY_LEN(want); i++) {
		ck_assert_uint_eq(m.opts[i].num, want[i].num);
		ck_assert_uint_eq(m.opts[i].len, strlen(want[i].val));
		ck_assert_mem_eq(ucoap_opt_value(&m.opts[i]), want[i].val,
				 m.opts[i].len);
	}

	o = ucoap_msg_find(&m, 11);
	ck_assert_ptr_eq(o, &m.opts[1]);
	o = ucoap_msg_find_next(&m, o);
	ck_assert_ptr_eq(o, &m.opts[2]);
	o = ucoap_msg_find_next(&m, o);
	ck_assert_ptr_eq(o, &m.opts[3]);
	ck_assert_ptr_null(ucoap_msg_find_next(&m, o));
	ck_assert_ptr_null(ucoap_msg_find(&m, 12));
	ck_assert_ptr_null(ucoap_msg_find(&m, 65535));
	ck_assert_ptr_null(ucoap_msg_find_next(&m, &m.opts[6]));
}
END_TEST

START_TEST(del_opt_removes_every_occurrence)
{
	struct ucoap_msg m;

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_POST);
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "a/b/c?x"), 0);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, 12, 50), 0);
	ucoap_msg_del_opt(&m, UCOAP_OPT_URI_PATH);
	ck_assert_uint_eq(m.opt_count, 2);
	ck_assert_uint_eq(m.opts[0].num, 12);
	ck_assert_uint_eq(m.opts[1].num, 15);
	ucoap_msg_del_opt(&m, 99);
	ck_assert_uint_eq(m.opt_count, 2);
}
END_TEST

START_TEST(add_uint_minimal_inline)
{
	static const struct {
		uint32_t v;
		uint8_t bytes[4];
		size_t len;
	} vecs[] = {
	    {0, {0}, 0},
	    {255, {0xff}, 1},
	    {256, {0x01, 0x00}, 2},
	    {65535, {0xff, 0xff}, 2},
	    {65536, {0x01, 0x00, 0x00}, 3},
	    {0xffffffff, {0xff, 0xff, 0xff, 0xff}, 4},
	};

	for (size_t i = 0; i < ARRAY_LEN(vecs); i++) {
		struct ucoap_msg m, d;
		uint8_t wire[16] = {0x50, 0x01, 0x00, 0x02};
		uint8_t out[16];
		size_t len = 0;
		uint32_t got = 1;

		ucoap_msg_init(&m, UCOAP_TYPE_NON, UCOAP_GET);
		m.mid = 2;
		ck_assert_int_eq(ucoap_msg_add_uint(&m, 14, vecs[i].v), 0);
		ck_assert_ptr_null(m.opts[0].val);
		ck_assert_uint_eq(m.opts[0].len, vecs[i].len);
		ck_assert_mem_eq(m.opts[0].inl, vecs[i].bytes, vecs[i].len);
		ck_assert_int_eq(ucoap_msg_get_uint(&m, 14, &got), 0);
		ck_assert_uint_eq(got, vecs[i].v);

		/* Max-Age: delta 14 takes the 1-byte extended form. */
		wire[4] = (uint8_t)(0xd0 | vecs[i].len);
		wire[5] = 14 - 13;
		memcpy(wire + 6, vecs[i].bytes, vecs[i].len);
		ck_assert_int_eq(ucoap_msg_encode(&m, out, sizeof(out), &len),
				 0);
		ck_assert_uint_eq(len, 6 + vecs[i].len);
		ck_assert_mem_eq(out, wire, len);
		ck_assert_int_eq(ucoap_msg_decode(&d, out, len), 0);
		ck_assert_int_eq(ucoap_msg_get_uint(&d, 14, &got), 0);
		ck_assert_uint_eq(got, vecs[i].v);
	}
}
END_TEST

START_TEST(get_uint_errors)
{
	struct ucoap_msg m;
	uint32_t v = 7;

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_get_uint(&m, 60, &v), UCOAP_ERR_NOENT);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 60, "\x01\x02\x03\x04\x05", 5),
			 0);
	ck_assert_int_eq(ucoap_msg_get_uint(&m, 60, &v), UCOAP_ERR_INVAL);
	ck_assert_uint_eq(v, 7);
	/* A non-minimal value still reads right. */
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 28, "\x00\x01", 2), 0);
	ck_assert_int_eq(ucoap_msg_get_uint(&m, 28, &v), 0);
	ck_assert_uint_eq(v, 1);
	/* Observe is 0-3 bytes (RFC 7641 §2): a 4-byte one is not Observe. */
	ck_assert_int_eq(
	    ucoap_msg_add_opt(&m, UCOAP_OPT_OBSERVE, "\0\0\0\0", 4), 0);
	ck_assert_int_eq(ucoap_msg_get_uint(&m, UCOAP_OPT_OBSERVE, &v),
			 UCOAP_ERR_INVAL);
	ck_assert_uint_eq(v, 1);
}
END_TEST

START_TEST(content_format_reading)
{
	struct ucoap_msg m;

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_POST);
	ck_assert_int_eq(ucoap_msg_content_format(&m), UCOAP_CF_NONE);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, 12, 0), 0);
	ck_assert_int_eq(ucoap_msg_content_format(&m), UCOAP_CF_TEXT);
	ucoap_msg_del_opt(&m, 12);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, 12, 60), 0);
	ck_assert_int_eq(ucoap_msg_content_format(&m), UCOAP_CF_CBOR);
	ucoap_msg_del_opt(&m, 12);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, 12, 65535), 0);
	ck_assert_int_eq(ucoap_msg_content_format(&m), 65535);
	ucoap_msg_del_opt(&m, 12);
	/* §5.10.3 allows 0-2 bytes: a 3-byte value is malformed. */
	ck_assert_int_eq(ucoap_msg_add_uint(&m, 12, 65536), 0);
	ck_assert_int_eq(ucoap_msg_content_format(&m), UCOAP_CF_NONE);
}
END_TEST

/* ---- URI splitting and joining (§6.4 steps 8-9, §6.5) ---- */

/* Require @m's options to be exactly @nums and @vals, in order. */
static void assert_opts(const struct ucoap_msg *m, const uint16_t *nums,
			const char *const *vals, size_t n)
{
	ck_assert_uint_eq(m->opt_count, n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(m->opts[i].num, nums[i]);
		ck_assert_uint_eq(m->opts[i].len, strlen(vals[i]));
		ck_assert_mem_eq(ucoap_opt_value(&m->opts[i]), vals[i],
				 m->opts[i].len);
	}
}

START_TEST(set_uri_splits)
{
	struct ucoap_msg m;
	char buf[64];

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "/a/b/c?x=1&y=2"), 0);
	{
		static const uint16_t n[] = {11, 11, 11, 15, 15};
		static const char *const v[] = {"a", "b", "c", "x=1", "y=2"};
		assert_opts(&m, n, v, 5);
	}
	ck_assert_int_eq(ucoap_msg_uri_path(&m, buf, sizeof(buf)), 5);
	ck_assert_str_eq(buf, "a/b/c");
	ck_assert_int_eq(ucoap_msg_uri_query(&m, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "x=1&y=2");

	/* §6.4 step 8: a trailing slash leaves an empty last segment. */
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "a/b/"), 0);
	{
		static const uint16_t n[] = {11, 11, 11};
		static const char *const v[] = {"a", "b", ""};
		assert_opts(&m, n, v, 3);
	}
	ck_assert_int_eq(ucoap_msg_uri_path(&m, buf, sizeof(buf)), 4);
	ck_assert_str_eq(buf, "a/b/");

	ck_assert_int_eq(ucoap_msg_set_uri(&m, "a//b"), 0);
	{
		static const uint16_t n[] = {11, 11, 11};
		static const char *const v[] = {"a", "", "b"};
		assert_opts(&m, n, v, 3);
	}

	/* The root: no Uri-Path at all, and an empty join. */
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "/"), 0);
	ck_assert_uint_eq(m.opt_count, 0);
	ck_assert_int_eq(ucoap_msg_uri_path(&m, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(ucoap_msg_set_uri(&m, ""), 0);
	ck_assert_uint_eq(m.opt_count, 0);

	/* An empty query gives no Uri-Query (§6.4 step 9). */
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "a?"), 0);
	{
		static const uint16_t n[] = {11};
		static const char *const v[] = {"a"};
		assert_opts(&m, n, v, 1);
	}
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "?k=v&&z"), 0);
	{
		static const uint16_t n[] = {15, 15, 15};
		static const char *const v[] = {"k=v", "", "z"};
		assert_opts(&m, n, v, 3);
	}
	ck_assert_int_eq(ucoap_msg_set_uri(&m, NULL), UCOAP_ERR_INVAL);
}
END_TEST

START_TEST(set_uri_replaces_and_keeps_others)
{
	struct ucoap_msg m;

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_PUT);
	ck_assert_int_eq(ucoap_msg_add_uint(&m, 12, 50), 0);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 3, "gw", 2), 0);
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "old/path?old"), 0);
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "new?q"), 0);
	ck_assert_uint_eq(m.opt_count, 4);
	ck_assert_uint_eq(m.opts[0].num, 3);
	ck_assert_uint_eq(m.opts[1].num, 11);
	ck_assert_mem_eq(m.opts[1].val, "new", 3);
	ck_assert_uint_eq(m.opts[2].num, 12);
	ck_assert_uint_eq(m.opts[3].num, 15);
	ck_assert_mem_eq(m.opts[3].val, "q", 1);
}
END_TEST

START_TEST(set_uri_too_deep_leaves_msg_alone)
{
	struct ucoap_msg m;
	char url[2 * (UCOAP_MAX_OPTIONS + 1) + 1];

	for (unsigned i = 0; i < UCOAP_MAX_OPTIONS + 1; i++) {
		url[2 * i] = 's';
		url[2 * i + 1] = '/';
	}
	url[2 * (UCOAP_MAX_OPTIONS + 1) - 1] = '\0';
	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "keep/me"), 0);
	ck_assert_int_eq(ucoap_msg_set_uri(&m, url), UCOAP_ERR_TOO_MANY_OPTS);
	ck_assert_uint_eq(m.opt_count, 2);
	ck_assert_mem_eq(m.opts[0].val, "keep", 4);
	/* Exactly the maximum fits. */
	ck_assert_int_eq(ucoap_msg_set_uri(&m, url + 2), 0);
	ck_assert_uint_eq(m.opt_count, UCOAP_MAX_OPTIONS);
}
END_TEST

START_TEST(add_query_appends)
{
	struct ucoap_msg m;
	char buf[32];

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_POST);
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "ps/t?qos=1"), 0);
	ck_assert_int_eq(ucoap_msg_add_query(&m, "retain=true&x"), 0);
	ck_assert_int_eq(ucoap_msg_add_query(&m, ""), 0);
	ck_assert_int_eq(ucoap_msg_uri_query(&m, buf, sizeof(buf)), 19);
	ck_assert_str_eq(buf, "qos=1&retain=true&x");
	ck_assert_int_eq(ucoap_msg_add_query(&m, NULL), UCOAP_ERR_INVAL);
}
END_TEST

START_TEST(uri_join_nospace)
{
	struct ucoap_msg m;
	char buf[8];

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "ab/cd?e&f"), 0);
	/* "ab/cd" needs 6 bytes with the NUL. */
	ck_assert_int_eq(ucoap_msg_uri_path(&m, buf, 6), 5);
	ck_assert_str_eq(buf, "ab/cd");
	for (size_t cap = 0; cap < 6; cap++)
		ck_assert_int_eq(ucoap_msg_uri_path(&m, buf, cap),
				 UCOAP_ERR_NOSPACE);
	ck_assert_int_eq(ucoap_msg_uri_query(&m, buf, 4), 3);
	ck_assert_str_eq(buf, "e&f");
	ck_assert_int_eq(ucoap_msg_uri_query(&m, buf, 3), UCOAP_ERR_NOSPACE);
}
END_TEST

/* ---- Names ---- */

START_TEST(code_and_type_names)
{
	char buf[8];

	ck_assert_str_eq(ucoap_code_str(UCOAP_GET, buf), "GET");
	ck_assert_str_eq(ucoap_code_str(UCOAP_POST, buf), "POST");
	ck_assert_str_eq(ucoap_code_str(UCOAP_PUT, buf), "PUT");
	ck_assert_str_eq(ucoap_code_str(UCOAP_DELETE, buf), "DELETE");
	ck_assert_str_eq(ucoap_code_str(UCOAP_IPATCH, buf), "iPATCH");
	ck_assert_str_eq(ucoap_code_str(UCOAP_EMPTY, buf), "0.00");
	ck_assert_str_eq(ucoap_code_str(UCOAP_CODE(0, 8), buf), "0.08");
	ck_assert_str_eq(ucoap_code_str(UCOAP_CONTENT, buf), "2.05");
	ck_assert_str_eq(ucoap_code_str(UCOAP_CONTINUE, buf), "2.31");
	ck_assert_str_eq(ucoap_code_str(UCOAP_NOT_FOUND, buf), "4.04");
	ck_assert_str_eq(ucoap_code_str(UCOAP_SERVICE_UNAVAILABLE, buf),
			 "5.03");
	ck_assert_str_eq(ucoap_code_str(0xff, buf), "7.31");
	ck_assert_ptr_eq(ucoap_code_str(UCOAP_GET, buf), buf);
	ck_assert_str_eq(ucoap_type_str(UCOAP_TYPE_CON), "CON");
	ck_assert_str_eq(ucoap_type_str(UCOAP_TYPE_NON), "NON");
	ck_assert_str_eq(ucoap_type_str(UCOAP_TYPE_ACK), "ACK");
	ck_assert_str_eq(ucoap_type_str(UCOAP_TYPE_RST), "RST");
	ck_assert_str_eq(ucoap_type_str(4), "???");
}
END_TEST

START_TEST(strerror_covers_every_code)
{
	static const int codes[] = {
	    UCOAP_OK,
	    UCOAP_ERR_SHORT,
	    UCOAP_ERR_VERSION,
	    UCOAP_ERR_TOKEN_LEN,
	    UCOAP_ERR_OPT_NIBBLE,
	    UCOAP_ERR_OPT_TRUNCATED,
	    UCOAP_ERR_PAYLOAD_MARKER,
	    UCOAP_ERR_TOO_MANY_OPTS,
	    UCOAP_ERR_OPT_NUMBER,
	    UCOAP_ERR_EMPTY_NOT_EMPTY,
	    UCOAP_ERR_CODE_CLASS,
	    UCOAP_ERR_NOSPACE,
	    UCOAP_ERR_INVAL,
	    UCOAP_ERR_NOMEM,
	    UCOAP_ERR_IO,
	    UCOAP_ERR_AGAIN,
	    UCOAP_ERR_NOENT,
	    UCOAP_ERR_FULL,
	    UCOAP_ERR_BAD_OPTION,
	    UCOAP_ERR_STATE,
	    UCOAP_ERR_TIMEOUT,
	    UCOAP_ERR_RST,
	    UCOAP_ERR_CANCELLED,
	};
	const char *unknown = ucoap_strerror(-999);

	ck_assert_ptr_nonnull(unknown);
	ck_assert_ptr_nonnull(ucoap_strerror(12345));
	for (size_t i = 0; i < ARRAY_LEN(codes); i++) {
		const char *s = ucoap_strerror(codes[i]);

		ck_assert_ptr_nonnull(s);
		ck_assert_str_ne(s, unknown);
		/* Distinct texts, so a log line tells the causes apart. */
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(s, ucoap_strerror(codes[j]));
	}
}
END_TEST

/* ---- microCoAPy codec defects, one test each ---- */

/* microCoAPy sent "x=1&y=2" as one Uri-Query; §6.4 step 9 wants two. */
START_TEST(microcoapy_whole_query_in_one_option)
{
	static const uint8_t wire[] = {0x40, 0x02, 0x00, 0x05, 0xb1, 'a', 0x43,
				       'x',  '=',  '1',  0x03, 'y',  '=', '2'};
	struct ucoap_msg m;
	char buf[16];

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_POST);
	m.mid = 5;
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "a?x=1&y=2"), 0);
	assert_encodes_to(&m, wire, sizeof(wire));
	ck_assert_int_eq(ucoap_msg_decode(&m, wire, sizeof(wire)), 0);
	ck_assert_uint_eq(m.opt_count, 3);
	ck_assert_int_eq(ucoap_msg_uri_query(&m, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "x=1&y=2");
}
END_TEST

/* microCoAPy took and sent tokens longer than 8 bytes (§3: TKL 9-15). */
START_TEST(microcoapy_tokens_over_8_accepted)
{
	static const uint8_t wire[] = {0x49, 0x01, 0x00, 0x01, 1, 2, 3,
				       4,    5,    6,    7,    8, 9};
	struct ucoap_msg m;
	uint8_t buf[32];
	size_t len = 0;

	ck_assert_int_eq(ucoap_msg_decode(&m, wire, sizeof(wire)),
			 UCOAP_ERR_TOKEN_LEN);
	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_GET);
	m.token_len = 9;
	ck_assert_int_eq(ucoap_msg_encode(&m, buf, sizeof(buf), &len),
			 UCOAP_ERR_INVAL);
	ck_assert_uint_eq(len, 0);
}
END_TEST

/* microCoAPy wrote the 2-byte extended length wrongly: 14, value - 269. */
START_TEST(microcoapy_2byte_ext_length_wrong)
{
	uint8_t val[300];
	uint8_t wire[4 + 3 + 300] = {0x50, 0x03, 0x00, 0x01, 0xbe, 0x00, 0x1f};
	struct ucoap_msg m;

	memset(val, 'v', sizeof(val));
	memcpy(wire + 7, val, sizeof(val));
	ucoap_msg_init(&m, UCOAP_TYPE_NON, UCOAP_PUT);
	m.mid = 1;
	ck_assert_int_eq(ucoap_msg_add_opt(&m, 11, val, sizeof(val)), 0);
	assert_encodes_to(&m, wire, sizeof(wire));
	ck_assert_int_eq(ucoap_msg_decode(&m, wire, sizeof(wire)), 0);
	ck_assert_uint_eq(m.opts[0].len, 300);
}
END_TEST

/* microCoAPy parsed at most 10 options and lost the payload after them. */
START_TEST(microcoapy_payload_dropped_past_10_options)
{
	struct ucoap_msg m, d;
	uint8_t buf[128];
	size_t len = 0;
	char path[64];

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_POST);
	m.mid = 0x4242;
	ck_assert_int_eq(ucoap_msg_set_uri(&m, "a/b/c/d/e/f/g/h/i/j?k&l"), 0);
	ck_assert_uint_eq(m.opt_count, 12);
	m.payload = (const uint8_t *)"the payload";
	m.payload_len = 11;
	ck_assert_int_eq(ucoap_msg_encode(&m, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(ucoap_msg_decode(&d, buf, len), 0);
	ck_assert_uint_eq(d.opt_count, 12);
	ck_assert_uint_eq(d.payload_len, 11);
	ck_assert_mem_eq(d.payload, "the payload", 11);
	ck_assert_int_eq(ucoap_msg_uri_path(&d, path, sizeof(path)), 19);
	ck_assert_str_eq(path, "a/b/c/d/e/f/g/h/i/j");
	ck_assert_int_eq(ucoap_msg_uri_query(&d, path, sizeof(path)), 3);
	ck_assert_str_eq(path, "k&l");
}
END_TEST

static Suite *msg_suite(void)
{
	Suite *s = suite_create("msg");
	TCase *tc;

	tc = tcase_create("examples");
	tcase_add_test(tc, decode_get_temperature);
	tcase_add_test(tc, encode_get_temperature);
	tcase_add_test(tc, decode_ack_content);
	tcase_add_test(tc, encode_ack_content);
	tcase_add_test(tc, encode_with_tokens);
	tcase_add_test(tc, decode_with_tokens);
	tcase_add_test(tc, roundtrip_examples);
	tcase_add_test(tc, empty_messages);
	suite_add_tcase(s, tc);

	tc = tcase_create("boundaries");
	tcase_add_loop_test(tc, option_delta_boundaries, 0,
			    ARRAY_LEN(delta_vecs));
	tcase_add_test(tc, option_delta_chain);
	tcase_add_loop_test(tc, option_length_boundaries, 0,
			    ARRAY_LEN(len_vecs));
	tcase_add_test(tc, option_length_too_long_rejected);
	tcase_add_test(tc, option_both_extended);
	tcase_add_test(tc, max_options_accepted);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, decode_errors, 0, ARRAY_LEN(err_vecs));
	tcase_add_test(tc, code_classes);
	tcase_add_test(tc, too_many_options_rejected);
	tcase_add_test(tc, encode_rejects_bad_messages);
	tcase_add_test(tc, encode_nospace_at_every_capacity);
	tcase_add_test(tc, encode_no_marker_without_payload);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_add_test(tc, add_opt_keeps_sorted_and_stable);
	tcase_add_test(tc, del_opt_removes_every_occurrence);
	tcase_add_test(tc, add_uint_minimal_inline);
	tcase_add_test(tc, get_uint_errors);
	tcase_add_test(tc, content_format_reading);
	suite_add_tcase(s, tc);

	tc = tcase_create("uri");
	tcase_add_test(tc, set_uri_splits);
	tcase_add_test(tc, set_uri_replaces_and_keeps_others);
	tcase_add_test(tc, set_uri_too_deep_leaves_msg_alone);
	tcase_add_test(tc, add_query_appends);
	tcase_add_test(tc, uri_join_nospace);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_test(tc, code_and_type_names);
	tcase_add_test(tc, strerror_covers_every_code);
	suite_add_tcase(s, tc);

	tc = tcase_create("microcoapy");
	tcase_add_test(tc, microcoapy_whole_query_in_one_option);
	tcase_add_test(tc, microcoapy_tokens_over_8_accepted);
	tcase_add_test(tc, microcoapy_2byte_ext_length_wrong);
	tcase_add_test(tc, microcoapy_payload_dropped_past_10_options);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(msg_suite());
}
