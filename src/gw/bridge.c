/*
 * gw_bridge: lifecycle of the gateway -- CoAP endpoints, the MQTT client,
 * device state and availability, reload and graceful stop. The message
 * paths themselves are in uplink.c and downlink.c.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge_int.h"
#include "ha.h"
#include "log.h"
#include "observer.h"
#include "pubsub.h"

/*
 * Duplicate-detection cache of each endpoint: a device retransmitting a
 * CON gets the cached answer for EXCHANGE_LIFETIME (247 s). 16384 answers
 * (about 1.5 MiB) cover 66 new CON requests per second sustained, far more
 * than a home gateway's sensors send. Past that rate the oldest answers are
 * forgotten early rather than new readings refused: a gateway that answers
 * 5.03 at 67 requests/s would be the bottleneck, while forgetting only
 * risks publishing a reading twice if its ACK was lost and the device's
 * retransmission comes after the answer was forgotten (RFC 7252 §4.5 lets
 * idempotent requests be handled again). A warning says when it happens.
 */
#define GW_DEDUP_ENTRIES 16384
#define GW_DEDUP_BYTES   (1024 * 1024)
/*
 * A device's request body sent block-wise (RFC 7959 Block1, e.g. a 4 KiB
 * JSON config) is reassembled by the core up to this size and published
 * once, whole; a larger one gets 4.13 with Size1. The core keeps one such
 * buffer per concurrent transfer (max_block_transfers, default 8). It is
 * also the largest .well-known/core document the gateway serves (pubsub.c).
 */
#define GW_MAX_BODY_SIZE (16 * 1024)

static char *join3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s%s%s", a, b, c);
	return s;
}

void gw_bridge_answer(struct ucoap_ep *ep, uint8_t code, uint32_t max_age)
{
	struct ucoap_msg resp;

	/* The type (ACK or NON) and message id are the endpoint's to set. */
	ucoap_msg_init(&resp, 0, code);
	if (max_age)
		ucoap_msg_add_uint(&resp, UCOAP_OPT_MAX_AGE, max_age);
	ucoap_ep_respond(ep, &resp);
}

int gw_bridge_find_device(const struct gw_bridge *b,
			  const struct ucoap_addr *from)
{
	/* A device is known by its source address alone: ports change. */
	for (size_t i = 0; i < b->cfg->n_devices; i++)
		if (ucoap_addr_same_host(&b->cfg->devices[i].addr, from))
			return (int)i;
	return -1;
}

/*
 * Availability is state, not a reading: it is published only while the
 * broker is there, and every device's current state is re-published at
 * each connect (on_connect), even when an outage has filled the readings'
 * queue (.state), so a retained "online" from a previous run or from
 * before the outage is corrected at once.
 */
/* @state "" clears the retained message (a device no longer configured). */
static void publish_availability_of(struct gw_bridge *b, const char *name,
				    const char *state)
{
	struct gw_mqtt_pub p = {.qos = 1, .retain = true, .state = true};
	struct gw_mqtt_stats st;
	char topic[512];
	int n = snprintf(topic, sizeof(topic), "%s/%s/availability",
			 b->cfg->gateway.base_topic, name);

	gw_mqtt_stats(b->mqtt, &st);
	if (!st.connected || n < 0 || (size_t)n >= sizeof(topic))
		return;
	if (gw_bridge_publish(b, topic, state, strlen(state), &p) < 0)
		gw_warn("device %s: availability '%s' not published", name,
			state);
}

static void publish_availability(struct gw_bridge *b, int dev, bool online)
{
	publish_availability_of(b, b->cfg->devices[dev].name,
				online ? "online" : "offline");
}

void gw_bridge_device_seen(struct gw_bridge *b, int dev, uint64_t now)
{
	struct gw_devstate *d = &b->dev[dev];

	d->last_seen_ms = now;
	if (!d->online) {
		d->online = true;
		gw_info("device %s is online", b->cfg->devices[dev].name);
		publish_availability(b, dev, true);
	}
}

