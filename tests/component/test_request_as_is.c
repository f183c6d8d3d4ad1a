/*
 * ucoap_ep_request_as_is(): the request's token goes out as given, an
 * empty one included (RFC 7252 §5.3.1), and the answer that echoes it is
 * still matched -- by message id for a piggybacked ACK.
 */
#include <check.h>
#include <string.h>

#include <ucoap/endpoint.h>

#include "fakenet.h"
#include "runner.h"

static struct fakenet *net;
static struct ucoap_ep *ep;
static struct ucoap_addr peer;
static unsigned ndone;
static int last_status;
static uint8_t last_code;

static void on_done(struct ucoap_ep *e, int status, const struct ucoap_msg *m,
		    const struct ucoap_addr *from, void *user)
{
	ndone++;
	last_status = status;
	last_code = m ? m->code : 0;
}

static void setup(void)
{
	net = fn_new(11);
	ep = fn_ep_new(net, NULL, "192.0.2.1", 5683);
	ck_assert_ptr_nonnull(ep);
	ck_assert_int_eq(ucoap_addr_set(&peer, "192.0.2.2", 5683), 0);
	ndone = 0;
}

static void teardown(void)
{
	ucoap_ep_free(ep);
	fn_free(net);
}

START_TEST(test_empty_token_stays_empty_and_matches)
{
	struct ucoap_msg req, sent;
	const struct fn_dgram *d;
	uint16_t mid;

	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&req, "test"), 0);
	ck_assert_int_eq(
	    ucoap_ep_request_as_is(ep, &peer, &req, 0, on_done, NULL, &mid), 0);
	d = fn_last(net);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(ucoap_msg_decode(&sent, d->data, d->len), 0);
	ck_assert_uint_eq(sent.token_len, 0); /* ucoap_ep_request adds 4 */
	ck_assert_uint_eq(sent.mid, mid);

	/* ACK 2.05, same message id, no token. */
	const uint8_t ack[] = {
	    0x60, 0x45, (uint8_t)(mid >> 8), (uint8_t)mid, 0xFF, 'o', 'k'};
	ucoap_ep_input(ep, ack, sizeof(ack), &peer);
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(last_status, 0);
	ck_assert_uint_eq(last_code, UCOAP_CONTENT);
}
END_TEST

START_TEST(test_given_token_kept)
{
	struct ucoap_msg req, sent;

	ucoap_msg_init(&req, UCOAP_TYPE_NON, UCOAP_GET);
	req.token_len = 2;
	req.token[0] = 0xBE;
	req.token[1] = 0xEF;
	ck_assert_int_eq(
	    ucoap_ep_request_as_is(ep, &peer, &req, 0, on_done, NULL, NULL), 0);
	ck_assert_int_eq(
	    ucoap_msg_decode(&sent, fn_last(net)->data, fn_last(net)->len), 0);
	ck_assert_uint_eq(sent.token_len, 2);
	ck_assert_uint_eq(sent.token[0], 0xBE);
	ck_assert_uint_eq(sent.token[1], 0xEF);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("request_as_is");
	TCase *tc = tcase_create("token");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_empty_token_stays_empty_and_matches);
	tcase_add_test(tc, test_given_token_kept);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
