/*
 * fuzz_lookup.c - libFuzzer target: a raw packet through the parser and then
 * through both engines. The compiled table (walk_ruleset, the same lookups
 * the workers make) must decide every parsable packet exactly as the
 * reference evaluator does, Log hits included; any difference aborts.
 *
 * Input: byte 0 picks the path (in, out, forward) and the conntrack state,
 * byte 1 the input and output interfaces, the rest is the packet from its IP
 * header, copied into an exact-size buffer so ASan sees any read past it. A
 * packet the data path would drop as unreadable (pkt.c flags it) is only
 * parsed: judge.c drops it before any table.
 *
 * The policy set is fixed and covers tiers with Pass, ports and port ranges,
 * nets and notNets, ICMP type/code, both families, Log, selectors over
 * network sets, preDNAT, applyOnForward and a named port, on a node with a
 * named endpoint (eth0), a wildcard one and an unpoliced interface.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "decision_cmp.h"
#include "fuzz.h"
#include "pkt.h"

static const char policy[] =
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: eth0, labels: {role: node}}\n"
	"spec: {node: n1, interfaceName: eth0, expectedIPs: [10.0.0.1, 'fd00::1'],\n"
	"       ports: [{name: web, port: 8080, protocol: TCP}]}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
	"metadata: {name: all, labels: {role: node, any: 'yes'}}\n"
	"spec: {node: n1, interfaceName: '*', profiles: [projectcalico-default-allow]}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\n"
	"metadata: {name: office, labels: {zone: office}}\n"
	"spec: {nets: [192.0.2.0/24, '2001:db8::/32']}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: Tier\n"
	"metadata: {name: security}\nspec: {order: 10}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: security.block}\n"
	"spec:\n  tier: security\n  order: 1\n  selector: has(role)\n"
	"  ingress:\n"
	"    - {action: Log, protocol: TCP, destination: {ports: [22, '6000:6100']}}\n"
	"    - {action: Deny, protocol: TCP, source: {nets: [198.51.100.0/24]}}\n"
	"    - {action: Pass, protocol: UDP}\n"
	"    - {action: Deny, protocol: ICMP, icmp: {type: 8, code: 1}}\n"
	"  egress:\n"
	"    - {action: Deny, protocol: TCP, destination: {ports: [25]}}\n"
	"    - {action: Pass}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: node}\n"
	"spec:\n  order: 10\n  selector: role == 'node'\n"
	"  ingress:\n"
	"    - {action: Allow, protocol: TCP, source: {selector: zone == 'office'},\n"
	"       destination: {ports: [22, web]}}\n"
	"    - {action: Allow, protocol: UDP, source: {notNets: [203.0.113.0/24]},\n"
	"       destination: {ports: ['53', '5000:5100']}}\n"
	"    - {action: Allow, protocol: ICMPv6}\n"
	"    - {action: Allow, protocol: ICMP, icmp: {type: 8}}\n"
	"    - {action: Allow, protocol: 132}\n"
	"  egress:\n"
	"    - {action: Allow, destination: {notNets: [192.0.2.128/25]}}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: nodeports}\n"
	"spec:\n  order: 5\n  selector: has(any)\n  preDNAT: true\n  applyOnForward: true\n"
	"  ingress:\n"
	"    - {action: Deny, protocol: TCP, destination: {ports: ['30000:30100']},\n"
	"       source: {notSelector: zone == 'office'}}\n"
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
	"metadata: {name: forward}\n"
	"spec:\n  order: 20\n  selector: has(any)\n  applyOnForward: true\n"
	"  ingress: [{action: Allow, protocol: TCP}]\n"
	"  egress: [{action: Deny, protocol: UDP}]\n";

static struct polset ps;
static struct hostenv env;
static struct ruleset *rs;
static struct eval_result *er;
static struct walk_result *wr;

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_lookup: %s\n", what);
	abort();
}

static void
add_iface(uint32_t idx, const char *name, const char *a, const char *b)
{
	struct cidr c[2];
	size_t n = 0;

	if (a && cidr_parse(a, CIDR_LOOSE, &c[n++]) != 0)
		die("address");
	if (b && cidr_parse(b, CIDR_LOOSE, &c[n++]) != 0)
		die("address");
	if (hostenv_add_iface(&env, idx, name, c, n) < 0)
		die("hostenv_add_iface");
}

static void
setup(void)
{
	struct hostenv_opts o = { .node = "n1" };
	char why[128];

	polset_init(&ps);
	if (polset_load_buffer(&ps, "fuzz.yaml", policy, strlen(policy)) != 0 || ps.diags.nerr)
		die("the fixed policy does not load");
	if (hostenv_build(&env, &ps, &o, why, sizeof(why)) != 0)
		die(why);
	add_iface(1, "lo", "127.0.0.1", "::1");
	add_iface(2, "eth0", "10.0.0.1", "fd00::1");
	add_iface(3, "eth1", "192.168.1.1", NULL);
	add_iface(4, "cali1234", NULL, NULL);
	rs = compile_ruleset(&env);
	er = malloc(sizeof(*er));
	wr = malloc(sizeof(*wr));
	if (rs == NULL || er == NULL || wr == NULL)
		die("compile");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eval_input in;
	uint8_t *buf;
	int rc;

	if (rs == NULL)
		setup();
	if (size < 2)
		return 0;
	memset(&in, 0, sizeof(in));
	in.path = (enum path)(data[0] % 3);
	in.k.ct = (data[0] >> 2) % 4 == 3 ? CT_ESTABLISHED : CT_NEW;
	buf = malloc(size - 2 ? size - 2 : 1);
	if (buf == NULL)
		return 0;
	if (size > 2)
		memcpy(buf, data + 2, size - 2);
	rc = pkt_parse(buf, size - 2, &in.k);
	if (rc == 0 && !(in.k.flags & PKT_F_UNREADABLE)) {
		if (in.path != PATH_LOCAL_OUT)
			in.k.iif = 1 + data[1] % 5;	/* 5: an interface the node does not list */
		if (in.path != PATH_LOCAL_IN)
			in.k.oif = 1 + (data[1] >> 4) % 5;
		if (eval_packet(&env, &in, er) < 0)
			die("eval_packet: out of memory");
		walk_ruleset(rs, &in, wr);
		if (!decision_same(&er->final, &wr->final) || !logs_same(er, wr)) {
			fprintf(stderr, "compiled %s / reference %s: reason %s / %s, policy %s / %s, "
				"rule %d / %d\n", wr->final.allow ? "allow" : "deny",
				er->final.allow ? "allow" : "deny", reason_name(wr->final.reason),
				reason_name(er->final.reason), wr->final.policy ? wr->final.policy : "-",
				er->final.policy ? er->final.policy : "-", wr->final.rule,
				er->final.rule);
			die("the compiled table and the reference evaluator disagree");
		}
	}
	free(buf);
	return 0;
}
