/*
 * kube_int.h - what the files of the Kubernetes client share (kube.h is
 * the room's public header):
 *
 *   kstore.c     the object store: each kind's objects as JSON text
 *   kapi.c       the API client: configuration, token, one HTTP GET over
 *                libcurl, discovery of the Calico API group, start and stop
 *   reflector.c  one thread per kind: list, watch, relist, backoff
 *   watch.c      the watch stream decoder: bytes in any chunking -> events
 *                -> the store
 *
 * Private to control/k8s (and its tests). The bearer token is never logged.
 */
#ifndef NFQWALL_KUBE_INT_H
#define NFQWALL_KUBE_INT_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "jscan.h"
#include "kube.h"

/*
 * What the API server may send (docs/operations.md, "Kubernetes API
 * limits"). A broken or hostile server that goes past one of these ends
 * that request with an error; the reflector backs off and the store, and
 * the table built from it, stay as they were.
 *
 * KUBE_EVENT_MAX: one watch event, i.e. one line of the stream. etcd
 * refuses a request over 1.5 MiB (--max-request-bytes), so no stored
 * object is larger; its JSON with the event envelope, managedFields and a
 * built-in kind's protobuf-to-JSON growth stays well under 4 MiB.
 * KUBE_LIST_MAX_DEFAULT: one list, every page together (a page is at most
 * this too). A list from the watch cache (resourceVersion=0) ignores the
 * page limit and holds the whole kind: 64 MiB is about 20,000 policies of
 * 3 KiB, or a full page of 500 objects of 128 KiB each.
 * KUBE_RV_MAX, KUBE_CONTINUE_MAX: a resourceVersion (etcd: a decimal
 * uint64) and a continue token (base64 of a small JSON naming the last
 * key, well under 1 KiB) are opaque, but far shorter than these; both are
 * percent-encoded into the next URL.
 */
#define KUBE_EVENT_MAX		((size_t)4 << 20)
#define KUBE_LIST_MAX_DEFAULT	((size_t)64 << 20)
#define KUBE_DISCOVERY_MAX	((size_t)8 << 20)	/* the /apis document */
#define KUBE_ERROR_BODY_MAX	((size_t)64 << 10)	/* a non-200 answer to a watch */
#define KUBE_RV_MAX		128
#define KUBE_CONTINUE_MAX	4096
#define KUBE_URL_MAX		16384

/* How a list, a watch or one event ended (the reflector's next step). */
enum kube_res {
	KUBE_OK,			/* done (a watch: ended cleanly, watch again) */
	KUBE_GONE,			/* 410: relist (a list: the kind is not served) */
	KUBE_ERROR,			/* back off, then retry */
	KUBE_THROTTLED,			/* 429: wait Retry-After */
	KUBE_STOP,			/* kube_stop was called */
};

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
	size_t max;			/* most bytes it may hold; 0: no limit */
};

/*
 * kube_buf_append - add @n bytes and keep the text NUL-terminated; never
 * allocates more than max + 1 bytes. 0, -EMSGSIZE (past max) or -ENOMEM;
 * the buffer is unchanged on error.
 */
int __must_check kube_buf_append(struct kube_buf *b, const char *p, size_t n);

/*
 * kube_token - a JSON string of at most @size - 1 bytes (unescaped) into
 * @buf: 0, -ENOENT when @v is absent (buf = ""), -EINVAL when it is not a
 * string or does not fit (buf = "").
 */
int __must_check kube_token(struct jspan v, char *buf, size_t size);

/*
 * kube_escape - @s percent-encoded for a URL query (all but A-Z a-z 0-9
 * - . _ ~) into @out. 0 or -ENAMETOOLONG (out = "").
 */
int __must_check kube_escape(const char *s, char *out, size_t size);

/* ---- listdec.c: a list answer decoded as it arrives -------------------------------------- */

/*
 * KUBE_ENVELOPE_MAX: a list's envelope with its items left out (kind,
 * apiVersion, metadata: a few hundred bytes). KUBE_LIST_ITEMS_MAX and
 * KUBE_LIST_RAW_MAX: the elements and bytes of one page, kept or not (a pod
 * that is no endpoint costs nothing kept, so these bound what an endless
 * list costs in time). KUBE_LIST_DEPTH_MAX: nesting inside the answer.
 */
