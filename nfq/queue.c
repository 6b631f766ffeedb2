/*
 * queue.c - binding and configuring one NFQUEUE queue with libmnl and the
 * nfq_nlmsg_* helpers of libnetfilter_queue. Main thread, at start and stop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "queue.h"

/* One config message or ACK; MNL_SOCKET_BUFFER_SIZE is not a constant. */
#define QUEUE_MSGBUF 8192

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Send one config message with NLM_F_ACK and wait for the kernel's answer. */
static int
queue_config_msg(struct queue *q, struct nlmsghdr *nlh)
{
	char buf[QUEUE_MSGBUF];
	uint32_t seq = (uint32_t)time(NULL) ^ (uint32_t)q->num << 16;
	ssize_t got;
	int n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++seq;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		got = mnl_socket_recvfrom(q->nl, buf, sizeof(buf));
		if (got < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		n = (int)got;
		/* packets may already arrive: only the ACK (an NLMSG_ERROR) matters */
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; mnl_nlmsg_ok(h, n);
		     h = mnl_nlmsg_next(h, &n)) {
			if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == seq) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

				return e->error;
			}
		}
	}
}

static int
queue_set_flags(struct queue *q, uint32_t flags, uint32_t mask)
{
	char buf[QUEUE_MSGBUF];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->num);

	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
	return queue_config_msg(q, nlh);
}

int
queue_open(struct queue *q, const struct queue_config *c, char *why, size_t whylen)
{
	char buf[QUEUE_MSGBUF];
	struct nlmsghdr *nlh;
	struct timeval tv = { 0, 500000 };
	int one = 1, rcv, err;
	socklen_t len = sizeof(rcv);

	memset(q, 0, sizeof(*q));
	q->num = c->num;
	q->fd = -1;
	q->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (q->nl == NULL) {
		err = -errno;
		snprintf(why, whylen, "netlink socket: %s", strerror(errno));
		return err;
	}
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		snprintf(why, whylen, "netlink bind: %s", strerror(errno));
		goto out_close;
	}
	q->portid = mnl_socket_get_portid(q->nl);
	q->fd = mnl_socket_get_fd(q->nl);
	/* A headers-only message costs about 1 KiB of buffer: hold the whole queue. */
	rcv = (int)(c->maxlen * 1024 + 65536);
	if (setsockopt(q->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		(void)setsockopt(q->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (getsockopt(q->fd, SOL_SOCKET, SO_RCVBUF, &rcv, &len) == 0)
		q->rcvbuf = (uint32_t)rcv;
	(void)setsockopt(q->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	setsockopt(q->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	err = queue_config_msg(q, nlh);
	if (err < 0) {
		snprintf(why, whylen, "bind queue %u: %s%s", q->num, strerror(-err),
			 err == -EBUSY ? " (another program owns this queue)" : "");
		goto out_close;
	}
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)c->copy_range);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, c->maxlen);
	err = queue_config_msg(q, nlh);
	if (err < 0) {
		snprintf(why, whylen, "queue %u parameters: %s", q->num, strerror(-err));
		goto out_unbind;
	}
	err = queue_set_flags(q, NFQA_CFG_F_GSO | (c->fail_open ? NFQA_CFG_F_FAIL_OPEN : 0),
			      NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN);
	if (err < 0) {
		snprintf(why, whylen, "queue %u flags: %s", q->num, strerror(-err));
		goto out_unbind;
	}
	/* Detect the conntrack glue; nfqwall works without it (packet-mark bits). */
	q->ct_glue = queue_set_flags(q, NFQA_CFG_F_CONNTRACK, NFQA_CFG_F_CONNTRACK) == 0;
	if (q->ct_glue)
		(void)queue_set_flags(q, 0, NFQA_CFG_F_CONNTRACK);
	return 0;
out_unbind:
	queue_close(q);
	return err;
out_close:
	mnl_socket_close(q->nl);
	q->nl = NULL;
	return err;
}

void
queue_close(struct queue *q)
{
	char buf[QUEUE_MSGBUF];
	struct nlmsghdr *nlh;

	if (q->nl == NULL)
		return;
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
	(void)mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len);
	mnl_socket_close(q->nl);
	q->nl = NULL;
	q->fd = -1;
}
