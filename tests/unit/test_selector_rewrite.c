/*
 * test_selector_rewrite.c - unit tests for what is done with a parsed
 * selector (control/policy/selector.c): the §1.4 prefix rewriting of
 * namespaceSelector and serviceAccountSelector, selector_and, canonical
 * printing and its truncation, parse/print round trips, and the key walk.
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

#include "test_selector.h"

static void
test_prefixed_namespace(void **state)
{
	struct labels hep = mk("env", "prod", NULL);
	struct labels wep = mk("pcns.env", "prod", "projectcalico.org/namespace", "default", NULL);
	const char *ns = "projectcalico.org/namespace";
	struct selector *s, *p;
	char *t;

	(void)state;
	/* a purely negative namespaceSelector selects HEPs (§1.4 surprise) */
	s = parse_ok("!has(env)");
	p = selector_prefixed(s, "pcns.", ns);
	assert_non_null(p);
	assert_false(selector_match(s, &hep));
	assert_true(selector_match(p, &hep));
	assert_false(selector_match(p, &wep));
	t = fmt(p);
	assert_string_equal(t, "!has(pcns.env)");
	free(t);
	selector_free(p);
	selector_free(s);

	s = parse_ok("env == 'prod' && tier in {'a'}");
	p = selector_prefixed(s, "pcns.", ns);
	assert_non_null(p);
	assert_false(selector_match(p, &hep));
	t = fmt(p);
	assert_string_equal(t, "(pcns.env == \"prod\" && pcns.tier in {\"a\"})");
	free(t);
	selector_free(p);
	selector_free(s);

	/* all() becomes has(projectcalico.org/namespace), which no HEP has */
	s = parse_ok("all()");
	p = selector_prefixed(s, "pcns.", ns);
	assert_non_null(p);
	assert_false(selector_is_all(p));
	assert_false(selector_match(p, &hep));
	assert_true(selector_match(p, &wep));
	t = fmt(p);
	assert_string_equal(t, "has(projectcalico.org/namespace)");
	free(t);
	selector_free(p);
	selector_free(s);

	s = parse_ok("");
	p = selector_prefixed(s, "pcsa.", "projectcalico.org/serviceaccount");
	assert_non_null(p);
	t = fmt(p);
	assert_string_equal(t, "has(projectcalico.org/serviceaccount)");
	free(t);
	selector_free(p);
	selector_free(s);
	labels_free(&hep);
	labels_free(&wep);
}

static void
test_prefixed_copy(void **state)
{
	const char *text = "(all() || global()) && k not in {'b', 'a'} && !x ends with 'y'";
	struct selector *s, *p, *q;
	char *a, *b, *c;

	(void)state;
	s = parse_ok(text);
	p = selector_prefixed(s, "", NULL);
	q = selector_prefixed(s, "p.", NULL);
	assert_non_null(p);
	assert_non_null(q);
	a = fmt(s);
	b = fmt(p);
	c = fmt(q);
	assert_string_equal(a, b);
	assert_string_equal(c, "((all() || global()) && p.k not in {\"a\", \"b\"} && "
			    "!p.x ends with \"y\")");
	assert_true(selector_uses_global(q));
	selector_free(s);		/* the copies do not share memory with it */
	b[0] = '\0';
	free(b);
	b = fmt(p);
	assert_string_equal(a, b);
	free(a);
	free(b);
	free(c);
	selector_free(p);
	selector_free(q);
}

static void
test_and(void **state)
{
	struct labels both = mk("a", "1", "b", "2", NULL), one = mk("a", "1", NULL);
	struct selector *x, *y, *z, *w;
	char *t;

	(void)state;
	x = parse_ok("a == '1' || c == '3'");
	y = parse_ok("has(b)");
	z = selector_and(x, y);
	assert_non_null(z);
	assert_true(selector_match(z, &both));
	assert_false(selector_match(z, &one));
	assert_true(selector_match(x, &one));		/* arguments untouched */
	t = fmt(z);
	assert_string_equal(t, "((a == \"1\" || c == \"3\") && has(b))");
	free(t);

	w = selector_and(z, z);
	assert_non_null(w);
	t = fmt(w);
	assert_string_equal(t, "(((a == \"1\" || c == \"3\") && has(b)) && "
			    "((a == \"1\" || c == \"3\") && has(b)))");
	free(t);
	assert_true(selector_match(w, &both));
	selector_free(w);
	selector_free(z);
	selector_free(x);
	selector_free(y);

	x = parse_ok("");
	y = parse_ok("global()");
	z = selector_and(x, y);
	assert_non_null(z);
	assert_false(selector_is_all(z));
	assert_false(selector_is_global(z));
	assert_true(selector_uses_global(z));
	selector_free(z);
	selector_free(x);
	selector_free(y);
	labels_free(&both);
	labels_free(&one);
}

