/*
 * tsan.h - tell ThreadSanitizer about the synchronisation it cannot see.
 *
 * liburcu's grace periods (membarrier, signals) order a reader's last access
 * to a table before the table is freed, but TSan does not model them and
 * liburcu is not instrumented. Under -fsanitize=thread the RCU helpers of
 * ruleset.c release a token at the end of every read-side section and
 * acquire it before a reclaimed table is freed, and publication uses plain
 * C11 atomics: the happens-before edges RCU really provides, no more. In any
 * other build these are no-ops.
 */
#ifndef NFQWALL_TSAN_H
#define NFQWALL_TSAN_H

#if defined(__SANITIZE_THREAD__)
#define NFQWALL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NFQWALL_TSAN 1
#endif
#endif

#ifdef NFQWALL_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define TSAN_ACQUIRE(addr) __tsan_acquire((void *)(addr))
#define TSAN_RELEASE(addr) __tsan_release((void *)(addr))
#else
#define TSAN_ACQUIRE(addr) ((void)(addr))
#define TSAN_RELEASE(addr) ((void)(addr))
#endif

#endif /* NFQWALL_TSAN_H */
