/*
 * reload.c - one reload of `nfqwall run`: load the policy (from the policy
 * directory, or from the Kubernetes object store with this Node's labels
 * and InternalIPs), resolve this node's endpoints and interfaces, compile,
 * publish the table with RCU and write the netfilter rules; plus the
 * debounce that turns a burst of changes into one reload.
 *
 * Control thread only. A reload that fails (a policy with errors after the
 * first load, a bad failsafe list, memory, a table over budget) publishes
 * nothing: the last good table stays enforced, the failure is logged and
 * counted, and /readyz says why.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <malloc.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "compile.h"
#include "ctl.h"
#include "endpoints.h"
#include "selcache.h"
#include "fwrules.h"
#include "jscan.h"
#include "log.h"

/* ---- interfaces ------------------------------------------------------------------------ */

/* One interface's IPv4 and IPv6 addresses from @ifa, into *@addrs. 0 or -ENOMEM. */
static int
iface_addrs(const struct ifaddrs *ifa, const char *name, struct cidr **addrs, size_t *na)
{
	size_t cap = 0;

	for (const struct ifaddrs *a = ifa; a; a = a->ifa_next) {
		struct cidr *c;
		uint8_t fam;

		if (a->ifa_addr == NULL || strcmp(a->ifa_name, name) != 0)
			continue;
		fam = (uint8_t)a->ifa_addr->sa_family;
		if (fam != AF_INET && fam != AF_INET6)
			continue;
		if (ARRAY_PUSH_ROOM(*addrs, cap, *na) < 0)
			return -ENOMEM;
		c = &(*addrs)[(*na)++];
		memset(c, 0, sizeof(*c));
		c->family = fam;
		c->plen = (uint8_t)addr_bits(fam);
		if (fam == AF_INET)
			addr_from_bytes(&c->addr, (const uint8_t *)
					&((struct sockaddr_in *)(void *)a->ifa_addr)->sin_addr, fam);
		else
			addr_from_bytes(&c->addr, (const uint8_t *)
					&((struct sockaddr_in6 *)(void *)a->ifa_addr)->sin6_addr, fam);
	}
	return 0;
}

/*
 * This host's interfaces and their addresses into @env. 0 or -errno: a
 * table built without the interfaces would police the wrong ones, so a
 * failure fails the reload.
 */
static int
add_host_ifaces(struct hostenv *env)
{
	struct if_nameindex *names = if_nameindex(), *n;
	struct ifaddrs *ifa = NULL;
	int err = 0;

	if (names == NULL)
		return errno ? -errno : -ENOMEM;
	if (getifaddrs(&ifa) < 0) {
		err = errno ? -errno : -ENOMEM;
		if_freenameindex(names);
		return err;
	}
	for (n = names; err == 0 && n->if_index != 0; n++) {
		struct cidr *addrs = NULL;
		size_t na = 0;

		err = iface_addrs(ifa, n->if_name, &addrs, &na);
		if (err == 0)
			err = hostenv_add_iface(env, n->if_index, n->if_name, addrs, na);
		free(addrs);
	}
	freeifaddrs(ifa);
	if_freenameindex(names);
	return err;
}

/* ---- the policy -------------------------------------------------------------------------- */

static void
log_diags(const struct diags *ds)
{
	for (size_t i = 0; i < ds->n; i++) {
		const struct diag *r = &ds->v[i];
		char line[1200];

		if (r->level == DIAG_NOTE)
			continue;
		char quoted[sizeof(line) * 2];
		size_t n = 0;

		diag_format(r, line, sizeof(line));
		/* a diagnostic may quote a selector: escape it inside where="..." */
		for (const char *p = line; *p && n + 2 < sizeof(quoted); p++) {
			if (*p == '"' || *p == '\\')
				quoted[n++] = '\\';
			quoted[n++] = *p;
		}
		quoted[n] = '\0';
		log_msg(r->level == DIAG_ERROR ? LOG_ERR : LOG_WARN,
			r->level == DIAG_ERROR ? "policy error" : "policy warning", "where=\"%s\"",
			quoted);
	}
}

