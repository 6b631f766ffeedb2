/*
 * lint.c - warnings about valid policy that probably does not do what its
 * author meant (nfqwall check). Control thread only.
 *
 *   - rules after an unconditional Allow/Deny/Pass are unreachable;
 *   - overlapping or duplicate ports and nets inside one list;
 *   - a policy whose rules in a direction are all Log flips the endpoints it
 *     selects to default-deny (docs/semantics.md §12);
 *   - a policy that selects no HostEndpoint of --node;
 *   - ingress default-deny on an endpoint that polices loopback without a
 *     rule allowing 127.0.0.0/8 (§9.3);
 *   - rule parts nfqwall cannot resolve for hosts (pods, services);
 *   - destination nets on an ingress Allow of a host-only policy (they pick
 *     the node's own addresses, not the clients);
 *   - NodePorts allowed outside preDNAT, and preDNAT policies that only allow;
 *   - Felix's default failsafe ports open to all while no FelixConfiguration
 *     narrows them (once per run);
 *   - rule selectors matching HostEndpoints without expectedIPs.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "lint.h"
#include "rulefmt.h"

static void
lint_at(struct polset *ps, const struct srcloc *loc, const char *object, const char *field,
	enum diag_level lvl, const char *msg)
{
	diag_add(&ps->diags, lvl, loc->file, loc->line, loc->col, object, field, "%s", msg);
}

static bool
rule_is_unconditional(const struct rule *r)
{
	const struct entity *e[2] = { &r->src, &r->dst };

	if (r->proto || r->not_proto || r->ip_version || r->has_icmp || r->has_not_icmp)
		return false;
	for (int i = 0; i < 2; i++)
		if (e[i]->nnets || e[i]->nnot_nets || e[i]->sel || e[i]->not_sel || e[i]->nports ||
		    e[i]->nnot_ports || e[i]->has_sa || e[i]->has_services || e[i]->ns_sel)
			return false;
	return true;
}

static void
lint_ports(struct polset *ps, const struct rule *r, const char *obj, const char *field,
	   const struct port_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			char f[160], msg[200];

			if (v[i].name || v[j].name) {
				if (v[i].name && v[j].name && strcmp(v[i].name, v[j].name) == 0) {
					snprintf(f, sizeof(f), "%s[%zu]", field, j);
					snprintf(msg, sizeof(msg), "port \"%s\" is listed twice",
						 v[j].name);
					lint_at(ps, &r->loc, obj, f, DIAG_WARN, msg);
				}
				continue;
			}
			if (v[i].lo <= v[j].hi && v[j].lo <= v[i].hi) {
				snprintf(f, sizeof(f), "%s[%zu]", field, j);
				if (v[i].lo == v[j].lo && v[i].hi == v[j].hi)
					snprintf(msg, sizeof(msg), "duplicate of %s[%zu]", field, i);
				else
					snprintf(msg, sizeof(msg), "overlaps %s[%zu] (%u:%u and %u:%u)",
						 field, i, v[i].lo, v[i].hi, v[j].lo, v[j].hi);
				lint_at(ps, &r->loc, obj, f, DIAG_WARN, msg);
			}
		}
}

static void
lint_nets(struct polset *ps, const struct rule *r, const char *obj, const char *field,
	  const struct cidr *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			char f[160], msg[240], a[CIDR_STRLEN], b[CIDR_STRLEN];

			if (v[i].family != v[j].family)
				continue;
			if (!cidr_contains(&v[i], &v[j].addr) && !cidr_contains(&v[j], &v[i].addr))
				continue;
			snprintf(f, sizeof(f), "%s[%zu]", field, j);
			if (v[i].plen == v[j].plen)
				snprintf(msg, sizeof(msg), "duplicate of %s[%zu]", field, i);
			else
				snprintf(msg, sizeof(msg), "%s overlaps %s[%zu] %s",
					 cidr_format(&v[j], a), field, i, cidr_format(&v[i], b));
			lint_at(ps, &r->loc, obj, f, DIAG_WARN, msg);
		}
}

/* Does any labelled object (HEP of any node, network set) match @sel? */
static bool
selector_matches_something(const struct polset *ps, const struct selector *sel)
{
	for (size_t i = 0; i < ps->nheps; i++)
		if (selector_match(sel, &ps->heps[i]->labels))
			return true;
	for (size_t i = 0; i < ps->nnetsets; i++)
		if (selector_match(sel, &ps->netsets[i]->labels))
			return true;
	return false;
}

