/*
 * test_ruleset.c - unit tests for the compiled table (control/compile/compile*.c,
 * nfq/ruleset*.c): its text dump, lookups at single hooks, interface to
 * endpoint mapping, the Log cap, RCU publication, and the compiler's
 * failures (a table over budget, an environment that lost an interface).
 * test_ruleset_lookup.c has the lookup's edge cases.
 */
#include <errno.h>
#include <pthread.h>
#include <urcu/urcu-memb.h>

#include "test_ruleset.h"

/* ---- the dump ---------------------------------------------------------------------- */

/* Every line of @want must appear in @text, in this order. */
static void
assert_lines_in_order(const char *text, const char *const *want, size_t n)
{
	const char *at = text;

	for (size_t i = 0; i < n; i++) {
		const char *p = strstr(at, want[i]);

		if (p == NULL) {
			print_message("%s", text);
			fail_msg("dump lacks (after the previous line): \"%s\"", want[i]);
		}
		at = p + strlen(want[i]);
	}
}

static void
test_dump(void **state)
{
	static const char yaml[] =
		HEP("{name: eth0-hep}", "interfaceName: eth0, profiles: [projectcalico-default-allow]")
		HEP("{name: all-hep}", "interfaceName: '*'")
		DOC("Tier", "{name: t1}") "spec: {order: 10}\n"
		GNP("t1.a")
		"  tier: t1\n"
		"  ingress:\n"
		"  - {action: Log}\n"
		"  - {action: Pass, protocol: TCP, destination: {ports: [80]}}\n"
		"  - {action: Deny, source: {nets: [10.0.0.0/8]}}\n"
		GNP("b")
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [http]}}\n";
	static const char *const want[] = {
		"ruleset: 2 host endpoints, ",
		", conntrack invalid: drop\n",
		"interface 2 -> eth0-hep\n",
		"interface 3 -> all-hep\n",
		"interface 4 -> (none)\n",
		"other interfaces -> all-hep\n",
		"\nhostendpoint all-hep\n",
		"  prednat-in ipv4: 1 entry, ",
		"    0 failsafe\n",
		"  normal-in ipv4: 8 entries, ",
		"    0 failsafe\n",
		"    1 log tier=t1 policy=t1.a rule=0 at ruleset.yaml:23\n",
		"    2 pass ->5 tier=t1 policy=t1.a rule=1 at ruleset.yaml:24\n",
		"    3 deny tier=t1 policy=t1.a rule=2 at ruleset.yaml:25\n",
		"    4 end-of-tier-deny tier=t1 at ruleset.yaml:12\n",
		"    5 allow tier=default policy=b rule=0 at ruleset.yaml:32 (named ports)\n",
		"        dst ports: (none)\n",	/* no endpoint names a port "http" */
		"    6 end-of-tier-deny tier=default\n",
		"    7 no-profile-deny\n",
		/*
		 * The fields: the failsafe (0) is TCP port 22, the Pass (2) TCP
		 * port 80, the Deny (3) from 10.0.0.0/8; the named port (5)
		 * has no port number at all.
		 */
		"    proto:\n      0-5 {1,3-4,6-7}\n      6 {0-7}\n      7-255 {1,3-4,6-7}\n",
		"    src:\n      0.0.0.0-9.255.255.255 {0-2,4-7}\n      10.0.0.0/8 {0-7}\n",
		"      11.0.0.0-255.255.255.255 {0-2,4-7}\n    dst:\n      0.0.0.0/0 {0-7}\n",
		"    sport:\n      0-65535 {0-7}\n      none {1-7}\n",
		"    dport:\n      0-21 {1,3-4,6-7}\n      22 {0-1,3-4,6-7}\n",
		"      80 {1-4,6-7}\n",
		"      none {1,3-4,6-7}\n    icmp:\n      0/any-255/any {0-7}\n      none {0-7}\n",
		/* no profile on all-hep; no rule for IPv6 in t1.a's Deny */
		"  normal-in ipv6: 7 entries, ",
		"    6 no-profile-deny\n",
		"    src:\n      ::/0 {0-6}\n",
		"  normal-out ipv4: 1 entry, ",
		"    0 no-profile-deny\n",
		"\nhostendpoint eth0-hep\n",
		"  untracked-in ipv4: 1 entry, ",
		"  normal-in ipv4: 8 entries, ",
		"    2 pass ->5 tier=t1 policy=t1.a rule=1 at ruleset.yaml:24\n",
		"    4 end-of-tier-deny tier=t1 at ruleset.yaml:12\n",
		"    7 allow profile=projectcalico-default-allow\n",
		"  normal-in ipv6: 7 entries, ",
		"    1 log tier=t1 policy=t1.a rule=0 at ruleset.yaml:23\n",
		"    2 pass ->4 tier=t1 policy=t1.a rule=1 at ruleset.yaml:24\n",
		"    3 end-of-tier-deny tier=t1 at ruleset.yaml:12\n",
		"    4 allow tier=default policy=b rule=0 at ruleset.yaml:32 (named ports)\n",
		"    6 allow profile=projectcalico-default-allow\n",
		"  normal-out ipv6: 1 entry, ",
		"    0 allow profile=projectcalico-default-allow\n",
	};
	struct fx f;
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	uint32_t nchains, nentries, nbitsets;

	(void)state;
	fx_open_fs(&f, yaml, "tcp:22");
	ruleset_set_gen(f.rs, 0);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	ruleset_dump(f.rs, out);
	assert_int_equal(fclose(out), 0);
	assert_lines_in_order(text, want, sizeof(want) / sizeof(want[0]));
	/* forward hooks have no policy: no chain at all, not even failsafes */
	assert_null(strstr(text, "forward-in"));
	assert_null(strstr(text, "forward-out"));
	/* doNotTrack never applies on "*": no untracked chain for all-hep */
	assert_true(strstr(text, "hostendpoint all-hep\n  prednat-in ipv4") != NULL);
	free(text);

	ruleset_stats(f.rs, &nchains, &nentries, &nbitsets);
	assert_true(nchains > 0 && nentries >= nchains && nbitsets > 0);
	assert_int_equal(ruleset_nheps(f.rs), 2);
	assert_string_equal(ruleset_hep_name(f.rs, 0), "all-hep");
	assert_string_equal(ruleset_hep_name(f.rs, 1), "eth0-hep");
	assert_string_equal(ruleset_hep_name(f.rs, -1), "");
	assert_string_equal(ruleset_hep_name(f.rs, 2), "");
	assert_true(ruleset_size(f.rs) > sizeof(uint64_t));
	assert_true(ruleset_invalid_drop(f.rs));
	ruleset_set_gen(f.rs, 42);
	assert_int_equal(ruleset_gen(f.rs), 42);
	assert_string_equal(ruleset_str(f.rs, 0), "");
	fx_close(&f);
}

