/*
 * broker: a real mosquitto for the MQTT component tests, started per test
 * on a free loopback port with its own config file in a fresh temporary
 * directory. Header-only (static functions) because every test is one .c
 * file; the functions fail the running Check test, so call them from
 * inside one.
 */
#ifndef BROKER_H
#define BROKER_H

#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct broker {
	char dir[64];
	char conf[128];
	char log[128];
	bool log_stderr;
	int port;
	pid_t pid;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A loopback TCP port nothing listens on (bound once, then released). */
static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static bool port_accepts(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	close(fd);
	return ok;
}

/*
 * Write the config (@extra: more lines, default "allow_anonymous true")
 * and pick a port; not started. Every packet is logged (log_type all) to
 * b->log: through stderr if @log_stderr -- unbuffered, so a line is in
 * the file once mosquitto has handled the packet -- else as log_dest file.
 */
static void broker_init(struct broker *b, bool log_stderr, const char *extra)
{
	const struct passwd *pw = getpwuid(geteuid());
	char dest[160];
	FILE *f;

	memset(b, 0, sizeof(*b));
	b->log_stderr = log_stderr;
	strcpy(b->dir, "/tmp/test_broker.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(b->dir));
	snprintf(b->conf, sizeof(b->conf), "%s/mosquitto.conf", b->dir);
	snprintf(b->log, sizeof(b->log), "%s/broker.log", b->dir);
	if (log_stderr)
		snprintf(dest, sizeof(dest), "stderr");
	else
		snprintf(dest, sizeof(dest), "file %s", b->log);
	b->port = free_port();
	f = fopen(b->conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"listener %d 127.0.0.1\n"
		"user %s\n" /* started as root, it would drop to "mosquitto" */
		"persistence false\n"
		"log_dest %s\n"
		"log_type all\n"
		"%s\n",
		b->port, pw ? pw->pw_name : "mosquitto", dest,
		extra ? extra : "allow_anonymous true");
	fclose(f);
}

/* Start it (again, after broker_stop) and wait until it accepts. */
static void broker_start(struct broker *b)
{
	uint64_t deadline = now_ms() + 5000;

	b->pid = fork();
	ck_assert_int_ge(b->pid, 0);
	if (b->pid == 0) {
		int null = open("/dev/null", O_RDWR);
		int err =
		    b->log_stderr
			? open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0600)
			: null;

		dup2(null, 1);
		dup2(err, 2);
		execlp("mosquitto", "mosquitto", "-c", b->conf, (char *)NULL);
		_exit(127);
	}
	while (!port_accepts(b->port)) {
		ck_assert_msg(now_ms() < deadline, "mosquitto did not start");
		usleep(10000);
	}
}

static void broker_stop(struct broker *b, int sig)
{
	if (b->pid <= 0)
		return;
	kill(b->pid, sig);
	waitpid(b->pid, NULL, 0);
	b->pid = 0;
}

static void broker_cleanup(struct broker *b)
{
	char cmd[160];

	broker_stop(b, SIGKILL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", b->dir);
	ck_assert_int_eq(system(cmd), 0);
}

#endif
