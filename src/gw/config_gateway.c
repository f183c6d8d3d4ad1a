/*
 * gw_cfg: the gateway's own settings -- the groups gateway (ids, base
 * topic), coap (listen addresses, RFC 7252 §4.8 transmission parameters)
 * and mqtt (broker, credentials, TLS, queue) -- validated through the
 * accessors of config_int.h.
 */
#include "config_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- gateway ---- */

static void default_id(struct gw_cfg_loader *L)
{
	char host[256];
	char *id;

	if (gethostname(host, sizeof(host)) < 0 || !host[0])
		strcpy(host, "coapbridge");
	host[sizeof(host) - 1] = '\0';
	id = gw_cfg_strdup(L, host);
	if (!id)
		return;
	/* node ids and client ids allow [A-Za-z0-9_-] only */
	for (char *c = id; *c; c++)
		if (!gw_cfg_name_ok((char[]){*c, '\0'}))
			*c = '_';
	L->cfg->gateway.id = id;
}

void gw_cfg_load_gateway(struct gw_cfg_loader *L,
			 const struct gw_cfg_node *root)
{
	static const char *const keys[] = {"id", "base_topic", "default_routes",
					   NULL};
	struct gw_config_gateway *gw = &L->cfg->gateway;
	const struct gw_cfg_node *g = NULL;
	char q[GW_CFG_QBUF];

	gw->base_topic = GW_CONFIG_DEFAULT_BASE_TOPIC;
	gw->default_routes = true;
	if (gw_cfg_get_group(L, root, "gateway", &g) == 1) {
		gw_cfg_check_keys(L, g, keys);
		if (gw_cfg_get_str(L, g, "id", &gw->id) == 1 &&
		    !gw_cfg_name_ok(gw->id)) {
			gw_cfg_problem(L, gw_cfg_member(g, "id"),
				       "%s may only have A-Z a-z 0-9 _ -",
				       gw_cfg_quote(gw->id, q, sizeof(q)));
			gw->id = NULL;
		}
		if (gw_cfg_get_str(L, g, "base_topic", &gw->base_topic) == 1) {
			const struct gw_cfg_node *s =
			    gw_cfg_member(g, "base_topic");
			size_t n = strlen(gw->base_topic);

			/* a leading '$' gets the message below only */
			if (gw->base_topic[0] != '$')
				gw_cfg_check_topic(L, s, gw->base_topic);
			if (gw->base_topic[0] == '/' ||
			    gw->base_topic[n - 1] == '/' ||
			    gw->base_topic[0] == '$')
				gw_cfg_problem(
				    L, s,
				    "%s must not start or end with '/' "
				    "or start with '$'",
				    gw_cfg_quote(gw->base_topic, q, sizeof(q)));
		}
		gw_cfg_get_bool(L, g, "default_routes", &gw->default_routes);
	}
	if (!gw->id)
		default_id(L);
}

/* ---- coap ---- */

void gw_cfg_load_coap(struct gw_cfg_loader *L, const struct gw_cfg_node *root)
{
	static const char *const keys[] = {"listen",
					   "allow_unknown_devices",
					   "max_message_size",
					   "ack_timeout_ms",
					   "ack_random_factor",
					   "max_retransmit",
					   "request_timeout_ms",
					   NULL};
	struct gw_config_coap *c = &L->cfg->coap;
	const struct gw_cfg_node *g = NULL, *where = NULL;
	const char **listen = NULL;
	size_t n = 0;
	char q[GW_CFG_QBUF];

	c->max_message_size = GW_CONFIG_DEFAULT_MAX_MESSAGE_SIZE;
	c->ack_timeout_ms = UCOAP_ACK_TIMEOUT_MS;
	c->ack_random_factor = UCOAP_ACK_RANDOM_FACTOR;
	c->max_retransmit = UCOAP_MAX_RETRANSMIT;
	c->request_timeout_ms = GW_CONFIG_DEFAULT_REQUEST_TIMEOUT_MS;
	if (gw_cfg_get_group(L, root, "coap", &g) == 1) {
		gw_cfg_check_keys(L, g, keys);
		if (gw_cfg_get_str_list(L, g, "listen", &listen, &n, &where) ==
		    1) {
			if (n == 0)
				gw_cfg_problem(L, where,
					       "needs at least one address");
			else if (n > GW_CONFIG_MAX_LISTEN)
				gw_cfg_problem(L, where,
					       "%zu addresses, at most %d", n,
					       GW_CONFIG_MAX_LISTEN);
		}
		gw_cfg_get_bool(L, g, "allow_unknown_devices",
				&c->allow_unknown_devices);
		gw_cfg_get_u32(L, g, "max_message_size", 64, 65535,
			       &c->max_message_size);
		gw_cfg_get_u32(L, g, "ack_timeout_ms", 10, 600000,
			       &c->ack_timeout_ms);
		gw_cfg_get_float(L, g, "ack_random_factor", 1.0, 10.0,
				 &c->ack_random_factor);
		gw_cfg_get_u32(L, g, "max_retransmit", 0, 20,
			       &c->max_retransmit);
		gw_cfg_get_u32(L, g, "request_timeout_ms", 1, 3600000,
			       &c->request_timeout_ms);
	}
	if (!listen || n == 0) {
		static const char *const def[] = {GW_CONFIG_DEFAULT_LISTEN};

		listen = (const char **)def;
		n = 1;
		where = NULL;
	}
	c->listen = gw_cfg_alloc(L, n * sizeof(*c->listen));
	if (!c->listen)
		return;
	c->n_listen = n;
	for (size_t i = 0; i < n; i++) {
		if (ucoap_addr_parse(&c->listen[i], listen[i],
				     UCOAP_DEFAULT_PORT) != 0 &&
		    where)
			gw_cfg_problem(
			    L, gw_cfg_elem(where, i),
			    "%s is not ADDR:PORT, [IPV6]:PORT or ADDR",
			    gw_cfg_quote(listen[i], q, sizeof(q)));
	}
}

