/*
 * Separate responses larger than a block (RFC 7252 §5.2.2 with RFC 7959
 * §2.2-2.4), server role: ucoap_ep_respond_deferred() sends the block the
 * request asked for (block 0 with M=1 and Size2 when it asked for none),
 * keeps the body, and answers the Block2 requests that follow from it,
 * piggybacked, without running the handler again. The client is played
 * by hand (ucoap_ep_input, fakenet's log) with 64-byte blocks
 * (block_szx 2) and a 150-byte body (blocks of 64, 64 and 22 bytes); the
 * last test runs a ucoap client against it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucoap/block.h>
#include <ucoap/endpoint.h>

#include "fakenet.h"
#include "runner.h"

#define BODY_LEN 150
#define SZX      2

static struct fakenet *net;
static struct ucoap_ep *ep;
static struct ucoap_addr peer, peer2;
static uint8_t body[BODY_LEN];

/* The resource: defers every request; the test answers later. */
struct pending {
	unsigned runs;
	unsigned n;
	struct ucoap_deferred d[8];
};
static struct pending P;

static void on_big(struct ucoap_ep *e, const struct ucoap_msg *req,
		   const struct ucoap_addr *from, void *user)
{
	struct pending *p = user;

	(void)req;
	(void)from;
	p->runs++;
	ck_assert_uint_lt(p->n, 8);
	ck_assert_int_eq(ucoap_ep_defer(e, &p->d[p->n++]), 0);
}

/* Answer the @i-th deferred request with the whole body. */
static void respond(unsigned i)
{
	struct ucoap_msg r;
	uint8_t etag = 0xB7;

	ucoap_msg_init(&r, UCOAP_TYPE_ACK, UCOAP_CONTENT);
	ck_assert_int_eq(ucoap_msg_add_opt(&r, UCOAP_OPT_ETAG, &etag, 1), 0);
	ck_assert_int_eq(ucoap_msg_add_uint(&r, UCOAP_OPT_CONTENT_FORMAT, 0),
			 0);
	r.payload = body;
	r.payload_len = BODY_LEN;
	ck_assert_int_eq(ucoap_ep_respond_deferred(ep, &P.d[i], &r, NULL, NULL),
			 0);
}

static void start(uint32_t max_block_transfers)
{
	struct ucoap_ep_config cfg;

	ucoap_ep_config_init(&cfg);
	cfg.block_szx = SZX;
	cfg.max_block_transfers = max_block_transfers;
	net = fn_new(31);
	ep = fn_ep_new(net, &cfg, "192.0.2.1", 5683);
	ck_assert_ptr_nonnull(ep);
	ck_assert_int_eq(ucoap_addr_set(&peer, "192.0.2.2", 40000), 0);
	ck_assert_int_eq(ucoap_addr_set(&peer2, "192.0.2.3", 40000), 0);
	memset(&P, 0, sizeof(P));
	ck_assert_int_eq(ucoap_ep_add_request_callback(ep, "big", on_big, &P),
			 0);
	for (unsigned i = 0; i < BODY_LEN; i++)
		body[i] = (uint8_t)(' ' + i % 90);
}

static void setup(void)
{
	start(8);
}

static void teardown(void)
{
	ucoap_ep_free(ep);
	fn_free(net);
}

/* The last datagram sent, decoded (views into the log). */
static struct ucoap_msg last(void)
{
	return fn_last_msg(net);
}

/* @m: a @type @code /big with a one-byte @token. */
static void req_init(struct ucoap_msg *m, uint8_t type, uint8_t code,
		     uint16_t mid, uint8_t token)
{
	ucoap_msg_init(m, type, code);
	m->mid = mid;
	m->token_len = 1;
	m->token[0] = token;
	ck_assert_int_eq(ucoap_msg_set_uri(m, "big"), 0);
}

/* Hand @m to the server as a datagram from @from. */
static void req_send(const struct ucoap_msg *m, const struct ucoap_addr *from)
{
	uint8_t buf[128];
	size_t len;

	ck_assert_int_eq(ucoap_msg_encode(m, buf, sizeof(buf), &len), 0);
	ucoap_ep_input(ep, buf, len, from);
}

