/*
 * selector.c - Calico label selectors: parse, evaluate, rewrite, print.
 *
 * Control thread only. A selector is one immutable malloc'd block holding
 *   - a flat array of nodes in prefix order: an operator node is followed
 *     by its operands, and every node records the size of its subtree, so
 *     the next operand is found by skipping forward (no pointers);
 *   - the members of every "in" set, as sorted, deduplicated offsets;
 *   - a pool of NUL-terminated keys and values.
 * Evaluation walks that array and never allocates.
 *
 * The parser is a recursive descent over a lazy tokenizer that follows
 * calico-semantics.md §6 exactly (word operators only right after a label
 * key, functions glued to their '(', only space and tab as whitespace).
 * Consecutive '!' collapse by parity and "!(!x)" becomes x, so a NOT never
 * has a NOT operand: printing and re-parsing give back the same tree.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"

#define SEL_KEY_MAX	512		/* longest label key (§6.1) */
#define SEL_DEPTH_MAX	256		/* deepest parenthesis nesting we accept */
#define SEL_TEXT_MAX	(1u << 28)	/* keeps every offset well inside uint32_t */

enum sel_op {
	SEL_ALL,
	SEL_GLOBAL,
	SEL_HAS,
	SEL_EQ,
	SEL_NE,
	SEL_CONTAINS,
	SEL_STARTS,
	SEL_ENDS,
	SEL_IN,
	SEL_NOTIN,
	SEL_NOT,
	SEL_AND,
	SEL_OR,
};

struct sel_node {
	uint32_t op;		/* enum sel_op */
	uint32_t size;		/* nodes in this subtree, this one included */
	uint32_t key;		/* leaf: key offset in str; AND/OR: number of operands */
	uint32_t val;		/* EQ..ENDS: value offset in str; IN/NOTIN: first index in set */
	uint32_t len;		/* EQ..ENDS: value length; IN/NOTIN: number of members */
};

struct selector {
	uint32_t nnodes;
	uint32_t nset;
	uint32_t nstr;
	const uint32_t *set;	/* offsets in str, sorted by value within each set */
	const char *str;
	struct sel_node node[];	/* then set[nset], then str[nstr] */
};

/* Growable arrays a selector is built in before being packed. */
struct sel_buf {
	struct sel_node *node;
	size_t nnodes, capnodes;
	uint32_t *set;
	size_t nset, capset;
	char *str;
	size_t nstr, capstr;
};

static bool
sel_op_has_key(uint32_t op)
{
	return op >= SEL_HAS && op <= SEL_NOTIN;
}

/* ---- building ---------------------------------------------------------- */

/* Make room for @need elements of @elem bytes; returns the (maybe moved)
 * array or NULL, leaving @p valid on failure. */
static void *
sel_buf_reserve(void *p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *np;

	if (need <= *cap)
		return p;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return NULL;
		ncap *= 2;
	}
	np = realloc(p, ncap * elem);
	if (np != NULL)
		*cap = ncap;
	return np;
}

static void
sel_buf_free(struct sel_buf *b)
{
	free(b->node);
	free(b->set);
	free(b->str);
}

