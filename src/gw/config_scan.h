/*
 * gw_config_scan: a lexical pre-pass over a libconfig file and every file
 * it @includes, run before libconfig sees them, for the inputs libconfig
 * 1.5 (Debian 12) mishandles (each verified on that version):
 *
 * - an @include of a directory (or a FIFO, a device...) makes its flex
 *   scanner call exit(2) ("input in flex scanner failed"): the scan opens
 *   every included file the way libconfig will (include_dir + "/" + name,
 *   for absolute names too, so those never work) and rejects anything
 *   that is not a readable regular file, with the @include's FILE:LINE;
 * - a file that includes itself is read again until the depth limit, and
 *   k such lines cost k^10 reads (the fuzzer's timeout): the scan refuses
 *   the loop where it closes, and more than 100 @includes in all;
 * - integers are converted with atoi()/strtoul() and silently wrap
 *   (99999999999 becomes 1215752191, 0xFFFFFFFF becomes -1): the scan
 *   notes every integer literal whose value libconfig cannot hold;
 * - "\x00" in a string is silently dropped: the scan notes it.
 *
 * Internal to the config loader (config_int.h); not a public API.
 */
#ifndef GW_CONFIG_SCAN_H
#define GW_CONFIG_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* libconfig 1.5's MAX_INCLUDE_DEPTH. */
#define GW_CONFIG_SCAN_MAX_DEPTH 10
/*
 * @includes read in all. Without a budget, a file that includes another
 * k times, nested 10 deep, costs k^10 reads (libconfig would do the same);
 * a real configuration has a handful.
 */
#define GW_CONFIG_SCAN_MAX_INCLUDES 100
/* A config file larger than this is refused (it is surely not one). */
#define GW_CONFIG_SCAN_MAX_SIZE (4 * 1024 * 1024)

enum gw_scan_note_kind {
	GW_SCAN_BIG_INT, /* an integer literal libconfig would wrap */
	GW_SCAN_NUL,     /* a "\x00" escape in a string */
};

/*
 * A literal worth a second look. @file is the name as libconfig's
 * config_setting_source_file() will give it (the main path as passed, an
 * included file's name as written in its @include), @name the setting
 * name it was assigned to ("" when none: a list element).
 */
struct gw_scan_note {
	enum gw_scan_note_kind kind;
	char *file;
	unsigned line;
	char *name;
	char *text; /* the literal as written (BIG_INT) */
	bool used;  /* set by the consumer once reported */
};

/* Called for each fatal problem: libconfig must not be run afterwards. */
typedef void (*gw_scan_report_fn)(void *user, const char *file, unsigned line,
				  const char *message);

struct gw_scan {
	struct gw_scan_note *notes;
	size_t n_notes, cap_notes;
	int fatal; /* problems that stop the load before libconfig runs */
	gw_scan_report_fn report;
	void *user;
	const char *dir; /* the include directory */
	/* the files being read, outermost first, to refuse include loops */
	struct {
		dev_t dev;
		ino_t ino;
	} open[GW_CONFIG_SCAN_MAX_DEPTH + 1];
	unsigned includes; /* @includes read so far */
};

/*
 * Scan @path (opened as given) and, recursively, its @includes, resolved
 * as @dir + "/" + name. Problems that would make libconfig exit or fail to
 * open a file are reported through @report and counted in @s->fatal.
 * Returns 0 or -ENOMEM.
 */
int gw_config_scan(struct gw_scan *s, const char *path, const char *dir,
		   gw_scan_report_fn report, void *user);
void gw_config_scan_cleanup(struct gw_scan *s);

/* The unused note of @kind for setting @name at @file:@line, or NULL. */
struct gw_scan_note *gw_config_scan_find(struct gw_scan *s,
					 enum gw_scan_note_kind kind,
					 const char *file, unsigned line,
					 const char *name);

#endif
