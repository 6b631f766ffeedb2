/*
 * markcheck.c - other users of the mark bits, read from the node's rules
 * (see markcheck.h). The parsers only read text the tools printed; a line
 * they do not understand is skipped, never trusted to be harmless. Control
 * thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "fwrules.h"
#include "log.h"
#include "markcheck.h"

#define LINE_MAX_READ	4096

/* "0x4000/0x4000" or "0x539": value and mask (mask ~0 when absent). */
static bool
parse_vm(const char *s, uint32_t *v, uint32_t *m, bool *has_mask)
{
	char *end;
	unsigned long x = strtoul(s, &end, 0);

	if (end == s)
		return false;
	*v = (uint32_t)x;
	*m = 0xffffffffu;
	*has_mask = false;
	if (*end == '/') {
		const char *ms = end + 1;

		x = strtoul(ms, &end, 0);
		if (end == ms)
			return false;
		*m = (uint32_t)x;
		*has_mask = true;
	}
	return true;
}

/*
 * Where the users a parser finds go: the first @max into @out (the tests'
 * view), and, with a @mask, folded as they come (no cap: a node with
 * thousands of mark rules is judged on all of them): every bit used, the
 * rules on a bit of the mask counted and the first one kept.
 */
struct users {
	struct mark_user *out;
	size_t max, n;
	uint32_t mask;			/* 0: only collect */
	uint32_t used;			/* bits of every masked use */
	unsigned conflicts;
	unsigned exact;			/* whole-mark comparisons (warned, at most 8 logged) */
	struct mark_user first;		/* the first conflict */
};

static void
add_user(struct users *us, uint32_t bits, bool ct, bool exact, const char *where, size_t wlen)
{
	struct mark_user u = { .bits = bits, .ct = ct, .exact = exact };

	if (bits == 0 && !exact)
		return;
	snprintf(u.where, sizeof(u.where), "%.*s", (int)wlen, where);
	if (us->out != NULL && us->n < us->max)
		us->out[us->n] = u;
	us->n++;
	if (us->mask == 0)
		return;
	if (exact) {
		if (us->exact++ < 8)
			log_warn("a rule compares the whole mark: it no longer matches a packet "
				 "once nfqwall has set its bits", "rule=\"%s\"", u.where);
		return;
	}
	us->used |= bits;
	if (bits & us->mask) {
		if (us->conflicts == 0)
			us->first = u;
		us->conflicts++;
	}
}

/*
 * Chains of programs whose mark bits are known (docs/coexistence.md), so a
 * bit reserved but not yet in a rule (Felix's endpoint marks, a first
 * hostPort pod, WireGuard) still counts.
 */
static const struct {
	const char *prefix;
	uint32_t bits;
	const char *who;
} known[] = {
	{ "cali-", 0xffff0000u, "Calico Felix (its default IptablesMarkMask)" },
	{ "KUBE-", 0x00004000u, "kube-proxy (its masquerade bit)" },
	{ "CNI-HOSTPORT-", 0x00002000u, "the CNI portmap plugin (its masquerade bit)" },
	{ "CNI-DN-", 0x00002000u, "the CNI portmap plugin (its masquerade bit)" },
	{ "CILIUM_", 0xffffdfffu, "Cilium (identity, proxy, encryption and cluster bits)" },
	{ "ts-", 0x00ff0000u, "Tailscale (its fwmark mask)" },
};

/* A chain of a known program: its reservation, once per program. */
static void
add_known(const char *chain, uint32_t *seen, struct users *us)
{
	for (unsigned i = 0; i < ARRAY_SIZE(known); i++) {
		char where[200];

		if (strncmp(chain, known[i].prefix, strlen(known[i].prefix)) != 0 ||
		    (*seen & (1u << i)))
			continue;
		*seen |= 1u << i;
		snprintf(where, sizeof(where), "%s, chains %s*", known[i].who, known[i].prefix);
		add_user(us, known[i].bits, false, false, where, strlen(where));
	}
}

/* Felix's default mask, kube-proxy, portmap and Tailscale: kept out of a suggestion. */
#define MARK_COMMON	(0xffff0000u | 0x4000u | 0x2000u | 0x00ff0000u)

/* The token after @key in the words of @line (a copy), or NULL. */
static const char *
word_after(char *const *w, size_t nw, const char *key)
{
	for (size_t i = 0; i + 1 < nw; i++)
		if (strcmp(w[i], key) == 0)
			return w[i + 1];
	return NULL;
}

static bool
has_word(char *const *w, size_t nw, const char *key)
{
	for (size_t i = 0; i < nw; i++)
		if (strcmp(w[i], key) == 0)
			return true;
	return false;
}