/*
 * Every stored object into @ps (or, for the objects of a policy the lockout
 * guard rolled back, the last confirmed versions: *@restored); this Node's
 * labels and addresses into @self, and the rest of the cluster into @cl.
 * 0, or -ENOMEM when an object or a label could not be stored.
 */
static int
load_from_store(struct ctl *c, struct polset *ps, struct cluster *cl, struct node_info *self,
		struct autohep_cfg *ahc, bool *restored)
{
	struct kube_store *st = &c->store;
	const struct kube_kind_state *kcc = &st->kinds[KK_KCC];
	uint64_t cfg_id = c->o.auto_hep ? 1 : 2;
	int err = 0;

	pthread_mutex_lock(&st->lock);
	c->store_version = st->version;
	/* the policy kinds, the KubeControllersConfiguration first (it says which auto host
	 * endpoints are made) */
	static const enum kube_kind policy_kinds[] = {
		KK_KCC, KK_GNP, KK_SGNP, KK_HEP, KK_GNS, KK_NS, KK_TIER, KK_FELIX,
	};	/* the others are no policy: endpoints_load reads them */
	_Static_assert(KK_KCC + 1 == KK_NODE, "the policy kinds are the first ones");

	for (size_t n = 0; n < ARRAY_SIZE(policy_kinds) && err == 0; n++) {
		enum kube_kind k = policy_kinds[n];
		const struct kube_kind_state *ks = &st->kinds[k];

		for (size_t i = 0; i < ks->n && err == 0; i++) {
			char name[600];

			snprintf(name, sizeof(name), "k8s:%s/%s", kube_kind_name(k), ks->v[i].key);
			if (polset_load_buffer(ps, name, ks->v[i].json, strlen(ks->v[i].json)) ==
			    -ENOMEM)
				err = -ENOMEM;
		}
	}
	for (size_t i = 0; i < kcc->n; i++)
		if (!c->o.auto_hep && strcmp(kcc->v[i].key, "default") == 0)
			cfg_id = 2 + kcc->v[i].seq;	/* its text changed: make them all again */
	if (err == 0)
		*restored = confirm_reload_source(c, ps, &err);
	if (*restored && !c->o.auto_hep)	/* the configuration may be the restored one */
		cfg_id = (1ull << 63) | ps->digest;
	autohep_config(ps, c->o.auto_hep, ahc);
	if (cfg_id != c->autohep_cfg_id) {
		c->autohep_cfg_id = cfg_id;
		log_info("auto host endpoints", "source=%s enabled=%s default=%s templates=%zu",
			 ahc->source, ahc->enabled ? "yes" : "no",
			 ahc->enabled && ahc->create_default ? "yes" : "no",
			 ahc->enabled ? ahc->ntpl : 0);
	}
	if (err == 0)
		err = endpoints_load(st, c->o.node, ahc, cfg_id, cl, self);
	if (err == 0 && c->selcache != NULL)
		selcache_sync(c->selcache, cl);	/* before the retired endpoints go */
	pthread_mutex_unlock(&st->lock);
	return err;
}

static void
fw_config_for(const struct ctl *c, const struct polset *ps, const struct hostenv *env,
	      struct fw_config *fc, const char **claimed)
{
	memset(fc, 0, sizeof(*fc));
	fc->claimed_all = hostenv_hep_for_iface(env, NULL) != NULL;
	fc->claimed = claimed;
	for (size_t i = 0; i < env->nifaces; i++)
		if (hostenv_hep_for_iface(env, &env->ifaces[i]) != NULL)
			claimed[fc->nclaimed++] = env->ifaces[i].name;
	fc->ml = c->ml;
	fc->gen = c->gen;
	fc->queue_first = (uint16_t)c->o.queue_first;
	fc->queue_count = (uint16_t)c->o.queues;
	fc->fail_open = c->o.fail_open;
	fc->invalid_drop = !c->o.no_invalid_drop;
	fc->rejudge = !c->o.no_rejudge;
	fc->carry = c->carry;
	fc->ncarry = c->ncarry;
	fc->fs_in = &env->fs_in;
	fc->fs_out = &env->fs_out;
	fc->self = &env->self;
	fc->self_sockmark = c->o.kubernetes && !c->o.no_allow_self;
	/* queue only from the hooks the policy needs */
	for (size_t i = 0; i < ps->npolicies; i++) {
		const struct policy *p = ps->policies[i];

		if (p->kind != KIND_GNP)
			continue;
		if (p->pre_dnat)
			fc->prednat = true;
		if (p->apply_on_forward || p->pre_dnat)
			fc->forward = true;
		if (p->do_not_track) {
			for (size_t j = 0; j < env->nlocal; j++)
				if (!hep_is_wildcard(env->local[j]) &&
				    selector_match(p->sel, &env->local[j]->labels))
					fc->untracked = true;
		}
	}
	if (fc->prednat)	/* a DNATed flow: mangle and filter see other addresses */
		fc->ncarry = 0;
}

