/*
 * ruleset_layout.h - the byte layout of a struct ruleset block.
 *
 * Only nfq/ruleset.c (reader) and control/compile.c (writer) include this;
 * everyone else uses the functions of ruleset.h. All "off" fields are byte
 * offsets from the start of the block; 0 means "absent".
 */
#ifndef NFQWALL_RULESET_LAYOUT_H
#define NFQWALL_RULESET_LAYOUT_H

#include <stdint.h>
#include <urcu/urcu-memb.h>

#include "ruleset.h"

/* One entry of a chain. */
struct rs_entry {
	uint8_t action;		/* enum rs_action */
	uint8_t residual;	/* 1: named ports, re-check with the residual record */
	uint16_t pad;
	uint32_t next;		/* RS_A_PASS: first entry of the next tier */
	uint32_t meta;		/* index into the meta table */
	uint32_t resid;		/* off of struct rs_resid, when residual */
};

/* An interval table over one field: starts[] ascending, starts[0] = 0. */
struct rs_itab {
	uint32_t n;
	uint32_t starts;	/* off: uint32_t[n] (16-bit fields, IPv4) or struct addr[n] (IPv6) */
	uint32_t ids;		/* off: uint32_t[n], bitset ids */
	uint32_t none_id;	/* bitset id for packets without this header (ports, icmp) */
};

struct rs_chain {
	uint32_t nentries;
	uint32_t nwords;	/* 64-bit words per bitset */
	uint32_t entries;	/* off: struct rs_entry[nentries] */
	uint32_t logmask;	/* off: uint64_t[nwords], the Log entries */
	uint32_t pool;		/* off: uint64_t[nbitsets][nwords] */
	uint32_t nbitsets;
	uint32_t proto;		/* off: uint32_t[256], bitset ids */
	uint8_t family;
	uint8_t pad[3];
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
	uint32_t nchains;
	uint32_t nentries;
	uint32_t nbitsets;
	uint32_t flags;		/* RS_F_* */
	uint64_t *hits;		/* nmeta counters: the one mutable part, allocated apart */
};

static inline const void *
rs_at(const struct ruleset *rs, uint32_t off)
{
	return (const char *)rs + off;
}

#endif /* NFQWALL_RULESET_LAYOUT_H */
