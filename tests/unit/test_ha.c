/*
 * Unit tests for gw_ha: the discovery documents of a config, parsed back
 * with cJSON field by field, and the life cycle (announce on connect, the
 * stale scan, Home Assistant's birth, stats, reload) against a recording
 * stand-in for MQTT.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ha.h"
#include "runner.h"

#define P "homeassistant"

static const char base_conf[] =
    "gateway = { id = \"pi-garden\"; base_topic = \"cb\"; };\n"
    "mqtt = { qos = 0; };\n"
    "devices = (\n"
    "  { name = \"kitchen\"; address = \"192.0.2.10\"; },\n"
    "  { name = \"Relay-1\"; address = \"192.0.2.11\"; }\n"
    ");\n";

static const char entities_conf[] =
    "homeassistant = { enabled = true; entities = (\n"
    "  { device = \"kitchen\"; component = \"sensor\"; object_id = "
    "\"temperature\";\n"
    "    name = \"Temperature\"; state_topic = \"home/kitchen/temp\";\n"
    "    device_class = \"temperature\"; unit = \"°C\";\n"
    "    state_class = \"measurement\"; value_template = \"{{ value_json.t "
    "}}\";\n"
    "    json_attributes_topic = \"home/kitchen/attrs\"; icon = "
    "\"mdi:thermometer\"; },\n"
    "  { device = \"Relay-1\"; component = \"switch\"; object_id = \"led\";\n"
    "    state_topic = \"home/relay/led\"; command_topic = "
    "\"home/relay/led/set\";\n"
    "    payload_on = \"ON\"; payload_off = \"OFF\"; },\n"
    "  { device = \"Relay-1\"; component = \"light\"; object_id = \"lamp\";\n"
    "    command_topic = \"l/set\"; state_topic = \"l\"; value_template = "
    "\"{{ value }}\";\n"
    "    brightness_command_topic = \"l/b/set\"; brightness_state_topic = "
    "\"l/b\"; },\n"
    "  { device = \"kitchen\"; component = \"number\"; object_id = \"sp\";\n"
    "    command_topic = \"n/set\"; min = -5.0; max = 30.0; step = 0.5; },\n"
    "  { device = \"kitchen\"; component = \"button\"; object_id = \"go\";\n"
    "    command_topic = \"b/press\"; entity_category = \"config\"; },\n"
    "  { device = \"kitchen\"; component = \"binary_sensor\"; object_id = "
    "\"door\";\n"
    "    state_topic = \"d\"; device_class = \"door\"; }\n"
    "); };\n";

static struct gw_config *load_text(const char *a, const char *b)
{
	char path[] = "/tmp/test_ha_XXXXXX";
	int fd = mkstemp(path);
	struct gw_config *cfg = NULL;
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(a, f);
	fputs(b, f);
	fclose(f);
	ck_assert_int_eq(gw_config_load(path, &cfg, NULL, NULL), 0);
	unlink(path);
	return cfg;
}

/* The document announced on @topic, parsed. */
static cJSON *doc_at(const struct gw_ha_doc *d, size_t n, const char *topic)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(d[i].topic, topic) == 0)
			return cJSON_Parse(d[i].payload);
	ck_abort_msg("no document on %s", topic);
	return NULL;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", k);
	return v->valuedouble;
}

static bool has(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k) != NULL;
}

