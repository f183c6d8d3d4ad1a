/*
 * ucoap: a CoAP endpoint (RFC 7252 §4, §5): the message layer and the
 * request/response layer, in the client and the server role at once.
 *
 * The API follows microCoAPy (start, stop, response callback, custom
 * socket, per-URL request callbacks, send/get/put/post returning the
 * message id, loop, poll) and adds what a Linux daemon needs: the socket's
 * fd, the time until the next timer, a process-once call, per-request
 * completion callbacks and deferred (separate) responses.
 *
 * Single-threaded: every call, and every callback, runs in the thread that
 * drives the endpoint. Callbacks run from inside ucoap_ep_process(),
 * ucoap_ep_loop(), ucoap_ep_poll() or ucoap_ep_tick() and may call any
 * function of this header except ucoap_ep_free().
 *
 * Memory: every table is sized once in ucoap_ep_new() from the config;
 * after that, receiving, answering and sending allocate nothing.
 */
#ifndef UCOAP_ENDPOINT_H
#define UCOAP_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <ucoap/msg.h>

#define UCOAP_DEFAULT_PORT 5683

/* Transmission parameters, RFC 7252 §4.8. */
#define UCOAP_ACK_TIMEOUT_MS    2000
#define UCOAP_ACK_RANDOM_FACTOR 1.5
#define UCOAP_MAX_RETRANSMIT    4
#define UCOAP_NSTART            1
/* Derived times, RFC 7252 §4.8.2, for the default parameters. */
#define UCOAP_EXCHANGE_LIFETIME_MS 247000
#define UCOAP_NON_LIFETIME_MS      145000

/* A peer's transport address: plain data, copy it freely. */
struct ucoap_addr {
	socklen_t len;
	struct sockaddr_storage ss;
};

/*
 * Parse @host (IPv4 or IPv6 literal, no brackets, no name lookup) and
 * @port into @a. Returns 0 or UCOAP_ERR_INVAL.
 */
int ucoap_addr_set(struct ucoap_addr *a, const char *host, uint16_t port);
/*
 * Parse "ADDR:PORT", "[V6]:PORT", "ADDR" or "[V6]" (port defaults to
 * @default_port). Returns 0 or UCOAP_ERR_INVAL.
 */
int ucoap_addr_parse(struct ucoap_addr *a, const char *text,
		     uint16_t default_port);
/*
 * "192.0.2.1:5683" or "[2001:db8::1]:5683" (IPv4-mapped IPv6 addresses are
 * printed as IPv4) into @buf. Returns the length or UCOAP_ERR_NOSPACE.
 * UCOAP_ADDR_STRLEN is always enough.
 */
#define UCOAP_ADDR_STRLEN 56
int ucoap_addr_str(const struct ucoap_addr *a, char *buf, size_t cap);
/* The host part alone ("192.0.2.1", "2001:db8::1"), same rules. */
int ucoap_addr_host_str(const struct ucoap_addr *a, char *buf, size_t cap);
uint16_t ucoap_addr_port(const struct ucoap_addr *a);
/* Same host and port; an IPv4-mapped IPv6 address equals its IPv4 form. */
bool ucoap_addr_equal(const struct ucoap_addr *a, const struct ucoap_addr *b);
/* Same host, any port. */
bool ucoap_addr_same_host(const struct ucoap_addr *a,
			  const struct ucoap_addr *b);

/*
 * The custom socket (microCoAPy's setCustomSocket): anything that can send
 * and receive datagrams. @user is passed back to every call.
 * - sendto: send @len bytes to @to; return 0 or a negative errno.
 * - recvfrom: receive one datagram into @buf (@cap bytes); return its full
 *   length (it may exceed @cap when truncated), -EAGAIN when none is
 *   waiting in non-blocking mode, or another negative errno.
 * - setblocking: make recvfrom block (true) or not; return 0 or -errno.
 * - fd: optional (may be NULL): a pollable descriptor, or -1.
 * - close: optional: called by ucoap_ep_stop() and ucoap_ep_free().
 * - batch: optional: ucoap_ep_process() calls batch(user, true) before it
 *   drains the socket and batch(user, false) after; in between, sendto may
 *   hold datagrams and send them all at the end (the default socket does,
 *   with one sendmmsg(2)), and report 0 for them. batch(user, false)
 *   returns how many received datagrams the socket still holds (read from
 *   the kernel but not yet returned by recvfrom): while any are held,
 *   ucoap_ep_next_timeout() says 0, as the fd will not show them.
 */
