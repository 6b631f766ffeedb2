/*
 * test_kinds.c - unit tests for the kinds beside policies
 * (control/policy/hostendpoint.c, netset.c, tier.c, felixcfg.c,
 * failsafe.c): HostEndpoints (docs/semantics.md §3), GlobalNetworkSets and
 * NetworkSets (§5), Tiers, FelixConfiguration, and the failsafe string
 * syntax and defaults (§4).
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

#include "hostenv.h"
#include "test_policy.h"

/* ---- HostEndpoint ------------------------------------------------------------------ */

#define HEP_HDR \
	"apiVersion: projectcalico.org/v3\n" \
	"kind: HostEndpoint\n" \
	"metadata:\n" \
	"  name: h\n" \
	"spec:\n"

static void
expect_hep_reject(const char *text, int line, int col, const char *field, const char *msg)
{
	expect_reject_obj(text, "HostEndpoint/h", line, col, field, msg);
}


static void
test_hep_valid(void **state)
{
	static const char text[] =
		HEP_HDR
		"  node: n1\n"
		"  expectedIPs: [10.0.0.5, 'fd00::5']\n"
		"  profiles: [p1, p2]\n"
		"  ports:\n"
		"  - {name: https, protocol: TCP, port: 443}\n"
		"  - {name: dns, protocol: UDP, port: 53}\n";
	struct polset ps;
	const struct hep *h;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.n, 0);
	assert_int_equal(ps.nheps, 1);
	h = ps.heps[0];
	assert_string_equal(h->name, "h");
	assert_string_equal(h->node, "n1");
	assert_null(h->iface);
	assert_false(hep_is_wildcard(h));
	assert_int_equal(h->nprofiles, 2);
	assert_string_equal(h->profiles[1], "p2");
	assert_int_equal(h->nports, 2);
	assert_string_equal(h->ports[0].name, "https");
	assert_int_equal(h->ports[0].proto, IPPROTO_TCP);
	assert_int_equal(h->ports[0].port, 443);
	assert_int_equal(h->ports[1].proto, IPPROTO_UDP);
	assert_int_equal(h->nips, 2);
	assert_int_equal(h->ips[0].family, AF_INET);
	assert_int_equal(h->ips[1].family, AF_INET6);
	/* model.h: expectedIPs are kept as /32 or /128 host prefixes */
	assert_cidr(&h->ips[0], "10.0.0.5/32");
	assert_cidr(&h->ips[1], "fd00::5/128");
	polset_free(&ps);
}

static void
test_hep_invalid(void **state)
{
	(void)state;
	expect_hep_reject(HEP_HDR "  interfaceName: eth0\n", 6, 3, "spec.node",
			  "node is required");
	expect_hep_reject(HEP_HDR "  node: n1\n  profiles: [p]\n", 6, 3, "spec",
			  "interfaceName or expectedIPs is required");
	expect_hep_reject(HEP_HDR "  node: n1\n  interfaceName: ''\n", 6, 3, "spec",
			  "interfaceName or expectedIPs is required");
	expect_hep_reject(HEP_HDR "  node: n1\n  interfaceName: eth0/1\n", 7, 18,
			  "spec.interfaceName", "\"eth0/1\" is not an interface name");
	expect_hep_reject(HEP_HDR "  node: n1\n  interfaceName: abcdefghijklmnop\n", 7, 18,
			  "spec.interfaceName", "is not an interface name");
	expect_hep_reject(HEP_HDR "  node: n1\n  interfaceName: eth0\n"
				  "  expectedIPs: [10.0.0.0/24]\n",
			  8, 17, "spec.expectedIPs[0]", "\"10.0.0.0/24\" is not an IP address");
	expect_hep_reject(HEP_HDR "  node: n1\n  interfaceName: eth0\n"
				  "  ports: [{name: web, protocol: ICMP, port: 80}]\n",
			  8, 33, "spec.ports[0]", "protocol must be TCP, UDP or SCTP");
	expect_hep_reject(HEP_HDR "  node: n1\n  interfaceName: eth0\n"
				  "  ports: [{name: Web, protocol: TCP, port: 80}]\n",
			  8, 18, "spec.ports[0]", "name must be a port name");
}

/* ---- network sets, tiers, FelixConfiguration -------------------------------------------- */

