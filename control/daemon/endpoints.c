/*
 * endpoints.c - the store's digests of Nodes, Namespaces, ServiceAccounts
 * and Pods into what rule selectors see (endpoints.h). Calico's conversions
 * (docs/semantics.md §3.3, §6.2): a Node's auto host endpoint carries its
 * labels and the addresses calico-node recorded (the BGP, tunnel and
 * WireGuard annotations, the InternalIP addresses, the Interfaces
 * annotation); a pod its labels but for pcns.* and pcsa.* keys, the
 * implicit labels, and what its Namespace and ServiceAccount lend.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "alloc.h"
#include "endpoints.h"
#include "jscan.h"

/* The longest label value Kubernetes stores is 63 bytes, a key 317: room to spare. */
#define LABEL_TEXT_MAX	1024
#define POD_MAX_IPS	16

/*
 * One address as found in a digest ("10.0.0.1", "10.0.0.1/24", "fd00::1/128"),
 * or each of a comma-separated list, added to @v unless already there.
 * Unparsable text is skipped.
 */
static void
add_addresses(const char *text, struct cidr *v, size_t max, size_t *n)
{
	char one[64];

	while (*text != '\0') {
		size_t len = strcspn(text, ","), alen = strcspn(text, ",/");
		struct cidr c;
		bool dup = false;

		if (alen < sizeof(one)) {
			memcpy(one, text, alen);
			one[alen] = '\0';
			if (cidr_parse(one, CIDR_LOOSE, &c) == 0) {
				for (size_t i = 0; i < *n && !dup; i++)
					dup = v[i].family == c.family && addr_cmp(&v[i].addr, &c.addr) == 0;
				if (!dup && *n < max)
					v[(*n)++] = c;
			}
		}
		text += len;
		if (*text == ',')
			text++;
	}
}

struct addr_acc {
	struct cidr *v;
	size_t max;
	size_t *n;
};

static bool
digest_address(struct jspan item, void *arg)
{
	struct addr_acc *a = arg;
	char text[1024];

	if (jscan_string(item, text, sizeof(text)))
		add_addresses(text, a->v, a->max, a->n);
	return true;
}

struct label_acc {
	struct labels *l;
	bool pod;			/* a pod: its pcns.* and pcsa.* keys are not its own */
	struct wep_parent *parent;	/* non-NULL: lend each label to the pods under it */
	int err;
};

static bool
digest_label(const char *key, struct jspan v, void *arg)
{
	struct label_acc *a = arg;
	char val[LABEL_TEXT_MAX];
	int err = 0;

	if (!jscan_string(v, val, sizeof(val)))
		return true;
	if (a->pod && (strncmp(key, PREFIX_NAMESPACE, strlen(PREFIX_NAMESPACE)) == 0 ||
		       strncmp(key, PREFIX_SERVICEACCOUNT, strlen(PREFIX_SERVICEACCOUNT)) == 0))
		return true;
	if (a->parent != NULL)
		err = cluster_parent_label(a->parent, key, val);
	else
		err = labels_append(a->l, key, val);
	if (err < 0) {
		a->err = err;
		return false;
	}
	return true;
}

/* One interface of the digest's "ifaces": a name that can be one, and its addresses. */
static bool
digest_iface(struct jspan item, void *arg)
{
	struct node_info *ni = arg;
	struct node_iface *f;
	struct addr_acc aa;

	if (ni->nifaces >= NODE_MAX_IFACES)
		return false;
	f = &ni->ifaces[ni->nifaces];
	memset(f, 0, sizeof(*f));
	if (!jscan_string(jscan_get(item, "name"), f->name, sizeof(f->name)) || f->name[0] == '\0')
		return true;	/* longer than IFNAMSIZ, or none: no interface of Linux */
	aa = (struct addr_acc){ f->ips, NODE_IFACE_MAX_IPS, &f->nips };
	jscan_each(jscan_get(item, "ips"), digest_address, &aa);
	ni->nifaces++;
	return true;
}

