/*
 * guard.c - the lockout guard's lifelines and how a table judges them
 * (guard.h). Control thread only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guard.h"
#include "log.h"
#include "walk.h"

/* The source port the judged SYN carries: one of Linux's ephemeral range. */
#define GUARD_SPORT	40000

static int
add(struct guard *g, const char *name, const char *host, size_t hlen, const char *port,
    char *why, size_t whylen)
{
	struct lifeline *l;
	char *end;
	unsigned long p;

	if (g->n >= GUARD_MAX_LIFELINES) {
		snprintf(why, whylen, "at most %d lifelines", GUARD_MAX_LIFELINES);
		return -ENOSPC;
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	if (hlen == 0 || hlen > GUARD_HOST_MAX || port[0] < '0' || port[0] > '9' || *end != '\0' ||
	    errno != 0 || p == 0 || p > 65535) {
		snprintf(why, whylen, "lifeline '%s': want tcp:HOST:PORT (HOST a name or an "
			 "address, [V6] bracketed; PORT 1-65535)", name);
		return -EINVAL;
	}
	l = &g->v[g->n++];
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%s", name);
	memcpy(l->host, host, hlen);
	l->host[hlen] = '\0';
	l->port = (uint16_t)p;
	return 0;
}

/* "HOST:PORT" or "[V6]:PORT" into @g. */
static int
add_hostport(struct guard *g, const char *name, const char *hp, char *why, size_t whylen)
{
	const char *colon = strrchr(hp, ':'), *h = hp;
	size_t hlen = colon ? (size_t)(colon - hp) : 0;

	if (colon == NULL)
		return add(g, name, "", 0, "", why, whylen);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	} else if (memchr(h, ':', hlen) != NULL) {
		return add(g, name, "", 0, "", why, whylen);	/* an IPv6 address needs [] */
	}
	return add(g, name, h, hlen, colon + 1, why, whylen);
}

int
guard_add(struct guard *g, const char *spec, char *why, size_t whylen)
{
	if (strncmp(spec, "tcp:", 4) != 0) {
		snprintf(why, whylen, "lifeline '%s': want tcp:HOST:PORT (only TCP lifelines)", spec);
		return -EINVAL;
	}
	return add_hostport(g, spec, spec + 4, why, whylen);
}

int
guard_add_url(struct guard *g, const char *url, char *why, size_t whylen)
{
	char hp[GUARD_HOST_MAX + 16], name[sizeof(hp) + 8];
	const char *p = url, *port = ":443";
	size_t n;

	if (strncmp(p, "https://", 8) == 0) {
		p += 8;
	} else if (strncmp(p, "http://", 7) == 0) {
		p += 7;
		port = ":80";
	}
	n = strcspn(p, "/?#");
	if (n == 0 || n >= sizeof(hp)) {
		snprintf(why, whylen, "API server URL '%s': no host", url);
		return -EINVAL;
	}
	memcpy(hp, p, n);
	hp[n] = '\0';
	if (strrchr(hp, ':') == NULL || (hp[0] == '[' && hp[n - 1] == ']'))
		snprintf(hp + n, sizeof(hp) - n, "%s", port);	/* the scheme's port */
	snprintf(name, sizeof(name), "tcp:%s", hp);
	return add_hostport(g, name, hp, why, whylen);
}

