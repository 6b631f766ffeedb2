/*
 * test_selector.h - fixtures of the selector tests (test_selector.c,
 * test_selector_rewrite.c): label maps, parsing that must succeed or fail,
 * evaluation and canonical text. Include after <cmocka.h>.
 */
#ifndef NFQWALL_TEST_SELECTOR_H
#define NFQWALL_TEST_SELECTOR_H

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"

/* A label map from "key", "value", ..., NULL. */
static inline struct labels
mk(const char *first, ...)
{
	struct labels l;
	va_list ap;
	const char *k;

	labels_init(&l);
	va_start(ap, first);
	for (k = first; k != NULL; k = va_arg(ap, const char *)) {
		const char *v = va_arg(ap, const char *);

		assert_int_equal(labels_set(&l, k, v), 0);
	}
	va_end(ap);
	return l;
}

static inline struct selector *
parse_ok(const char *text)
{
	struct selector *s = NULL;
	struct selector_error e;
	int err = selector_parse(text, &s, &e);

	if (err != 0)
		print_error("parse of \"%s\" failed: col %d: %s\n", text, e.col, e.msg);
	assert_int_equal(err, 0);
	assert_non_null(s);
	return s;
}

/* Parse @text (must succeed) and evaluate it against @l. */
static inline bool
eval(const char *text, const struct labels *l)
{
	struct selector *s = parse_ok(text);
	bool r = selector_match(s, l);

	selector_free(s);
	return r;
}

/* Parse @text, which must fail with -EINVAL; returns the column. */
static inline int
parse_bad(const char *text)
{
	struct selector *s = (struct selector *)&s;	/* must be reset to NULL */
	struct selector_error e;
	int err = selector_parse(text, &s, &e);

	if (err != -EINVAL)
		print_error("\"%s\" was not rejected (%d)\n", text, err);
	assert_int_equal(err, -EINVAL);
	assert_null(s);
	assert_true(e.msg[0] != '\0');
	assert_true(e.col >= 1 && (size_t)e.col <= strlen(text) + 1);
	return e.col;
}

static inline char *
fmt(const struct selector *s)
{
	size_t n = selector_format(s, NULL, 0);
	char *buf = malloc(n + 1);

	assert_non_null(buf);
	assert_int_equal(selector_format(s, buf, n + 1), n);
	assert_int_equal(strlen(buf), n);
	return buf;
}

static inline void
assert_canon(const char *text, const char *want)
{
	struct selector *s = parse_ok(text);
	char *got = fmt(s);

	assert_string_equal(got, want);
	free(got);
	selector_free(s);
}

#endif /* NFQWALL_TEST_SELECTOR_H */
