/*
 * Internal: block-wise transfers (RFC 7959) in both roles, hooked into the
 * endpoint at a few points.
 *
 * Server role, Block2: stateless. The handler answers with the whole
 * representation through ucoap_ep_respond(); the endpoint sends the block
 * the request asked for (or block 0 with M=1 and Size2 when the body
 * exceeds a block and the request had no Block2). Every block request
 * runs the handler again, which must produce the same representation (an
 * ETag lets the client check). Nothing is kept between blocks -- except
 * for a separate response (ucoap_ep_respond_deferred()), whose request is
 * gone by then: its body is kept in a server slot (below) as a Block1
 * request's answer is.
 *
 * Server role, Block1: a fixed pool of max_block_transfers slots, each with
 * a max_body_size buffer allocated once, reassembles request bodies keyed
 * by (peer, method, every option but Block1/Block2/Size1/Size2) -- §2.5:
 * the token may change between blocks. The handler runs once, with the
 * whole body. When its answer needs more than one block, the answer is
 * kept in the slot so that the Block2 requests that follow (without a
 * body, §3.3) are served from it. A slot untouched for EXCHANGE_LIFETIME
 * is freed.
 *
 * Client role: a fixed pool of max_block_requests slots, each holding the
 * encoded request and a max_body_size body buffer. A request body larger
 * than a block is sent block by block (Block1, waiting for 2.31 each
 * time); a response with Block2 M=1 is followed by requests for the next
 * blocks (same options and token, new message ids); the caller's callback
 * runs once with the whole body. The same slots fetch the rest of an
 * observation's notification (RFC 7959 §2.6, observe.c): GETs without
 * Observe on a token of their own, the whole delivered with the first
 * block's options.
 */
#ifndef UCOAP_BLOCKWISE_H
#define UCOAP_BLOCKWISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ucoap/block.h>
#include <ucoap/endpoint.h>

#include "addr.h"

struct ucoap_exchange;

struct ucoap_blk_srv; /* block.c */
struct ucoap_blk_cli; /* block.c */

struct ucoap_blk {
	uint8_t szx; /* our preferred block size (config block_szx) */
	uint32_t body_max;
	struct ucoap_blk_srv *srv;
	uint32_t nsrv;
	struct ucoap_blk_cli *cli;
	uint32_t ncli;
};

/* The current request's Block1 state (kept in struct handling). */
struct ucoap_blk_cur {
	bool echo;                  /* echo Block1 in the answer (§2.3) */
	struct ucoap_block b1;      /* what to echo */
	struct ucoap_blk_srv *slot; /* the reassembled body's slot, or NULL */
};

int ucoap_blk_init(struct ucoap_blk *b, const struct ucoap_ep_config *cfg);
void ucoap_blk_cleanup(struct ucoap_blk *b);

/* What ucoap_blk_server_request() did with a request. */
enum ucoap_blk_in {
	UCOAP_BLK_PASS,     /* not block-wise: dispatch it as it is */
	UCOAP_BLK_ANSWERED, /* answered (2.31, 4.08, 4.13, a stored block) */
	UCOAP_BLK_WHOLE,    /* the last block: dispatch *@whole instead */
};

/*
 * Server role, before dispatch: Block1 reassembly and stored Block2
 * answers. With UCOAP_BLK_WHOLE, @whole is @m with the body reassembled
 * (valid until ucoap_blk_server_done()).
 */
enum ucoap_blk_in ucoap_blk_server_request(struct ucoap_ep *ep,
					   const struct ucoap_msg *m,
					   struct ucoap_msg *whole);
/* After the handler of a UCOAP_BLK_WHOLE request: free its slot. */
void ucoap_blk_server_done(struct ucoap_ep *ep);
/*
 * Encode the current request's answer @resp into @buf, block-wise when
 * needed (Block2 slicing, Block1 echo); may answer 4.02 Bad Option
 * instead for a block past the end. Returns as ucoap_msg_encode().
 */
