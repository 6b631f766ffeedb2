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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