static void check_availability(struct gw_bridge *b, uint64_t now)
{
	for (size_t i = 0; i < b->cfg->n_devices; i++) {
		struct gw_devstate *d = &b->dev[i];
		uint64_t limit =
		    (uint64_t)b->cfg->devices[i].availability_timeout * 1000;

		if (d->online && now - d->last_seen_ms >= limit) {
			d->online = false;
			gw_info("device %s is offline: not heard from in %u s",
				b->cfg->devices[i].name,
				b->cfg->devices[i].availability_timeout);
			publish_availability(b, (int)i, false);
		}
	}
}

int gw_bridge_publish(struct gw_bridge *b, const char *topic,
		      const void *payload, size_t len,
		      const struct gw_mqtt_pub *p)
{
	int rc = gw_mqtt_publish(b->mqtt, topic, payload, len, p);

	if (rc == 0) {
		gw_debug("published %zu bytes to %s", len, topic);
		/* MQTT v5 No Local: the broker will not echo it to ps/
		 * observers. */
		if (b->cfg->mqtt.protocol == GW_CONFIG_MQTT_V5)
			gw_pubsub_on_local_publish(b->ps, topic, payload, len);
	}
	return rc;
}

static void fill_ep_config(struct ucoap_ep_config *ec,
			   const struct gw_config *cfg)
{
	ucoap_ep_config_init(ec);
	ec->ack_timeout_ms = cfg->coap.ack_timeout_ms;
	ec->ack_random_factor = cfg->coap.ack_random_factor;
	ec->max_retransmit = cfg->coap.max_retransmit;
	ec->max_message_size = cfg->coap.max_message_size;
	ec->request_timeout_ms = cfg->coap.request_timeout_ms;
	ec->max_exchanges = GW_DOWN_SLOTS;
	ec->dedup_entries = GW_DEDUP_ENTRIES;
	ec->dedup_bytes = GW_DEDUP_BYTES;
	ec->max_body_size = GW_MAX_BODY_SIZE;
	ec->dedup_forget_oldest = true;
}

/* Once per tick: say when answers are being forgotten before 247 s. */
static void check_dedup(struct gw_bridge *b)
{
	uint64_t forgotten = 0;

	for (unsigned i = 0; i < b->n_ep; i++) {
		struct ucoap_ep_stats st;

		ucoap_ep_stats(b->ep[i], &st);
		forgotten += st.dedup_forgotten;
	}
	if (forgotten > b->dedup_forgotten) {
		gw_warn("request rate above the duplicate cache's %u answers "
			"per 247 s: %llu answers forgotten early",
			GW_DEDUP_ENTRIES,
			(unsigned long long)(forgotten - b->dedup_forgotten));
		b->dedup_forgotten = forgotten;
	}
}

static int open_endpoints(struct gw_bridge *b, const int *fds, int nfds)
{
	const struct gw_config *cfg = b->cfg;
	struct ucoap_ep_config ec;
	unsigned n = nfds > 0 ? (unsigned)nfds : (unsigned)cfg->coap.n_listen;
	char text[UCOAP_ADDR_STRLEN];

	fill_ep_config(&ec, cfg);
	if (n > GW_MAX_LISTEN) {
		gw_err("coap.listen: at most %d sockets", GW_MAX_LISTEN);
		return -E2BIG;
	}
	for (unsigned i = 0; i < n; i++) {
		struct ucoap_ep *ep = ucoap_ep_new(&ec, NULL, NULL);
		int rc;

		if (!ep)
			return -ENOMEM;
		b->ep[b->n_ep++] = ep;
		if (nfds > 0) {
			rc = ucoap_ep_start_fd(ep, fds[i]);
		} else {
			rc = ucoap_ep_start_at(ep, &cfg->coap.listen[i]);
		}
		if (rc < 0) {
			int err = errno ? errno : EIO;

			if (nfds > 0)
				gw_err("socket activation: fd %d: %s", fds[i],
				       strerror(err));
			else {
				ucoap_addr_str(&cfg->coap.listen[i], text,
					       sizeof(text));
				gw_err("coap.listen: cannot bind %s: %s", text,
				       strerror(err));
			}
			return -err;
		}
		ucoap_ep_set_default_handler(ep, gw_uplink_on_request, b);
		struct ucoap_addr local;
		if (ucoap_ep_local_addr(ep, &local) == 0 &&
		    ucoap_addr_str(&local, text, sizeof(text)) > 0)
			gw_notice("CoAP listening on %s", text);
	}
	return 0;
}

