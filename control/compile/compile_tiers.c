/*
 * compile_tiers.c - the order of a chain's entries: the enforced policies
 * sorted by tier and policy order, each tier's rules then its end (Deny
 * unless the tier's defaultAction is Pass; never in the untracked and
 * preDNAT stages), Pass entries pointing past their tier, and the profiles
 * of the normal stage. Control thread only.
 *
 * The reference evaluator walks the tiers too (eval_tiers.c). The two are
 * written apart on purpose: the evaluator is the oracle the compiled table
 * is tested against, so it shares no ordering code with the compiler.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "compile_int.h"

/* ---- policy order --------------------------------------------------------------------- */

struct tkey {
	int invalid;
	int no_order;
	double order;
};

static struct tkey
tier_key(const struct polset *ps, const char *name)
{
	const struct tier *t = polset_tier(ps, name);
	struct tkey k = { 0, 0, 0 };

	if (t != NULL) {
		k.no_order = !t->has_order;
		k.order = t->order;
	} else if (strcmp(name, "default") == 0) {
		k.order = 1000000;	/* the built-in default tier */
	} else {
		k.invalid = 1;		/* referenced, never defined: after every valid tier */
		k.no_order = 1;
	}
	return k;
}

static enum action
tier_default(const struct polset *ps, const char *name)
{
	const struct tier *t = polset_tier(ps, name);

	return t != NULL ? t->default_action : ACT_DENY;
}

/* qsort_r order of two policies (@ctx is the polset): tier, then policy order, then name. */
static int
order_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct polset *ps = ctx;
	const struct policy *a = *(const struct policy *const *)pa;
	const struct policy *b = *(const struct policy *const *)pb;

	if (strcmp(a->tier, b->tier) != 0) {
		struct tkey x = tier_key(ps, a->tier), y = tier_key(ps, b->tier);

		if (x.invalid != y.invalid)
			return x.invalid - y.invalid;
		if (x.no_order != y.no_order)
			return x.no_order - y.no_order;
		if (x.order != y.order)
			return x.order < y.order ? -1 : 1;
		return strcmp(a->tier, b->tier);
	}
	if (a->has_order != b->has_order)
		return a->has_order ? -1 : 1;
	if (a->has_order && a->order != b->order)
		return a->order < b->order ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* A staged policy that would be enforced: stagedAction Set (or none). */
static bool
staged_set(const struct policy *p)
{
	return p->kind == KIND_SGNP &&
	       (p->staged_action == NULL || strcmp(p->staged_action, "Set") == 0);
}

/* In the staged view, is the enforced policy @p replaced or deleted by a staged one? */
static bool
staged_over(const struct polset *ps, const struct policy *p)
{
	for (size_t i = 0; i < ps->npolicies; i++) {
		const struct policy *s = ps->policies[i];

		if (s->kind == KIND_SGNP && strcmp(s->name, p->name) == 0 &&
		    (staged_set(s) || strcmp(s->staged_action, "Delete") == 0))
			return true;
	}
	return false;
}

int
build_order(struct cbuild *cb)
{
	const struct polset *ps = cb->env->ps;

	cb->order = malloc((ps->npolicies + 1) * sizeof(*cb->order));
	if (cb->order == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < ps->npolicies; i++) {
		const struct policy *p = ps->policies[i];

		/* the staged view: as if every staged Set were applied and every staged
		 * Delete done (docs/semantics.md, "Staged policies, live") */
		if (cb->staged ? (p->kind == KIND_GNP && !staged_over(ps, p)) || staged_set(p) :
				 p->kind == KIND_GNP)
			cb->order[cb->norder++] = p;
	}
	qsort_r(cb->order, cb->norder, sizeof(*cb->order), order_cmp, (void *)ps);
	return 0;
}

/*
 * Does @p apply at stage @st? (The reference evaluator asks the same in
 * eval_tiers.c, written apart on purpose: see the top of this file.)
 */
static bool
policy_stage(const struct policy *p, enum stage st)
{
	if (st == STAGE_UNTRACKED)
		return p->do_not_track;
	if (st == STAGE_PREDNAT)
		return p->pre_dnat && !p->do_not_track;
	if (p->pre_dnat || p->do_not_track)
		return false;
	return st == STAGE_NORMAL || p->apply_on_forward;
}

