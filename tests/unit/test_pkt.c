/*
 * test_pkt.c - unit tests for nfq/pkt.c: packets are built byte by byte and
 * every parse runs on an exact-size heap copy, so that ASan catches any read
 * past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "pkt.h"

#define SENT_IIF	0x11111111u
#define SENT_OIF	0x22222222u
#define SENT_CT		CT_RELATED
#define SENT_REPLY	1

static const uint8_t src4[4] = { 192, 0, 2, 1 };
static const uint8_t dst4[4] = { 198, 51, 100, 200 };
static const uint8_t src6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
				  0, 0, 0, 0, 0, 0, 0, 0x01 };
static const uint8_t dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0,
				  0x80, 0, 0, 0, 0, 0, 0x12, 0x34 };

/* --- packet builders ---------------------------------------------------- */

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* IPv4 header with @ihl 32-bit words (options are NOPs); returns its length. */
static size_t
put_v4(uint8_t *b, uint8_t proto, unsigned ihl, uint16_t tot, uint16_t frag)
{
	size_t hl = ihl < 5 ? 20 : ihl * 4;

	memset(b, 0, hl);
	b[0] = (uint8_t)(0x40 | (ihl & 0x0f));
	put16(b + 2, tot);
	put16(b + 4, 0x1234);
	put16(b + 6, frag);
	b[8] = 64;
	b[9] = proto;
	memcpy(b + 12, src4, 4);
	memcpy(b + 16, dst4, 4);
	for (size_t i = 20; i < hl; i++)
		b[i] = 1;		/* NOP option */
	return ihl < 5 ? 20 : hl;
}

static size_t
put_v6(uint8_t *b, uint8_t nh, uint16_t plen)
{
	memset(b, 0, 40);
	b[0] = 0x60;
	put16(b + 4, plen);
	b[6] = nh;
	b[7] = 64;
	memcpy(b + 8, src6, 16);
	memcpy(b + 24, dst6, 16);
	return 40;
}

static size_t
put_tcp(uint8_t *b, uint16_t sport, uint16_t dport)
{
	memset(b, 0, 20);
	put16(b, sport);
	put16(b + 2, dport);
	b[12] = 5 << 4;
	b[13] = 0x02;		/* SYN */
	return 20;
}

static size_t
put_udp(uint8_t *b, uint16_t sport, uint16_t dport)
{
	memset(b, 0, 8);
	put16(b, sport);
	put16(b + 2, dport);
	put16(b + 4, 8);
	return 8;
}

static size_t
put_sctp(uint8_t *b, uint16_t sport, uint16_t dport)
{
	memset(b, 0, 12);
	put16(b, sport);
	put16(b + 2, dport);
	b[4] = 0xde;		/* verification tag */
	return 12;
}

static size_t
put_icmp(uint8_t *b, uint8_t type, uint8_t code)
{
	memset(b, 0, 8);
	b[0] = type;
	b[1] = code;
	put16(b + 4, 0x4242);	/* identifier */
	return 8;
}

/* Options-format extension header (hop-by-hop, routing, dest, mobility): (units+1)*8 bytes. */
static size_t
put_ext(uint8_t *b, uint8_t nh, uint8_t units)
{
	size_t hl = ((size_t)units + 1) * 8;

	memset(b, 0, hl);
	b[0] = nh;
	b[1] = units;
	b[2] = 1;		/* PadN */
	b[3] = (uint8_t)(hl - 4);
	return hl;
}

static size_t
put_frag6(uint8_t *b, uint8_t nh, uint16_t off8, int more)
{
	memset(b, 0, 8);
	b[0] = nh;
	put16(b + 2, (uint16_t)(off8 << 3 | (more ? 1 : 0)));
	put16(b + 4, 0xcafe);	/* identification */
	return 8;
}

/* AH with @words 32-bit words of ICV: (words+3)*4 bytes, length field = words+1. */
static size_t
put_ah(uint8_t *b, uint8_t nh, uint8_t words)
{
	size_t hl = ((size_t)words + 3) * 4;

	memset(b, 0xab, hl);
	b[0] = nh;
	b[1] = (uint8_t)(words + 1);
	b[2] = 0;
	b[3] = 0;
	return hl;
}

