/*
 * json.h - writing JSON text: escaped strings into a caller's buffer or a
 * stream. Used by explain (control thread) and the verdict logger.
 */
#ifndef NFQWALL_JSON_H
#define NFQWALL_JSON_H

#include <stddef.h>
#include <stdio.h>

/* json_escape - write @s as a quoted JSON string into @buf (snprintf semantics). */
size_t json_escape(char *buf, size_t size, const char *s);

/* json_fput - write @s as a quoted JSON string to @f ("null" when @s is NULL). */
void json_fput(FILE *f, const char *s);

#endif /* NFQWALL_JSON_H */
