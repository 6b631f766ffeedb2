/*
 * decode.c - the decoder's helpers (decode.h): diagnostics that name the
 * current object and field, the field path, typed reads of YAML scalars,
 * selector parsing with a column inside the selector, and the checked
 * allocations that turn a failure into dnomem(). Control thread only.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

static void
dvdiag(struct dctx *c, enum diag_level lvl, const yaml_node_t *n, const char *fmt, va_list ap)
{
	size_t lost = c->ps->diags.nlost;

	if (c->err != 0)
		return;		/* after "out of memory", the rest is noise */
	diag_vadd(&c->ps->diags, lvl, c->file, ydoc_line(n), ydoc_col(n),
		  c->object[0] ? c->object : NULL, c->path, fmt, ap);
	if (c->ps->diags.nlost != lost)
		dnomem(c);	/* the record is lost: the load must say so */
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

void
dnomem(struct dctx *c)
{
	if (c->err == 0)	/* counted as an error even when it cannot be kept */
		diag_add(&c->ps->diags, DIAG_ERROR, c->file, 0, 0, c->object[0] ? c->object : NULL,
			 c->path, "out of memory");
	c->err = -ENOMEM;
}

char *
dstrdup(struct dctx *c, const char *s)
{
	char *copy = strdup(s);

	if (copy == NULL)
		dnomem(c);
	return copy;
}

void *
dcalloc(struct dctx *c, size_t n, size_t size)
{
	void *p;

	if (n == 0)
		return NULL;
	p = calloc(n, size);
	if (p == NULL)
		dnomem(c);
	return p;
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
		if (known[j] == NULL)
			dunknown(c, k, key);
	}
}

void
dunknown(struct dctx *c, const yaml_node_t *k, const char *key)
{
	size_t old = dpath_push(c, ".%s", key);

	if (c->ps->limits.allow_unknown_fields)
		dwarn(c, k, "unknown field (ignored: --allow-unknown-fields); check the spelling");
	else
		derr(c, k, "unknown field: Calico does not know it (check the spelling; "
			   "--allow-unknown-fields makes this a warning)");
	dpath_pop(c, old);
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

/* Selector text quoted in a message: whole when short, else the part around
 * column @col with "..." where it is cut (on character boundaries). */
#define SEL_QUOTE_MAX	120

static const char *
dselector_quote(const char *text, int col, char *buf, size_t size)
{
	size_t len = strlen(text), at = col > 0 ? (size_t)col - 1 : 0, from, to;

	if (len <= SEL_QUOTE_MAX)
		return text;
	from = at > SEL_QUOTE_MAX / 2 ? at - SEL_QUOTE_MAX / 2 : 0;
	if (from > len - SEL_QUOTE_MAX)
		from = len - SEL_QUOTE_MAX;
	to = from + SEL_QUOTE_MAX;
	while (from > 0 && ((unsigned char)text[from] & 0xc0) == 0x80)
		from--;
	while (to < len && ((unsigned char)text[to] & 0xc0) == 0x80)
		to--;
	snprintf(buf, size, "%s%.*s%s", from > 0 ? "..." : "", (int)(to - from), text + from,
		 to < len ? "..." : "");
	return buf;
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
		dnomem(c);
		*ok = false;
		return NULL;
	}
	if (err < 0) {
		/* Point at the column inside the selector when it is on one line. */
		int col = ydoc_col(n);
		bool plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		bool quoted = ydoc_is_quoted(n);
		yaml_node_t at = *n;
		char quote[SEL_QUOTE_MAX + 16];

		if (plain || quoted)
			at.start_mark.column = (size_t)(col - 1 + (quoted ? 1 : 0) + se.col - 1);
		/* the reason first, then the selector (around the column when long) */
		derr(c, &at, "invalid selector: %s (column %d of the selector) in \"%s\"", se.msg,
		     se.col, dselector_quote(text, se.col, quote, sizeof(quote)));
		*ok = false;
		return NULL;
	}
	return s;
}

struct selector *
dselector_fixed(struct dctx *c, const char *text)
{
	struct selector *s = NULL;

	if (selector_parse(text, &s, NULL) < 0) {
		dnomem(c);	/* our own text always parses */
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
