/*
 * verdict.c - names of stages, directions and reasons (any thread).
 */
#include "compiler.h"
#include "verdict.h"

const char *
stage_name(enum stage s)
{
	static const char *const names[] = {
		[STAGE_UNTRACKED] = "untracked", [STAGE_CONNTRACK] = "conntrack",
		[STAGE_PREDNAT] = "prednat", [STAGE_NORMAL] = "normal",
		[STAGE_FORWARD] = "forward", [STAGE_NONE] = "none",
	};

	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "?";
}

const char *
reason_name(enum reason r)
{
	static const char *const names[] = {
		[REASON_RULE] = "rule", [REASON_END_OF_TIER] = "end-of-tier",
		[REASON_PROFILE] = "profile", [REASON_NO_PROFILE] = "no-profile-matched",
		[REASON_FAILSAFE] = "failsafe", [REASON_NO_HEP] = "no-host-endpoint",
		[REASON_NO_POLICY] = "no-policy", [REASON_CONNTRACK] = "conntrack",
		[REASON_INVALID] = "conntrack-invalid",
		[REASON_UNREADABLE] = "l4-unreadable",
	};

	return (unsigned)r < ARRAY_SIZE(names) ? names[r] : "?";
}

const char *
dir_name(enum dir d)
{
	return d == DIR_INGRESS ? "ingress" : "egress";
}
