/*
 * gw_translate: the payload translations an uplink route may ask for
 * (spec "routes.uplink"): payload = "json" turns a CBOR request
 * (content-format 60) into JSON, senml = "split" publishes each record of
 * a SenML pack (content-format 110 or 112) on <topic>/<name>. A request in
 * any other content-format is published as it came, as on a raw route.
 *
 * Unlike the raw path, these allocate (libcbor and cJSON build trees),
 * bounded by coap.max_message_size; only routes that ask pay for it.
 */
#ifndef GW_TRANSLATE_H
#define GW_TRANSLATE_H

#include <stdbool.h>

#include <ucoap/msg.h>

#include "config.h"
#include "mqtt.h"

struct gw_bridge;

/* True when @r asks for a translation at all. */
bool gw_translate_wanted(const struct gw_config_uplink *r);

/*
 * Publish @req's payload for route @r on @topic (or its SenML subtopics)
 * with @p. Returns 0 when everything was published or queued; -EBADMSG
 * when the payload does not decode as its content-format says (nothing
 * published); -ENOBUFS when the queue cannot take every record (nothing
 * published); -EINVAL for a topic MQTT refuses; -EMSGSIZE; -ENOMEM.
 */
int gw_translate_publish(struct gw_bridge *b, const struct gw_config_uplink *r,
			 const struct ucoap_msg *req, const char *topic,
			 const struct gw_mqtt_pub *p);

#endif
