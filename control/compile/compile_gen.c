/*
 * compile_gen.c - the lookup structures of one chain (see ruleset_layout.h):
 * each field cut into elementary intervals, each carrying the bitset of the
 * entries that accept it; bitsets stored once, as rows of deduplicated
 * blocks; the entries and their residual checks. The interval tables built
 * from the cuts are compile_itab.c's. Control thread only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "compile_int.h"

/* ---- the classifier of one chain ------------------------------------------------------------ */

/*
 * A field is cut into elementary intervals by a sweep: every restricted
 * entry contributes an event where each of its intervals starts (set its
 * bit) and one past where it ends (clear it); after sorting, the running
 * bitset at each distinct position is the bitset of the interval starting
 * there. Bitsets are interned block by block (RS_BLOCK_WORDS words) and then
 * as rows of block ids; only the blocks an event touched are re-interned.
 */

static uint64_t
mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

/* The id of the block of RS_BLOCK_WORDS words @w, in *@idp. */
static int
block_intern(struct cbuild *cb, const uint64_t *w, uint32_t *idp)
{
	uint64_t h = 0x243f6a8885a308d3ull;

	for (int i = 0; i < RS_BLOCK_WORDS; i++)
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
	return rtab_intern(&cb->blocks, w, mix64(h), idp);
}

/* The row id of the bitset whose block ids are @ids, in *@idp. */
static int
row_intern(struct cbuild *cb, const uint32_t *ids, uint32_t *idp)
{
	uint64_t h = 0x13198a2e03707344ull;

	for (uint32_t i = 0; i < cb->nblocks; i++)
		h = (h ^ ids[i]) * 0x9e3779b97f4a7c15ull;
	return rtab_intern(&cb->rows, ids, mix64(h), idp);
}

/* The row id of a whole bitset (RS_BLOCK_WORDS * nblocks words), in *@idp. */
static int
bits_intern(struct cbuild *cb, const uint64_t *bits, uint32_t *ids, uint32_t *idp)
{
	for (uint32_t b = 0; b < cb->nblocks; b++) {
		int err = block_intern(cb, bits + (size_t)b * RS_BLOCK_WORDS, &ids[b]);

		if (err < 0)
			return err;
	}
	return row_intern(cb, ids, idp);
}

