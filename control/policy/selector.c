/*
 * selector.c - Calico label selectors: evaluate, rewrite, print, query.
 *
 * Control thread only. A selector is one immutable malloc'd block (layout in
 * selector_int.h): a flat prefix-order node array, the sorted members of
 * every "in" set and a string pool. This file owns that representation: the
 * sel_buf builder and packer (shared with the parser in selector_parse.c),
 * selector_free, evaluation against a label map, the rewrites
 * selector_prefixed/selector_and, the queries, and canonical printing.
 * Evaluation walks the node array and never allocates.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "selector.h"
#include "selector_int.h"

static bool
sel_op_has_key(uint32_t op)
{
	return op >= SEL_HAS && op <= SEL_NOTIN;
}

/* ---- building ---------------------------------------------------------- */

void
sel_buf_free(struct sel_buf *b)
{
	free(b->node);
	free(b->set);
	free(b->str);
}

/* Append a leaf-sized node; its subtree size is fixed up by the caller. */
int
sel_buf_node(struct sel_buf *b, uint32_t op, uint32_t key, uint32_t val, uint32_t len)
{
	if (b->nnodes >= UINT32_MAX - 1)
		return -ENOMEM;
	if (ARRAY_PUSH_ROOM(b->node, b->capnodes, b->nnodes) < 0)
		return -ENOMEM;
	b->node[b->nnodes++] = (struct sel_node){ op, 1, key, val, len };
	return 0;
}

/* Append @a (@na bytes) then @s (@ns bytes) and a NUL to the string pool;
 * *off gets the offset of the result. */
static int
sel_buf_str2(struct sel_buf *b, const char *a, size_t na, const char *s, size_t ns,
	     uint32_t *off)
{
	char *p;

	if (na + ns >= UINT32_MAX - 1 - b->nstr)
		return -ENOMEM;
	if (array_reserve(&b->str, &b->capstr, b->nstr + na + ns + 1, 1) < 0)
		return -ENOMEM;
	p = b->str;
	memcpy(p + b->nstr, a, na);
	memcpy(p + b->nstr + na, s, ns);
	p[b->nstr + na + ns] = '\0';
	*off = (uint32_t)b->nstr;
	b->nstr += na + ns + 1;
	return 0;
}

int
sel_buf_str(struct sel_buf *b, const char *s, size_t n, uint32_t *off)
{
	return sel_buf_str2(b, "", 0, s, n, off);
}

int
sel_buf_member(struct sel_buf *b, uint32_t off)
{
	if (b->nset >= UINT32_MAX - 1)
		return -ENOMEM;
	if (ARRAY_PUSH_ROOM(b->set, b->capset, b->nset) < 0)
		return -ENOMEM;
	b->set[b->nset++] = off;
	return 0;
}

/* Append a copy of @s's tree, keys prefixed by @prefix, all() turned into
 * has(@all_key) when @all_key is set. */
static int
sel_buf_copy(struct sel_buf *b, const struct selector *s, const char *prefix,
	     const char *all_key)
{
	size_t np = strlen(prefix);
	int err = 0;

	for (uint32_t i = 0; i < s->nnodes && err == 0; i++) {
		struct sel_node n = s->node[i];

		if (n.op == SEL_ALL && all_key != NULL) {
			n.op = SEL_HAS;
			err = sel_buf_str(b, all_key, strlen(all_key), &n.key);
		} else if (sel_op_has_key(n.op)) {
			const char *key = s->str + n.key;

			err = sel_buf_str2(b, prefix, np, key, strlen(key), &n.key);
		}
		if (err == 0 && n.op >= SEL_EQ && n.op <= SEL_ENDS) {
			err = sel_buf_str(b, s->str + n.val, n.len, &n.val);
		} else if (err == 0 && (n.op == SEL_IN || n.op == SEL_NOTIN)) {
			uint32_t first = (uint32_t)b->nset, off;

			for (uint32_t k = 0; k < n.len && err == 0; k++) {
				const char *v = s->str + s->set[n.val + k];

				err = sel_buf_str(b, v, strlen(v), &off);
				if (err == 0)
					err = sel_buf_member(b, off);
			}
			n.val = first;
		}
		if (err == 0)
			err = sel_buf_node(b, n.op, n.key, n.val, n.len);
		if (err == 0)
			b->node[b->nnodes - 1].size = n.size;
	}
	return err;
}

