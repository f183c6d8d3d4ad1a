/*
 * obspeer: a scripted Observe client (RFC 7641) for the TD_COAP_OBS_*
 * checks, written on tests/tools/tinycoap.h rather than on the core, so
 * the core under test is not its own oracle.
 *
 *   obspeer [-N] [-P] [-T TOKEN] [-p PATH] [-w MS] [-n MAX] [-A] [-D MS]
 *           [-R K] [-C K] [-G K] HOST PORT
 *
 * Sends GET PATH (default "obs") with Observe 0 (-P: a plain GET, for the
 * lossy TD_COAP_CORE_15/16 exchanges) and TOKEN (hex, default "0b5e"),
 * CON (NON with -N); with -D it sends the very same datagram again MS
 * milliseconds later, from the same port (a retransmission whose answer
 * was lost). Then it prints every datagram that arrives, one
 * line each: "TYPE C.DD mid=N tok=HEX [Option=value]... [pl=PAYLOAD]",
 * until MS milliseconds (default 2000) pass without one or MAX (default
 * 100) have come. CON notifications are acknowledged, unless -A (client
 * switched off: no ACK at all). After the K-th notification (the answer
 * to the registration counts as 0):
 *   -R K  answer it with RST instead of ACK (client rebooted, §3.6);
 *   -C K  send GET Observe 1 on the same token (cancel, §3.6);
 *   -G K  send a plain GET on another token ("2222", TD_COAP_OBS_10).
 * The datagrams we send are printed as "> TYPE C.DD mid=N ...".
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "tinycoap.h"

static int fd;
static uint8_t in[TC_MAX_DGRAM];
static unsigned next_mid;
/* The first datagram we sent: -D sends it again. */
static uint8_t first[512];
static size_t first_len;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void print_msg(const char *prefix, const uint8_t *buf, size_t len)
{
	struct tc_msg m;

	if (tc_decode(&m, buf, len) < 0) {
		printf("%sMALFORMED\n", prefix);
		return;
	}
	printf("%s%s %u.%02u mid=%u tok=", prefix, tc_type_str(m.type),
	       m.code >> 5, m.code & 31, m.mid);
	tc_print_hex(stdout, m.token, m.tkl);
	tc_print_options(stdout, &m);
	putchar('\n');
	fflush(stdout);
}

static void send_dgram(const uint8_t *buf, size_t len)
{
	if (send(fd, buf, len, 0) < 0) {
		perror("obspeer: send");
		exit(1);
	}
	print_msg("> ", buf, len);
}

/* An empty ACK or RST for message @mid (RFC 7252 §4.2). */
static void send_empty(unsigned type, unsigned mid)
{
	uint8_t b[4] = {(uint8_t)(0x40 | type << 4), 0, (uint8_t)(mid >> 8),
			(uint8_t)mid};

	send_dgram(b, sizeof(b));
}

/*
 * GET @path with @tok (@tkl bytes); Observe @obs unless it is negative.
 */
static void send_get(bool non, const uint8_t *tok, size_t tkl, const char *path,
		     long obs)
{
	uint8_t b[512];
	size_t len = 4 + tkl;
	unsigned prev = 0;
	unsigned mid = next_mid++ & 0xffff;
	const char *seg = path;

	b[0] = (uint8_t)(0x40 | (non ? 0x10 : 0) | tkl);
	b[1] = 1; /* GET */
	b[2] = (uint8_t)(mid >> 8);
	b[3] = (uint8_t)mid;
	memcpy(b + 4, tok, tkl);
	if (obs >= 0) {
		uint8_t v = (uint8_t)obs;
		int n = tc_put_opt(b + len, sizeof(b) - len, prev, 6, &v,
				   obs ? 1 : 0);

		len += (size_t)n;
		prev = 6;
	}
	while (*seg) {
		const char *end = strchr(seg, '/');
		size_t sl = end ? (size_t)(end - seg) : strlen(seg);
		int n = tc_put_opt(b + len, sizeof(b) - len, prev, 11,
				   (const uint8_t *)seg, sl);

		if (n < 0) {
			fputs("obspeer: path too long\n", stderr);
			exit(1);
		}
		len += (size_t)n;
		prev = 11;
		seg += sl + (end ? 1 : 0);
	}
	if (!first_len) {
		memcpy(first, b, len);
		first_len = len;
	}
	send_dgram(b, len);
}

