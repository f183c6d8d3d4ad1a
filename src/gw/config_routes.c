/*
 * gw_cfg: the routes group -- uplink (CoAP request -> MQTT publish),
 * downlink (MQTT message -> CoAP request) and observe (RFC 7641
 * notifications -> MQTT) -- compiled into patterns and templates (route.h),
 * and the indexes the bridge looks routes up in.
 */
#include "config_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

static const char *const method_names[] = {"GET", "POST", "PUT", "DELETE",
					   NULL};

/* Is a pattern certain to be shadowed by the gateway's own paths? */
static bool path_reserved(const struct gw_pattern *p)
{
	const struct gw_pattern_seg *s = p->segs;

	if (p->nsegs >= 1 && s[0].kind == GW_SEG_LITERAL && s[0].len == 2 &&
	    memcmp(s[0].lit, "ps", 2) == 0)
		return true;
	return p->nsegs == 2 && s[0].kind == GW_SEG_LITERAL &&
	       s[1].kind == GW_SEG_LITERAL && s[0].len == 11 &&
	       memcmp(s[0].lit, ".well-known", 11) == 0 && s[1].len == 4 &&
	       memcmp(s[1].lit, "core", 4) == 0;
}

/*
 * The outcome @rc of compiling @text (the value of @s) into a pattern or
 * template, with the compiler's reason @why: 0, or -1 reported.
 */
static int compiled(struct gw_cfg_loader *L, const struct gw_cfg_node *s,
		    const char *text, int rc, const char *why)
{
	char q[GW_CFG_QBUF];

	if (rc == -ENOMEM)
		L->nomem = true;
	if (rc >= 0)
		return 0;
	gw_cfg_problem(L, s, "%s: %s", gw_cfg_quote(text, q, sizeof(q)), why);
	return -1;
}

/*
 * Compile template @text and check that what it expands to is a valid
 * topic (every placeholder standing for "x").
 */
static int compile_topic_template(struct gw_cfg_loader *L,
				  const struct gw_cfg_node *s,
				  struct gw_template *t, const char *text,
				  unsigned ncap, unsigned allow)
{
	static const struct gw_seg x = {"x", 1};
	struct gw_match m = {.ncap = ncap};
	struct gw_expand_ctx ctx = {
	    .match = &m, .device = "x", .path = &x, .npath = 1};
	const char *why = NULL;
	char q[GW_CFG_QBUF], *buf;
	int rc, n;

	rc = gw_template_compile(t, text, ncap, allow, &why);
	if (compiled(L, s, text, rc, why) < 0)
		return -1;
	for (unsigned i = 0; i < ncap; i++) {
		m.cap[i].seg = &x;
		m.cap[i].n = 1;
	}
	buf = malloc(strlen(text) + 4 * 20 + 1);
	if (!buf) {
		L->nomem = true;
		return -1;
	}
	n = gw_template_expand(t, &ctx, buf, strlen(text) + 81);
	rc = 0;
	if (n >= 0 && gw_topic_valid(buf, (size_t)n, &why) < 0) {
		gw_cfg_problem(L, s, "%s is not a valid MQTT topic: %s",
			       gw_cfg_quote(text, q, sizeof(q)), why);
		rc = -1;
	}
	free(buf);
	return rc;
}

static int compile_pattern(struct gw_cfg_loader *L, const struct gw_cfg_node *s,
			   struct gw_pattern *p, const char *text)
{
	const char *why = NULL;
	int rc = gw_pattern_compile(p, text, &why);

	return compiled(L, s, text, rc, why);
}

static void load_uplink(struct gw_cfg_loader *L, const struct gw_cfg_node *r,
			struct gw_config_uplink *u)
{
	static const char *const keys[] = {"path",   "methods", "topic", "qos",
					   "retain", "payload", "senml", NULL};
	static const char *const payloads[] = {"raw", "json", NULL};
	static const char *const senmls[] = {"none", "split", NULL};
	const struct gw_cfg_node *s, *where;
	const char *text, **methods;
	size_t n;
	long long v;
	int e;
	bool path_ok = false;
	char q[GW_CFG_QBUF];

