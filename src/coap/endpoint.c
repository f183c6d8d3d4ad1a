/*
 * ucoap_ep: the CoAP endpoint (RFC 7252 §4 message layer, §5
 * request/response layer) in both roles, behind microCoAPy's API.
 *
 * Every datagram, whatever socket it came from, enters ucoap_ep_input():
 * decode into views over the datagram, then ACK/RST to the exchange table
 * (exchange.c), CON/NON through the duplicate cache (dedup.c) to either the
 * request handlers (server role, server.c) or the exchange table (a
 * response to us). The microCoAPy-style wrappers are in compat.c.
 *
 * Bounds (all sized in ucoap_ep_new(), nothing allocated per datagram):
 * - one 64 KiB receive buffer, so a datagram above max_message_size is
 *   seen whole and a request can be answered 4.13 rather than guessed at;
 * - one max_message_size transmit buffer for answers;
 * - max_exchanges exchange slots, each with a max_message_size buffer for
 *   retransmission; a request beyond that is refused (UCOAP_ERR_FULL);
 * - the duplicate cache: dedup_entries entries and dedup_bytes of answers;
 *   when full, a new CON gets 5.03 + Max-Age and is not remembered, a new
 *   NON is processed without being remembered (dedup.c says why).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "endpoint_int.h"

void ucoap_ep_config_init(struct ucoap_ep_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ack_timeout_ms = UCOAP_ACK_TIMEOUT_MS;
	cfg->ack_random_factor = UCOAP_ACK_RANDOM_FACTOR;
	cfg->max_retransmit = UCOAP_MAX_RETRANSMIT;
	cfg->max_exchanges = 64;
	cfg->dedup_entries = 4096;
	cfg->dedup_bytes = 256 * 1024;
	cfg->max_message_size = 1152;
	cfg->request_timeout_ms = 0;
	cfg->max_observers = 64;
	cfg->max_observations = 16;
	cfg->max_body_size = 16 * 1024;
	cfg->max_block_transfers = 8;
	cfg->max_block_requests = 4;
	cfg->block_szx = UCOAP_BLOCK_SZX_MAX;
}

/*
 * The upper limits keep the §4.8.2 arithmetic (ACK_TIMEOUT * 2^20 * 16)
 * well inside 64 bits and the tables' indexes inside 32; the dedup bytes
 * must hold at least one answer of the largest size.
 */
static bool config_valid(const struct ucoap_ep_config *c)
{
	return c->ack_timeout_ms > 0 && c->ack_timeout_ms <= 3600000 &&
	       c->ack_random_factor >= 1.0 && c->ack_random_factor <= 16.0 &&
	       c->max_retransmit <= 20 && c->max_exchanges > 0 &&
	       c->max_exchanges <= UCOAP_MAX_EXCHANGES &&
	       c->dedup_entries > 0 && c->dedup_entries <= 1u << 24 &&
	       c->max_message_size >= 64 && c->max_message_size <= RX_CAP &&
	       c->dedup_bytes >= c->max_message_size &&
	       c->max_observers <= 1u << 20 &&
	       c->max_observations <= 1u << 20 && c->max_body_size >= 16 &&
	       c->max_body_size <= 1u << 24 && c->max_block_transfers > 0 &&
	       c->max_block_transfers <= 1024 && c->max_block_requests > 0 &&
	       c->max_block_requests <= 1024 &&
	       c->block_szx <= UCOAP_BLOCK_SZX_MAX;
}

/* ---- time and randomness ---- */

uint64_t ucoap_ep_now(struct ucoap_ep *ep)
{
	return ep->env.now_ms(ep->env_user);
}

int ucoap_ep_random(struct ucoap_ep *ep, void *buf, size_t len)
{
	return ep->env.random(ep->env_user, buf, len) < 0 ? UCOAP_ERR_IO : 0;
}

/*
 * §4.2: the first timeout is a random duration between ACK_TIMEOUT and
 * ACK_TIMEOUT * ACK_RANDOM_FACTOR, so that peers that lost packets at the
 * same moment do not retransmit in lockstep.
 */
