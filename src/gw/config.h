/*
 * gw_config: the daemon's configuration, parsed and validated in one pass
 * from a libconfig file (spec "Config file"). The only module that sees
 * <libconfig.h>.
 *
 * The result is plain data: read the structs directly. Everything in it
 * (strings, arrays, compiled patterns and templates, route indexes) is
 * owned by the struct gw_config and freed by gw_config_free(). It is never
 * modified after gw_config_load() returns, so a reload builds a new one and
 * swaps it in.
 *
 * Every element remembers where it came from (struct gw_config_loc), so
 * runtime messages can say "FILE:LINE: uplink route: ...".
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ucoap/endpoint.h>

#include "route.h"

/* Defaults (spec "Config file"). */
#define GW_CONFIG_DEFAULT_BASE_TOPIC "coapbridge"
#define GW_CONFIG_DEFAULT_LISTEN     "[::]:5683"
/* One CoAP socket each: the poll set has room for this many. */
#define GW_CONFIG_MAX_LISTEN                   8
#define GW_CONFIG_DEFAULT_MAX_MESSAGE_SIZE     1152 /* RFC 7252 §4.6 */
#define GW_CONFIG_DEFAULT_REQUEST_TIMEOUT_MS   10000
#define GW_CONFIG_DEFAULT_MQTT_HOST            "localhost"
#define GW_CONFIG_DEFAULT_MQTT_PORT            1883
#define GW_CONFIG_DEFAULT_MQTT_TLS_PORT        8883
#define GW_CONFIG_DEFAULT_KEEPALIVE            30
#define GW_CONFIG_DEFAULT_QOS                  1
#define GW_CONFIG_DEFAULT_QUEUE_LIMIT          10000
#define GW_CONFIG_DEFAULT_AVAILABILITY_TIMEOUT 900
#define GW_CONFIG_DEFAULT_DISCOVERY_PREFIX     "homeassistant"
#define GW_CONFIG_DEFAULT_BRIGHTNESS_SCALE     255

/*
 * Where a setting came from: @file is the file that held it (an @include'd
 * one included), @line its line (0 when unknown). Points into the config.
 */
struct gw_config_loc {
	const char *file;
	unsigned line;
};

struct gw_config_gateway {
	const char *id; /* default: hostname, sanitised to [A-Za-z0-9_-] */
	const char *base_topic; /* default "coapbridge" */
	bool default_routes;    /* default true */
};

struct gw_config_coap {
	struct ucoap_addr *listen; /* default one entry: [::]:5683 */
	size_t n_listen;
	bool allow_unknown_devices;  /* default false */
	uint32_t max_message_size;   /* 64..65535, default 1152 */
	uint32_t ack_timeout_ms;     /* 10..600000, default 2000 */
	double ack_random_factor;    /* 1.0..10.0, default 1.5 */
	uint32_t max_retransmit;     /* 0..20, default 4 */
	uint32_t request_timeout_ms; /* 1..3600000, default 10000 */
};

enum gw_config_mqtt_protocol {
	GW_CONFIG_MQTT_V311 = 311, /* "v3.1.1" */
	GW_CONFIG_MQTT_V5 = 5,     /* "v5" (default) */
};

/*
 * mqtt.tls: present (enabled) when the group is. Relative file names are
 * resolved against the config file's directory and checked to be readable
 * at load time; the paths here are the resolved ones. cert_file and
 * key_file come together. Without ca_file and ca_path, the system's CA
 * store is meant. The default port becomes 8883.
 */
struct gw_config_tls {
	bool enabled;
	const char *ca_file;   /* may be NULL */
	const char *ca_path;   /* a directory of CA certificates, may be NULL */
	const char *cert_file; /* client certificate, may be NULL */
	const char *key_file;  /* its key, may be NULL */
	const char *version; /* "tlsv1.2" or "tlsv1.3", NULL: library default */
	const char *ciphers; /* OpenSSL cipher list, may be NULL */
	bool insecure; /* skip the server hostname check (default false) */
	struct gw_config_loc loc;
};

