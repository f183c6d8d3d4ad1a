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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

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
    "       coapbridge-client observe [--count N] [--seconds S] "
    "[--get-after K]\n"
    "                                 [OPTIONS] URI\n"
    "       coapbridge-client discover [OPTIONS] coap://HOST[:PORT][?FILTER]"
    "\n"
    "       coapbridge-client ping [OPTIONS] coap://HOST[:PORT]\n"
    "ping sends an empty CON (a CoAP ping) and prints \"pong\" when the "
    "RST comes.\n"
    "observe prints every notification (RFC 7641) until N came, S seconds "
    "passed,\n"
    "the server ended it or SIGINT/SIGTERM, then cancels it (GET with "
    "Observe 1).\n"
    "--get-after K: after the Kth notification, also send a plain GET of "
    "the URI\n"
    "on another token and print its answer after \"get: \"; the "
    "observation goes on.\n"
    "discover prints the server's /.well-known/core (RFC 6690), filtered "
    "by the\n"
    "query (rt=..., if=..., href=...).\n"
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
    "  -A, --accept FMT            Accept option: a Content-Format as for "
    "-c\n"
    "      --if-match ETAG         If-Match option (hex; \"\" matches any)\n"
    "      --if-none-match         If-None-Match option\n"
    "      --etag ETAG             ETag option (hex): is my copy still valid?\n"
    "      --token HEX             the request's token, 0-8 bytes in hex "
    "(\"\": "
    "none;\n"
    "                              default: 4 random bytes; not for observe)\n"
    "  -v, --verbose               print every option of the answer\n"
    "  -t, --timeout S             give up after S seconds (default 10; "
    "observe:\n"
    "                              for the first answer)\n"
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
	bool verbose;
	bool observing; /* observe: the observation is open */
	bool pinging;   /* ping: the RST is the answer wanted */
	bool answered;  /* the callback ran at least once */
	unsigned notifications, max_notifications;
	const char *label; /* printed before the code ("get: ") */
};

static const char *const subcommands[] = {"observe", "discover", "ping"};
enum { CMD_REQUEST, CMD_OBSERVE, CMD_DISCOVER, CMD_PING };

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

/* -v: one line per option, "Name: value", in the order they came. */
static void print_options(const struct ucoap_msg *m)
{
	for (uint16_t i = 0; i < m->opt_count; i++) {
		const struct ucoap_opt *o = &m->opts[i];
		const struct ucoap_opt_info *info = ucoap_opt_info(o->num);
		const uint8_t *v = ucoap_opt_value(o);

		if (info)
			printf("%s: ", info->name);
		else
			printf("Option %u: ", o->num);
		if (info && info->format == UCOAP_FMT_UINT)
			printf("%u", ucoap_uint_decode(v, o->len));
		else if (info && info->format == UCOAP_FMT_STRING)
			fwrite(v, 1, o->len, stdout);
		else
			for (uint32_t j = 0; j < o->len; j++)
				printf("%s%02x", j ? "" : "0x", v[j]);
		putchar('\n');
	}
}

