/*
 * test_diff.c - differential test: the compiled table against the
 * reference evaluator, on random policy sets and random packets.
 *
 * Each round writes a random policy set as YAML (tiers, host endpoints,
 * network sets, policies of every class with random rules, in both API
 * forms), loads it like `nfqwall run` would, compiles it, and judges random
 * packets on every path with both engines. Any difference fails and prints
 * the seed, the policy and the packet, so it can be replayed:
 *
 *   NFQWALL_DIFF_SEED=42 NFQWALL_DIFF_ROUNDS=2000 build/tests/test_diff
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "decision_cmp.h"
#include "helpers.h"
#include "walk.h"

#define PACKETS_PER_ROUND 100

static struct test_rng rng;

static uint32_t
rnd(uint32_t n)
{
	return test_rng_below(&rng, n);
}

static const char *
pick(const char *const *v, size_t n)
{
	return v[rnd((uint32_t)n)];
}

#define PICK(arr) pick(arr, ARRAY_SIZE(arr))

/* ---- text buffer ------------------------------------------------------------- */

struct buf {
	char *s;
	size_t n;
	size_t cap;
};

static void bprintf(struct buf *b, const char *fmt, ...) __printf(2, 3);

static void
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int need;

	for (;;) {
		va_start(ap, fmt);
		need = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if ((size_t)need < b->cap - b->n)
			break;
		b->cap = (b->cap + (size_t)need + 1) * 2;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	b->n += (size_t)need;
}

/* ---- vocabularies --------------------------------------------------------------- */

static const char *const v4_nets[] = {
	"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.0.0.1/32", "192.168.0.0/16",
	"192.168.1.0/24", "0.0.0.0/0", "203.0.113.0/24", "198.51.100.7/32", "127.0.0.0/8",
};
static const char *const v6_nets[] = {
	"fd00::/8", "fd00:1::/32", "2001:db8::/32", "::/0", "fd00::1/128", "::1/128",
};
static const char *const v4_addrs[] = {
	"10.0.0.1", "10.1.2.3", "10.9.9.9", "192.168.1.1", "192.168.7.7", "203.0.113.5",
	"198.51.100.7", "127.0.0.1", "8.8.8.8", "172.16.0.1",
};
static const char *const v6_addrs[] = {
	"fd00::1", "fd00:1::5", "2001:db8::9", "::1", "2606:4700::1", "fe80::1",
};
static const char *const selectors[] = {
	"all()", "role == 'a'", "role == 'b'", "has(env)", "env != 'x'", "!has(role)",
	"role in {'a', 'b'}", "env == 'y' && role == 'a'", "role == 'a' || env == 'x'",
	"kind == 'net'", "set == 's1'", "set == 's2' || has(kind)",
};
static const char *const label_pairs[] = {
	"role: a", "role: b", "env: x", "env: y", "kind: net", "set: s1", "set: s2",
};

static void
gen_labels(struct buf *b, const char *indent)
{
	int n = (int)rnd(3);
	bool used[ARRAY_SIZE(label_pairs)] = { false };

	if (n == 0) {
		bprintf(b, "%slabels: {}\n", indent);
		return;
	}
	bprintf(b, "%slabels:\n", indent);
	for (int i = 0; i < n; i++) {
		size_t j = rnd(ARRAY_SIZE(label_pairs));

		/* one value per key: skip a second pair with the same key */
		bool clash = false;

		for (size_t k = 0; k < ARRAY_SIZE(label_pairs); k++)
			if (used[k] && strncmp(label_pairs[k], label_pairs[j], 3) == 0)
				clash = true;
		if (clash)
			continue;
		used[j] = true;
		bprintf(b, "%s  %s\n", indent, label_pairs[j]);
	}
}

static void
gen_nets(struct buf *b, const char *key, bool v6, const char *indent)
{
	int n = 1 + (int)rnd(3);

	bprintf(b, "%s%s: [", indent, key);
	for (int i = 0; i < n; i++)
		bprintf(b, "%s\"%s\"", i ? ", " : "", v6 ? PICK(v6_nets) : PICK(v4_nets));
	bprintf(b, "]\n");
}

