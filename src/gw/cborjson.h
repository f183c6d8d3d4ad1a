/*
 * gw_cbor: CBOR (RFC 8949) to JSON, for uplink routes with
 * payload = "json" (content-format 60) and for SenML CBOR (RFC 8428 §6,
 * content-format 112). The only module that sees <cbor.h> (libcbor); the
 * file is called cborjson.h because cbor.h is libcbor's own header name.
 *
 * The mapping follows RFC 8949 §6.1 where it speaks, and is decided here
 * where it leaves a choice:
 * - unsigned and negative integers become JSON numbers, exact at any
 *   size (past 2^53 the digits are written as they are, not rounded
 *   through a double);
 * - bignums (tags 2 and 3) of up to 64 bytes become exact JSON numbers;
 *   longer ones become base64url strings, "~"-prefixed when negative
 *   (§6.1);
 * - floats of any width become numbers; NaN and the infinities, which
 *   JSON cannot write, become null (§6.1); -0.0 stays -0.0;
 * - false, true and null map to themselves, undefined becomes null
 *   (§6.1); unassigned simple values (simple(0..19), simple(32..255))
 *   are rejected, because libcbor 0.8 refuses to decode them;
 * - byte strings become base64url strings without padding (§6.1), or
 *   base64 (tag 22) or lowercase base16 (tag 23) inside an item carrying
 *   one of the expected-conversion tags 21..23 (§3.4.5.2);
 * - text strings stay strings; one that is not valid UTF-8 or contains
 *   U+0000 (which cJSON cannot hold) is rejected;
 * - indefinite-length strings are joined, indefinite arrays and maps are
 *   written as ordinary ones;
 * - every other tag is dropped and its content converted (§6.1);
 * - a map key that is not a text string becomes the text of its JSON
 *   form: 1 -> "1", -2 -> "-2", true -> "true", 1.5 -> "1.5", a byte
 *   string -> its base64url text; an array or a map as a key is rejected
 *   (nested, its text would grow exponentially). Duplicate keys are kept
 *   in order.
 * Nesting deeper than GW_CBOR_MAX_DEPTH is rejected, and so are bytes
 * after the first item.
 */
#ifndef GW_CBORJSON_H
#define GW_CBORJSON_H

#include <stddef.h>
#include <stdint.h>

#define GW_CBOR_MAX_DEPTH 32

struct cJSON;

/*
 * Decode the single CBOR item in @p (@len bytes, borrowed) into a new cJSON
 * tree in *@out (the caller frees it with cJSON_Delete). Returns 0,
 * -EBADMSG when @p is not exactly one well-formed item or holds a text
 * string this mapping rejects (see above), -ENOMEM.
 */
int gw_cbor_to_cjson(const uint8_t *p, size_t len, struct cJSON **out);

/*
 * The same, written as compact JSON text: *@out is a new NUL-terminated
 * string (free() it), *@out_len its length. Same errors.
 */
int gw_cbor_to_json(const uint8_t *p, size_t len, char **out, size_t *out_len);

#endif