struct gw_config_mqtt {
	const char *host;      /* default "localhost" */
	uint16_t port;         /* default 1883, or 8883 with tls */
	const char *client_id; /* default "coapbridge-" + gateway.id */
	const char *username;  /* may be NULL */
	const char *password;  /* first line of password_file, may be NULL */
	const char *password_file; /* resolved like tls files, may be NULL */
	enum gw_config_mqtt_protocol protocol;
	uint32_t keepalive; /* s, 5..65535, default 30 */
	int qos;            /* 0..2, default 1: the default for routes */
	struct gw_config_tls tls;
	uint32_t queue_limit; /* 1..10000000, default 10000 */
};

struct gw_config_device {
	const char *name;    /* [A-Za-z0-9_-]+, unique */
	const char *address; /* as written */
	/* unicast host and port (default 5683): where requests go */
	struct ucoap_addr addr;
	uint16_t port;
	uint32_t availability_timeout; /* s, default 900 */
	const char **publish;          /* MQTT topic filters, validated */
	size_t n_publish;
	const char **subscribe;
	size_t n_subscribe;
	struct gw_config_loc loc;
};

/* Method bits for uplink routes. */
#define GW_METHOD_GET    0x1u
#define GW_METHOD_POST   0x2u
#define GW_METHOD_PUT    0x4u
#define GW_METHOD_DELETE 0x8u

enum gw_payload_mode {
	GW_PAYLOAD_RAW = 0,
	GW_PAYLOAD_JSON = 1, /* CBOR (content-format 60) translated to JSON */
};

enum gw_senml_mode {
	GW_SENML_NONE = 0,
	GW_SENML_SPLIT = 1, /* each record's value on <topic>/<name> */
};

/* routes.uplink: a device's request -> an MQTT publish. */
struct gw_config_uplink {
	struct gw_pattern path;   /* path.text is the configured string */
	unsigned methods;         /* GW_METHOD_* bits, default POST|PUT */
	struct gw_template topic; /* {N}, {device}, {path} allowed */
	int qos;                  /* default mqtt.qos */
	bool retain;              /* default false */
	enum gw_payload_mode payload;
	enum gw_senml_mode senml;
	struct gw_config_loc loc;
};

/* routes.downlink: an MQTT message -> a CoAP request to a device. */
struct gw_config_downlink {
	struct gw_pattern topic;
	uint8_t method;  /* CoAP code: 1 GET, 2 POST, 3 PUT, 4 DELETE */
	const char *uri; /* as written: "coap://HOST/path[?query]" */
	/*
	 * The uri split up. @host is a template of captures only; when it is
	 * a literal, @device is the index of that device in devices[],
	 * otherwise -1 and the expanded host must name a device at run time.
	 * @path (without the leading '/') and @query (without '?', may have
	 * no parts) allow {N} and {device}.
	 */
	struct gw_template host;
	int device;
	struct gw_template path;
	struct gw_template query;
	bool confirmable;    /* default true */
	uint32_t timeout_ms; /* default coap.request_timeout_ms */
	bool has_response_topic;
	struct gw_template response_topic; /* {N}, {device} allowed */
	bool accept_retained;              /* default false */
	struct gw_config_loc loc;
};

/* routes.observe: observe a device resource, publish each notification. */
struct gw_config_observe {
	const char *uri;   /* as written: "coap://DEVICE/path[?query]" */
	int device;        /* index in devices[] (the host must be one) */
	const char *path;  /* Uri-Path joined with '/', no leading '/' */
	const char *query; /* after '?', or NULL */
	struct gw_template topic; /* {device} and {path} allowed */
	int qos;                  /* default mqtt.qos */
	bool retain;              /* default false */
	struct gw_config_loc loc;
};

