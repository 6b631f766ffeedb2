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

/*
 * A map may lend lookups to two others it does not own (Felix's label
 * inheritance for pods, docs/semantics.md §6.2): labels_get() asks @over
 * first, then the map's own pairs, then @under. Only labels_get() follows
 * them; labels_init() and labels_free() clear them (never free them).
 */
struct labels {
	struct label *v;	/* sorted by key (strcmp), keys unique */
	size_t n;
	size_t cap;
	const struct labels *over;	/* wins over the own pairs; NULL: none */
	const struct labels *under;	/* consulted when neither has the key */
	void *pack;			/* labels_pack: v and every string in one block */
};

/* labels_init - make @l an empty map (no allocation). */
void labels_init(struct labels *l);

/* labels_free - release every key and value; @l is empty afterwards. */
void labels_free(struct labels *l);

/* labels_set - copy @key and @value into @l, replacing an existing value.
 * Returns 0 or -ENOMEM. */
int __must_check labels_set(struct labels *l, const char *key, const char *value);

/* labels_append - copy @key and @value onto the end of @l, without keeping
 * it sorted: to build a map from many pairs in O(n log n), append them all,
 * then call labels_finish() before any other use. 0 or -ENOMEM. */
int __must_check labels_append(struct labels *l, const char *key, const char *value);

/* labels_finish - sort @l after labels_append(); of equal keys, the one
 * appended last stays. 0, or -ENOMEM with @l unchanged (not sorted). */
int __must_check labels_finish(struct labels *l);

/*
 * labels_pack - make the empty @l hold the @n pairs (copied; of equal keys
 * the last wins) in one allocation: for the many small maps that are built
 * once and never changed (a pod's labels), a tenth of the allocations. Such
 * a map takes no labels_set, labels_append or labels_merge. 0 or -ENOMEM.
 */
int __must_check labels_pack(struct labels *l, const struct label *pairs, size_t n);

/* labels_get - the value of @key (from @l->over, @l's own pairs or
 * @l->under, in that order), or NULL when the key is absent. */
const char *labels_get(const struct labels *l, const char *key);

/* labels_merge - make @dst (initialised, possibly non-empty) hold @src's
 * pairs in addition to its own; @src wins on equal keys. Linear in the
 * sizes of both. 0, or -ENOMEM with @dst unchanged. */
int __must_check labels_merge(struct labels *dst, const struct labels *src);

/* labels_parse - add the pairs of "K=V,K=V" to @out: 0, -EINVAL on a
 * malformed pair (those before it are kept) or -ENOMEM. */
int __must_check labels_parse(const char *text, struct labels *out);

#endif /* NFQWALL_LABELS_H */
