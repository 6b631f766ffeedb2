/*
 * reflector.c - one thread per kind keeps the store (kstore.c) in step with
 * the API server, as client-go's reflector does (the protocol is in
 * kube.h): list in pages, watch from the list's resourceVersion, relist on
 * 410, re-watch on a clean end, obey Retry-After on 429, back off on
 * errors. Each reflector thread owns its struct reflector; the store is
 * shared under its mutex.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "clock.h"
#include "jscan.h"
#include "kube_int.h"
#include "log.h"
#include "stats.h"

#define PAGE_LIMIT	500
#define HEALTHY_NS	(120ull * 1000000000ull)

enum {
	W_END,				/* the server ended the watch cleanly: re-watch */
	W_GONE,				/* 410: relist */
	W_ERROR,			/* back off */
	W_THROTTLED,			/* 429: wait Retry-After */
	W_STOP,
};

/* ---- objects ------------------------------------------------------------------------------ */

static void
object_key(struct jspan obj, char *key, size_t size)
{
	char name[256] = "", ns[256] = "";

	jscan_string(jscan_path(obj, "metadata.name"), name, sizeof(name));
	jscan_string(jscan_path(obj, "metadata.namespace"), ns, sizeof(ns));
	if (ns[0])
		snprintf(key, size, "%s/%s", ns, name);
	else
		snprintf(key, size, "%s", name);
}

/* Objects gathered from a list (or one watch event) before they go to the store. */
struct list_acc {
	struct kube_obj *v;
	size_t n;
	size_t cap;
	enum kube_kind kind;
	const char *api_version;
	int err;			/* -ENOMEM: an object could not be kept */
};

/* The object's JSON as the store keeps it: items of built-in lists carry no
 * kind/apiVersion, so they are given back. NULL when out of memory. */
static char *
object_json(struct jspan item, const struct list_acc *a)
{
	char *json;

	if (jscan_get(item, "kind").p == NULL) {
		if (asprintf(&json, "{\"apiVersion\":\"%s\",\"kind\":\"%s\",%.*s", a->api_version,
			     kube_kind_name(a->kind), (int)(item.n - 1), item.p + 1) < 0)
			return NULL;
		return json;
	}
	json = malloc(item.n + 1);
	if (json != NULL) {
		memcpy(json, item.p, item.n);
		json[item.n] = '\0';
	}
	return json;
}

static bool
list_item(struct jspan item, void *arg)
{
	struct list_acc *a = arg;
	char key[520];
	struct kube_obj o;

	object_key(item, key, sizeof(key));
	if (key[0] == '\0')
		return true;
	o.key = strdup(key);
	o.json = object_json(item, a);
	if (o.key == NULL || o.json == NULL || ARRAY_PUSH_ROOM(a->v, a->cap, a->n) < 0) {
		free(o.key);
		free(o.json);
		a->err = -ENOMEM;
		return false;
	}
	a->v[a->n++] = o;
	return true;
}

static void
list_acc_reset(struct list_acc *a)
{
	kstore_objs_free(a->v, a->n);
	a->v = NULL;
	a->n = a->cap = 0;
}

static const char *
api_version(const struct reflector *r)
{
	return r->kind == KK_NODE ? "v1" : r->kc->st->group_version;
}

static void
collection_url(struct reflector *r, char *url, size_t size, const char *query)
{
	struct kube_client *kc = r->kc;

	if (r->kind == KK_NODE)
		snprintf(url, size, "%s/api/v1/nodes?fieldSelector=metadata.name%%3D%s&%s", kc->server,
			 kc->node, query);
	else
		snprintf(url, size, "%s/apis/%s/%s?%s", kc->server, kc->st->group_version,
			 kube_kinds[r->kind].resource, query);
}

static void
status_reason(const struct kube_buf *b, char *reason, size_t size)
{
	struct jspan s = { b->p, b->n };

	reason[0] = '\0';
	if (b->p)
		jscan_string(jscan_get(s, "reason"), reason, size);
}

