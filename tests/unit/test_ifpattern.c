/*
 * test_ifpattern.c - Go regular expressions over interface names
 * (control/policy/ifpattern.c): what matches as Go's regexp.MatchString
 * would say, what Go's regexp.Compile refuses (-EINVAL), what nfqwall does
 * not match (-ENOTSUP), and patterns that make glibc's regcomp explode,
 * which must compile and match here like any other.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "ifpattern.h"

static bool
m(const char *re, const char *name)
{
	struct ifpattern *p;
	char why[200];
	bool r;

	if (ifpattern_compile(re, &p, why, sizeof(why)) != 0)
		fail_msg("'%s' does not compile: %s", re, why);
	r = ifpattern_match(p, name);
	ifpattern_free(p);
	return r;
}

static void
test_match(void **state)
{
	static const struct {
		const char *re, *name;
		bool want;
	} cases[] = {
		{ "eth", "eth0", true }, { "eth", "veth1", true }, { "^eth", "veth1", false },
		{ "^eth\\d+$", "eth0", true }, { "^eth\\d+$", "eth0.1", false },
		{ "^eth[0-9]+$", "eth12", true }, { "", "anything", true }, { "^$", "", true },
		{ "^$", "x", false }, { "a|b", "xbx", true }, { "^(a|b)$", "ab", false },
		{ "^(?:ab)+$", "ababab", true }, { "^(?:ab)+$", "aba", false },
		{ "^a{2}$", "aa", true }, { "^a{2}$", "aaa", false }, { "^a{2,}$", "aaaaa", true },
		{ "^a{2,3}$", "aaaa", false }, { "^a{0}b$", "b", true }, { "a{,2}", "a{,2}", true },
		{ "a{,2}", "aa", false }, { "x{1,x}", "x{1,x}", true }, { "{", "{", true },
		{ "^a{1000}$", "a", false }, { "^(a*){1000}$", "aaa", true },
		{ "^(a?){1000}b$", "aab", true }, { "^(?i)ETH0$", "eth0", true },
		{ "^(?i:E)th0$", "eth0", true }, { "^(?i:E)TH0$", "eth0", false },
		{ "(?i)[A-C]x", "bX", true }, { "^[^a-z]", "Eth", true }, { "^[^a-z]", "eth", false },
		{ "[]a]", "]", true }, { "[^]a]", "a", false }, { "[a-]", "-", true },
		{ "^[[:alpha:]]+[[:digit:]]$", "eth0", true }, { "[[:^alpha:]]", "eth", false },
		{ "\\beth", "veth", false }, { "\\beth", "eth0", true }, { "h\\B0", "eth0", true },
		{ "\\Aeth0\\z", "eth0", true }, { "\\.", "vxlan.calico", true }, { "\\.", "eth0", false },
		{ "\\Q.*\\E", "a.*b", true }, { "\\Q.*\\E", "ab", false }, { "\\x65th", "eth0", true },
		{ "\\x{65}th", "eth0", true }, { "\\145th", "eth0", true }, { "\\0145", "e5", false },
		{ "^\\w+$", "eth_0", true }, { "^\\w+$", "eth-0", false }, { "\\s", "a b", true },
		{ "\\S+", "   ", false }, { "[\\d.]+", "1.2", true }, { "^(?P<dev>eth)(?<n>\\d)$", "eth1", true },
		{ "\\<eth", "eth0", false }, { "\\<eth", "<eth0", true }, { "c.*?o", "calico", true },
		{ "a+?", "a", true }, { "(?s).", "\n", true }, { ".", "\n", false },
		{ "^(a|ab)(c|bcd)(d*)$", "abcd", true }, { "^$|x", "", true },
		{ "^.{15}$", "fifteen-chars-x", true }, { "^.{16}$", "fifteen-chars-x", false },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (m(cases[i].re, cases[i].name) != cases[i].want)
			fail_msg("'%s' on '%s': want %s", cases[i].re, cases[i].name,
				 cases[i].want ? "match" : "no match");
}

static void
test_refused(void **state)
{
	static const struct {
		const char *re;
		int err;
	} cases[] = {
		{ "*a", -EINVAL }, { "a**", -EINVAL }, { "a*+", -EINVAL }, { "a{2}{3}", -EINVAL },
		{ "(a", -EINVAL }, { "a)", -EINVAL }, { "[a", -EINVAL }, { "[z-a]", -EINVAL },
		{ "a{1001}", -EINVAL }, { "a{3,2}", -EINVAL }, { "\\q", -EINVAL }, { "\\1", -EINVAL },
		{ "a\\", -EINVAL }, { "(?x)a", -EINVAL }, { "(?P<>a)", -EINVAL }, { "\\xZZ", -EINVAL },
		{ "{2}", -EINVAL }, { "[[:foo:]]", -EINVAL }, { "[\\b]", -EINVAL },
		{ "\\pL", -ENOTSUP }, { "\\p{Greek}", -ENOTSUP }, { "\\PL", -ENOTSUP },
		{ "\xc3\xa9", -ENOTSUP },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ifpattern *p = NULL;
		char why[200] = "";
		int err = ifpattern_compile(cases[i].re, &p, why, sizeof(why));

		if (err != cases[i].err)
			fail_msg("'%s': got %d (%s), want %d", cases[i].re, err, why, cases[i].err);
		assert_null(p);
		assert_true(why[0] != '\0');
	}
}

/* What makes glibc's regcomp crash or take gigabytes is an ordinary pattern here. */
static void
test_hostile(void **state)
{
	char re[IFPATTERN_MAX_TEXT + 2];
	struct ifpattern *p;
	char why[200];
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(re + n, sizeof(re) - n, "(((");
	for (int i = 0; i < 74; i++)
		n += (size_t)snprintf(re + n, sizeof(re) - n, "%sa?", i ? "|" : "");
	snprintf(re + n, sizeof(re) - n, "){0,10}){0,10}){0,1000}b");
	assert_int_equal(ifpattern_compile(re, &p, why, sizeof(why)), 0);
	assert_true(ifpattern_match(p, "aaaaaaaaaaaaaab"));
	assert_false(ifpattern_match(p, "aaaaaaaaaaaaaaa"));
	ifpattern_free(p);
	/* nested groups as deep as allowed, and one more */
	memset(re, 0, sizeof(re));
	for (int i = 0; i < IFPATTERN_MAX_DEPTH; i++)
		re[i] = '(', re[2 * IFPATTERN_MAX_DEPTH + 1 - i] = ')';
	re[IFPATTERN_MAX_DEPTH] = 'a';
	re[IFPATTERN_MAX_DEPTH + 1] = '*';
	assert_int_equal(ifpattern_compile(re, &p, why, sizeof(why)), 0);
	assert_true(ifpattern_match(p, "aaa"));
	ifpattern_free(p);
	n = strlen(re);
	memmove(re + 1, re, n);
	re[0] = '(';
	re[n + 1] = ')';
	re[n + 2] = '\0';
	assert_int_equal(ifpattern_compile(re, &p, why, sizeof(why)), -ENOTSUP);
	/* too many pieces */
	memset(re, 'a', IFPATTERN_MAX_TEXT);
	re[IFPATTERN_MAX_TEXT] = '\0';
	assert_int_equal(ifpattern_compile(re, &p, why, sizeof(why)), -ENOTSUP);
	re[IFPATTERN_MAX_TEXT] = 'a';
	re[IFPATTERN_MAX_TEXT + 1] = '\0';
	assert_int_equal(ifpattern_compile(re, &p, why, sizeof(why)), -ENOTSUP);
	/* a name longer than any interface's never matches */
	assert_int_equal(ifpattern_compile("", &p, why, sizeof(why)), 0);
	memset(re, 'e', 40);
	re[40] = '\0';
	assert_false(ifpattern_match(p, re));
	ifpattern_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
