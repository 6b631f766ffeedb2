/*
 * test_widens.c - ruleset_widens (nfq/ruleset_cmp.c): when a new table
 * accepts all the old one did, flows are not judged again. Hand-made cases
 * (an address joins or leaves an Allow, a Deny, a Pass set; ports; a new
 * policy), then a property check over random pairs of tables: whenever
 * ruleset_widens says yes, no packet the old table accepts at any hook is
 * refused by the new one.
 */
#include "test_ruleset.h"

/*
 * The node's endpoint and a policy whose rules take their addresses from
 * three GlobalNetworkSets: allowed (an Allow), banned (a Deny before it) and
 * skipped (a Pass before both, to a tier that denies). @allow, @ban, @skip:
 * their nets, YAML flow lists. @ports: the Allow's destination ports.
 */
static char *
policy_text(const char *allow, const char *ban, const char *skip, const char *ports)
{
	char *t;

	assert_true(asprintf(&t,
		"apiVersion: projectcalico.org/v3\n"
		"kind: HostEndpoint\n"
		"metadata: {name: n1-eth0, labels: {role: node}}\n"
		"spec: {node: n1, interfaceName: eth0, expectedIPs: [10.0.0.1, fd00::1]}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: Tier\n"
		"metadata: {name: first}\n"
		"spec: {order: 10}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: GlobalNetworkPolicy\n"
		"metadata: {name: first.skip}\n"
		"spec:\n"
		"  tier: first\n"
		"  selector: role == 'node'\n"
		"  ingress:\n"
		"  - {action: Pass, source: {selector: set == 'skipped'}}\n"
		"  - {action: Deny, source: {selector: set == 'banned'}}\n"
		"  - {action: Allow, protocol: TCP, source: {selector: set == 'allowed'},\n"
		"     destination: {ports: [%s]}}\n"
		"  - {action: Allow, protocol: UDP}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: GlobalNetworkPolicy\n"
		"metadata: {name: last}\n"
		"spec:\n"
		"  selector: role == 'node'\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [443]}}\n"
		"---\n"
		"{apiVersion: projectcalico.org/v3, kind: GlobalNetworkSet,\n"
		" metadata: {name: allowed, labels: {set: allowed}}, spec: {nets: [%s]}}\n"
		"---\n"
		"{apiVersion: projectcalico.org/v3, kind: GlobalNetworkSet,\n"
		" metadata: {name: banned, labels: {set: banned}}, spec: {nets: [%s]}}\n"
		"---\n"
		"{apiVersion: projectcalico.org/v3, kind: GlobalNetworkSet,\n"
		" metadata: {name: skipped, labels: {set: skipped}}, spec: {nets: [%s]}}\n",
		ports, allow, ban, skip) > 0);
	return t;
}

static bool
widens(const char *a_allow, const char *a_ban, const char *a_skip, const char *a_ports,
       const char *b_allow, const char *b_ban, const char *b_skip, const char *b_ports)
{
	char *ta = policy_text(a_allow, a_ban, a_skip, a_ports);
	char *tb = policy_text(b_allow, b_ban, b_skip, b_ports);
	struct fx a, b;
	bool w;

	fx_open(&a, ta);
	fx_open(&b, tb);
	w = ruleset_widens(a.rs, b.rs);
	fx_close(&a);
	fx_close(&b);
	free(ta);
	free(tb);
	return w;
}

#define BASE "198.51.100.1/32", "203.0.113.0/24", "192.0.2.0/28", "80"

static void
test_hand_made(void **state)
{
	(void)state;
	/* the same table */
	assert_true(widens(BASE, BASE));
	/* an address joins the Allow: nothing accepted before is refused */
	assert_true(widens(BASE, "198.51.100.1/32, 198.51.100.9/32, 2001:db8::7/128",
			   "203.0.113.0/24", "192.0.2.0/28", "80"));
	/* ... leaves it: a flow from it may be cut */
	assert_false(widens(BASE, "198.51.100.2/32", "203.0.113.0/24", "192.0.2.0/28", "80"));
	/* the Deny's addresses shrink: widens; grow: no */
	assert_true(widens(BASE, "198.51.100.1/32", "203.0.113.0/25", "192.0.2.0/28", "80"));
	assert_false(widens(BASE, "198.51.100.1/32", "203.0.112.0/23", "192.0.2.0/28", "80"));
	/* the Pass sends packets elsewhere: any change counts */
	assert_false(widens(BASE, "198.51.100.1/32", "203.0.113.0/24", "192.0.2.0/27", "80"));
	assert_false(widens(BASE, "198.51.100.1/32", "203.0.113.0/24", "192.0.2.0/29", "80"));
	/* more ports on the Allow: widens; fewer: no */
	assert_true(widens(BASE, "198.51.100.1/32", "203.0.113.0/24", "192.0.2.0/28", "80, 8080"));
	assert_false(widens("198.51.100.1/32", "203.0.113.0/24", "192.0.2.0/28", "80, 8080", BASE));
	/* and the reverse of a widening is not one */
	assert_false(widens("198.51.100.1/32, 198.51.100.9/32", "203.0.113.0/24", "192.0.2.0/28",
			    "80", BASE));
}

