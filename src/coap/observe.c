/*
 * ucoap_obs: Observe (RFC 7641) for the endpoint, both roles; observe.h
 * describes the tables and endpoint.h the behaviour.
 *
 * Why notifications re-run the handler rather than take a ready response
 * from the application: a notification must be what a GET would return
 * now (§4.2), and the handler already knows how to build that for this
 * observer (its Accept, Uri-Query, ETag, first block). One code path, no
 * second representation to keep in sync.
 */
#include <stdlib.h>
#include <string.h>

#include "endpoint_int.h"

/* §4.5: a notification is sent CON at least every 24 hours. */
#define CON_EVERY_MS (24ull * 3600 * 1000)
/* §3.3.1: re-register this long after Max-Age runs out without news. */
#define REREG_MARGIN_MS 2000u
/* §3.4 */
#define FRESH_WINDOW_MS 128000u
#define SEQ_MASK        0xFFFFFFu
#define SEQ_HALF        (1u << 23)

int ucoap_obs_init(struct ucoap_obs *o, uint32_t nsrv, uint32_t ncli,
		   size_t buf_size)
{
	memset(o, 0, sizeof(*o));
	o->buf_size = buf_size;
	if (nsrv) {
		o->srv = calloc(nsrv, sizeof(*o->srv));
		o->srv_bufs = malloc((size_t)nsrv * buf_size);
		if (!o->srv || !o->srv_bufs)
			goto fail;
	}
	if (ncli) {
		o->cli = calloc(ncli, sizeof(*o->cli));
		o->cli_bufs = malloc((size_t)ncli * buf_size);
		if (!o->cli || !o->cli_bufs)
			goto fail;
	}
	o->nsrv = nsrv;
	o->ncli = ncli;
	return 0;
fail:
	ucoap_obs_cleanup(o);
	return UCOAP_ERR_NOMEM;
}

void ucoap_obs_cleanup(struct ucoap_obs *o)
{
	free(o->srv);
	free(o->srv_bufs);
	free(o->cli);
	free(o->cli_bufs);
	memset(o, 0, sizeof(*o));
}

static uint8_t *srv_buf(struct ucoap_obs *o, const struct ucoap_observer *ob)
{
	return o->srv_bufs + (size_t)(ob - o->srv) * o->buf_size;
}

static uint8_t *cli_buf(struct ucoap_obs *o, const struct ucoap_observation *c)
{
	return o->cli_bufs + (size_t)(c - o->cli) * o->buf_size;
}

static bool is_get(uint8_t code)
{
	return code == UCOAP_GET || code == UCOAP_FETCH;
}

/* §4.4: 24-bit values, increasing for every notification we send. */
static uint32_t next_seq(struct ucoap_obs *o)
{
	o->seq = (o->seq + 1) & SEQ_MASK;
	return o->seq;
}

/* ---- server role ---- */

static struct ucoap_observer *find_observer(struct ucoap_obs *o,
					    const struct ucoap_addr_key *key,
					    const uint8_t *token, uint8_t len)
{
	for (uint32_t i = 0; i < o->nsrv; i++) {
		struct ucoap_observer *ob = &o->srv[i];

		if (ob->used && ob->token_len == len &&
		    memcmp(ob->token, token, len) == 0 &&
		    ucoap_addr_key_eq(&ob->akey, key))
			return ob;
	}
	return NULL;
}

/*
 * Forget @ob. Its CON notification in flight, if any, is dropped
 * (@keep_inflight false: the client no longer wants it) or left to finish
 * on its own (true: it carries the final answer and must still arrive).
 */
static void observer_free(struct ucoap_ep *ep, struct ucoap_observer *ob,
			  bool keep_inflight)
{
	if (ob->inflight) {
		struct ucoap_exchange *x =
		    ucoap_extable_by_mid(&ep->ex, &ob->akey, ob->inflight_mid);

		if (x && keep_inflight) {
			x->cb = NULL;
			x->user = NULL;
		} else if (x) {
			ucoap_extable_release(&ep->ex, x);
		}
	}
	memset(ob, 0, sizeof(*ob));
}

