/*
 * fjread.h - read flow journals (docs/flow-journal.md) for `nfqwall replay`.
 *
 * Untrusted input: every line is bounded (FJR_LINE_MAX bytes), every file
 * is read once, and the flows kept are bounded (FJR_MAX_FLOWS). A line that
 * is not a flow object of a version this reader knows is an error naming
 * the file and the line; nothing is skipped silently. Lines of one flow
 * (the same judging input: protocol, addresses, destination port or ICMP
 * type and code, hook, path, interfaces) are merged: their counts add up,
 * first is the earliest and last the latest. Control thread only.
 */
#ifndef NFQWALL_FJREAD_H
#define NFQWALL_FJREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "compiler.h"
#include "pktkey.h"

#define FJR_LINE_MAX	16384		/* one line, newline included */
#define FJR_MAX_FLOWS	(1u << 22)	/* distinct flows over every file */
#define FJR_IFNAMSIZ	16		/* IFNAMSIZ: an interface name and its NUL */

enum fjr_path {
	FJR_PATH_LOCAL_IN,
	FJR_PATH_LOCAL_OUT,
	FJR_PATH_FORWARD,
};

/* One flow as judged: what `nfqwall explain` would be given for it. */
struct fjr_flow {
	struct addr src;
	struct addr dst;
	uint64_t count;
	uint16_t sport;		/* the first packet's, with PKT_F_PORTS */
	uint16_t dport;		/* with PKT_F_PORTS */
	uint8_t family;
	uint8_t proto;
	uint8_t flags;		/* PKT_F_PORTS, PKT_F_ICMP */
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint8_t path;		/* enum fjr_path */
	uint8_t hook;		/* index into fjr_hooks */
	bool has_in;		/* iface_in was not null */
	bool has_out;
	char iface_in[FJR_IFNAMSIZ];
	char iface_out[FJR_IFNAMSIZ];
	char first[40];		/* as written ("" when absent) */
	char last[40];
};

/* "prerouting", "input", "forward", "output", "postrouting" (the hook key). */
extern const char *const fjr_hooks[5];

/* fjr_path_name - "local-in", "local-out", "forwarded". */
const char *fjr_path_name(unsigned path);

struct fjr_flows {
	struct fjr_flow *v;
	size_t n, cap;
	uint32_t *idx;		/* flow number + 1; 0 = free */
	size_t mask;		/* idx has mask + 1 slots */
	size_t lines;		/* lines read over every file */
};

/* fjr_init / fjr_free - an empty set; release it (a zeroed set is fine). */
void fjr_init(struct fjr_flows *fl);
void fjr_free(struct fjr_flows *fl);

/*
 * fjr_parse_line - one journal line (@len bytes, no newline) into @out.
 * Returns 0, or -EINVAL with the reason in @why.
 */
int __must_check fjr_parse_line(const char *line, size_t len, struct fjr_flow *out, char *why,
				size_t whylen);

/* fjr_add - merge @f into @fl. 0, -E2BIG (FJR_MAX_FLOWS) or -ENOMEM. */
int __must_check fjr_add(struct fjr_flows *fl, const struct fjr_flow *f);

/*
 * fjr_read - every line of @f (named @name in messages) into @fl. Empty
 * lines are skipped. Returns 0; -EINVAL with "NAME:LINE: reason" in @why
 * (a malformed line, a line over FJR_LINE_MAX, too many flows); -EIO (a
 * read error, in @why); or -ENOMEM.
 */
int __must_check fjr_read(struct fjr_flows *fl, FILE *f, const char *name, char *why,
			  size_t whylen);

#endif /* NFQWALL_FJREAD_H */
