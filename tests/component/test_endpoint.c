/*
 * The endpoint's server role and message layer (RFC 7252 §4, §5) through
 * the in-memory socket and fake clock of fakenet.h: what goes on the wire,
 * byte for byte, for every kind of datagram a peer can send us.
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
static unsigned calls;

static void start(const struct ucoap_ep_config *cfg)
{
	net = fn_new(42);
	ep = fn_ep_new(net, cfg, "192.0.2.1", 5683);
	ck_assert_ptr_nonnull(ep);
	ck_assert_int_eq(ucoap_addr_set(&peer, "192.0.2.2", 40000), 0);
	calls = 0;
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

/* Feed a datagram from the peer. */
#define IN(...)                                                                \
	do {                                                                   \
		static const uint8_t in_[] = {__VA_ARGS__};                    \
		ucoap_ep_input(ep, in_, sizeof(in_), &peer);                   \
	} while (0)

/* The last datagram sent is exactly these bytes, to the peer. */
#define EXPECT_LAST(...)                                                       \
	do {                                                                   \
		static const uint8_t want_[] = {__VA_ARGS__};                  \
		const struct fn_dgram *d_ = fn_last(net);                      \
		ck_assert_ptr_nonnull(d_);                                     \
		ck_assert_uint_eq(d_->len, sizeof(want_));                     \
		ck_assert_mem_eq(d_->data, want_, sizeof(want_));              \
		ck_assert(ucoap_addr_equal(&d_->to, &peer));                   \
	} while (0)

static void on_content(struct ucoap_ep *e, const struct ucoap_msg *req,
		       const struct ucoap_addr *from, void *user)
{
	struct ucoap_msg r;

	calls++;
	ucoap_msg_init(&r, UCOAP_TYPE_ACK, UCOAP_CONTENT);
	r.payload = (const uint8_t *)"hi";
	r.payload_len = 2;
	ck_assert_int_eq(ucoap_ep_respond(e, &r), 0);
	/* Only once. */
	ck_assert_int_eq(ucoap_ep_respond(e, &r), UCOAP_ERR_STATE);
}

static void on_silent(struct ucoap_ep *e, const struct ucoap_msg *req,
		      const struct ucoap_addr *from, void *user)
{
	calls++;
}

/* CON GET /temp, mid 0x1234, token 0xAB */
#define CON_GET_TEMP 0x41, 0x01, 0x12, 0x34, 0xAB, 0xB4, 't', 'e', 'm', 'p'
/* its piggybacked 2.05 "hi" */
#define ACK_HI 0x61, 0x45, 0x12, 0x34, 0xAB, 0xFF, 'h', 'i'

START_TEST(test_ping_gets_rst)
{
	IN(0x40, 0x00, 0x12, 0x34);
	ck_assert_uint_eq(net->nlog, 1);
	EXPECT_LAST(0x70, 0x00, 0x12, 0x34);
}
END_TEST

START_TEST(test_con_answered_piggybacked)
{
	ck_assert_int_eq(
	    ucoap_ep_add_request_callback(ep, "/temp", on_content, NULL), 0);
	IN(CON_GET_TEMP);
	ck_assert_uint_eq(calls, 1);
	ck_assert_uint_eq(net->nlog, 1);
	EXPECT_LAST(ACK_HI);
}
END_TEST

START_TEST(test_microcoapy_non_answered_with_ack)
{
	const struct fn_dgram *d;
	struct ucoap_msg m;

	ucoap_ep_set_default_handler(ep, on_content, NULL);
	IN(0x51, 0x01, 0x12, 0x34, 0xAB, 0xB4, 't', 'e', 'm', 'p');
	ck_assert_uint_eq(net->nlog, 1);
	d = fn_last(net);
	ck_assert_int_eq(ucoap_msg_decode(&m, d->data, d->len), 0);
	/* §5.2.3: a NON request gets a NON response, not an ACK. */
	ck_assert_uint_eq(m.type, UCOAP_TYPE_NON);
	ck_assert_uint_eq(m.code, UCOAP_CONTENT);
	ck_assert_uint_eq(m.token_len, 1);
	ck_assert_uint_eq(m.token[0], 0xAB);
	ck_assert_uint_ne(m.mid, 0);
	ck_assert_uint_eq(m.payload_len, 2);
}
END_TEST

