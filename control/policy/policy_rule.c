/*
 * policy_rule.c - decoding and validating GlobalNetworkPolicy specs and
 * their rules (calico-semantics.md §1). Control thread only.
 *
 * Validation follows Calico's validator (§1.8): an invalid rule makes the
 * whole policy invalid, and the policy is then rejected with a diagnostic
 * naming the field, as Felix would treat it as absent.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "xalloc.h"

#define MAX_RULES	1024

bool valid_port_name(const char *s);
uint8_t proto_from_name(const char *s, bool *lowercase);

static const struct {
	const char *name;
	uint8_t num;
} proto_names[] = {
	{ "TCP", IPPROTO_TCP },
	{ "UDP", IPPROTO_UDP },
	{ "ICMP", IPPROTO_ICMP },
	{ "ICMPv6", IPPROTO_ICMPV6 },
	{ "SCTP", IPPROTO_SCTP },
	{ "UDPLite", IPPROTO_UDPLITE },
};

/*
 * proto_from_name - a protocol name (case-sensitive, as Calico's validator
 * wants) or a number 1..255 as text. 0 when neither; *lowercase tells when
 * the name is right but the case is not.
 */
uint8_t
proto_from_name(const char *s, bool *lowercase)
{
	uint32_t v;

	*lowercase = false;
	for (size_t i = 0; i < ARRAY_SIZE(proto_names); i++) {
		if (strcmp(s, proto_names[i].name) == 0)
			return proto_names[i].num;
		if (strcasecmp(s, proto_names[i].name) == 0)
			*lowercase = true;
	}
	if (parse_u32(s, 255, &v))
		return (uint8_t)v;
	return 0;
}

static bool
proto_is_name(const yaml_node_t *n, const char *name)
{
	const char *s = ydoc_str(n);

	return s != NULL && strcmp(s, name) == 0;
}

static bool
proto_has_ports(uint8_t p)
{
	return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_SCTP;
}

/* ---- freeing ------------------------------------------------------------------ */

static void
entity_free(struct entity *e)
{
	free(e->nets);
	free(e->not_nets);
	selector_free(e->sel);
	selector_free(e->not_sel);
	selector_free(e->ns_sel);
	for (size_t i = 0; i < e->nports; i++)
		free(e->ports[i].name);
	free(e->ports);
	for (size_t i = 0; i < e->nnot_ports; i++)
		free(e->not_ports[i].name);
	free(e->not_ports);
}

void
rule_free(struct rule *r)
{
	entity_free(&r->src);
	entity_free(&r->dst);
}

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

/* ---- entity rules ------------------------------------------------------------- */

static size_t
decode_cidrs(struct dctx *c, const yaml_node_t *n, const char *field, struct cidr **out)
{
	size_t count = 0, old = c->plen;

	if (!dseq(c, n, field))
		return 0;
	*out = xcalloc(ydoc_len(n), sizeof(**out));
	for (size_t i = 0; i < ydoc_len(n); i++) {
		yaml_node_t *it = ydoc_item(c->y, n, i);
		const char *s;
		int err;

		dpath_push(c, "[%zu]", i);
		s = dstr(c, it, "a CIDR");
		if (s != NULL) {
			err = cidr_parse(s, CIDR_STRICT, &(*out)[count]);
			if (err == -ENOENT)
				derr(c, it, "\"%s\" needs a prefix length (write %s/%s)", s, s,
				     strchr(s, ':') ? "128" : "32");
			else if (err == -EDOM)
				derr(c, it, "\"%s\" has host bits set: the network address is not "
					    "the first address of the prefix", s);
			else if (err < 0)
				derr(c, it, "\"%s\" is not a CIDR", s);
			else
				count++;
		}
		dpath_pop(c, old);
	}
	return count;
}

