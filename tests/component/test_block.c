/*
 * Block-wise transfers (RFC 7959) through the endpoint, over fakenet's
 * in-memory sockets and fake clock: the server's Block2 slicing and Block1
 * reassembly checked on the wire (requests injected by hand), and our
 * client against our server (reassembly, Block1 sending, late size
 * negotiation, a lossy network).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <ucoap/block.h>
#include <ucoap/endpoint.h>

#include "fakenet.h"
#include "runner.h"

#define LARGE 3072

static struct fakenet *net;
static struct ucoap_ep *srv, *cli;
static struct ucoap_addr srv_addr, peer; /* peer: a hand-played client */
static uint8_t body[LARGE];
static unsigned handler_calls;
static uint8_t got[20000]; /* what a client callback received */
static size_t got_len;
static uint8_t srv_got[20000]; /* what the update handler received */
static size_t srv_got_len;
static bool etag_changes;

/* Client callback results. */
static unsigned ndone;
static int done_status;
static uint8_t done_code;
static bool done_had_block2, done_had_block1;

static void on_large(struct ucoap_ep *e, const struct ucoap_msg *req,
		     const struct ucoap_addr *from, void *user)
{
	uint8_t etag[2] = {0xE7, (uint8_t)(etag_changes ? handler_calls : 0)};
	struct ucoap_msg r;

	handler_calls++;
	ucoap_msg_init(&r, UCOAP_TYPE_ACK, UCOAP_CONTENT);
	ck_assert_int_eq(ucoap_msg_add_opt(&r, UCOAP_OPT_ETAG, etag, 2), 0);
	ck_assert_int_eq(ucoap_msg_add_uint(&r, UCOAP_OPT_CONTENT_FORMAT, 0),
			 0);
	r.payload = body;
	r.payload_len = sizeof(body);
	ck_assert_int_eq(ucoap_ep_respond(e, &r), 0);
}

/* Keeps the body; answers 2.04 (PUT) or the body upper-cased (POST). */
static void on_update(struct ucoap_ep *e, const struct ucoap_msg *req,
		      const struct ucoap_addr *from, void *user)
{
	static uint8_t upper[20000];
	struct ucoap_msg r;

	handler_calls++;
	ck_assert_ptr_null(ucoap_msg_find(req, UCOAP_OPT_BLOCK1));
	ck_assert_uint_le(req->payload_len, sizeof(srv_got));
	if (req->payload_len)
		memcpy(srv_got, req->payload, req->payload_len);
	srv_got_len = req->payload_len;
	ucoap_msg_init(&r, UCOAP_TYPE_ACK, UCOAP_CHANGED);
	if (req->code == UCOAP_POST) {
		for (size_t i = 0; i < srv_got_len; i++)
			upper[i] =
			    (uint8_t)(srv_got[i] >= 'a' && srv_got[i] <= 'z'
					  ? srv_got[i] - 32
					  : srv_got[i]);
		r.payload = upper;
		r.payload_len = srv_got_len;
	}
	ck_assert_int_eq(ucoap_ep_respond(e, &r), 0);
}

static void on_done(struct ucoap_ep *e, int status,
		    const struct ucoap_msg *resp, const struct ucoap_addr *from,
		    void *user)
{
	ndone++;
	done_status = status;
	if (status < 0)
		return;
	done_code = resp->code;
	done_had_block2 = ucoap_msg_find(resp, UCOAP_OPT_BLOCK2) != NULL;
	done_had_block1 = ucoap_msg_find(resp, UCOAP_OPT_BLOCK1) != NULL;
	ck_assert_uint_le(resp->payload_len, sizeof(got));
	if (resp->payload_len)
		memcpy(got, resp->payload, resp->payload_len);
	got_len = resp->payload_len;
}

