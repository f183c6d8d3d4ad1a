/*
 * Observe (RFC 7641) in both roles, through fakenet's in-memory sockets and
 * fake clock. Server tests play the client by hand (ucoap_ep_input) and
 * read what the endpoint sent from the log; client tests play the server
 * likewise; the lossy test runs two endpoints against each other.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucoap/endpoint.h>

#include "fakenet.h"
#include "runner.h"

static struct fakenet *net;
static struct ucoap_ep *ep;
static struct ucoap_addr peer;

/* ---- the observable resource (server role) ---- */

struct res {
	int state;
	bool observable;
	uint8_t code; /* 0: 2.05 */
	int accept_rc;
	unsigned runs;
};
static struct res R;

static void on_obs(struct ucoap_ep *e, const struct ucoap_msg *req,
		   const struct ucoap_addr *from, void *user)
{
	struct res *r = user;
	struct ucoap_msg m;
	char text[16];
	uint32_t v = 0;
	int got;

	(void)from;
	r->runs++;
	/* Also an Observe get_uint refuses (too long): accept must, too. */
	got = ucoap_msg_get_uint(req, UCOAP_OPT_OBSERVE, &v);
	if (r->observable && !ucoap_ep_notifying(e) &&
	    ((got == 0 && v == 0) || got == UCOAP_ERR_INVAL))
		r->accept_rc = ucoap_ep_observe_accept(e, r);
	ucoap_msg_init(&m, UCOAP_TYPE_ACK, r->code ? r->code : UCOAP_CONTENT);
	snprintf(text, sizeof(text), "v%d", r->state);
	m.payload = (const uint8_t *)text;
	m.payload_len = strlen(text);
	ck_assert_int_eq(ucoap_ep_respond(e, &m), 0);
}

static void start(const struct ucoap_ep_config *cfg)
{
	net = fn_new(7);
	ep = fn_ep_new(net, cfg, "192.0.2.1", 5683);
	ck_assert_ptr_nonnull(ep);
	ck_assert_int_eq(ucoap_addr_set(&peer, "192.0.2.2", 40000), 0);
	memset(&R, 0, sizeof(R));
	R.observable = true;
	ck_assert_int_eq(ucoap_ep_add_request_callback(ep, "obs", on_obs, &R),
			 0);
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

/* Send @ep a message from @from; @observe/@max_age < 0: no such option. */
static void inject(struct ucoap_ep *to, const struct ucoap_addr *from,
		   uint8_t type, uint8_t code, uint16_t mid, uint32_t token,
		   long observe, long max_age, const char *payload)
{
	struct ucoap_msg m;
	uint8_t buf[256];
	size_t len;

	ucoap_msg_init(&m, type, code);
	m.mid = mid;
	m.token_len = 4;
	m.token[0] = (uint8_t)(token >> 24);
	m.token[1] = (uint8_t)(token >> 16);
	m.token[2] = (uint8_t)(token >> 8);
	m.token[3] = (uint8_t)token;
	if (observe >= 0)
		ck_assert_int_eq(ucoap_msg_add_uint(&m, UCOAP_OPT_OBSERVE,
						    (uint32_t)observe),
				 0);
	if (UCOAP_CODE_CLASS(code) == 0)
		ck_assert_int_eq(ucoap_msg_set_uri(&m, "obs"), 0);
	if (max_age >= 0)
		ck_assert_int_eq(ucoap_msg_add_uint(&m, UCOAP_OPT_MAX_AGE,
						    (uint32_t)max_age),
				 0);
	if (payload) {
		m.payload = (const uint8_t *)payload;
		m.payload_len = strlen(payload);
	}
	ck_assert_int_eq(ucoap_msg_encode(&m, buf, sizeof(buf), &len), 0);
	ucoap_ep_input(to, buf, len, from);
}

static void empty(uint8_t type, uint16_t mid)
{
	uint8_t b[4] = {(uint8_t)(0x40 | type << 4), 0, (uint8_t)(mid >> 8),
			(uint8_t)mid};

	ucoap_ep_input(ep, b, sizeof(b), &peer);
}

/* The last datagram sent, decoded (views into the log). */
static struct ucoap_msg last(void)
{
	return fn_last_msg(net);
}

static long observe_of(const struct ucoap_msg *m)
{
	uint32_t v;

	return ucoap_msg_get_uint(m, UCOAP_OPT_OBSERVE, &v) == 0 ? (long)v : -1;
}

static bool payload_is(const struct ucoap_msg *m, const char *s)
{
	return m->payload_len == strlen(s) &&
	       memcmp(m->payload, s, m->payload_len) == 0;
}

static uint32_t token_of(const struct ucoap_msg *m)
{
	ck_assert_uint_eq(m->token_len, 4);
	return (uint32_t)m->token[0] << 24 | (uint32_t)m->token[1] << 16 |
	       (uint32_t)m->token[2] << 8 | m->token[3];
}

static void notify(bool con, unsigned want)
{
	unsigned n = 99;

	ck_assert_int_eq(ucoap_ep_notify(ep, &R, con, &n), 0);
	ck_assert_uint_eq(n, want);
}

/* Register with token @tok (CON GET Observe 0) and check the answer. */
static long do_register(uint16_t mid, uint32_t tok)
{
	struct ucoap_msg m;

	inject(ep, &peer, UCOAP_TYPE_CON, UCOAP_GET, mid, tok, 0, -1, NULL);
	m = last();
	ck_assert_uint_eq(m.type, UCOAP_TYPE_ACK);
	ck_assert_uint_eq(m.mid, mid);
	ck_assert_uint_eq(token_of(&m), tok);
	return observe_of(&m);
}

/*
 * Send @ep a message with a 4-byte Observe option (RFC 7641 §2 allows
 * 0-3: a bad length) of value @v; a request names /obs.
 */
static void inject_long_observe(const struct ucoap_addr *from, uint8_t type,
				uint8_t code, uint16_t mid, uint32_t token,
				uint32_t v)
{
	const uint8_t val[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16),
				(uint8_t)(v >> 8), (uint8_t)v};
	struct ucoap_msg m;
	uint8_t buf[64];
	size_t len;

	fn_msg_init(&m, type, code, mid, token);
	ck_assert_int_eq(ucoap_msg_add_opt(&m, UCOAP_OPT_OBSERVE, val, 4), 0);
	if (UCOAP_CODE_CLASS(code) == 0)
		ck_assert_int_eq(ucoap_msg_set_uri(&m, "obs"), 0);
	ck_assert_int_eq(ucoap_msg_encode(&m, buf, sizeof(buf), &len), 0);
	ucoap_ep_input(ep, buf, len, from);
}

