/*
 * fuzz_selector.c - libFuzzer target for control/policy/selector.c.
 *
 * Parses the input; when it parses, the canonical text must parse again,
 * print identically, and evaluate the same as the original on a few fixed
 * label maps. A prefix-free deep copy and selector_and(s, s) must agree
 * too, and so must the selector with every key prefixed, evaluated on the
 * maps with every key prefixed. Any difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"

#include "fuzz.h"

static struct labels maps[6];
static struct labels pmaps[6];		/* maps[i] with every key prefixed by "p/" */
static bool maps_ready;

static void
fuzz_set(struct labels *l, const char *k, const char *v)
{
	if (labels_set(l, k, v) != 0)
		abort();
}

static void
fuzz_maps_init(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++)
		labels_init(&maps[i]);
	fuzz_set(&maps[1], "a", "");
	fuzz_set(&maps[2], "a", "a");
	fuzz_set(&maps[2], "b", "x\"y");
	fuzz_set(&maps[2], "k", "v");
	fuzz_set(&maps[3], "a", "b");
	fuzz_set(&maps[3], "env", "prod");
	fuzz_set(&maps[3], "x", "'");
	fuzz_set(&maps[4], "b", "a");
	fuzz_set(&maps[4], "c", "abc");
	fuzz_set(&maps[4], "in", "in");
	fuzz_set(&maps[5], "a", "x");
	fuzz_set(&maps[5], "b", "");
	fuzz_set(&maps[5], "c", "");
	fuzz_set(&maps[5], "k", "");
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
		labels_init(&pmaps[i]);
		for (size_t j = 0; j < maps[i].n; j++) {
			char key[64];

			snprintf(key, sizeof(key), "p/%s", maps[i].v[j].key);
			fuzz_set(&pmaps[i], key, maps[i].v[j].value);
		}
	}
	maps_ready = true;
}

/* Prefixing every key of @s and of the labels changes no verdict; with
 * all() turned into has(p/all), only maps holding that key match it. */
static void
fuzz_prefixed(const struct selector *s)
{
	struct selector *p = selector_prefixed(s, "p/", NULL);

	if (p == NULL)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++)
		if (selector_match(s, &maps[i]) != selector_match(p, &pmaps[i]))
			abort();
	selector_free(p);
}

static char *
fuzz_format(const struct selector *s)
{
	size_t n = selector_format(s, NULL, 0);
	char *buf = malloc(n + 1);

	if (buf == NULL)
		abort();
	if (selector_format(s, buf, n + 1) != n || strlen(buf) != n)
		abort();
	return buf;
}

static void
fuzz_same(const struct selector *a, const struct selector *b)
{
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++)
		if (selector_match(a, &maps[i]) != selector_match(b, &maps[i]))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct selector *s, *r, *c, *both;
	struct selector_error err;
	char *text, *t1, *t2;

	if (!maps_ready)
		fuzz_maps_init();
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (selector_parse(text, &s, &err) != 0) {
		if (err.col < 1 || (size_t)err.col > strlen(text) + 1 || err.msg[0] == '\0')
			abort();
		free(text);
		return 0;
	}
	t1 = fuzz_format(s);
	if (selector_parse(t1, &r, &err) != 0) {
		fprintf(stderr, "canonical text does not parse: %s\n  col %d: %s\n",
			t1, err.col, err.msg);
		abort();
	}
	t2 = fuzz_format(r);
	if (strcmp(t1, t2) != 0) {
		fprintf(stderr, "canonical text is not stable:\n  %s\n  %s\n", t1, t2);
		abort();
	}
	fuzz_same(s, r);
	if (selector_is_all(s) != selector_is_all(r) ||
	    selector_is_global(s) != selector_is_global(r) ||
	    selector_uses_global(s) != selector_uses_global(r))
		abort();

	fuzz_prefixed(s);
	c = selector_prefixed(s, "", NULL);
	both = selector_and(s, r);
	if (c != NULL)
		fuzz_same(s, c);
	if (both != NULL)
		fuzz_same(s, both);
	selector_free(both);
	selector_free(c);
	free(t2);
	free(t1);
	selector_free(r);
	selector_free(s);
	free(text);
	return 0;
}
