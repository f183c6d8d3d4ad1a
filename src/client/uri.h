/*
 * client_uri: a coap:// URI taken apart the way RFC 7252 §6.4 says a
 * client turns it into a destination and request options.
 */
#ifndef CLIENT_URI_H
#define CLIENT_URI_H

#include <stdbool.h>
#include <stdint.h>

#include <ucoap/msg.h>

/* Longest URI accepted; far more than one datagram could carry anyway. */
#define CLIENT_URI_MAX 1024

struct client_uri {
	char host[CLIENT_URI_MAX]; /* no brackets, percent-decoded */
	uint16_t port;             /* 5683 when the URI has none */
	bool host_is_literal; /* IPv4 or [IPv6]: no Uri-Host (§6.4 step 5) */
	bool host_is_v6;      /* written as [IPv6] */
	/* Percent-decoded path segments and query arguments, NUL-separated. */
	char buf[CLIENT_URI_MAX];
	uint16_t n_path, n_query;
	const char *path[UCOAP_MAX_OPTIONS];
	uint16_t path_len[UCOAP_MAX_OPTIONS];
	const char *query[UCOAP_MAX_OPTIONS];
	uint16_t query_len[UCOAP_MAX_OPTIONS];
};

/*
 * Parse @text into @u. On failure returns a negative value and points
 * *@why at a static English reason ("bad percent-encoding"...).
 */
int client_uri_parse(struct client_uri *u, const char *text, const char **why);

/*
 * Add the Uri-Host (names only), Uri-Path and Uri-Query options of @u to
 * @m. The option values are views into @u, which must outlive @m.
 * Returns 0 or a ucoap error (too many options).
 */
int client_uri_to_msg(const struct client_uri *u, struct ucoap_msg *m);

#endif
