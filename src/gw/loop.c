/* gw_loop: see loop.h. A fixed array of sources and one poll(2) call. */
#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>

struct gw_loop {
	struct gw_loop_source src[GW_LOOP_MAX_SOURCES];
	unsigned n;
};

struct gw_loop *gw_loop_new(void)
{
	return calloc(1, sizeof(struct gw_loop));
}

void gw_loop_free(struct gw_loop *loop)
{
	free(loop);
}

int gw_loop_add(struct gw_loop *loop, const struct gw_loop_source *src)
{
	if (loop->n == GW_LOOP_MAX_SOURCES)
		return -ENOSPC;
	loop->src[loop->n++] = *src;
	return 0;
}

void gw_loop_remove(struct gw_loop *loop, void *user)
{
	unsigned j = 0;

	for (unsigned i = 0; i < loop->n; i++)
		if (loop->src[i].user != user)
			loop->src[j++] = loop->src[i];
	loop->n = j;
}

static int min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

int gw_loop_run_once(struct gw_loop *loop, int max_wait_ms)
{
	struct pollfd pfd[GW_LOOP_MAX_SOURCES];
	int due[GW_LOOP_MAX_SOURCES];
	int wait = max_wait_ms;
	unsigned n = loop->n;
	int rc;

	for (unsigned i = 0; i < n; i++) {
		struct gw_loop_source *s = &loop->src[i];

		pfd[i].fd = s->fd ? s->fd(s->user) : -1;
		pfd[i].events = s->events ? s->events(s->user) : POLLIN;
		pfd[i].revents = 0;
		due[i] = s->timeout ? s->timeout(s->user) : -1;
		wait = min_timeout(wait, due[i]);
	}
	uint64_t before = gw_now_ms();
	/* poll(2) ignores negative descriptors, so idle sources cost nothing.
	 */
	rc = poll(pfd, n, wait);
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	uint64_t elapsed = gw_now_ms() - before;

	/* A source added or removed by a dispatch waits for the next round. */
	for (unsigned i = 0; i < n && i < loop->n; i++) {
		struct gw_loop_source *s = &loop->src[i];
		short rev = pfd[i].fd >= 0 ? pfd[i].revents : 0;

		/* A timer that came due is dispatched even without I/O. */
		if (rev || (due[i] >= 0 && (uint64_t)due[i] <= elapsed))
			s->dispatch(s->user, rev);
	}
	return 0;
}

uint64_t gw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
