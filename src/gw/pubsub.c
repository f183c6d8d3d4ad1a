/*
 * gw_pubsub: the gateway's ps/ resources and .well-known/core (see
 * pubsub.h and the spec's "Publish/subscribe over CoAP").
 *
 * How a GET learns the last retained message. The broker is the only
 * authority on retained messages, so the gateway asks it each time
 * instead of mirroring it: a GET subscribes to the exact topic, the
 * broker sends the retained message (flagged retained, MQTT 3.1.1
 * §3.3.1.3, MQTT 5 §3.3.1.3) right after its SUBACK, and the request is
 * answered with a separate response (RFC 7252 §5.2.2) -- or with 4.04 once
 * GW_PUBSUB_RETAINED_WAIT_MS have passed without one. Then the
 * subscription goes again. A cache fed by permanent subscriptions to every
 * device's `subscribe` patterns was the alternative; it was not taken
 * because
 *  - a pattern like "#" would make the gateway mirror the broker's whole
 *    retained store, and a bounded cache that evicted an entry could no
 *    longer tell "no retained message" from "forgotten";
 *  - live messages arrive without the retain flag (no Retain As Published
 *    in mqtt.c, and none at all in MQTT 3.1.1), so a cache could not tell
 *    a new retained message from a passing one.
 * The cost is one SUBSCRIBE/UNSUBSCRIBE per GET and a short wait before a
 * 4.04; memory is two fixed tables sized in pubsub.h.
 *
 * Several GETs of one topic share its subscription. A topic the gateway
 * is subscribed to already (an observation of it, or a downlink route's
 * literal topic) is unsubscribed and subscribed again so the broker sends
 * the retained message once more; a subscription that is not ours is never
 * dropped.
 */
#include "pubsub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_int.h"
#include "log.h"
#include "loop.h"

/* Seconds a device should wait before asking again (RFC 7252 §5.9.3.4). */
#define PS_BUSY_MAX_AGE    5
#define PS_OFFLINE_MAX_AGE 10
/* Room for the .well-known/core document (one datagram). */
#define PS_LINKS_MAX 1024

struct ps_topic {
	bool used;
	bool owned;      /* the subscription is ours: drop it when done */
	bool subscribed; /* through this entry */
	int qos;
	unsigned waiters;
	char name[GW_PUBSUB_TOPIC_MAX];
};

/* A GET waiting for the broker's retained message. */
struct ps_waiter {
	bool used;
	unsigned topic; /* index in topics[] */
	struct ucoap_ep *ep;
	struct ucoap_deferred d;
	uint64_t deadline_ms;
};

struct gw_pubsub {
	struct gw_bridge *b;
	struct ps_topic topics[GW_PUBSUB_TOPICS];
	struct ps_waiter waiters[GW_PUBSUB_WAITERS];
	struct gw_ratelimit rl;
};

struct gw_pubsub *gw_pubsub_new(struct gw_bridge *b)
{
	struct gw_pubsub *ps = calloc(1, sizeof(*ps));

	if (ps)
		ps->b = b;
	return ps;
}

void gw_pubsub_free(struct gw_pubsub *ps)
{
	free(ps);
}

/* ---- answers ---- */

static void answer(struct ucoap_ep *ep, uint8_t code, uint32_t max_age)
{
	struct ucoap_msg resp;

	ucoap_msg_init(&resp, 0, code);
	if (max_age)
		ucoap_msg_add_uint(&resp, UCOAP_OPT_MAX_AGE, max_age);
	ucoap_ep_respond(ep, &resp);
}

/* Peer-controlled: debug level, rate-limited (STYLE 11). */
static void refuse(struct gw_pubsub *ps, struct ucoap_ep *ep,
		   const struct ucoap_addr *from, uint8_t code,
		   uint32_t max_age, const char *why)
{
	char who[UCOAP_ADDR_STRLEN], c[8];

	if (gw_log_enabled(GW_LOG_DEBUG) &&
	    gw_log_ratelimit(&ps->rl, gw_now_ms(), 20, 50)) {
		ucoap_addr_str(from, who, sizeof(who));
		gw_debug("%s: %s: %s", who, ucoap_code_str(code, c), why);
	}
	answer(ep, code, max_age);
}

