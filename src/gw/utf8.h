/*
 * gw_utf8: the one UTF-8 validator of the daemon, with the two rule sets
 * its callers need: text that may travel as a JSON string (payloads) and
 * the stricter MQTT string (topics, filters, user properties).
 */
#ifndef GW_UTF8_H
#define GW_UTF8_H

#include <stdbool.h>
#include <stddef.h>

enum gw_utf8_rules {
	/*
	 * Well-formed UTF-8 (RFC 3629 §3-4: no overlong forms, no
	 * surrogates, nothing above U+10FFFF) without U+0000.
	 */
	GW_UTF8_TEXT,
	/*
	 * GW_UTF8_TEXT, and no control characters (U+0001..U+001F,
	 * U+007F..U+009F) and no non-characters (U+FDD0..U+FDEF, U+xxFFFE,
	 * U+xxFFFF). MQTT 3.1.1 §1.5.3 / MQTT 5 §1.5.4 only say SHOULD NOT,
	 * but the mosquitto broker drops the connection over them, which
	 * would make one bad publish cost every queued message a reconnect.
	 */
	GW_UTF8_MQTT,
};

/* Are the @len bytes at @s valid under @rules? @s is borrowed. */
bool gw_utf8_valid(const void *s, size_t len, enum gw_utf8_rules rules);

#endif
