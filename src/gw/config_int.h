/*
 * gw_cfg: the config loader's internal interface, shared by the files that
 * make up gw_config (config.h). Not a public API.
 *
 * config.c is the only file that sees <libconfig.h> (STYLE.md rule 3): it
 * reads the file, and hands the section validators (config_gateway.c,
 * config_devices.c, config_routes.c, config_ha.c) the settings as opaque
 * nodes with typed getters. config_loader.c holds what the getters and
 * validators share: the allocation pool behind every pointer in struct
 * gw_config, the problem list and the checks used by several sections.
 *
 * Getters return 1 when the setting is there and valid (*out set), 0 when
 * it is absent (*out untouched) and -1 when a problem was reported.
 * Validators keep going after a problem, so --check-config lists them all.
 * Every string a getter returns is a copy in the pool.
 */
#ifndef GW_CONFIG_INT_H
#define GW_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "config_scan.h"

/* One setting of the file (a libconfig setting): borrowed from the tree,
 * valid while the tree is loaded (during the section validators). */
struct gw_cfg_node;

struct gw_cfg_file_name; /* config_loader.c */
struct gw_cfg_pending;   /* config_loader.c */

/* The state of one gw_config_load() call. */
struct gw_cfg_loader {
	struct gw_config *cfg; /* being filled in */
	gw_config_report_fn report;
	void *user;
	unsigned problems; /* reported so far */
	bool nomem;        /* an allocation failed: the load fails */
	const char *path;  /* as given */
	const char *dir;   /* the include directory, in the pool */
	struct gw_scan scan;
	struct gw_cfg_file_name *names; /* libconfig's file names -> shown */
	size_t n_names;
	struct gw_cfg_pending
	    *pending; /* problems, reported sorted at the end */
	size_t n_pending, cap_pending;
};

/* Room for gw_cfg_quote()'s result. */
#define GW_CFG_QBUF 400

/* ---- config_loader.c: the pool (freed by gw_config_free) ---- */

