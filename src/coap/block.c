/*
 * ucoap_blk: block-wise transfers (RFC 7959) for the endpoint, in both
 * roles; blockwise.h describes the design and its bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "endpoint_int.h"
#include "exchange.h"

/* A server slot: a body being received, or an answer being served. */
struct ucoap_blk_srv {
	bool used;
	bool answer; /* holds a stored answer (else: a body being received) */
	struct ucoap_addr_key peer;
	uint64_t id; /* hash of the request's method and identifying options */
	uint64_t expires;
	size_t len;
	uint8_t *buf; /* body_max */
	/* a stored answer's code and options (each block repeats them) */
	uint8_t code;
	int cf;
	uint8_t etag_len;
	uint8_t etag[8];
	bool has_max_age;
	uint64_t stale_at; /* when the Max-Age it had runs out */
};

struct ucoap_blk_cli {
	bool used, done;
	bool follow;    /* the rest of a notification (RFC 7959 §2.6) */
	bool b1;        /* still sending the request body (Block1) */
	bool sent_more; /* the last Block1 sent had M=1 */
	bool default_cb;
	struct ucoap_addr peer;
	uint16_t orig_mid, cur_mid;
	ucoap_response_cb cb;
	void *user;
	uint32_t timeout_ms;
	uint8_t szx1, szx2;
	uint8_t token_len;
	uint8_t token[UCOAP_TOKEN_MAX];
	uint8_t etag_len;
	bool has_etag;
	uint8_t etag[8];
	size_t body_len; /* Block1: the whole body; Block2: received so far */
	size_t sent_off, sent_n;
	size_t req_len, head_len;
	uint8_t *req;  /* the encoded request without body: max_message_size */
	uint8_t *head; /* follow: the notification's first block, no payload */
	uint8_t *body; /* body_max */
};

int ucoap_blk_init(struct ucoap_blk *b, const struct ucoap_ep_config *cfg)
{
	memset(b, 0, sizeof(*b));
	b->szx = (uint8_t)cfg->block_szx;
	b->body_max = cfg->max_body_size;
	b->srv = calloc(cfg->max_block_transfers, sizeof(*b->srv));
	b->cli = calloc(cfg->max_block_requests, sizeof(*b->cli));
	if (!b->srv || !b->cli)
		goto fail;
	b->nsrv = cfg->max_block_transfers;
	b->ncli = cfg->max_block_requests;
	for (uint32_t i = 0; i < b->nsrv; i++)
		if (!(b->srv[i].buf = malloc(b->body_max)))
			goto fail;
	for (uint32_t i = 0; i < b->ncli; i++) {
		b->cli[i].body = malloc(b->body_max);
		b->cli[i].req = malloc(cfg->max_message_size);
		b->cli[i].head = malloc(cfg->max_message_size);
		if (!b->cli[i].body || !b->cli[i].req || !b->cli[i].head)
			goto fail;
	}
	return 0;
fail:
	ucoap_blk_cleanup(b);
	return UCOAP_ERR_NOMEM;
}

void ucoap_blk_cleanup(struct ucoap_blk *b)
{
	for (uint32_t i = 0; b->srv && i < b->nsrv; i++)
		free(b->srv[i].buf);
	for (uint32_t i = 0; b->cli && i < b->ncli; i++) {
		free(b->cli[i].body);
		free(b->cli[i].req);
		free(b->cli[i].head);
	}
	free(b->srv);
	free(b->cli);
	memset(b, 0, sizeof(*b));
}

/* ---- the server role ---- */

static bool block_or_size(uint16_t num)
{
	return num == UCOAP_OPT_BLOCK1 || num == UCOAP_OPT_BLOCK2 ||
	       num == UCOAP_OPT_SIZE1 || num == UCOAP_OPT_SIZE2;
}

/*
 * §2.5: the blocks of one body are matched by the request's endpoint and
 * options, not its token (which may change). Two FNV-1a hashes with
 * different seeds make a 64-bit identity: a collision needs the same
 * peer as well, and would only mix two bodies of that one client.
 */
static uint64_t request_id(const struct ucoap_msg *m)
{
	uint32_t h1 = UCOAP_FNV_OFFSET, h2 = 0x9747b28cu;

	h1 = ucoap_fnv1a(h1, &m->code, 1);
	h2 = ucoap_fnv1a(h2, &m->code, 1);
	for (uint16_t i = 0; i < m->opt_count; i++) {
		const struct ucoap_opt *o = &m->opts[i];
		uint8_t hdr[6] = {
		    (uint8_t)(o->num >> 8),  (uint8_t)o->num,
		    (uint8_t)(o->len >> 24), (uint8_t)(o->len >> 16),
		    (uint8_t)(o->len >> 8),  (uint8_t)o->len};

		if (block_or_size(o->num))
			continue;
		h1 = ucoap_fnv1a(ucoap_fnv1a(h1, hdr, sizeof(hdr)),
				 ucoap_opt_value(o), o->len);
		h2 = ucoap_fnv1a(ucoap_fnv1a(h2, hdr, sizeof(hdr)),
				 ucoap_opt_value(o), o->len);
	}
	return (uint64_t)h1 << 32 | h2;
}