int
guard_add_service(struct guard *g, const char *host, const char *port, char *why, size_t whylen)
{
	char hp[GUARD_HOST_MAX + 16], name[sizeof(hp) + 8];
	int err;

	if (strlen(host) > GUARD_HOST_MAX) {
		snprintf(why, whylen, "KUBERNETES_SERVICE_HOST is too long");
		return -EINVAL;
	}
	snprintf(hp, sizeof(hp), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	snprintf(name, sizeof(name), "tcp:%s", hp);
	err = add_hostport(g, name, hp, why, whylen);
	if (err == 0)
		g->v[g->n - 1].connect_only = true;
	return err;
}

void
guard_resolve(struct guard *g)
{
	for (size_t i = 0; i < g->n; i++) {
		struct lifeline *l = &g->v[i];
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
		int rc = getaddrinfo(l->host, NULL, &hints, &res);

		if (rc != 0 || res == NULL) {
			log_warn("lifeline does not resolve: the lockout guard leaves it out",
				 "lifeline=%s error=\"%s\"", l->name, gai_strerror(rc));
			continue;
		}
		if (res->ai_family == AF_INET) {
			const struct sockaddr_in *s = (const void *)res->ai_addr;

			addr_from_bytes(&l->addr, (const uint8_t *)&s->sin_addr, AF_INET);
			l->family = AF_INET;
		} else if (res->ai_family == AF_INET6) {
			const struct sockaddr_in6 *s = (const void *)res->ai_addr;

			addr_from_bytes(&l->addr, s->sin6_addr.s6_addr, AF_INET6);
			l->family = AF_INET6;
		}
		freeaddrinfo(res);
	}
}

socklen_t
guard_sockaddr(const struct lifeline *l, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (l->family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(l->port);
		addr_to_bytes(&l->addr, AF_INET, (uint8_t *)&s->sin_addr);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

	s->sin6_family = AF_INET6;
	s->sin6_port = htons(l->port);
	addr_to_bytes(&l->addr, AF_INET6, s->sin6_addr.s6_addr);
	return sizeof(*s);
}

bool
guard_local_end(int fd, uint8_t family, struct addr *src, uint16_t *sport)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 || ss.ss_family != family)
		return false;
	if (family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&ss;

		addr_from_bytes(src, (const uint8_t *)&s->sin_addr, AF_INET);
		*sport = ntohs(s->sin_port);
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&ss;

		addr_from_bytes(src, s->sin6_addr.s6_addr, AF_INET6);
		*sport = ntohs(s->sin6_port);
	}
	return true;
}