#define KUBE_ENVELOPE_MAX	((size_t)64 << 10)
#define KUBE_LIST_ITEMS_MAX	4000000u
#define KUBE_LIST_RAW_MAX	((uint64_t)32 << 30)
#define KUBE_LIST_DEPTH_MAX	512u

struct list_dec {
	bool (*item)(struct jspan item, void *arg);	/* false: stop (ECANCELED) */
	void *arg;
	size_t max_item;		/* one element, as sent (KUBE_EVENT_MAX) */
	struct kube_buf env;		/* the envelope, "items" as [] */
	struct kube_buf cur;		/* the element being read */
	uint64_t nitems;
	uint64_t raw;			/* bytes fed */
	int state;
	unsigned depth;
	uint64_t opened[KUBE_LIST_DEPTH_MAX / 64];	/* bit d: '{' (1) or '[' (0) at depth d + 1 */
	bool in_str, esc;
	bool want_key, in_key, key_done, keybad, items_next;
	bool seen_items;		/* an "items" array was read */
	bool closed;			/* the top-level object ended */
	char key[8];
	size_t keylen;
	int err;			/* -ENOMEM, -EMSGSIZE, -EINVAL, -ECANCELED */
};

/* list_dec_init - a decoder that hands each element of "items" to @item. */
void list_dec_init(struct list_dec *d, size_t max_item, bool (*item)(struct jspan item, void *arg),
		   void *arg);

/* list_dec_feed - the next @n bytes of the answer: 0, or the first error (sticky). */
int list_dec_feed(struct list_dec *d, const char *p, size_t n);

/* list_dec_finish - after the last byte: 0 when the answer was whole, else the error
 * (-EINVAL when cut short). d->env then holds the envelope. */
int list_dec_finish(struct list_dec *d);

/* list_dec_free - the decoder's buffers. */
void list_dec_free(struct list_dec *d);

/* ---- watch.c: the watch stream decoder -------------------------------------------------- */

/*
 * One watch stream's decoder: bytes cut anywhere (network chunks) are
 * split into lines, each line one event applied to the store. Each byte
 * is looked at once; only the start of an event cut by a chunk boundary
 * is copied, and an event longer than max_event ends the watch.
 */
struct watch_dec {
	struct kube_store *st;
	enum kube_kind kind;
	const char *api_version;	/* given to items that carry none */
	size_t max_event;		/* KUBE_EVENT_MAX; smaller in tests */
	struct kube_buf part;		/* an event's bytes so far (never a '\n') */
	char rv[KUBE_RV_MAX + 1];	/* watch again from here; "" = relist */
	unsigned long events;		/* events applied */
	int result;			/* KUBE_OK while the stream may go on */
};

/* watch_dec_init - a decoder for kind @k of @st, watching from @rv. */
void watch_dec_init(struct watch_dec *d, struct kube_store *st, enum kube_kind k,
		    const char *api_version, const char *rv);

/*
 * watch_dec_feed - the next @n bytes of the stream. Returns KUBE_OK to go
 * on, or (also in d->result, and for every later call) how the watch must
 * end: KUBE_GONE (an ERROR event with 410) or KUBE_ERROR (an ERROR event,
 * a malformed or oversized event, out of memory: then d->rv is "" when
 * watching again from it would replay the same event).
 */
int watch_dec_feed(struct watch_dec *d, const char *p, size_t n);

/* watch_dec_free - the decoder's buffer (the decoder may be initialized again). */
void watch_dec_free(struct watch_dec *d);

struct kube_client;

/* One kind's list/watch loop (reflector.c); owned by its kube_client. */
struct reflector {
	struct kube_client *kc;
	enum kube_kind kind;
	pthread_t thread;
	bool started;
	char rv[KUBE_RV_MAX + 1];	/* resourceVersion to watch from; "" = list first */
	bool list_fresh;		/* after a 410: list with resourceVersion "" */
	double backoff;			/* seconds */
	uint64_t last_failure_ns;
	struct watch_dec dec;		/* the current watch's decoder */
	struct list_dec *ldec;		/* the current list page's decoder */
	double retry_after;
};

struct kapi_call;

/* How a reflector does one GET: kapi_get, or a fake in the tests. */
typedef long (*kapi_get_fn)(struct reflector *r, const char *url, struct kapi_call *call,
			    CURLcode *cerr);

