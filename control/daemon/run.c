/*
 * run.c - `nfqwall run`: the daemon's start, event loop and stop; and
 * `nfqwall uninstall`.
 *
 * The main thread is the control thread. It parses the options (options.c),
 * loads the policy, compiles it for this node's endpoints and interfaces and
 * publishes the table (reload.c), starts one worker per queue, the verdict
 * logger and the HTTP endpoint, installs the netfilter rules, then waits on
 * one poll(2) for: policy directory changes (inotify), interface and address
 * changes (rtnetlink), Kubernetes store changes (eventfd), signals
 * (signalfd: SIGTERM/SIGINT stop, SIGHUP reloads) and its debounce timer.
 * Every change recompiles and swaps the table without stopping the workers;
 * a policy that does not load cleanly is reported and the last good table
 * stays enforced. SIGTERM leaves the netfilter rules in place (a restarting
 * pod must not open the node): `nfqwall uninstall` removes them.
 */
#include <errno.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include "clock.h"
#include "ctl.h"
#include "fwrules.h"
#include "markcheck.h"
#include "log.h"
#include "privs.h"
#include "run.h"
#include "selcache.h"
#include "worker.h"

/* ---- the event sources and the loop -------------------------------------------------------- */

static int
open_watches(struct ctl *c)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
	sigset_t set;

	c->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (c->ifd < 0)
		return -errno;
	c->wd = c->o.kubernetes ? 0 :
		inotify_add_watch(c->ifd, c->o.policy_dir, IN_CREATE | IN_DELETE | IN_MOVED_FROM |
				  IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF |
				  IN_ATTRIB);
	if (c->wd < 0)
		log_warn("cannot watch the policy directory; SIGHUP reloads", "dir=%s error=\"%s\"",
			 c->o.policy_dir, strerror(errno));
	c->nlfd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (c->nlfd >= 0 && bind(c->nlfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(c->nlfd);
		c->nlfd = -1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	c->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	return c->sfd < 0 || c->tfd < 0 ? -errno : 0;
}

static void
drain(int fd)
{
	char buf[8192];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* --daemonset: say when the watch sees the DaemonSet appear, go into deletion or go. */
static void
daemonset_note(struct ctl *c)
{
	enum kube_ds_state s;

	if (c->o.daemonset == NULL)
		return;
	s = kube_daemonset_state(&c->store);
	if ((int)s == c->ds_state)
		return;
	c->ds_state = (int)s;
	if (s == KUBE_DS_DELETING || s == KUBE_DS_GONE)
		log_warn("this daemon's DaemonSet is being deleted: the rules will be removed when "
			 "the pod stops", "daemonset=%s state=%s", c->o.daemonset,
			 kube_ds_state_name(s));
	else
		log_info("this daemon's DaemonSet", "daemonset=%s state=%s", c->o.daemonset,
			 kube_ds_state_name(s));
}

/*
 * At SIGTERM: is this the end for good? Only when the DaemonSet was seen and
 * then deleted: the watch saw it go (or get a deletionTimestamp), or, asked
 * now, the API says 404 or shows a deletionTimestamp. A rolling update, an
 * eviction, a drain or a crash leave the DaemonSet present: the rules stay
 * and the next pod takes over. No answer (401, 403, an outage) leaves the
 * rules too: a refused token may be a force-deleted pod or an expired token
 * as well as a deleted release, and closing wrongly is recoverable where
 * opening wrongly is not.
 */
static bool
daemonset_deleted(struct ctl *c)
{
	enum kube_ds_state w, g;

	if (c->o.daemonset == NULL || c->kube == NULL)
		return false;
	w = kube_daemonset_state(&c->store);
	if (w == KUBE_DS_UNKNOWN) {
		log_info("this daemon's DaemonSet was never seen: leaving the rules", "daemonset=%s",
			 c->o.daemonset);
		return false;
	}
	if (w == KUBE_DS_DELETING || w == KUBE_DS_GONE)
		return true;
	g = kube_daemonset_check(c->kube, 5);
	return g == KUBE_DS_DELETING || g == KUBE_DS_GONE;
}

/*
 * Kubernetes mode on a node without nfqwall's rules: before opening any API
 * connection, the rules that make those connections failsafe flows (their
 * sockets are marked), so the first real rules, installed once every kind
 * is listed, do not judge them by a policy that may not allow the API.
 */
static void
install_bootstrap(struct ctl *c)
{
	struct fw_config fc = { .ml = c->ml, .bootstrap = true, .self_sockmark = true };
	char why[512];

	if (fwrules_install(&fc, why, sizeof(why)) < 0)
		log_warn("cannot install the bootstrap rules", "error=\"%s\"", why);
	else
		log_info("bootstrap rules: the daemon's API connections are failsafe flows, "
			 "nothing else is policed until the first table", "%s", "");
}

/* Did the policy kinds or the Node change since the last load (the DaemonSet does not count)? */
static bool
store_moved(struct ctl *c)
{
	uint64_t v;

	pthread_mutex_lock(&c->store.lock);
	v = c->store.version;
	pthread_mutex_unlock(&c->store.lock);
	return v != c->store_version || !c->have_table;
}

#define MARKCHECK_PERIOD_NS	(60 * 1000000000ull)

/*
 * Another program's rules on our mark bits. At start (@at_start): refuse (or
 * warn) before touching anything; over the rules of an earlier daemon
 * (@restart), only say so: refusing would leave the node closed. Later, every MARKCHECK_PERIOD: a program
 * started after nfqwall (Felix, kube-proxy) shows in a log line and in
 * nfqwall_mark_conflicts; nfqwall goes on (stopping would leave the node
 * closed without a daemon).
 */
static int
check_marks(struct ctl *c, bool at_start, bool restart)
{
	unsigned conflicts = 0;
	char why[512];
	int err;

	if (strcmp(c->o.mark_check, "off") == 0)
		return 0;
	c->markcheck_ns = mono_ns();
	err = markcheck_node(c->o.mark_mask, why, sizeof(why), &conflicts);
	if (err == -ENOMEM)
		return at_start ? err : 0;
	if (!at_start && conflicts == STAT_GET(c->d.mark_conflicts))
		return 0;
	STAT_SET(c->d.mark_conflicts, conflicts);
	if (err == 0) {
		log_info("no other rule uses nfqwall's mark bits", "mark_mask=0x%x", c->o.mark_mask);
		return 0;
	}
	/* refusing over an earlier daemon's rules would leave the node closed with no daemon */
	if (!at_start || restart || strcmp(c->o.mark_check, "warn") == 0) {
		log_err("mark bits shared with another program: its rules and nfqwall's may "
			"misread each other", "conflicts=%u error=\"%s\"", conflicts, why);
		return 0;
	}
	log_err("refusing to start: mark bits collide (choose --mark-mask, or --mark-check "
		"warn)", "error=\"%s\"", why);
	return err;
}


static int
event_loop(struct ctl *c)
{
	char why[512];

	for (;;) {
		struct pollfd p[5 + GUARD_MAX_LIFELINES] = {
			{ c->sfd, POLLIN, 0 }, { c->tfd, POLLIN, 0 }, { c->ifd, POLLIN, 0 },
			{ c->nlfd, POLLIN, 0 }, { c->o.kubernetes ? c->store.efd : -1, POLLIN, 0 },
		};
		size_t np = 5 + confirm_pollfds(c, p + 5, GUARD_MAX_LIFELINES);
		int n = poll(p, np, confirm_wait_ms(c, 1000));

		STAT_SET(c->d.control_heartbeat_ns, mono_ns());
		confirm_tick(c);	/* the lockout guard's connections, if any */
		if (c->have_table && c->nworkers > 0 && fwrules_recheck(why, sizeof(why)) < 0) {
			STAT_ADD(c->d.rules_install_failures, 1);
			log_err("installing netfilter rules failed", "error=\"%s\"", why);
		}
		if (mono_ns() - c->markcheck_ns > MARKCHECK_PERIOD_NS)
			check_marks(c, false, true);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(c->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					log_info("SIGHUP: reloading", "%s", "");
					reload_policy(c, "sighup");
				} else {
					log_info("stopping", "signal=%u", si.ssi_signo);
					return 0;
				}
			}
		}
		if (p[2].revents & POLLIN) {
			drain(c->ifd);
			reload_schedule(c, true);	/* a policy file */
		}
		if (p[3].revents & POLLIN) {
			drain(c->nlfd);
			reload_schedule(c, false);
		}
		if (p[4].revents & POLLIN) {
			uint64_t pv;

			drain(c->store.efd);
			daemonset_note(c);
			pthread_mutex_lock(&c->store.lock);
			pv = c->store.policy_version;
			pthread_mutex_unlock(&c->store.lock);
			if (store_moved(c))	/* not for the DaemonSet's status churn */
				reload_schedule(c, pv != c->policy_version);
			else
				reload_due(c);	/* readiness may wait for the DaemonSet */
			c->policy_version = pv;
		}
		if (p[1].revents & POLLIN) {
			drain(c->tfd);
			reload_due(c);
		}
	}
}

