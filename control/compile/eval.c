/*
 * eval.c - the reference evaluator (see eval.h). Control thread only.
 *
 * Every question is answered from the policy model directly: which policies
 * select the endpoint, in which order, whether each rule matches (rule
 * selectors are evaluated against every labelled object each time). Slow on
 * purpose, and written to be read next to calico-semantics.md §0.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "eval.h"

struct ectx {
	const struct hostenv *env;
	struct eval_result *out;
	enum stage stage;
	enum dir dir;
	const char *hep;
};

const char *
path_name(enum path p)
{
	return p == PATH_LOCAL_IN ? "local-in" : p == PATH_LOCAL_OUT ? "local-out" : "forwarded";
}

static struct step *
step_add(struct ectx *c, enum step_kind kind, const char *fmt, ...) __printf(3, 4);

static struct step *
step_add(struct ectx *c, enum step_kind kind, const char *fmt, ...)
{
	static struct step sink;
	struct step *s;
	va_list ap;

	if (c->out->nsteps == EVAL_MAX_STEPS)
		s = &sink;
	else
		s = &c->out->steps[c->out->nsteps++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->stage = c->stage;
	s->dir = c->dir;
	s->rule = -1;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
	return s;
}

/* ---- address sets ------------------------------------------------------------ */

static bool
ips_contain(const struct cidr *v, size_t n, uint8_t family, const struct addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == family && cidr_contains(&v[i], a))
			return true;
	return false;
}

static bool
has_family(const struct cidr *v, size_t n, uint8_t family)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == family)
			return true;
	return false;
}

/* Is @a the address of an object (HEP, GlobalNetworkSet, NetworkSet) @sel selects? */
static bool
in_selector_set(const struct hostenv *env, const struct selector *sel, uint8_t family,
		const struct addr *a)
{
	const struct hep *h;

	for (size_t i = 0; (h = hostenv_any_hep(env, i)) != NULL; i++)
		if (ips_contain(h->ips, h->nips, family, a) && selector_match(sel, &h->labels))
			return true;
	for (size_t i = 0; i < env->ps->nnetsets; i++) {
		const struct netset *s = env->ps->netsets[i];

		if (ips_contain(s->nets, s->nnets, family, a) && selector_match(sel, &s->labels))
			return true;
	}
	return false;
}

/* (addr, proto, port) belongs to a HEP port named @name (calico-semantics.md §1.7). */
static bool
in_named_port(const struct hostenv *env, const struct entity *e, const struct rule *r,
	      const char *name, const struct pkt_key *k, const struct addr *a, uint16_t port)
{
	const struct hep *h;

	for (size_t i = 0; (h = hostenv_any_hep(env, i)) != NULL; i++) {
		if (e->sel != NULL && !selector_match(e->sel, &h->labels))
			continue;
		if (!ips_contain(h->ips, h->nips, k->family, a))
			continue;
		for (size_t j = 0; j < h->nports; j++) {
			const struct named_port *np = &h->ports[j];

			if (strcmp(np->name, name) != 0)
				continue;
			if (r->proto != 0 && np->proto != r->proto)
				continue;
			if (np->proto == k->proto && np->port == port)
				return true;
		}
	}
	return false;
}

static bool
port_list_match(const struct hostenv *env, const struct entity *e, const struct rule *r,
		const struct port_item *v, size_t n, const struct pkt_key *k,
		const struct addr *a, uint16_t port)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i].name == NULL) {
			if (port >= v[i].lo && port <= v[i].hi)
				return true;
		} else if (in_named_port(env, e, r, v[i].name, k, a, port)) {
			return true;
		}
	}
	return false;
}

static bool
entity_match(const struct hostenv *env, const struct rule *r, const struct entity *e,
	     const struct pkt_key *k, bool src)
{
	const struct addr *a = src ? &k->src : &k->dst;
	uint16_t port = src ? k->sport : k->dport;

	if (e->has_sa || e->has_services)
		return false;		/* pods and Services only: never a host */
	if (e->nnets && !ips_contain(e->nets, e->nnets, k->family, a))
		return false;
	if (e->nnot_nets && ips_contain(e->not_nets, e->nnot_nets, k->family, a))
		return false;
	if (e->sel && !in_selector_set(env, e->sel, k->family, a))
		return false;
	if (e->not_sel && in_selector_set(env, e->not_sel, k->family, a))
		return false;
	if (e->nports || e->nnot_ports) {
		if (!(k->flags & PKT_F_PORTS))
			return false;	/* no L4 header: a port match never matches */
		if (e->nports && !port_list_match(env, e, r, e->ports, e->nports, k, a, port))
			return false;
		if (e->nnot_ports &&
		    port_list_match(env, e, r, e->not_ports, e->nnot_ports, k, a, port))
			return false;
	}
	return true;
}