static size_t
decode_ports(struct dctx *c, const yaml_node_t *n, const char *field, struct port_item **out)
{
	size_t count = 0, old = c->plen;

	if (!dseq(c, n, field))
		return 0;
	*out = xcalloc(ydoc_len(n), sizeof(**out));
	for (size_t i = 0; i < ydoc_len(n); i++) {
		yaml_node_t *it = ydoc_item(c->y, n, i);
		struct port_item *p = &(*out)[count];
		const char *s = ydoc_str(it), *colon;
		uint32_t lo, hi;

		dpath_push(c, "[%zu]", i);
		if (s == NULL) {
			derr(c, it, "a port must be a number, \"min:max\" or a port name");
			goto next;
		}
		colon = strchr(s, ':');
		if (colon != NULL) {
			char a[16] = "";
			size_t alen = (size_t)(colon - s);

			if (alen < sizeof(a))
				memcpy(a, s, alen);
			a[alen < sizeof(a) ? alen : 0] = '\0';
			if (!parse_u32(a, 65535, &lo) || !parse_u32(colon + 1, 65535, &hi)) {
				derr(c, it, "\"%s\" is not a port range \"min:max\" of numbers 1 to "
					    "65535", s);
				goto next;
			}
			if (lo == 0 || hi == 0) {
				derr(c, it, "port 0 is not allowed");
				goto next;
			}
			if (lo > hi) {
				derr(c, it, "port range \"%s\": min is greater than max", s);
				goto next;
			}
		} else if (parse_u32(s, 65535, &lo)) {
			if (lo == 0) {
				derr(c, it, "port 0 is not allowed");
				goto next;
			}
			hi = lo;
		} else if (*s >= '0' && *s <= '9' && strspn(s, "0123456789") == strlen(s)) {
			derr(c, it, "port %s is out of range (1 to 65535)", s);
			goto next;
		} else if (valid_port_name(s)) {
			p->name = xstrdup(s);
			count++;
			goto next;
		} else {
			derr(c, it, "\"%s\" is neither a port, a range \"min:max\" nor a port name "
				    "(at most 15 lowercase letters, digits and '-')", s);
			goto next;
		}
		p->lo = (uint16_t)lo;
		p->hi = (uint16_t)hi;
		count++;
next:
		dpath_pop(c, old);
	}
	return count;
}

static bool
has_numeric_ports(const struct port_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].name == NULL)
			return true;
	return false;
}

/* A selector that may not use global() (only a rule's namespaceSelector may). */
static struct selector *
decode_plain_selector(struct dctx *c, const yaml_node_t *n)
{
	bool ok = true;
	struct selector *s = dselector(c, n, &ok);

	if (s != NULL && selector_uses_global(s)) {
		derr(c, n, "global() is only allowed alone in a rule's namespaceSelector");
		selector_free(s);
		return NULL;
	}
	return s;
}

static struct selector *
must(struct selector *s)
{
	if (s == NULL) {
		fprintf(stderr, "level=error msg=\"out of memory\"\n");
		exit(70);
	}
	return s;
}

static struct selector *
parse_fixed(const char *text)
{
	struct selector *s = NULL;

	if (selector_parse(text, &s, NULL) < 0)
		must(NULL);
	return s;
}

/*
 * Felix's rule selector scoping (calico-semantics.md §1.7, §5): a rule's
 * namespaceSelector restricts its selector to namespaced objects in the
 * selected namespaces (keys prefixed "pcns.", all() meaning any namespace),
 * and global() to non-namespaced objects. notSelector is not scoped.
 */
static void
entity_scope_selector(struct entity *e)
{
	struct selector *scope, *base, *combined;

	if (e->ns_sel == NULL)
		return;
	if (e->ns_global)
		scope = parse_fixed("!has(projectcalico.org/namespace)");
	else
		scope = must(selector_prefixed(e->ns_sel, "pcns.", "projectcalico.org/namespace"));
	base = e->sel ? e->sel : parse_fixed("all()");
	combined = must(selector_and(base, scope));
	selector_free(base);
	selector_free(scope);
	e->sel = combined;
}

