/*
 * ucoap: what the core knows about each CoAP option (RFC 7252 §5.4,
 * §5.10) and the uint option format (§3.2).
 */
#include <stddef.h>

#include <ucoap/msg.h>

/*
 * RFC 7252 §5.10 Table 4, plus Observe (RFC 7641 §2) and Block1/Block2/
 * Size2 (RFC 7959 §2.1, §4). Sorted by number. ETag is repeatable in
 * requests only (§5.10.6.2); it is elective, so the table lets it repeat.
 */
static const struct ucoap_opt_info opt_table[] = {
    {UCOAP_OPT_IF_MATCH, "If-Match", UCOAP_FMT_OPAQUE, 0, 8, true},
    {UCOAP_OPT_URI_HOST, "Uri-Host", UCOAP_FMT_STRING, 1, 255, false},
    {UCOAP_OPT_ETAG, "ETag", UCOAP_FMT_OPAQUE, 1, 8, true},
    {UCOAP_OPT_IF_NONE_MATCH, "If-None-Match", UCOAP_FMT_EMPTY, 0, 0, false},
    {UCOAP_OPT_OBSERVE, "Observe", UCOAP_FMT_UINT, 0, 3, false},
    {UCOAP_OPT_URI_PORT, "Uri-Port", UCOAP_FMT_UINT, 0, 2, false},
    {UCOAP_OPT_LOCATION_PATH, "Location-Path", UCOAP_FMT_STRING, 0, 255, true},
    {UCOAP_OPT_URI_PATH, "Uri-Path", UCOAP_FMT_STRING, 0, 255, true},
    {UCOAP_OPT_CONTENT_FORMAT, "Content-Format", UCOAP_FMT_UINT, 0, 2, false},
    {UCOAP_OPT_MAX_AGE, "Max-Age", UCOAP_FMT_UINT, 0, 4, false},
    {UCOAP_OPT_URI_QUERY, "Uri-Query", UCOAP_FMT_STRING, 0, 255, true},
    {UCOAP_OPT_ACCEPT, "Accept", UCOAP_FMT_UINT, 0, 2, false},
    {UCOAP_OPT_LOCATION_QUERY, "Location-Query", UCOAP_FMT_STRING, 0, 255,
     true},
    {UCOAP_OPT_BLOCK2, "Block2", UCOAP_FMT_UINT, 0, 3, false},
    {UCOAP_OPT_BLOCK1, "Block1", UCOAP_FMT_UINT, 0, 3, false},
    {UCOAP_OPT_SIZE2, "Size2", UCOAP_FMT_UINT, 0, 4, false},
    {UCOAP_OPT_PROXY_URI, "Proxy-Uri", UCOAP_FMT_STRING, 1, 1034, false},
    {UCOAP_OPT_PROXY_SCHEME, "Proxy-Scheme", UCOAP_FMT_STRING, 1, 255, false},
    {UCOAP_OPT_SIZE1, "Size1", UCOAP_FMT_UINT, 0, 4, false},
};

const struct ucoap_opt_info *ucoap_opt_info(uint16_t num)
{
	size_t lo = 0, hi = sizeof(opt_table) / sizeof(opt_table[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (opt_table[mid].num == num)
			return &opt_table[mid];
		if (opt_table[mid].num < num)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * Bytes beyond the fourth shift the first ones out: callers that care
 * (ucoap_msg_get_uint) reject such values before decoding.
 */
uint32_t ucoap_uint_decode(const uint8_t *val, size_t len)
{
	uint32_t v = 0;

	for (size_t i = 0; i < len; i++)
		v = (v << 8) | val[i];
	return v;
}

/* §3.2: the minimal form has no leading zero bytes, so 0 is empty. */
size_t ucoap_uint_encode(uint32_t v, uint8_t out[4])
{
	size_t len = 0;

	for (uint32_t t = v; t; t >>= 8)
		len++;
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
	return len;
}

/*
 * §5.4.1: an unrecognised critical option means the message must be
 * rejected. §5.4.3: a recognised option whose length is out of range is
 * treated as unrecognised. §5.4.5: each supernumerary occurrence of a
 * non-repeatable option is treated as unrecognised, too. Options are
 * sorted, so a repeat sits right after its predecessor.
 */
uint16_t ucoap_msg_bad_critical(const struct ucoap_msg *m)
{
	for (uint16_t i = 0; i < m->opt_count; i++) {
		const struct ucoap_opt *o = &m->opts[i];
		const struct ucoap_opt_info *info;

		if (!ucoap_opt_is_critical(o->num))
			continue;
		info = ucoap_opt_info(o->num);
		if (!info)
			return o->num;
		if (o->len < info->min_len || o->len > info->max_len)
			return o->num;
		if (!info->repeatable && i > 0 && m->opts[i - 1].num == o->num)
			return o->num;
	}
	return 0;
}
