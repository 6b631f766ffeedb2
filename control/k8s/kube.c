/*
 * kube.c - list/watch reflectors over libcurl feeding the object store
 * (see kube.h). One thread per kind, plus the store shared with the control
 * thread under a mutex. The bearer token is never logged.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "jscan.h"
#include "kube.h"
#include "log.h"
#include "stats.h"
#include "xalloc.h"

#define SA_DIR		"/var/run/secrets/kubernetes.io/serviceaccount"
#define PAGE_LIMIT	500
#define TOKEN_REREAD_NS	(60ull * 1000000000ull)
#define IDLE_SECONDS	180		/* no byte for 3 minutes: the stream is dead */
#define HEALTHY_NS	(120ull * 1000000000ull)

static const struct {
	const char *kind;
	const char *resource;
	bool calico;
} kinds[KK_NKINDS] = {
	[KK_GNP] = { "GlobalNetworkPolicy", "globalnetworkpolicies", true },
	[KK_SGNP] = { "StagedGlobalNetworkPolicy", "stagedglobalnetworkpolicies", true },
	[KK_HEP] = { "HostEndpoint", "hostendpoints", true },
	[KK_GNS] = { "GlobalNetworkSet", "globalnetworksets", true },
	[KK_NS] = { "NetworkSet", "networksets", true },
	[KK_TIER] = { "Tier", "tiers", true },
	[KK_FELIX] = { "FelixConfiguration", "felixconfigurations", true },
	[KK_NODE] = { "Node", "nodes", false },
};

struct reflector;

struct kube_client {
	char *server;
	char *token_file;
	char *ca_file;
	char *node;
	char *group_version;
	struct kube_store *st;
	pthread_t boot;
	bool boot_started;
	int stop;
	pthread_mutex_t tok_lock;
	char token[8192];
	uint64_t token_read_ns;
	struct reflector *refl[KK_NKINDS];
};

struct buf {
	char *p;
	size_t n;
	size_t cap;
};

struct reflector {
	struct kube_client *kc;
	enum kube_kind kind;
	pthread_t thread;
	bool started;
	char rv[128];			/* resourceVersion to watch from; "" = list first */
	bool list_fresh;		/* after a 410: list with resourceVersion "" */
	double backoff;			/* seconds */
	uint64_t last_failure_ns;
	struct buf line;		/* a watch event being assembled */
	int watch_result;
	unsigned events;
	double retry_after;
};

enum {
	W_END,				/* the server ended the watch cleanly: re-watch */
	W_GONE,				/* 410: relist */
	W_ERROR,			/* back off */
	W_THROTTLED,			/* 429: wait Retry-After */
	W_STOP,
};

const char *
kube_kind_name(enum kube_kind k)
{
	return (unsigned)k < KK_NKINDS ? kinds[k].kind : "?";
}

/* ---- the store ----------------------------------------------------------------- */

int
kube_store_init(struct kube_store *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
	st->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return st->efd < 0 ? -errno : 0;
}

static void
objs_free(struct kube_obj *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].json);
	}
	free(v);
}

void
kube_store_free(struct kube_store *st)
{
	for (int k = 0; k < KK_NKINDS; k++)
		objs_free(st->kinds[k].v, st->kinds[k].n);
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
		all = all && st->kinds[k].synced;
	pthread_mutex_unlock(&st->lock);
	return all;
}

/* Caller holds the lock. */
static void
store_changed(struct kube_store *st, enum kube_kind k)
{
	uint64_t one = 1;

	st->version++;
	st->kinds[k].last_sync_ns = mono_ns();
	st->kinds[k].last_sync_unix = (uint64_t)time(NULL);
	(void)!write(st->efd, &one, sizeof(one));
}

static ssize_t
store_find(const struct kube_kind_state *ks, const char *key)
{
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->v[i].key, key) == 0)
			return (ssize_t)i;
	return -1;
}

