/*
 * bench_core: how fast the ucoap core is, and how it compares with libcoap.
 *
 *   bench_core [-d SECONDS] [-w WINDOW] [-s SOCKETS] [-n]
 *
 * 1. Codec: build+encode and decode rates of a typical request (CON GET
 *    /sensors/temp?unit=c, 4-byte token) and response (ACK 2.05,
 *    Content-Format, Max-Age, 4-byte payload), in messages/s.
 * 2. Server: a child process serving GET /bench with our core (once on
 *    its own UDP socket, once on a custom socket that batches system
 *    calls with recvmmsg/sendmmsg), then libcoap's coap-server-notls
 *    (skipped with -n), each loaded for
 *    SECONDS (default 5) by a generator that keeps WINDOW (default 32) CON
 *    GETs in flight over SOCKETS (default 8) source sockets on loopback.
 *    Printed: requests/s, p50/p99 latency, and the server's CPU time per
 *    request from /proc/PID/stat (utime + stime) over the measured run.
 *
 * Message ids count up per source socket from a random start, so an id is
 * reused only after 65536 requests from that socket: the server's
 * duplicate detection (keyed by source and id, RFC 7252 §4.5) never sees a
 * false duplicate. The generator reads answers with our codec; its own
 * CPU is not part of the figures.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ucoap/endpoint.h>

#define MAX_WINDOW  1024
#define MAX_SOCKETS 64
/* Latency histogram: 1 us buckets up to 100 ms, then one overflow bucket. */
#define HIST_US 100000
/* A request unanswered this long is counted lost and replaced. */
#define LOST_NS 1000000000ull
#define PAYLOAD "21.5"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- 1. codec rates ---- */

static volatile size_t sink;

static void build_request(struct ucoap_msg *m, uint16_t mid)
{
	static const uint8_t token[4] = {0xde, 0xad, 0xbe, 0xef};

	ucoap_msg_init(m, UCOAP_TYPE_CON, UCOAP_GET);
	m->mid = mid;
	m->token_len = sizeof(token);
	memcpy(m->token, token, sizeof(token));
	ucoap_msg_add_opt(m, UCOAP_OPT_URI_PATH, "sensors", 7);
	ucoap_msg_add_opt(m, UCOAP_OPT_URI_PATH, "temp", 4);
	ucoap_msg_add_opt(m, UCOAP_OPT_URI_QUERY, "unit=c", 6);
}

static void build_response(struct ucoap_msg *m, uint16_t mid)
{
	static const uint8_t token[4] = {0xde, 0xad, 0xbe, 0xef};

	ucoap_msg_init(m, UCOAP_TYPE_ACK, UCOAP_CONTENT);
	m->mid = mid;
	m->token_len = sizeof(token);
	memcpy(m->token, token, sizeof(token));
	ucoap_msg_add_uint(m, UCOAP_OPT_CONTENT_FORMAT, UCOAP_CF_TEXT);
	ucoap_msg_add_uint(m, UCOAP_OPT_MAX_AGE, 60);
	m->payload = (const uint8_t *)PAYLOAD;
	m->payload_len = strlen(PAYLOAD);
}

/* Run @fn for about 0.5 s; returns calls per second. */
static double rate(void (*fn)(void))
{
	uint64_t n = 0, t0 = now_ns(), t;

	do {
		for (int i = 0; i < 10000; i++)
			fn();
		n += 10000;
		t = now_ns();
	} while (t - t0 < 500000000ull);
	return (double)n * 1e9 / (double)(t - t0);
}

static uint8_t req_wire[128], resp_wire[128];
static size_t req_len, resp_len;

static void encode_req(void)
{
	struct ucoap_msg m;
	size_t len;

	build_request(&m, (uint16_t)sink);
	if (ucoap_msg_encode(&m, req_wire, sizeof(req_wire), &len) == 0)
		sink += len;
}

static void encode_resp(void)
{
	struct ucoap_msg m;
	size_t len;

	build_response(&m, (uint16_t)sink);
	if (ucoap_msg_encode(&m, resp_wire, sizeof(resp_wire), &len) == 0)
		sink += len;
}

static void decode_req(void)
{
	struct ucoap_msg m;

	if (ucoap_msg_decode(&m, req_wire, req_len) == 0)
		sink += m.opt_count;
}

