/*
 * test_diag.c - unit tests for control/policy/diag.c: recording diagnostics and
 * their exact text, "file:line:col: level: object: field: message", with
 * every optional part present or absent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

static void
assert_format(const struct diag *r, const char *want)
{
	char buf[512];
	int n = diag_format(r, buf, sizeof(buf));

	assert_string_equal(buf, want);
	assert_int_equal(n, (int)strlen(want));
}

static void
test_format_parts(void **state)
{
	struct diag r = {
		.level = DIAG_ERROR, .file = (char *)"p.yaml", .line = 12, .col = 7,
		.object = (char *)"GlobalNetworkPolicy/x",
		.field = (char *)"spec.ingress[2].destination.ports[1]",
		.msg = (char *)"port 0 is invalid",
	};

	(void)state;
	assert_format(&r, "p.yaml:12:7: error: GlobalNetworkPolicy/x: "
		      "spec.ingress[2].destination.ports[1]: port 0 is invalid");
	/* no column */
	r.col = 0;
	assert_format(&r, "p.yaml:12: error: GlobalNetworkPolicy/x: "
		      "spec.ingress[2].destination.ports[1]: port 0 is invalid");
	/* no line: no position at all, even with a column */
	r.line = 0;
	r.col = 3;
	assert_format(&r, "p.yaml: error: GlobalNetworkPolicy/x: "
		      "spec.ingress[2].destination.ports[1]: port 0 is invalid");
	/* no field */
	r.line = 1;
	r.col = 1;
	r.field = NULL;
	assert_format(&r, "p.yaml:1:1: error: GlobalNetworkPolicy/x: port 0 is invalid");
	/* no object, a field */
	r.object = NULL;
	r.field = (char *)"spec";
	assert_format(&r, "p.yaml:1:1: error: spec: port 0 is invalid");
	/* neither */
	r.field = NULL;
	assert_format(&r, "p.yaml:1:1: error: port 0 is invalid");
	/* no file */
	r.file = NULL;
	assert_format(&r, "<input>:1:1: error: port 0 is invalid");
}

static void
test_format_levels(void **state)
{
	struct diag r = {
		.level = DIAG_WARN, .file = (char *)"a.json", .line = 3, .col = 9,
		.object = (char *)"HostEndpoint/h", .msg = (char *)"m",
	};

	(void)state;
	assert_format(&r, "a.json:3:9: warning: HostEndpoint/h: m");
	r.level = DIAG_NOTE;
	assert_format(&r, "a.json:3:9: note: HostEndpoint/h: m");
	r.level = DIAG_ERROR;
	assert_format(&r, "a.json:3:9: error: HostEndpoint/h: m");
}

static void
test_format_truncation(void **state)
{
	struct diag r = {
		.level = DIAG_ERROR, .file = (char *)"f", .line = 1, .col = 2,
		.msg = (char *)"abcdef",
	};
	char buf[8];

	(void)state;
	/* snprintf semantics: the full length, a terminated prefix */
	assert_int_equal(diag_format(&r, buf, sizeof(buf)), (int)strlen("f:1:2: error: abcdef"));
	assert_string_equal(buf, "f:1:2: ");
	assert_int_equal(diag_format(&r, NULL, 0), (int)strlen("f:1:2: error: abcdef"));
}

static void
test_add_and_count(void **state)
{
	struct diags d;

	(void)state;
	diags_init(&d);
	assert_int_equal(d.n, 0);
	diag_add(&d, DIAG_ERROR, "f.yaml", 4, 2, "Tier/t", "spec.order", "bad order %d", 7);
	diag_add(&d, DIAG_WARN, "f.yaml", 5, 0, NULL, NULL, "w%s", "1");
	diag_add(&d, DIAG_NOTE, NULL, 0, 0, "Tier/t", "", "object rejected");
	diag_add(&d, DIAG_WARN, "f.yaml", 6, 1, NULL, "x", "w2");
	assert_int_equal(d.n, 4);
	assert_int_equal(d.nerr, 1);
	assert_int_equal(d.nwarn, 2);

	assert_int_equal(d.v[0].level, DIAG_ERROR);
	assert_string_equal(d.v[0].file, "f.yaml");
	assert_int_equal(d.v[0].line, 4);
	assert_int_equal(d.v[0].col, 2);
	assert_string_equal(d.v[0].object, "Tier/t");
	assert_string_equal(d.v[0].field, "spec.order");
	assert_string_equal(d.v[0].msg, "bad order 7");
	/* an empty field is stored as none */
	assert_null(d.v[2].field);
	assert_null(d.v[2].file);

	assert_format(&d.v[0], "f.yaml:4:2: error: Tier/t: spec.order: bad order 7");
	assert_format(&d.v[1], "f.yaml:5: warning: w1");
	assert_format(&d.v[2], "<input>: note: Tier/t: object rejected");
	assert_format(&d.v[3], "f.yaml:6:1: warning: x: w2");
	diags_free(&d);
	assert_int_equal(d.n, 0);
	assert_int_equal(d.nerr, 0);
	assert_int_equal(d.nwarn, 0);
	assert_null(d.v);
}

