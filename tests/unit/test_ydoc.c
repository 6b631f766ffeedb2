/*
 * test_ydoc.c - unit tests for control/policy/ydoc.c: YAML and JSON document
 * streams with 1-based source positions, syntax errors recorded with their
 * position (earlier documents kept), scalar styles and null detection.
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
#include <unistd.h>

#include "ydoc.h"

/* ---- helpers --------------------------------------------------------------- */

static int
load(struct ydocs *docs, struct diags *d, const char *text)
{
	diags_init(d);
	return ydocs_load(docs, "t.yaml", text, strlen(text), NULL, d);
}

static void
assert_diag_text(const struct diags *d, size_t i, const char *want)
{
	char buf[512];

	assert_true(i < d->n);
	diag_format(&d->v[i], buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void
assert_pos(const yaml_node_t *n, int line, int col)
{
	assert_non_null(n);
	if (ydoc_line(n) != line || ydoc_col(n) != col)
		fail_msg("node at %d:%d, wanted %d:%d", ydoc_line(n), ydoc_col(n), line, col);
}

/* ---- documents ----------------------------------------------------------------- */

static void
test_multi_doc(void **state)
{
	static const char text[] =
		"kind: A\n"
		"---\n"
		"kind: B\n"
		"list:\n"
		"  - one\n"
		"  - two\n"
		"---\n"
		"# a comment only document is empty\n"
		"---\n"
		"kind: C\n";
	struct ydocs docs;
	struct diags d;
	yaml_node_t *root, *list;

	(void)state;
	assert_int_equal(load(&docs, &d, text), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(docs.file, "t.yaml");
	/* an empty document in the middle is a document with a null root */
	assert_int_equal(docs.n, 4);
	for (size_t i = 0; i < docs.n; i++)
		assert_string_equal(docs.v[i].file, "t.yaml");
	assert_string_equal(ydoc_str(ydoc_get(&docs.v[0], ydoc_root(&docs.v[0]), "kind")), "A");
	root = ydoc_root(&docs.v[1]);
	assert_string_equal(ydoc_str(ydoc_get(&docs.v[1], root, "kind")), "B");
	list = ydoc_get(&docs.v[1], root, "list");
	assert_int_equal(list->type, YAML_SEQUENCE_NODE);
	assert_int_equal(ydoc_len(list), 2);
	assert_string_equal(ydoc_str(ydoc_item(&docs.v[1], list, 1)), "two");
	assert_true(ydoc_is_null(ydoc_root(&docs.v[2])));
	assert_string_equal(ydoc_str(ydoc_get(&docs.v[3], ydoc_root(&docs.v[3]), "kind")), "C");
	ydocs_free(&docs);
	assert_int_equal(docs.n, 0);
	assert_null(docs.file);
	diags_free(&d);
}

static void
test_empty_stream(void **state)
{
	static const char *const texts[] = { "", "# nothing\n", "\n\n" };
	struct ydocs docs;
	struct diags d;

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		assert_int_equal(load(&docs, &d, texts[i]), 0);
		assert_int_equal(docs.n, 0);
		assert_int_equal(d.n, 0);
		ydocs_free(&docs);
		diags_free(&d);
	}
}

static void
test_positions(void **state)
{
	static const char text[] =
		"apiVersion: v3\n"		/* line 1 */
		"spec:\n"			/* line 2 */
		"  ingress:\n"			/* line 3 */
		"  - action: Allow\n"		/* line 4 */
		"    protocol: TCP\n"		/* line 5 */
		"  -   action: Deny\n";		/* line 6 */
	struct ydocs docs;
	struct diags d;
	yaml_node_t *root, *spec, *ing, *r0, *r1, *k, *v;
	struct ydoc *y;

	(void)state;
	assert_int_equal(load(&docs, &d, text), 0);
	assert_int_equal(docs.n, 1);
	y = &docs.v[0];
	root = ydoc_root(y);
	assert_pos(root, 1, 1);
	assert_pos(ydoc_get(y, root, "apiVersion"), 1, 13);
	spec = ydoc_get(y, root, "spec");
	assert_pos(spec, 3, 3);
	ing = ydoc_get(y, spec, "ingress");
	assert_pos(ing, 4, 3);
	r0 = ydoc_item(y, ing, 0);
	assert_pos(r0, 4, 5);
	assert_pos(ydoc_get(y, r0, "action"), 4, 13);
	assert_pos(ydoc_get(y, r0, "protocol"), 5, 15);
	r1 = ydoc_item(y, ing, 1);
	assert_pos(r1, 6, 7);
	assert_pos(ydoc_get(y, r1, "action"), 6, 15);
	/* keys carry positions too */
	ydoc_pair(y, r0, 1, &k, &v);
	assert_string_equal(ydoc_str(k), "protocol");
	assert_pos(k, 5, 5);
	assert_string_equal(ydoc_str(v), "TCP");
	/* no node, no position */
	assert_int_equal(ydoc_line(NULL), 0);
	assert_int_equal(ydoc_col(NULL), 0);
	ydocs_free(&docs);
	diags_free(&d);
}

static void
test_syntax_error(void **state)
{
	struct ydocs docs;
	struct diags d;

	(void)state;
	assert_int_equal(load(&docs, &d, "a: b: c\n"), -EINVAL);
	assert_int_equal(docs.n, 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.nerr, 1);
	assert_int_equal(d.v[0].line, 1);
	assert_int_equal(d.v[0].col, 5);
	assert_diag_text(&d, 0, "t.yaml:1:5: error: YAML mapping values are not allowed in this "
			 "context");
	ydocs_free(&docs);
	diags_free(&d);

	/* the problem and its context */
	assert_int_equal(load(&docs, &d, "a:\n  - x\n - y\n"), -EINVAL);
	assert_diag_text(&d, 0, "t.yaml:3:2: error: YAML did not find expected key while "
			 "parsing a block mapping");
	ydocs_free(&docs);
	diags_free(&d);

	/* a tab cannot indent */
	assert_int_equal(load(&docs, &d, "\ta: 1\n"), -EINVAL);
	assert_int_equal(d.v[0].line, 1);
	assert_int_equal(d.v[0].col, 1);
	ydocs_free(&docs);
	diags_free(&d);

	assert_int_equal(load(&docs, &d, "a: \"unterminated\n"), -EINVAL);
	assert_diag_text(&d, 0, "t.yaml:2:1: error: YAML found unexpected end of stream while "
			 "scanning a quoted scalar");
	ydocs_free(&docs);
	diags_free(&d);
}

static void
test_syntax_error_keeps_earlier(void **state)
{
	struct ydocs docs;
	struct diags d;

	(void)state;
	assert_int_equal(load(&docs, &d, "---\na: 1\n---\nb: [1, 2\n"), -EINVAL);
	assert_int_equal(docs.n, 1);
	assert_string_equal(ydoc_str(ydoc_get(&docs.v[0], ydoc_root(&docs.v[0]), "a")), "1");
	assert_int_equal(d.n, 1);
	assert_diag_text(&d, 0, "t.yaml:5:1: error: YAML did not find expected ',' or ']' while "
			 "parsing a flow sequence");
	ydocs_free(&docs);
	diags_free(&d);
}

static void
test_json_input(void **state)
{
	static const char text[] =
		"{\n"
		"  \"kind\": \"HostEndpoint\",\n"
		"  \"spec\": {\"ports\": [80, \"http\"], \"node\": null, \"x\": true}\n"
		"}\n";
	struct ydocs docs;
	struct diags d;
	yaml_node_t *root, *spec, *ports;
	struct ydoc *y;

	(void)state;
	assert_int_equal(load(&docs, &d, text), 0);
	assert_int_equal(docs.n, 1);
	y = &docs.v[0];
	root = ydoc_root(y);
	assert_int_equal(root->type, YAML_MAPPING_NODE);
	assert_int_equal(ydoc_len(root), 2);
	assert_string_equal(ydoc_str(ydoc_get(y, root, "kind")), "HostEndpoint");
	assert_true(ydoc_is_quoted(ydoc_get(y, root, "kind")));
	assert_pos(ydoc_get(y, root, "kind"), 2, 11);
	spec = ydoc_get(y, root, "spec");
	assert_pos(spec, 3, 11);
	ports = ydoc_get(y, spec, "ports");
	assert_int_equal(ydoc_len(ports), 2);
	/* a JSON number is a plain scalar, a JSON string a quoted one */
	assert_string_equal(ydoc_str(ydoc_item(y, ports, 0)), "80");
	assert_false(ydoc_is_quoted(ydoc_item(y, ports, 0)));
	assert_true(ydoc_is_quoted(ydoc_item(y, ports, 1)));
	assert_pos(ydoc_item(y, ports, 1), 3, 26);
	assert_true(ydoc_is_null(ydoc_get(y, spec, "node")));
	assert_false(ydoc_is_null(ydoc_get(y, spec, "x")));
	ydocs_free(&docs);
	diags_free(&d);

	/* broken JSON is reported like broken YAML */
	assert_int_equal(load(&docs, &d, "{\"a\": [1, 2}\n"), -EINVAL);
	assert_int_equal(d.nerr, 1);
	assert_int_equal(d.v[0].line, 1);
	ydocs_free(&docs);
	diags_free(&d);
}

static void
test_scalar_styles(void **state)
{
	static const char text[] =
		"plain: 80\n"
		"single: '80'\n"
		"double: \"80\"\n"
		"literal: |-\n"
		"  text\n"
		"folded: >-\n"
		"  text\n"
		"seq: [a]\n";
	struct ydocs docs;
	struct diags d;
	struct ydoc *y;
	yaml_node_t *root;

	(void)state;
	assert_int_equal(load(&docs, &d, text), 0);
	y = &docs.v[0];
	root = ydoc_root(y);
	assert_false(ydoc_is_quoted(ydoc_get(y, root, "plain")));
	assert_true(ydoc_is_quoted(ydoc_get(y, root, "single")));
	assert_true(ydoc_is_quoted(ydoc_get(y, root, "double")));
	assert_false(ydoc_is_quoted(ydoc_get(y, root, "literal")));
	assert_false(ydoc_is_quoted(ydoc_get(y, root, "folded")));
	assert_string_equal(ydoc_str(ydoc_get(y, root, "single")), "80");
	assert_string_equal(ydoc_str(ydoc_get(y, root, "literal")), "text");
	/* not scalars */
	assert_null(ydoc_str(ydoc_get(y, root, "seq")));
	assert_false(ydoc_is_quoted(ydoc_get(y, root, "seq")));
	assert_null(ydoc_str(root));
	assert_null(ydoc_str(NULL));
	assert_false(ydoc_is_quoted(NULL));
	ydocs_free(&docs);
	diags_free(&d);
}

static void
test_null_detection(void **state)
{
	static const char text[] =
		"empty:\n"
		"tilde: ~\n"
		"null1: null\n"
		"null2: Null\n"
		"null3: NULL\n"
		"qnull: 'null'\n"
		"qempty: \"\"\n"
		"nil: nil\n"
		"nUll: nUll\n"
		"zero: 0\n"
		"map: {}\n"
		"seq: []\n";
	static const struct {
		const char *key;
		bool null;
	} cases[] = {
		{ "empty", true }, { "tilde", true }, { "null1", true }, { "null2", true },
		{ "null3", true }, { "qnull", false }, { "qempty", false }, { "nil", false },
		{ "nUll", false }, { "zero", false }, { "map", false }, { "seq", false },
	};
	struct ydocs docs;
	struct diags d;
	struct ydoc *y;
	yaml_node_t *root;

	(void)state;
	assert_int_equal(load(&docs, &d, text), 0);
	y = &docs.v[0];
	root = ydoc_root(y);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		yaml_node_t *n = ydoc_get(y, root, cases[i].key);

		assert_non_null(n);
		if (ydoc_is_null(n) != cases[i].null)
			fail_msg("%s: ydoc_is_null = %d", cases[i].key, ydoc_is_null(n));
	}
	/* an absent key is null */
	assert_null(ydoc_get(y, root, "absent"));
	assert_true(ydoc_is_null(NULL));
	ydocs_free(&docs);
	diags_free(&d);
}

static void
test_accessors_on_wrong_kinds(void **state)
{
	struct ydocs docs;
	struct diags d;
	struct ydoc *y;
	yaml_node_t *root, *k, *v;

	(void)state;
	assert_int_equal(load(&docs, &d, "- a\n- {x: 1, y: 2}\n"), 0);
	y = &docs.v[0];
	root = ydoc_root(y);
	/* ydoc_get on a sequence, a scalar or nothing */
	assert_null(ydoc_get(y, root, "a"));
	assert_null(ydoc_get(y, ydoc_item(y, root, 0), "a"));
	assert_null(ydoc_get(y, NULL, "a"));
	assert_int_equal(ydoc_len(root), 2);
	assert_int_equal(ydoc_len(ydoc_item(y, root, 0)), 0);
	assert_int_equal(ydoc_len(NULL), 0);
	assert_int_equal(ydoc_len(ydoc_item(y, root, 1)), 2);
	ydoc_pair(y, ydoc_item(y, root, 1), 1, &k, &v);
	assert_string_equal(ydoc_str(k), "y");
	assert_string_equal(ydoc_str(v), "2");
	ydocs_free(&docs);
	diags_free(&d);
}

static void
test_load_file(void **state)
{
	char path[] = "/tmp/nfqwall-test-ydoc-XXXXXX";
	static const char text[] = "a: 1\n---\nb: [x, y]\n";
	struct ydocs docs;
	struct diags d;
	char buf[512], want[600];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	diags_init(&d);
	assert_int_equal(ydocs_load(&docs, path, NULL, 0, NULL, &d), 0);
	assert_int_equal(docs.n, 2);
	assert_string_equal(docs.file, path);
	assert_pos(ydoc_get(&docs.v[1], ydoc_root(&docs.v[1]), "b"), 3, 4);
	ydocs_free(&docs);
	unlink(path);

	/* an unreadable file: an error without a position, no documents */
	assert_true(ydocs_load(&docs, path, NULL, 0, NULL, &d) < 0);
	assert_int_equal(docs.n, 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].line, 0);
	diag_format(&d.v[0], buf, sizeof(buf));
	snprintf(want, sizeof(want), "%s: error: cannot read: No such file or directory", path);
	assert_string_equal(buf, want);
	ydocs_free(&docs);
	diags_free(&d);
}

