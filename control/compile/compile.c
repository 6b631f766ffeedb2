/*
 * compile.c - policy model -> struct ruleset (see ruleset.h for the result).
 *
 * For each local host endpoint, hook and IP family the compiler lays out the
 * chain of entries in evaluation order (failsafes; per tier, its policies'
 * rules and its end-of-tier entry; profiles), describes what each entry
 * accepts in each packet field as an interval set (rule selectors resolved
 * to address sets, named ports to their port numbers plus an exact residual
 * check), then cuts every field into elementary intervals, each carrying the
 * bitset of entries that accept it. Bitsets are stored once per chain.
 * Temporaries are freed before returning; the result is one block.
 * Control thread only.
 */
#include <netinet/in.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "ivset.h"
#include "ruleset_layout.h"
#include "xalloc.h"

/*
 * Interval tables of at least ITAB_INDEX_MIN intervals get an index (see
 * struct rs_itab): a window index of at most 2^ITAB_INDEX_MAX buckets (4
 * bytes each) that grows with the table, or for 16-bit fields of at least
 * ITAB_DIRECT_MIN intervals a direct table (256 KiB).
 */
#define ITAB_INDEX_MIN		32
#define ITAB_INDEX_MAX		16
#define ITAB_DIRECT_MIN		1024

#define TABLE_HUGE		((size_t)2 << 20)	/* a huge page */
#define TABLE_HUGE_MIN		((size_t)1 << 20)	/* tables from here: huge pages */

enum field {
	F_PROTO,
	F_SRC,
	F_DST,
	F_SPORT,
	F_DPORT,
	F_ICMP,
	NFIELDS,
};

struct rb_pside {
	bool present;
	struct ivset ranges;
	struct rs_tuple *tuples;
	size_t ntuples;
};

struct centry {
	uint8_t action;
	uint32_t next;
	uint32_t meta;
	struct ivset f[NFIELDS];
	bool none[NFIELDS];		/* ports/icmp: also matches packets without the header */
	bool resid;
	struct rb_pside side[4];	/* src ports, src notPorts, dst ports, dst notPorts */
};

/* ---- a growable block addressed by offsets ------------------------------------- */

struct blob {
	char *buf;
	size_t len;
	size_t cap;
};

static uint32_t
blob_put(struct blob *b, const void *data, size_t size, size_t align)
{
	size_t off = (b->len + align - 1) & ~(align - 1);

	if (off + size > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (off + size > cap)
			cap *= 2;
		b->buf = xrealloc(b->buf, cap);
		b->cap = cap;
	}
	memset(b->buf + b->len, 0, off - b->len);
	if (data != NULL)
		memcpy(b->buf + off, data, size);
	else
		memset(b->buf + off, 0, size);
	b->len = off + size;
	return (uint32_t)off;
}

static void *
blob_at(struct blob *b, uint32_t off)
{
	return b->buf + off;
}

/* ---- a small open-addressing map: 64-bit hash -> index --------------------------- */

struct hmap {
	uint64_t *hash;
	uint32_t *val;			/* UINT32_MAX = empty */
	size_t cap;
	size_t n;
};

static uint64_t
hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static void
hmap_grow(struct hmap *m)
{
	struct hmap old = *m;

	m->cap = old.cap ? old.cap * 2 : 64;
	m->hash = xmalloc(m->cap * sizeof(*m->hash));
	m->val = xmalloc(m->cap * sizeof(*m->val));
	memset(m->val, 0xff, m->cap * sizeof(*m->val));
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++) {
		if (old.val[i] == UINT32_MAX)
			continue;
		size_t j = old.hash[i] & (m->cap - 1);

		while (m->val[j] != UINT32_MAX)
			j = (j + 1) & (m->cap - 1);
		m->hash[j] = old.hash[i];
		m->val[j] = old.val[i];
		m->n++;
	}
	free(old.hash);
	free(old.val);
}

/*
 * hmap_find - the value stored for @h that @eq accepts, or UINT32_MAX; the
 * slot to insert at is left in *slot.
 */
static uint32_t
hmap_find(struct hmap *m, uint64_t h, bool (*eq)(uint32_t val, const void *key, void *ctx),
	  const void *key, void *ctx, size_t *slot)
{
	size_t j;

	if ((m->n + 1) * 2 > m->cap)
		hmap_grow(m);
	for (j = h & (m->cap - 1); m->val[j] != UINT32_MAX; j = (j + 1) & (m->cap - 1))
		if (m->hash[j] == h && eq(m->val[j], key, ctx))
			return m->val[j];
	*slot = j;
	return UINT32_MAX;
}

static void
hmap_set(struct hmap *m, size_t slot, uint64_t h, uint32_t val)
{
	m->hash[slot] = h;
	m->val[slot] = val;
	m->n++;
}

/* hmap_clear - empty @m, keeping its memory. */
static void
hmap_clear(struct hmap *m)
{
	if (m->val != NULL)
		memset(m->val, 0xff, m->cap * sizeof(*m->val));
	m->n = 0;
}

static void
hmap_free(struct hmap *m)
{
	free(m->hash);
	free(m->val);
	memset(m, 0, sizeof(*m));
}

/* ---- the build state ---------------------------------------------------------------- */

struct selset {
	char *text;
	uint8_t family;
	struct ivset set;
};

struct cbuild {
	const struct hostenv *env;
	struct blob b;
	struct hmap strings;		/* -> blob offset */
	struct rs_meta *meta;
	size_t nmeta;
	struct hmap metamap;		/* -> meta index */
	struct selset *selsets;
	size_t nselsets;
	struct hmap selmap;		/* -> selsets index */
	const struct policy **order;	/* enforced policies in evaluation order */
	size_t norder;
	uint32_t nchains;
	uint32_t nentries;
	uint32_t nbitsets;
	/* per chain */
	uint32_t nwords;		/* words per bitset */
	uint32_t nblocks;		/* blocks per bitset */
	uint64_t *blk;			/* distinct blocks */
	size_t nblk;
	size_t blkcap;
	struct hmap blkmap;
	uint32_t *rows;			/* distinct rows: nblocks block ids each */
	size_t nrows;
	size_t rowcap;			/* in block ids */
	struct hmap rowmap;
};

static bool
str_eq(uint32_t off, const void *key, void *ctx)
{
	struct cbuild *cb = ctx;

	return strcmp(cb->b.buf + off, key) == 0;
}

