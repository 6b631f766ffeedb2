/*
 * policy.c - loading Calico objects from YAML/JSON into a struct polset.
 *
 * Reads files and directories, splits multi-document streams and List
 * wrappers, reads metadata in both API forms (projectcalico.org/v3 as users
 * write it, crd.projectcalico.org/v1 as the cluster stores it) and decodes
 * HostEndpoint, GlobalNetworkSet, NetworkSet, Tier and FelixConfiguration.
 * Policies and their rules are in policy_rule.c. Every problem becomes a
 * diagnostic with file, line, column, object and field; an invalid object
 * is dropped and the valid ones beside it are kept. Control thread only.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "decode.h"
#include "xalloc.h"

#define API_V3	"projectcalico.org/v3"
#define API_V1	"crd.projectcalico.org/v1"
#define METADATA_ANNOTATION "projectcalico.org/metadata"

/* ---- diagnostics helpers ---------------------------------------------- */

static void
dvdiag(struct dctx *c, enum diag_level lvl, const yaml_node_t *n, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	diag_add(&c->ps->diags, lvl, c->file, ydoc_line(n), ydoc_col(n),
		 c->object[0] ? c->object : NULL, c->path, "%s", msg);
}

void
derr(struct dctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dvdiag(c, DIAG_ERROR, n, fmt, ap);
	va_end(ap);
}

void
dwarn(struct dctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dvdiag(c, DIAG_WARN, n, fmt, ap);
	va_end(ap);
}

size_t
dpath_push(struct dctx *c, const char *fmt, ...)
{
	size_t old = c->plen;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->path + c->plen, sizeof(c->path) - c->plen, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->plen += (size_t)n;
	if (c->plen >= sizeof(c->path))
		c->plen = sizeof(c->path) - 1;
	/* ".x" at the start of a path reads better as "x" */
	if (old == 0 && c->path[0] == '.') {
		memmove(c->path, c->path + 1, c->plen);
		c->plen--;
	}
	return old;
}

void
dfields(struct dctx *c, const yaml_node_t *map, const char *const *known)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return;
	for (size_t i = 0; i < ydoc_len(map); i++) {
		yaml_node_t *k, *v;
		const char *key;
		size_t j;

		ydoc_pair(c->y, map, i, &k, &v);
		key = ydoc_str(k);
		if (key == NULL)
			continue;
		for (j = 0; known[j] != NULL; j++)
			if (strcmp(known[j], key) == 0)
				break;
		if (known[j] == NULL) {
			size_t old = dpath_push(c, ".%s", key);

			dwarn(c, k, "unknown field (ignored); check the spelling");
			dpath_pop(c, old);
		}
	}
}

yaml_node_t *
dget(struct dctx *c, const yaml_node_t *map, const char *key)
{
	yaml_node_t *n = ydoc_get(c->y, map, key);

	return ydoc_is_null(n) ? NULL : n;
}

const char *
dstr(struct dctx *c, const yaml_node_t *n, const char *what)
{
	const char *s = ydoc_str(n);

	if (s == NULL)
		derr(c, n, "%s must be a string", what);
	return s;
}

bool
dbool(struct dctx *c, const yaml_node_t *n)
{
	const char *s = ydoc_str(n);

	if (s != NULL && !ydoc_is_quoted(n)) {
		if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0)
			return true;
		if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0)
			return false;
	}
	derr(c, n, "must be true or false");
	return false;
}

bool
dnumber(struct dctx *c, const yaml_node_t *n, double *out)
{
	const char *s = ydoc_str(n);
	char *end;

	if (s != NULL && !ydoc_is_quoted(n) && *s != '\0') {
		errno = 0;
		*out = strtod(s, &end);
		if (errno == 0 && *end == '\0' && isfinite(*out))
			return true;
	}
	derr(c, n, "must be a number");
	return false;
}

bool
dseq(struct dctx *c, const yaml_node_t *n, const char *what)
{
	if (n != NULL && n->type == YAML_SEQUENCE_NODE)
		return true;
	derr(c, n, "%s must be a list", what);
	return false;
}

bool
dmap(struct dctx *c, const yaml_node_t *n, const char *what)
{
	if (n != NULL && n->type == YAML_MAPPING_NODE)
		return true;
	derr(c, n, "%s must be a mapping", what);
	return false;
}

struct selector *
dselector(struct dctx *c, const yaml_node_t *n, bool *ok)
{
	struct selector_error se = { 0, "" };
	struct selector *s = NULL;
	const char *text = dstr(c, n, "a selector");
	int err;

	if (text == NULL) {
		*ok = false;
		return NULL;
	}
	err = selector_parse(text, &s, &se);
	if (err == -ENOMEM) {
		fprintf(stderr, "level=error msg=\"out of memory\"\n");
		exit(70);
	}
	if (err < 0) {
		/* Point at the column inside the selector when it is on one line. */
		int col = ydoc_col(n);
		bool plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		bool quoted = ydoc_is_quoted(n);

		if (plain || quoted) {
			yaml_node_t at = *n;

			at.start_mark.column = (size_t)(col - 1 + (quoted ? 1 : 0) + se.col - 1);
			derr(c, &at, "invalid selector \"%s\": %s (column %d of the selector)", text,
			     se.msg, se.col);
		} else {
			derr(c, n, "invalid selector \"%s\": %s (column %d of the selector)", text,
			     se.msg, se.col);
		}
		*ok = false;
		return NULL;
	}
	return s;
}

