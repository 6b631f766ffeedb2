/*
 * kstore.c - the Kubernetes object store (see kube.h): per kind, the objects
 * as the API sent them, keyed by "namespace/name" or "name", and the kind's
 * sync state. The reflector threads write it; the control thread reads it
 * under the same mutex when it reloads. Every change bumps the version and
 * wakes the control loop through the eventfd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "jscan.h"
#include "kube_int.h"

const struct kube_kind_info kube_kinds[KK_NKINDS] = {
	[KK_GNP] = { "GlobalNetworkPolicy", "globalnetworkpolicies", true },
	[KK_SGNP] = { "StagedGlobalNetworkPolicy", "stagedglobalnetworkpolicies", true },
	[KK_HEP] = { "HostEndpoint", "hostendpoints", true },
	[KK_GNS] = { "GlobalNetworkSet", "globalnetworksets", true },
	[KK_NS] = { "NetworkSet", "networksets", true },
	[KK_TIER] = { "Tier", "tiers", true },
	[KK_FELIX] = { "FelixConfiguration", "felixconfigurations", true },
	[KK_KCC] = { "KubeControllersConfiguration", "kubecontrollersconfigurations", true },
	[KK_NODE] = { "Node", "nodes", false },
	[KK_NAMESPACE] = { "Namespace", "namespaces", false },
	[KK_SA] = { "ServiceAccount", "serviceaccounts", false },
	[KK_POD] = { "Pod", "pods", false },
	[KK_DAEMONSET] = { "DaemonSet", "daemonsets", false },
};

const char *
kube_kind_name(enum kube_kind k)
{
	return (unsigned)k < KK_NKINDS ? kube_kinds[k].kind : "?";
}

int
kube_store_init(struct kube_store *st)
{
	memset(st, 0, sizeof(*st));
	st->kinds[KK_POD].logged = true;
	pthread_mutex_init(&st->lock, NULL);
	st->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return st->efd < 0 ? -errno : 0;
}

void
kstore_objs_free(struct kube_obj *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].json);
	}
	free(v);
}

int
kstore_obj_key(struct jspan obj, char *key, size_t size)
{
	char name[256], ns[64];
	int err;

	key[0] = '\0';
	err = kube_token(jscan_path(obj, "metadata.name"), name, sizeof(name));
	if (err < 0)
		return err;
	err = kube_token(jscan_path(obj, "metadata.namespace"), ns, sizeof(ns));
	if (err == -EINVAL)
		return err;
	if (name[0] == '\0')
		return -ENOENT;
	if (snprintf(key, size, "%s%s%s", ns, ns[0] ? "/" : "", name) >= (int)size) {
		key[0] = '\0';
		return -EINVAL;
	}
	return 0;
}

int
kstore_obj_make(struct jspan item, enum kube_kind k, const char *api_version,
		struct kube_obj *o)
{
	char key[KUBE_KEY_MAX];
	int err = kstore_obj_key(item, key, sizeof(key));

	o->key = o->json = NULL;
	if (err < 0)
		return err;
	/* a NUL byte is never in JSON text: the copy would end early */
	if (item.n < 2 || item.p[0] != '{' || memchr(item.p, '\0', item.n) != NULL)
		return -EINVAL;
	o->key = strdup(key);
	if (o->key != NULL && kube_trimmed(k)) {
		err = kube_trim(k, item, &o->json);
		if (err == KUBE_TRIM_DROP)
			return err;
		if (err < 0) {
			free(o->key);
			o->key = NULL;
			return err;
		}
	} else if (jscan_get(item, "kind").p == NULL) {
		if (asprintf(&o->json, "{\"apiVersion\":\"%s\",\"kind\":\"%s\",%.*s", api_version,
			     kube_kind_name(k), (int)(item.n - 1), item.p + 1) < 0)
			o->json = NULL;
	} else {
		o->json = strndup(item.p, item.n);
	}
	if (o->key == NULL || o->json == NULL) {
		free(o->key);
		free(o->json);
		o->key = o->json = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* ---- the change log ---------------------------------------------------------- */

/* Drop every entry; @skip positions more than they took (a reader at the old end
 * must read the whole kind). */
static void
log_drop(struct kube_kind_state *ks, uint64_t skip)
{
	for (size_t i = 0; i < ks->nlog; i++)
		free(ks->log[i]);
	ks->log_base += ks->nlog + skip;
	ks->nlog = 0;
}

/* Caller holds the lock: @key changed. Out of memory, or too long a log, drops it. */
static void
log_key(struct kube_kind_state *ks, const char *key)
{
	char *copy;

	if (!ks->logged)
		return;
	copy = ks->nlog < KUBE_LOG_MAX ? strdup(key) : NULL;
	if (copy == NULL || ARRAY_PUSH_ROOM(ks->log, ks->logcap, ks->nlog) < 0) {
		free(copy);
		log_drop(ks, 1);
		return;
	}
	ks->log[ks->nlog++] = copy;
}

bool
kube_log_since(const struct kube_kind_state *ks, uint64_t pos, char *const **keys, size_t *n)
{
	if (!ks->logged || pos < ks->log_base || pos > ks->log_base + ks->nlog)
		return false;
	*keys = ks->log + (pos - ks->log_base);
	*n = (size_t)(ks->log_base + ks->nlog - pos);
	return true;
}

uint64_t
kube_log_end(const struct kube_kind_state *ks)
{
	return ks->log_base + ks->nlog;
}

void
kube_log_trim(struct kube_kind_state *ks, uint64_t pos)
{
	size_t k;

	if (pos <= ks->log_base)
		return;
	k = pos - ks->log_base < ks->nlog ? (size_t)(pos - ks->log_base) : ks->nlog;
	for (size_t i = 0; i < k; i++)
		free(ks->log[i]);
	memmove(ks->log, ks->log + k, (ks->nlog - k) * sizeof(*ks->log));
	ks->nlog -= k;
	ks->log_base += k;
}

void
kube_store_free(struct kube_store *st)
{
	for (int k = 0; k < KK_NKINDS; k++) {
		kstore_objs_free(st->kinds[k].v, st->kinds[k].n);
		strmap_free(&st->kinds[k].index);
		log_drop(&st->kinds[k], 0);
		free(st->kinds[k].log);
	}
	if (st->efd >= 0)
		close(st->efd);
	pthread_mutex_destroy(&st->lock);
}

bool
kube_store_synced(struct kube_store *st)
{
	bool all = true;

	pthread_mutex_lock(&st->lock);
	for (int k = 0; k < KK_NKINDS; k++)
		all = all && (st->kinds[k].synced || k == KK_DAEMONSET);
	pthread_mutex_unlock(&st->lock);
	return all;
}

/* Caller holds the lock. */
static void
store_synced_now(struct kube_store *st, enum kube_kind k)
{
	st->kinds[k].last_sync_ns = mono_ns();
	st->kinds[k].last_sync_unix = (uint64_t)time(NULL);
}

/* Caller holds the lock. */
static void
store_changed(struct kube_store *st, enum kube_kind k)
{
	uint64_t one = 1;

	if (k != KK_DAEMONSET)		/* the DaemonSet is no policy: no reload for it */
		st->version++;
	if (k != KK_DAEMONSET && k != KK_NODE && k != KK_NAMESPACE && k != KK_SA && k != KK_POD)
		st->policy_version++;	/* a policy change: reloaded without waiting for churn */
	store_synced_now(st, k);
	(void)!write(st->efd, &one, sizeof(one));
}

/* Caller holds the lock. A kind of 150,000 pods is looked up by its index; only
 * when memory ran out building it, linearly. */
static ssize_t
store_find(const struct kube_kind_state *ks, const char *key)
{
	size_t at;

	if (ks->index_ok)
		return strmap_get(&ks->index, key, &at) ? (ssize_t)at : -1;
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->v[i].key, key) == 0)
			return (ssize_t)i;
	return -1;
}