static uint32_t
str_intern(struct cbuild *cb, const char *s)
{
	uint64_t h;
	size_t slot;
	uint32_t off;

	if (s == NULL)
		return 0;
	h = hash_bytes(s, strlen(s));
	off = hmap_find(&cb->strings, h, str_eq, s, cb, &slot);
	if (off != UINT32_MAX)
		return off;
	off = blob_put(&cb->b, s, strlen(s) + 1, 1);
	hmap_set(&cb->strings, slot, h, off);
	return off;
}

static bool
meta_eq(uint32_t idx, const void *key, void *ctx)
{
	struct cbuild *cb = ctx;

	return memcmp(&cb->meta[idx], key, sizeof(struct rs_meta)) == 0;
}

static uint32_t
meta_intern(struct cbuild *cb, enum rs_meta_kind kind, enum rs_action action, enum stage st,
	    enum dir dir, const char *tier, const char *policy, int rule)
{
	struct rs_meta m;
	uint64_t h;
	size_t slot;
	uint32_t idx;

	memset(&m, 0, sizeof(m));
	m.kind = (uint8_t)kind;
	m.action = (uint8_t)action;
	m.stage = (uint8_t)st;
	m.dir = (uint8_t)dir;
	m.tier = str_intern(cb, tier);
	m.policy = str_intern(cb, policy);
	m.rule = rule;
	h = hash_bytes(&m, sizeof(m));
	idx = hmap_find(&cb->metamap, h, meta_eq, &m, cb, &slot);
	if (idx != UINT32_MAX)
		return idx;
	XGROW(cb->meta, cb->nmeta);
	cb->meta[cb->nmeta] = m;
	hmap_set(&cb->metamap, slot, h, (uint32_t)cb->nmeta);
	return (uint32_t)cb->nmeta++;
}

/* ---- policy order --------------------------------------------------------------------- */

struct tkey {
	int invalid;
	int no_order;
	double order;
};

static struct tkey
tier_key(const struct polset *ps, const char *name)
{
	const struct tier *t = polset_tier(ps, name);
	struct tkey k = { 0, 0, 0 };

	if (t != NULL) {
		k.no_order = !t->has_order;
		k.order = t->order;
	} else if (strcmp(name, "default") == 0) {
		k.order = 1000000;	/* the built-in default tier */
	} else {
		k.invalid = 1;		/* referenced, never defined: after every valid tier */
		k.no_order = 1;
	}
	return k;
}

static enum action
tier_default(const struct polset *ps, const char *name)
{
	const struct tier *t = polset_tier(ps, name);

	return t != NULL ? t->default_action : ACT_DENY;
}

static const struct polset *order_ps;

static int
order_cmp(const void *pa, const void *pb)
{
	const struct policy *a = *(const struct policy *const *)pa;
	const struct policy *b = *(const struct policy *const *)pb;

	if (strcmp(a->tier, b->tier) != 0) {
		struct tkey x = tier_key(order_ps, a->tier), y = tier_key(order_ps, b->tier);

		if (x.invalid != y.invalid)
			return x.invalid - y.invalid;
		if (x.no_order != y.no_order)
			return x.no_order - y.no_order;
		if (x.order != y.order)
			return x.order < y.order ? -1 : 1;
		return strcmp(a->tier, b->tier);
	}
	if (a->has_order != b->has_order)
		return a->has_order ? -1 : 1;
	if (a->has_order && a->order != b->order)
		return a->order < b->order ? -1 : 1;
	return strcmp(a->name, b->name);
}

static void
build_order(struct cbuild *cb)
{
	const struct polset *ps = cb->env->ps;

	cb->order = xmalloc((ps->npolicies + 1) * sizeof(*cb->order));
	for (size_t i = 0; i < ps->npolicies; i++)
		if (ps->policies[i]->kind == KIND_GNP)
			cb->order[cb->norder++] = ps->policies[i];
	order_ps = ps;
	qsort(cb->order, cb->norder, sizeof(*cb->order), order_cmp);
}

/* ---- field sets of one entry ----------------------------------------------------------- */

static const u128 field_max16 = 0xffff;

static void
centry_init_full(struct centry *e, uint8_t family)
{
	memset(e, 0, sizeof(*e));
	ivset_full(&e->f[F_PROTO], 255);
	ivset_full(&e->f[F_SRC], addr_space_max(family));
	ivset_full(&e->f[F_DST], addr_space_max(family));
	ivset_full(&e->f[F_SPORT], field_max16);
	ivset_full(&e->f[F_DPORT], field_max16);
	ivset_full(&e->f[F_ICMP], field_max16);
	e->none[F_SPORT] = e->none[F_DPORT] = e->none[F_ICMP] = true;
}

static void
centry_free(struct centry *e)
{
	for (int i = 0; i < NFIELDS; i++)
		ivset_free(&e->f[i]);
	for (int i = 0; i < 4; i++) {
		ivset_free(&e->side[i].ranges);
		free(e->side[i].tuples);
	}
}

static bool
selset_eq(uint32_t idx, const void *key, void *ctx)
{
	const struct cbuild *cb = ctx;
	const struct selset *k = key;

	return cb->selsets[idx].family == k->family && strcmp(cb->selsets[idx].text, k->text) == 0;
}

/* The addresses of every labelled object @sel selects (calico-semantics.md §5), cached. */
static const struct ivset *
selector_addrs(struct cbuild *cb, const struct selector *sel, uint8_t family)
{
	const struct hostenv *env = cb->env;
	char text[4096];
	struct selset key, *s;
	const struct hep *h;
	size_t need = selector_format(sel, text, sizeof(text)), slot;
	char *full = need < sizeof(text) ? NULL : xmalloc(need + 1);
	uint64_t hash;
	uint32_t idx;

	if (full != NULL)
		selector_format(sel, full, need + 1);
	key.text = full ? full : text;
	key.family = family;
	hash = hash_bytes(key.text, strlen(key.text)) ^ family;
	idx = hmap_find(&cb->selmap, hash, selset_eq, &key, cb, &slot);
	if (idx != UINT32_MAX) {
		free(full);
		return &cb->selsets[idx].set;
	}
	XGROW(cb->selsets, cb->nselsets);
	s = &cb->selsets[cb->nselsets];
	s->text = full ? full : xstrdup(text);
	s->family = family;
	ivset_init(&s->set);
	for (size_t i = 0; (h = hostenv_any_hep(env, i)) != NULL; i++) {
		if (!selector_match(sel, &h->labels))
			continue;
		for (size_t j = 0; j < h->nips; j++)
			if (h->ips[j].family == family)
				ivset_add_cidr(&s->set, &h->ips[j]);
	}
	for (size_t i = 0; i < env->ps->nnetsets; i++) {
		const struct netset *n = env->ps->netsets[i];

		if (!selector_match(sel, &n->labels))
			continue;
		for (size_t j = 0; j < n->nnets; j++)
			if (n->nets[j].family == family)
				ivset_add_cidr(&s->set, &n->nets[j]);
	}
	ivset_norm(&s->set);
	hmap_set(&cb->selmap, slot, hash, (uint32_t)cb->nselsets);
	return &cb->selsets[cb->nselsets++].set;
}

