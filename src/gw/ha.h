/*
 * gw_ha: Home Assistant MQTT discovery (spec "homeassistant"; Home
 * Assistant's MQTT discovery conventions, zigbee2mqtt's habits).
 *
 * Each configured entity is announced with a retained config message on
 * <discovery_prefix>/<component>/<node_id>/<object_id>/config, where
 * node_id is "<gateway id>_<device>" and object_id the entity's own, both
 * sanitised to [A-Za-z0-9_-]. The gateway is a device of its own
 * (node_id "coapbridge_<gateway id>") with diagnostic entities: broker
 * connection (binary_sensor, connectivity, on B/bridge/state), messages
 * up and down, queue depth, devices seen and online (sensors reading the
 * JSON on B/bridge/stats, published retained when it changes).
 *
 * Identities: unique_id "coapbridge:<gateway id>:<device>:<object_id>"
 * (':' is in no name, so two entities never share one) and
 * "coapbridge:<gateway id>:<object_id>" for the gateway's own; device
 * identifiers "coapbridge_<gateway id>[_<device>]"; default_entity_id
 * "<component>.<device>_<object_id>" in lower case (Home Assistant 2025.10
 * deprecated object_id in payloads). Every device entity lists
 * B/bridge/state and B/D/availability with availability_mode "all".
 *
 * Life cycle, driven by the bridge:
 * - on every broker connection, everything is announced (a broker that
 *   lost its retained messages gets them back);
 * - after the first connection, the configs under the discovery prefix
 *   are read for GW_HA_SCAN_MS: a retained one whose unique_id starts
 *   with this gateway's prefix but which is no longer configured is
 *   deleted (empty retained message), so users never see ghosts;
 * - "online" on <discovery_prefix>/status (Home Assistant's birth, live,
 *   not retained) re-announces everything;
 * - a reload deletes removed entities, re-announces changed ones and
 *   leaves unchanged ones alone.
 * The base topic is the one given to gw_ha_new: like the MQTT connection
 * itself, a new base topic takes effect at the next start.
 */
#ifndef GW_HA_H
#define GW_HA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* How long the configs under the prefix are read for stale entities. */
#define GW_HA_SCAN_MS 3000
/* B/bridge/stats is published at most this often, and only on change. */
#define GW_HA_STATS_MIN_MS 5000

struct gw_mqtt;
struct gw_ha;

/*
 * What gw_ha needs from MQTT; the bridge passes gw_ha_io_mqtt(), tests a
 * recorder. Strings are borrowed for the call. Return 0 or -errno.
 */
struct gw_ha_io {
	void *user;
	int (*publish)(void *user, const char *topic, const void *payload,
		       size_t len, bool retain);
	int (*subscribe)(void *user, const char *filter, int qos);
	int (*unsubscribe)(void *user, const char *filter);
};

/* The io for a gw_mqtt client (publishes with QoS 1). */
struct gw_ha_io gw_ha_io_mqtt(struct gw_mqtt *m);

/* The gateway's figures, for B/bridge/stats. */
struct gw_ha_stats {
	bool connected;
	uint64_t up, down, queue, devices_seen, devices_online;
};

/* One announcement: topic and JSON payload (both owned by the array). */
struct gw_ha_doc {
	char *topic;
	char *payload;
};

/*
 * The announcements for @cfg in @base_topic's layout: the gateway's
 * entities, then cfg->homeassistant.entities in order. None when
 * homeassistant.enabled is false. Returns 0 with *@docs (free with
 * gw_ha_docs_free) and *@n set, or -ENOMEM.
 */
int gw_ha_build(const struct gw_config *cfg, const char *base_topic,
		struct gw_ha_doc **docs, size_t *n);
void gw_ha_docs_free(struct gw_ha_doc *docs, size_t n);

/* @in sanitised to [A-Za-z0-9_-] (anything else becomes '_') in @out. */
int gw_ha_sanitise(const char *in, char *out, size_t cap);

/* B/bridge/stats: {"messages_up":..,"messages_down":..,"queue":..,
 * "devices_seen":..,"devices_online":..}. Length, -ENOSPC, -ENOMEM. */
int gw_ha_stats_json(const struct gw_ha_stats *st, char *buf, size_t cap);

/*
 * Create the discovery state for @cfg (borrowed for the call) with the
 * base topic of cfg->gateway (copied). Subscribes to
 * <discovery_prefix>/status when enabled; announces nothing until
 * gw_ha_on_connect. @io is copied. NULL when out of memory.
 */
struct gw_ha *gw_ha_new(const struct gw_ha_io *io, const struct gw_config *cfg);
/* NULL is a no-op. Publishes nothing. */
void gw_ha_free(struct gw_ha *ha);

/* The broker accepted the connection: announce everything. */
void gw_ha_on_connect(struct gw_ha *ha, uint64_t now_ms);

/*
 * An MQTT message (@payload valid for the call; @retained as in
 * struct gw_mqtt_msg). Returns true when it was gw_ha's alone (a config
 * topic while scanning); false otherwise, the status topic included: a
 * downlink route on that topic gets it as well.
 */
bool gw_ha_on_message(struct gw_ha *ha, const char *topic, const void *payload,
		      size_t len, bool retained, uint64_t now_ms);

/* Timed work: ends the stale scan, publishes changed stats. */
void gw_ha_tick(struct gw_ha *ha, uint64_t now_ms,
		const struct gw_ha_stats *st);

/*
 * Switch to @cfg (borrowed for the call): delete what is gone, announce
 * what is new or changed. Returns 0 or -ENOMEM (the old set stays).
 */
int gw_ha_reload(struct gw_ha *ha, const struct gw_config *cfg);

#endif
