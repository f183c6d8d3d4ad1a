/*
 * gw_mqtt against a real mosquitto broker that each test starts on a free
 * loopback port with its own config file. What the client sent is checked
 * through what an independent subscriber (mosquitto_sub, a child process)
 * receives; what it receives, through mosquitto_pub.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "mqtt.h"
#include "runner.h"

/* mosquitto_sub as a child writing one "M|topic|qos|retain|payload|corr|
 * props" line per message to a file. */
struct sub {
	char out[160];
	pid_t pid;
};

static void sub_start(struct sub *s, const struct broker *b, const char *topic,
		      const char *const *extra)
{
	char port[16], *argv[32];
	const char *fmt = "M|%t|%q|%r|%p|%D|%P";
	int n = 0, fd;
	uint64_t deadline = now_ms() + 5000;

	snprintf(s->out, sizeof(s->out), "%s/sub.%d", b->dir, rand());
	snprintf(port, sizeof(port), "%d", b->port);
	/* Line-buffered: the "SUBACK" debug line shows readiness. */
	argv[n++] = "stdbuf";
	argv[n++] = "-oL";
	argv[n++] = "mosquitto_sub";
	argv[n++] = "-d";
	argv[n++] = "-h";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = port;
	argv[n++] = "-q";
	argv[n++] = "1";
	argv[n++] = "-t";
	argv[n++] = (char *)topic;
	argv[n++] = "-F";
	argv[n++] = (char *)fmt;
	while (extra && *extra)
		argv[n++] = (char *)*extra++;
	argv[n] = NULL;
	fd = open(s->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		execvp("stdbuf", argv);
		_exit(127);
	}
	close(fd);
	/* Ready once the broker acknowledged the subscription. */
	for (;;) {
		char buf[8192];
		FILE *f = fopen(s->out, "r");
		size_t len = 0;

		if (f) {
			len = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
		}
		buf[len] = 0;
		if (strstr(buf, "SUBACK"))
			break;
		ck_assert_msg(now_ms() < deadline, "mosquitto_sub not ready");
		usleep(10000);
	}
}

