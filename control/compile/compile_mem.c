/*
 * compile_mem.c - the compiler's growable block addressed by offsets (the
 * table takes shape in it) and a small open-addressing hash map from 64-bit
 * hashes to indexes (for interning). Control thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "compile_int.h"
#include "xalloc.h"

/* ---- a growable block addressed by offsets ------------------------------------- */

uint32_t
blob_put(struct blob *b, const void *data, size_t size, size_t align)
{
	size_t off = (b->len + align - 1) & ~(align - 1);

	if (off + size > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (off + size > cap)
			cap *= 2;
		b->buf = xrealloc(b->buf, cap);
		b->cap = cap;
	}
	memset(b->buf + b->len, 0, off - b->len);
	if (data != NULL)
		memcpy(b->buf + off, data, size);
	else
		memset(b->buf + off, 0, size);
	b->len = off + size;
	return (uint32_t)off;
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

static void
hmap_grow(struct hmap *m)
{
	struct hmap old = *m;

	m->cap = old.cap ? old.cap * 2 : 64;
	m->hash = xmalloc(m->cap * sizeof(*m->hash));
	m->val = xmalloc(m->cap * sizeof(*m->val));
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
}

/*
 * hmap_find - the value stored for @h that @eq accepts, or UINT32_MAX; the
 * slot to insert at is left in *slot.
 */
uint32_t
hmap_find(struct hmap *m, uint64_t h, bool (*eq)(uint32_t val, const void *key, void *ctx),
	  const void *key, void *ctx, size_t *slot)
{
	size_t j;

	if ((m->n + 1) * 2 > m->cap)
		hmap_grow(m);
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

/* hmap_clear - empty @m, keeping its memory. */
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

