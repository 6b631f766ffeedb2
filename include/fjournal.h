/*
 * fjournal.h - the flow journal: the distinct flows the daemon judged, on
 * disk as versioned JSON lines (docs/flow-journal.md) and at /flows.
 *
 * Three parts, three threads:
 *   - the worker (fj_note): after judging a packet, copy a fixed-size record
 *     into the worker's own single-producer ring; a full ring drops the
 *     record and counts it. No allocation, no lock, no syscall.
 *   - the journal thread (fj_journal_start): every FJ_DRAIN_MS drains every
 *     ring into one table of distinct flows (at most max_flows entries; a new
 *     flow that finds it full is dropped and counted), and every flush_ms
 *     appends one line per flow seen since the last flush to the file,
 *     rotating it to FILE.1 before it would pass max_bytes.
 *   - any reader of /flows (fj_snapshot_get): one shared, immutable snapshot
 *     of the table, rebuilt at most every FJ_SNAP_TTL_MS.
 */
#ifndef NFQWALL_FJOURNAL_H
#define NFQWALL_FJOURNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spsc.h"
#include "compiler.h"
#include "judge.h"
#include "pktkey.h"
#include "vlog.h"

#define FJ_VERSION		1	/* "v" of every line */
#define FJ_DRAIN_MS		100	/* rings drained this often */
#define FJ_SNAP_TTL_MS		10000	/* a /flows snapshot is reused this long */
#define FJ_SNAP_MAX		(8u << 20)	/* bytes of one /flows snapshot, at most */
#define FJ_LINE_MAX		8192	/* one line, at most: two 255-byte names all escaped, and a node name */

/* The path of the flow as `nfqwall explain --path` and replay take it. */
enum fj_path {
	FJ_PATH_LOCAL_IN,
	FJ_PATH_LOCAL_OUT,
	FJ_PATH_FORWARD,
};

#define FJ_DIR_NONE	0xff	/* no rule decided: no direction */

/* One judged packet, worker -> journal thread. The key is every field but
 * ts_us and sport (sport is kept from the first packet of the flow). */
struct fj_rec {
	uint64_t ts_us;		/* CLOCK_REALTIME */
	struct addr src;	/* the flow's original direction (a reply judged */
	struct addr dst;	/* again is turned around, as judge.c does) */
	uint32_t iif;
	uint32_t oif;
	int32_t rule;		/* with VLOG_RULE_INDEX */
	uint16_t sport;
	uint16_t dport;
	uint8_t family;
	uint8_t proto;
	uint8_t flags;		/* PKT_F_PORTS / PKT_F_ICMP */
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint8_t hook;		/* enum judge_hook the packet was queued at */
	uint8_t path;		/* enum fj_path */
	uint8_t dir;		/* enum dir of the deciding entry, or FJ_DIR_NONE */
	uint8_t deny;		/* 1: denied (or would be, under --audit) */
	uint8_t stage;		/* enum stage of the deciding lookup */
	uint8_t rule_kind;	/* enum vlog_rule_kind */
	uint8_t pad[5];
	char tier[VLOG_NAME_SIZE];
	char policy[VLOG_NAME_SIZE];
};

struct fj_ring {
	struct spsc_ring q;	/* of struct fj_rec: the worker pushes, the journal thread pops */
};

/* fj_ring_init - a ring of 2^@order records (order <= 20). 0, -EINVAL or -ENOMEM. */
int __must_check fj_ring_init(struct fj_ring *r, unsigned order);

/* fj_ring_free - release the records (a zeroed ring is fine). */
void fj_ring_free(struct fj_ring *r);

/* fj_push - producer side: copy @rec in; false (and dropped++) when full. */
bool fj_push(struct fj_ring *r, const struct fj_rec *rec);

/* fj_pop - consumer side: take the oldest record; false when empty. */
bool fj_pop(struct fj_ring *r, struct fj_rec *out);

/*
 * fj_note - the worker's call after judge_packet: push what decided @k
 * (already turned to its original direction by the judge) into @r. @hook,
 * @raw (the packet came from raw PREROUTING/OUTPUT) and @reply (a reply
 * judged again) say where it was queued. Packets nothing decided yet (a
 * preDNAT or untracked lookup that let them go on) are not noted: the hook
 * that decides notes them. Worker side, under the read lock that keeps @rs.
 */
void fj_note(struct fj_ring *r, const struct ruleset *rs, const struct pkt_key *k,
	     unsigned hook, bool raw, bool reply, const struct judge_result *jr, uint64_t ts_us);

/* One distinct flow. */
struct fj_entry {
	struct fj_rec r;	/* the key; ts_us and sport of the first packet */
	uint64_t hash;
	uint64_t count;		/* packets noted since the entry was made */
	uint64_t first_us;
	uint64_t last_us;
	uint64_t pending;	/* packets noted since the last line written for it */
	uint64_t pfirst_us;	/* the first of those */
};

