/*
 * ifpattern.c - Go regular expressions over interface names (ifpattern.h).
 *
 * The parser follows Go's regexp/syntax for what it accepts and refuses
 * (the errors regexp.Compile returns: a missing argument to a repetition,
 * a nested repetition, a count over 1000, an unknown escape, a bad range,
 * unbalanced brackets, an unknown flag). The matcher works on positions:
 * ends(node, i) is the set of positions j such that the node matches the
 * name from i to j, memoized per node and start, so a name of n bytes costs
 * at most nodes x (n + 1) entries, each a few bit operations, and a counted
 * repetition at most n + 2 steps whatever its count (past n + 1 steps the
 * set of ends no longer changes: every path then repeats an empty match).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hexdigit.h"
#include "ifpattern.h"

enum op {
	OP_EMPTY,
	OP_BYTES,		/* one byte of a set */
	OP_BEGIN,		/* ^ \A (no newline in a name: (?m) changes nothing) */
	OP_END,			/* $ \z */
	OP_WORDB,		/* \b */
	OP_NWORDB,		/* \B */
	OP_CAT,
	OP_ALT,
	OP_REP,
};

struct node {
	uint8_t op;
	int16_t kid;		/* CAT, ALT: first child; REP: what repeats */
	int16_t next;		/* the next child of the same parent, -1: none */
	int16_t min, max;	/* REP; max -1: no bound */
	uint8_t set[32];	/* BYTES */
};

struct ifpattern {
	struct node *v;
	int n;
	int root;
	/* matching scratch: ends of (node, start), and which starts are known */
	uint32_t *memo;
	uint32_t *known;
	const char *s;
	int len;
};

/* Parser state. */
struct ps {
	struct ifpattern *p;
	const char *t;
	size_t at;
	int depth;
	bool fold;		/* (?i) */
	bool dotnl;		/* (?s) */
	char *why;
	size_t whylen;
	int err;
};

static int
fail(struct ps *s, int err, const char *fmt, const char *arg)
{
	if (s->err == 0) {
		s->err = err;
		snprintf(s->why, s->whylen, fmt, arg);
	}
	return -1;
}

static int
new_node(struct ps *s, enum op op)
{
	struct node *n;

	if (s->p->n >= IFPATTERN_MAX_NODES)
		return fail(s, -ENOTSUP, "has more than %s pieces", "512");
	n = &s->p->v[s->p->n];
	memset(n, 0, sizeof(*n));
	n->op = (uint8_t)op;
	n->kid = -1;
	n->next = -1;
	return s->p->n++;
}

static void
set_add(uint8_t *set, unsigned c)
{
	set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static bool
set_has(const uint8_t *set, unsigned c)
{
	return set[c >> 3] & (1u << (c & 7));
}

static void
set_range(uint8_t *set, unsigned lo, unsigned hi)
{
	for (unsigned c = lo; c <= hi; c++)
		set_add(set, c);
}

static bool
is_word(unsigned c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_';
}

/* The Perl classes \d \s \w (and, @neg, their complements) into @set. */
static void
perl_class(uint8_t *set, char c, bool neg)
{
	uint8_t tmp[32] = { 0 };

	if (c == 'd')
		set_range(tmp, '0', '9');
	else if (c == 's') {
		set_add(tmp, ' ');
		set_range(tmp, '\t', '\r');
		/* Go's \s: [\t\n\f\r ], not \v */
		tmp['\v' >> 3] &= (uint8_t)~(1u << ('\v' & 7));
	} else {
		for (unsigned b = 0; b < 256; b++)
			if (is_word(b))
				set_add(tmp, b);
	}
	for (int i = 0; i < 32; i++)
		set[i] |= neg ? (uint8_t)~tmp[i] : tmp[i];
}

/* [:name:] (ASCII classes, as Go's) into @set; false when the name is unknown. */
static bool
posix_class(uint8_t *set, const char *name, size_t len, bool neg)
{
	static const struct {
		const char *name;
		const char *ranges;	/* pairs of bytes */
	} cls[] = {
		{ "alnum", "09AZaz" }, { "alpha", "AZaz" }, { "ascii", "\x01\x7f" },
		{ "blank", "\t\t  " }, { "cntrl", "\x01\x1f\x7f\x7f" }, { "digit", "09" },
		{ "graph", "!~" }, { "lower", "az" }, { "print", " ~" },
		{ "punct", "!/:@[`{~" }, { "space", "\t\r  " }, { "upper", "AZ" },
		{ "word", "09AZaz__" }, { "xdigit", "09AFaf" },
	};
	uint8_t tmp[32] = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(cls); i++) {
		if (strlen(cls[i].name) != len || memcmp(cls[i].name, name, len) != 0)
			continue;
		for (const char *r = cls[i].ranges; *r; r += 2)
			set_range(tmp, (unsigned char)r[0], (unsigned char)r[1]);
		if (strcmp(cls[i].name, "ascii") == 0 || strcmp(cls[i].name, "cntrl") == 0)
			set_add(tmp, 0);
		for (int j = 0; j < 32; j++)
			set[j] |= neg ? (uint8_t)~tmp[j] : tmp[j];
		return true;
	}
	return false;
}