/*
 * A rule selector matches an endpoint by its addresses, and a HostEndpoint's
 * are its expectedIPs (docs/semantics.md §6.2): one without them adds nothing.
 */
static void
lint_selector_no_ips(struct polset *ps, const struct rule *r, const char *obj, const char *f,
		     const struct selector *sel)
{
	const struct hep *first = NULL;
	size_t nbare = 0, nother = 0;
	char msg[700];

	for (size_t i = 0; i < ps->nheps; i++) {
		const struct hep *h = ps->heps[i];

		if (!selector_match(sel, &h->labels))
			continue;
		if (h->nips > 0) {
			nother++;
		} else if (nbare++ == 0) {
			first = h;
		}
	}
	for (size_t i = 0; i < ps->nnetsets; i++)
		if (selector_match(sel, &ps->netsets[i]->labels))
			nother++;
	if (first == NULL)
		return;
	snprintf(msg, sizeof(msg), "matches HostEndpoint %.253s%s, which has no expectedIPs: a "
		 "rule selector matches an endpoint by its addresses, and a HostEndpoint's are its "
		 "expectedIPs, so %s; list the node's addresses in spec.expectedIPs, or match "
		 "them with nets", first->name, nbare > 1 ? " (and others without expectedIPs)" : "",
		 nother == 0 ? "this selector matches no address at all" :
		 "that endpoint adds no address to what this selector matches");
	lint_at(ps, &r->loc, obj, f, DIAG_WARN, msg);
}

static void
lint_entity(struct polset *ps, const struct rule *r, const char *obj, const char *rpath,
	    const char *side)
{
	const struct entity *e = strcmp(side, "source") == 0 ? &r->src : &r->dst;
	char f[160];

	snprintf(f, sizeof(f), "%s.%s.ports", rpath, side);
	lint_ports(ps, r, obj, f, e->ports, e->nports);
	snprintf(f, sizeof(f), "%s.%s.notPorts", rpath, side);
	lint_ports(ps, r, obj, f, e->not_ports, e->nnot_ports);
	snprintf(f, sizeof(f), "%s.%s.nets", rpath, side);
	lint_nets(ps, r, obj, f, e->nets, e->nnets);
	snprintf(f, sizeof(f), "%s.%s.notNets", rpath, side);
	lint_nets(ps, r, obj, f, e->not_nets, e->nnot_nets);
	if (e->sa_unrestricted) {
		snprintf(f, sizeof(f), "%s.%s.serviceAccounts", rpath, side);
		lint_at(ps, &r->loc, obj, f, DIAG_WARN,
			"names no service account and has no selector, so it restricts nothing: "
			"as in Calico, this side matches every address; give names or a selector, "
			"or remove serviceAccounts");
	} else if (e->has_sa) {
		snprintf(f, sizeof(f), "%s.%s.serviceAccounts", rpath, side);
		lint_at(ps, &r->loc, obj, f, DIAG_WARN,
			"service accounts select pods, which nfqwall resolves in Kubernetes mode "
			"only (run --kubernetes): with these files alone the rule matches no pod");
	} else if (e->sel && !selector_matches_something(ps, e->sel)) {
		snprintf(f, sizeof(f), "%s.%s.selector", rpath, side);
		lint_at(ps, &r->loc, obj, f, DIAG_WARN,
			"matches no HostEndpoint or network set loaded here, so with these files "
			"alone the rule matches no address; pods and every Node's auto host "
			"endpoint are resolved in Kubernetes mode only (run --kubernetes)");
	} else if (e->sel) {
		snprintf(f, sizeof(f), "%s.%s.selector", rpath, side);
		lint_selector_no_ips(ps, r, obj, f, e->sel);
	}
	if (e->has_services) {
		snprintf(f, sizeof(f), "%s.%s.services", rpath, side);
		lint_at(ps, &r->loc, obj, f, DIAG_WARN,
			"Kubernetes Service endpoints are not resolved by nfqwall: this rule never "
			"matches");
	}
}

