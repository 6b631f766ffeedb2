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
 *                    bitsets interned as rows of blocks, the entries;
 *                    compile_itab.c lays out the interval tables and their
 *                    direct or window indexes
 *
 * compile.c drives them for every endpoint, hook and family, and
 * compile_mem.c holds the growable block, the hash map and the interning
 * tables they use. Errors: see below; nothing here exits.
 */
#ifndef NFQWALL_COMPILE_INT_H
#define NFQWALL_COMPILE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostenv.h"
#include "ivset.h"
#include "ruleset_layout.h"

#define FIELD_MAX16	((u128)0xffff)	/* the highest port, or ICMP type << 8 | code */

/* The packet fields, in the order of a chain's tables. */
enum field {
	F_PROTO,
	F_SRC,
	F_DST,
	F_SPORT,
	F_DPORT,
	F_ICMP,
	NFIELDS,
};

/* One port list of a rule side, for the residual check of named ports. */
struct rb_pside {
	bool present;
	struct ivset ranges;
	struct rs_tuple *tuples;
	size_t ntuples;
	size_t tuplecap;
};

/* An entry of a chain being built: what it accepts in each field. */
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

/* The table as it takes shape: its header at offset 0, then what blob_put appends. */
struct blob {
	char *buf;
	size_t len;
	size_t cap;
	size_t max;			/* the budget: no byte at or past it */
};

/* ---- a small open-addressing map: 64-bit hash -> index --------------------------- */

struct hmap {
	uint64_t *hash;
	uint32_t *val;			/* UINT32_MAX = empty */
	size_t cap;
	size_t n;
};

/* ---- tables of records stored once ------------------------------------------------ */

/* A table of fixed-size records, each stored once (interning by content). */
struct rtab {
	char *v;			/* n records of size bytes */
	size_t n;
	size_t cap;			/* bytes allocated */
	size_t size;			/* bytes per record */
	struct hmap map;		/* hash -> record index */
};

/* ---- the build state ---------------------------------------------------------------- */

/* The addresses a rule selector selects in one family, cached by its text. */
struct selset {
	char *text;
	uint8_t family;
	struct ivset set;
};

/* Everything one compile_ruleset builds and frees. */
struct cbuild {
	const struct hostenv *env;
	struct blob b;
	struct hmap strings;		/* -> blob offset */
	struct rtab metas;		/* struct rs_meta records */
	const struct srcloc **origin;	/* per meta: where it was written, or NULL */
	size_t origincap;
	struct selset *selsets;
	size_t nselsets;
	size_t selcap;
	struct hmap selmap;		/* -> selsets index */
	bool staged;			/* the staged view (compile_ruleset_staged) */
	const struct policy **order;	/* enforced policies in evaluation order */
	size_t norder;
	uint32_t nchains;
	uint32_t nentries;
	uint32_t nbitsets;
	/* per chain */
	uint32_t nwords;		/* words per bitset */
	uint32_t nblocks;		/* blocks per bitset */
	struct rtab blocks;		/* distinct blocks: RS_BLOCK_WORDS words each */
	struct rtab rows;		/* distinct rows: nblocks block ids (uint32_t) each */
};

/* One field, cut: n intervals, their starts and row ids, and the "no header" row. */
struct fcut {
	size_t n;
	u128 *starts;
	uint32_t *rowid;
	size_t scap;			/* allocated starts */
	size_t rcap;			/* allocated rowid */
	uint32_t none;
};

/* What the lookup gets for a bitset (row) in a chain of @mode (see RS_ROWS_*). */
struct fval {
	uint8_t mode;
	uint32_t nblocks;
	const uint32_t *ids;		/* the rows' block ids, nblocks per row */
	uint32_t rows;			/* RS_ROWS_WIDE: offset of row 0 */
	uint32_t rowbytes;
};

/* The fields of a meta record (see struct rs_meta), for meta_intern. */
struct meta_key {
	enum rs_meta_kind kind;
	enum rs_action action;
	enum stage stage;
	enum dir dir;
	const char *tier;		/* NULL: none */
	const char *policy;		/* policy or profile name, NULL: none */
	int rule;			/* -1: none */
	const struct srcloc *loc;	/* where it was written (the dump's origin), NULL: none */
};


/* ---- chains ------------------------------------------------------------------------------ */

/* The entries of one chain, in order. */
struct clist {
	struct centry *v;
	size_t n;
	size_t cap;
};


/*
 * Every function below that can fail returns 0 or a negative errno:
 * -ENOMEM, or -ERANGE when the table would grow past its budget (blob.max).
 */

/* ---- compile_mem.c ------------------------------------------------------------------- */

/*
 * blob_put - append @size bytes (zeros when @data is NULL) at @align; their
 * offset in *@off (when @off is not NULL).
 */
