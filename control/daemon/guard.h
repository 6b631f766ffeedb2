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
#include <sys/socket.h>

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
	bool connect_only;		/* a Service address that kube-proxy rewrites before
					 * the table sees it: never judged, only connected to */
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
 * guard_add_service - the in-cluster API server, @host and @port of the
 * kubernetes Service (KUBERNETES_SERVICE_HOST and _PORT), as a lifeline
 * connected to after a change but never judged: the table sees the address
 * kube-proxy rewrites it to. Same returns.
 */
int __must_check guard_add_service(struct guard *g, const char *host, const char *port,
				   char *why, size_t whylen);

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
	char tier[254];			/* the deciding policy's tier and name ("": none, */
	char policy[254];		/* or a profile's) */
};

/*
 * guard_judge - the connection from this node to @l (a TCP SYN at filter
 * OUTPUT, from the address the node's routes pick, through the interface
 * that carries it in @env, and its answer) judged by @rs (guard_judge_conn).
 */
void guard_judge(const struct lifeline *l, const struct ruleset *rs, const struct hostenv *env,
		 struct guard_verdict *out);

/*
 * guard_key - the SYN from @src:@sport (NULL: unknown, as for a lifeline
 * with no route) to @l, through the interface of @env (NULL: none known)
 * carrying @src.
 * guard_judge_key - how @rs judges it at filter OUTPUT (the walk explain
 * does); @rs NULL: not judged.
 */
void guard_key(const struct lifeline *l, const struct addr *src, uint16_t sport,
	       const struct hostenv *env, struct pkt_key *k);
void guard_judge_key(const struct pkt_key *k, const struct ruleset *rs, struct guard_verdict *out);

/*
 * guard_judge_conn - how @rs judges the connection whose SYN is @k: the
 * SYN and, when it is allowed, its answer (which untracked policy judges
 * again); a denied answer says "its answer denied by ...".
 */
void guard_judge_conn(const struct pkt_key *k, const struct ruleset *rs, struct guard_verdict *out);

/*
 * guard_explain_cut - why @rs cuts the connection whose SYN is @k, as
 * explain would say: the SYN's verdict and, when it is allowed, the
 * answer's (untracked policy judges it again), into @why; the verdict that
 * denies (or the SYN's, when none does) into @cut.
 */
void guard_explain_cut(const struct pkt_key *k, const struct ruleset *rs, char *why,
		       size_t whylen, struct guard_verdict *cut);

/* guard_sockaddr - @l as a socket address into @ss: its length. */
socklen_t guard_sockaddr(const struct lifeline *l, struct sockaddr_storage *ss);

/* guard_local_end - the local address and port of the socket @fd of @family. */
bool guard_local_end(int fd, uint8_t family, struct addr *src, uint16_t *sport);

/*
 * guard_check - may @next replace @cur? False when a lifeline @cur allows
 * is denied by @next: *@cut is then that lifeline and @before / @after say
 * how each table judged it.
 */
bool guard_check(const struct guard *g, const struct ruleset *cur, const struct ruleset *next,
		 const struct hostenv *env, const struct lifeline **cut,
		 struct guard_verdict *before, struct guard_verdict *after);

#endif /* NFQWALL_GUARD_H */
