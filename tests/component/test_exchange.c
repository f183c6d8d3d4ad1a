/*
 * The endpoint's client role (RFC 7252 §4.2, §5.2, §5.3.2) through
 * fakenet.h: the retransmission schedule to the millisecond with a
 * deterministic random hook, give-up, matching of ACK/RST/separate
 * responses, exactly-once completion, and a lossy network.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <ucoap/endpoint.h>

#include "fakenet.h"
#include "runner.h"

static struct fakenet *net;
static struct ucoap_ep *ep;
static struct ucoap_addr peer;

#define MAXDONE 64
static struct done {
	int status;
	uint8_t code;
	uint8_t payload[16];
	size_t payload_len;
	uint64_t t;
	void *user;
} done[MAXDONE];
static unsigned ndone;

static void on_done(struct ucoap_ep *e, int status, const struct ucoap_msg *m,
		    const struct ucoap_addr *from, void *user)
{
	struct done *d = &done[ndone < MAXDONE ? ndone : MAXDONE - 1];

	ndone++;
	d->status = status;
	d->user = user;
	d->t = net->now;
	if (status == 0) {
		ck_assert_ptr_nonnull(m);
		ck_assert_ptr_nonnull(from);
		ck_assert(ucoap_addr_equal(from, &peer));
		d->code = m->code;
		d->payload_len = m->payload_len < 16 ? m->payload_len : 16;
		if (d->payload_len)
			memcpy(d->payload, m->payload, d->payload_len);
	} else {
		ck_assert_ptr_null(m);
		ck_assert_ptr_null(from);
	}
}

static void start(const struct ucoap_ep_config *cfg)
{
	net = fn_new(7);
	ep = fn_ep_new(net, cfg, "192.0.2.1", 5683);
	ck_assert_ptr_nonnull(ep);
	ucoap_addr_set(&peer, "192.0.2.2", 5683);
	ucoap_ep_set_response_callback(ep, on_done, NULL);
	ndone = 0;
}

static void setup(void)
{
	start(NULL);
}

static void teardown(void)
{
	ucoap_ep_free(ep);
	fn_free(net);
}

/* Advance the fake clock to @t, running every timer on the way. */
static void run_until(uint64_t t)
{
	struct ucoap_ep *eps[] = {ep};

	fn_run(net, eps, 1, t);
}

/* CON GET /temp to the peer, with a random 4-byte token. */
static uint16_t get_temp(void)
{
	struct ucoap_msg req;
	uint16_t mid;

	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&req, "temp"), 0);
	ck_assert_int_eq(ucoap_ep_request(ep, &peer, &req, 0, NULL, NULL, &mid),
			 0);
	ck_assert_uint_eq(req.token_len, 4);
	return mid;
}

/* The transmissions' times relative to @t0, and their count. */
static unsigned send_times(uint64_t t0, uint64_t *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < net->nlog && n < max; i++)
		out[n++] = net->log[i].t - t0;
	return n;
}

static void check_schedule(uint8_t rand_byte, const uint64_t *want,
			   uint64_t give_up)
{
	uint64_t t0 = net->now, times[8];
	struct ucoap_ep_stats st;
	unsigned n;

	net->rand_mode = FN_RAND_CONST;
	net->rand_byte = rand_byte;
	get_temp();
	run_until(t0 + give_up - 1);
	ck_assert_uint_eq(ndone, 0);
	run_until(t0 + 1000000);
	n = send_times(t0, times, 8);
	ck_assert_uint_eq(n, 1 + UCOAP_MAX_RETRANSMIT);
	for (unsigned i = 0; i < n; i++)
		ck_assert_uint_eq(times[i], want[i]);
	/* Every copy is the same datagram (same mid, same token). */
	for (unsigned i = 1; i < n; i++) {
		ck_assert_uint_eq(net->log[i].len, net->log[0].len);
		ck_assert_mem_eq(net->log[i].data, net->log[0].data,
				 net->log[0].len);
	}
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(done[0].status, UCOAP_ERR_TIMEOUT);
	ck_assert_uint_eq(done[0].t, t0 + give_up);
	ucoap_ep_stats(ep, &st);
	ck_assert_uint_eq(st.retransmissions, UCOAP_MAX_RETRANSMIT);
	ck_assert_uint_eq(st.timeouts, 1);
	ck_assert_uint_eq(st.exchanges_open, 0);
	ck_assert_int_eq(ucoap_ep_next_timeout(ep), -1);
}

