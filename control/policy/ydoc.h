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
 * ydocs_load - parse every document of @path (or of @buf/@len when @buf is
 * not NULL; @path is then only the name used in diagnostics). A syntax error
 * is recorded in @d with its position; documents before it are kept.
 * Returns 0, -EINVAL (syntax error), -errno (unreadable file, also recorded)
 * or -ENOMEM.
 */
int __must_check ydocs_load(struct ydocs *out, const char *path, const char *buf, size_t len,
			    struct diags *d);

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
