/* gw_ha: see ha.h. */
#include "ha.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mqtt.h"

struct gw_ha {
	struct gw_ha_io io;
	bool enabled;
	char *base;         /* B, fixed at start */
	char *stats_topic;  /* B/bridge/stats */
	char *prefix;       /* discovery prefix */
	char *status_topic; /* <prefix>/status */
	char *scan_filter;  /* <prefix>/+/+/+/config */
	char *uid_prefix;   /* "coapbridge:<gateway id>:" */
	struct gw_ha_doc *docs;
	size_t n_docs;
	/* The references held on status_topic and scan_filter (mqtt.h):
	 * only those are ever given back, another owner's never. */
	bool status_held;
	bool scanning, scanned; /* scanning: scan_filter held */
	bool scan_stats;        /* disabled: stats_topic held while scanning */
	uint64_t scan_end;
	char stats[256]; /* last published */
	uint64_t stats_at;
};

/* A new string: names have no length limit, so nothing is cut short. */
__attribute__((format(printf, 1, 2))) static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

int gw_ha_sanitise(const char *in, char *out, size_t cap)
{
	size_t n = strlen(in);

	if (n + 1 > cap)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		bool keep =
		    (isascii((unsigned char)c) && isalnum((unsigned char)c)) ||
		    c == '_' || c == '-';

		out[i] = keep ? c : '_';
	}
	out[n] = '\0';
	return (int)n;
}

/* @in sanitised, as a new string. */
static char *sanitised(const char *in)
{
	char *s = strdup(in);

	if (s)
		gw_ha_sanitise(in, s, strlen(in) + 1);
	return s;
}

/* An entity id slug: lower case [a-z0-9_] (Home Assistant's rule). */
/*
 * The object id part of an entity id as Home Assistant accepts it
 * (valid_entity_id): [a-z0-9_], no '_' first or last, no "__" -- from
 * names that may hold capitals, '-' and such runs of '_'.
 */
static void slug(char *s)
{
	char *w = s;

	if (!s)
		return;
	for (const char *r = s; *r; r++) {
		char c = *r == '-' ? '_' : (char)tolower((unsigned char)*r);

		if (c == '_' && (w == s || w[-1] == '_'))
			continue;
		*w++ = c;
	}
	if (w > s && w[-1] == '_')
		w--;
	if (w == s)
		*w++ = 'x'; /* nothing but '_' and '-' */
	*w = '\0';
}

/* ---- Building the documents ---- */

struct build {
	const struct gw_config *cfg;
	const char *base;
	char *gwid;        /* sanitised gateway id */
	char *gw_ident;    /* coapbridge_<gwid> */
	char *state_topic; /* B/bridge/state */
	char *stats_topic; /* B/bridge/stats */
};

/* cJSON's adders return NULL on failure; one flag collects them all. */
static void add_str(cJSON *o, const char *k, const char *v, bool *ok)
{
	if (v && !cJSON_AddStringToObject(o, k, v))
		*ok = false;
}

/* add_str for a string from fmt(), which it frees; NULL is a failure. */
static void add_own(cJSON *o, const char *k, char *v, bool *ok)
{
	if (!v)
		*ok = false;
	add_str(o, k, v, ok);
	free(v);
}

static void add_num(cJSON *o, const char *k, double v, bool *ok)
{
	if (!cJSON_AddNumberToObject(o, k, v))
		*ok = false;
}

/* Add @child (may be NULL after a failure) to @o as @k. */
static void add_obj(cJSON *o, const char *k, cJSON *child, bool *ok)
{
	if (!child || !o || !cJSON_AddItemToObject(o, k, child)) {
		cJSON_Delete(child);
		*ok = false;
	}
}

static cJSON *origin(void)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	add_str(o, "name", "coapbridge", &ok);
	add_str(o, "sw_version", COAPBRIDGE_VERSION, &ok);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* @dev: a device index, or -1 for the gateway itself. */
