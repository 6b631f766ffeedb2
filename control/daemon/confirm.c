/*
 * confirm.c - the lockout guard's second line: real connections to the
 * lifelines after a changed policy is enforced, and the rollback when one
 * is cut (confirm.h). Control thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "clock.h"
#include "confirm.h"
#include "ctl.h"
#include "log.h"
#include "alloc.h"
#include "ruleset.h"
#include "strmap.h"

#define NS_PER_MS	1000000ull
#define NS_PER_S	1000000000ull

/* ---- the probes ---------------------------------------------------------------------------- */

static void
probes_close(struct confirm *cf)
{
	for (size_t i = 0; i < GUARD_MAX_LIFELINES; i++) {
		if (cf->p[i].fd >= 0)
			close(cf->p[i].fd);
		cf->p[i].fd = -1;
	}
}

/* Settle probe @p by the socket's error: reached when connected or refused. */
static void
probe_settle(struct confirm_probe *p, int err)
{
	p->result = err == 0 || err == ECONNREFUSED ? 1 : -1;
	p->err = err;
	close(p->fd);
	p->fd = -1;
}

/*
 * A connection to @l, as any program of the node would open it: no socket
 * mark (the daemon's API connections carry one that makes them failsafe
 * flows), so the data path judges it by the table enforced now.
 */
static void
probe_start(struct confirm_probe *p, const struct lifeline *l, const struct hostenv *env)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct addr src;
	uint16_t sport;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	if (l->family == 0) {
		p->result = -1;		/* not resolved: never counts as up */
		p->err = EDESTADDRREQ;
		return;
	}
	len = guard_sockaddr(l, &ss);
	p->fd = socket(l->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		p->result = -1;
		p->err = errno;
		return;
	}
	if (connect(p->fd, (struct sockaddr *)&ss, len) == 0) {
		probe_settle(p, 0);
		return;
	}
	if (errno != EINPROGRESS) {
		probe_settle(p, errno);
		return;
	}
	/* the SYN is on its way: what the data path judges, for the log of a cut */
	if (guard_local_end(p->fd, l->family, &src, &sport))
		guard_key(l, &src, sport, env, &p->k);
	else
		guard_key(l, NULL, 0, env, &p->k);
}

static void
probes_start(struct confirm *cf, const struct guard *g, const struct hostenv *env,
	     enum confirm_phase phase, uint64_t deadline_ns)
{
	probes_close(cf);
	cf->phase = phase;
	cf->started_ns = mono_ns();
	cf->deadline_ns = deadline_ns;
	for (size_t i = 0; i < g->n; i++)
		probe_start(&cf->p[i], &g->v[i], env);
}

/* Settle what can be settled now; true when every probe is. */
static bool
probes_step(struct confirm *cf, size_t n, uint64_t now)
{
	bool all = true;

	for (size_t i = 0; i < n; i++) {
		struct confirm_probe *p = &cf->p[i];
		struct pollfd pfd = { p->fd, POLLOUT, 0 };
		int err = 0;
		socklen_t len = sizeof(err);

		if (p->fd < 0)
			continue;
		if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
			if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
				err = errno;
			probe_settle(p, err);
		} else if (now >= cf->deadline_ns) {
			probe_settle(p, ETIMEDOUT);
		} else {
			all = false;
		}
	}
	return all;
}

static const char *
probe_result(const struct confirm_probe *p)
{
	return p->result > 0 ? (p->err == ECONNREFUSED ? "reached (refused)" : "reached") :
			       strerror(p->err);
}

/* ---- the policies kept ---------------------------------------------------------------------- */

static void
policy_drop(struct confirm_policy *pol)
{
	polsrc_free(pol->v, pol->n);
	*pol = (struct confirm_policy){ 0 };
}

/* @from becomes @to (whatever @to held is released). */
static void
policy_move(struct confirm_policy *to, struct confirm_policy *from)
{
	policy_drop(to);
	*to = *from;
	*from = (struct confirm_policy){ 0 };
}

