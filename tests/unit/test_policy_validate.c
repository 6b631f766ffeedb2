/*
 * test_policy_validate.c - unit tests for Calico's validation of policies
 * and rules (docs/semantics.md §6, §11; control/policy/rule.c,
 * entity.c, policy.c): each invalid combination rejects the policy with one
 * error at the exact line, column and field, and the valid forms beside it
 * load.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_policy.h"

/* ---- §1.8 invalid combinations, one per test ----------------------------------- */

static void
test_ports_without_protocol(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    destination:\n"
		      "      ports: [80]\n",
		      9, 7, "spec.ingress[0]", "destination ports need protocol TCP, UDP or SCTP");
	/* notPorts and source ports too; a range counts as numeric */
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Allow\n"
		      "    source:\n"
		      "      notPorts: ['1000:2000']\n",
		      9, 7, "spec.egress[0]", "source ports need protocol TCP, UDP or SCTP");
	/* a named port does not excuse a numeric one in the same list */
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    destination:\n"
		      "      ports: [http, 443]\n",
		      9, 7, "spec.ingress[0]", "destination ports need protocol");
}

static void
test_ports_with_non_port_protocol(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: ICMP\n"
		      "    destination:\n"
		      "      ports: [22, 80]\n",
		      10, 7, "spec.ingress[0]",
		      "destination ports are only allowed with protocol TCP, UDP or SCTP");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: UDPLite\n"
		      "    source:\n"
		      "      ports: [53]\n",
		      10, 7, "spec.ingress[0]", "source ports are only allowed with protocol");
	/* named ports do not help either */
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: 47\n"
		      "    destination:\n"
		      "      ports: [http]\n",
		      10, 7, "spec.ingress[0]", "destination ports are only allowed with protocol");
}

static void
test_ports_accepted(void **state)
{
	struct polset ps;
	const struct rule *r;

	(void)state;
	/* v3.32: named-only port lists need no protocol */
	r = expect_one_policy(&ps, GNP_X
			      "  ingress:\n"
			      "  - action: Allow\n"
			      "    destination:\n"
			      "      ports: [http, metrics-9]\n"
			      "      notPorts: [admin]\n")->ingress;
	assert_int_equal(r->proto, 0);
	assert_int_equal(r->dst.nports, 2);
	assert_string_equal(r->dst.ports[0].name, "http");
	assert_string_equal(r->dst.ports[1].name, "metrics-9");
	assert_int_equal(r->dst.nnot_ports, 1);
	assert_string_equal(r->dst.not_ports[0].name, "admin");
	polset_free(&ps);
	/* a numeric protocol 6/17/132 allows ports; ranges and the extremes parse */
	r = expect_one_policy(&ps, GNP_X
			      "  ingress:\n"
			      "  - action: Allow\n"
			      "    protocol: 6\n"
			      "    source:\n"
			      "      ports: [1, '65535', '10:10', '1:65535']\n")->ingress;
	assert_int_equal(r->proto, 6);
	assert_int_equal(r->src.nports, 4);
	assert_int_equal(r->src.ports[0].lo, 1);
	assert_int_equal(r->src.ports[1].hi, 65535);
	assert_int_equal(r->src.ports[2].lo, 10);
	assert_int_equal(r->src.ports[2].hi, 10);
	assert_int_equal(r->src.ports[3].lo, 1);
	assert_int_equal(r->src.ports[3].hi, 65535);
	assert_null(r->src.ports[3].name);
	polset_free(&ps);
	r = expect_one_policy(&ps, GNP_X
			      "  egress:\n"
			      "  - action: Allow\n"
			      "    protocol: SCTP\n"
			      "    destination: {ports: [9000]}\n")->egress;
	assert_int_equal(r->proto, IPPROTO_SCTP);
	polset_free(&ps);
}