/* --- parse helpers ------------------------------------------------------ */

/* Parse an exact-size heap copy of @p and check the caller's fields stay put. */
static int
parse(const uint8_t *p, size_t len, struct pkt_key *k)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	if (len)
		memcpy(copy, p, len);
	memset(k, 0xa5, sizeof(*k));
	k->iif = SENT_IIF;
	k->oif = SENT_OIF;
	k->ct = SENT_CT;
	k->ct_reply = SENT_REPLY;
	rc = pkt_parse(copy, len, k);
	free(copy);
	assert_int_equal(k->iif, SENT_IIF);
	assert_int_equal(k->oif, SENT_OIF);
	assert_int_equal(k->ct, SENT_CT);
	assert_int_equal(k->ct_reply, SENT_REPLY);
	if (!(k->flags & PKT_F_PORTS)) {
		assert_int_equal(k->sport, 0);
		assert_int_equal(k->dport, 0);
	}
	if (!(k->flags & PKT_F_ICMP)) {
		assert_int_equal(k->icmp_type, 0);
		assert_int_equal(k->icmp_code, 0);
	}
	return rc;
}

static void
assert_addrs(const struct pkt_key *k, uint8_t family)
{
	struct addr s, d;

	assert_int_equal(k->family, family);
	addr_from_bytes(&s, family == AF_INET ? src4 : src6, family);
	addr_from_bytes(&d, family == AF_INET ? dst4 : dst6, family);
	assert_int_equal(addr_cmp(&k->src, &s), 0);
	assert_int_equal(addr_cmp(&k->dst, &d), 0);
}

/* --- IPv4 --------------------------------------------------------------- */

static void
test_v4_tcp(void **state __unused)
{
	uint8_t b[64];
	size_t n = put_v4(b, 6, 5, 40, 0x4000);	/* DF */
	struct pkt_key k;

	n += put_tcp(b + n, 40000, 443);
	assert_int_equal(parse(b, n, &k), 0);
	assert_addrs(&k, AF_INET);
	assert_int_equal(k.src.lo, 0xc0000201u);	/* 192.0.2.1 */
	assert_int_equal(k.src.hi, 0);
	assert_int_equal(k.dst.lo, 0xc63364c8u);	/* 198.51.100.200 */
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.len, 40);
	assert_int_equal(k.flags, PKT_F_PORTS);
	assert_int_equal(k.sport, 40000);
	assert_int_equal(k.dport, 443);
}

static void
test_v4_udp(void **state __unused)
{
	uint8_t b[64];
	size_t n = put_v4(b, 17, 5, 28, 0);
	struct pkt_key k;

	n += put_udp(b + n, 5353, 53);
	assert_int_equal(parse(b, n, &k), 0);
	assert_addrs(&k, AF_INET);
	assert_int_equal(k.proto, 17);
	assert_int_equal(k.len, 28);
	assert_int_equal(k.flags, PKT_F_PORTS);
	assert_int_equal(k.sport, 5353);
	assert_int_equal(k.dport, 53);
}

static void
test_v4_sctp_udplite_dccp(void **state __unused)
{
	static const uint8_t protos[] = { 132, 136, 33 };
	uint8_t b[64];
	struct pkt_key k;

	for (size_t i = 0; i < ARRAY_SIZE(protos); i++) {
		size_t n = put_v4(b, protos[i], 5, 32, 0);

		n += put_sctp(b + n, 36412, 38412);
		assert_int_equal(parse(b, n, &k), 0);
		assert_addrs(&k, AF_INET);
		assert_int_equal(k.proto, protos[i]);
		assert_int_equal(k.len, 32);
		assert_int_equal(k.flags, PKT_F_PORTS);
		assert_int_equal(k.sport, 36412);
		assert_int_equal(k.dport, 38412);
	}
}

