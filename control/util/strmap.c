/*
 * strmap.c - string -> size_t map (control thread). Open addressing with
 * linear probing, kept at most half full; allocation failure is -ENOMEM
 * and leaves the map as it was.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

#define STRMAP_MIN_CAP	64

static uint64_t
strmap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The slot of @key in @keys (@cap slots), or the empty slot where it would go. */
static size_t
strmap_slot(char *const *keys, size_t cap, const char *key)
{
	size_t i = strmap_hash(key) & (cap - 1);

	while (keys[i] != NULL && strcmp(keys[i], key) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

bool
strmap_get(const struct strmap *m, const char *key, size_t *val)
{
	size_t i;

	if (m->cap == 0)
		return false;
	i = strmap_slot(m->keys, m->cap, key);
	if (m->keys[i] == NULL)
		return false;
	*val = m->vals[i];
	return true;
}

/* Double the table (or make the first one): 0 or -ENOMEM, @m unchanged. */
static int
strmap_grow(struct strmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : STRMAP_MIN_CAP;
	char **keys;
	size_t *vals;

	if (cap < m->cap)
		return -ENOMEM;
	keys = calloc(cap, sizeof(*keys));
	vals = calloc(cap, sizeof(*vals));
	if (keys == NULL || vals == NULL) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (size_t j = 0; j < m->cap; j++) {
		size_t i;

		if (m->keys[j] == NULL)
			continue;
		i = strmap_slot(keys, cap, m->keys[j]);
		keys[i] = m->keys[j];
		vals[i] = m->vals[j];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return 0;
}

int
strmap_put(struct strmap *m, const char *key, size_t val)
{
	char *copy;
	size_t i;
	int err;

	if (m->cap != 0) {
		i = strmap_slot(m->keys, m->cap, key);
		if (m->keys[i] != NULL) {
			m->vals[i] = val;
			return 0;
		}
	}
	if ((m->n + 1) * 2 > m->cap) {
		err = strmap_grow(m);
		if (err < 0)
			return err;
	}
	copy = strdup(key);
	if (copy == NULL)
		return -ENOMEM;
	i = strmap_slot(m->keys, m->cap, key);
	m->keys[i] = copy;
	m->vals[i] = val;
	m->n++;
	return 0;
}

bool
strmap_del(struct strmap *m, const char *key)
{
	size_t i, j;

	if (m->cap == 0)
		return false;
	i = strmap_slot(m->keys, m->cap, key);
	if (m->keys[i] == NULL)
		return false;
	free(m->keys[i]);
	m->keys[i] = NULL;
	m->n--;
	/* backward shift: move up each later key of the run that may sit at the hole */
	for (j = (i + 1) & (m->cap - 1); m->keys[j] != NULL; j = (j + 1) & (m->cap - 1)) {
		size_t home = strmap_hash(m->keys[j]) & (m->cap - 1);

		/* keys[j] stays when its home lies cyclically in (i, j] */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		m->keys[i] = m->keys[j];
		m->vals[i] = m->vals[j];
		m->keys[j] = NULL;
		i = j;
	}
	return true;
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
