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
}

void
labels_free(struct labels *l)
{
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
	int found;
	size_t i = labels_find(l, key, &found);

	return found ? l->v[i].value : NULL;
}

int
labels_merge(struct labels *dst, const struct labels *src)
{
	for (size_t i = 0; i < src->n; i++) {
		int err = labels_set(dst, src->v[i].key, src->v[i].value);

		if (err < 0)
			return err;
	}
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
