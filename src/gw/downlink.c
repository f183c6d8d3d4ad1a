/*
 * Downlink: an MQTT command becomes a CoAP request to a device, and the
 * answer (or its absence) goes back to MQTT (spec "routes.downlink",
 * "Default topic layout", MQTT v5 Response Topic).
 *
 * Each command takes a slot of a fixed table from its MQTT message until
 * its result is published. A device gets one request at a time (RFC 7252
 * §4.7, NSTART = 1); further commands wait in arrival order, at most
 * GW_DEVICE_QUEUE of them, and give up when their timeout passes. Commands
 * are rare next to readings, so the slot's strings are allocated here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_int.h"
#include "log.h"
#include "loop.h"
#include "payload.h"

#define DOWN_TOPIC_MAX 1024
#define DOWN_URI_MAX   1024

static struct gw_ratelimit down_rl;

/*
 * Publish a command's result or answer. It is not retried: when the queue
 * is full (or the topic cannot be published) the result is lost, and the
 * log says so.
 */
static void result_out(struct gw_bridge *b, const char *topic,
		       const void *payload, size_t len,
		       const struct gw_mqtt_pub *p)
{
	int rc = gw_bridge_publish(b, topic, payload, len, p);

	if (rc < 0 && gw_log_ratelimit(&down_rl, gw_now_ms(), 1, 10))
		gw_warn("downlink: result to %s not published: %s", topic,
			rc == -ENOBUFS ? "the queue is full (mqtt.queue_limit)"
				       : strerror(-rc));
}

