/*
 * kube_int.h - what the files of the Kubernetes client share (kube.h is
 * the room's public header):
 *
 *   kstore.c     the object store: each kind's objects as JSON text
 *   kapi.c       the API client: configuration, token, one HTTP GET over
 *                libcurl, discovery of the Calico API group, start and stop
 *   reflector.c  one thread per kind: list, watch, relist, backoff
 *
 * Private to control/k8s. The bearer token is never logged.
 */
#ifndef NFQWALL_KUBE_INT_H
#define NFQWALL_KUBE_INT_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "kube.h"

/* What the API calls each kind, and where it lives. */
struct kube_kind_info {
	const char *kind;		/* "GlobalNetworkPolicy" */
	const char *resource;		/* "globalnetworkpolicies" */
	bool calico;			/* in the Calico API group (else core v1) */
};

extern const struct kube_kind_info kube_kinds[KK_NKINDS];

/* A growing byte buffer (a response body, a watch line being assembled). */
struct kube_buf {
	char *p;
	size_t n;
	size_t cap;
};

/*
 * kube_buf_append - add @n bytes and keep the text NUL-terminated.
 * 0 or -ENOMEM (the buffer is then unchanged).
 */
int __must_check kube_buf_append(struct kube_buf *b, const char *p, size_t n);

struct kube_client;

/* One kind's list/watch loop (reflector.c); owned by its kube_client. */
struct reflector {
	struct kube_client *kc;
	enum kube_kind kind;
	pthread_t thread;
	bool started;
	char rv[128];			/* resourceVersion to watch from; "" = list first */
	bool list_fresh;		/* after a 410: list with resourceVersion "" */
	double backoff;			/* seconds */
	uint64_t last_failure_ns;
	struct kube_buf line;		/* a watch event being assembled */
	int watch_result;
	unsigned events;
	double retry_after;
};

struct kube_client {
	char *server;
	char *token_file;
	char *ca_file;
	char *node;
	char group_version[64];		/* "" until given or discovered */
	struct kube_store *st;
	pthread_t boot;
	bool boot_started;
	int stop;
	pthread_mutex_t tok_lock;
	char token[8192];
	uint64_t token_read_ns;
	struct reflector refl[KK_NKINDS];
};

/* kube_stopping - kube_stop was called: every thread winds down. */
static inline bool
kube_stopping(struct kube_client *kc)
{
	return __atomic_load_n(&kc->stop, __ATOMIC_RELAXED) != 0;
}

/* ---- kstore.c: the store (each call takes the store's lock) ---------------------------- */

/* kstore_objs_free - @n objects and the array. */
void kstore_objs_free(struct kube_obj *v, size_t n);

/* kstore_upsert - add or replace one object (copied). 0 or -ENOMEM (store unchanged). */
int __must_check kstore_upsert(struct kube_store *st, enum kube_kind k, const char *key,
			       const char *json, size_t n);

/* kstore_delete - remove one object, if present. */
void kstore_delete(struct kube_store *st, enum kube_kind k, const char *key);

/*
 * kstore_replace - a (re)list: the kind's objects become @v (taken over),
 * what vanished is gone; @absent: the API does not serve the kind.
 */
void kstore_replace(struct kube_store *st, enum kube_kind k, struct kube_obj *v, size_t n,
		    bool absent);

/* kstore_touch - a watch bookmark: the kind is in sync, nothing changed. */
void kstore_touch(struct kube_store *st, enum kube_kind k);

/* ---- kapi.c: HTTP ------------------------------------------------------------------------ */

/* One GET: a whole body into @body, or a stream handed to @stream (watches). */
struct kapi_call {
	struct reflector *r;
	struct kube_buf *body;		/* whole-body requests */
	size_t (*stream)(char *p, size_t n, struct reflector *r);	/* watches */
	double retry_after;		/* from a Retry-After header */
	int err;			/* -ENOMEM: the body is incomplete */
};

/*
 * kapi_get - one GET of @url with the bearer token (re-read once after a
 * 401). A stream has no overall timeout and is dead when idle for 3
 * minutes. Returns the HTTP status, or -1 with *@cerr set; check call->err
 * before trusting the body.
 */
long kapi_get(struct reflector *r, const char *url, struct kapi_call *call, CURLcode *cerr);

/* ---- reflector.c -------------------------------------------------------------------------- */

/* reflector_start - start kind @k's thread (list, then watch). 0 or -errno. */
int __must_check reflector_start(struct reflector *r, struct kube_client *kc, enum kube_kind k);

/* reflector_backoff - count an error of @r's kind and sleep: 0.8 s doubling
 * to 30 s with jitter, reset after two minutes of health. Stops early on kube_stop. */
void reflector_backoff(struct reflector *r);

#endif /* NFQWALL_KUBE_INT_H */
