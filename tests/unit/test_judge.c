/*
 * test_judge.c - the per-hook decision of a queued packet: which lookups,
 * which verdict, which mark (nfq/judge.c), against a compiled policy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "helpers.h"
#include "judge.h"

/* eth0 (2) and lo (1) on one "*" endpoint; 10.0.0.1 is the node. */
static const char policy[] =
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: node, labels: {role: node}}\n"
	"spec: {node: n1, interfaceName: \"*\", expectedIPs: [10.0.0.1]}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: GlobalNetworkPolicy\n"
	"metadata: {name: web}\n"
	"spec:\n"
	"  selector: role == 'node'\n"
	"  ingress:\n"
	"    - {action: Log, protocol: TCP, destination: {ports: [81]}}\n"
	"    - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n"
	"    - {action: Deny}\n"
	"  egress:\n"
	"    - {action: Deny, protocol: TCP, destination: {ports: [25]}}\n"
	"    - {action: Allow}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: GlobalNetworkPolicy\n"
	"metadata: {name: nodeports}\n"
	"spec:\n"
	"  selector: role == 'node'\n"
	"  preDNAT: true\n"
	"  applyOnForward: true\n"
	"  ingress:\n"
	"    - {action: Allow, protocol: TCP, source: {nets: [192.0.2.0/24]}, destination: {ports: [30080]}}\n"
	"    - {action: Deny, protocol: TCP, destination: {ports: [30081]}}\n";

/* Log rules at every lookup a packet can meet: preDNAT, forward ingress and egress. */
static const char log_policy[] =
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: node, labels: {role: node}}\n"
	"spec: {node: n1, interfaceName: \"*\", expectedIPs: [10.0.0.1]}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: GlobalNetworkPolicy\n"
	"metadata: {name: fwd}\n"
	"spec:\n"
	"  selector: role == 'node'\n"
	"  applyOnForward: true\n"
	"  ingress:\n"
	"    - {action: Log, protocol: TCP}\n"
	"    - {action: Allow}\n"
	"  egress:\n"
	"    - {action: Log, protocol: TCP, destination: {ports: [80]}}\n"
	"    - {action: Allow}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: GlobalNetworkPolicy\n"
	"metadata: {name: pre}\n"
	"spec:\n"
	"  selector: role == 'node'\n"
	"  preDNAT: true\n"
	"  applyOnForward: true\n"
	"  ingress:\n"
	"    - {action: Log, protocol: TCP, destination: {ports: [80]}}\n";

struct fixture {
	struct polset ps;
	struct hostenv env;
	struct ruleset *rs;
	struct mark_layout ml;
	struct judge_opts jo;
};

static int
setup_text(void **state, const char *text)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct hostenv_opts o = { .node = "n1" };
	struct cidr lo = mkcidr("127.0.0.1"), eth0 = mkcidr("10.0.0.1");
	char why[64];

	polset_init(&f->ps);
	assert_int_equal(polset_load_buffer(&f->ps, "p.yaml", text, strlen(text)), 0);
	assert_int_equal(f->ps.diags.nerr, 0);
	assert_int_equal(hostenv_build(&f->env, &f->ps, &o, why, sizeof(why)), 0);
	assert_int_equal(hostenv_add_iface(&f->env, 1, "lo", &lo, 1), 0);
	assert_int_equal(hostenv_add_iface(&f->env, 2, "eth0", &eth0, 1), 0);
	f->rs = compile_ruleset(&f->env);
	assert_non_null(f->rs);
	ruleset_set_gen(f->rs, 7);
	assert_int_equal(mark_layout_init(&f->ml, 0xfff80000u), 0);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_text(state, policy);
}

static int
setup_logs(void **state)
{
	return setup_text(state, log_policy);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ruleset_free(f->rs);
	hostenv_free(&f->env);
	polset_free(&f->ps);
	free(f);
	return 0;
}

static struct pkt_key
tcp(const char *src, const char *dst, uint16_t sport, uint16_t dport, uint32_t iif, uint32_t oif)
{
	struct pkt_key k;
	uint8_t fam;

	memset(&k, 0, sizeof(k));
	assert_int_equal(addr_parse(src, &k.src, &fam), 0);
	assert_int_equal(addr_parse(dst, &k.dst, &fam), 0);
	k.family = fam;
	k.proto = IPPROTO_TCP;
	k.flags = PKT_F_PORTS;
	k.sport = sport;
	k.dport = dport;
	k.iif = iif;
	k.oif = oif;
	return k;
}

