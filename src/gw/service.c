/*
 * gw_service: sd_notify, the watchdog and socket activation. The only file
 * that includes <systemd/sd-daemon.h> (STYLE.md rule 3).
 */
#include "service.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"

/* STATUS= text longer than this is cut; systemctl shows one short line. */
#define GW_SERVICE_STATUS_MAX 256

/*
 * One service manager per process, so module state instead of a handle.
 * watchdog_ms stays -1 until gw_service_init() finds WATCHDOG_USEC.
 */
static int watchdog_ms = -1;

/* sd_notify returns >0 when sent and 0 without NOTIFY_SOCKET. */
static int notify(const char *state)
{
	int r = sd_notify(0, state);

	return r < 0 ? r : 0;
}

int gw_service_init(void)
{
	uint64_t usec = 0;
	int r;

	watchdog_ms = -1;
	/*
	 * Keep the variables (unset_environment = 0): we start no children,
	 * and a second init (tests) must see the same answer.
	 * sd_watchdog_enabled also checks WATCHDOG_PID against getpid(), so a
	 * watchdog meant for a wrapper process is not taken over by mistake.
	 */
	r = sd_watchdog_enabled(0, &usec);
	if (r < 0) {
		gw_warn("WATCHDOG_USEC: %s; watchdog disabled", strerror(-r));
		return -EINVAL;
	}
	if (r > 0 && usec > 0) {
		/*
		 * Ping at half the interval, as sd_watchdog_enabled(3)
		 * advises, so one late loop iteration does not kill us.
		 */
		uint64_t half_ms = usec / 2 / 1000;

		if (half_ms < 1)
			half_ms = 1;
		if (half_ms > INT32_MAX)
			half_ms = INT32_MAX;
		watchdog_ms = (int)half_ms;
		gw_debug("systemd watchdog: ping every %d ms", watchdog_ms);
	}
	return 0;
}

int gw_service_ready(void)
{
	return notify("READY=1");
}

int gw_service_status(const char *fmt, ...)
{
	char msg[sizeof("STATUS=") + GW_SERVICE_STATUS_MAX];
	size_t prefix = strlen("STATUS=");
	va_list ap;
	int n;

	memcpy(msg, "STATUS=", prefix);
	va_start(ap, fmt);
	n = vsnprintf(msg + prefix, sizeof(msg) - prefix, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	/* The notify protocol is newline-separated VAR=value assignments. */
	for (char *p = msg + prefix; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return notify(msg);
}

int gw_service_reloading(void)
{
	struct timespec ts;
	uint64_t now;
	int r;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return -errno;
	now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	/*
	 * systemd 253+ (Type=notify-reload) pairs RELOADING=1 with the
	 * MONOTONIC_USEC timestamp to tell this reload from an earlier one.
	 */
	r = sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		       (unsigned long long)now);
	return r < 0 ? r : 0;
}

int gw_service_stopping(void)
{
	return notify("STOPPING=1");
}

int gw_service_watchdog_interval_ms(void)
{
	return watchdog_ms;
}

int gw_service_watchdog_ping(void)
{
	if (watchdog_ms < 0)
		return 0;
	return notify("WATCHDOG=1");
}

int gw_service_listen_fds(int *fds, int max)
{
	int n, i, r;

	/* unset_environment = 1: the fds are ours now (sd_listen_fds(3)). */
	n = sd_listen_fds(1);
	if (n < 0) {
		gw_err("LISTEN_FDS: %s", strerror(-n));
		return n;
	}
	if (n > max) {
		gw_err("socket activation: %d sockets passed, at most %d "
		       "supported",
		       n, max);
		return -E2BIG;
	}
	for (i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;

		/*
		 * CoAP runs over UDP (RFC 7252 §3): a stream socket here is a
		 * misconfigured .socket unit (ListenStream= instead of
		 * ListenDatagram=); refuse it rather than fail later.
		 */
		r = sd_is_socket(fd, AF_UNSPEC, SOCK_DGRAM, -1);
		if (r < 0) {
			gw_err("socket activation: fd %d: %s", fd,
			       strerror(-r));
			return r;
		}
		if (r == 0) {
			gw_err("socket activation: fd %d is not a datagram "
			       "socket (use ListenDatagram=)",
			       fd);
			return -ENOTSOCK;
		}
		fds[i] = fd;
	}
	if (n > 0)
		gw_info("socket activation: %d socket%s from systemd", n,
			n == 1 ? "" : "s");
	return n;
}
