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
 * Observing ps/<topic> (RFC 7641) keeps the topic's subscription while
 * it has observers; every message on it becomes a notification (the
 * endpoint runs the request handler again for each observer, which lands
 * in gw_pubsub_on_notify() and answers with the message). A registration
 * is answered at once with the last message seen on the topic, or an
 * empty 2.05 when none is known yet; the retained message that the new
 * subscription brings is then the first notification. A retained message
 * that arrives again (a resubscription, a reconnect) is notified only when
 * it differs from the last one, so observers see changes, not repeats.
 *
 * Several GETs of one topic share its subscription. A topic the gateway
 * is subscribed to already (an observation of it, or a downlink route's
 * literal topic) gets its SUBSCRIBE sent again so the broker sends the
 * retained message once more; a SUBSCRIBE replaces the subscription in
 * place (MQTT §3.8.4), so a route on the same topic never misses a
 * command meanwhile. A topic entry holds one reference on the filter
 * (mqtt.h) from its first subscription until it is released: a route's
 * or discovery's reference on the same filter is theirs, never dropped
 * here.
 */
#include "pubsub.h"

#include <ucoap/link.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_int.h"
#include "log.h"
#include "loop.h"
#include "route.h"

/* Seconds a device should wait before asking again (RFC 7252 §5.9.3.4). */
#define PS_BUSY_MAX_AGE    5
#define PS_OFFLINE_MAX_AGE 10
/* The .well-known/core link that names the function set itself. */
#define PS_LINK_PS    "/ps"
#define PS_LINK_PS_RT "core.ps"
#define PS_LINK_DATA  "core.ps.data"
/* How often observed topics are checked for observers that left. */
#define PS_SWEEP_MS 1000

struct ps_topic {
	bool used;
	bool subscribed; /* this entry holds a reference on the filter */
	int qos;
	bool observed; /* observers registered (count them to be sure) */
	bool have_last;
	bool have_ret; /* the last retained message seen: its length, hash */
	unsigned waiters;
	size_t last_len, ret_len;
	uint32_t ret_hash;
	char name[GW_PUBSUB_TOPIC_MAX];
	uint8_t last[GW_PUBSUB_LAST_MAX];
};

enum ps_notify_mode {
	PS_NOTIFY,  /* send ps->cur's message */
	PS_RECHECK, /* after a reload: end observers that lost permission */
};

/* A GET waiting for the broker's retained message. */
struct ps_waiter {
	bool used;
	unsigned topic; /* index in topics[] */
	struct ucoap_ep *ep;
	struct ucoap_deferred d;
	uint64_t deadline_ms;
};

/*
 * The buffers .well-known/core is written with, sized from the config
 * (wk_size()) so that nothing is allocated per request: the link table,
 * the hrefs and the document itself.
 */
struct ps_wk {
	struct ucoap_link *l;
	size_t l_cap;
	char *pool;
	size_t pool_cap;
	char *doc;
	size_t doc_cap;
};

struct gw_pubsub {
	struct gw_bridge *b;
	struct ps_wk wk;
	size_t doc_max; /* the largest document served (gw_pubsub_new) */
	bool wk_warned; /* links left out: said once per config */
	struct ps_topic topics[GW_PUBSUB_TOPICS];
	struct ps_waiter waiters[GW_PUBSUB_WAITERS];
	struct gw_ratelimit rl;
	uint64_t sweep_ms; /* next check of observed topics for leavers */
	/* What gw_pubsub_on_notify() answers, set around ucoap_ep_notify(). */
	struct {
		struct ps_topic *t;
		enum ps_notify_mode mode;
		const void *payload;
		size_t len;
	} cur;
};

static int wk_size(struct gw_pubsub *ps);

static void wk_cleanup(struct ps_wk *wk)
{
	free(wk->l);
	free(wk->pool);
	free(wk->doc);
}

struct gw_pubsub *gw_pubsub_new(struct gw_bridge *b, size_t doc_max)
{
	struct gw_pubsub *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return NULL;
	ps->b = b;
	ps->doc_max = doc_max;
	if (wk_size(ps) < 0) {
		free(ps);
		return NULL;
	}
	return ps;
}

void gw_pubsub_free(struct gw_pubsub *ps)
{
	if (!ps)
		return;
	wk_cleanup(&ps->wk);
	free(ps);
}