struct ucoap_socket_ops {
	int (*sendto)(void *user, const void *buf, size_t len,
		      const struct ucoap_addr *to);
	ssize_t (*recvfrom)(void *user, void *buf, size_t cap,
			    struct ucoap_addr *from);
	int (*setblocking)(void *user, bool blocking);
	int (*fd)(void *user);
	void (*close)(void *user);
	int (*batch)(void *user, bool on);
};

/*
 * Hooks for time and randomness (replaced by tests). The defaults read
 * CLOCK_MONOTONIC and getrandom(2).
 * - now_ms: milliseconds on a monotonic clock.
 * - random: fill @buf with @len random bytes; return 0 or -errno.
 */
struct ucoap_env_ops {
	uint64_t (*now_ms)(void *user);
	int (*random)(void *user, void *buf, size_t len);
};

#define UCOAP_MAX_EXCHANGES 65534u

struct ucoap_ep_config {
	uint32_t ack_timeout_ms;  /* ACK_TIMEOUT, default 2000 */
	double ack_random_factor; /* ACK_RANDOM_FACTOR, default 1.5, >= 1 */
	uint32_t max_retransmit;  /* MAX_RETRANSMIT, default 4 */
	/*
	 * Requests of ours awaiting an answer. A send while all are in use
	 * fails (returns 0 / UCOAP_ERR_FULL). Default 64, at most
	 * UCOAP_MAX_EXCHANGES: fewer than the 65535 non-zero message ids, so
	 * a fresh one is always free even when all go to one peer.
	 */
	uint32_t max_exchanges;
	/*
	 * Duplicate detection cache (§4.5): answered CON/NON requests
	 * remembered for EXCHANGE_LIFETIME / NON_LIFETIME, with the encoded
	 * answer to a CON.
	 * @dedup_entries bounds the requests, @dedup_bytes the answers' bytes.
	 * When full of unexpired entries, a new CON is answered 5.03 with
	 * Max-Age (the cache never forgets an answer early) and a new NON is
	 * processed without being remembered. Defaults 4096 and 256 KiB.
	 */
	uint32_t dedup_entries;
	uint32_t dedup_bytes;
	/*
	 * What a full cache does with a new CON. false (the default, strict
	 * §4.5): refuse it with 5.03 as above, never forgetting an answer
	 * early. true: forget the oldest answers to make room and serve it, so
	 * a request rate above dedup_entries / 247 s is served rather than
	 * refused; a retransmission whose answer was forgotten is handled
	 * again (RFC 7252 §4.5 allows this for idempotent requests). Counted
	 * in stats.dedup_forgotten.
	 */
	bool dedup_forget_oldest;
	/*
	 * Largest datagram accepted and sent. A larger request gets 4.13 with
	 * Size1 (CON: piggybacked, NON: NON); anything else larger is dropped.
	 * Default 1152 (RFC 7252 §4.6).
	 */
	uint32_t max_message_size;
	/*
	 * Default time a request of ours may wait for its answer, separate
	 * responses included; 0 means EXCHANGE_LIFETIME for CON and
	 * NON_LIFETIME for NON. Default 0.
	 */
	uint32_t request_timeout_ms;
	/*
	 * Observe (RFC 7641), server role: observers of our resources, one
	 * per (client, token). A registration while all are in use is
	 * declined: the client gets the plain response, without Observe
	 * (§4.1). 0 declines every registration. Default 64.
	 */
	uint32_t max_observers;
	/*
	 * Observe, client role: our open observations (ucoap_ep_observe()).
	 * Default 16.
	 */
	uint32_t max_observations;
	/*
	 * Block-wise transfer (RFC 7959). The largest body the endpoint
	 * reassembles or keeps: a Block1 request body (larger: 4.13 with
	 * Size1), a Block2 response body we fetch (larger: the callback gets
	 * UCOAP_ERR_NOSPACE), a request body we send. 16..16 MiB, default
	 * 16 KiB.
	 */
	uint32_t max_body_size;
	/*
	 * Server role: Block1 bodies being received at once (and answers to
	 * them kept for their Block2 requests), each with a max_body_size
	 * buffer allocated in ucoap_ep_new(). A first block while all are
	 * busy gets 5.03 with Max-Age. 1..1024, default 8.
	 */
	uint32_t max_block_transfers;
	/*
	 * Client role: our block-wise requests at once, each with a
	 * max_body_size buffer. 1..1024, default 4.
	 */
	uint32_t max_block_requests;
	/*
	 * The largest block we send and ask for: 2^(block_szx + 4) bytes,
	 * 0 (16 bytes) to 6 (1024, the default). A smaller one asked for by
	 * the peer wins (§2.4); blocks also shrink to fit max_message_size.
	 */
	uint32_t block_szx;
};