uint64_t ucoap_blk_request_id(const struct ucoap_msg *m)
{
	return request_id(m);
}

static struct ucoap_blk_srv *
srv_find_at(struct ucoap_ep *ep, const struct ucoap_addr_key *peer, uint64_t id)
{
	for (uint32_t i = 0; i < ep->blk.nsrv; i++) {
		struct ucoap_blk_srv *s = &ep->blk.srv[i];

		if (s->used && s->id == id && ucoap_addr_key_eq(&s->peer, peer))
			return s;
	}
	return NULL;
}

static struct ucoap_blk_srv *srv_alloc_at(struct ucoap_ep *ep,
					  const struct ucoap_addr_key *peer,
					  uint64_t id)
{
	for (uint32_t i = 0; i < ep->blk.nsrv; i++) {
		struct ucoap_blk_srv *s = &ep->blk.srv[i];

		if (!s->used) {
			s->used = true;
			s->answer = false;
			s->peer = *peer;
			s->id = id;
			s->len = 0;
			return s;
		}
	}
	return NULL;
}

/* The current request's slot (its peer), found or taken. */
static struct ucoap_blk_srv *srv_find(struct ucoap_ep *ep, uint64_t id)
{
	return srv_find_at(ep, &ep->cur.key, id);
}

static struct ucoap_blk_srv *srv_alloc(struct ucoap_ep *ep, uint64_t id)
{
	return srv_alloc_at(ep, &ep->cur.key, id);
}

/* An answer of the endpoint's own: @code with an optional uint option. */
static void answer(struct ucoap_ep *ep, uint8_t code, uint16_t opt,
		   uint32_t val)
{
	struct ucoap_msg r;

	ucoap_msg_init(&r, UCOAP_TYPE_ACK, code);
	if (opt)
		ucoap_msg_add_uint(&r, opt, val);
	ucoap_ep_respond(ep, &r);
}

static void too_large(struct ucoap_ep *ep, struct ucoap_blk_srv *s)
{
	if (s)
		s->used = false;
	/* §2.9.3, §4: Size1 in a 4.13 says how large a body may be. */
	answer(ep, UCOAP_REQUEST_ENTITY_TOO_LARGE, UCOAP_OPT_SIZE1,
	       ep->blk.body_max);
}

/* Serve a block of an answer kept from a Block1 request (§3.3). */
static void serve_stored(struct ucoap_ep *ep, struct ucoap_blk_srv *s)
{
	struct ucoap_msg r;

	ucoap_msg_init(&r, UCOAP_TYPE_ACK, s->code);
	if (s->etag_len)
		ucoap_msg_add_opt(&r, UCOAP_OPT_ETAG, s->etag, s->etag_len);
	if (s->cf != UCOAP_CF_NONE)
		ucoap_msg_add_uint(&r, UCOAP_OPT_CONTENT_FORMAT,
				   (uint32_t)s->cf);
	if (s->has_max_age) {
		/* §5.10.5: what is left of the freshness it was sent with */
		uint64_t left = s->stale_at > ep->cur.now
				    ? (s->stale_at - ep->cur.now + 999) / 1000
				    : 0;

		ucoap_msg_add_uint(&r, UCOAP_OPT_MAX_AGE, (uint32_t)left);
	}
	r.payload = s->len ? s->buf : NULL;
	r.payload_len = s->len;
	s->expires = ep->cur.now + ep->exchange_lifetime;
	ep->cur.blk.slot = s;
	ucoap_ep_respond(ep, &r);
}

enum ucoap_blk_in ucoap_blk_server_request(struct ucoap_ep *ep,
					   const struct ucoap_msg *m,
					   struct ucoap_msg *whole)
{
	struct ucoap_blk_cur *cur = &ep->cur.blk;
	struct ucoap_block b, b2;
	struct ucoap_blk_srv *s;
	uint32_t size1;
	size_t off, size;
	uint64_t id;
	int rc = ucoap_msg_get_block(m, UCOAP_OPT_BLOCK1, &b);