static void
decode_entity(struct dctx *c, const yaml_node_t *n, struct entity *e)
{
	static const char *const known[] = {
		"nets", "notNets", "selector", "notSelector", "namespaceSelector", "ports",
		"notPorts", "serviceAccounts", "services", NULL,
	};
	size_t old = c->plen;
	yaml_node_t *f;

	if (n == NULL)
		return;
	if (!dmap(c, n, "source/destination"))
		return;
	dfields(c, n, known);
	if ((f = dget(c, n, "nets")) != NULL) {
		dpath_push(c, ".nets");
		e->nnets = decode_cidrs(c, f, "nets", &e->nets);
		dpath_pop(c, old);
	}
	if ((f = dget(c, n, "notNets")) != NULL) {
		dpath_push(c, ".notNets");
		e->nnot_nets = decode_cidrs(c, f, "notNets", &e->not_nets);
		for (size_t i = 0; i < e->nnot_nets; i++)
			if (e->not_nets[i].plen == 0) {
				size_t o2 = dpath_push(c, "[%zu]", i);

				derr(c, ydoc_item(c->y, f, i),
				     "a catch-all notNets (/0) matches nothing; remove the rule or "
				     "the entry");
				dpath_pop(c, o2);
			}
		dpath_pop(c, old);
	}
	if ((f = dget(c, n, "selector")) != NULL && !(ydoc_str(f) && *ydoc_str(f) == '\0')) {
		dpath_push(c, ".selector");
		e->sel = decode_plain_selector(c, f);
		dpath_pop(c, old);
	}
	if ((f = dget(c, n, "notSelector")) != NULL && !(ydoc_str(f) && *ydoc_str(f) == '\0')) {
		dpath_push(c, ".notSelector");
		e->not_sel = decode_plain_selector(c, f);
		dpath_pop(c, old);
	}
	if ((f = dget(c, n, "namespaceSelector")) != NULL && ydoc_str(f) && *ydoc_str(f) != '\0') {
		bool ok = true;

		dpath_push(c, ".namespaceSelector");
		e->ns_sel = dselector(c, f, &ok);
		if (e->ns_sel != NULL && selector_uses_global(e->ns_sel)) {
			if (selector_is_global(e->ns_sel))
				e->ns_global = true;
			else
				derr(c, f, "global() must be the whole namespaceSelector");
		}
		dpath_pop(c, old);
	}
	if ((f = dget(c, n, "ports")) != NULL) {
		dpath_push(c, ".ports");
		e->nports = decode_ports(c, f, "ports", &e->ports);
		dpath_pop(c, old);
	}
	if ((f = dget(c, n, "notPorts")) != NULL) {
		dpath_push(c, ".notPorts");
		e->nnot_ports = decode_ports(c, f, "notPorts", &e->not_ports);
		dpath_pop(c, old);
	}
	if ((f = dget(c, n, "serviceAccounts")) != NULL) {
		yaml_node_t *sel;

		dpath_push(c, ".serviceAccounts");
		if (dmap(c, f, "serviceAccounts")) {
			static const char *const sak[] = { "names", "selector", NULL };

			dfields(c, f, sak);
			if ((sel = dget(c, f, "selector")) != NULL) {
				dpath_push(c, ".selector");
				selector_free(decode_plain_selector(c, sel));
			}
			e->has_sa = true;
		}
		dpath_pop(c, old);
	}
	if ((f = dget(c, n, "services")) != NULL) {
		dpath_push(c, ".services");
		if (dmap(c, f, "services")) {
			static const char *const svk[] = { "name", "namespace", NULL };

			dfields(c, f, svk);
			e->has_services = true;
			if (dget(c, f, "name") == NULL)
				derr(c, f, "services.name is required");
			if (dget(c, f, "namespace") == NULL)
				derr(c, f, "services.namespace is required in a GlobalNetworkPolicy");
			if (e->nnets || e->nnot_nets || e->sel || e->not_sel || e->ns_sel ||
			    e->has_sa || e->nports || e->nnot_ports)
				derr(c, f, "services cannot be combined with nets, notNets, selector, "
					   "notSelector, namespaceSelector, serviceAccounts, ports or "
					   "notPorts");
		}
		dpath_pop(c, old);
	}
	entity_scope_selector(e);
}

/* ---- rules ------------------------------------------------------------------------ */

static bool
decode_icmp(struct dctx *c, const yaml_node_t *n, bool *has_code, uint8_t *type, uint8_t *code)
{
	static const char *const known[] = { "type", "code", NULL };
	yaml_node_t *t, *k;
	uint32_t v;

	if (!dmap(c, n, "icmp"))
		return false;
	dfields(c, n, known);
	t = dget(c, n, "type");
	k = dget(c, n, "code");
	if (t == NULL) {
		if (k != NULL)
			derr(c, k, "an ICMP code needs an ICMP type");
		return false;
	}
	if (!parse_u32(ydoc_str(t), 255, &v)) {
		derr(c, t, "ICMP type must be a number from 0 to 254");
		return false;
	}
	if (v == 255) {
		derr(c, t, "ICMP type 255 is not allowed (0 to 254)");
		return false;
	}
	*type = (uint8_t)v;
	if (k != NULL) {
		if (!parse_u32(ydoc_str(k), 255, &v)) {
			derr(c, k, "ICMP code must be a number from 0 to 255");
			return false;
		}
		*has_code = true;
		*code = (uint8_t)v;
	}
	return true;
}

