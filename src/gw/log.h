/*
 * gw_log: one line per event on stderr. Under journald (JOURNAL_STREAM set)
 * each line starts with the syslog priority prefix "<N>", so journalctl
 * shows levels; otherwise lines are plain text with a level word.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdbool.h>
#include <stdint.h>

/* syslog(3) priorities, so the "<N>" prefix is the level itself. */
enum gw_log_level {
	GW_LOG_ERR = 3,
	GW_LOG_WARNING = 4,
	GW_LOG_NOTICE = 5,
	GW_LOG_INFO = 6,
	GW_LOG_DEBUG = 7,
};

/* Show messages up to @max_level; detect journald from the environment. */
void gw_log_init(int max_level);
void gw_log_set_level(int max_level);
/* True when stderr is the journal, i.e. gw_log() writes "<N>" prefixes. */
bool gw_log_to_journal(void);
bool gw_log_enabled(int level);
void gw_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define gw_err(...)    gw_log(GW_LOG_ERR, __VA_ARGS__)
#define gw_warn(...)   gw_log(GW_LOG_WARNING, __VA_ARGS__)
#define gw_notice(...) gw_log(GW_LOG_NOTICE, __VA_ARGS__)
#define gw_info(...)   gw_log(GW_LOG_INFO, __VA_ARGS__)
#define gw_debug(...)                                                          \
	do {                                                                   \
		if (gw_log_enabled(GW_LOG_DEBUG))                              \
			gw_log(GW_LOG_DEBUG, __VA_ARGS__);                     \
	} while (0)

/*
 * A token bucket for messages a peer can trigger at will (malformed
 * datagrams, refused requests): a hostile device must not flood the
 * journal. Zero-initialise; gw_log_ratelimit() returns true when a line
 * may be written now (at most @burst lines, refilled at @per_s lines/s),
 * and counts the suppressed ones, reported with the next line allowed.
 */
struct gw_ratelimit {
	uint64_t last_ms;
	double tokens;
	uint64_t suppressed;
};
bool gw_log_ratelimit(struct gw_ratelimit *rl, uint64_t now_ms, double per_s,
		      double burst);

#endif
