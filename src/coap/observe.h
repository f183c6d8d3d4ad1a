/*
 * Internal: Observe (RFC 7641) in both roles.
 *
 * Server role: a fixed table of observers (max_observers slots), each
 * keyed by (client, token) and holding the application's resource key and
 * a copy of the registering request, so that a notification can re-run
 * the resource's handler with it. At most one CON notification per
 * observer is in flight, as an exchange (exchange.c) whose callback clears
 * it.
 *
 * Client role: a fixed table of our observations (max_observations
 * slots), each holding a copy of the registering request (for
 * re-registration and deregistration), the freshness state of §3.4 and the
 * re-registration time of §3.3.1. A notification larger than a block
 * (RFC 7959 §2.6) is completed by a follow-up transfer of block.c (one
 * of max_block_requests slots) before its callback runs; a fresher
 * notification replaces a transfer under way.
 *
 * Both tables are scanned: they are small, and scans happen on a
 * registration, an unmatched RST or response, a notify call and a tick,
 * never per matched datagram.
 */
#ifndef UCOAP_OBSERVE_H
#define UCOAP_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ucoap/endpoint.h>

#include "addr.h"

struct ucoap_observer {
	bool used;
	bool inflight; /* a CON notification awaits its ACK */
	bool ending;   /* a final (non-2.xx) notification went out */
	const void *key;
	struct ucoap_addr peer;
	struct ucoap_addr_key akey;
	uint8_t token_len;
	uint8_t token[UCOAP_TOKEN_MAX];
	uint16_t inflight_mid; /* that CON's current message id */
	/*
	 * The id it had before a newer state replaced it (§4.5.2): its late
	 * ACK or RST still counts. @replaced_retx: the retransmissions done
	 * when it was replaced (more since: the new message went out).
	 */
	bool has_prev_mid;
	uint16_t prev_mid;
	uint32_t replaced_retx;
	bool has_last_mid;
	uint16_t last_mid; /* the last NON one (or answer), for an RST (§3.6) */
	uint64_t last_con; /* when the last CON went out (§4.5) */
	size_t req_len;    /* the registering request, in its buffer */
};

struct ucoap_observation {
	bool used;
	bool exch_open; /* a (re-)registration awaits its answer */
	bool has_seq;
	uint16_t gen; /* for handles: a reused slot gets a new one */
	uint16_t mid; /* the open exchange's message id */
	struct ucoap_addr peer;
	struct ucoap_addr_key akey;
	uint8_t token_len;
	uint8_t token[UCOAP_TOKEN_MAX];
	uint32_t seq;    /* V1 of §3.4 */
	uint64_t seq_at; /* T1 of §3.4 */
	uint64_t rereg_at;
	ucoap_response_cb cb;
	void *user;
	size_t req_len; /* the request (Observe 0), in its buffer */
	/* RFC 7959 §2.6: the rest of the newest notification, being fetched */
	struct ucoap_blk_cli *fetch;
	/* ...or of the final answer (no Observe): the observation then ends */
	bool fetch_final;
};

struct ucoap_obs {
	struct ucoap_observer *srv;
	uint32_t nsrv;
	struct ucoap_observation *cli;
	uint32_t ncli;
	uint8_t *srv_bufs, *cli_bufs;
	size_t buf_size;
	uint32_t seq;    /* the last Observe number sent (24 bits) */
	bool notifying;  /* ucoap_ep_notify() is running handlers */
	bool notify_con; /* ... and was asked for CON */
};

struct ucoap_ep;
struct ucoap_exchange;
struct ucoap_blk_cli;

int ucoap_obs_init(struct ucoap_obs *o, uint32_t nsrv, uint32_t ncli,
		   size_t buf_size);
void ucoap_obs_cleanup(struct ucoap_obs *o);

/* A GET/FETCH is about to be handled: it ends any registration it names. */
void ucoap_obs_on_request(struct ucoap_ep *ep);
/*
 * ucoap_ep_respond() while the handler registered an observer or builds a
 * notification: the former adds the Observe option (or ends the
 * registration), the latter sends the notification (return: as respond).
 */
void ucoap_obs_registration_answer(struct ucoap_ep *ep, struct ucoap_msg *resp);
int ucoap_obs_send_notification(struct ucoap_ep *ep, struct ucoap_msg *resp);
/* Undo the registration @ob (NULL: none): deferred, or not sent. */
void ucoap_obs_registration_drop(struct ucoap_ep *ep,
				 struct ucoap_observer *ob);
/*
 * An empty ACK that matched no exchange: maybe for a CON notification
 * replaced since by a newer one.
 */
void ucoap_obs_on_ack(struct ucoap_ep *ep, const struct ucoap_addr_key *key,
		      uint16_t mid);
/* An RST that matched no exchange: maybe the answer to a NON notification. */
void ucoap_obs_on_rst(struct ucoap_ep *ep, const struct ucoap_addr_key *key,
		      uint16_t mid);

/* Our observation with this peer and token, or NULL. */
struct ucoap_observation *ucoap_obs_find(struct ucoap_ep *ep,
					 const struct ucoap_addr_key *key,
					 const uint8_t *token, uint8_t len);
/* A notification (or final response) for @c that matched no exchange. */
void ucoap_obs_on_notification(struct ucoap_ep *ep, struct ucoap_observation *c,
			       const struct ucoap_msg *m,
			       const struct ucoap_addr *from, uint64_t now);
/*
 * @m, a CON or NON response (not piggybacked), matched the exchange @x by
 * token: is it a stale notification (§3.4) of the observation @x
 * re-registers, to be dropped rather than taken for @x's answer?
 */
bool ucoap_obs_stale_answer(const struct ucoap_exchange *x,
			    const struct ucoap_msg *m, uint64_t now);
/* Re-registrations due at @now; the earliest one pending (or UINT64_MAX). */
void ucoap_obs_tick(struct ucoap_ep *ep, uint64_t now);
uint64_t ucoap_obs_next_due(const struct ucoap_ep *ep);
/* ucoap_ep_free(): end every open observation with UCOAP_ERR_CANCELLED. */
void ucoap_obs_shutdown(struct ucoap_ep *ep);

#endif