/* ---- server role ---- */

/* RFC 7252 §5.4.3: a 4-byte Observe is ignored: no registration. */
START_TEST(test_long_observe_is_no_registration)
{
	struct ucoap_msg m;

	inject_long_observe(&peer, UCOAP_TYPE_CON, UCOAP_GET, 0x100, 0xA1, 0);
	ck_assert_int_eq(R.accept_rc, UCOAP_ERR_INVAL);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 0);
	m = last();
	ck_assert_uint_eq(m.code, UCOAP_CONTENT);
	ck_assert_int_lt(observe_of(&m), 0);
}
END_TEST

START_TEST(test_register_and_notify_increasing)
{
	long prev;

	R.state = 1;
	prev = do_register(0x100, 0xA1);
	ck_assert_int_ge(prev, 0);
	ck_assert_int_eq(R.accept_rc, 0);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 1);
	for (int i = 2; i <= 5; i++) {
		struct ucoap_msg m;
		char want[8];
		unsigned before = net->nlog;

		R.state = i;
		notify(false, 1);
		ck_assert_uint_eq(net->nlog, before + 1);
		m = last();
		/* §4.5: NON unless asked; the observer's token; fresh state. */
		ck_assert_uint_eq(m.type, UCOAP_TYPE_NON);
		ck_assert_uint_eq(m.code, UCOAP_CONTENT);
		ck_assert_uint_eq(token_of(&m), 0xA1);
		snprintf(want, sizeof(want), "v%d", i);
		ck_assert(payload_is(&m, want));
		ck_assert(ucoap_addr_equal(&fn_last(net)->to, &peer));
		ck_assert_int_gt(observe_of(&m), prev);
		prev = observe_of(&m);
	}
	/* A resource nobody observes: nothing runs. */
	ck_assert_int_eq(ucoap_ep_notify(ep, &net, false, NULL), 0);
}
END_TEST

START_TEST(test_not_observable_plain_answer)
{
	R.observable = false;
	ck_assert_int_lt(do_register(0x100, 0xA1), 0);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 0);
	/* Outside a handler, accepting is a state error. */
	ck_assert_int_eq(ucoap_ep_observe_accept(ep, &R), UCOAP_ERR_STATE);
}
END_TEST

START_TEST(test_con_on_request_and_every_24h)
{
	struct ucoap_msg m;

	do_register(0x100, 0xA1);
	notify(true, 1);
	m = last();
	ck_assert_uint_eq(m.type, UCOAP_TYPE_CON);
	empty(UCOAP_TYPE_ACK, m.mid);
	notify(false, 1);
	ck_assert_uint_eq(last().type, UCOAP_TYPE_NON);
	/* §4.5: not one CON for 24 h: the next one is CON. */
	net->now += 24ull * 3600 * 1000;
	notify(false, 1);
	m = last();
	ck_assert_uint_eq(m.type, UCOAP_TYPE_CON);
	empty(UCOAP_TYPE_ACK, m.mid);
	notify(false, 1);
	ck_assert_uint_eq(last().type, UCOAP_TYPE_NON);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 1);
}
END_TEST

/* An observer of /obs and a first CON notification to it, returned. */
static struct ucoap_msg first_con_notification(void)
{
	struct ucoap_msg m;

	do_register(0x100, 0xA1);
	R.state = 1;
	notify(true, 1);
	m = last();
	ck_assert_uint_eq(m.type, UCOAP_TYPE_CON);
	return m;
}

