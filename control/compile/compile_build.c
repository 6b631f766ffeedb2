/*
 * compile_build.c - the entries of a chain: what each accepts in each packet
 * field (see compile_int.h). A rule's source and destination become address
 * interval sets (nets, notNets, rule selectors resolved to the addresses of
 * the objects they select), its ports port sets (named ports resolved to the
 * ports of the host endpoints, with an exact residual check), its protocol
 * and ICMP type/code sets; failsafes and catch-alls are entries too.
 * Control thread only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "compile_int.h"
#include "selcache.h"

static bool
str_eq(uint32_t off, const void *key, void *ctx)
{
	struct cbuild *cb = ctx;

	return strcmp(cb->b.buf + off, key) == 0;
}

int
str_intern(struct cbuild *cb, const char *s, uint32_t *offp)
{
	uint64_t h;
	size_t slot;
	uint32_t off;
	int err;

	*offp = 0;
	if (s == NULL)
		return 0;
	err = hmap_reserve(&cb->strings);
	if (err < 0)
		return err;
	h = hash_bytes(s, strlen(s));
	off = hmap_find(&cb->strings, h, str_eq, s, cb, &slot);
	if (off == UINT32_MAX) {
		err = blob_put(&cb->b, s, strlen(s) + 1, 1, &off);
		if (err < 0)
			return err;
		hmap_set(&cb->strings, slot, h, off);
	}
	*offp = off;
	return 0;
}

int
meta_intern(struct cbuild *cb, const struct meta_key *k, uint32_t *idxp)
{
	struct rs_meta m;
	size_t n = cb->metas.n;
	int err;

	memset(&m, 0, sizeof(m));
	m.kind = (uint8_t)k->kind;
	m.action = (uint8_t)k->action;
	m.stage = (uint8_t)k->stage;
	m.dir = (uint8_t)k->dir;
	m.rule = k->rule;
	err = str_intern(cb, k->tier, &m.tier);
	if (err == 0)
		err = str_intern(cb, k->policy, &m.policy);
	/* room for a new record's origin first: an interned record has one */
	if (err == 0 && ARRAY_PUSH_ROOM(cb->origin, cb->origincap, cb->metas.n) < 0)
		err = -ENOMEM;
	if (err == 0)
		err = rtab_intern(&cb->metas, &m, hash_bytes(&m, sizeof(m)), idxp);
	if (err < 0)
		return err;
	if (cb->metas.n > n)
		cb->origin[*idxp] = k->loc;	/* a new record */
	return 0;
}

