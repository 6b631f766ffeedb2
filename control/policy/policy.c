/*
 * policy.c - decoding GlobalNetworkPolicy and StagedGlobalNetworkPolicy
 * objects: the name and tier, the order, the selector with its namespace
 * and service account scoping, types and their defaulting, the
 * doNotTrack/preDNAT/applyOnForward flags, and the rule lists (rule.c)
 * (docs/semantics.md §5). Control thread only.
 *
 * Validation follows Calico's validator (§1.8): an invalid rule makes the
 * whole policy invalid, and the policy is then rejected with a diagnostic
 * naming the field, as Felix would treat it as absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->ningress; i++)
		rule_free(&p->ingress[i]);
	for (size_t i = 0; i < p->negress; i++)
		rule_free(&p->egress[i]);
	free(p->ingress);
	free(p->egress);
	free(p->name);
	free(p->tier);
	selector_free(p->sel);
	free(p->sel_text);
	free(p->staged_action);
	free(p);
}

/* Calico's policy name: a DNS label, optionally one "<tier>." prefix. */
static bool
valid_policy_name(const char *s)
{
	const char *dot = strchr(s, '.');
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	if (dot != NULL && strchr(dot + 1, '.') != NULL)
		return false;
	for (const char *p = s; *p; p++) {
		bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');
		bool edge = p == s || p[1] == '\0' || p[1] == '.' || p[-1] == '.';

		if (*p == '.')
			continue;
		if (!alnum && (*p != '-' || edge))
			return false;
	}
	return s[0] != '.' && s[n - 1] != '.';
}

/* ---- the selector ------------------------------------------------------------- */

static struct selector *
scoped_top_selector(struct dctx *c, const yaml_node_t *n, const char *prefix,
		    const char *all_key)
{
	struct selector *s = decode_plain_selector(c, n), *scoped;

	if (s == NULL)
		return NULL;
	scoped = selector_prefixed(s, prefix, all_key);
	if (scoped == NULL)
		dnomem(c);
	selector_free(s);
	return scoped;
}

/* *@acc = *@acc && @more, consuming @more (NULL: nothing to add). */
static void
and_into(struct dctx *c, struct selector **acc, struct selector *more)
{
	struct selector *both;

	if (more == NULL)
		return;
	if (*acc == NULL) {		/* out of memory before */
		selector_free(more);
		return;
	}
	both = selector_and(*acc, more);
	selector_free(more);
	if (both == NULL) {
		dnomem(c);
		return;
	}
	selector_free(*acc);
	*acc = both;
}

/* selector, namespaceSelector, serviceAccountSelector into p->sel (all() when unset). */
static void
gnp_decode_selector(struct dctx *c, const yaml_node_t *spec, struct policy *p)
{
	size_t old = c->plen;
	yaml_node_t *f;

	f = dget(c, spec, "selector");
	if (f != NULL && ydoc_str(f) == NULL)
		derr(c, f, "selector must be a string");
	p->sel_text = dstrdup(c, f && ydoc_str(f) ? ydoc_str(f) : "");
	if (p->sel_text == NULL)
		return;
	dpath_push(c, ".selector");
	p->sel = *p->sel_text ? decode_plain_selector(c, f) : dselector_fixed(c, "all()");
	dpath_pop(c, old);
	if (p->sel == NULL && c->err == 0)
		p->sel = dselector_fixed(c, "all()");
	if ((f = dget(c, spec, "namespaceSelector")) != NULL && ydoc_str(f) && *ydoc_str(f)) {
		dpath_push(c, ".namespaceSelector");
		and_into(c, &p->sel,
			 scoped_top_selector(c, f, "pcns.", "projectcalico.org/namespace"));
		dpath_pop(c, old);
	}
	if ((f = dget(c, spec, "serviceAccountSelector")) != NULL && ydoc_str(f) && *ydoc_str(f)) {
		dpath_push(c, ".serviceAccountSelector");
		and_into(c, &p->sel,
			 scoped_top_selector(c, f, "pcsa.", "projectcalico.org/serviceaccount"));
		dpath_pop(c, old);
	}
}

/* ---- types, rules and flags ---------------------------------------------------- */

/* spec.types into p->types; true when it lists at least one type. */
static bool
gnp_decode_types(struct dctx *c, const yaml_node_t *typesn, struct policy *p)
{
	size_t old = c->plen;
	bool explicit_types = false;

	dpath_push(c, ".types");
	if (dseq(c, typesn, "types")) {
		for (size_t i = 0; i < ydoc_len(typesn); i++) {
			yaml_node_t *it = ydoc_item(c->y, typesn, i);
			const char *s = ydoc_str(it);
			unsigned t = 0;
			size_t o2 = dpath_push(c, "[%zu]", i);

			if (s && strcmp(s, "Ingress") == 0)
				t = TYPE_INGRESS;
			else if (s && strcmp(s, "Egress") == 0)
				t = TYPE_EGRESS;
			else
				derr(c, it, "types entries must be Ingress or Egress");
			if (t & p->types)
				derr(c, it, "%s is listed twice in types", s);
			p->types |= t;
			dpath_pop(c, o2);
		}
		explicit_types = ydoc_len(typesn) > 0;
	}
	dpath_pop(c, old);
	return explicit_types;
}