/* ---- answers ---- */

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
	gw_bridge_answer(ep, code, max_age);
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
		gw_bridge_answer(ep, UCOAP_CHANGED, 0);
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
		gw_bridge_answer(ep, UCOAP_INTERNAL_SERVER_ERROR, 0);
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
 * Make the broker send @t's retained message (again). MQTT sends retained
 * messages only when a subscription is made, so a filter held already --
 * by this entry, a route or discovery -- gets its SUBSCRIBE sent anew.
 */
static int topic_subscribe(struct gw_pubsub *ps, struct ps_topic *t, int qos)
{
	struct gw_mqtt *m = ps->b->mqtt;
	int rc = 0;

	if (!t->subscribed) {
		rc = gw_mqtt_subscribe(m, t->name, qos);
		if (rc < 0)
			goto fail;
		t->subscribed = true;
		t->qos = qos;
		/* A new filter: its own SUBSCRIBE brings the message. */
		if (gw_mqtt_sub_refs(m, t->name, NULL) == 1)
			return 0;
	} else if (qos > t->qos) {
		/* Raise the QoS: a second reference at the higher QoS, then
		 * back to the one this entry holds. */
		rc = gw_mqtt_subscribe(m, t->name, qos);
		if (rc < 0)
			goto fail;
		gw_mqtt_unsubscribe(m, t->name);
		t->qos = qos;
	}
	rc = gw_mqtt_resubscribe(m, t->name);
	if (rc == 0)
		return 0;
fail:
	gw_warn("ps: cannot subscribe to %s: %s", t->name, strerror(-rc));
	return rc;
}

static unsigned observers(const struct gw_pubsub *ps, const struct ps_topic *t)
{
	unsigned n = 0;

	for (unsigned i = 0; i < ps->b->n_ep; i++)
		n += ucoap_ep_observer_count(ps->b->ep[i], t);
	return n;
}

/* Drop @t once nothing needs it any more. */
static void topic_release(struct gw_pubsub *ps, struct ps_topic *t)
{
	if (t->waiters)
		return;
	if (t->observed && observers(ps, t))
		return;
	if (t->subscribed)
		gw_mqtt_unsubscribe(ps->b->mqtt, t->name);
	t->used = false;
}

/*
 * An ETag for a representation, a hash of its bytes: a client reading
 * it block by block learns from a changed ETag that it changed between
 * two blocks (RFC 7959 §2.4) -- a retained message or .well-known/core
 * after a reload -- and can tell a changed one from the one it has (RFC
 * 7252 §5.10.6).
 */
static void etag_of(const void *p, size_t len, uint8_t tag[4])
{
	uint32_t h = gw_fnv1a(p, len);

	tag[0] = (uint8_t)(h >> 24);
	tag[1] = (uint8_t)(h >> 16);
	tag[2] = (uint8_t)(h >> 8);
	tag[3] = (uint8_t)h;
}

/* ---- GET ps/<topic> ---- */

static void waiter_done(struct gw_pubsub *ps, struct ps_waiter *w, uint8_t code,
			const void *payload, size_t len)
{
	struct ps_topic *t = &ps->topics[w->topic];
	struct ucoap_msg resp;
	uint8_t etag[4];
	int rc;

	ucoap_msg_init(&resp, 0, code);
	if (code == UCOAP_CONTENT) {
		etag_of(payload, len, etag);
		ucoap_msg_add_opt(&resp, UCOAP_OPT_ETAG, etag, sizeof(etag));
	}
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
	 * A GET joining one already waiting shares its answer: the
	 * retained message that comes for it is the current one for
	 * both.
	 */
	fresh = t->waiters == 0;
	if (fresh && topic_subscribe(ps, t, q->qos) < 0) {
		topic_release(ps, t);
		gw_bridge_answer(ep, UCOAP_INTERNAL_SERVER_ERROR, 0);
		return;
	}
	if (ucoap_ep_defer(ep, &w->d) < 0) {
		topic_release(ps, t);
		gw_bridge_answer(ep, UCOAP_INTERNAL_SERVER_ERROR, 0);
		return;
	}
	w->used = true;
	w->ep = ep;
	w->topic = (unsigned)(t - ps->topics);
	w->deadline_ms = gw_now_ms() + GW_PUBSUB_RETAINED_WAIT_MS;
	t->waiters++;
}

/* ---- Observe ps/<topic> (RFC 7641) ---- */