bool
parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	unsigned long long v = 0;

	if (s == NULL || *s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* ---- the polset ----------------------------------------------------------- */

void
polset_init(struct polset *ps)
{
	memset(ps, 0, sizeof(*ps));
	diags_init(&ps->diags);
}

static void
hep_free(struct hep *h)
{
	if (h == NULL)
		return;
	free(h->name);
	free(h->node);
	free(h->iface);
	free(h->ips);
	for (size_t i = 0; i < h->nprofiles; i++)
		free(h->profiles[i]);
	free(h->profiles);
	for (size_t i = 0; i < h->nports; i++)
		free(h->ports[i].name);
	free(h->ports);
	labels_free(&h->labels);
	free(h);
}

static void
netset_free(struct netset *n)
{
	if (n == NULL)
		return;
	free(n->name);
	free(n->ns);
	labels_free(&n->labels);
	free(n->nets);
	free(n);
}

static void
tier_free(struct tier *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t);
}

void
failsafe_list_free(struct failsafe_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
	l->set = false;
}

static void
felixcfg_free(struct felixcfg *f)
{
	if (f == NULL)
		return;
	free(f->name);
	failsafe_list_free(&f->in);
	failsafe_list_free(&f->out);
	free(f);
}

void
polset_free(struct polset *ps)
{
	for (size_t i = 0; i < ps->npolicies; i++)
		policy_free(ps->policies[i]);
	for (size_t i = 0; i < ps->nheps; i++)
		hep_free(ps->heps[i]);
	for (size_t i = 0; i < ps->nnetsets; i++)
		netset_free(ps->netsets[i]);
	for (size_t i = 0; i < ps->ntiers; i++)
		tier_free(ps->tiers[i]);
	for (size_t i = 0; i < ps->nfelixcfgs; i++)
		felixcfg_free(ps->felixcfgs[i]);
	for (size_t i = 0; i < ps->nfiles; i++)
		free(ps->files[i]);
	free(ps->policies);
	free(ps->heps);
	free(ps->netsets);
	free(ps->tiers);
	free(ps->felixcfgs);
	free(ps->files);
	strmap_free(&ps->file_index);
	strmap_free(&ps->obj_index);
	diags_free(&ps->diags);
	polset_init(ps);
}

const struct tier *
polset_tier(const struct polset *ps, const char *name)
{
	for (size_t i = 0; i < ps->ntiers; i++)
		if (strcmp(ps->tiers[i]->name, name) == 0)
			return ps->tiers[i];
	return NULL;
}

static const char *
polset_intern_file(struct polset *ps, const char *file)
{
	size_t i;

	if (strmap_get(&ps->file_index, file, &i))
		return ps->files[i];
	strmap_put(&ps->file_index, file, ps->nfiles);
	XGROW(ps->files, ps->nfiles);
	ps->files[ps->nfiles] = xstrdup(file);
	return ps->files[ps->nfiles++];
}

const char *
action_name(enum action a)
{
	static const char *const names[] = {
		[ACT_ALLOW] = "Allow", [ACT_DENY] = "Deny", [ACT_PASS] = "Pass", [ACT_LOG] = "Log",
	};

	return (unsigned)a < ARRAY_SIZE(names) ? names[a] : "?";
}

/*
 * Objects are keyed by kind, name and namespace: a second definition
 * replaces the first, with a warning naming both places, as a later
 * `kubectl apply` of the same object would.
 */
struct objref {
	const char *name;
	const char *ns;
	const struct srcloc *loc;
};

static void
polset_add(struct dctx *c, void ***arr, size_t *n, void *obj,
	   struct objref (*ref)(const void *), void (*release)(void *))
{
	struct objref nw = ref(obj);
	char key[700];
	size_t i;

	/* the kind is in c->object ("Kind/name"), the array tells it apart too */
	snprintf(key, sizeof(key), "%p/%s/%s", (void *)arr, nw.ns ? nw.ns : "", nw.name);
	if (strmap_get(&c->ps->obj_index, key, &i)) {
		struct objref old = ref((*arr)[i]);

		diag_add(&c->ps->diags, DIAG_WARN, nw.loc->file, nw.loc->line, nw.loc->col,
			 c->object, NULL, "defined again (first at %s:%d); this definition "
			 "replaces it", old.loc->file, old.loc->line);
		release((*arr)[i]);
		(*arr)[i] = obj;
		return;
	}
	*arr = xrealloc(*arr, (*n + 1) * sizeof(**arr));
	strmap_put(&c->ps->obj_index, key, *n);
	(*arr)[(*n)++] = obj;
}

static struct objref
policy_ref(const void *o)
{
	const struct policy *p = o;

	return (struct objref){ p->name, p->kind == KIND_SGNP ? "staged" : NULL, &p->loc };
}

static struct objref
hep_ref(const void *o)
{
	const struct hep *h = o;

	return (struct objref){ h->name, NULL, &h->loc };
}

static struct objref
netset_ref(const void *o)
{
	const struct netset *s = o;

	return (struct objref){ s->name, s->ns ? s->ns : "global", &s->loc };
}

static struct objref
tier_ref(const void *o)
{
	const struct tier *t = o;

	return (struct objref){ t->name, NULL, &t->loc };
}

