/*
 * compile.h - turning this node's view of the policy into a struct ruleset.
 * Control thread only.
 */
#ifndef NFQWALL_COMPILE_H
#define NFQWALL_COMPILE_H

#include "hostenv.h"
#include "ruleset.h"

/*
 * compile_ruleset - build the immutable table for @env (its local host
 * endpoints, interfaces and failsafes). The polset must hold only valid
 * objects (policy.c drops invalid ones). Never fails but on memory
 * exhaustion, which exits (xalloc). The caller publishes or frees it.
 */
struct ruleset *compile_ruleset(const struct hostenv *env);

#endif /* NFQWALL_COMPILE_H */
