/*
 * The endpoint's server role (RFC 7252 §5): routing a request to its
 * handler, the handler's answer (piggybacked, §5.2.1; deferred into a
 * separate response, §5.2.2; NON for NON, §5.2.3), the answers the endpoint
 * makes itself (4.04, 4.05, 4.02, 4.13, 5.03, 5.05, 5.00), and remembering
 * each answer for duplicates (§4.5).
 */
#include <stdlib.h>
#include <string.h>

#include "endpoint_int.h"

/* ---- the server role ---- */

int ucoap_ep_add_request_callback(struct ucoap_ep *ep, const char *url,
				  ucoap_request_cb cb, void *user)
{
	struct url_cb *grown;
	char *copy;

	if (!ep || !url)
		return UCOAP_ERR_INVAL;
	if (*url == '/')
		url++;
	for (size_t i = 0; i < ep->nurls; i++) {
		if (strcmp(ep->urls[i].url, url) != 0)
			continue;
		if (cb) {
			/* microCoAPy: the last registration wins. */
			ep->urls[i].cb = cb;
			ep->urls[i].user = user;
		} else {
			free(ep->urls[i].url);
			ep->urls[i] = ep->urls[--ep->nurls];
		}
		return 0;
	}
	if (!cb)
		return 0;
	copy = strdup(url);
	if (!copy)
		return UCOAP_ERR_NOMEM;
	grown = realloc(ep->urls, (ep->nurls + 1) * sizeof(*grown));
	if (!grown) {
		free(copy);
		return UCOAP_ERR_NOMEM;
	}
	ep->urls = grown;
	ep->urls[ep->nurls++] = (struct url_cb){copy, cb, user};
	return 0;
}

void ucoap_ep_set_default_handler(struct ucoap_ep *ep, ucoap_request_cb cb,
				  void *user)
{
	ep->def_cb = cb;
	ep->def_user = user;
}

/* Remember the current request's answer for its duplicates (§4.5). */
static void remember(struct ucoap_ep *ep, enum ucoap_dedup_kind kind,
		     const uint8_t *answer, size_t len)
{
	const struct handling *h = &ep->cur;
	bool con = h->req->type == UCOAP_TYPE_CON;

	if (!h->remember)
		return;
	/*
	 * Room was checked before the handler ran, and only this request can
	 * add an entry until it is answered, so this cannot fail.
	 */
	ucoap_dedup_add(&ep->dedup, &h->key, h->req->mid, h->dghash,
			con ? kind : UCOAP_DEDUP_SILENT, answer, (uint32_t)len,
			h->now +
			    (con ? ep->exchange_lifetime : ep->non_lifetime));
}

int ucoap_ep_respond(struct ucoap_ep *ep, struct ucoap_msg *resp)
{
	struct handling *h = &ep->cur;
	struct ucoap_observer *reg = h->obs;
	size_t len;
	int rc;

	if (!ep || !resp)
		return UCOAP_ERR_INVAL;
	if (!h->active || h->answered || h->deferred)
		return UCOAP_ERR_STATE;
	/* RFC 7641: a notification, or the answer to a registration. */
	if (h->notify)
		return ucoap_obs_send_notification(ep, resp);
	/*
	 * §5.2.1: a CON is answered piggybacked in the ACK with its message
	 * id; §5.2.3: a NON gets a NON with a fresh id (microCoAPy answered it
	 * with an ACK).
	 */
	if (h->req->type == UCOAP_TYPE_CON) {
		resp->type = UCOAP_TYPE_ACK;
		resp->mid = h->req->mid;
	} else {
		resp->type = UCOAP_TYPE_NON;
		resp->mid = ucoap_ep_new_mid(ep, &h->key);
	}
	/* After the id: an RST to a NON answer names it (RFC 7641 §3.6). */
	if (reg)
		ucoap_obs_registration_answer(ep, resp);
	resp->token_len = h->req->token_len;
	memcpy(resp->token, h->req->token, h->req->token_len);
	/* RFC 7959: a body larger than a block goes out block by block. */
	rc = ucoap_blk_encode_answer(ep, resp, ep->tx, ep->cfg.max_message_size,
				     &len);
	if (rc < 0) {
		ucoap_obs_registration_drop(ep, reg);
		return rc;
	}
	h->answered = true;
	remember(ep, UCOAP_DEDUP_BYTES, ep->tx, len);
	return ucoap_ep_send_raw(ep, ep->tx, len, h->from);
}