/* ---- single hooks ------------------------------------------------------------------------- */

static void
test_lookup_hooks(void **state)
{
	static const char yaml[] =
		HEP("{name: eth0-hep}", "interfaceName: eth0")
		GNP("dnt")
		"  doNotTrack: true\n"
		"  applyOnForward: true\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: UDP, destination: {ports: [53]}}\n"
		"  egress:\n"
		"  - {action: Deny, protocol: UDP, destination: {ports: [53]}}\n"
		GNP("pre")
		"  preDNAT: true\n"
		"  applyOnForward: true\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n"
		GNP("fwd")
		"  applyOnForward: true\n"
		"  types: [Ingress, Egress]\n"
		"  ingress:\n"
		"  - {action: Deny, protocol: TCP, destination: {ports: [81]}}\n"
		"  egress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [82]}}\n";
	struct fx f;

	(void)state;
	fx_open_fs(&f, yaml, "tcp:22");
	/* untracked: a rule, and no verdict (no default deny) */
	RULE_ALLOW(&f, RS_UNTRACKED_IN, key_ports("8.8.8.8", "10.0.0.1", 17, 1, 53), "dnt", 0);
	EXPECT_LOOKUP(&f, RS_UNTRACKED_IN, key_ports("8.8.8.8", "10.0.0.1", 17, 1, 54),
		      RS_CONTINUE, REASON_NO_POLICY, NULL, -1);
	RULE_DENY(&f, RS_UNTRACKED_OUT, key_ports("10.0.0.1", "8.8.8.8", 17, 1, 53), "dnt", 0);
	/* failsafe in raw and mangle only ends the stage */
	EXPECT_LOOKUP(&f, RS_UNTRACKED_IN, key_ports("8.8.8.8", "10.0.0.1", 6, 1, 22),
		      RS_CONTINUE, REASON_FAILSAFE, NULL, -1);
	EXPECT_LOOKUP(&f, RS_PREDNAT_IN, key_ports("8.8.8.8", "10.0.0.1", 6, 1, 22),
		      RS_CONTINUE, REASON_FAILSAFE, NULL, -1);
	/* ... and accepts in the normal stage */
	EXPECT_LOOKUP(&f, RS_NORMAL_IN, key_ports("8.8.8.8", "10.0.0.1", 6, 1, 22),
		      RS_ACCEPT, REASON_FAILSAFE, NULL, -1);
	/* preDNAT */
	RULE_ALLOW(&f, RS_PREDNAT_IN, key_ports("8.8.8.8", "10.0.0.1", 6, 1, 80), "pre", 0);
	EXPECT_LOOKUP(&f, RS_PREDNAT_IN, key_ports("8.8.8.8", "10.0.0.1", 6, 1, 81),
		      RS_CONTINUE, REASON_NO_POLICY, NULL, -1);
	/* normal: fwd governs both ways */
	RULE_DENY(&f, RS_NORMAL_IN, key_ports("8.8.8.8", "10.0.0.1", 6, 1, 81), "fwd", 0);
	EXPECT_LOOKUP(&f, RS_NORMAL_IN, key_ports("8.8.8.8", "10.0.0.1", 6, 1, 80),
		      RS_DROP, REASON_END_OF_TIER, NULL, -1);
	RULE_ALLOW(&f, RS_NORMAL_OUT, key_ports("10.0.0.1", "8.8.8.8", 6, 1, 82), "fwd", 0);
	EXPECT_LOOKUP(&f, RS_NORMAL_OUT, key_ports("10.0.0.1", "8.8.8.8", 6, 1, 83),
		      RS_DROP, REASON_END_OF_TIER, NULL, -1);
	/* forward: no failsafe */
	EXPECT_LOOKUP(&f, RS_FORWARD_IN, key_ports("8.8.8.8", "10.0.0.1", 6, 1, 22),
		      RS_DROP, REASON_END_OF_TIER, NULL, -1);
	RULE_DENY(&f, RS_FORWARD_IN, key_ports("8.8.8.8", "10.0.0.1", 6, 1, 81), "fwd", 0);
	RULE_ALLOW(&f, RS_FORWARD_OUT, key_ports("8.8.8.8", "10.0.0.1", 6, 1, 82), "fwd", 0);
	fx_close(&f);
}