static void decode_resp(void)
{
	struct ucoap_msg m;

	if (ucoap_msg_decode(&m, resp_wire, resp_len) == 0)
		sink += m.payload_len;
}

static int bench_codec(void)
{
	struct ucoap_msg m;

	build_request(&m, 1);
	if (ucoap_msg_encode(&m, req_wire, sizeof(req_wire), &req_len) < 0)
		return -1;
	build_response(&m, 1);
	if (ucoap_msg_encode(&m, resp_wire, sizeof(resp_wire), &resp_len) < 0)
		return -1;
	printf("codec (one core, messages/s)\n");
	printf("  request  (%2zu bytes): build+encode %10.0f   decode %10.0f\n",
	       req_len, rate(encode_req), rate(decode_req));
	printf("  response (%2zu bytes): build+encode %10.0f   decode %10.0f\n",
	       resp_len, rate(encode_resp), rate(decode_resp));
	return 0;
}

/* ---- 2. servers ---- */

static volatile sig_atomic_t server_stop;

static void on_term(int sig)
{
	server_stop = 1;
}

static void on_bench(struct ucoap_ep *ep, const struct ucoap_msg *req,
		     const struct ucoap_addr *from, void *user)
{
	struct ucoap_msg resp;

	ucoap_msg_init(&resp, UCOAP_TYPE_ACK,
		       req->code == UCOAP_GET ? UCOAP_CONTENT
					      : UCOAP_METHOD_NOT_ALLOWED);
	if (req->code == UCOAP_GET) {
		ucoap_msg_add_uint(&resp, UCOAP_OPT_CONTENT_FORMAT,
				   UCOAP_CF_TEXT);
		resp.payload = (const uint8_t *)PAYLOAD;
		resp.payload_len = strlen(PAYLOAD);
	}
	ucoap_ep_respond(ep, &resp);
}

/*
 * A custom socket (ucoap_ep_set_custom_socket) that batches system calls:
 * recvfrom() hands out datagrams from one recvmmsg(2) of up to BATCH, and
 * sendto() queues answers that mmsg_flush() sends with one sendmmsg(2)
 * after each ucoap_ep_process(). The default socket (udp.c) now batches
 * the same way; this one stays as an example of the custom-socket hook and
 * a check that both batch equally well.
 */
#define BATCH     32
#define DGRAM_MAX 1500

struct mmsg_sock {
	int fd;
	bool blocking;
	unsigned rx_n, rx_next, tx_n;
	struct mmsghdr rx[BATCH], tx[BATCH];
	struct iovec rx_iov[BATCH], tx_iov[BATCH];
	struct sockaddr_storage rx_from[BATCH], tx_to[BATCH];
	uint8_t rx_buf[BATCH][DGRAM_MAX], tx_buf[BATCH][DGRAM_MAX];
};

static void mmsg_flush(struct mmsg_sock *ms)
{
	unsigned done = 0;

	while (done < ms->tx_n) {
		int n = sendmmsg(ms->fd, ms->tx + done, ms->tx_n - done, 0);

		if (n <= 0)
			break; /* UDP: a lost answer is the client's to retry */
		done += (unsigned)n;
	}
	ms->tx_n = 0;
}

static int mmsg_sendto(void *user, const void *buf, size_t len,
		       const struct ucoap_addr *to)
{
	struct mmsg_sock *ms = user;
	unsigned i = ms->tx_n;

	if (len > DGRAM_MAX)
		return -EMSGSIZE;
	if (i == BATCH) {
		mmsg_flush(ms);
		i = 0;
	}
	memcpy(ms->tx_buf[i], buf, len);
	memcpy(&ms->tx_to[i], &to->ss, to->len);
	ms->tx_iov[i] = (struct iovec){ms->tx_buf[i], len};
	ms->tx[i].msg_hdr = (struct msghdr){.msg_name = &ms->tx_to[i],
					    .msg_namelen = to->len,
					    .msg_iov = &ms->tx_iov[i],
					    .msg_iovlen = 1};
	ms->tx_n = i + 1;
	return 0;
}

static ssize_t mmsg_recvfrom(void *user, void *buf, size_t cap,
			     struct ucoap_addr *from)
{
	struct mmsg_sock *ms = user;
	struct mmsghdr *m;
	size_t len;