/* A GET /big from @from; @num < 0: without Block2, else Block2 @num/@szx. */
static void get(const struct ucoap_addr *from, uint8_t type, uint16_t mid,
		uint8_t token, long num, uint8_t szx)
{
	struct ucoap_msg m;

	req_init(&m, type, UCOAP_GET, mid, token);
	if (num >= 0) {
		struct ucoap_block b = {(uint32_t)num, false, szx};

		ck_assert_int_eq(ucoap_msg_add_block(&m, UCOAP_OPT_BLOCK2, &b),
				 0);
	}
	req_send(&m, from);
}

/*
 * @m carries block @num of the body at @szx, with M=@more, the body's
 * ETag and Content-Format; @size2: Size2 BODY_LEN present.
 */
static void assert_block(const struct ucoap_msg *m, uint32_t num, bool more,
			 uint8_t szx, bool size2)
{
	const struct ucoap_opt *etag = ucoap_msg_find(m, UCOAP_OPT_ETAG);
	size_t size = ucoap_block_size(szx), off = num * size;
	size_t n = BODY_LEN - off < size ? BODY_LEN - off : size;
	struct ucoap_block b;
	uint32_t s2;

	ck_assert_uint_eq(m->code, UCOAP_CONTENT);
	ck_assert_int_eq(ucoap_msg_get_block(m, UCOAP_OPT_BLOCK2, &b), 0);
	ck_assert_uint_eq(b.num, num);
	ck_assert_int_eq(b.more, more);
	ck_assert_uint_eq(b.szx, szx);
	ck_assert_int_eq(ucoap_msg_get_size(m, UCOAP_OPT_SIZE2, &s2) == 0,
			 size2);
	if (size2)
		ck_assert_uint_eq(s2, BODY_LEN);
	ck_assert_ptr_nonnull(etag);
	ck_assert_uint_eq(etag->len, 1);
	ck_assert_uint_eq(ucoap_opt_value(etag)[0], 0xB7);
	ck_assert_int_eq(ucoap_msg_content_format(m), 0);
	ck_assert_uint_eq(m->payload_len, n);
	ck_assert(memcmp(m->payload, body + off, n) == 0);
}

START_TEST(test_con_first_block_then_stored_blocks)
{
	struct ucoap_msg m;

	get(&peer, UCOAP_TYPE_CON, 0x100, 0xA1, -1, 0);
	ck_assert_uint_eq(P.runs, 1);
	m = last(); /* the empty ACK of §5.2.2 */
	ck_assert_uint_eq(m.type, UCOAP_TYPE_ACK);
	ck_assert_uint_eq(m.code, UCOAP_EMPTY);
	respond(0);
	m = last();
	ck_assert_uint_eq(m.type, UCOAP_TYPE_CON);
	ck_assert_uint_eq(m.token_len, 1);
	ck_assert_uint_eq(m.token[0], 0xA1);
	assert_block(&m, 0, true, SZX, true);
	/* The client ACKs it and asks for the rest on a new token (§2.4). */
	{
		uint8_t ack[4] = {0x60, 0, (uint8_t)(m.mid >> 8),
				  (uint8_t)m.mid};

		ucoap_ep_input(ep, ack, sizeof(ack), &peer);
	}
	get(&peer, UCOAP_TYPE_CON, 0x101, 0xA2, 1, SZX);
	m = last();
	ck_assert_uint_eq(m.type, UCOAP_TYPE_ACK); /* piggybacked */
	ck_assert_uint_eq(m.mid, 0x101);
	ck_assert_uint_eq(m.token[0], 0xA2);
	assert_block(&m, 1, true, SZX, false);
	get(&peer, UCOAP_TYPE_CON, 0x102, 0xA3, 2, SZX);
	assert_block((m = last(), &m), 2, false, SZX, false);
	/* Served from the kept body: the handler ran once. */
	ck_assert_uint_eq(P.runs, 1);
	/* The last block freed it: asking again runs the handler. */
	get(&peer, UCOAP_TYPE_CON, 0x103, 0xA4, 1, SZX);
	ck_assert_uint_eq(P.runs, 2);
	/* A retransmitted block request gets the same answer (§4.5). */
	get(&peer, UCOAP_TYPE_CON, 0x101, 0xA2, 1, SZX);
	ck_assert_uint_eq(P.runs, 2);
	assert_block((m = last(), &m), 1, true, SZX, false);
}
END_TEST

