/*
 * verdict.h - the shared vocabulary of decisions: stages, directions and
 * reasons, used by the compiled table, the reference evaluator, explain and
 * the verdict log.
 */
#ifndef NFQWALL_VERDICT_H
#define NFQWALL_VERDICT_H

enum stage {
	STAGE_UNTRACKED,		/* raw PREROUTING / OUTPUT: doNotTrack policy */
	STAGE_CONNTRACK,		/* established/related accept, invalid drop */
	STAGE_PREDNAT,			/* mangle PREROUTING: preDNAT policy */
	STAGE_NORMAL,			/* filter INPUT / OUTPUT: policy, then profiles */
	STAGE_FORWARD,			/* filter FORWARD: applyOnForward policy */
	STAGE_NONE,
};

enum dir {
	DIR_INGRESS,
	DIR_EGRESS,
};

enum reason {
	REASON_RULE,			/* a policy rule decided */
	REASON_END_OF_TIER,		/* no rule of an applicable tier matched: its defaultAction */
	REASON_PROFILE,			/* a profile rule decided */
	REASON_NO_PROFILE,		/* no profile decided: drop */
	REASON_FAILSAFE,		/* a failsafe port */
	REASON_NO_HEP,			/* no host endpoint governs the interface */
	REASON_NO_POLICY,		/* no policy applies: the stage lets it pass */
	REASON_CONNTRACK,		/* established or related */
	REASON_INVALID,			/* conntrack invalid */
	REASON_UNREADABLE,		/* no L4 header could be read (cut or malformed): drop */
	REASON_NREASONS,
};

/* stage_name / reason_name / dir_name - stable lowercase names (explain, logs, metrics). */
const char *stage_name(enum stage s);
const char *reason_name(enum reason r);
const char *dir_name(enum dir d);

#endif /* NFQWALL_VERDICT_H */
