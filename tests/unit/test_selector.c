/*
 * test_selector.c - unit tests for parsing and evaluating Calico selectors
 * (control/policy/selector_parse.c, selector.c): every operator, the
 * precedence and token rules, nesting limits and every error case of
 * docs/semantics.md §10. Rewriting and printing are in
 * test_selector_rewrite.c.
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
test_empty_and_blank(void **state)
{
	struct labels none = mk(NULL), some = mk("a", "b", NULL);
	const char *blank[] = { "", " ", "\t \t", "all()", "all( \t)", "(all())" };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(blank); i++) {
		struct selector *s = parse_ok(blank[i]);

		assert_true(selector_is_all(s));
		assert_false(selector_is_global(s));
		assert_false(selector_uses_global(s));
		assert_true(selector_match(s, &none));
		assert_true(selector_match(s, &some));
		selector_free(s);
	}
	assert_canon("", "all()");
	assert_canon(" all( ) ", "all()");
	labels_free(&none);
	labels_free(&some);
}

static void
test_global(void **state)
{
	struct labels none = mk(NULL), a = mk("a", "1", NULL);
	struct selector *s;

	(void)state;
	s = parse_ok("global()");
	assert_true(selector_is_global(s));
	assert_true(selector_uses_global(s));
	assert_false(selector_is_all(s));
	assert_true(selector_match(s, &none));
	selector_free(s);

	s = parse_ok("global( ) && has(a)");
	assert_false(selector_is_global(s));
	assert_true(selector_uses_global(s));
	assert_true(selector_match(s, &a));
	assert_false(selector_match(s, &none));
	selector_free(s);

	s = parse_ok("has(a) || !(global())");
	assert_true(selector_uses_global(s));
	assert_false(selector_is_global(s));
	selector_free(s);

	s = parse_ok("has(a)");
	assert_false(selector_uses_global(s));
	assert_false(selector_is_all(s));
	selector_free(s);
	labels_free(&none);
	labels_free(&a);
}

static void
test_has(void **state)
{
	struct labels none = mk(NULL), empty = mk("a", "", NULL), other = mk("b", "x", NULL);

	(void)state;
	assert_true(eval("has(a)", &empty));
	assert_true(eval("has( a )", &empty));
	assert_true(eval("has(\ta\t)", &empty));
	assert_false(eval("has(a)", &none));
	assert_false(eval("has(a)", &other));
	assert_true(eval("!has(a)", &none));
	assert_false(eval("!has(a)", &empty));
	assert_false(eval("has(A)", &empty));		/* keys are case-sensitive */
	labels_free(&none);
	labels_free(&empty);
	labels_free(&other);
}

static void
test_eq_ne(void **state)
{
	struct labels none = mk(NULL), prod = mk("env", "prod", NULL), empty = mk("env", "", NULL);

	(void)state;
	assert_true(eval("env == 'prod'", &prod));
	assert_true(eval("env==\"prod\"", &prod));
	assert_false(eval("env == 'Prod'", &prod));
	assert_false(eval("env == 'prod'", &none));
	assert_false(eval("env == ''", &none));
	assert_true(eval("env == ''", &empty));
	assert_false(eval("env != 'prod'", &prod));
	assert_true(eval("env != 'dev'", &prod));
	assert_true(eval("env != 'prod'", &none));	/* absent counts as "not equal" */
	assert_true(eval("env != ''", &none));
	assert_false(eval("env != ''", &empty));
	labels_free(&none);
	labels_free(&prod);
	labels_free(&empty);
}

static void
test_in_not_in(void **state)
{
	struct labels none = mk(NULL), a = mk("k", "a", NULL), z = mk("k", "z", NULL);

	(void)state;
	assert_true(eval("k in {'a', 'b'}", &a));
	assert_false(eval("k in {'a', 'b'}", &z));
	assert_false(eval("k in {'a', 'b'}", &none));
	assert_false(eval("k in {}", &a));		/* never true */
	assert_false(eval("k in { }", &none));
	assert_true(eval("k in {'a',}", &a));		/* trailing comma */
	assert_true(eval("k in{\"b\",\"a\" , }", &a));
	assert_false(eval("k not in {'a', 'b'}", &a));
	assert_true(eval("k not in {'a', 'b'}", &z));
	assert_true(eval("k not in {'a'}", &none));	/* absent */
	assert_true(eval("k not in {}", &a));		/* always true */
	assert_true(eval("k not in {}", &none));
	assert_true(eval("k notin {'b'}", &a));
	assert_true(eval("k not \t in {'b'}", &a));
	assert_true(eval("k in {'a', 'a', 'a'}", &a));
	labels_free(&none);
	labels_free(&a);
	labels_free(&z);
}

