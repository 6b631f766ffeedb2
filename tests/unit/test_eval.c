/*
 * test_eval.c - scenario tests of the enforcement semantics through both
 * engines: the reference evaluator (control/compile/eval.c) and the compiled table
 * (control/compile/compile.c + nfq/ruleset.c, walked by control/compile/walk.c).
 *
 * Each scenario loads a small policy set with polset_load_buffer, builds
 * node n1's view (hostenv) with four interfaces, compiles it, and judges
 * hand-made packets with eval_packet and walk_ruleset. Every expectation is
 * checked against both engines separately (so a failure says which engine
 * is wrong), and the two must agree with each other on the decision and on
 * the Log hits. Each test cites the calico-semantics.md section it checks.
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
#include "walk.h"

/* ---- fixture ------------------------------------------------------------------ */

enum {
	IF_LO = 1,		/* lo: 127.0.0.1, ::1 */
	IF_ETH0 = 2,		/* eth0: 10.0.0.1, fd00::1 */
	IF_ETH1 = 3,		/* eth1: 192.168.1.1, fd01::1 */
	IF_CALI = 4,		/* cali1234: a workload interface */
	IF_UNKNOWN = 99,	/* not known to the hostenv */
};

struct fx {
	struct polset ps;
	struct hostenv env;
	struct ruleset *rs;
	struct eval_result *er;
	struct walk_result wr;
};

#define V3 "apiVersion: projectcalico.org/v3\n"
#define DOC(kind, meta) "---\n" V3 "kind: " kind "\nmetadata: " meta "\n"
#define HEP(meta, spec) DOC("HostEndpoint", meta) "spec: {node: n1, " spec "}\n"
#define GNP(name) DOC("GlobalNetworkPolicy", "{name: " name "}") "spec:\n"
#define TIER(name, spec) DOC("Tier", "{name: " name "}") "spec: " spec "\n"

/* Common endpoints: eth0 with no profile, eth1 with the default-allow profile. */
#define HEP_BARE_ETH0 HEP("{name: eth0-hep, labels: {role: host}}", "interfaceName: eth0")
#define HEP_ALLOW_ETH0 \
	HEP("{name: eth0-hep, labels: {role: host}}", \
	    "interfaceName: eth0, profiles: [projectcalico-default-allow]")

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

static void
add_ifaces(struct hostenv *env)
{
	struct cidr a[2];

	a[0] = mkcidr("127.0.0.1");
	a[1] = mkcidr("::1");
	hostenv_add_iface(env, IF_LO, "lo", a, 2);
	a[0] = mkcidr("10.0.0.1");
	a[1] = mkcidr("fd00::1");
	hostenv_add_iface(env, IF_ETH0, "eth0", a, 2);
	a[0] = mkcidr("192.168.1.1");
	a[1] = mkcidr("fd01::1");
	hostenv_add_iface(env, IF_ETH1, "eth1", a, 2);
	hostenv_add_iface(env, IF_CALI, "cali1234", NULL, 0);
}

/* Load @yaml (no error allowed), build n1's view with @o (NULL: just the node), compile. */
static void
fx_open_opts(struct fx *f, const char *yaml, const struct hostenv_opts *o)
{
	struct hostenv_opts def = { .node = "n1" };
	char why[200];

	memset(f, 0, sizeof(*f));
	polset_init(&f->ps);
	assert_int_equal(polset_load_buffer(&f->ps, "scenario.yaml", yaml, strlen(yaml)), 0);
	if (f->ps.diags.nerr != 0 || f->ps.nrejected != 0) {
		print_diags(&f->ps);
		fail_msg("the scenario's policy does not load cleanly");
	}
	if (hostenv_build(&f->env, &f->ps, o ? o : &def, why, sizeof(why)) != 0)
		fail_msg("hostenv_build: %s", why);
	add_ifaces(&f->env);
	f->rs = compile_ruleset(&f->env);
	f->er = malloc(sizeof(*f->er));
	assert_non_null(f->er);
}

static void
fx_open(struct fx *f, const char *yaml)
{
	fx_open_opts(f, yaml, NULL);
}

static void
fx_close(struct fx *f)
{
	ruleset_free(f->rs);
	hostenv_free(&f->env);
	polset_free(&f->ps);
	free(f->er);
}

/* ---- packets ------------------------------------------------------------------- */