static bool seg_is(const struct gw_seg *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->len == n && memcmp(s->p, lit, n) == 0;
}

static bool broker_connected(const struct gw_pubsub *ps)
{
	struct gw_mqtt_stats st;

	gw_mqtt_stats(ps->b->mqtt, &st);
	return st.connected;
}

/* ---- permissions ---- */

/* Does one of @n filters in @filters match @topic? */
static bool allowed(const char *const *filters, size_t n, const char *topic)
{
	size_t len = strlen(topic);

	for (size_t i = 0; i < n; i++)
		if (gw_topic_filter_match(filters[i], topic, len))
			return true;
	return false;
}

static bool may_publish(const struct gw_pubsub *ps, int dev, const char *topic)
{
	const struct gw_config_device *d;

	if (dev < 0)
		return false; /* unknown devices have no permissions */
	d = &ps->b->cfg->devices[dev];
	return allowed(d->publish, d->n_publish, topic);
}

static bool may_subscribe(const struct gw_pubsub *ps, int dev,
			  const char *topic)
{
	const struct gw_config_device *d;

	if (dev < 0)
		return false;
	d = &ps->b->cfg->devices[dev];
	return allowed(d->subscribe, d->n_subscribe, topic);
}

/* ---- the request: topic and query ---- */

/* Join @n segments with '/' into @buf. -ENOSPC when too long. */
static int join_topic(const struct gw_seg *segs, unsigned n, char *buf,
		      size_t cap)
{
	size_t len = 0;

	for (unsigned i = 0; i < n; i++) {
		if (len + (i ? 1 : 0) + segs[i].len + 1 > cap)
			return -ENOSPC;
		if (i)
			buf[len++] = '/';
		memcpy(buf + len, segs[i].p, segs[i].len);
		len += segs[i].len;
	}
	buf[len] = '\0';
	return (int)len;
}

struct ps_query {
	int qos;
	bool retain;
};

static bool view_is(const uint8_t *v, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(v, lit, len) == 0;
}

/*
 * Uri-Query arguments as the EMQX CoAP gateway has them: qos=0|1|2 and
 * retain=true|false. Its connection arguments c (client id), u, p and
 * token are accepted and ignored, so devices written for it work: here a
 * device is known by its address. Anything else is an error (never
 * guess): returns -EINVAL with *@why.
 */