/* ---- mqtt ---- */

static const char *read_password(struct gw_cfg_loader *L,
				 const struct gw_cfg_node *s, const char *path)
{
	char buf[65536 + 2], q[GW_CFG_QBUF];
	struct stat st;
	ssize_t n = 0, r;
	int fd;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		gw_cfg_problem(L, s, "cannot read %s: %s",
			       gw_cfg_quote(path, q, sizeof(q)),
			       strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		gw_cfg_problem(L, s, "%s is not a regular file",
			       gw_cfg_quote(path, q, sizeof(q)));
		close(fd);
		return NULL;
	}
	while ((size_t)n < sizeof(buf) - 1) {
		r = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	buf[n] = '\0';
	size_t len = strcspn(buf, "\n");
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (memchr(buf, '\0', len)) {
		gw_cfg_problem(L, s, "%s: the password contains a NUL byte",
			       gw_cfg_quote(path, q, sizeof(q)));
		return NULL;
	}
	if (len > 65535) {
		gw_cfg_problem(L, s,
			       "%s: the password is longer than 65535 bytes",
			       gw_cfg_quote(path, q, sizeof(q)));
		return NULL;
	}
	const char *pw = gw_cfg_strndup(L, buf, len);
	explicit_bzero(buf, sizeof(buf));
	return pw;
}

/*
 * A readable path is not enough: libmosquitto opens a directory given as a
 * file without complaint and OpenSSL fails only at the first handshake, so
 * the gateway would retry forever. Files must be files, ca_path a directory.
 */
static const char *tls_path(struct gw_cfg_loader *L,
			    const struct gw_cfg_node *s, const char *name,
			    bool dir)
{
	const char *path = gw_cfg_file_path(L, s, name);
	char q[GW_CFG_QBUF];
	struct stat st;

	if (!path)
		return NULL;
	if (stat(path, &st) < 0) {
		gw_cfg_problem(L, s, "cannot read %s: %s",
			       gw_cfg_quote(path, q, sizeof(q)),
			       strerror(errno));
		return NULL;
	}
	if (dir && !S_ISDIR(st.st_mode)) {
		gw_cfg_problem(L, s, "%s: not a directory",
			       gw_cfg_quote(path, q, sizeof(q)));
		return NULL;
	}
	if (!dir && !S_ISREG(st.st_mode)) {
		gw_cfg_problem(L, s, "%s: not a regular file",
			       gw_cfg_quote(path, q, sizeof(q)));
		return NULL;
	}
	return path;
}

static void load_tls(struct gw_cfg_loader *L, const struct gw_cfg_node *t)
{
	static const char *const keys[] = {"ca_file",  "ca_path", "cert_file",
					   "key_file", "version", "ciphers",
					   "insecure", NULL};
	static const char *const versions[] = {"tlsv1.2", "tlsv1.3", NULL};
	struct gw_config_tls *tls = &L->cfg->mqtt.tls;
	static const char *const file_keys[] = {"ca_file", "ca_path",
						"cert_file", "key_file"};
	const char **slots[] = {&tls->ca_file, &tls->ca_path, &tls->cert_file,
				&tls->key_file};
	int v;

	tls->enabled = true;
	tls->loc = gw_cfg_loc(L, t);
	gw_cfg_check_keys(L, t, keys);
	for (size_t i = 0; i < 4; i++) {
		const char *name;

		if (gw_cfg_get_str(L, t, file_keys[i], &name) == 1)
			*slots[i] =
			    tls_path(L, gw_cfg_member(t, file_keys[i]), name,
				     !strcmp(file_keys[i], "ca_path"));
	}
	if (gw_cfg_member(t, "cert_file") && !gw_cfg_member(t, "key_file"))
		gw_cfg_problem(L, t, "cert_file needs key_file");
	if (gw_cfg_member(t, "key_file") && !gw_cfg_member(t, "cert_file"))
		gw_cfg_problem(L, t, "key_file needs cert_file");
	/* libmosquitto takes a client certificate only together with a CA
	 * file or directory (mosquitto_tls_set), not with the system store. */
	if (gw_cfg_member(t, "cert_file") && !gw_cfg_member(t, "ca_file") &&
	    !gw_cfg_member(t, "ca_path"))
		gw_cfg_problem(L, t, "cert_file needs ca_file or ca_path");
	if (gw_cfg_get_enum(L, t, "version", versions, &v) == 1)
		tls->version = versions[v];
	gw_cfg_get_str(L, t, "ciphers", &tls->ciphers);
	gw_cfg_get_bool(L, t, "insecure", &tls->insecure);
}

void gw_cfg_load_mqtt(struct gw_cfg_loader *L, const struct gw_cfg_node *root)
{
	static const char *const keys[] = {
	    "host",          "port",        "client_id", "username",
	    "password_file", "protocol",    "keepalive", "qos",
	    "tls",           "queue_limit", NULL};
	static const char *const protocols[] = {"v5", "v3.1.1", NULL};
	struct gw_config_mqtt *m = &L->cfg->mqtt;
	const struct gw_cfg_node *g = NULL, *t = NULL;
	long long v;
	int p;
	bool port_set = false;

	m->host = GW_CONFIG_DEFAULT_MQTT_HOST;
	m->port = GW_CONFIG_DEFAULT_MQTT_PORT;
	m->protocol = GW_CONFIG_MQTT_V5;
	m->keepalive = GW_CONFIG_DEFAULT_KEEPALIVE;
	m->qos = GW_CONFIG_DEFAULT_QOS;
	m->queue_limit = GW_CONFIG_DEFAULT_QUEUE_LIMIT;
	if (gw_cfg_get_group(L, root, "mqtt", &g) == 1) {
		gw_cfg_check_keys(L, g, keys);
		gw_cfg_get_str(L, g, "host", &m->host);
		if (gw_cfg_get_int(L, g, "port", 1, 65535, &v) == 1) {
			m->port = (uint16_t)v;
			port_set = true;
		} else if (gw_cfg_member(g, "port")) {
			port_set = true;
		}
		gw_cfg_get_str(L, g, "client_id", &m->client_id);
		gw_cfg_get_str(L, g, "username", &m->username);
		if (gw_cfg_get_str(L, g, "password_file", &m->password_file) ==
		    1) {
			const struct gw_cfg_node *s =
			    gw_cfg_member(g, "password_file");
			const char *path = gw_cfg_resolve(L, m->password_file);

			if (!gw_cfg_member(g, "username"))
				gw_cfg_problem(L, s, "needs mqtt.username");
			if (path) {
				m->password_file = path;
				m->password = read_password(L, s, path);
			}
		}
		if (gw_cfg_get_enum(L, g, "protocol", protocols, &p) == 1)
			m->protocol =
			    p == 0 ? GW_CONFIG_MQTT_V5 : GW_CONFIG_MQTT_V311;
		/* mosquitto refuses keepalives under 5 s */
		gw_cfg_get_u32(L, g, "keepalive", 5, 65535, &m->keepalive);
		if (gw_cfg_get_int(L, g, "qos", 0, 2, &v) == 1)
			m->qos = (int)v;
		if (gw_cfg_get_group(L, g, "tls", &t) == 1)
			load_tls(L, t);
		gw_cfg_get_u32(L, g, "queue_limit", 1, 10000000,
			       &m->queue_limit);
	}
	if (m->tls.enabled && !port_set)
		m->port = GW_CONFIG_DEFAULT_MQTT_TLS_PORT;
	if (!m->client_id && L->cfg->gateway.id)
		m->client_id =
		    gw_cfg_printf(L, "coapbridge-%s", L->cfg->gateway.id);
}
