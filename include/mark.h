/*
 * mark.h - the packet-mark and connmark layout of the connmark fast path:
 * the contract between the netfilter rules the daemon writes
 * (control/daemon/fastpath.c) and the verdicts the workers send
 * (nfq/judge.c).
 *
 * Both sides agree on the bits of one contiguous mark field (--mark-mask,
 * 13 bits at least; default 0x1fff, the bits Calico Felix, kube-proxy, the
 * CNI portmap plugin and Tailscale leave free: docs/coexistence.md). From
 * the top:
 *
 *   G  8 bits  generation: in the connmark, "this flow was judged by table G";
 *              in a verdict's packet mark, the table that judged it
 *   V  1 bit   a verdict from nfqwall: save G into the connmark and accept
 *   P  1 bit   the preDNAT stage allowed this packet (final for host ingress)
 *   E  1 bit   conntrack ESTABLISHED (set by a rule before the queue)
 *   R  1 bit   conntrack reply direction (set by a rule before the queue)
 *   U  1 bit   queued from the raw table (the untracked stage)
 *
 * The fast path: a packet whose connmark holds the current table's G (or
 * the failsafe G) is accepted by the first rule of nfqwall's chains and
 * never reaches a queue. A flow is judged once per table: when a new
 * generation is published, its old G no longer matches and the flow's next
 * packet is queued and judged again.
 *
 * This machine's kernel has no conntrack glue for NFQUEUE, so conntrack state
 * travels in E/R and the connmark is written by a rule that runs when the
 * verdict sends the packet back with NF_REPEAT and V set.
 *
 * Any thread; no allocation.
 */
#ifndef NFQWALL_MARK_H
#define NFQWALL_MARK_H

#include <stdint.h>

#include "compiler.h"

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

/* mark_gen_of - the generation held in @mark (0 when none). */
static inline unsigned
mark_gen_of(const struct mark_layout *ml, uint32_t mark)
{
	return (mark & ml->gen_mask) >> ml->gen_shift;
}

/*
 * mark_judged - the packet mark of a flow allowed for good by table @gen:
 * G and V set, E and R cleared, every other bit of @mark kept. Sent with
 * NF_REPEAT, it makes nfqwall's chain save G into the connmark and accept.
 */
static inline uint32_t
mark_judged(const struct mark_layout *ml, uint32_t mark, uint64_t gen)
{
	uint32_t keep = mark & ~(ml->gen_mask | ml->verdict | ml->est | ml->reply);

	return keep | mark_gen(ml, gen) | ml->verdict;
}

#endif /* NFQWALL_MARK_H */
