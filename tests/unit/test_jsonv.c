/*
 * test_jsonv.c - unit tests for control/util/jsonv.c, the strict and
 * bounded JSON reader: the tree it builds, and every way an input is
 * refused, with the byte offset of the problem.
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

#include "jsonv.h"
#include "utf8.h"

static int
parse(struct jsonv *j, const char *text, struct jsonv_error *err)
{
	return jsonv_parse(j, text, strlen(text), 64, err);
}

/* @text is refused at byte @at with a message containing @part. */
static void
expect_bad(const char *text, size_t len, size_t at, const char *part)
{
	struct jsonv_error err;
	struct jsonv j;
	int rc = jsonv_parse(&j, text, len, 64, &err);

	if (rc != -EINVAL || err.at != at || strstr(err.msg, part) == NULL)
		fail_msg("\"%.*s\": rc %d, at %zu \"%s\"; wanted at %zu \"%s\"", (int)len, text, rc,
			 err.at, err.msg, at, part);
	assert_int_equal(j.n, 0);
	jsonv_free(&j);
}

#define BAD(text, at, part) expect_bad(text, sizeof(text) - 1, at, part)

static void
test_tree(void **state)
{
	static const char text[] =
		" {\"name\": \"x\", \"labels\": {\"a\": \"1\", \"b\": null},"
		" \"n\": [-0.5e+3, 0, 12, true, false, null, [], {}], \"s\": \"\\u00e9\\n\\\"\"} ";
	const struct jsonv_node *root, *labels, *n, *it;
	struct jsonv_error err;
	struct jsonv j;

	(void)state;
	assert_int_equal(parse(&j, text, &err), 0);
	root = jsonv_root(&j);
	assert_int_equal(root->type, JSONV_OBJECT);
	assert_int_equal(root->n, 4);
	assert_int_equal(root->at, 1);
	assert_int_equal(root->size, j.n);
	assert_string_equal(jsonv_text(&j, jsonv_get(&j, root, "name")), "x");
	labels = jsonv_get(&j, root, "labels");
	assert_int_equal(labels->type, JSONV_OBJECT);
	assert_int_equal(labels->n, 2);
	assert_int_equal(jsonv_get(&j, labels, "b")->type, JSONV_NULL);
	assert_null(jsonv_get(&j, labels, "c"));
	assert_null(jsonv_get(&j, jsonv_get(&j, root, "name"), "x"));	/* not an object */
	n = jsonv_get(&j, root, "n");
	assert_int_equal(n->type, JSONV_ARRAY);
	assert_int_equal(n->n, 8);
	it = n + 1;
	assert_int_equal(it->type, JSONV_NUMBER);
	assert_string_equal(jsonv_text(&j, it), "-0.5e+3");
	it = jsonv_next(it);
	assert_string_equal(jsonv_text(&j, it), "0");
	it = jsonv_next(jsonv_next(it));
	assert_int_equal(it->type, JSONV_TRUE);
	it = jsonv_next(jsonv_next(jsonv_next(it)));
	assert_int_equal(it->type, JSONV_ARRAY);
	assert_int_equal(it->n, 0);
	it = jsonv_next(it);
	assert_int_equal(it->type, JSONV_OBJECT);
	assert_int_equal(jsonv_next(it), jsonv_get(&j, root, "s") - 1);	/* the key "s" */
	assert_string_equal(jsonv_text(&j, jsonv_get(&j, root, "s")), "\xc3\xa9\n\"");
	assert_int_equal(jsonv_get(&j, root, "s")->n, 4);
	jsonv_free(&j);

	/* any value at the top */
	assert_int_equal(parse(&j, "\"\\ud83d\\ude00\"", &err), 0);
	assert_string_equal(jsonv_text(&j, jsonv_root(&j)), "\xf0\x9f\x98\x80");
	jsonv_free(&j);
	assert_int_equal(parse(&j, "\t42\r\n", &err), 0);
	assert_int_equal(jsonv_root(&j)->type, JSONV_NUMBER);
	jsonv_free(&j);
}

static void
test_syntax(void **state)
{
	(void)state;
	BAD("", 0, "expected a value, found the end");
	BAD("   ", 3, "expected a value");
	BAD("{} x", 3, "text after the value");
	BAD("[1,]", 3, "unexpected character");
	BAD("[1 2]", 3, "expected ',' or ']'");
	BAD("{\"a\" 1}", 5, "expected ':'");
	BAD("{a: 1}", 1, "expected a string key");
	BAD("{'a': 1}", 1, "expected a string key");
	BAD("{\"a\": 1,}", 8, "expected a string key");
	BAD("[01]", 2, "expected ','");
	BAD("[1.]", 1, "invalid number");
	BAD("[.5]", 1, "unexpected character");
	BAD("[+1]", 1, "unexpected character");
	BAD("[-]", 1, "invalid number");
	BAD("[1e]", 1, "invalid number");
	BAD("[tru]", 1, "unexpected character");
	BAD("[True]", 1, "unexpected character");
	BAD("[1] // comment", 4, "text after the value");
	BAD("\"abc", 0, "unterminated string");
	BAD("[\"a\\", 1, "unterminated string");
}

