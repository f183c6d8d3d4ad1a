/*
 * The bridge's private state, shared by its three files: bridge.c
 * (lifecycle, devices, availability), uplink.c (device requests -> MQTT)
 * and downlink.c (MQTT commands -> CoAP requests -> MQTT results).
 */
#ifndef GW_BRIDGE_INT_H
#define GW_BRIDGE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <ucoap/endpoint.h>

#include "bridge.h"
#include "config.h"
#include "mqtt.h"

#define GW_MAX_LISTEN GW_CONFIG_MAX_LISTEN
/*
 * Downlink commands in the bridge's hands at once (in flight or waiting
 * for their device): a fixed table, so a flood of MQTT commands costs a
 * bounded amount of memory. A command that finds it full is answered
 * with {"code":"busy"} on its result topic.
 */
#define GW_DOWN_SLOTS 256
/* Commands one device may have waiting behind the one in flight. */
#define GW_DEVICE_QUEUE 8
/* How often availability and waiting commands are checked. */
#define GW_TICK_MS 1000

/* Runtime state of a configured device; parallel to cfg->devices. */
struct gw_devstate {
	uint64_t last_seen_ms; /* 0: not heard from since start */
	bool online;
	bool inflight; /* NSTART = 1 (RFC 7252 §4.7): one request at a time */
	unsigned waiting;
};

/* A downlink command from its MQTT message to its published result. */
struct gw_down_slot {
	struct gw_bridge *b;
	bool used, inflight;
	uint64_t seq;         /* arrival order, for the per-device queue */
	uint64_t deadline_ms; /* a waiting command gives up then */
	char *device;         /* device name (owned) */
	uint8_t method;
	bool confirmable;
	uint32_t timeout_ms;
	/*
	 * Expanded Uri-Path, segments joined with '/' (a topic level never
	 * holds a '/', so each one is a segment boundary), and Uri-Query:
	 * query_len bytes of arguments separated by '\0', so that an '&'
	 * a topic level brought in stays inside its argument (owned).
	 */
	char *path, *query;
	size_t query_len;
	uint8_t *payload; /* owned copy */
	size_t len;
	char *result_topic; /* B/D/P/result (owned) */
	char *answer_topic; /* 2.xx payload goes here, or NULL (owned) */
	int answer_qos;
	char *v5_topic; /* MQTT v5 Response Topic, or NULL (owned) */
	uint8_t *corr;  /* its Correlation Data (owned) */
	size_t corr_len;
	uint16_t mid;
	struct ucoap_ep *ep;
};

struct gw_bridge {
	struct gw_config *cfg;
	struct ucoap_ep *ep[GW_MAX_LISTEN];
	unsigned n_ep;
	struct gw_mqtt *mqtt;
	struct gw_ha *ha;        /* Home Assistant discovery (ha.c) */
	struct gw_pubsub *ps;    /* ps/ and .well-known/core (pubsub.c) */
	struct gw_observer *obs; /* routes.observe (observer.c) */
	char *state_topic;       /* B/bridge/state */
	struct gw_devstate *dev; /* cfg->n_devices entries */
	struct gw_down_slot slots[GW_DOWN_SLOTS];
	uint64_t seq;
	uint64_t next_tick;
	bool stopping, stopped;
	/* Counters for STATUS= and the log. */
	uint64_t up, up_refused, down, down_failed;
	uint64_t dedup_forgotten; /* as last reported */
};

/* bridge.c */
int gw_bridge_find_device(const struct gw_bridge *b,
			  const struct ucoap_addr *from);
void gw_bridge_device_seen(struct gw_bridge *b, int dev, uint64_t now);
int gw_bridge_publish(struct gw_bridge *b, const char *topic,
		      const void *payload, size_t len,
		      const struct gw_mqtt_pub *p);
/* Answer the request being handled with @code, no payload, and Max-Age
 * when @max_age is not 0 (a 5.03 says when to retry). */
void gw_bridge_answer(struct ucoap_ep *ep, uint8_t code, uint32_t max_age);

/* uplink.c: the CoAP handler for every request no URL callback takes. */
void gw_uplink_on_request(struct ucoap_ep *ep, const struct ucoap_msg *req,
			  const struct ucoap_addr *from, void *user);

/* downlink.c */
void gw_downlink_on_message(void *user, const struct gw_mqtt_msg *msg);
int gw_downlink_subscribe(struct gw_bridge *b, const struct gw_config *cfg);
void gw_downlink_unsubscribe(struct gw_bridge *b, const struct gw_config *cfg);
void gw_downlink_tick(struct gw_bridge *b, uint64_t now);
void gw_downlink_cancel_all(struct gw_bridge *b);
/* The endpoint that can reach @to (same family, else dual-stack), or NULL. */
struct ucoap_ep *gw_downlink_pick_ep(struct gw_bridge *b,
				     const struct ucoap_addr *to);

#endif
