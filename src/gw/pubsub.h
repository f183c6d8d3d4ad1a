/*
 * gw_pubsub: the gateway's own CoAP resources (spec "Publish/subscribe
 * over CoAP"), in the EMQX CoAP gateway's and Ponte's manner:
 *
 *   POST/PUT ps/<topic>[?qos=N][&retain=true]  publish (device's `publish`)
 *   GET ps/<topic>                             last retained message, 4.04
 *   GET ps/<topic> with Observe=0              every new message on it
 *   GET .well-known/core                       RFC 6690 link format
 *
 * Part of the bridge (it reads struct gw_bridge through bridge_int.h);
 * everything runs on the daemon's loop thread. Memory is fixed at
 * creation: a table of topics being looked up or observed, a table of
 * requests waiting for the broker, and the .well-known/core buffers (sized
 * from the config, again at each reload); nothing is allocated per request.
 */
#ifndef GW_PUBSUB_H
#define GW_PUBSUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ucoap/endpoint.h>

#include "mqtt.h"
#include "route.h"

struct gw_bridge;
struct gw_pubsub;

/* Topics looked up or observed at once (each is one MQTT subscription). */
#define GW_PUBSUB_TOPICS 32
/* Requests waiting for the broker's retained message at once. */
#define GW_PUBSUB_WAITERS 64
/* Longest ps/ topic (bytes); longer ones get 4.00, never truncated. */
#define GW_PUBSUB_TOPIC_MAX 512
/*
 * How long a GET waits for the broker's retained message before it is
 * answered 4.04. The broker sends retained messages right after its
 * SUBACK, so on a LAN this is a generous margin.
 */
#define GW_PUBSUB_RETAINED_WAIT_MS 500
/*
 * The last message seen on an observed topic is kept (up to this many
 * bytes) to answer a new observer's registration at once (RFC 7641 §4.1:
 * the response to a registration is the current state).
 */
#define GW_PUBSUB_LAST_MAX 1024

/*
 * Create for @b (borrowed; must outlive it), whose cfg is set. The
 * .well-known/core document is served up to @doc_max bytes (the
 * endpoints' max_body_size: the largest body they send block-wise); its
 * buffers are sized here and at gw_pubsub_reload() from the config. NULL
 * on out of memory.
 */
struct gw_pubsub *gw_pubsub_new(struct gw_bridge *b, size_t doc_max);
/* Cancel everything (waiting devices get no answer). NULL is a no-op. */
void gw_pubsub_free(struct gw_pubsub *ps);

/*
 * A device request whose Uri-Path is @segs (@n views, already checked
 * for '+', '#', '/', NUL and empty segments). @dev is the device index or
 * -1 for an allowed unknown device (no permissions). Returns true when
 * the path is one of ours (ps/..., .well-known/core) and the request was
 * answered or deferred; false leaves it to the routes.
 */
bool gw_pubsub_on_request(struct gw_pubsub *ps, struct ucoap_ep *ep,
			  const struct ucoap_msg *req,
			  const struct ucoap_addr *from, int dev,
			  const struct gw_seg *segs, unsigned n);

/*
 * The endpoint runs its request handler for a ps/ observer while a
 * notification is built (ucoap_ep_notifying() is true): the handler hands
 * the call here instead of treating it as a new request.
 */
void gw_pubsub_on_notify(struct gw_pubsub *ps, struct ucoap_ep *ep,
			 const struct ucoap_msg *req,
			 const struct ucoap_addr *from);

/*
 * An MQTT message came in. Returns true when it was a retained message
 * that answered waiting GETs only (the bridge passes nothing on then);
 * false when the rest of the bridge should see it too.
 */
bool gw_pubsub_on_message(struct gw_pubsub *ps, const struct gw_mqtt_msg *msg);

/*
 * The gateway itself published @len bytes of @payload on @topic. With MQTT
 * v5 the broker never echoes them (No Local), so observers of @topic are
 * notified here instead. All pointers borrowed for the call.
 */
void gw_pubsub_on_local_publish(struct gw_pubsub *ps, const char *topic,
				const void *payload, size_t len);

/* Milliseconds until gw_pubsub_tick() has work (0: now), or -1. */
int gw_pubsub_next_timeout(const struct gw_pubsub *ps, uint64_t now);
/*
 * Answer the GETs whose wait is over with 4.04; drop the subscriptions of
 * topics whose last observer went (RST, Observe 1, a failed CON).
 */
void gw_pubsub_tick(struct gw_pubsub *ps, uint64_t now);

/*
 * The bridge's config was replaced: end observations whose device or
 * permission is gone, and size .well-known/core for the new config (out
 * of memory keeps the old size; links that do not fit are left out).
 */
void gw_pubsub_reload(struct gw_pubsub *ps);

#endif