static void
test_v4_icmp_echo(void **state __unused)
{
	uint8_t b[64];
	size_t n = put_v4(b, 1, 5, 28, 0);
	struct pkt_key k;

	n += put_icmp(b + n, 8, 0);
	assert_int_equal(parse(b, n, &k), 0);
	assert_addrs(&k, AF_INET);
	assert_int_equal(k.proto, 1);
	assert_int_equal(k.flags, PKT_F_ICMP);
	assert_int_equal(k.icmp_type, 8);
	assert_int_equal(k.icmp_code, 0);

	/* destination unreachable, port unreachable */
	put_icmp(b + 20, 3, 3);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.flags, PKT_F_ICMP);
	assert_int_equal(k.icmp_type, 3);
	assert_int_equal(k.icmp_code, 3);
}

static void
test_v4_gre_no_ports(void **state __unused)
{
	uint8_t b[64];
	size_t n = put_v4(b, 47, 5, 44, 0);
	struct pkt_key k;

	memset(b + n, 0x55, 24);
	n += 24;
	assert_int_equal(parse(b, n, &k), 0);
	assert_addrs(&k, AF_INET);
	assert_int_equal(k.proto, 47);
	assert_int_equal(k.len, 44);
	assert_int_equal(k.flags, 0);
	/* GRE with only the IP header: nothing is missing that we would read */
	assert_int_equal(parse(b, 20, &k), 0);
	assert_int_equal(k.flags, 0);
}

static void
test_v4_icmpv6_proto_in_v4(void **state __unused)
{
	uint8_t b[64];
	size_t n = put_v4(b, 58, 5, 28, 0);
	struct pkt_key k;

	n += put_icmp(b + n, 128, 0);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.proto, 58);
	assert_int_equal(k.flags, 0);
}

static void
test_v4_options(void **state __unused)
{
	uint8_t b[128];
	size_t n = put_v4(b, 6, 15, 80, 0);	/* 40 bytes of options */
	struct pkt_key k;

	assert_int_equal(n, 60);
	n += put_tcp(b + n, 1234, 22);
	assert_int_equal(parse(b, n, &k), 0);
	assert_addrs(&k, AF_INET);
	assert_int_equal(k.len, 80);
	assert_int_equal(k.flags, PKT_F_PORTS);
	assert_int_equal(k.sport, 1234);
	assert_int_equal(k.dport, 22);

	/* the copy range cut the options: addresses yes, ports no */
	assert_int_equal(parse(b, 40, &k), 0);
	assert_addrs(&k, AF_INET);
	assert_int_equal(k.flags, PKT_F_TRUNC);
}

static void
test_v4_first_fragment(void **state __unused)
{
	uint8_t b[64];
	size_t n = put_v4(b, 17, 5, 1500, 0x2000);	/* MF, offset 0 */
	struct pkt_key k;

	n += put_udp(b + n, 4789, 4789);
	assert_int_equal(parse(b, n, &k), 0);
	assert_addrs(&k, AF_INET);
	assert_int_equal(k.len, 1500);
	assert_int_equal(k.flags, PKT_F_PORTS | PKT_F_FRAG);
	assert_int_equal(k.sport, 4789);
	assert_int_equal(k.dport, 4789);
}

static void
test_v4_nonfirst_fragment(void **state __unused)
{
	uint8_t b[64];
	size_t n = put_v4(b, 17, 5, 548, 0x2000 | 185);	/* MF, offset 1480 */
	struct pkt_key k;

	n += put_udp(b + n, 1111, 2222);	/* payload bytes that look like ports */
	assert_int_equal(parse(b, n, &k), 0);
	assert_addrs(&k, AF_INET);
	assert_int_equal(k.proto, 17);
	assert_int_equal(k.flags, PKT_F_FRAG | PKT_F_NONFIRST);

	/* last fragment: MF clear, offset set */
	put16(b + 6, 185);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.flags, PKT_F_FRAG | PKT_F_NONFIRST);
}

static void
test_v4_malformed_ihl(void **state __unused)
{
	uint8_t b[64];
	struct pkt_key k;

	for (unsigned ihl = 0; ihl < 5; ihl++) {
		size_t n = put_v4(b, 6, ihl, 40, 0);

		n += put_tcp(b + n, 1, 2);
		assert_int_equal(parse(b, n, &k), 0);
		assert_addrs(&k, AF_INET);
		assert_int_equal(k.proto, 6);
		assert_int_equal(k.len, 40);
		assert_int_equal(k.flags, PKT_F_MALFORMED);
	}
}

