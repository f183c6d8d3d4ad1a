/*
 * gw_mqtt_queue: see mqtt_queue.h. The FIFO exists because libmosquitto's
 * own queue is unbounded and re-sends broker-rejected messages after every
 * reconnect; nothing is handed to it while the broker is away.
 */
#include "mqtt_queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* MQTT message ids are 16 bits (MQTT 3.1.1 §2.3.1). */
#define MIDS 65536u
/* Never have more unfinished messages than ids, or a reused id would
 * confuse the accounting. */
#define HANDED_MAX 60000u

int gw_mqtt_queue_init(struct gw_mqtt_queue *q, size_t limit)
{
	memset(q, 0, sizeof(*q));
	q->limit = limit;
	q->mids = calloc(MIDS, 1);
	return q->mids ? 0 : -ENOMEM;
}

void gw_mqtt_queue_cleanup(struct gw_mqtt_queue *q)
{
	while (q->head)
		gw_mqtt_queue_pop(q);
	free(q->mids);
	q->mids = NULL;
	q->handed = 0;
}

bool gw_mqtt_queue_full(const struct gw_mqtt_queue *q)
{
	return q->depth + q->handed >= q->limit || q->handed >= HANDED_MAX;
}

size_t gw_mqtt_queue_pending(const struct gw_mqtt_queue *q)
{
	return q->depth + q->handed;
}

int gw_mqtt_queue_push(struct gw_mqtt_queue *q, const char *topic,
		       const void *payload, size_t len,
		       const struct gw_mqtt_pub *p)
{
	size_t tlen = strlen(topic) + 1;
	size_t nlen = p->user_prop_name ? strlen(p->user_prop_name) + 1 : 0;
	size_t vlen = p->user_prop_name ? strlen(p->user_prop_value) + 1 : 0;
	size_t clen = p->correlation ? p->correlation_len : 0;
	struct gw_mqtt_qmsg *m =
	    malloc(sizeof(*m) + tlen + len + clen + nlen + vlen);
	char *d;

	if (!m)
		return -ENOMEM;
	d = m->data;
	m->next = NULL;
	m->topic = memcpy(d, topic, tlen);
	d += tlen;
	m->payload = len ? memcpy(d, payload, len) : d;
	m->len = len;
	d += len;
	m->corr = p->correlation ? memcpy(d, p->correlation, clen) : NULL;
	m->corr_len = clen;
	d += clen;
	m->prop_name = nlen ? memcpy(d, p->user_prop_name, nlen) : NULL;
	d += nlen;
	m->prop_value = vlen ? memcpy(d, p->user_prop_value, vlen) : NULL;
	m->qos = p->qos;
	m->retain = p->retain;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->depth++;
	return 0;
}

const struct gw_mqtt_qmsg *gw_mqtt_queue_head(const struct gw_mqtt_queue *q)
{
	return q->head;
}

void gw_mqtt_queue_pop(struct gw_mqtt_queue *q)
{
	struct gw_mqtt_qmsg *m = q->head;

	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	q->depth--;
	free(m);
}

size_t gw_mqtt_queue_adopt(struct gw_mqtt_queue *to, struct gw_mqtt_queue *from)
{
	size_t n = from->depth;

	if (!from->head || to == from)
		return 0;
	from->tail->next = to->head;
	if (!to->tail)
		to->tail = from->tail;
	to->head = from->head;
	to->depth += n;
	from->head = from->tail = NULL;
	from->depth = 0;
	return n;
}

void gw_mqtt_queue_hand(struct gw_mqtt_queue *q, int mid, int qos)
{
	if (mid < 0 || mid >= (int)MIDS)
		return;
	if (!q->mids[mid])
		q->handed++;
	q->mids[mid] = (uint8_t)(qos + 1);
}

bool gw_mqtt_queue_done(struct gw_mqtt_queue *q, int mid)
{
	if (mid < 0 || mid >= (int)MIDS || !q->mids[mid])
		return false;
	q->mids[mid] = 0;
	q->handed--;
	return true;
}

void gw_mqtt_queue_forget_qos0(struct gw_mqtt_queue *q)
{
	if (q->handed == 0)
		return;
	for (size_t i = 0; i < MIDS; i++) {
		if (q->mids[i] == 1) {
			q->mids[i] = 0;
			q->handed--;
		}
	}
}