static void
test_format_canonical(void **state)
{
	(void)state;
	assert_canon("a in {'b','a','b',}", "a in {\"a\", \"b\"}");
	assert_canon("a in {}", "a in {}");
	assert_canon("a notin{}", "a not in {}");
	assert_canon("(a=='x'&&b=='y')||c=='z'", "((a == \"x\" && b == \"y\") || c == \"z\")");
	assert_canon("a=='x'&&b=='y'&&c=='z'", "(a == \"x\" && b == \"y\" && c == \"z\")");
	assert_canon("(a=='x'&&b=='y')&&c=='z'", "((a == \"x\" && b == \"y\") && c == \"z\")");
	assert_canon("!(a=='x' || b=='y')", "!(a == \"x\" || b == \"y\")");
	assert_canon("!a=='x'", "!a == \"x\"");
	assert_canon("k startswith 'p' || k endswith 's' || k contains 'c'",
		     "(k starts with \"p\" || k ends with \"s\" || k contains \"c\")");
	assert_canon("((((has(a)))))", "has(a)");
	assert_canon("has( a ) && global( )", "(has(a) && global())");
}

static void
test_format_truncation(void **state)
{
	struct selector *s = parse_ok("has(abc)");
	char buf[16];

	(void)state;
	assert_int_equal(selector_format(s, NULL, 0), 8);
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(selector_format(s, buf, 5), 8);
	assert_string_equal(buf, "has(");
	assert_int_equal(buf[5], 'X');			/* nothing past size */
	assert_int_equal(selector_format(s, buf, 1), 8);
	assert_string_equal(buf, "");
	assert_int_equal(selector_format(s, buf, 9), 8);
	assert_string_equal(buf, "has(abc)");
	assert_int_equal(selector_format(s, buf, 8), 8);
	assert_string_equal(buf, "has(abc");
	assert_int_equal(strlen(buf), 7);
	selector_free(s);
}

static void
test_round_trip(void **state)
{
	static const char *const texts[] = {
		"",
		"all()",
		"global()",
		"has(a)",
		"!has(a) && b != 'x'",
		"a in {'1', '2', '3', '2'} || b not in {'x',}",
		"!(a == '1' || !(b == '2' && c contains 'x'))",
		"a starts with '1' && a ends with '' || !!b in {}",
		"((a == \"'\" || b == '\"') && (c == 'x' || has(c)))",
		"contains contains 'contains' && notin notin {'in'}",
		"!!!(has(a) && !(has(b) || !has(c)))",
		"a == '1' || b == '2' || c == '3' && !has(d)",
	};
	struct labels maps[6];

	(void)state;
	maps[0] = mk(NULL);
	maps[1] = mk("a", "1", NULL);
	maps[2] = mk("a", "1", "b", "2", "c", "x", NULL);
	maps[3] = mk("b", "\"", "c", "axb", "d", "", NULL);
	maps[4] = mk("a", "'", "contains", "contains", "notin", "out", NULL);
	maps[5] = mk("a", "3", "b", "x", "c", "3", NULL);
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		struct selector *s = parse_ok(texts[i]), *r;
		char *t1 = fmt(s), *t2;

		r = parse_ok(t1);
		t2 = fmt(r);
		assert_string_equal(t1, t2);
		for (size_t j = 0; j < ARRAY_SIZE(maps); j++)
			assert_int_equal(selector_match(s, &maps[j]), selector_match(r, &maps[j]));
		free(t1);
		free(t2);
		selector_free(s);
		selector_free(r);
	}
	for (size_t j = 0; j < ARRAY_SIZE(maps); j++)
		labels_free(&maps[j]);
}

struct keys {
	char buf[256];
};

static void
collect_key(const char *key, void *arg)
{
	struct keys *k = arg;
	size_t len = strlen(k->buf);

	snprintf(k->buf + len, sizeof(k->buf) - len, "%s,", key);
}

static void
test_for_each_key(void **state)
{
	struct selector *s = parse_ok("has(a) && !(b == 'x' || c in {}) && all() && "
				      "global() && d contains 'a' && a not in {'q'}");
	struct keys k = { "" };

	(void)state;
	selector_for_each_key(s, collect_key, &k);
	assert_string_equal(k.buf, "a,b,c,d,a,");
	selector_free(s);

	s = parse_ok("all() || global()");
	k.buf[0] = '\0';
	selector_for_each_key(s, collect_key, &k);
	assert_string_equal(k.buf, "");
	selector_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefixed_namespace),
		cmocka_unit_test(test_prefixed_copy),
		cmocka_unit_test(test_and),
		cmocka_unit_test(test_format_canonical),
		cmocka_unit_test(test_format_truncation),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_for_each_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