static void on_connect(void *user)
{
	struct gw_bridge *b = user;

	gw_notice("connected to MQTT broker %s:%u", b->cfg->mqtt.host,
		  b->cfg->mqtt.port);
	for (size_t i = 0; i < b->cfg->n_devices; i++)
		publish_availability(b, (int)i, b->dev[i].online);
	gw_ha_on_connect(b->ha, gw_now_ms());
}

/* Discovery's own topics first, then the downlink routes. */
static void on_message(void *user, const struct gw_mqtt_msg *msg)
{
	struct gw_bridge *b = user;

	if (gw_pubsub_on_message(b->ps, msg))
		return;
	if (gw_ha_on_message(b->ha, msg->topic, msg->payload, msg->len,
			     msg->retain, gw_now_ms()))
		return;
	gw_downlink_on_message(user, msg);
}

static void on_disconnect(void *user, const char *reason)
{
	struct gw_bridge *b = user;

	gw_warn("MQTT broker %s:%u: %s; readings are queued meanwhile",
		b->cfg->mqtt.host, b->cfg->mqtt.port, reason);
}

static int open_mqtt(struct gw_bridge *b)
{
	const struct gw_config *cfg = b->cfg;
	struct gw_mqtt_opts o = {
	    .host = cfg->mqtt.host,
	    .port = cfg->mqtt.port,
	    .client_id = cfg->mqtt.client_id,
	    .username = cfg->mqtt.username,
	    .password = cfg->mqtt.password,
	    .protocol = cfg->mqtt.protocol == GW_CONFIG_MQTT_V5 ? GW_MQTT_V5
								: GW_MQTT_V311,
	    .keepalive = (int)cfg->mqtt.keepalive,
	    .will_topic = b->state_topic,
	    .will_payload = "offline",
	    .birth_payload = "online",
	    .queue_limit = cfg->mqtt.queue_limit,
	};
	struct gw_mqtt_cbs cbs = {
	    .on_connect = on_connect,
	    .on_disconnect = on_disconnect,
	    .on_message = on_message,
	};

	if (cfg->mqtt.tls.enabled) {
		o.tls.enabled = true;
		o.tls.ca_file = cfg->mqtt.tls.ca_file;
		o.tls.ca_path = cfg->mqtt.tls.ca_path;
		o.tls.cert_file = cfg->mqtt.tls.cert_file;
		o.tls.key_file = cfg->mqtt.tls.key_file;
		o.tls.version = cfg->mqtt.tls.version;
		o.tls.ciphers = cfg->mqtt.tls.ciphers;
		o.tls.insecure = cfg->mqtt.tls.insecure;
	}
	b->mqtt = gw_mqtt_new(&o, &cbs, b);
	if (!b->mqtt)
		return -EINVAL;
	return gw_downlink_subscribe(b, cfg);
}

int gw_bridge_new(struct gw_config *cfg, const int *fds, int nfds,
		  struct gw_bridge **out)
{
	struct gw_bridge *b = calloc(1, sizeof(*b));
	int rc = -ENOMEM;

	if (!b) {
		gw_config_free(cfg);
		return -ENOMEM;
	}
	b->cfg = cfg;
	for (unsigned i = 0; i < GW_DOWN_SLOTS; i++)
		b->slots[i].b = b;
	b->dev = calloc(cfg->n_devices ? cfg->n_devices : 1, sizeof(*b->dev));
	b->state_topic = join3(cfg->gateway.base_topic, "/bridge/state", "");
	if (!b->dev || !b->state_topic)
		goto fail;
	rc = open_endpoints(b, fds, nfds);
	if (rc < 0)
		goto fail;
	b->ps = gw_pubsub_new(b, GW_MAX_BODY_SIZE);
	if (!b->ps) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = open_mqtt(b);
	if (rc < 0)
		goto fail;
	struct gw_ha_io io = gw_ha_io_mqtt(b->mqtt);
	b->ha = gw_ha_new(&io, cfg);
	if (!b->ha) {
		rc = -ENOMEM;
		goto fail;
	}
	b->obs = gw_observer_new(b);
	if (!b->obs) {
		rc = -ENOMEM;
		goto fail;
	}
	gw_mqtt_start(b->mqtt, gw_now_ms());
	*out = b;
	return 0;
fail:
	gw_bridge_free(b);
	return rc;
}