const struct kube_obj *
kube_store_get(const struct kube_kind_state *ks, const char *key)
{
	ssize_t i = store_find(ks, key);

	return i >= 0 ? &ks->v[i] : NULL;
}

/* Caller holds the lock: (re)build the index of @ks. */
static void
index_build(struct kube_kind_state *ks)
{
	strmap_free(&ks->index);
	ks->index_ok = true;
	for (size_t i = 0; i < ks->n && ks->index_ok; i++)
		ks->index_ok = strmap_put(&ks->index, ks->v[i].key, i) == 0;
	if (!ks->index_ok)
		strmap_free(&ks->index);
}

int
kstore_upsert(struct kube_store *st, enum kube_kind k, const char *key, const char *json,
	      size_t n)
{
	struct kube_kind_state *ks = &st->kinds[k];
	char *copy = malloc(n + 1);
	ssize_t i;
	int err = 0;

	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, json, n);
	copy[n] = '\0';
	pthread_mutex_lock(&st->lock);
	i = store_find(ks, key);
	if (i >= 0 && strcmp(ks->v[i].json, copy) == 0) {
		/* the same text: a Node's heartbeat or a Pod's condition leaves its digest
		 * as it was; nothing changed, no reload */
		free(copy);
		ks->seen = true;
		store_synced_now(st, k);
		goto out;
	}
	if (i < 0) {
		char *kcopy = strdup(key);

		if (kcopy == NULL || ARRAY_PUSH_ROOM(ks->v, ks->cap, ks->n) < 0) {
			free(kcopy);
			free(copy);
			err = -ENOMEM;
			goto out;
		}
		i = (ssize_t)ks->n++;
		ks->v[i].key = kcopy;
		ks->v[i].json = NULL;
		if (ks->index_ok && strmap_put(&ks->index, kcopy, (size_t)i) < 0) {
			ks->index_ok = false;	/* found linearly until the next list */
			strmap_free(&ks->index);
		}
	}
	free(ks->v[i].json);
	ks->v[i].json = copy;
	ks->v[i].seq = ++st->next_seq;
	ks->seen = true;
	log_key(ks, key);
	store_changed(st, k);
