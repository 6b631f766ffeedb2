/*
 * test_eval.c - scenario tests of the enforcement semantics through both
 * engines (see test_eval.h): profiles when no policy applies, per
 * direction (docs/semantics.md §3, §1); which host endpoint governs
 * an interface (§3.2); staged policies are never enforced. The other
 * scenarios are in test_eval_tiers.c (tiers, Pass, order), test_eval_stages.c
 * (failsafes, preDNAT, doNotTrack, applyOnForward, conntrack, DNAT) and
 * test_eval_rules.c (rule selectors, named ports, families, ICMP).
 */
#include "test_eval.h"

/* ---- §3.4(a), §0.5: no policy -> profiles, per direction ---------------------------- */

static void
test_no_policy_profiles(void **state)
{
	static const char yaml[] =
		HEP_BARE_ETH0
		HEP("{name: eth1-hep}", "interfaceName: eth1, profiles: [projectcalico-default-allow]");
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	/* explicit HEP without profiles: deny both ways */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80), at_hep(w_no_profile(), "eth0-hep"));
	EXPECT(&f, tcp_out("10.0.0.1", "8.8.8.8", 80),
	       in_dir(at_hep(w_no_profile(), "eth0-hep"), DIR_EGRESS));
	EXPECT(&f, tcp_in("fd00::9", "fd00::1", 80), w_no_profile());
	/* default-allow profile: allow both ways */
	EXPECT(&f, on_if(tcp_in("8.8.8.8", "192.168.1.1", 80), IF_ETH1, 0),
	       at_hep(w_profile(true, PROFILE_DEFAULT_ALLOW), "eth1-hep"));
	EXPECT(&f, on_if(tcp_out("192.168.1.1", "8.8.8.8", 80), 0, IF_ETH1),
	       in_dir(w_profile(true, PROFILE_DEFAULT_ALLOW), DIR_EGRESS));
	fx_close(&f);
}

/* §3.3: the auto host endpoint ("*", default-allow) when n1 has none. */
static void
test_auto_hep_allows(void **state)
{
	struct hostenv_opts o = { .node = "n1" };
	struct labels host;
	struct cidr ip = mkcidr("10.0.0.1");
	struct fx f;

	(void)state;
	labels_init(&host);
	assert_int_equal(labels_set(&host, "kubernetes.io/hostname", "n1"), 0);
	o.host_labels = &host;
	o.host_ips = &ip;
	o.nhost_ips = 1;
	fx_open_opts(&f, "", &o);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80),
	       at_hep(w_profile(true, PROFILE_DEFAULT_ALLOW), "n1-auto-hep"));
	EXPECT(&f, on_if(tcp_in("127.0.0.1", "127.0.0.1", 80), IF_LO, 0),
	       at_hep(w_profile(true, PROFILE_DEFAULT_ALLOW), "n1-auto-hep"));
	EXPECT(&f, tcp_out("10.0.0.1", "8.8.8.8", 80), w_profile(true, PROFILE_DEFAULT_ALLOW));
	fx_close(&f);
	labels_free(&host);
}

/* §3.4(a)(b), vectors P06/P07: an Ingress-only policy leaves egress to the profiles. */
static void
test_per_direction(void **state)
{
	static const char yaml[] =
		HEP_ALLOW_ETH0
		GNP("p")
		"  selector: role == 'host'\n"
		"  types: [Ingress]\n"
		"  ingress:\n"
		"  - action: Allow\n"
		"    protocol: TCP\n"
		"    destination: {ports: [80]}\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80),
	       at_hep(w_rule(true, STAGE_NORMAL, "default", "p", 0), "eth0-hep"));
	/* the policy governs ingress: end-of-tier deny, the profile is not consulted */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 81), w_eot(STAGE_NORMAL, "default"));
	/* egress: no policy, the default-allow profile */
	EXPECT(&f, tcp_out("10.0.0.1", "8.8.8.8", 81), w_profile(true, PROFILE_DEFAULT_ALLOW));
	fx_close(&f);
}

/* ---- §3.2 which HEP governs an interface; §3.4 profiles ------------------------------------- */

