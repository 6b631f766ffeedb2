/*
 * autohep.h - the host endpoints Calico's kube-controllers makes for a Node
 * (docs/semantics.md §3.3): the default one ("<node>-auto-hep", every
 * interface) and those of the v3.30+ templates of the
 * KubeControllersConfiguration "default" (one per selected Node, or one per
 * matching interface). nfqwall makes them itself, as kube-controllers
 * would, for this node (enforced) and for every other Node (seen by rule
 * selectors). Control thread only.
 */
#ifndef NFQWALL_AUTOHEP_H
#define NFQWALL_AUTOHEP_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

#define NODE_MAX_IPS		16	/* addresses kept per Node */
#define NODE_MAX_IFACES		32	/* interfaces kept per Node */
#define NODE_IFACE_MAX_IPS	8	/* addresses kept per interface */

/* An interface of a Node, as calico-node records it (projectcalico.org/Interfaces). */
struct node_iface {
	char name[16];
	struct cidr ips[NODE_IFACE_MAX_IPS];
	size_t nips;
};

/* What kube-controllers reads of a Node. */
struct node_view {
	const char *name;
	const struct labels *labels;
	const struct cidr *ips;		/* the expectedIPs of its default endpoint */
	size_t nips;
	const struct node_iface *ifaces;
	size_t nifaces;
};

/* What kube-controllers is configured to make. */
struct autohep_cfg {
	bool enabled;			/* autoCreate */
	bool create_default;
	const struct hep_template *tpl;	/* in @ps (autohep_config), which must outlive it */
	size_t ntpl;
	const char *source;		/* for the log: "--auto-host-endpoint", ... */
};

/*
 * autohep_config - what decides, as in kube-controllers: @flag
 * (--auto-host-endpoint, its AUTO_HOST_ENDPOINTS=enabled) makes the default
 * endpoint of every Node and wins over the KubeControllersConfiguration;
 * without it, that object named "default" in @ps decides when it sets
 * spec.controllers.node.hostEndpoint; else nothing is made.
 */
void autohep_config(const struct polset *ps, bool flag, struct autohep_cfg *out);

/*
 * autohep_make - the host endpoints @cfg makes for the Node @nv, appended
 * to *@v (*@n of them, room for *@cap, grown as needed; each one
 * malloc'd, synthetic, with the default-allow profile). An endpoint named
 * as one made before it replaces that one, as kube-controllers' update of
 * an object of the same name would. 0 or -ENOMEM (what was made stays in
 * *@v for autohep_free).
 */
int __must_check autohep_make(const struct autohep_cfg *cfg, const struct node_view *nv,
			      struct hep ***v, size_t *n, size_t *cap);

/* autohep_free - free the @n endpoints of @v and @v itself. */
void autohep_free(struct hep **v, size_t n);

#endif /* NFQWALL_AUTOHEP_H */