START_TEST(test_one_unacked_con_carries_newest_state)
{
	struct ucoap_msg m1, m2, m3;
	unsigned before;

	m1 = first_con_notification();
	/* Changes while it is unacknowledged: nothing new goes out... */
	before = net->nlog;
	R.state = 2;
	notify(true, 1);
	R.state = 3;
	notify(false, 1);
	ck_assert_uint_eq(net->nlog, before);
	/* ...until the retransmission, which carries the newest state. */
	ucoap_ep_tick(ep);
	ck_assert_uint_eq(net->nlog, before);
	net->now += ucoap_ep_next_timeout(ep);
	ucoap_ep_tick(ep);
	ck_assert_uint_eq(net->nlog, before + 1);
	m2 = last();
	ck_assert_uint_eq(m2.type, UCOAP_TYPE_CON);
	ck_assert(payload_is(&m2, "v3"));
	ck_assert_uint_ne(m2.mid, m1.mid);
	ck_assert_int_gt(observe_of(&m2), observe_of(&m1));
	ck_assert_uint_eq(token_of(&m2), 0xA1);
	/*
	 * A late ACK of the replaced message: the client is alive, but v3
	 * went out already, so nothing is sent again now.
	 */
	empty(UCOAP_TYPE_ACK, m1.mid);
	R.state = 4;
	notify(false, 1);
	ck_assert_uint_eq(net->nlog, before + 1);
	/* Its retransmission now carries v4; its ACK frees the way. */
	net->now += ucoap_ep_next_timeout(ep);
	ucoap_ep_tick(ep);
	m3 = last();
	ck_assert(payload_is(&m3, "v4"));
	ck_assert_int_gt(observe_of(&m3), observe_of(&m2));
	empty(UCOAP_TYPE_ACK, m3.mid);
	R.state = 5;
	notify(true, 1);
	m1 = last();
	ck_assert(payload_is(&m1, "v5"));
	ck_assert_uint_eq(m1.type, UCOAP_TYPE_CON);
	ck_assert_uint_ne(m1.mid, m3.mid);
}
END_TEST

/*
 * §4.5.2: the CON notification in flight was replaced by a newer state
 * (a new message id) after its retransmissions ran almost out; the ACK of
 * the old message arrives. The client is alive: the newer state goes out
 * now with a fresh schedule rather than the observer being dropped at
 * the old schedule's end.
 */
START_TEST(test_ack_of_replaced_con_counts)
{
	struct ucoap_msg m1, m2;
	unsigned before;

	m1 = first_con_notification();
	before = net->nlog;
	for (int i = 0; i < UCOAP_MAX_RETRANSMIT; i++) {
		net->now += ucoap_ep_next_timeout(ep);
		ucoap_ep_tick(ep);
	}
	ck_assert_uint_eq(net->nlog, before + UCOAP_MAX_RETRANSMIT);
	R.state = 2;
	notify(false, 1);
	ck_assert_uint_eq(net->nlog, before + UCOAP_MAX_RETRANSMIT);
	empty(UCOAP_TYPE_ACK, m1.mid);
	ck_assert_uint_eq(net->nlog, before + UCOAP_MAX_RETRANSMIT + 1);
	m2 = last();
	ck_assert_uint_eq(m2.type, UCOAP_TYPE_CON);
	ck_assert_uint_ne(m2.mid, m1.mid);
	ck_assert(payload_is(&m2, "v2"));
	ck_assert_int_gt(observe_of(&m2), observe_of(&m1));
	/* Its schedule starts over: retransmitted, not given up. */
	net->now += ucoap_ep_next_timeout(ep);
	ucoap_ep_tick(ep);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 1);
	ck_assert_uint_eq(last().mid, m2.mid);
	ck_assert_uint_eq(net->nlog, before + UCOAP_MAX_RETRANSMIT + 2);
	empty(UCOAP_TYPE_ACK, m2.mid);
	fn_run(net, &ep, 1, net->now + 600000);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 1);
	/* Nothing in flight: the next change goes out at once. */
	R.state = 3;
	notify(false, 1);
	m2 = last();
	ck_assert_uint_eq(m2.type, UCOAP_TYPE_NON);
	ck_assert(payload_is(&m2, "v3"));
}
END_TEST

/* §3.6: an RST to the replaced message ends the observation as well. */
START_TEST(test_rst_of_replaced_con_removes)
{
	struct ucoap_msg m1;

	do_register(0x100, 0xA1);
	notify(true, 1);
	m1 = last();
	R.state = 2;
	notify(false, 1);
	ck_assert_uint_eq(last().mid, m1.mid); /* replaced, not yet sent */
	empty(UCOAP_TYPE_RST, m1.mid);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 0);
	/* Its exchange went with it: nothing is retransmitted. */
	fn_run(net, &ep, 1, net->now + 600000);
	ck_assert_uint_eq(last().mid, m1.mid);
}
END_TEST

/*
 * An RST matches a message we sent: a stray one with message id 0 (which
 * we never use) leaves an observer that never got a NON alone, while one
 * to a NON registration's answer deregisters (§3.6).
 */
