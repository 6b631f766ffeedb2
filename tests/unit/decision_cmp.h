/*
 * decision_cmp.h - whether the compiled table (walk_ruleset) and the
 * reference evaluator (eval_packet) decided a packet the same way: the
 * differential test and the packet fuzzer share this one definition of
 * "same". No cmocka: the fuzz targets include it too.
 */
#ifndef NFQWALL_TEST_DECISION_CMP_H
#define NFQWALL_TEST_DECISION_CMP_H

#include <stdbool.h>
#include <string.h>

#include "eval.h"
#include "walk.h"

static inline bool
str_same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Same verdict, stage and reason; same endpoint, tier, policy and rule where they matter. */
static inline bool
decision_same(const struct decision *a, const struct decision *b)
{
	bool named = a->reason == REASON_RULE || a->reason == REASON_END_OF_TIER ||
		     a->reason == REASON_PROFILE || a->reason == REASON_NO_PROFILE ||
		     a->reason == REASON_FAILSAFE;

	if (a->allow != b->allow || a->stage != b->stage || a->reason != b->reason)
		return false;
	if (a->stage != STAGE_CONNTRACK && a->reason != REASON_NO_POLICY && a->dir != b->dir)
		return false;
	if (named && !str_same(a->hep, b->hep))
		return false;
	return a->rule == b->rule && str_same(a->tier, b->tier) && str_same(a->policy, b->policy);
}

/* The same Log hits, in the same order. */
static inline bool
logs_same(const struct eval_result *r, const struct walk_result *w)
{
	if (r->nlogs != w->nlogs)
		return false;
	for (size_t i = 0; i < r->nlogs; i++)
		if (r->logs[i].rule != w->logs[i].rule || r->logs[i].stage != w->logs[i].stage ||
		    !str_same(r->logs[i].policy, w->logs[i].policy) ||
		    !str_same(r->logs[i].tier, w->logs[i].tier))
			return false;
	return true;
}

#endif /* NFQWALL_TEST_DECISION_CMP_H */
