/*
 * ruleset.c - lookup in the compiled rule table, and its RCU publication.
 *
 * Runs in the worker threads (ruleset_lookup, under an RCU read lock taken
 * once per batch by the caller) and in the control thread (publish, free,
 * dump). See ruleset.h for the structure. The lookup allocates nothing,
 * takes no lock and reads only the block.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "ruleset_layout.h"

static struct ruleset *ruleset_active;

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
	struct ruleset ha = *a, hb = *b;

	if (a->size != b->size)
		return false;
	/* the header without what differs between two publications of one table */
	memset(&ha.rcu, 0, sizeof(ha.rcu));
	memset(&hb.rcu, 0, sizeof(hb.rcu));
	ha.gen = hb.gen = 0;
	ha.hits = hb.hits = NULL;
	return memcmp(&ha, &hb, sizeof(ha)) == 0 &&
	       memcmp((const char *)a + sizeof(*a), (const char *)b + sizeof(*b),
		      a->size - sizeof(*a)) == 0;
}

void
ruleset_hit(const struct ruleset *rs, uint32_t meta)
{
	if (meta < rs->nmeta)
		__atomic_fetch_add(&rs->hits[meta], 1, __ATOMIC_RELAXED);
}

uint64_t
ruleset_hits(const struct ruleset *rs, uint32_t meta)
{
	return meta < rs->nmeta ? __atomic_load_n(&rs->hits[meta], __ATOMIC_RELAXED) : 0;
}

void
ruleset_free(struct ruleset *rs)
{
	if (rs == NULL)
		return;
	free(rs->hits);
	free(rs);
}

/* ---- lookup -------------------------------------------------------------------- */

static int32_t
ifmap_hep(const struct ruleset *rs, uint32_t ifindex)
{
	const struct rs_ifmap *m = rs_at(rs, rs->ifmap);
	uint32_t lo = 0, hi = rs->nifmap;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (m[mid].ifindex == ifindex)
			return m[mid].hep;
		if (m[mid].ifindex < ifindex)
			lo = mid + 1;
		else
			hi = mid;
	}
	return rs->wildcard;
}

/* The bitset of the interval holding @key (starts[0] is 0, so one always does). */
static inline uint32_t
itab_find32(const struct ruleset *rs, const struct rs_itab *t, uint32_t key)
{
	const uint32_t *st = rs_at(rs, t->starts);
	const uint32_t *ids = rs_at(rs, t->ids);
	uint32_t lo = 0, n = t->n;

	/* branch-light binary search for the last start <= key */
	while (n > 1) {
		uint32_t half = n / 2;

		lo = st[lo + half] <= key ? lo + half : lo;
		n -= half;
	}
	return ids[lo];
}

static inline uint32_t
itab_find128(const struct ruleset *rs, const struct rs_itab *t, const struct addr *key)
{
	const struct addr *st = rs_at(rs, t->starts);
	const uint32_t *ids = rs_at(rs, t->ids);
	uint32_t lo = 0, n = t->n;

	while (n > 1) {
		uint32_t half = n / 2;

		lo = addr_cmp(&st[lo + half], key) <= 0 ? lo + half : lo;
		n -= half;
	}
	return ids[lo];
}

static bool
pside_match(const struct ruleset *rs, const struct rs_pside *s, const struct pkt_key *k,
	    const struct addr *a, uint16_t port)
{
	const uint32_t *r = rs_at(rs, s->ranges);
	const struct rs_tuple *t = rs_at(rs, s->tuples);

	for (uint32_t i = 0; i < s->nranges; i++)
		if (port >= (r[i] >> 16) && port <= (r[i] & 0xffff))
			return true;
	for (uint32_t i = 0; i < s->ntuples; i++)
		if (t[i].port == port && t[i].proto == k->proto && t[i].family == k->family &&
		    addr_cmp(&t[i].addr, a) == 0)
			return true;
	return false;
}

/* Exact check of an entry whose port lists name ports (rare). */
static bool
resid_ok(const struct ruleset *rs, const struct rs_entry *e, const struct pkt_key *k)
{
	const struct rs_resid *r = rs_at(rs, e->resid);

	for (int i = 0; i < 4; i++) {
		const struct rs_pside *s = &r->side[i];
		bool src = i < 2, neg = i & 1, m;

		if (!s->present)
			continue;
		if (!(k->flags & PKT_F_PORTS))
			return false;
		m = pside_match(rs, s, k, src ? &k->src : &k->dst, src ? k->sport : k->dport);
		if (m == neg)
			return false;
	}
	return true;
}