static void
gen_ports(struct buf *b, const char *key, bool named_ok, const char *indent)
{
	static const char *const ports[] = {
		"22", "53", "80", "443", "10250", "\"30000:32767\"", "\"1:1024\"", "\"8000:8100\"",
		"6443",
	};
	int n = 1 + (int)rnd(3);

	bprintf(b, "%s%s: [", indent, key);
	for (int i = 0; i < n; i++) {
		if (named_ok && rnd(5) == 0)
			bprintf(b, "%s%s", i ? ", " : "", rnd(2) ? "http" : "dns");
		else
			bprintf(b, "%s%s", i ? ", " : "", PICK(ports));
	}
	bprintf(b, "]\n");
}

static void
gen_entity(struct buf *b, const char *key, bool v6, bool ports, bool named)
{
	size_t mark = b->n;
	bool any = false;

	bprintf(b, "        %s:\n", key);
	if (rnd(3) == 0) {
		gen_nets(b, "nets", v6, "          ");
		any = true;
	}
	if (rnd(5) == 0) {
		gen_nets(b, "notNets", v6, "          ");
		any = true;
	}
	if (rnd(4) == 0) {
		bprintf(b, "          selector: \"%s\"\n", PICK(selectors));
		any = true;
		if (rnd(6) == 0)
			bprintf(b, "          namespaceSelector: %s\n", rnd(2) ? "global()" :
				"\"projectcalico.org/name == 'ns1'\"");
	}
	if (rnd(6) == 0) {
		bprintf(b, "          notSelector: \"%s\"\n", PICK(selectors));
		any = true;
	}
	if (ports && rnd(2) == 0) {
		gen_ports(b, "ports", named, "          ");
		any = true;
	}
	if (ports && rnd(6) == 0) {
		gen_ports(b, "notPorts", named, "          ");
		any = true;
	}
	if (!any)
		b->n = mark;		/* no fields: drop the key */
	b->s[b->n] = '\0';
}

static void
gen_rule(struct buf *b)
{
	static const char *const actions[] = { "Allow", "Allow", "Deny", "Deny", "Pass", "Log" };
	static const char *const protos[] = { "TCP", "UDP", "ICMP", "ICMPv6", "SCTP", "6", "17",
					      "47", "132" };
	bool v6 = rnd(4) == 0, ports = false, named = false;
	const char *proto = NULL;

	bprintf(b, "      - action: %s\n", PICK(actions));
	if (rnd(3) != 0) {
		proto = PICK(protos);
		bprintf(b, "        protocol: %s\n", proto);
		ports = !strcmp(proto, "TCP") || !strcmp(proto, "UDP") || !strcmp(proto, "SCTP") ||
			!strcmp(proto, "6") || !strcmp(proto, "17") || !strcmp(proto, "132");
		named = true;
		if (!strcmp(proto, "ICMP"))
			v6 = false;
		if (!strcmp(proto, "ICMPv6"))
			v6 = true;
		if ((!strcmp(proto, "ICMP") || !strcmp(proto, "ICMPv6")) && rnd(2) == 0) {
			if (rnd(2))
				bprintf(b, "        icmp: {type: %u%s}\n", rnd(2) ? 8u : rnd(4),
					rnd(2) ? ", code: 0" : "");
			else
				bprintf(b, "        notICMP: {type: %u}\n", rnd(2) ? 8u : 128u);
		}
	} else if (rnd(4) == 0) {
		bprintf(b, "        notProtocol: %s\n", PICK(protos));
	}
	if (rnd(8) == 0 && (proto == NULL || (strcmp(proto, "ICMP") && strcmp(proto, "ICMPv6"))))
		bprintf(b, "        ipVersion: %d\n", v6 ? 6 : 4);
	gen_entity(b, "source", v6, ports, named);
	gen_entity(b, "destination", v6, ports, named);
}

