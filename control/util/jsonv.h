/*
 * jsonv.h - a strict, bounded JSON reader (RFC 8259) that builds a small
 * read-only tree.
 *
 * For JSON that other programs wrote and nfqwall must read exactly as they
 * meant it, such as the projectcalico.org/metadata annotation Calico keeps
 * in its stored objects. Unlike reading JSON as YAML, every input is
 * either one JSON value or an error with its byte offset:
 *   - nesting deeper than a bound is an error before anything deeper is
 *     read (the cost stays linear in the input);
 *   - a key twice in one object is an error (readers disagree on which
 *     one counts);
 *   - a NUL (\u0000) in a string, a lone surrogate, invalid UTF-8 and raw
 *     control characters are errors, so every string is a C string with
 *     exactly the text the writer meant.
 * The tree is a flat array in document order: a node is followed by its
 * children, and each records the size of its subtree, so the next sibling
 * is found by skipping (jsonv_next). An object's children alternate: a key
 * (a string node), then its value. Strings and numbers are kept as
 * NUL-terminated text in a pool. Control thread only.
 */
#ifndef NFQWALL_JSONV_H
#define NFQWALL_JSONV_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

enum jsonv_type {
	JSONV_NULL,
	JSONV_FALSE,
	JSONV_TRUE,
	JSONV_NUMBER,
	JSONV_STRING,
	JSONV_ARRAY,
	JSONV_OBJECT,
};

struct jsonv_node {
	uint32_t type;		/* enum jsonv_type */
	uint32_t size;		/* nodes in this subtree, this one included */
	uint32_t n;		/* array: items; object: members; string, number: text length */
	uint32_t text;		/* string, number: offset of the text in the pool */
	uint32_t at;		/* byte offset in the input where the value starts */
};

struct jsonv {
	struct jsonv_node *v;
	size_t n, cap;
	char *pool;
	size_t npool, cappool;
};

/* The hardest nesting jsonv_parse accepts whatever it is asked (stack use). */
#define JSONV_DEPTH_MAX	1000

struct jsonv_error {
	size_t at;		/* byte offset of the problem in the input */
	char msg[96];
};

/*
 * jsonv_parse - read @len bytes of @text as exactly one JSON value (with
 * blanks around it) into @j, arrays and objects nested at most @max_depth
 * deep (at most JSONV_DEPTH_MAX). Returns 0, -EINVAL with @err filled, or
 * -ENOMEM. @j is empty on error; free it with jsonv_free either way.
 */
int __must_check jsonv_parse(struct jsonv *j, const char *text, size_t len,
			     unsigned max_depth, struct jsonv_error *err);

/* jsonv_free - release @j (a zeroed @j is fine). */
void jsonv_free(struct jsonv *j);

/* jsonv_root - the value read (jsonv_parse returned 0). */
static inline const struct jsonv_node *
jsonv_root(const struct jsonv *j)
{
	return &j->v[0];
}

/* jsonv_next - the node after @n's subtree: its next sibling, if it has one. */
static inline const struct jsonv_node *
jsonv_next(const struct jsonv_node *n)
{
	return n + n->size;
}

/* jsonv_text - the text of a string (unescaped) or a number (as written). */
static inline const char *
jsonv_text(const struct jsonv *j, const struct jsonv_node *n)
{
	return j->pool + n->text;
}

/* jsonv_get - the value of @key in object @obj, or NULL (also when @obj is no object). */
const struct jsonv_node *jsonv_get(const struct jsonv *j, const struct jsonv_node *obj,
				   const char *key);

#endif /* NFQWALL_JSONV_H */