START_TEST(test_dedup_con_replays_cached_answer)
{
	struct ucoap_ep_stats st;

	ucoap_ep_set_default_handler(ep, on_content, NULL);
	IN(CON_GET_TEMP);
	net->now += 3000;
	IN(CON_GET_TEMP);
	ck_assert_uint_eq(calls, 1);
	ck_assert_uint_eq(net->nlog, 2);
	ck_assert_uint_eq(net->log[0].len, net->log[1].len);
	ck_assert_mem_eq(net->log[0].data, net->log[1].data, net->log[0].len);
	EXPECT_LAST(ACK_HI);
	ucoap_ep_stats(ep, &st);
	ck_assert_uint_eq(st.rx_duplicates, 1);
	ck_assert_uint_eq(st.dedup_used, 1);
}
END_TEST

/* A CON GET /busy from @port with @mid: other traffic. */
static void busy_request(uint16_t port, uint16_t mid)
{
	uint8_t b[] = {0x40,         0x01, (uint8_t)(mid >> 8),
		       (uint8_t)mid, 0xB4, 'b',
		       'u',          's',  'y'};
	struct ucoap_addr other;

	ucoap_addr_set(&other, "2001:db8::7", port);
	ucoap_ep_input(ep, b, sizeof(b), &other);
}

START_TEST(test_dedup_answers_after_200s_of_busy_traffic)
{
	unsigned before;

	ucoap_ep_set_default_handler(ep, on_content, NULL);
	IN(CON_GET_TEMP);
	/* 200 s with 2000 other requests (10/s) from other peers. */
	for (unsigned i = 0; i < 2000; i++) {
		net->now += 100;
		busy_request((uint16_t)(1000 + i % 50), (uint16_t)i);
		ucoap_ep_tick(ep);
	}
	ck_assert_uint_eq(calls, 2001);
	before = net->nlog;
	IN(CON_GET_TEMP);
	ck_assert_uint_eq(calls, 2001);
	ck_assert_uint_eq(net->nlog, before + 1);
	EXPECT_LAST(ACK_HI);
}
END_TEST

START_TEST(test_dedup_forgotten_after_exchange_lifetime)
{
	ucoap_ep_set_default_handler(ep, on_content, NULL);
	IN(CON_GET_TEMP);
	net->now += UCOAP_EXCHANGE_LIFETIME_MS - 1;
	IN(CON_GET_TEMP);
	ck_assert_uint_eq(calls, 1);
	net->now += 1;
	/* The expiry is a timer of its own. */
	ck_assert_int_eq(ucoap_ep_next_timeout(ep), 0);
	ucoap_ep_tick(ep);
	ck_assert_int_eq(ucoap_ep_next_timeout(ep), -1);
	IN(CON_GET_TEMP);
	ck_assert_uint_eq(calls, 2);
}
END_TEST

static void small_cache(struct ucoap_ep_config *cfg)
{
	ucoap_ep_config_init(cfg);
	cfg->dedup_entries = 4;
}

START_TEST(test_dedup_full_gets_503_with_max_age)
{
	struct ucoap_ep_config cfg;
	struct ucoap_ep_stats st;

	small_cache(&cfg);
	teardown();
	start(&cfg);
	ucoap_ep_set_default_handler(ep, on_content, NULL);
	for (unsigned i = 0; i < 4; i++)
		busy_request(1000, (uint16_t)i);
	ck_assert_uint_eq(calls, 4);
	net->now += 10000;
	IN(CON_GET_TEMP);
	ck_assert_uint_eq(calls, 4);
	/* 5.03, Max-Age (14) = 247 - 10 = 237 s until the oldest expires. */
	EXPECT_LAST(0x61, 0xA3, 0x12, 0x34, 0xAB, 0xD1, 0x01, 237);
	/* Not remembered: the retransmission is refused afresh. */
	net->now += 2000;
	IN(CON_GET_TEMP);
	EXPECT_LAST(0x61, 0xA3, 0x12, 0x34, 0xAB, 0xD1, 0x01, 235);
	ucoap_ep_stats(ep, &st);
	ck_assert_uint_eq(st.dedup_full, 2);
	ck_assert_uint_eq(st.dedup_used, 4);
	/* A NON is served, just not remembered: its duplicate runs again. */
	IN(0x50, 0x01, 0x55, 0x55, 0xB4, 't', 'e', 'm', 'p');
	IN(0x50, 0x01, 0x55, 0x55, 0xB4, 't', 'e', 'm', 'p');
	ck_assert_uint_eq(calls, 6);
	/* Once the oldest expire, CONs are served again. */
	net->now += UCOAP_EXCHANGE_LIFETIME_MS;
	IN(CON_GET_TEMP);
	ck_assert_uint_eq(calls, 7);
	EXPECT_LAST(ACK_HI);
}
END_TEST

