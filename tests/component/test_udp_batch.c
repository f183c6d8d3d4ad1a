/*
 * The default UDP socket's batching (udp.c): datagrams read with one
 * recvmmsg and answers sent with one sendmmsg inside ucoap_ep_process().
 * Over real loopback UDP: more requests than one batch holds must all be
 * answered, each exactly once, and datagrams already read when process()
 * stops at its limit must not be stranded (the fd no longer shows them).
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ucoap/endpoint.h>

#include "runner.h"
#include "udp.h"

static unsigned handled;

static void on_any(struct ucoap_ep *ep, const struct ucoap_msg *req,
		   const struct ucoap_addr *from, void *user)
{
	struct ucoap_msg r;

	handled++;
	ucoap_msg_init(&r, UCOAP_TYPE_ACK, UCOAP_CHANGED);
	ck_assert_int_eq(ucoap_ep_respond(ep, &r), 0);
}

static struct ucoap_ep *server(uint16_t *port)
{
	struct ucoap_ep *srv = ucoap_ep_new(NULL, NULL, NULL);
	struct ucoap_addr local;

	ck_assert_ptr_nonnull(srv);
	ck_assert_int_eq(ucoap_addr_set(&local, "127.0.0.1", 0), 0);
	ck_assert_int_eq(ucoap_ep_start_at(srv, &local), 0);
	ck_assert_int_eq(ucoap_ep_local_addr(srv, &local), 0);
	*port = ucoap_addr_port(&local);
	ucoap_ep_set_default_handler(srv, on_any, NULL);
	handled = 0;
	return srv;
}

/* A plain client socket that sends @n CON POSTs with message ids 1..n. */
static int flood(uint16_t port, unsigned n)
{
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (unsigned i = 1; i <= n; i++) {
		uint8_t d[] = {0x40,       0x02, (uint8_t)(i >> 8),
			       (uint8_t)i, 0xB1, 'x',
			       0xFF,       'v'};

		ck_assert_int_eq(sendto(fd, d, sizeof(d), 0,
					(struct sockaddr *)&to, sizeof(to)),
				 (ssize_t)sizeof(d));
	}
	return fd;
}

/* Collect ACKs on @fd until @n distinct message ids came or 2 s pass. */
static unsigned collect(int fd, unsigned n)
{
	static uint8_t seen[65536];
	unsigned got = 0;

	memset(seen, 0, sizeof(seen));
	while (got < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint8_t buf[64];
		ssize_t r;

		if (poll(&p, 1, 2000) <= 0)
			break;
		r = recv(fd, buf, sizeof(buf), 0);
		ck_assert_int_ge(r, 4);
		ck_assert_uint_eq(buf[0], 0x60); /* ACK, no token */
		ck_assert_uint_eq(buf[1], UCOAP_CHANGED);
		uint16_t mid = (uint16_t)(buf[2] << 8 | buf[3]);
		ck_assert_uint_eq(seen[mid], 0); /* each answered once */
		seen[mid] = 1;
		got++;
	}
	return got;
}

/* Let the kernel queue what was sent (loopback delivers at once). */
static void settle(void)
{
	usleep(50 * 1000);
}

START_TEST(test_more_than_a_batch_all_answered)
{
	enum { N = 3 * UCOAP_UDP_BATCH + 5 };
	uint16_t port;
	struct ucoap_ep *srv = server(&port);
	int fd = flood(port, N);

	settle();
	for (int i = 0; i < 100 && handled < N; i++) {
		struct pollfd p = {.fd = ucoap_ep_fd(srv), .events = POLLIN};

		if (ucoap_ep_next_timeout(srv) != 0)
			poll(&p, 1, 20);
		ck_assert_int_ge(ucoap_ep_process(srv, 0), 0);
	}
	ck_assert_uint_eq(handled, N);
	ck_assert_uint_eq(collect(fd, N), N);
	close(fd);
	ucoap_ep_free(srv);
}
END_TEST

START_TEST(test_held_datagrams_are_not_stranded)
{
	enum { N = UCOAP_UDP_BATCH };
	uint16_t port;
	struct ucoap_ep *srv = server(&port);
	int fd = flood(port, N);
	struct pollfd p;

	settle();
	/* Stop after 3: the other 13 were read by the same recvmmsg. */
	ck_assert_int_eq(ucoap_ep_process(srv, 3), 3);
	p = (struct pollfd){.fd = ucoap_ep_fd(srv), .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, 0), 0); /* the fd shows nothing */
	ck_assert_int_eq(ucoap_ep_next_timeout(srv), 0); /* but this does */
	ck_assert_int_eq(ucoap_ep_process(srv, 0), N - 3);
	ck_assert_uint_eq(handled, N);
	ck_assert_int_ne(ucoap_ep_next_timeout(srv), 0);
	ck_assert_uint_eq(collect(fd, N), N);
	close(fd);
	ucoap_ep_free(srv);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("udp_batch");
	TCase *tc = tcase_create("loopback");

	tcase_add_test(tc, test_more_than_a_batch_all_answered);
	tcase_add_test(tc, test_held_datagrams_are_not_stranded);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