/*
 * Felix renders a rule once per IP family and drops it for a family when a
 * non-empty nets/notNets list holds only CIDRs of the other one (§1.7).
 */
static bool
rule_renders_for(const struct rule *r, uint8_t family)
{
	const struct entity *ents[2] = { &r->src, &r->dst };

	if (r->ip_version != 0 && (r->ip_version == 4) != (family == AF_INET))
		return false;
	for (int i = 0; i < 2; i++) {
		const struct entity *e = ents[i];

		if (e->nnets && !has_family(e->nets, e->nnets, family))
			return false;
		if (e->nnot_nets && !has_family(e->not_nets, e->nnot_nets, family))
			return false;
	}
	return true;
}

static bool
icmp_match(const struct pkt_key *k, uint8_t type, bool has_code, uint8_t code)
{
	return k->icmp_type == type && (!has_code || k->icmp_code == code);
}

static bool
rule_match(const struct hostenv *env, const struct rule *r, const struct pkt_key *k)
{
	if (!rule_renders_for(r, k->family))
		return false;
	if (r->proto != 0 && k->proto != r->proto)
		return false;
	if (r->not_proto != 0 && k->proto == r->not_proto)
		return false;
	if (r->has_icmp &&
	    (!(k->flags & PKT_F_ICMP) || !icmp_match(k, r->icmp_type, r->icmp_has_code,
						     r->icmp_code)))
		return false;
	if (r->has_not_icmp &&
	    (!(k->flags & PKT_F_ICMP) || icmp_match(k, r->not_icmp_type, r->not_icmp_has_code,
						    r->not_icmp_code)))
		return false;
	return entity_match(env, r, &r->src, k, true) && entity_match(env, r, &r->dst, k, false);
}

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

/* ---- one stage on one endpoint ------------------------------------------------------ */

enum outcome {
	OUT_CONTINUE,			/* no verdict from this stage */
	OUT_ALLOW,
	OUT_DENY,
	OUT_NOMEM,			/* out of memory: no verdict at all */
};

static void
decide(struct ectx *c, bool allow, enum reason reason, const char *tier, const char *policy,
       int rule)
{
	struct decision *d = &c->out->final;

	d->allow = allow;
	d->stage = c->stage;
	d->reason = reason;
	d->dir = c->dir;
	d->hep = c->hep;
	d->tier = tier;
	d->policy = policy;
	d->rule = rule;
}

static bool
failsafe_match(const struct ectx *c, const struct pkt_key *k)
{
	const struct failsafe_list *l = c->dir == DIR_INGRESS ? &c->env->fs_in : &c->env->fs_out;
	const struct failsafe_list *rl = c->dir == DIR_INGRESS ? &c->env->fs_out : &c->env->fs_in;

	if (!(k->flags & PKT_F_PORTS))
		return false;
	for (size_t i = 0; i < l->n; i++) {
		const struct failsafe *f = &l->v[i];
		const struct addr *peer = c->dir == DIR_INGRESS ? &k->src : &k->dst;

		if (f->has_net && f->net.family != k->family)
			continue;
		if (f->proto == k->proto && f->port == k->dport &&
		    (!f->has_net || cidr_contains(&f->net, peer)))
			return true;
	}
	/* In the raw table, replies of failsafe flows are accepted too (felix PR #1718). */
	if (c->stage != STAGE_UNTRACKED)
		return false;
	for (size_t i = 0; i < rl->n; i++) {
		const struct failsafe *f = &rl->v[i];
		const struct addr *peer = c->dir == DIR_INGRESS ? &k->src : &k->dst;

		if (f->has_net && f->net.family != k->family)
			continue;
		if (f->proto == k->proto && f->port == k->sport &&
		    (!f->has_net || cidr_contains(&f->net, peer)))
			return true;
	}
	return false;
}

static void
log_hit(struct ectx *c, const char *tier, const char *policy, int rule)
{
	struct eval_result *o = c->out;

	if (o->nlogs == EVAL_MAX_LOGS)
		return;
	o->logs[o->nlogs++] = (struct log_hit){ c->stage, c->dir, tier, policy, rule };
}

static void
explain_staged(struct ectx *c, const struct hep *h, const struct pkt_key *k)
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
			if (rules[r].action != ACT_LOG && rule_match(c->env, &rules[r], k))
				break;
		struct step *s = step_add(c, STEP_STAGED, r < n ? "staged: would %s (rule %zu)" :
						       "staged: no rule would match (end of tier)",
					  r < n ? action_name(rules[r].action) : "", r);
		s->tier = p->tier;
		s->policy = p->name;
		s->rule = r < n ? (int)r : -1;
	}
}