/* ruleset_changed_at: the CIDRs of @b's change from @a, as text "a/len a/len ...", or NULL
 * when something else changed. */
static char *
changed_at(const char *a_allow, const char *a_ban, const char *a_skip, const char *a_ports,
	   const char *b_allow, const char *b_ban, const char *b_skip, const char *b_ports)
{
	char *ta = policy_text(a_allow, a_ban, a_skip, a_ports);
	char *tb = policy_text(b_allow, b_ban, b_skip, b_ports);
	static char out[1024];
	struct cidr v[8];
	struct fx a, b;
	size_t n = 0, o = 0;
	bool ok;

	fx_open(&a, ta);
	fx_open(&b, tb);
	ok = ruleset_changed_at(a.rs, b.rs, v, 8, &n);
	fx_close(&a);
	fx_close(&b);
	free(ta);
	free(tb);
	if (!ok)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char buf[CIDR_STRLEN];

		/* the same CIDR may come from several chains: list each once */
		cidr_format(&v[i], buf);
		if (strstr(out, buf) == NULL)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", o ? " " : "", buf);
	}
	return out;
}

static void
test_changed_at(void **state)
{
	(void)state;
	/* nothing changed, or only widened: no address */
	assert_string_equal(changed_at(BASE, BASE), "");
	assert_string_equal(changed_at(BASE, "198.51.100.1/32, 198.51.100.9/32", "203.0.113.0/24",
				       "192.0.2.0/28", "80"), "");
	/* an address leaves the Allow: that address */
	assert_string_equal(changed_at("198.51.100.1/32, 198.51.100.9/32", "203.0.113.0/24",
				       "192.0.2.0/28", "80", BASE), "198.51.100.9/32");
	/* the Deny grows by a /25: exactly that range, as CIDRs */
	assert_string_equal(changed_at(BASE, "198.51.100.1/32", "203.0.112.128/25, 203.0.113.0/24",
				       "192.0.2.0/28", "80"), "203.0.112.128/25");
	/* a range that is no CIDR becomes the fewest CIDRs that cover it */
	assert_string_equal(changed_at("198.51.100.1/32, 10.0.0.1/32, 10.0.0.2/31, 10.0.0.4/32",
				       "203.0.113.0/24", "192.0.2.0/28", "80", BASE),
			    "10.0.0.1/32 10.0.0.2/31 10.0.0.4/32");
	/* the Pass's set changes: those addresses too (nothing else changed) */
	assert_string_equal(changed_at(BASE, "198.51.100.1/32", "203.0.113.0/24", "192.0.2.0/29",
				       "80"), "192.0.2.8/29");
	/* IPv6 */
	assert_string_equal(changed_at("198.51.100.1/32, 2001:db8::/127", "203.0.113.0/24",
				       "192.0.2.0/28", "80", BASE), "2001:db8::/127");
	/* a port list that shrinks is no address change: judged again everywhere */
	assert_null(changed_at("198.51.100.1/32", "203.0.113.0/24", "192.0.2.0/28", "80, 8080",
			       BASE));
	/* more CIDRs than the caller has room for: no */
	assert_null(changed_at("198.51.100.1/32, 10.1.0.1/32, 10.2.0.1/32, 10.3.0.1/32, "
			       "10.4.0.1/32, 10.5.0.1/32, 10.6.0.1/32, 10.7.0.1/32, 10.8.0.1/32, 10.9.0.1/32",
			       "203.0.113.0/24", "192.0.2.0/28", "80", BASE));
}

static void
test_structure_changes(void **state)
{
	const char *extra =
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: GlobalNetworkPolicy\n"
		"metadata: {name: more}\n"
		"spec:\n"
		"  selector: role == 'node'\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [22]}}\n";
	char *base = policy_text(BASE), *more;
	struct fx a, b;

	(void)state;
	assert_true(asprintf(&more, "%s%s", base, extra) > 0);
	fx_open(&a, base);
	fx_open(&b, more);
	/* a new policy is a new entry, even one that only allows: judged again */
	assert_false(ruleset_widens(a.rs, b.rs));
	assert_false(ruleset_widens(b.rs, a.rs));
	assert_true(ruleset_widens(a.rs, a.rs));
	fx_close(&a);
	fx_close(&b);
	free(base);
	free(more);
}