START_TEST(test_dedup_bytes_bound)
{
	struct ucoap_ep_config cfg;

	ucoap_ep_config_init(&cfg);
	cfg.max_message_size = 64;
	cfg.dedup_bytes = 128;
	teardown();
	start(&cfg);
	ucoap_ep_set_default_handler(ep, on_content, NULL);
	for (unsigned i = 0; i < 40; i++)
		busy_request(1000, (uint16_t)i);
	/*
	 * Answers are 7 bytes. A request is taken only while 64 bytes (the
	 * largest answer) are free: after 10 answers 58 are left.
	 */
	ck_assert_uint_eq(calls, 10);
	ck_assert_uint_eq(fn_last(net)->data[1], UCOAP_SERVICE_UNAVAILABLE);
}
END_TEST

START_TEST(test_non_duplicate_ignored)
{
	struct ucoap_ep_stats st;

	ucoap_ep_set_default_handler(ep, on_content, NULL);
	IN(0x51, 0x01, 0x12, 0x34, 0xAB, 0xB4, 't', 'e', 'm', 'p');
	IN(0x51, 0x01, 0x12, 0x34, 0xAB, 0xB4, 't', 'e', 'm', 'p');
	ck_assert_uint_eq(calls, 1);
	ck_assert_uint_eq(net->nlog, 1);
	ucoap_ep_stats(ep, &st);
	ck_assert_uint_eq(st.rx_duplicates, 1);
	/* Remembered for NON_LIFETIME only. */
	net->now += UCOAP_NON_LIFETIME_MS;
	IN(0x51, 0x01, 0x12, 0x34, 0xAB, 0xB4, 't', 'e', 'm', 'p');
	ck_assert_uint_eq(calls, 2);
}
END_TEST

START_TEST(test_same_mid_different_bytes_is_new_request)
{
	ucoap_ep_set_default_handler(ep, on_content, NULL);
	IN(CON_GET_TEMP);
	/* Same mid, other token: a peer reusing ids too fast. */
	IN(0x41, 0x01, 0x12, 0x34, 0xCD, 0xB4, 't', 'e', 'm', 'p');
	ck_assert_uint_eq(calls, 2);
	EXPECT_LAST(0x61, 0x45, 0x12, 0x34, 0xCD, 0xFF, 'h', 'i');
	/* The new one replaced the old: its duplicate gets its answer. */
	IN(0x41, 0x01, 0x12, 0x34, 0xCD, 0xB4, 't', 'e', 'm', 'p');
	ck_assert_uint_eq(calls, 2);
	EXPECT_LAST(0x61, 0x45, 0x12, 0x34, 0xCD, 0xFF, 'h', 'i');
	/* And the old bytes are a new request again. */
	IN(CON_GET_TEMP);
	ck_assert_uint_eq(calls, 3);
}
END_TEST

START_TEST(test_malformed)
{
	struct ucoap_ep_stats st;

	/* CON with TKL 9: the header is readable, so RST (§4.2). */
	IN(0x49, 0x01, 0x00, 0x07, 1, 2, 3, 4, 5, 6, 7, 8, 9);
	ck_assert_uint_eq(net->nlog, 1);
	EXPECT_LAST(0x70, 0x00, 0x00, 0x07);
	/* CON with a payload marker and no payload. */
	IN(0x40, 0x01, 0x00, 0x08, 0xFF);
	ck_assert_uint_eq(net->nlog, 2);
	EXPECT_LAST(0x70, 0x00, 0x00, 0x08);
	/* CON with option nibble 15. */
	IN(0x40, 0x01, 0x00, 0x09, 0xF1, 'x');
	ck_assert_uint_eq(net->nlog, 3);
	EXPECT_LAST(0x70, 0x00, 0x00, 0x09);
	/* The same as NON, as ACK, as RST: silence. */
	IN(0x59, 0x01, 0x00, 0x07, 1, 2, 3, 4, 5, 6, 7, 8, 9);
	IN(0x50, 0x01, 0x00, 0x08, 0xFF);
	IN(0x60, 0x45, 0x00, 0x08, 0xFF);
	IN(0x70, 0x00, 0x00, 0x08, 0xFF);
	/* Version 2, and shorter than a header: silence. */
	IN(0x80, 0x01, 0x00, 0x0A);
	IN(0x40, 0x01, 0x00);
	ck_assert_uint_eq(net->nlog, 3);
	ucoap_ep_stats(ep, &st);
	ck_assert_uint_eq(st.rx_malformed, 9);
	ck_assert_uint_eq(calls, 0);
}
END_TEST

