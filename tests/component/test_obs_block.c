/*
 * Observe with Block2 (RFC 7959 §2.6, §3.4), client role: a notification
 * larger than a block reaches the observation's callback once, whole,
 * after the endpoint fetched its other blocks with plain GETs (no
 * Observe, a token of their own). The server is played by hand through
 * ucoap_ep_input() and fakenet's log, with 64-byte blocks (block_szx 2)
 * and 150-byte bodies (blocks of 64, 64 and 22 bytes); the last test runs
 * a ucoap server against the client.
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
#define SZX      2 /* 64-byte blocks */

static struct fakenet *net;
static struct ucoap_ep *ep;
static struct ucoap_addr srv;

/* Representation @gen of the resource: BODY_LEN bytes, distinct per gen. */
static void body(unsigned gen, uint8_t out[BODY_LEN])
{
	for (unsigned i = 0; i < BODY_LEN; i++)
		out[i] = (uint8_t)('a' + (i * 7 + gen) % 26);
}

struct seen {
	unsigned calls, errors, cancelled;
	int last_status;
	uint8_t last_code;
	long observe;
	bool has_block2;
	uint32_t size2;
	uint8_t etag;
	size_t len;
	uint8_t payload[2048];
	uint32_t handle;
};
static struct seen S;

static long observe_of(const struct ucoap_msg *m)
{
	uint32_t v;

	return ucoap_msg_get_uint(m, UCOAP_OPT_OBSERVE, &v) == 0 ? (long)v : -1;
}

static void on_note(struct ucoap_ep *e, int status, const struct ucoap_msg *m,
		    const struct ucoap_addr *from, void *user)
{
	struct seen *s = user;
	const struct ucoap_opt *etag;
	struct ucoap_block b;

	(void)e;
	(void)from;
	s->calls++;
	s->last_status = status;
	if (status == UCOAP_ERR_CANCELLED)
		s->cancelled++;
	if (status != 0) {
		s->errors += status != UCOAP_ERR_CANCELLED;
		return;
	}
	s->last_code = m->code;
	s->observe = observe_of(m);
	s->has_block2 = ucoap_msg_get_block(m, UCOAP_OPT_BLOCK2, &b) == 0;
	s->size2 = 0;
	ucoap_msg_get_size(m, UCOAP_OPT_SIZE2, &s->size2);
	etag = ucoap_msg_find(m, UCOAP_OPT_ETAG);
	s->etag = etag && etag->len == 1 ? ucoap_opt_value(etag)[0] : 0;
	ck_assert_uint_le(m->payload_len, sizeof(s->payload));
	s->len = m->payload_len;
	if (m->payload_len)
		memcpy(s->payload, m->payload, m->payload_len);
}

static void start(uint32_t max_exchanges, uint32_t max_block_requests)
{
	struct ucoap_ep_config cfg;

	ucoap_ep_config_init(&cfg);
	cfg.block_szx = SZX;
	cfg.max_exchanges = max_exchanges;
	cfg.max_block_requests = max_block_requests;
	net = fn_new(23);
	ep = fn_ep_new(net, &cfg, "192.0.2.2", 40000);
	ck_assert_ptr_nonnull(ep);
	ck_assert_int_eq(ucoap_addr_set(&srv, "192.0.2.9", 5683), 0);
	memset(&S, 0, sizeof(S));
}

