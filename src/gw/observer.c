/*
 * gw_observer: routes.observe, the gateway as an RFC 7641 client of its
 * devices (see observer.h).
 *
 * Each route has one state record, allocated on its own because the core
 * keeps a pointer to it as the observation's callback argument: a reload
 * rebuilds the list of records without moving them. The core does the
 * protocol -- registration, ordering by freshness (§3.4), re-registration
 * when Max-Age runs out (§3.3.1), acknowledging CON notifications -- and
 * tells us, once, when an observation has ended; this file decides when
 * to try again and publishes what arrives.
 */
#include "observer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_int.h"
#include "log.h"
#include "loop.h"

/* Uri-Path and Uri-Query of a route, as ucoap_msg_set_uri() takes them. */
#define OBS_URI_MAX 1024
/* Topics are expanded once per route, like uplink's bound. */
#define OBS_TOPIC_MAX 1024

struct obs_route {
	struct gw_observer *o;
	size_t idx;          /* in b->cfg->observe */
	struct ucoap_ep *ep; /* where the observation lives */
	uint32_t handle;     /* 0: not observing */
	bool cancelling;     /* our own cancel: do not retry */
	bool established;    /* a notification came since registering */
	uint64_t retry_at;   /* when handle is 0 */
	uint32_t backoff_ms;
	char *uri;   /* copied: matched across reloads */
	char *topic; /* expanded template */
	struct ucoap_addr addr;
	uint64_t notifications;
};

struct gw_observer {
	struct gw_bridge *b;
	struct obs_route **r;
	size_t n;
	uint64_t next_retry;
};

static struct gw_ratelimit obs_rl;

static const struct gw_config_observe *route_cfg(const struct obs_route *r)
{
	return &r->o->b->cfg->observe[r->idx];
}

static void schedule_retry(struct obs_route *r, uint64_t now)
{
	r->retry_at = now + r->backoff_ms;
	if (r->retry_at < r->o->next_retry || !r->o->next_retry)
		r->o->next_retry = r->retry_at;
	r->backoff_ms = r->backoff_ms >= GW_OBSERVER_RETRY_MAX_MS / 2
			    ? GW_OBSERVER_RETRY_MAX_MS
			    : r->backoff_ms * 2;
}

/*
 * Every notification, in freshness order; then exactly one last call when
 * the observation has ended (RST, timeout, a response without Observe,
 * cancel).
 */
static void on_notification(struct ucoap_ep *ep, int status,
			    const struct ucoap_msg *resp,
			    const struct ucoap_addr *from, void *user)
{
	struct obs_route *r = user;
	struct gw_bridge *b = r->o->b;
	const struct gw_config_observe *c;
	uint32_t seq;
	bool ok = status == 0 && UCOAP_CODE_CLASS(resp->code) == 2;
	bool more =
	    ok && ucoap_msg_get_uint(resp, UCOAP_OPT_OBSERVE, &seq) == 0;
	char code[8];

	(void)ep;
	(void)from;
	/* Our own cancel (reload, stop): r->idx may be stale by now. */
	if (r->cancelling) {
		r->handle = 0;
		return;
	}
	c = route_cfg(r);
	if (ok) {
		struct gw_mqtt_pub p = {.qos = c->qos, .retain = c->retain};
		int rc = gw_bridge_publish(b, r->topic, resp->payload,
					   resp->payload_len, &p);

		/* A device notifying fast into a full queue: a line a second.
		 */
		if (rc < 0 && gw_log_ratelimit(&obs_rl, gw_now_ms(), 1, 5))
			gw_warn("%s:%u: observe %s: notification not "
				"published to %s: %s",
				c->loc.file, c->loc.line, c->uri, r->topic,
				rc == -ENOBUFS
				    ? "the queue is full (mqtt.queue_limit)"
				    : strerror(-rc));
		r->notifications++;
		/* A live observation is the device showing signs of life. */
		gw_bridge_device_seen(b, c->device, gw_now_ms());
	}
	if (more) {
		if (!r->established) {
			r->established = true;
			r->backoff_ms = GW_OBSERVER_RETRY_MIN_MS;
			gw_info("observe %s: established, publishing to %s",
				c->uri, r->topic);
		}
		return;
	}
	/* The last call: the observation is over. */
	r->handle = 0;
	r->established = false;
	if (status == 0)
		gw_warn("observe %s: %s; registering again in %u ms", c->uri,
			ok ? "the device declined to be observed"
			   : ucoap_code_str(resp->code, code),
			r->backoff_ms);
	else
		gw_warn("observe %s: lost (%s); registering again in %u ms",
			c->uri, ucoap_strerror(status), r->backoff_ms);
	schedule_retry(r, gw_now_ms());
}

