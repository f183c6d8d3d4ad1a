/* gw_utf8: see utf8.h. */
#include "utf8.h"

#include <stdint.h>

bool gw_utf8_valid(const void *s, size_t len, enum gw_utf8_rules rules)
{
	const unsigned char *p = s;
	size_t i = 0;

	while (i < len) {
		uint32_t c = p[i];
		unsigned extra;
		uint32_t min;

		if (c < 0x80) {
			extra = 0;
			min = 0;
		} else if ((c & 0xE0) == 0xC0) {
			extra = 1;
			min = 0x80;
			c &= 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			extra = 2;
			min = 0x800;
			c &= 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			extra = 3;
			min = 0x10000;
			c &= 0x07;
		} else {
			return false;
		}
		if (len - i - 1 < extra)
			return false; /* truncated sequence */
		for (unsigned k = 1; k <= extra; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			c = (c << 6) | (p[i + k] & 0x3F);
		}
		/* overlong forms, values past U+10FFFF, surrogates */
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return false;
		if (c == 0)
			return false;
		if (rules == GW_UTF8_MQTT &&
		    (c <= 0x1F || (c >= 0x7F && c <= 0x9F) ||
		     (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE))
			return false;
		i += extra + 1;
	}
	return true;
}