START_TEST(test_schedule_lower_bound)
{
	/* Random 0: the first timeout is ACK_TIMEOUT, then doubling. */
	static const uint64_t want[] = {0, 2000, 6000, 14000, 30000};

	check_schedule(0x00, want, 62000);
}
END_TEST

START_TEST(test_schedule_upper_bound)
{
	/* Random all ones: ACK_TIMEOUT * ACK_RANDOM_FACTOR = 3000. */
	static const uint64_t want[] = {0, 3000, 9000, 21000, 45000};

	check_schedule(0xFF, want, 93000);
}
END_TEST

START_TEST(test_schedule_random_within_bounds)
{
	/* Over many draws the first timeout stays in [2000, 3000] and varies.
	 */
	uint64_t lo = UINT64_MAX, hi = 0;

	for (unsigned i = 0; i < 40; i++) {
		uint64_t t0 = net->now;
		unsigned n0 = net->nlog, tmo;

		get_temp();
		run_until(t0 + 3000);
		ck_assert_uint_eq(net->nlog, n0 + 2);
		tmo = (unsigned)(net->log[n0 + 1].t - t0);
		ck_assert_uint_ge(tmo, 2000);
		ck_assert_uint_le(tmo, 3000);
		lo = tmo < lo ? tmo : lo;
		hi = tmo > hi ? tmo : hi;
		ck_assert_int_eq(ucoap_ep_cancel(ep, net->log[n0].data[2] << 8 |
							 net->log[n0].data[3]),
				 0);
	}
	ck_assert_uint_lt(lo, hi);
}
END_TEST

START_TEST(test_microcoapy_con_never_retransmitted)
{
	unsigned n0 = net->nlog;

	get_temp();
	run_until(net->now + 3000);
	/* microCoAPy sent a CON once and forgot it. */
	ck_assert_uint_eq(net->nlog, n0 + 2);
	ck_assert_mem_eq(net->log[n0 + 1].data, net->log[n0].data,
			 net->log[n0].len);
}
END_TEST

START_TEST(test_config_changes_schedule)
{
	struct ucoap_ep_config cfg;

	ucoap_ep_config_init(&cfg);
	cfg.ack_timeout_ms = 100;
	cfg.ack_random_factor = 1.0;
	cfg.max_retransmit = 2;
	teardown();
	start(&cfg);
	get_temp();
	run_until(net->now + 100000);
	ck_assert_uint_eq(net->nlog, 3);
	ck_assert_uint_eq(net->log[1].t - net->log[0].t, 100);
	ck_assert_uint_eq(net->log[2].t - net->log[1].t, 200);
	ck_assert_uint_eq(ndone, 1);
	ck_assert_uint_eq(done[0].t - net->log[0].t, 700);
}
END_TEST

static void peer_sends(const uint8_t *b, size_t len)
{
	ucoap_ep_input(ep, b, len, &peer);
}

START_TEST(test_piggybacked_ack_stops_retransmission)
{
	const struct fn_dgram *req;
	uint8_t ack[16];

	get_temp();
	req = fn_sent(net, 0);
	/* ACK 2.05 "22" with our mid and token (4 random bytes). */
	ck_assert_uint_eq(req->data[0], 0x44);
	ck_assert_uint_eq(req->data[1], UCOAP_GET);
	ack[0] = 0x64;
	ack[1] = UCOAP_CONTENT;
	memcpy(ack + 2, req->data + 2, 2 + 4);
	ack[8] = 0xFF;
	ack[9] = '2';
	ack[10] = '2';
	net->now += 1000;
	peer_sends(ack, 11);
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(done[0].status, 0);
	ck_assert_uint_eq(done[0].code, UCOAP_CONTENT);
	ck_assert_uint_eq(done[0].payload_len, 2);
	ck_assert_mem_eq(done[0].payload, "22", 2);
	/* An ACK must not be answered; nothing is due any more. */
	ck_assert_uint_eq(net->nlog, 1);
	ck_assert_int_eq(ucoap_ep_next_timeout(ep), -1);
	run_until(net->now + 600000);
	ck_assert_uint_eq(net->nlog, 1);
	/* A duplicate ACK changes nothing. */
	peer_sends(ack, 11);
	ck_assert_uint_eq(ndone, 1);
}
END_TEST

