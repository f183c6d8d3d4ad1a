/*
 * Internal: the production transport (POSIX UDP socket) and the default
 * time/randomness hooks. The endpoint sees only the ops tables, so tests
 * replace both without touching the endpoint.
 */
#ifndef UCOAP_UDP_H
#define UCOAP_UDP_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <ucoap/endpoint.h>

/*
 * Datagrams moved per system call. One recvmmsg(2) fills up to this many
 * receive slots and recvfrom hands them out one by one; while the endpoint
 * batches (inside ucoap_ep_process) answers wait in as many send slots
 * and leave with one sendmmsg(2). System calls are most of a request's
 * cost, so this is where the CPU per request goes down. 32 takes a whole
 * window of 32 CON requests in one call (bench_core: 5.8 us per request
 * against 6.8 us with 16); a slot's pages are only touched when used, so
 * the resident cost is about 4 KiB per slot in use.
 */
#define UCOAP_UDP_BATCH 32
/* A slot holds the largest UDP payload, so nothing is ever truncated. */
#define UCOAP_UDP_SLOT 65536

struct ucoap_udp_ring {
	struct mmsghdr msg[UCOAP_UDP_BATCH];
	struct iovec iov[UCOAP_UDP_BATCH];
	struct sockaddr_storage addr[UCOAP_UDP_BATCH];
	uint8_t *mem; /* UCOAP_UDP_BATCH slots; pages are touched on use */
	unsigned n, next;
};

struct ucoap_udp {
	int fd;
	int family;    /* of the bound socket: AF_INET or AF_INET6 */
	bool blocking; /* recvfrom waits (the fd itself stays O_NONBLOCK) */
	bool batching; /* sendto queues in tx until batch(false) */
	struct ucoap_udp_ring rx, tx;
};

/*
 * Open a datagram socket bound to @local, non-blocking and close-on-exec.
 * An IPv6 wildcard or IPv6 address is bound dual-stack (IPV6_V6ONLY off),
 * so IPv4 peers arrive as IPv4-mapped addresses. Returns 0 or
 * UCOAP_ERR_IO with errno set.
 */
int ucoap_udp_open(struct ucoap_udp *u, const struct ucoap_addr *local);
/*
 * Adopt the bound socket @fd (made non-blocking). 0, UCOAP_ERR_IO or
 * UCOAP_ERR_NOMEM (the rings are allocated here and in _open).
 */
int ucoap_udp_adopt(struct ucoap_udp *u, int fd);
/* The address @fd is bound to. 0 or UCOAP_ERR_IO. */
int ucoap_udp_local_addr(int fd, struct ucoap_addr *out);

/* The socket ops over a struct ucoap_udp (passed as the user pointer). */
extern const struct ucoap_socket_ops ucoap_udp_ops;
/* CLOCK_MONOTONIC and getrandom(2); the user pointer is unused. */
extern const struct ucoap_env_ops ucoap_default_env;

#endif