	if (rc == UCOAP_ERR_NOENT) {
		/* A later block of an answer we kept for a Block1 request. */
		if (ucoap_msg_get_block(m, UCOAP_OPT_BLOCK2, &b2) == 0 &&
		    b2.num > 0 && (s = srv_find(ep, request_id(m))) &&
		    s->answer) {
			serve_stored(ep, s);
			return UCOAP_BLK_ANSWERED;
		}
		return UCOAP_BLK_PASS;
	}
	if (rc < 0) {
		/* SZX 7 (§2.2): a malformed critical option, §5.4.1. */
		answer(ep, UCOAP_BAD_OPTION, 0, 0);
		return UCOAP_BLK_ANSWERED;
	}
	size = ucoap_block_size(b.szx);
	off = ucoap_block_offset(&b);
	/* §2.3: echo NUM and M; a smaller SZX asks for smaller blocks. */
	cur->b1 = b;
	if (cur->b1.szx > ep->blk.szx)
		cur->b1.szx = ep->blk.szx;
	id = request_id(m);
	s = srv_find(ep, id);
	if (ucoap_msg_get_size(m, UCOAP_OPT_SIZE1, &size1) == 0 &&
	    size1 > ep->blk.body_max) {
		too_large(ep, s);
		return UCOAP_BLK_ANSWERED;
	}
	/* §2.2: every block but the last fills the block size exactly. */
	if (b.more && m->payload_len != size) {
		answer(ep, UCOAP_BAD_REQUEST, 0, 0);
		return UCOAP_BLK_ANSWERED;
	}
	if (b.num == 0 && !b.more) {
		/* The whole body in one block: nothing to keep. */
		if (s)
			s->used = false;
		*whole = *m;
		ucoap_msg_del_opt(whole, UCOAP_OPT_BLOCK1);
		ucoap_msg_del_opt(whole, UCOAP_OPT_SIZE1);
		cur->echo = true;
		cur->slot = NULL;
		return UCOAP_BLK_WHOLE;
	}
	if (b.num == 0) {
		/* A first block (re)starts the body (§2.5). */
		if (!s)
			s = srv_alloc(ep, id);
		if (!s) {
			/* All slots busy: say when one frees up (§5.9.3.4). */
			uint64_t next = ucoap_blk_next_expiry(ep);
			uint64_t sec = next > ep->cur.now
					   ? (next - ep->cur.now + 999) / 1000
					   : 1;

			answer(ep, UCOAP_SERVICE_UNAVAILABLE, UCOAP_OPT_MAX_AGE,
			       (uint32_t)sec);
			return UCOAP_BLK_ANSWERED;
		}
		s->answer = false;
		s->len = 0;
	} else if (!s || s->answer) {
		/* §2.9.2: a later block without the first. */
		answer(ep, UCOAP_REQUEST_ENTITY_INCOMPLETE, 0, 0);
		return UCOAP_BLK_ANSWERED;
	}
	if (off != s->len) {
		/*
		 * The last block again (a client that re-sent it with a new
		 * message id after losing our 2.31): the same answer again.
		 * Anything else is out of sequence: §2.9.2, start over.
		 */
		if (b.more && off + m->payload_len == s->len) {
			cur->echo = true;
			answer(ep, UCOAP_CONTINUE, 0, 0);
			return UCOAP_BLK_ANSWERED;
		}
		s->used = false;
		answer(ep, UCOAP_REQUEST_ENTITY_INCOMPLETE, 0, 0);
		return UCOAP_BLK_ANSWERED;
	}
	if (m->payload_len > ep->blk.body_max - s->len) {
		too_large(ep, s);
		return UCOAP_BLK_ANSWERED;
	}
	if (m->payload_len)
		memcpy(s->buf + s->len, m->payload, m->payload_len);
	s->len += m->payload_len;
	s->expires = ep->cur.now + ep->exchange_lifetime;
	cur->echo = true;
	if (b.more) {
		answer(ep, UCOAP_CONTINUE, 0, 0);
		return UCOAP_BLK_ANSWERED;
	}
	*whole = *m;
	ucoap_msg_del_opt(whole, UCOAP_OPT_BLOCK1);
	ucoap_msg_del_opt(whole, UCOAP_OPT_SIZE1);
	whole->payload = s->len ? s->buf : NULL;
	whole->payload_len = s->len;
	cur->slot = s;
	return UCOAP_BLK_WHOLE;
}

void ucoap_blk_server_done(struct ucoap_ep *ep)
{
	struct ucoap_blk_srv *s = ep->cur.blk.slot;

	/* A slot now holding the answer stays for the Block2 requests. */
	if (s && !s->answer)
		s->used = false;
	ep->cur.blk.slot = NULL;
}

/* Keep a multi-block answer in @s for the Block2 requests to come. */
static void keep_answer(struct ucoap_ep *ep, struct ucoap_blk_srv *s,
			const struct ucoap_msg *resp, uint64_t now)
{
	const struct ucoap_opt *etag = ucoap_msg_find(resp, UCOAP_OPT_ETAG);
	uint32_t max_age = 0;

	if (!s || resp->payload_len > ep->blk.body_max)
		return;
	/* The answer may be (a view of) the body it replaces: memmove. */
	memmove(s->buf, resp->payload, resp->payload_len);
	s->len = resp->payload_len;
	s->answer = true;
	s->code = resp->code;
	s->cf = ucoap_msg_content_format(resp);
	s->etag_len = etag && etag->len <= sizeof(s->etag) ? etag->len : 0;
	if (s->etag_len)
		memcpy(s->etag, ucoap_opt_value(etag), s->etag_len);
	s->has_max_age =
	    ucoap_msg_get_uint(resp, UCOAP_OPT_MAX_AGE, &max_age) == 0;
	s->stale_at = now + (uint64_t)max_age * 1000;
	s->expires = now + ep->exchange_lifetime;
}