static cJSON *device_block(const struct build *bd, int dev)
{
	cJSON *d = cJSON_CreateObject();
	cJSON *ids = cJSON_AddArrayToObject(d, "identifiers");
	char *dn = dev < 0 ? NULL : sanitised(bd->cfg->devices[dev].name);
	char *ident = dev < 0 ? strdup(bd->gw_ident)
		      : dn    ? fmt("%s_%s", bd->gw_ident, dn)
			      : NULL;
	cJSON *id = ident ? cJSON_CreateString(ident) : NULL;
	bool ok = d && ids;

	free(dn);
	free(ident);
	if (!id || !ids || !cJSON_AddItemToArray(ids, id)) {
		cJSON_Delete(id);
		ok = false;
	}
	add_str(d, "manufacturer", "coapbridge", &ok);
	if (dev < 0) {
		add_own(d, "name", fmt("coapbridge %s", bd->cfg->gateway.id),
			&ok);
		add_str(d, "model", "CoAP-MQTT gateway", &ok);
		add_str(d, "sw_version", COAPBRIDGE_VERSION, &ok);
	} else {
		add_str(d, "name", bd->cfg->devices[dev].name, &ok);
		/*
		 * The node's own firmware version is not known to the
		 * gateway, so none is claimed; the gateway is its way in.
		 */
		add_str(d, "model", "CoAP device", &ok);
		add_str(d, "via_device", bd->gw_ident, &ok);
	}
	if (!ok) {
		cJSON_Delete(d);
		return NULL;
	}
	return d;
}

/* "availability": one entry per topic, all of which must say online. */
static void add_availability(cJSON *o, const char *t1, const char *t2, bool *ok)
{
	cJSON *list = cJSON_AddArrayToObject(o, "availability");
	const char *topics[] = {t1, t2};

	if (!list) {
		*ok = false;
		return;
	}
	for (int i = 0; i < 2; i++) {
		cJSON *e;

		if (!topics[i])
			continue;
		e = cJSON_CreateObject();
		add_str(e, "topic", topics[i], ok);
		if (!e || !cJSON_AddItemToArray(list, e)) {
			cJSON_Delete(e);
			*ok = false;
		}
	}
	add_str(o, "availability_mode", "all", ok);
}

/* Print @o (taken) into @doc at @topic (taken). */
static int finish_doc(cJSON *o, bool ok, char *topic, struct gw_ha_doc *doc)
{
	char *text = ok && o ? cJSON_PrintUnformatted(o) : NULL;

	cJSON_Delete(o);
	if (!text || !topic) {
		free(text);
		free(topic);
		return -ENOMEM;
	}
	doc->topic = topic;
	doc->payload = text;
	return 0;
}

static const char *const stats_keys[] = {
    "messages_up", "messages_down", "queue", "devices_seen", "devices_online",
};

/* The gateway's own entities: the connection, then one per stats key. */
#define GW_ENTITIES (1 + sizeof(stats_keys) / sizeof(stats_keys[0]))

static int gateway_doc(const struct build *bd, size_t i, const char *prefix,
		       struct gw_ha_doc *doc)
{
	static const char *const names[] = {
	    "Broker connection", "Messages up",  "Messages down",
	    "Queue depth",       "Devices seen", "Devices online"};
	const char *object = i == 0 ? "connection" : stats_keys[i - 1];
	const char *component = i == 0 ? "binary_sensor" : "sensor";
	char *eid = fmt("%s.coapbridge_%s_%s", component, bd->gwid, object);
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	add_str(o, "name", names[i], &ok);
	add_own(o, "unique_id", fmt("coapbridge:%s:%s", bd->gwid, object), &ok);
	slug(eid ? eid + strlen(component) + 1 : NULL);
	add_own(o, "default_entity_id", eid, &ok);
	add_str(o, "entity_category", "diagnostic", &ok);
	if (i == 0) {
		/*
		 * The connection is the gateway's birth and Last Will: "off"
		 * when the broker has lost the gateway, never unavailable,
		 * so it has no availability of its own.
		 */
		add_str(o, "state_topic", bd->state_topic, &ok);
		add_str(o, "device_class", "connectivity", &ok);
		add_str(o, "payload_on", "online", &ok);
		add_str(o, "payload_off", "offline", &ok);
	} else {
		add_str(o, "state_topic", bd->stats_topic, &ok);
		add_own(o, "value_template", fmt("{{ value_json.%s }}", object),
			&ok);
		add_str(o, "state_class",
			i <= 2 ? "total_increasing" : "measurement", &ok);
		add_availability(o, bd->state_topic, NULL, &ok);
	}
	add_num(o, "qos", bd->cfg->mqtt.qos, &ok);
	add_obj(o, "device", device_block(bd, -1), &ok);
	add_obj(o, "origin", origin(), &ok);
	return finish_doc(o, ok,
			  fmt("%s/%s/coapbridge_%s/%s/config", prefix,
			      component, bd->gwid, object),
			  doc);
}