START_TEST(test_rst_matches_only_what_we_sent)
{
	struct ucoap_msg m;

	do_register(0x100, 0xA1);
	empty(UCOAP_TYPE_RST, 0);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 1);
	inject(ep, &peer, UCOAP_TYPE_NON, UCOAP_GET, 0x101, 0xA2, 0, -1, NULL);
	m = last();
	ck_assert_uint_eq(m.type, UCOAP_TYPE_NON);
	ck_assert_int_ge(observe_of(&m), 0);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 2);
	empty(UCOAP_TYPE_RST, m.mid);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 1);
	notify(false, 1);
	m = last();
	ck_assert_uint_eq(token_of(&m), 0xA1); /* the one that is left */
}
END_TEST

START_TEST(test_rst_removes)
{
	struct ucoap_msg m;

	/* An RST to a NON notification (§3.6)... */
	do_register(0x100, 0xA1);
	notify(false, 1);
	m = last();
	empty(UCOAP_TYPE_RST, m.mid);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 0);
	/* ...or to a CON one. */
	do_register(0x101, 0xA2);
	notify(true, 1);
	m = last();
	empty(UCOAP_TYPE_RST, m.mid);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 0);
	notify(true, 0);
}
END_TEST

START_TEST(test_con_timeout_removes)
{
	unsigned before, n;

	do_register(0x100, 0xA1);
	notify(true, 1);
	before = net->nlog;
	/* §4.5: never acknowledged: retransmitted, then the observer goes. */
	while (ucoap_ep_next_timeout(ep) >= 0 &&
	       ucoap_ep_observer_count(ep, &R) == 1) {
		net->now += ucoap_ep_next_timeout(ep);
		ucoap_ep_tick(ep);
	}
	n = net->nlog - before;
	ck_assert_uint_eq(n, UCOAP_MAX_RETRANSMIT);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 0);
	notify(true, 0);
	ck_assert_uint_eq(net->nlog, before + n);
}
END_TEST

START_TEST(test_deregister_observe1_and_plain_get)
{
	struct ucoap_msg m;

	do_register(0x100, 0xA1);
	/* A plain GET with another token leaves it alone. */
	inject(ep, &peer, UCOAP_TYPE_CON, UCOAP_GET, 0x101, 0xB0, -1, -1, NULL);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 1);
	/* §3.6: Observe 1 with its token ends it; the answer is plain. */
	inject(ep, &peer, UCOAP_TYPE_CON, UCOAP_GET, 0x102, 0xA1, 1, -1, NULL);
	m = last();
	ck_assert_uint_eq(m.code, UCOAP_CONTENT);
	ck_assert_int_lt(observe_of(&m), 0);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 0);
	/* A GET without Observe and with its token does too. */
	do_register(0x103, 0xA2);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 1);
	inject(ep, &peer, UCOAP_TYPE_NON, UCOAP_GET, 0x104, 0xA2, -1, -1, NULL);
	m = last();
	ck_assert_uint_eq(m.type, UCOAP_TYPE_NON);
	ck_assert_int_lt(observe_of(&m), 0);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 0);
}
END_TEST

START_TEST(test_same_token_replaces_other_token_adds)
{
	struct ucoap_addr other;
	long a, b;

	a = do_register(0x100, 0xA1);
	b = do_register(0x101, 0xA1);
	ck_assert_int_gt(b, a);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 1);
	do_register(0x102, 0xA2);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 2);
	/* The same token from another endpoint is another observer. */
	ucoap_addr_set(&other, "192.0.2.3", 40000);
	inject(ep, &other, UCOAP_TYPE_CON, UCOAP_GET, 0x103, 0xA1, 0, -1, NULL);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 3);
	notify(false, 3);
}
END_TEST

START_TEST(test_table_full_declines)
{
	struct ucoap_ep_config cfg;

	ucoap_ep_config_init(&cfg);
	cfg.max_observers = 2;
	teardown();
	start(&cfg);
	ck_assert_int_ge(do_register(0x100, 0xA1), 0);
	ck_assert_int_ge(do_register(0x101, 0xA2), 0);
	/* §4.1: the third gets the plain answer, without Observe. */
	ck_assert_int_lt(do_register(0x102, 0xA3), 0);
	ck_assert_int_eq(R.accept_rc, UCOAP_ERR_FULL);
	ck_assert_uint_eq(last().code, UCOAP_CONTENT);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 2);
	notify(false, 2);
}
END_TEST

START_TEST(test_error_notification_ends)
{
	struct ucoap_msg m;

	do_register(0x100, 0xA1);
	R.code = UCOAP_NOT_FOUND;
	notify(false, 1);
	m = last();
	/* §3.2: the final notification, without Observe. */
	ck_assert_uint_eq(m.code, UCOAP_NOT_FOUND);
	ck_assert_uint_eq(token_of(&m), 0xA1);
	ck_assert_int_lt(observe_of(&m), 0);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 0);
	/* A registration answered with an error is no registration. */
	ck_assert_int_lt(do_register(0x101, 0xA2), 0);
	ck_assert_uint_eq(last().code, UCOAP_NOT_FOUND);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 0);
}
END_TEST