START_TEST(sensor_document)
{
	struct gw_config *cfg = load_text(base_conf, entities_conf);
	struct gw_ha_doc *d;
	size_t n;

	ck_assert_int_eq(gw_ha_build(cfg, "cb", &d, &n), 0);
	/* 6 gateway entities, then the 6 configured ones. */
	ck_assert_uint_eq(n, 12);
	cJSON *o =
	    doc_at(d, n, P "/sensor/pi-garden_kitchen/temperature/config");
	ck_assert_str_eq(str(o, "name"), "Temperature");
	ck_assert_str_eq(str(o, "unique_id"),
			 "coapbridge:pi-garden:kitchen:temperature");
	ck_assert_str_eq(str(o, "default_entity_id"),
			 "sensor.kitchen_temperature");
	ck_assert(!has(o, "object_id"));
	ck_assert_str_eq(str(o, "state_topic"), "home/kitchen/temp");
	ck_assert(!has(o, "command_topic"));
	ck_assert_str_eq(str(o, "device_class"), "temperature");
	ck_assert_str_eq(str(o, "unit_of_measurement"), "°C");
	ck_assert_str_eq(str(o, "state_class"), "measurement");
	ck_assert_str_eq(str(o, "value_template"), "{{ value_json.t }}");
	ck_assert_str_eq(str(o, "json_attributes_topic"), "home/kitchen/attrs");
	ck_assert_str_eq(str(o, "icon"), "mdi:thermometer");
	ck_assert(!has(o, "payload_on"));
	ck_assert_double_eq(num(o, "qos"), 0);

	const cJSON *av = cJSON_GetObjectItem(o, "availability");
	ck_assert_int_eq(cJSON_GetArraySize(av), 2);
	ck_assert_str_eq(str(cJSON_GetArrayItem(av, 0), "topic"),
			 "cb/bridge/state");
	ck_assert_str_eq(str(cJSON_GetArrayItem(av, 1), "topic"),
			 "cb/kitchen/availability");
	ck_assert_str_eq(str(o, "availability_mode"), "all");

	const cJSON *dev = cJSON_GetObjectItem(o, "device");
	const cJSON *ids = cJSON_GetObjectItem(dev, "identifiers");
	ck_assert_int_eq(cJSON_GetArraySize(ids), 1);
	ck_assert_str_eq(cJSON_GetArrayItem(ids, 0)->valuestring,
			 "coapbridge_pi-garden_kitchen");
	ck_assert_str_eq(str(dev, "name"), "kitchen");
	ck_assert_str_eq(str(dev, "manufacturer"), "coapbridge");
	ck_assert_str_eq(str(dev, "model"), "CoAP device");
	ck_assert_str_eq(str(dev, "via_device"), "coapbridge_pi-garden");
	const cJSON *org = cJSON_GetObjectItem(o, "origin");
	ck_assert_str_eq(str(org, "name"), "coapbridge");
	ck_assert_str_eq(str(org, "sw_version"), COAPBRIDGE_VERSION);
	cJSON_Delete(o);
	gw_ha_docs_free(d, n);
	gw_config_free(cfg);
}
END_TEST

/* Names Home Assistant would refuse as an entity id are tidied up. */
START_TEST(entity_id_tidied)
{
	struct gw_config *cfg = load_text(
	    "gateway = { id = \"pi-garden\"; base_topic = \"cb\"; };\n"
	    "devices = ( { name = \"_K--1\"; address = \"192.0.2.10\"; } "
	    ");\n",
	    "homeassistant = { enabled = true; entities = (\n"
	    "  { device = \"_K--1\"; component = \"switch\"; object_id = "
	    "\"relay_\"; command_topic = \"r/set\"; } ); };\n");
	struct gw_ha_doc *d;
	size_t n;
	cJSON *o;

	ck_assert_int_eq(gw_ha_build(cfg, "cb", &d, &n), 0);
	o = doc_at(d, n, P "/switch/pi-garden__K--1/relay_/config");
	ck_assert_str_eq(str(o, "default_entity_id"), "switch.k_1_relay");
	cJSON_Delete(o);
	gw_ha_docs_free(d, n);
	gw_config_free(cfg);
}
END_TEST