static void sub_stop(struct sub *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

/* The message lines received so far (without "M|"), up to @max. */
static int sub_lines(const struct sub *s, char lines[][256], int max)
{
	FILE *f = fopen(s->out, "r");
	char buf[512];
	int n = 0;

	if (!f)
		return 0;
	while (n < max && fgets(buf, sizeof(buf), f)) {
		if (strncmp(buf, "M|", 2))
			continue;
		buf[strcspn(buf, "\n")] = 0;
		snprintf(lines[n++], 256, "%.250s", buf + 2);
	}
	fclose(f);
	return n;
}

/* Run the client's loop for @ms, or until @until(arg) is true. */
static void drive(struct gw_mqtt *m, int ms, bool (*until)(void *), void *arg)
{
	uint64_t deadline = now_ms() + (uint64_t)ms;

	for (;;) {
		struct pollfd p = {gw_mqtt_fd(m), gw_mqtt_events(m), 0};
		uint64_t now = now_ms();
		int t = gw_mqtt_next_timeout(m, now), n;

		if (until && until(arg))
			return;
		if (now >= deadline)
			return;
		if (t < 0 || (uint64_t)t > deadline - now)
			t = (int)(deadline - now);
		if (t > 20)
			t = 20; /* re-check @until often */
		n = poll(&p, p.fd >= 0 ? 1 : 0, t);
		ck_assert_int_ge(n, 0);
		gw_mqtt_dispatch(m, n > 0 ? p.revents : 0, now_ms());
	}
}

static bool is_connected(void *arg)
{
	struct gw_mqtt_stats st;

	gw_mqtt_stats(arg, &st);
	return st.connected;
}

struct want {
	const struct sub *s;
	int n;
};

static bool sub_has(void *arg)
{
	static char lines[256][256];
	struct want *w = arg;

	return sub_lines(w->s, lines, 256) >= w->n;
}

/* Drive the client until the subscriber has @n lines, then return them. */
static int expect_lines(struct gw_mqtt *m, const struct sub *s, int n,
			char lines[][256], int max)
{
	struct want w = {s, n};

	drive(m, 5000, sub_has, &w);
	return sub_lines(s, lines, max);
}

static struct gw_mqtt *client(const struct broker *b, int protocol,
			      size_t limit, const struct gw_mqtt_cbs *cbs,
			      void *user)
{
	struct gw_mqtt_opts o = {
	    .host = "127.0.0.1",
	    .port = (uint16_t)b->port,
	    .client_id = "test-gw",
	    .protocol = protocol,
	    .keepalive = 30,
	    .will_topic = "gw/state",
	    .will_payload = "offline",
	    .birth_payload = "online",
	    .queue_limit = limit,
	};
	struct gw_mqtt *m = gw_mqtt_new(&o, cbs, user);

	ck_assert_ptr_nonnull(m);
	return m;
}

static void connect_now(struct gw_mqtt *m)
{
	ck_assert_int_eq(gw_mqtt_start(m, now_ms()), 0);
	drive(m, 5000, is_connected, m);
	ck_assert(is_connected(m));
}

static void publish_qos_retain(int protocol)
{
	struct broker b;
	struct sub s, late;
	struct gw_mqtt *m;
	char lines[8][256];
	struct gw_mqtt_pub q1 = {.qos = 1}, ret = {.qos = 1, .retain = true};
	struct gw_mqtt_stats st;

	broker_init(&b, false, NULL);
	broker_start(&b);
	sub_start(&s, &b, "t/#", NULL);
	m = client(&b, protocol, 100, NULL, NULL);
	connect_now(m);
	ck_assert_int_eq(gw_mqtt_publish(m, "t/a", "zero", 4, NULL), 0);
	ck_assert_int_eq(gw_mqtt_publish(m, "t/b", "one", 3, &q1), 0);
	ck_assert_int_eq(gw_mqtt_publish(m, "t/r", "kept", 4, &ret), 0);
	ck_assert_int_eq(expect_lines(m, &s, 3, lines, 8), 3);
	ck_assert_str_eq(lines[0], "t/a|0|0|zero||");
	ck_assert_str_eq(lines[1], "t/b|1|0|one||");
	ck_assert_str_eq(lines[2], "t/r|1|0|kept||");
	drive(m, 100, NULL, NULL);
	ck_assert_uint_eq(gw_mqtt_pending(m), 0);
	gw_mqtt_stats(m, &st);
	ck_assert_uint_eq(st.published, 4); /* 3 + the birth message */
	ck_assert_uint_eq(st.queued_total, 0);

	/* A late subscriber gets the retained message, flagged retained. */
	sub_start(&late, &b, "t/r", NULL);
	ck_assert_int_eq(expect_lines(m, &late, 1, lines, 8), 1);
	ck_assert_str_eq(lines[0], "t/r|1|1|kept||");

	sub_stop(&late);
	sub_stop(&s);
	gw_mqtt_free(m);
	broker_cleanup(&b);
}

START_TEST(test_v311_publish)
{
	publish_qos_retain(GW_MQTT_V311);
}
END_TEST

START_TEST(test_v5_publish)
{
	publish_qos_retain(GW_MQTT_V5);
}
END_TEST

START_TEST(test_v5_properties_sent)
{
	static const char *const v5[] = {"-V", "mqttv5", NULL};
	struct broker b;
	struct sub s;
	struct gw_mqtt *m;
	char lines[4][256];
	struct gw_mqtt_pub p = {.qos = 1,
				.correlation = "c0rr",
				.correlation_len = 4,
				.user_prop_name = "coap-code",
				.user_prop_value = "2.05"};

	broker_init(&b, false, NULL);
	broker_start(&b);
	sub_start(&s, &b, "resp/#", v5);
	m = client(&b, GW_MQTT_V5, 100, NULL, NULL);
	connect_now(m);
	ck_assert_int_eq(gw_mqtt_publish(m, "resp/1", "22.5", 4, &p), 0);
	ck_assert_int_eq(expect_lines(m, &s, 1, lines, 4), 1);
	ck_assert_str_eq(lines[0], "resp/1|1|0|22.5|c0rr|coap-code:2.05");
	sub_stop(&s);
	gw_mqtt_free(m);
	broker_cleanup(&b);
}
END_TEST

/* What on_message saw. */
struct rx {
	int n;
	char topic[8][64];
	char payload[8][64];
	char rtopic[8][64];
	char corr[8][64];
	bool retain[8];
	int connects, disconnects;
};

static void rx_msg(void *user, const struct gw_mqtt_msg *msg)
{
	struct rx *r = user;

	if (r->n >= 8)
		return;
	snprintf(r->topic[r->n], 64, "%s", msg->topic);
	snprintf(r->payload[r->n], 64, "%.*s", (int)msg->len,
		 (const char *)msg->payload);
	snprintf(r->rtopic[r->n], 64, "%s",
		 msg->response_topic ? msg->response_topic : "-");
	snprintf(r->corr[r->n], 64, "%.*s", (int)msg->correlation_len,
		 msg->correlation ? (const char *)msg->correlation : "");
	r->retain[r->n] = msg->retain;
	r->n++;
}

static void rx_connect(void *user)
{
	((struct rx *)user)->connects++;
}

static void rx_disconnect(void *user, const char *reason)
{
	ck_assert_ptr_nonnull(reason);
	((struct rx *)user)->disconnects++;
}

static const struct gw_mqtt_cbs rx_cbs = {rx_connect, rx_disconnect, rx_msg};

static bool rx_has_topic(void *arg)
{
	struct rx *r = arg;
	int i;

	for (i = 0; i < r->n; i++)
		if (!strcmp(r->topic[i], "mark/done"))
			return true;
	return false;
}

/* mosquitto_pub one message (@extra: more arguments). */
static void pub(const struct broker *b, const char *topic, const char *msg,
		const char *const *extra)
{
	char port[16], *argv[32];
	int n = 0, status;
	pid_t pid;

	snprintf(port, sizeof(port), "%d", b->port);
	argv[n++] = "mosquitto_pub";
	argv[n++] = "-h";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = port;
	argv[n++] = "-q";
	argv[n++] = "1";
	argv[n++] = "-t";
	argv[n++] = (char *)topic;
	argv[n++] = "-m";
	argv[n++] = (char *)msg;
	while (extra && *extra)
		argv[n++] = (char *)*extra++;
	argv[n] = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execvp("mosquitto_pub", argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "mosquitto_pub failed");
}

/* Publish externally until the client got "mark/done" (the subscription
 * may still be on its way), so the messages before it were delivered. */
static void mark_and_wait(struct gw_mqtt *m, const struct broker *b,
			  struct rx *r)
{
	int i;

	for (i = 0; i < 25 && !rx_has_topic(r); i++) {
		pub(b, "mark/done", "x", NULL);
		drive(m, 200, rx_has_topic, r);
	}
	ck_assert(rx_has_topic(r));
}

/* Which of our filters each copy of ov/x came through. */
struct via_rx {
	struct gw_mqtt *m;
	struct rx r; /* for mark_and_wait */
	int copies, via_wild, via_exact, via_other, without_ids;
};

static void via_msg(void *user, const struct gw_mqtt_msg *msg)
{
	struct via_rx *v = user;

	rx_msg(&v->r, msg);
	if (strcmp(msg->topic, "ov/x"))
		return;
	v->copies++;
	v->via_wild += gw_mqtt_msg_via(v->m, msg, "ov/#");
	v->via_exact += gw_mqtt_msg_via(v->m, msg, "ov/x");
	v->via_other += gw_mqtt_msg_via(v->m, msg, "mark/#");
	v->without_ids += msg->n_sub_ids == 0;
}

static const struct gw_mqtt_cbs via_cbs = {NULL, NULL, via_msg};

/*
 * Two of our filters match one message: mosquitto sends an MQTT 5 client
 * a copy for each, and each copy says which subscription it came through,
 * so each owner takes one; with 3.1.1 nothing tells, and every copy
 * counts.
 */
START_TEST(test_overlapping_filters_via)
{
	int protocol = _i ? GW_MQTT_V311 : GW_MQTT_V5;
	struct broker b;
	struct via_rx v = {0};

	broker_init(&b, false, NULL);
	broker_start(&b);
	v.m = client(&b, protocol, 100, &via_cbs, &v);
	ck_assert_int_eq(gw_mqtt_subscribe(v.m, "ov/#", 1), 0);
	ck_assert_int_eq(gw_mqtt_subscribe(v.m, "ov/x", 1), 0);
	ck_assert_int_eq(gw_mqtt_subscribe(v.m, "mark/#", 1), 0);
	connect_now(v.m);
	mark_and_wait(v.m, &b, &v.r);
	v.r.n = 0;
	pub(&b, "ov/x", "1", NULL);
	mark_and_wait(v.m, &b, &v.r);
	if (protocol == GW_MQTT_V5) {
		/* mosquitto 2.0: one copy per subscription with an id */
		ck_assert_int_eq(v.copies, 2);
		ck_assert_int_eq(v.without_ids, 0);
		ck_assert_int_eq(v.via_wild, 1);
		ck_assert_int_eq(v.via_exact, 1);
		ck_assert_int_eq(v.via_other, 0);
	} else {
		/* mosquitto 2.0 sends a 3.1.1 client one copy */
		ck_assert_int_ge(v.copies, 1);
		ck_assert_int_eq(v.without_ids, v.copies);
		ck_assert_int_eq(v.via_wild, v.copies);
		ck_assert_int_eq(v.via_exact, v.copies);
	}
	gw_mqtt_free(v.m);
	broker_cleanup(&b);
}
END_TEST

START_TEST(test_subscribe_v5_response_topic)
{
	static const char *const v5[] = {
	    "-V",     "mqttv5", "-D",      "publish",          "response-topic",
	    "back/1", "-D",     "publish", "correlation-data", "id-42",
	    NULL};
	struct broker b;
	struct gw_mqtt *m;
	struct rx r = {0};

	broker_init(&b, false, NULL);
	broker_start(&b);
	m = client(&b, GW_MQTT_V5, 100, &rx_cbs, &r);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "cmd/#", 1), 0);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "mark/#", 1), 0);
	/* A second owner of cmd/# (mqtt.h: reference-counted). */
	ck_assert_int_eq(gw_mqtt_subscribe(m, "cmd/#", 1), 0);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "cmd/a+", 1), -EINVAL);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "cmd/#/x", 1), -EINVAL);
	connect_now(m);
	ck_assert_int_eq(r.connects, 1);
	mark_and_wait(m, &b, &r);
	r.n = 0;
	pub(&b, "cmd/led/set", "on", v5);
	pub(&b, "cmd/plain", "p", NULL);
	pub(&b, "mark/done", "x", NULL);
	drive(m, 5000, rx_has_topic, &r);
	ck_assert_int_eq(r.n, 3);
	ck_assert_str_eq(r.topic[0], "cmd/led/set");
	ck_assert_str_eq(r.payload[0], "on");
	ck_assert_str_eq(r.rtopic[0], "back/1");
	ck_assert_str_eq(r.corr[0], "id-42");
	ck_assert(!r.retain[0]);
	ck_assert_str_eq(r.topic[1], "cmd/plain");
	ck_assert_str_eq(r.rtopic[1], "-");
	ck_assert_str_eq(r.corr[1], "");

	/* A retained message arrives flagged on a new subscription. */
	pub(&b, "old/cmd", "stale", (const char *const[]){"-r", NULL});
	ck_assert_int_eq(gw_mqtt_subscribe(m, "old/#", 1), 0);
	r.n = 0;
	pub(&b, "mark/done", "x", NULL);
	drive(m, 5000, rx_has_topic, &r);
	ck_assert_int_eq(r.n, 2);
	ck_assert_str_eq(r.topic[0], "old/cmd");
	ck_assert(r.retain[0]);

	/* Unsubscribed by both owners: no more. */
	ck_assert_int_eq(gw_mqtt_unsubscribe(m, "cmd/#"), 0);
	ck_assert_int_eq(gw_mqtt_unsubscribe(m, "cmd/#"), 0);
	ck_assert_int_eq(gw_mqtt_unsubscribe(m, "cmd/#"), -ENOENT);
	drive(m, 100, NULL, NULL);
	r.n = 0;
	pub(&b, "cmd/led/set", "off", NULL);
	pub(&b, "mark/done", "x", NULL);
	drive(m, 5000, rx_has_topic, &r);
	ck_assert_int_eq(r.n, 1);
	gw_mqtt_free(m);
	broker_cleanup(&b);
}
END_TEST

