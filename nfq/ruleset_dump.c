/*
 * ruleset_dump.c - the compiled table as stable, readable text (see
 * ruleset_dump in ruleset.h): what `nfqwall check --dump-table` prints and
 * tests/golden/tables/ diffs, so that every change to the compiler shows in
 * review, as pfctl's regress tests show its optimizer's output.
 *
 *   ruleset: 1 host endpoint, 2 chains, 5 entries, 7 bitsets, conntrack invalid: drop
 *   interface 2 -> eth0-hep                  (interface index -> endpoint)
 *   other interfaces -> (none)               (the "*" endpoint, if any)
 *
 *   hostendpoint eth0-hep
 *     normal-in ipv4: 3 entries, 4 bitsets   (one chain: hook and family)
 *       0 failsafe                           (the entries in order)
 *       1 allow tier=default policy=p rule=0 at p.yaml:9
 *       2 no-profile-deny
 *       proto:                               (then each field's intervals)
 *         0-5 {2}
 *         6 {0-2}
 *       ...
 *       dport:
 *         22 {0-2}
 *         none {2}                           (packets without ports)
 *
 * An entry set {0-2,5} lists the entries (by index in the chain) whose
 * conditions on the field accept the interval; the entries a packet matches
 * are those in the sets of all six of its fields, and the first terminal
 * one decides. Read-only; any thread that holds the table.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "ruleset_layout.h"

typedef unsigned __int128 dump_u128;

static const char *const hook_names[RS_NHOOKS] = {
	[RS_UNTRACKED_IN] = "untracked-in", [RS_UNTRACKED_OUT] = "untracked-out",
	[RS_PREDNAT_IN] = "prednat-in", [RS_NORMAL_IN] = "normal-in",
	[RS_NORMAL_OUT] = "normal-out", [RS_FORWARD_IN] = "forward-in",
	[RS_FORWARD_OUT] = "forward-out",
};

static const char *const action_names[] = {
	[RS_A_ALLOW] = "allow", [RS_A_DENY] = "deny", [RS_A_PASS] = "pass",
	[RS_A_LOG] = "log", [RS_A_FAILSAFE] = "failsafe", [RS_A_EOT_DENY] = "end-of-tier-deny",
	[RS_A_NO_PROFILE] = "no-profile-deny",
};

static const char *
action_name_of(uint8_t a)
{
	return a < sizeof(action_names) / sizeof(action_names[0]) && action_names[a] ?
	       action_names[a] : "?";
}

/* ---- entry sets ------------------------------------------------------------------------ */

/* Is entry @i in the bitset of value @val? */
static bool
value_has(const struct ruleset *rs, const struct rs_chain *c, uint32_t val, uint32_t i)
{
	const uint64_t *blk = rs_at(rs, c->blocks);
	uint32_t id = rs_value_block(rs, c, val, i >> RS_BLOCK_SHIFT);
	uint32_t w = (i >> 6) & (RS_BLOCK_WORDS - 1);

	return blk[(size_t)id * RS_BLOCK_WORDS + w] >> (i & 63) & 1;
}

/* The entries of value @val as " {0-2,5}" ("{}" when none). */
static void
print_set(const struct ruleset *rs, const struct rs_chain *c, uint32_t val, FILE *out)
{
	const char *sep = "";

	fputs(" {", out);
	for (uint32_t i = 0; i < c->nentries; i++) {
		uint32_t j = i;

		if (!value_has(rs, c, val, i))
			continue;
		while (j + 1 < c->nentries && value_has(rs, c, val, j + 1))
			j++;
		if (j == i)
			fprintf(out, "%s%u", sep, i);
		else
			fprintf(out, "%s%u-%u", sep, i, j);
		sep = ",";
		i = j;
	}
	fputs("}\n", out);
}

/* ---- intervals --------------------------------------------------------------------------- */

enum dump_kind { DK_NUM, DK_V4, DK_V6, DK_ICMP };

static struct addr
addr_of(dump_u128 x)
{
	struct addr a = { (uint64_t)(x >> 64), (uint64_t)x };

	return a;
}

/* @v as an address of @family, or as a number, or as ICMP type/code (type << 8 | code). */
static void
print_value(enum dump_kind kind, dump_u128 v, FILE *out)
{
	char buf[ADDR_STRLEN];
	struct addr a = addr_of(v);

	switch (kind) {
	case DK_V4:
		fputs(addr_format(&a, AF_INET, buf), out);
		break;
	case DK_V6:
		fputs(addr_format(&a, AF_INET6, buf), out);
		break;
	case DK_ICMP:
		fprintf(out, "%u/%u", (unsigned)(v >> 8), (unsigned)(v & 0xff));
		break;
	default:
		fprintf(out, "%llu", (unsigned long long)v);
	}
}

