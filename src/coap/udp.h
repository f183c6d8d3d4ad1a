/*
 * Internal: the production transport (POSIX UDP socket) and the default
 * time/randomness hooks. The endpoint sees only the ops tables, so tests
 * replace both without touching the endpoint.
 */
#ifndef UCOAP_UDP_H
#define UCOAP_UDP_H

#include <stdbool.h>

#include <ucoap/endpoint.h>

struct ucoap_udp {
	int fd;
	int family;    /* of the bound socket: AF_INET or AF_INET6 */
	bool blocking; /* recvfrom waits (the fd itself stays O_NONBLOCK) */
};

/*
 * Open a datagram socket bound to @local, non-blocking and close-on-exec.
 * An IPv6 wildcard or IPv6 address is bound dual-stack (IPV6_V6ONLY off),
 * so IPv4 peers arrive as IPv4-mapped addresses. Returns 0 or
 * UCOAP_ERR_IO with errno set.
 */
int ucoap_udp_open(struct ucoap_udp *u, const struct ucoap_addr *local);
/* Adopt the bound socket @fd (made non-blocking). 0 or UCOAP_ERR_IO. */
int ucoap_udp_adopt(struct ucoap_udp *u, int fd);
/* The address @fd is bound to. 0 or UCOAP_ERR_IO. */
int ucoap_udp_local_addr(int fd, struct ucoap_addr *out);

/* The socket ops over a struct ucoap_udp (passed as the user pointer). */
extern const struct ucoap_socket_ops ucoap_udp_ops;
/* CLOCK_MONOTONIC and getrandom(2); the user pointer is unused. */
extern const struct ucoap_env_ops ucoap_default_env;

#endif
