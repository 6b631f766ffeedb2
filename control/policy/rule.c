/*
 * rule.c - decoding one direction's rule list (docs/semantics.md §6, §11):
 * the action, protocol and notProtocol, ipVersion (given, or inferred from
 * ICMP and ICMPv6), icmp and notICMP, http, the source and destination
 * (entity.c), and the checks across them: ports need a port protocol, one
 * IP family per rule, services only on the remote side. Control thread only.
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

void
rule_free(struct rule *r)
{
	entity_free(&r->src);
	entity_free(&r->dst);
}

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
decode_action(struct dctx *c, const yaml_node_t *n, struct rule *r)
{
	yaml_node_t *f = dget(c, n, "action");
	size_t old = dpath_push(c, ".action");
	const char *s = ydoc_str(f);

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
}

/* protocol, notProtocol and ipVersion, which must agree with ICMP/ICMPv6. */
static void
decode_rule_protocol(struct dctx *c, const yaml_node_t *n, struct rule *r)
{
	yaml_node_t *protonode = dget(c, n, "protocol"), *notproto = dget(c, n, "notProtocol");
	yaml_node_t *f;
	size_t old = c->plen;

	if (protonode != NULL) {
		dpath_push(c, ".protocol");
		r->proto = decode_proto(c, protonode);
		dpath_pop(c, old);
	}
	if (notproto != NULL) {
		dpath_push(c, ".notProtocol");
		r->not_proto = decode_proto(c, notproto);
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
				   proto_is_name(notproto, "ICMP")))
		derr(c, n, "protocol ICMP cannot be used with ipVersion 6 (use ICMPv6)");
	if (r->ip_version == 4 && (proto_is_name(protonode, "ICMPv6") ||
				   proto_is_name(notproto, "ICMPv6")))
		derr(c, n, "protocol ICMPv6 cannot be used with ipVersion 4 (use ICMP)");
	/* Felix infers the IP version from the protocol names ICMP and ICMPv6. */
	if (r->ip_version == 0 && proto_is_name(protonode, "ICMP"))
		r->ip_version = 4;
	if (r->ip_version == 0 && proto_is_name(protonode, "ICMPv6"))
		r->ip_version = 6;
}

/* http.methods: strings, none twice (O(n^2), bounded by the object's size). */
static void
decode_http_methods(struct dctx *c, const yaml_node_t *f)
{
	for (size_t i = 0; i < ydoc_len(f); i++) {
		yaml_node_t *it = ydoc_item(c->y, f, i);
		const char *s = ydoc_str(it);

		if (s == NULL) {
			derr(c, it, "a method must be a string");
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			const char *t = ydoc_str(ydoc_item(c->y, f, j));

			if (t != NULL && strcmp(s, t) == 0) {
				derr(c, it, "the method \"%.40s\" is listed twice", s);
				break;
			}
		}
	}
}

/*
 * http: {methods: [...], paths: [{exact} or {prefix}]}, checked as Calico's
 * validator does though nfqwall ignores it: each path has exactly one of
 * exact and prefix.
 */
static void
decode_http(struct dctx *c, const yaml_node_t *n)
{
	static const char *const known[] = { "methods", "paths", NULL };
	static const char *const pathk[] = { "exact", "prefix", NULL };
	size_t old = c->plen;
	yaml_node_t *f;

	if (!dmap(c, n, "http"))
		return;
	dfields(c, n, known);
	if ((f = dget(c, n, "methods")) != NULL) {
		dpath_push(c, ".methods");
		if (dseq(c, f, "methods"))
			decode_http_methods(c, f);
		dpath_pop(c, old);
	}
	if ((f = dget(c, n, "paths")) == NULL)
		return;
	dpath_push(c, ".paths");
	if (dseq(c, f, "paths")) {
		for (size_t i = 0; i < ydoc_len(f); i++) {
			yaml_node_t *it = ydoc_item(c->y, f, i);
			size_t o2 = dpath_push(c, "[%zu]", i);

			if (dmap(c, it, "a path match")) {
				const char *e = ydoc_str(dget(c, it, "exact"));
				const char *p = ydoc_str(dget(c, it, "prefix"));

				dfields(c, it, pathk);
				if (e && *e && p && *p)
					derr(c, it, "a path match has exactly one of exact and prefix");
				else if (!(e && *e) && !(p && *p))
					derr(c, it, "a path match needs exact or prefix");
				else if (*(e && *e ? e : p) != '/' || strpbrk(e && *e ? e : p, "? #"))
					derr(c, it, "a path starts with '/' and holds no '?', '#' or "
						    "space");
			}
			dpath_pop(c, o2);
		}
	}
	dpath_pop(c, old);
}

