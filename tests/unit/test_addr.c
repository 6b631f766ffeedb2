/*
 * test_addr.c - unit tests for nfq/addr.c: address text round trips for
 * both families, strict and loose CIDR parsing (docs/semantics.md §6:
 * rule nets are strict, network-set nets loose, §5), prefix arithmetic at
 * every word boundary of the 128-bit representation, and increment and
 * decrement with wrap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

/* ---- helpers --------------------------------------------------------------- */

static struct addr
A(const char *s, uint8_t want_family)
{
	struct addr a;
	uint8_t fam = 0;

	if (addr_parse(s, &a, &fam) != 0)
		fail_msg("addr_parse(\"%s\") failed", s);
	assert_int_equal(fam, want_family);
	return a;
}

static struct cidr
C(const char *s, enum cidr_mode mode)
{
	struct cidr c;
	int err = cidr_parse(s, mode, &c);

	if (err != 0)
		fail_msg("cidr_parse(\"%s\") = %d", s, err);
	return c;
}

static void
assert_addr(const struct addr *a, uint64_t hi, uint64_t lo)
{
	if (a->hi != hi || a->lo != lo)
		fail_msg("addr %016llx:%016llx, wanted %016llx:%016llx",
			 (unsigned long long)a->hi, (unsigned long long)a->lo,
			 (unsigned long long)hi, (unsigned long long)lo);
}

static void
assert_fmt(const struct addr *a, uint8_t family, const char *want)
{
	char buf[ADDR_STRLEN];

	assert_string_equal(addr_format(a, family, buf), want);
}

static void
assert_cidr_fmt(const struct cidr *c, const char *want)
{
	char buf[CIDR_STRLEN];

	assert_string_equal(cidr_format(c, buf), want);
}

/* ---- addr_parse / addr_format ------------------------------------------------ */

static void
test_parse_v4(void **state)
{
	struct addr a;

	(void)state;
	a = A("10.1.2.3", AF_INET);
	assert_addr(&a, 0, 0x0a010203);
	a = A("0.0.0.0", AF_INET);
	assert_addr(&a, 0, 0);
	a = A("255.255.255.255", AF_INET);
	assert_addr(&a, 0, 0xffffffff);
	assert_fmt(&a, AF_INET, "255.255.255.255");
}