static void
verdict_set(struct rs_verdict *v, uint8_t outcome, uint8_t reason, uint32_t meta)
{
	v->outcome = outcome;
	v->reason = reason;
	v->meta = meta;
}

static const uint64_t *
pool_at(const struct ruleset *rs, const struct rs_chain *c, uint32_t id)
{
	return (const uint64_t *)rs_at(rs, c->pool) + (size_t)id * c->nwords;
}

static bool
hook_is_in(enum rs_hook hook)
{
	return hook == RS_UNTRACKED_IN || hook == RS_PREDNAT_IN || hook == RS_NORMAL_IN ||
	       hook == RS_FORWARD_IN;
}

void
ruleset_lookup(const struct ruleset *rs, enum rs_hook hook, const struct pkt_key *k,
	       struct rs_verdict *v)
{
	const struct rs_hep *heps = rs_at(rs, rs->heps);
	const struct rs_chain *c;
	const struct rs_entry *ent;
	const uint64_t *b0, *b1, *b2, *b3, *b4, *b5;
	uint32_t pos = 0, off;
	int32_t hep;

	v->nlog = 0;
	hep = ifmap_hep(rs, hook_is_in(hook) ? k->iif : k->oif);
	v->hep = hep;
	if (hep < 0) {
		verdict_set(v, hook == RS_NORMAL_IN || hook == RS_NORMAL_OUT ? RS_ACCEPT :
			    RS_CONTINUE, REASON_NO_HEP, RS_NO_META);
		return;
	}
	off = heps[hep].chains[hook][k->family == AF_INET ? 0 : 1];
	if (off == 0) {
		verdict_set(v, RS_CONTINUE, REASON_NO_POLICY, RS_NO_META);
		return;
	}
	c = rs_at(rs, off);
	ent = rs_at(rs, c->entries);

	b0 = pool_at(rs, c, ((const uint32_t *)rs_at(rs, c->proto))[k->proto]);
	if (k->family == AF_INET) {
		b1 = pool_at(rs, c, itab_find32(rs, &c->src, (uint32_t)k->src.lo));
		b2 = pool_at(rs, c, itab_find32(rs, &c->dst, (uint32_t)k->dst.lo));
	} else {
		b1 = pool_at(rs, c, itab_find128(rs, &c->src, &k->src));
		b2 = pool_at(rs, c, itab_find128(rs, &c->dst, &k->dst));
	}
	if (k->flags & PKT_F_PORTS) {
		b3 = pool_at(rs, c, itab_find32(rs, &c->sport, k->sport));
		b4 = pool_at(rs, c, itab_find32(rs, &c->dport, k->dport));
	} else {
		b3 = pool_at(rs, c, c->sport.none_id);
		b4 = pool_at(rs, c, c->dport.none_id);
	}
	if (k->flags & PKT_F_ICMP)
		b5 = pool_at(rs, c, itab_find32(rs, &c->icmp,
						(uint32_t)k->icmp_type << 8 | k->icmp_code));
	else
		b5 = pool_at(rs, c, c->icmp.none_id);

restart:
	for (uint32_t w = pos >> 6; w < c->nwords; w++) {
		uint64_t m = b0[w] & b1[w] & b2[w] & b3[w] & b4[w] & b5[w];

		if (w == pos >> 6)
			m &= ~0ull << (pos & 63);
		while (m != 0) {
			uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(m);
			const struct rs_entry *e = &ent[i];

			m &= m - 1;
			if (unlikely(e->residual) && !resid_ok(rs, e, k))
				continue;
			switch (e->action) {
			case RS_A_LOG:
				if (v->nlog < RS_MAX_LOGS)
					v->log[v->nlog++] = e->meta;
				continue;
			case RS_A_PASS:
				/* forward only, whatever the table says: never loop */
				pos = e->next > i ? e->next : i + 1;
				goto restart;
			case RS_A_ALLOW:
				verdict_set(v, RS_ACCEPT, ruleset_meta(rs, e->meta)->kind ==
					    RS_META_PROFILE ? REASON_PROFILE : REASON_RULE, e->meta);
				return;
			case RS_A_DENY:
				verdict_set(v, RS_DROP, ruleset_meta(rs, e->meta)->kind ==
					    RS_META_PROFILE ? REASON_PROFILE : REASON_RULE, e->meta);
				return;
			case RS_A_FAILSAFE:
				verdict_set(v, hook == RS_NORMAL_IN || hook == RS_NORMAL_OUT ?
					    RS_ACCEPT : RS_CONTINUE, REASON_FAILSAFE, e->meta);
				return;
			case RS_A_EOT_DENY:
				verdict_set(v, RS_DROP, REASON_END_OF_TIER, e->meta);
				return;
			case RS_A_NO_PROFILE:
			default:
				verdict_set(v, RS_DROP, REASON_NO_PROFILE, e->meta);
				return;
			}
		}
	}
	verdict_set(v, RS_CONTINUE, REASON_NO_POLICY, RS_NO_META);
}

