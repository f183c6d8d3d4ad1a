/*
 * notify_listen: stand in for systemd's end of the sd_notify protocol in
 * integration tests. Binds a unix datagram socket at PATH (the test points
 * NOTIFY_SOCKET there) and prints every datagram received as one line on
 * stdout, flushed at once, until killed. A datagram holding several
 * newline-separated assignments ("RELOADING=1\nMONOTONIC_USEC=...") is
 * printed with the newlines turned into spaces, so what the daemon sent
 * together stays together on one line.
 *
 * usage: notify_listen [-t] PATH
 *   -t  start each line with the CLOCK_MONOTONIC time of receipt in
 *       microseconds and a space, so a test can check that a
 *       MONOTONIC_USEC= value lies between two messages' receipts.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	/* sd_notify messages are small; a larger one is cut, which shows. */
	char buf[4096];
	const char *path;
	int stamp = 0;
	int fd;

	if (argc == 3 && strcmp(argv[1], "-t") == 0)
		stamp = 1;
	if (argc != 2 + stamp) {
		fprintf(stderr, "usage: notify_listen [-t] PATH\n");
		return 2;
	}
	path = argv[1 + stamp];
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "notify_listen: %s: path too long\n", path);
		return 2;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("notify_listen: socket");
		return 1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "notify_listen: bind %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("notify_listen: recv");
			return 1;
		}
		/* The protocol allows a trailing newline; drop it. */
		while (n > 0 && buf[n - 1] == '\n')
			n--;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n' || buf[i] == '\0')
				buf[i] = ' ';
		buf[n] = '\0';
		if (stamp) {
			struct timespec ts;

			if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
				return 1;
			printf("%llu ",
			       (unsigned long long)ts.tv_sec * 1000000u +
				   (unsigned long long)ts.tv_nsec / 1000u);
		}
		if (printf("%s\n", buf) < 0 || fflush(stdout) != 0)
			return 1;
	}
}
