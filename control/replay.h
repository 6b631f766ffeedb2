/*
 * replay.h - `nfqwall replay`: judge the flows of flow journals under two
 * policy sets and print the flows whose verdict changes.
 */
#ifndef NFQWALL_REPLAY_H
#define NFQWALL_REPLAY_H

#include <stddef.h>

/* replay_main - `nfqwall replay`; returns the exit status (0 nothing changes,
 * 1 some verdict changes, 2 usage, unreadable or invalid input, 70 memory). */
int replay_main(int argc, char **argv);

struct polset;

/*
 * replay_unused - the journal lint of `nfqwall check --journal`: judge every
 * flow of the @n flow journals with the table of @ps for @node, as replay
 * does, and add a warning to @ps->diags for each rule no flow matched
 * (decided or logged). Returns 0, 2 for an unreadable or invalid journal
 * (said on stderr), or the out-of-memory exit status.
 */
int replay_unused(struct polset *ps, const char *node, const char *const *journals, size_t n);

#endif /* NFQWALL_REPLAY_H */
