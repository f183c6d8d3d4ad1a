/*
 * ucoap_testserver: a small CoAP server built on the core's public API
 * only, for interop tests with libcoap's coap-client-notls.
 *
 *   ucoap_testserver [--reset] PORT [BIND_ADDR]   (BIND_ADDR default "::")
 *
 * Prints "ready" on stdout once bound. Resources:
 *   /hello     GET: 2.05 "hello" (text/plain)
 *   /store     GET: 2.05 with the stored value and its Content-Format, or
 *              4.04; PUT: store, 2.01 when new else 2.04; POST: store,
 *              2.04; DELETE: forget, 2.02. Others: 4.05.
 *   /query     any method: 2.05 with the Uri-Query options joined by '&'
 *   /echo      any method: 2.05 with the request's payload and
 *              Content-Format
 *   /cf        any method: 2.05 with the request's Content-Format number
 *              as text ("none" without one)
 *   /separate  GET: deferred (empty ACK for a CON), then a separate
 *              2.05 "separate" about 100 ms later (RFC 7252 §5.2.2)
 *   /large     GET: 2.05, a 3000-byte text body (line N of 30 lines of
 *              100 bytes), served block-wise by the core (RFC 7959)
 *   /large-update  GET: 2.05 with the stored body (or 4.04); PUT/POST: a
 *              body of up to 16 KiB, sent with Block1 when large, stored
 *              whole: 2.04
 *   /obs       GET: 2.05 "obs N", observable (RFC 7641); N grows every
 *              500 ms and each change is notified (every fourth one
 *              CON); PUT: N becomes the payload's number, notified now
 *              (CON), 2.04.
 * Anything else gets the core's 4.04; unknown critical options the
 * core's 4.02 (a CON) or silence (a NON).
 *
 * With --reset it runs no endpoint: it answers every CON it can decode
 * with RST and ignores the rest, so a client's Reset path can be tested
 * (RFC 7252 §4.2 lets a receiver reject any CON that way).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ucoap/endpoint.h>

#define SEPARATE_DELAY_MS 100
#define MAX_PENDING       32

static volatile sig_atomic_t stopping;

static struct {
	uint8_t buf[1024];
	size_t len;
	int cf;
	bool present;
} store;

/* /large-update: the core gathers Block1 bodies up to max_body_size. */
static struct {
	uint8_t buf[16 * 1024];
	size_t len;
	bool present;
} large_store;

static char large_body[3000];

/* /obs: its state, when it next changes, and how many changes so far. */
#define OBS_PERIOD_MS 500
static struct {
	long n;
	uint64_t next;
} obs;

static struct {
	struct ucoap_deferred d;
	uint64_t due;
	bool used;
} pending[MAX_PENDING];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void respond(struct ucoap_ep *ep, uint8_t code, int cf,
		    const void *payload, size_t len)
{
	struct ucoap_msg resp;

	ucoap_msg_init(&resp, UCOAP_TYPE_ACK, code);
	if (cf != UCOAP_CF_NONE)
		ucoap_msg_add_uint(&resp, UCOAP_OPT_CONTENT_FORMAT,
				   (uint32_t)cf);
	resp.payload = len ? payload : NULL;
	resp.payload_len = len;
	if (ucoap_ep_respond(ep, &resp) < 0)
		fprintf(stderr, "ucoap_testserver: respond failed\n");
}

