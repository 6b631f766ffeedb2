/*
 * test_json.c - unit tests for nfq/json.c: JSON string escaping into a
 * buffer (snprintf semantics) and onto a stream, as explain and the verdict
 * log use it. Whatever the input bytes (control characters, overlong forms,
 * surrogates, truncated sequences, stray bytes 0x80-0xff), the output must
 * be one valid JSON string in valid UTF-8 (checked by tests/unit/jsoncheck.h
 * and, when python3 is there, by Python's decoder), decode to the input with
 * U+FFFD for each maximal invalid subpart, and a cut buffer must end between
 * two characters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler.h"
#include "json.h"
#include "jsoncheck.h"

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
	/* '/' needs no escape; neither does valid UTF-8 */
	assert_escape("a/b", "\"a/b\"");
	assert_escape("caf\xc3\xa9 \xe2\x86\x92", "\"caf\xc3\xa9 \xe2\x86\x92\"");
	assert_escape("\xc2\xa0\xef\xbf\xbf\xee\x80\x80\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf",
		      "\"\xc2\xa0\xef\xbf\xbf\xee\x80\x80\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"");
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
	/* DEL and the C1 controls (CSI is one) reach no terminal raw either */
	assert_escape("a\x7f", "\"a\\u007f\"");
	assert_escape("\xc2\x80\xc2\x9b[2J\xc2\x9f", "\"\\u0080\\u009b[2J\\u009f\"");
	/* nor do the separators that end a line in JavaScript and some log tools */
	assert_escape("a\xe2\x80\xa8" "b\xe2\x80\xa9", "\"a\\u2028b\\u2029\"");
}

/* Invalid UTF-8: one \ufffd for each maximal invalid subpart. */
static void
test_escape_invalid_utf8(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "\x80", "\\ufffd" },				/* stray continuation */
		{ "a\xbfz", "a\\ufffdz" },
		{ "\xff\xfe", "\\ufffd\\ufffd" },			/* never in UTF-8 */
		{ "\xc0\xaf", "\\ufffd\\ufffd" },			/* overlong '/' */
		{ "\xc1\xbf", "\\ufffd\\ufffd" },
		{ "\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd" },		/* overlong, 3 bytes */
		{ "\xe0\x9f\xbf", "\\ufffd\\ufffd\\ufffd" },
		{ "\xf0\x80\x80\xaf", "\\ufffd\\ufffd\\ufffd\\ufffd" },	/* overlong, 4 bytes */
		{ "\xf0\x8f\xbf\xbf", "\\ufffd\\ufffd\\ufffd\\ufffd" },
		{ "\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd" },		/* surrogate U+D800 */
		{ "\xed\xbf\xbf", "\\ufffd\\ufffd\\ufffd" },		/* surrogate U+DFFF */
		{ "\xed\x9f\xbf", "\xed\x9f\xbf" },			/* U+D7FF is fine */
		{ "\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd" },	/* past U+10FFFF */
		{ "\xf5\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd" },
		{ "\xf8\x88\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd" },	/* 5-byte form */
		{ "\xc3", "\\ufffd" },					/* truncated at the end */
		{ "ab\xe2\x82", "ab\\ufffd" },
		{ "\xf0\x9f\x98", "\\ufffd" },
		{ "\xe2\x82z", "\\ufffdz" },				/* truncated in the middle */
		{ "\xf0\x9f\x98\xf0\x9f\x98\x80", "\\ufffd\xf0\x9f\x98\x80" },
		{ "\xc3\xc3\xa9", "\\ufffd\xc3\xa9" },
		{ "\xe2\x82\xac\xac", "\xe2\x82\xac\\ufffd" },		/* one continuation too many */
		{ "\xc3\x22", "\\ufffd\\\"" },				/* a quote ends a sequence */
		{ "\xe2\x0a", "\\ufffd\\n" },
	};
	char want[128];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(want, sizeof(want), "\"%s\"", cases[i].want);
		assert_escape(cases[i].in, want);
	}
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

	/* an escape that does not fit is left out whole */
	n = json_escape(buf, 4, "a\"b");
	assert_int_equal(n, 6);
	assert_string_equal(buf, "\"a");
	n = json_escape(buf, 8, "a\x01");
	assert_int_equal(n, 9);
	assert_string_equal(buf, "\"a");
	/* so is a character of several bytes, and a \ufffd */
	n = json_escape(buf, 3, "\xc3\xa9");
	assert_int_equal(n, 4);
	assert_string_equal(buf, "\"");
	n = json_escape(buf, 4, "a\xe2\x82\xac");
	assert_int_equal(n, 6);
	assert_string_equal(buf, "\"a");
	n = json_escape(buf, 7, "a\xff");
	assert_int_equal(n, 9);
	assert_string_equal(buf, "\"a");
	/* and nothing after a cut, even what would fit */
	n = json_escape(buf, 5, "a\xe2\x82\xac" "b");
	assert_int_equal(n, 7);
	assert_string_equal(buf, "\"a");

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