/*
 * An escape after the backslash at s->t[s->at]: a single byte into *@byte
 * (returns 1), a class into @set (returns 2), or an assertion into *@op
 * (returns 3, outside classes only). -1 on error.
 */
static int
escape(struct ps *s, bool in_class, unsigned *byte, uint8_t *set, enum op *op)
{
	char c = s->t[s->at++];
	unsigned v = 0;

	switch (c) {
	case '\0':
		s->at--;
		return fail(s, -EINVAL, "ends in a lone backslash%s", "");
	case 'd': case 's': case 'w':
		perl_class(set, c, false);
		return 2;
	case 'D': case 'S': case 'W':
		perl_class(set, (char)(c - 'A' + 'a'), true);
		return 2;
	case 'p': case 'P':
		return fail(s, -ENOTSUP, "uses a Unicode class \\%s, which nfqwall does not match",
			    c == 'p' ? "p" : "P");
	case 'A': case 'z': case 'b': case 'B':
		if (in_class)
			return fail(s, -EINVAL, "has an invalid escape \\%s inside [...]",
				    c == 'A' ? "A" : c == 'z' ? "z" : c == 'b' ? "b" : "B");
		*op = c == 'A' ? OP_BEGIN : c == 'z' ? OP_END : c == 'b' ? OP_WORDB : OP_NWORDB;
		return 3;
	case 'a': *byte = '\a'; return 1;
	case 'f': *byte = '\f'; return 1;
	case 'n': *byte = '\n'; return 1;
	case 'r': *byte = '\r'; return 1;
	case 't': *byte = '\t'; return 1;
	case 'v': *byte = '\v'; return 1;
	case 'x':
		if (s->t[s->at] == '{') {
			size_t digits = 0;

			for (s->at++; hex_digit(s->t[s->at]) >= 0 && digits < 8; s->at++, digits++)
				v = v * 16 + (unsigned)hex_digit(s->t[s->at]);
			if (s->t[s->at] != '}' || digits == 0)
				return fail(s, -EINVAL, "has an invalid escape \\x{...}%s", "");
			s->at++;
		} else {
			if (hex_digit(s->t[s->at]) < 0 || hex_digit(s->t[s->at + 1]) < 0)
				return fail(s, -EINVAL, "has an invalid escape \\x%s", "");
			v = (unsigned)(hex_digit(s->t[s->at]) * 16 + hex_digit(s->t[s->at + 1]));
			s->at += 2;
		}
		if (v > 0x7f)
			return fail(s, -ENOTSUP, "has a character past ASCII (\\x%s)", "...");
		*byte = v;
		return 1;
	case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
		/* Go: octal \0, \01, \012, \123, but \1-\9 alone are backreferences */
		if (c != '0' && (s->t[s->at] < '0' || s->t[s->at] > '7'))
			return fail(s, -EINVAL, "has a backreference \\%s, which Go refuses", "N");
		v = (unsigned)(c - '0');
		for (int k = 0; k < 2 && s->t[s->at] >= '0' && s->t[s->at] <= '7'; k++)
			v = v * 8 + (unsigned)(s->t[s->at++] - '0');
		if (v > 0x7f)
			return fail(s, -ENOTSUP, "has a character past ASCII (\\%s)", "octal");
		*byte = v;
		return 1;
	default:
		/* Go: any punctuation may be escaped; a letter or a digit it does not know may not */
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    (unsigned char)c >= 0x80)
			return fail(s, -EINVAL, "has an invalid escape sequence \\%s", "?");
		*byte = (unsigned char)c;
		return 1;
	}
}

