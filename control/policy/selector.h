/*
 * selector.h - Calico label selectors: parse, evaluate, rewrite, print.
 *
 * The grammar and evaluation rules are docs/semantics.md §10; the
 * namespaceSelector/serviceAccountSelector rewriting is §1.4. A parsed
 * selector is immutable, so it may be shared freely; evaluation never
 * allocates. Control thread only.
 */
#ifndef NFQWALL_SELECTOR_H
#define NFQWALL_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include "compiler.h"
#include "labels.h"

struct selector;			/* opaque, immutable after parse */

struct selector_error {
	int col;			/* 1-based column (byte offset + 1) where the error was found */
	char msg[160];			/* plain words, e.g. "expected identifier", "expected '==', '!=', 'in', ... after label key", "unterminated string literal", "label key longer than 512 characters" */
};

/* selector_parse - parse @text (NUL-terminated). Empty or blank text is all().
 * Returns 0 and *out, -EINVAL with @err filled (err may be NULL), or -ENOMEM. */
int __must_check selector_parse(const char *text, struct selector **out, struct selector_error *err);

/* selector_free - release @s; NULL is a no-op. */
void selector_free(struct selector *s);				/* NULL is a no-op */

/* selector_match - evaluate @s against the label map @l (§6.3). Never
 * allocates. global() is true here, as a label expression. */
bool selector_match(const struct selector *s, const struct labels *l);

/* New selector: @s with every label key prefixed by @prefix, and every all() replaced by has(@all_key) when all_key != NULL (kept as all() when NULL). NULL on ENOMEM. With prefix "" and all_key NULL this is a deep copy. */
struct selector *selector_prefixed(const struct selector *s, const char *prefix, const char *all_key);

/* New selector equal to (@a) && (@b). Neither argument is consumed. NULL on ENOMEM. */
struct selector *selector_and(const struct selector *a, const struct selector *b);

/* selector_uses_global - true when global() appears anywhere in @s. */
bool selector_uses_global(const struct selector *s);		/* global() appears anywhere */

/* selector_is_global - true when the whole of @s is global() (redundant
 * parentheses aside). */
bool selector_is_global(const struct selector *s);		/* the whole selector is exactly global() */

/* selector_is_all - true when @s came from empty/blank text or is exactly
 * all() (redundant parentheses aside). */
bool selector_is_all(const struct selector *s);			/* empty text or exactly all() */

/* Canonical text (see §6.3: && / || groups parenthesised, set members sorted and deduplicated, double quotes unless the value contains a double quote). snprintf semantics: returns the length it needs, writes at most size bytes, always NUL-terminates when size > 0. */
size_t selector_format(const struct selector *s, char *buf, size_t size);

/* Call @fn for every label key the selector reads (has, ==, in, ...); used by lints.
 * Keys come in text order, once per occurrence (a key used twice is reported twice). */
void selector_for_each_key(const struct selector *s, void (*fn)(const char *key, void *arg), void *arg);

#endif /* NFQWALL_SELECTOR_H */