static void remember(struct ps_topic *t, const void *payload, size_t len)
{
	t->have_last = len <= sizeof(t->last);
	t->last_len = t->have_last ? len : 0;
	if (t->have_last && len)
		memcpy(t->last, payload, len);
}

/* Run @t's observers through gw_pubsub_on_notify() in @mode. */
static void notify(struct gw_pubsub *ps, struct ps_topic *t,
		   enum ps_notify_mode mode, const void *payload, size_t len)
{
	ps->cur.t = t;
	ps->cur.mode = mode;
	ps->cur.payload = payload;
	ps->cur.len = len;
	for (unsigned i = 0; i < ps->b->n_ep; i++) {
		int rc = ucoap_ep_notify(ps->b->ep[i], t, false, NULL);

		if (rc < 0 && gw_log_ratelimit(&ps->rl, gw_now_ms(), 1, 5))
			gw_warn("ps: notifying observers of %s: %s", t->name,
				ucoap_strerror(rc));
	}
	ps->cur.t = NULL;
}

static void do_observe(struct gw_pubsub *ps, struct ucoap_ep *ep,
		       const struct ucoap_addr *from, int dev,
		       const char *topic, const struct ps_query *q)
{
	struct ps_topic *t;
	struct ucoap_msg resp;
	int rc;

	t = topic_get(ps, topic);
	if (!t) {
		refuse(ps, ep, from, UCOAP_SERVICE_UNAVAILABLE, PS_BUSY_MAX_AGE,
		       "too many topics observed at once");
		return;
	}
	rc = ucoap_ep_observe_accept(ep, t);
	if (rc == UCOAP_ERR_FULL) {
		/* Declined (§4.1): the device gets a plain GET's answer. */
		topic_release(ps, t);
		do_get(ps, ep, from, dev, topic, q);
		return;
	}
	if (rc < 0 || (!t->subscribed && topic_subscribe(ps, t, q->qos) < 0)) {
		topic_release(ps, t);
		gw_bridge_answer(ep, UCOAP_INTERNAL_SERVER_ERROR, 0);
		return;
	}
	t->observed = true;
	gw_debug("ps: %s observes %s",
		 dev >= 0 ? ps->b->cfg->devices[dev].name : "?", topic);
	/*
	 * The current state now (§4.1); the retained message the new
	 * subscription brings follows as a notification.
	 */
	ucoap_msg_init(&resp, 0, UCOAP_CONTENT);
	if (t->have_last && t->last_len) {
		resp.payload = t->last;
		resp.payload_len = t->last_len;
	}
	ucoap_ep_respond(ep, &resp);
}

void gw_pubsub_on_notify(struct gw_pubsub *ps, struct ucoap_ep *ep,
			 const struct ucoap_msg *req,
			 const struct ucoap_addr *from)
{
	struct ps_topic *t = ps->cur.t;
	struct ucoap_msg resp;
	uint8_t etag[4];

	(void)req;
	if (!t)
		return; /* not ours: send nothing */
	if (ps->cur.mode == PS_RECHECK) {
		/* A 4.03 notification ends the observation (§3.2). */
		if (!may_subscribe(ps, gw_bridge_find_device(ps->b, from),
				   t->name))
			gw_bridge_answer(ep, UCOAP_FORBIDDEN, 0);
		return;
	}
	ucoap_msg_init(&resp, 0, UCOAP_CONTENT);
	etag_of(ps->cur.payload, ps->cur.len, etag);
	ucoap_msg_add_opt(&resp, UCOAP_OPT_ETAG, etag, sizeof(etag));
	resp.payload = ps->cur.len ? ps->cur.payload : NULL;
	resp.payload_len = ps->cur.len;
	ucoap_ep_respond(ep, &resp);
}

/* A message on @t: notify its observers when it is news to them. */
static void observed_message(struct gw_pubsub *ps, struct ps_topic *t,
			     bool retained, const void *payload, size_t len)
{
	if (!t->observed)
		return;
	if (retained) {
		/*
		 * The broker sends its retained message at every
		 * (re)subscription -- a lookup's (GET ps/), a reconnect's --
		 * not when it changes: the same one again is no news, and
		 * may be older than what came live since (RFC 7641 §4.2: a
		 * notification is the current state).
		 */
		uint32_t h = gw_fnv1a(payload, len);
		bool known =
		    t->have_ret && t->ret_len == len && t->ret_hash == h;
		bool repeat = t->have_last && t->last_len == len &&
			      (len == 0 || memcmp(t->last, payload, len) == 0);

		t->have_ret = true;
		t->ret_len = len;
		t->ret_hash = h;
		if (known || repeat)
			return;
	}
	remember(t, payload, len);
	notify(ps, t, PS_NOTIFY, payload, len);
	topic_release(ps, t);
}