/* ---- the property ---------------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* A few random CIDRs of 10.9.0.0/16 (v4) and 2001:db8:9::/48 (v6), as a flow list. */
static void
random_nets(char *buf, size_t size)
{
	size_t n = 0;
	uint32_t count = 1 + rnd(3);

	buf[0] = '\0';
	for (uint32_t i = 0; i < count; i++) {
		if (rnd(4) == 0)
			n += (size_t)snprintf(buf + n, size - n, "%s2001:db8:9::%x/%u", i ? ", " : "",
					      rnd(16), 124 + rnd(5));
		else
			n += (size_t)snprintf(buf + n, size - n, "%s10.9.%u.%u/%u", i ? ", " : "",
					      rnd(4), rnd(8) * 32, 27 + rnd(6));
	}
}

static const char *const port_lists[] = { "80", "80, 8080", "80:90", "8080", "1:1024" };

static struct pkt_key
random_key(void)
{
	char src[64];
	bool v6 = rnd(4) == 0;
	uint8_t proto = rnd(2) ? IPPROTO_TCP : IPPROTO_UDP;

	if (v6)
		snprintf(src, sizeof(src), "2001:db8:9::%x", rnd(20));
	else
		snprintf(src, sizeof(src), "10.9.%u.%u", rnd(5), rnd(256));
	return key_ports(src, v6 ? "fd00::1" : "10.0.0.1", proto, (uint16_t)(1024 + rnd(4)),
			 rnd(3) ? (uint16_t)(75 + rnd(20)) : (uint16_t)(8078 + rnd(5)));
}

static void
test_property(void **state)
{
	unsigned said_yes = 0, said_spots = 0, pairs = 300;
	struct cidr spots[64];
	size_t nspots;

	(void)state;
	for (unsigned p = 0; p < pairs; p++) {
		char n[3][2][200], *ta, *tb;
		const char *ports[2];
		struct fx a, b;

		for (int s = 0; s < 3; s++)
			for (int v = 0; v < 2; v++)
				random_nets(n[s][v], sizeof(n[s][v]));
		/* often keep a set as it is, so that widenings happen */
		for (int s = 0; s < 3; s++)
			if (rnd(2))
				memcpy(n[s][1], n[s][0], sizeof(n[s][0]));
		if (rnd(2))	/* the Allow's set grows by a net of its own */
			snprintf(n[0][1], sizeof(n[0][1]), "%.150s, 10.9.%u.0/28", n[0][0], rnd(4));
		ports[0] = port_lists[rnd(5)];
		ports[1] = rnd(2) ? ports[0] : port_lists[rnd(5)];
		ta = policy_text(n[0][0], n[1][0], n[2][0], ports[0]);
		tb = policy_text(n[0][1], n[1][1], n[2][1], ports[1]);
		fx_open(&a, ta);
		fx_open(&b, tb);
		if (ruleset_changed_at(a.rs, b.rs, spots, 64, &nspots)) {
			/* flows of other addresses: what the old table accepts, the new one does */
			for (int i = 0; i < 400; i++) {
				struct pkt_key k = random_key();
				struct rs_verdict va, vb;
				bool hit = false;

				for (size_t s = 0; s < nspots && !hit; s++)
					hit = spots[s].family == k.family &&
					      (cidr_contains(&spots[s], &k.src) ||
					       cidr_contains(&spots[s], &k.dst));
				if (hit)
					continue;
				ruleset_lookup(a.rs, RS_NORMAL_IN, &k, &va);
				ruleset_lookup(b.rs, RS_NORMAL_IN, &k, &vb);
				if (va.outcome == RS_ACCEPT && vb.outcome != RS_ACCEPT)
					fail_msg("pair %u: a packet of an address outside the change is "
						 "refused\n--- old\n%s\n--- new\n%s", p, ta, tb);
			}
			said_spots += nspots > 0;
		}
		if (ruleset_widens(a.rs, b.rs)) {
			said_yes++;
			for (int i = 0; i < 400; i++) {
				struct pkt_key k = random_key();
				struct rs_verdict va, vb;

				ruleset_lookup(a.rs, RS_NORMAL_IN, &k, &va);
				ruleset_lookup(b.rs, RS_NORMAL_IN, &k, &vb);
				if (va.outcome == RS_ACCEPT && vb.outcome != RS_ACCEPT)
					fail_msg("pair %u: widens, but a packet the old table accepts is "
						 "refused by the new one\n--- old\n%s\n--- new\n%s", p,
						 ta, tb);
			}
		}
		fx_close(&a);
		fx_close(&b);
		free(ta);
		free(tb);
	}
	print_message("# %u of %u random pairs widen, %u changed at some addresses; each checked "
		      "on 400 packets\n", said_yes, pairs, said_spots);
	assert_true(said_spots >= 20);
	/* the property must have been exercised, and must not hold for every pair */
	assert_true(said_yes >= 20);
	assert_true(said_yes < pairs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hand_made),
		cmocka_unit_test(test_changed_at),
		cmocka_unit_test(test_structure_changes),
		cmocka_unit_test(test_property),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
