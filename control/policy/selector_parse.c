/*
 * selector_parse.c - Calico label selectors: tokenizer and parser
 * (selector_parse).
 *
 * Control thread only. A recursive descent over a lazy tokenizer that
 * follows docs/semantics.md §10 exactly (word operators only right after a
 * label key, functions glued to their '(', only space and tab as
 * whitespace). It builds the node array in a struct sel_buf and packs it
 * (selector_int.h). Consecutive '!' collapse by parity and "!(!x)" becomes
 * x, so a NOT never has a NOT operand: printing and re-parsing give back the
 * same tree.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"
#include "selector_int.h"

#define SEL_KEY_MAX	512		/* longest label key (§6.1) */
#define SEL_DEPTH_MAX	256		/* deepest parenthesis nesting we accept */
#define SEL_TEXT_MAX	(1u << 28)	/* keeps every offset well inside uint32_t */

/* ---- shaping the tree -------------------------------------------------- */

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
	uint32_t *m;

	if (n == 0)
		return 0;	/* "in {}": the set array may not exist yet (NULL + 0) */
	m = b->set + first;
	qsort_r(m, n, sizeof(*m), sel_member_cmp, b->str);
	for (i = 1, j = 1; i < n; i++)
		if (strcmp(b->str + m[i], b->str + m[j - 1]) != 0)
			m[j++] = m[i];
	b->nset = first + j;
	return (uint32_t)j;
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
