/*
 * selcache.c - rule selectors' addresses among the cluster's endpoints,
 * kept between compiles (selcache.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "hostenv.h"
#include "selcache.h"
#include "strmap.h"

/* ---- address counts: open addressing, linear probing, no deletion -------------------- */

struct aslot {
	u128 addr;
	uint32_t count;			/* 0: free, or an address no endpoint gives any more */
	bool used;
};

struct amap {
	struct aslot *v;
	size_t cap;			/* a power of two, or 0 */
	size_t used;			/* slots ever used */
};

static size_t
amap_hash(u128 a)
{
	uint64_t h = (uint64_t)a ^ (uint64_t)(a >> 64) * 0x9e3779b97f4a7c15ull;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return (size_t)(h ^ h >> 32);
}

static struct aslot *
amap_slot(struct aslot *v, size_t cap, u128 a)
{
	size_t i = amap_hash(a) & (cap - 1);

	while (v[i].used && v[i].addr != a)
		i = (i + 1) & (cap - 1);
	return &v[i];
}

/* Room for one more address (rehashed without the dead ones). 0 or -ENOMEM. */
static int
amap_room(struct amap *m)
{
	size_t live = 0, cap;
	struct aslot *v;

	if ((m->used + 1) * 2 <= m->cap)
		return 0;
	for (size_t i = 0; i < m->cap; i++)
		live += m->v[i].used && m->v[i].count > 0;
	for (cap = 64; cap < (live + 1) * 4; cap *= 2)
		;
	v = calloc(cap, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->v[i].used && m->v[i].count > 0)
			*amap_slot(v, cap, m->v[i].addr) = m->v[i];
	free(m->v);
	m->v = v;
	m->cap = cap;
	m->used = live;
	return 0;
}

static int
amap_inc(struct amap *m, u128 a)
{
	struct aslot *s;

	if (amap_room(m) < 0)
		return -ENOMEM;
	s = amap_slot(m->v, m->cap, a);
	if (!s->used) {
		s->used = true;
		s->addr = a;
		m->used++;
	}
	s->count++;
	return 0;
}

/* -1 when @a was not counted: the cache and the cluster disagree. */
static int
amap_dec(struct amap *m, u128 a)
{
	struct aslot *s;

	if (m->cap == 0)
		return -1;
	s = amap_slot(m->v, m->cap, a);
	if (!s->used || s->count == 0)
		return -1;
	s->count--;
	return 0;
}

/* ---- the cache -------------------------------------------------------------------------- */

struct entry {
	char *key;			/* "<family>:<selector text>" */
	struct selector *sel;		/* a copy */
	uint8_t family;
	struct amap map;
	struct ivset set;		/* the addresses with a count, normalised, unless dirty */
	bool dirty;
	bool used;			/* asked for since the last sweep */
};

struct selcache {
	struct entry **v;
	size_t n;
	size_t cap;
	struct strmap index;		/* "<family>:<text>" -> index in v */
	unsigned cl_round;		/* the cluster's sync the counts follow; 0: none */
	uint64_t hits;
	uint64_t builds;
};

struct selcache *
selcache_new(void)
{
	return calloc(1, sizeof(struct selcache));
}

static void
entry_free(struct entry *e)
{
	free(e->key);
	selector_free(e->sel);
	free(e->map.v);
	ivset_free(&e->set);
	free(e);
}

/* Forget every entry. */
static void
selcache_clear(struct selcache *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		entry_free(sc->v[i]);
	sc->n = 0;
	strmap_free(&sc->index);
}

void
selcache_free(struct selcache *sc)
{
	if (sc == NULL)
		return;
	selcache_clear(sc);
	free(sc->v);
	free(sc);
}

void
selcache_stats(const struct selcache *sc, uint64_t *hits, uint64_t *builds)
{
	*hits = sc ? sc->hits : 0;
	*builds = sc ? sc->builds : 0;
}

/* An endpoint's part in @e: +1 (@add) or -1 for each of its addresses of the family,
 * when @e's selector selects it. 0, or -1 when the counts cannot follow. */
static int
entry_count(struct entry *e, const struct labels *l, const struct cidr *ips, size_t nips,
	    bool add)
{
	if (!cidrs_have_family(ips, nips, e->family) || !selector_match(e->sel, l))
		return 0;
	for (size_t i = 0; i < nips; i++) {
		if (ips[i].family != e->family)
			continue;
		if (ips[i].plen != addr_bits(e->family))
			return -1;	/* cluster endpoints have host addresses only */
		if ((add ? amap_inc(&e->map, u128_from_addr(&ips[i].addr)) :
			   amap_dec(&e->map, u128_from_addr(&ips[i].addr))) < 0)
			return -1;
	}
	e->dirty = true;
	return 0;
}

