/*
 * ycompose.c - YAML and JSON streams into libyaml documents, within bounds
 * (ydocs_load, see ydoc.h). Control thread only.
 *
 * libyaml's own loader (yaml_parser_load) follows aliases blindly, accepts
 * any depth, keeps every duplicate key and lets NUL bytes into scalars.
 * This composer builds the same documents from libyaml's event parser and
 * checks each event as it comes, so a bound is enforced before the work
 * it bounds is done:
 *   - depth: a collection deeper than the bound stops the load when it
 *     opens. libyaml's scanner costs time proportional to the flow depth
 *     for every token, so an unbounded depth is quadratic time; stopping
 *     at the bound keeps it linear (the scanner looks at most about 1 KiB
 *     ahead of the events);
 *   - nodes: every node counts one, and an alias counts as many as the
 *     node it names stood for (aliases inside it included), so alias
 *     fan-out ("billion laughs", here through List items) is counted as
 *     the work it would cause before any of that work is done. The idea
 *     is go-yaml's fix for CVE-2019-11254, which kubectl uses;
 *   - cycles: an alias to a collection that is still open (it contains
 *     the alias) is an error; the loader would build a node that contains
 *     itself, which every recursive walk follows forever;
 *   - duplicate keys and merge keys, which readers resolve differently;
 *   - NUL bytes in scalars, which C strings cut.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "readfile.h"
#include "strmap.h"
#include "ydoc.h"

const struct ydoc_limits ydoc_limits_default = {
	.max_bytes = YDOC_MAX_BYTES,
	.max_nodes = YDOC_MAX_NODES,
	.max_depth = YDOC_MAX_DEPTH,
};

/* An open sequence or mapping. */
struct yframe {
	int id;			/* its node */
	int key;		/* mapping: a key waiting for its value, 0 = none */
	size_t anchor;		/* index in ycomp.anch + 1, 0 = not anchored */
	size_t nodes0;		/* ycomp.nodes before it */
};

struct yanchor {
	int id;
	bool done;		/* its node is complete: an alias to it is no cycle */
	size_t nodes;		/* the nodes it stands for, its aliases expanded */
};

struct ycomp {
	yaml_parser_t parser;
	const struct ydoc_limits *lim;
	struct diags *d;
	const char *path;
	yaml_document_t doc;	/* the document being built */
	bool in_doc;
	struct yframe *stack;
	size_t depth, capstack;
	struct strmap names;	/* anchor name -> index in anch (this document's) */
	struct yanchor *anch;
	size_t nanch, capanch;
	size_t nodes;		/* nodes of the stream so far, aliases expanded */
	size_t *keys;		/* scratch: pair indices of one mapping */
	size_t capkeys;
	const char *buf;	/* the text being parsed, for the messages */
	size_t len;
};