	u->loc = gw_cfg_loc(L, r);
	u->methods = GW_METHOD_POST | GW_METHOD_PUT;
	u->qos = L->cfg->mqtt.qos;
	gw_cfg_check_keys(L, r, keys);
	if ((s = gw_cfg_required(L, r, "path")) &&
	    gw_cfg_str_value(L, s, false, &text) == 1) {
		if (text[0] == '/')
			gw_cfg_problem(
			    L, s, "%s: write the path without a leading '/'",
			    gw_cfg_quote(text, q, sizeof(q)));
		else if (compile_pattern(L, s, &u->path, text) == 0) {
			path_ok = true;
			if (path_reserved(&u->path))
				gw_cfg_problem(
				    L, s,
				    "%s is the gateway's own (ps/..., "
				    ".well-known/core): it would never "
				    "match",
				    gw_cfg_quote(text, q, sizeof(q)));
		}
	}
	if (gw_cfg_get_str_list(L, r, "methods", &methods, &n, &where) == 1) {
		if (n == 0)
			gw_cfg_problem(L, where, "needs at least one method");
		else
			u->methods = 0;
		for (size_t i = 0; i < n; i++) {
			int m = -1;

			for (int k = 0; method_names[k]; k++)
				if (strcmp(methods[i], method_names[k]) == 0)
					m = k;
			if (m < 0)
				gw_cfg_problem(
				    L, gw_cfg_elem(where, i),
				    "%s is not one of GET, POST, PUT, "
				    "DELETE",
				    gw_cfg_quote(methods[i], q, sizeof(q)));
			else
				u->methods |= m == 0   ? GW_METHOD_GET
					      : m == 1 ? GW_METHOD_POST
					      : m == 2 ? GW_METHOD_PUT
						       : GW_METHOD_DELETE;
		}
	}
	if ((s = gw_cfg_required(L, r, "topic")) &&
	    gw_cfg_str_value(L, s, false, &text) == 1 && path_ok)
		compile_topic_template(L, s, &u->topic, text, u->path.nwild,
				       GW_TMPL_ALLOW_DEVICE |
					   GW_TMPL_ALLOW_PATH);
	if (gw_cfg_get_int(L, r, "qos", 0, 2, &v) == 1)
		u->qos = (int)v;
	gw_cfg_get_bool(L, r, "retain", &u->retain);
	if (gw_cfg_get_enum(L, r, "payload", payloads, &e) == 1)
		u->payload = e ? GW_PAYLOAD_JSON : GW_PAYLOAD_RAW;
	if (gw_cfg_get_enum(L, r, "senml", senmls, &e) == 1)
		u->senml = e ? GW_SENML_SPLIT : GW_SENML_NONE;
}

/*
 * Split "coap://HOST/path?query" into its parts (pool copies). Returns 0
 * or -1 with the problem reported.
 */
static int split_uri(struct gw_cfg_loader *L, const struct gw_cfg_node *s,
		     const char *uri, const char **host, const char **path,
		     const char **query)
{
	const char *h, *end, *q;
	char qb[GW_CFG_QBUF];

	if (strncmp(uri, "coap://", 7) != 0) {
		gw_cfg_problem(L, s, "%s must start with coap://",
			       gw_cfg_quote(uri, qb, sizeof(qb)));
		return -1;
	}
	h = uri + 7;
	end = h + strcspn(h, "/?#");
	if (*end == '#') {
		gw_cfg_problem(L, s, "%s: a CoAP URI has no fragment",
			       gw_cfg_quote(uri, qb, sizeof(qb)));
		return -1;
	}
	if (end == h) {
		gw_cfg_problem(L, s, "%s has no host",
			       gw_cfg_quote(uri, qb, sizeof(qb)));
		return -1;
	}
	if (memchr(h, ':', (size_t)(end - h)) ||
	    memchr(h, '[', (size_t)(end - h))) {
		gw_cfg_problem(
		    L, s,
		    "%s: the host must be a device name (the port comes "
		    "from the device)",
		    gw_cfg_quote(uri, qb, sizeof(qb)));
		return -1;
	}
	*host = gw_cfg_strndup(L, h, (size_t)(end - h));
	if (*end == '/')
		end++;
	q = strchr(end, '?');
	if (strchr(end, '#')) {
		gw_cfg_problem(L, s, "%s: a CoAP URI has no fragment",
			       gw_cfg_quote(uri, qb, sizeof(qb)));
		return -1;
	}
	*path = gw_cfg_strndup(L, end, q ? (size_t)(q - end) : strlen(end));
	*query = q ? gw_cfg_strdup(L, q + 1) : NULL;
	return *host && *path && (!q || *query) ? 0 : -1;
}

