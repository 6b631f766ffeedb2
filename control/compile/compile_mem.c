/*
 * compile_mem.c - the compiler's growable block addressed by offsets (the
 * table takes shape in it), a small open-addressing hash map from 64-bit
 * hashes to indexes, and tables of records stored once (the interning of
 * metas, bitset blocks and rows). Control thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "compile_int.h"

/* ---- a growable block addressed by offsets ------------------------------------- */

int
blob_put(struct blob *b, const void *data, size_t size, size_t align, uint32_t *offp)
{
	size_t off = (b->len + align - 1) & ~(align - 1);

	if (off < b->len || size > b->max || off > b->max - size)
		return -ERANGE;		/* over budget: offsets must stay below b->max */
	if (off + size > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *buf;

		while (off + size > cap)
			cap *= 2;
		buf = realloc(b->buf, cap);
		if (buf == NULL)
			return -ENOMEM;
		b->buf = buf;
		b->cap = cap;
	}
	memset(b->buf + b->len, 0, off - b->len);
	if (data != NULL)
		memcpy(b->buf + off, data, size);
	else
		memset(b->buf + off, 0, size);
	b->len = off + size;
	if (offp != NULL)
		*offp = (uint32_t)off;
	return 0;
}

void *
blob_at(struct blob *b, uint32_t off)
{
	return b->buf + off;
}

/* ---- a small open-addressing map: 64-bit hash -> index --------------------------- */

uint64_t
hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

int
hmap_reserve(struct hmap *m)
{
	struct hmap old = *m;
	size_t cap;

	if ((m->n + 1) * 2 <= m->cap)
		return 0;
	cap = old.cap ? old.cap * 2 : 64;
	m->hash = malloc(cap * sizeof(*m->hash));
	m->val = malloc(cap * sizeof(*m->val));
	if (m->hash == NULL || m->val == NULL) {
		free(m->hash);
		free(m->val);
		*m = old;
		return -ENOMEM;
	}
	m->cap = cap;
	memset(m->val, 0xff, m->cap * sizeof(*m->val));
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++) {
		if (old.val[i] == UINT32_MAX)
			continue;
		size_t j = old.hash[i] & (m->cap - 1);

		while (m->val[j] != UINT32_MAX)
			j = (j + 1) & (m->cap - 1);
		m->hash[j] = old.hash[i];
		m->val[j] = old.val[i];
		m->n++;
	}
	free(old.hash);
	free(old.val);
	return 0;
}

uint32_t
hmap_find(const struct hmap *m, uint64_t h,
	  bool (*eq)(uint32_t val, const void *key, void *ctx), const void *key, void *ctx,
	  size_t *slot)
{
	size_t j;

	for (j = h & (m->cap - 1); m->val[j] != UINT32_MAX; j = (j + 1) & (m->cap - 1))
		if (m->hash[j] == h && eq(m->val[j], key, ctx))
			return m->val[j];
	*slot = j;
	return UINT32_MAX;
}

void
hmap_set(struct hmap *m, size_t slot, uint64_t h, uint32_t val)
{
	m->hash[slot] = h;
	m->val[slot] = val;
	m->n++;
}

void
hmap_clear(struct hmap *m)
{
	if (m->val != NULL)
		memset(m->val, 0xff, m->cap * sizeof(*m->val));
	m->n = 0;
}

void
hmap_free(struct hmap *m)
{
	free(m->hash);
	free(m->val);
	memset(m, 0, sizeof(*m));
}

/* ---- records stored once ------------------------------------------------------------ */

void
rtab_reset(struct rtab *t, size_t size)
{
	t->n = 0;
	t->size = size;
	hmap_clear(&t->map);
}

static bool
rec_eq(uint32_t id, const void *key, void *ctx)
{
	const struct rtab *t = ctx;

	return memcmp(rtab_at(t, id), key, t->size) == 0;
}

int
rtab_intern(struct rtab *t, const void *rec, uint64_t h, uint32_t *idp)
{
	size_t slot;
	uint32_t id;

	if (hmap_reserve(&t->map) < 0)
		return -ENOMEM;
	id = hmap_find(&t->map, h, rec_eq, rec, t, &slot);
	if (id == UINT32_MAX) {
		if (array_reserve(&t->v, &t->cap, (t->n + 1) * t->size, 1) < 0)
			return -ENOMEM;
		memcpy(t->v + t->n * t->size, rec, t->size);
		id = (uint32_t)t->n++;
		hmap_set(&t->map, slot, h, id);
	}
	*idp = id;
	return 0;
}

void
rtab_free(struct rtab *t)
{
	free(t->v);
	hmap_free(&t->map);
	memset(t, 0, sizeof(*t));
}