void
selcache_sync(struct selcache *sc, const struct cluster *cl)
{
	bool ok = sc->cl_round != 0 && cl->round == sc->cl_round + 1 && !cl->fresh &&
		  !cl->parents_changed;

	sc->cl_round = cl->round;
	for (size_t k = 0; ok && k < sc->n; k++) {
		struct entry *e = sc->v[k];

		for (size_t i = 0; ok && i < cl->nretired_heps; i++) {
			const struct hep *h = cl->retired_heps[i];

			ok = entry_count(e, &h->labels, h->ips, h->nips, false) == 0;
		}
		for (size_t i = 0; ok && i < cl->nretired; i++) {
			const struct wep *w = &cl->retired[i];

			ok = entry_count(e, &w->labels, w->ips, w->nips, false) == 0;
		}
		for (size_t i = 0; ok && i < cl->nheps; i++) {
			const struct hep *h = cl->heps[i];

			if (h->born == cl->round)
				ok = entry_count(e, &h->labels, h->ips, h->nips, true) == 0;
		}
		for (size_t i = 0; ok && i < cl->nborn; i++) {
			const struct wep *w = &cl->weps[cl->born[i]];

			ok = entry_count(e, &w->labels, w->ips, w->nips, true) == 0;
		}
	}
	if (!ok)
		selcache_clear(sc);	/* rebuilt, when asked, from every endpoint */
}

/* The normalised set of @e's addresses. */
static void
entry_set(struct entry *e)
{
	e->set.n = 0;
	e->set.failed = false;
	for (size_t i = 0; i < e->map.cap; i++)
		if (e->map.v[i].used && e->map.v[i].count > 0)
			ivset_add(&e->set, e->map.v[i].addr, e->map.v[i].addr);
	ivset_norm(&e->set);
	e->dirty = false;
}

/* A new entry for @sel: every endpoint of @cl matched once. NULL when out of memory. */
static struct entry *
entry_build(const struct cluster *cl, const struct selector *sel, uint8_t family)
{
	struct entry *e = calloc(1, sizeof(*e));
	bool ok;

	if (e == NULL)
		return NULL;
	e->family = family;
	ivset_init(&e->set);
	e->sel = selector_prefixed(sel, "", NULL);	/* a copy */
	ok = e->sel != NULL;
	for (size_t i = 0; ok && i < cl->nheps; i++)
		ok = entry_count(e, &cl->heps[i]->labels, cl->heps[i]->ips, cl->heps[i]->nips,
				 true) == 0;
	for (size_t i = 0; ok && i < cl->nweps; i++)
		ok = entry_count(e, &cl->weps[i].labels, cl->weps[i].ips, cl->weps[i].nips, true) ==
		     0;
	if (ok) {
		entry_set(e);
		ok = !ivset_failed(&e->set);
	}
	if (!ok) {
		entry_free(e);
		return NULL;
	}
	return e;
}

bool
selcache_addrs(struct selcache *sc, const struct cluster *cl, const struct selector *sel,
	       const char *text, uint8_t family, struct ivset *out)
{
	struct entry *e;
	char *key;
	size_t at;

	if (asprintf(&key, "%u:%s", family, text) < 0) {
		out->failed = true;
		return false;
	}
	if (strmap_get(&sc->index, key, &at)) {
		e = sc->v[at];
		sc->hits++;
	} else if ((e = entry_build(cl, sel, family)) == NULL ||
		   ARRAY_PUSH_ROOM(sc->v, sc->cap, sc->n) < 0 ||
		   strmap_put(&sc->index, key, sc->n) < 0) {
		if (e != NULL)
			entry_free(e);
		free(key);
		out->failed = true;
		return false;
	} else {
		e->key = key;
		key = NULL;
		sc->v[sc->n++] = e;
		sc->builds++;
	}
	free(key);
	if (e->dirty) {
		entry_set(e);
		if (ivset_failed(&e->set)) {
			out->failed = true;
			return false;
		}
	}
	e->used = true;
	for (size_t i = 0; i < e->set.n; i++)
		ivset_add(out, e->set.v[i].lo, e->set.v[i].hi);
	return !ivset_failed(out);
}

void
selcache_sweep(struct selcache *sc)
{
	size_t keep = 0;

	for (size_t i = 0; i < sc->n; i++) {
		if (sc->v[i]->used) {
			sc->v[i]->used = false;
			sc->v[keep++] = sc->v[i];
		} else {
			entry_free(sc->v[i]);
		}
	}
	if (keep != sc->n) {		/* positions moved: index them again */
		sc->n = keep;
		strmap_free(&sc->index);
		for (size_t i = 0; i < sc->n; i++) {
			if (strmap_put(&sc->index, sc->v[i]->key, i) < 0) {
				selcache_clear(sc);
				return;
			}
		}
	}
}