void ucoap_obs_on_request(struct ucoap_ep *ep)
{
	const struct handling *h = &ep->cur;
	struct ucoap_observer *ob;

	if (!is_get(h->req->code))
		return;
	/*
	 * §3.6/§4.1: a GET with the token of a registration, without
	 * Observe 0, deregisters; with Observe 0 it re-registers, and
	 * ucoap_ep_observe_accept() takes the freed slot again.
	 */
	ob = find_observer(&ep->obs, &h->key, h->req->token, h->req->token_len);
	if (ob)
		observer_free(ep, ob, false);
}

int ucoap_ep_observe_accept(struct ucoap_ep *ep, const void *key)
{
	struct handling *h;
	struct ucoap_observer *ob = NULL;
	uint32_t v;
	size_t len;

	if (!ep || !key)
		return UCOAP_ERR_INVAL;
	h = &ep->cur;
	if (h->notify)
		return 0;
	if (!h->active || h->answered || h->deferred)
		return UCOAP_ERR_STATE;
	if (!is_get(h->req->code) ||
	    ucoap_msg_get_uint(h->req, UCOAP_OPT_OBSERVE, &v) < 0 || v != 0)
		return UCOAP_ERR_INVAL;
	if (h->obs)
		return 0; /* accepted already */
	for (uint32_t i = 0; i < ep->obs.nsrv && !ob; i++)
		if (!ep->obs.srv[i].used)
			ob = &ep->obs.srv[i];
	if (!ob)
		return UCOAP_ERR_FULL;
	/* Keep the request to run the handler with it again. */
	if (ucoap_msg_encode(h->req, srv_buf(&ep->obs, ob), ep->obs.buf_size,
			     &len) < 0)
		return UCOAP_ERR_NOSPACE;
	ob->used = true;
	ob->key = key;
	ob->peer = *h->from;
	ob->akey = h->key;
	ob->token_len = h->req->token_len;
	memcpy(ob->token, h->req->token, h->req->token_len);
	ob->last_con = h->now;
	ob->req_len = len;
	h->obs = ob;
	return 0;
}

void ucoap_obs_registration_answer(struct ucoap_ep *ep, struct ucoap_msg *resp)
{
	struct ucoap_observer *ob = ep->cur.obs;

	ep->cur.obs = NULL;
	ucoap_msg_del_opt(resp, UCOAP_OPT_OBSERVE);
	/* §4.1: only a successful answer establishes the observation. */
	if (UCOAP_CODE_CLASS(resp->code) != 2 ||
	    ucoap_msg_add_uint(resp, UCOAP_OPT_OBSERVE, next_seq(&ep->obs)) < 0)
		observer_free(ep, ob, false);
	else if (ep->cur.req->type == UCOAP_TYPE_NON) {
		/*
		 * §3.6: an RST to a NON answer (a NON registration's, RFC
		 * 7252 §5.2.3) ends it as one to a NON notification does.
		 */
		ob->last_mid = resp->mid;
		ob->has_last_mid = true;
	}
}

void ucoap_obs_registration_drop(struct ucoap_ep *ep, struct ucoap_observer *ob)
{
	if (ob && ob->used)
		observer_free(ep, ob, false);
}

/* How a CON notification ended: ACK, or RST / give-up (§3.6, §4.5). */
static void on_con_done(struct ucoap_ep *ep, int status,
			const struct ucoap_msg *m,
			const struct ucoap_addr *from, void *user)
{
	struct ucoap_observer *ob = user;

	(void)m;
	(void)from;
	ob->inflight = false;
	ob->has_prev_mid = false;
	if (status != 0)
		observer_free(ep, ob, false);
}

