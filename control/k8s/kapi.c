/*
 * kapi.c - the Kubernetes API client (see kube_int.h): the configuration
 * (in-cluster by default), the service account token, one HTTP GET over
 * libcurl with TLS always verified, the discovery of the Calico API group,
 * and starting and stopping the reflector threads (reflector.c).
 *
 * Every GET goes through one transport thread that drives a libcurl multi
 * handle: the transfers of all reflectors share its connections, so when
 * the API server offers HTTP/2 (ALPN), every list and watch of the process
 * is a stream of one connection, as client-go's are, and a cluster of
 * 5,000 nodes holds 5,000 connections to the API server, not one per kind
 * and node. Over HTTP/1.1 each running transfer has a connection of its
 * own, kept for the next one. A reflector hands its transfer over and
 * waits for it to end (kapi_get); the transfer's callbacks, the watch
 * decoder among them, run on the transport thread meanwhile.
 *
 * kube_start and kube_stop run on the control thread; the discovery
 * ("boot") thread and the reflectors call kapi_get. The bearer token is
 * never logged.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "kube_int.h"
#include "log.h"

#define SA_DIR		"/var/run/secrets/kubernetes.io/serviceaccount"
#define TOKEN_REREAD_NS	(60ull * 1000000000ull)
#define IDLE_SECONDS	180		/* no byte for 3 minutes: the stream is dead */
#define POLL_MS		1000		/* the transport looks at kube_stop this often */

int
kube_buf_append(struct kube_buf *b, const char *p, size_t n)
{
	if (b->max != 0 && (n > b->max || b->n > b->max - n))
		return -EMSGSIZE;
	if (n >= SIZE_MAX / 2 - b->n)
		return -ENOMEM;
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *grown;

		if (b->max != 0 && cap > b->max + 1)
			cap = b->max + 1;
		grown = realloc(b->p, cap);
		if (grown == NULL)
			return -ENOMEM;
		b->p = grown;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

int
kube_token(struct jspan v, char *buf, size_t size)
{
	if (v.p == NULL) {
		buf[0] = '\0';
		return -ENOENT;
	}
	if (!jscan_string(v, buf, size)) {
		buf[0] = '\0';
		return -EINVAL;
	}
	return 0;
}

int
kube_escape(const char *s, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';

		if (o + (plain ? 1 : 3) >= size) {
			if (size > 0)
				out[0] = '\0';
			return -ENAMETOOLONG;
		}
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (size == 0)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}

/* ---- the token ------------------------------------------------------------------------- */

/* A small text file, trailing white space cut; NULL when unreadable or out of memory. */
static char *
read_small_file(const char *path, size_t max)
{
	FILE *f = fopen(path, "rb");
	char *s;
	size_t n;

	if (f == NULL)
		return NULL;
	s = malloc(max + 1);
	if (s == NULL) {
		fclose(f);
		return NULL;
	}
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
		char *t = read_small_file(kc->token_file, sizeof(kc->token) - 1);

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

/* ---- one GET ------------------------------------------------------------------------------ */

void
kapi_call_reset(struct kapi_call *call)
{
	call->retry_after = 0;
	call->status = 0;
	call->dropped = 0;
	call->err = 0;
	if (call->body)
		call->body->n = 0;
}

void
kapi_status_line(struct kapi_call *call, const char *p, size_t n)
{
	/* "HTTP/1.1 200 OK", "HTTP/2 200": a later response (after a 100) wins */
	if (n > 9 && memcmp(p, "HTTP/", 5) == 0) {
		const char *sp = memchr(p, ' ', n);

		if (sp != NULL && (size_t)(sp - p) + 4 <= n)
			call->status = strtol(sp + 1, NULL, 10);
	}
}

size_t
kapi_body(struct kapi_call *c, char *p, size_t n)
{
	int err;

	if (c->stream != NULL && c->status == 200)
		return c->stream(p, n, c->r);
	if (c->body == NULL) {
		/* a watch answered with an error: its Status is not an event */
		c->dropped += n;
		if (c->dropped > KUBE_ERROR_BODY_MAX) {
			c->err = -EMSGSIZE;
			return 0;
		}
		return n;
	}
	err = kube_buf_append(c->body, p, n);
	if (err < 0) {
		c->err = err;
		return 0;	/* abort the transfer */
	}
	return n;
}

static size_t
body_cb(char *p, size_t sz, size_t nm, void *arg)
{
	return kapi_body(arg, p, sz * nm);
}

static size_t
header_cb(char *p, size_t sz, size_t nm, void *arg)
{
	struct kapi_call *c = arg;
	size_t n = sz * nm;

	if (n > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
		c->retry_after = strtod(p + 12, NULL);
	else
		kapi_status_line(c, p, n);
	return n;
}

static int
progress_cb(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct reflector *r = arg;

	(void)a, (void)b, (void)c, (void)d;
	return kube_stopping(r->kc) ? 1 : 0;
}

/* Mark the connection's socket (kube_config.sock_mark). */
static int
sockopt_cb(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	const struct kube_client *kc = arg;
	unsigned mark = kc->sock_mark;

	if (purpose == CURLSOCKTYPE_IPCXN && mark != 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		log_warn("cannot mark the API connection", "error=\"%s\"", strerror(errno));
	return CURL_SOCKOPT_OK;
}

/* Everything but the headers, the same on every attempt. */
static void
setup_handle(CURL *c, const struct kube_client *kc, const char *url, struct kapi_call *call)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, kc->ca_file);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
#if LIBCURL_VERSION_NUM >= 0x075700
	curl_easy_setopt(c, CURLOPT_CA_CACHE_TIMEOUT, 0L);	/* re-read a rotated CA */
#endif
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	/* while the first connection's ALPN is pending, wait to share it */
	curl_easy_setopt(c, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, call);
	curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, kc);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, call->r);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, call->stream ? (long)IDLE_SECONDS : 60L);
	if (call->stream == NULL)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, call->timeout_s ? call->timeout_s : 120L);
}