/* ---- list ---------------------------------------------------------------------------------- */

/* One page's items into @acc, and its resourceVersion and continue token. W_END or W_ERROR. */
static int
list_page(struct reflector *r, const struct kube_buf *body, struct list_acc *acc, char *rv,
	  size_t rvlen, char *cont, size_t contlen)
{
	struct jspan doc = { body->p, body->n }, items = jscan_get(doc, "items");

	if (items.p != NULL && !(items.n == 4 && memcmp(items.p, "null", 4) == 0) &&
	    !jscan_each(items, list_item, acc)) {
		if (acc->err == -ENOMEM)
			log_warn("list: out of memory", "kind=%s", kube_kind_name(r->kind));
		else
			log_warn("list: malformed JSON", "kind=%s", kube_kind_name(r->kind));
		return W_ERROR;
	}
	jscan_string(jscan_path(doc, "metadata.resourceVersion"), rv, rvlen);
	cont[0] = '\0';
	jscan_string(jscan_path(doc, "metadata.continue"), cont, contlen);
	return W_END;
}

static int
do_list(struct reflector *r)
{
	struct kube_client *kc = r->kc;
	struct list_acc acc = { NULL, 0, 0, r->kind, api_version(r), 0 };
	struct kube_buf body = { NULL, 0, 0 };
	char cont[2048] = "", url[4096], query[2600], rv[128] = "";
	struct kapi_call call = { r, &body, NULL, 0, 0 };
	int err = W_ERROR;

	STAT_ADD(kc->st->kinds[r->kind].relists, 1);
	STAT_ADD(kc->st->totals.relists, 1);
	do {
		CURLcode ce;
		long st;

		snprintf(query, sizeof(query), "limit=%d&resourceVersion=%s%s%s", PAGE_LIMIT,
			 r->list_fresh ? "" : "0", cont[0] ? "&continue=" : "", cont);
		collection_url(r, url, sizeof(url), query);
		st = kapi_get(r, url, &call, &ce);
		if (kube_stopping(kc)) {
			err = W_STOP;
			goto out;
		}
		if (st == 404 && kube_kinds[r->kind].calico) {
			/* the API does not serve this kind: nothing of it to enforce */
			kstore_replace(kc->st, r->kind, NULL, 0, true);
			err = W_GONE;
			goto out;
		}
		if (st == 410) {
			/* an expired continue: start the list again */
			log_info("list continuation expired: listing again", "kind=%s",
				 kube_kind_name(r->kind));
			list_acc_reset(&acc);
			cont[0] = '\0';
			r->list_fresh = true;
			continue;
		}
		if (st == 429) {
			r->retry_after = call.retry_after > 0 ? call.retry_after : 1;
			err = W_THROTTLED;
			goto out;
		}
		if (st != 200 || call.err < 0) {
			char reason[64];

			status_reason(&body, reason, sizeof(reason));
			log_warn("list failed", "kind=%s status=%ld curl=\"%s\" reason=%s",
				 kube_kind_name(r->kind), st,
				 call.err < 0 ? "out of memory" : curl_easy_strerror(ce), reason);
			goto out;
		}
		if (list_page(r, &body, &acc, rv, sizeof(rv), cont, sizeof(cont)) != W_END)
			goto out;
	} while (cont[0] != '\0');
	kstore_replace(kc->st, r->kind, acc.v, acc.n, false);
	acc.v = NULL;
	acc.n = 0;
	snprintf(r->rv, sizeof(r->rv), "%s", rv);
	r->list_fresh = false;
	STAT_SET(kc->st->totals.last_sync_unix, (uint64_t)time(NULL));
	err = W_END;
out:
	kstore_objs_free(acc.v, acc.n);
	free(body.p);
	return err;
}

/* ---- watch --------------------------------------------------------------------------------- */

