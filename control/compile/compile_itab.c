/*
 * compile_itab.c - the interval tables of a chain (see struct rs_itab in
 * ruleset_layout.h): each cut field as sorted starts with the value the
 * lookup gets for each interval, padded for the window search, and for
 * large tables a direct or a window index; and the 256-entry protocol
 * table. Control thread only.
 */
#include <netinet/in.h>
#include <string.h>

#include "compile_int.h"

/*
 * Interval tables of at least ITAB_INDEX_MIN intervals get an index (see
 * struct rs_itab): a window index of at most 2^ITAB_INDEX_MAX buckets (4
 * bytes each) that grows with the table, or for 16-bit fields of at least
 * ITAB_DIRECT_MIN intervals a direct table (256 KiB).
 */
#define ITAB_INDEX_MIN		32
#define ITAB_INDEX_MAX		16
#define ITAB_DIRECT_MIN		1024

/* The value the lookup gets for row @rowid (see RS_ROWS_*). */
static uint32_t
fval_of(const struct fval *fv, uint32_t rowid)
{
	switch (fv->mode) {
	case RS_ROWS_FLAT:
		return fv->ids[rowid];
	case RS_ROWS_DESC:
		return fv->ids[(size_t)rowid * fv->nblocks] | rowid << 16;
	default:
		return fv->rows + rowid * fv->rowbytes;
	}
}

/* The interval of @fc holding @key, searching from *j on (keys come in ascending order). */
static size_t
fcut_find(const struct fcut *fc, size_t *j, u128 key)
{
	while (*j + 1 < fc->n && fc->starts[*j + 1] <= key)
		(*j)++;
	return *j;
}

/* The first and last key of window bucket @d (or of the entries below and past the buckets). */
static void
ix_bucket(bool wide, uint64_t base, unsigned shift, uint64_t nbkt, uint64_t kmax, uint64_t d,
	  u128 *k0, u128 *k1)
{
	if (d == nbkt) {			/* below base (none when base is 0) */
		*k0 = 0;
		*k1 = base ? (u128)base - 1 : 0;
	} else {
		*k0 = (u128)base + ((u128)(d > nbkt ? nbkt : d) << shift);
		*k1 = d > nbkt ? kmax : *k0 + ((u128)1 << shift) - 1;
		if (*k0 > kmax)
			*k0 = kmax;
		if (*k1 > kmax)
			*k1 = kmax;
	}
	if (wide) {
		*k0 <<= 64;
		*k1 = *k1 << 64 | ~(uint64_t)0;
	}
}

/* The window index entry of bucket @d. */
static uint32_t
ix_entry(const struct fcut *fc, size_t *j, bool wide, uint64_t base, unsigned shift,
	 uint64_t nbkt, uint64_t kmax, uint64_t d)
{
	u128 k0, k1;
	size_t lo, hi;

	ix_bucket(wide, base, shift, nbkt, kmax, d, &k0, &k1);
	lo = fcut_find(fc, j, k0);
	hi = fcut_find(fc, j, k1);
	return (uint32_t)lo << 1 | (hi - lo >= RS_IX_WIN);
}

/* The window buckets over @fc at @ibits index bits; returns how many hold too many intervals. */
static size_t
ix_layout(const struct fcut *fc, bool wide, uint64_t kmax, unsigned ibits, uint64_t *base,
	  unsigned *shift, uint64_t *nbkt)
{
	uint64_t span;
	size_t j = 0, over = 0;

	*base = (uint64_t)(wide ? fc->starts[1] >> 64 : fc->starts[1]);
	span = (uint64_t)(wide ? fc->starts[fc->n - 1] >> 64 : fc->starts[fc->n - 1]) - *base;
	*shift = 0;
	while ((span >> *shift) >> ibits != 0)
		(*shift)++;
	*nbkt = (span >> *shift) + 1;
	for (uint64_t d = 0; d < *nbkt; d++) {
		u128 k0, k1;
		size_t lo, hi;

		ix_bucket(wide, *base, *shift, *nbkt, kmax, d, &k0, &k1);
		lo = fcut_find(fc, &j, k0);
		hi = fcut_find(fc, &j, k1);
		over += hi - lo >= RS_IX_WIN;
	}
	return over;
}

/*
 * The index of an interval table (see struct rs_itab): 16-bit fields with
 * many intervals get a direct table; other large tables a window index with
 * the fewest buckets (at least one per two intervals) that keeps all but
 * 1/64 of them within a window.
 */
