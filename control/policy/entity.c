/*
 * entity.c - a rule's source or destination (docs/semantics.md §6):
 * nets and notNets, selector and notSelector, namespaceSelector and the
 * scoping it applies, ports and notPorts (numbers, ranges, named ports),
 * serviceAccounts and services. Control thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "decode.h"

void
entity_free(struct entity *e)
{
	free(e->nets);
	free(e->not_nets);
	selector_free(e->sel);
	selector_free(e->not_sel);
	selector_free(e->ns_sel);
	selector_free(e->sa_sel);
	for (size_t i = 0; i < e->nports; i++)
		free(e->ports[i].name);
	free(e->ports);
	for (size_t i = 0; i < e->nnot_ports; i++)
		free(e->not_ports[i].name);
	free(e->not_ports);
}

/* ---- nets ------------------------------------------------------------------------ */

static size_t
decode_cidrs(struct dctx *c, const yaml_node_t *n, const char *field, struct cidr **out)
{
	size_t count = 0, old = c->plen;

	if (!dseq(c, n, field))
		return 0;
	*out = dcalloc(c, ydoc_len(n), sizeof(**out));
	if (*out == NULL)
		return 0;
	for (size_t i = 0; i < ydoc_len(n); i++) {
		yaml_node_t *it = ydoc_item(c->y, n, i);
		const char *s;
		int err;

		dpath_push(c, "[%zu]", i);
		s = dstr(c, it, "a CIDR");
		if (s != NULL) {
			err = cidr_parse(s, CIDR_STRICT, &(*out)[count]);
			if (err == -ENOENT)	/* an address: a /32 or /128, as in Calico */
				err = cidr_parse(s, CIDR_LOOSE, &(*out)[count]);
			if (err == -EDOM)
				derr(c, it, "\"%s\" has host bits set: the network address is not "
					    "the first address of the prefix", s);
			else if (err < 0)
				derr(c, it, "\"%s\" is not a CIDR", s);
			else
				count++;
		}
		dpath_pop(c, old);
	}
	return count;
}

static void
entity_decode_nets(struct dctx *c, const yaml_node_t *n, struct entity *e)
{
	size_t old = c->plen;
	yaml_node_t *f;

	if ((f = dget(c, n, "nets")) != NULL) {
		dpath_push(c, ".nets");
		e->nnets = decode_cidrs(c, f, "nets", &e->nets);
		dpath_pop(c, old);
	}
	if ((f = dget(c, n, "notNets")) != NULL) {
		dpath_push(c, ".notNets");
		e->nnot_nets = decode_cidrs(c, f, "notNets", &e->not_nets);
		for (size_t i = 0; i < e->nnot_nets; i++)
			if (e->not_nets[i].plen == 0) {
				size_t o2 = dpath_push(c, "[%zu]", i);

				derr(c, ydoc_item(c->y, f, i),
				     "a catch-all notNets (/0) matches nothing; remove the rule or "
				     "the entry");
				dpath_pop(c, o2);
			}
		dpath_pop(c, old);
	}
}

/* ---- ports ----------------------------------------------------------------------- */

/* One ports entry @s (at @it) into @p: a number, "min:max" or a port name. */
static bool
decode_port(struct dctx *c, const yaml_node_t *it, const char *s, struct port_item *p)
{
	const char *colon = strchr(s, ':');
	uint32_t lo, hi;

	if (colon != NULL) {
		char a[16] = "";
		size_t alen = (size_t)(colon - s);

		if (alen < sizeof(a))
			memcpy(a, s, alen);
		a[alen < sizeof(a) ? alen : 0] = '\0';
		if (!parse_u32(a, 65535, &lo) || !parse_u32(colon + 1, 65535, &hi)) {
			derr(c, it, "\"%s\" is not a port range \"min:max\" of numbers 1 to "
				    "65535", s);
			return false;
		}
		if (lo == 0 || hi == 0) {
			derr(c, it, "port 0 is not allowed");
			return false;
		}
		if (lo > hi) {
			derr(c, it, "port range \"%s\": min is greater than max", s);
			return false;
		}
	} else if (parse_u32(s, 65535, &lo)) {
		if (lo == 0) {
			derr(c, it, "port 0 is not allowed");
			return false;
		}
		hi = lo;
	} else if (*s >= '0' && *s <= '9' && strspn(s, "0123456789") == strlen(s)) {
		derr(c, it, "port %s is out of range (1 to 65535)", s);
		return false;
	} else if (valid_port_name(s)) {
		p->name = dstrdup(c, s);
		return p->name != NULL;
	} else {
		derr(c, it, "\"%s\" is neither a port, a range \"min:max\" nor a port name "
			    "(at most 15 lowercase letters, digits and '-')", s);
		return false;
	}
	p->lo = (uint16_t)lo;
	p->hi = (uint16_t)hi;
	return true;
}

