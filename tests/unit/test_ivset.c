/*
 * test_ivset.c - unit tests for control/compile/ivset.c, the interval sets the
 * compiler describes each rule field with. Merging (overlap and adjacency),
 * intersection and difference are checked against a brute-force bitmap
 * model on random small sets over [0, 255]; the 128-bit edges and CIDR
 * insertion for both families are checked by hand.
 *
 *   NFQWALL_IVSET_SEED=7 build/tests/test_ivset
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "helpers.h"
#include "ivset.h"

#define ROUNDS	600
#define UNIVERSE 256

static struct test_rng rng;

static uint32_t
rnd(uint32_t n)
{
	return test_rng_below(&rng, n);
}

/* NFQWALL_IVSET_SEED, or the default seed: the same run each time. */
static void
seed_rng(void)
{
	uint64_t seed = test_rng_seed(&rng, "NFQWALL_IVSET_SEED", 20261124);

	rng.state = seed * 0x9e3779b97f4a7c15ull + 1;	/* the sequence the tests always had */
}

/* ---- the model ------------------------------------------------------------------- */

struct bitmap {
	bool b[UNIVERSE];
};

/* Add up to 5 random intervals (short and long ones) to both @s and @m. */
static void
random_set(struct ivset *s, struct bitmap *m)
{
	int n = (int)rnd(6);

	memset(m, 0, sizeof(*m));
	ivset_init(s);
	for (int i = 0; i < n; i++) {
		uint32_t lo = rnd(UNIVERSE), len = rnd(4) == 0 ? rnd(UNIVERSE) : rnd(8);
		uint32_t hi = lo + len < UNIVERSE ? lo + len : UNIVERSE - 1;

		ivset_add(s, lo, hi);
		for (uint32_t x = lo; x <= hi; x++)
			m->b[x] = true;
	}
	ivset_norm(s);
}

/* @s must be normalised (sorted, disjoint, non-adjacent) and equal to @m. */
static void
assert_model(const struct ivset *s, const struct bitmap *m, const char *what, int round)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].lo > s->v[i].hi)
			fail_msg("round %d %s: interval %zu reversed", round, what, i);
		if (i > 0 && s->v[i].lo <= s->v[i - 1].hi + 1)
			fail_msg("round %d %s: intervals %zu and %zu overlap or touch", round, what,
				 i - 1, i);
	}
	for (uint32_t x = 0; x < UNIVERSE; x++) {
		if (ivset_has(s, x) != m->b[x])
			fail_msg("round %d %s: ivset_has(%u) = %d, model %d", round, what, x,
				 ivset_has(s, x), m->b[x]);
	}
	assert_false(ivset_has(s, UNIVERSE));
	assert_int_equal(ivset_is_full(s, UNIVERSE - 1),
			 memchr(m->b, false, sizeof(m->b)) == NULL);
}

static void
assert_ivs(const struct ivset *s, size_t n, ...)
{
	va_list ap;

	if (s->n != n)
		fail_msg("%zu intervals, wanted %zu", s->n, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		unsigned lo = va_arg(ap, unsigned), hi = va_arg(ap, unsigned);

		if (s->v[i].lo != lo || s->v[i].hi != hi)
			fail_msg("interval %zu is [%u, %u], wanted [%u, %u]", i,
				 (unsigned)s->v[i].lo, (unsigned)s->v[i].hi, lo, hi);
	}
	va_end(ap);
}

/* ---- tests --------------------------------------------------------------------------- */

static void
test_norm_merge(void **state)
{
	struct ivset s;

	(void)state;
	ivset_init(&s);
	assert_int_equal(s.n, 0);
	assert_false(ivset_has(&s, 0));

	/* overlap, containment, adjacency, and a gap of one */
	ivset_add(&s, 20, 30);
	ivset_add(&s, 10, 15);
	ivset_add(&s, 25, 40);		/* overlaps [20, 30] */
	ivset_add(&s, 16, 18);		/* adjacent to [10, 15] */
	ivset_add(&s, 50, 60);
	ivset_add(&s, 52, 55);		/* inside [50, 60] */
	ivset_add(&s, 42, 48);		/* 41 and 49 missing: stays apart */
	ivset_norm(&s);
	assert_ivs(&s, 4, 10, 18, 20, 40, 42, 48, 50, 60);
	assert_true(ivset_has(&s, 10));
	assert_true(ivset_has(&s, 18));
	assert_false(ivset_has(&s, 19));
	assert_false(ivset_has(&s, 41));
	assert_false(ivset_has(&s, 49));
	assert_true(ivset_has(&s, 60));
	assert_false(ivset_has(&s, 61));

	/* [19, 19] and [41, 41], [49, 49] close the gaps */
	ivset_add(&s, 19, 19);
	ivset_add(&s, 41, 41);
	ivset_add(&s, 49, 49);
	ivset_norm(&s);
	assert_ivs(&s, 1, 10, 60);

	/* single intervals and duplicates */
	ivset_add(&s, 10, 60);
	ivset_norm(&s);
	assert_ivs(&s, 1, 10, 60);
	ivset_free(&s);
	assert_int_equal(s.n, 0);
	assert_null(s.v);

	ivset_add(&s, 7, 7);
	ivset_norm(&s);
	assert_ivs(&s, 1, 7, 7);
	ivset_free(&s);
}