/* Kubernetes' default --service-node-port-range. */
#define NODEPORT_LO	30000
#define NODEPORT_HI	32767

/*
 * An ingress Allow of @p: destination nets on a host-only policy, and a
 * NodePort range outside preDNAT.
 */
static void
lint_ingress_allow(struct polset *ps, const struct policy *p, const struct rule *r,
		   const char *obj, size_t idx)
{
	char f[96], nets[400], msg[1200], range[16];

	if (r->action != ACT_ALLOW)
		return;
	/*
	 * Without applyOnForward the policy sees only traffic to the host, whose
	 * destination is always one of the node's addresses (§4).
	 */
	if (r->dst.nnets > 0 && !p->apply_on_forward) {
		rulefmt_nets(nets, sizeof(nets), r->dst.nets, r->dst.nnets);
		snprintf(f, sizeof(f), "spec.ingress[%zu].destination.nets", idx);
		snprintf(msg, sizeof(msg), "destination nets on an ingress Allow of a policy "
			 "without applyOnForward: the packets it judges are addressed to this "
			 "node, so its nets (%s) pick which of the node's own addresses may be "
			 "reached, not who may connect: any source may reach those addresses; if "
			 "you meant to allow only clients in these nets, write source.nets "
			 "instead", nets);
		lint_at(ps, &r->loc, obj, f, DIAG_WARN, msg);
	}
	if (p->pre_dnat)
		return;
	for (size_t j = 0; j < r->dst.nports; j++) {
		const struct port_item *pi = &r->dst.ports[j];

		if (pi->name != NULL || pi->hi < NODEPORT_LO || pi->lo > NODEPORT_HI)
			continue;
		snprintf(f, sizeof(f), "spec.ingress[%zu].destination.ports[%zu]", idx, j);
		if (pi->lo == pi->hi)
			snprintf(range, sizeof(range), "%u", pi->lo);
		else
			snprintf(range, sizeof(range), "%u:%u", pi->lo, pi->hi);
		snprintf(msg, sizeof(msg), "%s overlaps the NodePort range %u:%u, but this "
			 "policy is not preDNAT: kube-proxy (iptables or nftables mode) rewrites "
			 "NodePort traffic to a pod's address and port before filter INPUT, so it "
			 "becomes forwarded traffic%s "
			 "(only a host process listening on such a port itself is allowed here); "
			 "police NodePorts in a policy with preDNAT: true, applyOnForward: true and "
			 "types: [Ingress] (see examples/nodeports.yaml)", range,
			 NODEPORT_LO, NODEPORT_HI, p->apply_on_forward ?
			 " that meets this policy only in the forward stage, after the rewrite, "
			 "with the pod's port, never the NodePort" : " and never meets this policy");
		lint_at(ps, &r->loc, obj, f, DIAG_WARN, msg);
		return;
	}
}

/* A preDNAT policy whose ingress rules all allow (or log) blocks nothing (§4). */
static void
lint_prednat_allow_only(struct polset *ps, const struct policy *p, const char *obj)
{
	size_t nallow = 0;

	if (!p->pre_dnat || p->ningress == 0)
		return;
	for (size_t i = 0; i < p->ningress; i++) {
		if (p->ingress[i].action == ACT_ALLOW)
			nallow++;
		else if (p->ingress[i].action != ACT_LOG)
			return;
	}
	if (nallow == 0)
		return;
	lint_at(ps, &p->loc, obj, "spec.ingress", DIAG_WARN,
		"every ingress rule of this preDNAT policy allows: a preDNAT tier never ends in "
		"Deny, so a packet no rule matches goes on (to the normal policies when it is "
		"for the host, to the forward stage when kube-proxy forwards it, where it is not "
		"dropped unless an applyOnForward policy denies it), and this policy blocks "
		"nothing; what it does allow skips the normal policies (traffic to the host) and "
		"the forward-ingress check; to restrict, add a Deny after the Allows, e.g. "
		"{action: Deny, protocol: TCP, destination: {ports: [\"30000:32767\"]}}");
}

