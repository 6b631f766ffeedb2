/*
 * ruleset_cmp.c - does a new table accept at least what the current one
 * does (ruleset_widens in ruleset.h)?
 *
 * A table change bumps the generation, and every established flow's next
 * packet is judged again. When a pod joins the address set of an Allow rule
 * that is wasted work: nothing the old table accepted is refused now. The
 * test here is sufficient, never necessary: the two tables must have the
 * same endpoints, chains and entries (action, outcome, tier jump, policy
 * and rule, named-port records), and differ only in which field values
 * each entry accepts, such that
 *   - an entry that accepts (outcome RS_ACCEPT) accepts the same or more,
 *   - an entry that drops (RS_DROP) matches the same or less,
 *   - every other entry (Pass, Log, one that leaves the verdict to a later
 *     hook) matches exactly the same.
 * An entry matches a packet when each of its six field sets holds the
 * packet's value, so an entry whose every field set grew (shrank) matches a
 * superset (subset). The first terminal entry decides: a packet the old
 * chain accepted at entry i meets, before i, no new drop (the drop sets only
 * shrank) and no new Pass or continue (equal), and then entry i, which
 * still matches: the new chain accepts it too, at i or at an earlier accept.
 * At every hook, so for the whole path of the packet.
 *
 * Cost: one merged walk over both tables' intervals per field, comparing
 * bitsets a word at a time. Any thread that holds both tables.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "ruleset_layout.h"

/* Per chain: the entries by how their sets may change, as bitset words. */
struct classes {
	uint32_t nwords;
	uint64_t *grow;		/* may match more (accepting entries) */
	uint64_t *shrink;	/* may match less (dropping entries) */
	uint64_t *same;		/* must match the same */
};

/* Word @w of the bitset of value @val. */
static uint64_t
word_of(const struct ruleset *rs, const struct rs_chain *c, uint32_t val, uint32_t w)
{
	const uint64_t *blk = rs_at(rs, c->blocks);
	uint32_t id = rs_value_block(rs, c, val, w / RS_BLOCK_WORDS);

	return blk[(size_t)id * RS_BLOCK_WORDS + w % RS_BLOCK_WORDS];
}

/* Are the sets of value @va (old) and @vb (new) as the classes allow? */
static bool
sets_widen(const struct ruleset *a, const struct rs_chain *ca, uint32_t va,
	   const struct ruleset *b, const struct rs_chain *cb, uint32_t vb,
	   const struct classes *k)
{
	for (uint32_t w = 0; w < k->nwords; w++) {
		uint64_t old = word_of(a, ca, va, w), new = word_of(b, cb, vb, w);

		if ((old & ~new & (k->grow[w] | k->same[w])) != 0)
			return false;	/* an entry lost a value it may not lose */
		if ((new & ~old & (k->shrink[w] | k->same[w])) != 0)
			return false;	/* an entry gained a value it may not gain */
	}
	return true;
}

typedef unsigned __int128 cmp_u128;

/* The start of interval @i of table @t (a chain of @family, 16-bit when !@addr). */
static cmp_u128
start_of(const struct ruleset *rs, const struct rs_itab *t, bool v6, uint32_t i)
{
	if (v6) {
		const struct addr *st = rs_at(rs, t->starts);

		return (cmp_u128)st[i].hi << 64 | st[i].lo;
	}
	return ((const struct rs_pair *)rs_at(rs, t->pairs))[i].start;
}

static uint32_t
value_of(const struct ruleset *rs, const struct rs_itab *t, bool v6, uint32_t i)
{
	if (v6)
		return ((const uint32_t *)rs_at(rs, t->rows))[i];
	return ((const struct rs_pair *)rs_at(rs, t->pairs))[i].row;
}

/*
 * Where the address fields break the rule (ruleset_changed_at): CIDRs of one
 * family, at most @max; @over once they did not fit. A range is kept open
 * while the segments that break the rule follow each other.
 */
struct spots {
	struct cidr *v;
	size_t n;
	size_t max;
	bool over;
	uint8_t family;
	bool open;
	cmp_u128 lo, hi;
};

static void
spot_cidr(struct spots *sp, cmp_u128 lo, unsigned plen)
{
	struct cidr *c;

	/* several chains (hooks, endpoints, both fields) name the same change: once */
	for (size_t i = 0; i < sp->n; i++)
		if (sp->v[i].family == sp->family && sp->v[i].plen == plen &&
		    sp->v[i].addr.hi == (uint64_t)(lo >> 64) && sp->v[i].addr.lo == (uint64_t)lo)
			return;
	if (sp->n == sp->max) {
		sp->over = true;
		return;
	}
	c = &sp->v[sp->n++];
	memset(c, 0, sizeof(*c));
	c->family = sp->family;
	c->plen = (uint8_t)plen;
	c->addr.hi = (uint64_t)(lo >> 64);
	c->addr.lo = (uint64_t)lo;
}

