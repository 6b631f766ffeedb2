/*
 * compile.h - turning this node's view of the policy into a struct ruleset.
 * Control thread only.
 */
#ifndef NFQWALL_COMPILE_H
#define NFQWALL_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#include "hostenv.h"
#include "ruleset.h"

/* The largest table: every offset in the block is 32 bits. */
#define COMPILE_MAX_BYTES	((size_t)UINT32_MAX)

/*
 * compile_ruleset - build the immutable table for @env (its local host
 * endpoints, interfaces and failsafes). The polset must hold only valid
 * objects (policy.c drops invalid ones). The caller publishes or frees it.
 * On failure returns NULL with errno set: ENOMEM (out of memory, or @env
 * lost an interface to it: see hostenv_add_iface) or ERANGE (the table would
 * pass COMPILE_MAX_BYTES). Nothing is left allocated then.
 */
struct ruleset *compile_ruleset(const struct hostenv *env);

/*
 * compile_ruleset_max - the same, with a budget: ERANGE when the table
 * would take more than @max_bytes (at most COMPILE_MAX_BYTES), as DPDK's
 * ACL build fails past its max_size.
 */
struct ruleset *compile_ruleset_max(const struct hostenv *env, size_t max_bytes);

/* compile_has_staged - does @ps hold a StagedGlobalNetworkPolicy? */
bool compile_has_staged(const struct polset *ps);

/*
 * compile_ruleset_staged - the table as it would be with the staged
 * policies applied: each staged policy with stagedAction Set (or none)
 * enforced in place of the policy of its name, each with Delete removing
 * it (Learn and Ignore change nothing). Judged beside the enforced table
 * and never enforced (docs/semantics.md, "Staged policies, live"). Same
 * returns as compile_ruleset.
 */
struct ruleset *compile_ruleset_staged(const struct hostenv *env);

#endif /* NFQWALL_COMPILE_H */