/* Fill @cfg with the defaults above. */
void ucoap_ep_config_init(struct ucoap_ep_config *cfg);

struct ucoap_ep;

/*
 * Create an endpoint with @cfg (copied; NULL for the defaults) and @env
 * (copied; NULL for the defaults, @env_user passed to its hooks).
 * Returns NULL on out-of-memory or an invalid config.
 */
struct ucoap_ep *ucoap_ep_new(const struct ucoap_ep_config *cfg,
			      const struct ucoap_env_ops *env, void *env_user);
/*
 * Stop the endpoint, complete every open request with
 * UCOAP_ERR_CANCELLED, and free it. NULL is a no-op.
 */
void ucoap_ep_free(struct ucoap_ep *ep);

/* ---- Transport (microCoAPy: start, stop, setCustomSocket) ---- */

/*
 * Open a UDP socket bound to [::]:@port, dual-stack (0: an ephemeral port,
 * as a client uses). Returns 0, UCOAP_ERR_STATE when already started,
 * or UCOAP_ERR_IO (errno set, e.g. EADDRINUSE).
 */
int ucoap_ep_start(struct ucoap_ep *ep, uint16_t port);
/* As ucoap_ep_start() at @local ("[::]:5683", "127.0.0.1:0"...). */
int ucoap_ep_start_at(struct ucoap_ep *ep, const struct ucoap_addr *local);
/*
 * Use an already bound datagram socket @fd (socket activation); the
 * endpoint takes ownership of @fd.
 */
int ucoap_ep_start_fd(struct ucoap_ep *ep, int fd);
/*
 * Use @ops as the socket instead (copied; @user borrowed until stop).
 * Replaces a socket opened by start.
 */
int ucoap_ep_set_custom_socket(struct ucoap_ep *ep,
			       const struct ucoap_socket_ops *ops, void *user);
/* Close the socket (or call the custom socket's close). Idempotent. */
void ucoap_ep_stop(struct ucoap_ep *ep);
/* The local address the socket is bound to; UCOAP_ERR_STATE when none. */
int ucoap_ep_local_addr(struct ucoap_ep *ep, struct ucoap_addr *out);

/* ---- Event loop integration ---- */

/* The descriptor to poll for POLLIN, or -1 (custom socket without fd). */
int ucoap_ep_fd(const struct ucoap_ep *ep);
/*
 * Milliseconds until the next timer (retransmission, expiry) is due:
 * 0 when one is due now, -1 when none is pending.
 */
