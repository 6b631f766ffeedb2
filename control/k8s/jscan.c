/*
 * jscan.c - JSON scanning without a tree (see jscan.h). Control threads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hexdigit.h"
#include "jscan.h"

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static const char *
string_end(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

const char *
jscan_value_end(const char *p, const char *end)
{
	int depth = 0;

	p = skip_ws(p, end);
	if (p >= end)
		return NULL;
	if (*p == '"')
		return string_end(p, end);
	if (*p != '{' && *p != '[') {
		/* number, true, false, null */
		const char *q = p;

		while (q < end && *q != ',' && *q != '}' && *q != ']' && *q != ' ' && *q != '\n' &&
		       *q != '\r' && *q != '\t')
			q++;
		return q > p ? q : NULL;
	}
	for (; p < end; p++) {
		if (*p == '"') {
			p = string_end(p, end);
			if (p == NULL)
				return NULL;
			p--;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			if (--depth == 0)
				return p + 1;
		}
	}
	return NULL;
}

/* Walk the members of an object; @fn gets the raw key span (without quotes). */
static bool
each_member(struct jspan obj, bool (*fn)(struct jspan key, struct jspan v, void *arg), void *arg)
{
	const char *p, *end;

	if (obj.p == NULL)
		return false;
	end = obj.p + obj.n;
	p = skip_ws(obj.p, end);
	if (p >= end || *p != '{')
		return false;
	p = skip_ws(p + 1, end);
	if (p < end && *p == '}')
		return true;
	while (p < end) {
		struct jspan key, val;
		const char *ke, *ve;

		if (*p != '"' || (ke = string_end(p, end)) == NULL)
			return false;
		key.p = p + 1;
		key.n = (size_t)(ke - p - 2);
		p = skip_ws(ke, end);
		if (p >= end || *p != ':')
			return false;
		p = skip_ws(p + 1, end);
		ve = jscan_value_end(p, end);
		if (ve == NULL)
			return false;
		val.p = p;
		val.n = (size_t)(ve - p);
		if (!fn(key, val, arg))
			return true;
		p = skip_ws(ve, end);
		if (p < end && *p == ',') {
			p = skip_ws(p + 1, end);
			continue;
		}
		return p < end && *p == '}';
	}
	return false;
}

struct get_ctx {
	const char *key;
	struct jspan found;
};

static bool
get_cb(struct jspan key, struct jspan v, void *arg)
{
	struct get_ctx *g = arg;
	size_t n = strlen(g->key);

	if (key.n == n && memcmp(key.p, g->key, n) == 0) {
		g->found = v;
		return false;
	}
	return true;
}

struct jspan
jscan_get(struct jspan obj, const char *key)
{
	struct get_ctx g = { key, { NULL, 0 } };

	each_member(obj, get_cb, &g);
	return g.found;
}

struct jspan
jscan_path(struct jspan obj, const char *path)
{
	char part[128];

	while (*path && obj.p) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (n >= sizeof(part))
			return (struct jspan){ NULL, 0 };
		memcpy(part, path, n);
		part[n] = '\0';
		obj = jscan_get(obj, part);
		path += n + (dot ? 1 : 0);
	}
	return obj;
}

bool
jscan_string(struct jspan v, char *buf, size_t size)
{
	const char *p, *end;
	size_t o = 0;

	if (v.p == NULL || v.n < 2 || v.p[0] != '"' || size == 0)
		return false;
	end = v.p + v.n - 1;
	for (p = v.p + 1; p < end; p++) {
		uint32_t cp = (unsigned char)*p;

		if (cp >= 0x80) {	/* raw UTF-8 (or not): the byte as it is */
			if (o + 1 >= size)
				return false;
			buf[o++] = *p;
			continue;
		}
		if (*p == '\\' && p + 1 < end) {
			p++;
			switch (*p) {
			case 'n': cp = '\n'; break;
			case 't': cp = '\t'; break;
			case 'r': cp = '\r'; break;
			case 'b': cp = '\b'; break;
			case 'f': cp = '\f'; break;
			case 'u':
				if (p + 4 >= end)
					return false;
				cp = 0;
				for (int i = 1; i <= 4; i++) {
					int h = hex_digit(p[i]);

					if (h < 0)
						return false;
					cp = cp << 4 | (uint32_t)h;
				}
				p += 4;
				break;
			default: cp = (unsigned char)*p; break;
			}
		}
		/* UTF-8 encode (surrogate pairs are kept as two 3-byte sequences) */
		if (cp < 0x80) {
			if (o + 1 >= size)
				return false;
			buf[o++] = (char)cp;
		} else if (cp < 0x800) {
			if (o + 2 >= size)
				return false;
			buf[o++] = (char)(0xc0 | cp >> 6);
			buf[o++] = (char)(0x80 | (cp & 0x3f));
		} else {
			if (o + 3 >= size)
				return false;
			buf[o++] = (char)(0xe0 | cp >> 12);
			buf[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			buf[o++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	buf[o] = '\0';
	return true;
}

bool
jscan_each(struct jspan arr, bool (*fn)(struct jspan item, void *arg), void *arg)
{
	const char *p, *end;

	if (arr.p == NULL)
		return false;
	end = arr.p + arr.n;
	p = skip_ws(arr.p, end);
	if (p >= end || *p != '[')
		return false;
	p = skip_ws(p + 1, end);
	if (p < end && *p == ']')
		return true;
	while (p < end) {
		const char *ve = jscan_value_end(p, end);

		if (ve == NULL)
			return false;
		if (!fn((struct jspan){ p, (size_t)(ve - p) }, arg))
			return false;
		p = skip_ws(ve, end);
		if (p < end && *p == ',') {
			p = skip_ws(p + 1, end);
			continue;
		}
		return p < end && *p == ']';
	}
	return false;
}

struct pair_ctx {
	bool (*fn)(const char *key, struct jspan v, void *arg);
	void *arg;
	bool ok;
};

static bool
pair_cb(struct jspan key, struct jspan v, void *arg)
{
	struct pair_ctx *c = arg;
	char k[512];
	struct jspan quoted = { key.p - 1, key.n + 2 };

	if (!jscan_string(quoted, k, sizeof(k)))
		return true;	/* skip keys we cannot hold */
	if (!c->fn(k, v, c->arg)) {
		c->ok = false;
		return false;
	}
	return true;
}

bool
jscan_each_pair(struct jspan obj, bool (*fn)(const char *key, struct jspan v, void *arg),
		void *arg)
{
	struct pair_ctx c = { fn, arg, true };

	return each_member(obj, pair_cb, &c) && c.ok;
}