/* Set the type and message id of the encoded message @buf (RFC 7252 §3). */
static void set_header(uint8_t *buf, uint8_t type, uint16_t mid)
{
	buf[0] = (uint8_t)((buf[0] & 0xCF) | type << 4);
	buf[2] = (uint8_t)(mid >> 8);
	buf[3] = (uint8_t)mid;
}

int ucoap_obs_send_notification(struct ucoap_ep *ep, struct ucoap_msg *resp)
{
	struct handling *h = &ep->cur;
	struct ucoap_observer *ob = h->obs;
	/* §3.2: a non-2.xx notification is the last one, without Observe. */
	bool final = UCOAP_CODE_CLASS(resp->code) != 2;
	bool con = ep->obs.notify_con || h->now - ob->last_con >= CON_EVERY_MS;
	struct ucoap_exchange *x = NULL;
	struct ucoap_msg out;
	uint16_t mid;
	size_t len;
	int rc;

	ucoap_msg_del_opt(resp, UCOAP_OPT_OBSERVE);
	if (!final) {
		rc = ucoap_msg_add_uint(resp, UCOAP_OPT_OBSERVE,
					next_seq(&ep->obs));
		if (rc < 0)
			return rc;
	}
	resp->type = UCOAP_TYPE_NON;
	resp->mid = 0;
	resp->token_len = ob->token_len;
	memcpy(resp->token, ob->token, ob->token_len);
	/*
	 * Encoded as any answer is (RFC 7959 §2.6: a large notification
	 * carries its first block), then given its type and id below.
	 */
	rc = ucoap_blk_encode_answer(ep, resp, ep->tx, ep->cfg.max_message_size,
				     &len);
	if (rc < 0)
		return rc;
	h->answered = true;
	if (final)
		ob->ending = true;
	if (ob->inflight)
		x = ucoap_extable_by_mid(&ep->ex, &ob->akey, ob->inflight_mid);
	if (x) {
		/*
		 * §4.5.2: a CON notification is in flight. The newest state
		 * takes its place: a new message id (a new message, which the
		 * client must not take for a duplicate), a higher Observe
		 * number, the retransmission counter and timeout carried on.
		 * The id it replaces is kept if that message went out (the
		 * first one did; a replacement only with a retransmission
		 * since), so its late ACK or RST still counts.
		 */
		if (!ob->has_prev_mid || x->retransmits > ob->replaced_retx) {
			ob->has_prev_mid = true;
			ob->prev_mid = ob->inflight_mid;
		}
		ob->replaced_retx = x->retransmits;
		mid = ucoap_ep_new_mid(ep, &ob->akey);
		set_header(ep->tx, UCOAP_TYPE_CON, mid);
		memcpy(ucoap_extable_buf(&ep->ex, x), ep->tx, len);
		x->len = len;
		ucoap_extable_set_mid(&ep->ex, x, mid);
		ob->inflight_mid = mid;
		return 0;
	}
	if (con) {
		struct req_opts o = {.cb = final ? NULL : on_con_done,
				     .user = final ? NULL : ob,
				     .ack_completes = true};

		/* Our own encoding: it decodes; views into ep->tx. */
		rc = ucoap_msg_decode(&out, ep->tx, len);
		if (rc < 0)
			return rc;
		out.type = UCOAP_TYPE_CON;
		rc = ucoap_ep_start_exchange(ep, &ob->peer, &out, &o, &mid);
		if (rc == 0) {
			ob->inflight = !final;
			ob->inflight_mid = mid;
			ob->last_con = h->now;
			return 0;
		}
		/*
		 * No exchange free: send it NON now; the next one tries CON
		 * again, since last_con did not move.
		 */
		if (rc != UCOAP_ERR_FULL)
			return rc; /* ep->tx still holds the encoding */
	}
	mid = ucoap_ep_new_mid(ep, &ob->akey);
	set_header(ep->tx, UCOAP_TYPE_NON, mid);
	ob->last_mid = mid;
	ob->has_last_mid = true;
	return ucoap_ep_send_raw(ep, ep->tx, len, &ob->peer);
}

