/*
 * compiler.h - small compiler helpers shared by every nfqwall module.
 */
#ifndef NFQWALL_COMPILER_H
#define NFQWALL_COMPILER_H

#include <stddef.h>

#define __must_check	__attribute__((warn_unused_result))
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define __unused	__attribute__((unused))
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#endif /* NFQWALL_COMPILER_H */
