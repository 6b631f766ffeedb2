/*
 * http.c - /metrics, /livez, /readyz and /flows over HTTP (libmicrohttpd).
 *
 * http_start and http_stop run in the control thread. Requests are served
 * by libmicrohttpd's one internal polling thread (epoll; no thread per
 * connection), which reads struct daemon (relaxed atomics, and the ready
 * detail under d->lock) and, for /metrics, the current ruleset under RCU.
 *
 * Slow and idle clients (issue 8, defect 6). libmicrohttpd's own timeout is
 * an idle timeout, which a client sending one byte every few seconds never
 * reaches, and at its connection limit it stops accepting: a handful of such
 * clients used to keep the kubelet's probe out. So every connection has a
 * slot here (struct http_conn, its socket context) with an absolute
 * deadline: HTTP_REQUEST_DEADLINE_MS from its start for the request to be
 * in whole, then HTTP_ANSWER_MS for the answer to be taken. A reaper thread
 * shuts down (shutdown(2)) every connection past its deadline, whatever the
 * client keeps sending; libmicrohttpd then sees the stream end and closes it.
 * And when a new connection finds fewer than h->spare slots free, the
 * oldest connection still waiting for its request (else the oldest being
 * answered) is shut down to make room, so the limit is never reached and a
 * probe, which sends its request at once, is always accepted and answered
 * at once. The limit (HTTP_MAX_CONNECTIONS, or a quarter of RLIMIT_NOFILE)
 * bounds the descriptors a flood can take. A per-client-address limit would
 * not help: on 127.0.0.1 the kubelet and a local flood share the address.
 *
 * The slots are guarded by h->lock; libmicrohttpd's thread (connection
 * start and close, request in, answer done) and the reaper take it. A slot
 * is freed in the close notification, which libmicrohttpd makes before it
 * closes the descriptor, so the reaper never shuts down a reused descriptor.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

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

#define HTTP_MIN_CONNECTIONS	16	/* even under a tiny RLIMIT_NOFILE */
#define HTTP_ANSWER_MS		30000	/* a request's answer must be taken within this */
#define HTTP_KEEPALIVE_MS	10000	/* the next request on a kept-alive connection */
#define HTTP_IDLE_S		10	/* libmicrohttpd's idle timeout: a backstop */
#define HTTP_REAP_MS		100	/* deadlines are checked this often */
#define HTTP_LOG_PER_S		5	/* libmicrohttpd lines logged a second, at most */

enum conn_state {
	CONN_FREE,		/* an unused slot */
	CONN_WAIT,		/* no complete request yet (new, or kept alive) */
	CONN_BUSY,		/* a request is being answered */
	CONN_CLOSING,		/* shut down by us; libmicrohttpd has not closed it yet */
};

/* One connection libmicrohttpd holds: its slot is the connection's socket context. */
struct http_conn {
	int fd;
	enum conn_state state;
	uint64_t since_ns;	/* when the state began (eviction takes the oldest) */
	uint64_t deadline_ns;	/* shut down when still in this state then */
};

struct http_server {
	struct MHD_Daemon *mhd;
	struct daemon *d;
	pthread_mutex_t lock;	/* conns, nopen, stop */
	pthread_cond_t wake;	/* the reaper's timed wait; signalled at stop */
	pthread_t reaper;
	bool stop;
	unsigned max;		/* slots, and libmicrohttpd's connection limit */
	unsigned spare;		/* a new connection evicts one when fewer are free */
	unsigned nopen;		/* slots in CONN_WAIT or CONN_BUSY */
	struct http_conn *conns;
	pthread_mutex_t log_lock;
	uint64_t log_second;	/* the second (monotonic) of log_lines */
	unsigned log_lines;
	unsigned log_dropped;	/* lines not logged since the last one that was */
};

