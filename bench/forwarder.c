/*
 * forwarder: the benchmark's baseline, the least a UDP-to-MQTT gateway can
 * do. It receives datagrams and publishes each one unchanged with
 * libmosquitto to one fixed topic: no CoAP decoding, no routing, no
 * queue. Its event loop is the one coapbridge uses (one poll over the UDP
 * socket and libmosquitto's socket, libmosquitto driven by
 * loop_read/write/misc, TCP_NODELAY on), so that coapbridge's rate as a
 * fraction of this one measures what CoAP and routing cost.
 *
 * So that a CoAP load generator with a window of outstanding CON requests
 * keeps going, each datagram that starts like a CoAP message (RFC 7252
 * §3: version 1, token length <= 8) is answered with an empty-payload
 * 2.04 carrying its Message ID and token: an ACK for a CON, a NON for a
 * NON (§5.2.1, §5.2.3). That is copying header bytes, not parsing.
 *
 * usage: forwarder UDP_PORT BROKER_HOST BROKER_PORT TOPIC QOS
 * Listens on 127.0.0.1:UDP_PORT; prints the count on SIGINT/SIGTERM.
 */
#include <errno.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64 /* datagrams per wakeup, like the gateway's receive loop */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int parse_port(const char *s, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == 0 || *end || v < 1 || v > 65535) {
		fprintf(stderr, "forwarder: %s \"%s\": not a port\n", what, s);
		return -1;
	}
	return (int)v;
}

static int udp_open(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int big = 4 << 20;

	if (fd < 0)
		return -errno;
	/* Bursts from the load generator must not overflow the default
	 * 208 KiB buffer while we are busy writing to the broker. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* The 2.04 answer described at the top; 0 when @d is not CoAP-like. */
static size_t answer(const unsigned char *d, size_t len, unsigned char *out)
{
	unsigned type, tkl;

	if (len < 4 || (d[0] >> 6) != 1)
		return 0;
	type = (d[0] >> 4) & 3;
	tkl = d[0] & 0x0f;
	if (tkl > 8 || len < 4 + tkl || type > 1)
		return 0;
	out[0] = (unsigned char)(0x40 | ((type == 0 ? 2u : 1u) << 4) | tkl);
	out[1] = 0x44; /* 2.04 Changed */
	out[2] = d[2];
	out[3] = d[3];
	memcpy(out + 4, d + 4, tkl);
	return 4 + tkl;
}

int main(int argc, char **argv)
{
	static unsigned char buf[65536];
	unsigned char ack[12];
	struct mosquitto *mosq;
	struct sigaction sa = {.sa_handler = on_signal};
	unsigned long long forwarded = 0, failed = 0;
	uint64_t last_misc;
	int udp_port, broker_port, qos, fd, rc;
	const char *topic;

	if (argc != 6) {
		fprintf(stderr, "usage: forwarder UDP_PORT BROKER_HOST "
				"BROKER_PORT TOPIC QOS\n");
		return 2;
	}
	udp_port = parse_port(argv[1], "UDP_PORT");
	broker_port = parse_port(argv[3], "BROKER_PORT");
	topic = argv[4];
	qos = atoi(argv[5]);
	if (udp_port < 0 || broker_port < 0)
		return 2;
	if (strcmp(argv[5], "0") && strcmp(argv[5], "1") &&
	    strcmp(argv[5], "2")) {
		fprintf(stderr, "forwarder: QOS \"%s\": must be 0, 1 or 2\n",
			argv[5]);
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	fd = udp_open(udp_port);
	if (fd < 0) {
		fprintf(stderr, "forwarder: udp port %d: %s\n", udp_port,
			strerror(-fd));
		return 1;
	}
	mosquitto_lib_init();
	mosq = mosquitto_new(NULL, true, NULL);
	if (!mosq) {
		fprintf(stderr, "forwarder: mosquitto_new: %s\n",
			strerror(errno));
		return 1;
	}
	/* Nagle off, as in the gateway: p99 14 ms -> 0.1 ms. */
	mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
	rc = mosquitto_connect(mosq, argv[2], broker_port, 30);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "forwarder: connect %s:%d: %s\n", argv[2],
			broker_port,
			rc == MOSQ_ERR_ERRNO ? strerror(errno)
					     : mosquitto_strerror(rc));
		return 1;
	}
	last_misc = now_ms();

	while (!stop) {
		struct pollfd p[2] = {
		    {fd, POLLIN, 0},
		    {mosquitto_socket(mosq),
		     (short)(POLLIN |
			     (mosquitto_want_write(mosq) ? POLLOUT : 0)),
		     0},
		};
		int n = poll(p, 2, 1000), i;

		if (n < 0 && errno != EINTR) {
			perror("forwarder: poll");
			break;
		}
		if (p[0].revents & POLLIN) {
			for (i = 0; i < BATCH; i++) {
				struct sockaddr_storage from;
				socklen_t flen = sizeof(from);
				ssize_t len =
				    recvfrom(fd, buf, sizeof(buf), 0,
					     (struct sockaddr *)&from, &flen);
				size_t alen;

				if (len < 0)
					break; /* EAGAIN: drained */
				rc = mosquitto_publish(mosq, NULL, topic,
						       (int)len, buf, qos,
						       false);
				if (rc == MOSQ_ERR_SUCCESS)
					forwarded++;
				else
					failed++;
				alen = answer(buf, (size_t)len, ack);
				if (alen)
					sendto(fd, ack, alen, 0,
					       (struct sockaddr *)&from, flen);
			}
		}
		if (p[1].revents & (POLLIN | POLLERR | POLLHUP))
			rc = mosquitto_loop_read(mosq, 1);
		else
			rc = MOSQ_ERR_SUCCESS;
		if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(mosq))
			rc = mosquitto_loop_write(mosq, 1);
		if (rc == MOSQ_ERR_SUCCESS && now_ms() - last_misc >= 1000) {
			last_misc = now_ms();
			rc = mosquitto_loop_misc(mosq);
		}
		if (rc != MOSQ_ERR_SUCCESS) {
			/* A baseline, not a product: no reconnect. */
			fprintf(stderr, "forwarder: broker: %s\n",
				mosquitto_strerror(rc));
			break;
		}
	}
	printf("forwarded %llu failed %llu\n", forwarded, failed);
	mosquitto_disconnect(mosq);
	mosquitto_loop_write(mosq, 1);
	mosquitto_destroy(mosq);
	mosquitto_lib_cleanup();
	close(fd);
	return stop ? 0 : 1;
}
