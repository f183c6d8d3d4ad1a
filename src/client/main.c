/*
 * coapbridge-client: send one CoAP request and print the answer.
 *
 * Also the smallest complete example of the ucoap core in the client role:
 * create an endpoint, bind it, send a request with a completion callback,
 * and drive the endpoint from poll(2) until the callback has run.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <ucoap/block.h>
#include <ucoap/endpoint.h>

#include "uri.h"

/* Exit statuses; the usage text below documents them. */
enum {
	EXIT_2XX = 0,
	EXIT_NOT_2XX = 1,
	EXIT_USAGE = 2,
	EXIT_TIMEOUT = 3,
	EXIT_RESET = 4,
	EXIT_ERROR = 5,
};

#define DEFAULT_TIMEOUT_S 10.0
/* The largest body sent (-f) or received, block-wise (RFC 7959). */
#define MAX_BODY (1024 * 1024)

static const char usage_text[] =
    "usage: coapbridge-client get|put|post|delete [OPTIONS] "
    "coap://HOST[:PORT]/PATH?QUERY\n"
    "  -n, --non                   send a NON request (default: CON, "
    "retransmitted)\n"
    "  -c, --content-format FMT    Content-Format of the payload: 0-65535 "
    "or\n"
    "                              text, link, xml, octet, json, cbor,\n"
    "                              senml+json, senml+cbor\n"
    "  -p, --payload DATA          request payload\n"
    "  -f, --payload-file FILE     request payload from FILE ('-': "
    "standard input)\n"
    "  -b, --block-size SIZE       block size for Block1/Block2 (RFC "
    "7959):\n"
    "                              16, 32, 64, 128, 256, 512 or 1024 "
    "(default)\n"
    "  -t, --timeout S             give up after S seconds (default 10)\n"
    "  -h, --help                  show this help\n"
    "HOST is an IPv4 address, an [IPv6] address or a name; PORT defaults "
    "to 5683.\n"
    "Prints the response code (\"2.05 Content\") and the payload.\n"
    "Payloads larger than a block go block-wise, and so do answers (up to "
    "1 MiB).\n"
    "Exit status: 0 for a 2.xx answer, 1 for any other answer, 2 for "
    "usage\n"
    "errors, 3 on timeout, 4 when the server answered with Reset, 5 for "
    "other\n"
    "errors.\n";

static const struct {
	const char *name;
	uint8_t code;
} methods[] = {
    {"get", UCOAP_GET},
    {"put", UCOAP_PUT},
    {"post", UCOAP_POST},
    {"delete", UCOAP_DELETE},
};

/* Content-Format names, RFC 7252 §12.3 and the IANA registry. */
static const struct {
	const char *name;
	int cf;
} formats[] = {
    {"text", UCOAP_CF_TEXT},
    {"link", UCOAP_CF_LINK_FORMAT},
    {"xml", UCOAP_CF_XML},
    {"octet", UCOAP_CF_OCTET_STREAM},
    {"json", UCOAP_CF_JSON},
    {"cbor", UCOAP_CF_CBOR},
    {"senml+json", UCOAP_CF_SENML_JSON},
    {"senml+cbor", UCOAP_CF_SENML_CBOR},
};

