/*
 * test_eval_rules.c - scenario tests of rule matching through both engines
 * (see test_eval.h): rule selectors and named ports (docs/semantics.md
 * §6.2, §6), per-family rendering, ICMP implying an IP version, v1 objects
 * without types.
 */
#include "test_eval.h"

/* ---- §5, §1.7 rule selectors ---------------------------------------------------------------- */

static void
test_rule_selectors(void **state)
{
	static const char yaml[] =
		HEP_BARE_ETH0
		DOC("HostEndpoint", "{name: db-n2, labels: {role: db}}")
		"spec: {node: n2, interfaceName: '*', expectedIPs: [10.9.9.9, 'fd09::9']}\n"
		DOC("GlobalNetworkSet", "{name: gns, labels: {kind: net}}")
		"spec: {nets: [192.0.2.0/24, '2001:db8:5::/48']}\n"
		DOC("NetworkSet", "{name: nset, namespace: ns1, labels: {kind: net}}")
		"spec: {nets: [172.16.0.0/16]}\n"
		GNP("sel")
		"  ingress:\n"
		"  - action: Allow\n"
		"    source: {selector: role == 'db'}\n"
		"  - action: Allow\n"
		"    protocol: TCP\n"
		"    source: {selector: kind == 'net', namespaceSelector: global()}\n"
		"    destination: {ports: [80]}\n"
		"  - action: Allow\n"
		"    protocol: TCP\n"
		"    source: {selector: kind == 'net'}\n"
		"    destination: {ports: [81]}\n"
		"  - action: Allow\n"
		"    protocol: TCP\n"
		"    source: {notSelector: has(role) || has(kind)}\n"
		"    destination: {ports: [82]}\n"
		"  - action: Allow\n"
		"    protocol: TCP\n"
		"    source: {selector: all(), namespaceSelector: projectcalico.org/name == 'ns1'}\n"
		"    destination: {ports: [83]}\n"
		"  - action: Allow\n"
		"    protocol: TCP\n"
		"    source: {selector: all()}\n"
		"    destination: {ports: [84]}\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	/* another node's HEP, through its expectedIPs, both families */
	EXPECT(&f, tcp_in("10.9.9.9", "10.0.0.1", 9999), w_rule(true, STAGE_NORMAL, "default",
								  "sel", 0));
	EXPECT(&f, tcp_in("fd09::9", "fd00::1", 9999), w_rule(true, STAGE_NORMAL, "default",
								"sel", 0));
	EXPECT(&f, tcp_in("10.9.9.8", "10.0.0.1", 9999), w_eot(STAGE_NORMAL, "default"));
	/* a GlobalNetworkSet's nets; global() excludes the namespaced NetworkSet */
	EXPECT(&f, tcp_in("192.0.2.7", "10.0.0.1", 80), w_rule(true, STAGE_NORMAL, "default",
								 "sel", 1));
	EXPECT(&f, tcp_in("2001:db8:5:ffff::1", "fd00::1", 80),
	       w_rule(true, STAGE_NORMAL, "default", "sel", 1));
	EXPECT(&f, tcp_in("172.16.1.1", "10.0.0.1", 80), w_eot(STAGE_NORMAL, "default"));
	/* without namespaceSelector the NetworkSet counts too */
	EXPECT(&f, tcp_in("172.16.1.1", "10.0.0.1", 81), w_rule(true, STAGE_NORMAL, "default",
								  "sel", 2));
	/* notSelector matches addresses nobody owns */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 82), w_rule(true, STAGE_NORMAL, "default",
							       "sel", 3));
	EXPECT(&f, tcp_in("2606:4700::1", "fd00::1", 82), w_rule(true, STAGE_NORMAL, "default",
								   "sel", 3));
	EXPECT(&f, tcp_in("192.0.2.7", "10.0.0.1", 82), w_eot(STAGE_NORMAL, "default"));
	/* a positive namespaceSelector: namespaced objects only */
	EXPECT(&f, tcp_in("172.16.1.1", "10.0.0.1", 83), w_rule(true, STAGE_NORMAL, "default",
								  "sel", 4));
	EXPECT(&f, tcp_in("192.0.2.7", "10.0.0.1", 83), w_eot(STAGE_NORMAL, "default"));
	/* selector all() is every known address, not every address */
	EXPECT(&f, tcp_in("192.0.2.7", "10.0.0.1", 84), w_rule(true, STAGE_NORMAL, "default",
								 "sel", 5));
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 84), w_eot(STAGE_NORMAL, "default"));
	fx_close(&f);
}