/* Inputs every check below runs over: controls, every kind of invalid UTF-8, valid text. */
static const char *const nasty[] = {
	"",
	"plain-name.tier",
	"we\"ird\\name\n\r\t\b\f\x01\x1b[31m\x7f",
	"caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xc2\x85 \xe2\x80\xa8",
	"\x80\x81\xbf\xc0\xc1\xf5\xf8\xfc\xfe\xff",
	"\xc0\xaf\xe0\x80\xaf\xf0\x80\x80\xaf\xc1\xbf\xe0\x9f\xbf\xf0\x8f\xbf\xbf",
	"\xed\xa0\x80\xed\xbf\xbf\xed\xaf\xbf\xed\xb0\x80",
	"\xf4\x90\x80\x80\xf7\xbf\xbf\xbf",
	"x\xc3",
	"x\xe2\x82",
	"x\xf0\x9f\x98",
	"\xe2\x82z\xf0\x9fz\xc3z\xe2\x82\xac\xac",
};

/* Python's verdict on each "hex of input<TAB>escaped" line of @path: decodes to
 * the input decoded with errors="replace". Skipped (true) without python3. */
static bool
python_agrees(const char *path)
{
	char cmd[1024];

	if (system("python3 -c 'import json' >/dev/null 2>&1") != 0) {
		fprintf(stderr, "# python3 not found: not cross-checked with Python\n");
		return true;
	}
	snprintf(cmd, sizeof(cmd),
		 "python3 -c '\n"
		 "import json, sys\n"
		 "for line in open(sys.argv[1], \"rb\"):\n"
		 "    h, j = line.rstrip(b\"\\n\").split(b\"\\t\", 1)\n"
		 "    got = json.loads(j.decode(\"utf-8\"))\n"
		 "    want = bytes.fromhex(h.decode()).decode(\"utf-8\", \"replace\")\n"
		 "    assert got == want, (h, j, got, want)\n"
		 "' %s", path);
	return system(cmd) == 0;
}

/* Every output is one valid JSON string in valid UTF-8, and decodes as Python decodes. */
static void
test_escape_valid_json(void **state)
{
	char path[] = "/tmp/test_json_XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	uint32_t seed = 20261206;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	for (size_t k = 0; k < ARRAY_SIZE(nasty) + 400; k++) {
		char in[64], out[64 * JSON_CHAR_MAX + 3], dec[sizeof(out)];
		size_t len, n, dlen;

		if (k < ARRAY_SIZE(nasty)) {
			len = strlen(nasty[k]);
			memcpy(in, nasty[k], len);
		} else {			/* random bytes, biased to UTF-8's edges */
			static const unsigned char edge[] = { 0x00, 0x0a, 0x22, 0x5c, 0x7f, 0x80,
				0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4,
				0xf5, 0xff };

			len = k % sizeof(in);
			for (size_t i = 0; i < len; i++) {
				seed = seed * 1103515245u + 12345u;
				in[i] = (char)((seed >> 16) % 3 ? edge[(seed >> 8) % sizeof(edge)] :
								 (seed >> 8));
			}
		}
		n = json_escape_mem(out, sizeof(out), in, len);
		assert_true(n < sizeof(out));
		assert_int_equal(n, strlen(out));	/* a NUL byte in is \u0000 out */
		if (!jc_utf8_valid(out, n) || !jc_string_decode(out, n, dec, &dlen))
			fail_msg("case %zu: not a valid JSON string: %s", k, out);
		if (jc_utf8_valid(in, len)) {
			assert_int_equal(dlen, len);
			assert_memory_equal(dec, in, len);
		}
		for (size_t i = 0; i < len; i++)
			fprintf(f, "%02x", (unsigned char)in[i]);
		fprintf(f, "\t%s\n", out);
	}
	assert_int_equal(fclose(f), 0);
	assert_true(python_agrees(path));
	unlink(path);
}