static void
test_mark_layout(void **state)
{
	struct mark_layout ml;

	(void)state;
	assert_int_equal(mark_layout_init(&ml, 0xfff80000u), 0);
	assert_int_equal(ml.gen_mask, 0xff000000u);
	assert_int_equal(ml.verdict, 0x00800000u);
	assert_int_equal(ml.prednat, 0x00400000u);
	assert_int_equal(ml.est, 0x00200000u);
	assert_int_equal(ml.reply, 0x00100000u);
	assert_int_equal(ml.raw, 0x00080000u);
	assert_int_equal(mark_gen(&ml, 7), 0x07000000u);
	/* a lower field works the same */
	assert_int_equal(mark_layout_init(&ml, 0x001fff00u), 0);
	assert_int_equal(ml.gen_mask, 0x001fe000u);
	assert_int_equal(ml.raw, 0x00000100u);
	/* too narrow, or not contiguous */
	assert_int_equal(mark_layout_init(&ml, 0x00000fffu), -EINVAL);
	assert_int_equal(mark_layout_init(&ml, 0xfff70000u), -EINVAL);
	assert_int_equal(mark_layout_init(&ml, 0), -EINVAL);
}

static void
test_input_allow_marks_flow(void **state)
{
	struct fixture *f = *state;
	struct pkt_key k = tcp("192.0.2.9", "10.0.0.1", 40000, 80, 2, 0);
	struct judge_result r;

	/* foreign mark bits (kube-proxy's 0x4000) survive */
	judge_packet(f->rs, &f->ml, &f->jo, JHOOK_LOCAL_IN, 0x4000, &k, &r);
	assert_int_equal(r.verdict, JV_REPEAT);
	assert_int_equal(r.mark, 0x4000u | 0x07000000u | f->ml.verdict);
	assert_int_equal(r.stage, STAGE_NORMAL);
	assert_int_equal(r.rv.reason, REASON_RULE);
	assert_int_equal(ruleset_meta(f->rs, r.rv.meta)->rule, 1);
	assert_false(r.logged);
	assert_false(r.rejudged);
}

static void
test_input_deny_and_log(void **state)
{
	struct fixture *f = *state;
	struct pkt_key k = tcp("192.0.2.9", "10.0.0.1", 40000, 81, 2, 0);
	struct judge_result r;

	judge_packet(f->rs, &f->ml, &f->jo, JHOOK_LOCAL_IN, 0, &k, &r);
	assert_int_equal(r.verdict, JV_DROP);
	assert_true(r.logged);
	assert_int_equal(r.rv.nlog, 1);
	assert_int_equal(ruleset_meta(f->rs, r.rv.log[0])->rule, 0);
	assert_int_equal(ruleset_meta(f->rs, r.rv.meta)->rule, 2);
}

static void
test_audit_accepts_would_deny(void **state)
{
	struct fixture *f = *state;
	struct judge_opts audit = { .audit = true };
	struct pkt_key k = tcp("192.0.2.9", "10.0.0.1", 40000, 22000, 2, 0);
	struct judge_result r;

	judge_packet(f->rs, &f->ml, &audit, JHOOK_LOCAL_IN, 0, &k, &r);
	assert_int_equal(r.verdict, JV_ACCEPT);	/* and no connmark: judged again later */
	assert_true(r.would_deny);
	assert_true(r.logged);
}

static void
test_reply_is_judged_as_original(void **state)
{
	struct fixture *f = *state;
	/* the node's reply to an inbound connection to port 80, seen at OUTPUT */
	struct pkt_key k = tcp("10.0.0.1", "192.0.2.9", 80, 40000, 0, 2);
	struct judge_result r;
	uint32_t mark = f->ml.est | f->ml.reply;

	judge_packet(f->rs, &f->ml, &f->jo, JHOOK_LOCAL_OUT, mark, &k, &r);
	/* judged as inbound 192.0.2.9:40000 -> :80 (allowed), not as outbound to :40000 */
	assert_int_equal(r.verdict, JV_REPEAT);
	assert_true(r.rejudged);
	assert_int_equal(r.stage, STAGE_NORMAL);
	assert_int_equal(ruleset_meta(f->rs, r.rv.meta)->dir, DIR_INGRESS);
	assert_int_equal(r.mark & (f->ml.est | f->ml.reply), 0);
	assert_int_equal(r.mark & f->ml.gen_mask, 0x07000000u);

	/* reply of an inbound connection to port 22000 (denied inbound) */
	k = tcp("10.0.0.1", "192.0.2.9", 22000, 40000, 0, 2);
	judge_packet(f->rs, &f->ml, &f->jo, JHOOK_LOCAL_OUT, mark, &k, &r);
	assert_int_equal(r.verdict, JV_DROP);

	/* reply of an outbound connection to port 25 (denied egress), seen at INPUT */
	k = tcp("198.51.100.1", "10.0.0.1", 25, 50000, 2, 0);
	judge_packet(f->rs, &f->ml, &f->jo, JHOOK_LOCAL_IN, mark, &k, &r);
	assert_int_equal(r.verdict, JV_DROP);
	assert_int_equal(ruleset_meta(f->rs, r.rv.meta)->dir, DIR_EGRESS);
}