/* @ob's CON notification in flight had the id @mid before a newer state. */
static bool replaced_mid(const struct ucoap_observer *ob, uint16_t mid)
{
	return ob->inflight && ob->has_prev_mid && ob->prev_mid == mid;
}

void ucoap_obs_on_ack(struct ucoap_ep *ep, const struct ucoap_addr_key *key,
		      uint16_t mid)
{
	for (uint32_t i = 0; i < ep->obs.nsrv; i++) {
		struct ucoap_observer *ob = &ep->obs.srv[i];
		struct ucoap_exchange *x;
		uint64_t now;
		uint32_t rto;

		if (!ob->used || !replaced_mid(ob, mid) ||
		    !ucoap_addr_key_eq(&ob->akey, key))
			continue;
		x = ucoap_extable_by_mid(&ep->ex, &ob->akey, ob->inflight_mid);
		ob->has_prev_mid = false;
		if (!x || ucoap_ep_initial_rto(ep, &rto) < 0)
			return;
		/*
		 * §4.5.2: the client got the state before and is alive, so
		 * the newer state gets a fresh retransmission schedule rather
		 * than the rest of one that was running out -- and goes out
		 * now if it has not gone out yet.
		 */
		now = ucoap_ep_now(ep);
		/* A send error is left to the schedule, as in a tick. */
		if (x->retransmits == ob->replaced_retx)
			ucoap_ep_send_raw(ep, ucoap_extable_buf(&ep->ex, x),
					  x->len, &x->peer);
		ucoap_extable_restart(&ep->ex, x, now, rto,
				      now + ep->exchange_lifetime);
		return;
	}
}

void ucoap_obs_on_rst(struct ucoap_ep *ep, const struct ucoap_addr_key *key,
		      uint16_t mid)
{
	/*
	 * §3.6: an RST to a NON notification, or to a CON one that a newer
	 * state replaced since, cancels the observation.
	 */
	for (uint32_t i = 0; i < ep->obs.nsrv; i++) {
		struct ucoap_observer *ob = &ep->obs.srv[i];

		if (ob->used &&
		    ((ob->has_last_mid && ob->last_mid == mid) ||
		     replaced_mid(ob, mid)) &&
		    ucoap_addr_key_eq(&ob->akey, key)) {
			observer_free(ep, ob, false);
			return;
		}
	}
}

int ucoap_ep_notify(struct ucoap_ep *ep, const void *key, bool con,
		    unsigned *count)
{
	struct handling saved;
	unsigned n = 0;
	uint64_t now;

	if (!ep || !key)
		return UCOAP_ERR_INVAL;
	if (ep->obs.notifying)
		return UCOAP_ERR_STATE;
	saved = ep->cur;
	now = ucoap_ep_now(ep);
	ep->obs.notifying = true;
	ep->obs.notify_con = con;
	for (uint32_t i = 0; i < ep->obs.nsrv; i++) {
		struct ucoap_observer *ob = &ep->obs.srv[i];
		struct ucoap_msg req;

		if (!ob->used || ob->key != key)
			continue;
		/* Our own encoding of a request we decoded: it decodes. */
		if (ucoap_msg_decode(&req, srv_buf(&ep->obs, ob), ob->req_len) <
		    0)
			continue;
		ep->cur = (struct handling){.active = true,
					    .notify = true,
					    .obs = ob,
					    .req = &req,
					    .from = &ob->peer,
					    .key = ob->akey,
					    .now = now};
		n++;
		ucoap_ep_dispatch(ep, &req, &ob->peer);
		if (ob->used && ob->ending)
			observer_free(ep, ob, true);
	}
	ep->obs.notifying = false;
	ep->cur = saved;
	if (count)
		*count = n;
	return 0;
}