START_TEST(test_removed_handler_ends_with_404)
{
	struct ucoap_msg m;

	do_register(0x100, 0xA1);
	ck_assert_int_eq(ucoap_ep_add_request_callback(ep, "obs", NULL, NULL),
			 0);
	notify(true, 1);
	m = last();
	ck_assert_uint_eq(m.code, UCOAP_NOT_FOUND);
	ck_assert_uint_eq(m.type, UCOAP_TYPE_CON);
	ck_assert_int_lt(observe_of(&m), 0);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 0);
}
END_TEST

/* ---- client role ---- */

static struct ucoap_addr srv;
struct seen {
	unsigned calls, cancelled, finals, errors;
	int last_status;
	char payloads[64][16];
	long seqs[64];
	unsigned n;
	uint32_t handle;
	bool cancel_in_cb;
};
static struct seen S;

static void on_note(struct ucoap_ep *e, int status, const struct ucoap_msg *m,
		    const struct ucoap_addr *from, void *user)
{
	struct seen *s = user;

	(void)from;
	s->calls++;
	s->last_status = status;
	if (status == UCOAP_ERR_CANCELLED) {
		s->cancelled++;
		return;
	}
	if (status != 0) {
		s->errors++;
		return;
	}
	if (observe_of(m) < 0)
		s->finals++;
	if (s->n < 64) {
		snprintf(s->payloads[s->n], 16, "%.*s", (int)m->payload_len,
			 (const char *)m->payload);
		s->seqs[s->n] = observe_of(m);
		s->n++;
	}
	if (s->cancel_in_cb)
		ck_assert_int_eq(ucoap_ep_observe_cancel(e, s->handle), 0);
}

static void client_setup(void)
{
	net = fn_new(11);
	ep = fn_ep_new(net, NULL, "192.0.2.2", 40000);
	ck_assert_ptr_nonnull(ep);
	ucoap_addr_set(&srv, "192.0.2.9", 5683);
	memset(&S, 0, sizeof(S));
}

/* Observe /obs at srv (who is played by hand); returns its token. */
static uint32_t observe_start(uint8_t type)
{
	struct ucoap_msg req, m;

	ucoap_msg_init(&req, type, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&req, "obs"), 0);
	ck_assert_int_eq(
	    ucoap_ep_observe(ep, &srv, &req, on_note, &S, &S.handle), 0);
	ck_assert_uint_ne(S.handle, 0);
	m = last();
	ck_assert_uint_eq(m.type, type);
	ck_assert_uint_eq(m.code, UCOAP_GET);
	ck_assert_int_eq(observe_of(&m), 0);
	return token_of(&m);
}

/* The server's piggybacked answer to the last request we sent. */
static void answer(long observe, long max_age, const char *payload)
{
	struct ucoap_msg r = last();

	inject(ep, &srv, UCOAP_TYPE_ACK, UCOAP_CONTENT, r.mid, token_of(&r),
	       observe, max_age, payload);
}

static void note(uint8_t type, uint16_t mid, uint32_t tok, long seq,
		 const char *payload)
{
	inject(ep, &srv, type, UCOAP_CONTENT, mid, tok, seq, -1, payload);
}

START_TEST(test_client_register_and_reorder)
{
	uint32_t tok = observe_start(UCOAP_TYPE_CON);

	answer(10, -1, "a");
	ck_assert_uint_eq(S.n, 1);
	note(UCOAP_TYPE_NON, 0x200, tok, 12, "c");
	note(UCOAP_TYPE_NON, 0x201, tok, 11, "b"); /* stale: dropped */
	note(UCOAP_TYPE_NON, 0x202, tok, 13, "d");
	ck_assert_uint_eq(S.n, 3);
	ck_assert_str_eq(S.payloads[1], "c");
	ck_assert_str_eq(S.payloads[2], "d");
	/* Wrap-around: 2^24 - 2 then 3 is newer (§3.4), and 2^24 - 1 older. */
	note(UCOAP_TYPE_NON, 0x203, tok, 0xFFFFFE, "e");
	ck_assert_uint_eq(S.n, 3); /* 13 -> 2^24 - 2: more than 2^23 back */
	net->now += 129000;
	note(UCOAP_TYPE_NON, 0x204, tok, 0xFFFFFE, "e");
	ck_assert_uint_eq(S.n, 4); /* 128 s later anything is news */
	note(UCOAP_TYPE_NON, 0x205, tok, 3, "f");
	note(UCOAP_TYPE_NON, 0x206, tok, 0xFFFFFF, "g");
	ck_assert_uint_eq(S.n, 5);
	ck_assert_str_eq(S.payloads[4], "f");
	ck_assert_uint_eq(S.calls, 5);
	ck_assert_uint_eq(S.finals, 0);
}
END_TEST

