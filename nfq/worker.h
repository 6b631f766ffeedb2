/*
 * worker.h - one worker thread per queue: receive a batch, judge it, send
 * the verdicts (docs/architecture.md §3).
 */
#ifndef NFQWALL_WORKER_H
#define NFQWALL_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "fjournal.h"
#include "judge.h"
#include "queue.h"
#include "stats.h"
#include "vlog.h"

#define WORKER_BATCH	64	/* packet messages per recvmmsg */
#define WORKER_MSGSIZE	2048	/* one message: headers-only copy plus attributes */

/*
 * The normal queues copy the first WORKER_COPY bytes of a packet: enough for
 * any IPv4 header with options and its L4 ports, and for IPv6 without a long
 * extension chain. An IPv6 packet whose L4 header lies past that is handed,
 * by an NF_QUEUE verdict, to the deep queue, which copies whole packets
 * (WORKER_DEEP_COPY) into fewer, larger buffers.
 */
#define WORKER_COPY		128
#define WORKER_DEEP_COPY	0xfff0	/* the kernel's maximum copy range, rounded down */
#define WORKER_DEEP_BATCH	8
#define WORKER_DEEP_MSGSIZE	(WORKER_DEEP_COPY + 1024)

struct worker_config {
	struct queue_config q;
	unsigned batch;			/* messages per recvmmsg (0: WORKER_BATCH) */
	size_t msgsize;			/* bytes per message (0: WORKER_MSGSIZE) */
	int deep_queue;			/* where a packet cut before its L4 header goes; -1: drop it */
	struct mark_layout ml;
	struct judge_opts jo;
	unsigned log_ring_order;	/* verdict-log ring of 2^order records */
	unsigned fj_ring_order;		/* flow-journal ring of 2^order records; 0: no journal */
};

struct worker {
	struct worker_config cfg;
	struct queue q;
	pthread_t thread;
	int stop;			/* set by worker_stop */
	bool started;
	struct worker_stats stats;
	struct vlog_ring ring;
	struct fj_ring fj;		/* the flow journal's ring (fj.q.v NULL: none) */
	unsigned batch;
	size_t msgsize;
	uint64_t now_s;			/* unix seconds of the packet being judged */
	uint64_t base_mono_ns;		/* CLOCK_MONOTONIC when base_real_us was read */
	uint64_t base_real_us;
	/* buffers, allocated by worker_open */
	struct mmsghdr *msgs;
	struct iovec *iov;
	char *rx;
	char *tx;
	struct pending_verdict {
		uint32_t id;
		uint32_t verdict;
		uint32_t mark;
		uint32_t set_mark;
	} *pend;
};

/* worker_open - allocate the buffers and open the queue. 0 or -errno (@why says). */
int __must_check worker_open(struct worker *w, const struct worker_config *c, char *why,
			     size_t whylen);

/* worker_start - start the thread. 0 or -errno. */
int __must_check worker_start(struct worker *w);

/* worker_request_stop - ask the thread to finish its batch and exit; does not wait. */
void worker_request_stop(struct worker *w);

/* worker_stop - ask the thread to finish its batch and exit, and join it. */
void worker_stop(struct worker *w);

/* worker_close - close the queue and free the buffers (after worker_stop). */
void worker_close(struct worker *w);

#endif /* NFQWALL_WORKER_H */