/* Response code names, RFC 7252 §5.9 and §12.1.2. */
static const struct {
	uint8_t code;
	const char *name;
} code_names[] = {
    {UCOAP_CREATED, "Created"},
    {UCOAP_DELETED, "Deleted"},
    {UCOAP_VALID, "Valid"},
    {UCOAP_CHANGED, "Changed"},
    {UCOAP_CONTENT, "Content"},
    {UCOAP_CONTINUE, "Continue"},
    {UCOAP_BAD_REQUEST, "Bad Request"},
    {UCOAP_UNAUTHORIZED, "Unauthorized"},
    {UCOAP_BAD_OPTION, "Bad Option"},
    {UCOAP_FORBIDDEN, "Forbidden"},
    {UCOAP_NOT_FOUND, "Not Found"},
    {UCOAP_METHOD_NOT_ALLOWED, "Method Not Allowed"},
    {UCOAP_NOT_ACCEPTABLE, "Not Acceptable"},
    {UCOAP_REQUEST_ENTITY_INCOMPLETE, "Request Entity Incomplete"},
    {UCOAP_PRECONDITION_FAILED, "Precondition Failed"},
    {UCOAP_REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large"},
    {UCOAP_UNSUPPORTED_CONTENT_FORMAT, "Unsupported Content-Format"},
    {UCOAP_INTERNAL_SERVER_ERROR, "Internal Server Error"},
    {UCOAP_NOT_IMPLEMENTED, "Not Implemented"},
    {UCOAP_BAD_GATEWAY, "Bad Gateway"},
    {UCOAP_SERVICE_UNAVAILABLE, "Service Unavailable"},
    {UCOAP_GATEWAY_TIMEOUT, "Gateway Timeout"},
    {UCOAP_PROXYING_NOT_SUPPORTED, "Proxying Not Supported"},
};

struct outcome {
	bool done;
	int exit_status;
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "coapbridge-client: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage_text);
	return EXIT_USAGE;
}

static int parse_format(const char *s)
{
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcasecmp(s, formats[i].name) == 0)
			return formats[i].cf;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 65535)
		return -1;
	return (int)v;
}

static const char *code_name(uint8_t code)
{
	for (size_t i = 0; i < sizeof(code_names) / sizeof(code_names[0]); i++)
		if (code_names[i].code == code)
			return code_names[i].name;
	return NULL;
}

/* The completion callback: runs exactly once, from ucoap_ep_process(). */
static void on_response(struct ucoap_ep *ep, int status,
			const struct ucoap_msg *resp,
			const struct ucoap_addr *from, void *user)
{
	struct outcome *out = user;
	char code[8];
	const char *name;

	out->done = true;
	if (status == UCOAP_ERR_RST) {
		out->exit_status = EXIT_RESET;
		return;
	}
	if (status == UCOAP_ERR_TIMEOUT || status == UCOAP_ERR_CANCELLED) {
		/* Timeout, or our own cancel at the deadline. */
		out->exit_status = EXIT_TIMEOUT;
		return;
	}
	if (status < 0) {
		/* A block-wise answer too large, or with blocks that clash. */
		fprintf(stderr, "coapbridge-client: %s\n",
			ucoap_strerror(status));
		out->exit_status = EXIT_ERROR;
		return;
	}
	name = code_name(resp->code);
	printf("%s%s%s\n", ucoap_code_str(resp->code, code), name ? " " : "",
	       name ? name : "");
	if (resp->payload_len) {
		fwrite(resp->payload, 1, resp->payload_len, stdout);
		if (resp->payload[resp->payload_len - 1] != '\n')
			putchar('\n');
	}
	out->exit_status =
	    UCOAP_CODE_CLASS(resp->code) == 2 ? EXIT_2XX : EXIT_NOT_2XX;
}

/* Resolve @u's host (a literal or a name) to a UDP destination. */
static int resolve(const struct client_uri *u, struct ucoap_addr *to)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
				 .ai_protocol = IPPROTO_UDP};
	struct addrinfo *res;
	int rc;

	if (u->host_is_literal)
		hints.ai_flags = AI_NUMERICHOST;
	rc = getaddrinfo(u->host, NULL, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "coapbridge-client: %s: %s\n", u->host,
			gai_strerror(rc));
		return -1;
	}
	memset(to, 0, sizeof(*to));
	memcpy(&to->ss, res->ai_addr, res->ai_addrlen);
	to->len = res->ai_addrlen;
	if (to->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&to->ss)->sin6_port = htons(u->port);
	else
		((struct sockaddr_in *)&to->ss)->sin_port = htons(u->port);
	freeaddrinfo(res);
	return 0;
}

