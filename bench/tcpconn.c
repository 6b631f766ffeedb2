/*
 * tcpconn.c - bench: TCP connection rate and bulk stream for datapath.sh.
 *
 *   tcpconn server PORT [--seconds S]
 *       epoll accept loop: every accepted connection gets one byte written,
 *       then is closed. Runs until S seconds pass or SIGTERM; prints the
 *       number accepted.
 *   tcpconn client DST PORT --seconds S [--concurrency C] [--connect-only]
 *       keeps C non-blocking connections in flight: connect, read the byte
 *       the server writes (or, with --connect-only, just wait for the
 *       handshake), then close with SO_LINGER 0 (an RST: no TIME_WAIT on
 *       either side, so the client's ports are free again at once and the
 *       conntrack entries close). Prints
 *       "client: N connections in T s = X conn/s (F failed)".
 *   tcpconn sink PORT [--seconds S]
 *       accepts connections one after another and reads each to its end;
 *       prints "sink: N bytes in T s = X Gbit/s" per connection (first byte
 *       to end of stream).
 *   tcpconn stream DST PORT --seconds S
 *       one connection writing 128 KiB chunks for S seconds; prints the rate
 *       it wrote at.
 *
 * Only ever connects to the address it is given; datapath.sh uses addresses
 * in network namespaces it creates.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

#define MAX_CONC	4096
#define CHUNK		(128 * 1024)

static void
usage(void)
{
	fprintf(stderr,
		"usage: tcpconn server PORT [--seconds S]\n"
		"       tcpconn client DST PORT --seconds S [--concurrency C] [--connect-only]\n"
		"       tcpconn sink PORT [--seconds S]\n"
		"       tcpconn stream DST PORT --seconds S\n");
	exit(2);
}

static int
listen_on(unsigned port, bool nonblock)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- server: accept, write one byte, close ------------------------------------------ */

static int
cmd_server(unsigned port, double seconds)
{
	struct epoll_event ev = { .events = EPOLLIN }, out[8];
	unsigned long long accepted = 0;
	double end = seconds > 0 ? bench_now_s() + seconds : 0;
	int lfd = listen_on(port, true);
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (lfd < 0 || ep < 0) {
		perror("tcpconn server");
		return 1;
	}
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		perror("tcpconn server: epoll");
		return 1;
	}
	while (!bench_stop && (end == 0 || bench_now_s() < end)) {
		int n = epoll_wait(ep, out, 8, 200);

		if (n <= 0)
			continue;
		for (;;) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (c < 0)
				break;
			(void)send(c, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
			close(c);
			accepted++;
		}
	}
	printf("server: %llu connections accepted\n", accepted);
	close(ep);
	close(lfd);
	return 0;
}

/* ---- client: C connections in flight -------------------------------------------------- */

struct conn_opts {
	struct sockaddr_in dst;
	double seconds;
	unsigned conc;
	bool connect_only;
};

struct client_state {
	int ep;
	unsigned long long ok, failed;
	const struct conn_opts *o;
};

/* Open one connection in flight and watch it. -1 when no socket could be made. */
static int
conn_start(struct client_state *s)
{
	struct epoll_event ev;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&s->o->dst, sizeof(s->o->dst)) < 0 &&
	    errno != EINPROGRESS) {
		s->failed++;
		close(fd);
		return 0;	/* e.g. EADDRNOTAVAIL: try again on the next round */
	}
	ev.events = s->o->connect_only ? EPOLLOUT : EPOLLIN;
	ev.data.fd = fd;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return -1;
	}
	return 1;
}