/* ---- the transport thread ----------------------------------------------------------------- */

/* One transfer handed to the transport thread (kube_int.h, struct kube_xfer). */

static void
xfer_done(struct kube_client *kc, struct kube_xfer *x, CURLcode res)
{
	x->result = res;
	x->status = -1;
	if (res == CURLE_OK || res == CURLE_WRITE_ERROR)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
	curl_multi_remove_handle(kc->multi, x->easy);
	pthread_mutex_lock(&kc->xfer_lock);
	x->done = true;
	pthread_cond_broadcast(&kc->xfer_cond);
	pthread_mutex_unlock(&kc->xfer_lock);
}

/* Add what the reflectors handed over; a handle the multi refuses ends at once. */
static void
xfer_take_pending(struct kube_client *kc)
{
	struct kube_xfer *x, *next;

	pthread_mutex_lock(&kc->xfer_lock);
	x = kc->pending;
	kc->pending = NULL;
	pthread_mutex_unlock(&kc->xfer_lock);
	for (; x != NULL; x = next) {
		next = x->next;
		x->next = NULL;
		if (curl_multi_add_handle(kc->multi, x->easy) != CURLM_OK)
			xfer_done(kc, x, CURLE_OUT_OF_MEMORY);
		else
			kc->running++;
	}
}

static void *
xfer_main(void *arg)
{
	struct kube_client *kc = arg;

	for (;;) {
		CURLMsg *m;
		int left, still;

		xfer_take_pending(kc);
		if (kube_stopping(kc) && kc->running == 0) {
			bool idle;

			pthread_mutex_lock(&kc->xfer_lock);
			idle = kc->pending == NULL && kc->users == 0;
			kc->xfer_exited = idle;	/* a later kapi_get fails at once */
			pthread_mutex_unlock(&kc->xfer_lock);
			if (idle)
				break;
		}
		curl_multi_perform(kc->multi, &still);
		while ((m = curl_multi_info_read(kc->multi, &left)) != NULL) {
			struct kube_xfer *x = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			kc->running--;
			xfer_done(kc, x, m->data.result);
		}
		curl_multi_poll(kc->multi, NULL, 0, POLL_MS, NULL);
	}
	return NULL;
}

/*
 * One transfer of @c through the transport thread: hand it over, wait for
 * its end. The callbacks run on the transport thread meanwhile; the caller
 * touches nothing the transfer uses until it returns.
 */
static CURLcode
xfer_run(struct kube_client *kc, CURL *c, long *status)
{
	struct kube_xfer x = { .easy = c };

	curl_easy_setopt(c, CURLOPT_PRIVATE, (char *)&x);
	pthread_mutex_lock(&kc->xfer_lock);
	x.next = kc->pending;
	kc->pending = &x;
	pthread_mutex_unlock(&kc->xfer_lock);
	curl_multi_wakeup(kc->multi);
	pthread_mutex_lock(&kc->xfer_lock);
	while (!x.done)
		pthread_cond_wait(&kc->xfer_cond, &kc->xfer_lock);
	pthread_mutex_unlock(&kc->xfer_lock);
	*status = x.status;
	return x.result;
}

