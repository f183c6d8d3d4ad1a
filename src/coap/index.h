/*
 * Internal: an open-addressing hash index from a 32-bit hash to a slot
 * number in some fixed table (the duplicate cache, the exchange table).
 * Linear probing with backward-shift deletion, so there are no tombstones
 * and lookups stay short however long the endpoint runs. The index holds
 * at most the number of items given to init, in at least twice as many
 * buckets, and never allocates after init.
 */
#ifndef UCOAP_INDEX_H
#define UCOAP_INDEX_H

#include <stdint.h>
#include <stdlib.h>

#include <ucoap/error.h>

#define UCOAP_INDEX_NONE UINT32_MAX

struct ucoap_index_slot {
	uint32_t hash;
	uint32_t idx; /* UCOAP_INDEX_NONE: empty bucket */
};

struct ucoap_index {
	struct ucoap_index_slot *slots;
	uint32_t mask;
};

/*
 * The home bucket of @hash. FNV-1a's low bits are weak for keys that
 * differ only in their last bytes (message ids), and linear probing
 * punishes clusters, so mix all bits down first (murmur3's finaliser).
 */
static inline uint32_t ucoap_index_home(const struct ucoap_index *ix,
					uint32_t hash)
{
	hash ^= hash >> 16;
	hash *= 0x85ebca6bu;
	hash ^= hash >> 13;
	hash *= 0xc2b2ae35u;
	hash ^= hash >> 16;
	return hash & ix->mask;
}

static inline int ucoap_index_init(struct ucoap_index *ix, uint32_t items)
{
	uint32_t n = 8;

	while (n < 2 * (uint64_t)items)
		n *= 2;
	ix->slots = malloc(n * sizeof(*ix->slots));
	if (!ix->slots)
		return UCOAP_ERR_NOMEM;
	for (uint32_t i = 0; i < n; i++)
		ix->slots[i].idx = UCOAP_INDEX_NONE;
	ix->mask = n - 1;
	return 0;
}

static inline void ucoap_index_cleanup(struct ucoap_index *ix)
{
	free(ix->slots);
	ix->slots = NULL;
}

/* The caller guarantees room: never more items than given to init. */
static inline void ucoap_index_insert(struct ucoap_index *ix, uint32_t hash,
				      uint32_t idx)
{
	uint32_t pos = ucoap_index_home(ix, hash);

	while (ix->slots[pos].idx != UCOAP_INDEX_NONE)
		pos = (pos + 1) & ix->mask;
	ix->slots[pos].hash = hash;
	ix->slots[pos].idx = idx;
}

/*
 * Walk the candidates for @hash: start with *@pos = UCOAP_INDEX_NONE; each
 * call returns the next slot number stored under @hash, or
 * UCOAP_INDEX_NONE when there are no more. The caller checks the key.
 */
static inline uint32_t ucoap_index_next(const struct ucoap_index *ix,
					uint32_t hash, uint32_t *pos)
{
	uint32_t p = *pos == UCOAP_INDEX_NONE ? ucoap_index_home(ix, hash)
					      : (*pos + 1) & ix->mask;

	for (; ix->slots[p].idx != UCOAP_INDEX_NONE; p = (p + 1) & ix->mask) {
		if (ix->slots[p].hash == hash) {
			*pos = p;
			return ix->slots[p].idx;
		}
	}
	*pos = p;
	return UCOAP_INDEX_NONE;
}

static inline void ucoap_index_remove(struct ucoap_index *ix, uint32_t hash,
				      uint32_t idx)
{
	uint32_t i = ucoap_index_home(ix, hash), j, home;

	while (ix->slots[i].idx != idx) {
		if (ix->slots[i].idx == UCOAP_INDEX_NONE)
			return;
		i = (i + 1) & ix->mask;
	}
	/*
	 * Backward shift: pull later members of the probe run into the hole
	 * unless their home bucket lies cyclically in (hole, their place].
	 */
	for (j = i;;) {
		j = (j + 1) & ix->mask;
		if (ix->slots[j].idx == UCOAP_INDEX_NONE)
			break;
		home = ucoap_index_home(ix, ix->slots[j].hash);
		if (((j - home) & ix->mask) >= ((j - i) & ix->mask)) {
			ix->slots[i] = ix->slots[j];
			i = j;
		}
	}
	ix->slots[i].idx = UCOAP_INDEX_NONE;
}

#endif