static struct eval_input
mkpkt(enum path path, const char *src, const char *dst, uint8_t proto, uint16_t sport,
      uint16_t dport)
{
	struct eval_input in;
	uint8_t fs, fd;

	memset(&in, 0, sizeof(in));
	in.path = path;
	if (addr_parse(src, &in.k.src, &fs) != 0 || addr_parse(dst, &in.k.dst, &fd) != 0 ||
	    fs != fd)
		fail_msg("bad packet addresses %s -> %s", src, dst);
	in.k.family = fs;
	in.k.proto = proto;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	    proto == IPPROTO_UDPLITE) {
		in.k.flags = PKT_F_PORTS;
		in.k.sport = sport;
		in.k.dport = dport;
	} else if ((proto == IPPROTO_ICMP && fs == AF_INET) ||
		   (proto == IPPROTO_ICMPV6 && fs == AF_INET6)) {
		in.k.flags = PKT_F_ICMP;
		in.k.icmp_type = (uint8_t)sport;
		in.k.icmp_code = (uint8_t)dport;
	}
	in.k.iif = path != PATH_LOCAL_OUT ? IF_ETH0 : 0;
	in.k.oif = path == PATH_LOCAL_OUT ? IF_ETH0 : path == PATH_FORWARD ? IF_ETH1 : 0;
	in.k.ct = CT_NEW;
	return in;
}

static struct eval_input
tcp_in(const char *src, const char *dst, uint16_t dport)
{
	return mkpkt(PATH_LOCAL_IN, src, dst, IPPROTO_TCP, 40000, dport);
}

static struct eval_input
tcp_out(const char *src, const char *dst, uint16_t dport)
{
	return mkpkt(PATH_LOCAL_OUT, src, dst, IPPROTO_TCP, 40000, dport);
}

static struct eval_input
tcp_fwd(const char *src, const char *dst, uint16_t dport)
{
	return mkpkt(PATH_FORWARD, src, dst, IPPROTO_TCP, 40000, dport);
}

static struct eval_input
on_if(struct eval_input in, uint32_t iif, uint32_t oif)
{
	in.k.iif = iif;
	in.k.oif = oif;
	return in;
}

static struct eval_input
with_ct(struct eval_input in, enum ct_state ct)
{
	in.k.ct = (uint8_t)ct;
	return in;
}

/* ---- expectations ------------------------------------------------------------------ */

#define NOCHECK	((const char *)"\x01")	/* hep: not checked */

struct want {
	bool allow;
	enum stage stage;
	enum reason reason;
	const char *tier;
	const char *policy;
	int rule;
	const char *hep;		/* NOCHECK, NULL (none) or a name */
	int dir;			/* -1: not checked */
};

static struct want
w_rule(bool allow, enum stage st, const char *tier, const char *policy, int rule)
{
	return (struct want){ allow, st, REASON_RULE, tier, policy, rule, NOCHECK, -1 };
}

static struct want
w_eot(enum stage st, const char *tier)
{
	return (struct want){ false, st, REASON_END_OF_TIER, tier, NULL, -1, NOCHECK, -1 };
}

static struct want
w_profile(bool allow, const char *profile)
{
	return (struct want){ allow, STAGE_NORMAL, REASON_PROFILE, NULL, profile, 0, NOCHECK, -1 };
}

static struct want
w_no_profile(void)
{
	return (struct want){ false, STAGE_NORMAL, REASON_NO_PROFILE, NULL, NULL, -1, NOCHECK,
			      -1 };
}

static struct want
w_failsafe(void)
{
	return (struct want){ true, STAGE_NORMAL, REASON_FAILSAFE, NULL, NULL, -1, NOCHECK, -1 };
}

static struct want
w_no_hep(void)
{
	return (struct want){ true, STAGE_NORMAL, REASON_NO_HEP, NULL, NULL, -1, NULL, -1 };
}

static struct want
w_no_policy_fwd(void)
{
	return (struct want){ true, STAGE_FORWARD, REASON_NO_POLICY, NULL, NULL, -1, NOCHECK,
			      -1 };
}

static struct want
w_conntrack(bool allow)
{
	return (struct want){ allow, STAGE_CONNTRACK, allow ? REASON_CONNTRACK : REASON_INVALID,
			      NULL, NULL, -1, NOCHECK, -1 };
}

static struct want
at_hep(struct want w, const char *hep)
{
	w.hep = hep;
	return w;
}

static struct want
in_dir(struct want w, enum dir d)
{
	w.dir = (int)d;
	return w;
}