/* One allocation holding everything; NULL on ENOMEM. */
struct selector *
sel_buf_pack(const struct sel_buf *b)
{
	size_t nodes = b->nnodes * sizeof(struct sel_node);
	size_t set = b->nset * sizeof(uint32_t);
	struct selector *s = malloc(sizeof(*s) + nodes + set + b->nstr);
	uint32_t *sp;
	char *str;

	if (s == NULL)
		return NULL;
	s->nnodes = (uint32_t)b->nnodes;
	s->nset = (uint32_t)b->nset;
	s->nstr = (uint32_t)b->nstr;
	sp = (uint32_t *)(void *)&s->node[b->nnodes];
	str = (char *)(sp + b->nset);
	if (nodes)
		memcpy(s->node, b->node, nodes);
	if (set)
		memcpy(sp, b->set, set);
	if (b->nstr)
		memcpy(str, b->str, b->nstr);
	s->set = sp;
	s->str = str;
	return s;
}

void
selector_free(struct selector *s)
{
	free(s);
}

/* ---- evaluation -------------------------------------------------------- */

static bool
sel_member(const struct selector *s, const struct sel_node *n, const char *v)
{
	const uint32_t *m = s->set + n->val;
	uint32_t lo = 0, hi = n->len;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->str + m[mid], v);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool
sel_eval(const struct selector *s, const struct sel_node *n, const struct labels *l)
{
	const struct sel_node *c = n + 1;
	const char *v;
	size_t vl;

	switch (n->op) {
	case SEL_ALL:
	case SEL_GLOBAL:
		return true;
	case SEL_NOT:
		return !sel_eval(s, c, l);
	case SEL_AND:
		for (uint32_t k = 0; k < n->key; k++, c += c->size)
			if (!sel_eval(s, c, l))
				return false;
		return true;
	case SEL_OR:
		for (uint32_t k = 0; k < n->key; k++, c += c->size)
			if (sel_eval(s, c, l))
				return true;
		return false;
	default:
		break;
	}
	v = labels_get(l, s->str + n->key);
	if (v == NULL)			/* absent: only != and not in hold */
		return n->op == SEL_NE || n->op == SEL_NOTIN;
	switch (n->op) {
	case SEL_HAS:
		return true;
	case SEL_EQ:
		return strcmp(v, s->str + n->val) == 0;
	case SEL_NE:
		return strcmp(v, s->str + n->val) != 0;
	case SEL_CONTAINS:
		return strstr(v, s->str + n->val) != NULL;
	case SEL_STARTS:
		return strncmp(v, s->str + n->val, n->len) == 0;
	case SEL_ENDS:
		vl = strlen(v);
		return vl >= n->len && memcmp(v + vl - n->len, s->str + n->val, n->len) == 0;
	case SEL_IN:
		return sel_member(s, n, v);
	case SEL_NOTIN:
		return !sel_member(s, n, v);
	default:
		return false;
	}
}

bool
selector_match(const struct selector *s, const struct labels *l)
{
	return sel_eval(s, &s->node[0], l);
}

/* ---- rewriting and queries --------------------------------------------- */

struct selector *
selector_prefixed(const struct selector *s, const char *prefix, const char *all_key)
{
	struct sel_buf b = { 0 };
	struct selector *out = NULL;

	if (sel_buf_copy(&b, s, prefix, all_key) == 0)
		out = sel_buf_pack(&b);
	sel_buf_free(&b);
	return out;
}