int ucoap_ep_initial_rto(struct ucoap_ep *ep, uint32_t *out)
{
	uint32_t r;
	double span =
	    (double)ep->cfg.ack_timeout_ms * (ep->cfg.ack_random_factor - 1.0);

	if (ucoap_ep_random(ep, &r, sizeof(r)) < 0)
		return UCOAP_ERR_IO;
	*out = ep->cfg.ack_timeout_ms +
	       (uint32_t)(span * (double)r / (double)UINT32_MAX);
	return 0;
}

/*
 * A fresh message id (§4.4: sequential from a random start), never 0 (the
 * microCoAPy-style calls use 0 for failure) and never one an open exchange
 * with @peer still uses. There are fewer exchanges than non-zero ids
 * (UCOAP_MAX_EXCHANGES), so one is always free and the loop ends.
 */
uint16_t ucoap_ep_new_mid(struct ucoap_ep *ep,
			  const struct ucoap_addr_key *peer)
{
	for (;;) {
		uint16_t mid = ep->next_mid++;

		if (mid != 0 && !ucoap_extable_by_mid(&ep->ex, peer, mid))
			return mid;
	}
}

/* ---- sending ---- */

int ucoap_ep_send_raw(struct ucoap_ep *ep, const uint8_t *buf, size_t len,
		      const struct ucoap_addr *to)
{
	int rc;

	if (!ep->has_sock)
		return UCOAP_ERR_STATE;
	rc = ep->sock.sendto(ep->sock_user, buf, len, to);
	if (rc < 0) {
		errno = -rc;
		return UCOAP_ERR_IO;
	}
	ep->st.tx++;
	return 0;
}

/* An empty ACK or RST (§4.1: code 0.00, no token, options or payload). */
void ucoap_ep_send_empty(struct ucoap_ep *ep, uint8_t type, uint16_t mid,
			 const struct ucoap_addr *to)
{
	uint8_t b[4] = {(uint8_t)(UCOAP_VERSION << 6 | type << 4), UCOAP_EMPTY,
			(uint8_t)(mid >> 8), (uint8_t)mid};

	ucoap_ep_send_raw(ep, b, sizeof(b), to);
}

/* ---- the client role: our requests ---- */

static void complete(struct ucoap_ep *ep, struct ucoap_exchange *x, int status,
		     const struct ucoap_msg *m, const struct ucoap_addr *from)
{
	ucoap_response_cb cb = x->cb;
	void *user = x->user;

	if (!cb && x->default_cb) {
		cb = ep->resp_cb;
		user = ep->resp_user;
	}
	/* RFC 7959 §2.4: a first block of many; the rest is fetched. */
	if (status == 0 && ucoap_blk_client_takeover(ep, x, m, from))
		return;
	ucoap_extable_release(&ep->ex, x);
	if (status == UCOAP_ERR_TIMEOUT)
		ep->st.timeouts++;
	if (cb)
		cb(ep, status, status == 0 ? m : NULL,
		   status == 0 ? from : NULL, user);
}

/* The next 4-byte token value, big endian, wrapping. */
static void token_step(uint8_t t[4])
{
	for (int i = 3; i >= 0; i--)
		if (++t[i] != 0)
			break;
}

