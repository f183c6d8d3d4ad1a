/* gw_payload: see payload.h. */
#include "payload.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

bool gw_utf8_text(const uint8_t *p, size_t len)
{
	return gw_utf8_valid(p, len, GW_UTF8_TEXT);
}

int gw_base64(const uint8_t *in, size_t len, char *buf, size_t cap)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t need = (len + 2) / 3 * 4 + 1, o = 0;

	if (cap < need)
		return -ENOSPC;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		buf[o++] = tab[(v >> 18) & 63];
		buf[o++] = tab[(v >> 12) & 63];
		buf[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		buf[o++] = i + 2 < len ? tab[v & 63] : '=';
	}
	buf[o] = '\0';
	return (int)o;
}

int gw_payload_result_json(const char *code, const uint8_t *payload, size_t len,
			   char *buf, size_t cap)
{
	cJSON *doc = cJSON_CreateObject();
	char *text = NULL;
	int rc = -ENOMEM;

	if (!doc || !cJSON_AddStringToObject(doc, "code", code))
		goto out;
	if (payload) {
		if (gw_utf8_text(payload, len)) {
			/* cJSON takes NUL-terminated strings. */
			text = malloc(len + 1);
			if (!text)
				goto out;
			memcpy(text, payload, len);
			text[len] = '\0';
			if (!cJSON_AddStringToObject(doc, "payload", text))
				goto out;
		} else {
			size_t n = (len + 2) / 3 * 4 + 1;

			text = malloc(n);
			if (!text || gw_base64(payload, len, text, n) < 0 ||
			    !cJSON_AddStringToObject(doc, "payload_b64", text))
				goto out;
		}
	}
	if (cap > (size_t)INT32_MAX)
		cap = INT32_MAX;
	/* PrintPreallocated wants 5 bytes of slack for its own estimate. */
	if (!cJSON_PrintPreallocated(doc, buf, (int)cap, 0)) {
		rc = -ENOSPC;
		goto out;
	}
	rc = (int)strlen(buf);
out:
	free(text);
	cJSON_Delete(doc);
	return rc;
}
