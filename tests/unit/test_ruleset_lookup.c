/*
 * test_ruleset_lookup.c - the compiled table's lookup at its edges, with
 * hand-built packet keys: fragments, ICMP type/code ranges, 128-bit address
 * interval edges, and a 2,000-rule policy whose bitsets span many 64-bit
 * words, checked entry by entry against the reference evaluator.
 */
#include "test_ruleset.h"

/* ---- fragments, ICMP, address edges ------------------------------------------------------------ */

static void
test_fragments(void **state)
{
	static const char yaml[] =
		HEP("{name: eth0-hep}", "interfaceName: eth0")
		GNP("frag")
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n"
		"  - {action: Allow, protocol: TCP, destination: {notPorts: [443]}}\n"
		"  - {action: Allow, protocol: TCP, source: {ports: ['1024:65535']}}\n"
		"  - {action: Allow, protocol: TCP, source: {notPorts: [1]}}\n"
		"  - {action: Log, protocol: TCP}\n"
		"  - {action: Deny, protocol: TCP, source: {nets: [10.0.0.0/8]}}\n"
		"  - {action: Allow, protocol: ICMP, icmp: {type: 8}}\n"
		"  - {action: Allow, protocol: ICMP, notICMP: {type: 8}}\n"
		"  - {action: Allow, protocol: TCP}\n"
		"  - {action: Deny}\n";
	struct pkt_key k;
	struct eval_input in;
	struct fx f;

	(void)state;
	fx_open_fs(&f, yaml, "tcp:22");
	/* a non-first fragment: no L4 header, so no port rule, no failsafe, no ICMP rule */
	k = key("10.1.1.1", "10.0.0.1", IPPROTO_TCP);
	k.flags = PKT_F_FRAG | PKT_F_NONFIRST;
	RULE_DENY(&f, RS_NORMAL_IN, k, "frag", 5);
	EXPECT_LOGS(&f, RS_NORMAL_IN, k, 1, 4);
	k = key("8.8.8.8", "10.0.0.1", IPPROTO_TCP);
	k.flags = PKT_F_FRAG | PKT_F_NONFIRST;
	k.dport = 22;		/* stale values must be ignored without PKT_F_PORTS */
	RULE_ALLOW(&f, RS_NORMAL_IN, k, "frag", 8);
	k = key("8.8.8.8", "10.0.0.1", IPPROTO_ICMP);
	k.flags = PKT_F_FRAG | PKT_F_NONFIRST;
	k.icmp_type = 8;
	RULE_DENY(&f, RS_NORMAL_IN, k, "frag", 9);
	/* the first fragment carries the ports */
	k = key_ports("10.1.1.1", "10.0.0.1", IPPROTO_TCP, 1, 80);
	k.flags |= PKT_F_FRAG;
	RULE_ALLOW(&f, RS_NORMAL_IN, k, "frag", 0);
	k = key_ports("10.1.1.1", "10.0.0.1", IPPROTO_TCP, 2, 443);
	RULE_ALLOW(&f, RS_NORMAL_IN, k, "frag", 3);
	k = key_ports("10.1.1.1", "10.0.0.1", IPPROTO_TCP, 1, 22);
	EXPECT_LOOKUP(&f, RS_NORMAL_IN, k, RS_ACCEPT, REASON_FAILSAFE, NULL, -1);

	/* the whole path agrees with the reference evaluator */
	memset(&in, 0, sizeof(in));
	in.path = PATH_LOCAL_IN;
	in.k = key("10.1.1.1", "10.0.0.1", IPPROTO_TCP);
	in.k.flags = PKT_F_FRAG | PKT_F_NONFIRST;
	EXPECT_AGREE(&f, &in);
	in.k = key("8.8.8.8", "10.0.0.1", IPPROTO_TCP);
	in.k.flags = PKT_F_FRAG | PKT_F_NONFIRST;
	EXPECT_AGREE(&f, &in);
	fx_close(&f);
}

/* An ICMP type/code, and the rule that must decide it with its Log hits. */
struct icmp_case {
	uint8_t type, code;
	bool allow;
	int rule;
	uint32_t nlog;
};