/* An answer the endpoint makes itself (4.04, 4.02, 5.00...). */
static void respond_code(struct ucoap_ep *ep, uint8_t code, uint16_t opt,
			 uint32_t val)
{
	struct ucoap_msg m;

	ucoap_msg_init(&m, UCOAP_TYPE_ACK, code);
	if (opt)
		ucoap_msg_add_uint(&m, opt, val);
	ucoap_ep_respond(ep, &m);
}

int ucoap_ep_defer(struct ucoap_ep *ep, struct ucoap_deferred *out)
{
	struct handling *h = &ep->cur;

	if (!ep || !out)
		return UCOAP_ERR_INVAL;
	if (!h->active || h->answered || h->deferred || h->notify)
		return UCOAP_ERR_STATE;
	/* A registration needs its answer now (endpoint.h says so). */
	ucoap_obs_registration_drop(ep, h->obs);
	h->obs = NULL;
	memset(out, 0, sizeof(*out));
	out->peer = *h->from;
	out->req_type = h->req->type;
	out->token_len = h->req->token_len;
	memcpy(out->token, h->req->token, h->req->token_len);
	/* RFC 7959: what a block-wise separate response needs later. */
	ucoap_blk_deferred_init(ep, out);
	h->deferred = true;
	remember(ep, UCOAP_DEDUP_EMPTY_ACK, NULL, 0);
	/* §5.2.2: the empty ACK stops the client's retransmissions now. */
	if (h->req->type == UCOAP_TYPE_CON)
		ucoap_ep_send_empty(ep, UCOAP_TYPE_ACK, h->req->mid, h->from);
	return 0;
}

int ucoap_ep_respond_deferred(struct ucoap_ep *ep,
			      const struct ucoap_deferred *d,
			      struct ucoap_msg *resp, ucoap_response_cb cb,
			      void *user)
{
	struct req_opts o = {.cb = cb, .user = user, .ack_completes = true};
	struct ucoap_addr_key key;
	struct ucoap_msg out;
	size_t len;
	int rc;

	if (!ep || !d || !resp || d->token_len > UCOAP_TOKEN_MAX)
		return UCOAP_ERR_INVAL;
	if (!ep->has_sock)
		return UCOAP_ERR_STATE;
	ucoap_addr_key(&d->peer, &key);
	resp->token_len = d->token_len;
	memcpy(resp->token, d->token, d->token_len);
	resp->type =
	    d->req_type == UCOAP_TYPE_CON ? UCOAP_TYPE_CON : UCOAP_TYPE_NON;
	resp->mid =
	    d->req_type == UCOAP_TYPE_CON ? 0 : ucoap_ep_new_mid(ep, &key);
	/* RFC 7959: a body larger than a block goes out block by block. */
	rc = ucoap_blk_deferred_answer(ep, d, resp, &out);
	if (rc < 0)
		return rc;
	/* §5.2.2: a CON, retransmitted until the client ACKs it. */
	if (d->req_type == UCOAP_TYPE_CON) {
		rc = ucoap_ep_start_exchange(ep, &d->peer, &out, &o, NULL);
		resp->mid = out.mid;
		return rc;
	}
	/*
	 * A NON separate response expects nothing back, so there is nothing
	 * for @cb to learn: it is not called.
	 */
	rc = ucoap_msg_encode(&out, ep->tx, ep->cfg.max_message_size, &len);
	if (rc < 0)
		return rc;
	return ucoap_ep_send_raw(ep, ep->tx, len, &d->peer);
}

static bool known_method(uint8_t code)
{
	return code >= UCOAP_GET && code <= UCOAP_IPATCH;
}

void ucoap_ep_dispatch(struct ucoap_ep *ep, const struct ucoap_msg *m,
		       const struct ucoap_addr *from)
{
	ucoap_request_cb cb = ep->def_cb;
	void *user = ep->def_user;

	if (ep->nurls > 0 &&
	    ucoap_msg_uri_path(m, ep->path, ep->cfg.max_message_size + 1) >=
		0) {
		for (size_t i = 0; i < ep->nurls; i++) {
			if (strcmp(ep->urls[i].url, ep->path) == 0) {
				cb = ep->urls[i].cb;
				user = ep->urls[i].user;
				break;
			}
		}
	}
	if (!cb) {
		respond_code(ep, UCOAP_NOT_FOUND, 0, 0);
		return;
	}
	cb(ep, m, from, user);
}

