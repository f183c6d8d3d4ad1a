/*
 * coapbridge: command line, signals, the event loop and the service
 * manager. Everything else is the bridge's.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "bridge.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "service.h"

#define DEFAULT_CONFIG  "/etc/coapbridge/coapbridge.conf"
#define STOP_FLUSH_MS   5000
#define STATUS_EVERY_MS 5000
#define MAX_LISTEN_FDS  8

/* Exit statuses, from the spec. */
enum { EXIT_OK = 0, EXIT_CONFIG = 1, EXIT_USAGE = 2, EXIT_FATAL = 3 };

static const char usage_text[] =
    "usage: coapbridge [-c FILE] [-t] [-v] [-q] [-V] [-h]\n"
    "  -c, --config FILE     config file (default " DEFAULT_CONFIG ")\n"
    "  -t, --check-config    validate the config and exit\n"
    "  -v, --verbose         debug logging\n"
    "  -q, --quiet           warnings and errors only\n"
    "  -V, --version         print the version and exit\n"
    "  -h, --help            this help\n";

struct daemon {
	const char *config_path;
	struct gw_bridge *bridge;
	struct gw_loop *loop;
	int sigfd;
	bool stopping;
	bool done;
	uint64_t next_watchdog, next_status;
	int watchdog_ms;
	char last_status[256];
};

/* A reload problem goes to the log (the journal), not only to stderr. */
static void log_problem(void *user, const char *file, unsigned line,
			const char *msg)
{
	(void)user;
	if (line > 0)
		gw_err("%s:%u: %s", file, line, msg);
	else
		gw_err("%s: %s", file, msg);
}

/*
 * A problem found at start (@user points to the -t flag). Plain
 * "FILE:LINE: message" for a human; but a service started by systemd
 * must give the journal the "<3>" prefix, or the reason it failed is
 * stored at info level and hidden by "journalctl -p warning".
 */
static void report_problem(void *user, const char *file, unsigned line,
			   const char *msg)
{
	const bool *check = user;

	if (!*check && gw_log_to_journal())
		log_problem(NULL, file, line, msg);
	else if (line > 0)
		fprintf(stderr, "%s:%u: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}

static void reload(struct daemon *d)
{
	struct gw_config *cfg = NULL;

	gw_service_reloading();
	gw_notice("SIGHUP: reloading %s", d->config_path);
	if (gw_config_load(d->config_path, &cfg, log_problem, NULL) < 0) {
		gw_err(
		    "reload failed: the running configuration stays in force");
	} else if (gw_bridge_reload(d->bridge, cfg) < 0) {
		/* Logged by the bridge; @cfg is freed, the old one runs. */
		gw_err(
		    "reload failed: the running configuration stays in force");
	} else {
		gw_notice("configuration reloaded");
	}
	gw_service_ready();
}

static int sig_fd(void *user)
{
	return ((struct daemon *)user)->sigfd;
}

static void sig_dispatch(void *user, short revents)
{
	struct daemon *d = user;
	struct signalfd_siginfo si;

	if (!(revents & POLLIN))
		return;
	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			if (!d->stopping)
				reload(d);
			break;
		case SIGTERM:
		case SIGINT:
			if (d->stopping)
				break;
			d->stopping = true;
			gw_notice("%s: stopping", strsignal((int)si.ssi_signo));
			gw_service_stopping();
			gw_bridge_stop(d->bridge, gw_now_ms() + STOP_FLUSH_MS);
			break;
		default:
			break;
		}
	}
}

/*
 * The housekeeping source: watchdog pings and the STATUS= line. Pinging
 * from the loop itself is the point: a loop that hangs stops pinging and
 * systemd restarts the service.
 */
static int house_timeout(void *user)
{
	struct daemon *d = user;
	uint64_t now = gw_now_ms(), next = d->next_status;

	if (d->watchdog_ms > 0 && d->next_watchdog < next)
		next = d->next_watchdog;
	if (d->stopping)
		return 10; /* check the flush often while stopping */
	return next <= now ? 0 : (int)(next - now);
}