/* With v5 (No Local) the client never gets its own publish back; with
 * 3.1.1 it does (which is why the bridge avoids command topics). */
static int own_echo(int protocol)
{
	struct broker b;
	struct gw_mqtt *m;
	struct rx r = {0};
	struct gw_mqtt_pub q1 = {.qos = 1};
	int i, own = 0;

	broker_init(&b, false, NULL);
	broker_start(&b);
	m = client(&b, protocol, 100, &rx_cbs, &r);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "loop/#", 1), 0);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "mark/#", 1), 0);
	connect_now(m);
	mark_and_wait(m, &b, &r);
	r.n = 0;
	ck_assert_int_eq(gw_mqtt_publish(m, "loop/own", "me", 2, &q1), 0);
	drive(m, 200, NULL, NULL);
	pub(&b, "loop/other", "them", NULL);
	pub(&b, "mark/done", "x", NULL);
	drive(m, 5000, rx_has_topic, &r);
	for (i = 0; i < r.n; i++)
		own += !strcmp(r.topic[i], "loop/own");
	ck_assert_str_eq(r.topic[r.n - 2], "loop/other");
	gw_mqtt_free(m);
	broker_cleanup(&b);
	return own;
}

START_TEST(test_no_local_v5)
{
	ck_assert_int_eq(own_echo(GW_MQTT_V5), 0);
	ck_assert_int_eq(own_echo(GW_MQTT_V311), 1);
}
END_TEST

