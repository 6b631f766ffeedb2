/*
 * test_eval.h - the fixture of the scenario tests of the enforcement
 * semantics (test_eval*.c): each scenario loads a small policy set with
 * polset_load_buffer, builds node n1's view (hostenv) with four interfaces,
 * compiles it, and judges hand-made packets with both engines, the
 * reference evaluator (control/compile/eval*.c) and the compiled table
 * (control/compile/compile*.c + nfq/ruleset*.c, walked by walk.c). Every
 * expectation is checked against both engines separately (so a failure says
 * which engine is wrong), and the two must agree with each other on the
 * decision and on the Log hits. Include it first; everything is static
 * inline, so a test file pays only for what it uses.
 */
#ifndef NFQWALL_TEST_EVAL_H
#define NFQWALL_TEST_EVAL_H

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
#include "helpers.h"
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

/* Common endpoints: eth0 with no profile, eth1 with the default-allow profile. */
#define HEP_BARE_ETH0 HEP("{name: eth0-hep, labels: {role: host}}", "interfaceName: eth0")
#define HEP_ALLOW_ETH0 \
	HEP("{name: eth0-hep, labels: {role: host}}", \
	    "interfaceName: eth0, profiles: [projectcalico-default-allow]")

static inline void
add_ifaces(struct hostenv *env)
{
	struct cidr a[2];

	a[0] = mkcidr("127.0.0.1");
	a[1] = mkcidr("::1");
	assert_int_equal(hostenv_add_iface(env, IF_LO, "lo", a, 2), 0);
	a[0] = mkcidr("10.0.0.1");
	a[1] = mkcidr("fd00::1");
	assert_int_equal(hostenv_add_iface(env, IF_ETH0, "eth0", a, 2), 0);
	a[0] = mkcidr("192.168.1.1");
	a[1] = mkcidr("fd01::1");
	assert_int_equal(hostenv_add_iface(env, IF_ETH1, "eth1", a, 2), 0);
	assert_int_equal(hostenv_add_iface(env, IF_CALI, "cali1234", NULL, 0), 0);
}

/* Load @yaml (no error allowed), build n1's view with @o (NULL: just the node), compile. */
static inline void
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
	assert_non_null(f->rs);
	f->er = malloc(sizeof(*f->er));
	assert_non_null(f->er);
}

static inline void
fx_open(struct fx *f, const char *yaml)
{
	fx_open_opts(f, yaml, NULL);
}

static inline void
fx_close(struct fx *f)
{
	ruleset_free(f->rs);
	hostenv_free(&f->env);
	polset_free(&f->ps);
	free(f->er);
}

/* ---- packets ------------------------------------------------------------------- */

static inline struct eval_input
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

static inline struct eval_input
tcp_in(const char *src, const char *dst, uint16_t dport)
{
	return mkpkt(PATH_LOCAL_IN, src, dst, IPPROTO_TCP, 40000, dport);
}

static inline struct eval_input
tcp_out(const char *src, const char *dst, uint16_t dport)
{
	return mkpkt(PATH_LOCAL_OUT, src, dst, IPPROTO_TCP, 40000, dport);
}

static inline struct eval_input
tcp_fwd(const char *src, const char *dst, uint16_t dport)
{
	return mkpkt(PATH_FORWARD, src, dst, IPPROTO_TCP, 40000, dport);
}

static inline struct eval_input
on_if(struct eval_input in, uint32_t iif, uint32_t oif)
{
	in.k.iif = iif;
	in.k.oif = oif;
	return in;
}

static inline struct eval_input
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

static inline struct want
w_rule(bool allow, enum stage st, const char *tier, const char *policy, int rule)
{
	return (struct want){ allow, st, REASON_RULE, tier, policy, rule, NOCHECK, -1 };
}

static inline struct want
w_eot(enum stage st, const char *tier)
{
	return (struct want){ false, st, REASON_END_OF_TIER, tier, NULL, -1, NOCHECK, -1 };
}

static inline struct want
w_profile(bool allow, const char *profile)
{
	return (struct want){ allow, STAGE_NORMAL, REASON_PROFILE, NULL, profile, 0, NOCHECK, -1 };
}

static inline struct want
w_no_profile(void)
{
	return (struct want){ false, STAGE_NORMAL, REASON_NO_PROFILE, NULL, NULL, -1, NOCHECK,
			      -1 };
}

static inline struct want
w_failsafe(void)
{
	return (struct want){ true, STAGE_NORMAL, REASON_FAILSAFE, NULL, NULL, -1, NOCHECK, -1 };
}

static inline struct want
w_no_hep(void)
{
	return (struct want){ true, STAGE_NORMAL, REASON_NO_HEP, NULL, NULL, -1, NULL, -1 };
}

static inline struct want
w_no_policy_fwd(void)
{
	return (struct want){ true, STAGE_FORWARD, REASON_NO_POLICY, NULL, NULL, -1, NOCHECK,
			      -1 };
}

static inline struct want
w_conntrack(bool allow)
{
	return (struct want){ allow, STAGE_CONNTRACK, allow ? REASON_CONNTRACK : REASON_INVALID,
			      NULL, NULL, -1, NOCHECK, -1 };
}

static inline struct want
at_hep(struct want w, const char *hep)
{
	w.hep = hep;
	return w;
}

static inline struct want
in_dir(struct want w, enum dir d)
{
	w.dir = (int)d;
	return w;
}

static inline bool
str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static inline const char *
s_or_dash(const char *s)
{
	return s ? s : "-";
}

static inline void
print_decision(const char *who, const struct decision *d)
{
	print_message("    %s: %s stage=%s dir=%s reason=%s hep=%s tier=%s policy=%s rule=%d\n",
		      who, d->allow ? "allow" : "deny", stage_name(d->stage), dir_name(d->dir),
		      reason_name(d->reason), s_or_dash(d->hep), s_or_dash(d->tier),
		      s_or_dash(d->policy), d->rule);
}

/* Does @d match @w? Appends what differs to @why. */
static inline bool
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
static inline bool
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

static inline bool
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

static inline void
expect_at(int line, struct fx *f, struct eval_input in, struct want w)
{
	char why_ref[300], why_cmp[300];
	bool ok_ref, ok_cmp, agree, logs;

	assert_int_equal(eval_packet(&f->env, &in, f->er), 0);
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
static inline void
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

#endif /* NFQWALL_TEST_EVAL_H */
