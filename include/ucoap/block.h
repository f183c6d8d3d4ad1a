/*
 * ucoap: the Block1/Block2 option values and Size1/Size2 (RFC 7959).
 *
 * A block option value is a 0-3 byte uint holding NUM (the block number),
 * M (more blocks follow) and SZX (block size 2^(SZX+4), 16..1024 bytes),
 * RFC 7959 §2.2. SZX 7 is reserved and rejected. Nothing here allocates,
 * logs or does I/O; the endpoint (endpoint.h) does the transfers.
 */
#ifndef UCOAP_BLOCK_H
#define UCOAP_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ucoap/msg.h>

#define UCOAP_BLOCK_SZX_MAX 6        /* 1024 bytes; 7 is reserved, §2.2 */
#define UCOAP_BLOCK_NUM_MAX 0xFFFFFu /* 20 bits in a 3-byte value, §2.2 */

/* One Block1 or Block2 value, decoded: plain data. */
struct ucoap_block {
	uint32_t num; /* NUM, 0..UCOAP_BLOCK_NUM_MAX */
	bool more;    /* M */
	uint8_t szx;  /* SZX, 0..UCOAP_BLOCK_SZX_MAX */
};

/* The block size of @szx: 16 << szx (§2.2). */
static inline size_t ucoap_block_size(uint8_t szx)
{
	return (size_t)16 << szx;
}

/* The offset of @b's first byte in the whole body: NUM * size (§2.2). */
static inline size_t ucoap_block_offset(const struct ucoap_block *b)
{
	return (size_t)b->num << (b->szx + 4);
}

/*
 * The SZX of the largest block size not above @size (e.g. 1000 -> 5,
 * 512 bytes; anything from 1024 up -> 6). Returns it, or UCOAP_ERR_INVAL
 * when @size < 16.
 */
int ucoap_block_szx(size_t size);

/*
 * Decode the option value @val of @len bytes into @out. Returns 0, or
 * UCOAP_ERR_INVAL for a value longer than 3 bytes or SZX 7 (reserved).
 */
int ucoap_block_decode(const uint8_t *val, size_t len, struct ucoap_block *out);
/*
 * The uint value of @b (NUM << 4 | M << 3 | SZX), for ucoap_msg_add_uint().
 * Returns 0 and sets *@out, or UCOAP_ERR_INVAL when NUM or SZX is out of
 * range.
 */
int ucoap_block_encode(const struct ucoap_block *b, uint32_t *out);

/*
 * Read the option @num (UCOAP_OPT_BLOCK1 or UCOAP_OPT_BLOCK2) of @m.
 * Returns 0, UCOAP_ERR_NOENT when absent, UCOAP_ERR_INVAL when malformed.
 */
int ucoap_msg_get_block(const struct ucoap_msg *m, uint16_t num,
			struct ucoap_block *out);
/*
 * Add the option @num with value @b (stored inline). Returns 0,
 * UCOAP_ERR_INVAL or UCOAP_ERR_TOO_MANY_OPTS.
 */
int ucoap_msg_add_block(struct ucoap_msg *m, uint16_t num,
			const struct ucoap_block *b);

/*
 * Size1/Size2 (RFC 7959 §4, RFC 7252 §5.10.9): the size of the whole
 * body, in bytes. Read returns 0, UCOAP_ERR_NOENT or UCOAP_ERR_INVAL;
 * add returns as ucoap_msg_add_uint(). @num is UCOAP_OPT_SIZE1 or
 * UCOAP_OPT_SIZE2.
 */
int ucoap_msg_get_size(const struct ucoap_msg *m, uint16_t num, uint32_t *out);
int ucoap_msg_add_size(struct ucoap_msg *m, uint16_t num, uint32_t size);

/*
 * The part of a body of @len bytes that block @b (its NUM and SZX) covers:
 * *@off and *@n, and *@more when bytes follow it. Block 0 of an empty body
 * is empty. Returns 0, or UCOAP_ERR_NOENT when the block starts at or past
 * the end (§2.2: such a request is answered 4.02 Bad Option).
 */
int ucoap_block_slice(size_t len, const struct ucoap_block *b, size_t *off,
		      size_t *n, bool *more);

#endif