/*
 * Make @r (a copy of @resp, options and all) carry the block of @resp's
 * body that @want asks for, at @want's size or our smaller one (§2.4:
 * the block starts at @want's offset whatever size we pick), with Size2
 * for a first block of several or when @size2. The block shrinks until
 * the message fits max_message_size (checked by encoding into ep->tx).
 * *@b gets the block sent. A block past the end of the body makes @r a
 * 4.02 Bad Option (§2.2) and *@b NUM 0 without M.
 */
static int slice_answer(struct ucoap_ep *ep, const struct ucoap_msg *resp,
			const struct ucoap_block *want, bool size2,
			struct ucoap_msg *r, struct ucoap_block *b, size_t *len)
{
	size_t off, n, start = ucoap_block_offset(want);
	int rc;

	b->szx = want->szx < ep->blk.szx ? want->szx : ep->blk.szx;
	for (;;) {
		b->num = (uint32_t)(start >> (b->szx + 4));
		if (ucoap_block_slice(resp->payload_len, b, &off, &n,
				      &b->more) < 0) {
			ucoap_msg_init(r, UCOAP_TYPE_ACK, UCOAP_BAD_OPTION);
			r->type = resp->type;
			r->mid = resp->mid;
			r->token_len = resp->token_len;
			memcpy(r->token, resp->token, resp->token_len);
			*b = (struct ucoap_block){0, false, b->szx};
			return ucoap_msg_encode(r, ep->tx,
						ep->cfg.max_message_size, len);
		}
		ucoap_msg_del_opt(r, UCOAP_OPT_BLOCK2);
		ucoap_msg_del_opt(r, UCOAP_OPT_SIZE2);
		rc = ucoap_msg_add_block(r, UCOAP_OPT_BLOCK2, b);
		/* §4: Size2 with the first block, or when asked for. */
		if (rc == 0 && ((b->num == 0 && b->more) || size2))
			rc = ucoap_msg_add_size(r, UCOAP_OPT_SIZE2,
						(uint32_t)resp->payload_len);
		if (rc < 0)
			return rc;
		r->payload = n ? resp->payload + off : NULL;
		r->payload_len = n;
		rc = ucoap_msg_encode(r, ep->tx, ep->cfg.max_message_size, len);
		/* Options too long for a block this size: a smaller one. */
		if (rc != UCOAP_ERR_NOSPACE || b->szx == 0)
			return rc;
		b->szx--;
	}
}

/* Block2 carries a representation: a 2.xx body, not a 2.31's or an error's. */
static bool is_representation(uint8_t code)
{
	return UCOAP_CODE_CLASS(code) == 2 && code != UCOAP_CONTINUE;
}

int ucoap_blk_encode_answer(struct ucoap_ep *ep, const struct ucoap_msg *resp,
			    uint8_t *buf, size_t cap, size_t *len)
{
	const struct ucoap_msg *req = ep->cur.req;
	struct ucoap_blk_cur *cur = &ep->cur.blk;
	struct ucoap_block want = {0, false, ep->blk.szx}, b;
	bool asked = ucoap_msg_get_block(req, UCOAP_OPT_BLOCK2, &want) == 0;
	bool big = false;
	struct ucoap_msg r;
	int rc;

	if (!is_representation(resp->code))
		asked = false;
	else if (resp->payload_len > ucoap_block_size(ep->blk.szx))
		big = true;
	if (!asked && !big && !cur->echo)
		return ucoap_msg_encode(resp, buf, cap, len);
	r = *resp;
	if (cur->echo) {
		ucoap_msg_del_opt(&r, UCOAP_OPT_BLOCK1);
		rc = ucoap_msg_add_block(&r, UCOAP_OPT_BLOCK1, &cur->b1);
		if (rc < 0)
			return rc;
	}
	if (!asked && !big)
		return ucoap_msg_encode(&r, buf, cap, len);
	rc = slice_answer(ep, resp, &want,
			  ucoap_msg_find(req, UCOAP_OPT_SIZE2) != NULL, &r, &b,
			  len);
	if (rc < 0)
		return rc;
	if (buf != ep->tx) {
		if (*len > cap)
			return UCOAP_ERR_NOSPACE;
		memcpy(buf, ep->tx, *len);
	}
	/* A Block1 request's answer is kept for the blocks to come. */
	if (cur->slot) {
		if (b.more)
			keep_answer(ep, cur->slot, resp, ep->cur.now);
		else if (cur->slot->answer)
			cur->slot->used = false; /* its last block went out */
	}
	return 0;
}

void ucoap_blk_deferred_init(struct ucoap_ep *ep, struct ucoap_deferred *d)
{
	struct ucoap_block b;

	d->req_id = request_id(ep->cur.req);
	d->block2 = ucoap_msg_get_block(ep->cur.req, UCOAP_OPT_BLOCK2, &b) == 0;
	d->block2_num = d->block2 ? b.num : 0;
	d->block2_szx = d->block2 ? b.szx : 0;
	d->block1 = ep->cur.blk.echo;
	d->block1_num = d->block1 ? ep->cur.blk.b1.num : 0;
	d->block1_szx = d->block1 ? ep->cur.blk.b1.szx : 0;
}

