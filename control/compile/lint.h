/*
 * lint.h - warnings about valid but suspicious policy (nfqwall check).
 */
#ifndef NFQWALL_LINT_H
#define NFQWALL_LINT_H

#include "model.h"

/*
 * lint_polset - add warnings to ps->diags; @node (may be NULL) is --node.
 * Returns 0, or -ENOMEM (some lints may be missing then).
 */
int __must_check lint_polset(struct polset *ps, const char *node);

#endif /* NFQWALL_LINT_H */