static void
test_parse_v6(void **state)
{
	struct addr a;

	(void)state;
	a = A("::", AF_INET6);
	assert_addr(&a, 0, 0);
	a = A("::1", AF_INET6);
	assert_addr(&a, 0, 1);
	a = A("2001:db8::1", AF_INET6);
	assert_addr(&a, 0x20010db800000000ull, 1);
	a = A("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6);
	assert_addr(&a, ~0ull, ~0ull);
	a = A("0:0:0:1::", AF_INET6);
	assert_addr(&a, 1, 0);
	a = A("::ffff:10.1.2.3", AF_INET6);
	assert_addr(&a, 0, 0x0000ffff0a010203ull);
}

static void
test_format_round_trip(void **state)
{
	static const struct {
		const char *in;
		uint8_t family;
		const char *out;
	} cases[] = {
		{ "10.1.2.3", AF_INET, "10.1.2.3" },
		{ "0.0.0.0", AF_INET, "0.0.0.0" },
		{ "127.0.0.1", AF_INET, "127.0.0.1" },
		{ "::", AF_INET6, "::" },
		{ "::1", AF_INET6, "::1" },
		{ "2001:DB8::1", AF_INET6, "2001:db8::1" },
		{ "2001:0db8:0000:0000:0000:0000:0000:0001", AF_INET6, "2001:db8::1" },
		{ "fe80::1:2", AF_INET6, "fe80::1:2" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6,
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
		{ "::ffff:1.2.3.4", AF_INET6, "::ffff:1.2.3.4" },
		{ "1:2:3:4:5:6:7:8", AF_INET6, "1:2:3:4:5:6:7:8" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct addr a = A(cases[i].in, cases[i].family), b;
		char buf[ADDR_STRLEN];
		uint8_t fam;

		assert_fmt(&a, cases[i].family, cases[i].out);
		/* and back again */
		assert_int_equal(addr_parse(addr_format(&a, cases[i].family, buf), &b, &fam), 0);
		assert_int_equal(fam, cases[i].family);
		assert_int_equal(addr_cmp(&a, &b), 0);
	}
}

static void
test_parse_errors(void **state)
{
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.5", "1.2.3.256", "1.2.3.4/8", " 1.2.3.4", "1.2.3.4 ",
		"a.b.c.d", "::g", "1:2:3:4:5:6:7:8:9", "1::2::3", "::1/128", "localhost", ":",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct addr a;
		uint8_t fam;

		if (addr_parse(bad[i], &a, &fam) != -EINVAL)
			fail_msg("addr_parse(\"%s\") accepted", bad[i]);
	}
}

static void
test_bytes_round_trip(void **state)
{
	static const uint8_t v4[4] = { 192, 168, 1, 200 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4,
					5, 6, 7, 8, 9, 10, 0xfe, 0xff };
	uint8_t out[16];
	struct addr a;

	(void)state;
	addr_from_bytes(&a, v4, AF_INET);
	assert_addr(&a, 0, 0xc0a801c8);
	addr_to_bytes(&a, AF_INET, out);
	assert_memory_equal(out, v4, 4);
	addr_from_bytes(&a, v6, AF_INET6);
	assert_addr(&a, 0x20010db801020304ull, 0x05060708090afeffull);
	addr_to_bytes(&a, AF_INET6, out);
	assert_memory_equal(out, v6, 16);
}

static void
test_cmp(void **state)
{
	struct addr a = A("::1", AF_INET6), b = A("0:0:0:1::", AF_INET6);

	(void)state;
	/* hi decides before lo */
	assert_int_equal(addr_cmp(&a, &b), -1);
	assert_int_equal(addr_cmp(&b, &a), 1);
	assert_int_equal(addr_cmp(&a, &a), 0);
	a = A("10.0.0.1", AF_INET);
	b = A("10.0.0.2", AF_INET);
	assert_int_equal(addr_cmp(&a, &b), -1);
}

/* ---- cidr_parse ----------------------------------------------------------------- */

static void
test_cidr_strict_ok(void **state)
{
	struct cidr c;

	(void)state;
	c = C("10.0.0.0/8", CIDR_STRICT);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.plen, 8);
	assert_addr(&c.addr, 0, 0x0a000000);
	assert_cidr_fmt(&c, "10.0.0.0/8");
	c = C("0.0.0.0/0", CIDR_STRICT);
	assert_int_equal(c.plen, 0);
	assert_cidr_fmt(&c, "0.0.0.0/0");
	c = C("1.2.3.4/32", CIDR_STRICT);
	assert_int_equal(c.plen, 32);
	assert_cidr_fmt(&c, "1.2.3.4/32");
	c = C("::/0", CIDR_STRICT);
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(c.plen, 0);
	assert_cidr_fmt(&c, "::/0");
	c = C("2001:db8::1/128", CIDR_STRICT);
	assert_int_equal(c.plen, 128);
	assert_cidr_fmt(&c, "2001:db8::1/128");
	c = C("2001:db8::/32", CIDR_STRICT);
	assert_cidr_fmt(&c, "2001:db8::/32");
	c = C("2001:db8:0:1::/64", CIDR_STRICT);
	assert_addr(&c.addr, 0x20010db800000001ull, 0);
}

static void
test_cidr_bare_ip(void **state)
{
	struct cidr c;

	(void)state;
	/* a rule net needs a prefix length (§1.7) */
	assert_int_equal(cidr_parse("10.0.0.1", CIDR_STRICT, &c), -ENOENT);
	assert_int_equal(cidr_parse("fd00::1", CIDR_STRICT, &c), -ENOENT);
	/* a network-set net is /32 or /128 (§5) */
	c = C("10.0.0.1", CIDR_LOOSE);
	assert_int_equal(c.plen, 32);
	assert_cidr_fmt(&c, "10.0.0.1/32");
	c = C("fd00::1", CIDR_LOOSE);
	assert_int_equal(c.plen, 128);
	assert_cidr_fmt(&c, "fd00::1/128");
}

static void
test_cidr_host_bits(void **state)
{
	struct cidr c;

	(void)state;
	/* strict: host bits set is -EDOM (§1.7: 10.0.0.1/8 is invalid) */
	assert_int_equal(cidr_parse("10.0.0.1/8", CIDR_STRICT, &c), -EDOM);
	assert_int_equal(cidr_parse("1.0.0.0/0", CIDR_STRICT, &c), -EDOM);
	assert_int_equal(cidr_parse("10.0.0.129/25", CIDR_STRICT, &c), -EDOM);
	assert_int_equal(cidr_parse("2001:db8::1/64", CIDR_STRICT, &c), -EDOM);
	assert_int_equal(cidr_parse("2001:db8:0:1::/63", CIDR_STRICT, &c), -EDOM);
	assert_int_equal(cidr_parse("::1/0", CIDR_STRICT, &c), -EDOM);
	assert_int_equal(cidr_parse("0:0:0:0:8000::/64", CIDR_STRICT, &c), -EDOM);
	/* loose: cleared */
	c = C("10.0.0.1/8", CIDR_LOOSE);
	assert_cidr_fmt(&c, "10.0.0.0/8");
	c = C("255.255.255.255/0", CIDR_LOOSE);
	assert_cidr_fmt(&c, "0.0.0.0/0");
	c = C("2001:db8::1/64", CIDR_LOOSE);
	assert_cidr_fmt(&c, "2001:db8::/64");
	c = C("2001:db8:0:1::/63", CIDR_LOOSE);
	assert_cidr_fmt(&c, "2001:db8::/63");
	c = C("2001:db8::ffff/65", CIDR_LOOSE);
	assert_cidr_fmt(&c, "2001:db8::/65");
	c = C("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/1", CIDR_LOOSE);
	assert_cidr_fmt(&c, "8000::/1");
}

static void
test_cidr_syntax_errors(void **state)
{
	static const char *const bad[] = {
		"1.2.3.4/33", "1.2.3.4/", "10.0.0.0/08", "10.0.0.0/00", "::/129", "::/0128",
		"1.2.3.4/-1", "1.2.3.4/+8", "1.2.3.4/ 8", "1.2.3.4/8 ", "1.2.3.4/8/8", "1.2.3.4/8x",
		"1.2.3.4/99999999999999999999", "/8", "", "10.0.0/8", "hello/8", "1.2.3.4//8",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cidr c;
		int strict = cidr_parse(bad[i], CIDR_STRICT, &c);
		int loose = cidr_parse(bad[i], CIDR_LOOSE, &c);

		if (strict != -EINVAL || loose != -EINVAL)
			fail_msg("cidr_parse(\"%s\") = %d strict, %d loose, wanted -EINVAL", bad[i],
				 strict, loose);
	}
}

static void
test_cidr_long_input(void **state)
{
	char buf[200];
	struct cidr c;

	(void)state;
	memset(buf, '1', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	assert_int_equal(cidr_parse(buf, CIDR_LOOSE, &c), -EINVAL);
	buf[100] = '/';
	assert_int_equal(cidr_parse(buf, CIDR_LOOSE, &c), -EINVAL);
}

/* ---- prefix arithmetic ------------------------------------------------------------------ */

static void
test_cidr_last(void **state)
{
	static const struct {
		const char *cidr;
		const char *last;
	} cases[] = {
		{ "10.0.0.0/8", "10.255.255.255" },
		{ "0.0.0.0/0", "255.255.255.255" },
		{ "1.2.3.4/32", "1.2.3.4" },
		{ "192.168.1.128/25", "192.168.1.255" },
		{ "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
		{ "::/1", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
		{ "2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff" },
		{ "2001:db8::/63", "2001:db8:0:1:ffff:ffff:ffff:ffff" },
		{ "2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff" },
		{ "2001:db8::/65", "2001:db8::7fff:ffff:ffff:ffff" },
		{ "2001:db8::/127", "2001:db8::1" },
		{ "2001:db8::5/128", "2001:db8::5" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cidr c = C(cases[i].cidr, CIDR_STRICT);
		struct addr last = cidr_last(&c);

		assert_fmt(&last, c.family, cases[i].last);
	}
}

static void
test_cidr_contains(void **state)
{
	struct cidr c = C("10.0.0.0/8", CIDR_STRICT);
	struct addr a;

	(void)state;
	a = A("10.0.0.0", AF_INET);
	assert_true(cidr_contains(&c, &a));
	a = A("10.255.255.255", AF_INET);
	assert_true(cidr_contains(&c, &a));
	a = A("9.255.255.255", AF_INET);
	assert_false(cidr_contains(&c, &a));
	a = A("11.0.0.0", AF_INET);
	assert_false(cidr_contains(&c, &a));

	c = C("0.0.0.0/0", CIDR_STRICT);
	a = A("255.255.255.255", AF_INET);
	assert_true(cidr_contains(&c, &a));

	c = C("2001:db8:0:1::/64", CIDR_STRICT);
	a = A("2001:db8:0:1::", AF_INET6);
	assert_true(cidr_contains(&c, &a));
	a = A("2001:db8:0:1:ffff:ffff:ffff:ffff", AF_INET6);
	assert_true(cidr_contains(&c, &a));
	a = A("2001:db8:0:0:ffff:ffff:ffff:ffff", AF_INET6);
	assert_false(cidr_contains(&c, &a));
	a = A("2001:db8:0:2::", AF_INET6);
	assert_false(cidr_contains(&c, &a));

	c = C("::/0", CIDR_STRICT);
	a = A("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6);
	assert_true(cidr_contains(&c, &a));
	a = A("::", AF_INET6);
	assert_true(cidr_contains(&c, &a));

	c = C("::1/128", CIDR_STRICT);
	a = A("::1", AF_INET6);
	assert_true(cidr_contains(&c, &a));
	a = A("::2", AF_INET6);
	assert_false(cidr_contains(&c, &a));
	a = A("::", AF_INET6);
	assert_false(cidr_contains(&c, &a));
}

static void
test_addr_max(void **state)
{
	struct addr m;

	(void)state;
	m = addr_max(AF_INET);
	assert_addr(&m, 0, 0xffffffff);
	m = addr_max(AF_INET6);
	assert_addr(&m, ~0ull, ~0ull);
	assert_int_equal(addr_bits(AF_INET), 32);
	assert_int_equal(addr_bits(AF_INET6), 128);
}

static void
test_inc_dec(void **state)
{
	struct addr a;

	(void)state;
	a = A("10.0.0.255", AF_INET);
	assert_true(addr_inc(&a, AF_INET));
	assert_fmt(&a, AF_INET, "10.0.1.0");
	assert_true(addr_dec(&a));
	assert_fmt(&a, AF_INET, "10.0.0.255");

	/* the top of each family does not wrap */
	a = A("255.255.255.255", AF_INET);
	assert_false(addr_inc(&a, AF_INET));
	assert_fmt(&a, AF_INET, "255.255.255.255");
	a = A("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6);
	assert_false(addr_inc(&a, AF_INET6));
	assert_addr(&a, ~0ull, ~0ull);
	/* ... but 255.255.255.255 is not the top of IPv6 */
	a = A("::ffff:ffff", AF_INET6);
	assert_true(addr_inc(&a, AF_INET6));
	assert_fmt(&a, AF_INET6, "::1:0:0");

	/* carry from lo into hi, and borrow back */
	a = A("::ffff:ffff:ffff:ffff", AF_INET6);
	assert_true(addr_inc(&a, AF_INET6));
	assert_addr(&a, 1, 0);
	assert_fmt(&a, AF_INET6, "0:0:0:1::");
	assert_true(addr_dec(&a));
	assert_addr(&a, 0, ~0ull);

	/* zero does not wrap down */
	a = A("0.0.0.0", AF_INET);
	assert_false(addr_dec(&a));
	assert_addr(&a, 0, 0);
	a = A("::", AF_INET6);
	assert_false(addr_dec(&a));
	assert_addr(&a, 0, 0);
	a = A("::1", AF_INET6);
	assert_true(addr_dec(&a));
	assert_addr(&a, 0, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4),
		cmocka_unit_test(test_parse_v6),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_bytes_round_trip),
		cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_cidr_strict_ok),
		cmocka_unit_test(test_cidr_bare_ip),
		cmocka_unit_test(test_cidr_host_bits),
		cmocka_unit_test(test_cidr_syntax_errors),
		cmocka_unit_test(test_cidr_long_input),
		cmocka_unit_test(test_cidr_last),
		cmocka_unit_test(test_cidr_contains),
		cmocka_unit_test(test_addr_max),
		cmocka_unit_test(test_inc_dec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
