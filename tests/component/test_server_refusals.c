/*
 * Requests the endpoint's server role refuses before any handler sees
 * them (RFC 7252 §5.4.1, §5.7.2, §5.10.2), through fakenet.h: what goes
 * on the wire (5.05, 4.02, or nothing for a rejected NON), and that no
 * handler runs.
 */
#include <check.h>
#include <string.h>

#include <ucoap/endpoint.h>

#include "fakenet.h"
#include "runner.h"

static struct fakenet *net;
static struct ucoap_ep *ep;
static struct ucoap_addr peer;
static int calls;

static const char proxy_uri[] = "coap://198.51.100.1/secret";
static const uint8_t tok[2] = {0xAB, 0xCD};

static void setup(void)
{
	net = fn_new(7);
	ep = fn_ep_new(net, NULL, "192.0.2.1", 5683);
	ck_assert_ptr_nonnull(ep);
	ck_assert_int_eq(ucoap_addr_set(&peer, "192.0.2.2", 40000), 0);
	calls = 0;
}

static void teardown(void)
{
	ucoap_ep_free(ep);
	fn_free(net);
}

/* What the daemon's handlers do with a request: act on it, 2.04. */
static void on_changed(struct ucoap_ep *e, const struct ucoap_msg *req,
		       const struct ucoap_addr *from, void *user)
{
	struct ucoap_msg r;

	(void)req;
	(void)from;
	(void)user;
	calls++;
	ucoap_msg_init(&r, UCOAP_TYPE_ACK, UCOAP_CHANGED);
	ck_assert_int_eq(ucoap_ep_respond(e, &r), 0);
}

/* A request with mid @mid and token tok, options added by the caller. */
static void req_init(struct ucoap_msg *m, uint8_t type, uint8_t code,
		     uint16_t mid)
{
	ucoap_msg_init(m, type, code);
	m->mid = mid;
	m->token_len = sizeof(tok);
	memcpy(m->token, tok, sizeof(tok));
}

static void input(const struct ucoap_msg *m)
{
	uint8_t buf[256];
	size_t len;

	ck_assert_int_eq(ucoap_msg_encode(m, buf, sizeof(buf), &len), 0);
	ucoap_ep_input(ep, buf, len, &peer);
}

/* The last datagram is an answer of @type and @code to the request. */
static struct ucoap_msg expect_answer(uint8_t type, uint8_t code)
{
	const struct fn_dgram *d = fn_last(net);
	struct ucoap_msg a;

	ck_assert_ptr_nonnull(d);
	ck_assert(ucoap_addr_equal(&d->to, &peer));
	a = fn_last_msg(net);
	ck_assert_uint_eq(a.type, type);
	ck_assert_uint_eq(a.code, code);
	ck_assert_uint_eq(a.token_len, sizeof(tok));
	ck_assert_mem_eq(a.token, tok, sizeof(tok));
	ck_assert_uint_eq(a.opt_count, 0);
	ck_assert_uint_eq(a.payload_len, 0);
	return a;
}

/* ---- Proxy-Uri, Proxy-Scheme: 5.05 (§5.7.2, §5.10.2) ---- */

/*
 * The review's case: a CON PUT with only Proxy-Uri is not a request for
 * our root resource.
 */
START_TEST(test_proxy_uri_con_505)
{
	struct ucoap_msg m, a;

	ucoap_ep_set_default_handler(ep, on_changed, NULL);
	req_init(&m, UCOAP_TYPE_CON, UCOAP_PUT, 77);
	ucoap_msg_add_opt(&m, UCOAP_OPT_PROXY_URI, proxy_uri,
			  strlen(proxy_uri));
	m.payload = (const uint8_t *)"x";
	m.payload_len = 1;
	input(&m);
	ck_assert_uint_eq(net->nlog, 1);
	a = expect_answer(UCOAP_TYPE_ACK, UCOAP_PROXYING_NOT_SUPPORTED);
	ck_assert_uint_eq(a.mid, 77);
	ck_assert_int_eq(calls, 0);
}
END_TEST

/* Uri-Path next to Proxy-Uri (§5.10.2 forbids it) names nothing of ours. */
START_TEST(test_proxy_uri_with_registered_path_505)
{
	struct ucoap_msg m;

	ck_assert_int_eq(
	    ucoap_ep_add_request_callback(ep, "secret", on_changed, NULL), 0);
	ucoap_ep_set_default_handler(ep, on_changed, NULL);
	req_init(&m, UCOAP_TYPE_CON, UCOAP_GET, 78);
	ucoap_msg_add_opt(&m, UCOAP_OPT_URI_PATH, "secret", 6);
	ucoap_msg_add_opt(&m, UCOAP_OPT_PROXY_URI, proxy_uri,
			  strlen(proxy_uri));
	input(&m);
	expect_answer(UCOAP_TYPE_ACK, UCOAP_PROXYING_NOT_SUPPORTED);
	ck_assert_int_eq(calls, 0);
}
END_TEST

