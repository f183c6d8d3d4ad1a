/*
 * gw_payload: what the bridge publishes besides raw payloads -- the JSON
 * result of a downlink request -- and the checks that decide between text
 * and base64. The only module that sees the JSON library.
 */
#ifndef GW_PAYLOAD_H
#define GW_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Well-formed UTF-8 without NUL (so it can travel as a JSON string). */
bool gw_utf8_text(const uint8_t *p, size_t len);

/*
 * The downlink result document (spec "Default topic layout"):
 * {"code":"2.05","payload":"..."} when @payload is UTF-8 text,
 * {"code":"2.05","payload_b64":"..."} otherwise, {"code":"timeout"} when
 * @payload is NULL. Written to @buf (NUL-terminated). Returns the length,
 * -ENOSPC or -ENOMEM.
 */
int gw_payload_result_json(const char *code, const uint8_t *payload, size_t len,
			   char *buf, size_t cap);

/* Standard base64 (RFC 4648 §4) of @len bytes into @buf; -ENOSPC. */
int gw_base64(const uint8_t *in, size_t len, char *buf, size_t cap);

#endif
