/*
 * ucoap: the CoRE Link Format (RFC 6690) -- writing a /.well-known/core
 * document from a resource table, with the query filters of §4.1, and
 * reading one (a device's) as views.
 *
 * Nothing here allocates, logs or does I/O. The server answers GET
 * /.well-known/core by formatting into its own buffer and responding with
 * Content-Format 40 (ucoap_ep_respond() serves it block-wise when large).
 */
#ifndef UCOAP_LINK_H
#define UCOAP_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ucoap/msg.h>

/* An extra target attribute: name, and value (NULL: a bare flag). */
struct ucoap_link_attr {
	const char *name;
	const char *value;
};

/*
 * One resource of the table: plain data, every string borrowed. A NULL
 * string, ct UCOAP_CF_NONE, sz 0 and obs false leave the attribute out.
 * rt, if and title are written quoted; ct and sz as numbers; obs bare
 * (RFC 7641 §6).
 */
struct ucoap_link {
	/* "/sensors/temp" (a path missing its leading '/' gets one) */
	const char *href;
	const char *rt;  /* resource type(s), space-separated (§3.1) */
	const char *if_; /* interface description(s) (§3.2) */
	int ct;          /* Content-Format (RFC 7252 §7.2.1) */
	uint32_t sz;     /* maximum size estimate (§3.3) */
	bool obs;        /* observable (RFC 7641 §6) */
	const char *title;
	const struct ucoap_link_attr *extra; /* @nextra more attributes */
	size_t nextra;
};

/*
 * Does @l pass the filter @q (one Uri-Query value, "rt=temp", of @len
 * bytes)? RFC 6690 §4.1: "href" compares the link's URI, any other name
 * the attribute of that name; the value matches the whole attribute value
 * or any one of its space-separated parts, and a trailing '*' makes it a
 * prefix match. A bare name ("obs") asks for the attribute to be present.
 * A filter on an attribute the link lacks does not match.
 */
bool ucoap_link_match(const struct ucoap_link *l, const char *q, size_t len);

/*
 * Write the links of @links[@n] that pass every Uri-Query filter of @req
 * (@req NULL: all of them) as a link-format document into @buf (@cap
 * bytes, not NUL-terminated), its length into *@out_len. Returns 0,
 * UCOAP_ERR_NOSPACE when @buf is too small, UCOAP_ERR_INVAL for a link
 * without href or a value that cannot be written (a '"' or '\' needing
 * escapes, a '>' in an href). No link passing is not an error: the
 * document is then empty (*@out_len 0).
 */
int ucoap_link_format(const struct ucoap_link *links, size_t n,
		      const struct ucoap_msg *req, char *buf, size_t cap,
		      size_t *out_len);

/* One link of a document read by ucoap_link_next(): views into it. */
struct ucoap_link_view {
	const char *href; /* between '<' and '>' */
	size_t href_len;
	const char *params; /* the ";..." that follows, up to the ',' */
	size_t params_len;
};

/*
 * Read the next link of the document @doc (@len bytes) from *@pos (start
 * at 0) into @out, and move *@pos past it. Returns 0, UCOAP_ERR_NOENT at
 * the end, or UCOAP_ERR_INVAL for malformed text (RFC 6690 §2 grammar:
 * '<' URI '>' then ';' params, links separated by ','; commas and
 * semicolons inside quoted values are part of the value).
 */
int ucoap_link_next(const char *doc, size_t len, size_t *pos,
		    struct ucoap_link_view *out);

/*
 * The value of the attribute @name of @l: @val and @val_len view the value
 * without its quotes (backslash escapes left as they are; an empty view
 * for a bare flag). The first occurrence counts. Returns 0 or
 * UCOAP_ERR_NOENT.
 */
int ucoap_link_attr(const struct ucoap_link_view *l, const char *name,
		    const char **val, size_t *val_len);

#endif
