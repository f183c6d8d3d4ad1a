/*
 * ucoap: the CoAP message (RFC 7252 §3) and its codec.
 *
 * A struct ucoap_msg is plain data, the C form of microCoAPy's CoapPacket:
 * type, code, message id, token, options, payload. Decoding never copies:
 * option values and the payload are views into the datagram, valid as long
 * as that buffer is. Encoding writes into a caller buffer and checks the
 * capacity before every write. Nothing here allocates, logs or does I/O.
 */
#ifndef UCOAP_MSG_H
#define UCOAP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ucoap/error.h>

#define UCOAP_VERSION 1
#define UCOAP_HEADER_LEN 4
#define UCOAP_TOKEN_MAX 8      /* RFC 7252 §3: TKL 9-15 are a format error */
#define UCOAP_PAYLOAD_MARKER 0xFF
/*
 * Options one message may carry. A datagram with more is rejected with
 * UCOAP_ERR_TOO_MANY_OPTS (never truncated: microCoAPy silently dropped the
 * payload past its tenth option). 40 leaves room for deep Uri-Paths.
 */
#define UCOAP_MAX_OPTIONS 40
/* Bytes of storage an option carries inline (enough for any uint option). */
#define UCOAP_OPT_INLINE 4

/* Message types, RFC 7252 §3. */
enum ucoap_type {
	UCOAP_TYPE_CON = 0,
	UCOAP_TYPE_NON = 1,
	UCOAP_TYPE_ACK = 2,
	UCOAP_TYPE_RST = 3,
};

/* A code is class.detail packed as ccc ddddd, RFC 7252 §3 and §12.1. */
#define UCOAP_CODE(c, d) ((uint8_t)(((c) << 5) | (d)))
#define UCOAP_CODE_CLASS(code) ((uint8_t)(code) >> 5)
#define UCOAP_CODE_DETAIL(code) ((uint8_t)(code)&0x1f)

enum ucoap_code {
	UCOAP_EMPTY = UCOAP_CODE(0, 0),
	/* Methods, RFC 7252 §5.8 (FETCH/PATCH/iPATCH: RFC 8132). */
	UCOAP_GET = UCOAP_CODE(0, 1),
	UCOAP_POST = UCOAP_CODE(0, 2),
	UCOAP_PUT = UCOAP_CODE(0, 3),
	UCOAP_DELETE = UCOAP_CODE(0, 4),
	UCOAP_FETCH = UCOAP_CODE(0, 5),
	UCOAP_PATCH = UCOAP_CODE(0, 6),
	UCOAP_IPATCH = UCOAP_CODE(0, 7),
	/* Responses, RFC 7252 §5.9 (2.31 and 4.08: RFC 7959). */
	UCOAP_CREATED = UCOAP_CODE(2, 1),
	UCOAP_DELETED = UCOAP_CODE(2, 2),
	UCOAP_VALID = UCOAP_CODE(2, 3),
	UCOAP_CHANGED = UCOAP_CODE(2, 4),
	UCOAP_CONTENT = UCOAP_CODE(2, 5),
	UCOAP_CONTINUE = UCOAP_CODE(2, 31),
	UCOAP_BAD_REQUEST = UCOAP_CODE(4, 0),
	UCOAP_UNAUTHORIZED = UCOAP_CODE(4, 1),
	UCOAP_BAD_OPTION = UCOAP_CODE(4, 2),
	UCOAP_FORBIDDEN = UCOAP_CODE(4, 3),
	UCOAP_NOT_FOUND = UCOAP_CODE(4, 4),
	UCOAP_METHOD_NOT_ALLOWED = UCOAP_CODE(4, 5),
	UCOAP_NOT_ACCEPTABLE = UCOAP_CODE(4, 6),
	UCOAP_REQUEST_ENTITY_INCOMPLETE = UCOAP_CODE(4, 8),
	UCOAP_PRECONDITION_FAILED = UCOAP_CODE(4, 12),
	UCOAP_REQUEST_ENTITY_TOO_LARGE = UCOAP_CODE(4, 13),
	UCOAP_UNSUPPORTED_CONTENT_FORMAT = UCOAP_CODE(4, 15),
	UCOAP_INTERNAL_SERVER_ERROR = UCOAP_CODE(5, 0),
	UCOAP_NOT_IMPLEMENTED = UCOAP_CODE(5, 1),
	UCOAP_BAD_GATEWAY = UCOAP_CODE(5, 2),
	UCOAP_SERVICE_UNAVAILABLE = UCOAP_CODE(5, 3),
	UCOAP_GATEWAY_TIMEOUT = UCOAP_CODE(5, 4),
	UCOAP_PROXYING_NOT_SUPPORTED = UCOAP_CODE(5, 5),
};