static void
test_interface_resolution(void **state)
{
	static const char yaml[] =
		HEP("{name: b-all}", "interfaceName: '*', profiles: [projectcalico-default-allow]")
		HEP("{name: a-all}", "interfaceName: '*'")
		HEP("{name: z-eth0}", "interfaceName: eth0, profiles: [projectcalico-default-allow]")
		HEP("{name: k-byip}", "expectedIPs: [192.168.1.1], profiles: [no-such-profile]");
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	/* a named HEP beats "*", whatever the names */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80),
	       at_hep(w_profile(true, PROFILE_DEFAULT_ALLOW), "z-eth0"));
	/* claimed through expectedIPs; an unknown profile is deny-all */
	EXPECT(&f, on_if(tcp_in("8.8.8.8", "192.168.1.1", 80), IF_ETH1, 0),
	       at_hep(w_profile(false, "no-such-profile"), "k-byip"));
	/* unclaimed (lo too, and interfaces the host does not know): the lowest "*" */
	EXPECT(&f, on_if(tcp_in("127.0.0.1", "127.0.0.1", 80), IF_LO, 0),
	       at_hep(w_no_profile(), "a-all"));
	EXPECT(&f, on_if(tcp_in("8.8.8.8", "10.0.0.1", 80), IF_UNKNOWN, 0),
	       at_hep(w_no_profile(), "a-all"));
	/* workload interfaces are never host endpoints */
	EXPECT(&f, on_if(tcp_in("10.244.0.5", "10.0.0.1", 80), IF_CALI, 0), w_no_hep());
	EXPECT(&f, on_if(tcp_out("10.0.0.1", "10.244.0.5", 80), 0, IF_CALI), w_no_hep());
	EXPECT(&f, on_if(tcp_fwd("10.244.0.5", "8.8.8.8", 80), IF_CALI, IF_ETH0), w_no_policy_fwd());
	fx_close(&f);

	/* only interface-specific HEPs: other interfaces are not policed */
	fx_open(&f, HEP_BARE_ETH0);
	EXPECT(&f, on_if(tcp_in("127.0.0.1", "127.0.0.1", 80), IF_LO, 0), w_no_hep());
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80), w_no_profile());
	fx_close(&f);
}

/* §1.3, §8: staged policies are never enforced; explain shows what they would do. */
static void
test_staged_not_enforced(void **state)
{
	static const char yaml[] =
		HEP_ALLOW_ETH0
		TIER("t-staged", "{order: 10}")
		DOC("StagedGlobalNetworkPolicy", "{name: st}")
		"spec:\n"
		"  ingress:\n"
		"  - {action: Log}\n"
		"  - {action: Deny, protocol: TCP}\n"
		DOC("StagedGlobalNetworkPolicy", "{name: t-staged.only}")
		"spec:\n"
		"  tier: t-staged\n"
		"  ingress:\n"
		"  - action: Deny\n";
	struct fx f;
	size_t nstaged = 0;

	(void)state;
	fx_open(&f, yaml);
	assert_int_equal(f.ps.npolicies, 2);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80), w_profile(true, PROFILE_DEFAULT_ALLOW));
	EXPECT_LOGS(&f, 0);
	for (size_t i = 0; i < f.er->nsteps; i++) {
		const struct step *s = &f.er->steps[i];

		if (s->kind != STEP_STAGED)
			continue;
		nstaged++;
		if (strcmp(s->policy, "st") == 0) {
			assert_int_equal(s->rule, 1);
			assert_string_equal(s->tier, "default");
			assert_non_null(strstr(s->detail, "would Deny"));
		} else {
			assert_string_equal(s->policy, "t-staged.only");
			assert_int_equal(s->rule, 0);
		}
	}
	assert_int_equal(nstaged, 2);
	fx_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_policy_profiles),
		cmocka_unit_test(test_auto_hep_allows),
		cmocka_unit_test(test_per_direction),
		cmocka_unit_test(test_interface_resolution),
		cmocka_unit_test(test_staged_not_enforced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
