/*
 * test_fwrules.c - the iptables-restore text nfqwall writes (control/daemon/fwrules.c):
 * chain order, marks, failsafes, INVALID drop only on claimed interfaces,
 * tables only when needed, and no policy text in the rules.
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

#include "fastpath.h"
#include "fwrules.h"
#include "hostenv.h"

static char *
render(const struct fw_config *c, int family)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	fwrules_render(c, family, f);
	fclose(f);
	return text;
}

static void
base_config(struct fw_config *c, struct failsafe_list *in, struct failsafe_list *out)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(mark_layout_init(&c->ml, 0xfff80000u), 0);
	c->gen = 5;
	c->queue_first = 100;
	c->queue_count = 2;
	c->invalid_drop = true;
	c->rejudge = true;
	assert_int_equal(failsafe_defaults(in, true), 0);
	assert_int_equal(failsafe_defaults(out, false), 0);
	c->fs_in = in;
	c->fs_out = out;
	c->claimed_all = true;
}

/* Position of @needle in @hay, or -1. */
static long
pos(const char *hay, const char *needle)
{
	size_t hn = strlen(hay), nn = strlen(needle);

	for (size_t i = 0; i + nn <= hn; i++)
		if (memcmp(hay + i, needle, nn) == 0)
			return (long)i;
	return -1;
}

static void
test_filter_chain_order(void **state)
{
	struct failsafe_list in, out;
	struct fw_config c;
	char *t;

	(void)state;
	base_config(&c, &in, &out);
	t = render(&c, AF_INET);
	/* returning verdicts first, then failsafes, fast path, conntrack, marks, queue */
	long save = pos(t, "-A NFQWALL-INPUT -m mark --mark 0x800000/0x800000 -j CONNMARK --save-mark "
			   "--nfmask 0xff000000 --ctmask 0xff000000");
	long fs = pos(t, "-A NFQWALL-INPUT -p tcp -m tcp --dport 22 -j NFQWALL-FAILSAFE");
	long fast = pos(t, "-A NFQWALL-INPUT -m connmark --mark 0x5000000/0xff000000 -j NFQWALL-ACCEPT");
	long fsflow = pos(t, "-A NFQWALL-INPUT -m connmark --mark 0xff000000/0xff000000 -j NFQWALL-ACCEPT");
	long inv = pos(t, "-A NFQWALL-INPUT ! -i cali+ -m conntrack --ctstate INVALID -j DROP");
	long est = pos(t, "-A NFQWALL-INPUT -m conntrack --ctstate ESTABLISHED -j MARK --or-mark "
			  "0x200000");
	long q = pos(t, "-A NFQWALL-INPUT -j NFQUEUE --queue-balance 100:101\n");

	/* the fast path first: most packets end there */
	assert_true(fast >= 0 && fsflow > fast && save > fsflow && fs > save && inv > fs &&
		    est > inv && q > est);
	assert_int_equal(pos(t, "-A NFQWALL-INPUT "), fast);
	assert_true(pos(t, "-A NFQWALL-FAILSAFE -j CONNMARK --set-xmark 0xff000000/0xff000000") >= 0);
	/* what leaves the filter table carries none of nfqwall's packet-mark bits */
	assert_true(pos(t, "-A NFQWALL-ACCEPT -j MARK --set-xmark 0x0/0xfff80000\n"
			   "-A NFQWALL-ACCEPT -j ACCEPT\n") >= 0);
	assert_int_equal(pos(t, "-A NFQWALL-INPUT -m mark --mark 0x800000/0x800000 -j ACCEPT"), -1);
	/* outbound failsafes match the destination port in OUTPUT */
	assert_true(pos(t, "-A NFQWALL-OUTPUT -p udp -m udp --dport 53 -j NFQWALL-FAILSAFE") >= 0);
	/* nothing the policy did not ask for */
	assert_int_equal(pos(t, "*raw"), -1);
	assert_int_equal(pos(t, "*mangle"), -1);
	assert_int_equal(pos(t, "-A NFQWALL-FORWARD"), -1);
	/* fail-closed: no bypass */
	assert_int_equal(pos(t, "--queue-bypass"), -1);
	free(t);
	failsafe_list_free(&in);
	failsafe_list_free(&out);
}

