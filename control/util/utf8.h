/*
 * utf8.h - checking UTF-8 one code point at a time (RFC 3629): no overlong
 * forms, no surrogates, nothing above U+10FFFF. Used where text from a
 * policy file is printed (diagnostics) or parsed as JSON. Any thread.
 */
#ifndef NFQWALL_UTF8_H
#define NFQWALL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * utf8_decode - the length (1 to 4) of the valid UTF-8 sequence at @s (at
 * most @n bytes available) with its code point in *@cp, or 0 when the bytes
 * there are not valid UTF-8 (or @n is 0).
 */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* utf8_encode - write code point @cp (valid, not a surrogate) into @out
 * (4 bytes of room); returns the length used (1 to 4). */
size_t utf8_encode(uint32_t cp, unsigned char *out);

#endif /* NFQWALL_UTF8_H */