START_TEST(test_unknown_critical_option_402)
{
	ucoap_ep_set_default_handler(ep, on_content, NULL);
	/* Option 9 (critical, not defined), then Uri-Path "x". */
	IN(0x41, 0x01, 0x00, 0x21, 0xAB, 0x90, 0x21, 'x');
	ck_assert_uint_eq(calls, 0);
	EXPECT_LAST(0x61, 0x82, 0x00, 0x21, 0xAB);
	/* As NON: rejected (§5.4.1), which for a NON is silence (§4.3). */
	IN(0x51, 0x01, 0x00, 0x22, 0xAB, 0x90, 0x21, 'x');
	ck_assert_uint_eq(calls, 0);
	ck_assert_uint_eq(net->nlog, 1);
	/* An unknown elective option (10) is ignored. */
	IN(0x41, 0x01, 0x00, 0x23, 0xAB, 0xA0, 0x11, 'x');
	ck_assert_uint_eq(calls, 1);
}
END_TEST

START_TEST(test_too_large_413_with_size1)
{
	struct ucoap_ep_config cfg;
	uint8_t big[100];

	ucoap_ep_config_init(&cfg);
	cfg.max_message_size = 64;
	teardown();
	start(&cfg);
	ucoap_ep_set_default_handler(ep, on_content, NULL);
	memset(big, 'z', sizeof(big));
	big[0] = 0x41;
	big[1] = UCOAP_POST;
	big[2] = 0x00;
	big[3] = 0x31;
	big[4] = 0xAB;
	big[5] = 0xFF;
	ucoap_ep_input(ep, big, sizeof(big), &peer);
	ck_assert_uint_eq(calls, 0);
	/* 4.13, Size1 (60: delta 13 + 47) = 64 */
	EXPECT_LAST(0x61, 0x8D, 0x00, 0x31, 0xAB, 0xD1, 0x2F, 0x40);
	/* A large response of someone's is just dropped. */
	big[0] = 0x41;
	big[1] = UCOAP_CONTENT;
	ucoap_ep_input(ep, big, sizeof(big), &peer);
	ck_assert_uint_eq(net->nlog, 1);
}
END_TEST

START_TEST(test_silent_handler_gets_500)
{
	ucoap_ep_set_default_handler(ep, on_silent, NULL);
	IN(CON_GET_TEMP);
	ck_assert_uint_eq(calls, 1);
	EXPECT_LAST(0x61, 0xA0, 0x12, 0x34, 0xAB);
}
END_TEST

START_TEST(test_not_found_404)
{
	IN(CON_GET_TEMP);
	EXPECT_LAST(0x61, 0x84, 0x12, 0x34, 0xAB);
}
END_TEST

static unsigned calls_a, calls_b;

static void on_a(struct ucoap_ep *e, const struct ucoap_msg *req,
		 const struct ucoap_addr *from, void *user)
{
	calls_a++;
	on_content(e, req, from, user);
}

static void on_b(struct ucoap_ep *e, const struct ucoap_msg *req,
		 const struct ucoap_addr *from, void *user)
{
	calls_b++;
	ck_assert_ptr_eq(user, &calls_b);
	on_content(e, req, from, user);
}

START_TEST(test_url_callbacks_replace_and_remove)
{
	ck_assert_int_eq(ucoap_ep_add_request_callback(ep, "temp", on_a, NULL),
			 0);
	ck_assert_int_eq(ucoap_ep_add_request_callback(ep, "other", on_a, NULL),
			 0);
	ck_assert_int_eq(
	    ucoap_ep_add_request_callback(ep, "/temp", on_b, &calls_b), 0);
	IN(CON_GET_TEMP);
	ck_assert_uint_eq(calls_a, 0);
	ck_assert_uint_eq(calls_b, 1);
	/* Removal: the URL is not found any more. */
	ck_assert_int_eq(ucoap_ep_add_request_callback(ep, "temp", NULL, NULL),
			 0);
	IN(0x41, 0x01, 0x12, 0x35, 0xAB, 0xB4, 't', 'e', 'm', 'p');
	EXPECT_LAST(0x61, 0x84, 0x12, 0x35, 0xAB);
	/* Paths match exactly: /temp/x is not /temp. */
	ucoap_ep_add_request_callback(ep, "temp", on_b, &calls_b);
	IN(0x41, 0x01, 0x12, 0x36, 0xAB, 0xB4, 't', 'e', 'm', 'p', 0x01, 'x');
	EXPECT_LAST(0x61, 0x84, 0x12, 0x36, 0xAB);
	/* Multi-segment URLs, and the default handler for the rest. */
	ucoap_ep_add_request_callback(ep, "a/b", on_a, NULL);
	IN(0x41, 0x01, 0x12, 0x37, 0xAB, 0xB1, 'a', 0x01, 'b');
	ck_assert_uint_eq(calls_a, 1);
	ucoap_ep_set_default_handler(ep, on_silent, NULL);
	IN(0x41, 0x01, 0x12, 0x38, 0xAB, 0xB1, 'q');
	EXPECT_LAST(0x61, 0xA0, 0x12, 0x38, 0xAB);
	ck_assert_int_eq(ucoap_ep_add_request_callback(ep, NULL, on_a, NULL),
			 UCOAP_ERR_INVAL);
}
END_TEST

