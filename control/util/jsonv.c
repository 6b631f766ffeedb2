/*
 * jsonv.c - the strict, bounded JSON reader (see jsonv.h). A recursive
 * descent whose depth is bounded before it recurses. Control thread only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "hexdigit.h"
#include "jsonv.h"
#include "utf8.h"

struct jsonv_parser {
	struct jsonv *j;
	const unsigned char *s;
	size_t len;
	size_t pos;
	unsigned max_depth;
	struct jsonv_error *err;
};

static __printf(3, 4) int
jv_fail(struct jsonv_parser *p, size_t at, const char *fmt, ...)
{
	va_list ap;

	p->err->at = at;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void
jv_skip_ws(struct jsonv_parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

/* A new leaf node at the end of the array; its index in *@idx. */
static int
jv_node(struct jsonv_parser *p, enum jsonv_type type, size_t at, size_t *idx)
{
	struct jsonv *j = p->j;

	if (ARRAY_PUSH_ROOM(j->v, j->cap, j->n) < 0)
		return -ENOMEM;
	j->v[j->n] = (struct jsonv_node){ .type = type, .size = 1, .at = (uint32_t)at };
	*idx = j->n++;
	return 0;
}

static int
jv_pool_put(struct jsonv_parser *p, const void *bytes, size_t n)
{
	struct jsonv *j = p->j;

	if (array_reserve(&j->pool, &j->cappool, j->npool + n + 1, 1) < 0)
		return -ENOMEM;
	memcpy(j->pool + j->npool, bytes, n);
	j->npool += n;
	return 0;
}