static void
test_prednat(void **state)
{
	struct fixture *f = *state;
	struct pkt_key k = tcp("192.0.2.9", "10.0.0.1", 40000, 30080, 2, 0);
	struct judge_result r;

	judge_packet(f->rs, &f->ml, &f->jo, JHOOK_PRE_ROUTING, 0, &k, &r);
	assert_int_equal(r.verdict, JV_REPEAT);
	assert_int_equal(r.mark, f->ml.prednat);
	assert_int_equal(r.stage, STAGE_PREDNAT);
	/* INPUT then takes the preDNAT Allow as final */
	judge_packet(f->rs, &f->ml, &f->jo, JHOOK_LOCAL_IN, f->ml.prednat, &k, &r);
	assert_int_equal(r.verdict, JV_REPEAT);
	/* denied before the DNAT */
	k = tcp("203.0.113.1", "10.0.0.1", 40000, 30081, 2, 0);
	judge_packet(f->rs, &f->ml, &f->jo, JHOOK_PRE_ROUTING, 0, &k, &r);
	assert_int_equal(r.verdict, JV_DROP);
	/* no preDNAT verdict: accepted, unmarked, for INPUT to judge */
	k = tcp("203.0.113.1", "10.0.0.1", 40000, 80, 2, 0);
	judge_packet(f->rs, &f->ml, &f->jo, JHOOK_PRE_ROUTING, 0, &k, &r);
	assert_int_equal(r.verdict, JV_ACCEPT);
	/* replies are left to INPUT/FORWARD */
	judge_packet(f->rs, &f->ml, &f->jo, JHOOK_PRE_ROUTING, f->ml.est | f->ml.reply, &k, &r);
	assert_int_equal(r.verdict, JV_ACCEPT);
}

static void
test_loopback_output_leaves_connmark_to_input(void **state)
{
	struct fixture *f = *state;
	struct pkt_key k = tcp("127.0.0.1", "127.0.0.1", 40000, 80, 0, 1);
	struct judge_result r;

	judge_packet(f->rs, &f->ml, &f->jo, JHOOK_LOCAL_OUT, 0, &k, &r);
	assert_int_equal(r.verdict, JV_ACCEPT);	/* INPUT must judge the ingress side */
	k = tcp("127.0.0.1", "127.0.0.1", 40000, 25, 0, 1);
	judge_packet(f->rs, &f->ml, &f->jo, JHOOK_LOCAL_OUT, 0, &k, &r);
	assert_int_equal(r.verdict, JV_DROP);
}

static void
test_forward_and_untracked(void **state)
{
	struct fixture *f = *state;
	struct pkt_key k = tcp("192.0.2.9", "198.51.100.5", 40000, 80, 2, 2);
	struct judge_result r;

	/* applyOnForward via the preDNAT policy: forward ingress has it (no rule matches -> end of tier) */
	judge_packet(f->rs, &f->ml, &f->jo, JHOOK_FORWARD, 0, &k, &r);
	assert_int_equal(r.verdict, JV_REPEAT);	/* preDNAT policies are not forward policies */
	/* the raw stage: no doNotTrack policy: continue marked U|P */
	judge_packet(f->rs, &f->ml, &f->jo, JHOOK_PRE_ROUTING, f->ml.raw, &k, &r);
	assert_int_equal(r.verdict, JV_REPEAT);
	assert_int_equal(r.mark, f->ml.raw | f->ml.prednat);
}

/* Log hit @i is rule 0 of policy @name, in direction @dir. */
static void
assert_log(const struct fixture *f, const struct judge_result *r, uint32_t i, const char *name,
	   enum dir dir)
{
	const struct rs_meta *m;

