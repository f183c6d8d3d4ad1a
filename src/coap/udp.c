/*
 * ucoap_udp: the POSIX UDP socket behind ucoap_ep_start(), and the default
 * environment hooks (monotonic clock, kernel randomness).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "udp.h"

static int set_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return UCOAP_ERR_IO;
	return 0;
}

/* Allocated once per socket: the datagram path never allocates. */
static int rings_init(struct ucoap_udp *u)
{
	u->blocking = false;
	u->batching = false;
	u->rx.n = u->rx.next = u->tx.n = u->tx.next = 0;
	u->rx.mem = malloc((size_t)UCOAP_UDP_BATCH * UCOAP_UDP_SLOT);
	u->tx.mem = malloc((size_t)UCOAP_UDP_BATCH * UCOAP_UDP_SLOT);
	if (!u->rx.mem || !u->tx.mem) {
		free(u->rx.mem);
		free(u->tx.mem);
		u->rx.mem = u->tx.mem = NULL;
		errno = ENOMEM;
		return UCOAP_ERR_NOMEM;
	}
	return 0;
}

static void rings_free(struct ucoap_udp *u)
{
	free(u->rx.mem);
	free(u->tx.mem);
	u->rx.mem = u->tx.mem = NULL;
}

int ucoap_udp_open(struct ucoap_udp *u, const struct ucoap_addr *local)
{
	int fam = local->ss.ss_family, off = 0, saved;
	int fd;

	u->fd = -1;
	if (rings_init(u) < 0)
		return UCOAP_ERR_NOMEM;
	fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		saved = errno;
		rings_free(u);
		errno = saved;
		return UCOAP_ERR_IO;
	}
	/*
	 * One socket for both families: Debian's default bindv6only=0 is not
	 * something to rely on, so say it explicitly.
	 */
	if (fam == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&local->ss, local->len) < 0)
		goto fail;
	u->fd = fd;
	u->family = fam;
	return 0;
fail:
	saved = errno;
	close(fd);
	rings_free(u);
	errno = saved;
	return UCOAP_ERR_IO;
}

int ucoap_udp_adopt(struct ucoap_udp *u, int fd)
{
	struct ucoap_addr local;

	u->fd = -1;
	if (fd < 0) {
		errno = EBADF;
		return UCOAP_ERR_IO;
	}
	if (set_nonblocking(fd) < 0 || ucoap_udp_local_addr(fd, &local) < 0)
		return UCOAP_ERR_IO;
	if (rings_init(u) < 0)
		return UCOAP_ERR_NOMEM;
	u->fd = fd;
	u->family = local.ss.ss_family;
	return 0;
}

int ucoap_udp_local_addr(int fd, struct ucoap_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->len = sizeof(out->ss);
	if (getsockname(fd, (struct sockaddr *)&out->ss, &out->len) < 0)
		return UCOAP_ERR_IO;
	return 0;
}

/*
 * The destination in the form the socket takes, written to @out; returns
 * its length.
 */
static socklen_t dest_addr(const struct ucoap_udp *u,
			   const struct ucoap_addr *to,
			   struct sockaddr_storage *out)
{
	struct sockaddr_in6 mapped;
	struct sockaddr_in plain;
	const struct sockaddr *sa = (const struct sockaddr *)&to->ss;
	socklen_t salen = to->len;

	/*
	 * A dual-stack socket cannot send to a plain sockaddr_in: give it the
	 * IPv4-mapped form instead; an IPv4 socket needs the plain form of a
	 * mapped address. Anything else goes as it is.
	 */
	if (to->ss.ss_family == AF_INET && u->family == AF_INET6) {
		const struct sockaddr_in *s4 =
		    (const struct sockaddr_in *)&to->ss;

		memset(&mapped, 0, sizeof(mapped));
		mapped.sin6_family = AF_INET6;
		mapped.sin6_port = s4->sin_port;
		mapped.sin6_addr.s6_addr[10] = 0xff;
		mapped.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&mapped.sin6_addr.s6_addr[12], &s4->sin_addr, 4);
		sa = (const struct sockaddr *)&mapped;
		salen = sizeof(mapped);
	} else if (to->ss.ss_family == AF_INET6 && u->family == AF_INET) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)&to->ss;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memset(&plain, 0, sizeof(plain));
			plain.sin_family = AF_INET;
			plain.sin_port = s6->sin6_port;
			memcpy(&plain.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
			sa = (const struct sockaddr *)&plain;
			salen = sizeof(plain);
		}
	}
	memcpy(out, sa, salen);
	return salen;
}

