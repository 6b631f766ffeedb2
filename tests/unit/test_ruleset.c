/*
 * test_ruleset.c - unit tests for the compiled table (control/compile/compile.c,
 * nfq/ruleset.c): its text dump, lookups at single hooks with hand-built
 * packet keys (fragments, ICMP type/code ranges, 128-bit address interval
 * edges, interface to endpoint mapping, the Log cap), RCU publication, and
 * a 2,000-rule policy whose bitsets span many 64-bit words, checked entry
 * by entry against the reference evaluator.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "compile.h"
#include "walk.h"

/* ---- fixture --------------------------------------------------------------------- */

enum {
	IF_ETH0 = 2,		/* eth0: 10.0.0.1, fd00::1 */
	IF_ETH1 = 3,
	IF_CALI = 4,
	IF_UNKNOWN = 77,
};

struct fx {
	struct polset ps;
	struct hostenv env;
	struct ruleset *rs;
};

#define V3 "apiVersion: projectcalico.org/v3\n"
#define DOC(kind, meta) "---\n" V3 "kind: " kind "\nmetadata: " meta "\n"
#define HEP(meta, spec) DOC("HostEndpoint", meta) "spec: {node: n1, " spec "}\n"
#define GNP(name) DOC("GlobalNetworkPolicy", "{name: " name "}") "spec:\n"

static void
print_diags(const struct polset *ps)
{
	for (size_t i = 0; i < ps->diags.n; i++) {
		char buf[2048];

		diag_format(&ps->diags.v[i], buf, sizeof(buf));
		print_message("  diag: %s\n", buf);
	}
}

static struct cidr
mkcidr(const char *s)
{
	struct cidr c;

	if (cidr_parse(s, CIDR_LOOSE, &c) != 0)
		fail_msg("bad address %s", s);
	return c;
}

/* Load, build n1's view (no failsafes unless @fs_in says so), compile. */
static void
fx_open_fs(struct fx *f, const char *yaml, const char *fs_in)
{
	struct hostenv_opts o = { .node = "n1", .failsafe_in = fs_in, .failsafe_out = "none" };
	struct cidr a[2];
	char why[200];

	memset(f, 0, sizeof(*f));
	polset_init(&f->ps);
	assert_int_equal(polset_load_buffer(&f->ps, "ruleset.yaml", yaml, strlen(yaml)), 0);
	if (f->ps.diags.nerr != 0 || f->ps.nrejected != 0) {
		print_diags(&f->ps);
		fail_msg("the policy does not load cleanly");
	}
	if (hostenv_build(&f->env, &f->ps, &o, why, sizeof(why)) != 0)
		fail_msg("hostenv_build: %s", why);
	a[0] = mkcidr("10.0.0.1");
	a[1] = mkcidr("fd00::1");
	hostenv_add_iface(&f->env, IF_ETH0, "eth0", a, 2);
	a[0] = mkcidr("192.168.1.1");
	hostenv_add_iface(&f->env, IF_ETH1, "eth1", a, 1);
	hostenv_add_iface(&f->env, IF_CALI, "cali77", NULL, 0);
	f->rs = compile_ruleset(&f->env);
}

static void
fx_open(struct fx *f, const char *yaml)
{
	fx_open_fs(f, yaml, "none");
}

static void
fx_close(struct fx *f)
{
	ruleset_free(f->rs);
	hostenv_free(&f->env);
	polset_free(&f->ps);
}

/* A key on eth0 (both interfaces), new connection. */
static struct pkt_key
key(const char *src, const char *dst, uint8_t proto)
{
	struct pkt_key k;
	uint8_t fs, fd;

	memset(&k, 0, sizeof(k));
	if (addr_parse(src, &k.src, &fs) != 0 || addr_parse(dst, &k.dst, &fd) != 0 || fs != fd)
		fail_msg("bad key addresses %s -> %s", src, dst);
	k.family = fs;
	k.proto = proto;
	k.iif = IF_ETH0;
	k.oif = IF_ETH0;
	return k;
}

