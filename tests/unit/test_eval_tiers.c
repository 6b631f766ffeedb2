/*
 * test_eval_tiers.c - scenario tests of the tier walk through both engines
 * (see test_eval.h): tiers, Pass, end of tier, Log (docs/semantics.md
 * §5) and the order of tiers and policies (§1.2).
 */
#include "test_eval.h"

/* ---- §1.3 tiers, Pass, end of tier ------------------------------------------------- */

static void
test_tier_default_action_pass(void **state)
{
	static const char yaml[] =
		HEP_BARE_ETH0
		TIER("t1", "{order: 100, defaultAction: Pass}")
		TIER("t2", "{order: 200}")
		GNP("t1.a")
		"  tier: t1\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [443]}}\n"
		GNP("t2.a")
		"  tier: t2\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [80, 81]}}\n"
		GNP("b")
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 443), w_rule(true, STAGE_NORMAL, "t1", "t1.a", 0));
	/* t1 ends with Pass: on to t2 */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 81), w_rule(true, STAGE_NORMAL, "t2", "t2.a", 0));
	/* t2's defaultAction is Deny (the default) */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 82), w_eot(STAGE_NORMAL, "t2"));
	fx_close(&f);
}

static void
test_pass_rule_skips_rest_of_tier(void **state)
{
	static const char yaml[] =
		HEP_BARE_ETH0
		TIER("t1", "{order: 100}")
		GNP("t1.a")
		"  tier: t1\n"
		"  order: 1\n"
		"  ingress:\n"
		"  - {action: Pass, protocol: TCP, destination: {ports: [80]}}\n"
		"  - {action: Deny, protocol: TCP, destination: {ports: [80]}}\n"
		GNP("t1.b")
		"  tier: t1\n"
		"  order: 2\n"
		"  ingress:\n"
		"  - action: Deny\n"
		GNP("c")
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	/* Pass skips t1.a's later Deny and all of t1.b, and t1's end */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80), w_rule(true, STAGE_NORMAL, "default", "c", 0));
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 81), w_rule(false, STAGE_NORMAL, "t1", "t1.b", 0));
	/* the default tier applies too: end of tier after a Pass */
	EXPECT(&f, mkpkt(PATH_LOCAL_IN, "8.8.8.8", "10.0.0.1", IPPROTO_UDP, 1, 80),
	       w_rule(false, STAGE_NORMAL, "t1", "t1.b", 0));
	fx_close(&f);
}

/* Pass in the last tier goes to the profiles: allow on an auto HEP, deny on a bare one. */
static void
test_pass_in_last_tier(void **state)
{
	static const char yaml[] =
		HEP("{name: eth0-hep}", "interfaceName: eth0")
		HEP("{name: eth1-hep}", "interfaceName: eth1, profiles: [projectcalico-default-allow]")
		HEP("{name: lo-hep}", "interfaceName: lo, profiles: [no-such-profile]")
		GNP("a")
		"  applyOnForward: true\n"
		"  ingress:\n"
		"  - action: Pass\n";
	struct hostenv_opts o = { .node = "n1" };
	struct labels host;
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80), at_hep(w_no_profile(), "eth0-hep"));
	EXPECT(&f, on_if(tcp_in("8.8.8.8", "192.168.1.1", 80), IF_ETH1, 0),
	       w_profile(true, PROFILE_DEFAULT_ALLOW));
	EXPECT(&f, on_if(tcp_in("127.0.0.1", "127.0.0.1", 80), IF_LO, 0),
	       w_profile(false, "no-such-profile"));
	/* forward has no profiles: Pass through every tier is "not dropped" (§1.3) */
	EXPECT(&f, tcp_fwd("8.8.8.8", "192.168.1.7", 80), w_no_policy_fwd());
	fx_close(&f);

	/* the same policy on an auto HEP */
	labels_init(&host);
	assert_int_equal(labels_set(&host, "k", "v"), 0);
	o.host_labels = &host;
	fx_open_opts(&f, GNP("a") "  ingress:\n  - action: Pass\n", &o);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80),
	       at_hep(w_profile(true, PROFILE_DEFAULT_ALLOW), "n1-auto-hep"));
	fx_close(&f);
	labels_free(&host);
}

