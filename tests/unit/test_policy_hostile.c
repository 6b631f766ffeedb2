/*
 * test_policy_hostile.c - the policy loader against hostile and broken
 * input (issue 8, defects 4, 5, 7, 8 and 10): every case here crashed,
 * hung, took seconds to minutes, or loaded something other than what a
 * reviewer would read, before the loader was bounded. Each must now end
 * quickly with an error that names the place and the reason, or load as
 * Calico would. The tests use only the loader's long-standing interface
 * (polset_load_buffer, polset_load_path, diag_format), so they run
 * against older code too; a watchdog alarm turns a hang into a failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test_policy.h"

/* ---- helpers ----------------------------------------------------------------------- */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A hang is a failure: the alarm's default action ends the test binary. */
static void
watchdog(unsigned seconds)
{
	signal(SIGALRM, SIG_DFL);
	alarm(seconds);
}

/* The first diagnostic whose formatted text contains @part, or NULL. */
static const struct diag *
find_diag(const struct polset *ps, const char *part)
{
	for (size_t i = 0; i < ps->diags.n; i++) {
		char buf[4096];

		diag_format(&ps->diags.v[i], buf, sizeof(buf));
		if (strstr(buf, part) != NULL)
			return &ps->diags.v[i];
	}
	return NULL;
}

/* @text loads (the call returns 0) with an error at @line:@col containing @part. */
static void
expect_load_error(const char *text, size_t len, int line, int col, const char *part)
{
	struct polset ps;
	const struct diag *d;

	polset_init(&ps);
	assert_int_equal(polset_load_buffer(&ps, FILE_NAME, text, len), 0);
	d = find_diag(&ps, part);
	if (d == NULL || ps.diags.nerr == 0)
		print_diags(&ps);
	assert_non_null(d);
	assert_int_equal(d->level, DIAG_ERROR);
	if (line > 0) {
		assert_int_equal(d->line, line);
		assert_int_equal(d->col, col);
	}
	polset_free(&ps);
}

/* Append printf output to a growing buffer. */
struct text {
	char *s;
	size_t n, cap;
};

static __attribute__((format(printf, 2, 3))) void
tprintf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	if (t->n + (size_t)n + 1 > t->cap) {
		t->cap = (t->n + (size_t)n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->n, t->cap - t->n, fmt, ap);
	va_end(ap);
	t->n += (size_t)n;
}

/* ---- defect 4: YAML that never ends -------------------------------------------------- */

/* An alias inside the List it names: the decoder used to recurse until the
 * stack overflowed (a 46-byte file crashed check, explain and the daemon). */
static void
test_alias_cycle_through_list(void **state)
{
	static const char text[] =
		"kind: List\n"
		"items: &a\n"
		"- kind: List\n"
		"  items: *a\n";
	static const char flow[] = "{kind: List, items: &a [{kind: List, items: *a}]}\n";

	(void)state;
	watchdog(10);
	expect_load_error(text, sizeof(text) - 1, 4, 10, "alias *a is inside the node it names");
	expect_load_error(flow, sizeof(flow) - 1, 1, 45, "(a cycle");
	alarm(0);
}

/* Aliases fanned out through Lists: 10 levels of 10 make 10^10 objects from
 * under 1 KB. The expansion is counted before it is done. */
static void
test_alias_fanout(void **state)
{
	struct text t = { 0 };
	char prev = 'a';
	double t0;

	(void)state;
	tprintf(&t, "kind: List\nitems:\n- &a {apiVersion: projectcalico.org/v3, kind: "
		"GlobalNetworkSet, metadata: {name: a}}\n");
	for (char name = 'b'; name <= 'k'; name++) {
		tprintf(&t, "- &%c {kind: List, items: [", name);
		for (int i = 0; i < 10; i++)
			tprintf(&t, "%s*%c", i ? "," : "", prev);
		tprintf(&t, "]}\n");
		prev = name;
	}
	assert_true(t.n < 1024);
	watchdog(20);
	t0 = now_s();
	expect_load_error(t.s, t.n, 0, 0, "YAML nodes, counting an alias as the nodes it names");
	expect_load_error(t.s, t.n, 0, 0, "(--max-nodes)");
	assert_true(now_s() - t0 < 2.0);
	alarm(0);
	free(t.s);
}

/* libyaml's scanner costs time proportional to the flow depth for every
 * token: 200 KB of brackets took minutes. Now the depth bound stops it at
 * once. */
