/*
 * ruleset_layout.h - the byte layout of a struct ruleset block.
 *
 * Only nfq/ruleset*.c (reader) and control/compile/compile*.c (writer)
 * include this; everyone else uses the functions of ruleset.h. All "off"
 * fields are byte offsets from the start of the block; 0 means "absent".
 */
#ifndef NFQWALL_RULESET_LAYOUT_H
#define NFQWALL_RULESET_LAYOUT_H

#include <stdint.h>
#include <urcu/urcu-memb.h>

#include "ruleset.h"

/*
 * Bitsets are cut into blocks of RS_BLOCK_WORDS 64-bit words (512 entries,
 * one cache line). A chain stores each distinct block once; a bitset is a
 * "row": the ids of its blocks, in entry order. What a field's tables give
 * for a packet (a "value") depends on the chain's mode:
 *
 *   RS_ROWS_FLAT  one block per bitset (up to 512 entries): the block id.
 *   RS_ROWS_DESC  the id of the bitset's block 0 | its row number << 16
 *                 (rows of uint16_t ids at rows + number * rowbytes), so
 *                 that the scan reads block 0, where it starts and mostly
 *                 ends, without loading the row. Up to 65536 blocks and rows.
 *   RS_ROWS_WIDE  larger chains: the row offset (rows of uint32_t ids).
 */
#define RS_BLOCK_WORDS	8
#define RS_BLOCK_SHIFT	9	/* entries per block: 1 << RS_BLOCK_SHIFT */

#define RS_ROWS_FLAT	0
#define RS_ROWS_DESC	1
#define RS_ROWS_WIDE	2

#define RS_ACT_RESID	0x80	/* in rs_chain.acts: the entry has a residual check */

/* One entry of a chain. */
struct rs_entry {
	uint8_t action;		/* enum rs_action */
	uint8_t residual;	/* 1: named ports, re-check with the residual record */
	uint8_t reason;		/* enum reason reported when this entry decides */
	uint8_t outcome;	/* enum rs_outcome when it decides (at its chain's hook) */
	uint32_t next;		/* RS_A_PASS: first entry of the next tier */
	uint32_t meta;		/* index into the meta table */
	uint32_t resid;		/* off of struct rs_resid, when residual */
};

/*
 * An interval table over one field: interval i starts at start i (starts
 * ascending, the first one 0) and gives value i. For 16-bit fields and
 * IPv4 the two are interleaved in pairs[], for IPv6 they are apart (starts[],
 * rows[]); either way the arrays are padded with RS_IX_WIN - 1 copies of
 * the last interval, so that a window search never reads past them.
 *
 * Large tables have an index:
 *   RS_IX_DIRECT  (16-bit fields) index[key] is the value.
 *   RS_IX_WINDOW  over a 64-bit key (the value; for IPv6 the high 64 bits):
 *                 bucket d holds the keys from base + (d << shift) to
 *                 base + ((d + 1) << shift) - 1; entry nbkt is for keys
 *                 below base, entry nbkt + 1 for keys past the last bucket.
 *                 An entry is lo << 1: the key's interval is one of the
 *                 RS_IX_WIN intervals from lo on; or lo << 1 | 1 when the
 *                 bucket holds more (rare): one of the intervals from lo on.
 */
#define RS_IX_NONE	0
#define RS_IX_DIRECT	1
#define RS_IX_WINDOW	2

#define RS_IX_WIN	8	/* intervals a window searches (three steps) */

struct rs_pair {
	uint32_t start;
	uint32_t row;		/* the value */
};

struct rs_itab {
	uint32_t n;
	uint32_t pairs;		/* off: struct rs_pair[n + RS_IX_WIN - 1] (16-bit, IPv4) */
	uint32_t starts;	/* off: struct addr[n + RS_IX_WIN - 1] (IPv6) */
	uint32_t rows;		/* off: uint32_t[n + RS_IX_WIN - 1] values (IPv6) */
	uint32_t none;		/* value for packets without this header (ports, icmp) */
	uint32_t index;		/* off: uint32_t[65536] (direct) or [nbkt + 2] (window) */
	uint8_t kind;		/* RS_IX_* */
	uint8_t shift;
	uint8_t pad[2];
	uint32_t nbkt;
	uint64_t base;
};