/* ---- start and stop ------------------------------------------------------------------------ */

/* Open one worker into slot c->nworkers; 0 or -errno (logged). */
static int
open_worker(struct ctl *c, const struct worker_config *wc)
{
	struct worker *w = &c->workers[c->nworkers];
	char why[256];
	int err = worker_open(w, wc, why, sizeof(why));

	if (err < 0) {
		log_err("cannot open queue", "queue=%u error=\"%s\"", wc->q.num, why);
		return err;
	}
	c->d.wstats[c->nworkers++] = &w->stats;
	return 0;
}

/*
 * The deep queue (the first number after the normal ones) gets the IPv6
 * packets whose L4 header lies past the normal copy range. Without it those
 * are dropped, so a queue number taken by another program is a warning.
 */
static int
open_deep_worker(struct ctl *c, const struct worker_config *base)
{
	struct worker_config wc = *base;

	wc.q.num = (uint16_t)(c->o.queue_first + c->o.queues);
	wc.q.copy_range = WORKER_DEEP_COPY;
	wc.batch = WORKER_DEEP_BATCH;
	wc.msgsize = WORKER_DEEP_MSGSIZE;
	wc.deep_queue = -1;
	if (open_worker(c, &wc) < 0) {
		log_warn("no deep queue: IPv6 packets with an L4 header past the first bytes "
			 "will be dropped", "queue=%u", wc.q.num);
		return -1;
	}
	return wc.q.num;
}