static int parse_query(const struct ucoap_msg *req, struct ps_query *q,
		       const char **why)
{
	for (const struct ucoap_opt *o =
		 ucoap_msg_find(req, UCOAP_OPT_URI_QUERY);
	     o; o = ucoap_msg_find_next(req, o)) {
		const uint8_t *v = ucoap_opt_value(o);
		const uint8_t *eq = memchr(v, '=', o->len);
		size_t klen = eq ? (size_t)(eq - v) : o->len;
		const uint8_t *val = eq ? eq + 1 : v + o->len;
		size_t vlen = o->len - klen - (eq ? 1 : 0);

		if (view_is(v, klen, "qos")) {
			if (vlen != 1 || val[0] < '0' || val[0] > '2') {
				*why = "qos must be 0, 1 or 2";
				return -EINVAL;
			}
			q->qos = val[0] - '0';
		} else if (view_is(v, klen, "retain")) {
			if (view_is(val, vlen, "true"))
				q->retain = true;
			else if (view_is(val, vlen, "false"))
				q->retain = false;
			else {
				*why = "retain must be true or false";
				return -EINVAL;
			}
		} else if (!view_is(v, klen, "c") && !view_is(v, klen, "u") &&
			   !view_is(v, klen, "p") &&
			   !view_is(v, klen, "token")) {
			*why = "unknown query argument";
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- POST/PUT ps/<topic> ---- */

static void do_publish(struct gw_pubsub *ps, struct ucoap_ep *ep,
		       const struct ucoap_msg *req,
		       const struct ucoap_addr *from, int dev,
		       const char *topic, const struct ps_query *q)
{
	struct gw_bridge *b = ps->b;
	struct gw_mqtt_pub p = {.qos = q->qos, .retain = q->retain};
	int rc;

	if (!may_publish(ps, dev, topic)) {
		refuse(ps, ep, from, UCOAP_FORBIDDEN, 0,
		       "topic not in the device's publish patterns");
		return;
	}
	rc = gw_bridge_publish(b, topic, req->payload, req->payload_len, &p);
	switch (rc) {
	case 0:
		b->up++;
		gw_debug("ps: %s published %zu bytes to %s (qos %d%s)",
			 b->cfg->devices[dev].name, req->payload_len, topic,
			 q->qos, q->retain ? ", retained" : "");
		answer(ep, UCOAP_CHANGED, 0);
		return;
	case -ENOBUFS:
		/* As uplink: the device retries after Max-Age, nothing lost. */
		b->up_refused++;
		refuse(ps, ep, from, UCOAP_SERVICE_UNAVAILABLE, 30,
		       "queue full while the broker is away");
		return;
	case -EMSGSIZE:
		refuse(ps, ep, from, UCOAP_REQUEST_ENTITY_TOO_LARGE, 0,
		       "too large for the broker");
		return;
	case -EINVAL:
		refuse(ps, ep, from, UCOAP_BAD_REQUEST, 0,
		       "not a valid MQTT topic");
		return;
	default:
		gw_err("ps: publish to %s: %s", topic, strerror(-rc));
		answer(ep, UCOAP_INTERNAL_SERVER_ERROR, 0);
		return;
	}
}

/* ---- the topic table: one MQTT subscription per entry ---- */

static struct ps_topic *topic_find(struct gw_pubsub *ps, const char *name)
{
	for (unsigned i = 0; i < GW_PUBSUB_TOPICS; i++)
		if (ps->topics[i].used && strcmp(ps->topics[i].name, name) == 0)
			return &ps->topics[i];
	return NULL;
}

static struct ps_topic *topic_get(struct gw_pubsub *ps, const char *name)
{
	struct ps_topic *t = topic_find(ps, name);

	if (t)
		return t;
	for (unsigned i = 0; i < GW_PUBSUB_TOPICS; i++) {
		t = &ps->topics[i];
		if (t->used)
			continue;
		memset(t, 0, sizeof(*t));
		t->used = true;
		snprintf(t->name, sizeof(t->name), "%s", name);
		return t;
	}
	return NULL;
}

/*
 * Make the broker send @t's retained message (again). A subscription
 * that exists already -- ours or a route's -- is sent anew: MQTT sends
 * retained messages only when a subscription is made.
 */
static int topic_subscribe(struct gw_pubsub *ps, struct ps_topic *t, int qos)
{
	struct gw_mqtt *m = ps->b->mqtt;
	int rc = gw_mqtt_subscribe(m, t->name, qos);

	if (rc == -EEXIST) {
		if (!t->subscribed)
			t->owned = false; /* a route's: never drop it */
		gw_mqtt_unsubscribe(m, t->name);
		rc = gw_mqtt_subscribe(m, t->name, qos);
	} else if (rc == 0) {
		t->owned = true;
	}
	if (rc < 0) {
		gw_warn("ps: cannot subscribe to %s: %s", t->name,
			strerror(-rc));
		return rc;
	}
	t->subscribed = true;
	t->qos = qos;
	return 0;
}

/* Drop @t once nothing needs it any more. */
static void topic_release(struct gw_pubsub *ps, struct ps_topic *t)
{
	if (t->waiters)
		return;
	if (t->subscribed && t->owned)
		gw_mqtt_unsubscribe(ps->b->mqtt, t->name);
	t->used = false;
}

/* ---- GET ps/<topic> ---- */

static void waiter_done(struct gw_pubsub *ps, struct ps_waiter *w, uint8_t code,
			const void *payload, size_t len)
{
	struct ps_topic *t = &ps->topics[w->topic];
	struct ucoap_msg resp;
	int rc;

	ucoap_msg_init(&resp, 0, code);
	resp.payload = len ? payload : NULL;
	resp.payload_len = len;
	rc = ucoap_ep_respond_deferred(w->ep, &w->d, &resp, NULL, NULL);
	if (rc < 0 && gw_log_ratelimit(&ps->rl, gw_now_ms(), 1, 5))
		gw_warn("ps: answer on %s not sent: %s", t->name,
			ucoap_strerror(rc));
	w->used = false;
	t->waiters--;
	topic_release(ps, t);
}

static void do_get(struct gw_pubsub *ps, struct ucoap_ep *ep,
		   const struct ucoap_addr *from, int dev, const char *topic,
		   const struct ps_query *q)
{
	struct ps_waiter *w = NULL;
	struct ps_topic *t;
	bool fresh;

	if (!may_subscribe(ps, dev, topic)) {
		refuse(ps, ep, from, UCOAP_FORBIDDEN, 0,
		       "topic not in the device's subscribe patterns");
		return;
	}
	if (!broker_connected(ps)) {
		refuse(ps, ep, from, UCOAP_SERVICE_UNAVAILABLE,
		       PS_OFFLINE_MAX_AGE, "broker away: retained unknown");
		return;
	}
	for (unsigned i = 0; i < GW_PUBSUB_WAITERS && !w; i++)
		if (!ps->waiters[i].used)
			w = &ps->waiters[i];
	t = w ? topic_get(ps, topic) : NULL;
	if (!t) {
		refuse(ps, ep, from, UCOAP_SERVICE_UNAVAILABLE, PS_BUSY_MAX_AGE,
		       "too many lookups at once");
		return;
	}
	/*
	 * A GET joining one already waiting shares its answer: the retained
	 * message that comes for it is the current one for both.
	 */
	fresh = t->waiters == 0;
	if (fresh && topic_subscribe(ps, t, q->qos) < 0) {
		topic_release(ps, t);
		answer(ep, UCOAP_INTERNAL_SERVER_ERROR, 0);
		return;
	}
	if (ucoap_ep_defer(ep, &w->d) < 0) {
		topic_release(ps, t);
		answer(ep, UCOAP_INTERNAL_SERVER_ERROR, 0);
		return;
	}
	w->used = true;
	w->ep = ep;
	w->topic = (unsigned)(t - ps->topics);
	w->deadline_ms = gw_now_ms() + GW_PUBSUB_RETAINED_WAIT_MS;
	t->waiters++;
}

bool gw_pubsub_on_message(struct gw_pubsub *ps, const struct gw_mqtt_msg *msg)
{
	struct ps_topic *t = topic_find(ps, msg->topic);
	bool answered = false;

	if (!t || !msg->retain)
		return false;
	for (unsigned i = 0; i < GW_PUBSUB_WAITERS; i++) {
		struct ps_waiter *w = &ps->waiters[i];

		if (w->used && &ps->topics[w->topic] == t) {
			/* t may be released by the last one: keep its index. */
			waiter_done(ps, w, UCOAP_CONTENT, msg->payload,
				    msg->len);
			answered = true;
		}
	}
	return answered;
}

void gw_pubsub_on_local_publish(struct gw_pubsub *ps, const char *topic,
				const void *payload, size_t len)
{
	(void)ps;
	(void)topic;
	(void)payload;
	(void)len;
}

int gw_pubsub_next_timeout(const struct gw_pubsub *ps, uint64_t now)
{
	uint64_t first = UINT64_MAX;

	for (unsigned i = 0; i < GW_PUBSUB_WAITERS; i++)
		if (ps->waiters[i].used && ps->waiters[i].deadline_ms < first)
			first = ps->waiters[i].deadline_ms;
	if (first == UINT64_MAX)
		return -1;
	return first <= now ? 0 : (int)(first - now);
}

void gw_pubsub_tick(struct gw_pubsub *ps, uint64_t now)
{
	for (unsigned i = 0; i < GW_PUBSUB_WAITERS; i++) {
		struct ps_waiter *w = &ps->waiters[i];

		if (w->used && now >= w->deadline_ms)
			waiter_done(ps, w, UCOAP_NOT_FOUND, NULL, 0);
	}
}

void gw_pubsub_reload(struct gw_pubsub *ps)
{
	(void)ps;
}

/* ---- .well-known/core (RFC 6690) ---- */

static bool links_add(char *buf, size_t cap, size_t *len, const char *fmt,
		      const char *a, const char *b)
{
	int n = snprintf(buf + *len, cap - *len, "%s", *len ? "," : "");

	if (n < 0 || (size_t)n >= cap - *len)
		return false;
	*len += (size_t)n;
	n = snprintf(buf + *len, cap - *len, fmt, a, b);
	if (n < 0 || (size_t)n >= cap - *len)
		return false;
	*len += (size_t)n;
	return true;
}

static void do_wellknown(struct gw_pubsub *ps, struct ucoap_ep *ep,
			 const struct ucoap_msg *req,
			 const struct ucoap_addr *from)
{
	char buf[PS_LINKS_MAX];
	size_t len = 0;
	struct ucoap_msg resp;

	(void)req;
	if (!links_add(buf, sizeof(buf), &len, "</%s>;rt=\"%s\"", "ps",
		       "core.ps")) {
		refuse(ps, ep, from, UCOAP_INTERNAL_SERVER_ERROR, 0,
		       "link format document too large");
		return;
	}
	ucoap_msg_init(&resp, 0, UCOAP_CONTENT);
	ucoap_msg_add_uint(&resp, UCOAP_OPT_CONTENT_FORMAT,
			   UCOAP_CF_LINK_FORMAT);
	resp.payload = (const uint8_t *)buf;
	resp.payload_len = len;
	ucoap_ep_respond(ep, &resp);
}

/* ---- dispatch ---- */

bool gw_pubsub_on_request(struct gw_pubsub *ps, struct ucoap_ep *ep,
			  const struct ucoap_msg *req,
			  const struct ucoap_addr *from, int dev,
			  const struct gw_seg *segs, unsigned n)
{
	char topic[GW_PUBSUB_TOPIC_MAX];
	struct ps_query q = {.qos = ps->b->cfg->mqtt.qos};
	const char *why = NULL;

	if (n == 2 && seg_is(&segs[0], ".well-known") &&
	    seg_is(&segs[1], "core")) {
		if (req->code != UCOAP_GET)
			refuse(ps, ep, from, UCOAP_METHOD_NOT_ALLOWED, 0,
			       ".well-known/core takes GET");
		else
			do_wellknown(ps, ep, req, from);
		return true;
	}
	if (n == 0 || !seg_is(&segs[0], "ps"))
		return false;
	if (n == 1) {
		refuse(ps, ep, from, UCOAP_BAD_REQUEST, 0, "ps/ with no topic");
		return true;
	}
	if (join_topic(segs + 1, n - 1, topic, sizeof(topic)) < 0) {
		refuse(ps, ep, from, UCOAP_BAD_REQUEST, 0, "topic too long");
		return true;
	}
	if (gw_topic_valid(topic, strlen(topic), &why) < 0 ||
	    parse_query(req, &q, &why) < 0) {
		refuse(ps, ep, from, UCOAP_BAD_REQUEST, 0, why);
		return true;
	}
	switch (req->code) {
	case UCOAP_POST:
	case UCOAP_PUT:
		do_publish(ps, ep, req, from, dev, topic, &q);
		break;
	case UCOAP_GET:
		do_get(ps, ep, from, dev, topic, &q);
		break;
	default:
		refuse(ps, ep, from, UCOAP_METHOD_NOT_ALLOWED, 0,
		       "ps/ takes GET, POST and PUT");
		break;
	}
	return true;
}
