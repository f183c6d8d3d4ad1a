/*
 * coapdev: a simulated CoAP device for the downlink integration tests.
 *
 *   coapdev [-c CODE] [-g CODE] [-e TEXT | -E HEX] [-d MS] [-n N] [-s]
 *           ADDR PORT
 *
 * Answers every request on any path: GET with -g CODE (default 2.05),
 * every other method with -c CODE (default 2.04), both with the payload
 * -e TEXT or -E HEX (default none). A CON gets a piggybacked ACK, a NON a
 * NON (RFC 7252 §5.2). -d delays each answer by MS milliseconds; -n leaves
 * the first N requests unanswered (to provoke retransmissions); -s never
 * answers (to provoke a timeout). An empty CON (ping) gets RST.
 *
 * Prints "ready" once bound, then one line per request received:
 *   "TYPE METHOD PATH pl=PAYLOAD"    (pl= only with a payload)
 * with PATH the Uri-Path segments joined by '/' ("/" for none) followed by
 * "?" and the Uri-Query options joined by '&' if any, a retransmission (same
 * message id from the same peer) prefixed "dup ", and a line "overlap"
 * when a new request arrives while an earlier one is still unanswered
 * (RFC 7252 §4.7 NSTART = 1 forbids that). Duplicates of an answered CON
 * get the same answer again (§4.5). Runs until SIGTERM or SIGINT.
 *
 * Plain sockets and tinycoap.h on purpose: the device must not share a
 * codec bug with the gateway it checks.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tinycoap.h"

#define MAX_PENDING 64
#define SEEN        256

struct answer {
	bool used, sent;
	uint64_t due;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	unsigned mid;
	uint8_t buf[1200];
	size_t len;
};

static struct answer pending[MAX_PENDING];
/* Requests seen, for duplicate detection: the answer slot they got. */
static struct {
	struct sockaddr_storage peer;
	socklen_t peer_len;
	unsigned mid;
	int slot;
	bool ignored; /* left unanswered by -n: answer its retransmission */
} seen[SEEN];
static unsigned seen_next;
static volatile sig_atomic_t stopping;
static uint8_t payload[1024];
static size_t payload_len;
static unsigned code_get = 0x45, code_other = 0x44;
static long delay_ms, ignore_first;
static bool silent;
static unsigned next_mid;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int parse_code(const char *s, unsigned *out)
{
	unsigned c, d;

	if (sscanf(s, "%u.%u", &c, &d) != 2 || c > 7 || d > 31)
		return -1;
	*out = c << 5 | d;
	return 0;
}

static void usage(void)
{
	fputs("usage: coapdev [-c CODE] [-g CODE] [-e TEXT | -E HEX] [-d MS] "
	      "[-n N] [-s] ADDR PORT\n",
	      stderr);
	exit(1);
}

static int find_seen(const struct sockaddr_storage *peer, socklen_t len,
		     unsigned mid)
{
	for (unsigned i = 0; i < SEEN; i++)
		if (seen[i].peer_len == len && seen[i].mid == mid &&
		    memcmp(&seen[i].peer, peer, len) == 0)
			return (int)i;
	return -1;
}

static bool unanswered(void)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (pending[i].used && !pending[i].sent)
			return true;
	return false;
}

static void send_rst(int fd, const struct tc_msg *m,
		     const struct sockaddr_storage *peer, socklen_t len)
{
	uint8_t b[4] = {0x70, 0, (uint8_t)(m->mid >> 8), (uint8_t)m->mid};

	if (sendto(fd, b, sizeof(b), 0, (const struct sockaddr *)peer, len) < 0)
		perror("coapdev: sendto");
}

static void print_path(const struct tc_msg *m)
{
	bool first = true;

	for (size_t i = 0; i < m->nopts; i++) {
		if (m->opts[i].num != 11)
			continue;
		if (!first)
			putchar('/');
		fwrite(m->opts[i].val, 1, m->opts[i].len, stdout);
		first = false;
	}
	if (first)
		putchar('/');
	first = true;
	for (size_t i = 0; i < m->nopts; i++) {
		if (m->opts[i].num != 15)
			continue;
		putchar(first ? '?' : '&');
		fwrite(m->opts[i].val, 1, m->opts[i].len, stdout);
		first = false;
	}
}

static const char *method_str(unsigned code)
{
	static const char *const names[] = {"EMPTY", "GET",    "POST",
					    "PUT",   "DELETE", "FETCH",
					    "PATCH", "IPATCH"};

	return code < 8 ? names[code] : "?";
}

static void log_request(const char *prefix, const struct tc_msg *m)
{
	printf("%s%s %s ", prefix, tc_type_str(m->type), method_str(m->code));
	print_path(m);
	if (m->payload_len) {
		fputs(" pl=", stdout);
		tc_print_bytes(stdout, m->payload, m->payload_len);
	}
	putchar('\n');
}

