/*
 * fwrules.h - the netfilter rules nfqwall installs (the chains; the connmark
 * fast path in them is fastpath.c, its mark bits mark.h).
 *
 * Everything lives in chains named NFQWALL-*, jumped to from the top of the
 * built-in chains, and is written with one `iptables-restore --noflush` (and
 * `ip6tables-restore`) per change, so installing, upgrading and removing are
 * atomic per table and idempotent. A reload whose rules are the same runs no
 * tool; the live rules are read (iptables-save) to put a missing jump back
 * at the first install, when the tables used change, after a failure, and
 * once a minute (fwrules_recheck), not on every reload. Rules are built only from numbers and
 * validated CIDRs and interface names; no policy string reaches them.
 * Control thread (and `nfqwall uninstall`) only.
 */
#ifndef NFQWALL_FWRULES_H
#define NFQWALL_FWRULES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mark.h"
#include "model.h"

/* Up to FW_CARRY_GENS recent generations are carried, each with at most FW_CARRY_MAX CIDRs. */
#define FW_CARRY_GENS	4
#define FW_CARRY_MAX	64

/* A recent generation, and the addresses at which the table changed since. */
struct fw_carry {
	uint64_t gen;
	size_t n;
	struct cidr v[FW_CARRY_MAX];
};

struct fw_config {
	struct mark_layout ml;
	uint64_t gen;			/* the current table's generation (1..255) */
	uint16_t queue_first;
	uint16_t queue_count;
	bool fail_open;			/* --queue-bypass: no listener, packets pass */
	bool cpu_fanout;		/* --queue-cpu-fanout */
	bool invalid_drop;		/* drop conntrack INVALID */
	bool rejudge;			/* false: accept ESTABLISHED in the kernel (Felix) */
	bool prednat;			/* a preDNAT policy exists: queue from mangle PREROUTING */
	bool forward;			/* an applyOnForward/preDNAT policy exists: queue from FORWARD */
	bool untracked;			/* a doNotTrack policy applies: queue from raw */
	/*
	 * Flows remembered under one of the recent generations @carry[i].gen
	 * whose addresses are in none of @carry[i].v are moved to the current
	 * one in the kernel, not judged again: since that generation the table
	 * changed only at those addresses (ruleset_changed_at). Never with
	 * prednat (the mangle chain sees other addresses than the filter chains
	 * for a DNATed flow).
	 */
	const struct fw_carry *carry;
	size_t ncarry;
	const struct failsafe_list *fs_in;
	const struct failsafe_list *fs_out;
	/* nfqwall's own port on loopback (hostenv.self): accepted before the failsafes */
	const struct failsafe_list *self;
	/* the daemon's own sockets carry exactly P (kube_config.sock_mark): accepted
	 * like a failsafe flow in OUTPUT, so no policy cuts nfqwall off its API */
	bool self_sockmark;
	/* only what lets the daemon's own API connections be remembered as failsafe
	 * flows, nothing policed (Kubernetes mode, before the first list) */
	bool bootstrap;
	/* Where conntrack INVALID drops: interfaces a host endpoint claims, as in
	 * Felix, where those rules live in the endpoint chains. */
	bool claimed_all;		/* a "*" endpoint: every non-workload interface */
	const char *const *claimed;	/* else these interface names */
	size_t nclaimed;
};

/* fwrules_render - the iptables-restore input for @family (AF_INET or AF_INET6). */
void fwrules_render(const struct fw_config *c, int family, FILE *out);

/*
 * fwrules_install - render and load the rules for both families (nothing
 * when they are what the last install of this process loaded, less than a
 * minute ago). Returns 0, or -errno with the tool's error output in @why.
 */
int __must_check fwrules_install(const struct fw_config *c, char *why, size_t whylen);

/*
 * fwrules_recheck - when the live rules were last read a minute ago or
 * more, read them and load the last rules installed again, putting back a
 * jump someone removed (the event loop calls it between reloads). Returns
 * 0, or -errno with the tool's error output in @why.
 */
int __must_check fwrules_recheck(char *why, size_t whylen);

/* fwrules_uninstall - remove every jump and chain nfqwall installed (both families). */
int __must_check fwrules_uninstall(char *why, size_t whylen);

/*
 * fwrules_any_installed - does any table of either family hold a chain of
 * nfqwall's (true also when a table could not be read: unknown counts as
 * installed, so that nothing is replaced on a guess)?
 */
bool fwrules_any_installed(void);

/*
 * fwrules_installed_gen - the generation in the installed fast-path rule, or
 * 0 when none is installed (so a restarted daemon never reuses it).
 */
unsigned fwrules_installed_gen(const struct mark_layout *ml);

/*
 * fwrules_run_tool - run @argv (found by PATH) with @input on its stdin;
 * collect stdout into *@outp (malloc'd, may be NULL) and stderr into @why.
 * Returns the exit status, or -errno: -ETIMEDOUT or -EMSGSIZE when it ran over
 * 30 s or wrote over 256 MiB (it is killed).
 */
int fwrules_run_tool(const char *const argv[], const char *input, char **outp, char *why,
		     size_t whylen);

#endif /* NFQWALL_FWRULES_H */
