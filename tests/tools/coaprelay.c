/*
 * coaprelay: a simulated CoAP relay (an actuator with state) for the Home
 * Assistant end-to-end test.
 *
 *   coaprelay ADDR PORT
 *
 * Serves one resource, "led", whose state starts as "0". A PUT or POST
 * sets the state to its payload (at most 64 bytes) and is answered 2.04
 * Changed with the new state as payload; a GET is answered 2.05 with the
 * state. Any other path gets 4.04. A CON gets a piggybacked ACK, a NON a
 * NON (RFC 7252 §5.2); retransmissions are answered again (the state is
 * idempotent under PUT). An empty CON (ping) gets RST.
 *
 * Prints "ready" once bound, then "METHOD PATH pl=PAYLOAD" per request.
 * Runs until SIGTERM or SIGINT. Built on tinycoap.h, like coapdev: the
 * device must not share a codec with the gateway it checks.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "tinycoap.h"

#define STATE_MAX 64

static char state[STATE_MAX + 1] = "0";
static size_t state_len = 1;

static void on_signal(int sig)
{
	(void)sig;
	_exit(0);
}

static bool path_is(const struct tc_msg *m, const char *want)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nopts; i++) {
		if (m->opts[i].num != 11) /* Uri-Path, RFC 7252 §5.10.1 */
			continue;
		if (n++ || m->opts[i].len != strlen(want) ||
		    memcmp(m->opts[i].val, want, m->opts[i].len) != 0)
			return false;
	}
	return n == 1;
}

static size_t build(uint8_t *out, const struct tc_msg *m, unsigned code,
		    const char *pl, size_t pl_len)
{
	size_t o = 0;

	/* ACK for a CON, NON for a NON; same message id for the ACK. */
	out[o++] =
	    (uint8_t)(0x40 | ((m->type == TC_CON ? TC_ACK : TC_NON) << 4) |
		      m->tkl);
	out[o++] = (uint8_t)code;
	out[o++] = (uint8_t)(m->mid >> 8);
	out[o++] = (uint8_t)m->mid;
	memcpy(out + o, m->token, m->tkl);
	o += m->tkl;
	if (pl_len) {
		out[o++] = 0xff;
		memcpy(out + o, pl, pl_len);
		o += pl_len;
	}
	return o;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage local;
	socklen_t local_len;
	int fd;

	if (argc != 3 || tc_addr(argv[1], (unsigned)strtoul(argv[2], NULL, 10),
				 &local, &local_len) < 0) {
		fprintf(stderr, "usage: coaprelay ADDR PORT\n");
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	fd = socket(local.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&local, local_len) < 0) {
		perror("coaprelay: bind");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		static uint8_t buf[TC_MAX_DGRAM];
		uint8_t out[128];
		struct sockaddr_storage peer;
		socklen_t peer_len = sizeof(peer);
		struct tc_msg m;
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&peer, &peer_len);
		size_t len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("coaprelay: recvfrom");
			return 1;
		}
		if (tc_decode(&m, buf, (size_t)n) < 0 ||
		    (m.type != TC_CON && m.type != TC_NON))
			continue;
		if (m.code == 0) { /* ping: RST (RFC 7252 §4.3) */
			uint8_t rst[4] = {0x70, 0, (uint8_t)(m.mid >> 8),
					  (uint8_t)m.mid};

			sendto(fd, rst, sizeof(rst), 0,
			       (struct sockaddr *)&peer, peer_len);
			continue;
		}
		printf("%s %s",
		       m.code == 1   ? "GET"
		       : m.code == 2 ? "POST"
		       : m.code == 3 ? "PUT"
				     : "OTHER",
		       path_is(&m, "led") ? "led" : "?");
		if (m.payload_len) {
			printf(" pl=");
			tc_print_bytes(stdout, m.payload, m.payload_len);
		}
		printf("\n");
		fflush(stdout);
		if (!path_is(&m, "led")) {
			len = build(out, &m, 0x84, NULL, 0); /* 4.04 */
		} else if (m.code == 1) {
			len = build(out, &m, 0x45, state, state_len); /* 2.05 */
		} else if ((m.code == 2 || m.code == 3) &&
			   m.payload_len <= STATE_MAX) {
			memcpy(state, m.payload, m.payload_len);
			state_len = m.payload_len;
			len = build(out, &m, 0x44, state, state_len); /* 2.04 */
		} else {
			len = build(out, &m, 0x80, NULL, 0); /* 4.00 */
		}
		if (sendto(fd, out, len, 0, (struct sockaddr *)&peer,
			   peer_len) < 0)
			perror("coaprelay: sendto");
	}
}
