/*
 * reflector.c - one thread per kind keeps the store (kstore.c) in step with
 * the API server, as client-go's reflector does (the protocol is in
 * kube.h): list in pages, watch from the list's resourceVersion, relist on
 * 410, re-watch on a clean end, obey Retry-After on 429, back off on
 * errors. A list is gathered whole before it replaces the kind's objects:
 * a 410 on a continue token (the snapshot was compacted away) throws the
 * pages away and starts again from page one, a bounded number of times.
 * The watch stream goes through the decoder in watch.c. Each reflector
 * thread owns its struct reflector; the store is shared under its mutex.
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
#define LIST_RESTARTS	3		/* a 410 mid-list starts it again from page one, this often */
#define LIST_EXPIRED	(-1)		/* list_pages: a 410, start again */
#define HEALTHY_NS	(120ull * 1000000000ull)

/* ---- objects ------------------------------------------------------------------------------ */

/* Objects gathered from a list before they go to the store, all at once. */
struct list_acc {
	struct kube_obj *v;
	size_t n;
	size_t cap;
	size_t bytes;			/* JSON text kept */
	size_t max;			/* the most it may keep: kc->list_max */
	enum kube_kind kind;
	const char *api_version;
	struct strmap keys;		/* key -> index in v: a key listed twice keeps its last */
	int err;			/* -ENOMEM, -EINVAL (a malformed item), -EMSGSIZE (past max) */
};

static bool
list_item(struct jspan item, void *arg)
{
	struct list_acc *a = arg;
	struct kube_obj o;
	int err = kstore_obj_make(item, a->kind, a->api_version, &o);

	if (err == -ENOENT)
		return true;	/* no name: nothing to keep */
	if (err == KUBE_TRIM_DROP) {
		free(o.key);
		return true;	/* no endpoint */
	}
	if (err == 0) {
		size_t at;

		a->bytes += strlen(o.json);
		if (a->bytes > a->max) {
			err = -EMSGSIZE;
		} else if (strmap_get(&a->keys, o.key, &at)) {
			/* listed twice (a broken server): the last one counts, as in a watch */
			free(a->v[at].key);
			free(a->v[at].json);
			a->v[at] = o;
			return true;
		} else if (ARRAY_PUSH_ROOM(a->v, a->cap, a->n) < 0 ||
			   strmap_put(&a->keys, o.key, a->n) < 0) {
			err = -ENOMEM;
		}
	}
	if (err < 0) {
		free(o.key);
		free(o.json);
		a->err = err;
		return false;
	}
	a->v[a->n++] = o;
	return true;
}

static void
list_acc_reset(struct list_acc *a)
{
	kstore_objs_free(a->v, a->n);
	strmap_free(&a->keys);
	a->v = NULL;
	a->n = a->cap = a->bytes = 0;
	a->err = 0;
}

static const char *
api_version(const struct reflector *r)
{
	return r->kind == KK_DAEMONSET ? "apps/v1" : !kube_kinds[r->kind].calico ? "v1" :
	       r->kc->st->group_version;
}

