/*
 * addr.h - IPv4/IPv6 addresses and CIDRs as 128-bit integers.
 *
 * struct addr (pktkey.h) keeps an address in host order so the classifier
 * compares addresses as numbers. These helpers convert to and from text and
 * do the prefix arithmetic. Pure functions, any thread.
 */
#ifndef NFQWALL_ADDR_H
#define NFQWALL_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "compiler.h"
#include "pktkey.h"

/* A CIDR: family, network address (host bits zero after cidr_parse) and prefix length. */
struct cidr {
	struct addr addr;
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t plen;		/* 0..32 or 0..128 */
};

/* Longest text addr_format/cidr_format write, with the NUL. */
#define ADDR_STRLEN	46
#define CIDR_STRLEN	50

/* addr_parse - parse a bare IPv4 or IPv6 address. Returns 0 or -EINVAL. */
int __must_check addr_parse(const char *s, struct addr *a, uint8_t *family);

/* addr_format - write @a as text into @buf (ADDR_STRLEN bytes); returns @buf. */
const char *addr_format(const struct addr *a, uint8_t family, char *buf);

/* addr_from_bytes - big-endian wire bytes (4 or 16) to struct addr. */
void addr_from_bytes(struct addr *a, const uint8_t *bytes, uint8_t family);

/* addr_to_bytes - struct addr to big-endian wire bytes (4 or 16). */
void addr_to_bytes(const struct addr *a, uint8_t family, uint8_t *bytes);

enum cidr_mode {
	CIDR_STRICT,	/* "a/len" required, host bits must be zero (rule nets) */
	CIDR_LOOSE,	/* a bare address is /32 or /128; host bits are cleared (network sets) */
};

/*
 * cidr_parse - parse "addr/len" (or a bare address in CIDR_LOOSE mode).
 * Returns 0; -EINVAL when it is not an address or CIDR; in CIDR_STRICT mode,
 * -EDOM when host bits are set and -ENOENT for a bare address (the address and
 * family are filled in then, plen is not).
 */
int __must_check cidr_parse(const char *s, enum cidr_mode mode, struct cidr *c);

/* cidr_format - "addr/len" into @buf (CIDR_STRLEN bytes); returns @buf. */
const char *cidr_format(const struct cidr *c, char *buf);

/* addr_bits - 32 or 128. */
static inline unsigned
addr_bits(uint8_t family)
{
	return family == AF_INET ? 32 : 128;
}

/* addr_cmp - compare two addresses of one family as integers (-1, 0, 1). */
static inline int
addr_cmp(const struct addr *a, const struct addr *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

/* cidr_last - the highest address inside @c. */
struct addr cidr_last(const struct cidr *c);

/* cidr_contains - is @a (of @c's family) inside @c? */
bool cidr_contains(const struct cidr *c, const struct addr *a);

/* addr_max - the highest address of @family. */
struct addr addr_max(uint8_t family);

/* addr_inc - @a + 1; returns false on wrap past the family's highest address. */
bool addr_inc(struct addr *a, uint8_t family);

/* addr_dec - @a - 1; returns false on wrap below zero. */
bool addr_dec(struct addr *a);

#endif /* NFQWALL_ADDR_H */