static int
jv_hex4(struct jsonv_parser *p, size_t at, uint32_t *out)
{
	uint32_t v = 0;

	if (p->len - p->pos < 4)
		return jv_fail(p, at, "\\u needs four hex digits");
	for (int i = 0; i < 4; i++) {
		int d = hex_digit((unsigned char)p->s[p->pos++]);

		if (d < 0)
			return jv_fail(p, at, "\\u needs four hex digits");
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

/* \uXXXX (after the 'u'), a surrogate pair as one code point. */
static int
jv_escape_u(struct jsonv_parser *p, size_t at, uint32_t *cp)
{
	uint32_t lo;
	int err = jv_hex4(p, at, cp);

	if (err < 0)
		return err;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return jv_fail(p, at, "lone surrogate \\u%04x in a string", *cp);
	if (*cp >= 0xd800 && *cp <= 0xdbff) {
		if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
			return jv_fail(p, at, "lone surrogate \\u%04x in a string", *cp);
		p->pos += 2;
		err = jv_hex4(p, at, &lo);
		if (err < 0)
			return err;
		if (lo < 0xdc00 || lo > 0xdfff)
			return jv_fail(p, at, "lone surrogate \\u%04x in a string", *cp);
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (*cp == 0)
		return jv_fail(p, at, "\\u0000 (a NUL byte) in a string");
	return 0;
}

/* One escape sequence (after the backslash) into the pool. */
static int
jv_escape(struct jsonv_parser *p, size_t at)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	unsigned char buf[4];
	const char *e;
	uint32_t cp;
	int err;

	e = strchr(from, p->s[p->pos]);
	if (e != NULL && p->s[p->pos] != '\0') {
		p->pos++;
		return jv_pool_put(p, &to[e - from], 1);
	}
	if (p->s[p->pos] != 'u')
		return jv_fail(p, p->pos - 1, "invalid escape in a string");
	p->pos++;
	err = jv_escape_u(p, at, &cp);
	if (err < 0)
		return err;
	return jv_pool_put(p, buf, utf8_encode(cp, buf));
}

/* A string (the current byte is its '"') as a node. */
static int
jv_string(struct jsonv_parser *p, size_t *idx)
{
	size_t at = p->pos, start;
	int err;

	err = jv_node(p, JSONV_STRING, at, idx);
	if (err < 0)
		return err;
	p->j->v[*idx].text = (uint32_t)p->j->npool;
	start = p->j->npool;
	p->pos++;
	for (;;) {
		size_t run = p->pos, n;
		uint32_t cp;

		/* copy a run of plain bytes at once */
		while (p->pos < p->len && p->s[p->pos] >= 0x20 && p->s[p->pos] < 0x80 &&
		       p->s[p->pos] != '"' && p->s[p->pos] != '\\')
			p->pos++;
		err = jv_pool_put(p, p->s + run, p->pos - run);
		if (err < 0)
			return err;
		if (p->pos >= p->len)
			return jv_fail(p, at, "unterminated string");
		if (p->s[p->pos] == '"')
			break;
		if (p->s[p->pos] == '\\') {
			if (p->len - p->pos < 2)
				return jv_fail(p, at, "unterminated string");
			p->pos++;
			err = jv_escape(p, p->pos - 1);
		} else if (p->s[p->pos] < 0x20) {
			return jv_fail(p, p->pos, "control character 0x%02x in a string (write it as "
				       "an escape)", p->s[p->pos]);
		} else {
			n = utf8_decode(p->s + p->pos, p->len - p->pos, &cp);
			if (n == 0)
				return jv_fail(p, p->pos, "invalid UTF-8 in a string");
			err = jv_pool_put(p, p->s + p->pos, n);
			p->pos += n;
		}
		if (err < 0)
			return err;
	}
	p->pos++;
	p->j->pool[p->j->npool++] = '\0';	/* jv_pool_put keeps a byte for it */
	p->j->v[*idx].n = (uint32_t)(p->j->npool - start - 1);
	return 0;
}

static bool
jv_digit(const struct jsonv_parser *p)
{
	return p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9';
}

static int
jv_digits(struct jsonv_parser *p, size_t at)
{
	if (!jv_digit(p))
		return jv_fail(p, at, "invalid number");
	while (jv_digit(p))
		p->pos++;
	return 0;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
jv_number(struct jsonv_parser *p, size_t *idx)
{
	size_t at = p->pos;
	int err;

	if (p->s[p->pos] == '-')
		p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '0')
		p->pos++;
	else if ((err = jv_digits(p, at)) < 0)
		return err;
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		if ((err = jv_digits(p, at)) < 0)
			return err;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if ((err = jv_digits(p, at)) < 0)
			return err;
	}
	err = jv_node(p, JSONV_NUMBER, at, idx);
	if (err == 0) {
		p->j->v[*idx].text = (uint32_t)p->j->npool;
		p->j->v[*idx].n = (uint32_t)(p->pos - at);
		err = jv_pool_put(p, p->s + at, p->pos - at);
	}
	if (err == 0)
		p->j->pool[p->j->npool++] = '\0';
	return err;
}

static int
jv_literal(struct jsonv_parser *p, size_t *idx)
{
	static const struct {
		const char *word;
		enum jsonv_type type;
	} lits[] = { { "null", JSONV_NULL }, { "false", JSONV_FALSE }, { "true", JSONV_TRUE } };

	for (size_t i = 0; i < ARRAY_SIZE(lits); i++) {
		size_t n = strlen(lits[i].word);

		if (p->len - p->pos >= n && memcmp(p->s + p->pos, lits[i].word, n) == 0) {
			size_t at = p->pos;

			p->pos += n;
			return jv_node(p, lits[i].type, at, idx);
		}
	}
	return jv_fail(p, p->pos, "unexpected character");
}

static int
jv_key_cmp(const void *a, const void *b, void *arg)
{
	const struct jsonv *j = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c = strcmp(j->pool + j->v[x].text, j->pool + j->v[y].text);

	return c != 0 ? c : (x > y) - (x < y);
}

/* No key twice in the object at @obj: the later duplicate is the error. */
static int
jv_check_keys(struct jsonv_parser *p, size_t obj)
{
	const struct jsonv *j = p->j;
	uint32_t nm = j->v[obj].n, *keys, k = (uint32_t)obj + 1, dup = 0;

	if (nm < 2)
		return 0;
	keys = malloc(nm * sizeof(*keys));
	if (keys == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < nm; i++) {
		keys[i] = k;
		k += 1 + j->v[k + 1].size;	/* the key, then its value's subtree */
	}
	qsort_r(keys, nm, sizeof(*keys), jv_key_cmp, (void *)j);
	for (uint32_t i = 1; i < nm; i++)
		if (strcmp(j->pool + j->v[keys[i]].text, j->pool + j->v[keys[i - 1]].text) == 0 &&
		    (dup == 0 || keys[i] < dup))
			dup = keys[i];
	free(keys);
	if (dup != 0)
		return jv_fail(p, j->v[dup].at, "duplicate key \"%.40s\" in an object",
			       j->pool + j->v[dup].text);
	return 0;
}

static int jv_value(struct jsonv_parser *p, unsigned depth, size_t *idx);

/* An object or array (the current byte is its '{' or '['). */
static int
jv_container(struct jsonv_parser *p, unsigned depth, size_t *idx)
{
	bool obj = p->s[p->pos] == '{';
	unsigned char close = obj ? '}' : ']';
	size_t at = p->pos, child;
	uint32_t n = 0;
	int err;

	if (depth >= p->max_depth)
		return jv_fail(p, at, "nested deeper than %u levels", p->max_depth);
	err = jv_node(p, obj ? JSONV_OBJECT : JSONV_ARRAY, at, idx);
	if (err < 0)
		return err;
	p->pos++;
	jv_skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		jv_skip_ws(p);
		if (obj) {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return jv_fail(p, p->pos, "expected a string key in an object");
			err = jv_string(p, &child);
			if (err < 0)
				return err;
			jv_skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return jv_fail(p, p->pos, "expected ':' after a key");
			p->pos++;
		}
		err = jv_value(p, depth + 1, &child);
		if (err < 0)
			return err;
		n++;
		jv_skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close)
			break;
		return jv_fail(p, p->pos, "expected ',' or '%c'", close);
	}
	p->pos++;
	p->j->v[*idx].n = n;
	p->j->v[*idx].size = (uint32_t)(p->j->n - *idx);
	return obj ? jv_check_keys(p, *idx) : 0;
}

