/*
 * pkt.c - parse a raw IPv4/IPv6 packet into the classifier's struct pkt_key.
 *
 * Runs in the worker threads, once per packet, on the bytes NFQUEUE copied
 * (they start at the IP header and may be cut short by the copy range).
 * Touches nothing under RCU and nothing shared: every read is bounded by the
 * byte count the caller gives, there is no allocation and no syscall.
 *
 * Two bounds apply to every read: @len (what was copied) and the packet's
 * own end as its header states it (IPv4 total length, IPv6 payload length;
 * a zero there means "not in the header", as with BIG TCP and jumbograms,
 * and then only @len applies). A header cut by either bound sets
 * PKT_F_TRUNC; a header that contradicts itself sets PKT_F_MALFORMED.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "pkt.h"

#define IPV4_HLEN	20
#define IPV6_HLEN	40
#define IPV4_MF		0x2000		/* more fragments, in frag_off */
#define IPV4_OFFMASK	0x1fff		/* fragment offset, in 8-byte units */
#define IPV6_FRAG_OFF	0xfff8		/* offset bits of the fragment header's word */
#define IPV6_FRAG_M	0x0001		/* more fragments */
#define IPV6_MAX_EXT	16		/* extension headers followed; one more is malformed */

/* What the L4 header of a protocol gives us. */
enum l4_kind {
	L4_NONE = 0,
	L4_PORTS,	/* 16-bit source and destination port in the first 4 bytes */
	L4_ICMP4,	/* type, code in the first 2 bytes; only inside IPv4 */
	L4_ICMP6,	/* type, code in the first 2 bytes; only inside IPv6 */
};

static const uint8_t l4_kind[256] = {
	[1]	= L4_ICMP4,
	[6]	= L4_PORTS,	/* tcp */
	[17]	= L4_PORTS,	/* udp */
	[33]	= L4_PORTS,	/* dccp */
	[58]	= L4_ICMP6,
	[132]	= L4_PORTS,	/* sctp */
	[136]	= L4_PORTS,	/* udplite */
};

/* The extension headers the chain walk steps over (and "no next header"). */
static inline bool
ipv6_ext_hdr(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60 || nh == 135;
}

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Read the L4 fields of k->proto from data[off..limit). @icmp is the L4_ICMP*
 * kind that is valid in this family. An L4 header that does not fit sets
 * PKT_F_TRUNC.
 */
static void
pkt_l4(const uint8_t *d, size_t off, size_t limit, uint8_t icmp, struct pkt_key *k)
{
	uint8_t kind = l4_kind[k->proto];

	if (kind == L4_PORTS) {
		if (likely(off + 4 <= limit)) {
			k->sport = rd16(d + off);
			k->dport = rd16(d + off + 2);
			k->flags |= PKT_F_PORTS;
		} else {
			k->flags |= PKT_F_TRUNC;
		}
	} else if (kind == icmp) {
		if (likely(off + 2 <= limit)) {
			k->icmp_type = d[off];
			k->icmp_code = d[off + 1];
			k->flags |= PKT_F_ICMP;
		} else {
			k->flags |= PKT_F_TRUNC;
		}
	}
}

static int
pkt_parse4(const uint8_t *d, size_t len, struct pkt_key *k)
{
	size_t ihl = (size_t)(d[0] & 0x0f) * 4;
	size_t tot = rd16(d + 2);
	uint16_t frag = rd16(d + 6);
	size_t limit = len;

	k->family = AF_INET;
	k->proto = d[9];
	k->len = (uint16_t)tot;
	addr_from_bytes(&k->src, d + 12, AF_INET);
	addr_from_bytes(&k->dst, d + 16, AF_INET);

	if (frag & (IPV4_MF | IPV4_OFFMASK))
		k->flags |= PKT_F_FRAG;
	if (frag & IPV4_OFFMASK)
		k->flags |= PKT_F_NONFIRST;
	/* tot == 0: the length is not in the header (BIG TCP GSO) */
	if (unlikely(ihl < IPV4_HLEN || (tot != 0 && tot < ihl))) {
		k->flags |= PKT_F_MALFORMED;
		return 0;
	}
	if (k->flags & PKT_F_NONFIRST)
		return 0;
	if (tot != 0 && tot < limit)
		limit = tot;
	pkt_l4(d, ihl, limit, L4_ICMP4, k);
	return 0;
}

