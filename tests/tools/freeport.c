/*
 * Print a loopback port that is free for both UDP and TCP right now, so
 * that parallel test runs do not collide. The kernel picks the port; we
 * check the other protocol too because mosquitto needs TCP and CoAP UDP.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static int bind_port(int type, unsigned short port, unsigned short *out)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		close(fd);
		return -1;
	}
	*out = ntohs(sin.sin_port);
	close(fd);
	return 0;
}

int main(void)
{
	for (int tries = 0; tries < 100; tries++) {
		unsigned short port, again;

		if (bind_port(SOCK_STREAM, 0, &port) < 0)
			return 1;
		if (bind_port(SOCK_DGRAM, port, &again) == 0) {
			printf("%u\n", port);
			return 0;
		}
	}
	return 1;
}