int
write_origins(struct cbuild *cb, uint32_t *offp)
{
	int err = blob_put(&cb->b, NULL, cb->metas.n * sizeof(struct rs_origin), 8, offp);

	for (size_t i = 0; err == 0 && i < cb->metas.n; i++) {
		const struct srcloc *loc = cb->origin[i];
		struct rs_origin o = { 0, 0 };

		if (loc == NULL || loc->file == NULL)
			continue;
		err = str_intern(cb, loc->file, &o.file);
		o.line = loc->line > 0 ? (uint32_t)loc->line : 0;
		if (err == 0)
			memcpy((struct rs_origin *)blob_at(&cb->b, *offp) + i, &o, sizeof(o));
	}
	return err;
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

/* 0, or -ENOMEM when making a set of @e failed (see ivset_failed). */
static int
centry_check(const struct centry *e)
{
	for (int i = 0; i < NFIELDS; i++)
		if (ivset_failed(&e->f[i]))
			return -ENOMEM;
	for (int i = 0; i < 4; i++)
		if (ivset_failed(&e->side[i].ranges))
			return -ENOMEM;
	return 0;
}

static bool
selset_eq(uint32_t idx, const void *key, void *ctx)
{
	const struct cbuild *cb = ctx;
	const struct selset *k = key;

	return cb->selsets[idx].family == k->family && strcmp(cb->selsets[idx].text, k->text) == 0;
}

/* The addresses of the objects @sel (formatted as @text) selects, into @s (normalised). */
static void
selector_collect(const struct hostenv *env, const struct selector *sel, const char *text,
		 uint8_t family, struct ivset *s)
{
	struct ep_ref h;
	size_t own = env->ps->nheps + env->nautos;	/* this node's endpoints come first */

	if (env->selcache != NULL)	/* the cluster's, from what the cache kept */
		(void)selcache_addrs(env->selcache, env->cluster, sel, text, family, s);
	for (size_t i = 0; (env->selcache == NULL || i < own) && hostenv_endpoint(env, i, &h);
	     i++) {
		/* most pods have addresses of one family: no selector to match for the other */
		if (!cidrs_have_family(h.ips, h.nips, family) || !selector_match(sel, h.labels))
			continue;
		for (size_t j = 0; j < h.nips; j++)
			if (h.ips[j].family == family)
				ivset_add_cidr(s, &h.ips[j]);
	}
	for (size_t i = 0; i < env->ps->nnetsets; i++) {
		const struct netset *n = env->ps->netsets[i];

		if (!selector_match(sel, &n->labels))
			continue;
		for (size_t j = 0; j < n->nnets; j++)
			if (n->nets[j].family == family)
				ivset_add_cidr(s, &n->nets[j]);
	}
	ivset_norm(s);
}

/*
 * The addresses of every labelled object @sel selects (docs/semantics.md
 * §6.2), cached by the selector's text; NULL when out of memory.
 */
static const struct ivset *
selector_addrs(struct cbuild *cb, const struct selector *sel, uint8_t family)
{
	char buf[4096], *full = NULL;
	struct selset key, *s;
	size_t need = selector_format(sel, buf, sizeof(buf)), slot;
	uint64_t hash;
	uint32_t idx;

	if (need >= sizeof(buf)) {
		full = malloc(need + 1);
		if (full == NULL)
			return NULL;
		selector_format(sel, full, need + 1);
	}
	if (hmap_reserve(&cb->selmap) < 0)
		goto fail;
	key.text = full ? full : buf;
	key.family = family;
	hash = hash_bytes(key.text, strlen(key.text)) ^ family;
	idx = hmap_find(&cb->selmap, hash, selset_eq, &key, cb, &slot);
	if (idx != UINT32_MAX) {
		free(full);
		s = &cb->selsets[idx];
		return ivset_failed(&s->set) ? NULL : &s->set;
	}
	if (ARRAY_PUSH_ROOM(cb->selsets, cb->selcap, cb->nselsets) < 0)
		goto fail;
	if (full == NULL && (full = strdup(buf)) == NULL)
		goto fail;
	idx = (uint32_t)cb->nselsets++;
	s = &cb->selsets[idx];
	s->text = full;
	s->family = family;
	ivset_init(&s->set);
	selector_collect(cb->env, sel, s->text, family, &s->set);
	hmap_set(&cb->selmap, slot, hash, idx);
	return ivset_failed(&s->set) ? NULL : &s->set;
fail:
	free(full);
	return NULL;
}

static void
cidrs_to_set(struct ivset *s, const struct cidr *v, size_t n, uint8_t family)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == family)
			ivset_add_cidr(s, &v[i]);
	ivset_norm(s);
}

/* Address field of one side: nets ∩ ¬notNets ∩ selector ∩ ¬notSelector. */
static int
entity_addrs(struct cbuild *cb, const struct entity *e, uint8_t family, struct ivset *out)
{
	const struct ivset *sel;
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
	if (e->sel) {
		sel = selector_addrs(cb, e->sel, family);
		if (sel == NULL)
			return -ENOMEM;
		ivset_and(out, sel);
	}
	if (e->not_sel) {
		sel = selector_addrs(cb, e->not_sel, family);
		if (sel == NULL)
			return -ENOMEM;
		ivset_sub(out, sel);
	}
	return 0;
}

/* The exact tuples of a named port (docs/semantics.md §6), and their ports. */
static int
named_port_tuples(struct cbuild *cb, const struct entity *e, const struct rule *r,
		  const char *name, struct rb_pside *side, struct ivset *ports)
{
	struct ep_ref h;

	for (size_t i = 0; hostenv_endpoint(cb->env, i, &h); i++) {
		if (e->sel != NULL && !selector_match(e->sel, h.labels))
			continue;
		for (size_t j = 0; j < h.nports; j++) {
			const struct named_port *np = &h.ports[j];

			if (strcmp(np->name, name) != 0 || (r->proto != 0 && np->proto != r->proto))
				continue;
			for (size_t a = 0; a < h.nips; a++) {
				struct rs_tuple *t;

				if (ARRAY_PUSH_ROOM(side->tuples, side->tuplecap, side->ntuples) < 0)
					return -ENOMEM;
				t = &side->tuples[side->ntuples++];
				memset(t, 0, sizeof(*t));
				t->addr = h.ips[a].addr;
				t->family = h.ips[a].family;
				t->proto = np->proto;
				t->port = np->port;
			}
			if (h.nips > 0 && ports != NULL)
				ivset_add(ports, np->port, np->port);
		}
	}
	return 0;
}