static void
test_full(void **state)
{
	struct ivset s;
	u128 max = ~(u128)0;

	(void)state;
	ivset_init(&s);
	assert_false(ivset_is_full(&s, 255));
	ivset_full(&s, 255);
	assert_true(ivset_is_full(&s, 255));
	assert_false(ivset_is_full(&s, 256));
	assert_true(ivset_has(&s, 0));
	assert_true(ivset_has(&s, 255));

	/* two halves that touch are full after norm */
	s.n = 0;
	ivset_add(&s, 128, 255);
	ivset_add(&s, 0, 127);
	assert_false(ivset_is_full(&s, 255));
	ivset_norm(&s);
	assert_true(ivset_is_full(&s, 255));

	/* the whole 128-bit space, joined at the top and with no wrap */
	s.n = 0;
	ivset_add(&s, max - 5, max);
	ivset_add(&s, 0, max - 6);
	ivset_add(&s, max, max);
	ivset_norm(&s);
	assert_true(ivset_is_full(&s, max));
	assert_true(ivset_has(&s, max));
	ivset_full(&s, max);
	assert_true(ivset_is_full(&s, max));
	ivset_free(&s);
}

static void
test_and_sub_edges(void **state)
{
	struct ivset a, b;
	u128 max = ~(u128)0;

	(void)state;
	ivset_init(&a);
	ivset_init(&b);

	/* anything and the empty set */
	ivset_add(&a, 1, 5);
	ivset_sub(&a, &b);
	assert_ivs(&a, 1, 1, 5);
	ivset_and(&a, &b);
	assert_int_equal(a.n, 0);

	/* the extremes of the 128-bit space */
	ivset_full(&a, max);
	ivset_add(&b, max, max);
	ivset_sub(&a, &b);
	assert_int_equal(a.n, 1);
	assert_true(a.v[0].lo == 0 && a.v[0].hi == max - 1);
	ivset_full(&a, max);
	b.n = 0;
	ivset_add(&b, 0, 0);
	ivset_sub(&a, &b);
	assert_int_equal(a.n, 1);
	assert_true(a.v[0].lo == 1 && a.v[0].hi == max);
	ivset_full(&a, max);
	ivset_sub(&a, &a);
	assert_int_equal(a.n, 0);

	ivset_full(&a, max);
	b.n = 0;
	ivset_add(&b, 0, 0);
	ivset_add(&b, max, max);
	ivset_and(&a, &b);
	assert_int_equal(a.n, 2);
	assert_true(a.v[0].lo == 0 && a.v[0].hi == 0);
	assert_true(a.v[1].lo == max && a.v[1].hi == max);

	/* copy */
	ivset_copy(&b, &a);
	assert_int_equal(b.n, 2);
	assert_true(b.v[1].lo == max);
	ivset_free(&a);
	ivset_free(&b);
}

/* ivset_and and ivset_sub against the bitmap model (seeded, ROUNDS rounds). */
static void
test_random_model(void **state)
{
	(void)state;
	seed_rng();
	for (int round = 0; round < ROUNDS; round++) {
		struct ivset a, b, x;
		struct bitmap ma, mb, mx;

		random_set(&a, &ma);
		random_set(&b, &mb);
		assert_model(&a, &ma, "a", round);
		assert_model(&b, &mb, "b", round);

		ivset_init(&x);
		ivset_copy(&x, &a);
		ivset_and(&x, &b);
		for (int i = 0; i < UNIVERSE; i++)
			mx.b[i] = ma.b[i] && mb.b[i];
		assert_model(&x, &mx, "a & b", round);

		ivset_copy(&x, &a);
		ivset_sub(&x, &b);
		for (int i = 0; i < UNIVERSE; i++)
			mx.b[i] = ma.b[i] && !mb.b[i];
		assert_model(&x, &mx, "a - b", round);

		/* the complement through sub, and back */
		ivset_full(&x, UNIVERSE - 1);
		ivset_sub(&x, &a);
		for (int i = 0; i < UNIVERSE; i++)
			mx.b[i] = !ma.b[i];
		assert_model(&x, &mx, "~a", round);
		ivset_and(&x, &a);
		assert_int_equal(x.n, 0);

		/* union via add + norm */
		ivset_copy(&x, &a);
		for (size_t i = 0; i < b.n; i++)
			ivset_add(&x, b.v[i].lo, b.v[i].hi);
		ivset_norm(&x);
		for (int i = 0; i < UNIVERSE; i++)
			mx.b[i] = ma.b[i] || mb.b[i];
		assert_model(&x, &mx, "a | b", round);

		ivset_free(&a);
		ivset_free(&b);
		ivset_free(&x);
	}
}