static void start(const struct ucoap_ep_config *scfg,
		  const struct ucoap_ep_config *ccfg)
{
	net = fn_new(7);
	srv = fn_ep_new(net, scfg, "192.0.2.1", 5683);
	cli = fn_ep_new(net, ccfg, "192.0.2.2", 40000);
	ck_assert_ptr_nonnull(srv);
	ck_assert_ptr_nonnull(cli);
	ck_assert_int_eq(ucoap_addr_set(&srv_addr, "192.0.2.1", 5683), 0);
	ck_assert_int_eq(ucoap_addr_set(&peer, "192.0.2.9", 41000), 0);
	ck_assert_int_eq(
	    ucoap_ep_add_request_callback(srv, "large", on_large, NULL), 0);
	ck_assert_int_eq(
	    ucoap_ep_add_request_callback(srv, "large-update", on_update, NULL),
	    0);
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)('a' + (i * 7) % 26);
	handler_calls = 0;
	ndone = 0;
	got_len = 0;
	srv_got_len = 0;
	etag_changes = false;
}

static void setup(void)
{
	start(NULL, NULL);
}

static void teardown(void)
{
	ucoap_ep_free(cli);
	ucoap_ep_free(srv);
	fn_free(net);
}

static void run(void)
{
	struct ucoap_ep *eps[] = {srv, cli};

	fn_run(net, eps, 2, net->now + 600000);
}

/* ---- the hand-played peer ---- */

static uint16_t peer_mid = 0x100;

/*
 * Send the server a CON @code to @path from the peer, with Block1/Block2
 * (@b1/@b2 NULL: none), Size1 (0: none) and @len bytes of @payload.
 */
static void peer_req(uint8_t code, const char *path,
		     const struct ucoap_block *b1, const struct ucoap_block *b2,
		     uint32_t size1, const uint8_t *payload, size_t len)
{
	struct ucoap_msg m;
	uint8_t buf[1600];
	size_t n;

	ucoap_msg_init(&m, UCOAP_TYPE_CON, code);
	m.mid = peer_mid++;
	m.token_len = 1;
	m.token[0] = (uint8_t)m.mid; /* §2.5: tokens may change per block */
	ck_assert_int_eq(ucoap_msg_set_uri(&m, path), 0);
	if (b1)
		ck_assert_int_eq(ucoap_msg_add_block(&m, UCOAP_OPT_BLOCK1, b1),
				 0);
	if (b2)
		ck_assert_int_eq(ucoap_msg_add_block(&m, UCOAP_OPT_BLOCK2, b2),
				 0);
	if (size1)
		ck_assert_int_eq(ucoap_msg_add_size(&m, UCOAP_OPT_SIZE1, size1),
				 0);
	m.payload = len ? payload : NULL;
	m.payload_len = len;
	ck_assert_int_eq(ucoap_msg_encode(&m, buf, sizeof(buf), &n), 0);
	ucoap_ep_input(srv, buf, n, &peer);
}

/* The server's last datagram, decoded (views into the log). */
static struct ucoap_msg last;

static const struct ucoap_msg *answer(void)
{
	const struct fn_dgram *d = fn_last(net);

	ck_assert_ptr_nonnull(d);
	ck_assert(ucoap_addr_equal(&d->to, &peer));
	ck_assert_int_eq(ucoap_msg_decode(&last, d->data, d->len), 0);
	ck_assert_uint_eq(last.type, UCOAP_TYPE_ACK);
	ck_assert_uint_eq(last.mid, (uint16_t)(peer_mid - 1));
	return &last;
}

static void expect_block(const struct ucoap_msg *m, uint16_t opt, uint32_t num,
			 bool more, uint8_t szx)
{
	struct ucoap_block b;

	ck_assert_int_eq(ucoap_msg_get_block(m, opt, &b), 0);
	ck_assert_uint_eq(b.num, num);
	ck_assert(b.more == more);
	ck_assert_uint_eq(b.szx, szx);
}

/* ---- server Block2 ---- */

START_TEST(server_block2_first_block_unasked)
{
	const struct ucoap_msg *a;
	uint32_t size2;

	/* §2.2/§4: no Block2 asked, a body over 1024: block 0, M, Size2. */
	peer_req(UCOAP_GET, "large", NULL, NULL, 0, NULL, 0);
	a = answer();
	ck_assert_uint_eq(a->code, UCOAP_CONTENT);
	expect_block(a, UCOAP_OPT_BLOCK2, 0, true, 6);
	ck_assert_int_eq(ucoap_msg_get_size(a, UCOAP_OPT_SIZE2, &size2), 0);
	ck_assert_uint_eq(size2, LARGE);
	ck_assert_uint_eq(a->payload_len, 1024);
	ck_assert_mem_eq(a->payload, body, 1024);
	ck_assert_ptr_nonnull(ucoap_msg_find(a, UCOAP_OPT_ETAG));
}
END_TEST

