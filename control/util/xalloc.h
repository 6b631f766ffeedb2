/*
 * xalloc.h - allocation for the control path that cannot usefully go on
 * without memory: like nftables' xmalloc, print where and exit. The data
 * path never calls these (it allocates everything at start).
 */
#ifndef NFQWALL_XALLOC_H
#define NFQWALL_XALLOC_H

#include <stddef.h>

#include "compiler.h"

/* xmalloc / xcalloc / xrealloc / xstrdup - as libc, but never NULL. */
void *xmalloc(size_t size) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));
void *xrealloc(void *p, size_t size) __attribute__((returns_nonnull));
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull));

/* xasprintf - a formatted string, never NULL. */
char *xasprintf(const char *fmt, ...) __printf(1, 2) __attribute__((returns_nonnull));

/* XGROW - make room for one more element in a realloc'd array. */
#define XGROW(arr, n) ((arr) = xrealloc((arr), ((n) + 1) * sizeof(*(arr))))

#endif /* NFQWALL_XALLOC_H */