/*
 * Verdict-log records per worker ring: 4096 (2.3 MiB of 600-byte records) up
 * to 8 queues, then fewer per ring so that all rings together stay near 32768
 * records (19 MiB) however many CPUs the node has; never under 512.
 */
static unsigned
log_ring_order(unsigned queues)
{
	unsigned order = 15;

	for (unsigned q = 1; q < queues && order > 9; q <<= 1)
		order--;
	return order > 12 ? 12 : order;
}

static int
start_workers(struct ctl *c)
{
	struct worker_config wc = {
		.q = { .maxlen = c->o.queue_len, .copy_range = WORKER_COPY,
		       .fail_open = c->o.fail_open },
		.ml = c->ml,
		.jo = { .audit = c->o.audit, .log_allowed = c->o.log_allowed },
		.log_ring_order = log_ring_order(c->o.queues),
		.fj_ring_order = c->o.flow_journal != NULL ? 10 : 0,	/* 1024 records, 600 KiB */
	};

	c->workers = calloc(c->o.queues + 1, sizeof(*c->workers));
	c->d.wstats = calloc(c->o.queues + 1, sizeof(*c->d.wstats));
	if (c->workers == NULL || c->d.wstats == NULL) {
		log_err("cannot start the workers", "error=\"%s\"", strerror(ENOMEM));
		return -ENOMEM;
	}
	wc.deep_queue = open_deep_worker(c, &wc);
	for (unsigned i = 0; i < c->o.queues; i++) {
		int err;

		wc.q.num = (uint16_t)(c->o.queue_first + i);
		err = open_worker(c, &wc);
		if (err < 0)
			return err;
		if (i == 0)
			log_info("queue configured", "queue=%u rcvbuf=%u conntrack_glue=%s "
				 "deep_queue=%d", wc.q.num, c->workers[c->nworkers - 1].q.rcvbuf,
				 c->workers[c->nworkers - 1].q.ct_glue ? "present" :
				 "absent (using packet-mark bits)", wc.deep_queue);
	}
	c->d.nworkers = c->nworkers;
	for (unsigned i = 0; i < c->nworkers; i++) {
		int err = worker_start(&c->workers[i]);

		if (err < 0) {
			log_err("cannot start worker", "error=\"%s\"", strerror(-err));
			return err;
		}
	}
	return 0;
}

