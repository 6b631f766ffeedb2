/*
 * kccfg.c - decoding KubeControllersConfiguration objects. nfqwall reads
 * the one part that shapes what rule selectors see: the auto host endpoint
 * settings under spec.controllers.node.hostEndpoint (autoCreate,
 * createDefaultHostEndpoint and the v3.30+ templates), validated as
 * Calico's validator does. The rest of the object (log levels, the other
 * controllers) is no concern of nfqwall's and is not checked. Interface
 * patterns are Go regular expressions, matched by ifpattern.c. Which object
 * counts, and what the daemon makes of it: docs/semantics.md §3.3 and
 * autohep.c. Control thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "ifpattern.h"

void
kccfg_free(struct kccfg *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->ntpl; i++) {
		struct hep_template *t = &k->tpl[i];

		free(t->generate_name);
		free(t->cidrs);
		free(t->pattern);
		ifpattern_free(t->re);
		labels_free(&t->labels);
		selector_free(t->node_sel);
	}
	free(k->tpl);
	free(k->name);
	free(k);
}

/* Calico's "name" validator: a lowercase RFC 1123 subdomain, labels joined by '.'. */
static bool
valid_subdomain(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!alnum && (ch != '-' || label == 0))
			return false;
		label++;
	}
	return s[n - 1] != '-' && s[n - 1] != '.';
}

static void
decode_pattern(struct dctx *c, const yaml_node_t *n, struct hep_template *t)
{
	const char *s = dstr(c, n, "interfacePattern");
	char why[200];
	int err;

	if (s == NULL || *s == '\0')
		return;
	t->pattern = dstrdup(c, s);
	err = ifpattern_compile(s, &t->re, why, sizeof(why));
	if (err == -EINVAL)		/* Go's regexp.Compile, and so Calico, refuses it too */
		derr(c, n, "interfacePattern \"%s\" %s", s, why);
	else if (err == -ENOTSUP)	/* valid, but not something nfqwall can match */
		dwarn(c, n, "interfacePattern \"%s\" %s: nfqwall makes no host endpoint from this "
			    "template", s, why);
	else if (err < 0)
		dnomem(c);
}

static void
decode_cidrs(struct dctx *c, const yaml_node_t *n, struct hep_template *t)
{
	size_t old = c->plen;

	if (!dseq(c, n, "interfaceCIDRs"))
		return;
	t->cidrs = dcalloc(c, ydoc_len(n), sizeof(*t->cidrs));
	if (t->cidrs == NULL)
		return;
	for (size_t i = 0; i < ydoc_len(n); i++) {
		yaml_node_t *it = ydoc_item(c->y, n, i);
		const char *s;
		int r;

		dpath_push(c, "[%zu]", i);
		s = dstr(c, it, "a CIDR");
		if (s != NULL) {
			r = cidr_parse(s, CIDR_STRICT, &t->cidrs[t->ncidrs]);
			if (r == -EDOM)		/* Go's ParseCIDR takes host bits and drops them */
				r = cidr_parse(s, CIDR_LOOSE, &t->cidrs[t->ncidrs]);
			if (r == -ENOENT) {
				uint8_t fam = t->cidrs[t->ncidrs].family;

				memset(&t->cidrs[t->ncidrs++], 0, sizeof(*t->cidrs));
				dwarn(c, it, "\"%s\" is an address, not a CIDR: Calico's kube-controllers "
					     "cannot parse it and may give this template no address; "
					     "write \"%s/%u\"", s, s,
				      addr_bits(fam));
			} else if (r < 0) {
				derr(c, it, "\"%s\" is not a CIDR", s);
			} else {
				t->ncidrs++;
			}
		}
		dpath_pop(c, old);
	}
}