static void
gen_policy(struct buf *b, int idx)
{
	static const char *const tiers[] = { "default", "default", "t1", "t2" };
	bool v1 = rnd(3) == 0;
	unsigned cls = rnd(8);		/* 0: preDNAT, 1: doNotTrack, 2: applyOnForward */
	const char *tier = PICK(tiers);
	int nin = (int)rnd(5), neg = cls == 0 ? 0 : (int)rnd(4);
	char name[64];

	if (strcmp(tier, "default") == 0)
		snprintf(name, sizeof(name), "%sp%d", v1 ? "default." : "", idx);
	else
		snprintf(name, sizeof(name), "%s.p%d", tier, idx);
	bprintf(b, "---\napiVersion: %s\nkind: %sGlobalNetworkPolicy\nmetadata:\n  name: %s\n",
		v1 ? "crd.projectcalico.org/v1" : "projectcalico.org/v3",
		rnd(12) == 0 ? "Staged" : "", name);
	bprintf(b, "spec:\n  tier: %s\n", tier);
	if (rnd(4) != 0)
		bprintf(b, "  order: %u\n", rnd(4) * 10);
	if (rnd(5) != 0)
		bprintf(b, "  selector: \"%s\"\n", PICK(selectors));
	if (cls == 0)
		bprintf(b, "  preDNAT: true\n  applyOnForward: true\n  types: [Ingress]\n");
	else if (cls == 1)
		bprintf(b, "  doNotTrack: true\n  applyOnForward: true\n");
	else if (cls == 2)
		bprintf(b, "  applyOnForward: true\n");
	if (cls != 0 && rnd(3) == 0)
		bprintf(b, "  types: [%s]\n", rnd(3) == 0 ? "Ingress" : rnd(2) ? "Egress" :
			"Ingress, Egress");
	if (nin > 0) {
		bprintf(b, "  ingress:\n");
		for (int i = 0; i < nin; i++)
			gen_rule(b);
	}
	if (neg > 0) {
		bprintf(b, "  egress:\n");
		for (int i = 0; i < neg; i++)
			gen_rule(b);
	}
}

static void
gen_policyset(struct buf *b)
{
	static const char *const ifaces[] = { "\"*\"", "\"*\"", "eth0", "eth1", "lo", "\"\"" };
	int nheps = 1 + (int)rnd(3), npol = 1 + (int)rnd(6);

	b->n = 0;
	b->s[0] = '\0';
	for (int t = 1; t <= 2; t++)
		if (rnd(2))
			bprintf(b, "---\napiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n"
				"  name: t%d\nspec:\n  order: %u\n  defaultAction: %s\n", t,
				rnd(3) * 100, rnd(2) ? "Deny" : "Pass");
	for (int h = 0; h < nheps + 1; h++) {
		const char *ifn = PICK(ifaces);

		bprintf(b, "---\napiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n"
			"  name: hep%d\n", h);
		gen_labels(b, "  ");
		bprintf(b, "spec:\n  node: %s\n  interfaceName: %s\n", h < nheps ? "n1" : "n2", ifn);
		bprintf(b, "  expectedIPs: [\"%s\", \"%s\"]\n", PICK(v4_addrs), PICK(v6_addrs));
		if (rnd(3) == 0)
			bprintf(b, "  ports:\n  - {name: http, protocol: TCP, port: 80}\n"
				"  - {name: dns, protocol: UDP, port: 53}\n");
		switch (rnd(3)) {
		case 0:
			bprintf(b, "  profiles: [projectcalico-default-allow]\n");
			break;
		case 1:
			bprintf(b, "  profiles: [no-such-profile]\n");
			break;
		default:
			break;
		}
	}
	for (int s = 0; s < 2; s++) {
		if (rnd(2) == 0)
			continue;
		bprintf(b, "---\napiVersion: projectcalico.org/v3\nkind: %s\nmetadata:\n"
			"  name: set%d\n%s", s ? "NetworkSet" : "GlobalNetworkSet", s,
			s ? "  namespace: ns1\n" : "");
		gen_labels(b, "  ");
		bprintf(b, "spec:\n");
		gen_nets(b, "nets", rnd(3) == 0, "  ");
	}
	if (rnd(4) == 0)
		bprintf(b, "---\napiVersion: projectcalico.org/v3\nkind: FelixConfiguration\n"
			"metadata:\n  name: default\nspec:\n  failsafeInboundHostPorts:\n"
			"  - {protocol: TCP, port: 22, net: 10.0.0.0/8}\n  - {protocol: UDP, port: 53}\n"
			"  failsafeOutboundHostPorts: []\n");
	for (int p = 0; p < npol; p++)
		gen_policy(b, p);
}

/* ---- packets --------------------------------------------------------------------- */