struct selector *
selector_and(const struct selector *a, const struct selector *b)
{
	struct sel_buf buf = { 0 };
	struct selector *out = NULL;
	int err;

	err = sel_buf_node(&buf, SEL_AND, 2, 0, 0);
	if (err == 0)
		err = sel_buf_copy(&buf, a, "", NULL);
	if (err == 0)
		err = sel_buf_copy(&buf, b, "", NULL);
	if (err == 0) {
		buf.node[0].size = (uint32_t)buf.nnodes;
		out = sel_buf_pack(&buf);
	}
	sel_buf_free(&buf);
	return out;
}

bool
selector_uses_global(const struct selector *s)
{
	for (uint32_t i = 0; i < s->nnodes; i++)
		if (s->node[i].op == SEL_GLOBAL)
			return true;
	return false;
}

bool
selector_is_global(const struct selector *s)
{
	return s->node[0].op == SEL_GLOBAL;
}

bool
selector_is_all(const struct selector *s)
{
	return s->node[0].op == SEL_ALL;
}

void
selector_for_each_key(const struct selector *s, void (*fn)(const char *key, void *arg), void *arg)
{
	for (uint32_t i = 0; i < s->nnodes; i++)
		if (sel_op_has_key(s->node[i].op))
			fn(s->str + s->node[i].key, arg);
}

/* ---- printing ---------------------------------------------------------- */

struct sel_out {
	char *buf;
	size_t size;
	size_t len;			/* bytes the full text needs so far */
};

static void
sel_put(struct sel_out *o, const char *s, size_t n)
{
	if (o->len + 1 < o->size) {
		size_t room = o->size - 1 - o->len;

		memcpy(o->buf + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static void
sel_puts(struct sel_out *o, const char *s)
{
	sel_put(o, s, strlen(s));
}

/* Double quotes unless the value holds one (a value never holds both). */
static void
sel_put_value(struct sel_out *o, const char *v)
{
	const char *q = strchr(v, '"') != NULL ? "'" : "\"";

	sel_puts(o, q);
	sel_puts(o, v);
	sel_puts(o, q);
}

static void
sel_fmt(const struct selector *s, const struct sel_node *n, struct sel_out *o)
{
	static const char *const opname[] = {
		[SEL_EQ] = " == ",
		[SEL_NE] = " != ",
		[SEL_CONTAINS] = " contains ",
		[SEL_STARTS] = " starts with ",
		[SEL_ENDS] = " ends with ",
		[SEL_IN] = " in {",
		[SEL_NOTIN] = " not in {",
	};
	const struct sel_node *c = n + 1;

	switch (n->op) {
	case SEL_ALL:
		sel_puts(o, "all()");
		return;
	case SEL_GLOBAL:
		sel_puts(o, "global()");
		return;
	case SEL_HAS:
		sel_puts(o, "has(");
		sel_puts(o, s->str + n->key);
		sel_puts(o, ")");
		return;
	case SEL_NOT:
		sel_puts(o, "!");
		sel_fmt(s, c, o);
		return;
	case SEL_AND:
	case SEL_OR:
		sel_puts(o, "(");
		for (uint32_t k = 0; k < n->key; k++, c += c->size) {
			if (k > 0)
				sel_puts(o, n->op == SEL_AND ? " && " : " || ");
			sel_fmt(s, c, o);
		}
		sel_puts(o, ")");
		return;
	default:
		break;
	}
	sel_puts(o, s->str + n->key);
	sel_puts(o, opname[n->op]);
	if (n->op != SEL_IN && n->op != SEL_NOTIN) {
		sel_put_value(o, s->str + n->val);
		return;
	}
	for (uint32_t k = 0; k < n->len; k++) {
		if (k > 0)
			sel_puts(o, ", ");
		sel_put_value(o, s->str + s->set[n->val + k]);
	}
	sel_puts(o, "}");
}

size_t
selector_format(const struct selector *s, char *buf, size_t size)
{
	struct sel_out o = { buf, size, 0 };

	sel_fmt(s, &s->node[0], &o);
	if (size > 0)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len;
}