static void
rej_clear(struct confirm *cf)
{
	for (size_t i = 0; i < cf->nrej; i++)
		free(cf->rej[i].name);
	free(cf->rej);
	cf->rej = NULL;
	cf->nrej = cf->rejcap = 0;
	cf->note[0] = '\0';
}

/* Index the names of @n streams @v into @m (value: the position). False when out of memory. */
static bool
index_names(struct strmap *m, const struct polsrc *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strmap_put(m, v[i].name, i) < 0)
			return false;
	return true;
}

static bool
rej_add(struct confirm *cf, const char *name, uint64_t hash)
{
	char *copy;

	for (size_t i = 0; i < cf->nrej; i++)
		if (cf->rej[i].hash == hash && strcmp(cf->rej[i].name, name) == 0)
			return true;
	copy = strdup(name);
	if (copy == NULL || ARRAY_PUSH_ROOM(cf->rej, cf->rejcap, cf->nrej) < 0) {
		free(copy);
		return false;
	}
	cf->rej[cf->nrej++] = (struct confirm_rej){ copy, hash };
	return true;
}

/* What the candidate changed from the good policy joins the objects rolled back. */
static bool
rej_add_diff(struct confirm *cf)
{
	struct strmap good = { 0 }, cand = { 0 };
	bool ok = index_names(&good, cf->good.v, cf->good.n) &&
		  index_names(&cand, cf->cand.v, cf->cand.n);
	size_t at;

	for (size_t i = 0; ok && i < cf->cand.n; i++) {
		const struct polsrc *s = &cf->cand.v[i];

		if (!strmap_get(&good, s->name, &at) || cf->good.v[at].hash != s->hash)
			ok = rej_add(cf, s->name, s->hash ? s->hash : 1);
	}
	for (size_t i = 0; ok && i < cf->good.n; i++)
		if (!strmap_get(&cand, cf->good.v[i].name, &at))
			ok = rej_add(cf, cf->good.v[i].name, 0);
	strmap_free(&good);
	strmap_free(&cand);
	return ok;
}

void
confirm_init(struct confirm *cf)
{
	memset(cf, 0, sizeof(*cf));
	for (size_t i = 0; i < GUARD_MAX_LIFELINES; i++)
		cf->p[i].fd = -1;
}

void
confirm_free(struct confirm *cf)
{
	probes_close(cf);
	policy_drop(&cf->good);
	policy_drop(&cf->cand);
	rej_clear(cf);
}

static bool
guard_on(const struct ctl *c)
{
	return c->guard.n > 0;
}

/* ---- the reload's side --------------------------------------------------------------------- */

/* A rolled-back version as a key of a strmap: the name, then the hash (malloc'd; NULL). */
static char *
rej_key(const char *name, uint64_t hash)
{
	char *key;

	return asprintf(&key, "%s\x1f%016llx", name, (unsigned long long)hash) < 0 ? NULL : key;
}

static bool
rej_key_put(struct strmap *m, const char *name, uint64_t hash)
{
	char *key = rej_key(name, hash);
	bool ok = key != NULL && strmap_put(m, key, 0) == 0;

	free(key);
	return ok;
}

static bool
rej_key_has(const struct strmap *m, const char *name, uint64_t hash)
{
	char *key = rej_key(name, hash);
	size_t at;
	bool has = key != NULL && strmap_get(m, key, &at);

	free(key);
	return has;
}

/* The streams to load instead of @v (@n), into @out (room for @n + nrej): how many were
 * replaced or put back (0: the rollback is over). */
static size_t
substitute(const struct confirm *cf, const struct polsrc *v, size_t n, struct strmap *rmap,
	   struct strmap *gmap, struct strmap *smap, struct polsrc *out, size_t *nout)
{
	size_t matched = 0, at;

	*nout = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t h = v[i].hash ? v[i].hash : 1;