START_TEST(test_ack_with_wrong_token_ignored)
{
	const struct fn_dgram *req;
	uint8_t ack[8];

	get_temp();
	req = fn_sent(net, 0);
	memcpy(ack, req->data, 8);
	ack[0] = 0x64;
	ack[1] = UCOAP_CONTENT;
	ack[4] ^= 0xFF;
	peer_sends(ack, 8);
	ck_assert_uint_eq(ndone, 0);
	/* Still retransmitting. */
	run_until(net->now + 3000);
	ck_assert_uint_eq(net->nlog, 2);
}
END_TEST

START_TEST(test_client_separate_response)
{
	const struct fn_dgram *req;
	uint8_t b[16];
	unsigned n;

	ucoap_addr_set(&peer, "::ffff:192.0.2.2", 5683); /* mapped: same peer */
	get_temp();
	req = fn_sent(net, 0);
	/* The empty ACK: retransmissions stop, the request stays open. */
	b[0] = 0x60;
	b[1] = 0;
	b[2] = req->data[2];
	b[3] = req->data[3];
	peer_sends(b, 4);
	ck_assert_uint_eq(ndone, 0);
	run_until(net->now + 60000);
	ck_assert_uint_eq(net->nlog, 1);
	/* The separate response: CON 2.05, the peer's own mid, our token. */
	b[0] = 0x44;
	b[1] = UCOAP_CONTENT;
	b[2] = 0x77;
	b[3] = 0x01;
	memcpy(b + 4, req->data + 4, 4);
	b[8] = 0xFF;
	b[9] = 'o';
	peer_sends(b, 10);
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(done[0].status, 0);
	ck_assert_uint_eq(done[0].code, UCOAP_CONTENT);
	/* ACKed with an empty ACK, exactly 4 bytes, code 0.00. */
	ck_assert_uint_eq(net->nlog, 2);
	ck_assert_uint_eq(fn_last(net)->len, 4);
	ck_assert_mem_eq(fn_last(net)->data, "\x60\x00\x77\x01", 4);
	/* Its retransmission (our ACK lost) gets the ACK again, no RST. */
	n = net->nlog;
	peer_sends(b, 10);
	ck_assert_uint_eq(ndone, 1);
	ck_assert_uint_eq(net->nlog, n + 1);
	ck_assert_mem_eq(fn_last(net)->data, "\x60\x00\x77\x01", 4);
}
END_TEST

START_TEST(test_microcoapy_separate_ack_carries_code)
{
	const struct fn_dgram *req;
	uint8_t b[16];

	get_temp();
	req = fn_sent(net, 0);
	/* The separate response arrives before any ACK (ACK lost). */
	b[0] = 0x44;
	b[1] = UCOAP_CHANGED;
	b[2] = 0x10;
	b[3] = 0x20;
	memcpy(b + 4, req->data + 4, 4);
	peer_sends(b, 8);
	ck_assert_uint_eq(ndone, 1);
	/* microCoAPy put a code (and token) in this ACK; §4.2 says empty. */
	ck_assert_uint_eq(fn_last(net)->len, 4);
	ck_assert_uint_eq(fn_last(net)->data[0], 0x60);
	ck_assert_uint_eq(fn_last(net)->data[1], UCOAP_EMPTY);
	/* And nothing is retransmitted afterwards. */
	run_until(net->now + 600000);
	ck_assert_uint_eq(net->nlog, 2);
}
END_TEST