static bool
str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static const char *
s_or_dash(const char *s)
{
	return s ? s : "-";
}

static void
print_decision(const char *who, const struct decision *d)
{
	print_message("    %s: %s stage=%s dir=%s reason=%s hep=%s tier=%s policy=%s rule=%d\n",
		      who, d->allow ? "allow" : "deny", stage_name(d->stage), dir_name(d->dir),
		      reason_name(d->reason), s_or_dash(d->hep), s_or_dash(d->tier),
		      s_or_dash(d->policy), d->rule);
}

/* Does @d match @w? Appends what differs to @why. */
static bool
decision_is(const struct decision *d, const struct want *w, char *why, size_t whylen)
{
	size_t n = 0;

#define DIFF(cond, ...) do { if (cond) n += (size_t)snprintf(why + n, n < whylen ? \
				whylen - n : 0, __VA_ARGS__); } while (0)
	why[0] = '\0';
	DIFF(d->allow != w->allow, " allow=%d", d->allow);
	DIFF(d->stage != w->stage, " stage=%s", stage_name(d->stage));
	DIFF(d->reason != w->reason, " reason=%s", reason_name(d->reason));
	DIFF(!str_same(d->tier, w->tier), " tier=%s", s_or_dash(d->tier));
	DIFF(!str_same(d->policy, w->policy), " policy=%s", s_or_dash(d->policy));
	DIFF(d->rule != w->rule, " rule=%d", d->rule);
	DIFF(w->hep != NOCHECK && !str_same(d->hep, w->hep), " hep=%s", s_or_dash(d->hep));
	DIFF(w->dir >= 0 && (int)d->dir != w->dir, " dir=%s", dir_name(d->dir));
#undef DIFF
	return n == 0;
}

/*
 * The two engines agree (as tests/diff compares them: the direction is not
 * meaningful for conntrack and "no policy" decisions, the endpoint only for
 * decisions a stage of one endpoint made).
 */
static bool
engines_agree(const struct decision *a, const struct decision *b)
{
	bool named = a->reason == REASON_RULE || a->reason == REASON_END_OF_TIER ||
		     a->reason == REASON_PROFILE || a->reason == REASON_NO_PROFILE ||
		     a->reason == REASON_FAILSAFE || a->reason == REASON_NO_HEP;

	if (a->allow != b->allow || a->stage != b->stage || a->reason != b->reason ||
	    a->rule != b->rule || !str_same(a->tier, b->tier) || !str_same(a->policy, b->policy))
		return false;
	if (a->stage != STAGE_CONNTRACK && a->reason != REASON_NO_POLICY && a->dir != b->dir)
		return false;
	return !named || str_same(a->hep, b->hep);
}

static bool
logs_agree(const struct eval_result *r, const struct walk_result *w)
{
	if (r->nlogs != w->nlogs)
		return false;
	for (size_t i = 0; i < r->nlogs; i++)
		if (r->logs[i].rule != w->logs[i].rule || r->logs[i].stage != w->logs[i].stage ||
		    r->logs[i].dir != w->logs[i].dir ||
		    !str_same(r->logs[i].policy, w->logs[i].policy) ||
		    !str_same(r->logs[i].tier, w->logs[i].tier))
			return false;
	return true;
}

static void
expect_at(int line, struct fx *f, struct eval_input in, struct want w)
{
	char why_ref[300], why_cmp[300];
	bool ok_ref, ok_cmp, agree, logs;

	eval_packet(&f->env, &in, f->er);
	walk_ruleset(f->rs, &in, &f->wr);
	ok_ref = decision_is(&f->er->final, &w, why_ref, sizeof(why_ref));
	ok_cmp = decision_is(&f->wr.final, &w, why_cmp, sizeof(why_cmp));
	agree = engines_agree(&f->er->final, &f->wr.final);
	logs = logs_agree(f->er, &f->wr);
	if (ok_ref && ok_cmp && agree && logs)
		return;
	print_message("  line %d: %s%s%s%s\n", line, ok_ref ? "" : "reference evaluator wrong;",
		      ok_cmp ? "" : " compiled table wrong;", agree ? "" : " engines disagree;",
		      logs ? "" : " Log hits differ;");
	print_message("    expected: %s stage=%s reason=%s tier=%s policy=%s rule=%d\n",
		      w.allow ? "allow" : "deny", stage_name(w.stage), reason_name(w.reason),
		      s_or_dash(w.tier), s_or_dash(w.policy), w.rule);
	print_decision("reference", &f->er->final);
	print_decision("compiled ", &f->wr.final);
	print_message("    logs: reference %zu, compiled %zu\n", f->er->nlogs, f->wr.nlogs);
	for (size_t i = 0; i < f->er->nsteps; i++)
		print_message("      %s\n", f->er->steps[i].detail);
	fail_msg("line %d: reference:%s compiled:%s", line, ok_ref ? " ok" : why_ref,
		 ok_cmp ? " ok" : why_cmp);
}

