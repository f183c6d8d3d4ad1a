/*
 * microCoAPy's calls (send, get, put, post, delete, sendResponse) over the
 * endpoint's own API: text addresses and URLs in, message id (0 on
 * failure) out.
 */
#include <string.h>

#include "endpoint_int.h"

uint16_t ucoap_send(struct ucoap_ep *ep, const char *ip, uint16_t port,
		    const char *url, uint8_t type, uint8_t method,
		    const uint8_t *token, size_t token_len,
		    const uint8_t *payload, size_t payload_len,
		    int content_format, const char *query)
{
	struct req_opts o = {.default_cb = true};
	struct ucoap_addr to;
	struct ucoap_msg m;
	uint16_t mid;

	if (!ep || !url || token_len > UCOAP_TOKEN_MAX ||
	    (token_len && !token) || (payload_len && !payload) ||
	    UCOAP_CODE_CLASS(method) != 0 || method == UCOAP_EMPTY ||
	    ucoap_addr_set(&to, ip, port) < 0)
		return 0;
	ucoap_msg_init(&m, type, method);
	m.token_len = (uint8_t)token_len;
	if (token_len)
		memcpy(m.token, token, token_len);
	if (ucoap_msg_set_uri(&m, url) < 0)
		return 0;
	if (query && *query && ucoap_msg_add_query(&m, query) < 0)
		return 0;
	if (content_format != UCOAP_CF_NONE &&
	    (content_format < 0 || content_format > 65535 ||
	     ucoap_msg_add_uint(&m, UCOAP_OPT_CONTENT_FORMAT,
				(uint32_t)content_format) < 0))
		return 0;
	m.payload = payload_len ? payload : NULL;
	m.payload_len = payload_len;
	if (ucoap_ep_start_exchange(ep, &to, &m, &o, &mid) < 0)
		return 0;
	return mid;
}

uint16_t ucoap_get(struct ucoap_ep *ep, const char *ip, uint16_t port,
		   const char *url, const uint8_t *token, size_t token_len)
{
	return ucoap_send(ep, ip, port, url, UCOAP_TYPE_CON, UCOAP_GET, token,
			  token_len, NULL, 0, UCOAP_CF_NONE, NULL);
}

uint16_t ucoap_put(struct ucoap_ep *ep, const char *ip, uint16_t port,
		   const char *url, const uint8_t *payload, size_t payload_len,
		   const char *query, int content_format, const uint8_t *token,
		   size_t token_len)
{
	return ucoap_send(ep, ip, port, url, UCOAP_TYPE_CON, UCOAP_PUT, token,
			  token_len, payload, payload_len, content_format,
			  query);
}

uint16_t ucoap_post(struct ucoap_ep *ep, const char *ip, uint16_t port,
		    const char *url, const uint8_t *payload, size_t payload_len,
		    const char *query, int content_format, const uint8_t *token,
		    size_t token_len)
{
	return ucoap_send(ep, ip, port, url, UCOAP_TYPE_CON, UCOAP_POST, token,
			  token_len, payload, payload_len, content_format,
			  query);
}

uint16_t ucoap_delete(struct ucoap_ep *ep, const char *ip, uint16_t port,
		      const char *url, const uint8_t *token, size_t token_len)
{
	return ucoap_send(ep, ip, port, url, UCOAP_TYPE_CON, UCOAP_DELETE,
			  token, token_len, NULL, 0, UCOAP_CF_NONE, NULL);
}

uint16_t ucoap_send_response(struct ucoap_ep *ep, const char *ip, uint16_t port,
			     uint16_t mid, const uint8_t *payload,
			     size_t payload_len, uint8_t code,
			     int content_format, const uint8_t *token,
			     size_t token_len)
{
	struct req_opts o = {.ack_completes = true};
	struct ucoap_addr to;
	struct ucoap_msg m;
	uint16_t out;

	if (!ep || token_len > UCOAP_TOKEN_MAX || (token_len && !token) ||
	    (payload_len && !payload) || ucoap_addr_set(&to, ip, port) < 0)
		return 0;
	ucoap_msg_init(&m, UCOAP_TYPE_CON, code);
	if (content_format != UCOAP_CF_NONE &&
	    (content_format < 0 || content_format > 65535 ||
	     ucoap_msg_add_uint(&m, UCOAP_OPT_CONTENT_FORMAT,
				(uint32_t)content_format) < 0))
		return 0;
	m.payload = payload_len ? payload : NULL;
	m.payload_len = payload_len;
	m.token_len = (uint8_t)token_len;
	if (token_len)
		memcpy(m.token, token, token_len);
	if (ep->cur.active && !ep->cur.answered && !ep->cur.deferred &&
	    ep->cur.req->mid == mid && ucoap_addr_equal(ep->cur.from, &to)) {
		/* The endpoint sets the token from the request itself. */
		if (ucoap_ep_respond(ep, &m) < 0)
			return 0;
		return m.mid;
	}
	if (ucoap_ep_start_exchange(ep, &to, &m, &o, &out) < 0)
		return 0;
	return out;
}
