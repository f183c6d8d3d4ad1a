/*
 * ucoap: the Block1/Block2 and Size1/Size2 option values (RFC 7959 §2.2,
 * §4). Pure codec: the transfers themselves live in block.c.
 */
#include <ucoap/block.h>

int ucoap_block_szx(size_t size)
{
	int szx = UCOAP_BLOCK_SZX_MAX;

	if (size < 16)
		return UCOAP_ERR_INVAL;
	while (ucoap_block_size((uint8_t)szx) > size)
		szx--;
	return szx;
}

int ucoap_block_decode(const uint8_t *val, size_t len, struct ucoap_block *out)
{
	uint32_t v;

	/* §2.2: "0-3 bytes"; a longer value is malformed. */
	if (len > 3 || (len && !val))
		return UCOAP_ERR_INVAL;
	v = ucoap_uint_decode(val, len);
	if ((v & 7) == 7)
		return UCOAP_ERR_INVAL; /* §2.2: SZX 7 is reserved */
	out->num = v >> 4;
	out->more = (v >> 3) & 1;
	out->szx = (uint8_t)(v & 7);
	return 0;
}

int ucoap_block_encode(const struct ucoap_block *b, uint32_t *out)
{
	if (b->num > UCOAP_BLOCK_NUM_MAX || b->szx > UCOAP_BLOCK_SZX_MAX)
		return UCOAP_ERR_INVAL;
	*out = b->num << 4 | (uint32_t)b->more << 3 | b->szx;
	return 0;
}

int ucoap_msg_get_block(const struct ucoap_msg *m, uint16_t num,
			struct ucoap_block *out)
{
	const struct ucoap_opt *o = ucoap_msg_find(m, num);

	if (!o)
		return UCOAP_ERR_NOENT;
	return ucoap_block_decode(ucoap_opt_value(o), o->len, out);
}

int ucoap_msg_add_block(struct ucoap_msg *m, uint16_t num,
			const struct ucoap_block *b)
{
	uint32_t v;
	int rc = ucoap_block_encode(b, &v);

	if (rc < 0)
		return rc;
	return ucoap_msg_add_uint(m, num, v);
}

int ucoap_msg_get_size(const struct ucoap_msg *m, uint16_t num, uint32_t *out)
{
	return ucoap_msg_get_uint(m, num, out);
}

int ucoap_msg_add_size(struct ucoap_msg *m, uint16_t num, uint32_t size)
{
	return ucoap_msg_add_uint(m, num, size);
}

int ucoap_block_slice(size_t len, const struct ucoap_block *b, size_t *off,
		      size_t *n, bool *more)
{
	size_t size = ucoap_block_size(b->szx), start = ucoap_block_offset(b);

	if (start >= len && !(start == 0 && len == 0))
		return UCOAP_ERR_NOENT;
	*off = start;
	*n = len - start < size ? len - start : size;
	*more = start + *n < len;
	return 0;
}