static void house_dispatch(void *user, short revents)
{
	struct daemon *d = user;
	uint64_t now = gw_now_ms();
	char status[256];

	(void)revents;
	if (d->watchdog_ms > 0 && now >= d->next_watchdog) {
		gw_service_watchdog_ping();
		d->next_watchdog = now + (uint64_t)d->watchdog_ms;
	}
	if (now >= d->next_status) {
		gw_bridge_summary(d->bridge, status, sizeof(status));
		if (strcmp(status, d->last_status) != 0) {
			gw_service_status("%s", status);
			memcpy(d->last_status, status, sizeof(status));
		}
		d->next_status = now + STATUS_EVERY_MS;
	}
	if (d->stopping && gw_bridge_stopped(d->bridge))
		d->done = true;
}

static int block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Signals arrive through signalfd, in the loop, never asynchronously.
	 */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int run(struct daemon *d, struct gw_config *cfg)
{
	int fds[MAX_LISTEN_FDS];
	int nfds, rc;

	signal(SIGPIPE, SIG_IGN);
	d->sigfd = block_signals();
	if (d->sigfd < 0) {
		gw_err("signalfd: %s", strerror(-d->sigfd));
		gw_config_free(cfg);
		return EXIT_FATAL;
	}
	nfds = gw_service_listen_fds(fds, MAX_LISTEN_FDS);
	if (nfds < 0) {
		gw_err("socket activation: %s", strerror(-nfds));
		gw_config_free(cfg);
		return EXIT_FATAL;
	}
	rc = gw_bridge_new(cfg, fds, nfds, &d->bridge);
	if (rc < 0)
		return EXIT_FATAL; /* the bridge logged which address failed */

	d->loop = gw_loop_new();
	struct gw_loop_source sig = {
	    .fd = sig_fd, .dispatch = sig_dispatch, .user = d};
	struct gw_loop_source house = {
	    .timeout = house_timeout, .dispatch = house_dispatch, .user = d};
	if (!d->loop || gw_loop_add(d->loop, &sig) < 0 ||
	    gw_loop_add(d->loop, &house) < 0 ||
	    gw_bridge_attach(d->bridge, d->loop) < 0) {
		gw_err("event loop: out of memory");
		return EXIT_FATAL;
	}
	d->watchdog_ms = gw_service_watchdog_interval_ms();
	gw_service_ready();
	gw_notice("coapbridge %s ready (%s)", COAPBRIDGE_VERSION,
		  d->config_path);

	while (!d->done) {
		rc = gw_loop_run_once(d->loop, -1);
		if (rc < 0) {
			gw_err("poll: %s", strerror(-rc));
			return EXIT_FATAL;
		}
	}
	gw_notice("stopped");
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 't'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct daemon d = {.config_path = DEFAULT_CONFIG, .sigfd = -1};
	struct gw_config *cfg = NULL;
	bool check = false;
	int level = GW_LOG_INFO, opt, rc;

	while ((opt = getopt_long(argc, argv, "c:tvqVh", longopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'c':
			d.config_path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'v':
			level = GW_LOG_DEBUG;
			break;
		case 'q':
			level = GW_LOG_WARNING;
			break;
		case 'V':
			printf("coapbridge %s\n", COAPBRIDGE_VERSION);
			return EXIT_OK;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "coapbridge: unexpected argument '%s'\n",
			argv[optind]);
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}

	gw_log_init(level);
	gw_service_init();
	if (gw_config_load(d.config_path, &cfg, report_problem, &check) < 0)
		return EXIT_CONFIG;
	if (check) {
		printf("%s: ok\n", d.config_path);
		gw_config_free(cfg);
		return EXIT_OK;
	}

	rc = run(&d, cfg);
	gw_bridge_free(d.bridge);
	gw_loop_free(d.loop);
	if (d.sigfd >= 0)
		close(d.sigfd);
	return rc;
}
