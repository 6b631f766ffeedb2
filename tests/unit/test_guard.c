/*
 * test_guard.c - the lockout guard (control/daemon/guard.c): lifeline
 * syntax, and the judgment of a lifeline under the current and the new
 * table: a new table that denies what the current one allows is refused,
 * one that keeps it is not, and a lifeline the current table already
 * denies refuses nothing. The lifeline is 127.0.0.1 so that the node's
 * routes (a UDP connect, no packet) pick a known source address.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "guard.h"
#include "helpers.h"

#define IF_ETH9	9	/* carries 127.0.0.1 in these tests: the route's source */

static const char hep[] =
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: n1-all, labels: {role: node}}\n"
	"spec: {node: n1, interfaceName: '*'}\n"
	"---\n";

#define POLICY(egress) \
	"apiVersion: projectcalico.org/v3\n" \
	"kind: GlobalNetworkPolicy\n" \
	"metadata: {name: out}\n" \
	"spec:\n" \
	"  selector: role == 'node'\n" \
	"  egress:\n" egress

struct tbl {
	struct polset ps;
	struct hostenv env;
	struct ruleset *rs;
};

static void
tbl_open(struct tbl *t, const char *policy)
{
	struct hostenv_opts o = { .node = "n1", .failsafe_in = "none", .failsafe_out = "none" };
	struct cidr a = mkcidr("127.0.0.1");
	char text[2048], why[200];

	snprintf(text, sizeof(text), "%s%s", hep, policy);
	polset_init(&t->ps);
	assert_int_equal(polset_load_buffer(&t->ps, "guard.yaml", text, strlen(text)), 0);
	assert_int_equal(t->ps.diags.nerr, 0);
	assert_int_equal(hostenv_build(&t->env, &t->ps, &o, why, sizeof(why)), 0);
	assert_int_equal(hostenv_add_iface(&t->env, IF_ETH9, "eth9", &a, 1), 0);
	t->rs = compile_ruleset(&t->env);
	assert_non_null(t->rs);
}

static void
tbl_close(struct tbl *t)
{
	ruleset_free(t->rs);
	hostenv_free(&t->env);
	polset_free(&t->ps);
}

static void
test_syntax(void **state)
{
	static const char *const good[] = {
		"tcp:127.0.0.1:6443", "tcp:[::1]:443", "tcp:api.example:443", "tcp:h:1",
		"tcp:h:65535",
	};
	static const char *const bad[] = {
		"udp:1.2.3.4:53", "tcp:1.2.3.4", "tcp::443", "tcp:h:0", "tcp:h:65536", "tcp:h:x",
		"tcp:::1:443", "tcp:h:44a", "1.2.3.4:443", "tcp:[::1]", "",
	};
	struct guard g;
	char why[300];

	(void)state;
	memset(&g, 0, sizeof(g));
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_int_equal(guard_add(&g, good[i], why, sizeof(why)), 0);
	assert_string_equal(g.v[1].host, "::1");
	assert_int_equal(g.v[1].port, 443);
	assert_string_equal(g.v[0].name, "tcp:127.0.0.1:6443");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why[0] = '\0';
		if (guard_add(&g, bad[i], why, sizeof(why)) != -EINVAL)
			fail_msg("'%s' was taken", bad[i]);
		assert_non_null(strstr(why, "tcp:"));
	}
	assert_int_equal(g.n, ARRAY_SIZE(good));
	/* URLs: the port of the scheme when none is written */
	assert_int_equal(guard_add_url(&g, "https://10.0.0.10:6443", why, sizeof(why)), 0);
	assert_string_equal(g.v[g.n - 1].name, "tcp:10.0.0.10:6443");
	assert_int_equal(guard_add_url(&g, "https://api.example/", why, sizeof(why)), 0);
	assert_int_equal(g.v[g.n - 1].port, 443);
	assert_int_equal(guard_add_url(&g, "https://[fd00::1]", why, sizeof(why)), 0);
	assert_string_equal(g.v[g.n - 1].host, "fd00::1");
	assert_int_equal(g.v[g.n - 1].port, 443);
	assert_int_equal(guard_add_url(&g, "https://", why, sizeof(why)), -EINVAL);
	assert_int_equal(guard_add_url(&g, "http://h", why, sizeof(why)), 0);
	assert_int_equal(g.v[g.n - 1].port, 80);
	assert_int_equal(guard_add_url(&g, "https://h:6443?timeout=5s", why, sizeof(why)), 0);
	assert_int_equal(g.v[g.n - 1].port, 6443);
	/* bounded */
	while (g.n < GUARD_MAX_LIFELINES)
		assert_int_equal(guard_add(&g, "tcp:h:1", why, sizeof(why)), 0);
	assert_int_equal(guard_add(&g, "tcp:h:1", why, sizeof(why)), -ENOSPC);
}

static void
test_check(void **state)
{
	struct tbl open_all, cut, other;
	const struct lifeline *l = NULL;
	struct guard_verdict before, after;
	struct guard g;
	char why[300];

	(void)state;
	memset(&g, 0, sizeof(g));
	assert_int_equal(guard_add(&g, "tcp:127.0.0.1:7000", why, sizeof(why)), 0);
	guard_resolve(&g);
	assert_int_equal(g.v[0].family, AF_INET);
	assert_int_equal(g.v[0].addr.lo, 0x7f000001u);
	{
		struct guard g6;

		memset(&g6, 0, sizeof(g6));
		assert_int_equal(guard_add(&g6, "tcp:[::1]:7000", why, sizeof(why)), 0);
		guard_resolve(&g6);
		assert_int_equal(g6.v[0].family, AF_INET6);
		assert_true(g6.v[0].addr.hi == 0 && g6.v[0].addr.lo == 1);
	}
	tbl_open(&open_all, POLICY("    - action: Allow\n"));
	tbl_open(&cut, POLICY("    - {action: Allow, protocol: TCP, destination: {ports: [7001]}}\n"
			      "    - action: Deny\n"));
	tbl_open(&other, POLICY("    - {action: Allow, protocol: TCP, destination: {ports: [7000]}}\n"
				"    - action: Deny\n"));
	/* the current table allows it, the new one denies it: refused, and why */
	assert_false(guard_check(&g, open_all.rs, cut.rs, &cut.env, &l, &before, &after));
	assert_ptr_equal(l, &g.v[0]);
	assert_true(before.allow);
	assert_false(after.allow);
	assert_string_equal(before.why, "allowed by policy default/out rule 0");
	assert_string_equal(after.why, "denied by policy default/out rule 1");
	/* a new table that keeps it */
	assert_true(guard_check(&g, open_all.rs, other.rs, &other.env, &l, &before, &after));
	/* down already under the current table: not the new table's doing */
	assert_true(guard_check(&g, cut.rs, open_all.rs, &open_all.env, &l, &before, &after));
	assert_true(guard_check(&g, cut.rs, cut.rs, &cut.env, &l, &before, &after));
	/* an unresolved lifeline is never judged */
	g.v[0].family = 0;
	assert_true(guard_check(&g, open_all.rs, cut.rs, &cut.env, &l, &before, &after));
	tbl_close(&open_all);
	tbl_close(&cut);
	tbl_close(&other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