static int entity_doc(const struct build *bd, const struct gw_config_entity *en,
		      const char *prefix, struct gw_ha_doc *doc)
{
	const struct gw_config_device *dv = &bd->cfg->devices[en->device];
	const char *comp = en->component_name;
	char *dn = sanitised(dv->name), *oid = sanitised(en->object_id);
	char *eid = dn && oid ? fmt("%s.%s_%s", comp, dn, oid) : NULL;
	char *topic = dn && oid ? fmt("%s/%s/%s_%s/%s/config", prefix, comp,
				      bd->gwid, dn, oid)
				: NULL;
	char *avail = fmt("%s/%s/availability", bd->base, dv->name);
	enum gw_ha_component c = en->component;
	bool onoff =
	    c == GW_HA_BINARY_SENSOR || c == GW_HA_SWITCH || c == GW_HA_LIGHT;
	cJSON *o = cJSON_CreateObject();
	bool ok = o && avail;

	free(dn);
	free(oid);
	add_str(o, "name", en->name ? en->name : en->object_id, &ok);
	add_own(o, "unique_id",
		fmt("coapbridge:%s:%s:%s", bd->gwid, dv->name, en->object_id),
		&ok);
	slug(eid ? eid + strlen(comp) + 1 : NULL);
	add_own(o, "default_entity_id", eid, &ok);
	add_str(o, "state_topic", en->state_topic, &ok);
	add_str(o, "command_topic", en->command_topic, &ok);
	add_str(o, "device_class", en->device_class, &ok);
	add_str(o, "unit_of_measurement", en->unit, &ok);
	add_str(o, "state_class", en->state_class, &ok);
	/* The default light schema names its state template differently. */
	add_str(o, c == GW_HA_LIGHT ? "state_value_template" : "value_template",
		en->value_template, &ok);
	add_str(o, "json_attributes_topic", en->json_attributes_topic, &ok);
	if (onoff) {
		add_str(o, "payload_on", en->payload_on, &ok);
		add_str(o, "payload_off", en->payload_off, &ok);
	}
	if (c == GW_HA_LIGHT) {
		add_str(o, "brightness_state_topic", en->brightness_state_topic,
			&ok);
		add_str(o, "brightness_command_topic",
			en->brightness_command_topic, &ok);
		if (en->brightness_state_topic || en->brightness_command_topic)
			add_num(o, "brightness_scale", en->brightness_scale,
				&ok);
	}
	if (c == GW_HA_NUMBER) {
		if (en->has_min)
			add_num(o, "min", en->min, &ok);
		if (en->has_max)
			add_num(o, "max", en->max, &ok);
		if (en->has_step)
			add_num(o, "step", en->step, &ok);
	}
	add_str(o, "icon", en->icon, &ok);
	add_str(o, "entity_category", en->entity_category, &ok);
	add_num(o, "qos", bd->cfg->mqtt.qos, &ok);
	add_availability(o, bd->state_topic, avail, &ok);
	free(avail);
	add_obj(o, "device", device_block(bd, en->device), &ok);
	add_obj(o, "origin", origin(), &ok);
	return finish_doc(o, ok, topic, doc);
}

void gw_ha_docs_free(struct gw_ha_doc *docs, size_t n)
{
	for (size_t i = 0; docs && i < n; i++) {
		free(docs[i].topic);
		free(docs[i].payload);
	}
	free(docs);
}

int gw_ha_build(const struct gw_config *cfg, const char *base_topic,
		struct gw_ha_doc **docs, size_t *n)
{
	const struct gw_config_homeassistant *ha = &cfg->homeassistant;
	struct build bd = {.cfg = cfg, .base = base_topic};
	struct gw_ha_doc *d = NULL;
	size_t total = GW_ENTITIES + ha->n_entities, k = 0;
	int rc = -ENOMEM;

