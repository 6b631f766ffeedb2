/*
 * hostenv.h - this node's view of the policy: its host endpoints, its
 * interfaces and its failsafe ports.
 *
 * Built from a polset for one node; both the reference evaluator (eval.c)
 * and the compiler (compile.c) read it, so they see the same endpoints.
 * Control thread only.
 */
#ifndef NFQWALL_HOSTENV_H
#define NFQWALL_HOSTENV_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster.h"
#include "model.h"

struct selcache;

#define WORKLOAD_IFACE_PREFIX	"cali"

/* A network interface of the node, with its addresses. */
struct iface {
	uint32_t ifindex;
	char name[16];
	struct cidr *addrs;		/* host addresses as /32 or /128 */
	size_t naddrs;
};

struct hostenv_opts {
	const char *node;		/* NULL: no explicit HostEndpoint is local */
	const struct labels *host_labels; /* non-NULL: synthesize an auto HEP when none is local */
	const struct cidr *host_ips;	/* expectedIPs of the auto HEP */
	size_t nhost_ips;
	/* The auto host endpoints of this node as kube-controllers would make them
	 * (autohep.c; Kubernetes mode): local beside the HostEndpoints on it, as
	 * in Calico; they must outlive the hostenv. Takes the place of host_labels. */
	struct hep *const *auto_heps;
	size_t nauto_heps;
	const char *failsafe_in;	/* Felix syntax, NULL = from FelixConfiguration/defaults */
	const char *failsafe_out;
	bool no_invalid_drop;		/* Felix DisableConntrackInvalidCheck */
	/* The daemon's own HTTP address (--http-addr, "HOST:PORT"), whose loopback
	 * side is always accepted so the policy cannot block the kubelet's probes;
	 * NULL or "off": none (--no-allow-self). */
	const char *self_addr;
	/* The other Nodes' auto host endpoints and the pods, seen by rule
	 * selectors and named ports only; NULL: none (not in Kubernetes mode). */
	const struct cluster *cluster;
	/* What rule selectors matched among the cluster's endpoints, kept between
	 * compiles (selcache.h); NULL: matched anew each compile. */
	struct selcache *selcache;
};

struct hostenv {
	const struct polset *ps;
	const struct cluster *cluster;	/* NULL: none */
	struct selcache *selcache;	/* NULL: none (only with a cluster) */
	const char *node;
	const struct hep **local;	/* HEPs of this node, sorted by name */
	size_t nlocal;
	struct hep auto_hep;		/* valid when has_auto */
	bool has_auto;
	const struct hep *auto_one;	/* &auto_hep, when has_auto */
	const struct hep **autos_own;	/* hostenv_opts.auto_heps but those a HostEndpoint
					 * of the same name stands for */
	const struct hep *const *autos;	/* this node's auto host endpoints: &auto_one, or
					 * hostenv_opts.auto_heps */
	size_t nautos;
	struct iface *ifaces;
	size_t nifaces;
	size_t ifacecap;
	struct failsafe_list fs_in;
	struct failsafe_list fs_out;
	/* nfqwall's own port: TCP to these loopback destinations and this port,
	 * accepted in both directions before the failsafes (hostenv_self_parse) */
	struct failsafe_list self;
	bool invalid_drop;
	int err;			/* a hostenv_add_iface failed: -ENOMEM */
};

/*
 * hostenv_build - resolve the node's endpoints and failsafes from @ps.
 * Returns 0, or -EINVAL when a failsafe option does not parse, or -ENOMEM
 * (the reason is written to @why). Nothing is left to free on failure.
 */
int __must_check hostenv_build(struct hostenv *env, const struct polset *ps,
			       const struct hostenv_opts *o, char *why, size_t whylen);

/*
 * hostenv_self_parse - the loopback destinations of the daemon's own HTTP
 * address @hostport ("127.0.0.1:9417", "[::1]:9417", "0.0.0.0:9417", "off"):
 * a loopback address stands for itself; 0.0.0.0 for 127.0.0.1 and :: for
 * 127.0.0.1 and ::1 (the kubelet probes "host: 127.0.0.1"); any other
 * address gives no entry (a probe to it is policed like any packet). Each
 * entry has proto TCP, the port and, as its net, the destination.
 * Returns 0, -EINVAL (reason in @why) or -ENOMEM.
 */
int __must_check hostenv_self_parse(const char *hostport, struct failsafe_list *out, char *why,
				    size_t whylen);

/* hostenv_loopback - 127.0.0.0/8 or ::1/128: where a self entry's peer is. */
const struct cidr *hostenv_loopback(uint8_t family);

/* hostenv_free - release what hostenv_build made (not the polset). */
void hostenv_free(struct hostenv *env);

/*
 * hostenv_add_iface - add an interface (copied) with its addresses. Returns
 * 0 or -ENOMEM; a failure is also remembered in env->err, so that
 * compile_ruleset refuses an environment that lacks an interface.
 */
int hostenv_add_iface(struct hostenv *env, uint32_t ifindex, const char *name,
		      const struct cidr *addrs, size_t naddrs);

/* hostenv_iface - the interface with @ifindex, or NULL. */
const struct iface *hostenv_iface(const struct hostenv *env, uint32_t ifindex);

/* hostenv_any_hep - the @i-th HostEndpoint of any node, then this node's
 * auto HEPs, then the other Nodes' auto HEPs; NULL past the end. */
const struct hep *hostenv_any_hep(const struct hostenv *env, size_t i);

/* What rule selectors and named ports see of one endpoint. */
struct ep_ref {
	const struct labels *labels;
	const struct cidr *ips;
	size_t nips;
	const struct named_port *ports;
	size_t nports;
};

/*
 * hostenv_endpoint - the @i-th endpoint a rule selector or a named port can
 * match (docs/semantics.md §6.2): every HostEndpoint as hostenv_any_hep()
 * gives them, then every pod of the cluster. False past the end.
 */
bool hostenv_endpoint(const struct hostenv *env, size_t i, struct ep_ref *out);

/*
 * cidrs_have_family - does the list @v of @n CIDRs hold one of @family? A
 * plain CIDR helper, shared by the compiler and the reference evaluator,
 * which both ask whether Felix renders a rule for a family (§1.7); that
 * decision itself each of them writes on its own (see eval_tiers.c).
 */
static inline bool
cidrs_have_family(const struct cidr *v, size_t n, uint8_t family)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == family)
			return true;
	return false;
}

/* hep_is_wildcard - interfaceName "*". */
bool hep_is_wildcard(const struct hep *h);

/*
 * hostenv_hep_for_iface - the HEP that governs @ifc (docs/semantics.md
 * §3): a HEP naming the interface, or one whose expectedIPs include an
 * address of it (lowest name wins among those); else the "*" HEP with the
 * lowest name. Workload interfaces ("cali*") are never host endpoints.
 * NULL when no HEP claims it, or @ifc is NULL and there is no "*" HEP.
 */
const struct hep *hostenv_hep_for_iface(const struct hostenv *env, const struct iface *ifc);

#endif /* NFQWALL_HOSTENV_H */