/* ---- one reload ---------------------------------------------------------------------------- */

/* What one reload holds until it is done. */
struct reload {
	const char *why;		/* the trigger */
	struct polset ps;
	struct hostenv env;
	bool have_env;
	struct node_info ni;		/* this Node */
	struct autohep_cfg ahc;		/* which auto host endpoints are made */
	struct hep **self_heps;		/* this Node's (Kubernetes mode) */
	size_t nself_heps;
	size_t self_hepcap;
	struct ruleset *rs;		/* compiled, not published yet */
	struct ruleset *srs;		/* the staged view (NULL: no staged policy) */
	const char **claimed;		/* interface names for fw_config */
	uint32_t nentries;		/* of the table enforced after this reload */
	bool widened;			/* published under the same generation (ruleset_widens) */
	uint64_t t0, tload, t1;		/* start, objects loaded, table compiled */
	bool restored;			/* the last confirmed policy, not the rolled-back one */
};

/* A reload that could not finish: count it, say why, keep the last good table. */
static int
reload_fail(struct ctl *c, const struct reload *r, const char *step, int err)
{
	STAT_ADD(c->d.reload_failures, 1);
	log_err("reload failed, the last good table stays enforced",
		"step=%s error=\"%s\" gen=%llu trigger=%s", step, strerror(-err),
		(unsigned long long)c->gen, r->why);
	if (c->have_table)
		ctl_set_detail(c, "last reload failed (%s: %s); enforcing generation %llu", step,
			       strerror(-err), (unsigned long long)c->gen);
	else
		ctl_set_detail(c, "no table yet: the reload failed (%s: %s)", step, strerror(-err));
	return err;
}

static void
reload_free(struct reload *r)
{
	ruleset_free(r->rs);
	ruleset_free(r->srs);
	free(r->claimed);
	if (r->have_env)
		hostenv_free(&r->env);
	polset_free(&r->ps);
	autohep_free(r->self_heps, r->nself_heps);
	labels_free(&r->ni.labels);
}

/* Load the objects. 0, -EINVAL (rejected: the last good table stays) or -ENOMEM. */
static int
reload_load(struct ctl *c, struct reload *r, struct hostenv_opts *ho)
{
	int err;

	if (c->o.kubernetes) {
		struct node_view nv;

		err = load_from_store(c, &r->ps, &c->cl, &r->ni, &r->ahc, &r->restored);
		if (err == 0)
			err = endpoints_netsets(&c->cl, &r->ps);
		ho->cluster = &c->cl;
		ho->selcache = c->selcache;
		/* this Node's auto host endpoints, as kube-controllers would make them */
		endpoints_node_view(c->o.node, &r->ni, &nv);
		if (err == 0)
			err = autohep_make(&r->ahc, &nv, &r->self_heps, &r->nself_heps,
					   &r->self_hepcap);
		ho->auto_heps = r->self_heps;
		ho->nauto_heps = r->nself_heps;
	} else {
		err = polset_load_path(&r->ps, c->o.policy_dir);
		if (err != -ENOMEM)
			r->restored = confirm_reload_source(c, &r->ps, &err);
	}
	if (err == -ENOMEM)
		return reload_fail(c, r, "load", err);
	/* other errors (an unreadable directory) are diagnostics, handled below */
	STAT_SET(c->d.objects_rejected, r->ps.nrejected);
	log_diags(&r->ps.diags);
	if (r->ps.diags.nerr > 0 && c->have_table) {
		STAT_ADD(c->d.reload_failures, 1);
		log_err("policy rejected, the last good table stays enforced",
			"errors=%zu gen=%llu trigger=%s", r->ps.diags.nerr, (unsigned long long)c->gen,
			r->why);
		ctl_set_detail(c, "last policy load rejected (%zu errors); enforcing generation %llu",
			       r->ps.diags.nerr, (unsigned long long)c->gen);
		return -EINVAL;
	}
	return 0;
}

