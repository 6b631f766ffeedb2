/*
 * flow.c - a packet as people write it (see flow.h). Control thread only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "compiler.h"
#include "flow.h"

#define FLOW_MAX_WORDS	6

int
flow_proto(const char *s)
{
	static const struct {
		const char *name;
		int num;
	} names[] = {
		{ "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP }, { "icmp", IPPROTO_ICMP },
		{ "icmpv6", IPPROTO_ICMPV6 }, { "sctp", IPPROTO_SCTP },
		{ "udplite", IPPROTO_UDPLITE }, { "gre", IPPROTO_GRE }, { "esp", IPPROTO_ESP },
		{ "ah", IPPROTO_AH }, { "dccp", IPPROTO_DCCP },
	};
	unsigned long v;
	char *end;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].num;
	if (*s < '0' || *s > '9' || strlen(s) > 3)
		return -1;
	v = strtoul(s, &end, 10);
	return *end == '\0' && v <= 255 ? (int)v : -1;
}

bool
flow_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_DCCP;
}

/* A decimal number 0..@max, at most 5 digits. */
static bool
flow_num(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9' || strlen(s) > 5)
		return false;
	*out = strtoul(s, &end, 10);
	return *end == '\0' && *out <= max;
}

/* Split @s (in place) on blanks into at most @max words: their count, or -1 for more. */
static int
flow_words(char *s, char **w, int max)
{
	int n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			*s++ = '\0';
		if (*s == '\0')
			return n;
		if (n == max)
			return -1;
		w[n++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
	}
}

/*
 * One end, "ADDR", "ADDR:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 address,
 * parsed in place. Returns 0 or -EINVAL (said in @why).
 */
static int
flow_end(char *s, const char *which, struct addr *a, uint8_t *fam, bool *has_port,
	 uint16_t *port, bool *bare6, char *why, size_t whylen)
{
	char *addr = s, *p = NULL;
	unsigned long v;

	*has_port = false;
	*bare6 = false;
	if (*s == '[') {
		char *close = strchr(s, ']');

		if (close == NULL) {
			snprintf(why, whylen, "%s '%s': no ']' after the IPv6 address", which, s);
			return -EINVAL;
		}
		*close = '\0';
		addr = s + 1;
		if (close[1] == ':') {
			p = close + 2;
		} else if (close[1] != '\0') {
			snprintf(why, whylen, "%s: after ']' only ':PORT' may follow", which);
			return -EINVAL;
		}
	} else {
		char *colon = strchr(s, ':');

		/* one colon: IPv4:PORT; more: a bare IPv6 address (no port without brackets) */
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			*colon = '\0';
			p = colon + 1;
		}
		*bare6 = colon != NULL && p == NULL;
	}
	if (addr_parse(addr, a, fam) < 0) {
		snprintf(why, whylen, "%s: '%s' is not an IP address (IPv6 with a port: "
			 "[2001:db8::1]:443)", which, addr);
		return -EINVAL;
	}
	if (p != NULL) {
		if (!flow_num(p, 65535, &v)) {
			snprintf(why, whylen, "%s: port '%s' is not 0..65535", which, p);
			return -EINVAL;
		}
		*has_port = true;
		*port = (uint16_t)v;
	}
	return 0;
}

/* "type N [code N]" after an ICMP destination: 0 or -EINVAL. */
static int
flow_icmp(char **w, int n, struct flow *f, char *why, size_t whylen)
{
	unsigned long v;

	if (n == 0)
		return 0;
	if ((n != 2 && n != 4) || strcmp(w[0], "type") != 0 || (n == 4 && strcmp(w[2], "code"))) {
		snprintf(why, whylen, "after an ICMP destination only 'type N' or 'type N code N' "
			 "may follow");
		return -EINVAL;
	}
	if (!flow_num(w[1], 255, &v)) {
		snprintf(why, whylen, "ICMP type '%s' is not 0..255", w[1]);
		return -EINVAL;
	}
	f->has_icmp_type = true;
	f->icmp_type = (uint8_t)v;
	if (n == 4) {
		if (!flow_num(w[3], 255, &v)) {
			snprintf(why, whylen, "ICMP code '%s' is not 0..255", w[3]);
			return -EINVAL;
		}
		f->has_icmp_code = true;
		f->icmp_code = (uint8_t)v;
	}
	return 0;
}