static void
test_port_zero_and_range(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: TCP\n"
		      "    destination:\n"
		      "      ports: [22, 0]\n",
		      10, 19, "spec.ingress[0].destination.ports[1]", "port 0 is not allowed");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: TCP\n"
		      "    destination:\n"
		      "      ports: ['0:100']\n",
		      10, 15, "spec.ingress[0].destination.ports[0]", "port 0 is not allowed");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: TCP\n"
		      "    destination:\n"
		      "      ports: [22, '90:80']\n",
		      10, 19, "spec.ingress[0].destination.ports[1]",
		      "port range \"90:80\": min is greater than max");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: UDP\n"
		      "    source:\n"
		      "      notPorts: [65536]\n",
		      10, 18, "spec.ingress[0].source.notPorts[0]",
		      "port 65536 is out of range (1 to 65535)");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: TCP\n"
		      "    destination:\n"
		      "      ports: [HTTP]\n",
		      10, 15, "spec.ingress[0].destination.ports[0]",
		      "\"HTTP\" is neither a port, a range \"min:max\" nor a port name");
}

static void
test_icmp_needs_icmp_protocol(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: TCP\n"
		      "    icmp: {type: 8}\n",
		      9, 11, "spec.ingress[0].icmp", "icmp needs protocol ICMP or ICMPv6");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    notICMP:\n"
		      "      type: 8\n",
		      9, 7, "spec.ingress[0].notICMP", "notICMP needs protocol ICMP or ICMPv6");
}

static void
test_icmp_code_without_type(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: ICMP\n"
		      "    icmp: {code: 0}\n",
		      9, 18, "spec.ingress[0].icmp", "an ICMP code needs an ICMP type");
}

static void
test_icmp_type_255(void **state)
{
	struct polset ps;
	const struct rule *r;

	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: ICMPv6\n"
		      "    icmp:\n"
		      "      type: 255\n",
		      10, 13, "spec.ingress[0].icmp", "ICMP type 255 is not allowed");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: ICMP\n"
		      "    icmp: {type: 3, code: 256}\n",
		      9, 27, "spec.ingress[0].icmp", "ICMP code must be a number from 0 to 255");
	/* the edges that are valid: type 254, code 255 */
	r = expect_one_policy(&ps, GNP_X
			      "  ingress:\n"
			      "  - action: Allow\n"
			      "    protocol: ICMP\n"
			      "    icmp: {type: 254, code: 255}\n"
			      "    notICMP: {type: 0}\n")->ingress;
	assert_true(r->has_icmp);
	assert_true(r->icmp_has_code);
	assert_int_equal(r->icmp_type, 254);
	assert_int_equal(r->icmp_code, 255);
	assert_true(r->has_not_icmp);
	assert_false(r->not_icmp_has_code);
	assert_int_equal(r->not_icmp_type, 0);
	assert_int_equal(r->ip_version, 4);	/* inferred from the name ICMP */
	polset_free(&ps);
}

static void
test_icmp_ip_version(void **state)
{
	struct polset ps;
	const struct rule *r;

	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: ICMP\n"
		      "    ipVersion: 6\n",
		      7, 5, "spec.ingress[0]", "protocol ICMP cannot be used with ipVersion 6");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    notProtocol: ICMPv6\n"
		      "    ipVersion: 4\n",
		      7, 5, "spec.ingress[0]", "protocol ICMPv6 cannot be used with ipVersion 4");
	/* ICMPv6 infers v6; the number 58 infers nothing */
	r = expect_one_policy(&ps, GNP_X
			      "  ingress:\n"
			      "  - action: Allow\n"
			      "    protocol: ICMPv6\n"
			      "  - action: Allow\n"
			      "    protocol: 58\n"
			      "  - action: Allow\n"
			      "    ipVersion: 6\n")->ingress;
	assert_int_equal(r[0].proto, IPPROTO_ICMPV6);
	assert_int_equal(r[0].ip_version, 6);
	assert_int_equal(r[1].proto, 58);
	assert_int_equal(r[1].ip_version, 0);
	assert_int_equal(r[2].ip_version, 6);
	polset_free(&ps);
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    ipVersion: 5\n",
		      8, 16, "spec.ingress[0].ipVersion", "ipVersion must be 4 or 6");
}