START_TEST(test_unknown_method_405)
{
	ucoap_ep_set_default_handler(ep, on_content, NULL);
	/* 0.08 is no method we know. */
	IN(0x41, 0x08, 0x12, 0x34, 0xAB);
	ck_assert_uint_eq(calls, 0);
	EXPECT_LAST(0x61, 0x85, 0x12, 0x34, 0xAB);
	/* FETCH (0.05) reaches the handler. */
	IN(0x41, 0x05, 0x12, 0x35, 0xAB);
	ck_assert_uint_eq(calls, 1);
}
END_TEST

START_TEST(test_never_answer_ack_or_rst)
{
	ucoap_ep_set_default_handler(ep, on_content, NULL);
	IN(0x60, 0x00, 0x12, 0x34);
	IN(0x61, 0x45, 0x12, 0x35, 0xAB, 0xFF, 'x');
	IN(0x70, 0x00, 0x12, 0x36);
	/* An ACK carrying a request code: still not ours to answer. */
	IN(0x61, 0x01, 0x12, 0x37, 0xAB);
	ck_assert_uint_eq(net->nlog, 0);
	ck_assert_uint_eq(calls, 0);
}
END_TEST

START_TEST(test_unmatched_response)
{
	/* CON 2.05 with a token we never used: RST. NON: nothing. */
	IN(0x41, 0x45, 0x12, 0x34, 0xEE, 0xFF, 'x');
	ck_assert_uint_eq(net->nlog, 1);
	EXPECT_LAST(0x70, 0x00, 0x12, 0x34);
	IN(0x51, 0x45, 0x12, 0x35, 0xEE, 0xFF, 'x');
	ck_assert_uint_eq(net->nlog, 1);
}
END_TEST

static struct ucoap_deferred deferred;
static int sep_status = 1;
static unsigned sep_calls;

static void on_defer(struct ucoap_ep *e, const struct ucoap_msg *req,
		     const struct ucoap_addr *from, void *user)
{
	struct ucoap_msg r;

	calls++;
	ck_assert_int_eq(ucoap_ep_defer(e, &deferred), 0);
	ck_assert_int_eq(ucoap_ep_defer(e, &deferred), UCOAP_ERR_STATE);
	ucoap_msg_init(&r, UCOAP_TYPE_ACK, UCOAP_CONTENT);
	ck_assert_int_eq(ucoap_ep_respond(e, &r), UCOAP_ERR_STATE);
}

static void on_sep_done(struct ucoap_ep *e, int status,
			const struct ucoap_msg *resp,
			const struct ucoap_addr *from, void *user)
{
	sep_calls++;
	sep_status = status;
}

START_TEST(test_server_defer_and_separate_response)
{
	struct ucoap_msg r;
	const struct fn_dgram *d;
	struct ucoap_msg m;
	uint16_t mid;
	unsigned n;

	net->rand_mode = FN_RAND_CONST;
	net->rand_byte = 0; /* first timeout exactly ACK_TIMEOUT */
	ucoap_ep_set_default_handler(ep, on_defer, NULL);
	IN(CON_GET_TEMP);
	ck_assert_uint_eq(calls, 1);
	/* §5.2.2: an empty ACK -- code 0.00, no token. */
	EXPECT_LAST(0x60, 0x00, 0x12, 0x34);
	/* Its duplicate gets the empty ACK again; the handler is not rerun. */
	IN(CON_GET_TEMP);
	ck_assert_uint_eq(calls, 1);
	ck_assert_uint_eq(net->nlog, 2);
	EXPECT_LAST(0x60, 0x00, 0x12, 0x34);
	ck_assert(ucoap_addr_equal(&deferred.peer, &peer));
	ck_assert_uint_eq(deferred.req_type, UCOAP_TYPE_CON);

	net->now += 500;
	ucoap_msg_init(&r, UCOAP_TYPE_CON, UCOAP_CONTENT);
	r.payload = (const uint8_t *)"late";
	r.payload_len = 4;
	ck_assert_int_eq(
	    ucoap_ep_respond_deferred(ep, &deferred, &r, on_sep_done, NULL), 0);
	d = fn_last(net);
	ck_assert_int_eq(ucoap_msg_decode(&m, d->data, d->len), 0);
	ck_assert_uint_eq(m.type, UCOAP_TYPE_CON);
	ck_assert_uint_eq(m.code, UCOAP_CONTENT);
	ck_assert_uint_eq(m.token_len, 1);
	ck_assert_uint_eq(m.token[0], 0xAB);
	mid = m.mid;
	/* Retransmitted until ACKed. */
	n = net->nlog;
	net->now += 2000;
	ucoap_ep_tick(ep);
	ck_assert_uint_eq(net->nlog, n + 1);
	ck_assert_mem_eq(fn_last(net)->data, d->data, d->len);
	/* The client's empty ACK ends it: status 0, nothing more sent. */
	{
		uint8_t ack[] = {0x60, 0x00, (uint8_t)(mid >> 8), (uint8_t)mid};

		ucoap_ep_input(ep, ack, sizeof(ack), &peer);
	}
	ck_assert_uint_eq(sep_calls, 1);
	ck_assert_int_eq(sep_status, 0);
	n = net->nlog;
	net->now += 600000;
	ucoap_ep_tick(ep);
	ck_assert_uint_eq(net->nlog, n);
	ck_assert_uint_eq(sep_calls, 1);
}
END_TEST

