/*
 * flow.h - a packet as people write it: "tcp 203.0.113.7:40000 ->
 * 192.168.130.10:30080", "udp [2001:db8::1]:5353 -> [2001:db8::2]:53",
 * "icmp 10.0.0.1 -> 10.0.0.2 type 8 code 0". The one-argument form of
 * `nfqwall explain`. Control thread only.
 */
#ifndef NFQWALL_FLOW_H
#define NFQWALL_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* A longer text is refused: no flow needs it. */
#define FLOW_MAX_LEN	256

struct flow {
	uint8_t proto;
	uint8_t family;			/* AF_INET or AF_INET6 */
	struct addr src;
	struct addr dst;
	bool has_sport;
	bool has_dport;
	uint16_t sport;
	uint16_t dport;
	bool has_icmp_type;
	bool has_icmp_code;
	uint8_t icmp_type;
	uint8_t icmp_code;
};

/* flow_proto - tcp, udp, icmp, icmpv6, sctp, ... (any case) or 0..255; -1 if neither. */
int flow_proto(const char *s);

/* flow_has_ports - does @proto carry ports (tcp, udp, sctp, udplite, dccp)? */
bool flow_has_ports(uint8_t proto);

/*
 * flow_parse - "PROTO SRC[:PORT] -> DST[:PORT] [type N [code N]]", IPv6
 * addresses in brackets when a port follows. A protocol with ports needs
 * the destination port (the source port is optional); ICMP takes no ports
 * but an optional type and code. Returns 0, or -EINVAL with what is wrong
 * in @why (never longer than @whylen).
 */
int __must_check flow_parse(const char *text, struct flow *f, char *why, size_t whylen);

#endif /* NFQWALL_FLOW_H */
