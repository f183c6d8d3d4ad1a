/*
 * Uplink: a device's CoAP request to the gateway becomes an MQTT publish
 * (spec "routes.uplink" and "Default topic layout"). This is the hot path:
 * the path segments are views into the receive buffer, the topic is
 * expanded on the stack, and the payload goes straight to the MQTT client,
 * which copies it. Nothing here allocates.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bridge_int.h"
#include "log.h"
#include "loop.h"
#include "pubsub.h"
#include "translate.h"

/* Topics longer than this are refused with 4.00 rather than truncated. */
#define UPLINK_TOPIC_MAX 1024
/* Seconds a device should wait before retrying while the queue is full. */
#define QUEUE_FULL_MAX_AGE 30

static struct gw_ratelimit refuse_rl;

/*
 * Peer-controlled, so logged at debug level and rate-limited: a hostile
 * device must not be able to flood the journal.
 */
static void refuse(struct ucoap_ep *ep, const struct ucoap_addr *from,
		   uint8_t code, const char *why)
{
	char who[UCOAP_ADDR_STRLEN], c[8];

	if (gw_log_enabled(GW_LOG_DEBUG) &&
	    gw_log_ratelimit(&refuse_rl, gw_now_ms(), 20, 50)) {
		ucoap_addr_str(from, who, sizeof(who));
		gw_debug("%s: %s: %s", who, ucoap_code_str(code, c), why);
	}
	gw_bridge_answer(ep, code, 0);
}

static unsigned method_bit(uint8_t code)
{
	switch (code) {
	case UCOAP_GET:
		return GW_METHOD_GET;
	case UCOAP_POST:
		return GW_METHOD_POST;
	case UCOAP_PUT:
		return GW_METHOD_PUT;
	case UCOAP_DELETE:
		return GW_METHOD_DELETE;
	default:
		return 0;
	}
}

/* The success code for a request that was published. */
static uint8_t done_code(uint8_t method)
{
	switch (method) {
	case UCOAP_GET:
		return UCOAP_CONTENT;
	case UCOAP_DELETE:
		return UCOAP_DELETED;
	default:
		return UCOAP_CHANGED;
	}
}

/*
 * A path segment becomes a topic level: '+', '#' and '/' would change
 * which topics the message reaches, NUL would cut the topic, and an empty
 * level is a different topic than the device meant (spec: topic
 * injection gets 4.00).
 */
static bool segment_ok(const struct gw_seg *s)
{
	if (s->len == 0)
		return false;
	for (size_t i = 0; i < s->len; i++) {
		char ch = s->p[i];

		if (ch == '+' || ch == '#' || ch == '/' || ch == '\0')
			return false;
	}
	return true;
}

static bool seg_is(const struct gw_seg *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->len == n && memcmp(s->p, lit, n) == 0;
}

/* Under the default layout these last segments name command topics. */
static bool reserved_last(const struct gw_seg *s)
{
	static const char *const words[] = {"set", "get", "post", "result",
					    "availability"};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (seg_is(s, words[i]))
			return true;
	return false;
}

/* @r: the explicit route, or NULL under the default layout. */
static void publish_and_answer(struct gw_bridge *b, struct ucoap_ep *ep,
			       const struct ucoap_addr *from,
			       const struct ucoap_msg *req,
			       const struct gw_config_uplink *r,
			       const char *topic, int qos, bool retain)
{
	struct gw_mqtt_pub p = {.qos = qos, .retain = retain};
	int rc = r && gw_translate_wanted(r)
		     ? gw_translate_publish(b, r, req, topic, &p)
		     : gw_bridge_publish(b, topic, req->payload,
					 req->payload_len, &p);

	switch (rc) {
	case 0:
		b->up++;
		gw_bridge_answer(ep, done_code(req->code), 0);
		return;
	case -ENOBUFS:
		/*
		 * The queue is full while the broker is away: 5.03 with
		 * Max-Age tells the device to retry (RFC 7252 §5.9.3.4), so
		 * the reading is delayed, not lost.
		 */
		b->up_refused++;
		gw_bridge_answer(ep, UCOAP_SERVICE_UNAVAILABLE,
				 QUEUE_FULL_MAX_AGE);
		if (gw_log_ratelimit(&refuse_rl, gw_now_ms(), 1, 5))
			gw_warn("queue full (%u): refusing readings with 5.03",
				b->cfg->mqtt.queue_limit);
		return;
	case -EMSGSIZE:
		refuse(ep, from, UCOAP_REQUEST_ENTITY_TOO_LARGE,
		       "too large for the broker");
		return;
	case -EINVAL:
		refuse(ep, from, UCOAP_BAD_REQUEST, "not a valid MQTT topic");
		return;
	case -EBADMSG:
		refuse(ep, from, UCOAP_BAD_REQUEST,
		       "payload does not decode as its Content-Format says");
		return;
	default:
		gw_err("publish to %s: %s", topic, strerror(-rc));
		gw_bridge_answer(ep, UCOAP_INTERNAL_SERVER_ERROR, 0);
		return;
	}
}

