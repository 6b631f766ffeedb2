/*
 * endpoints.h - from the Kubernetes store's digests of Nodes, Namespaces,
 * ServiceAccounts and Pods (control/k8s/ktrim.c) to what rule selectors
 * see (control/policy/cluster.h): the other Nodes' auto host endpoints and
 * the pods as workload endpoints, and this node's own labels and
 * addresses. Private to control/daemon. Control thread only.
 */
#ifndef NFQWALL_ENDPOINTS_H
#define NFQWALL_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>

#include "autohep.h"
#include "cluster.h"
#include "kube.h"

/* One Node: its labels, the addresses Calico gives its auto host endpoint and
 * its interfaces. */
struct node_info {
	struct labels labels;
	struct cidr ips[NODE_MAX_IPS];
	size_t nips;
	struct node_iface ifaces[NODE_MAX_IFACES];
	size_t nifaces;
	bool found;
};

/*
 * endpoints_node - the Node digest @json into @ni (labels added to
 * ni->labels; addresses deduplicated, an annotation's /prefix dropped,
 * unparsable ones skipped). 0 or -ENOMEM.
 */
int __must_check endpoints_node(const char *json, struct node_info *ni);

/* endpoints_node_view - what autohep_make reads of the Node @name described by @ni. */
void endpoints_node_view(const char *name, const struct node_info *ni, struct node_view *nv);

/*
 * endpoints_load - bring @cl in step with every Node (the others' auto host
 * endpoints, as @cfg makes them; @cfg_id names @cfg: when it changes, every
 * Node's are made again; this one, @self, into @self_info),
 * Namespace, ServiceAccount and Pod of the store @st, whose lock the caller
 * holds. @cl is kept between calls (cluster_init'ed before the first): only
 * the objects whose text changed since (kube_obj.seq) are read again, and
 * the Pods are found by the store's change log (which this trims), not by
 * a walk over all of them, when it can say; what
 * they replace and what is gone goes to @cl's retired lists, to free with
 * cluster_retired_free once nothing points at them. 0 or -ENOMEM (then @cl
 * is rebuilt from nothing at the next call).
 */
int __must_check endpoints_load(struct kube_store *st, const char *self,
				const struct autohep_cfg *cfg, uint64_t cfg_id, struct cluster *cl,
				struct node_info *self_info);

/*
 * endpoints_netsets - let each NetworkSet of @ps inherit its Namespace's
 * labels (pcns.*), as Felix's kns.<namespace> profile gives them; the
 * labels stay in @cl, which must outlive @ps's use. 0 or -ENOMEM.
 */
int __must_check endpoints_netsets(struct cluster *cl, struct polset *ps);

#endif /* NFQWALL_ENDPOINTS_H */
