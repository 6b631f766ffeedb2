/*
 * judge.h - from a queued packet to a verdict and a packet mark.
 *
 * The verdict carries the fast path's mark bits (mark.h): an allowed flow
 * goes back to nfqwall's chain with NF_REPEAT and G|V in its packet mark, and
 * a rule there saves G into the connmark (control/daemon/fastpath.c), so the
 * flow's later packets are accepted in the kernel until the table changes.
 *
 * judge_packet runs in the worker threads, per packet, under the RCU read
 * lock the caller holds for the batch. No allocation, no syscalls.
 */
#ifndef NFQWALL_JUDGE_H
#define NFQWALL_JUDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "mark.h"
#include "pktkey.h"
#include "ruleset.h"

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