/* Option numbers, RFC 7252 §5.10 and §12.2, RFC 7641 §2, RFC 7959 §2.1. */
enum ucoap_option_num {
	UCOAP_OPT_IF_MATCH = 1,        /* §5.10.8.1, repeatable */
	UCOAP_OPT_URI_HOST = 3,        /* §5.10.1 */
	UCOAP_OPT_ETAG = 4,            /* §5.10.6, repeatable in requests */
	UCOAP_OPT_IF_NONE_MATCH = 5,   /* §5.10.8.2 */
	UCOAP_OPT_OBSERVE = 6,         /* RFC 7641 §2 */
	UCOAP_OPT_URI_PORT = 7,        /* §5.10.1 */
	UCOAP_OPT_LOCATION_PATH = 8,   /* §5.10.7, repeatable */
	UCOAP_OPT_URI_PATH = 11,       /* §5.10.1, repeatable */
	UCOAP_OPT_CONTENT_FORMAT = 12, /* §5.10.3 */
	UCOAP_OPT_MAX_AGE = 14,        /* §5.10.5 */
	UCOAP_OPT_URI_QUERY = 15,      /* §5.10.1, repeatable */
	UCOAP_OPT_ACCEPT = 17,         /* §5.10.4 */
	UCOAP_OPT_LOCATION_QUERY = 20, /* §5.10.7, repeatable */
	UCOAP_OPT_BLOCK2 = 23,         /* RFC 7959 §2.1 */
	UCOAP_OPT_BLOCK1 = 27,         /* RFC 7959 §2.1 */
	UCOAP_OPT_SIZE2 = 28,          /* RFC 7959 §4 */
	UCOAP_OPT_PROXY_URI = 35,      /* §5.10.2 */
	UCOAP_OPT_PROXY_SCHEME = 39,   /* §5.10.2 */
	UCOAP_OPT_SIZE1 = 60,          /* §5.10.9 */
};

/* Content-Format numbers, RFC 7252 §12.3, RFC 8428, RFC 8949. */
enum ucoap_content_format {
	UCOAP_CF_NONE = -1, /* no Content-Format option (microCoAPy's COAP_NONE) */
	UCOAP_CF_TEXT = 0,
	UCOAP_CF_LINK_FORMAT = 40,
	UCOAP_CF_XML = 41,
	UCOAP_CF_OCTET_STREAM = 42,
	UCOAP_CF_EXI = 47,
	UCOAP_CF_JSON = 50,
	UCOAP_CF_CBOR = 60,
	UCOAP_CF_SENML_JSON = 110,
	UCOAP_CF_SENML_CBOR = 112,
};

/* Option value formats, RFC 7252 §3.2. */
enum ucoap_opt_format {
	UCOAP_FMT_EMPTY,
	UCOAP_FMT_OPAQUE,
	UCOAP_FMT_UINT,
	UCOAP_FMT_STRING,
};

/* One row of the option table: what the core knows about an option. */
struct ucoap_opt_info {
	uint16_t num;
	const char *name; /* "Uri-Path" */
	enum ucoap_opt_format format;
	uint16_t min_len, max_len; /* RFC 7252 §5.10 table */
	bool repeatable;
};

/*
 * One option. A decoded option's @val points into the datagram. An option
 * added with ucoap_msg_add_uint() keeps its value in @inl and has @val NULL,
 * so a struct ucoap_msg can be copied by value; read values through
 * ucoap_opt_value() rather than @val.
 */
struct ucoap_opt {
	const uint8_t *val;
	uint16_t num;
	uint32_t len; /* up to 65535 + 269 (RFC 7252 §3.1): not uint16_t */
	uint8_t inl[UCOAP_OPT_INLINE];
};

/*
 * A CoAP message. Options are kept sorted by number (stable for repeated
 * options, so Uri-Path segments keep their order); the decoder produces them
 * that way and the ucoap_msg_add_* helpers keep it so.
 */
struct ucoap_msg {
	uint8_t type; /* enum ucoap_type */
	uint8_t code; /* enum ucoap_code */
	uint16_t mid;
	uint8_t token_len;
	uint8_t token[UCOAP_TOKEN_MAX];
	uint16_t opt_count;
	struct ucoap_opt opts[UCOAP_MAX_OPTIONS];
	const uint8_t *payload; /* borrowed; NULL when payload_len is 0 */
	size_t payload_len;
};

/* Reset @m to an empty message of @type and @code (mid 0, no token). */
void ucoap_msg_init(struct ucoap_msg *m, uint8_t type, uint8_t code);

/*
 * Decode the datagram @buf of @len bytes into @m.
 * @m's option values and payload point into @buf afterwards.
 * Returns 0, or UCOAP_ERR_SHORT, _VERSION, _TOKEN_LEN, _OPT_NIBBLE,
 * _OPT_TRUNCATED, _PAYLOAD_MARKER, _TOO_MANY_OPTS, _OPT_NUMBER,
 * _EMPTY_NOT_EMPTY or _CODE_CLASS. On error @m is unspecified, except that
 * after any error but _SHORT and _VERSION its type, code, mid and (when
 * TKL <= 8) token are valid: enough to answer a CON with RST (§4.2). A
 * token cut short by the end of the datagram is _TOKEN_LEN, token_len 0.
 */
