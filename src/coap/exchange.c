/*
 * ucoap_extable: the exchange table; see exchange.h for its shape and
 * bounds. The endpoint does the I/O and the callbacks; this file owns the
 * slots, the indexes, the timer heap and the retransmission schedule.
 */
#include <string.h>

#include "exchange.h"

static uint32_t mid_hash(const struct ucoap_addr_key *peer, uint16_t mid)
{
	return ucoap_fnv1a(ucoap_addr_key_hash(peer, UCOAP_FNV_OFFSET), &mid,
			   sizeof(mid));
}

static uint32_t tok_hash(const struct ucoap_addr_key *peer,
			 const uint8_t *token, uint8_t len)
{
	uint32_t h = ucoap_addr_key_hash(peer, UCOAP_FNV_OFFSET);

	h = ucoap_fnv1a(h, &len, 1);
	return ucoap_fnv1a(h, token, len);
}

int ucoap_extable_init(struct ucoap_extable *t, uint32_t cap, size_t buf_size)
{
	memset(t, 0, sizeof(*t));
	if (cap == 0 || buf_size == 0)
		return UCOAP_ERR_INVAL;
	t->x = calloc(cap, sizeof(*t->x));
	t->free_list = calloc(cap, sizeof(*t->free_list));
	t->heap = calloc(cap, sizeof(*t->heap));
	t->bufs = malloc((size_t)cap * buf_size);
	if (!t->x || !t->free_list || !t->heap || !t->bufs ||
	    ucoap_index_init(&t->by_mid, cap) < 0 ||
	    ucoap_index_init(&t->by_token, cap) < 0) {
		ucoap_extable_cleanup(t);
		return UCOAP_ERR_NOMEM;
	}
	t->cap = cap;
	t->buf_size = buf_size;
	/* Hand out low slots first: easier to read in a debugger. */
	for (uint32_t i = 0; i < cap; i++)
		t->free_list[i] = cap - 1 - i;
	t->nfree = cap;
	return 0;
}

void ucoap_extable_cleanup(struct ucoap_extable *t)
{
	ucoap_index_cleanup(&t->by_mid);
	ucoap_index_cleanup(&t->by_token);
	free(t->x);
	free(t->free_list);
	free(t->heap);
	free(t->bufs);
	memset(t, 0, sizeof(*t));
}

/* ---- the timer heap (min on .due) ---- */

static void heap_swap(struct ucoap_extable *t, uint32_t a, uint32_t b)
{
	uint32_t ia = t->heap[a], ib = t->heap[b];

	t->heap[a] = ib;
	t->heap[b] = ia;
	t->x[ib].heap_pos = a;
	t->x[ia].heap_pos = b;
}

static bool heap_less(const struct ucoap_extable *t, uint32_t a, uint32_t b)
{
	return t->x[t->heap[a]].due < t->x[t->heap[b]].due;
}

static void heap_fix(struct ucoap_extable *t, uint32_t pos)
{
	while (pos > 0 && heap_less(t, pos, (pos - 1) / 2)) {
		heap_swap(t, pos, (pos - 1) / 2);
		pos = (pos - 1) / 2;
	}
	for (;;) {
		uint32_t l = 2 * pos + 1, r = l + 1, m = pos;

		if (l < t->heap_len && heap_less(t, l, m))
			m = l;
		if (r < t->heap_len && heap_less(t, r, m))
			m = r;
		if (m == pos)
			break;
		heap_swap(t, pos, m);
		pos = m;
	}
}

static void heap_push(struct ucoap_extable *t, struct ucoap_exchange *x)
{
	uint32_t i = (uint32_t)(x - t->x);

	t->heap[t->heap_len] = i;
	x->heap_pos = t->heap_len++;
	heap_fix(t, x->heap_pos);
}

static void heap_remove(struct ucoap_extable *t, struct ucoap_exchange *x)
{
	uint32_t pos = x->heap_pos;

	t->heap_len--;
	if (pos != t->heap_len) {
		heap_swap(t, pos, t->heap_len);
		heap_fix(t, pos);
	}
}

static void set_due(struct ucoap_extable *t, struct ucoap_exchange *x,
		    uint64_t due)
{
	x->due = due;
	heap_fix(t, x->heap_pos);
}

/* ---- slots ---- */

struct ucoap_exchange *ucoap_extable_alloc(struct ucoap_extable *t)
{
	struct ucoap_exchange *x;

	if (t->nfree == 0)
		return NULL;
	x = &t->x[t->free_list[--t->nfree]];
	memset(x, 0, sizeof(*x));
	return x;
}

void ucoap_extable_unalloc(struct ucoap_extable *t, struct ucoap_exchange *x)
{
	t->free_list[t->nfree++] = (uint32_t)(x - t->x);
}