/* Send what the tx ring holds; a datagram the kernel refuses is dropped. */
static void flush_tx(struct ucoap_udp *u)
{
	unsigned done = 0;

	while (done < u->tx.n) {
		int n = sendmmsg(u->fd, u->tx.msg + done, u->tx.n - done, 0);

		if (n > 0)
			done += (unsigned)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			done++; /* as a lost datagram: CON retransmits it */
	}
	u->tx.n = 0;
}

static int udp_sendto(void *user, const void *buf, size_t len,
		      const struct ucoap_addr *to)
{
	struct ucoap_udp *u = user;
	struct sockaddr_storage sa;
	socklen_t salen = dest_addr(u, to, &sa);
	ssize_t n;

	if (u->batching && len <= UCOAP_UDP_SLOT) {
		unsigned i = u->tx.n;
		uint8_t *slot = u->tx.mem + (size_t)i * UCOAP_UDP_SLOT;

		memcpy(slot, buf, len);
		memcpy(&u->tx.addr[i], &sa, salen);
		u->tx.iov[i] = (struct iovec){.iov_base = slot, .iov_len = len};
		u->tx.msg[i] =
		    (struct mmsghdr){.msg_hdr = {.msg_name = &u->tx.addr[i],
						 .msg_namelen = salen,
						 .msg_iov = &u->tx.iov[i],
						 .msg_iovlen = 1}};
		if (++u->tx.n == UCOAP_UDP_BATCH)
			flush_tx(u);
		return 0;
	}
	do {
		n = sendto(u->fd, buf, len, 0, (const struct sockaddr *)&sa,
			   salen);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return 0;
}

static int udp_batch(void *user, bool on)
{
	struct ucoap_udp *u = user;

	if (!on && u->tx.n)
		flush_tx(u);
	u->batching = on;
	return (int)(u->rx.n - u->rx.next);
}

/* Refill the rx ring with one recvmmsg(2); returns as recvmmsg. */
static int fill_rx(struct ucoap_udp *u)
{
	for (unsigned i = 0; i < UCOAP_UDP_BATCH; i++) {
		u->rx.iov[i] = (struct iovec){
		    .iov_base = u->rx.mem + (size_t)i * UCOAP_UDP_SLOT,
		    .iov_len = UCOAP_UDP_SLOT};
		u->rx.msg[i] = (struct mmsghdr){
		    .msg_hdr = {.msg_name = &u->rx.addr[i],
				.msg_namelen = sizeof(u->rx.addr[i]),
				.msg_iov = &u->rx.iov[i],
				.msg_iovlen = 1}};
	}
	return recvmmsg(u->fd, u->rx.msg, UCOAP_UDP_BATCH, MSG_DONTWAIT, NULL);
}

static ssize_t udp_recvfrom(void *user, void *buf, size_t cap,
			    struct ucoap_addr *from)
{
	struct ucoap_udp *u = user;
	int n;

	/* The fd is O_NONBLOCK for the daemon's poll loop: wait here. */
	for (;;) {
		if (u->rx.next < u->rx.n) {
			unsigned i = u->rx.next++;
			size_t len = u->rx.msg[i].msg_len;

			memset(from, 0, sizeof(*from));
			from->len = u->rx.msg[i].msg_hdr.msg_namelen;
			memcpy(&from->ss, &u->rx.addr[i], from->len);
			memcpy(buf, u->rx.iov[i].iov_base,
			       len < cap ? len : cap);
			return (ssize_t)len;
		}
		n = fill_rx(u);
		if (n > 0) {
			u->rx.n = (unsigned)n;
			u->rx.next = 0;
			continue;
		}
		if (n == 0) {
			errno = EAGAIN;
		} else if (errno == EINTR) {
			continue;
		}
		if ((errno == EAGAIN || errno == EWOULDBLOCK) && u->blocking) {
			struct pollfd pfd = {.fd = u->fd, .events = POLLIN};

			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

static int udp_setblocking(void *user, bool blocking)
{
	((struct ucoap_udp *)user)->blocking = blocking;
	return 0;
}

static int udp_fd(void *user)
{
	return ((struct ucoap_udp *)user)->fd;
}

static void udp_close(void *user)
{
	struct ucoap_udp *u = user;

	if (u->fd >= 0) {
		if (u->tx.n)
			flush_tx(u);
		close(u->fd);
	}
	u->fd = -1;
	rings_free(u);
}

const struct ucoap_socket_ops ucoap_udp_ops = {
    .sendto = udp_sendto,
    .recvfrom = udp_recvfrom,
    .setblocking = udp_setblocking,
    .fd = udp_fd,
    .close = udp_close,
    .batch = udp_batch,
};

static uint64_t env_now_ms(void *user)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int env_random(void *user, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

const struct ucoap_env_ops ucoap_default_env = {
    .now_ms = env_now_ms,
    .random = env_random,
};