/* Walk the tiers of @h for the current stage and direction. */
static enum outcome
walk_tiers(struct ectx *c, const struct hep *h, const struct pkt_key *k, bool *any_policy)
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
		step_add(c, STEP_TIER, "tier %s", tier)->tier = tier;
		for (; i < end && !passed; i++) {
			const struct policy *p = pv[i];
			const struct rule *rules = c->dir == DIR_INGRESS ? p->ingress : p->egress;
			size_t nr = c->dir == DIR_INGRESS ? p->ningress : p->negress;
			bool matched = false;

			for (size_t r = 0; r < nr; r++) {
				struct step *s;

				if (!rule_match(c->env, &rules[r], k))
					continue;
				s = step_add(c, STEP_RULE, "%s rule %zu matched: %s", p->name, r,
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
				decide(c, rules[r].action == ACT_ALLOW, REASON_RULE, tier, p->name,
				       (int)r);
				res = rules[r].action == ACT_ALLOW ? OUT_ALLOW : OUT_DENY;
				goto out;
			}
			if (!matched) {
				struct step *s = step_add(c, STEP_POLICY_NO_MATCH,
							  "%s: no rule matched", p->name);

				s->tier = tier;
				s->policy = p->name;
			}
		}
		i = end;
		if (passed)
			continue;
		if (tr.def == ACT_DENY) {
			struct step *s = step_add(c, STEP_END_OF_TIER, "end of tier %s: Deny", tier);

			s->tier = tier;
			s->action = "Deny";
			decide(c, false, REASON_END_OF_TIER, tier, NULL, -1);
			res = OUT_DENY;
			goto out;
		}
		step_add(c, STEP_END_OF_TIER, "end of tier %s: Pass", tier)->tier = tier;
	}
out:
	free(pv);
	return res;
}

static enum outcome
walk_profiles(struct ectx *c, const struct hep *h)
{
	for (size_t i = 0; i < h->nprofiles; i++) {
		const char *name = h->profiles[i];
		bool allow = strcmp(name, PROFILE_DEFAULT_ALLOW) == 0;
		struct step *s;

		/* The built-in default-allow profile allows; an unknown profile denies. */
		s = step_add(c, STEP_PROFILE, "profile %s: %s%s", name, allow ? "Allow" : "Deny",
			     allow ? "" : " (unknown profile: deny-all)");
		s->policy = name;
		s->rule = 0;
		s->action = allow ? "Allow" : "Deny";
		decide(c, allow, REASON_PROFILE, NULL, name, 0);
		return allow ? OUT_ALLOW : OUT_DENY;
	}
	step_add(c, STEP_PROFILE, "no profile decided: Deny")->action = "Deny";
	decide(c, false, REASON_NO_PROFILE, NULL, NULL, -1);
	return OUT_DENY;
}

/* One stage, one direction, on the HEP of @ifindex. */
static enum outcome
eval_stage(struct ectx *c, enum stage stage, enum dir dir, uint32_t ifindex,
	   const struct pkt_key *k)
{
	const struct iface *ifc = hostenv_iface(c->env, ifindex);
	const struct hep *h = hostenv_hep_for_iface(c->env, ifc);
	const char *ifname = ifc ? ifc->name : "?";
	bool any_policy = false;
	enum outcome res;

	c->stage = stage;
	c->dir = dir;
	c->hep = h ? h->name : NULL;
	if (h == NULL) {
		step_add(c, STEP_STAGE, "%s %s on %s: no host endpoint, not policed",
			 stage_name(stage), dir == DIR_INGRESS ? "ingress" : "egress", ifname);
		if (stage == STAGE_NORMAL) {
			decide(c, true, REASON_NO_HEP, NULL, NULL, -1);
			return OUT_ALLOW;
		}
		return OUT_CONTINUE;
	}
	if (stage == STAGE_UNTRACKED && hep_is_wildcard(h)) {
		step_add(c, STEP_STAGE, "untracked: host endpoint %s is \"*\": doNotTrack ignored",
			 h->name);
		return OUT_CONTINUE;
	}
	step_add(c, STEP_STAGE, "%s %s on %s: host endpoint %s", stage_name(stage),
		 dir == DIR_INGRESS ? "ingress" : "egress", ifname, h->name);
	if (stage != STAGE_FORWARD && failsafe_match(c, k)) {
		step_add(c, STEP_FAILSAFE, "failsafe port %s %u", k->proto == IPPROTO_TCP ? "tcp" :
			 "udp", c->dir == DIR_INGRESS || stage != STAGE_UNTRACKED ? k->dport :
			 k->sport)->action = stage == STAGE_NORMAL ? "accept" : "skip stage";
		if (stage == STAGE_NORMAL) {
			decide(c, true, REASON_FAILSAFE, NULL, NULL, -1);
			return OUT_ALLOW;
		}
		return OUT_CONTINUE;
	}
	res = walk_tiers(c, h, k, &any_policy);
	explain_staged(c, h, k);
	if (res != OUT_CONTINUE)
		return res;
	if (stage == STAGE_NORMAL)
		return walk_profiles(c, h);
	if (!any_policy && stage == STAGE_FORWARD)
		step_add(c, STEP_RESULT, "no applyOnForward policy for this direction: not dropped");
	return OUT_CONTINUE;
}

