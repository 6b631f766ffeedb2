/*
 * rulefmt.h - short, bounded text for parts of a rule (nets, ports,
 * protocols), as `nfqwall check` lints and `nfqwall explain` reasons print
 * them. Control thread only.
 */
#ifndef NFQWALL_RULEFMT_H
#define NFQWALL_RULEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* At most this many items are written; the rest are counted ("and 3 more"). */
#define RULEFMT_MAX_ITEMS	16

/* rulefmt_nets - "10.0.0.0/8, 192.168.0.0/16" into @buf (always terminated). */
void rulefmt_nets(char *buf, size_t size, const struct cidr *v, size_t n);

/* rulefmt_ports - "[22, 443, 8000:8080, \"http\"]" into @buf (always terminated). */
void rulefmt_ports(char *buf, size_t size, const struct port_item *v, size_t n);

/* rulefmt_proto - "tcp", "udp", "icmp", ... or the number, into @buf (8 bytes). */
const char *rulefmt_proto(uint8_t proto, char *buf);

#endif /* NFQWALL_RULEFMT_H */