/* Each case at the normal ingress hook, then the whole path against the reference. */
static void
check_icmp(const struct fx *f, const struct icmp_case *c, size_t n, const char *src,
	   const char *dst, uint8_t proto)
{
	struct eval_input in;

	memset(&in, 0, sizeof(in));
	in.path = PATH_LOCAL_IN;
	for (size_t i = 0; i < n; i++) {
		struct pkt_key k = key_icmp(src, dst, proto, c[i].type, c[i].code);
		struct rs_verdict v;

		ruleset_lookup(f->rs, RS_NORMAL_IN, &k, &v);
		if ((v.outcome == RS_ACCEPT) != c[i].allow ||
		    ruleset_meta(f->rs, v.meta)->rule != c[i].rule || v.nlog != c[i].nlog)
			fail_msg("ICMP (protocol %u) %u/%u: %s by rule %d, %u logs; wanted rule %d, "
				 "%u logs", proto, c[i].type, c[i].code,
				 v.outcome == RS_ACCEPT ? "allowed" : "dropped",
				 ruleset_meta(f->rs, v.meta)->rule, v.nlog, c[i].rule, c[i].nlog);
		in.k = k;
		EXPECT_AGREE(f, &in);
	}
}

static void
test_icmp_ranges(void **state)
{
	static const char yaml[] =
		HEP("{name: eth0-hep}", "interfaceName: eth0")
		GNP("icmp")
		"  ingress:\n"
		"  - {action: Allow, protocol: ICMP, icmp: {type: 8}}\n"
		"  - {action: Allow, protocol: ICMP, icmp: {type: 3, code: 1}}\n"
		"  - {action: Log, protocol: ICMP, notICMP: {type: 3}}\n"
		"  - {action: Deny, protocol: ICMP, icmp: {type: 3}}\n"
		"  - {action: Allow, protocol: ICMP, notICMP: {type: 5, code: 0}}\n"
		"  - {action: Allow, protocol: ICMPv6, icmp: {type: 128, code: 0}}\n"
		"  - {action: Allow, protocol: ICMPv6, icmp: {type: 254}}\n"
		"  - {action: Deny}\n";
	static const struct icmp_case v4[] = {
		{ 8, 0, true, 0, 0 }, { 8, 255, true, 0, 0 }, { 7, 255, true, 4, 1 },
		{ 9, 0, true, 4, 1 }, { 3, 1, true, 1, 0 }, { 3, 0, false, 3, 0 },
		{ 3, 2, false, 3, 0 }, { 3, 255, false, 3, 0 }, { 5, 0, false, 7, 1 },
		{ 5, 1, true, 4, 1 }, { 4, 255, true, 4, 1 }, { 6, 0, true, 4, 1 },
		{ 0, 0, true, 4, 1 }, { 255, 255, true, 4, 1 },
	};
	static const struct icmp_case v6[] = {
		{ 128, 0, true, 5, 0 }, { 128, 1, false, 7, 0 }, { 127, 255, false, 7, 0 },
		{ 129, 0, false, 7, 0 }, { 254, 0, true, 6, 0 }, { 254, 255, true, 6, 0 },
		{ 255, 0, false, 7, 0 }, { 253, 255, false, 7, 0 },
	};
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	check_icmp(&f, v4, ARRAY_SIZE(v4), "8.8.8.8", "10.0.0.1", IPPROTO_ICMP);
	check_icmp(&f, v6, ARRAY_SIZE(v6), "fd00::9", "fd00::1", IPPROTO_ICMPV6);
	fx_close(&f);
}

