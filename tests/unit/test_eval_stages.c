/*
 * test_eval_stages.c - scenario tests of the stages a packet meets, through
 * both engines (see test_eval.h): failsafe ports (docs/semantics.md §8),
 * preDNAT, doNotTrack and applyOnForward (§2), conntrack (§0.3), and
 * kube-proxy's DNAT between preDNAT and the normal or forward stage.
 */
#include "test_eval.h"

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
		cmocka_unit_test(test_failsafe_overrides_deny),
		cmocka_unit_test(test_failsafe_not_in_forward),
		cmocka_unit_test(test_prednat),
		cmocka_unit_test(test_prednat_no_default_deny),
		cmocka_unit_test(test_do_not_track),
		cmocka_unit_test(test_apply_on_forward),
		cmocka_unit_test(test_conntrack),
		cmocka_unit_test(test_conntrack_invalid_unpoliced),
		cmocka_unit_test(test_dnat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
