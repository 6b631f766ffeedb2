/*
 * test_jscan.c - the JSON scanner the Kubernetes client splits lists and
 * watch events with (control/k8s/jscan.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "jscan.h"

static struct jspan
J(const char *s)
{
	return (struct jspan){ s, strlen(s) };
}

static void
test_get_and_path(void **state)
{
	const char *doc = "{\"kind\":\"List\", \"metadata\": {\"resourceVersion\":\"42\","
			  "\"continue\":\"\"}, \"items\":[{\"a\":1},{\"a\":\"}]\\\"\"}], \"n\":null}";
	char buf[64];

	(void)state;
	assert_true(jscan_string(jscan_get(J(doc), "kind"), buf, sizeof(buf)));
	assert_string_equal(buf, "List");
	assert_true(jscan_string(jscan_path(J(doc), "metadata.resourceVersion"), buf, sizeof(buf)));
	assert_string_equal(buf, "42");
	assert_true(jscan_string(jscan_path(J(doc), "metadata.continue"), buf, sizeof(buf)));
	assert_string_equal(buf, "");
	assert_null(jscan_get(J(doc), "absent").p);
	assert_null(jscan_path(J(doc), "metadata.absent.deeper").p);
	assert_int_equal(jscan_get(J(doc), "n").n, 4);
	/* not a string */
	assert_false(jscan_string(jscan_get(J(doc), "items"), buf, sizeof(buf)));
	/* raw UTF-8 is copied as it is; \u escapes become UTF-8 */
	assert_true(jscan_string(J("\"caf\xc3\xa9 \\u00e9\""), buf, sizeof(buf)));
	assert_string_equal(buf, "caf\xc3\xa9 \xc3\xa9");
	/* ... and counts against the buffer byte by byte */
	assert_false(jscan_string(J("\"\xc3\xa9\xc3\xa9\""), buf, 4));
}

static bool
count_item(struct jspan item, void *arg)
{
	(*(int *)arg)++;
	return item.p[0] == '{';
}

static void
test_each(void **state)
{
	int n = 0;

	(void)state;
	assert_true(jscan_each(J("[ {\"x\":[1,2]}, {\"y\":\"]\"} ,{} ]"), count_item, &n));
	assert_int_equal(n, 3);
	n = 0;
	assert_true(jscan_each(J("[]"), count_item, &n));
	assert_int_equal(n, 0);
	assert_false(jscan_each(J("[{\"x\":1},"), count_item, &n));	/* cut short */
	assert_false(jscan_each(J("{}"), count_item, &n));		/* not an array */
	assert_false(jscan_each(J("[1, 2]"), count_item, &n));		/* the callback refused */
}

#define PAIRS_MAX 256	/* the size of test_pairs_and_escapes' output */

/* Append "key=value;" for each string value; the output stays bounded. */
static bool
pair(const char *key, struct jspan v, void *arg)
{
	char *out = arg, val[32];
	size_t n = strlen(out);

	if (jscan_string(v, val, sizeof(val)))
		assert_true((size_t)snprintf(out + n, PAIRS_MAX - n, "%s=%s;", key, val) <
			    PAIRS_MAX - n);
	return true;
}

static void
test_pairs_and_escapes(void **state)
{
	char out[PAIRS_MAX] = "", buf[64];

	(void)state;
	assert_true(jscan_each_pair(J("{\"role\":\"node\", \"k8s.io/x\":\"a\\\"b\", \"n\":3}"), pair,
				    out));
	assert_string_equal(out, "role=node;k8s.io/x=a\"b;");
	assert_true(jscan_string(J("\"tab\\there \\u00e9 \\u20ac\""), buf, sizeof(buf)));
	assert_string_equal(buf, "tab\there \xc3\xa9 \xe2\x82\xac");
	assert_false(jscan_string(J("\"longer than the buffer\""), buf, 8));
}

static void
test_value_end(void **state)
{
	const char *s = "  {\"a\":\"{\"}  trailing";
	const char *e = jscan_value_end(s, s + strlen(s));

	(void)state;
	assert_non_null(e);
	assert_int_equal(e - s, 11);
	assert_null(jscan_value_end("{\"a\":", "{\"a\":" + 5));
	s = "123,";
	assert_ptr_equal(jscan_value_end(s, s + 4), s + 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_and_path),
		cmocka_unit_test(test_each),
		cmocka_unit_test(test_pairs_and_escapes),
		cmocka_unit_test(test_value_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