/* A rule's metadata: {annotations: {string: string}}, with no effect. */
static void
decode_rule_metadata(struct dctx *c, const yaml_node_t *n)
{
	static const char *const known[] = { "annotations", NULL };
	size_t old = dpath_push(c, ".metadata");

	if (dmap(c, n, "metadata")) {
		dfields(c, n, known);
		dpath_push(c, ".annotations");
		decode_annotations(c, dget(c, n, "annotations"));
	}
	dpath_pop(c, old);
}

/* icmp and notICMP (they need protocol ICMP or ICMPv6), and http (ignored). */
static void
decode_rule_icmp_http(struct dctx *c, const yaml_node_t *n, struct rule *r, bool ingress)
{
	size_t old = c->plen;
	yaml_node_t *f;

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
		decode_http(c, f);
		if (r->action != ACT_ALLOW)
			derr(c, f, "http is only allowed in Allow rules");
		if (r->proto != 0 && r->proto != IPPROTO_TCP)
			derr(c, f, "http needs protocol TCP or none");
		if (!ingress)
			derr(c, f, "http is only allowed in ingress rules");
		dwarn(c, f, "http matches apply to pods with an application-layer proxy only; "
			    "nfqwall ignores them, as Felix's iptables dataplane does");
		r->has_http = true;
		dpath_pop(c, old);
	}
}

static bool
has_numeric_ports(const struct port_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].name == NULL)
			return true;
	return false;
}

/* Ports need TCP, UDP or SCTP (named-only lists may omit the protocol, v3.32+);
 * services are only an ingress source or an egress destination. */
static void
check_rule_ports(struct dctx *c, const yaml_node_t *n, const struct rule *r, bool ingress)
{
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
	if (r->dst.has_services && (r->dst.nports || r->dst.nnot_ports))
		derr(c, dget(c, n, "destination"), "destination ports and notPorts cannot be "
						   "combined with services (the Service's ports apply)");
	if (r->src.has_services && ingress == false)
		derr(c, dget(c, n, "source"), "services may only be an ingress source or an "
					      "egress destination");
	if (r->dst.has_services && ingress == true)
		derr(c, dget(c, n, "destination"), "services may only be an ingress source or an "
						   "egress destination");
}

static void
decode_rule(struct dctx *c, const yaml_node_t *n, struct rule *r, bool ingress)
{
	static const char *const known[] = {
		"action", "protocol", "notProtocol", "icmp", "notICMP", "ipVersion", "source",
		"destination", "http", "metadata", NULL,
	};
	size_t old = c->plen;

	r->loc = (struct srcloc){ c->file, ydoc_line(n), ydoc_col(n) };
	if (!dmap(c, n, "a rule"))
		return;
	dfields(c, n, known);
	if (dget(c, n, "metadata") != NULL)
		decode_rule_metadata(c, dget(c, n, "metadata"));
	decode_action(c, n, r);
	decode_rule_protocol(c, n, r);
	decode_rule_icmp_http(c, n, r, ingress);
	dpath_push(c, ".source");
	decode_entity(c, dget(c, n, "source"), &r->src);
	dpath_pop(c, old);
	dpath_push(c, ".destination");
	decode_entity(c, dget(c, n, "destination"), &r->dst);
	dpath_pop(c, old);
	check_rule_ports(c, n, r, ingress);
	check_rule_families(c, n, r);
}

size_t
decode_rules(struct dctx *c, const yaml_node_t *n, const char *field, struct rule **out,
	     bool ingress)
{
	size_t count, old = c->plen;

	if (!dseq(c, n, field))
		return 0;
	/* No bound of its own: Calico has none, and the object's size
	 * (--max-object-bytes) and the file's nodes (--max-nodes) bound it. */
	count = ydoc_len(n);
	*out = dcalloc(c, count, sizeof(**out));
	if (*out == NULL)
		return 0;
	for (size_t i = 0; i < count; i++) {
		dpath_push(c, "[%zu]", i);
		decode_rule(c, ydoc_item(c->y, n, i), &(*out)[i], ingress);
		dpath_pop(c, old);
	}
	return count;
}