static void
test_large_set(void **state)
{
	char text[4096], key[16];
	size_t n = 0;
	struct labels l;

	(void)state;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "k in {");
	for (int i = 199; i >= 0; i--)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "'v%d',", i % 150);
	snprintf(text + n, sizeof(text) - n, "}");
	for (int i = 0; i < 160; i++) {
		snprintf(key, sizeof(key), "v%d", i);
		l = mk("k", key, NULL);
		assert_int_equal(eval(text, &l), i < 150);
		labels_free(&l);
	}
}

static void
test_contains_starts_ends(void **state)
{
	struct labels none = mk(NULL), v = mk("k", "hello", NULL), e = mk("k", "", NULL);

	(void)state;
	assert_true(eval("k contains 'ell'", &v));
	assert_false(eval("k contains 'xyz'", &v));
	assert_false(eval("k contains 'ell'", &none));
	assert_true(eval("k contains ''", &v));		/* true when present */
	assert_true(eval("k contains ''", &e));
	assert_false(eval("k contains ''", &none));
	assert_true(eval("k starts with 'he'", &v));
	assert_true(eval("k startswith 'hello'", &v));
	assert_false(eval("k starts with 'hello!'", &v));
	assert_false(eval("k starts with 'el'", &v));
	assert_false(eval("k starts with ''", &none));
	assert_true(eval("k starts with ''", &e));
	assert_true(eval("k ends with 'llo'", &v));
	assert_true(eval("k endswith\t'hello'", &v));
	assert_false(eval("k ends with 'xhello'", &v));
	assert_false(eval("k ends with 'hell'", &v));
	assert_false(eval("k ends with 'o'", &none));
	assert_true(eval("k contains\"ll\"", &v));	/* no space before the literal */
	labels_free(&none);
	labels_free(&v);
	labels_free(&e);
}

static void
test_precedence(void **state)
{
	struct labels a = mk("a", "1", NULL), c = mk("c", "1", NULL), none = mk(NULL);

	(void)state;
	/* a || (b && c) */
	assert_true(eval("has(a) || has(b) && has(c)", &a));
	assert_false(eval("(has(a) || has(b)) && has(c)", &a));
	assert_false(eval("has(c) && has(b) || has(a) && has(b)", &c));
	assert_true(eval("has(b) && has(a) || has(c)", &c));
	/* ! binds tighter than && and applies to a whole term */
	assert_true(eval("!a == '2'", &a));
	assert_false(eval("!a == '1'", &a));
	assert_true(eval("!has(b) && has(a)", &a));
	assert_false(eval("!(has(b) || has(a))", &a));
	/* any number of !: parity decides */
	assert_true(eval("!!has(a)", &a));
	assert_false(eval("!!!has(a)", &a));
	assert_true(eval("! ! ! ! has(a)", &a));
	assert_true(eval("!(!has(a))", &a));
	assert_true(eval("!!(!has(a))", &none));
	assert_canon("!!!has(a)", "!has(a)");
	assert_canon("!(!has(a))", "has(a)");
	assert_canon("!!(!(!has(a)))", "has(a)");
	labels_free(&a);
	labels_free(&c);
	labels_free(&none);
}

static void
test_quoting(void **state)
{
	struct labels q = mk("k", "it's", NULL), d = mk("k", "say \"hi\"", NULL);
	struct labels b = mk("k", "a\\b", NULL), nl = mk("k", "x\ny", NULL);

	(void)state;
	assert_true(eval("k == \"it's\"", &q));
	assert_true(eval("k == 'say \"hi\"'", &d));
	assert_true(eval("k == 'a\\b'", &b));		/* backslash is literal */
	assert_true(eval("k == \"a\\b\"", &b));
	assert_true(eval("k == 'x\ny'", &nl));		/* newline inside a literal */
	assert_canon("k == \"it's\"", "k == \"it's\"");
	assert_canon("k == 'say \"hi\"'", "k == 'say \"hi\"'");
	assert_canon("k == 'plain'", "k == \"plain\"");
	assert_canon("k in {'a\"b', 'c'}", "k in {'a\"b', \"c\"}");
	labels_free(&q);
	labels_free(&d);
	labels_free(&b);
	labels_free(&nl);
}

static void
test_whitespace(void **state)
{
	struct labels a = mk("a", "b", NULL);

	(void)state;
	assert_true(eval("\ta\t==\t'b'\t", &a));
	assert_true(eval("a=='b'&&has(a)||!has(a)", &a));
	assert_int_equal(parse_bad("a == 'b'\n"), 9);
	assert_int_equal(parse_bad("a\n== 'b'"), 2);
	assert_int_equal(parse_bad("\nhas(a)"), 1);
	assert_int_equal(parse_bad("a == 'b'\r"), 9);
	assert_int_equal(parse_bad("has(a)\f"), 7);
	assert_int_equal(parse_bad("has(\na)"), 5);
	labels_free(&a);
}