START_TEST(test_client_con_notification_acked)
{
	uint32_t tok = observe_start(UCOAP_TYPE_CON);
	const struct fn_dgram *d;

	answer(1, -1, "a");
	note(UCOAP_TYPE_CON, 0x300, tok, 2, "b");
	d = fn_last(net);
	ck_assert_uint_eq(d->len, 4);
	ck_assert_uint_eq(d->data[0], 0x60); /* empty ACK */
	ck_assert_uint_eq(d->data[2], 0x03);
	ck_assert_uint_eq(d->data[3], 0x00);
	ck_assert_uint_eq(S.n, 2);
	/* Its retransmission (our ACK was lost) is ACKed, not delivered. */
	note(UCOAP_TYPE_CON, 0x300, tok, 2, "b");
	ck_assert_uint_eq(fn_last(net)->data[0], 0x60);
	ck_assert_uint_eq(S.n, 2);
	/* A CON notification with a token we do not know gets RST. */
	note(UCOAP_TYPE_CON, 0x301, tok + 1, 3, "x");
	ck_assert_uint_eq(fn_last(net)->data[0], 0x70);
	ck_assert_uint_eq(S.n, 2);
}
END_TEST

START_TEST(test_client_reregisters_after_max_age)
{
	uint32_t tok = observe_start(UCOAP_TYPE_CON);
	unsigned before;
	struct ucoap_msg m;

	answer(5, 10, "a");
	before = net->nlog;
	/* Max-Age 10 s plus a margin, not earlier. */
	net->now += 10000;
	ucoap_ep_tick(ep);
	ck_assert_uint_eq(net->nlog, before);
	ck_assert_int_gt(ucoap_ep_next_timeout(ep), 0);
	net->now += ucoap_ep_next_timeout(ep);
	ucoap_ep_tick(ep);
	ck_assert_uint_eq(net->nlog, before + 1);
	m = last();
	/* §3.3.1: the same request, the same token, Observe 0. */
	ck_assert_uint_eq(m.code, UCOAP_GET);
	ck_assert_uint_eq(token_of(&m), tok);
	ck_assert_int_eq(observe_of(&m), 0);
	/* The server restarted its numbers: the answer is news anyway. */
	answer(1, -1, "b");
	ck_assert_uint_eq(S.n, 2);
	ck_assert_str_eq(S.payloads[1], "b");
	/* A notification defers the next re-registration (default 60 s). */
	net->now += 50000;
	note(UCOAP_TYPE_NON, 0x400, tok, 2, "c");
	net->now += 50000;
	before = net->nlog;
	ucoap_ep_tick(ep);
	ck_assert_uint_eq(net->nlog, before);
	net->now += 12000;
	ucoap_ep_tick(ep);
	ck_assert_uint_eq(net->nlog, before + 1);
	ck_assert_uint_eq(S.calls, 3);
}
END_TEST

/*
 * §3.4: a delayed notification that arrives while the re-registration
 * (same token) is open is not its answer: a stale one is dropped (a CON
 * still ACKed) and the numbers never go backwards; the real answer, and
 * a fresh notification, still complete the re-registration.
 */
START_TEST(test_client_stale_during_reregistration)
{
	uint32_t tok = observe_start(UCOAP_TYPE_CON);
	struct ucoap_msg rereg;

	answer(100, 1, "v100");
	ck_assert_uint_eq(S.n, 1);
	net->now += 3500; /* Max-Age 1 s and the margin */
	ucoap_ep_tick(ep);
	rereg = last();
	ck_assert_int_eq(observe_of(&rereg), 0);
	ck_assert_uint_eq(token_of(&rereg), tok);
	note(UCOAP_TYPE_NON, 0x900, tok, 98, "v98");
	ck_assert_uint_eq(S.n, 1);
	note(UCOAP_TYPE_CON, 0x901, tok, 99, "v99");
	ck_assert_uint_eq(fn_last(net)->data[0], 0x60); /* ACKed */
	ck_assert_uint_eq(S.n, 1);
	/* Still stale: 99 never became the reference. */
	note(UCOAP_TYPE_NON, 0x902, tok, 99, "v99");
	ck_assert_uint_eq(S.n, 1);
	/* The re-registration's answer is still awaited and delivered. */
	inject(ep, &srv, UCOAP_TYPE_ACK, UCOAP_CONTENT, rereg.mid, tok, 101, -1,
	       "v101");
	ck_assert_uint_eq(S.n, 2);
	ck_assert_str_eq(S.payloads[1], "v101");
	ck_assert_uint_eq(S.finals + S.errors, 0);
	/* Another re-registration: a fresh separate notification answers. */
	net->now += 62500;
	ucoap_ep_tick(ep);
	rereg = last();
	ck_assert_int_eq(observe_of(&rereg), 0);
	note(UCOAP_TYPE_NON, 0x903, tok, 102, "v102");
	ck_assert_uint_eq(S.n, 3);
	ck_assert_str_eq(S.payloads[2], "v102");
	/* It completed the CON re-registration: no retransmission is due. */
	ck_assert_int_gt(ucoap_ep_next_timeout(ep), 60000);
}
END_TEST

/*
 * A 2.05 on the observation's token whose Observe is 4 bytes long has no
 * Observe (RFC 7252 §5.4.3): §3.2, the observation ends with it.
 */
