/*
 * json.c - JSON string escaping (any thread; no allocation).
 */
#include <stdio.h>
#include <string.h>

#include "json.h"

size_t
json_escape(char *buf, size_t size, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

#define PUT(ch) do { if (n + 1 < size) buf[n] = (ch); n++; } while (0)
	PUT('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			PUT('\\');
			PUT('"');
			break;
		case '\\':
			PUT('\\');
			PUT('\\');
			break;
		case '\n':
			PUT('\\');
			PUT('n');
			break;
		case '\t':
			PUT('\\');
			PUT('t');
			break;
		case '\r':
			PUT('\\');
			PUT('r');
			break;
		default:
			if (*p < 0x20) {
				PUT('\\');
				PUT('u');
				PUT('0');
				PUT('0');
				PUT(hex[*p >> 4]);
				PUT(hex[*p & 15]);
			} else {
				PUT((char)*p);
			}
		}
	}
	PUT('"');
#undef PUT
	if (size > 0)
		buf[n < size ? n : size - 1] = '\0';
	return n;
}

void
json_fput(FILE *f, const char *s)
{
	char small[512];
	size_t n;

	if (s == NULL) {
		fputs("null", f);
		return;
	}
	n = json_escape(small, sizeof(small), s);
	if (n < sizeof(small)) {
		fputs(small, f);
		return;
	}
	/* long strings: escape piecewise by falling back to one char at a time */
	fputc('"', f);
	for (const char *p = s; *p; p++) {
		char one[2] = { *p, '\0' }, out[16];
		size_t m = json_escape(out, sizeof(out), one);

		fwrite(out + 1, 1, m - 2, f);
	}
	fputc('"', f);
}
