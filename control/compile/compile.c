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
 * Temporaries are freed before returning; the result is one block. This
 * file drives the steps (see compile_int.h for the files that do them) and
 * allocates the table; a failure anywhere unwinds to compile_ruleset_max,
 * which frees everything and returns NULL with errno set. Control thread only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "compile_int.h"

#define TABLE_HUGE		((size_t)2 << 20)	/* a huge page */
#define TABLE_HUGE_MIN		((size_t)1 << 20)	/* tables from here: huge pages */

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

/* The chain of endpoint @h at @hook for @family; its offset in *@offp (0: none). */
static int
compile_chain(struct cbuild *cb, const struct hep *h, int hook, uint8_t family, uint32_t *offp)
{
	enum stage st = hook_info[hook].stage;
	enum dir dir = hook_info[hook].dir;
	struct clist l = { NULL, 0, 0 };
	int err = 0;

	*offp = 0;
	if (st == STAGE_UNTRACKED && hep_is_wildcard(h))
		return 0;	/* doNotTrack is ignored on "*" endpoints */
	if (st != STAGE_FORWARD)
		err = add_failsafes(cb, &l, st, dir, family);
	if (err == 0)
		err = add_tiers(cb, &l, h, st, dir, family);
	/* Elsewhere there is no final entry: nothing matching means "no verdict here". */
	if (err == 0 && st == STAGE_NORMAL)
		err = add_profiles(cb, &l, h, dir, family);
	if (err == 0)
		err = write_chain(cb, &l, st, family, offp);
	for (size_t i = 0; i < l.n; i++)
		centry_free(&l.v[i]);
	free(l.v);
	return err;
}

/* The local endpoints and their chains, for every hook and family. */
static int
compile_heps(struct cbuild *cb, struct ruleset *hdr)
{
	const struct hostenv *env = cb->env;
	struct rs_hep *heps = calloc(env->nlocal + 1, sizeof(*heps));
	int err = heps == NULL ? -ENOMEM : 0;

	for (size_t i = 0; err == 0 && i < env->nlocal; i++) {
		err = str_intern(cb, env->local[i]->name, &heps[i].name);
		for (int hook = 0; err == 0 && hook < RS_NHOOKS; hook++) {
			err = compile_chain(cb, env->local[i], hook, AF_INET, &heps[i].chains[hook][0]);
			if (err == 0)
				err = compile_chain(cb, env->local[i], hook, AF_INET6,
						    &heps[i].chains[hook][1]);
		}
	}
	hdr->nheps = (uint32_t)env->nlocal;
	if (err == 0)
		err = blob_put(&cb->b, heps, env->nlocal * sizeof(*heps), 8, &hdr->heps);
	free(heps);
	return err;
}

/* The index of endpoint @h among the local ones, or -1. */
static int32_t
local_index(const struct hostenv *env, const struct hep *h)
{
	for (size_t j = 0; h != NULL && j < env->nlocal; j++)
		if (env->local[j] == h)
			return (int32_t)j;
	return -1;
}

/* Interface index -> endpoint, for every known interface, and the "*" endpoint. */
static int
compile_ifmap(struct cbuild *cb, struct ruleset *hdr)
{
	const struct hostenv *env = cb->env;
	struct rs_ifmap *ifmap = calloc(env->nifaces + 1, sizeof(*ifmap));
	int err;

	if (ifmap == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < env->nifaces; i++) {
		ifmap[i].ifindex = env->ifaces[i].ifindex;
		ifmap[i].hep = local_index(env, hostenv_hep_for_iface(env, &env->ifaces[i]));
	}
	for (size_t i = 1; i < env->nifaces; i++)	/* insertion sort by ifindex */
		for (size_t j = i; j > 0 && ifmap[j - 1].ifindex > ifmap[j].ifindex; j--) {
			struct rs_ifmap t = ifmap[j];

			ifmap[j] = ifmap[j - 1];
			ifmap[j - 1] = t;
		}
	hdr->nifmap = (uint32_t)env->nifaces;
	err = blob_put(&cb->b, ifmap, env->nifaces * sizeof(*ifmap), 8, &hdr->ifmap);
	free(ifmap);
	hdr->wildcard = local_index(env, hostenv_hep_for_iface(env, NULL));
	return err;
}

/*
 * The memory of the table: 64-byte aligned, so that the aligned offsets of
 * blocks are; a large table on transparent huge pages where the kernel
 * offers them (madvise mode), since lookups touch it at random. NULL when
 * out of memory.
 */