/* libmicrohttpd's own errors, as operational log lines: escaped, at most a few a second. */
static void
http_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *h = cls;
	uint64_t sec = mono_ns() / 1000000000u;
	unsigned dropped;
	char msg[512], esc[512];
	size_t n, k = 0;

	pthread_mutex_lock(&h->log_lock);
	if (sec != h->log_second) {
		h->log_second = sec;
		h->log_lines = 0;
	}
	if (h->log_lines >= HTTP_LOG_PER_S) {
		h->log_dropped++;
		pthread_mutex_unlock(&h->log_lock);
		return;
	}
	h->log_lines++;
	dropped = h->log_dropped;
	h->log_dropped = 0;
	pthread_mutex_unlock(&h->log_lock);

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	/* one line, one quoted value: no quote, backslash or control character raw */
	for (size_t i = 0; i < n && k + 5 < sizeof(esc); i++) {
		unsigned char c = (unsigned char)msg[i];

		if (c == '"' || c == '\\') {
			esc[k++] = '\\';
			esc[k++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			k += (size_t)snprintf(esc + k, sizeof(esc) - k, "\\x%02x", c);
		} else {
			esc[k++] = (char)c;
		}
	}
	esc[k] = '\0';
	if (dropped > 0)
		log_warn("http server", "error=\"%s\" suppressed=%u", esc, dropped);
	else
		log_warn("http server", "error=\"%s\"", esc);
}

/* ---- connection deadlines and eviction ------------------------------------------------ */

/* Shut @c down (libmicrohttpd sees the end of the stream and closes it). Under h->lock. */
static void
conn_kill(struct http_server *h, struct http_conn *c, uint64_t *counter)
{
	shutdown(c->fd, SHUT_RDWR);
	c->state = CONN_CLOSING;
	h->nopen--;
	STAT_ADD(*counter, 1);
	STAT_SET(h->d->http_connections, h->nopen);
}

static void
conn_set(struct http_conn *c, enum conn_state st, uint64_t now, uint64_t ms)
{
	c->state = st;
	c->since_ns = now;
	c->deadline_ns = now + ms * 1000000u;
}

/* Shut down every connection past its deadline. Under h->lock. */
static void
reap(struct http_server *h, uint64_t now)
{
	for (unsigned i = 0; i < h->max; i++) {
		struct http_conn *c = &h->conns[i];

		if ((c->state == CONN_WAIT || c->state == CONN_BUSY) && now >= c->deadline_ns)
			conn_kill(h, c, &h->d->http_deadline_closed);
	}
}

/*
 * Make room for a new connection: the oldest one still waiting for its
 * request goes first (a slow or idle client), else the oldest one being
 * answered. Under h->lock.
 */
static void
evict_one(struct http_server *h)
{
	struct http_conn *victim = NULL;

	for (unsigned i = 0; i < h->max; i++) {
		struct http_conn *c = &h->conns[i];

		if (c->state != CONN_WAIT && c->state != CONN_BUSY)
			continue;
		if (victim == NULL || (c->state == CONN_WAIT && victim->state == CONN_BUSY) ||
		    (c->state == victim->state && c->since_ns < victim->since_ns))
			victim = c;
	}
	if (victim != NULL)
		conn_kill(h, victim, &h->d->http_evicted);
}

