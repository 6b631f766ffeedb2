/*
 * tier.c - decoding Tier objects: a name, an order and the action at the
 * end of the tier (Deny, or Pass to the next tier). The default tier always
 * exists, orders last and denies. Control thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "decode.h"

#define DEFAULT_TIER_ORDER	1000000

void
tier_free(struct tier *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t);
}

/* A Kubernetes/Calico object name: lowercase RFC 1123 subdomain, at most 253. */
static bool
valid_k8s_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && ch != '-' && ch != '.')
			return false;
		if ((i == 0 || i == n - 1) && !alnum)
			return false;
	}
	return true;
}

static void
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
}

void
decode_tier(struct dctx *c, const yaml_node_t *obj, struct meta *m)
{
	yaml_node_t *spec = dget(c, obj, "spec");
	struct tier *t = dcalloc(c, 1, sizeof(*t));

	if (t == NULL)
		return;
	t->name = m->name;
	m->name = NULL;
	t->default_action = ACT_DENY;
	t->loc = (struct srcloc){ c->file, ydoc_line(obj), ydoc_col(obj) };
	if (!valid_k8s_name(t->name) || strchr(t->name, '.') != NULL)
		derr(c, dget(c, dget(c, obj, "metadata"), "name"),
		     "tier names are lowercase letters, digits and '-'");
	dpath_push(c, "spec");
	if (spec != NULL && dmap(c, spec, "spec"))
		tier_decode_spec(c, spec, t);
	if (strcmp(t->name, "default") == 0) {
		if (t->default_action != ACT_DENY)
			derr(c, spec, "the default tier's defaultAction must be Deny");
		if (!t->has_order) {
			t->has_order = true;
			t->order = DEFAULT_TIER_ORDER;
		}
	}
	dpath_pop(c, 0);
	if (dfailed(c)) {
		tier_free(t);
		return;
	}
	polset_add(c, OBJ_TIER, t);
}