	if (ms->rx_next == ms->rx_n) {
		int n;

		for (unsigned i = 0; i < BATCH; i++) {
			ms->rx_iov[i] =
			    (struct iovec){ms->rx_buf[i], DGRAM_MAX};
			ms->rx[i].msg_hdr = (struct msghdr){
			    .msg_name = &ms->rx_from[i],
			    .msg_namelen = sizeof(ms->rx_from[i]),
			    .msg_iov = &ms->rx_iov[i],
			    .msg_iovlen = 1};
		}
		n = recvmmsg(ms->fd, ms->rx, BATCH,
			     ms->blocking ? MSG_WAITFORONE : MSG_DONTWAIT,
			     NULL);
		if (n < 0)
			return -errno;
		ms->rx_n = (unsigned)n;
		ms->rx_next = 0;
	}
	m = &ms->rx[ms->rx_next++];
	len = m->msg_len < cap ? m->msg_len : cap;
	memcpy(buf, ms->rx_buf[ms->rx_next - 1], len);
	memcpy(&from->ss, m->msg_hdr.msg_name, m->msg_hdr.msg_namelen);
	from->len = m->msg_hdr.msg_namelen;
	return (ssize_t)m->msg_len;
}

static int mmsg_setblocking(void *user, bool blocking)
{
	((struct mmsg_sock *)user)->blocking = blocking;
	return 0;
}

static int mmsg_fd(void *user)
{
	return ((struct mmsg_sock *)user)->fd;
}

static int mmsg_open(struct mmsg_sock *ms, uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	memset(ms, 0, sizeof(*ms));
	ms->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (ms->fd < 0)
		return -1;
	return bind(ms->fd, (struct sockaddr *)&sin, sizeof(sin));
}

/*
 * The child: our core serving /bench on 127.0.0.1:@port until SIGTERM.
 * The duplicate cache keeps every answer for EXCHANGE_LIFETIME, so it is
 * sized for the whole run (about 120k requests/s), as a deployment would
 * size it for its rate; otherwise the core would answer 5.03 once full.
 */
static int run_our_server(uint16_t port, unsigned seconds, bool batched)
{
	static const struct ucoap_socket_ops mmsg_ops = {
	    .sendto = mmsg_sendto,
	    .recvfrom = mmsg_recvfrom,
	    .setblocking = mmsg_setblocking,
	    .fd = mmsg_fd,
	};
	static struct mmsg_sock ms;
	struct sigaction sa = {.sa_handler = on_term};
	struct ucoap_ep_config cfg;
	struct ucoap_addr local;
	struct ucoap_ep *ep;
	bool bad;
	int rc = 1;

	sigaction(SIGTERM, &sa, NULL);
	ucoap_ep_config_init(&cfg);
	cfg.dedup_entries = 120000u * seconds + 4096;
	cfg.dedup_bytes = cfg.dedup_entries * 32u;
	ep = ucoap_ep_new(&cfg, NULL, NULL);
	if (!ep)
		goto fail;
	if (batched)
		bad = mmsg_open(&ms, port) < 0 ||
		      ucoap_ep_set_custom_socket(ep, &mmsg_ops, &ms) < 0;
	else
		bad = ucoap_addr_set(&local, "127.0.0.1", port) < 0 ||
		      ucoap_ep_start_at(ep, &local) < 0;
	if (bad ||
	    ucoap_ep_add_request_callback(ep, "bench", on_bench, NULL) < 0) {
		perror("bench_core: our server");
		goto fail;
	}
	while (!server_stop) {
		struct pollfd pfd = {.fd = ucoap_ep_fd(ep), .events = POLLIN};
		int wait = ucoap_ep_next_timeout(ep);

		if (wait < 0 || wait > 100)
			wait = 100;
		if (poll(&pfd, 1, wait) < 0 && errno != EINTR)
			goto fail;
		if (ucoap_ep_process(ep, 0) < 0)
			goto fail;
		if (batched)
			mmsg_flush(&ms);
	}
	rc = 0;
fail:
	ucoap_ep_free(ep);
	return rc;
}

