/*
 * The full-cache policies of the duplicate cache at the endpoint: strict
 * refusal is tested in test_endpoint.c; here the forget-oldest policy that
 * the daemon uses, so a high request rate is served, not refused.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <ucoap/endpoint.h>

#include "dedup.h"
#include "fakenet.h"
#include "runner.h"

static struct fakenet *net;
static struct ucoap_ep *ep;
static struct ucoap_addr peer;
static unsigned calls;

static void on_content(struct ucoap_ep *e, const struct ucoap_msg *req,
		       const struct ucoap_addr *from, void *user)
{
	struct ucoap_msg r;

	calls++;
	ucoap_msg_init(&r, UCOAP_TYPE_ACK, UCOAP_CONTENT);
	ck_assert_int_eq(ucoap_ep_respond(e, &r), 0);
}

/* CON GET /t with message id @mid and a one-byte token. */
static void con_get(uint16_t mid)
{
	const uint8_t d[] = {
	    0x41, 0x01, (uint8_t)(mid >> 8), (uint8_t)mid, 0xAB, 0xB1, 't'};

	ucoap_ep_input(ep, d, sizeof(d), &peer);
}

static uint8_t last_code(void)
{
	const struct fn_dgram *d = fn_last(net);

	ck_assert_ptr_nonnull(d);
	return d->data[1];
}

static void setup(void)
{
	struct ucoap_ep_config cfg;

	ucoap_ep_config_init(&cfg);
	cfg.dedup_entries = 4;
	cfg.dedup_forget_oldest = true;
	net = fn_new(7);
	ep = fn_ep_new(net, &cfg, "192.0.2.1", 5683);
	ck_assert_ptr_nonnull(ep);
	ck_assert_int_eq(ucoap_addr_set(&peer, "192.0.2.2", 40000), 0);
	ucoap_ep_set_default_handler(ep, on_content, NULL);
	calls = 0;
}

static void teardown(void)
{
	ucoap_ep_free(ep);
	fn_free(net);
}

START_TEST(test_full_cache_forgets_oldest_and_serves)
{
	struct ucoap_ep_stats st;

	for (uint16_t mid = 1; mid <= 6; mid++) {
		con_get(mid);
		ck_assert_uint_eq(last_code(), UCOAP_CONTENT);
	}
	ck_assert_uint_eq(calls, 6);
	ucoap_ep_stats(ep, &st);
	ck_assert_uint_eq(st.dedup_full, 0);
	ck_assert_uint_eq(st.dedup_forgotten, 2);
	ck_assert_uint_eq(st.dedup_used, 4);
	/* The newest four are still remembered: duplicates are answered
	 * from the cache without running the handler. */
	for (uint16_t mid = 3; mid <= 6; mid++)
		con_get(mid);
	ck_assert_uint_eq(calls, 6);
	ucoap_ep_stats(ep, &st);
	ck_assert_uint_eq(st.rx_duplicates, 4);
	/* The two forgotten ones are handled again: the documented price. */
	con_get(1);
	ck_assert_uint_eq(calls, 7);
}
END_TEST

START_TEST(test_replaced_entries_are_not_counted_as_forgotten)
{
	struct ucoap_dedup d;
	struct ucoap_addr_key k;

	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(ucoap_dedup_init(&d, 2, 64, 16), 0);
	ck_assert_int_eq(
	    ucoap_dedup_add(&d, &k, 1, 0x1, UCOAP_DEDUP_SILENT, NULL, 0, 100),
	    0);
	/* Same peer and mid, other bytes: the first entry is replaced. */
	ck_assert_int_eq(
	    ucoap_dedup_add(&d, &k, 1, 0x2, UCOAP_DEDUP_SILENT, NULL, 0, 100),
	    0);
	ck_assert_int_eq(ucoap_dedup_drop_oldest(&d), 0);
	ck_assert_int_eq(ucoap_dedup_drop_oldest(&d), 1);
	ck_assert_int_eq(ucoap_dedup_drop_oldest(&d), -1);
	ucoap_dedup_cleanup(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dedup_policy");
	TCase *tc = tcase_create("forget_oldest");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_full_cache_forgets_oldest_and_serves);
	tcase_add_test(tc, test_replaced_entries_are_not_counted_as_forgotten);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