bool gw_pubsub_on_message(struct gw_pubsub *ps, const struct gw_mqtt_msg *msg)
{
	struct ps_topic *t = topic_find(ps, msg->topic);
	bool answered = false;

	/* A copy another owner's overlapping filter brought is theirs. */
	if (!t || !gw_mqtt_msg_via(ps->b->mqtt, msg, t->name))
		return false;
	if (msg->retain) {
		for (unsigned i = 0; i < GW_PUBSUB_WAITERS && t->used; i++) {
			struct ps_waiter *w = &ps->waiters[i];

			if (w->used && &ps->topics[w->topic] == t) {
				waiter_done(ps, w, UCOAP_CONTENT, msg->payload,
					    msg->len);
				answered = true;
			}
		}
	}
	if (t->used)
		observed_message(ps, t, msg->retain, msg->payload, msg->len);
	/*
	 * A retained message that answered lookups came for their
	 * subscription; a route's retained command must not replay from it.
	 */
	return answered;
}

void gw_pubsub_on_local_publish(struct gw_pubsub *ps, const char *topic,
				const void *payload, size_t len)
{
	struct ps_topic *t = topic_find(ps, topic);

	if (t)
		observed_message(ps, t, false, payload, len);
}

int gw_pubsub_next_timeout(const struct gw_pubsub *ps, uint64_t now)
{
	uint64_t first = UINT64_MAX;

	for (unsigned i = 0; i < GW_PUBSUB_WAITERS; i++)
		if (ps->waiters[i].used && ps->waiters[i].deadline_ms < first)
			first = ps->waiters[i].deadline_ms;
	/* Observed topics are checked for leavers about once a second. */
	for (unsigned i = 0; i < GW_PUBSUB_TOPICS; i++)
		if (ps->topics[i].used && ps->topics[i].observed &&
		    ps->sweep_ms < first)
			first = ps->sweep_ms;
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
	if (now < ps->sweep_ms)
		return;
	ps->sweep_ms = now + PS_SWEEP_MS;
	for (unsigned i = 0; i < GW_PUBSUB_TOPICS; i++) {
		struct ps_topic *t = &ps->topics[i];

		if (t->used && t->observed && !observers(ps, t)) {
			gw_debug("ps: no observers of %s left", t->name);
			t->observed = false;
			topic_release(ps, t);
		}
	}
}

void gw_pubsub_reload(struct gw_pubsub *ps)
{
	/* The old buffers stay when the new ones cannot be had: links
	 * that no longer fit are then left out (do_wellknown). */
	if (wk_size(ps) < 0)
		gw_warn(".well-known/core: out of memory for the new "
			"configuration's links; those that do not fit are "
			"left out");
	ps->wk_warned = false;
	for (unsigned i = 0; i < GW_PUBSUB_TOPICS; i++) {
		struct ps_topic *t = &ps->topics[i];

		if (t->used && t->observed) {
			notify(ps, t, PS_RECHECK, NULL, 0);
			topic_release(ps, t);
		}
	}
}

/* ---- .well-known/core (RFC 6690) ---- */

/*
 * What the gateway serves, as the asking device sees it: the ps function
 * set, the topics its patterns name literally (observable when it may
 * subscribe to them), and the uplink routes without wildcards. Pattern
 * with wildcards name no resource and are left out.
 *
 * The document can be larger than a block: the endpoint sends it
 * block-wise (RFC 7959 §2), running the handler again for each block, so
 * it is written into buffers sized once from the config, never per
 * request. Their sizes cover every link the config can show one device,
 * up to ps->doc_max bytes of document (the endpoints' max_body_size);
 * past that, whole links are left out and that is logged once, since a
 * client cannot read a truncated link and a 5.00 would hide every other
 * resource (RFC 6690 §4: discovery is how a client finds them at all).
 */
static bool wildcard(const char *path)
{
	return strpbrk(path, "+#") != NULL;
}

/*
 * @prefix then @path as a URI path (RFC 3986 §3.3): a byte that is not a
 * pchar or '/' goes %XX-encoded, so a topic with a space, '?', '%' or '>'
 * still makes one valid href. Writes up to @room bytes with a NUL, as
 * snprintf; returns the length the whole href needs.
 */