static void setup(void)
{
	start(4, 4);
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

static uint32_t token_of(const struct ucoap_msg *m)
{
	ck_assert_uint_eq(m->token_len, 4);
	return (uint32_t)m->token[0] << 24 | (uint32_t)m->token[1] << 16 |
	       (uint32_t)m->token[2] << 8 | m->token[3];
}

/*
 * The server's message: block @num of representation @gen (ETag @etag,
 * 0: none), with Observe @observe (< 0: none), of @type, @code, @mid and
 * @token. Block 0 carries Size2, as RFC 7959 §4 suggests.
 */
static void block(uint8_t type, uint8_t code, uint16_t mid, uint32_t token,
		  long observe, unsigned gen, uint8_t etag, uint32_t num)
{
	uint8_t whole[BODY_LEN], buf[256];
	struct ucoap_block b = {num, false, SZX};
	struct ucoap_msg m;
	size_t off, n, len;

	body(gen, whole);
	ck_assert_int_eq(ucoap_block_slice(BODY_LEN, &b, &off, &n, &b.more), 0);
	fn_msg_init(&m, type, code, mid, token);
	if (etag)
		ck_assert_int_eq(
		    ucoap_msg_add_opt(&m, UCOAP_OPT_ETAG, &etag, 1), 0);
	if (observe >= 0)
		ck_assert_int_eq(ucoap_msg_add_uint(&m, UCOAP_OPT_OBSERVE,
						    (uint32_t)observe),
				 0);
	ck_assert_int_eq(ucoap_msg_add_block(&m, UCOAP_OPT_BLOCK2, &b), 0);
	if (num == 0)
		ck_assert_int_eq(
		    ucoap_msg_add_size(&m, UCOAP_OPT_SIZE2, BODY_LEN), 0);
	m.payload = whole + off;
	m.payload_len = n;
	ck_assert_int_eq(ucoap_msg_encode(&m, buf, sizeof(buf), &len), 0);
	ucoap_ep_input(ep, buf, len, &srv);
}

/* A small message (no Block2): a notification or an error answer. */
static void small(uint8_t type, uint8_t code, uint16_t mid, uint32_t token,
		  long observe, const char *payload)
{
	struct ucoap_msg m;
	uint8_t buf[128];
	size_t len;

	fn_msg_init(&m, type, code, mid, token);
	if (observe >= 0)
		ck_assert_int_eq(ucoap_msg_add_uint(&m, UCOAP_OPT_OBSERVE,
						    (uint32_t)observe),
				 0);
	m.payload = (const uint8_t *)payload;
	m.payload_len = strlen(payload);
	ck_assert_int_eq(ucoap_msg_encode(&m, buf, sizeof(buf), &len), 0);
	ucoap_ep_input(ep, buf, len, &srv);
}

/* Observe /obs (CON); returns the observation's token. */
static uint32_t observe_start(void)
{
	struct ucoap_msg req, m;

	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&req, "obs"), 0);
	ck_assert_int_eq(
	    ucoap_ep_observe(ep, &srv, &req, on_note, &S, &S.handle), 0);
	m = last();
	ck_assert_int_eq(observe_of(&m), 0);
	return token_of(&m);
}

/*
 * The last datagram is our request for block @num: a CON GET of /obs
 * without Observe, Block2 NUM=@num M=0 SZX=2, on a token that is not
 * @obs_token. Returns it (its mid and token answer it).
 */
static struct ucoap_msg expect_block_request(uint32_t num, uint32_t obs_token)
{
	struct ucoap_msg m = last();
	struct ucoap_block b;
	char path[16];

	ck_assert_uint_eq(m.type, UCOAP_TYPE_CON);
	ck_assert_uint_eq(m.code, UCOAP_GET);
	ck_assert_int_eq(observe_of(&m), -1);
	ck_assert_int_ge(ucoap_msg_uri_path(&m, path, sizeof(path)), 0);
	ck_assert_str_eq(path, "obs");
	ck_assert_int_eq(ucoap_msg_get_block(&m, UCOAP_OPT_BLOCK2, &b), 0);
	ck_assert_uint_eq(b.num, num);
	ck_assert(!b.more);
	ck_assert_uint_eq(b.szx, SZX);
	ck_assert_uint_ne(token_of(&m), obs_token);
	ck_assert_uint_eq(m.payload_len, 0);
	return m;
}

/* Answer our last block request with block @num of @gen (piggybacked). */
static void answer_block(unsigned gen, uint8_t etag, uint32_t num)
{
	struct ucoap_msg r = last();

	block(UCOAP_TYPE_ACK, UCOAP_CONTENT, r.mid, token_of(&r), -1, gen, etag,
	      num);
}