int main(int argc, char **argv)
{
	const char *path = "obs", *token = "0b5e";
	long wait_ms = 2000, max = 100, rst_at = -1, cancel_at = -1,
	     get_at = -1;
	bool non = false, no_ack = false, plain = false;
	long dup_ms = -1;
	uint64_t dup_at = 0;
	uint8_t tok[8];
	long tkl;
	struct sockaddr_storage dst;
	socklen_t dst_len;
	uint16_t r;
	long notes = -1;
	int c;

	while ((c = getopt(argc, argv, "NPT:p:w:n:AD:R:C:G:")) != -1) {
		switch (c) {
		case 'N':
			non = true;
			break;
		case 'P':
			plain = true;
			break;
		case 'D':
			dup_ms = strtol(optarg, NULL, 10);
			break;
		case 'T':
			token = optarg;
			break;
		case 'p':
			path = optarg;
			break;
		case 'w':
			wait_ms = strtol(optarg, NULL, 10);
			break;
		case 'n':
			max = strtol(optarg, NULL, 10);
			break;
		case 'A':
			no_ack = true;
			break;
		case 'R':
			rst_at = strtol(optarg, NULL, 10);
			break;
		case 'C':
			cancel_at = strtol(optarg, NULL, 10);
			break;
		case 'G':
			get_at = strtol(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	tkl = tc_unhex(token, tok, sizeof(tok));
	if (argc - optind != 2 || tkl < 0 ||
	    tc_addr(argv[optind], (unsigned)strtoul(argv[optind + 1], NULL, 10),
		    &dst, &dst_len) < 0)
		goto usage;
	fd = socket(dst.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, dst_len) < 0) {
		perror("obspeer: socket");
		return 1;
	}
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint16_t)getpid();
	next_mid = r;
	send_get(non, tok, (size_t)tkl, path, plain ? -1 : 0);
	if (dup_ms >= 0)
		dup_at = now_ms() + (uint64_t)dup_ms;

	for (long got = 0; got < max;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		struct tc_msg m;
		ssize_t n;
		uint64_t now = now_ms();
		int rc;

		if (dup_at && now >= dup_at) {
			send_dgram(first, first_len);
			dup_at = 0;
		}
		rc = poll(&pfd, 1, dup_at ? (int)(dup_at - now) : (int)wait_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0 && dup_at)
			continue;
		if (rc <= 0)
			break;
		n = recv(fd, in, sizeof(in), 0);
		if (n < 0) {
			perror("obspeer: recv");
			return 1;
		}
		got++;
		print_msg("", in, (size_t)n);
		if (tc_decode(&m, in, (size_t)n) < 0 || m.code < 0x40)
			continue;
		/* A response on our token: the registration's or a later. */
		if (m.tkl == (unsigned)tkl && memcmp(m.token, tok, m.tkl) == 0)
			notes++;
		if (m.type == TC_CON) {
			if (notes == rst_at)
				send_empty(TC_RST, m.mid);
			else if (!no_ack)
				send_empty(TC_ACK, m.mid);
		}
		if (notes == cancel_at) {
			send_get(false, tok, (size_t)tkl, path, 1);
			cancel_at = -1;
		}
		if (notes == get_at) {
			send_get(false, (const uint8_t *)"\x22\x22", 2, path,
				 -1);
			get_at = -1;
		}
	}
	close(fd);
	return 0;
usage:
	fputs("usage: obspeer [-N] [-P] [-D MS] [-T TOKEN] [-p PATH] [-w MS] "
	      "[-n MAX] [-A] "
	      "[-R K] [-C K] [-G K] HOST PORT\n",
	      stderr);
	return 1;
}
