/*
 * The duplicate cache on its own (dedup.c): the FIFO and byte rings across
 * wrap-around, replacement, expiry, and the hash index under churn,
 * checked against a plain model.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dedup.h"
#include "runner.h"

static struct ucoap_addr_key key(unsigned n)
{
	struct ucoap_addr_key k;

	memset(&k, 0, sizeof(k));
	k.ip[15] = (uint8_t)n;
	k.ip[14] = (uint8_t)(n >> 8);
	k.port = 5683;
	return k;
}

START_TEST(test_add_find_expire)
{
	struct ucoap_dedup d;
	struct ucoap_addr_key k = key(1);
	const struct ucoap_dedup_entry *e;

	ck_assert_int_eq(ucoap_dedup_init(&d, 4, 64, 16), 0);
	ck_assert_ptr_null(ucoap_dedup_find(&d, &k, 7, 0));
	ck_assert_int_eq(ucoap_dedup_add(&d, &k, 7, 0xabc, UCOAP_DEDUP_BYTES,
					 (const uint8_t *)"answer", 6, 100),
			 0);
	e = ucoap_dedup_find(&d, &k, 7, 99);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->dghash, 0xabc);
	ck_assert_uint_eq(e->len, 6);
	ck_assert_mem_eq(ucoap_dedup_answer(&d, e), "answer", 6);
	/* Another port, another mid: other keys. */
	k.port = 1;
	ck_assert_ptr_null(ucoap_dedup_find(&d, &k, 7, 0));
	k.port = 5683;
	ck_assert_ptr_null(ucoap_dedup_find(&d, &k, 8, 0));
	/* Expired entries are not found even before they are dropped. */
	ck_assert_ptr_null(ucoap_dedup_find(&d, &k, 7, 100));
	ck_assert_uint_eq(ucoap_dedup_next_expiry(&d), 100);
	ucoap_dedup_expire(&d, 100);
	ck_assert_uint_eq(ucoap_dedup_used(&d), 0);
	ck_assert_uint_eq(ucoap_dedup_next_expiry(&d), UINT64_MAX);
	/* Too big for the reserve. */
	ck_assert_int_eq(ucoap_dedup_add(&d, &k, 9, 0, UCOAP_DEDUP_BYTES,
					 (const uint8_t *)"0123456789abcdefg",
					 17, 100),
			 UCOAP_ERR_NOSPACE);
	ucoap_dedup_cleanup(&d);
	ck_assert_int_eq(ucoap_dedup_init(&d, 4, 8, 16), UCOAP_ERR_INVAL);
}
END_TEST

START_TEST(test_full_and_replace)
{
	struct ucoap_dedup d;
	struct ucoap_addr_key k = key(1);
	const struct ucoap_dedup_entry *e;

	ck_assert_int_eq(ucoap_dedup_init(&d, 2, 64, 16), 0);
	ck_assert_int_eq(
	    ucoap_dedup_add(&d, &k, 1, 1, UCOAP_DEDUP_SILENT, NULL, 0, 100), 0);
	ck_assert(ucoap_dedup_has_room(&d));
	ck_assert_int_eq(
	    ucoap_dedup_add(&d, &k, 2, 2, UCOAP_DEDUP_EMPTY_ACK, NULL, 0, 100),
	    0);
	ck_assert(!ucoap_dedup_has_room(&d));
	ck_assert_int_eq(
	    ucoap_dedup_add(&d, &k, 3, 3, UCOAP_DEDUP_SILENT, NULL, 0, 100),
	    UCOAP_ERR_FULL);
	ucoap_dedup_expire(&d, 50);
	ck_assert(!ucoap_dedup_has_room(&d));
	ucoap_dedup_expire(&d, 100);
	ck_assert(ucoap_dedup_has_room(&d));
	/* Replace: the old entry leaves the index at once. */
	ck_assert_int_eq(ucoap_dedup_add(&d, &k, 5, 50, UCOAP_DEDUP_BYTES,
					 (const uint8_t *)"one", 3, 1000),
			 0);
	ck_assert_int_eq(ucoap_dedup_add(&d, &k, 5, 51, UCOAP_DEDUP_BYTES,
					 (const uint8_t *)"two", 3, 2000),
			 0);
	e = ucoap_dedup_find(&d, &k, 5, 200);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->dghash, 51);
	ck_assert_mem_eq(ucoap_dedup_answer(&d, e), "two", 3);
	/* The replaced one is dropped from the head at once. */
	ck_assert_uint_eq(ucoap_dedup_next_expiry(&d), 0);
	ucoap_dedup_expire(&d, 200);
	ck_assert_uint_eq(ucoap_dedup_used(&d), 1);
	ck_assert_ptr_nonnull(ucoap_dedup_find(&d, &k, 5, 200));
	ucoap_dedup_cleanup(&d);
}
END_TEST