START_TEST(other_components)
{
	struct gw_config *cfg = load_text(base_conf, entities_conf);
	struct gw_ha_doc *d;
	size_t n;
	cJSON *o;

	ck_assert_int_eq(gw_ha_build(cfg, "cb", &d, &n), 0);
	/* A device name with capitals and '-': the id is lower case. */
	o = doc_at(d, n, P "/switch/pi-garden_Relay-1/led/config");
	ck_assert_str_eq(str(o, "default_entity_id"), "switch.relay_1_led");
	ck_assert_str_eq(str(o, "name"), "led"); /* no name: the object id */
	ck_assert_str_eq(str(o, "command_topic"), "home/relay/led/set");
	ck_assert_str_eq(str(o, "state_topic"), "home/relay/led");
	ck_assert_str_eq(str(o, "payload_on"), "ON");
	ck_assert_str_eq(str(o, "payload_off"), "OFF");
	ck_assert_str_eq(str(cJSON_GetObjectItem(o, "device"), "name"),
			 "Relay-1");
	ck_assert_str_eq(
	    str(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "availability"), 1),
		"topic"),
	    "cb/Relay-1/availability");
	cJSON_Delete(o);

	o = doc_at(d, n, P "/light/pi-garden_Relay-1/lamp/config");
	ck_assert_str_eq(str(o, "brightness_command_topic"), "l/b/set");
	ck_assert_str_eq(str(o, "brightness_state_topic"), "l/b");
	ck_assert_double_eq(num(o, "brightness_scale"), 255);
	/* The default light schema's name for the state template. */
	ck_assert_str_eq(str(o, "state_value_template"), "{{ value }}");
	ck_assert(!has(o, "value_template"));
	cJSON_Delete(o);

	o = doc_at(d, n, P "/number/pi-garden_kitchen/sp/config");
	ck_assert_double_eq(num(o, "min"), -5);
	ck_assert_double_eq(num(o, "max"), 30);
	ck_assert_double_eq(num(o, "step"), 0.5);
	ck_assert(!has(o, "state_topic"));
	cJSON_Delete(o);

	o = doc_at(d, n, P "/button/pi-garden_kitchen/go/config");
	ck_assert_str_eq(str(o, "command_topic"), "b/press");
	ck_assert_str_eq(str(o, "entity_category"), "config");
	ck_assert(!has(o, "min") && !has(o, "payload_on"));
	cJSON_Delete(o);

	o = doc_at(d, n, P "/binary_sensor/pi-garden_kitchen/door/config");
	ck_assert_str_eq(str(o, "device_class"), "door");
	ck_assert(!has(o, "payload_on")); /* Home Assistant's ON/OFF */
	cJSON_Delete(o);
	gw_ha_docs_free(d, n);
	gw_config_free(cfg);
}
END_TEST

START_TEST(gateway_entities)
{
	struct gw_config *cfg = load_text(base_conf, entities_conf);
	static const char *const keys[] = {"messages_up", "messages_down",
					   "queue", "devices_seen",
					   "devices_online"};
	struct gw_ha_doc *d;
	size_t n;
	char topic[256], tmpl[64];

	ck_assert_int_eq(gw_ha_build(cfg, "cb", &d, &n), 0);
	cJSON *o = doc_at(
	    d, n, P "/binary_sensor/coapbridge_pi-garden/connection/config");
	ck_assert_str_eq(str(o, "device_class"), "connectivity");
	ck_assert_str_eq(str(o, "state_topic"), "cb/bridge/state");
	ck_assert_str_eq(str(o, "payload_on"), "online");
	ck_assert_str_eq(str(o, "payload_off"), "offline");
	ck_assert_str_eq(str(o, "entity_category"), "diagnostic");
	ck_assert_str_eq(str(o, "unique_id"),
			 "coapbridge:pi-garden:connection");
	ck_assert(!has(o, "availability"));
	const cJSON *dev = cJSON_GetObjectItem(o, "device");
	ck_assert_str_eq(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(dev, "identifiers"), 0)
		->valuestring,
	    "coapbridge_pi-garden");
	ck_assert_str_eq(str(dev, "sw_version"), COAPBRIDGE_VERSION);
	ck_assert_str_eq(str(dev, "name"), "coapbridge pi-garden");
	ck_assert(!has(dev, "via_device"));
	cJSON_Delete(o);
	for (size_t i = 0; i < 5; i++) {
		snprintf(topic, sizeof(topic),
			 P "/sensor/coapbridge_pi-garden/%s/config", keys[i]);
		snprintf(tmpl, sizeof(tmpl), "{{ value_json.%s }}", keys[i]);
		o = doc_at(d, n, topic);
		ck_assert_str_eq(str(o, "state_topic"), "cb/bridge/stats");
		ck_assert_str_eq(str(o, "value_template"), tmpl);
		ck_assert_str_eq(str(o, "entity_category"), "diagnostic");
		ck_assert_str_eq(str(o, "state_class"),
				 i < 2 ? "total_increasing" : "measurement");
		cJSON_Delete(o);
	}
	gw_ha_docs_free(d, n);
	gw_config_free(cfg);
}
END_TEST

