/*
 * tinycoap: just enough RFC 7252 wire format for the integration test tools
 * (rawcoap, coapdev). Deliberately independent of the core under test
 * (src/coap): a bug in the core's codec must not be mirrored by the tool
 * that checks the gateway's answers. Plain sockets, no allocation.
 *
 * Everything is static inline so each tool takes only what it uses.
 */
#ifndef TINYCOAP_H
#define TINYCOAP_H

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define TC_MAX_OPTS  64
#define TC_MAX_DGRAM 65536

enum { TC_CON = 0, TC_NON = 1, TC_ACK = 2, TC_RST = 3 };

struct tc_opt {
	unsigned num;
	const uint8_t *val;
	size_t len;
};

/* A decoded message: views into the datagram. */
struct tc_msg {
	unsigned type, code, mid, tkl;
	const uint8_t *token;
	size_t nopts;
	struct tc_opt opts[TC_MAX_OPTS];
	const uint8_t *payload;
	size_t payload_len;
};

static inline const char *tc_type_str(unsigned t)
{
	static const char *const names[] = {"CON", "NON", "ACK", "RST"};

	return names[t & 3];
}

/* Read an extended option delta or length (RFC 7252 §3.1). */
static inline int tc_ext(unsigned nib, const uint8_t **p, const uint8_t *end,
			 unsigned *out)
{
	if (nib < 13) {
		*out = nib;
		return 0;
	}
	if (nib == 13) {
		if (end - *p < 1)
			return -1;
		*out = 13u + (*p)[0];
		*p += 1;
		return 0;
	}
	if (nib == 14) {
		if (end - *p < 2)
			return -1;
		*out = 269u + (((unsigned)(*p)[0] << 8) | (*p)[1]);
		*p += 2;
		return 0;
	}
	return -1;
}

/* Decode @len bytes at @buf into @m; returns 0 or -1 for any format error. */
static inline int tc_decode(struct tc_msg *m, const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf + 4, *end = buf + len;
	unsigned num = 0;

	memset(m, 0, sizeof(*m));
	if (len < 4 || (buf[0] >> 6) != 1)
		return -1;
	m->type = (buf[0] >> 4) & 3;
	m->tkl = buf[0] & 15;
	m->code = buf[1];
	m->mid = ((unsigned)buf[2] << 8) | buf[3];
	if (m->tkl > 8 || (size_t)(end - p) < m->tkl)
		return -1;
	m->token = p;
	p += m->tkl;
	while (p < end) {
		unsigned delta, olen;
		uint8_t b = *p++;

		if (b == 0xff) {
			if (p == end)
				return -1;
			m->payload = p;
			m->payload_len = (size_t)(end - p);
			return 0;
		}
		if (tc_ext(b >> 4, &p, end, &delta) < 0 ||
		    tc_ext(b & 15, &p, end, &olen) < 0)
			return -1;
		if ((size_t)(end - p) < olen || m->nopts == TC_MAX_OPTS)
			return -1;
		num += delta;
		m->opts[m->nopts].num = num;
		m->opts[m->nopts].val = p;
		m->opts[m->nopts].len = olen;
		m->nopts++;
		p += olen;
	}
	return 0;
}

static inline unsigned long tc_uint(const uint8_t *v, size_t len)
{
	unsigned long x = 0;

	for (size_t i = 0; i < len && i < 8; i++)
		x = (x << 8) | v[i];
	return x;
}

/* Append one option header for @num after @prev; returns bytes or -1. */
static inline int tc_put_opt(uint8_t *out, size_t cap, unsigned prev,
			     unsigned num, const uint8_t *val, size_t len)
{
	unsigned delta = num - prev;
	size_t need = 1 + len;
	uint8_t *p = out + 1;
	unsigned dn, ln;

	dn = delta < 13 ? delta : delta < 269 ? 13 : 14;
	ln = len < 13 ? (unsigned)len : len < 269 ? 13 : 14;
	need += (dn == 13) + 2 * (dn == 14) + (ln == 13) + 2 * (ln == 14);
	if (need > cap || len > 65535 + 269)
		return -1;
	out[0] = (uint8_t)(dn << 4 | ln);
	if (dn == 13)
		*p++ = (uint8_t)(delta - 13);
	else if (dn == 14) {
		*p++ = (uint8_t)((delta - 269) >> 8);
		*p++ = (uint8_t)(delta - 269);
	}
	if (ln == 13)
		*p++ = (uint8_t)(len - 13);
	else if (ln == 14) {
		*p++ = (uint8_t)((len - 269) >> 8);
		*p++ = (uint8_t)(len - 269);
	}
	if (len)
		memcpy(p, val, len);
	return (int)need;
}

/* Hex digit value or -1. */
static inline int tc_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parse hex text (spaces allowed) into @out; returns length or -1. */
static inline long tc_unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	while (*s) {
		int hi, lo;

		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		hi = tc_hexval(s[0]);
		lo = s[1] ? tc_hexval(s[1]) : -1;
		if (hi < 0 || lo < 0 || n == cap)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return (long)n;
}

static inline void tc_print_hex(FILE *f, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
}

/* Printable ASCII (space included) as text, anything else as 0x followed by
 * hex. */
static inline void tc_print_bytes(FILE *f, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e) {
			fputs("0x", f);
			tc_print_hex(f, p, len);
			return;
		}
	}
	fwrite(p, 1, len, f);
}

/* Parse an IPv4 or IPv6 literal (no brackets) and @port into @ss. */
static inline int tc_addr(const char *host, unsigned port,
			  struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (port > 65535)
		return -1;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

/* The options' names, and which are uints (RFC 7252 §5.10). */
static inline const char *tc_opt_name(unsigned num, bool *is_uint)
{
	static const struct {
		unsigned num;
		const char *name;
		bool is_uint;
	} t[] = {
	    {1, "If-Match", false},
	    {3, "Uri-Host", false},
	    {4, "ETag", false},
	    {5, "If-None-Match", false},
	    {6, "Observe", true},
	    {7, "Uri-Port", true},
	    {8, "Location-Path", false},
	    {11, "Uri-Path", false},
	    {12, "Content-Format", true},
	    {14, "Max-Age", true},
	    {15, "Uri-Query", false},
	    {17, "Accept", true},
	    {20, "Location-Query", false},
	    {23, "Block2", true},
	    {27, "Block1", true},
	    {28, "Size2", true},
	    {35, "Proxy-Uri", false},
	    {39, "Proxy-Scheme", false},
	    {60, "Size1", true},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].num == num) {
			*is_uint = t[i].is_uint;
			return t[i].name;
		}
	}
	*is_uint = false;
	return NULL;
}

/*
 * " Name=value" for every option of @m (uint options as numbers, others as
 * text or hex), then " pl=" and the payload: the one-line form both test
 * peers print, so the scripts can match either.
 */
static inline void tc_print_options(FILE *f, const struct tc_msg *m)
{
	for (size_t i = 0; i < m->nopts; i++) {
		bool is_uint;
		const char *name = tc_opt_name(m->opts[i].num, &is_uint);

		if (name)
			fprintf(f, " %s=", name);
		else
			fprintf(f, " o%u=", m->opts[i].num);
		if (is_uint)
			fprintf(f, "%lu",
				tc_uint(m->opts[i].val, m->opts[i].len));
		else
			tc_print_bytes(f, m->opts[i].val, m->opts[i].len);
	}
	if (m->payload_len) {
		fputs(" pl=", f);
		tc_print_bytes(f, m->payload, m->payload_len);
	}
}

#endif