/* One "-A CHAIN ..." line of table @table. */
static void
iptables_line(const char *line, size_t len, const char *where_pfx, uint32_t *seen,
	      struct users *us)
{
	char buf[LINE_MAX_READ], where[256], *w[256], *save = NULL;
	size_t nw = 0;
	const char *s;
	uint32_t v, m;
	bool hm;
	int wl;

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, line, len);
	buf[len] = '\0';
	wl = snprintf(where, sizeof(where), "%s %s", where_pfx, buf + 3);
	for (char *t = strtok_r(buf, " ", &save); t && nw < ARRAY_SIZE(w);
	     t = strtok_r(NULL, " ", &save))
		w[nw++] = t;
	if (nw < 2 || strncmp(w[1], "NFQWALL-", 8) == 0)
		return;
	add_known(w[1], seen, us);
	wl = wl < 0 ? 0 : wl >= (int)sizeof(where) ? (int)sizeof(where) - 1 : wl;
	for (size_t i = 0; i + 1 < nw; i++) {
		bool ct = false;

		/* -m mark --mark V[/M], -m connmark --mark V[/M] (a "!" may precede) */
		if (strcmp(w[i], "-m") != 0 || (strcmp(w[i + 1], "mark") != 0 &&
						!(ct = strcmp(w[i + 1], "connmark") == 0)))
			continue;
		for (size_t j = i + 2; j + 1 < nw && j < i + 5; j++)
			if (strcmp(w[j], "--mark") == 0) {
				if (parse_vm(w[j + 1], &v, &m, &hm))
					add_user(us, hm ? m : v, ct, !hm, where,
						 (size_t)wl);
				break;
			}
	}
	/* targets */
	s = word_after(w, nw, "-j");
	if (s == NULL)
		return;
	if (strcmp(s, "MARK") == 0 || strcmp(s, "CONNMARK") == 0) {
		bool ct = strcmp(s, "CONNMARK") == 0;
		const char *x = word_after(w, nw, "--set-xmark");

		if (x == NULL)
			x = word_after(w, nw, "--set-mark");
		if (x != NULL && parse_vm(x, &v, &m, &hm))
			add_user(us, v | (hm ? m : 0xffffffffu), ct, false, where,
				 (size_t)wl);
		if (ct && (has_word(w, nw, "--save-mark") || has_word(w, nw, "--restore-mark"))) {
			const char *nf = word_after(w, nw, "--nfmask");
			const char *cm = word_after(w, nw, "--ctmask");
			uint32_t nfm = 0xffffffffu, ctm = 0xffffffffu;

			if (nf && parse_vm(nf, &v, &m, &hm))
				nfm = v;
			if (cm && parse_vm(cm, &v, &m, &hm))
				ctm = v;
			add_user(us, nfm, false, false, where, (size_t)wl);
			add_user(us, ctm, true, false, where, (size_t)wl);
		}
		const char *o = word_after(w, nw, "--or-mark");

		if (o == NULL)
			o = word_after(w, nw, "--xor-mark");
		if (o != NULL && parse_vm(o, &v, &m, &hm))
			add_user(us, v, ct, false, where, (size_t)wl);
		if ((o = word_after(w, nw, "--and-mark")) != NULL && parse_vm(o, &v, &m, &hm))
			add_user(us, ~v, ct, false, where, (size_t)wl);
	} else if (strcmp(s, "TPROXY") == 0) {
		const char *x = word_after(w, nw, "--tproxy-mark");

		if (x != NULL && parse_vm(x, &v, &m, &hm))
			add_user(us, v | (hm ? m : 0xffffffffu), false, false, where,
				 (size_t)wl);
	}
}

static void
scan_iptables(const char *text, const char *fam, struct users *us)
{
	char table[32] = "?", pfx[48];
	uint32_t seen = 0;

	for (const char *p = text; p && *p; ) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len > 1 && p[0] == '*')
			snprintf(table, sizeof(table), "%.*s", (int)(len - 1 < 31 ? len - 1 : 31),
				 p + 1);
		else if (len > 3 && strncmp(p, "-A ", 3) == 0) {
			snprintf(pfx, sizeof(pfx), "%s %s", fam, table);
			iptables_line(p, len, pfx, &seen, us);
		}
		p = nl ? nl + 1 : NULL;
	}
}

size_t
markcheck_iptables(const char *text, const char *fam, struct mark_user *out, size_t max)
{
	struct users us = { .out = out, .max = max };

	scan_iptables(text, fam, &us);
	return us.n;
}

