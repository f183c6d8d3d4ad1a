/*
 * gw_mqtt: the gateway's MQTT client, driven from the daemon's own
 * single-threaded poll loop (libmosquitto's own thread is never started).
 *
 * Usage from the loop:
 *
 *	m = gw_mqtt_new(&opts, &cbs, bridge);
 *	gw_mqtt_start(m, now);
 *	for (;;) {
 *		fd = gw_mqtt_fd(m);             // re-read every iteration:
 *		ev = gw_mqtt_events(m);         // the socket changes on
 *reconnect timeout = gw_mqtt_next_timeout(m, now); poll(...);
 *		gw_mqtt_dispatch(m, revents_of_fd_or_0, now);
 *	}
 *	gw_mqtt_shutdown(m, true, 5000);
 *	gw_mqtt_free(m);
 *
 * gw_mqtt_dispatch must be called after every poll wakeup (with revents 0
 * when the fd was not ready or there is no fd): it runs the housekeeping,
 * the reconnect backoff and the progressive drain of the queue.
 *
 * Delivery: while the broker is unreachable, publishes wait in a bounded
 * FIFO owned by this module (libmosquitto's own queue is unbounded and
 * re-sends broker-rejected messages after every reconnect, so nothing is
 * handed to libmosquitto while disconnected). On reconnect the FIFO drains
 * in order, before any newer message. The bound (queue_limit) covers the
 * FIFO plus the messages handed to libmosquitto and not yet sent (QoS 0)
 * or acknowledged (QoS 1/2).
 *
 * Connection state: on every successful CONNACK this module itself
 * re-subscribes every filter given to gw_mqtt_subscribe and publishes the
 * birth message (opts.will_topic / opts.birth_payload, retained, QoS 1)
 * ahead of the queue, then calls cbs.on_connect. The bridge does not need
 * to re-subscribe or publish 'online' itself.
 *
 * Errors are negative errno values, as listed per function.
 */
#ifndef GW_MQTT_H
#define GW_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_mqtt;

enum gw_mqtt_protocol {
	GW_MQTT_V311 = 4, /* MQTT 3.1.1 (protocol level 4) */
	GW_MQTT_V5 = 5,   /* MQTT 5.0 */
};

/*
 * Options. All strings are borrowed for the duration of gw_mqtt_new only:
 * gw_mqtt_new copies what it keeps. NULL means "not set".
 */
struct gw_mqtt_opts {
	const char *host;      /* required; a name is resolved (blocking) on
				  each connect attempt */
	uint16_t port;         /* required, e.g. 1883 */
	const char *client_id; /* required, non-empty */
	const char *username;  /* optional */
	const char *password;  /* optional; only with username */
	int protocol;          /* GW_MQTT_V311 or GW_MQTT_V5 */
	int keepalive;         /* seconds, 5..65535 */
	/* The server's certificate is always verified against the CAs;
	 * insecure only skips the check that it names @host. */
	struct {
		bool enabled;          /* TLS on */
		const char *ca_file;   /* a CA bundle (PEM) */
		const char *ca_path;   /* a directory of hashed CA certificates;
					  neither: the system's CA store */
		const char *cert_file; /* client certificate (optional; needs
					  ca_file or ca_path, libmosquitto's
					  rule) */
		const char *key_file;  /* its key (with cert_file) */
		const char *version;   /* "tlsv1.3": TLS 1.3 only; "tlsv1.2" or
					  NULL: TLS 1.2 or later */
		const char *ciphers;   /* OpenSSL cipher list (TLS 1.2), or TLS
					  1.3 ciphersuites with "tlsv1.3";
					  NULL: OpenSSL's default */
		bool insecure;         /* do not check the host name */
	} tls;
	const char *will_topic;   /* e.g. "coapbridge/bridge/state"; optional */
	const char *will_payload; /* Last Will, retained QoS 1, e.g. "offline";
				     also published by gw_mqtt_shutdown */
	const char
	    *birth_payload; /* published retained QoS 1 to will_topic
			       on every CONNACK, e.g. "online"; optional */
	size_t queue_limit; /* >= 1: FIFO + unacknowledged messages */
};

/*
 * Received message, as seen by cbs.on_message. Every pointer is valid only
 * until on_message returns. topic and response_topic are NUL-terminated.
 */
#define GW_MQTT_MSG_SUB_IDS 8

struct gw_mqtt_msg {
	const char *topic;
	const void *payload;
	size_t len;
	int qos;
	bool retain; /* set only for a retained message delivered because of
			a (re)subscription, never for a live one (no Retain
			As Published): the bridge ignores retained commands */
	const char *response_topic; /* MQTT v5 Response Topic, or NULL */
	const void *correlation;    /* MQTT v5 Correlation Data, or NULL */
	size_t correlation_len;
	/* MQTT v5: the identifiers of our subscriptions it came through */
	uint32_t sub_ids[GW_MQTT_MSG_SUB_IDS];
	unsigned n_sub_ids;
};

