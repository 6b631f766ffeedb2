/*
 * ivset.c - interval sets for the compiler (control thread).
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "ivset.h"

void
ivset_init(struct ivset *s)
{
	memset(s, 0, sizeof(*s));
}

void
ivset_free(struct ivset *s)
{
	free(s->v);
	ivset_init(s);
}

void
ivset_add(struct ivset *s, u128 lo, u128 hi)
{
	if (ARRAY_PUSH_ROOM(s->v, s->cap, s->n) < 0) {
		s->failed = true;
		return;
	}
	s->v[s->n].lo = lo;
	s->v[s->n].hi = hi;
	s->n++;
}

static int
cmp_iv(const void *a, const void *b)
{
	const struct iv *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

void
ivset_norm(struct ivset *s)
{
	size_t out = 0;

	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_iv);
	for (size_t i = 1; i < s->n; i++) {
		struct iv *last = &s->v[out];

		if (s->v[i].lo <= last->hi || s->v[i].lo == last->hi + 1) {
			if (s->v[i].hi > last->hi)
				last->hi = s->v[i].hi;
		} else {
			s->v[++out] = s->v[i];
		}
	}
	s->n = out + 1;
}

void
ivset_full(struct ivset *s, u128 max)
{
	s->n = 0;
	ivset_add(s, 0, max);
}

bool
ivset_is_full(const struct ivset *s, u128 max)
{
	return s->n == 1 && s->v[0].lo == 0 && s->v[0].hi == max;
}

void
ivset_copy(struct ivset *dst, const struct ivset *src)
{
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++)
		ivset_add(dst, src->v[i].lo, src->v[i].hi);
	dst->failed |= src->failed;
}

void
ivset_and(struct ivset *a, const struct ivset *b)
{
	struct ivset r;
	size_t i = 0, j = 0;

	ivset_init(&r);
	while (i < a->n && j < b->n) {
		u128 lo = a->v[i].lo > b->v[j].lo ? a->v[i].lo : b->v[j].lo;
		u128 hi = a->v[i].hi < b->v[j].hi ? a->v[i].hi : b->v[j].hi;

		if (lo <= hi)
			ivset_add(&r, lo, hi);
		if (a->v[i].hi < b->v[j].hi)
			i++;
		else
			j++;
	}
	r.failed |= a->failed || b->failed;
	free(a->v);
	*a = r;
}

void
ivset_sub(struct ivset *a, const struct ivset *b)
{
	struct ivset r;
	size_t j = 0;

	ivset_init(&r);
	for (size_t i = 0; i < a->n; i++) {
		u128 lo = a->v[i].lo, hi = a->v[i].hi;
		bool alive = true;

		while (j < b->n && b->v[j].hi < lo)
			j++;
		for (size_t k = j; k < b->n && b->v[k].lo <= hi; k++) {
			if (b->v[k].lo > lo)
				ivset_add(&r, lo, b->v[k].lo - 1);
			if (b->v[k].hi >= hi) {
				alive = false;
				break;
			}
			lo = b->v[k].hi + 1;
		}
		if (alive)
			ivset_add(&r, lo, hi);
	}
	r.failed |= a->failed || b->failed;
	free(a->v);
	*a = r;
}

bool
ivset_has(const struct ivset *s, u128 x)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->v[mid].hi < x)
			lo = mid + 1;
		else if (s->v[mid].lo > x)
			hi = mid;
		else
			return true;
	}
	return false;
}

void
ivset_add_cidr(struct ivset *s, const struct cidr *c)
{
	struct addr last = cidr_last(c);

	ivset_add(s, u128_from_addr(&c->addr), u128_from_addr(&last));
}