static void *
reaper_main(void *arg)
{
	struct http_server *h = arg;
	struct timespec ts;
	uint64_t next;

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		reap(h, mono_ns());
		next = mono_ns() + HTTP_REAP_MS * 1000000ull;
		ts.tv_sec = (time_t)(next / 1000000000u);
		ts.tv_nsec = (long)(next % 1000000000u);
		pthread_cond_timedwait(&h->wake, &h->lock, &ts);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* MHD_OPTION_NOTIFY_CONNECTION: a connection opens or closes (libmicrohttpd's thread). */
static void
http_notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
		 enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *h = cls;
	struct http_conn *c = *socket_context;
	const union MHD_ConnectionInfo *ci;
	uint64_t now = mono_ns();

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (c == NULL)
			return;
		pthread_mutex_lock(&h->lock);
		if (c->state != CONN_CLOSING)
			h->nopen--;
		c->state = CONN_FREE;	/* before libmicrohttpd closes the descriptor */
		c->fd = -1;
		STAT_SET(h->d->http_connections, h->nopen);
		pthread_mutex_unlock(&h->lock);
		*socket_context = NULL;
		return;
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	reap(h, now);
	while (h->nopen > 0 && h->nopen + h->spare >= h->max)
		evict_one(h);
	for (unsigned i = 0; i < h->max && c == NULL; i++)
		if (h->conns[i].state == CONN_FREE)
			c = &h->conns[i];
	if (c != NULL) {
		c->fd = ci->connect_fd;
		conn_set(c, CONN_WAIT, now, HTTP_REQUEST_DEADLINE_MS);
		h->nopen++;
		STAT_SET(h->d->http_connections, h->nopen);
	} else {
		/* cannot happen: libmicrohttpd's limit is the number of slots */
		shutdown(ci->connect_fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&h->lock);
	*socket_context = c;
}

/* The slot of @conn moves to @st (a request arrived whole, or was answered). */
static void
conn_moved(struct http_server *h, struct MHD_Connection *conn, enum conn_state st,
	   uint64_t ms)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct http_conn *c = ci != NULL ? ci->socket_context : NULL;

	if (c == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	/* a request in (WAIT -> BUSY) once, however often the handler runs; an answer
	 * done (-> WAIT); never a connection already shut down */
	if (c->state == CONN_WAIT || (c->state == CONN_BUSY && st == CONN_WAIT))
		conn_set(c, st, mono_ns(), ms);
	pthread_mutex_unlock(&h->lock);
}

/* MHD_OPTION_NOTIFY_COMPLETED: a request was answered (or failed). */
static void
http_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
	       enum MHD_RequestTerminationCode toe)
{
	(void)req_cls;
	(void)toe;
	conn_moved(cls, conn, CONN_WAIT, HTTP_KEEPALIVE_MS);
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
	char text[sizeof(d->ready_detail) + 512], detail[sizeof(d->ready_detail)];
	int ready;
	size_t n;

	pthread_mutex_lock(&d->lock);
	ready = STAT_GET(d->ready);
	snprintf(detail, sizeof(detail), "%s", d->ready_detail);
	pthread_mutex_unlock(&d->lock);
	if (!ready) {
		snprintf(text, sizeof(text), "%s\n", detail[0] ? detail : "not ready");
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, text);
	}
	/* ready: what is enforced, and what was refused or skipped last */
	n = (size_t)snprintf(text, sizeof(text), "ready%s%s", detail[0] ? ": " : "", detail);
	n = n < sizeof(text) ? n : sizeof(text) - 1;
	if (d->kstore != NULL) {
		/* still ready (the last good table is enforced), but say which sync is stale */
		struct kube_store *st = d->kstore;
		uint64_t now = mono_ns();

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
		n = n < sizeof(text) - 1 ? n : sizeof(text) - 2;
	}
	snprintf(text + n, sizeof(text) - n, "\n");
	return reply_text(conn, MHD_HTTP_OK, text);
}

/* /rules[?unused=SECONDS]: which rules matched when (metrics.c rules_render). */
static mhd_result
serve_rules(struct MHD_Connection *conn, struct daemon *d)
{
	const char *arg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "unused");
	unsigned long long unused = 0;
	char *body = NULL, *end;
	size_t len;

	if (arg != NULL) {
		errno = 0;
		unused = strtoull(arg, &end, 10);
		if (*arg < '0' || *arg > '9' || *end != '\0' || errno != 0 ||
		    unused > 100ull * 365 * 86400)
			return reply_text(conn, MHD_HTTP_BAD_REQUEST,
					  "unused: a number of seconds\n");
	}
	urcu_memb_register_thread();
	len = rules_render(d, unused, &body);
	urcu_memb_unregister_thread();
	if (body == NULL)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return reply(conn, MHD_HTTP_OK, "application/json", body, len, true);
}