/* ---- interfaces ---------------------------------------------------------------------------- */

static void
test_interfaces(void **state)
{
	static const char yaml[] =
		HEP("{name: b-all}", "interfaceName: '*'")
		HEP("{name: a-eth1}", "interfaceName: eth1, profiles: [projectcalico-default-allow]");
	struct pkt_key k = key_ports("8.8.8.8", "10.0.0.1", 6, 1, 80);
	struct rs_verdict v;
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	/* an interface the host did not list falls to the "*" endpoint */
	k.iif = IF_UNKNOWN;
	ruleset_lookup(f.rs, RS_NORMAL_IN, &k, &v);
	assert_int_equal(v.outcome, RS_DROP);
	assert_int_equal(v.reason, REASON_NO_PROFILE);
	assert_string_equal(ruleset_hep_name(f.rs, v.hep), "b-all");
	k.iif = IF_ETH0;
	ruleset_lookup(f.rs, RS_NORMAL_IN, &k, &v);
	assert_string_equal(ruleset_hep_name(f.rs, v.hep), "b-all");
	k.iif = IF_ETH1;
	ruleset_lookup(f.rs, RS_NORMAL_IN, &k, &v);
	assert_int_equal(v.outcome, RS_ACCEPT);
	assert_int_equal(v.reason, REASON_PROFILE);
	assert_string_equal(ruleset_hep_name(f.rs, v.hep), "a-eth1");
	/* the output interface for *_OUT hooks */
	k.iif = IF_UNKNOWN;
	k.oif = IF_ETH1;
	ruleset_lookup(f.rs, RS_NORMAL_OUT, &k, &v);
	assert_string_equal(ruleset_hep_name(f.rs, v.hep), "a-eth1");

	/* a workload interface: no endpoint; accept at normal, no verdict elsewhere */
	k.iif = IF_CALI;
	k.oif = IF_CALI;
	for (int hook = 0; hook < RS_NHOOKS; hook++) {
		bool normal = hook == RS_NORMAL_IN || hook == RS_NORMAL_OUT;

		ruleset_lookup(f.rs, (enum rs_hook)hook, &k, &v);
		assert_int_equal(v.hep, -1);
		assert_int_equal(v.reason, REASON_NO_HEP);
		assert_int_equal(v.meta, RS_NO_META);
		assert_int_equal(v.nlog, 0);
		assert_int_equal(v.outcome, normal ? RS_ACCEPT : RS_CONTINUE);
	}
	fx_close(&f);

	/* no "*" endpoint: unknown interfaces are not policed */
	fx_open(&f, HEP("{name: a-eth1}", "interfaceName: eth1"));
	k.iif = IF_UNKNOWN;
	ruleset_lookup(f.rs, RS_NORMAL_IN, &k, &v);
	assert_int_equal(v.hep, -1);
	assert_int_equal(v.outcome, RS_ACCEPT);
	assert_int_equal(v.reason, REASON_NO_HEP);
	k.iif = 0;
	ruleset_lookup(f.rs, RS_NORMAL_IN, &k, &v);
	assert_int_equal(v.hep, -1);
	fx_close(&f);
}

