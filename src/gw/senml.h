/*
 * gw_senml: SenML packs (RFC 8428) resolved into records, for uplink
 * routes with senml = "split": each record's value is published as plain
 * text on <topic>/<resolved name>.
 *
 * Both representations are read: SenML JSON (content-format 110, §5) and
 * SenML CBOR (content-format 112, §6, integer labels), the latter through
 * gw_cbor. Resolution follows §4.6: the name is bn + n, the time bt + t,
 * the unit u or else bu, the value bv + v, the sum bs + s; base fields
 * apply to their record and every later one until changed (§4.1). Times
 * are summed but not turned into absolute times (a relative time, below
 * 2^28, stays relative: the gateway publishes values, not times).
 *
 * A pack is checked whole before any record is given out, so a bad record
 * never leaves half a pack published. Rejected (-EBADMSG): not an array of
 * objects; a field of the wrong type; a resolved name that is empty, does
 * not match §4.5.1 ([A-Za-z0-9] then [A-Za-z0-9-:./_]), or would make an
 * empty MQTT topic level ("a//b", a trailing '/'); more than one of v, vs,
 * vb, vd in a record; bver above 10; an unknown label ending in '_' (§4.4,
 * must-understand). Unknown other labels are ignored (§4.4). A record with
 * neither a value nor a sum (e.g. base fields only) gives nothing.
 */
#ifndef GW_SENML_H
#define GW_SENML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_SENML_CF_JSON 110 /* RFC 8428 §12.3 */
#define GW_SENML_CF_CBOR 112

enum gw_senml_kind {
	GW_SENML_NUMBER, /* v (+ bv) */
	GW_SENML_STRING, /* vs */
	GW_SENML_BOOL,   /* vb */
	GW_SENML_DATA,   /* vd, as base64url text (§5) */
	GW_SENML_SUM,    /* only s (+ bs) */
};

/* One resolved record; every pointer is valid during the callback only. */
struct gw_senml_record {
	const char *name; /* resolved name, never empty */
	const char *unit; /* u, else bu, else NULL */
	bool has_time;
	double time; /* bt + t */
	enum gw_senml_kind kind;
	double value;       /* GW_SENML_NUMBER */
	bool boolean;       /* GW_SENML_BOOL */
	const char *string; /* GW_SENML_STRING and GW_SENML_DATA */
	bool has_sum;
	double sum; /* bs + s */
	/*
	 * What is published: a number as the shortest text that reads back
	 * to the same double ("23.1", "120", "1e+300"), the string as it is,
	 * "true"/"false", the data value's base64url text, or the sum.
	 */
	const char *text;
};

/* Called for each record in pack order; a negative return stops the walk. */
typedef int (*gw_senml_fn)(void *user, const struct gw_senml_record *r);

/*
 * Resolve the pack in @p (@len bytes, borrowed) of content-format @cf
 * (GW_SENML_CF_JSON or GW_SENML_CF_CBOR) and call @fn for each record.
 * *@count (may be NULL) gets the number of records given out. Returns 0,
 * -EBADMSG (see above; also for any other @cf), -ENOMEM, or the first
 * negative return of @fn.
 */
int gw_senml_resolve(const uint8_t *p, size_t len, int cf, gw_senml_fn fn,
		     void *user, size_t *count);

/* The shortest text of @v that strtod reads back exactly, into @buf. */
int gw_senml_number_text(double v, char *buf, size_t cap);

#endif
