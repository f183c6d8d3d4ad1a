/*
 * Internal: our outgoing messages that await something -- requests
 * (waiting for an ACK and/or a response), pings and CON separate responses
 * (waiting for their ACK) -- with their retransmission schedule (RFC 7252
 * §4.2) and their matching keys (§4.4: ACK/RST by message id and peer,
 * §5.3.2: responses by token and peer).
 *
 * Bounded, allocated once: @cap slots, each with room for its encoded
 * message (kept for retransmission); two hash indexes (mid, token) for
 * O(1) matching and a binary min-heap over the slots' due times, so the
 * next timer is read in O(1) and updated in O(log n). When every slot is
 * taken, a new request is refused (UCOAP_ERR_FULL) rather than queued:
 * the caller (the bridge) owns the backlog policy.
 */
#ifndef UCOAP_EXCHANGE_H
#define UCOAP_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ucoap/endpoint.h>

#include "addr.h"
#include "index.h"

enum ucoap_ex_state {
	UCOAP_EX_FREE,
	UCOAP_EX_WAIT_ACK,  /* CON sent, retransmitting */
	UCOAP_EX_WAIT_RESP, /* ACKed (or NON): waiting for the response */
};

enum ucoap_ex_action {
	UCOAP_EX_RETRANSMIT,
	UCOAP_EX_TIMEOUT,
};

struct ucoap_exchange {
	struct ucoap_addr peer;
	struct ucoap_addr_key key;
	uint16_t mid;
	uint8_t token_len;
	uint8_t token[UCOAP_TOKEN_MAX];
	uint8_t state;        /* enum ucoap_ex_state */
	uint8_t type;         /* CON or NON: what we sent */
	bool ack_completes;   /* ping, separate response: the ACK is the end */
	bool default_cb;      /* deliver to the endpoint's response callback */
	bool own_blocks;      /* req_opts.own_blocks: no block.c takeover */
	uint32_t retransmits; /* done so far */
	uint32_t rto_ms;      /* current retransmission timeout */
	uint64_t retx_at;     /* WAIT_ACK: next retransmission or give-up */
	uint64_t deadline;    /* the request's overall timeout */
	uint64_t due;         /* heap key: what happens next */
	uint32_t heap_pos;
	uint32_t mid_hash, tok_hash;
	size_t len; /* encoded message, in the slot's buffer */
	ucoap_response_cb cb;
	void *user;
};

struct ucoap_extable {
	struct ucoap_exchange *x;
	uint32_t cap, used;
	uint32_t *free_list;
	uint32_t nfree;
	uint8_t *bufs;
	size_t buf_size;
	struct ucoap_index by_mid, by_token;
	uint32_t *heap;
	uint32_t heap_len;
};

int ucoap_extable_init(struct ucoap_extable *t, uint32_t cap, size_t buf_size);
void ucoap_extable_cleanup(struct ucoap_extable *t);

/* A free slot (zeroed, not yet linked), or NULL when all are taken. */
struct ucoap_exchange *ucoap_extable_alloc(struct ucoap_extable *t);
/* Give back a slot from ucoap_extable_alloc() that was never linked. */
void ucoap_extable_unalloc(struct ucoap_extable *t, struct ucoap_exchange *x);
static inline uint8_t *ucoap_extable_buf(struct ucoap_extable *t,
					 const struct ucoap_exchange *x)
{
	return t->bufs + (size_t)(x - t->x) * t->buf_size;
}
/*
 * Start @x: peer/key/mid/token/type/len must be set. A CON starts in
 * WAIT_ACK with first timeout @rto_ms; a NON in WAIT_RESP. @deadline is
 * when the request times out regardless.
 */
void ucoap_extable_link(struct ucoap_extable *t, struct ucoap_exchange *x,
			uint64_t now, uint32_t rto_ms, uint64_t deadline);
/* Unlink and free @x (after which the caller completes it). */
void ucoap_extable_release(struct ucoap_extable *t, struct ucoap_exchange *x);

struct ucoap_exchange *ucoap_extable_by_mid(struct ucoap_extable *t,
					    const struct ucoap_addr_key *peer,
					    uint16_t mid);
struct ucoap_exchange *ucoap_extable_by_token(struct ucoap_extable *t,
					      const struct ucoap_addr_key *peer,
					      const uint8_t *token,
					      uint8_t token_len);
/* The exchange whose timer is due first, or NULL. */
static inline struct ucoap_exchange *
ucoap_extable_first(const struct ucoap_extable *t)
{
	return t->heap_len ? &t->x[t->heap[0]] : NULL;
}

/*
 * Give the linked @x the message id @mid (its message was replaced by a
 * new one, RFC 7641 §4.5.2): re-indexed, schedule unchanged.
 */
void ucoap_extable_set_mid(struct ucoap_extable *t, struct ucoap_exchange *x,
			   uint16_t mid);
/*
 * The linked CON @x starts its retransmission schedule again at @now, as
 * if just sent: no retransmissions done, timeout @rto_ms, giving up by
 * @deadline (RFC 7641 §4.5.2: its peer proved alive).
 */
void ucoap_extable_restart(struct ucoap_extable *t, struct ucoap_exchange *x,
			   uint64_t now, uint32_t rto_ms, uint64_t deadline);
/* The (empty) ACK arrived: stop retransmitting, wait for the response. */
void ucoap_extable_acked(struct ucoap_extable *t, struct ucoap_exchange *x);
/*
 * @x is due at @now: either retransmit it (the schedule moves on: doubled
 * timeout, §4.2) or give up. @max_retransmit is MAX_RETRANSMIT.
 */
enum ucoap_ex_action ucoap_extable_due(struct ucoap_extable *t,
				       struct ucoap_exchange *x, uint64_t now,
				       uint32_t max_retransmit);

#endif
