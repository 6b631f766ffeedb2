/*
 * ctl.h - the control thread's state in `nfqwall run`, shared by run.c
 * (start, stop, the event loop) and reload.c (load, compile, publish,
 * install). Private to control/daemon. Control thread only, but for
 * struct daemon, which the HTTP thread reads (see daemon.h).
 */
#ifndef NFQWALL_CTL_H
#define NFQWALL_CTL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "compiler.h"
#include "cluster.h"
#include "confirm.h"
#include "daemon.h"
#include "fjournal.h"
#include "fwrules.h"
#include "guard.h"
#include "kube.h"
#include "labels.h"
#include "mark.h"
#include "options.h"
#include "vlog.h"

struct worker;
struct http_server;


struct ctl {
	struct run_opts o;
	struct labels host_labels;
	struct daemon d;
	struct mark_layout ml;
	struct worker *workers;
	unsigned nworkers;
	struct vlog_logger logger;
	struct fj_journal journal;	/* --flow-journal */
	struct fj_ring **fj_rings;
	struct http_server *http;
	struct kube_store store;
	struct kube_client *kube;
	uint64_t store_version;		/* of the last reload from the store */
	FILE *logout;
	uint64_t gen;
	bool have_table;
	/* recent generations whose flows the changes since spare, newest first:
	 * only the table's verdicts at their addresses changed (fw_config.carry) */
	struct fw_carry carry[FW_CARRY_GENS];
	size_t ncarry;
	/* the other Nodes and the pods, kept between reloads (endpoints.c), and what
	 * rule selectors matched among them (selcache.h; NULL: not kept) */
	struct cluster cl;
	struct selcache *selcache;
	int ifd;		/* inotify */
	int wd;
	int nlfd;		/* rtnetlink */
	int sfd;		/* signalfd */
	int tfd;		/* debounce timer */
	bool reload_pending;
	uint64_t pending_since_ns;	/* the first change the pending reload waits for */
	uint64_t autohep_cfg_id;	/* the auto host endpoint settings last logged */
	uint64_t urgent_first_ns;	/* the first policy change still waiting; 0: none */
	uint64_t urgent_due_ns;		/* a policy change waits no longer than this; 0: none */
	uint64_t policy_version;	/* the store's policy_version last scheduled for */
	int ds_state;			/* enum kube_ds_state last logged (--daemonset) */
	uint64_t markcheck_ns;		/* when the mark bits were last checked */
	struct guard guard;		/* the lockout guard's lifelines (guard.h) */
	char guard_refusal[1100];	/* the last cut logged ("": none since) */
	struct confirm cf;		/* ... and its real connections after a change (confirm.h) */
};

/* ctl_set_detail - what /readyz says besides ready or not (under d.lock). */
static inline void __printf(2, 3)
ctl_set_detail(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&c->d.lock);
	va_start(ap, fmt);
	vsnprintf(c->d.ready_detail, sizeof(c->d.ready_detail), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&c->d.lock);
}

/*
 * reload_policy - load, compile, publish and install; @why names the
 * trigger in the log. On the first load a policy with errors still loads
 * its valid objects (there is no older table to keep); later, a load with
 * errors is rejected as a whole. Any failure (a rejected policy, memory)
 * keeps the last good table, is logged and counted. Returns 0 or -errno.
 */
int reload_policy(struct ctl *c, const char *why);

/*
 * reload_schedule - a change was seen: reload after --debounce-ms of quiet, and at most
 * --debounce-max-ms after the first change still waiting; an @urgent one (a policy
 * object, not the cluster's churn) after --policy-debounce-ms of quiet among urgent
 * ones, and at most --debounce-ms after the first of them, whatever follows.
 */
void reload_schedule(struct ctl *c, bool urgent);

/* reload_due - the debounce timer fired: reload if a change is pending,
 * then, with the Kubernetes source, see whether the daemon is now ready. */
void reload_due(struct ctl *c);

#endif /* NFQWALL_CTL_H */