/* One transfer in the transport thread's hands (kapi.c). */
struct kube_xfer {
	CURL *easy;
	struct kube_xfer *next;		/* the pending list */
	CURLcode result;
	long status;			/* HTTP status, -1: none */
	bool done;			/* under xfer_lock */
};

struct kube_client {
	char *server;
	char *token_file;
	char *ca_file;
	char *node;
	uint32_t sock_mark;		/* SO_MARK of every connection, 0: none */
	char *ds_namespace;		/* the DaemonSet running us; NULL: not watched */
	char *ds_name;
	bool all_nodes;			/* kube_config's */
	bool workloads;
	char group_version[64];		/* "" until given or discovered */
	struct kube_store *st;
	pthread_t boot;
	bool boot_started;
	int stop;
	pthread_mutex_t tok_lock;
	char token[8192];
	uint64_t token_read_ns;
	kapi_get_fn get;		/* kapi_get */
	CURLM *multi;			/* the transport: every transfer, one thread */
	pthread_t xfer;
	bool xfer_started;
	pthread_mutex_t xfer_lock;	/* pending, users, and each kube_xfer.done */
	pthread_cond_t xfer_cond;
	struct kube_xfer *pending;	/* handed over, not yet in the multi */
	unsigned users;			/* kapi_get calls under way */
	bool xfer_exited;		/* the transport thread is gone (after kube_stop) */
	int running;			/* transfers in the multi (transport thread only) */
	size_t list_max;		/* bytes of one list (KUBE_LIST_MAX_DEFAULT) */
	pthread_t ev_thread;		/* posting an Event (kevent.c) */
	bool ev_started;		/* ev_thread was started and not joined yet */
	int ev_busy;			/* atomic: an Event is being posted */
	char *ev_body;			/* ... this one, and where */
	char ev_url[1024];
	struct reflector refl[KK_NKINDS];
};

/* kube_stopping - kube_stop was called: every thread winds down. */
static inline bool
kube_stopping(struct kube_client *kc)
{
	return __atomic_load_n(&kc->stop, __ATOMIC_RELAXED) != 0;
}

/* ---- ktrim.c: what the store keeps of Nodes, Namespaces, ServiceAccounts and Pods ------ */

#define KUBE_TRIM_DROP		1	/* not an endpoint: nothing to keep */
#define KUBE_TRIM_MAX_IPS	16	/* addresses kept per object */
#define KUBE_TRIM_MAX_PORTS	64	/* named ports kept per pod */
#define KUBE_TRIM_MAX_IFACES_JSON (64u << 10)	/* a Node's projectcalico.org/Interfaces */
#define KUBE_TRIM_MAX_IFACES	32	/* interfaces kept per Node (NODE_MAX_IFACES) */
#define KUBE_TRIM_MAX_IFACE_IPS	8	/* addresses kept per interface */

/* kube_trimmed - does the store keep a digest of kind @k, not the object? */
bool kube_trimmed(enum kube_kind k);

/*
 * kube_trim - the digest of @obj, of kind @k (ktrim.c gives the shapes),
 * into *@out (malloc'd). 0; KUBE_TRIM_DROP when the object is no endpoint
 * (a Pod on the host's network, finished, or without an address yet);
 * -ENOMEM or -EINVAL.
 */
int __must_check kube_trim(enum kube_kind k, struct jspan obj, char **out);

/* ---- kstore.c: the store (each call takes the store's lock) ---------------------------- */

/* kstore_objs_free - @n objects and the array. */
void kstore_objs_free(struct kube_obj *v, size_t n);

/*
 * kstore_obj_key - an API object's store key ("namespace/name" or "name")
 * into @key (at least KUBE_KEY_MAX bytes): 0, -ENOENT when it has no name,
 * -EINVAL when the name or namespace is not a string or too long.
 */
#define KUBE_KEY_MAX	(64 + 1 + 256)
int __must_check kstore_obj_key(struct jspan obj, char *key, size_t size);