static void
stop_all(struct ctl *c)
{
	kube_stop(c->kube);
	c->kube = NULL;
	/* every worker notices within its receive timeout: ask all, then wait */
	for (unsigned i = 0; i < c->nworkers; i++)
		worker_request_stop(&c->workers[i]);
	for (unsigned i = 0; i < c->nworkers; i++)
		worker_stop(&c->workers[i]);
	http_stop(c->http);
	c->http = NULL;
	fj_journal_stop(&c->journal);	/* after HTTP: no /flows reader is left */
	free(c->fj_rings);
	c->fj_rings = NULL;
	if (c->logger.rings != NULL)
		vlog_logger_stop(&c->logger);
	for (unsigned i = 0; i < c->nworkers; i++)
		worker_close(&c->workers[i]);
	ruleset_unpublish();
	free(c->workers);
	free(c->d.wstats);
	free(c->logger.rings);
	if (c->logout && c->logout != stdout)
		fclose(c->logout);
}

/* The lockout guard's lifelines (guard.h), resolved once. 0, or 2 on a usage error. */
static int
setup_guard(struct ctl *c)
{
	char why[300], one[GUARD_HOST_MAX + 16];
	const char *p = c->o.lifelines_env;
	int err = 0;

	if (c->o.no_lockout_guard)
		return 0;
	while (p != NULL && *p != '\0' && err == 0) {
		size_t n = strcspn(p, ",");

		if (n > 0 && n < sizeof(one)) {
			memcpy(one, p, n);
			one[n] = '\0';
			err = guard_add(&c->guard, one, why, sizeof(why));
		} else if (n > 0) {
			snprintf(why, sizeof(why), "a lifeline of NFQWALL_LIFELINES is too long");
			err = -EINVAL;
		}
		p += n + (p[n] == ',');
	}
	for (size_t i = 0; i < c->o.nlifelines && err == 0; i++)
		err = guard_add(&c->guard, c->o.lifelines[i], why, sizeof(why));
	/* the API server as this node reaches it: only a real address (a Service's
	 * ClusterIP is rewritten by kube-proxy before the table sees it) */
	if (err == 0 && c->o.kubernetes && c->o.api_server != NULL)
		err = guard_add_url(&c->guard, c->o.api_server, why, sizeof(why));
	/* in the cluster, the kubernetes Service: connected to after a change, not judged */
	else if (err == 0 && c->o.kubernetes && getenv("KUBERNETES_SERVICE_HOST") != NULL &&
		 getenv("KUBERNETES_SERVICE_PORT") != NULL && c->guard.n < GUARD_MAX_LIFELINES)
		err = guard_add_service(&c->guard, getenv("KUBERNETES_SERVICE_HOST"),
					getenv("KUBERNETES_SERVICE_PORT"), why, sizeof(why));
	if (err < 0) {
		fprintf(stderr, "nfqwall run: %s\n", why);
		return 2;
	}
	guard_resolve(&c->guard);
	for (size_t i = 0; i < c->guard.n; i++)
		log_info("lockout guard: lifeline", "lifeline=%s resolved=%s judged=%s",
			 c->guard.v[i].name, c->guard.v[i].family ? "yes" : "no",
			 c->guard.v[i].connect_only ? "no (a Service address: connected to only)" :
						      "yes");
	return 0;
}

/* Options, mark layout and host labels: 0 to go on, -1 after --help (exit 0), 2 (usage error). */
static int
run_prepare(struct ctl *c, int argc, char **argv)
{
	int rc = options_parse(argc, argv, &c->o);

	if (rc != 0)
		return rc == 1 ? -1 : 2;
	if (mark_layout_init(&c->ml, c->o.mark_mask) < 0) {
		fprintf(stderr, "nfqwall run: --mark-mask 0x%x must be at least 13 contiguous bits\n",
			c->o.mark_mask);
		return 2;
	}
	labels_init(&c->host_labels);
	cluster_init(&c->cl);
	c->selcache = selcache_new();	/* NULL: every compile matches anew */
	if (c->o.host_labels && labels_parse(c->o.host_labels, &c->host_labels) < 0) {
		fprintf(stderr, "nfqwall run: --host-labels: '%s' is not K=V,K=V\n", c->o.host_labels);
		return 2;
	}
	return setup_guard(c);
}

