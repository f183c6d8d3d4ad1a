/*
 * tcprelay: a TCP relay on loopback for the integration tests, to stand
 * between the gateway and the broker and hold back what the broker says.
 *
 *   tcprelay LISTEN_PORT TARGET_PORT
 *
 * Accepts connections on 127.0.0.1:LISTEN_PORT, connects each to
 * 127.0.0.1:TARGET_PORT and copies bytes both ways. SIGUSR1 stops copying
 * from the target to the client (the bytes wait, unread, in the kernel):
 * the client's messages still reach the broker, the broker's answers (a
 * PUBACK, a CONNACK) do not reach the client. SIGUSR2 resumes. When
 * either side ends its connection the relay ends the other, so a client
 * that goes away without a DISCONNECT looks the same to the broker.
 * Prints "ready" once it listens. Exits on SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PAIRS 8

static volatile sig_atomic_t held;

static void on_signal(int sig)
{
	held = sig == SIGUSR1;
}

static int tcp_socket(unsigned port, int do_listen)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (do_listen) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    listen(fd, 8) < 0) {
			close(fd);
			return -1;
		}
	} else if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Copy what @from has to @to. Returns 0, or -1 when @from has ended. */
static int copy(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		off += w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	int pair[MAX_PAIRS][2], npairs = 0, lfd;
	unsigned target;

	if (argc != 3) {
		fputs("usage: tcprelay LISTEN_PORT TARGET_PORT\n", stderr);
		return 1;
	}
	target = (unsigned)atoi(argv[2]);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = tcp_socket((unsigned)atoi(argv[1]), 1);
	if (lfd < 0) {
		perror("tcprelay: listen");
		return 1;
	}
	puts("ready");
	fflush(stdout);
	for (;;) {
		struct pollfd p[1 + 2 * MAX_PAIRS];
		int n = 1;

		p[0] = (struct pollfd){lfd, POLLIN, 0};
		for (int i = 0; i < npairs; i++) {
			p[n++] = (struct pollfd){pair[i][0], POLLIN, 0};
			/* held: the broker's bytes stay unread */
			p[n++] =
			    (struct pollfd){pair[i][1], held ? 0 : POLLIN, 0};
		}
		if (poll(p, (nfds_t)n, 100) < 0) {
			if (errno == EINTR)
				continue;
			perror("tcprelay: poll");
			return 1;
		}
		for (int i = npairs - 1; i >= 0; i--) {
			struct pollfd *c = &p[1 + 2 * i], *t = &p[2 + 2 * i];
			int end = 0;

			if (c->revents & (POLLIN | POLLHUP | POLLERR))
				end = copy(pair[i][0], pair[i][1]) < 0;
			if (!end && (t->revents & (POLLIN | POLLHUP | POLLERR)))
				end = copy(pair[i][1], pair[i][0]) < 0;
			if (end) {
				close(pair[i][0]);
				close(pair[i][1]);
				memmove(pair[i], pair[i + 1],
					(size_t)(npairs - i - 1) *
					    sizeof(pair[0]));
				npairs--;
			}
		}
		if (p[0].revents & POLLIN) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			int t = c >= 0 ? tcp_socket(target, 0) : -1;

			if (t < 0 || npairs == MAX_PAIRS) {
				if (c >= 0)
					close(c);
				if (t >= 0)
					close(t);
				continue;
			}
			pair[npairs][0] = c;
			pair[npairs][1] = t;
			npairs++;
		}
	}
}