	assert_true(i < r->rv.nlog);
	assert_true(r->rv.log[i] < ruleset_nmeta(f->rs));
	m = ruleset_meta(f->rs, r->rv.log[i]);
	assert_string_equal(ruleset_str(f->rs, m->policy), name);
	assert_int_equal(m->dir, dir);
	assert_int_equal(m->rule, 0);
}

/* A forwarded packet meets Log rules at forward ingress and egress: both hits kept. */
static void
test_forward_keeps_every_log_hit(void **state)
{
	struct fixture *f = *state;
	struct pkt_key k = tcp("192.0.2.9", "198.51.100.5", 40000, 80, 2, 2);
	struct judge_result r;

	memset(&r, 0xa5, sizeof(r));
	judge_packet(f->rs, &f->ml, &f->jo, JHOOK_FORWARD, 0, &k, &r);
	assert_int_equal(r.verdict, JV_REPEAT);
	assert_true(r.logged);
	assert_int_equal(r.rv.nlog, 2);
	assert_log(f, &r, 0, "fwd", DIR_INGRESS);
	assert_log(f, &r, 1, "fwd", DIR_EGRESS);
	assert_int_equal(r.stage, STAGE_FORWARD);
}

/* A reply judged again as its original direction: the preDNAT Log, then the normal one. */
static void
test_rejudged_reply_keeps_every_log_hit(void **state)
{
	struct fixture *f = *state;
	struct pkt_key k = tcp("10.0.0.1", "192.0.2.9", 80, 40000, 0, 2);
	struct judge_result r;

	memset(&r, 0x5a, sizeof(r));
	judge_packet(f->rs, &f->ml, &f->jo, JHOOK_LOCAL_OUT, f->ml.est | f->ml.reply, &k, &r);
	assert_int_equal(r.verdict, JV_REPEAT);
	assert_int_equal(r.rv.nlog, 2);
	assert_log(f, &r, 0, "pre", DIR_INGRESS);
	assert_log(f, &r, 1, "fwd", DIR_INGRESS);
}

/*
 * A packet whose L4 header could not be read is dropped, whatever a rule
 * without ports would say: egress allows everything but TCP port 25, and a
 * packet to port 25 whose ports were cut off must not pass as "no port".
 */
static void
test_unreadable_is_dropped(void **state)
{
	struct fixture *f = *state;
	static const uint8_t bad[] = { PKT_F_TRUNC, PKT_F_MALFORMED, PKT_F_TRUNC | PKT_F_FRAG };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct pkt_key k = tcp("10.0.0.1", "198.51.100.1", 40000, 0, 0, 2);
		struct judge_result r;

		k.flags = bad[i];
		judge_packet(f->rs, &f->ml, &f->jo, JHOOK_LOCAL_OUT, 0, &k, &r);
		assert_int_equal(r.verdict, JV_DROP);
		assert_int_equal(r.rv.reason, REASON_UNREADABLE);
		assert_int_equal(r.rv.meta, RS_NO_META);
		assert_int_equal(r.stage, STAGE_NORMAL);
		assert_true(r.logged);
		/* the same key with its ports read is allowed */
		k = tcp("10.0.0.1", "198.51.100.1", 40000, 443, 0, 2);
		judge_packet(f->rs, &f->ml, &f->jo, JHOOK_LOCAL_OUT, 0, &k, &r);
		assert_int_equal(r.verdict, JV_REPEAT);
	}
	/* at the raw stage too */
	{
		struct pkt_key k = tcp("192.0.2.9", "10.0.0.1", 40000, 0, 2, 0);
		struct judge_result r;

		k.flags = PKT_F_TRUNC;
		judge_packet(f->rs, &f->ml, &f->jo, JHOOK_PRE_ROUTING, f->ml.raw, &k, &r);
		assert_int_equal(r.verdict, JV_DROP);
		assert_int_equal(r.stage, STAGE_UNTRACKED);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mark_layout),
		cmocka_unit_test_setup_teardown(test_input_allow_marks_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_deny_and_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_accepts_would_deny, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_is_judged_as_original, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prednat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback_output_leaves_connmark_to_input, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_forward_and_untracked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_keeps_every_log_hit, setup_logs, teardown),
		cmocka_unit_test_setup_teardown(test_rejudged_reply_keeps_every_log_hit, setup_logs,
						teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_is_dropped, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