int ucoap_ep_start_exchange(struct ucoap_ep *ep, const struct ucoap_addr *to,
			    struct ucoap_msg *m, const struct req_opts *o,
			    uint16_t *mid_out)
{
	struct ucoap_exchange *x;
	uint64_t now, deadline;
	uint32_t rto = 0, timeout;
	size_t len;
	int rc;

	if (!ep || !to || !m ||
	    (m->type != UCOAP_TYPE_CON && m->type != UCOAP_TYPE_NON))
		return UCOAP_ERR_INVAL;
	if (ep->closing || !ep->has_sock)
		return UCOAP_ERR_STATE;
	x = ucoap_extable_alloc(&ep->ex);
	if (!x)
		return UCOAP_ERR_FULL;
	x->peer = *to;
	ucoap_addr_key(to, &x->key);
	if (o->fill_token && m->token_len == 0) {
		/*
		 * §5.3.1: unguessable, and unique among our open requests to
		 * this peer: on a clash (a weak random hook) step to the next
		 * value, which ends within max_exchanges steps.
		 */
		rc = ucoap_ep_random(ep, m->token, 4);
		if (rc < 0)
			goto fail;
		m->token_len = 4;
		while (ucoap_extable_by_token(&ep->ex, &x->key, m->token, 4))
			token_step(m->token);
	}
	m->mid = ucoap_ep_new_mid(ep, &x->key);
	rc = ucoap_msg_encode(m, ucoap_extable_buf(&ep->ex, x),
			      ep->cfg.max_message_size, &len);
	if (rc < 0)
		goto fail;
	if (m->type == UCOAP_TYPE_CON) {
		rc = ucoap_ep_initial_rto(ep, &rto);
		if (rc < 0)
			goto fail;
	}
	x->mid = m->mid;
	x->token_len = m->token_len;
	memcpy(x->token, m->token, m->token_len);
	x->type = m->type;
	x->len = len;
	x->cb = o->cb;
	x->user = o->user;
	x->default_cb = o->default_cb;
	x->ack_completes = o->ack_completes;
	x->own_blocks = o->own_blocks;
	rc = ucoap_ep_send_raw(ep, ucoap_extable_buf(&ep->ex, x), len, to);
	if (rc < 0)
		goto fail;
	/*
	 * The configured request timeout is for requests; a ping or a
	 * separate response ends at its give-up point (§4.2) by itself.
	 */
	timeout = o->timeout_ms;
	if (!timeout && !o->ack_completes)
		timeout = ep->cfg.request_timeout_ms;
	now = ucoap_ep_now(ep);
	if (timeout)
		deadline = now + timeout;
	else if (m->type == UCOAP_TYPE_CON)
		deadline = now + ep->exchange_lifetime;
	else
		deadline = now + ep->non_lifetime;
	ucoap_extable_link(&ep->ex, x, now, rto, deadline);
	if (mid_out)
		*mid_out = m->mid;
	return 0;
fail:
	ucoap_extable_unalloc(&ep->ex, x);
	return rc;
}

int ucoap_ep_request(struct ucoap_ep *ep, const struct ucoap_addr *to,
		     struct ucoap_msg *req, uint32_t timeout_ms,
		     ucoap_response_cb cb, void *user, uint16_t *mid_out)
{
	struct req_opts o = {.timeout_ms = timeout_ms,
			     .cb = cb,
			     .user = user,
			     .default_cb = cb == NULL,
			     .fill_token = true};

	if (req && req->code == UCOAP_EMPTY)
		return UCOAP_ERR_INVAL; /* that is a ping */
	/* RFC 7959 §2.3: a body larger than a block goes block by block. */
	if (ep && req && ucoap_blk_client_wants(ep, req))
		return ucoap_blk_client_request(ep, to, req, timeout_ms, cb,
						user, mid_out);
	return ucoap_ep_start_exchange(ep, to, req, &o, mid_out);
}

int ucoap_ep_request_as_is(struct ucoap_ep *ep, const struct ucoap_addr *to,
			   struct ucoap_msg *req, uint32_t timeout_ms,
			   ucoap_response_cb cb, void *user, uint16_t *mid_out)
{
	struct req_opts o = {.timeout_ms = timeout_ms,
			     .cb = cb,
			     .user = user,
			     .default_cb = cb == NULL};

	if (req && req->code == UCOAP_EMPTY)
		return UCOAP_ERR_INVAL; /* that is a ping */
	return ucoap_ep_start_exchange(ep, to, req, &o, mid_out);
}

int ucoap_ep_ping(struct ucoap_ep *ep, const struct ucoap_addr *to,
		  ucoap_response_cb cb, void *user, uint16_t *mid_out)
{
	struct req_opts o = {.cb = cb, .user = user, .ack_completes = true};
	struct ucoap_msg m;

	ucoap_msg_init(&m, UCOAP_TYPE_CON, UCOAP_EMPTY);
	return ucoap_ep_start_exchange(ep, to, &m, &o, mid_out);
}