static void
test_word_operators(void **state)
{
	struct labels c = mk("contains", "contains", NULL), h = mk("has", "x", "in", "y", NULL);

	(void)state;
	/* operator words are not reserved */
	assert_true(eval("contains contains 'contains'", &c));
	assert_true(eval("contains in {'contains'}", &c));
	assert_true(eval("has == 'x'", &h));
	assert_true(eval("in == 'y' && !in != 'y'", &h));
	assert_true(eval("all != 'x'", &h));
	/* word boundary after the operator */
	assert_int_equal(parse_bad("a inx {}"), 3);
	assert_int_equal(parse_bad("a containsx 'b'"), 3);
	assert_int_equal(parse_bad("a ends withs 'b'"), 3);
	/* and/or are not operators */
	assert_int_equal(parse_bad("has(a) and has(b)"), 8);
	assert_int_equal(parse_bad("has(a) or has(b)"), 8);
	/* word operators only straight after a key */
	assert_int_equal(parse_bad("in {'a'}"), 4);
	assert_int_equal(parse_bad("has(a) in {'a'}"), 8);
	labels_free(&c);
	labels_free(&h);
}

static void
test_keys(void **state)
{
	char key[600], text[700];
	struct labels l;

	(void)state;
	l = mk("1a", "x", "/.-_", "y", "example.com/app-name", "z", NULL);
	assert_true(eval("1a == 'x'", &l));
	assert_true(eval("/.-_ == 'y'", &l));
	assert_true(eval("example.com/app-name == 'z'", &l));
	assert_true(eval("a/b/c != 'x'", &l));		/* several slashes parse */
	labels_free(&l);

	memset(key, 'k', 512);
	key[512] = '\0';
	snprintf(text, sizeof(text), "%s == 'v'", key);
	l = mk(key, "v", NULL);
	assert_true(eval(text, &l));
	snprintf(text, sizeof(text), "has(%s)", key);
	assert_true(eval(text, &l));
	labels_free(&l);

	key[512] = 'k';
	key[513] = '\0';
	snprintf(text, sizeof(text), "%s == 'v'", key);
	assert_int_equal(parse_bad(text), 1);
	snprintf(text, sizeof(text), "has(%s)", key);
	assert_int_equal(parse_bad(text), 5);
	snprintf(text, sizeof(text), "a == 'b' && %s == 'v'", key);
	assert_int_equal(parse_bad(text), 13);

	assert_int_equal(parse_bad("a:b == 'c'"), 2);
	assert_int_equal(parse_bad("%"), 1);
	assert_int_equal(parse_bad("a == 'b' && %"), 13);
	assert_int_equal(parse_bad("a\xc3\xa9 == 'b'"), 2);
}

static void
test_error_literal_and_bare(void **state)
{
	(void)state;
	assert_int_equal(parse_bad("'b' == a"), 1);
	assert_int_equal(parse_bad("a == b"), 6);
	assert_int_equal(parse_bad("a"), 2);
	assert_int_equal(parse_bad("!a"), 3);
	assert_int_equal(parse_bad("a b"), 3);
	assert_int_equal(parse_bad("a == 'b' c == 'd'"), 10);
	assert_int_equal(parse_bad("a == 'b' 'c'"), 10);
	assert_int_equal(parse_bad("a = 'b'"), 3);
	assert_int_equal(parse_bad("has(a) & has(b)"), 8);
	assert_int_equal(parse_bad("has(a) | has(b)"), 8);
	assert_int_equal(parse_bad("a ! = 'b'"), 3);
	assert_int_equal(parse_bad("a == 'unterminated"), 6);
	assert_int_equal(parse_bad("a == \"x'"), 6);
}

static void
test_error_dangling(void **state)
{
	(void)state;
	assert_int_equal(parse_bad("a == 'b' &&"), 12);
	assert_int_equal(parse_bad("a == 'b' ||  "), 14);
	assert_int_equal(parse_bad("&& x"), 1);
	assert_int_equal(parse_bad("!"), 2);
	assert_int_equal(parse_bad("!!  "), 5);
	assert_int_equal(parse_bad("a =="), 5);
	assert_int_equal(parse_bad("a in"), 5);
	assert_int_equal(parse_bad("has(a) && || has(b)"), 11);
}

static void
test_error_parens(void **state)
{
	(void)state;
	assert_int_equal(parse_bad("("), 2);
	assert_int_equal(parse_bad(")"), 1);
	assert_int_equal(parse_bad("()"), 2);
	assert_int_equal(parse_bad("(a == 'b'"), 10);
	assert_int_equal(parse_bad("a == 'b')"), 9);
	assert_int_equal(parse_bad("((has(a))"), 10);
	assert_int_equal(parse_bad("has(a) (has(b))"), 8);
}

