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

/* A label's key and value in Kubernetes' formats, as Calico's validator
 * wants them; false with an error at @kn or @vn otherwise. */
static bool
check_label(struct dctx *c, const yaml_node_t *kn, const yaml_node_t *vn, const char *k,
	    const char *v)
{
	const char *why = k8s_qualified_name_error(k, false);

	if (why != NULL) {
		derr(c, kn, "the label key \"%.80s\" is not valid: %s", k, why);
		return false;
	}
	why = k8s_label_value_error(v);
	if (why != NULL) {
		derr(c, vn, "the value of label \"%.80s\" is not valid: %s", k, why);
		return false;
	}
	return true;
}

void
decode_annotations(struct dctx *c, const yaml_node_t *map)
{
	size_t total = 0;

	if (map == NULL || !dmap(c, map, "annotations"))
		return;
	for (size_t i = 0; i < ydoc_len(map); i++) {
		yaml_node_t *k, *v;
		const char *ks, *vs, *why;

		ydoc_pair(c->y, map, i, &k, &v);
		ks = ydoc_str(k);
		vs = ydoc_is_null(v) ? "" : ydoc_str(v);
		if (ks == NULL || vs == NULL) {
			derr(c, v, "annotation keys and values must be strings");
			continue;
		}
		why = k8s_qualified_name_error(ks, true);
		if (why != NULL)
			derr(c, k, "the annotation key \"%.80s\" is not valid: %s", ks, why);
		total += k->data.scalar.length + (ydoc_is_null(v) ? 0 : v->data.scalar.length);
	}
	if (total > POLSET_MAX_ANNOTATION_BYTES)
		derr(c, map, "the annotations are %zu bytes, more than the %u Kubernetes allows "
		     "(keys and values together)", total, POLSET_MAX_ANNOTATION_BYTES);
}

/* Object names: GlobalNetworkPolicy, its staged form and Tier check their
 * own stricter forms (policy.c, tier.c); every other kind is a DNS subdomain. */
static void
check_object_name(struct dctx *c, const yaml_node_t *n, const char *kind, const char *name)
{
	if (strcmp(kind, "GlobalNetworkPolicy") == 0 ||
	    strcmp(kind, "StagedGlobalNetworkPolicy") == 0 || strcmp(kind, "Tier") == 0)
		return;
	if (!k8s_dns_subdomain(name))
		derr(c, n, "\"%.80s\" is not a valid %s name: at most 253 lowercase letters, "
		     "digits, '-' and '.', in labels that start and end with a letter or digit",
		     name, kind);
}

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
		if (!check_label(c, k, v, ks, vs))
			continue;
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
		if (!check_label(c, ann, ann, jsonv_text(j, k), v->type == JSONV_NULL ? "" :
				 jsonv_text(j, v)))
			return;
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
	dpath_push(c, ".name");
	check_object_name(c, name, kind, ydoc_str(name));
	dpath_pop(c, old + 8);
	ns = dget(c, meta, "namespace");
	if (ns != NULL && ydoc_str(ns) != NULL)
		m->ns = dstrdup(c, ydoc_str(ns));
	dpath_push(c, ".labels");
	decode_labels(c, dget(c, meta, "labels"), &m->labels);
	dpath_pop(c, old + 8);

	dpath_push(c, ".annotations");
	decode_annotations(c, dget(c, meta, "annotations"));
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