/* Append a leaf-sized node; its subtree size is fixed up by the caller. */
static int
sel_buf_node(struct sel_buf *b, uint32_t op, uint32_t key, uint32_t val, uint32_t len)
{
	struct sel_node *n;

	if (b->nnodes >= UINT32_MAX - 1)
		return -ENOMEM;
	n = sel_buf_reserve(b->node, &b->capnodes, b->nnodes + 1, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	b->node = n;
	n[b->nnodes++] = (struct sel_node){ op, 1, key, val, len };
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
	p = sel_buf_reserve(b->str, &b->capstr, b->nstr + na + ns + 1, 1);
	if (p == NULL)
		return -ENOMEM;
	b->str = p;
	memcpy(p + b->nstr, a, na);
	memcpy(p + b->nstr + na, s, ns);
	p[b->nstr + na + ns] = '\0';
	*off = (uint32_t)b->nstr;
	b->nstr += na + ns + 1;
	return 0;
}

static int
sel_buf_str(struct sel_buf *b, const char *s, size_t n, uint32_t *off)
{
	return sel_buf_str2(b, "", 0, s, n, off);
}

static int
sel_buf_member(struct sel_buf *b, uint32_t off)
{
	uint32_t *p;

	if (b->nset >= UINT32_MAX - 1)
		return -ENOMEM;
	p = sel_buf_reserve(b->set, &b->capset, b->nset + 1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	b->set = p;
	p[b->nset++] = off;
	return 0;
}

/* Drop node @at; its operands (if any) take its place. */
static void
sel_buf_remove(struct sel_buf *b, size_t at)
{
	memmove(&b->node[at], &b->node[at + 1], (b->nnodes - at - 1) * sizeof(b->node[0]));
	b->nnodes--;
}

/* Put a NOT in front of the subtree that starts at @at. */
static int
sel_buf_insert_not(struct sel_buf *b, size_t at)
{
	int err = sel_buf_node(b, SEL_NOT, 0, 0, 0);

	if (err < 0)
		return err;
	memmove(&b->node[at + 1], &b->node[at], (b->nnodes - at - 1) * sizeof(b->node[0]));
	b->node[at] = (struct sel_node){ SEL_NOT, (uint32_t)(b->nnodes - at), 0, 0, 0 };
	return 0;
}

/* Close the AND/OR reserved at @at with @count operands: a single operand
 * replaces its group, as Calico's parser does. */
static void
sel_buf_close(struct sel_buf *b, size_t at, uint32_t count)
{
	if (count == 1) {
		sel_buf_remove(b, at);
		return;
	}
	b->node[at].key = count;
	b->node[at].size = (uint32_t)(b->nnodes - at);
}

static int
sel_member_cmp(const void *x, const void *y, void *pool)
{
	const char *str = pool;

	return strcmp(str + *(const uint32_t *)x, str + *(const uint32_t *)y);
}

/* Sort and deduplicate set[first..]; returns the member count. */
static uint32_t
sel_buf_sort_set(struct sel_buf *b, size_t first)
{
	size_t n = b->nset - first, i, j;
	uint32_t *m = b->set + first;

	if (n == 0)
		return 0;
	qsort_r(m, n, sizeof(*m), sel_member_cmp, b->str);
	for (i = 1, j = 1; i < n; i++)
		if (strcmp(b->str + m[i], b->str + m[j - 1]) != 0)
			m[j++] = m[i];
	b->nset = first + j;
	return (uint32_t)j;
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
static struct selector *
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

/* ---- tokenizer --------------------------------------------------------- */

enum sel_tok {
	TOK_EOF,
	TOK_LABEL,
	TOK_STRING,
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_LBRACE,
	TOK_RBRACE,
	TOK_COMMA,
	TOK_NOT,
	TOK_AND,
	TOK_OR,
	TOK_EQ,
	TOK_NE,
	TOK_CONTAINS,
	TOK_STARTS,
	TOK_ENDS,
	TOK_IN,
	TOK_NOTIN,
	TOK_HAS,
	TOK_ALL,
	TOK_GLOBAL,
};

static const char *const sel_tok_names[] = {
	[TOK_EOF] = "end of selector",
	[TOK_LABEL] = "label key",
	[TOK_STRING] = "string literal",
	[TOK_LPAREN] = "'('",
	[TOK_RPAREN] = "')'",
	[TOK_LBRACE] = "'{'",
	[TOK_RBRACE] = "'}'",
	[TOK_COMMA] = "','",
	[TOK_NOT] = "'!'",
	[TOK_AND] = "'&&'",
	[TOK_OR] = "'||'",
	[TOK_EQ] = "'=='",
	[TOK_NE] = "'!='",
	[TOK_CONTAINS] = "'contains'",
	[TOK_STARTS] = "'starts with'",
	[TOK_ENDS] = "'ends with'",
	[TOK_IN] = "'in'",
	[TOK_NOTIN] = "'not in'",
	[TOK_HAS] = "has()",
	[TOK_ALL] = "all()",
	[TOK_GLOBAL] = "global()",
};

struct sel_parser {
	const char *text;
	const char *p;			/* next byte to scan */
	enum sel_tok tok;		/* current token */
	const char *start;		/* its first byte */
	const char *s;			/* key or literal text of the current token */
	size_t n;			/* and its length */
	int depth;			/* open parentheses */
	struct sel_buf b;
	struct selector_error *err;
};

static bool
sel_is_key_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '/' || c == '-';
}

static const char *
sel_skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static __printf(3, 4) int
sel_fail(struct sel_parser *ps, const char *at, const char *fmt, ...)
{
	va_list ap;

	if (ps->err == NULL)
		return -EINVAL;
	ps->err->col = (int)(at - ps->text) + 1;
	va_start(ap, fmt);
	vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "expected X, found <current token>" at the current token. */
static int
sel_fail_tok(struct sel_parser *ps, const char *expected)
{
	if (ps->tok == TOK_LABEL)
		return sel_fail(ps, ps->start, "expected %s, found label key '%.*s%s'", expected,
				ps->n > 24 ? 24 : (int)ps->n, ps->s, ps->n > 24 ? "..." : "");
	return sel_fail(ps, ps->start, "expected %s, found %s", expected, sel_tok_names[ps->tok]);
}

/* Scan a label key at @p; sets ps->s/n and returns the byte after it. */
static const char *
sel_scan_key(struct sel_parser *ps, const char *p)
{
	const char *q = p;

	while (sel_is_key_char((unsigned char)*q))
		q++;
	ps->s = p;
	ps->n = (size_t)(q - p);
	return q;
}

/* After a label key: contains, starts with, ends with, in, not in, with any
 * space/tab between two words and a word boundary after the last one. */
static bool
sel_scan_word_op(struct sel_parser *ps, const char *p)
{
	static const struct {
		const char *w1, *w2;
		enum sel_tok tok;
	} ops[] = {
		{ "contains", NULL, TOK_CONTAINS },
		{ "starts", "with", TOK_STARTS },
		{ "ends", "with", TOK_ENDS },
		{ "in", NULL, TOK_IN },
		{ "not", "in", TOK_NOTIN },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		size_t l1 = strlen(ops[i].w1);
		const char *q = p + l1;

		if (strncmp(p, ops[i].w1, l1) != 0)
			continue;
		if (ops[i].w2 != NULL) {
			q = sel_skip_ws(q);
			if (strncmp(q, ops[i].w2, strlen(ops[i].w2)) != 0)
				continue;
			q += strlen(ops[i].w2);
		}
		if (sel_is_key_char((unsigned char)*q))
			continue;
		ps->tok = ops[i].tok;
		ps->p = q;
		return true;
	}
	return false;
}

/* has(key), all(), global(): the name is glued to '('; @p is just past it. */
static int
sel_scan_func(struct sel_parser *ps, const char *p, enum sel_tok tok)
{
	const char *name = sel_tok_names[tok];

	p = sel_skip_ws(p);
	if (tok == TOK_HAS) {
		if (!sel_is_key_char((unsigned char)*p))
			return sel_fail(ps, p, "expected a label key inside has()");
		p = sel_scan_key(ps, p);
		if (ps->n > SEL_KEY_MAX)
			return sel_fail(ps, ps->s, "label key longer than %d characters", SEL_KEY_MAX);
		p = sel_skip_ws(p);
	}
	if (*p != ')')
		return sel_fail(ps, p, "expected ')' to close %.*s", (int)strlen(name) - 1, name);
	ps->tok = tok;
	ps->p = p + 1;
	return 0;
}

static int
sel_next(struct sel_parser *ps)
{
	enum sel_tok prev = ps->tok;
	const char *p = sel_skip_ws(ps->p);
	const char *q;
	unsigned char c = (unsigned char)*p;

	ps->start = p;
	ps->p = p + 1;
	switch (c) {
	case '\0':
		ps->tok = TOK_EOF;
		ps->p = p;
		return 0;
	case '(':
		ps->tok = TOK_LPAREN;
		return 0;
	case ')':
		ps->tok = TOK_RPAREN;
		return 0;
	case '{':
		ps->tok = TOK_LBRACE;
		return 0;
	case '}':
		ps->tok = TOK_RBRACE;
		return 0;
	case ',':
		ps->tok = TOK_COMMA;
		return 0;
	case '"':
	case '\'':
		q = strchr(p + 1, c);
		if (q == NULL)
			return sel_fail(ps, p, "unterminated string literal");
		ps->tok = TOK_STRING;
		ps->s = p + 1;
		ps->n = (size_t)(q - p - 1);
		ps->p = q + 1;
		return 0;
	case '!':
		ps->tok = TOK_NOT;
		if (p[1] == '=') {
			ps->tok = TOK_NE;
			ps->p = p + 2;
		}
		return 0;
	case '=':
	case '&':
	case '|':
		if (p[1] != c)
			return sel_fail(ps, p, "single '%c' is not an operator (did you mean '%c%c'?)",
					c, c, c);
		ps->tok = c == '=' ? TOK_EQ : c == '&' ? TOK_AND : TOK_OR;
		ps->p = p + 2;
		return 0;
	case '\n':
		return sel_fail(ps, p, "expected identifier, found a newline "
				"(only spaces and tabs may separate tokens)");
	case '\r':
		return sel_fail(ps, p, "expected identifier, found a carriage return "
				"(only spaces and tabs may separate tokens)");
	default:
		break;
	}
	if (!sel_is_key_char(c)) {
		if (c >= 0x20 && c < 0x7f)
			return sel_fail(ps, p, "unexpected character '%c' (label keys use "
					"A-Z a-z 0-9 _ . / -)", c);
		return sel_fail(ps, p, "unexpected byte 0x%02x", c);
	}
	if (prev == TOK_LABEL && sel_scan_word_op(ps, p))
		return 0;
	if (strncmp(p, "has(", 4) == 0)
		return sel_scan_func(ps, p + 4, TOK_HAS);
	if (strncmp(p, "all(", 4) == 0)
		return sel_scan_func(ps, p + 4, TOK_ALL);
	if (strncmp(p, "global(", 7) == 0)
		return sel_scan_func(ps, p + 7, TOK_GLOBAL);
	ps->p = sel_scan_key(ps, p);
	if (ps->n > SEL_KEY_MAX)
		return sel_fail(ps, p, "label key longer than %d characters", SEL_KEY_MAX);
	ps->tok = TOK_LABEL;
	return 0;
}

/* ---- parser ------------------------------------------------------------ */

static int sel_parse_or(struct sel_parser *ps);

/* key "in" set: the current token is the '{'. */
static int
sel_parse_set(struct sel_parser *ps, uint32_t op, uint32_t key)
{
	size_t first = ps->b.nset;
	uint32_t off, count;
	int err;

	if (ps->tok != TOK_LBRACE)
		return sel_fail_tok(ps, op == SEL_IN ? "'{' after 'in'" : "'{' after 'not in'");
	err = sel_next(ps);
	while (err == 0 && ps->tok != TOK_RBRACE) {
		if (ps->tok != TOK_STRING)
			return sel_fail_tok(ps, "a string literal or '}' in set");
		err = sel_buf_str(&ps->b, ps->s, ps->n, &off);
		if (err == 0)
			err = sel_buf_member(&ps->b, off);
		if (err == 0)
			err = sel_next(ps);
		if (err == 0 && ps->tok == TOK_COMMA)
			err = sel_next(ps);
		else if (err == 0 && ps->tok != TOK_RBRACE)
			return sel_fail_tok(ps, "',' or '}' in set");
	}
	if (err < 0)
		return err;
	count = sel_buf_sort_set(&ps->b, first);
	err = sel_buf_node(&ps->b, op, key, (uint32_t)first, count);
	return err < 0 ? err : sel_next(ps);
}

/* key <op> literal | key [not] in set: the current token is the key. */
static int
sel_parse_term(struct sel_parser *ps)
{
	uint32_t key, val, op;
	enum sel_tok optok;
	int err;

	err = sel_buf_str(&ps->b, ps->s, ps->n, &key);
	if (err == 0)
		err = sel_next(ps);
	if (err < 0)
		return err;
	optok = ps->tok;
	switch (optok) {
	case TOK_EQ:
		op = SEL_EQ;
		break;
	case TOK_NE:
		op = SEL_NE;
		break;
	case TOK_CONTAINS:
		op = SEL_CONTAINS;
		break;
	case TOK_STARTS:
		op = SEL_STARTS;
		break;
	case TOK_ENDS:
		op = SEL_ENDS;
		break;
	case TOK_IN:
	case TOK_NOTIN:
		err = sel_next(ps);
		if (err < 0)
			return err;
		return sel_parse_set(ps, optok == TOK_IN ? SEL_IN : SEL_NOTIN, key);
	default:
		/* "has (a)": a function name must touch its '(' */
		if (ps->tok == TOK_LPAREN &&
		    (strcmp(ps->b.str + key, "has") == 0 || strcmp(ps->b.str + key, "all") == 0 ||
		     strcmp(ps->b.str + key, "global") == 0))
			return sel_fail(ps, ps->start, "no space allowed between '%s' and '('",
					ps->b.str + key);
		return sel_fail_tok(ps, "'==', '!=', 'in', 'not in', 'contains', "
				    "'starts with' or 'ends with' after label key");
	}
	err = sel_next(ps);
	if (err < 0)
		return err;
	if (ps->tok != TOK_STRING) {
		char what[64];

		snprintf(what, sizeof(what), "a string literal after %s", sel_tok_names[optok]);
		return sel_fail_tok(ps, what);
	}
	err = sel_buf_str(&ps->b, ps->s, ps->n, &val);
	if (err == 0)
		err = sel_buf_node(&ps->b, op, key, val, (uint32_t)ps->n);
	return err < 0 ? err : sel_next(ps);
}

static int
sel_parse_primary(struct sel_parser *ps)
{
	uint32_t key;
	int err;

	switch (ps->tok) {
	case TOK_HAS:
		err = sel_buf_str(&ps->b, ps->s, ps->n, &key);
		if (err == 0)
			err = sel_buf_node(&ps->b, SEL_HAS, key, 0, 0);
		return err < 0 ? err : sel_next(ps);
	case TOK_ALL:
	case TOK_GLOBAL:
		err = sel_buf_node(&ps->b, ps->tok == TOK_ALL ? SEL_ALL : SEL_GLOBAL, 0, 0, 0);
		return err < 0 ? err : sel_next(ps);
	case TOK_LABEL:
		return sel_parse_term(ps);
	case TOK_LPAREN:
		if (++ps->depth > SEL_DEPTH_MAX)
			return sel_fail(ps, ps->start, "parentheses nested more than %d deep",
					SEL_DEPTH_MAX);
		err = sel_next(ps);
		if (err == 0)
			err = sel_parse_or(ps);
		if (err < 0)
			return err;
		if (ps->tok != TOK_RPAREN)
			return sel_fail_tok(ps, "')'");
		ps->depth--;
		return sel_next(ps);
	case TOK_STRING:
		return sel_fail(ps, ps->start, "expected a label key, found a string literal "
				"(a literal may only follow an operator)");
	default:
		return sel_fail_tok(ps, "a label key, has(), all(), global(), '!' or '('");
	}
}

static int
sel_parse_unary(struct sel_parser *ps)
{
	size_t at = ps->b.nnodes;
	bool negate = false;
	int err = 0;

	while (err == 0 && ps->tok == TOK_NOT) {
		negate = !negate;
		err = sel_next(ps);
	}
	if (err == 0)
		err = sel_parse_primary(ps);
	if (err < 0 || !negate)
		return err;
	if (ps->b.node[at].op == SEL_NOT) {
		sel_buf_remove(&ps->b, at);		/* !(!x) is x */
		return 0;
	}
	return sel_buf_insert_not(&ps->b, at);
}

/* and_expr or or_expr: @op is SEL_AND or SEL_OR. */
static int
sel_parse_group(struct sel_parser *ps, uint32_t op)
{
	size_t at = ps->b.nnodes;
	enum sel_tok sep = op == SEL_AND ? TOK_AND : TOK_OR;
	uint32_t count = 0;
	int err;

	err = sel_buf_node(&ps->b, op, 0, 0, 0);
	while (err == 0) {
		err = op == SEL_AND ? sel_parse_unary(ps) : sel_parse_group(ps, SEL_AND);
		if (err < 0)
			return err;
		count++;
		if (ps->tok != sep)
			break;
		err = sel_next(ps);
	}
	if (err < 0)
		return err;
	sel_buf_close(&ps->b, at, count);
	return 0;
}

static int
sel_parse_or(struct sel_parser *ps)
{
	return sel_parse_group(ps, SEL_OR);
}

int
selector_parse(const char *text, struct selector **out, struct selector_error *err)
{
	struct sel_parser ps = { .text = text, .p = text, .tok = TOK_EOF, .err = err };
	int ret;

	*out = NULL;
	if (err != NULL) {
		err->col = 0;
		err->msg[0] = '\0';
	}
	if (strlen(text) > SEL_TEXT_MAX)
		return sel_fail(&ps, text, "selector longer than %u bytes", SEL_TEXT_MAX);
	ret = sel_next(&ps);
	if (ret == 0 && ps.tok == TOK_EOF) {
		ret = sel_buf_node(&ps.b, SEL_ALL, 0, 0, 0);
	} else if (ret == 0) {
		ret = sel_parse_or(&ps);
		if (ret == 0 && ps.tok != TOK_EOF)
			ret = sel_fail_tok(&ps, "'&&', '||' or end of selector");
	}
	if (ret == 0) {
		*out = sel_buf_pack(&ps.b);
		if (*out == NULL)
			ret = -ENOMEM;
	}
	sel_buf_free(&ps.b);
	return ret;
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
