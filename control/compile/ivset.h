/*
 * ivset.h - sets of unsigned integers (up to 128 bits) as sorted, disjoint,
 * non-adjacent closed intervals. The compiler describes what each rule
 * accepts in each packet field with one of these. Control thread only.
 *
 * Set algebra composes, so an allocation failure does not interrupt it:
 * like the error indicator of a FILE, it marks the set (ivset_failed), the
 * mark passes to every result computed from a marked set, and the caller
 * checks once after composing. A marked set's intervals mean nothing.
 */
#ifndef NFQWALL_IVSET_H
#define NFQWALL_IVSET_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

typedef unsigned __int128 u128;

struct iv {
	u128 lo;
	u128 hi;
};

struct ivset {
	struct iv *v;
	size_t n;
	size_t cap;
	bool failed;			/* an allocation failed: see ivset_failed */
};

/* ivset_init - the empty set. */
void ivset_init(struct ivset *s);

/* ivset_free - release the intervals; @s is empty afterwards. */
void ivset_free(struct ivset *s);

/* ivset_add - add [lo, hi]; call ivset_norm before any other use. */
void ivset_add(struct ivset *s, u128 lo, u128 hi);

/* ivset_norm - sort and merge overlapping or adjacent intervals. */
void ivset_norm(struct ivset *s);

/* ivset_full - make @s the whole range [0, max]. */
void ivset_full(struct ivset *s, u128 max);

/* ivset_is_full - is @s exactly [0, max]? */
bool ivset_is_full(const struct ivset *s, u128 max);

/* ivset_and - @a := @a ∩ @b. */
void ivset_and(struct ivset *a, const struct ivset *b);

/* ivset_sub - @a := @a \ @b. */
void ivset_sub(struct ivset *a, const struct ivset *b);

/* ivset_copy - @dst := @src (dst initialised). */
void ivset_copy(struct ivset *dst, const struct ivset *src);

/* ivset_has - is @x in @s? */
bool ivset_has(const struct ivset *s, u128 x);

/* ivset_add_cidr - add the addresses of @c. */
void ivset_add_cidr(struct ivset *s, const struct cidr *c);

/* ivset_failed - did an allocation fail while making @s (or a set it was made from)? */
static inline bool
ivset_failed(const struct ivset *s)
{
	return s->failed;
}

/* u128_from_addr / addr_from_u128 - conversions. */
static inline u128
u128_from_addr(const struct addr *a)
{
	return (u128)a->hi << 64 | a->lo;
}

static inline struct addr
addr_from_u128(u128 x)
{
	struct addr a = { (uint64_t)(x >> 64), (uint64_t)x };

	return a;
}

/* addr_space_max - the highest value of an address of @family. */
static inline u128
addr_space_max(uint8_t family)
{
	return family == AF_INET ? (u128)0xffffffffu : ~(u128)0;
}

#endif /* NFQWALL_IVSET_H */