static struct pkt_key
key_ports(const char *src, const char *dst, uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct pkt_key k = key(src, dst, proto);

	k.flags = PKT_F_PORTS;
	k.sport = sport;
	k.dport = dport;
	return k;
}

static struct pkt_key
key_icmp(const char *src, const char *dst, uint8_t proto, uint8_t type, uint8_t code)
{
	struct pkt_key k = key(src, dst, proto);

	k.flags = PKT_F_ICMP;
	k.icmp_type = type;
	k.icmp_code = code;
	return k;
}

/* The verdict at @hook must be @outcome/@reason, decided by @policy's rule @rule
 * (policy NULL: no rule meta). */
static void
expect_lookup_at(int line, const struct fx *f, enum rs_hook hook, const struct pkt_key *k,
		 enum rs_outcome outcome, enum reason reason, const char *policy, int rule)
{
	struct rs_verdict v;
	const char *got_pol = NULL;
	int got_rule = -1;

	ruleset_lookup(f->rs, hook, k, &v);
	if (v.meta != RS_NO_META) {
		const struct rs_meta *m = ruleset_meta(f->rs, v.meta);

		assert_true(v.meta < ruleset_nmeta(f->rs));
		got_pol = *ruleset_str(f->rs, m->policy) ? ruleset_str(f->rs, m->policy) : NULL;
		got_rule = m->kind == RS_META_RULE ? m->rule : -1;
	}
	if (v.outcome != outcome || v.reason != reason || got_rule != rule ||
	    (policy == NULL) != (got_pol == NULL) ||
	    (policy != NULL && strcmp(policy, got_pol) != 0))
		fail_msg("line %d: outcome %u reason %s policy %s rule %d; wanted outcome %u reason "
			 "%s policy %s rule %d", line, v.outcome, reason_name((enum reason)v.reason),
			 got_pol ? got_pol : "-", got_rule, outcome, reason_name(reason),
			 policy ? policy : "-", rule);
}

#define EXPECT_LOOKUP(f, hook, k, outcome, reason, policy, rule) \
	do { \
		struct pkt_key k_ = (k); \
		expect_lookup_at(__LINE__, (f), (hook), &k_, (outcome), (reason), (policy), \
				 (rule)); \
	} while (0)

#define RULE_ALLOW(f, hook, k, pol, rule) \
	EXPECT_LOOKUP(f, hook, k, RS_ACCEPT, REASON_RULE, pol, rule)
#define RULE_DENY(f, hook, k, pol, rule) \
	EXPECT_LOOKUP(f, hook, k, RS_DROP, REASON_RULE, pol, rule)

/* The rule indices of the Log hits of the last lookup of @k at @hook. */
static void
expect_logs_at(int line, const struct fx *f, enum rs_hook hook, const struct pkt_key *k,
	       uint32_t n, ...)
{
	struct rs_verdict v;
	va_list ap;

	ruleset_lookup(f->rs, hook, k, &v);
	if (v.nlog != n)
		fail_msg("line %d: %u Log hits, wanted %u", line, v.nlog, n);
	va_start(ap, n);
	for (uint32_t i = 0; i < n; i++) {
		int want = va_arg(ap, int);
		const struct rs_meta *m = ruleset_meta(f->rs, v.log[i]);

		if (m->rule != want || m->action != RS_A_LOG)
			fail_msg("line %d: Log hit %u is rule %d, wanted %d", line, i, m->rule, want);
	}
	va_end(ap);
}

#define EXPECT_LOGS(f, hook, k, ...) \
	do { \
		struct pkt_key k_ = (k); \
		expect_logs_at(__LINE__, (f), (hook), &k_, __VA_ARGS__); \
	} while (0)

