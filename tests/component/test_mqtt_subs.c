/*
 * gw_mqtt's shared subscriptions (mqtt.h: reference-counted filters) --
 * the bookkeeping alone, then against a real mosquitto started per test
 * on a free loopback port with every packet logged (log_type all), so
 * what the client sent is read from the broker's own log: one line
 * "CLIENT QOS FILTER" per subscription, "CLIENT FILTER" per unsubscription.
 *
 * Before the log is read, the client publishes a marker and waits for it
 * to come back (MQTT 3.1.1, no No Local): the broker handles a client's
 * packets in order, so everything sent before the marker is in the log.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "mqtt.h"
#include "runner.h"

#define CLIENT_ID "subs-gw"

/* Lines of the broker's log ending in ": @what" (e.g. CLIENT_ID " cmd/#"
 * for an UNSUBSCRIBE, CLIENT_ID " 1 cmd/#" for a SUBSCRIBE at QoS 1). */
static int log_count(const struct broker *b, const char *what)
{
	char line[512], tail[256];
	FILE *f = fopen(b->log, "r");
	int n = 0;

	ck_assert_ptr_nonnull(f);
	snprintf(tail, sizeof(tail), ": %s\n", what);
	while (fgets(line, sizeof(line), f)) {
		size_t l = strlen(line), t = strlen(tail);

		n += l >= t && strcmp(line + l - t, tail) == 0;
	}
	fclose(f);
	return n;
}

/* What the client received: topics and retain flags, in order. */
struct rx {
	int n;
	char topic[64][64];
	bool retain[64];
};

static void on_message(void *user, const struct gw_mqtt_msg *msg)
{
	struct rx *r = user;

	if (r->n < 64) {
		snprintf(r->topic[r->n], sizeof(r->topic[0]), "%s", msg->topic);
		r->retain[r->n++] = msg->retain;
	}
}

static const struct gw_mqtt_cbs cbs = {.on_message = on_message};

struct until {
	struct gw_mqtt *m;
	struct rx *r;
	const char *topic; /* NULL: until connected */
};

static bool reached(const struct until *u)
{
	struct gw_mqtt_stats st;

	if (!u->topic) {
		gw_mqtt_stats(u->m, &st);
		return st.connected;
	}
	for (int i = 0; i < u->r->n; i++)
		if (!strcmp(u->r->topic[i], u->topic))
			return true;
	return false;
}

/* Run the client's loop until @u is reached (failing after 5 s). */
static void drive(const struct until *u)
{
	uint64_t deadline = now_ms() + 5000;

	while (!reached(u)) {
		struct pollfd p = {gw_mqtt_fd(u->m), gw_mqtt_events(u->m), 0};
		int t = gw_mqtt_next_timeout(u->m, now_ms()), n;

		ck_assert_msg(now_ms() < deadline, "never got %s",
			      u->topic ? u->topic : "connected");
		if (t < 0 || t > 20)
			t = 20;
		n = poll(&p, p.fd >= 0 ? 1 : 0, t);
		ck_assert_int_ge(n, 0);
		gw_mqtt_dispatch(u->m, n > 0 ? p.revents : 0, now_ms());
	}
}

static struct gw_mqtt *client(const struct broker *b, struct rx *r)
{
	struct gw_mqtt_opts o = {.host = "127.0.0.1",
				 .port = (uint16_t)b->port,
				 .client_id = CLIENT_ID,
				 .protocol = GW_MQTT_V311,
				 .keepalive = 30,
				 .queue_limit = 100};
	struct gw_mqtt *m = gw_mqtt_new(&o, &cbs, r);

	ck_assert_ptr_nonnull(m);
	return m;
}

static void connect_now(struct gw_mqtt *m)
{
	struct until u = {m, NULL, NULL};

	ck_assert_int_eq(gw_mqtt_start(m, now_ms()), 0);
	drive(&u);
}

/* The client's own marker comes back: the broker has handled (and
 * logged) every packet the client sent before it. */
static void barrier(struct gw_mqtt *m, struct rx *r)
{
	static int seq;
	char topic[32];
	struct until u = {m, r, topic};

	snprintf(topic, sizeof(topic), "mark/%d", ++seq);
	ck_assert_int_eq(gw_mqtt_publish(m, topic, "x", 1, NULL), 0);
	drive(&u);
}

