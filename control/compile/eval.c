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
#include "rulefmt.h"

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
	/*
	 * Cut: never inside a UTF-8 character. The buffer holds the first bytes of a
	 * longer text, its last character perhaps incomplete: cut before the one
	 * that holds its last byte.
	 */
	if (n >= (int)sizeof(s->detail))
		s->detail[json_utf8_cut(s->detail, sizeof(s->detail) - 1, sizeof(s->detail) - 2)] =
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

/* ---- why a rule missed ------------------------------------------------------------ */

/* Say in @m (may be NULL) that @side.@what failed: always returns false. */
static bool __printf(4, 5)
miss(struct eval_miss *m, const char *side, const char *what, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (m == NULL)
		return false;
	snprintf(m->field, sizeof(m->field), "%s%s%s", side ? side : "", side ? "." : "", what);
	va_start(ap, fmt);
	n = vsnprintf(m->text, sizeof(m->text), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(m->text))	/* cut: never inside a UTF-8 character */
		m->text[json_utf8_cut(m->text, sizeof(m->text) - 1, sizeof(m->text) - 2)] = '\0';
	return false;
}

/* The first of @v that holds @a, or NULL. */
static const struct cidr *
cidr_holding(const struct cidr *v, size_t n, uint8_t family, const struct addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == family && cidr_contains(&v[i], a))
			return &v[i];
	return NULL;
}

static bool
entity_miss_sel(struct eval_miss *m, const char *side, const char *what,
		const struct selector *sel, const char *addr, bool want_in)
{
	char st[200];

	if (m == NULL)
		return false;
	selector_format(sel, st, sizeof(st));
	if (want_in)
		return miss(m, side, what, "%s is not an address of any HostEndpoint (expectedIPs), pod "
			    "or network set matching %s", addr, st);
	return miss(m, side, what, "%s is an address of a HostEndpoint, pod or network set "
		    "matching %s", addr, st);
}

