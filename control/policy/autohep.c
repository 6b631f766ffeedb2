/*
 * autohep.c - Calico's auto host endpoints of a Node, made as
 * kube-controllers makes them (autohep.h; Calico v3.31,
 * kube-controllers/pkg/controllers/node/hostendpoints.go). Control thread
 * only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "autohep.h"
#include "cluster.h"
#include "ifpattern.h"

void
autohep_config(const struct polset *ps, bool flag, struct autohep_cfg *out)
{
	memset(out, 0, sizeof(*out));
	if (flag) {
		out->enabled = true;
		out->create_default = true;
		out->source = "--auto-host-endpoint";
		return;
	}
	out->source = "none";
	for (size_t i = 0; ps != NULL && i < ps->nkccfgs; i++) {
		const struct kccfg *k = ps->kccfgs[i];

		if (strcmp(k->name, "default") != 0 || !k->has_hep)
			continue;
		out->enabled = k->auto_create;
		out->create_default = k->create_default;
		out->tpl = k->tpl;
		out->ntpl = k->ntpl;
		out->source = "KubeControllersConfiguration/default";
	}
}

void
autohep_free(struct hep **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		hep_release(v[i]);
		free(v[i]);
	}
	free(v);
}

/* Append @h to the list, or replace the one of the same name made before it. */
static int
put(struct hep *h, struct hep ***v, size_t *n, size_t *cap, size_t first)
{
	for (size_t i = first; i < *n; i++) {
		if (strcmp((*v)[i]->name, h->name) == 0) {
			hep_release((*v)[i]);
			free((*v)[i]);
			(*v)[i] = h;
			return 0;
		}
	}
	if (ARRAY_PUSH_ROOM(*v, *cap, *n) < 0) {
		hep_release(h);
		free(h);
		return -ENOMEM;
	}
	(*v)[(*n)++] = h;
	return 0;
}

static int
make_one(const struct node_view *nv, const char *name, const char *iface,
	 const struct labels *over, const struct cidr *ips, size_t nips, struct hep ***v,
	 size_t *n, size_t *cap, size_t first)
{
	struct hep *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return -ENOMEM;
	if (hep_make_synthetic(h, name, nv->name, iface, nv->labels, over, ips, nips) < 0) {
		hep_release(h);
		free(h);
		return -ENOMEM;
	}
	return put(h, v, n, cap, first);
}

static bool
has_ip(const struct cidr *v, size_t n, const struct cidr *c)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == c->family && addr_cmp(&v[i].addr, &c->addr) == 0)
			return true;
	return false;
}

/*
 * The Node's addresses inside the template's interfaceCIDRs, into @out
 * (room for NODE_MAX_IPS). kube-controllers tries the CIDRs in order for
 * each address and gives up on the whole template, with no address, when
 * it meets one it cannot parse (a bare address, family 0 here).
 */
static size_t
filter_ips(const struct hep_template *t, const struct node_view *nv, struct cidr *out)
{
	size_t n = 0;

	for (size_t i = 0; i < nv->nips; i++) {
		for (size_t j = 0; j < t->ncidrs; j++) {
			const struct cidr *c = &t->cidrs[j];

			if (c->family == 0)
				return 0;
			if (c->family == nv->ips[i].family && cidr_contains(c, &nv->ips[i].addr)) {
				if (n < NODE_MAX_IPS)
					out[n++] = nv->ips[i];
				break;
			}
		}
	}
	return n;
}

/* One template on one Node. 0, 1 when kube-controllers stops at it (it cannot
 * name an endpoint), or -ENOMEM. */
static int
make_template(const struct hep_template *t, const struct node_view *nv, struct hep ***v,
	      size_t *n, size_t *cap, size_t first)
{
	struct cidr ips[NODE_MAX_IPS + NODE_IFACE_MAX_IPS];
	size_t nips;
	char *name;
	int err = 0;

	if (!selector_match(t->node_sel, nv->labels))
		return 0;
	if (t->pattern != NULL && t->re == NULL)
		return 0;	/* a pattern nfqwall cannot match: check said so */
	nips = filter_ips(t, nv, ips);
	if (t->pattern == NULL) {
		if (nips == 0)
			return 0;	/* an endpoint with neither interface nor address: none */
		if (asprintf(&name, "%s-%s-auto-hep", nv->name,
			     t->generate_name ? t->generate_name : "") < 0)
			return -ENOMEM;
		if (t->generate_name == NULL) {	/* the default endpoint's name */
			free(name);
			if (asprintf(&name, "%s-auto-hep", nv->name) < 0)
				return -ENOMEM;
		}
		err = make_one(nv, name, "", &t->labels, ips, nips, v, n, cap, first);
		free(name);
		return err;
	}
	for (size_t i = 0; i < nv->nifaces && err == 0; i++) {
		const struct node_iface *f = &nv->ifaces[i];
		size_t m = nips;

		if (!ifpattern_match(t->re, f->name))
			continue;
		if (t->generate_name == NULL)
			return 1;	/* kube-controllers cannot name it: it stops here */
		for (size_t j = 0; j < f->nips; j++)
			if (!has_ip(ips, m, &f->ips[j]))
				ips[m++] = f->ips[j];
		if (asprintf(&name, "%s-%s-%s-auto-hep", nv->name, t->generate_name, f->name) < 0)
			return -ENOMEM;
		err = make_one(nv, name, f->name, &t->labels, ips, m, v, n, cap, first);
		free(name);
	}
	return err;
}

int
autohep_make(const struct autohep_cfg *cfg, const struct node_view *nv, struct hep ***v,
	     size_t *n, size_t *cap)
{
	size_t first = *n;
	int err = 0;

	if (!cfg->enabled)
		return 0;
	if (cfg->create_default) {
		struct hep *h = calloc(1, sizeof(*h));

		if (h == NULL)
			return -ENOMEM;
		err = hep_make_auto(h, nv->name, nv->labels, nv->ips, nv->nips);
		if (err < 0) {
			hep_release(h);
			free(h);
			return err;
		}
		err = put(h, v, n, cap, first);
	}
	for (size_t i = 0; i < cfg->ntpl && err == 0; i++) {
		err = make_template(&cfg->tpl[i], nv, v, n, cap, first);
		if (err == 1)
			return 0;	/* kube-controllers gives up on the rest of this Node */
	}
	return err;
}