int ucoap_ep_cancel(struct ucoap_ep *ep, uint16_t mid)
{
	/* A block-wise transfer goes on under later message ids. */
	mid = ucoap_blk_client_mid(ep, mid);
	/* A scan: cancelling is rare and the table small. */
	for (uint32_t i = 0; i < ep->ex.cap; i++) {
		struct ucoap_exchange *x = &ep->ex.x[i];

		if (x->state != UCOAP_EX_FREE && x->mid == mid) {
			complete(ep, x, UCOAP_ERR_CANCELLED, NULL, NULL);
			return 0;
		}
	}
	return UCOAP_ERR_NOENT;
}

void ucoap_ep_set_response_callback(struct ucoap_ep *ep, ucoap_response_cb cb,
				    void *user)
{
	ep->resp_cb = cb;
	ep->resp_user = user;
}
/* ---- receiving ---- */

static void on_ack(struct ucoap_ep *ep, const struct ucoap_msg *m,
		   const struct ucoap_addr *from,
		   const struct ucoap_addr_key *key)
{
	struct ucoap_exchange *x = ucoap_extable_by_mid(&ep->ex, key, m->mid);

	/* §4.2: an ACK is matched by message id and peer, never answered. */
	if (!x) {
		/* Maybe for a CON notification replaced since (RFC 7641). */
		if (m->code == UCOAP_EMPTY)
			ucoap_obs_on_ack(ep, key, m->mid);
		return;
	}
	if (x->type != UCOAP_TYPE_CON)
		return;
	/* §4.2/§5.2.1: an ACK is Empty or carries a response, never a request.
	 */
	if (m->code != UCOAP_EMPTY && UCOAP_CODE_CLASS(m->code) == 0) {
		ep->st.rx_malformed++;
		return;
	}
	if (m->code == UCOAP_EMPTY) {
		if (x->ack_completes)
			complete(ep, x, 0, m, from);
		else if (x->state == UCOAP_EX_WAIT_ACK)
			ucoap_extable_acked(&ep->ex, x); /* §5.2.2 */
		return;
	}
	/* §5.3.2: a piggybacked response must also carry our token. */
	if (m->token_len != x->token_len ||
	    memcmp(m->token, x->token, x->token_len) != 0) {
		ep->st.rx_malformed++;
		return;
	}
	/* §5.4.1: rejecting an ACK means ignoring it (§4.2). */
	if (ucoap_msg_bad_critical(m))
		return;
	complete(ep, x, 0, m, from);
}

static void on_response(struct ucoap_ep *ep, const struct ucoap_msg *m,
			const struct ucoap_addr *from,
			const struct ucoap_addr_key *key, uint32_t dghash,
			uint64_t now)
{
	struct ucoap_exchange *x =
	    ucoap_extable_by_token(&ep->ex, key, m->token, m->token_len);
	struct ucoap_observation *obs = NULL;
	bool con = m->type == UCOAP_TYPE_CON;

	/* RFC 7641 §3.2: a notification of one of our observations. */
	if (!x)
		obs = ucoap_obs_find(ep, key, m->token, m->token_len);
	/*
	 * §4.2/§4.3: a response we cannot place (no request or observation
	 * of ours with that peer has its token; RFC 7641 §3.6: that includes
	 * a notification after we cancelled) or with an
	 * unrecognised critical option (§5.4.1) is rejected: RST for a CON,
	 * silence for a NON.
	 */
	if ((!x && !obs) || ucoap_msg_bad_critical(m)) {
		if (con)
			ucoap_ep_send_empty(ep, UCOAP_TYPE_RST, m->mid, from);
		return;
	}
	ucoap_dedup_expire(&ep->dedup, now);
	/*
	 * Remember it so that a retransmission (our ACK was lost) gets the ACK
	 * again rather than an RST; if the cache is full it is merely not
	 * remembered.
	 */
	ucoap_dedup_add(&ep->dedup, key, m->mid, dghash,
			con ? UCOAP_DEDUP_EMPTY_ACK : UCOAP_DEDUP_SILENT, NULL,
			0,
			now + (con ? ep->exchange_lifetime : ep->non_lifetime));
	/* §5.2.2: acknowledge a CON separate response with an empty ACK. */
	if (con)
		ucoap_ep_send_empty(ep, UCOAP_TYPE_ACK, m->mid, from);
	/*
	 * RFC 7641 §3.4: a delayed notification is no answer to the
	 * re-registration open on its token: dropped, the exchange left
	 * waiting for the real one.
	 */
	if (x && ucoap_obs_stale_answer(x, m, now))
		return;
	if (x)
		complete(ep, x, 0, m, from);
	else
		ucoap_obs_on_notification(ep, obs, m, from, now);
}

