/*
 * vlog.h - verdict log: fixed-size records from the workers, JSON lines from
 * one logger thread (docs/operations.md).
 *
 * Each worker owns one single-producer/single-consumer ring; a full ring
 * drops the record and counts it, a worker never waits on logging. The
 * logger thread drains every ring, applies a per-rule token bucket (folded
 * lines are reported in the next line's "suppressed"), formats and writes.
 */
#ifndef NFQWALL_VLOG_H
#define NFQWALL_VLOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "compiler.h"
#include "pktkey.h"
#include "spsc.h"

enum vlog_action {
	VLOG_ALLOW,
	VLOG_DENY,
	VLOG_LOG,		/* a Log rule matched */
	VLOG_WOULD_DENY,	/* --audit */
	VLOG_STAGED_ALLOW,	/* the staged view would allow what is dropped */
	VLOG_STAGED_DENY,	/* the staged view would drop what is allowed */
};

/* What decided, when it was not a rule: printed in "rule". */
enum vlog_rule_kind {
	VLOG_RULE_INDEX,	/* "rule": <index> */
	VLOG_RULE_EOT,		/* "end-of-tier" */
	VLOG_RULE_PROFILE,	/* "profile" */
	VLOG_RULE_FAILSAFE,	/* "failsafe" */
	VLOG_RULE_SELF,		/* "self": nfqwall's own port */
	VLOG_RULE_DEFAULT,	/* "default" (no endpoint, no policy, no profile) */
	VLOG_RULE_UNREADABLE,	/* "l4-unreadable": dropped before any table (no L4 header) */
};

/*
 * Room for a name in a record, NUL included: Kubernetes object names are at
 * most 253 bytes, and so are policy names with their "<tier>." prefix (the
 * policy decoder rejects longer ones); tier and profile names longer than
 * 255 bytes are cut by vlog_rec_names. A record is 600 bytes, so a worker's
 * ring of 4096 records takes 2.3 MiB.
 */
#define VLOG_NAME_SIZE	256

struct vlog_rec {
	uint64_t ts_us;		/* CLOCK_REALTIME, microseconds */
	uint64_t gen;
	struct addr src;
	struct addr dst;
	uint32_t iif;
	uint32_t oif;
	int32_t rule;		/* with VLOG_RULE_INDEX */
	uint16_t sport;
	uint16_t dport;
	uint16_t len;
	uint16_t queue;
	uint8_t family;
	uint8_t proto;
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint8_t flags;		/* pkt_flags: ports/icmp valid */
	uint8_t action;		/* enum vlog_action */
	uint8_t stage;		/* enum stage */
	uint8_t dir;		/* enum dir */
	uint8_t rule_kind;	/* enum vlog_rule_kind */
	uint8_t pad[7];
	char tier[VLOG_NAME_SIZE];
	char policy[VLOG_NAME_SIZE];	/* policy or profile name */
};

struct vlog_ring {
	struct spsc_ring q;	/* of struct vlog_rec: the worker pushes, the logger pops */
};

/* vlog_rec_names - copy @tier and @policy (NULL: none) into @r. A name longer
 * than VLOG_NAME_SIZE - 1 bytes is cut between two UTF-8 characters and ends
 * with "\u2026" (an ellipsis), so a cut never leaves half a character and shows.
 * Worker side: no allocation. */
void vlog_rec_names(struct vlog_rec *r, const char *tier, const char *policy);

/* vlog_ring_init - a ring of 2^@order records. 0 or -ENOMEM. */
int __must_check vlog_ring_init(struct vlog_ring *r, unsigned order);

/* vlog_ring_free - release the records. */
void vlog_ring_free(struct vlog_ring *r);

/* vlog_push - worker side: copy @rec in; false (and dropped++) when full. */
bool vlog_push(struct vlog_ring *r, const struct vlog_rec *rec);

/* vlog_pop - logger side: take the oldest record; false when empty. */
bool vlog_pop(struct vlog_ring *r, struct vlog_rec *out);

struct vlog_config {
	const char *node;	/* "node" in every line */
	double rate;		/* lines per second per rule (token bucket), 0 = unlimited */
	double burst;		/* bucket size */
	FILE *out;		/* stdout or --log-file */
};

struct vlog_logger {
	struct vlog_config cfg;
	struct vlog_ring **rings;
	unsigned nrings;
	pthread_t thread;
	int stop;		/* set by vlog_logger_stop */
	uint64_t lines;		/* lines written */
	uint64_t suppressed;	/* lines folded by rate limiting */
	uint64_t heartbeat_ns;	/* CLOCK_MONOTONIC of its last pass */
	void *buckets;		/* private: the rate limiter's table */
};

/* vlog_logger_start - start the logger thread over @rings. 0 or -errno. */
int __must_check vlog_logger_start(struct vlog_logger *lg, const struct vlog_config *cfg,
				   struct vlog_ring **rings, unsigned nrings);

/* vlog_logger_stop - drain every ring, flush, join the thread. */
void vlog_logger_stop(struct vlog_logger *lg);

/* vlog_format - one record as a JSON line (with '\n') into @buf; returns its length
 * (snprintf semantics). @suppressed > 0 adds "suppressed". The line is valid JSON
 * in valid UTF-8 whatever bytes the names hold (json.h). Any thread. */
size_t vlog_format(const struct vlog_rec *rec, const char *node, uint64_t suppressed,
		   char *buf, size_t size);

#endif /* NFQWALL_VLOG_H */