static void
lint_rules(struct polset *ps, const struct policy *p, const char *obj, bool ingress)
{
	const struct rule *rules = ingress ? p->ingress : p->egress;
	size_t n = ingress ? p->ningress : p->negress;
	const char *dir = ingress ? "ingress" : "egress";
	size_t nlog = 0;
	char f[64], msg[200];

	for (size_t i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "spec.%s[%zu]", dir, i);
		lint_entity(ps, &rules[i], obj, f, "source");
		lint_entity(ps, &rules[i], obj, f, "destination");
		if (rules[i].action == ACT_LOG)
			nlog++;
	}
	if (ingress) {
		for (size_t i = 0; i < n; i++)
			lint_ingress_allow(ps, p, &rules[i], obj, i);
		lint_prednat_allow_only(ps, p, obj);
	}
	for (size_t i = 0; i + 1 < n; i++) {
		if (rules[i].action == ACT_LOG || !rule_is_unconditional(&rules[i]))
			continue;
		snprintf(f, sizeof(f), "spec.%s[%zu]", dir, i + 1);
		snprintf(msg, sizeof(msg), "unreachable: %s[%zu] is an unconditional %s, so the "
			 "%zu rule%s after it never match%s", dir, i, action_name(rules[i].action),
			 n - i - 1, n - i - 1 == 1 ? "" : "s", n - i - 1 == 1 ? "es" : "");
		lint_at(ps, &rules[i + 1].loc, obj, f, DIAG_WARN, msg);
		break;
	}
	if (n > 0 && nlog == n && (p->types & (ingress ? TYPE_INGRESS : TYPE_EGRESS))) {
		snprintf(f, sizeof(f), "spec.%s", dir);
		snprintf(msg, sizeof(msg), "every %s rule is Log: Log never decides, so the "
			 "endpoints this policy selects fall to the end-of-tier Deny for %s; add an "
			 "Allow after the Log", dir, dir);
		lint_at(ps, &p->loc, obj, f, DIAG_WARN, msg);
	}
}

/* Would a local-in TCP packet 127.0.0.1 -> 127.0.0.1 on lo be dropped? 0 or -ENOMEM. */
static int
lint_loopback(struct polset *ps, const struct hep *h, const char *node)
{
	struct hostenv_opts o = { .node = node };
	struct hostenv env;
	struct eval_input in;
	struct eval_result *res = NULL;
	struct cidr lo;
	char why[128];
	int err;

	if (!hep_is_wildcard(h) && !(h->iface && strcmp(h->iface, "lo") == 0))
		return 0;
	err = hostenv_build(&env, ps, &o, why, sizeof(why));
	if (err < 0)
		return err == -ENOMEM ? err : 0;
	err = cidr_parse("127.0.0.1", CIDR_LOOSE, &lo);
	if (err < 0) {
		err = 0;
		goto out;
	}
	err = hostenv_add_iface(&env, 1, "lo", &lo, 1);
	if (err < 0)
		goto out;
	/* one endpoint governs lo (§3.2): only that one is blamed */
	if (hostenv_hep_for_iface(&env, hostenv_iface(&env, 1)) != h)
		goto out;
	memset(&in, 0, sizeof(in));
	in.path = PATH_LOCAL_IN;
	in.k.family = AF_INET;
	in.k.proto = IPPROTO_TCP;
	in.k.flags = PKT_F_PORTS;
	in.k.src = lo.addr;
	in.k.dst = lo.addr;
	in.k.sport = 40000;
	in.k.dport = 10248;		/* kubelet healthz */
	in.k.iif = 1;
	res = malloc(sizeof(*res));
	err = res == NULL ? -ENOMEM : eval_packet(&env, &in, res);
	if (err == 0 && !res->final.allow && res->final.stage == STAGE_NORMAL) {
		const struct decision *d = &res->final;
		char obj[300], msg[600], by[300];

		if (d->reason == REASON_RULE)
			snprintf(by, sizeof(by), "rule %d of %s", d->rule, d->policy);
		else
			snprintf(by, sizeof(by), "%s%s%s", reason_name(d->reason),
				 d->tier ? " of tier " : "", d->tier ? d->tier : "");
		snprintf(obj, sizeof(obj), "HostEndpoint/%s", h->name);
		snprintf(msg, sizeof(msg), "loopback trap: this endpoint polices lo and ingress "
			 "from 127.0.0.1 is denied (%s), so local traffic such as kubelet health "
			 "checks is dropped; add an ingress Allow for source nets 127.0.0.0/8", by);
		lint_at(ps, &h->loc, obj, NULL, DIAG_WARN, msg);
	}
out:
	free(res);
	hostenv_free(&env);
	return err;
}

