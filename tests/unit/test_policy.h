/*
 * test_policy.h - fixtures of the policy loader tests (test_policy.c,
 * test_policy_validate.c, test_kinds.c, test_hostenv.c): load a text,
 * find a diagnostic, check it field by field, expect a rejection. Include
 * after <cmocka.h>. Everything is static inline, as in helpers.h.
 */
#ifndef NFQWALL_TEST_POLICY_H
#define NFQWALL_TEST_POLICY_H

#include <string.h>

#include "diag.h"
#include "helpers.h"
#include "model.h"

/* The name every test loads its text as, and the object of GNP_X. */
#define FILE_NAME	"name.yaml"
#define OBJ_X		"GlobalNetworkPolicy/x"

/* Lines 1-5 of every single-policy document: the rules start on line 6. */
#define GNP_X \
	"apiVersion: projectcalico.org/v3\n" \
	"kind: GlobalNetworkPolicy\n" \
	"metadata:\n" \
	"  name: x\n" \
	"spec:\n"

/* load - a fresh set holding @text, loaded as FILE_NAME (the load must succeed). */
static inline void
load(struct polset *ps, const char *text)
{
	polset_init(ps);
	assert_int_equal(polset_load_buffer(ps, FILE_NAME, text, strlen(text)), 0);
}

/* The @nth (0-based) diagnostic of @lvl, or NULL. */
static inline const struct diag *
nth_diag(const struct polset *ps, enum diag_level lvl, size_t nth)
{
	for (size_t i = 0; i < ps->diags.n; i++)
		if (ps->diags.v[i].level == lvl && nth-- == 0)
			return &ps->diags.v[i];
	return NULL;
}

/* count_diags - how many diagnostics of @lvl. */
static inline size_t
count_diags(const struct polset *ps, enum diag_level lvl)
{
	size_t n = 0;

	for (size_t i = 0; i < ps->diags.n; i++)
		n += ps->diags.v[i].level == lvl;
	return n;
}

/* assert_str_or_null - @got equals @want, or both are NULL. */
static inline void
assert_str_or_null(const char *got, const char *want)
{
	if (want == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
}

/* Check one record: position, object, field, and a piece of its message. */
static inline void
assert_diag(const struct diag *d, int line, int col, const char *object, const char *field,
	    const char *msg_part)
{
	assert_non_null(d);
	assert_string_equal(d->file, FILE_NAME);
	if (d->line != line || d->col != col)
		print_message("  position %d:%d, wanted %d:%d (%s)\n", d->line, d->col, line, col,
			      d->msg);
	assert_int_equal(d->line, line);
	assert_int_equal(d->col, col);
	assert_str_or_null(d->object, object);
	assert_str_or_null(d->field, field);
	if (strstr(d->msg, msg_part) == NULL)
		print_message("  message \"%s\" lacks \"%s\"\n", d->msg, msg_part);
	assert_non_null(strstr(d->msg, msg_part));
}

/*
 * @text holds one object (@object, "Kind/name") with exactly one error: it
 * must be rejected (the set stays empty, the rejection is counted), the
 * error must sit at @line:@col on @field, and the "object rejected" note
 * must follow.
 */
static inline void
expect_reject_obj(const char *text, const char *object, int line, int col, const char *field,
		  const char *msg_part)
{
	struct polset ps;

	load(&ps, text);
	if (ps.diags.nerr != 1)
		print_diags(&ps);
	assert_int_equal(ps.diags.nerr, 1);
	assert_int_equal(ps.npolicies + ps.nheps + ps.nnetsets + ps.ntiers + ps.nfelixcfgs, 0);
	assert_int_equal(ps.nobjects, 1);
	assert_int_equal(ps.nrejected, 1);
	assert_diag(nth_diag(&ps, DIAG_ERROR, 0), line, col, object, field, msg_part);
	assert_diag(nth_diag(&ps, DIAG_NOTE, 0), 1, 1, object, NULL, "object rejected");
	polset_free(&ps);
}

/* expect_reject - expect_reject_obj() for the policy "x" of GNP_X. */
static inline void
expect_reject(const char *text, int line, int col, const char *field, const char *msg_part)
{
	expect_reject_obj(text, OBJ_X, line, col, field, msg_part);
}

/* @text must load as exactly one policy with no error and no warning. */
static inline const struct policy *
expect_one_policy(struct polset *ps, const char *text)
{
	load(ps, text);
	if (ps->diags.n != 0)
		print_diags(ps);
	assert_int_equal(ps->diags.nerr, 0);
	assert_int_equal(ps->diags.nwarn, 0);
	assert_int_equal(ps->npolicies, 1);
	assert_int_equal(ps->nrejected, 0);
	return ps->policies[0];
}

/* find_policy / find_hep - the object named @name, or NULL. */
static inline const struct policy *
find_policy(const struct polset *ps, const char *name)
{
	for (size_t i = 0; i < ps->npolicies; i++)
		if (strcmp(ps->policies[i]->name, name) == 0)
			return ps->policies[i];
	return NULL;
}

static inline const struct hep *
find_hep(const struct polset *ps, const char *name)
{
	for (size_t i = 0; i < ps->nheps; i++)
		if (strcmp(ps->heps[i]->name, name) == 0)
			return ps->heps[i];
	return NULL;
}

/* assert_cidr - @c prints as @want. */
static inline void
assert_cidr(const struct cidr *c, const char *want)
{
	char buf[CIDR_STRLEN];

	assert_string_equal(cidr_format(c, buf), want);
}

#endif /* NFQWALL_TEST_POLICY_H */
