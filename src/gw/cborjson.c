/* gw_cbor: see cborjson.h. */
#include "cborjson.h"

#include <cbor.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"

/*
 * Integers below 10^15 are exact as doubles and cJSON prints them as plain
 * digits; larger ones would come out rounded or as 1e+15, so their digits
 * are written as they are.
 */
#define PLAIN_INT_LIMIT 1000000000000000ULL
/* Bignums longer than this stay base64url: decimal conversion is O(n^2). */
#define BIGNUM_MAX_BYTES 64

/* How byte strings are written (RFC 8949 §3.4.5.2, tags 21..23). */
enum bytes_enc {
	ENC_BASE64URL, /* the default (§6.1) and tag 21 */
	ENC_BASE64,    /* tag 22 */
	ENC_BASE16,    /* tag 23 */
};

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* A heap buffer that grows: strings are joined from chunks. */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const uint8_t *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		uint8_t *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* The bytes of a definite or indefinite byte or text string, joined. */
static int string_bytes(const cbor_item_t *it, bool text, struct buf *out)
{
	int rc = buf_add(out, NULL, 0);

	if (rc < 0)
		return rc;
	if (text ? cbor_string_is_definite(it)
		 : cbor_bytestring_is_definite(it))
		return buf_add(
		    out,
		    text ? cbor_string_handle(it) : cbor_bytestring_handle(it),
		    text ? cbor_string_length(it) : cbor_bytestring_length(it));
	size_t n = text ? cbor_string_chunk_count(it)
			: cbor_bytestring_chunk_count(it);
	cbor_item_t **ch = text ? cbor_string_chunks_handle(it)
				: cbor_bytestring_chunks_handle(it);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = string_bytes(ch[i], text, out);
	return rc;
}

static char *encode_bytes(const uint8_t *p, size_t n, enum bytes_enc enc)
{
	size_t cap = enc == ENC_BASE16 ? 2 * n + 1 : (n + 2) / 3 * 4 + 1;
	char *s = malloc(cap);
	size_t o = 0;

	if (!s)
		return NULL;
	if (enc == ENC_BASE64) {
		if (gw_base64(p, n, s, cap) < 0) {
			free(s);
			return NULL;
		}
		return s;
	}
	if (enc == ENC_BASE16) {
		static const char hex[] = "0123456789abcdef";

		for (size_t i = 0; i < n; i++) {
			s[o++] = hex[p[i] >> 4];
			s[o++] = hex[p[i] & 15];
		}
		s[o] = '\0';
		return s;
	}
	/* base64url without padding (RFC 4648 §5, RFC 8949 §6.1) */
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		s[o++] = b64url[(v >> 18) & 63];
		s[o++] = b64url[(v >> 12) & 63];
		if (i + 1 < n)
			s[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < n)
			s[o++] = b64url[v & 63];
	}
	s[o] = '\0';
	return s;
}

/* A number written as its exact digits (cJSON keeps them as they are). */
static cJSON *raw_digits(bool negative, unsigned __int128 v)
{
	char d[48], *e = d + sizeof(d) - 1;

	*e = '\0';
	do {
		*--e = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v);
	if (negative)
		*--e = '-';
	return cJSON_CreateRaw(e);
}

static cJSON *from_uint(uint64_t v)
{
	if (v < PLAIN_INT_LIMIT)
		return cJSON_CreateNumber((double)v);
	return raw_digits(false, v);
}

/* Major type 1 holds n for the value -1 - n (RFC 8949 §3.1). */
static cJSON *from_negint(uint64_t n)
{
	if (n < PLAIN_INT_LIMIT - 1)
		return cJSON_CreateNumber(-1.0 - (double)n);
	return raw_digits(true, (unsigned __int128)n + 1);
}

/*
 * A bignum (RFC 8949 §3.4.3): the big-endian magnitude n, the value n
 * (tag 2) or -1 - n (tag 3), written in decimal by repeated division.
 */
static cJSON *from_bignum(const struct buf *b, bool negative)
{
	uint8_t mag[BIGNUM_MAX_BYTES + 1];
	char digits[BIGNUM_MAX_BYTES * 3 + 4], *e = digits + sizeof(digits) - 1;
	size_t n = b->len + 1, start;

	mag[0] = 0;
	memcpy(mag + 1, b->p, b->len);
	if (negative) /* -1 - n is written as -(n + 1) */
		for (size_t i = n; i-- > 0;)
			if (++mag[i] != 0)
				break;
	*e = '\0';
	for (start = 0; start < n && mag[start] == 0; start++)
		;
	if (start == n)
		*--e = '0';
	while (start < n) {
		unsigned rem = 0;

		for (size_t i = start; i < n; i++) {
			unsigned cur = rem * 256 + mag[i];

			mag[i] = (uint8_t)(cur / 10);
			rem = cur % 10;
		}
		*--e = (char)('0' + rem);
		while (start < n && mag[start] == 0)
			start++;
	}
	if (negative)
		*--e = '-';
	return cJSON_CreateRaw(e);
}