/* Zeroed memory in the config's pool; NULL sets L->nomem. */
void *gw_cfg_alloc(struct gw_cfg_loader *L, size_t size);
char *gw_cfg_strndup(struct gw_cfg_loader *L, const char *s, size_t len);
char *gw_cfg_strdup(struct gw_cfg_loader *L, const char *s);
char *gw_cfg_printf(struct gw_cfg_loader *L, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* An empty pool, or NULL (out of memory). */
struct gw_config_pool *gw_cfg_pool_new(void);
/* Free every allocation of @pool, and @pool. NULL is a no-op. */
void gw_cfg_pool_free(struct gw_config_pool *pool);

/* ---- config_loader.c: problems ---- */

/*
 * The name to show for the file libconfig calls @lc (NULL: the main file),
 * in the pool: an included file is shown with the include directory.
 */
const char *gw_cfg_file_shown(struct gw_cfg_loader *L, const char *lc);
/* Count a problem at @file:@line and hold it for gw_cfg_problems_flush. */
void gw_cfg_problem_at(struct gw_cfg_loader *L, const char *file, unsigned line,
		       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Report the held problems in file order (main file first), then line. */
void gw_cfg_problems_flush(struct gw_cfg_loader *L);
/* @s quoted for a message into @buf: escaped, cut at 80 bytes. */
const char *gw_cfg_quote(const char *s, char *buf, size_t cap);

/* ---- config_loader.c: checks shared by the sections ---- */

/* Is @s non-empty and made of [A-Za-z0-9_-] only? */
bool gw_cfg_name_ok(const char *s);
/* Report @topic (the value of @s) unless gw_topic_valid() takes it. */
void gw_cfg_check_topic(struct gw_cfg_loader *L, const struct gw_cfg_node *s,
			const char *topic);
/* 0, or -1 after reporting @filter (the value of @s) as no topic filter. */
int gw_cfg_check_filter(struct gw_cfg_loader *L, const struct gw_cfg_node *s,
			const char *filter);
/* A plain topic key of group @g (no placeholders), checked. */
void gw_cfg_get_topic(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
		      const char *key, const char **out);
/*
 * A file named in the config, relative to the config file's directory
 * (the daemon runs from /). _resolve only joins (NULL: out of memory);
 * _file_path also checks it can be read now (NULL: reported at @s).
 */
const char *gw_cfg_resolve(struct gw_cfg_loader *L, const char *name);
const char *gw_cfg_file_path(struct gw_cfg_loader *L,
			     const struct gw_cfg_node *s, const char *name);

/* ---- config.c: the tree ---- */

/* The member @key of group @g, or NULL. */
const struct gw_cfg_node *gw_cfg_member(const struct gw_cfg_node *g,
					const char *key);
/* Element @i of list or array @l (i < gw_cfg_len(@l)). */
const struct gw_cfg_node *gw_cfg_elem(const struct gw_cfg_node *l, size_t i);
/* Members of a group, elements of a list or array, 0 otherwise. */
size_t gw_cfg_len(const struct gw_cfg_node *n);
/* Where @n was written (the file as shown, the line). */
struct gw_config_loc gw_cfg_loc(struct gw_cfg_loader *L,
				const struct gw_cfg_node *n);
/* A problem with @s: the message gets "KEY: " (e.g. "devices[2].name: ")
 * in front and @s's file and line. */
void gw_cfg_problem(struct gw_cfg_loader *L, const struct gw_cfg_node *s,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Report every member of group @g not named in @keys (NULL-terminated). */
void gw_cfg_check_keys(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
		       const char *const *keys);
/* Member @key of @g, or NULL after reporting "missing 'KEY'" at @g. */
const struct gw_cfg_node *gw_cfg_required(struct gw_cfg_loader *L,
					  const struct gw_cfg_node *g,
					  const char *key);

/* ---- config.c: typed getters (1 found, 0 absent, -1 reported) ---- */

int gw_cfg_get_bool(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
		    const char *key, bool *out);
/* An integer in @lo..@hi (the value as written when libconfig wrapped it). */
int gw_cfg_get_int(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
		   const char *key, long long lo, long long hi, long long *out);
int gw_cfg_get_u32(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
		   const char *key, long long lo, long long hi, uint32_t *out);
/* A number (integer or float) in @lo..@hi; NaN is out of range. */
int gw_cfg_get_float(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
		     const char *key, double lo, double hi, double *out);
/* The string setting @s itself, without NUL; empty only if @allow_empty. */
int gw_cfg_str_value(struct gw_cfg_loader *L, const struct gw_cfg_node *s,
		     bool allow_empty, const char **out);
/* A non-empty string. */
int gw_cfg_get_str(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
		   const char *key, const char **out);
int gw_cfg_get_str_empty_ok(struct gw_cfg_loader *L,
			    const struct gw_cfg_node *g, const char *key,
			    const char **out);
/* A string that must be one of @names; *@out gets its index. */
int gw_cfg_get_enum(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
		    const char *key, const char *const *names, int *out);
int gw_cfg_get_group(struct gw_cfg_loader *L, const struct gw_cfg_node *parent,
		     const char *key, const struct gw_cfg_node **out);
/* A list of groups "( { ... }, ... )"; an empty array is accepted too. */
int gw_cfg_get_group_list(struct gw_cfg_loader *L,
			  const struct gw_cfg_node *parent, const char *key,
			  const struct gw_cfg_node **out);
/*
 * An array or list of non-empty strings: *@out (pool) gets them, *@n_out
 * their number and *@where (may be NULL) the list, for gw_cfg_elem.
 */
int gw_cfg_get_str_list(struct gw_cfg_loader *L, const struct gw_cfg_node *g,
			const char *key, const char ***out, size_t *n_out,
			const struct gw_cfg_node **where);

/* ---- config.c: lists of groups (devices, routes, entities) ---- */

/*
 * @n (gw_cfg_len(@list), 0 when @list is NULL) zeroed elements of @size
 * in the pool: NULL when there are none or on out of memory (*@n = 0).
 */
void *gw_cfg_list_alloc(struct gw_cfg_loader *L, const struct gw_cfg_node *list,
			size_t size, size_t *n);
/* Element @i of @list in *@out when it is a group; false when reported. */
bool gw_cfg_list_group(struct gw_cfg_loader *L, const struct gw_cfg_node *list,
		       size_t i, const struct gw_cfg_node **out);

/* ---- The sections, run in this order on the root group ---- */

void gw_cfg_load_gateway(struct gw_cfg_loader *L,
			 const struct gw_cfg_node *root); /* config_gateway.c */
void gw_cfg_load_coap(struct gw_cfg_loader *L, const struct gw_cfg_node *root);
void gw_cfg_load_mqtt(struct gw_cfg_loader *L, const struct gw_cfg_node *root);
void gw_cfg_load_devices(struct gw_cfg_loader *L,
			 const struct gw_cfg_node *root); /* config_devices.c */
void gw_cfg_load_routes(struct gw_cfg_loader *L,
			const struct gw_cfg_node *root); /* config_routes.c */
void gw_cfg_load_homeassistant(
    struct gw_cfg_loader *L, const struct gw_cfg_node *root); /* config_ha.c */

/* config_routes.c: index the explicit routes (after a load without
 * problems); sets L->nomem on failure. */
void gw_cfg_routes_index(struct gw_cfg_loader *L);
/* config_routes.c: free what the routes own outside the pool. */
void gw_cfg_routes_cleanup(struct gw_config *cfg);

#endif