/* ---- what the loader refuses, and aliases it accepts ---------------------------------- */

/* @text stops loading with one error, at @line:@col, containing @part;
 * @ndocs documents before it are kept. */
static void
expect_refused(const char *text, size_t len, size_t ndocs, int line, int col, const char *part)
{
	struct ydocs docs;
	struct diags d;
	char buf[512];

	diags_init(&d);
	assert_int_equal(ydocs_load(&docs, "t.yaml", text, len, NULL, &d), -EINVAL);
	assert_int_equal(docs.n, ndocs);
	assert_int_equal(d.n, 1);
	diag_format(&d.v[0], buf, sizeof(buf));
	if (d.v[0].line != line || d.v[0].col != col || strstr(buf, part) == NULL)
		fail_msg("\"%s\", wanted %d:%d and \"%s\"", buf, line, col, part);
	ydocs_free(&docs);
	diags_free(&d);
}

#define REFUSED(text, ndocs, line, col, part) \
	expect_refused(text, sizeof(text) - 1, ndocs, line, col, part)

static void
test_aliases(void **state)
{
	static const char text[] =
		"a: &x [1, {k: v}]\n"
		"b: *x\n"
		"c: &x two\n"		/* an anchor may be defined again */
		"d: *x\n";
	struct ydocs docs;
	struct diags d;
	yaml_node_t *root;

	(void)state;
	assert_int_equal(load(&docs, &d, text), 0);
	assert_int_equal(d.n, 0);
	root = ydoc_root(&docs.v[0]);
	/* an alias is the node it names: same node, same position */
	assert_ptr_equal(ydoc_get(&docs.v[0], root, "b"), ydoc_get(&docs.v[0], root, "a"));
	assert_pos(ydoc_get(&docs.v[0], root, "b"), 1, 4);	/* at its anchor */
	assert_string_equal(ydoc_str(ydoc_get(&docs.v[0], root, "d")), "two");
	ydocs_free(&docs);
	diags_free(&d);

	/* anchors belong to their document */
	REFUSED("a: &x 1\n---\nb: *x\n", 1, 3, 4, "the alias *x names no anchor before it");
	/* an alias inside what it names */
	REFUSED("a: &x [1, *x]\n", 0, 1, 11, "the alias *x is inside the node it names");
	REFUSED("&x {a: {b: *x}}\n", 0, 1, 12, "(a cycle, which would never end)");
	REFUSED("a: &x\n  b: *x\n", 0, 2, 6, "is inside the node it names");
}

