/*
 * http.c - /metrics, /livez and /readyz over HTTP (libmicrohttpd).
 *
 * http_start and http_stop run in the control thread. Requests are served
 * by libmicrohttpd's one internal polling thread (no thread per
 * connection), which reads struct daemon (relaxed atomics, and the ready
 * detail under d->lock) and, for /metrics, the current ruleset under RCU.
 *
 * RCU: the polling thread belongs to libmicrohttpd and exits inside
 * MHD_stop_daemon, where we get no callback, so it cannot stay registered
 * with urcu-memb (a thread that exits registered leaves a dangling reader in
 * the registry and the next grace period reads freed memory). Each /metrics
 * request therefore registers the thread, renders (metrics_render takes the
 * read lock around its ruleset reads) and unregisters. Registration takes
 * the registry mutex, which a grace period holds while it waits for readers:
 * at worst a scrape waits for one grace period, which is bounded by the
 * workers' short per-batch read sections. /livez and /readyz never touch RCU.
 *
 * Only GET is served (405 with "Allow: GET" otherwise); unknown paths get
 * 404. The listening address must be an IPv4 or IPv6 literal.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <urcu/urcu-memb.h>

#include "clock.h"
#include "daemon.h"
#include "kube.h"
#include "log.h"

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

#define HTTP_MAX_CONNECTIONS	16
#define HTTP_TIMEOUT_S		10

struct http_server {
	struct MHD_Daemon *mhd;
	struct daemon *d;
};

/* libmicrohttpd's own errors, as operational log lines. */
static void
http_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warn("http server", "error=\"%s\"", msg);
}

/* Queue a response of @len bytes at @body (copied unless @owned: then MHD frees it). */
static mhd_result
reply(struct MHD_Connection *conn, unsigned status, const char *type, char *body, size_t len,
      bool owned)
{
	struct MHD_Response *r;
	mhd_result ret;

	r = MHD_create_response_from_buffer(len, body, owned ? MHD_RESPMEM_MUST_FREE :
					    MHD_RESPMEM_MUST_COPY);
	if (r == NULL) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static mhd_result
reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	return reply(conn, status, "text/plain; charset=utf-8", (char *)(uintptr_t)text,
		     strlen(text), false);
}

static mhd_result
serve_metrics(struct MHD_Connection *conn, struct daemon *d)
{
	char *body = NULL;
	size_t len;

	urcu_memb_register_thread();
	len = metrics_render(d, &body);
	urcu_memb_unregister_thread();
	if (body == NULL)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len,
		     true);
}

static mhd_result
serve_livez(struct MHD_Connection *conn, struct daemon *d)
{
	char why[256], text[260];

	if (daemon_live(d, why, sizeof(why)) == 0)
		return reply_text(conn, MHD_HTTP_OK, "ok\n");
	snprintf(text, sizeof(text), "%s\n", why);
	return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, text);
}

static mhd_result
serve_readyz(struct MHD_Connection *conn, struct daemon *d)
{
	char text[sizeof(d->ready_detail) + 2];
	int ready;

	pthread_mutex_lock(&d->lock);
	ready = STAT_GET(d->ready);
	snprintf(text, sizeof(text), "%s\n", d->ready_detail[0] ? d->ready_detail : "not ready");
	pthread_mutex_unlock(&d->lock);
	if (!ready)
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, text);
	if (d->kstore != NULL) {
		/* still ready (the last good table is enforced), but say which sync is stale */
		struct kube_store *st = d->kstore;
		uint64_t now = mono_ns();
		size_t n = (size_t)snprintf(text, sizeof(text), "ready");

		pthread_mutex_lock(&st->lock);
		for (int k = 0; k < KK_NKINDS && n < sizeof(text) - 64; k++) {
			uint64_t ago = now - st->kinds[k].last_sync_ns;

			if (!st->kinds[k].absent && ago > DAEMON_STALE_SYNC_NS)
				n += (size_t)snprintf(text + n, sizeof(text) - n,
						      "; stale: %s last synced %llu s ago",
						      kube_kind_name((enum kube_kind)k),
						      (unsigned long long)(ago / 1000000000ull));
		}
		pthread_mutex_unlock(&st->lock);
		snprintf(text + n, sizeof(text) - n, "\n");
		return reply_text(conn, MHD_HTTP_OK, text);
	}
	return reply_text(conn, MHD_HTTP_OK, "ready\n");
}

/* The request handler (MHD_AccessHandlerCallback); answers on the first call. */
static mhd_result
http_handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	    const char *version, const char *upload_data, size_t *upload_data_size,
	    void **req_cls)
{
	struct http_server *h = cls;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(conn, h->d);
	if (strcmp(url, "/livez") == 0)
		return serve_livez(conn, h->d);
	if (strcmp(url, "/readyz") == 0)
		return serve_readyz(conn, h->d);
	return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

int
http_start(struct http_server **out, const char *addr, uint16_t port, struct daemon *d)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)&ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct http_server *h;
	sigset_t all, old;

	*out = NULL;
	if (addr == NULL)
		addr = "127.0.0.1";
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		flags |= MHD_USE_IPv6;
	} else {
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->d = d;

	/* the server thread takes no signals: they belong to the control thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	errno = 0;
	h->mhd = MHD_start_daemon(flags, port, NULL, NULL, http_handle, h,
				  MHD_OPTION_EXTERNAL_LOGGER, http_log, NULL,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
				  MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (h->mhd == NULL) {
		int err = errno ? errno : EADDRINUSE;

		free(h);
		return -err;
	}
	*out = h;
	return 0;
}

void
http_stop(struct http_server *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->mhd);
	free(h);
}
