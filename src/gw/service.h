/*
 * gw_service: the daemon's side of the systemd service manager protocol
 * (sd_notify(3), sd_watchdog_enabled(3), sd_listen_fds(3)). This is the only
 * module that talks to libsystemd; the rest of the daemon calls these small
 * functions and never sees <systemd/sd-daemon.h>.
 *
 * Every function is a no-op that returns 0 when the daemon does not run
 * under a service manager (NOTIFY_SOCKET, WATCHDOG_USEC, LISTEN_FDS unset),
 * so the daemon calls them unconditionally. State is per process (the
 * service manager talks to one process), so there is no handle.
 *
 * Notification calls return 0 when the message was sent or when there is
 * no NOTIFY_SOCKET, and -errno when sending failed. A failed notification
 * is not fatal for the daemon (systemd will time the start out or kill a
 * service that misses watchdog pings), so callers may log and go on.
 */
#ifndef GW_SERVICE_H
#define GW_SERVICE_H

/*
 * Read the environment once: WATCHDOG_USEC/WATCHDOG_PID (via
 * sd_watchdog_enabled) and NOTIFY_SOCKET. Call before anything else in this
 * module, early in main(). Returns 0, or -EINVAL when WATCHDOG_USEC is set
 * but malformed (logged; the watchdog then counts as disabled).
 */
int gw_service_init(void);

/*
 * READY=1: the config is loaded and the CoAP sockets are bound (the broker
 * may still be connecting). Also used after a reload, following
 * gw_service_reloading().
 */
int gw_service_ready(void);

/*
 * STATUS=<text>: a one-line summary shown by `systemctl status`. The text
 * is formatted like printf into an internal buffer (truncated at 255
 * bytes; newlines become spaces so the line stays one line).
 */
int gw_service_status(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * RELOADING=1 together with MONOTONIC_USEC=<now on CLOCK_MONOTONIC>, as
 * Type=notify-reload in systemd 253+ requires; older managers ignore the
 * extra field. Send before reloading on SIGHUP, then gw_service_ready()
 * when the reload is done (valid or not: the old config stays in force).
 */
int gw_service_reloading(void);

/* STOPPING=1: graceful shutdown has begun (SIGTERM/SIGINT). */
int gw_service_stopping(void);

/*
 * How often the event loop must call gw_service_watchdog_ping(), in
 * milliseconds: half of WATCHDOG_USEC (at least 1), or -1 when the watchdog
 * is not enabled for this process. Valid after gw_service_init().
 */
int gw_service_watchdog_interval_ms(void);

/* WATCHDOG=1. Does nothing (returns 0) when the watchdog is disabled. */
int gw_service_watchdog_ping(void);

/*
 * Sockets passed by socket activation (coapbridge.socket): stores up to
 * @max descriptors, starting at SD_LISTEN_FDS_START (3), in @fds and returns
 * how many there are; 0 when the daemon was not socket-activated (then it
 * binds the configured addresses itself). The environment variables are
 * unset and the descriptors get FD_CLOEXEC. The caller takes ownership of
 * the descriptors.
 * Errors: -E2BIG when more than @max were passed, -ENOTSOCK when one of
 * them is not a datagram socket (both logged with the offending fd), or
 * the -errno from sd_listen_fds (malformed LISTEN_FDS).
 */
int gw_service_listen_fds(int *fds, int max);

#endif