static size_t href_encode(char *out, size_t room, const char *prefix,
			  const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	static const char keep[] = "-._~!$&'()*+,;=:@/";
	size_t n = 0;

	for (const char *p = prefix; *p; p++) {
		if (n + 1 < room)
			out[n] = *p;
		n++;
	}
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(keep, *p)) {
			if (n + 1 < room)
				out[n] = (char)*p;
			n++;
			continue;
		}
		if (n + 3 < room) {
			out[n] = '%';
			out[n + 1] = hex[*p >> 4];
			out[n + 2] = hex[*p & 15];
		}
		n += 3;
	}
	if (room)
		out[n < room ? n : room - 1] = '\0';
	return n;
}

/* Bytes of "<href>;rt=\"rt\";obs," as ucoap_link_format() writes it. */
static size_t link_bytes(size_t href, const char *rt, bool obs)
{
	return 2 + href + (rt ? strlen(";rt=\"\"") + strlen(rt) : 0) +
	       (obs ? strlen(";obs") : 0) + 1;
}

struct wk_need {
	size_t links, pool, doc;
};

static void need_add(struct wk_need *n, const char *prefix, const char *path,
		     const char *rt, bool obs)
{
	size_t href = href_encode(NULL, 0, prefix, path);

	if (wildcard(path))
		return;
	n->links++;
	n->pool += href + 1;
	n->doc += link_bytes(href, rt, obs);
}

/* (Re)size ps->wk for b->cfg: the largest any device (or none) needs. */
static int wk_size(struct gw_pubsub *ps)
{
	const struct gw_config *cfg = ps->b->cfg;
	struct wk_need routes = {0}, most;
	struct ps_wk wk = {0};

	need_add(&routes, "", PS_LINK_PS, PS_LINK_PS_RT, false);
	for (size_t i = 0; i < cfg->n_uplink; i++)
		need_add(&routes, "/", cfg->uplink[i].path.text, NULL, false);
	most = routes;
	for (size_t i = 0; i < cfg->n_devices; i++) {
		const struct gw_config_device *d = &cfg->devices[i];
		struct wk_need n = routes;

		for (size_t j = 0; j < d->n_publish; j++)
			need_add(&n, "/ps/", d->publish[j], PS_LINK_DATA,
				 false);
		for (size_t j = 0; j < d->n_subscribe; j++)
			need_add(&n, "/ps/", d->subscribe[j], PS_LINK_DATA,
				 true);
		if (n.links > most.links)
			most.links = n.links;
		if (n.pool > most.pool)
			most.pool = n.pool;
		if (n.doc > most.doc)
			most.doc = n.doc;
	}
	/*
	 * Nothing past doc_max is ever written: no href longer than it, no
	 * more links than it has room for (each takes at least "</a>").
	 */
	wk.doc_cap = most.doc < ps->doc_max ? most.doc : ps->doc_max;
	wk.pool_cap = most.pool < ps->doc_max ? most.pool : ps->doc_max;
	wk.l_cap = most.links < ps->doc_max / 4 ? most.links : ps->doc_max / 4;
	wk.l = calloc(wk.l_cap ? wk.l_cap : 1, sizeof(*wk.l));
	wk.pool = malloc(wk.pool_cap ? wk.pool_cap : 1);
	wk.doc = malloc(wk.doc_cap ? wk.doc_cap : 1);
	if (!wk.l || !wk.pool || !wk.doc) {
		wk_cleanup(&wk);
		return -ENOMEM;
	}
	wk_cleanup(&ps->wk);
	ps->wk = wk;
	return 0;
}

struct ps_links {
	struct ps_wk *wk;
	size_t n, used;
	size_t left_out; /* no room in the table or the pool */
};

static void links_add(struct ps_links *ls, const char *prefix, const char *path,
		      const char *rt, bool obs)
{
	struct ps_wk *wk = ls->wk;
	char *href = wk->pool + ls->used;
	size_t room = wk->pool_cap - ls->used;
	size_t n;

	if (wildcard(path))
		return;
	n = href_encode(href, room, prefix, path);
	if (n >= room) {
		ls->left_out++;
		return;
	}
	/* A topic in both lists is one link, observable if subscribable. */
	for (size_t i = 0; i < ls->n; i++)
		if (strcmp(wk->l[i].href, href) == 0) {
			wk->l[i].obs |= obs;
			return;
		}
	if (ls->n == wk->l_cap) {
		ls->left_out++;
		return;
	}
	ls->used += n + 1;
	wk->l[ls->n++] = (struct ucoap_link){
	    .href = href, .rt = rt, .ct = UCOAP_CF_NONE, .obs = obs};
}

