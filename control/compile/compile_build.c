/*
 * compile_build.c - the entries of a chain: what each accepts in each packet
 * field (see compile_int.h). A rule's source and destination become address
 * interval sets (nets, notNets, rule selectors resolved to the addresses of
 * the objects they select), its ports port sets (named ports resolved to the
 * ports of the host endpoints, with an exact residual check), its protocol
 * and ICMP type/code sets; failsafes and catch-alls are entries too.
 * Control thread only.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "compile_int.h"
#include "xalloc.h"

static bool
str_eq(uint32_t off, const void *key, void *ctx)
{
	struct cbuild *cb = ctx;

	return strcmp(cb->b.buf + off, key) == 0;
}

uint32_t
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

uint32_t
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

/* ---- field sets of one entry ----------------------------------------------------------- */

void
centry_init_full(struct centry *e, uint8_t family)
{
	memset(e, 0, sizeof(*e));
	ivset_full(&e->f[F_PROTO], 255);
	ivset_full(&e->f[F_SRC], addr_space_max(family));
	ivset_full(&e->f[F_DST], addr_space_max(family));
	ivset_full(&e->f[F_SPORT], FIELD_MAX16);
	ivset_full(&e->f[F_DPORT], FIELD_MAX16);
	ivset_full(&e->f[F_ICMP], FIELD_MAX16);
	e->none[F_SPORT] = e->none[F_DPORT] = e->none[F_ICMP] = true;
}

void
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
bool
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

struct centry *
clist_add(struct clist *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	return &l->v[l->n++];
}

void
add_catch_all(struct clist *l, uint8_t family, uint8_t action, uint32_t meta)
{
	struct centry *e = clist_add(l);

	centry_init_full(e, family);
	e->action = action;
	e->meta = meta;
}

void
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