/* This node's endpoints, failsafes and interfaces, then the table. 0 or -errno. */
static int
reload_compile(struct ctl *c, struct reload *r, const struct hostenv_opts *ho)
{
	char reason[512];
	int err;

	err = hostenv_build(&r->env, &r->ps, ho, reason, sizeof(reason));
	if (err == -EINVAL) {
		log_err("failsafe list invalid", "reason=\"%s\"", reason);
		return err;
	}
	if (err < 0)
		return reload_fail(c, r, "host endpoints", err);
	r->have_env = true;
	err = add_host_ifaces(&r->env);
	if (err < 0)
		return reload_fail(c, r, "interfaces", err);
	r->claimed = calloc(r->env.nifaces + 1, sizeof(*r->claimed));
	if (r->claimed == NULL)
		return reload_fail(c, r, "interfaces", -ENOMEM);
	r->rs = compile_ruleset(&r->env);
	if (r->rs == NULL)
		return reload_fail(c, r, "compile", errno ? -errno : -ENOMEM);
	/* staged policies: judged beside, never enforced; a failure here costs only them */
	if (compile_has_staged(&r->ps) && (r->srs = compile_ruleset_staged(&r->env)) == NULL)
		log_warn("the staged view could not be compiled: staged policies are not judged",
			 "error=\"%s\"", strerror(errno ? errno : ENOMEM));
	r->t1 = mono_ns();
	return 0;
}

/*
 * The change from the current table to @rs (generation @prev to the next):
 * when it is confined to some addresses, carry @prev with them, and each
 * older carried generation with them added to its own. False when the change
 * is not confined (every flow is judged again).
 */
static bool
carry_add(struct ctl *c, const struct ruleset *rs, uint64_t prev)
{
	struct fw_carry now;
	size_t keep = 0;

	now.gen = prev;
	if (!ruleset_changed_at(ruleset_current(), rs, now.v, FW_CARRY_MAX, &now.n) || now.n == 0)
		return false;
	/* older generations: their addresses and these, as long as they fit */
	for (size_t i = 0; i < c->ncarry && keep + 1 < FW_CARRY_GENS; i++) {
		struct fw_carry *g = &c->carry[i];
		bool fits = true;

		for (size_t j = 0; j < now.n && fits; j++) {
			bool have = false;

			for (size_t k = 0; k < g->n && !have; k++)
				have = g->v[k].family == now.v[j].family && g->v[k].plen == now.v[j].plen &&
				       addr_cmp(&g->v[k].addr, &now.v[j].addr) == 0;
			if (!have && g->n < FW_CARRY_MAX)
				g->v[g->n++] = now.v[j];
			else if (!have)
				fits = false;
		}
		if (!fits)
			break;	/* this one and the older ones are judged again */
		keep++;
	}
	memmove(&c->carry[1], &c->carry[0], keep * sizeof(c->carry[0]));
	c->carry[0] = now;
	c->ncarry = keep + 1;
	return true;
}

/*
 * The lockout guard (guard.h): may the new table replace the current one?
 * One that denies a lifeline the current table allows is refused and kept
 * aside; the current table stays. A refusal is counted and logged once per
 * cut (the same cut again, as cluster churn rebuilds the table, is quiet).
 */