static void
store_upsert(struct kube_store *st, enum kube_kind k, const char *key, const char *json, size_t n)
{
	struct kube_kind_state *ks = &st->kinds[k];
	ssize_t i;

	pthread_mutex_lock(&st->lock);
	i = store_find(ks, key);
	if (i < 0) {
		XGROW(ks->v, ks->n);
		i = (ssize_t)ks->n++;
		ks->v[i].key = xstrdup(key);
		ks->v[i].json = NULL;
	}
	free(ks->v[i].json);
	ks->v[i].json = xmalloc(n + 1);
	memcpy(ks->v[i].json, json, n);
	ks->v[i].json[n] = '\0';
	store_changed(st, k);
	pthread_mutex_unlock(&st->lock);
}

static void
store_delete(struct kube_store *st, enum kube_kind k, const char *key)
{
	struct kube_kind_state *ks = &st->kinds[k];
	ssize_t i;

	pthread_mutex_lock(&st->lock);
	i = store_find(ks, key);
	if (i >= 0) {
		free(ks->v[i].key);
		free(ks->v[i].json);
		ks->v[i] = ks->v[--ks->n];
	}
	store_changed(st, k);
	pthread_mutex_unlock(&st->lock);
}

/* A relist replaces the kind's objects: what vanished is deleted (mark and sweep). */
static void
store_replace(struct kube_store *st, enum kube_kind k, struct kube_obj *v, size_t n)
{
	struct kube_kind_state *ks = &st->kinds[k];
	struct kube_obj *old;
	size_t oldn;

	pthread_mutex_lock(&st->lock);
	old = ks->v;
	oldn = ks->n;
	ks->v = v;
	ks->n = n;
	ks->synced = true;
	ks->absent = false;
	store_changed(st, k);
	pthread_mutex_unlock(&st->lock);
	objs_free(old, oldn);
}

/* ---- configuration and auth ---------------------------------------------------------- */

static char *
read_file(const char *path, size_t max)
{
	FILE *f = fopen(path, "rb");
	char *s;
	size_t n;

	if (f == NULL)
		return NULL;
	s = xmalloc(max + 1);
	n = fread(s, 1, max, f);
	fclose(f);
	s[n] = '\0';
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
	return s;
}

/* The token, re-read at least every minute and at once after a 401 (@force). */
static bool
token_get(struct kube_client *kc, char *out, size_t size, bool force)
{
	uint64_t now = mono_ns();
	bool ok;

	pthread_mutex_lock(&kc->tok_lock);
	if (force || kc->token[0] == '\0' || now - kc->token_read_ns > TOKEN_REREAD_NS) {
		char *t = read_file(kc->token_file, sizeof(kc->token) - 1);

		if (t != NULL) {
			snprintf(kc->token, sizeof(kc->token), "%s", t);
			free(t);
			kc->token_read_ns = now;
		}
	}
	ok = kc->token[0] != '\0';
	snprintf(out, size, "%s", kc->token);
	pthread_mutex_unlock(&kc->tok_lock);
	return ok;
}

/* ---- HTTP -------------------------------------------------------------------------------- */

struct http_call {
	struct reflector *r;
	struct buf *body;		/* whole-body requests */
	size_t (*stream)(char *p, size_t n, struct reflector *r);	/* watches */
	double retry_after;
};

static size_t
body_cb(char *p, size_t sz, size_t nm, void *arg)
{
	struct http_call *c = arg;
	size_t n = sz * nm;

	if (c->stream != NULL)
		return c->stream(p, n, c->r);
	if (c->body->n + n + 1 > c->body->cap) {
		c->body->cap = (c->body->n + n + 1) * 2;
		c->body->p = xrealloc(c->body->p, c->body->cap);
	}
	memcpy(c->body->p + c->body->n, p, n);
	c->body->n += n;
	c->body->p[c->body->n] = '\0';
	return n;
}

