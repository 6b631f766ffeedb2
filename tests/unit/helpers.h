/*
 * helpers.h - fixtures the unit and differential tests share: policy text
 * builders, diagnostics printing, address literals and a seeded PRNG.
 * Include after <cmocka.h>. Everything is static inline, so a test pays
 * only for what it uses.
 */
#ifndef NFQWALL_TEST_HELPERS_H
#define NFQWALL_TEST_HELPERS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "addr.h"
#include "model.h"

/* Policy documents in projectcalico.org/v3 form, for string literals. */
#define V3 "apiVersion: projectcalico.org/v3\n"
#define DOC(kind, meta) "---\n" V3 "kind: " kind "\nmetadata: " meta "\n"
#define HEP(meta, spec) DOC("HostEndpoint", meta) "spec: {node: n1, " spec "}\n"
#define GNP(name) DOC("GlobalNetworkPolicy", "{name: " name "}") "spec:\n"
#define TIER(name, spec) DOC("Tier", "{name: " name "}") "spec: " spec "\n"

/* print_diags - every diagnostic of @ps, as cmocka messages. */
static inline void
print_diags(const struct polset *ps)
{
	for (size_t i = 0; i < ps->diags.n; i++) {
		char buf[2048];

		diag_format(&ps->diags.v[i], buf, sizeof(buf));
		print_message("  diag: %s\n", buf);
	}
}

/* mkcidr - a CIDR or address literal; fails the test when it does not parse. */
static inline struct cidr
mkcidr(const char *s)
{
	struct cidr c;

	if (cidr_parse(s, CIDR_LOOSE, &c) != 0)
		fail_msg("bad address %s", s);
	return c;
}

/* A small PRNG (xorshift64*): the same seed gives the same run. */
struct test_rng {
	uint64_t state;
};

/* test_rng_seed - @seed, or $@env when set (to replay a failure); never 0. */
static inline uint64_t
test_rng_seed(struct test_rng *r, const char *env, uint64_t seed)
{
	const char *s = env ? getenv(env) : NULL;

	if (s != NULL && *s)
		seed = strtoull(s, NULL, 0);
	r->state = seed ? seed : 0x9e3779b97f4a7c15ull;
	return seed;
}

/* test_rng_below - uniform-enough in [0, n); 0 when n is 0. */
static inline uint32_t
test_rng_below(struct test_rng *r, uint32_t n)
{
	r->state ^= r->state >> 12;
	r->state ^= r->state << 25;
	r->state ^= r->state >> 27;
	return (uint32_t)((r->state * 2685821657736338717ull) >> 33) % (n ? n : 1);
}

#endif /* NFQWALL_TEST_HELPERS_H */