static void assert_whole(unsigned gen, long observe, uint8_t etag)
{
	uint8_t want[BODY_LEN];

	body(gen, want);
	ck_assert_int_eq(S.last_status, 0);
	ck_assert_uint_eq(S.last_code, UCOAP_CONTENT);
	ck_assert_uint_eq(S.len, BODY_LEN);
	ck_assert(memcmp(S.payload, want, BODY_LEN) == 0);
	ck_assert_int_eq(S.observe, observe);
	ck_assert_uint_eq(S.etag, etag);
	ck_assert(!S.has_block2); /* endpoint.h: removed */
	ck_assert_uint_eq(S.size2, BODY_LEN);
}

START_TEST(test_notifications_delivered_whole)
{
	uint32_t tok = observe_start();
	struct ucoap_msg r = last();
	uint32_t t1;

	/* The registration's answer: block 0 of gen 1, Observe 5. */
	block(UCOAP_TYPE_ACK, UCOAP_CONTENT, r.mid, tok, 5, 1, 0xE1, 0);
	ck_assert_uint_eq(S.calls, 0);
	r = expect_block_request(1, tok);
	t1 = token_of(&r);
	answer_block(1, 0xE1, 1);
	ck_assert_uint_eq(S.calls, 0);
	r = expect_block_request(2, tok);
	ck_assert_uint_eq(token_of(&r), t1); /* one transfer, one token */
	answer_block(1, 0xE1, 2);
	ck_assert_uint_eq(S.calls, 1);
	assert_whole(1, 5, 0xE1);

	/* A CON notification, gen 2: ACKed, then fetched likewise. */
	block(UCOAP_TYPE_CON, UCOAP_CONTENT, 0x700, tok, 6, 2, 0xE2, 0);
	ck_assert_uint_eq(fn_sent(net, net->nlog - 2)->data[0], 0x60);
	r = expect_block_request(1, tok);
	answer_block(2, 0xE2, 1);
	expect_block_request(2, tok);
	answer_block(2, 0xE2, 2);
	ck_assert_uint_eq(S.calls, 2);
	assert_whole(2, 6, 0xE2);

	/* A small notification is delivered as it comes. */
	small(UCOAP_TYPE_NON, UCOAP_CONTENT, 0x701, tok, 7, "tiny");
	ck_assert_uint_eq(S.calls, 3);
	ck_assert_uint_eq(S.len, 4);
	ck_assert_int_eq(S.observe, 7);
	ck_assert_uint_eq(S.errors, 0);
}
END_TEST

START_TEST(test_newer_notification_supersedes)
{
	uint32_t tok = observe_start();
	struct ucoap_msg r = last(), old;

	block(UCOAP_TYPE_ACK, UCOAP_CONTENT, r.mid, tok, 5, 1, 0xE1, 0);
	old = expect_block_request(1, tok);
	/* A stale notification (Observe 4) changes nothing. */
	block(UCOAP_TYPE_NON, UCOAP_CONTENT, 0x800, tok, 4, 9, 0xE9, 0);
	ck_assert_uint_eq(last().mid, old.mid);
	/* A fresher one (Observe 6, gen 2) replaces the transfer. */
	block(UCOAP_TYPE_NON, UCOAP_CONTENT, 0x801, tok, 6, 2, 0xE2, 0);
	r = expect_block_request(1, tok);
	ck_assert_uint_ne(r.mid, old.mid);
	ck_assert_uint_ne(token_of(&r), token_of(&old));
	/* The old transfer's late answer matches nothing any longer. */
	block(UCOAP_TYPE_ACK, UCOAP_CONTENT, old.mid, token_of(&old), -1, 1,
	      0xE1, 1);
	ck_assert_uint_eq(S.calls, 0);
	ck_assert_uint_eq(last().mid, r.mid);
	answer_block(2, 0xE2, 1);
	expect_block_request(2, tok);
	answer_block(2, 0xE2, 2);
	ck_assert_uint_eq(S.calls, 1);
	assert_whole(2, 6, 0xE2);
}
END_TEST

