/*
 * json.h - writing JSON text: escaped strings into a caller's buffer or a
 * stream. Used by explain (control thread) and the verdict logger.
 *
 * Whatever bytes a string holds, what comes out is one valid JSON string
 * (RFC 8259) in valid UTF-8:
 * - '"' and '\' are escaped; \n \r \t have their short escapes; every other
 *   control character (U+0000-U+001F, U+007F, U+0080-U+009F) and the line
 *   separators U+2028 and U+2029 become \u00XX / \u20XX, so a line stays one
 *   line and no escape sequence reaches a terminal;
 * - valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
 *   U+10FFFF) is copied as it is;
 * - anything else becomes \ufffd: one for each maximal invalid subpart
 *   (Unicode ch. 3, "U+FFFD substitution of maximal subparts", as Python's
 *   and the WHATWG decoders do), so a truncated sequence is one \ufffd and a
 *   stray byte 0x80-0xff is one \ufffd.
 * Decoding the JSON string gives back the input exactly whenever the input
 * is valid UTF-8 (the escapes decode to the same code points); invalid input
 * comes back with U+FFFD in place of each invalid subpart.
 */
#ifndef NFQWALL_JSON_H
#define NFQWALL_JSON_H

#include <stddef.h>
#include <stdio.h>

/* The longest JSON text one input character becomes ("\u00XX", "\ufffd"). */
#define JSON_CHAR_MAX	6

/* json_escape - write @s as a quoted JSON string into @buf; returns the length of
 * the whole text. When it does not fit (the return is >= @size), @buf holds a
 * NUL-terminated prefix that ends between two characters: never inside an escape
 * or a UTF-8 sequence. Nothing is written when @size is 0. Any thread; no allocation. */
size_t json_escape(char *buf, size_t size, const char *s);

/* json_escape_mem - json_escape for the @len bytes at @s, which may hold NUL
 * (written as \u0000) and need no terminator. */
size_t json_escape_mem(char *buf, size_t size, const char *s, size_t len);

/* json_fput - write @s as a quoted JSON string to @f ("null" when @s is NULL),
 * whatever its length. */
void json_fput(FILE *f, const char *s);

/* json_utf8_cut - where to cut the @len bytes at @s to keep at most @max of them
 * without splitting a UTF-8 sequence: the length of that prefix (@len when it
 * fits). For truncating names and messages before they are escaped. */
size_t json_utf8_cut(const char *s, size_t len, size_t max);

#endif /* NFQWALL_JSON_H */