	*docs = NULL;
	*n = 0;
	if (!ha->enabled)
		return 0;
	bd.gwid = sanitised(cfg->gateway.id);
	bd.gw_ident = bd.gwid ? fmt("coapbridge_%s", bd.gwid) : NULL;
	bd.state_topic = fmt("%s/bridge/state", base_topic);
	bd.stats_topic = fmt("%s/bridge/stats", base_topic);
	d = calloc(total, sizeof(*d));
	if (!bd.gw_ident || !bd.state_topic || !bd.stats_topic || !d)
		goto out;
	for (size_t i = 0; i < GW_ENTITIES; i++, k++)
		if (gateway_doc(&bd, i, ha->discovery_prefix, &d[k]) < 0)
			goto out;
	for (size_t i = 0; i < ha->n_entities; i++, k++)
		if (entity_doc(&bd, &ha->entities[i], ha->discovery_prefix,
			       &d[k]) < 0)
			goto out;
	*docs = d;
	*n = total;
	d = NULL;
	rc = 0;
out:
	gw_ha_docs_free(d, k);
	free(bd.gwid);
	free(bd.gw_ident);
	free(bd.state_topic);
	free(bd.stats_topic);
	return rc;
}

int gw_ha_stats_json(const struct gw_ha_stats *st, char *buf, size_t cap)
{
	const uint64_t v[] = {st->up, st->down, st->queue, st->devices_seen,
			      st->devices_online};
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;
	int rc = -ENOMEM;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		add_num(o, stats_keys[i], (double)v[i], &ok);
	if (ok) {
		if (cap > (size_t)INT32_MAX)
			cap = INT32_MAX;
		rc = cJSON_PrintPreallocated(o, buf, (int)cap, 0)
			 ? (int)strlen(buf)
			 : -ENOSPC;
	}
	cJSON_Delete(o);
	return rc;
}

/* ---- Runtime ---- */

static int mqtt_publish(void *user, const char *topic, const void *payload,
			size_t len, bool retain)
{
	/* Discovery documents and the retained stats are state. */
	struct gw_mqtt_pub p = {.qos = 1, .retain = retain, .state = retain};

	return gw_mqtt_publish(user, topic, payload, len, &p);
}

static int mqtt_subscribe(void *user, const char *filter, int qos)
{
	return gw_mqtt_subscribe(user, filter, qos);
}

static int mqtt_unsubscribe(void *user, const char *filter)
{
	return gw_mqtt_unsubscribe(user, filter);
}

struct gw_ha_io gw_ha_io_mqtt(struct gw_mqtt *m)
{
	return (struct gw_ha_io){.user = m,
				 .publish = mqtt_publish,
				 .subscribe = mqtt_subscribe,
				 .unsubscribe = mqtt_unsubscribe};
}

static void publish(struct gw_ha *ha, const char *topic, const char *payload,
		    const char *what)
{
	int rc =
	    ha->io.publish(ha->io.user, topic, payload, strlen(payload), true);

	if (rc < 0)
		gw_warn("homeassistant: %s %s: %s", what, topic, strerror(-rc));
	else
		gw_debug("homeassistant: %s %s", what, topic);
}

static void announce_all(struct gw_ha *ha)
{
	for (size_t i = 0; i < ha->n_docs; i++)
		publish(ha, ha->docs[i].topic, ha->docs[i].payload, "announce");
}

static const struct gw_ha_doc *find_doc(const struct gw_ha_doc *docs, size_t n,
					const char *topic)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(docs[i].topic, topic) == 0)
			return &docs[i];
	return NULL;
}

/* Copy the settings of @cfg that name topics; false when out of memory. */
static bool take_names(struct gw_ha *ha, const struct gw_config *cfg)
{
	const char *prefix = cfg->homeassistant.discovery_prefix;
	char *p = strdup(prefix);
	char *status = fmt("%s/status", prefix);
	char *scan = fmt("%s/+/+/+/config", prefix);

	if (!p || !status || !scan) {
		free(p);
		free(status);
		free(scan);
		return false;
	}
	free(ha->prefix);
	free(ha->status_topic);
	free(ha->scan_filter);
	ha->prefix = p;
	ha->status_topic = status;
	ha->scan_filter = scan;
	ha->enabled = cfg->homeassistant.enabled;
	return true;
}

static void subscribe_status(struct gw_ha *ha)
{
	int rc = ha->io.subscribe(ha->io.user, ha->status_topic, 1);

	ha->status_held = rc == 0;
	if (rc < 0)
		gw_warn("homeassistant: cannot subscribe to %s: %s",
			ha->status_topic, strerror(-rc));
}