/* ---- the Log cap -------------------------------------------------------------------------------- */

static void
test_log_cap(void **state)
{
	char yaml[4096];
	size_t n;
	struct pkt_key k = key_ports("8.8.8.8", "10.0.0.1", IPPROTO_TCP, 1, 80);
	struct rs_verdict v;
	struct fx f;

	(void)state;
	n = (size_t)snprintf(yaml, sizeof(yaml), "%s%s  ingress:\n",
			     HEP("{name: eth0-hep}", "interfaceName: eth0"), GNP("logs"));
	for (int i = 0; i < RS_MAX_LOGS + 4; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "  - {action: Log, protocol: TCP}\n");
	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "  - {action: Allow}\n");
	assert_true(n < sizeof(yaml));
	fx_open(&f, yaml);
	ruleset_lookup(f.rs, RS_NORMAL_IN, &k, &v);
	/* the first RS_MAX_LOGS hits are kept, in order; the decision is unaffected */
	assert_int_equal(v.nlog, RS_MAX_LOGS);
	for (uint32_t i = 0; i < v.nlog; i++)
		assert_int_equal(ruleset_meta(f.rs, v.log[i])->rule, (int)i);
	assert_int_equal(v.outcome, RS_ACCEPT);
	assert_int_equal(ruleset_meta(f.rs, v.meta)->rule, RS_MAX_LOGS + 4);
	/* below the cap, all */
	k.proto = IPPROTO_UDP;
	ruleset_lookup(f.rs, RS_NORMAL_IN, &k, &v);
	assert_int_equal(v.nlog, 0);
	assert_int_equal(ruleset_meta(f.rs, v.meta)->rule, RS_MAX_LOGS + 4);
	fx_close(&f);
}