static uint8_t
decode_proto(struct dctx *c, const yaml_node_t *n)
{
	const char *s = ydoc_str(n);
	bool lower;
	uint8_t p;

	if (s == NULL) {
		derr(c, n, "protocol must be a name or a number");
		return 0;
	}
	p = proto_from_name(s, &lower);
	if (lower)
		derr(c, n, "protocol names are case-sensitive: write one of TCP, UDP, ICMP, "
			   "ICMPv6, SCTP, UDPLite (\"%s\" given)", s);
	else if (p == 0)
		derr(c, n, "\"%s\" is not a protocol (TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a "
			   "number from 1 to 255)", s);
	return lower ? 0 : p;
}

/* All CIDRs of a rule must be of one family, which must agree with ipVersion. */
static void
check_rule_families(struct dctx *c, const yaml_node_t *n, struct rule *r)
{
	const struct entity *ents[2] = { &r->src, &r->dst };
	int fam = 0;

	for (int e = 0; e < 2; e++) {
		const struct cidr *lists[2] = { ents[e]->nets, ents[e]->not_nets };
		size_t counts[2] = { ents[e]->nnets, ents[e]->nnot_nets };

		for (int l = 0; l < 2; l++)
			for (size_t i = 0; i < counts[l]; i++) {
				int f = lists[l][i].family == AF_INET ? 4 : 6;

				if (fam != 0 && fam != f) {
					derr(c, n, "IPv4 and IPv6 CIDRs are mixed in one rule; "
						   "split it into one rule per IP version");
					return;
				}
				fam = f;
			}
	}
	if (fam != 0 && r->ip_version != 0 && fam != r->ip_version)
		derr(c, n, "the rule's CIDRs are IPv%d but ipVersion is %d", fam, r->ip_version);
}

