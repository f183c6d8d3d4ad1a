/*
 * ucoap_dedup: the duplicate-detection cache (RFC 7252 §4.5); see dedup.h
 * for its shape.
 *
 * Why bounded this way: a retransmitted CON must get the very answer the
 * first copy got for EXCHANGE_LIFETIME (247 s), however busy the endpoint
 * is, or a non-idempotent request (POST) would run twice. So an entry is
 * never evicted early; when the ring or the byte ring is full the endpoint
 * refuses new CONs with 5.03 + Max-Age (the time until the oldest entry
 * frees its slot) instead of forgetting. The defaults (4096 entries,
 * 256 KiB) sustain about 16 new requests a second (4096 / 247 s) from
 * distinct (peer, mid) pairs, ample for a constrained network; a peer that
 * reuses its ids replaces its own entries (freed as they reach the head).
 * The daemon sizes both from its config.
 */
#include <string.h>

#include "dedup.h"

static uint32_t key_hash(const struct ucoap_addr_key *peer, uint16_t mid)
{
	return ucoap_fnv1a(ucoap_addr_key_hash(peer, UCOAP_FNV_OFFSET), &mid,
			   sizeof(mid));
}

int ucoap_dedup_init(struct ucoap_dedup *d, uint32_t entries, uint32_t bytes,
		     uint32_t reserve)
{
	memset(d, 0, sizeof(*d));
	if (entries == 0 || reserve == 0 || bytes < reserve)
		return UCOAP_ERR_INVAL;
	d->e = calloc(entries, sizeof(*d->e));
	d->bytes = malloc(bytes);
	if (!d->e || !d->bytes || ucoap_index_init(&d->ix, entries) < 0) {
		free(d->e);
		free(d->bytes);
		memset(d, 0, sizeof(*d));
		return UCOAP_ERR_NOMEM;
	}
	d->cap = entries;
	d->bcap = bytes;
	d->reserve = reserve;
	return 0;
}

void ucoap_dedup_cleanup(struct ucoap_dedup *d)
{
	ucoap_index_cleanup(&d->ix);
	free(d->e);
	free(d->bytes);
	memset(d, 0, sizeof(*d));
}

static bool bytes_fit(const struct ucoap_dedup *d, uint32_t n)
{
	if (d->bwrap)
		return d->bhead - d->btail >= n;
	return d->bcap - d->btail >= n || d->bhead >= n;
}

/* Store @n bytes contiguously; the caller checked bytes_fit(). */
static uint32_t bytes_alloc(struct ucoap_dedup *d, uint32_t n)
{
	uint32_t off;

	if (!d->bwrap && d->bcap - d->btail < n) {
		d->bend = d->btail;
		d->btail = 0;
		d->bwrap = true;
	}
	off = d->btail;
	d->btail += n;
	return off;
}

/* Release the oldest answer, which starts at @off (FIFO order). */
static void bytes_free(struct ucoap_dedup *d, uint32_t off, uint32_t n)
{
	if (d->bwrap && off < d->bhead)
		d->bwrap = false; /* the pre-wrap part is all gone */
	d->bhead = off + n;
	if (!d->bwrap && d->bhead == d->btail)
		d->bhead = d->btail = 0;
}

static void drop_head(struct ucoap_dedup *d)
{
	struct ucoap_dedup_entry *e = &d->e[d->head];

	if (e->live)
		ucoap_index_remove(&d->ix, e->ixhash, d->head);
	if (e->kind == UCOAP_DEDUP_BYTES)
		bytes_free(d, e->off, e->len);
	e->live = 0;
	d->head = (d->head + 1) % d->cap;
	d->count--;
}

void ucoap_dedup_expire(struct ucoap_dedup *d, uint64_t now)
{
	while (d->count > 0) {
		struct ucoap_dedup_entry *e = &d->e[d->head];

		/*
		 * Only the head is checked: a NON entry (shorter lifetime)
		 * behind an unexpired CON entry keeps its slot a little longer
		 * than needed, but lookups ignore it once it has expired.
		 */
		if (e->live && e->expires > now)
			break;
		drop_head(d);
	}
}

int ucoap_dedup_drop_oldest(struct ucoap_dedup *d)
{
	int live;

	if (d->count == 0)
		return -1;
	live = d->e[d->head].live;
	drop_head(d);
	return live;
}

uint64_t ucoap_dedup_next_expiry(const struct ucoap_dedup *d)
{
	/* Replaced entries at the head are dropped by the next expire. */
	if (d->count == 0)
		return UINT64_MAX;
	return d->e[d->head].live ? d->e[d->head].expires : 0;
}

static uint32_t find_slot(const struct ucoap_dedup *d,
			  const struct ucoap_addr_key *peer, uint16_t mid,
			  uint32_t h)
{
	uint32_t pos = UCOAP_INDEX_NONE, i;

	while ((i = ucoap_index_next(&d->ix, h, &pos)) != UCOAP_INDEX_NONE) {
		const struct ucoap_dedup_entry *e = &d->e[i];

		if (e->mid == mid && ucoap_addr_key_eq(&e->peer, peer))
			return i;
	}
	return UCOAP_INDEX_NONE;
}

const struct ucoap_dedup_entry *
ucoap_dedup_find(const struct ucoap_dedup *d, const struct ucoap_addr_key *peer,
		 uint16_t mid, uint64_t now)
{
	uint32_t i = find_slot(d, peer, mid, key_hash(peer, mid));

	if (i == UCOAP_INDEX_NONE || d->e[i].expires <= now)
		return NULL;
	return &d->e[i];
}

bool ucoap_dedup_has_room(const struct ucoap_dedup *d)
{
	return d->count < d->cap && bytes_fit(d, d->reserve);
}

int ucoap_dedup_add(struct ucoap_dedup *d, const struct ucoap_addr_key *peer,
		    uint16_t mid, uint32_t dghash, enum ucoap_dedup_kind kind,
		    const uint8_t *answer, uint32_t len, uint64_t expires)
{
	uint32_t h = key_hash(peer, mid), old, slot;
	struct ucoap_dedup_entry *e;

	if (kind != UCOAP_DEDUP_BYTES)
		len = 0;
	if (len > d->reserve)
		return UCOAP_ERR_NOSPACE;
	if (d->count >= d->cap || !bytes_fit(d, len))
		return UCOAP_ERR_FULL;
	/*
	 * Same key, different datagram: the peer reused the id (§4.4 asks it
	 * not to within EXCHANGE_LIFETIME, load generators do anyway). The old
	 * entry leaves the index now and its slot when it reaches the head.
	 */
	old = find_slot(d, peer, mid, h);
	if (old != UCOAP_INDEX_NONE) {
		ucoap_index_remove(&d->ix, h, old);
		d->e[old].live = 0;
	}
	slot = (d->head + d->count) % d->cap;
	e = &d->e[slot];
	e->peer = *peer;
	e->mid = mid;
	e->kind = (uint8_t)kind;
	e->live = 1;
	e->dghash = dghash;
	e->ixhash = h;
	e->len = len;
	e->off = 0;
	e->expires = expires;
	if (kind == UCOAP_DEDUP_BYTES) {
		e->off = bytes_alloc(d, len);
		memcpy(d->bytes + e->off, answer, len);
	}
	ucoap_index_insert(&d->ix, h, slot);
	d->count++;
	return 0;
}