START_TEST(test_etag_change_drops_notification)
{
	uint32_t tok = observe_start();
	struct ucoap_msg r = last();
	unsigned n;

	block(UCOAP_TYPE_ACK, UCOAP_CONTENT, r.mid, tok, 5, 1, 0xE1, 0);
	expect_block_request(1, tok);
	/* Block 1 of another representation: no mixed body delivered. */
	n = net->nlog;
	answer_block(2, 0xE2, 1);
	ck_assert_uint_eq(S.calls, 0);
	ck_assert_uint_eq(net->nlog, n); /* no request for block 2 */
	/* The observation goes on: the next notification arrives whole. */
	block(UCOAP_TYPE_NON, UCOAP_CONTENT, 0x900, tok, 6, 2, 0xE2, 0);
	expect_block_request(1, tok);
	answer_block(2, 0xE2, 1);
	answer_block(2, 0xE2, 2);
	ck_assert_uint_eq(S.calls, 1);
	assert_whole(2, 6, 0xE2);
}
END_TEST

START_TEST(test_error_answer_ends_observation)
{
	uint32_t tok = observe_start();
	struct ucoap_msg r = last();

	block(UCOAP_TYPE_ACK, UCOAP_CONTENT, r.mid, tok, 5, 1, 0xE1, 0);
	r = expect_block_request(1, tok);
	small(UCOAP_TYPE_ACK, UCOAP_NOT_FOUND, r.mid, token_of(&r), -1, "");
	ck_assert_uint_eq(S.calls, 1);
	ck_assert_int_eq(S.last_status, 0);
	ck_assert_uint_eq(S.last_code, UCOAP_NOT_FOUND);
	ck_assert_int_eq(ucoap_ep_observe_cancel(ep, S.handle),
			 UCOAP_ERR_NOENT);
	/* Its notifications are strangers now: a CON gets RST. */
	block(UCOAP_TYPE_CON, UCOAP_CONTENT, 0xA00, tok, 6, 2, 0xE2, 0);
	ck_assert_uint_eq(fn_last(net)->data[0], 0x70);
	ck_assert_uint_eq(S.calls, 1);
}
END_TEST

START_TEST(test_timeout_ends_observation)
{
	uint32_t tok = observe_start();
	struct ucoap_msg r = last();

	block(UCOAP_TYPE_ACK, UCOAP_CONTENT, r.mid, tok, 5, 1, 0xE1, 0);
	expect_block_request(1, tok);
	fn_run(net, &ep, 1, net->now + 300000);
	ck_assert_uint_eq(S.calls, 1);
	ck_assert_int_eq(S.last_status, UCOAP_ERR_TIMEOUT);
	ck_assert_int_eq(ucoap_ep_observe_cancel(ep, S.handle),
			 UCOAP_ERR_NOENT);
}
END_TEST

START_TEST(test_cancel_during_fetch)
{
	uint32_t tok;
	struct ucoap_msg r, req;
	unsigned n;

	teardown();
	start(1, 1); /* one exchange: the fetch must give it back */
	tok = observe_start();
	r = last();
	block(UCOAP_TYPE_ACK, UCOAP_CONTENT, r.mid, tok, 5, 1, 0xE1, 0);
	req = expect_block_request(1, tok);
	n = net->nlog;
	ck_assert_int_eq(ucoap_ep_observe_cancel(ep, S.handle), 0);
	ck_assert_uint_eq(S.calls, 1);
	ck_assert_uint_eq(S.cancelled, 1);
	/* §3.6: the GET Observe 1 on the observation's token went out. */
	ck_assert_uint_eq(net->nlog, n + 1);
	r = last();
	ck_assert_int_eq(observe_of(&r), 1);
	ck_assert_uint_eq(token_of(&r), tok);
	/* The fetch's late answer reaches nobody. */
	block(UCOAP_TYPE_ACK, UCOAP_CONTENT, req.mid, token_of(&req), -1, 1,
	      0xE1, 1);
	ck_assert_uint_eq(S.calls, 1);
	/*
	 * Its block slot is free again: once the Observe 1 has timed out
	 * (its exchange is the only one), a new observation's large
	 * notification is fetched, not delivered as its first block.
	 */
	fn_run(net, &ep, 1, net->now + 300000);
	tok = observe_start();
	r = last();
	block(UCOAP_TYPE_ACK, UCOAP_CONTENT, r.mid, tok, 9, 2, 0xE2, 0);
	expect_block_request(1, tok);
	ck_assert_uint_eq(S.calls, 1);
}
END_TEST

