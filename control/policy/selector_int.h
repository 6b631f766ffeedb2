/*
 * selector_int.h - private to selector.c and selector_parse.c: the layout of
 * a compiled selector and the builder both files use to make one.
 *
 * A selector is one immutable malloc'd block holding
 *   - a flat array of nodes in prefix order: an operator node is followed
 *     by its operands, and every node records the size of its subtree, so
 *     the next operand is found by skipping forward (no pointers);
 *   - the members of every "in" set, as sorted, deduplicated offsets;
 *   - a pool of NUL-terminated keys and values.
 * It is built in a struct sel_buf (growable arrays), then packed into that
 * block by sel_buf_pack(). Control thread only.
 */
#ifndef NFQWALL_SELECTOR_INT_H
#define NFQWALL_SELECTOR_INT_H

#include <stddef.h>
#include <stdint.h>
#include "selector.h"

enum sel_op {
	SEL_ALL,
	SEL_GLOBAL,
	SEL_HAS,
	SEL_EQ,
	SEL_NE,
	SEL_CONTAINS,
	SEL_STARTS,
	SEL_ENDS,
	SEL_IN,
	SEL_NOTIN,
	SEL_NOT,
	SEL_AND,
	SEL_OR,
};

struct sel_node {
	uint32_t op;		/* enum sel_op */
	uint32_t size;		/* nodes in this subtree, this one included */
	uint32_t key;		/* leaf: key offset in str; AND/OR: number of operands */
	uint32_t val;		/* EQ..ENDS: value offset in str; IN/NOTIN: first index in set */
	uint32_t len;		/* EQ..ENDS: value length; IN/NOTIN: number of members */
};

struct selector {
	uint32_t nnodes;
	uint32_t nset;
	uint32_t nstr;
	const uint32_t *set;	/* offsets in str, sorted by value within each set */
	const char *str;
	struct sel_node node[];	/* then set[nset], then str[nstr] */
};

/* Growable arrays a selector is built in before being packed. */
struct sel_buf {
	struct sel_node *node;
	size_t nnodes, capnodes;
	uint32_t *set;
	size_t nset, capset;
	char *str;
	size_t nstr, capstr;
};

/* sel_buf_free - release @b's arrays (not @b itself); a zeroed @b is fine. */
void sel_buf_free(struct sel_buf *b);

/* sel_buf_node - append a leaf-sized node (subtree size 1); the caller fixes
 * up the size of an operator node once its operands are in. 0 or -ENOMEM. */
int sel_buf_node(struct sel_buf *b, uint32_t op, uint32_t key, uint32_t val, uint32_t len);

/* sel_buf_str - append @n bytes of @s and a NUL to the string pool; *off
 * gets the offset of the copy. 0 or -ENOMEM. */
int sel_buf_str(struct sel_buf *b, const char *s, size_t n, uint32_t *off);

/* sel_buf_member - append the string-pool offset @off to the set array.
 * 0 or -ENOMEM. */
int sel_buf_member(struct sel_buf *b, uint32_t off);

/* sel_buf_pack - copy @b into one allocation (a struct selector that
 * selector_free() releases); @b is left untouched. NULL on ENOMEM. */
struct selector *sel_buf_pack(const struct sel_buf *b);

#endif /* NFQWALL_SELECTOR_INT_H */