int ucoap_ep_next_timeout(struct ucoap_ep *ep);
/*
 * Receive and handle every datagram waiting on the socket without
 * blocking (at most @max, 0 for no limit), then run due timers. Returns the
 * number of datagrams handled, or UCOAP_ERR_IO.
 */
int ucoap_ep_process(struct ucoap_ep *ep, unsigned max);
/* Run due timers only: retransmissions, timeouts, cache expiry. */
void ucoap_ep_tick(struct ucoap_ep *ep);
/*
 * Handle one datagram as if it had arrived from @from (the custom-socket
 * path and tests use this). @buf is only borrowed for the call.
 */
void ucoap_ep_input(struct ucoap_ep *ep, const uint8_t *buf, size_t len,
		    const struct ucoap_addr *from);

/* ---- microCoAPy's loop() and poll() ---- */

/*
 * Check once for an incoming datagram; with @blocking, wait until one comes
 * (timers still run meanwhile). Returns true when one was handled.
 */
bool ucoap_ep_loop(struct ucoap_ep *ep, bool blocking);
/*
 * Check every @period_ms for up to @timeout_ms (-1: until a message comes).
 * Returns true as soon as a message was handled.
 */
bool ucoap_ep_poll(struct ucoap_ep *ep, int timeout_ms, int period_ms);

/* ---- Client role ---- */

/*
 * How a request of ours ended, exactly once per request:
 * @status 0 with @resp (views valid until the callback returns) from
 * @from, or UCOAP_ERR_TIMEOUT, UCOAP_ERR_RST or UCOAP_ERR_CANCELLED with
 * @resp and @from NULL. A block-wise response (RFC 7959) arrives here
 * once, whole (its Block2 option removed); its transfer may also end with
 * UCOAP_ERR_NOSPACE (body above max_body_size) or UCOAP_ERR_INVAL (blocks
 * that do not fit together: a gap, a short block, another ETag).
 */
typedef void (*ucoap_response_cb)(struct ucoap_ep *ep, int status,
				  const struct ucoap_msg *resp,
				  const struct ucoap_addr *from, void *user);

/*
 * microCoAPy's responseCallback: called for every response to a request
 * sent without its own callback (ucoap_send() and the get/put/post/delete
 * wrappers), with status as above. NULL removes it.
 */
void ucoap_ep_set_response_callback(struct ucoap_ep *ep, ucoap_response_cb cb,
				    void *user);

/*
 * Send the request @req to @to and call @cb (or the endpoint's response
 * callback when @cb is NULL) once it ends. The endpoint fills in the
 * message id and, when @req->token_len is 0, a fresh random 4-byte token
 * (written back into @req). A CON is retransmitted per §4.2 until ACK,
 * RST or MAX_RETRANSMIT; then the request waits for a separate response
 * until @timeout_ms (0: the config's request_timeout_ms) from sending.
 * @req is encoded during the call and not kept. *@mid_out (may be NULL)
 * gets the message id. Returns 0, UCOAP_ERR_FULL (max_exchanges open),
 * UCOAP_ERR_NOSPACE (larger than max_message_size), UCOAP_ERR_STATE (no
 * socket), UCOAP_ERR_IO or UCOAP_ERR_INVAL.
 *
 * Block-wise (RFC 7959): a payload larger than a block (block_szx), or a
 * request carrying a Block1 option (its SZX: the block size to use), is
 * copied and sent block by block with Block1 and Size1, each block
 * waiting for its 2.31 Continue; the server may ask for smaller blocks
 * (§2.3). A response with Block2 M=1 is followed by requests for the next
 * blocks (the same request, the same token, new message ids; a POST/PUT
 * body is not repeated, §3.3). Add a Block2 option with NUM 0 to ask for
 * a smaller block size up front (§2.4). @cb runs once with the whole
 * body; *@mid_out stays the handle for ucoap_ep_cancel(). Such a request
 * takes one of max_block_requests slots (UCOAP_ERR_FULL when none is
 * free; a Block2 response then reaches @cb as its first block) and its
 * payload may be up to max_body_size (UCOAP_ERR_NOSPACE above).
 */