struct gw_ha *gw_ha_new(const struct gw_ha_io *io, const struct gw_config *cfg)
{
	struct gw_ha *ha = calloc(1, sizeof(*ha));
	char *gwid = sanitised(cfg->gateway.id);

	if (!ha || !gwid) {
		free(ha);
		free(gwid);
		return NULL;
	}
	ha->io = *io;
	ha->base = strdup(cfg->gateway.base_topic);
	ha->stats_topic = fmt("%s/bridge/stats", cfg->gateway.base_topic);
	ha->uid_prefix = fmt("coapbridge:%s:", gwid);
	free(gwid);
	if (!ha->base || !ha->stats_topic || !ha->uid_prefix ||
	    !take_names(ha, cfg) ||
	    gw_ha_build(cfg, ha->base, &ha->docs, &ha->n_docs) < 0) {
		gw_ha_free(ha);
		return NULL;
	}
	if (ha->enabled)
		subscribe_status(ha);
	return ha;
}

void gw_ha_free(struct gw_ha *ha)
{
	if (!ha)
		return;
	gw_ha_docs_free(ha->docs, ha->n_docs);
	free(ha->base);
	free(ha->stats_topic);
	free(ha->prefix);
	free(ha->status_topic);
	free(ha->scan_filter);
	free(ha->uid_prefix);
	free(ha);
}

void gw_ha_on_connect(struct gw_ha *ha, uint64_t now_ms)
{
	if (ha->enabled) {
		announce_all(ha);
		/* Force the stats out at the next tick: the broker may be
		 * new. */
		ha->stats[0] = '\0';
		ha->stats_at = 0;
	}
	if (!ha->scanned && !ha->scanning) {
		int rc = ha->io.subscribe(ha->io.user, ha->scan_filter, 0);

		if (rc < 0) {
			gw_warn("homeassistant: cannot subscribe to %s: %s",
				ha->scan_filter, strerror(-rc));
			return;
		}
		ha->scanning = true;
		ha->scan_end = now_ms + GW_HA_SCAN_MS;
		/*
		 * Disabled: what an earlier run announced goes, so Home
		 * Assistant shows no entities of ours -- the scan finds every
		 * document of this gateway stale -- nor its retained stats.
		 */
		ha->scan_stats =
		    !ha->enabled &&
		    ha->io.subscribe(ha->io.user, ha->stats_topic, 0) == 0;
	}
}

static void scan_stop(struct gw_ha *ha)
{
	ha->io.unsubscribe(ha->io.user, ha->scan_filter);
	if (ha->scan_stats)
		ha->io.unsubscribe(ha->io.user, ha->stats_topic);
	ha->scanning = false;
	ha->scan_stats = false;
	ha->scanned = true;
}

/* Is @topic <prefix>/<component>/<node_id>/<object_id>/config? */
static bool is_config_topic(const struct gw_ha *ha, const char *topic)
{
	size_t pl = strlen(ha->prefix), levels = 0;
	const char *rest = topic + pl;

	if (strncmp(topic, ha->prefix, pl) != 0 || rest[0] != '/')
		return false;
	for (const char *s = rest; *s; s++)
		levels += *s == '/';
	return levels == 4 && strlen(rest) > 7 &&
	       strcmp(rest + strlen(rest) - 7, "/config") == 0;
}

/* A config from an earlier run: delete it if it is ours and gone now. */
static void check_stale(struct gw_ha *ha, const char *topic,
			const void *payload, size_t len)
{
	cJSON *doc = cJSON_ParseWithLength(payload, len);
	const cJSON *uid = cJSON_GetObjectItemCaseSensitive(doc, "unique_id");

	/* Home Assistant also accepts the abbreviation. */
	if (!uid)
		uid = cJSON_GetObjectItemCaseSensitive(doc, "uniq_id");
	if (cJSON_IsString(uid) &&
	    strncmp(uid->valuestring, ha->uid_prefix, strlen(ha->uid_prefix)) ==
		0 &&
	    !find_doc(ha->docs, ha->n_docs, topic)) {
		gw_info("homeassistant: deleting stale entity %s (%s)",
			uid->valuestring, topic);
		publish(ha, topic, "", "delete");
	}
	cJSON_Delete(doc);
}