/* The flow journal's flows (http_flows.c), read in place from a shared snapshot. */
static mhd_result
serve_flows(struct MHD_Connection *conn, struct daemon *d)
{
	unsigned status = MHD_HTTP_OK;
	struct MHD_Response *r = http_flows_response(d, &status);
	mhd_result ret;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
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
	/* the request is in: it now has HTTP_ANSWER_MS to be answered and taken */
	conn_moved(h, conn, CONN_BUSY, HTTP_ANSWER_MS);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(conn, h->d);
	if (strcmp(url, "/livez") == 0)
		return serve_livez(conn, h->d);
	if (strcmp(url, "/readyz") == 0)
		return serve_readyz(conn, h->d);
	if (strcmp(url, "/flows") == 0)
		return serve_flows(conn, h->d);
	if (strcmp(url, "/rules") == 0)
		return serve_rules(conn, h->d);
	return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* The connection limit: HTTP_MAX_CONNECTIONS, less when descriptors are scarce. */
static unsigned
conn_limit(void)
{
	struct rlimit rl;
	unsigned max = HTTP_MAX_CONNECTIONS;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 4 < max)
		max = rl.rlim_cur / 4 > HTTP_MIN_CONNECTIONS ? (unsigned)(rl.rlim_cur / 4) :
							       HTTP_MIN_CONNECTIONS;
	return max;
}

static void
server_free(struct http_server *h)
{
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->log_lock);
	pthread_mutex_destroy(&h->lock);
	free(h->conns);
	free(h);
}

/* The server's state, before libmicrohttpd starts. NULL when out of memory. */
static struct http_server *
server_new(struct daemon *d)
{
	struct http_server *h = calloc(1, sizeof(*h));
	pthread_condattr_t ca;

	if (h == NULL)
		return NULL;
	h->d = d;
	h->max = conn_limit();
	h->spare = h->max / 8;
	h->conns = calloc(h->max, sizeof(*h->conns));
	if (h->conns == NULL) {
		free(h);
		return NULL;
	}
	for (unsigned i = 0; i < h->max; i++)
		h->conns[i].fd = -1;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->log_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->wake, &ca);
	pthread_condattr_destroy(&ca);
	STAT_SET(d->http_max_connections, h->max);
	return h;
}

/* Start libmicrohttpd on @sa and the reaper, with every signal blocked. 0 or -errno. */
static int
server_run(struct http_server *h, const struct sockaddr *sa, uint16_t port, unsigned flags)
{
	sigset_t all, old;
	int err = 0;

	/* the server threads take no signals: they belong to the control thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	errno = 0;
	h->mhd = MHD_start_daemon(flags, port, NULL, NULL, http_handle, h,
				  MHD_OPTION_EXTERNAL_LOGGER, http_log, h,
				  MHD_OPTION_SOCK_ADDR, sa,
				  MHD_OPTION_CONNECTION_LIMIT, h->max,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_S,
				  MHD_OPTION_NOTIFY_CONNECTION, http_notify_conn, h,
				  MHD_OPTION_NOTIFY_COMPLETED, http_completed, h,
				  MHD_OPTION_END);
	if (h->mhd == NULL)
		err = errno ? errno : EADDRINUSE;
	else if ((err = pthread_create(&h->reaper, NULL, reaper_main, h)) != 0)
		MHD_stop_daemon(h->mhd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -err;
}

int
http_start(struct http_server **out, const char *addr, uint16_t port, struct daemon *d)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)&ss;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	struct http_server *h;
	int err;

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
	h = server_new(d);
	if (h == NULL)
		return -ENOMEM;
	err = server_run(h, (struct sockaddr *)&ss, port, flags);
	if (err < 0) {
		server_free(h);
		return err;
	}
	*out = h;
	return 0;
}

uint16_t
http_port(const struct http_server *h)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);

	return di != NULL ? di->port : 0;
}

void
http_stop(struct http_server *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->reaper, NULL);
	MHD_stop_daemon(h->mhd);	/* closes every connection: their slots are freed */
	STAT_SET(h->d->http_connections, 0);
	server_free(h);
}