START_TEST(test_separate_response_timeout)
{
	struct ucoap_msg req;
	uint8_t b[4];
	uint16_t mid;

	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(
	    ucoap_ep_request(ep, &peer, &req, 5000, on_done, NULL, &mid), 0);
	b[0] = 0x60;
	b[1] = 0;
	b[2] = (uint8_t)(mid >> 8);
	b[3] = (uint8_t)mid;
	net->now += 100;
	peer_sends(b, 4);
	run_until(net->now + 4899);
	ck_assert_uint_eq(ndone, 0);
	run_until(net->now + 1);
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(done[0].status, UCOAP_ERR_TIMEOUT);
}
END_TEST

START_TEST(test_rst_completes_request)
{
	uint16_t mid = get_temp();
	uint8_t rst[4] = {0x70, 0, (uint8_t)(mid >> 8), (uint8_t)mid};
	struct ucoap_addr other;

	/* An RST from another peer does not match. */
	ucoap_addr_set(&other, "192.0.2.3", 5683);
	ucoap_ep_input(ep, rst, 4, &other);
	ck_assert_uint_eq(ndone, 0);
	peer_sends(rst, 4);
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(done[0].status, UCOAP_ERR_RST);
	/* Never answered, nothing retransmitted. */
	run_until(net->now + 600000);
	ck_assert_uint_eq(net->nlog, 1);
	peer_sends(rst, 4);
	ck_assert_uint_eq(ndone, 1);
}
END_TEST

START_TEST(test_ping)
{
	uint16_t mid;
	uint8_t rst[4];

	ck_assert_int_eq(ucoap_ep_ping(ep, &peer, on_done, &peer, &mid), 0);
	ck_assert_uint_eq(fn_last(net)->len, 4);
	ck_assert_uint_eq(fn_last(net)->data[0], 0x40);
	ck_assert_uint_eq(fn_last(net)->data[1], 0);
	rst[0] = 0x70;
	rst[1] = 0;
	rst[2] = (uint8_t)(mid >> 8);
	rst[3] = (uint8_t)mid;
	peer_sends(rst, 4);
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(done[0].status, UCOAP_ERR_RST);
	ck_assert_ptr_eq(done[0].user, &peer);
}
END_TEST

START_TEST(test_table_full)
{
	struct ucoap_ep_config cfg;
	struct ucoap_msg req;

	ucoap_ep_config_init(&cfg);
	cfg.max_exchanges = 2;
	teardown();
	start(&cfg);
	get_temp();
	get_temp();
	ck_assert_uint_eq(ucoap_get(ep, "192.0.2.2", 5683, "t", NULL, 0), 0);
	ucoap_msg_init(&req, UCOAP_TYPE_NON, UCOAP_GET);
	ck_assert_int_eq(
	    ucoap_ep_request(ep, &peer, &req, 0, on_done, NULL, NULL),
	    UCOAP_ERR_FULL);
	ck_assert_uint_eq(net->nlog, 2);
	/* A slot frees when a request completes. */
	ck_assert_int_eq(
	    ucoap_ep_cancel(
		ep, (uint16_t)(net->log[0].data[2] << 8 | net->log[0].data[3])),
	    0);
	ck_assert_uint_ne(ucoap_get(ep, "192.0.2.2", 5683, "t", NULL, 0), 0);
}
END_TEST

START_TEST(test_cancel)
{
	uint16_t mid = get_temp();

	ck_assert_int_eq(ucoap_ep_cancel(ep, mid), 0);
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(done[0].status, UCOAP_ERR_CANCELLED);
	ck_assert_int_eq(ucoap_ep_cancel(ep, mid), UCOAP_ERR_NOENT);
	run_until(net->now + 600000);
	ck_assert_uint_eq(net->nlog, 1);
	ck_assert_uint_eq(ndone, 1);
}
END_TEST