static bool
reload_guard(struct ctl *c, struct reload *r)
{
	const struct lifeline *cut = NULL;
	struct guard_verdict before, after;
	char what[1100];

	if (c->guard.n == 0)
		return true;
	if (!c->have_table) {
		/* nothing to keep instead (the daemon just started): enforced, and said */
		for (size_t i = 0; i < c->guard.n; i++) {
			if (c->guard.v[i].connect_only)
				continue;
			guard_judge(&c->guard.v[i], r->rs, &r->env, &after);
			if (c->guard.v[i].family != 0 && !after.allow)
				log_err("lockout guard: the first table denies a lifeline; enforced, as "
					"there is no earlier table to keep", "lifeline=%s after=\"%s\"",
					c->guard.v[i].name, after.why);
		}
		return true;
	}
	if (ruleset_equal(r->rs, ruleset_current()))
		return true;
	if (guard_check(&c->guard, ruleset_current(), r->rs, &r->env, &cut, &before, &after)) {
		c->guard_refusal[0] = '\0';
		return true;
	}
	snprintf(what, sizeof(what), "lifeline=%s before=\"%s\" after=\"%s\"", cut->name,
		 before.why, after.why);
	if (strcmp(what, c->guard_refusal) != 0) {
		snprintf(c->guard_refusal, sizeof(c->guard_refusal), "%s", what);
		STAT_ADD(c->d.policy_rollbacks, 1);
		log_err("lockout guard: the new table would cut a lifeline; the current one stays",
			"%s gen=%llu trigger=%s", what, (unsigned long long)c->gen, r->why);
		snprintf(what, sizeof(what), "refused: the new table would cut lifeline %s (%s; "
			 "the current table: %s); the current one stays", cut->name, after.why,
			 before.why);
		confirm_event(c, &after, "LockoutGuardRefused", what);
	}
	ctl_set_detail(c, "enforcing generation %llu; a new table was refused: it would cut "
		       "lifeline %s (%s)", (unsigned long long)c->gen, cut->name, after.why);
	return false;		/* reload_free frees the table */
}

/* What names one rule across tables: tier, policy, rule, action, stage, direction. */
static void
meta_key(const struct ruleset *rs, uint32_t i, char *key, size_t len)
{
	const struct rs_meta *m = ruleset_meta(rs, i);

	snprintf(key, len, "%s\x1f%s\x1f%d\x1f%u\x1f%u\x1f%u", ruleset_str(rs, m->tier),
		 ruleset_str(rs, m->policy), (int)m->rule, m->action, m->stage, m->dir);
}

/*
 * The new table takes over the last-hit times of the rules it keeps, so that
 * "never matched" means since the daemon started, not since the last
 * reload. Out of memory: they start again from nothing (a log line).
 */
static void
carry_usage(const struct ruleset *from, struct ruleset *to)
{
	struct strmap idx = { 0 };
	char key[600];
	size_t at;

	if (from == NULL)
		return;
	for (uint32_t i = 0; i < ruleset_nmeta(from); i++) {
		meta_key(from, i, key, sizeof(key));
		if (strmap_put(&idx, key, i) < 0) {
			log_warn("rule usage not carried over: out of memory", "%s", "");
			strmap_free(&idx);
			return;
		}
	}
	for (uint32_t i = 0; i < ruleset_nmeta(to); i++) {
		meta_key(to, i, key, sizeof(key));
		if (strmap_get(&idx, key, &at))
			ruleset_set_last_hit(to, i, ruleset_last_hit(from, (uint32_t)at));
	}
	strmap_free(&idx);
}

