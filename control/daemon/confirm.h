/*
 * confirm.h - the lockout guard's second line, a "commit confirmed"
 * (docs/operations.md, "The lockout guard"). The first line (guard.h)
 * judges each lifeline's connection under a new table before it is
 * published; this one checks the real thing after: once a changed policy
 * is enforced, the daemon opens a TCP connection from this node to every
 * lifeline, an ordinary connection that the data path judges like any
 * other (the daemon's own sockets are marked as failsafe flows; these are
 * not). A lifeline that the last confirmed policy reached and the new one
 * does not reach within --confirm-timeout brings the last confirmed policy
 * back (a reload from its saved text), and the new one is not enforced
 * again until it changes. The restored policy is then checked the same way:
 * if the lifeline is unreachable under it too, the cut was not the
 * policy's doing (the link went down): the new policy is enforced again and
 * that lifeline counts as down until a connection reaches it, so a
 * flapping lifeline cannot cause a rollback loop. Between changes, every
 * lifeline is tried every CONFIRM_REFRESH_S seconds, to know which are up.
 *
 * A connection is "reached" when it is established or refused (the far
 * end answered); anything else (no answer by the deadline, unreachable) is
 * not. Private to control/daemon. Control thread only.
 */
#ifndef NFQWALL_CONFIRM_H
#define NFQWALL_CONFIRM_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guard.h"
#include "model.h"

#define CONFIRM_REFRESH_S	30

enum lifeline_state { LF_UNKNOWN, LF_UP, LF_DOWN };

enum confirm_phase {
	CF_IDLE,
	CF_CONFIRM,		/* a changed policy is enforced: does it reach them? */
	CF_ROLLBACK,		/* it cut one: the last confirmed policy is being reloaded */
	CF_VERIFY,		/* ... and is enforced: does it reach the one cut? */
	CF_REFRESH,		/* no change: which lifelines are up */
};

struct confirm_probe {
	int fd;			/* -1: settled, or never started */
	int result;		/* 0: pending; 1: reached; -1: not */
	int err;		/* why not (errno; ETIMEDOUT at the deadline) */
	struct pkt_key k;	/* the connection as the data path judged it (for the log) */
};

/* A policy as it was loaded: the streams to load it again, and their digest. */
struct confirm_policy {
	struct polsrc *v;
	size_t n;
	uint64_t digest;	/* polset.digest */
};

/* An object (a stream) of a rolled-back policy, not loaded again until it changes. */
struct confirm_rej {
	char *name;
	uint64_t hash;		/* the rejected text's polsrc_hash; 0: the policy deleted it */
};

struct confirm {
	enum confirm_phase phase;
	struct confirm_probe p[GUARD_MAX_LIFELINES];
	enum lifeline_state state[GUARD_MAX_LIFELINES];	/* as the last probes found them */
	uint64_t started_ns;
	uint64_t deadline_ns;
	uint64_t next_refresh_ns;
	struct confirm_policy good;	/* the last policy confirmed (or the first enforced) */
	bool have_good;
	struct confirm_policy cand;	/* enforced, being confirmed */
	uint64_t cand_ns;		/* when the first unconfirmed change was enforced */
	struct confirm_rej *rej;	/* rolled back: these versions are replaced by good's */
	size_t nrej;
	size_t rejcap;
	size_t cut;			/* the lifeline it cut */
	char note[1200];			/* what /readyz adds while it stays rolled back */
};

struct ctl;
struct polset;

/* confirm_init / confirm_free - no probe, every lifeline unknown; release it all. */
void confirm_init(struct confirm *cf);
void confirm_free(struct confirm *cf);

/*
 * confirm_reload_source - after a reload loaded @ps (with keep_sources),
 * while a policy is rolled back: load @ps again with the last confirmed
 * version of each object that still has its rolled-back text (or is
 * still deleted as the rolled-back policy deleted it), and return true;
 * when none has, the rollback is over: false. 0 is returned through @err,
 * or what polset_load_sources returned.
 */
bool confirm_reload_source(struct ctl *c, struct polset *ps, int *err);

/*
 * confirm_enforced - a reload of @ps (loaded instead of the rolled-back one
 * when @restored), whose endpoints and interfaces are @env, is enforced:
 * start probes as the phase calls for. Takes @ps's kept streams when it
 * keeps them as the candidate.
 */
void confirm_enforced(struct ctl *c, struct polset *ps, const struct hostenv *env,
		      bool restored);

/* confirm_pollfds - the probes' sockets to wait on, into @p (at most @max): how many. */
size_t confirm_pollfds(const struct ctl *c, struct pollfd *p, size_t max);

/* confirm_wait_ms - how long the event loop may sleep for the probes (at most @max_ms). */
int confirm_wait_ms(const struct ctl *c, int max_ms);

/*
 * confirm_event - in Kubernetes mode, a Warning Event with @reason and
 * @message about the GlobalNetworkPolicy of @v (as the API group in use
 * names it), or about this Node when @v names no policy.
 */
void confirm_event(struct ctl *c, const struct guard_verdict *v, const char *reason,
		   const char *message);

/* confirm_tick - see to the probes: settle them, act on what they found. */
void confirm_tick(struct ctl *c);

#endif /* NFQWALL_CONFIRM_H */
