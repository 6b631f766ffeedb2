/*
 * labels.h - a small owned map of label key -> value, kept sorted by key.
 *
 * Used for HostEndpoint, GlobalNetworkSet and NetworkSet labels and for the
 * labels a selector is evaluated against. Control thread only.
 */
#ifndef NFQWALL_LABELS_H
#define NFQWALL_LABELS_H

#include <stddef.h>
#include "compiler.h"

struct label {
	char *key;
	char *value;
};

struct labels {
	struct label *v;	/* sorted by key (strcmp), keys unique */
	size_t n;
	size_t cap;
};

/* labels_init - make @l an empty map (no allocation). */
void labels_init(struct labels *l);

/* labels_free - release every key and value; @l is empty afterwards. */
void labels_free(struct labels *l);

/* labels_set - copy @key and @value into @l, replacing an existing value.
 * Returns 0 or -ENOMEM. */
int __must_check labels_set(struct labels *l, const char *key, const char *value);

/* labels_get - the value of @key, or NULL when the key is absent. */
const char *labels_get(const struct labels *l, const char *key);

/* labels_merge - make @dst (initialised, possibly non-empty) hold @src's
 * pairs in addition to its own; @src wins on equal keys. 0 or -ENOMEM. */
int __must_check labels_merge(struct labels *dst, const struct labels *src);

/* labels_parse - add the pairs of "K=V,K=V" to @out: 0, -EINVAL on a
 * malformed pair (those before it are kept) or -ENOMEM. */
int __must_check labels_parse(const char *text, struct labels *out);

#endif /* NFQWALL_LABELS_H */
