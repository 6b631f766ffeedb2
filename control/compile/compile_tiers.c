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
#include <stdlib.h>
#include <string.h>

#include "compile_int.h"
#include "xalloc.h"

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

static const struct polset *order_ps;

static int
order_cmp(const void *pa, const void *pb)
{
	const struct policy *a = *(const struct policy *const *)pa;
	const struct policy *b = *(const struct policy *const *)pb;

	if (strcmp(a->tier, b->tier) != 0) {
		struct tkey x = tier_key(order_ps, a->tier), y = tier_key(order_ps, b->tier);

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

void
build_order(struct cbuild *cb)
{
	const struct polset *ps = cb->env->ps;

	cb->order = xmalloc((ps->npolicies + 1) * sizeof(*cb->order));
	for (size_t i = 0; i < ps->npolicies; i++)
		if (ps->policies[i]->kind == KIND_GNP)
			cb->order[cb->norder++] = ps->policies[i];
	order_ps = ps;
	qsort(cb->order, cb->norder, sizeof(*cb->order), order_cmp);
}

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

void
add_tiers(struct cbuild *cb, struct clist *l, const struct hep *h, enum stage st, enum dir dir,
	  uint8_t family)
{
	unsigned want = dir == DIR_INGRESS ? TYPE_INGRESS : TYPE_EGRESS;
	bool never_deny = st == STAGE_UNTRACKED || st == STAGE_PREDNAT;
	const char *tier = NULL;
	size_t *passes = NULL, npasses = 0;

	for (size_t i = 0; i <= cb->norder; i++) {
		const struct policy *p = i < cb->norder ? cb->order[i] : NULL;

		if (p != NULL && (!policy_stage(p, st) || !(p->types & want) ||
				  !selector_match(p->sel, &h->labels)))
			continue;
		if (tier != NULL && (p == NULL || strcmp(p->tier, tier) != 0)) {
			/* close the tier: its end, then point its Pass entries past it */
			if (!never_deny && tier_default(cb->env->ps, tier) == ACT_DENY)
				add_catch_all(l, family, RS_A_EOT_DENY,
					      meta_intern(cb, RS_META_EOT, RS_A_EOT_DENY, st, dir,
							  tier, NULL, -1));
			for (size_t k = 0; k < npasses; k++)
				l->v[passes[k]].next = (uint32_t)l->n;
			npasses = 0;
		}
		if (p == NULL)
			break;
		tier = p->tier;

		const struct rule *rules = dir == DIR_INGRESS ? p->ingress : p->egress;
		size_t nr = dir == DIR_INGRESS ? p->ningress : p->negress;

		for (size_t r = 0; r < nr; r++) {
			static const uint8_t act[] = {
				[ACT_ALLOW] = RS_A_ALLOW, [ACT_DENY] = RS_A_DENY,
				[ACT_PASS] = RS_A_PASS, [ACT_LOG] = RS_A_LOG,
			};
			struct centry *e = clist_add(l);

			if (!centry_rule(cb, e, &rules[r], family)) {
				l->n--;
				continue;
			}
			e->action = act[rules[r].action];
			e->meta = meta_intern(cb, RS_META_RULE, e->action, st, dir, tier, p->name,
					      (int)r);
			if (e->action == RS_A_PASS) {
				passes = xrealloc(passes, (npasses + 1) * sizeof(*passes));
				passes[npasses++] = l->n - 1;
			}
		}
	}
	free(passes);
}

void
add_profiles(struct cbuild *cb, struct clist *l, const struct hep *h, enum dir dir,
	     uint8_t family)
{
	if (h->nprofiles > 0) {
		/* Profiles are catch-alls: the first one decides. */
		bool allow = strcmp(h->profiles[0], PROFILE_DEFAULT_ALLOW) == 0;
		uint8_t a = allow ? RS_A_ALLOW : RS_A_DENY;

		add_catch_all(l, family, a, meta_intern(cb, RS_META_PROFILE, a, STAGE_NORMAL, dir,
							NULL, h->profiles[0], 0));
		return;
	}
	add_catch_all(l, family, RS_A_NO_PROFILE,
		      meta_intern(cb, RS_META_NO_PROFILE, RS_A_NO_PROFILE, STAGE_NORMAL, dir,
				  NULL, NULL, -1));
}