static size_t
decode_ports(struct dctx *c, const yaml_node_t *n, const char *field, struct port_item **out)
{
	size_t count = 0, old = c->plen;

	if (!dseq(c, n, field))
		return 0;
	*out = dcalloc(c, ydoc_len(n), sizeof(**out));
	if (*out == NULL)
		return 0;
	for (size_t i = 0; i < ydoc_len(n); i++) {
		yaml_node_t *it = ydoc_item(c->y, n, i);
		const char *s = ydoc_str(it);

		dpath_push(c, "[%zu]", i);
		if (s == NULL)
			derr(c, it, "a port must be a number, \"min:max\" or a port name");
		else if (decode_port(c, it, s, &(*out)[count]))
			count++;
		dpath_pop(c, old);
	}
	return count;
}

static void
entity_decode_ports(struct dctx *c, const yaml_node_t *n, struct entity *e)
{
	size_t old = c->plen;
	yaml_node_t *f;

	if ((f = dget(c, n, "ports")) != NULL) {
		dpath_push(c, ".ports");
		e->nports = decode_ports(c, f, "ports", &e->ports);
		dpath_pop(c, old);
	}
	if ((f = dget(c, n, "notPorts")) != NULL) {
		dpath_push(c, ".notPorts");
		e->nnot_ports = decode_ports(c, f, "notPorts", &e->not_ports);
		dpath_pop(c, old);
	}
}

/* ---- selectors ------------------------------------------------------------------- */

struct selector *
decode_plain_selector(struct dctx *c, const yaml_node_t *n)
{
	bool ok = true;
	struct selector *s = dselector(c, n, &ok);

	if (s != NULL && selector_uses_global(s)) {
		derr(c, n, "global() is only allowed alone in a rule's namespaceSelector");
		selector_free(s);
		return NULL;
	}
	return s;
}

/*
 * Felix's rule selector scoping (docs/semantics.md §6, §6.2): a rule's
 * namespaceSelector restricts its selector to namespaced objects in the
 * selected namespaces (keys prefixed "pcns.", all() meaning any namespace),
 * and global() to non-namespaced objects. notSelector is not scoped.
 */
static void
entity_scope_selector(struct dctx *c, struct entity *e)
{
	struct selector *scope, *base, *combined;

	if (e->sa_sel != NULL) {	/* (serviceAccounts) && (selector) */
		combined = e->sel ? selector_and(e->sa_sel, e->sel) : e->sa_sel;
		if (combined == NULL) {
			dnomem(c);
			return;
		}
		if (combined != e->sa_sel)
			selector_free(e->sa_sel);
		e->sa_sel = NULL;
		selector_free(e->sel);
		e->sel = combined;
	}
	if (e->ns_sel == NULL)
		return;
	if (e->ns_global)
		scope = dselector_fixed(c, "!has(projectcalico.org/namespace)");
	else if ((scope = selector_prefixed(e->ns_sel, "pcns.", "projectcalico.org/namespace")) == NULL)
		dnomem(c);
	base = e->sel ? e->sel : dselector_fixed(c, "all()");
	combined = scope && base ? selector_and(base, scope) : NULL;
	if (combined == NULL && scope && base)
		dnomem(c);
	if (base != e->sel)
		selector_free(base);
	selector_free(scope);
	if (combined == NULL)
		return;		/* out of memory: e->sel stays, the object is dropped */
	selector_free(e->sel);
	e->sel = combined;
}

static void
entity_decode_selectors(struct dctx *c, const yaml_node_t *n, struct entity *e)
{
	size_t old = c->plen;
	yaml_node_t *f;

	if ((f = dget(c, n, "selector")) != NULL && !(ydoc_str(f) && *ydoc_str(f) == '\0')) {
		dpath_push(c, ".selector");
		e->sel = decode_plain_selector(c, f);
		dpath_pop(c, old);
	}
	if ((f = dget(c, n, "notSelector")) != NULL && !(ydoc_str(f) && *ydoc_str(f) == '\0')) {
		dpath_push(c, ".notSelector");
		e->not_sel = decode_plain_selector(c, f);
		dpath_pop(c, old);
	}
	if ((f = dget(c, n, "namespaceSelector")) != NULL && ydoc_str(f) && *ydoc_str(f) != '\0') {
		bool ok = true;

		dpath_push(c, ".namespaceSelector");
		e->ns_sel = dselector(c, f, &ok);
		if (e->ns_sel != NULL && selector_uses_global(e->ns_sel)) {
			if (selector_is_global(e->ns_sel))
				e->ns_global = true;
			else
				derr(c, f, "global() must be the whole namespaceSelector");
		}
		dpath_pop(c, old);
	}
}

/* ---- service accounts and services ------------------------------------------------ */

/* serviceAccounts.names as Calico's `projectcalico.org/serviceaccount in {...}`; NULL when
 * there are none (no restriction) or on an error (reported). */