struct rs_chain {
	uint32_t nentries;
	uint32_t nwords;	/* 64-bit words per bitset */
	uint32_t nblocks;	/* blocks per bitset (row length) */
	uint32_t entries;	/* off: struct rs_entry[nentries] */
	uint32_t acts;		/* off: uint8_t[nentries], action | RS_ACT_RESID (hot copy) */
	uint32_t blocks;	/* off: uint64_t[nblk][RS_BLOCK_WORDS], 64-byte aligned */
	uint32_t nblk;		/* distinct blocks (block 0 is all zeros) */
	uint32_t nbitsets;	/* distinct bitsets (rows) */
	uint32_t proto;		/* off: uint32_t[256], values */
	uint32_t rows;		/* RS_ROWS_DESC: off of row 0 */
	uint32_t rowbytes;	/* RS_ROWS_DESC: bytes per row */
	uint8_t family;
	uint8_t mode;		/* RS_ROWS_* */
	uint8_t pad[2];
	struct rs_itab src;
	struct rs_itab dst;
	struct rs_itab sport;
	struct rs_itab dport;
	struct rs_itab icmp;	/* key: type << 8 | code */
};

struct rs_hep {
	uint32_t name;		/* string offset */
	uint32_t chains[RS_NHOOKS][2];	/* off of struct rs_chain, [hook][0 = IPv4, 1 = IPv6] */
};

struct rs_ifmap {
	uint32_t ifindex;
	int32_t hep;		/* -1: no endpoint (e.g. a workload interface) */
};

/* Named-port residual check: a port list side that the bitsets only approximate. */
struct rs_tuple {
	struct addr addr;
	uint8_t family;
	uint8_t proto;
	uint16_t port;
	uint32_t pad;
};

struct rs_pside {
	uint32_t present;	/* the rule has this list */
	uint32_t nranges;
	uint32_t ranges;	/* off: uint32_t[nranges], lo << 16 | hi */
	uint32_t ntuples;
	uint32_t tuples;	/* off: struct rs_tuple[ntuples] */
};

struct rs_resid {
	struct rs_pside side[4];	/* src ports, src notPorts, dst ports, dst notPorts */
};

/* Where the entries of a meta record were written (the dump's origin). */
struct rs_origin {
	uint32_t file;		/* string offset, 0 = unknown */
	uint32_t line;		/* 0 = unknown */
};

#define RS_F_INVALID_DROP	1	/* conntrack INVALID packets are dropped */

struct ruleset {
	struct rcu_head rcu;
	uint64_t gen;
	uint32_t size;
	uint32_t nheps;
	uint32_t heps;		/* off: struct rs_hep[nheps] */
	int32_t wildcard;	/* the "*" HEP for interfaces not in ifmap, -1 = none */
	uint32_t nifmap;
	uint32_t ifmap;		/* off: struct rs_ifmap[nifmap], by ifindex */
	uint32_t nmeta;
	uint32_t meta;		/* off: struct rs_meta[nmeta] */
	uint32_t origins;	/* off: struct rs_origin[nmeta]; from here on nothing decides */
	uint32_t nchains;
	uint32_t nentries;
	uint32_t nbitsets;
	uint32_t flags;		/* RS_F_* */
	uint32_t pad;		/* 0: no padding bytes in the header (ruleset_equal) */
	uint64_t *hits;		/* nmeta counters: the one mutable part, allocated apart */
	uint64_t *last_hit;	/* nmeta: the last hit, unix seconds (0: none), the same way */
};

static inline const void *
rs_at(const struct ruleset *rs, uint32_t off)
{
	return (const char *)rs + off;
}

/* rs_value_block - the id of block @b of the bitset a field value @val stands for in
 * chain @c (see RS_ROWS_*): for the readers that walk whole bitsets (dump, compare). */
static inline uint32_t
rs_value_block(const struct ruleset *rs, const struct rs_chain *c, uint32_t val, uint32_t b)
{
	if (c->mode == RS_ROWS_FLAT)
		return val;
	if (c->mode == RS_ROWS_DESC)
		return ((const uint16_t *)rs_at(rs, c->rows + (val >> 16) * c->rowbytes))[b];
	return ((const uint32_t *)rs_at(rs, val))[b];
}

#endif /* NFQWALL_RULESET_LAYOUT_H */