int ucoap_ep_request(struct ucoap_ep *ep, const struct ucoap_addr *to,
		     struct ucoap_msg *req, uint32_t timeout_ms,
		     ucoap_response_cb cb, void *user, uint16_t *mid_out);
/*
 * As ucoap_ep_request(), but @req's token goes out as given: an empty one
 * stays empty (RFC 7252 §5.3.1 allows a zero-length token; the plugtest
 * TD_COAP_CORE_12 asks for one), like ucoap_send(). The request is sent
 * whole: no block-wise transfer (a Block2 answer reaches @cb as its first
 * block).
 */
int ucoap_ep_request_as_is(struct ucoap_ep *ep, const struct ucoap_addr *to,
			   struct ucoap_msg *req, uint32_t timeout_ms,
			   ucoap_response_cb cb, void *user, uint16_t *mid_out);
/*
 * Forget the open request with message id @mid: its callback runs now with
 * UCOAP_ERR_CANCELLED. Returns 0 or UCOAP_ERR_NOENT.
 */
int ucoap_ep_cancel(struct ucoap_ep *ep, uint16_t mid);
/*
 * Send an empty CON (CoAP ping, §4.3); the callback gets UCOAP_ERR_RST
 * (the expected pong), or UCOAP_ERR_TIMEOUT. Returns as ucoap_ep_request().
 */
int ucoap_ep_ping(struct ucoap_ep *ep, const struct ucoap_addr *to,
		  ucoap_response_cb cb, void *user, uint16_t *mid_out);

/*
 * microCoAPy's send(ip, port, url, type, method, token, payload,
 * content_format, queryOption). @ip is an IPv4 or IPv6 literal; @url may
 * hold "?query" too; @query (may be NULL) adds '&'-separated arguments;
 * @content_format is UCOAP_CF_NONE for none; @token of @token_len (0-8)
 * bytes is used as given (an empty token stays empty). The response goes
 * to the endpoint's response callback. Returns the message id, or 0 on
 * failure (invalid argument, table full, socket error).
 */
uint16_t ucoap_send(struct ucoap_ep *ep, const char *ip, uint16_t port,
		    const char *url, uint8_t type, uint8_t method,
		    const uint8_t *token, size_t token_len,
		    const uint8_t *payload, size_t payload_len,
		    int content_format, const char *query);
/* CON GET / PUT / POST / DELETE wrappers of ucoap_send(). */
uint16_t ucoap_get(struct ucoap_ep *ep, const char *ip, uint16_t port,
		   const char *url, const uint8_t *token, size_t token_len);
uint16_t ucoap_put(struct ucoap_ep *ep, const char *ip, uint16_t port,
		   const char *url, const uint8_t *payload, size_t payload_len,
		   const char *query, int content_format, const uint8_t *token,
		   size_t token_len);
uint16_t ucoap_post(struct ucoap_ep *ep, const char *ip, uint16_t port,
		    const char *url, const uint8_t *payload, size_t payload_len,
		    const char *query, int content_format, const uint8_t *token,
		    size_t token_len);
uint16_t ucoap_delete(struct ucoap_ep *ep, const char *ip, uint16_t port,
		      const char *url, const uint8_t *token, size_t token_len);

/* ---- Server role ---- */

/*
 * A request for us. @req's views are valid until the callback returns.
 * The handler answers at most once, during the call, with
 * ucoap_ep_respond() (or microCoAPy's ucoap_send_response()), or defers
 * with ucoap_ep_defer() and answers later with ucoap_ep_respond_deferred().
 * If it returns without doing either, the endpoint answers 5.00 Internal
 * Server Error, so a client never waits for an answer that will not come.
 */
typedef void (*ucoap_request_cb)(struct ucoap_ep *ep,
				 const struct ucoap_msg *req,
				 const struct ucoap_addr *from, void *user);