/* The open range as the fewest CIDRs that cover it exactly. */
static void
spot_flush(struct spots *sp)
{
	unsigned bits = sp->family == AF_INET6 ? 128 : 32;
	cmp_u128 lo = sp->lo, hi = sp->hi;

	if (!sp->open)
		return;
	sp->open = false;
	while (!sp->over) {
		unsigned k = 0;		/* the block is 2^k addresses, aligned on lo */

		while (k < bits && (lo >> k & 1) == 0 &&
		       (k + 1 == 128 ? lo == 0 && hi == ~(cmp_u128)0 :
			lo + ((cmp_u128)1 << (k + 1)) - 1 <= hi))
			k++;
		if (k == 128) {		/* ::/0 */
			spot_cidr(sp, 0, 0);
			return;
		}
		spot_cidr(sp, lo, bits - k);
		if (lo + ((cmp_u128)1 << k) - 1 >= hi)
			return;
		lo += (cmp_u128)1 << k;
	}
}

/* [@lo, @hi] breaks the rule. */
static void
spot_add(struct spots *sp, cmp_u128 lo, cmp_u128 hi)
{
	if (sp->open && lo == sp->hi + 1) {
		sp->hi = hi;
		return;
	}
	spot_flush(sp);
	sp->open = true;
	sp->lo = lo;
	sp->hi = hi;
}

/* One field: the two interval tables walked together, and their "none" values
 * (packets without the header: @none, the port and ICMP fields). With @sp (an
 * address field), a segment that breaks the rule is noted there instead. */
static bool
itab_widens(const struct ruleset *a, const struct rs_chain *ca, const struct rs_itab *ta,
	    const struct ruleset *b, const struct rs_chain *cb, const struct rs_itab *tb,
	    bool v6, bool none, const struct classes *k, struct spots *sp)
{
	cmp_u128 top = v6 ? ~(cmp_u128)0 : 0xffffffffu;
	uint32_t i = 0, j = 0, lastva = UINT32_MAX, lastvb = UINT32_MAX;
	bool lastok = true;

	if (ta->n == 0 || tb->n == 0)
		return ta->n == tb->n;
	if (none && !sets_widen(a, ca, ta->none, b, cb, tb->none, k))
		return false;
	/* both start at 0: each step covers [max(start i, start j), next start) */
	for (;;) {
		uint32_t va = value_of(a, ta, v6, i), vb = value_of(b, tb, v6, j);
		bool ok = va == lastva && vb == lastvb ? lastok : sets_widen(a, ca, va, b, cb, vb, k);

		if (!ok && sp == NULL)
			return false;
		if (!ok) {
			cmp_u128 sa = start_of(a, ta, v6, i), sb = start_of(b, tb, v6, j);
			cmp_u128 na = i + 1 < ta->n ? start_of(a, ta, v6, i + 1) - 1 : top;
			cmp_u128 nb = j + 1 < tb->n ? start_of(b, tb, v6, j + 1) - 1 : top;

			spot_add(sp, sa > sb ? sa : sb, na < nb ? na : nb);
			if (sp->over)
				return false;
		}
		lastva = va;
		lastvb = vb;
		lastok = ok;
		if (i + 1 == ta->n && j + 1 == tb->n) {
			if (sp != NULL)
				spot_flush(sp);
			return sp == NULL || !sp->over;
		}
		if (j + 1 == tb->n ||
		    (i + 1 < ta->n && start_of(a, ta, v6, i + 1) < start_of(b, tb, v6, j + 1))) {
			i++;
		} else if (i + 1 == ta->n ||
			   start_of(b, tb, v6, j + 1) < start_of(a, ta, v6, i + 1)) {
			j++;
		} else {
			i++;
			j++;
		}
	}
}

static bool
uints_equal(const struct ruleset *a, uint32_t offa, const struct ruleset *b, uint32_t offb,
	    uint32_t n, size_t size)
{
	return n == 0 || memcmp(rs_at(a, offa), rs_at(b, offb), n * size) == 0;
}

/* Two named-port records: the same ranges and tuples on every side. */
static bool
resid_equal(const struct ruleset *a, const struct rs_entry *ea, const struct ruleset *b,
	    const struct rs_entry *eb)
{
	const struct rs_resid *ra = rs_at(a, ea->resid), *rb = rs_at(b, eb->resid);

	for (int s = 0; s < 4; s++) {
		const struct rs_pside *pa = &ra->side[s], *pb = &rb->side[s];

		if (pa->present != pb->present || pa->nranges != pb->nranges ||
		    pa->ntuples != pb->ntuples ||
		    !uints_equal(a, pa->ranges, b, pb->ranges, pa->nranges, sizeof(uint32_t)) ||
		    !uints_equal(a, pa->tuples, b, pb->tuples, pa->ntuples, sizeof(struct rs_tuple)))
			return false;
	}
	return true;
}

static bool
meta_equal(const struct ruleset *a, uint32_t ma, const struct ruleset *b, uint32_t mb)
{
	const struct rs_meta *x, *y;

	if (ma == RS_NO_META || mb == RS_NO_META)
		return ma == mb;
	if (ma >= ruleset_nmeta(a) || mb >= ruleset_nmeta(b))
		return false;
	x = ruleset_meta(a, ma);
	y = ruleset_meta(b, mb);
	return x->rule == y->rule && x->kind == y->kind && x->action == y->action &&
	       x->stage == y->stage && x->dir == y->dir &&
	       strcmp(ruleset_str(a, x->tier), ruleset_str(b, y->tier)) == 0 &&
	       strcmp(ruleset_str(a, x->policy), ruleset_str(b, y->policy)) == 0;
}