/* The distinct flows: an array of at most @max entries and an open-addressed index. */
struct fj_table {
	struct fj_entry *e;
	uint32_t n;
	uint32_t max;
	uint32_t *idx;		/* entry number + 1; 0 = free */
	uint32_t mask;
	uint64_t dropped;	/* new flows refused because the table was full */
};

/* fj_table_init - room for @max (1..2^24) flows. 0, -EINVAL or -ENOMEM. */
int __must_check fj_table_init(struct fj_table *t, uint32_t max);

/* fj_table_free - release (a zeroed table is fine). */
void fj_table_free(struct fj_table *t);

/* fj_table_add - count @rec in its flow, making the flow when new. 0, or
 * -ENOSPC when it is new and the table is full (dropped++). */
int fj_table_add(struct fj_table *t, const struct fj_rec *rec);

/* fj_table_prune - forget the flows with nothing pending (their lines are
 * written): the journal thread's answer to a full table. Returns how many. */
uint32_t fj_table_prune(struct fj_table *t);

/*
 * fj_format - the JSON line of @e (with '\n') into @buf; @pending: the packets
 * since its last line (count pending, first pfirst_us), else all of them.
 * @iname_in/@iname_out: interface names, NULL for none. Returns the length
 * (snprintf semantics: a result >= @size means it was cut). Any thread.
 */
size_t fj_format(const struct fj_entry *e, const char *node, const char *iname_in,
		 const char *iname_out, bool pending, char *buf, size_t size);

/* fj_path_name - "local-in", "local-out", "forwarded". */
const char *fj_path_name(unsigned path);

/* fj_hook_name - "prerouting", "input", "forward", "output", "postrouting". */
const char *fj_hook_name(unsigned hook);

struct fj_config {
	const char *path;	/* the journal file; FILE.1 is the rotated one */
	const char *node;	/* "node" in every line */
	uint64_t max_bytes;	/* one file, at most (the two take twice that) */
	uint32_t max_flows;	/* distinct flows held in memory */
	unsigned flush_ms;	/* lines are appended this often (and at stop) */
};

/* A /flows snapshot: shared by every reader, freed by the last fj_snapshot_put. */
struct fj_snap {
	char *buf;
	size_t len;
	uint64_t made_ns;	/* CLOCK_MONOTONIC */
	uint32_t flows;		/* lines in buf */
	uint32_t omitted;	/* flows left out: buf would have passed FJ_SNAP_MAX */
	int refs;		/* under fj_journal.lock */
	struct fj_journal *j;
};

struct fj_journal {
	struct fj_config cfg;
	struct fj_ring **rings;
	unsigned nrings;
	pthread_t thread;
	bool started;
	int stop;
	pthread_mutex_t lock;	/* the table, the snapshot cache and refs */
	pthread_mutex_t wmu;	/* the timed wait, and stop */
	pthread_cond_t wcv;
	struct fj_table tab;
	struct fj_snap *snap;	/* the cached snapshot, or NULL */
	void *file;		/* FILE * of the journal */
	uint64_t fsize;
	/* counters, relaxed atomics (metrics) */
	uint64_t entries;	/* distinct flows held now */
	uint64_t lines;		/* lines written */
	uint64_t bytes;		/* bytes written */
	uint64_t flushes;
	uint64_t rotations;
	uint64_t write_errors;
	uint64_t table_dropped;	/* flows refused: the table was full */
	uint64_t pruned;	/* flows forgotten after their lines were written */
	uint64_t heartbeat_ns;	/* CLOCK_MONOTONIC of its last pass */
	uint64_t snaps;		/* /flows snapshots built */
};

/*
 * fj_journal_start - open @cfg->path (append; a rotated FILE.1 stays), size
 * the table and start the journal thread over @rings (one per worker; the
 * array is kept, the caller frees it after fj_journal_stop). 0 or -errno,
 * with the reason in @why.
 */
int __must_check fj_journal_start(struct fj_journal *j, const struct fj_config *cfg,
				  struct fj_ring **rings, unsigned nrings, char *why, size_t whylen);

/* fj_journal_stop - drain the rings, write what is pending, close, join. Safe
 * on a journal that never started (zeroed). */
void fj_journal_stop(struct fj_journal *j);

/* fj_ring_drops - records lost to full rings, over every ring. */
uint64_t fj_ring_drops(const struct fj_journal *j);

/* fj_snapshot_get - the current snapshot (shared; built when older than
 * FJ_SNAP_TTL_MS), or NULL out of memory. Release with fj_snapshot_put. */
struct fj_snap *fj_snapshot_get(struct fj_journal *j);

/* fj_snapshot_put - drop a reference from fj_snapshot_get. */
void fj_snapshot_put(struct fj_snap *s);

#endif /* NFQWALL_FJOURNAL_H */