/* A UDP port on 127.0.0.1 that is free right now. */
static uint16_t free_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint16_t port = 0;

	if (fd < 0)
		return 0;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static pid_t spawn_ours(uint16_t port, unsigned seconds, bool batched)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(run_our_server(port, seconds, batched));
	return pid;
}

static pid_t spawn_libcoap(uint16_t port)
{
	char p[8];
	pid_t pid;

	snprintf(p, sizeof(p), "%u", port);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("coap-server-notls", "coap-server-notls", "-A",
		       "127.0.0.1", "-p", p, "-d", "10", "-v", "0",
		       (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* The server's user and system CPU time so far, in microseconds. */
static int proc_cpu_us(pid_t pid, uint64_t *user_us, uint64_t *sys_us)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the ")" closing comm: state is field 3, utime 14. */
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
		   &st) != 2)
		return -1;
	*user_us = ut * 1000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
	*sys_us = st * 1000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
	return 0;
}

/* ---- the load generator ---- */

struct load {
	int fds[MAX_SOCKETS];
	uint16_t next_mid[MAX_SOCKETS];
	unsigned nsock, window;
	struct {
		uint64_t sent;
		uint16_t gen;
		bool busy;
	} slot[MAX_WINDOW];
	uint32_t *hist; /* HIST_US + 1 buckets */
	uint64_t done, errors, lost, sent;
	unsigned rr;
};

/* One CON request from slot @i on the next socket in turn. */
static int send_req(struct load *l, unsigned i, uint8_t code,
		    const char *payload)
{
	unsigned s = l->rr++ % l->nsock;
	struct ucoap_msg m;
	uint8_t buf[64];
	size_t len;

	ucoap_msg_init(&m, UCOAP_TYPE_CON, code);
	m.mid = l->next_mid[s]++;
	l->slot[i].gen++;
	/* Token: slot and generation, so a late answer cannot be miscounted. */
	m.token_len = 4;
	m.token[0] = (uint8_t)(i >> 8);
	m.token[1] = (uint8_t)i;
	m.token[2] = (uint8_t)(l->slot[i].gen >> 8);
	m.token[3] = (uint8_t)l->slot[i].gen;
	if (ucoap_msg_add_opt(&m, UCOAP_OPT_URI_PATH, "bench", 5) < 0)
		return -1;
	if (payload) {
		m.payload = (const uint8_t *)payload;
		m.payload_len = strlen(payload);
	}
	if (ucoap_msg_encode(&m, buf, sizeof(buf), &len) < 0)
		return -1;
	l->slot[i].sent = now_ns();
	l->slot[i].busy = true;
	l->sent++;
	if (send(l->fds[s], buf, len, 0) < 0 && errno != EAGAIN &&
	    errno != ECONNREFUSED)
		return -1;
	return 0;
}

/*
 * Read every waiting answer; for each, record the latency and (when
 * @refill) send the slot's next request. The last answer's code goes to
 * *@last_code.
 */
static void drain(struct load *l, bool refill, uint8_t *last_code)
{
	for (unsigned s = 0; s < l->nsock; s++) {
		uint8_t buf[1500];
		ssize_t n;

		while ((n = recv(l->fds[s], buf, sizeof(buf), MSG_DONTWAIT)) >
		       0) {
			struct ucoap_msg m;
			unsigned i;
			uint64_t us;

			if (ucoap_msg_decode(&m, buf, (size_t)n) < 0 ||
			    m.type != UCOAP_TYPE_ACK || m.token_len != 4)
				continue;
			i = (unsigned)m.token[0] << 8 | m.token[1];
			if (i >= l->window || !l->slot[i].busy ||
			    l->slot[i].gen != (m.token[2] << 8 | m.token[3]))
				continue;
			l->slot[i].busy = false;
			*last_code = m.code;
			us = (now_ns() - l->slot[i].sent) / 1000;
			l->hist[us < HIST_US ? us : HIST_US]++;
			l->done++;
			if (m.code != UCOAP_CONTENT)
				l->errors++;
			if (refill)
				send_req(l, i, UCOAP_GET, NULL);
		}
	}
}

static void wait_readable(struct load *l, int ms)
{
	struct pollfd pfd[MAX_SOCKETS];

	for (unsigned s = 0; s < l->nsock; s++)
		pfd[s] = (struct pollfd){.fd = l->fds[s], .events = POLLIN};
	poll(pfd, l->nsock, ms);
}