static void
test_v4_totlen_smaller_than_header(void **state __unused)
{
	uint8_t b[128];
	size_t n = put_v4(b, 6, 5, 19, 0);
	struct pkt_key k;

	n += put_tcp(b + n, 1, 2);
	assert_int_equal(parse(b, n, &k), 0);
	assert_addrs(&k, AF_INET);
	assert_int_equal(k.len, 19);
	assert_int_equal(k.flags, PKT_F_MALFORMED);

	/* with options: total length covers the fixed header but not the options */
	n = put_v4(b, 6, 8, 24, 0);
	n += put_tcp(b + n, 1, 2);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.len, 24);
	assert_int_equal(k.flags, PKT_F_MALFORMED);
}

static void
test_v4_totlen_cuts_l4(void **state __unused)
{
	uint8_t b[64];
	size_t n = put_v4(b, 6, 5, 22, 0);	/* says: 2 bytes of TCP */
	struct pkt_key k;

	n += put_tcp(b + n, 1, 2);		/* bytes past the packet's end */
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.len, 22);
	assert_int_equal(k.flags, PKT_F_TRUNC);

	put16(b + 2, 24);			/* exactly the 4 port bytes */
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.flags, PKT_F_PORTS);
	assert_int_equal(k.sport, 1);
	assert_int_equal(k.dport, 2);
}

static void
test_v4_totlen_zero(void **state __unused)
{
	uint8_t b[64];
	size_t n = put_v4(b, 6, 5, 0, 0);	/* BIG TCP: length not in the header */
	struct pkt_key k;

	n += put_tcp(b + n, 33000, 80);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.len, 0);
	assert_int_equal(k.flags, PKT_F_PORTS);
	assert_int_equal(k.sport, 33000);
	assert_int_equal(k.dport, 80);
}

static void
test_bad_version_and_short(void **state __unused)
{
	uint8_t b[64];
	struct pkt_key k;
	size_t n = put_v4(b, 6, 5, 40, 0);

	n += put_tcp(b + n, 1, 2);
	for (unsigned v = 0; v < 16; v++) {
		if (v == 4 || v == 6)
			continue;
		b[0] = (uint8_t)(v << 4 | 5);
		assert_int_equal(parse(b, n, &k), -EINVAL);
		assert_int_equal(k.flags, PKT_F_MALFORMED);
		assert_int_equal(k.family, 0);
		assert_int_equal(k.proto, 0);
		assert_int_equal(k.src.lo, 0);
	}
	/* version 6 with only 20..39 bytes: not even an IPv6 header */
	b[0] = 0x60;
	for (size_t len = 20; len < 40; len++) {
		assert_int_equal(parse(b, len, &k), -EINVAL);
		assert_int_equal(k.flags, PKT_F_MALFORMED);
	}
	/* version 4 but less than 20 bytes, and the empty packet */
	b[0] = 0x45;
	assert_int_equal(parse(b, 19, &k), -EINVAL);
	assert_int_equal(k.flags, PKT_F_MALFORMED);
	assert_int_equal(parse(b, 0, &k), -EINVAL);
	assert_int_equal(k.flags, PKT_F_MALFORMED);
	assert_int_equal(pkt_parse(NULL, 0, &k), -EINVAL);
}