static void
test_add_copies(void **state)
{
	struct diags d;
	char file[16] = "one.yaml", obj[16] = "Kind/a", field[16] = "spec";

	(void)state;
	diags_init(&d);
	diag_add(&d, DIAG_ERROR, file, 1, 1, obj, field, "%s", "m");
	file[0] = obj[0] = field[0] = 'Z';
	assert_format(&d.v[0], "one.yaml:1:1: error: Kind/a: spec: m");
	diags_free(&d);
}

static void
test_many(void **state)
{
	struct diags d;

	(void)state;
	diags_init(&d);
	for (int i = 0; i < 100; i++)
		diag_add(&d, i % 3 == 0 ? DIAG_ERROR : DIAG_WARN, "f", i + 1, 1, NULL, NULL,
			 "number %d", i);
	assert_int_equal(d.n, 100);
	assert_int_equal(d.nerr, 34);
	assert_int_equal(d.nwarn, 66);
	assert_string_equal(d.v[99].msg, "number 99");
	assert_int_equal(d.v[99].line, 100);
	diags_free(&d);
}

static void
test_print(void **state)
{
	struct diags d;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	diags_init(&d);
	diag_add(&d, DIAG_ERROR, "a.yaml", 2, 3, "GlobalNetworkPolicy/x", "spec.types[1]",
		 "duplicate type Ingress");
	diag_add(&d, DIAG_NOTE, "a.yaml", 1, 1, "GlobalNetworkPolicy/x", NULL, "object rejected");
	f = open_memstream(&out, &len);
	assert_non_null(f);
	diag_print(&d, f);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(out, "a.yaml:2:3: error: GlobalNetworkPolicy/x: spec.types[1]: "
			    "duplicate type Ingress\n"
			    "a.yaml:1:1: note: GlobalNetworkPolicy/x: object rejected\n");
	free(out);

	/* nothing to print */
	diags_free(&d);
	out = NULL;
	f = open_memstream(&out, &len);
	assert_non_null(f);
	diag_print(&d, f);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(out, "");
	free(out);
}

/* Everything a policy file can put in a diagnostic prints as one line of
 * plain text: controls, backslashes and invalid UTF-8 escaped, C1 and the
 * characters that reorder or split lines too; other UTF-8 kept. */
static void
test_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain text", "plain text" },
		{ "a\nb", "a\\nb" },
		{ "line\nfile:1:1: error: forged", "line\\nfile:1:1: error: forged" },
		{ "\t\r\x1b[31m\x7f", "\\t\\r\\x1b[31m\\x7f" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "\xff\xfe bad \xc3", "\\xff\\xfe bad \\xc3" },
		{ "\xc0\x80 overlong", "\\xc0\\x80 overlong" },
		{ "\xc2\x85 \xc2\x9b", "\\u0085 \\u009b" },
		{ "\xe2\x80\xae \xe2\x80\xa8 \xe2\x81\xa6 \xe2\x80\x8f", "\\u202e \\u2028 \\u2066 \\u200f" },
	};
	char buf[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = diag_escape(cases[i].in, buf, sizeof(buf));

		assert_string_equal(buf, cases[i].out);
		assert_int_equal(n, strlen(cases[i].out));
	}
	/* only whole escapes and characters: never half of one */
	assert_int_equal(diag_escape("ab\n", buf, 4), 4);
	assert_string_equal(buf, "ab");
	assert_int_equal(diag_escape("a\xe2\x82\xac", buf, 4), 4);
	assert_string_equal(buf, "a");
	assert_int_equal(diag_escape("x", NULL, 0), 1);
}