/* ---- RCU publication ----------------------------------------------------------------------------- */

static void
test_publish(void **state)
{
	static const char yaml_a[] =
		HEP("{name: eth0-hep}", "interfaceName: eth0")
		GNP("a") "  ingress:\n  - action: Allow\n";
	static const char yaml_b[] =
		HEP("{name: eth0-hep}", "interfaceName: eth0")
		GNP("b") "  ingress:\n  - action: Deny\n";
	struct pkt_key k = key_ports("8.8.8.8", "10.0.0.1", IPPROTO_TCP, 1, 80);
	struct call_rcu_data *crdp;
	pthread_t tid;
	struct fx fa, fb;
	const struct ruleset *cur;
	struct rs_verdict v;

	(void)state;
	urcu_memb_register_thread();
	/* our own call_rcu thread, so it can be stopped and joined at the end */
	crdp = urcu_memb_create_call_rcu_data(0, -1);
	assert_non_null(crdp);
	urcu_memb_set_thread_call_rcu_data(crdp);
	fx_open(&fa, yaml_a);
	fx_open(&fb, yaml_b);

	ruleset_read_lock();
	assert_null(ruleset_current());
	ruleset_read_unlock();

	ruleset_set_gen(fa.rs, 1);
	ruleset_publish(fa.rs);
	ruleset_read_lock();
	cur = ruleset_current();
	assert_ptr_equal(cur, fa.rs);
	assert_int_equal(ruleset_gen(cur), 1);
	ruleset_lookup(cur, RS_NORMAL_IN, &k, &v);
	assert_int_equal(v.outcome, RS_ACCEPT);
	ruleset_read_unlock();

	/* the old table is freed after a grace period (by call_rcu): do not touch it again */
	ruleset_set_gen(fb.rs, 2);
	ruleset_publish(fb.rs);
	fa.rs = NULL;
	ruleset_read_lock();
	cur = ruleset_current();
	assert_ptr_equal(cur, fb.rs);
	assert_int_equal(ruleset_gen(cur), 2);
	ruleset_lookup(cur, RS_NORMAL_IN, &k, &v);
	assert_int_equal(v.outcome, RS_DROP);
	assert_string_equal(ruleset_str(cur, ruleset_meta(cur, v.meta)->policy), "b");
	ruleset_read_unlock();

	/* shutdown: the current table is freed too */
	ruleset_unpublish();
	fb.rs = NULL;
	ruleset_read_lock();
	assert_null(ruleset_current());
	ruleset_read_unlock();
	urcu_memb_set_thread_call_rcu_data(NULL);
	tid = urcu_memb_get_call_rcu_thread(crdp);
	urcu_memb_call_rcu_data_free(crdp);	/* stops the thread, does not join it */
	assert_int_equal(pthread_join(tid, NULL), 0);
	urcu_memb_unregister_thread();

	fx_close(&fa);		/* ruleset_free(NULL) is a no-op */
	fx_close(&fb);
}

/* ---- origins and equality ----------------------------------------------------------------- */

static const char origins_yaml[] =
	HEP("{name: eth0-hep}", "interfaceName: eth0")
	TIER("t1", "{order: 10}")
	GNP("t1.a")
	"  tier: t1\n"
	"  ingress:\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [22]}}\n";

/* The meta record of the entry that decides TCP port @dport on eth0 (normal, ingress). */
static uint32_t
decider(const struct fx *f, uint16_t dport)
{
	struct pkt_key k = key_ports("8.8.8.8", "10.0.0.1", IPPROTO_TCP, 1, dport);
	struct rs_verdict v;

	ruleset_lookup(f->rs, RS_NORMAL_IN, &k, &v);
	assert_int_not_equal(v.meta, RS_NO_META);
	return v.meta;
}

