/*
 * privs.h - drop every capability but those the daemon needs (privs.c).
 */
#ifndef NFQWALL_PRIVS_H
#define NFQWALL_PRIVS_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct privs_report {
	uint64_t kept;			/* bit per capability still held */
	int bounding_dropped;		/* the bounding set holds only what was kept */
	int no_new_privs;
};

/*
 * privs_drop - keep only the capabilities @keep[0..nkeep) (those the process
 * has), drop the rest from the effective, permitted, inheritable, ambient and
 * (with CAP_SETPCAP) bounding sets, and set no_new_privs. Call before any
 * thread starts. 0 or -errno; @r says what was kept.
 */
int __must_check privs_drop(const unsigned *keep, size_t nkeep, struct privs_report *r);

/* privs_effective - 1 when capability @cap is effective, 0 when not, -1 on error. */
int privs_effective(unsigned cap);

#endif /* NFQWALL_PRIVS_H */