START_TEST(test_free_cancels_open_requests)
{
	struct ucoap_msg req;

	get_temp();
	ucoap_msg_init(&req, UCOAP_TYPE_NON, UCOAP_POST);
	ck_assert_int_eq(
	    ucoap_ep_request(ep, &peer, &req, 0, on_done, &req, NULL), 0);
	ck_assert_int_eq(ucoap_ep_ping(ep, &peer, on_done, NULL, NULL), 0);
	ucoap_ep_free(ep);
	ep = NULL;
	ck_assert_uint_eq(ndone, 3);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(done[i].status, UCOAP_ERR_CANCELLED);
}
END_TEST

START_TEST(test_non_request)
{
	struct ucoap_msg req, m;
	const struct fn_dgram *d;
	uint8_t b[16];

	ucoap_msg_init(&req, UCOAP_TYPE_NON, UCOAP_GET);
	ck_assert_int_eq(
	    ucoap_ep_request(ep, &peer, &req, 0, on_done, NULL, NULL), 0);
	/* A fresh random 4-byte token, written back into the request. */
	ck_assert_uint_eq(req.token_len, 4);
	d = fn_last(net);
	ck_assert_int_eq(ucoap_msg_decode(&m, d->data, d->len), 0);
	ck_assert_uint_eq(m.type, UCOAP_TYPE_NON);
	ck_assert_mem_eq(m.token, req.token, 4);
	/* Never retransmitted. */
	run_until(net->now + 100000);
	ck_assert_uint_eq(net->nlog, 1);
	/* NON 2.05 with the token: done, nothing sent back. */
	b[0] = 0x54;
	b[1] = UCOAP_CONTENT;
	b[2] = 0x99;
	b[3] = 0x99;
	memcpy(b + 4, req.token, 4);
	peer_sends(b, 8);
	ck_assert_uint_eq(ndone, 1);
	ck_assert_uint_eq(net->nlog, 1);
}
END_TEST

START_TEST(test_non_request_timeout)
{
	struct ucoap_msg req;
	uint64_t t0 = net->now;

	ucoap_msg_init(&req, UCOAP_TYPE_NON, UCOAP_GET);
	ck_assert_int_eq(
	    ucoap_ep_request(ep, &peer, &req, 0, on_done, NULL, NULL), 0);
	run_until(t0 + UCOAP_NON_LIFETIME_MS - 1);
	ck_assert_uint_eq(ndone, 0);
	run_until(t0 + UCOAP_NON_LIFETIME_MS);
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(done[0].status, UCOAP_ERR_TIMEOUT);
}
END_TEST