static size_t
header_cb(char *p, size_t sz, size_t nm, void *arg)
{
	struct http_call *c = arg;
	size_t n = sz * nm;

	if (n > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
		c->retry_after = strtod(p + 12, NULL);
	return n;
}

static int
progress_cb(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct reflector *r = arg;

	(void)a, (void)b, (void)c, (void)d;
	return __atomic_load_n(&r->kc->stop, __ATOMIC_RELAXED) ? 1 : 0;
}

/*
 * One GET. @stream: a watch (no overall timeout; dead when idle for
 * IDLE_SECONDS). Returns the HTTP status, or -1 with *cerr set.
 */
static long
http_get(struct reflector *r, const char *url, struct http_call *call, CURLcode *cerr)
{
	struct kube_client *kc = r->kc;
	char auth[8300], token[8192];
	struct curl_slist *h = NULL;
	long status = -1;
	CURL *c = curl_easy_init();

	if (c == NULL) {
		*cerr = CURLE_OUT_OF_MEMORY;
		return -1;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		token_get(kc, token, sizeof(token), attempt > 0);
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(NULL, auth);
		h = curl_slist_append(h, "Accept: application/json");
		h = curl_slist_append(h, "User-Agent: nfqwall/0.1");
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_CAINFO, kc->ca_file);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
#if LIBCURL_VERSION_NUM >= 0x075700
		curl_easy_setopt(c, CURLOPT_CA_CACHE_TIMEOUT, 0L);	/* re-read a rotated CA */
#endif
		curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
		curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, call);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, call);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, r);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, call->stream ? (long)IDLE_SECONDS : 60L);
		if (call->stream == NULL)
			curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
		call->retry_after = 0;
		if (call->body)
			call->body->n = 0;
		*cerr = curl_easy_perform(c);
		curl_slist_free_all(h);
		status = -1;
		if (*cerr == CURLE_OK || *cerr == CURLE_WRITE_ERROR)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (status != 401)
			break;
		log_warn("API server answered 401: re-reading the token", "kind=%s",
			 kinds[r->kind].kind);
	}
	curl_easy_cleanup(c);
	return status;
}

/* ---- list --------------------------------------------------------------------------------- */

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

struct list_acc {
	struct kube_obj *v;
	size_t n;
	enum kube_kind kind;
	const char *api_version;
};

static bool
list_item(struct jspan item, void *arg)
{
	struct list_acc *a = arg;
	char key[520];
	struct kube_obj *o;

	object_key(item, key, sizeof(key));
	if (key[0] == '\0')
		return true;
	XGROW(a->v, a->n);
	o = &a->v[a->n++];
	o->key = xstrdup(key);
	/* items of built-in lists carry no kind/apiVersion: give them back */
	if (jscan_get(item, "kind").p == NULL) {
		o->json = xasprintf("{\"apiVersion\":\"%s\",\"kind\":\"%s\",%.*s",
				    a->api_version, kinds[a->kind].kind, (int)(item.n - 1), item.p + 1);
	} else {
		o->json = xmalloc(item.n + 1);
		memcpy(o->json, item.p, item.n);
		o->json[item.n] = '\0';
	}
	return true;
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
			 kinds[r->kind].resource, query);
}

static int
status_reason(const struct buf *b, char *reason, size_t size)
{
	struct jspan s = { b->p, b->n };

	reason[0] = '\0';
	if (b->p)
		jscan_string(jscan_get(s, "reason"), reason, size);
	return 0;
}