static struct ruleset *
table_alloc(size_t len)
{
	size_t align = len >= TABLE_HUGE_MIN ? TABLE_HUGE : 64;
	size_t size = (len + align - 1) & ~(align - 1);
	void *p = aligned_alloc(align, size);

	if (p != NULL && align == TABLE_HUGE)
		(void)madvise(p, size, MADV_HUGEPAGE);	/* a hint: failure is harmless */
	return p;
}

/* The table, copied out of the block being built, with its hit counters. */
static struct ruleset *
table_finish(struct cbuild *cb)
{
	struct ruleset *rs = table_alloc(cb->b.len);

	if (rs == NULL)
		return NULL;
	memcpy(rs, cb->b.buf, cb->b.len);
	rs->hits = calloc(cb->metas.n ? cb->metas.n : 1, sizeof(*rs->hits));
	rs->last_hit = calloc(cb->metas.n ? cb->metas.n : 1, sizeof(*rs->last_hit));
	if (rs->hits == NULL || rs->last_hit == NULL) {
		free(rs->hits);
		free(rs->last_hit);
		free(rs);
		return NULL;
	}
	return rs;
}

static void
cbuild_free(struct cbuild *cb)
{
	free(cb->b.buf);
	free(cb->order);
	rtab_free(&cb->metas);
	free(cb->origin);
	rtab_free(&cb->blocks);
	rtab_free(&cb->rows);
	for (size_t i = 0; i < cb->nselsets; i++) {
		free(cb->selsets[i].text);
		ivset_free(&cb->selsets[i].set);
	}
	free(cb->selsets);
	hmap_free(&cb->strings);
	hmap_free(&cb->selmap);
}

/* Build the whole block in @cb; 0 or a negative errno. */
static int
compile_block(struct cbuild *cb)
{
	const struct hostenv *env = cb->env;
	struct ruleset hdr;
	int err;

	memset(&hdr, 0, sizeof(hdr));
	err = build_order(cb);
	if (err == 0)
		err = blob_put(&cb->b, NULL, sizeof(struct ruleset), 16, NULL);
	if (err == 0)
		err = compile_heps(cb, &hdr);
	if (err == 0)
		err = compile_ifmap(cb, &hdr);
	hdr.nmeta = (uint32_t)cb->metas.n;
	if (err == 0)
		err = blob_put(&cb->b, cb->metas.v, cb->metas.n * cb->metas.size, 8, &hdr.meta);
	if (err == 0)
		err = write_origins(cb, &hdr.origins);	/* last: they decide nothing */
	if (err < 0)
		return err;
	hdr.nchains = cb->nchains;
	hdr.nentries = cb->nentries;
	hdr.nbitsets = cb->nbitsets;
	hdr.flags = env->invalid_drop ? RS_F_INVALID_DROP : 0;
	hdr.size = (uint32_t)cb->b.len;
	memcpy(cb->b.buf, &hdr, sizeof(hdr));
	return 0;
}

static struct ruleset *
compile_view(const struct hostenv *env, size_t max_bytes, bool staged)
{
	struct cbuild cb;
	struct ruleset *rs = NULL;
	int err = env->err;

	memset(&cb, 0, sizeof(cb));
	cb.env = env;
	cb.staged = staged;
	rtab_reset(&cb.metas, sizeof(struct rs_meta));
	cb.b.max = max_bytes < COMPILE_MAX_BYTES ? max_bytes : COMPILE_MAX_BYTES;
	if (err == 0)
		err = compile_block(&cb);
	if (err == 0) {
		rs = table_finish(&cb);
		if (rs == NULL)
			err = -ENOMEM;
	}
	cbuild_free(&cb);
	if (err < 0)
		errno = -err;
	return rs;
}

struct ruleset *
compile_ruleset_max(const struct hostenv *env, size_t max_bytes)
{
	return compile_view(env, max_bytes, false);
}

struct ruleset *
compile_ruleset(const struct hostenv *env)
{
	return compile_view(env, COMPILE_MAX_BYTES, false);
}

bool
compile_has_staged(const struct polset *ps)
{
	for (size_t i = 0; i < ps->npolicies; i++)
		if (ps->policies[i]->kind == KIND_SGNP)
			return true;
	return false;
}

struct ruleset *
compile_ruleset_staged(const struct hostenv *env)
{
	return compile_view(env, COMPILE_MAX_BYTES, true);
}
