/*
 * gw_loop: the daemon's one event loop. Each source says which descriptor
 * to poll, for which events, and when it next needs time; the loop polls
 * them all at once and dispatches. Nothing here knows CoAP or MQTT.
 */
#ifndef GW_LOOP_H
#define GW_LOOP_H

#include <stdint.h>

/*
 * A source. Every hook is called from gw_loop_run_once() in the loop's
 * thread; @user is borrowed.
 * - fd: the descriptor to poll now, or -1 for none (a broker being
 *   reconnected, a timer-only source).
 * - events: POLLIN/POLLOUT wanted now (NULL: POLLIN).
 * - timeout: milliseconds until the source needs dispatch without I/O,
 *   0 for now, -1 for never (NULL: -1).
 * - dispatch: called with the revents that fired, or 0 when its timeout
 *   came due. Runs at most once per iteration.
 */
struct gw_loop_source {
	int (*fd)(void *user);
	short (*events)(void *user);
	int (*timeout)(void *user);
	void (*dispatch)(void *user, short revents);
	void *user;
};

#define GW_LOOP_MAX_SOURCES 16

struct gw_loop;

struct gw_loop *gw_loop_new(void);
void gw_loop_free(struct gw_loop *loop);
/* @src is copied. Returns 0 or -ENOSPC. */
int gw_loop_add(struct gw_loop *loop, const struct gw_loop_source *src);
/* Remove every source whose user pointer is @user. */
void gw_loop_remove(struct gw_loop *loop, void *user);
/*
 * Poll once, waiting at most @max_wait_ms (-1: until a source's timeout)
 * and dispatch. Returns 0, or -errno from poll(2) (EINTR is 0).
 */
int gw_loop_run_once(struct gw_loop *loop, int max_wait_ms);

/* Milliseconds on CLOCK_MONOTONIC: the daemon's one clock. */
uint64_t gw_now_ms(void);

#endif