START_TEST(test_will_on_kill)
{
	struct broker b;
	struct sub s;
	struct gw_mqtt *m;
	char lines[4][256];
	struct want w;
	pid_t child;

	broker_init(&b, false, NULL);
	broker_start(&b);
	sub_start(&s, &b, "gw/state", NULL);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		m = client(&b, GW_MQTT_V5, 100, NULL, NULL);
		gw_mqtt_start(m, now_ms());
		drive(m, 10000, NULL, NULL);
		_exit(0);
	}
	w = (struct want){&s, 1};
	for (int i = 0; i < 500 && !sub_has(&w); i++)
		usleep(10000);
	ck_assert_int_eq(sub_lines(&s, lines, 4), 1);
	ck_assert_str_eq(lines[0], "gw/state|1|0|online||");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	w.n = 2;
	for (int i = 0; i < 500 && !sub_has(&w); i++)
		usleep(10000);
	ck_assert_int_eq(sub_lines(&s, lines, 4), 2);
	ck_assert_str_eq(lines[1], "gw/state|1|0|offline||");
	sub_stop(&s);
	broker_cleanup(&b);
}
END_TEST

START_TEST(test_shutdown_publishes_offline)
{
	struct broker b;
	struct sub s;
	struct gw_mqtt *m;
	char lines[4][256];
	struct want w;
	struct gw_mqtt_pub q1 = {.qos = 1};

	broker_init(&b, false, NULL);
	broker_start(&b);
	sub_start(&s, &b, "gw/#", NULL);
	m = client(&b, GW_MQTT_V311, 100, NULL, NULL);
	connect_now(m);
	ck_assert_int_eq(gw_mqtt_publish(m, "gw/last", "data", 4, &q1), 0);
	ck_assert_int_eq(gw_mqtt_shutdown(m, true, 3000), 0);
	ck_assert_uint_eq(gw_mqtt_pending(m), 0);
	ck_assert_int_eq(gw_mqtt_fd(m), -1);
	w = (struct want){&s, 3};
	for (int i = 0; i < 300 && !sub_has(&w); i++)
		usleep(10000);
	usleep(100000); /* a Will after the clean stop would show here */
	ck_assert_int_eq(sub_lines(&s, lines, 4), 3);
	ck_assert_str_eq(lines[0], "gw/state|1|0|online||");
	ck_assert_str_eq(lines[1], "gw/last|1|0|data||");
	ck_assert_str_eq(lines[2], "gw/state|1|0|offline||");
	gw_mqtt_free(m);
	sub_stop(&s);
	broker_cleanup(&b);
}
END_TEST