static void
fold(uint8_t *set)
{
	for (unsigned c = 'A'; c <= 'Z'; c++) {
		if (set_has(set, c) || set_has(set, c + 32)) {
			set_add(set, c);
			set_add(set, c + 32);
		}
	}
}

/* [...] at s->t[s->at] (after the '['). */
static int
parse_class(struct ps *s)
{
	int id = new_node(s, OP_BYTES);
	uint8_t set[32] = { 0 };
	bool neg = false, first = true;

	if (id < 0)
		return -1;
	if (s->t[s->at] == '^') {
		neg = true;
		s->at++;
	}
	for (;;) {
		unsigned lo, hi;
		char c = s->t[s->at];
		uint8_t cls[32] = { 0 };
		enum op op;
		int r;

		if (c == '\0')
			return fail(s, -EINVAL, "has a missing closing ]%s", "");
		if (c == ']' && !first) {
			s->at++;
			break;
		}
		first = false;
		if (c == '[' && s->t[s->at + 1] == ':') {
			const char *end = strstr(s->t + s->at + 2, ":]");
			const char *name = s->t + s->at + 2;
			bool pneg = *name == '^';

			if (end != NULL && posix_class(set, name + pneg, (size_t)(end - name - pneg),
						       pneg)) {
				s->at = (size_t)(end + 2 - s->t);
				continue;
			}
			if (end != NULL)
				return fail(s, -EINVAL, "has an invalid character class range "
						       "[:%s:]", "...");
		}
		/* one end of a range, or a class */
		s->at++;
		if (c == '\\') {
			r = escape(s, true, &lo, cls, &op);
			if (r < 0)
				return -1;
			if (r == 2) {
				for (int i = 0; i < 32; i++)
					set[i] |= cls[i];
				continue;
			}
		} else {
			lo = (unsigned char)c;
		}
		hi = lo;
		if (s->t[s->at] == '-' && s->t[s->at + 1] != ']' && s->t[s->at + 1] != '\0') {
			char d = s->t[s->at + 1];

			s->at += 2;
			if (d == '\\') {
				r = escape(s, true, &hi, cls, &op);
				if (r < 0)
					return -1;
				if (r != 1)
					return fail(s, -EINVAL, "has an invalid character class "
							       "range%s", "");
			} else {
				hi = (unsigned char)d;
			}
			if (hi < lo)
				return fail(s, -EINVAL, "has an invalid character class range%s", "");
		}
		if (lo > 0x7f || hi > 0x7f)
			return fail(s, -ENOTSUP, "has a character past ASCII%s", "");
		set_range(set, lo, hi);
	}
	if (s->fold)
		fold(set);
	if (neg)
		for (int i = 0; i < 32; i++)
			set[i] = (uint8_t)~set[i];
	memcpy(s->p->v[id].set, set, sizeof(set));
	return id;
}

static int parse_alt(struct ps *s);

/* (?flags) or (?flags:...) after "(?"; *@group_out tells which one. */
static int
parse_flags(struct ps *s, bool *group, bool *fold, bool *dotnl)
{
	bool neg = false;

	for (;;) {
		char c = s->t[s->at++];

		switch (c) {
		case 'i': *fold = !neg; break;
		case 's': *dotnl = !neg; break;
		case 'm': case 'U': break;	/* no newline in a name; laziness: same yes or no */
		case '-':
			if (neg)
				return fail(s, -EINVAL, "has invalid flags%s", "");
			neg = true;
			break;
		case ')': *group = false; return 0;
		case ':': *group = true; return 0;
		default:
			s->at--;
			return fail(s, -EINVAL, "has invalid or unsupported Perl syntax (?%s", "...");
		}
	}
}

