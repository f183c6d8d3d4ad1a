/*
 * ucoap_observe: observe a resource with the core's client role (RFC 7641)
 * for interop tests.
 *
 *   ucoap_observe ADDR:PORT PATH COUNT SECONDS
 *
 * Prints "N PAYLOAD" per notification (N its Observe number) until COUNT
 * arrived, then cancels (GET Observe 1) and exits 0. Exits 1 when the
 * observation ends early (error, final response) or SECONDS pass first.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ucoap/endpoint.h>

static unsigned seen, want;
static bool over;

static void on_note(struct ucoap_ep *ep, int status, const struct ucoap_msg *m,
		    const struct ucoap_addr *from, void *user)
{
	uint32_t v;

	(void)ep;
	(void)from;
	(void)user;
	if (status != 0) {
		if (status != UCOAP_ERR_CANCELLED)
			fprintf(stderr, "ucoap_observe: %s\n",
				ucoap_strerror(status));
		over = true;
		return;
	}
	if (ucoap_msg_get_uint(m, UCOAP_OPT_OBSERVE, &v) < 0) {
		char code[8];

		fprintf(stderr, "ucoap_observe: final %s: %.*s\n",
			ucoap_code_str(m->code, code), (int)m->payload_len,
			m->payload ? (const char *)m->payload : "");
		over = true;
		return;
	}
	printf("%u %.*s\n", (unsigned)v, (int)m->payload_len,
	       m->payload ? (const char *)m->payload : "");
	fflush(stdout);
	seen++;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	struct ucoap_addr to, local;
	struct ucoap_msg req;
	struct ucoap_ep *ep;
	uint32_t handle;
	uint64_t end;
	int rc = 1;

	if (argc != 5 || ucoap_addr_parse(&to, argv[1], 5683) < 0) {
		fprintf(stderr,
			"usage: ucoap_observe ADDR:PORT PATH COUNT SECONDS\n");
		return 2;
	}
	want = (unsigned)atoi(argv[3]);
	end = now_ms() + (uint64_t)atoi(argv[4]) * 1000;
	ep = ucoap_ep_new(NULL, NULL, NULL);
	if (!ep)
		return 1;
	ucoap_addr_set(&local, to.ss.ss_family == AF_INET6 ? "::" : "0.0.0.0",
		       0);
	if (ucoap_ep_start_at(ep, &local) < 0)
		goto out;
	ucoap_msg_init(&req, UCOAP_TYPE_CON, UCOAP_GET);
	if (ucoap_msg_set_uri(&req, argv[2]) < 0 ||
	    ucoap_ep_observe(ep, &to, &req, on_note, NULL, &handle) < 0)
		goto out;
	while (!over && seen < want && now_ms() < end) {
		struct pollfd p = {.fd = ucoap_ep_fd(ep), .events = POLLIN};
		int wait = ucoap_ep_next_timeout(ep);

		if (wait < 0 || wait > 100)
			wait = 100;
		poll(&p, 1, wait);
		if (ucoap_ep_process(ep, 0) < 0)
			goto out;
	}
	if (seen >= want) {
		rc = 0;
		ucoap_ep_observe_cancel(ep, handle);
		/* Let the deregistration's answer come back. */
		for (int i = 0; i < 10 && ucoap_ep_next_timeout(ep) >= 0; i++) {
			struct pollfd p = {.fd = ucoap_ep_fd(ep),
					   .events = POLLIN};

			poll(&p, 1, 50);
			ucoap_ep_process(ep, 0);
		}
	}
out:
	ucoap_ep_free(ep);
	return rc;
}
