/*
 * pkt.h - raw IPv4/IPv6 packet -> struct pkt_key.
 *
 * The worker threads call pkt_parse once per packet on the bytes NFQUEUE
 * copied (the packet starting at its IP header, possibly cut by the copy
 * range). Pure functions: no allocation, no locks, no syscalls.
 */
#ifndef NFQWALL_PKT_H
#define NFQWALL_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "pktkey.h"

/*
 * pkt_parse - fill @k from a packet that starts at its IPv4 or IPv6 header
 * (@len bytes available: may be less than the packet's real length when the
 * copy range cut it).
 * Sets family, proto, src, dst, len (IP total length / IPv6 payload length
 * + 40, from the header, not @len), flags, and sport/dport or
 * icmp_type/icmp_code when present. Leaves iif, oif, ct, ct_reply untouched
 * (the caller sets them).
 * Returns 0 when the L3 header was understood (even if L4 is truncated or
 * missing: see flags), or -EINVAL when not even an IP header can be read
 * (then flags has PKT_F_MALFORMED and family may be 0). Never reads outside
 * data[0..len). No allocation, no syscalls: runs per packet in the worker
 * threads.
 */
int __must_check pkt_parse(const uint8_t *data, size_t len, struct pkt_key *k);

/*
 * pkt_key_original - turn the key of a reply-direction packet into the key
 * of the connection's original direction (swap src/dst, sport/dport,
 * iif/oif; ICMP echo reply -> echo request (0->8), ICMPv6 echo reply ->
 * request (129->128), ICMP timestamp/info/address-mask replies -> requests
 * likewise (14->13, 16->15, 18->17); clear ct_reply). Used when re-judging
 * an established flow after a policy change.
 */
void pkt_key_original(struct pkt_key *k);

/*
 * pkt_proto_name - "tcp", "udp", "icmp", "icmpv6", "sctp", "udplite",
 * "gre", "esp", "ah", ... or NULL for an unnamed number.
 */
const char *pkt_proto_name(uint8_t proto);

#endif /* NFQWALL_PKT_H */