#define EXPECT(f, in, w) expect_at(__LINE__, (f), (in), (w))

/* The Log hits of the last EXPECT, in order: (policy, rule) pairs, from both engines. */
static void
expect_logs_at(int line, struct fx *f, size_t n, ...)
{
	va_list ap;

	if (f->er->nlogs != n || f->wr.nlogs != n)
		fail_msg("line %d: %zu Log hits (reference), %zu (compiled), wanted %zu", line,
			 f->er->nlogs, f->wr.nlogs, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const char *pol = va_arg(ap, const char *);
		int rule = va_arg(ap, int);

		if (!str_same(f->er->logs[i].policy, pol) || f->er->logs[i].rule != rule ||
		    !str_same(f->wr.logs[i].policy, pol) || f->wr.logs[i].rule != rule)
			fail_msg("line %d: Log hit %zu is %s/%d (reference), %s/%d (compiled), "
				 "wanted %s/%d", line, i, s_or_dash(f->er->logs[i].policy),
				 f->er->logs[i].rule, s_or_dash(f->wr.logs[i].policy),
				 f->wr.logs[i].rule, pol, rule);
	}
	va_end(ap);
}

#define EXPECT_LOGS(f, ...) expect_logs_at(__LINE__, (f), __VA_ARGS__)

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

/* ---- §4 failsafe ---------------------------------------------------------------------- */

static void
test_failsafe_overrides_deny(void **state)
{
	static const char yaml[] =
		HEP_BARE_ETH0
		GNP("deny-all")
		"  types: [Ingress, Egress]\n"
		"  ingress:\n"
		"  - action: Deny\n"
		"  egress:\n"
		"  - action: Deny\n";
	struct hostenv_opts o = { .node = "n1", .failsafe_in = "none" };
	struct eval_input frag;
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 22), at_hep(w_failsafe(), "eth0-hep"));
	EXPECT(&f, tcp_in("fd00::9", "fd00::1", 6443), w_failsafe());
	EXPECT(&f, mkpkt(PATH_LOCAL_IN, "8.8.8.8", "10.0.0.1", IPPROTO_UDP, 67, 68), w_failsafe());
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80),
	       w_rule(false, STAGE_NORMAL, "default", "deny-all", 0));
	/* UDP 22 is not failsafe */
	EXPECT(&f, mkpkt(PATH_LOCAL_IN, "8.8.8.8", "10.0.0.1", IPPROTO_UDP, 1, 22),
	       w_rule(false, STAGE_NORMAL, "default", "deny-all", 0));
	/* outbound list: udp 53, not tcp 22 */
	EXPECT(&f, mkpkt(PATH_LOCAL_OUT, "10.0.0.1", "8.8.8.8", IPPROTO_UDP, 5000, 53),
	       in_dir(w_failsafe(), DIR_EGRESS));
	EXPECT(&f, tcp_out("10.0.0.1", "8.8.8.8", 22),
	       in_dir(w_rule(false, STAGE_NORMAL, "default", "deny-all", 0), DIR_EGRESS));
	/* a non-first fragment has no ports: never failsafe */
	frag = tcp_in("8.8.8.8", "10.0.0.1", 22);
	frag.k.flags = PKT_F_FRAG | PKT_F_NONFIRST;
	frag.k.sport = frag.k.dport = 0;
	EXPECT(&f, frag, w_rule(false, STAGE_NORMAL, "default", "deny-all", 0));
	fx_close(&f);

	/* failsafes switched off */
	fx_open_opts(&f, yaml, &o);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 22),
	       w_rule(false, STAGE_NORMAL, "default", "deny-all", 0));
	fx_close(&f);

	/* a failsafe entry with a net matches the source (inbound) */
	fx_open(&f, HEP_BARE_ETH0
		DOC("FelixConfiguration", "{name: default}")
		"spec:\n"
		"  failsafeInboundHostPorts: [{protocol: TCP, port: 22, net: 10.0.0.0/8}]\n"
		"  failsafeOutboundHostPorts: [{protocol: TCP, port: 443, net: '2001:db8::/32'}]\n"
		GNP("deny-all") "  types: [Ingress, Egress]\n"
		"  ingress:\n  - action: Deny\n  egress:\n  - action: Deny\n");
	EXPECT(&f, tcp_in("10.2.3.4", "10.0.0.1", 22), w_failsafe());
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 22),
	       w_rule(false, STAGE_NORMAL, "default", "deny-all", 0));
	EXPECT(&f, tcp_in("fd00::9", "fd00::1", 22),
	       w_rule(false, STAGE_NORMAL, "default", "deny-all", 0));
	EXPECT(&f, tcp_out("fd00::1", "2001:db8::1", 443), w_failsafe());
	EXPECT(&f, tcp_out("fd00::1", "2001:db9::1", 443),
	       w_rule(false, STAGE_NORMAL, "default", "deny-all", 0));
	EXPECT(&f, tcp_out("10.0.0.1", "8.8.8.8", 443),
	       w_rule(false, STAGE_NORMAL, "default", "deny-all", 0));
	fx_close(&f);
}