/* An SCTP failsafe entry (Calico accepts them) becomes an sctp match, not tcp. */
static void
test_sctp_failsafe(void **state)
{
	struct failsafe_list in, out;
	struct fw_config c;
	char why[80];
	char *t;

	(void)state;
	base_config(&c, &in, &out);
	failsafe_list_free(&in);
	assert_int_equal(failsafe_parse("tcp:22", &in, why, sizeof(why)), 0);
	in.v[0].proto = IPPROTO_SCTP;
	in.v[0].port = 3868;
	t = render(&c, AF_INET);
	assert_true(pos(t, "-A NFQWALL-INPUT -p sctp -m sctp --dport 3868 -j NFQWALL-FAILSAFE") >= 0);
	assert_int_equal(pos(t, "-p tcp -m tcp --dport 3868"), -1);
	free(t);
	failsafe_list_free(&in);
	failsafe_list_free(&out);
}

/* The flows of the last generation that a change spares: moved to this one in the kernel. */
static void
test_carry(void **state)
{
	struct failsafe_list in, out;
	static struct fw_carry carry[2];
	struct fw_config c;
	char *t4, *t6;
	long fast, jump0, jump1;

	(void)state;
	base_config(&c, &in, &out);
	t4 = render(&c, AF_INET);
	/* none by default: the chains exist, empty, and nothing jumps to them */
	assert_true(pos(t4, ":NFQWALL-CARRY0 - [0:0]") >= 0);
	assert_true(pos(t4, ":NFQWALL-CARRY3 - [0:0]") >= 0);
	assert_int_equal(pos(t4, "-A NFQWALL-CARRY"), -1);
	assert_int_equal(pos(t4, "-j NFQWALL-CARRY"), -1);
	free(t4);
	/* generation 4 changed to 5 at 10.1.2.3 and 2001:db8::/64; 3 to 4 at 10.9.9.9 */
	carry[0].gen = 4;
	carry[0].n = 2;
	assert_int_equal(cidr_parse("10.1.2.3/32", CIDR_STRICT, &carry[0].v[0]), 0);
	assert_int_equal(cidr_parse("2001:db8::/64", CIDR_STRICT, &carry[0].v[1]), 0);
	carry[1] = carry[0];
	carry[1].gen = 3;
	carry[1].n = 3;
	assert_int_equal(cidr_parse("10.9.9.9/32", CIDR_STRICT, &carry[1].v[2]), 0);
	c.carry = carry;
	c.ncarry = 2;
	t4 = render(&c, AF_INET);
	t6 = render(&c, AF_INET6);
	/* after the current generation's fast path, flows of generations 4 and 3 go to theirs */
	fast = pos(t4, "-A NFQWALL-INPUT -m connmark --mark 0x5000000/0xff000000 -j NFQWALL-ACCEPT");
	jump0 = pos(t4, "-A NFQWALL-INPUT -m connmark --mark 0x4000000/0xff000000 -j NFQWALL-CARRY0");
	jump1 = pos(t4, "-A NFQWALL-INPUT -m connmark --mark 0x3000000/0xff000000 -j NFQWALL-CARRY1");
	assert_true(fast >= 0 && jump0 > fast && jump1 > jump0);
	assert_true(pos(t4, "-A NFQWALL-OUTPUT -m connmark --mark 0x4000000/0xff000000 "
			    "-j NFQWALL-CARRY0") >= 0);
	/* the changed addresses, of this family, go back to be judged; the rest moves to 5 */
	assert_true(pos(t4, "-A NFQWALL-CARRY0 -s 10.1.2.3/32 -j RETURN\n"
			    "-A NFQWALL-CARRY0 -d 10.1.2.3/32 -j RETURN\n"
			    "-A NFQWALL-CARRY0 -j CONNMARK --set-xmark 0x5000000/0xff000000\n"
			    "-A NFQWALL-CARRY0 -j NFQWALL-ACCEPT\n") >= 0);
	assert_true(pos(t4, "-A NFQWALL-CARRY1 -s 10.9.9.9/32 -j RETURN\n") >= 0);
	assert_true(pos(t4, "-A NFQWALL-CARRY1 -j CONNMARK --set-xmark 0x5000000/0xff000000\n")
		    >= 0);
	assert_int_equal(pos(t4, "2001:db8::/64"), -1);
	assert_true(pos(t6, "-A NFQWALL-CARRY0 -s 2001:db8::/64 -j RETURN\n") >= 0);
	assert_int_equal(pos(t6, "10.1.2.3"), -1);
	/* the installed generation is still read from the fast-path rule */
	assert_int_equal(fastpath_installed_gen(t4, &c.ml), 5);
	free(t4);
	free(t6);
	failsafe_list_free(&in);
	failsafe_list_free(&out);
}

