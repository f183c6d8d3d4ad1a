/*
 * gw_route: the pattern, template and lookup machinery shared by uplink
 * routes (CoAP Uri-Path -> MQTT topic), downlink routes (MQTT topic ->
 * CoAP request) and the per-device publish/subscribe permissions.
 *
 * A path or topic is handled as an array of segment views (struct gw_seg):
 * for a CoAP request they point straight into the Uri-Path options of the
 * receive buffer, for an MQTT topic into the topic string. Matching and
 * template expansion never allocate; compiling a pattern or template and
 * building an index do (once, at config load).
 *
 * Pattern syntax (spec "Patterns"; MQTT 3.1.1 §4.7.1):
 * - segments are separated by '/'; "a//b" has an empty middle segment;
 * - '+' alone in a segment matches exactly one segment (any text, even
 *   empty);
 * - '#' alone in the last segment matches the rest: ZERO or more
 *   segments, as in MQTT, so "a/#" matches "a", "a/b" and "a/b/c";
 * - '+' or '#' mixed with other characters in a segment, '#' anywhere but
 *   last, and the empty pattern are errors.
 * Every wildcard is a capture, numbered from 1 in order of appearance.
 *
 * Template syntax: literal text with placeholders "{1}".."{N}" (a
 * capture of the pattern), "{device}" (the device name) and "{path}" (the
 * request's whole Uri-Path joined with '/'). Any other '{' or '}' is an
 * error (there is no escape), as is a placeholder the caller did not
 * allow. A '#' capture expands to its segments joined with '/'. When a
 * multi-segment value ('#' capture or {path}) is empty and the placeholder
 * directly follows a '/', that '/' is dropped too: "home/{1}" with "a/#"
 * matching "a" gives "home", not "home/".
 */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* At most this many wildcards per pattern (so captures fit on the stack). */
#define GW_PATTERN_MAX_WILDCARDS 16
/*
 * Topic level limit checked by gw_topic_valid() (mosquitto refuses deeper
 * topics by default); also a sensible size for a caller's segment array.
 */
#define GW_TOPIC_MAX_LEVELS 200
/* MQTT 3.1.1 §1.5.3: a UTF-8 string is at most 65535 bytes. */
#define GW_TOPIC_MAX_LEN 65535
/*
 * The size of the buffers the daemon expands topics and Uri-Paths into.
 * Longer ones are refused where they are built (a template that expands
 * past it is a 4.13 or an error on the result topic), not truncated.
 */
#define GW_TOPIC_BUF 1024

/* A view of one path segment or topic level: borrowed, not NUL-terminated. */
struct gw_seg {
	const char *p;
	size_t len;
};

/*
 * Split @len bytes of @s at every '/' into @segs (at most @max). The views
 * point into @s. "" gives 0 segments; "a/" gives "a" and "". Returns the
 * number of segments or -E2BIG when there are more than @max.
 */
int gw_path_split(const char *s, size_t len, struct gw_seg *segs, unsigned max);

/*
 * FNV-1a of @len bytes: fast, and good enough for the route index's
 * segments and for fingerprints of payloads (pub/sub's ETags). Inline:
 * the index hashes every segment of every request.
 */
static inline uint32_t gw_fnv1a(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}

/* ---- Patterns ---- */

enum gw_pattern_kind {
	GW_SEG_LITERAL = 0,
	GW_SEG_PLUS = 1, /* '+' */
	GW_SEG_HASH = 2, /* '#', always last */
};

struct gw_pattern_seg {
	uint8_t kind;    /* enum gw_pattern_kind */
	const char *lit; /* GW_SEG_LITERAL: points into gw_pattern.text */
	size_t len;
};

/* A compiled pattern: plain data owned by whoever called _compile. */
struct gw_pattern {
	char *text; /* a copy of the source, NUL-terminated */
	struct gw_pattern_seg *segs;
	unsigned nsegs;
	unsigned nwild; /* wildcards ('+' and '#') = number of captures */
	bool hash;      /* the last segment is '#' */
};

/*
 * One capture: the segments a wildcard matched, views into the matched
 * input (valid as long as that input is). A '+' capture has n == 1, a '#'
 * capture n >= 0 ("{N}" joins them with '/').
 */
struct gw_capture {
	const struct gw_seg *seg;
	unsigned n;
};

struct gw_match {
	unsigned ncap;
	struct gw_capture cap[GW_PATTERN_MAX_WILDCARDS];
};

/*
 * Compile @text into @p (zeroed first; @text is copied). Returns 0,
 * -EINVAL with *@why (may be NULL) set to a static reason, or -ENOMEM.
 * Release with gw_pattern_cleanup().
 */
int gw_pattern_compile(struct gw_pattern *p, const char *text,
		       const char **why);
/* Free what _compile allocated; a zeroed or cleaned-up pattern is fine. */
void gw_pattern_cleanup(struct gw_pattern *p);
/*
 * Does @p match the @n segments @segs? On a match, @m (may be NULL) gets
 * the captures (views into @segs).
 */
bool gw_pattern_match(const struct gw_pattern *p, const struct gw_seg *segs,
		      unsigned n, struct gw_match *m);

