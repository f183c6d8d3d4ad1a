/*
 * coapbridge-plugtest-server: the resource set of the ETSI CoAP plugtests
 * (test descriptions TD_COAP_CORE_*, _OBS_*, _BLOCK_*, _LINK_*; see
 * docs/conformance.md), served by the ucoap core.
 *
 *   coapbridge-plugtest-server [-p PORT] [-A ADDRESS] [-i MS] [-v]
 *
 * It doubles as the example of a CoAP server written with the core's public
 * API alone: one handler per resource, registered from a const table;
 * separate responses with ucoap_ep_defer(); observable resources with
 * ucoap_ep_observe_accept() and ucoap_ep_notify(); block-wise bodies left
 * to the endpoint (a handler answers with the whole body, the endpoint
 * slices it, and gathers Block1 request bodies before the handler runs);
 * /.well-known/core written by ucoap_link_format(); and a poll(2) loop
 * that sleeps until the earliest of the endpoint's timers and ours.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <ucoap/block.h>
#include <ucoap/endpoint.h>
#include <ucoap/link.h>

#define SEPARATE_DELAY_MS 1000 /* "a couple of seconds", TD_COAP_CORE_09 */
#define MAX_SEPARATE      16
#define MAX_CREATED       8
#define BODY_MAX          (16 * 1024) /* the endpoint's default max_body_size */
#define LARGE_LEN         2048
#define OBS_LARGE_LEN     1300 /* more than one 1024-byte block */

static const char usage_text[] =
    "usage: coapbridge-plugtest-server [-p PORT] [-A ADDRESS] [-i MS] [-a MS] "
    "[-m S] [-v]\n"
    "  -p, --port PORT       UDP port (default 5683)\n"
    "  -A, --address ADDR    bind to this address only (default: [::], "
    "dual-stack)\n"
    "  -i, --interval MS     period of the observable resources' changes\n"
    "                        (default 5000)\n"
    "  -a, --ack-timeout MS  ACK_TIMEOUT of our CON messages (default 2000)\n"
    "  -m, --max-age S       Max-Age of the observable resources' answers\n"
    "                        (default: none, i.e. 60)\n"
    "  -v, --verbose         print every request received\n"
    "  -h, --help            show this help\n";

static struct ucoap_ep *ep;
static bool verbose;

/* ---- small helpers ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Answer the request being handled with @code, @cf and @len bytes. */
static void reply(uint8_t code, int cf, const void *payload, size_t len)
{
	struct ucoap_msg resp;

	ucoap_msg_init(&resp, UCOAP_TYPE_ACK, code);
	if (cf != UCOAP_CF_NONE)
		ucoap_msg_add_uint(&resp, UCOAP_OPT_CONTENT_FORMAT,
				   (uint32_t)cf);
	resp.payload = len ? payload : NULL;
	resp.payload_len = len;
	if (ucoap_ep_respond(ep, &resp) < 0)
		fprintf(stderr, "plugtest: answer %u.%02u not sent\n",
			UCOAP_CODE_CLASS(code), UCOAP_CODE_DETAIL(code));
}

static void reply_text(uint8_t code, const char *text)
{
	reply(code, UCOAP_CF_TEXT, text, strlen(text));
}

static bool has_opt(const struct ucoap_msg *m, uint16_t num)
{
	return ucoap_msg_find(m, num) != NULL;
}

/* A stored representation: what PUT and POST bodies become. */
struct body {
	uint8_t data[BODY_MAX];
	size_t len;
	int cf;
	bool present;
};

static void body_set(struct body *b, const struct ucoap_msg *req)
{
	size_t n = req->payload_len < sizeof(b->data) ? req->payload_len
						      : sizeof(b->data);

	memcpy(b->data, req->payload, n);
	b->len = n;
	b->cf = ucoap_msg_content_format(req);
	b->present = true;
}

static void body_set_text(struct body *b, const char *text)
{
	b->len = strlen(text);
	memcpy(b->data, text, b->len);
	b->cf = UCOAP_CF_TEXT;
	b->present = true;
}

/* GET of a stored body: 2.05 with it, or 4.04 when it is gone. */
static void reply_body(const struct body *b)
{
	if (!b->present)
		reply(UCOAP_NOT_FOUND, UCOAP_CF_NONE, NULL, 0);
	else
		reply(UCOAP_CONTENT, b->cf, b->data, b->len);
}

