/*
 * netset.c - decoding GlobalNetworkSet and NetworkSet objects: labelled
 * lists of CIDRs that rule selectors can match (docs/semantics.md §6.2).
 * A NetworkSet also gets the namespace labels Felix adds. Control thread only.
 */
#include <stdlib.h>

#include "decode.h"

void
netset_free(struct netset *n)
{
	if (n == NULL)
		return;
	free(n->name);
	free(n->ns);
	labels_free(&n->labels);
	free(n->nets);
	free(n);
}

/* Felix's labels for namespaced objects (docs/semantics.md §6.2). */
static int
netset_ns_labels(struct netset *s)
{
	static const char *const keys[] = {
		"projectcalico.org/namespace", "pcns.projectcalico.org/name",
		"pcns.kubernetes.io/metadata.name",
	};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		int err = labels_set(&s->labels, keys[i], s->ns);

		if (err < 0)
			return err;
	}
	return 0;
}

static void
netset_decode_nets(struct dctx *c, const yaml_node_t *nets, struct netset *s)
{
	s->nets = dcalloc(c, ydoc_len(nets), sizeof(*s->nets));
	if (s->nets == NULL)
		return;
	for (size_t i = 0; i < ydoc_len(nets); i++) {
		yaml_node_t *it = ydoc_item(c->y, nets, i);
		const char *t;

		dpath_push(c, ".nets[%zu]", i);
		t = dstr(c, it, "a CIDR");
		if (t && cidr_parse(t, CIDR_LOOSE, &s->nets[s->nnets]) < 0)
			derr(c, it, "\"%s\" is not a CIDR or IP address", t);
		else if (t)
			s->nnets++;
		dpath_pop(c, 4);
	}
}

void
decode_netset(struct dctx *c, const yaml_node_t *obj, struct meta *m, bool global)
{
	yaml_node_t *spec = dget(c, obj, "spec"), *nets;
	struct netset *s = dcalloc(c, 1, sizeof(*s));
	static const char *const known[] = { "nets", "allowedEgressDomains", NULL };

	if (s == NULL)
		return;
	s->name = m->name;
	m->name = NULL;
	s->labels = m->labels;
	labels_init(&m->labels);
	s->loc = (struct srcloc){ c->file, ydoc_line(obj), ydoc_col(obj) };
	/* Calico keeps this label for the namespace it adds itself (below) */
	if (labels_get(&s->labels, "projectcalico.org/namespace") != NULL) {
		dpath_push(c, "metadata.labels");
		derr(c, dget(c, dget(c, obj, "metadata"), "labels"), "the label "
		     "projectcalico.org/namespace is reserved: Calico sets it to the namespace");
		dpath_pop(c, 0);
	}
	if (!global) {
		s->ns = m->ns;
		m->ns = NULL;
		if (netset_ns_labels(s) < 0)
			dnomem(c);
	}
	dpath_push(c, "spec");
	if (spec != NULL && c->err == 0 && dmap(c, spec, "spec")) {
		dfields(c, spec, known);
		nets = dget(c, spec, "nets");
		if (nets != NULL && dseq(c, nets, "nets"))
			netset_decode_nets(c, nets, s);
	}
	dpath_pop(c, 0);
	if (dfailed(c)) {
		netset_free(s);
		return;
	}
	polset_add(c, OBJ_NETSET, s);
}