/* Does a FelixConfiguration set the inbound failsafe list for @node (NULL: "default" only)? */
static bool
failsafe_in_configured(const struct polset *ps, const char *node)
{
	for (size_t i = 0; i < ps->nfelixcfgs; i++) {
		const struct felixcfg *f = ps->felixcfgs[i];

		if (!f->in.set)
			continue;
		if (strcmp(f->name, "default") == 0)
			return true;
		if (node != NULL && strncmp(f->name, "node.", 5) == 0 &&
		    strcmp(f->name + 5, node) == 0)
			return true;
	}
	return false;
}

/*
 * Felix's default failsafe ports (§8) are accepted from every source before
 * any policy. Said once, on the first policy that governs host ingress,
 * when no FelixConfiguration narrows them: 0 or -ENOMEM.
 */
static int
lint_failsafe_defaults(struct polset *ps, const char *node)
{
	const struct policy *p = NULL;
	struct failsafe_list def;
	char list[400], msg[1100], obj[300];
	size_t len = 0;

	if (failsafe_in_configured(ps, node))
		return 0;
	for (size_t i = 0; i < ps->npolicies && p == NULL; i++)
		if (ps->policies[i]->kind == KIND_GNP && (ps->policies[i]->types & TYPE_INGRESS))
			p = ps->policies[i];
	if (p == NULL)
		return 0;
	if (failsafe_defaults(&def, true) < 0)
		return -ENOMEM;
	list[0] = '\0';
	for (size_t i = 0; i < def.n && len < sizeof(list) - 16; i++) {
		char pb[8];
		int n = snprintf(list + len, sizeof(list) - len, "%s%s %u", i ? ", " : "",
				 rulefmt_proto(def.v[i].proto, pb), def.v[i].port);

		if (n > 0)
			len += (size_t)n;
	}
	failsafe_list_free(&def);
	snprintf(obj, sizeof(obj), "GlobalNetworkPolicy/%s", p->name);
	snprintf(msg, sizeof(msg), "Felix's default failsafe ports are open to every source, "
		 "before any policy: inbound %s (SSH, DHCP, BGP, etcd, Typha, the API server), "
		 "and no FelixConfiguration narrows them, so no rule of this or any policy closes "
		 "them (said once per check); to narrow them, add a FelixConfiguration named "
		 "default with spec.failsafeInboundHostPorts listing what must stay open and from "
		 "where, e.g. [{protocol: TCP, port: 22, net: 192.168.0.0/16}], or [] for none",
		 list);
	lint_at(ps, &p->loc, obj, "spec.ingress", DIAG_WARN, msg);
	return 0;
}

int
lint_polset(struct polset *ps, const char *node)
{
	for (size_t i = 0; i < ps->npolicies; i++) {
		const struct policy *p = ps->policies[i];
		char obj[300];

		snprintf(obj, sizeof(obj), "%s/%s", p->kind == KIND_SGNP ?
			 "StagedGlobalNetworkPolicy" : "GlobalNetworkPolicy", p->name);
		lint_rules(ps, p, obj, true);
		lint_rules(ps, p, obj, false);
		if (node != NULL) {
			bool any = false;

			for (size_t j = 0; j < ps->nheps && !any; j++)
				any = ps->heps[j]->node && strcmp(ps->heps[j]->node, node) == 0 &&
				      selector_match(p->sel, &ps->heps[j]->labels);
			if (!any) {
				char msg[300];

				snprintf(msg, sizeof(msg), "selects no HostEndpoint of node %s, so it "
					 "does nothing there", node);
				lint_at(ps, &p->loc, obj, "spec.selector", DIAG_WARN, msg);
			}
		}
	}
	for (size_t i = 0; i < ps->nheps; i++) {
		const struct hep *h = ps->heps[i];

		if (node == NULL || (h->node && strcmp(h->node, node) == 0)) {
			int err = lint_loopback(ps, h, h->node);

			if (err < 0)
				return err;
		}
	}
	return lint_failsafe_defaults(ps, node);
}
