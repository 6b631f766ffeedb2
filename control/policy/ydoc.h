/*
 * ydoc.h - YAML and JSON documents with source positions (libyaml).
 *
 * One parser serves both forms: JSON is read as YAML flow style. A file may
 * hold several documents separated by "---". Nodes keep their line and
 * column so diagnostics can point at the exact field. Control thread only.
 */
#ifndef NFQWALL_YDOC_H
#define NFQWALL_YDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "compiler.h"
#include "diag.h"

struct ydoc {
	yaml_document_t doc;
	const char *file;	/* points at struct ydocs.file */
};

struct ydocs {
	char *file;		/* the name diagnostics use */
	struct ydoc *v;
	size_t n;
};

/*
 * What one stream may cost. A stream over a bound stops loading there with
 * an error naming the bound; the documents before it are kept.
 */
struct ydoc_limits {
	size_t max_bytes;	/* the file or buffer */
	size_t max_nodes;	/* nodes of the stream; an alias counts as a copy of
				 * every node it names, so aliases cannot multiply work */
	unsigned max_depth;	/* mappings and sequences inside one another */
};

/* The defaults (docs/operations.md, "Limits"). */
#define YDOC_MAX_BYTES		(32u << 20)
#define YDOC_MAX_NODES		1000000u
#define YDOC_MAX_DEPTH		64u
/* The bound on max_depth itself: libyaml spends time proportional to the
 * depth on every token of a flow collection. */
#define YDOC_DEPTH_CEILING	1000u

extern const struct ydoc_limits ydoc_limits_default;

/*
 * ydocs_read_file - the text of @path into *@owned (malloc'd) and *@len, as
 * ydocs_load reads it (a regular file, without blocking, at most
 * @lim->max_bytes): 0, or -errno, -EFBIG or -ENOMEM (recorded in @d).
 */
int __must_check ydocs_read_file(const char *path, const struct ydoc_limits *lim, char **owned,
				 size_t *len, struct diags *d);

/*
 * ydocs_load - parse every document of @path (or of @buf/@len when @buf is
 * not NULL; @path is then only the name used in diagnostics), within @lim
 * (NULL: ydoc_limits_default). A file must be a regular file (symbolic
 * links are followed); it is read without blocking. Besides YAML syntax,
 * these stop the load with an error at their position, keeping the
 * documents before it:
 *   - a bound of @lim passed;
 *   - a key twice in one mapping, and a YAML merge key ("<<"), which other
 *     readers (kubectl, JSON parsers) read differently;
 *   - a NUL byte in a key or a value (possible through "\0" or "\u0000"
 *     escapes), which C strings would cut;
 *   - an alias to a node that contains it (a cycle), or to no anchor.
 * Returns 0, -EINVAL (one of the above, recorded in @d), -errno or -EFBIG
 * (a file that cannot be read, also recorded) or -ENOMEM.
 */
int __must_check ydocs_load(struct ydocs *out, const char *path, const char *buf, size_t len,
			    const struct ydoc_limits *lim, struct diags *d);

/* ydocs_free - release every document. */
void ydocs_free(struct ydocs *docs);

/* ydoc_root - the root node, or NULL for an empty document. */
yaml_node_t *ydoc_root(struct ydoc *y);

/* ydoc_get - the value of @key in mapping @map, or NULL (also when @map is not a mapping). */
yaml_node_t *ydoc_get(struct ydoc *y, const yaml_node_t *map, const char *key);

/* ydoc_item - the @i-th item of sequence @seq (caller checks ydoc_len). */
yaml_node_t *ydoc_item(struct ydoc *y, const yaml_node_t *seq, size_t i);

/* ydoc_len - number of items of a sequence or pairs of a mapping; 0 otherwise. */
size_t ydoc_len(const yaml_node_t *n);

/* ydoc_pair - the @i-th key and value of mapping @map. */
void ydoc_pair(struct ydoc *y, const yaml_node_t *map, size_t i, yaml_node_t **key,
	       yaml_node_t **value);

/* ydoc_str - the text of a scalar node, or NULL for other node kinds. */
const char *ydoc_str(const yaml_node_t *n);

/* ydoc_is_null - an absent value, "~", "null" or an empty plain scalar. */
bool ydoc_is_null(const yaml_node_t *n);

/* ydoc_is_quoted - a scalar written in quotes (a string, never a number). */
bool ydoc_is_quoted(const yaml_node_t *n);

/* ydoc_line / ydoc_col - 1-based position of a node's first character. */
static inline int
ydoc_line(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 0;
}

static inline int
ydoc_col(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.column + 1 : 0;
}

#endif /* NFQWALL_YDOC_H */
