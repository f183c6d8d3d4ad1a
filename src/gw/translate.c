/* gw_translate: see translate.h. */
#include "translate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_int.h"
#include "cborjson.h"
#include "log.h"
#include "senml.h"

/* RFC 7252 §12.3 / RFC 8949 §9.5: application/cbor */
#define CF_CBOR 60
/* The same bound as uplink.c's topics. */
#define SPLIT_TOPIC_MAX 1024

bool gw_translate_wanted(const struct gw_config_uplink *r)
{
	return r->payload == GW_PAYLOAD_JSON || r->senml == GW_SENML_SPLIT;
}

struct split_ctx {
	struct gw_bridge *b;
	const char *topic;
	const struct gw_mqtt_pub *p;
	bool publish; /* false: a dry run that checks every topic */
};

static int split_topic(const struct split_ctx *c, const char *name, char *buf,
		       size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s", c->topic, name);

	if (n < 0 || (size_t)n >= cap)
		return -EINVAL;
	return gw_mqtt_topic_check(buf);
}

static int on_record(void *user, const struct gw_senml_record *r)
{
	struct split_ctx *c = user;
	char topic[SPLIT_TOPIC_MAX];
	int rc = split_topic(c, r->name, topic, sizeof(topic));

	if (rc < 0 || !c->publish)
		return rc;
	return gw_bridge_publish(c->b, topic, r->text, strlen(r->text), c->p);
}

static int split(struct gw_bridge *b, const struct ucoap_msg *req, int cf,
		 const char *topic, const struct gw_mqtt_pub *p)
{
	struct split_ctx c = {.b = b, .topic = topic, .p = p};
	size_t n = 0;
	int rc;

	/*
	 * A dry run first: a record whose topic MQTT would refuse, or a
	 * queue without room for every record, publishes none of them, so a
	 * device that retries never causes duplicates.
	 */
	rc = gw_senml_resolve(req->payload, req->payload_len, cf, on_record, &c,
			      &n);
	if (rc < 0)
		return rc;
	if (gw_mqtt_pending(b->mqtt) + n > b->cfg->mqtt.queue_limit)
		return -ENOBUFS;
	c.publish = true;
	return gw_senml_resolve(req->payload, req->payload_len, cf, on_record,
				&c, NULL);
}

int gw_translate_publish(struct gw_bridge *b, const struct gw_config_uplink *r,
			 const struct ucoap_msg *req, const char *topic,
			 const struct gw_mqtt_pub *p)
{
	int cf = ucoap_msg_content_format(req);

	if (r->senml == GW_SENML_SPLIT &&
	    (cf == GW_SENML_CF_JSON || cf == GW_SENML_CF_CBOR))
		return split(b, req, cf, topic, p);
	if (r->payload == GW_PAYLOAD_JSON && cf == CF_CBOR) {
		char *json = NULL;
		size_t len = 0;
		int rc = gw_cbor_to_json(req->payload, req->payload_len, &json,
					 &len);

		if (rc < 0)
			return rc;
		rc = gw_bridge_publish(b, topic, json, len, p);
		free(json);
		return rc;
	}
	return gw_bridge_publish(b, topic, req->payload, req->payload_len, p);
}