int __must_check blob_put(struct blob *b, const void *data, size_t size, size_t align,
			  uint32_t *off);

/* blob_at - the bytes at offset @off (valid until the next blob_put). */
void *blob_at(struct blob *b, uint32_t off);

/* hash_bytes - a 64-bit hash of @n bytes (FNV-1a, folded). */
uint64_t hash_bytes(const void *p, size_t n);

/* hmap_reserve - room for one more value in @m; call it before hmap_find. */
int __must_check hmap_reserve(struct hmap *m);

/*
 * hmap_find - the value stored for @h that @eq accepts, or UINT32_MAX; the
 * slot to insert at is left in *slot.
 */
uint32_t hmap_find(const struct hmap *m, uint64_t h,
		   bool (*eq)(uint32_t val, const void *key, void *ctx), const void *key,
		   void *ctx, size_t *slot);

/* hmap_set - store @val for @h in @slot (from hmap_find). */
void hmap_set(struct hmap *m, size_t slot, uint64_t h, uint32_t val);

/* hmap_clear - empty @m, keeping its memory. */
void hmap_clear(struct hmap *m);

/* hmap_free - release @m; it is empty afterwards. */
void hmap_free(struct hmap *m);

/* rtab_reset - empty @t for records of @size bytes, keeping its memory. */
void rtab_reset(struct rtab *t, size_t size);

/* rtab_intern - the index of record @rec (whose hash is @h) in @t, stored once; in *@id. */
int __must_check rtab_intern(struct rtab *t, const void *rec, uint64_t h, uint32_t *id);

/* rtab_at - record @id of @t. */
static inline const void *
rtab_at(const struct rtab *t, uint32_t id)
{
	return t->v + (size_t)id * t->size;
}

/* rtab_free - release @t; it is empty afterwards. */
void rtab_free(struct rtab *t);

/* ---- compile_build.c ------------------------------------------------------------------ */

/* str_intern - the offset of @s in the table's strings, in *@off (0 for NULL). */
int __must_check str_intern(struct cbuild *cb, const char *s, uint32_t *off);

/* meta_intern - the index of the meta record @k, in *@idx. */
int __must_check meta_intern(struct cbuild *cb, const struct meta_key *k, uint32_t *idx);

/*
 * write_origins - after everything that decides, the origin (file, line) of
 * every meta record; its offset in *@off (see struct ruleset).
 */
int __must_check write_origins(struct cbuild *cb, uint32_t *off);

/* centry_init_full - an entry that accepts every packet of @family (see centry_check). */
void centry_init_full(struct centry *e, uint8_t family);

/* centry_free - release the sets of @e. */
void centry_free(struct centry *e);

/*
 * centry_rule - the entry for rule @r in @family: 1, or 0 when Felix would
 * not render it for that family or it can never match a host (@ce is then
 * untouched), or a negative errno.
 */
int __must_check centry_rule(struct cbuild *cb, struct centry *ce, const struct rule *r,
			     uint8_t family);

/* clist_add - a new zeroed entry at the end of @l, or NULL (out of memory). */
struct centry *clist_add(struct clist *l);

/* add_catch_all - append an entry that matches every packet. */
int __must_check add_catch_all(struct clist *l, uint8_t family, uint8_t action, uint32_t meta);

/* add_failsafes - append the failsafe entries of a hook. */
int __must_check add_failsafes(struct cbuild *cb, struct clist *l, enum stage st, enum dir dir,
			       uint8_t family);

/* ---- compile_tiers.c ------------------------------------------------------------------ */

/* build_order - cb->order: the enforced policies in evaluation order. */
int __must_check build_order(struct cbuild *cb);

/* add_tiers - append the entries of every tier that applies to @h at (@st, @dir). */
int __must_check add_tiers(struct cbuild *cb, struct clist *l, const struct hep *h,
			   enum stage st, enum dir dir, uint8_t family);

/* add_profiles - append the profile entry of @h (normal stage only). */
int __must_check add_profiles(struct cbuild *cb, struct clist *l, const struct hep *h,
			      enum dir dir, uint8_t family);

/* ---- compile_itab.c ------------------------------------------------------------------ */

/* write_fields - the protocol table and the interval tables of the fields cut in @fc. */
int __must_check write_fields(struct cbuild *cb, struct rs_chain *c, const struct fcut *fc,
			      const struct fval *fv);

/* ---- compile_gen.c ------------------------------------------------------------------- */

/*
 * write_chain - lay out the chain of entries @l (for a hook of stage @st) in
 * the block; its offset in *@off (0 when @l is empty: no chain).
 */
int __must_check write_chain(struct cbuild *cb, struct clist *l, enum stage st, uint8_t family,
			     uint32_t *off);

#endif /* NFQWALL_COMPILE_INT_H */