static void on_hello(struct ucoap_ep *ep, const struct ucoap_msg *req,
		     const struct ucoap_addr *from, void *user)
{
	if (req->code != UCOAP_GET) {
		respond(ep, UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
		return;
	}
	respond(ep, UCOAP_CONTENT, UCOAP_CF_TEXT, "hello", 5);
}

static void on_store(struct ucoap_ep *ep, const struct ucoap_msg *req,
		     const struct ucoap_addr *from, void *user)
{
	bool was = store.present;

	switch (req->code) {
	case UCOAP_GET:
		if (!store.present)
			respond(ep, UCOAP_NOT_FOUND, UCOAP_CF_NONE, NULL, 0);
		else
			respond(ep, UCOAP_CONTENT, store.cf, store.buf,
				store.len);
		return;
	case UCOAP_PUT:
	case UCOAP_POST:
		if (req->payload_len > sizeof(store.buf)) {
			respond(ep, UCOAP_REQUEST_ENTITY_TOO_LARGE,
				UCOAP_CF_NONE, NULL, 0);
			return;
		}
		memcpy(store.buf, req->payload, req->payload_len);
		store.len = req->payload_len;
		store.cf = ucoap_msg_content_format(req);
		store.present = true;
		respond(ep,
			req->code == UCOAP_PUT && !was ? UCOAP_CREATED
						       : UCOAP_CHANGED,
			UCOAP_CF_NONE, NULL, 0);
		return;
	case UCOAP_DELETE:
		store.present = false;
		respond(ep, UCOAP_DELETED, UCOAP_CF_NONE, NULL, 0);
		return;
	default:
		respond(ep, UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
	}
}

static void on_query(struct ucoap_ep *ep, const struct ucoap_msg *req,
		     const struct ucoap_addr *from, void *user)
{
	char q[512];
	int n = ucoap_msg_uri_query(req, q, sizeof(q));

	if (n < 0) {
		respond(ep, UCOAP_REQUEST_ENTITY_TOO_LARGE, UCOAP_CF_NONE, NULL,
			0);
		return;
	}
	respond(ep, UCOAP_CONTENT, UCOAP_CF_TEXT, q, (size_t)n);
}

static void on_echo(struct ucoap_ep *ep, const struct ucoap_msg *req,
		    const struct ucoap_addr *from, void *user)
{
	respond(ep, UCOAP_CONTENT, ucoap_msg_content_format(req), req->payload,
		req->payload_len);
}

static void on_cf(struct ucoap_ep *ep, const struct ucoap_msg *req,
		  const struct ucoap_addr *from, void *user)
{
	char text[16];
	int cf = ucoap_msg_content_format(req);
	int n;

	if (cf == UCOAP_CF_NONE)
		n = snprintf(text, sizeof(text), "none");
	else
		n = snprintf(text, sizeof(text), "%d", cf);
	respond(ep, UCOAP_CONTENT, UCOAP_CF_TEXT, text, (size_t)n);
}

static void on_separate(struct ucoap_ep *ep, const struct ucoap_msg *req,
			const struct ucoap_addr *from, void *user)
{
	for (int i = 0; i < MAX_PENDING; i++) {
		if (pending[i].used)
			continue;
		if (ucoap_ep_defer(ep, &pending[i].d) < 0) {
			fprintf(stderr, "ucoap_testserver: defer failed\n");
			return;
		}
		pending[i].due = now_ms() + SEPARATE_DELAY_MS;
		pending[i].used = true;
		return;
	}
	respond(ep, UCOAP_SERVICE_UNAVAILABLE, UCOAP_CF_NONE, NULL, 0);
}

/* Send the separate responses that are due; returns ms to the next one. */
static void on_large(struct ucoap_ep *ep, const struct ucoap_msg *req,
		     const struct ucoap_addr *from, void *user)
{
	static const uint8_t etag[] = {0x1a, 0x12};
	struct ucoap_msg resp;

	if (req->code != UCOAP_GET) {
		respond(ep, UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
		return;
	}
	/*
	 * The whole body every time: the core sends the block asked for. A
	 * fixed ETag says it never changes (RFC 7959 §2.4).
	 */
	ucoap_msg_init(&resp, UCOAP_TYPE_ACK, UCOAP_CONTENT);
	ucoap_msg_add_opt(&resp, UCOAP_OPT_ETAG, etag, sizeof(etag));
	ucoap_msg_add_uint(&resp, UCOAP_OPT_CONTENT_FORMAT, UCOAP_CF_TEXT);
	resp.payload = (const uint8_t *)large_body;
	resp.payload_len = sizeof(large_body);
	if (ucoap_ep_respond(ep, &resp) < 0)
		fprintf(stderr, "ucoap_testserver: respond failed\n");
}

static void on_large_update(struct ucoap_ep *ep, const struct ucoap_msg *req,
			    const struct ucoap_addr *from, void *user)
{
	switch (req->code) {
	case UCOAP_GET:
		if (!large_store.present)
			respond(ep, UCOAP_NOT_FOUND, UCOAP_CF_NONE, NULL, 0);
		else
			respond(ep, UCOAP_CONTENT, UCOAP_CF_TEXT,
				large_store.buf, large_store.len);
		return;
	case UCOAP_PUT:
	case UCOAP_POST:
		if (req->payload_len > sizeof(large_store.buf)) {
			respond(ep, UCOAP_REQUEST_ENTITY_TOO_LARGE,
				UCOAP_CF_NONE, NULL, 0);
			return;
		}
		memcpy(large_store.buf, req->payload, req->payload_len);
		large_store.len = req->payload_len;
		large_store.present = true;
		respond(ep, UCOAP_CHANGED, UCOAP_CF_NONE, NULL, 0);
		return;
	default:
		respond(ep, UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
	}
}

static int send_due(struct ucoap_ep *ep)
{
	uint64_t now = now_ms();
	int next = -1;

	for (int i = 0; i < MAX_PENDING; i++) {
		struct ucoap_msg resp;

		if (!pending[i].used)
			continue;
		if (pending[i].due > now) {
			int wait = (int)(pending[i].due - now);

			if (next < 0 || wait < next)
				next = wait;
			continue;
		}
		ucoap_msg_init(&resp, UCOAP_TYPE_CON, UCOAP_CONTENT);
		ucoap_msg_add_uint(&resp, UCOAP_OPT_CONTENT_FORMAT,
				   UCOAP_CF_TEXT);
		resp.payload = (const uint8_t *)"separate";
		resp.payload_len = 8;
		if (ucoap_ep_respond_deferred(ep, &pending[i].d, &resp, NULL,
					      NULL) < 0)
			fprintf(stderr, "ucoap_testserver: separate response "
					"failed\n");
		pending[i].used = false;
	}
	return next;
}

static void on_obs(struct ucoap_ep *ep, const struct ucoap_msg *req,
		   const struct ucoap_addr *from, void *user)
{
	char text[32];
	uint32_t v;

	if (req->code == UCOAP_PUT) {
		snprintf(text, sizeof(text), "%.*s", (int)req->payload_len,
			 req->payload ? (const char *)req->payload : "");
		obs.n = strtol(text, NULL, 10);
		respond(ep, UCOAP_CHANGED, UCOAP_CF_NONE, NULL, 0);
		if (ucoap_ep_notify(ep, &obs, true, NULL) < 0)
			fprintf(stderr, "ucoap_testserver: notify failed\n");
		return;
	}
	if (req->code != UCOAP_GET) {
		respond(ep, UCOAP_METHOD_NOT_ALLOWED, UCOAP_CF_NONE, NULL, 0);
		return;
	}
	/* An observer past the table's size just gets the plain answer. */
	if (!ucoap_ep_notifying(ep) &&
	    ucoap_msg_get_uint(req, UCOAP_OPT_OBSERVE, &v) == 0 && v == 0)
		ucoap_ep_observe_accept(ep, &obs);
	snprintf(text, sizeof(text), "obs %ld", obs.n);
	respond(ep, UCOAP_CONTENT, UCOAP_CF_TEXT, text, strlen(text));
}

/* Change /obs when its time comes; returns ms until the next change. */
static int obs_tick(struct ucoap_ep *ep)
{
	uint64_t now = now_ms();

	if (now >= obs.next) {
		obs.n++;
		obs.next = now + OBS_PERIOD_MS;
		if (ucoap_ep_notify(ep, &obs, obs.n % 4 == 0, NULL) < 0)
			fprintf(stderr, "ucoap_testserver: notify failed\n");
	}
	return (int)(obs.next - now);
}

static void on_signal(int sig)
{
	stopping = 1;
}

static int serve_reset(const struct ucoap_addr *local)
{
	int fd = socket(local->ss.ss_family, SOCK_DGRAM, 0);
	uint8_t buf[1500], out[UCOAP_HEADER_LEN];

	if (fd < 0 ||
	    bind(fd, (const struct sockaddr *)&local->ss, local->len) < 0) {
		perror("ucoap_testserver: bind");
		if (fd >= 0)
			close(fd);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stopping) {
		struct ucoap_addr from = {.len = sizeof(from.ss)};
		struct ucoap_msg m, rst;
		size_t len;
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from.ss, &from.len);

		if (n < 0)
			continue; /* EINTR: check stopping */
		if (ucoap_msg_decode(&m, buf, (size_t)n) < 0 ||
		    m.type != UCOAP_TYPE_CON)
			continue;
		ucoap_msg_init(&rst, UCOAP_TYPE_RST, UCOAP_EMPTY);
		rst.mid = m.mid;
		if (ucoap_msg_encode(&rst, out, sizeof(out), &len) == 0)
			sendto(fd, out, len, 0, (struct sockaddr *)&from.ss,
			       from.len);
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *url;
		ucoap_request_cb cb;
	} resources[] = {
	    {"hello", on_hello}, {"store", on_store},
	    {"query", on_query}, {"echo", on_echo},
	    {"cf", on_cf},       {"separate", on_separate},
	    {"large", on_large}, {"large-update", on_large_update},
	    {"obs", on_obs},
	};
	struct sigaction sa = {.sa_handler = on_signal};
	struct ucoap_addr local;
	struct ucoap_ep *ep;
	bool reset_mode = argc > 1 && strcmp(argv[1], "--reset") == 0;
	char *end;
	long port;
	int rc = 1;

	if (reset_mode) {
		argc--;
		argv++;
	}
	if (argc < 2 || argc > 3) {
		fprintf(stderr,
			"usage: ucoap_testserver [--reset] PORT [BIND_ADDR]\n");
		return 2;
	}
	port = strtol(argv[1], &end, 10);
	if (*end || port < 1 || port > 65535 ||
	    ucoap_addr_set(&local, argc == 3 ? argv[2] : "::", (uint16_t)port) <
		0) {
		fprintf(stderr, "ucoap_testserver: bad address or port\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (reset_mode)
		return serve_reset(&local);
	/* 30 lines of 100 bytes: "line 07 xxxx...\n". */
	for (int i = 0; i < 30; i++) {
		char *l = large_body + i * 100;

		memset(l, 'a' + i % 26, 100);
		memcpy(l, "line ", 5);
		l[5] = (char)('0' + i / 10);
		l[6] = (char)('0' + i % 10);
		l[7] = ' ';
		l[99] = '\n';
	}

	ep = ucoap_ep_new(NULL, NULL, NULL);
	if (!ep)
		return 1;
	if (ucoap_ep_start_at(ep, &local) < 0) {
		fprintf(stderr, "ucoap_testserver: bind %s: %s\n", argv[1],
			strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
		if (ucoap_ep_add_request_callback(ep, resources[i].url,
						  resources[i].cb, NULL) < 0)
			goto fail;
	printf("ready\n");
	fflush(stdout);

	while (!stopping) {
		struct pollfd pfd = {.fd = ucoap_ep_fd(ep), .events = POLLIN};
		int wait = ucoap_ep_next_timeout(ep);
		int due = send_due(ep), change = obs_tick(ep);

		if (due >= 0 && (wait < 0 || due < wait))
			wait = due;
		if (wait < 0 || change < wait)
			wait = change;
		if (wait < 0 || wait > 200)
			wait = 200; /* notice a signal soon enough */
		if (poll(&pfd, 1, wait) < 0 && errno != EINTR)
			goto fail;
		if (ucoap_ep_process(ep, 0) < 0)
			goto fail;
	}
	rc = 0;
fail:
	ucoap_ep_free(ep);
	return rc;
}