static cJSON *from_float(double d)
{
	if (isnan(d) || isinf(d))
		return cJSON_CreateNull();
	char text[32];

	/* cJSON would print -0.0 as 0; JSON can say it. */
	if (d == 0 && signbit(d))
		return cJSON_CreateRaw("-0.0");
	/*
	 * cJSON prints 15 significant digits and accepts them when they come
	 * back close enough; a reading must come back exactly, which takes
	 * up to 17 (0.30000000000000004 is not 0.3).
	 */
	snprintf(text, sizeof(text), "%.15g", d);
	if (strtod(text, NULL) == d)
		return cJSON_CreateNumber(d);
	snprintf(text, sizeof(text), "%.17g", d);
	return cJSON_CreateRaw(text);
}

static int convert(const cbor_item_t *it, enum bytes_enc enc, unsigned depth,
		   cJSON **out);

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Keys that are distinct in CBOR can have the same JSON text ({1: "a",
 * "1": "b"}), and a map may repeat a key: JSON readers would keep one of
 * the values and drop the other. -EBADMSG then. Sorted, not compared
 * pairwise: a map may have thousands of keys.
 */
static int check_keys_unique(const cJSON *obj, size_t n)
{
	const char **keys;
	const cJSON *c;
	size_t i = 0;
	int rc = 0;

	if (n < 2)
		return 0;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (c = obj->child; c && i < n; c = c->next)
		keys[i++] = c->string;
	qsort(keys, i, sizeof(*keys), cmp_str);
	for (size_t j = 1; j < i && rc == 0; j++)
		if (strcmp(keys[j - 1], keys[j]) == 0)
			rc = -EBADMSG;
	free(keys);
	return rc;
}

/*
 * A map key as text: a text string as it is, any other scalar as its JSON
 * text. An array or map as a key is refused: its text would be escaped
 * again at every level of nesting, doubling in size each time.
 */
static int key_text(const cbor_item_t *key, enum bytes_enc enc, unsigned depth,
		    char **out)
{
	cJSON *k = NULL;
	int rc;

	if (cbor_isa_array(key) || cbor_isa_map(key))
		return -EBADMSG;
	rc = convert(key, enc, depth, &k);
	if (rc < 0)
		return rc;
	if (cJSON_IsArray(k) || cJSON_IsObject(k))
		rc = -EBADMSG; /* a tagged array or map */
	else if (cJSON_IsString(k) || cJSON_IsRaw(k))
		*out = strdup(k->valuestring);
	else
		*out = cJSON_PrintUnformatted(k);
	cJSON_Delete(k);
	if (rc < 0)
		return rc;
	return *out ? 0 : -ENOMEM;
}

static int convert_string(const cbor_item_t *it, bool text, enum bytes_enc enc,
			  cJSON **out)
{
	struct buf b = {0};
	int rc = string_bytes(it, text, &b);

	if (rc < 0)
		goto done;
	if (text) {
		if (!gw_utf8_text(b.p, b.len)) {
			rc = -EBADMSG;
			goto done;
		}
		*out = cJSON_CreateString((const char *)b.p);
	} else {
		char *s = encode_bytes(b.p, b.len, enc);

		*out = s ? cJSON_CreateString(s) : NULL;
		free(s);
	}
	rc = *out ? 0 : -ENOMEM;
done:
	free(b.p);
	return rc;
}

static int convert_tag(const cbor_item_t *it, enum bytes_enc enc,
		       unsigned depth, cJSON **out)
{
	uint64_t tag = cbor_tag_value(it);
	cbor_item_t *content = cbor_tag_item(it); /* a new reference */
	int rc;

	if ((tag == 2 || tag == 3) && cbor_isa_bytestring(content)) {
		struct buf b = {0};

		rc = string_bytes(content, false, &b);
		if (rc == 0 && b.len <= BIGNUM_MAX_BYTES) {
			*out = from_bignum(&b, tag == 3);
		} else if (rc == 0) {
			/* §6.1: base64url, with '~' for a negative one. */
			char *s = encode_bytes(b.p, b.len, ENC_BASE64URL);
			char *t = s ? malloc(strlen(s) + 2) : NULL;

			if (t) {
				snprintf(t, strlen(s) + 2, "%s%s",
					 tag == 3 ? "~" : "", s);
				*out = cJSON_CreateString(t);
			}
			free(t);
			free(s);
		}
		free(b.p);
		if (rc == 0 && !*out)
			rc = -ENOMEM;
	} else {
		if (tag == 21)
			enc = ENC_BASE64URL;
		else if (tag == 22)
			enc = ENC_BASE64;
		else if (tag == 23)
			enc = ENC_BASE16;
		rc = convert(content, enc, depth + 1, out);
	}
	cbor_decref(&content);
	return rc;
}

