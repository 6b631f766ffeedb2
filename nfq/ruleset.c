/*
 * ruleset.c - the compiled rule table's accessors, hit counters and RCU
 * publication. See ruleset.h for the structure; the lookup itself, with its
 * per-ISA scan variants, is in ruleset_scan.c, and the text dump in
 * ruleset_dump.c.
 *
 * Runs in the control thread (publish, free) and, for the accessors
 * and counters, in the worker threads too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ruleset_layout.h"
#include "tsan.h"

static struct ruleset *ruleset_active;
static struct ruleset *ruleset_staged_active;	/* the staged view, or NULL */
static int ruleset_grace;	/* TSan's stand-in for a grace period (tsan.h) */

/* ---- accessors ---------------------------------------------------------------- */

const struct rs_meta *
ruleset_meta(const struct ruleset *rs, uint32_t idx)
{
	return (const struct rs_meta *)rs_at(rs, rs->meta) + idx;
}

uint32_t
ruleset_nmeta(const struct ruleset *rs)
{
	return rs->nmeta;
}

const char *
ruleset_origin(const struct ruleset *rs, uint32_t idx, uint32_t *line)
{
	const struct rs_origin *o = (const struct rs_origin *)rs_at(rs, rs->origins) + idx;

	*line = o->line;
	return ruleset_str(rs, o->file);
}

const char *
ruleset_str(const struct ruleset *rs, uint32_t off)
{
	return off ? (const char *)rs_at(rs, off) : "";
}

uint64_t
ruleset_gen(const struct ruleset *rs)
{
	return rs->gen;
}

void
ruleset_set_gen(struct ruleset *rs, uint64_t gen)
{
	rs->gen = gen;
}

bool
ruleset_invalid_drop(const struct ruleset *rs)
{
	return rs->flags & RS_F_INVALID_DROP;
}

size_t
ruleset_size(const struct ruleset *rs)
{
	return rs->size;
}

uint32_t
ruleset_nheps(const struct ruleset *rs)
{
	return rs->nheps;
}

const char *
ruleset_hep_name(const struct ruleset *rs, int32_t hep)
{
	const struct rs_hep *h = rs_at(rs, rs->heps);

	if (hep < 0 || (uint32_t)hep >= rs->nheps)
		return "";
	return ruleset_str(rs, h[hep].name);
}

void
ruleset_stats(const struct ruleset *rs, uint32_t *nchains, uint32_t *nentries,
	      uint32_t *nbitsets)
{
	*nchains = rs->nchains;
	*nentries = rs->nentries;
	*nbitsets = rs->nbitsets;
}

bool
ruleset_equal(const struct ruleset *a, const struct ruleset *b)
{
	struct ruleset ha, hb;

	/* the headers without what differs between two publications of one table */
	memcpy(&ha, a, sizeof(ha));
	memcpy(&hb, b, sizeof(hb));
	memset(&ha.rcu, 0, sizeof(ha.rcu));
	memset(&hb.rcu, 0, sizeof(hb.rcu));
	ha.gen = hb.gen = 0;
	ha.hits = hb.hits = NULL;
	ha.last_hit = hb.last_hit = NULL;
	ha.size = hb.size = 0;		/* the origins' file names may differ */
	if (memcmp(&ha, &hb, sizeof(ha)) != 0)
		return false;
	/* then everything up to the origins (equal offsets: the headers are equal) */
	return memcmp((const char *)a + sizeof(*a), (const char *)b + sizeof(*b),
		      a->origins - sizeof(*a)) == 0;
}

void
ruleset_hit(const struct ruleset *rs, uint32_t meta, uint64_t now_s)
{
	if (meta >= rs->nmeta)
		return;
	__atomic_fetch_add(&rs->hits[meta], 1, __ATOMIC_RELAXED);
	/* written once a second at most: no cache line bounces between workers */
	if (__atomic_load_n(&rs->last_hit[meta], __ATOMIC_RELAXED) != now_s)
		__atomic_store_n(&rs->last_hit[meta], now_s, __ATOMIC_RELAXED);
}

uint64_t
ruleset_hits(const struct ruleset *rs, uint32_t meta)
{
	return meta < rs->nmeta ? __atomic_load_n(&rs->hits[meta], __ATOMIC_RELAXED) : 0;
}

uint64_t
ruleset_last_hit(const struct ruleset *rs, uint32_t meta)
{
	return meta < rs->nmeta ? __atomic_load_n(&rs->last_hit[meta], __ATOMIC_RELAXED) : 0;
}

void
ruleset_set_last_hit(struct ruleset *rs, uint32_t meta, uint64_t when_s)
{
	if (meta < rs->nmeta)
		__atomic_store_n(&rs->last_hit[meta], when_s, __ATOMIC_RELAXED);
}

void
ruleset_free(struct ruleset *rs)
{
	if (rs == NULL)
		return;
	free(rs->hits);
	free(rs->last_hit);
	free(rs);
}

/* ---- publication ------------------------------------------------------------------- */

static void
ruleset_free_rcu(struct rcu_head *head)
{
	struct ruleset *rs = caa_container_of(head, struct ruleset, rcu);

	TSAN_ACQUIRE(rs);		/* handed over by call_rcu's queue */
	TSAN_ACQUIRE(&ruleset_grace);	/* every reader that could see it is done */
	ruleset_free(rs);
}

/* Make @next current in @slot; the previous table (readers may still hold it). */
static struct ruleset *
ruleset_swap(struct ruleset **slot, struct ruleset *next)
{
#ifdef NFQWALL_TSAN
	return __atomic_exchange_n(slot, next, __ATOMIC_ACQ_REL);
#else
	return rcu_xchg_pointer(slot, next);
#endif
}

static void
publish(struct ruleset **slot, struct ruleset *next)
{
	struct ruleset *prev = ruleset_swap(slot, next);

	if (prev != NULL) {
		TSAN_RELEASE(prev);
		urcu_memb_call_rcu(&prev->rcu, ruleset_free_rcu);
	}
}

void
ruleset_publish(struct ruleset *next)
{
	publish(&ruleset_active, next);
}

void
ruleset_publish_staged(struct ruleset *next)
{
	publish(&ruleset_staged_active, next);
}

static const struct ruleset *
current(struct ruleset **slot)
{
#ifdef NFQWALL_TSAN
	return __atomic_load_n(slot, __ATOMIC_ACQUIRE);
#else
	return rcu_dereference(*slot);
#endif
}

const struct ruleset *
ruleset_current(void)
{
	return current(&ruleset_active);
}

const struct ruleset *
ruleset_staged_current(void)
{
	return current(&ruleset_staged_active);
}

void
ruleset_read_lock(void)
{
	urcu_memb_read_lock();
}

void
ruleset_read_unlock(void)
{
	TSAN_RELEASE(&ruleset_grace);
	urcu_memb_read_unlock();
}

void
ruleset_unpublish(void)
{
	struct ruleset *prev = ruleset_swap(&ruleset_active, NULL);
	struct ruleset *staged = ruleset_swap(&ruleset_staged_active, NULL);

	urcu_memb_synchronize_rcu();
	TSAN_ACQUIRE(&ruleset_grace);
	ruleset_free(prev);
	ruleset_free(staged);
	urcu_memb_barrier();
}