/* §5.10.2: Proxy-Scheme with Uri-Host/Uri-Path is a proxy request too. */
START_TEST(test_proxy_scheme_505)
{
	struct ucoap_msg m;

	ck_assert_int_eq(
	    ucoap_ep_add_request_callback(ep, "x", on_changed, NULL), 0);
	req_init(&m, UCOAP_TYPE_CON, UCOAP_GET, 79);
	ucoap_msg_add_opt(&m, UCOAP_OPT_URI_HOST, "198.51.100.1", 12);
	ucoap_msg_add_opt(&m, UCOAP_OPT_URI_PATH, "x", 1);
	ucoap_msg_add_opt(&m, UCOAP_OPT_PROXY_SCHEME, "coap", 4);
	input(&m);
	expect_answer(UCOAP_TYPE_ACK, UCOAP_PROXYING_NOT_SUPPORTED);
	ck_assert_int_eq(calls, 0);
}
END_TEST

/* No handler at all: still 5.05, not 4.04 (the resource is not ours). */
START_TEST(test_proxy_uri_no_handler_505)
{
	struct ucoap_msg m;

	req_init(&m, UCOAP_TYPE_CON, UCOAP_GET, 80);
	ucoap_msg_add_opt(&m, UCOAP_OPT_PROXY_URI, proxy_uri,
			  strlen(proxy_uri));
	input(&m);
	expect_answer(UCOAP_TYPE_ACK, UCOAP_PROXYING_NOT_SUPPORTED);
}
END_TEST

/* §5.2.3: a NON request's answer is a NON, with a fresh message id. */
START_TEST(test_proxy_uri_non_gets_non_505)
{
	struct ucoap_msg m;

	ucoap_ep_set_default_handler(ep, on_changed, NULL);
	req_init(&m, UCOAP_TYPE_NON, UCOAP_POST, 81);
	ucoap_msg_add_opt(&m, UCOAP_OPT_PROXY_URI, proxy_uri,
			  strlen(proxy_uri));
	input(&m);
	ck_assert_uint_eq(net->nlog, 1);
	expect_answer(UCOAP_TYPE_NON, UCOAP_PROXYING_NOT_SUPPORTED);
	ck_assert_int_eq(calls, 0);
}
END_TEST

/* §4.5: a retransmission gets the same 5.05, still without the handler. */
START_TEST(test_proxy_uri_duplicate_same_505)
{
	struct ucoap_msg m;
	const struct fn_dgram *first, *again;

	ucoap_ep_set_default_handler(ep, on_changed, NULL);
	req_init(&m, UCOAP_TYPE_CON, UCOAP_PUT, 82);
	ucoap_msg_add_opt(&m, UCOAP_OPT_PROXY_URI, proxy_uri,
			  strlen(proxy_uri));
	input(&m);
	input(&m);
	ck_assert_uint_eq(net->nlog, 2);
	first = fn_sent(net, 0);
	again = fn_sent(net, 1);
	ck_assert_uint_eq(first->len, again->len);
	ck_assert_mem_eq(first->data, again->data, first->len);
	expect_answer(UCOAP_TYPE_ACK, UCOAP_PROXYING_NOT_SUPPORTED);
	ck_assert_int_eq(calls, 0);
}
END_TEST

/* Without the proxy options the same request reaches the handler. */
START_TEST(test_plain_request_still_handled)
{
	struct ucoap_msg m;

	ucoap_ep_set_default_handler(ep, on_changed, NULL);
	req_init(&m, UCOAP_TYPE_CON, UCOAP_PUT, 83);
	input(&m);
	expect_answer(UCOAP_TYPE_ACK, UCOAP_CHANGED);
	ck_assert_int_eq(calls, 1);
}
END_TEST

/* ---- critical options we cannot process (§5.4.1, §5.4.3, §5.4.5) ---- */

/*
 * The three ways a critical option is "unrecognised": a number the core
 * lacks (9), a non-repeatable one repeated (Accept, 17, twice), one of
 * a length outside its range (If-None-Match, 5, must be empty).
 */
enum bad_kind { BAD_UNKNOWN, BAD_REPEATED, BAD_LENGTH, BAD_KINDS };

