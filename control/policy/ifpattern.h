/*
 * ifpattern.h - Go regular expressions (RE2 syntax) matched against
 * interface names, as kube-controllers matches a template's
 * interfacePattern (regexp.MatchString: anywhere in the name).
 *
 * Interface names are at most 15 bytes, so a match is computed over the
 * positions of the name instead of by backtracking or by a compiled
 * automaton: each piece of the pattern maps a start position to the set of
 * positions where it can end (a bit mask). The cost of one match is bounded
 * by the size of the pattern times the length of the name, squared, whatever
 * the pattern (counted repetitions included): no pattern can make it
 * explode, as glibc's regcomp can. Control thread only (a pattern keeps its
 * scratch space).
 */
#ifndef NFQWALL_IFPATTERN_H
#define NFQWALL_IFPATTERN_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

#define IFPATTERN_MAX_TEXT	1024	/* bytes of a pattern */
#define IFPATTERN_MAX_NODES	512	/* pieces of a pattern */
#define IFPATTERN_MAX_DEPTH	64	/* groups and repetitions inside one another */
#define IFPATTERN_MAX_SUBJECT	31	/* bytes of a name that can match at all */

struct ifpattern;

/*
 * ifpattern_compile - parse @re (Go's syntax). Returns 0 with *@out set;
 * -EINVAL when Go's regexp.Compile would refuse it too; -ENOTSUP for valid
 * syntax nfqwall does not match (Unicode classes \p, \P; a pattern past the
 * limits above); -ENOMEM. The reason is written to @why.
 */
int __must_check ifpattern_compile(const char *re, struct ifpattern **out, char *why,
				   size_t whylen);

/* ifpattern_match - does @p match anywhere in @name? A name longer than
 * IFPATTERN_MAX_SUBJECT never matches (no interface has one). */
bool ifpattern_match(struct ifpattern *p, const char *name);

/* ifpattern_free - NULL is a no-op. */
void ifpattern_free(struct ifpattern *p);

#endif /* NFQWALL_IFPATTERN_H */