/* One templates[] entry; the field path is the entry's on entry and exit. */
static void
decode_template(struct dctx *c, const yaml_node_t *n, struct hep_template *t)
{
	static const char *const known[] = {
		"generateName", "interfaceCIDRs", "interfacePattern", "labels", "annotations",
		"nodeSelector", NULL,
	};
	size_t old = c->plen;
	yaml_node_t *f;
	bool ok = true;

	labels_init(&t->labels);
	if (!dmap(c, n, "a template"))
		return;
	dfields(c, n, known);
	f = dget(c, n, "generateName");
	dpath_push(c, ".generateName");
	if (f != NULL && dstr(c, f, "generateName") && *ydoc_str(f) != '\0') {
		if (!valid_subdomain(ydoc_str(f)))
			derr(c, f, "\"%s\" is not a name (lowercase letters, digits, '-' and '.', "
				   "at most 253)", ydoc_str(f));
		else
			t->generate_name = dstrdup(c, ydoc_str(f));
	} else if (!dfailed(c)) {
		/* Calico accepts it, and then names the endpoint as the default one (which
		 * it replaces) or, with an interfacePattern, gives up on the Node */
		dwarn(c, f != NULL ? f : n, "no generateName: kube-controllers names this "
					    "template's endpoint \"<node>-auto-hep\", replacing the "
					    "default one (with interfacePattern: at the first interface "
					    "it matches on a Node, it stops that Node's templates); give "
					    "it a name");
	}
	dpath_pop(c, old);
	if ((f = dget(c, n, "interfaceCIDRs")) != NULL) {
		dpath_push(c, ".interfaceCIDRs");
		decode_cidrs(c, f, t);
		dpath_pop(c, old);
	}
	if ((f = dget(c, n, "interfacePattern")) != NULL) {
		dpath_push(c, ".interfacePattern");
		decode_pattern(c, f, t);
		dpath_pop(c, old);
	}
	dpath_push(c, ".labels");
	decode_labels(c, dget(c, n, "labels"), &t->labels);
	dpath_pop(c, old);
	f = dget(c, n, "nodeSelector");
	dpath_push(c, ".nodeSelector");
	t->node_sel = f != NULL ? dselector(c, f, &ok) : dselector_fixed(c, "all()");
	dpath_pop(c, old);
}

/* spec.controllers.node.hostEndpoint; the field path is "spec" on entry and exit. */
static void
decode_hostendpoint(struct dctx *c, const yaml_node_t *he, struct kccfg *k)
{
	static const char *const known[] = {
		"autoCreate", "createDefaultHostEndpoint", "templates", NULL,
	};
	size_t old = c->plen, at;
	yaml_node_t *f;
	const char *s;

	dpath_push(c, ".controllers.node.hostEndpoint");
	if (!dmap(c, he, "hostEndpoint"))
		goto out;
	k->has_hep = true;
	k->create_default = true;
	dfields(c, he, known);
	at = dpath_push(c, ".autoCreate");
	/* "" is unset to Calico's validator (omitempty): Disabled, as anything but Enabled */
	if ((f = dget(c, he, "autoCreate")) != NULL && (s = dstr(c, f, "autoCreate")) != NULL) {
		if (strcmp(s, "Enabled") == 0)
			k->auto_create = true;
		else if (strcmp(s, "Disabled") != 0 && *s != '\0')
			derr(c, f, "autoCreate must be Enabled or Disabled");
	}
	dpath_pop(c, at);
	dpath_push(c, ".createDefaultHostEndpoint");
	f = dget(c, he, "createDefaultHostEndpoint");
	if (f != NULL && (s = dstr(c, f, "createDefaultHostEndpoint")) != NULL) {
		/* "" is unset: kube-controllers makes it Enabled */
		if (strcmp(s, "Disabled") == 0)
			k->create_default = false;
		else if (strcmp(s, "Enabled") != 0 && *s != '\0')
			derr(c, f, "createDefaultHostEndpoint must be Enabled or Disabled");
	}
	dpath_pop(c, at);
	f = dget(c, he, "templates");
	dpath_push(c, ".templates");
	if (f == NULL || !dseq(c, f, "templates"))
		goto out;
	dpath_pop(c, at);
	k->tpl = dcalloc(c, ydoc_len(f), sizeof(*k->tpl));
	for (size_t i = 0; k->tpl != NULL && i < ydoc_len(f); i++) {
		dpath_push(c, ".templates[%zu]", i);
		decode_template(c, ydoc_item(c->y, f, i), &k->tpl[k->ntpl++]);
		dpath_pop(c, at);
	}
out:
	dpath_pop(c, old);
}

void
decode_kccfg(struct dctx *c, const yaml_node_t *obj, struct meta *m)
{
	yaml_node_t *spec = dget(c, obj, "spec"), *ctl, *node, *he;
	struct kccfg *k = dcalloc(c, 1, sizeof(*k));

	if (k == NULL)
		return;
	k->name = m->name;
	m->name = NULL;
	k->loc = (struct srcloc){ c->file, ydoc_line(obj), ydoc_col(obj) };
	dpath_push(c, "spec");
	if (spec != NULL && dmap(c, spec, "spec") &&
	    (ctl = dget(c, spec, "controllers")) != NULL && dmap(c, ctl, "controllers") &&
	    (node = dget(c, ctl, "node")) != NULL && dmap(c, node, "node") &&
	    (he = dget(c, node, "hostEndpoint")) != NULL)
		decode_hostendpoint(c, he, k);
	dpath_pop(c, 0);
	if (!dfailed(c) && k->has_hep && strcmp(k->name, "default") != 0)
		dwarn(c, obj, "only the KubeControllersConfiguration named \"default\" configures "
			      "Calico's kube-controllers; this one is not read");
	if (dfailed(c)) {
		kccfg_free(k);
		return;
	}
	polset_add(c, OBJ_KCCFG, k);
}
