/*
 * meta.c - the metadata every kind shares: name, namespace and labels, in
 * both API forms. The stored v1 form keeps the v3 metadata as JSON in the
 * projectcalico.org/metadata annotation, read here too. Control thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

#define METADATA_ANNOTATION "projectcalico.org/metadata"

static void
decode_labels(struct dctx *c, const yaml_node_t *map, struct labels *out)
{
	if (map == NULL)
		return;
	if (!dmap(c, map, "labels"))
		return;
	for (size_t i = 0; i < ydoc_len(map); i++) {
		yaml_node_t *k, *v;
		const char *ks, *vs;

		ydoc_pair(c->y, map, i, &k, &v);
		ks = ydoc_str(k);
		vs = ydoc_is_null(v) ? "" : ydoc_str(v);
		if (ks == NULL || vs == NULL) {
			derr(c, v, "label keys and values must be strings");
			continue;
		}
		if (labels_set(out, ks, vs) < 0) {
			dnomem(c);
			return;
		}
	}
}

/* The name and labels of the annotation's object @root (c->y is its document). */
static void
decode_v1_meta_json(struct dctx *c, const yaml_node_t *root, struct meta *m)
{
	yaml_node_t *name = dget(c, root, "name"), *labels = dget(c, root, "labels");

	if (name != NULL && ydoc_str(name) != NULL) {
		char *copy = dstrdup(c, ydoc_str(name));

		if (copy == NULL)
			return;
		free(m->name);
		m->name = copy;
	}
	if (labels != NULL && labels->type == YAML_MAPPING_NODE) {
		struct labels ann_labels;

		labels_init(&ann_labels);
		decode_labels(c, labels, &ann_labels);
		if (labels_merge(&m->labels, &ann_labels) < 0)
			dnomem(c);
		labels_free(&ann_labels);
	}
}

/*
 * The v1 stored form keeps the v3 metadata as JSON in an annotation: read the
 * name and labels from there (the annotation's labels win over the CR's).
 */
static void
decode_v1_annotation(struct dctx *c, const yaml_node_t *ann, struct meta *m)
{
	const char *json = dstr(c, ann, "the projectcalico.org/metadata annotation");
	struct ydoc *saved = c->y;
	struct diags inner;
	struct ydocs docs;
	yaml_node_t *root;
	int err;

	if (json == NULL)
		return;
	diags_init(&inner);
	err = ydocs_load(&docs, c->file, json, strlen(json), &inner);
	if (err == -ENOMEM) {
		dnomem(c);
		goto out;
	}
	if (err < 0 || docs.n != 1) {
		derr(c, ann, "the %s annotation is not valid JSON", METADATA_ANNOTATION);
		goto out;
	}
	c->y = &docs.v[0];
	root = ydoc_root(c->y);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		c->y = saved;
		derr(c, ann, "the %s annotation must hold a JSON object", METADATA_ANNOTATION);
		goto out;
	}
	decode_v1_meta_json(c, root, m);
	c->y = saved;
out:
	ydocs_free(&docs);
	diags_free(&inner);
}

bool
decode_meta(struct dctx *c, const yaml_node_t *obj, const char *kind, struct meta *m,
	    bool namespaced)
{
	yaml_node_t *meta = dget(c, obj, "metadata"), *name, *ns, *ann;
	static const char *const known[] = {
		"name", "namespace", "labels", "annotations", "resourceVersion", "uid",
		"creationTimestamp", "generation", "managedFields", "selfLink", "ownerReferences",
		"finalizers", "deletionTimestamp", "deletionGracePeriodSeconds", "generateName",
		NULL,
	};
	size_t old;

	memset(m, 0, sizeof(*m));
	labels_init(&m->labels);
	if (meta == NULL || meta->type != YAML_MAPPING_NODE) {
		snprintf(c->object, sizeof(c->object), "%s/?", kind);
		derr(c, meta ? meta : obj, "metadata must be a mapping with a name");
		return false;
	}
	name = dget(c, meta, "name");
	snprintf(c->object, sizeof(c->object), "%s/%s", kind,
		 ydoc_str(name) ? ydoc_str(name) : "?");
	old = dpath_push(c, "metadata");
	dfields(c, meta, known);
	if (name == NULL || ydoc_str(name) == NULL || *ydoc_str(name) == '\0') {
		dpath_push(c, ".name");
		derr(c, name ? name : meta, "a name is required");
		dpath_pop(c, old);
		return false;
	}
	m->name = dstrdup(c, ydoc_str(name));
	ns = dget(c, meta, "namespace");
	if (ns != NULL && ydoc_str(ns) != NULL)
		m->ns = dstrdup(c, ydoc_str(ns));
	dpath_push(c, ".labels");
	decode_labels(c, dget(c, meta, "labels"), &m->labels);
	dpath_pop(c, old + 8);

	ann = dget(c, dget(c, meta, "annotations"), METADATA_ANNOTATION);
	if (c->form == FORM_V1 && ann != NULL) {
		size_t o2 = dpath_push(c, ".annotations[%s]", METADATA_ANNOTATION);

		decode_v1_annotation(c, ann, m);
		dpath_pop(c, o2);
	}
	if (namespaced && m->ns == NULL && c->err == 0)
		m->ns = dstrdup(c, "default");
	dpath_pop(c, 0);
	return !dfailed(c);
}

void
meta_free(struct meta *m)
{
	free(m->name);
	free(m->ns);
	labels_free(&m->labels);
}
