/*
 * Internal: a compact, comparable form of a peer address for the hash
 * tables of the duplicate cache and the exchange table. IPv4 addresses are
 * kept in their IPv4-mapped IPv6 form, so a dual-stack socket's view of a
 * peer (::ffff:192.0.2.1) and an IPv4 socket's view (192.0.2.1) are the
 * same key, as ucoap_addr_equal() says they are.
 */
#ifndef UCOAP_ADDR_INT_H
#define UCOAP_ADDR_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <ucoap/endpoint.h>

struct ucoap_addr_key {
	uint8_t ip[16];
	uint16_t port; /* host order */
};

/* Fill @k from @a; an address of an unknown family gives an all-zero key. */
void ucoap_addr_key(const struct ucoap_addr *a, struct ucoap_addr_key *k);

static inline bool ucoap_addr_key_eq(const struct ucoap_addr_key *a,
				     const struct ucoap_addr_key *b)
{
	return a->port == b->port && memcmp(a->ip, b->ip, 16) == 0;
}

/* 32-bit FNV-1a, RFC-free but well known; @h is the running state. */
#define UCOAP_FNV_OFFSET 2166136261u
static inline uint32_t ucoap_fnv1a(uint32_t h, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static inline uint32_t ucoap_addr_key_hash(const struct ucoap_addr_key *k,
					   uint32_t h)
{
	h = ucoap_fnv1a(h, k->ip, sizeof(k->ip));
	return ucoap_fnv1a(h, &k->port, sizeof(k->port));
}

#endif
