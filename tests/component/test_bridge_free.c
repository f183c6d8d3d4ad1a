/*
 * gw_bridge_free() with downlink commands still in the bridge's hands, as
 * on the daemon's fatal exit path (a poll error), where gw_bridge_stop()
 * never ran.
 *
 * The bridge listens on two real loopback sockets (passed in as socket
 * activation does) and a device is a UDP socket the test holds without
 * ever answering. Three commands for the device: the first goes out (NSTART
 * = 1, RFC 7252 §4.7), two wait behind it. Freeing the first endpoint
 * cancels the request in flight; the bridge must not start the next
 * command then, on the other endpoint: freeing that one would cancel it
 * in turn and start the third, looking for an endpoint among those
 * already freed (a use after free the sanitizer build reports). So the
 * device receives exactly one request, the one sent before the free.
 *
 * No broker is needed: the MQTT client points at a port nothing listens
 * on, and the commands are handed to the bridge as its MQTT callback
 * would (bridge_int.h).
 */
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bridge_int.h"
#include "config.h"
#include "runner.h"

/* A UDP socket bound to 127.0.0.1 on a port the kernel picks. */
static int udp_socket(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	if (port)
		*port = ntohs(a.sin_port);
	return fd;
}

/* A TCP port on 127.0.0.1 that refuses connections while @fd is open. */
static int closed_tcp_port(int *fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*fd, 0);
	ck_assert_int_eq(bind(*fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

static void report(void *user, const char *file, unsigned line,
		   const char *message)
{
	(void)user;
	fprintf(stderr, "%s:%u: %s\n", file, line, message);
}

static struct gw_config *load(int mqtt_port, int dev_port)
{
	char path[] = "/tmp/test_bridge_free.XXXXXX";
	struct gw_config *cfg = NULL;
	int fd = mkstemp(path);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"gateway = { id = \"t\"; base_topic = \"gw\"; "
		"default_routes = true; };\n"
		"coap = { listen = [ \"127.0.0.1:5683\", \"127.0.0.1:5684\" ]; "
		"};\n"
		"mqtt = { host = \"127.0.0.1\"; port = %d; };\n"
		"devices = ( { name = \"dev\"; address = \"127.0.0.1\"; "
		"port = %d; } );\n",
		mqtt_port, dev_port);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(gw_config_load(path, &cfg, report, NULL), 0);
	unlink(path);
	return cfg;
}

static void command(struct gw_bridge *b, const char *topic)
{
	struct gw_mqtt_msg m = {.topic = topic, .payload = "", .qos = 1};

	gw_downlink_on_message(b, &m);
}

/* Datagrams waiting on @fd now. */
static int datagrams(int fd)
{
	uint8_t buf[2048];
	int n = 0;

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

START_TEST(free_with_commands_waiting)
{
	int tcp, dev_port, fds[2];
	int mqtt_port = closed_tcp_port(&tcp);
	int dev = udp_socket(&dev_port);
	struct gw_bridge *b = NULL;

	fds[0] = udp_socket(NULL);
	fds[1] = udp_socket(NULL);
	ck_assert_int_eq(gw_bridge_new(load(mqtt_port, dev_port), fds, 2, &b),
			 0);
	ck_assert_uint_eq(b->n_ep, 2);

	command(b, "gw/dev/a/get");
	command(b, "gw/dev/b/get");
	command(b, "gw/dev/c/get");
	/* One in flight, two waiting for it. */
	ck_assert(b->dev[0].inflight);
	ck_assert_uint_eq(b->dev[0].waiting, 2);
	ck_assert_int_eq(datagrams(dev), 1);

	gw_bridge_free(b);
	/* Nothing was started while the endpoints went away. */
	ck_assert_int_eq(datagrams(dev), 0);
	close(dev);
	close(tcp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bridge_free");
	TCase *tc = tcase_create("free");

	tcase_add_test(tc, free_with_commands_waiting);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