/* Every part of a record is escaped. */
static void
test_format_escapes_parts(void **state)
{
	struct diag r = {
		.level = DIAG_ERROR, .file = (char *)"dir\n/p.yaml", .line = 2, .col = 1,
		.object = (char *)"GlobalNetworkPolicy/x\nf:1:1: error: y",
		.field = (char *)"metadata.labels.\x1b]0;t\x07",
		.msg = (char *)"bad \xff",
	};

	(void)state;
	assert_format(&r, "dir\\n/p.yaml:2:1: error: GlobalNetworkPolicy/x\\nf:1:1: error: y: "
		      "metadata.labels.\\x1b]0;t\\x07: bad \\xff");
}

/* When the line is too long, the message (the reason) stays whole: the
 * field, then the file, then the object are shortened first. */
static void
test_format_keeps_reason(void **state)
{
	char field[600], file[300], buf[200];
	struct diag r = {
		.level = DIAG_ERROR, .line = 3, .col = 4, .object = (char *)"Kind/name",
		.msg = (char *)"the reason",
	};
	int n;

	(void)state;
	memset(field, 'f', sizeof(field) - 1);
	field[sizeof(field) - 1] = '\0';
	memset(file, 'p', sizeof(file) - 1);
	file[sizeof(file) - 1] = '\0';
	r.field = field;
	r.file = file;
	n = diag_format(&r, buf, sizeof(buf));
	assert_int_equal(n, 299 + strlen(":3:4: error: Kind/name: ") + 599 + 2 +
			 strlen("the reason"));
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_non_null(strstr(buf, ": the reason"));
	assert_non_null(strstr(buf, "...:3:4: error: Kind/name: ...: the reason"));
	/* a long message is cut at its end (what it quotes comes last), after
	 * the object was shortened */
	r.field = NULL;
	r.file = (char *)"f";
	r.msg = field;
	diag_format(&r, buf, 40);
	assert_string_equal(buf, "f:3:4: error: ...: fffffffffffffffff...");
}

/* Past DIAG_KEEP_MAX records, the rest are counted, not kept; printing says so. */
static void
test_keep_max(void **state)
{
	struct diags d;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	diags_init(&d);
	for (int i = 0; i < DIAG_KEEP_MAX + 5; i++)
		diag_add(&d, i % 2 ? DIAG_WARN : DIAG_ERROR, "f", i + 1, 1, NULL, NULL, "n%d", i);
	assert_int_equal(d.n, DIAG_KEEP_MAX);
	assert_int_equal(d.nhidden, 5);
	assert_int_equal(d.nerr, (DIAG_KEEP_MAX + 6) / 2);
	assert_int_equal(d.nwarn, (DIAG_KEEP_MAX + 5) / 2);
	assert_int_equal(d.nlost, 0);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	diag_print(&d, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(out, "note: 5 more diagnostics not shown (at most 10000 are kept)\n"));
	free(out);
	diags_free(&d);
}

/* A message longer than DIAG_MSG_MAX is cut on a character boundary. */
static void
test_long_message(void **state)
{
	size_t n = DIAG_MSG_MAX + 100;
	char *m = malloc(n + 1);
	struct diags d;

	(void)state;
	assert_non_null(m);
	for (size_t i = 0; i < n; i += 2)
		memcpy(m + i, "\xc3\xa9", 2);	/* two-byte characters */
	m[n] = '\0';
	diags_init(&d);
	diag_add(&d, DIAG_ERROR, "f", 1, 1, NULL, NULL, "%s", m);
	assert_true(strlen(d.v[0].msg) <= DIAG_MSG_MAX);
	assert_string_equal(d.v[0].msg + strlen(d.v[0].msg) - 5, "\xc3\xa9...");
	diags_free(&d);
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parts),
		cmocka_unit_test(test_format_levels),
		cmocka_unit_test(test_format_truncation),
		cmocka_unit_test(test_add_and_count),
		cmocka_unit_test(test_add_copies),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_format_escapes_parts),
		cmocka_unit_test(test_format_keeps_reason),
		cmocka_unit_test(test_keep_max),
		cmocka_unit_test(test_long_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