static void
test_mixed_families(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Deny\n"
		      "    source:\n"
		      "      nets: [10.0.0.0/8, 'fd00::/8']\n",
		      7, 5, "spec.ingress[0]", "IPv4 and IPv6 CIDRs are mixed in one rule");
	/* across source and destination, and nets/notNets, still one rule */
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Deny\n"
		      "    source:\n"
		      "      notNets: ['fd00::/8']\n"
		      "    destination:\n"
		      "      nets: [192.168.0.0/16]\n",
		      7, 5, "spec.egress[0]", "IPv4 and IPv6 CIDRs are mixed in one rule");
	/* CIDRs contradicting ipVersion */
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Deny\n"
		      "    ipVersion: 6\n"
		      "    source:\n"
		      "      nets: [10.0.0.0/8]\n",
		      7, 5, "spec.ingress[0]", "the rule's CIDRs are IPv4 but ipVersion is 6");
}

static void
test_host_bits_set(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    source:\n"
		      "      nets: [10.0.0.0/8, 10.1.2.3/8]\n",
		      9, 26, "spec.ingress[0].source.nets[1]",
		      "\"10.1.2.3/8\" has host bits set");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    destination:\n"
		      "      notNets: ['fd00::1/64']\n",
		      9, 17, "spec.ingress[0].destination.notNets[0]", "has host bits set");
}

/* A bare address is a /32 or /128, as Calico's validator (ParseCIDROrIP) takes it. */
static void
test_bare_ip_in_nets(void **state)
{
	static const char text[] = GNP_X
		"  ingress:\n"
		"  - action: Allow\n"
		"    source:\n"
		"      nets: [10.0.0.1]\n"
		"  - action: Allow\n"
		"    source:\n"
		"      notNets: ['fd00::1']\n";
	struct polset ps;
	const struct policy *p;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.nerr, 0);
	assert_int_equal(ps.npolicies, 1);
	p = ps.policies[0];
	assert_int_equal(p->ingress[0].src.nnets, 1);
	assert_int_equal(p->ingress[0].src.nets[0].plen, 32);
	assert_int_equal(p->ingress[1].src.nnot_nets, 1);
	assert_int_equal(p->ingress[1].src.not_nets[0].plen, 128);
	polset_free(&ps);
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    source:\n"
		      "      nets: [not-a-net]\n",
		      9, 14, "spec.ingress[0].source.nets[0]", "\"not-a-net\" is not a CIDR");
}

static void
test_catch_all_not_nets(void **state)
{
	(void)state;
	/* The error points at the entry (line 9, column 29), so its field path
	 * names the entry as well, like every other per-entry CIDR error. */
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Deny\n"
		      "    source:\n"
		      "      notNets: [10.0.0.0/8, 0.0.0.0/0]\n",
		      9, 29, "spec.ingress[0].source.notNets[1]",
		      "a catch-all notNets (/0) matches nothing");
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Deny\n"
		      "    destination:\n"
		      "      notNets: ['::/0']\n",
		      9, 17, "spec.egress[0].destination.notNets[0]", "catch-all notNets");
}

static void
test_pre_dnat_with_egress(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  preDNAT: true\n"
		      "  applyOnForward: true\n"
		      "  ingress: [{action: Allow}]\n"
		      "  egress:\n"
		      "  - action: Allow\n",
		      10, 3, "spec", "a preDNAT policy may only have ingress rules");
	expect_reject(GNP_X
		      "  preDNAT: true\n"
		      "  applyOnForward: true\n"
		      "  types: [Ingress, Egress]\n",
		      8, 10, "spec", "a preDNAT policy may only have ingress rules and the Ingress");
}