static void
cidrs_to_set(struct ivset *s, const struct cidr *v, size_t n, uint8_t family)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == family)
			ivset_add_cidr(s, &v[i]);
	ivset_norm(s);
}

static bool
has_family(const struct cidr *v, size_t n, uint8_t family)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == family)
			return true;
	return false;
}

/* Address field of one side: nets ∩ ¬notNets ∩ selector ∩ ¬notSelector. */
static void
entity_addrs(struct cbuild *cb, const struct entity *e, uint8_t family, struct ivset *out)
{
	struct ivset t;

	ivset_init(&t);
	if (e->nnets) {
		cidrs_to_set(&t, e->nets, e->nnets, family);
		ivset_and(out, &t);
	}
	if (e->nnot_nets) {
		t.n = 0;
		cidrs_to_set(&t, e->not_nets, e->nnot_nets, family);
		ivset_sub(out, &t);
	}
	ivset_free(&t);
	if (e->sel)
		ivset_and(out, selector_addrs(cb, e->sel, family));
	if (e->not_sel)
		ivset_sub(out, selector_addrs(cb, e->not_sel, family));
}

/* The exact tuples of a named port (calico-semantics.md §1.7), and their ports. */
static void
named_port_tuples(struct cbuild *cb, const struct entity *e, const struct rule *r,
		  const char *name, struct rb_pside *side, struct ivset *ports)
{
	const struct hep *h;

	for (size_t i = 0; (h = hostenv_any_hep(cb->env, i)) != NULL; i++) {
		if (e->sel != NULL && !selector_match(e->sel, &h->labels))
			continue;
		for (size_t j = 0; j < h->nports; j++) {
			const struct named_port *np = &h->ports[j];

			if (strcmp(np->name, name) != 0 || (r->proto != 0 && np->proto != r->proto))
				continue;
			for (size_t a = 0; a < h->nips; a++) {
				struct rs_tuple *t;

				side->tuples = xrealloc(side->tuples,
							(side->ntuples + 1) * sizeof(*side->tuples));
				t = &side->tuples[side->ntuples++];
				memset(t, 0, sizeof(*t));
				t->addr = h->ips[a].addr;
				t->family = h->ips[a].family;
				t->proto = np->proto;
				t->port = np->port;
			}
			if (h->nips > 0 && ports != NULL)
				ivset_add(ports, np->port, np->port);
		}
	}
}

static void
port_side(struct cbuild *cb, struct centry *ce, const struct rule *r, const struct entity *e,
	  int field, int sidebase)
{
	struct ivset *p = &ce->f[field];
	struct ivset pos, neg;
	bool named = false;

	if (e->nports == 0 && e->nnot_ports == 0)
		return;
	ce->none[field] = false;
	ivset_init(&pos);
	ivset_init(&neg);
	for (size_t i = 0; i < e->nports; i++) {
		if (e->ports[i].name == NULL) {
			ivset_add(&pos, e->ports[i].lo, e->ports[i].hi);
			ivset_add(&ce->side[sidebase].ranges, e->ports[i].lo, e->ports[i].hi);
		} else {
			named = true;
			named_port_tuples(cb, e, r, e->ports[i].name, &ce->side[sidebase], &pos);
		}
	}
	for (size_t i = 0; i < e->nnot_ports; i++) {
		if (e->not_ports[i].name == NULL) {
			ivset_add(&neg, e->not_ports[i].lo, e->not_ports[i].hi);
			ivset_add(&ce->side[sidebase + 1].ranges, e->not_ports[i].lo,
				  e->not_ports[i].hi);
		} else {
			named = true;
			named_port_tuples(cb, e, r, e->not_ports[i].name, &ce->side[sidebase + 1],
					  NULL);
		}
	}
	ivset_norm(&pos);
	ivset_norm(&neg);
	if (e->nports)
		ivset_and(p, &pos);
	ivset_sub(p, &neg);	/* a superset when notPorts name ports: the residual is exact */
	ce->side[sidebase].present = e->nports > 0;
	ce->side[sidebase + 1].present = e->nnot_ports > 0;
	if (named)
		ce->resid = true;
	ivset_free(&pos);
	ivset_free(&neg);
}

static void
icmp_range(struct ivset *s, uint8_t type, bool has_code, uint8_t code)
{
	u128 base = (u128)type << 8;

	if (has_code)
		ivset_add(s, base | code, base | code);
	else
		ivset_add(s, base, base | 0xff);
}

/*
 * The entry for rule @r in @family, or false when Felix would not render it
 * for that family (§1.7) or it can never match a host (serviceAccounts,
 * services).
 */