/* §1.7: named ports are (IP, protocol, port) of endpoints that declare them. */
static void
test_named_ports(void **state)
{
	static const char yaml[] =
		HEP("{name: web, labels: {role: web}}",
		    "interfaceName: eth0, expectedIPs: [10.0.0.1], "
		    "ports: [{name: http, protocol: TCP, port: 8080}]")
		DOC("HostEndpoint", "{name: other, labels: {role: other}}")
		"spec: {node: n2, interfaceName: eth0, expectedIPs: [10.9.9.9],\n"
		"       ports: [{name: http, protocol: TCP, port: 9090}]}\n"
		DOC("HostEndpoint", "{name: noips, labels: {role: other}}")
		"spec: {node: n2, interfaceName: eth0,\n"
		"       ports: [{name: http, protocol: TCP, port: 7070}]}\n"
		GNP("np")
		"  types: [Ingress, Egress]\n"
		"  ingress:\n"
		"  - action: Allow\n"
		"    protocol: TCP\n"
		"    destination: {ports: [http]}\n"
		"  egress:\n"
		"  - action: Allow\n"
		"    protocol: TCP\n"
		"    destination: {selector: role == 'other', ports: [http]}\n"
		"  - action: Deny\n"
		"    protocol: TCP\n"
		"    destination: {notPorts: [http, '1:1000']}\n"
		"  - action: Allow\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 8080), w_rule(true, STAGE_NORMAL, "default",
								 "np", 0));
	/* 9090 is http on 10.9.9.9, not here; 7070 belongs to a HEP without IPs */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 9090), w_eot(STAGE_NORMAL, "default"));
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 7070), w_eot(STAGE_NORMAL, "default"));
	/* the port alone is not enough: the address must be the HEP's */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.2", 8080), w_eot(STAGE_NORMAL, "default"));
	EXPECT(&f, mkpkt(PATH_LOCAL_IN, "8.8.8.8", "10.0.0.1", IPPROTO_UDP, 1, 8080),
	       w_eot(STAGE_NORMAL, "default"));
	/* with a selector: only the selected endpoints' ports */
	EXPECT(&f, tcp_out("10.0.0.1", "10.9.9.9", 9090),
	       w_rule(true, STAGE_NORMAL, "default", "np", 0));
	/* notPorts [http, 1:1000]: 8080 on 10.0.0.1 is http (web is not selected here,
	 * but notPorts has no selector) */
	EXPECT(&f, tcp_out("10.0.0.1", "10.0.0.1", 8080),
	       w_rule(true, STAGE_NORMAL, "default", "np", 2));
	EXPECT(&f, tcp_out("10.0.0.1", "10.0.0.1", 500),
	       w_rule(true, STAGE_NORMAL, "default", "np", 2));
	EXPECT(&f, tcp_out("10.0.0.1", "10.0.0.2", 8080),
	       w_rule(false, STAGE_NORMAL, "default", "np", 1));
	EXPECT(&f, tcp_out("10.0.0.1", "10.9.9.8", 9090),
	       w_rule(false, STAGE_NORMAL, "default", "np", 1));
	fx_close(&f);
}

