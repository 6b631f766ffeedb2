/*
 * eval_tiers.c - the reference evaluator's tier walk (see eval.h): the
 * policies that apply to an endpoint at a stage, in tier and policy order;
 * within each tier, rules in order until one decides or passes; the tier's
 * end (Deny unless its defaultAction is Pass; never in the untracked and
 * preDNAT stages); then the profiles. Control thread only.
 *
 * The compiler orders tiers too (compile_tiers.c). The two are written apart
 * on purpose, though they look alike: the evaluator is the oracle the
 * compiled table is tested against (tests/diff), and it would prove nothing
 * if it shared the compiler's ordering code.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "eval_int.h"

/* ---- ordering ------------------------------------------------------------------- */

struct tier_rank {
	int invalid;			/* referenced but no Tier object: after all valid tiers */
	int no_order;
	double order;
	const char *name;
	enum action def;
};

static void
tier_rank(const struct polset *ps, const char *name, struct tier_rank *t)
{
	const struct tier *obj = polset_tier(ps, name);

	memset(t, 0, sizeof(*t));
	t->name = name;
	t->def = ACT_DENY;
	if (obj != NULL) {
		t->no_order = !obj->has_order;
		t->order = obj->order;
		t->def = obj->default_action;
	} else if (strcmp(name, "default") == 0) {
		t->order = 1000000;
	} else {
		t->invalid = 1;
		t->no_order = 1;
	}
}

static int
cmp_tier(const struct polset *ps, const char *a, const char *b)
{
	struct tier_rank x, y;

	if (strcmp(a, b) == 0)
		return 0;
	tier_rank(ps, a, &x);
	tier_rank(ps, b, &y);
	if (x.invalid != y.invalid)
		return x.invalid - y.invalid;
	if (x.no_order != y.no_order)
		return x.no_order - y.no_order;
	if (x.order != y.order)
		return x.order < y.order ? -1 : 1;
	return strcmp(a, b);
}

/* qsort_r order of two policies (@ctx is the polset): tier, then policy order, then name. */
static int
cmp_policy(const void *pa, const void *pb, void *ctx)
{
	const struct polset *ps = ctx;
	const struct policy *a = *(const struct policy *const *)pa;
	const struct policy *b = *(const struct policy *const *)pb;
	int t = cmp_tier(ps, a->tier, b->tier);

	if (t != 0)
		return t;
	if (a->has_order != b->has_order)
		return a->has_order ? -1 : 1;
	if (a->has_order && a->order != b->order)
		return a->order < b->order ? -1 : 1;
	return strcmp(a->name, b->name);
}

/*
 * Does @p apply at stage @s? (The compiler asks the same in compile_tiers.c,
 * written apart on purpose: see the top of this file.)
 */
static bool
policy_in_stage(const struct policy *p, enum stage s)
{
	switch (s) {
	case STAGE_UNTRACKED:
		return p->do_not_track;
	case STAGE_PREDNAT:
		return p->pre_dnat && !p->do_not_track;
	case STAGE_NORMAL:
		return !p->pre_dnat && !p->do_not_track;
	case STAGE_FORWARD:
		return !p->pre_dnat && !p->do_not_track && p->apply_on_forward;
	default:
		return false;
	}
}

static void
log_hit(struct ectx *c, const char *tier, const char *policy, int rule)
{
	struct eval_result *o = c->out;

	if (o->nlogs == EVAL_MAX_LOGS)
		return;
	o->logs[o->nlogs++] = (struct log_hit){ c->stage, c->dir, tier, policy, rule };
}

void
eval_staged(struct ectx *c, const struct hep *h, const struct pkt_key *k)
{
	unsigned want = c->dir == DIR_INGRESS ? TYPE_INGRESS : TYPE_EGRESS;

	for (size_t i = 0; i < c->env->ps->npolicies; i++) {
		const struct policy *p = c->env->ps->policies[i];
		const struct rule *rules = c->dir == DIR_INGRESS ? p->ingress : p->egress;
		size_t n = c->dir == DIR_INGRESS ? p->ningress : p->negress;
		size_t r;

		if (p->kind != KIND_SGNP || !policy_in_stage(p, c->stage) || !(p->types & want) ||
		    !selector_match(p->sel, &h->labels))
			continue;
		for (r = 0; r < n; r++)
			if (rules[r].action != ACT_LOG && eval_rule_match(c->env, &rules[r], k))
				break;
		struct step *s = eval_step(c, STEP_STAGED, r < n ? "staged: would %s (rule %zu)" :
						       "staged: no rule would match (end of tier)",
					  r < n ? action_name(rules[r].action) : "", r);
		s->tier = p->tier;
		s->policy = p->name;
		s->rule = r < n ? (int)r : -1;
	}
}

