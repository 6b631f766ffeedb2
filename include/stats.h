/*
 * stats.h - per-worker counters, written by one worker thread and read by the
 * HTTP thread for /metrics and /livez. Each field is written with relaxed
 * atomic stores by its owner only; readers load them relaxed. No locks.
 */
#ifndef NFQWALL_STATS_H
#define NFQWALL_STATS_H

#include <stdint.h>

#include "verdict.h"

/* Upper bounds (ns) of the per-packet decision-time histogram buckets; +Inf last. */
#define STATS_LAT_BUCKETS 12
static const uint64_t stats_lat_bounds[STATS_LAT_BUCKETS - 1] = {
	50, 100, 200, 500, 1000, 2000, 5000, 10000, 50000, 100000, 1000000,
};

enum stats_verdict {
	SV_ACCEPT,		/* accepted (and the flow remembered, or passed on) */
	SV_DROP,
	SV_WOULD_DROP,		/* audit mode */
	SV_NVERDICTS,
};

struct worker_stats {
	uint64_t packets;		/* messages handled */
	uint64_t batches;		/* receive calls that returned packets */
	uint64_t by_stage[STAGE_NONE + 1][SV_NVERDICTS];
	uint64_t rejudged;		/* established flows judged again after a table change */
	uint64_t malformed;		/* not even an IP header: failure verdict */
	uint64_t unreadable;		/* no readable L4 header (cut, malformed chain): dropped */
	uint64_t deep_requeued;		/* L4 header past the copy range: sent to the deep queue */
	uint64_t enobufs;		/* the socket overflowed: the kernel dropped messages */
	uint64_t recv_errors;
	uint64_t send_errors;
	uint64_t log_dropped;		/* verdict-log records dropped: ring full */
	uint64_t staged_differs[2];	/* the staged view would [0] allow a drop, [1] deny */
	uint64_t lat_count;
	uint64_t lat_sum_ns;
	uint64_t lat_bucket[STATS_LAT_BUCKETS];
	uint64_t heartbeat_ns;		/* CLOCK_MONOTONIC of the last loop iteration */
	uint64_t gen;			/* generation of the table used last */
	uint16_t queue;
	uint8_t running;
	uint8_t pad[5];
};

#define STAT_ADD(field, n) __atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)
#define STAT_SET(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define STAT_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

#endif /* NFQWALL_STATS_H */