/* Someone else publishes @topic; then a marker of ours comes back. */
static void outside_pub(const struct broker *b, struct gw_mqtt *m, struct rx *r,
			const char *topic, bool retain)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd),
		 "mosquitto_pub -h 127.0.0.1 -p %d -q 1 %s -t '%s' -m p",
		 b->port, retain ? "-r" : "", topic);
	ck_assert_int_eq(system(cmd), 0);
	barrier(m, r);
}

static int received(const struct rx *r, const char *topic)
{
	int n = 0;

	for (int i = 0; i < r->n; i++)
		n += !strcmp(r->topic[i], topic);
	return n;
}

START_TEST(test_refcount_bookkeeping)
{
	struct broker b = {.port = 1}; /* never started: no traffic */
	struct rx r = {0};
	struct gw_mqtt *m = client(&b, &r);
	int qos = -1;

	ck_assert_uint_eq(gw_mqtt_sub_refs(m, "a/#", &qos), 0);
	ck_assert_int_eq(qos, -1);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "a/#", 0), 0);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "a/#", 1), 0);
	ck_assert_uint_eq(gw_mqtt_sub_refs(m, "a/#", &qos), 2);
	ck_assert_int_eq(qos, 1);
	/* A lower QoS does not lower it while held. */
	ck_assert_int_eq(gw_mqtt_subscribe(m, "a/#", 0), 0);
	ck_assert_uint_eq(gw_mqtt_sub_refs(m, "a/#", &qos), 3);
	ck_assert_int_eq(qos, 1);
	/* Filters are compared exactly. */
	ck_assert_uint_eq(gw_mqtt_sub_refs(m, "a/+", NULL), 0);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "a/+", 2), 0);
	ck_assert_uint_eq(gw_mqtt_sub_refs(m, "a/#", NULL), 3);

	ck_assert_int_eq(gw_mqtt_unsubscribe(m, "a/#"), 0);
	ck_assert_int_eq(gw_mqtt_unsubscribe(m, "a/#"), 0);
	ck_assert_uint_eq(gw_mqtt_sub_refs(m, "a/#", &qos), 1);
	ck_assert_int_eq(qos, 1);
	/* Resubscribing takes no reference; offline it sends nothing. */
	ck_assert_int_eq(gw_mqtt_resubscribe(m, "a/#"), 0);
	ck_assert_uint_eq(gw_mqtt_sub_refs(m, "a/#", NULL), 1);
	ck_assert_int_eq(gw_mqtt_unsubscribe(m, "a/#"), 0);
	ck_assert_uint_eq(gw_mqtt_sub_refs(m, "a/#", NULL), 0);
	ck_assert_int_eq(gw_mqtt_unsubscribe(m, "a/#"), -ENOENT);
	ck_assert_int_eq(gw_mqtt_resubscribe(m, "a/#"), -ENOENT);
	/* Gone means gone: a new first reference starts at its own QoS. */
	ck_assert_int_eq(gw_mqtt_subscribe(m, "a/#", 0), 0);
	ck_assert_uint_eq(gw_mqtt_sub_refs(m, "a/#", &qos), 1);
	ck_assert_int_eq(qos, 0);
	ck_assert_uint_eq(gw_mqtt_sub_refs(m, "a/+", &qos), 1);
	ck_assert_int_eq(qos, 2);

	ck_assert_int_eq(gw_mqtt_subscribe(m, "a/#", 3), -EINVAL);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "a/#", -1), -EINVAL);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "a/#/b", 0), -EINVAL);
	ck_assert_int_eq(gw_mqtt_subscribe(m, NULL, 0), -EINVAL);
	ck_assert_uint_eq(gw_mqtt_sub_refs(m, "a/#", NULL), 1);
	ck_assert_int_eq(gw_mqtt_unsubscribe(m, NULL), -ENOENT);
	ck_assert_int_eq(gw_mqtt_resubscribe(m, NULL), -ENOENT);
	ck_assert_uint_eq(gw_mqtt_sub_refs(m, NULL, NULL), 0);
	gw_mqtt_free(m);
}
END_TEST