static int
jv_value(struct jsonv_parser *p, unsigned depth, size_t *idx)
{
	jv_skip_ws(p);
	if (p->pos >= p->len)
		return jv_fail(p, p->pos, "expected a value, found the end");
	switch (p->s[p->pos]) {
	case '{':
	case '[':
		return jv_container(p, depth, idx);
	case '"':
		return jv_string(p, idx);
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return jv_number(p, idx);
	default:
		return jv_literal(p, idx);
	}
}

int
jsonv_parse(struct jsonv *j, const char *text, size_t len, unsigned max_depth,
	    struct jsonv_error *err)
{
	struct jsonv_parser p = {
		.j = j, .s = (const unsigned char *)text, .len = len,
		.max_depth = max_depth < JSONV_DEPTH_MAX ? max_depth : JSONV_DEPTH_MAX, .err = err,
	};
	size_t root;
	int ret;

	memset(j, 0, sizeof(*j));
	err->at = 0;
	err->msg[0] = '\0';
	if (len >= UINT32_MAX / 2)
		return jv_fail(&p, 0, "larger than %u bytes", UINT32_MAX / 2);
	ret = jv_value(&p, 0, &root);
	if (ret == 0) {
		jv_skip_ws(&p);
		if (p.pos < p.len)
			ret = jv_fail(&p, p.pos, "text after the value");
	}
	if (ret < 0)
		jsonv_free(j);
	return ret;
}

void
jsonv_free(struct jsonv *j)
{
	free(j->v);
	free(j->pool);
	memset(j, 0, sizeof(*j));
}

const struct jsonv_node *
jsonv_get(const struct jsonv *j, const struct jsonv_node *obj, const char *key)
{
	const struct jsonv_node *k;

	if (obj == NULL || obj->type != JSONV_OBJECT)
		return NULL;
	k = obj + 1;
	for (uint32_t i = 0; i < obj->n; i++) {
		if (strcmp(jsonv_text(j, k), key) == 0)
			return k + 1;
		k = jsonv_next(k + 1);
	}
	return NULL;
}