static void
test_origins(void **state)
{
	char moved[sizeof(origins_yaml) + 64];
	struct fx f, g;
	uint32_t line;

	(void)state;
	fx_open(&f, origins_yaml);
	/* the rule, and the end of its tier (the Tier object) */
	assert_string_equal(ruleset_origin(f.rs, decider(&f, 22), &line), "ruleset.yaml");
	assert_int_equal(line, 18);
	assert_string_equal(ruleset_origin(f.rs, decider(&f, 23), &line), "ruleset.yaml");
	assert_int_equal(line, 7);
	fx_close(&f);

	/* the same policy two lines down decides alike: no new table */
	snprintf(moved, sizeof(moved), "# moved\n# down\n%s", origins_yaml);
	fx_open(&f, origins_yaml);
	fx_open(&g, moved);
	assert_true(ruleset_equal(f.rs, g.rs));
	assert_true(ruleset_equal(g.rs, f.rs));
	ruleset_origin(g.rs, decider(&g, 22), &line);
	assert_int_equal(line, 20);
	fx_close(&g);
	/* another port is another table */
	snprintf(moved, sizeof(moved), "%s", origins_yaml);
	memcpy(strstr(moved, "[22]"), "[23]", 4);
	fx_open(&g, moved);
	assert_false(ruleset_equal(f.rs, g.rs));
	fx_close(&g);
	fx_close(&f);
}

/* ---- failures: over budget, out of memory ----------------------------------------------- */

/*
 * Every budget below the table's size fails with ERANGE, at every place the
 * block grows, and leaves nothing allocated (the sanitizer build checks);
 * the table's own size is enough.
 */
static void
test_budget(void **state)
{
	static const char yaml[] =
		HEP("{name: eth0-hep, labels: {role: host}}", "interfaceName: eth0")
		HEP("{name: all-hep}", "interfaceName: '*', ports: [{name: http, protocol: TCP, "
		    "port: 8080}], expectedIPs: [10.0.0.9]")
		GNP("a")
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [http, 22]}}\n"
		"  - {action: Deny, source: {selector: role == 'host', nets: [10.0.0.0/8]}}\n"
		"  - {action: Allow, protocol: ICMP, icmp: {type: 8}}\n"
		"  egress:\n"
		"  - {action: Allow, destination: {nets: ['fd00::/8']}}\n";
	struct ruleset *rs;
	struct fx f;
	size_t size;

	(void)state;
	fx_open(&f, yaml);
	size = ruleset_size(f.rs);
	for (size_t max = 0; max < size; max += max < 512 ? 1 : 61) {
		errno = 0;
		rs = compile_ruleset_max(&f.env, max);
		if (rs != NULL || errno != ERANGE)
			fail_msg("budget %zu of %zu: %s", max, size, rs ? "compiled" : strerror(errno));
	}
	rs = compile_ruleset_max(&f.env, size);
	assert_non_null(rs);
	assert_true(ruleset_equal(rs, f.rs));
	ruleset_free(rs);
	fx_close(&f);
}

/* An interface lost to a failed allocation: the compiler refuses the environment. */
static void
test_env_error(void **state)
{
	struct fx f;

	(void)state;
	fx_open(&f, HEP("{name: eth0-hep}", "interfaceName: eth0"));
	f.env.err = -ENOMEM;
	errno = 0;
	assert_null(compile_ruleset(&f.env));
	assert_int_equal(errno, ENOMEM);
	f.env.err = 0;
	fx_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_lookup_hooks),
		cmocka_unit_test(test_interfaces),
		cmocka_unit_test(test_log_cap),
		cmocka_unit_test(test_publish),
		cmocka_unit_test(test_origins),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_env_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
