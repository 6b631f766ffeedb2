/*
 * clock.h - the one monotonic clock every thread reads: heartbeats, stall
 * checks, backoff, rate limits and timings are all CLOCK_MONOTONIC
 * nanoseconds, so they compare across threads.
 */
#ifndef NFQWALL_CLOCK_H
#define NFQWALL_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NSEC_PER_SEC 1000000000ull

/* mono_ns - CLOCK_MONOTONIC now, in nanoseconds. */
static inline uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

#endif /* NFQWALL_CLOCK_H */
