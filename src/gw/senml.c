/* gw_senml: see senml.h. */
#include "senml.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cborjson.h"

/* The highest SenML version this code understands (RFC 8428 §4.4). */
#define SENML_VERSION 10

/* RFC 8428 Table 1 (JSON labels) and Table 4 (CBOR labels, §6). */
enum label {
	L_BVER,
	L_BN,
	L_BT,
	L_BU,
	L_BV,
	L_BS,
	L_N,
	L_U,
	L_V,
	L_VS,
	L_VB,
	L_S,
	L_T,
	L_UT,
	L_VD,
	L_COUNT,
};

static const struct {
	const char *json;
	const char *cbor; /* the integer label as gw_cbor writes a key */
} labels[L_COUNT] = {
    [L_BVER] = {"bver", "-1"}, [L_BN] = {"bn", "-2"}, [L_BT] = {"bt", "-3"},
    [L_BU] = {"bu", "-4"},     [L_BV] = {"bv", "-5"}, [L_BS] = {"bs", "-6"},
    [L_N] = {"n", "0"},        [L_U] = {"u", "1"},    [L_V] = {"v", "2"},
    [L_VS] = {"vs", "3"},      [L_VB] = {"vb", "4"},  [L_S] = {"s", "5"},
    [L_T] = {"t", "6"},        [L_UT] = {"ut", "7"},  [L_VD] = {"vd", "8"},
};

/* A resolved record kept until the whole pack has been checked. */
struct rec {
	char *name;
	const char *unit; /* points into the tree */
	bool has_time;
	double time;
	enum gw_senml_kind kind;
	double value;
	bool boolean;
	const char *string; /* points into the tree */
	bool has_sum;
	double sum;
};

/* Base fields in force (§4.1). */
struct base {
	const char *bn, *bu;
	bool has_bt;
	double bt, bv, bs;
};

int gw_senml_number_text(double v, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%.15g", v);

	if (n >= 0 && (size_t)n < cap && strtod(buf, NULL) != v)
		n = snprintf(buf, cap, "%.17g", v);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

/* A number field; gw_cbor writes very large integers as raw digits. */
static bool number_of(const cJSON *f, double *out)
{
	if (cJSON_IsNumber(f)) {
		*out = f->valuedouble;
		return true;
	}
	if (cJSON_IsRaw(f) && f->valuestring) {
		char *end;

		*out = strtod(f->valuestring, &end);
		return end != f->valuestring && *end == '\0';
	}
	return false;
}

static int label_of(const char *key, int cf)
{
	for (int i = 0; i < L_COUNT; i++)
		if (strcmp(key, cf == GW_SENML_CF_CBOR ? labels[i].cbor
						       : labels[i].json) == 0)
			return i;
	return -1;
}

/* RFC 8428 §4.5.1, plus no empty MQTT topic level. */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 ||
	    !(('A' <= s[0] && s[0] <= 'Z') || ('a' <= s[0] && s[0] <= 'z') ||
	      ('0' <= s[0] && s[0] <= '9')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];

		if (!(('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') ||
		      ('0' <= c && c <= '9') || c == '-' || c == ':' ||
		      c == '.' || c == '/' || c == '_'))
			return false;
		if (c == '/' && s[i - 1] == '/')
			return false;
	}
	return s[n - 1] != '/';
}

/*
 * Resolve one record against the base fields in force (updated here).
 * Returns 1 with *@r filled, 0 for a record that has no value or sum,
 * -EBADMSG, -ENOMEM.
 */
