/*
 * eval.h - the reference evaluator: walks the policy model rule by rule.
 *
 * It is deliberately plain: no precomputation, no index, the semantics of
 * docs/semantics.md §1-§8 written out step by step. It is the oracle the
 * compiled classifier is tested against (tests/diff) and the engine behind
 * `nfqwall explain`, which prints its trace. Control thread only.
 */
#ifndef NFQWALL_EVAL_H
#define NFQWALL_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "hostenv.h"
#include "pktkey.h"
#include "verdict.h"

enum path {
	PATH_LOCAL_IN,			/* to this host: PREROUTING -> INPUT */
	PATH_LOCAL_OUT,			/* from this host: OUTPUT */
	PATH_FORWARD,			/* through this host: PREROUTING -> FORWARD */
};

/* The step that decided, or the last one when nothing dropped. */
struct decision {
	bool allow;
	enum stage stage;
	enum reason reason;
	enum dir dir;
	const char *hep;		/* the host endpoint, or NULL */
	const char *tier;		/* tier of the rule or end of tier, or NULL */
	const char *policy;		/* policy or profile name, or NULL */
	int rule;			/* rule index, -1 when not a rule */
};

/* A Log rule that matched on the way. */
struct log_hit {
	enum stage stage;
	enum dir dir;
	const char *tier;
	const char *policy;
	int rule;
};

#define EVAL_MAX_LOGS	64
#define EVAL_MAX_STEPS	256

enum step_kind {
	STEP_STAGE,			/* entering a stage: detail names the HEP or why skipped */
	STEP_TIER,			/* entering a tier */
	STEP_RULE,			/* a rule matched (Allow, Deny, Pass or Log) */
	STEP_POLICY_NO_MATCH,		/* no rule of a policy matched */
	STEP_END_OF_TIER,
	STEP_PROFILE,
	STEP_FAILSAFE,
	STEP_CONNTRACK,
	STEP_DNAT,
	STEP_STAGED,			/* a staged policy: what it would do */
	STEP_RESULT,			/* the outcome of a stage */
	STEP_POLICY_SKIPPED,		/* a policy of the stage that does not apply (why only) */
};

struct step {
	enum step_kind kind;
	enum stage stage;
	enum dir dir;
	const char *tier;
	const char *policy;
	int rule;
	const char *action;		/* "Allow", "Deny", "Pass", "Log", "accept", "drop", "continue" */
	struct srcloc loc;		/* the rule's or policy's file:line (file NULL: none) */
	char detail[640];		/* room for 253-byte names; cut between characters */
};

/*
 * Why a policy, or one of its rules, did not match, as the evaluation found
 * it (the first condition that failed). Recorded only when the caller asks
 * (eval_input.why): `nfqwall explain` prints them under the step they belong
 * to.
 */
struct eval_miss {
	size_t step;			/* index in eval_result.steps */
	int rule;			/* the rule's index, -1: the policy as a whole */
	struct srcloc loc;		/* the rule's or policy's file:line */
	char field[64];			/* "source.nets", "protocol", "selector", "types", ... */
	char text[320];			/* "203.0.113.7 not in 10.0.0.0/8" */
};

/* The caller's room for misses: @v holds @cap entries; eval_packet sets @n and @dropped. */
struct eval_why {
	struct eval_miss *v;
	size_t cap;
	size_t n;
	size_t dropped;			/* misses that did not fit, or whose step did not */
};

struct eval_input {
	struct pkt_key k;		/* iif/oif index env->ifaces */
	enum path path;
	bool dnat;			/* kube-proxy rewrote the destination after preDNAT */
	struct addr dnat_addr;
	bool dnat_port_set;
	uint16_t dnat_port;
	struct eval_why *why;		/* NULL, or where to say why policies and rules missed */
};

struct eval_result {
	struct decision final;
	struct log_hit logs[EVAL_MAX_LOGS];
	size_t nlogs;
	struct step steps[EVAL_MAX_STEPS];
	size_t nsteps;
};

/*
 * eval_packet - decide @in against @env, recording every step in @out.
 * Returns 0, or -ENOMEM when it could not finish (@out then decides
 * nothing). Not __must_check yet: bench/lookup.c ignores the result.
 */
int eval_packet(const struct hostenv *env, const struct eval_input *in, struct eval_result *out);

/* path_name - "local-in", "local-out", "forwarded". */
const char *path_name(enum path p);

#endif /* NFQWALL_EVAL_H */
