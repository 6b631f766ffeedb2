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
#include "compile_int.h"
#include "xalloc.h"

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