static void
gen_packet(struct eval_input *in)
{
	static const uint8_t protos[] = { 6, 6, 17, 17, 1, 58, 132, 47 };
	static const uint16_t ports[] = { 22, 53, 80, 443, 10250, 30080, 6443, 8050, 1000 };
	struct pkt_key *k = &in->k;
	bool v6 = rnd(5) == 0;
	uint8_t fam;

	memset(in, 0, sizeof(*in));
	if (addr_parse(v6 ? PICK(v6_addrs) : PICK(v4_addrs), &k->src, &fam) < 0 ||
	    addr_parse(v6 ? PICK(v6_addrs) : PICK(v4_addrs), &k->dst, &fam) < 0)
		abort();
	k->family = fam;
	k->proto = protos[rnd(ARRAY_SIZE(protos))];
	if (k->proto == 6 || k->proto == 17 || k->proto == 132) {
		k->flags = PKT_F_PORTS;
		k->sport = rnd(3) ? (uint16_t)(1024 + rnd(60000)) : ports[rnd(ARRAY_SIZE(ports))];
		k->dport = rnd(8) ? ports[rnd(ARRAY_SIZE(ports))] : (uint16_t)(1 + rnd(65535));
	} else if ((k->proto == 1 && !v6) || (k->proto == 58 && v6)) {
		k->flags = PKT_F_ICMP;
		k->icmp_type = (uint8_t)(rnd(2) ? (v6 ? 128 : 8) : rnd(4));
		k->icmp_code = (uint8_t)rnd(2);
	}
	if (rnd(20) == 0)
		k->flags = PKT_F_FRAG | PKT_F_NONFIRST;
	k->ct = rnd(10) == 0 ? (uint8_t)rnd(4) : CT_NEW;
	in->path = (enum path)rnd(3);
	if (in->path != PATH_LOCAL_OUT)
		k->iif = 1 + rnd(5);
	if (in->path != PATH_LOCAL_IN)
		k->oif = 1 + rnd(5);
	if (in->path != PATH_LOCAL_OUT && rnd(4) == 0) {
		in->dnat = true;
		if (addr_parse(v6 ? PICK(v6_addrs) : PICK(v4_addrs), &in->dnat_addr, &fam) < 0)
			abort();
		in->dnat_port_set = rnd(2);
		in->dnat_port = ports[rnd(ARRAY_SIZE(ports))];
	}
}

static void
add_ifaces(struct hostenv *env)
{
	struct cidr a[2];

	a[0] = mkcidr("10.0.0.1");
	a[1] = mkcidr("fd00::1");
	assert_int_equal(hostenv_add_iface(env, 1, "eth0", a, 2), 0);
	a[0] = mkcidr("192.168.1.1");
	assert_int_equal(hostenv_add_iface(env, 2, "eth1", a, 1), 0);
	a[0] = mkcidr("127.0.0.1");
	a[1] = mkcidr("::1");
	assert_int_equal(hostenv_add_iface(env, 3, "lo", a, 2), 0);
	assert_int_equal(hostenv_add_iface(env, 4, "cali1234", NULL, 0), 0);
	/* ifindex 5 is not listed: it falls to the "*" endpoint */
}

/* ---- comparison --------------------------------------------------------------------- */

static void
print_decision(const char *who, const struct decision *d)
{
	fprintf(stderr, "  %s: %s stage=%s dir=%d reason=%s hep=%s tier=%s policy=%s rule=%d\n",
		who, d->allow ? "allow" : "deny", stage_name(d->stage), d->dir,
		reason_name(d->reason), d->hep ? d->hep : "-", d->tier ? d->tier : "-",
		d->policy ? d->policy : "-", d->rule);
}

static void
report(uint64_t seed, unsigned round, const struct buf *yaml, const struct eval_input *in,
       const struct eval_result *r, const struct walk_result *w)
{
	char s[ADDR_STRLEN], d[ADDR_STRLEN];

	fprintf(stderr, "MISMATCH seed=%llu round=%u\n--- policy ---\n%s\n--- packet ---\n",
		(unsigned long long)seed, round, yaml->s);
	fprintf(stderr, "  path=%s proto=%u %s:%u -> %s:%u icmp=%u/%u flags=%#x ct=%u iif=%u "
		"oif=%u dnat=%d\n", path_name(in->path), in->k.proto,
		addr_format(&in->k.src, in->k.family, s), in->k.sport,
		addr_format(&in->k.dst, in->k.family, d), in->k.dport, in->k.icmp_type,
		in->k.icmp_code, in->k.flags, in->k.ct, in->k.iif, in->k.oif, in->dnat);
	print_decision("reference", &r->final);
	print_decision("compiled ", &w->final);
	fprintf(stderr, "  logs: reference %zu, compiled %zu\n", r->nlogs, w->nlogs);
	for (size_t i = 0; i < r->nsteps; i++)
		fprintf(stderr, "    %s\n", r->steps[i].detail);
}

/*
 * Asking why (`nfqwall explain`) walks the same evaluation and records more:
 * the decision and Log hits of @in stay those of @r, and every reason points
 * at a step of the trace and names a field.
 */