/* The event sources, the object store and, with --kubernetes, its client. 0 or -errno. */
static int
start_sources(struct ctl *c)
{
	int err = open_watches(c);

	if (err < 0) {
		log_err("cannot set up event sources", "error=\"%s\"", strerror(-err));
		return err;
	}
	err = kube_store_init(&c->store);
	if (err < 0)
		return err;
	if (c->o.kubernetes) {
		struct kube_config kcfg = {
			.server = c->o.api_server, .token_file = c->o.token_file,
			.ca_file = c->o.ca_file, .node = c->o.node, .group_version = c->o.api_group,
			.max_list_bytes = (size_t)c->o.max_list_mib << 20,
			/* nfqwall's own API connections pass its rules (fwrules.c) */
			.sock_mark = c->o.no_allow_self ? 0 : c->ml.prednat,
			/* what rule selectors see beside the policy kinds (reload.c) */
			.all_nodes = !c->o.no_cluster,
			.workloads = !c->o.no_cluster,
		};
		char why[256], ds_ns[64], ds_name[254];

		if (c->o.daemonset != NULL &&
		    options_daemonset(c->o.daemonset, ds_ns, sizeof(ds_ns), ds_name,
				      sizeof(ds_name)) == 0) {
			kcfg.ds_namespace = ds_ns;
			kcfg.ds_name = ds_name;
		}

		c->d.source = "kubernetes";
		c->d.kstore = &c->store;
		ctl_set_detail(c, "waiting for the first list of every kind from the Kubernetes API");
		err = kube_start(&c->kube, &kcfg, &c->store, why, sizeof(why));
		if (err < 0) {
			log_err("cannot start the Kubernetes client", "error=\"%s\"", why);
			return err;
		}
	}
	return 0;
}

