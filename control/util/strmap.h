/*
 * strmap.h - a string -> size_t map (open addressing, FNV-1a), for indexes
 * that would otherwise be linear scans over thousands of objects. Keys are
 * copied. Control thread only.
 */
#ifndef NFQWALL_STRMAP_H
#define NFQWALL_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

struct strmap {
	char **keys;
	size_t *vals;
	size_t cap;		/* a power of two, or 0 */
	size_t n;
};

/* strmap_get - the value of @key into *@val; false when absent. */
bool strmap_get(const struct strmap *m, const char *key, size_t *val);

/* strmap_put - set @key to @val (adds or replaces): 0, or -ENOMEM with the
 * map unchanged. */
int __must_check strmap_put(struct strmap *m, const char *key, size_t val);

/* strmap_del - remove @key; false when it was absent. Never allocates. */
bool strmap_del(struct strmap *m, const char *key);

/* strmap_free - release the map; it is empty afterwards. */
void strmap_free(struct strmap *m);

#endif /* NFQWALL_STRMAP_H */