		if (rej_key_has(rmap, v[i].name, h)) {
			matched++;	/* the rolled-back text: the good one instead, if any */
			if (strmap_get(gmap, v[i].name, &at))
				out[(*nout)++] = cf->good.v[at];
			continue;
		}
		out[(*nout)++] = v[i];
	}
	for (size_t i = 0; i < cf->nrej; i++)
		if (cf->rej[i].hash == 0 && !strmap_get(smap, cf->rej[i].name, &at) &&
		    strmap_get(gmap, cf->rej[i].name, &at)) {
			matched++;	/* still deleted as the rolled-back policy deleted it */
			out[(*nout)++] = cf->good.v[at];
		}
	return matched;
}

bool
confirm_reload_source(struct ctl *c, struct polset *ps, int *err)
{
	struct confirm *cf = &c->cf;
	struct strmap rmap = { 0 }, gmap = { 0 }, smap = { 0 };
	struct polsrc *v = NULL, *out = NULL;
	size_t n = 0, nout = 0, matched = 0;
	bool ok = true;

	*err = 0;
	if (cf->nrej == 0 || !cf->have_good)
		return false;
	polset_take_sources(ps, &v, &n);
	out = calloc(n + cf->nrej + 1, sizeof(*out));
	for (size_t i = 0; ok && i < cf->nrej; i++)
		ok = cf->rej[i].hash == 0 || rej_key_put(&rmap, cf->rej[i].name, cf->rej[i].hash);
	ok = ok && out != NULL && index_names(&gmap, cf->good.v, cf->good.n) &&
	     index_names(&smap, v, n);
	if (ok)
		matched = substitute(cf, v, n, &rmap, &gmap, &smap, out, &nout);
	if (!ok) {
		*err = -ENOMEM;
	} else if (matched == 0) {
		log_info("lockout guard: every object of the rolled-back policy changed; the "
			 "policy is enforced and checked again", "%s", "");
		rej_clear(cf);
	} else {
		polset_free(ps);
		*err = polset_load_sources(ps, out, nout);
	}
	strmap_free(&rmap);
	strmap_free(&gmap);
	strmap_free(&smap);
	free(out);
	if (matched == 0 && ok) {
		ps->sources = v;	/* the streams loaded stay the polset's */
		ps->nsources = ps->sourcecap = n;
		return false;
	}
	polsrc_free(v, n);
	return ok;
}

void
confirm_enforced(struct ctl *c, struct polset *ps, const struct hostenv *env, bool restored)
{
	struct confirm *cf = &c->cf;
	uint64_t timeout = (uint64_t)c->o.confirm_timeout_s * NS_PER_S, now = mono_ns(), due;
	bool again;

	if (!guard_on(c) || c->nworkers == 0)
		return;		/* nothing judges connections yet */
	if (cf->phase == CF_ROLLBACK) {	/* the rollback itself: check it */
		log_info("lockout guard: the last confirmed policy is enforced again",
			 "lifeline=%s restored_ms=%llu gen=%llu restored=%s",
			 c->guard.v[cf->cut].name,
			 (unsigned long long)((now - cf->cand_ns) / NS_PER_MS),
			 (unsigned long long)c->gen, restored ? "yes" : "no (the policy changed)");
		probes_start(cf, &c->guard, env, CF_VERIFY, now + timeout);
		return;
	}
	if (cf->have_good && ps->digest == cf->good.digest) {
		if (cf->phase == CF_CONFIRM) {	/* changed back before it was confirmed */
			probes_close(cf);
			cf->phase = CF_IDLE;
			policy_drop(&cf->cand);
		}
		return;
	}
	if (cf->phase == CF_CONFIRM && ps->digest == cf->cand.digest)
		return;		/* the same policy, other endpoints: the probes go on */
	/*
	 * A changed policy: the candidate. Another change while one is being
	 * confirmed starts the connections again, under the newest table, but
	 * the decision comes at most twice the timeout after the first change:
	 * a stream of changes cannot put a rollback off for ever.
	 */
	again = cf->phase == CF_CONFIRM;
	policy_drop(&cf->cand);
	polset_take_sources(ps, &cf->cand.v, &cf->cand.n);
	cf->cand.digest = ps->digest;
	if (!again)
		cf->cand_ns = now;
	due = now + timeout;
	if (again) {
		due = now + timeout / 2 > cf->deadline_ns ? now + timeout / 2 : cf->deadline_ns;
		if (due > cf->cand_ns + 2 * timeout)
			due = cf->cand_ns + 2 * timeout;
	}
	probes_start(cf, &c->guard, env, CF_CONFIRM, due);
}