/* Read all of @path ("-": standard input) into a new buffer. */
static uint8_t *read_payload(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n;

	if (!f) {
		fprintf(stderr, "coapbridge-client: %s: %s\n", path,
			strerror(errno));
		return NULL;
	}
	/* One byte more than allowed tells a too large file. */
	buf = malloc(MAX_BODY + 1);
	if (!buf) {
		fprintf(stderr, "coapbridge-client: out of memory\n");
		goto out;
	}
	n = fread(buf, 1, MAX_BODY + 1, f);
	if (ferror(f) || n > MAX_BODY) {
		fprintf(stderr, "coapbridge-client: %s: %s\n", path,
			ferror(f) ? strerror(errno) : "larger than 1 MiB");
		free(buf);
		buf = NULL;
		goto out;
	}
	*len = n;
out:
	if (f != stdin)
		fclose(f);
	return buf;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Drive @ep until @out is done or @timeout_ms have passed; then cancel the
 * request, so its callback still runs exactly once.
 */
static int run(struct ucoap_ep *ep, uint16_t mid, struct outcome *out,
	       uint32_t timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	struct pollfd pfd = {.fd = ucoap_ep_fd(ep), .events = POLLIN};

	while (!out->done) {
		uint64_t now = now_ms();
		int wait = ucoap_ep_next_timeout(ep);

		if (now >= deadline) {
			ucoap_ep_cancel(ep, mid);
			break;
		}
		if (wait < 0 || (uint64_t)wait > deadline - now)
			wait = (int)(deadline - now);
		if (poll(&pfd, 1, wait) < 0 && errno != EINTR) {
			perror("coapbridge-client: poll");
			return -1;
		}
		if (ucoap_ep_process(ep, 0) < 0) {
			perror("coapbridge-client: receive");
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"non", no_argument, NULL, 'n'},
	    {"content-format", required_argument, NULL, 'c'},
	    {"payload", required_argument, NULL, 'p'},
	    {"payload-file", required_argument, NULL, 'f'},
	    {"block-size", required_argument, NULL, 'b'},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static struct client_uri uri;
	static struct ucoap_msg req;
	struct ucoap_ep_config cfg;
	struct ucoap_addr to, local;
	struct outcome out = {0};
	const char *payload = NULL, *payload_file = NULL, *why;
	uint8_t *file_body = NULL;
	size_t file_len = 0;
	long block_size = 0;
	int szx = UCOAP_BLOCK_SZX_MAX;
	double timeout_s = DEFAULT_TIMEOUT_S;
	uint8_t type = UCOAP_TYPE_CON, method = 0;
	int cf = UCOAP_CF_NONE, opt, rc;
	struct ucoap_ep *ep;
	uint16_t mid = 0;
	char *end;

	while ((opt = getopt_long(argc, argv, ":nc:p:f:b:t:h", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'n':
			type = UCOAP_TYPE_NON;
			break;
		case 'c':
			cf = parse_format(optarg);
			if (cf < 0)
				return usage_error("bad content format '%s'",
						   optarg);
			break;
		case 'p':
			payload = optarg;
			break;
		case 'f':
			payload_file = optarg;
			break;
		case 'b':
			block_size = strtol(optarg, &end, 10);
			szx = end != optarg && !*end
				  ? ucoap_block_szx((size_t)block_size)
				  : -1;
			if (szx < 0 || block_size > 1024 ||
			    ucoap_block_size((uint8_t)szx) !=
				(size_t)block_size)
				return usage_error(
				    "bad block size '%s' (16, 32, 64, 128, "
				    "256, 512 or 1024)",
				    optarg);
			break;
		case 't':
			timeout_s = strtod(optarg, &end);
			if (end == optarg || *end || !(timeout_s > 0) ||
			    timeout_s > 86400)
				return usage_error("bad timeout '%s' (seconds, "
						   "> 0, at most 86400)",
						   optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case ':':
			return usage_error("option '%s' needs a value",
					   argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return usage_error("%s", argc - optind < 2
					     ? "a method and a URI are needed"
					     : "too many arguments");
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcasecmp(argv[optind], methods[i].name) == 0)
			method = methods[i].code;
	if (!method)
		return usage_error("unknown method '%s'", argv[optind]);
	if (payload && payload_file)
		return usage_error("%s", "-p and -f exclude each other");
	if (client_uri_parse(&uri, argv[optind + 1], &why) < 0) {
		fprintf(stderr, "coapbridge-client: %s: %s\n%s",
			argv[optind + 1], why, usage_text);
		return EXIT_USAGE;
	}
	if (resolve(&uri, &to) < 0)
		return EXIT_ERROR;

	ucoap_msg_init(&req, type, method);
	if (client_uri_to_msg(&uri, &req) < 0 ||
	    (cf != UCOAP_CF_NONE &&
	     ucoap_msg_add_uint(&req, UCOAP_OPT_CONTENT_FORMAT, (uint32_t)cf) <
		 0)) {
		fprintf(stderr, "coapbridge-client: too many options\n");
		return EXIT_USAGE;
	}
	/*
	 * RFC 7959 §2.4: with -b, ask for that block size up front; a body
	 * larger than a block goes block by block at that size (§2.3).
	 */
	if (block_size) {
		struct ucoap_block b = {0, false, (uint8_t)szx};

		if (method == UCOAP_GET &&
		    ucoap_msg_add_block(&req, UCOAP_OPT_BLOCK2, &b) < 0) {
			fprintf(stderr,
				"coapbridge-client: too many options\n");
			return EXIT_USAGE;
		}
	}
	if (payload_file) {
		file_body = read_payload(payload_file, &file_len);
		if (!file_body)
			return EXIT_ERROR;
		req.payload = file_len ? file_body : NULL;
		req.payload_len = file_len;
	} else if (payload && *payload) {
		req.payload = (const uint8_t *)payload;
		req.payload_len = strlen(payload);
	}

	ucoap_ep_config_init(&cfg);
	cfg.max_exchanges = 1;
	cfg.max_body_size = MAX_BODY;
	cfg.max_block_requests = 1;
	cfg.max_block_transfers = 1;
	cfg.block_szx = (uint32_t)szx;
	cfg.request_timeout_ms = (uint32_t)(timeout_s * 1000 + 0.5);
	ep = ucoap_ep_new(&cfg, NULL, NULL);
	if (!ep) {
		fprintf(stderr, "coapbridge-client: out of memory\n");
		free(file_body);
		return EXIT_ERROR;
	}
	/* An ephemeral port of the destination's address family. */
	rc = ucoap_addr_set(&local,
			    to.ss.ss_family == AF_INET6 ? "::" : "0.0.0.0", 0);
	if (rc == 0)
		rc = ucoap_ep_start_at(ep, &local);
	if (rc == 0)
		rc = ucoap_ep_request(ep, &to, &req, cfg.request_timeout_ms,
				      on_response, &out, &mid);
	if (rc == 0)
		rc = run(ep, mid, &out, cfg.request_timeout_ms);
	else
		fprintf(stderr, "coapbridge-client: %s: %s\n", argv[optind + 1],
			ucoap_strerror(rc));
	ucoap_ep_free(ep);
	free(file_body);
	if (rc < 0)
		return EXIT_ERROR;

	if (out.exit_status == EXIT_TIMEOUT)
		fprintf(stderr,
			"coapbridge-client: timeout: no answer from %s%s%s:%u "
			"after %g s\n",
			uri.host_is_v6 ? "[" : "", uri.host,
			uri.host_is_v6 ? "]" : "", uri.port, timeout_s);
	else if (out.exit_status == EXIT_RESET)
		fprintf(stderr,
			"coapbridge-client: reset: %s%s%s:%u answered with "
			"RST\n",
			uri.host_is_v6 ? "[" : "", uri.host,
			uri.host_is_v6 ? "]" : "", uri.port);
	return out.exit_status;
}