int ucoap_blk_deferred_answer(struct ucoap_ep *ep,
			      const struct ucoap_deferred *d,
			      const struct ucoap_msg *resp,
			      struct ucoap_msg *out)
{
	struct ucoap_block want = {d->block2_num, false, d->block2_szx}, b;
	struct ucoap_addr_key key;
	struct ucoap_blk_srv *s;
	size_t len;
	int rc;

	*out = *resp;
	if (d->block1) {
		/* §2.3: the answer to the last block echoes its Block1. */
		struct ucoap_block b1 = {d->block1_num, false, d->block1_szx};

		ucoap_msg_del_opt(out, UCOAP_OPT_BLOCK1);
		rc = ucoap_msg_add_block(out, UCOAP_OPT_BLOCK1, &b1);
		if (rc < 0)
			return rc;
	}
	if (!is_representation(resp->code) ||
	    (!d->block2 && resp->payload_len <= ucoap_block_size(ep->blk.szx)))
		return 0;
	if (!d->block2)
		want = (struct ucoap_block){0, false, ep->blk.szx};
	if (want.szx > UCOAP_BLOCK_SZX_MAX || want.num > UCOAP_BLOCK_NUM_MAX)
		return UCOAP_ERR_INVAL;
	rc = slice_answer(ep, resp, &want, false, out, &b, &len);
	if (rc < 0 || !b.more)
		return rc;
	/*
	 * §2.6-like for a separate response: its request is gone, so the
	 * body is kept (one of max_block_transfers slots, keyed by the
	 * client and the request's method and options, §2.5) and the Block2
	 * requests that follow are answered from it without the handler.
	 * No slot free: the handler runs again for each of them.
	 */
	ucoap_addr_key(&d->peer, &key);
	s = srv_find_at(ep, &key, d->req_id);
	if (!s)
		s = srv_alloc_at(ep, &key, d->req_id);
	if (s) {
		keep_answer(ep, s, resp, ucoap_ep_now(ep));
		if (!s->answer)
			s->used = false; /* larger than max_body_size */
	}
	return 0;
}

/* ---- the client role ---- */

static void cli_on_response(struct ucoap_ep *ep, int status,
			    const struct ucoap_msg *resp,
			    const struct ucoap_addr *from, void *user);

static struct ucoap_blk_cli *cli_alloc(struct ucoap_ep *ep)
{
	for (uint32_t i = 0; i < ep->blk.ncli; i++) {
		struct ucoap_blk_cli *t = &ep->blk.cli[i];

		if (!t->used) {
			uint8_t *req = t->req, *head = t->head, *body = t->body;

			memset(t, 0, sizeof(*t));
			t->req = req;
			t->head = head;
			t->body = body;
			t->used = true;
			return t;
		}
	}
	return NULL;
}

/*
 * A client transfer for a body of @len bytes: *@out gets a free slot.
 * Returns 0, UCOAP_ERR_NOSPACE, _STATE (closing, no socket) or _FULL.
 */
static int cli_start(struct ucoap_ep *ep, size_t len,
		     struct ucoap_blk_cli **out)
{
	if (len > ep->blk.body_max)
		return UCOAP_ERR_NOSPACE;
	if (ep->closing || !ep->has_sock)
		return UCOAP_ERR_STATE;
	*out = cli_alloc(ep);
	return *out ? 0 : UCOAP_ERR_FULL;
}

/* The request carries its body in every Block2 request only if safe. */
static bool body_identifies(uint8_t code)
{
	return code == UCOAP_GET || code == UCOAP_FETCH;
}

/* Send the transfer's next request: a Block1 block or a Block2 request. */
static int cli_send(struct ucoap_ep *ep, struct ucoap_blk_cli *t)
{
	struct req_opts o = {.timeout_ms = t->timeout_ms,
			     .cb = cli_on_response,
			     .user = t,
			     .fill_token = t->token_len == 0};
	struct ucoap_msg m;
	int rc = ucoap_msg_decode(&m, t->req, t->req_len);

	if (rc < 0)
		return rc;
	ucoap_msg_del_opt(&m, UCOAP_OPT_BLOCK1);
	ucoap_msg_del_opt(&m, UCOAP_OPT_BLOCK2);
	ucoap_msg_del_opt(&m, UCOAP_OPT_SIZE1);
	ucoap_msg_del_opt(&m, UCOAP_OPT_SIZE2);
	if (t->b1) {
		struct ucoap_block b = {
		    (uint32_t)(t->sent_off >> (t->szx1 + 4)), false, t->szx1};
		size_t off;

		if (ucoap_block_slice(t->body_len, &b, &off, &t->sent_n,
				      &b.more) < 0)
			return UCOAP_ERR_INVAL;
		t->sent_more = b.more;
		rc = ucoap_msg_add_block(&m, UCOAP_OPT_BLOCK1, &b);
		/* §4: Size1 with the first block tells the server the total. */
		if (rc == 0 && b.num == 0)
			rc = ucoap_msg_add_size(&m, UCOAP_OPT_SIZE1,
						(uint32_t)t->body_len);
		m.payload = t->sent_n ? t->body + off : NULL;
		m.payload_len = t->sent_n;
	} else {
		struct ucoap_block b = {
		    (uint32_t)(t->body_len >> (t->szx2 + 4)), false, t->szx2};

		rc = ucoap_msg_add_block(&m, UCOAP_OPT_BLOCK2, &b);
		if (!body_identifies(m.code)) {
			m.payload = NULL;
			m.payload_len = 0;
		}
	}
	if (rc < 0)
		return rc;
	m.token_len = t->token_len;
	memcpy(m.token, t->token, t->token_len);
	rc = ucoap_ep_start_exchange(ep, &t->peer, &m, &o, &t->cur_mid);
	/* A token filled in by the first block is kept for the others. */
	if (rc == 0 && o.fill_token) {
		t->token_len = m.token_len;
		memcpy(t->token, m.token, m.token_len);
	}
	return rc;
}

