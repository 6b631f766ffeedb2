/*
 * test_pkt.h - what the packet parser's tests share (test_pkt.c: IPv4,
 * pkt_key_original and names; test_pkt_v6.c: IPv6): packet builders that
 * write headers byte by byte, and parse(), which runs pkt_parse on an
 * exact-size heap copy, so that ASan catches any read past the end, and
 * checks that the caller's fields stay put. Include after <cmocka.h>.
 */
#ifndef NFQWALL_TEST_PKT_H
#define NFQWALL_TEST_PKT_H

#include <stdint.h>
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

static inline void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* IPv4 header with @ihl 32-bit words (options are NOPs); returns its length. */
static inline size_t
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

static inline size_t
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

static inline size_t
put_tcp(uint8_t *b, uint16_t sport, uint16_t dport)
{
	memset(b, 0, 20);
	put16(b, sport);
	put16(b + 2, dport);
	b[12] = 5 << 4;
	b[13] = 0x02;		/* SYN */
	return 20;
}

static inline size_t
put_udp(uint8_t *b, uint16_t sport, uint16_t dport)
{
	memset(b, 0, 8);
	put16(b, sport);
	put16(b + 2, dport);
	put16(b + 4, 8);
	return 8;
}

static inline size_t
put_sctp(uint8_t *b, uint16_t sport, uint16_t dport)
{
	memset(b, 0, 12);
	put16(b, sport);
	put16(b + 2, dport);
	b[4] = 0xde;		/* verification tag */
	return 12;
}

static inline size_t
put_icmp(uint8_t *b, uint8_t type, uint8_t code)
{
	memset(b, 0, 8);
	b[0] = type;
	b[1] = code;
	put16(b + 4, 0x4242);	/* identifier */
	return 8;
}

/* Options-format extension header (hop-by-hop, routing, dest, mobility): (units+1)*8 bytes. */
static inline size_t
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

static inline size_t
put_frag6(uint8_t *b, uint8_t nh, uint16_t off8, int more)
{
	memset(b, 0, 8);
	b[0] = nh;
	put16(b + 2, (uint16_t)(off8 << 3 | (more ? 1 : 0)));
	put16(b + 4, 0xcafe);	/* identification */
	return 8;
}

/* AH with @words 32-bit words of ICV: (words+3)*4 bytes, length field = words+1. */
static inline size_t
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
static inline int
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

static inline void
assert_addrs(const struct pkt_key *k, uint8_t family)
{
	struct addr s, d;

	assert_int_equal(k->family, family);
	addr_from_bytes(&s, family == AF_INET ? src4 : src6, family);
	addr_from_bytes(&d, family == AF_INET ? dst4 : dst6, family);
	assert_int_equal(addr_cmp(&k->src, &s), 0);
	assert_int_equal(addr_cmp(&k->dst, &d), 0);
}

#endif /* NFQWALL_TEST_PKT_H */