static bool
centry_rule(struct cbuild *cb, struct centry *ce, const struct rule *r, uint8_t family)
{
	const struct entity *ents[2] = { &r->src, &r->dst };
	struct ivset t;

	if (r->ip_version != 0 && (r->ip_version == 4) != (family == AF_INET))
		return false;
	for (int i = 0; i < 2; i++) {
		if (ents[i]->nnets && !has_family(ents[i]->nets, ents[i]->nnets, family))
			return false;
		if (ents[i]->nnot_nets && !has_family(ents[i]->not_nets, ents[i]->nnot_nets, family))
			return false;
		if (ents[i]->has_sa || ents[i]->has_services)
			return false;
	}
	centry_init_full(ce, family);
	ivset_init(&t);
	if (r->proto != 0) {
		ivset_add(&t, r->proto, r->proto);
		ivset_and(&ce->f[F_PROTO], &t);
	}
	if (r->not_proto != 0) {
		t.n = 0;
		ivset_add(&t, r->not_proto, r->not_proto);
		ivset_sub(&ce->f[F_PROTO], &t);
	}
	if (r->has_icmp) {
		t.n = 0;
		icmp_range(&t, r->icmp_type, r->icmp_has_code, r->icmp_code);
		ivset_and(&ce->f[F_ICMP], &t);
		ce->none[F_ICMP] = false;
	}
	if (r->has_not_icmp) {
		t.n = 0;
		icmp_range(&t, r->not_icmp_type, r->not_icmp_has_code, r->not_icmp_code);
		ivset_sub(&ce->f[F_ICMP], &t);
		ce->none[F_ICMP] = false;
	}
	ivset_free(&t);
	entity_addrs(cb, &r->src, family, &ce->f[F_SRC]);
	entity_addrs(cb, &r->dst, family, &ce->f[F_DST]);
	port_side(cb, ce, r, &r->src, F_SPORT, 0);
	port_side(cb, ce, r, &r->dst, F_DPORT, 2);
	return true;
}

/* ---- chains ------------------------------------------------------------------------------ */

struct clist {
	struct centry *v;
	size_t n;
	size_t cap;
};

static struct centry *
clist_add(struct clist *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	return &l->v[l->n++];
}

static void
add_catch_all(struct clist *l, uint8_t family, uint8_t action, uint32_t meta)
{
	struct centry *e = clist_add(l);

	centry_init_full(e, family);
	e->action = action;
	e->meta = meta;
}

static void
add_failsafes(struct cbuild *cb, struct clist *l, enum stage st, enum dir dir, uint8_t family)
{
	const struct failsafe_list *fwd = dir == DIR_INGRESS ? &cb->env->fs_in : &cb->env->fs_out;
	const struct failsafe_list *rev = dir == DIR_INGRESS ? &cb->env->fs_out : &cb->env->fs_in;
	uint32_t meta = meta_intern(cb, RS_META_FAILSAFE, RS_A_FAILSAFE, st, dir, NULL, NULL, -1);

	/* In the raw table the replies of failsafe flows are accepted too (felix PR #1718). */
	for (int pass = 0; pass < (st == STAGE_UNTRACKED ? 2 : 1); pass++) {
		const struct failsafe_list *fl = pass == 0 ? fwd : rev;

		for (size_t i = 0; i < fl->n; i++) {
			const struct failsafe *f = &fl->v[i];
			struct ivset t;
			struct centry *e;

			if (f->has_net && f->net.family != family)
				continue;
			e = clist_add(l);
			centry_init_full(e, family);
			e->action = RS_A_FAILSAFE;
			e->meta = meta;
			ivset_init(&t);
			ivset_add(&t, f->proto, f->proto);
			ivset_and(&e->f[F_PROTO], &t);
			t.n = 0;
			ivset_add(&t, f->port, f->port);
			ivset_and(&e->f[pass == 0 ? F_DPORT : F_SPORT], &t);
			e->none[F_SPORT] = e->none[F_DPORT] = false;
			if (f->has_net) {
				t.n = 0;
				ivset_add_cidr(&t, &f->net);
				ivset_and(&e->f[dir == DIR_INGRESS ? F_SRC : F_DST], &t);
			}
			ivset_free(&t);
		}
	}
}

static bool
policy_stage(const struct policy *p, enum stage st)
{
	if (st == STAGE_UNTRACKED)
		return p->do_not_track;
	if (st == STAGE_PREDNAT)
		return p->pre_dnat && !p->do_not_track;
	if (p->pre_dnat || p->do_not_track)
		return false;
	return st == STAGE_NORMAL || p->apply_on_forward;
}

static void
add_tiers(struct cbuild *cb, struct clist *l, const struct hep *h, enum stage st, enum dir dir,
	  uint8_t family)
{
	unsigned want = dir == DIR_INGRESS ? TYPE_INGRESS : TYPE_EGRESS;
	bool never_deny = st == STAGE_UNTRACKED || st == STAGE_PREDNAT;
	const char *tier = NULL;
	size_t *passes = NULL, npasses = 0;

	for (size_t i = 0; i <= cb->norder; i++) {
		const struct policy *p = i < cb->norder ? cb->order[i] : NULL;

		if (p != NULL && (!policy_stage(p, st) || !(p->types & want) ||
				  !selector_match(p->sel, &h->labels)))
			continue;
		if (tier != NULL && (p == NULL || strcmp(p->tier, tier) != 0)) {
			/* close the tier: its end, then point its Pass entries past it */
			if (!never_deny && tier_default(cb->env->ps, tier) == ACT_DENY)
				add_catch_all(l, family, RS_A_EOT_DENY,
					      meta_intern(cb, RS_META_EOT, RS_A_EOT_DENY, st, dir,
							  tier, NULL, -1));
			for (size_t k = 0; k < npasses; k++)
				l->v[passes[k]].next = (uint32_t)l->n;
			npasses = 0;
		}
		if (p == NULL)
			break;
		tier = p->tier;

		const struct rule *rules = dir == DIR_INGRESS ? p->ingress : p->egress;
		size_t nr = dir == DIR_INGRESS ? p->ningress : p->negress;

		for (size_t r = 0; r < nr; r++) {
			static const uint8_t act[] = {
				[ACT_ALLOW] = RS_A_ALLOW, [ACT_DENY] = RS_A_DENY,
				[ACT_PASS] = RS_A_PASS, [ACT_LOG] = RS_A_LOG,
			};
			struct centry *e = clist_add(l);

			if (!centry_rule(cb, e, &rules[r], family)) {
				l->n--;
				continue;
			}
			e->action = act[rules[r].action];
			e->meta = meta_intern(cb, RS_META_RULE, e->action, st, dir, tier, p->name,
					      (int)r);
			if (e->action == RS_A_PASS) {
				passes = xrealloc(passes, (npasses + 1) * sizeof(*passes));
				passes[npasses++] = l->n - 1;
			}
		}
	}
	free(passes);
}