/* ---- the event loop's side ----------------------------------------------------------------- */

size_t
confirm_pollfds(const struct ctl *c, struct pollfd *p, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < c->guard.n && n < max; i++)
		if (c->cf.p[i].fd >= 0)
			p[n++] = (struct pollfd){ c->cf.p[i].fd, POLLOUT, 0 };
	return n;
}

int
confirm_wait_ms(const struct ctl *c, int max_ms)
{
	const struct confirm *cf = &c->cf;
	uint64_t now = mono_ns(), due;

	if (!guard_on(c) || !c->have_table)
		return max_ms;
	due = cf->phase == CF_IDLE ? cf->next_refresh_ns :
	      cf->phase == CF_ROLLBACK ? now : cf->deadline_ns;
	if (due <= now)
		return 0;
	return due - now < (uint64_t)max_ms * NS_PER_MS ? (int)((due - now) / NS_PER_MS) + 1 :
							    max_ms;
}

/* What the probes found becomes what is known of each lifeline. */
static void
states_take(struct confirm *cf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cf->state[i] = cf->p[i].result > 0 ? LF_UP : LF_DOWN;
}

/* The first lifeline up before and not reached now, or -1. */
static ssize_t
first_cut(const struct confirm *cf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cf->state[i] == LF_UP && cf->p[i].result < 0)
			return (ssize_t)i;
	return -1;
}

void
confirm_event(struct ctl *c, const struct guard_verdict *v, const char *reason,
	      const char *message)
{
	const char *gv = c->store.group_version;
	char name[300], uid[64];

	if (!c->o.kubernetes || c->kube == NULL)
		return;
	if (v != NULL && v->policy[0] != '\0' && gv[0] != '\0') {
		/* the stored v1 form prefixes default-tier names with "default." */
		bool v1 = strncmp(gv, "crd.", 4) == 0 && strcmp(v->tier, "default") == 0 &&
			  strncmp(v->policy, "default.", 8) != 0;

		snprintf(name, sizeof(name), "%s%s", v1 ? "default." : "", v->policy);
		kube_store_uid(&c->store, KK_GNP, name, uid, sizeof(uid));
		kube_event(c->kube, gv, "GlobalNetworkPolicy", name, uid, reason, message);
	} else {	/* no policy to name (a profile, the end of a tier): the Node */
		kube_store_uid(&c->store, KK_NODE, c->o.node, uid, sizeof(uid));
		kube_event(c->kube, "v1", "Node", c->o.node, uid, reason, message);
	}
}

/* The candidate cut lifeline @i: bring back the last confirmed policy. */
static void
roll_back(struct ctl *c, size_t i)
{
	struct confirm *cf = &c->cf;
	struct guard_verdict v;
	char why[600], from[ADDR_STRLEN];

	guard_explain_cut(&cf->p[i].k, ruleset_current(), why, sizeof(why), &v);	/* publisher's */
	STAT_ADD(c->d.policy_rollbacks, 1);
	addr_format(&cf->p[i].k.src, cf->p[i].k.family, from);
	log_err("lockout guard: the new policy cut a lifeline; rolling back to the last "
		"confirmed policy", "lifeline=%s from=%s%s%s:%u result=\"%s\" waited_ms=%llu "
		"explain=\"%s\" gen=%llu", c->guard.v[i].name,
		cf->p[i].k.family == AF_INET6 ? "[" : "", from,
		cf->p[i].k.family == AF_INET6 ? "]" : "", cf->p[i].k.sport, probe_result(&cf->p[i]),
		(unsigned long long)((mono_ns() - cf->started_ns) / NS_PER_MS), why,
		(unsigned long long)c->gen);
	snprintf(cf->note, sizeof(cf->note), "rolled back: the policy enforced at generation %llu "
		 "cut lifeline %s (%s: %s); it stays out until it changes",
		 (unsigned long long)c->gen, c->guard.v[i].name, probe_result(&cf->p[i]), why);
	confirm_event(c, &v, "LockoutGuardRollback", cf->note);
	cf->cut = i;
	cf->phase = CF_ROLLBACK;
	if (!rej_add_diff(cf) || reload_policy(c, "rollback") != 0 || cf->phase == CF_ROLLBACK) {
		/* the rollback could not be loaded: the candidate stays, and is watched */
		log_err("lockout guard: the rollback failed; the new policy stays enforced",
			"lifeline=%s", c->guard.v[i].name);
		rej_clear(cf);
		cf->state[i] = LF_DOWN;
		cf->phase = CF_IDLE;
	}
	policy_drop(&cf->cand);
}

