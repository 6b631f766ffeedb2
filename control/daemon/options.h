/*
 * options.h - the options of `nfqwall run`: command-line flags, each with an
 * environment variable (flags win), parsed and checked once at start.
 * Control thread only.
 */
#ifndef NFQWALL_OPTIONS_H
#define NFQWALL_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "model.h"

struct run_opts {
	const char *policy_dir;
	bool kubernetes;
	const char *api_server;
	const char *token_file;
	const char *ca_file;
	const char *api_group;
	bool auto_hep;
	bool no_cluster;		/* --no-cluster-endpoints: no Pods, other Nodes */
	const char *node;		/* --node, else $NFQWALL_NODE or $NODE_NAME, else hostname */
	const char *host_labels;
	const char *fs_in;
	const char *fs_out;
	unsigned queues;
	unsigned queue_first;
	unsigned queue_len;
	bool fail_open;
	uint32_t mark_mask;
	bool no_invalid_drop;
	bool no_rejudge;
	bool log_allowed;
	bool audit;
	const char *log_file;
	const char *flow_journal;	/* --flow-journal FILE, or NULL */
	unsigned flow_journal_max_mib;	/* one journal file, at most (FILE.1 takes as much) */
	unsigned flow_journal_max_flows;	/* distinct flows held in memory */
	unsigned flow_journal_flush_ms;	/* lines are appended this often */
	double log_rate;
	double log_burst;
	const char *http_addr;
	bool no_allow_self;		/* police nfqwall's own port on loopback too */
	const char *mark_check;		/* "refuse", "warn" or "off" */
	const char *daemonset;		/* "NAMESPACE/NAME" of the DaemonSet running us, or NULL */
	const char *lifelines[16];	/* --lifeline tcp:HOST:PORT, as given (guard.h) */
	size_t nlifelines;
	const char *lifelines_env;	/* $NFQWALL_LIFELINES: comma-separated, before them */
	bool no_lockout_guard;
	unsigned confirm_timeout_s;	/* --confirm-timeout: a lifeline's connection after a change */
	unsigned debounce_ms;
	unsigned policy_debounce_ms;	/* quiet after a policy change, at most debounce_ms */
	unsigned debounce_max_ms;	/* first pending change to the reload, at most */
	unsigned max_list_mib;		/* one Kubernetes list, all pages; 0: the client's 64 MiB */
	struct polset_limits limits;	/* --max-file-bytes ... (model.h) */
	char hostname[256];		/* what node points to when no name is given */
};

/*
 * options_parse - the environment, then @argv, into @o (whose strings point
 * into the environment, @argv or @o itself). Returns 0 to run, 1 when
 * --help was printed (exit 0), 2 on a usage error (already reported on
 * stderr; exit 2).
 */
int __must_check options_parse(int argc, char **argv, struct run_opts *o);

/*
 * options_http_addr - split "HOST:PORT" or "[V6]:PORT" (--http-addr) into
 * @host and @port. Returns 0 or -EINVAL.
 */
int __must_check options_http_addr(const char *s, char *host, size_t hostlen, uint16_t *port);

/*
 * options_daemonset - split --daemonset "NAMESPACE/NAME" into @ns (64 bytes
 * suffice) and @name (254); either may be NULL to only check. Returns 0 or
 * -EINVAL when either part is no Kubernetes name.
 */
int __must_check options_daemonset(const char *s, char *ns, size_t nslen, char *name,
				   size_t namelen);

#endif /* NFQWALL_OPTIONS_H */