static void
test_flags_need_apply_on_forward(void **state)
{
	struct polset ps;
	const struct policy *p;

	(void)state;
	expect_reject(GNP_X
		      "  preDNAT: true\n"
		      "  ingress: [{action: Deny}]\n",
		      6, 3, "spec", "preDNAT needs applyOnForward: true");
	expect_reject(GNP_X
		      "  doNotTrack: true\n"
		      "  applyOnForward: false\n"
		      "  ingress: [{action: Deny}]\n",
		      6, 3, "spec", "doNotTrack needs applyOnForward: true");
	expect_reject(GNP_X
		      "  doNotTrack: true\n"
		      "  preDNAT: true\n"
		      "  applyOnForward: true\n",
		      6, 3, "spec", "preDNAT and doNotTrack cannot both be true");
	p = expect_one_policy(&ps, GNP_X
			      "  preDNAT: true\n"
			      "  applyOnForward: true\n"
			      "  ingress: [{action: Deny}]\n");
	assert_true(p->pre_dnat);
	assert_true(p->apply_on_forward);
	assert_false(p->do_not_track);
	assert_int_equal(p->types, TYPE_INGRESS);
	polset_free(&ps);
	p = expect_one_policy(&ps, GNP_X
			      "  doNotTrack: true\n"
			      "  applyOnForward: true\n"
			      "  egress: [{action: Allow}]\n");
	assert_true(p->do_not_track);
	assert_int_equal(p->types, TYPE_EGRESS);
	polset_free(&ps);
	expect_reject(GNP_X "  applyOnForward: yes-please\n", 6, 19, "spec.applyOnForward",
		      "must be true or false");
}

static void
test_global_in_policy_selector(void **state)
{
	struct polset ps;
	const struct rule *r;

	(void)state;
	expect_reject(GNP_X "  selector: global()\n", 6, 13, "spec.selector",
		      "global() is only allowed alone in a rule's namespaceSelector");
	expect_reject(GNP_X "  namespaceSelector: \"global() || has(a)\"\n", 6, 22,
		      "spec.namespaceSelector", "global() is only allowed");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    source: {selector: 'has(a) && global()'}\n",
		      8, 24, "spec.ingress[0].source.selector", "global() is only allowed");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    source: {namespaceSelector: 'global() && has(a)'}\n",
		      8, 33, "spec.ingress[0].source.namespaceSelector",
		      "global() must be the whole namespaceSelector");
	/* global() alone in a rule's namespaceSelector is fine */
	r = expect_one_policy(&ps, GNP_X
			      "  ingress:\n"
			      "  - action: Allow\n"
			      "    source:\n"
			      "      selector: role == 'lb'\n"
			      "      namespaceSelector: global()\n")->ingress;
	{
		struct labels hep, pod;

		assert_true(r->src.ns_global);
		labels_init(&hep);
		labels_init(&pod);
		assert_int_equal(labels_set(&hep, "role", "lb"), 0);
		assert_int_equal(labels_set(&pod, "role", "lb"), 0);
		assert_int_equal(labels_set(&pod, "projectcalico.org/namespace", "ns1"), 0);
		assert_true(selector_match(r->src.sel, &hep));
		assert_false(selector_match(r->src.sel, &pod));
		labels_free(&hep);
		labels_free(&pod);
	}
	polset_free(&ps);
}

static void
test_lowercase_names(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: tcp\n",
		      8, 15, "spec.ingress[0].protocol", "protocol names are case-sensitive");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: allow\n",
		      7, 13, "spec.ingress[0].action", "actions are case-sensitive");
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Accept\n",
		      7, 13, "spec.egress[0].action", "action must be Allow, Deny, Pass or Log");
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - protocol: TCP\n",
		      7, 5, "spec.egress[0].action", "action is required");
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Allow\n"
		      "    notProtocol: icmpv6\n",
		      8, 18, "spec.egress[0].notProtocol", "protocol names are case-sensitive");
}

static void
test_protocol_values(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Allow\n"
		      "    protocol: 0\n",
		      8, 15, "spec.egress[0].protocol", "\"0\" is not a protocol");
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Allow\n"
		      "    protocol: 256\n",
		      8, 15, "spec.egress[0].protocol", "\"256\" is not a protocol");
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Allow\n"
		      "    protocol: GRE\n",
		      8, 15, "spec.egress[0].protocol", "\"GRE\" is not a protocol");
}

