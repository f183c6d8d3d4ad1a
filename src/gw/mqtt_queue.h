/*
 * gw_mqtt_queue: what gw_mqtt counts against its queue_limit -- the FIFO
 * of messages waiting for the broker and the table of messages handed to
 * libmosquitto and not finished yet (QoS 0: written; QoS 1/2:
 * acknowledged). Internal to gw_mqtt (mqtt.c); knows nothing of
 * libmosquitto, so it is plain data in the caller's storage.
 */
#ifndef GW_MQTT_QUEUE_H
#define GW_MQTT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt.h"

/* One message waiting in the FIFO; one allocation holds it all. */
struct gw_mqtt_qmsg {
	struct gw_mqtt_qmsg *next;
	char *topic;
	void *payload;
	size_t len;
	void *corr; /* v5 Correlation Data, or NULL */
	size_t corr_len;
	char *prop_name; /* v5 User Property, or NULL */
	char *prop_value;
	int qos;
	bool retain;
	char data[];
};

struct gw_mqtt_queue {
	struct gw_mqtt_qmsg *head, *tail; /* the FIFO, oldest first */
	size_t depth;                     /* messages in the FIFO */
	size_t limit;                     /* queue_limit: depth + handed */
	/* Handed messages by MQTT message id: 0 = none, else qos + 1. */
	uint8_t *mids;
	size_t handed;
};

/* An empty queue for @limit (>= 1) messages. Returns 0 or -ENOMEM. */
int gw_mqtt_queue_init(struct gw_mqtt_queue *q, size_t limit);
/* Free every waiting message and the id table. */
void gw_mqtt_queue_cleanup(struct gw_mqtt_queue *q);

/* May another message be accepted (FIFO + handed below the limit)? */
bool gw_mqtt_queue_full(const struct gw_mqtt_queue *q);
/* FIFO depth + handed messages. */
size_t gw_mqtt_queue_pending(const struct gw_mqtt_queue *q);

/*
 * Append a copy of the message (@topic NUL-terminated, @len bytes of
 * @payload, @p's qos, retain and v5 fields) to the FIFO, whatever the
 * limit (the caller checks gw_mqtt_queue_full first when it applies).
 * Returns 0 or -ENOMEM.
 */
int gw_mqtt_queue_push(struct gw_mqtt_queue *q, const char *topic,
		       const void *payload, size_t len,
		       const struct gw_mqtt_pub *p);
/* The oldest waiting message (valid until _pop), or NULL. */
const struct gw_mqtt_qmsg *gw_mqtt_queue_head(const struct gw_mqtt_queue *q);
/* Free the oldest waiting message (the FIFO must not be empty). */
void gw_mqtt_queue_pop(struct gw_mqtt_queue *q);
/*
 * Move every waiting message of @from to the front of @to, keeping
 * order. Returns the number moved.
 */
size_t gw_mqtt_queue_adopt(struct gw_mqtt_queue *to,
			   struct gw_mqtt_queue *from);

/* Message id @mid (0..65535) was handed with @qos and is not done. */
void gw_mqtt_queue_hand(struct gw_mqtt_queue *q, int mid, int qos);
/* Message id @mid is done; false when it was not handed (or is out of
 * range). */
bool gw_mqtt_queue_done(struct gw_mqtt_queue *q, int mid);
/* Forget every handed QoS 0 message (libmosquitto drops unwritten QoS 0
 * packets on reconnect). */
void gw_mqtt_queue_forget_qos0(struct gw_mqtt_queue *q);

#endif
