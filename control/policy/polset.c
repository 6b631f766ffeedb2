/*
 * polset.c - the policy set: loading files, directories and buffers of
 * Calico objects into a struct polset, and keeping its objects.
 *
 * Reads files and directories, splits multi-document streams and List
 * wrappers, checks each object's kind and API form (projectcalico.org/v3 as
 * users write it, crd.projectcalico.org/v1 as the cluster stores it) and
 * hands it to the decoder of its kind (policy.c, hostendpoint.c, netset.c,
 * tier.c, felixcfg.c). Every problem becomes a diagnostic with file, line,
 * column, object and field; an invalid object is dropped and the valid ones
 * beside it are kept. Running out of memory stops the load with -ENOMEM and
 * leaves the set holding only whole objects. Control thread only.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "decode.h"

#define API_V3	"projectcalico.org/v3"
#define API_V1	"crd.projectcalico.org/v1"

void
polset_init(struct polset *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->limits = polset_limits_default;
	ps->digest = POLSET_DIGEST_EMPTY;
	diags_init(&ps->diags);
}

void
polsrc_free(struct polsrc *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].text);
	}
	free(v);
}

void
polset_take_sources(struct polset *ps, struct polsrc **v, size_t *n)
{
	*v = ps->sources;
	*n = ps->nsources;
	ps->sources = NULL;
	ps->nsources = ps->sourcecap = 0;
}

uint64_t
polsrc_hash(const char *name, const char *text, size_t len)
{
	uint64_t h = POLSET_DIGEST_EMPTY;
	size_t n = strlen(name) + 1;	/* the NUL too: "a" + "bc" is not "ab" + "c" */

	for (size_t i = 0; i < n + len; i++) {
		h ^= (uint8_t)(i < n ? name[i] : text[i - n]);
		h *= 0x100000001b3ull;
	}
	return h;
}

/* A stream is loaded: into the digest, and kept when asked. -ENOMEM only when a copy
 * could not be made. */
static int
source_note(struct polset *ps, const char *name, const char *buf, size_t len)
{
	uint64_t h = polsrc_hash(name, buf, len);
	struct polsrc *s;

	ps->digest += h;
	if (!ps->keep_sources)
		return 0;
	if (ARRAY_PUSH_ROOM(ps->sources, ps->sourcecap, ps->nsources) < 0)
		return -ENOMEM;
	s = &ps->sources[ps->nsources];
	s->name = strdup(name);
	s->text = malloc(len + 1);
	if (s->name == NULL || s->text == NULL) {
		free(s->name);
		free(s->text);
		return -ENOMEM;
	}
	memcpy(s->text, buf, len);
	s->text[len] = '\0';
	s->len = len;
	s->hash = h;
	ps->nsources++;
	return 0;
}

void
polset_free(struct polset *ps)
{
	struct polset_limits limits;
	bool keep;

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
	for (size_t i = 0; i < ps->nkccfgs; i++)
		kccfg_free(ps->kccfgs[i]);
	for (size_t i = 0; i < ps->nfiles; i++)
		free(ps->files[i]);
	free(ps->policies);
	free(ps->heps);
	free(ps->netsets);
	free(ps->tiers);
	free(ps->felixcfgs);
	free(ps->kccfgs);
	free(ps->files);
	strmap_free(&ps->file_index);
	strmap_free(&ps->obj_index);
	diags_free(&ps->diags);
	polsrc_free(ps->sources, ps->nsources);
	limits = ps->limits;
	keep = ps->keep_sources;
	polset_init(ps);
	ps->limits = limits;
	ps->keep_sources = keep;
}

const struct tier *
polset_tier(const struct polset *ps, const char *name)
{
	for (size_t i = 0; i < ps->ntiers; i++)
		if (strcmp(ps->tiers[i]->name, name) == 0)
			return ps->tiers[i];
	return NULL;
}

const char *
action_name(enum action a)
{
	static const char *const names[] = {
		[ACT_ALLOW] = "Allow", [ACT_DENY] = "Deny", [ACT_PASS] = "Pass", [ACT_LOG] = "Log",
	};

	return (unsigned)a < ARRAY_SIZE(names) ? names[a] : "?";
}