/* ---- nft list ruleset ----------------------------------------------------------------------- */

static bool
iptables_nft_table(const char *family, const char *name)
{
	static const char *const names[] = { "filter", "nat", "mangle", "raw", "security" };

	if (strcmp(family, "ip") != 0 && strcmp(family, "ip6") != 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/* The first hex or decimal number in @s (before @end), or false. */
static bool
first_number(const char *s, const char *end, uint32_t *v)
{
	for (const char *p = s; p < end; p++) {
		char *e;

		if (*p >= '0' && *p <= '9' && (p == s || p[-1] == ' ')) {
			unsigned long x = strtoul(p, &e, 0);

			if (e > p && (*e == ' ' || *e == '\0' || e >= end)) {
				*v = (uint32_t)x;
				return true;
			}
		}
	}
	return false;
}

/* The first of @ops in [@s, @end), or NULL. */
static const char *
find_op(const char *s, const char *end, const char *ops)
{
	for (const char *p = s; p < end; p++)
		if (strchr(ops, *p) != NULL)
			return p;
	return NULL;
}

/* Where the statement whose "mark" is at @m starts: before "meta " or "ct ". */
static const char *
stmt_start(const char *lo, const char *m)
{
	if (m - lo >= 5 && strncmp(m - 5, "meta ", 5) == 0)
		return m - 5;
	if (m - lo >= 3 && strncmp(m - 3, "ct ", 3) == 0)
		return m - 3;
	return m;
}

/*
 * One rule line: every "meta mark" / "ct mark" (older nft: "mark") use.
 *   X mark set X mark | C     sets C        X mark set X mark & C   clears ~C
 *   X mark set <other>        the whole mark (a copy or a constant)
 *   X mark & C ...            tests C       X mark C / == C           compares the whole mark
 */
static void
nft_line(const char *line, size_t len, const char *where_pfx, struct users *us)
{
	char buf[LINE_MAX_READ], where[256];
	const char *end;
	int wl;

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, line, len);
	buf[len] = '\0';
	end = buf + len;
	while (*line == ' ' || *line == '\t')
		line++, len--;
	wl = snprintf(where, sizeof(where), "%s: %.*s", where_pfx, (int)len, line);
	wl = wl < 0 ? 0 : wl >= (int)sizeof(where) ? (int)sizeof(where) - 1 : wl;
	for (char *p = strstr(buf, "mark "); p != NULL; p = strstr(p + 5, "mark ")) {
		bool ct = p >= buf + 3 && strncmp(p - 3, "ct ", 3) == 0;
		const char *a = p + 5;
		const char *stop = strstr(a, " mark ");
		uint32_t v;

		if (p > buf && p[-1] != ' ')
			continue;	/* "ct mark" / "meta mark" / "mark" only */
		if (stop == NULL)
			stop = end;
		if (strncmp(a, "set ", 4) == 0) {
			const char *e = a + 4;
			const char *src = strstr(e, "mark");
			/* the expression ends where the next statement's "... mark" starts */
			const char *nxt = src ? strstr(src + 4, " mark ") : NULL;
			const char *xend = nxt ? stmt_start(e, nxt + 1) : end;
			const char *op = find_op(e, xend, "|&^");
			/* "ct mark set meta mark ...", "meta mark set ct mark ...": a copy from
			 * the other field overwrites the whole destination */
			bool src_ct = src != NULL && src >= e + 3 && strncmp(src - 3, "ct ", 3) == 0;
			uint32_t v2;

			if (src != NULL && src < xend && src_ct != ct) {
				add_user(us, 0xffffffffu, ct, false, where, (size_t)wl);
			} else if (src != NULL && src < xend && op != NULL &&
				   first_number(op, xend, &v)) {
				/* "& A" clears ~A; a folded "& A | V" then sets V too */
				const char *op2 = *op == '&' ? find_op(op + 1, xend, "|^") : NULL;
				uint32_t bits = *op == '&' ? ~v : v;

				if (op2 != NULL && first_number(op2, xend, &v2))
					bits |= v2;
				add_user(us, bits, ct, false, where, (size_t)wl);
			} else {
				add_user(us, 0xffffffffu, ct, false, where, (size_t)wl);
			}
			p = (char *)xend - 5;	/* the expression is consumed */
		} else if (a[0] == '&' && first_number(a, stop, &v)) {
			add_user(us, v, ct, false, where, (size_t)wl);
		} else if (first_number(a, a + 16 < stop ? a + 16 : stop, &v)) {
			add_user(us, v, ct, true, where, (size_t)wl);
		}
	}
}

static void
scan_nft(const char *text, bool all_tables, struct users *us)
{
	char family[16] = "", table[64] = "", chain[64] = "", pfx[160];
	uint32_t seen = 0;
	bool skip = false;

	for (const char *p = text; p && *p; ) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *q = p;

		while (q < p + len && (*q == ' ' || *q == '\t'))
			q++;
		if (strncmp(q, "table ", 6) == 0 &&
		    sscanf(q, "table %15s %63s", family, table) == 2) {
			skip = !all_tables && iptables_nft_table(family, table);
			chain[0] = '\0';
		} else if (strncmp(q, "chain ", 6) == 0) {
			if (sscanf(q, "chain %63s", chain) == 1 && !skip)
				add_known(chain, &seen, us);
		} else if (!skip && strncmp(chain, "NFQWALL-", 8) != 0 &&
			   memmem(q, len - (size_t)(q - p), "mark", 4) != NULL) {
			snprintf(pfx, sizeof(pfx), "nft %s %s %s", family, table, chain);
			nft_line(p, len, pfx, us);
		}
		p = nl ? nl + 1 : NULL;
	}
}