/* The tier of the last entries ends: its end entry, and its Pass entries point past it. */
static int
close_tier(struct cbuild *cb, struct clist *l, const char *tier, enum stage st, enum dir dir,
	   uint8_t family, const size_t *passes, size_t npasses)
{
	const struct tier *t = polset_tier(cb->env->ps, tier);
	const struct meta_key mk = {
		.kind = RS_META_EOT, .action = RS_A_EOT_DENY, .stage = st, .dir = dir,
		.tier = tier, .rule = -1, .loc = t != NULL ? &t->loc : NULL,
	};
	uint32_t meta;
	int err;

	/* Untracked and preDNAT tiers never default-deny (docs/semantics.md §5). */
	if (st != STAGE_UNTRACKED && st != STAGE_PREDNAT &&
	    tier_default(cb->env->ps, tier) == ACT_DENY) {
		err = meta_intern(cb, &mk, &meta);
		if (err == 0)
			err = add_catch_all(l, family, RS_A_EOT_DENY, meta);
		if (err < 0)
			return err;
	}
	for (size_t k = 0; k < npasses; k++)
		l->v[passes[k]].next = (uint32_t)l->n;
	return 0;
}

/* The entries of policy @p's rules in direction @dir; Pass entries are noted in @passes. */
static int
add_policy(struct cbuild *cb, struct clist *l, const struct policy *p, enum stage st,
	   enum dir dir, uint8_t family, size_t **passes, size_t *npasses, size_t *passcap)
{
	static const uint8_t act[] = {
		[ACT_ALLOW] = RS_A_ALLOW, [ACT_DENY] = RS_A_DENY,
		[ACT_PASS] = RS_A_PASS, [ACT_LOG] = RS_A_LOG,
	};
	const struct rule *rules = dir == DIR_INGRESS ? p->ingress : p->egress;
	size_t nr = dir == DIR_INGRESS ? p->ningress : p->negress;

	for (size_t r = 0; r < nr; r++) {
		struct meta_key mk = {
			.kind = RS_META_RULE, .action = act[rules[r].action], .stage = st,
			.dir = dir, .tier = p->tier, .policy = p->name, .rule = (int)r,
			.loc = &rules[r].loc,
		};
		struct centry *e = clist_add(l);
		int res;

		if (e == NULL)
			return -ENOMEM;
		res = centry_rule(cb, e, &rules[r], family);
		if (res < 0)
			return res;
		if (res == 0) {
			l->n--;			/* not rendered for this family */
			continue;
		}
		e->action = act[rules[r].action];
		res = meta_intern(cb, &mk, &e->meta);
		if (res < 0)
			return res;
		if (e->action == RS_A_PASS) {
			if (ARRAY_PUSH_ROOM(*passes, *passcap, *npasses) < 0)
				return -ENOMEM;
			(*passes)[(*npasses)++] = l->n - 1;
		}
	}
	return 0;
}

int
add_tiers(struct cbuild *cb, struct clist *l, const struct hep *h, enum stage st, enum dir dir,
	  uint8_t family)
{
	unsigned want = dir == DIR_INGRESS ? TYPE_INGRESS : TYPE_EGRESS;
	const char *tier = NULL;
	size_t *passes = NULL, npasses = 0, passcap = 0;
	int err = 0;

	for (size_t i = 0; i <= cb->norder && err == 0; i++) {
		const struct policy *p = i < cb->norder ? cb->order[i] : NULL;

		if (p != NULL && (!policy_stage(p, st) || !(p->types & want) ||
				  !selector_match(p->sel, &h->labels)))
			continue;
		if (tier != NULL && (p == NULL || strcmp(p->tier, tier) != 0)) {
			err = close_tier(cb, l, tier, st, dir, family, passes, npasses);
			npasses = 0;
		}
		if (p == NULL || err < 0)
			break;
		tier = p->tier;
		err = add_policy(cb, l, p, st, dir, family, &passes, &npasses, &passcap);
	}
	free(passes);
	return err;
}

int
add_profiles(struct cbuild *cb, struct clist *l, const struct hep *h, enum dir dir,
	     uint8_t family)
{
	struct meta_key mk = {
		.kind = RS_META_NO_PROFILE, .action = RS_A_NO_PROFILE, .stage = STAGE_NORMAL,
		.dir = dir, .rule = -1,
	};
	uint32_t meta;
	int err;

	if (h->nprofiles > 0) {
		/* Profiles are catch-alls: the first one decides. */
		bool allow = strcmp(h->profiles[0], PROFILE_DEFAULT_ALLOW) == 0;

		mk.kind = RS_META_PROFILE;
		mk.action = allow ? RS_A_ALLOW : RS_A_DENY;
		mk.policy = h->profiles[0];
		mk.rule = 0;
	}
	err = meta_intern(cb, &mk, &meta);
	if (err < 0)
		return err;
	return add_catch_all(l, family, (uint8_t)mk.action, meta);
}