int ucoap_msg_decode(struct ucoap_msg *m, const uint8_t *buf, size_t len);

/*
 * Encode @m into @buf of @cap bytes; the length written goes to *@out_len.
 * Options must be sorted by number. Uint options should already be minimal
 * (ucoap_msg_add_uint() makes them so). Returns 0, UCOAP_ERR_NOSPACE when
 * @cap is too small (nothing useful in @buf then), or UCOAP_ERR_INVAL for
 * a token longer than 8, unsorted options or a bad type.
 */
int ucoap_msg_encode(const struct ucoap_msg *m, uint8_t *buf, size_t cap,
		     size_t *out_len);

/*
 * Add an option, keeping the options sorted (after any options of the same
 * number). @val is borrowed: it must outlive every use of @m. Returns 0,
 * UCOAP_ERR_TOO_MANY_OPTS or UCOAP_ERR_INVAL (@len > 65535 + 269).
 */
int ucoap_msg_add_opt(struct ucoap_msg *m, uint16_t num, const void *val,
		      size_t len);
/* Add a uint option in its minimal form (RFC 7252 §3.2), stored inline. */
int ucoap_msg_add_uint(struct ucoap_msg *m, uint16_t num, uint32_t value);
/* Remove every option numbered @num. */
void ucoap_msg_del_opt(struct ucoap_msg *m, uint16_t num);

/*
 * Split @url ("a/b/c?x=1&y=2", a leading '/' allowed) into Uri-Path options,
 * one per segment, and Uri-Query options, one per '&'-separated argument
 * (microCoAPy put the whole query in one option). Values are views into
 * @url, which must outlive @m. No percent-decoding: pass decoded text.
 */
int ucoap_msg_set_uri(struct ucoap_msg *m, const char *url);
/* As ucoap_msg_set_uri() for a query string alone ("x=1&y=2"). */
int ucoap_msg_add_query(struct ucoap_msg *m, const char *query);

/* The value bytes of @o, wherever they are stored. */
static inline const uint8_t *ucoap_opt_value(const struct ucoap_opt *o)
{
	return o->val ? o->val : o->inl;
}

/* The first option numbered @num, or NULL. */
const struct ucoap_opt *ucoap_msg_find(const struct ucoap_msg *m, uint16_t num);
/* The next option with the same number as @prev, or NULL. */
const struct ucoap_opt *ucoap_msg_find_next(const struct ucoap_msg *m,
					    const struct ucoap_opt *prev);
/*
 * Read the uint option @num into *@out. Returns 0, UCOAP_ERR_NOENT when it
 * is absent, UCOAP_ERR_INVAL when longer than 4 bytes or than RFC 7252's
 * table allows for @num (§5.4.3: then it is not that option).
 */
int ucoap_msg_get_uint(const struct ucoap_msg *m, uint16_t num, uint32_t *out);
/* The Content-Format, or UCOAP_CF_NONE when absent or malformed. */
int ucoap_msg_content_format(const struct ucoap_msg *m);

/*
 * Join the Uri-Path options with '/' into @buf (NUL-terminated, no leading
 * '/'; "" for the root). Returns the length, or UCOAP_ERR_NOSPACE.
 */
int ucoap_msg_uri_path(const struct ucoap_msg *m, char *buf, size_t cap);
/* Join the Uri-Query options with '&' likewise. */
int ucoap_msg_uri_query(const struct ucoap_msg *m, char *buf, size_t cap);

/* Decode a uint option value of up to 4 bytes, big endian (§3.2). */
uint32_t ucoap_uint_decode(const uint8_t *val, size_t len);
/* Encode @v minimally into @out[4]; returns the length (0 for v == 0). */
size_t ucoap_uint_encode(uint32_t v, uint8_t out[4]);

/* The option table row for @num, or NULL for an option the core lacks. */
const struct ucoap_opt_info *ucoap_opt_info(uint16_t num);
/* Odd option numbers are critical, RFC 7252 §5.4.1. */
static inline bool ucoap_opt_is_critical(uint16_t num) { return num & 1; }

/*
 * The first critical option in @m that the core does not recognise, or one
 * whose length is outside the table's range (§5.4.3 treats those as
 * unrecognised). Returns its number, or 0 when there is none.
 */
uint16_t ucoap_msg_bad_critical(const struct ucoap_msg *m);

/* "2.05", "GET", "4.04": @buf must hold 8 bytes; returns @buf. */
const char *ucoap_code_str(uint8_t code, char buf[8]);
/* "CON", "NON", "ACK", "RST". */
const char *ucoap_type_str(uint8_t type);

#endif