static int start(struct obs_route *r)
{
	struct gw_bridge *b = r->o->b;
	const struct gw_config_observe *c = route_cfg(r);
	const struct gw_config_device *d = &b->cfg->devices[c->device];
	char url[OBS_URI_MAX];
	struct ucoap_msg req;
	int n, rc;

	n = snprintf(url, sizeof(url), "%s%s%s", c->path, c->query ? "?" : "",
		     c->query ? c->query : "");
	if (n < 0 || (size_t)n >= sizeof(url)) {
		gw_err("%s:%u: observe %s: URI too long", c->loc.file,
		       c->loc.line, c->uri);
		return -ENAMETOOLONG;
	}
	r->ep = gw_downlink_pick_ep(b, &d->addr);
	if (!r->ep) {
		gw_err("%s:%u: observe %s: no CoAP socket of the device's "
		       "address family",
		       c->loc.file, c->loc.line, c->uri);
		return -EAFNOSUPPORT;
	}
	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	rc = ucoap_msg_set_uri(&req, url);
	if (rc == 0)
		rc = ucoap_ep_observe(r->ep, &d->addr, &req, on_notification, r,
				      &r->handle);
	if (rc < 0) {
		r->handle = 0;
		gw_warn("observe %s: cannot register: %s; again in %u ms",
			c->uri, ucoap_strerror(rc), r->backoff_ms);
		schedule_retry(r, gw_now_ms());
		return 0;
	}
	r->addr = d->addr;
	gw_debug("observe %s: registering", c->uri);
	return 0;
}

static void cancel(struct obs_route *r)
{
	if (!r->handle)
		return;
	r->cancelling = true;
	ucoap_ep_observe_cancel(r->ep, r->handle);
	r->cancelling = false;
	r->handle = 0;
}

static void route_free(struct obs_route *r)
{
	if (!r)
		return;
	cancel(r);
	free(r->uri);
	free(r->topic);
	free(r);
}

/* Expand the route's topic template: {device} and {path}. */
static int expand_topic(const struct gw_config *cfg, size_t idx, char **out)
{
	const struct gw_config_observe *c = &cfg->observe[idx];
	struct gw_seg segs[GW_TOPIC_MAX_LEVELS];
	char buf[OBS_TOPIC_MAX];
	int n =
	    gw_path_split(c->path, strlen(c->path), segs, GW_TOPIC_MAX_LEVELS);
	struct gw_expand_ctx ctx = {.device = cfg->devices[c->device].name,
				    .path = segs,
				    .npath = n > 0 ? (unsigned)n : 0};

	if (n < 0 ||
	    gw_template_expand(&c->topic, &ctx, buf, sizeof(buf)) < 0 ||
	    gw_mqtt_topic_check(buf) < 0) {
		gw_err("%s:%u: observe %s: topic '%s' does not expand to a "
		       "valid MQTT topic",
		       c->loc.file, c->loc.line, c->uri, c->topic.text);
		return -EINVAL;
	}
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

static struct obs_route *route_new(struct gw_observer *o, size_t idx)
{
	struct obs_route *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->o = o;
	r->idx = idx;
	r->backoff_ms = GW_OBSERVER_RETRY_MIN_MS;
	r->uri = strdup(o->b->cfg->observe[idx].uri);
	if (!r->uri || expand_topic(o->b->cfg, idx, &r->topic) < 0) {
		route_free(r);
		return NULL;
	}
	return r;
}

/* Build the records for b->cfg, reusing those of @old that match. */
static int build(struct gw_observer *o, struct obs_route **old, size_t n_old)
{
	const struct gw_config *cfg = o->b->cfg;
	struct obs_route **r =
	    calloc(cfg->n_observe ? cfg->n_observe : 1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_observe; i++) {
		const struct gw_config_observe *c = &cfg->observe[i];
		const struct ucoap_addr *a = &cfg->devices[c->device].addr;
		char *topic = NULL;

		for (size_t j = 0; j < n_old && !r[i]; j++) {
			if (!old[j] || strcmp(old[j]->uri, c->uri) != 0 ||
			    !ucoap_addr_equal(&old[j]->addr, a) ||
			    expand_topic(cfg, i, &topic) < 0)
				continue;
			r[i] = old[j];
			old[j] = NULL;
			r[i]->idx = i;
			free(r[i]->topic);
			r[i]->topic = topic;
		}
		/* NULL when its topic cannot be built: logged, left out. */
		if (!r[i])
			r[i] = route_new(o, i);
	}
	o->r = r;
	o->n = cfg->n_observe;
	return 0;
}

static void start_idle(struct gw_observer *o)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->r[i] && !o->r[i]->handle && !o->r[i]->retry_at)
			start(o->r[i]);
}

struct gw_observer *gw_observer_new(struct gw_bridge *b)
{
	struct gw_observer *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->b = b;
	if (build(o, NULL, 0) < 0) {
		free(o);
		return NULL;
	}
	start_idle(o);
	return o;
}

void gw_observer_free(struct gw_observer *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++)
		route_free(o->r[i]);
	free(o->r);
	free(o);
}

int gw_observer_reload(struct gw_observer *o)
{
	struct obs_route **old = o->r;
	size_t n_old = o->n;
	int rc = build(o, old, n_old);

	if (rc < 0) {
		/* The old records point into the old config: end them. */
		gw_err("reload: out of memory: routes.observe stopped");
		o->r = NULL;
		o->n = 0;
	}
	for (size_t j = 0; j < n_old; j++)
		route_free(old[j]);
	free(old);
	start_idle(o);
	return rc;
}

void gw_observer_tick(struct gw_observer *o, uint64_t now)
{
	if (!o->next_retry || now < o->next_retry)
		return;
	o->next_retry = 0;
	for (size_t i = 0; i < o->n; i++) {
		struct obs_route *r = o->r[i];

		if (!r || r->handle || !r->retry_at)
			continue;
		if (now >= r->retry_at) {
			r->retry_at = 0;
			start(r);
		} else if (!o->next_retry || r->retry_at < o->next_retry) {
			o->next_retry = r->retry_at;
		}
	}
}
