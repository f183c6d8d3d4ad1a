/*
 * ucoap: the CoAP message codec (RFC 7252 §3) and the helpers that build
 * and read a struct ucoap_msg. Decoding yields views into the datagram;
 * encoding writes into the caller's buffer. No allocation, no logging.
 */
#include <stdio.h>
#include <string.h>

#include <ucoap/msg.h>

/* §3.1: option delta and length nibbles 13 and 14 announce extended forms. */
#define EXT8            13
#define EXT16           14
#define EXT8_BASE       13u
#define EXT16_BASE      269u
#define NIBBLE_RESERVED 15
/* The largest delta or length the 14 form can carry: 65535 + 269. */
#define EXT_MAX (0xffffu + EXT16_BASE)

void ucoap_msg_init(struct ucoap_msg *m, uint8_t type, uint8_t code)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->code = code;
}

/*
 * Read the extended part of an option delta or length announced by
 * @nibble (§3.1) from @buf at *@pos, advancing *@pos.
 */
static int read_ext(const uint8_t *buf, size_t len, size_t *pos,
		    unsigned nibble, uint32_t *out)
{
	if (nibble < EXT8) {
		*out = nibble;
		return 0;
	}
	if (nibble == EXT8) {
		if (len - *pos < 1)
			return UCOAP_ERR_OPT_TRUNCATED;
		*out = EXT8_BASE + buf[*pos];
		*pos += 1;
		return 0;
	}
	if (nibble == EXT16) {
		if (len - *pos < 2)
			return UCOAP_ERR_OPT_TRUNCATED;
		*out = EXT16_BASE + ((uint32_t)buf[*pos] << 8) + buf[*pos + 1];
		*pos += 2;
		return 0;
	}
	/* 15 is reserved except as the payload marker, checked earlier. */
	return UCOAP_ERR_OPT_NIBBLE;
}

/* Fill the options and payload of @m from @buf[@pos..@len) (§3.1). */
static int decode_options(struct ucoap_msg *m, const uint8_t *buf, size_t len,
			  size_t pos)
{
	uint32_t num = 0;

	while (pos < len) {
		uint8_t b = buf[pos++];
		uint32_t delta, olen;
		int err;

		if (b == UCOAP_PAYLOAD_MARKER) {
			/* §3: a marker followed by a zero-length payload is
			 * a message format error. */
			if (pos == len)
				return UCOAP_ERR_PAYLOAD_MARKER;
			m->payload = buf + pos;
			m->payload_len = len - pos;
			return 0;
		}
		/* §3.1: nibble 15 outside the marker is a format error. */
		if ((b >> 4) == NIBBLE_RESERVED ||
		    (b & 0x0f) == NIBBLE_RESERVED)
			return UCOAP_ERR_OPT_NIBBLE;
		err = read_ext(buf, len, &pos, b >> 4, &delta);
		if (err)
			return err;
		err = read_ext(buf, len, &pos, b & 0x0f, &olen);
		if (err)
			return err;
		num += delta;
		if (num > 0xffff)
			return UCOAP_ERR_OPT_NUMBER;
		if (len - pos < olen)
			return UCOAP_ERR_OPT_TRUNCATED;
		/* Never drop what does not fit (microCoAPy lost the payload
		 * past its tenth option): refuse the whole message. */
		if (m->opt_count == UCOAP_MAX_OPTIONS)
			return UCOAP_ERR_TOO_MANY_OPTS;
		m->opts[m->opt_count++] = (struct ucoap_opt){
		    .val = buf + pos,
		    .num = (uint16_t)num,
		    .len = olen,
		};
		pos += olen;
	}
	return 0;
}

int ucoap_msg_decode(struct ucoap_msg *m, const uint8_t *buf, size_t len)
{
	unsigned tkl, cls;

	memset(m, 0, sizeof(*m));
	if (len < UCOAP_HEADER_LEN)
		return UCOAP_ERR_SHORT;
	/* §3: Ver | T | TKL, then Code, then Message ID. */
	if ((buf[0] >> 6) != UCOAP_VERSION)
		return UCOAP_ERR_VERSION;
	m->type = (buf[0] >> 4) & 0x03;
	m->code = buf[1];
	m->mid = (uint16_t)((buf[2] << 8) | buf[3]);
	/* From here on the header is valid, so a CON can be answered with
	 * RST (§4.2) whatever else is wrong. */
	tkl = buf[0] & 0x0f;
	if (tkl > UCOAP_TOKEN_MAX)
		return UCOAP_ERR_TOKEN_LEN;
	/* A token cut short by the end of the datagram is a bad TKL too. */
	if (len - UCOAP_HEADER_LEN < tkl)
		return UCOAP_ERR_TOKEN_LEN;
	m->token_len = (uint8_t)tkl;
	memcpy(m->token, buf + UCOAP_HEADER_LEN, tkl);
	/* §4.1: an Empty message has nothing after the Message ID. */
	if (m->code == UCOAP_EMPTY && len > UCOAP_HEADER_LEN)
		return UCOAP_ERR_EMPTY_NOT_EMPTY;
	/* §12.1: classes 1, 6 and 7 are reserved. */
	cls = UCOAP_CODE_CLASS(m->code);
	if (cls == 1 || cls == 6 || cls == 7)
		return UCOAP_ERR_CODE_CLASS;
	return decode_options(m, buf, len, UCOAP_HEADER_LEN + tkl);
}