static void
add_profiles(struct cbuild *cb, struct clist *l, const struct hep *h, enum dir dir,
	     uint8_t family)
{
	if (h->nprofiles > 0) {
		/* Profiles are catch-alls: the first one decides. */
		bool allow = strcmp(h->profiles[0], PROFILE_DEFAULT_ALLOW) == 0;
		uint8_t a = allow ? RS_A_ALLOW : RS_A_DENY;

		add_catch_all(l, family, a, meta_intern(cb, RS_META_PROFILE, a, STAGE_NORMAL, dir,
							NULL, h->profiles[0], 0));
		return;
	}
	add_catch_all(l, family, RS_A_NO_PROFILE,
		      meta_intern(cb, RS_META_NO_PROFILE, RS_A_NO_PROFILE, STAGE_NORMAL, dir,
				  NULL, NULL, -1));
}

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

static bool
block_eq(uint32_t id, const void *key, void *ctx)
{
	struct cbuild *cb = ctx;

	return memcmp(cb->blk + (size_t)id * RS_BLOCK_WORDS, key, RS_BLOCK_WORDS * 8) == 0;
}

static uint32_t
block_intern(struct cbuild *cb, const uint64_t *w)
{
	uint64_t h = 0x243f6a8885a308d3ull;
	size_t slot;
	uint32_t id;

	for (int i = 0; i < RS_BLOCK_WORDS; i++)
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
	h = mix64(h);
	id = hmap_find(&cb->blkmap, h, block_eq, w, cb, &slot);
	if (id != UINT32_MAX)
		return id;
	if (cb->nblk == cb->blkcap) {
		cb->blkcap = cb->blkcap ? cb->blkcap * 2 : 256;
		cb->blk = xrealloc(cb->blk, cb->blkcap * RS_BLOCK_WORDS * 8);
	}
	memcpy(cb->blk + cb->nblk * RS_BLOCK_WORDS, w, RS_BLOCK_WORDS * 8);
	hmap_set(&cb->blkmap, slot, h, (uint32_t)cb->nblk);
	return (uint32_t)cb->nblk++;
}

static bool
row_eq(uint32_t id, const void *key, void *ctx)
{
	struct cbuild *cb = ctx;

	return memcmp(cb->rows + (size_t)id * cb->nblocks, key, cb->nblocks * 4) == 0;
}

/* The row id of the bitset whose block ids are @ids. */
static uint32_t
row_intern(struct cbuild *cb, const uint32_t *ids)
{
	uint64_t h = 0x13198a2e03707344ull;
	size_t slot;
	uint32_t id;

	for (uint32_t i = 0; i < cb->nblocks; i++)
		h = (h ^ ids[i]) * 0x9e3779b97f4a7c15ull;
	h = mix64(h);
	id = hmap_find(&cb->rowmap, h, row_eq, ids, cb, &slot);
	if (id != UINT32_MAX)
		return id;
	if ((cb->nrows + 1) * cb->nblocks > cb->rowcap) {
		cb->rowcap = cb->rowcap ? cb->rowcap * 2 : 64;
		while ((cb->nrows + 1) * cb->nblocks > cb->rowcap)
			cb->rowcap *= 2;
		cb->rows = xrealloc(cb->rows, cb->rowcap * 4);
	}
	memcpy(cb->rows + cb->nrows * cb->nblocks, ids, cb->nblocks * 4);
	hmap_set(&cb->rowmap, slot, h, (uint32_t)cb->nrows);
	return (uint32_t)cb->nrows++;
}

/* The row id of a whole bitset (RS_BLOCK_WORDS * nblocks words). */
static uint32_t
bits_intern(struct cbuild *cb, const uint64_t *bits, uint32_t *ids)
{
	for (uint32_t b = 0; b < cb->nblocks; b++)
		ids[b] = block_intern(cb, bits + (size_t)b * RS_BLOCK_WORDS);
	return row_intern(cb, ids);
}

/* LSD radix sort of @v by bytes, skipping the bytes that are the same in every key. */
static void
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
		return;
	}
	for (size_t i = 0; i < n; i++) {
		all_or |= v[i];
		all_and &= v[i];
	}
	tmp = xmalloc(n * sizeof(*tmp));
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

/* One field, cut: n intervals, their starts and row ids, and the "no header" row. */
struct fcut {
	size_t n;
	u128 *starts;
	uint32_t *rowid;
	uint32_t none;
};

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

static void
build_field(struct cbuild *cb, struct clist *l, int f, u128 max, struct fcut *out)
{
	size_t nb = cb->nblocks, nwb = nb * RS_BLOCK_WORDS, nev = 0, cap = 0;
	bool wide = max > 0xffffffffu;
	uint64_t *cur = xcalloc(nwb, 8), *ev64 = NULL;
	struct ev128 *ev = NULL;
	uint32_t *ids = xcalloc(nb, 4), prev = UINT32_MAX;
	bool *dirty = xcalloc(nb, 1);
	size_t j = 0, ncap = 16;
	u128 p = 0;

	/* the "no header" row, and the entries that take any value */
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].none[f])
			cur[i >> 6] |= 1ull << (i & 63);
	out->none = bits_intern(cb, cur, ids);
	memset(cur, 0, nwb * 8);
	for (size_t i = 0; i < l->n; i++) {
		struct ivset *s = &l->v[i].f[f];

		if (ivset_is_full(s, max)) {
			cur[i >> 6] |= 1ull << (i & 63);
			continue;
		}
		field_norm(s);
		if (nev + 2 * s->n > cap) {
			cap = (nev + 2 * s->n) * 2;
			if (wide)
				ev = xrealloc(ev, cap * sizeof(*ev));
			else
				ev64 = xrealloc(ev64, cap * sizeof(*ev64));
		}
		for (size_t k = 0; k < s->n; k++) {
			uint32_t code = (uint32_t)i << 1;

			if (wide) {
				ev[nev++] = (struct ev128){ s->v[k].lo, code | 1 };
				if (s->v[k].hi < max)
					ev[nev++] = (struct ev128){ s->v[k].hi + 1, code };
			} else {
				ev64[nev++] = (uint64_t)s->v[k].lo << 32 | code | 1;
				if (s->v[k].hi < max)
					ev64[nev++] = (uint64_t)(s->v[k].hi + 1) << 32 | code;
			}
		}
	}
	if (wide && nev > 0)
		qsort(ev, nev, sizeof(*ev), cmp_ev128);
	else if (nev > 0)
		radix_sort64(ev64, nev);

	/* sweep: at each distinct position, apply its events, then emit the running bitset */
	for (size_t b = 0; b < nb; b++)
		dirty[b] = true;
	out->n = 0;
	out->starts = xmalloc(ncap * sizeof(*out->starts));
	out->rowid = xmalloc(ncap * sizeof(*out->rowid));
	for (;;) {
		uint32_t rid;

		for (; j < nev; j++) {
			u128 q = wide ? ev[j].pos : ev64[j] >> 32;
			uint32_t code = wide ? ev[j].code : (uint32_t)ev64[j];
			size_t i = code >> 1;

			if (q != p)
				break;
			if (code & 1)
				cur[i >> 6] |= 1ull << (i & 63);
			else
				cur[i >> 6] &= ~(1ull << (i & 63));
			dirty[i >> RS_BLOCK_SHIFT] = true;
		}
		for (size_t b = 0; b < nb; b++)
			if (dirty[b]) {
				ids[b] = block_intern(cb, cur + b * RS_BLOCK_WORDS);
				dirty[b] = false;
			}
		rid = row_intern(cb, ids);
		if (rid != prev) {	/* neighbours with the same bitset merge */
			if (out->n == ncap) {
				ncap *= 2;
				out->starts = xrealloc(out->starts, ncap * sizeof(*out->starts));
				out->rowid = xrealloc(out->rowid, ncap * sizeof(*out->rowid));
			}
			out->starts[out->n] = p;
			out->rowid[out->n++] = rid;
			prev = rid;
		}
		if (j == nev)
			break;
		p = wide ? ev[j].pos : ev64[j] >> 32;
	}
	free(cur);
	free(ev);
	free(ev64);
	free(ids);
	free(dirty);
}

