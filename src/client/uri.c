/*
 * client_uri: parse coap://HOST[:PORT]/PATH?QUERY per RFC 7252 §6.4.
 *
 * Only what a request needs is kept: the destination (host, port) and the
 * decoded path segments and query arguments, each of which becomes one
 * option. Anything the algorithm says must fail (another scheme, a
 * fragment, a malformed percent-encoding) is rejected with a reason.
 */
#include "uri.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Uri-Host, Uri-Path and Uri-Query values are 0-255 bytes, §5.10. */
#define URI_OPT_MAX 255

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Percent-decode @len bytes of @s into @out (RFC 3986 §2.1; §6.4 steps 8
 * and 9). Returns the decoded length, or -1 for '%' not followed by two
 * hex digits.
 */
static int pct_decode(const char *s, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			out[n++] = s[i];
			continue;
		}
		if (i + 2 >= len)
			return -1;
		int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);

		if (hi < 0 || lo < 0)
			return -1;
		out[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	return (int)n;
}

/*
 * Split [@s, @end) at @sep, decode each piece into the free part of
 * @u->buf (*@used bytes taken so far) and record it in @vals/@lens.
 */
static int split_decode(struct client_uri *u, const char *s, const char *end,
			char sep, const char **vals, uint16_t *lens,
			uint16_t *count, size_t *used, const char **why)
{
	for (;;) {
		const char *stop = memchr(s, sep, (size_t)(end - s));
		int n;

		if (!stop)
			stop = end;
		if (u->n_path + u->n_query >= UCOAP_MAX_OPTIONS - 1) {
			*why = "too many path segments and query arguments";
			return -1;
		}
		n = pct_decode(s, (size_t)(stop - s), u->buf + *used);
		if (n < 0) {
			*why = "bad percent-encoding";
			return -1;
		}
		if (n > URI_OPT_MAX) {
			*why = "path segment or query argument longer than "
			       "255 bytes";
			return -1;
		}
		vals[*count] = u->buf + *used;
		lens[*count] = (uint16_t)n;
		(*count)++;
		*used += (size_t)n + 1;
		u->buf[*used - 1] = '\0';
		if (stop == end)
			return 0;
		s = stop + 1;
	}
}

static int parse_port(const char *s, const char *end, uint16_t *out)
{
	unsigned long v = 0;

	/* "coap://h:/x" has an empty port: the default (RFC 3986 §3.2.3). */
	if (s == end)
		return 0;
	for (; s < end; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return -1;
	}
	if (v == 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int parse_host(struct client_uri *u, const char *s, const char *end,
		      const char **why)
{
	const char *port_at;
	size_t len;
	struct in6_addr a6;
	struct in_addr a4;

	if (memchr(s, '@', (size_t)(end - s))) {
		*why = "user information is not allowed in a coap URI";
		return -1;
	}
	if (*s == '[') {
		const char *close = memchr(s, ']', (size_t)(end - s));

		if (!close) {
			*why = "missing ']' after an IPv6 address";
			return -1;
		}
		len = (size_t)(close - s - 1);
		memcpy(u->host, s + 1, len);
		u->host[len] = '\0';
		if (inet_pton(AF_INET6, u->host, &a6) != 1) {
			*why = "bad IPv6 address";
			return -1;
		}
		u->host_is_literal = u->host_is_v6 = true;
		port_at = close + 1;
		if (port_at < end && *port_at != ':') {
			*why = "junk after ']'";
			return -1;
		}
	} else {
		int n;

		port_at = memchr(s, ':', (size_t)(end - s));
		if (!port_at)
			port_at = end;
		n = pct_decode(s, (size_t)(port_at - s), u->host);
		if (n < 0) {
			*why = "bad percent-encoding in the host";
			return -1;
		}
		if (n == 0) {
			*why = "missing host";
			return -1;
		}
		if (n > URI_OPT_MAX) {
			*why = "host longer than 255 bytes";
			return -1;
		}
		u->host[n] = '\0';
		/* §6.4 step 5: Uri-Host carries the name in lower case. */
		for (int i = 0; i < n; i++)
			u->host[i] = (char)tolower((unsigned char)u->host[i]);
		u->host_is_literal = inet_pton(AF_INET, u->host, &a4) == 1;
	}
	if (port_at < end && parse_port(port_at + 1, end, &u->port) < 0) {
		*why = "bad port (1-65535)";
		return -1;
	}
	return 0;
}

int client_uri_parse(struct client_uri *u, const char *text, const char **why)
{
	static const char scheme[] = "coap://";
	size_t len = strlen(text), used = 0;
	const char *s, *end, *auth_end, *q;

	memset(u, 0, sizeof(*u));
	u->port = 5683; /* RFC 7252 §6.1 default port */
	if (len >= CLIENT_URI_MAX) {
		*why = "URI too long";
		return -1;
	}
	if (strncasecmp(text, scheme, sizeof(scheme) - 1) != 0) {
		*why =
		    "not a coap:// URI (coaps and coap+tcp are not supported)";
		return -1;
	}
	/* §6.4 step 3: a fragment has no meaning in CoAP; fail. */
	if (strchr(text, '#')) {
		*why = "a coap URI must not have a fragment ('#')";
		return -1;
	}
	s = text + sizeof(scheme) - 1;
	end = text + len;
	auth_end = s + strcspn(s, "/?");
	if (parse_host(u, s, auth_end, why) < 0)
		return -1;

	s = auth_end;
	q = strchr(s, '?');
	if (!q)
		q = end;
	/* §6.4 step 8: an empty path or "/" alone adds no Uri-Path. */
	if (q - s > 1 && split_decode(u, s + 1, q, '/', u->path, u->path_len,
				      &u->n_path, &used, why) < 0)
		return -1;
	/* §6.4 step 9: each '&'-separated argument is its own Uri-Query. */
	if (q < end && q + 1 < end &&
	    split_decode(u, q + 1, end, '&', u->query, u->query_len,
			 &u->n_query, &used, why) < 0)
		return -1;
	return 0;
}

int client_uri_to_msg(const struct client_uri *u, struct ucoap_msg *m)
{
	int rc;

	if (!u->host_is_literal) {
		rc = ucoap_msg_add_opt(m, UCOAP_OPT_URI_HOST, u->host,
				       strlen(u->host));
		if (rc < 0)
			return rc;
	}
	for (uint16_t i = 0; i < u->n_path; i++) {
		rc = ucoap_msg_add_opt(m, UCOAP_OPT_URI_PATH, u->path[i],
				       u->path_len[i]);
		if (rc < 0)
			return rc;
	}
	for (uint16_t i = 0; i < u->n_query; i++) {
		rc = ucoap_msg_add_opt(m, UCOAP_OPT_URI_QUERY, u->query[i],
				       u->query_len[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}