bool ucoap_ep_notifying(const struct ucoap_ep *ep)
{
	return ep && ep->cur.active && ep->cur.notify;
}

unsigned ucoap_ep_observer_count(const struct ucoap_ep *ep, const void *key)
{
	unsigned n = 0;

	for (uint32_t i = 0; ep && i < ep->obs.nsrv; i++)
		if (ep->obs.srv[i].used && ep->obs.srv[i].key == key)
			n++;
	return n;
}

/* ---- client role ---- */

static uint32_t handle_of(const struct ucoap_obs *o,
			  const struct ucoap_observation *c)
{
	return (uint32_t)c->gen << 20 | (uint32_t)(c - o->cli);
}

static struct ucoap_observation *by_handle(struct ucoap_obs *o, uint32_t h)
{
	uint32_t i = h & 0xFFFFF;

	if (i >= o->ncli || !o->cli[i].used || o->cli[i].gen != h >> 20)
		return NULL;
	return &o->cli[i];
}

struct ucoap_observation *ucoap_obs_find(struct ucoap_ep *ep,
					 const struct ucoap_addr_key *key,
					 const uint8_t *token, uint8_t len)
{
	for (uint32_t i = 0; i < ep->obs.ncli; i++) {
		struct ucoap_observation *c = &ep->obs.cli[i];

		if (c->used && c->token_len == len &&
		    memcmp(c->token, token, len) == 0 &&
		    ucoap_addr_key_eq(&c->akey, key))
			return c;
	}
	return NULL;
}

/* Stop waiting for @c's (re-)registration answer, silently. */
static void drop_exchange(struct ucoap_ep *ep, struct ucoap_observation *c)
{
	struct ucoap_exchange *x;

	if (!c->exch_open)
		return;
	x = ucoap_extable_by_mid(&ep->ex, &c->akey, c->mid);
	if (x)
		ucoap_extable_release(&ep->ex, x);
	c->exch_open = false;
}

/* Stop fetching the rest of a notification, silently. */
static void drop_fetch(struct ucoap_ep *ep, struct ucoap_observation *c)
{
	ucoap_blk_client_abort(ep, c->fetch);
	c->fetch = NULL;
}

/* The observation is over: free it, then tell its owner, once. */
static void end(struct ucoap_ep *ep, struct ucoap_observation *c, int status,
		const struct ucoap_msg *m, const struct ucoap_addr *from)
{
	ucoap_response_cb cb = c->cb;
	void *user = c->user;

	drop_fetch(ep, c);
	drop_exchange(ep, c);
	c->used = false;
	cb(ep, status, status == 0 ? m : NULL, status == 0 ? from : NULL, user);
}

/*
 * §3.4: V2 (@v, at @now) is newer than V1 (seq at seq_at) when it is
 * ahead within half the 24-bit space, or when 128 s have passed (then the
 * numbers may have wrapped more than once, and the newest arrival wins).
 */
static bool fresh(const struct ucoap_observation *c, uint32_t v, uint64_t now)
{
	uint32_t v1 = c->seq;

	return (v1 < v && v - v1 < SEQ_HALF) || (v1 > v && v1 - v > SEQ_HALF) ||
	       now > c->seq_at + FRESH_WINDOW_MS;
}

static bool token_taken(struct ucoap_ep *ep, const struct ucoap_addr_key *key,
			const uint8_t *t)
{
	return ucoap_extable_by_token(&ep->ex, key, t, 4) ||
	       ucoap_obs_find(ep, key, t, 4);
}

/*
 * §3.1/RFC 7252 §5.3.1: a fresh, unguessable 4-byte token, unique among
 * our requests and observations with this peer (stepped on a clash).
 */