START_TEST(test_non_request_non_block)
{
	struct ucoap_msg m;
	unsigned n;

	n = net->nlog;
	get(&peer, UCOAP_TYPE_NON, 0x200, 0xB1, -1, 0);
	ck_assert_uint_eq(net->nlog, n); /* no ACK for a NON */
	respond(0);
	m = last();
	ck_assert_uint_eq(m.type, UCOAP_TYPE_NON);
	assert_block(&m, 0, true, SZX, true);
	get(&peer, UCOAP_TYPE_NON, 0x201, 0xB2, 1, SZX);
	m = last();
	ck_assert_uint_eq(m.type, UCOAP_TYPE_NON);
	assert_block(&m, 1, true, SZX, false);
	ck_assert_uint_eq(P.runs, 1);
}
END_TEST

START_TEST(test_smaller_block_asked_for)
{
	struct ucoap_msg m;

	/* §2.4: Block2 0/0/32 in the request: 32-byte blocks. */
	get(&peer, UCOAP_TYPE_CON, 0x300, 0xC1, 0, 1);
	respond(0);
	m = last();
	assert_block(&m, 0, true, 1, true);
	get(&peer, UCOAP_TYPE_CON, 0x301, 0xC2, 4, 1);
	assert_block((m = last(), &m), 4, false, 1, false);
	ck_assert_uint_eq(P.runs, 1);
}
END_TEST

START_TEST(test_deferred_block_request_past_end)
{
	struct ucoap_msg m;

	/* A deferred request for block 5 of a 3-block body: 4.02 (§2.2). */
	get(&peer, UCOAP_TYPE_CON, 0x400, 0xD1, 5, SZX);
	respond(0);
	m = last();
	ck_assert_uint_eq(m.type, UCOAP_TYPE_CON);
	ck_assert_uint_eq(m.code, UCOAP_BAD_OPTION);
	ck_assert_uint_eq(m.payload_len, 0);
}
END_TEST

START_TEST(test_no_slot_runs_handler_again)
{
	struct ucoap_msg m;

	teardown();
	start(1);
	get(&peer, UCOAP_TYPE_CON, 0x500, 0xE1, -1, 0);
	get(&peer2, UCOAP_TYPE_CON, 0x500, 0xE2, -1, 0);
	respond(0); /* takes the only slot */
	respond(1); /* none left: still sent, block 0 */
	m = last();
	assert_block(&m, 0, true, SZX, true);
	ck_assert_uint_eq(P.runs, 2);
	/* peer's block 1 comes from the slot; peer2's runs the handler. */
	get(&peer, UCOAP_TYPE_CON, 0x501, 0xE3, 1, SZX);
	ck_assert_uint_eq(P.runs, 2);
	assert_block((m = last(), &m), 1, true, SZX, false);
	get(&peer2, UCOAP_TYPE_CON, 0x501, 0xE4, 1, SZX);
	ck_assert_uint_eq(P.runs, 3);
	respond(2);
	assert_block((m = last(), &m), 1, true, SZX, false);
}
END_TEST

START_TEST(test_small_body_unchanged)
{
	struct ucoap_msg r, m;

	get(&peer, UCOAP_TYPE_CON, 0x600, 0xF1, -1, 0);
	ucoap_msg_init(&r, UCOAP_TYPE_ACK, UCOAP_CONTENT);
	r.payload = body;
	r.payload_len = 64; /* one block exactly: no Block2 */
	ck_assert_int_eq(ucoap_ep_respond_deferred(ep, &P.d[0], &r, NULL, NULL),
			 0);
	m = last();
	ck_assert_ptr_null(ucoap_msg_find(&m, UCOAP_OPT_BLOCK2));
	ck_assert_ptr_null(ucoap_msg_find(&m, UCOAP_OPT_SIZE2));
	ck_assert_uint_eq(m.payload_len, 64);
}
END_TEST

