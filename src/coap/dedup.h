/*
 * Internal: the duplicate-detection cache of RFC 7252 §4.5.
 *
 * Every CON and NON request we answer (and every separate response we
 * accept) is remembered by (peer, message id) until it expires, with the
 * encoded answer to a CON, so that a retransmission is answered with the
 * same bytes instead of running the handler again.
 *
 * Bounded, allocated once: a FIFO ring of @entries entries (insertion order
 * is expiry order for one lifetime, so expiry pops the head in O(1)), a byte
 * ring of @bytes holding the answers in the same order (freed from its head
 * as the entries go), and a hash index over (peer, mid). A full cache
 * forgets an unexpired entry only when the caller asks
 * (ucoap_dedup_drop_oldest); by default the caller refuses new work.
 */
#ifndef UCOAP_DEDUP_H
#define UCOAP_DEDUP_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "index.h"

/* What a duplicate gets. */
enum ucoap_dedup_kind {
	UCOAP_DEDUP_SILENT,    /* a NON: nothing, it is ignored */
	UCOAP_DEDUP_EMPTY_ACK, /* deferred CON or CON separate response */
	UCOAP_DEDUP_BYTES,     /* the cached answer */
};

struct ucoap_dedup_entry {
	struct ucoap_addr_key peer;
	uint16_t mid;
	uint8_t kind;      /* enum ucoap_dedup_kind */
	uint8_t live;      /* 0: replaced; waits for the head to be dropped */
	uint32_t dghash;   /* FNV-1a of the whole datagram */
	uint32_t ixhash;   /* index hash of (peer, mid) */
	uint32_t off, len; /* answer bytes in the byte ring */
	uint64_t expires;
};

struct ucoap_dedup {
	struct ucoap_dedup_entry *e;
	uint32_t cap, head, count;
	uint8_t *bytes;
	/*
	 * Byte ring: live answers are [bhead, btail) when !bwrap, else
	 * [bhead, bend) + [0, btail); [bend, bcap) is unused while wrapped
	 * because an answer is always stored contiguously.
	 */
	uint32_t bcap, bhead, btail, bend;
	bool bwrap;
	uint32_t reserve; /* bytes a new entry must be able to store */
	struct ucoap_index ix;
};

/*
 * Allocate for @entries entries and @bytes answer bytes; @reserve is the
 * largest answer (max_message_size), at most @bytes. 0 or UCOAP_ERR_NOMEM /
 * UCOAP_ERR_INVAL.
 */
int ucoap_dedup_init(struct ucoap_dedup *d, uint32_t entries, uint32_t bytes,
		     uint32_t reserve);
void ucoap_dedup_cleanup(struct ucoap_dedup *d);

/* Drop expired (and replaced) entries from the head. O(1) per entry. */
void ucoap_dedup_expire(struct ucoap_dedup *d, uint64_t now);
/*
 * Drop the oldest entry whether or not it has expired (the forget-oldest
 * policy of a full cache). Returns 1 when it was live (an answer is
 * forgotten), 0 when it had been replaced already, -1 when empty.
 */
int ucoap_dedup_drop_oldest(struct ucoap_dedup *d);
/* When the head entry expires, or UINT64_MAX when the cache is empty. */
uint64_t ucoap_dedup_next_expiry(const struct ucoap_dedup *d);
/* The unexpired entry for (@peer, @mid), or NULL. */
const struct ucoap_dedup_entry *
ucoap_dedup_find(const struct ucoap_dedup *d, const struct ucoap_addr_key *peer,
		 uint16_t mid, uint64_t now);
/*
 * Whether ucoap_dedup_add() can take one more entry with an answer of up to
 * @reserve bytes (call ucoap_dedup_expire() first).
 */
bool ucoap_dedup_has_room(const struct ucoap_dedup *d);
/*
 * Remember (@peer, @mid) until @expires with @answer (@len bytes, copied;
 * only for UCOAP_DEDUP_BYTES). An older entry for the same key is replaced.
 * Returns 0, UCOAP_ERR_FULL or UCOAP_ERR_NOSPACE (@len > reserve).
 */
int ucoap_dedup_add(struct ucoap_dedup *d, const struct ucoap_addr_key *peer,
		    uint16_t mid, uint32_t dghash, enum ucoap_dedup_kind kind,
		    const uint8_t *answer, uint32_t len, uint64_t expires);
/* The cached answer of @e (UCOAP_DEDUP_BYTES). */
static inline const uint8_t *
ucoap_dedup_answer(const struct ucoap_dedup *d,
		   const struct ucoap_dedup_entry *e)
{
	return d->bytes + e->off;
}
/* Entries in use (replaced ones included until they leave the ring). */
static inline uint32_t ucoap_dedup_used(const struct ucoap_dedup *d)
{
	return d->count;
}

#endif
