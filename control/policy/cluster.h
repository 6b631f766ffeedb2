/*
 * cluster.h - the rest of the cluster, as rule selectors and named ports see
 * it (docs/semantics.md §6.2): every other Node's auto host endpoint and
 * every running pod as Felix's workload endpoint, with the labels Calico
 * gives it (its own, the implicit projectcalico.org/namespace,
 * projectcalico.org/orchestrator and projectcalico.org/serviceaccount, and
 * those its namespace and service account lend it as pcns.* and pcsa.*).
 *
 * None of it is ever enforced: nfqwall polices this node's host endpoints
 * only. control/daemon/endpoints.c fills a cluster from the Kubernetes
 * store and keeps it from one reload to the next: each sync reads again
 * only the objects whose text changed (by the store's seq), and the
 * endpoints it replaced or removed wait in the retired lists until the
 * reload is done. hostenv_build takes one beside the polset. Control thread
 * only.
 */
#ifndef NFQWALL_CLUSTER_H
#define NFQWALL_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "strmap.h"

#define LABEL_NAMESPACE		"projectcalico.org/namespace"
#define LABEL_ORCHESTRATOR	"projectcalico.org/orchestrator"
#define LABEL_SERVICEACCOUNT	"projectcalico.org/serviceaccount"
#define LABEL_PROFILE_NAME	"projectcalico.org/name"
#define ORCHESTRATOR_K8S	"k8s"
#define PREFIX_NAMESPACE	"pcns."
#define PREFIX_SERVICEACCOUNT	"pcsa."

/*
 * What a namespace, or a service account in it, lends the pods that run in
 * it (Calico's kns.<ns> and ksa.<ns>.<sa> profiles). @implicit holds the
 * implicit labels, which win over a pod's own; @labels the prefixed ones,
 * which a pod's own labels override. A service account's @labels lends in
 * turn to its namespace's.
 */
struct wep_parent {
	char *key;			/* "ns" or "ns/sa" */
	struct labels implicit;
	struct labels labels;
	bool listed;			/* the Namespace or ServiceAccount object was seen */
	uint64_t seq;			/* the store's text its labels were read from */
	unsigned round;			/* the last sync that saw the object */
};

/* A pod as Felix's workload endpoint. labels.over and labels.under point
 * into its wep_parent. */
struct wep {
	char *key;			/* "namespace/name" */
	struct labels labels;
	struct cidr *ips;		/* pod IPs as /32 or /128 */
	size_t nips;
	struct named_port *ports;	/* named container ports */
	size_t nports;
	uint64_t seq;			/* the store's text it was read from */
	unsigned round;			/* the last sync that saw it */
	unsigned born;			/* the sync that made it */
};

/* Another Node: the auto host endpoints made for it (autohep.c). */
struct cl_node {
	char *name;
	struct hep **heps;
	size_t nheps;
	size_t hepcap;
	uint64_t seq;			/* the store's text they were made from */
	uint64_t cfg;			/* ... under this configuration (cluster.hep_cfg) */
	unsigned round;			/* the last sync that saw the Node */
};

struct cluster {
	struct hep **heps;		/* the auto host endpoints of the other Nodes, all of
					 * them (made again from nodes[] when one changes) */
	size_t nheps;
	size_t hepcap;
	struct cl_node **nodes;		/* the other Nodes, by name in node_index */
	size_t nnodes;
	size_t nodecap;
	struct wep *weps;
	size_t nweps;
	size_t wepcap;
	struct wep_parent **parents;	/* namespaces and service accounts, by key */
	size_t nparents;
	size_t parentcap;
	struct strmap parent_index;	/* key -> index in parents */
	/* kept between syncs (endpoints.c) */
	struct strmap node_index;	/* node name -> index in nodes */
	uint64_t hep_cfg;		/* what the auto host endpoints were made under */
	struct strmap wep_index;	/* "ns/name" -> index in weps */
	uint64_t pod_log;		/* the store's Pod change log read up to here */
	size_t *born;			/* indices in weps of the pods this sync made */
	size_t nborn;
	size_t borncap;
	uint64_t pod_syncs_full;	/* syncs that read every pod ... */
	uint64_t pod_syncs_log;		/* ... and those that read only the changed ones */
	unsigned round;			/* the current sync */
	bool parents_changed;		/* a parent's labels changed in this sync */
	bool fresh;			/* this sync started from nothing */
	bool broken;			/* a sync failed half way: rebuild from nothing */
	struct hep **retired_heps;	/* replaced or removed by this sync */
	size_t nretired_heps;
	size_t retired_hepcap;
	struct wep *retired;
	size_t nretired;
	size_t retiredcap;
};