static void
test_duplicate_types(void **state)
{
	(void)state;
	/* the error points at the second entry, so the path names it */
	expect_reject(GNP_X "  types: [Ingress, Egress, Ingress]\n", 6, 28, "spec.types[2]",
		      "Ingress is listed twice in types");
	expect_reject(GNP_X "  types: [ingress]\n", 6, 11, "spec.types[0]",
		      "types entries must be Ingress or Egress");
}

static void
test_bad_selector_syntax(void **state)
{
	(void)state;
	/* plain scalar: the column points inside the selector */
	expect_reject(GNP_X "  selector: role = 'db'\n", 6, 18, "spec.selector",
		      "invalid selector: single '=' is not an operator (did you mean '=='?) "
		      "(column 6 of the selector) in \"role = 'db'\"");
	/* quoted scalar: one more for the quote */
	expect_reject(GNP_X "  selector: \"a == 'b' &&\"\n", 6, 25, "spec.selector",
		      "found end of selector (column 12 of the selector)");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    destination:\n"
		      "      notSelector: has(a\n",
		      9, 25, "spec.ingress[0].destination.notSelector",
		      "expected ')' to close has( (column 6 of the selector)");
	expect_reject(GNP_X "  serviceAccountSelector: a b\n", 6, 29,
		      "spec.serviceAccountSelector", "invalid selector");
}

static void
test_services_and_http(void **state)
{
	struct polset ps;
	const struct rule *r;

	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    destination:\n"
		      "      services: {name: kube-dns, namespace: kube-system}\n",
		      9, 7, "spec.ingress[0]",
		      "services may only be an ingress source or an egress destination");
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Allow\n"
		      "    destination:\n"
		      "      services: {name: kube-dns}\n",
		      9, 17, "spec.egress[0].destination.services",
		      "services.namespace is required in a GlobalNetworkPolicy");
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Allow\n"
		      "    destination:\n"
		      "      nets: [10.0.0.0/8]\n"
		      "      services: {name: kube-dns, namespace: kube-system}\n",
		      10, 17, "spec.egress[0].destination.services",
		      "services cannot be combined with nets");
	/* http is ignored with a warning, not an error */
	load(&ps, GNP_X
		  "  ingress:\n"
		  "  - action: Allow\n"
		  "    http: {methods: [GET]}\n");
	assert_int_equal(ps.diags.nerr, 0);
	assert_int_equal(ps.diags.nwarn, 1);
	assert_int_equal(ps.npolicies, 1);
	r = ps.policies[0]->ingress;
	assert_true(r->has_http);
	assert_diag(nth_diag(&ps, DIAG_WARN, 0), 8, 11, OBJ_X, "spec.ingress[0].http",
		    "nfqwall ignores them");
	polset_free(&ps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ports_without_protocol),
		cmocka_unit_test(test_ports_with_non_port_protocol),
		cmocka_unit_test(test_ports_accepted),
		cmocka_unit_test(test_port_zero_and_range),
		cmocka_unit_test(test_icmp_needs_icmp_protocol),
		cmocka_unit_test(test_icmp_code_without_type),
		cmocka_unit_test(test_icmp_type_255),
		cmocka_unit_test(test_icmp_ip_version),
		cmocka_unit_test(test_mixed_families),
		cmocka_unit_test(test_host_bits_set),
		cmocka_unit_test(test_bare_ip_in_nets),
		cmocka_unit_test(test_catch_all_not_nets),
		cmocka_unit_test(test_pre_dnat_with_egress),
		cmocka_unit_test(test_flags_need_apply_on_forward),
		cmocka_unit_test(test_global_in_policy_selector),
		cmocka_unit_test(test_lowercase_names),
		cmocka_unit_test(test_protocol_values),
		cmocka_unit_test(test_duplicate_types),
		cmocka_unit_test(test_bad_selector_syntax),
		cmocka_unit_test(test_services_and_http),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