static void
test_options(void **state)
{
	struct failsafe_list in, out;
	struct fw_config c;
	const char *names[] = { "eth0", "bad name;", "lo" };
	char *t;

	(void)state;
	base_config(&c, &in, &out);
	c.fail_open = true;
	c.queue_count = 1;
	c.rejudge = false;
	c.prednat = true;
	c.forward = true;
	c.claimed_all = false;
	c.claimed = names;
	c.nclaimed = 3;
	t = render(&c, AF_INET6);
	assert_true(pos(t, "-j NFQUEUE --queue-num 100 --queue-bypass") >= 0);
	assert_true(pos(t, "-A NFQWALL-INPUT -m conntrack --ctstate ESTABLISHED -j NFQWALL-ACCEPT") >= 0);
	assert_true(pos(t, "*mangle") >= 0);
	assert_true(pos(t, "-A NFQWALL-PREROUTING -m mark --mark 0x400000/0x400000 -j ACCEPT") >= 0);
	assert_true(pos(t, "-A NFQWALL-PREROUTING -m conntrack --ctdir REPLY -j ACCEPT") >= 0);
	assert_true(pos(t, "-A NFQWALL-FORWARD -i eth0 -m conntrack --ctstate INVALID -j DROP") >= 0);
	assert_true(pos(t, "-A NFQWALL-FORWARD -o lo -m conntrack --ctstate INVALID -j DROP") >= 0);
	assert_true(pos(t, "-A NFQWALL-OUTPUT -o eth0 -m conntrack --ctstate INVALID -j DROP") >= 0);
	/* an interface name that is not safe to write into a rule is left out */
	assert_int_equal(pos(t, "bad name"), -1);
	free(t);
	failsafe_list_free(&in);
	failsafe_list_free(&out);
}

static void
test_failsafe_nets_per_family(void **state)
{
	struct failsafe_list in, out;
	struct fw_config c;
	char why[64], *t4, *t6;

	(void)state;
	base_config(&c, &in, &out);
	failsafe_list_free(&in);
	assert_int_equal(failsafe_parse("tcp:10.0.0.0/8:22,udp:[fd00::/8]:53", &in, why,
					sizeof(why)), 0);
	t4 = render(&c, AF_INET);
	t6 = render(&c, AF_INET6);
	assert_true(pos(t4, "-A NFQWALL-INPUT -p tcp -m tcp --dport 22 -s 10.0.0.0/8 -j NFQWALL-FAILSAFE") >= 0);
	assert_int_equal(pos(t4, "fd00::"), -1);
	assert_true(pos(t6, "-A NFQWALL-INPUT -p udp -m udp --dport 53 -s fd00::/8 -j NFQWALL-FAILSAFE") >= 0);
	assert_int_equal(pos(t6, "10.0.0.0"), -1);
	free(t4);
	free(t6);
	failsafe_list_free(&in);
	failsafe_list_free(&out);
}

static void
test_untracked(void **state)
{
	struct failsafe_list in, out;
	struct fw_config c;
	char *t;

	(void)state;
	base_config(&c, &in, &out);
	c.untracked = true;
	t = render(&c, AF_INET);
	assert_true(pos(t, "*raw") >= 0);
	assert_true(pos(t, "-A NFQWALL-RAW-PRE -m mark --mark 0x880000/0x880000 -j CT --notrack") >= 0);
	assert_true(pos(t, "-A NFQWALL-RAW-PRE -m mark --mark 0x4c0000/0x4c0000") < 0);
	assert_true(pos(t, "-A NFQWALL-RAW-PRE -m mark --mark 0x480000/0x480000 -j NFQWALL-RAW-CONT") >= 0);
	/* failsafe replies in the raw table: source port of the other list */
	assert_true(pos(t, "-A NFQWALL-RAW-PRE -p udp -m udp --sport 53 -j ACCEPT") >= 0);
	assert_true(pos(t, "-A NFQWALL-RAW-OUT -j MARK --or-mark 0x80000") >= 0);
	/* later tables accept what the untracked stage allowed */
	assert_true(pos(t, "-A NFQWALL-INPUT -m mark --mark 0x880000/0x880000 -j NFQWALL-ACCEPT") >= 0);
	free(t);
	failsafe_list_free(&in);
	failsafe_list_free(&out);
}