/* The protocol's rules for ports and ICMP once both ends are read: 0 or -EINVAL. */
static int
flow_check(struct flow *f, const char *proto, char **rw, int nr, char *why, size_t whylen)
{
	bool icmp = f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6;

	if (f->proto == IPPROTO_ICMP && f->family == AF_INET6) {
		snprintf(why, whylen, "icmp between IPv6 addresses: write icmpv6");
		return -EINVAL;
	}
	if (f->proto == IPPROTO_ICMPV6 && f->family == AF_INET) {
		snprintf(why, whylen, "icmpv6 between IPv4 addresses: write icmp");
		return -EINVAL;
	}
	if (flow_has_ports(f->proto)) {
		if (!f->has_dport) {
			snprintf(why, whylen, "%s needs a destination port: DST:PORT ([IPv6]:PORT)",
				 proto);
			return -EINVAL;
		}
		if (nr > 1) {
			snprintf(why, whylen, "'%s' after the destination: only ICMP takes more "
				 "(type N code N)", rw[1]);
			return -EINVAL;
		}
		return 0;
	}
	if (f->has_sport || f->has_dport) {
		snprintf(why, whylen, "%s has no ports%s", proto, icmp ?
			 "; give 'type N code N' after the destination instead" : "");
		return -EINVAL;
	}
	if (!icmp && nr > 1) {
		snprintf(why, whylen, "'%s' after the destination: only ICMP takes more "
			 "(type N code N)", rw[1]);
		return -EINVAL;
	}
	return icmp ? flow_icmp(rw + 1, nr - 1, f, why, whylen) : 0;
}

int
flow_parse(const char *text, struct flow *f, char *why, size_t whylen)
{
	char buf[FLOW_MAX_LEN], *arrow, *lw[FLOW_MAX_WORDS], *rw[FLOW_MAX_WORDS];
	size_t len = strlen(text);
	uint8_t fs, fd;
	bool b6s, b6d;
	int nl, nr, proto;

	memset(f, 0, sizeof(*f));
	if (len >= sizeof(buf)) {
		snprintf(why, whylen, "longer than %zu bytes", sizeof(buf) - 1);
		return -EINVAL;
	}
	memcpy(buf, text, len + 1);
	arrow = strstr(buf, "->");
	if (arrow == NULL || strstr(arrow + 2, "->") != NULL) {
		snprintf(why, whylen, "write it as 'PROTO SRC[:PORT] -> DST[:PORT]', with one '->'");
		return -EINVAL;
	}
	*arrow = '\0';
	nl = flow_words(buf, lw, FLOW_MAX_WORDS);
	nr = flow_words(arrow + 2, rw, FLOW_MAX_WORDS);
	if (nl != 2 || nr < 1) {
		snprintf(why, whylen, "write it as 'PROTO SRC[:PORT] -> DST[:PORT]', e.g. "
			 "'tcp 203.0.113.7:40000 -> 192.168.130.10:30080'");
		return -EINVAL;
	}
	proto = flow_proto(lw[0]);
	if (proto < 0) {
		snprintf(why, whylen, "'%.32s' is not a protocol (tcp, udp, icmp, icmpv6, sctp, "
			 "udplite or 0..255)", lw[0]);
		return -EINVAL;
	}
	f->proto = (uint8_t)proto;
	if (flow_end(lw[1], "source", &f->src, &fs, &f->has_sport, &f->sport, &b6s, why,
		     whylen) < 0 ||
	    flow_end(rw[0], "destination", &f->dst, &fd, &f->has_dport, &f->dport, &b6d, why,
		     whylen) < 0)
		return -EINVAL;
	if (fs != fd) {
		snprintf(why, whylen, "the source and the destination must be of one IP version%s",
			 b6s || b6d ? " (an IPv6 address with a port is written in brackets: "
			 "[2001:db8::1]:443)" : "");
		return -EINVAL;
	}
	/* "2001:db8::1:443" parses as an address: the port would be silently lost */
	if ((b6s || b6d) && flow_has_ports(f->proto) && !f->has_dport) {
		snprintf(why, whylen, "%s needs a destination port, and an IPv6 address with a "
			 "port is written in brackets: [2001:db8::1]:443", lw[0]);
		return -EINVAL;
	}
	f->family = fs;
	return flow_check(f, lw[0], rw, nr, why, whylen);
}