/* The nibble for @v and how many extension bytes follow it (§3.1). */
static unsigned ext_nibble(uint32_t v, size_t *ext_len)
{
	if (v < EXT8_BASE) {
		*ext_len = 0;
		return v;
	}
	if (v < EXT16_BASE) {
		*ext_len = 1;
		return EXT8;
	}
	*ext_len = 2;
	return EXT16;
}

static void put_ext(uint8_t *p, uint32_t v, size_t ext_len)
{
	if (ext_len == 1) {
		p[0] = (uint8_t)(v - EXT8_BASE);
	} else if (ext_len == 2) {
		/* Big endian, the value minus 269 (microCoAPy got this one
		 * wrong). */
		p[0] = (uint8_t)((v - EXT16_BASE) >> 8);
		p[1] = (uint8_t)(v - EXT16_BASE);
	}
}

/* Check @m before writing anything, so a bad message leaves no trace. */
static int check_encodable(const struct ucoap_msg *m)
{
	if (m->type > UCOAP_TYPE_RST || m->token_len > UCOAP_TOKEN_MAX)
		return UCOAP_ERR_INVAL;
	if (m->opt_count > UCOAP_MAX_OPTIONS)
		return UCOAP_ERR_INVAL;
	if (m->payload_len && !m->payload)
		return UCOAP_ERR_INVAL;
	for (uint16_t i = 0; i < m->opt_count; i++) {
		const struct ucoap_opt *o = &m->opts[i];

		if (i > 0 && o->num < m->opts[i - 1].num)
			return UCOAP_ERR_INVAL;
		if (o->len > EXT_MAX)
			return UCOAP_ERR_INVAL;
		/* An inline value holds at most UCOAP_OPT_INLINE bytes. */
		if (!o->val && o->len > UCOAP_OPT_INLINE)
			return UCOAP_ERR_INVAL;
	}
	return 0;
}

int ucoap_msg_encode(const struct ucoap_msg *m, uint8_t *buf, size_t cap,
		     size_t *out_len)
{
	size_t pos = 0;
	uint16_t prev = 0;
	int err;

	err = check_encodable(m);
	if (err)
		return err;
	if (cap - pos < UCOAP_HEADER_LEN + (size_t)m->token_len)
		return UCOAP_ERR_NOSPACE;
	buf[pos++] =
	    (uint8_t)((UCOAP_VERSION << 6) | (m->type << 4) | m->token_len);
	buf[pos++] = m->code;
	buf[pos++] = (uint8_t)(m->mid >> 8);
	buf[pos++] = (uint8_t)m->mid;
	memcpy(buf + pos, m->token, m->token_len);
	pos += m->token_len;

	for (uint16_t i = 0; i < m->opt_count; i++) {
		const struct ucoap_opt *o = &m->opts[i];
		uint32_t delta = (uint32_t)(o->num - prev);
		size_t dext, lext;
		unsigned dn = ext_nibble(delta, &dext);
		unsigned ln = ext_nibble(o->len, &lext);

		if (cap - pos < 1 + dext + lext + (size_t)o->len)
			return UCOAP_ERR_NOSPACE;
		buf[pos++] = (uint8_t)((dn << 4) | ln);
		put_ext(buf + pos, delta, dext);
		pos += dext;
		put_ext(buf + pos, o->len, lext);
		pos += lext;
		if (o->len)
			memcpy(buf + pos, ucoap_opt_value(o), o->len);
		pos += o->len;
		prev = o->num;
	}
	/* §3: the marker only precedes a non-empty payload. */
	if (m->payload_len) {
		if (cap - pos < 1 || cap - pos - 1 < m->payload_len)
			return UCOAP_ERR_NOSPACE;
		buf[pos++] = UCOAP_PAYLOAD_MARKER;
		memcpy(buf + pos, m->payload, m->payload_len);
		pos += m->payload_len;
	}
	*out_len = pos;
	return 0;
}