static struct seen S2;

/*
 * The server declines (RFC 7641 §4.1: no Observe) with a body larger than
 * a block. The rest is fetched like a notification's: GETs without
 * Observe on a token of their own (endpoint.h; §3.6), the callback once
 * with the whole answer, and the observation is over.
 */
START_TEST(test_declined_large_answer_fetched_then_ends)
{
	uint32_t tok = observe_start();
	struct ucoap_msg r = last();

	block(UCOAP_TYPE_ACK, UCOAP_CONTENT, r.mid, tok, -1, 1, 0xE1, 0);
	ck_assert_uint_eq(S.calls, 0);
	expect_block_request(1, tok);
	answer_block(1, 0xE1, 1);
	expect_block_request(2, tok);
	answer_block(1, 0xE1, 2);
	ck_assert_uint_eq(S.calls, 1);
	assert_whole(1, -1, 0xE1);
	ck_assert_int_eq(ucoap_ep_observe_cancel(ep, S.handle),
			 UCOAP_ERR_NOENT);
	/* Nothing re-registers an observation that is over. */
	fn_run(net, &ep, 1, net->now + 600000);
	ck_assert_uint_eq(S.calls, 1);
}
END_TEST

/*
 * Cancelled while that answer's blocks are fetched: endpoint.h promises
 * the callback never runs after the CANCELLED call, and the late blocks
 * must not end a new observation that took the freed slot.
 */
START_TEST(test_cancel_while_declined_answer_fetched)
{
	uint32_t tok = observe_start(), h2;
	struct ucoap_msg r = last(), req, fetch;

	block(UCOAP_TYPE_ACK, UCOAP_CONTENT, r.mid, tok, -1, 1, 0xE1, 0);
	fetch = expect_block_request(1, tok);
	ck_assert_int_eq(ucoap_ep_observe_cancel(ep, S.handle), 0);
	ck_assert_uint_eq(S.calls, 1);
	ck_assert_uint_eq(S.cancelled, 1);
	/* A new observation (the same slot: the only one free). */
	memset(&S2, 0, sizeof(S2));
	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&req, "obs"), 0);
	ck_assert_int_eq(ucoap_ep_observe(ep, &srv, &req, on_note, &S2, &h2),
			 0);
	/* The old fetch's last blocks arrive late: they reach nobody. */
	block(UCOAP_TYPE_ACK, UCOAP_CONTENT, fetch.mid, token_of(&fetch), -1, 1,
	      0xE1, 1);
	/* Had the stale transfer asked for its next block, answer it too. */
	r = last();
	if (r.code == UCOAP_GET && ucoap_msg_find(&r, UCOAP_OPT_BLOCK2))
		block(UCOAP_TYPE_ACK, UCOAP_CONTENT, r.mid, token_of(&r), -1, 1,
		      0xE1, 2);
	ck_assert_uint_eq(S.calls, 1);
	ck_assert_uint_eq(S2.calls, 0);
	ck_assert_int_eq(ucoap_ep_observe_cancel(ep, h2), 0);
	ck_assert_uint_eq(S2.cancelled, 1);
}
END_TEST

START_TEST(test_no_slot_first_block_as_is)
{
	struct ucoap_msg req, r;
	uint32_t tok1, tok2, h2;

	teardown();
	start(4, 1); /* one block-wise transfer at a time */
	tok1 = observe_start();
	r = last();
	block(UCOAP_TYPE_ACK, UCOAP_CONTENT, r.mid, tok1, 5, 1, 0xE1, 0);
	expect_block_request(1, tok1);
	/* A second observation while the only slot is busy. */
	memset(&S2, 0, sizeof(S2));
	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&req, "obs"), 0);
	ck_assert_int_eq(ucoap_ep_observe(ep, &srv, &req, on_note, &S2, &h2),
			 0);
	r = last();
	tok2 = token_of(&r);
	block(UCOAP_TYPE_ACK, UCOAP_CONTENT, r.mid, tok2, 8, 3, 0xE3, 0);
	/* endpoint.h: delivered as its first block, Block2 and all. */
	ck_assert_uint_eq(S2.calls, 1);
	ck_assert_int_eq(S2.last_status, 0);
	ck_assert(S2.has_block2);
	ck_assert_uint_eq(S2.len, 64);
	ck_assert_int_eq(S2.observe, 8);
	ck_assert_uint_eq(S.calls, 0);
}
END_TEST

