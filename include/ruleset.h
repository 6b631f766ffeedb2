/*
 * ruleset.h - the compiled rule table: the contract between control/
 * (which builds it) and nfq/ (which reads it).
 *
 * A ruleset is one immutable block: a header, then tables addressed by byte
 * offsets from the start of the block, and a string table. Nothing in it
 * points into the policy model. It holds, for every host endpoint of this
 * node and every hook and IP family, a "chain": the ordered entries that
 * decide there (failsafes, then tiers' rules with their end-of-tier
 * entries, then profiles), indexed by a per-field classifier:
 *
 *   protocol    256-entry table           -> bitset id
 *   src, dst    sorted address intervals  -> bitset id
 *   sport, dport, icmp type/code
 *               sorted 16-bit intervals   -> bitset id (plus a "none" id for
 *                                            packets without that header)
 *
 * (The exact layout, with bitsets stored as rows of deduplicated 512-entry
 * blocks, direct and windowed indexes, is described in ruleset_layout.h.)
 * A bitset has one bit per entry (in chain order). ANDing the six bitsets a
 * packet selects gives the entries that match it; the first terminal one in
 * order decides, Log entries before it are reported, and Pass jumps to the
 * next tier's first entry. Lookup cost depends on the number of distinct
 * field values and on the position of the deciding entry, not on a walk of
 * the rules. Identical bitsets are stored once.
 *
 * Readers (workers) take the current table under an RCU read lock once per
 * batch; the control thread publishes a new table and frees the old one
 * after a grace period.
 */
#ifndef NFQWALL_RULESET_H
#define NFQWALL_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "compiler.h"
#include "pktkey.h"
#include "verdict.h"

/* Where a packet is judged: the stage and direction of one netfilter hook. */
enum rs_hook {
	RS_UNTRACKED_IN,	/* raw PREROUTING */
	RS_UNTRACKED_OUT,	/* raw OUTPUT */
	RS_PREDNAT_IN,		/* mangle PREROUTING */
	RS_NORMAL_IN,		/* filter INPUT */
	RS_NORMAL_OUT,		/* filter OUTPUT */
	RS_FORWARD_IN,		/* filter FORWARD, ingress of the incoming endpoint */
	RS_FORWARD_OUT,		/* filter FORWARD, egress of the outgoing endpoint */
	RS_NHOOKS,
};

/* What one entry does when it is the first terminal match. */
enum rs_action {
	RS_A_ALLOW,
	RS_A_DENY,
	RS_A_PASS,		/* continue at entry .next (the next tier) */
	RS_A_LOG,		/* non-terminal: reported, evaluation goes on */
	RS_A_FAILSAFE,		/* accept in the normal stage; skip the stage elsewhere */
	RS_A_EOT_DENY,		/* end of tier: defaultAction Deny */
	RS_A_NO_PROFILE,	/* no profile decided: drop */
};

enum rs_outcome {
	RS_CONTINUE,		/* no verdict at this hook: later hooks decide */
	RS_ACCEPT,
	RS_DROP,
};

enum rs_meta_kind {
	RS_META_RULE,		/* a policy rule */
	RS_META_EOT,		/* end of a tier */
	RS_META_PROFILE,	/* a profile (rule 0) */
	RS_META_NO_PROFILE,
	RS_META_FAILSAFE,
	RS_META_SELF,		/* nfqwall's own port on loopback (a failsafe entry) */
};

#define RS_NO_META	UINT32_MAX
#define RS_MAX_LOGS	16

/* What an entry stands for: printed by explain, logged, counted. */
struct rs_meta {
	uint32_t tier;		/* string offset, 0 = none */
	uint32_t policy;	/* string offset of the policy or profile name, 0 = none */
	int32_t rule;		/* rule index in the policy, -1 = none */
	uint8_t kind;		/* enum rs_meta_kind */
	uint8_t action;		/* enum rs_action */
	uint8_t stage;		/* enum stage */
	uint8_t dir;		/* enum dir */
};

/* The result of one lookup. */
struct rs_verdict {
	uint8_t outcome;	/* enum rs_outcome */
	uint8_t reason;		/* enum reason */
	int32_t hep;		/* host endpoint index, -1 = none */
	uint32_t meta;		/* the deciding entry's meta, RS_NO_META = none */
	uint32_t nlog;		/* Log entries that matched before the decision */
	uint32_t log[RS_MAX_LOGS];
};

struct ruleset;

/*
 * ruleset_lookup - judge @k at @hook: find the host endpoint of the packet's
 * interface (iif for *_IN hooks, oif for *_OUT), then the first deciding
 * entry of its chain. No allocation, no lock; any number of threads.
 */
void ruleset_lookup(const struct ruleset *rs, enum rs_hook hook, const struct pkt_key *k,
		    struct rs_verdict *v);

/* ruleset_meta - the meta record @idx (< ruleset_nmeta). */
const struct rs_meta *ruleset_meta(const struct ruleset *rs, uint32_t idx);

/* ruleset_nmeta - number of meta records (rules, tier ends, profiles, failsafes). */
uint32_t ruleset_nmeta(const struct ruleset *rs);