/* §2, vector P72: failsafe ports never help forwarded traffic. */
static void
test_failsafe_not_in_forward(void **state)
{
	static const char yaml[] =
		HEP_BARE_ETH0
		GNP("fwd-deny")
		"  applyOnForward: true\n"
		"  ingress:\n"
		"  - action: Deny\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	EXPECT(&f, tcp_fwd("8.8.8.8", "192.168.1.7", 22),
	       in_dir(w_rule(false, STAGE_FORWARD, "default", "fwd-deny", 0), DIR_INGRESS));
	/* the same policy governs host ingress too, where failsafe applies */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 22), w_failsafe());
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80),
	       w_rule(false, STAGE_NORMAL, "default", "fwd-deny", 0));
	fx_close(&f);
}

/* ---- §2 preDNAT, doNotTrack, applyOnForward ------------------------------------------------ */

static void
test_prednat(void **state)
{
	static const char yaml[] =
		HEP_BARE_ETH0
		GNP("pre")
		"  preDNAT: true\n"
		"  applyOnForward: true\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n"
		"  - {action: Deny, protocol: TCP, destination: {ports: [82]}}\n"
		GNP("normal")
		"  order: 1\n"
		"  ingress:\n"
		"  - {action: Deny, protocol: TCP, destination: {ports: [80]}}\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [81]}}\n"
		GNP("fwd")
		"  order: 2\n"
		"  applyOnForward: true\n"
		"  ingress:\n"
		"  - action: Deny\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	/* a preDNAT Allow is final for host ingress: normal's Deny is skipped */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80),
	       at_hep(w_rule(true, STAGE_PREDNAT, "default", "pre", 0), "eth0-hep"));
	/* preDNAT never default-denies: on to normal policy */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 81),
	       w_rule(true, STAGE_NORMAL, "default", "normal", 1));
	/* the applyOnForward policy governs host ingress too */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 83),
	       w_rule(false, STAGE_NORMAL, "default", "fwd", 0));
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 82),
	       w_rule(false, STAGE_PREDNAT, "default", "pre", 1));
	/* forwarded: the preDNAT Allow skips the incoming endpoint's forward policy */
	EXPECT(&f, tcp_fwd("8.8.8.8", "192.168.1.7", 80),
	       w_rule(true, STAGE_PREDNAT, "default", "pre", 0));
	EXPECT(&f, tcp_fwd("8.8.8.8", "192.168.1.7", 81),
	       w_rule(false, STAGE_FORWARD, "default", "fwd", 0));
	fx_close(&f);
}

/* §2, §9.6: a preDNAT policy alone never drops what it does not match. */
static void
test_prednat_no_default_deny(void **state)
{
	static const char yaml[] =
		HEP_ALLOW_ETH0
		GNP("pre")
		"  preDNAT: true\n"
		"  applyOnForward: true\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, source: {nets: [10.0.0.0/8]}}\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	EXPECT(&f, tcp_in("10.1.1.1", "10.0.0.1", 80), w_rule(true, STAGE_PREDNAT, "default",
							       "pre", 0));
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80), w_profile(true, PROFILE_DEFAULT_ALLOW));
	EXPECT(&f, tcp_fwd("8.8.8.8", "192.168.1.7", 80), w_no_policy_fwd());
	fx_close(&f);
}