START_TEST(test_stored_blocks_keep_what_is_left_of_max_age)
{
	struct ucoap_msg r, m;
	uint8_t etag = 0xB7;
	uint32_t age;

	get(&peer, UCOAP_TYPE_CON, 0x680, 0xE1, -1, 0);
	ucoap_msg_init(&r, UCOAP_TYPE_ACK, UCOAP_CONTENT);
	ck_assert_int_eq(ucoap_msg_add_opt(&r, UCOAP_OPT_ETAG, &etag, 1), 0);
	ck_assert_int_eq(ucoap_msg_add_uint(&r, UCOAP_OPT_CONTENT_FORMAT, 0),
			 0);
	ck_assert_int_eq(ucoap_msg_add_uint(&r, UCOAP_OPT_MAX_AGE, 30), 0);
	r.payload = body;
	r.payload_len = BODY_LEN;
	ck_assert_int_eq(ucoap_ep_respond_deferred(ep, &P.d[0], &r, NULL, NULL),
			 0);
	m = last();
	assert_block(&m, 0, true, SZX, true);
	ck_assert_int_eq(ucoap_msg_get_uint(&m, UCOAP_OPT_MAX_AGE, &age), 0);
	ck_assert_uint_eq(age, 30);
	/* 10.5 s later, from the kept body: 19.5 s left, rounded up */
	net->now += 10500;
	get(&peer, UCOAP_TYPE_CON, 0x681, 0xE2, 1, SZX);
	m = last();
	assert_block(&m, 1, true, SZX, false);
	ck_assert_int_eq(ucoap_msg_get_uint(&m, UCOAP_OPT_MAX_AGE, &age), 0);
	ck_assert_uint_eq(age, 20);
	/* past it: Max-Age 0, not the 60 s its absence would mean */
	net->now += 30000;
	get(&peer, UCOAP_TYPE_CON, 0x682, 0xE3, 2, SZX);
	m = last();
	assert_block(&m, 2, false, SZX, false);
	ck_assert_int_eq(ucoap_msg_get_uint(&m, UCOAP_OPT_MAX_AGE, &age), 0);
	ck_assert_uint_eq(age, 0);
	ck_assert_uint_eq(P.runs, 1);
}
END_TEST

/* Block @num of a 150-byte PUT /big, CON, Block1 at SZX. */
static void put_block(uint16_t mid, uint8_t token, uint32_t num)
{
	size_t size = ucoap_block_size(SZX), off = num * size;
	struct ucoap_block b = {num, off + size < BODY_LEN, SZX};
	struct ucoap_msg m;

	req_init(&m, UCOAP_TYPE_CON, UCOAP_PUT, mid, token);
	ck_assert_int_eq(ucoap_msg_add_block(&m, UCOAP_OPT_BLOCK1, &b), 0);
	m.payload = body + off;
	m.payload_len = b.more ? size : BODY_LEN - off;
	req_send(&m, &peer);
}

/* @m echoes Block1 NUM @num, M=0, SZX (RFC 7959 §2.3). */
static void assert_block1_echo(const struct ucoap_msg *m, uint32_t num)
{
	struct ucoap_block b;

	ck_assert_int_eq(ucoap_msg_get_block(m, UCOAP_OPT_BLOCK1, &b), 0);
	ck_assert_uint_eq(b.num, num);
	ck_assert(!b.more);
	ck_assert_uint_eq(b.szx, SZX);
}

