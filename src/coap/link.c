/*
 * ucoap_link: the CoRE Link Format (RFC 6690): writing a resource table
 * as a link-format document with the §4.1 query filters, and reading a
 * document as views. No allocation: output goes to a caller buffer,
 * input is read in place.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <ucoap/link.h>

/* ---- matching (§4.1) ---- */

static bool value_eq(const char *f, size_t fl, bool prefix, const char *v,
		     size_t vl)
{
	if (prefix)
		return vl >= fl && memcmp(v, f, fl) == 0;
	return vl == fl && memcmp(v, f, fl) == 0;
}

/*
 * §4.1: the filter value matches the attribute value, or one of its
 * space-separated parts ("rt=temp" finds rt="temp humidity"); a trailing
 * '*' matches any value it is a prefix of.
 */
static bool value_match(const char *f, size_t fl, const char *v, size_t vl)
{
	bool prefix = fl > 0 && f[fl - 1] == '*';
	size_t i = 0;

	if (prefix)
		fl--;
	if (value_eq(f, fl, prefix, v, vl))
		return true;
	while (i < vl) {
		size_t j = i;

		while (j < vl && v[j] != ' ')
			j++;
		if (j - i < vl && value_eq(f, fl, prefix, v + i, j - i))
			return true;
		i = j + 1;
	}
	return false;
}

/*
 * The value of attribute @name (@nl bytes) of @l into @v and @vl (@num
 * holds numbers written as text). Returns false when @l lacks it.
 */
static bool link_value(const struct ucoap_link *l, const char *name, size_t nl,
		       char num[24], const char **v, size_t *vl)
{
	const char *s = NULL;

#define IS(lit) (nl == sizeof(lit) - 1 && memcmp(name, lit, nl) == 0)
	if (IS("rt"))
		s = l->rt;
	else if (IS("if"))
		s = l->if_;
	else if (IS("title"))
		s = l->title;
	else if (IS("ct") || IS("sz")) {
		bool ct = IS("ct");

		if (ct ? l->ct == UCOAP_CF_NONE : l->sz == 0)
			return false;
		snprintf(num, 24, "%lu",
			 ct ? (unsigned long)l->ct : (unsigned long)l->sz);
		s = num;
	} else if (IS("obs")) {
		if (!l->obs)
			return false;
		s = "";
	} else {
		for (size_t i = 0; i < l->nextra; i++) {
			const struct ucoap_link_attr *a = &l->extra[i];

			if (strlen(a->name) == nl &&
			    memcmp(a->name, name, nl) == 0) {
				s = a->value ? a->value : "";
				break;
			}
		}
	}
#undef IS
	if (!s)
		return false;
	*v = s;
	*vl = strlen(s);
	return true;
}

bool ucoap_link_match(const struct ucoap_link *l, const char *q, size_t len)
{
	const char *eq = memchr(q, '=', len);
	size_t nl = eq ? (size_t)(eq - q) : len;
	const char *f = eq ? eq + 1 : NULL;
	size_t fl = eq ? len - nl - 1 : 0;
	const char *v;
	size_t vl;
	char num[24];

	if (nl == 4 && memcmp(q, "href", 4) == 0) {
		if (!f)
			return true;
		v = l->href;
		vl = strlen(v);
		/* Compare with the href as written: with its leading '/'. */
		if ((vl == 0 || v[0] != '/') && !strchr(v, ':')) {
			if (fl == 0 || f[0] != '/')
				return fl == 1 && f[0] == '*';
			f++;
			fl--;
		}
		return value_match(f, fl, v, vl);
	}
	if (!link_value(l, q, nl, num, &v, &vl))
		return false;
	return !f || value_match(f, fl, v, vl);
}

/* ---- writing ---- */

