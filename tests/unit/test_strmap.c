/*
 * test_strmap.c - the string map (control/util/strmap.c): put, get and
 * del against a plain array, over random operations on a small key space
 * (so that probe runs collide, wrap around the table and are cut by
 * deletions), then every key checked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "strmap.h"

#define KEYS	700

static uint64_t rng = 88172645463325252ull;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static void
test_against_array(void **state)
{
	static bool in[KEYS];
	static size_t val[KEYS];
	struct strmap m = { 0 };
	size_t n = 0;

	(void)state;
	for (int op = 0; op < 200000; op++) {
		uint32_t k = rnd(KEYS);
		char key[32];
		size_t v;

		snprintf(key, sizeof(key), "ns-%u/pod-%u", k % 7, k);
		switch (rnd(3)) {
		case 0:
			assert_int_equal(strmap_put(&m, key, (size_t)op), 0);
			n += !in[k];
			in[k] = true;
			val[k] = (size_t)op;
			break;
		case 1:
			assert_int_equal(strmap_del(&m, key), in[k]);
			n -= in[k];
			in[k] = false;
			break;
		default:
			assert_int_equal(strmap_get(&m, key, &v), in[k]);
			if (in[k])
				assert_int_equal(v, val[k]);
		}
		assert_int_equal(m.n, n);
	}
	for (uint32_t k = 0; k < KEYS; k++) {
		char key[32];
		size_t v;

		snprintf(key, sizeof(key), "ns-%u/pod-%u", k % 7, k);
		assert_int_equal(strmap_get(&m, key, &v), in[k]);
		if (in[k])
			assert_int_equal(v, val[k]);
	}
	assert_false(strmap_del(&m, "absent"));
	strmap_free(&m);
	assert_false(strmap_del(&m, "after free"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_array),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