/* A cut buffer is a prefix of the whole text, ending between characters: closed
 * with a quote it is a valid JSON string. */
static void
test_escape_cut_between_characters(void **state)
{
	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(nasty); k++) {
		char full[512], buf[512], dec[512];
		size_t n = json_escape(full, sizeof(full), nasty[k]), dlen;

		assert_true(n < sizeof(full));
		for (size_t size = 1; size <= n; size++) {
			size_t m = json_escape(buf, size, nasty[k]), w = strlen(buf);

			assert_int_equal(m, n);
			assert_true(w < size);
			assert_memory_equal(buf, full, w);
			if (w == 0)
				continue;
			buf[w] = '"';
			if (!jc_string_decode(buf, w + 1, dec, &dlen))
				fail_msg("case %zu cut at %zu: %.*s", k, size, (int)w, buf);
		}
	}
}

static void
test_utf8_cut(void **state)
{
	static const char e[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" "a";	/* é € 😀 a */

	(void)state;
	assert_int_equal(json_utf8_cut(e, 10, 20), 10);
	assert_int_equal(json_utf8_cut(e, 10, 10), 10);
	assert_int_equal(json_utf8_cut(e, 10, 9), 9);
	assert_int_equal(json_utf8_cut(e, 10, 8), 5);
	assert_int_equal(json_utf8_cut(e, 10, 6), 5);
	assert_int_equal(json_utf8_cut(e, 10, 5), 5);
	assert_int_equal(json_utf8_cut(e, 10, 4), 2);
	assert_int_equal(json_utf8_cut(e, 10, 2), 2);
	assert_int_equal(json_utf8_cut(e, 10, 1), 0);
	assert_int_equal(json_utf8_cut(e, 10, 0), 0);
	/* stray continuation bytes: no character to split, cut where asked */
	assert_int_equal(json_utf8_cut("a\x80\x80\x80\x80\x80", 6, 5), 5);
	assert_int_equal(json_utf8_cut("\xc3\xa9\x80\x80", 4, 3), 3);
	assert_int_equal(json_utf8_cut("\x80\x80", 2, 1), 1);
	/* a cut of valid text is valid text */
	for (size_t max = 0; max <= 10; max++)
		assert_true(jc_utf8_valid(e, json_utf8_cut(e, 10, max)));
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
			in[i] = "ab\"\\\n\x01\xc3\xa9 \xff\xe2\x82"[i % 12];
		in[len] = '\0';
		need = json_escape(NULL, 0, in);
		want = malloc(need + 1);
		assert_non_null(want);
		assert_int_equal(json_escape(want, need + 1, in), need);
		got = fput_text(in);
		if (strcmp(got, want) != 0)
			fail_msg("length %zu: json_fput differs from json_escape", len);
		assert_true(jc_valid(got, strlen(got)));
		free(in);
		free(want);
		free(got);
	}
}

/* json_fput writes through a buffer: texts that end exactly at its edge, whatever
 * the last character's size, come out whole (a finding of fuzz_json). */
static void
test_fput_buffer_edges(void **state)
{
	static const char *const last[] = { "a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
					     "\x01", "\xff", "\"" };
	char in[1100], want[1200];

	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(last); k++) {
		for (size_t pre = 490; pre < 1040; pre++) {
			char *got;

			memset(in, 'a', pre);
			snprintf(in + pre, sizeof(in) - pre, "%s", last[k]);
			assert_true(json_escape(want, sizeof(want), in) < sizeof(want));
			got = fput_text(in);
			if (strcmp(got, want) != 0)
				fail_msg("%zu bytes and %s: json_fput differs", pre, want + pre + 1);
			free(got);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_plain),
		cmocka_unit_test(test_escape_specials),
		cmocka_unit_test(test_escape_invalid_utf8),
		cmocka_unit_test(test_escape_truncation),
		cmocka_unit_test(test_escape_valid_json),
		cmocka_unit_test(test_escape_cut_between_characters),
		cmocka_unit_test(test_utf8_cut),
		cmocka_unit_test(test_fput),
		cmocka_unit_test(test_fput_long),
		cmocka_unit_test(test_fput_buffer_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