static void
test_global_network_set(void **state)
{
	static const char text[] =
		"apiVersion: projectcalico.org/v3\n"
		"kind: GlobalNetworkSet\n"
		"metadata:\n"
		"  name: blocked\n"
		"  labels: {feed: bad}\n"
		"spec:\n"
		"  nets: [10.0.0.1, 10.1.2.3/8, 'fd00::1', '2001:db8::7/32', 0.0.0.0/0]\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: GlobalNetworkSet\n"
		"metadata: {name: broken}\n"
		"spec:\n"
		"  nets: [10.0.0.0/8, nope]\n";
	struct polset ps;
	const struct netset *s;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.nerr, 1);
	assert_int_equal(ps.nnetsets, 1);
	s = ps.netsets[0];
	assert_string_equal(s->name, "blocked");
	assert_null(s->ns);
	assert_int_equal(s->labels.n, 1);
	assert_string_equal(labels_get(&s->labels, "feed"), "bad");
	assert_int_equal(s->nnets, 5);
	assert_cidr(&s->nets[0], "10.0.0.1/32");
	assert_cidr(&s->nets[1], "10.0.0.0/8");
	assert_cidr(&s->nets[2], "fd00::1/128");
	assert_cidr(&s->nets[3], "2001:db8::/32");
	assert_cidr(&s->nets[4], "0.0.0.0/0");
	assert_diag(nth_diag(&ps, DIAG_ERROR, 0), 13, 22, "GlobalNetworkSet/broken", "spec.nets[1]",
		    "\"nope\" is not a CIDR or IP address");
	polset_free(&ps);
}

static void
test_network_set_namespace(void **state)
{
	static const char text[] =
		"apiVersion: projectcalico.org/v3\n"
		"kind: NetworkSet\n"
		"metadata:\n"
		"  name: office\n"
		"  namespace: ops\n"
		"  labels: {site: hq}\n"
		"spec:\n"
		"  nets: [192.0.2.0/24]\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: NetworkSet\n"
		"metadata: {name: office}\n"
		"spec: {nets: [198.51.100.0/24]}\n";
	struct polset ps;
	const struct netset *s;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.n, 0);
	/* same name, different namespaces: two objects */
	assert_int_equal(ps.nnetsets, 2);
	s = ps.netsets[0];
	assert_string_equal(s->ns, "ops");
	assert_string_equal(labels_get(&s->labels, "site"), "hq");
	assert_string_equal(labels_get(&s->labels, "projectcalico.org/namespace"), "ops");
	assert_string_equal(labels_get(&s->labels, "pcns.projectcalico.org/name"), "ops");
	s = ps.netsets[1];
	assert_string_equal(s->ns, "default");
	assert_string_equal(labels_get(&s->labels, "projectcalico.org/namespace"), "default");
	assert_cidr(&s->nets[0], "198.51.100.0/24");
	polset_free(&ps);
}

static void
test_tiers(void **state)
{
	static const char text[] =
		"apiVersion: projectcalico.org/v3\n"
		"kind: Tier\n"
		"metadata: {name: security}\n"
		"spec: {order: 100, defaultAction: Pass}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: Tier\n"
		"metadata: {name: default}\n"
		"spec: {order: 1000000}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: Tier\n"
		"metadata: {name: plain}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: Tier\n"
		"metadata: {name: bad1}\n"
		"spec: {defaultAction: Allow}\n"
		"---\n"
		"apiVersion: crd.projectcalico.org/v1\n"
		"kind: Tier\n"
		"metadata: {name: default}\n"
		"spec:\n"
		"  order: 1000000\n"
		"  defaultAction: Pass\n";
	struct polset ps;
	const struct tier *t;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.nerr, 2);
	assert_int_equal(ps.ntiers, 3);
	t = polset_tier(&ps, "security");
	assert_non_null(t);
	assert_true(t->has_order);
	assert_true(t->order == 100);
	assert_int_equal(t->default_action, ACT_PASS);
	t = polset_tier(&ps, "default");
	assert_non_null(t);
	assert_true(t->has_order);
	assert_true(t->order == 1000000);
	assert_int_equal(t->default_action, ACT_DENY);
	t = polset_tier(&ps, "plain");
	assert_false(t->has_order);
	assert_int_equal(t->default_action, ACT_DENY);
	assert_null(polset_tier(&ps, "bad1"));
	assert_diag(nth_diag(&ps, DIAG_ERROR, 0), 18, 23, "Tier/bad1", "spec.defaultAction",
		    "defaultAction must be Deny or Pass");
	/* the rejected second "default" did not replace the first */
	assert_diag(nth_diag(&ps, DIAG_ERROR, 1), 24, 3, "Tier/default", "spec",
		    "the default tier's defaultAction must be Deny");
	polset_free(&ps);
}

