/*
 * hostenv.c - the node's host endpoints, interfaces and failsafes (control thread).
 */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cluster.h"
#include "hostenv.h"

const struct hep *
hostenv_any_hep(const struct hostenv *env, size_t i)
{
	if (i < env->ps->nheps)
		return env->ps->heps[i];
	i -= env->ps->nheps;
	if (i < env->nautos)
		return env->autos[i];
	i -= env->nautos;
	return env->cluster != NULL && i < env->cluster->nheps ? env->cluster->heps[i] : NULL;
}

bool
hostenv_endpoint(const struct hostenv *env, size_t i, struct ep_ref *out)
{
	const struct hep *h = hostenv_any_hep(env, i);
	const struct wep *w;
	size_t nh;

	if (h != NULL) {
		*out = (struct ep_ref){ &h->labels, h->ips, h->nips, h->ports, h->nports };
		return true;
	}
	nh = env->ps->nheps + env->nautos + (env->cluster ? env->cluster->nheps : 0);
	if (env->cluster == NULL || i < nh || i - nh >= env->cluster->nweps)
		return false;
	w = &env->cluster->weps[i - nh];
	*out = (struct ep_ref){ &w->labels, w->ips, w->nips, w->ports, w->nports };
	return true;
}

bool
hep_is_wildcard(const struct hep *h)
{
	return h->iface != NULL && strcmp(h->iface, "*") == 0;
}

static int
cmp_hep_name(const void *a, const void *b)
{
	const struct hep *x = *(const struct hep *const *)a;
	const struct hep *y = *(const struct hep *const *)b;

	return strcmp(x->name, y->name);
}

/* FelixConfiguration "node.<node>" overrides "default"; flags override both. */
static int
resolve_failsafe(struct hostenv *env, const struct hostenv_opts *o, bool in, char *why,
		 size_t whylen)
{
	struct failsafe_list *dst = in ? &env->fs_in : &env->fs_out;
	const char *flag = in ? o->failsafe_in : o->failsafe_out;
	const struct failsafe_list *pick = NULL;
	char nodecfg[300];

	if (flag != NULL) {
		int err = failsafe_parse(flag, dst, why, whylen);

		if (err < 0)
			return err;
		if (dst->set)
			return 0;
	}
	snprintf(nodecfg, sizeof(nodecfg), "node.%s", o->node ? o->node : "");
	for (size_t i = 0; i < env->ps->nfelixcfgs; i++) {
		const struct felixcfg *f = env->ps->felixcfgs[i];
		const struct failsafe_list *l = in ? &f->in : &f->out;

		if (!l->set)
			continue;
		if (strcmp(f->name, "default") == 0 && pick == NULL)
			pick = l;
		else if (o->node && strcmp(f->name, nodecfg) == 0)
			pick = l;
	}
	if (pick == NULL) {
		if (failsafe_defaults(dst, in) < 0) {
			snprintf(why, whylen, "out of memory");
			return -ENOMEM;
		}
		return 0;
	}
	dst->v = malloc((pick->n ? pick->n : 1) * sizeof(*dst->v));
	if (dst->v == NULL) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	if (pick->n > 0)
		memcpy(dst->v, pick->v, pick->n * sizeof(*dst->v));
	dst->n = pick->n;
	dst->set = true;
	return 0;
}

/* Calico's auto host endpoint (docs/semantics.md §3): 0 or -ENOMEM. */
static int
make_auto_hep(struct hostenv *env, const struct hostenv_opts *o)
{
	struct hep *a = &env->auto_hep;
	int err;

	env->has_auto = true;		/* hostenv_free releases what is made */
	err = hep_make_auto(a, o->node ? o->node : "node", o->host_labels, o->host_ips,
			    o->nhost_ips);
	if (err == 0 && o->node == NULL)
		a->node[0] = '\0';	/* named "node-auto-hep", on no node in particular */
	return err;
}

/* Append @h to the local endpoints: 0 or -ENOMEM. */
static int
add_local(struct hostenv *env, const struct hep *h, size_t *cap)
{
	if (ARRAY_PUSH_ROOM(env->local, *cap, env->nlocal) < 0)
		return -ENOMEM;
	env->local[env->nlocal++] = h;
	return 0;
}