/* The transfer ends: the caller's callback, exactly once. */
static void cli_finish(struct ucoap_ep *ep, struct ucoap_blk_cli *t, int status,
		       const struct ucoap_msg *resp,
		       const struct ucoap_addr *from)
{
	ucoap_response_cb cb = t->cb;
	void *user = t->user;

	if (!cb && t->default_cb) {
		cb = ep->resp_cb;
		user = ep->resp_user;
	}
	/* The body stays valid (and the slot taken) until cb returns. */
	t->done = true;
	if (cb)
		cb(ep, status, status == 0 ? resp : NULL,
		   status == 0 ? from : NULL, user);
	t->used = false;
}

/* A response carrying (or not) Block2: append it, ask for more or end. */
static void cli_block2(struct ucoap_ep *ep, struct ucoap_blk_cli *t,
		       const struct ucoap_msg *resp,
		       const struct ucoap_addr *from)
{
	const struct ucoap_opt *etag = ucoap_msg_find(resp, UCOAP_OPT_ETAG);
	struct ucoap_msg whole;
	struct ucoap_block b;
	int rc;

	/* No Block2 (an error, or a server that sent it whole): as is. */
	if (ucoap_msg_get_block(resp, UCOAP_OPT_BLOCK2, &b) < 0) {
		/* Not the rest of a notification's body, though. */
		if (t->follow && is_representation(resp->code))
			cli_finish(ep, t, UCOAP_ERR_INVAL, NULL, NULL);
		else
			cli_finish(ep, t, 0, resp, from);
		return;
	}
	/* §2.4: the block must continue what we have, at any size. */
	if (ucoap_block_offset(&b) != t->body_len ||
	    (b.more && resp->payload_len != ucoap_block_size(b.szx))) {
		cli_finish(ep, t, UCOAP_ERR_INVAL, NULL, NULL);
		return;
	}
	/* §2.4: blocks of another representation (ETag changed). */
	if (t->body_len == 0) {
		t->has_etag = etag && etag->len <= sizeof(t->etag);
		if (t->has_etag) {
			t->etag_len = (uint8_t)etag->len;
			memcpy(t->etag, ucoap_opt_value(etag), etag->len);
		}
	} else if (t->has_etag &&
		   (!etag || etag->len != t->etag_len ||
		    memcmp(ucoap_opt_value(etag), t->etag, t->etag_len) != 0)) {
		/*
		 * A notification's representation changed under us: the
		 * server notifies the new one (RFC 7641 §4.2), which starts a
		 * transfer of its own; this one is dropped.
		 */
		cli_finish(ep, t, t->follow ? UCOAP_ERR_AGAIN : UCOAP_ERR_INVAL,
			   NULL, NULL);
		return;
	}
	if (resp->payload_len > ep->blk.body_max - t->body_len) {
		cli_finish(ep, t, UCOAP_ERR_NOSPACE, NULL, NULL);
		return;
	}
	if (resp->payload_len)
		memcpy(t->body + t->body_len, resp->payload, resp->payload_len);
	t->body_len += resp->payload_len;
	if (b.more) {
		t->szx2 = b.szx;
		rc = cli_send(ep, t);
		if (rc < 0)
			cli_finish(ep, t, rc, NULL, NULL);
		return;
	}
	/* A notification keeps its first block's header and options. */
	if (!t->follow)
		whole = *resp;
	else if (ucoap_msg_decode(&whole, t->head, t->head_len) < 0) {
		cli_finish(ep, t, UCOAP_ERR_INVAL, NULL, NULL);
		return;
	}
	ucoap_msg_del_opt(&whole, UCOAP_OPT_BLOCK2);
	whole.payload = t->body_len ? t->body : NULL;
	whole.payload_len = t->body_len;
	cli_finish(ep, t, 0, &whole, from);
}