START_TEST(test_shared_filter_at_the_broker)
{
	struct broker b;
	struct rx r = {0};
	struct gw_mqtt *m;

	broker_init(&b, true, NULL);
	broker_start(&b);
	m = client(&b, &r);
	/* Two owners before the connection: one SUBSCRIBE at CONNACK. */
	ck_assert_int_eq(gw_mqtt_subscribe(m, "cmd/#", 0), 0);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "cmd/#", 0), 0);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "mark/#", 0), 0);
	connect_now(m);
	barrier(m, &r); /* the SUBSCRIBEs sent at CONNACK are in place */
	outside_pub(&b, m, &r, "cmd/a", false);
	ck_assert_int_eq(received(&r, "cmd/a"), 1);
	ck_assert_int_eq(log_count(&b, CLIENT_ID " 0 cmd/#"), 1);

	/* The first owner leaves: nothing is sent, commands still come. */
	ck_assert_int_eq(gw_mqtt_unsubscribe(m, "cmd/#"), 0);
	outside_pub(&b, m, &r, "cmd/b", false);
	ck_assert_int_eq(received(&r, "cmd/b"), 1);
	ck_assert_int_eq(log_count(&b, CLIENT_ID " cmd/#"), 0);

	/* A new owner with a higher QoS: SUBSCRIBE again, no UNSUBSCRIBE;
	 * one with a lower QoS: nothing. */
	ck_assert_int_eq(gw_mqtt_subscribe(m, "cmd/#", 1), 0);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "cmd/#", 0), 0);
	outside_pub(&b, m, &r, "cmd/c", false);
	ck_assert_int_eq(received(&r, "cmd/c"), 1);
	ck_assert_int_eq(log_count(&b, CLIENT_ID " 1 cmd/#"), 1);
	ck_assert_int_eq(log_count(&b, CLIENT_ID " 0 cmd/#"), 1);
	ck_assert_int_eq(log_count(&b, CLIENT_ID " cmd/#"), 0);
	ck_assert_uint_eq(gw_mqtt_sub_refs(m, "cmd/#", NULL), 3);

	/* The last owner leaves: one UNSUBSCRIBE, and no more commands. */
	ck_assert_int_eq(gw_mqtt_unsubscribe(m, "cmd/#"), 0);
	ck_assert_int_eq(gw_mqtt_unsubscribe(m, "cmd/#"), 0);
	barrier(m, &r);
	ck_assert_int_eq(log_count(&b, CLIENT_ID " cmd/#"), 0);
	ck_assert_int_eq(gw_mqtt_unsubscribe(m, "cmd/#"), 0);
	barrier(m, &r);
	ck_assert_int_eq(log_count(&b, CLIENT_ID " cmd/#"), 1);
	outside_pub(&b, m, &r, "cmd/d", false);
	ck_assert_int_eq(received(&r, "cmd/d"), 0);
	ck_assert_int_eq(received(&r, "cmd/c"), 1);
	gw_mqtt_free(m);
	broker_cleanup(&b);
}
END_TEST

START_TEST(test_resubscribe_brings_retained)
{
	struct broker b;
	struct rx r = {0};
	struct gw_mqtt *m;
	int first;

	broker_init(&b, true, NULL);
	broker_start(&b);
	m = client(&b, &r);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "mark/#", 0), 0);
	connect_now(m);
	outside_pub(&b, m, &r, "ret/x", true);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "ret/x", 1), 0);
	barrier(m, &r);
	ck_assert_int_eq(received(&r, "ret/x"), 1);
	first = 0;
	while (strcmp(r.topic[first], "ret/x"))
		first++;
	ck_assert(r.retain[first]);

	/* A second owner at the same QoS: nothing sent, nothing again. */
	ck_assert_int_eq(gw_mqtt_subscribe(m, "ret/x", 1), 0);
	barrier(m, &r);
	ck_assert_int_eq(received(&r, "ret/x"), 1);
	ck_assert_int_eq(log_count(&b, CLIENT_ID " 1 ret/x"), 1);

	/* Resubscribed: the retained message again, flagged, and the
	 * subscription never went away (no UNSUBSCRIBE). */
	ck_assert_int_eq(gw_mqtt_resubscribe(m, "ret/x"), 0);
	barrier(m, &r);
	ck_assert_int_eq(received(&r, "ret/x"), 2);
	ck_assert(r.retain[r.n - 2]);
	ck_assert_str_eq(r.topic[r.n - 2], "ret/x");
	ck_assert_int_eq(log_count(&b, CLIENT_ID " 1 ret/x"), 2);
	ck_assert_int_eq(log_count(&b, CLIENT_ID " ret/x"), 0);
	ck_assert_uint_eq(gw_mqtt_sub_refs(m, "ret/x", NULL), 2);
	gw_mqtt_free(m);
	broker_cleanup(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mqtt_subs");
	TCase *tc = tcase_create("mqtt_subs");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_refcount_bookkeeping);
	tcase_add_test(tc, test_shared_filter_at_the_broker);
	tcase_add_test(tc, test_resubscribe_brings_retained);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
