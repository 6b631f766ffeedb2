/*
 * jsoncheck.h - a strict JSON (RFC 8259) and UTF-8 (RFC 3629) checker for the
 * tests of what nfqwall writes: verdict-log lines, explain output, escaped
 * strings. Shared by tests/unit (test_json, test_vlog) and tests/fuzz
 * (fuzz_json). Written from the RFCs, independently of nfq/json.c: UTF-8 is
 * checked by decoding and then rejecting overlong forms, surrogates and code
 * points past U+10FFFF (json.c instead checks byte ranges).
 *
 * Everything is static inline and allocation-free.
 */
#ifndef NFQWALL_TEST_JSONCHECK_H
#define NFQWALL_TEST_JSONCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Decode one UTF-8 character at @p (@len > 0 bytes): its code point in *@cp
 * and its length, or 0 when the bytes there are not a well-formed character.
 */
static inline size_t
jc_utf8_char(const unsigned char *p, size_t len, uint32_t *cp)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n;
	uint32_t c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		c = p[0] & 0x1fu;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		c = p[0] & 0x0fu;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		c = p[0] & 0x07u;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3fu);
	}
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Is @s (@len bytes) valid UTF-8? */
static inline bool
jc_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;

	while (len > 0) {
		size_t n = jc_utf8_char(p, len, &cp);

		if (n == 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

/* @cp as UTF-8 at @out (4 bytes of room); its length. */
static inline size_t
jc_utf8_put(uint32_t cp, char *out)
{
	unsigned char *o = (unsigned char *)out;

	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A cursor over the text being checked. */
struct jc {
	const unsigned char *p;
	const unsigned char *end;
	int depth;
};

static inline void
jc_ws(struct jc *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static inline int
jc_hex(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Four hex digits after "\u"; -1 when they are not. */
static inline long
jc_u4(struct jc *c)
{
	long v = 0;

	if (c->end - c->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = jc_hex(c->p[i]);

		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	c->p += 4;
	return v;
}

/*
 * A string at the cursor (which is on its opening quote). When @out is not
 * NULL, the decoded text goes there (room: as many bytes as the JSON text) and
 * its length to *@outlen. Surrogate escapes must pair up.
 */
static inline bool
jc_string(struct jc *c, char *out, size_t *outlen)
{
	size_t n = 0;

	if (c->p >= c->end || *c->p != '"')
		return false;
	c->p++;
	while (c->p < c->end && *c->p != '"') {
		uint32_t cp;
		size_t k;

		if (*c->p < 0x20)
			return false;		/* raw control character */
		if (*c->p != '\\') {
			k = jc_utf8_char(c->p, (size_t)(c->end - c->p), &cp);
			if (k == 0)
				return false;
			if (out != NULL)
				memcpy(out + n, c->p, k);
			n += k;
			c->p += k;
			continue;
		}
		if (++c->p >= c->end)
			return false;
		switch (*c->p++) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u': {
			long u = jc_u4(c), lo;

			if (u < 0 || (u >= 0xdc00 && u <= 0xdfff))
				return false;
			if (u >= 0xd800 && u <= 0xdbff) {
				if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
					return false;
				c->p += 2;
				lo = jc_u4(c);
				if (lo < 0xdc00 || lo > 0xdfff)
					return false;
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			}
			cp = (uint32_t)u;
			break;
		}
		default:
			return false;
		}
		if (out != NULL)
			n += jc_utf8_put(cp, out + n);
		else
			n += 4;
	}
	if (c->p >= c->end)
		return false;
	c->p++;
	if (outlen != NULL)
		*outlen = n;
	return true;
}

static inline bool
jc_number(struct jc *c)
{
	const unsigned char *s = c->p;

	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (c->p >= c->end)
		return false;
	if (*c->p == '0') {
		c->p++;
	} else if (*c->p >= '1' && *c->p <= '9') {
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	} else {
		return false;
	}
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (c->p >= c->end || *c->p < '0' || *c->p > '9')
			return false;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (c->p >= c->end || *c->p < '0' || *c->p > '9')
			return false;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	}
	return c->p > s;
}

static inline bool
jc_word(struct jc *c, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
		return false;
	c->p += n;
	return true;
}

static inline bool jc_value(struct jc *c);

/* An object or array at the cursor; objects' keys must be strings. */
static inline bool
jc_container(struct jc *c, unsigned char close)
{
	bool first = true;

	if (++c->depth > 64)
		return false;
	c->p++;
	jc_ws(c);
	while (c->p < c->end && *c->p != close) {
		if (!first) {
			if (*c->p != ',')
				return false;
			c->p++;
			jc_ws(c);
		}
		first = false;
		if (close == '}') {
			if (!jc_string(c, NULL, NULL))
				return false;
			jc_ws(c);
			if (c->p >= c->end || *c->p != ':')
				return false;
			c->p++;
		}
		if (!jc_value(c))
			return false;
		jc_ws(c);
	}
	if (c->p >= c->end)
		return false;
	c->p++;
	c->depth--;
	return true;
}

static inline bool
jc_value(struct jc *c)
{
	jc_ws(c);
	if (c->p >= c->end)
		return false;
	switch (*c->p) {
	case '{':
		return jc_container(c, '}');
	case '[':
		return jc_container(c, ']');
	case '"':
		return jc_string(c, NULL, NULL);
	case 't':
		return jc_word(c, "true");
	case 'f':
		return jc_word(c, "false");
	case 'n':
		return jc_word(c, "null");
	default:
		return jc_number(c);
	}
}

/* Is the @len bytes at @s exactly one JSON value (whitespace around allowed)? */
static inline bool
jc_valid(const char *s, size_t len)
{
	struct jc c = { (const unsigned char *)s, (const unsigned char *)s + len, 0 };

	if (!jc_value(&c))
		return false;
	jc_ws(&c);
	return c.p == c.end;
}

/*
 * Is the @len bytes at @s exactly one JSON string? Its decoded text into @out
 * (room for @len bytes) and *@outlen.
 */
static inline bool
jc_string_decode(const char *s, size_t len, char *out, size_t *outlen)
{
	struct jc c = { (const unsigned char *)s, (const unsigned char *)s + len, 0 };

	return jc_string(&c, out, outlen) && c.p == c.end;
}

#endif /* NFQWALL_TEST_JSONCHECK_H */