static int fresh_token(struct ucoap_ep *ep, const struct ucoap_addr_key *key,
		       uint8_t t[4])
{
	int rc = ucoap_ep_random(ep, t, 4);

	if (rc < 0)
		return rc;
	while (token_taken(ep, key, t))
		for (int i = 3; i >= 0 && ++t[i] == 0; i--)
			;
	return 0;
}

/*
 * The rest of @c's newest notification (or final answer) arrived (or
 * not): block.c's call. end() and drop_fetch() abort the transfer first,
 * so this never runs for an observation that is over.
 */
static void on_fetched(struct ucoap_ep *ep, int status,
		       const struct ucoap_msg *m, const struct ucoap_addr *from,
		       void *user)
{
	struct ucoap_observation *c = user;

	c->fetch = NULL;
	/*
	 * Its representation changed on the way: the server notifies the
	 * new one (§4.2), so this one is dropped, as a lost NON would be.
	 * A final answer has no successor: it fails as a plain request's
	 * transfer does (block.c).
	 */
	if (status == UCOAP_ERR_AGAIN && !c->fetch_final)
		return;
	if (status == UCOAP_ERR_AGAIN)
		status = UCOAP_ERR_INVAL;
	/*
	 * The whole notification, with its first block's Observe; anything
	 * else (the whole final answer, an error answer to a block request,
	 * a timeout, a body above max_body_size) ends the observation as a
	 * failed registration does.
	 */
	if (status == 0 && UCOAP_CODE_CLASS(m->code) == 2 && !c->fetch_final)
		c->cb(ep, 0, m, from, c->user);
	else
		end(ep, c, status, m, from);
}

/*
 * RFC 7959 §2.6: @m is the first block of a larger notification (@final:
 * of the answer without Observe that ends @c): fetch the rest with plain
 * GETs (no Observe) on a token of their own -- a GET without Observe on
 * the observation's token would end the registration (§3.6) -- and call
 * back once it is whole. Returns true when the callback is left to
 * on_fetched(); false to deliver @m as it is (no slot or exchange free
 * for the transfer: the caller sees its Block2 option).
 */
static bool fetch_rest(struct ucoap_ep *ep, struct ucoap_observation *c,
		       const struct ucoap_msg *m, bool final)
{
	struct ucoap_block b;
	uint8_t token[4];
	int rc;

	if (ucoap_msg_get_block(m, UCOAP_OPT_BLOCK2, &b) < 0 || !b.more ||
	    b.num != 0)
		return false;
	c->fetch_final = final;
	rc = fresh_token(ep, &c->akey, token);
	if (rc == 0)
		rc = ucoap_blk_client_follow(ep, &c->peer, cli_buf(&ep->obs, c),
					     c->req_len, token, 4, m,
					     on_fetched, c, &c->fetch);
	if (rc == 0)
		return true;
	if (rc == UCOAP_ERR_FULL)
		return false;
	end(ep, c, rc, NULL, NULL);
	return true;
}

