/*
 * libFuzzer target for the CoAP decoder (src/coap/msg.c). Any input that
 * decodes must encode again to the same bytes and decode to the same
 * message, compared field by field. The readers the endpoint and the
 * bridge call on peer input (bad_critical, uri_path, uri_query,
 * content_format) run on every decoded message too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ucoap/msg.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Larger than any datagram libFuzzer hands over by default. */
static uint8_t out[70000];
static char text[70000];

static void same_or_abort(const struct ucoap_msg *a, const struct ucoap_msg *b)
{
	if (a->type != b->type || a->code != b->code || a->mid != b->mid ||
	    a->token_len != b->token_len ||
	    memcmp(a->token, b->token, a->token_len) != 0 ||
	    a->opt_count != b->opt_count || a->payload_len != b->payload_len)
		abort();
	if (a->payload_len && memcmp(a->payload, b->payload, a->payload_len))
		abort();
	for (uint16_t i = 0; i < a->opt_count; i++) {
		const struct ucoap_opt *x = &a->opts[i], *y = &b->opts[i];

		if (x->num != y->num || x->len != y->len)
			abort();
		if (x->len &&
		    memcmp(ucoap_opt_value(x), ucoap_opt_value(y), x->len) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ucoap_msg m, again;
	size_t len = 0;
	int err;

	err = ucoap_msg_decode(&m, data, size);
	if (err) {
		if (err > 0 || ucoap_strerror(err) == NULL)
			abort();
		return 0;
	}
	/* Decoded options are sorted and within the limits. */
	if (m.opt_count > UCOAP_MAX_OPTIONS || m.token_len > UCOAP_TOKEN_MAX)
		abort();
	for (uint16_t i = 1; i < m.opt_count; i++)
		if (m.opts[i].num < m.opts[i - 1].num)
			abort();

	(void)ucoap_msg_bad_critical(&m);
	(void)ucoap_msg_content_format(&m);
	if (ucoap_msg_uri_path(&m, text, sizeof(text)) < 0)
		abort();
	if (ucoap_msg_uri_query(&m, text, sizeof(text)) < 0)
		abort();

	if (ucoap_msg_encode(&m, out, sizeof(out), &len) != 0)
		abort();
	/*
	 * §3.1's extended ranges do not overlap and values are copied as
	 * they are, so a datagram has exactly one encoding: the bytes must
	 * come back unchanged.
	 */
	if (len != size || memcmp(out, data, size) != 0)
		abort();
	if (ucoap_msg_decode(&again, out, len) != 0)
		abort();
	same_or_abort(&m, &again);
	return 0;
}
