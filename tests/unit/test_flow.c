/*
 * test_flow.c - unit tests for control/compile/flow.c: the packet as
 * `nfqwall explain` takes it in one argument. Every form people write
 * parses to the right fields; every malformed one is refused with a reason
 * and never read past its end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "flow.h"

static void
parse_ok(const char *text, struct flow *f)
{
	char why[200] = "";

	if (flow_parse(text, f, why, sizeof(why)) != 0)
		fail_msg("'%s' refused: %s", text, why);
}

/* @text is refused, and the reason holds @part. */
static void
parse_bad(const char *text, const char *part)
{
	struct flow f;
	char why[200] = "";

	assert_int_equal(flow_parse(text, &f, why, sizeof(why)), -EINVAL);
	if (strstr(why, part) == NULL)
		fail_msg("'%s': reason '%s' does not say '%s'", text, why, part);
}

static void
assert_addr(const struct addr *a, uint8_t family, const char *want)
{
	char buf[ADDR_STRLEN];

	assert_string_equal(addr_format(a, family, buf), want);
}

static void
test_forms(void **state)
{
	struct flow f;

	(void)state;
	parse_ok("tcp 203.0.113.7:40000 -> 192.168.130.10:30080", &f);
	assert_int_equal(f.proto, IPPROTO_TCP);
	assert_int_equal(f.family, AF_INET);
	assert_addr(&f.src, AF_INET, "203.0.113.7");
	assert_addr(&f.dst, AF_INET, "192.168.130.10");
	assert_true(f.has_sport && f.has_dport);
	assert_int_equal(f.sport, 40000);
	assert_int_equal(f.dport, 30080);

	/* no blanks around the arrow, blanks and tabs elsewhere, any case */
	parse_ok("  UDP\t10.0.0.1->10.0.0.2:53 ", &f);
	assert_int_equal(f.proto, IPPROTO_UDP);
	assert_false(f.has_sport);
	assert_int_equal(f.dport, 53);

	parse_ok("udp [2001:db8::1]:5353 -> [2001:db8::2]:53", &f);
	assert_int_equal(f.family, AF_INET6);
	assert_addr(&f.src, AF_INET6, "2001:db8::1");
	assert_int_equal(f.sport, 5353);
	assert_int_equal(f.dport, 53);

	parse_ok("icmp 203.0.113.7 -> 192.168.130.10", &f);
	assert_int_equal(f.proto, IPPROTO_ICMP);
	assert_false(f.has_icmp_type || f.has_icmp_code || f.has_sport || f.has_dport);
	parse_ok("icmp 203.0.113.7 -> 192.168.130.10 type 3 code 4", &f);
	assert_true(f.has_icmp_type && f.has_icmp_code);
	assert_int_equal(f.icmp_type, 3);
	assert_int_equal(f.icmp_code, 4);
	parse_ok("icmpv6 2001:db8::1 -> [2001:db8::2] type 128", &f);
	assert_int_equal(f.proto, IPPROTO_ICMPV6);
	assert_true(f.has_icmp_type && !f.has_icmp_code);

	parse_ok("sctp 10.0.0.1:5000 -> 10.0.0.2:38412", &f);
	assert_int_equal(f.proto, IPPROTO_SCTP);
	parse_ok("47 10.0.0.1 -> 10.0.0.2", &f);
	assert_int_equal(f.proto, 47);
	parse_ok("tcp 10.0.0.1:0 -> 10.0.0.2:65535", &f);
	assert_int_equal(f.dport, 65535);
}

static void
test_malformed(void **state)
{
	char huge[4096];

	(void)state;
	parse_bad("tcp 10.0.0.1:1 10.0.0.2:2", "one '->'");
	parse_bad("tcp 10.0.0.1:1 -> 10.0.0.2:2 -> 10.0.0.3:3", "one '->'");
	parse_bad("10.0.0.1:1 -> 10.0.0.2:2", "PROTO SRC[:PORT] -> DST[:PORT]");
	parse_bad("tcp 10.0.0.1:1 ->", "PROTO SRC[:PORT] -> DST[:PORT]");
	parse_bad("->", "PROTO SRC[:PORT] -> DST[:PORT]");
	parse_bad("", "one '->'");
	parse_bad("tcpx 10.0.0.1:1 -> 10.0.0.2:2", "'tcpx' is not a protocol");
	parse_bad("256 10.0.0.1 -> 10.0.0.2", "is not a protocol");
	parse_bad("tcp 10.0.0.1:1 -> 10.0.0.2", "tcp needs a destination port");
	parse_bad("tcp 10.0.0.1:1 -> 10.0.0.2:65536", "port '65536' is not 0..65535");
	parse_bad("tcp 10.0.0.1:-1 -> 10.0.0.2:80", "port '-1'");
	parse_bad("tcp 10.0.0.1: -> 10.0.0.2:80", "port ''");
	parse_bad("tcp 10.0.0.1:1 -> 10.0.0.2:080000", "is not 0..65535");
	parse_bad("tcp 10.0.0.300:1 -> 10.0.0.2:80", "'10.0.0.300' is not an IP address");
	parse_bad("tcp [2001:db8::1:1 -> [::1]:80", "no ']'");
	parse_bad("tcp [2001:db8::1]x -> [::1]:80", "only ':PORT' may follow");
	parse_bad("tcp 10.0.0.1:1 -> [2001:db8::1]:80", "one IP version");
	parse_bad("tcp 2001:db8::1:443 -> 10.0.0.1:80", "written in brackets");
	parse_bad("tcp [2001:db8::1]:1 -> 2001:db8::2:443", "written in brackets");
	parse_bad("icmp 10.0.0.1:1 -> 10.0.0.2", "icmp has no ports");
	parse_bad("icmp [2001:db8::1] -> [2001:db8::2]", "write icmpv6");
	parse_bad("icmpv6 10.0.0.1 -> 10.0.0.2", "write icmp");
	parse_bad("icmp 10.0.0.1 -> 10.0.0.2 type", "'type N' or 'type N code N'");
	parse_bad("icmp 10.0.0.1 -> 10.0.0.2 code 1", "'type N' or 'type N code N'");
	parse_bad("icmp 10.0.0.1 -> 10.0.0.2 type 256", "ICMP type '256'");
	parse_bad("icmp 10.0.0.1 -> 10.0.0.2 type 1 code x", "ICMP code 'x'");
	parse_bad("gre 10.0.0.1:1 -> 10.0.0.2", "gre has no ports");
	parse_bad("udp 10.0.0.1:1 -> 10.0.0.2:53 extra", "'extra' after the destination");
	parse_bad("tcp 10.0.0.1:1 -> 10.0.0.2:80 a b c d e f g", "PROTO SRC");

	/* bounded: a long argument is refused, whatever it holds */
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	memcpy(huge, "tcp 1.2.3.4:1 -> ", 17);
	parse_bad(huge, "longer than 255 bytes");
}

/* A reason never overflows a small buffer. */
static void
test_small_why(void **state)
{
	struct flow f;
	char why[8];

	(void)state;
	memset(why, 'x', sizeof(why));
	assert_int_equal(flow_parse("tcpx 1.2.3.4:1 -> 5.6.7.8:2", &f, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(why[sizeof(why) - 1], '\0');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_small_why),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