static int
do_list(struct reflector *r)
{
	struct kube_client *kc = r->kc;
	struct list_acc acc = { NULL, 0, r->kind, r->kind == KK_NODE ? "v1" : kc->st->group_version };
	struct buf body = { NULL, 0, 0 };
	char cont[2048] = "", url[4096], query[2600], rv[128] = "";
	struct http_call call = { r, &body, NULL, 0 };
	int err = W_ERROR;

	STAT_ADD(kc->st->kinds[r->kind].relists, 1);
	STAT_ADD(kc->st->totals.relists, 1);
	do {
		CURLcode ce;
		long st;

		snprintf(query, sizeof(query), "limit=%d&resourceVersion=%s%s%s", PAGE_LIMIT,
			 r->list_fresh ? "" : "0", cont[0] ? "&continue=" : "", cont);
		collection_url(r, url, sizeof(url), query);
		st = http_get(r, url, &call, &ce);
		if (__atomic_load_n(&kc->stop, __ATOMIC_RELAXED)) {
			err = W_STOP;
			goto out;
		}
		if (st == 404 && kinds[r->kind].calico) {
			/* the API does not serve this kind: nothing of it to enforce */
			pthread_mutex_lock(&kc->st->lock);
			kc->st->kinds[r->kind].absent = true;
			pthread_mutex_unlock(&kc->st->lock);
			store_replace(kc->st, r->kind, NULL, 0);
			err = W_GONE;
			goto out;
		}
		if (st == 410) {
			/* an expired continue: start the list again */
			log_info("list continuation expired: listing again", "kind=%s",
				 kinds[r->kind].kind);
			objs_free(acc.v, acc.n);
			acc.v = NULL;
			acc.n = 0;
			cont[0] = '\0';
			r->list_fresh = true;
			continue;
		}
		if (st == 429) {
			r->retry_after = call.retry_after > 0 ? call.retry_after : 1;
			err = W_THROTTLED;
			goto out;
		}
		if (st != 200) {
			char reason[64];

			status_reason(&body, reason, sizeof(reason));
			log_warn("list failed", "kind=%s status=%ld curl=\"%s\" reason=%s",
				 kinds[r->kind].kind, st, curl_easy_strerror(ce), reason);
			goto out;
		}
		struct jspan doc = { body.p, body.n }, items = jscan_get(doc, "items");

		if (items.p != NULL && !(items.n == 4 && memcmp(items.p, "null", 4) == 0) &&
		    !jscan_each(items, list_item, &acc)) {
			log_warn("list: malformed JSON", "kind=%s", kinds[r->kind].kind);
			goto out;
		}
		jscan_string(jscan_path(doc, "metadata.resourceVersion"), rv, sizeof(rv));
		cont[0] = '\0';
		jscan_string(jscan_path(doc, "metadata.continue"), cont, sizeof(cont));
	} while (cont[0] != '\0');
	store_replace(kc->st, r->kind, acc.v, acc.n);
	acc.v = NULL;
	acc.n = 0;
	snprintf(r->rv, sizeof(r->rv), "%s", rv);
	r->list_fresh = false;
	STAT_SET(kc->st->totals.last_sync_unix, (uint64_t)time(NULL));
	err = W_END;
out:
	objs_free(acc.v, acc.n);
	free(body.p);
	return err;
}

/* ---- watch --------------------------------------------------------------------------------- */

