/*
 * json.c - JSON string escaping (any thread; no allocation).
 *
 * The input is taken one character at a time (json_char): an ASCII byte, a
 * well-formed UTF-8 sequence (Unicode table 3-7: the second byte's range
 * depends on the first, which rules out overlong forms, surrogates and code
 * points past U+10FFFF), or a maximal invalid subpart (a lead byte and the
 * continuation bytes that still fitted, or one stray byte), which becomes
 * \ufffd. Each character's JSON text is written whole or not at all, so a
 * cut buffer never ends inside an escape or a sequence. See json.h for what
 * is escaped and why.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

/* "\u" and four lowercase hex digits of @cp (at most U+FFFF) into @out. */
static size_t
uescape(char *out, uint32_t cp)
{
	static const char hex[] = "0123456789abcdef";

	out[0] = '\\';
	out[1] = 'u';
	out[2] = hex[(cp >> 12) & 15];
	out[3] = hex[(cp >> 8) & 15];
	out[4] = hex[(cp >> 4) & 15];
	out[5] = hex[cp & 15];
	return 6;
}

static size_t
short_escape(char *out, char c)
{
	out[0] = '\\';
	out[1] = c;
	return 2;
}

static size_t
ascii_char(char *out, unsigned char c)
{
	switch (c) {
	case '"':
		return short_escape(out, '"');
	case '\\':
		return short_escape(out, '\\');
	case '\n':
		return short_escape(out, 'n');
	case '\r':
		return short_escape(out, 'r');
	case '\t':
		return short_escape(out, 't');
	default:
		if (c < 0x20 || c == 0x7f)
			return uescape(out, c);
		out[0] = (char)c;
		return 1;
	}
}

/*
 * The character at @p (@len > 0 bytes left): its JSON text into @out (at
 * most JSON_CHAR_MAX bytes), whose length is returned; the input bytes it
 * took in *@used (at least 1).
 */
static size_t
json_char(const unsigned char *p, size_t len, char *out, size_t *used)
{
	unsigned c = p[0], lo = 0x80, hi = 0xbf;
	size_t more;
	uint32_t cp;

	*used = 1;
	if (c < 0x80)
		return ascii_char(out, (unsigned char)c);
	if (c >= 0xc2 && c <= 0xdf) {
		more = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		more = 2;
		cp = c & 0x0f;
		lo = c == 0xe0 ? 0xa0 : 0x80;	/* no overlong form */
		hi = c == 0xed ? 0x9f : 0xbf;	/* no surrogate */
	} else if (c >= 0xf0 && c <= 0xf4) {
		more = 3;
		cp = c & 0x07;
		lo = c == 0xf0 ? 0x90 : 0x80;	/* no overlong form */
		hi = c == 0xf4 ? 0x8f : 0xbf;	/* nothing past U+10FFFF */
	} else {
		return uescape(out, 0xfffd);	/* 0x80-0xc1, 0xf5-0xff: never a lead byte */
	}
	for (size_t i = 1; i <= more; i++) {
		if (i >= len || p[i] < lo || p[i] > hi) {
			*used = i;		/* the maximal subpart: lead and what fitted */
			return uescape(out, 0xfffd);
		}
		cp = cp << 6 | (p[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*used = more + 1;
	if (cp <= 0x9f || cp == 0x2028 || cp == 0x2029)
		return uescape(out, cp);	/* C1 controls, line and paragraph separators */
	memcpy(out, p, more + 1);
	return more + 1;
}

/* An snprintf-style cursor that writes whole pieces only, and nothing after a cut. */
struct jbuf {
	char *buf;
	size_t size;
	size_t len;		/* the whole text's length */
	size_t wrote;		/* bytes in buf */
	int cut;
};

static void
jbuf_put(struct jbuf *b, const char *s, size_t n)
{
	if (!b->cut && b->wrote + n < b->size) {
		memcpy(b->buf + b->wrote, s, n);
		b->wrote += n;
	} else {
		b->cut = 1;
	}
	b->len += n;
}

size_t
json_escape_mem(char *buf, size_t size, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	struct jbuf b = { buf, size, 0, 0, 0 };
	char one[JSON_CHAR_MAX];

	jbuf_put(&b, "\"", 1);
	while (len > 0) {
		size_t used, n = json_char(p, len, one, &used);

		jbuf_put(&b, one, n);
		p += used;
		len -= used;
	}
	jbuf_put(&b, "\"", 1);
	if (size > 0)
		buf[b.wrote] = '\0';
	return b.len;
}

size_t
json_escape(char *buf, size_t size, const char *s)
{
	return json_escape_mem(buf, size, s, strlen(s));
}

void
json_fput(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char chunk[512];
	size_t len, n = 0;

	if (s == NULL) {
		fputs("null", f);
		return;
	}
	len = strlen(s);
	chunk[n++] = '"';
	while (len > 0) {
		size_t used;

		if (n + JSON_CHAR_MAX + 1 > sizeof(chunk)) {	/* + 1: the closing quote */
			fwrite(chunk, 1, n, f);
			n = 0;
		}
		n += json_char(p, len, chunk + n, &used);
		p += used;
		len -= used;
	}
	chunk[n++] = '"';
	fwrite(chunk, 1, n, f);
}

size_t
json_utf8_cut(const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = max, need;

	if (len <= max)
		return len;
	/* s[max] starts the dropped part: find the lead byte of its character */
	for (int k = 0; k < 3 && i > 0 && (p[i] & 0xc0) == 0x80; k++)
		i--;
	if ((p[i] & 0xc0) == 0x80)
		return max;		/* no lead near: stray bytes, no character to split */
	need = p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : p[i] >= 0xc0 ? 2 : 1;
	return i + need <= max ? max : i;
}