static char *dup_n(const void *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		if (n)
			memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static void slot_clear(struct gw_down_slot *sl)
{
	struct gw_bridge *b = sl->b;

	free(sl->device);
	free(sl->path);
	free(sl->query);
	free(sl->payload);
	free(sl->result_topic);
	free(sl->answer_topic);
	free(sl->v5_topic);
	free(sl->corr);
	memset(sl, 0, sizeof(*sl));
	sl->b = b;
}

/*
 * The result document with the whole payload (spec "Default topic
 * layout"), in *@out (malloc'd, the caller frees it). The answer may be a
 * block-wise body as large as the core accepts (RFC 7959), so the buffer
 * is sized from it: base64 takes 4/3 of the payload, JSON text at most 6
 * bytes per byte ("\u0001"). The first try fits all but escape-heavy text.
 * Commands are rare, so the allocation is fine here. Returns the length
 * or -ENOMEM (or -ENOSPC, which the sizing rules out).
 */
static int result_json(const char *code, const uint8_t *pl, size_t len,
		       char **out)
{
	/* {"code":"cancelled","payload_b64":""} and cJSON's 5 bytes of slack */
	const size_t frame = 64;
	size_t caps[2];
	int n = -ENOMEM;

	if (len > (SIZE_MAX - frame) / 6)
		return -ENOMEM;
	caps[0] = len + len / 3 + frame;
	caps[1] = 6 * len + frame;
	for (unsigned i = 0; i < 2; i++) {
		char *buf = malloc(caps[i]);

		if (!buf)
			return -ENOMEM;
		n = gw_payload_result_json(code, pl, len, buf, caps[i]);
		if (n >= 0) {
			*out = buf;
			return n;
		}
		free(buf);
		if (n != -ENOSPC)
			break;
	}
	return n;
}

static void publish_result(struct gw_down_slot *sl, const char *code,
			   const struct ucoap_msg *resp)
{
	struct gw_bridge *b = sl->b;
	struct gw_mqtt_pub p = {.qos = b->cfg->mqtt.qos};
	const uint8_t *pl = resp ? resp->payload : NULL;
	size_t len = resp ? resp->payload_len : 0;
	char *json = NULL;
	int n;

	/* An empty answer still has a (empty) payload: only no answer has none.
	 */
	n = result_json(code, resp ? (pl ? pl : (const uint8_t *)"") : NULL,
			len, &json);
	if (n >= 0) {
		result_out(b, sl->result_topic, json, (size_t)n, &p);
	} else {
		/* Out of memory: the code at least, from the stack. */
		char small[64];

		gw_err("downlink %s: result with the %zu-byte payload: %s",
		       sl->result_topic, len, strerror(-n));
		n = gw_payload_result_json(code, NULL, 0, small, sizeof(small));
		if (n >= 0)
			result_out(b, sl->result_topic, small, (size_t)n, &p);
	}
	free(json);

	if (resp && UCOAP_CODE_CLASS(resp->code) == 2 && sl->answer_topic) {
		p.qos = sl->answer_qos;
		result_out(b, sl->answer_topic, pl, len, &p);
	}
	if (sl->v5_topic) {
		struct gw_mqtt_pub v5 = {.qos = b->cfg->mqtt.qos,
					 .correlation = sl->corr,
					 .correlation_len = sl->corr_len,
					 .user_prop_name = "coap-code",
					 .user_prop_value = code};
		result_out(b, sl->v5_topic, pl, len, &v5);
	}
}

static int device_of(struct gw_bridge *b, const struct gw_down_slot *sl)
{
	return gw_config_device_find(b->cfg, sl->device, strlen(sl->device));
}

static void start_next(struct gw_bridge *b, int dev);

static void finish(struct gw_down_slot *sl, const char *code,
		   const struct ucoap_msg *resp)
{
	struct gw_bridge *b = sl->b;
	int dev = device_of(b, sl);
	bool was_inflight = sl->inflight;

	gw_debug("downlink %s %s: %s", sl->device, sl->path, code);
	publish_result(sl, code, resp);
	b->down++;
	slot_clear(sl);
	if (dev >= 0) {
		if (was_inflight)
			b->dev[dev].inflight = false;
		else if (b->dev[dev].waiting)
			b->dev[dev].waiting--;
		if (!b->stopping)
			start_next(b, dev);
	}
}

static void on_answer(struct ucoap_ep *ep, int status,
		      const struct ucoap_msg *resp,
		      const struct ucoap_addr *from, void *user)
{
	struct gw_down_slot *sl = user;
	char code[8];

	(void)ep;
	(void)from;
	switch (status) {
	case 0: {
		/* An answer is a sign of life, as much as a request. */
		int dev = device_of(sl->b, sl);

		if (dev >= 0)
			gw_bridge_device_seen(sl->b, dev, gw_now_ms());
		finish(sl, ucoap_code_str(resp->code, code), resp);
		break;
	}
	case UCOAP_ERR_TIMEOUT:
		sl->b->down_failed++;
		finish(sl, "timeout", NULL);
		break;
	case UCOAP_ERR_RST:
		sl->b->down_failed++;
		finish(sl, "reset", NULL);
		break;
	default:
		finish(sl, "cancelled", NULL);
		break;
	}
}

/* The endpoint that can reach @to: same family, else a dual-stack one. */
struct ucoap_ep *gw_downlink_pick_ep(struct gw_bridge *b,
				     const struct ucoap_addr *to)
{
	struct ucoap_ep *v6 = NULL;

	for (unsigned i = 0; i < b->n_ep; i++) {
		struct ucoap_addr local;

		if (ucoap_ep_local_addr(b->ep[i], &local) < 0)
			continue;
		if (local.ss.ss_family == to->ss.ss_family)
			return b->ep[i];
		if (local.ss.ss_family == AF_INET6 && !v6)
			v6 = b->ep[i];
	}
	return to->ss.ss_family == AF_INET ? v6 : NULL;
}

/*
 * Add @len bytes of @s as options @num, one per @sep-separated piece, empty
 * pieces included. The values are views into @s. Returns 0 or a ucoap
 * error (UCOAP_ERR_TOO_MANY_OPTS past UCOAP_MAX_OPTIONS).
 */
static int add_pieces(struct ucoap_msg *req, uint16_t num, const char *s,
		      size_t len, char sep)
{
	const char *end = s + len;

	for (;;) {
		const char *cut = memchr(s, sep, (size_t)(end - s));
		size_t n = cut ? (size_t)(cut - s) : (size_t)(end - s);
		int rc;

		/* RFC 7252 §5.10: a Uri-Path or Uri-Query is 0-255 bytes; a
		 * longer topic level would make a message devices reject. */
		if (n > 255)
			return UCOAP_ERR_INVAL;
		rc = ucoap_msg_add_opt(req, num, s, n);
		if (rc < 0)
			return rc;
		if (!cut)
			return 0;
		s = cut + 1;
	}
}

static void send_slot(struct gw_bridge *b, struct gw_down_slot *sl, int dev)
{
	const struct gw_config_device *d = &b->cfg->devices[dev];
	struct ucoap_msg req;
	struct ucoap_ep *ep = gw_downlink_pick_ep(b, &d->addr);
	int rc = 0;

	/*
	 * In flight from here on, so that every failure below ends in
	 * finish()'s in-flight branch: the caller has already taken this
	 * command off the device's waiting count, and finish() must not take
	 * it off again (that stranded the next waiting command).
	 */
	sl->inflight = true;
	b->dev[dev].inflight = true;
	ucoap_msg_init(&req, sl->confirmable ? UCOAP_TYPE_CON : UCOAP_TYPE_NON,
		       sl->method);
	if (!ep) {
		gw_warn("device %s: no CoAP socket of its address family",
			d->name);
		finish(sl, "error", NULL);
		return;
	}
	/*
	 * Each topic level is one Uri-Path segment as it is: no URI parsing,
	 * so a '?' or '%' in a level stays in it (RFC 7252 §5.10.1: an
	 * option value is the segment itself, not percent-encoded). An
	 * empty path is no Uri-Path at all (§6.4 step 8).
	 */
	if (sl->path[0])
		rc = add_pieces(&req, UCOAP_OPT_URI_PATH, sl->path,
				strlen(sl->path), '/');
	if (rc == 0 && sl->query_len)
		rc = add_pieces(&req, UCOAP_OPT_URI_QUERY, sl->query,
				sl->query_len, '\0');
	if (rc < 0) {
		gw_warn("device %s: request to '%s': %s", d->name, sl->path,
			ucoap_strerror(rc));
		finish(sl, "error", NULL);
		return;
	}
	req.payload = sl->len ? sl->payload : NULL;
	req.payload_len = sl->len;
	sl->ep = ep;
	rc = ucoap_ep_request(ep, &d->addr, &req, sl->timeout_ms, on_answer, sl,
			      &sl->mid);
	if (rc < 0) {
		gw_warn("device %s: request to '%s' not sent: %s", d->name,
			sl->path, ucoap_strerror(rc));
		finish(sl, "error", NULL);
		return;
	}
	gw_debug("downlink -> %s %s (%s)", d->name, sl->path,
		 sl->confirmable ? "CON" : "NON");
}

static void start_next(struct gw_bridge *b, int dev)
{
	struct gw_down_slot *next = NULL;

	if (b->dev[dev].inflight || !b->dev[dev].waiting)
		return;
	for (unsigned i = 0; i < GW_DOWN_SLOTS; i++) {
		struct gw_down_slot *sl = &b->slots[i];

		if (sl->used && !sl->inflight && device_of(b, sl) == dev &&
		    (!next || sl->seq < next->seq))
			next = sl;
	}
	if (!next)
		return;
	b->dev[dev].waiting--;
	send_slot(b, next, dev);
}

/* What a matched command resolves to before it takes a slot. */
struct command {
	int dev;
	uint8_t method;
	bool confirmable;
	uint32_t timeout_ms;
	char path[DOWN_URI_MAX];
	char query[DOWN_URI_MAX]; /* arguments separated by '\0' */
	size_t query_len;
	char answer_topic[DOWN_TOPIC_MAX];
	bool has_answer;
	const char *what; /* for log lines: route location or "default" */
};

static bool put_bytes(char *buf, size_t cap, size_t *pos, const char *s,
		      size_t n)
{
	if (n > cap - *pos)
		return false;
	memcpy(buf + *pos, s, n);
	*pos += n;
	return true;
}

/*
 * Expand a route's query template into @buf as Uri-Query arguments
 * separated by '\0' (RFC 7252 §6.4 step 9: one option per '&'-separated
 * argument). Only the template's own '&' separate arguments: a value from
 * the topic ({N}) or {device} goes in as it is, '&' and '?' included, the
 * way gw_template_expand() puts it in a string. Returns the length or
 * -ENOSPC / -EINVAL as gw_template_expand() does.
 */
static int expand_query(const struct gw_template *t,
			const struct gw_expand_ctx *ctx, char *buf, size_t cap)
{
	size_t pos = 0;

	for (unsigned i = 0; i < t->nparts; i++) {
		const struct gw_tmpl_part *part = &t->parts[i];
		const struct gw_capture *c;
		size_t start = pos;
		bool ok = true;

		switch (part->kind) {
		case GW_TMPL_LIT:
			ok = put_bytes(buf, cap, &pos, part->lit, part->len);
			for (size_t k = start; ok && k < pos; k++)
				if (buf[k] == '&')
					buf[k] = '\0';
			break;
		case GW_TMPL_DEVICE:
			if (!ctx->device)
				return -EINVAL;
			ok = put_bytes(buf, cap, &pos, ctx->device,
				       strlen(ctx->device));
			break;
		case GW_TMPL_CAP:
			if (!ctx->match || part->n > ctx->match->ncap)
				return -EINVAL;
			c = &ctx->match->cap[part->n - 1];
			/* As gw_template_expand: an empty '#' takes its '/'. */
			if (c->n == 0 && pos > 0 && buf[pos - 1] == '/')
				pos--;
			for (unsigned k = 0; ok && k < c->n; k++) {
				if (k > 0)
					ok = put_bytes(buf, cap, &pos, "/", 1);
				ok =
				    ok && put_bytes(buf, cap, &pos, c->seg[k].p,
						    c->seg[k].len);
			}
			break;
		default:
			/* {path} is refused for downlink routes at load. */
			return -EINVAL;
		}
		if (!ok)
			return -ENOSPC;
	}
	return (int)pos;
}

static bool resolve_explicit(struct gw_bridge *b,
			     const struct gw_config_downlink *r,
			     const struct gw_match *m, struct command *c)
{
	const struct gw_config *cfg = b->cfg;
	struct gw_expand_ctx ctx = {.match = m};
	char host[256];
	int n;

	if (r->device >= 0) {
		c->dev = r->device;
	} else {
		n = gw_template_expand(&r->host, &ctx, host, sizeof(host));

		/*
		 * MQTT can never make the gateway send to an arbitrary
		 * address: the host must name a configured device.
		 */
		c->dev =
		    n < 0 ? -1 : gw_config_device_find(cfg, host, (size_t)n);
		if (c->dev < 0) {
			if (gw_log_ratelimit(&down_rl, gw_now_ms(), 1, 10))
				gw_warn(
				    "%s:%u: '%s' is not a configured device",
				    r->loc.file, r->loc.line,
				    n < 0 ? "?" : host);
			return false;
		}
	}
	ctx.device = cfg->devices[c->dev].name;
	n = expand_query(&r->query, &ctx, c->query, sizeof(c->query));
	if (gw_template_expand(&r->path, &ctx, c->path, sizeof(c->path)) < 0 ||
	    n < 0)
		return false;
	c->query_len = (size_t)n;
	c->has_answer = r->has_response_topic;
	if (c->has_answer &&
	    gw_template_expand(&r->response_topic, &ctx, c->answer_topic,
			       sizeof(c->answer_topic)) < 0)
		return false;
	c->method = r->method;
	c->confirmable = r->confirmable;
	c->timeout_ms = r->timeout_ms;
	return true;
}

/* Default layout: B/D/P/set -> PUT, B/D/P/post -> POST, B/D/P/get -> GET. */
static bool resolve_default(struct gw_bridge *b, const struct gw_seg *segs,
			    unsigned n, struct command *c)
{
	const struct gw_config *cfg = b->cfg;
	struct gw_seg base[GW_TOPIC_MAX_LEVELS];
	const char *bt = cfg->gateway.base_topic;
	int nb = gw_path_split(bt, strlen(bt), base, GW_TOPIC_MAX_LEVELS);
	const struct gw_seg *cmd;
	size_t off = 0;

	if (nb < 0 || n < (unsigned)nb + 3)
		return false;
	for (int i = 0; i < nb; i++)
		if (segs[i].len != base[i].len ||
		    memcmp(segs[i].p, base[i].p, base[i].len) != 0)
			return false;
	cmd = &segs[n - 1];
	if (cmd->len == 3 && !memcmp(cmd->p, "set", 3))
		c->method = UCOAP_PUT;
	else if (cmd->len == 4 && !memcmp(cmd->p, "post", 4))
		c->method = UCOAP_POST;
	else if (cmd->len == 3 && !memcmp(cmd->p, "get", 3))
		c->method = UCOAP_GET;
	else
		return false;
	c->dev = gw_config_device_find(cfg, segs[nb].p, segs[nb].len);
	if (c->dev < 0)
		return false;
	for (unsigned i = (unsigned)nb + 1; i < n - 1; i++) {
		int w = snprintf(c->path + off, sizeof(c->path) - off, "%s%.*s",
				 off ? "/" : "", (int)segs[i].len, segs[i].p);
		if (w < 0 || (size_t)w >= sizeof(c->path) - off)
			return false;
		off += (size_t)w;
	}
	c->query_len = 0;
	c->confirmable = true;
	c->timeout_ms = cfg->coap.request_timeout_ms;
	/* GET's answer is the resource's state: publish it on B/D/P. */
	c->has_answer = c->method == UCOAP_GET;
	if (c->has_answer) {
		int w = snprintf(c->answer_topic, sizeof(c->answer_topic),
				 "%s/%s/%s", bt, cfg->devices[c->dev].name,
				 c->path);
		if (w < 0 || (size_t)w >= sizeof(c->answer_topic))
			return false;
	}
	return true;
}

static struct gw_down_slot *take_slot(struct gw_bridge *b)
{
	for (unsigned i = 0; i < GW_DOWN_SLOTS; i++)
		if (!b->slots[i].used)
			return &b->slots[i];
	return NULL;
}

static void publish_busy(struct gw_bridge *b, const char *result_topic)
{
	struct gw_mqtt_pub p = {.qos = b->cfg->mqtt.qos};
	char json[64];
	int n = gw_payload_result_json("busy", NULL, 0, json, sizeof(json));

	if (n > 0)
		result_out(b, result_topic, json, (size_t)n, &p);
}

static const char *default_filter(const struct gw_config *cfg, char *buf,
				  size_t cap)
{
	int n = snprintf(buf, cap, "%s/#", cfg->gateway.base_topic);

	return n < 0 || (size_t)n >= cap ? NULL : buf;
}

void gw_downlink_on_message(void *user, const struct gw_mqtt_msg *msg)
{
	struct gw_bridge *b = user;
	const struct gw_config *cfg = b->cfg;
	struct gw_seg segs[GW_TOPIC_MAX_LEVELS];
	struct command c = {.dev = -1};
	struct gw_down_slot *sl;
	char result[DOWN_TOPIC_MAX], def[DOWN_TOPIC_MAX];
	struct gw_match m;
	uint32_t id;
	int n, w;

	if (b->stopping)
		return;
	n = gw_path_split(msg->topic, strlen(msg->topic), segs,
			  GW_TOPIC_MAX_LEVELS);
	if (n < 0)
		return;
	if (gw_route_index_lookup(cfg->downlink_index, segs, (unsigned)n, 0,
				  &id, &m) == 0) {
		const struct gw_config_downlink *r = &cfg->downlink[id];

		/*
		 * The copy the winning route's filter brought, not one an
		 * overlapping filter (another route, a ps/ observer's
		 * topic) brought as well: a command runs once.
		 */
		if (!gw_mqtt_msg_via(b->mqtt, msg, r->topic.text))
			return;
		/* A restart must not replay `set` commands to actuators. */
		if (msg->retain && !r->accept_retained) {
			gw_debug("%s: retained command ignored", msg->topic);
			return;
		}
		if (!resolve_explicit(b, r, &m, &c))
			return;
	} else if (cfg->gateway.default_routes) {
		if (!gw_mqtt_msg_via(b->mqtt, msg,
				     default_filter(cfg, def, sizeof(def))))
			return;
		if (!resolve_default(b, segs, (unsigned)n, &c))
			return;
		if (msg->retain) {
			gw_debug("%s: retained command ignored", msg->topic);
			return;
		}
	} else {
		return;
	}

	w = snprintf(result, sizeof(result), "%s/%s%s%s/result",
		     cfg->gateway.base_topic, cfg->devices[c.dev].name,
		     c.path[0] ? "/" : "", c.path);
	if (w < 0 || (size_t)w >= sizeof(result))
		return;
	sl = take_slot(b);
	if (!sl || b->dev[c.dev].waiting >= GW_DEVICE_QUEUE) {
		if (gw_log_ratelimit(&down_rl, gw_now_ms(), 1, 10))
			gw_warn("device %s: too many commands waiting; %s "
				"answered busy",
				cfg->devices[c.dev].name, msg->topic);
		publish_busy(b, result);
		return;
	}
	sl->used = true;
	sl->seq = ++b->seq;
	sl->method = c.method;
	sl->confirmable = c.confirmable;
	sl->timeout_ms = c.timeout_ms;
	sl->answer_qos = cfg->mqtt.qos;
	sl->device =
	    dup_n(cfg->devices[c.dev].name, strlen(cfg->devices[c.dev].name));
	sl->path = dup_n(c.path, strlen(c.path));
	sl->query = dup_n(c.query, c.query_len);
	sl->query_len = c.query_len;
	sl->payload = (uint8_t *)dup_n(msg->payload, msg->len);
	sl->len = msg->len;
	sl->result_topic = dup_n(result, (size_t)w);
	if (c.has_answer)
		sl->answer_topic =
		    dup_n(c.answer_topic, strlen(c.answer_topic));
	if (msg->response_topic) {
		sl->v5_topic =
		    dup_n(msg->response_topic, strlen(msg->response_topic));
		if (msg->correlation) {
			sl->corr = (uint8_t *)dup_n(msg->correlation,
						    msg->correlation_len);
			sl->corr_len = msg->correlation_len;
		}
	}
	if (!sl->device || !sl->path || !sl->query || !sl->payload ||
	    !sl->result_topic || (c.has_answer && !sl->answer_topic) ||
	    (msg->response_topic && !sl->v5_topic) ||
	    (msg->correlation && !sl->corr)) {
		gw_err("downlink: out of memory");
		slot_clear(sl);
		return;
	}
	if (b->dev[c.dev].inflight) {
		sl->deadline_ms = gw_now_ms() + c.timeout_ms;
		b->dev[c.dev].waiting++;
		gw_debug(
		    "downlink %s: waits for the device's request in flight",
		    msg->topic);
		return;
	}
	send_slot(b, sl, c.dev);
}

void gw_downlink_tick(struct gw_bridge *b, uint64_t now)
{
	for (unsigned i = 0; i < GW_DOWN_SLOTS; i++) {
		struct gw_down_slot *sl = &b->slots[i];

		if (sl->used && !sl->inflight && now >= sl->deadline_ms) {
			b->down_failed++;
			finish(sl, "timeout", NULL);
		}
	}
}

/*
 * One reference (mqtt.h) per downlink route, even when two routes share a
 * topic, and one for the default layout's B/#: gw_downlink_unsubscribe
 * gives back exactly these, so a filter another owner (pub/sub, discovery)
 * also holds stays subscribed.
 */
int gw_downlink_subscribe(struct gw_bridge *b, const struct gw_config *cfg)
{
	char buf[DOWN_TOPIC_MAX];
	const char *def = default_filter(cfg, buf, sizeof(buf));
	size_t i;
	int rc = 0;

	for (i = 0; i < cfg->n_downlink; i++) {
		rc = gw_mqtt_subscribe(b->mqtt, cfg->downlink[i].topic.text,
				       cfg->mqtt.qos);
		if (rc < 0) {
			gw_err("%s:%u: cannot subscribe to '%s': %s",
			       cfg->downlink[i].loc.file,
			       cfg->downlink[i].loc.line,
			       cfg->downlink[i].topic.text, strerror(-rc));
			goto fail;
		}
	}
	/*
	 * Command topics end in /set, /get or /post at any depth, which no
	 * MQTT filter can say: subscribe to the base topic and pick them out.
	 * With MQTT v5 No Local keeps our own publishes away.
	 */
	if (cfg->gateway.default_routes && def) {
		rc = gw_mqtt_subscribe(b->mqtt, def, cfg->mqtt.qos);
		if (rc < 0) {
			gw_err("cannot subscribe to '%s': %s", def,
			       strerror(-rc));
			goto fail;
		}
	}
	return 0;

fail:
	/* All or nothing: the caller keeps the set it had. */
	while (i-- > 0)
		gw_mqtt_unsubscribe(b->mqtt, cfg->downlink[i].topic.text);
	return rc;
}

void gw_downlink_unsubscribe(struct gw_bridge *b, const struct gw_config *cfg)
{
	char buf[DOWN_TOPIC_MAX];
	const char *def = default_filter(cfg, buf, sizeof(buf));

	for (size_t i = 0; i < cfg->n_downlink; i++)
		gw_mqtt_unsubscribe(b->mqtt, cfg->downlink[i].topic.text);
	if (cfg->gateway.default_routes && def)
		gw_mqtt_unsubscribe(b->mqtt, def);
}

void gw_downlink_cancel_all(struct gw_bridge *b)
{
	for (unsigned i = 0; i < GW_DOWN_SLOTS; i++)
		if (b->slots[i].used)
			slot_clear(&b->slots[i]);
}