/* The entries, one for one; fills @k. */
static bool
entries_match(const struct ruleset *a, const struct rs_chain *ca, const struct ruleset *b,
	      const struct rs_chain *cb, struct classes *k)
{
	const struct rs_entry *ea = rs_at(a, ca->entries), *eb = rs_at(b, cb->entries);

	for (uint32_t i = 0; i < ca->nentries; i++) {
		uint64_t bit = 1ull << (i & 63);

		if (ea[i].action != eb[i].action || ea[i].residual != eb[i].residual ||
		    ea[i].reason != eb[i].reason || ea[i].outcome != eb[i].outcome ||
		    ea[i].next != eb[i].next || !meta_equal(a, ea[i].meta, b, eb[i].meta) ||
		    (ea[i].residual && !resid_equal(a, &ea[i], b, &eb[i])))
			return false;
		if (ea[i].outcome == RS_ACCEPT && ea[i].action != RS_A_PASS &&
		    ea[i].action != RS_A_LOG)
			k->grow[i / 64] |= bit;
		else if (ea[i].outcome == RS_DROP && ea[i].action != RS_A_PASS &&
			 ea[i].action != RS_A_LOG)
			k->shrink[i / 64] |= bit;
		else
			k->same[i / 64] |= bit;
	}
	return true;
}

static bool
chain_widens(const struct ruleset *a, const struct rs_chain *ca, const struct ruleset *b,
	     const struct rs_chain *cb, struct spots *sp)
{
	const uint32_t *pa, *pb;
	struct classes k;
	bool v6 = ca->family == AF_INET6, ok;

	if (ca->nentries != cb->nentries || ca->family != cb->family || ca->nwords != cb->nwords)
		return false;
	k.nwords = ca->nwords;
	k.grow = calloc((size_t)k.nwords * 3 + 1, sizeof(uint64_t));
	if (k.grow == NULL)
		return false;		/* cannot tell: judge again */
	k.shrink = k.grow + k.nwords;
	k.same = k.shrink + k.nwords;
	ok = entries_match(a, ca, b, cb, &k);
	pa = rs_at(a, ca->proto);
	pb = rs_at(b, cb->proto);
	for (int p = 0; ok && p < 256; p++)
		if ((p == 0 || pa[p] != pa[p - 1] || pb[p] != pb[p - 1]) &&
		    !sets_widen(a, ca, pa[p], b, cb, pb[p], &k))
			ok = false;
	if (sp != NULL)
		sp->family = ca->family;
	ok = ok && itab_widens(a, ca, &ca->src, b, cb, &cb->src, v6, false, &k, sp) &&
	     itab_widens(a, ca, &ca->dst, b, cb, &cb->dst, v6, false, &k, sp) &&
	     itab_widens(a, ca, &ca->sport, b, cb, &cb->sport, false, true, &k, NULL) &&
	     itab_widens(a, ca, &ca->dport, b, cb, &cb->dport, false, true, &k, NULL) &&
	     itab_widens(a, ca, &ca->icmp, b, cb, &cb->icmp, false, true, &k, NULL);
	free(k.grow);
	return ok;
}

/* ruleset_widens, or with @sp ruleset_changed_at. */
static bool
tables_compare(const struct ruleset *a, const struct ruleset *b, struct spots *sp)
{
	const struct rs_hep *ha = rs_at(a, a->heps), *hb = rs_at(b, b->heps);

	if (a->nheps != b->nheps || a->wildcard != b->wildcard || a->nifmap != b->nifmap ||
	    a->flags != b->flags ||
	    !uints_equal(a, a->ifmap, b, b->ifmap, a->nifmap, sizeof(struct rs_ifmap)))
		return false;
	for (uint32_t h = 0; h < a->nheps; h++) {
		if (strcmp(ruleset_str(a, ha[h].name), ruleset_str(b, hb[h].name)) != 0)
			return false;
		for (int hook = 0; hook < RS_NHOOKS; hook++)
			for (int f = 0; f < 2; f++) {
				uint32_t oa = ha[h].chains[hook][f], ob = hb[h].chains[hook][f];

				if ((oa == 0) != (ob == 0))
					return false;
				if (oa != 0 && !chain_widens(a, rs_at(a, oa), b, rs_at(b, ob), sp))
					return false;
			}
	}
	return true;
}

bool
ruleset_widens(const struct ruleset *a, const struct ruleset *b)
{
	return tables_compare(a, b, NULL);
}

bool
ruleset_changed_at(const struct ruleset *a, const struct ruleset *b, struct cidr *out,
		   size_t max, size_t *n)
{
	struct spots sp = { .v = out, .max = max };
	bool ok = tables_compare(a, b, &sp);

	*n = sp.n;
	return ok && !sp.over;
}