static bool is_down(void *arg)
{
	return !is_connected(arg);
}

static bool nothing_pending(void *arg)
{
	return gw_mqtt_pending(arg) == 0;
}

START_TEST(test_queue_while_down_drains_in_order)
{
	enum { N = 60 };
	struct broker b;
	struct sub s;
	struct gw_mqtt *m;
	struct rx r = {0};
	static char lines[N + 4][256];
	struct gw_mqtt_stats st;
	struct gw_mqtt_pub q1 = {.qos = 1};
	int i, n;

	broker_init(&b, false, NULL);
	broker_start(&b);
	m = client(&b, GW_MQTT_V311, 1000, &rx_cbs, &r);
	connect_now(m);
	/* The birth message must be acknowledged before the broker goes, or
	 * it stays pending beside the N readings. */
	drive(m, 3000, nothing_pending, m);
	ck_assert_uint_eq(gw_mqtt_pending(m), 0);
	broker_stop(&b, SIGTERM);
	drive(m, 3000, is_down, m);
	ck_assert(!is_connected(m));
	ck_assert_int_eq(r.disconnects, 1);
	for (i = 0; i < N; i++) {
		char p[16];

		snprintf(p, sizeof(p), "%d", i);
		ck_assert_int_eq(gw_mqtt_publish(m, "q/seq", p, strlen(p), &q1),
				 0);
	}
	gw_mqtt_stats(m, &st);
	ck_assert_uint_eq(st.queued, N);
	ck_assert_uint_eq(st.queued_total, N);
	ck_assert_uint_eq(gw_mqtt_pending(m), N);

	/* The client is not driven while the broker and the subscriber come
	 * back, so it cannot reconnect before the subscriber is ready. */
	broker_start(&b);
	sub_start(&s, &b, "q/#", NULL);
	n = expect_lines(m, &s, N, lines, N + 4);
	ck_assert_int_eq(n, N);
	for (i = 0; i < N; i++) {
		char want[64];

		snprintf(want, sizeof(want), "q/seq|1|0|%d||", i);
		ck_assert_str_eq(lines[i], want);
	}
	drive(m, 100, NULL, NULL);
	gw_mqtt_stats(m, &st);
	ck_assert_uint_eq(st.queued, 0);
	ck_assert_uint_eq(st.reconnects, 1);
	ck_assert_int_eq(r.connects, 2);
	ck_assert_uint_eq(gw_mqtt_pending(m), 0);
	sub_stop(&s);
	gw_mqtt_free(m);
	broker_cleanup(&b);
}
END_TEST

