/*
 * rawcoap: send one CoAP datagram to HOST PORT from an ephemeral port and
 * print what comes back, for the integration tests' exact checks
 * (malformed datagrams, answer codes and options).
 *
 *   rawcoap [-w MS] [-s SRC] [-x] [-n N] HOST PORT HEX
 *   rawcoap [-w MS] [-s SRC] [-x] [-n N] [-m METHOD] [-N] [-T TOKEN] [-i MID]
 *           [-p PATH] [-q QUERY] [-c CF] [-O NUM,HEX]... [-e TEXT | -E HEX]
 *           [-z SIZE] HOST PORT
 *
 * HEX is sent as it is. Otherwise the datagram is built: METHOD is GET,
 * POST, PUT, DELETE, FETCH, PATCH, IPATCH, EMPTY or a code "c.dd"
 * (default GET); -N makes it NON (default CON); TOKEN is hex (default
 * none); MID defaults to a random one; PATH is split at '/' into Uri-Path
 * options, each segment percent-decoded ("a//b" has an empty segment,
 * "%00" is a NUL byte, "%2F" a slash inside a segment); QUERY is split at
 * '&' into Uri-Query options; -O adds any option with a hex value (possibly
 * empty: "9,"); -z pads the payload with 'x' until the whole datagram is
 * SIZE bytes. SRC binds the source address (e.g. 127.0.0.2, ::1).
 *
 * Waits up to MS milliseconds (default 1000) for an answer and prints one
 * line per answer (up to N, default 1): "none" when nothing came, else
 * "TYPE C.DD [Option=value]... [pl=PAYLOAD]", with uint options as numbers
 * and non-printable payloads as 0x-hex; -x prints the answer as hex
 * instead. An ACK or RST whose message id differs from the request's gets
 * " MID-MISMATCH" appended, a response whose token differs " TOKEN-MISMATCH".
 * Exit status 0, or 1 for a usage or socket error.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "tinycoap.h"

static uint8_t out[TC_MAX_DGRAM];
static uint8_t in[TC_MAX_DGRAM];

struct build_opt {
	unsigned num;
	uint8_t val[1100];
	size_t len;
};

static struct build_opt bopts[TC_MAX_OPTS];
static size_t nbopts;

static void usage(void)
{
	fputs("usage: rawcoap [-w MS] [-s SRC] [-x] [-n N] [-m METHOD] [-N] "
	      "[-T TOKEN] [-i MID] [-p PATH] [-q QUERY] [-c CF] [-O NUM,HEX] "
	      "[-e TEXT | -E HEX] [-z SIZE] HOST PORT [HEX]\n",
	      stderr);
	exit(1);
}

static int add_opt(unsigned num, const uint8_t *val, size_t len)
{
	if (nbopts == TC_MAX_OPTS || len > sizeof(bopts[0].val))
		return -1;
	bopts[nbopts].num = num;
	memcpy(bopts[nbopts].val, val, len);
	bopts[nbopts].len = len;
	nbopts++;
	return 0;
}

static int add_uint_opt(unsigned num, unsigned long v)
{
	uint8_t b[4];
	size_t n = 0;

	for (int shift = 24; shift >= 0; shift -= 8)
		if (n || (v >> shift) & 0xff)
			b[n++] = (uint8_t)(v >> shift);
	return add_opt(num, b, n);
}

/* Split @s at @sep into options @num, percent-decoding each part. */
static int add_split(unsigned num, const char *s, char sep)
{
	uint8_t seg[1100];
	size_t n = 0;

	if (*s == '/' && sep == '/')
		s++;
	for (;; s++) {
		if (*s == sep || *s == '\0') {
			if (add_opt(num, seg, n) < 0)
				return -1;
			n = 0;
			if (*s == '\0')
				return 0;
			continue;
		}
		if (n == sizeof(seg))
			return -1;
		if (*s == '%' && tc_hexval(s[1]) >= 0 && tc_hexval(s[2]) >= 0) {
			seg[n++] =
			    (uint8_t)(tc_hexval(s[1]) << 4 | tc_hexval(s[2]));
			s += 2;
		} else {
			seg[n++] = (uint8_t)*s;
		}
	}
}