/* §1.6, §9.2: Log does not decide and is reported; a Log-only policy end-of-tier denies. */
static void
test_log(void **state)
{
	static const char yaml[] =
		HEP_ALLOW_ETH0
		GNP("logger")
		"  order: 1\n"
		"  ingress:\n"
		"  - action: Log\n"
		"  - {action: Log, protocol: UDP}\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n"
		"  - action: Log\n"
		GNP("second")
		"  order: 2\n"
		"  ingress:\n"
		"  - {action: Log, protocol: TCP}\n"
		"  - {action: Deny, protocol: TCP, destination: {ports: [82]}}\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80), w_rule(true, STAGE_NORMAL, "default",
							      "logger", 2));
	EXPECT_LOGS(&f, 1, "logger", 0);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 82), w_rule(false, STAGE_NORMAL, "default",
							      "second", 1));
	EXPECT_LOGS(&f, 3, "logger", 0, "logger", 3, "second", 0);
	/* nothing decides: end of tier (the default-allow profile is not reached) */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 81), w_eot(STAGE_NORMAL, "default"));
	EXPECT_LOGS(&f, 3, "logger", 0, "logger", 3, "second", 0);
	EXPECT(&f, mkpkt(PATH_LOCAL_IN, "8.8.8.8", "10.0.0.1", IPPROTO_UDP, 1, 81),
	       w_eot(STAGE_NORMAL, "default"));
	EXPECT_LOGS(&f, 3, "logger", 0, "logger", 1, "logger", 3);
	fx_close(&f);

	/* a Log-only policy flips a default-allow endpoint to default deny */
	fx_open(&f, HEP_ALLOW_ETH0 GNP("log-only") "  ingress:\n  - action: Log\n");
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80), w_eot(STAGE_NORMAL, "default"));
	EXPECT_LOGS(&f, 1, "log-only", 0);
	EXPECT(&f, tcp_out("10.0.0.1", "8.8.8.8", 80), w_profile(true, PROFILE_DEFAULT_ALLOW));
	EXPECT_LOGS(&f, 0);
	fx_close(&f);
}

/*
 * §1.4: a top-level namespaceSelector or serviceAccountSelector restricts a
 * policy to pods, except a purely negative namespaceSelector, which still
 * selects host endpoints (they have no pcns.* labels).
 */
static void
test_top_level_scoping(void **state)
{
	static const char yaml[] =
		HEP_ALLOW_ETH0
		GNP("ns-all")
		"  order: 1\n"
		"  namespaceSelector: all()\n"
		"  ingress:\n"
		"  - action: Deny\n"
		GNP("sa")
		"  order: 2\n"
		"  serviceAccountSelector: has(app)\n"
		"  ingress:\n"
		"  - action: Deny\n"
		GNP("ns-pos")
		"  order: 3\n"
		"  namespaceSelector: env == 'prod'\n"
		"  ingress:\n"
		"  - action: Deny\n"
		GNP("ns-neg")
		"  order: 4\n"
		"  namespaceSelector: '!has(env)'\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80),
	       w_rule(true, STAGE_NORMAL, "default", "ns-neg", 0));
	/* ns-neg governs ingress: end of tier, not the profile */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 81), w_eot(STAGE_NORMAL, "default"));
	fx_close(&f);
}

/* ---- §1.2 ordering -------------------------------------------------------------------- */

