/*
 * test_json.c - unit tests for nfq/json.c: JSON string escaping into a
 * buffer (snprintf semantics) and onto a stream, as explain and the verdict
 * log use it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static void
assert_escape(const char *in, const char *want)
{
	char buf[256];
	size_t n = json_escape(buf, sizeof(buf), in);

	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

/* What json_fput writes for @s. The caller frees. */
static char *
fput_text(const char *s)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	json_fput(f, s);
	assert_int_equal(fclose(f), 0);
	return out;
}

static void
test_escape_plain(void **state)
{
	(void)state;
	assert_escape("", "\"\"");
	assert_escape("allow", "\"allow\"");
	assert_escape("GlobalNetworkPolicy/a.b-c", "\"GlobalNetworkPolicy/a.b-c\"");
	/* '/' needs no escape; neither does DEL or UTF-8 */
	assert_escape("a/b\x7f", "\"a/b\x7f\"");
	assert_escape("caf\xc3\xa9 \xe2\x86\x92", "\"caf\xc3\xa9 \xe2\x86\x92\"");
}

static void
test_escape_specials(void **state)
{
	(void)state;
	assert_escape("say \"hi\"", "\"say \\\"hi\\\"\"");
	assert_escape("C:\\dir", "\"C:\\\\dir\"");
	assert_escape("a\nb\tc\rd", "\"a\\nb\\tc\\rd\"");
	assert_escape("\x01", "\"\\u0001\"");
	assert_escape("\x1f", "\"\\u001f\"");
	assert_escape("\b\f", "\"\\u0008\\u000c\"");
	assert_escape("\x1b[31m", "\"\\u001b[31m\"");
	assert_escape(" ", "\" \"");
}

static void
test_escape_truncation(void **state)
{
	char buf[8];
	size_t n;

	(void)state;
	/* the full length is returned; the buffer is cut and terminated */
	memset(buf, 'X', sizeof(buf));
	n = json_escape(buf, sizeof(buf), "abcdefghij");
	assert_int_equal(n, 12);
	assert_string_equal(buf, "\"abcdef");

	/* an escape cut in the middle */
	n = json_escape(buf, 4, "a\"b");
	assert_int_equal(n, 6);
	assert_string_equal(buf, "\"a\\");

	/* exactly fitting: n == size - 1 */
	n = json_escape(buf, 5, "abc");
	assert_int_equal(n, 5);
	assert_string_equal(buf, "\"abc");
	n = json_escape(buf, 6, "abc");
	assert_int_equal(n, 5);
	assert_string_equal(buf, "\"abc\"");

	/* size 1: only the terminator; size 0: nothing is written */
	n = json_escape(buf, 1, "abc");
	assert_int_equal(n, 5);
	assert_string_equal(buf, "");
	buf[0] = 'Q';
	n = json_escape(buf, 0, "abc");
	assert_int_equal(n, 5);
	assert_int_equal(buf[0], 'Q');
	n = json_escape(NULL, 0, "a\nb");
	assert_int_equal(n, 6);
}

static void
test_fput(void **state)
{
	char *s;

	(void)state;
	s = fput_text(NULL);
	assert_string_equal(s, "null");
	free(s);
	s = fput_text("");
	assert_string_equal(s, "\"\"");
	free(s);
	s = fput_text("x \"y\"\n");
	assert_string_equal(s, "\"x \\\"y\\\"\\n\"");
	free(s);
}

/* Long strings (past the 512-byte fast path) come out exactly as escaped. */
static void
test_fput_long(void **state)
{
	static const size_t lens[] = { 509, 510, 511, 512, 513, 2000 };

	(void)state;
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t len = lens[k];
		char *in = malloc(len + 1), *want, *got;
		size_t need;

		assert_non_null(in);
		for (size_t i = 0; i < len; i++)
			in[i] = "ab\"\\\n\x01\xc3\xa9 "[i % 9];
		in[len] = '\0';
		need = json_escape(NULL, 0, in);
		want = malloc(need + 1);
		assert_non_null(want);
		assert_int_equal(json_escape(want, need + 1, in), need);
		got = fput_text(in);
		if (strcmp(got, want) != 0)
			fail_msg("length %zu: json_fput differs from json_escape", len);
		free(in);
		free(want);
		free(got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_plain),
		cmocka_unit_test(test_escape_specials),
		cmocka_unit_test(test_escape_truncation),
		cmocka_unit_test(test_fput),
		cmocka_unit_test(test_fput_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