/*
 * Callbacks. All run inside gw_mqtt_dispatch (or gw_mqtt_shutdown), on the
 * loop's thread. A callback may call gw_mqtt_publish, gw_mqtt_subscribe
 * and gw_mqtt_unsubscribe, but must not call gw_mqtt_free or
 * gw_mqtt_shutdown. Any may be NULL.
 */
struct gw_mqtt_cbs {
	/* The broker accepted the connection; subscriptions and the birth
	 * message have already been sent. */
	void (*on_connect)(void *user);
	/* A connection the broker had accepted was lost (@reason: a short
	 * static text, e.g. "The connection was lost."); a reconnect is
	 * scheduled. Failed or refused attempts are only logged. Not called
	 * for gw_mqtt_shutdown's own disconnect. */
	void (*on_disconnect)(void *user, const char *reason);
	void (*on_message)(void *user, const struct gw_mqtt_msg *msg);
};

/*
 * Per-publish parameters. Pointers are borrowed for the call (the data is
 * copied). The v5 fields are ignored with MQTT 3.1.1.
 */
struct gw_mqtt_pub {
	int qos; /* 0, 1 or 2 */
	bool retain;
	const void *correlation; /* v5 Correlation Data, or NULL */
	size_t correlation_len;
	const char *user_prop_name;  /* v5 User Property, e.g. "coap-code" */
	const char *user_prop_value; /* e.g. "2.05"; both or neither */
	/*
	 * State, not a reading (availability, discovery documents): while
	 * connected it is taken even when queue_limit is reached, since the
	 * broker must learn it at each connect and there is one per device
	 * or entity, not one per reading.
	 */
	bool state;
};

struct gw_mqtt_stats {
	bool connected;
	uint64_t published;      /* handed to libmosquitto (incl. drained) */
	uint64_t queued;         /* current FIFO depth */
	uint64_t queued_total;   /* ever put in the FIFO */
	uint64_t refused;        /* -ENOBUFS answers (queue full) */
	uint64_t rejected_topic; /* -EINVAL answers for a bad topic */
	uint64_t received;       /* messages given to on_message */
	uint64_t reconnects;     /* accepted connections after the first */
	uint64_t unacked;        /* handed to libmosquitto, not yet done */
};

/*
 * Create a client (not connected yet). @opts and @cbs are copied; @user is
 * passed to every callback. Returns NULL on invalid options (logged with
 * the reason) or out of memory. Initialises libmosquitto on first use.
 */
struct gw_mqtt *gw_mqtt_new(const struct gw_mqtt_opts *opts,
			    const struct gw_mqtt_cbs *cbs, void *user);

/* Free without any network traffic (see gw_mqtt_shutdown). NULL: no-op. */
void gw_mqtt_free(struct gw_mqtt *m);

/*
 * Begin connecting (non-blocking TCP connect; name resolution may block).
 * A failure is not an error: it is logged and retried with backoff.
 * Returns 0, or -EALREADY if already started.
 */
int gw_mqtt_start(struct gw_mqtt *m, uint64_t now_ms);

/* The socket to poll, or -1 (no connection / waiting for a reconnect). */
int gw_mqtt_fd(const struct gw_mqtt *m);

/* poll(2) events for gw_mqtt_fd: POLLIN, plus POLLOUT when data waits. */
short gw_mqtt_events(const struct gw_mqtt *m);

/*
 * Do the work due: read (@revents has POLLIN/POLLERR/POLLHUP), write
 * (POLLOUT), keepalive, reconnect when the backoff expired, drain the
 * FIFO. Callbacks run from here. Errors are handled inside (logged,
 * reconnect scheduled); always returns 0.
 */
int gw_mqtt_dispatch(struct gw_mqtt *m, short revents, uint64_t now_ms);

/* Milliseconds until gw_mqtt_dispatch has timed work (0 = now), or -1. */
int gw_mqtt_next_timeout(const struct gw_mqtt *m, uint64_t now_ms);

/*
 * Publish @len bytes of @payload (copied) to @topic (NUL-terminated,
 * copied). @p NULL means QoS 0, no retain, no properties.
 * Returns 0 when handed to libmosquitto or queued in the FIFO;
 * -EINVAL: bad topic (empty, > 65535 bytes, invalid UTF-8, a control
 *   character, '+' or '#', more than 200 levels, leading '$') or bad @p;
 * -ENOBUFS: the queue_limit is reached (the bridge answers 5.03), and
 *   @p is not state or the client is not connected;
 * -EMSGSIZE: larger than the broker's Maximum Packet Size (v5);
 * -ENOMEM: out of memory.
 */
