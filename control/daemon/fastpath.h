/*
 * fastpath.h - the netfilter side of the connmark fast path (mark.h has
 * the bit layout): the rules that accept a flow already judged by the
 * current table, save a verdict's generation into the connmark, and carry
 * conntrack state to the workers in packet-mark bits. fwrules.c places
 * them in its chains. Control thread (and `nfqwall uninstall`) only.
 */
#ifndef NFQWALL_FASTPATH_H
#define NFQWALL_FASTPATH_H

#include <stdio.h>

#include "fwrules.h"

/* fastpath_accept_target - "NFQWALL-ACCEPT" in the filter table (clears
 * nfqwall's packet-mark bits, then accepts), "ACCEPT" in raw and mangle
 * (whose bits the filter table still reads). */
const char *fastpath_accept_target(const char *chain);

/* fastpath_accept_chain - NFQWALL-ACCEPT: clear nfqwall's packet-mark bits, accept. */
void fastpath_accept_chain(const struct fw_config *c, FILE *out);

/* fastpath_accept - accept a flow judged by the current table, or a failsafe flow. */
void fastpath_accept(const struct fw_config *c, const char *chain, FILE *out);

/*
 * fastpath_head - the head of a filter chain: the fast path first (most
 * packets end there), then untracked-allowed packets and returning verdicts
 * (a returning verdict's flow has no connmark yet: save G into it, accept).
 */
void fastpath_head(const struct fw_config *c, const char *chain, FILE *out);

/* fastpath_prednat_head - the head of mangle PREROUTING: the fast path,
 * untracked-allowed packets, and preDNAT Allows coming back from a verdict. */
void fastpath_prednat_head(const struct fw_config *c, const char *chain, FILE *out);

/* fastpath_prednat_final - in INPUT: a preDNAT Allow is final for host
 * ingress; mark the flow judged by the current table and accept. */
void fastpath_prednat_final(const struct fw_config *c, const char *chain, FILE *out);

/* fastpath_failsafe_chain - NFQWALL-FAILSAFE: give the flow the failsafe
 * generation (its replies then pass in the kernel) and accept. */
/*
 * fastpath_carry_chain - NFQWALL-CARRY0..3 (filter) for @family: a flow of
 * the recent generation fw_config.carry[i].gen with neither address in its
 * carry[i].v is moved to the current generation and accepted; one of those
 * addresses returns to be queued and judged again.
 */
void fastpath_carry_chain(const struct fw_config *c, int family, FILE *out);

void fastpath_failsafe_chain(const struct fw_config *c, FILE *out);

/* fastpath_ct_marks - just before the queue: conntrack ESTABLISHED and
 * reply direction into the E and R bits, for the workers to read. */
void fastpath_ct_marks(const struct fw_config *c, const char *chain, FILE *out);

/* fastpath_installed_gen - the generation in the fast-path rule of an
 * iptables-save dump of the filter table, or 0 when there is none. */
unsigned fastpath_installed_gen(const char *saved, const struct mark_layout *ml);

#endif /* NFQWALL_FASTPATH_H */