/* Publish the new table, unless it decides everything as the current one does. */
static void
reload_publish(struct ctl *c, struct reload *r)
{
	uint32_t nchains, nbitsets;

	if (c->have_table && ruleset_equal(r->rs, ruleset_current())) {
		/*
		 * Nothing changed (an interface event, a rewritten file): keep the
		 * table and its generation, so established flows are not judged
		 * again for nothing. The rules are still written.
		 */
		ruleset_free(r->rs);
		r->rs = NULL;
	} else if (c->have_table && !c->o.no_rejudge && ruleset_widens(ruleset_current(), r->rs)) {
		/*
		 * The new table accepts all the current one does (say, a pod joined
		 * an Allow rule's addresses): no established flow can be cut, so
		 * they are not judged again. Same generation, new table.
		 */
		ruleset_set_gen(r->rs, c->gen);
		r->widened = true;
		STAT_ADD(c->d.tables_widened, 1);
	} else {
		uint64_t prev = c->gen;

		c->gen = c->gen % MARK_GEN_MAX + 1;
		ruleset_set_gen(r->rs, c->gen);
		/*
		 * Judged again: the flows the change may touch. When the verdicts
		 * changed only at some addresses (a pod left an Allow rule's
		 * selector), the kernel moves every other flow of the last
		 * generation to this one (NFQWALL-CARRY) and only the flows of those
		 * addresses come back to the queue.
		 */
		if (c->have_table && !c->o.no_rejudge && carry_add(c, r->rs, prev))
			STAT_ADD(c->d.tables_carried, 1);
		else
			c->ncarry = 0;
	}
	ruleset_stats(r->rs ? r->rs : ruleset_current(), &nchains, &r->nentries, &nbitsets);
	STAT_SET(c->d.gen, c->gen);
	STAT_SET(c->d.npolicies, (uint32_t)r->ps.npolicies);
	STAT_SET(c->d.nentries, r->nentries);
	STAT_SET(c->d.nheps, (uint32_t)r->env.nlocal);
	STAT_SET(c->d.last_compile_ns, r->t1 - r->t0);
	STAT_SET(c->d.last_reload_unix, (uint64_t)time(NULL));
	if (r->rs != NULL) {
		STAT_SET(c->d.table_bytes, (uint32_t)ruleset_size(r->rs));
		carry_usage(c->have_table ? ruleset_current() : NULL, r->rs);
		ruleset_publish(r->rs);
		STAT_ADD(c->d.tables_published, 1);
		c->have_table = true;
	}
}

/* The staged view beside the table: a new one unless it decides all as the current one. */
static void
reload_publish_staged(struct ctl *c, struct reload *r)
{
	const struct ruleset *cur = ruleset_staged_current();

	if (r->srs != NULL && cur != NULL && ruleset_equal(r->srs, cur)) {
		ruleset_free(r->srs);	/* kept, with its counts */
	} else if (r->srs != NULL || cur != NULL) {
		if (r->srs != NULL)
			ruleset_set_gen(r->srs, c->gen);
		ruleset_publish_staged(r->srs);
		log_info(r->srs != NULL ? "staged view published" : "staged view removed",
			 "gen=%llu", (unsigned long long)c->gen);
	}
	r->srs = NULL;
}