static int load_open(struct load *l, uint16_t port)
{
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	for (unsigned s = 0; s < l->nsock; s++) {
		l->fds[s] = socket(AF_INET, SOCK_DGRAM, 0);
		if (l->fds[s] < 0 ||
		    connect(l->fds[s], (struct sockaddr *)&to, sizeof(to)) < 0)
			return -1;
		if (getrandom(&l->next_mid[s], sizeof(l->next_mid[s]), 0) < 0)
			return -1;
	}
	return 0;
}

static void load_close(struct load *l)
{
	for (unsigned s = 0; s < l->nsock; s++)
		if (l->fds[s] >= 0)
			close(l->fds[s]);
}

/*
 * One request and its answer, retried every 50 ms for up to 3 s, so we
 * know the server is up (and, for a PUT, that the resource exists).
 */
static int exchange_once(struct load *l, uint8_t code, const char *payload,
			 uint8_t *answer)
{
	uint64_t end = now_ns() + 3000000000ull;

	*answer = 0;
	while (now_ns() < end) {
		uint64_t before = l->done;

		send_req(l, 0, code, payload);
		wait_readable(l, 50);
		drain(l, false, answer);
		if (l->done > before)
			return 0;
	}
	return -1;
}

struct result {
	double rps, p50_us, p99_us, user_us_per_req, sys_us_per_req;
	uint64_t done, errors, lost;
};

static double percentile(const uint32_t *hist, uint64_t total, double q)
{
	uint64_t want = (uint64_t)(q * (double)total), seen = 0;

	for (unsigned us = 0; us <= HIST_US; us++) {
		seen += hist[us];
		if (seen > want)
			return us;
	}
	return HIST_US;
}

/*
 * Load the server @pid at @port for @seconds. First one request makes sure
 * it is up: a PUT of @setup_payload when given (libcoap creates the
 * resource), else a GET.
 */
static int run_load(pid_t pid, uint16_t port, unsigned seconds, unsigned window,
		    unsigned nsock, const char *setup_payload, struct result *r)
{
	struct load *l = calloc(1, sizeof(*l));
	uint64_t usr0, sys0, usr1, sys1, t0, t1, end;
	uint8_t code;
	int rc = -1;

	if (!l)
		return -1;
	l->hist = calloc(HIST_US + 1, sizeof(*l->hist));
	l->window = window;
	l->nsock = nsock;
	for (unsigned s = 0; s < MAX_SOCKETS; s++)
		l->fds[s] = -1;
	if (!l->hist || load_open(l, port) < 0) {
		perror("bench_core: load sockets");
		goto out;
	}
	if (exchange_once(l, setup_payload ? UCOAP_PUT : UCOAP_GET,
			  setup_payload, &code) < 0 ||
	    UCOAP_CODE_CLASS(code) != 2) {
		fprintf(stderr,
			"bench_core: server on port %u not answering "
			"(code %u)\n",
			port, code);
		goto out;
	}
	memset(l->hist, 0, (HIST_US + 1) * sizeof(*l->hist));
	l->done = l->errors = 0;

	if (proc_cpu_us(pid, &usr0, &sys0) < 0)
		goto out;
	t0 = now_ns();
	end = t0 + (uint64_t)seconds * 1000000000ull;
	for (unsigned i = 0; i < window; i++)
		send_req(l, i, UCOAP_GET, NULL);
	while (now_ns() < end) {
		uint64_t now;

		wait_readable(l, 10);
		drain(l, true, &code);
		now = now_ns();
		for (unsigned i = 0; i < window; i++)
			if (l->slot[i].busy &&
			    now - l->slot[i].sent > LOST_NS) {
				l->lost++;
				send_req(l, i, UCOAP_GET, NULL);
			}
	}
	t1 = now_ns();
	if (proc_cpu_us(pid, &usr1, &sys1) < 0)
		goto out;

	r->done = l->done;
	r->errors = l->errors;
	r->lost = l->lost;
	r->rps = (double)l->done * 1e9 / (double)(t1 - t0);
	r->p50_us = percentile(l->hist, l->done, 0.50);
	r->p99_us = percentile(l->hist, l->done, 0.99);
	if (l->done) {
		r->user_us_per_req = (double)(usr1 - usr0) / (double)l->done;
		r->sys_us_per_req = (double)(sys1 - sys0) / (double)l->done;
	}
	rc = 0;
out:
	load_close(l);
	free(l->hist);
	free(l);
	return rc;
}

