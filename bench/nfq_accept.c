/*
 * nfq_accept.c - bench: the bare accept-all NFQUEUE consumer, the baseline
 * bench/RESULTS.md measures nfqwall against.
 *
 *   nfq_accept --per-packet|--batch --seconds S [--queue N] [--queue-len L]
 *              [--fail-open]
 *
 * One queue on one libmnl socket, configured as nfqwall configures its queues
 * (nfq/queue.c): copy range 128, queue length 4096, NFQA_CFG_F_GSO,
 * SO_RCVBUFFORCE sized to hold the whole queue, NETLINK_NO_ENOBUFS, a receive
 * timeout. Packet messages are taken with recvmmsg (64 per call, as
 * nfqwall's workers do) and each is parsed with nfq_nlmsg_parse for its id.
 * Then every packet is accepted:
 *
 *   --per-packet  one NFQNL_MSG_VERDICT per packet, one sendto each
 *   --batch       one NFQNL_MSG_VERDICT_BATCH per recvmmsg batch (the highest id)
 *
 * No lookup, no marks, no logging: the cost of the queue itself. Runs for S
 * seconds (or until SIGTERM) and prints the packets handled and the CPU time
 * it used per packet (getrusage: user + system, which includes the kernel's
 * reinjection of each accepted packet, done in the verdict syscall).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "benchlib.h"

#define RX_BATCH	64
#define RX_MSGSIZE	2048
#define CFG_BUFSZ	8192	/* MNL_SOCKET_BUFFER_SIZE is not a constant */

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

static void
usage(void)
{
	fprintf(stderr, "usage: nfq_accept --per-packet|--batch --seconds S [--queue N] "
		"[--queue-len L] [--fail-open]\n");
	exit(2);
}

struct bare {
	struct mnl_socket *nl;
	int fd;
	uint16_t num;
	uint32_t seq;
};

/* One config message with NLM_F_ACK; packets arriving meanwhile are skipped. */
static int
config_msg(struct bare *b, struct nlmsghdr *nlh)
{
	char buf[CFG_BUFSZ];

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++b->seq;
	if (mnl_socket_sendto(b->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t got = mnl_socket_recvfrom(b->nl, buf, sizeof(buf));
		int n;

		if (got < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		n = (int)got;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; mnl_nlmsg_ok(h, n);
		     h = mnl_nlmsg_next(h, &n)) {
			if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == b->seq)
				return ((const struct nlmsgerr *)mnl_nlmsg_get_payload(h))->error;
		}
	}
}

static int
bare_open(struct bare *b, uint16_t num, uint32_t maxlen, bool fail_open)
{
	char buf[CFG_BUFSZ];
	struct nlmsghdr *nlh;
	struct timeval tv = { 0, 200000 };
	int one = 1, rcv = (int)(maxlen * 1024 + 65536), err;
	uint32_t flags = NFQA_CFG_F_GSO | (fail_open ? NFQA_CFG_F_FAIL_OPEN : 0);

	b->num = num;
	b->seq = (uint32_t)time(NULL);
	b->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (b->nl == NULL)
		return -errno;
	if (mnl_socket_bind(b->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	b->fd = mnl_socket_get_fd(b->nl);
	if (setsockopt(b->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		(void)setsockopt(b->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	(void)setsockopt(b->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	(void)setsockopt(b->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	err = config_msg(b, nlh);
	if (err < 0)
		return err;
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 128);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, maxlen);
	err = config_msg(b, nlh);
	if (err < 0)
		return err;
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
	return config_msg(b, nlh);
}

static void
bare_close(struct bare *b)
{
	char buf[CFG_BUFSZ];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, b->num);

	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
	(void)mnl_socket_sendto(b->nl, nlh, nlh->nlmsg_len);
	mnl_socket_close(b->nl);
}

static int
send_verdict(struct bare *b, int type, uint32_t id)
{
	char buf[128];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, type, b->num);

	nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
	return mnl_socket_sendto(b->nl, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "per-packet", no_argument, NULL, 'p' },
		{ "batch", no_argument, NULL, 'b' },
		{ "seconds", required_argument, NULL, 's' },
		{ "queue", required_argument, NULL, 'q' },
		{ "queue-len", required_argument, NULL, 'l' },
		{ "fail-open", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	static char rx[RX_BATCH][RX_MSGSIZE];
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];
	struct bare b = { NULL, -1, 0, 0 };
	unsigned long long packets = 0, batches = 0, enobufs = 0, rerr = 0, serr = 0;
	int mode = 0, c, err;
	double seconds = 0, t0, end, cpu;
	unsigned queue = 0, qlen = 4096;
	bool fail_open = false;
	struct rusage ru;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		char *e;

		switch (c) {
		case 'p':
		case 'b':
			mode = c;
			break;
		case 's':
			if (!bench_seconds_arg(optarg, &seconds))
				usage();
			break;
		case 'q':
			queue = (unsigned)strtoul(optarg, &e, 10);
			if (*e || queue > 65535)
				usage();
			break;
		case 'l':
			qlen = (unsigned)strtoul(optarg, &e, 10);
			if (*e || qlen < 1 || qlen > 1u << 20)
				usage();
			break;
		case 'f':
			fail_open = true;
			break;
		default:
			usage();
		}
	}
	if (mode == 0 || seconds <= 0 || optind != argc)
		usage();
	bench_catch_signals();
	err = bare_open(&b, (uint16_t)queue, qlen, fail_open);
	if (err < 0) {
		fprintf(stderr, "nfq_accept: queue %u: %s\n", queue, strerror(-err));
		return 1;
	}
	for (unsigned i = 0; i < RX_BATCH; i++) {
		iov[i].iov_base = rx[i];
		iov[i].iov_len = RX_MSGSIZE;
		memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	printf("nfq_accept: queue %u bound, %s verdicts\n", queue,
	       mode == 'p' ? "per-packet" : "batch");
	fflush(stdout);
	t0 = bench_now_s();
	end = t0 + seconds;
	while (!bench_stop && bench_now_s() < end) {
		uint32_t last = 0;
		bool any = false;
		int n = recvmmsg(b.fd, msgs, RX_BATCH, MSG_WAITFORONE, NULL);

		if (n < 0) {
			if (errno == ENOBUFS)
				enobufs++;
			else if (errno != EAGAIN && errno != EINTR)
				rerr++;
			continue;
		}
		batches++;
		for (int i = 0; i < n; i++) {
			int len = (int)msgs[i].msg_len;

			for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)rx[i];
			     mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
				struct nlattr *attr[NFQA_MAX + 1] = { NULL };
				const struct nfqnl_msg_packet_hdr *ph;

				if (nlh->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
					continue;
				if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == NULL)
					continue;
				ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
				last = ntohl(ph->packet_id);
				any = true;
				packets++;
				if (mode == 'p' && send_verdict(&b, NFQNL_MSG_VERDICT, last) < 0)
					serr++;
			}
		}
		if (mode == 'b' && any && send_verdict(&b, NFQNL_MSG_VERDICT_BATCH, last) < 0)
			serr++;
	}
	t0 = bench_now_s() - t0;
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("nfq_accept: %llu packets in %.3f s = %.0f pps, %llu batches, cpu %.3f s = %.2f us "
	       "per packet (%llu enobufs, %llu recv errors, %llu send errors)\n",
	       packets, t0, (double)packets / t0, batches, cpu,
	       packets ? cpu * 1e6 / (double)packets : 0.0, enobufs, rerr, serr);
	bare_close(&b);
	return 0;
}
