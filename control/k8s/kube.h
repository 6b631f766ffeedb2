/*
 * kube.h - the Kubernetes source: list and watch the policy kinds and this
 * node's Node with libcurl, into an object store. The room's files:
 * kstore.c (the store), kapi.c (the API client and discovery) and
 * reflector.c (list/watch); kube_int.h is what they share.
 *
 * One reflector thread per kind does what client-go's reflector does: list
 * (resourceVersion=0, pages of 500, an expired continue restarts the list),
 * then watch from the list's resourceVersion with bookmarks and a random
 * timeout of 300-600 s; 410 (as an ERROR event or as the HTTP status)
 * relists with mark and sweep; a clean end re-watches; 429 obeys
 * Retry-After; errors back off 0.8 s doubling to 30 s with jitter, reset
 * after two minutes of health; a stream silent for 3 minutes is dead. An
 * expired continue (410 on page two or later) lists again from page one;
 * only a complete list replaces a kind's objects. A watch event is at most
 * 4 MiB and a list at most max_list_bytes (kube_int.h says why): past
 * that, the request ends with an error and backs off. The store keeps
 * each object's JSON text as the API sent it; every change bumps its
 * version and wakes the control loop through an eventfd.
 */
#ifndef NFQWALL_KUBE_H
#define NFQWALL_KUBE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "strmap.h"

enum kube_kind {
	KK_GNP,
	KK_SGNP,
	KK_HEP,
	KK_GNS,
	KK_NS,
	KK_TIER,
	KK_FELIX,
	KK_KCC,			/* KubeControllersConfiguration: which auto host endpoints */
	KK_NODE,		/* this node's, or every Node with kube_config.all_nodes */
	KK_NAMESPACE,		/* with kube_config.workloads: what rule selectors see of pods */
	KK_SA,
	KK_POD,
	KK_DAEMONSET,		/* the DaemonSet running us (--daemonset): lifecycle, not policy */
	KK_NKINDS,
};

/* What is known of the DaemonSet running this daemon (kube_config.ds_name). */
enum kube_ds_state {
	KUBE_DS_UNKNOWN,	/* not configured, not listed yet, or the API did not answer */
	KUBE_DS_PRESENT,	/* it exists: a stop is a restart, an update or an eviction */
	KUBE_DS_DELETING,	/* it has a deletionTimestamp (foreground or orphan deletion) */
	KUBE_DS_GONE,		/* it existed and is deleted */
};

struct kube_config {
	const char *server;		/* https://host:port; NULL: in-cluster (KUBERNETES_SERVICE_*) */
	const char *token_file;		/* NULL: the service account's */
	const char *ca_file;		/* NULL: the service account's */
	const char *node;		/* this node's name (the Node watch) */
	const char *group_version;	/* crd.projectcalico.org/v1 or projectcalico.org/v3; NULL: discover */
	size_t max_list_bytes;		/* one list, all pages; 0: 64 MiB */
	uint32_t sock_mark;		/* SO_MARK of every API connection (0: none): nfqwall's
					 * rules accept them, so no policy cuts nfqwall off */
	const char *ds_namespace;	/* the DaemonSet running us, watched; NULL: none */
	const char *ds_name;
	bool all_nodes;			/* watch every Node, not only this one */
	bool workloads;			/* watch Pods, Namespaces and ServiceAccounts */
};

struct kube_obj {
	char *key;			/* "namespace/name" or "name" */
	char *json;			/* the object as the API sent it; for the kinds
					 * kube_trim() keeps a digest of, that digest */
	uint64_t seq;			/* the store's: changes whenever the text does */
};

struct kube_kind_state {
	struct kube_obj *v;
	size_t n;
	size_t cap;			/* elements allocated in v (at least n) */
	struct strmap index;		/* key -> position in v, while index_ok */
	bool index_ok;			/* false: memory ran out building it; look linearly */
	bool synced;			/* the first list completed */
	bool absent;			/* the API does not serve this kind (404) */
	bool seen;			/* an object was stored at least once */
	uint64_t last_sync_ns;		/* CLOCK_MONOTONIC of the last list or event */
	uint64_t last_sync_unix;
	uint64_t watch_restarts;
	uint64_t relists;
	uint64_t errors;
	/* the change log, for the kinds that keep one (kube_log_since) */
	bool logged;
	char **log;			/* keys, at positions log_base .. log_base + nlog - 1 */
	size_t nlog;
	size_t logcap;
	uint64_t log_base;
};