static void
test_add_cidr(void **state)
{
	struct ivset s;
	struct cidr c;
	u128 base;

	(void)state;
	ivset_init(&s);
	assert_int_equal(cidr_parse("10.0.0.0/8", CIDR_STRICT, &c), 0);
	ivset_add_cidr(&s, &c);
	assert_int_equal(cidr_parse("10.0.0.1", CIDR_LOOSE, &c), 0);
	ivset_add_cidr(&s, &c);
	assert_int_equal(cidr_parse("11.0.0.0/8", CIDR_STRICT, &c), 0);
	ivset_add_cidr(&s, &c);
	ivset_norm(&s);
	assert_ivs(&s, 1, 0x0a000000u, 0x0bffffffu);
	assert_false(ivset_has(&s, 0x09ffffff));
	assert_true(ivset_has(&s, 0x0a000000));
	assert_true(ivset_has(&s, 0x0bffffff));
	assert_false(ivset_has(&s, 0x0c000000));

	s.n = 0;
	assert_int_equal(cidr_parse("0.0.0.0/0", CIDR_STRICT, &c), 0);
	ivset_add_cidr(&s, &c);
	assert_true(ivset_is_full(&s, addr_space_max(AF_INET)));

	/* IPv6: a /32 spans 96 host bits */
	s.n = 0;
	assert_int_equal(cidr_parse("2001:db8::/32", CIDR_STRICT, &c), 0);
	ivset_add_cidr(&s, &c);
	base = (u128)0x20010db8u << 96;
	assert_int_equal(s.n, 1);
	assert_true(s.v[0].lo == base);
	assert_true(s.v[0].hi == (base | (((u128)1 << 96) - 1)));
	assert_false(ivset_has(&s, base - 1));
	assert_false(ivset_has(&s, base + ((u128)1 << 96)));

	/* a /64 and the /128 just after it join up */
	s.n = 0;
	assert_int_equal(cidr_parse("2001:db8:0:1::/64", CIDR_STRICT, &c), 0);
	ivset_add_cidr(&s, &c);
	assert_int_equal(cidr_parse("2001:db8:0:2::", CIDR_LOOSE, &c), 0);
	ivset_add_cidr(&s, &c);
	ivset_norm(&s);
	assert_int_equal(s.n, 1);
	assert_true(s.v[0].hi == u128_from_addr(&c.addr));

	s.n = 0;
	assert_int_equal(cidr_parse("::/0", CIDR_STRICT, &c), 0);
	ivset_add_cidr(&s, &c);
	assert_true(ivset_is_full(&s, addr_space_max(AF_INET6)));
	ivset_free(&s);
}

static void
test_u128_conversions(void **state)
{
	struct addr a = { 0x0123456789abcdefull, 0xfedcba9876543210ull }, b;
	u128 x = u128_from_addr(&a);

	(void)state;
	assert_true((uint64_t)(x >> 64) == a.hi);
	assert_true((uint64_t)x == a.lo);
	b = addr_from_u128(x);
	assert_int_equal(addr_cmp(&a, &b), 0);
	assert_true(addr_space_max(AF_INET) == 0xffffffffu);
	assert_true(addr_space_max(AF_INET6) == ~(u128)0);
}

/*
 * An allocation that fails marks the set (ivset_failed), and the mark passes
 * to every set computed from it, so the compiler checks once per entry.
 */
static void
test_failed_mark(void **state)
{
	struct ivset a, b, x;

	(void)state;
	ivset_init(&a);
	ivset_init(&b);
	ivset_init(&x);
	ivset_add(&a, 1, 5);
	ivset_add(&b, 3, 9);
	assert_false(ivset_failed(&a));
	b.failed = true;		/* as a failed ivset_add leaves it */
	ivset_copy(&x, &a);
	assert_false(ivset_failed(&x));
	ivset_and(&x, &b);
	assert_true(ivset_failed(&x));
	ivset_copy(&x, &a);		/* a copy over a marked set stays marked */
	assert_true(ivset_failed(&x));
	ivset_free(&x);			/* a fresh start */
	assert_false(ivset_failed(&x));
	ivset_copy(&x, &a);
	ivset_sub(&x, &b);
	assert_true(ivset_failed(&x));
	ivset_free(&x);
	ivset_copy(&x, &b);
	assert_true(ivset_failed(&x));
	ivset_free(&a);
	ivset_free(&b);
	ivset_free(&x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_norm_merge),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_and_sub_edges),
		cmocka_unit_test(test_random_model),
		cmocka_unit_test(test_add_cidr),
		cmocka_unit_test(test_u128_conversions),
		cmocka_unit_test(test_failed_mark),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