/* The prefix length when [@lo, @hi] of a @bits-bit space is one CIDR, else -1. */
static int
cidr_len(dump_u128 lo, dump_u128 hi, unsigned bits)
{
	dump_u128 size = hi - lo + 1;	/* 0: the whole 128-bit space */
	int len = (int)bits;

	if (size == 0)
		return lo == 0 ? 0 : -1;
	if ((size & (size - 1)) != 0 || (lo & (size - 1)) != 0)
		return -1;
	while (size > 1) {
		size >>= 1;
		len--;
	}
	return len;
}

/*
 * One interval "lo-hi" (or "lo" alone); an address range that is one CIDR
 * as "addr/len"; ICMP types with every code as "type/any" or "type/any-type/any".
 */
static void
print_interval(enum dump_kind kind, dump_u128 lo, dump_u128 hi, FILE *out)
{
	int len = kind == DK_V4 ? cidr_len(lo, hi, 32) : kind == DK_V6 ? cidr_len(lo, hi, 128) : -1;

	fputs("      ", out);
	if (kind == DK_ICMP && (lo & 0xff) == 0 && (hi & 0xff) == 0xff) {
		fprintf(out, "%u/any", (unsigned)(lo >> 8));
		if (lo >> 8 != hi >> 8)
			fprintf(out, "-%u/any", (unsigned)(hi >> 8));
		return;
	}
	print_value(kind, lo, out);
	if (len >= 0) {
		if (len != (kind == DK_V4 ? 32 : 128))
			fprintf(out, "/%d", len);
		return;
	}
	if (lo != hi) {
		fputc('-', out);
		print_value(kind, hi, out);
	}
}

/* The interval table @t of a field named @name, whose values go up to @max. */
static void
print_itab(const struct ruleset *rs, const struct rs_chain *c, const char *name,
	   const struct rs_itab *t, enum dump_kind kind, dump_u128 max, bool none, FILE *out)
{
	const struct rs_pair *p = rs_at(rs, t->pairs);
	const struct addr *st = rs_at(rs, t->starts);
	const uint32_t *rows = rs_at(rs, t->rows);

	fprintf(out, "    %s:\n", name);
	for (uint32_t i = 0; i < t->n; i++) {
		dump_u128 lo, next;

		if (kind == DK_V6) {
			lo = (dump_u128)st[i].hi << 64 | st[i].lo;
			next = i + 1 < t->n ? (dump_u128)st[i + 1].hi << 64 | st[i + 1].lo : 0;
		} else {
			lo = p[i].start;
			next = i + 1 < t->n ? p[i + 1].start : 0;
		}
		print_interval(kind, lo, i + 1 < t->n ? next - 1 : max, out);
		print_set(rs, c, kind == DK_V6 ? rows[i] : p[i].row, out);
	}
	if (none) {
		fputs("      none", out);	/* packets without this header */
		print_set(rs, c, t->none, out);
	}
}

/* The 256-entry protocol table, as intervals of equal values. */
static void
print_proto(const struct ruleset *rs, const struct rs_chain *c, FILE *out)
{
	const uint32_t *proto = rs_at(rs, c->proto);

	fputs("    proto:\n", out);
	for (uint32_t v = 0, end; v < 256; v = end + 1) {
		for (end = v; end + 1 < 256 && proto[end + 1] == proto[v]; end++)
			;
		print_interval(DK_NUM, v, end, out);
		print_set(rs, c, proto[v], out);
	}
}

/* ---- entries ------------------------------------------------------------------------------ */

/* "tcp", "udp", "sctp" or the protocol number. */
static void
print_proto_name(uint8_t proto, FILE *out)
{
	switch (proto) {
	case 6:
		fputs("tcp", out);
		break;
	case 17:
		fputs("udp", out);
		break;
	case 132:
		fputs("sctp", out);
		break;
	default:
		fprintf(out, "%u", proto);
	}
}

/*
 * The named-port residual check of an entry: for each port list it
 * re-checks, the port ranges, then each named port as "port/proto at addr".
 */