int
endpoints_node(const char *json, struct node_info *ni)
{
	struct jspan obj = { json, strlen(json) };
	struct label_acc la = { .l = &ni->labels };
	struct addr_acc aa = { ni->ips, NODE_MAX_IPS, &ni->nips };

	jscan_each_pair(jscan_get(obj, "labels"), digest_label, &la);
	if (la.err == 0)
		la.err = labels_finish(&ni->labels);
	jscan_each(jscan_get(obj, "ips"), digest_address, &aa);
	jscan_each(jscan_get(obj, "ifaces"), digest_iface, ni);
	ni->found = true;
	return la.err;
}

void
endpoints_node_view(const char *name, const struct node_info *ni, struct node_view *nv)
{
	*nv = (struct node_view){ name, &ni->labels, ni->ips, ni->nips, ni->ifaces, ni->nifaces };
}

/*
 * One Namespace or ServiceAccount object, @o: the labels it lends its pods,
 * read again only when its text changed.
 */
static int
sync_parent(struct cluster *cl, const struct kube_obj *o, bool sa)
{
	struct jspan obj = { o->json, strlen(o->json) };
	char ns[256], name[256];
	struct label_acc la = { 0 };

	if (!jscan_string(jscan_get(obj, "name"), name, sizeof(name)) ||
	    (sa && !jscan_string(jscan_get(obj, "ns"), ns, sizeof(ns))))
		return 0;	/* the store only keeps named objects: cannot happen */
	la.parent = sa ? cluster_service_account(cl, ns, name) : cluster_namespace(cl, name);
	if (la.parent == NULL)
		return -ENOMEM;
	la.parent->round = cl->round;
	if (la.parent->listed && la.parent->seq == o->seq)
		return 0;
	cluster_parent_reset(la.parent);
	la.parent->listed = true;
	la.parent->seq = o->seq;
	cl->parents_changed = true;
	jscan_each_pair(jscan_get(obj, "labels"), digest_label, &la);
	if (la.err == 0)	/* Calico's profile names itself too */
		la.err = cluster_parent_label(la.parent, LABEL_PROFILE_NAME, name);
	return la.err;
}

struct port_acc {
	struct wep *w;
	size_t cap;
	int err;
};

static bool
digest_port(struct jspan item, void *arg)
{
	struct port_acc *a = arg;
	char name[64], proto[16];
	struct jspan pn = jscan_get(item, "port");
	struct named_port *np;
	uint8_t p;
	long port;

	if (!jscan_string(jscan_get(item, "name"), name, sizeof(name)) ||
	    !jscan_string(jscan_get(item, "protocol"), proto, sizeof(proto)) || pn.p == NULL)
		return true;
	port = strtol(pn.p, NULL, 10);
	if (port < 1 || port > 65535)
		return true;
	if (strcmp(proto, "TCP") == 0 || proto[0] == '\0')	/* Calico: none is TCP */
		p = IPPROTO_TCP;
	else if (strcmp(proto, "UDP") == 0)
		p = IPPROTO_UDP;
	else if (strcmp(proto, "SCTP") == 0)
		p = IPPROTO_SCTP;
	else
		return true;	/* Calico skips a protocol it does not know */
	if (ARRAY_PUSH_ROOM(a->w->ports, a->cap, a->w->nports) < 0) {
		a->err = -ENOMEM;
		return false;
	}
	np = &a->w->ports[a->w->nports];
	np->name = strdup(name);
	if (np->name == NULL) {
		a->err = -ENOMEM;
		return false;
	}
	np->proto = p;
	np->port = (uint16_t)port;
	a->w->nports++;
	return true;
}

/* One Pod digest into @w: 0, 1 when it has no usable address (no endpoint), or -ENOMEM
 * (@w holds what was made). */