static void
test_keys(void **state)
{
	struct ydocs docs;
	struct diags d;

	(void)state;
	REFUSED("a: 1\nb: 2\na: 3\n", 0, 3, 1, "the key \"a\" appears twice in this mapping "
		"(first at line 1)");
	REFUSED("{x: {a: 1, b: 2, 'a': 3}}\n", 0, 1, 18, "the key \"a\" appears twice");
	/* an alias as a key is the key it names (and has its position) */
	REFUSED("---\nok: 1\n---\n&k k: a\n*k : 2\n", 1, 4, 1, "the key \"k\" appears twice");
	/* the earliest second occurrence is the one named */
	REFUSED("b: 1\na: 1\na: 2\nb: 2\n", 0, 3, 1, "the key \"a\"");
	/* keys that differ only after a NUL cannot exist: NULs are refused */
	REFUSED("\"a\\0b\": 1\n", 0, 1, 1, "a NUL byte in a key");
	REFUSED("a: \"x\\0\"\n", 0, 1, 4, "a NUL byte in a value");
	REFUSED("- \"\\x00\"\n", 0, 1, 3, "a NUL byte in a value");
	REFUSED("{\"a\": \"\\u0000\"}", 0, 1, 7, "a NUL byte in a value");
	/* merge keys: kubectl merges, nfqwall would not */
	REFUSED("base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n", 0, 3, 3,
		"YAML merge keys (<<) are not supported");
	/* a quoted "<<" is a plain key; equal keys in different mappings are fine;
	 * a key that is a collection is not compared */
	assert_int_equal(load(&docs, &d, "'<<': 1\na: {a: 1}\nb: {a: 2}\n? [1]\n: x\n? [1]\n: y\n"),
			 0);
	assert_int_equal(d.n, 0);
	ydocs_free(&docs);
	diags_free(&d);
}