/* Every prefix of a v4 TCP packet with @ihl words of header. */
static void
trunc_v4(unsigned ihl)
{
	uint8_t b[128];
	size_t hl = put_v4(b, 6, ihl, (uint16_t)(ihl * 4 + 20), 0);
	size_t full = hl + put_tcp(b + hl, 54321, 8080);
	struct pkt_key k;

	for (size_t len = 0; len <= full; len++) {
		int rc = parse(b, len, &k);

		if (len < 20) {
			assert_int_equal(rc, -EINVAL);
			assert_int_equal(k.flags, PKT_F_MALFORMED);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_addrs(&k, AF_INET);
		assert_int_equal(k.proto, 6);
		assert_int_equal(k.len, full);
		if (len >= hl + 4) {
			assert_int_equal(k.flags, PKT_F_PORTS);
			assert_int_equal(k.sport, 54321);
			assert_int_equal(k.dport, 8080);
		} else {
			assert_int_equal(k.flags, PKT_F_TRUNC);
		}
	}
}

static void
test_v4_truncated_every_length(void **state __unused)
{
	trunc_v4(5);
	trunc_v4(7);
}

/* --- IPv6 --------------------------------------------------------------- */

static void
test_v6_tcp(void **state __unused)
{
	uint8_t b[128];
	size_t n = put_v6(b, 6, 20);
	struct pkt_key k;

	n += put_tcp(b + n, 50000, 6443);
	assert_int_equal(parse(b, n, &k), 0);
	assert_addrs(&k, AF_INET6);
	assert_int_equal(k.src.hi, 0x20010db800000000ull);
	assert_int_equal(k.src.lo, 1);
	assert_int_equal(k.dst.hi, 0x20010db8ffff0000ull);
	assert_int_equal(k.dst.lo, 0x8000000000001234ull);
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.len, 60);
	assert_int_equal(k.flags, PKT_F_PORTS);
	assert_int_equal(k.sport, 50000);
	assert_int_equal(k.dport, 6443);
}

static void
test_v6_udp_and_sctp(void **state __unused)
{
	uint8_t b[128];
	size_t n = put_v6(b, 17, 8);
	struct pkt_key k;

	n += put_udp(b + n, 546, 547);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.proto, 17);
	assert_int_equal(k.len, 48);
	assert_int_equal(k.flags, PKT_F_PORTS);
	assert_int_equal(k.sport, 546);
	assert_int_equal(k.dport, 547);

	n = put_v6(b, 132, 12);
	n += put_sctp(b + n, 2905, 2906);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.proto, 132);
	assert_int_equal(k.flags, PKT_F_PORTS);
	assert_int_equal(k.sport, 2905);
	assert_int_equal(k.dport, 2906);
}

/* IPv6 | hop-by-hop (8) | dest opts (16) | fragment (8, offset 0, M) | TCP (20) */
static size_t
build_v6_chain(uint8_t *b)
{
	size_t n = put_v6(b, 0, 52);

	n += put_ext(b + n, 60, 0);
	n += put_ext(b + n, 44, 1);
	n += put_frag6(b + n, 6, 0, 1);
	n += put_tcp(b + n, 40001, 179);
	return n;
}

static void
test_v6_ext_chain(void **state __unused)
{
	uint8_t b[128];
	size_t n = build_v6_chain(b);
	struct pkt_key k;

	assert_int_equal(n, 92);
	assert_int_equal(parse(b, n, &k), 0);
	assert_addrs(&k, AF_INET6);
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.len, 92);
	assert_int_equal(k.flags, PKT_F_PORTS | PKT_F_FRAG);
	assert_int_equal(k.sport, 40001);
	assert_int_equal(k.dport, 179);

	/* atomic fragment (offset 0, no M): not a fragment */
	b[40 + 8 + 16 + 3] = 0;
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.flags, PKT_F_PORTS);
	assert_int_equal(k.sport, 40001);
}

static void
test_v6_routing_and_mobility(void **state __unused)
{
	uint8_t b[128];
	size_t n = put_v6(b, 43, 8 + 8 + 8);
	struct pkt_key k;

	n += put_ext(b + n, 135, 0);
	n += put_ext(b + n, 17, 0);
	n += put_udp(b + n, 7, 9);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.proto, 17);
	assert_int_equal(k.flags, PKT_F_PORTS);
	assert_int_equal(k.sport, 7);
	assert_int_equal(k.dport, 9);
}

static void
test_v6_nonfirst_fragment(void **state __unused)
{
	uint8_t b[128];
	size_t n = put_v6(b, 44, 8 + 20);
	struct pkt_key k;

	n += put_frag6(b + n, 6, 181, 1);
	n += put_tcp(b + n, 1, 2);		/* payload that looks like ports */
	assert_int_equal(parse(b, n, &k), 0);
	assert_addrs(&k, AF_INET6);
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.flags, PKT_F_FRAG | PKT_F_NONFIRST);

	/* last fragment (no M) is non-first too */
	b[43] = (uint8_t)(b[43] & ~1);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.flags, PKT_F_FRAG | PKT_F_NONFIRST);
}

