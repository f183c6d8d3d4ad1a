/* gw_log: see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int log_max = GW_LOG_NOTICE;
static bool log_journal;

void gw_log_init(int max_level)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	/*
	 * systemd sets JOURNAL_STREAM to the device:inode of stderr when that
	 * is the journal; the "<N>" prefix then carries the priority
	 * (sd-daemon(3)). Compared with stderr as it is (systemd.exec(5)):
	 * inherited by a process whose stderr went elsewhere, it is stale.
	 */
	log_journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
		      fstat(STDERR_FILENO, &st) == 0 &&
		      (unsigned long long)st.st_dev == dev &&
		      (unsigned long long)st.st_ino == ino;
	log_max = max_level;
}

void gw_log_set_level(int max_level)
{
	log_max = max_level;
}

bool gw_log_to_journal(void)
{
	return log_journal;
}

bool gw_log_enabled(int level)
{
	return level <= log_max;
}

void gw_log(int level, const char *fmt, ...)
{
	static const char *const words[] = {
	    [GW_LOG_ERR] = "error",     [GW_LOG_WARNING] = "warning",
	    [GW_LOG_NOTICE] = "notice", [GW_LOG_INFO] = "info",
	    [GW_LOG_DEBUG] = "debug",
	};
	char line[1024];
	va_list ap;

	if (!gw_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line, so lines from one process never interleave. */
	if (log_journal)
		fprintf(stderr, "<%d>%s\n", level, line);
	else
		fprintf(stderr, "coapbridge: %s: %s\n",
			level >= GW_LOG_ERR && level <= GW_LOG_DEBUG
			    ? words[level]
			    : "log",
			line);
}

bool gw_log_ratelimit(struct gw_ratelimit *rl, uint64_t now_ms, double per_s,
		      double burst)
{
	if (rl->last_ms == 0) {
		rl->tokens = burst;
	} else if (now_ms > rl->last_ms) {
		rl->tokens += (double)(now_ms - rl->last_ms) * per_s / 1000.0;
		if (rl->tokens > burst)
			rl->tokens = burst;
	}
	rl->last_ms = now_ms ? now_ms : 1;
	if (rl->tokens >= 1.0) {
		rl->tokens -= 1.0;
		if (rl->suppressed) {
			gw_warn("%llu similar messages suppressed",
				(unsigned long long)rl->suppressed);
			rl->suppressed = 0;
		}
		return true;
	}
	rl->suppressed++;
	return false;
}