static int
load_pod(struct cluster *cl, const char *json, struct wep *w)
{
	struct jspan obj = { json, strlen(json) };
	char ns[256], name[256], sa[256];
	struct cidr ips[POD_MAX_IPS];
	size_t nips = 0;
	struct addr_acc aa = { ips, POD_MAX_IPS, &nips };
	struct label_acc la = { .pod = true };
	struct port_acc pa = { 0 };
	struct labels tmp;
	int err;

	memset(w, 0, sizeof(*w));
	if (!jscan_string(jscan_get(obj, "ns"), ns, sizeof(ns)) ||
	    !jscan_string(jscan_get(obj, "name"), name, sizeof(name)) ||
	    !jscan_string(jscan_get(obj, "sa"), sa, sizeof(sa)))
		return 1;
	jscan_each(jscan_get(obj, "ips"), digest_address, &aa);
	if (nips == 0)
		return 1;	/* no usable address: nothing to select */
	err = cluster_make_pod(cl, ns, name, sa, w);
	if (err < 0)
		return err;
	w->ips = malloc(nips * sizeof(*w->ips));
	if (w->ips == NULL)
		return -ENOMEM;
	memcpy(w->ips, ips, nips * sizeof(*ips));
	w->nips = nips;
	/* gathered, then packed in one block: 150,000 pods keep their labels in 150,000
	 * allocations, not ten times as many */
	labels_init(&tmp);
	la.l = &tmp;
	jscan_each_pair(jscan_get(obj, "labels"), digest_label, &la);
	if (la.err == 0)
		la.err = labels_pack(&w->labels, tmp.v, tmp.n);
	labels_free(&tmp);
	if (la.err < 0)
		return la.err;
	pa.w = w;
	jscan_each(jscan_get(obj, "ports"), digest_port, &pa);
	return pa.err;
}

/* Another Node's auto host endpoints, made again from its digest into @n. 0 or -ENOMEM. */
static int
make_node_heps(const struct kube_obj *o, const struct autohep_cfg *cfg, struct cl_node *n,
	       unsigned round)
{
	struct node_info *ni = calloc(1, sizeof(*ni));	/* 10 KiB: not on the stack */
	struct node_view nv;
	size_t first = n->nheps;
	int err;

	if (ni == NULL)
		return -ENOMEM;
	labels_init(&ni->labels);
	err = endpoints_node(o->json, ni);
	endpoints_node_view(o->key, ni, &nv);
	if (err == 0)
		err = autohep_make(cfg, &nv, &n->heps, &n->nheps, &n->hepcap);
	for (size_t i = first; i < n->nheps; i++) {
		n->heps[i]->seq = o->seq;
		n->heps[i]->round = round;
		n->heps[i]->born = round;
	}
	labels_free(&ni->labels);
	free(ni);
	return err;
}

/* The Nodes: this one into @self_info, the others' auto host endpoints kept in step. */
static int
sync_nodes(const struct kube_store *st, const char *self, const struct autohep_cfg *cfg,
	   uint64_t cfg_id, struct cluster *cl, struct node_info *self_info)
{
	const struct kube_kind_state *ks = &st->kinds[KK_NODE];
	bool changed = cl->fresh || cl->hep_cfg != cfg_id;
	int err = 0;

	for (size_t i = 0; i < ks->n && err == 0; i++) {
		const struct kube_obj *o = &ks->v[i];
		struct cl_node *n;
		size_t at;

		if (self != NULL && strcmp(o->key, self) == 0) {
			err = endpoints_node(o->json, self_info);
			continue;
		}
		if (!cfg->enabled)
			continue;	/* none made: every one there was goes below */
		if (strmap_get(&cl->node_index, o->key, &at) && cl->nodes[at]->seq == o->seq &&
		    cl->nodes[at]->cfg == cfg_id) {
			cl->nodes[at]->round = cl->round;
			continue;
		}
		n = cluster_node(cl, o->key);
		if (n == NULL || cluster_node_retire(cl, n) < 0)
			return -ENOMEM;
		n->round = cl->round;
		n->seq = o->seq;
		n->cfg = cfg_id;
		changed = true;
		err = make_node_heps(o, cfg, n, cl->round);
	}
	/* the Nodes gone, or all of them when none are made any more */
	for (size_t i = cl->nnodes; err == 0 && i-- > 0;) {
		if (cl->nodes[i]->round == cl->round)
			continue;
		err = cluster_node_drop(cl, i);
		changed = true;
	}
	cl->hep_cfg = cfg_id;
	if (err == 0 && changed)
		err = cluster_heps_gather(cl);
	return err;
}

