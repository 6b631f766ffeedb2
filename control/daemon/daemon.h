/*
 * daemon.h - the state of a running `nfqwall run`, shared by the control
 * thread (which writes it), the workers (their own stats) and the HTTP
 * thread (which reads it for /metrics, /livez and /readyz).
 *
 * Numbers are read and written with the STAT_* relaxed atomics of stats.h;
 * the strings (ready_detail, last_error) are guarded by @lock.
 */
#ifndef NFQWALL_DAEMON_H
#define NFQWALL_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "stats.h"
#include "vlog.h"

struct kube_store;
struct fj_journal;

#define DAEMON_STALE_SYNC_NS (180ull * 1000000000ull)	/* a watch silent this long is reported stale */
#define DAEMON_STALL_NS	(5ull * 1000000000ull)	/* a worker or the control loop silent this long fails /livez */

/*
 * The HTTP server's bounds (http.c): at most HTTP_MAX_CONNECTIONS connections
 * (a quarter of RLIMIT_NOFILE when that is less, but at least 16); a request
 * must arrive whole within HTTP_REQUEST_DEADLINE_MS of the connection (or of
 * the previous answer on a kept-alive one, then 10 s), however busy the
 * client keeps it; near the limit a new connection evicts the oldest one
 * still waiting for its request. So a probe gets its answer at once while
 * slow or idle clients hold connections.
 */
#define HTTP_MAX_CONNECTIONS		256
#define HTTP_REQUEST_DEADLINE_MS	2000

struct daemon {
	const char *node;
	const char *source;			/* "policy-dir" or "kubernetes" */
	struct worker_stats **wstats;		/* one per worker */
	unsigned nworkers;
	struct vlog_logger *logger;
	struct fj_journal *journal;		/* --flow-journal, else NULL */

	/* the control loop */
	uint64_t control_heartbeat_ns;		/* CLOCK_MONOTONIC */
	uint64_t mark_conflicts;		/* other programs' rules on our mark bits */
	uint64_t gen;				/* generation of the published table */
	uint64_t tables_published;
	uint64_t tables_widened;	/* published without a new generation */
	uint64_t tables_carried;	/* a new generation that spared the other addresses' flows */
	uint64_t selcache_hits;		/* rule selector sets answered from the cache */
	uint64_t selcache_builds;	/* ... and built by matching every cluster endpoint */
	uint64_t pod_syncs_log;		/* cluster syncs that read the Pods the change log named */
	uint64_t pod_syncs_full;	/* ... and that walked every Pod (start, relist, overflow) */
	uint64_t reloads;			/* policy loads attempted */
	uint64_t reload_failures;		/* loads rejected: the last good table stayed */
	uint64_t policy_rollbacks;		/* tables refused or undone by the lockout guard */
	uint64_t started_unix;			/* when the daemon started (seconds) */
	uint64_t objects_rejected;		/* invalid objects in the last load */
	uint64_t last_reload_unix;		/* seconds */
	uint64_t last_compile_ns;
	uint64_t rules_install_failures;	/* iptables-restore errors */
	uint32_t npolicies;			/* policies loaded (enforced kinds) */
	uint32_t nentries;			/* table entries over all chains */
	uint32_t nheps;				/* host endpoints enforced */
	uint32_t table_bytes;

	/* the Kubernetes source (issue #4); zero with --policy-dir */
	struct kube_store *kstore;		/* per-kind sync state, NULL with --policy-dir */

	/* the HTTP server (http.c) */
	uint64_t http_connections;		/* open now */
	uint64_t http_max_connections;		/* its connection limit */
	uint64_t http_deadline_closed;		/* closed: request not in (or answer not taken) in time */
	uint64_t http_evicted;			/* closed to make room for a new connection */

	int ready;				/* 1 once the first table is published (and synced) */
	pthread_mutex_t lock;
	char ready_detail[512];			/* why not ready, or what was rejected last */
};

/* daemon_live - 0 when every worker and the control loop made progress lately;
 * otherwise -1 with a reason in @why. Any thread. */
int daemon_live(struct daemon *d, char *why, size_t whylen);

struct http_server;

/* http_start - serve /metrics, /livez and /readyz on @addr:@port (libmicrohttpd's
 * thread, and a thread enforcing the deadlines above). Returns 0 or -errno. */
int __must_check http_start(struct http_server **out, const char *addr, uint16_t port,
			    struct daemon *d);

/* http_port - the port @h listens on (the one the kernel chose for port 0). */
uint16_t http_port(const struct http_server *h);

/* http_stop - stop serving and free. NULL is a no-op. */
void http_stop(struct http_server *h);

struct MHD_Response;

/* http_flows_response - the answer to GET /flows (http_flows.c) and its status
 * in *@status: the flow journal's snapshot, or 404 when it is off; NULL when
 * libmicrohttpd has no memory. */
struct MHD_Response *http_flows_response(struct daemon *d, unsigned *status);

/* metrics_render - the Prometheus text exposition of @d into a malloc'd
 * string (*out, length returned). */
size_t metrics_render(struct daemon *d, char **out);

/*
 * rules_render - the entries of the current table as JSON into a malloc'd
 * *@out (rule, file:line, hits in this table, last hit since the daemon
 * started); with @unused_s, only the rules that did not match in the last
 * @unused_s seconds (never included). Returns the length; 0 and NULL when
 * out of memory. Any thread registered with RCU.
 */
size_t rules_render(struct daemon *d, uint64_t unused_s, char **out);

#endif /* NFQWALL_DAEMON_H */