/* A boolean field @key of @spec into *@out, when present. */
static void
gnp_decode_flag(struct dctx *c, const yaml_node_t *spec, const char *key, bool *out)
{
	yaml_node_t *f = dget(c, spec, key);
	size_t old;

	if (f == NULL)
		return;
	old = dpath_push(c, ".%s", key);
	*out = dbool(c, f);
	dpath_pop(c, old);
}

static void
gnp_decode_staged_action(struct dctx *c, const yaml_node_t *f, struct policy *p)
{
	const char *s = ydoc_str(f);
	size_t old = dpath_push(c, ".stagedAction");

	if (s != NULL && *s == '\0')
		;	/* empty is unset, as in Calico (Set) */
	else if (s == NULL || (strcmp(s, "Set") && strcmp(s, "Delete") && strcmp(s, "Learn") &&
			       strcmp(s, "Ignore")))
		derr(c, f, "stagedAction must be Set, Delete, Learn or Ignore");
	else
		p->staged_action = dstrdup(c, s);
	dpath_pop(c, old);
}

/*
 * stagedAction: Delete stages the deletion of the policy of that name: every
 * other field but tier must be unset (Calico compares the decoded spec with
 * an empty one: null, "" and false pass, while order: 0 or types: [] do not).
 */
static void
gnp_check_staged_delete(struct dctx *c, const yaml_node_t *spec)
{
	for (size_t i = 0; i < ydoc_len(spec); i++) {
		yaml_node_t *k, *v;
		const char *key, *val;
		size_t old;

		ydoc_pair(c->y, spec, i, &k, &v);
		key = ydoc_str(k);
		val = ydoc_str(v);
		if (key == NULL || strcmp(key, "tier") == 0 || strcmp(key, "stagedAction") == 0 ||
		    ydoc_is_null(v) || (val != NULL && (*val == '\0' || strcmp(val, "false") == 0)))
			continue;
		old = dpath_push(c, ".%s", key);
		derr(c, k, "with stagedAction: Delete every field but tier must be unset");
		dpath_pop(c, old);
	}
}

/* performanceHints: a list of distinct hints, of which Calico knows one. */
static void
gnp_decode_perf_hints(struct dctx *c, const yaml_node_t *f)
{
	size_t old = dpath_push(c, ".performanceHints");
	bool seen = false;

	if (dseq(c, f, "performanceHints")) {
		for (size_t i = 0; i < ydoc_len(f); i++) {
			yaml_node_t *it = ydoc_item(c->y, f, i);
			const char *s = ydoc_str(it);
			size_t o2 = dpath_push(c, "[%zu]", i);

			if (s == NULL || strcmp(s, "AssumeNeededOnEveryNode") != 0)
				derr(c, it, "the only performance hint is AssumeNeededOnEveryNode");
			else if (seen)
				derr(c, it, "AssumeNeededOnEveryNode is listed twice");
			seen = true;
			dpath_pop(c, o2);
		}
	}
	dpath_pop(c, old);
}

/* Types defaulting (docs/semantics.md §5.3) and the checks across fields. */
static void
gnp_finish(struct dctx *c, const yaml_node_t *spec, struct policy *p, bool explicit_types)
{
	yaml_node_t *eg = dget(c, spec, "egress");

	if (!explicit_types) {
		if (c->form == FORM_V1)
			p->types = TYPE_INGRESS | TYPE_EGRESS;
		else if (p->negress == 0)
			p->types = TYPE_INGRESS;
		else if (p->ningress == 0)
			p->types = TYPE_EGRESS;
		else
			p->types = TYPE_INGRESS | TYPE_EGRESS;
	}

	if (p->pre_dnat && p->do_not_track)
		derr(c, spec, "preDNAT and doNotTrack cannot both be true");
	if ((p->pre_dnat || p->do_not_track) && !p->apply_on_forward)
		derr(c, spec, "%s needs applyOnForward: true", p->pre_dnat ? "preDNAT" : "doNotTrack");
	if (p->pre_dnat && (p->negress > 0 || (explicit_types && (p->types & TYPE_EGRESS))))
		derr(c, eg ? eg : dget(c, spec, "types"), "a preDNAT policy may only have ingress "
							  "rules and the Ingress type");
	if (p->pre_dnat && c->form == FORM_V1 && !explicit_types)
		p->types = TYPE_INGRESS;
}

