/*
 * gw_observer: routes.observe (spec "Config file"). The gateway observes
 * each listed device resource (RFC 7641, as a client) and publishes every
 * notification's payload to the route's topic.
 *
 * An observation that ends -- the device answers RST or an error, or
 * declines to be observed, or a (re-)registration gets no answer -- is
 * registered again after a backoff that doubles from
 * GW_OBSERVER_RETRY_MIN_MS up to GW_OBSERVER_RETRY_MAX_MS and starts over
 * once notifications flow. Notifications stopping without an RST (the
 * device rebooted and forgot us) are noticed by the core when Max-Age and
 * a margin pass (RFC 7641 §3.3.1), which re-registers by itself. Each
 * loss and each re-establishment is logged; each notification counts as
 * the device being present (availability).
 *
 * Part of the bridge (reads struct gw_bridge through bridge_int.h); runs
 * on the loop thread.
 */
#ifndef GW_OBSERVER_H
#define GW_OBSERVER_H

#include <stdint.h>

struct gw_bridge;
struct gw_observer;

#define GW_OBSERVER_RETRY_MIN_MS 1000
#define GW_OBSERVER_RETRY_MAX_MS 300000

/*
 * Create for @b (borrowed; its endpoints must be open) and start
 * observing every route of b->cfg. Returns NULL on out of memory.
 */
struct gw_observer *gw_observer_new(struct gw_bridge *b);
/*
 * Cancel every observation (a GET with Observe 1 tells each device, RFC
 * 7641 §3.6) and free. Call while the endpoints still exist. NULL: no-op.
 */
void gw_observer_free(struct gw_observer *o);

/*
 * b->cfg was replaced: observations of the same URI at the same device
 * address go on (with the new topic, qos and retain), the others are
 * cancelled, new routes start. A route whose topic cannot be built is
 * logged and left out. Returns 0 or -ENOMEM (every observation is then
 * cancelled, logged).
 */
int gw_observer_reload(struct gw_observer *o);

/*
 * Re-register the observations whose backoff has passed; call about once
 * a second (the bridge's tick).
 */
void gw_observer_tick(struct gw_observer *o, uint64_t now);

#endif