static bool
entity_match(const struct hostenv *env, const struct rule *r, const struct entity *e,
	     const struct pkt_key *k, bool src, struct eval_miss *m)
{
	const char *side = src ? "source" : "destination";
	const struct addr *a = src ? &k->src : &k->dst;
	uint16_t port = src ? k->sport : k->dport;
	char as[ADDR_STRLEN], list[400];

	if (m != NULL)
		addr_format(a, k->family, as);
	else
		as[0] = '\0';
	if (e->has_services)		/* Service endpoints are not resolved */
		return miss(m, side, "services", "Kubernetes Service endpoints are not resolved "
			    "by nfqwall: never matches");
	if (e->nnets && !ips_contain(e->nets, e->nnets, k->family, a)) {
		if (m != NULL)
			rulefmt_nets(list, sizeof(list), e->nets, e->nnets);
		return miss(m, side, "nets", "%s not in %s", as, m ? list : "");
	}
	if (e->nnot_nets && ips_contain(e->not_nets, e->nnot_nets, k->family, a)) {
		const struct cidr *c = cidr_holding(e->not_nets, e->nnot_nets, k->family, a);
		char cs[CIDR_STRLEN];

		return miss(m, side, "notNets", "%s in %s", as, c ? cidr_format(c, cs) : "?");
	}
	if (e->sel && !in_selector_set(env, e->sel, k->family, a))
		return entity_miss_sel(m, side, "selector", e->sel, as, true);
	if (e->not_sel && in_selector_set(env, e->not_sel, k->family, a))
		return entity_miss_sel(m, side, "notSelector", e->not_sel, as, false);
	if (e->nports || e->nnot_ports) {
		char pb[8];

		if (!(k->flags & PKT_F_PORTS))	/* no L4 header: a port match never matches */
			return miss(m, side, e->nports ? "ports" : "notPorts",
				    "the packet has no ports (%s)", rulefmt_proto(k->proto, pb));
		if (e->nports && !port_list_match(env, e, r, e->ports, e->nports, k, a, port)) {
			if (m != NULL)
				rulefmt_ports(list, sizeof(list), e->ports, e->nports);
			return miss(m, side, "ports", "%u not in %s", port, m ? list : "");
		}
		if (e->nnot_ports &&
		    port_list_match(env, e, r, e->not_ports, e->nnot_ports, k, a, port)) {
			if (m != NULL)
				rulefmt_ports(list, sizeof(list), e->not_ports, e->nnot_ports);
			return miss(m, side, "notPorts", "%u in %s", port, m ? list : "");
		}
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
rule_renders_for(const struct rule *r, uint8_t family, struct eval_miss *m)
{
	const struct entity *ents[2] = { &r->src, &r->dst };
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	const char *other = family == AF_INET ? "IPv6" : "IPv4";

	if (r->ip_version != 0 && (r->ip_version == 4) != (family == AF_INET))
		return miss(m, NULL, "ipVersion", "%u, the packet is %s", r->ip_version, fam);
	for (int i = 0; i < 2; i++) {
		const struct entity *e = ents[i];
		const char *side = i == 0 ? "source" : "destination";

		if (e->nnets && !cidrs_have_family(e->nets, e->nnets, family))
			return miss(m, side, "nets", "only %s nets, the packet is %s (the rule is "
				    "not rendered for %s)", other, fam, fam);
		if (e->nnot_nets && !cidrs_have_family(e->not_nets, e->nnot_nets, family))
			return miss(m, side, "notNets", "only %s nets, the packet is %s (the rule "
				    "is not rendered for %s)", other, fam, fam);
	}
	return true;
}

static bool
icmp_match(const struct pkt_key *k, uint8_t type, bool has_code, uint8_t code)
{
	return k->icmp_type == type && (!has_code || k->icmp_code == code);
}

/* "type 8" or "type 8 code 0" into @buf (24 bytes). */
static const char *
icmp_text(uint8_t type, bool has_code, uint8_t code, char *buf)
{
	if (has_code)
		snprintf(buf, 24, "type %u code %u", type, code);
	else
		snprintf(buf, 24, "type %u", type);
	return buf;
}

bool
eval_rule_match_why(const struct hostenv *env, const struct rule *r, const struct pkt_key *k,
		    struct eval_miss *m)
{
	char p1[8], p2[8], t1[24], t2[24];

	if (!rule_renders_for(r, k->family, m))
		return false;
	if (r->proto != 0 && k->proto != r->proto)
		return miss(m, NULL, "protocol", "%s != %s", rulefmt_proto(k->proto, p1),
			    rulefmt_proto(r->proto, p2));
	if (r->not_proto != 0 && k->proto == r->not_proto)
		return miss(m, NULL, "notProtocol", "%s is excluded", rulefmt_proto(k->proto, p1));
	if (r->has_icmp && !(k->flags & PKT_F_ICMP))
		return miss(m, NULL, "icmp",
			    "the packet is not ICMP of its IP version");
	if (r->has_icmp && !icmp_match(k, r->icmp_type, r->icmp_has_code, r->icmp_code))
		return miss(m, NULL, "icmp", "%s != %s", icmp_text(k->icmp_type, true,
			    k->icmp_code, t1), icmp_text(r->icmp_type, r->icmp_has_code,
			    r->icmp_code, t2));
	if (r->has_not_icmp && !(k->flags & PKT_F_ICMP))
		return miss(m, NULL, "notICMP", "the packet is not ICMP of its IP version");
	if (r->has_not_icmp &&
	    icmp_match(k, r->not_icmp_type, r->not_icmp_has_code, r->not_icmp_code))
		return miss(m, NULL, "notICMP", "%s is excluded", icmp_text(k->icmp_type, true,
			    k->icmp_code, t1));
	return entity_match(env, r, &r->src, k, true, m) &&
	       entity_match(env, r, &r->dst, k, false, m);
}

bool
eval_rule_match(const struct hostenv *env, const struct rule *r, const struct pkt_key *k)
{
	return eval_rule_match_why(env, r, k, NULL);
}

struct eval_miss *
eval_miss_add(struct ectx *c, int rule, const struct srcloc *loc)
{
	struct eval_miss *m;

	if (c->why == NULL)
		return NULL;
	if (c->why->n == c->why->cap) {
		c->why->dropped++;
		return NULL;
	}
	m = &c->why->v[c->why->n++];
	memset(m, 0, sizeof(*m));
	m->rule = rule;
	m->loc = *loc;
	return m;
}

void
eval_miss_attach(struct ectx *c, size_t mark, const struct step *s)
{
	struct eval_why *w = c->why;
	size_t idx;

	if (w == NULL)
		return;
	if (s < c->out->steps || s >= c->out->steps + EVAL_MAX_STEPS) {
		w->dropped += w->n - mark;	/* the step itself did not fit */
		w->n = mark;
		return;
	}
	idx = (size_t)(s - c->out->steps);
	for (size_t i = mark; i < w->n; i++)
		w->v[i].step = idx;
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
	const char *ifname = ifc == NULL ? "?" : *ifc->name ? ifc->name : "(unnamed)";
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
	struct ectx c = { .env = env, .out = out, .why = in->why };
	struct pkt_key k = in->k;
	bool ingress_path = in->path != PATH_LOCAL_OUT;
	uint32_t first_if = ingress_path ? k.iif : k.oif;
	enum outcome o;

	memset(out, 0, sizeof(*out));
	if (in->why != NULL) {
		in->why->n = 0;
		in->why->dropped = 0;
	}
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