static int
pkt_parse6(const uint8_t *d, size_t len, struct pkt_key *k)
{
	size_t plen = rd16(d + 4);
	size_t limit = len, off = IPV6_HLEN, hlen;
	uint8_t nh = d[6];
	uint16_t fo;
	unsigned n;

	k->family = AF_INET6;
	k->len = plen > UINT16_MAX - IPV6_HLEN ? UINT16_MAX : (uint16_t)(plen + IPV6_HLEN);
	addr_from_bytes(&k->src, d + 8, AF_INET6);
	addr_from_bytes(&k->dst, d + 24, AF_INET6);
	/* plen == 0: jumbogram or BIG TCP, the length is not in the header */
	if (plen != 0 && plen + IPV6_HLEN < limit)
		limit = plen + IPV6_HLEN;

	for (n = 0;; n++) {
		/* hop-by-hop belongs right after the IPv6 header only */
		if (unlikely(nh == 0 && off != IPV6_HLEN))
			k->flags |= PKT_F_MALFORMED;
		switch (nh) {
		case 0:		/* hop-by-hop */
		case 43:	/* routing */
		case 60:	/* destination options */
		case 135:	/* mobility */
			if (off + 2 > limit)
				goto trunc;
			hlen = ((size_t)d[off + 1] + 1) * 8;
			break;
		case 51:	/* AH: length in 4-byte units, minus 2 */
			if (off + 2 > limit)
				goto trunc;
			hlen = ((size_t)d[off + 1] + 2) * 4;
			break;
		case 44:	/* fragment */
			if (off + 4 > limit) {
				k->flags |= PKT_F_FRAG;
				goto trunc;
			}
			fo = rd16(d + off + 2);
			if (fo & IPV6_FRAG_OFF) {
				/* no L4 header here; the next header may be one more
				 * extension (as ip6tables' ipv6_find_hdr, no protocol then) */
				k->flags |= PKT_F_FRAG | PKT_F_NONFIRST;
				k->proto = ipv6_ext_hdr(d[off]) ? PKT_PROTO_UNKNOWN : d[off];
				return 0;
			}
			if (fo & IPV6_FRAG_M)
				k->flags |= PKT_F_FRAG;
			hlen = 8;
			break;
		default:	/* L4, ESP (50), no next header (59), unknown */
			k->proto = nh;
			pkt_l4(d, off, limit, L4_ICMP6, k);
			return 0;
		}
		if (unlikely(n == IPV6_MAX_EXT))
			break;		/* chain too long to be a real packet */
		nh = d[off];
		off += hlen;
	}
	/* an extension header type is never the packet's protocol */
	k->flags |= PKT_F_MALFORMED;
	k->proto = PKT_PROTO_UNKNOWN;
	return 0;
trunc:
	k->flags |= PKT_F_TRUNC;
	k->proto = PKT_PROTO_UNKNOWN;
	return 0;
}

int
pkt_parse(const uint8_t *data, size_t len, struct pkt_key *k)
{
	unsigned version = len > 0 ? data[0] >> 4 : 0;

	k->sport = 0;
	k->dport = 0;
	k->icmp_type = 0;
	k->icmp_code = 0;
	k->flags = 0;
	if (likely(version == 4 && len >= IPV4_HLEN))
		return pkt_parse4(data, len, k);
	if (likely(version == 6 && len >= IPV6_HLEN))
		return pkt_parse6(data, len, k);

	memset(&k->src, 0, sizeof(k->src));
	memset(&k->dst, 0, sizeof(k->dst));
	k->family = 0;
	k->proto = 0;
	k->len = 0;
	k->flags = PKT_F_MALFORMED;
	return -EINVAL;
}

void
pkt_key_original(struct pkt_key *k)
{
	struct addr a = k->src;
	uint32_t ifi = k->iif;
	uint16_t port = k->sport;

	k->src = k->dst;
	k->dst = a;
	k->iif = k->oif;
	k->oif = ifi;
	k->sport = k->dport;
	k->dport = port;
	k->ct_reply = 0;
	if (!(k->flags & PKT_F_ICMP))
		return;
	if (k->proto == 1) {
		switch (k->icmp_type) {
		case 0:		/* echo reply */
			k->icmp_type = 8;
			break;
		case 14:	/* timestamp reply */
		case 16:	/* information reply */
		case 18:	/* address mask reply */
			k->icmp_type--;
			break;
		}
	} else if (k->proto == 58 && k->icmp_type == 129) {
		k->icmp_type = 128;
	}
}

static const char *const proto_names[256] = {
	[0]	= "hopopt",
	[1]	= "icmp",
	[2]	= "igmp",
	[4]	= "ipip",
	[6]	= "tcp",
	[8]	= "egp",
	[17]	= "udp",
	[33]	= "dccp",
	[41]	= "ipv6",
	[43]	= "ipv6-route",
	[44]	= "ipv6-frag",
	[46]	= "rsvp",
	[47]	= "gre",
	[50]	= "esp",
	[51]	= "ah",
	[58]	= "icmpv6",
	[59]	= "ipv6-nonxt",
	[60]	= "ipv6-opts",
	[88]	= "eigrp",
	[89]	= "ospf",
	[97]	= "etherip",
	[103]	= "pim",
	[108]	= "ipcomp",
	[112]	= "vrrp",
	[115]	= "l2tp",
	[132]	= "sctp",
	[135]	= "mobility",
	[136]	= "udplite",
	[137]	= "mpls-in-ip",
	[143]	= "ethernet",
};

const char *
pkt_proto_name(uint8_t proto)
{
	return proto_names[proto];
}