static int
write_index(struct cbuild *cb, const struct fcut *fc, bool wide, unsigned keybits,
	    const struct fval *fv, struct rs_itab *t)
{
	uint64_t kmax = wide ? UINT64_MAX : ((uint64_t)1 << keybits) - 1, base, nbkt;
	unsigned ibits = 1, shift, top;
	uint32_t *ix;
	size_t j = 0;
	int err;

	if (fc->n < ITAB_INDEX_MIN || fc->n >= ((size_t)1 << 30))
		return 0;
	if (keybits == 16 && fc->n >= ITAB_DIRECT_MIN) {
		err = blob_put(&cb->b, NULL, 65536 * 4, 64, &t->index);
		if (err < 0)
			return err;
		t->kind = RS_IX_DIRECT;
		ix = blob_at(&cb->b, t->index);
		for (uint32_t key = 0; key < 65536; key++)
			ix[key] = fval_of(fv, fc->rowid[fcut_find(fc, &j, key)]);
		return 0;
	}
	while (((size_t)1 << ibits) < fc->n)
		ibits++;
	/* from about 1/2 to at most 8 buckets per interval */
	top = ibits + 2 < ITAB_INDEX_MAX ? ibits + 2 : ITAB_INDEX_MAX;
	for (ibits--; ibits < top; ibits++)
		if (ix_layout(fc, wide, kmax, ibits, &base, &shift, &nbkt) <= nbkt / 64)
			break;
	ix_layout(fc, wide, kmax, ibits, &base, &shift, &nbkt);
	err = blob_put(&cb->b, NULL, (nbkt + 2) * 4, 64, &t->index);
	if (err < 0)
		return err;
	t->kind = RS_IX_WINDOW;
	t->base = base;
	t->shift = (uint8_t)shift;
	t->nbkt = (uint32_t)nbkt;
	ix = blob_at(&cb->b, t->index);
	/* keys ascend: below base, the buckets, past them */
	ix[nbkt] = ix_entry(fc, &j, wide, base, shift, nbkt, kmax, nbkt);
	for (uint64_t d = 0; d < nbkt; d++)
		ix[d] = ix_entry(fc, &j, wide, base, shift, nbkt, kmax, d);
	ix[nbkt + 1] = ix_entry(fc, &j, wide, base, shift, nbkt, kmax, nbkt + 1);
	return 0;
}

static int
write_itab(struct cbuild *cb, const struct fcut *fc, uint8_t family, unsigned keybits,
	   const struct fval *fv, struct rs_itab *t)
{
	bool wide = family == AF_INET6;
	size_t npad = fc->n + RS_IX_WIN - 1;
	int err;

	memset(t, 0, sizeof(*t));
	t->n = (uint32_t)fc->n;
	t->none = fval_of(fv, fc->none);
	if (wide) {
		struct addr *st;
		uint32_t *rw;

		err = blob_put(&cb->b, NULL, npad * sizeof(struct addr), 16, &t->starts);
		if (err == 0)
			err = blob_put(&cb->b, NULL, npad * 4, 4, &t->rows);
		if (err < 0)
			return err;
		st = blob_at(&cb->b, t->starts);
		rw = blob_at(&cb->b, t->rows);
		for (size_t e = 0; e < npad; e++) {
			size_t i = e < fc->n ? e : fc->n - 1;

			st[e] = addr_from_u128(fc->starts[i]);
			rw[e] = fval_of(fv, fc->rowid[i]);
		}
	} else {
		struct rs_pair *p;

		err = blob_put(&cb->b, NULL, npad * sizeof(*p), 8, &t->pairs);
		if (err < 0)
			return err;
		p = blob_at(&cb->b, t->pairs);
		for (size_t e = 0; e < npad; e++) {
			size_t i = e < fc->n ? e : fc->n - 1;

			p[e].start = (uint32_t)fc->starts[i];
			p[e].row = fval_of(fv, fc->rowid[i]);
		}
	}
	return write_index(cb, fc, wide, keybits, fv, t);
}

/* The protocol table and the interval tables of the fields cut in @fc. */
int
write_fields(struct cbuild *cb, struct rs_chain *c, const struct fcut *fc, const struct fval *fv)
{
	uint32_t proto[256];
	int err;

	for (uint32_t v = 0, e = 0; v < 256; v++) {
		while (e + 1 < fc[F_PROTO].n && fc[F_PROTO].starts[e + 1] <= v)
			e++;
		proto[v] = fval_of(fv, fc[F_PROTO].rowid[e]);
	}
	err = blob_put(&cb->b, proto, sizeof(proto), 64, &c->proto);
	if (err == 0)
		err = write_itab(cb, &fc[F_SRC], c->family, 32, fv, &c->src);
	if (err == 0)
		err = write_itab(cb, &fc[F_DST], c->family, 32, fv, &c->dst);
	if (err == 0)
		err = write_itab(cb, &fc[F_SPORT], AF_INET, 16, fv, &c->sport);
	if (err == 0)
		err = write_itab(cb, &fc[F_DPORT], AF_INET, 16, fv, &c->dport);
	if (err == 0)
		err = write_itab(cb, &fc[F_ICMP], AF_INET, 16, fv, &c->icmp);
	return err;
}
