/*
 * The endpoint over real UDP on loopback: a server on [::]:0 (dual-stack)
 * answered by clients on 127.0.0.1 and ::1, driven through microCoAPy's
 * poll() and loop(). Real time, but nothing here asserts on it: the poll
 * limits only keep a broken build from hanging.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ucoap/endpoint.h>

#include "runner.h"

static char seen_from[UCOAP_ADDR_STRLEN];
static char answer[UCOAP_ADDR_STRLEN];
static int status = 1;
static unsigned ndone;

static void on_whoami(struct ucoap_ep *ep, const struct ucoap_msg *req,
		      const struct ucoap_addr *from, void *user)
{
	struct ucoap_msg r;
	int n = ucoap_addr_str(from, seen_from, sizeof(seen_from));

	ck_assert_int_gt(n, 0);
	ucoap_msg_init(&r, UCOAP_TYPE_ACK, UCOAP_CONTENT);
	r.payload = (const uint8_t *)seen_from;
	r.payload_len = (size_t)n;
	ck_assert_int_eq(ucoap_ep_respond(ep, &r), 0);
}

static void on_done(struct ucoap_ep *ep, int st, const struct ucoap_msg *m,
		    const struct ucoap_addr *from, void *user)
{
	ndone++;
	status = st;
	if (st == 0) {
		ck_assert_uint_lt(m->payload_len, sizeof(answer));
		memcpy(answer, m->payload, m->payload_len);
		answer[m->payload_len] = '\0';
	}
}

static struct ucoap_ep *server(uint16_t *port)
{
	struct ucoap_ep *srv = ucoap_ep_new(NULL, NULL, NULL);
	struct ucoap_addr local;
	char buf[UCOAP_ADDR_STRLEN];

	ck_assert_ptr_nonnull(srv);
	ck_assert_int_eq(ucoap_ep_start(srv, 0), 0);
	ck_assert_int_eq(ucoap_ep_start(srv, 0), UCOAP_ERR_STATE);
	ck_assert_int_ge(ucoap_ep_fd(srv), 0);
	ck_assert_int_eq(ucoap_ep_local_addr(srv, &local), 0);
	*port = ucoap_addr_port(&local);
	ck_assert_uint_ne(*port, 0);
	ck_assert_int_gt(ucoap_addr_str(&local, buf, sizeof(buf)), 0);
	ck_assert_int_eq(
	    ucoap_ep_add_request_callback(srv, "whoami", on_whoami, NULL), 0);
	return srv;
}

/* One GET /whoami from a client bound at @bind to @dst:@port. */
static void roundtrip(struct ucoap_ep *srv, const char *bind, const char *dst,
		      uint16_t port)
{
	struct ucoap_ep *cli = ucoap_ep_new(NULL, NULL, NULL);
	struct ucoap_addr local, to;
	struct ucoap_msg req;
	char want[UCOAP_ADDR_STRLEN];

	ck_assert_ptr_nonnull(cli);
	ck_assert_int_eq(ucoap_addr_parse(&local, bind, 0), 0);
	ck_assert_int_eq(ucoap_ep_start_at(cli, &local), 0);
	ck_assert_int_eq(ucoap_ep_local_addr(cli, &local), 0);
	ck_assert_int_gt(ucoap_addr_str(&local, want, sizeof(want)), 0);
	ck_assert_int_eq(ucoap_addr_set(&to, dst, port), 0);
	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	ck_assert_int_eq(ucoap_msg_set_uri(&req, "whoami"), 0);
	ndone = 0;
	ck_assert_int_eq(
	    ucoap_ep_request(cli, &to, &req, 0, on_done, NULL, NULL), 0);
	/* The request is waiting in the server's socket: poll() takes it. */
	ck_assert(ucoap_ep_poll(srv, 5000, 20));
	ck_assert(ucoap_ep_poll(cli, 5000, 20));
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(status, 0);
	/* The server saw the client's address as the client knows it. */
	ck_assert_str_eq(seen_from, want);
	ck_assert_str_eq(answer, want);
	ucoap_ep_free(cli);
}

