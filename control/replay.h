/*
 * replay.h - `nfqwall replay`: judge the flows of flow journals under two
 * policy sets and print the flows whose verdict changes.
 */
#ifndef NFQWALL_REPLAY_H
#define NFQWALL_REPLAY_H

/* replay_main - `nfqwall replay`; returns the exit status (0 nothing changes,
 * 1 some verdict changes, 2 usage, unreadable or invalid input, 70 memory). */
int replay_main(int argc, char **argv);

#endif /* NFQWALL_REPLAY_H */