static void
test_felixconfiguration(void **state)
{
	static const char text[] =
		"apiVersion: projectcalico.org/v3\n"
		"kind: FelixConfiguration\n"
		"metadata: {name: default}\n"
		"spec:\n"
		"  logSeverityScreen: Info\n"
		"  failsafeInboundHostPorts:\n"
		"  - {protocol: TCP, port: 22}\n"
		"  - {protocol: UDP, port: 68, net: 10.0.0.0/8}\n"
		"  - {port: 6443, net: 'fd00::/8'}\n"
		"  failsafeOutboundHostPorts: []\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: FelixConfiguration\n"
		"metadata: {name: node.n1}\n"
		"spec:\n"
		"  failsafeInboundHostPorts: ~\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: FelixConfiguration\n"
		"metadata: {name: node.n2}\n"
		"spec:\n"
		"  failsafeOutboundHostPorts:\n"
		"  - {protocol: ICMP, port: 1}\n";
	struct polset ps;
	const struct felixcfg *f;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.nerr, 1);
	assert_int_equal(ps.diags.nwarn, 0);	/* Felix fields nfqwall ignores are fine */
	assert_int_equal(ps.nfelixcfgs, 2);
	f = ps.felixcfgs[0];
	assert_string_equal(f->name, "default");
	assert_true(f->in.set);
	assert_int_equal(f->in.n, 3);
	assert_int_equal(f->in.v[0].proto, IPPROTO_TCP);
	assert_int_equal(f->in.v[0].port, 22);
	assert_false(f->in.v[0].has_net);
	assert_int_equal(f->in.v[1].proto, IPPROTO_UDP);
	assert_int_equal(f->in.v[1].port, 68);
	assert_true(f->in.v[1].has_net);
	assert_cidr(&f->in.v[1].net, "10.0.0.0/8");
	assert_int_equal(f->in.v[2].proto, IPPROTO_TCP);	/* default protocol */
	assert_cidr(&f->in.v[2].net, "fd00::/8");
	/* [] disables: set, with no entries */
	assert_true(f->out.set);
	assert_int_equal(f->out.n, 0);
	f = ps.felixcfgs[1];
	assert_string_equal(f->name, "node.n1");
	assert_false(f->in.set);
	assert_false(f->out.set);
	assert_diag(nth_diag(&ps, DIAG_ERROR, 0), 23, 16, "FelixConfiguration/node.n2",
		    "spec.failsafeOutboundHostPorts[0]", "protocol must be TCP, UDP or SCTP");
	polset_free(&ps);
}

/* ---- failsafe strings (§4) ------------------------------------------------------------- */

static void
test_failsafe_parse(void **state)
{
	struct failsafe_list l;
	char why[200];

	(void)state;
	assert_int_equal(failsafe_parse("tcp:22,udp:68", &l, why, sizeof(why)), 0);
	assert_true(l.set);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].proto, IPPROTO_TCP);
	assert_int_equal(l.v[0].port, 22);
	assert_int_equal(l.v[1].proto, IPPROTO_UDP);
	assert_int_equal(l.v[1].port, 68);
	failsafe_list_free(&l);

	/* a bare port is tcp; a space after the comma is tolerated */
	assert_int_equal(failsafe_parse("443, udp:53", &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].proto, IPPROTO_TCP);
	assert_int_equal(l.v[0].port, 443);
	assert_false(l.v[0].has_net);
	assert_int_equal(l.v[1].port, 53);
	failsafe_list_free(&l);

	assert_int_equal(failsafe_parse("udp:10.0.0.0/8:53", &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].proto, IPPROTO_UDP);
	assert_int_equal(l.v[0].port, 53);
	assert_true(l.v[0].has_net);
	assert_cidr(&l.v[0].net, "10.0.0.0/8");
	failsafe_list_free(&l);

	assert_int_equal(failsafe_parse("tcp:[fd00::/8]:22", &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].proto, IPPROTO_TCP);
	assert_int_equal(l.v[0].port, 22);
	assert_true(l.v[0].has_net);
	assert_int_equal(l.v[0].net.family, AF_INET6);
	assert_cidr(&l.v[0].net, "fd00::/8");
	failsafe_list_free(&l);

	/* "none": set and empty; "": not set (use the defaults) */
	assert_int_equal(failsafe_parse("none", &l, why, sizeof(why)), 0);
	assert_true(l.set);
	assert_int_equal(l.n, 0);
	failsafe_list_free(&l);
	assert_int_equal(failsafe_parse("", &l, why, sizeof(why)), 0);
	assert_false(l.set);
	assert_int_equal(l.n, 0);
	failsafe_list_free(&l);
}