static void add_bad(struct ucoap_msg *m, enum bad_kind kind)
{
	switch (kind) {
	case BAD_UNKNOWN:
		ck_assert_int_eq(ucoap_msg_add_opt(m, 9, "a", 1), 0);
		break;
	case BAD_REPEATED:
		ck_assert_int_eq(ucoap_msg_add_uint(m, UCOAP_OPT_ACCEPT, 0), 0);
		ck_assert_int_eq(ucoap_msg_add_uint(m, UCOAP_OPT_ACCEPT, 50),
				 0);
		break;
	default:
		ck_assert_int_eq(
		    ucoap_msg_add_opt(m, UCOAP_OPT_IF_NONE_MATCH, "x", 1), 0);
		break;
	}
	ck_assert_int_ne(ucoap_msg_bad_critical(m), 0);
}

/* §5.4.1: only a CON request is answered 4.02, piggybacked. */
START_TEST(test_con_bad_critical_402)
{
	struct ucoap_msg m, a;

	ucoap_ep_set_default_handler(ep, on_changed, NULL);
	req_init(&m, UCOAP_TYPE_CON, UCOAP_GET, (uint16_t)(90 + _i));
	ucoap_msg_add_opt(&m, UCOAP_OPT_URI_PATH, "x", 1);
	add_bad(&m, (enum bad_kind)_i);
	input(&m);
	ck_assert_uint_eq(net->nlog, 1);
	a = expect_answer(UCOAP_TYPE_ACK, UCOAP_BAD_OPTION);
	ck_assert_uint_eq(a.mid, 90 + _i);
	ck_assert_int_eq(calls, 0);
}
END_TEST

/*
 * §5.4.1: a NON request with one is rejected, and §4.3 rejects a NON by
 * ignoring it (as the core does any NON it rejects): nothing is sent, no
 * NON 4.02, and no handler runs -- nor for its duplicate.
 */
START_TEST(test_non_bad_critical_ignored)
{
	struct ucoap_msg m;

	ucoap_ep_set_default_handler(ep, on_changed, NULL);
	req_init(&m, UCOAP_TYPE_NON, UCOAP_GET, (uint16_t)(100 + _i));
	ucoap_msg_add_opt(&m, UCOAP_OPT_URI_PATH, "x", 1);
	add_bad(&m, (enum bad_kind)_i);
	input(&m);
	input(&m);
	ck_assert_uint_eq(net->nlog, 0);
	ck_assert_int_eq(calls, 0);
}
END_TEST

/* A bad critical option outranks Proxy-Uri: the NON is still ignored. */
START_TEST(test_non_bad_critical_with_proxy_uri_ignored)
{
	struct ucoap_msg m;

	req_init(&m, UCOAP_TYPE_NON, UCOAP_GET, 110);
	ucoap_msg_add_opt(&m, UCOAP_OPT_PROXY_URI, proxy_uri,
			  strlen(proxy_uri));
	add_bad(&m, BAD_UNKNOWN);
	input(&m);
	ck_assert_uint_eq(net->nlog, 0);
}
END_TEST

/* After an ignored NON, the endpoint serves the next request as usual. */
START_TEST(test_non_after_ignored_served)
{
	struct ucoap_msg m;

	ucoap_ep_set_default_handler(ep, on_changed, NULL);
	req_init(&m, UCOAP_TYPE_NON, UCOAP_PUT, 111);
	add_bad(&m, BAD_UNKNOWN);
	input(&m);
	ck_assert_uint_eq(net->nlog, 0);
	req_init(&m, UCOAP_TYPE_NON, UCOAP_PUT, 112);
	input(&m);
	ck_assert_uint_eq(net->nlog, 1);
	expect_answer(UCOAP_TYPE_NON, UCOAP_CHANGED);
	ck_assert_int_eq(calls, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("server_refusals");
	TCase *tc = tcase_create("proxy");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_proxy_uri_con_505);
	tcase_add_test(tc, test_proxy_uri_with_registered_path_505);
	tcase_add_test(tc, test_proxy_scheme_505);
	tcase_add_test(tc, test_proxy_uri_no_handler_505);
	tcase_add_test(tc, test_proxy_uri_non_gets_non_505);
	tcase_add_test(tc, test_proxy_uri_duplicate_same_505);
	tcase_add_test(tc, test_plain_request_still_handled);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad_critical");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_con_bad_critical_402, 0, BAD_KINDS);
	tcase_add_loop_test(tc, test_non_bad_critical_ignored, 0, BAD_KINDS);
	tcase_add_test(tc, test_non_bad_critical_with_proxy_uri_ignored);
	tcase_add_test(tc, test_non_after_ignored_served);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
