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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "eval_int.h"
#include "json.h"

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
		struct step *s;

		if (r < n)
			s = eval_step(c, STEP_STAGED, "staged %s: would %s (%s[%zu] at %s:%d)",
				      p->name, action_name(rules[r].action),
				      c->dir == DIR_INGRESS ? "ingress" : "egress", r,
				      rules[r].loc.file ? rules[r].loc.file : "?", rules[r].loc.line);
		else
			s = eval_step(c, STEP_STAGED, "staged %s: no rule would match (end of tier)",
				      p->name);
		s->tier = p->tier;
		s->policy = p->name;
		s->rule = r < n ? (int)r : -1;
		s->loc = r < n ? rules[r].loc : p->loc;
	}
}

/*
 * Why does @p not apply to @h here (NULL: it applies)? @field receives the
 * field to blame. Asked of the policies of the stage, and in the forward
 * stage also of the normal policies without applyOnForward (their absence
 * there is what surprises people).
 */
static const char *
policy_skip_reason(const struct ectx *c, const struct policy *p, const struct hep *h,
		   const char **field, char *buf, size_t size)
{
	const char *dir = c->dir == DIR_INGRESS ? "ingress" : "egress";

	if (!policy_in_stage(p, c->stage)) {
		*field = "applyOnForward";
		return "not applyOnForward: it judges only traffic to and from the host, never "
		       "forwarded traffic";
	}
	if (!selector_match(p->sel, &h->labels)) {
		*field = "selector";
		if (snprintf(buf, size, "selector did not select the endpoint %s (selector: %s)",
			     h->name, *p->sel_text ? p->sel_text : "all()") >= (int)size)
			buf[json_utf8_cut(buf, size - 1, size - 2)] = '\0';
		return buf;
	}
	if (!(p->types & (c->dir == DIR_INGRESS ? TYPE_INGRESS : TYPE_EGRESS))) {
		*field = "types";
		snprintf(buf, size, "not applied to %s (types: %s)", dir,
			 (p->types & TYPE_INGRESS) ? "Ingress" :
			 (p->types & TYPE_EGRESS) ? "Egress" : "none");
		return buf;
	}
	return NULL;
}

/* Is @p one of the policies whose skipping is reported at this stage? */
static bool
policy_reported(const struct ectx *c, const struct policy *p)
{
	if (p->kind != KIND_GNP)
		return false;
	if (policy_in_stage(p, c->stage))
		return true;
	return c->stage == STAGE_FORWARD && policy_in_stage(p, STAGE_NORMAL);
}

/* Report a policy of the stage that does not apply to @h (reasons wanted only). */
static void
report_skipped(struct ectx *c, const struct policy *p, const struct hep *h)
{
	const char *field = NULL, *why;
	char buf[sizeof(((struct eval_miss *)0)->text)];
	size_t mark = c->why->n;
	struct eval_miss *m;
	struct step *s;

	why = policy_skip_reason(c, p, h, &field, buf, sizeof(buf));
	if (why == NULL)
		return;		/* it applies: not called so (eval_walk_tiers) */
	m = eval_miss_add(c, -1, &p->loc);
	if (m != NULL) {
		size_t len = strlen(why);

		snprintf(m->field, sizeof(m->field), "%s", field);
		if (len >= sizeof(m->text))	/* cut: never inside a UTF-8 character */
			len = json_utf8_cut(why, len, sizeof(m->text) - 1);
		memcpy(m->text, why, len);
		m->text[len] = '\0';
	}
	s = eval_step(c, STEP_POLICY_SKIPPED, "policy %s does not apply: %s", p->name, why);
	s->tier = p->tier;
	s->policy = p->name;
	s->loc = p->loc;
	eval_miss_attach(c, mark, s);
}