/* What the lookup gets for a bitset (row) in a chain of @mode (see RS_ROWS_*). */
struct fval {
	uint8_t mode;
	uint32_t nblocks;
	const uint32_t *ids;		/* the rows' block ids, nblocks per row */
	uint32_t rows;			/* RS_ROWS_WIDE: offset of row 0 */
	uint32_t rowbytes;
};

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
static void
write_index(struct cbuild *cb, const struct fcut *fc, bool wide, unsigned keybits,
	    const struct fval *fv, struct rs_itab *t)
{
	uint64_t kmax = wide ? UINT64_MAX : ((uint64_t)1 << keybits) - 1, base, nbkt;
	unsigned ibits = 1, shift, top;
	uint32_t *ix;
	size_t j = 0;

	if (fc->n < ITAB_INDEX_MIN || fc->n >= ((size_t)1 << 30))
		return;
	if (keybits == 16 && fc->n >= ITAB_DIRECT_MIN) {
		t->kind = RS_IX_DIRECT;
		t->index = blob_put(&cb->b, NULL, 65536 * 4, 64);
		ix = blob_at(&cb->b, t->index);
		for (uint32_t key = 0; key < 65536; key++)
			ix[key] = fval_of(fv, fc->rowid[fcut_find(fc, &j, key)]);
		return;
	}
	while (((size_t)1 << ibits) < fc->n)
		ibits++;
	/* from about 1/2 to at most 8 buckets per interval */
	top = ibits + 2 < ITAB_INDEX_MAX ? ibits + 2 : ITAB_INDEX_MAX;
	for (ibits--; ibits < top; ibits++)
		if (ix_layout(fc, wide, kmax, ibits, &base, &shift, &nbkt) <= nbkt / 64)
			break;
	ix_layout(fc, wide, kmax, ibits, &base, &shift, &nbkt);
	t->kind = RS_IX_WINDOW;
	t->base = base;
	t->shift = (uint8_t)shift;
	t->nbkt = (uint32_t)nbkt;
	t->index = blob_put(&cb->b, NULL, (nbkt + 2) * 4, 64);
	ix = blob_at(&cb->b, t->index);
	/* keys ascend: below base, the buckets, past them */
	ix[nbkt] = ix_entry(fc, &j, wide, base, shift, nbkt, kmax, nbkt);
	for (uint64_t d = 0; d < nbkt; d++)
		ix[d] = ix_entry(fc, &j, wide, base, shift, nbkt, kmax, d);
	ix[nbkt + 1] = ix_entry(fc, &j, wide, base, shift, nbkt, kmax, nbkt + 1);
}

static void
write_itab(struct cbuild *cb, const struct fcut *fc, uint8_t family, unsigned keybits,
	   const struct fval *fv, struct rs_itab *t)
{
	bool wide = family == AF_INET6;
	size_t npad = fc->n + RS_IX_WIN - 1;

	memset(t, 0, sizeof(*t));
	t->n = (uint32_t)fc->n;
	t->none = fval_of(fv, fc->none);
	if (wide) {
		struct addr *st;
		uint32_t *rw;

		t->starts = blob_put(&cb->b, NULL, npad * sizeof(struct addr), 16);
		t->rows = blob_put(&cb->b, NULL, npad * 4, 4);
		st = blob_at(&cb->b, t->starts);
		rw = blob_at(&cb->b, t->rows);
		for (size_t e = 0; e < npad; e++) {
			size_t i = e < fc->n ? e : fc->n - 1;

			st[e] = addr_from_u128(fc->starts[i]);
			rw[e] = fval_of(fv, fc->rowid[i]);
		}
	} else {
		struct rs_pair *p;

		t->pairs = blob_put(&cb->b, NULL, npad * sizeof(*p), 8);
		p = blob_at(&cb->b, t->pairs);
		for (size_t e = 0; e < npad; e++) {
			size_t i = e < fc->n ? e : fc->n - 1;

			p[e].start = (uint32_t)fc->starts[i];
			p[e].row = fval_of(fv, fc->rowid[i]);
		}
	}
	write_index(cb, fc, wide, keybits, fv, t);
}

