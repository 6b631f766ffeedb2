/*
 * test_http_slow.c - control/daemon/http.c under slow and idle clients (issue 8,
 * defect 6): a real libmicrohttpd server on 127.0.0.1 (a port the kernel
 * picks) over a daemon whose components are alive, and plain sockets that
 * dribble a request one byte at a time or connect and say nothing.
 *
 * /livez must answer at once while 64 slow-loris clients hold connections
 * and while more idle connections than the server takes flood it; the server
 * must close a connection whose request is not in by its deadline (however
 * busy the client keeps it), not close one that is slow but in time, and
 * hold a bounded number of descriptors. Before the fix, 16 such clients
 * kept /livez unanswered. Time bounds are generous for a loaded CI box: a
 * probe gets 2 s (the kubelet's default is 1 s), where it used to get no
 * answer at all.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"

struct fixture {
	struct daemon d;
	struct http_server *h;
	uint16_t port;
};

/* The control loop is alive (the daemon has no workers and no logger here). */
static void
beat(struct fixture *fx)
{
	STAT_SET(fx->d.control_heartbeat_ns, mono_ns());
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	pthread_mutex_init(&fx->d.lock, NULL);
	fx->d.node = "n1";
	fx->d.source = "policy-dir";
	snprintf(fx->d.ready_detail, sizeof(fx->d.ready_detail), "no table yet");
	beat(fx);
	assert_int_equal(http_start(&fx->h, "127.0.0.1", 0, &fx->d), 0);
	fx->port = http_port(fx->h);
	assert_int_not_equal(fx->port, 0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	http_stop(fx->h);
	assert_int_equal(STAT_GET(fx->d.http_connections), 0);
	pthread_mutex_destroy(&fx->d.lock);
	free(fx);
	return 0;
}

static uint64_t
ms_since(uint64_t t0_ns)
{
	return (mono_ns() - t0_ns) / 1000000u;
}

static void
nap_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A non-blocking TCP connection to 127.0.0.1:@port (connected or in progress). */
static int
connect_nb(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		assert_int_equal(errno, EINPROGRESS);
	return fd;
}

/*
 * GET @path within @limit_ms: the status, or 0 when no complete answer came in
 * time. The time taken in *@ms.
 */
static int
fetch_within(uint16_t port, const char *path, unsigned limit_ms, uint64_t *ms)
{
	uint64_t t0 = mono_ns();
	char req[128], buf[4096];
	size_t len = 0, sent = 0, reqlen;
	int fd = connect_nb(port), status = 0;

	reqlen = (size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n"
				  "Connection: close\r\n\r\n", path);
	for (;;) {
		struct pollfd p = { fd, sent < reqlen ? POLLOUT : POLLIN, 0 };
		uint64_t spent = ms_since(t0);
		ssize_t n;

		if (spent >= limit_ms || poll(&p, 1, (int)(limit_ms - spent)) <= 0)
			break;
		if (sent < reqlen) {
			n = send(fd, req + sent, reqlen - sent, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN)
				break;
			sent += n > 0 ? (size_t)n : 0;
			continue;
		}
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0 || (len += (size_t)n) == sizeof(buf) - 1) {
			buf[len] = '\0';
			if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
				status = 0;
			break;
		}
	}
	*ms = ms_since(t0);
	close(fd);
	return status;
}

/* Descriptors open in this process (client and server sides both live here). */
static unsigned
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own descriptor */
}

#define SLOW_CLIENTS	64
#define SLOW_DRIBBLE_MS	250

struct slowloris {
	uint16_t port;
	int fd[SLOW_CLIENTS];
	uint64_t closed_ms[SLOW_CLIENTS];	/* when the server closed it; 0 = open */
	uint64_t t0;
	int stop;
	pthread_t thread;
};