static int resolve(const cJSON *obj, int cf, struct base *base, struct rec *r)
{
	const cJSON *f[L_COUNT] = {0};
	const cJSON *e;
	double t = 0, v = 0, s = 0;
	int nvalues = 0;

	if (!cJSON_IsObject(obj))
		return -EBADMSG;
	cJSON_ArrayForEach(e, obj)
	{
		int l = label_of(e->string, cf);
		size_t kl = strlen(e->string);

		if (l < 0) {
			/* §4.4: labels ending in '_' must be understood. */
			if (kl && e->string[kl - 1] == '_')
				return -EBADMSG;
			continue;
		}
		if (f[l])
			return -EBADMSG; /* a label twice */
		f[l] = e;
	}
	/* Type checks: strings, numbers, a boolean (§4.2, §6). */
	if ((f[L_BN] && !cJSON_IsString(f[L_BN])) ||
	    (f[L_BU] && !cJSON_IsString(f[L_BU])) ||
	    (f[L_N] && !cJSON_IsString(f[L_N])) ||
	    (f[L_U] && !cJSON_IsString(f[L_U])) ||
	    (f[L_VS] && !cJSON_IsString(f[L_VS])) ||
	    (f[L_VD] && !cJSON_IsString(f[L_VD])) ||
	    (f[L_VB] && !cJSON_IsBool(f[L_VB])))
		return -EBADMSG;
	if (f[L_BVER]) {
		double ver;

		if (!number_of(f[L_BVER], &ver) || ver > SENML_VERSION)
			return -EBADMSG;
	}
	if ((f[L_BT] && !number_of(f[L_BT], &base->bt)) ||
	    (f[L_BV] && !number_of(f[L_BV], &base->bv)) ||
	    (f[L_BS] && !number_of(f[L_BS], &base->bs)) ||
	    (f[L_T] && !number_of(f[L_T], &t)) ||
	    (f[L_V] && !number_of(f[L_V], &v)) ||
	    (f[L_S] && !number_of(f[L_S], &s)) ||
	    (f[L_UT] && !number_of(f[L_UT], &(double){0})))
		return -EBADMSG;
	if (f[L_BT])
		base->has_bt = true;
	if (f[L_BN])
		base->bn = f[L_BN]->valuestring;
	if (f[L_BU])
		base->bu = f[L_BU]->valuestring;

	nvalues = !!f[L_V] + !!f[L_VS] + !!f[L_VB] + !!f[L_VD];
	if (nvalues > 1)
		return -EBADMSG;
	if (nvalues == 0 && !f[L_S])
		return 0;

	memset(r, 0, sizeof(*r));
	const char *bn = base->bn ? base->bn : "";
	const char *n = f[L_N] ? f[L_N]->valuestring : "";
	size_t len = strlen(bn) + strlen(n) + 1;
	r->name = malloc(len);
	if (!r->name)
		return -ENOMEM;
	snprintf(r->name, len, "%s%s", bn, n);
	if (!name_ok(r->name)) {
		free(r->name);
		r->name = NULL;
		return -EBADMSG;
	}
	r->unit = f[L_U] ? f[L_U]->valuestring : base->bu;
	r->has_time = f[L_T] || base->has_bt;
	r->time = base->bt + t;
	if (f[L_S]) {
		r->has_sum = true;
		r->sum = base->bs + s;
	}
	if (f[L_V]) {
		r->kind = GW_SENML_NUMBER;
		r->value = base->bv + v;
	} else if (f[L_VS]) {
		r->kind = GW_SENML_STRING;
		r->string = f[L_VS]->valuestring;
	} else if (f[L_VB]) {
		r->kind = GW_SENML_BOOL;
		r->boolean = cJSON_IsTrue(f[L_VB]);
	} else if (f[L_VD]) {
		r->kind = GW_SENML_DATA;
		r->string = f[L_VD]->valuestring;
	} else {
		r->kind = GW_SENML_SUM;
	}
	return 1;
}

static int give_out(const struct rec *r, gw_senml_fn fn, void *user)
{
	struct gw_senml_record out = {
	    .name = r->name,
	    .unit = r->unit,
	    .has_time = r->has_time,
	    .time = r->time,
	    .kind = r->kind,
	    .value = r->value,
	    .boolean = r->boolean,
	    .string = r->string,
	    .has_sum = r->has_sum,
	    .sum = r->sum,
	};
	char num[40];

	switch (r->kind) {
	case GW_SENML_NUMBER:
	case GW_SENML_SUM:
		if (gw_senml_number_text(r->kind == GW_SENML_SUM ? r->sum
								 : r->value,
					 num, sizeof(num)) < 0)
			return -EBADMSG;
		out.text = num;
		break;
	case GW_SENML_BOOL:
		out.text = r->boolean ? "true" : "false";
		break;
	default:
		out.text = r->string;
		break;
	}
	return fn(user, &out);
}

int gw_senml_resolve(const uint8_t *p, size_t len, int cf, gw_senml_fn fn,
		     void *user, size_t *count)
{
	cJSON *doc = NULL;
	struct rec *recs = NULL;
	struct base base = {0};
	size_t n = 0, given = 0;
	int rc;

	if (count)
		*count = 0;
	if (cf == GW_SENML_CF_JSON) {
		const char *end = NULL;

		doc = cJSON_ParseWithLengthOpts((const char *)p, len, &end,
						false);
		/* Nothing but white space after the pack. */
		while (doc && end < (const char *)p + len &&
		       strchr(" \t\r\n", *end) && *end)
			end++;
		rc = doc && end == (const char *)p + len ? 0 : -EBADMSG;
	} else if (cf == GW_SENML_CF_CBOR) {
		rc = gw_cbor_to_cjson(p, len, &doc);
	} else {
		rc = -EBADMSG;
	}
	if (rc < 0)
		goto out;
	if (!cJSON_IsArray(doc)) {
		rc = -EBADMSG;
		goto out;
	}
	recs = calloc((size_t)cJSON_GetArraySize(doc) + 1, sizeof(*recs));
	if (!recs) {
		rc = -ENOMEM;
		goto out;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, doc)
	{
		rc = resolve(e, cf, &base, &recs[n]);
		if (rc < 0)
			goto out;
		n += (size_t)rc;
	}
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = give_out(&recs[i], fn, user);
		given += rc == 0;
	}
	if (count)
		*count = given;
out:
	for (size_t i = 0; recs && i < n; i++)
		free(recs[i].name);
	free(recs);
	cJSON_Delete(doc);
	return rc;
}
