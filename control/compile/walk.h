/*
 * walk.h - a whole packet path through the compiled table.
 *
 * In the daemon the kernel chains the hooks (raw, conntrack, mangle, filter)
 * and each queued packet is judged at one hook. This walks the same hooks in
 * the same order for one packet, so explain and the differential tests can
 * compare the compiled table with the reference evaluator end to end.
 * Control thread only.
 */
#ifndef NFQWALL_WALK_H
#define NFQWALL_WALK_H

#include "eval.h"
#include "ruleset.h"

struct walk_result {
	struct decision final;
	struct log_hit logs[EVAL_MAX_LOGS];
	size_t nlogs;
};

/* walk_ruleset - decide @in with @rs; names in the result point into @rs. */
void walk_ruleset(const struct ruleset *rs, const struct eval_input *in, struct walk_result *out);

#endif /* NFQWALL_WALK_H */
