/*
 * tier.c - decoding Tier objects: a name, an order and the action at the
 * end of the tier (Deny, or Pass to the next tier). The default tier always
 * exists, orders last and denies. Control thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "decode.h"

/* The tiers Calico defines itself, with the order and default action its
 * validator and CRD rules require of them (v3.32). */
static const struct {
	const char *name;
	double order;
	enum action action;
} fixed_tiers[] = {
	{ "default", 1000000, ACT_DENY },
	{ "kube-admin", 1000, ACT_PASS },
	{ "kube-baseline", 10000000, ACT_PASS },
};

void
tier_free(struct tier *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t);
}

/* The fixed order and default action of Calico's own tiers: an explicit
 * order is required, and kube-admin and kube-baseline must say Pass. */
static void
tier_check_fixed(struct dctx *c, const yaml_node_t *spec, const struct tier *t, bool has_action)
{
	for (size_t i = 0; i < ARRAY_SIZE(fixed_tiers); i++) {
		if (strcmp(t->name, fixed_tiers[i].name) != 0)
			continue;
		if (!t->has_order || t->order != fixed_tiers[i].order)
			derr(c, spec, "the %s tier's order must be %.0f", t->name, fixed_tiers[i].order);
		if (t->default_action != fixed_tiers[i].action ||
		    (fixed_tiers[i].action == ACT_PASS && !has_action))
			derr(c, spec, "the %s tier's defaultAction must be %s", t->name,
			     action_name(fixed_tiers[i].action));
	}
}

static bool
tier_decode_spec(struct dctx *c, const yaml_node_t *spec, struct tier *t)
{
	static const char *const known[] = { "order", "defaultAction", NULL };
	yaml_node_t *n;

	dfields(c, spec, known);
	n = dget(c, spec, "order");
	if (n != NULL) {
		dpath_push(c, ".order");
		t->has_order = dnumber(c, n, &t->order);
		dpath_pop(c, 4);
	}
	n = dget(c, spec, "defaultAction");
	if (n != NULL) {
		const char *s = ydoc_str(n);

		dpath_push(c, ".defaultAction");
		if (s && strcmp(s, "Deny") == 0)
			t->default_action = ACT_DENY;
		else if (s && strcmp(s, "Pass") == 0)
			t->default_action = ACT_PASS;
		else
			derr(c, n, "defaultAction must be Deny or Pass");
		dpath_pop(c, 4);
	}
	return n != NULL;
}

void
decode_tier(struct dctx *c, const yaml_node_t *obj, struct meta *m)
{
	yaml_node_t *spec = dget(c, obj, "spec");
	struct tier *t = dcalloc(c, 1, sizeof(*t));
	bool has_action = false;

	if (t == NULL)
		return;
	t->name = m->name;
	m->name = NULL;
	t->default_action = ACT_DENY;
	t->loc = (struct srcloc){ c->file, ydoc_line(obj), ydoc_col(obj) };
	if (!k8s_dns_label(t->name, K8S_LABEL_MAX))
		derr(c, dget(c, dget(c, obj, "metadata"), "name"),
		     "tier names are at most 63 lowercase letters, digits and '-', starting and "
		     "ending with a letter or digit");
	dpath_push(c, "spec");
	if (spec != NULL && dmap(c, spec, "spec"))
		has_action = tier_decode_spec(c, spec, t);
	tier_check_fixed(c, spec ? spec : obj, t, has_action);
	dpath_pop(c, 0);
	if (dfailed(c)) {
		tier_free(t);
		return;
	}
	polset_add(c, OBJ_TIER, t);
}