bool gw_ha_on_message(struct gw_ha *ha, const char *topic, const void *payload,
		      size_t len, bool retained, uint64_t now_ms)
{
	(void)now_ms;
	if (ha->enabled && strcmp(topic, ha->status_topic) == 0) {
		/*
		 * Home Assistant's birth message is live; a retained
		 * "online" would re-announce at every reconnect for nothing.
		 */
		if (!retained && len == 6 &&
		    memcmp(payload, "online", 6) == 0) {
			gw_info("homeassistant: %s online: announcing %zu "
				"entities",
				ha->prefix, ha->n_docs);
			announce_all(ha);
		}
		/* Not only ours: a downlink route may listen there too. */
		return false;
	}
	if (ha->scan_stats && retained && len > 0 &&
	    strcmp(topic, ha->stats_topic) == 0) {
		publish(ha, topic, "", "delete");
		return false;
	}
	if (ha->scanning && is_config_topic(ha, topic)) {
		/* Only what the broker kept from before counts. */
		if (retained && len > 0)
			check_stale(ha, topic, payload, len);
		return true;
	}
	return false;
}

void gw_ha_tick(struct gw_ha *ha, uint64_t now_ms, const struct gw_ha_stats *st)
{
	char json[sizeof(ha->stats)];

	if (ha->scanning && now_ms >= ha->scan_end)
		scan_stop(ha);
	if (!ha->enabled || !st->connected ||
	    (ha->stats_at && now_ms - ha->stats_at < GW_HA_STATS_MIN_MS))
		return;
	if (gw_ha_stats_json(st, json, sizeof(json)) < 0 ||
	    strcmp(json, ha->stats) == 0)
		return;
	if (ha->io.publish(ha->io.user, ha->stats_topic, json, strlen(json),
			   true) == 0) {
		snprintf(ha->stats, sizeof(ha->stats), "%s", json);
		ha->stats_at = now_ms;
	}
}

int gw_ha_reload(struct gw_ha *ha, const struct gw_config *cfg)
{
	struct gw_ha_doc *docs = NULL;
	size_t n = 0;
	bool had_status = ha->status_held;
	char *old_status = ha->status_topic ? strdup(ha->status_topic) : NULL;
	size_t deleted = 0, announced = 0;

	if (!old_status || gw_ha_build(cfg, ha->base, &docs, &n) < 0) {
		free(old_status);
		gw_err("homeassistant: reload: out of memory; the entities "
		       "stay as they were");
		return -ENOMEM;
	}
	for (size_t i = 0; i < ha->n_docs; i++)
		if (!find_doc(docs, n, ha->docs[i].topic)) {
			publish(ha, ha->docs[i].topic, "", "delete");
			deleted++;
		}
	for (size_t i = 0; i < n; i++) {
		const struct gw_ha_doc *old =
		    find_doc(ha->docs, ha->n_docs, docs[i].topic);

		if (!old || strcmp(old->payload, docs[i].payload) != 0) {
			publish(ha, docs[i].topic, docs[i].payload, "announce");
			announced++;
		}
	}
	gw_ha_docs_free(ha->docs, ha->n_docs);
	ha->docs = docs;
	ha->n_docs = n;
	/* The scan ends early: it read the old prefix with the old set. */
	if (ha->scanning)
		scan_stop(ha);
	if (!take_names(ha, cfg)) {
		free(old_status);
		return -ENOMEM;
	}
	/*
	 * The new status topic before the old one goes, so that an unchanged
	 * or shared filter (a downlink route may name the same topic) is
	 * never without a subscription at the broker. An unchanged one held
	 * already is left alone.
	 */
	bool same = strcmp(old_status, ha->status_topic) == 0;

	if (ha->enabled && !(had_status && same)) {
		subscribe_status(ha);
		if (had_status)
			ha->io.unsubscribe(ha->io.user, old_status);
	} else if (!ha->enabled && had_status) {
		ha->io.unsubscribe(ha->io.user, old_status);
		ha->status_held = false;
	}
	free(old_status);
	if (deleted || announced)
		gw_info("homeassistant: reload: %zu entities deleted, %zu "
			"announced, %zu unchanged",
			deleted, announced, n - announced);
	return 0;
}