START_TEST(server_block2_each_block_at_szx6)
{
	for (uint32_t n = 0; n < 3; n++) {
		struct ucoap_block b2 = {n, false, 6};
		const struct ucoap_msg *a;

		peer_req(UCOAP_GET, "large", NULL, &b2, 0, NULL, 0);
		a = answer();
		expect_block(a, UCOAP_OPT_BLOCK2, n, n < 2, 6);
		ck_assert_uint_eq(a->payload_len, 1024);
		ck_assert_mem_eq(a->payload, body + n * 1024, 1024);
		/* §4: Size2 comes with the first block only (not asked). */
		ck_assert((ucoap_msg_find(a, UCOAP_OPT_SIZE2) != NULL) ==
			  (n == 0));
	}
	/* Stateless: the handler ran for every block. */
	ck_assert_uint_eq(handler_calls, 3);
}
END_TEST

START_TEST(server_block2_client_szx_smaller_wins)
{
	struct ucoap_block b2 = {0, false, 4};
	const struct ucoap_msg *a;

	peer_req(UCOAP_GET, "large", NULL, &b2, 0, NULL, 0);
	a = answer();
	expect_block(a, UCOAP_OPT_BLOCK2, 0, true, 4);
	ck_assert_uint_eq(a->payload_len, 256);
	b2.num = 11; /* 3072 / 256 = 12 blocks: the last */
	peer_req(UCOAP_GET, "large", NULL, &b2, 0, NULL, 0);
	a = answer();
	expect_block(a, UCOAP_OPT_BLOCK2, 11, false, 4);
	ck_assert_uint_eq(a->payload_len, 256);
	ck_assert_mem_eq(a->payload, body + 11 * 256, 256);
	/* Past the end: 4.02 (§2.2), no payload. */
	b2.num = 12;
	peer_req(UCOAP_GET, "large", NULL, &b2, 0, NULL, 0);
	a = answer();
	ck_assert_uint_eq(a->code, UCOAP_BAD_OPTION);
	ck_assert_uint_eq(a->payload_len, 0);
}
END_TEST

START_TEST(server_block2_our_szx_smaller_wins)
{
	struct ucoap_ep_config cfg;
	struct ucoap_block b2 = {1, false, 6};
	const struct ucoap_msg *a;

	ucoap_ep_config_init(&cfg);
	cfg.block_szx = 5;
	teardown();
	start(&cfg, NULL);
	/* Block 1 of 1024 starts at 1024: block 2 of 512 (§2.4). */
	peer_req(UCOAP_GET, "large", NULL, &b2, 0, NULL, 0);
	a = answer();
	expect_block(a, UCOAP_OPT_BLOCK2, 2, true, 5);
	ck_assert_uint_eq(a->payload_len, 512);
	ck_assert_mem_eq(a->payload, body + 1024, 512);
}
END_TEST

/* ---- server Block1 ---- */

static void send_b1(uint32_t num, bool more, uint8_t szx, size_t len,
		    uint32_t size1)
{
	struct ucoap_block b1 = {num, more, szx};

	peer_req(UCOAP_PUT, "large-update", &b1, NULL, size1,
		 body + ucoap_block_offset(&b1), len);
}

START_TEST(server_block1_in_order)
{
	const struct ucoap_msg *a;

	send_b1(0, true, 6, 1024, LARGE);
	a = answer();
	ck_assert_uint_eq(a->code, UCOAP_CONTINUE);
	expect_block(a, UCOAP_OPT_BLOCK1, 0, true, 6);
	send_b1(1, true, 6, 1024, 0);
	a = answer();
	ck_assert_uint_eq(a->code, UCOAP_CONTINUE);
	expect_block(a, UCOAP_OPT_BLOCK1, 1, true, 6);
	ck_assert_uint_eq(handler_calls, 0);
	send_b1(2, false, 6, 1024, 0);
	a = answer();
	/* §2.3: the final answer echoes Block1 with M=0. */
	ck_assert_uint_eq(a->code, UCOAP_CHANGED);
	expect_block(a, UCOAP_OPT_BLOCK1, 2, false, 6);
	ck_assert_uint_eq(handler_calls, 1);
	ck_assert_uint_eq(srv_got_len, LARGE);
	ck_assert_mem_eq(srv_got, body, LARGE);
}
END_TEST

