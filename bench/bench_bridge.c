/*
 * bench_bridge: coapbridge against the least a UDP-to-MQTT gateway can do.
 *
 *   bench_bridge [-d SECONDS] [-q] [-k] [COAPBRIDGE [FORWARDER]]
 *
 * Everything runs on loopback, in one run:
 * - a private mosquitto (generated config, free port, no persistence, a
 *   QoS 0 queue large enough that the broker never drops for a slow
 *   subscriber);
 * - a subscriber on "bench/#" that counts what arrives: a few dozen lines
 *   of MQTT 3.1.1 over a TCP socket in a thread of its own, because a
 *   libmosquitto subscriber costs more than the broker itself;
 * - for each system under test, started afresh for each phase (so no phase
 *   inherits another's duplicate cache or queues): bench/forwarder (the
 *   baseline: no CoAP, no routing), coapbridge with one uplink route
 *   "bench/+" -> "bench/{1}" QoS 0, and coapbridge with 10 and with 10,000
 *   routes where the benchmark's path matches only the last one;
 * - three phases of SECONDS each (default 3), from a one-thread load
 *   generator that encodes CoAP itself:
 *   NON   flood of NON POSTs, as fast as sendmmsg() goes (at nice 10, so
 *         that it uses the CPU the system and the broker leave idle);
 *   CON   CON POSTs with 32 outstanding over 8 source sockets, each answer
 *         releasing the next request;
 *   LAT   CON POSTs paced at 5,000/s; latency is from send to arrival at
 *         the subscriber (the send time travels in the last 8 payload
 *         bytes, which both systems publish unchanged).
 *
 * Printed per phase: datagrams sent; answers (2.04, 5.03, other codes, none
 * within 1 s); messages that reached the subscriber, in all (the broker's
 * backlog drained) and per second of load ("msg/s"), and per second while
 * the load ran ("inload/s": the broker's pace when it is the bottleneck);
 * 2.04 answers per second; p50/p99 latency; the system's CPU time per
 * arrived message (utime + stime from /proc/PID/stat, from the start of the
 * phase until the backlog drained); the CPU load of the broker and of the
 * subscriber thread (to see who is the bottleneck); the system's peak RSS
 * (VmHWM). Then the main figures: coapbridge as a fraction of the
 * forwarder (target >= 0.9) for NON and CON, latency, RSS, and the rate
 * with 10 and 10,000 routes. -q prints only those.
 *
 * Message ids count up per source socket from a random start, and a socket
 * is replaced before it would reuse one, so the gateway's duplicate cache
 * (keyed by source and id, RFC 7252 §4.5) never sees a false duplicate.
 * Every child is started with PR_SET_PDEATHSIG and stopped on exit, error
 * or Ctrl-C.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ucoap/msg.h>

#define NSOCK      8  /* source sockets of the CON phases */
#define WINDOW     32 /* outstanding CON requests */
#define BATCH      64 /* datagrams per sendmmsg/recvmmsg */
#define PACE_RATE  5000
#define STAMP_LEN  8
#define TOKEN_LEN  4
#define LOST_NS    1000000000ull
#define HIST_US    100000 /* 1 us buckets up to 100 ms, then overflow */
#define MAX_ROUTES 10000
#define SUB_BUF    (1 << 20)
#define PATH       "bench/s1"
/* The CoAP payload: a reading, then the send time (0: not measured). */
#define READING "t=21.5;"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench_bridge: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- children: started here, stopped on every way out ---- */

static pid_t children[4];
static char workdir[PATH_MAX];
static bool keep_workdir;

static pid_t spawn(char *const argv[], const char *log)
{
	pid_t parent = getpid(), pid;
	size_t i;

	for (i = 0; i < sizeof(children) / sizeof(children[0]); i++)
		if (children[i] == 0)
			break;
	if (i == sizeof(children) / sizeof(children[0]))
		return -ENOSPC;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd =
		    open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

		/* Die with us, however we die. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent || fd < 0 || nul < 0)
			_exit(127);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		/* Not under systemd: no notify socket, no passed sockets. */
		unsetenv("NOTIFY_SOCKET");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("WATCHDOG_USEC");
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	children[i] = pid;
	return pid;
}

static bool child_exited(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, WNOHANG) != pid)
		return false;
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
		if (children[i] == pid)
			children[i] = 0;
	return true;
}

/* SIGTERM, up to 6 s to go (coapbridge may flush for 5 s), then SIGKILL. */
static void child_stop(pid_t pid)
{
	uint64_t t0 = now_ns();
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (now_ns() - t0 > 6000000000ull) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		sleep_ns(5000000);
	}
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
		if (children[i] == pid)
			children[i] = 0;
}

static void stop_children(void)
{
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
		child_stop(children[i]);
}

static void workfile(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", workdir, name);
}

static void remove_workdir(void)
{
	static const char *const files[] = {"mosquitto.conf", "mosquitto.log",
					    "gw.conf", "gw.log", "fwd.log"};
	char p[PATH_MAX + 32];

	if (!workdir[0] || keep_workdir)
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		workfile(p, sizeof(p), files[i]);
		unlink(p);
	}
	rmdir(workdir);
}

/* The last lines of a log in the work directory, which is then kept. */
static void show_log(const char *name)
{
	char p[PATH_MAX + 32], lines[20][256];
	unsigned n = 0;
	FILE *f;

	workfile(p, sizeof(p), name);
	f = fopen(p, "r");
	if (!f)
		return;
	while (fgets(lines[n % 20], sizeof(lines[0]), f))
		n++;
	fclose(f);
	fprintf(stderr, "--- %s (last 20 lines) ---\n", p);
	for (unsigned i = n > 20 ? n - 20 : 0; i < n; i++)
		fputs(lines[i % 20], stderr);
	keep_workdir = true;
}

/* ---- /proc ---- */

