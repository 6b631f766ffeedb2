/*
 * ydoc.c - loading YAML/JSON streams into libyaml documents (control thread).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ydoc.h"

static int
ydocs_push(struct ydocs *docs, yaml_document_t *doc)
{
	struct ydoc *nv = realloc(docs->v, (docs->n + 1) * sizeof(*nv));

	if (nv == NULL)
		return -ENOMEM;
	docs->v = nv;
	docs->v[docs->n].doc = *doc;
	docs->v[docs->n].file = docs->file;
	docs->n++;
	return 0;
}

static const char *
parser_problem(const yaml_parser_t *p)
{
	return p->problem ? p->problem : "syntax error";
}

int
ydocs_load(struct ydocs *docs, const char *path, const char *buf, size_t len, struct diags *d)
{
	yaml_parser_t parser;
	FILE *f = NULL;
	int err = 0;

	memset(docs, 0, sizeof(*docs));
	docs->file = strdup(path);
	if (docs->file == NULL)
		return -ENOMEM;
	if (!yaml_parser_initialize(&parser)) {
		free(docs->file);
		docs->file = NULL;
		return -ENOMEM;
	}
	if (buf != NULL) {
		yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	} else {
		f = fopen(path, "rb");
		if (f == NULL) {
			err = -errno;
			diag_add(d, DIAG_ERROR, path, 0, 0, NULL, NULL, "cannot read: %s",
				 strerror(errno));
			goto out_parser;
		}
		yaml_parser_set_input_file(&parser, f);
	}
	for (;;) {
		yaml_document_t doc;

		if (!yaml_parser_load(&parser, &doc)) {
			const yaml_mark_t *m = &parser.problem_mark;

			/*
			 * libyaml sets an error for every problem in the
			 * text, but some of its allocation failures (the
			 * loader's tag copies) fail with no error set.
			 */
			if (parser.error == YAML_MEMORY_ERROR || parser.error == YAML_NO_ERROR) {
				err = -ENOMEM;
			} else {
				diag_add(d, DIAG_ERROR, path, (int)m->line + 1, (int)m->column + 1,
					 NULL, NULL, "YAML %s%s%s", parser_problem(&parser),
					 parser.context ? " " : "",
					 parser.context ? parser.context : "");
				err = -EINVAL;
			}
			break;
		}
		if (yaml_document_get_root_node(&doc) == NULL) {
			yaml_document_delete(&doc);	/* end of stream */
			break;
		}
		if (ydocs_push(docs, &doc) < 0) {
			yaml_document_delete(&doc);
			err = -ENOMEM;
			break;
		}
	}
	if (f != NULL)
		fclose(f);
out_parser:
	yaml_parser_delete(&parser);
	return err;
}

void
ydocs_free(struct ydocs *docs)
{
	for (size_t i = 0; i < docs->n; i++)
		yaml_document_delete(&docs->v[i].doc);
	free(docs->v);
	free(docs->file);
	memset(docs, 0, sizeof(*docs));
}

yaml_node_t *
ydoc_root(struct ydoc *y)
{
	return yaml_document_get_root_node(&y->doc);
}

yaml_node_t *
ydoc_get(struct ydoc *y, const yaml_node_t *map, const char *key)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&y->doc, p->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(&y->doc, p->value);
	}
	return NULL;
}

yaml_node_t *
ydoc_item(struct ydoc *y, const yaml_node_t *seq, size_t i)
{
	return yaml_document_get_node(&y->doc, seq->data.sequence.items.start[i]);
}

size_t
ydoc_len(const yaml_node_t *n)
{
	if (n == NULL)
		return 0;
	if (n->type == YAML_SEQUENCE_NODE)
		return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (n->type == YAML_MAPPING_NODE)
		return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	return 0;
}

void
ydoc_pair(struct ydoc *y, const yaml_node_t *map, size_t i, yaml_node_t **key,
	  yaml_node_t **value)
{
	yaml_node_pair_t *p = &map->data.mapping.pairs.start[i];

	*key = yaml_document_get_node(&y->doc, p->key);
	*value = yaml_document_get_node(&y->doc, p->value);
}

const char *
ydoc_str(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

bool
ydoc_is_quoted(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE &&
	       (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

bool
ydoc_is_null(const yaml_node_t *n)
{
	const char *s = ydoc_str(n);

	if (n == NULL)
		return true;
	if (s == NULL || ydoc_is_quoted(n))
		return false;
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	       strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}