static void
decode_rule(struct dctx *c, const yaml_node_t *n, struct rule *r, bool ingress)
{
	static const char *const known[] = {
		"action", "protocol", "notProtocol", "icmp", "notICMP", "ipVersion", "source",
		"destination", "http", "metadata", NULL,
	};
	size_t old = c->plen;
	yaml_node_t *f, *protonode;
	const char *s;

	r->loc = (struct srcloc){ c->file, ydoc_line(n), ydoc_col(n) };
	if (!dmap(c, n, "a rule"))
		return;
	dfields(c, n, known);

	f = dget(c, n, "action");
	dpath_push(c, ".action");
	s = ydoc_str(f);
	if (f == NULL)
		derr(c, n, "action is required (Allow, Deny, Pass or Log)");
	else if (s && strcmp(s, "Allow") == 0)
		r->action = ACT_ALLOW;
	else if (s && strcmp(s, "Deny") == 0)
		r->action = ACT_DENY;
	else if (s && strcmp(s, "Pass") == 0)
		r->action = ACT_PASS;
	else if (s && strcmp(s, "Log") == 0)
		r->action = ACT_LOG;
	else if (s && (strcasecmp(s, "allow") == 0 || strcasecmp(s, "deny") == 0 ||
		       strcasecmp(s, "pass") == 0 || strcasecmp(s, "log") == 0))
		derr(c, f, "actions are case-sensitive: write Allow, Deny, Pass or Log (\"%s\" "
			   "given)", s);
	else
		derr(c, f, "action must be Allow, Deny, Pass or Log");
	dpath_pop(c, old);

	protonode = dget(c, n, "protocol");
	if (protonode != NULL) {
		dpath_push(c, ".protocol");
		r->proto = decode_proto(c, protonode);
		dpath_pop(c, old);
	}
	f = dget(c, n, "notProtocol");
	if (f != NULL) {
		dpath_push(c, ".notProtocol");
		r->not_proto = decode_proto(c, f);
		dpath_pop(c, old);
	}
	f = dget(c, n, "ipVersion");
	if (f != NULL) {
		uint32_t v = 0;

		dpath_push(c, ".ipVersion");
		if (!parse_u32(ydoc_str(f), 6, &v) || (v != 4 && v != 6))
			derr(c, f, "ipVersion must be 4 or 6");
		r->ip_version = (uint8_t)v;
		dpath_pop(c, old);
	}
	if (r->ip_version == 6 && (proto_is_name(protonode, "ICMP") ||
				   proto_is_name(dget(c, n, "notProtocol"), "ICMP")))
		derr(c, n, "protocol ICMP cannot be used with ipVersion 6 (use ICMPv6)");
	if (r->ip_version == 4 && (proto_is_name(protonode, "ICMPv6") ||
				   proto_is_name(dget(c, n, "notProtocol"), "ICMPv6")))
		derr(c, n, "protocol ICMPv6 cannot be used with ipVersion 4 (use ICMP)");
	/* Felix infers the IP version from the protocol names ICMP and ICMPv6. */
	if (r->ip_version == 0 && proto_is_name(protonode, "ICMP"))
		r->ip_version = 4;
	if (r->ip_version == 0 && proto_is_name(protonode, "ICMPv6"))
		r->ip_version = 6;

	f = dget(c, n, "icmp");
	if (f != NULL) {
		dpath_push(c, ".icmp");
		r->has_icmp = decode_icmp(c, f, &r->icmp_has_code, &r->icmp_type, &r->icmp_code);
		if (r->proto != IPPROTO_ICMP && r->proto != IPPROTO_ICMPV6)
			derr(c, f, "icmp needs protocol ICMP or ICMPv6");
		dpath_pop(c, old);
	}
	f = dget(c, n, "notICMP");
	if (f != NULL) {
		dpath_push(c, ".notICMP");
		r->has_not_icmp = decode_icmp(c, f, &r->not_icmp_has_code, &r->not_icmp_type,
					      &r->not_icmp_code);
		if (r->proto != IPPROTO_ICMP && r->proto != IPPROTO_ICMPV6)
			derr(c, f, "notICMP needs protocol ICMP or ICMPv6");
		dpath_pop(c, old);
	}
	f = dget(c, n, "http");
	if (f != NULL) {
		dpath_push(c, ".http");
		dwarn(c, f, "http matches apply to pods with an application-layer proxy only; "
			    "nfqwall ignores them, as Felix's iptables dataplane does");
		r->has_http = true;
		dpath_pop(c, old);
	}

	dpath_push(c, ".source");
	decode_entity(c, dget(c, n, "source"), &r->src);
	dpath_pop(c, old);
	dpath_push(c, ".destination");
	decode_entity(c, dget(c, n, "destination"), &r->dst);
	dpath_pop(c, old);

	/* Ports need TCP, UDP or SCTP; named-only lists may omit the protocol (v3.32+). */
	const struct entity *ents[2] = { &r->src, &r->dst };
	const char *side[2] = { "source", "destination" };

	for (int e = 0; e < 2; e++) {
		bool any = ents[e]->nports || ents[e]->nnot_ports;
		bool numeric = has_numeric_ports(ents[e]->ports, ents[e]->nports) ||
			       has_numeric_ports(ents[e]->not_ports, ents[e]->nnot_ports);
		yaml_node_t *en = dget(c, n, side[e]);

		if (!any)
			continue;
		if (r->proto == 0 && numeric)
			derr(c, en, "%s ports need protocol TCP, UDP or SCTP", side[e]);
		else if (r->proto != 0 && !proto_has_ports(r->proto))
			derr(c, en, "%s ports are only allowed with protocol TCP, UDP or SCTP",
			     side[e]);
	}
	if (r->src.has_services && ingress == false)
		derr(c, dget(c, n, "source"), "services may only be an ingress source or an "
					      "egress destination");
	if (r->dst.has_services && ingress == true)
		derr(c, dget(c, n, "destination"), "services may only be an ingress source or an "
						   "egress destination");
	check_rule_families(c, n, r);
}

static size_t
decode_rules(struct dctx *c, const yaml_node_t *n, const char *field, struct rule **out,
	     bool ingress)
{
	size_t count, old = c->plen;

	if (!dseq(c, n, field))
		return 0;
	count = ydoc_len(n);
	if (count > MAX_RULES) {
		derr(c, n, "%zu rules; Calico allows at most %d per direction", count, MAX_RULES);
		return 0;
	}
	*out = xcalloc(count, sizeof(**out));
	for (size_t i = 0; i < count; i++) {
		dpath_push(c, "[%zu]", i);
		decode_rule(c, ydoc_item(c->y, n, i), &(*out)[i], ingress);
		dpath_pop(c, old);
	}
	return count;
}

/* ---- the policy spec ------------------------------------------------------------------ */

static struct selector *
scoped_top_selector(struct dctx *c, const yaml_node_t *n, const char *prefix,
		    const char *all_key)
{
	struct selector *s = decode_plain_selector(c, n), *scoped;

	if (s == NULL)
		return NULL;
	scoped = must(selector_prefixed(s, prefix, all_key));
	selector_free(s);
	return scoped;
}