static void load_downlink(struct gw_cfg_loader *L, const struct gw_cfg_node *r,
			  struct gw_config_downlink *dl)
{
	static const char *const keys[] = {
	    "topic",           "method",     "uri",
	    "confirmable",     "timeout_ms", "response_topic",
	    "accept_retained", NULL};
	const struct gw_cfg_node *s;
	const char *text, *host, *path, *query, *why;
	bool topic_ok = false;
	int m;
	char q[GW_CFG_QBUF];

	dl->loc = gw_cfg_loc(L, r);
	dl->method = 3; /* PUT: the usual command */
	dl->device = -1;
	dl->confirmable = true;
	dl->timeout_ms = L->cfg->coap.request_timeout_ms;
	gw_cfg_check_keys(L, r, keys);
	if ((s = gw_cfg_required(L, r, "topic")) &&
	    gw_cfg_str_value(L, s, false, &text) == 1) {
		if (gw_cfg_check_filter(L, s, text) == 0 &&
		    compile_pattern(L, s, &dl->topic, text) == 0)
			topic_ok = true;
	}
	if (gw_cfg_get_enum(L, r, "method", method_names, &m) == 1)
		dl->method = (uint8_t)(m + 1); /* RFC 7252 §12.1.1 codes */
	if ((s = gw_cfg_required(L, r, "uri")) &&
	    gw_cfg_str_value(L, s, false, &dl->uri) == 1 && topic_ok &&
	    split_uri(L, s, dl->uri, &host, &path, &query) == 0) {
		unsigned ncap = dl->topic.nwild;

		if (gw_template_compile(&dl->host, host, ncap, 0, &why) < 0)
			gw_cfg_problem(L, s, "%s: host %s: %s",
				       gw_cfg_quote(dl->uri, q, sizeof(q)),
				       host, why);
		else if (dl->host.nparts <= 1 && !dl->host.max_cap &&
			 (dl->device = gw_config_device_find(L->cfg, host,
							     strlen(host))) < 0)
			/* MQTT must never pick an arbitrary address */
			gw_cfg_problem(
			    L, s, "%s: host '%s' is not a configured device",
			    gw_cfg_quote(dl->uri, q, sizeof(q)), host);
		if (gw_template_compile(&dl->path, path, ncap,
					GW_TMPL_ALLOW_DEVICE, &why) < 0)
			gw_cfg_problem(L, s, "%s: path: %s",
				       gw_cfg_quote(dl->uri, q, sizeof(q)),
				       why);
		if (gw_template_compile(&dl->query, query ? query : "", ncap,
					GW_TMPL_ALLOW_DEVICE, &why) < 0)
			gw_cfg_problem(L, s, "%s: query: %s",
				       gw_cfg_quote(dl->uri, q, sizeof(q)),
				       why);
	}
	gw_cfg_get_bool(L, r, "confirmable", &dl->confirmable);
	gw_cfg_get_u32(L, r, "timeout_ms", 1, 3600000, &dl->timeout_ms);
	if (gw_cfg_get_str(L, r, "response_topic", &text) == 1 && topic_ok &&
	    compile_topic_template(L, gw_cfg_member(r, "response_topic"),
				   &dl->response_topic, text, dl->topic.nwild,
				   GW_TMPL_ALLOW_DEVICE) == 0)
		dl->has_response_topic = true;
	gw_cfg_get_bool(L, r, "accept_retained", &dl->accept_retained);
}

static void load_observe(struct gw_cfg_loader *L, const struct gw_cfg_node *r,
			 struct gw_config_observe *o)
{
	static const char *const keys[] = {"uri", "topic", "qos", "retain",
					   NULL};
	const struct gw_cfg_node *s;
	const char *text, *host;
	long long v;
	char q[GW_CFG_QBUF];

