/*
 * queue.h - one NFQUEUE queue on its own libmnl socket.
 *
 * Opened and configured by the main thread before the worker starts, then
 * used by that one worker only (docs/architecture.md §3).
 */
#ifndef NFQWALL_QUEUE_H
#define NFQWALL_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"

struct mnl_socket;

struct queue_config {
	uint16_t num;
	uint32_t maxlen;	/* packets the kernel may hold for us */
	uint32_t copy_range;	/* bytes of each packet copied to us */
	bool fail_open;		/* NFQA_CFG_F_FAIL_OPEN: a full queue accepts */
};

struct queue {
	struct mnl_socket *nl;
	int fd;
	unsigned portid;
	uint16_t num;
	bool ct_glue;		/* the kernel supports NFQA_CFG_F_CONNTRACK */
	uint32_t rcvbuf;	/* the receive buffer size obtained */
};

/*
 * queue_open - bind queue @c->num: copy range, queue length, GSO and
 * fail-open flags, a receive buffer that holds the whole queue,
 * NETLINK_NO_ENOBUFS and a receive timeout (so an idle worker still beats
 * its heartbeat). Returns 0 or -errno (-EBUSY: another program has it);
 * @why says what failed.
 */
int __must_check queue_open(struct queue *q, const struct queue_config *c, char *why,
			    size_t whylen);

/* queue_close - unbind and close. */
void queue_close(struct queue *q);

#endif /* NFQWALL_QUEUE_H */