/* nfqwall's own port: accepted on lo, before the failsafes, in every table it queues from. */
static void
test_self_rules(void **state)
{
	struct failsafe_list in, out, self;
	struct fw_config c;
	char why[128], *t, *t6;

	(void)state;
	base_config(&c, &in, &out);
	assert_int_equal(hostenv_self_parse("0.0.0.0:9417", &self, why, sizeof(why)), 0);
	c.self = &self;
	c.untracked = c.prednat = true;
	t = render(&c, AF_INET);
	t6 = render(&c, AF_INET6);
	long s_in = pos(t, "-A NFQWALL-INPUT -i lo -s 127.0.0.0/8 -d 127.0.0.1/32 -p tcp -m tcp "
			   "--dport 9417 -j NFQWALL-FAILSAFE\n");
	long fs = pos(t, "-A NFQWALL-INPUT -p tcp -m tcp --dport 22 -j NFQWALL-FAILSAFE");

	assert_true(s_in >= 0 && fs > s_in);
	assert_true(pos(t, "-A NFQWALL-OUTPUT -o lo -s 127.0.0.0/8 -d 127.0.0.1/32 -p tcp -m tcp "
			   "--dport 9417 -j NFQWALL-FAILSAFE\n") >= 0);
	assert_true(pos(t, "-A NFQWALL-PREROUTING -i lo -s 127.0.0.0/8 -d 127.0.0.1/32 -p tcp -m tcp "
			   "--dport 9417 -j ACCEPT\n") >= 0);
	/* the raw table has no conntrack: the replies too */
	assert_true(pos(t, "-A NFQWALL-RAW-PRE -i lo -s 127.0.0.1/32 -d 127.0.0.0/8 -p tcp -m tcp "
			   "--sport 9417 -j ACCEPT\n") >= 0);
	assert_true(pos(t, "-A NFQWALL-RAW-OUT -o lo -s 127.0.0.0/8 -d 127.0.0.1/32 -p tcp -m tcp "
			   "--dport 9417 -j ACCEPT\n") >= 0);
	/* an IPv4 listener: nothing for IPv6 */
	assert_int_equal(pos(t6, "9417"), -1);
	free(t);
	free(t6);
	failsafe_list_free(&self);
	/* off: nothing at all */
	assert_int_equal(hostenv_self_parse("off", &self, why, sizeof(why)), 0);
	t = render(&c, AF_INET);
	assert_int_equal(pos(t, " lo "), -1);
	free(t);
	failsafe_list_free(&self);
	failsafe_list_free(&in);
	failsafe_list_free(&out);
}

/* The daemon's own API connections: their socket mark (P alone) makes them failsafe flows;
 * before the first table, only that is installed. */
static void
test_sockmark_and_bootstrap(void **state)
{
	struct failsafe_list in, out;
	struct fw_config c;
	char *t;

	(void)state;
	base_config(&c, &in, &out);
	assert_int_equal(mark_layout_init(&c.ml, 0x1fff), 0);
	c.self_sockmark = true;
	t = render(&c, AF_INET);
	assert_true(pos(t, "-A NFQWALL-OUTPUT -m mark --mark 0x8/0x1fff -j NFQWALL-FAILSAFE\n") >= 0);
	assert_int_equal(pos(t, "-A NFQWALL-INPUT -m mark --mark 0x8/0x1fff"), -1);
	free(t);
	c.bootstrap = true;
	c.prednat = c.untracked = true;	/* ignored: filter only */
	t = render(&c, AF_INET);
	assert_int_equal(pos(t, "*raw"), -1);
	assert_int_equal(pos(t, "*mangle"), -1);
	assert_true(pos(t, "-A NFQWALL-OUTPUT -m mark --mark 0x8/0x1fff -j NFQWALL-FAILSAFE\n") >= 0);
	assert_true(pos(t, "-A NFQWALL-INPUT -m connmark --mark 0x1fe0/0x1fe0 -j NFQWALL-ACCEPT\n") >= 0);
	/* nothing is queued, nothing dropped */
	assert_int_equal(pos(t, "NFQUEUE"), -1);
	assert_int_equal(pos(t, "DROP"), -1);
	free(t);
	failsafe_list_free(&in);
	failsafe_list_free(&out);
}

/* A restarted daemon reads the generation back from the installed fast-path rule. */
static void
test_installed_gen(void **state)
{
	struct failsafe_list in, out;
	struct fw_config c;
	char *t;

	(void)state;
	base_config(&c, &in, &out);
	c.gen = 203;
	t = render(&c, AF_INET);
	assert_int_equal(fastpath_installed_gen(t, &c.ml), 203);
	assert_int_equal(fastpath_installed_gen("*filter\nCOMMIT\n", &c.ml), 0);
	assert_int_equal(fastpath_installed_gen(NULL, &c.ml), 0);
	free(t);
	failsafe_list_free(&in);
	failsafe_list_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_chain_order),
		cmocka_unit_test(test_sctp_failsafe),
		cmocka_unit_test(test_carry),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_failsafe_nets_per_family),
		cmocka_unit_test(test_untracked),
		cmocka_unit_test(test_installed_gen),
		cmocka_unit_test(test_self_rules),
		cmocka_unit_test(test_sockmark_and_bootstrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