START_TEST(test_client_long_observe_ends)
{
	uint32_t tok = observe_start(UCOAP_TYPE_CON);

	answer(1, -1, "a");
	inject_long_observe(&srv, UCOAP_TYPE_NON, UCOAP_CONTENT, 0x950, tok, 2);
	ck_assert_uint_eq(S.calls, 2);
	ck_assert_int_eq(ucoap_ep_observe_cancel(ep, S.handle),
			 UCOAP_ERR_NOENT);
	note(UCOAP_TYPE_NON, 0x951, tok, 3, "b");
	ck_assert_uint_eq(S.calls, 2);
}
END_TEST

START_TEST(test_client_cancel_with_observe1)
{
	uint32_t tok = observe_start(UCOAP_TYPE_CON);
	struct ucoap_msg m;

	answer(1, -1, "a");
	ck_assert_int_eq(ucoap_ep_observe_cancel(ep, S.handle), 0);
	m = last();
	/* §3.6: GET, same token, Observe 1; the callback once, now. */
	ck_assert_uint_eq(m.code, UCOAP_GET);
	ck_assert_uint_eq(token_of(&m), tok);
	ck_assert_int_eq(observe_of(&m), 1);
	ck_assert_uint_eq(S.cancelled, 1);
	ck_assert_uint_eq(S.calls, 2);
	ck_assert_int_eq(ucoap_ep_observe_cancel(ep, S.handle),
			 UCOAP_ERR_NOENT);
	/* Its plain answer and later notifications reach nobody. */
	answer(-1, -1, "z");
	note(UCOAP_TYPE_CON, 0x500, tok, 5, "late");
	ck_assert_uint_eq(fn_last(net)->data[0], 0x70); /* RST */
	ck_assert_uint_eq(S.calls, 2);
}
END_TEST

START_TEST(test_client_cancel_before_answer_and_in_callback)
{
	uint32_t tok;

	observe_start(UCOAP_TYPE_CON);
	ck_assert_int_eq(ucoap_ep_observe_cancel(ep, S.handle), 0);
	ck_assert_uint_eq(S.calls, 1);
	/* The registration's exchange is gone: nothing retransmits it... */
	net->now += 600000;
	ucoap_ep_tick(ep);
	ck_assert_uint_eq(S.calls, 1);
	/* ...and cancelling from inside the callback works too. */
	memset(&S, 0, sizeof(S));
	S.cancel_in_cb = true;
	tok = observe_start(UCOAP_TYPE_NON);
	/* A NON request is answered with a NON (RFC 7252 §5.2.3). */
	note(UCOAP_TYPE_NON, 0x5FF, tok, 1, "a");
	ck_assert_uint_eq(S.calls, 2);
	ck_assert_uint_eq(S.cancelled, 1);
	note(UCOAP_TYPE_NON, 0x600, tok, 2, "b");
	ck_assert_uint_eq(S.calls, 2);
}
END_TEST

START_TEST(test_client_final_response_ends)
{
	uint32_t tok = observe_start(UCOAP_TYPE_CON);

	answer(1, -1, "a");
	inject(ep, &srv, UCOAP_TYPE_NON, UCOAP_NOT_FOUND, 0x700, tok, -1, -1,
	       NULL);
	ck_assert_uint_eq(S.calls, 2);
	ck_assert_uint_eq(S.finals, 1);
	ck_assert_int_eq(ucoap_ep_observe_cancel(ep, S.handle),
			 UCOAP_ERR_NOENT);
	note(UCOAP_TYPE_NON, 0x701, tok, 2, "b");
	ck_assert_uint_eq(S.calls, 2);
	/* A server that declines: one plain answer, and it is over. */
	memset(&S, 0, sizeof(S));
	observe_start(UCOAP_TYPE_CON);
	answer(-1, -1, "plain");
	ck_assert_uint_eq(S.calls, 1);
	ck_assert_uint_eq(S.finals, 1);
	ck_assert_int_eq(ucoap_ep_observe_cancel(ep, S.handle),
			 UCOAP_ERR_NOENT);
}
END_TEST

START_TEST(test_client_timeout_and_free)
{
	observe_start(UCOAP_TYPE_CON);
	/* Nobody answers the registration: it ends with a timeout. */
	while (ucoap_ep_next_timeout(ep) >= 0) {
		net->now += ucoap_ep_next_timeout(ep);
		ucoap_ep_tick(ep);
	}
	ck_assert_uint_eq(S.calls, 1);
	ck_assert_int_eq(S.last_status, UCOAP_ERR_TIMEOUT);
	/* An open observation ends with CANCELLED when the endpoint goes. */
	memset(&S, 0, sizeof(S));
	observe_start(UCOAP_TYPE_CON);
	answer(1, -1, "a");
	ucoap_ep_free(ep);
	ep = NULL;
	ck_assert_uint_eq(S.calls, 2);
	ck_assert_uint_eq(S.cancelled, 1);
}
END_TEST