static uint32_t
write_resid(struct cbuild *cb, const struct centry *ce)
{
	uint32_t off = blob_put(&cb->b, NULL, sizeof(struct rs_resid), 8);

	for (int i = 0; i < 4; i++) {
		const struct rb_pside *s = &ce->side[i];
		struct rs_pside ps;
		uint32_t *ranges = xmalloc((s->ranges.n + 1) * sizeof(*ranges));

		memset(&ps, 0, sizeof(ps));
		ps.present = s->present;
		for (size_t j = 0; j < s->ranges.n; j++)
			ranges[j] = (uint32_t)(s->ranges.v[j].lo << 16 | s->ranges.v[j].hi);
		ps.nranges = (uint32_t)s->ranges.n;
		ps.ranges = ps.nranges ? blob_put(&cb->b, ranges, ps.nranges * 4, 4) : 0;
		ps.ntuples = (uint32_t)s->ntuples;
		ps.tuples = s->ntuples ? blob_put(&cb->b, s->tuples,
						  s->ntuples * sizeof(*s->tuples), 8) : 0;
		free(ranges);
		memcpy(&((struct rs_resid *)blob_at(&cb->b, off))->side[i], &ps, sizeof(ps));
	}
	return off;
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
	switch (ce->action) {
	case RS_A_FAILSAFE:
		return REASON_FAILSAFE;
	case RS_A_EOT_DENY:
		return REASON_END_OF_TIER;
	case RS_A_NO_PROFILE:
		return REASON_NO_PROFILE;
	default:
		return cb->meta[ce->meta].kind == RS_META_PROFILE ? REASON_PROFILE : REASON_RULE;
	}
}

static uint32_t
write_chain(struct cbuild *cb, struct clist *l, enum stage st, uint8_t family)
{
	static const uint64_t zero[RS_BLOCK_WORDS];
	struct rs_chain c;
	struct fcut fc[NFIELDS];
	struct fval fv;
	uint32_t off, proto[256];
	struct rs_entry *ents;
	u128 amax = addr_space_max(family);

	if (l->n == 0)
		return 0;
	memset(&c, 0, sizeof(c));
	cb->nwords = (uint32_t)((l->n + 63) / 64);
	cb->nblocks = (cb->nwords + RS_BLOCK_WORDS - 1) / RS_BLOCK_WORDS;
	cb->nblk = 0;
	cb->nrows = 0;
	hmap_clear(&cb->blkmap);
	hmap_clear(&cb->rowmap);
	block_intern(cb, zero);			/* id 0 */
	c.nentries = (uint32_t)l->n;
	c.nwords = cb->nwords;
	c.nblocks = cb->nblocks;
	c.family = family;

	build_field(cb, l, F_PROTO, 255, &fc[F_PROTO]);
	build_field(cb, l, F_SRC, amax, &fc[F_SRC]);
	build_field(cb, l, F_DST, amax, &fc[F_DST]);
	build_field(cb, l, F_SPORT, field_max16, &fc[F_SPORT]);
	build_field(cb, l, F_DPORT, field_max16, &fc[F_DPORT]);
	build_field(cb, l, F_ICMP, field_max16, &fc[F_ICMP]);

	/*
	 * The blocks, then the rows of block ids (uint16_t while ids fit); a
	 * chain of one block needs no rows: a row's only block stands for it.
	 */
	c.nblk = (uint32_t)cb->nblk;
	c.nbitsets = (uint32_t)cb->nrows;
	c.blocks = blob_put(&cb->b, cb->blk, cb->nblk * RS_BLOCK_WORDS * 8, 64);
	memset(&fv, 0, sizeof(fv));
	fv.ids = cb->rows;
	fv.nblocks = cb->nblocks;
	if (cb->nblocks == 1) {
		fv.mode = RS_ROWS_FLAT;		/* a row is its one block */
	} else {
		bool desc = cb->nblk <= 65536 && cb->nrows <= 65536;
		uint32_t idw = desc ? 2 : 4;

		fv.mode = desc ? RS_ROWS_DESC : RS_ROWS_WIDE;
		fv.rowbytes = cb->nblocks * idw;
		if (fv.rowbytes < 64)		/* keep a row inside one cache line */
			while (fv.rowbytes & (fv.rowbytes - 1))
				fv.rowbytes += idw;
		fv.rows = blob_put(&cb->b, NULL, cb->nrows * fv.rowbytes, 64);
		for (size_t r = 0; r < cb->nrows; r++) {
			void *dst = (char *)blob_at(&cb->b, fv.rows) + r * fv.rowbytes;
			const uint32_t *src = cb->rows + r * cb->nblocks;

			for (uint32_t b = 0; b < cb->nblocks; b++) {
				if (idw == 4)
					((uint32_t *)dst)[b] = src[b];
				else
					((uint16_t *)dst)[b] = (uint16_t)src[b];
			}
		}
		c.rows = fv.rows;
		c.rowbytes = fv.rowbytes;
	}
	c.mode = fv.mode;

	for (uint32_t v = 0, e = 0; v < 256; v++) {
		while (e + 1 < fc[F_PROTO].n && fc[F_PROTO].starts[e + 1] <= v)
			e++;
		proto[v] = fval_of(&fv, fc[F_PROTO].rowid[e]);
	}
	c.proto = blob_put(&cb->b, proto, sizeof(proto), 64);
	write_itab(cb, &fc[F_SRC], family, 32, &fv, &c.src);
	write_itab(cb, &fc[F_DST], family, 32, &fv, &c.dst);
	write_itab(cb, &fc[F_SPORT], AF_INET, 16, &fv, &c.sport);
	write_itab(cb, &fc[F_DPORT], AF_INET, 16, &fv, &c.dport);
	write_itab(cb, &fc[F_ICMP], AF_INET, 16, &fv, &c.icmp);
	for (int f = 0; f < NFIELDS; f++)
		fcut_free(&fc[f]);

	ents = xcalloc(l->n, sizeof(*ents));
	c.acts = blob_put(&cb->b, NULL, l->n, 64);
	for (size_t i = 0; i < l->n; i++) {
		((uint8_t *)blob_at(&cb->b, c.acts))[i] = l->v[i].action |
							  (l->v[i].resid ? RS_ACT_RESID : 0);
		ents[i].action = l->v[i].action;
		ents[i].reason = entry_reason(cb, &l->v[i]);
		ents[i].outcome = entry_outcome(&l->v[i], st);
		ents[i].next = l->v[i].next;
		ents[i].meta = l->v[i].meta;
		if (l->v[i].resid) {
			ents[i].residual = 1;
			ents[i].resid = write_resid(cb, &l->v[i]);
		}
	}
	c.entries = blob_put(&cb->b, ents, l->n * sizeof(*ents), 8);
	off = blob_put(&cb->b, &c, sizeof(c), 8);
	free(ents);
	cb->nchains++;
	cb->nentries += (uint32_t)l->n;
	cb->nbitsets += (uint32_t)cb->nrows;
	return off;
}