/* utime + stime in clock ticks from a /proc stat file, or -1. */
static long long stat_cpu_ticks(const char *p)
{
	char buf[1024], *s;
	unsigned long long ut, st;
	ssize_t n;
	int fd;

	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* The command name may hold spaces: fields count from its ')'. */
	s = strrchr(buf, ')');
	if (!s ||
	    sscanf(s + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
		   &st) != 2)
		return -1;
	return (long long)(ut + st);
}

static long long proc_cpu_ticks(pid_t pid)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	return stat_cpu_ticks(p);
}

/* The same for one thread of ours. */
static long long thread_cpu_ticks(pid_t tid)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/self/task/%d/stat", (int)tid);
	return stat_cpu_ticks(p);
}

/* Peak resident set (VmHWM) of @pid in KiB, or -1. */
static long proc_hwm_kib(pid_t pid)
{
	char p[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* ---- ports and the broker ---- */

/* A port free on 127.0.0.1 for @type (SOCK_STREAM or SOCK_DGRAM). */
static int free_port(int type)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int write_file(const char *name, const char *text)
{
	char p[PATH_MAX + 32];
	FILE *f;
	int rc = 0;

	workfile(p, sizeof(p), name);
	f = fopen(p, "w");
	if (!f) {
		fail("%s: %s", p, strerror(errno));
		return -1;
	}
	if (fputs(text, f) < 0)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc)
		fail("%s: write failed", p);
	return rc;
}

static pid_t broker_pid;
static int broker_port;

static int start_broker(void)
{
	char conf[512], cpath[PATH_MAX + 32], lpath[PATH_MAX + 32];
	char *argv[] = {"mosquitto", "-c", cpath, NULL};

	broker_port = free_port(SOCK_STREAM);
	if (broker_port < 0) {
		fail("no free TCP port");
		return -1;
	}
	/*
	 * max_queued_messages: mosquitto 2 drops QoS 0 messages for a client
	 * whose outgoing queue holds that many, which would count as loss
	 * here while the subscriber lags a burst. set_tcp_nodelay: the
	 * broker's own Nagle would otherwise dominate the latency figures.
	 */
	snprintf(conf, sizeof(conf),
		 "listener %d 127.0.0.1\n"
		 "allow_anonymous true\n"
		 "persistence false\n"
		 "max_queued_messages 10000000\n"
		 "set_tcp_nodelay true\n"
		 "log_dest stderr\n"
		 "log_type error\n"
		 "log_type warning\n",
		 broker_port);
	if (write_file("mosquitto.conf", conf) < 0)
		return -1;
	workfile(cpath, sizeof(cpath), "mosquitto.conf");
	workfile(lpath, sizeof(lpath), "mosquitto.log");
	broker_pid = spawn(argv, lpath);
	if (broker_pid < 0) {
		fail("mosquitto: %s", strerror((int)-broker_pid));
		return -1;
	}
	return 0;
}

/* ---- the subscriber: MQTT 3.1.1 by hand (OASIS MQTT 3.1.1 §2-3) ---- */

struct sub {
	int fd;
	pthread_t thread;
	atomic_uint_fast64_t arrived;
	atomic_int reset; /* main asks, the thread clears count and hist */
	atomic_int quit;
	atomic_int error;
	atomic_int tid; /* for its CPU time: is the counter keeping up? */
	/* Written by the thread only; read by main once arrivals stopped. */
	uint32_t hist[HIST_US + 1];
	uint64_t hist_n;
};

static struct sub sub;

/* §2.2.3: Remaining Length, 1-4 bytes of 7 bits, least significant first. */
static size_t put_len(uint8_t *p, size_t len)
{
	size_t n = 0;

	do {
		uint8_t b = len % 128;

		len /= 128;
		p[n++] = (uint8_t)(b | (len ? 0x80 : 0));
	} while (len);
	return n;
}

/*
 * Decode a Remaining Length at @p (@avail bytes there). Returns the bytes it
 * took, 0 when more bytes are needed, -1 when malformed (a 5th byte).
 */
static int get_len(const uint8_t *p, size_t avail, size_t *len)
{
	size_t v = 0, mul = 1;

	for (int i = 0; i < 4; i++) {
		if ((size_t)i >= avail)
			return 0;
		v += (p[i] & 0x7fu) * mul;
		mul *= 128;
		if (!(p[i] & 0x80)) {
			*len = v;
			return i + 1;
		}
	}
	return -1;
}

static size_t put_str(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	p[0] = (uint8_t)(n >> 8);
	p[1] = (uint8_t)n;
	memcpy(p + 2, s, n);
	return n + 2;
}

/* Write all of @buf, then read one whole packet of type @type into @out. */
static int sub_exchange(int fd, const uint8_t *buf, size_t len, uint8_t type,
			uint8_t *out, size_t cap, size_t *out_len)
{
	size_t have = 0, rl = 0;
	int hl = 0;

	if (write(fd, buf, len) != (ssize_t)len)
		return -1;
	for (;;) {
		ssize_t n;

		if (have >= 2) {
			hl = get_len(out + 1, have - 1, &rl);
			if (hl < 0 || (hl > 0 && 1 + (size_t)hl + rl > cap))
				return -1;
			if (hl > 0 && have >= 1 + (size_t)hl + rl)
				break;
		}
		n = read(fd, out + have, cap - have);
		if (n <= 0)
			return -1;
		have += (size_t)n;
	}
	if ((out[0] & 0xf0) != type || have != 1 + (size_t)hl + rl)
		return -1;
	*out_len = have;
	return 0;
}

static int sub_connect(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)broker_port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = 5};
	uint8_t pkt[128], body[128], in[16];
	uint64_t t0 = now_ns();
	size_t n, b, inlen;
	int fd, big = 8 << 20;

	/* mosquitto takes a moment to listen: retry for up to 5 s. */
	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		close(fd);
		if (interrupted || child_exited(broker_pid) ||
		    now_ns() - t0 > 5000000000ull) {
			fail("mosquitto does not accept on 127.0.0.1:%d",
			     broker_port);
			return -1;
		}
		sleep_ns(20000000);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	/* §3.1 CONNECT: "MQTT", level 4, clean session, no keep alive. */
	b = put_str(body, "MQTT");
	body[b++] = 4;
	body[b++] = 0x02;
	body[b++] = 0;
	body[b++] = 0;
	b += put_str(body + b, "bench-sub");
	pkt[0] = 0x10;
	n = 1 + put_len(pkt + 1, b);
	memcpy(pkt + n, body, b);
	if (sub_exchange(fd, pkt, n + b, 0x20, in, sizeof(in), &inlen) < 0 ||
	    inlen != 4 || in[3] != 0) {
		fail("subscriber: no CONNACK accepting the connection");
		goto fail;
	}
	/* §3.8 SUBSCRIBE (flags 0010), packet id 1, "bench/#" at QoS 0. */
	b = 0;
	body[b++] = 0;
	body[b++] = 1;
	b += put_str(body + b, "bench/#");
	body[b++] = 0;
	pkt[0] = 0x82;
	n = 1 + put_len(pkt + 1, b);
	memcpy(pkt + n, body, b);
	if (sub_exchange(fd, pkt, n + b, 0x90, in, sizeof(in), &inlen) < 0 ||
	    inlen != 5 || in[4] != 0) {
		fail("subscriber: SUBSCRIBE not granted at QoS 0");
		goto fail;
	}
	sub.fd = fd;
	return 0;