START_TEST(test_separate_response_give_up)
{
	struct ucoap_msg r;

	ucoap_ep_set_default_handler(ep, on_defer, NULL);
	IN(CON_GET_TEMP);
	ucoap_msg_init(&r, UCOAP_TYPE_CON, UCOAP_CONTENT);
	ck_assert_int_eq(
	    ucoap_ep_respond_deferred(ep, &deferred, &r, on_sep_done, NULL), 0);
	for (unsigned i = 0; i < 100; i++) {
		net->now += 1000;
		ucoap_ep_tick(ep);
	}
	ck_assert_uint_eq(sep_calls, 1);
	ck_assert_int_eq(sep_status, UCOAP_ERR_TIMEOUT);
	/* 1 + MAX_RETRANSMIT copies, after the empty ACK. */
	ck_assert_uint_eq(net->nlog, 1 + 1 + UCOAP_MAX_RETRANSMIT);
}
END_TEST

START_TEST(test_defer_non)
{
	struct ucoap_msg r;

	ucoap_ep_set_default_handler(ep, on_defer, NULL);
	IN(0x51, 0x01, 0x12, 0x34, 0xAB, 0xB4, 't', 'e', 'm', 'p');
	/* No empty ACK for a NON. */
	ck_assert_uint_eq(net->nlog, 0);
	ucoap_msg_init(&r, UCOAP_TYPE_CON, UCOAP_CONTENT);
	ck_assert_int_eq(
	    ucoap_ep_respond_deferred(ep, &deferred, &r, on_sep_done, NULL), 0);
	ck_assert_uint_eq(net->nlog, 1);
	ck_assert_uint_eq(fn_last(net)->data[0], 0x51);
	net->now += 600000;
	ucoap_ep_tick(ep);
	ck_assert_uint_eq(net->nlog, 1);
}
END_TEST

static void on_send_response(struct ucoap_ep *e, const struct ucoap_msg *req,
			     const struct ucoap_addr *from, void *user)
{
	char host[UCOAP_ADDR_STRLEN];
	const uint8_t tok = 0xAB;

	calls++;
	ck_assert_int_gt(ucoap_addr_host_str(from, host, sizeof(host)), 0);
	ck_assert_uint_eq(ucoap_send_response(e, host, ucoap_addr_port(from),
					      req->mid, (const uint8_t *)"ok",
					      2, UCOAP_CHANGED, UCOAP_CF_TEXT,
					      &tok, 1),
			  req->mid);
}

START_TEST(test_send_response_microcoapy)
{
	uint16_t mid;
	const struct fn_dgram *d;
	struct ucoap_msg m;

	ucoap_ep_set_default_handler(ep, on_send_response, NULL);
	IN(0x41, 0x03, 0x12, 0x34, 0xAB, 0xB4, 't', 'e', 'm', 'p');
	/* 2.04, Content-Format 0 (empty uint), payload "ok" */
	EXPECT_LAST(0x61, 0x44, 0x12, 0x34, 0xAB, 0xC0, 0xFF, 'o', 'k');
	/* Outside a handler: a CON separate response with a new mid. */
	mid = ucoap_send_response(ep, "192.0.2.2", 40000, 0x1234,
				  (const uint8_t *)"x", 1, UCOAP_CONTENT,
				  UCOAP_CF_NONE, (const uint8_t *)"\xAB", 1);
	ck_assert_uint_ne(mid, 0);
	d = fn_last(net);
	ck_assert_int_eq(ucoap_msg_decode(&m, d->data, d->len), 0);
	ck_assert_uint_eq(m.type, UCOAP_TYPE_CON);
	ck_assert_uint_eq(m.mid, mid);
	ck_assert_uint_ne(m.mid, 0x1234);
}
END_TEST

