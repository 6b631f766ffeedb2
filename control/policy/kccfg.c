/*
 * kccfg.c - decoding KubeControllersConfiguration objects. nfqwall reads
 * the one part that shapes what rule selectors see: the auto host endpoint
 * settings under spec.controllers.node.hostEndpoint (autoCreate,
 * createDefaultHostEndpoint and the v3.30+ templates), validated as
 * Calico's validator does. The rest of the object (log levels, the other
 * controllers) is no concern of nfqwall's and is not checked. Which object
 * counts, and what the daemon makes of it: docs/semantics.md §3.3 and
 * autohep.c. Control thread only.
 */
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

/* An interface pattern, compiled (Go's RE2 syntax, translated to POSIX ERE). */
#define PATTERN_MAX	256
/*
 * glibc compiles a counted repetition by copying what it repeats, so nested
 * counts multiply: "((a{999}){999}){999}" would cost gigabytes. Interface
 * names are at most 15 bytes, on which a count above 16 says nothing more
 * than 16 does (a piece that cannot match empty cannot repeat 16 times in 15
 * bytes; one that can, can repeat any number of times), so counts are
 * clamped to 16, and at most 3 counted repetitions are taken: 16^3 copies at
 * worst.
 */
#define PATTERN_COUNT_MAX	16
#define PATTERN_COUNTS_MAX	3

void
kccfg_free(struct kccfg *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->ntpl; i++) {
		struct hep_template *t = &k->tpl[i];

		free(t->generate_name);
		free(t->cidrs);
		free(t->pattern);
		if (t->re != NULL) {
			regfree(t->re);
			free(t->re);
		}
		labels_free(&t->labels);
		selector_free(t->node_sel);
	}
	free(k->tpl);
	free(k->name);
	free(k);
}

/* Calico's "name" validator: a lowercase RFC 1123 subdomain, labels joined by '.'. */
static bool
valid_subdomain(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!alnum && (ch != '-' || label == 0))
			return false;
		label++;
	}
	return s[n - 1] != '-' && s[n - 1] != '.';
}

/*
 * The RE2 pattern @in as a POSIX extended regular expression into @out.
 * kube-controllers matches interface names with Go's regexp (MatchString:
 * anywhere in the name). The common RE2 shorthands translate (\d \D \w \W
 * \s \S, \A and \z, escaped punctuation; a lazy quantifier matches what the
 * greedy one does when only "does it match" is asked); what POSIX cannot
 * say (flags, non-capturing groups, \b, \p classes, escapes inside [...])
 * is refused with a reason, never guessed at.
 */
static bool
re2_to_ere(const char *in, char *out, size_t outlen, const char **why)
{
	size_t o = 0;
	bool bracket = false;
	unsigned counts = 0;

#define EMIT(s)                                                         \
	do {                                                            \
		size_t l_ = strlen(s);                                  \
		if (o + l_ >= outlen) {                                 \
			*why = "is too long";                           \
			return false;                                   \
		}                                                       \
		memcpy(out + o, (s), l_);                               \
		o += l_;                                                \
	} while (0)

	for (const char *p = in; *p; p++) {
		char one[3] = { *p, '\0', '\0' };

		if (bracket) {
			if (*p == '\\') {
				*why = "has a backslash inside [...], which nfqwall cannot translate";
				return false;
			}
			if (*p == '[' && p[1] == ':') {		/* [:alpha:], copied whole */
				const char *end = strstr(p + 2, ":]");
				char cls[32];

				if (end == NULL || (size_t)(end + 2 - p) >= sizeof(cls)) {
					*why = "has an unterminated [: class";
					return false;
				}
				memcpy(cls, p, (size_t)(end + 2 - p));
				cls[end + 2 - p] = '\0';
				EMIT(cls);
				p = end + 1;
				continue;
			}
			if (*p == ']')
				bracket = false;
			EMIT(one);
			continue;
		}
		switch (*p) {
		case '[':
			bracket = true;
			EMIT("[");
			if (p[1] == '^') {
				EMIT("^");
				p++;
			}
			if (p[1] == ']') {
				EMIT("]");
				p++;
			}
			continue;
		case '(':
			if (p[1] == '?') {
				*why = "uses (?...) flags or groups, which nfqwall does not support";
				return false;
			}
			break;
		case '{': {	/* {n}, {n,} or {n,m}: clamped (PATTERN_COUNT_MAX) */
			char num[40];
			unsigned long lo, hi = 0;
			char *end;
			bool open = false;

			if (p[1] < '0' || p[1] > '9') {
				EMIT("\\{");	/* a literal '{', as RE2 takes it */
				continue;
			}
			lo = strtoul(p + 1, &end, 10);
			if (*end == ',') {
				open = end[1] == '}';
				if (!open)
					hi = strtoul(end + 1, &end, 10);
				else
					end++;
			} else {
				hi = lo;
			}
			if (*end != '}') {
				EMIT("\\{");	/* "{1,x}": no count, a literal to RE2 */
				continue;
			}
			if ((!open && hi < lo) || lo > 1000 || hi > 1000) {
				*why = "has a repetition count RE2 would refuse (over 1000, or {n,m} "
				       "with m < n)";
				return false;
			}
			if (++counts > PATTERN_COUNTS_MAX) {
				*why = "has more than 3 counted repetitions";
				return false;
			}
			lo = lo > PATTERN_COUNT_MAX ? PATTERN_COUNT_MAX : lo;
			hi = hi > PATTERN_COUNT_MAX ? PATTERN_COUNT_MAX : hi;
			if (open)
				snprintf(num, sizeof(num), "{%lu,}", lo);
			else
				snprintf(num, sizeof(num), "{%lu,%lu}", lo, hi);
			EMIT(num);
			p = end;
			if (p[1] == '?')
				p++;	/* lazy */
			continue;
		}
		case '}':
			EMIT("\\}");	/* one that closes no count: a literal */
			continue;
		case '*': case '+': case '?':
			EMIT(one);
			if (p[1] == '?')
				p++;	/* lazy: the same yes or no */
			continue;
		case '\\':
			p++;
			switch (*p) {
			case 'd': EMIT("[0-9]"); continue;
			case 'D': EMIT("[^0-9]"); continue;
			case 'w': EMIT("[0-9A-Za-z_]"); continue;
			case 'W': EMIT("[^0-9A-Za-z_]"); continue;
			case 's': EMIT("[[:space:]]"); continue;
			case 'S': EMIT("[^[:space:]]"); continue;
			case 'A': EMIT("^"); continue;
			case 'z': EMIT("$"); continue;
			case '\0':
				*why = "ends in a lone backslash";
				return false;
			default:
				break;
			}
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9')) {
				*why = "uses a backslash escape that nfqwall does not support";
				return false;
			}
			one[0] = '\\';
			one[1] = *p;
			break;
		default:
			break;
		}
		EMIT(one);
	}