fail:
	close(fd);
	return -1;
}

/* One PUBLISH (§3.3) of @rl bytes after the fixed header at @p. */
static void sub_publish(uint8_t flags, const uint8_t *p, size_t rl,
			uint64_t now)
{
	size_t tlen, off;
	uint64_t stamp;

	if (rl < 2)
		return;
	tlen = (size_t)p[0] << 8 | p[1];
	off = 2 + tlen + (((flags >> 1) & 3) ? 2 : 0);
	if (off > rl)
		return;
	if (rl - off >= STAMP_LEN) {
		memcpy(&stamp, p + rl - STAMP_LEN, STAMP_LEN);
		if (stamp && stamp <= now) {
			uint64_t us = (now - stamp) / 1000;

			sub.hist[us < HIST_US ? us : HIST_US]++;
			sub.hist_n++;
		}
	}
}

static void *sub_main(void *arg)
{
	static uint8_t buf[SUB_BUF];
	size_t have = 0;
	uint64_t count = 0;

	atomic_store(&sub.tid, (int)gettid());
	while (!atomic_load(&sub.quit)) {
		struct pollfd p = {sub.fd, POLLIN, 0};
		size_t off = 0;
		uint64_t now;
		ssize_t n;

		if (atomic_load(&sub.reset)) {
			memset(sub.hist, 0, sizeof(sub.hist));
			sub.hist_n = 0;
			count = 0;
			atomic_store(&sub.arrived, 0);
			atomic_store(&sub.reset, 0);
		}
		if (poll(&p, 1, 10) <= 0)
			continue;
		n = read(sub.fd, buf + have, sizeof(buf) - have);
		if (n <= 0) {
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			atomic_store(&sub.error, 1);
			break;
		}
		/* One clock read per read(): these arrived together. */
		now = now_ns();
		have += (size_t)n;
		for (;;) {
			size_t rl = 0;
			int hl;

			if (have - off < 2)
				break;
			hl = get_len(buf + off + 1, have - off - 1, &rl);
			if (hl == 0)
				break;
			if (hl < 0 || 1 + (size_t)hl + rl > sizeof(buf)) {
				atomic_store(&sub.error, 1);
				return NULL;
			}
			if (have - off < 1 + (size_t)hl + rl)
				break;
			if ((buf[off] & 0xf0) == 0x30) {
				sub_publish(buf[off] & 0x0f, buf + off + 1 + hl,
					    rl, now);
				count++;
			}
			off += 1 + (size_t)hl + rl;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
		atomic_store_explicit(&sub.arrived, count,
				      memory_order_release);
	}
	return NULL;
}

/* Zero the count and the histogram; returns once the thread did it. */
static void sub_reset(void)
{
	atomic_store(&sub.reset, 1);
	while (atomic_load(&sub.reset))
		sleep_ns(1000000);
}

static uint64_t sub_count(void)
{
	return atomic_load_explicit(&sub.arrived, memory_order_acquire);
}

/*
 * Wait until nothing arrived for 300 ms (at most 30 s: the broker may hold
 * a backlog of several seconds); returns the count.
 */
static uint64_t sub_drain(void)
{
	uint64_t last = sub_count(), t = now_ns(), t0 = t;

	while (!interrupted && now_ns() - t < 300000000ull &&
	       now_ns() - t0 < 30000000000ull) {
		uint64_t c;

		sleep_ns(20000000);
		c = sub_count();
		if (c != last) {
			last = c;
			t = now_ns();
		}
	}
	return last;
}

/* The latency under which @q of the measured arrivals fell, in us. */
static double sub_percentile(double q)
{
	uint64_t want = (uint64_t)((double)sub.hist_n * q), acc = 0;

	if (sub.hist_n == 0)
		return -1;
	for (size_t i = 0; i <= HIST_US; i++) {
		acc += sub.hist[i];
		if (acc > want)
			return (double)i;
	}
	return HIST_US;
}

/* ---- the load generator ---- */

struct gsock {
	int fd;
	uint16_t mid;
	uint32_t ids_left; /* ids before this socket would reuse one */
	uint32_t outstanding;
};

struct gen {
	struct sockaddr_in dst;
	struct gsock s[NSOCK];
	uint8_t tmpl[64];
	size_t tlen;
	uint32_t seq; /* token = seq << 8 | slot */
};

static int gsock_open(struct gen *g, struct gsock *s)
{
	struct sockaddr_in src = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* Connected: the kernel filters answers and skips a route lookup. */
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    connect(fd, (struct sockaddr *)&g->dst, sizeof(g->dst)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = fd;
	if (getrandom(&s->mid, sizeof(s->mid), 0) != sizeof(s->mid))
		s->mid = (uint16_t)now_ns();
	s->ids_left = 65536;
	s->outstanding = 0;
	return 0;
}

static void gen_close(struct gen *g)
{
	for (int i = 0; i < NSOCK; i++) {
		if (g->s[i].fd >= 0)
			close(g->s[i].fd);
		g->s[i].fd = -1;
	}
}

/*
 * Encode the request once with the core; each datagram is this template
 * with its id, token and stamp patched in (RFC 7252 §3: the id at bytes
 * 2-3, the token right after the header, the payload last).
 */
static int gen_init(struct gen *g, int port, uint8_t type)
{
	static const uint8_t pl[] = READING "\0\0\0\0\0\0\0";
	struct ucoap_msg m;
	int rc;

	memset(g, 0, sizeof(*g));
	for (int i = 0; i < NSOCK; i++)
		g->s[i].fd = -1;
	g->dst.sin_family = AF_INET;
	g->dst.sin_port = htons((uint16_t)port);
	g->dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ucoap_msg_init(&m, type, UCOAP_POST);
	m.token_len = TOKEN_LEN;
	m.payload = pl;
	m.payload_len = sizeof(READING) - 1 + STAMP_LEN;
	rc = ucoap_msg_set_uri(&m, PATH);
	if (rc == 0)
		rc = ucoap_msg_encode(&m, g->tmpl, sizeof(g->tmpl), &g->tlen);
	if (rc < 0) {
		fail("encode: %s", ucoap_strerror(rc));
		return -1;
	}
	for (int i = 0; i < NSOCK; i++) {
		rc = gsock_open(g, &g->s[i]);
		if (rc < 0) {
			fail("udp socket: %s", strerror(-rc));
			gen_close(g);
			return -1;
		}
	}
	return 0;
}

/* Fill @buf with the next request on @s; returns its token. */
static uint32_t gen_fill(struct gen *g, struct gsock *s, uint8_t *buf,
			 unsigned slot, uint64_t stamp)
{
	uint32_t token = g->seq++ << 8 | (slot & 0xff);
	uint16_t mid = s->mid++;

	memcpy(buf, g->tmpl, g->tlen);
	buf[2] = (uint8_t)(mid >> 8);
	buf[3] = (uint8_t)mid;
	buf[4] = (uint8_t)(token >> 24);
	buf[5] = (uint8_t)(token >> 16);
	buf[6] = (uint8_t)(token >> 8);
	buf[7] = (uint8_t)token;
	memcpy(buf + g->tlen - STAMP_LEN, &stamp, STAMP_LEN);
	s->ids_left--;
	return token;
}

struct answer {
	uint8_t type, code;
	uint16_t mid;
	uint32_t token;
};

/* Header and 4-byte token of an answer; false for anything else. */
static bool parse_answer(const uint8_t *d, size_t len, struct answer *a)
{
	if (len < 4 + TOKEN_LEN || (d[0] >> 6) != 1 ||
	    (d[0] & 0x0f) != TOKEN_LEN)
		return false;
	a->type = (d[0] >> 4) & 3;
	a->code = d[1];
	a->mid = (uint16_t)(d[2] << 8 | d[3]);
	a->token = (uint32_t)d[4] << 24 | (uint32_t)d[5] << 16 |
		   (uint32_t)d[6] << 8 | d[7];
	return true;
}

struct result {
	uint64_t sent, ok, other, svc_unavail, lost;
	uint64_t arrived_win; /* arrivals while the generator ran */
	uint64_t arrived;     /* all arrivals, after the backlog drained */
	double secs;
	double p50, p99;
	double cpu_us_per_msg; /* system under test */
	double broker_load;    /* broker CPU seconds per second */
	double sub_load;       /* subscriber thread, likewise */
	long hwm_kib;
	bool done;
};

/* An answer from the system under test. */
static void count_answer(struct result *r, const struct answer *a)
{
	if (a->type == UCOAP_TYPE_ACK && a->code == UCOAP_CHANGED)
		r->ok++;
	else if (a->code == UCOAP_SERVICE_UNAVAILABLE)
		r->svc_unavail++;
	else
		r->other++;
}

static struct mmsghdr mm[BATCH];
static struct iovec iov[BATCH];
static uint8_t dgram[BATCH][128];

static void mm_setup(size_t len)
{
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = dgram[i];
		iov[i].iov_len = len;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
}

/* Phase NON: NON POSTs as fast as sendmmsg() takes them. */
static int phase_non(struct gen *g, uint64_t end, struct result *r)
{
	unsigned k = 0;

	mm_setup(g->tlen);
	while (!interrupted && now_ns() < end) {
		struct gsock *s = &g->s[k++ % NSOCK];
		unsigned n = s->ids_left < BATCH ? s->ids_left : BATCH;
		uint64_t stamp = now_ns();
		int sent;

		if (n == 0) {
			int rc = gsock_open(g, s);

			if (rc < 0) {
				fail("udp socket: %s", strerror(-rc));
				return -1;
			}
			continue;
		}
		for (unsigned i = 0; i < n; i++)
			gen_fill(g, s, dgram[i], 0, stamp);
		/* Answers (NON 2.04) are not read: the kernel drops them. */
		sent = sendmmsg(s->fd, mm, n, 0);
		if (sent > 0) {
			r->sent += (uint64_t)sent;
		} else if (errno != EAGAIN && errno != ENOBUFS &&
			   errno != ECONNREFUSED && errno != EINTR) {
			fail("sendmmsg: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

struct slot {
	uint64_t sent;
	uint32_t token;
	uint16_t mid;
	bool busy;
};

/* Send every idle slot of socket @si (slots si, si+NSOCK, ...). */
static int window_refill(struct gen *g, struct slot *slots, int si,
			 struct result *r)
{
	struct gsock *s = &g->s[si];
	unsigned n = 0, idx[WINDOW / NSOCK];
	uint64_t now;
	int sent;

	for (int j = si; j < WINDOW; j += NSOCK)
		if (!slots[j].busy)
			idx[n++] = (unsigned)j;
	if (n == 0)
		return 0;
	if (s->ids_left < n) {
		int rc;

		/* Replace it only once no answer is owed to it. */
		if (s->outstanding)
			return 0;
		rc = gsock_open(g, s);
		if (rc < 0) {
			fail("udp socket: %s", strerror(-rc));
			return -1;
		}
	}
	now = now_ns();
	for (unsigned i = 0; i < n; i++) {
		struct slot *sl = &slots[idx[i]];

		sl->mid = s->mid;
		sl->token = gen_fill(g, s, dgram[i], idx[i], now);
		sl->sent = now;
		sl->busy = true;
		s->outstanding++;
	}
	sent = sendmmsg(s->fd, mm, n, 0);
	if (sent < 0)
		sent = 0;
	r->sent += (uint64_t)sent;
	/* Unsent ones look lost after LOST_NS and are replaced. */
	return 0;
}

static struct mmsghdr rmm[BATCH];
static struct iovec riov[BATCH];
static uint8_t rbuf[BATCH][256];

static void rmm_setup(void)
{
	for (int i = 0; i < BATCH; i++) {
		riov[i].iov_base = rbuf[i];
		riov[i].iov_len = sizeof(rbuf[i]);
		memset(&rmm[i], 0, sizeof(rmm[i]));
		rmm[i].msg_hdr.msg_iov = &riov[i];
		rmm[i].msg_hdr.msg_iovlen = 1;
	}
}

/* Phase CON: WINDOW requests outstanding, each answer releases the next. */
static int phase_con(struct gen *g, uint64_t end, struct result *r)
{
	struct slot slots[WINDOW] = {{0}};
	struct pollfd p[NSOCK];
	uint64_t next_scan = now_ns() + 100000000ull;

	mm_setup(g->tlen);
	rmm_setup();
	for (int i = 0; i < NSOCK; i++)
		if (window_refill(g, slots, i, r) < 0)
			return -1;
	while (!interrupted) {
		uint64_t now = now_ns();
		int n;

		if (now >= end)
			break;
		for (int i = 0; i < NSOCK; i++)
			p[i] = (struct pollfd){g->s[i].fd, POLLIN, 0};
		n = poll(p, NSOCK, 10);
		if (n < 0 && errno != EINTR) {
			fail("poll: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; n > 0 && i < NSOCK; i++) {
			struct gsock *s = &g->s[i];
			int got;

			if (!(p[i].revents & POLLIN))
				continue;
			got = recvmmsg(s->fd, rmm, BATCH, MSG_DONTWAIT, NULL);
			for (int j = 0; j < got; j++) {
				struct answer a;
				struct slot *sl;

				if (!parse_answer(rbuf[j], rmm[j].msg_len, &a))
					continue;
				sl = &slots[(a.token & 0xff) % WINDOW];
				if (!sl->busy || sl->token != a.token ||
				    sl->mid != a.mid)
					continue;
				count_answer(r, &a);
				sl->busy = false;
				s->outstanding--;
			}
			if (window_refill(g, slots, i, r) < 0)
				return -1;
		}
		now = now_ns();
		if (now >= next_scan) {
			next_scan = now + 100000000ull;
			for (int j = 0; j < WINDOW; j++) {
				if (slots[j].busy &&
				    now - slots[j].sent > LOST_NS) {
					slots[j].busy = false;
					g->s[j % NSOCK].outstanding--;
					r->lost++;
				}
			}
			for (int i = 0; i < NSOCK; i++)
				if (window_refill(g, slots, i, r) < 0)
					return -1;
		}
	}
	return 0;
}

/* Read whatever answers are there, without waiting. */
static void drain_answers(struct gen *g, struct result *r)
{
	for (int i = 0; i < NSOCK; i++) {
		int got;

		while ((got = recvmmsg(g->s[i].fd, rmm, BATCH, MSG_DONTWAIT,
				       NULL)) > 0) {
			for (int j = 0; j < got; j++) {
				struct answer a;

				if (parse_answer(rbuf[j], rmm[j].msg_len, &a))
					count_answer(r, &a);
			}
		}
	}
}

/* Phase LAT: CON POSTs at PACE_RATE per second, round robin over sockets. */
static int phase_lat(struct gen *g, uint64_t end, struct result *r)
{
	const uint64_t interval = 1000000000ull / PACE_RATE;
	uint64_t t0 = now_ns(), n = 0;
	unsigned k = 0;

	mm_setup(g->tlen);
	rmm_setup();
	while (!interrupted) {
		uint64_t now = now_ns(), due;

		if (now >= end)
			break;
		due = (now - t0) / interval + 1;
		while (n < due) {
			struct gsock *s = &g->s[k++ % NSOCK];

			int rc = s->ids_left ? 0 : gsock_open(g, s);

			if (rc < 0) {
				fail("udp socket: %s", strerror(-rc));
				return -1;
			}
			/* The stamp is the moment of sending, not the plan. */
			gen_fill(g, s, dgram[0], 0, now_ns());
			if (send(s->fd, dgram[0], g->tlen, 0) ==
			    (ssize_t)g->tlen)
				r->sent++;
			n++;
		}
		drain_answers(g, r);
		now = now_ns();
		if (t0 + n * interval > now)
			sleep_ns(t0 + n * interval - now);
	}
	drain_answers(g, r);
	return 0;
}

/* ---- systems under test ---- */

enum kind { KIND_FWD, KIND_GW };

struct system {
	const char *name;
	enum kind kind;
	int routes; /* coapbridge: uplink routes, "bench/+" being the last */
};

static const struct system systems[] = {
    {"forwarder", KIND_FWD, 0},
    {"coapbridge", KIND_GW, 1},
    {"coapbridge 10 routes", KIND_GW, 10},
    {"coapbridge 10k routes", KIND_GW, MAX_ROUTES},
};
#define NSYS (sizeof(systems) / sizeof(systems[0]))

enum phase { PH_NON, PH_CON, PH_LAT, NPHASE };
static const char *const phase_names[NPHASE] = {"NON", "CON", "LAT"};

static char gw_path[PATH_MAX], fwd_path[PATH_MAX];

static int write_gw_conf(int routes, int port)
{
	size_t cap = 512 + (size_t)routes * 80, n;
	char *c = malloc(cap);
	int rc;

	if (!c)
		return -1;
	/*
	 * MQTT v3.1.1 as the forwarder (libmosquitto's default) speaks;
	 * default routes off so that only the routes here are tried.
	 */
	n = (size_t)snprintf(
	    c, cap,
	    "gateway = { id = \"bench\"; base_topic = \"cbbench\";"
	    " default_routes = false; };\n"
	    "coap = { listen = [ \"127.0.0.1:%d\" ]; };\n"
	    "mqtt = { host = \"127.0.0.1\"; port = %d; qos = 0;"
	    " protocol = \"v3.1.1\"; };\n"
	    "devices = ( { name = \"gen\"; address = \"127.0.0.1\"; } );\n"
	    "routes = { uplink = (\n",
	    port, broker_port);
	for (int i = 0; i < routes - 1; i++)
		n += (size_t)snprintf(c + n, cap - n,
				      "  { path = \"r%d/+\"; topic = "
				      "\"r/%d/{1}\"; qos = 0; },\n",
				      i, i);
	snprintf(c + n, cap - n,
		 "  { path = \"bench/+\"; topic = \"bench/{1}\"; qos = 0; }\n"
		 "); };\n");
	rc = write_file("gw.conf", c);
	free(c);
	return rc;
}

static pid_t start_system(const struct system *sys, int port)
{
	char ps[16], bs[16], conf[PATH_MAX + 32], log[PATH_MAX + 32];
	pid_t pid;

	snprintf(ps, sizeof(ps), "%d", port);
	snprintf(bs, sizeof(bs), "%d", broker_port);
	if (sys->kind == KIND_FWD) {
		char *argv[] = {fwd_path,    ps,  "127.0.0.1", bs,
				"bench/fwd", "0", NULL};

		workfile(log, sizeof(log), "fwd.log");
		pid = spawn(argv, log);
	} else {
		char *argv[] = {gw_path, "-q", "-c", conf, NULL};

		if (write_gw_conf(sys->routes, port) < 0)
			return -1;
		workfile(conf, sizeof(conf), "gw.conf");
		workfile(log, sizeof(log), "gw.log");
		pid = spawn(argv, log);
	}
	if (pid < 0)
		fail("%s: %s", sys->name, strerror((int)-pid));
	return pid;
}

/*
 * Ready means the whole path works: a CON POST is answered 2.04 and its
 * publish reaches the subscriber (the stamp 0 keeps it out of the
 * latency figures).
 */
static int wait_ready(const struct system *sys, pid_t pid, int port)
{
	struct gen g;
	struct result r = {0};
	uint64_t t0 = now_ns(), before = sub_count();

	if (gen_init(&g, port, UCOAP_TYPE_CON) < 0)
		return -1;
	rmm_setup();
	while (!interrupted) {
		gen_fill(&g, &g.s[0], dgram[0], 0, 0);
		if (send(g.s[0].fd, dgram[0], g.tlen, 0) < 0 &&
		    errno != ECONNREFUSED && errno != EAGAIN) {
			fail("send: %s", strerror(errno));
			break;
		}
		sleep_ns(50000000);
		drain_answers(&g, &r);
		if (r.ok > 0 && sub_count() > before) {
			gen_close(&g);
			return 0;
		}
		if (child_exited(pid)) {
			fail("%s exited during start-up", sys->name);
			break;
		}
		/* 30 s: enough for 10,000 routes under valgrind. */
		if (now_ns() - t0 > 30000000000ull) {
			fail("%s: no 2.04 and publish within 30 s (2.04: %llu,"
			     " arrived: %llu)",
			     sys->name, (unsigned long long)r.ok,
			     (unsigned long long)(sub_count() - before));
			break;
		}
	}
	gen_close(&g);
	return -1;
}

static int run_phase(const struct system *sys, enum phase ph, double secs,
		     struct result *r)
{
	long tck = sysconf(_SC_CLK_TCK);
	long long cpu0, cpu1, bcpu0, bcpu1, scpu0, scpu1;
	uint64_t t0, t1, t2;
	struct gen g;
	pid_t pid;
	int port = free_port(SOCK_DGRAM), rc;

	memset(r, 0, sizeof(*r));
	if (port < 0) {
		fail("no free UDP port");
		return -1;
	}
	pid = start_system(sys, port);
	if (pid < 0)
		return -1;
	if (wait_ready(sys, pid, port) < 0)
		goto fail;
	if (gen_init(&g, port, ph == PH_NON ? UCOAP_TYPE_NON : UCOAP_TYPE_CON) <
	    0)
		goto fail;
	sub_reset();
	cpu0 = proc_cpu_ticks(pid);
	bcpu0 = proc_cpu_ticks(broker_pid);
	scpu0 = thread_cpu_ticks(atomic_load(&sub.tid));
	t0 = now_ns();
	t1 = t0 + (uint64_t)(secs * 1e9);
	switch (ph) {
	case PH_NON:
		/*
		 * On 2 cores a flooding generator at full priority takes a
		 * core from the system and the broker, and most of what it
		 * sends is dropped at the socket anyway. At nice 10 it yields
		 * to them and still sends more than they can take (the
		 * summary says when it did not), so the figure measures
		 * them, not the scheduler.
		 */
		setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
		rc = phase_non(&g, t1, r);
		if (setpriority(PRIO_PROCESS, (id_t)gettid(), 0) < 0)
			fail("warning: generator stays at nice 10: %s",
			     strerror(errno));
		break;
	case PH_CON:
		rc = phase_con(&g, t1, r);
		break;
	default:
		rc = phase_lat(&g, t1, r);
		break;
	}
	t1 = now_ns();
	r->arrived_win = sub_count();
	r->secs = (double)(t1 - t0) / 1e9;
	r->arrived = sub_drain();
	t2 = now_ns();
	cpu1 = proc_cpu_ticks(pid);
	bcpu1 = proc_cpu_ticks(broker_pid);
	scpu1 = thread_cpu_ticks(atomic_load(&sub.tid));
	r->hwm_kib = proc_hwm_kib(pid);
	gen_close(&g);
	if (rc < 0 || interrupted)
		goto fail;
	if (cpu0 < 0 || cpu1 < 0 || bcpu0 < 0 || bcpu1 < 0 || scpu0 < 0 ||
	    scpu1 < 0) {
		fail("%s: cannot read /proc/PID/stat", sys->name);
		goto fail;
	}
	r->cpu_us_per_msg = r->arrived ? (double)(cpu1 - cpu0) * 1e6 /
					     (double)tck / (double)r->arrived
				       : -1;
	r->broker_load =
	    (double)(bcpu1 - bcpu0) / (double)tck / ((double)(t2 - t0) / 1e9);
	r->sub_load =
	    (double)(scpu1 - scpu0) / (double)tck / ((double)(t2 - t0) / 1e9);
	r->p50 = sub_percentile(0.50);
	r->p99 = sub_percentile(0.99);
	r->done = true;
	if (atomic_load(&sub.error)) {
		fail("subscriber: connection lost or bad packet");
		goto fail;
	}
	child_stop(pid);
	return 0;
fail:
	if (!interrupted)
		show_log(sys->kind == KIND_FWD ? "fwd.log" : "gw.log");
	child_stop(pid);
	return -1;
}

/* ---- output ---- */

/*
 * Messages/s: every message that reached the subscriber, backlog included,
 * per second of load. When the broker is the bottleneck, arrivals during
 * the load (win_rate) measure the broker; this measures what the system
 * under test got through to it.
 */
static double msg_rate(const struct result *r)
{
	return r->secs > 0 ? (double)r->arrived / r->secs : 0;
}

static double win_rate(const struct result *r)
{
	return r->secs > 0 ? (double)r->arrived_win / r->secs : 0;
}

static double ok_rate(const struct result *r)
{
	return r->secs > 0 ? (double)r->ok / r->secs : 0;
}

/* Microseconds, ">100000" past the histogram's last bucket, "-": none. */
static void fmt_us(char *buf, size_t cap, double us)
{
	if (us < 0)
		snprintf(buf, cap, "-");
	else if (us >= HIST_US)
		snprintf(buf, cap, ">%d", HIST_US);
	else
		snprintf(buf, cap, "%.0f", us);
}

static void print_row(const struct system *sys, enum phase ph,
		      const struct result *r)
{
	char p50[16] = "-", p99[16] = "-";

	if (r->p50 >= 0 && ph != PH_NON) {
		fmt_us(p50, sizeof(p50), r->p50);
		fmt_us(p99, sizeof(p99), r->p99);
	}
	printf(
	    "%-22s %-3s %9llu %9llu %7llu %7llu %5llu %9llu %9.0f %9.0f %9.0f "
	    "%7s %7s %6.2f %5.0f%% %5.0f%% %7ld\n",
	    sys->name, phase_names[ph], (unsigned long long)r->sent,
	    (unsigned long long)r->ok, (unsigned long long)r->svc_unavail,
	    (unsigned long long)r->other, (unsigned long long)r->lost,
	    (unsigned long long)r->arrived, msg_rate(r), win_rate(r),
	    ok_rate(r), p50, p99, r->cpu_us_per_msg, r->broker_load * 100,
	    r->sub_load * 100, r->hwm_kib);
}

static void print_ratio(const char *what, double fwd, double gw)
{
	printf("  %-28s forwarder %9.0f   coapbridge %9.0f   fraction %.2f"
	       "%s\n",
	       what, fwd, gw, fwd > 0 ? gw / fwd : 0,
	       fwd > 0 && gw / fwd >= 0.9 ? "" : "  (target >= 0.9)");
}

static void print_summary(struct result res[NSYS][NPHASE], double secs)
{
	const struct result *fn = &res[0][PH_NON], *gn = &res[1][PH_NON];
	const struct result *fc = &res[0][PH_CON], *gc = &res[1][PH_CON];
	long hwm[NSYS];
	char l[4][16];

	printf("\nmain figures (%.0f s per phase, 2.04 = answered Changed)\n",
	       secs);
	print_ratio("NON flood, msg/s", msg_rate(fn), msg_rate(gn));
	print_ratio("CON window 32, 2.04 req/s", ok_rate(fc), ok_rate(gc));
	print_ratio("CON window 32, msg/s", msg_rate(fc), msg_rate(gc));
	fmt_us(l[0], sizeof(l[0]), res[0][PH_LAT].p50);
	fmt_us(l[1], sizeof(l[1]), res[0][PH_LAT].p99);
	fmt_us(l[2], sizeof(l[2]), res[1][PH_LAT].p50);
	fmt_us(l[3], sizeof(l[3]), res[1][PH_LAT].p99);
	printf("  latency at %d CON/s (us)    forwarder p50 %s p99 %s   "
	       "coapbridge p50 %s p99 %s\n",
	       PACE_RATE, l[0], l[1], l[2], l[3]);
	for (size_t s = 0; s < NSYS; s++) {
		hwm[s] = 0;
		for (int p = 0; p < NPHASE; p++)
			if (res[s][p].hwm_kib > hwm[s])
				hwm[s] = res[s][p].hwm_kib;
	}
	printf("  peak RSS (KiB)               forwarder %ld   coapbridge "
	       "%ld   10 routes %ld   10k routes %ld\n",
	       hwm[0], hwm[1], hwm[2], hwm[3]);
	printf("  routes 1 / 10 / 10k          NON msg/s %.0f / %.0f / %.0f"
	       "   CON 2.04 req/s %.0f / %.0f / %.0f   10k/10: NON %.2f CON "
	       "%.2f\n",
	       msg_rate(gn), msg_rate(&res[2][PH_NON]),
	       msg_rate(&res[3][PH_NON]), ok_rate(gc), ok_rate(&res[2][PH_CON]),
	       ok_rate(&res[3][PH_CON]),
	       msg_rate(&res[2][PH_NON]) > 0
		   ? msg_rate(&res[3][PH_NON]) / msg_rate(&res[2][PH_NON])
		   : 0,
	       ok_rate(&res[2][PH_CON]) > 0
		   ? ok_rate(&res[3][PH_CON]) / ok_rate(&res[2][PH_CON])
		   : 0);
	for (size_t s = 0; s < NSYS; s++)
		if (res[s][PH_NON].arrived * 50 >= res[s][PH_NON].sent * 49)
			printf("  note: the NON flood did not overload %s (%llu"
			       " of %llu arrived): the machine is too busy "
			       "for its figure to mean much\n",
			       systems[s].name,
			       (unsigned long long)res[s][PH_NON].arrived,
			       (unsigned long long)res[s][PH_NON].sent);
	if (gc->svc_unavail)
		printf("  note: coapbridge answered %llu CON requests with "
		       "5.03 (duplicate cache full)\n",
		       (unsigned long long)gc->svc_unavail);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_bridge [-d SECONDS] [-q] [-k] "
		   "[COAPBRIDGE [FORWARDER]]\n"
		   "  -d SECONDS  length of each phase (default 3)\n"
		   "  -q          print only the main figures\n"
		   "  -k          keep the work directory (configs, logs)\n");
}

/* Default binaries: relative to the directory of this program. */
static int default_paths(void)
{
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -1;
	self[n] = 0;
	slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = 0;
	if (!gw_path[0])
		snprintf(gw_path, sizeof(gw_path), "%.*s/../src/gw/coapbridge",
			 PATH_MAX - 32, self);
	if (!fwd_path[0])
		snprintf(fwd_path, sizeof(fwd_path), "%.*s/forwarder",
			 PATH_MAX - 32, self);
	return 0;
}

static int check_exe(const char *p)
{
	if (access(p, X_OK) < 0) {
		fail("%s: %s", p, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct result res[NSYS][NPHASE];
	struct sigaction sa = {.sa_handler = on_signal};
	const char *tmp = getenv("TMPDIR");
	bool quiet = false, thread = false;
	double secs = 3;
	int opt, status = 1;
	char *end;

	while ((opt = getopt(argc, argv, "d:qkh")) != -1) {
		switch (opt) {
		case 'd':
			secs = strtod(optarg, &end);
			if (*optarg == 0 || *end || !(secs >= 0.2) ||
			    secs > 600) {
				fail("-d \"%s\": seconds from 0.2 to 600",
				     optarg);
				return 2;
			}
			break;
		case 'q':
			quiet = true;
			break;
		case 'k':
			keep_workdir = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind > 2) {
		usage(stderr);
		return 2;
	}
	if (optind < argc)
		snprintf(gw_path, sizeof(gw_path), "%s", argv[optind]);
	if (optind + 1 < argc)
		snprintf(fwd_path, sizeof(fwd_path), "%s", argv[optind + 1]);
	if (default_paths() < 0 || check_exe(gw_path) < 0 ||
	    check_exe(fwd_path) < 0)
		return 1;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The pacer sleeps to the microsecond, not to the default 50 us. */
	prctl(PR_SET_TIMERSLACK, 1000UL);

	snprintf(workdir, sizeof(workdir), "%s/bench_bridge.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(workdir)) {
		fail("mkdtemp %s: %s", workdir, strerror(errno));
		workdir[0] = 0;
		return 1;
	}
	if (start_broker() < 0 || sub_connect() < 0)
		goto out;
	if (pthread_create(&sub.thread, NULL, sub_main, NULL) != 0) {
		fail("pthread_create failed");
		goto out;
	}
	thread = true;

	if (!quiet)
		printf("%-22s %-3s %9s %9s %7s %7s %5s %9s %9s %9s %9s %7s %7s "
		       "%6s %6s %6s %7s\n",
		       "system", "ph", "sent", "2.04", "5.03", "other", "lost",
		       "arrived", "msg/s", "inload/s", "2.04/s", "p50us",
		       "p99us", "cpu_us", "broker", "sub", "RSS_KiB");
	/*
	 * Phase by phase, the systems back to back: on a shared machine the
	 * background load drifts, and the fraction compares neighbours.
	 */
	for (int p = 0; p < NPHASE; p++) {
		for (size_t s = 0; s < NSYS; s++) {
			if (run_phase(&systems[s], (enum phase)p, secs,
				      &res[s][p]) < 0)
				goto out;
			if (!quiet) {
				print_row(&systems[s], (enum phase)p,
					  &res[s][p]);
				fflush(stdout);
			}
		}
	}
	print_summary(res, secs);
	status = 0;
out:
	if (interrupted)
		fail("interrupted");
	stop_children();
	if (thread) {
		atomic_store(&sub.quit, 1);
		pthread_join(sub.thread, NULL);
	}
	if (sub.fd > 0)
		close(sub.fd);
	if (status != 0 && !interrupted)
		show_log("mosquitto.log");
	if (keep_workdir && workdir[0])
		fprintf(stderr, "bench_bridge: work directory kept: %s\n",
			workdir);
	remove_workdir();
	return interrupted ? 130 : status;
}