/* Decode a GlobalNetworkPolicy/StagedGlobalNetworkPolicy spec into @p. */
static void
gnp_decode_spec(struct dctx *c, const yaml_node_t *spec, struct policy *p, bool staged)
{
	/* the CRD schemas: stagedAction is the staged kind's alone */
	static const char *const known[] = {
		"stagedAction", "tier", "order", "selector", "namespaceSelector",
		"serviceAccountSelector", "types", "ingress", "egress", "doNotTrack", "preDNAT",
		"applyOnForward", "performanceHints", NULL,
	};
	size_t old = c->plen;
	bool explicit_types = false;
	yaml_node_t *f;

	dfields(c, spec, staged ? known : known + 1);
	f = dget(c, spec, "tier");
	p->tier = dstrdup(c, f && ydoc_str(f) && *ydoc_str(f) ? ydoc_str(f) : "default");
	if (f != NULL && (ydoc_str(f) == NULL || (*ydoc_str(f) && !k8s_dns_subdomain(ydoc_str(f))))) {
		dpath_push(c, ".tier");
		derr(c, f, "tier must name a tier: lowercase letters, digits and '-'");
		dpath_pop(c, old);
	}
	if ((f = dget(c, spec, "performanceHints")) != NULL)
		gnp_decode_perf_hints(c, f);
	if ((f = dget(c, spec, "order")) != NULL) {
		dpath_push(c, ".order");
		p->has_order = dnumber(c, f, &p->order);
		dpath_pop(c, old);
	}
	gnp_decode_selector(c, spec, p);
	if ((f = dget(c, spec, "types")) != NULL)
		explicit_types = gnp_decode_types(c, f, p);
	if ((f = dget(c, spec, "ingress")) != NULL) {
		dpath_push(c, ".ingress");
		p->ningress = decode_rules(c, f, "ingress", &p->ingress, true);
		dpath_pop(c, old);
	}
	if ((f = dget(c, spec, "egress")) != NULL) {
		dpath_push(c, ".egress");
		p->negress = decode_rules(c, f, "egress", &p->egress, false);
		dpath_pop(c, old);
	}
	gnp_decode_flag(c, spec, "doNotTrack", &p->do_not_track);
	gnp_decode_flag(c, spec, "preDNAT", &p->pre_dnat);
	gnp_decode_flag(c, spec, "applyOnForward", &p->apply_on_forward);
	if (staged && (f = dget(c, spec, "stagedAction")) != NULL)
		gnp_decode_staged_action(c, f, p);
	if (p->staged_action != NULL && strcmp(p->staged_action, "Delete") == 0)
		gnp_check_staged_delete(c, spec);
	gnp_finish(c, spec, p, explicit_types);
}

/* ---- the object ------------------------------------------------------------------ */

/*
 * The stored v1 form prefixes default-tier names with "default."
 * (docs/semantics.md §2): recover the v3 name unless the metadata
 * annotation already gave it.
 */
static void
gnp_v3_name(struct dctx *c, const yaml_node_t *namenode, struct policy *p)
{
	char *v3;

	if (c->form != FORM_V1 || strcmp(p->tier, "default") != 0 ||
	    strncmp(p->name, "default.", 8) != 0 || namenode == NULL ||
	    strcmp(ydoc_str(namenode), p->name) != 0)
		return;
	v3 = dstrdup(c, p->name + 8);
	if (v3 == NULL)
		return;
	free(p->name);
	p->name = v3;
}

void
decode_policy(struct dctx *c, const yaml_node_t *obj, struct meta *m, bool staged)
{
	yaml_node_t *spec = dget(c, obj, "spec");
	yaml_node_t *namenode = dget(c, dget(c, obj, "metadata"), "name");
	struct policy *p = dcalloc(c, 1, sizeof(*p));

	if (p == NULL)
		return;
	p->kind = staged ? KIND_SGNP : KIND_GNP;
	p->form = c->form;
	p->loc = (struct srcloc){ c->file, ydoc_line(obj), ydoc_col(obj) };
	p->name = m->name;
	m->name = NULL;
	dpath_push(c, "spec");
	if (spec != NULL && !dmap(c, spec, "spec")) {
		dpath_pop(c, 0);
		policy_free(p);
		return;
	}
	/* no spec is an empty one, as in Calico: validated all the same */
	gnp_decode_spec(c, spec, p, staged);
	dpath_pop(c, 0);
	if (c->err != 0) {
		policy_free(p);
		return;
	}
	gnp_v3_name(c, namenode, p);
	snprintf(c->object, sizeof(c->object), "%s/%s",
		 staged ? "StagedGlobalNetworkPolicy" : "GlobalNetworkPolicy", p->name);
	if (!valid_policy_name(p->name))
		derr(c, namenode, "\"%s\" is not a valid policy name (lowercase letters, digits "
				  "and '-', with at most one \"<tier>.\" prefix)", p->name);
	else if (strchr(p->name, '.') != NULL && c->form == FORM_V3 &&
		 (strncmp(p->name, p->tier, strlen(p->tier)) != 0 || p->name[strlen(p->tier)] != '.'))
		derr(c, namenode, "a policy name with a '.' must start with its tier (\"%s.\")",
		     p->tier);
	if (dfailed(c)) {
		policy_free(p);
		return;
	}
	polset_add(c, OBJ_POLICY, p);
}