void gw_bridge_free(struct gw_bridge *b)
{
	if (!b)
		return;
	/*
	 * Stopping, whether or not gw_bridge_stop() ran (it does not on a
	 * fatal exit): a command the endpoints' cancellations complete below
	 * must not start the next one waiting for its device, on an endpoint
	 * freed already or about to be; the waiting ones are dropped with the
	 * rest (gw_downlink_cancel_all), and no new command or request is
	 * taken meanwhile.
	 */
	b->stopping = true;
	/* Observations first: cancelling tells the devices (RFC 7641 §3.6). */
	gw_observer_free(b->obs);
	/* Endpoints next: their open requests complete into the slots. */
	for (unsigned i = 0; i < b->n_ep; i++)
		ucoap_ep_free(b->ep[i]);
	gw_downlink_cancel_all(b);
	gw_ha_free(b->ha);
	gw_mqtt_free(b->mqtt);
	gw_pubsub_free(b->ps);
	free(b->dev);
	free(b->state_topic);
	gw_config_free(b->cfg);
	free(b);
}

/* ---- Loop sources ---- */

static int ep_fd(void *user)
{
	return ucoap_ep_fd(user);
}

static int ep_timeout(void *user)
{
	return ucoap_ep_next_timeout(user);
}

static void ep_dispatch(void *user, short revents)
{
	/*
	 * A bounded batch, so that a flood of datagrams cannot starve MQTT:
	 * the socket shows readable again, or the endpoint's timeout is 0
	 * while it holds datagrams already read, if more wait. Process also
	 * runs the due timers.
	 */
	(void)revents;
	ucoap_ep_process(user, 64);
}

static int mqtt_fd(void *user)
{
	return gw_mqtt_fd(user);
}

static short mqtt_events(void *user)
{
	return gw_mqtt_events(user);
}

static int mqtt_timeout(void *user)
{
	return gw_mqtt_next_timeout(user, gw_now_ms());
}

static void mqtt_dispatch(void *user, short revents)
{
	gw_mqtt_dispatch(user, revents, gw_now_ms());
}

static int tick_timeout(void *user)
{
	struct gw_bridge *b = user;
	uint64_t now = gw_now_ms();

	return b->next_tick <= now ? 0 : (int)(b->next_tick - now);
}

/* The figures behind the gateway's diagnostic entities. */
static void ha_tick(struct gw_bridge *b, uint64_t now)
{
	struct gw_ha_stats st = {
	    .up = b->up, .down = b->down, .queue = gw_mqtt_pending(b->mqtt)};
	struct gw_mqtt_stats ms;

	gw_mqtt_stats(b->mqtt, &ms);
	st.connected = ms.connected;
	for (size_t i = 0; i < b->cfg->n_devices; i++) {
		st.devices_seen += b->dev[i].last_seen_ms != 0;
		st.devices_online += b->dev[i].online;
	}
	gw_ha_tick(b->ha, now, &st);
}

static void tick_dispatch(void *user, short revents)
{
	struct gw_bridge *b = user;
	uint64_t now = gw_now_ms();

	(void)revents;
	if (now < b->next_tick)
		return;
	b->next_tick = now + GW_TICK_MS;
	check_availability(b, now);
	check_dedup(b);
	gw_downlink_tick(b, now);
	ha_tick(b, now);
	gw_observer_tick(b->obs, now);
}

static int ps_timeout(void *user)
{
	return gw_pubsub_next_timeout(user, gw_now_ms());
}

static void ps_dispatch(void *user, short revents)
{
	(void)revents;
	gw_pubsub_tick(user, gw_now_ms());
}