static void
test_v6_icmpv6_echo(void **state __unused)
{
	uint8_t b[128];
	size_t n = put_v6(b, 58, 8);
	struct pkt_key k;

	n += put_icmp(b + n, 128, 0);
	assert_int_equal(parse(b, n, &k), 0);
	assert_addrs(&k, AF_INET6);
	assert_int_equal(k.proto, 58);
	assert_int_equal(k.flags, PKT_F_ICMP);
	assert_int_equal(k.icmp_type, 128);
	assert_int_equal(k.icmp_code, 0);

	/* ICMPv4 inside IPv6: recorded, not decoded */
	b[6] = 1;
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.proto, 1);
	assert_int_equal(k.flags, 0);
}

static void
test_v6_ah_skip(void **state __unused)
{
	uint8_t b[128];
	size_t n = put_v6(b, 51, 24 + 20);
	struct pkt_key k;

	n += put_ah(b + n, 6, 3);		/* 24 bytes: 96-bit ICV */
	assert_int_equal(n, 64);
	n += put_tcp(b + n, 5001, 5002);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.flags, PKT_F_PORTS);
	assert_int_equal(k.sport, 5001);
	assert_int_equal(k.dport, 5002);
}

static void
test_v6_esp_and_nonext_stop(void **state __unused)
{
	uint8_t b[128];
	size_t n = put_v6(b, 60, 8 + 16);
	struct pkt_key k;

	n += put_ext(b + n, 50, 0);
	memset(b + n, 0x06, 16);		/* SPI, seq: must not be read as headers */
	n += 16;
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.proto, 50);
	assert_int_equal(k.flags, 0);

	b[40] = 59;				/* no next header */
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.proto, 59);
	assert_int_equal(k.flags, 0);

	b[40] = 253;				/* experimental: unknown, stop */
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.proto, 253);
	assert_int_equal(k.flags, 0);
}

/* IPv6 with @next extension headers (dest opts) in a row, then TCP. */
static size_t
build_v6_long_chain(uint8_t *b, int next)
{
	size_t n = put_v6(b, 60, (uint16_t)(next * 8 + 20));

	for (int i = 0; i < next; i++)
		n += put_ext(b + n, i == next - 1 ? 6 : 60, 0);
	n += put_tcp(b + n, 1, 2);
	return n;
}

static void
test_v6_chain_too_long(void **state __unused)
{
	uint8_t b[40 + 20 * 8 + 20];
	struct pkt_key k;
	size_t n;

	/* 16 extension headers are followed */
	n = build_v6_long_chain(b, 16);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.flags, PKT_F_PORTS);
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.sport, 1);

	/* the 17th is not: the walk stops at its type */
	n = build_v6_long_chain(b, 17);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.flags, PKT_F_MALFORMED);
	assert_int_equal(k.proto, 60);

	n = build_v6_long_chain(b, 20);
	assert_int_equal(n, sizeof(b));
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.flags, PKT_F_MALFORMED);
	assert_int_equal(k.proto, 60);
}

static void
test_v6_hbh_not_first(void **state __unused)
{
	uint8_t b[128];
	size_t n = put_v6(b, 60, 8 + 8 + 8);
	struct pkt_key k;

	n += put_ext(b + n, 0, 0);
	n += put_ext(b + n, 17, 0);
	n += put_udp(b + n, 10, 20);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.proto, 17);
	assert_int_equal(k.flags, PKT_F_MALFORMED | PKT_F_PORTS);
	assert_int_equal(k.sport, 10);
}