static __printf(3, 4) int
yc_fail(struct ycomp *yc, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(yc->d, DIAG_ERROR, yc->path, (int)m->line + 1, (int)m->column + 1, NULL, NULL,
		  fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int
yc_count(struct ycomp *yc, size_t n, const yaml_mark_t *m)
{
	if (n > yc->lim->max_nodes || yc->nodes > yc->lim->max_nodes - n)
		return yc_fail(yc, m, "more than %zu YAML nodes, counting an alias as the nodes it "
			       "names: the limit (--max-nodes)", yc->lim->max_nodes);
	yc->nodes += n;
	return 0;
}

static yaml_node_t *
yc_node(struct ycomp *yc, int id)
{
	return yaml_document_get_node(&yc->doc, id);
}

/* Is the next node of the innermost open collection a mapping key? */
static bool
yc_wants_key(const struct ycomp *yc)
{
	const struct yframe *f;

	if (yc->depth == 0)
		return false;
	f = &yc->stack[yc->depth - 1];
	return f->key == 0 && yaml_document_get_node((yaml_document_t *)&yc->doc, f->id)->type ==
				      YAML_MAPPING_NODE;
}

/* Hang node @id into the innermost open collection (nothing for a root). */
static int
yc_attach(struct ycomp *yc, int id, const yaml_mark_t *m)
{
	struct yframe *f;
	yaml_node_t *key;

	if (yc->depth == 0)
		return 0;
	f = &yc->stack[yc->depth - 1];
	if (yc_node(yc, f->id)->type == YAML_SEQUENCE_NODE)
		return yaml_document_append_sequence_item(&yc->doc, f->id, id) ? 0 : -ENOMEM;
	if (f->key != 0) {
		int k = f->key;

		f->key = 0;
		return yaml_document_append_mapping_pair(&yc->doc, f->id, k, id) ? 0 : -ENOMEM;
	}
	key = yc_node(yc, id);
	if (key->type == YAML_SCALAR_NODE && key->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    strcmp((const char *)key->data.scalar.value, "<<") == 0)
		return yc_fail(yc, m, "YAML merge keys (<<) are not supported (kubectl would merge "
			       "the fields, nfqwall would not): write the fields out");
	f->key = id;
	return 0;
}

/* Remember anchor @name for node @id: 0, or -ENOMEM. */
static int
yc_anchor(struct ycomp *yc, const yaml_char_t *name, int id, bool done, size_t *idx)
{
	if (ARRAY_PUSH_ROOM(yc->anch, yc->capanch, yc->nanch) < 0)
		return -ENOMEM;
	if (strmap_put(&yc->names, (const char *)name, yc->nanch) < 0)
		return -ENOMEM;
	yc->anch[yc->nanch] = (struct yanchor){ .id = id, .done = done, .nodes = 1 };
	*idx = yc->nanch++;
	return 0;
}

static int
yc_scalar(struct ycomp *yc, const yaml_event_t *ev)
{
	const yaml_char_t *v = ev->data.scalar.value;
	size_t len = ev->data.scalar.length, idx;
	yaml_node_t *n;
	int id, err;

	err = yc_count(yc, 1, &ev->start_mark);
	if (err < 0)
		return err;
	if (memchr(v, '\0', len) != NULL)
		return yc_fail(yc, &ev->start_mark, "a NUL byte in a %s: C strings would cut it "
			       "there, so nfqwall would read another text than other readers "
			       "(remove the escape that writes it)",
			       yc_wants_key(yc) ? "key" : "value");
	if (len > INT_MAX)
		return yc_fail(yc, &ev->start_mark, "a scalar longer than %d bytes", INT_MAX);
	id = yaml_document_add_scalar(&yc->doc, NULL, v, (int)len, ev->data.scalar.style);
	if (id == 0)
		return -ENOMEM;
	n = yc_node(yc, id);
	n->start_mark = ev->start_mark;
	n->end_mark = ev->end_mark;
	if (ev->data.scalar.anchor != NULL) {
		err = yc_anchor(yc, ev->data.scalar.anchor, id, true, &idx);
		if (err < 0)
			return err;
	}
	return yc_attach(yc, id, &ev->start_mark);
}

static int
yc_open(struct ycomp *yc, const yaml_event_t *ev)
{
	bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
	const yaml_char_t *anchor = seq ? ev->data.sequence_start.anchor :
					  ev->data.mapping_start.anchor;
	struct yframe f = { .nodes0 = yc->nodes };
	size_t idx;
	int err;

	if (yc->depth >= yc->lim->max_depth)
		return yc_fail(yc, &ev->start_mark, "nested deeper than %u levels: the limit "
			       "(--max-depth)", yc->lim->max_depth);
	err = yc_count(yc, 1, &ev->start_mark);
	if (err < 0)
		return err;
	if (ARRAY_PUSH_ROOM(yc->stack, yc->capstack, yc->depth) < 0)
		return -ENOMEM;
	f.id = seq ? yaml_document_add_sequence(&yc->doc, NULL, ev->data.sequence_start.style) :
		     yaml_document_add_mapping(&yc->doc, NULL, ev->data.mapping_start.style);
	if (f.id == 0)
		return -ENOMEM;
	yc_node(yc, f.id)->start_mark = ev->start_mark;
	if (anchor != NULL) {
		err = yc_anchor(yc, anchor, f.id, false, &idx);
		if (err < 0)
			return err;
		f.anchor = idx + 1;
	}
	err = yc_attach(yc, f.id, &ev->start_mark);
	if (err < 0)
		return err;
	yc->stack[yc->depth++] = f;
	return 0;
}

struct yc_keys {
	yaml_document_t *doc;
	const yaml_node_pair_t *pairs;
};

static const yaml_node_t *
yc_pair_key(const struct yc_keys *k, size_t i)
{
	return yaml_document_get_node(k->doc, k->pairs[i].key);
}

static int
yc_key_cmp(const void *a, const void *b, void *arg)
{
	const struct yc_keys *k = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const yaml_node_t *kx = yc_pair_key(k, x), *ky = yc_pair_key(k, y);
	size_t lx = kx->data.scalar.length, ly = ky->data.scalar.length;
	int c = memcmp(kx->data.scalar.value, ky->data.scalar.value, lx < ly ? lx : ly);

	if (c == 0)
		c = (lx > ly) - (lx < ly);
	return c != 0 ? c : (x > y) - (x < y);
}

/* No scalar key twice in mapping @map: the later one is the error. */
static int
yc_check_keys(struct ycomp *yc, const yaml_node_t *map)
{
	struct yc_keys k = { &yc->doc, map->data.mapping.pairs.start };
	size_t np = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	size_t n = 0, dup = 0, first = 0;
	const yaml_node_t *key;

	if (np < 2)
		return 0;
	if (array_reserve(&yc->keys, &yc->capkeys, np, sizeof(*yc->keys)) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < np; i++)
		if (yc_pair_key(&k, i)->type == YAML_SCALAR_NODE)
			yc->keys[n++] = i;
	qsort_r(yc->keys, n, sizeof(*yc->keys), yc_key_cmp, &k);
	for (size_t i = 1; i < n; i++) {
		const yaml_node_t *a = yc_pair_key(&k, yc->keys[i - 1]);
		const yaml_node_t *b = yc_pair_key(&k, yc->keys[i]);

		if (a->data.scalar.length == b->data.scalar.length &&
		    memcmp(a->data.scalar.value, b->data.scalar.value, a->data.scalar.length) == 0 &&
		    (dup == 0 || yc->keys[i] < dup)) {
			dup = yc->keys[i];
			first = yc->keys[i - 1];
		}
	}
	if (dup == 0)
		return 0;
	key = yc_pair_key(&k, dup);
	return yc_fail(yc, &key->start_mark, "the key \"%.80s\" appears twice in this mapping "
		       "(first at line %d): other readers keep the last one or refuse it; "
		       "remove one", (const char *)key->data.scalar.value,
		       (int)yc_pair_key(&k, first)->start_mark.line + 1);
}

static int
yc_close(struct ycomp *yc, const yaml_event_t *ev)
{
	struct yframe f = yc->stack[--yc->depth];
	yaml_node_t *n = yc_node(yc, f.id);

	n->end_mark = ev->end_mark;
	if (f.anchor != 0) {
		yc->anch[f.anchor - 1].done = true;
		yc->anch[f.anchor - 1].nodes = yc->nodes - f.nodes0;
	}
	return n->type == YAML_MAPPING_NODE ? yc_check_keys(yc, n) : 0;
}

static int
yc_alias(struct ycomp *yc, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const struct yanchor *a;
	size_t i;
	int err;

	if (!strmap_get(&yc->names, name, &i))
		return yc_fail(yc, &ev->start_mark, "the alias *%.80s names no anchor before it",
			       name);
	a = &yc->anch[i];
	if (!a->done)
		return yc_fail(yc, &ev->start_mark, "the alias *%.80s is inside the node it names "
			       "(a cycle, which would never end)", name);
	err = yc_count(yc, a->nodes, &ev->start_mark);
	return err < 0 ? err : yc_attach(yc, a->id, &ev->start_mark);
}

static int
yc_doc_start(struct ycomp *yc, const yaml_event_t *ev)
{
	if (!yaml_document_initialize(&yc->doc, NULL, NULL, NULL,
				      ev->data.document_start.implicit, 1))
		return -ENOMEM;
	yc->in_doc = true;
	yc->doc.start_mark = ev->start_mark;
	/* anchors belong to their document */
	strmap_free(&yc->names);
	yc->nanch = 0;
	return 0;
}

static int
yc_doc_end(struct ycomp *yc, const yaml_event_t *ev, struct ydocs *docs)
{
	struct ydoc *nv = realloc(docs->v, (docs->n + 1) * sizeof(*nv));

	if (nv == NULL)
		return -ENOMEM;
	docs->v = nv;
	yc->doc.end_mark = ev->end_mark;
	yc->doc.end_implicit = ev->data.document_end.implicit;
	docs->v[docs->n].doc = yc->doc;
	docs->v[docs->n].file = docs->file;
	docs->n++;
	yc->in_doc = false;
	return 0;
}

/* One event: 0 to go on, 1 at the end of the stream, or an error. */
static int
yc_event(struct ycomp *yc, const yaml_event_t *ev, struct ydocs *docs)
{
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		return yc_doc_start(yc, ev);
	case YAML_DOCUMENT_END_EVENT:
		return yc_doc_end(yc, ev, docs);
	case YAML_ALIAS_EVENT:
		return yc_alias(yc, ev);
	case YAML_SCALAR_EVENT:
		return yc_scalar(yc, ev);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return yc_open(yc, ev);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return yc_close(yc, ev);
	default:
		return 0;	/* the stream's start, and "no event" */
	}
}

/*
 * A tab in the indentation of the line where libyaml stopped (or of the
 * line before, where it stops at the next token): YAML forbids tabs there,
 * and libyaml's own words ("found character that cannot start any token")
 * do not say so. True when said.
 */
static bool
yc_tab_error(struct ycomp *yc, const yaml_mark_t *m)
{
	size_t at = m->index < yc->len ? m->index : yc->len;
	size_t start, line = m->line + 1;

	for (int back = 0; back < 2 && yc->buf != NULL; back++) {
		start = at;
		while (start > 0 && yc->buf[start - 1] != '\n')
			start--;
		for (size_t i = start; i < yc->len && (yc->buf[i] == ' ' || yc->buf[i] == '\t');
		     i++) {
			yaml_mark_t tab = { .index = i, .line = line - 1, .column = i - start };

			if (yc->buf[i] != '\t')
				continue;
			yc_fail(yc, &tab, "a tab in the indentation of line %zu: YAML forbids tabs "
				"there; indent with spaces", line);
			return true;
		}
		if (start == 0 || line < 2)
			break;
		at = start - 1;		/* the line before */
		line--;
	}
	return false;
}

static int
yc_parse_error(struct ycomp *yc)
{
	const yaml_parser_t *p = &yc->parser;
	const yaml_mark_t *m = &p->problem_mark;

	if (p->error == YAML_MEMORY_ERROR || p->error == YAML_NO_ERROR)
		return -ENOMEM;
	if (yc_tab_error(yc, m))
		return -EINVAL;
	return yc_fail(yc, m, "YAML %s%s%s", p->problem ? p->problem : "syntax error",
		       p->context ? " " : "", p->context ? p->context : "");
}

static int
yc_run(struct ycomp *yc, struct ydocs *docs)
{
	for (;;) {
		yaml_event_t ev;
		int ret;

		if (!yaml_parser_parse(&yc->parser, &ev))
			return yc_parse_error(yc);
		ret = yc_event(yc, &ev, docs);
		yaml_event_delete(&ev);
		if (ret != 0)
			return ret > 0 ? 0 : ret;
	}
}

int
ydocs_read_file(const char *path, const struct ydoc_limits *lim, char **owned, size_t *len,
		struct diags *d)
{
	mode_t mode;
	int err = readfile_regular(path, lim->max_bytes, owned, len, &mode);

	if (err == -EINVAL)
		diag_add(d, DIAG_ERROR, path, 0, 0, NULL, NULL, "not read: %s, not a regular file",
			 readfile_type_name(mode));
	else if (err == -EFBIG)
		diag_add(d, DIAG_ERROR, path, 0, 0, NULL, NULL, "not read: more than %zu bytes: "
			 "the limit (--max-file-bytes)", lim->max_bytes);
	else if (err < 0 && err != -ENOMEM)
		diag_add(d, DIAG_ERROR, path, 0, 0, NULL, NULL, "cannot read: %s", strerror(-err));
	return err;
}

int
ydocs_load(struct ydocs *docs, const char *path, const char *buf, size_t len,
	   const struct ydoc_limits *lim, struct diags *d)
{
	struct ycomp yc = { .lim = lim ? lim : &ydoc_limits_default, .d = d, .path = path };
	char *owned = NULL;
	int err;

	memset(docs, 0, sizeof(*docs));
	docs->file = strdup(path);
	if (docs->file == NULL)
		return -ENOMEM;
	if (buf == NULL) {
		err = ydocs_read_file(path, yc.lim, &owned, &len, d);
		if (err < 0)
			return err;
		buf = owned;
	} else if (len > yc.lim->max_bytes) {
		diag_add(d, DIAG_ERROR, path, 0, 0, NULL, NULL, "not read: %zu bytes, more than "
			 "%zu: the limit (--max-file-bytes)", len, yc.lim->max_bytes);
		return -EFBIG;
	}
	if (!yaml_parser_initialize(&yc.parser)) {
		free(owned);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&yc.parser, (const unsigned char *)buf, len);
	yc.buf = buf;
	yc.len = len;
	err = yc_run(&yc, docs);
	if (yc.in_doc)
		yaml_document_delete(&yc.doc);
	yaml_parser_delete(&yc.parser);
	strmap_free(&yc.names);
	free(yc.stack);
	free(yc.anch);
	free(yc.keys);
	free(owned);
	return err;
}