/* A response for @c; @reply: it answers our latest request. */
static void on_response(struct ucoap_ep *ep, struct ucoap_observation *c,
			const struct ucoap_msg *m,
			const struct ucoap_addr *from, uint64_t now, bool reply)
{
	uint32_t v, max_age;

	/* Its final answer is being fetched: the observation is over. */
	if (c->fetch && c->fetch_final)
		return;
	/*
	 * §3.2: a response without Observe, or not 2.xx, ends it (the
	 * server declined, or the resource went away) -- once whole: a
	 * 2.xx body larger than a block is fetched first, as a
	 * notification's is (no Observe, a token of its own; the generic
	 * takeover of block.c would re-send our Observe 0 on our token).
	 */
	if (ucoap_msg_get_uint(m, UCOAP_OPT_OBSERVE, &v) < 0 ||
	    UCOAP_CODE_CLASS(m->code) != 2) {
		drop_fetch(ep, c);
		if (UCOAP_CODE_CLASS(m->code) == 2 &&
		    fetch_rest(ep, c, m, true))
			return;
		end(ep, c, 0, m, from);
		return;
	}
	/*
	 * A stale notification is dropped; the answer to our latest
	 * (re-)registration is news whatever its number (the server may
	 * have restarted its count) when piggybacked: a separate one that
	 * is stale never gets here (ucoap_obs_stale_answer()).
	 */
	if (!reply && c->has_seq && !fresh(c, v, now))
		return;
	c->has_seq = true;
	c->seq = v;
	c->seq_at = now;
	/* §5.10.5 of RFC 7252: Max-Age defaults to 60 s. */
	if (ucoap_msg_get_uint(m, UCOAP_OPT_MAX_AGE, &max_age) < 0)
		max_age = 60;
	c->rereg_at = now + (uint64_t)max_age * 1000 + REREG_MARGIN_MS;
	/* §3.4: the freshest wins, also over a body still being fetched. */
	drop_fetch(ep, c);
	if (fetch_rest(ep, c, m, false))
		return;
	/* Last: the callback may cancel @c. */
	c->cb(ep, 0, m, from, c->user);
}

static void on_exchange_done(struct ucoap_ep *ep, int status,
			     const struct ucoap_msg *m,
			     const struct ucoap_addr *from, void *user)
{
	struct ucoap_observation *c = user;

	c->exch_open = false;
	if (status != 0)
		end(ep, c, status, NULL, NULL);
	else
		on_response(ep, c, m, from, ucoap_ep_now(ep), true);
}

bool ucoap_obs_stale_answer(const struct ucoap_exchange *x,
			    const struct ucoap_msg *m, uint64_t now)
{
	const struct ucoap_observation *c = x->user;
	uint32_t v;

	/*
	 * A re-registration shares the observation's token, so a delayed
	 * notification matches its exchange as well. Only the piggybacked
	 * answer (our message id) or a fresh one can be the real answer; a
	 * stale one is dropped as any stale notification is.
	 */
	return x->cb == on_exchange_done && c->has_seq &&
	       UCOAP_CODE_CLASS(m->code) == 2 &&
	       ucoap_msg_get_uint(m, UCOAP_OPT_OBSERVE, &v) == 0 &&
	       !fresh(c, v, now);
}

void ucoap_obs_on_notification(struct ucoap_ep *ep, struct ucoap_observation *c,
			       const struct ucoap_msg *m,
			       const struct ucoap_addr *from, uint64_t now)
{
	on_response(ep, c, m, from, now, false);
}

/* Send @c's request (its Observe option set to @observe) as a new exchange. */
static int send_request(struct ucoap_ep *ep, struct ucoap_observation *c,
			uint32_t observe, bool track)
{
	struct req_opts o = {.cb = track ? on_exchange_done : NULL,
			     .user = track ? c : NULL,
			     .own_blocks = true};
	struct ucoap_msg req;
	uint16_t mid;
	int rc;

	rc = ucoap_msg_decode(&req, cli_buf(&ep->obs, c), c->req_len);
	if (rc < 0)
		return rc;
	ucoap_msg_del_opt(&req, UCOAP_OPT_OBSERVE);
	rc = ucoap_msg_add_uint(&req, UCOAP_OPT_OBSERVE, observe);
	if (rc < 0)
		return rc;
	rc = ucoap_ep_start_exchange(ep, &c->peer, &req, &o, &mid);
	if (rc < 0)
		return rc;
	if (track) {
		c->exch_open = true;
		c->mid = mid;
	}
	return 0;
}

