/*
 * Internal: the endpoint's state, shared by its files -- endpoint.c
 * (lifecycle, transport, datagram dispatch, our requests, timers, loop),
 * server.c (request handlers and their answers) and compat.c (the
 * microCoAPy-style wrappers).
 */
#ifndef UCOAP_ENDPOINT_INT_H
#define UCOAP_ENDPOINT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ucoap/endpoint.h>

#include "addr.h"
#include "blockwise.h"
#include "dedup.h"
#include "exchange.h"
#include "observe.h"
#include "udp.h"

/* Largest UDP payload; the receive buffer holds any datagram whole. */
#define RX_CAP 65536
/* RFC 7252 §4.8.2 */
#define MAX_LATENCY_MS 100000u

struct url_cb {
	char *url;
	ucoap_request_cb cb;
	void *user;
};

/* The request whose handler is running (ucoap_ep_respond() answers it). */
struct handling {
	bool active, answered, deferred;
	bool remember; /* false: the duplicate cache was full (NON only) */
	const struct ucoap_msg *req;
	const struct ucoap_addr *from;
	struct ucoap_addr_key key;
	uint32_t dghash;
	uint64_t now; /* its arrival: the lifetime counts from there */
	/*
	 * Observe: @obs is the observer the handler registered (a request)
	 * or runs for (@notify: building a notification, observe.c).
	 */
	bool notify;
	struct ucoap_observer *obs;
	struct ucoap_blk_cur blk; /* Block1 state of the request (block.c) */
};

struct ucoap_ep {
	struct ucoap_ep_config cfg;
	struct ucoap_env_ops env;
	void *env_user;
	uint64_t exchange_lifetime, non_lifetime;

	struct ucoap_socket_ops sock;
	void *sock_user;
	bool has_sock, blocking;
	struct ucoap_udp udp;

	uint16_t next_mid;
	uint8_t *rx; /* RX_CAP */
	uint8_t *tx; /* max_message_size */
	char *path;  /* max_message_size + 1: a request's joined Uri-Path */

	struct ucoap_dedup dedup;
	struct ucoap_extable ex;
	struct ucoap_obs obs;
	struct ucoap_blk blk;

	struct url_cb *urls;
	size_t nurls;
	ucoap_request_cb def_cb;
	void *def_user;
	ucoap_response_cb resp_cb;
	void *resp_user;

	struct handling cur;
	bool in_rx, closing;
	int rx_held; /* datagrams the socket holds (ops.batch): process again */
	struct ucoap_ep_stats st;
};

struct req_opts {
	uint32_t timeout_ms;
	ucoap_response_cb cb;
	void *user;
	bool default_cb;    /* NULL @cb: the endpoint's response callback */
	bool ack_completes; /* ping, separate response */
	bool fill_token;    /* an empty token gets a random one */
	/*
	 * A first block (Block2 NUM 0, M=1) reaches @cb as it is: the caller
	 * fetches the rest itself (observe.c, RFC 7959 §2.6), so block.c
	 * must not take the exchange over.
	 */
	bool own_blocks;
};

/* The env hooks: the clock (ms) and randomness (0 or UCOAP_ERR_IO). */
uint64_t ucoap_ep_now(struct ucoap_ep *ep);
int ucoap_ep_random(struct ucoap_ep *ep, void *buf, size_t len);
/* A CON's first retransmission timeout (RFC 7252 §4.2), or UCOAP_ERR_IO. */
int ucoap_ep_initial_rto(struct ucoap_ep *ep, uint32_t *out);
/* A fresh message id for @peer (endpoint.c says which). */
uint16_t ucoap_ep_new_mid(struct ucoap_ep *ep,
			  const struct ucoap_addr_key *peer);
/* Send @len bytes to @to: 0, UCOAP_ERR_STATE (no socket) or UCOAP_ERR_IO. */
int ucoap_ep_send_raw(struct ucoap_ep *ep, const uint8_t *buf, size_t len,
		      const struct ucoap_addr *to);
/* An empty ACK or RST with message id @mid. */
void ucoap_ep_send_empty(struct ucoap_ep *ep, uint8_t type, uint16_t mid,
			 const struct ucoap_addr *to);
/*
 * Encode @m (mid and, with o->fill_token, a token filled in), send it and
 * keep it in the exchange table until it completes. Returns as
 * ucoap_ep_request().
 */
int ucoap_ep_start_exchange(struct ucoap_ep *ep, const struct ucoap_addr *to,
			    struct ucoap_msg *m, const struct req_opts *o,
			    uint16_t *mid_out);
/*
 * A new (not duplicate) request arrived at @now: answer it, through its
 * handler if it gets that far (server.c). @too_big: larger than
 * max_message_size.
 */
void ucoap_ep_on_request(struct ucoap_ep *ep, const struct ucoap_msg *m,
			 const struct ucoap_addr *from,
			 const struct ucoap_addr_key *key, uint32_t dghash,
			 uint64_t now, bool too_big);
/* Run the handler of @m's Uri-Path (or answer 4.04) (server.c). */
void ucoap_ep_dispatch(struct ucoap_ep *ep, const struct ucoap_msg *m,
		       const struct ucoap_addr *from);

#endif