static void
test_error_sets(void **state)
{
	(void)state;
	assert_int_equal(parse_bad("a in 'b'"), 6);
	assert_int_equal(parse_bad("a in {'x' 'y'}"), 11);
	assert_int_equal(parse_bad("a in {,}"), 7);
	assert_int_equal(parse_bad("a in {x}"), 7);
	assert_int_equal(parse_bad("a in {'x'"), 10);
	assert_int_equal(parse_bad("a in {'x',,}"), 11);
	assert_int_equal(parse_bad("a not in 'b'"), 10);
	assert_int_equal(parse_bad("a in {'x'} }"), 12);
}

static void
test_error_functions(void **state)
{
	(void)state;
	assert_int_equal(parse_bad("has()"), 5);
	assert_int_equal(parse_bad("has( )"), 6);
	assert_int_equal(parse_bad("has(a"), 6);
	assert_int_equal(parse_bad("has(a b)"), 7);
	assert_int_equal(parse_bad("has (a)"), 5);
	assert_int_equal(parse_bad("all"), 4);
	assert_int_equal(parse_bad("all(x)"), 5);
	assert_int_equal(parse_bad("all ()"), 5);
	assert_int_equal(parse_bad("global(x)"), 8);
	assert_int_equal(parse_bad("global"), 7);
	assert_int_equal(parse_bad("has('a')"), 5);
	assert_int_equal(parse_bad("all() == 'x'"), 7);
}

static void
test_error_unknown_operators(void **state)
{
	(void)state;
	assert_int_equal(parse_bad("a like 'b'"), 3);
	assert_int_equal(parse_bad("a starts 'b'"), 3);
	assert_int_equal(parse_bad("a ends withs 'b'"), 3);
	assert_int_equal(parse_bad("a not 'b'"), 3);
	assert_int_equal(parse_bad("a with 'b'"), 3);
	assert_int_equal(parse_bad("a === 'b'"), 5);
}

static void
test_error_messages(void **state)
{
	struct selector *s = NULL;
	struct selector_error e;

	(void)state;
	assert_int_equal(selector_parse("a == 'b", &s, &e), -EINVAL);
	assert_int_equal(e.col, 6);
	assert_string_equal(e.msg, "unterminated string literal");

	assert_int_equal(selector_parse("env prod", &s, &e), -EINVAL);
	assert_int_equal(e.col, 5);
	assert_non_null(strstr(e.msg, "after label key"));
	assert_non_null(strstr(e.msg, "'prod'"));

	assert_int_equal(selector_parse("a == 'b'\nb == 'c'", &s, &e), -EINVAL);
	assert_int_equal(e.col, 9);
	assert_non_null(strstr(e.msg, "expected identifier"));

	/* err may be NULL */
	assert_int_equal(selector_parse("(", &s, NULL), -EINVAL);
	assert_null(s);

	/* err is cleared on success */
	assert_int_equal(selector_parse("has(a)", &s, &e), 0);
	assert_int_equal(e.col, 0);
	assert_string_equal(e.msg, "");
	selector_free(s);
	selector_free(NULL);
}

static void
test_nesting(void **state)
{
	char text[1200];
	struct labels a = mk("a", "1", NULL);
	int n;

	(void)state;
	n = 256;
	memset(text, '(', (size_t)n);
	memcpy(text + n, "has(a)", 6);
	memset(text + n + 6, ')', (size_t)n);
	text[2 * n + 6] = '\0';
	assert_true(eval(text, &a));
	assert_canon(text, "has(a)");

	n = 257;
	memset(text, '(', (size_t)n);
	memcpy(text + n, "has(a)", 6);
	memset(text + n + 6, ')', (size_t)n);
	text[2 * n + 6] = '\0';
	assert_int_equal(parse_bad(text), 257);

	/* any number of '!' costs no nesting */
	memset(text, '!', 1001);
	memcpy(text + 1001, "has(a)", sizeof("has(a)"));
	assert_false(eval(text, &a));
	labels_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_blank),
		cmocka_unit_test(test_global),
		cmocka_unit_test(test_has),
		cmocka_unit_test(test_eq_ne),
		cmocka_unit_test(test_in_not_in),
		cmocka_unit_test(test_large_set),
		cmocka_unit_test(test_contains_starts_ends),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_word_operators),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_error_literal_and_bare),
		cmocka_unit_test(test_error_dangling),
		cmocka_unit_test(test_error_parens),
		cmocka_unit_test(test_error_sets),
		cmocka_unit_test(test_error_functions),
		cmocka_unit_test(test_error_unknown_operators),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_nesting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