/*
 * ruleset_origin - where the entries of meta record @idx were written: the
 * file ("" when unknown: profiles, failsafes, the built-in default tier)
 * and its line in *@line (0 when unknown).
 */
const char *ruleset_origin(const struct ruleset *rs, uint32_t idx, uint32_t *line);

/* ruleset_str - a string of the table by offset ("" for 0). */
const char *ruleset_str(const struct ruleset *rs, uint32_t off);

/* ruleset_gen - the generation number the table was published with. */
uint64_t ruleset_gen(const struct ruleset *rs);

/* ruleset_set_gen - set the generation (control thread, before publishing). */
void ruleset_set_gen(struct ruleset *rs, uint64_t gen);

/* ruleset_invalid_drop - are conntrack INVALID packets dropped? */
bool ruleset_invalid_drop(const struct ruleset *rs);

/* ruleset_size - bytes of the block. */
size_t ruleset_size(const struct ruleset *rs);

/* ruleset_nheps / ruleset_hep_name - the host endpoints of this node. */
uint32_t ruleset_nheps(const struct ruleset *rs);
const char *ruleset_hep_name(const struct ruleset *rs, int32_t hep);

/* ruleset_stats - entries and distinct bitsets over all chains. */
void ruleset_stats(const struct ruleset *rs, uint32_t *nchains, uint32_t *nentries,
		   uint32_t *nbitsets);

/*
 * ruleset_equal - do @a and @b decide everything alike (same content,
 * whatever their generations, counters and the file:line origins of their
 * entries: a rule that only moved within its file is no new table)?
 */
bool ruleset_equal(const struct ruleset *a, const struct ruleset *b);

/*
 * ruleset_widens - does @new accept every packet @old accepts, at every
 * hook, with the same endpoints, chains and entries (only the values each
 * entry matches differ: accepting entries match more, dropping ones less,
 * the others the same)? Then no flow @old accepted needs judging again.
 * Sufficient, not necessary: false whenever it cannot tell (or out of
 * memory). Linear in the tables' sizes.
 */
bool ruleset_widens(const struct ruleset *old, const struct ruleset *new);

struct cidr;

/*
 * ruleset_changed_at - ruleset_widens, but for the source and destination
 * address fields, which may break its rule at some addresses: those go to
 * @out as CIDRs (at most @max; *@n of them, possibly repeated). Then every
 * packet with neither address in @out that @old accepts, @new accepts: the
 * flows of other addresses need no judging again. Each CIDR once (several
 * chains name the same change). False when anything else changed, or more
 * than @max CIDRs would be needed.
 */
bool ruleset_changed_at(const struct ruleset *old, const struct ruleset *new, struct cidr *out,
			size_t max, size_t *n);

/* ruleset_hit - count one decision or Log match by entry @meta at @now_s (unix seconds),
 * relaxed atomics; workers. */
void ruleset_hit(const struct ruleset *rs, uint32_t meta, uint64_t now_s);

/* ruleset_last_hit - when @meta last decided or logged: unix seconds, 0 when never
 * (since the daemon started: ruleset_carry_usage keeps it from table to table). */
uint64_t ruleset_last_hit(const struct ruleset *rs, uint32_t meta);

/* ruleset_set_last_hit - set it (control thread, before publishing: the last-hit times
 * a new table takes over from the one it replaces). */
void ruleset_set_last_hit(struct ruleset *rs, uint32_t meta, uint64_t when_s);

/* ruleset_hits - the count of @meta so far (any thread holding the table). */
uint64_t ruleset_hits(const struct ruleset *rs, uint32_t meta);

/* ruleset_free - release a table that was never published (or after a grace period). */
void ruleset_free(struct ruleset *rs);

/*
 * ruleset_dump - the table as stable, readable text (nfqwall check
 * --dump-table, golden tests, debugging): for every host endpoint, hook and
 * family its chain of entries in order, with action and origin (tier,
 * policy, rule, file:line), and the interval tables of each packet field
 * with the entries each interval selects. No pointers, sizes or
 * generations: the same policy always prints the same text.
 */
void ruleset_dump(const struct ruleset *rs, FILE *out);

/*
 * ruleset_publish - make @next the current table (control thread only);
 * the previous one is freed after an RCU grace period.
 */
void ruleset_publish(struct ruleset *next);

/* ruleset_current - the current table; call inside an RCU read-side section. */
const struct ruleset *ruleset_current(void);

/*
 * ruleset_publish_staged / ruleset_staged_current - the same for the
 * staged view (compile_ruleset_staged), judged beside the enforced table
 * and never enforced; NULL when no staged policy exists.
 */
void ruleset_publish_staged(struct ruleset *next);
const struct ruleset *ruleset_staged_current(void);

/*
 * ruleset_read_lock / ruleset_read_unlock - an RCU read-side section around
 * ruleset_current and the use of what it returned (the calling thread is
 * registered with urcu-memb). No table read in it is freed before it ends.
 */
void ruleset_read_lock(void);
void ruleset_read_unlock(void);

/* ruleset_unpublish - drop the current table and wait for readers (shutdown). */
void ruleset_unpublish(void);

#endif /* NFQWALL_RULESET_H */