/*
 * kstore_obj_make - the store's copy of the API object @item of kind @k:
 * its key, and its JSON text (items of built-in lists carry no kind and
 * apiVersion: they are given back, @api_version), or its digest for the
 * kinds kube_trimmed() names. 0; KUBE_TRIM_DROP when the object is no
 * endpoint (o->key is set, o->json NULL: a watch deletes the key);
 * -ENOENT (no name: nothing to store), -EINVAL (see kstore_obj_key) or
 * -ENOMEM; on error *@o holds nothing.
 */
int __must_check kstore_obj_make(struct jspan item, enum kube_kind k, const char *api_version,
				 struct kube_obj *o);

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

/* kstore_ds_of - PRESENT, or DELETING when the DaemonSet @json has a deletionTimestamp. */
enum kube_ds_state kstore_ds_of(const char *json, size_t n);

/* kstore_touch - a watch bookmark: the kind is in sync, nothing changed. */
void kstore_touch(struct kube_store *st, enum kube_kind k);

/* ---- kapi.c: HTTP ------------------------------------------------------------------------ */

/*
 * One GET: a whole body into @body (at most body->max bytes), or, for a
 * watch, the bytes of a 200 answer handed to @stream (the body of any
 * other status goes to @body when there is one, else is dropped after
 * KUBE_ERROR_BODY_MAX bytes).
 */
struct kapi_call {
	struct reflector *r;
	struct kube_buf *body;		/* whole-body requests */
	size_t (*stream)(char *p, size_t n, struct reflector *r);	/* watches */
	double retry_after;		/* from a Retry-After header */
	long status;			/* from the status line; 0 before it */
	size_t dropped;			/* bytes of a non-200 stream body dropped */
	int err;			/* -ENOMEM, -EMSGSIZE: the body is incomplete */
	long timeout_s;			/* a whole-body request's limit; 0: 120 s */
};

/* kapi_call_reset - forget an earlier attempt's answer (status, body, error). */
void kapi_call_reset(struct kapi_call *call);

/* kapi_status_line - note the HTTP status of a header line ("HTTP/1.1 200 OK"). */
void kapi_status_line(struct kapi_call *call, const char *p, size_t n);

/*
 * kapi_body - the next @n bytes of the answer's body, as libcurl delivers
 * them. Returns @n, or less to abort the transfer (call->err set, or the
 * stream decoder said stop).
 */
size_t kapi_body(struct kapi_call *call, char *p, size_t n);

/*
 * kapi_get - one GET of @url with the bearer token (re-read once after a
 * 401). A stream has no overall timeout and is dead when idle for 3
 * minutes. Returns the HTTP status, or -1 with *@cerr set; check call->err
 * before trusting the body.
 */
long kapi_get(struct reflector *r, const char *url, struct kapi_call *call, CURLcode *cerr);

/* kapi_request - the same, a POST of the JSON text @post when it is not NULL. */
long kapi_request(struct reflector *r, const char *url, const char *post, struct kapi_call *call,
		  CURLcode *cerr);

/* ---- kevent.c: Events about the policy (kube_event) --------------------------------------- */

/* kevent_stop - wait for the Event being posted, if any (kube_stop, after stop is set). */
void kevent_stop(struct kube_client *kc);

/* ---- reflector.c -------------------------------------------------------------------------- */

/* reflector_start - start kind @k's thread (list, then watch). 0 or -errno. */
int __must_check reflector_start(struct reflector *r, struct kube_client *kc, enum kube_kind k);

/* reflector_backoff - count an error of @r's kind and sleep: 0.8 s doubling
 * to 30 s with jitter, reset after two minutes of health. Stops early on kube_stop. */
void reflector_backoff(struct reflector *r);

/*
 * reflector_list - one complete list of @r's kind, page after page; only a
 * complete list replaces the kind's objects in the store. A 410 starts the
 * list again from the first page (at most 3 times). Returns
 * KUBE_OK (r->rv is the list's resourceVersion), KUBE_GONE (the kind is not
 * served: stored as absent), KUBE_THROTTLED, KUBE_STOP or KUBE_ERROR.
 */
int reflector_list(struct reflector *r);

/*
 * reflector_watch - one watch from r->rv until it ends: KUBE_OK (a clean
 * end: watch again from r->rv), KUBE_GONE (relist), KUBE_THROTTLED,
 * KUBE_STOP or KUBE_ERROR (r->rv is "" when a relist must follow).
 */
int reflector_watch(struct reflector *r);

#endif /* NFQWALL_KUBE_INT_H */
