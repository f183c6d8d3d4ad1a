/*
 * fakenet: an in-memory datagram network, a fake clock and deterministic
 * randomness for the endpoint's tests. Header-only because every test is
 * one .c file.
 *
 * Each node is a custom socket (struct ucoap_socket_ops) with an address
 * and an inbound queue. A datagram sent to a node's address is queued
 * there, subject to the network's faults (drop, duplicate, reorder, all
 * drawn from a seeded PRNG so a failure replays); every datagram sent is
 * also appended to a log that tests inspect, byte for byte. A datagram to
 * an address with no node is only logged: the test plays that peer and
 * answers with fn_inject() or ucoap_ep_input().
 *
 * Time is net->now (ms); the endpoint reads it through fn_env. Nothing
 * here sleeps: fn_run() jumps the clock to the next due timer.
 */
#ifndef FAKENET_H
#define FAKENET_H

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ucoap/endpoint.h>

#define FN_MAX_DGRAM 1600
#define FN_MAX_NODES 4
#define FN_QUEUE     512
#define FN_LOG       4096

struct fn_dgram {
	struct ucoap_addr from, to;
	uint64_t t; /* net->now when sent */
	size_t len;
	uint8_t data[FN_MAX_DGRAM];
};

struct fakenet;

struct fn_node {
	struct fakenet *net;
	struct ucoap_addr addr;
	bool blocking, closed;
	struct fn_dgram *q; /* FN_QUEUE */
	unsigned qhead, qlen;
	unsigned setblocking_calls;
};

enum fn_rand_mode {
	FN_RAND_PRNG,  /* xorshift64* from rand_state */
	FN_RAND_CONST, /* every byte is rand_byte */
};

struct fakenet {
	uint64_t now;
	enum fn_rand_mode rand_mode;
	uint8_t rand_byte;
	uint64_t rand_state;  /* for the endpoint's random hook */
	uint64_t fault_state; /* for the faults, separate so they replay */
	unsigned drop_pct, dup_pct, reorder_pct;
	struct fn_node nodes[FN_MAX_NODES];
	unsigned nnodes;
	struct fn_dgram *log; /* FN_LOG; nlog counts past it too */
	unsigned nlog;
	unsigned delivered, dropped, duplicated, reordered;
};