int gw_bridge_attach(struct gw_bridge *b, struct gw_loop *loop)
{
	struct gw_loop_source mq = {.fd = mqtt_fd,
				    .events = mqtt_events,
				    .timeout = mqtt_timeout,
				    .dispatch = mqtt_dispatch,
				    .user = b->mqtt};
	struct gw_loop_source tick = {
	    .timeout = tick_timeout, .dispatch = tick_dispatch, .user = b};
	/* GETs of ps/ wait for the broker for less than a tick. */
	struct gw_loop_source ps = {
	    .timeout = ps_timeout, .dispatch = ps_dispatch, .user = b->ps};
	int rc;

	for (unsigned i = 0; i < b->n_ep; i++) {
		struct gw_loop_source s = {.fd = ep_fd,
					   .timeout = ep_timeout,
					   .dispatch = ep_dispatch,
					   .user = b->ep[i]};
		rc = gw_loop_add(loop, &s);
		if (rc < 0)
			return rc;
	}
	rc = gw_loop_add(loop, &mq);
	if (rc < 0)
		return rc;
	b->next_tick = gw_now_ms() + GW_TICK_MS;
	rc = gw_loop_add(loop, &tick);
	if (rc < 0)
		return rc;
	return gw_loop_add(loop, &ps);
}

/* ---- Reload and stop ---- */

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool tls_same(const struct gw_config_tls *a,
		     const struct gw_config_tls *b)
{
	return a->enabled == b->enabled && str_eq(a->ca_file, b->ca_file) &&
	       str_eq(a->ca_path, b->ca_path) &&
	       str_eq(a->cert_file, b->cert_file) &&
	       str_eq(a->key_file, b->key_file) &&
	       str_eq(a->version, b->version) &&
	       str_eq(a->ciphers, b->ciphers) && a->insecure == b->insecure;
}

static void warn_restart_only(const struct gw_config *o,
			      const struct gw_config *n)
{
	bool listen_same = o->coap.n_listen == n->coap.n_listen;

	for (size_t i = 0; listen_same && i < o->coap.n_listen; i++)
		listen_same =
		    ucoap_addr_equal(&o->coap.listen[i], &n->coap.listen[i]);
	if (!listen_same)
		gw_warn("coap.listen changed: takes effect at the next start");
	if (!str_eq(o->mqtt.host, n->mqtt.host) ||
	    o->mqtt.port != n->mqtt.port ||
	    !str_eq(o->mqtt.client_id, n->mqtt.client_id) ||
	    !str_eq(o->mqtt.username, n->mqtt.username) ||
	    !str_eq(o->mqtt.password, n->mqtt.password) ||
	    o->mqtt.protocol != n->mqtt.protocol ||
	    o->mqtt.keepalive != n->mqtt.keepalive ||
	    !tls_same(&o->mqtt.tls, &n->mqtt.tls) ||
	    o->mqtt.queue_limit != n->mqtt.queue_limit ||
	    !str_eq(o->gateway.base_topic, n->gateway.base_topic))
		gw_warn("mqtt or gateway.base_topic changed: takes effect at "
			"the next start (the connection and its queue stay)");
	if (o->coap.max_message_size != n->coap.max_message_size ||
	    o->coap.ack_timeout_ms != n->coap.ack_timeout_ms ||
	    o->coap.max_retransmit != n->coap.max_retransmit ||
	    o->coap.ack_random_factor != n->coap.ack_random_factor)
		gw_warn("coap transmission parameters changed: take effect at "
			"the next start");
}

