/*
 * fuzz_pkt.c - libFuzzer target for pkt_parse and pkt_key_original.
 *
 * Each input is copied into an exact-size heap buffer (so ASan sees any read
 * past its end), parsed, and the key checked against invariants that hold
 * for every packet; a broken invariant aborts.
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude -Infq \
 *	tests/fuzz/fuzz_pkt.c nfq/pkt.c nfq/addr.c
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "pkt.h"

#define SENT_IIF	0x01020304u
#define SENT_OIF	0x05060708u

#include "fuzz.h"

static void
check(int cond)
{
	if (!cond)
		abort();
}

static int
ports_proto(uint8_t p)
{
	return p == 6 || p == 17 || p == 33 || p == 132 || p == 136;
}

static void
check_key(const uint8_t *buf, size_t size, int rc, const struct pkt_key *k)
{
	uint8_t f = k->flags;

	/* the caller's fields */
	check(k->iif == SENT_IIF && k->oif == SENT_OIF);
	check(k->ct == CT_INVALID && k->ct_reply == 1);

	if (rc != 0) {
		check(rc == -EINVAL);
		check(f == PKT_F_MALFORMED && k->family == 0);
		check(size < 20 || (buf[0] >> 4 != 4 && buf[0] >> 4 != 6) ||
		      (buf[0] >> 4 == 6 && size < 40));
		return;
	}
	check(k->family == AF_INET || k->family == AF_INET6);
	check((f & ~0x3fu) == 0);
	check(!((f & PKT_F_PORTS) && (f & PKT_F_ICMP)));
	check(!((f & (PKT_F_PORTS | PKT_F_ICMP)) && (f & PKT_F_NONFIRST)));
	check(!((f & (PKT_F_PORTS | PKT_F_ICMP)) && (f & PKT_F_TRUNC)));
	check(!(f & PKT_F_NONFIRST) || (f & PKT_F_FRAG));
	if (f & PKT_F_PORTS)
		check(ports_proto(k->proto));
	else
		check(k->sport == 0 && k->dport == 0);
	if (f & PKT_F_ICMP)
		check((k->family == AF_INET && k->proto == 1) ||
		      (k->family == AF_INET6 && k->proto == 58));
	else
		check(k->icmp_type == 0 && k->icmp_code == 0);

	if (k->family == AF_INET) {
		struct addr s, d;

		check(buf[0] >> 4 == 4 && size >= 20);
		check(k->len == (buf[2] << 8 | buf[3]));
		check(k->src.hi == 0 && k->dst.hi == 0);
		addr_from_bytes(&s, buf + 12, AF_INET);
		addr_from_bytes(&d, buf + 16, AF_INET);
		check(addr_cmp(&s, &k->src) == 0 && addr_cmp(&d, &k->dst) == 0);
		check(k->proto == buf[9]);
		/* ports/ICMP only with a sane header that leaves 4/2 bytes of L4 */
		if (f & (PKT_F_PORTS | PKT_F_ICMP))
			check((buf[0] & 0x0f) >= 5 &&
			      (size_t)(buf[0] & 0x0f) * 4 + ((f & PKT_F_PORTS) ? 4 : 2) <= size);
	} else {
		check(buf[0] >> 4 == 6 && size >= 40);
		check(k->len >= 40);
	}
}

/* A key full of @fill bytes, with the caller's fields (which pkt_parse must keep) set. */
static void
sentinel_key(struct pkt_key *k, int fill)
{
	memset(k, fill, sizeof(*k));
	k->iif = SENT_IIF;
	k->oif = SENT_OIF;
	k->ct = CT_INVALID;
	k->ct_reply = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	struct pkt_key k, again, orig;
	int rc;

	if (buf == NULL)
		return 0;
	if (size)
		memcpy(buf, data, size);
	sentinel_key(&k, 0xa5);
	rc = pkt_parse(buf, size, &k);
	check_key(buf, size, rc, &k);

	/* deterministic, and independent of what the key held before */
	sentinel_key(&again, 0x5a);
	check(pkt_parse(buf, size, &again) == rc);
	memcpy(again.pad, k.pad, sizeof(k.pad));
	check(memcmp(&k, &again, sizeof(k)) == 0);

	/* pkt_key_original swaps, and swapping twice gives the addresses back */
	orig = k;
	pkt_key_original(&orig);
	check(addr_cmp(&orig.src, &k.dst) == 0 && addr_cmp(&orig.dst, &k.src) == 0);
	check(orig.sport == k.dport && orig.dport == k.sport);
	check(orig.iif == k.oif && orig.oif == k.iif && orig.ct_reply == 0);
	check(orig.proto == k.proto && orig.flags == k.flags && orig.len == k.len);
	pkt_key_original(&orig);
	check(addr_cmp(&orig.src, &k.src) == 0 && orig.sport == k.sport);

	free(buf);
	return 0;
}