/* ---- against a ucoap server ---- */

static unsigned gen = 1;

static void on_resource(struct ucoap_ep *e, const struct ucoap_msg *req,
			const struct ucoap_addr *from, void *user)
{
	static uint8_t b[BODY_LEN];
	uint8_t etag = (uint8_t)gen;
	struct ucoap_msg m;
	uint32_t v;

	(void)from;
	if (!ucoap_ep_notifying(e) &&
	    ucoap_msg_get_uint(req, UCOAP_OPT_OBSERVE, &v) == 0 && v == 0)
		ucoap_ep_observe_accept(e, user);
	body(gen, b);
	ucoap_msg_init(&m, UCOAP_TYPE_ACK, UCOAP_CONTENT);
	ucoap_msg_add_opt(&m, UCOAP_OPT_ETAG, &etag, 1);
	m.payload = b;
	m.payload_len = BODY_LEN;
	ck_assert_int_eq(ucoap_ep_respond(e, &m), 0);
}

START_TEST(test_end_to_end_with_ucoap_server)
{
	struct ucoap_ep_config cfg;
	struct ucoap_ep *server, *both[2];
	static int key;
	struct ucoap_msg req;
	unsigned count;

	ucoap_ep_config_init(&cfg);
	cfg.block_szx = SZX;
	server = fn_ep_new(net, &cfg, "192.0.2.9", 5683);
	ck_assert_ptr_nonnull(server);
	ck_assert_int_eq(
	    ucoap_ep_add_request_callback(server, "obs", on_resource, &key), 0);
	both[0] = ep;
	both[1] = server;
	gen = 1;
	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&req, "obs"), 0);
	ck_assert_int_eq(
	    ucoap_ep_observe(ep, &srv, &req, on_note, &S, &S.handle), 0);
	fn_run(net, both, 2, net->now + 1000);
	ck_assert_uint_eq(S.calls, 1);
	assert_whole(1, S.observe, 1);
	ck_assert_int_ge(S.observe, 0);
	for (gen = 2; gen <= 4; gen++) {
		ck_assert_int_eq(ucoap_ep_notify(server, &key, gen % 2, &count),
				 0);
		ck_assert_uint_eq(count, 1);
		fn_run(net, both, 2, net->now + 1000);
		ck_assert_uint_eq(S.calls, gen);
		assert_whole(gen, S.observe, (uint8_t)gen);
	}
	/* The follow-up GETs did not end the registration (§3.6). */
	ck_assert_uint_eq(ucoap_ep_observer_count(server, &key), 1);
	ck_assert_uint_eq(S.errors, 0);
	ucoap_ep_free(server);
}
END_TEST

static Suite *obs_block_suite(void)
{
	Suite *s = suite_create("obs_block");
	TCase *tc = tcase_create("client");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_notifications_delivered_whole);
	tcase_add_test(tc, test_newer_notification_supersedes);
	tcase_add_test(tc, test_etag_change_drops_notification);
	tcase_add_test(tc, test_error_answer_ends_observation);
	tcase_add_test(tc, test_timeout_ends_observation);
	tcase_add_test(tc, test_cancel_during_fetch);
	tcase_add_test(tc, test_no_slot_first_block_as_is);
	tcase_add_test(tc, test_declined_large_answer_fetched_then_ends);
	tcase_add_test(tc, test_cancel_while_declined_answer_fetched);
	tcase_add_test(tc, test_end_to_end_with_ucoap_server);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(obs_block_suite());
}
