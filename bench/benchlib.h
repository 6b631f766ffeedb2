/*
 * benchlib.h - what the bench programs share: a stop flag set by SIGINT and
 * SIGTERM, the monotonic clock in seconds and nanoseconds, checked number
 * arguments, IPv4 destinations and the median of a sample. Each .c file of bench/ is a
 * program of its own, so everything here is static inline.
 */
#ifndef NFQWALL_BENCHLIB_H
#define NFQWALL_BENCHLIB_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* bench_stop - set once SIGINT or SIGTERM arrived (after bench_catch_signals). */
static volatile sig_atomic_t bench_stop __attribute__((unused));

static inline void
bench_on_signal(int sig)
{
	(void)sig;
	bench_stop = 1;
}

/* bench_catch_signals - SIGINT and SIGTERM set bench_stop instead of killing. */
static inline void
bench_catch_signals(void)
{
	signal(SIGINT, bench_on_signal);
	signal(SIGTERM, bench_on_signal);
}

/* bench_now_s - CLOCK_MONOTONIC in seconds. */
static inline double
bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* bench_now_ns - CLOCK_MONOTONIC in nanoseconds (as a double, for timing arithmetic). */
static inline double
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * bench_num_arg - @s as a decimal number in [@lo, @hi]; otherwise print
 * "@prog: bad @what: @s" and exit 2 (a bench's usage error).
 */
static inline long
bench_num_arg(const char *prog, const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi) {
		fprintf(stderr, "%s: bad %s: %s\n", prog, what, s);
		exit(2);
	}
	return v;
}

/* bench_seconds_arg - @s as a duration in (0, 3600) seconds into *@out; false if not. */
static inline bool
bench_seconds_arg(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v > 0 && v < 3600))
		return false;
	*out = v;
	return true;
}

/*
 * bench_ipv4_dst - "ADDR" "PORT" arguments into @dst. Returns false (after
 * saying why) for a bad address; a bad port exits 2 (bench_num_arg).
 */
static inline bool
bench_ipv4_dst(const char *prog, const char *addr, const char *port, struct sockaddr_in *dst)
{
	dst->sin_family = AF_INET;
	if (inet_pton(AF_INET, addr, &dst->sin_addr) != 1) {
		fprintf(stderr, "%s: bad IPv4 address: %s\n", prog, addr);
		return false;
	}
	dst->sin_port = htons((uint16_t)bench_num_arg(prog, port, 1, 65535, "port"));
	return true;
}

static inline int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* bench_median - the median of @v (sorted in place). */
static inline double
bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* NFQWALL_BENCHLIB_H */
