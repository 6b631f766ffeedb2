/*
 * addr.c - address and CIDR text conversion and prefix arithmetic.
 * Pure functions; used by the control thread and by explain.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

void
addr_from_bytes(struct addr *a, const uint8_t *b, uint8_t family)
{
	if (family == AF_INET) {
		a->hi = 0;
		a->lo = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
			(uint32_t)b[2] << 8 | b[3];
		return;
	}
	a->hi = 0;
	a->lo = 0;
	for (int i = 0; i < 8; i++) {
		a->hi = a->hi << 8 | b[i];
		a->lo = a->lo << 8 | b[i + 8];
	}
}

void
addr_to_bytes(const struct addr *a, uint8_t family, uint8_t *b)
{
	if (family == AF_INET) {
		for (int i = 0; i < 4; i++)
			b[i] = (uint8_t)(a->lo >> (24 - 8 * i));
		return;
	}
	for (int i = 0; i < 8; i++) {
		b[i] = (uint8_t)(a->hi >> (56 - 8 * i));
		b[i + 8] = (uint8_t)(a->lo >> (56 - 8 * i));
	}
}

int
addr_parse(const char *s, struct addr *a, uint8_t *family)
{
	uint8_t buf[16];

	if (strchr(s, ':') != NULL) {
		if (inet_pton(AF_INET6, s, buf) != 1)
			return -EINVAL;
		*family = AF_INET6;
	} else {
		if (inet_pton(AF_INET, s, buf) != 1)
			return -EINVAL;
		*family = AF_INET;
	}
	addr_from_bytes(a, buf, *family);
	return 0;
}

const char *
addr_format(const struct addr *a, uint8_t family, char *out)
{
	uint8_t buf[16];

	addr_to_bytes(a, family, buf);
	if (inet_ntop(family, buf, out, ADDR_STRLEN) == NULL)
		snprintf(out, ADDR_STRLEN, "?");
	return out;
}

/* The host-bit mask of a prefix, as an addr. */
static struct addr
host_mask(uint8_t family, unsigned plen)
{
	struct addr m = { 0, 0 };
	unsigned bits = addr_bits(family), hostbits = bits - plen;

	if (family == AF_INET) {
		m.lo = hostbits >= 32 ? 0xffffffffu : ((1ull << hostbits) - 1);
		return m;
	}
	if (hostbits >= 128) {
		m.hi = m.lo = ~0ull;
	} else if (hostbits >= 64) {
		m.lo = ~0ull;
		m.hi = hostbits == 64 ? 0 : (1ull << (hostbits - 64)) - 1;
	} else {
		m.lo = hostbits == 0 ? 0 : (1ull << hostbits) - 1;
	}
	return m;
}

int
cidr_parse(const char *s, enum cidr_mode mode, struct cidr *c)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long plen;
	char *end;

	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (addr_parse(buf, &c->addr, &c->family) < 0)
		return -EINVAL;
	if (slash == NULL) {
		if (mode == CIDR_STRICT)
			return -ENOENT;
		c->plen = (uint8_t)addr_bits(c->family);
		return 0;
	}
	if (slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	errno = 0;
	plen = strtoul(slash + 1, &end, 10);
	if (errno != 0 || *end != '\0' || plen > addr_bits(c->family) ||
	    (slash[1] == '0' && slash[2] != '\0'))
		return -EINVAL;
	c->plen = (uint8_t)plen;

	struct addr m = host_mask(c->family, c->plen);

	if ((c->addr.hi & m.hi) || (c->addr.lo & m.lo)) {
		if (mode == CIDR_STRICT)
			return -EDOM;
		c->addr.hi &= ~m.hi;
		c->addr.lo &= ~m.lo;
	}
	return 0;
}

const char *
cidr_format(const struct cidr *c, char *out)
{
	char a[ADDR_STRLEN];

	snprintf(out, CIDR_STRLEN, "%s/%u", addr_format(&c->addr, c->family, a), c->plen);
	return out;
}

struct addr
cidr_last(const struct cidr *c)
{
	struct addr m = host_mask(c->family, c->plen), r;

	r.hi = c->addr.hi | m.hi;
	r.lo = c->addr.lo | m.lo;
	return r;
}

bool
cidr_contains(const struct cidr *c, const struct addr *a)
{
	struct addr last = cidr_last(c);

	return addr_cmp(a, &c->addr) >= 0 && addr_cmp(a, &last) <= 0;
}

struct addr
addr_max(uint8_t family)
{
	struct addr m = host_mask(family, 0);

	return m;
}

bool
addr_inc(struct addr *a, uint8_t family)
{
	struct addr max = addr_max(family);

	if (addr_cmp(a, &max) == 0)
		return false;
	if (++a->lo == 0)
		a->hi++;
	return true;
}

bool
addr_dec(struct addr *a)
{
	if (a->hi == 0 && a->lo == 0)
		return false;
	if (a->lo-- == 0)
		a->hi--;
	return true;
}
