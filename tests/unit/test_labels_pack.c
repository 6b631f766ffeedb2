/*
 * test_labels_pack.c - labels_pack: one block for a map built once (a pod's
 * labels): sorted, of equal keys the last wins, lookups and the over/under
 * chain as for any map, and labels_free releases the block.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "labels.h"

static void
test_pack(void **state)
{
	static const struct label pairs[] = {
		{ (char *)"zone", (char *)"b" }, { (char *)"app", (char *)"web" },
		{ (char *)"zone", (char *)"a" }, { (char *)"tier", (char *)"" },
	};
	struct labels over, l;

	(void)state;
	labels_init(&over);
	assert_int_equal(labels_set(&over, "projectcalico.org/namespace", "shop"), 0);
	labels_init(&l);
	l.over = &over;
	assert_int_equal(labels_pack(&l, pairs, 4), 0);
	assert_int_equal(l.n, 3);		/* zone once */
	assert_string_equal(l.v[0].key, "app");
	assert_string_equal(l.v[2].key, "zone");
	assert_string_equal(labels_get(&l, "zone"), "a");	/* the last one */
	assert_string_equal(labels_get(&l, "tier"), "");
	assert_null(labels_get(&l, "absent"));
	assert_string_equal(labels_get(&l, "projectcalico.org/namespace"), "shop");
	assert_non_null(l.pack);
	labels_free(&l);
	assert_null(l.pack);
	assert_int_equal(l.n, 0);
	/* nothing to pack: the map stays empty, nothing allocated */
	assert_int_equal(labels_pack(&l, pairs, 0), 0);
	assert_null(l.pack);
	labels_free(&over);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