size_t
markcheck_nft(const char *text, bool all_tables, struct mark_user *out, size_t max)
{
	struct users us = { .out = out, .max = max };

	scan_nft(text, all_tables, &us);
	return us.n;
}

/* ---- the node --------------------------------------------------------------------------------- */

uint32_t
markcheck_suggest(uint32_t used, unsigned want)
{
	if (want == 0 || want > 32)
		return 0;
	for (int lo = 32 - (int)want; lo >= 0; lo--) {
		uint32_t m = (want == 32 ? 0xffffffffu : ((1u << want) - 1)) << lo;

		if ((m & used) == 0)
			return m;
	}
	return 0;
}

/*
 * Fold the users in the output of @argv into @us; *@failed when the tool ran
 * and failed (a rule it cannot print is no rule without marks).
 */
static void
scan_tool(const char *const argv[], int kind, const char *fam, bool *failed, struct users *us)
{
	char *text = NULL, why[256];
	int rc = fwrules_run_tool(argv, NULL, &text, why, sizeof(why));

	if (rc == 0 && text != NULL) {
		if (kind == 0)
			scan_iptables(text, fam, us);
		else
			scan_nft(text, kind == 2, us);
	} else if (rc > 0 || rc == -ETIMEDOUT || rc == -EMSGSIZE) {
		*failed = true;
		log_warn("cannot read the node's rules to check the mark bits", "tool=%s "
			 "status=%d error=\"%.200s\"", argv[0], rc, why);
	}
	free(text);
}

int
markcheck_node(uint32_t mask, char *why, size_t whylen, unsigned *conflicts)
{
	static const char *const tools[][4] = {
		{ "iptables-save", NULL }, { "ip6tables-save", NULL },
		{ "iptables-legacy-save", NULL }, { "ip6tables-legacy-save", NULL },
		{ "nft", "list", "ruleset", NULL },
	};
	static const char *const fams[] = { "ip", "ip6", "ip (legacy)", "ip6 (legacy)", NULL };
	struct users us = { .mask = mask };
	bool failed = false;
	uint32_t free_m;
	size_t len;

	for (size_t t = 0; t < ARRAY_SIZE(tools); t++)
		/* nft reads iptables-nft's own tables too when iptables-save could not */
		scan_tool(tools[t], fams[t] ? 0 : failed ? 2 : 1, fams[t], &failed, &us);
	*conflicts = us.conflicts;
	why[0] = '\0';
	if (us.conflicts == 0)
		return 0;
	snprintf(why, whylen, "%s mark bits 0x%x of --mark-mask 0x%x are used by another "
		 "program's rule (%s)%s", us.first.ct ? "connmark" : "packet", us.first.bits & mask,
		 mask, us.first.where, us.conflicts > 1 ? " and others" : "");
	/* clear of what common programs may add later, if that can be */
	free_m = markcheck_suggest(us.used | MARK_COMMON, (unsigned)__builtin_popcount(mask));
	if (free_m == 0)
		free_m = markcheck_suggest(us.used, (unsigned)__builtin_popcount(mask));
	len = strlen(why);
	if (free_m != 0)
		snprintf(why + len, whylen - len, "; --mark-mask 0x%x is free of every mark bit the "
			 "node's rules use", free_m);
	else
		snprintf(why + len, whylen - len, "; no %d contiguous bits are free: reconfigure "
			 "the other program's mask (docs/coexistence.md)", __builtin_popcount(mask));
	return -EBUSY;
}
