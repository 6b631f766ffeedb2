/*
 * judge.h - from a queued packet to a verdict and a packet mark.
 *
 * The kernel rules (control/iptables.c) and the workers agree on the bits of
 * one contiguous mark field (--mark-mask, 13 bits at least; default
 * 0xfff80000). From the top:
 *
 *   G  8 bits  generation: in the connmark, "this flow was judged by table G";
 *              in a verdict's packet mark, the table that judged it
 *   V  1 bit   a verdict from nfqwall: save G into the connmark and accept
 *   P  1 bit   the preDNAT stage allowed this packet (final for host ingress)
 *   E  1 bit   conntrack ESTABLISHED (set by a rule before the queue)
 *   R  1 bit   conntrack reply direction (set by a rule before the queue)
 *   U  1 bit   queued from the raw table (the untracked stage)
 *
 * This machine's kernel has no conntrack glue for NFQUEUE, so conntrack state
 * travels in E/R and the connmark is written by a rule that runs when the
 * verdict sends the packet back with NF_REPEAT and V set (DESIGN.md §2).
 *
 * judge_packet runs in the worker threads, per packet, under the RCU read
 * lock the caller holds for the batch. No allocation, no syscalls.
 */
#ifndef NFQWALL_JUDGE_H
#define NFQWALL_JUDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "pktkey.h"
#include "ruleset.h"

struct mark_layout {
	uint32_t mask;		/* every bit nfqwall owns */
	uint32_t gen_mask;	/* G */
	uint32_t gen_shift;
	uint32_t verdict;	/* V */
	uint32_t prednat;	/* P */
	uint32_t est;		/* E */
	uint32_t reply;		/* R */
	uint32_t raw;		/* U */
};

/* mark_layout_init - lay the bits out in @mask (contiguous, at least 13 bits).
 * Returns 0 or -EINVAL. */
int __must_check mark_layout_init(struct mark_layout *ml, uint32_t mask);

/* Generations run 1..254; G = 255 in the connmark marks a failsafe flow, accepted
 * in the kernel whatever the table (set by the failsafe rules). */
#define MARK_GEN_FAILSAFE	255
#define MARK_GEN_MAX		254

/* mark_gen - the mark bits of generation @gen (1..255). */
static inline uint32_t
mark_gen(const struct mark_layout *ml, uint64_t gen)
{
	return ((uint32_t)gen << ml->gen_shift) & ml->gen_mask;
}

/* Netfilter hook numbers, as NFQA_PACKET_HDR reports them. */
enum judge_hook {
	JHOOK_PRE_ROUTING = 0,
	JHOOK_LOCAL_IN = 1,
	JHOOK_FORWARD = 2,
	JHOOK_LOCAL_OUT = 3,
	JHOOK_POST_ROUTING = 4,
};

enum judge_verdict {
	JV_DROP = 0,		/* NF_DROP */
	JV_ACCEPT = 1,		/* NF_ACCEPT, mark unchanged */
	JV_REPEAT = 4,		/* NF_REPEAT with a new mark: back into nfqwall's chain */
};

struct judge_result {
	uint8_t verdict;	/* enum judge_verdict */
	uint8_t stage;		/* enum stage of the deciding lookup */
	uint8_t logged;		/* deny, or Log entries matched: worth a log line */
	uint8_t rejudged;	/* an established flow judged again after a table change */
	uint8_t would_deny;	/* audit mode: this packet would have been dropped */
	uint8_t pad[3];
	uint32_t mark;		/* the packet mark to set with JV_REPEAT */
	struct rs_verdict rv;	/* the deciding lookup */
};

struct judge_opts {
	bool audit;		/* evaluate, but accept everything (would-deny is logged) */
	bool log_allowed;	/* log allows too */
};

/* The loopback interface: local-to-local traffic leaves by it and comes back in. */
#define JUDGE_LOOPBACK_IFINDEX 1

/*
 * judge_packet - decide packet @k (iif/oif set; ct fields ignored: they come
 * from @mark) queued at @hook with packet mark @mark, with table @rs.
 */
void judge_packet(const struct ruleset *rs, const struct mark_layout *ml,
		  const struct judge_opts *o, unsigned hook, uint32_t mark, struct pkt_key *k,
		  struct judge_result *r);

#endif /* NFQWALL_JUDGE_H */