int ucoap_ep_observe(struct ucoap_ep *ep, const struct ucoap_addr *to,
		     struct ucoap_msg *req, ucoap_response_cb cb, void *user,
		     uint32_t *handle)
{
	struct ucoap_observation *c = NULL;
	struct ucoap_addr_key key;
	size_t len;
	int rc;

	if (!ep || !to || !req || !cb || !handle || !is_get(req->code) ||
	    (req->type != UCOAP_TYPE_CON && req->type != UCOAP_TYPE_NON))
		return UCOAP_ERR_INVAL;
	if (ep->closing || !ep->has_sock)
		return UCOAP_ERR_STATE;
	for (uint32_t i = 0; i < ep->obs.ncli && !c; i++)
		if (!ep->obs.cli[i].used)
			c = &ep->obs.cli[i];
	if (!c)
		return UCOAP_ERR_FULL;
	ucoap_addr_key(to, &key);
	rc = fresh_token(ep, &key, req->token);
	if (rc < 0)
		return rc;
	req->token_len = 4;
	ucoap_msg_del_opt(req, UCOAP_OPT_OBSERVE);
	rc = ucoap_msg_add_uint(req, UCOAP_OPT_OBSERVE, 0);
	if (rc < 0)
		return rc;
	req->mid = 0;
	rc =
	    ucoap_msg_encode(req, cli_buf(&ep->obs, c), ep->obs.buf_size, &len);
	if (rc < 0)
		return rc;
	c->peer = *to;
	c->akey = key;
	c->token_len = 4;
	memcpy(c->token, req->token, 4);
	c->req_len = len;
	c->cb = cb;
	c->user = user;
	c->has_seq = false;
	c->exch_open = false;
	c->fetch = NULL;
	c->fetch_final = false;
	rc = send_request(ep, c, 0, true);
	if (rc < 0)
		return rc;
	c->used = true;
	if (++c->gen >= 1u << 12)
		c->gen = 1;
	*handle = handle_of(&ep->obs, c);
	return 0;
}

int ucoap_ep_observe_cancel(struct ucoap_ep *ep, uint32_t handle)
{
	struct ucoap_observation *c = ep ? by_handle(&ep->obs, handle) : NULL;

	if (!c)
		return UCOAP_ERR_NOENT;
	/* Their exchanges free first: the deregistration needs one. */
	drop_fetch(ep, c);
	drop_exchange(ep, c);
	/*
	 * §3.6: deregister actively, GET with Observe 1 on the same token.
	 * Its answer completes an exchange nobody listens to; a failure to
	 * send is left to the RST our next notification will get.
	 */
	send_request(ep, c, 1, false);
	end(ep, c, UCOAP_ERR_CANCELLED, NULL, NULL);
	return 0;
}

void ucoap_obs_tick(struct ucoap_ep *ep, uint64_t now)
{
	for (uint32_t i = 0; i < ep->obs.ncli; i++) {
		struct ucoap_observation *c = &ep->obs.cli[i];
		int rc;

		if (!c->used || c->exch_open || !c->has_seq ||
		    c->rereg_at > now || (c->fetch && c->fetch_final))
			continue;
		/* §3.3.1: no news for Max-Age: ask again, same token. */
		rc = send_request(ep, c, 0, true);
		if (rc == UCOAP_ERR_FULL)
			c->rereg_at = now + 1000; /* an exchange frees up */
		else if (rc < 0)
			end(ep, c, rc, NULL, NULL);
	}
}

uint64_t ucoap_obs_next_due(const struct ucoap_ep *ep)
{
	uint64_t next = UINT64_MAX;

	for (uint32_t i = 0; i < ep->obs.ncli; i++) {
		const struct ucoap_observation *c = &ep->obs.cli[i];

		if (c->used && !c->exch_open && c->has_seq &&
		    !(c->fetch && c->fetch_final) && c->rereg_at < next)
			next = c->rereg_at;
	}
	return next;
}

void ucoap_obs_shutdown(struct ucoap_ep *ep)
{
	for (uint32_t i = 0; i < ep->obs.ncli; i++)
		if (ep->obs.cli[i].used)
			end(ep, &ep->obs.cli[i], UCOAP_ERR_CANCELLED, NULL,
			    NULL);
}
