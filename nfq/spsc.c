/*
 * spsc.c - the single-producer, single-consumer ring (spsc.h): the
 * producer publishes a record with a release store of head, the consumer
 * frees its slot with a release store of tail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spsc.h"

int
spsc_init(struct spsc_ring *r, unsigned order, unsigned max_order, size_t recsize)
{
	memset(r, 0, sizeof(*r));
	if (order > max_order || order > 24 || recsize == 0)
		return -EINVAL;
	r->v = calloc((size_t)1 << order, recsize);
	if (r->v == NULL)
		return -ENOMEM;
	r->recsize = recsize;
	r->mask = (1u << order) - 1;
	return 0;
}

void
spsc_free(struct spsc_ring *r)
{
	free(r->v);
	r->v = NULL;
}

bool
spsc_push(struct spsc_ring *r, const void *rec)
{
	uint32_t head = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
	uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);

	if (head - tail > r->mask) {
		__atomic_fetch_add(&r->dropped, 1, __ATOMIC_RELAXED);
		return false;
	}
	memcpy(r->v + (size_t)(head & r->mask) * r->recsize, rec, r->recsize);
	__atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
	return true;
}

bool
spsc_pop(struct spsc_ring *r, void *out)
{
	uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
	uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);

	if (head == tail)
		return false;
	memcpy(out, r->v + (size_t)(tail & r->mask) * r->recsize, r->recsize);
	__atomic_store_n(&r->tail, tail + 1, __ATOMIC_RELEASE);
	return true;
}