/* Has the server closed @fd (EOF or reset)? Never blocks. */
static bool
peer_closed(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* One byte every SLOW_DRIBBLE_MS on every connection still open, until stopped. */
static void *
slowloris_run(void *arg)
{
	struct slowloris *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		for (int i = 0; i < SLOW_CLIENTS; i++) {
			if (s->closed_ms[i] != 0)
				continue;
			if (peer_closed(s->fd[i]) || send(s->fd[i], "a", 1, MSG_NOSIGNAL) < 0)
				__atomic_store_n(&s->closed_ms[i], ms_since(s->t0) + 1,
						 __ATOMIC_RELEASE);
		}
		nap_ms(SLOW_DRIBBLE_MS);
	}
	return NULL;
}

static void
slowloris_start(struct slowloris *s, uint16_t port)
{
	static const char head[] = "GET /livez HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";

	memset(s, 0, sizeof(*s));
	s->port = port;
	s->t0 = mono_ns();
	for (int i = 0; i < SLOW_CLIENTS; i++)
		s->fd[i] = connect_nb(port);
	nap_ms(50);
	for (int i = 0; i < SLOW_CLIENTS; i++)
		assert_int_equal(send(s->fd[i], head, sizeof(head) - 1, MSG_NOSIGNAL),
				 (ssize_t)sizeof(head) - 1);
	assert_int_equal(pthread_create(&s->thread, NULL, slowloris_run, s), 0);
}

static void
slowloris_stop(struct slowloris *s)
{
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(s->thread, NULL), 0);
	for (int i = 0; i < SLOW_CLIENTS; i++)
		close(s->fd[i]);
}

/* Wait (up to @limit_ms) until the process holds at most @n descriptors. */
static unsigned
wait_fds_at_most(unsigned n, unsigned limit_ms)
{
	uint64_t t0 = mono_ns();
	unsigned now;

	while ((now = count_fds()) > n && ms_since(t0) < limit_ms)
		nap_ms(20);
	return now;
}

/*
 * SLOW_CLIENTS connections send a request head one byte every 250 ms (each
 * byte restarts libmicrohttpd's idle timeout). /livez must still answer at
 * once, and the server must close each slow connection when its request is
 * not complete within the header deadline, however busy the client keeps it.
 * Timing bounds are generous (a loaded CI box): a probe gets 2 s (the kubelet
 * gives 1 s by default), the deadline 2 s of slack.
 */
static void
test_livez_under_slowloris(void **state)
{
	struct fixture *fx = *state;
	unsigned base = count_fds();
	struct slowloris *s = calloc(1, sizeof(*s));
	uint64_t ms, worst = 0;
	int status;

	assert_non_null(s);
	beat(fx);
	slowloris_start(s, fx->port);
	nap_ms(600);		/* the server has taken what it will take */
	for (int i = 0; i < 3; i++) {
		beat(fx);
		status = fetch_within(fx->port, "/livez", 5000, &ms);
		if (status != 200)
			fail_msg("/livez under %d slow clients: status %d after %llu ms",
				 SLOW_CLIENTS, status, (unsigned long long)ms);
		if (ms > worst)
			worst = ms;
	}
	assert_true(worst < 2000);
	status = fetch_within(fx->port, "/readyz", 5000, &ms);
	assert_int_equal(status, 503);
	assert_true(ms < 2000);

	/* every slow connection is closed by its deadline, although it never went idle */
	for (int i = 0; i < SLOW_CLIENTS; i++) {
		while (__atomic_load_n(&s->closed_ms[i], __ATOMIC_ACQUIRE) == 0 &&
		       ms_since(s->t0) < HTTP_REQUEST_DEADLINE_MS + 4000)
			nap_ms(50);
		if (s->closed_ms[i] == 0)
			fail_msg("slow connection %d still open after %llu ms", i,
				 (unsigned long long)ms_since(s->t0));
		/* and not before it */
		assert_true(s->closed_ms[i] >= HTTP_REQUEST_DEADLINE_MS);
	}
	fprintf(stderr, "# /livez under %d slow clients: %llu ms at worst; slow clients "
		"closed after %llu ms\n", SLOW_CLIENTS, (unsigned long long)worst,
		(unsigned long long)s->closed_ms[0]);
	slowloris_stop(s);
	free(s);
	/* the server side is gone too, and counted */
	assert_true(wait_fds_at_most(base, 3000) <= base);
	assert_true(STAT_GET(fx->d.http_deadline_closed) >= SLOW_CLIENTS);
	assert_int_equal(STAT_GET(fx->d.http_evicted), 0);
}

