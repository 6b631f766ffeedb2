/*
 * udpblast.c - bench: small-UDP sender and counting receiver for datapath.sh.
 *
 *   udpblast send DST PORT --seconds S [--flows N] [--size 64] [--rate PPS]
 *                          [--batch B] [--sport-base P] [--prime]
 *       N flows = N connected UDP sockets with source ports P..P+N-1 (or
 *       kernel-chosen ports when P is 0), sent to round-robin in sendmmsg
 *       batches of B datagrams. --size is the Ethernet frame size the
 *       datagram makes, FCS included (64 = 18 bytes of UDP payload).
 *       --rate paces to PPS datagrams per second (default: as fast as
 *       possible). --prime first sends one datagram per flow and waits up to
 *       1 s for its echo (the receiver's --echo-first), so that every flow is
 *       conntrack ESTABLISHED before the blast.
 *       Prints "send: N datagrams in T s = X pps (E errors)".
 *
 *   udpblast recv PORT --seconds S [--skip W] [--echo-first]
 *       Waits for the first datagram, ignores the next W seconds (default
 *       1), then counts datagrams for S seconds with recvmmsg and prints
 *       "recv: N datagrams in T s = X pps". --echo-first sends the first
 *       datagram of every new source (address, port) back to it.
 *
 * Only ever sends to the address it is given; datapath.sh uses addresses in
 * network namespaces it creates.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

#define MAX_BATCH	256
#define MAX_FLOWS	65536
#define RX_BATCH	64
#define RX_BUFSZ	2048
#define ECHO_SLOTS	(1u << 17)	/* open-addressing set of seen sources */

static void
usage(void)
{
	fprintf(stderr,
		"usage: udpblast send DST PORT --seconds S [--flows N] [--size BYTES] [--rate PPS]\n"
		"                     [--batch B] [--sport-base P] [--prime]\n"
		"       udpblast recv PORT --seconds S [--skip W] [--echo-first]\n");
	exit(2);
}