static int parse_method(const char *m)
{
	static const char *const names[] = {"EMPTY", "GET",    "POST",
					    "PUT",   "DELETE", "FETCH",
					    "PATCH", "IPATCH"};
	unsigned c, d;

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(m, names[i]) == 0)
			return (int)i;
	if (sscanf(m, "%u.%u", &c, &d) == 2 && c < 8 && d < 32)
		return (int)(c << 5 | d);
	return -1;
}

static int cmp_opt(const void *a, const void *b)
{
	const struct build_opt *x = a, *y = b;

	/* Stable for equal numbers: compare positions (qsort is not stable). */
	if (x->num != y->num)
		return x->num < y->num ? -1 : 1;
	return x < y ? -1 : x > y;
}

static void print_answer(const uint8_t *buf, size_t len, bool hex,
			 const uint8_t *req, size_t req_len)
{
	struct tc_msg m;
	unsigned req_mid = req_len >= 4 ? ((unsigned)req[2] << 8 | req[3]) : 0;
	unsigned req_tkl = req_len >= 1 ? req[0] & 15 : 0;

	if (hex) {
		tc_print_hex(stdout, buf, len);
		putchar('\n');
		return;
	}
	if (tc_decode(&m, buf, len) < 0) {
		printf("MALFORMED ");
		tc_print_hex(stdout, buf, len);
		putchar('\n');
		return;
	}
	printf("%s %u.%02u", tc_type_str(m.type), m.code >> 5, m.code & 31);
	tc_print_options(stdout, &m);
	if ((m.type == TC_ACK || m.type == TC_RST) && m.mid != req_mid)
		printf(" MID-MISMATCH");
	/* A response (code class 2-5) must echo the token (§5.3.2). */
	if (m.code >= 0x40 && req_tkl <= 8 && req_len >= 4 + req_tkl &&
	    (m.tkl != req_tkl || memcmp(m.token, req + 4, req_tkl) != 0))
		printf(" TOKEN-MISMATCH");
	putchar('\n');
}