static void stop_child(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}

static double cpu(const struct result *r)
{
	return r->user_us_per_req + r->sys_us_per_req;
}

static void print_result(const char *name, const struct result *r)
{
	printf(
	    "  %-22s %9.0f %7.0f %7.0f %7.2f %5.2f %5.2f %9llu %8llu %5llu\n",
	    name, r->rps, r->p50_us, r->p99_us,
	    r->user_us_per_req + r->sys_us_per_req, r->user_us_per_req,
	    r->sys_us_per_req, (unsigned long long)r->done,
	    (unsigned long long)r->errors, (unsigned long long)r->lost);
}

int main(int argc, char **argv)
{
	unsigned seconds = 5, window = 32, nsock = 8;
	bool with_libcoap = true;
	struct result ours = {0}, ours_mmsg = {0}, theirs = {0};
	bool have_theirs = false;
	uint16_t port;
	pid_t pid;
	int opt;

	while ((opt = getopt(argc, argv, "d:w:s:nh")) != -1) {
		switch (opt) {
		case 'd':
			seconds = (unsigned)atoi(optarg);
			break;
		case 'w':
			window = (unsigned)atoi(optarg);
			break;
		case 's':
			nsock = (unsigned)atoi(optarg);
			break;
		case 'n':
			with_libcoap = false;
			break;
		default:
			fprintf(stderr,
				"usage: bench_core [-d SECONDS] [-w WINDOW] "
				"[-s SOCKETS] [-n (no libcoap)]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (seconds < 1 || seconds > 600 || window < 1 || window > MAX_WINDOW ||
	    nsock < 1 || nsock > MAX_SOCKETS) {
		fprintf(stderr, "bench_core: -d 1..600, -w 1..%d, -s 1..%d\n",
			MAX_WINDOW, MAX_SOCKETS);
		return 2;
	}
	if (bench_codec() < 0) {
		fprintf(stderr, "bench_core: codec failed\n");
		return 1;
	}

	printf("\nserver: CON GET /bench on 127.0.0.1, window %u, %u source "
	       "sockets, %u s each\n",
	       window, nsock, seconds);
	printf("  %-22s %9s %7s %7s %19s %9s %8s %5s\n", "", "", "latency", "",
	       "CPU us/request", "", "", "");
	printf("  %-22s %9s %7s %7s %7s %5s %5s %9s %8s %5s\n", "server",
	       "req/s", "p50 us", "p99 us", "total", "user", "sys", "answers",
	       "non-2.05", "lost");
	fflush(stdout);
	for (int batched = 0; batched < 2; batched++) {
		struct result *r = batched ? &ours_mmsg : &ours;

		port = free_port();
		pid = spawn_ours(port, seconds, batched);
		if (pid < 0 ||
		    run_load(pid, port, seconds, window, nsock, NULL, r) < 0) {
			stop_child(pid);
			return 1;
		}
		stop_child(pid);
		print_result(batched ? "ucoap, custom mmsg socket" : "ucoap, default socket",
			     r);
	}
	if (with_libcoap) {
		port = free_port();
		pid = spawn_libcoap(port);
		/* libcoap serves a resource created by PUT (-d). */
		have_theirs = pid > 0 && run_load(pid, port, seconds, window,
						  nsock, PAYLOAD, &theirs) == 0;
		stop_child(pid);
		if (have_theirs)
			print_result("libcoap 4.3 server", &theirs);
		else
			fprintf(stderr, "bench_core: libcoap run failed "
					"(coap-server-notls installed?)\n");
	}
	if (have_theirs && cpu(&ours) > 0 && cpu(&ours_mmsg) > 0)
		printf("  CPU per request, libcoap / ucoap: %.1fx with the "
		       "default socket, %.1fx with the custom socket "
		       "(target: 3x)\n",
		       cpu(&theirs) / cpu(&ours),
		       cpu(&theirs) / cpu(&ours_mmsg));
	return ours.errors || ours.lost || ours_mmsg.errors || ours_mmsg.lost
		   ? 1
		   : 0;
}