/* Room for one more option at its sorted place (after equal numbers). */
static struct ucoap_opt *insert_slot(struct ucoap_msg *m, uint16_t num)
{
	uint16_t at = m->opt_count;

	while (at > 0 && m->opts[at - 1].num > num)
		at--;
	memmove(&m->opts[at + 1], &m->opts[at],
		(size_t)(m->opt_count - at) * sizeof(m->opts[0]));
	m->opt_count++;
	return &m->opts[at];
}

int ucoap_msg_add_opt(struct ucoap_msg *m, uint16_t num, const void *val,
		      size_t len)
{
	struct ucoap_opt *o;

	if (len > EXT_MAX || (len && !val))
		return UCOAP_ERR_INVAL;
	if (m->opt_count >= UCOAP_MAX_OPTIONS)
		return UCOAP_ERR_TOO_MANY_OPTS;
	o = insert_slot(m, num);
	*o = (struct ucoap_opt){.val = val, .num = num, .len = (uint32_t)len};
	return 0;
}

int ucoap_msg_add_uint(struct ucoap_msg *m, uint16_t num, uint32_t value)
{
	struct ucoap_opt *o;

	if (m->opt_count >= UCOAP_MAX_OPTIONS)
		return UCOAP_ERR_TOO_MANY_OPTS;
	o = insert_slot(m, num);
	*o = (struct ucoap_opt){.val = NULL, .num = num};
	o->len = (uint32_t)ucoap_uint_encode(value, o->inl);
	return 0;
}

void ucoap_msg_del_opt(struct ucoap_msg *m, uint16_t num)
{
	uint16_t out = 0;

	for (uint16_t i = 0; i < m->opt_count; i++)
		if (m->opts[i].num != num)
			m->opts[out++] = m->opts[i];
	m->opt_count = out;
}

/* How many pieces @sep cuts @s[0..@len) into (an empty string is one). */
static size_t count_pieces(const char *s, size_t len, char sep)
{
	size_t n = 1;

	for (size_t i = 0; i < len; i++)
		n += s[i] == sep;
	return n;
}

/* Add each @sep-separated piece of @s[0..@len) as an option @num. */
static int add_pieces(struct ucoap_msg *m, uint16_t num, const char *s,
		      size_t len, char sep)
{
	const char *end = s + len;

	for (;;) {
		const char *cut = memchr(s, sep, (size_t)(end - s));
		size_t n = cut ? (size_t)(cut - s) : (size_t)(end - s);
		int err = ucoap_msg_add_opt(m, num, s, n);

		if (err)
			return err;
		if (!cut)
			return 0;
		s = cut + 1;
	}
}

/*
 * RFC 7252 §6.4 steps 8 and 9: an empty path or a lone "/" gives no
 * Uri-Path; otherwise every segment, empty ones included ("a/b/" is a, b
 * and ""), is one Uri-Path. A non-empty query gives one Uri-Query per
 * '&'-separated argument. Capacity is checked first so a failure leaves
 * @m as it was.
 */
int ucoap_msg_set_uri(struct ucoap_msg *m, const char *url)
{
	const char *q;
	size_t plen, qlen, need = 0, old = 0;
	int err;

	if (!url)
		return UCOAP_ERR_INVAL;
	if (*url == '/')
		url++;
	q = strchr(url, '?');
	plen = q ? (size_t)(q - url) : strlen(url);
	qlen = q ? strlen(q + 1) : 0;
	if (plen)
		need += count_pieces(url, plen, '/');
	if (qlen)
		need += count_pieces(q + 1, qlen, '&');
	for (uint16_t i = 0; i < m->opt_count; i++)
		old += m->opts[i].num == UCOAP_OPT_URI_PATH ||
		       m->opts[i].num == UCOAP_OPT_URI_QUERY;
	if (m->opt_count - old + need > UCOAP_MAX_OPTIONS)
		return UCOAP_ERR_TOO_MANY_OPTS;
	if (plen > EXT_MAX || qlen > EXT_MAX)
		return UCOAP_ERR_INVAL;
	ucoap_msg_del_opt(m, UCOAP_OPT_URI_PATH);
	ucoap_msg_del_opt(m, UCOAP_OPT_URI_QUERY);
	if (plen) {
		err = add_pieces(m, UCOAP_OPT_URI_PATH, url, plen, '/');
		if (err)
			return err;
	}
	if (qlen)
		return add_pieces(m, UCOAP_OPT_URI_QUERY, q + 1, qlen, '&');
	return 0;
}