/* One event line. Returns W_END to go on, W_GONE or W_ERROR to end the watch. */
static int
watch_event(struct reflector *r, const char *p, size_t n)
{
	struct kube_client *kc = r->kc;
	struct jspan ev = { p, n }, obj = jscan_get(ev, "object");
	char type[16] = "", key[520], rv[128] = "";

	if (!jscan_string(jscan_get(ev, "type"), type, sizeof(type)) || obj.p == NULL) {
		log_warn("watch: malformed event", "kind=%s", kinds[r->kind].kind);
		return W_ERROR;
	}
	if (strcmp(type, "ERROR") == 0) {
		char reason[64] = "";
		struct jspan cs = jscan_get(obj, "code");
		long code = cs.p ? strtol(cs.p, NULL, 10) : 0;

		jscan_string(jscan_get(obj, "reason"), reason, sizeof(reason));
		if (code == 410 || strcmp(reason, "Expired") == 0 || strcmp(reason, "Gone") == 0)
			return W_GONE;
		log_warn("watch: error event", "kind=%s code=%ld reason=%s", kinds[r->kind].kind,
			 code, reason);
		return W_ERROR;
	}
	jscan_string(jscan_path(obj, "metadata.resourceVersion"), rv, sizeof(rv));
	if (rv[0])
		snprintf(r->rv, sizeof(r->rv), "%s", rv);
	r->events++;
	if (strcmp(type, "BOOKMARK") == 0) {
		pthread_mutex_lock(&kc->st->lock);
		kc->st->kinds[r->kind].last_sync_ns = mono_ns();
		kc->st->kinds[r->kind].last_sync_unix = (uint64_t)time(NULL);
		pthread_mutex_unlock(&kc->st->lock);
		STAT_SET(kc->st->totals.last_sync_unix, (uint64_t)time(NULL));
		return W_END;
	}
	object_key(obj, key, sizeof(key));
	if (strcmp(type, "DELETED") == 0) {
		store_delete(kc->st, r->kind, key);
	} else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
		struct list_acc one = { NULL, 0, r->kind, r->kind == KK_NODE ? "v1" :
								       kc->st->group_version };

		list_item(obj, &one);
		if (one.n == 1)
			store_upsert(kc->st, r->kind, one.v[0].key, one.v[0].json,
				     strlen(one.v[0].json));
		objs_free(one.v, one.n);
	}
	STAT_SET(kc->st->totals.last_sync_unix, (uint64_t)time(NULL));
	return W_END;
}

/* Bytes of the stream, split anywhere: assemble lines, handle each. */
static size_t
watch_bytes(char *p, size_t n, struct reflector *r)
{
	struct buf *b = &r->line;

	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
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
	struct buf body = { NULL, 0, 0 };
	struct http_call call = { r, &body, watch_bytes, 0 };
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
	st = http_get(r, url, &call, &ce);
	free(body.p);
	if (__atomic_load_n(&kc->stop, __ATOMIC_RELAXED))
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
			 kinds[r->kind].kind, st, curl_easy_strerror(ce));
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

	while (!__atomic_load_n(&kc->stop, __ATOMIC_RELAXED) && mono_ns() < end) {
		struct timespec ts = { 0, 100000000 };

		nanosleep(&ts, NULL);
	}
}

/* Jittered exponential backoff: 0.8 s doubling to 30 s, each sleep in [d, 2d). */
static void
backoff(struct reflector *r)
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

	while (!__atomic_load_n(&kc->stop, __ATOMIC_RELAXED)) {
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
			log_info("watch expired (410): relisting", "kind=%s", kinds[r->kind].kind);
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
			backoff(r);
			break;
		}
	}
	free(r->line.p);
	return NULL;
}

/* ---- discovery and start --------------------------------------------------------------------- */

static bool
group_served(const struct buf *b, const char *group)
{
	char needle[128];

	snprintf(needle, sizeof(needle), "\"name\":\"%s\"", group);
	if (b->p && strstr(b->p, needle))
		return true;
	snprintf(needle, sizeof(needle), "\"name\": \"%s\"", group);
	return b->p && strstr(b->p, needle);
}

