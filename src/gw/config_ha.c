/*
 * gw_cfg: the homeassistant group -- MQTT discovery for the entities the
 * devices provide (one component each), with the keys each component
 * requires or forbids.
 */
#include "config_int.h"

#include <string.h>

static const char *const components[] = {
    "sensor", "binary_sensor", "switch", "light", "number", "button", NULL};

static void load_entity(struct gw_cfg_loader *L, const struct gw_cfg_node *e,
			size_t index)
{
	static const char *const keys[] = {"device",
					   "component",
					   "object_id",
					   "name",
					   "state_topic",
					   "command_topic",
					   "device_class",
					   "unit",
					   "state_class",
					   "value_template",
					   "json_attributes_topic",
					   "payload_on",
					   "payload_off",
					   "brightness_state_topic",
					   "brightness_command_topic",
					   "brightness_scale",
					   "min",
					   "max",
					   "step",
					   "icon",
					   "entity_category",
					   NULL};
	/* Home Assistant's sensor state classes */
	static const char *const state_classes[] = {
	    "measurement", "measurement_angle", "total", "total_increasing",
	    NULL};
	static const char *const categories[] = {"config", "diagnostic", NULL};
	struct gw_config_entity *en = &L->cfg->homeassistant.entities[index];
	const struct gw_cfg_node *s;
	char q[GW_CFG_QBUF];
	int k;

	en->loc = gw_cfg_loc(L, e);
	en->device = -1;
	en->brightness_scale = GW_CONFIG_DEFAULT_BRIGHTNESS_SCALE;
	gw_cfg_check_keys(L, e, keys);
	if ((s = gw_cfg_required(L, e, "device")) &&
	    gw_cfg_str_value(L, s, false, &en->device_name) == 1 &&
	    (en->device = gw_config_device_find(L->cfg, en->device_name,
						strlen(en->device_name))) < 0)
		gw_cfg_problem(L, s, "%s is not a configured device",
			       gw_cfg_quote(en->device_name, q, sizeof(q)));
	bool comp_ok = false;
	if (gw_cfg_required(L, e, "component") &&
	    gw_cfg_get_enum(L, e, "component", components, &k) == 1) {
		en->component = (enum gw_ha_component)k;
		en->component_name = components[k];
		comp_ok = true;
	}
	if ((s = gw_cfg_required(L, e, "object_id")) &&
	    gw_cfg_str_value(L, s, false, &en->object_id) == 1) {
		if (!gw_cfg_name_ok(en->object_id)) {
			gw_cfg_problem(
			    L, s, "%s may only have A-Z a-z 0-9 _ -",
			    gw_cfg_quote(en->object_id, q, sizeof(q)));
		} else if (en->device_name) {
			for (size_t i = 0; i < index; i++) {
				const struct gw_config_entity *o =
				    &L->cfg->homeassistant.entities[i];

				if (o->object_id && o->device_name &&
				    strcmp(o->device_name, en->device_name) ==
					0 &&
				    strcmp(o->object_id, en->object_id) == 0)
					gw_cfg_problem(
					    L, s,
					    "%s is already used for device "
					    "'%s' at %s:%u",
					    gw_cfg_quote(en->object_id, q,
							 sizeof(q)),
					    en->device_name, o->loc.file,
					    o->loc.line);
			}
		}
	}
	gw_cfg_get_str(L, e, "name", &en->name);
	gw_cfg_get_topic(L, e, "state_topic", &en->state_topic);
	gw_cfg_get_topic(L, e, "command_topic", &en->command_topic);
	gw_cfg_get_str(L, e, "device_class", &en->device_class);
	gw_cfg_get_str(L, e, "unit", &en->unit);
	if (gw_cfg_get_enum(L, e, "state_class", state_classes, &k) == 1)
		en->state_class = state_classes[k];
	gw_cfg_get_str(L, e, "value_template", &en->value_template);
	gw_cfg_get_topic(L, e, "json_attributes_topic",
			 &en->json_attributes_topic);
	gw_cfg_get_str_empty_ok(L, e, "payload_on", &en->payload_on);
	gw_cfg_get_str_empty_ok(L, e, "payload_off", &en->payload_off);
	gw_cfg_get_topic(L, e, "brightness_state_topic",
			 &en->brightness_state_topic);
	gw_cfg_get_topic(L, e, "brightness_command_topic",
			 &en->brightness_command_topic);
	gw_cfg_get_u32(L, e, "brightness_scale", 1, 65535,
		       &en->brightness_scale);
	if (gw_cfg_get_float(L, e, "min", -1e15, 1e15, &en->min) == 1)
		en->has_min = true;
	if (gw_cfg_get_float(L, e, "max", -1e15, 1e15, &en->max) == 1)
		en->has_max = true;
	if (gw_cfg_get_float(L, e, "step", 1e-9, 1e15, &en->step) == 1)
		en->has_step = true;
	gw_cfg_get_str(L, e, "icon", &en->icon);
	if (gw_cfg_get_enum(L, e, "entity_category", categories, &k) == 1)
		en->entity_category = categories[k];
	if (en->has_min && en->has_max && !(en->min < en->max))
		gw_cfg_problem(L, gw_cfg_member(e, "max"),
			       "%g is not above min (%g)", en->max, en->min);
	if (!comp_ok)
		return;

	/* Keys that only make sense for some components. */
	enum gw_ha_component c = en->component;
	static const char *const light_only[] = {"brightness_state_topic",
						 "brightness_command_topic",
						 "brightness_scale", NULL};
	static const char *const number_only[] = {"min", "max", "step", NULL};
	static const char *const onoff_only[] = {"payload_on", "payload_off",
						 NULL};
	for (int i = 0; light_only[i]; i++)
		if (c != GW_HA_LIGHT && (s = gw_cfg_member(e, light_only[i])))
			gw_cfg_problem(L, s, "only for component \"light\"");
	for (int i = 0; number_only[i]; i++)
		if (c != GW_HA_NUMBER && (s = gw_cfg_member(e, number_only[i])))
			gw_cfg_problem(L, s, "only for component \"number\"");
	if (c != GW_HA_SENSOR && (s = gw_cfg_member(e, "state_class")))
		gw_cfg_problem(L, s, "only for component \"sensor\"");
	if ((c == GW_HA_SENSOR || c == GW_HA_BINARY_SENSOR) &&
	    !gw_cfg_member(e, "state_topic"))
		gw_cfg_problem(L, e,
			       "missing 'state_topic' (a %s reports a state)",
			       en->component_name);
	if ((c == GW_HA_SWITCH || c == GW_HA_LIGHT || c == GW_HA_NUMBER ||
	     c == GW_HA_BUTTON) &&
	    !gw_cfg_member(e, "command_topic"))
		gw_cfg_problem(L, e,
			       "missing 'command_topic' (a %s takes commands)",
			       en->component_name);
	/* Only on/off components publish them (ha.c); elsewhere they would
	 * be accepted and silently ignored. */
	for (int i = 0; onoff_only[i]; i++)
		if (c != GW_HA_BINARY_SENSOR && c != GW_HA_SWITCH &&
		    c != GW_HA_LIGHT && (s = gw_cfg_member(e, onoff_only[i])))
			gw_cfg_problem(L, s,
				       "only for components \"binary_sensor\", "
				       "\"switch\" and \"light\"");
}

void gw_cfg_load_homeassistant(struct gw_cfg_loader *L,
			       const struct gw_cfg_node *root)
{
	static const char *const keys[] = {"enabled", "discovery_prefix",
					   "entities", NULL};
	struct gw_config_homeassistant *ha = &L->cfg->homeassistant;
	const struct gw_cfg_node *g = NULL, *list = NULL, *e;

	ha->discovery_prefix = GW_CONFIG_DEFAULT_DISCOVERY_PREFIX;
	if (gw_cfg_get_group(L, root, "homeassistant", &g) != 1)
		return;
	gw_cfg_check_keys(L, g, keys);
	gw_cfg_get_bool(L, g, "enabled", &ha->enabled);
	gw_cfg_get_topic(L, g, "discovery_prefix", &ha->discovery_prefix);
	if (gw_cfg_get_group_list(L, g, "entities", &list) != 1)
		return;
	ha->entities =
	    gw_cfg_list_alloc(L, list, sizeof(*ha->entities), &ha->n_entities);
	for (size_t i = 0; i < ha->n_entities; i++)
		if (gw_cfg_list_group(L, list, i, &e))
			load_entity(L, e, i);
}
