/*
 * labels.c - sorted label maps (control thread only).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "labels.h"

void
labels_init(struct labels *l)
{
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
	l->over = NULL;
	l->under = NULL;
	l->pack = NULL;
}

struct pack_ix {
	const struct label *p;
	size_t i;
};

static int
cmp_pack(const void *a, const void *b)
{
	const struct pack_ix *x = a, *y = b;
	int c = strcmp(x->p->key, y->p->key);

	return c != 0 ? c : x->i < y->i ? -1 : x->i > y->i;
}

int
labels_pack(struct labels *l, const struct label *pairs, size_t n)
{
	struct pack_ix *ix;
	size_t m = 0, bytes = 0;
	struct label *v;
	char *s;

	if (n == 0)
		return 0;
	ix = malloc(n * sizeof(*ix));
	if (ix == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		ix[i] = (struct pack_ix){ &pairs[i], i };
	qsort(ix, n, sizeof(*ix), cmp_pack);
	/* of equal keys the last written stays: it sorts last among them */
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && strcmp(ix[i].p->key, ix[i + 1].p->key) == 0)
			continue;
		ix[m++] = ix[i];
		bytes += strlen(ix[i].p->key) + strlen(ix[i].p->value) + 2;
	}
	v = malloc(m * sizeof(*v) + bytes);
	if (v == NULL) {
		free(ix);
		return -ENOMEM;
	}
	s = (char *)(v + m);
	for (size_t i = 0; i < m; i++) {
		size_t kl = strlen(ix[i].p->key) + 1, vl = strlen(ix[i].p->value) + 1;

		v[i].key = memcpy(s, ix[i].p->key, kl);
		s += kl;
		v[i].value = memcpy(s, ix[i].p->value, vl);
		s += vl;
	}
	free(ix);
	l->v = v;
	l->n = m;
	l->cap = m;
	l->pack = v;
	return 0;
}

void
labels_free(struct labels *l)
{
	if (l->pack != NULL) {
		free(l->pack);
		labels_init(l);
		return;
	}
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	labels_init(l);
}

/* Index of @key, or of the slot where it would go (with *found = 0). */
static size_t
labels_find(const struct labels *l, const char *key, int *found)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->v[mid].key, key);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

int
labels_set(struct labels *l, const char *key, const char *value)
{
	int found;
	size_t i = labels_find(l, key, &found);
	char *v = strdup(value);

	if (v == NULL)
		return -ENOMEM;
	if (found) {
		free(l->v[i].value);
		l->v[i].value = v;
		return 0;
	}
	if (ARRAY_PUSH_ROOM(l->v, l->cap, l->n) < 0)
		goto out_free;
	char *k = strdup(key);

	if (k == NULL)
		goto out_free;
	memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof(l->v[0]));
	l->v[i].key = k;
	l->v[i].value = v;
	l->n++;
	return 0;
out_free:
	free(v);
	return -ENOMEM;
}

const char *
labels_get(const struct labels *l, const char *key)
{
	const char *v;
	int found;
	size_t i;

	if (l->over != NULL && (v = labels_get(l->over, key)) != NULL)
		return v;
	i = labels_find(l, key, &found);
	if (found)
		return l->v[i].value;
	return l->under != NULL ? labels_get(l->under, key) : NULL;
}

int
labels_merge(struct labels *dst, const struct labels *src)
{
	size_t n = dst->n + src->n, i = 0, j = 0, k = 0;
	struct label *v, *copies;

	if (src->n == 0)
		return 0;
	v = calloc(n, sizeof(*v));
	copies = calloc(src->n, sizeof(*copies));
	if (v == NULL || copies == NULL)
		goto out_nomem;
	for (j = 0; j < src->n; j++) {
		copies[j].key = strdup(src->v[j].key);
		copies[j].value = strdup(src->v[j].value);
		if (copies[j].key == NULL || copies[j].value == NULL)
			goto out_nomem;
	}
	/* both are sorted: one pass, nothing can fail from here on */
	for (j = 0; i < dst->n || j < src->n;) {
		int c = i == dst->n ? 1 : j == src->n ? -1 : strcmp(dst->v[i].key, src->v[j].key);

		if (c < 0) {
			v[k++] = dst->v[i++];
			continue;
		}
		if (c == 0) {		/* src wins */
			free(dst->v[i].key);
			free(dst->v[i].value);
			i++;
		}
		v[k++] = copies[j++];
	}
	free(copies);
	free(dst->v);
	dst->v = v;
	dst->n = k;
	dst->cap = n;
	return 0;
out_nomem:
	for (size_t x = 0; copies != NULL && x < src->n; x++) {
		free(copies[x].key);
		free(copies[x].value);
	}
	free(copies);
	free(v);
	return -ENOMEM;
}

int
labels_append(struct labels *l, const char *key, const char *value)
{
	char *k, *v;

	if (ARRAY_PUSH_ROOM(l->v, l->cap, l->n) < 0)
		return -ENOMEM;
	k = strdup(key);
	v = strdup(value);
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	l->v[l->n++] = (struct label){ k, v };
	return 0;
}

int
labels_finish(struct labels *l)
{
	struct label *tmp, *a, *b;
	size_t n = l->n, j = 0;

	if (n < 2)
		return 0;
	tmp = malloc(n * sizeof(*tmp));
	if (tmp == NULL)
		return -ENOMEM;
	/* a bottom-up merge sort: stable, so of equal keys the last stays last */
	a = l->v;
	b = tmp;
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t x = lo, y = mid, o = lo;

			while (x < mid || y < hi)
				b[o++] = y == hi || (x < mid && strcmp(a[x].key, a[y].key) <= 0) ?
						 a[x++] : a[y++];
		}
		struct label *t = a;

		a = b;
		b = t;
	}
	if (a != l->v)
		memcpy(l->v, a, n * sizeof(*a));
	free(tmp);
	/* of equal keys keep the last */
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && strcmp(l->v[i].key, l->v[i + 1].key) == 0) {
			free(l->v[i].key);
			free(l->v[i].value);
			continue;
		}
		l->v[j++] = l->v[i];
	}
	l->n = j;
	return 0;
}

int
labels_parse(const char *text, struct labels *out)
{
	char *copy = strdup(text), *save = NULL;
	int err = 0;

	if (copy == NULL)
		return -ENOMEM;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (eq == NULL || eq == tok) {
			err = -EINVAL;
			break;
		}
		*eq = '\0';
		err = labels_set(out, tok, eq + 1);
		if (err < 0)
			break;
	}
	free(copy);
	return err;
}