int gw_mqtt_publish(struct gw_mqtt *m, const char *topic, const void *payload,
		    size_t len, const struct gw_mqtt_pub *p);

/*
 * 0 if @topic is a valid topic name for publishing (gw_topic_valid() in
 * route.h), else -EINVAL (NULL included).
 */
int gw_mqtt_topic_check(const char *topic);

/*
 * Subscriptions are shared and reference-counted: several owners (downlink
 * routes, the default layout's B/#, pub/sub, discovery) may want the same
 * filter, and each pairs every successful gw_mqtt_subscribe with one
 * gw_mqtt_unsubscribe. The broker sees one subscription per filter.
 *
 * Subscribe to @filter (copied, wildcards allowed) with @qos, or take one
 * more reference on a filter already subscribed. Remembered and re-sent
 * on every reconnect. A new filter is sent now when connected; for one
 * already held the QoS becomes the higher of the two and SUBSCRIBE is
 * sent again (replacing the broker's subscription without a gap, MQTT
 * §3.8.4) only if that raised it: a lower QoS never lowers it while the
 * filter is held. With v5 the subscription uses No Local so the gateway
 * never gets its own publishes.
 * To change a set of filters without a moment in which an unchanged one
 * is not subscribed (e.g. on SIGHUP), subscribe the new set first, then
 * unsubscribe the old one.
 * Returns 0; -EINVAL for a bad filter (NULL included) or qos; -ENOMEM;
 * -EOVERFLOW if the filter already has UINT_MAX references.
 */
int gw_mqtt_subscribe(struct gw_mqtt *m, const char *filter, int qos);

/*
 * Drop one reference on @filter. The last one forgets the filter and
 * sends UNSUBSCRIBE when connected; before that nothing is sent and the
 * QoS stays. Returns 0, or -ENOENT when @filter is not held (NULL too).
 */
int gw_mqtt_unsubscribe(struct gw_mqtt *m, const char *filter);

/*
 * Did @msg come through our subscription to @filter? A broker sends a
 * message once per matching subscription (mosquitto does) or once for all
 * (MQTT 5 §3.3.4), so where filters overlap -- B/# for the default
 * commands and a ps/ observer's exact topic, two downlink routes -- each
 * owner takes only the copy its own filter brought, and a command runs
 * once. With MQTT 5 the copies say so (Subscription Identifiers); without
 * (3.1.1, or a broker that does not take them) there is no telling, and
 * every copy counts: true.
 */
bool gw_mqtt_msg_via(const struct gw_mqtt *m, const struct gw_mqtt_msg *msg,
		     const char *filter);

/*
 * Send SUBSCRIBE for @filter again, held already (by anyone), with its
 * current QoS, so the broker delivers the retained messages that match it
 * once more (MQTT 3.1.1 §3.3.1.3, MQTT 5 §3.3.1.3 with Retain Handling 0)
 * without unsubscribing in between. Takes no reference. When not
 * connected nothing is sent: the next CONNACK re-subscribes anyway.
 * Returns 0; -ENOENT when @filter is not held; -EIO when libmosquitto
 * refused to send it (logged).
 */
int gw_mqtt_resubscribe(struct gw_mqtt *m, const char *filter);

/*
 * The number of references on @filter (0: not subscribed) and, when it
 * is held and @qos is not NULL, its QoS in *@qos.
 */
unsigned gw_mqtt_sub_refs(const struct gw_mqtt *m, const char *filter,
			  int *qos);

/* Messages not delivered yet: FIFO depth + unacknowledged in libmosquitto. */
size_t gw_mqtt_pending(const struct gw_mqtt *m);

void gw_mqtt_stats(const struct gw_mqtt *m, struct gw_mqtt_stats *out);

/*
 * Clean stop, blocking for at most @timeout_ms: when connected, publish
 * opts.will_payload to opts.will_topic (retained, QoS 1) if
 * @publish_offline, wait until everything pending is delivered, send
 * DISCONNECT. No reconnect is attempted afterwards.
 * Returns 0 when nothing was left undelivered; -ETIMEDOUT when messages
 * were still pending at the deadline; -ENOTCONN when not connected (the
 * FIFO stays, see gw_mqtt_adopt_queue).
 */
int gw_mqtt_shutdown(struct gw_mqtt *m, bool publish_offline, int timeout_ms);

/*
 * Move the FIFO of @from (e.g. a client replaced on SIGHUP) to the front
 * of @to's FIFO, keeping order, so a reload loses nothing. @to's
 * queue_limit is not enforced for adopted messages. Returns the number
 * moved.
 */
size_t gw_mqtt_adopt_queue(struct gw_mqtt *to, struct gw_mqtt *from);

#endif