/* ---- the whole path --------------------------------------------------------------------- */

/*
 * Felix's conntrack rules sit in the host endpoint chains (calico-semantics.md
 * §0.1, §0.3, §3.4; the static filter chains have none): a packet meets them
 * only on an interface a HEP claims, the incoming or the outgoing one of a
 * forwarded packet.
 */
static bool
path_policed(const struct hostenv *env, const struct eval_input *in)
{
	bool hin = hostenv_hep_for_iface(env, hostenv_iface(env, in->k.iif)) != NULL;
	bool hout = hostenv_hep_for_iface(env, hostenv_iface(env, in->k.oif)) != NULL;

	if (in->path == PATH_LOCAL_IN)
		return hin;
	if (in->path == PATH_LOCAL_OUT)
		return hout;
	return hin || hout;
}

static void
apply_dnat(struct ectx *c, const struct eval_input *in, struct pkt_key *k)
{
	char a[ADDR_STRLEN];

	if (!in->dnat)
		return;
	k->dst = in->dnat_addr;
	if (in->dnat_port_set)
		k->dport = in->dnat_port;
	c->stage = STAGE_PREDNAT;
	step_add(c, STEP_DNAT, "kube-proxy DNAT: destination now %s port %u",
		 addr_format(&k->dst, k->family, a), k->dport);
}

int
eval_packet(const struct hostenv *env, const struct eval_input *in, struct eval_result *out)
{
	struct ectx c = { .env = env, .out = out };
	struct pkt_key k = in->k;
	bool ingress_path = in->path != PATH_LOCAL_OUT;
	uint32_t first_if = ingress_path ? k.iif : k.oif;
	enum outcome o;

	memset(out, 0, sizeof(*out));
	out->final.rule = -1;
	out->final.stage = STAGE_NONE;

	/* 1. untracked (raw) */
	o = eval_stage(&c, STAGE_UNTRACKED, ingress_path ? DIR_INGRESS : DIR_EGRESS, first_if, &k);
	if (o != OUT_CONTINUE)
		goto out;

	/* 2. conntrack */
	c.stage = STAGE_CONNTRACK;
	c.hep = NULL;
	if (k.ct == CT_ESTABLISHED || k.ct == CT_RELATED) {
		step_add(&c, STEP_CONNTRACK, "conntrack %s: accept",
			 k.ct == CT_ESTABLISHED ? "established" : "related")->action = "accept";
		decide(&c, true, REASON_CONNTRACK, NULL, NULL, -1);
		return 0;
	}
	if (k.ct == CT_INVALID && env->invalid_drop && path_policed(env, in)) {
		step_add(&c, STEP_CONNTRACK, "conntrack invalid: drop")->action = "drop";
		decide(&c, false, REASON_INVALID, NULL, NULL, -1);
		return 0;
	}

	/* 3. preDNAT (ingress only) */
	bool prednat_allowed = false;

	if (ingress_path) {
		o = eval_stage(&c, STAGE_PREDNAT, DIR_INGRESS, k.iif, &k);
		if (o == OUT_DENY || o == OUT_NOMEM)
			goto out;
		prednat_allowed = o == OUT_ALLOW;
	}
	apply_dnat(&c, in, &k);

	/* 4. normal or forward */
	if (in->path == PATH_LOCAL_IN) {
		if (prednat_allowed)
			return 0;	/* a preDNAT Allow is final for host ingress */
		o = eval_stage(&c, STAGE_NORMAL, DIR_INGRESS, k.iif, &k);
		goto out;
	}
	if (in->path == PATH_LOCAL_OUT) {
		o = eval_stage(&c, STAGE_NORMAL, DIR_EGRESS, k.oif, &k);
		goto out;
	}
	if (!prednat_allowed) {
		o = eval_stage(&c, STAGE_FORWARD, DIR_INGRESS, k.iif, &k);
		if (o == OUT_DENY || o == OUT_NOMEM)
			goto out;
	}
	o = eval_stage(&c, STAGE_FORWARD, DIR_EGRESS, k.oif, &k);
	if (o == OUT_CONTINUE && out->final.stage == STAGE_NONE) {
		/* Nothing dropped it: forwarded traffic passes. */
		decide(&c, true, REASON_NO_POLICY, NULL, NULL, -1);
	}
out:
	return o == OUT_NOMEM ? -ENOMEM : 0;
}