static bool
why_changes_nothing(const struct hostenv *env, const struct eval_input *in,
		    const struct eval_result *r, struct eval_result *r2, struct eval_why *why)
{
	struct eval_input in2 = *in;

	in2.why = why;
	if (eval_packet(env, &in2, r2) != 0 || !decision_same(&r->final, &r2->final) ||
	    r->nlogs != r2->nlogs || r2->nsteps < r->nsteps)
		return false;
	for (size_t i = 0; i < why->n; i++)
		if (why->v[i].step >= r2->nsteps || why->v[i].field[0] == '\0' ||
		    why->v[i].text[0] == '\0')
			return false;
	return true;
}

static void
test_differential(void **state)
{
	const char *rounds_env = getenv("NFQWALL_DIFF_ROUNDS");
	uint64_t seed = test_rng_seed(&rng, "NFQWALL_DIFF_SEED", 20261123);
	unsigned rounds = rounds_env ? (unsigned)strtoul(rounds_env, NULL, 10) : 1000;
	struct buf yaml = { malloc(4096), 0, 4096 };
	struct eval_result *r = malloc(sizeof(*r));
	struct walk_result *w = malloc(sizeof(*w));
	struct eval_result *r2 = malloc(sizeof(*r2));
	struct eval_why why_buf = { .v = calloc(512, sizeof(struct eval_miss)), .cap = 512 };
	unsigned long pairs = 0, policies = 0, rejected = 0, failures = 0;
	unsigned long outcomes[2] = { 0, 0 }, reasons[REASON_NREASONS] = { 0 };

	(void)state;
	assert_true(yaml.s != NULL && r != NULL && w != NULL && r2 != NULL && why_buf.v != NULL);
	rng.state = seed * 0x9e3779b97f4a7c15ull + 1;	/* the sequence the test always had */
	for (unsigned round = 0; round < rounds && failures == 0; round++) {
		struct polset ps;
		struct hostenv env;
		/* nfqwall's own port, by round (drawing it would change the sequence) */
		static const char *const selfs[] = {
			NULL, "127.0.0.1:8050", "[::]:1000", "0.0.0.0:443", "[::1]:22",
		};
		struct hostenv_opts o = { .node = "n1", .self_addr = selfs[round % 5] };
		struct ruleset *rs;
		char why[128];

		gen_policyset(&yaml);
		polset_init(&ps);
		assert_int_equal(polset_load_buffer(&ps, "random.yaml", yaml.s, yaml.n), 0);
		policies += ps.npolicies;
		rejected += ps.nrejected;
		assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
		add_ifaces(&env);
		rs = compile_ruleset(&env);
		assert_non_null(rs);
		for (int p = 0; p < PACKETS_PER_ROUND; p++) {
			struct eval_input in;

			gen_packet(&in);
			assert_int_equal(eval_packet(&env, &in, r), 0);
			walk_ruleset(rs, &in, w);
			pairs++;
			outcomes[r->final.allow]++;
			reasons[r->final.reason]++;
			if (!decision_same(&r->final, &w->final) || !logs_same(r, w)) {
				report(seed, round, &yaml, &in, r, w);
				failures++;
				break;
			}
			if (p % 4 == 0 && !why_changes_nothing(&env, &in, r, r2, &why_buf)) {
				report(seed, round, &yaml, &in, r, w);
				fprintf(stderr, "  asking why (explain) changed the evaluation\n");
				failures++;
				break;
			}
		}
		ruleset_free(rs);
		hostenv_free(&env);
		polset_free(&ps);
	}
	printf("# differential: seed %llu, %lu (policy set, packet) pairs, %lu policies loaded, "
	       "%lu objects rejected as invalid; verdicts %lu allow / %lu deny\n",
	       (unsigned long long)seed, pairs, policies, rejected, outcomes[1], outcomes[0]);
	printf("# reasons:");
	for (int i = 0; i < REASON_NREASONS; i++)
		printf(" %s=%lu", reason_name((enum reason)i), reasons[i]);
	printf("\n");
	free(yaml.s);
	free(r);
	free(w);
	free(r2);
	free(why_buf.v);
	assert_int_equal(failures, 0);
	/* the generator must exercise every way of deciding (an unreadable packet
	 * is the data path's own drop, before any table: judge.c, test_judge) */
	for (int i = 0; i < REASON_UNREADABLE; i++)
		assert_true(reasons[i] > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