/* ---- Templates ---- */

enum gw_tmpl_kind {
	GW_TMPL_LIT = 0,
	GW_TMPL_CAP = 1,    /* {N}: capture N (1-based) */
	GW_TMPL_DEVICE = 2, /* {device} */
	GW_TMPL_PATH = 3,   /* {path} */
};

struct gw_tmpl_part {
	uint8_t kind;    /* enum gw_tmpl_kind */
	unsigned n;      /* GW_TMPL_CAP: the capture number, from 1 */
	const char *lit; /* GW_TMPL_LIT: points into gw_template.text */
	size_t len;
};

/* Which placeholders a template may use (flags for _compile). */
#define GW_TMPL_ALLOW_DEVICE 0x1u
#define GW_TMPL_ALLOW_PATH   0x2u

/* A compiled template: plain data owned by whoever called _compile. */
struct gw_template {
	char *text; /* a copy of the source, NUL-terminated */
	struct gw_tmpl_part *parts;
	unsigned nparts;
	unsigned max_cap; /* highest {N} used, 0 if none */
	bool uses_device, uses_path;
};

/*
 * Compile @text into @t (zeroed first; @text is copied). @ncap is the
 * number of captures the pattern it is used with has: a {N} with N == 0 or
 * N > @ncap is an error, as are placeholders not in @allow
 * (GW_TMPL_ALLOW_*). Returns 0, -EINVAL with *@why (may be NULL) set to a
 * static reason, or -ENOMEM.
 */
int gw_template_compile(struct gw_template *t, const char *text, unsigned ncap,
			unsigned allow, const char **why);
void gw_template_cleanup(struct gw_template *t);

/* Values the placeholders expand to; every pointer is borrowed. */
struct gw_expand_ctx {
	const struct gw_match *match; /* captures, or NULL */
	const char *device;           /* {device}, or NULL */
	const struct gw_seg *path;    /* {path}: segments, joined with '/' */
	unsigned npath;
};

/*
 * Expand @t into @buf (@cap bytes, always NUL-terminated when @cap > 0).
 * Allocates nothing. Returns the length (without the NUL), -ENOSPC when
 * it does not fit, or -EINVAL when a placeholder has no value in @ctx.
 */
int gw_template_expand(const struct gw_template *t,
		       const struct gw_expand_ctx *ctx, char *buf, size_t cap);

/* ---- Route index: many patterns, first match in priority order ---- */

/*
 * A segment trie over patterns: a lookup costs about the depth of the
 * input times the wildcard branching, not the number of routes, so 10,000
 * routes look up as fast as 10. Opaque; built at config load, read-only
 * afterwards (lookups do not allocate and do not modify it).
 */
struct gw_route_index;

struct gw_route_index *gw_route_index_new(void);
/* NULL is a no-op. Patterns added are not referenced after _add returns. */
void gw_route_index_free(struct gw_route_index *idx);
/*
 * Add @p with @id; lower ids win (use the config order). Several patterns
 * may share an id; the same pattern may be added under several ids.
 * Returns 0 or -ENOMEM.
 */
int gw_route_index_add(struct gw_route_index *idx, const struct gw_pattern *p,
		       uint32_t id);
/*
 * The lowest id >= @min_id whose pattern matches the @n segments @segs:
 * *@id gets it and @m (may be NULL) its captures (views into @segs).
 * Call again with @min_id = *@id + 1 to walk every match in priority
 * order. Returns 0 or -ENOENT.
 */
int gw_route_index_lookup(const struct gw_route_index *idx,
			  const struct gw_seg *segs, unsigned n,
			  uint32_t min_id, uint32_t *id, struct gw_match *m);
/* Number of patterns added. */
size_t gw_route_index_count(const struct gw_route_index *idx);

/* ---- MQTT topics and topic filters ---- */

/*
 * May @topic (@len bytes) be published as is? Not empty, at most
 * GW_TOPIC_MAX_LEN bytes and GW_TOPIC_MAX_LEVELS levels, UTF-8 under
 * GW_UTF8_MQTT rules (MQTT 3.1.1 §1.5.3, MQTT 5 §1.5.4: no U+0000, and no
 * control characters or non-characters), no '+' or '#' (§4.7.1), not
 * starting with '$' (§4.7.2). The one check for every topic the gateway
 * publishes to, in the config and in gw_mqtt. Returns 0, or -EINVAL with
 * *@why (may be NULL) set to a static reason.
 */
int gw_topic_valid(const char *topic, size_t len, const char **why);
/*
 * Is @filter (NUL-terminated) a valid MQTT topic filter? The same rules,
 * but '+' and a final '#' are allowed when alone in their level, and a
 * leading '$' is allowed. Returns 0 or -EINVAL with *@why.
 */
int gw_topic_filter_valid(const char *filter, const char **why);
/*
 * Does the topic filter @filter (NUL-terminated, assumed valid) match
 * @topic (@len bytes)? MQTT rules: "a/#" matches "a"; a wildcard in the
 * first level does not match a topic starting with '$' (§4.7.2).
 */
bool gw_topic_filter_match(const char *filter, const char *topic, size_t len);

#endif