static void
test_flow_nesting(void **state)
{
	size_t half = 100000;
	char *text = malloc(2 * half + 2);
	double t0;

	(void)state;
	assert_non_null(text);
	memset(text, '[', half);
	memset(text + half, ']', half);
	memcpy(text + 2 * half, "\n", 2);
	watchdog(30);
	t0 = now_s();
	expect_load_error(text, 2 * half + 1, 1, 65, "nested deeper than 64 levels");
	assert_true(now_s() - t0 < 1.0);
	/* mappings too, in block style as in flow style */
	for (size_t i = 0; i < half / 4; i++)
		memcpy(text + 4 * i, "{a: ", 4);
	expect_load_error(text, half, 1, 257, "(--max-depth)");
	alarm(0);
	free(text);
}

/* The v1 metadata annotation: a 120 KB annotation of nested arrays took 25 s
 * on every reload when read as YAML. It is JSON, read with a bounded JSON
 * reader. */
static void
test_v1_annotation_nesting(void **state)
{
	size_t depth = 60000;
	struct text t = { 0 };
	double t0;

	(void)state;
	tprintf(&t, "apiVersion: crd.projectcalico.org/v1\nkind: GlobalNetworkSet\nmetadata:\n"
		"  name: default.x\n  annotations:\n    projectcalico.org/metadata: '{\"name\":\"x\","
		"\"deep\":");
	for (size_t i = 0; i < depth; i++)
		tprintf(&t, "[");
	for (size_t i = 0; i < depth; i++)
		tprintf(&t, "]");
	tprintf(&t, "}'\nspec: {nets: [10.0.0.0/8]}\n");
	watchdog(60);
	t0 = now_s();
	expect_load_error(t.s, t.n, 6, 33, "annotation is not valid JSON: nested deeper than 64");
	assert_true(now_s() - t0 < 1.0);
	alarm(0);
	free(t.s);
}

#define V1_NETSET(ann) \
	"apiVersion: crd.projectcalico.org/v1\n" \
	"kind: GlobalNetworkSet\n" \
	"metadata:\n" \
	"  name: default.x\n" \
	"  labels: {role: cr}\n" \
	"  annotations:\n" \
	"    projectcalico.org/metadata: " ann "\n" \
	"spec: {nets: [10.0.0.0/8]}\n"

/* What Calico (Go's encoding/json) reads is what nfqwall reads: YAML that
 * is no JSON, a key twice and a NUL are errors, not another object. */
static void
test_v1_annotation_is_json(void **state)
{
	static const char yaml_not_json[] = V1_NETSET("'{name: x, labels: {role: ann}}'");
	static const char dup[] = V1_NETSET("'{\"name\":\"x\",\"labels\":{\"role\":\"a\","
					    "\"role\":\"b\"}}'");
	static const char nul[] = V1_NETSET("'{\"name\":\"x\\u0000y\"}'");
	static const char good[] = V1_NETSET("'{\"name\":\"x\",\"labels\":{\"role\":\"ann\","
					     "\"z\":\"\\u0061\\u002d\\u0062\"}}'");
	/* escapes decode to what Kubernetes refuses in a label value: an error */
	static const char wide[] = V1_NETSET("'{\"name\":\"x\",\"labels\":{\"z\":"
					     "\"\\u00e9\\ud83d\\ude00\"}}'");
	struct polset ps;

	(void)state;
	expect_load_error(yaml_not_json, sizeof(yaml_not_json) - 1, 7, 33,
			  "annotation is not valid JSON: expected a string key");
	expect_load_error(dup, sizeof(dup) - 1, 7, 33, "duplicate key \"role\"");
	expect_load_error(nul, sizeof(nul) - 1, 7, 33, "\\u0000 (a NUL byte)");
	expect_load_error(wide, sizeof(wide) - 1, 7, 33, "the value of label \"z\" is not valid");
	load(&ps, good);
	if (ps.diags.n != 0)
		print_diags(&ps);
	assert_int_equal(ps.diags.nerr, 0);
	assert_int_equal(ps.nnetsets, 1);
	assert_string_equal(ps.netsets[0]->name, "x");
	assert_string_equal(labels_get(&ps.netsets[0]->labels, "role"), "ann");
	assert_string_equal(labels_get(&ps.netsets[0]->labels, "z"), "a-b");
	polset_free(&ps);
}