/* Caller made room: @w replaces the pod at @at, which is retired. */
static void
pod_replace(struct cluster *cl, size_t at, const struct wep *w)
{
	cl->retired[cl->nretired++] = cl->weps[at];
	cl->weps[at] = *w;
}

/* Retire the pod at @at; the last one takes its place. 0 or -ENOMEM (nothing changed). */
static int
pod_remove(struct cluster *cl, size_t at)
{
	if (ARRAY_PUSH_ROOM(cl->retired, cl->retiredcap, cl->nretired) < 0)
		return -ENOMEM;
	strmap_del(&cl->wep_index, cl->weps[at].key);
	cl->retired[cl->nretired++] = cl->weps[at];
	cl->weps[at] = cl->weps[--cl->nweps];
	if (at != cl->nweps)
		(void)!strmap_put(&cl->wep_index, cl->weps[at].key, at);
	return 0;
}

/*
 * The pod @o (its text changed) made again into @w: 0, 1 when it is no
 * endpoint now (no usable address, or a digest not of its own object), or
 * -ENOMEM.
 */
static int
pod_make(struct cluster *cl, const struct kube_obj *o, struct wep *w)
{
	int r = load_pod(cl, o->json, w);

	if (r == 0 && strcmp(w->key, o->key) != 0)
		r = 1;		/* a digest that is not of its own object: never kept */
	if (r != 0) {
		wep_release(w);
		return r;
	}
	w->seq = o->seq;
	w->round = cl->round;
	w->born = cl->round;
	return 0;
}

/* @w, made this sync, into the cluster (in the place of the pod of its key, if any). */
static int
pod_put(struct cluster *cl, struct wep *w)
{
	size_t at;

	if (ARRAY_PUSH_ROOM(cl->retired, cl->retiredcap, cl->nretired) < 0 ||
	    ARRAY_PUSH_ROOM(cl->weps, cl->wepcap, cl->nweps) < 0 ||
	    ARRAY_PUSH_ROOM(cl->born, cl->borncap, cl->nborn) < 0)
		return -ENOMEM;
	if (strmap_get(&cl->wep_index, w->key, &at)) {
		pod_replace(cl, at, w);
	} else {
		if (strmap_put(&cl->wep_index, w->key, cl->nweps) < 0)
			return -ENOMEM;
		at = cl->nweps;
		cl->weps[cl->nweps++] = *w;
	}
	cl->born[cl->nborn++] = at;
	return 0;
}

/* Every Pod: read again only those whose text changed; the ones gone are retired. */
static int
sync_pods_all(const struct kube_kind_state *ks, struct cluster *cl)
{
	for (size_t i = 0; i < ks->n; i++) {
		const struct kube_obj *o = &ks->v[i];
		struct wep w;
		size_t at;
		int r;

		if (strmap_get(&cl->wep_index, o->key, &at) && cl->weps[at].seq == o->seq) {
			cl->weps[at].round = cl->round;
			continue;
		}
		r = pod_make(cl, o, &w);
		if (r < 0)
			return r;
		if (r == 0 && (r = pod_put(cl, &w)) < 0) {
			wep_release(&w);
			return r;
		}
		/* no endpoint now: swept below if it was one */
	}
	for (size_t i = cl->nweps; i-- > 0;) {
		int err;

		if (cl->weps[i].round == cl->round)
			continue;
		err = pod_remove(cl, i);
		if (err < 0)
			return err;
	}
	/* the sweep moved some: where the new ones are now */
	cl->nborn = 0;
	for (size_t i = 0; i < cl->nweps; i++)
		if (cl->weps[i].born == cl->round)
			cl->born[cl->nborn++] = i;	/* room: pod_put pushed one each */
	return 0;
}

/*
 * Only the Pods of the store's change log since the last sync, @keys (a
 * key may repeat): those gone, or no endpoint now, are retired first, then
 * the new texts go in, so the indices in cl->born stay where they point.
 */