static void cli_on_response(struct ucoap_ep *ep, int status,
			    const struct ucoap_msg *resp,
			    const struct ucoap_addr *from, void *user)
{
	struct ucoap_blk_cli *t = user;
	struct ucoap_block b;
	int rc;

	if (status < 0) {
		cli_finish(ep, t, status, NULL, NULL);
		return;
	}
	if (!t->b1) {
		cli_block2(ep, t, resp, from);
		return;
	}
	if (resp->code == UCOAP_CONTINUE && t->sent_more) {
		/* §2.3: a smaller SZX in the 2.31 is the size to go on with. */
		if (ucoap_msg_get_block(resp, UCOAP_OPT_BLOCK1, &b) == 0 &&
		    b.szx < t->szx1)
			t->szx1 = b.szx;
		t->sent_off += t->sent_n;
		rc = cli_send(ep, t);
		if (rc < 0)
			cli_finish(ep, t, rc, NULL, NULL);
		return;
	}
	/* The final answer; §3.3: it may start a Block2 transfer. */
	t->b1 = false;
	if (ucoap_msg_get_block(resp, UCOAP_OPT_BLOCK2, &b) == 0 && b.more &&
	    b.num == 0) {
		t->body_len = 0;
		cli_block2(ep, t, resp, from);
		return;
	}
	cli_finish(ep, t, 0, resp, from);
}

/*
 * Encode @m without its payload (it is dropped from @m) into @buf
 * (max_message_size): the header and options a transfer keeps to build
 * its blocks from.
 */
static int encode_bare(const struct ucoap_ep *ep, struct ucoap_msg *m,
		       uint8_t *buf, size_t *len)
{
	m->payload = NULL;
	m->payload_len = 0;
	return ucoap_msg_encode(m, buf, ep->cfg.max_message_size, len);
}

/* The largest SZX up to @szx whose block fits beside @hdr bytes. */
static uint8_t fit_szx(const struct ucoap_ep *ep, uint8_t szx, size_t hdr)
{
	/* Block1 (3), Size1 (5), the payload marker (1): 9 more at most. */
	while (szx > 0 &&
	       hdr + 9 + ucoap_block_size(szx) > ep->cfg.max_message_size)
		szx--;
	return szx;
}

bool ucoap_blk_client_wants(const struct ucoap_ep *ep,
			    const struct ucoap_msg *req)
{
	return req->payload_len > ucoap_block_size(ep->blk.szx) ||
	       ucoap_msg_find(req, UCOAP_OPT_BLOCK1) != NULL;
}

int ucoap_blk_client_request(struct ucoap_ep *ep, const struct ucoap_addr *to,
			     struct ucoap_msg *req, uint32_t timeout_ms,
			     ucoap_response_cb cb, void *user,
			     uint16_t *mid_out)
{
	struct ucoap_blk_cli *t;
	struct ucoap_block b = {0, false, ep->blk.szx};
	struct ucoap_msg head;
	int rc;

	if (!to || (req->type != UCOAP_TYPE_CON && req->type != UCOAP_TYPE_NON))
		return UCOAP_ERR_INVAL;
	if (ucoap_msg_find(req, UCOAP_OPT_BLOCK1) &&
	    ucoap_msg_get_block(req, UCOAP_OPT_BLOCK1, &b) < 0)
		return UCOAP_ERR_INVAL;
	rc = cli_start(ep, req->payload_len, &t);
	if (rc < 0)
		return rc;
	/* The request's options, kept encoded: @req is not ours to keep. */
	head = *req;
	ucoap_msg_del_opt(&head, UCOAP_OPT_BLOCK1);
	ucoap_msg_del_opt(&head, UCOAP_OPT_SIZE1);
	rc = encode_bare(ep, &head, t->req, &t->req_len);
	if (rc < 0)
		goto fail;
	t->szx1 =
	    fit_szx(ep, b.szx < ep->blk.szx ? b.szx : ep->blk.szx, t->req_len);
	t->szx2 = ep->blk.szx;
	t->b1 = true;
	t->peer = *to;
	t->cb = cb;
	t->user = user;
	t->default_cb = cb == NULL;
	t->timeout_ms = timeout_ms;
	t->body_len = req->payload_len;
	if (req->payload_len)
		memcpy(t->body, req->payload, req->payload_len);
	t->token_len = req->token_len;
	memcpy(t->token, req->token, req->token_len);
	rc = cli_send(ep, t);
	if (rc < 0)
		goto fail;
	/* ucoap_ep_request() writes a token it filled in back into @req. */
	req->token_len = t->token_len;
	memcpy(req->token, t->token, t->token_len);
	t->orig_mid = t->cur_mid;
	if (mid_out)
		*mid_out = t->orig_mid;
	return 0;
fail:
	t->used = false;
	return rc;
}

