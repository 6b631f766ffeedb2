/*
 * test_ruleset.h - the fixture of the compiled table's unit tests
 * (test_ruleset*.c): load a policy, build node n1's view with eth0 (10.0.0.1,
 * fd00::1), eth1 and a workload interface, compile it; packet keys; checks of
 * single lookups and of both engines agreeing. Include it first;
 * everything is static inline, so a test file pays only for what it uses.
 */
#ifndef NFQWALL_TEST_RULESET_H
#define NFQWALL_TEST_RULESET_H

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

/* Load, build n1's view (no failsafes unless @fs_in says so), compile. */
static inline void
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
	assert_int_equal(hostenv_add_iface(&f->env, IF_ETH0, "eth0", a, 2), 0);
	a[0] = mkcidr("192.168.1.1");
	assert_int_equal(hostenv_add_iface(&f->env, IF_ETH1, "eth1", a, 1), 0);
	assert_int_equal(hostenv_add_iface(&f->env, IF_CALI, "cali77", NULL, 0), 0);
	f->rs = compile_ruleset(&f->env);
	assert_non_null(f->rs);
}

static inline void
fx_open(struct fx *f, const char *yaml)
{
	fx_open_fs(f, yaml, "none");
}

static inline void
fx_close(struct fx *f)
{
	ruleset_free(f->rs);
	hostenv_free(&f->env);
	polset_free(&f->ps);
}

/* A key on eth0 (both interfaces), new connection. */
static inline struct pkt_key
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

static inline struct pkt_key
key_ports(const char *src, const char *dst, uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct pkt_key k = key(src, dst, proto);

	k.flags = PKT_F_PORTS;
	k.sport = sport;
	k.dport = dport;
	return k;
}

static inline struct pkt_key
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
static inline void
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
static inline void
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
static inline void
expect_engines_agree_at(int line, const struct fx *f, const struct eval_input *in)
{
	struct eval_result *r = malloc(sizeof(*r));
	struct walk_result w;
	const struct decision *a, *b;

	assert_non_null(r);
	assert_int_equal(eval_packet(&f->env, in, r), 0);
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

#endif /* NFQWALL_TEST_RULESET_H */
