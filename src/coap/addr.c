/*
 * ucoap_addr: peer addresses. IPv4 and IPv6 literals only: the core never
 * resolves names (that would block the loop); the daemon and the client do
 * it before they call in.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int ucoap_addr_set(struct ucoap_addr *a, const char *host, uint16_t port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;

	if (!a || !host)
		return UCOAP_ERR_INVAL;
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		a->len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		a->len = sizeof(*s6);
		return 0;
	}
	memset(a, 0, sizeof(*a));
	return UCOAP_ERR_INVAL;
}

/* A decimal port 0..65535, digits only (no sign, no spaces). */
static int parse_port(const char *s, uint16_t *out)
{
	unsigned long v = 0;

	if (!*s)
		return UCOAP_ERR_INVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return UCOAP_ERR_INVAL;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return UCOAP_ERR_INVAL;
	}
	*out = (uint16_t)v;
	return 0;
}

int ucoap_addr_parse(struct ucoap_addr *a, const char *text,
		     uint16_t default_port)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *end, *colon, *port_text = NULL;
	uint16_t port = default_port;
	size_t n;

	if (!a || !text)
		return UCOAP_ERR_INVAL;
	if (text[0] == '[') {
		end = strchr(text, ']');
		if (!end)
			return UCOAP_ERR_INVAL;
		if (end[1] == ':')
			port_text = end + 2;
		else if (end[1] != '\0')
			return UCOAP_ERR_INVAL;
		text++;
		n = (size_t)(end - text);
		/* Brackets hold an IPv6 literal and nothing else. */
		if (!memchr(text, ':', n))
			return UCOAP_ERR_INVAL;
	} else {
		colon = strchr(text, ':');
		if (colon && strchr(colon + 1, ':')) {
			/* Two colons: a bare IPv6 literal, no port. */
			n = strlen(text);
		} else if (colon) {
			n = (size_t)(colon - text);
			port_text = colon + 1;
		} else {
			n = strlen(text);
		}
	}
	if (n == 0 || n >= sizeof(host))
		return UCOAP_ERR_INVAL;
	memcpy(host, text, n);
	host[n] = '\0';
	if (port_text && parse_port(port_text, &port) < 0)
		return UCOAP_ERR_INVAL;
	return ucoap_addr_set(a, host, port);
}

/* The IPv4 address inside @a (plain or IPv4-mapped), or NULL. */
static const struct in_addr *addr_v4(const struct ucoap_addr *a,
				     struct in_addr *tmp)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;

	if (a->ss.ss_family == AF_INET)
		return &((const struct sockaddr_in *)&a->ss)->sin_addr;
	if (a->ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(tmp, &s6->sin6_addr.s6_addr[12], 4);
		return tmp;
	}
	return NULL;
}

int ucoap_addr_host_str(const struct ucoap_addr *a, char *buf, size_t cap)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
	char tmp[INET6_ADDRSTRLEN];
	struct in_addr v4;
	const struct in_addr *p4 = addr_v4(a, &v4);
	size_t n;

	if (p4) {
		if (!inet_ntop(AF_INET, p4, tmp, sizeof(tmp)))
			return UCOAP_ERR_INVAL;
	} else if (a->ss.ss_family == AF_INET6) {
		if (!inet_ntop(AF_INET6, &s6->sin6_addr, tmp, sizeof(tmp)))
			return UCOAP_ERR_INVAL;
	} else {
		return UCOAP_ERR_INVAL;
	}
	n = strlen(tmp);
	if (n + 1 > cap)
		return UCOAP_ERR_NOSPACE;
	memcpy(buf, tmp, n + 1);
	return (int)n;
}

int ucoap_addr_str(const struct ucoap_addr *a, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN];
	struct in_addr v4;
	int n = ucoap_addr_host_str(a, host, sizeof(host));

	if (n < 0)
		return n;
	if (addr_v4(a, &v4))
		n = snprintf(buf, cap, "%s:%u", host, ucoap_addr_port(a));
	else
		n = snprintf(buf, cap, "[%s]:%u", host, ucoap_addr_port(a));
	if (n < 0 || (size_t)n >= cap)
		return UCOAP_ERR_NOSPACE;
	return n;
}

uint16_t ucoap_addr_port(const struct ucoap_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return 0;
}

void ucoap_addr_key(const struct ucoap_addr *a, struct ucoap_addr_key *k)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;

	memset(k, 0, sizeof(*k));
	if (a->ss.ss_family == AF_INET) {
		k->ip[10] = 0xff;
		k->ip[11] = 0xff;
		memcpy(&k->ip[12],
		       &((const struct sockaddr_in *)&a->ss)->sin_addr, 4);
	} else if (a->ss.ss_family == AF_INET6) {
		memcpy(k->ip, &s6->sin6_addr, 16);
	} else {
		return;
	}
	k->port = ucoap_addr_port(a);
}

bool ucoap_addr_equal(const struct ucoap_addr *a, const struct ucoap_addr *b)
{
	struct ucoap_addr_key ka, kb;

	ucoap_addr_key(a, &ka);
	ucoap_addr_key(b, &kb);
	return ucoap_addr_key_eq(&ka, &kb);
}

bool ucoap_addr_same_host(const struct ucoap_addr *a,
			  const struct ucoap_addr *b)
{
	struct ucoap_addr_key ka, kb;

	ucoap_addr_key(a, &ka);
	ucoap_addr_key(b, &kb);
	return memcmp(ka.ip, kb.ip, 16) == 0;
}