/* The sets of a port list and its residual side: positive (@neg false) or notPorts. */
static int
port_list(struct cbuild *cb, struct centry *ce, const struct rule *r, const struct entity *e,
	  int side, bool neg, struct ivset *set)
{
	const struct port_item *v = neg ? e->not_ports : e->ports;
	size_t n = neg ? e->nnot_ports : e->nports;
	int err;

	for (size_t i = 0; i < n; i++) {
		if (v[i].name == NULL) {
			ivset_add(set, v[i].lo, v[i].hi);
			ivset_add(&ce->side[side].ranges, v[i].lo, v[i].hi);
			continue;
		}
		ce->resid = true;
		err = named_port_tuples(cb, e, r, v[i].name, &ce->side[side], neg ? NULL : set);
		if (err < 0)
			return err;
	}
	ce->side[side].present = n > 0;
	ivset_norm(set);
	return 0;
}

static int
port_side(struct cbuild *cb, struct centry *ce, const struct rule *r, const struct entity *e,
	  int field, int sidebase)
{
	struct ivset pos, neg;
	int err;

	if (e->nports == 0 && e->nnot_ports == 0)
		return 0;
	ce->none[field] = false;
	ivset_init(&pos);
	ivset_init(&neg);
	err = port_list(cb, ce, r, e, sidebase, false, &pos);
	if (err == 0)
		err = port_list(cb, ce, r, e, sidebase + 1, true, &neg);
	if (err == 0) {
		if (e->nports)
			ivset_and(&ce->f[field], &pos);
		/* a superset when notPorts name ports: the residual is exact */
		ivset_sub(&ce->f[field], &neg);
	}
	ivset_free(&pos);
	ivset_free(&neg);
	return err;
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
 * Felix renders a rule once per IP family and drops it for a family when a
 * non-empty nets/notNets list holds only CIDRs of the other one (§1.7); a
 * rule on services never matches (their endpoints are not resolved). (The reference
 * evaluator decides this on its own in eval.c, on purpose: see eval_tiers.c.)
 */
static bool
rule_renders(const struct rule *r, uint8_t family)
{
	const struct entity *ents[2] = { &r->src, &r->dst };

	if (r->ip_version != 0 && (r->ip_version == 4) != (family == AF_INET))
		return false;
	for (int i = 0; i < 2; i++) {
		const struct entity *e = ents[i];

		if (e->nnets && !cidrs_have_family(e->nets, e->nnets, family))
			return false;
		if (e->nnot_nets && !cidrs_have_family(e->not_nets, e->nnot_nets, family))
			return false;
		if (e->has_services)
			return false;
	}
	return true;
}

int
centry_rule(struct cbuild *cb, struct centry *ce, const struct rule *r, uint8_t family)
{
	struct ivset t;
	int err;

	if (!rule_renders(r, family))
		return 0;
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
	err = entity_addrs(cb, &r->src, family, &ce->f[F_SRC]);
	if (err == 0)
		err = entity_addrs(cb, &r->dst, family, &ce->f[F_DST]);
	if (err == 0)
		err = port_side(cb, ce, r, &r->src, F_SPORT, 0);
	if (err == 0)
		err = port_side(cb, ce, r, &r->dst, F_DPORT, 2);
	if (err == 0)
		err = centry_check(ce);
	return err < 0 ? err : 1;
}

/* ---- chains ------------------------------------------------------------------------------ */

struct centry *
clist_add(struct clist *l)
{
	if (ARRAY_PUSH_ROOM(l->v, l->cap, l->n) < 0)
		return NULL;
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	return &l->v[l->n++];
}

int
add_catch_all(struct clist *l, uint8_t family, uint8_t action, uint32_t meta)
{
	struct centry *e = clist_add(l);

	if (e == NULL)
		return -ENOMEM;
	centry_init_full(e, family);
	e->action = action;
	e->meta = meta;
	return centry_check(e);
}

/* One failsafe-like entry: @proto, @port in field @pf, and each non-NULL net in its field. */
static int
add_port_entry(struct clist *l, uint32_t meta, uint8_t family, uint8_t proto, uint16_t port,
	       int pf, const struct cidr *n1, int f1, const struct cidr *n2, int f2)
{
	struct centry *e = clist_add(l);
	struct ivset t;

	if (e == NULL)
		return -ENOMEM;
	centry_init_full(e, family);
	e->action = RS_A_FAILSAFE;
	e->meta = meta;
	ivset_init(&t);
	ivset_add(&t, proto, proto);
	ivset_and(&e->f[F_PROTO], &t);
	t.n = 0;
	ivset_add(&t, port, port);
	ivset_and(&e->f[pf], &t);
	e->none[F_SPORT] = e->none[F_DPORT] = false;
	for (int i = 0; i < 2; i++) {
		const struct cidr *n = i == 0 ? n1 : n2;

		if (n == NULL)
			continue;
		t.n = 0;
		ivset_add_cidr(&t, n);
		ivset_and(&e->f[i == 0 ? f1 : f2], &t);
	}
	ivset_free(&t);
	return centry_check(e);
}

/* The entry of failsafe @f, forward (@pass 0) or the reply direction of the raw table. */
static int
add_failsafe(struct clist *l, const struct failsafe *f, int pass, enum dir dir, uint8_t family,
	     uint32_t meta)
{
	return add_port_entry(l, meta, family, f->proto, f->port, pass == 0 ? F_DPORT : F_SPORT,
			      f->has_net ? &f->net : NULL, dir == DIR_INGRESS ? F_SRC : F_DST,
			      NULL, 0);
}

/*
 * nfqwall's own port (hostenv.self): TCP from loopback to the address and
 * port; in the raw table the replies too.
 */
static int
add_self(struct cbuild *cb, struct clist *l, enum stage st, enum dir dir, uint8_t family)
{
	const struct failsafe_list *sl = &cb->env->self;
	const struct cidr *lo = hostenv_loopback(family);
	const struct meta_key mk = {
		.kind = RS_META_SELF, .action = RS_A_FAILSAFE, .stage = st, .dir = dir,
		.rule = -1,
	};
	uint32_t meta;
	int err = sl->n ? meta_intern(cb, &mk, &meta) : 0;

	for (int pass = 0; err == 0 && pass < (st == STAGE_UNTRACKED ? 2 : 1); pass++)
		for (size_t i = 0; err == 0 && i < sl->n; i++)
			if (sl->v[i].net.family == family)
				err = add_port_entry(l, meta, family, IPPROTO_TCP, sl->v[i].port,
						     pass == 0 ? F_DPORT : F_SPORT, &sl->v[i].net,
						     pass == 0 ? F_DST : F_SRC, lo,
						     pass == 0 ? F_SRC : F_DST);
	return err;
}

int
add_failsafes(struct cbuild *cb, struct clist *l, enum stage st, enum dir dir, uint8_t family)
{
	const struct failsafe_list *fwd = dir == DIR_INGRESS ? &cb->env->fs_in : &cb->env->fs_out;
	const struct failsafe_list *rev = dir == DIR_INGRESS ? &cb->env->fs_out : &cb->env->fs_in;
	const struct meta_key mk = {
		.kind = RS_META_FAILSAFE, .action = RS_A_FAILSAFE, .stage = st, .dir = dir,
		.rule = -1,
	};
	uint32_t meta;
	int err = add_self(cb, l, st, dir, family);

	if (err == 0)
		err = meta_intern(cb, &mk, &meta);
	/* In the raw table the replies of failsafe flows are accepted too (felix PR #1718). */
	for (int pass = 0; err == 0 && pass < (st == STAGE_UNTRACKED ? 2 : 1); pass++) {
		const struct failsafe_list *fl = pass == 0 ? fwd : rev;

		for (size_t i = 0; err == 0 && i < fl->n; i++)
			if (!fl->v[i].has_net || fl->v[i].net.family == family)
				err = add_failsafe(l, &fl->v[i], pass, dir, family, meta);
	}
	return err;
}
