/*
 * compile_int.h - what the files of the compiler share (private to
 * control/compile/compile*.c). Control thread only.
 *
 * The compiler works in three steps, one file each (as DPDK's ACL keeps its
 * build apart from its generator):
 *
 *   compile_build.c  what each entry accepts in each packet field: interval
 *                    sets from a rule (selectors resolved to address sets,
 *                    named ports to port numbers plus a residual check) or
 *                    from a failsafe; interned strings and meta records
 *   compile_tiers.c  which entries a chain holds and in which order: the
 *                    policies in tier order, each tier's end, the profiles
 *   compile_gen.c    the lookup structures of a chain: each field cut into
 *                    elementary intervals carrying bitsets of entries,
 *                    bitsets interned as rows of blocks, interval indexes
 *
 * compile.c drives them for every endpoint, hook and family, and
 * compile_mem.c holds the growable block and the hash map they use.
 */
#ifndef NFQWALL_COMPILE_INT_H
#define NFQWALL_COMPILE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostenv.h"
#include "ivset.h"
#include "ruleset_layout.h"

#define FIELD_MAX16	((u128)0xffff)

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


/* ---- a small open-addressing map: 64-bit hash -> index --------------------------- */

struct hmap {
	uint64_t *hash;
	uint32_t *val;			/* UINT32_MAX = empty */
	size_t cap;
	size_t n;
};


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


/* ---- chains ------------------------------------------------------------------------------ */

struct clist {
	struct centry *v;
	size_t n;
	size_t cap;
};


/* ---- compile_mem.c ------------------------------------------------------------------- */

/* blob_put - append @size bytes (zeros when @data is NULL) at @align; their offset. */
uint32_t blob_put(struct blob *b, const void *data, size_t size, size_t align);

/* blob_at - the bytes at offset @off (valid until the next blob_put). */
void *blob_at(struct blob *b, uint32_t off);

/* hash_bytes - a 64-bit hash of @n bytes (FNV-1a, folded). */
uint64_t hash_bytes(const void *p, size_t n);

/*
 * hmap_find - the value stored for @h that @eq accepts, or UINT32_MAX; the
 * slot to insert at is left in *slot.
 */
uint32_t hmap_find(struct hmap *m, uint64_t h,
		   bool (*eq)(uint32_t val, const void *key, void *ctx), const void *key,
		   void *ctx, size_t *slot);

/* hmap_set - store @val for @h in @slot (from hmap_find). */
void hmap_set(struct hmap *m, size_t slot, uint64_t h, uint32_t val);

/* hmap_clear - empty @m, keeping its memory. */
void hmap_clear(struct hmap *m);

/* hmap_free - release @m; it is empty afterwards. */
void hmap_free(struct hmap *m);

/* ---- compile_build.c ------------------------------------------------------------------ */

/* str_intern - the offset of @s in the table's strings (0 for NULL). */
uint32_t str_intern(struct cbuild *cb, const char *s);

/* meta_intern - the index of the meta record with these fields. */
uint32_t meta_intern(struct cbuild *cb, enum rs_meta_kind kind, enum rs_action action,
		     enum stage st, enum dir dir, const char *tier, const char *policy, int rule);

/* centry_init_full - an entry that accepts every packet of @family. */
void centry_init_full(struct centry *e, uint8_t family);

/* centry_free - release the sets of @e. */
void centry_free(struct centry *e);

/*
 * centry_rule - the entry for rule @r in @family, or false when Felix would
 * not render it for that family or it can never match a host.
 */
bool centry_rule(struct cbuild *cb, struct centry *ce, const struct rule *r, uint8_t family);

/* clist_add - a new (uninitialised) entry at the end of @l. */
struct centry *clist_add(struct clist *l);

/* add_catch_all - append an entry that matches every packet. */
void add_catch_all(struct clist *l, uint8_t family, uint8_t action, uint32_t meta);

/* add_failsafes - append the failsafe entries of a hook. */
void add_failsafes(struct cbuild *cb, struct clist *l, enum stage st, enum dir dir,
		   uint8_t family);

/* ---- compile_tiers.c ------------------------------------------------------------------ */

/* build_order - cb->order: the enforced policies in evaluation order. */
void build_order(struct cbuild *cb);

/* add_tiers - append the entries of every tier that applies to @h at (@st, @dir). */
void add_tiers(struct cbuild *cb, struct clist *l, const struct hep *h, enum stage st,
	       enum dir dir, uint8_t family);

/* add_profiles - append the profile entry of @h (normal stage only). */
void add_profiles(struct cbuild *cb, struct clist *l, const struct hep *h, enum dir dir,
		  uint8_t family);

/* ---- compile_gen.c ------------------------------------------------------------------- */

/* write_chain - lay out the chain of entries @l in the block; its offset (0: empty). */
uint32_t write_chain(struct cbuild *cb, struct clist *l, enum stage st, uint8_t family);

#endif /* NFQWALL_COMPILE_INT_H */