static inline uint64_t fn_xorshift(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static inline struct fakenet *fn_new(uint64_t seed)
{
	struct fakenet *net = calloc(1, sizeof(*net));

	if (!net)
		abort();
	net->log = calloc(FN_LOG, sizeof(*net->log));
	if (!net->log)
		abort();
	net->now = 1000000; /* not 0: catches "0 means unset" mistakes */
	net->rand_state = seed;
	net->fault_state = seed ^ 0x5555aaaa5555aaaaull;
	return net;
}

static inline void fn_free(struct fakenet *net)
{
	for (unsigned i = 0; i < net->nnodes; i++)
		free(net->nodes[i].q);
	free(net->log);
	free(net);
}

/* ---- environment hooks ---- */

static inline uint64_t fn_now_ms(void *user)
{
	return ((struct fakenet *)user)->now;
}

static inline int fn_random(void *user, void *buf, size_t len)
{
	struct fakenet *net = user;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = net->rand_mode == FN_RAND_CONST
			   ? net->rand_byte
			   : (uint8_t)(fn_xorshift(&net->rand_state) >> 56);
	return 0;
}

static const struct ucoap_env_ops fn_env = {
    .now_ms = fn_now_ms,
    .random = fn_random,
};

/* ---- the sockets ---- */

static inline struct fn_node *fn_find(struct fakenet *net,
				      const struct ucoap_addr *a)
{
	for (unsigned i = 0; i < net->nnodes; i++)
		if (!net->nodes[i].closed &&
		    ucoap_addr_equal(&net->nodes[i].addr, a))
			return &net->nodes[i];
	return NULL;
}

/* Queue a datagram at @n, at the tail or (@pos_from_tail) before it. */
static inline void fn_enqueue(struct fn_node *n, const struct ucoap_addr *from,
			      const void *buf, size_t len, unsigned back)
{
	unsigned i, at;

	if (n->qlen == FN_QUEUE || len > FN_MAX_DGRAM)
		return; /* a full queue drops, like a socket buffer */
	if (back > n->qlen)
		back = n->qlen;
	/* Shift the last @back datagrams one place to make room. */
	for (i = 0; i < back; i++) {
		unsigned dst = (n->qhead + n->qlen - i) % FN_QUEUE;
		unsigned src = (n->qhead + n->qlen - i - 1) % FN_QUEUE;

		n->q[dst] = n->q[src];
	}
	at = (n->qhead + n->qlen - back) % FN_QUEUE;
	n->q[at].from = *from;
	n->q[at].to = n->addr;
	n->q[at].t = n->net->now;
	n->q[at].len = len;
	memcpy(n->q[at].data, buf, len);
	n->qlen++;
}

static inline void fn_log(struct fakenet *net, const struct ucoap_addr *from,
			  const struct ucoap_addr *to, const void *buf,
			  size_t len)
{
	if (net->nlog < FN_LOG) {
		struct fn_dgram *d = &net->log[net->nlog];

		d->from = *from;
		d->to = *to;
		d->t = net->now;
		d->len = len < FN_MAX_DGRAM ? len : FN_MAX_DGRAM;
		memcpy(d->data, buf, d->len);
	}
	net->nlog++;
}

static inline int fn_sendto(void *user, const void *buf, size_t len,
			    const struct ucoap_addr *to)
{
	struct fn_node *self = user;
	struct fakenet *net = self->net;
	struct fn_node *dst;
	unsigned copies = 1;

	fn_log(net, &self->addr, to, buf, len);
	dst = fn_find(net, to);
	if (!dst)
		return 0;
	if (net->drop_pct &&
	    fn_xorshift(&net->fault_state) % 100 < net->drop_pct) {
		net->dropped++;
		return 0;
	}
	if (net->dup_pct &&
	    fn_xorshift(&net->fault_state) % 100 < net->dup_pct) {
		net->duplicated++;
		copies = 2;
	}
	while (copies--) {
		unsigned back = 0;

		if (net->reorder_pct &&
		    fn_xorshift(&net->fault_state) % 100 < net->reorder_pct) {
			back =
			    1 + (unsigned)(fn_xorshift(&net->fault_state) % 4);
			net->reordered++;
		}
		fn_enqueue(dst, &self->addr, buf, len, back);
		net->delivered++;
	}
	return 0;
}

/* Non-blocking or not, an empty queue says -EAGAIN: nothing will come. */
static inline ssize_t fn_recvfrom(void *user, void *buf, size_t cap,
				  struct ucoap_addr *from)
{
	struct fn_node *n = user;
	struct fn_dgram *d;

	if (n->qlen == 0)
		return -EAGAIN;
	d = &n->q[n->qhead];
	n->qhead = (n->qhead + 1) % FN_QUEUE;
	n->qlen--;
	*from = d->from;
	memcpy(buf, d->data, d->len < cap ? d->len : cap);
	return (ssize_t)d->len;
}

static inline int fn_setblocking(void *user, bool blocking)
{
	struct fn_node *n = user;

	n->blocking = blocking;
	n->setblocking_calls++;
	return 0;
}

static inline void fn_close(void *user)
{
	((struct fn_node *)user)->closed = true;
}

static const struct ucoap_socket_ops fn_socket_ops = {
    .sendto = fn_sendto,
    .recvfrom = fn_recvfrom,
    .setblocking = fn_setblocking,
    .fd = NULL,
    .close = fn_close,
};

/* A node at @host:@port. */
static inline struct fn_node *fn_node_add(struct fakenet *net, const char *host,
					  uint16_t port)
{
	struct fn_node *n = &net->nodes[net->nnodes++];

	if (net->nnodes > FN_MAX_NODES ||
	    ucoap_addr_set(&n->addr, host, port) < 0)
		abort();
	n->net = net;
	n->q = calloc(FN_QUEUE, sizeof(*n->q));
	if (!n->q)
		abort();
	return n;
}

/* A new endpoint on this network at @host:@port (@cfg NULL: defaults). */
static inline struct ucoap_ep *fn_ep_new(struct fakenet *net,
					 const struct ucoap_ep_config *cfg,
					 const char *host, uint16_t port)
{
	struct ucoap_ep *ep = ucoap_ep_new(cfg, &fn_env, net);
	struct fn_node *n;

	if (!ep)
		return NULL;
	n = fn_node_add(net, host, port);
	if (ucoap_ep_set_custom_socket(ep, &fn_socket_ops, n) < 0)
		abort();
	return ep;
}

/* Deliver @buf to @n as if sent from @from (no faults, not logged). */
static inline void fn_inject(struct fn_node *n, const struct ucoap_addr *from,
			     const void *buf, size_t len)
{
	fn_enqueue(n, from, buf, len, 0);
}

static inline bool fn_queues_empty(const struct fakenet *net)
{
	for (unsigned i = 0; i < net->nnodes; i++)
		if (net->nodes[i].qlen)
			return false;
	return true;
}

/*
 * Run the endpoints @eps until @until (ms, absolute) on the fake clock:
 * deliver everything queued, then jump to the next timer, and so on.
 */
static inline void fn_run(struct fakenet *net, struct ucoap_ep **eps,
			  unsigned n, uint64_t until)
{
	for (;;) {
		int next = -1;

		for (unsigned i = 0; i < n; i++)
			ucoap_ep_process(eps[i], 0);
		if (!fn_queues_empty(net))
			continue;
		for (unsigned i = 0; i < n; i++) {
			int t = ucoap_ep_next_timeout(eps[i]);

			if (t >= 0 && (next < 0 || t < next))
				next = t;
		}
		if (next < 0 || net->now + (uint64_t)next > until) {
			net->now = until;
			for (unsigned i = 0; i < n; i++)
				ucoap_ep_process(eps[i], 0);
			if (fn_queues_empty(net))
				return;
			continue;
		}
		net->now += (uint64_t)next;
	}
}

/* Datagrams logged since index @from (FN_LOG bounds the stored ones). */
static inline unsigned fn_sent_since(const struct fakenet *net, unsigned from)
{
	return net->nlog - from;
}

static inline const struct fn_dgram *fn_sent(const struct fakenet *net,
					     unsigned i)
{
	return i < net->nlog && i < FN_LOG ? &net->log[i] : NULL;
}

static inline const struct fn_dgram *fn_last(const struct fakenet *net)
{
	return net->nlog ? fn_sent(net, net->nlog - 1) : NULL;
}

/* The @i-th datagram sent, decoded (views into the log); fails the test
 * when there is none or it does not decode. */
static inline struct ucoap_msg fn_msg(const struct fakenet *net, unsigned i)
{
	const struct fn_dgram *d = fn_sent(net, i);
	struct ucoap_msg m;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(ucoap_msg_decode(&m, d->data, d->len), 0);
	return m;
}

static inline struct ucoap_msg fn_last_msg(const struct fakenet *net)
{
	return fn_msg(net, net->nlog - 1);
}

/* @m: a message of @type and @code with id @mid and the 4-byte @token. */
static inline void fn_msg_init(struct ucoap_msg *m, uint8_t type, uint8_t code,
			       uint16_t mid, uint32_t token)
{
	ucoap_msg_init(m, type, code);
	m->mid = mid;
	m->token_len = 4;
	for (int i = 0; i < 4; i++)
		m->token[i] = (uint8_t)(token >> (24 - 8 * i));
}

#endif