START_TEST(test_queue_full)
{
	struct broker b;
	struct gw_mqtt *m, *m2;
	struct gw_mqtt_stats st;
	struct gw_mqtt_pub q1 = {.qos = 1};
	int i;

	broker_init(&b, false, NULL); /* never started: nothing listens */
	m = client(&b, GW_MQTT_V311, 5, NULL, NULL);
	ck_assert_int_eq(gw_mqtt_start(m, now_ms()), 0);
	ck_assert_int_eq(gw_mqtt_start(m, now_ms()), -EALREADY);
	drive(m, 100, NULL, NULL);
	ck_assert(!is_connected(m));
	ck_assert_int_eq(gw_mqtt_fd(m), -1);
	ck_assert_int_gt(gw_mqtt_next_timeout(m, now_ms()), 0);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(gw_mqtt_publish(m, "a/b", "x", 1, &q1), 0);
	ck_assert_int_eq(gw_mqtt_publish(m, "a/b", "x", 1, &q1), -ENOBUFS);
	ck_assert_int_eq(gw_mqtt_publish(m, "a/b", "x", 1, NULL), -ENOBUFS);
	gw_mqtt_stats(m, &st);
	ck_assert_uint_eq(st.queued, 5);
	ck_assert_uint_eq(st.refused, 2);
	ck_assert_uint_eq(gw_mqtt_pending(m), 5);
	ck_assert_int_eq(gw_mqtt_shutdown(m, true, 100), -ENOTCONN);

	/* A replacement client (SIGHUP) takes the queue over, in order. */
	m2 = client(&b, GW_MQTT_V311, 5, NULL, NULL);
	ck_assert_int_eq(gw_mqtt_publish(m2, "a/c", "y", 1, NULL), 0);
	ck_assert_uint_eq(gw_mqtt_adopt_queue(m2, m), 5);
	ck_assert_uint_eq(gw_mqtt_pending(m), 0);
	ck_assert_uint_eq(gw_mqtt_pending(m2), 6);
	ck_assert_int_eq(gw_mqtt_publish(m2, "a/b", "x", 1, NULL), -ENOBUFS);
	gw_mqtt_free(m);
	gw_mqtt_free(m2);
	broker_cleanup(&b);
}
END_TEST

/* What the bridge does at each connect: publish state, and a reading. */
struct at_connect {
	struct gw_mqtt *m;
	int state_rc, reading_rc;
	int connects;
};

static void at_connect_cb(void *user)
{
	struct at_connect *a = user;
	struct gw_mqtt_pub st = {.qos = 1, .retain = true, .state = true};
	struct gw_mqtt_pub q1 = {.qos = 1};

	a->connects++;
	a->state_rc = gw_mqtt_publish(a->m, "st/dev", "online", 6, &st);
	a->reading_rc = gw_mqtt_publish(a->m, "q/late", "x", 1, &q1);
}

static const struct gw_mqtt_cbs at_connect_cbs = {at_connect_cb, NULL, NULL};