static struct objref
felixcfg_ref(const void *o)
{
	const struct felixcfg *f = o;

	return (struct objref){ f->name, NULL, &f->loc };
}

/* ---- metadata --------------------------------------------------------------- */

/* A Kubernetes/Calico object name: lowercase RFC 1123 subdomain, at most 253. */
static bool
valid_k8s_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && ch != '-' && ch != '.')
			return false;
		if ((i == 0 || i == n - 1) && !alnum)
			return false;
	}
	return true;
}

/* Calico's policy name: a DNS label, optionally one "<tier>." prefix. */
static bool
valid_policy_name(const char *s)
{
	const char *dot = strchr(s, '.');
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	if (dot != NULL && strchr(dot + 1, '.') != NULL)
		return false;
	for (const char *p = s; *p; p++) {
		bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');
		bool edge = p == s || p[1] == '\0' || p[1] == '.' || p[-1] == '.';

		if (*p == '.')
			continue;
		if (!alnum && (*p != '-' || edge))
			return false;
	}
	return s[0] != '.' && s[n - 1] != '.';
}

static void
decode_labels(struct dctx *c, const yaml_node_t *map, struct labels *out)
{
	if (map == NULL)
		return;
	if (!dmap(c, map, "labels"))
		return;
	for (size_t i = 0; i < ydoc_len(map); i++) {
		yaml_node_t *k, *v;
		const char *ks, *vs;

		ydoc_pair(c->y, map, i, &k, &v);
		ks = ydoc_str(k);
		vs = ydoc_is_null(v) ? "" : ydoc_str(v);
		if (ks == NULL || vs == NULL) {
			derr(c, v, "label keys and values must be strings");
			continue;
		}
		if (labels_set(out, ks, vs) < 0) {
			fprintf(stderr, "level=error msg=\"out of memory\"\n");
			exit(70);
		}
	}
}

struct meta {
	char *name;
	char *ns;
	struct labels labels;
};

/*
 * The v1 stored form keeps the v3 metadata as JSON in an annotation: read the
 * name and labels from there (the annotation's labels win over the CR's).
 */
static void
decode_v1_annotation(struct dctx *c, const yaml_node_t *ann, struct meta *m, bool *has_name)
{
	const char *json = dstr(c, ann, "the projectcalico.org/metadata annotation");
	struct diags inner;
	struct ydocs docs;
	struct ydoc *saved = c->y;

	if (json == NULL)
		return;
	diags_init(&inner);
	if (ydocs_load(&docs, c->file, json, strlen(json), &inner) < 0 || docs.n != 1) {
		derr(c, ann, "the %s annotation is not valid JSON", METADATA_ANNOTATION);
		goto out;
	}
	c->y = &docs.v[0];

	yaml_node_t *root = ydoc_root(c->y), *name, *labels;

	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		c->y = saved;
		derr(c, ann, "the %s annotation must hold a JSON object", METADATA_ANNOTATION);
		goto out;
	}
	name = dget(c, root, "name");
	labels = dget(c, root, "labels");
	if (name != NULL && ydoc_str(name) != NULL) {
		free(m->name);
		m->name = xstrdup(ydoc_str(name));
		*has_name = true;
	}
	if (labels != NULL && labels->type == YAML_MAPPING_NODE) {
		struct labels ann_labels;

		labels_init(&ann_labels);
		decode_labels(c, labels, &ann_labels);
		if (labels_merge(&m->labels, &ann_labels) < 0)
			exit(70);
		labels_free(&ann_labels);
	}
	c->y = saved;
out:
	ydocs_free(&docs);
	diags_free(&inner);
}

static bool
decode_meta(struct dctx *c, const yaml_node_t *obj, const char *kind, struct meta *m,
	    bool namespaced)
{
	yaml_node_t *meta = dget(c, obj, "metadata"), *name, *ns, *ann;
	static const char *const known[] = {
		"name", "namespace", "labels", "annotations", "resourceVersion", "uid",
		"creationTimestamp", "generation", "managedFields", "selfLink", "ownerReferences",
		"finalizers", "deletionTimestamp", "deletionGracePeriodSeconds", "generateName",
		NULL,
	};
	bool has_ann_name = false;
	size_t old;

	memset(m, 0, sizeof(*m));
	labels_init(&m->labels);
	if (meta == NULL || meta->type != YAML_MAPPING_NODE) {
		snprintf(c->object, sizeof(c->object), "%s/?", kind);
		derr(c, meta ? meta : obj, "metadata must be a mapping with a name");
		return false;
	}
	name = dget(c, meta, "name");
	snprintf(c->object, sizeof(c->object), "%s/%s", kind,
		 ydoc_str(name) ? ydoc_str(name) : "?");
	old = dpath_push(c, "metadata");
	dfields(c, meta, known);
	if (name == NULL || ydoc_str(name) == NULL || *ydoc_str(name) == '\0') {
		dpath_push(c, ".name");
		derr(c, name ? name : meta, "a name is required");
		dpath_pop(c, old);
		return false;
	}
	m->name = xstrdup(ydoc_str(name));
	ns = dget(c, meta, "namespace");
	if (ns != NULL && ydoc_str(ns) != NULL)
		m->ns = xstrdup(ydoc_str(ns));
	dpath_push(c, ".labels");
	decode_labels(c, dget(c, meta, "labels"), &m->labels);
	dpath_pop(c, old + 8);

	ann = dget(c, dget(c, meta, "annotations"), METADATA_ANNOTATION);
	if (c->form == FORM_V1 && ann != NULL) {
		size_t o2 = dpath_push(c, ".annotations[%s]", METADATA_ANNOTATION);

		decode_v1_annotation(c, ann, m, &has_ann_name);
		dpath_pop(c, o2);
	}
	(void)has_ann_name;
	if (namespaced && m->ns == NULL)
		m->ns = xstrdup("default");
	dpath_pop(c, 0);
	return !dfailed(c);
}

