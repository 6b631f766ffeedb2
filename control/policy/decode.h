/*
 * decode.h - shared state and helpers for turning YAML nodes into the
 * policy model (policy.c, policy_rule.c). Private to control/.
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
};

/* derr / dwarn / dnote - a diagnostic at @n (may be NULL) for the current object and field. */
void derr(struct dctx *c, const yaml_node_t *n, const char *fmt, ...) __printf(3, 4);
void dwarn(struct dctx *c, const yaml_node_t *n, const char *fmt, ...) __printf(3, 4);

/* dpath_push - append ".key" or "[i]" style text to the field path; returns the length to pop to. */
size_t dpath_push(struct dctx *c, const char *fmt, ...) __printf(2, 3);
static inline void
dpath_pop(struct dctx *c, size_t len)
{
	c->plen = len;
	c->path[len] = '\0';
}

/* dfailed - has the current object recorded an error? */
static inline bool
dfailed(const struct dctx *c)
{
	return c->ps->diags.nerr != c->nerr0;
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
 * Sets *ok = false on error. */
struct selector *dselector(struct dctx *c, const yaml_node_t *n, bool *ok);

/* parse_u32 - a whole decimal number in [0, max]; false otherwise. */
bool parse_u32(const char *s, uint32_t max, uint32_t *out);

/* dgnp - decode a GlobalNetworkPolicy/StagedGlobalNetworkPolicy spec into @p (policy_rule.c). */
void dgnp(struct dctx *c, const yaml_node_t *spec, struct policy *p, bool staged);

/* policy_free / rule_free - release one policy or one rule's contents. */
void policy_free(struct policy *p);
void rule_free(struct rule *r);

#endif /* NFQWALL_DECODE_H */