/* The rules of @p in order, until one decides or passes. */
static enum outcome
walk_policy(struct ectx *c, const struct policy *p, const char *tier, const struct pkt_key *k,
	    bool *passed)
{
	const char *dir = c->dir == DIR_INGRESS ? "ingress" : "egress";
	const struct rule *rules = c->dir == DIR_INGRESS ? p->ingress : p->egress;
	size_t nr = c->dir == DIR_INGRESS ? p->ningress : p->negress;
	size_t mark = c->why ? c->why->n : 0;
	struct step *s;

	for (size_t r = 0; r < nr; r++) {
		struct eval_miss tmp, *m;

		tmp.field[0] = tmp.text[0] = '\0';
		if (!eval_rule_match_why(c->env, &rules[r], k, c->why ? &tmp : NULL)) {
			m = eval_miss_add(c, (int)r, &rules[r].loc);
			if (m != NULL) {
				memcpy(m->field, tmp.field, strlen(tmp.field) + 1);
				memcpy(m->text, tmp.text, strlen(tmp.text) + 1);
			}
			continue;
		}
		s = eval_step(c, STEP_RULE, "%s %s[%zu] (%s:%d) matched: %s", p->name, dir, r,
			      rules[r].loc.file ? rules[r].loc.file : "?", rules[r].loc.line,
			      action_name(rules[r].action));
		s->tier = tier;
		s->policy = p->name;
		s->rule = (int)r;
		s->action = action_name(rules[r].action);
		s->loc = rules[r].loc;
		if (rules[r].action == ACT_LOG) {
			log_hit(c, tier, p->name, (int)r);
			continue;
		}
		eval_miss_attach(c, mark, s);
		if (rules[r].action == ACT_PASS) {
			*passed = true;
			return OUT_CONTINUE;
		}
		eval_decide(c, rules[r].action == ACT_ALLOW, REASON_RULE, tier, p->name, (int)r);
		return rules[r].action == ACT_ALLOW ? OUT_ALLOW : OUT_DENY;
	}
	if (nr == 0) {
		struct eval_miss *m = eval_miss_add(c, -1, &p->loc);

		if (m != NULL) {
			snprintf(m->field, sizeof(m->field), "%s", dir);
			snprintf(m->text, sizeof(m->text), "the policy has no %s rules", dir);
		}
	}
	s = eval_step(c, STEP_POLICY_NO_MATCH, "%s: no rule matched", p->name);
	s->tier = tier;
	s->policy = p->name;
	s->loc = p->loc;
	eval_miss_attach(c, mark, s);
	return OUT_CONTINUE;
}

/*
 * Walk the tiers of @h for the current stage and direction. When reasons
 * are wanted (c->why), the policies of the stage that do not apply are
 * walked too, each reported in its place with why; they change nothing.
 */
enum outcome
eval_walk_tiers(struct ectx *c, const struct hep *h, const struct pkt_key *k, bool *any_policy)
{
	const struct polset *ps = c->env->ps;
	unsigned want = c->dir == DIR_INGRESS ? TYPE_INGRESS : TYPE_EGRESS;
	const struct policy **pv = NULL;
	bool *applies = NULL;
	size_t n = 0, cap = 0, i = 0, napply = 0;
	enum outcome res = OUT_CONTINUE;

	for (size_t j = 0; j < ps->npolicies; j++) {
		const struct policy *p = ps->policies[j];
		bool ap = p->kind == KIND_GNP && policy_in_stage(p, c->stage) && (p->types & want) &&
			  selector_match(p->sel, &h->labels);

		if (ap || (c->why != NULL && policy_reported(c, p))) {
			if (ARRAY_PUSH_ROOM(pv, cap, n) < 0) {
				free(pv);
				return OUT_NOMEM;
			}
			pv[n++] = p;
			napply += ap;
		}
	}
	if (n > 1)
		qsort_r(pv, n, sizeof(*pv), cmp_policy, (void *)ps);
	*any_policy = napply > 0;
	if (n > 0) {
		applies = malloc(n * sizeof(*applies));
		if (applies == NULL) {
			free(pv);
			return OUT_NOMEM;
		}
	}
	for (size_t j = 0; j < n; j++)
		applies[j] = policy_in_stage(pv[j], c->stage) && (pv[j]->types & want) &&
			     selector_match(pv[j]->sel, &h->labels);

	while (i < n) {
		const char *tier = pv[i]->tier;
		struct tier_rank tr;
		size_t end = i, nap = 0;
		bool passed = false;

		while (end < n && strcmp(pv[end]->tier, tier) == 0)
			nap += applies[end++];
		tier_rank(ps, tier, &tr);
		/* Untracked and preDNAT tiers never default-deny (§1.3). */
		if (c->stage == STAGE_UNTRACKED || c->stage == STAGE_PREDNAT)
			tr.def = ACT_PASS;
		if (nap == 0) {
			/* only reported policies: the tier does not apply, no end of tier */
			eval_step(c, STEP_TIER, "tier %s: no policy of it applies here, skipped",
				  tier)->tier = tier;
			for (; i < end; i++)
				report_skipped(c, pv[i], h);
			continue;
		}
		eval_step(c, STEP_TIER, "tier %s", tier)->tier = tier;
		for (; i < end && !passed; i++) {
			if (!applies[i]) {
				report_skipped(c, pv[i], h);
				continue;
			}
			res = walk_policy(c, pv[i], tier, k, &passed);
			if (res != OUT_CONTINUE)
				goto out;
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
	free(applies);
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