/*
 * Write the links that pass @req's filters into wk->doc, one at a time
 * (a document is its links joined by ',', RFC 6690 §2), so that one that
 * does not fit, or cannot be written (a '>' in a topic), is left out
 * whole instead of failing the document. Returns the length; *@left_out
 * counts the links left out.
 */
static size_t write_doc(struct ps_wk *wk, size_t n, const struct ucoap_msg *req,
			size_t *left_out)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		size_t sep = len ? 1 : 0, k;
		int rc = UCOAP_ERR_NOSPACE;

		if (len + sep < wk->doc_cap)
			rc = ucoap_link_format(&wk->l[i], 1, req,
					       wk->doc + len + sep,
					       wk->doc_cap - len - sep, &k);
		if (rc < 0) {
			(*left_out)++;
			continue;
		}
		if (k == 0)
			continue; /* filtered out */
		if (sep)
			wk->doc[len] = ',';
		len += sep + k;
	}
	return len;
}

static void do_wellknown(struct gw_pubsub *ps, struct ucoap_ep *ep,
			 const struct ucoap_msg *req, int dev)
{
	uint8_t etag[4];
	const struct gw_config *cfg = ps->b->cfg;
	struct ps_links ls = {.wk = &ps->wk};
	size_t len;
	struct ucoap_msg resp;

	if (ps->wk.l_cap)
		ps->wk.l[ls.n++] = (struct ucoap_link){.href = PS_LINK_PS,
						       .rt = PS_LINK_PS_RT,
						       .ct = UCOAP_CF_NONE};
	if (dev >= 0) {
		const struct gw_config_device *d = &cfg->devices[dev];

		for (size_t i = 0; i < d->n_publish; i++)
			links_add(&ls, "/ps/", d->publish[i], PS_LINK_DATA,
				  false);
		for (size_t i = 0; i < d->n_subscribe; i++)
			links_add(&ls, "/ps/", d->subscribe[i], PS_LINK_DATA,
				  true);
	}
	for (size_t i = 0; i < cfg->n_uplink; i++)
		links_add(&ls, "/", cfg->uplink[i].path.text, NULL, false);
	len = write_doc(&ps->wk, ls.n, req, &ls.left_out);
	if (ls.left_out && !ps->wk_warned) {
		/* Config, not the peer, decides this: once per config. */
		ps->wk_warned = true;
		gw_warn(".well-known/core for %s: %zu links left out: they "
			"do not fit in %zu bytes or cannot be written",
			dev >= 0 ? cfg->devices[dev].name : "unknown devices",
			ls.left_out, ps->wk.doc_cap);
	}
	ucoap_msg_init(&resp, 0, UCOAP_CONTENT);
	etag_of(ps->wk.doc, len, etag);
	ucoap_msg_add_opt(&resp, UCOAP_OPT_ETAG, etag, sizeof(etag));
	ucoap_msg_add_uint(&resp, UCOAP_OPT_CONTENT_FORMAT,
			   UCOAP_CF_LINK_FORMAT);
	resp.payload = len ? (const uint8_t *)ps->wk.doc : NULL;
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
	uint32_t obs;

	if (n == 2 && seg_is(&segs[0], ".well-known") &&
	    seg_is(&segs[1], "core")) {
		if (req->code != UCOAP_GET)
			refuse(ps, ep, from, UCOAP_METHOD_NOT_ALLOWED, 0,
			       ".well-known/core takes GET");
		else
			do_wellknown(ps, ep, req, dev);
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
		if (ucoap_msg_get_uint(req, UCOAP_OPT_OBSERVE, &obs) == 0 &&
		    obs == 0 && may_subscribe(ps, dev, topic))
			do_observe(ps, ep, from, dev, topic, &q);
		else
			do_get(ps, ep, from, dev, topic, &q);
		break;
	default:
		refuse(ps, ep, from, UCOAP_METHOD_NOT_ALLOWED, 0,
		       "ps/ takes GET, POST and PUT");
		break;
	}
	return true;
}