static void
test_failsafe_parse_errors(void **state)
{
	static const struct {
		const char *text;
		const char *why;
	} cases[] = {
		{ "icmp:8", "\"icmp\": protocol must be tcp or udp" },
		{ "tcp:0", "\"0\" is not a port from 1 to 65535" },
		{ "tcp:65536", "\"65536\" is not a port from 1 to 65535" },
		{ "tcp:", "\"\" is not a port" },
		{ "tcp:22,,udp:x", "\"x\" is not a port" },
		{ "tcp:nonsense:22", "\"nonsense\" is not a CIDR" },
		{ "tcp:10.0.0.0/8:22:1", "too many ':'" },
		{ "ssh", "\"ssh\" is not a port" },
	};
	struct failsafe_list l;
	char why[200];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		if (failsafe_parse(cases[i].text, &l, why, sizeof(why)) != -EINVAL)
			fail_msg("\"%s\" parsed", cases[i].text);
		if (strstr(why, cases[i].why) == NULL)
			fail_msg("\"%s\": why = \"%s\", wanted \"%s\"", cases[i].text, why,
				 cases[i].why);
		assert_null(l.v);
		assert_int_equal(l.n, 0);
	}
}

static void
test_failsafe_parse_protocol_case(void **state)
{
	struct failsafe_list l;
	char why[200] = "";

	(void)state;
	if (failsafe_parse("TCP:22,Udp:10.0.0.0/8:53", &l, why, sizeof(why)) != 0)
		fail_msg("\"TCP:22,Udp:10.0.0.0/8:53\" rejected: %s", why);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].proto, IPPROTO_TCP);
	assert_int_equal(l.v[0].port, 22);
	assert_int_equal(l.v[1].proto, IPPROTO_UDP);
	assert_int_equal(l.v[1].port, 53);
	failsafe_list_free(&l);
}

static void
test_failsafe_defaults(void **state)
{
	static const struct {
		uint8_t proto;
		uint16_t port;
	} in[] = {
		{ IPPROTO_TCP, 22 }, { IPPROTO_UDP, 68 }, { IPPROTO_TCP, 179 },
		{ IPPROTO_TCP, 2379 }, { IPPROTO_TCP, 2380 }, { IPPROTO_TCP, 5473 },
		{ IPPROTO_TCP, 6443 }, { IPPROTO_TCP, 6666 }, { IPPROTO_TCP, 6667 },
	}, out[] = {
		{ IPPROTO_UDP, 53 }, { IPPROTO_UDP, 67 }, { IPPROTO_TCP, 179 },
		{ IPPROTO_TCP, 2379 }, { IPPROTO_TCP, 2380 }, { IPPROTO_TCP, 5473 },
		{ IPPROTO_TCP, 6443 }, { IPPROTO_TCP, 6666 }, { IPPROTO_TCP, 6667 },
	};
	struct failsafe_list l;

	(void)state;
	assert_int_equal(failsafe_defaults(&l, true), 0);
	assert_true(l.set);
	assert_int_equal(l.n, 9);
	for (size_t i = 0; i < 9; i++) {
		assert_int_equal(l.v[i].proto, in[i].proto);
		assert_int_equal(l.v[i].port, in[i].port);
		assert_false(l.v[i].has_net);
	}
	failsafe_list_free(&l);
	assert_int_equal(failsafe_defaults(&l, false), 0);
	assert_int_equal(l.n, 9);
	for (size_t i = 0; i < 9; i++) {
		assert_int_equal(l.v[i].proto, out[i].proto);
		assert_int_equal(l.v[i].port, out[i].port);
	}
	failsafe_list_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hep_valid),
		cmocka_unit_test(test_hep_invalid),
		cmocka_unit_test(test_global_network_set),
		cmocka_unit_test(test_network_set_namespace),
		cmocka_unit_test(test_tiers),
		cmocka_unit_test(test_felixconfiguration),
		cmocka_unit_test(test_failsafe_parse),
		cmocka_unit_test(test_failsafe_parse_errors),
		cmocka_unit_test(test_failsafe_parse_protocol_case),
		cmocka_unit_test(test_failsafe_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
