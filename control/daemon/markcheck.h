/*
 * markcheck.h - does anyone else on this node use nfqwall's mark bits?
 *
 * nfqwall keeps its fast-path state in the bits of --mark-mask, in the
 * packet mark and in the connmark (mark.h). Another program that sets,
 * clears or tests the same bits (Calico Felix, kube-proxy, Cilium, a
 * service mesh) would read nfqwall's state as its own, or clobber it. At
 * start the daemon reads every other rule of the node (iptables-save and
 * ip6tables-save of every table, and `nft list ruleset` for native
 * nftables tables such as kube-proxy's nftables mode) and refuses a mask
 * that overlaps what they use. docs/coexistence.md has the known users.
 * Control thread only.
 */
#ifndef NFQWALL_MARKCHECK_H
#define NFQWALL_MARKCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One foreign rule that uses mark bits. */
struct mark_user {
	uint32_t bits;		/* bits it sets, clears or tests under a mask */
	bool ct;		/* in the connmark (else the packet mark) */
	bool exact;		/* it compares the whole mark with a value (no mask) */
	char where[200];	/* "ip nat KUBE-MARK-MASQ: -j MARK --set-xmark 0x4000/0x4000" */
};

/*
 * markcheck_iptables - the rules in iptables-save text @text (family name
 * @fam, "ip" or "ip6") that use mark bits, outside nfqwall's own chains.
 * Fills at most @max of @out; returns how many there are.
 */
size_t markcheck_iptables(const char *text, const char *fam, struct mark_user *out, size_t max);

/*
 * markcheck_nft - the same for `nft list ruleset` text, in tables other
 * than iptables-nft's own (filter, nat, mangle, raw, security of ip/ip6,
 * which iptables-save shows) unless @all_tables (iptables-save failed).
 */
size_t markcheck_nft(const char *text, bool all_tables, struct mark_user *out, size_t max);

/*
 * markcheck_node - read the node's rules (iptables-save, ip6tables-save,
 * their legacy twins when installed, nft list ruleset) and compare with
 * @mask. The chains of known programs (cali-*, KUBE-*, CNI-HOSTPORT-*,
 * CILIUM_*, ts-*) also reserve what those programs may use later. Returns
 * 0 when no rule uses a bit of @mask (rules that compare the whole mark are
 * logged as warnings), -EBUSY on an overlap, with *@conflicts rules and a
 * message in @why naming the first rule, the bits and a mask that would be
 * free.
 */
int markcheck_node(uint32_t mask, char *why, size_t whylen, unsigned *conflicts);

/*
 * markcheck_suggest - the highest run of @want contiguous bits free of
 * @used, or 0 when there is none.
 */
uint32_t markcheck_suggest(uint32_t used, unsigned want);

#endif /* NFQWALL_MARKCHECK_H */
