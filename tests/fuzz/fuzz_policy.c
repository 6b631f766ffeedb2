/*
 * fuzz_policy.c - libFuzzer target for the policy loader and validator
 * (control/policy/: ycompose.c, polset.c and the decoders) on one input,
 * read as a policy file.
 *
 * No input may crash it or run away with time or memory (libFuzzer's
 * -timeout and -rss_limit_mb catch those). Besides, it checks:
 *   - the load ends in 0 or -ENOMEM, and the set's counts agree;
 *   - every diagnostic formats as one line of valid UTF-8 with no control
 *     character, whose position lies inside the input, and whose length
 *     is what diag_format() said;
 *   - every selector the set holds prints to text that parses back to the
 *     same text, and every name and label is a C string of valid UTF-8;
 *   - the same input read as JSON by the strict reader (jsonv, which reads
 *     the v1 metadata annotation) either fails with an offset inside it or
 *     gives a tree whose sizes add up and whose strings hold no NUL.
 * Any violation aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "jsonv.h"
#include "model.h"
#include "utf8.h"

#include "fuzz.h"

static void
fuzz_fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_policy: %s: %s\n", what, detail ? detail : "");
	abort();
}

/* @s is valid UTF-8 (and, when @printable, free of control characters). */
static void
fuzz_text(const char *what, const char *s, bool printable)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_decode(p + i, n - i, &cp);

		if (len == 0)
			fuzz_fail(what, "invalid UTF-8");
		if (printable && (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 ||
				  cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e)))
			fuzz_fail(what, s);
		i += len;
	}
}

static void
fuzz_diags(const struct polset *ps, size_t nlines)
{
	for (size_t i = 0; i < ps->diags.n; i++) {
		const struct diag *d = &ps->diags.v[i];
		int n = diag_format(d, NULL, 0);
		char *line = malloc((size_t)n + 1), small[64];

		if (line == NULL)
			return;
		if (diag_format(d, line, (size_t)n + 1) != n || strlen(line) != (size_t)n)
			fuzz_fail("diag_format length", line);
		fuzz_text("diagnostic", line, true);
		/* shortened, it still is whole characters and escapes */
		diag_format(d, small, sizeof(small));
		fuzz_text("short diagnostic", small, true);
		if (d->line < 0 || (size_t)d->line > nlines + 1 || d->col < 0)
			fuzz_fail("position outside the input", line);
		free(line);
	}
}

static void
fuzz_selector_stable(const struct selector *s)
{
	size_t n = selector_format(s, NULL, 0);
	char *t1 = malloc(n + 1), *t2;
	struct selector *r;

	if (t1 == NULL)
		return;
	selector_format(s, t1, n + 1);
	if (selector_parse(t1, &r, NULL) != 0)
		fuzz_fail("a loaded selector does not print back", t1);
	n = selector_format(r, NULL, 0);
	t2 = malloc(n + 1);
	if (t2 != NULL) {
		selector_format(r, t2, n + 1);
		if (strcmp(t1, t2) != 0)
			fuzz_fail("selector text not stable", t1);
	}
	free(t2);
	free(t1);
	selector_free(r);
}

static void
fuzz_labels(const struct labels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		fuzz_text("label key", l->v[i].key, false);
		fuzz_text("label value", l->v[i].value, false);
		if (i > 0 && strcmp(l->v[i - 1].key, l->v[i].key) >= 0)
			fuzz_fail("labels not sorted", l->v[i].key);
	}
}

static void
fuzz_set(const struct polset *ps)
{
	size_t held = ps->npolicies + ps->nheps + ps->nnetsets + ps->ntiers + ps->nfelixcfgs;

	if (ps->nrejected > ps->nobjects || held > ps->nobjects)
		fuzz_fail("counts", "more objects held or rejected than seen");
	for (size_t i = 0; i < ps->npolicies; i++) {
		const struct policy *p = ps->policies[i];

		fuzz_text("policy name", p->name, false);
		fuzz_selector_stable(p->sel);
		for (size_t r = 0; r < p->ningress + p->negress; r++) {
			const struct rule *ru = r < p->ningress ? &p->ingress[r] :
								  &p->egress[r - p->ningress];

			if (ru->src.sel != NULL)
				fuzz_selector_stable(ru->src.sel);
			if (ru->dst.sel != NULL)
				fuzz_selector_stable(ru->dst.sel);
		}
	}
	for (size_t i = 0; i < ps->nheps; i++)
		fuzz_labels(&ps->heps[i]->labels);
	for (size_t i = 0; i < ps->nnetsets; i++) {
		fuzz_text("network set name", ps->netsets[i]->name, false);
		fuzz_labels(&ps->netsets[i]->labels);
	}
}

static void
fuzz_json(const uint8_t *data, size_t size)
{
	struct jsonv_error err;
	struct jsonv j;
	int rc = jsonv_parse(&j, (const char *)data, size, 64, &err);

	if (rc == -EINVAL) {
		if (err.at > size || err.msg[0] == '\0')
			fuzz_fail("jsonv error", err.msg);
	} else if (rc == 0) {
		if (jsonv_root(&j)->size != j.n)
			fuzz_fail("jsonv", "the root's subtree is not the whole tree");
		for (size_t i = 0; i < j.n; i++) {
			const struct jsonv_node *n = &j.v[i];

			if (n->size < 1 || i + n->size > j.n || n->at >= size)
				fuzz_fail("jsonv", "a node out of range");
			if ((n->type == JSONV_STRING || n->type == JSONV_NUMBER) &&
			    strlen(jsonv_text(&j, n)) != n->n)
				fuzz_fail("jsonv", "a NUL inside a string");
			if (n->type == JSONV_STRING)
				fuzz_text("jsonv string", jsonv_text(&j, n), false);
		}
	}
	jsonv_free(&j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct polset ps;
	size_t nlines = 1;
	int rc;

	/* an upper bound: libyaml also breaks lines at U+0085, U+2028, U+2029 */
	for (size_t i = 0; i < size; i++)
		nlines += data[i] == '\n' || data[i] == '\r' || data[i] == 0x85 || data[i] == 0xa8 ||
			  data[i] == 0xa9;
	polset_init(&ps);
	/* both ways an unknown field goes: an error (the default) or a warning */
	ps.limits.allow_unknown_fields = size % 2 == 1;
	rc = polset_load_buffer(&ps, "fuzz.yaml", (const char *)data, size);
	if (rc != 0 && rc != -ENOMEM)
		fuzz_fail("polset_load_buffer", strerror(-rc));
	fuzz_diags(&ps, nlines);
	if (rc == 0)
		fuzz_set(&ps);
	polset_free(&ps);
	fuzz_json(data, size);
	return 0;
}
