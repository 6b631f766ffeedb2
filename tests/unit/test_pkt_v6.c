/*
 * test_pkt_v6.c - unit tests for nfq/pkt.c on IPv6: extension header
 * chains, fragments, AH, ESP, payload lengths and truncation. Packets are
 * built byte by byte and every parse runs on an exact-size heap copy
 * (test_pkt.h), so that ASan catches any read past the end.
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

/* A non-first fragment whose next header is one more extension: no protocol (as ip6tables). */
static void
test_v6_nonfirst_fragment_then_extension(void **state __unused)
{
	uint8_t b[128];
	size_t n = put_v6(b, 44, 8 + 8 + 20);
	struct pkt_key k;

	n += put_frag6(b + n, 60, 181, 1);
	n += put_ext(b + n, 6, 0);
	n += put_tcp(b + n, 1, 2);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.proto, PKT_PROTO_UNKNOWN);
	assert_int_equal(k.flags, PKT_F_FRAG | PKT_F_NONFIRST);
}

/*
 * The bypass of issue 8: 200 bytes of hop-by-hop options put the TCP header
 * past a 128-byte copy. The walk reads the whole chain when it is there, and
 * flags a cut copy as truncated (never as a port-less TCP packet).
 */
static void
test_v6_long_options_past_the_copy(void **state __unused)
{
	uint8_t b[40 + 208 + 20];
	size_t n = put_v6(b, 0, 208 + 20);
	struct pkt_key k;

	n += put_ext(b + n, 6, 25);		/* (25 + 1) * 8 = 208 bytes */
	n += put_tcp(b + n, 40000, 9090);
	assert_int_equal(n, sizeof(b));
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.flags, PKT_F_PORTS);
	assert_int_equal(k.dport, 9090);

	/* what a 128-byte copy range hands over */
	assert_int_equal(parse(b, 128, &k), 0);
	assert_int_equal(k.flags, PKT_F_TRUNC);
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.sport, 0);
	assert_int_equal(k.dport, 0);

	/* the options header says what follows it even when cut: TCP */
	put_v6(b, 60, 208 + 20);
	assert_int_equal(parse(b, 100, &k), 0);
	assert_int_equal(k.flags, PKT_F_TRUNC);
	assert_int_equal(k.proto, 6);

	/* a copy that ends before the header's first two bytes: no protocol */
	assert_int_equal(parse(b, 41, &k), 0);
	assert_int_equal(k.flags, PKT_F_TRUNC);
	assert_int_equal(k.proto, PKT_PROTO_UNKNOWN);
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

	/* the 17th is not: malformed, and the protocol is unknown (never an
	 * extension header type) */
	n = build_v6_long_chain(b, 17);
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.flags, PKT_F_MALFORMED);
	assert_int_equal(k.proto, PKT_PROTO_UNKNOWN);

	n = build_v6_long_chain(b, 20);
	assert_int_equal(n, sizeof(b));
	assert_int_equal(parse(b, n, &k), 0);
	assert_int_equal(k.flags, PKT_F_MALFORMED);
	assert_int_equal(k.proto, PKT_PROTO_UNKNOWN);
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
	assert_int_equal(k.proto, PKT_PROTO_UNKNOWN);
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
		/* cut inside the chain: no protocol (never an extension type) */
		if (len < 42) {
			proto = PKT_PROTO_UNKNOWN;
			flags = PKT_F_TRUNC;
		} else if (len < 50) {
			proto = PKT_PROTO_UNKNOWN;
			flags = PKT_F_TRUNC;
		} else if (len < 68) {
			proto = PKT_PROTO_UNKNOWN;
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v6_tcp),
		cmocka_unit_test(test_v6_udp_and_sctp),
		cmocka_unit_test(test_v6_ext_chain),
		cmocka_unit_test(test_v6_routing_and_mobility),
		cmocka_unit_test(test_v6_nonfirst_fragment),
		cmocka_unit_test(test_v6_nonfirst_fragment_then_extension),
		cmocka_unit_test(test_v6_long_options_past_the_copy),
		cmocka_unit_test(test_v6_icmpv6_echo),
		cmocka_unit_test(test_v6_ah_skip),
		cmocka_unit_test(test_v6_esp_and_nonext_stop),
		cmocka_unit_test(test_v6_chain_too_long),
		cmocka_unit_test(test_v6_hbh_not_first),
		cmocka_unit_test(test_v6_payload_length),
		cmocka_unit_test(test_v6_truncated_every_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
