/*
 * decode.h - the policy decoder's private header: the state of one load
 * (struct dctx), the helpers that turn YAML nodes into values with
 * diagnostics (decode.c), and the functions the per-kind files of
 * control/policy/ call in one another. Nothing outside control/policy/
 * includes it; the public model is model.h.
 *
 *   polset.c       the set: init/free, add, load file/buffer/path, dispatch
 *   decode.c       dctx helpers: diagnostics, field paths, scalars, selectors
 *   meta.c         metadata: name, namespace, labels, the v1 annotation
 *   policy.c       GlobalNetworkPolicy / StagedGlobalNetworkPolicy specs
 *   rule.c         rules: action, protocol, ICMP, ipVersion, port checks
 *   entity.c       a rule's source/destination: nets, selectors, ports
 *   hostendpoint.c netset.c tier.c felixcfg.c failsafe.c   the other kinds
 *
 * Allocation failure while decoding is recorded with dnomem(): the object
 * being built is dropped (dfailed() turns true), no further object is
 * decoded, and polset_load_* return -ENOMEM. Control thread only.
 */
#ifndef NFQWALL_DECODE_H
#define NFQWALL_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "ydoc.h"

struct dctx {
	struct polset *ps;
	struct ydoc *y;
	const char *file;		/* interned */
	char object[320];		/* "Kind/name" */
	char path[512];			/* field path being decoded */
	size_t plen;
	size_t nerr0;			/* ps->diags.nerr when the object started */
	enum api_form form;
	int err;			/* 0, or -ENOMEM once an allocation failed */
	size_t nobjects;		/* objects of this file so far (max_objects) */
	bool stop;			/* a limit was hit: decode nothing more of this file */
};

/* derr / dwarn - a diagnostic at @n (may be NULL) for the current object and field. */
void derr(struct dctx *c, const yaml_node_t *n, const char *fmt, ...) __printf(3, 4);
void dwarn(struct dctx *c, const yaml_node_t *n, const char *fmt, ...) __printf(3, 4);

/* dnomem - an allocation failed: record "out of memory" (once per load) and
 * set c->err, so the current object is dropped and the load stops. */
void dnomem(struct dctx *c);

/* dstrdup - strdup(@s), or NULL after dnomem(). */
char *dstrdup(struct dctx *c, const char *s);

/* dcalloc - calloc(@n, @size), or NULL after dnomem(); NULL without an error
 * when @n is 0 (nothing to hold). */
void *dcalloc(struct dctx *c, size_t n, size_t size);

/* dpath_push - append ".key" or "[i]" style text to the field path; returns the length to pop to. */
size_t dpath_push(struct dctx *c, const char *fmt, ...) __printf(2, 3);

/* dpath_pop - cut the field path back to @len (a dpath_push result). */
static inline void
dpath_pop(struct dctx *c, size_t len)
{
	c->plen = len;
	c->path[len] = '\0';
}

/* dfailed - has the current object recorded an error, or run out of memory? */
static inline bool
dfailed(const struct dctx *c)
{
	return c->err != 0 || c->ps->diags.nerr != c->nerr0;
}

/* dfields - warn about keys of @map not in the NULL-terminated @known list. */
void dfields(struct dctx *c, const yaml_node_t *map, const char *const *known);

/* dget - the value of @key in @map (NULL when absent or null). */
yaml_node_t *dget(struct dctx *c, const yaml_node_t *map, const char *key);

/* dstr - a scalar string value, or NULL with an error when @n is not a scalar. */
const char *dstr(struct dctx *c, const yaml_node_t *n, const char *what);

/* dbool - true/false; an error (and false) otherwise. */
bool dbool(struct dctx *c, const yaml_node_t *n);

/* dnumber - a finite number; false with an error otherwise. */
bool dnumber(struct dctx *c, const yaml_node_t *n, double *out);

/* dseq - @n is a sequence (true), or an error naming @what (false). */
bool dseq(struct dctx *c, const yaml_node_t *n, const char *what);

/* dmap - @n is a mapping (true), or an error (false). */
bool dmap(struct dctx *c, const yaml_node_t *n, const char *what);

/* dselector - parse a selector string; on error report its column and return NULL.
 * Sets *ok = false on error (also when out of memory, after dnomem()). */
struct selector *dselector(struct dctx *c, const yaml_node_t *n, bool *ok);

/* dselector_fixed - parse a selector nfqwall writes itself ("all()"); NULL
 * only when out of memory (after dnomem()). */
struct selector *dselector_fixed(struct dctx *c, const char *text);