static bool at_connected(void *arg)
{
	return ((struct at_connect *)arg)->connects > 0;
}

START_TEST(test_state_taken_when_queue_full)
{
	struct broker b;
	struct sub s;
	struct at_connect a = {0};
	struct gw_mqtt_pub q1 = {.qos = 1}, st = {.qos = 1, .state = true};
	static char lines[8][256];
	int n;

	broker_init(&b, false, NULL);
	a.m = client(&b, GW_MQTT_V311, 3, &at_connect_cbs, &a);
	ck_assert_int_eq(gw_mqtt_start(a.m, now_ms()), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(gw_mqtt_publish(a.m, "q/r", "x", 1, &q1), 0);
	/* not connected: state waits for the connect, it is not queued */
	ck_assert_int_eq(gw_mqtt_publish(a.m, "st/dev", "old", 3, &st),
			 -ENOBUFS);
	broker_start(&b);
	sub_start(&s, &b, "st/#", NULL);
	drive(a.m, 5000, at_connected, &a);
	ck_assert_int_eq(a.connects, 1);
	/* at connect the 3 readings still fill the queue */
	ck_assert_int_eq(a.reading_rc, -ENOBUFS);
	ck_assert_int_eq(a.state_rc, 0);
	n = expect_lines(a.m, &s, 1, lines, 8);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(lines[0],
			 "st/dev|1|0|online||"); /* live: no retain flag */
	sub_stop(&s);
	gw_mqtt_free(a.m);
	broker_cleanup(&b);
}
END_TEST

START_TEST(test_bad_topics)
{
	static const char *const bad[] = {
	    "",
	    "a/+",
	    "a/#",
	    "#",
	    "+",
	    "$SYS/x",
	    "a\xff",
	    "\xc0\xaf",
	    "a\x01b",
	    "\xed\xa0\x80",
	    "a\x7f",
	    "\xef\xbf\xbf",
	    "\xf4\x90\x80\x80",
	    "\xe2\x82",
	};
	struct broker b;
	struct gw_mqtt *m;
	struct gw_mqtt_stats st;
	char *big;
	size_t i;

	broker_init(&b, false, NULL);
	m = client(&b, GW_MQTT_V311, 100, NULL, NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(gw_mqtt_publish(m, bad[i], "x", 1, NULL) ==
				  -EINVAL,
			      "topic %zu accepted", i);
	big = malloc(65537);
	memset(big, 'a', 65536);
	big[65536] = 0;
	ck_assert_int_eq(gw_mqtt_publish(m, big, "x", 1, NULL), -EINVAL);
	big[65535] = 0;
	ck_assert_int_eq(gw_mqtt_topic_check(big), 0);
	for (i = 0; i < 201; i++) {
		big[2 * i] = 'a';
		big[2 * i + 1] = '/';
	}
	big[401] = 0; /* 201 levels */
	ck_assert_int_eq(gw_mqtt_topic_check(big), -EINVAL);
	big[399] = 0; /* 200 levels */
	ck_assert_int_eq(gw_mqtt_topic_check(big), 0);
	free(big);
	gw_mqtt_stats(m, &st);
	ck_assert_uint_eq(st.rejected_topic, sizeof(bad) / sizeof(bad[0]) + 1);
	ck_assert_uint_eq(st.queued, 0);

	ck_assert_int_eq(gw_mqtt_topic_check("a/b c/\xc3\xbc/\xf0\x9f\x98\x80"),
			 0);
	ck_assert_int_eq(gw_mqtt_publish(m, "/", "x", 1, NULL), 0);
	ck_assert_int_eq(
	    gw_mqtt_publish(m, "a/b", "x", 1, &(struct gw_mqtt_pub){.qos = 3}),
	    -EINVAL);
	ck_assert_int_eq(
	    gw_mqtt_publish(m, "a/b", "x", 1,
			    &(struct gw_mqtt_pub){.user_prop_name = "n"}),
	    -EINVAL);
	gw_mqtt_free(m);
	broker_cleanup(&b);
}
END_TEST

static int count_in_file(const char *path, const char *needle)
{
	char buf[512];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(buf, sizeof(buf), f))
		n += strstr(buf, needle) != NULL;
	fclose(f);
	return n;
}

START_TEST(test_password)
{
	static const char *const creds[] = {"-u", "gw", "-P", "s3cret", NULL};
	struct broker b;
	struct sub s;
	struct gw_mqtt *m;
	char extra[256], cmd[512], lines[4][256];
	struct gw_mqtt_opts o = {.host = "127.0.0.1",
				 .client_id = "pw-client",
				 .username = "gw",
				 .password = "s3cret",
				 .protocol = GW_MQTT_V5,
				 .keepalive = 30,
				 .queue_limit = 10};

	broker_init(&b, false, "allow_anonymous false\npassword_file PWFILE");
	snprintf(cmd, sizeof(cmd),
		 "mosquitto_passwd -b -c %s/passwd gw s3cret >/dev/null 2>&1",
		 b.dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(extra, sizeof(extra), "sed -i 's|PWFILE|%s/passwd|' %s", b.dir,
		 b.conf);
	ck_assert_int_eq(system(extra), 0);
	broker_start(&b);
	o.port = (uint16_t)b.port;
	sub_start(&s, &b, "pw/#", creds);

	m = gw_mqtt_new(&o, NULL, NULL);
	ck_assert_ptr_nonnull(m);
	connect_now(m);
	ck_assert_int_eq(gw_mqtt_publish(m, "pw/ok", "1", 1, NULL), 0);
	ck_assert_int_eq(expect_lines(m, &s, 1, lines, 4), 1);
	ck_assert_str_eq(lines[0], "pw/ok|0|0|1||");
	gw_mqtt_free(m);

	/* Wrong password: refused, retried with backoff, no crash. */
	o.client_id = "pw-wrong";
	o.password = "nope";
	m = gw_mqtt_new(&o, NULL, NULL);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(gw_mqtt_start(m, now_ms()), 0);
	drive(m, 1500, NULL, NULL);
	ck_assert(!is_connected(m));
	ck_assert_int_eq(gw_mqtt_publish(m, "pw/no", "1", 1, NULL), 0);
	ck_assert_uint_eq(gw_mqtt_pending(m), 1);
	ck_assert_int_ge(count_in_file(b.log, "disconnected, not authorised"),
			 2);
	gw_mqtt_free(m);
	sub_stop(&s);
	broker_cleanup(&b);
}
END_TEST

START_TEST(test_resubscribe_after_restart)
{
	struct broker b;
	struct gw_mqtt *m;
	struct rx r = {0};
	struct gw_mqtt_stats st;
	int i;

	broker_init(&b, false, NULL);
	broker_start(&b);
	m = client(&b, GW_MQTT_V5, 100, &rx_cbs, &r);
	ck_assert_int_eq(gw_mqtt_subscribe(m, "mark/#", 1), 0);
	connect_now(m);
	mark_and_wait(m, &b, &r);

	broker_stop(&b, SIGKILL);
	drive(m, 3000, is_down, m);
	ck_assert_int_eq(r.disconnects, 1);
	broker_start(&b);
	drive(m, 5000, is_connected, m);
	ck_assert(is_connected(m));
	r.n = 0;
	/* The re-subscription is sent with the CONNACK handling; once the
	 * broker answered it, the marker arrives. */
	for (i = 0; i < 25 && !rx_has_topic(&r); i++) {
		pub(&b, "mark/done", "again", NULL);
		drive(m, 200, rx_has_topic, &r);
	}
	ck_assert(rx_has_topic(&r));
	gw_mqtt_stats(m, &st);
	ck_assert_uint_eq(st.reconnects, 1);
	ck_assert_int_eq(r.connects, 2);
	gw_mqtt_free(m);
	broker_cleanup(&b);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("mqtt");
	TCase *tc = tcase_create("broker");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_v311_publish);
	tcase_add_test(tc, test_v5_publish);
	tcase_add_test(tc, test_v5_properties_sent);
	tcase_add_test(tc, test_subscribe_v5_response_topic);
	tcase_add_loop_test(tc, test_overlapping_filters_via, 0, 2);
	tcase_add_test(tc, test_no_local_v5);
	tcase_add_test(tc, test_will_on_kill);
	tcase_add_test(tc, test_shutdown_publishes_offline);
	tcase_add_test(tc, test_queue_while_down_drains_in_order);
	tcase_add_test(tc, test_queue_full);
	tcase_add_test(tc, test_state_taken_when_queue_full);
	tcase_add_test(tc, test_bad_topics);
	tcase_add_test(tc, test_password);
	tcase_add_test(tc, test_resubscribe_after_restart);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	gw_log_init(GW_LOG_WARNING);

	return run_suite(suite());
}
