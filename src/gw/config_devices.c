/*
 * gw_cfg: the devices list -- each device's name, unicast address and
 * port, availability timeout and MQTT permissions -- and the lookup by
 * name the routes, the entities and the bridge use.
 */
#include "config_int.h"

#include <netinet/in.h>
#include <string.h>

#include "route.h"

/* Why @a cannot be a device's address, or NULL when it can. */
static const char *address_kind_problem(const struct ucoap_addr *a)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
	uint32_t v4;

	if (a->ss.ss_family == AF_INET6) {
		if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
			return "the unspecified address";
		if (IN6_IS_ADDR_MULTICAST(&s6->sin6_addr))
			return "a multicast address";
		if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			return NULL;
		memcpy(&v4, &s6->sin6_addr.s6_addr[12], 4);
	} else {
		v4 = ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr;
	}
	v4 = ntohl(v4);
	if (v4 == 0)
		return "the unspecified address";
	if (v4 == 0xFFFFFFFFu)
		return "the broadcast address";
	if ((v4 >> 28) == 0xE)
		return "a multicast address";
	return NULL;
}

static void load_device(struct gw_cfg_loader *L, const struct gw_cfg_node *d,
			size_t index)
{
	static const char *const keys[] = {
	    "name",    "address",   "port", "availability_timeout",
	    "publish", "subscribe", NULL};
	struct gw_config_device *dev = &L->cfg->devices[index];
	const struct gw_cfg_node *s;
	const struct gw_cfg_node *where;
	long long v;
	char q[GW_CFG_QBUF];

	dev->loc = gw_cfg_loc(L, d);
	dev->port = UCOAP_DEFAULT_PORT;
	dev->availability_timeout = GW_CONFIG_DEFAULT_AVAILABILITY_TIMEOUT;
	gw_cfg_check_keys(L, d, keys);
	s = gw_cfg_member(d, "name");
	if (!s) {
		gw_cfg_problem(L, d, "missing 'name'");
	} else if (gw_cfg_str_value(L, s, false, &dev->name) == 1) {
		if (!gw_cfg_name_ok(dev->name)) {
			gw_cfg_problem(L, s, "%s may only have A-Z a-z 0-9 _ -",
				       gw_cfg_quote(dev->name, q, sizeof(q)));
		} else if (strcmp(dev->name, "bridge") == 0) {
			/* B/bridge/state is the gateway's own topic */
			gw_cfg_problem(L, s, "\"bridge\" is reserved");
		} else {
			for (size_t i = 0; i < index; i++) {
				const struct gw_config_device *o =
				    &L->cfg->devices[i];

				if (o->name && strcmp(o->name, dev->name) == 0)
					gw_cfg_problem(
					    L, s,
					    "%s is already the name of the "
					    "device at %s:%u",
					    gw_cfg_quote(dev->name, q,
							 sizeof(q)),
					    o->loc.file, o->loc.line);
			}
		}
	}
	if (gw_cfg_get_int(L, d, "port", 1, 65535, &v) == 1)
		dev->port = (uint16_t)v;
	gw_cfg_get_u32(L, d, "availability_timeout", 1, 31536000,
		       &dev->availability_timeout);
	s = gw_cfg_member(d, "address");
	if (!s) {
		gw_cfg_problem(L, d, "missing 'address'");
	} else if (gw_cfg_str_value(L, s, false, &dev->address) == 1) {
		const char *why;

		if (ucoap_addr_set(&dev->addr, dev->address, dev->port) != 0) {
			gw_cfg_problem(
			    L, s,
			    "%s is not an IPv4 or IPv6 address (no "
			    "names, no port: use 'port')",
			    gw_cfg_quote(dev->address, q, sizeof(q)));
			dev->address = NULL;
		} else if ((why = address_kind_problem(&dev->addr))) {
			gw_cfg_problem(L, s, "%s is %s, not a unicast address",
				       gw_cfg_quote(dev->address, q, sizeof(q)),
				       why);
			dev->address = NULL;
		} else {
			/* a request is attributed by source address alone */
			for (size_t i = 0; i < index; i++) {
				const struct gw_config_device *o =
				    &L->cfg->devices[i];

				if (o->address &&
				    ucoap_addr_same_host(&o->addr, &dev->addr))
					gw_cfg_problem(
					    L, s,
					    "%s is already the address of "
					    "the device at %s:%u",
					    gw_cfg_quote(dev->address, q,
							 sizeof(q)),
					    o->loc.file, o->loc.line);
			}
		}
	}
	static const char *const lists[] = {"publish", "subscribe"};
	const char ***outs[] = {&dev->publish, &dev->subscribe};
	size_t *ns[] = {&dev->n_publish, &dev->n_subscribe};
	for (size_t k = 0; k < 2; k++) {
		if (gw_cfg_get_str_list(L, d, lists[k], outs[k], ns[k],
					&where) != 1)
			continue;
		for (size_t i = 0; i < *ns[k]; i++)
			gw_cfg_check_filter(L, gw_cfg_elem(where, i),
					    (*outs[k])[i]);
	}
}

void gw_cfg_load_devices(struct gw_cfg_loader *L,
			 const struct gw_cfg_node *root)
{
	struct gw_config *cfg = L->cfg;
	const struct gw_cfg_node *list = NULL, *d;

	if (gw_cfg_get_group_list(L, root, "devices", &list) != 1)
		return;
	cfg->devices =
	    gw_cfg_list_alloc(L, list, sizeof(*cfg->devices), &cfg->n_devices);
	for (size_t i = 0; i < cfg->n_devices; i++)
		if (gw_cfg_list_group(L, list, i, &d))
			load_device(L, d, i);
}

int gw_config_device_find(const struct gw_config *cfg, const char *name,
			  size_t len)
{
	for (size_t i = 0; i < cfg->n_devices; i++) {
		const char *n = cfg->devices[i].name;

		if (n && strlen(n) == len && memcmp(n, name, len) == 0)
			return (int)i;
	}
	return -1;
}