static void
test_v6_payload_length(void **state __unused)
{
	uint8_t b[128];
	size_t n = put_v6(b, 0, 0);		/* jumbo / BIG TCP: 0 in the header */
	struct pkt_key k;

	n += put_ext(b + n, 6, 0);
	n += put_tcp(b + n, 443, 60000);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.len, 40);
	assert_int_equal(k.flags, PKT_F_PORTS);
	assert_int_equal(k.sport, 443);

	/* payload length ends inside the hop-by-hop header's successor */
	put16(b + 4, 10);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.len, 50);
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.flags, PKT_F_TRUNC);

	/* payload length before the hop-by-hop header's length byte */
	put16(b + 4, 1);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.proto, 0);
	assert_int_equal(k.flags, PKT_F_TRUNC);

	/* the largest payload length saturates instead of wrapping */
	put16(b + 4, 0xffff);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.len, 0xffff);
	assert_int_equal(k.flags, PKT_F_PORTS);
}

static void
test_v6_truncated_every_length(void **state __unused)
{
	uint8_t b[128];
	size_t full = build_v6_chain(b);
	struct pkt_key k;

	for (size_t len = 0; len <= full; len++) {
		int rc = parse(b, len, &k);
		uint8_t proto, flags;

		if (len < 40) {
			assert_int_equal(rc, -EINVAL);
			assert_int_equal(k.flags, PKT_F_MALFORMED);
			assert_int_equal(k.family, 0);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_addrs(&k, AF_INET6);
		assert_int_equal(k.len, full);
		/* hbh at 40, dest at 48, frag at 64, tcp at 72 */
		if (len < 42) {
			proto = 0;
			flags = PKT_F_TRUNC;
		} else if (len < 50) {
			proto = 60;
			flags = PKT_F_TRUNC;
		} else if (len < 68) {
			proto = 44;
			flags = PKT_F_TRUNC | PKT_F_FRAG;
		} else if (len < 76) {
			proto = 6;
			flags = PKT_F_TRUNC | PKT_F_FRAG;
		} else {
			proto = 6;
			flags = PKT_F_PORTS | PKT_F_FRAG;
		}
		assert_int_equal(k.proto, proto);
		assert_int_equal(k.flags, flags);
		if (flags & PKT_F_PORTS) {
			assert_int_equal(k.sport, 40001);
			assert_int_equal(k.dport, 179);
		}
	}
}

/* --- pkt_key_original and names ----------------------------------------- */

static void
test_original_tcp(void **state __unused)
{
	uint8_t b[64];
	size_t n = put_v4(b, 6, 5, 40, 0);
	struct pkt_key k;
	struct addr s, d;

	n += put_tcp(b + n, 443, 40000);	/* server -> client */
	assert_int_equal(parse(b, n, &k), 0);
	k.iif = 2;
	k.oif = 3;
	k.ct = CT_ESTABLISHED;
	k.ct_reply = 1;
	pkt_key_original(&k);
	addr_from_bytes(&s, src4, AF_INET);
	addr_from_bytes(&d, dst4, AF_INET);
	assert_int_equal(addr_cmp(&k.src, &d), 0);
	assert_int_equal(addr_cmp(&k.dst, &s), 0);
	assert_int_equal(k.sport, 40000);
	assert_int_equal(k.dport, 443);
	assert_int_equal(k.iif, 3);
	assert_int_equal(k.oif, 2);
	assert_int_equal(k.ct, CT_ESTABLISHED);
	assert_int_equal(k.ct_reply, 0);
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.flags, PKT_F_PORTS);
}

static void
test_original_icmp_v4(void **state __unused)
{
	static const struct { uint8_t reply, orig; } map[] = {
		{ 0, 8 }, { 14, 13 }, { 16, 15 }, { 18, 17 },
		{ 3, 3 }, { 8, 8 }, { 11, 11 },	/* not replies: unchanged */
	};
	uint8_t b[64];
	size_t n = put_v4(b, 1, 5, 28, 0);
	struct pkt_key k;
	struct addr s;

	n += put_icmp(b + n, 0, 0);
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		b[20] = map[i].reply;
		assert_int_equal(parse(b, n, &k), 0);
		assert_int_equal(k.flags, PKT_F_ICMP);
		pkt_key_original(&k);
		assert_int_equal(k.icmp_type, map[i].orig);
		assert_int_equal(k.icmp_code, 0);
		assert_int_equal(k.ct_reply, 0);
		addr_from_bytes(&s, src4, AF_INET);
		assert_int_equal(addr_cmp(&k.dst, &s), 0);
		assert_int_equal(k.iif, SENT_OIF);
		assert_int_equal(k.oif, SENT_IIF);
	}
}