bool ucoap_blk_client_takeover(struct ucoap_ep *ep, struct ucoap_exchange *x,
			       const struct ucoap_msg *m,
			       const struct ucoap_addr *from)
{
	struct ucoap_blk_cli *t;
	struct ucoap_block b;
	uint32_t v;

	/*
	 * Only a plain request's first block: our own transfers go through
	 * cli_on_response, and a notification's blocks (RFC 7959 §3.4), or
	 * any answer to an observation's request, are the observation's
	 * business (it fetches without Observe, on a token of its own).
	 */
	if (x->cb == cli_on_response || x->ack_completes || x->own_blocks ||
	    ucoap_msg_get_uint(m, UCOAP_OPT_OBSERVE, &v) == 0 ||
	    ucoap_msg_get_block(m, UCOAP_OPT_BLOCK2, &b) < 0 || !b.more ||
	    b.num != 0 || x->len > ep->cfg.max_message_size)
		return false;
	t = cli_alloc(ep);
	if (!t)
		return false; /* the caller gets the first block as it is */
	memcpy(t->req, ucoap_extable_buf(&ep->ex, x), x->len);
	t->req_len = x->len;
	t->peer = x->peer;
	t->cb = x->cb;
	t->user = x->user;
	t->default_cb = x->default_cb;
	t->token_len = x->token_len;
	memcpy(t->token, x->token, x->token_len);
	t->orig_mid = t->cur_mid = x->mid;
	ucoap_extable_release(&ep->ex, x);
	cli_block2(ep, t, m, from);
	return true;
}

int ucoap_blk_client_follow(struct ucoap_ep *ep, const struct ucoap_addr *peer,
			    const uint8_t *req, size_t req_len,
			    const uint8_t *token, uint8_t token_len,
			    const struct ucoap_msg *first, ucoap_response_cb cb,
			    void *user, struct ucoap_blk_cli **out)
{
	const struct ucoap_opt *etag = ucoap_msg_find(first, UCOAP_OPT_ETAG);
	struct ucoap_blk_cli *t;
	struct ucoap_msg m;
	struct ucoap_block b;
	int rc;

	if (ucoap_msg_get_block(first, UCOAP_OPT_BLOCK2, &b) < 0 ||
	    b.num != 0 || !b.more ||
	    first->payload_len != ucoap_block_size(b.szx) ||
	    token_len > UCOAP_TOKEN_MAX)
		return UCOAP_ERR_INVAL;
	rc = cli_start(ep, first->payload_len, &t);
	if (rc < 0)
		return rc;
	/* §2.6: the rest is fetched with plain GETs, without Observe. */
	rc = ucoap_msg_decode(&m, req, req_len);
	if (rc < 0)
		goto fail;
	ucoap_msg_del_opt(&m, UCOAP_OPT_OBSERVE);
	rc = encode_bare(ep, &m, t->req, &t->req_len);
	if (rc < 0)
		goto fail;
	/* The header and options the whole notification is delivered with. */
	m = *first;
	rc = encode_bare(ep, &m, t->head, &t->head_len);
	if (rc < 0)
		goto fail;
	t->follow = true;
	t->peer = *peer;
	t->cb = cb;
	t->user = user;
	t->szx2 = b.szx;
	t->token_len = token_len;
	memcpy(t->token, token, token_len);
	/* §2.4: every block must carry the first one's ETag. */
	t->has_etag = etag && etag->len <= sizeof(t->etag);
	if (t->has_etag) {
		t->etag_len = (uint8_t)etag->len;
		memcpy(t->etag, ucoap_opt_value(etag), etag->len);
	}
	memcpy(t->body, first->payload, first->payload_len);
	t->body_len = first->payload_len;
	rc = cli_send(ep, t);
	if (rc < 0)
		goto fail;
	*out = t;
	return 0;
fail:
	t->used = false;
	return rc;
}

void ucoap_blk_client_abort(struct ucoap_ep *ep, struct ucoap_blk_cli *t)
{
	struct ucoap_addr_key key;
	struct ucoap_exchange *x;

	if (!t || !t->used || t->done)
		return;
	ucoap_addr_key(&t->peer, &key);
	x = ucoap_extable_by_mid(&ep->ex, &key, t->cur_mid);
	if (x && x->cb == cli_on_response && x->user == t)
		ucoap_extable_release(&ep->ex, x);
	t->used = false;
}

uint16_t ucoap_blk_client_mid(const struct ucoap_ep *ep, uint16_t mid)
{
	for (uint32_t i = 0; i < ep->blk.ncli; i++) {
		const struct ucoap_blk_cli *t = &ep->blk.cli[i];

		if (t->used && !t->done && !t->follow && t->orig_mid == mid)
			return t->cur_mid;
	}
	return mid;
}

/* ---- timers ---- */

void ucoap_blk_tick(struct ucoap_ep *ep, uint64_t now)
{
	/* §2.5: an abandoned body is given up after EXCHANGE_LIFETIME. */
	for (uint32_t i = 0; i < ep->blk.nsrv; i++)
		if (ep->blk.srv[i].used && ep->blk.srv[i].expires <= now &&
		    ep->cur.blk.slot != &ep->blk.srv[i])
			ep->blk.srv[i].used = false;
}

uint64_t ucoap_blk_next_expiry(const struct ucoap_ep *ep)
{
	uint64_t next = UINT64_MAX;

	for (uint32_t i = 0; i < ep->blk.nsrv; i++)
		if (ep->blk.srv[i].used && ep->blk.srv[i].expires < next)
			next = ep->blk.srv[i].expires;
	return next;
}