#undef EMIT
	if (bracket) {
		*why = "has an unterminated [";
		return false;
	}
	out[o] = '\0';
	return true;
}

static void
decode_pattern(struct dctx *c, const yaml_node_t *n, struct hep_template *t)
{
	const char *s = dstr(c, n, "interfacePattern"), *why = NULL;
	char ere[PATTERN_MAX * 12 + 1];
	regex_t *re;

	if (s == NULL || *s == '\0')
		return;
	if (strlen(s) > PATTERN_MAX) {
		derr(c, n, "interfacePattern is longer than %d characters", PATTERN_MAX);
		return;
	}
	if (!re2_to_ere(s, ere, sizeof(ere), &why)) {
		derr(c, n, "interfacePattern \"%s\" %s", s, why);
		return;
	}
	re = dcalloc(c, 1, sizeof(*re));
	if (re == NULL)
		return;
	if (regcomp(re, ere, REG_EXTENDED | REG_NOSUB) != 0) {
		free(re);
		derr(c, n, "interfacePattern \"%s\" is not a regular expression", s);
		return;
	}
	t->re = re;
	t->pattern = dstrdup(c, s);
}

static void
decode_cidrs(struct dctx *c, const yaml_node_t *n, struct hep_template *t)
{
	size_t old = c->plen;

	if (!dseq(c, n, "interfaceCIDRs"))
		return;
	t->cidrs = dcalloc(c, ydoc_len(n), sizeof(*t->cidrs));
	if (t->cidrs == NULL)
		return;
	for (size_t i = 0; i < ydoc_len(n); i++) {
		yaml_node_t *it = ydoc_item(c->y, n, i);
		const char *s;
		int r;

		dpath_push(c, "[%zu]", i);
		s = dstr(c, it, "a CIDR");
		if (s != NULL) {
			r = cidr_parse(s, CIDR_STRICT, &t->cidrs[t->ncidrs]);
			if (r == -EDOM)		/* Go's ParseCIDR takes host bits and drops them */
				r = cidr_parse(s, CIDR_LOOSE, &t->cidrs[t->ncidrs]);
			if (r == -ENOENT) {
				uint8_t fam = t->cidrs[t->ncidrs].family;

				memset(&t->cidrs[t->ncidrs++], 0, sizeof(*t->cidrs));
				dwarn(c, it, "\"%s\" is an address, not a CIDR: Calico's kube-controllers "
					     "cannot parse it and may give this template no address; "
					     "write \"%s/%u\"", s, s,
				      addr_bits(fam));
			} else if (r < 0) {
				derr(c, it, "\"%s\" is not a CIDR", s);
			} else {
				t->ncidrs++;
			}
		}
		dpath_pop(c, old);
	}
}