/* A file of 33 MiB: loaded whole (a 200 MB one took 6 GB) before. */
static void
test_file_size(void **state)
{
	char dir[] = "/tmp/nfqwall-hostile-XXXXXX", path[64];
	const struct diag *d;
	size_t line = 64, total = 33u << 20;
	struct polset ps;
	char *chunk;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	chunk = malloc(1 << 20);
	assert_non_null(chunk);
	for (size_t i = 0; i < (1u << 20) / line; i++) {
		memset(chunk + i * line, ' ', line - 1);
		memcpy(chunk + i * line, "- 1", 3);
		chunk[i * line + line - 1] = '\n';
	}
	for (size_t i = 0; i < total >> 20; i++)
		assert_int_equal(write(fd, chunk, 1 << 20), 1 << 20);
	close(fd);
	free(chunk);
	polset_init(&ps);
	assert_true(polset_load_path(&ps, path) < 0);
	d = find_diag(&ps, "the limit (--max-file-bytes)");
	if (d == NULL)
		print_diags(&ps);
	assert_non_null(d);
	assert_string_equal(d->file, path);
	polset_free(&ps);
	unlink(path);
	rmdir(dir);
}

/* ---- defect 8: a FIFO named *.yaml ------------------------------------------------ */

static void
test_fifo_in_dir(void **state)
{
	char dir[] = "/tmp/nfqwall-hostile-XXXXXX", path[80], target[80];
	struct polset ps;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(GNP_X "  selector: all()\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/b.yaml", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	/* a ConfigMap volume: c.yaml -> ..data/c.yaml, followed */
	snprintf(target, sizeof(target), "%s/..data", dir);
	assert_int_equal(mkdir(target, 0700), 0);
	snprintf(target, sizeof(target), "%s/..data/c.yaml", dir);
	f = fopen(target, "w");
	assert_non_null(f);
	fputs("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: c}\n"
	      "spec: {selector: all()}\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	assert_int_equal(symlink("..data/c.yaml", path), 0);

	watchdog(10);	/* the loader used to block forever opening the FIFO */
	polset_init(&ps);
	polset_load_path(&ps, dir);
	alarm(0);
	assert_non_null(find_diag(&ps, "b.yaml: error:"));
	assert_non_null(find_diag(&ps, "FIFO"));
	assert_int_equal(ps.diags.nerr, 1);
	assert_int_equal(ps.npolicies, 2);	/* the regular file and the symbolic link */
	polset_free(&ps);

	/* named directly, too */
	watchdog(10);
	polset_init(&ps);
	assert_true(polset_load_path(&ps, path) == 0);
	snprintf(path, sizeof(path), "%s/b.yaml", dir);
	assert_true(polset_load_path(&ps, path) != 0 || ps.diags.nerr == 1);
	alarm(0);
	assert_int_equal(ps.diags.nerr, 1);
	polset_free(&ps);

	unlink(path);
	snprintf(path, sizeof(path), "%s/a.yaml", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	unlink(path);
	unlink(target);
	snprintf(target, sizeof(target), "%s/..data", dir);
	rmdir(target);
	rmdir(dir);
}

/* ---- defect 5: keys that two readers read differently -------------------------------- */

static void
test_duplicate_keys(void **state)
{
	static const char twice[] =
		GNP_X
		"  selector: all()\n"
		"  ingress:\n"
		"  - action: Deny\n"
		"  ingress:\n"
		"  - action: Allow\n";
	static const char json[] =
		"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"GlobalNetworkPolicy\","
		"\"metadata\":{\"name\":\"x\"},\"spec\":{\"selector\":\"all()\",\"ingress\":[{"
		"\"action\":\"Deny\",\"action\":\"Allow\"}]}}";
	static const char label[] =
		"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n"
		"metadata: {name: h, labels: {role: web, 'role': db}}\n"
		"spec: {node: n1, interfaceName: eth0}\n";
	static const char same_scalar[] = "{a: 1, \"a\": 2}\n";

	(void)state;
	expect_load_error(twice, sizeof(twice) - 1, 9, 3,
			  "the key \"ingress\" appears twice in this mapping (first at line 7)");
	expect_load_error(json, sizeof(json) - 1, 1, 146, "the key \"action\" appears twice");
	expect_load_error(label, sizeof(label) - 1, 3, 41, "the key \"role\" appears twice");
	expect_load_error(same_scalar, sizeof(same_scalar) - 1, 1, 8, "appears twice");
}

static void
test_nul_bytes(void **state)
{
	static const char key[] =
		"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"GlobalNetworkPolicy\","
		"\"metadata\":{\"name\":\"x\"},\"spec\":{\"selector\":\"all()\",\"ingress\":[{"
		"\"action\":\"Allow\",\"source\":{\"nets\":[\"10.0.0.0/8\"]},"
		"\"sourc\\u0000e\":{\"nets\":[\"0.0.0.0/0\"]}}]}}";
	static const char value[] = GNP_X "  selector: \"role == 'a'\\0 || all()\"\n";
	static const char name[] =
		"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
		"metadata: {name: \"x\\0y\"}\nspec: {}\n";

	(void)state;
	expect_load_error(key, sizeof(key) - 1, 1, 180, "a NUL byte in a key");
	expect_load_error(value, sizeof(value) - 1, 6, 13, "a NUL byte in a value");
	expect_load_error(name, sizeof(name) - 1, 3, 18, "a NUL byte in a value");
}

/* kubectl (go-yaml) expands merge keys; nfqwall would not: an error. */
static void
test_merge_key(void **state)
{
	static const char text[] =
		"base: &b {selector: all()}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: GlobalNetworkPolicy\n"
		"metadata: {name: x}\n"
		"spec:\n"
		"  <<: {selector: all()}\n"
		"  ingress: [{action: Allow}]\n";

	(void)state;
	expect_load_error(text, sizeof(text) - 1, 7, 3, "YAML merge keys (<<) are not supported");
}

/* ---- defect 10: Calico accepts more than 1,024 rules ------------------------------- */

static void
test_many_rules(void **state)
{
	struct text t = { 0 };
	const struct policy *p;
	struct polset ps;

	(void)state;
	tprintf(&t, GNP_X "  selector: all()\n  ingress:\n");
	for (int i = 0; i < 3000; i++)
		tprintf(&t, "  - {action: Allow, protocol: TCP, destination: {ports: [%d]}}\n",
			i + 1);
	p = expect_one_policy(&ps, t.s);
	assert_int_equal(p->ningress, 3000);
	assert_int_equal(p->ingress[2999].dst.ports[0].lo, 3000);
	polset_free(&ps);
	free(t.s);
}

/* ---- defect 7: diagnostics that are one line and keep their reason ------------------ */

static void
assert_one_clean_line(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fail_msg("control byte 0x%02x in \"%s\"", *p, s);
	}
}

static void
test_names_cannot_forge_lines(void **state)
{
	static const char text[] =
		"apiVersion: projectcalico.org/v3\n"
		"kind: GlobalNetworkPolicy\n"
		"metadata:\n"
		"  name: \"x\\nname.yaml:1:1: error: forged\\e[31m\\r\\u202e\\x85\"\n"
		"spec:\n"
		"  selector: \"a ===\"\n";
	struct polset ps;

	(void)state;
	load(&ps, text);
	assert_true(ps.diags.n >= 2);
	for (size_t i = 0; i < ps.diags.n; i++) {
		char buf[2048];

		diag_format(&ps.diags.v[i], buf, sizeof(buf));
		assert_one_clean_line(buf);
		assert_null(strstr(buf, "\xe2\x80\xae"));	/* U+202E, right-to-left override */
		assert_null(strstr(buf, "\xc2\x85"));		/* U+0085, next line */
		assert_non_null(strstr(buf, "x\\nname.yaml:1:1: error: forged\\x1b[31m\\r\\u202e"
					    "\\u0085"));
	}
	polset_free(&ps);
}

/* A long selector used to push its reason past the 1,024-byte message cap,
 * and a long name past the daemon's 1,200-byte log line. */
static void
test_long_selector_keeps_reason(void **state)
{
	struct text t = { 0 };
	const struct diag *d = NULL;
	struct polset ps;
	char line[1200];

	(void)state;
	tprintf(&t, "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: "
		"{name: x}\nspec:\n  selector: \"");
	for (int i = 0; i < 300; i++)
		tprintf(&t, "k%d == 'v' && ", i);
	tprintf(&t, "env = 'prod'\"\n");
	load(&ps, t.s);
	for (size_t i = 0; i < ps.diags.n; i++)
		if (ps.diags.v[i].level == DIAG_ERROR)
			d = &ps.diags.v[i];
	assert_non_null(d);
	diag_format(d, line, sizeof(line));
	assert_non_null(strstr(line, "single '=' is not an operator"));
	assert_non_null(strstr(line, "env = 'prod'"));	/* the part around the column */
	polset_free(&ps);
	free(t.s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alias_cycle_through_list),
		cmocka_unit_test(test_alias_fanout),
		cmocka_unit_test(test_flow_nesting),
		cmocka_unit_test(test_v1_annotation_nesting),
		cmocka_unit_test(test_v1_annotation_is_json),
		cmocka_unit_test(test_file_size),
		cmocka_unit_test(test_fifo_in_dir),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_merge_key),
		cmocka_unit_test(test_many_rules),
		cmocka_unit_test(test_names_cannot_forge_lines),
		cmocka_unit_test(test_long_selector_keeps_reason),
	};

	/* NFQWALL_TEST_FILTER=test_fifo* runs only the tests it matches (one
	 * crash ends the binary, so each case can be run on its own) */
	if (getenv("NFQWALL_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("NFQWALL_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