static void on_datagram(int fd, const uint8_t *buf, size_t len,
			const struct sockaddr_storage *peer, socklen_t plen)
{
	struct tc_msg m;
	struct answer *a = NULL;
	int s;

	if (tc_decode(&m, buf, len) < 0) {
		printf("malformed\n");
		return;
	}
	if (m.code == 0) {
		if (m.type == TC_CON)
			send_rst(fd, &m, peer, plen);
		return;
	}
	if (m.code >= 0x20 || (m.type != TC_CON && m.type != TC_NON))
		return;
	s = find_seen(peer, plen, m.mid);
	if (s >= 0) {
		log_request("dup ", &m);
		if (seen[s].ignored) {
			seen[s].ignored = false;
			goto answer;
		}
		if (seen[s].slot >= 0 && pending[seen[s].slot].sent &&
		    pending[seen[s].slot].mid == m.mid &&
		    sendto(fd, pending[seen[s].slot].buf,
			   pending[seen[s].slot].len, 0,
			   (const struct sockaddr *)peer, plen) < 0)
			perror("coapdev: sendto");
		return;
	}
	if (!silent && unanswered())
		printf("overlap\n");
	log_request("", &m);

	s = (int)(seen_next++ % SEEN);
	seen[s].peer = *peer;
	seen[s].peer_len = plen;
	seen[s].mid = m.mid;
	seen[s].slot = -1;
	seen[s].ignored = false;
	if (silent)
		return;
	if (ignore_first > 0) {
		ignore_first--;
		seen[s].ignored = true;
		return;
	}
answer:
	for (int i = 0; i < MAX_PENDING; i++) {
		if (!pending[i].used || pending[i].sent) {
			a = &pending[i];
			seen[s].slot = i;
			break;
		}
	}
	if (!a) {
		printf("pending table full\n");
		return;
	}
	memset(a, 0, sizeof(*a));
	a->used = true;
	a->due = now_ms() + (uint64_t)delay_ms;
	a->peer = *peer;
	a->peer_len = plen;
	a->mid = m.mid;
	a->buf[0] = (uint8_t)((m.type == TC_CON ? 0x60 : 0x50) | m.tkl);
	a->buf[1] = (uint8_t)(m.code == 1 ? code_get : code_other);
	if (m.type == TC_CON) {
		a->buf[2] = (uint8_t)(m.mid >> 8);
		a->buf[3] = (uint8_t)m.mid;
	} else {
		next_mid++;
		a->buf[2] = (uint8_t)(next_mid >> 8);
		a->buf[3] = (uint8_t)next_mid;
	}
	memcpy(a->buf + 4, m.token, m.tkl);
	a->len = 4 + m.tkl;
	if (payload_len) {
		a->buf[a->len++] = 0xff;
		memcpy(a->buf + a->len, payload, payload_len);
		a->len += payload_len;
	}
}

static int send_due(int fd)
{
	uint64_t now = now_ms(), next = UINT64_MAX;

	for (int i = 0; i < MAX_PENDING; i++) {
		struct answer *a = &pending[i];

		if (!a->used || a->sent)
			continue;
		if (a->due <= now) {
			if (sendto(fd, a->buf, a->len, 0,
				   (const struct sockaddr *)&a->peer,
				   a->peer_len) < 0)
				perror("coapdev: sendto");
			a->sent = true;
		} else if (a->due < next) {
			next = a->due;
		}
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

int main(int argc, char **argv)
{
	static uint8_t buf[TC_MAX_DGRAM];
	struct sockaddr_storage local;
	socklen_t local_len;
	struct sigaction sa = {.sa_handler = on_signal};
	int c, fd;

	while ((c = getopt(argc, argv, "c:g:e:E:d:n:s")) != -1) {
		switch (c) {
		case 'c':
			if (parse_code(optarg, &code_other) < 0)
				usage();
			break;
		case 'g':
			if (parse_code(optarg, &code_get) < 0)
				usage();
			break;
		case 'e':
			payload_len = strlen(optarg);
			if (payload_len > sizeof(payload))
				usage();
			memcpy(payload, optarg, payload_len);
			break;
		case 'E': {
			long n = tc_unhex(optarg, payload, sizeof(payload));

			if (n < 0)
				usage();
			payload_len = (size_t)n;
			break;
		}
		case 'd':
			delay_ms = strtol(optarg, NULL, 10);
			break;
		case 'n':
			ignore_first = strtol(optarg, NULL, 10);
			break;
		case 's':
			silent = true;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 ||
	    tc_addr(argv[optind], (unsigned)strtoul(argv[optind + 1], NULL, 10),
		    &local, &local_len) < 0)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fd = socket(local.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&local, local_len) < 0) {
		perror("coapdev: bind");
		return 1;
	}
	next_mid = (unsigned)getpid() & 0xffff;
	puts("ready");
	while (!stopping) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int timeout = send_due(fd);
		int r = poll(&pfd, 1, timeout);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("coapdev: poll");
			return 1;
		}
		if (r > 0) {
			struct sockaddr_storage peer;
			socklen_t plen = sizeof(peer);
			ssize_t n = recvfrom(fd, buf, sizeof(buf), 0,
					     (struct sockaddr *)&peer, &plen);

			if (n < 0) {
				if (errno == EINTR || errno == ECONNREFUSED)
					continue;
				perror("coapdev: recvfrom");
				return 1;
			}
			on_datagram(fd, buf, (size_t)n, &peer, plen);
		}
	}
	close(fd);
	return 0;
}