START_TEST(test_block1_request_deferred_echoes_block1)
{
	struct ucoap_msg r, m;

	put_block(0x700, 0xC1, 0);
	put_block(0x701, 0xC1, 1);
	ck_assert_uint_eq(P.runs, 0); /* 2.31 twice, from the endpoint */
	m = last();
	ck_assert_uint_eq(m.code, UCOAP_CONTINUE);
	put_block(0x702, 0xC1, 2);
	ck_assert_uint_eq(P.runs, 1);
	m = last();
	ck_assert_uint_eq(m.type, UCOAP_TYPE_ACK);
	ck_assert_uint_eq(m.code, UCOAP_EMPTY);
	/* A code-only answer: 2.04 with the last block's Block1. */
	ucoap_msg_init(&r, UCOAP_TYPE_ACK, UCOAP_CHANGED);
	ck_assert_int_eq(ucoap_ep_respond_deferred(ep, &P.d[0], &r, NULL, NULL),
			 0);
	m = last();
	ck_assert_uint_eq(m.type, UCOAP_TYPE_CON);
	ck_assert_uint_eq(m.code, UCOAP_CHANGED);
	ck_assert_uint_eq(m.token[0], 0xC1);
	assert_block1_echo(&m, 2);
	ck_assert_ptr_null(ucoap_msg_find(&m, UCOAP_OPT_BLOCK2));

	/* An answer larger than a block: Block1 echo and Block2 0, M=1. */
	put_block(0x710, 0xC2, 0);
	put_block(0x711, 0xC2, 1);
	put_block(0x712, 0xC2, 2);
	ck_assert_uint_eq(P.runs, 2);
	respond(1);
	m = last();
	ck_assert_uint_eq(m.type, UCOAP_TYPE_CON);
	assert_block1_echo(&m, 2);
	assert_block(&m, 0, true, SZX, true);

	/* A plain request deferred: no Block1 in its answer. */
	get(&peer, UCOAP_TYPE_CON, 0x720, 0xC3, -1, 0);
	ucoap_msg_init(&r, UCOAP_TYPE_ACK, UCOAP_CHANGED);
	ck_assert_int_eq(ucoap_ep_respond_deferred(ep, &P.d[2], &r, NULL, NULL),
			 0);
	m = last();
	ck_assert_uint_eq(m.code, UCOAP_CHANGED);
	ck_assert_ptr_null(ucoap_msg_find(&m, UCOAP_OPT_BLOCK1));
}
END_TEST

/* ---- a ucoap client against it ---- */

struct result {
	unsigned calls;
	int status;
	size_t len;
	uint8_t payload[BODY_LEN];
	bool block2;
};

static void on_result(struct ucoap_ep *e, int status, const struct ucoap_msg *m,
		      const struct ucoap_addr *from, void *user)
{
	struct result *r = user;

	(void)e;
	(void)from;
	r->calls++;
	r->status = status;
	if (status != 0)
		return;
	r->block2 = ucoap_msg_find(m, UCOAP_OPT_BLOCK2) != NULL;
	r->len = m->payload_len;
	ck_assert_uint_le(m->payload_len, sizeof(r->payload));
	memcpy(r->payload, m->payload, m->payload_len);
}

START_TEST(test_ucoap_client_gets_whole_body)
{
	struct ucoap_ep_config cfg;
	struct ucoap_ep *client, *both[2];
	struct ucoap_addr server;
	struct result res = {0};
	struct ucoap_msg req;

	ucoap_ep_config_init(&cfg);
	cfg.block_szx = SZX;
	client = fn_ep_new(net, &cfg, "192.0.2.2", 40000);
	ck_assert_ptr_nonnull(client);
	ck_assert_int_eq(ucoap_addr_set(&server, "192.0.2.1", 5683), 0);
	both[0] = client;
	both[1] = ep;
	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&req, "big"), 0);
	ck_assert_int_eq(
	    ucoap_ep_request(client, &server, &req, 0, on_result, &res, NULL),
	    0);
	fn_run(net, both, 2, net->now + 500);
	ck_assert_uint_eq(P.runs, 1);
	ck_assert_uint_eq(res.calls, 0);
	respond(0);
	fn_run(net, both, 2, net->now + 500);
	ck_assert_uint_eq(res.calls, 1);
	ck_assert_int_eq(res.status, 0);
	ck_assert(!res.block2);
	ck_assert_uint_eq(res.len, BODY_LEN);
	ck_assert(memcmp(res.payload, body, BODY_LEN) == 0);
	ck_assert_uint_eq(P.runs, 1);
	ucoap_ep_free(client);
}
END_TEST

static Suite *deferred_block_suite(void)
{
	Suite *s = suite_create("deferred_block");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_con_first_block_then_stored_blocks);
	tcase_add_test(tc, test_non_request_non_block);
	tcase_add_test(tc, test_smaller_block_asked_for);
	tcase_add_test(tc, test_deferred_block_request_past_end);
	tcase_add_test(tc, test_no_slot_runs_handler_again);
	tcase_add_test(tc, test_small_body_unchanged);
	tcase_add_test(tc, test_stored_blocks_keep_what_is_left_of_max_age);
	tcase_add_test(tc, test_block1_request_deferred_echoes_block1);
	tcase_add_test(tc, test_ucoap_client_gets_whole_body);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(deferred_block_suite());
}