void ucoap_ep_input(struct ucoap_ep *ep, const uint8_t *buf, size_t len,
		    const struct ucoap_addr *from)
{
	const struct ucoap_dedup_entry *e;
	struct ucoap_addr_key key;
	struct ucoap_msg m;
	uint32_t dghash;
	uint64_t now;
	int rc;

	ep->st.rx++;
	rc = ucoap_msg_decode(&m, buf, len);
	if (rc < 0) {
		/*
		 * §4.2: a CON we cannot process is rejected with RST, if its
		 * header could be read; §3: other versions are ignored.
		 */
		ep->st.rx_malformed++;
		if (rc != UCOAP_ERR_SHORT && rc != UCOAP_ERR_VERSION &&
		    m.type == UCOAP_TYPE_CON)
			ucoap_ep_send_empty(ep, UCOAP_TYPE_RST, m.mid, from);
		return;
	}
	ucoap_addr_key(from, &key);
	if (m.type == UCOAP_TYPE_ACK) {
		if (len <= ep->cfg.max_message_size)
			on_ack(ep, &m, from, &key);
		return;
	}
	if (m.type == UCOAP_TYPE_RST) {
		struct ucoap_exchange *x =
		    ucoap_extable_by_mid(&ep->ex, &key, m.mid);

		/* §4.2: an RST is Empty; anything else is silently ignored. */
		if (m.code != UCOAP_EMPTY) {
			ep->st.rx_malformed++;
			return;
		}
		if (x)
			complete(ep, x, UCOAP_ERR_RST, NULL, NULL);
		else
			ucoap_obs_on_rst(ep, &key, m.mid);
		return;
	}
	if (m.code == UCOAP_EMPTY) {
		/* §4.3: an empty CON is a ping, answered with RST. */
		if (m.type == UCOAP_TYPE_CON)
			ucoap_ep_send_empty(ep, UCOAP_TYPE_RST, m.mid, from);
		return;
	}
	/*
	 * §4.5: a duplicate is the same (peer, mid) within its lifetime, and
	 * byte for byte the same datagram -- a retransmission is. The same
	 * mid with other bytes is a new message from a peer that reuses ids
	 * too fast; it replaces the old entry when answered.
	 */
	dghash = ucoap_fnv1a(UCOAP_FNV_OFFSET, buf, len);
	now = ucoap_ep_now(ep);
	e = ucoap_dedup_find(&ep->dedup, &key, m.mid, now);
	if (e && e->dghash == dghash) {
		ep->st.rx_duplicates++;
		if (m.type != UCOAP_TYPE_CON)
			return;
		if (e->kind == UCOAP_DEDUP_BYTES)
			ucoap_ep_send_raw(ep, ucoap_dedup_answer(&ep->dedup, e),
					  e->len, from);
		else if (e->kind == UCOAP_DEDUP_EMPTY_ACK)
			ucoap_ep_send_empty(ep, UCOAP_TYPE_ACK, m.mid, from);
		return;
	}
	if (UCOAP_CODE_CLASS(m.code) == 0) {
		ucoap_ep_on_request(ep, &m, from, &key, dghash, now,
				    len > ep->cfg.max_message_size);
		return;
	}
	/* A response larger than we accept is dropped (the header says so). */
	if (len <= ep->cfg.max_message_size)
		on_response(ep, &m, from, &key, dghash, now);
}

/* ---- timers ---- */