void ucoap_ep_on_request(struct ucoap_ep *ep, const struct ucoap_msg *m,
			 const struct ucoap_addr *from,
			 const struct ucoap_addr_key *key, uint32_t dghash,
			 uint64_t now, bool too_big)
{
	struct handling saved = ep->cur;
	enum ucoap_blk_in blk;
	struct ucoap_msg whole;
	bool room;

	ucoap_dedup_expire(&ep->dedup, now);
	room = ucoap_dedup_has_room(&ep->dedup);
	/* The forget-oldest policy trades exactness for service (endpoint.h).
	 */
	while (!room && ep->cfg.dedup_forget_oldest) {
		int dropped = ucoap_dedup_drop_oldest(&ep->dedup);

		if (dropped < 0)
			break;
		ep->st.dedup_forgotten += (unsigned)dropped;
		room = ucoap_dedup_has_room(&ep->dedup);
	}
	ep->cur = (struct handling){.active = true,
				    .remember = room,
				    .req = m,
				    .from = from,
				    .key = *key,
				    .dghash = dghash,
				    .now = now};
	if (!room && m->type == UCOAP_TYPE_CON) {
		/*
		 * Full of answers still owed to retransmissions: refuse rather
		 * than forget one (§4.5), and say when to retry (§5.9.3.4).
		 */
		uint64_t exp = ucoap_dedup_next_expiry(&ep->dedup);
		uint64_t s = exp > now ? (exp - now + 999) / 1000 : 1;

		ep->st.dedup_full++;
		respond_code(ep, UCOAP_SERVICE_UNAVAILABLE, UCOAP_OPT_MAX_AGE,
			     (uint32_t)(s > UINT32_MAX ? UINT32_MAX : s));
	} else if (too_big) {
		/* §5.9.2.9, §5.10.9: tell the client the size we accept. */
		respond_code(ep, UCOAP_REQUEST_ENTITY_TOO_LARGE,
			     UCOAP_OPT_SIZE1, ep->cfg.max_message_size);
	} else if (!known_method(m->code)) {
		respond_code(ep, UCOAP_METHOD_NOT_ALLOWED, 0, 0);
	} else if (ucoap_msg_bad_critical(m)) {
		/*
		 * §5.4.1: a CON gets 4.02 piggybacked; a NON must be rejected,
		 * and §4.3 lets that be silent, as the core rejects every
		 * other NON (endpoint.c). That covers repeats and bad lengths
		 * too (§5.4.3, §5.4.5: ucoap_msg_bad_critical()).
		 */
		if (m->type == UCOAP_TYPE_CON)
			respond_code(ep, UCOAP_BAD_OPTION, 0, 0);
	} else if (ucoap_msg_find(m, UCOAP_OPT_PROXY_URI) ||
		   ucoap_msg_find(m, UCOAP_OPT_PROXY_SCHEME)) {
		/*
		 * §5.7.2, §5.10.2: the request is for a forward-proxy, which
		 * this endpoint never is; its Uri-* options (or their absence)
		 * name no resource of ours, so no handler may see it.
		 */
		respond_code(ep, UCOAP_PROXYING_NOT_SUPPORTED, 0, 0);
	} else {
		/* RFC 7641 §3.6: a GET may end a registration first. */
		ucoap_obs_on_request(ep);
		/* RFC 7959 §2.5: the blocks of a body, gathered first. */
		blk = ucoap_blk_server_request(ep, m, &whole);
		if (blk == UCOAP_BLK_WHOLE)
			ep->cur.req = m = &whole;
		if (blk != UCOAP_BLK_ANSWERED) {
			ucoap_ep_dispatch(ep, m, from);
			/* The client must never wait for an answer that won't
			 * come. */
			if (!ep->cur.answered && !ep->cur.deferred)
				respond_code(ep, UCOAP_INTERNAL_SERVER_ERROR, 0,
					     0);
			ucoap_blk_server_done(ep);
		}
	}
	ep->cur = saved;
}