enum gw_ha_component {
	GW_HA_SENSOR,
	GW_HA_BINARY_SENSOR,
	GW_HA_SWITCH,
	GW_HA_LIGHT,
	GW_HA_NUMBER,
	GW_HA_BUTTON,
};

/* homeassistant.entities: every string may be NULL when not configured. */
struct gw_config_entity {
	const char *device_name; /* must be a configured device */
	int device;              /* its index in devices[] */
	enum gw_ha_component component;
	const char *component_name; /* "sensor", "switch"... */
	const char *object_id;      /* [A-Za-z0-9_-]+, unique per device */
	const char *name;
	const char *state_topic;   /* required for sensor, binary_sensor */
	const char *command_topic; /* required for switch, light, number,
				      button */
	const char *device_class;
	const char *unit; /* unit_of_measurement */
	const char *state_class;
	const char *value_template;
	const char *json_attributes_topic;
	const char *payload_on;
	const char *payload_off;
	/* light only */
	const char *brightness_state_topic;
	const char *brightness_command_topic;
	uint32_t brightness_scale; /* 1..65535, default 255 */
	/* number only */
	bool has_min, has_max, has_step;
	double min, max, step;
	const char *icon;
	const char *entity_category; /* "config" or "diagnostic" */
	struct gw_config_loc loc;
};

struct gw_config_homeassistant {
	bool enabled;                 /* default false */
	const char *discovery_prefix; /* default "homeassistant" */
	struct gw_config_entity *entities;
	size_t n_entities;
};

struct gw_config_pool; /* private: the allocations behind the pointers */

struct gw_config {
	const char *path; /* the file loaded */
	struct gw_config_gateway gateway;
	struct gw_config_coap coap;
	struct gw_config_mqtt mqtt;
	struct gw_config_device *devices;
	size_t n_devices;
	struct gw_config_uplink *uplink;
	size_t n_uplink;
	struct gw_config_downlink *downlink;
	size_t n_downlink;
	struct gw_config_observe *observe;
	size_t n_observe;
	struct gw_config_homeassistant homeassistant;
	/*
	 * The explicit routes indexed by their position in uplink[] (path
	 * patterns) and downlink[] (topic patterns): config order is priority.
	 * Never NULL in a loaded config.
	 */
	struct gw_route_index *uplink_index;
	struct gw_route_index *downlink_index;
	struct gw_config_pool *pool;
};

/*
 * Called once per problem found: @file is the file the setting came from
 * (an @include'd file included), @line 0 when no line is known, @message
 * the reason quoting the key and the bad value, e.g.
 * "coap.max_message_size: 99999999 is out of range (64..65535)".
 * Every argument is valid only during the call.
 */
typedef void (*gw_config_report_fn)(void *user, const char *file, unsigned line,
				    const char *message);

/*
 * Parse and validate @path. Every problem that can be found is reported
 * through @report (may be NULL) with @user, in one pass. On success *@out
 * gets a new config (free with gw_config_free()). Returns 0, -EINVAL when
 * any problem was reported (*@out untouched), -ENOMEM (reported too).
 * Never exits or aborts the process, whatever the input.
 */
int gw_config_load(const char *path, struct gw_config **out,
		   gw_config_report_fn report, void *user);
/* NULL is a no-op. */
void gw_config_free(struct gw_config *cfg);

/*
 * For a reload: give @n the settings of @o that the running gateway reads
 * but only a restart may change -- gateway.base_topic (the Last Will and
 * the connection's topics use it) and mqtt.host, port and protocol -- so
 * that the new configuration does not half-apply them. Strings are
 * copied into @n. Returns 0 or -ENOMEM (@n unchanged).
 */
int gw_config_keep_restart_only(struct gw_config *n, const struct gw_config *o);

/* Index of the device named @name (@len bytes) in cfg->devices, or -1. */
int gw_config_device_find(const struct gw_config *cfg, const char *name,
			  size_t len);

#endif