/* Totals over every kind, read by /metrics: STAT_* relaxed atomics (stats.h). */
struct kube_totals {
	uint64_t watch_restarts;
	uint64_t relists;
	uint64_t errors;
	uint64_t last_sync_unix;	/* Unix time of the last complete list or event */
};

struct kube_store {
	pthread_mutex_t lock;
	struct kube_totals totals;
	struct kube_kind_state kinds[KK_NKINDS];
	uint64_t version;		/* bumped on every change */
	uint64_t policy_version;	/* ... of the policy kinds only (not Nodes, Pods, ...) */
	uint64_t next_seq;		/* kube_obj.seq of the next new or changed text */
	int efd;			/* eventfd: readable after a change */
	char group_version[64];		/* what discovery chose */
};

struct kube_client;

/* kube_kind_name - "GlobalNetworkPolicy", ... */
const char *kube_kind_name(enum kube_kind k);

/* kube_store_init / kube_store_free - the store and its eventfd. 0 or -errno. */
int __must_check kube_store_init(struct kube_store *st);
void kube_store_free(struct kube_store *st);

/*
 * The change log of a kind (kept for Pods: a reload reads again only the
 * pods that changed, not 150,000 keys to find them). Each stored, replaced
 * or deleted object appends its key (a key may repeat); a relist, or a log
 * past KUBE_LOG_MAX keys, drops every entry and skips a position, so a
 * reader whose position is older reads the whole kind instead. A reader
 * remembers kube_log_end() after each read. Caller holds the store's lock.
 *
 * kube_log_since - the keys changed since position @pos into *@keys, *@n:
 * true; false when the log cannot say (the reader must read every object).
 * kube_log_end - the position after the last entry.
 * kube_log_trim - drop the entries before @pos (read by the only reader).
 * kube_store_get - the object @key of @ks, or NULL.
 */
#define KUBE_LOG_MAX	8192
bool kube_log_since(const struct kube_kind_state *ks, uint64_t pos, char *const **keys,
		    size_t *n);
uint64_t kube_log_end(const struct kube_kind_state *ks);
void kube_log_trim(struct kube_kind_state *ks, uint64_t pos);
const struct kube_obj *kube_store_get(const struct kube_kind_state *ks, const char *key);

/* kube_store_synced - every policy kind and the Node listed at least once (or
 * known absent); the DaemonSet watch does not hold the table back. Locks. */
bool kube_store_synced(struct kube_store *st);

/*
 * kube_daemonset_state - what the DaemonSet watch last saw: GONE only when
 * the DaemonSet was seen present before (a wrong name or a missing Role
 * never reads as a deletion). Locks.
 */
enum kube_ds_state kube_daemonset_state(struct kube_store *st);

/*
 * kube_daemonset_check - ask the API now, for at most @timeout_s seconds:
 * PRESENT, DELETING, GONE (404), or UNKNOWN when no DaemonSet is configured
 * or nothing else came back in time (401, 403, 5xx, no answer: asked again
 * every 0.5 s). Call before kube_stop.
 */
enum kube_ds_state kube_daemonset_check(struct kube_client *kc, long timeout_s);

/* kube_ds_state_name - "unknown", "present", "deleting", "gone". */
const char *kube_ds_state_name(enum kube_ds_state s);

/*
 * kube_start - resolve the configuration (in-cluster by default), then start
 * discovery and the reflectors. Returns 0 or -errno with @why.
 */
int __must_check kube_start(struct kube_client **out, const struct kube_config *cfg,
			    struct kube_store *st, char *why, size_t whylen);

/*
 * kube_event - tell the cluster, with a Warning Event about the
 * cluster-scoped object @kind @name of @api_version, whose uid is @uid (""
 * when unknown; kubectl describe finds Events by it) (in namespace default,
 * where kubectl describe finds it), @reason and @message. Posted in the
 * background (at most 10 s; the result is logged); false, and logged, when
 * an Event is still being posted or memory ran out. Control thread.
 */
bool kube_event(struct kube_client *kc, const char *api_version, const char *kind,
		const char *name, const char *uid, const char *reason, const char *message);

/* kube_store_uid - metadata.uid of object @key of kind @k into @buf ("" when not
 * stored or without one). Locks. */
void kube_store_uid(struct kube_store *st, enum kube_kind k, const char *key, char *buf,
		    size_t size);

/* kube_stop - stop every thread (they notice within a second) and free. */
void kube_stop(struct kube_client *kc);

#endif /* NFQWALL_KUBE_H */
