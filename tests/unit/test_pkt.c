/*
 * test_pkt.c - unit tests for nfq/pkt.c: IPv4, pkt_key_original and
 * protocol names (IPv6 is test_pkt_v6.c). Packets are built byte by byte
 * and every parse runs on an exact-size heap copy (test_pkt.h), so that
 * ASan catches any read past the end.
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

#include "test_pkt.h"

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
		cmocka_unit_test(test_original_tcp),
		cmocka_unit_test(test_original_icmp_v4),
		cmocka_unit_test(test_original_icmp_v6),
		cmocka_unit_test(test_proto_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