int main(int argc, char **argv)
{
	const char *src = NULL, *method = "GET", *path = NULL, *query = NULL;
	const char *text = NULL, *phex = NULL, *token = NULL;
	long wait_ms = 1000, mid = -1, cf = -1, pad = 0, count = 1;
	bool hex_out = false, non = false;
	uint8_t tok[16], pl[TC_MAX_DGRAM];
	long tkl = 0, pl_len = 0;
	struct sockaddr_storage dst, loc;
	socklen_t dst_len, loc_len;
	size_t len = 0;
	int c, fd;

	while ((c = getopt(argc, argv, "w:s:xn:m:NT:i:p:q:c:O:e:E:z:")) != -1) {
		switch (c) {
		case 'w':
			wait_ms = strtol(optarg, NULL, 10);
			break;
		case 's':
			src = optarg;
			break;
		case 'x':
			hex_out = true;
			break;
		case 'n':
			count = strtol(optarg, NULL, 10);
			break;
		case 'm':
			method = optarg;
			break;
		case 'N':
			non = true;
			break;
		case 'T':
			token = optarg;
			break;
		case 'i':
			mid = strtol(optarg, NULL, 0);
			break;
		case 'p':
			path = optarg;
			break;
		case 'q':
			query = optarg;
			break;
		case 'c':
			cf = strtol(optarg, NULL, 10);
			break;
		case 'O': {
			char *comma;
			unsigned long num = strtoul(optarg, &comma, 10);
			uint8_t v[1100];
			long n;

			if (*comma != ',')
				usage();
			n = tc_unhex(comma + 1, v, sizeof(v));
			if (n < 0 || num > 65535 ||
			    add_opt((unsigned)num, v, (size_t)n) < 0)
				usage();
			break;
		}
		case 'e':
			text = optarg;
			break;
		case 'E':
			phex = optarg;
			break;
		case 'z':
			pad = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 && argc - optind != 3)
		usage();
	if (tc_addr(argv[optind], (unsigned)strtoul(argv[optind + 1], NULL, 10),
		    &dst, &dst_len) < 0) {
		fprintf(stderr, "rawcoap: bad address %s %s\n", argv[optind],
			argv[optind + 1]);
		return 1;
	}

	if (argc - optind == 3) {
		long n = tc_unhex(argv[optind + 2], out, sizeof(out));

		if (n < 0)
			usage();
		len = (size_t)n;
	} else {
		int code = parse_method(method);
		unsigned prev = 0;

		if (code < 0)
			usage();
		if (token) {
			tkl = tc_unhex(token, tok, sizeof(tok));
			if (tkl < 0 || tkl > 15)
				usage();
		}
		if (mid < 0) {
			uint16_t r;

			if (getrandom(&r, sizeof(r), 0) != sizeof(r))
				r = (uint16_t)time(NULL);
			mid = r;
		}
		if ((path && add_split(11, path, '/') < 0) ||
		    (query && add_split(15, query, '&') < 0) ||
		    (cf >= 0 && add_uint_opt(12, (unsigned long)cf) < 0))
			usage();
		if (text) {
			pl_len = (long)strlen(text);
			memcpy(pl, text, (size_t)pl_len);
		} else if (phex) {
			pl_len = tc_unhex(phex, pl, sizeof(pl));
			if (pl_len < 0)
				usage();
		}
		qsort(bopts, nbopts, sizeof(bopts[0]), cmp_opt);
		out[0] = (uint8_t)(0x40 | (non ? 0x10 : 0) | (tkl & 15));
		out[1] = (uint8_t)code;
		out[2] = (uint8_t)(mid >> 8);
		out[3] = (uint8_t)mid;
		memcpy(out + 4, tok, (size_t)tkl);
		len = 4 + (size_t)tkl;
		for (size_t i = 0; i < nbopts; i++) {
			int n = tc_put_opt(out + len, sizeof(out) - len, prev,
					   bopts[i].num, bopts[i].val,
					   bopts[i].len);

			if (n < 0)
				usage();
			len += (size_t)n;
			prev = bopts[i].num;
		}
		if (pad && (size_t)pad > len + 1 + (size_t)pl_len &&
		    (size_t)pad <= sizeof(pl)) {
			memset(pl + pl_len, 'x',
			       (size_t)pad - len - 1 - (size_t)pl_len);
			pl_len = pad - (long)len - 1;
		} else if (pad && (size_t)pad != len + 1 + (size_t)pl_len) {
			fprintf(stderr, "rawcoap: cannot pad to %ld bytes\n",
				pad);
			return 1;
		}
		if (pl_len > 0) {
			if (len + 1 + (size_t)pl_len > sizeof(out))
				usage();
			out[len++] = 0xff;
			memcpy(out + len, pl, (size_t)pl_len);
			len += (size_t)pl_len;
		}
	}

	fd = socket(dst.ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("rawcoap: socket");
		return 1;
	}
	if (src) {
		if (tc_addr(src, 0, &loc, &loc_len) < 0 ||
		    loc.ss_family != dst.ss_family) {
			fprintf(stderr, "rawcoap: bad source %s\n", src);
			return 1;
		}
		if (bind(fd, (struct sockaddr *)&loc, loc_len) < 0) {
			perror("rawcoap: bind");
			return 1;
		}
	}
	if (sendto(fd, out, len, 0, (struct sockaddr *)&dst, dst_len) < 0) {
		perror("rawcoap: sendto");
		return 1;
	}
	for (long got = 0; got < count;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;
		int r = poll(&pfd, 1, (int)wait_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (got == 0)
				puts("none");
			break;
		}
		n = recv(fd, in, sizeof(in), 0);
		if (n < 0) {
			/* ICMP port unreachable: nobody listens; same as none.
			 */
			if (errno == ECONNREFUSED) {
				if (got == 0)
					puts("none");
				break;
			}
			perror("rawcoap: recv");
			return 1;
		}
		print_answer(in, (size_t)n, hex_out, out, len);
		got++;
	}
	close(fd);
	return 0;
}
