/*
 * cluster.c - the other Nodes' auto host endpoints and the pods, with the
 * labels Calico gives them (cluster.h). Control thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cluster.h"

void
cluster_init(struct cluster *cl)
{
	memset(cl, 0, sizeof(*cl));
}

void
hep_release(struct hep *h)
{
	free(h->name);
	free(h->node);
	free(h->iface);
	free(h->ips);
	for (size_t i = 0; i < h->nprofiles; i++)
		free(h->profiles[i]);
	free(h->profiles);
	for (size_t i = 0; i < h->nports; i++)
		free(h->ports[i].name);
	free(h->ports);
	labels_free(&h->labels);
}

void
wep_release(struct wep *w)
{
	free(w->key);
	labels_free(&w->labels);
	free(w->ips);
	for (size_t i = 0; i < w->nports; i++)
		free(w->ports[i].name);
	free(w->ports);
}

void
cluster_free(struct cluster *cl)
{
	for (size_t i = 0; i < cl->nnodes; i++) {
		struct cl_node *n = cl->nodes[i];

		for (size_t j = 0; j < n->nheps; j++) {
			hep_release(n->heps[j]);
			free(n->heps[j]);
		}
		free(n->heps);
		free(n->name);
		free(n);
	}
	free(cl->nodes);
	free(cl->heps);
	for (size_t i = 0; i < cl->nweps; i++)
		wep_release(&cl->weps[i]);
	free(cl->weps);
	for (size_t i = 0; i < cl->nparents; i++) {
		struct wep_parent *p = cl->parents[i];

		free(p->key);
		labels_free(&p->implicit);
		labels_free(&p->labels);
		free(p);
	}
	free(cl->parents);
	strmap_free(&cl->parent_index);
	strmap_free(&cl->node_index);
	strmap_free(&cl->wep_index);
	free(cl->born);
	cluster_retired_free(cl);
	free(cl->retired_heps);
	free(cl->retired);
	cluster_init(cl);
}

void
cluster_retired_free(struct cluster *cl)
{
	for (size_t i = 0; i < cl->nretired_heps; i++) {
		hep_release(cl->retired_heps[i]);
		free(cl->retired_heps[i]);
	}
	cl->nretired_heps = 0;
	for (size_t i = 0; i < cl->nretired; i++)
		wep_release(&cl->retired[i]);
	cl->nretired = 0;
}

void
cluster_parent_reset(struct wep_parent *p)
{
	const struct labels *under = p->labels.under;

	labels_free(&p->labels);	/* clears the links too: the one it had comes back */
	p->labels.under = under;
	p->listed = false;
	p->seq = 0;
}

int
hep_make_auto(struct hep *a, const char *node, const struct labels *labels,
	      const struct cidr *ips, size_t nips)
{
	char *name;
	int err;

	if (asprintf(&name, "%s-auto-hep", node) < 0) {
		labels_init(&a->labels);
		return -ENOMEM;
	}
	err = hep_make_synthetic(a, name, node, "*", labels, NULL, ips, nips);
	free(name);
	return err;
}

int
hep_make_synthetic(struct hep *a, const char *name, const char *node, const char *iface,
		   const struct labels *labels, const struct labels *over,
		   const struct cidr *ips, size_t nips)
{
	labels_init(&a->labels);
	a->synthetic = true;
	a->name = strdup(name);
	a->node = strdup(node);
	a->iface = strdup(iface);
	a->profiles = calloc(1, sizeof(char *));
	if (a->name == NULL || a->node == NULL || a->iface == NULL || a->profiles == NULL)
		return -ENOMEM;
	a->profiles[0] = strdup(PROFILE_DEFAULT_ALLOW);
	if (a->profiles[0] == NULL)
		return -ENOMEM;
	a->nprofiles = 1;
	if ((labels != NULL && labels_merge(&a->labels, labels) < 0) ||
	    (over != NULL && labels_merge(&a->labels, over) < 0) ||
	    labels_set(&a->labels, "projectcalico.org/created-by", "calico-kube-controllers") < 0)
		return -ENOMEM;
	if (nips > 0) {
		a->ips = malloc(nips * sizeof(*a->ips));
		if (a->ips == NULL)
			return -ENOMEM;
		memcpy(a->ips, ips, nips * sizeof(*a->ips));
		a->nips = nips;
	}
	return 0;
}