	o->loc = gw_cfg_loc(L, r);
	o->device = -1;
	o->qos = L->cfg->mqtt.qos;
	gw_cfg_check_keys(L, r, keys);
	if ((s = gw_cfg_required(L, r, "uri")) &&
	    gw_cfg_str_value(L, s, false, &o->uri) == 1 &&
	    split_uri(L, s, o->uri, &host, &o->path, &o->query) == 0) {
		o->device = gw_config_device_find(L->cfg, host, strlen(host));
		if (o->device < 0)
			gw_cfg_problem(
			    L, s, "%s: host '%s' is not a configured device",
			    gw_cfg_quote(o->uri, q, sizeof(q)), host);
	}
	if ((s = gw_cfg_required(L, r, "topic")) &&
	    gw_cfg_str_value(L, s, false, &text) == 1)
		compile_topic_template(L, s, &o->topic, text, 0,
				       GW_TMPL_ALLOW_DEVICE |
					   GW_TMPL_ALLOW_PATH);
	if (gw_cfg_get_int(L, r, "qos", 0, 2, &v) == 1)
		o->qos = (int)v;
	gw_cfg_get_bool(L, r, "retain", &o->retain);
}

void gw_cfg_load_routes(struct gw_cfg_loader *L, const struct gw_cfg_node *root)
{
	static const char *const keys[] = {"uplink", "downlink", "observe",
					   NULL};
	struct gw_config *cfg = L->cfg;
	const struct gw_cfg_node *g = NULL, *up = NULL, *down = NULL,
				 *obs = NULL;
	const struct gw_cfg_node *r;

	if (gw_cfg_get_group(L, root, "routes", &g) != 1)
		return;
	gw_cfg_check_keys(L, g, keys);
	gw_cfg_get_group_list(L, g, "uplink", &up);
	gw_cfg_get_group_list(L, g, "downlink", &down);
	gw_cfg_get_group_list(L, g, "observe", &obs);
	cfg->uplink =
	    gw_cfg_list_alloc(L, up, sizeof(*cfg->uplink), &cfg->n_uplink);
	for (size_t i = 0; i < cfg->n_uplink; i++)
		if (gw_cfg_list_group(L, up, i, &r))
			load_uplink(L, r, &cfg->uplink[i]);
	cfg->downlink = gw_cfg_list_alloc(L, down, sizeof(*cfg->downlink),
					  &cfg->n_downlink);
	for (size_t i = 0; i < cfg->n_downlink; i++)
		if (gw_cfg_list_group(L, down, i, &r))
			load_downlink(L, r, &cfg->downlink[i]);
	cfg->observe =
	    gw_cfg_list_alloc(L, obs, sizeof(*cfg->observe), &cfg->n_observe);
	for (size_t i = 0; i < cfg->n_observe; i++)
		if (gw_cfg_list_group(L, obs, i, &r))
			load_observe(L, r, &cfg->observe[i]);
}

void gw_cfg_routes_index(struct gw_cfg_loader *L)
{
	struct gw_config *cfg = L->cfg;

	cfg->uplink_index = gw_route_index_new();
	cfg->downlink_index = gw_route_index_new();
	if (!cfg->uplink_index || !cfg->downlink_index) {
		L->nomem = true;
		return;
	}
	for (size_t i = 0; i < cfg->n_uplink; i++)
		if (gw_route_index_add(cfg->uplink_index, &cfg->uplink[i].path,
				       (uint32_t)i) < 0)
			L->nomem = true;
	for (size_t i = 0; i < cfg->n_downlink; i++)
		if (gw_route_index_add(cfg->downlink_index,
				       &cfg->downlink[i].topic,
				       (uint32_t)i) < 0)
			L->nomem = true;
}

void gw_cfg_routes_cleanup(struct gw_config *cfg)
{
	for (size_t i = 0; i < cfg->n_uplink; i++) {
		gw_pattern_cleanup(&cfg->uplink[i].path);
		gw_template_cleanup(&cfg->uplink[i].topic);
	}
	for (size_t i = 0; i < cfg->n_downlink; i++) {
		gw_pattern_cleanup(&cfg->downlink[i].topic);
		gw_template_cleanup(&cfg->downlink[i].host);
		gw_template_cleanup(&cfg->downlink[i].path);
		gw_template_cleanup(&cfg->downlink[i].query);
		gw_template_cleanup(&cfg->downlink[i].response_topic);
	}
	for (size_t i = 0; i < cfg->n_observe; i++)
		gw_template_cleanup(&cfg->observe[i].topic);
	gw_route_index_free(cfg->uplink_index);
	gw_route_index_free(cfg->downlink_index);
}