START_TEST(server_block1_late_negotiation)
{
	struct ucoap_ep_config cfg;
	const struct ucoap_msg *a;

	ucoap_ep_config_init(&cfg);
	cfg.block_szx = 4;
	teardown();
	start(&cfg, NULL);
	/* §2.3 Figure 6: 1024 taken, but 256 asked for from now on. */
	send_b1(0, true, 6, 1024, 0);
	a = answer();
	ck_assert_uint_eq(a->code, UCOAP_CONTINUE);
	expect_block(a, UCOAP_OPT_BLOCK1, 0, true, 4);
	for (uint32_t n = 4; n < 12; n++) {
		send_b1(n, n < 11, 4, 256, 0);
		a = answer();
		expect_block(a, UCOAP_OPT_BLOCK1, n, n < 11, 4);
	}
	ck_assert_uint_eq(a->code, UCOAP_CHANGED);
	ck_assert_uint_eq(srv_got_len, LARGE);
	ck_assert_mem_eq(srv_got, body, LARGE);
}
END_TEST

START_TEST(server_block1_out_of_order_408)
{
	const struct ucoap_msg *a;

	send_b1(0, true, 6, 1024, 0);
	ck_assert_uint_eq(answer()->code, UCOAP_CONTINUE);
	send_b1(2, false, 6, 1024, 0);
	a = answer();
	ck_assert_uint_eq(a->code, UCOAP_REQUEST_ENTITY_INCOMPLETE);
	ck_assert_ptr_null(ucoap_msg_find(a, UCOAP_OPT_BLOCK1));
	/* The body was dropped: block 1 now lacks its first block. */
	send_b1(1, true, 6, 1024, 0);
	ck_assert_uint_eq(answer()->code, UCOAP_REQUEST_ENTITY_INCOMPLETE);
	ck_assert_uint_eq(handler_calls, 0);
}
END_TEST

START_TEST(server_block1_missing_first_408)
{
	send_b1(1, true, 6, 1024, 0);
	ck_assert_uint_eq(answer()->code, UCOAP_REQUEST_ENTITY_INCOMPLETE);
	ck_assert_uint_eq(handler_calls, 0);
}
END_TEST

START_TEST(server_block1_repeat_of_last_block)
{
	send_b1(0, true, 6, 1024, 0);
	send_b1(1, true, 6, 1024, 0);
	/* Re-sent with a new message id (our 2.31 was lost): 2.31 again. */
	send_b1(1, true, 6, 1024, 0);
	ck_assert_uint_eq(answer()->code, UCOAP_CONTINUE);
	send_b1(2, false, 6, 1024, 0);
	ck_assert_uint_eq(answer()->code, UCOAP_CHANGED);
	ck_assert_uint_eq(srv_got_len, LARGE);
	ck_assert_mem_eq(srv_got, body, LARGE);
}
END_TEST

START_TEST(server_block1_size1_too_large_413)
{
	const struct ucoap_msg *a;
	uint32_t size1;

	send_b1(0, true, 6, 1024, 20000);
	a = answer();
	ck_assert_uint_eq(a->code, UCOAP_REQUEST_ENTITY_TOO_LARGE);
	ck_assert_int_eq(ucoap_msg_get_size(a, UCOAP_OPT_SIZE1, &size1), 0);
	ck_assert_uint_eq(size1, 16 * 1024);
	ck_assert_uint_eq(handler_calls, 0);
}
END_TEST

START_TEST(server_block1_accumulated_too_large_413)
{
	struct ucoap_ep_config cfg;
	const struct ucoap_msg *a;
	uint32_t size1;

	ucoap_ep_config_init(&cfg);
	cfg.max_body_size = 2048;
	teardown();
	start(&cfg, NULL);
	send_b1(0, true, 6, 1024, 0);
	send_b1(1, true, 6, 1024, 0);
	ck_assert_uint_eq(answer()->code, UCOAP_CONTINUE);
	send_b1(2, false, 6, 1024, 0);
	a = answer();
	ck_assert_uint_eq(a->code, UCOAP_REQUEST_ENTITY_TOO_LARGE);
	ck_assert_int_eq(ucoap_msg_get_size(a, UCOAP_OPT_SIZE1, &size1), 0);
	ck_assert_uint_eq(size1, 2048);
	ck_assert_uint_eq(handler_calls, 0);
}
END_TEST