#define FLOOD_CLIENTS	600

/*
 * More idle connections than the server takes: it stays within its
 * connection limit (descriptors are bounded) and /livez still answers.
 */
static void
test_livez_under_flood(void **state)
{
	struct fixture *fx = *state;
	unsigned base = count_fds(), peak = 0;
	int *fds = calloc(FLOOD_CLIENTS, sizeof(int));
	uint64_t ms;
	int status;

	assert_non_null(fds);
	for (int i = 0; i < FLOOD_CLIENTS; i++)
		fds[i] = connect_nb(fx->port);
	for (int round = 0; round < 4; round++) {
		unsigned now;

		nap_ms(100);
		now = count_fds() - base - FLOOD_CLIENTS;	/* the server's side */
		if (now > peak)
			peak = now;
		beat(fx);
		status = fetch_within(fx->port, "/livez", 5000, &ms);
		if (status != 200 || ms >= 2000)
			fail_msg("/livez under a flood of %d idle connections: status %d "
				 "after %llu ms", FLOOD_CLIENTS, status, (unsigned long long)ms);
	}
	fprintf(stderr, "# /livez under a flood of %d idle connections: the last in %llu ms; "
		"the server held %u at most\n", FLOOD_CLIENTS, (unsigned long long)ms, peak);
	/* the server's descriptors stay bounded; the oldest idle ones made room */
	if (peak > HTTP_MAX_CONNECTIONS + 16)
		fail_msg("the server holds %u connections", peak);
	assert_true(STAT_GET(fx->d.http_connections) <= HTTP_MAX_CONNECTIONS);
	assert_true(STAT_GET(fx->d.http_evicted) >= FLOOD_CLIENTS - HTTP_MAX_CONNECTIONS);
	for (int i = 0; i < FLOOD_CLIENTS; i++)
		close(fds[i]);
	free(fds);
	assert_true(wait_fds_at_most(base, 3000) <= base);
	status = fetch_within(fx->port, "/livez", 5000, &ms);
	assert_int_equal(status, 200);
}

/*
 * A slow client that still sends its whole request within the deadline is
 * served: the deadline cuts slow-loris clients, not slow networks.
 */
static void
test_slow_request_in_time(void **state)
{
	struct fixture *fx = *state;
	static const char part1[] = "GET /livez HTTP/1.1\r\nHo";
	static const char part2[] = "st: localhost\r\nConnection: close\r\n\r\n";
	int fd = connect_nb(fx->port);
	struct pollfd p = { fd, POLLIN, 0 };
	char buf[1024];
	ssize_t n;

	beat(fx);
	nap_ms(20);
	assert_int_equal(send(fd, part1, sizeof(part1) - 1, MSG_NOSIGNAL),
			 (ssize_t)sizeof(part1) - 1);
	nap_ms(HTTP_REQUEST_DEADLINE_MS / 2);
	assert_int_equal(send(fd, part2, sizeof(part2) - 1, MSG_NOSIGNAL),
			 (ssize_t)sizeof(part2) - 1);
	assert_int_equal(poll(&p, 1, 5000), 1);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "HTTP/1.1 200"));
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_livez_under_slowloris),
		cmocka_unit_test(test_livez_under_flood),
		cmocka_unit_test(test_slow_request_in_time),
	};
	struct rlimit rl;

	/* room for the flood's client ends and the server's ends, both in this process */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 && rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