/*
 * microCoAPy's addIncomingRequestCallback: call @cb for requests whose
 * Uri-Path, joined with '/', equals @url exactly (a leading '/' in @url is
 * ignored). The last registration for a URL wins; @cb NULL removes it.
 * @url is copied. Returns 0, UCOAP_ERR_NOMEM or UCOAP_ERR_INVAL.
 */
int ucoap_ep_add_request_callback(struct ucoap_ep *ep, const char *url,
				  ucoap_request_cb cb, void *user);
/*
 * The handler for requests no URL callback matches (default: none, and such
 * requests get 4.04 Not Found).
 */
void ucoap_ep_set_default_handler(struct ucoap_ep *ep, ucoap_request_cb cb,
				  void *user);

/*
 * Answer the request being handled (only from inside its ucoap_request_cb)
 * with @resp: the caller sets code, options and payload; the endpoint sets
 * type (ACK piggybacked for a CON, NON for a NON), message id and token, and
 * remembers the encoded answer for duplicates. Returns 0, UCOAP_ERR_STATE
 * (not inside a handler, or already answered), UCOAP_ERR_NOSPACE or
 * UCOAP_ERR_IO.
 *
 * Block-wise (RFC 7959): a 2.xx answer whose payload exceeds a block
 * (block_szx), or any 2.xx answer to a request carrying Block2, goes out
 * as the one block the request asked for (block 0 with M=1 and Size2
 * without Block2), at the client's block size or a smaller one (§2.4).
 * The endpoint keeps nothing: the next block's request runs the handler
 * again, which must answer with the same representation (set an ETag so
 * the client can tell when it changed). A block past the end gets 4.02.
 * Request bodies sent with Block1 are gathered first (2.31 Continue for
 * each block, 4.08 for a block out of sequence or without the first one,
 * 4.13 with Size1 above max_body_size, a body abandoned for
 * EXCHANGE_LIFETIME is dropped): the handler runs once, with the whole
 * body and no Block1 option, and its answer carries the Block1 echo. If
 * that answer needs several blocks, it is kept (up to max_body_size) for
 * the Block2 requests that follow (§3.3).
 */
int ucoap_ep_respond(struct ucoap_ep *ep, struct ucoap_msg *resp);

/*
 * microCoAPy's sendResponse(ip, port, messageid, payload, code,
 * content_format, token). Inside the handler of the request with message id
 * @mid from @ip/@port it answers piggybacked, like ucoap_ep_respond();
 * anywhere else it sends a separate response as a CON with a new message id.
 * Returns the message id used, or 0 on failure.
 */
uint16_t ucoap_send_response(struct ucoap_ep *ep, const char *ip, uint16_t port,
			     uint16_t mid, const uint8_t *payload,
			     size_t payload_len, uint8_t code,
			     int content_format, const uint8_t *token,
			     size_t token_len);

/* What a deferred answer needs to find its request again: plain data. */
struct ucoap_deferred {
	struct ucoap_addr peer;
	uint8_t req_type; /* CON or NON */
	uint8_t token_len;
	uint8_t token[UCOAP_TOKEN_MAX];
	/*
	 * Filled by ucoap_ep_defer() for a block-wise answer (RFC 7959):
	 * the request's identity (method and options but Block/Size, §2.5),
	 * the Block2 option it carried, if any, and the Block1 to echo when
	 * it ended a Block1 transfer (§2.3).
	 */
	uint64_t req_id;
	bool block2;
	uint8_t block2_szx;
	uint32_t block2_num;
	bool block1;
	uint8_t block1_szx;
	uint32_t block1_num;
};

/*
 * From inside a handler: answer later (RFC 7252 §5.2.2). A CON request gets
 * an empty ACK now, so the client stops retransmitting; a duplicate of it
 * gets that ACK again. Fills @out for ucoap_ep_respond_deferred().
 * Returns 0 or UCOAP_ERR_STATE.
 */