static void
test_address_edges(void **state)
{
	static const char yaml[] =
		HEP("{name: eth0-hep}", "interfaceName: eth0")
		GNP("edges")
		"  ingress:\n"
		"  - {action: Allow, destination: {nets: ['2001:db8:1:2::/64']}}\n"
		"  - {action: Allow, destination: {nets: ['::/128']}}\n"
		"  - {action: Allow, destination: {nets: ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128']}}\n"
		"  - {action: Allow, source: {nets: ['8000::/1']}}\n"
		"  - {action: Allow, destination: {nets: ['::ffff:0:0/96']}}\n"
		"  - {action: Allow, destination: {nets: [0.0.0.0/32]}}\n"
		"  - {action: Allow, destination: {nets: [255.255.255.255/32]}}\n"
		"  - {action: Allow, source: {nets: [128.0.0.0/1]}}\n"
		"  - {action: Deny, source: {notNets: ['2001:db8::/32']}}\n"
		"  - action: Log\n";
	static const struct {
		const char *src, *dst;
		int rule;		/* -1: end of tier */
	} cases[] = {
		{ "3fff::9", "2001:db8:1:2::", 0 },
		{ "3fff::9", "2001:db8:1:2:ffff:ffff:ffff:ffff", 0 },
		{ "3fff::9", "2001:db8:1:1:ffff:ffff:ffff:ffff", 8 },
		{ "3fff::9", "2001:db8:1:3::", 8 },
		{ "3fff::9", "::", 1 },
		{ "3fff::9", "::1", 8 },
		{ "3fff::9", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 2 },
		{ "3fff::9", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 8 },
		{ "8000::", "fd00::1", 3 },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fd00::1", 3 },
		{ "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fd00::1", 8 },
		{ "2001:db8::1", "fd00::1", -1 },
		{ "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "fd00::1", -1 },
		{ "2001:db9::", "fd00::1", 8 },
		{ "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "fd00::1", 8 },
		/* v4-mapped IPv6 is IPv6: the /96 rule, never the IPv4 /32s */
		{ "2001:db8::1", "::ffff:0.0.0.0", 4 },
		{ "2001:db8::1", "::ffff:255.255.255.255", 4 },
		{ "2001:db8::1", "::1:0:0:0", -1 },
		{ "10.1.1.1", "0.0.0.0", 5 },
		{ "10.1.1.1", "255.255.255.255", 6 },
		{ "10.1.1.1", "255.255.255.254", -1 },
		{ "10.1.1.1", "0.0.0.1", -1 },
		{ "128.0.0.0", "10.0.0.1", 7 },
		{ "127.255.255.255", "10.0.0.1", -1 },
	};
	struct eval_input in;
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	memset(&in, 0, sizeof(in));
	in.path = PATH_LOCAL_IN;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt_key k = key(cases[i].src, cases[i].dst, 47);
		struct rs_verdict v;
		int got;

		ruleset_lookup(f.rs, RS_NORMAL_IN, &k, &v);
		got = v.reason == REASON_RULE ? ruleset_meta(f.rs, v.meta)->rule : -1;
		if (got != cases[i].rule || (got >= 0 && v.reason != REASON_RULE) ||
		    (got < 0 && v.reason != REASON_END_OF_TIER))
			fail_msg("%s -> %s: rule %d (%s), wanted %d", cases[i].src, cases[i].dst,
				 got, reason_name((enum reason)v.reason), cases[i].rule);
		/* the Log rule is last: it is hit only when nothing decided before it */
		assert_int_equal(v.nlog, cases[i].rule < 0 ? 1 : 0);
		in.k = k;
		EXPECT_AGREE(&f, &in);
	}
	fx_close(&f);
}

/* ---- 2,000 rules: bitsets of 32 words ------------------------------------------------------------ */

#define NBIG	2000
#define HALF	1000		/* rules per direction of each of the two policies */
#define BASE	10000

/*
 * Tier t1 holds policies big-a (entries 0..999) and big-b (1000..1999):
 * entry i matches TCP dport BASE + i. Even entries allow, odd ones deny;
 * every 500th (from 250) is a Log for all TCP; entry 1500 is a Pass; the
 * last one covers BASE + NBIG - 1 .. 65535. The default tier then allows
 * BASE + 1500 and nothing else.
 */
static char *
big_yaml(void)
{
	size_t cap = 256 * (NBIG + 20), n = 0;
	char *y = malloc(cap);

	assert_non_null(y);
	n += (size_t)snprintf(y + n, cap - n, "%s%s",
			      HEP("{name: eth0-hep}", "interfaceName: eth0"),
			      DOC("Tier", "{name: t1}") "spec: {order: 10}\n");
	for (int i = 0; i < NBIG; i++) {
		if (i % HALF == 0)
			n += (size_t)snprintf(y + n, cap - n, "%s  tier: t1\n  order: %d\n"
					      "  ingress:\n", i ? GNP("big-b") : GNP("big-a"),
					      i / HALF);
		if (i % 500 == 250)
			n += (size_t)snprintf(y + n, cap - n, "  - {action: Log, protocol: TCP}\n");
		else if (i == 1500)
			n += (size_t)snprintf(y + n, cap - n, "  - {action: Pass, protocol: TCP, "
					      "destination: {ports: [%d]}}\n", BASE + i);
		else if (i == NBIG - 1)
			n += (size_t)snprintf(y + n, cap - n, "  - {action: Deny, protocol: TCP, "
					      "destination: {ports: ['%d:65535']}}\n", BASE + i);
		else
			n += (size_t)snprintf(y + n, cap - n, "  - {action: %s, protocol: TCP, "
					      "destination: {ports: [%d]}}\n",
					      i % 2 ? "Deny" : "Allow", BASE + i);
	}
	n += (size_t)snprintf(y + n, cap - n, "%s  ingress:\n  - {action: Allow, protocol: TCP, "
			      "destination: {ports: [%d]}}\n", GNP("after"), BASE + 1500);
	assert_true(n < cap);
	return y;
}

static void
test_many_rules(void **state)
{
	static const int probe[] = { 0, 1, 62, 63, 64, 65, 127, 128, 129, 191, 192, 250, 251,
				     255, 256, 511, 512, 750, 998, 999, 1000, 1001, 1023, 1024,
				     1499, 1500, 1501, 1750, 1998, 1999 };
	char *yaml = big_yaml();
	struct eval_input in;
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	free(yaml);
	assert_int_equal(f.ps.npolicies, 3);
	for (size_t i = 0; i < f.ps.npolicies; i++)
		assert_int_equal(f.ps.policies[i]->ningress,
				 strcmp(f.ps.policies[i]->name, "after") ? HALF : 1);

	/* entry i is rule i % HALF of big-a or big-b: no failsafes, t1 comes first */
	for (size_t j = 0; j < sizeof(probe) / sizeof(probe[0]); j++) {
		int i = probe[j];
		struct pkt_key k = key_ports("8.8.8.8", "10.0.0.1", IPPROTO_TCP, 1,
					     (uint16_t)(BASE + i));
		struct rs_verdict v;
		const struct rs_meta *m;
		uint32_t nlog = 0;

		ruleset_lookup(f.rs, RS_NORMAL_IN, &k, &v);
		m = v.meta != RS_NO_META ? ruleset_meta(f.rs, v.meta) : NULL;
		if (i % 500 == 250) {
			/* a Log entry: nothing decides in t1, every Log is hit, t1's end denies */
			assert_int_equal(v.reason, REASON_END_OF_TIER);
			assert_string_equal(ruleset_str(f.rs, m->tier), "t1");
			nlog = NBIG / 500;
		} else if (i == 1500) {
			/* Pass jumps over 499 entries and t1's end, into the default tier */
			assert_int_equal(v.outcome, RS_ACCEPT);
			assert_string_equal(ruleset_str(f.rs, m->policy), "after");
			nlog = 3;
		} else {
			if (m == NULL || m->rule != i % HALF || v.reason != REASON_RULE ||
			    strcmp(ruleset_str(f.rs, m->policy), i < HALF ? "big-a" : "big-b"))
				fail_msg("port %d: %s rule %d, wanted entry %d", BASE + i,
					 m ? ruleset_str(f.rs, m->policy) : "-", m ? m->rule : -1, i);
			assert_int_equal(v.outcome, i % 2 || i == NBIG - 1 ? RS_DROP : RS_ACCEPT);
			for (int l = 250; l < i; l += 500)
				nlog++;
		}
		if (v.nlog != nlog)
			fail_msg("port %d: %u Log hits, wanted %u", BASE + i, v.nlog, nlog);
	}
	/* above the last single port, below the first, another protocol */
	RULE_DENY(&f, RS_NORMAL_IN, key_ports("8.8.8.8", "10.0.0.1", IPPROTO_TCP, 1, 65535),
		  "big-b", NBIG - 1 - HALF);
	EXPECT_LOOKUP(&f, RS_NORMAL_IN, key_ports("8.8.8.8", "10.0.0.1", IPPROTO_TCP, 1, BASE - 1),
		      RS_DROP, REASON_END_OF_TIER, NULL, -1);
	EXPECT_LOOKUP(&f, RS_NORMAL_IN, key_ports("8.8.8.8", "10.0.0.1", IPPROTO_UDP, 1, BASE),
		      RS_DROP, REASON_END_OF_TIER, NULL, -1);

	/* every port of the policy, through both engines */
	memset(&in, 0, sizeof(in));
	in.path = PATH_LOCAL_IN;
	for (int p = BASE - 2; p <= BASE + NBIG + 1; p++) {
		in.k = key_ports("8.8.8.8", "10.0.0.1", IPPROTO_TCP, 1, (uint16_t)p);
		EXPECT_AGREE(&f, &in);
	}
	fx_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_icmp_ranges),
		cmocka_unit_test(test_address_edges),
		cmocka_unit_test(test_many_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