static void
test_strings(void **state)
{
	(void)state;
	BAD("\"a\\x\"", 2, "invalid escape");
	BAD("\"\\u12\"", 1, "four hex digits");
	BAD("\"\\u12G4\"", 1, "four hex digits");
	BAD("\"\\u0000\"", 1, "\\u0000 (a NUL byte)");
	BAD("[\"a\", \"\\ud800\"]", 7, "lone surrogate \\ud800");
	BAD("\"\\ud800\\u0041\"", 1, "lone surrogate");
	BAD("\"\\udc00\"", 1, "lone surrogate \\udc00");
	BAD("\"a\tb\"", 2, "control character 0x09");
	BAD("\"a\nb\"", 2, "control character 0x0a");
	expect_bad("\"a\0b\"", 5, 2, "control character 0x00");
	BAD("\"\xc0\x80\"", 1, "invalid UTF-8");		/* overlong NUL */
	BAD("\"\xed\xa0\x80\"", 1, "invalid UTF-8");	/* an encoded surrogate */
	BAD("\"\xf5\x80\x80\x80\"", 1, "invalid UTF-8");	/* past U+10FFFF */
	BAD("\"ab\xe2\x82\"", 3, "invalid UTF-8");		/* cut short */
	BAD("\"\x80\"", 1, "invalid UTF-8");
}

static void
test_duplicate_keys(void **state)
{
	struct jsonv_error err;
	struct jsonv j;

	(void)state;
	BAD("{\"a\": 1, \"b\": 2, \"a\": 3}", 17, "duplicate key \"a\"");
	/* the same key however it is written */
	BAD("{\"a\": 1, \"\\u0061\": 2}", 9, "duplicate key \"a\"");
	/* the first duplicate in the text is the one named */
	BAD("{\"b\": 1, \"a\": 1, \"a\": 2, \"b\": 2}", 17, "duplicate key \"a\"");
	/* nested objects are their own scope */
	assert_int_equal(parse(&j, "{\"a\": {\"a\": {\"a\": 1}}, \"b\": [{\"a\": 1}, {\"a\": 2}]}",
			       &err), 0);
	jsonv_free(&j);
	BAD("[{\"x\": 1}, {\"y\": {\"z\": 1, \"z\": 1}}]", 26, "duplicate key \"z\"");
}

static void
test_depth(void **state)
{
	char text[300];
	struct jsonv_error err;
	struct jsonv j;

	(void)state;
	/* 64 levels are fine, the 65th is refused where it opens */
	memset(text, 0, sizeof(text));
	memset(text, '[', 64);
	memset(text + 64, ']', 64);
	assert_int_equal(jsonv_parse(&j, text, 128, 64, &err), 0);
	jsonv_free(&j);
	memset(text, '[', 65);
	memset(text + 65, ']', 65);
	assert_int_equal(jsonv_parse(&j, text, 130, 64, &err), -EINVAL);
	assert_int_equal(err.at, 64);
	assert_non_null(strstr(err.msg, "nested deeper than 64 levels"));
	jsonv_free(&j);
	for (int i = 0; i < 60; i++)
		memcpy(text + 5 * i, "{\"a\":", 5);
	assert_int_equal(jsonv_parse(&j, text, 300, 3, &err), -EINVAL);
	assert_int_equal(err.at, 15);
	jsonv_free(&j);
}

/* Deep nesting costs nothing past the bound, however much of it follows. */
static void
test_deep_is_fast(void **state)
{
	size_t n = 4u << 20;
	char *text = malloc(2 * n);
	struct jsonv_error err;
	struct jsonv j;

	(void)state;
	assert_non_null(text);
	memset(text, '[', n);
	memset(text + n, ']', n);
	assert_int_equal(jsonv_parse(&j, text, 2 * n, 100000, &err), -EINVAL);
	assert_int_equal(err.at, JSONV_DEPTH_MAX);	/* the ceiling holds */
	jsonv_free(&j);
	free(text);
}

static void
test_utf8(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		uint32_t cp;
	} good[] = {
		{ "A", 1, 'A' }, { "\xc2\x80", 2, 0x80 }, { "\xdf\xbf", 2, 0x7ff },
		{ "\xe0\xa0\x80", 3, 0x800 }, { "\xef\xbf\xbf", 3, 0xffff },
		{ "\xf0\x90\x80\x80", 4, 0x10000 }, { "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
	};
	static const char *const bad[] = {
		"\x80", "\xc1\xbf", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xf0\x8f\xbf\xbf",
		"\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "\xc2", "\xe2\x82", "\xc2\x41",
	};
	unsigned char buf[4];
	uint32_t cp;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(utf8_decode((const unsigned char *)good[i].s, good[i].len, &cp),
				 good[i].len);
		assert_int_equal(cp, good[i].cp);
		assert_int_equal(utf8_encode(cp, buf), good[i].len);
		assert_memory_equal(buf, good[i].s, good[i].len);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(utf8_decode((const unsigned char *)bad[i], strlen(bad[i]), &cp), 0);
	assert_int_equal(utf8_decode((const unsigned char *)"A", 0, &cp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_deep_is_fast),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