/* The completion callback: runs exactly once, from ucoap_ep_process(). */
static void on_response(struct ucoap_ep *ep, int status,
			const struct ucoap_msg *resp,
			const struct ucoap_addr *from, void *user)
{
	struct outcome *out = user;
	char code[8];
	const char *name;

	if (out->observing) {
		/* RFC 7641: our own cancel's last call changes nothing. */
		if (status == UCOAP_ERR_CANCELLED)
			return;
		/* A response without Observe ends the observation. */
		if (status < 0 || !ucoap_msg_find(resp, UCOAP_OPT_OBSERVE))
			out->observing = false;
	}
	out->done = true;
	out->answered = true;
	if (status == UCOAP_ERR_RST) {
		/* §4.3: a peer that is alive rejects an empty CON with RST. */
		if (out->pinging) {
			printf("pong\n");
			fflush(stdout);
			out->exit_status = 0;
			return;
		}
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
	printf("%s%s%s%s\n", out->label ? out->label : "",
	       ucoap_code_str(resp->code, code), name ? " " : "",
	       name ? name : "");
	if (out->verbose)
		print_options(resp);
	if (resp->payload_len) {
		fwrite(resp->payload, 1, resp->payload_len, stdout);
		if (resp->payload[resp->payload_len - 1] != '\n')
			putchar('\n');
	}
	fflush(stdout);
	out->exit_status =
	    UCOAP_CODE_CLASS(resp->code) == 2 ? EXIT_2XX : EXIT_NOT_2XX;
	/* Observing: done only when N notifications came. */
	if (out->observing) {
		out->notifications++;
		out->done = out->max_notifications &&
			    out->notifications >= out->max_notifications;
	}
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
 * observe --get-after: a plain GET of the observed resource on a token of
 * its own, sent once the observation has had @after notifications
 * (RFC 7641 §3.1: it must not cancel the observation).
 */
struct plain_get {
	unsigned after;
	bool sent;
	struct ucoap_msg req; /* the observation's request before Observe */
	const struct ucoap_addr *to;
	uint32_t timeout_ms;
	struct outcome out;
	uint16_t mid;
};

static void plain_get_send(struct ucoap_ep *ep, const struct outcome *obs,
			   struct plain_get *g)
{
	int rc;

	if (!g || g->sent || obs->notifications < g->after)
		return;
	g->sent = true;
	/* Token length 0: the endpoint draws a fresh random token. */
	g->req.token_len = 0;
	g->req.mid = 0;
	rc = ucoap_ep_request(ep, g->to, &g->req, g->timeout_ms, on_response,
			      &g->out, &g->mid);
	if (rc < 0) {
		fprintf(stderr, "coapbridge-client: get: %s\n",
			ucoap_strerror(rc));
		g->out.exit_status = EXIT_ERROR;
		g->out.done = true;
	}
}

/*
 * Drive @ep until @out is done, @deadline (CLOCK_MONOTONIC ms; 0: none)
 * passes, a signal arrives on @sfd, or (@until_answer) the first answer
 * came; @get (or NULL) goes out on its cue. Returns 0 (done), 1
 * (deadline), 2 (signal) or -1 on a socket error.
 */
static int run(struct ucoap_ep *ep, struct outcome *out, uint64_t deadline,
	       int sfd, bool until_answer, struct plain_get *get)
{
	struct pollfd pfd[2] = {{.fd = ucoap_ep_fd(ep), .events = POLLIN},
				{.fd = sfd, .events = POLLIN}};

	while (!out->done && !(until_answer && out->answered)) {
		uint64_t now = now_ms();
		int wait = ucoap_ep_next_timeout(ep);

		if (deadline && now >= deadline)
			return 1;
		if (deadline && (wait < 0 || (uint64_t)wait > deadline - now))
			wait = (int)(deadline - now);
		if (poll(pfd, 2, wait) < 0 && errno != EINTR) {
			perror("coapbridge-client: poll");
			return -1;
		}
		if (pfd[1].revents & POLLIN)
			return 2;
		if (ucoap_ep_process(ep, 0) < 0) {
			perror("coapbridge-client: receive");
			return -1;
		}
		plain_get_send(ep, out, get);
	}
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * An --if-match, --etag or --token value: hex (an optional 0x), 0-8 bytes.
 * Digit by digit, not strtoul: that takes a sign or blanks ("-1", "+1",
 * " 1") as a number, and a mistyped value must not become some other
 * ETag or token.
 */
static int parse_hex(const char *s, uint8_t out[8], size_t *len)
{
	size_t n = 0;

	if (strncmp(s, "0x", 2) == 0)
		s += 2;
	for (; s[0] && s[1] && n < 8; s += 2) {
		int hi = hex_digit(s[0]), lo = hex_digit(s[1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	*len = n;
	return *s ? -1 : 0;
}

/* A --count or --get-after value: decimal digits only, 1 to 1000000. */
static int parse_count(const char *s, unsigned *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 1000000)
			return -1;
	}
	*out = (unsigned)v;
	return v ? 0 : -1;
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
	    {"accept", required_argument, NULL, 'A'},
	    {"if-match", required_argument, NULL, 'M'},
	    {"if-none-match", no_argument, NULL, 'I'},
	    {"etag", required_argument, NULL, 'E'},
	    {"token", required_argument, NULL, 'T'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"count", required_argument, NULL, 'C'},
	    {"seconds", required_argument, NULL, 'S'},
	    {"get-after", required_argument, NULL, 'G'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static struct client_uri uri;
	static struct ucoap_msg req;
	static struct plain_get get = {.out.label = "get: "};
	struct ucoap_ep_config cfg;
	struct ucoap_addr to, local;
	struct outcome out = {0};
	const char *payload = NULL, *payload_file = NULL, *why;
	uint8_t *file_body = NULL;
	size_t file_len = 0;
	long block_size = 0;
	int szx = UCOAP_BLOCK_SZX_MAX;
	double timeout_s = DEFAULT_TIMEOUT_S, seconds = 0;
	int accept = UCOAP_CF_NONE, cmd = CMD_REQUEST, sfd = -1;
	uint8_t etag[8];
	size_t etag_len = 0;
	uint8_t req_etag[8], token[UCOAP_TOKEN_MAX];
	size_t req_etag_len = 0, token_len = 0;
	bool if_match = false, if_none_match = false, has_etag = false;
	bool has_token = false;
	uint32_t handle = 0;
	uint64_t deadline;
	sigset_t sigs;
	uint8_t type = UCOAP_TYPE_CON, method = 0;
	int cf = UCOAP_CF_NONE, opt, rc;
	struct ucoap_ep *ep;
	uint16_t mid = 0;
	char *end;

	while ((opt = getopt_long(argc, argv, ":nc:p:f:b:t:A:vh", longopts,
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
		case 'A':
			accept = parse_format(optarg);
			if (accept < 0)
				return usage_error("bad accept format '%s'",
						   optarg);
			break;
		case 'M':
			if (parse_hex(optarg, etag, &etag_len) < 0)
				return usage_error("bad ETag '%s' (1-8 bytes "
						   "in hex)",
						   optarg);
			if_match = true;
			break;
		case 'I':
			if_none_match = true;
			break;
		case 'E':
			if (parse_hex(optarg, req_etag, &req_etag_len) < 0 ||
			    !req_etag_len)
				return usage_error("bad ETag '%s' (1-8 bytes "
						   "in hex)",
						   optarg);
			has_etag = true;
			break;
		case 'T':
			if (parse_hex(optarg, token, &token_len) < 0)
				return usage_error("bad token '%s' (0-8 bytes "
						   "in hex)",
						   optarg);
			has_token = true;
			break;
		case 'v':
			out.verbose = true;
			break;
		case 'C':
			if (parse_count(optarg, &out.max_notifications) < 0)
				return usage_error("bad count '%s' (1 to "
						   "1000000)",
						   optarg);
			break;
		case 'G':
			if (parse_count(optarg, &get.after) < 0)
				return usage_error("bad --get-after '%s' (1 to "
						   "1000000)",
						   optarg);
			break;
		case 'S':
			seconds = strtod(optarg, &end);
			if (end == optarg || *end || !(seconds > 0) ||
			    seconds > 86400 * 365)
				return usage_error("bad seconds '%s'", optarg);
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
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]);
	     i++)
		if (strcasecmp(argv[optind], subcommands[i]) == 0) {
			cmd = CMD_OBSERVE + (int)i;
			method = UCOAP_GET;
		}
	if ((out.max_notifications || seconds || get.after) &&
	    cmd != CMD_OBSERVE)
		return usage_error("%s", "--count, --seconds and --get-after "
					 "are for observe");
	if (!method)
		return usage_error("unknown method '%s'", argv[optind]);
	/* RFC 7641 §3.1: the observation's token is the endpoint's own. */
	if (has_token && cmd == CMD_OBSERVE)
		return usage_error("%s", "--token is not for observe");
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
	/* discover: the URI's path gives way to /.well-known/core (§4). */
	if (client_uri_to_msg(&uri, &req) < 0 ||
	    (cmd == CMD_DISCOVER &&
	     (ucoap_msg_del_opt(&req, UCOAP_OPT_URI_PATH),
	      ucoap_msg_add_opt(&req, UCOAP_OPT_URI_PATH, ".well-known", 11) <
		      0 ||
		  ucoap_msg_add_opt(&req, UCOAP_OPT_URI_PATH, "core", 4) <
		      0)) ||
	    (cf != UCOAP_CF_NONE &&
	     ucoap_msg_add_uint(&req, UCOAP_OPT_CONTENT_FORMAT, (uint32_t)cf) <
		 0) ||
	    (accept != UCOAP_CF_NONE &&
	     ucoap_msg_add_uint(&req, UCOAP_OPT_ACCEPT, (uint32_t)accept) <
		 0) ||
	    (if_match &&
	     ucoap_msg_add_opt(&req, UCOAP_OPT_IF_MATCH, etag, etag_len) < 0) ||
	    (if_none_match &&
	     ucoap_msg_add_opt(&req, UCOAP_OPT_IF_NONE_MATCH, NULL, 0) < 0) ||
	    (has_etag && ucoap_msg_add_opt(&req, UCOAP_OPT_ETAG, req_etag,
					   req_etag_len) < 0)) {
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
	/* The observation, and the plain GET of --get-after beside it. */
	cfg.max_exchanges = get.after ? 2 : 1;
	cfg.max_body_size = MAX_BODY;
	/*
	 * A block-wise transfer for each request at once: the --get-after
	 * GET's, and the observation's follow-up GETs for a notification
	 * larger than a block (RFC 7959 §2.6).
	 */
	cfg.max_block_requests = cfg.max_exchanges;
	cfg.max_block_transfers = cfg.max_exchanges;
	cfg.block_szx = (uint32_t)szx;
	cfg.request_timeout_ms = (uint32_t)(timeout_s * 1000 + 0.5);
	ep = ucoap_ep_new(&cfg, NULL, NULL);
	if (!ep) {
		fprintf(stderr, "coapbridge-client: out of memory\n");
		free(file_body);
		return EXIT_ERROR;
	}
	/* SIGINT/SIGTERM end an observation cleanly (poll sees them). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (cmd == CMD_OBSERVE && sigprocmask(SIG_BLOCK, &sigs, NULL) == 0)
		sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	/* An ephemeral port of the destination's address family. */
	rc = ucoap_addr_set(&local,
			    to.ss.ss_family == AF_INET6 ? "::" : "0.0.0.0", 0);
	if (rc == 0)
		rc = ucoap_ep_start_at(ep, &local);
	if (rc == 0 && cmd == CMD_PING) {
		out.pinging = true;
		rc = ucoap_ep_ping(ep, &to, on_response, &out, &mid);
	} else if (rc == 0 && cmd == CMD_OBSERVE) {
		out.observing = true;
		get.req = req; /* before Observe and the token go in */
		get.to = &to;
		get.timeout_ms = cfg.request_timeout_ms;
		get.out.verbose = out.verbose;
		rc =
		    ucoap_ep_observe(ep, &to, &req, on_response, &out, &handle);
	} else if (rc == 0 && has_token && !token_len) {
		/* RFC 7252 §5.3.1: a zero-length token, sent as it is. */
		rc = ucoap_ep_request_as_is(ep, &to, &req,
					    cfg.request_timeout_ms, on_response,
					    &out, &mid);
	} else if (rc == 0) {
		/* A given token is used as given, else a random one. */
		req.token_len = (uint8_t)token_len;
		memcpy(req.token, token, token_len);
		rc = ucoap_ep_request(ep, &to, &req, cfg.request_timeout_ms,
				      on_response, &out, &mid);
	}
	if (rc == 0 && cmd == CMD_OBSERVE) {
		/*
		 * The first answer within --timeout, then notifications until
		 * --count, --seconds, the server's end or a signal.
		 */
		deadline = now_ms() + cfg.request_timeout_ms;
		rc =
		    run(ep, &out, deadline, sfd, true, get.after ? &get : NULL);
		if (rc == 0 && out.observing) {
			out.done = out.max_notifications &&
				   out.notifications >= out.max_notifications;
			deadline =
			    seconds ? now_ms() + (uint64_t)(seconds * 1000) : 0;
			rc = run(ep, &out, deadline, sfd, false,
				 get.after ? &get : NULL);
		} else if (rc == 1) {
			out.exit_status = EXIT_TIMEOUT;
		}
		/* RFC 7641 §3.6: tell the server we are gone. */
		if (out.observing)
			ucoap_ep_observe_cancel(ep, handle);
		/* The plain GET's answer is awaited, not cut off. */
		if (rc == 0 && get.sent && !get.out.done)
			rc = run(ep, &get.out, now_ms() + get.timeout_ms, sfd,
				 false, NULL);
		if (rc > 0)
			rc = 0;
	} else if (rc == 0) {
		rc = run(ep, &out, now_ms() + cfg.request_timeout_ms, sfd,
			 false, NULL);
		/* At the deadline: cancel, so the callback runs once. */
		if (rc == 1)
			ucoap_ep_cancel(ep, mid);
		if (rc > 0)
			rc = 0;
	} else {
		fprintf(stderr, "coapbridge-client: %s: %s\n", argv[optind + 1],
			ucoap_strerror(rc));
	}
	ucoap_ep_free(ep);
	if (sfd >= 0)
		close(sfd);
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