static void
test_do_not_track(void **state)
{
	static const char yaml[] =
		HEP("{name: eth0-hep}", "interfaceName: eth0")
		HEP("{name: all-hep}", "interfaceName: '*'")
		GNP("dnt")
		"  doNotTrack: true\n"
		"  applyOnForward: true\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n"
		"  - {action: Deny, protocol: TCP, destination: {ports: [81]}}\n"
		"  egress:\n"
		"  - {action: Allow, protocol: UDP, destination: {ports: [5353]}}\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80),
	       at_hep(w_rule(true, STAGE_UNTRACKED, "default", "dnt", 0), "eth0-hep"));
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 81),
	       w_rule(false, STAGE_UNTRACKED, "default", "dnt", 1));
	/* untracked tiers never default-deny: on to normal, which has no policy */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 82), at_hep(w_no_profile(), "eth0-hep"));
	/* untracked Allow comes before conntrack, even for an INVALID packet */
	EXPECT(&f, with_ct(tcp_in("8.8.8.8", "10.0.0.1", 80), CT_INVALID),
	       w_rule(true, STAGE_UNTRACKED, "default", "dnt", 0));
	EXPECT(&f, with_ct(tcp_in("8.8.8.8", "10.0.0.1", 81), CT_ESTABLISHED),
	       w_rule(false, STAGE_UNTRACKED, "default", "dnt", 1));
	/* egress in raw OUTPUT */
	EXPECT(&f, mkpkt(PATH_LOCAL_OUT, "10.0.0.1", "8.8.8.8", IPPROTO_UDP, 5353, 5353),
	       in_dir(w_rule(true, STAGE_UNTRACKED, "default", "dnt", 0), DIR_EGRESS));
	/* the "*" endpoint ignores doNotTrack: eth1 falls to normal */
	EXPECT(&f, on_if(tcp_in("8.8.8.8", "192.168.1.1", 80), IF_ETH1, 0),
	       at_hep(w_no_profile(), "all-hep"));
	EXPECT(&f, on_if(tcp_in("8.8.8.8", "192.168.1.1", 81), IF_ETH1, 0),
	       at_hep(w_no_profile(), "all-hep"));
	fx_close(&f);
}

static void
test_apply_on_forward(void **state)
{
	static const char normal_only[] =
		HEP("{name: eth0-hep}", "interfaceName: eth0")
		HEP("{name: eth1-hep, labels: {side: out}}", "interfaceName: eth1")
		GNP("deny-all")
		"  types: [Ingress, Egress]\n"
		"  ingress:\n"
		"  - action: Deny\n"
		"  egress:\n"
		"  - action: Deny\n";
	static const char with_aof[] =
		HEP("{name: eth0-hep}", "interfaceName: eth0")
		HEP("{name: eth1-hep, labels: {side: out}}", "interfaceName: eth1")
		GNP("fwd-in")
		"  applyOnForward: true\n"
		"  selector: '!has(side)'\n"
		"  types: [Ingress]\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [443, 8443]}}\n"
		GNP("fwd-out")
		"  applyOnForward: true\n"
		"  selector: side == 'out'\n"
		"  types: [Egress]\n"
		"  egress:\n"
		"  - {action: Deny, protocol: TCP, destination: {ports: [8443]}}\n"
		"  - {action: Pass, protocol: TCP, destination: {ports: [443]}}\n";
	struct fx f;

	(void)state;
	/* no applyOnForward policy: forwarded traffic passes; normal policy does not see it */
	fx_open(&f, normal_only);
	EXPECT(&f, tcp_fwd("8.8.8.8", "192.168.1.7", 80), w_no_policy_fwd());
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80),
	       w_rule(false, STAGE_NORMAL, "default", "deny-all", 0));
	fx_close(&f);

	fx_open(&f, with_aof);
	/* ingress of the incoming endpoint: end-of-tier deny */
	EXPECT(&f, tcp_fwd("8.8.8.8", "192.168.1.7", 80),
	       in_dir(at_hep(w_eot(STAGE_FORWARD, "default"), "eth0-hep"), DIR_INGRESS));
	/* allowed in, then egress of the outgoing endpoint denies */
	EXPECT(&f, tcp_fwd("8.8.8.8", "192.168.1.7", 8443),
	       in_dir(at_hep(w_rule(false, STAGE_FORWARD, "default", "fwd-out", 0), "eth1-hep"),
		      DIR_EGRESS));
	/* allowed in, Passed out (last tier, no profiles): the ingress Allow stands */
	EXPECT(&f, tcp_fwd("8.8.8.8", "192.168.1.7", 443),
	       in_dir(w_rule(true, STAGE_FORWARD, "default", "fwd-in", 0), DIR_INGRESS));
	/* the other way round: eth1's ingress has no forward policy, eth0's egress neither */
	EXPECT(&f, on_if(tcp_fwd("192.168.1.7", "8.8.8.8", 80), IF_ETH1, IF_ETH0),
	       w_no_policy_fwd());
	/* applyOnForward policies govern host traffic as well */
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 443),
	       w_rule(true, STAGE_NORMAL, "default", "fwd-in", 0));
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 80), w_eot(STAGE_NORMAL, "default"));
	fx_close(&f);
}