/*
 * Churn against a model: random keys (many collisions on purpose), answers
 * of random sizes through a small byte ring, in-order expiry. Every entry
 * the model holds must be found with its exact bytes, and none other.
 */
START_TEST(test_churn_matches_model)
{
	enum { N = 64, B = 700, R = 40, KEYS = 96 };
	struct model {
		bool live;
		uint32_t dghash;
		uint64_t expires;
		uint8_t bytes[R];
		uint32_t len;
	} m[KEYS][4];
	struct ucoap_dedup d;
	uint64_t rng = 12345, now = 0;
	unsigned adds = 0, fulls = 0;

	memset(m, 0, sizeof(m));
	ck_assert_int_eq(ucoap_dedup_init(&d, N, B, R), 0);
	for (unsigned step = 0; step < 6000; step++) {
		unsigned kn, mid;
		struct ucoap_addr_key k;
		struct model *x;
		uint8_t ans[R];
		uint32_t len;
		int rc;

		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		kn = (unsigned)(rng >> 33) % KEYS;
		mid = (unsigned)(rng >> 50) % 4;
		len = 1 + (uint32_t)((rng >> 20) % R);
		k = key(kn);
		x = &m[kn][mid];
		now += (rng >> 40) % 3;
		ucoap_dedup_expire(&d, now);
		for (uint32_t i = 0; i < len; i++)
			ans[i] = (uint8_t)(step + i);
		if (ucoap_dedup_has_room(&d)) {
			rc = ucoap_dedup_add(&d, &k, (uint16_t)mid, step,
					     UCOAP_DEDUP_BYTES, ans, len,
					     now + 300);
			ck_assert_int_eq(rc, 0);
			x->live = true;
			x->dghash = step;
			x->expires = now + 300;
			x->len = len;
			memcpy(x->bytes, ans, len);
			adds++;
		} else {
			fulls++;
		}
		for (unsigned a = 0; a < KEYS; a++) {
			for (unsigned b = 0; b < 4; b++) {
				struct ucoap_addr_key ka = key(a);
				const struct ucoap_dedup_entry *e =
				    ucoap_dedup_find(&d, &ka, (uint16_t)b, now);
				bool want =
				    m[a][b].live && m[a][b].expires > now;

				/*
				 * Plain ifs: ck_assert marks a point per call
				 * (a syscall), too slow for this many checks.
				 */
				if ((e != NULL) != want)
					ck_abort_msg("step %u key %u/%u: found "
						     "%d, model %d",
						     step, a, b, e != NULL,
						     want);
				if (e && (e->dghash != m[a][b].dghash ||
					  e->len != m[a][b].len ||
					  memcmp(ucoap_dedup_answer(&d, e),
						 m[a][b].bytes, e->len)))
					ck_abort_msg(
					    "step %u key %u/%u: wrong entry",
					    step, a, b);
			}
		}
		ck_assert_uint_le(ucoap_dedup_used(&d), N);
	}
	/* Both limits were hit and the ring wrapped many times. */
	ck_assert_uint_gt(fulls, 0);
	ck_assert_uint_gt(adds, 5 * N);
	ucoap_dedup_cleanup(&d);
}
END_TEST

static Suite *dedup_suite(void)
{
	Suite *s = suite_create("dedup");
	TCase *tc = tcase_create("dedup");

	tcase_add_test(tc, test_add_find_expire);
	tcase_add_test(tc, test_full_and_replace);
	tcase_add_test(tc, test_churn_matches_model);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(dedup_suite());
}
