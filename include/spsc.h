/*
 * spsc.h - a bounded single-producer, single-consumer ring of fixed-size
 * records: a worker pushes (never waits, never allocates: a full ring
 * counts a drop), one other thread pops. The verdict log and the flow
 * journal each give every worker one.
 */
#ifndef NFQWALL_SPSC_H
#define NFQWALL_SPSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct spsc_ring {
	unsigned char *v;	/* size records of recsize bytes */
	size_t recsize;
	uint32_t mask;		/* size - 1, size a power of two */
	uint32_t head;		/* written by the producer */
	uint32_t tail;		/* written by the consumer */
	uint64_t dropped;	/* records lost to a full ring */
};

/* spsc_init - 2^@order records of @recsize bytes (@order <= @max_order): 0, -EINVAL, -ENOMEM. */
int __must_check spsc_init(struct spsc_ring *r, unsigned order, unsigned max_order,
			   size_t recsize);

/* spsc_free - release the records (the ring must be idle). */
void spsc_free(struct spsc_ring *r);

/* spsc_push - copy @rec in (producer); false, and a drop counted, when full. */
bool spsc_push(struct spsc_ring *r, const void *rec);

/* spsc_pop - copy the oldest record out (consumer); false when empty. */
bool spsc_pop(struct spsc_ring *r, void *out);

#endif /* NFQWALL_SPSC_H */
