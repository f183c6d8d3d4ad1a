/*
 * silentudp: a UDP port that reads everything and answers nothing -- a DNS
 * server that never replies, for the test of the broker's name lookup.
 *
 *   silentudp ADDR PORT
 *
 * Prints "ready" once bound; runs until killed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	char buf[2048];
	int fd;

	if (argc != 3 || inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) {
		fputs("usage: silentudp ADDR PORT\n", stderr);
		return 1;
	}
	a.sin_port = htons((uint16_t)atoi(argv[2]));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("silentudp");
		return 1;
	}
	puts("ready");
	fflush(stdout);
	for (;;)
		if (read(fd, buf, sizeof(buf)) < 0)
			return 1;
}