/* One templates[] entry; the field path is the entry's on entry and exit. */
static void
decode_template(struct dctx *c, const yaml_node_t *n, struct hep_template *t)
{
	static const char *const known[] = {
		"generateName", "interfaceCIDRs", "interfacePattern", "labels", "annotations",
		"nodeSelector", NULL,
	};
	size_t old = c->plen;
	yaml_node_t *f;
	bool ok = true;

	labels_init(&t->labels);
	if (!dmap(c, n, "a template"))
		return;
	dfields(c, n, known);
	f = dget(c, n, "generateName");
	dpath_push(c, ".generateName");
	if (f != NULL && dstr(c, f, "generateName") && *ydoc_str(f) != '\0') {
		if (!valid_subdomain(ydoc_str(f)))
			derr(c, f, "\"%s\" is not a name (lowercase letters, digits, '-' and '.', "
				   "at most 253)", ydoc_str(f));
		else
			t->generate_name = dstrdup(c, ydoc_str(f));
	} else if (!dfailed(c)) {
		/* Calico accepts it, and then names the endpoint as the default one (which
		 * it replaces) or, with an interfacePattern, gives up on the Node */
		dwarn(c, f != NULL ? f : n, "no generateName: kube-controllers names this "
					    "template's endpoint \"<node>-auto-hep\", replacing the "
					    "default one (with interfacePattern: it stops at this "
					    "template); give it a name");
	}
	dpath_pop(c, old);
	if ((f = dget(c, n, "interfaceCIDRs")) != NULL) {
		dpath_push(c, ".interfaceCIDRs");
		decode_cidrs(c, f, t);
		dpath_pop(c, old);
	}
	if ((f = dget(c, n, "interfacePattern")) != NULL) {
		dpath_push(c, ".interfacePattern");
		decode_pattern(c, f, t);
		dpath_pop(c, old);
	}
	dpath_push(c, ".labels");
	decode_labels(c, dget(c, n, "labels"), &t->labels);
	dpath_pop(c, old);
	f = dget(c, n, "nodeSelector");
	dpath_push(c, ".nodeSelector");
	t->node_sel = f != NULL ? dselector(c, f, &ok) : dselector_fixed(c, "all()");
	dpath_pop(c, old);
}

/* spec.controllers.node.hostEndpoint; the field path is "spec" on entry and exit. */
static void
decode_hostendpoint(struct dctx *c, const yaml_node_t *he, struct kccfg *k)
{
	static const char *const known[] = {
		"autoCreate", "createDefaultHostEndpoint", "templates", NULL,
	};
	size_t old = c->plen, at;
	yaml_node_t *f;
	const char *s;

	dpath_push(c, ".controllers.node.hostEndpoint");
	if (!dmap(c, he, "hostEndpoint"))
		goto out;
	k->has_hep = true;
	k->create_default = true;
	dfields(c, he, known);
	at = dpath_push(c, ".autoCreate");
	if ((f = dget(c, he, "autoCreate")) != NULL && (s = dstr(c, f, "autoCreate")) != NULL) {
		if (strcmp(s, "Enabled") == 0)
			k->auto_create = true;
		else if (strcmp(s, "Disabled") != 0)
			derr(c, f, "autoCreate must be Enabled or Disabled");
	}
	dpath_pop(c, at);
	dpath_push(c, ".createDefaultHostEndpoint");
	f = dget(c, he, "createDefaultHostEndpoint");
	if (f != NULL && (s = dstr(c, f, "createDefaultHostEndpoint")) != NULL) {
		if (strcmp(s, "Disabled") == 0)
			k->create_default = false;
		else if (strcmp(s, "Enabled") != 0)
			derr(c, f, "createDefaultHostEndpoint must be Enabled or Disabled");
	}
	dpath_pop(c, at);
	f = dget(c, he, "templates");
	dpath_push(c, ".templates");
	if (f == NULL || !dseq(c, f, "templates"))
		goto out;
	dpath_pop(c, at);
	k->tpl = dcalloc(c, ydoc_len(f), sizeof(*k->tpl));
	for (size_t i = 0; k->tpl != NULL && i < ydoc_len(f); i++) {
		dpath_push(c, ".templates[%zu]", i);
		decode_template(c, ydoc_item(c->y, f, i), &k->tpl[k->ntpl++]);
		dpath_pop(c, at);
	}
out:
	dpath_pop(c, old);
}

void
decode_kccfg(struct dctx *c, const yaml_node_t *obj, struct meta *m)
{
	yaml_node_t *spec = dget(c, obj, "spec"), *ctl, *node, *he;
	struct kccfg *k = dcalloc(c, 1, sizeof(*k));

	if (k == NULL)
		return;
	k->name = m->name;
	m->name = NULL;
	k->loc = (struct srcloc){ c->file, ydoc_line(obj), ydoc_col(obj) };
	dpath_push(c, "spec");
	if (spec != NULL && dmap(c, spec, "spec") &&
	    (ctl = dget(c, spec, "controllers")) != NULL && dmap(c, ctl, "controllers") &&
	    (node = dget(c, ctl, "node")) != NULL && dmap(c, node, "node") &&
	    (he = dget(c, node, "hostEndpoint")) != NULL)
		decode_hostendpoint(c, he, k);
	dpath_pop(c, 0);
	if (!dfailed(c) && k->has_hep && strcmp(k->name, "default") != 0)
		dwarn(c, obj, "only the KubeControllersConfiguration named \"default\" configures "
			      "Calico's kube-controllers; this one is not read");
	if (dfailed(c)) {
		kccfg_free(k);
		return;
	}
	polset_add(c, OBJ_KCCFG, k);
}