void ucoap_extable_link(struct ucoap_extable *t, struct ucoap_exchange *x,
			uint64_t now, uint32_t rto_ms, uint64_t deadline)
{
	uint32_t i = (uint32_t)(x - t->x);

	x->deadline = deadline;
	x->retransmits = 0;
	x->rto_ms = rto_ms;
	if (x->type == UCOAP_TYPE_CON) {
		x->state = UCOAP_EX_WAIT_ACK;
		x->retx_at = now + rto_ms;
		x->due = x->retx_at < deadline ? x->retx_at : deadline;
	} else {
		x->state = UCOAP_EX_WAIT_RESP;
		x->due = deadline;
	}
	x->mid_hash = mid_hash(&x->key, x->mid);
	x->tok_hash = tok_hash(&x->key, x->token, x->token_len);
	ucoap_index_insert(&t->by_mid, x->mid_hash, i);
	/*
	 * A ping or a separate response of ours expects no response, so it
	 * must not shadow a request's token (an empty one, say).
	 */
	if (!x->ack_completes)
		ucoap_index_insert(&t->by_token, x->tok_hash, i);
	heap_push(t, x);
	t->used++;
}

void ucoap_extable_release(struct ucoap_extable *t, struct ucoap_exchange *x)
{
	uint32_t i = (uint32_t)(x - t->x);

	if (x->state == UCOAP_EX_FREE)
		return;
	ucoap_index_remove(&t->by_mid, x->mid_hash, i);
	if (!x->ack_completes)
		ucoap_index_remove(&t->by_token, x->tok_hash, i);
	heap_remove(t, x);
	x->state = UCOAP_EX_FREE;
	t->used--;
	t->free_list[t->nfree++] = i;
}

struct ucoap_exchange *ucoap_extable_by_mid(struct ucoap_extable *t,
					    const struct ucoap_addr_key *peer,
					    uint16_t mid)
{
	uint32_t h = mid_hash(peer, mid), pos = UCOAP_INDEX_NONE, i;

	while ((i = ucoap_index_next(&t->by_mid, h, &pos)) !=
	       UCOAP_INDEX_NONE) {
		struct ucoap_exchange *x = &t->x[i];

		if (x->mid == mid && ucoap_addr_key_eq(&x->key, peer))
			return x;
	}
	return NULL;
}

struct ucoap_exchange *ucoap_extable_by_token(struct ucoap_extable *t,
					      const struct ucoap_addr_key *peer,
					      const uint8_t *token,
					      uint8_t token_len)
{
	uint32_t h = tok_hash(peer, token, token_len), pos = UCOAP_INDEX_NONE;
	uint32_t i;

	while ((i = ucoap_index_next(&t->by_token, h, &pos)) !=
	       UCOAP_INDEX_NONE) {
		struct ucoap_exchange *x = &t->x[i];

		if (x->token_len == token_len &&
		    memcmp(x->token, token, token_len) == 0 &&
		    ucoap_addr_key_eq(&x->key, peer))
			return x;
	}
	return NULL;
}

void ucoap_extable_set_mid(struct ucoap_extable *t, struct ucoap_exchange *x,
			   uint16_t mid)
{
	uint32_t i = (uint32_t)(x - t->x);

	ucoap_index_remove(&t->by_mid, x->mid_hash, i);
	x->mid = mid;
	x->mid_hash = mid_hash(&x->key, mid);
	ucoap_index_insert(&t->by_mid, x->mid_hash, i);
}

void ucoap_extable_restart(struct ucoap_extable *t, struct ucoap_exchange *x,
			   uint64_t now, uint32_t rto_ms, uint64_t deadline)
{
	x->retransmits = 0;
	x->rto_ms = rto_ms;
	x->retx_at = now + rto_ms;
	x->deadline = deadline;
	set_due(t, x, x->retx_at < deadline ? x->retx_at : deadline);
}

void ucoap_extable_acked(struct ucoap_extable *t, struct ucoap_exchange *x)
{
	x->state = UCOAP_EX_WAIT_RESP;
	set_due(t, x, x->deadline);
}

enum ucoap_ex_action ucoap_extable_due(struct ucoap_extable *t,
				       struct ucoap_exchange *x, uint64_t now,
				       uint32_t max_retransmit)
{
	uint64_t next;

	if (now >= x->deadline || x->state != UCOAP_EX_WAIT_ACK)
		return UCOAP_EX_TIMEOUT;
	/*
	 * §4.2: after MAX_RETRANSMIT retransmissions, the last timeout
	 * running out without an ACK is the give-up point: the peer never saw
	 * the request (or we never saw its ACK), so no response will come.
	 */
	if (x->retransmits >= max_retransmit)
		return UCOAP_EX_TIMEOUT;
	x->retransmits++;
	if (x->rto_ms <= UINT32_MAX / 2)
		x->rto_ms *= 2;
	x->retx_at = now + x->rto_ms;
	next = x->retx_at < x->deadline ? x->retx_at : x->deadline;
	set_due(t, x, next);
	return UCOAP_EX_RETRANSMIT;
}
