/*
 * guard.h - the lockout guard: a new table must not cut this node off from
 * what keeps it in its cluster (docs/operations.md, "The lockout guard").
 * Lifelines are TCP destinations the node itself connects to: the
 * Kubernetes API server (in Kubernetes mode) and each --lifeline. Before a
 * table is published, each lifeline's connection from this node is judged
 * under the current table and the new one, as explain would judge it; a new
 * table that denies a lifeline the current one allows is refused, and the
 * current one stays. Private to control/daemon. Control thread only.
 */
#ifndef NFQWALL_GUARD_H
#define NFQWALL_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "hostenv.h"
#include "pktkey.h"
#include "ruleset.h"

#define GUARD_MAX_LIFELINES	16
#define GUARD_HOST_MAX		253

struct lifeline {
	char name[GUARD_HOST_MAX + 16];	/* "tcp:HOST:PORT" as given, for the log */
	char host[GUARD_HOST_MAX + 1];
	uint16_t port;
	struct addr addr;		/* resolved by guard_resolve */
	uint8_t family;			/* 0: not resolved */
};

struct guard {
	struct lifeline v[GUARD_MAX_LIFELINES];
	size_t n;
};

/*
 * guard_add - parse "tcp:HOST:PORT" (HOST a name, an IPv4 address or a
 * bracketed IPv6 one) into the next lifeline. 0, or -EINVAL / -ENOSPC with
 * a sentence in @why.
 */
int __must_check guard_add(struct guard *g, const char *spec, char *why, size_t whylen);

/*
 * guard_add_url - the host and port of an https:// URL (the API server) as
 * a lifeline named @name. Same returns.
 */
int __must_check guard_add_url(struct guard *g, const char *url, char *why, size_t whylen);

/*
 * guard_resolve - resolve every lifeline's host once (getaddrinfo, the
 * first address); one that does not resolve is logged and left out of
 * every judgment. Call at start, before the netfilter rules go in.
 */
void guard_resolve(struct guard *g);

/* How one table judges one lifeline. */
struct guard_verdict {
	bool allow;
	char why[256];			/* "policy P rule N (file:line)" or the stage */
};

/*
 * guard_judge - the connection from this node to @l (a TCP SYN at filter
 * OUTPUT, from the address the node's routes pick, through the interface
 * that carries it in @env) judged by @rs.
 */
void guard_judge(const struct lifeline *l, const struct ruleset *rs, const struct hostenv *env,
		 struct guard_verdict *out);

/*
 * guard_check - may @next replace @cur? False when a lifeline @cur allows
 * is denied by @next: *@cut is then that lifeline and @before / @after say
 * how each table judged it.
 */
bool guard_check(const struct guard *g, const struct ruleset *cur, const struct ruleset *next,
		 const struct hostenv *env, const struct lifeline **cut,
		 struct guard_verdict *before, struct guard_verdict *after);

#endif /* NFQWALL_GUARD_H */