static int
sync_pods_changed(const struct kube_kind_state *ks, struct cluster *cl, char *const *keys,
		  size_t n)
{
	struct wep *made = NULL;
	size_t nmade = 0, madecap = 0;
	struct strmap seen = { 0 };
	int err = 0;

	for (size_t i = 0; i < n && err == 0; i++) {
		const struct kube_obj *o = kube_store_get(ks, keys[i]);
		size_t at, dummy;
		bool have = strmap_get(&cl->wep_index, keys[i], &at);
		struct wep w;
		int r = 1;

		if (strmap_get(&seen, keys[i], &dummy))
			continue;	/* a key repeated: the store holds one text for it */
		err = strmap_put(&seen, keys[i], 0);
		if (err < 0 || (o != NULL && have && cl->weps[at].seq == o->seq))
			continue;
		if (o != NULL && (r = pod_make(cl, o, &w)) < 0) {
			err = r;
		} else if (r == 0) {
			if (ARRAY_PUSH_ROOM(made, madecap, nmade) < 0) {
				wep_release(&w);
				err = -ENOMEM;
			} else {
				made[nmade++] = w;
			}
		} else if (have) {
			err = pod_remove(cl, at);	/* deleted, or no endpoint now */
		}
	}
	for (size_t i = 0; i < nmade; i++) {
		if (err == 0)
			err = pod_put(cl, &made[i]);
		if (err < 0)
			wep_release(&made[i]);	/* the sync failed: rebuilt at the next */
	}
	free(made);
	strmap_free(&seen);
	return err;
}

/* The Pods, by the store's change log when it can say what changed since the last sync. */
static int
sync_pods(struct kube_store *st, struct cluster *cl)
{
	struct kube_kind_state *ks = &st->kinds[KK_POD];
	char *const *keys;
	size_t n;
	int err;

	cl->nborn = 0;
	if (!cl->fresh && kube_log_since(ks, cl->pod_log, &keys, &n)) {
		cl->pod_syncs_log++;
		err = sync_pods_changed(ks, cl, keys, n);
	} else {
		cl->pod_syncs_full++;
		err = sync_pods_all(ks, cl);
	}
	if (err == 0) {
		cl->pod_log = kube_log_end(ks);
		kube_log_trim(ks, cl->pod_log);
	}
	return err;
}

int
endpoints_load(struct kube_store *st, const char *self, const struct autohep_cfg *cfg,
	       uint64_t cfg_id, struct cluster *cl, struct node_info *self_info)
{
	int err;

	if (cl->broken)
		cluster_free(cl);	/* the last sync stopped half way: start afresh */
	cluster_retired_free(cl);
	cl->fresh = cl->round == 0;
	cl->round++;
	cl->parents_changed = false;
	cl->broken = true;		/* until this sync is done */
	err = sync_nodes(st, self, cfg, cfg_id, cl, self_info);
	for (size_t i = 0; err == 0 && i < st->kinds[KK_NAMESPACE].n; i++)
		err = sync_parent(cl, &st->kinds[KK_NAMESPACE].v[i], false);
	for (size_t i = 0; err == 0 && i < st->kinds[KK_SA].n; i++)
		err = sync_parent(cl, &st->kinds[KK_SA].v[i], true);
	/* a Namespace or ServiceAccount gone lends nothing any more */
	for (size_t i = 0; err == 0 && i < cl->nparents; i++) {
		struct wep_parent *p = cl->parents[i];

		if (p->listed && p->round != cl->round) {
			cluster_parent_reset(p);
			cl->parents_changed = true;
		}
	}
	if (err == 0)
		err = sync_pods(st, cl);
	if (err == 0)
		cl->broken = false;
	return err;
}

int
endpoints_netsets(struct cluster *cl, struct polset *ps)
{
	for (size_t i = 0; i < ps->nnetsets; i++) {
		struct netset *n = ps->netsets[i];
		struct wep_parent *p;

		if (n->ns == NULL)
			continue;
		p = cluster_namespace(cl, n->ns);
		if (p == NULL)
			return -ENOMEM;
		n->labels.under = &p->labels;
	}
	return 0;
}