static void
test_limits(void **state)
{
	struct ydoc_limits lim = { .max_bytes = 100, .max_nodes = 5, .max_depth = 2 };
	struct ydocs docs;
	struct diags d;

	(void)state;
	diags_init(&d);
	/* at each bound: fine */
	assert_int_equal(ydocs_load(&docs, "t.yaml", "[[1], 2]", 8, &lim, &d), 0);
	ydocs_free(&docs);
	assert_int_equal(ydocs_load(&docs, "t.yaml", "a: [b, c]", 9, &lim, &d), 0);
	ydocs_free(&docs);
	assert_int_equal(d.n, 0);
	/* past them */
	assert_int_equal(ydocs_load(&docs, "t.yaml", "[[[1]]]", 7, &lim, &d), -EINVAL);
	ydocs_free(&docs);
	assert_int_equal(ydocs_load(&docs, "t.yaml", "a: [b, c, d]", 12, &lim, &d), -EINVAL);
	ydocs_free(&docs);
	assert_int_equal(ydocs_load(&docs, "t.yaml", "x: &a [1]\n---\ny: [1]\n", 21, &lim, &d),
			 -EINVAL);	/* the nodes of the whole stream count */
	assert_int_equal(docs.n, 1);
	ydocs_free(&docs);
	assert_int_equal(d.n, 3);
	assert_diag_text(&d, 0, "t.yaml:1:3: error: nested deeper than 2 levels: the limit "
			 "(--max-depth)");
	assert_diag_text(&d, 1, "t.yaml:1:11: error: more than 5 YAML nodes, counting an alias "
			 "as the nodes it names: the limit (--max-nodes)");
	assert_diag_text(&d, 2, "t.yaml:3:1: error: more than 5 YAML nodes, counting an alias "
			 "as the nodes it names: the limit (--max-nodes)");
	diags_free(&d);
	/* a buffer past max_bytes is not parsed at all */
	diags_init(&d);
	lim.max_bytes = 7;
	assert_int_equal(ydocs_load(&docs, "t.yaml", "[[1], 2]", 8, &lim, &d), -EFBIG);
	assert_int_equal(docs.n, 0);
	assert_diag_text(&d, 0, "t.yaml: error: not read: 8 bytes, more than 7: the limit "
			 "(--max-file-bytes)");
	ydocs_free(&docs);
	diags_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multi_doc),
		cmocka_unit_test(test_empty_stream),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_syntax_error_keeps_earlier),
		cmocka_unit_test(test_json_input),
		cmocka_unit_test(test_scalar_styles),
		cmocka_unit_test(test_null_detection),
		cmocka_unit_test(test_accessors_on_wrong_kinds),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
