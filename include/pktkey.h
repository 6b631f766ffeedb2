/*
 * pktkey.h - the fixed-layout key a packet is classified by.
 *
 * nfq/pkt.c fills it from the raw IP header (the packet as NFQUEUE hands
 * it over: it starts at the IPv4 or IPv6 header); nfqwall explain fills it
 * from the command line. The classifier reads only this key.
 */
#ifndef NFQWALL_PKTKEY_H
#define NFQWALL_PKTKEY_H

#include <stdint.h>

/*
 * An address as a 128-bit unsigned number in host byte order, so that the
 * classifier compares addresses as integers. IPv4 uses lo only (hi = 0,
 * lo = the 32-bit address), IPv6 uses both (hi = the first 8 bytes).
 */
struct addr {
	uint64_t hi;
	uint64_t lo;
};

enum pkt_flags {
	PKT_F_PORTS	= 1 << 0,	/* sport/dport are valid (TCP, UDP, SCTP, UDPLite, first fragment) */
	PKT_F_ICMP	= 1 << 1,	/* icmp_type/icmp_code are valid (ICMP, ICMPv6, first fragment) */
	PKT_F_FRAG	= 1 << 2,	/* a fragment (first or not) */
	PKT_F_NONFIRST	= 1 << 3,	/* a non-first fragment: no L4 header at all */
	PKT_F_TRUNC	= 1 << 4,	/* the L4 header was cut off by the copy range or the packet */
	PKT_F_MALFORMED	= 1 << 5,	/* headers inconsistent (bad IHL, lengths, extension chain) */
};

/*
 * A packet flagged PKT_F_TRUNC or PKT_F_MALFORMED has no L4 header nfqwall
 * could read: it is never judged as if it had no ports (that would let a
 * port Deny be skipped), it is dropped (reason "l4-unreadable"). When an
 * IPv6 extension chain was cut short or is malformed, proto is this value,
 * never an extension header type.
 */
#define PKT_PROTO_UNKNOWN	255
#define PKT_F_UNREADABLE	(PKT_F_TRUNC | PKT_F_MALFORMED)

/* Conntrack state as seen before the queue (docs/architecture.md §4). */
enum ct_state {
	CT_NEW = 0,
	CT_ESTABLISHED,
	CT_RELATED,
	CT_INVALID,
	CT_UNTRACKED,
};

struct pkt_key {
	struct addr src;
	struct addr dst;
	uint32_t iif;		/* input interface index, 0 = none */
	uint32_t oif;		/* output interface index, 0 = none */
	uint16_t sport;		/* host order; valid with PKT_F_PORTS */
	uint16_t dport;
	uint16_t len;		/* IP total length (or payload length + 40 for IPv6) */
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t proto;		/* L4 protocol after IPv6 extension headers */
	uint8_t icmp_type;	/* valid with PKT_F_ICMP */
	uint8_t icmp_code;
	uint8_t flags;		/* enum pkt_flags */
	uint8_t ct;		/* enum ct_state */
	uint8_t ct_reply;	/* 1 when the packet travels in the reply direction */
	uint8_t pad[3];
};

#endif /* NFQWALL_PKTKEY_H */