/* §1.7 per-family rendering, vector P30. */
static void
test_per_family_rendering(void **state)
{
	static const char yaml[] =
		HEP_BARE_ETH0
		GNP("a")
		"  order: 1\n"
		"  ingress:\n"
		"  - action: Deny\n"
		"    source: {notNets: [10.0.0.0/8]}\n"
		"  - action: Deny\n"
		"    protocol: TCP\n"
		"    destination: {nets: ['fd00::/8'], ports: [443]}\n"
		GNP("b")
		"  order: 2\n"
		"  ingress:\n"
		"  - action: Allow\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80), w_rule(false, STAGE_NORMAL, "default", "a", 0));
	EXPECT(&f, tcp_in("10.1.1.1", "10.0.0.1", 80), w_rule(true, STAGE_NORMAL, "default", "b", 0));
	/* the notNets rule is not rendered for IPv6 at all */
	EXPECT(&f, tcp_in("2001:db8::1", "fd00::1", 80), w_rule(true, STAGE_NORMAL, "default", "b",
								  0));
	EXPECT(&f, tcp_in("2001:db8::1", "fd00::1", 443), w_rule(false, STAGE_NORMAL, "default",
								   "a", 1));
	/* ... and the v6-only rule not for IPv4 */
	EXPECT(&f, tcp_in("10.1.1.1", "10.0.0.1", 443), w_rule(true, STAGE_NORMAL, "default", "b",
								 0));
	fx_close(&f);
}

/* §1.7: the names ICMP/ICMPv6 imply an IP version, the numbers do not. */
static void
test_icmp_infers_ip_version(void **state)
{
	static const char yaml[] =
		HEP_BARE_ETH0
		GNP("icmp")
		"  ingress:\n"
		"  - {action: Deny, protocol: ICMP}\n"
		"  - {action: Allow, protocol: 1}\n"
		"  - {action: Allow, protocol: ICMPv6, icmp: {type: 128}}\n"
		"  - {action: Deny, protocol: 58}\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	EXPECT(&f, mkpkt(PATH_LOCAL_IN, "8.8.8.8", "10.0.0.1", IPPROTO_ICMP, 8, 0),
	       w_rule(false, STAGE_NORMAL, "default", "icmp", 0));
	/* an IPv6 packet with next header 1 is not matched by "ICMP" */
	EXPECT(&f, mkpkt(PATH_LOCAL_IN, "fd00::9", "fd00::1", IPPROTO_ICMP, 0, 0),
	       w_rule(true, STAGE_NORMAL, "default", "icmp", 1));
	EXPECT(&f, mkpkt(PATH_LOCAL_IN, "fd00::9", "fd00::1", IPPROTO_ICMPV6, 128, 0),
	       w_rule(true, STAGE_NORMAL, "default", "icmp", 2));
	EXPECT(&f, mkpkt(PATH_LOCAL_IN, "fd00::9", "fd00::1", IPPROTO_ICMPV6, 129, 0),
	       w_rule(false, STAGE_NORMAL, "default", "icmp", 3));
	/* an IPv4 packet with protocol 58: only the numeric rule */
	EXPECT(&f, mkpkt(PATH_LOCAL_IN, "8.8.8.8", "10.0.0.1", IPPROTO_ICMPV6, 0, 0),
	       w_rule(false, STAGE_NORMAL, "default", "icmp", 3));
	fx_close(&f);
}

/* §1.5, vectors P87/P88: a stored v1 policy without types governs both directions. */
static void
test_v1_without_types(void **state)
{
	static const char v1[] =
		HEP_ALLOW_ETH0
		"---\n"
		"apiVersion: crd.projectcalico.org/v1\n"
		"kind: GlobalNetworkPolicy\n"
		"metadata: {name: default.v1pol}\n"
		"spec:\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n";
	static const char v3[] =
		HEP_ALLOW_ETH0
		GNP("v3pol")
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n";
	struct fx f;

	(void)state;
	fx_open(&f, v1);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80), w_rule(true, STAGE_NORMAL, "default",
							       "v1pol", 0));
	EXPECT(&f, tcp_out("10.0.0.1", "8.8.8.8", 80),
	       in_dir(w_eot(STAGE_NORMAL, "default"), DIR_EGRESS));
	fx_close(&f);
	/* the v3 user form defaults to [Ingress]: egress stays with the profile */
	fx_open(&f, v3);
	EXPECT(&f, tcp_out("10.0.0.1", "8.8.8.8", 80), w_profile(true, PROFILE_DEFAULT_ALLOW));
	fx_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_selectors),
		cmocka_unit_test(test_named_ports),
		cmocka_unit_test(test_per_family_rendering),
		cmocka_unit_test(test_icmp_infers_ip_version),
		cmocka_unit_test(test_v1_without_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