void gw_uplink_on_request(struct ucoap_ep *ep, const struct ucoap_msg *req,
			  const struct ucoap_addr *from, void *user)
{
	struct gw_bridge *b = user;
	const struct gw_config *cfg = b->cfg;
	struct gw_seg segs[UCOAP_MAX_OPTIONS];
	unsigned n = 0, bit = method_bit(req->code);
	char unknown[UCOAP_ADDR_STRLEN], topic[UPLINK_TOPIC_MAX];
	const char *device;
	struct gw_match m;
	uint32_t id;
	int dev, len;

	/* Not a request: a notification for a ps/ observer (RFC 7641 §4.2). */
	if (ucoap_ep_notifying(ep)) {
		gw_pubsub_on_notify(b->ps, ep, req, from);
		return;
	}
	if (b->stopping) {
		gw_bridge_answer(ep, UCOAP_SERVICE_UNAVAILABLE, 10);
		return;
	}
	dev = gw_bridge_find_device(b, from);
	if (dev >= 0) {
		device = cfg->devices[dev].name;
		gw_bridge_device_seen(b, dev, gw_now_ms());
	} else if (cfg->coap.allow_unknown_devices) {
		ucoap_addr_host_str(from, unknown, sizeof(unknown));
		device = unknown;
	} else {
		refuse(ep, from, UCOAP_FORBIDDEN, "not a configured device");
		return;
	}

	for (const struct ucoap_opt *o =
		 ucoap_msg_find(req, UCOAP_OPT_URI_PATH);
	     o; o = ucoap_msg_find_next(req, o)) {
		segs[n] =
		    (struct gw_seg){(const char *)ucoap_opt_value(o), o->len};
		if (!segment_ok(&segs[n])) {
			refuse(ep, from, UCOAP_BAD_REQUEST,
			       "path segment with '+', '#', '/', NUL or empty");
			return;
		}
		n++;
	}
	/* ps/... and .well-known/core are the gateway's own, never routed. */
	if (gw_pubsub_on_request(b->ps, ep, req, from, dev, segs, n))
		return;

	if (gw_route_index_lookup(cfg->uplink_index, segs, n, 0, &id, &m) ==
	    0) {
		const struct gw_config_uplink *r = &cfg->uplink[id];
		struct gw_expand_ctx ctx = {
		    .match = &m, .device = device, .path = segs, .npath = n};

		/* A matching route decides; no falling through to defaults. */
		if (!(r->methods & bit)) {
			refuse(ep, from, UCOAP_METHOD_NOT_ALLOWED,
			       "method not allowed by the route");
			return;
		}
		len = gw_template_expand(&r->topic, &ctx, topic, sizeof(topic));
		if (len < 0) {
			refuse(ep, from, UCOAP_BAD_REQUEST, "topic too long");
			return;
		}
		gw_debug("uplink %s -> %s (route at %s:%u)", device, topic,
			 r->loc.file, r->loc.line);
		publish_and_answer(b, ep, from, req, r, topic, r->qos,
				   r->retain);
		return;
	}
	if (!cfg->gateway.default_routes || n == 0) {
		refuse(ep, from, UCOAP_NOT_FOUND, "no route");
		return;
	}
	/* Default layout: POST or PUT coap://gateway/P -> B/D/P. */
	if (reserved_last(&segs[n - 1])) {
		refuse(ep, from, UCOAP_NOT_FOUND,
		       "last segment names a command topic");
		return;
	}
	if (bit != GW_METHOD_POST && bit != GW_METHOD_PUT) {
		refuse(ep, from, UCOAP_METHOD_NOT_ALLOWED,
		       "the default layout takes POST and PUT");
		return;
	}
	len = snprintf(topic, sizeof(topic), "%s/%s", cfg->gateway.base_topic,
		       device);
	for (unsigned i = 0; i < n && len >= 0 && (size_t)len < sizeof(topic);
	     i++)
		len += snprintf(topic + len, sizeof(topic) - (size_t)len,
				"/%.*s", (int)segs[i].len, segs[i].p);
	if (len < 0 || (size_t)len >= sizeof(topic)) {
		refuse(ep, from, UCOAP_BAD_REQUEST, "topic too long");
		return;
	}
	gw_debug("uplink %s -> %s", device, topic);
	publish_and_answer(b, ep, from, req, NULL, topic, cfg->mqtt.qos, false);
}
