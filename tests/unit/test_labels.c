/*
 * test_labels.c - unit tests for control/policy/labels.c: the sorted, owned label
 * maps that HostEndpoints, network sets and selectors use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"

/* Keys must be strictly ascending (strcmp): sorted and unique. */
static void
assert_sorted(const struct labels *l)
{
	for (size_t i = 1; i < l->n; i++)
		if (strcmp(l->v[i - 1].key, l->v[i].key) >= 0)
			fail_msg("keys %zu \"%s\" and %zu \"%s\" out of order", i - 1,
				 l->v[i - 1].key, i, l->v[i].key);
}

static void
test_empty(void **state)
{
	struct labels l;

	(void)state;
	labels_init(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
	assert_null(labels_get(&l, "a"));
	assert_null(labels_get(&l, ""));
	labels_free(&l);
	assert_int_equal(l.n, 0);
	/* free twice is harmless: free leaves an empty map */
	labels_free(&l);
}

static void
test_set_get_replace(void **state)
{
	struct labels l;
	char key[8] = "role", value[8] = "web";

	(void)state;
	labels_init(&l);
	assert_int_equal(labels_set(&l, key, value), 0);
	/* copies, not references */
	memcpy(key, "xxxx", 5);
	memcpy(value, "yyy", 4);
	assert_string_equal(labels_get(&l, "role"), "web");
	assert_null(labels_get(&l, "xxxx"));

	assert_int_equal(labels_set(&l, "role", "db"), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(labels_get(&l, "role"), "db");

	/* the empty value is a value (has(k) is true for it) */
	assert_int_equal(labels_set(&l, "empty", ""), 0);
	assert_non_null(labels_get(&l, "empty"));
	assert_string_equal(labels_get(&l, "empty"), "");

	/* keys are case-sensitive and compared whole */
	assert_null(labels_get(&l, "Role"));
	assert_null(labels_get(&l, "rol"));
	assert_null(labels_get(&l, "roles"));
	assert_int_equal(labels_set(&l, "Role", "upper"), 0);
	assert_string_equal(labels_get(&l, "Role"), "upper");
	assert_string_equal(labels_get(&l, "role"), "db");
	assert_int_equal(l.n, 3);
	assert_sorted(&l);
	labels_free(&l);
}

static void
test_sorted_growth(void **state)
{
	struct labels l;
	char key[32], value[32];

	(void)state;
	labels_init(&l);
	/* descending insertion, well past the first allocation */
	for (int i = 99; i >= 0; i--) {
		snprintf(key, sizeof(key), "k%03d", i);
		snprintf(value, sizeof(value), "v%d", i);
		assert_int_equal(labels_set(&l, key, value), 0);
	}
	/* and some in the middle again, replacing */
	for (int i = 0; i < 100; i += 7) {
		snprintf(key, sizeof(key), "k%03d", i);
		assert_int_equal(labels_set(&l, key, "again"), 0);
	}
	assert_int_equal(l.n, 100);
	assert_sorted(&l);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%03d", i);
		snprintf(value, sizeof(value), "v%d", i);
		assert_string_equal(labels_get(&l, key), i % 7 == 0 ? "again" : value);
	}
	assert_string_equal(l.v[0].key, "k000");
	assert_string_equal(l.v[99].key, "k099");
	labels_free(&l);
	assert_int_equal(l.n, 0);
}

static void
test_merge(void **state)
{
	struct labels dst, src;

	(void)state;
	labels_init(&dst);
	labels_init(&src);
	assert_int_equal(labels_set(&dst, "a", "1"), 0);
	assert_int_equal(labels_set(&dst, "b", "2"), 0);
	assert_int_equal(labels_set(&src, "b", "src"), 0);
	assert_int_equal(labels_set(&src, "c", "3"), 0);
	assert_int_equal(labels_merge(&dst, &src), 0);
	assert_int_equal(dst.n, 3);
	assert_sorted(&dst);
	assert_string_equal(labels_get(&dst, "a"), "1");
	assert_string_equal(labels_get(&dst, "b"), "src");	/* src wins */
	assert_string_equal(labels_get(&dst, "c"), "3");
	/* src is untouched and independent */
	assert_int_equal(src.n, 2);
	labels_free(&src);
	assert_string_equal(labels_get(&dst, "c"), "3");

	/* merging the empty map changes nothing */
	assert_int_equal(labels_merge(&dst, &src), 0);
	assert_int_equal(dst.n, 3);
	labels_free(&dst);
}

static void
test_odd_keys(void **state)
{
	struct labels l;

	(void)state;
	labels_init(&l);
	/* selector keys may hold '/', '.', '-' and start with anything (§6.1) */
	assert_int_equal(labels_set(&l, "projectcalico.org/namespace", "ns1"), 0);
	assert_int_equal(labels_set(&l, "pcns.projectcalico.org/name", "ns1"), 0);
	assert_int_equal(labels_set(&l, "-x", "dash"), 0);
	assert_int_equal(labels_set(&l, "", "empty key"), 0);
	assert_sorted(&l);
	assert_string_equal(l.v[0].key, "");
	assert_string_equal(labels_get(&l, ""), "empty key");
	assert_string_equal(labels_get(&l, "-x"), "dash");
	assert_string_equal(labels_get(&l, "projectcalico.org/namespace"), "ns1");
	labels_free(&l);
}

/* labels_append + labels_finish: any order in, sorted out, the last of
 * equal keys kept; many labels in O(n log n) (quadratic before: a 3 MiB
 * object of labels took minutes). */
static void
test_append_finish(void **state)
{
	struct labels l;
	char key[32], value[32];

	(void)state;
	labels_init(&l);
	assert_int_equal(labels_finish(&l), 0);	/* empty */
	for (int i = 0; i < 1000; i++) {
		int k = (i * 7919) % 1000;	/* a permutation of 0..999 */

		snprintf(key, sizeof(key), "k%04d", k);
		snprintf(value, sizeof(value), "v%d", k);
		assert_int_equal(labels_append(&l, key, value), 0);
	}
	assert_int_equal(labels_append(&l, "k0500", "first"), 0);
	assert_int_equal(labels_append(&l, "k0500", "last"), 0);
	assert_int_equal(labels_finish(&l), 0);
	assert_int_equal(l.n, 1000);
	assert_sorted(&l);
	assert_string_equal(labels_get(&l, "k0500"), "last");
	assert_string_equal(labels_get(&l, "k0999"), "v999");
	labels_free(&l);

	/* 200,000 labels in descending order: fast */
	labels_init(&l);
	for (int i = 200000; i > 0; i--) {
		snprintf(key, sizeof(key), "key-%07d", i);
		assert_int_equal(labels_append(&l, key, "v"), 0);
	}
	assert_int_equal(labels_finish(&l), 0);
	assert_int_equal(l.n, 200000);
	assert_sorted(&l);
	labels_free(&l);
}

/* labels_merge is one pass over both maps; src wins, dst keeps the rest. */
static void
test_merge_linear(void **state)
{
	struct labels dst, src;
	char key[32];

	(void)state;
	labels_init(&dst);
	labels_init(&src);
	for (int i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "k%06d", i);
		assert_int_equal(labels_append(i % 2 ? &src : &dst, key, i % 2 ? "src" : "dst"),
				 0);
		if (i % 10 == 0)
			assert_int_equal(labels_append(&src, key, "both"), 0);
	}
	assert_int_equal(labels_finish(&dst), 0);
	assert_int_equal(labels_finish(&src), 0);
	assert_int_equal(labels_merge(&dst, &src), 0);
	assert_int_equal(dst.n, 100000);
	assert_sorted(&dst);
	assert_string_equal(labels_get(&dst, "k000000"), "both");
	assert_string_equal(labels_get(&dst, "k000001"), "src");
	assert_string_equal(labels_get(&dst, "k000002"), "dst");
	/* src is untouched, an empty src changes nothing */
	assert_int_equal(src.n, 60000);
	labels_free(&src);
	assert_int_equal(labels_merge(&dst, &src), 0);
	assert_int_equal(dst.n, 100000);
	labels_free(&dst);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_set_get_replace),
		cmocka_unit_test(test_sorted_growth),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_append_finish),
		cmocka_unit_test(test_merge_linear),
		cmocka_unit_test(test_odd_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