/* An ERROR event: W_GONE for an expired resourceVersion, else W_ERROR. */
static int
watch_error(struct reflector *r, struct jspan obj)
{
	char reason[64] = "";
	struct jspan cs = jscan_get(obj, "code");
	long code = cs.p ? strtol(cs.p, NULL, 10) : 0;

	jscan_string(jscan_get(obj, "reason"), reason, sizeof(reason));
	if (code == 410 || strcmp(reason, "Expired") == 0 || strcmp(reason, "Gone") == 0)
		return W_GONE;
	log_warn("watch: error event", "kind=%s code=%ld reason=%s", kube_kind_name(r->kind), code,
		 reason);
	return W_ERROR;
}

/* ADDED or MODIFIED: the object into the store. 0 or -ENOMEM. */
static int
watch_upsert(struct reflector *r, struct jspan obj)
{
	struct list_acc one = { NULL, 0, 0, r->kind, api_version(r), 0 };
	int err;

	list_item(obj, &one);
	err = one.err;
	if (err == 0 && one.n == 1)
		err = kstore_upsert(r->kc->st, r->kind, one.v[0].key, one.v[0].json,
				    strlen(one.v[0].json));
	kstore_objs_free(one.v, one.n);
	return err;
}

/* One event line. Returns W_END to go on, W_GONE or W_ERROR to end the watch. */
static int
watch_event(struct reflector *r, const char *p, size_t n)
{
	struct kube_client *kc = r->kc;
	struct jspan ev = { p, n }, obj = jscan_get(ev, "object");
	char type[16] = "", key[520], rv[128] = "";

	if (!jscan_string(jscan_get(ev, "type"), type, sizeof(type)) || obj.p == NULL) {
		log_warn("watch: malformed event", "kind=%s", kube_kind_name(r->kind));
		return W_ERROR;
	}
	if (strcmp(type, "ERROR") == 0)
		return watch_error(r, obj);
	jscan_string(jscan_path(obj, "metadata.resourceVersion"), rv, sizeof(rv));
	r->events++;
	if (strcmp(type, "BOOKMARK") == 0) {
		kstore_touch(kc->st, r->kind);
	} else if (strcmp(type, "DELETED") == 0) {
		object_key(obj, key, sizeof(key));
		kstore_delete(kc->st, r->kind, key);
	} else if ((strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) &&
		   watch_upsert(r, obj) < 0) {
		/* the store missed this event: list again rather than go on without it */
		log_warn("watch: out of memory: relisting", "kind=%s", kube_kind_name(r->kind));
		r->rv[0] = '\0';
		return W_ERROR;
	}
	if (rv[0])
		snprintf(r->rv, sizeof(r->rv), "%s", rv);
	STAT_SET(kc->st->totals.last_sync_unix, (uint64_t)time(NULL));
	return W_END;
}

/* Bytes of the stream, split anywhere: assemble lines, handle each. */
static size_t
watch_bytes(char *p, size_t n, struct reflector *r)
{
	struct kube_buf *b = &r->line;

	if (kube_buf_append(b, p, n) < 0) {
		log_warn("watch: out of memory", "kind=%s", kube_kind_name(r->kind));
		r->watch_result = W_ERROR;
		return 0;	/* abort the transfer; re-watch from the last event */
	}
	for (;;) {
		char *nl = memchr(b->p, '\n', b->n);
		size_t len;
		int res;

		if (nl == NULL)
			break;
		len = (size_t)(nl - b->p);
		res = len > 0 ? watch_event(r, b->p, len) : W_END;
		memmove(b->p, nl + 1, b->n - len - 1);
		b->n -= len + 1;
		if (res != W_END) {
			r->watch_result = res;
			return 0;	/* abort the transfer */
		}
	}
	return n;
}