START_TEST(server_block1_short_block_400)
{
	/* §2.2: a block with M=1 must fill the block size. */
	send_b1(0, true, 6, 1000, 0);
	ck_assert_uint_eq(answer()->code, UCOAP_BAD_REQUEST);
}
END_TEST

START_TEST(server_block1_pool_full_and_abandoned_freed)
{
	struct ucoap_ep_config cfg;
	struct ucoap_block b1 = {0, true, 6};
	const struct ucoap_msg *a;
	uint32_t max_age;

	ucoap_ep_config_init(&cfg);
	cfg.max_block_transfers = 1;
	teardown();
	start(&cfg, NULL);
	send_b1(0, true, 6, 1024, 0);
	ck_assert_uint_eq(answer()->code, UCOAP_CONTINUE);
	/* Another body (another URI) while the only slot is taken: 5.03. */
	peer_req(UCOAP_PUT, "other", &b1, NULL, 0, body, 1024);
	a = answer();
	ck_assert_uint_eq(a->code, UCOAP_SERVICE_UNAVAILABLE);
	ck_assert_int_eq(ucoap_msg_get_uint(a, UCOAP_OPT_MAX_AGE, &max_age), 0);
	ck_assert_uint_eq(max_age, UCOAP_EXCHANGE_LIFETIME_MS / 1000);
	/* The first body, abandoned: its slot is freed after its lifetime. */
	ck_assert_int_eq(ucoap_ep_next_timeout(srv) >= 0, 1);
	net->now += UCOAP_EXCHANGE_LIFETIME_MS;
	ucoap_ep_tick(srv);
	send_b1(1, true, 6, 1024, 0);
	ck_assert_uint_eq(answer()->code, UCOAP_REQUEST_ENTITY_INCOMPLETE);
	peer_req(UCOAP_PUT, "other", &b1, NULL, 0, body, 1024);
	ck_assert_uint_eq(answer()->code, UCOAP_CONTINUE);
}
END_TEST

START_TEST(server_block1_szx7_402)
{
	/* CON PUT mid 0x0777, Block1 value 0x0F (SZX 7, reserved). */
	static const uint8_t in[] = {0x40, UCOAP_PUT, 0x07, 0x77, 0xD1,
				     0x0E, 0x0F,      0xFF, 'x'};
	struct ucoap_msg m;

	ucoap_ep_input(srv, in, sizeof(in), &peer);
	ck_assert_int_eq(
	    ucoap_msg_decode(&m, fn_last(net)->data, fn_last(net)->len), 0);
	ck_assert_uint_eq(m.code, UCOAP_BAD_OPTION);
	ck_assert_uint_eq(handler_calls, 0);
}
END_TEST

/* ---- our client against our server ---- */

static void client_get(const struct ucoap_block *pref)
{
	struct ucoap_msg req;

	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&req, "large"), 0);
	if (pref)
		ck_assert_int_eq(
		    ucoap_msg_add_block(&req, UCOAP_OPT_BLOCK2, pref), 0);
	ck_assert_int_eq(
	    ucoap_ep_request(cli, &srv_addr, &req, 0, on_done, NULL, NULL), 0);
}

START_TEST(client_block2_reassembles)
{
	struct ucoap_ep_stats st;

	client_get(NULL);
	run();
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(done_status, 0);
	ck_assert_uint_eq(done_code, UCOAP_CONTENT);
	ck_assert(!done_had_block2);
	ck_assert_uint_eq(got_len, LARGE);
	ck_assert_mem_eq(got, body, LARGE);
	ck_assert_uint_eq(handler_calls, 3);
	ucoap_ep_stats(cli, &st);
	ck_assert_uint_eq(st.exchanges_open, 0);
}
END_TEST

START_TEST(client_block2_size_preference)
{
	struct ucoap_block pref = {0, false, 5};

	client_get(&pref);
	run();
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(done_status, 0);
	ck_assert_uint_eq(got_len, LARGE);
	ck_assert_mem_eq(got, body, LARGE);
	ck_assert_uint_eq(handler_calls, 6); /* 512-byte blocks */
}
END_TEST

