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
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "ivset.h"
#include "ruleset_layout.h"
#include "xalloc.h"

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
	uint64_t *pool;
	size_t npool;			/* bitsets in pool */
	struct hmap poolmap;
	uint32_t nwords;
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
};

static struct centry *
clist_add(struct clist *l)
{
	XGROW(l->v, l->n);
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

static bool
pool_eq(uint32_t id, const void *key, void *ctx)
{
	struct cbuild *cb = ctx;

	return memcmp(cb->pool + (size_t)id * cb->nwords, key, cb->nwords * 8) == 0;
}

static uint32_t
pool_intern(struct cbuild *cb, const uint64_t *bits)
{
	uint64_t h = hash_bytes(bits, cb->nwords * 8);
	size_t slot;
	uint32_t id = hmap_find(&cb->poolmap, h, pool_eq, bits, cb, &slot);

	if (id != UINT32_MAX)
		return id;
	cb->pool = xrealloc(cb->pool, (cb->npool + 1) * cb->nwords * 8);
	memcpy(cb->pool + cb->npool * cb->nwords, bits, cb->nwords * 8);
	hmap_set(&cb->poolmap, slot, h, (uint32_t)cb->npool);
	return (uint32_t)cb->npool++;
}

static int
cmp_u128(const void *a, const void *b)
{
	u128 x = *(const u128 *)a, y = *(const u128 *)b;

	return x < y ? -1 : x > y;
}

static size_t
find_start(const u128 *s, size_t m, u128 x)
{
	size_t lo = 0, hi = m;

	while (lo + 1 < hi) {
		size_t mid = (lo + hi) / 2;

		if (s[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Cut field @f into elementary intervals and give each the bitset of the
 * entries that accept it. Writes starts[] and ids[] into the blob.
 */
static void
build_field(struct cbuild *cb, const struct clist *l, int f, u128 max, bool wide,
	    struct rs_itab *out, uint32_t *table256)
{
	size_t nw = cb->nwords, m = 0, nb = 1;
	u128 *bounds = xmalloc(sizeof(*bounds));
	uint64_t *bits, *none;
	uint32_t *ids;
	size_t nout = 0;

	bounds[0] = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct ivset *s = &l->v[i].f[f];

		if (ivset_is_full(s, max))
			continue;
		bounds = xrealloc(bounds, (nb + 2 * s->n) * sizeof(*bounds));
		for (size_t j = 0; j < s->n; j++) {
			bounds[nb++] = s->v[j].lo;
			if (s->v[j].hi < max)
				bounds[nb++] = s->v[j].hi + 1;
		}
	}
	qsort(bounds, nb, sizeof(*bounds), cmp_u128);
	for (size_t i = 0; i < nb; i++)
		if (m == 0 || bounds[i] != bounds[m - 1])
			bounds[m++] = bounds[i];

	bits = xcalloc(m * nw, 8);
	none = xcalloc(nw, 8);
	for (size_t i = 0; i < l->n; i++) {
		const struct ivset *s = &l->v[i].f[f];
		uint64_t bit = 1ull << (i & 63);
		size_t w = i >> 6;

		if (l->v[i].none[f])
			none[w] |= bit;
		if (ivset_is_full(s, max)) {
			for (size_t e = 0; e < m; e++)
				bits[e * nw + w] |= bit;
			continue;
		}
		for (size_t j = 0; j < s->n; j++)
			for (size_t e = find_start(bounds, m, s->v[j].lo);
			     e < m && bounds[e] <= s->v[j].hi; e++)
				bits[e * nw + w] |= bit;
	}

	ids = xmalloc(m * sizeof(*ids));
	for (size_t e = 0; e < m; e++) {
		/* merge neighbours with the same bitset */
		if (nout > 0 && memcmp(&bits[e * nw], &bits[(e - 1) * nw], nw * 8) == 0)
			continue;
		bounds[nout] = bounds[e];
		ids[nout++] = pool_intern(cb, &bits[e * nw]);
	}
	out->none_id = pool_intern(cb, none);

	if (table256 != NULL) {
		for (uint32_t v = 0, e = 0; v < 256; v++) {
			while (e + 1 < nout && bounds[e + 1] <= v)
				e++;
			table256[v] = ids[e];
		}
	} else {
		out->n = (uint32_t)nout;
		out->ids = blob_put(&cb->b, ids, nout * sizeof(*ids), 4);
		if (wide) {
			out->starts = blob_put(&cb->b, NULL, nout * sizeof(struct addr), 8);
			for (size_t e = 0; e < nout; e++) {
				struct addr a = addr_from_u128(bounds[e]);

				memcpy((struct addr *)blob_at(&cb->b, out->starts) + e, &a, sizeof(a));
			}
		} else {
			out->starts = blob_put(&cb->b, NULL, nout * sizeof(uint32_t), 4);
			for (size_t e = 0; e < nout; e++)
				((uint32_t *)blob_at(&cb->b, out->starts))[e] = (uint32_t)bounds[e];
		}
	}
	free(bounds);
	free(bits);
	free(none);
	free(ids);
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

static uint32_t
write_chain(struct cbuild *cb, struct clist *l, uint8_t family)
{
	struct rs_chain c;
	uint32_t off, proto[256];
	uint64_t *logmask;
	struct rs_entry *ents;

	if (l->n == 0)
		return 0;
	memset(&c, 0, sizeof(c));
	cb->nwords = (uint32_t)((l->n + 63) / 64);
	cb->npool = 0;
	hmap_free(&cb->poolmap);
	c.nentries = (uint32_t)l->n;
	c.nwords = cb->nwords;
	c.family = family;

	struct rs_itab unused;

	build_field(cb, l, F_PROTO, 255, false, &unused, proto);
	build_field(cb, l, F_SRC, addr_space_max(family), family != AF_INET, &c.src, NULL);
	build_field(cb, l, F_DST, addr_space_max(family), family != AF_INET, &c.dst, NULL);
	build_field(cb, l, F_SPORT, field_max16, false, &c.sport, NULL);
	build_field(cb, l, F_DPORT, field_max16, false, &c.dport, NULL);
	build_field(cb, l, F_ICMP, field_max16, false, &c.icmp, NULL);
	c.proto = blob_put(&cb->b, proto, sizeof(proto), 4);

	ents = xcalloc(l->n, sizeof(*ents));
	logmask = xcalloc(cb->nwords, 8);
	for (size_t i = 0; i < l->n; i++) {
		ents[i].action = l->v[i].action;
		ents[i].next = l->v[i].next;
		ents[i].meta = l->v[i].meta;
		if (l->v[i].resid) {
			ents[i].residual = 1;
			ents[i].resid = write_resid(cb, &l->v[i]);
		}
		if (l->v[i].action == RS_A_LOG)
			logmask[i >> 6] |= 1ull << (i & 63);
	}
	c.entries = blob_put(&cb->b, ents, l->n * sizeof(*ents), 8);
	c.logmask = blob_put(&cb->b, logmask, cb->nwords * 8, 8);
	c.pool = blob_put(&cb->b, cb->pool, cb->npool * cb->nwords * 8, 8);
	c.nbitsets = (uint32_t)cb->npool;
	off = blob_put(&cb->b, &c, sizeof(c), 8);
	free(ents);
	free(logmask);
	cb->nchains++;
	cb->nentries += (uint32_t)l->n;
	cb->nbitsets += (uint32_t)cb->npool;
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
	struct clist l = { NULL, 0 };
	uint32_t off;

	if (st == STAGE_UNTRACKED && hep_is_wildcard(h))
		return 0;	/* doNotTrack is ignored on "*" endpoints */
	if (st != STAGE_FORWARD)
		add_failsafes(cb, &l, st, dir, family);
	add_tiers(cb, &l, h, st, dir, family);
	/* Elsewhere there is no final entry: nothing matching means "no verdict here". */
	if (st == STAGE_NORMAL)
		add_profiles(cb, &l, h, dir, family);
	off = write_chain(cb, &l, family);
	for (size_t i = 0; i < l.n; i++)
		centry_free(&l.v[i]);
	free(l.v);
	return off;
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
	rs = xrealloc(cb.b.buf, cb.b.len);
	rs->hits = xcalloc(cb.nmeta ? cb.nmeta : 1, sizeof(*rs->hits));

	free(heps);
	free(ifmap);
	free(cb.order);
	free(cb.meta);
	free(cb.pool);
	for (size_t i = 0; i < cb.nselsets; i++) {
		free(cb.selsets[i].text);
		ivset_free(&cb.selsets[i].set);
	}
	free(cb.selsets);
	hmap_free(&cb.strings);
	hmap_free(&cb.metamap);
	hmap_free(&cb.selmap);
	hmap_free(&cb.poolmap);
	return rs;
}