/* parse_u32 - a whole decimal number in [0, max]; false otherwise. */
bool parse_u32(const char *s, uint32_t max, uint32_t *out);

/* ---- objects (polset.c) ----------------------------------------------------- */

/* The kinds of object a polset holds, one array each. */
enum obj_kind {
	OBJ_POLICY,
	OBJ_HEP,
	OBJ_NETSET,
	OBJ_TIER,
	OBJ_FELIXCFG,
	OBJ_KCCFG,
};

/*
 * polset_add - hand a fully decoded @obj of @kind to the set, which owns it
 * from then on. A second object with the same kind, namespace and name
 * replaces the first, with a warning naming both places. When out of
 * memory, @obj is freed and dnomem() recorded.
 */
void polset_add(struct dctx *c, enum obj_kind kind, void *obj);

/* ---- metadata (meta.c) --------------------------------------------------------- */

/* What every kind shares: the decoder moves the strings it keeps out of it. */
struct meta {
	char *name;
	char *ns;
	struct labels labels;
};

/* decode_meta - read @obj's metadata into @m (always initialised: free it with
 * meta_free) and name the current object "@kind/name". @namespaced: a
 * missing namespace is "default". False when the object is invalid. */
bool decode_meta(struct dctx *c, const yaml_node_t *obj, const char *kind, struct meta *m,
		 bool namespaced);

/* meta_free - release what the decoder did not take. */
void meta_free(struct meta *m);

/* ---- the kinds: each decodes one object, then polset_add()s or frees it ---------- */

/* decode_policy - a GlobalNetworkPolicy, or a StagedGlobalNetworkPolicy when @staged (policy.c). */
void decode_policy(struct dctx *c, const yaml_node_t *obj, struct meta *m, bool staged);

/* decode_hep - a HostEndpoint (hostendpoint.c). */
void decode_hep(struct dctx *c, const yaml_node_t *obj, struct meta *m);

/* decode_netset - a GlobalNetworkSet (@global) or a NetworkSet (netset.c). */
void decode_netset(struct dctx *c, const yaml_node_t *obj, struct meta *m, bool global);

/* decode_tier - a Tier (tier.c). */
void decode_tier(struct dctx *c, const yaml_node_t *obj, struct meta *m);

/* decode_felixcfg - a FelixConfiguration's failsafe port lists (felixcfg.c). */
void decode_felixcfg(struct dctx *c, const yaml_node_t *obj, struct meta *m);

/* decode_kccfg - a KubeControllersConfiguration's auto host endpoint settings (kccfg.c). */
void decode_kccfg(struct dctx *c, const yaml_node_t *obj, struct meta *m);

/* decode_labels - the labels mapping @map (NULL: none) into the empty @out (meta.c). */
void decode_labels(struct dctx *c, const yaml_node_t *map, struct labels *out);

/* decode_failsafe_list - a list of {protocol, port, net} into @l (failsafe.c). */
void decode_failsafe_list(struct dctx *c, const yaml_node_t *n, struct failsafe_list *l);

/* decode_rules - the rule list @n of one direction into *@out; the number
 * decoded (rule.c). */
size_t decode_rules(struct dctx *c, const yaml_node_t *n, const char *field, struct rule **out,
		    bool ingress);

/* decode_entity - a rule's source or destination @n into @e (entity.c). */
void decode_entity(struct dctx *c, const yaml_node_t *n, struct entity *e);

/* decode_plain_selector - a selector that may not use global() (only a rule's
 * namespaceSelector may); NULL when absent or invalid (entity.c). */
struct selector *decode_plain_selector(struct dctx *c, const yaml_node_t *n);

/* ---- names (hostendpoint.c, rule.c) ------------------------------------------- */

/* valid_port_name - an IANA service name: at most 15 of [a-z0-9-], one letter at least. */
bool valid_port_name(const char *s);

/*
 * proto_from_name - a protocol name (case-sensitive, as Calico's validator
 * wants) or a number 1..255 as text. 0 when neither; *lowercase tells when
 * the name is right but the case is not.
 */
uint8_t proto_from_name(const char *s, bool *lowercase);

/* ---- freeing ----------------------------------------------------------------- */

/* rule_free / entity_free - release what a rule or entity holds (not itself). */
void rule_free(struct rule *r);
void entity_free(struct entity *e);

/* policy_free ... felixcfg_free - release one object and all it holds; NULL is a no-op. */
void policy_free(struct policy *p);
void hep_free(struct hep *h);
void netset_free(struct netset *n);
void tier_free(struct tier *t);
void felixcfg_free(struct felixcfg *f);
void kccfg_free(struct kccfg *k);

#endif /* NFQWALL_DECODE_H */
