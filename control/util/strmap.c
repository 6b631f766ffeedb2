/*
 * strmap.c - string -> size_t map (control thread).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "xalloc.h"

static uint64_t
strmap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static size_t
strmap_slot(const struct strmap *m, const char *key)
{
	size_t i = strmap_hash(key) & (m->cap - 1);

	while (m->keys[i] != NULL && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

bool
strmap_get(const struct strmap *m, const char *key, size_t *val)
{
	size_t i;

	if (m->cap == 0)
		return false;
	i = strmap_slot(m, key);
	if (m->keys[i] == NULL)
		return false;
	*val = m->vals[i];
	return true;
}

void
strmap_put(struct strmap *m, const char *key, size_t val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		struct strmap old = *m;

		m->cap = old.cap ? old.cap * 2 : 64;
		m->keys = xcalloc(m->cap, sizeof(*m->keys));
		m->vals = xcalloc(m->cap, sizeof(*m->vals));
		m->n = 0;
		for (size_t j = 0; j < old.cap; j++) {
			if (old.keys[j] == NULL)
				continue;
			i = strmap_slot(m, old.keys[j]);
			m->keys[i] = old.keys[j];
			m->vals[i] = old.vals[j];
			m->n++;
		}
		free(old.keys);
		free(old.vals);
	}
	i = strmap_slot(m, key);
	if (m->keys[i] == NULL) {
		m->keys[i] = xstrdup(key);
		m->n++;
	}
	m->vals[i] = val;
}

void
strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