out:
	pthread_mutex_unlock(&st->lock);
	return err;
}

void
kstore_delete(struct kube_store *st, enum kube_kind k, const char *key)
{
	struct kube_kind_state *ks = &st->kinds[k];
	ssize_t i;

	pthread_mutex_lock(&st->lock);
	i = store_find(ks, key);
	if (i >= 0) {
		if (ks->index_ok) {
			strmap_del(&ks->index, key);
			/* the last object moves into the hole: it is found there now */
			if ((size_t)i != ks->n - 1)
				(void)!strmap_put(&ks->index, ks->v[ks->n - 1].key, (size_t)i);
		}
		log_key(ks, key);
		free(ks->v[i].key);
		free(ks->v[i].json);
		ks->v[i] = ks->v[--ks->n];
		store_changed(st, k);
	} else {
		store_synced_now(st, k);	/* a pod the store never kept: nothing changed */
	}
	pthread_mutex_unlock(&st->lock);
}

/*
 * Caller holds the lock: number the objects of the list @v as the store
 * does (an object whose text the store holds keeps its seq, any other gets a
 * new one) and say whether @v holds what @ks holds, text for text.
 */
static bool
list_number(struct kube_store *st, const struct kube_kind_state *ks, struct kube_obj *v,
	    size_t n)
{
	bool same = n == ks->n;

	for (size_t i = 0; i < n; i++) {
		ssize_t j = ks->synced ? store_find(ks, v[i].key) : -1;

		if (j >= 0 && strcmp(ks->v[j].json, v[i].json) == 0) {
			v[i].seq = ks->v[j].seq;
		} else {
			v[i].seq = ++st->next_seq;
			same = false;
		}
	}
	return same;
}

void
kstore_replace(struct kube_store *st, enum kube_kind k, struct kube_obj *v, size_t n, bool absent)
{
	struct kube_kind_state *ks = &st->kinds[k];
	struct kube_obj *old;
	size_t oldn;
	bool same;

	pthread_mutex_lock(&st->lock);
	same = list_number(st, ks, v, n) && ks->synced && ks->absent == absent;
	old = ks->v;
	oldn = ks->n;
	ks->v = v;
	ks->n = n;
	ks->cap = n;
	index_build(ks);
	ks->synced = true;
	ks->absent = absent;
	ks->seen |= n > 0;
	if (same) {		/* a relist that found what the store held: no reload */
		store_synced_now(st, k);
	} else {
		log_drop(ks, 1);	/* anything may have changed: readers read it all */
		store_changed(st, k);
	}
	pthread_mutex_unlock(&st->lock);
	kstore_objs_free(old, oldn);
}

void
kstore_touch(struct kube_store *st, enum kube_kind k)
{
	pthread_mutex_lock(&st->lock);
	store_synced_now(st, k);
	pthread_mutex_unlock(&st->lock);
}

const char *
kube_ds_state_name(enum kube_ds_state s)
{
	static const char *const names[] = {
		[KUBE_DS_UNKNOWN] = "unknown", [KUBE_DS_PRESENT] = "present",
		[KUBE_DS_DELETING] = "deleting", [KUBE_DS_GONE] = "gone",
	};

	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "unknown";
}

/* PRESENT or DELETING, by the object's metadata.deletionTimestamp. */
enum kube_ds_state
kstore_ds_of(const char *json, size_t n)
{
	struct jspan obj = { json, n };
	struct jspan ts = jscan_path(obj, "metadata.deletionTimestamp");

	return ts.p != NULL && ts.n > 0 && ts.p[0] != 'n' ? KUBE_DS_DELETING : KUBE_DS_PRESENT;
}

enum kube_ds_state
kube_daemonset_state(struct kube_store *st)
{
	const struct kube_kind_state *ks = &st->kinds[KK_DAEMONSET];
	enum kube_ds_state s = KUBE_DS_UNKNOWN;

	pthread_mutex_lock(&st->lock);
	if (ks->n > 0)
		s = kstore_ds_of(ks->v[0].json, strlen(ks->v[0].json));
	else if (ks->synced && !ks->absent && ks->seen)
		s = KUBE_DS_GONE;
	pthread_mutex_unlock(&st->lock);
	return s;
}