static void
meta_free(struct meta *m)
{
	free(m->name);
	free(m->ns);
	labels_free(&m->labels);
}

/* ---- HostEndpoint ------------------------------------------------------------- */

static bool
valid_iface_name(const char *s)
{
	size_t n = strlen(s);

	if (strcmp(s, "*") == 0)
		return true;
	if (n == 0 || n > 15)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
			return false;
	return true;
}

/* IANA service name: at most 15 of [a-z0-9-], at least one letter. */
bool valid_port_name(const char *s);
bool
valid_port_name(const char *s)
{
	size_t n = strlen(s);
	bool letter = false;

	if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (const char *p = s; *p; p++) {
		if (*p >= 'a' && *p <= 'z')
			letter = true;
		else if (!((*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	}
	return letter;
}

uint8_t proto_from_name(const char *s, bool *lowercase);

static void
decode_hep(struct dctx *c, const yaml_node_t *obj, struct meta *m)
{
	static const char *const known[] = {
		"node", "interfaceName", "expectedIPs", "profiles", "ports", NULL,
	};
	yaml_node_t *spec = dget(c, obj, "spec"), *n;
	struct hep *h = xcalloc(1, sizeof(*h));
	size_t old = dpath_push(c, "spec");

	h->name = m->name;
	m->name = NULL;
	h->labels = m->labels;
	labels_init(&m->labels);
	h->loc = (struct srcloc){ c->file, ydoc_line(obj), ydoc_col(obj) };
	if (!dmap(c, spec, "spec"))
		goto out;
	dfields(c, spec, known);

	n = dget(c, spec, "node");
	dpath_push(c, ".node");
	if (n == NULL)
		derr(c, spec, "node is required (the name of the node this endpoint is on)");
	else if (dstr(c, n, "node"))
		h->node = xstrdup(ydoc_str(n));
	dpath_pop(c, old + 4);

	n = dget(c, spec, "interfaceName");
	dpath_push(c, ".interfaceName");
	if (n != NULL && dstr(c, n, "interfaceName")) {
		if (*ydoc_str(n) != '\0' && !valid_iface_name(ydoc_str(n)))
			derr(c, n, "\"%s\" is not an interface name (\"*\", or at most 15 of "
				   "letters, digits, '_', '.', '-')", ydoc_str(n));
		h->iface = xstrdup(ydoc_str(n));
	}
	dpath_pop(c, old + 4);

	n = dget(c, spec, "expectedIPs");
	if (n != NULL && dseq(c, n, "expectedIPs")) {
		h->ips = xcalloc(ydoc_len(n), sizeof(*h->ips));
		for (size_t i = 0; i < ydoc_len(n); i++) {
			yaml_node_t *it = ydoc_item(c->y, n, i);
			const char *s;

			dpath_push(c, ".expectedIPs[%zu]", i);
			s = dstr(c, it, "an expected IP");
			if (s && cidr_parse(s, CIDR_STRICT, &h->ips[h->nips]) != -ENOENT)
				derr(c, it, "\"%s\" is not an IP address", s);
			else if (s) {
				h->ips[h->nips].plen = (uint8_t)addr_bits(h->ips[h->nips].family);
				h->nips++;
			}
			dpath_pop(c, old + 4);
		}
	}
	if ((h->iface == NULL || *h->iface == '\0') && h->nips == 0)
		derr(c, spec, "interfaceName or expectedIPs is required");

	n = dget(c, spec, "profiles");
	if (n != NULL && dseq(c, n, "profiles")) {
		h->profiles = xcalloc(ydoc_len(n), sizeof(char *));
		for (size_t i = 0; i < ydoc_len(n); i++) {
			const char *s;

			dpath_push(c, ".profiles[%zu]", i);
			s = dstr(c, ydoc_item(c->y, n, i), "a profile name");
			if (s)
				h->profiles[h->nprofiles++] = xstrdup(s);
			dpath_pop(c, old + 4);
		}
	}

	n = dget(c, spec, "ports");
	if (n != NULL && dseq(c, n, "ports")) {
		static const char *const pknown[] = { "name", "protocol", "port", NULL };

		h->ports = xcalloc(ydoc_len(n), sizeof(*h->ports));
		for (size_t i = 0; i < ydoc_len(n); i++) {
			yaml_node_t *it = ydoc_item(c->y, n, i), *f;
			struct named_port *np = &h->ports[h->nports];
			bool lower = false;
			uint32_t port;

			dpath_push(c, ".ports[%zu]", i);
			if (!dmap(c, it, "a port")) {
				dpath_pop(c, old + 4);
				continue;
			}
			dfields(c, it, pknown);
			f = dget(c, it, "name");
			if (f == NULL || !ydoc_str(f) || !valid_port_name(ydoc_str(f)))
				derr(c, f ? f : it, "name must be a port name (at most 15 lowercase "
						    "letters, digits and '-')");
			f = dget(c, it, "protocol");
			np->proto = f && ydoc_str(f) ? proto_from_name(ydoc_str(f), &lower) : 0;
			if (np->proto != IPPROTO_TCP && np->proto != IPPROTO_UDP &&
			    np->proto != IPPROTO_SCTP)
				derr(c, f ? f : it, "protocol must be TCP, UDP or SCTP");
			f = dget(c, it, "port");
			if (f == NULL || !parse_u32(ydoc_str(f), 65535, &port) || port == 0)
				derr(c, f ? f : it, "port must be a number from 1 to 65535");
			else
				np->port = (uint16_t)port;
			if (!dfailed(c)) {
				np->name = xstrdup(ydoc_str(dget(c, it, "name")));
				h->nports++;
			}
			dpath_pop(c, old + 4);
		}
	}
out:
	dpath_pop(c, 0);
	(void)old;
	if (dfailed(c)) {
		hep_free(h);
		return;
	}
	polset_add(c, (void ***)&c->ps->heps, &c->ps->nheps, h, hep_ref,
		   (void (*)(void *))hep_free);
}

/* ---- GlobalNetworkSet / NetworkSet --------------------------------------------- */

static void
decode_netset(struct dctx *c, const yaml_node_t *obj, struct meta *m, bool global)
{
	yaml_node_t *spec = dget(c, obj, "spec"), *nets;
	struct netset *s = xcalloc(1, sizeof(*s));
	static const char *const known[] = { "nets", "allowedEgressDomains", NULL };

	s->name = m->name;
	m->name = NULL;
	s->labels = m->labels;
	labels_init(&m->labels);
	s->loc = (struct srcloc){ c->file, ydoc_line(obj), ydoc_col(obj) };
	if (!global) {
		s->ns = m->ns;
		m->ns = NULL;
		/* Felix's labels for namespaced objects (calico-semantics.md §5). */
		if (labels_set(&s->labels, "projectcalico.org/namespace", s->ns) < 0 ||
		    labels_set(&s->labels, "pcns.projectcalico.org/name", s->ns) < 0 ||
		    labels_set(&s->labels, "pcns.kubernetes.io/metadata.name", s->ns) < 0)
			exit(70);
	}
	dpath_push(c, "spec");
	if (spec != NULL) {
		if (!dmap(c, spec, "spec"))
			goto out;
		dfields(c, spec, known);
		nets = dget(c, spec, "nets");
		if (nets != NULL && dseq(c, nets, "nets")) {
			s->nets = xcalloc(ydoc_len(nets), sizeof(*s->nets));
			for (size_t i = 0; i < ydoc_len(nets); i++) {
				yaml_node_t *it = ydoc_item(c->y, nets, i);
				const char *t;

				dpath_push(c, ".nets[%zu]", i);
				t = dstr(c, it, "a CIDR");
				if (t && cidr_parse(t, CIDR_LOOSE, &s->nets[s->nnets]) < 0)
					derr(c, it, "\"%s\" is not a CIDR or IP address", t);
				else if (t)
					s->nnets++;
				dpath_pop(c, 4);
			}
		}
	}
out:
	dpath_pop(c, 0);
	if (dfailed(c)) {
		netset_free(s);
		return;
	}
	polset_add(c, (void ***)&c->ps->netsets, &c->ps->nnetsets, s, netset_ref,
		   (void (*)(void *))netset_free);
}

/* ---- Tier ---------------------------------------------------------------------- */

static void
decode_tier(struct dctx *c, const yaml_node_t *obj, struct meta *m)
{
	yaml_node_t *spec = dget(c, obj, "spec"), *n;
	struct tier *t = xcalloc(1, sizeof(*t));
	static const char *const known[] = { "order", "defaultAction", NULL };

	t->name = m->name;
	m->name = NULL;
	t->default_action = ACT_DENY;
	t->loc = (struct srcloc){ c->file, ydoc_line(obj), ydoc_col(obj) };
	if (!valid_k8s_name(t->name) || strchr(t->name, '.') != NULL)
		derr(c, dget(c, dget(c, obj, "metadata"), "name"),
		     "tier names are lowercase letters, digits and '-'");
	dpath_push(c, "spec");
	if (spec != NULL && dmap(c, spec, "spec")) {
		dfields(c, spec, known);
		n = dget(c, spec, "order");
		if (n != NULL) {
			dpath_push(c, ".order");
			t->has_order = dnumber(c, n, &t->order);
			dpath_pop(c, 4);
		}
		n = dget(c, spec, "defaultAction");
		if (n != NULL) {
			const char *s = ydoc_str(n);

			dpath_push(c, ".defaultAction");
			if (s && strcmp(s, "Deny") == 0)
				t->default_action = ACT_DENY;
			else if (s && strcmp(s, "Pass") == 0)
				t->default_action = ACT_PASS;
			else
				derr(c, n, "defaultAction must be Deny or Pass");
			dpath_pop(c, 4);
		}
	}
	if (strcmp(t->name, "default") == 0) {
		if (t->default_action != ACT_DENY)
			derr(c, spec, "the default tier's defaultAction must be Deny");
		if (!t->has_order) {
			t->has_order = true;
			t->order = 1000000;
		}
	}
	dpath_pop(c, 0);
	if (dfailed(c)) {
		tier_free(t);
		return;
	}
	polset_add(c, (void ***)&c->ps->tiers, &c->ps->ntiers, t, tier_ref,
		   (void (*)(void *))tier_free);
}

/* ---- failsafe ports -------------------------------------------------------------- */

static const struct failsafe default_in[] = {
	{ IPPROTO_TCP, 22, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_UDP, 68, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 179, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 2379, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 2380, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 5473, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 6443, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 6666, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 6667, false, { { 0, 0 }, 0, 0 } },
};

static const struct failsafe default_out[] = {
	{ IPPROTO_UDP, 53, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_UDP, 67, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 179, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 2379, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 2380, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 5473, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 6443, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 6666, false, { { 0, 0 }, 0, 0 } },
	{ IPPROTO_TCP, 6667, false, { { 0, 0 }, 0, 0 } },
};

void
failsafe_defaults(struct failsafe_list *out, bool in)
{
	const struct failsafe *src = in ? default_in : default_out;
	size_t n = in ? ARRAY_SIZE(default_in) : ARRAY_SIZE(default_out);

	out->v = xmalloc(n * sizeof(*out->v));
	memcpy(out->v, src, n * sizeof(*out->v));
	out->n = n;
	out->set = true;
}

/* One "proto:port", "port", "proto:cidr:port" or "proto:[v6cidr]:port" entry. */
static int
failsafe_parse_one(char *tok, struct failsafe *f, char *why, size_t whylen)
{
	char *parts[3];
	int n = 0;
	char *p = tok;
	uint32_t port;

	memset(f, 0, sizeof(*f));
	f->proto = IPPROTO_TCP;
	/* split on ':' outside brackets */
	parts[n++] = p;
	for (int depth = 0; *p; p++) {
		if (*p == '[')
			depth++;
		else if (*p == ']')
			depth--;
		else if (*p == ':' && depth == 0) {
			if (n == 3) {
				snprintf(why, whylen, "\"%s\": too many ':'", tok);
				return -EINVAL;
			}
			*p = '\0';
			parts[n++] = p + 1;
		}
	}
	if (n >= 2) {
		if (strcasecmp(parts[0], "tcp") == 0)
			f->proto = IPPROTO_TCP;
		else if (strcasecmp(parts[0], "udp") == 0)
			f->proto = IPPROTO_UDP;
		else {
			snprintf(why, whylen, "\"%s\": protocol must be tcp or udp", parts[0]);
			return -EINVAL;
		}
	}
	if (n == 3) {
		char *net = parts[1];
		size_t l = strlen(net);

		if (net[0] == '[' && l > 2 && net[l - 1] == ']') {
			net[l - 1] = '\0';
			net++;
		}
		if (cidr_parse(net, CIDR_LOOSE, &f->net) < 0) {
			snprintf(why, whylen, "\"%s\" is not a CIDR", net);
			return -EINVAL;
		}
		f->has_net = true;
	}
	if (!parse_u32(parts[n - 1], 65535, &port) || port == 0) {
		snprintf(why, whylen, "\"%s\" is not a port from 1 to 65535", parts[n - 1]);
		return -EINVAL;
	}
	f->port = (uint16_t)port;
	return 0;
}

int
failsafe_parse(const char *text, struct failsafe_list *out, char *why, size_t whylen)
{
	char *copy, *tok, *save = NULL;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (*text == '\0')
		return 0;		/* not set: defaults */
	out->set = true;
	if (strcmp(text, "none") == 0 || strcmp(text, "[]") == 0)
		return 0;
	copy = xstrdup(text);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		XGROW(out->v, out->n);
		err = failsafe_parse_one(tok, &out->v[out->n], why, whylen);
		if (err < 0)
			break;
		out->n++;
	}
	free(copy);
	if (err < 0)
		failsafe_list_free(out);
	return err;
}

static void
decode_failsafe_list(struct dctx *c, const yaml_node_t *n, struct failsafe_list *l)
{
	static const char *const known[] = { "protocol", "port", "net", NULL };
	size_t old = c->plen;

	if (!dseq(c, n, "a failsafe port list"))
		return;
	l->set = true;
	for (size_t i = 0; i < ydoc_len(n); i++) {
		yaml_node_t *it = ydoc_item(c->y, n, i), *f;
		struct failsafe fs = { .proto = IPPROTO_TCP };
		uint32_t port;

		dpath_push(c, "[%zu]", i);
		if (!dmap(c, it, "a failsafe entry")) {
			dpath_pop(c, old);
			continue;
		}
		dfields(c, it, known);
		f = dget(c, it, "protocol");
		if (f != NULL) {
			const char *s = ydoc_str(f);

			if (s && (strcmp(s, "TCP") == 0 || strcmp(s, "tcp") == 0))
				fs.proto = IPPROTO_TCP;
			else if (s && (strcmp(s, "UDP") == 0 || strcmp(s, "udp") == 0))
				fs.proto = IPPROTO_UDP;
			else
				derr(c, f, "protocol must be TCP or UDP");
		}
		f = dget(c, it, "port");
		if (f == NULL || !parse_u32(ydoc_str(f), 65535, &port) || port == 0)
			derr(c, f ? f : it, "port must be a number from 1 to 65535");
		else
			fs.port = (uint16_t)port;
		f = dget(c, it, "net");
		if (f != NULL) {
			const char *s = ydoc_str(f);

			if (s == NULL || cidr_parse(s, CIDR_LOOSE, &fs.net) < 0)
				derr(c, f, "net must be a CIDR");
			else
				fs.has_net = true;
		}
		XGROW(l->v, l->n);
		l->v[l->n++] = fs;
		dpath_pop(c, old);
	}
}

static void
decode_felixcfg(struct dctx *c, const yaml_node_t *obj, struct meta *m)
{
	yaml_node_t *spec = dget(c, obj, "spec"), *n;
	struct felixcfg *f = xcalloc(1, sizeof(*f));

	f->name = m->name;
	m->name = NULL;
	f->loc = (struct srcloc){ c->file, ydoc_line(obj), ydoc_col(obj) };
	/* FelixConfiguration has many fields; nfqwall reads only the failsafe lists. */
	if (spec != NULL && dmap(c, spec, "spec")) {
		n = ydoc_get(c->y, spec, "failsafeInboundHostPorts");
		if (n != NULL) {
			dpath_push(c, "spec.failsafeInboundHostPorts");
			if (ydoc_is_null(n))
				f->in.set = false;
			else
				decode_failsafe_list(c, n, &f->in);
			dpath_pop(c, 0);
		}
		n = ydoc_get(c->y, spec, "failsafeOutboundHostPorts");
		if (n != NULL) {
			dpath_push(c, "spec.failsafeOutboundHostPorts");
			if (!ydoc_is_null(n))
				decode_failsafe_list(c, n, &f->out);
			dpath_pop(c, 0);
		}
	}
	if (dfailed(c)) {
		felixcfg_free(f);
		return;
	}
	polset_add(c, (void ***)&c->ps->felixcfgs, &c->ps->nfelixcfgs, f, felixcfg_ref,
		   (void (*)(void *))felixcfg_free);
}

/* ---- policies -------------------------------------------------------------------- */

static void
decode_policy(struct dctx *c, const yaml_node_t *obj, struct meta *m, bool staged)
{
	yaml_node_t *spec = dget(c, obj, "spec");
	yaml_node_t *namenode = dget(c, dget(c, obj, "metadata"), "name");
	struct policy *p = xcalloc(1, sizeof(*p));

	p->kind = staged ? KIND_SGNP : KIND_GNP;
	p->form = c->form;
	p->loc = (struct srcloc){ c->file, ydoc_line(obj), ydoc_col(obj) };
	p->name = m->name;
	m->name = NULL;
	dpath_push(c, "spec");
	if (spec == NULL || !dmap(c, spec, "spec")) {
		dpath_pop(c, 0);
		policy_free(p);
		return;
	}
	dgnp(c, spec, p, staged);
	dpath_pop(c, 0);

	/*
	 * The stored v1 form prefixes default-tier names with "default."
	 * (calico-semantics.md §8): recover the v3 name unless the metadata
	 * annotation already gave it.
	 */
	if (c->form == FORM_V1 && strcmp(p->tier, "default") == 0 &&
	    strncmp(p->name, "default.", 8) == 0 && namenode != NULL &&
	    strcmp(ydoc_str(namenode), p->name) == 0) {
		char *v3 = xstrdup(p->name + 8);

		free(p->name);
		p->name = v3;
	}
	snprintf(c->object, sizeof(c->object), "%s/%s",
		 staged ? "StagedGlobalNetworkPolicy" : "GlobalNetworkPolicy", p->name);
	if (!valid_policy_name(p->name))
		derr(c, namenode, "\"%s\" is not a valid policy name (lowercase letters, digits "
				  "and '-', with at most one \"<tier>.\" prefix)", p->name);
	else if (strchr(p->name, '.') != NULL && c->form == FORM_V3 &&
		 (strncmp(p->name, p->tier, strlen(p->tier)) != 0 || p->name[strlen(p->tier)] != '.'))
		derr(c, namenode, "a policy name with a '.' must start with its tier (\"%s.\")",
		     p->tier);
	if (dfailed(c)) {
		policy_free(p);
		return;
	}
	polset_add(c, (void ***)&c->ps->policies, &c->ps->npolicies, p, policy_ref,
		   (void (*)(void *))policy_free);
}

/* ---- documents --------------------------------------------------------------------- */

static void decode_object(struct dctx *c, const yaml_node_t *obj);

static void
decode_list(struct dctx *c, const yaml_node_t *obj)
{
	yaml_node_t *items = dget(c, obj, "items");

	if (items == NULL)
		return;
	if (!dseq(c, items, "items"))
		return;
	for (size_t i = 0; i < ydoc_len(items); i++)
		decode_object(c, ydoc_item(c->y, items, i));
}

static void
decode_object(struct dctx *c, const yaml_node_t *obj)
{
	static const char *const top[] = { "apiVersion", "kind", "metadata", "spec", "status", NULL };
	yaml_node_t *kindn, *apin;
	const char *kind, *api;
	struct meta m;

	c->object[0] = '\0';
	dpath_pop(c, 0);
	c->nerr0 = c->ps->diags.nerr;
	if (obj == NULL || obj->type != YAML_MAPPING_NODE) {
		derr(c, obj, "a document must be a mapping with apiVersion and kind");
		c->ps->nrejected++;
		return;
	}
	kindn = dget(c, obj, "kind");
	apin = dget(c, obj, "apiVersion");
	kind = ydoc_str(kindn);
	api = ydoc_str(apin);
	if (kind == NULL) {
		derr(c, obj, "kind is required");
		c->ps->nrejected++;
		return;
	}
	if (strcmp(kind, "List") == 0 || (strlen(kind) > 4 && strcmp(kind + strlen(kind) - 4, "List") == 0)) {
		decode_list(c, obj);
		return;
	}

	bool ours = strcmp(kind, "GlobalNetworkPolicy") == 0 ||
		    strcmp(kind, "StagedGlobalNetworkPolicy") == 0 ||
		    strcmp(kind, "HostEndpoint") == 0 || strcmp(kind, "GlobalNetworkSet") == 0 ||
		    strcmp(kind, "NetworkSet") == 0 || strcmp(kind, "Tier") == 0 ||
		    strcmp(kind, "FelixConfiguration") == 0;

	if (!ours) {
		yaml_node_t *name = dget(c, dget(c, obj, "metadata"), "name");

		diag_add(&c->ps->diags, DIAG_NOTE, c->file, ydoc_line(obj), ydoc_col(obj), NULL,
			 NULL, "skipping %s/%s: not a kind nfqwall enforces", kind,
			 ydoc_str(name) ? ydoc_str(name) : "?");
		return;
	}
	c->ps->nobjects++;
	snprintf(c->object, sizeof(c->object), "%s/?", kind);
	if (api != NULL && strcmp(api, API_V3) == 0) {
		c->form = FORM_V3;
	} else if (api != NULL && strcmp(api, API_V1) == 0) {
		c->form = FORM_V1;
	} else {
		derr(c, apin ? apin : obj, "apiVersion must be %s or %s", API_V3, API_V1);
		c->ps->nrejected++;
		return;
	}
	if (!decode_meta(c, obj, kind, &m, strcmp(kind, "NetworkSet") == 0)) {
		meta_free(&m);
		c->ps->nrejected++;
		return;
	}
	dfields(c, obj, top);
	if (strcmp(kind, "GlobalNetworkPolicy") == 0)
		decode_policy(c, obj, &m, false);
	else if (strcmp(kind, "StagedGlobalNetworkPolicy") == 0)
		decode_policy(c, obj, &m, true);
	else if (strcmp(kind, "HostEndpoint") == 0)
		decode_hep(c, obj, &m);
	else if (strcmp(kind, "GlobalNetworkSet") == 0)
		decode_netset(c, obj, &m, true);
	else if (strcmp(kind, "NetworkSet") == 0)
		decode_netset(c, obj, &m, false);
	else if (strcmp(kind, "Tier") == 0)
		decode_tier(c, obj, &m);
	else
		decode_felixcfg(c, obj, &m);
	meta_free(&m);
	if (dfailed(c)) {
		c->ps->nrejected++;
		diag_add(&c->ps->diags, DIAG_NOTE, c->file, ydoc_line(obj), ydoc_col(obj),
			 c->object, NULL, "object rejected; the rest of the policy still loads");
	}
}

static void
polset_load_docs(struct polset *ps, struct ydocs *docs)
{
	struct dctx c;

	memset(&c, 0, sizeof(c));
	c.ps = ps;
	c.file = polset_intern_file(ps, docs->file);
	for (size_t i = 0; i < docs->n; i++) {
		c.y = &docs->v[i];
		decode_object(&c, ydoc_root(c.y));
	}
}

int
polset_load_buffer(struct polset *ps, const char *name, const char *buf, size_t len)
{
	struct ydocs docs;
	int err = ydocs_load(&docs, name, buf, len, &ps->diags);

	if (err == -ENOMEM)
		exit(70);
	polset_load_docs(ps, &docs);	/* documents before a syntax error still load */
	ydocs_free(&docs);
	return err == -EINVAL ? 0 : err;
}

static int
polset_load_file(struct polset *ps, const char *path)
{
	struct ydocs docs;
	int err = ydocs_load(&docs, path, NULL, 0, &ps->diags);

	if (err == -ENOMEM)
		exit(70);
	polset_load_docs(ps, &docs);
	ydocs_free(&docs);
	return err == -EINVAL ? 0 : err;
}

static bool
policy_file_name(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
	       (n > 5 && strcmp(name + n - 5, ".json") == 0);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
polset_load_path(struct polset *ps, const char *path)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	DIR *dir;
	int err = 0;

	if (stat(path, &st) < 0) {
		err = -errno;
		diag_add(&ps->diags, DIAG_ERROR, path, 0, 0, NULL, NULL, "cannot read: %s",
			 strerror(errno));
		return err;
	}
	if (!S_ISDIR(st.st_mode))
		return polset_load_file(ps, path);
	dir = opendir(path);
	if (dir == NULL) {
		err = -errno;
		diag_add(&ps->diags, DIAG_ERROR, path, 0, 0, NULL, NULL, "cannot read: %s",
			 strerror(errno));
		return err;
	}
	while ((de = readdir(dir)) != NULL) {
		if (!policy_file_name(de->d_name))
			continue;
		XGROW(names, n);
		names[n++] = xasprintf("%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/",
				       de->d_name);
	}
	closedir(dir);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		int e = polset_load_file(ps, names[i]);

		if (e < 0 && err == 0)
			err = e;
		free(names[i]);
	}
	free(names);
	return err;
}