START_TEST(disabled_builds_nothing)
{
	struct gw_config *cfg = load_text(base_conf, "");
	struct gw_ha_doc *d = (void *)1;
	size_t n = 9;

	ck_assert_int_eq(gw_ha_build(cfg, "cb", &d, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(d);
	gw_config_free(cfg);
}
END_TEST

START_TEST(sanitise)
{
	char out[32];

	ck_assert_int_eq(gw_ha_sanitise("2001:db8::1", out, sizeof(out)), 11);
	ck_assert_str_eq(out, "2001_db8__1");
	gw_ha_sanitise("a.b c/d+e#f-g_h\xc3\xa9", out, sizeof(out));
	ck_assert_str_eq(out, "a_b_c_d_e_f-g_h__");
	ck_assert_int_eq(gw_ha_sanitise("abc", out, 3), -ENOSPC);
}
END_TEST

START_TEST(stats_json)
{
	struct gw_ha_stats st = {.up = 12,
				 .down = 3,
				 .queue = 0,
				 .devices_seen = 2,
				 .devices_online = 1};
	char buf[256];

	ck_assert_int_gt(gw_ha_stats_json(&st, buf, sizeof(buf)), 0);
	cJSON *o = cJSON_Parse(buf);
	ck_assert_double_eq(num(o, "messages_up"), 12);
	ck_assert_double_eq(num(o, "messages_down"), 3);
	ck_assert_double_eq(num(o, "queue"), 0);
	ck_assert_double_eq(num(o, "devices_seen"), 2);
	ck_assert_double_eq(num(o, "devices_online"), 1);
	cJSON_Delete(o);
	ck_assert_int_eq(gw_ha_stats_json(&st, buf, 10), -ENOSPC);
}
END_TEST

/* ---- The life cycle against a recorder ---- */

#define MAX_EV 256

static struct {
	size_t n;
	char what[MAX_EV][8]; /* "pub", "sub", "unsub" */
	char topic[MAX_EV][160];
	char payload[MAX_EV][8]; /* the first bytes only */
	size_t len[MAX_EV];
	bool retain[MAX_EV];
} ev;

static void record(const char *what, const char *topic, const void *p,
		   size_t len, bool retain)
{
	ck_assert_uint_lt(ev.n, MAX_EV);
	snprintf(ev.what[ev.n], sizeof(ev.what[0]), "%s", what);
	snprintf(ev.topic[ev.n], sizeof(ev.topic[0]), "%s", topic);
	snprintf(ev.payload[ev.n], sizeof(ev.payload[0]), "%.*s",
		 (int)(len < 7 ? len : 7), p ? (const char *)p : "");
	ev.len[ev.n] = len;
	ev.retain[ev.n] = retain;
	ev.n++;
}

static int rec_publish(void *user, const char *topic, const void *payload,
		       size_t len, bool retain)
{
	(void)user;
	record("pub", topic, payload, len, retain);
	return 0;
}

static int rec_subscribe(void *user, const char *filter, int qos)
{
	(void)user;
	(void)qos;
	record("sub", filter, NULL, 0, false);
	return 0;
}

static int rec_unsubscribe(void *user, const char *filter)
{
	(void)user;
	record("unsub", filter, NULL, 0, false);
	return 0;
}

static const struct gw_ha_io rec_io = {.publish = rec_publish,
				       .subscribe = rec_subscribe,
				       .unsubscribe = rec_unsubscribe};

static size_t count(const char *what, const char *topic, bool empty)
{
	size_t k = 0;

	for (size_t i = 0; i < ev.n; i++)
		if (strcmp(ev.what[i], what) == 0 &&
		    (!topic || strcmp(ev.topic[i], topic) == 0) &&
		    (!empty || ev.len[i] == 0))
			k++;
	return k;
}

#define T_TEMP P "/sensor/pi-garden_kitchen/temperature/config"
#define T_LED  P "/switch/pi-garden_Relay-1/led/config"
#define T_DOOR P "/binary_sensor/pi-garden_kitchen/door/config"

static bool msg(struct gw_ha *ha, const char *topic, const char *payload,
		bool retained, uint64_t now)
{
	return gw_ha_on_message(ha, topic, payload, strlen(payload), retained,
				now);
}

START_TEST(connect_announces_and_scans)
{
	struct gw_config *cfg = load_text(base_conf, entities_conf);
	struct gw_ha *ha;

	memset(&ev, 0, sizeof(ev));
	ha = gw_ha_new(&rec_io, cfg);
	ck_assert_ptr_nonnull(ha);
	/* Nothing is published before the broker is there. */
	ck_assert_uint_eq(count("pub", NULL, false), 0);
	ck_assert_uint_eq(count("sub", P "/status", false), 1);

	gw_ha_on_connect(ha, 1000);
	ck_assert_uint_eq(count("pub", NULL, false), 12);
	for (size_t i = 0; i < ev.n; i++)
		if (strcmp(ev.what[i], "pub") == 0)
			ck_assert_msg(ev.retain[i], "%s not retained",
				      ev.topic[i]);
	ck_assert_uint_eq(count("sub", P "/+/+/+/config", false), 1);

	/* Retained configs from before: ours and gone -> deleted. */
	ck_assert(msg(ha, P "/sensor/pi-garden_old/x/config",
		      "{\"unique_id\":\"coapbridge:pi-garden:old:x\"}", true,
		      1100));
	ck_assert_uint_eq(
	    count("pub", P "/sensor/pi-garden_old/x/config", true), 1);
	/* The abbreviated key counts too. */
	ck_assert(msg(ha, P "/sensor/y/z/config",
		      "{\"uniq_id\":\"coapbridge:pi-garden:connection2\"}",
		      true, 1100));
	ck_assert_uint_eq(count("pub", P "/sensor/y/z/config", true), 1);
	/* Ours and still configured, another gateway's, another system's,
	 * garbage, a live (not retained) one: all left alone. */
	ck_assert(msg(ha, T_TEMP,
		      "{\"unique_id\":\"coapbridge:pi-garden:kitchen:"
		      "temperature\"}",
		      true, 1100));
	ck_assert(msg(ha, P "/sensor/a/b/config",
		      "{\"unique_id\":\"coapbridge:pi-garden2:a:b\"}", true,
		      1100));
	ck_assert(msg(ha, P "/sensor/c/d/config", "{\"unique_id\":\"z2m_1\"}",
		      true, 1100));
	ck_assert(msg(ha, P "/sensor/e/f/config", "not json", true, 1100));
	ck_assert(msg(ha, P "/sensor/g/h/config",
		      "{\"unique_id\":\"coapbridge:pi-garden:g:h\"}", false,
		      1100));
	ck_assert_uint_eq(count("pub", NULL, true), 2);
	/* Not a config topic: not ours. */
	ck_assert(!msg(ha, P "/sensor/a/config", "{}", true, 1100));

	/* The scan ends after GW_HA_SCAN_MS. */
	struct gw_ha_stats st = {0};
	gw_ha_tick(ha, 1000 + GW_HA_SCAN_MS - 1, &st);
	ck_assert_uint_eq(count("unsub", NULL, false), 0);
	gw_ha_tick(ha, 1000 + GW_HA_SCAN_MS, &st);
	ck_assert_uint_eq(count("unsub", P "/+/+/+/config", false), 1);
	ck_assert(!msg(ha, P "/sensor/q/r/config",
		       "{\"unique_id\":\"coapbridge:pi-garden:q:r\"}", true,
		       9000));
	ck_assert_uint_eq(count("pub", NULL, true), 2);

	/* A reconnect announces again but does not scan again. */
	gw_ha_on_connect(ha, 20000);
	ck_assert_uint_eq(count("pub", T_LED, false), 2);
	ck_assert_uint_eq(count("sub", P "/+/+/+/config", false), 1);
	gw_ha_free(ha);
	gw_config_free(cfg);
}
END_TEST

START_TEST(birth_reannounces)
{
	struct gw_config *cfg = load_text(base_conf, entities_conf);
	struct gw_ha *ha;

	memset(&ev, 0, sizeof(ev));
	ha = gw_ha_new(&rec_io, cfg);
	gw_ha_on_connect(ha, 0);
	ck_assert_uint_eq(count("pub", T_LED, false), 1);
	/* Acted on, yet left for a route on the same topic. */
	ck_assert(!msg(ha, P "/status", "online", false, 10));
	ck_assert_uint_eq(count("pub", T_LED, false), 2);
	ck_assert_uint_eq(count("pub", NULL, false), 24);
	/* A retained birth, "offline", anything else: nothing. */
	ck_assert(!msg(ha, P "/status", "online", true, 10));
	ck_assert(!msg(ha, P "/status", "offline", false, 10));
	ck_assert(!msg(ha, P "/status", "onlinex", false, 10));
	ck_assert_uint_eq(count("pub", NULL, false), 24);
	/* Other topics are the downlink's. */
	ck_assert(!msg(ha, "home/relay/led/set", "1", false, 10));
	gw_ha_free(ha);
	gw_config_free(cfg);
}
END_TEST

START_TEST(stats_on_change)
{
	struct gw_config *cfg = load_text(base_conf, entities_conf);
	struct gw_ha_stats st = {.connected = true, .up = 1};
	struct gw_ha *ha;

	memset(&ev, 0, sizeof(ev));
	ha = gw_ha_new(&rec_io, cfg);
	gw_ha_on_connect(ha, 0);
	gw_ha_tick(ha, 1000, &st);
	ck_assert_uint_eq(count("pub", "cb/bridge/stats", false), 1);
	/* Changed too soon: not yet; then it goes out. */
	st.up = 2;
	gw_ha_tick(ha, 1000 + GW_HA_STATS_MIN_MS - 1, &st);
	ck_assert_uint_eq(count("pub", "cb/bridge/stats", false), 1);
	gw_ha_tick(ha, 1000 + GW_HA_STATS_MIN_MS, &st);
	ck_assert_uint_eq(count("pub", "cb/bridge/stats", false), 2);
	ck_assert(ev.retain[ev.n - 1]);
	ck_assert_str_eq(ev.payload[ev.n - 1], "{\"messa");
	/* Unchanged: never again, however long it has been. */
	gw_ha_tick(ha, 1000 + 10 * GW_HA_STATS_MIN_MS, &st);
	ck_assert_uint_eq(count("pub", "cb/bridge/stats", false), 2);
	/* Not while disconnected. */
	st.connected = false;
	st.up = 3;
	gw_ha_tick(ha, 100000, &st);
	ck_assert_uint_eq(count("pub", "cb/bridge/stats", false), 2);
	gw_ha_free(ha);
	gw_config_free(cfg);
}
END_TEST

START_TEST(reload_diff)
{
	struct gw_config *cfg = load_text(base_conf, entities_conf);
	char *changed = strdup(entities_conf);
	struct gw_config *cfg2;
	struct gw_ha *ha;
	char *p;

	/* Rename the sensor, drop the door. */
	p = strstr(changed, "\"Temperature\"");
	memcpy(p, "\"Temperatur2\"", 13);
	p = strstr(changed, ",\n  { device = \"kitchen\"; component = "
			    "\"binary_sensor\"");
	strcpy(p, "\n); };\n");
	cfg2 = load_text(base_conf, changed);

	memset(&ev, 0, sizeof(ev));
	ha = gw_ha_new(&rec_io, cfg);
	gw_ha_on_connect(ha, 0);
	/* Past the start-up scan (a reload during it ends it early). */
	gw_ha_tick(ha, GW_HA_SCAN_MS, &(struct gw_ha_stats){0});
	size_t before = ev.n;
	ck_assert_int_eq(gw_ha_reload(ha, cfg2), 0);
	ck_assert_uint_eq(ev.n - before, 2);
	ck_assert_uint_eq(count("pub", T_DOOR, true), 1);
	ck_assert_uint_eq(count("pub", T_TEMP, false), 2);
	ck_assert_uint_eq(count("pub", T_LED, false), 1);

	/* Disabling deletes everything and leaves the status topic. */
	struct gw_config *off = load_text(base_conf, "");
	before = ev.n;
	ck_assert_int_eq(gw_ha_reload(ha, off), 0);
	ck_assert_uint_eq(count("pub", NULL, true), 1 + 11);
	ck_assert_uint_eq(count("unsub", P "/status", false), 1);
	/* And enabling again announces everything. */
	ck_assert_int_eq(gw_ha_reload(ha, cfg), 0);
	ck_assert_uint_eq(count("pub", T_DOOR, false), 3);
	ck_assert_uint_eq(count("sub", P "/status", false), 2);
	gw_ha_free(ha);
	gw_config_free(off);
	gw_config_free(cfg2);
	gw_config_free(cfg);
	free(changed);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ha");
	TCase *tc = tcase_create("ha");

	tcase_add_test(tc, sensor_document);
	tcase_add_test(tc, other_components);
	tcase_add_test(tc, entity_id_tidied);
	tcase_add_test(tc, gateway_entities);
	tcase_add_test(tc, disabled_builds_nothing);
	tcase_add_test(tc, sanitise);
	tcase_add_test(tc, stats_json);
	tcase_add_test(tc, connect_announces_and_scans);
	tcase_add_test(tc, birth_reannounces);
	tcase_add_test(tc, stats_on_change);
	tcase_add_test(tc, reload_diff);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