static void
print_resid(const struct ruleset *rs, const struct rs_entry *e, FILE *out)
{
	static const char *const sides[4] = { "src ports", "src notPorts", "dst ports",
					      "dst notPorts" };
	const struct rs_resid *r = rs_at(rs, e->resid);

	for (int i = 0; i < 4; i++) {
		const struct rs_pside *s = &r->side[i];
		const uint32_t *rg = rs_at(rs, s->ranges);
		const struct rs_tuple *t = rs_at(rs, s->tuples);
		const char *sep = " ";
		char buf[ADDR_STRLEN];

		if (!s->present)
			continue;
		fprintf(out, "        %s:", sides[i]);
		for (uint32_t j = 0; j < s->nranges; j++, sep = ", ") {
			if (rg[j] >> 16 == (rg[j] & 0xffff))
				fprintf(out, "%s%u", sep, rg[j] >> 16);
			else
				fprintf(out, "%s%u-%u", sep, rg[j] >> 16, rg[j] & 0xffff);
		}
		for (uint32_t j = 0; j < s->ntuples; j++, sep = ", ") {
			fprintf(out, "%s%u/", sep, t[j].port);
			print_proto_name(t[j].proto, out);
			fprintf(out, " at %s", addr_format(&t[j].addr, t[j].family, buf));
		}
		fputs(s->nranges + s->ntuples ? "\n" : " (none)\n", out);
	}
}

static void
print_entry(const struct ruleset *rs, const struct rs_entry *e, uint32_t i, FILE *out)
{
	const struct rs_meta *m = ruleset_meta(rs, e->meta);
	uint32_t line;
	const char *file = ruleset_origin(rs, e->meta, &line);

	fprintf(out, "    %u %s", i, action_name_of(e->action));
	if (e->action == RS_A_PASS)
		fprintf(out, " ->%u", e->next);
	if (m->tier)
		fprintf(out, " tier=%s", ruleset_str(rs, m->tier));
	if (m->policy)
		fprintf(out, " %s=%s", m->kind == RS_META_PROFILE ? "profile" : "policy",
			ruleset_str(rs, m->policy));
	if (m->rule >= 0 && m->kind == RS_META_RULE)
		fprintf(out, " rule=%d", m->rule);
	if (*file)
		fprintf(out, " at %s:%u", file, line);
	if (e->residual)
		fprintf(out, " (named ports)");
	fputc('\n', out);
	if (e->residual)
		print_resid(rs, e, out);
}

static void
print_chain(const struct ruleset *rs, const struct rs_chain *c, int hook, FILE *out)
{
	const struct rs_entry *e = rs_at(rs, c->entries);
	bool v6 = c->family == AF_INET6;
	dump_u128 amax = v6 ? ~(dump_u128)0 : 0xffffffffu;

	fprintf(out, "  %s ipv%d: %u entr%s, %u bitset%s\n", hook_names[hook], v6 ? 6 : 4,
		c->nentries, c->nentries == 1 ? "y" : "ies", c->nbitsets,
		c->nbitsets == 1 ? "" : "s");
	for (uint32_t i = 0; i < c->nentries; i++)
		print_entry(rs, &e[i], i, out);
	print_proto(rs, c, out);
	print_itab(rs, c, "src", &c->src, v6 ? DK_V6 : DK_V4, amax, false, out);
	print_itab(rs, c, "dst", &c->dst, v6 ? DK_V6 : DK_V4, amax, false, out);
	print_itab(rs, c, "sport", &c->sport, DK_NUM, 0xffff, true, out);
	print_itab(rs, c, "dport", &c->dport, DK_NUM, 0xffff, true, out);
	print_itab(rs, c, "icmp", &c->icmp, DK_ICMP, 0xffff, true, out);
}

void
ruleset_dump(const struct ruleset *rs, FILE *out)
{
	const struct rs_hep *heps = rs_at(rs, rs->heps);
	const struct rs_ifmap *ifm = rs_at(rs, rs->ifmap);

	fprintf(out, "ruleset: %u host endpoint%s, %u chain%s, %u entr%s, %u bitset%s, "
		"conntrack invalid: %s\n", rs->nheps, rs->nheps == 1 ? "" : "s",
		rs->nchains, rs->nchains == 1 ? "" : "s", rs->nentries,
		rs->nentries == 1 ? "y" : "ies", rs->nbitsets, rs->nbitsets == 1 ? "" : "s",
		rs->flags & RS_F_INVALID_DROP ? "drop" : "accept");
	for (uint32_t i = 0; i < rs->nifmap; i++)
		fprintf(out, "interface %u -> %s\n", ifm[i].ifindex,
			ifm[i].hep < 0 ? "(none)" : ruleset_hep_name(rs, ifm[i].hep));
	fprintf(out, "other interfaces -> %s\n",
		rs->wildcard >= 0 ? ruleset_hep_name(rs, rs->wildcard) : "(none)");
	for (uint32_t h = 0; h < rs->nheps; h++) {
		fprintf(out, "\nhostendpoint %s\n", ruleset_str(rs, heps[h].name));
		for (int hook = 0; hook < RS_NHOOKS; hook++)
			for (int f = 0; f < 2; f++)
				if (heps[h].chains[hook][f] != 0)
					print_chain(rs, rs_at(rs, heps[h].chains[hook][f]), hook,
						    out);
	}
}
