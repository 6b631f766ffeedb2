/*
 * eval_int.h - what the files of the reference evaluator share (private to
 * control/compile/eval*.c): eval.c walks a packet's path stage by stage and
 * matches rules; eval_tiers.c orders the policies and walks the tiers and
 * profiles of one stage on one endpoint. Control thread only.
 */
#ifndef NFQWALL_EVAL_INT_H
#define NFQWALL_EVAL_INT_H

#include <stdbool.h>

#include "compiler.h"
#include "eval.h"

/* The state of one evaluation: where the walk is, and where it writes. */
struct ectx {
	const struct hostenv *env;
	struct eval_result *out;
	enum stage stage;
	enum dir dir;
	const char *hep;
	struct eval_why *why;		/* NULL: no reasons wanted */
};

/* What one stage on one endpoint decides. */
enum outcome {
	OUT_CONTINUE,			/* no verdict from this stage */
	OUT_ALLOW,
	OUT_DENY,
	OUT_NOMEM,			/* out of memory: no verdict at all */
};

/* eval_step - record a step of the trace (dropped past EVAL_MAX_STEPS, never NULL). */
struct step *eval_step(struct ectx *c, enum step_kind kind, const char *fmt, ...) __printf(3, 4);

/* eval_decide - record the final decision, made at the current stage and direction. */
void eval_decide(struct ectx *c, bool allow, enum reason reason, const char *tier,
		 const char *policy, int rule);

/* eval_rule_match - does rule @r match @k (every condition, named ports exactly)? */
bool eval_rule_match(const struct hostenv *env, const struct rule *r, const struct pkt_key *k);

/*
 * eval_rule_match_why - eval_rule_match, and when it does not match and @m
 * is not NULL, the first condition that failed in @m->field and @m->text.
 */
bool eval_rule_match_why(const struct hostenv *env, const struct rule *r,
			 const struct pkt_key *k, struct eval_miss *m);

/*
 * eval_miss_add - room for one more miss of the current policy (NULL when
 * no reasons are wanted or the room is full); eval_miss_attach then points
 * the misses from @mark on at the step that ends the policy.
 */
struct eval_miss *eval_miss_add(struct ectx *c, int rule, const struct srcloc *loc);
void eval_miss_attach(struct ectx *c, size_t mark, const struct step *s);

/*
 * eval_walk_tiers - the tiers of @h for the current stage and direction;
 * *@any_policy says whether some policy applied at all.
 */
enum outcome eval_walk_tiers(struct ectx *c, const struct hep *h, const struct pkt_key *k,
			     bool *any_policy);

/* eval_walk_profiles - the profiles of @h (normal stage): the first one decides. */
enum outcome eval_walk_profiles(struct ectx *c, const struct hep *h);

/* eval_staged - what each staged policy that selects @h would do (trace only). */
void eval_staged(struct ectx *c, const struct hep *h, const struct pkt_key *k);

#endif /* NFQWALL_EVAL_INT_H */