/* The compiled walk and the reference evaluator agree on @in. */
static void
expect_engines_agree_at(int line, const struct fx *f, const struct eval_input *in)
{
	struct eval_result *r = malloc(sizeof(*r));
	struct walk_result w;
	const struct decision *a, *b;

	assert_non_null(r);
	eval_packet(&f->env, in, r);
	walk_ruleset(f->rs, in, &w);
	a = &r->final;
	b = &w.final;
	if (a->allow != b->allow || a->stage != b->stage || a->reason != b->reason ||
	    a->rule != b->rule || strcmp(a->policy ? a->policy : "", b->policy ? b->policy : "") ||
	    strcmp(a->tier ? a->tier : "", b->tier ? b->tier : "") || r->nlogs != w.nlogs) {
		free(r);
		fail_msg("line %d: reference %s %s/%d (%zu logs), compiled %s %s/%d (%zu logs)",
			 line, a->allow ? "allow" : "deny", a->policy ? a->policy : "-", a->rule,
			 r->nlogs, b->allow ? "allow" : "deny", b->policy ? b->policy : "-",
			 b->rule, w.nlogs);
	}
	free(r);
}

#define EXPECT_AGREE(f, in) expect_engines_agree_at(__LINE__, (f), (in))

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
		"ruleset gen 0: 2 host endpoints, ",
		"\ninterface 2 -> eth0-hep\n",
		"interface 3 -> all-hep\n",
		"interface 4 -> (none)\n",
		"other interfaces -> all-hep\n",
		"hostendpoint all-hep\n",
		"  prednat-in ipv4: 1 entries, ",
		"    0 failsafe\n",
		"  normal-in ipv4: 8 entries, ",
		"    0 failsafe\n",
		"    1 log tier=t1 policy=t1.a rule=0\n",
		"    2 pass ->5 tier=t1 policy=t1.a rule=1\n",
		"    3 deny tier=t1 policy=t1.a rule=2\n",
		"    4 end-of-tier-deny tier=t1\n",
		"    5 allow tier=default policy=b rule=0 (named ports)\n",
		"    6 end-of-tier-deny tier=default\n",
		"    7 no-profile-deny\n",
		/* no profile on all-hep; no rule for IPv6 in t1.a's Deny */
		"  normal-in ipv6: 7 entries, ",
		"    6 no-profile-deny\n",
		"  normal-out ipv4: 1 entries, ",
		"    0 no-profile-deny\n",
		"hostendpoint eth0-hep\n",
		"  untracked-in ipv4: 1 entries, ",
		"  normal-in ipv4: 8 entries, ",
		"    2 pass ->5 tier=t1 policy=t1.a rule=1\n",
		"    4 end-of-tier-deny tier=t1\n",
		"    7 allow profile=projectcalico-default-allow\n",
		"  normal-in ipv6: 7 entries, ",
		"    1 log tier=t1 policy=t1.a rule=0\n",
		"    2 pass ->4 tier=t1 policy=t1.a rule=1\n",
		"    3 end-of-tier-deny tier=t1\n",
		"    4 allow tier=default policy=b rule=0 (named ports)\n",
		"    6 allow profile=projectcalico-default-allow\n",
		"  normal-out ipv6: 1 entries, ",
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
	static const struct {
		uint8_t type, code;
		bool allow;
		int rule;
		uint32_t nlog;
	} v4[] = {
		{ 8, 0, true, 0, 0 }, { 8, 255, true, 0, 0 }, { 7, 255, true, 4, 1 },
		{ 9, 0, true, 4, 1 }, { 3, 1, true, 1, 0 }, { 3, 0, false, 3, 0 },
		{ 3, 2, false, 3, 0 }, { 3, 255, false, 3, 0 }, { 5, 0, false, 7, 1 },
		{ 5, 1, true, 4, 1 }, { 4, 255, true, 4, 1 }, { 6, 0, true, 4, 1 },
		{ 0, 0, true, 4, 1 }, { 255, 255, true, 4, 1 },
	}, v6[] = {
		{ 128, 0, true, 5, 0 }, { 128, 1, false, 7, 0 }, { 127, 255, false, 7, 0 },
		{ 129, 0, false, 7, 0 }, { 254, 0, true, 6, 0 }, { 254, 255, true, 6, 0 },
		{ 255, 0, false, 7, 0 }, { 253, 255, false, 7, 0 },
	};
	struct eval_input in;
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	memset(&in, 0, sizeof(in));
	in.path = PATH_LOCAL_IN;
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		struct pkt_key k = key_icmp("8.8.8.8", "10.0.0.1", IPPROTO_ICMP, v4[i].type,
					    v4[i].code);
		struct rs_verdict v;

		ruleset_lookup(f.rs, RS_NORMAL_IN, &k, &v);
		if ((v.outcome == RS_ACCEPT) != v4[i].allow ||
		    ruleset_meta(f.rs, v.meta)->rule != v4[i].rule || v.nlog != v4[i].nlog)
			fail_msg("ICMP %u/%u: %s by rule %d, %u logs; wanted rule %d", v4[i].type,
				 v4[i].code, v.outcome == RS_ACCEPT ? "allowed" : "dropped",
				 ruleset_meta(f.rs, v.meta)->rule, v.nlog, v4[i].rule);
		in.k = k;
		EXPECT_AGREE(&f, &in);
	}
	for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
		struct pkt_key k = key_icmp("fd00::9", "fd00::1", IPPROTO_ICMPV6, v6[i].type,
					    v6[i].code);
		struct rs_verdict v;

		ruleset_lookup(f.rs, RS_NORMAL_IN, &k, &v);
		if ((v.outcome == RS_ACCEPT) != v6[i].allow ||
		    ruleset_meta(f.rs, v.meta)->rule != v6[i].rule || v.nlog != v6[i].nlog)
			fail_msg("ICMPv6 %u/%u: %s by rule %d; wanted rule %d", v6[i].type,
				 v6[i].code, v.outcome == RS_ACCEPT ? "allowed" : "dropped",
				 ruleset_meta(f.rs, v.meta)->rule, v6[i].rule);
		in.k = k;
		EXPECT_AGREE(&f, &in);
	}
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

	urcu_memb_read_lock();
	assert_null(ruleset_current());
	urcu_memb_read_unlock();

	ruleset_set_gen(fa.rs, 1);
	ruleset_publish(fa.rs);
	urcu_memb_read_lock();
	cur = ruleset_current();
	assert_ptr_equal(cur, fa.rs);
	assert_int_equal(ruleset_gen(cur), 1);
	ruleset_lookup(cur, RS_NORMAL_IN, &k, &v);
	assert_int_equal(v.outcome, RS_ACCEPT);
	urcu_memb_read_unlock();

	/* the old table is freed after a grace period (by call_rcu): do not touch it again */
	ruleset_set_gen(fb.rs, 2);
	ruleset_publish(fb.rs);
	fa.rs = NULL;
	urcu_memb_read_lock();
	cur = ruleset_current();
	assert_ptr_equal(cur, fb.rs);
	assert_int_equal(ruleset_gen(cur), 2);
	ruleset_lookup(cur, RS_NORMAL_IN, &k, &v);
	assert_int_equal(v.outcome, RS_DROP);
	assert_string_equal(ruleset_str(cur, ruleset_meta(cur, v.meta)->policy), "b");
	urcu_memb_read_unlock();

	/* shutdown: the current table is freed too */
	ruleset_unpublish();
	fb.rs = NULL;
	urcu_memb_read_lock();
	assert_null(ruleset_current());
	urcu_memb_read_unlock();
	urcu_memb_set_thread_call_rcu_data(NULL);
	tid = urcu_memb_get_call_rcu_thread(crdp);
	urcu_memb_call_rcu_data_free(crdp);	/* stops the thread, does not join it */
	assert_int_equal(pthread_join(tid, NULL), 0);
	urcu_memb_unregister_thread();

	fx_close(&fa);		/* ruleset_free(NULL) is a no-op */
	fx_close(&fb);
}

/* ---- 2,000 rules: bitsets of 32 words ------------------------------------------------------------ */

#define NBIG	2000
#define HALF	1000		/* Calico allows at most 1024 rules per direction and policy */
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
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_lookup_hooks),
		cmocka_unit_test(test_interfaces),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_icmp_ranges),
		cmocka_unit_test(test_address_edges),
		cmocka_unit_test(test_log_cap),
		cmocka_unit_test(test_publish),
		cmocka_unit_test(test_many_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