void ucoap_ep_tick(struct ucoap_ep *ep)
{
	uint64_t now = ucoap_ep_now(ep);
	struct ucoap_exchange *x;

	ucoap_dedup_expire(&ep->dedup, now);
	while ((x = ucoap_extable_first(&ep->ex)) && x->due <= now) {
		if (ucoap_extable_due(&ep->ex, x, now,
				      ep->cfg.max_retransmit) ==
		    UCOAP_EX_RETRANSMIT) {
			/*
			 * A send error is not fatal: the next retransmission
			 * or the timeout settles it.
			 */
			ucoap_ep_send_raw(ep, ucoap_extable_buf(&ep->ex, x),
					  x->len, &x->peer);
			ep->st.retransmissions++;
		} else {
			complete(ep, x, UCOAP_ERR_TIMEOUT, NULL, NULL);
		}
	}
	ucoap_obs_tick(ep, now);
	ucoap_blk_tick(ep, now);
}

int ucoap_ep_next_timeout(struct ucoap_ep *ep)
{
	struct ucoap_exchange *x = ucoap_extable_first(&ep->ex);
	uint64_t next = ucoap_dedup_next_expiry(&ep->dedup), now;

	if (ep->rx_held > 0)
		return 0;
	if (x && x->due < next)
		next = x->due;
	if (ucoap_obs_next_due(ep) < next)
		next = ucoap_obs_next_due(ep);
	if (ucoap_blk_next_expiry(ep) < next)
		next = ucoap_blk_next_expiry(ep);
	if (next == UINT64_MAX)
		return -1;
	now = ucoap_ep_now(ep);
	if (next <= now)
		return 0;
	return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

/* ---- the socket ---- */

static void set_blocking(struct ucoap_ep *ep, bool blocking)
{
	if (ep->blocking == blocking)
		return;
	if (ep->sock.setblocking)
		ep->sock.setblocking(ep->sock_user, blocking);
	ep->blocking = blocking;
}

static void use_socket(struct ucoap_ep *ep, const struct ucoap_socket_ops *ops,
		       void *user)
{
	ep->sock = *ops;
	ep->sock_user = user;
	ep->has_sock = true;
	/* Whatever state the socket is in, make it non-blocking (known). */
	ep->blocking = true;
	set_blocking(ep, false);
}

int ucoap_ep_start_at(struct ucoap_ep *ep, const struct ucoap_addr *local)
{
	if (!ep || !local)
		return UCOAP_ERR_INVAL;
	if (ep->has_sock)
		return UCOAP_ERR_STATE;
	if (ucoap_udp_open(&ep->udp, local) < 0)
		return UCOAP_ERR_IO;
	use_socket(ep, &ucoap_udp_ops, &ep->udp);
	return 0;
}

int ucoap_ep_start(struct ucoap_ep *ep, uint16_t port)
{
	struct ucoap_addr local;
	int rc;

	ucoap_addr_set(&local, "::", port);
	rc = ucoap_ep_start_at(ep, &local);
	/* A host without IPv6 still gets an IPv4 endpoint. */
	if (rc == UCOAP_ERR_IO && errno == EAFNOSUPPORT) {
		ucoap_addr_set(&local, "0.0.0.0", port);
		rc = ucoap_ep_start_at(ep, &local);
	}
	return rc;
}

int ucoap_ep_start_fd(struct ucoap_ep *ep, int fd)
{
	if (!ep)
		return UCOAP_ERR_INVAL;
	if (ep->has_sock)
		return UCOAP_ERR_STATE;
	if (ucoap_udp_adopt(&ep->udp, fd) < 0)
		return UCOAP_ERR_IO;
	use_socket(ep, &ucoap_udp_ops, &ep->udp);
	return 0;
}

int ucoap_ep_set_custom_socket(struct ucoap_ep *ep,
			       const struct ucoap_socket_ops *ops, void *user)
{
	if (!ep || !ops || !ops->sendto || !ops->recvfrom)
		return UCOAP_ERR_INVAL;
	ucoap_ep_stop(ep);
	use_socket(ep, ops, user);
	return 0;
}

void ucoap_ep_stop(struct ucoap_ep *ep)
{
	if (!ep || !ep->has_sock)
		return;
	ep->has_sock = false;
	if (ep->sock.close)
		ep->sock.close(ep->sock_user);
}

int ucoap_ep_local_addr(struct ucoap_ep *ep, struct ucoap_addr *out)
{
	int fd = ucoap_ep_fd(ep);

	if (fd < 0)
		return UCOAP_ERR_STATE;
	return ucoap_udp_local_addr(fd, out);
}

int ucoap_ep_fd(const struct ucoap_ep *ep)
{
	if (!ep || !ep->has_sock || !ep->sock.fd)
		return -1;
	return ep->sock.fd(ep->sock_user);
}

int ucoap_ep_process(struct ucoap_ep *ep, unsigned max)
{
	struct ucoap_addr from;
	unsigned n = 0;
	int rc = 0;

	/* A callback calling back in must not overwrite the datagram. */
	if (ep->in_rx)
		return 0;
	if (!ep->has_sock)
		return UCOAP_ERR_STATE;
	set_blocking(ep, false);
	ep->in_rx = true;
	if (ep->sock.batch)
		ep->sock.batch(ep->sock_user, true);
	while (ep->has_sock && (max == 0 || n < max)) {
		ssize_t r =
		    ep->sock.recvfrom(ep->sock_user, ep->rx, RX_CAP, &from);

		if (r == -EAGAIN || r == -EWOULDBLOCK)
			break;
		if (r == -EINTR)
			continue;
		if (r < 0) {
			errno = (int)-r;
			rc = UCOAP_ERR_IO;
			break;
		}
		n++;
		if (r > RX_CAP) {
			/* Cut short by the socket: nothing honest to answer. */
			ep->st.rx++;
			ep->st.rx_malformed++;
			continue;
		}
		ucoap_ep_input(ep, ep->rx, (size_t)r, &from);
	}
	ep->in_rx = false;
	ucoap_ep_tick(ep);
	/* Answers and retransmissions leave together, after the timers. */
	ep->rx_held = ep->has_sock && ep->sock.batch
			  ? ep->sock.batch(ep->sock_user, false)
			  : 0;
	return n == 0 && rc < 0 ? rc : (int)n;
}

/* Wait up to @ms (-1: forever) for the socket to become readable. */
static void wait_readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	poll(&p, 1, ms);
}

