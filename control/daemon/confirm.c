/*
 * confirm.c - the lockout guard's second line: real connections to the
 * lifelines after a changed policy is enforced, and the rollback when one
 * is cut (confirm.h). Control thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "clock.h"
#include "confirm.h"
#include "ctl.h"
#include "log.h"
#include "ruleset.h"

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
	guard_key(l, guard_local_end(p->fd, l->family, &src, &sport) ? &src : NULL, sport, env,
		  &p->k);
}

static void
probes_start(struct confirm *cf, const struct guard *g, const struct hostenv *env,
	     enum confirm_phase phase, uint64_t timeout_ns)
{
	probes_close(cf);
	cf->phase = phase;
	cf->started_ns = mono_ns();
	cf->deadline_ns = cf->started_ns + timeout_ns;
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

/* ---- the policies kept --------------------------------------------------------------------- */

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
}

static bool
guard_on(const struct ctl *c)
{
	return c->guard.n > 0;
}

/* ---- the reload's side --------------------------------------------------------------------- */

bool
confirm_reload_source(struct ctl *c, struct polset *ps, int *err)
{
	struct confirm *cf = &c->cf;

	*err = 0;
	if (cf->rejected == 0)
		return false;
	if (ps->digest != cf->rejected) {
		log_info("lockout guard: the rolled-back policy changed; it is enforced and "
			 "checked again", "%s", "");
		cf->rejected = 0;
		cf->note[0] = '\0';
		return false;
	}
	if (cf->good.n == 0)
		return false;	/* cannot happen: a rollback needs a good policy */
	polset_free(ps);
	*err = polset_load_sources(ps, cf->good.v, cf->good.n);
	return true;
}

void
confirm_enforced(struct ctl *c, struct polset *ps, const struct hostenv *env, bool restored)
{
	struct confirm *cf = &c->cf;
	uint64_t timeout = (uint64_t)c->o.confirm_timeout_s * NS_PER_S;

	if (!guard_on(c) || c->nworkers == 0)
		return;		/* nothing judges connections yet */
	if (restored) {
		if (cf->phase == CF_ROLLBACK) {	/* the rollback itself: check it */
			log_info("lockout guard: the last confirmed policy is enforced again",
				 "lifeline=%s restored_ms=%llu gen=%llu", c->guard.v[cf->cut].name,
				 (unsigned long long)((mono_ns() - cf->cand_ns) / NS_PER_MS),
				 (unsigned long long)c->gen);
			probes_start(cf, &c->guard, env, CF_VERIFY, timeout);
		}
		return;
	}
	if (ps->digest == cf->good.digest) {
		if (cf->phase == CF_CONFIRM) {	/* changed back before it was confirmed */
			probes_close(cf);
			cf->phase = CF_IDLE;
			policy_drop(&cf->cand);
		}
		return;
	}
	if (ps->digest == cf->cand.digest && cf->phase == CF_CONFIRM)
		return;		/* the same policy, other endpoints: the probes go on */
	/* a changed policy: the candidate */
	policy_drop(&cf->cand);
	polset_take_sources(ps, &cf->cand.v, &cf->cand.n);
	cf->cand.digest = ps->digest;
	cf->cand_ns = mono_ns();
	probes_start(cf, &c->guard, env, CF_CONFIRM, timeout);
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
	char why[600];

	guard_explain_cut(&cf->p[i].k, ruleset_current(), why, sizeof(why), &v);	/* publisher's */
	STAT_ADD(c->d.policy_rollbacks, 1);
	log_err("lockout guard: the new policy cut a lifeline; rolling back to the last "
		"confirmed policy", "lifeline=%s result=\"%s\" waited_ms=%llu explain=\"%s\" "
		"gen=%llu", c->guard.v[i].name, probe_result(&cf->p[i]),
		(unsigned long long)((mono_ns() - cf->started_ns) / NS_PER_MS), why,
		(unsigned long long)c->gen);
	snprintf(cf->note, sizeof(cf->note), "rolled back: the policy enforced at generation %llu "
		 "cut lifeline %s (%s: %s); it stays out until it changes",
		 (unsigned long long)c->gen, c->guard.v[i].name, probe_result(&cf->p[i]), why);
	confirm_event(c, &v, "LockoutGuardRollback", cf->note);
	cf->rejected = cf->cand.digest;
	cf->cut = i;
	cf->phase = CF_ROLLBACK;
	policy_drop(&cf->cand);
	if (reload_policy(c, "rollback") != 0 || cf->phase == CF_ROLLBACK) {
		/* the rollback could not be loaded: the candidate stays, and is watched */
		log_err("lockout guard: the rollback failed; the new policy stays enforced",
			"lifeline=%s", c->guard.v[i].name);
		cf->rejected = 0;
		cf->note[0] = '\0';
		cf->state[i] = LF_DOWN;
		cf->phase = CF_IDLE;
	}
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
		if (cut >= 0 && cf->good.digest != 0) {
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
		cf->rejected = 0;
		cf->note[0] = '\0';
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
			     (uint64_t)c->o.confirm_timeout_s * NS_PER_S);
	}
	if (cf->phase != CF_ROLLBACK && probes_step(cf, c->guard.n, now))
		settled(c);
}