struct cl_node *
cluster_node(struct cluster *cl, const char *name)
{
	struct cl_node *n;
	size_t i;

	if (strmap_get(&cl->node_index, name, &i))
		return cl->nodes[i];
	if (ARRAY_PUSH_ROOM(cl->nodes, cl->nodecap, cl->nnodes) < 0 ||
	    (n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	if ((n->name = strdup(name)) == NULL ||
	    strmap_put(&cl->node_index, name, cl->nnodes) < 0) {
		free(n->name);
		free(n);
		return NULL;
	}
	cl->nodes[cl->nnodes++] = n;
	return n;
}

int
cluster_node_retire(struct cluster *cl, struct cl_node *n)
{
	if (cl->retired_hepcap - cl->nretired_heps < n->nheps) {
		size_t cap = cl->nretired_heps + n->nheps;
		struct hep **v;

		cap = cap < 2 * cl->retired_hepcap ? 2 * cl->retired_hepcap : cap;
		v = realloc(cl->retired_heps, cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		cl->retired_heps = v;
		cl->retired_hepcap = cap;
	}
	for (size_t i = 0; i < n->nheps; i++)
		cl->retired_heps[cl->nretired_heps++] = n->heps[i];
	n->nheps = 0;
	return 0;
}

int
cluster_node_drop(struct cluster *cl, size_t i)
{
	struct cl_node *n = cl->nodes[i];

	if (cluster_node_retire(cl, n) < 0)
		return -ENOMEM;
	strmap_del(&cl->node_index, n->name);
	cl->nodes[i] = cl->nodes[--cl->nnodes];
	if (i != cl->nnodes)
		(void)!strmap_put(&cl->node_index, cl->nodes[i]->name, i);	/* a key it has */
	free(n->heps);
	free(n->name);
	free(n);
	return 0;
}

int
cluster_heps_gather(struct cluster *cl)
{
	size_t total = 0;

	for (size_t i = 0; i < cl->nnodes; i++)
		total += cl->nodes[i]->nheps;
	if (total > cl->hepcap) {
		struct hep **v = realloc(cl->heps, total * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		cl->heps = v;
		cl->hepcap = total;
	}
	cl->nheps = 0;
	for (size_t i = 0; i < cl->nnodes; i++)
		for (size_t j = 0; j < cl->nodes[i]->nheps; j++)
			cl->heps[cl->nheps++] = cl->nodes[i]->heps[j];
	return 0;
}

int
cluster_add_node(struct cluster *cl, const char *node, const struct labels *labels,
		 const struct cidr *ips, size_t nips)
{
	struct cl_node *n = cluster_node(cl, node);
	struct hep *h;

	if (n == NULL || ARRAY_PUSH_ROOM(n->heps, n->hepcap, n->nheps) < 0 ||
	    (h = calloc(1, sizeof(*h))) == NULL)
		return -ENOMEM;
	if (hep_make_auto(h, node, labels, ips, nips) < 0) {
		hep_release(h);
		free(h);
		return -ENOMEM;
	}
	n->heps[n->nheps++] = h;
	return cluster_heps_gather(cl);
}

/* The parent named @key, made with @under as the labels it lends on to. */
static struct wep_parent *
parent_get(struct cluster *cl, const char *key, const struct labels *under)
{
	struct wep_parent *p;
	size_t i;

	if (strmap_get(&cl->parent_index, key, &i))
		return cl->parents[i];
	if (ARRAY_PUSH_ROOM(cl->parents, cl->parentcap, cl->nparents) < 0 ||
	    (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	labels_init(&p->implicit);
	labels_init(&p->labels);
	p->labels.under = under;
	if ((p->key = strdup(key)) == NULL ||
	    strmap_put(&cl->parent_index, key, cl->nparents) < 0) {
		free(p->key);
		free(p);
		return NULL;
	}
	cl->parents[cl->nparents++] = p;
	return p;
}

struct wep_parent *
cluster_namespace(struct cluster *cl, const char *ns)
{
	struct wep_parent *p = parent_get(cl, ns, NULL);

	if (p != NULL && p->implicit.n == 0 &&
	    (labels_set(&p->implicit, LABEL_NAMESPACE, ns) < 0 ||
	     labels_set(&p->implicit, LABEL_ORCHESTRATOR, ORCHESTRATOR_K8S) < 0))
		return NULL;
	return p;
}

struct wep_parent *
cluster_service_account(struct cluster *cl, const char *ns, const char *sa)
{
	struct wep_parent *nsp = cluster_namespace(cl, ns), *p;
	char *key;

	if (nsp == NULL || asprintf(&key, "%s/%s", ns, sa) < 0)
		return NULL;
	p = parent_get(cl, key, &nsp->labels);
	free(key);
	if (p != NULL && p->implicit.n == 0 &&
	    (labels_merge(&p->implicit, &nsp->implicit) < 0 ||
	     labels_set(&p->implicit, LABEL_SERVICEACCOUNT, sa) < 0))
		return NULL;
	return p;
}

int
cluster_parent_label(struct wep_parent *p, const char *key, const char *value)
{
	const char *prefix = strchr(p->key, '/') ? PREFIX_SERVICEACCOUNT : PREFIX_NAMESPACE;
	size_t pl = strlen(prefix), kl = strlen(key);
	char *full = malloc(pl + kl + 1);
	int err;

	if (full == NULL)
		return -ENOMEM;
	memcpy(full, prefix, pl);
	memcpy(full + pl, key, kl + 1);
	err = labels_set(&p->labels, full, value);
	free(full);
	return err;
}

int
cluster_make_pod(struct cluster *cl, const char *ns, const char *name, const char *sa,
		 struct wep *w)
{
	struct wep_parent *p = sa && *sa ? cluster_service_account(cl, ns, sa) :
			       cluster_namespace(cl, ns);

	memset(w, 0, sizeof(*w));
	labels_init(&w->labels);
	if (p == NULL || asprintf(&w->key, "%s/%s", ns, name) < 0) {
		w->key = NULL;
		return -ENOMEM;
	}
	w->labels.over = &p->implicit;
	w->labels.under = &p->labels;
	return 0;
}

struct wep *
cluster_add_pod(struct cluster *cl, const char *ns, const char *name, const char *sa)
{
	struct wep *w;

	if (ARRAY_PUSH_ROOM(cl->weps, cl->wepcap, cl->nweps) < 0)
		return NULL;
	w = &cl->weps[cl->nweps];
	if (cluster_make_pod(cl, ns, name, sa, w) < 0) {
		wep_release(w);
		return NULL;
	}
	cl->nweps++;
	return w;
}