/* The file name srclocs point at, copied once per set; NULL when out of memory. */
static const char *
polset_intern_file(struct polset *ps, const char *file)
{
	char **grown, *copy;
	size_t i;

	if (strmap_get(&ps->file_index, file, &i))
		return ps->files[i];
	grown = realloc(ps->files, (ps->nfiles + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	ps->files = grown;
	copy = strdup(file);
	if (copy == NULL)
		return NULL;
	if (strmap_put(&ps->file_index, file, ps->nfiles) < 0) {
		free(copy);
		return NULL;
	}
	ps->files[ps->nfiles] = copy;
	return ps->files[ps->nfiles++];
}

/* ---- objects ------------------------------------------------------------------ */

/*
 * Objects are keyed by kind, name and namespace: a second definition
 * replaces the first, with a warning naming both places, as a later
 * `kubectl apply` of the same object would. One place knows, for each kind,
 * its array in the set and what identifies an object of it.
 */
struct objslot {
	void ***arr;			/* the set's array of this kind */
	size_t *n;
	const char *name;
	const char *ns;			/* the namespace part of the key, or NULL */
	const struct srcloc *loc;
};

static struct objslot
obj_slot(struct polset *ps, enum obj_kind kind, const void *obj)
{
	const struct policy *p = obj;
	const struct hep *h = obj;
	const struct netset *s = obj;
	const struct tier *t = obj;
	const struct felixcfg *f = obj;
	const struct kccfg *k = obj;

	switch (kind) {
	case OBJ_POLICY:
		return (struct objslot){ (void ***)&ps->policies, &ps->npolicies, p->name,
					 p->kind == KIND_SGNP ? "staged" : NULL, &p->loc };
	case OBJ_HEP:
		return (struct objslot){ (void ***)&ps->heps, &ps->nheps, h->name, NULL, &h->loc };
	case OBJ_NETSET:
		return (struct objslot){ (void ***)&ps->netsets, &ps->nnetsets, s->name,
					 s->ns ? s->ns : "global", &s->loc };
	case OBJ_TIER:
		return (struct objslot){ (void ***)&ps->tiers, &ps->ntiers, t->name, NULL, &t->loc };
	case OBJ_KCCFG:
		return (struct objslot){ (void ***)&ps->kccfgs, &ps->nkccfgs, k->name, NULL,
					 &k->loc };
	case OBJ_FELIXCFG:
		break;
	}
	return (struct objslot){ (void ***)&ps->felixcfgs, &ps->nfelixcfgs, f->name, NULL, &f->loc };
}

static void
obj_free(enum obj_kind kind, void *obj)
{
	switch (kind) {
	case OBJ_POLICY:
		policy_free(obj);
		break;
	case OBJ_HEP:
		hep_free(obj);
		break;
	case OBJ_NETSET:
		netset_free(obj);
		break;
	case OBJ_TIER:
		tier_free(obj);
		break;
	case OBJ_FELIXCFG:
		felixcfg_free(obj);
		break;
	case OBJ_KCCFG:
		kccfg_free(obj);
		break;
	}
}

void
polset_add(struct dctx *c, enum obj_kind kind, void *obj)
{
	struct objslot nw = obj_slot(c->ps, kind, obj);
	char key[700];
	void **grown;
	size_t i;

	snprintf(key, sizeof(key), "%d/%s/%s", (int)kind, nw.ns ? nw.ns : "", nw.name);
	if (strmap_get(&c->ps->obj_index, key, &i)) {
		struct objslot old = obj_slot(c->ps, kind, (*nw.arr)[i]);

		diag_add(&c->ps->diags, DIAG_WARN, nw.loc->file, nw.loc->line, nw.loc->col,
			 c->object, NULL, "defined again (first at %s:%d); this definition "
			 "replaces it", old.loc->file, old.loc->line);
		obj_free(kind, (*nw.arr)[i]);
		(*nw.arr)[i] = obj;
		return;
	}
	grown = realloc(*nw.arr, (*nw.n + 1) * sizeof(*grown));
	if (grown == NULL)
		goto out_nomem;
	*nw.arr = grown;
	if (strmap_put(&c->ps->obj_index, key, *nw.n) < 0)
		goto out_nomem;
	(*nw.arr)[(*nw.n)++] = obj;
	return;
out_nomem:
	obj_free(kind, obj);
	dnomem(c);
}

/* ---- documents ------------------------------------------------------------------ */

static void decode_object(struct dctx *c, const yaml_node_t *obj);

static void
decode_list(struct dctx *c, const yaml_node_t *obj)
{
	yaml_node_t *items = dget(c, obj, "items");

	if (items == NULL)
		return;
	if (!dseq(c, items, "items"))
		return;
	for (size_t i = 0; i < ydoc_len(items) && c->err == 0 && !c->stop; i++)
		decode_object(c, ydoc_item(c->y, items, i));
}

static bool
is_list_kind(const char *kind)
{
	size_t n = strlen(kind);

	return strcmp(kind, "List") == 0 || (n > 4 && strcmp(kind + n - 4, "List") == 0);
}

static bool
is_enforced_kind(const char *kind)
{
	static const char *const kinds[] = {
		"GlobalNetworkPolicy", "StagedGlobalNetworkPolicy", "HostEndpoint",
		"GlobalNetworkSet", "NetworkSet", "Tier", "FelixConfiguration",
		"KubeControllersConfiguration",
	};

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (strcmp(kind, kinds[i]) == 0)
			return true;
	return false;
}

/* Hand a valid, enforced @kind to its decoder: the metadata is read already. */
static void
decode_kind(struct dctx *c, const yaml_node_t *obj, const char *kind, struct meta *m)
{
	if (strcmp(kind, "GlobalNetworkPolicy") == 0)
		decode_policy(c, obj, m, false);
	else if (strcmp(kind, "StagedGlobalNetworkPolicy") == 0)
		decode_policy(c, obj, m, true);
	else if (strcmp(kind, "HostEndpoint") == 0)
		decode_hep(c, obj, m);
	else if (strcmp(kind, "GlobalNetworkSet") == 0)
		decode_netset(c, obj, m, true);
	else if (strcmp(kind, "NetworkSet") == 0)
		decode_netset(c, obj, m, false);
	else if (strcmp(kind, "Tier") == 0)
		decode_tier(c, obj, m);
	else if (strcmp(kind, "KubeControllersConfiguration") == 0)
		decode_kccfg(c, obj, m);
	else
		decode_felixcfg(c, obj, m);
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
	if (++c->nobjects > c->ps->limits.max_objects) {
		derr(c, obj, "more than %zu objects in this file, List items included: the limit "
		     "(--max-objects); the rest of the file is not read", c->ps->limits.max_objects);
		c->stop = true;
		return;
	}
	if (obj == NULL || obj->type != YAML_MAPPING_NODE) {
		derr(c, obj, "a document must be a mapping with apiVersion and kind");
		c->ps->nobjects++;	/* seen and rejected: checked, and invalid */
		c->ps->nrejected++;
		return;
	}
	kindn = dget(c, obj, "kind");
	apin = dget(c, obj, "apiVersion");
	kind = ydoc_str(kindn);
	api = ydoc_str(apin);
	if (kind == NULL) {
		derr(c, obj, "kind is required");
		c->ps->nobjects++;
		c->ps->nrejected++;
		return;
	}
	if (is_list_kind(kind)) {
		decode_list(c, obj);
		return;
	}
	if (!is_enforced_kind(kind)) {
		yaml_node_t *name = dget(c, dget(c, obj, "metadata"), "name");

		diag_add(&c->ps->diags, DIAG_NOTE, c->file, ydoc_line(obj), ydoc_col(obj), NULL,
			 NULL, "skipping %s/%s: not a kind nfqwall enforces", kind,
			 ydoc_str(name) ? ydoc_str(name) : "?");
		c->ps->nskipped++;
		return;
	}
	c->ps->nobjects++;
	snprintf(c->object, sizeof(c->object), "%s/?", kind);
	if (obj->end_mark.index - obj->start_mark.index > c->ps->limits.max_object_bytes) {
		const char *name = ydoc_str(dget(c, dget(c, obj, "metadata"), "name"));

		snprintf(c->object, sizeof(c->object), "%s/%s", kind, name ? name : "?");
		derr(c, obj, "the object is %zu bytes, more than %zu: the limit "
		     "(--max-object-bytes)", obj->end_mark.index - obj->start_mark.index,
		     c->ps->limits.max_object_bytes);
		c->ps->nrejected++;
		return;
	}
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
	decode_kind(c, obj, kind, &m);
	meta_free(&m);
	if (dfailed(c)) {
		c->ps->nrejected++;
		if (c->err == 0)
			diag_add(&c->ps->diags, DIAG_NOTE, c->file, ydoc_line(obj), ydoc_col(obj),
				 c->object, NULL, "object rejected; the rest of the policy still loads");
	}
}

/* Decode every document; 0, or -ENOMEM when memory ran out (the set then
 * holds the objects decoded before). */
static int
polset_load_docs(struct polset *ps, struct ydocs *docs)
{
	size_t lost = ps->diags.nlost;
	struct dctx c;

	memset(&c, 0, sizeof(c));
	c.ps = ps;
	c.file = polset_intern_file(ps, docs->file);
	if (c.file == NULL) {
		c.file = docs->file;	/* for the diagnostic, which copies it */
		dnomem(&c);
	}
	for (size_t i = 0; i < docs->n && c.err == 0 && !c.stop; i++) {
		yaml_node_t *root;

		c.y = &docs->v[i];
		root = ydoc_root(c.y);
		/* a document of comments only (helm template writes many): kubectl skips it too */
		if (root == NULL || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0 &&
				     root->data.scalar.style == YAML_PLAIN_SCALAR_STYLE))
			continue;
		decode_object(&c, root);
	}
	if (ps->diags.nlost != lost)
		dnomem(&c);	/* a diagnostic was lost */
	return c.err;
}

/* Decode what ydocs_load() returned @err for. */
static int
polset_load_loaded(struct polset *ps, const char *name, struct ydocs *docs, int err)
{
	if (err == -ENOMEM) {
		diag_add(&ps->diags, DIAG_ERROR, name, 0, 0, NULL, NULL, "out of memory");
	} else {
		int e = polset_load_docs(ps, docs);	/* documents before a syntax error still load */

		if (e < 0)
			err = e;
	}
	ydocs_free(docs);
	return err == -EINVAL ? 0 : err;
}

static struct ydoc_limits
polset_ydoc_limits(const struct polset *ps)
{
	return (struct ydoc_limits){
		.max_bytes = ps->limits.max_file_bytes,
		.max_nodes = ps->limits.max_nodes,
		.max_depth = ps->limits.max_depth < YDOC_DEPTH_CEILING ? ps->limits.max_depth :
									 YDOC_DEPTH_CEILING,
	};
}

int
polset_load_buffer(struct polset *ps, const char *name, const char *buf, size_t len)
{
	struct ydoc_limits lim = polset_ydoc_limits(ps);
	struct ydocs docs;
	int err;

	if (source_note(ps, name, buf, len) < 0) {
		diag_add(&ps->diags, DIAG_ERROR, name, 0, 0, NULL, NULL, "out of memory");
		return -ENOMEM;
	}
	err = ydocs_load(&docs, name, buf, len, &lim, &ps->diags);
	return polset_load_loaded(ps, name, &docs, err);
}

int
polset_load_sources(struct polset *ps, const struct polsrc *v, size_t n)
{
	int err = 0;

	for (size_t i = 0; i < n && err != -ENOMEM; i++) {
		int e = polset_load_buffer(ps, v[i].name, v[i].text, v[i].len);

		if (e < 0 && err == 0)
			err = e;
		if (e == -ENOMEM)
			err = e;
	}
	return err;
}

/* A file: only a regular one (a symbolic link to one is fine), read without
 * blocking, at most max_file_bytes of it (ydocs_read_file). */
static int
polset_load_file(struct polset *ps, const char *path)
{
	struct ydoc_limits lim = polset_ydoc_limits(ps);
	char *buf = NULL;
	size_t len = 0;
	int err = ydocs_read_file(path, &lim, &buf, &len, &ps->diags);

	if (err < 0) {		/* recorded; loaded as a stream with no document */
		struct ydocs none = { .file = strdup(path) };

		return polset_load_loaded(ps, path, &none, none.file != NULL ? err : -ENOMEM);
	}
	err = polset_load_buffer(ps, path, buf, len);
	free(buf);
	return err;
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

/* The policy files of directory @path, sorted, into *@names: 0 or -errno. */
static int
policy_dir_list(const char *path, char ***names, size_t *n)
{
	const char *sep = path[strlen(path) - 1] == '/' ? "" : "/";
	struct dirent *de;
	size_t cap = 0;
	DIR *dir;
	int err = 0;

	*names = NULL;
	*n = 0;
	dir = opendir(path);
	if (dir == NULL)
		return -errno;
	while ((de = readdir(dir)) != NULL) {
		if (!policy_file_name(de->d_name))
			continue;
		err = ARRAY_PUSH_ROOM(*names, cap, *n);
		if (err < 0)
			break;
		if (asprintf(&(*names)[*n], "%s%s%s", path, sep, de->d_name) < 0) {
			err = -ENOMEM;
			break;
		}
		(*n)++;
	}
	closedir(dir);
	if (err == 0 && *n > 1)
		qsort(*names, *n, sizeof(**names), cmp_names);
	return err;
}

int
polset_load_path(struct polset *ps, const char *path)
{
	struct stat st;
	char **names;
	size_t n, i;
	bool listed;
	int err;

	if (stat(path, &st) < 0) {
		err = -errno;
		diag_add(&ps->diags, DIAG_ERROR, path, 0, 0, NULL, NULL, "cannot read: %s",
			 strerror(errno));
		return err;
	}
	if (!S_ISDIR(st.st_mode))
		return polset_load_file(ps, path);
	err = policy_dir_list(path, &names, &n);
	if (err < 0)
		diag_add(&ps->diags, DIAG_ERROR, path, 0, 0, NULL, NULL, "cannot read: %s",
			 strerror(-err));
	listed = err == 0;
	for (i = 0; listed && i < n; i++) {
		int e = polset_load_file(ps, names[i]);

		if (e < 0 && err == 0)
			err = e;	/* the first problem; the other files still load */
		if (e == -ENOMEM) {
			err = e;	/* out of memory: stop */
			break;
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}