/* LSD radix sort of @v by bytes, skipping the bytes that are the same in every key. */
static int
radix_sort64(uint64_t *v, size_t n)
{
	uint64_t *tmp, *src = v, *dst, all_or = 0, all_and = ~0ull;
	size_t cnt[256];

	if (n < 64) {
		for (size_t i = 1; i < n; i++) {
			uint64_t x = v[i];
			size_t j = i;

			for (; j > 0 && v[j - 1] > x; j--)
				v[j] = v[j - 1];
			v[j] = x;
		}
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		all_or |= v[i];
		all_and &= v[i];
	}
	tmp = malloc(n * sizeof(*tmp));
	if (tmp == NULL)
		return -ENOMEM;
	dst = tmp;
	for (int shift = 0; shift < 64; shift += 8) {
		uint64_t *t;
		size_t sum = 0;

		if ((((all_or ^ all_and) >> shift) & 0xff) == 0)
			continue;
		memset(cnt, 0, sizeof(cnt));
		for (size_t i = 0; i < n; i++)
			cnt[(src[i] >> shift) & 0xff]++;
		for (int d = 0; d < 256; d++) {
			size_t c = cnt[d];

			cnt[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[cnt[(src[i] >> shift) & 0xff]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(tmp);
	return 0;
}

struct ev128 {
	u128 pos;
	uint32_t code;			/* entry << 1 | set */
};

static int
cmp_ev128(const void *a, const void *b)
{
	const struct ev128 *x = a, *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return x->code < y->code ? -1 : x->code > y->code;
}

static void
fcut_free(struct fcut *fc)
{
	free(fc->starts);
	free(fc->rowid);
}

/* Make the sets of field @f sorted, disjoint and non-adjacent (they nearly always are). */
static void
field_norm(struct ivset *s)
{
	for (size_t j = 1; j < s->n; j++)
		if (s->v[j].lo <= s->v[j - 1].hi + 1) {
			ivset_norm(s);
			return;
		}
}

/* The events of one field: (position, entry << 1 | set), sorted by position. */
struct fevents {
	bool wide;			/* 128-bit positions (IPv6): ev, else ev64 */
	size_t n;
	size_t cap;
	struct ev128 *ev;
	uint64_t *ev64;			/* position << 32 | code */
};

/*
 * The events of field @f of the entries of @l, sorted; the entries that take
 * any value of it have their bit set in @cur instead.
 */
static int
field_events(struct clist *l, int f, u128 max, uint64_t *cur, struct fevents *e)
{
	for (size_t i = 0; i < l->n; i++) {
		struct ivset *s = &l->v[i].f[f];
		int err;

		if (ivset_is_full(s, max)) {
			cur[i >> 6] |= 1ull << (i & 63);
			continue;
		}
		field_norm(s);
		err = e->wide ? array_reserve(&e->ev, &e->cap, e->n + 2 * s->n, sizeof(*e->ev)) :
				array_reserve(&e->ev64, &e->cap, e->n + 2 * s->n, sizeof(*e->ev64));
		if (err < 0)
			return err;
		for (size_t k = 0; k < s->n; k++) {
			uint32_t code = (uint32_t)i << 1;

			if (e->wide) {
				e->ev[e->n++] = (struct ev128){ s->v[k].lo, code | 1 };
				if (s->v[k].hi < max)
					e->ev[e->n++] = (struct ev128){ s->v[k].hi + 1, code };
			} else {
				e->ev64[e->n++] = (uint64_t)s->v[k].lo << 32 | code | 1;
				if (s->v[k].hi < max)
					e->ev64[e->n++] = (uint64_t)(s->v[k].hi + 1) << 32 | code;
			}
		}
	}
	if (e->wide && e->n > 0)
		qsort(e->ev, e->n, sizeof(*e->ev), cmp_ev128);
	else if (e->n > 0)
		return radix_sort64(e->ev64, e->n);
	return 0;
}

/* Append interval [@p, ...) with row @rid to @out. */
static int
fcut_push(struct fcut *out, u128 p, uint32_t rid)
{
	if (ARRAY_PUSH_ROOM(out->starts, out->scap, out->n) < 0 ||
	    ARRAY_PUSH_ROOM(out->rowid, out->rcap, out->n) < 0)
		return -ENOMEM;
	out->starts[out->n] = p;
	out->rowid[out->n++] = rid;
	return 0;
}

/*
 * The sweep: at each distinct position, apply its events to the running
 * bitset @cur, then emit it; only the blocks an event touched (@dirty) are
 * interned again.
 */
static int
field_sweep(struct cbuild *cb, const struct fevents *e, uint64_t *cur, uint32_t *ids,
	    bool *dirty, struct fcut *out)
{
	uint32_t prev = UINT32_MAX, rid;
	size_t j = 0;
	u128 p = 0;
	int err;

	for (size_t b = 0; b < cb->nblocks; b++)
		dirty[b] = true;
	for (;;) {
		for (; j < e->n; j++) {
			u128 q = e->wide ? e->ev[j].pos : e->ev64[j] >> 32;
			uint32_t code = e->wide ? e->ev[j].code : (uint32_t)e->ev64[j];
			size_t i = code >> 1;

			if (q != p)
				break;
			if (code & 1)
				cur[i >> 6] |= 1ull << (i & 63);
			else
				cur[i >> 6] &= ~(1ull << (i & 63));
			dirty[i >> RS_BLOCK_SHIFT] = true;
		}
		for (size_t b = 0; b < cb->nblocks; b++) {
			if (!dirty[b])
				continue;
			err = block_intern(cb, cur + b * RS_BLOCK_WORDS, &ids[b]);
			if (err < 0)
				return err;
			dirty[b] = false;
		}
		err = row_intern(cb, ids, &rid);
		if (err < 0)
			return err;
		if (rid != prev) {	/* neighbours with the same bitset merge */
			err = fcut_push(out, p, rid);
			if (err < 0)
				return err;
			prev = rid;
		}
		if (j == e->n)
			return 0;
		p = e->wide ? e->ev[j].pos : e->ev64[j] >> 32;
	}
}

/* The highest value of field @f in a chain of @family. */
static u128
field_max(int f, uint8_t family)
{
	if (f == F_PROTO)
		return 255;
	return f == F_SRC || f == F_DST ? addr_space_max(family) : FIELD_MAX16;
}

/* Cut field @f of the entries of @l (values 0..@max) into @out (freed by fcut_free). */
static int
build_field(struct cbuild *cb, struct clist *l, int f, u128 max, struct fcut *out)
{
	size_t nb = cb->nblocks, nwb = nb * RS_BLOCK_WORDS;
	struct fevents ev = { .wide = max > 0xffffffffu };
	uint64_t *cur = calloc(nwb, 8);
	uint32_t *ids = calloc(nb, 4);
	bool *dirty = calloc(nb, 1);
	int err = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (cur == NULL || ids == NULL || dirty == NULL)
		goto out;
	/* the "no header" row */
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].none[f])
			cur[i >> 6] |= 1ull << (i & 63);
	err = bits_intern(cb, cur, ids, &out->none);
	if (err < 0)
		goto out;
	memset(cur, 0, nwb * 8);
	err = field_events(l, f, max, cur, &ev);
	if (err == 0)
		err = field_sweep(cb, &ev, cur, ids, dirty, out);
out:
	free(cur);
	free(ev.ev);
	free(ev.ev64);
	free(ids);
	free(dirty);
	return err;
}

/* One side of a residual check: its port ranges (lo << 16 | hi) and tuples. */
static int
write_pside(struct cbuild *cb, const struct rb_pside *s, struct rs_pside *ps)
{
	uint32_t *ranges = malloc((s->ranges.n + 1) * sizeof(*ranges));
	int err = 0;

	if (ranges == NULL)
		return -ENOMEM;
	memset(ps, 0, sizeof(*ps));
	ps->present = s->present;
	for (size_t j = 0; j < s->ranges.n; j++)
		ranges[j] = (uint32_t)(s->ranges.v[j].lo << 16 | s->ranges.v[j].hi);
	ps->nranges = (uint32_t)s->ranges.n;
	if (ps->nranges)
		err = blob_put(&cb->b, ranges, ps->nranges * 4, 4, &ps->ranges);
	ps->ntuples = (uint32_t)s->ntuples;
	if (err == 0 && s->ntuples)
		err = blob_put(&cb->b, s->tuples, s->ntuples * sizeof(*s->tuples), 8, &ps->tuples);
	free(ranges);
	return err;
}

/* The residual check of an entry whose port lists name ports; its offset in *@offp. */
static int
write_resid(struct cbuild *cb, const struct centry *ce, uint32_t *offp)
{
	int err = blob_put(&cb->b, NULL, sizeof(struct rs_resid), 8, offp);

	for (int i = 0; err == 0 && i < 4; i++) {
		struct rs_pside ps;

		err = write_pside(cb, &ce->side[i], &ps);
		if (err == 0)
			memcpy(&((struct rs_resid *)blob_at(&cb->b, *offp))->side[i], &ps,
			       sizeof(ps));
	}
	return err;
}

/* What a terminal entry decides at a hook of stage @st. */
static uint8_t
entry_outcome(const struct centry *ce, enum stage st)
{
	switch (ce->action) {
	case RS_A_ALLOW:
		return RS_ACCEPT;
	case RS_A_FAILSAFE:	/* accept in the normal stage, skip the stage elsewhere */
		return st == STAGE_NORMAL ? RS_ACCEPT : RS_CONTINUE;
	default:
		return RS_DROP;
	}
}

/* The reason an entry reports when it decides. */
static uint8_t
entry_reason(const struct cbuild *cb, const struct centry *ce)
{
	const struct rs_meta *m;

	switch (ce->action) {
	case RS_A_FAILSAFE:
		return REASON_FAILSAFE;
	case RS_A_EOT_DENY:
		return REASON_END_OF_TIER;
	case RS_A_NO_PROFILE:
		return REASON_NO_PROFILE;
	default:
		m = rtab_at(&cb->metas, ce->meta);
		return m->kind == RS_META_PROFILE ? REASON_PROFILE : REASON_RULE;
	}
}

/*
 * The blocks, then the rows of block ids (uint16_t while ids fit); a chain
 * of one block needs no rows: a row's only block stands for it. What the
 * lookup gets for a row is set up in @fv.
 */
static int
write_rows(struct cbuild *cb, struct rs_chain *c, struct fval *fv)
{
	bool desc = cb->blocks.n <= 65536 && cb->rows.n <= 65536;
	uint32_t idw = desc ? 2 : 4;
	int err;

	c->nblk = (uint32_t)cb->blocks.n;
	c->nbitsets = (uint32_t)cb->rows.n;
	err = blob_put(&cb->b, cb->blocks.v, cb->blocks.n * cb->blocks.size, 64, &c->blocks);
	if (err < 0)
		return err;
	memset(fv, 0, sizeof(*fv));
	fv->ids = (const uint32_t *)cb->rows.v;
	fv->nblocks = cb->nblocks;
	fv->mode = RS_ROWS_FLAT;		/* a row is its one block */
	if (cb->nblocks > 1) {
		fv->mode = desc ? RS_ROWS_DESC : RS_ROWS_WIDE;
		fv->rowbytes = cb->nblocks * idw;
		if (fv->rowbytes < 64)		/* keep a row inside one cache line */
			while (fv->rowbytes & (fv->rowbytes - 1))
				fv->rowbytes += idw;
		err = blob_put(&cb->b, NULL, cb->rows.n * fv->rowbytes, 64, &fv->rows);
		if (err < 0)
			return err;
		for (size_t r = 0; r < cb->rows.n; r++) {
			void *dst = (char *)blob_at(&cb->b, fv->rows) + r * fv->rowbytes;
			const uint32_t *src = fv->ids + r * cb->nblocks;

			for (uint32_t b = 0; b < cb->nblocks; b++) {
				if (idw == 4)
					((uint32_t *)dst)[b] = src[b];
				else
					((uint16_t *)dst)[b] = (uint16_t)src[b];
			}
		}
		c->rows = fv->rows;
		c->rowbytes = fv->rowbytes;
	}
	c->mode = fv->mode;
	return 0;
}

/* The entries of @l (and their hot copy of actions) for a hook of stage @st. */
static int
write_entries(struct cbuild *cb, struct rs_chain *c, const struct clist *l, enum stage st)
{
	struct rs_entry *ents = calloc(l->n, sizeof(*ents));
	int err;

	if (ents == NULL)
		return -ENOMEM;
	err = blob_put(&cb->b, NULL, l->n, 64, &c->acts);
	for (size_t i = 0; err == 0 && i < l->n; i++) {
		((uint8_t *)blob_at(&cb->b, c->acts))[i] = l->v[i].action |
							   (l->v[i].resid ? RS_ACT_RESID : 0);
		ents[i].action = l->v[i].action;
		ents[i].reason = entry_reason(cb, &l->v[i]);
		ents[i].outcome = entry_outcome(&l->v[i], st);
		ents[i].next = l->v[i].next;
		ents[i].meta = l->v[i].meta;
		if (l->v[i].resid) {
			ents[i].residual = 1;
			err = write_resid(cb, &l->v[i], &ents[i].resid);
		}
	}
	if (err == 0)
		err = blob_put(&cb->b, ents, l->n * sizeof(*ents), 8, &c->entries);
	free(ents);
	return err;
}

int
write_chain(struct cbuild *cb, struct clist *l, enum stage st, uint8_t family, uint32_t *offp)
{
	static const uint64_t zero[RS_BLOCK_WORDS];
	struct rs_chain c;
	struct fcut fc[NFIELDS];
	struct fval fv;
	uint32_t id0;
	int err;

	*offp = 0;
	if (l->n == 0)
		return 0;
	memset(&c, 0, sizeof(c));
	memset(fc, 0, sizeof(fc));
	cb->nwords = (uint32_t)((l->n + 63) / 64);
	cb->nblocks = (cb->nwords + RS_BLOCK_WORDS - 1) / RS_BLOCK_WORDS;
	rtab_reset(&cb->blocks, RS_BLOCK_WORDS * 8);
	rtab_reset(&cb->rows, cb->nblocks * 4);
	c.nentries = (uint32_t)l->n;
	c.nwords = cb->nwords;
	c.nblocks = cb->nblocks;
	c.family = family;

	err = block_intern(cb, zero, &id0);		/* id 0 */
	for (int f = 0; err == 0 && f < NFIELDS; f++)
		err = build_field(cb, l, f, field_max(f, family), &fc[f]);
	if (err == 0)
		err = write_rows(cb, &c, &fv);
	if (err == 0)
		err = write_fields(cb, &c, fc, &fv);
	for (int f = 0; f < NFIELDS; f++)
		fcut_free(&fc[f]);
	if (err == 0)
		err = write_entries(cb, &c, l, st);
	if (err == 0)
		err = blob_put(&cb->b, &c, sizeof(c), 8, offp);
	if (err < 0)
		return err;
	cb->nchains++;
	cb->nentries += (uint32_t)l->n;
	cb->nbitsets += (uint32_t)cb->rows.n;
	return 0;
}