START_TEST(client_block2_etag_change_fails)
{
	etag_changes = true;
	client_get(NULL);
	run();
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(done_status, UCOAP_ERR_INVAL);
}
END_TEST

START_TEST(client_block2_too_large_for_us)
{
	struct ucoap_ep_config cfg;

	ucoap_ep_config_init(&cfg);
	cfg.max_body_size = 2048;
	teardown();
	start(NULL, &cfg);
	client_get(NULL);
	run();
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(done_status, UCOAP_ERR_NOSPACE);
}
END_TEST

static void client_send_body(uint8_t code, uint8_t szx_pref)
{
	struct ucoap_msg req;

	ucoap_msg_init(&req, UCOAP_TYPE_CON, code);
	ck_assert_int_eq(ucoap_msg_set_uri(&req, "large-update"), 0);
	if (szx_pref <= UCOAP_BLOCK_SZX_MAX) {
		struct ucoap_block b = {0, false, szx_pref};

		ck_assert_int_eq(
		    ucoap_msg_add_block(&req, UCOAP_OPT_BLOCK1, &b), 0);
	}
	req.payload = body;
	req.payload_len = sizeof(body);
	ck_assert_int_eq(
	    ucoap_ep_request(cli, &srv_addr, &req, 0, on_done, NULL, NULL), 0);
	ck_assert_uint_eq(req.token_len, 4);
}

/* Requests the client sent carrying Block1, and answers that were 2.31. */
static void count_wire(unsigned *b1_reqs, unsigned *continues)
{
	*b1_reqs = *continues = 0;
	for (unsigned i = 0; i < net->nlog && i < FN_LOG; i++) {
		struct ucoap_msg m;

		if (ucoap_msg_decode(&m, net->log[i].data, net->log[i].len) < 0)
			continue;
		if (UCOAP_CODE_CLASS(m.code) == 0 &&
		    ucoap_msg_find(&m, UCOAP_OPT_BLOCK1))
			(*b1_reqs)++;
		if (m.code == UCOAP_CONTINUE)
			(*continues)++;
	}
}

START_TEST(client_block1_put)
{
	unsigned reqs, conts;

	client_send_body(UCOAP_PUT, 0xFF);
	run();
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(done_status, 0);
	ck_assert_uint_eq(done_code, UCOAP_CHANGED);
	ck_assert(done_had_block1);
	ck_assert_uint_eq(handler_calls, 1);
	ck_assert_uint_eq(srv_got_len, LARGE);
	ck_assert_mem_eq(srv_got, body, LARGE);
	count_wire(&reqs, &conts);
	ck_assert_uint_eq(reqs, 3);
	ck_assert_uint_eq(conts, 2);
}
END_TEST

START_TEST(client_block1_follows_smaller_server_size)
{
	struct ucoap_ep_config cfg;
	unsigned reqs, conts;

	ucoap_ep_config_init(&cfg);
	cfg.block_szx = 4;
	teardown();
	start(&cfg, NULL);
	client_send_body(UCOAP_PUT, 0xFF);
	run();
	ck_assert_int_eq(done_status, 0);
	ck_assert_uint_eq(done_code, UCOAP_CHANGED);
	ck_assert_uint_eq(handler_calls, 1);
	/* 1024 first, then 256 at a time: 1 + 8 requests. */
	count_wire(&reqs, &conts);
	ck_assert_uint_eq(reqs, 9);
}
END_TEST

START_TEST(client_block1_size_preference)
{
	unsigned reqs, conts;

	client_send_body(UCOAP_PUT, 5);
	run();
	ck_assert_int_eq(done_status, 0);
	count_wire(&reqs, &conts);
	ck_assert_uint_eq(reqs, 6);
}
END_TEST

START_TEST(client_block1_post_block2_answer)
{
	/* §3.3: a Block1 POST whose answer comes back block-wise. */
	client_send_body(UCOAP_POST, 0xFF);
	run();
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(done_status, 0);
	ck_assert_uint_eq(done_code, UCOAP_CHANGED);
	ck_assert_uint_eq(handler_calls, 1); /* the rest from the kept answer */
	ck_assert_uint_eq(got_len, LARGE);
	for (size_t i = 0; i < LARGE; i++)
		ck_assert_uint_eq(got[i], body[i] - 32);
}
END_TEST