static int min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

bool ucoap_ep_loop(struct ucoap_ep *ep, bool blocking)
{
	struct ucoap_addr from;
	ssize_t r;
	int fd;

	if (!ep || ep->in_rx || !ep->has_sock)
		return false;
	if (!blocking)
		return ucoap_ep_process(ep, 1) > 0;
	fd = ucoap_ep_fd(ep);
	if (fd >= 0) {
		/* Timers keep running while we wait for the datagram. */
		for (;;) {
			int n = ucoap_ep_process(ep, 1);

			if (n != 0)
				return n > 0;
			wait_readable(fd, ucoap_ep_next_timeout(ep));
		}
	}
	/* A custom socket without fd: its own blocking recvfrom waits. */
	ucoap_ep_tick(ep);
	set_blocking(ep, true);
	ep->in_rx = true;
	r = ep->sock.recvfrom(ep->sock_user, ep->rx, RX_CAP, &from);
	if (r >= 0 && r <= RX_CAP)
		ucoap_ep_input(ep, ep->rx, (size_t)r, &from);
	ep->in_rx = false;
	set_blocking(ep, false);
	ucoap_ep_tick(ep);
	return r >= 0 && r <= RX_CAP;
}

bool ucoap_ep_poll(struct ucoap_ep *ep, int timeout_ms, int period_ms)
{
	long waited = 0;

	if (period_ms <= 0)
		period_ms = 500; /* microCoAPy's default */
	for (;;) {
		int fd, slice = period_ms;

		if (ucoap_ep_loop(ep, false))
			return true;
		if (!ep->has_sock || ep->in_rx)
			return false;
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return false;
		if (timeout_ms >= 0 && timeout_ms - waited < slice)
			slice = (int)(timeout_ms - waited);
		fd = ucoap_ep_fd(ep);
		if (fd >= 0) {
			/* Wake early for data or a due timer. */
			wait_readable(
			    fd, min_timeout(slice, ucoap_ep_next_timeout(ep)));
		} else {
			struct timespec ts = {slice / 1000,
					      (long)(slice % 1000) * 1000000};

			nanosleep(&ts, NULL);
		}
		waited += slice;
	}
}

