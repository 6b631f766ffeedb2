/*
 * fuzz_json.c - libFuzzer target for nfq/json.c, the JSON string writer of
 * the verdict log and explain.
 *
 * The input's first byte picks a buffer size and a cut length; the rest is
 * the string. For any bytes:
 * - json_escape_mem's text is exactly one JSON string (RFC 8259) in valid
 *   UTF-8 (tests/unit/jsoncheck.h, which decodes UTF-8 its own way);
 * - it decodes to the input when the input is valid UTF-8, and otherwise to
 *   what a reference decoder gives: the input with U+FFFD for each maximal
 *   invalid subpart. The reference knows which byte strings start a
 *   well-formed character only by encoding every code point at start-up, so
 *   it shares nothing with json.c's byte-range table;
 * - json_fput writes the same text as json_escape (up to the first NUL);
 * - a buffer too small holds a prefix of the text that ends between two
 *   characters: closed with a quote it is a valid JSON string;
 * - json_utf8_cut never keeps more than asked and, on valid UTF-8, keeps a
 *   valid prefix that drops only the character the cut would split.
 * Any difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsoncheck.h"

#include "fuzz.h"

/* Which 1-, 2- and 3-byte strings begin the UTF-8 form of some code point past U+007F. */
static uint8_t lead_ok[256];
static uint8_t pre2[65536 / 8];
static uint8_t pre3[(1u << 24) / 8];
static int ready;

static void
ref_init(void)
{
	for (uint32_t cp = 0x80; cp <= 0x10ffff; cp++) {
		unsigned char b[4];

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		jc_utf8_put(cp, (char *)b);
		lead_ok[b[0]] = 1;
		pre2[(b[0] << 8 | b[1]) >> 3] |= (uint8_t)(1u << (b[1] & 7));
		if (cp >= 0x800) {
			uint32_t k = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];

			pre3[k >> 3] |= (uint8_t)(1u << (k & 7));
		}
	}
	ready = 1;
}

/* Does @p (@k bytes, 1..4) begin (or complete) the UTF-8 form of a code point past U+007F? */
static int
ref_prefix(const unsigned char *p, size_t k)
{
	uint32_t v;

	switch (k) {
	case 1:
		return lead_ok[p[0]];
	case 2:
		v = (uint32_t)p[0] << 8 | p[1];
		return (pre2[v >> 3] >> (v & 7)) & 1;
	case 3:
		v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		return (pre3[v >> 3] >> (v & 7)) & 1;
	default:	/* a 4th byte is free once the first three are right */
		return ref_prefix(p, 3) && (p[3] & 0xc0) == 0x80;
	}
}

/* The input decoded with U+FFFD for each maximal invalid subpart, as UTF-8 into @out. */
static size_t
ref_decode(const unsigned char *p, size_t len, char *out)
{
	size_t n = 0;

	while (len > 0) {
		size_t want, k = 1;

		if (p[0] < 0x80) {
			out[n++] = (char)p[0];
			p++;
			len--;
			continue;
		}
		want = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
		if (!ref_prefix(p, 1)) {
			k = 1;
		} else {
			while (k < want && k < len && ref_prefix(p, k + 1))
				k++;
		}
		if (ref_prefix(p, 1) && k == want) {
			memcpy(out + n, p, k);
			n += k;
		} else {
			n += jc_utf8_put(0xfffd, out + n);
		}
		p += k;
		len -= k;
	}
	return n;
}

static void
check_cut(const unsigned char *s, size_t len, size_t max)
{
	size_t k = json_utf8_cut((const char *)s, len, max);

	if (k > len || (len <= max && k != len) || (len > max && k > max))
		abort();
	if (len > max && jc_utf8_valid((const char *)s, len)) {
		/* a valid prefix, short of @max only by the character at k */
		uint32_t cp;
		size_t w = jc_utf8_char(s + k, len - k, &cp);

		if (!jc_utf8_valid((const char *)s, k) || w == 0 || (k < max && k + w <= max))
			abort();
	}
}

static void
check_prefix(const char *s, size_t len, const char *full, size_t n, size_t size)
{
	char *buf = malloc(size), *dec = malloc(size + 1);
	size_t m, w, dlen;

	if (buf == NULL || dec == NULL)
		abort();
	m = json_escape_mem(buf, size, s, len);
	w = strlen(buf);
	if (m != n || w >= size || memcmp(buf, full, w) != 0)
		abort();
	if (w > 0 && w < n) {
		char *closed = malloc(w + 1);

		if (closed == NULL)
			abort();
		memcpy(closed, buf, w);
		closed[w] = '"';
		if (!jc_string_decode(closed, w + 1, dec, &dlen))
			abort();
		free(closed);
	}
	free(buf);
	free(dec);
}

static void
check_fput(const char *s, size_t len)
{
	size_t clen = strnlen(s, len), n, outlen = 0;
	char *cstr = malloc(clen + 1), *want, *got = NULL;
	FILE *f = open_memstream(&got, &outlen);

	if (cstr == NULL || f == NULL)
		abort();
	memcpy(cstr, s, clen);
	cstr[clen] = '\0';
	n = json_escape(NULL, 0, cstr);
	want = malloc(n + 1);
	if (want == NULL || json_escape(want, n + 1, cstr) != n)
		abort();
	json_fput(f, cstr);
	if (fclose(f) != 0 || outlen != n || memcmp(got, want, n) != 0)
		abort();
	free(cstr);
	free(want);
	free(got);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s;
	size_t len, n, dlen, rlen;
	char *full, *dec, *ref;
	uint8_t pick;

	if (!ready)
		ref_init();
	if (size == 0)
		return 0;
	pick = data[0];
	s = (const char *)data + 1;
	len = size - 1;

	n = json_escape_mem(NULL, 0, s, len);
	if (n < len + 2 || n > len * JSON_CHAR_MAX + 2)
		abort();
	full = malloc(n + 1);
	dec = malloc(n + 1);
	ref = malloc(len * 3 + 1);	/* a \ufffd (3 bytes) per input byte at most */
	if (full == NULL || dec == NULL || ref == NULL)
		abort();
	if (json_escape_mem(full, n + 1, s, len) != n || strlen(full) != n)
		abort();
	if (!jc_utf8_valid(full, n) || !jc_valid(full, n) || !jc_string_decode(full, n, dec, &dlen))
		abort();
	rlen = ref_decode((const unsigned char *)s, len, ref);
	if (dlen != rlen || memcmp(dec, ref, dlen) != 0)
		abort();
	if (jc_utf8_valid(s, len) && (dlen != len || memcmp(dec, s, len) != 0))
		abort();

	check_prefix(s, len, full, n, 1 + (size_t)pick * n / 256);
	check_fput(s, len);
	check_cut((const unsigned char *)s, len, len > 0 ? (size_t)pick % (len + 1) : 0);
	free(full);
	free(dec);
	free(ref);
	return 0;
}