/* The kind's collection URL with @query: 0 or -ENAMETOOLONG. */
static int
collection_url(struct reflector *r, char *url, size_t size, const char *query)
{
	struct kube_client *kc = r->kc;
	int n;

	if (r->kind == KK_NODE && !kc->all_nodes)
		n = snprintf(url, size, "%s/api/v1/nodes?fieldSelector=metadata.name%%3D%s&%s",
			     kc->server, kc->node, query);
	else if (r->kind == KK_DAEMONSET)
		n = snprintf(url, size, "%s/apis/apps/v1/namespaces/%s/daemonsets?"
			     "fieldSelector=metadata.name%%3D%s&%s", kc->server, kc->ds_namespace,
			     kc->ds_name, query);
	else if (!kube_kinds[r->kind].calico)
		n = snprintf(url, size, "%s/api/v1/%s?%s", kc->server,
			     kube_kinds[r->kind].resource, query);
	else
		n = snprintf(url, size, "%s/apis/%s/%s?%s", kc->server, kc->st->group_version,
			     kube_kinds[r->kind].resource, query);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void
status_reason(const struct kube_buf *b, char *reason, size_t size)
{
	struct jspan s = { b->p, b->n };

	reason[0] = '\0';
	if (b->p)
		(void)!kube_token(jscan_get(s, "reason"), reason, size);
}

/* ---- list ---------------------------------------------------------------------------------- */

/*
 * A page's URL: the first page at @rv_req ("0": from the watch cache, "":
 * the latest), the next ones with the continue token alone (as client-go's
 * pager: the token names the snapshot). 0 or -ENAMETOOLONG.
 */
static int
list_url(struct reflector *r, char *url, size_t size, const char *rv_req, const char *cont)
{
	char query[64 + 3 * KUBE_CONTINUE_MAX], esc[3 * KUBE_CONTINUE_MAX + 1];

	if (cont[0] == '\0')
		snprintf(query, sizeof(query), "limit=%d&resourceVersion=%s", PAGE_LIMIT, rv_req);
	else if (kube_escape(cont, esc, sizeof(esc)) == 0)
		snprintf(query, sizeof(query), "limit=%d&continue=%s", PAGE_LIMIT, esc);
	else
		return -ENAMETOOLONG;
	return collection_url(r, url, size, query);
}

/* A list page's bytes, as they come: into the page's decoder; 0 ends the transfer. */
static size_t
list_bytes(char *p, size_t n, struct reflector *r)
{
	return list_dec_feed(r->ldec, p, n) == 0 ? n : 0;
}

/*
 * One page, decoded as it came (its items are in @acc already): its
 * resourceVersion into @rv, its continue token into @cont.
 */
static int
list_page(struct reflector *r, struct list_dec *dec, struct list_acc *acc, char *rv, char *cont)
{
	int err = list_dec_finish(dec);
	struct jspan doc = { dec->env.p, dec->env.n };
	const char *why = NULL;

	if (err == -ECANCELED)		/* list_item stopped: acc->err says why */
		why = acc->err == -ENOMEM ? "out of memory" :
		      acc->err == -EMSGSIZE ? "the objects kept are larger than the limit" :
		      "malformed object";
	else if (err == -EMSGSIZE)
		why = "an object, the envelope or the page is larger than the limit";
	else if (err < 0)
		why = err == -ENOMEM ? "out of memory" : "malformed JSON";
	else if (kube_token(jscan_path(doc, "metadata.resourceVersion"), rv, KUBE_RV_MAX + 1) < 0)
		why = "no resourceVersion, or too long";
	else if (kube_token(jscan_path(doc, "metadata.continue"), cont, KUBE_CONTINUE_MAX + 1) ==
		 -EINVAL)
		why = "continue token not a string, or too long";
	if (why != NULL) {
		log_warn("list failed", "kind=%s reason=\"%s\" objects=%zu bytes=%zu limit=%zu "
			 "received=%llu", kube_kind_name(r->kind), why, acc->n, acc->bytes, acc->max,
			 (unsigned long long)dec->raw);
		return KUBE_ERROR;
	}
	return KUBE_OK;
}

/*
 * Every page of one list into @acc, its resourceVersion into @rv.
 * KUBE_OK, LIST_EXPIRED (a 410 on page *@page) or how the list failed.
 */
static int
list_pages(struct reflector *r, struct list_acc *acc, const char *rv_req, char *rv,
	   unsigned *page)
{
	struct kube_client *kc = r->kc;
	/* a page's items go to @acc as they arrive; the body is kept only for an error */
	struct kube_buf body = { .max = KUBE_ERROR_BODY_MAX };
	struct kapi_call call = { .r = r, .body = &body, .stream = list_bytes };
	char cont[KUBE_CONTINUE_MAX + 1] = "", url[KUBE_URL_MAX], reason[64];
	struct list_dec dec;
	int res = KUBE_ERROR;

	*page = 0;
	list_dec_init(&dec, KUBE_EVENT_MAX, list_item, acc);
	r->ldec = &dec;
	do {
		CURLcode ce = CURLE_OK;
		long st;

		if (list_url(r, url, sizeof(url), rv_req, cont) < 0) {
			log_warn("list failed: the URL is too long", "kind=%s", kube_kind_name(r->kind));
			goto out;
		}
		++*page;
		list_dec_free(&dec);
		list_dec_init(&dec, KUBE_EVENT_MAX, list_item, acc);
		st = kc->get(r, url, &call, &ce);
		if (kube_stopping(kc)) {
			res = KUBE_STOP;
			goto out;
		}
		if (st == 404 && kube_kinds[r->kind].calico) {
			res = KUBE_GONE;	/* the API does not serve this kind */
			goto out;
		}
		if (st == 410) {
			res = LIST_EXPIRED;
			goto out;
		}
		if (st == 429) {
			r->retry_after = call.retry_after > 0 ? call.retry_after : 1;
			res = KUBE_THROTTLED;
			goto out;
		}
		if (st == 200 && dec.err != 0) {	/* the decoder stopped the transfer */
			res = list_page(r, &dec, acc, rv, cont);
			goto out;
		}
		if (st != 200 || call.err < 0 || ce != CURLE_OK) {
			status_reason(&body, reason, sizeof(reason));
			log_warn("list failed", "kind=%s status=%ld curl=\"%s\" reason=%s",
				 kube_kind_name(r->kind), st,
				 call.err == -EMSGSIZE ? "the error answer is larger than the limit" :
				 call.err < 0 ? "out of memory" : curl_easy_strerror(ce), reason);
			goto out;
		}
		res = list_page(r, &dec, acc, rv, cont);
	} while (res == KUBE_OK && cont[0] != '\0');
out:
	r->ldec = NULL;
	list_dec_free(&dec);
	free(body.p);
	return res;
}

int
reflector_list(struct reflector *r)
{
	struct kube_client *kc = r->kc;
	struct list_acc acc = { .max = kc->list_max, .kind = r->kind, .api_version = api_version(r) };
	char rv[KUBE_RV_MAX + 1] = "";
	int res;

	STAT_ADD(kc->st->kinds[r->kind].relists, 1);
	STAT_ADD(kc->st->totals.relists, 1);
	for (int restarts = 0;; restarts++) {
		unsigned page;

		res = list_pages(r, &acc, r->list_fresh ? "" : "0", rv, &page);
		if (res != LIST_EXPIRED)
			break;
		/* what was gathered is thrown away: never a partial list in the store */
		list_acc_reset(&acc);
		if (page == 1)
			r->list_fresh = true;	/* the version asked for is gone: the latest */
		if (restarts == LIST_RESTARTS) {
			log_warn("list expired (410) again and again: backing off", "kind=%s restarts=%d",
				 kube_kind_name(r->kind), restarts);
			res = KUBE_ERROR;
			break;
		}
		log_info("list expired (410): listing again from the first page", "kind=%s page=%u",
			 kube_kind_name(r->kind), page);
	}
	if (res == KUBE_GONE) {
		kstore_replace(kc->st, r->kind, NULL, 0, true);
	} else if (res == KUBE_OK) {
		kstore_replace(kc->st, r->kind, acc.v, acc.n, false);
		acc.v = NULL;
		acc.n = 0;
		memcpy(r->rv, rv, sizeof(r->rv));
		r->list_fresh = false;
		STAT_SET(kc->st->totals.last_sync_unix, (uint64_t)time(NULL));
	}
	kstore_objs_free(acc.v, acc.n);
	strmap_free(&acc.keys);
	return res;
}

/* ---- watch --------------------------------------------------------------------------------- */

/* The stream of a 200 answer: into the decoder; 0 ends the transfer. */
static size_t
watch_bytes(char *p, size_t n, struct reflector *r)
{
	return watch_dec_feed(&r->dec, p, n) == KUBE_OK ? n : 0;
}

int
reflector_watch(struct reflector *r)
{
	struct kube_client *kc = r->kc;
	struct kapi_call call = { .r = r, .stream = watch_bytes };
	char url[KUBE_URL_MAX], query[128 + 3 * KUBE_RV_MAX], rv[3 * KUBE_RV_MAX + 1];
	uint64_t t0 = mono_ns();
	CURLcode ce = CURLE_OK;
	unsigned long events;
	long st;
	int res;

	if (kube_escape(r->rv, rv, sizeof(rv)) < 0)
		return KUBE_ERROR;	/* cannot happen: r->rv is at most KUBE_RV_MAX */
	snprintf(query, sizeof(query), "watch=true&resourceVersion=%s&allowWatchBookmarks=true"
		 "&timeoutSeconds=%d", rv, 300 + rand() % 301);
	if (collection_url(r, url, sizeof(url), query) < 0) {
		log_warn("watch failed: the URL is too long", "kind=%s", kube_kind_name(r->kind));
		return KUBE_ERROR;
	}
	watch_dec_init(&r->dec, kc->st, r->kind, api_version(r), r->rv);
	STAT_ADD(kc->st->kinds[r->kind].watch_restarts, 1);
	STAT_ADD(kc->st->totals.watch_restarts, 1);
	st = kc->get(r, url, &call, &ce);
	memcpy(r->rv, r->dec.rv, sizeof(r->rv));
	res = r->dec.result;
	events = r->dec.events;
	watch_dec_free(&r->dec);
	if (kube_stopping(kc))
		return KUBE_STOP;
	if (res != KUBE_OK)
		return res;
	if (st == 410)
		return KUBE_GONE;
	if (st == 429) {
		r->retry_after = call.retry_after > 0 ? call.retry_after : 1;
		return KUBE_THROTTLED;
	}
	if (st != 200 || ce != CURLE_OK) {
		log_warn("watch ended with an error", "kind=%s status=%ld curl=\"%s\"",
			 kube_kind_name(r->kind), st,
			 call.err == -EMSGSIZE ? "the error body is larger than the limit" :
			 curl_easy_strerror(ce));
		return KUBE_ERROR;
	}
	/* a clean end; a very short empty one counts as an error (no spinning) */
	if (events == 0 && mono_ns() - t0 < 1000000000ull)
		return KUBE_ERROR;
	return KUBE_OK;
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
			res = reflector_list(r);
			if (res == KUBE_OK)
				continue;	/* listed: now watch */
			if (res == KUBE_GONE) {	/* kind not served: look again later */
				sleep_stoppable(kc, 300);
				continue;
			}
		} else {
			res = reflector_watch(r);
		}
		switch (res) {
		case KUBE_OK:
			break;				/* re-watch from the last RV */
		case KUBE_GONE:
			log_info("watch expired (410): relisting", "kind=%s", kube_kind_name(r->kind));
			r->rv[0] = '\0';
			r->list_fresh = false;
			break;
		case KUBE_THROTTLED:
			STAT_ADD(kc->st->kinds[r->kind].errors, 1);
			sleep_stoppable(kc, r->retry_after * (1.0 + 0.2 * rand() / RAND_MAX));
			break;
		case KUBE_STOP:
			break;
		default:
			reflector_backoff(r);
			break;
		}
	}
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