int gw_bridge_reload(struct gw_bridge *b, struct gw_config *cfg)
{
	struct gw_config *old = b->cfg;
	struct gw_devstate *dev =
	    calloc(cfg->n_devices ? cfg->n_devices : 1, sizeof(*dev));
	int rc;

	warn_restart_only(old, cfg);
	/* What the warnings call restart-only stays as it is until then. */
	if (!dev || gw_config_keep_restart_only(cfg, old) < 0) {
		gw_err(
		    "reload: out of memory; the running configuration stays");
		free(dev);
		gw_config_free(cfg);
		return -ENOMEM;
	}
	/*
	 * The new routes' subscriptions before the old ones are given back
	 * (below): a filter in both sets keeps a reference throughout, so the
	 * broker never stops sending it (no UNSUBSCRIBE, no command lost in
	 * between); only a raised QoS sends SUBSCRIBE again.
	 */
	rc = gw_downlink_subscribe(b, cfg);
	if (rc < 0) {
		gw_err("reload: cannot subscribe to the new downlink topics; "
		       "the running configuration stays");
		free(dev);
		gw_config_free(cfg);
		return rc;
	}
	/* Carry device state over by name; devices that are new start offline.
	 */
	for (size_t i = 0; i < cfg->n_devices; i++) {
		int j = gw_config_device_find(old, cfg->devices[i].name,
					      strlen(cfg->devices[i].name));
		if (j >= 0)
			dev[i] = b->dev[j];
		dev[i].inflight = false;
		dev[i].waiting = 0;
	}
	free(b->dev);
	b->dev = dev;
	b->cfg = cfg;
	/* In-flight and waiting commands keep running against the new table. */
	for (unsigned s = 0; s < GW_DOWN_SLOTS; s++) {
		struct gw_down_slot *sl = &b->slots[s];
		int d;

		if (!sl->used)
			continue;
		d = gw_config_device_find(cfg, sl->device, strlen(sl->device));
		if (d < 0)
			continue;
		if (sl->inflight)
			b->dev[d].inflight = true;
		else
			b->dev[d].waiting++;
	}
	gw_downlink_unsubscribe(b, old);
	/*
	 * A device taken out of the file leaves no retained state behind.
	 * Cleared before the new devices' "offline": one connection keeps
	 * the order, so whoever sees the new state sees the old one gone.
	 */
	for (size_t i = 0; i < old->n_devices; i++)
		if (gw_config_device_find(cfg, old->devices[i].name,
					  strlen(old->devices[i].name)) < 0)
			publish_availability_of(b, old->devices[i].name, "");
	for (size_t i = 0; i < cfg->n_devices; i++)
		if (gw_config_device_find(old, cfg->devices[i].name,
					  strlen(cfg->devices[i].name)) < 0)
			publish_availability(b, (int)i, false);
	gw_ha_reload(b->ha, cfg);
	gw_pubsub_reload(b->ps);
	gw_observer_reload(b->obs);
	gw_notice("reloaded: %zu devices, %zu uplink and %zu downlink routes",
		  cfg->n_devices, cfg->n_uplink, cfg->n_downlink);
	gw_config_free(old);
	return 0;
}

void gw_bridge_stop(struct gw_bridge *b, uint64_t deadline_ms)
{
	uint64_t now = gw_now_ms();
	int left = deadline_ms > now ? (int)(deadline_ms - now) : 0;
	int rc;

	b->stopping = true;
	/*
	 * The shutdown blocks for at most the flush deadline: the daemon is
	 * going away, and publishing `offline` and the queue matters more
	 * than answering new requests in those seconds.
	 */
	rc = gw_mqtt_shutdown(b->mqtt, true, left);
	if (rc == -ETIMEDOUT)
		gw_warn("stop: %zu messages could not be delivered in time",
			gw_mqtt_pending(b->mqtt));
	else if (rc == -ENOTCONN && gw_mqtt_pending(b->mqtt))
		gw_warn("stop: broker unreachable, %zu queued messages lost",
			gw_mqtt_pending(b->mqtt));
	b->stopped = true;
}

int gw_bridge_stopped(struct gw_bridge *b)
{
	return b->stopped;
}

void gw_bridge_summary(struct gw_bridge *b, char *buf, size_t cap)
{
	struct gw_mqtt_stats ms;
	size_t online = 0;

	gw_mqtt_stats(b->mqtt, &ms);
	for (size_t i = 0; i < b->cfg->n_devices; i++)
		online += b->dev[i].online;
	snprintf(buf, cap,
		 "broker %s, devices %zu/%zu online, routes %zu up %zu down, "
		 "messages up %llu down %llu, refused %llu, queue %llu",
		 ms.connected ? "connected" : "disconnected", online,
		 b->cfg->n_devices, b->cfg->n_uplink, b->cfg->n_downlink,
		 (unsigned long long)b->up, (unsigned long long)b->down,
		 (unsigned long long)b->up_refused,
		 (unsigned long long)gw_mqtt_pending(b->mqtt));
}