static void *
boot_main(void *arg)
{
	struct kube_client *kc = arg;
	struct reflector probe = { .kc = kc, .kind = KK_GNP };

	if (kc->group_version == NULL) {
		struct buf body = { NULL, 0, 0 };
		struct http_call call = { &probe, &body, NULL, 0 };
		char url[1024];

		snprintf(url, sizeof(url), "%s/apis", kc->server);
		while (!__atomic_load_n(&kc->stop, __ATOMIC_RELAXED)) {
			CURLcode ce;
			long st = http_get(&probe, url, &call, &ce);

			if (st == 200 && group_served(&body, "crd.projectcalico.org")) {
				kc->group_version = xstrdup("crd.projectcalico.org/v1");
				break;
			}
			if (st == 200 && group_served(&body, "projectcalico.org")) {
				kc->group_version = xstrdup("projectcalico.org/v3");
				break;
			}
			log_warn("discovery: no Calico API group yet", "status=%ld curl=\"%s\"", st,
				 curl_easy_strerror(ce));
			backoff(&probe);
		}
		free(body.p);
		if (kc->group_version == NULL)
			return NULL;
	}
	snprintf(kc->st->group_version, sizeof(kc->st->group_version), "%s", kc->group_version);
	log_info("watching the Kubernetes API", "server=%s group=%s node=%s", kc->server,
		 kc->group_version, kc->node);
	for (int k = 0; k < KK_NKINDS; k++) {
		struct reflector *r = xcalloc(1, sizeof(*r));

		r->kc = kc;
		r->kind = (enum kube_kind)k;
		kc->refl[k] = r;
		if (pthread_create(&r->thread, NULL, reflector_main, r) == 0)
			r->started = true;
		else
			log_err("cannot start a reflector thread", "kind=%s", kinds[k].kind);
	}
	return NULL;
}

static bool
safe_node_name(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return false;
	return *s != '\0' && strlen(s) <= 253;
}

int
kube_start(struct kube_client **out, const struct kube_config *cfg, struct kube_store *st,
	   char *why, size_t whylen)
{
	struct kube_client *kc;
	static bool curl_ready;

	if (!curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_ready = true;
	}
	if (cfg->node == NULL || !safe_node_name(cfg->node)) {
		snprintf(why, whylen, "the node name '%s' is not a Kubernetes node name",
			 cfg->node ? cfg->node : "");
		return -EINVAL;
	}
	kc = xcalloc(1, sizeof(*kc));
	pthread_mutex_init(&kc->tok_lock, NULL);
	kc->st = st;
	kc->node = xstrdup(cfg->node);
	kc->token_file = xstrdup(cfg->token_file ? cfg->token_file : SA_DIR "/token");
	kc->ca_file = xstrdup(cfg->ca_file ? cfg->ca_file : SA_DIR "/ca.crt");
	kc->group_version = cfg->group_version ? xstrdup(cfg->group_version) : NULL;
	if (cfg->server != NULL) {
		kc->server = xstrdup(cfg->server);
	} else {
		const char *host = getenv("KUBERNETES_SERVICE_HOST");
		const char *port = getenv("KUBERNETES_SERVICE_PORT");

		if (host == NULL || port == NULL) {
			snprintf(why, whylen, "not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset) "
				 "and no --api-server");
			kube_stop(kc);
			return -EINVAL;
		}
		kc->server = xasprintf("https://%s%s%s:%s", strchr(host, ':') ? "[" : "", host,
				       strchr(host, ':') ? "]" : "", port);
	}
	if (strncmp(kc->server, "https://", 8) != 0) {
		snprintf(why, whylen, "the API server must be https:// (TLS is always verified)");
		kube_stop(kc);
		return -EINVAL;
	}
	if (pthread_create(&kc->boot, NULL, boot_main, kc) != 0) {
		snprintf(why, whylen, "cannot start a thread");
		kube_stop(kc);
		return -EAGAIN;
	}
	kc->boot_started = true;
	*out = kc;
	return 0;
}

void
kube_stop(struct kube_client *kc)
{
	if (kc == NULL)
		return;
	__atomic_store_n(&kc->stop, 1, __ATOMIC_RELAXED);
	if (kc->boot_started)
		pthread_join(kc->boot, NULL);
	for (int k = 0; k < KK_NKINDS; k++) {
		if (kc->refl[k] && kc->refl[k]->started)
			pthread_join(kc->refl[k]->thread, NULL);
		free(kc->refl[k]);
	}
	free(kc->server);
	free(kc->token_file);
	free(kc->ca_file);
	free(kc->node);
	free(kc->group_version);
	pthread_mutex_destroy(&kc->tok_lock);
	free(kc);
}