START_TEST(test_client_table_full)
{
	struct ucoap_msg req;
	uint32_t h;

	for (unsigned i = 0; i < 16; i++)
		observe_start(UCOAP_TYPE_NON);
	ucoap_msg_init(&req, UCOAP_TYPE_NON, UCOAP_GET);
	ck_assert_int_eq(ucoap_ep_observe(ep, &srv, &req, on_note, &S, &h),
			 UCOAP_ERR_FULL);
	ucoap_msg_init(&req, UCOAP_TYPE_NON, UCOAP_PUT);
	ck_assert_int_eq(ucoap_ep_observe(ep, &srv, &req, on_note, &S, &h),
			 UCOAP_ERR_INVAL);
}
END_TEST

/* ---- both roles over a lossy network ---- */

START_TEST(test_lossy_end_to_end)
{
	struct ucoap_ep *cl, *eps[2];
	struct ucoap_msg req;
	unsigned calls_at_cancel;
	int prev = 0;

	net->drop_pct = 20;
	net->dup_pct = 10;
	net->reorder_pct = 20;
	cl = fn_ep_new(net, NULL, "192.0.2.2", 40000);
	ck_assert_ptr_nonnull(cl);
	eps[0] = ep;
	eps[1] = cl;
	memset(&S, 0, sizeof(S));
	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&req, "obs"), 0);
	ucoap_addr_set(&srv, "192.0.2.1", 5683);
	ck_assert_int_eq(
	    ucoap_ep_observe(cl, &srv, &req, on_note, &S, &S.handle), 0);
	fn_run(net, eps, 2, net->now + 30000);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 1);
	/* 40 changes, one a second, every fifth notification CON. */
	for (int i = 1; i <= 40; i++) {
		R.state = i;
		ck_assert_int_eq(ucoap_ep_notify(ep, &R, i % 5 == 0, NULL), 0);
		fn_run(net, eps, 2, net->now + 1000);
	}
	fn_run(net, eps, 2, net->now + 60000);
	/* Never backwards, never twice; the last state arrived. */
	ck_assert_uint_ge(S.n, 2);
	for (unsigned i = 0; i < S.n; i++) {
		int v = atoi(S.payloads[i] + 1);

		ck_assert_int_ge(v, prev);
		if (i > 0)
			ck_assert_int_gt(v, prev);
		prev = v;
	}
	ck_assert_int_eq(prev, 40);
	ck_assert_uint_gt(net->dropped, 0);
	ck_assert_uint_gt(net->reordered, 0);
	ck_assert_uint_eq(S.errors + S.cancelled + S.finals, 0);
	/* Cancel: the callback once, never again, and the server forgets. */
	ck_assert_int_eq(ucoap_ep_observe_cancel(cl, S.handle), 0);
	calls_at_cancel = S.calls;
	for (int i = 41; i <= 50; i++) {
		R.state = i;
		ucoap_ep_notify(ep, &R, i % 2 == 0, NULL);
		fn_run(net, eps, 2, net->now + 1000);
	}
	fn_run(net, eps, 2, net->now + 300000);
	ck_assert_uint_eq(S.calls, calls_at_cancel);
	ck_assert_uint_eq(S.cancelled, 1);
	ck_assert_uint_eq(ucoap_ep_observer_count(ep, &R), 0);
	ucoap_ep_free(cl);
	ck_assert_uint_eq(S.calls, calls_at_cancel);
}
END_TEST

static Suite *observe_suite(void)
{
	Suite *s = suite_create("observe");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_register_and_notify_increasing);
	tcase_add_test(tc, test_not_observable_plain_answer);
	tcase_add_test(tc, test_con_on_request_and_every_24h);
	tcase_add_test(tc, test_one_unacked_con_carries_newest_state);
	tcase_add_test(tc, test_ack_of_replaced_con_counts);
	tcase_add_test(tc, test_rst_of_replaced_con_removes);
	tcase_add_test(tc, test_rst_matches_only_what_we_sent);
	tcase_add_test(tc, test_long_observe_is_no_registration);
	tcase_add_test(tc, test_rst_removes);
	tcase_add_test(tc, test_con_timeout_removes);
	tcase_add_test(tc, test_deregister_observe1_and_plain_get);
	tcase_add_test(tc, test_same_token_replaces_other_token_adds);
	tcase_add_test(tc, test_table_full_declines);
	tcase_add_test(tc, test_error_notification_ends);
	tcase_add_test(tc, test_removed_handler_ends_with_404);
	tcase_add_test(tc, test_lossy_end_to_end);
	suite_add_tcase(s, tc);

	tc = tcase_create("client");
	tcase_add_checked_fixture(tc, client_setup, teardown);
	tcase_add_test(tc, test_client_register_and_reorder);
	tcase_add_test(tc, test_client_con_notification_acked);
	tcase_add_test(tc, test_client_reregisters_after_max_age);
	tcase_add_test(tc, test_client_stale_during_reregistration);
	tcase_add_test(tc, test_client_long_observe_ends);
	tcase_add_test(tc, test_client_cancel_with_observe1);
	tcase_add_test(tc, test_client_cancel_before_answer_and_in_callback);
	tcase_add_test(tc, test_client_final_response_ends);
	tcase_add_test(tc, test_client_timeout_and_free);
	tcase_add_test(tc, test_client_table_full);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(observe_suite());
}