static void
settled(struct ctl *c)
{
	struct confirm *cf = &c->cf;
	size_t n = c->guard.n;
	uint64_t ms = (mono_ns() - cf->started_ns) / NS_PER_MS;
	ssize_t cut;

	switch (cf->phase) {
	case CF_REFRESH:
		for (size_t i = 0; i < n; i++)
			if ((cf->state[i] == LF_UP) != (cf->p[i].result > 0))
				log_info(cf->p[i].result > 0 ? "lockout guard: lifeline up" :
					 "lockout guard: lifeline down", "lifeline=%s result=\"%s\"",
					 c->guard.v[i].name, probe_result(&cf->p[i]));
		states_take(cf, n);
		cf->phase = CF_IDLE;
		break;
	case CF_CONFIRM:
		cut = first_cut(cf, n);
		if (cut >= 0 && cf->have_good) {
			roll_back(c, (size_t)cut);
			return;
		}
		for (size_t i = 0; i < n; i++)
			if (cf->p[i].result < 0)
				log_warn("lockout guard: a lifeline is not reached under the new policy",
					 "lifeline=%s result=\"%s\" was=%s", c->guard.v[i].name,
					 probe_result(&cf->p[i]), cf->state[i] == LF_UP ? "up" :
					 cf->state[i] == LF_DOWN ? "down" : "unknown");
		log_info("lockout guard: policy confirmed", "ms=%llu gen=%llu",
			 (unsigned long long)ms, (unsigned long long)c->gen);
		states_take(cf, n);
		policy_move(&cf->good, &cf->cand);
		cf->have_good = true;
		cf->phase = CF_IDLE;
		break;
	case CF_VERIFY:
		if (cf->p[cf->cut].result > 0) {
			log_info("lockout guard: the lifeline is reached under the restored policy; "
				 "the rolled-back one stays out until it changes", "lifeline=%s ms=%llu",
				 c->guard.v[cf->cut].name, (unsigned long long)ms);
			states_take(cf, n);
			cf->phase = CF_IDLE;
			break;
		}
		/* down under the policy that reached it before: the link, not the policy */
		log_warn("lockout guard: the lifeline is not reached under the restored policy "
			 "either: not the new policy's doing; it is enforced again",
			 "lifeline=%s result=\"%s\"", c->guard.v[cf->cut].name,
			 probe_result(&cf->p[cf->cut]));
		states_take(cf, n);
		rej_clear(cf);
		cf->phase = CF_IDLE;
		reload_policy(c, "rollback undone");
		break;
	default:
		cf->phase = CF_IDLE;
		break;
	}
	cf->next_refresh_ns = mono_ns() + CONFIRM_REFRESH_S * NS_PER_S;
}

void
confirm_tick(struct ctl *c)
{
	struct confirm *cf = &c->cf;
	uint64_t now = mono_ns();

	if (!guard_on(c) || !c->have_table)
		return;
	if (cf->phase == CF_IDLE) {
		if (now < cf->next_refresh_ns)
			return;
		probes_start(cf, &c->guard, NULL, CF_REFRESH,
			     now + (uint64_t)c->o.confirm_timeout_s * NS_PER_S);
	}
	if (cf->phase != CF_ROLLBACK && probes_step(cf, c->guard.n, now))
		settled(c);
}