const struct cidr *
hostenv_loopback(uint8_t family)
{
	static const struct cidr v4 = {
		.addr = { .hi = 0, .lo = 0x7f000000u }, .family = AF_INET, .plen = 8,
	};
	static const struct cidr v6 = { .addr = { .hi = 0, .lo = 1 }, .family = AF_INET6, .plen = 128 };

	return family == AF_INET ? &v4 : &v6;
}

static int
self_add(struct failsafe_list *l, const char *addr, uint16_t port)
{
	struct failsafe *f;
	struct failsafe *grown = realloc(l->v, (l->n + 1) * sizeof(*l->v));

	if (grown == NULL)
		return -ENOMEM;
	l->v = grown;
	f = &l->v[l->n++];
	memset(f, 0, sizeof(*f));
	f->proto = IPPROTO_TCP;
	f->port = port;
	f->has_net = true;
	return cidr_parse(addr, CIDR_LOOSE, &f->net);
}

int
hostenv_self_parse(const char *hostport, struct failsafe_list *out, char *why, size_t whylen)
{
	char host[ADDR_STRLEN + 2];
	const char *colon = strrchr(hostport, ':'), *h = hostport;
	size_t hlen = colon ? (size_t)(colon - hostport) : 0;
	struct addr a;
	uint8_t fam;
	char *end;
	unsigned long port;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->set = true;
	if (strcmp(hostport, "off") == 0)
		return 0;
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	errno = 0;
	port = colon ? strtoul(colon + 1, &end, 10) : 0;
	if (colon == NULL || hlen == 0 || hlen >= sizeof(host) || colon[1] < '0' ||
	    colon[1] > '9' || *end != '\0' || errno != 0 || port == 0 || port > 65535) {
		snprintf(why, whylen, "HTTP address '%s': want HOST:PORT or [V6]:PORT", hostport);
		return -EINVAL;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (addr_parse(host, &a, &fam) < 0) {
		snprintf(why, whylen, "HTTP address '%s': '%s' is no IP address", hostport, host);
		return -EINVAL;
	}
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
		err = self_add(out, "127.0.0.1", (uint16_t)port);
	if (err == 0 && strcmp(host, "::") == 0)
		err = self_add(out, "::1", (uint16_t)port);
	if (err == 0 && ((fam == AF_INET && strncmp(host, "127.", 4) == 0) ||
			 (fam == AF_INET6 && strcmp(host, "::1") == 0)))
		err = self_add(out, host, (uint16_t)port);
	if (err < 0) {
		failsafe_list_free(out);
		snprintf(why, whylen, err == -ENOMEM ? "out of memory" :
			 "HTTP address '%s': bad loopback address", hostport);
	}
	return err;
}

int
hostenv_build(struct hostenv *env, const struct polset *ps, const struct hostenv_opts *o,
	      char *why, size_t whylen)
{
	size_t localcap = 0;
	int err = 0;

	memset(env, 0, sizeof(*env));
	env->ps = ps;
	env->cluster = o->cluster;
	env->selcache = o->cluster != NULL ? o->selcache : NULL;
	env->node = o->node;
	env->invalid_drop = !o->no_invalid_drop;
	for (size_t i = 0; o->node != NULL && err == 0 && i < ps->nheps; i++) {
		const struct hep *h = ps->heps[i];

		if (h->node && strcmp(h->node, o->node) == 0)
			err = add_local(env, h, &localcap);
	}
	if (o->auto_heps != NULL && err == 0) {
		size_t nexplicit = env->nlocal;

		/* the ones kube-controllers wrote itself (same name) count instead, for
		 * enforcement and for rule selectors alike */
		env->autos_own = calloc(o->nauto_heps + 1, sizeof(*env->autos_own));
		if (env->autos_own == NULL)
			err = -ENOMEM;
		env->autos = env->autos_own;
		for (size_t i = 0; err == 0 && i < o->nauto_heps; i++) {
			bool written = false;

			for (size_t j = 0; j < nexplicit && !written; j++)
				written = strcmp(env->local[j]->name, o->auto_heps[i]->name) == 0;
			if (written)
				continue;
			env->autos_own[env->nautos++] = o->auto_heps[i];
			err = add_local(env, o->auto_heps[i], &localcap);
		}
	} else if (err == 0 && env->nlocal == 0 && o->host_labels != NULL) {
		err = make_auto_hep(env, o);
		if (err == 0)
			err = add_local(env, &env->auto_hep, &localcap);
		env->auto_one = &env->auto_hep;
		env->autos = &env->auto_one;
		env->nautos = 1;
	}
	if (err < 0) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	if (env->nlocal > 1)
		qsort(env->local, env->nlocal, sizeof(*env->local), cmp_hep_name);
	err = resolve_failsafe(env, o, true, why, whylen);
	if (err == 0)
		err = resolve_failsafe(env, o, false, why, whylen);
	if (err == 0 && o->self_addr != NULL)
		err = hostenv_self_parse(o->self_addr, &env->self, why, whylen);
	if (err == 0)
		return 0;
fail:
	hostenv_free(env);
	return err;
}

void
hostenv_free(struct hostenv *env)
{
	if (env->has_auto)
		hep_release(&env->auto_hep);
	for (size_t i = 0; i < env->nifaces; i++)
		free(env->ifaces[i].addrs);
	free(env->ifaces);
	free(env->local);
	free(env->autos_own);
	failsafe_list_free(&env->fs_in);
	failsafe_list_free(&env->fs_out);
	failsafe_list_free(&env->self);
	memset(env, 0, sizeof(*env));
}

int
hostenv_add_iface(struct hostenv *env, uint32_t ifindex, const char *name,
		  const struct cidr *addrs, size_t naddrs)
{
	struct iface *ifc;
	struct cidr *copy = NULL;

	if (naddrs > 0) {
		copy = malloc(naddrs * sizeof(*addrs));
		if (copy == NULL)
			goto fail;
		memcpy(copy, addrs, naddrs * sizeof(*addrs));
	}
	if (ARRAY_PUSH_ROOM(env->ifaces, env->ifacecap, env->nifaces) < 0)
		goto fail;
	ifc = &env->ifaces[env->nifaces++];
	memset(ifc, 0, sizeof(*ifc));
	ifc->ifindex = ifindex;
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	ifc->addrs = copy;
	ifc->naddrs = naddrs;
	return 0;
fail:
	free(copy);
	env->err = -ENOMEM;
	return -ENOMEM;
}

const struct iface *
hostenv_iface(const struct hostenv *env, uint32_t ifindex)
{
	for (size_t i = 0; i < env->nifaces; i++)
		if (env->ifaces[i].ifindex == ifindex)
			return &env->ifaces[i];
	return NULL;
}

static bool
hep_has_ip_of(const struct hep *h, const struct iface *ifc)
{
	for (size_t i = 0; i < h->nips; i++)
		for (size_t j = 0; j < ifc->naddrs; j++)
			if (h->ips[i].family == ifc->addrs[j].family &&
			    addr_cmp(&h->ips[i].addr, &ifc->addrs[j].addr) == 0)
				return true;
	return false;
}

const struct hep *
hostenv_hep_for_iface(const struct hostenv *env, const struct iface *ifc)
{
	const struct hep *wild = NULL;

	if (ifc != NULL && strncmp(ifc->name, WORKLOAD_IFACE_PREFIX,
				   strlen(WORKLOAD_IFACE_PREFIX)) == 0)
		return NULL;
	/* env->local is sorted by name: the first claim is the lowest name. */
	for (size_t i = 0; i < env->nlocal; i++) {
		const struct hep *h = env->local[i];

		if (hep_is_wildcard(h)) {
			if (wild == NULL)
				wild = h;
			continue;
		}
		if (ifc == NULL)
			continue;
		if (h->iface != NULL && *h->iface != '\0') {
			if (strcmp(h->iface, ifc->name) == 0)
				return h;
		} else if (hep_has_ip_of(h, ifc)) {
			return h;
		}
	}
	return wild;
}