/* Log what is enforced now and write the netfilter rules for it. */
static void
reload_install(struct ctl *c, struct reload *r, bool published)
{
	struct fw_config fc;
	char reason[512];
	uint64_t t2, t3;
	bool installed = true;

	fw_config_for(c, &r->ps, &r->env, &fc, r->claimed);
	t2 = mono_ns();
	if (c->nworkers > 0 && fwrules_install(&fc, reason, sizeof(reason)) < 0) {
		STAT_ADD(c->d.rules_install_failures, 1);
		installed = false;
	}
	t3 = mono_ns();
	log_info(published ? "table published" : "table unchanged", "gen=%llu policies=%zu "
		 "host_endpoints=%zu interfaces=%zu entries=%u bytes=%zu compile_ms=%.2f "
		 "load_ms=%.2f rules_ms=%.2f total_ms=%.2f prednat=%d "
		 "forward=%d untracked=%d invalid_objects=%zu other_nodes=%zu other_heps=%zu "
		 "pods=%zu rejudge=%s trigger=%s",
		 (unsigned long long)c->gen, r->ps.npolicies, r->env.nlocal, r->env.nifaces,
		 r->nentries, ruleset_size(ruleset_current()),
		 (double)(r->t1 - r->t0) / 1e6, (double)(r->tload - r->t0) / 1e6,
		 (double)(t3 - t2) / 1e6, (double)(t3 - r->t0) / 1e6,
		 fc.prednat, fc.forward, fc.untracked,
		 r->ps.nrejected, c->cl.nnodes, c->cl.nheps, c->cl.nweps,
		 !published ? "none" : r->widened ? "none-widened" :
		 fc.ncarry ? "changed-addresses" : "all", r->why);
	if (!installed)
		log_err("installing netfilter rules failed", "error=\"%s\"", reason);
	if (published && fc.ncarry != 0)
		log_info("only some addresses changed: the other flows are not judged again",
			 "gen=%llu spared_gens=%zu addresses=%zu", (unsigned long long)c->gen,
			 fc.ncarry, fc.carry[0].n);
	if (r->env.nlocal == 0)
		log_warn("no host endpoint on this node: nothing is policed",
			 "node=%s hint=\"give HostEndpoints with spec.node, or --host-labels\"",
			 c->o.node);
	if (r->ps.nrejected > 0)
		ctl_set_detail(c, "enforcing generation %llu; %zu invalid objects were skipped%s%s",
			       (unsigned long long)c->gen, r->ps.nrejected,
			       r->restored ? "; " : "", r->restored ? c->cf.note : "");
	else
		ctl_set_detail(c, "enforcing generation %llu%s%s", (unsigned long long)c->gen,
			       r->restored ? "; " : "", r->restored ? c->cf.note : "");
}

int
reload_policy(struct ctl *c, const char *why)
{
	struct hostenv_opts ho = {
		.node = c->o.node,
		.host_labels = c->o.host_labels ? &c->host_labels : NULL,
		.failsafe_in = c->o.fs_in,
		.failsafe_out = c->o.fs_out,
		.no_invalid_drop = c->o.no_invalid_drop,
		.self_addr = c->o.no_allow_self ? NULL : c->o.http_addr,
	};
	struct reload r;
	int err;

	/*
	 * Kubernetes: no table before every kind is listed. A partial store
	 * would enforce a partial policy (no HostEndpoint yet: nothing
	 * policed), opening a node whose last daemon left its rules: until
	 * then its workers answer as a daemon that is down (the fail mode) and
	 * judged flows ride the old rules' fast path.
	 */
	if (c->o.kubernetes && !c->have_table && !kube_store_synced(&c->store)) {
		ctl_set_detail(c, "waiting for the first list of every kind from the Kubernetes "
			       "API (packets get the fail mode meanwhile)");
		return 0;
	}
	memset(&r, 0, sizeof(r));
	r.why = why;
	r.t0 = mono_ns();
	STAT_ADD(c->d.reloads, 1);
	polset_init(&r.ps);
	r.ps.limits = c->o.limits;
	r.ps.keep_sources = c->guard.n > 0;	/* what a rollback would load again */
	labels_init(&r.ni.labels);
	err = reload_load(c, &r, &ho);
	r.tload = mono_ns();
	if (err == 0)
		err = reload_compile(c, &r, &ho);
	if (err == 0 && !reload_guard(c, &r))
		err = -EPERM;
	if (err == 0) {
		bool published;

		reload_publish(c, &r);
		published = r.rs != NULL;
		r.rs = NULL;		/* published, or freed as unchanged */
		reload_publish_staged(c, &r);
		reload_install(c, &r, published);
		confirm_enforced(c, &r.ps, &r.env, r.restored);
		/* with a policy directory, ready once a table is enforced by running workers */
		if (!c->o.kubernetes && c->nworkers > 0)
			STAT_SET(c->d.ready, 1);
	}
	reload_free(&r);
	cluster_retired_free(&c->cl);	/* nothing points at them now */
	if (c->selcache != NULL) {
		uint64_t hits, builds;

		selcache_sweep(c->selcache);	/* selectors no policy uses any more */
		selcache_stats(c->selcache, &hits, &builds);
		STAT_SET(c->d.selcache_hits, hits);
		STAT_SET(c->d.selcache_builds, builds);
		STAT_SET(c->d.pod_syncs_log, c->cl.pod_syncs_log);
		STAT_SET(c->d.pod_syncs_full, c->cl.pod_syncs_full);
	}
	malloc_trim(0);		/* give the loader's and compiler's temporaries back */
	return err;
}

