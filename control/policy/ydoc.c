/*
 * ydoc.c - reading libyaml documents: nodes, keys, items, scalars and
 * their styles (control thread). Loading them is ycompose.c.
 */
#include <stdlib.h>
#include <string.h>

#include "ydoc.h"

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