struct out {
	char *buf;
	size_t cap, len;
	int err;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->err)
		return;
	if (o->cap - o->len < n) {
		o->err = UCOAP_ERR_NOSPACE;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/*
 * ;name="value", or ;name=value for a number, or ;name for a flag. We
 * write no escapes (§2 allows them, but nothing we serve needs them), so
 * a value with '"' or '\' is refused rather than written wrong.
 */
static void put_attr(struct out *o, const char *name, const char *value,
		     bool quote)
{
	puts_(o, ";");
	puts_(o, name);
	if (!value)
		return;
	if (strpbrk(value, "\"\\")) {
		o->err = o->err ? o->err : UCOAP_ERR_INVAL;
		return;
	}
	puts_(o, "=");
	if (quote)
		puts_(o, "\"");
	puts_(o, value);
	if (quote)
		puts_(o, "\"");
}

static void put_link(struct out *o, const struct ucoap_link *l)
{
	char num[24];

	if (strchr(l->href, '>')) {
		o->err = o->err ? o->err : UCOAP_ERR_INVAL;
		return;
	}
	/* A path gets its leading '/'; an absolute URI is written as is. */
	puts_(o, l->href[0] == '/' || strchr(l->href, ':') ? "<" : "</");
	puts_(o, l->href);
	puts_(o, ">");
	if (l->rt)
		put_attr(o, "rt", l->rt, true);
	if (l->if_)
		put_attr(o, "if", l->if_, true);
	if (l->ct != UCOAP_CF_NONE) {
		snprintf(num, sizeof(num), "%d", l->ct);
		put_attr(o, "ct", num, false);
	}
	if (l->sz) {
		snprintf(num, sizeof(num), "%lu", (unsigned long)l->sz);
		put_attr(o, "sz", num, false);
	}
	if (l->obs)
		put_attr(o, "obs", NULL, false);
	if (l->title)
		put_attr(o, "title", l->title, true);
	for (size_t i = 0; i < l->nextra; i++) {
		const struct ucoap_link_attr *a = &l->extra[i];

		put_attr(o, a->name, a->value,
			 a->value && !all_digits(a->value));
	}
}

static bool passes(const struct ucoap_link *l, const struct ucoap_msg *req)
{
	const struct ucoap_opt *q;

	if (!req)
		return true;
	for (q = ucoap_msg_find(req, UCOAP_OPT_URI_QUERY); q;
	     q = ucoap_msg_find_next(req, q))
		if (!ucoap_link_match(l, (const char *)ucoap_opt_value(q),
				      q->len))
			return false;
	return true;
}

int ucoap_link_format(const struct ucoap_link *links, size_t n,
		      const struct ucoap_msg *req, char *buf, size_t cap,
		      size_t *out_len)
{
	struct out o = {.buf = buf, .cap = cap};
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		if (!links[i].href ||
		    (links[i].ct != UCOAP_CF_NONE &&
		     (links[i].ct < 0 || links[i].ct > 65535)))
			return UCOAP_ERR_INVAL;
		if (!passes(&links[i], req))
			continue;
		if (!first)
			puts_(&o, ",");
		first = false;
		put_link(&o, &links[i]);
	}
	if (o.err)
		return o.err;
	*out_len = o.len;
	return 0;
}

/* ---- reading ---- */

/* Past the quoted-string starting at @i (the opening '"'), or 0. */
static size_t skip_quoted(const char *d, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (d[i] == '\\')
			i++;
		else if (d[i] == '"')
			return i + 1;
	}
	return 0;
}

int ucoap_link_next(const char *doc, size_t len, size_t *pos,
		    struct ucoap_link_view *out)
{
	size_t i = *pos, j;

	if (i >= len)
		return UCOAP_ERR_NOENT;
	if (doc[i] != '<')
		return UCOAP_ERR_INVAL;
	j = i + 1;
	while (j < len && doc[j] != '>')
		j++;
	if (j == len)
		return UCOAP_ERR_INVAL;
	out->href = doc + i + 1;
	out->href_len = j - i - 1;
	i = ++j;
	while (j < len && doc[j] != ',') {
		if (doc[j] == '"') {
			j = skip_quoted(doc, len, j);
			if (!j)
				return UCOAP_ERR_INVAL;
			continue;
		}
		j++;
	}
	if (j > i && doc[i] != ';')
		return UCOAP_ERR_INVAL;
	out->params = doc + i;
	out->params_len = j - i;
	/* A ',' must be followed by another link. */
	if (j < len && j + 1 == len)
		return UCOAP_ERR_INVAL;
	*pos = j < len ? j + 1 : len;
	return 0;
}

int ucoap_link_attr(const struct ucoap_link_view *l, const char *name,
		    const char **val, size_t *val_len)
{
	const char *p = l->params;
	size_t len = l->params_len, i = 0, nl = strlen(name);

	while (i < len && p[i] == ';') {
		size_t n0 = ++i, ne, v0, v1;

		while (i < len && p[i] != '=' && p[i] != ';')
			i++;
		ne = v0 = v1 = i;
		if (i < len && p[i] == '=') {
			v0 = ++i;
			if (i < len && p[i] == '"') {
				size_t e = skip_quoted(p, len, i);

				if (!e)
					return UCOAP_ERR_NOENT;
				v0 = i + 1;
				v1 = e - 1;
				i = e;
			} else {
				while (i < len && p[i] != ';')
					i++;
				v1 = i;
			}
		}
		/* RFC 8288 §3: parameter names are case-insensitive. */
		if (ne - n0 == nl && strncasecmp(p + n0, name, nl) == 0) {
			*val = p + v0;
			*val_len = v1 - v0;
			return 0;
		}
		while (i < len && p[i] != ';')
			i++;
	}
	return UCOAP_ERR_NOENT;
}
