/*
 * ruleset.c - the compiled rule table's accessors, hit counters and RCU
 * publication, and its text dump. See ruleset.h for the structure; the
 * lookup itself, with its per-ISA scan variants, is in ruleset_scan.c.
 *
 * Runs in the control thread (publish, free, dump) and, for the accessors
 * and counters, in the worker threads too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