/* Send the peer's 5-byte message: header, code, our @mid, token 0x77. */
static void in_5(uint8_t first, uint8_t code, uint16_t mid)
{
	const uint8_t b[5] = {first, code, (uint8_t)(mid >> 8), (uint8_t)mid,
			      0x77};

	ucoap_ep_input(ep, b, sizeof(b), &peer);
}

/* A CON GET of ours with token 0x77, answered into on_sep_done. */
static uint16_t request_77(void)
{
	struct ucoap_msg req;
	uint16_t mid;

	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	req.token_len = 1;
	req.token[0] = 0x77;
	ck_assert_int_eq(
	    ucoap_ep_request(ep, &peer, &req, 0, on_sep_done, NULL, &mid), 0);
	return mid;
}

/* §4.2: an RST must be Empty; one with a code is ignored, not a reset. */
START_TEST(test_rst_with_code_ignored)
{
	uint16_t mid = request_77();

	in_5(0x71, UCOAP_CONTENT, mid);
	ck_assert_uint_eq(sep_calls, 0);
	in_5(0x61, UCOAP_CONTENT, mid);
	ck_assert_uint_eq(sep_calls, 1);
	ck_assert_int_eq(sep_status, 0);
}
END_TEST

/* An ACK carrying a request code (0.01) is no response: ignored. */
START_TEST(test_ack_with_request_code_ignored)
{
	uint16_t mid = request_77();

	in_5(0x61, UCOAP_GET, mid);
	ck_assert_uint_eq(sep_calls, 0);
	ck_assert_uint_eq(net->nlog, 1);
	in_5(0x61, UCOAP_CONTENT, mid);
	ck_assert_uint_eq(sep_calls, 1);
	ck_assert_int_eq(sep_status, 0);
}
END_TEST

START_TEST(test_response_with_bad_critical_option_rejected)
{
	struct ucoap_addr to = peer;
	struct ucoap_msg req;
	uint8_t rsp[16];
	unsigned n;

	ucoap_msg_init(&req, UCOAP_TYPE_NON, UCOAP_GET);
	req.token_len = 1;
	req.token[0] = 0x77;
	ck_assert_int_eq(
	    ucoap_ep_request(ep, &to, &req, 0, on_sep_done, NULL, NULL), 0);
	n = net->nlog;
	/* CON 2.05 with critical option 9: rejected with RST, not complete. */
	memcpy(rsp, (const uint8_t[]){0x41, 0x45, 0x44, 0x44, 0x77, 0x90}, 6);
	ucoap_ep_input(ep, rsp, 6, &peer);
	ck_assert_uint_eq(net->nlog, n + 1);
	EXPECT_LAST(0x70, 0x00, 0x44, 0x44);
	ck_assert_uint_eq(sep_calls, 0);
	/* The good one completes it. */
	memcpy(rsp, (const uint8_t[]){0x51, 0x45, 0x44, 0x45, 0x77}, 5);
	ucoap_ep_input(ep, rsp, 5, &peer);
	ck_assert_uint_eq(sep_calls, 1);
	ck_assert_int_eq(sep_status, 0);
}
END_TEST

START_TEST(test_process_drains_socket)
{
	static const uint8_t ping[] = {0x40, 0x00, 0x00, 0x01};
	struct fn_node *n = &net->nodes[0];
	struct ucoap_ep_stats st;

	/* The custom socket was made non-blocking when it was set. */
	ck_assert(!n->blocking);
	ck_assert_uint_eq(n->setblocking_calls, 1);
	for (unsigned i = 0; i < 3; i++)
		fn_inject(n, &peer, ping, sizeof(ping));
	ck_assert_int_eq(ucoap_ep_process(ep, 2), 2);
	ck_assert_int_eq(ucoap_ep_process(ep, 0), 1);
	ck_assert_int_eq(ucoap_ep_process(ep, 0), 0);
	ck_assert(!ucoap_ep_loop(ep, false));
	ck_assert_uint_eq(net->nlog, 3);
	ucoap_ep_stats(ep, &st);
	ck_assert_uint_eq(st.rx, 3);
	ck_assert_uint_eq(st.tx, 3);
	ck_assert_int_eq(ucoap_ep_fd(ep), -1);
	/* loop() and poll() over a socket without fd. */
	fn_inject(n, &peer, ping, sizeof(ping));
	ck_assert(ucoap_ep_loop(ep, true));
	ck_assert(!n->blocking); /* back to non-blocking afterwards */
	ck_assert(!ucoap_ep_loop(ep, true)); /* fakenet: nothing will come */
	fn_inject(n, &peer, ping, sizeof(ping));
	ck_assert(ucoap_ep_poll(ep, 1000, 10));
	ck_assert(!ucoap_ep_poll(ep, 20, 10));
	ck_assert_uint_eq(net->nlog, 5);
	/* Stopping calls the custom socket's close; then no more I/O. */
	ucoap_ep_stop(ep);
	ck_assert(n->closed);
	ck_assert_int_eq(ucoap_ep_process(ep, 0), UCOAP_ERR_STATE);
	ck_assert_uint_eq(ucoap_get(ep, "192.0.2.2", 5683, "x", NULL, 0), 0);
	ck_assert(!ucoap_ep_poll(ep, 10, 5));
}
END_TEST

