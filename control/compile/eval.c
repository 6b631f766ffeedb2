/*
 * eval.c - the reference evaluator (see eval.h). Control thread only.
 *
 * Every question is answered from the policy model directly: which policies
 * select the endpoint, in which order, whether each rule matches (rule
 * selectors are evaluated against every labelled object each time). Slow on
 * purpose, and written to be read next to docs/semantics.md §1. This file
 * walks the packet's path stage by stage and matches rules; the walk of the
 * tiers within a stage is in eval_tiers.c.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "eval_int.h"
#include "json.h"

const char *
path_name(enum path p)
{
	return p == PATH_LOCAL_IN ? "local-in" : p == PATH_LOCAL_OUT ? "local-out" : "forwarded";
}

struct step *
eval_step(struct ectx *c, enum step_kind kind, const char *fmt, ...)
{
	static struct step sink;
	struct step *s;
	va_list ap;
	int n;

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
	n = vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(s->detail))	/* cut: never inside a UTF-8 character */
		s->detail[json_utf8_cut(s->detail, sizeof(s->detail) - 1, sizeof(s->detail) - 1)] =
			'\0';
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

/* Is @a the address of an object (HEP, pod, GlobalNetworkSet, NetworkSet) @sel selects? */
static bool
in_selector_set(const struct hostenv *env, const struct selector *sel, uint8_t family,
		const struct addr *a)
{
	struct ep_ref h;

	for (size_t i = 0; hostenv_endpoint(env, i, &h); i++)
		if (ips_contain(h.ips, h.nips, family, a) && selector_match(sel, h.labels))
			return true;
	for (size_t i = 0; i < env->ps->nnetsets; i++) {
		const struct netset *s = env->ps->netsets[i];

		if (ips_contain(s->nets, s->nnets, family, a) && selector_match(sel, &s->labels))
			return true;
	}
	return false;
}