/* The source address the node's routes pick for @l (a UDP connect sends nothing). */
static bool
route_source(const struct lifeline *l, struct addr *src)
{
	struct sockaddr_storage ss;
	socklen_t len = guard_sockaddr(l, &ss);
	int fd = socket(l->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint16_t port;
	bool ok;

	if (fd < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&ss, len) == 0 && guard_local_end(fd, l->family, src,
									     &port);
	close(fd);
	return ok;
}

/* The interface of @env that carries @a, or 0. */
static uint32_t
iface_of(const struct hostenv *env, const struct addr *a, uint8_t family)
{
	for (size_t i = 0; i < env->nifaces; i++)
		for (size_t j = 0; j < env->ifaces[i].naddrs; j++)
			if (env->ifaces[i].addrs[j].family == family &&
			    addr_cmp(&env->ifaces[i].addrs[j].addr, a) == 0)
				return env->ifaces[i].ifindex;
	return 0;
}

void
guard_key(const struct lifeline *l, const struct addr *src, uint16_t sport,
	  const struct hostenv *env, struct pkt_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = l->family;
	k->proto = IPPROTO_TCP;
	k->flags = PKT_F_PORTS;
	k->ct = CT_NEW;
	k->sport = sport;
	k->dport = l->port;
	k->len = l->family == AF_INET ? 60 : 80;
	k->dst = l->addr;
	if (src != NULL) {
		k->src = *src;
		k->oif = env != NULL ? iface_of(env, src, l->family) : 0;
	}
}

/* How @rs judges the packet @in along its whole path, into @out. */
static void
judge(const struct eval_input *in, const struct ruleset *rs, struct guard_verdict *out)
{
	struct walk_result *w = malloc(sizeof(*w));
	const struct decision *d;

	memset(out, 0, sizeof(*out));
	out->allow = true;
	if (w == NULL || in->k.family == 0 || rs == NULL) {
		free(w);
		snprintf(out->why, sizeof(out->why), "not judged");
		return;
	}
	walk_ruleset(rs, in, w);
	d = &w->final;
	out->allow = d->allow;
	if (d->policy != NULL && d->tier != NULL) {	/* a profile has no tier */
		snprintf(out->tier, sizeof(out->tier), "%s", d->tier);
		snprintf(out->policy, sizeof(out->policy), "%s", d->policy);
	}
	if (d->policy != NULL && d->rule >= 0)
		snprintf(out->why, sizeof(out->why), "%s policy %s%s%s rule %d",
			 d->allow ? "allowed by" : "denied by", d->tier ? d->tier : "",
			 d->tier ? "/" : "", d->policy, d->rule);
	else if (d->policy != NULL)
		snprintf(out->why, sizeof(out->why), "%s %s (%s, %s)",
			 d->allow ? "allowed by" : "denied by", d->policy, stage_name(d->stage),
			 reason_name(d->reason));
	else
		snprintf(out->why, sizeof(out->why), "%s at %s (%s)", d->allow ? "allowed" : "denied",
			 stage_name(d->stage), reason_name(d->reason));
	free(w);
}

void
guard_judge_key(const struct pkt_key *k, const struct ruleset *rs, struct guard_verdict *out)
{
	struct eval_input in;

	memset(&in, 0, sizeof(in));
	in.path = PATH_LOCAL_OUT;
	in.k = *k;
	judge(&in, rs, out);
}

/* How @rs judges the answer to the SYN @k (the reply direction: tracked policy lets it
 * through conntrack, untracked policy judges it again). */
static void
judge_answer(const struct pkt_key *k, const struct ruleset *rs, struct guard_verdict *out)
{
	struct eval_input in;

	memset(&in, 0, sizeof(in));
	in.path = PATH_LOCAL_IN;
	in.k = *k;
	in.k.src = k->dst;
	in.k.dst = k->src;
	in.k.sport = k->dport;
	in.k.dport = k->sport;
	in.k.iif = k->oif;
	in.k.oif = 0;
	in.k.ct = CT_ESTABLISHED;
	in.k.ct_reply = 1;
	judge(&in, rs, out);
}

void
guard_judge_conn(const struct pkt_key *k, const struct ruleset *rs, struct guard_verdict *out)
{
	struct guard_verdict answer;

	guard_judge_key(k, rs, out);
	if (!out->allow || rs == NULL)
		return;
	judge_answer(k, rs, &answer);
	if (!answer.allow) {
		*out = answer;
		snprintf(out->why, sizeof(out->why), "its answer %.*s",
			 (int)(sizeof(out->why) - sizeof("its answer ")), answer.why);
	}
}

void
guard_explain_cut(const struct pkt_key *k, const struct ruleset *rs, char *why, size_t whylen,
		  struct guard_verdict *cut)
{
	struct guard_verdict syn, answer;

	guard_judge_key(k, rs, &syn);
	*cut = syn;
	if (!syn.allow) {
		snprintf(why, whylen, "the SYN is %s", syn.why);
		return;
	}
	judge_answer(k, rs, &answer);
	if (!answer.allow) {
		*cut = answer;
		snprintf(why, whylen, "the SYN is %s; the answer is %s", syn.why, answer.why);
	} else {
		snprintf(why, whylen, "the SYN is %s and the answer allowed: not cut by this "
			 "table's rules", syn.why);
	}
}

void
guard_judge(const struct lifeline *l, const struct ruleset *rs, const struct hostenv *env,
	    struct guard_verdict *out)
{
	struct pkt_key k;
	struct addr src;

	if (l->family == 0) {
		memset(out, 0, sizeof(*out));
		out->allow = true;
		snprintf(out->why, sizeof(out->why), "not judged");
		return;
	}
	guard_key(l, route_source(l, &src) ? &src : NULL, GUARD_SPORT, env, &k);
	guard_judge_conn(&k, rs, out);
}

bool
guard_check(const struct guard *g, const struct ruleset *cur, const struct ruleset *next,
	    const struct hostenv *env, const struct lifeline **cut, struct guard_verdict *before,
	    struct guard_verdict *after)
{
	for (size_t i = 0; i < g->n; i++) {
		if (g->v[i].family == 0 || g->v[i].connect_only)
			continue;
		guard_judge(&g->v[i], cur, env, before);
		if (!before->allow)
			continue;	/* cut already: not this table's doing */
		guard_judge(&g->v[i], next, env, after);
		if (!after->allow) {
			*cut = &g->v[i];
			return false;
		}
	}
	return true;
}