int ucoap_blk_encode_answer(struct ucoap_ep *ep, const struct ucoap_msg *resp,
			    uint8_t *buf, size_t cap, size_t *len);

/* The identity of request @m for its blocks: method and options (§2.5). */
uint64_t ucoap_blk_request_id(const struct ucoap_msg *m);
/* ucoap_ep_defer(): note the current request's identity and Block2 in @d. */
void ucoap_blk_deferred_init(struct ucoap_ep *ep, struct ucoap_deferred *d);
/*
 * The separate response @resp for @d as it goes out: *@out is @resp, or
 * the block of it that @d's request asked for (block 0 with M=1 and Size2
 * when it is larger than a block), its whole body then kept for the Block2
 * requests that follow. @out's views point into @resp. Returns 0 or as
 * ucoap_msg_encode().
 */
int ucoap_blk_deferred_answer(struct ucoap_ep *ep,
			      const struct ucoap_deferred *d,
			      const struct ucoap_msg *resp,
			      struct ucoap_msg *out);

/* Client role: should ucoap_ep_request() hand @req to us? */
bool ucoap_blk_client_wants(const struct ucoap_ep *ep,
			    const struct ucoap_msg *req);
/* Client role: send @req block-wise. Returns as ucoap_ep_request(). */
int ucoap_blk_client_request(struct ucoap_ep *ep, const struct ucoap_addr *to,
			     struct ucoap_msg *req, uint32_t timeout_ms,
			     ucoap_response_cb cb, void *user,
			     uint16_t *mid_out);
/*
 * Client role, from complete() before @x is released: @m answers a plain
 * request with Block2 M=1: take it over and fetch the rest. Returns true
 * when taken (@x is then released here and its callback must not run).
 */
bool ucoap_blk_client_takeover(struct ucoap_ep *ep, struct ucoap_exchange *x,
			       const struct ucoap_msg *m,
			       const struct ucoap_addr *from);
/*
 * Client role, RFC 7959 §2.6: @first (from @from) is block 0 of a
 * notification, Block2 M=1, for the observation whose request @req
 * (encoded, @req_len bytes) went to @peer. Fetch the rest with GETs of
 * @req without Observe, carrying Block2 NUM=1.. and the token @token
 * (not the observation's: a GET on it without Observe would end the
 * registration, RFC 7641 §3.6), then call @cb once: status 0 with the
 * whole notification (@first's header and options, Size2 kept, Block2
 * removed, the whole body); status 0 with a response that is not a block
 * of it (e.g. 4.04); UCOAP_ERR_AGAIN when its ETag changed on the way (a
 * newer representation, whose notification comes, RFC 7641 §4.2); or
 * UCOAP_ERR_TIMEOUT, _RST, _INVAL (blocks that do not fit), _NOSPACE
 * (above max_body_size). *@out gets the transfer for
 * ucoap_blk_client_abort(). Returns 0, UCOAP_ERR_FULL (no slot or no
 * exchange free), UCOAP_ERR_NOSPACE or UCOAP_ERR_INVAL (@first cannot
 * start one); @cb is not called then.
 */
int ucoap_blk_client_follow(struct ucoap_ep *ep, const struct ucoap_addr *peer,
			    const uint8_t *req, size_t req_len,
			    const uint8_t *token, uint8_t token_len,
			    const struct ucoap_msg *first, ucoap_response_cb cb,
			    void *user, struct ucoap_blk_cli **out);
/* Stop the follow-up transfer @t silently (superseded or ended). */
void ucoap_blk_client_abort(struct ucoap_ep *ep, struct ucoap_blk_cli *t);

/* The message id now carrying the transfer that started as @mid. */
uint16_t ucoap_blk_client_mid(const struct ucoap_ep *ep, uint16_t mid);

/* Free abandoned server slots; the earliest expiry (UINT64_MAX: none). */
void ucoap_blk_tick(struct ucoap_ep *ep, uint64_t now);
uint64_t ucoap_blk_next_expiry(const struct ucoap_ep *ep);

#endif
