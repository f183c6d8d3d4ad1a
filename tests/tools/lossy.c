/*
 * lossy: a UDP forwarder on loopback that loses chosen datagrams, for the
 * lossy-context plugtest checks (TD_COAP_CORE_15/16) from the client's
 * side.
 *
 *   lossy [-c LIST] [-s LIST] LISTEN_PORT SERVER_PORT
 *
 * Datagrams arriving at 127.0.0.1:LISTEN_PORT go to 127.0.0.1:SERVER_PORT
 * and the answers back to the last sender. -c drops the client-to-server
 * datagrams, -s the server-to-client ones, numbered from 1 in each
 * direction (LIST: "1" or "1,3"). Every datagram is logged, line-buffered:
 * "c>s pass|drop TYPE C.DD mid=N len=L". Prints "ready" once bound and
 * runs until SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_DROPS 16

struct direction {
	const char *name;
	unsigned drops[MAX_DROPS], ndrops, count;
};

static void on_signal(int sig)
{
	(void)sig;
	_exit(0);
}

static int parse_list(const char *s, struct direction *d)
{
	char *end;

	while (*s && d->ndrops < MAX_DROPS) {
		unsigned long n = strtoul(s, &end, 10);

		if (end == s || n == 0 || (*end && *end != ','))
			return -1;
		d->drops[d->ndrops++] = (unsigned)n;
		s = *end ? end + 1 : end;
	}
	return *s ? -1 : 0;
}

/* Count @len bytes going @d's way, log them; true: lose them. */
static bool lose(struct direction *d, const uint8_t *b, ssize_t len)
{
	static const char *const types[] = {"CON", "NON", "ACK", "RST"};
	bool drop = false;

	d->count++;
	for (unsigned i = 0; i < d->ndrops; i++)
		drop |= d->drops[i] == d->count;
	/* RFC 7252 §3: Ver|T|TKL, Code, Message ID. */
	if (len >= 4)
		printf("%s %s %s %u.%02u mid=%u len=%zd\n", d->name,
		       drop ? "drop" : "pass", types[(b[0] >> 4) & 3],
		       b[1] >> 5, b[1] & 31, (unsigned)(b[2] << 8 | b[3]), len);
	else
		printf("%s %s short len=%zd\n", d->name, drop ? "drop" : "pass",
		       len);
	return drop;
}

static int udp_socket(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("lossy: bind");
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct direction c2s = {.name = "c>s"}, s2c = {.name = "s>c"};
	struct sockaddr_in server = {.sin_family = AF_INET,
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in client = {0};
	socklen_t client_len = 0;
	struct pollfd pfd[2];
	static uint8_t buf[65536];
	int opt;

	while ((opt = getopt(argc, argv, "c:s:")) != -1) {
		if ((opt != 'c' && opt != 's') ||
		    parse_list(optarg, opt == 'c' ? &c2s : &s2c) < 0) {
			fputs("usage: lossy [-c LIST] [-s LIST] LISTEN_PORT "
			      "SERVER_PORT\n",
			      stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		fputs("usage: lossy [-c LIST] [-s LIST] LISTEN_PORT "
		      "SERVER_PORT\n",
		      stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	server.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	pfd[0].fd = udp_socket((uint16_t)atoi(argv[optind]));
	pfd[1].fd = udp_socket(0);
	if (pfd[0].fd < 0 || pfd[1].fd < 0)
		return 1;
	pfd[0].events = pfd[1].events = POLLIN;
	puts("ready");
	for (;;) {
		ssize_t n;

		if (poll(pfd, 2, -1) < 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			client_len = sizeof(client);
			n = recvfrom(pfd[0].fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&client, &client_len);
			if (n >= 0 && !lose(&c2s, buf, n))
				sendto(pfd[1].fd, buf, (size_t)n, 0,
				       (struct sockaddr *)&server,
				       sizeof(server));
		}
		if (pfd[1].revents & POLLIN) {
			n = recv(pfd[1].fd, buf, sizeof(buf), 0);
			if (n >= 0 && client_len && !lose(&s2c, buf, n))
				sendto(pfd[0].fd, buf, (size_t)n, 0,
				       (struct sockaddr *)&client, client_len);
		}
	}
}