static int
do_watch(struct reflector *r)
{
	struct kube_client *kc = r->kc;
	struct kapi_call call = { r, NULL, watch_bytes, 0, 0 };
	char url[4096], query[512];
	uint64_t t0 = mono_ns();
	CURLcode ce;
	long st;

	snprintf(query, sizeof(query), "watch=true&resourceVersion=%s&allowWatchBookmarks=true"
		 "&timeoutSeconds=%d", r->rv, 300 + rand() % 301);
	collection_url(r, url, sizeof(url), query);
	r->line.n = 0;
	r->watch_result = W_END;
	r->events = 0;
	STAT_ADD(kc->st->kinds[r->kind].watch_restarts, 1);
	STAT_ADD(kc->st->totals.watch_restarts, 1);
	st = kapi_get(r, url, &call, &ce);
	if (kube_stopping(kc))
		return W_STOP;
	if (r->watch_result != W_END)
		return r->watch_result;
	if (st == 410)
		return W_GONE;
	if (st == 429) {
		r->retry_after = call.retry_after > 0 ? call.retry_after : 1;
		return W_THROTTLED;
	}
	if (st != 200 || ce != CURLE_OK) {
		log_warn("watch ended with an error", "kind=%s status=%ld curl=\"%s\"",
			 kube_kind_name(r->kind), st, curl_easy_strerror(ce));
		return W_ERROR;
	}
	/* a clean end; a very short empty one counts as an error (no spinning) */
	if (r->events == 0 && mono_ns() - t0 < 1000000000ull)
		return W_ERROR;
	return W_END;
}

/* ---- the reflector loop --------------------------------------------------------------------- */

static void
sleep_stoppable(struct kube_client *kc, double seconds)
{
	uint64_t end = mono_ns() + (uint64_t)(seconds * 1e9);

	while (!kube_stopping(kc) && mono_ns() < end) {
		struct timespec ts = { 0, 100000000 };

		nanosleep(&ts, NULL);
	}
}

void
reflector_backoff(struct reflector *r)
{
	uint64_t now = mono_ns();

	STAT_ADD(r->kc->st->kinds[r->kind].errors, 1);
	STAT_ADD(r->kc->st->totals.errors, 1);
	if (r->backoff == 0 || now - r->last_failure_ns > HEALTHY_NS)
		r->backoff = 0.8;
	else if ((r->backoff *= 2) > 30)
		r->backoff = 30;
	r->last_failure_ns = now;
	sleep_stoppable(r->kc, r->backoff * (1.0 + (double)rand() / RAND_MAX));
}

static void *
reflector_main(void *arg)
{
	struct reflector *r = arg;
	struct kube_client *kc = r->kc;

	while (!kube_stopping(kc)) {
		int res;

		if (r->rv[0] == '\0') {
			res = do_list(r);
			if (res == W_END)
				continue;	/* listed: now watch */
			if (res == W_GONE) {	/* kind not served: look again later */
				sleep_stoppable(kc, 300);
				continue;
			}
		} else {
			res = do_watch(r);
		}
		switch (res) {
		case W_END:
			break;				/* re-watch from the last RV */
		case W_GONE:
			log_info("watch expired (410): relisting", "kind=%s", kube_kind_name(r->kind));
			r->rv[0] = '\0';
			r->list_fresh = false;
			break;
		case W_THROTTLED:
			STAT_ADD(kc->st->kinds[r->kind].errors, 1);
			sleep_stoppable(kc, r->retry_after * (1.0 + 0.2 * rand() / RAND_MAX));
			break;
		case W_STOP:
			break;
		default:
			reflector_backoff(r);
			break;
		}
	}
	free(r->line.p);
	r->line.p = NULL;
	return NULL;
}

int
reflector_start(struct reflector *r, struct kube_client *kc, enum kube_kind k)
{
	int err;

	memset(r, 0, sizeof(*r));
	r->kc = kc;
	r->kind = k;
	err = pthread_create(&r->thread, NULL, reflector_main, r);
	if (err != 0)
		return -err;
	r->started = true;
	return 0;
}