START_TEST(test_config_validation)
{
	struct ucoap_ep_config cfg;
	struct ucoap_ep *e;

	ucoap_ep_config_init(&cfg);
	ck_assert_uint_eq(cfg.ack_timeout_ms, 2000);
	ck_assert_uint_eq(cfg.max_retransmit, 4);
	ck_assert_uint_eq(cfg.max_message_size, 1152);
	cfg.ack_random_factor = 0.5;
	ck_assert_ptr_null(ucoap_ep_new(&cfg, &fn_env, net));
	ucoap_ep_config_init(&cfg);
	cfg.dedup_bytes = cfg.max_message_size - 1;
	ck_assert_ptr_null(ucoap_ep_new(&cfg, &fn_env, net));
	ucoap_ep_config_init(&cfg);
	cfg.max_exchanges = 0;
	ck_assert_ptr_null(ucoap_ep_new(&cfg, &fn_env, net));
	/* as many as the non-zero message ids: none would be left */
	cfg.max_exchanges = UCOAP_MAX_EXCHANGES + 1;
	ck_assert_ptr_null(ucoap_ep_new(&cfg, &fn_env, net));
	cfg.max_exchanges = UCOAP_MAX_EXCHANGES;
	cfg.max_message_size = 64;
	cfg.dedup_bytes = 64;
	e = ucoap_ep_new(&cfg, &fn_env, net);
	ck_assert_ptr_nonnull(e);
	ucoap_ep_free(e);
	ucoap_ep_config_init(&cfg);
	/* NULL config and env: the defaults. */
	e = ucoap_ep_new(NULL, NULL, NULL);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(ucoap_ep_next_timeout(e), -1);
	ucoap_ep_free(e);
	ucoap_ep_free(NULL);
}
END_TEST

static Suite *endpoint_suite(void)
{
	Suite *s = suite_create("endpoint");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ping_gets_rst);
	tcase_add_test(tc, test_con_answered_piggybacked);
	tcase_add_test(tc, test_microcoapy_non_answered_with_ack);
	tcase_add_test(tc, test_silent_handler_gets_500);
	tcase_add_test(tc, test_not_found_404);
	tcase_add_test(tc, test_url_callbacks_replace_and_remove);
	tcase_add_test(tc, test_unknown_method_405);
	tcase_add_test(tc, test_unknown_critical_option_402);
	tcase_add_test(tc, test_too_large_413_with_size1);
	tcase_add_test(tc, test_send_response_microcoapy);
	tcase_add_test(tc, test_process_drains_socket);
	tcase_add_test(tc, test_config_validation);
	suite_add_tcase(s, tc);

	tc = tcase_create("message_layer");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_never_answer_ack_or_rst);
	tcase_add_test(tc, test_unmatched_response);
	tcase_add_test(tc, test_response_with_bad_critical_option_rejected);
	tcase_add_test(tc, test_rst_with_code_ignored);
	tcase_add_test(tc, test_ack_with_request_code_ignored);
	suite_add_tcase(s, tc);

	tc = tcase_create("dedup");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_dedup_con_replays_cached_answer);
	tcase_add_test(tc, test_dedup_answers_after_200s_of_busy_traffic);
	tcase_add_test(tc, test_dedup_forgotten_after_exchange_lifetime);
	tcase_add_test(tc, test_dedup_full_gets_503_with_max_age);
	tcase_add_test(tc, test_dedup_bytes_bound);
	tcase_add_test(tc, test_non_duplicate_ignored);
	tcase_add_test(tc, test_same_mid_different_bytes_is_new_request);
	suite_add_tcase(s, tc);

	tc = tcase_create("separate");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_server_defer_and_separate_response);
	tcase_add_test(tc, test_separate_response_give_up);
	tcase_add_test(tc, test_defer_non);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(endpoint_suite());
}