START_TEST(test_send_builds_message)
{
	const struct fn_dgram *d;
	struct ucoap_msg m;
	char buf[64];
	const uint8_t tok[2] = {1, 2};
	uint16_t mid;

	mid = ucoap_send(ep, "2001:db8::1", 5683, "/a/b?x=1", UCOAP_TYPE_NON,
			 UCOAP_PUT, tok, 2, (const uint8_t *)"v", 1,
			 UCOAP_CF_JSON, "y=2&z=3");
	ck_assert_uint_ne(mid, 0);
	d = fn_last(net);
	ck_assert_int_eq(ucoap_msg_decode(&m, d->data, d->len), 0);
	ck_assert_uint_eq(m.mid, mid);
	ck_assert_uint_eq(m.code, UCOAP_PUT);
	ck_assert_uint_eq(m.token_len, 2);
	ck_assert_int_gt(ucoap_msg_uri_path(&m, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "a/b");
	ck_assert_int_gt(ucoap_msg_uri_query(&m, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "x=1&y=2&z=3");
	ck_assert_int_eq(ucoap_msg_content_format(&m), UCOAP_CF_JSON);
	ck_assert_uint_eq(ucoap_addr_port(&d->to), 5683);
	/* An empty token stays empty with the microCoAPy call. */
	ck_assert_uint_ne(ucoap_get(ep, "192.0.2.2", 5683, "t", NULL, 0), 0);
	ck_assert_uint_eq(fn_last(net)->data[0] & 0x0f, 0);
	/* Bad arguments: 0. */
	ck_assert_uint_eq(ucoap_get(ep, "not-an-ip", 5683, "t", NULL, 0), 0);
	ck_assert_uint_eq(ucoap_get(ep, "192.0.2.2", 5683, "t",
				    (const uint8_t *)"123456789", 9),
			  0);
}
END_TEST

START_TEST(test_mid_and_token_from_random_hook)
{
	struct ucoap_msg req;
	uint16_t mid;

	/* A new endpoint whose random hook returns 0x5A bytes. */
	teardown();
	net = fn_new(1);
	net->rand_mode = FN_RAND_CONST;
	net->rand_byte = 0x5A;
	ep = fn_ep_new(net, NULL, "192.0.2.1", 5683);
	ck_assert_ptr_nonnull(ep);
	ucoap_addr_set(&peer, "192.0.2.2", 5683);
	/* §4.4: ids start at a random point and go up by one. */
	ck_assert_uint_eq(ucoap_get(ep, "192.0.2.2", 5683, "a", NULL, 0),
			  0x5A5A);
	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(
	    ucoap_ep_request(ep, &peer, &req, 0, on_done, NULL, &mid), 0);
	ck_assert_uint_eq(mid, 0x5A5B);
	/* §5.3.1: the token comes from the hook too. */
	ck_assert_uint_eq(req.token_len, 4);
	ck_assert_mem_eq(req.token, "\x5A\x5A\x5A\x5A", 4);
	/* The same token to the same peer is never reused while open. */
	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(
	    ucoap_ep_request(ep, &peer, &req, 0, on_done, NULL, &mid), 0);
	ck_assert_uint_eq(req.token_len, 4);
	ck_assert_mem_eq(req.token, "\x5A\x5A\x5A\x5B", 4);
}
END_TEST

START_TEST(test_send_too_large)
{
	/* Above max_body_size: not even block-wise (RFC 7959) can send it. */
	static uint8_t big[16 * 1024 + 1];
	struct ucoap_msg req;

	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_POST);
	req.payload = big;
	req.payload_len = sizeof(big);
	ck_assert_int_eq(
	    ucoap_ep_request(ep, &peer, &req, 0, on_done, NULL, NULL),
	    UCOAP_ERR_NOSPACE);
	ck_assert_uint_eq(net->nlog, 0);
}
END_TEST

/* ---- two endpoints over a network that drops, duplicates, reorders ---- */

static unsigned served[512];
static unsigned completed[512];
static int statuses[512];

static void on_serve(struct ucoap_ep *e, const struct ucoap_msg *req,
		     const struct ucoap_addr *from, void *user)
{
	struct ucoap_deferred d;
	struct ucoap_msg r;
	unsigned id = req->payload[0] | req->payload[1] << 8;

	served[id]++;
	ucoap_msg_init(&r, UCOAP_TYPE_ACK, UCOAP_CHANGED);
	r.payload = req->payload;
	r.payload_len = 2;
	/* Every third one is answered separately, right away. */
	if (id % 3 == 0) {
		ck_assert_int_eq(ucoap_ep_defer(e, &d), 0);
		ck_assert_int_eq(
		    ucoap_ep_respond_deferred(e, &d, &r, NULL, NULL), 0);
		return;
	}
	ck_assert_int_eq(ucoap_ep_respond(e, &r), 0);
}

static void on_lossy_done(struct ucoap_ep *e, int status,
			  const struct ucoap_msg *m,
			  const struct ucoap_addr *from, void *user)
{
	unsigned id = (unsigned)(uintptr_t)user;

	completed[id]++;
	statuses[id] = status;
	if (status == 0) {
		ck_assert_uint_eq(m->payload_len, 2);
		ck_assert_uint_eq(m->payload[0] | m->payload[1] << 8, id);
	}
}

START_TEST(test_lossy_network_every_request_completes_once)
{
	struct ucoap_ep_config cfg;
	struct ucoap_ep *cli, *srv, *eps[2];
	struct ucoap_addr srv_addr;
	unsigned ok = 0, total = 300;

	teardown();
	net = fn_new(0xC0FFEE);
	ucoap_ep_config_init(&cfg);
	cfg.max_exchanges = 32;
	cli = fn_ep_new(net, &cfg, "2001:db8::1", 5683);
	/*
	 * The server's separate responses may outlive the client's requests
	 * (the client's ACK lost): give it room for them.
	 */
	cfg.max_exchanges = 256;
	srv = fn_ep_new(net, &cfg, "2001:db8::2", 5683);
	ep = NULL;
	ck_assert_ptr_nonnull(cli);
	ck_assert_ptr_nonnull(srv);
	ucoap_ep_set_default_handler(srv, on_serve, NULL);
	ucoap_addr_set(&srv_addr, "2001:db8::2", 5683);
	net->drop_pct = 20;
	net->dup_pct = 15;
	net->reorder_pct = 20;
	eps[0] = cli;
	eps[1] = srv;
	for (unsigned id = 0; id < total;) {
		struct ucoap_msg req;
		uint8_t pl[2] = {(uint8_t)id, (uint8_t)(id >> 8)};
		int rc;

		ucoap_msg_init(&req,
			       id % 5 == 4 ? UCOAP_TYPE_NON : UCOAP_TYPE_CON,
			       UCOAP_POST);
		req.payload = pl;
		req.payload_len = 2;
		rc = ucoap_ep_request(cli, &srv_addr, &req, 0, on_lossy_done,
				      (void *)(uintptr_t)id, NULL);
		if (rc == UCOAP_ERR_FULL) {
			/* Let the network move on by a second. */
			fn_run(net, eps, 2, net->now + 1000);
			continue;
		}
		ck_assert_int_eq(rc, 0);
		id++;
	}
	fn_run(net, eps, 2, net->now + 2 * UCOAP_EXCHANGE_LIFETIME_MS);
	for (unsigned id = 0; id < total; id++) {
		ck_assert_uint_eq(completed[id], 1);
		/* A retransmitted request never reaches the handler twice. */
		ck_assert_uint_le(served[id], 1);
		if (statuses[id] == 0) {
			ok++;
			ck_assert_uint_eq(served[id], 1);
		} else {
			ck_assert_int_eq(statuses[id], UCOAP_ERR_TIMEOUT);
		}
	}
	/* With 20 % loss most CONs get through within 4 retransmissions. */
	ck_assert_uint_gt(ok, total / 2);
	ck_assert_uint_gt(net->dropped, 0);
	ck_assert_uint_gt(net->duplicated, 0);
	ck_assert_uint_gt(net->reordered, 0);
	ucoap_ep_free(cli);
	ucoap_ep_free(srv);
	for (unsigned id = 0; id < total; id++)
		ck_assert_uint_eq(completed[id], 1);
}
END_TEST

static Suite *exchange_suite(void)
{
	Suite *s = suite_create("exchange");
	TCase *tc = tcase_create("retransmission");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_schedule_lower_bound);
	tcase_add_test(tc, test_schedule_upper_bound);
	tcase_add_test(tc, test_schedule_random_within_bounds);
	tcase_add_test(tc, test_microcoapy_con_never_retransmitted);
	tcase_add_test(tc, test_config_changes_schedule);
	suite_add_tcase(s, tc);

	tc = tcase_create("matching");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_piggybacked_ack_stops_retransmission);
	tcase_add_test(tc, test_ack_with_wrong_token_ignored);
	tcase_add_test(tc, test_client_separate_response);
	tcase_add_test(tc, test_microcoapy_separate_ack_carries_code);
	tcase_add_test(tc, test_separate_response_timeout);
	tcase_add_test(tc, test_rst_completes_request);
	tcase_add_test(tc, test_ping);
	tcase_add_test(tc, test_non_request);
	tcase_add_test(tc, test_non_request_timeout);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifecycle");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_table_full);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_free_cancels_open_requests);
	tcase_add_test(tc, test_send_builds_message);
	tcase_add_test(tc, test_send_too_large);
	tcase_add_test(tc, test_mid_and_token_from_random_hook);
	suite_add_tcase(s, tc);

	tc = tcase_create("lossy");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lossy_network_every_request_completes_once);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(exchange_suite());
}