static int convert(const cbor_item_t *it, enum bytes_enc enc, unsigned depth,
		   cJSON **out)
{
	int rc = 0;

	*out = NULL;
	if (depth > GW_CBOR_MAX_DEPTH)
		return -EBADMSG;
	switch (cbor_typeof(it)) {
	case CBOR_TYPE_UINT:
		*out = from_uint(cbor_get_int(it));
		break;
	case CBOR_TYPE_NEGINT:
		*out = from_negint(cbor_get_int(it));
		break;
	case CBOR_TYPE_BYTESTRING:
		return convert_string(it, false, enc, out);
	case CBOR_TYPE_STRING:
		return convert_string(it, true, enc, out);
	case CBOR_TYPE_ARRAY: {
		cbor_item_t **items = cbor_array_handle(it);
		size_t n = cbor_array_size(it);

		*out = cJSON_CreateArray();
		for (size_t i = 0; *out && i < n; i++) {
			cJSON *e;

			rc = convert(items[i], enc, depth + 1, &e);
			if (rc < 0)
				break;
			if (!cJSON_AddItemToArray(*out, e)) {
				cJSON_Delete(e);
				rc = -ENOMEM;
				break;
			}
		}
		break;
	}
	case CBOR_TYPE_MAP: {
		struct cbor_pair *pairs = cbor_map_handle(it);
		size_t n = cbor_map_size(it);

		*out = cJSON_CreateObject();
		for (size_t i = 0; *out && i < n; i++) {
			char *key = NULL;
			cJSON *v = NULL;

			rc = key_text(pairs[i].key, enc, depth + 1, &key);
			if (rc == 0)
				rc =
				    convert(pairs[i].value, enc, depth + 1, &v);
			if (rc == 0 && !cJSON_AddItemToObject(*out, key, v)) {
				cJSON_Delete(v);
				rc = -ENOMEM;
			}
			free(key);
			if (rc < 0)
				break;
		}
		if (rc == 0 && *out)
			rc = check_keys_unique(*out, n);
		break;
	}
	case CBOR_TYPE_TAG:
		return convert_tag(it, enc, depth, out);
	case CBOR_TYPE_FLOAT_CTRL:
		if (!cbor_float_ctrl_is_ctrl(it)) {
			*out = from_float(cbor_float_get_float(it));
		} else if (cbor_is_bool(it)) {
			*out = cJSON_CreateBool(cbor_get_bool(it));
		} else {
			/* null, undefined and other simple values (§6.1) */
			*out = cJSON_CreateNull();
		}
		break;
	}
	if (rc < 0) {
		cJSON_Delete(*out);
		*out = NULL;
		return rc;
	}
	return *out ? 0 : -ENOMEM;
}

/*
 * cbor_load allocates a definite array or map for the size its header
 * claims before reading any element, so three bytes could ask for
 * gigabytes. A first pass with libcbor's streaming decoder (which
 * allocates nothing) rejects a collection that claims more elements than
 * there are bytes left, each element needing at least one.
 */
struct precheck {
	size_t left;
	bool bad;
};

static void pre_array(void *ctx, size_t n)
{
	struct precheck *c = ctx;

	if (n > c->left)
		c->bad = true;
}

static void pre_map(void *ctx, size_t n)
{
	struct precheck *c = ctx;

	if (n > c->left / 2)
		c->bad = true;
}

static bool sizes_plausible(const uint8_t *p, size_t len)
{
	struct cbor_callbacks cb = cbor_empty_callbacks;
	struct precheck c = {0};
	size_t pos = 0;

	cb.array_start = pre_array;
	cb.map_start = pre_map;
	while (pos < len && !c.bad) {
		struct cbor_decoder_result r;

		c.left = len - pos;
		r = cbor_stream_decode(p + pos, len - pos, &cb, &c);
		if (r.status != CBOR_DECODER_FINISHED || r.read == 0)
			return false;
		pos += r.read;
	}
	return !c.bad;
}

int gw_cbor_to_cjson(const uint8_t *p, size_t len, cJSON **out)
{
	struct cbor_load_result res;
	cbor_item_t *it;
	int rc;

	if (len == 0 || !sizes_plausible(p, len))
		return -EBADMSG;
	it = cbor_load(p, len, &res);
	if (!it)
		return res.error.code == CBOR_ERR_MEMERROR ? -ENOMEM : -EBADMSG;
	if (res.read != len)
		rc = -EBADMSG; /* a payload is one item (RFC 8949 §5.1) */
	else
		rc = convert(it, ENC_BASE64URL, 0, out);
	cbor_decref(&it);
	return rc;
}

int gw_cbor_to_json(const uint8_t *p, size_t len, char **out, size_t *out_len)
{
	cJSON *doc = NULL;
	int rc = gw_cbor_to_cjson(p, len, &doc);

	if (rc < 0)
		return rc;
	*out = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (!*out)
		return -ENOMEM;
	*out_len = strlen(*out);
	return 0;
}