static void
test_original_icmp_v6(void **state __unused)
{
	uint8_t b[128];
	size_t n = put_v6(b, 58, 8);
	struct pkt_key k;
	struct addr s, d;

	n += put_icmp(b + n, 129, 0);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.icmp_type, 129);
	pkt_key_original(&k);
	assert_int_equal(k.icmp_type, 128);
	assert_int_equal(k.ct_reply, 0);
	addr_from_bytes(&s, src6, AF_INET6);
	addr_from_bytes(&d, dst6, AF_INET6);
	assert_int_equal(addr_cmp(&k.src, &d), 0);
	assert_int_equal(addr_cmp(&k.dst, &s), 0);

	/* the ICMPv4 reply numbers mean something else in ICMPv6 */
	b[40] = 0;
	assert_int_equal(parse(b, n, &k), 0);
	pkt_key_original(&k);
	assert_int_equal(k.icmp_type, 0);

	/* and an ICMPv6 type is left alone in ICMPv4 */
	n = put_v4(b, 1, 5, 28, 0);
	n += put_icmp(b + n, 129, 0);
	assert_int_equal(parse(b, n, &k), 0);
	pkt_key_original(&k);
	assert_int_equal(k.icmp_type, 129);
}

static void
test_proto_name(void **state __unused)
{
	assert_string_equal(pkt_proto_name(6), "tcp");
	assert_string_equal(pkt_proto_name(17), "udp");
	assert_string_equal(pkt_proto_name(1), "icmp");
	assert_string_equal(pkt_proto_name(58), "icmpv6");
	assert_string_equal(pkt_proto_name(132), "sctp");
	assert_string_equal(pkt_proto_name(136), "udplite");
	assert_string_equal(pkt_proto_name(47), "gre");
	assert_string_equal(pkt_proto_name(50), "esp");
	assert_string_equal(pkt_proto_name(51), "ah");
	assert_string_equal(pkt_proto_name(33), "dccp");
	assert_null(pkt_proto_name(253));
	assert_null(pkt_proto_name(255));
	assert_null(pkt_proto_name(200));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_tcp),
		cmocka_unit_test(test_v4_udp),
		cmocka_unit_test(test_v4_sctp_udplite_dccp),
		cmocka_unit_test(test_v4_icmp_echo),
		cmocka_unit_test(test_v4_gre_no_ports),
		cmocka_unit_test(test_v4_icmpv6_proto_in_v4),
		cmocka_unit_test(test_v4_options),
		cmocka_unit_test(test_v4_first_fragment),
		cmocka_unit_test(test_v4_nonfirst_fragment),
		cmocka_unit_test(test_v4_malformed_ihl),
		cmocka_unit_test(test_v4_totlen_smaller_than_header),
		cmocka_unit_test(test_v4_totlen_cuts_l4),
		cmocka_unit_test(test_v4_totlen_zero),
		cmocka_unit_test(test_bad_version_and_short),
		cmocka_unit_test(test_v4_truncated_every_length),
		cmocka_unit_test(test_v6_tcp),
		cmocka_unit_test(test_v6_udp_and_sctp),
		cmocka_unit_test(test_v6_ext_chain),
		cmocka_unit_test(test_v6_routing_and_mobility),
		cmocka_unit_test(test_v6_nonfirst_fragment),
		cmocka_unit_test(test_v6_icmpv6_echo),
		cmocka_unit_test(test_v6_ah_skip),
		cmocka_unit_test(test_v6_esp_and_nonext_stop),
		cmocka_unit_test(test_v6_chain_too_long),
		cmocka_unit_test(test_v6_hbh_not_first),
		cmocka_unit_test(test_v6_payload_length),
		cmocka_unit_test(test_v6_truncated_every_length),
		cmocka_unit_test(test_original_tcp),
		cmocka_unit_test(test_original_icmp_v4),
		cmocka_unit_test(test_original_icmp_v6),
		cmocka_unit_test(test_proto_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