/* Walk the tiers of @h for the current stage and direction. */
enum outcome
eval_walk_tiers(struct ectx *c, const struct hep *h, const struct pkt_key *k, bool *any_policy)
{
	const struct polset *ps = c->env->ps;
	unsigned want = c->dir == DIR_INGRESS ? TYPE_INGRESS : TYPE_EGRESS;
	const struct policy **pv = NULL;
	size_t n = 0, cap = 0, i = 0;
	enum outcome res = OUT_CONTINUE;

	for (size_t j = 0; j < ps->npolicies; j++) {
		const struct policy *p = ps->policies[j];

		if (p->kind == KIND_GNP && policy_in_stage(p, c->stage) && (p->types & want) &&
		    selector_match(p->sel, &h->labels)) {
			if (ARRAY_PUSH_ROOM(pv, cap, n) < 0) {
				free(pv);
				return OUT_NOMEM;
			}
			pv[n++] = p;
		}
	}
	if (n > 1)
		qsort_r(pv, n, sizeof(*pv), cmp_policy, (void *)ps);
	*any_policy = n > 0;

	while (i < n) {
		const char *tier = pv[i]->tier;
		struct tier_rank tr;
		size_t end = i;
		bool passed = false;

		while (end < n && strcmp(pv[end]->tier, tier) == 0)
			end++;
		tier_rank(ps, tier, &tr);
		/* Untracked and preDNAT tiers never default-deny (§1.3). */
		if (c->stage == STAGE_UNTRACKED || c->stage == STAGE_PREDNAT)
			tr.def = ACT_PASS;
		eval_step(c, STEP_TIER, "tier %s", tier)->tier = tier;
		for (; i < end && !passed; i++) {
			const struct policy *p = pv[i];
			const struct rule *rules = c->dir == DIR_INGRESS ? p->ingress : p->egress;
			size_t nr = c->dir == DIR_INGRESS ? p->ningress : p->negress;
			bool matched = false;

			for (size_t r = 0; r < nr; r++) {
				struct step *s;

				if (!eval_rule_match(c->env, &rules[r], k))
					continue;
				s = eval_step(c, STEP_RULE, "%s rule %zu matched: %s", p->name, r,
					     action_name(rules[r].action));
				s->tier = tier;
				s->policy = p->name;
				s->rule = (int)r;
				s->action = action_name(rules[r].action);
				if (rules[r].action == ACT_LOG) {
					log_hit(c, tier, p->name, (int)r);
					continue;
				}
				matched = true;
				if (rules[r].action == ACT_PASS) {
					passed = true;
					break;
				}
				eval_decide(c, rules[r].action == ACT_ALLOW, REASON_RULE, tier, p->name,
				       (int)r);
				res = rules[r].action == ACT_ALLOW ? OUT_ALLOW : OUT_DENY;
				goto out;
			}
			if (!matched) {
				struct step *s = eval_step(c, STEP_POLICY_NO_MATCH,
							  "%s: no rule matched", p->name);

				s->tier = tier;
				s->policy = p->name;
			}
		}
		i = end;
		if (passed)
			continue;
		if (tr.def == ACT_DENY) {
			struct step *s = eval_step(c, STEP_END_OF_TIER, "end of tier %s: Deny", tier);

			s->tier = tier;
			s->action = "Deny";
			eval_decide(c, false, REASON_END_OF_TIER, tier, NULL, -1);
			res = OUT_DENY;
			goto out;
		}
		eval_step(c, STEP_END_OF_TIER, "end of tier %s: Pass", tier)->tier = tier;
	}
out:
	free(pv);
	return res;
}

enum outcome
eval_walk_profiles(struct ectx *c, const struct hep *h)
{
	for (size_t i = 0; i < h->nprofiles; i++) {
		const char *name = h->profiles[i];
		bool allow = strcmp(name, PROFILE_DEFAULT_ALLOW) == 0;
		struct step *s;

		/* The built-in default-allow profile allows; an unknown profile denies. */
		s = eval_step(c, STEP_PROFILE, "profile %s: %s%s", name, allow ? "Allow" : "Deny",
			     allow ? "" : " (unknown profile: deny-all)");
		s->policy = name;
		s->rule = 0;
		s->action = allow ? "Allow" : "Deny";
		eval_decide(c, allow, REASON_PROFILE, NULL, name, 0);
		return allow ? OUT_ALLOW : OUT_DENY;
	}
	eval_step(c, STEP_PROFILE, "no profile decided: Deny")->action = "Deny";
	eval_decide(c, false, REASON_NO_PROFILE, NULL, NULL, -1);
	return OUT_DENY;
}