/* (addr, proto, port) belongs to an endpoint's port named @name (docs/semantics.md §6). */
static bool
in_named_port(const struct hostenv *env, const struct entity *e, const struct rule *r,
	      const char *name, const struct pkt_key *k, const struct addr *a, uint16_t port)
{
	struct ep_ref h;

	for (size_t i = 0; hostenv_endpoint(env, i, &h); i++) {
		if (e->sel != NULL && !selector_match(e->sel, h.labels))
			continue;
		if (!ips_contain(h.ips, h.nips, k->family, a))
			continue;
		for (size_t j = 0; j < h.nports; j++) {
			const struct named_port *np = &h.ports[j];

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

	if (e->has_services)
		return false;		/* Service endpoints are not resolved */
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
 * non-empty nets/notNets list holds only CIDRs of the other one (§1.7). (The
 * compiler decides this on its own in compile_build.c, on purpose: see
 * eval_tiers.c.)
 */
static bool
rule_renders_for(const struct rule *r, uint8_t family)
{
	const struct entity *ents[2] = { &r->src, &r->dst };

	if (r->ip_version != 0 && (r->ip_version == 4) != (family == AF_INET))
		return false;
	for (int i = 0; i < 2; i++) {
		const struct entity *e = ents[i];

		if (e->nnets && !cidrs_have_family(e->nets, e->nnets, family))
			return false;
		if (e->nnot_nets && !cidrs_have_family(e->not_nets, e->nnot_nets, family))
			return false;
	}
	return true;
}

static bool
icmp_match(const struct pkt_key *k, uint8_t type, bool has_code, uint8_t code)
{
	return k->icmp_type == type && (!has_code || k->icmp_code == code);
}

bool
eval_rule_match(const struct hostenv *env, const struct rule *r, const struct pkt_key *k)
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

/* ---- one stage on one endpoint ------------------------------------------------------ */

void
eval_decide(struct ectx *c, bool allow, enum reason reason, const char *tier, const char *policy,
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

/*
 * nfqwall's own port (hostenv.self): TCP from a loopback source to the
 * address and port, in either direction; in the raw table its replies too, as for a
 * failsafe.
 */
static bool
self_dport(const struct ectx *c, const struct pkt_key *k)
{
	for (size_t i = 0; i < c->env->self.n; i++)
		if (c->env->self.v[i].port == k->dport)
			return true;
	return false;
}

static bool
self_match(const struct ectx *c, const struct pkt_key *k)
{
	const struct failsafe_list *l = &c->env->self;

	if (!(k->flags & PKT_F_PORTS) || k->proto != IPPROTO_TCP)
		return false;
	for (size_t i = 0; i < l->n; i++) {
		const struct failsafe *f = &l->v[i];

		const struct cidr *lo = hostenv_loopback(k->family);

		if (f->net.family != k->family)
			continue;
		if (f->port == k->dport && cidr_contains(&f->net, &k->dst) &&
		    cidr_contains(lo, &k->src))
			return true;
		if (c->stage == STAGE_UNTRACKED && f->port == k->sport &&
		    cidr_contains(&f->net, &k->src) && cidr_contains(lo, &k->dst))
			return true;
	}
	return false;
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
		eval_step(c, STEP_STAGE, "%s %s on %s: no host endpoint, not policed",
			 stage_name(stage), dir == DIR_INGRESS ? "ingress" : "egress", ifname);
		if (stage == STAGE_NORMAL) {
			eval_decide(c, true, REASON_NO_HEP, NULL, NULL, -1);
			return OUT_ALLOW;
		}
		return OUT_CONTINUE;
	}
	if (stage == STAGE_UNTRACKED && hep_is_wildcard(h)) {
		eval_step(c, STEP_STAGE, "untracked: host endpoint %s is \"*\": doNotTrack ignored",
			 h->name);
		return OUT_CONTINUE;
	}
	eval_step(c, STEP_STAGE, "%s %s on %s: host endpoint %s", stage_name(stage),
		 dir == DIR_INGRESS ? "ingress" : "egress", ifname, h->name);
	if (stage != STAGE_FORWARD && self_match(c, k)) {
		eval_step(c, STEP_FAILSAFE, "nfqwall's own HTTP port tcp %u on loopback (probes, "
			 "metrics): always accepted unless --no-allow-self", stage == STAGE_UNTRACKED &&
			 !self_dport(c, k) ? k->sport : k->dport)->action =
			 stage == STAGE_NORMAL ? "accept" : "skip stage";
		if (stage == STAGE_NORMAL) {
			eval_decide(c, true, REASON_FAILSAFE, NULL, NULL, -1);
			return OUT_ALLOW;
		}
		return OUT_CONTINUE;
	}
	if (stage != STAGE_FORWARD && failsafe_match(c, k)) {
		eval_step(c, STEP_FAILSAFE, "failsafe port %s %u", k->proto == IPPROTO_TCP ? "tcp" :
			 "udp", c->dir == DIR_INGRESS || stage != STAGE_UNTRACKED ? k->dport :
			 k->sport)->action = stage == STAGE_NORMAL ? "accept" : "skip stage";
		if (stage == STAGE_NORMAL) {
			eval_decide(c, true, REASON_FAILSAFE, NULL, NULL, -1);
			return OUT_ALLOW;
		}
		return OUT_CONTINUE;
	}
	res = eval_walk_tiers(c, h, k, &any_policy);
	eval_staged(c, h, k);
	if (res != OUT_CONTINUE)
		return res;
	if (stage == STAGE_NORMAL)
		return eval_walk_profiles(c, h);
	if (!any_policy && stage == STAGE_FORWARD)
		eval_step(c, STEP_RESULT, "no applyOnForward policy for this direction: not dropped");
	return OUT_CONTINUE;
}

/* ---- the whole path --------------------------------------------------------------------- */

/*
 * Felix's conntrack rules sit in the host endpoint chains (docs/semantics.md
 * §1, §3; the static filter chains have none): a packet meets them
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
	eval_step(c, STEP_DNAT, "kube-proxy DNAT: destination now %s port %u",
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
		eval_step(&c, STEP_CONNTRACK, "conntrack %s: accept",
			 k.ct == CT_ESTABLISHED ? "established" : "related")->action = "accept";
		eval_decide(&c, true, REASON_CONNTRACK, NULL, NULL, -1);
		return 0;
	}
	if (k.ct == CT_INVALID && env->invalid_drop && path_policed(env, in)) {
		eval_step(&c, STEP_CONNTRACK, "conntrack invalid: drop")->action = "drop";
		eval_decide(&c, false, REASON_INVALID, NULL, NULL, -1);
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
		eval_decide(&c, true, REASON_NO_POLICY, NULL, NULL, -1);
	}
out:
	return o == OUT_NOMEM ? -ENOMEM : 0;
}