int ucoap_msg_add_query(struct ucoap_msg *m, const char *query)
{
	size_t len;

	if (!query)
		return UCOAP_ERR_INVAL;
	len = strlen(query);
	if (!len)
		return 0;
	if (len > EXT_MAX)
		return UCOAP_ERR_INVAL;
	if (m->opt_count + count_pieces(query, len, '&') > UCOAP_MAX_OPTIONS)
		return UCOAP_ERR_TOO_MANY_OPTS;
	return add_pieces(m, UCOAP_OPT_URI_QUERY, query, len, '&');
}

const struct ucoap_opt *ucoap_msg_find(const struct ucoap_msg *m, uint16_t num)
{
	for (uint16_t i = 0; i < m->opt_count; i++) {
		if (m->opts[i].num == num)
			return &m->opts[i];
		/* Sorted: nothing further on can match. */
		if (m->opts[i].num > num)
			break;
	}
	return NULL;
}

const struct ucoap_opt *ucoap_msg_find_next(const struct ucoap_msg *m,
					    const struct ucoap_opt *prev)
{
	const struct ucoap_opt *next;

	if (!prev || prev < m->opts || prev >= m->opts + m->opt_count)
		return NULL;
	next = prev + 1;
	if (next < m->opts + m->opt_count && next->num == prev->num)
		return next;
	return NULL;
}

int ucoap_msg_get_uint(const struct ucoap_msg *m, uint16_t num, uint32_t *out)
{
	const struct ucoap_opt *o = ucoap_msg_find(m, num);
	const struct ucoap_opt_info *info = ucoap_opt_info(num);

	if (!o)
		return UCOAP_ERR_NOENT;
	/*
	 * §5.4.3: a value longer than the option allows is not that option
	 * (a 4-byte Observe is no registration); critical ones never get
	 * this far (ucoap_msg_bad_critical).
	 */
	if (o->len > 4 || (info && o->len > info->max_len))
		return UCOAP_ERR_INVAL;
	*out = ucoap_uint_decode(ucoap_opt_value(o), o->len);
	return 0;
}

int ucoap_msg_content_format(const struct ucoap_msg *m)
{
	const struct ucoap_opt *o = ucoap_msg_find(m, UCOAP_OPT_CONTENT_FORMAT);

	/* §5.10.3: 0-2 bytes; anything longer is not a Content-Format. */
	if (!o || o->len > 2)
		return UCOAP_CF_NONE;
	return (int)ucoap_uint_decode(ucoap_opt_value(o), o->len);
}

/* Join every option @num with @sep into @buf, NUL-terminated. */
static int join(const struct ucoap_msg *m, uint16_t num, char sep, char *buf,
		size_t cap)
{
	size_t pos = 0;
	bool first = true;

	if (cap < 1)
		return UCOAP_ERR_NOSPACE;
	for (const struct ucoap_opt *o = ucoap_msg_find(m, num); o;
	     o = ucoap_msg_find_next(m, o)) {
		size_t need = o->len + (first ? 0 : 1);

		/* Keep one byte for the NUL. */
		if (cap - 1 - pos < need)
			return UCOAP_ERR_NOSPACE;
		if (!first)
			buf[pos++] = sep;
		memcpy(buf + pos, ucoap_opt_value(o), o->len);
		pos += o->len;
		first = false;
	}
	if (pos > INT32_MAX)
		return UCOAP_ERR_NOSPACE;
	buf[pos] = '\0';
	return (int)pos;
}

int ucoap_msg_uri_path(const struct ucoap_msg *m, char *buf, size_t cap)
{
	return join(m, UCOAP_OPT_URI_PATH, '/', buf, cap);
}

int ucoap_msg_uri_query(const struct ucoap_msg *m, char *buf, size_t cap)
{
	return join(m, UCOAP_OPT_URI_QUERY, '&', buf, cap);
}

const char *ucoap_code_str(uint8_t code, char buf[8])
{
	/* RFC 7252 §12.1.1 and RFC 8132 §2-3. */
	static const char *const methods[] = {
	    NULL, "GET", "POST", "PUT", "DELETE", "FETCH", "PATCH", "iPATCH",
	};

	if (code != UCOAP_EMPTY && code <= UCOAP_IPATCH)
		snprintf(buf, 8, "%s", methods[code]);
	else
		snprintf(buf, 8, "%u.%02u", UCOAP_CODE_CLASS(code),
			 UCOAP_CODE_DETAIL(code));
	return buf;
}

const char *ucoap_type_str(uint8_t type)
{
	static const char *const names[] = {"CON", "NON", "ACK", "RST"};

	return type <= UCOAP_TYPE_RST ? names[type] : "???";
}
