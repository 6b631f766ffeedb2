/*
 * meta.c - the metadata every kind shares: name, namespace and labels, in
 * both API forms. The stored v1 form keeps the v3 metadata as JSON in the
 * projectcalico.org/metadata annotation, read here too. Control thread only.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "jsonv.h"

#define METADATA_ANNOTATION "projectcalico.org/metadata"

/* The labels mapping @map into the empty @out (O(n log n) for n labels). */
void
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
		if (labels_append(out, ks, vs) < 0) {
			dnomem(c);
			return;
		}
	}
	if (labels_finish(out) < 0)
		dnomem(c);
}

/* The labels of the annotation's object: strings (null reads as ""), as
 * Calico's map[string]string would take them; @out is empty. */
static void
decode_v1_json_labels(struct dctx *c, const yaml_node_t *ann, const struct jsonv *j,
		      const struct jsonv_node *labels, struct labels *out)
{
	const struct jsonv_node *k = labels + 1;

	for (uint32_t i = 0; i < labels->n; i++, k = jsonv_next(k + 1)) {
		const struct jsonv_node *v = k + 1;

		if (v->type != JSONV_STRING && v->type != JSONV_NULL) {
			derr(c, ann, "the %s annotation: the label \"%.80s\" must be a string",
			     METADATA_ANNOTATION, jsonv_text(j, k));
			return;
		}
		if (labels_append(out, jsonv_text(j, k), v->type == JSONV_NULL ? "" :
				  jsonv_text(j, v)) < 0) {
			dnomem(c);
			return;
		}
	}
	if (labels_finish(out) < 0)
		dnomem(c);
}

/* The name and labels of the annotation's object @root. */
static void
decode_v1_meta_json(struct dctx *c, const yaml_node_t *ann, const struct jsonv *j,
		    const struct jsonv_node *root, struct meta *m)
{
	const struct jsonv_node *name = jsonv_get(j, root, "name");
	const struct jsonv_node *labels = jsonv_get(j, root, "labels");

	if (name != NULL && name->type != JSONV_NULL) {
		char *copy;

		if (name->type != JSONV_STRING) {
			derr(c, ann, "the %s annotation: name must be a string", METADATA_ANNOTATION);
			return;
		}
		copy = dstrdup(c, jsonv_text(j, name));
		if (copy == NULL)
			return;
		free(m->name);
		m->name = copy;
	}
	if (labels != NULL && labels->type != JSONV_NULL) {
		struct labels ann_labels;

		if (labels->type != JSONV_OBJECT) {
			derr(c, ann, "the %s annotation: labels must be an object",
			     METADATA_ANNOTATION);
			return;
		}
		labels_init(&ann_labels);
		decode_v1_json_labels(c, ann, j, labels, &ann_labels);
		if (!dfailed(c) && labels_merge(&m->labels, &ann_labels) < 0)
			dnomem(c);
		labels_free(&ann_labels);
	}
}

/*
 * The v1 stored form keeps the v3 metadata as JSON in an annotation (Calico
 * writes it with Go's encoding/json): read the name and labels from there
 * (the annotation's labels win over the CR's). It is read as JSON, strictly
 * and within bounds: a JSON reader reads it as Calico does, where reading
 * it as YAML would accept what Calico refuses, and would cost time
 * quadratic in its nesting.
 */
static void
decode_v1_annotation(struct dctx *c, const yaml_node_t *ann, struct meta *m)
{
	const char *json = dstr(c, ann, "the projectcalico.org/metadata annotation");
	struct jsonv_error je;
	struct jsonv j;
	size_t len;
	int err;

	if (json == NULL)
		return;
	len = ann->data.scalar.length;
	if (len > POLSET_MAX_ANNOTATION_BYTES) {
		derr(c, ann, "the %s annotation is %zu bytes, more than the %u Kubernetes allows "
		     "for all the annotations of an object", METADATA_ANNOTATION, len,
		     POLSET_MAX_ANNOTATION_BYTES);
		return;
	}
	err = jsonv_parse(&j, json, len, c->ps->limits.max_depth, &je);
	if (err == -ENOMEM) {
		dnomem(c);
	} else if (err < 0) {
		derr(c, ann, "the %s annotation is not valid JSON: %s (at byte %zu of it)",
		     METADATA_ANNOTATION, je.msg, je.at + 1);
	} else if (jsonv_root(&j)->type != JSONV_OBJECT) {
		derr(c, ann, "the %s annotation must hold a JSON object", METADATA_ANNOTATION);
	} else {
		decode_v1_meta_json(c, ann, &j, jsonv_root(&j), m);
	}
	jsonv_free(&j);
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
