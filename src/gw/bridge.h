/*
 * gw_bridge: the gateway itself. It owns the CoAP endpoints, the MQTT
 * client, the device table and the routes, and moves messages between
 * them: device requests to MQTT publishes (uplink), MQTT commands to CoAP
 * requests and their answers back to MQTT (downlink).
 */
#ifndef GW_BRIDGE_H
#define GW_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"

struct gw_bridge;

/*
 * Create the bridge for @cfg (ownership taken, also on failure) and bind
 * its CoAP sockets: the @nfds descriptors in @fds when socket-activated
 * (ownership taken), else the addresses in cfg->coap.listen. The MQTT
 * connection starts in the background. Returns 0 with *@out set, -ENOMEM,
 * or the -errno of a failed bind (logged with the address).
 */
int gw_bridge_new(struct gw_config *cfg, const int *fds, int nfds,
		  struct gw_bridge **out);
/* Free everything. NULL is a no-op. */
void gw_bridge_free(struct gw_bridge *b);

/* Register the bridge's descriptors and timers with @loop. */
int gw_bridge_attach(struct gw_bridge *b, struct gw_loop *loop);

/*
 * Replace routes, devices and entities with @cfg (ownership taken). The
 * CoAP sockets, the MQTT connection and the queue are kept; listen
 * addresses and MQTT settings that changed take effect at the next start
 * (logged). MQTT filters in both configs stay subscribed throughout.
 * Returns 0, or -ENOMEM (logged; @cfg is freed and the running
 * configuration stays).
 */
int gw_bridge_reload(struct gw_bridge *b, struct gw_config *cfg);

/*
 * Begin a graceful stop: publish `offline`, stop taking new work.
 * gw_bridge_stopped() turns true once everything queued has been flushed
 * to the broker or @deadline_ms (on gw_now_ms()) has passed.
 */
void gw_bridge_stop(struct gw_bridge *b, uint64_t deadline_ms);
int gw_bridge_stopped(struct gw_bridge *b);

/* A one-line summary for STATUS= and the log. */
void gw_bridge_summary(struct gw_bridge *b, char *buf, size_t cap);

#endif