/* ---- publication ------------------------------------------------------------------- */

static void
ruleset_free_rcu(struct rcu_head *head)
{
	ruleset_free(caa_container_of(head, struct ruleset, rcu));
}

void
ruleset_publish(struct ruleset *next)
{
	struct ruleset *prev = rcu_xchg_pointer(&ruleset_active, next);

	if (prev != NULL)
		urcu_memb_call_rcu(&prev->rcu, ruleset_free_rcu);
}

const struct ruleset *
ruleset_current(void)
{
	return rcu_dereference(ruleset_active);
}

void
ruleset_unpublish(void)
{
	struct ruleset *prev = rcu_xchg_pointer(&ruleset_active, NULL);

	urcu_memb_synchronize_rcu();
	ruleset_free(prev);
	urcu_memb_barrier();
}

/* ---- dump ---------------------------------------------------------------------------- */

static const char *const hook_names[RS_NHOOKS] = {
	[RS_UNTRACKED_IN] = "untracked-in", [RS_UNTRACKED_OUT] = "untracked-out",
	[RS_PREDNAT_IN] = "prednat-in", [RS_NORMAL_IN] = "normal-in",
	[RS_NORMAL_OUT] = "normal-out", [RS_FORWARD_IN] = "forward-in",
	[RS_FORWARD_OUT] = "forward-out",
};

static const char *const action_names[] = {
	[RS_A_ALLOW] = "allow", [RS_A_DENY] = "deny", [RS_A_PASS] = "pass",
	[RS_A_LOG] = "log", [RS_A_FAILSAFE] = "failsafe", [RS_A_EOT_DENY] = "end-of-tier-deny",
	[RS_A_NO_PROFILE] = "no-profile-deny",
};

void
ruleset_dump(const struct ruleset *rs, FILE *out)
{
	const struct rs_hep *heps = rs_at(rs, rs->heps);
	const struct rs_ifmap *ifm = rs_at(rs, rs->ifmap);

	fprintf(out, "ruleset gen %llu: %u host endpoints, %u chains, %u entries, %u bitsets\n",
		(unsigned long long)rs->gen, rs->nheps, rs->nchains, rs->nentries, rs->nbitsets);
	for (uint32_t i = 0; i < rs->nifmap; i++)
		fprintf(out, "interface %u -> %s\n", ifm[i].ifindex,
			ifm[i].hep < 0 ? "(none)" : ruleset_hep_name(rs, ifm[i].hep));
	if (rs->wildcard >= 0)
		fprintf(out, "other interfaces -> %s\n", ruleset_hep_name(rs, rs->wildcard));
	for (uint32_t h = 0; h < rs->nheps; h++) {
		fprintf(out, "hostendpoint %s\n", ruleset_str(rs, heps[h].name));
		for (int hook = 0; hook < RS_NHOOKS; hook++) {
			for (int f = 0; f < 2; f++) {
				const struct rs_chain *c;
				const struct rs_entry *e;

				if (heps[h].chains[hook][f] == 0)
					continue;
				c = rs_at(rs, heps[h].chains[hook][f]);
				e = rs_at(rs, c->entries);
				fprintf(out, "  %s ipv%d: %u entries, %u bitsets\n", hook_names[hook],
					f ? 6 : 4, c->nentries, c->nbitsets);
				for (uint32_t i = 0; i < c->nentries; i++) {
					const struct rs_meta *m = ruleset_meta(rs, e[i].meta);

					fprintf(out, "    %u %s", i, action_names[e[i].action]);
					if (e[i].action == RS_A_PASS)
						fprintf(out, " ->%u", e[i].next);
					if (m->tier)
						fprintf(out, " tier=%s", ruleset_str(rs, m->tier));
					if (m->policy)
						fprintf(out, " %s=%s", m->kind == RS_META_PROFILE ?
							"profile" : "policy", ruleset_str(rs, m->policy));
					if (m->rule >= 0 && m->kind == RS_META_RULE)
						fprintf(out, " rule=%d", m->rule);
					if (e[i].residual)
						fprintf(out, " (named ports)");
					fputc('\n', out);
				}
			}
		}
	}
}