int ucoap_ep_defer(struct ucoap_ep *ep, struct ucoap_deferred *out);
/*
 * Send the separate response @resp for @d: a CON (retransmitted until
 * ACKed) when the request was a CON, a NON otherwise. @cb (may be NULL)
 * learns whether the CON was acknowledged (status 0), reset or timed out.
 * Returns 0 or as ucoap_ep_request().
 *
 * Block-wise (RFC 7959), as ucoap_ep_respond(): a 2.xx answer whose
 * payload exceeds a block, or any 2.xx answer to a request carrying
 * Block2, goes out as the block asked for (block 0 with M=1 and Size2
 * without Block2). The whole body is kept (up to max_body_size, in one of
 * max_block_transfers slots, freed after its last block or after
 * EXCHANGE_LIFETIME) and the Block2 requests that follow are answered
 * from it, piggybacked, without running the handler; when no slot is
 * free, each of them runs the handler again, which must then produce the
 * same representation (set an ETag).
 */
int ucoap_ep_respond_deferred(struct ucoap_ep *ep,
			      const struct ucoap_deferred *d,
			      struct ucoap_msg *resp, ucoap_response_cb cb,
			      void *user);

/* ---- Observe (RFC 7641) ---- */

/*
 * Server role. A resource is observable when its handler, seeing a GET (or
 * FETCH) with Observe 0, calls ucoap_ep_observe_accept() before it answers.
 * The answer then carries an Observe number and the client (peer, token)
 * is remembered with @key. When the resource changes, the application
 * calls ucoap_ep_notify(): the endpoint runs the resource's handler again
 * for each of its observers, with the registering request, and what the
 * handler answers with ucoap_ep_respond() is sent as the notification --
 * so a notification is always what a GET would return now (§4.2), Accept,
 * Uri-Query and any block-wise or ETag logic of the handler included.
 *
 * Notifications are NON unless the application asks for CON, and CON at
 * least once every 24 hours (§4.5). A CON notification is retransmitted;
 * while one is unacknowledged no second one is sent: a newer state
 * replaces it, with a new message id and a higher Observe number, and the
 * retransmission schedule goes on (§4.5.2). An RST in reply to a
 * notification, a CON notification that times out, a GET from the
 * observer with the same token without Observe 0 (Observe 1: §3.6), or an
 * answer other than 2.xx (sent without Observe, §3.2) removes the
 * observer. A new registration with the same token replaces the old one.
 */

/*
 * From inside a handler: accept the current request as an observation of
 * the resource @key (an application pointer compared by address, never
 * dereferenced; borrowed until the last observer of it is gone). The
 * handler then answers as usual; a 2.xx answer carries the Observe option,
 * anything else ends the registration. Deferring the answer
 * (ucoap_ep_defer()) cancels the registration. Called again while the
 * handler runs for a notification, it does nothing and returns 0.
 * Returns 0; UCOAP_ERR_STATE outside a handler or after answering;
 * UCOAP_ERR_INVAL when the request is not a GET/FETCH with Observe 0;
 * UCOAP_ERR_FULL when max_observers are in use (answer plainly then: the
 * registration is declined, §4.1).
 */
int ucoap_ep_observe_accept(struct ucoap_ep *ep, const void *key);
/*
 * The resource @key changed: run its handler for each of its observers
 * (now, from inside this call) and send what it answers as a
 * notification, CON when @con (or when the observer had none for 24 h),
 * NON otherwise. A handler that does not answer sends nothing; one that
 * defers gets UCOAP_ERR_STATE. *@count (may be NULL) gets the number of
 * observers the handler ran for. May be called from inside a request
 * handler (not from one running for a notification). Returns 0,
 * UCOAP_ERR_STATE (from a notification's handler) or UCOAP_ERR_INVAL.
 */
int ucoap_ep_notify(struct ucoap_ep *ep, const void *key, bool con,
		    unsigned *count);