START_TEST(test_dual_stack_v4_client)
{
	uint16_t port;
	struct ucoap_ep *srv = server(&port);

	roundtrip(srv, "127.0.0.1:0", "127.0.0.1", port);
	/* An IPv4 socket sending to the mapped form of an IPv4 address. */
	roundtrip(srv, "127.0.0.1:0", "::ffff:127.0.0.1", port);
	ucoap_ep_free(srv);
}
END_TEST

static bool have_ipv6_loopback(void)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6,
				 .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

START_TEST(test_dual_stack_v6_client)
{
	uint16_t port;
	struct ucoap_ep *srv;

	if (!have_ipv6_loopback()) {
		fprintf(stderr, "no IPv6 loopback here: test skipped\n");
		return;
	}
	srv = server(&port);
	roundtrip(srv, "[::1]:0", "::1", port);
	/* And both families on the one socket, one after the other. */
	roundtrip(srv, "127.0.0.1:0", "127.0.0.1", port);
	ucoap_ep_free(srv);
}
END_TEST

START_TEST(test_start_fd_and_blocking_loop)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct ucoap_ep *srv = ucoap_ep_new(NULL, NULL, NULL);
	struct ucoap_ep *cli = ucoap_ep_new(NULL, NULL, NULL);
	struct ucoap_addr local;
	uint16_t port;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	port = ntohs(a.sin_port);
	ck_assert_int_eq(ucoap_ep_start_fd(srv, fd), 0);
	ck_assert_int_eq(ucoap_ep_fd(srv), fd);
	ck_assert_int_eq(ucoap_ep_local_addr(srv, &local), 0);
	ck_assert_uint_eq(ucoap_addr_port(&local), port);
	ucoap_ep_add_request_callback(srv, "whoami", on_whoami, NULL);
	ck_assert_int_eq(ucoap_addr_parse(&local, "127.0.0.1:0", 0), 0);
	ck_assert_int_eq(ucoap_ep_start_at(cli, &local), 0);
	ucoap_ep_set_response_callback(cli, on_done, NULL);
	ck_assert_uint_ne(ucoap_get(cli, "127.0.0.1", port, "whoami", NULL, 0),
			  0);
	/* Blocking loop: returns once the datagram is handled. */
	ck_assert(ucoap_ep_loop(srv, true));
	ck_assert(ucoap_ep_loop(cli, true));
	ck_assert_uint_eq(ndone, 1);
	ck_assert_int_eq(status, 0);
	/* Nothing more waiting: a non-blocking loop says so. */
	ck_assert(!ucoap_ep_loop(srv, false));
	ucoap_ep_stop(srv);
	ck_assert_int_eq(ucoap_ep_fd(srv), -1);
	ck_assert_int_eq(ucoap_ep_process(srv, 0), UCOAP_ERR_STATE);
	ucoap_ep_free(srv);
	ucoap_ep_free(cli);
}
END_TEST

START_TEST(test_port_in_use)
{
	uint16_t port;
	struct ucoap_ep *srv = server(&port);
	struct ucoap_ep *two = ucoap_ep_new(NULL, NULL, NULL);

	ck_assert_int_eq(ucoap_ep_start(two, port), UCOAP_ERR_IO);
	ck_assert_int_eq(errno, EADDRINUSE);
	ucoap_ep_free(two);
	ucoap_ep_free(srv);
}
END_TEST

static Suite *udp_suite(void)
{
	Suite *s = suite_create("endpoint_udp");
	TCase *tc = tcase_create("loopback");

	tcase_add_test(tc, test_dual_stack_v4_client);
	tcase_add_test(tc, test_dual_stack_v6_client);
	tcase_add_test(tc, test_start_fd_and_blocking_loop);
	tcase_add_test(tc, test_port_in_use);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(udp_suite());
}