static void
test_policy_order(void **state)
{
	static const char yaml[] =
		HEP_BARE_ETH0
		GNP("b")
		"  order: 10\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n"
		GNP("a")
		"  order: 10\n"
		"  ingress:\n"
		"  - {action: Deny, protocol: TCP, destination: {ports: [80, 83]}}\n"
		/* 5 and 5.0 are equal: the name decides */
		GNP("d")
		"  order: 5\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [81]}}\n"
		GNP("c")
		"  order: 5.0\n"
		"  ingress:\n"
		"  - {action: Deny, protocol: TCP, destination: {ports: [81]}}\n"
		/* a missing order runs last, even before a name that sorts later */
		GNP("aa")
		"  ingress:\n"
		"  - {action: Deny, protocol: TCP, destination: {ports: [82]}}\n"
		GNP("zz")
		"  order: 1000\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [82]}}\n"
		/* negative orders are allowed and run first */
		GNP("neg")
		"  order: -5\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [83]}}\n"
		/* two missing orders: by name */
		GNP("nb")
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [84]}}\n"
		GNP("na")
		"  ingress:\n"
		"  - {action: Deny, protocol: TCP, destination: {ports: [84]}}\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80), w_rule(false, STAGE_NORMAL, "default", "a", 0));
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 81), w_rule(false, STAGE_NORMAL, "default", "c", 0));
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 82),
	       w_rule(true, STAGE_NORMAL, "default", "zz", 0));
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 83),
	       w_rule(true, STAGE_NORMAL, "default", "neg", 0));
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 84),
	       w_rule(false, STAGE_NORMAL, "default", "na", 0));
	fx_close(&f);
}

static void
test_tier_order(void **state)
{
	static const char yaml[] =
		HEP_BARE_ETH0
		TIER("t-noorder", "{defaultAction: Pass}")
		TIER("t-fifty", "{order: 50, defaultAction: Pass}")
		TIER("t-ten-b", "{order: 10, defaultAction: Pass}")
		TIER("t-ten-a", "{order: 10, defaultAction: Pass}")
		GNP("pn")
		"  tier: t-noorder\n"
		"  ingress:\n"
		"  - {action: Deny, protocol: TCP, destination: {ports: [83]}}\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [84]}}\n"
		GNP("pf")
		"  tier: t-fifty\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [81, 82]}}\n"
		GNP("pb")
		"  tier: t-ten-b\n"
		"  ingress:\n"
		"  - {action: Deny, protocol: TCP, destination: {ports: [80, 81]}}\n"
		GNP("pa")
		"  tier: t-ten-a\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n"
		GNP("pd")
		"  ingress:\n"
		"  - {action: Deny, protocol: TCP, destination: {ports: [82]}}\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [83]}}\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	/* equal orders: by tier name */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80), w_rule(true, STAGE_NORMAL, "t-ten-a", "pa", 0));
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 81),
	       w_rule(false, STAGE_NORMAL, "t-ten-b", "pb", 0));
	/* 50 before the default tier (1,000,000) */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 82), w_rule(true, STAGE_NORMAL, "t-fifty", "pf", 0));
	/* a tier without order after the default tier */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 83),
	       w_rule(true, STAGE_NORMAL, "default", "pd", 1));
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 84), w_eot(STAGE_NORMAL, "default"));
	fx_close(&f);
}

/* A tier referenced by a policy but with no Tier object sorts after every valid tier. */
static void
test_tier_without_object(void **state)
{
	static const char yaml[] =
		HEP_BARE_ETH0
		TIER("t-valid", "{defaultAction: Pass}")
		GNP("ghost-pol")
		"  tier: ghost\n"
		"  ingress:\n"
		"  - {action: Deny, protocol: TCP, destination: {ports: [80]}}\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [82]}}\n"
		GNP("valid-pol")
		"  tier: t-valid\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	/* t-valid has no order, and still comes before the undefined tier */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80),
	       w_rule(true, STAGE_NORMAL, "t-valid", "valid-pol", 0));
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 82),
	       w_rule(true, STAGE_NORMAL, "ghost", "ghost-pol", 1));
	/* the undefined tier's end is Deny */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 81), w_eot(STAGE_NORMAL, "ghost"));
	fx_close(&f);

	/* ... also after the default tier */
	fx_open(&f, HEP_BARE_ETH0
		GNP("ghost-pol") "  tier: ghost\n  ingress:\n  - action: Deny\n"
		GNP("def-pol") "  ingress:\n  - {action: Allow, protocol: TCP}\n");
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80),
	       w_rule(true, STAGE_NORMAL, "default", "def-pol", 0));
	fx_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tier_default_action_pass),
		cmocka_unit_test(test_pass_rule_skips_rest_of_tier),
		cmocka_unit_test(test_pass_in_last_tier),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_top_level_scoping),
		cmocka_unit_test(test_policy_order),
		cmocka_unit_test(test_tier_order),
		cmocka_unit_test(test_tier_without_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