/* Close with an RST: no TIME_WAIT, the port is free at once. */
static void
conn_abort(int fd)
{
	struct linger lg = { 1, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static int
cmd_client(const struct conn_opts *o)
{
	struct epoll_event out[256];
	struct client_state s = { .o = o };
	unsigned inflight = 0;
	double t0, end;

	s.ep = epoll_create1(EPOLL_CLOEXEC);
	if (s.ep < 0) {
		perror("tcpconn client: epoll");
		return 1;
	}
	t0 = bench_now_s();
	end = t0 + o->seconds;
	while (!bench_stop) {
		double t = bench_now_s();
		int n;

		if (t >= end)
			break;
		while (inflight < o->conc) {
			int r = conn_start(&s);

			if (r < 0) {
				perror("tcpconn client: socket");
				return 1;
			}
			if (r == 0)
				break;
			inflight++;
		}
		n = epoll_wait(s.ep, out, 256, 50);
		for (int i = 0; i < n; i++) {
			int fd = out[i].data.fd;
			bool good;

			if (o->connect_only) {
				int err = 0;
				socklen_t len = sizeof(err);

				good = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0 &&
				       !(out[i].events & (EPOLLERR | EPOLLHUP));
			} else {
				char b;

				good = recv(fd, &b, 1, MSG_DONTWAIT) == 1;
			}
			if (good)
				s.ok++;
			else
				s.failed++;
			epoll_ctl(s.ep, EPOLL_CTL_DEL, fd, NULL);
			conn_abort(fd);
			inflight--;
		}
	}
	t0 = bench_now_s() - t0;
	printf("client: %llu connections in %.3f s = %.0f conn/s (%llu failed, %u in flight at "
	       "the end, concurrency %u)\n", s.ok, t0, (double)s.ok / t0, s.failed, inflight, o->conc);
	close(s.ep);
	return 0;
}

/* ---- bulk stream ---------------------------------------------------------------------- */

static int
cmd_sink(unsigned port, double seconds)
{
	static char buf[CHUNK];
	double end = seconds > 0 ? bench_now_s() + seconds : 0;
	struct timeval tv = { 0, 200000 };
	int lfd = listen_on(port, false);

	if (lfd < 0) {
		perror("tcpconn sink");
		return 1;
	}
	(void)setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (!bench_stop && (end == 0 || bench_now_s() < end)) {
		unsigned long long bytes = 0;
		double first = 0, last = 0;
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0)
			continue;
		for (;;) {
			ssize_t r = recv(c, buf, sizeof(buf), 0);

			if (r > 0) {
				last = bench_now_s();
				if (first == 0)
					first = last;
				bytes += (unsigned long long)r;
				continue;
			}
			if (r < 0 && (errno == EINTR || errno == EAGAIN) && !bench_stop)
				continue;
			break;
		}
		close(c);
		if (last > first)
			printf("sink: %llu bytes in %.3f s = %.3f Gbit/s\n", bytes, last - first,
			       (double)bytes * 8 / (last - first) / 1e9);
		else
			printf("sink: %llu bytes\n", bytes);
		fflush(stdout);
	}
	close(lfd);
	return 0;
}

static int
cmd_stream(const struct conn_opts *o)
{
	static char buf[CHUNK];
	unsigned long long bytes = 0;
	double t0, t;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)&o->dst, sizeof(o->dst)) < 0) {
		perror("tcpconn stream: connect");
		return 1;
	}
	memset(buf, 'x', sizeof(buf));
	t0 = bench_now_s();
	while (!bench_stop && (t = bench_now_s()) < t0 + o->seconds) {
		ssize_t w = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			perror("tcpconn stream: send");
			break;
		}
		bytes += (unsigned long long)w;
	}
	t = bench_now_s() - t0;
	close(fd);
	printf("stream: %llu bytes written in %.3f s = %.3f Gbit/s\n", bytes, t,
	       (double)bytes * 8 / t / 1e9);
	return 0;
}

/* ---- main ------------------------------------------------------------------------------ */

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "connect-only", no_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct conn_opts o = { .seconds = 0, .conc = 64 };
	const char *cmd;
	int c;

	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!bench_seconds_arg(optarg, &o.seconds))
				usage();
			break;
		case 'c':
			o.conc = (unsigned)bench_num_arg("tcpconn", optarg, 1, MAX_CONC, "concurrency");
			break;
		case 'o':
			o.connect_only = true;
			break;
		default:
			usage();
		}
	}
	bench_catch_signals();
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(cmd, "server") == 0 || strcmp(cmd, "sink") == 0) {
		unsigned port;

		if (argc - optind != 1)
			usage();
		port = (unsigned)bench_num_arg("tcpconn", argv[optind], 1, 65535, "port");
		return cmd[1] == 'e' ? cmd_server(port, o.seconds) : cmd_sink(port, o.seconds);
	}
	if (strcmp(cmd, "client") == 0 || strcmp(cmd, "stream") == 0) {
		if (argc - optind != 2 || o.seconds <= 0)
			usage();
		if (!bench_ipv4_dst("tcpconn", argv[optind], argv[optind + 1], &o.dst))
			return 2;
		return cmd[0] == 'c' ? cmd_client(&o) : cmd_stream(&o);
	}
	usage();
	return 2;
}