/* cluster_init / cluster_free - an empty cluster; release everything. */
void cluster_init(struct cluster *cl);
void cluster_free(struct cluster *cl);

/*
 * cluster_namespace - the namespace @ns, made on first use: its implicit
 * labels are set, its prefixed labels come from cluster_parent_label().
 * NULL when out of memory.
 */
struct wep_parent *cluster_namespace(struct cluster *cl, const char *ns);

/* cluster_service_account - the same for service account @sa of @ns. */
struct wep_parent *cluster_service_account(struct cluster *cl, const char *ns, const char *sa);

/*
 * cluster_parent_label - lend label @key=@value to the pods under @p (as
 * pcns.KEY or pcsa.KEY, by the kind of @p). 0 or -ENOMEM.
 */
int __must_check cluster_parent_label(struct wep_parent *p, const char *key, const char *value);

/*
 * cluster_add_pod - a new workload endpoint "@ns/@name" under service
 * account @sa ("" or NULL: none), with no labels, addresses or ports yet:
 * the caller adds them to the returned wep. NULL when out of memory.
 */
struct wep *cluster_add_pod(struct cluster *cl, const char *ns, const char *name, const char *sa);

/*
 * cluster_make_pod - the same, into @w, without adding it to @cl (only its
 * namespace and service account are made): 0 or -ENOMEM (@w holds what was
 * made, for wep_release).
 */
int __must_check cluster_make_pod(struct cluster *cl, const char *ns, const char *name,
				  const char *sa, struct wep *w);

/* wep_release - what a struct wep holds, not the struct itself. */
void wep_release(struct wep *w);

/* cluster_parent_reset - forget the labels @p lends (its object changed or is gone). */
void cluster_parent_reset(struct wep_parent *p);

/* cluster_retired_free - release the endpoints the last sync replaced or removed. */
void cluster_retired_free(struct cluster *cl);

/*
 * cluster_node - the Node @name, made empty (no endpoint, seq 0) on first
 * use. NULL when out of memory.
 */
struct cl_node *cluster_node(struct cluster *cl, const char *name);

/*
 * cluster_node_retire - move @n's endpoints to the retired list (they are
 * freed by the next cluster_retired_free), leaving it with none. 0 or
 * -ENOMEM (nothing moved).
 */
int __must_check cluster_node_retire(struct cluster *cl, struct cl_node *n);

/*
 * cluster_node_drop - retire the endpoints of nodes[@i] and forget it (the
 * last Node takes its place). 0 or -ENOMEM (nothing changed).
 */
int __must_check cluster_node_drop(struct cluster *cl, size_t i);

/* cluster_heps_gather - make heps[] again from every Node's. 0 or -ENOMEM. */
int __must_check cluster_heps_gather(struct cluster *cl);

/*
 * cluster_add_node - the auto host endpoint Calico's kube-controllers makes
 * for Node @node by default (hep_make_auto), into @cl: a Node of its own,
 * for tests and benchmarks (control/daemon/endpoints.c keeps a real
 * cluster in step with the store). 0 or -ENOMEM.
 */
int __must_check cluster_add_node(struct cluster *cl, const char *node,
				  const struct labels *labels, const struct cidr *ips, size_t nips);

/*
 * hep_make_auto - fill the zeroed @a as Calico's auto host endpoint of
 * @node (docs/semantics.md §3.3): "<node>-auto-hep", interfaceName "*", the
 * default-allow profile, @labels and projectcalico.org/created-by, and
 * @ips as expectedIPs. 0 or -ENOMEM (what was made stays for
 * hep_release).
 */
int __must_check hep_make_auto(struct hep *a, const char *node, const struct labels *labels,
			       const struct cidr *ips, size_t nips);

/*
 * hep_make_synthetic - the same for any endpoint kube-controllers makes
 * (autohep.c): named @name, on @node, @iface ("*", "" for by-address, or an
 * interface), labelled with @labels, then @over (which wins; may be NULL),
 * then projectcalico.org/created-by. 0 or -ENOMEM (what was made stays for
 * hep_release).
 */
int __must_check hep_make_synthetic(struct hep *a, const char *name, const char *node,
				    const char *iface, const struct labels *labels,
				    const struct labels *over, const struct cidr *ips, size_t nips);

/* hep_release - what a struct hep holds, not the struct itself. */
void hep_release(struct hep *h);

#endif /* NFQWALL_CLUSTER_H */