/* ---- /test, /seg1/seg2/seg3, /query, /location-query (CORE_01..19) ---- */

static struct body test_body;

static void on_test(const struct ucoap_msg *req, void *user)
{
	static const char *const loc[] = {"location1", "location2",
					  "location3"};
	struct ucoap_msg resp;
	bool existed = test_body.present;

	switch (req->code) {
	case UCOAP_GET:
		reply_body(&test_body);
		return;
	case UCOAP_POST:
		/* TD_COAP_CORE_18: created at /location1/location2/location3.
		 */
		ucoap_msg_init(&resp, UCOAP_TYPE_ACK, UCOAP_CREATED);
		for (size_t i = 0; i < 3; i++)
			ucoap_msg_add_opt(&resp, UCOAP_OPT_LOCATION_PATH,
					  loc[i], strlen(loc[i]));
		ucoap_ep_respond(ep, &resp);
		return;
	case UCOAP_PUT:
		/* RFC 7252 §5.8.3: 2.01 when the PUT (re-)created it. */
		body_set(&test_body, req);
		reply(existed ? UCOAP_CHANGED : UCOAP_CREATED, UCOAP_CF_NONE,
		      NULL, 0);
		return;
	case UCOAP_DELETE:
		test_body.present = false;
		reply(UCOAP_DELETED, UCOAP_CF_NONE, NULL, 0);
		return;
	}
	reply(UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
}

/* Resources whose GET returns their own path (/seg1/seg2/seg3, /linkN). */
static void on_named(const struct ucoap_msg *req, void *user)
{
	if (req->code != UCOAP_GET)
		reply(UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
	else
		reply_text(UCOAP_CONTENT, user);
}

static void on_query(const struct ucoap_msg *req, void *user)
{
	char q[512];
	int n = ucoap_msg_uri_query(req, q, sizeof(q));

	if (req->code != UCOAP_GET)
		reply(UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
	else if (n < 0)
		reply(UCOAP_REQUEST_ENTITY_TOO_LARGE, UCOAP_CF_NONE, NULL, 0);
	else
		reply(UCOAP_CONTENT, UCOAP_CF_TEXT, q, (size_t)n);
}

static void on_location_query(const struct ucoap_msg *req, void *user)
{
	struct ucoap_msg resp;

	if (req->code != UCOAP_POST) {
		reply(UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
		return;
	}
	/* TD_COAP_CORE_19: the location carries ?first=1&second=2. */
	ucoap_msg_init(&resp, UCOAP_TYPE_ACK, UCOAP_CREATED);
	ucoap_msg_add_opt(&resp, UCOAP_OPT_LOCATION_QUERY, "first=1", 7);
	ucoap_msg_add_opt(&resp, UCOAP_OPT_LOCATION_QUERY, "second=2", 8);
	ucoap_ep_respond(ep, &resp);
}

/* ---- /separate (CORE_09, 11, 16, 17): RFC 7252 §5.2.2 ---- */

static struct {
	struct ucoap_deferred d;
	uint64_t due;
	bool used;
} separate[MAX_SEPARATE];

static void on_separate(const struct ucoap_msg *req, void *user)
{
	size_t i;

	if (req->code != UCOAP_GET) {
		reply(UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
		return;
	}
	for (i = 0; i < MAX_SEPARATE && separate[i].used; i++)
		;
	/* No slot free: answer piggybacked rather than not at all. */
	if (i == MAX_SEPARATE || ucoap_ep_defer(ep, &separate[i].d) < 0) {
		reply_text(UCOAP_CONTENT, "busy: piggybacked response");
		return;
	}
	separate[i].due = now_ms() + SEPARATE_DELAY_MS;
	separate[i].used = true;
}

static void separate_tick(uint64_t now)
{
	static const char text[] = "Type: separate response";

	for (size_t i = 0; i < MAX_SEPARATE; i++) {
		struct ucoap_msg resp;

		if (!separate[i].used || separate[i].due > now)
			continue;
		separate[i].used = false;
		ucoap_msg_init(&resp, UCOAP_TYPE_CON, UCOAP_CONTENT);
		ucoap_msg_add_uint(&resp, UCOAP_OPT_CONTENT_FORMAT,
				   UCOAP_CF_TEXT);
		resp.payload = (const uint8_t *)text;
		resp.payload_len = sizeof(text) - 1;
		if (ucoap_ep_respond_deferred(ep, &separate[i].d, &resp, NULL,
					      NULL) < 0)
			fprintf(stderr, "plugtest: separate response not "
					"sent\n");
	}
}

/* ---- /multi-format (CORE_20), /validate (21, 22), /create1 (23) ---- */

static void on_multi_format(const struct ucoap_msg *req, void *user)
{
	static const char text[] = "multi-format: text/plain";
	static const char xml[] = "<multi-format>application/xml"
				  "</multi-format>";
	uint32_t accept = UCOAP_CF_TEXT;

	if (req->code != UCOAP_GET) {
		reply(UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
		return;
	}
	/* RFC 7252 §5.10.4: no Accept means any format will do. */
	if (ucoap_msg_get_uint(req, UCOAP_OPT_ACCEPT, &accept) ==
	    UCOAP_ERR_INVAL)
		accept = UINT32_MAX;
	if (accept == UCOAP_CF_TEXT)
		reply(UCOAP_CONTENT, UCOAP_CF_TEXT, text, sizeof(text) - 1);
	else if (accept == UCOAP_CF_XML)
		reply(UCOAP_CONTENT, UCOAP_CF_XML, xml, sizeof(xml) - 1);
	else
		reply(UCOAP_NOT_ACCEPTABLE, UCOAP_CF_NONE, NULL, 0);
}

/* A body with an entity tag: the version number, 4 bytes big endian. */
static struct {
	struct body b;
	uint32_t version;
} validate;

static void etag_of(uint32_t version, uint8_t out[4])
{
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(version >> (24 - 8 * i));
}

/* Does one of @m's options @num hold @etag (an empty If-Match: any)? */
static bool etag_listed(const struct ucoap_msg *m, uint16_t num,
			const uint8_t etag[4])
{
	for (const struct ucoap_opt *o = ucoap_msg_find(m, num); o;
	     o = ucoap_msg_find_next(m, o))
		if ((num == UCOAP_OPT_IF_MATCH && o->len == 0) ||
		    (o->len == 4 && memcmp(ucoap_opt_value(o), etag, 4) == 0))
			return true;
	return false;
}

/*
 * RFC 7252 §5.10.8: the preconditions of a PUT on @b (tagged @etag):
 * If-Match needs a matching current representation, If-None-Match needs
 * none at all. True when the request may go on.
 */
static bool preconditions_hold(const struct ucoap_msg *req,
			       const struct body *b, const uint8_t etag[4])
{
	if (has_opt(req, UCOAP_OPT_IF_MATCH) &&
	    !(b->present && etag_listed(req, UCOAP_OPT_IF_MATCH, etag)))
		return false;
	return !(has_opt(req, UCOAP_OPT_IF_NONE_MATCH) && b->present);
}

static void on_validate(const struct ucoap_msg *req, void *user)
{
	struct ucoap_msg resp;
	uint8_t etag[4];

	etag_of(validate.version, etag);
	switch (req->code) {
	case UCOAP_GET:
		/* §5.10.6.2: a listed current ETag is answered 2.03 Valid. */
		if (etag_listed(req, UCOAP_OPT_ETAG, etag)) {
			ucoap_msg_init(&resp, UCOAP_TYPE_ACK, UCOAP_VALID);
		} else {
			ucoap_msg_init(&resp, UCOAP_TYPE_ACK, UCOAP_CONTENT);
			ucoap_msg_add_uint(&resp, UCOAP_OPT_CONTENT_FORMAT,
					   (uint32_t)validate.b.cf);
			resp.payload = validate.b.data;
			resp.payload_len = validate.b.len;
		}
		ucoap_msg_add_opt(&resp, UCOAP_OPT_ETAG, etag, 4);
		ucoap_ep_respond(ep, &resp);
		return;
	case UCOAP_PUT:
		if (!preconditions_hold(req, &validate.b, etag)) {
			reply(UCOAP_PRECONDITION_FAILED, UCOAP_CF_NONE, NULL,
			      0);
			return;
		}
		body_set(&validate.b, req);
		etag_of(++validate.version, etag);
		ucoap_msg_init(&resp, UCOAP_TYPE_ACK, UCOAP_CHANGED);
		ucoap_msg_add_opt(&resp, UCOAP_OPT_ETAG, etag, 4);
		ucoap_ep_respond(ep, &resp);
		return;
	}
	reply(UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
}

static struct body create1;

static void on_create1(const struct ucoap_msg *req, void *user)
{
	bool existed = create1.present;
	static const uint8_t no_etag[4];

	switch (req->code) {
	case UCOAP_GET:
		reply_body(&create1);
		return;
	case UCOAP_PUT:
		/* TD_COAP_CORE_23: If-None-Match makes the creation atomic. */
		if (!preconditions_hold(req, &create1, no_etag)) {
			reply(UCOAP_PRECONDITION_FAILED, UCOAP_CF_NONE, NULL,
			      0);
			return;
		}
		body_set(&create1, req);
		reply(existed ? UCOAP_CHANGED : UCOAP_CREATED, UCOAP_CF_NONE,
		      NULL, 0);
		return;
	case UCOAP_DELETE:
		create1.present = false;
		reply(UCOAP_DELETED, UCOAP_CF_NONE, NULL, 0);
		return;
	}
	reply(UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
}

/* ---- block-wise: /large, /large-update, /large-create, /large-post ---- */

static char large[LARGE_LEN];
static struct body large_update;
static struct {
	struct body b;
	char path[32];
} created[MAX_CREATED];
static unsigned ncreated;

/*
 * The endpoint answers block by block and keeps nothing between blocks: a
 * handler gives the whole representation each time. An ETag lets the
 * client see if it changed between blocks (RFC 7959 §2.4).
 */
static void on_large(const struct ucoap_msg *req, void *user)
{
	if (req->code != UCOAP_GET)
		reply(UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
	else
		reply(UCOAP_CONTENT, UCOAP_CF_TEXT, large, sizeof(large));
}

static void on_large_update(const struct ucoap_msg *req, void *user)
{
	/* A Block1 body reaches the handler whole (endpoint.h). */
	if (req->code == UCOAP_GET) {
		reply_body(&large_update);
	} else if (req->code == UCOAP_PUT) {
		body_set(&large_update, req);
		reply(UCOAP_CHANGED, UCOAP_CF_NONE, NULL, 0);
	} else {
		reply(UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
	}
}

static void on_created(const struct ucoap_msg *req, void *user)
{
	if (req->code != UCOAP_GET)
		reply(UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
	else
		reply_body(user);
}

static void on_large_create(const struct ucoap_msg *req, void *user)
{
	struct ucoap_msg resp;
	unsigned i = ncreated % MAX_CREATED;
	char num[12];
	int n;

	if (req->code != UCOAP_POST) {
		reply(UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
		return;
	}
	/*
	 * TD_COAP_BLOCK_04: 2.01 with Location-Path "large-create" and one
	 * segment of our choosing; the new resource is readable there. The
	 * oldest of MAX_CREATED is reused.
	 */
	n = snprintf(num, sizeof(num), "%u", ++ncreated);
	body_set(&created[i].b, req);
	/* The default handler (dispatch) serves it from now on. */
	snprintf(created[i].path, sizeof(created[i].path), "large-create/%s",
		 num);
	ucoap_msg_init(&resp, UCOAP_TYPE_ACK, UCOAP_CREATED);
	ucoap_msg_add_opt(&resp, UCOAP_OPT_LOCATION_PATH, "large-create", 12);
	ucoap_msg_add_opt(&resp, UCOAP_OPT_LOCATION_PATH, num, (size_t)n);
	ucoap_ep_respond(ep, &resp);
}

static void on_large_post(const struct ucoap_msg *req, void *user)
{
	static uint8_t upper[BODY_MAX];
	size_t n = req->payload_len;

	if (req->code != UCOAP_POST) {
		reply(UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
		return;
	}
	/*
	 * TD_COAP_BLOCK_05: the answer (the body in upper case) goes back
	 * block-wise too; the endpoint keeps it for the Block2 requests.
	 */
	for (size_t i = 0; i < n; i++)
		upper[i] = (uint8_t)toupper(req->payload[i]);
	reply(UCOAP_CHANGED, UCOAP_CF_TEXT, upper, n);
}

/* ---- observable resources (TD_COAP_OBS_*): RFC 7641 ---- */

enum obs_kind { OBS_SHORT, OBS_LARGE, OBS_PUMPING };

struct observable {
	enum obs_kind kind;
	bool con; /* CON notifications (else NON) */
	struct body b;
	uint32_t version; /* the ETag of a large representation */
	/* Set while the observers learn that the format changed. */
	bool format_changed;
};

static struct observable obs = {.kind = OBS_SHORT, .con = true};
static struct observable obs_non = {.kind = OBS_SHORT};
static struct observable obs_large = {.kind = OBS_LARGE, .con = true};
static struct observable obs_pumping = {.kind = OBS_PUMPING, .con = true};
static struct observable *const observables[] = {&obs, &obs_non, &obs_large,
						 &obs_pumping};
static unsigned ticks;
/* -m: a short Max-Age makes observers re-register soon (TD_COAP_OBS_04). */
static long obs_max_age = -1;

/* The periodic change: a new text value of the resource's kind. */
static void observable_change(struct observable *o)
{
	char *t = (char *)o->b.data;
	bool longer =
	    o->kind == OBS_LARGE || (o->kind == OBS_PUMPING && ticks % 2 == 1);
	int n = snprintf(t, 64, "tick %u", ticks);

	if (longer) {
		memset(t + n, '.', OBS_LARGE_LEN - (size_t)n);
		n = OBS_LARGE_LEN;
	}
	o->b.len = (size_t)n;
	o->b.cf = UCOAP_CF_TEXT;
	o->b.present = true;
	o->version++;
}

static void observable_notify(struct observable *o)
{
	if (ucoap_ep_notify(ep, o, o->con, NULL) < 0)
		fprintf(stderr, "plugtest: notify failed\n");
}

static void on_observable(const struct ucoap_msg *req, void *user)
{
	struct observable *o = user;
	struct ucoap_msg resp;
	uint32_t val;
	uint8_t etag[4];
	int old_cf = o->b.cf;
	bool existed = o->b.present;

	switch (req->code) {
	case UCOAP_GET:
		/*
		 * RFC 7641 §3.2: an observer whose representation's format
		 * is no longer served gets 4.06, a deleted resource 4.04;
		 * both without Observe, which ends the observation.
		 */
		if (ucoap_ep_notifying(ep) && o->format_changed) {
			reply(UCOAP_NOT_ACCEPTABLE, UCOAP_CF_NONE, NULL, 0);
			return;
		}
		if (!o->b.present) {
			reply(UCOAP_NOT_FOUND, UCOAP_CF_NONE, NULL, 0);
			return;
		}
		/* A full table declines the registration (§4.1): plain GET. */
		if (ucoap_msg_get_uint(req, UCOAP_OPT_OBSERVE, &val) == 0 &&
		    val == 0)
			ucoap_ep_observe_accept(ep, o);
		ucoap_msg_init(&resp, UCOAP_TYPE_ACK, UCOAP_CONTENT);
		ucoap_msg_add_uint(&resp, UCOAP_OPT_CONTENT_FORMAT,
				   (uint32_t)o->b.cf);
		if (obs_max_age >= 0)
			ucoap_msg_add_uint(&resp, UCOAP_OPT_MAX_AGE,
					   (uint32_t)obs_max_age);
		if (o->b.len > 1024) {
			etag_of(o->version, etag);
			ucoap_msg_add_opt(&resp, UCOAP_OPT_ETAG, etag, 4);
		}
		resp.payload = o->b.data;
		resp.payload_len = o->b.len;
		ucoap_ep_respond(ep, &resp);
		return;
	case UCOAP_PUT:
		body_set(&o->b, req);
		o->version++;
		reply(existed ? UCOAP_CHANGED : UCOAP_CREATED, UCOAP_CF_NONE,
		      NULL, 0);
		/* TD_COAP_OBS_08 / OBS_09. */
		o->format_changed = existed && o->b.cf != old_cf;
		observable_notify(o);
		o->format_changed = false;
		return;
	case UCOAP_DELETE:
		o->b.present = false;
		reply(UCOAP_DELETED, UCOAP_CF_NONE, NULL, 0);
		observable_notify(o); /* TD_COAP_OBS_07: 4.04 to each */
		return;
	}
	reply(UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
}

/* Every interval: the text resources change and their observers hear. */
static void observables_tick(void)
{
	ticks++;
	for (size_t i = 0; i < sizeof(observables) / sizeof(observables[0]);
	     i++) {
		struct observable *o = observables[i];

		/* A PUT of another format or a DELETE freezes it. */
		if (!o->b.present || o->b.cf != UCOAP_CF_TEXT)
			continue;
		observable_change(o);
		observable_notify(o);
	}
}

/* ---- discovery: /.well-known/core and /path (TD_COAP_LINK_*) ---- */

/*
 * The links TD_COAP_LINK_02..08 filter: rt groups "Type1 Type2", "Type2
 * Type3", "Type1 Type3" and "" (LINK_04), if values If1, If2, foo and none
 * (LINK_05), sz on the large resources (LINK_06), /link1..3 (LINK_07, 08),
 * and /path with ct=40 whose children are listed by /path itself (LINK_09).
 */
static const struct ucoap_link links[] = {
    {.href = "/test", .ct = UCOAP_CF_TEXT},
    {.href = "/seg1/seg2/seg3", .rt = "", .ct = UCOAP_CF_TEXT},
    {.href = "/query", .ct = UCOAP_CF_TEXT},
    {.href = "/location-query", .ct = UCOAP_CF_NONE},
    {.href = "/separate", .ct = UCOAP_CF_TEXT},
    {.href = "/multi-format",
     .ct = UCOAP_CF_NONE,
     .extra = (const struct ucoap_link_attr[]){{"ct", "0 41"}},
     .nextra = 1},
    {.href = "/validate", .ct = UCOAP_CF_TEXT},
    {.href = "/create1", .ct = UCOAP_CF_NONE},
    {.href = "/large", .rt = "block", .ct = UCOAP_CF_TEXT, .sz = LARGE_LEN},
    {.href = "/large-update", .rt = "block", .ct = UCOAP_CF_NONE},
    {.href = "/large-create", .rt = "block", .ct = UCOAP_CF_NONE},
    {.href = "/large-post", .rt = "block", .ct = UCOAP_CF_TEXT},
    {.href = "/obs", .rt = "observe", .ct = UCOAP_CF_TEXT, .obs = true},
    {.href = "/obs-non", .rt = "observe", .ct = UCOAP_CF_TEXT, .obs = true},
    {.href = "/obs-large",
     .rt = "observe",
     .ct = UCOAP_CF_TEXT,
     .sz = OBS_LARGE_LEN,
     .obs = true},
    {.href = "/obs-pumping", .rt = "observe", .ct = UCOAP_CF_TEXT, .obs = true},
    {.href = "/link1", .rt = "Type1 Type2", .if_ = "If1", .ct = UCOAP_CF_TEXT},
    {.href = "/link2", .rt = "Type2 Type3", .if_ = "If2", .ct = UCOAP_CF_TEXT},
    {.href = "/link3", .rt = "Type1 Type3", .if_ = "foo", .ct = UCOAP_CF_TEXT},
    {.href = "/path", .ct = UCOAP_CF_LINK_FORMAT},
};

static const struct ucoap_link path_links[] = {
    {.href = "/path/sub1", .ct = UCOAP_CF_TEXT},
    {.href = "/path/sub2", .ct = UCOAP_CF_TEXT},
    {.href = "/path/sub3", .ct = UCOAP_CF_TEXT},
};

/* RFC 6690 §4: the links passing the request's filters, as link-format. */
static void reply_links(const struct ucoap_msg *req, const struct ucoap_link *l,
			size_t n)
{
	static char doc[4096];
	size_t len;

	if (req->code != UCOAP_GET) {
		reply(UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
		return;
	}
	if (ucoap_link_format(l, n, req, doc, sizeof(doc), &len) < 0) {
		reply(UCOAP_INTERNAL_SERVER_ERROR, UCOAP_CF_NONE, NULL, 0);
		return;
	}
	reply(UCOAP_CONTENT, UCOAP_CF_LINK_FORMAT, doc, len);
}

static void on_core(const struct ucoap_msg *req, void *user)
{
	reply_links(req, links, sizeof(links) / sizeof(links[0]));
}

static void on_path(const struct ucoap_msg *req, void *user)
{
	reply_links(req, path_links,
		    sizeof(path_links) / sizeof(path_links[0]));
}

/* ---- the resource table and the request log ---- */

struct resource {
	const char *path;
	void (*fn)(const struct ucoap_msg *req, void *user);
	void *user;
};

static const struct resource resources[] = {
    {".well-known/core", on_core, NULL},
    {"test", on_test, NULL},
    {"seg1/seg2/seg3", on_named, "/seg1/seg2/seg3"},
    {"query", on_query, NULL},
    {"location-query", on_location_query, NULL},
    {"separate", on_separate, NULL},
    {"multi-format", on_multi_format, NULL},
    {"validate", on_validate, NULL},
    {"create1", on_create1, NULL},
    {"large", on_large, NULL},
    {"large-update", on_large_update, NULL},
    {"large-create", on_large_create, NULL},
    {"large-post", on_large_post, NULL},
    {"obs", on_observable, &obs},
    {"obs-non", on_observable, &obs_non},
    {"obs-large", on_observable, &obs_large},
    {"obs-pumping", on_observable, &obs_pumping},
    {"link1", on_named, "/link1"},
    {"link2", on_named, "/link2"},
    {"link3", on_named, "/link3"},
    {"path", on_path, NULL},
    {"path/sub1", on_named, "/path/sub1"},
    {"path/sub2", on_named, "/path/sub2"},
    {"path/sub3", on_named, "/path/sub3"},
};

static void log_request(const struct ucoap_msg *req,
			const struct ucoap_addr *from)
{
	char addr[UCOAP_ADDR_STRLEN], path[256], code[8];

	if (ucoap_addr_str(from, addr, sizeof(addr)) < 0)
		strcpy(addr, "?");
	if (ucoap_msg_uri_path(req, path, sizeof(path)) < 0)
		strcpy(path, "...");
	printf("%s %s %s /%s mid=%u tkl=%u tok=", addr,
	       ucoap_type_str(req->type), ucoap_code_str(req->code, code), path,
	       req->mid, req->token_len);
	/* The token's value: "same token" checks compare it, not its length. */
	for (uint8_t j = 0; j < req->token_len; j++)
		printf("%02x", req->token[j]);
	printf("%s len=%zu", req->token_len ? "" : "-", req->payload_len);
	/* The options a test description asks about, as Name=value. */
	for (uint16_t i = 0; i < req->opt_count; i++) {
		const struct ucoap_opt *o = &req->opts[i];
		const struct ucoap_opt_info *info = ucoap_opt_info(o->num);
		const uint8_t *v = ucoap_opt_value(o);

		if (!info || o->num == UCOAP_OPT_URI_PATH)
			continue;
		printf(" %s=", info->name);
		if (info->format == UCOAP_FMT_UINT)
			printf("%u", ucoap_uint_decode(v, o->len));
		else if (info->format == UCOAP_FMT_STRING)
			printf("%.*s", (int)o->len, (const char *)v);
		else
			for (uint32_t j = 0; j < o->len; j++)
				printf("%02x", v[j]);
	}
	printf("%s\n", ucoap_ep_notifying(ep) ? " (notification)" : "");
	fflush(stdout);
}

/* Every request passes here: log it, then call its resource's handler. */
static void dispatch(struct ucoap_ep *e, const struct ucoap_msg *req,
		     const struct ucoap_addr *from, void *user)
{
	char path[64];

	if (verbose)
		log_request(req, from);
	if (user) {
		const struct resource *r = user;

		r->fn(req, r->user);
		return;
	}
	/* The default handler: the resources /large-create made, or 4.04. */
	if (ucoap_msg_uri_path(req, path, sizeof(path)) > 0)
		for (size_t i = 0; i < MAX_CREATED; i++)
			if (strcmp(created[i].path, path) == 0) {
				on_created(req, &created[i].b);
				return;
			}
	reply(UCOAP_NOT_FOUND, UCOAP_CF_NONE, NULL, 0);
}

/* ---- set-up and the loop ---- */

static void init_state(void)
{
	for (size_t i = 0; i < sizeof(large); i++) {
		size_t line = i / 64, col = i % 64;

		/* 32 numbered 64-byte lines, so a gap or a swap shows. */
		if (col == 63)
			large[i] = '\n';
		else if (col < 14)
			large[i] = "/large line 00"[col];
		else
			large[i] = (char)('a' + (line + col) % 26);
		if (col == 12)
			large[i] = (char)('0' + line / 10);
		if (col == 13)
			large[i] = (char)('0' + line % 10);
	}
	body_set_text(&test_body, "Type: /test resource");
	body_set_text(&validate.b, "validate: first version");
	validate.version = 1;
	for (size_t i = 0; i < sizeof(observables) / sizeof(observables[0]);
	     i++)
		observable_change(observables[i]);
}

static int serve(uint32_t interval_ms, int sfd)
{
	uint64_t next_tick = now_ms() + interval_ms;
	struct pollfd pfd[2] = {{.fd = ucoap_ep_fd(ep), .events = POLLIN},
				{.fd = sfd, .events = POLLIN}};

	for (;;) {
		uint64_t now = now_ms(), due = next_tick;
		int ep_wait = ucoap_ep_next_timeout(ep);

		for (size_t i = 0; i < MAX_SEPARATE; i++)
			if (separate[i].used && separate[i].due < due)
				due = separate[i].due;
		if (ep_wait >= 0 && now + (uint64_t)ep_wait < due)
			due = now + (uint64_t)ep_wait;
		if (poll(pfd, 2, due > now ? (int)(due - now) : 0) < 0 &&
		    errno != EINTR) {
			perror("plugtest: poll");
			return -1;
		}
		if (pfd[1].revents & POLLIN)
			return 0; /* SIGINT or SIGTERM */
		if (ucoap_ep_process(ep, 0) < 0) {
			perror("plugtest: receive");
			return -1;
		}
		now = now_ms();
		separate_tick(now);
		if (now >= next_tick) {
			next_tick = now + interval_ms;
			observables_tick();
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"port", required_argument, NULL, 'p'},
	    {"address", required_argument, NULL, 'A'},
	    {"interval", required_argument, NULL, 'i'},
	    {"ack-timeout", required_argument, NULL, 'a'},
	    {"max-age", required_argument, NULL, 'm'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *address = "::";
	unsigned long port = UCOAP_DEFAULT_PORT, interval = 5000;
	struct ucoap_ep_config cfg;
	struct ucoap_addr local;
	char where[UCOAP_ADDR_STRLEN];
	sigset_t sigs;
	int opt, sfd, rc = 1;
	char *end;

	ucoap_ep_config_init(&cfg);
	while ((opt = getopt_long(argc, argv, "p:A:i:a:m:vh", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'p':
			port = strtoul(optarg, &end, 10);
			if (*end || end == optarg || port > 65535)
				goto usage;
			break;
		case 'A':
			address = optarg;
			break;
		case 'i':
			interval = strtoul(optarg, &end, 10);
			if (*end || end == optarg || interval < 10 ||
			    interval > 3600000)
				goto usage;
			break;
		case 'a':
			/* Short in tests that wait for a give-up (OBS_05). */
			cfg.ack_timeout_ms =
			    (uint32_t)strtoul(optarg, &end, 10);
			if (*end || end == optarg || cfg.ack_timeout_ms < 10)
				goto usage;
			break;
		case 'm':
			obs_max_age = strtol(optarg, &end, 10);
			if (*end || end == optarg || obs_max_age < 0 ||
			    obs_max_age > 86400)
				goto usage;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	if (ucoap_addr_set(&local, address, (uint16_t)port) < 0) {
		fprintf(stderr, "plugtest: bad address '%s'\n", address);
		return 2;
	}

	/* SIGINT/SIGTERM arrive through a descriptor the loop polls. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0 ||
	    (sfd = signalfd(-1, &sigs, SFD_CLOEXEC)) < 0) {
		perror("plugtest: signalfd");
		return 1;
	}
	init_state();
	ep = ucoap_ep_new(&cfg, NULL, NULL);
	if (!ep) {
		fprintf(stderr, "plugtest: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
		if (ucoap_ep_add_request_callback(ep, resources[i].path,
						  dispatch,
						  (void *)&resources[i]) < 0)
			goto out;
	ucoap_ep_set_default_handler(ep, dispatch, NULL);
	if (ucoap_ep_start_at(ep, &local) < 0) {
		ucoap_addr_str(&local, where, sizeof(where));
		fprintf(stderr, "plugtest: cannot bind %s: %s\n", where,
			strerror(errno));
		goto out;
	}
	ucoap_ep_local_addr(ep, &local);
	ucoap_addr_str(&local, where, sizeof(where));
	printf("listening on %s\n", where);
	fflush(stdout);
	rc = serve((uint32_t)interval, sfd) < 0;
out:
	ucoap_ep_free(ep);
	close(sfd);
	return rc;
usage:
	fputs(usage_text, stderr);
	return 2;
}