/* Whether the running handler is building a notification (not a request). */
bool ucoap_ep_notifying(const struct ucoap_ep *ep);
/* The number of observers of @key. */
unsigned ucoap_ep_observer_count(const struct ucoap_ep *ep, const void *key);

/*
 * Client role: observe the resource @req names at @to. @req is a GET (or
 * FETCH), CON or NON, with its Uri options; the endpoint adds Observe 0
 * and a fresh token, and copies the request (up to max_message_size) to
 * re-register later. @cb runs for every notification in order of
 * freshness (§3.4: a notification older than one already delivered is
 * dropped) with status 0 and the response, which carries the Observe
 * option; CON notifications are acknowledged. The observation ends, with
 * a last call of @cb, on: a response without Observe (e.g. 4.04, or the
 * server declining: status 0, no Observe option), UCOAP_ERR_TIMEOUT or
 * UCOAP_ERR_RST for the registration or a re-registration, and
 * UCOAP_ERR_CANCELLED on ucoap_ep_observe_cancel() or ucoap_ep_free(); @cb
 * is never called after that. When Max-Age (default 60 s) and a margin
 * pass without a notification, the endpoint re-registers with the same
 * token (§3.3.1). *@handle gets the observation's handle (never 0).
 * Returns 0, UCOAP_ERR_FULL (max_observations open, or no exchange free)
 * or as ucoap_ep_request().
 *
 * Block-wise (RFC 7959 §2.6): a notification (or registration answer)
 * that is the first block of a larger body (Block2 NUM 0, M=1) reaches
 * @cb once, whole, after the endpoint fetched the other blocks with GETs
 * of @req without Observe, carrying Block2 NUM=1.. and a fresh token of
 * their own (one on the observation's token without Observe would end the
 * registration, RFC 7641 §3.6). @cb then gets the first block's header
 * and options (Observe, ETag, Content-Format, Size2...) without its Block2
 * option, and the whole body (up to max_body_size). The fetch takes one
 * of max_block_requests slots and an exchange; when none is free the
 * notification reaches @cb as its first block, Block2 option included. A
 * fresher notification arriving meanwhile replaces the fetch (§3.4 of
 * RFC 7641). A block with another ETag than the first (the resource
 * changed; its newer notification follows) drops that notification
 * silently. A fetch that fails otherwise ends the observation: @cb gets
 * UCOAP_ERR_TIMEOUT, UCOAP_ERR_RST, UCOAP_ERR_NOSPACE (body above
 * max_body_size) or UCOAP_ERR_INVAL (blocks that do not fit), or status
 * 0 with a non-2.xx answer to a block request (e.g. 4.04).
 */
int ucoap_ep_observe(struct ucoap_ep *ep, const struct ucoap_addr *to,
		     struct ucoap_msg *req, ucoap_response_cb cb, void *user,
		     uint32_t *handle);
/*
 * End the observation @handle: tell the server with a GET Observe 1 on the
 * same token (§3.6), then call its callback with UCOAP_ERR_CANCELLED, now.
 * Returns 0 or UCOAP_ERR_NOENT (unknown or already ended handle); a
 * failure to send the deregistration still ends the observation (an RST
 * to its next notification does, §3.6).
 */
int ucoap_ep_observe_cancel(struct ucoap_ep *ep, uint32_t handle);

/* ---- Counters ---- */

struct ucoap_ep_stats {
	uint64_t rx, tx;        /* datagrams */
	uint64_t rx_malformed;  /* dropped or answered with RST */
	uint64_t rx_duplicates; /* detected duplicates (CON and NON) */
	uint64_t retransmissions;
	uint64_t timeouts;        /* requests of ours that timed out */
	uint64_t dedup_full;      /* CONs refused with 5.03: cache full */
	uint64_t dedup_forgotten; /* answers forgotten early to make room */
	uint32_t exchanges_open;
	uint32_t dedup_used;
};
void ucoap_ep_stats(const struct ucoap_ep *ep, struct ucoap_ep_stats *out);

#endif