START_TEST(client_too_large_body_refused)
{
	static uint8_t huge[16 * 1024 + 1];
	struct ucoap_msg req;

	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_PUT);
	req.payload = huge;
	req.payload_len = sizeof(huge);
	ck_assert_int_eq(
	    ucoap_ep_request(cli, &srv_addr, &req, 0, on_done, NULL, NULL),
	    UCOAP_ERR_NOSPACE);
}
END_TEST

START_TEST(client_cancel_mid_transfer)
{
	struct ucoap_msg req;
	struct ucoap_ep_stats st;
	uint16_t mid;

	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_PUT);
	ck_assert_int_eq(ucoap_msg_set_uri(&req, "large-update"), 0);
	req.payload = body;
	req.payload_len = sizeof(body);
	ck_assert_int_eq(
	    ucoap_ep_request(cli, &srv_addr, &req, 0, on_done, NULL, &mid), 0);
	/* One round trip: the second block is under another message id. */
	ucoap_ep_process(srv, 0);
	ucoap_ep_process(cli, 0);
	ck_assert_uint_eq(ndone, 0);
	ck_assert_int_eq(ucoap_ep_cancel(cli, mid), 0);
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(done_status, UCOAP_ERR_CANCELLED);
	ucoap_ep_stats(cli, &st);
	ck_assert_uint_eq(st.exchanges_open, 0);
}
END_TEST

START_TEST(lossy_network_completes)
{
	struct ucoap_ep_stats st;

	net->drop_pct = 25;
	client_get(NULL);
	run();
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(done_status, 0);
	ck_assert_uint_eq(got_len, LARGE);
	ck_assert_mem_eq(got, body, LARGE);
	client_send_body(UCOAP_PUT, 0xFF);
	run();
	ck_assert_uint_eq(ndone, 2);
	ck_assert_int_eq(done_status, 0);
	ck_assert_uint_eq(done_code, UCOAP_CHANGED);
	ucoap_ep_stats(cli, &st);
	/* Blocks were lost and resent; the body still arrived whole. */
	ck_assert_uint_gt(st.retransmissions, 0);
	ck_assert_uint_gt(net->dropped, 0);
	ck_assert_uint_eq(srv_got_len, LARGE);
	ck_assert_mem_eq(srv_got, body, LARGE);
}
END_TEST

static Suite *block_suite(void)
{
	Suite *s = suite_create("block");
	TCase *tc = tcase_create("server_block2");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, server_block2_first_block_unasked);
	tcase_add_test(tc, server_block2_each_block_at_szx6);
	tcase_add_test(tc, server_block2_client_szx_smaller_wins);
	tcase_add_test(tc, server_block2_our_szx_smaller_wins);
	suite_add_tcase(s, tc);

	tc = tcase_create("server_block1");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, server_block1_in_order);
	tcase_add_test(tc, server_block1_late_negotiation);
	tcase_add_test(tc, server_block1_out_of_order_408);
	tcase_add_test(tc, server_block1_missing_first_408);
	tcase_add_test(tc, server_block1_repeat_of_last_block);
	tcase_add_test(tc, server_block1_size1_too_large_413);
	tcase_add_test(tc, server_block1_accumulated_too_large_413);
	tcase_add_test(tc, server_block1_short_block_400);
	tcase_add_test(tc, server_block1_pool_full_and_abandoned_freed);
	tcase_add_test(tc, server_block1_szx7_402);
	suite_add_tcase(s, tc);

	tc = tcase_create("client");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, client_block2_reassembles);
	tcase_add_test(tc, client_block2_size_preference);
	tcase_add_test(tc, client_block2_etag_change_fails);
	tcase_add_test(tc, client_block2_too_large_for_us);
	tcase_add_test(tc, client_block1_put);
	tcase_add_test(tc, client_block1_follows_smaller_server_size);
	tcase_add_test(tc, client_block1_size_preference);
	tcase_add_test(tc, client_block1_post_block2_answer);
	tcase_add_test(tc, client_too_large_body_refused);
	tcase_add_test(tc, client_cancel_mid_transfer);
	tcase_add_test(tc, lossy_network_completes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(block_suite());
}