/* Start the transport thread. 0 or -errno. */
static int
xfer_start(struct kube_client *kc)
{
	kc->multi = curl_multi_init();
	if (kc->multi == NULL)
		return -ENOMEM;
	/* streams of one HTTP/2 connection; HTTP/1.1 connections are kept for reuse */
	curl_multi_setopt(kc->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(kc->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, 100L);
	if (pthread_create(&kc->xfer, NULL, xfer_main, kc) != 0)
		return -EAGAIN;
	kc->xfer_started = true;
	return 0;
}

long
kapi_get(struct reflector *r, const char *url, struct kapi_call *call, CURLcode *cerr)
{
	return kapi_request(r, url, NULL, call, cerr);
}

long
kapi_request(struct reflector *r, const char *url, const char *post, struct kapi_call *call,
	     CURLcode *cerr)
{
	struct kube_client *kc = r->kc;
	char auth[8300], token[8192];
	struct curl_slist *h = NULL;
	long status = -1;

	*cerr = CURLE_FAILED_INIT;
	pthread_mutex_lock(&kc->xfer_lock);
	if (!kc->xfer_started || kc->xfer_exited) {
		pthread_mutex_unlock(&kc->xfer_lock);
		return -1;
	}
	kc->users++;			/* the transport stays until the last one is done */
	pthread_mutex_unlock(&kc->xfer_lock);
	for (int attempt = 0; attempt < 2; attempt++) {
		CURL *c = curl_easy_init();

		if (c == NULL) {
			*cerr = CURLE_OUT_OF_MEMORY;
			break;
		}
		token_get(kc, token, sizeof(token), attempt > 0);
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(NULL, auth);
		h = curl_slist_append(h, "Accept: application/json");
		h = curl_slist_append(h, "User-Agent: nfqwall/0.1");
		if (post != NULL) {
			h = curl_slist_append(h, "Content-Type: application/json");
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
		}
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		setup_handle(c, kc, url, call);
		kapi_call_reset(call);
		*cerr = xfer_run(kc, c, &status);
		curl_easy_cleanup(c);
		curl_slist_free_all(h);
		memset(token, 0, sizeof(token));
		memset(auth, 0, sizeof(auth));
		if (status != 401)
			break;
		log_warn("API server answered 401: re-reading the token", "kind=%s",
			 kube_kind_name(r->kind));
	}
	pthread_mutex_lock(&kc->xfer_lock);
	kc->users--;
	pthread_mutex_unlock(&kc->xfer_lock);
	curl_multi_wakeup(kc->multi);
	return status;
}

/* ---- discovery and start --------------------------------------------------------------------- */

static bool
group_served(const struct kube_buf *b, const char *group)
{
	char needle[128];

	snprintf(needle, sizeof(needle), "\"name\":\"%s\"", group);
	if (b->p && strstr(b->p, needle))
		return true;
	snprintf(needle, sizeof(needle), "\"name\": \"%s\"", group);
	return b->p && strstr(b->p, needle);
}

/* Which Calico API group the cluster serves, into kc->group_version; false when stopped. */
static bool
discover_group(struct kube_client *kc)
{
	struct reflector probe = { .kc = kc, .kind = KK_GNP };
	struct kube_buf body = { .max = KUBE_DISCOVERY_MAX };
	struct kapi_call call = { .r = &probe, .body = &body };
	char url[1024];

	snprintf(url, sizeof(url), "%s/apis", kc->server);
	while (!kube_stopping(kc)) {
		CURLcode ce;
		long st = kc->get(&probe, url, &call, &ce);

		if (st == 200 && call.err == 0 && group_served(&body, "crd.projectcalico.org")) {
			snprintf(kc->group_version, sizeof(kc->group_version), "crd.projectcalico.org/v1");
			break;
		}
		if (st == 200 && call.err == 0 && group_served(&body, "projectcalico.org")) {
			snprintf(kc->group_version, sizeof(kc->group_version), "projectcalico.org/v3");
			break;
		}
		log_warn("discovery: no Calico API group yet", "status=%ld curl=\"%s\"", st,
			 curl_easy_strerror(ce));
		reflector_backoff(&probe);
	}
	free(body.p);
	return kc->group_version[0] != '\0';
}

/* Is kind @k watched? The DaemonSet, Pods, Namespaces and ServiceAccounts may not be. */
static bool
kind_watched(const struct kube_client *kc, enum kube_kind k)
{
	if (k == KK_DAEMONSET)
		return kc->ds_name != NULL;
	if (k == KK_NAMESPACE || k == KK_SA || k == KK_POD)
		return kc->workloads;
	return true;
}

static void *
boot_main(void *arg)
{
	struct kube_client *kc = arg;

	if (kc->group_version[0] == '\0' && !discover_group(kc))
		return NULL;
	snprintf(kc->st->group_version, sizeof(kc->st->group_version), "%s", kc->group_version);
	log_info("watching the Kubernetes API", "server=%s group=%s node=%s nodes=%s pods=%s",
		 kc->server, kc->group_version, kc->node, kc->all_nodes ? "all" : "this",
		 kc->workloads ? "yes" : "no");
	if (kc->ds_name != NULL)
		log_info("watching this daemon's DaemonSet: deleting it removes the rules",
			 "daemonset=%s/%s", kc->ds_namespace, kc->ds_name);
	for (int k = 0; k < KK_NKINDS; k++)
		if (kind_watched(kc, (enum kube_kind)k) &&
		    reflector_start(&kc->refl[k], kc, (enum kube_kind)k) < 0)
			log_err("cannot start a reflector thread", "kind=%s",
				kube_kind_name((enum kube_kind)k));
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

/* The API server's URL: --api-server, else in-cluster. 0 or -errno with @why. */
static int
server_url(struct kube_client *kc, const struct kube_config *cfg, char *why, size_t whylen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");

	if (cfg->server != NULL) {
		kc->server = strdup(cfg->server);
	} else if (host == NULL || port == NULL) {
		snprintf(why, whylen, "not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset) "
			 "and no --api-server");
		return -EINVAL;
	} else if (asprintf(&kc->server, "https://%s%s%s:%s", strchr(host, ':') ? "[" : "", host,
			    strchr(host, ':') ? "]" : "", port) < 0) {
		kc->server = NULL;
	}
	if (kc->server == NULL) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	if (strncmp(kc->server, "https://", 8) != 0) {
		snprintf(why, whylen, "the API server must be https:// (TLS is always verified)");
		return -EINVAL;
	}
	return 0;
}

int
kube_start(struct kube_client **out, const struct kube_config *cfg, struct kube_store *st,
	   char *why, size_t whylen)
{
	struct kube_client *kc;
	static bool curl_ready;
	int err;

	if (!curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_ready = true;
	}
	if (cfg->node == NULL || !safe_node_name(cfg->node)) {
		snprintf(why, whylen, "the node name '%s' is not a Kubernetes node name",
			 cfg->node ? cfg->node : "");
		return -EINVAL;
	}
	kc = calloc(1, sizeof(*kc));
	if (kc == NULL) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&kc->tok_lock, NULL);
	pthread_mutex_init(&kc->xfer_lock, NULL);
	pthread_cond_init(&kc->xfer_cond, NULL);
	kc->st = st;
	kc->get = kapi_get;
	kc->list_max = cfg->max_list_bytes ? cfg->max_list_bytes : KUBE_LIST_MAX_DEFAULT;
	kc->sock_mark = cfg->sock_mark;
	kc->node = strdup(cfg->node);
	kc->token_file = strdup(cfg->token_file ? cfg->token_file : SA_DIR "/token");
	kc->ca_file = strdup(cfg->ca_file ? cfg->ca_file : SA_DIR "/ca.crt");
	if (cfg->ds_name != NULL && cfg->ds_namespace != NULL &&
	    (!safe_node_name(cfg->ds_name) || !safe_node_name(cfg->ds_namespace))) {
		snprintf(why, whylen, "the DaemonSet '%s/%s' is no Kubernetes name",
			 cfg->ds_namespace, cfg->ds_name);
		err = -EINVAL;
		goto out_stop;
	}
	if (cfg->ds_name != NULL && cfg->ds_namespace != NULL) {
		kc->ds_name = strdup(cfg->ds_name);
		kc->ds_namespace = strdup(cfg->ds_namespace);
		if (kc->ds_name == NULL || kc->ds_namespace == NULL) {
			snprintf(why, whylen, "out of memory");
			err = -ENOMEM;
			goto out_stop;
		}
	}
	kc->all_nodes = cfg->all_nodes;
	kc->workloads = cfg->workloads;
	for (int k = 0; k < KK_NKINDS; k++)	/* not watched: as a kind the API does not serve */
		if (!kind_watched(kc, (enum kube_kind)k))
			kstore_replace(st, (enum kube_kind)k, NULL, 0, true);
	if (cfg->group_version != NULL)
		snprintf(kc->group_version, sizeof(kc->group_version), "%s", cfg->group_version);
	if (kc->node == NULL || kc->token_file == NULL || kc->ca_file == NULL) {
		snprintf(why, whylen, "out of memory");
		err = -ENOMEM;
		goto out_stop;
	}
	err = server_url(kc, cfg, why, whylen);
	if (err < 0)
		goto out_stop;
	err = xfer_start(kc);
	if (err < 0) {
		snprintf(why, whylen, "cannot start the transport: %s", strerror(-err));
		goto out_stop;
	}
	if (pthread_create(&kc->boot, NULL, boot_main, kc) != 0) {
		snprintf(why, whylen, "cannot start a thread");
		err = -EAGAIN;
		goto out_stop;
	}
	kc->boot_started = true;
	*out = kc;
	return 0;
out_stop:
	kube_stop(kc);
	return err;
}

void
kube_stop(struct kube_client *kc)
{
	if (kc == NULL)
		return;
	__atomic_store_n(&kc->stop, 1, __ATOMIC_RELAXED);
	if (kc->boot_started)
		pthread_join(kc->boot, NULL);
	kevent_stop(kc);
	for (int k = 0; k < KK_NKINDS; k++)
		if (kc->refl[k].started)
			pthread_join(kc->refl[k].thread, NULL);
	if (kc->xfer_started) {		/* every transfer ended: the progress callback saw stop */
		curl_multi_wakeup(kc->multi);
		pthread_join(kc->xfer, NULL);
	}
	if (kc->multi != NULL)
		curl_multi_cleanup(kc->multi);
	pthread_cond_destroy(&kc->xfer_cond);
	pthread_mutex_destroy(&kc->xfer_lock);
	free(kc->server);
	free(kc->token_file);
	free(kc->ca_file);
	free(kc->node);
	free(kc->ds_name);
	free(kc->ds_namespace);
	pthread_mutex_destroy(&kc->tok_lock);
	free(kc);
}

/* ---- the DaemonSet, asked directly at stop -------------------------------------------------- */

enum kube_ds_state
kube_daemonset_check(struct kube_client *kc, long timeout_s)
{
	struct reflector r = { .kc = kc, .kind = KK_DAEMONSET };
	struct kube_buf body = { .max = KUBE_EVENT_MAX };
	struct kapi_call call = { .r = &r, .body = &body };
	enum kube_ds_state s = KUBE_DS_UNKNOWN;
	uint64_t deadline = mono_ns() + (uint64_t)timeout_s * 1000000000ull;
	char url[KUBE_URL_MAX];
	CURLcode cerr;
	long status = -1;

	if (kc == NULL || kc->ds_name == NULL ||
	    snprintf(url, sizeof(url), "%s/apis/apps/v1/namespaces/%s/daemonsets/%s", kc->server,
		     kc->ds_namespace, kc->ds_name) >= (int)sizeof(url))
		return KUBE_DS_UNKNOWN;
	/*
	 * Only 200 and 404 answer the question; a 401 or 403, a 5xx or no answer
	 * may be a moment of an uninstall (helm deletes the bindings and the
	 * ServiceAccount right after the DaemonSet) or of an outage: ask again
	 * until the deadline, then say UNKNOWN (the rules stay).
	 */
	for (int attempt = 0; s == KUBE_DS_UNKNOWN; attempt++) {
		uint64_t now = mono_ns();

		if (attempt > 0 && now + 500000000ull >= deadline)
			break;
		if (attempt > 0) {
			struct timespec ts = { 0, 500000000L };

			nanosleep(&ts, NULL);
			now = mono_ns();
		}
		call.timeout_s = deadline > now ? (long)((deadline - now) / 1000000000ull) : 0;
		if (call.timeout_s < 1)
			call.timeout_s = 1;
		status = kc->get(&r, url, &call, &cerr);
		if (status == 404)
			s = KUBE_DS_GONE;
		else if (status == 200 && call.err == 0 && body.p != NULL)
			s = kstore_ds_of(body.p, body.n);
	}
	log_info("asked the API for this daemon's DaemonSet", "daemonset=%s/%s http=%ld state=%s",
		 kc->ds_namespace, kc->ds_name, status, kube_ds_state_name(s));
	free(body.p);
	return s;
}