/* ---- §0.3 conntrack -------------------------------------------------------------------------- */

static void
test_conntrack(void **state)
{
	static const char yaml[] =
		HEP_BARE_ETH0
		GNP("deny-all")
		"  types: [Ingress, Egress]\n"
		"  ingress:\n"
		"  - action: Deny\n"
		"  egress:\n"
		"  - action: Deny\n";
	struct hostenv_opts o = { .node = "n1", .no_invalid_drop = true };
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	EXPECT(&f, with_ct(tcp_in("8.8.8.8", "10.0.0.1", 80), CT_ESTABLISHED), w_conntrack(true));
	EXPECT(&f, with_ct(tcp_in("8.8.8.8", "10.0.0.1", 80), CT_RELATED), w_conntrack(true));
	EXPECT(&f, with_ct(tcp_out("10.0.0.1", "8.8.8.8", 80), CT_ESTABLISHED), w_conntrack(true));
	EXPECT(&f, with_ct(tcp_in("8.8.8.8", "10.0.0.1", 22), CT_INVALID), w_conntrack(false));
	EXPECT(&f, with_ct(tcp_fwd("8.8.8.8", "192.168.1.7", 80), CT_INVALID),
	       w_conntrack(false));
	EXPECT(&f, with_ct(tcp_in("8.8.8.8", "10.0.0.1", 80), CT_NEW),
	       w_rule(false, STAGE_NORMAL, "default", "deny-all", 0));
	fx_close(&f);

	/* DisableConntrackInvalidCheck: INVALID packets meet policy */
	fx_open_opts(&f, yaml, &o);
	EXPECT(&f, with_ct(tcp_in("8.8.8.8", "10.0.0.1", 80), CT_INVALID),
	       w_rule(false, STAGE_NORMAL, "default", "deny-all", 0));
	EXPECT(&f, with_ct(tcp_in("8.8.8.8", "10.0.0.1", 22), CT_INVALID), w_failsafe());
	fx_close(&f);
}

/*
 * §0.1, §0.3, §3.4: Felix's conntrack rules live in the host endpoint chains
 * (felix/rules/endpoints.go appendConntrackRules; the static filter INPUT,
 * OUTPUT and FORWARD chains have none), so an INVALID packet on an interface
 * no HEP claims is not dropped: HEP policy does nothing there.
 */
static void
test_conntrack_invalid_unpoliced(void **state)
{
	static const char yaml[] =
		HEP_BARE_ETH0
		GNP("deny-all")
		"  types: [Ingress, Egress]\n"
		"  ingress:\n"
		"  - action: Deny\n"
		"  egress:\n"
		"  - action: Deny\n";
	struct fx f;

	(void)state;
	fx_open(&f, yaml);
	/* eth0 is claimed: dropped, whichever side of a forwarded packet it is on */
	EXPECT(&f, with_ct(tcp_in("8.8.8.8", "10.0.0.1", 80), CT_INVALID), w_conntrack(false));
	EXPECT(&f, with_ct(on_if(tcp_fwd("8.8.8.8", "10.0.0.9", 80), IF_ETH1, IF_ETH0),
			   CT_INVALID), w_conntrack(false));
	EXPECT(&f, with_ct(on_if(tcp_fwd("8.8.8.8", "192.168.1.7", 80), IF_ETH0, IF_ETH1),
			   CT_INVALID), w_conntrack(false));
	/* unclaimed interfaces (a workload's, lo and eth1 here): not policed at all */
	EXPECT(&f, with_ct(on_if(tcp_in("10.244.0.5", "10.0.0.1", 80), IF_CALI, 0), CT_INVALID),
	       w_no_hep());
	EXPECT(&f, with_ct(on_if(tcp_in("127.0.0.1", "127.0.0.1", 80), IF_LO, 0), CT_INVALID),
	       w_no_hep());
	EXPECT(&f, with_ct(on_if(tcp_out("192.168.1.1", "8.8.8.8", 80), 0, IF_ETH1), CT_INVALID),
	       w_no_hep());
	EXPECT(&f, with_ct(on_if(tcp_fwd("8.8.8.8", "10.244.0.5", 80), IF_ETH1, IF_CALI),
			   CT_INVALID), w_no_policy_fwd());
	fx_close(&f);
}

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