static void
raise_nofile(size_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need + 64) {
		rl.rlim_cur = need + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ---- send ------------------------------------------------------------------------ */

struct send_opts {
	struct sockaddr_in dst;
	double seconds;
	unsigned flows;
	unsigned size;
	unsigned batch;
	unsigned sport_base;
	double rate;
	bool prime;
};

static int
open_flow(const struct send_opts *o, unsigned i)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	int one = 1;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (o->sport_base) {
		src.sin_port = htons((uint16_t)(o->sport_base + i));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (const struct sockaddr *)&o->dst, sizeof(o->dst)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One datagram per flow; wait up to 1 s for the echoes. Returns flows echoed. */
static unsigned
prime_flows(const int *fds, unsigned n, const char *payload, size_t len)
{
	unsigned got = 0;
	char buf[RX_BUFSZ];
	bool *done = calloc(n, sizeof(*done));
	double end = bench_now_s() + 1.0;

	if (done == NULL)
		return 0;
	for (unsigned i = 0; i < n; i++)
		(void)send(fds[i], payload, len, 0);
	while (got < n && bench_now_s() < end && !bench_stop) {
		bool any = false;

		for (unsigned i = 0; i < n; i++) {
			if (done[i])
				continue;
			if (recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT) >= 0) {
				done[i] = true;
				got++;
				any = true;
			}
		}
		if (!any)
			(void)poll(NULL, 0, 5);
	}
	free(done);
	return got;
}

static int
cmd_send(const struct send_opts *o)
{
	static char payload[2048];
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov;
	size_t len = o->size > 46 ? o->size - 46 : 0;
	int *fds = calloc(o->flows, sizeof(*fds));
	unsigned long long sent = 0, errors = 0;
	double t0, t, end, next;
	unsigned f = 0, iter = 0;

	if (fds == NULL)
		return 1;
	if (len > sizeof(payload))
		len = sizeof(payload);
	memset(payload, 'x', sizeof(payload));
	raise_nofile(o->flows);
	for (unsigned i = 0; i < o->flows; i++) {
		fds[i] = open_flow(o, i);
		if (fds[i] < 0) {
			fprintf(stderr, "udpblast: flow %u: %s\n", i, strerror(errno));
			return 1;
		}
	}
	if (o->prime) {
		unsigned got = prime_flows(fds, o->flows, payload, len);

		fprintf(stderr, "send: primed %u of %u flows\n", got, o->flows);
	}
	iov.iov_base = payload;
	iov.iov_len = len;
	memset(msgs, 0, sizeof(msgs));
	for (unsigned i = 0; i < o->batch; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = bench_now_s();
	end = t0 + o->seconds;
	next = t0;
	t = t0;
	while (!bench_stop) {
		int n;

		if ((iter++ & 7) == 0 || o->rate > 0) {
			t = bench_now_s();
			if (t >= end)
				break;
		}
		if (o->rate > 0) {
			/* pace per batch: sleep until this batch is due */
			if (t < next) {
				double d = next - t;

				if (d > 200e-6) {
					struct timespec ts = { 0, (long)((d - 100e-6) * 1e9) };

					nanosleep(&ts, NULL);
				}
				continue;
			}
			next += (double)o->batch / o->rate;
			if (next < t - 0.01)	/* fell behind by 10 ms: do not burst */
				next = t;
		}
		n = sendmmsg(fds[f], msgs, o->batch, 0);
		if (n > 0) {
			sent += (unsigned)n;
		} else if (n < 0) {
			errors++;
			if (errno == EAGAIN || errno == ENOBUFS)
				(void)poll(NULL, 0, 0);
		}
		if (++f == o->flows)
			f = 0;
	}
	t = bench_now_s() - t0;
	printf("send: %llu datagrams in %.3f s = %.0f pps (%llu errors, %u flows, %zu-byte payload)\n",
	       sent, t, (double)sent / t, errors, o->flows, len);
	for (unsigned i = 0; i < o->flows; i++)
		close(fds[i]);
	free(fds);
	return 0;
}

/* ---- recv ------------------------------------------------------------------------ */

struct echo_set {
	uint64_t *slot;		/* 0 = empty; else (addr << 16 | port) + 1 */
};

/* true when @key is new (and now remembered) */
static bool
echo_set_add(struct echo_set *s, uint64_t key)
{
	uint64_t k = key + 1;
	uint32_t h = (uint32_t)((k * 0x9e3779b97f4a7c15ull) >> 40) & (ECHO_SLOTS - 1);

	for (unsigned probes = 0; probes < ECHO_SLOTS; probes++) {
		uint64_t *p = &s->slot[(h + probes) & (ECHO_SLOTS - 1)];

		if (*p == k)
			return false;
		if (*p == 0) {
			*p = k;
			return true;
		}
	}
	return false;		/* full: stop echoing */
}

static int
cmd_recv(unsigned port, double seconds, double skip, bool echo_first)
{
	static char bufs[RX_BATCH][RX_BUFSZ];
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];
	struct sockaddr_in from[RX_BATCH];
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { 0, 100000 };
	struct echo_set es = { NULL };
	unsigned long long count = 0;
	double first = 0, start = 0, end = 0;
	int rcv = 16 << 20, one = 1;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		perror("udpblast: socket");
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("udpblast: bind");
		return 1;
	}
	if (echo_first) {
		es.slot = calloc(ECHO_SLOTS, sizeof(*es.slot));
		if (es.slot == NULL)
			return 1;
	}
	for (unsigned i = 0; i < RX_BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = RX_BUFSZ;
	}
	/* a signal before the first datagram ends the wait */
	while (!bench_stop) {
		int n;

		for (unsigned i = 0; i < RX_BATCH; i++) {
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(fd, msgs, RX_BATCH, MSG_WAITFORONE, NULL);
		if (n > 0) {
			double t = bench_now_s();

			if (first == 0) {
				first = t;
				start = first + skip;
				end = start + seconds;
			}
			if (t >= start && t < end)
				count += (unsigned)n;
			if (echo_first) {
				for (int i = 0; i < n; i++) {
					uint64_t key = (uint64_t)ntohl(from[i].sin_addr.s_addr) << 16 |
						       ntohs(from[i].sin_port);

					if (echo_set_add(&es, key))
						(void)sendto(fd, bufs[i], msgs[i].msg_len, MSG_DONTWAIT,
							     (struct sockaddr *)&from[i],
							     sizeof(from[i]));
				}
			}
		}
		if (first != 0 && bench_now_s() >= end)
			break;
	}
	if (first == 0) {
		printf("recv: 0 datagrams (none arrived)\n");
	} else {
		double span = (bench_now_s() < end ? bench_now_s() : end) - start;

		if (span <= 0)
			span = seconds;
		printf("recv: %llu datagrams in %.3f s = %.0f pps\n", count, span,
		       (double)count / span);
	}
	free(es.slot);
	close(fd);
	return 0;
}

/* ---- main ------------------------------------------------------------------------ */

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "flows", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 'z' },
		{ "rate", required_argument, NULL, 'r' },
		{ "batch", required_argument, NULL, 'b' },
		{ "sport-base", required_argument, NULL, 'p' },
		{ "prime", no_argument, NULL, 'P' },
		{ "skip", required_argument, NULL, 'k' },
		{ "echo-first", no_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	struct send_opts so = { .seconds = 5, .flows = 1, .size = 64, .batch = 32 };
	double seconds = 5, skip = 1;
	bool echo_first = false, have_seconds = false;
	const char *cmd;
	int c;

	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!bench_seconds_arg(optarg, &seconds)) {
				fprintf(stderr, "udpblast: bad seconds: %s\n", optarg);
				return 2;
			}
			so.seconds = seconds;
			have_seconds = true;
			break;
		case 'f':
			so.flows = (unsigned)bench_num_arg("udpblast", optarg, 1, MAX_FLOWS, "flows");
			break;
		case 'z':
			so.size = (unsigned)bench_num_arg("udpblast", optarg, 46, 1500, "size");
			break;
		case 'r':
			so.rate = (double)bench_num_arg("udpblast", optarg, 1, 100000000, "rate");
			break;
		case 'b':
			so.batch = (unsigned)bench_num_arg("udpblast", optarg, 1, MAX_BATCH, "batch");
			break;
		case 'p':
			so.sport_base = (unsigned)bench_num_arg("udpblast", optarg, 0, 65535, "sport-base");
			break;
		case 'P':
			so.prime = true;
			break;
		case 'k': {
			char *end;

			skip = strtod(optarg, &end);
			if (*end || skip < 0 || skip > 60)
				usage();
			break;
		}
		case 'e':
			echo_first = true;
			break;
		default:
			usage();
		}
	}
	if (!have_seconds)
		usage();
	bench_catch_signals();
	if (strcmp(cmd, "send") == 0) {
		if (argc - optind != 2)
			usage();
		if (!bench_ipv4_dst("udpblast", argv[optind], argv[optind + 1], &so.dst))
			return 2;
		if (so.sport_base && so.sport_base + so.flows - 1 > 65535) {
			fprintf(stderr, "udpblast: --sport-base + --flows passes 65535\n");
			return 2;
		}
		return cmd_send(&so);
	}
	if (strcmp(cmd, "recv") == 0) {
		if (argc - optind != 1)
			usage();
		return cmd_recv((unsigned)bench_num_arg("udpblast", argv[optind], 1, 65535, "port"),
				seconds, skip, echo_first);
	}
	usage();
	return 2;
}