static const struct {
	enum stage stage;
	enum dir dir;
} hook_info[RS_NHOOKS] = {
	[RS_UNTRACKED_IN] = { STAGE_UNTRACKED, DIR_INGRESS },
	[RS_UNTRACKED_OUT] = { STAGE_UNTRACKED, DIR_EGRESS },
	[RS_PREDNAT_IN] = { STAGE_PREDNAT, DIR_INGRESS },
	[RS_NORMAL_IN] = { STAGE_NORMAL, DIR_INGRESS },
	[RS_NORMAL_OUT] = { STAGE_NORMAL, DIR_EGRESS },
	[RS_FORWARD_IN] = { STAGE_FORWARD, DIR_INGRESS },
	[RS_FORWARD_OUT] = { STAGE_FORWARD, DIR_EGRESS },
};

static uint32_t
compile_chain(struct cbuild *cb, const struct hep *h, int hook, uint8_t family)
{
	enum stage st = hook_info[hook].stage;
	enum dir dir = hook_info[hook].dir;
	struct clist l = { NULL, 0, 0 };
	uint32_t off;

	if (st == STAGE_UNTRACKED && hep_is_wildcard(h))
		return 0;	/* doNotTrack is ignored on "*" endpoints */
	if (st != STAGE_FORWARD)
		add_failsafes(cb, &l, st, dir, family);
	add_tiers(cb, &l, h, st, dir, family);
	/* Elsewhere there is no final entry: nothing matching means "no verdict here". */
	if (st == STAGE_NORMAL)
		add_profiles(cb, &l, h, dir, family);
	off = write_chain(cb, &l, st, family);
	for (size_t i = 0; i < l.n; i++)
		centry_free(&l.v[i]);
	free(l.v);
	return off;
}

/*
 * The memory of the table: 64-byte aligned, so that the aligned offsets of
 * blocks are; a large table on transparent huge pages where the kernel
 * offers them (madvise mode), since lookups touch it at random.
 */
static struct ruleset *
table_alloc(size_t len)
{
	size_t align = len >= TABLE_HUGE_MIN ? TABLE_HUGE : 64;
	size_t size = (len + align - 1) & ~(align - 1);
	void *p = aligned_alloc(align, size);

	if (p == NULL) {	/* as xalloc does */
		fprintf(stderr, "level=error msg=\"out of memory\" size=%zu\n", size);
		exit(70);
	}
	if (align == TABLE_HUGE)
		(void)madvise(p, size, MADV_HUGEPAGE);	/* a hint: failure is harmless */
	return p;
}

struct ruleset *
compile_ruleset(const struct hostenv *env)
{
	struct cbuild cb;
	struct ruleset hdr, *rs;
	struct rs_hep *heps;
	struct rs_ifmap *ifmap;
	const struct hep *wild;

	memset(&cb, 0, sizeof(cb));
	memset(&hdr, 0, sizeof(hdr));
	cb.env = env;
	build_order(&cb);
	blob_put(&cb.b, NULL, sizeof(struct ruleset), 16);

	heps = xcalloc(env->nlocal + 1, sizeof(*heps));
	for (size_t i = 0; i < env->nlocal; i++) {
		heps[i].name = str_intern(&cb, env->local[i]->name);
		for (int hook = 0; hook < RS_NHOOKS; hook++) {
			heps[i].chains[hook][0] = compile_chain(&cb, env->local[i], hook, AF_INET);
			heps[i].chains[hook][1] = compile_chain(&cb, env->local[i], hook, AF_INET6);
		}
	}
	hdr.nheps = (uint32_t)env->nlocal;
	hdr.heps = blob_put(&cb.b, heps, env->nlocal * sizeof(*heps), 8);

	/* interface index -> endpoint, for every known interface */
	ifmap = xcalloc(env->nifaces + 1, sizeof(*ifmap));
	for (size_t i = 0; i < env->nifaces; i++) {
		const struct hep *h = hostenv_hep_for_iface(env, &env->ifaces[i]);

		ifmap[i].ifindex = env->ifaces[i].ifindex;
		ifmap[i].hep = -1;
		for (size_t j = 0; h != NULL && j < env->nlocal; j++)
			if (env->local[j] == h)
				ifmap[i].hep = (int32_t)j;
	}
	for (size_t i = 1; i < env->nifaces; i++)	/* insertion sort by ifindex */
		for (size_t j = i; j > 0 && ifmap[j - 1].ifindex > ifmap[j].ifindex; j--) {
			struct rs_ifmap t = ifmap[j];

			ifmap[j] = ifmap[j - 1];
			ifmap[j - 1] = t;
		}
	hdr.nifmap = (uint32_t)env->nifaces;
	hdr.ifmap = blob_put(&cb.b, ifmap, env->nifaces * sizeof(*ifmap), 8);
	wild = hostenv_hep_for_iface(env, NULL);
	hdr.wildcard = -1;
	for (size_t j = 0; wild != NULL && j < env->nlocal; j++)
		if (env->local[j] == wild)
			hdr.wildcard = (int32_t)j;

	hdr.nmeta = (uint32_t)cb.nmeta;
	hdr.meta = blob_put(&cb.b, cb.meta, cb.nmeta * sizeof(*cb.meta), 8);
	hdr.nchains = cb.nchains;
	hdr.nentries = cb.nentries;
	hdr.nbitsets = cb.nbitsets;
	hdr.flags = env->invalid_drop ? RS_F_INVALID_DROP : 0;
	hdr.size = (uint32_t)cb.b.len;
	memcpy(cb.b.buf, &hdr, sizeof(hdr));
	rs = table_alloc(cb.b.len);
	memcpy(rs, cb.b.buf, cb.b.len);
	free(cb.b.buf);
	rs->hits = xcalloc(cb.nmeta ? cb.nmeta : 1, sizeof(*rs->hits));

	free(heps);
	free(ifmap);
	free(cb.order);
	free(cb.meta);
	free(cb.blk);
	free(cb.rows);
	for (size_t i = 0; i < cb.nselsets; i++) {
		free(cb.selsets[i].text);
		ivset_free(&cb.selsets[i].set);
	}
	free(cb.selsets);
	hmap_free(&cb.strings);
	hmap_free(&cb.metamap);
	hmap_free(&cb.selmap);
	hmap_free(&cb.blkmap);
	hmap_free(&cb.rowmap);
	return rs;
}