/* ---- lifecycle ---- */

static uint64_t max_transmit_span(const struct ucoap_ep_config *c)
{
	/* §4.8.2: ACK_TIMEOUT * (2 ** MAX_RETRANSMIT - 1) * ACK_RANDOM_FACTOR
	 */
	return (uint64_t)((double)c->ack_timeout_ms *
			  (double)((1u << c->max_retransmit) - 1) *
			  c->ack_random_factor);
}

/* Free what ucoap_ep_new() allocated; each part copes with never set up. */
static void release(struct ucoap_ep *ep)
{
	ucoap_blk_cleanup(&ep->blk);
	ucoap_obs_cleanup(&ep->obs);
	ucoap_extable_cleanup(&ep->ex);
	ucoap_dedup_cleanup(&ep->dedup);
	free(ep->path);
	free(ep->tx);
	free(ep->rx);
	free(ep);
}

struct ucoap_ep *ucoap_ep_new(const struct ucoap_ep_config *cfg,
			      const struct ucoap_env_ops *env, void *env_user)
{
	struct ucoap_ep *ep = calloc(1, sizeof(*ep));

	if (!ep)
		return NULL;
	if (cfg)
		ep->cfg = *cfg;
	else
		ucoap_ep_config_init(&ep->cfg);
	if (!config_valid(&ep->cfg))
		goto fail;
	ep->env = ucoap_default_env;
	if (env) {
		ep->env_user = env_user;
		if (env->now_ms)
			ep->env.now_ms = env->now_ms;
		if (env->random)
			ep->env.random = env->random;
	}
	/* §4.8.2, from the configured transmission parameters. */
	ep->non_lifetime = max_transmit_span(&ep->cfg) + MAX_LATENCY_MS;
	ep->exchange_lifetime = max_transmit_span(&ep->cfg) +
				2 * (uint64_t)MAX_LATENCY_MS +
				ep->cfg.ack_timeout_ms;
	ep->udp.fd = -1;
	ep->rx = malloc(RX_CAP);
	ep->tx = malloc(ep->cfg.max_message_size);
	ep->path = malloc(ep->cfg.max_message_size + 1);
	if (!ep->rx || !ep->tx || !ep->path)
		goto fail;
	if (ucoap_dedup_init(&ep->dedup, ep->cfg.dedup_entries,
			     ep->cfg.dedup_bytes, ep->cfg.max_message_size) < 0)
		goto fail;
	if (ucoap_extable_init(&ep->ex, ep->cfg.max_exchanges,
			       ep->cfg.max_message_size) < 0)
		goto fail;
	if (ucoap_obs_init(&ep->obs, ep->cfg.max_observers,
			   ep->cfg.max_observations,
			   ep->cfg.max_message_size) < 0)
		goto fail;
	if (ucoap_blk_init(&ep->blk, &ep->cfg) < 0)
		goto fail;
	/* §4.4: start the message ids at a random point. */
	if (ucoap_ep_random(ep, &ep->next_mid, sizeof(ep->next_mid)) < 0)
		goto fail;
	return ep;
fail:
	release(ep);
	return NULL;
}

void ucoap_ep_free(struct ucoap_ep *ep)
{
	struct ucoap_exchange *x;

	if (!ep)
		return;
	/* Callbacks run below; they may not start new requests. */
	ep->closing = true;
	ucoap_ep_stop(ep);
	while ((x = ucoap_extable_first(&ep->ex)))
		complete(ep, x, UCOAP_ERR_CANCELLED, NULL, NULL);
	ucoap_obs_shutdown(ep);
	for (size_t i = 0; i < ep->nurls; i++)
		free(ep->urls[i].url);
	free(ep->urls);
	release(ep);
}

void ucoap_ep_stats(const struct ucoap_ep *ep, struct ucoap_ep_stats *out)
{
	*out = ep->st;
	out->exchanges_open = ep->ex.used;
	out->dedup_used = ucoap_dedup_used(&ep->dedup);
}