/* ---- debounce ------------------------------------------------------------------------------ */

/*
 * Every change restarts the debounce, so a burst becomes one reload; but a
 * stream of changes closer than the debounce (node heartbeats, pod churn)
 * must not postpone it for ever: the reload comes at most debounce_max_ms
 * after the first change it waits for. A policy change (urgent) waits only
 * for --policy-debounce-ms of quiet among policy changes, so that one
 * `kubectl apply` of many objects is still one reload, and at most
 * debounce_ms after the first of them, however much churn follows.
 */
void
reload_schedule(struct ctl *c, bool urgent)
{
	uint64_t now = mono_ns(), delay = (uint64_t)c->o.debounce_ms * 1000000ull;
	uint64_t max = (uint64_t)c->o.debounce_max_ms * 1000000ull;
	uint64_t pquiet = (uint64_t)c->o.policy_debounce_ms * 1000000ull;
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	if (!c->reload_pending) {
		c->pending_since_ns = now;
		c->urgent_first_ns = 0;
		c->urgent_due_ns = 0;
	}
	if (urgent) {
		if (c->urgent_first_ns == 0)
			c->urgent_first_ns = now;
		c->urgent_due_ns = now + pquiet;
		if (c->urgent_due_ns > c->urgent_first_ns + delay)
			c->urgent_due_ns = c->urgent_first_ns + delay;
	}
	if (max != 0 && now + delay > c->pending_since_ns + max)
		delay = c->pending_since_ns + max > now ? c->pending_since_ns + max - now : 0;
	/* a policy change is not held back by the churn that follows it */
	if (c->urgent_due_ns != 0 && now + delay > c->urgent_due_ns)
		delay = c->urgent_due_ns > now ? c->urgent_due_ns - now : 0;
	if (delay == 0)
		delay = 1;
	its.it_value.tv_sec = (time_t)(delay / 1000000000ull);
	its.it_value.tv_nsec = (long)(delay % 1000000000ull);
	timerfd_settime(c->tfd, 0, &its, NULL);
	c->reload_pending = true;
}

/* With the Kubernetes source, ready once every kind was listed and a table built from it. */
static void
kube_ready_check(struct ctl *c)
{
	bool ds_listed;
	uint64_t now;

	if (!c->o.kubernetes || STAT_GET(c->d.ready) || !kube_store_synced(&c->store))
		return;
	if (!c->have_table) {
		/* the first table, now that every kind is listed; after a failed
		 * attempt, only once the store changes again (no retry loop) */
		pthread_mutex_lock(&c->store.lock);
		now = c->store.version;
		pthread_mutex_unlock(&c->store.lock);
		if (now != c->store_version)
			reload_schedule(c, true);
		return;
	}
	pthread_mutex_lock(&c->store.lock);
	now = c->store.version;
	pthread_mutex_unlock(&c->store.lock);
	if (c->store_version != now) {
		reload_schedule(c, true);	/* the table predates the sync: build it again first */
		return;
	}
	/* --daemonset: ready once the DaemonSet was listed too, so that a deletion right
	 * after the start is not taken for "never seen" (the table does not wait for it) */
	pthread_mutex_lock(&c->store.lock);
	ds_listed = c->store.kinds[KK_DAEMONSET].synced;
	pthread_mutex_unlock(&c->store.lock);
	if (c->o.daemonset != NULL && !ds_listed) {
		ctl_set_detail(c, "enforcing generation %llu; waiting for the DaemonSet %s to be "
			       "listed", (unsigned long long)c->gen, c->o.daemonset);
		return;
	}
	STAT_SET(c->d.ready, 1);
	log_info("synced with the Kubernetes API: ready", "gen=%llu", (unsigned long long)c->gen);
}

void
reload_due(struct ctl *c)
{
	if (c->reload_pending) {
		c->reload_pending = false;
		reload_policy(c, "change");
	}
	kube_ready_check(c);
}