/* The verdict logger over every worker's ring. 0 or -errno. */
static int
start_logger(struct ctl *c)
{
	struct vlog_config vc = { c->o.node, c->o.log_rate, c->o.log_burst, c->logout };
	struct vlog_ring **rings = calloc(c->nworkers, sizeof(*rings));

	if (rings == NULL) {
		log_err("cannot start the verdict logger", "error=\"%s\"", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (unsigned i = 0; i < c->nworkers; i++)
		rings[i] = &c->workers[i].ring;
	if (vlog_logger_start(&c->logger, &vc, rings, c->nworkers) < 0) {
		free(rings);
		log_err("cannot start the verdict logger", "%s", "");
		return -EAGAIN;
	}
	c->d.logger = &c->logger;
	return 0;
}

/* The flow journal over every worker's journal ring (--flow-journal). 0 or -errno. */
static int
start_journal(struct ctl *c)
{
	struct fj_config fc = {
		.path = c->o.flow_journal, .node = c->o.node,
		.max_bytes = (uint64_t)c->o.flow_journal_max_mib << 20,
		.max_flows = c->o.flow_journal_max_flows, .flush_ms = c->o.flow_journal_flush_ms,
	};
	char why[256];
	int err;

	if (c->o.flow_journal == NULL)
		return 0;
	c->fj_rings = calloc(c->nworkers, sizeof(*c->fj_rings));
	if (c->fj_rings == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < c->nworkers; i++)
		c->fj_rings[i] = &c->workers[i].fj;
	err = fj_journal_start(&c->journal, &fc, c->fj_rings, c->nworkers, why, sizeof(why));
	if (err < 0) {
		log_err("cannot start the flow journal", "path=%s error=\"%s\"", fc.path, why);
		return err;
	}
	c->d.journal = &c->journal;
	return 0;
}

/* /metrics, /livez and /readyz, unless --http-addr off. 0 or -errno. */
static int
start_http(struct ctl *c)
{
	char host[64];
	uint16_t port;

	if (strcmp(c->o.http_addr, "off") == 0)
		return 0;
	if (options_http_addr(c->o.http_addr, host, sizeof(host), &port) < 0 ||
	    http_start(&c->http, host, port, &c->d) < 0) {
		log_err("cannot serve HTTP", "addr=%s", c->o.http_addr);
		return -EINVAL;
	}
	return 0;
}

/* Close what start_sources opened. */
static void
close_sources(struct ctl *c)
{
	kube_stop(c->kube);
	c->kube = NULL;
	kube_store_free(&c->store);
	if (c->ifd >= 0)
		close(c->ifd);
	if (c->nlfd >= 0)
		close(c->nlfd);
	if (c->sfd >= 0)
		close(c->sfd);
	if (c->tfd >= 0)
		close(c->tfd);
}

/*
 * Before any thread starts: keep CAP_NET_ADMIN only (queues, SO_RCVBUFFORCE,
 * iptables-restore). Without it nfqwall cannot work: say so and stop.
 */
static int
drop_privileges(void)
{
	static const unsigned keep[] = { CAP_NET_ADMIN };
	struct privs_report r;
	int err = privs_drop(keep, ARRAY_SIZE(keep), &r);

	if (err < 0) {
		log_err("cannot drop privileges", "error=\"%s\"", strerror(-err));
		return err;
	}
	if (!(r.kept & (1ull << CAP_NET_ADMIN))) {
		log_err("CAP_NET_ADMIN is missing: nfqwall cannot bind its queues or install its "
			"rules", "%s", "");
		return -EPERM;
	}
	log_info("privileges dropped", "kept=cap_net_admin bounding_set=%s no_new_privs=%d",
		 r.bounding_dropped ? "cap_net_admin" : "unchanged (no CAP_SETPCAP)",
		 r.no_new_privs);
	return 0;
}

int
run_main(int argc, char **argv)
{
	struct ctl c;
	bool removed = false, installed;
	int rc;

	memset(&c, 0, sizeof(c));
	c.ifd = c.nlfd = c.sfd = c.tfd = c.store.efd = -1;
	confirm_init(&c.cf);
	rc = run_prepare(&c, argc, argv);
	if (rc != 0)
		return rc < 0 ? 0 : rc;
	pthread_mutex_init(&c.d.lock, NULL);
	STAT_SET(c.d.started_unix, (uint64_t)time(NULL));
	c.d.node = c.o.node;
	c.d.source = "policy-dir";
	STAT_SET(c.d.control_heartbeat_ns, mono_ns());
	urcu_memb_register_thread();
	log_info("starting", "node=%s source=%s queues=%u..%u fail=%s rejudge=%d audit=%d",
		 c.o.node, c.o.kubernetes ? "kubernetes" : c.o.policy_dir, c.o.queue_first,
		 c.o.queue_first + c.o.queues - 1, c.o.fail_open ? "open" : "closed",
		 !c.o.no_rejudge, c.o.audit);

	rc = 1;
	if (drop_privileges() < 0)
		goto out;
	/* rules of an earlier daemon (or tables that cannot be read): never replaced on a guess */
	installed = fwrules_any_installed();
	if (check_marks(&c, true, installed) < 0)
		goto out;
	/* A daemon restarted over its own rules must not reuse their generation. */
	c.gen = fwrules_installed_gen(&c.ml);
	if (!installed && c.o.kubernetes && !c.o.no_allow_self)
		install_bootstrap(&c);
	if (start_sources(&c) < 0)
		goto out;
	reload_policy(&c, "start");

	c.logout = c.o.log_file ? fopen(c.o.log_file, "a") : stdout;
	if (c.logout == NULL) {
		log_err("cannot open the verdict log", "path=%s error=\"%s\"", c.o.log_file,
			strerror(errno));
		goto out;
	}
	if (start_workers(&c) < 0 || start_logger(&c) < 0 || start_journal(&c) < 0 ||
	    start_http(&c) < 0)
		goto out_stop;
	/* Queues are bound: now steer traffic to them. */
	reload_policy(&c, "rules");
	if (!c.o.kubernetes && c.have_table)
		STAT_SET(c.d.ready, 1);
	log_info("running", "gen=%llu http=%s", (unsigned long long)c.gen, c.o.http_addr);
	rc = event_loop(&c) < 0 ? 1 : 0;
	if (daemonset_deleted(&c)) {
		char why[512];

		/* while the workers still judge: nothing queued goes unanswered */
		if (fwrules_uninstall(why, sizeof(why)) < 0) {
			log_err("cannot remove the netfilter rules", "error=\"%s\"", why);
			rc = 1;
		} else {
			removed = true;
			log_info("the DaemonSet is deleted: netfilter rules removed", "daemonset=%s",
				 c.o.daemonset);
		}
	}
out_stop:
	stop_all(&c);
	if (removed)
		log_info("stopped", "%s", "");
	else
		log_info("stopped; netfilter rules left in place (nfqwall uninstall removes them)",
			 "%s", "");
out:
	close_sources(&c);
	urcu_memb_unregister_thread();
	labels_free(&c.host_labels);
	cluster_free(&c.cl);
	selcache_free(c.selcache);
	confirm_free(&c.cf);
	return rc;
}

int
uninstall_main(int argc, char **argv)
{
	char why[512];
	int err;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: nfqwall uninstall\n\nRemove every netfilter rule and chain nfqwall "
		       "installed (IPv4 and IPv6). Exit 0 when done, 1 on failure.\n");
		return 0;
	}
	err = fwrules_uninstall(why, sizeof(why));
	if (err < 0) {
		fprintf(stderr, "nfqwall uninstall: %s\n", why[0] ? why : strerror(-err));
		return 1;
	}
	printf("nfqwall: netfilter rules removed\n");
	return 0;
}