/* ---- kube-proxy DNAT: preDNAT sees the original destination, normal the new one ---------- */

static void
test_dnat(void **state)
{
	static const char yaml[] =
		HEP_BARE_ETH0
		GNP("pre")
		"  preDNAT: true\n"
		"  applyOnForward: true\n"
		"  ingress:\n"
		"  - {action: Deny, protocol: TCP, destination: {nets: [10.0.0.1/32], ports: [81]}}\n"
		GNP("svc")
		"  applyOnForward: true\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {nets: [10.0.0.5/32], ports: [8080]}}\n";
	struct eval_input in;
	struct fx f;
	uint8_t fam;

	(void)state;
	fx_open(&f, yaml);
	in = tcp_in("8.8.8.8", "10.0.0.1", 80);
	EXPECT(&f, in, w_eot(STAGE_NORMAL, "default"));
	in.dnat = true;
	assert_int_equal(addr_parse("10.0.0.5", &in.dnat_addr, &fam), 0);
	in.dnat_port_set = true;
	in.dnat_port = 8080;
	EXPECT(&f, in, w_rule(true, STAGE_NORMAL, "default", "svc", 0));
	/* the address only: the port stays 80 */
	in.dnat_port_set = false;
	EXPECT(&f, in, w_eot(STAGE_NORMAL, "default"));
	/* preDNAT policy sees the destination before the rewrite */
	in.k.dport = 81;
	in.dnat_port_set = true;
	EXPECT(&f, in, w_rule(false, STAGE_PREDNAT, "default", "pre", 0));
	/* forwarded (a NodePort to a remote pod): the forward stage sees the new address */
	in = tcp_fwd("8.8.8.8", "10.0.0.1", 30080);
	EXPECT(&f, in, w_eot(STAGE_FORWARD, "default"));
	in.dnat = true;
	assert_int_equal(addr_parse("10.0.0.5", &in.dnat_addr, &fam), 0);
	in.dnat_port_set = true;
	in.dnat_port = 8080;
	EXPECT(&f, in, w_rule(true, STAGE_FORWARD, "default", "svc", 0));
	fx_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_policy_profiles),
		cmocka_unit_test(test_auto_hep_allows),
		cmocka_unit_test(test_per_direction),
		cmocka_unit_test(test_tier_default_action_pass),
		cmocka_unit_test(test_pass_rule_skips_rest_of_tier),
		cmocka_unit_test(test_pass_in_last_tier),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_top_level_scoping),
		cmocka_unit_test(test_policy_order),
		cmocka_unit_test(test_tier_order),
		cmocka_unit_test(test_tier_without_object),
		cmocka_unit_test(test_failsafe_overrides_deny),
		cmocka_unit_test(test_failsafe_not_in_forward),
		cmocka_unit_test(test_prednat),
		cmocka_unit_test(test_prednat_no_default_deny),
		cmocka_unit_test(test_do_not_track),
		cmocka_unit_test(test_apply_on_forward),
		cmocka_unit_test(test_conntrack),
		cmocka_unit_test(test_conntrack_invalid_unpoliced),
		cmocka_unit_test(test_rule_selectors),
		cmocka_unit_test(test_named_ports),
		cmocka_unit_test(test_per_family_rendering),
		cmocka_unit_test(test_icmp_infers_ip_version),
		cmocka_unit_test(test_v1_without_types),
		cmocka_unit_test(test_interface_resolution),
		cmocka_unit_test(test_staged_not_enforced),
		cmocka_unit_test(test_dnat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