static void
and_into(struct selector **acc, struct selector *more)
{
	struct selector *both;

	if (more == NULL)
		return;
	both = must(selector_and(*acc, more));
	selector_free(*acc);
	selector_free(more);
	*acc = both;
}

void
dgnp(struct dctx *c, const yaml_node_t *spec, struct policy *p, bool staged)
{
	static const char *const known[] = {
		"tier", "order", "selector", "namespaceSelector", "serviceAccountSelector",
		"types", "ingress", "egress", "doNotTrack", "preDNAT", "applyOnForward",
		"performanceHints", "stagedAction", NULL,
	};
	size_t old = c->plen;
	yaml_node_t *f, *typesn, *ing, *eg;
	bool explicit_types = false;

	dfields(c, spec, known);
	f = dget(c, spec, "tier");
	p->tier = xstrdup(f && ydoc_str(f) && *ydoc_str(f) ? ydoc_str(f) : "default");

	if ((f = dget(c, spec, "order")) != NULL) {
		dpath_push(c, ".order");
		p->has_order = dnumber(c, f, &p->order);
		dpath_pop(c, old);
	}

	f = dget(c, spec, "selector");
	if (f != NULL && ydoc_str(f) == NULL)
		derr(c, f, "selector must be a string");
	p->sel_text = xstrdup(f && ydoc_str(f) ? ydoc_str(f) : "");
	dpath_push(c, ".selector");
	p->sel = *p->sel_text ? decode_plain_selector(c, f) : parse_fixed("all()");
	dpath_pop(c, old);
	if (p->sel == NULL)
		p->sel = parse_fixed("all()");
	if ((f = dget(c, spec, "namespaceSelector")) != NULL && ydoc_str(f) && *ydoc_str(f)) {
		dpath_push(c, ".namespaceSelector");
		and_into(&p->sel, scoped_top_selector(c, f, "pcns.", "projectcalico.org/namespace"));
		dpath_pop(c, old);
	}
	if ((f = dget(c, spec, "serviceAccountSelector")) != NULL && ydoc_str(f) && *ydoc_str(f)) {
		dpath_push(c, ".serviceAccountSelector");
		and_into(&p->sel,
			 scoped_top_selector(c, f, "pcsa.", "projectcalico.org/serviceaccount"));
		dpath_pop(c, old);
	}

	typesn = dget(c, spec, "types");
	if (typesn != NULL) {
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
	}

	ing = dget(c, spec, "ingress");
	eg = dget(c, spec, "egress");
	if (ing != NULL) {
		dpath_push(c, ".ingress");
		p->ningress = decode_rules(c, ing, "ingress", &p->ingress, true);
		dpath_pop(c, old);
	}
	if (eg != NULL) {
		dpath_push(c, ".egress");
		p->negress = decode_rules(c, eg, "egress", &p->egress, false);
		dpath_pop(c, old);
	}

	if ((f = dget(c, spec, "doNotTrack")) != NULL) {
		dpath_push(c, ".doNotTrack");
		p->do_not_track = dbool(c, f);
		dpath_pop(c, old);
	}
	if ((f = dget(c, spec, "preDNAT")) != NULL) {
		dpath_push(c, ".preDNAT");
		p->pre_dnat = dbool(c, f);
		dpath_pop(c, old);
	}
	if ((f = dget(c, spec, "applyOnForward")) != NULL) {
		dpath_push(c, ".applyOnForward");
		p->apply_on_forward = dbool(c, f);
		dpath_pop(c, old);
	}
	if (staged && (f = dget(c, spec, "stagedAction")) != NULL) {
		const char *s = ydoc_str(f);

		dpath_push(c, ".stagedAction");
		if (s == NULL || (strcmp(s, "Set") && strcmp(s, "Delete") && strcmp(s, "Learn") &&
				  strcmp(s, "Ignore")))
			derr(c, f, "stagedAction must be Set, Delete, Learn or Ignore");
		else
			p->staged_action = xstrdup(s);
		dpath_pop(c, old);
	}

	/* types defaulting (calico-semantics.md §1.5) */
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
		derr(c, eg ? eg : typesn, "a preDNAT policy may only have ingress rules and the "
					  "Ingress type");
	if (p->pre_dnat && c->form == FORM_V1 && !explicit_types)
		p->types = TYPE_INGRESS;
}
