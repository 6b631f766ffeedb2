/*
 * rulefmt.c - bounded text for parts of a rule (see rulefmt.h). Control
 * thread only.
 */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "compiler.h"
#include "rulefmt.h"

/* Append to @buf (@size bytes, holding *@len): never past the end. */
static void __printf(4, 5)
put(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*len += (size_t)n < size - *len ? (size_t)n : size - *len - 1;
}

void
rulefmt_nets(char *buf, size_t size, const struct cidr *v, size_t n)
{
	size_t len = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < n && i < RULEFMT_MAX_ITEMS; i++) {
		char c[CIDR_STRLEN];

		put(buf, size, &len, "%s%s", i ? ", " : "", cidr_format(&v[i], c));
	}
	if (n > RULEFMT_MAX_ITEMS)
		put(buf, size, &len, " and %zu more", n - RULEFMT_MAX_ITEMS);
}

void
rulefmt_ports(char *buf, size_t size, const struct port_item *v, size_t n)
{
	size_t len = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	put(buf, size, &len, "[");
	for (size_t i = 0; i < n && i < RULEFMT_MAX_ITEMS; i++) {
		const char *sep = i ? ", " : "";

		if (v[i].name != NULL)
			put(buf, size, &len, "%s\"%.63s\"", sep, v[i].name);
		else if (v[i].lo == v[i].hi)
			put(buf, size, &len, "%s%u", sep, v[i].lo);
		else
			put(buf, size, &len, "%s%u:%u", sep, v[i].lo, v[i].hi);
	}
	if (n > RULEFMT_MAX_ITEMS)
		put(buf, size, &len, " and %zu more", n - RULEFMT_MAX_ITEMS);
	put(buf, size, &len, "]");
}

const char *
rulefmt_proto(uint8_t proto, char *buf)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_UDPLITE:
		return "udplite";
	default:
		snprintf(buf, 8, "%u", proto);
		return buf;
	}
}