static struct selector *
decode_sa_names(struct dctx *c, const yaml_node_t *names)
{
	struct selector *s = NULL;
	char *text = NULL;
	size_t len = 0;
	bool ok = true;
	FILE *f;

	if (!dseq(c, names, "serviceAccounts.names") || ydoc_len(names) == 0)
		return NULL;
	f = open_memstream(&text, &len);
	if (f == NULL) {
		dnomem(c);
		return NULL;
	}
	fputs(LABEL_SERVICEACCOUNT " in {", f);
	for (size_t i = 0; i < ydoc_len(names); i++) {
		const yaml_node_t *it = ydoc_item(c->y, names, i);
		const char *name = dstr(c, it, "a service account name");

		if (name == NULL) {
			ok = false;
			break;
		}
		/* a Kubernetes name never holds a quote; one would end the selector's string */
		if (*name == '\0' || strpbrk(name, "\"'") != NULL) {
			derr(c, it, "\"%s\" is not a service account name", name);
			ok = false;
			break;
		}
		fprintf(f, "%s\"%s\"", i ? ", " : "", name);
	}
	fputs("}", f);
	if (fclose(f) != 0 || text == NULL) {
		free(text);
		dnomem(c);
		return NULL;
	}
	if (ok)
		s = dselector_fixed(c, text);
	free(text);
	return s;
}

/*
 * A rule's serviceAccounts as Felix's selector (docs/semantics.md §6.2):
 * its selector with every key prefixed "pcsa." (all() stays all()), ANDed
 * with the names; NULL when it has neither (no restriction at all).
 */
static struct selector *
decode_sa_selector(struct dctx *c, const yaml_node_t *sam)
{
	struct selector *sel = NULL, *names = NULL, *both;
	size_t old = c->plen;
	yaml_node_t *f;

	if ((f = dget(c, sam, "selector")) != NULL && !(ydoc_str(f) && *ydoc_str(f) == '\0')) {
		struct selector *plain;

		dpath_push(c, ".selector");
		plain = decode_plain_selector(c, f);
		dpath_pop(c, old);
		if (plain != NULL) {
			sel = selector_prefixed(plain, PREFIX_SERVICEACCOUNT, NULL);
			if (sel == NULL)
				dnomem(c);
			selector_free(plain);
		}
	}
	if ((f = dget(c, sam, "names")) != NULL) {
		dpath_push(c, ".names");
		names = decode_sa_names(c, f);
		dpath_pop(c, old);
	}
	if (sel == NULL || names == NULL)
		return sel ? sel : names;
	both = selector_and(sel, names);
	if (both == NULL)
		dnomem(c);
	selector_free(sel);
	selector_free(names);
	return both;
}

/* services.name and .namespace: required, and Kubernetes object names. */
static void
check_service_name(struct dctx *c, const yaml_node_t *svc, const char *key, const char *missing)
{
	yaml_node_t *f = dget(c, svc, key);
	const char *s = ydoc_str(f);

	if (f == NULL || (s != NULL && *s == '\0'))
		derr(c, f ? f : svc, "%s", missing);
	else if (s == NULL || !k8s_dns_subdomain(s))
		derr(c, f, "services.%s must be a Kubernetes name (lowercase letters, digits, '-' "
			   "and '.')", key);
}

static void
entity_decode_services(struct dctx *c, const yaml_node_t *n, struct entity *e)
{
	size_t old = c->plen;
	yaml_node_t *f;

	if ((f = dget(c, n, "serviceAccounts")) != NULL) {
		size_t nerr0 = c->ps->diags.nerr;

		dpath_push(c, ".serviceAccounts");
		if (dmap(c, f, "serviceAccounts")) {
			static const char *const sak[] = { "names", "selector", NULL };

			dfields(c, f, sak);
			e->sa_sel = decode_sa_selector(c, f);
			e->has_sa = true;
			e->sa_unrestricted = e->sa_sel == NULL && c->ps->diags.nerr == nerr0;
		}
		dpath_pop(c, old);
	}
	if ((f = dget(c, n, "services")) != NULL) {
		dpath_push(c, ".services");
		if (dmap(c, f, "services")) {
			static const char *const svk[] = { "name", "namespace", NULL };

			dfields(c, f, svk);
			e->has_services = true;
			check_service_name(c, f, "name", "services.name is required");
			check_service_name(c, f, "namespace", "services.namespace is required in a "
							      "GlobalNetworkPolicy");
			/* ports are the rule's business: only a destination's are refused */
			if (e->nnets || e->nnot_nets || e->sel || e->not_sel || e->ns_sel ||
			    e->has_sa)
				derr(c, f, "services cannot be combined with nets, notNets, selector, "
					   "notSelector, namespaceSelector or serviceAccounts");
		}
		dpath_pop(c, old);
	}
}

void
decode_entity(struct dctx *c, const yaml_node_t *n, struct entity *e)
{
	static const char *const known[] = {
		"nets", "notNets", "selector", "notSelector", "namespaceSelector", "ports",
		"notPorts", "serviceAccounts", "services", NULL,
	};

	if (n == NULL)
		return;
	if (!dmap(c, n, "source/destination"))
		return;
	dfields(c, n, known);
	entity_decode_nets(c, n, e);
	entity_decode_selectors(c, n, e);
	entity_decode_ports(c, n, e);
	entity_decode_services(c, n, e);
	entity_scope_selector(c, e);
}