static int
parse_atom(struct ps *s)
{
	char c = s->t[s->at];
	unsigned byte;
	enum op op;
	int id, r;

	switch (c) {
	case '(': {
		bool ofold = s->fold, odotnl = s->dotnl, group = true;

		s->at++;
		if (++s->depth > IFPATTERN_MAX_DEPTH)
			return fail(s, -ENOTSUP, "nests groups deeper than %s", "64");
		if (s->t[s->at] == '?') {
			s->at++;
			if (s->t[s->at] == 'P' || s->t[s->at] == '<') {	/* a named group */
				size_t n;

				s->at += s->t[s->at] == 'P';
				if (s->t[s->at] != '<')
					return fail(s, -EINVAL, "has invalid named capture%s", "");
				n = strspn(s->t + s->at + 1, "abcdefghijklmnopqrstuvwxyz"
							     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
				if (n == 0 || s->t[s->at + 1 + n] != '>')
					return fail(s, -EINVAL, "has invalid named capture%s", "");
				s->at += n + 2;
			} else if (parse_flags(s, &group, &s->fold, &s->dotnl) < 0) {
				return -1;
			}
			if (!group) {	/* (?i): the flags hold to the end of the enclosing group */
				s->depth--;
				return new_node(s, OP_EMPTY);
			}
		}
		id = parse_alt(s);
		if (id < 0)
			return -1;
		if (s->t[s->at] != ')')
			return fail(s, -EINVAL, "has a missing closing )%s", "");
		s->at++;
		s->fold = ofold;
		s->dotnl = odotnl;
		s->depth--;
		return id;
	}
	case '[':
		s->at++;
		return parse_class(s);
	case '.':
		s->at++;
		id = new_node(s, OP_BYTES);
		if (id >= 0) {
			memset(s->p->v[id].set, 0xff, sizeof(s->p->v[id].set));
			if (!s->dotnl)
				s->p->v[id].set['\n' >> 3] &= (uint8_t)~(1u << ('\n' & 7));
		}
		return id;
	case '^':
	case '$':
		s->at++;
		return new_node(s, c == '^' ? OP_BEGIN : OP_END);
	case '*': case '+': case '?':
		return fail(s, -EINVAL, "has a missing argument to repetition operator %s",
			    c == '*' ? "*" : c == '+' ? "+" : "?");
	case '\\':
		if (s->t[s->at + 1] == 'Q') {	/* \Q...\E: literal text */
			int cat = new_node(s, OP_CAT), last = -1;

			for (s->at += 2; cat >= 0 && s->t[s->at] != '\0'; s->at++) {
				if (s->t[s->at] == '\\' && s->t[s->at + 1] == 'E') {
					s->at += 2;
					break;
				}
				if ((id = new_node(s, OP_BYTES)) < 0)
					return -1;
				set_add(s->p->v[id].set, (unsigned char)s->t[s->at]);
				if (s->fold)
					fold(s->p->v[id].set);
				if (last < 0)
					s->p->v[cat].kid = (int16_t)id;
				else
					s->p->v[last].next = (int16_t)id;
				last = id;
			}
			return cat;
		}
		s->at++;
		id = new_node(s, OP_BYTES);
		if (id < 0)
			return -1;
		r = escape(s, false, &byte, s->p->v[id].set, &op);
		if (r < 0)
			return -1;
		if (r == 1)
			set_add(s->p->v[id].set, byte);
		else if (r == 3)
			s->p->v[id].op = (uint8_t)op;
		if (s->fold)
			fold(s->p->v[id].set);
		return id;
	default:
		if ((unsigned char)c >= 0x80)
			return fail(s, -ENOTSUP, "has a character past ASCII%s", "");
		s->at++;
		id = new_node(s, OP_BYTES);
		if (id >= 0) {
			set_add(s->p->v[id].set, (unsigned char)c);
			if (s->fold)
				fold(s->p->v[id].set);
		}
		return id;
	}
}

/* A repeat count {n}, {n,} or {n,m} at s->t[s->at]: true and the bounds, or false
 * (not one: then '{' is a literal, as in Go). */
static bool
count(const char *t, size_t *at, int *min, int *max, bool *big)
{
	size_t i = *at + 1;
	long lo = 0, hi;
	int digits = 0;

	for (; t[i] >= '0' && t[i] <= '9'; i++, digits++)
		lo = lo < 100000 ? lo * 10 + (t[i] - '0') : lo;
	if (digits == 0)
		return false;
	hi = lo;
	if (t[i] == ',') {
		i++;
		if (t[i] == '}') {
			hi = -1;
		} else {
			hi = 0;
			for (digits = 0; t[i] >= '0' && t[i] <= '9'; i++, digits++)
				hi = hi < 100000 ? hi * 10 + (t[i] - '0') : hi;
			if (digits == 0)
				return false;
		}
	}
	if (t[i] != '}')
		return false;
	*big = lo > 1000 || hi > 1000 || (hi >= 0 && hi < lo);
	*min = (int)(lo > 1000 ? 1000 : lo);
	*max = (int)(hi > 1000 ? 1000 : hi);
	*at = i + 1;
	return true;
}

static int
parse_repeat(struct ps *s)
{
	int atom, min, max;
	bool quantified = false, big;

	if (s->t[s->at] == '{') {
		size_t at = s->at;

		if (count(s->t, &at, &min, &max, &big))
			return fail(s, -EINVAL, "has a missing argument to repetition operator %s",
				    "{");
		s->at++;
		atom = new_node(s, OP_BYTES);
		if (atom >= 0)
			set_add(s->p->v[atom].set, '{');
	} else {
		atom = parse_atom(s);
	}
	while (atom >= 0) {
		char c = s->t[s->at];
		size_t at = s->at;
		int rep;

		if (c == '*' || c == '+' || c == '?') {
			min = c == '+';
			max = c == '?' ? 1 : -1;
			s->at++;
		} else if (c == '{' && count(s->t, &at, &min, &max, &big)) {
			if (big)
				return fail(s, -EINVAL, "has an invalid repeat count%s", "");
			s->at = at;
		} else {
			break;
		}
		if (quantified)
			return fail(s, -EINVAL, "has an invalid nested repetition operator%s", "");
		quantified = true;
		if (s->t[s->at] == '?')
			s->at++;	/* lazy: the same yes or no */
		if ((rep = new_node(s, OP_REP)) < 0)
			return -1;
		s->p->v[rep].kid = (int16_t)atom;
		s->p->v[rep].min = (int16_t)min;
		s->p->v[rep].max = (int16_t)max;
		atom = rep;
	}
	return atom;
}

/* Node @id becomes the child of @parent after *@last (-1: its first). */
static void
add_kid(struct ps *s, int parent, int *last, int id)
{
	if (*last < 0)
		s->p->v[parent].kid = (int16_t)id;
	else
		s->p->v[*last].next = (int16_t)id;
	*last = id;
}

/* A sequence, up to '|', ')' or the end. */
static int
parse_cat(struct ps *s)
{
	int cat = new_node(s, OP_CAT), last = -1;

	while (cat >= 0 && s->t[s->at] != '\0' && s->t[s->at] != '|' && s->t[s->at] != ')') {
		int id = parse_repeat(s);

		if (id < 0)
			return -1;
		add_kid(s, cat, &last, id);
	}
	return cat;
}

static int
parse_alt(struct ps *s)
{
	int alt = new_node(s, OP_ALT), last = -1;

	while (alt >= 0) {
		int id = parse_cat(s);

		if (id < 0)
			return -1;
		add_kid(s, alt, &last, id);
		if (s->t[s->at] != '|')
			break;
		s->at++;
	}
	return alt;
}

int
ifpattern_compile(const char *re, struct ifpattern **out, char *why, size_t whylen)
{
	struct ifpattern *p;
	struct ps s = { .t = re, .why = why, .whylen = whylen };

	*out = NULL;
	if (strlen(re) > IFPATTERN_MAX_TEXT) {
		snprintf(why, whylen, "is longer than %d bytes", IFPATTERN_MAX_TEXT);
		return -ENOTSUP;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->v = calloc(IFPATTERN_MAX_NODES, sizeof(*p->v))) == NULL) {
		free(p);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	s.p = p;
	p->root = parse_alt(&s);
	if (p->root >= 0 && re[s.at] == ')')
		(void)fail(&s, -EINVAL, "has an unexpected )%s", "");
	if (s.err == 0) {
		p->memo = calloc((size_t)p->n * (IFPATTERN_MAX_SUBJECT + 1), sizeof(*p->memo));
		p->known = calloc((size_t)p->n, sizeof(*p->known));
		if (p->memo == NULL || p->known == NULL) {
			s.err = -ENOMEM;
			snprintf(why, whylen, "out of memory");
		}
	}
	if (s.err != 0) {
		ifpattern_free(p);
		return s.err;
	}
	*out = p;
	return 0;
}

/* The positions where node @id can end when it starts at @i. */
static uint32_t
ends(struct ifpattern *p, int id, int i)
{
	const struct node *nd = &p->v[id];
	uint32_t *slot = &p->memo[id * (IFPATTERN_MAX_SUBJECT + 1) + i], r = 0, cur;
	unsigned char prev, here;

	if (p->known[id] & (1u << i))
		return *slot;
	switch ((enum op)nd->op) {
	case OP_EMPTY:
		r = 1u << i;
		break;
	case OP_BYTES:
		if (i < p->len && set_has(nd->set, (unsigned char)p->s[i]))
			r = 1u << (i + 1);
		break;
	case OP_BEGIN:
		r = i == 0 ? 1u << i : 0;
		break;
	case OP_END:
		r = i == p->len ? 1u << i : 0;
		break;
	case OP_WORDB:
	case OP_NWORDB:
		prev = i > 0 ? (unsigned char)p->s[i - 1] : 0;
		here = i < p->len ? (unsigned char)p->s[i] : 0;
		if (((i > 0 && is_word(prev)) != (i < p->len && is_word(here))) ==
		    (nd->op == OP_WORDB))
			r = 1u << i;
		break;
	case OP_CAT:
		r = 1u << i;
		for (int k = nd->kid; k >= 0 && r != 0; k = p->v[k].next) {
			uint32_t next = 0;

			for (int j = 0; j <= p->len; j++)
				if (r & (1u << j))
					next |= ends(p, k, j);
			r = next;
		}
		break;
	case OP_ALT:
		for (int k = nd->kid; k >= 0; k = p->v[k].next)
			r |= ends(p, k, i);
		break;
	case OP_REP: {
		/* past len + 1 steps the ends do not change (see the top of the file) */
		int lim = p->len + 2;
		int min = nd->min < lim ? nd->min : lim;
		int max = nd->max < 0 || nd->max > lim ? lim : nd->max;

		cur = 1u << i;
		r = min == 0 ? cur : 0;
		for (int step = 1; step <= max && cur != 0; step++) {
			uint32_t next = 0;

			for (int j = 0; j <= p->len; j++)
				if (cur & (1u << j))
					next |= ends(p, nd->kid, j);
			cur = next;
			if (step >= min)
				r |= cur;
		}
		break;
	}
	}
	*slot = r;
	p->known[id] |= 1u << i;
	return r;
}

bool
ifpattern_match(struct ifpattern *p, const char *name)
{
	size_t len = strlen(name);

	if (len > IFPATTERN_MAX_SUBJECT)
		return false;
	p->s = name;
	p->len = (int)len;
	memset(p->known, 0, (size_t)p->n * sizeof(*p->known));
	for (int i = 0; i <= p->len; i++)
		if (ends(p, p->root, i) != 0)
			return true;
	return false;
}

void
ifpattern_free(struct ifpattern *p)
{
	if (p == NULL)
		return;
	free(p->v);
	free(p->memo);
	free(p->known);
	free(p);
}
