/*
 * alloc.h - checked allocation helpers for the control path. Nothing here
 * exits: an allocation that fails is -ENOMEM (or NULL) for the caller to
 * handle, so the daemon keeps its last good table and says why.
 */
#ifndef NFQWALL_ALLOC_H
#define NFQWALL_ALLOC_H

#include <stddef.h>

#include "compiler.h"

/*
 * array_reserve - make the array at *@arrp (of @elem-byte elements, *@cap
 * allocated) hold at least @need elements, growing it geometrically.
 * Returns 0, or -ENOMEM (also on size overflow) with the array unchanged.
 */
int __must_check array_reserve(void *arrp, size_t *cap, size_t need, size_t elem);

/* ARRAY_PUSH_ROOM - room for element @n (0-based) of @arr: 0 or -ENOMEM. */
#define ARRAY_PUSH_ROOM(arr, cap, n) array_reserve(&(arr), &(cap), (n) + 1, sizeof(*(arr)))

#endif /* NFQWALL_ALLOC_H */
