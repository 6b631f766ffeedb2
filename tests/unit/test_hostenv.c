/*
 * test_hostenv.c - unit tests for the node view (control/compile/hostenv.c)
 * of a loaded policy set: which failsafe list applies (flags, then
 * FelixConfiguration node.<name>, then default, then Felix's defaults;
 * docs/semantics.md §8), the node's own HostEndpoints, the auto host
 * endpoint, and which endpoint governs an interface (§3).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "hostenv.h"
#include "test_policy.h"

static const char felix_cfgs[] =
	"apiVersion: projectcalico.org/v3\n"
	"kind: FelixConfiguration\n"
	"metadata: {name: node.n1}\n"
	"spec:\n"
	"  failsafeInboundHostPorts: [{protocol: TCP, port: 1111}]\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: FelixConfiguration\n"
	"metadata: {name: default}\n"
	"spec:\n"
	"  failsafeInboundHostPorts: [{protocol: UDP, port: 2222}]\n"
	"  failsafeOutboundHostPorts: []\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: FelixConfiguration\n"
	"metadata: {name: node.n3}\n"
	"spec:\n"
	"  failsafeOutboundHostPorts: [{protocol: TCP, port: 3333}]\n";


static void
test_hostenv_failsafe_precedence(void **state)
{
	struct hostenv_opts o = { 0 };
	struct hostenv env;
	struct polset ps, empty;
	char why[200];

	(void)state;
	load(&ps, felix_cfgs);
	assert_int_equal(ps.diags.n, 0);

	/* node.n1 beats default (even though it comes first); out from default: [] */
	o.node = "n1";
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_int_equal(env.fs_in.n, 1);
	assert_int_equal(env.fs_in.v[0].port, 1111);
	assert_true(env.fs_out.set);
	assert_int_equal(env.fs_out.n, 0);
	hostenv_free(&env);

	/* no node.n2: default */
	o.node = "n2";
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_int_equal(env.fs_in.n, 1);
	assert_int_equal(env.fs_in.v[0].proto, IPPROTO_UDP);
	assert_int_equal(env.fs_in.v[0].port, 2222);
	assert_int_equal(env.fs_out.n, 0);
	hostenv_free(&env);

	/* node.n3 sets only the outbound list: inbound falls back to default */
	o.node = "n3";
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_int_equal(env.fs_in.v[0].port, 2222);
	assert_int_equal(env.fs_out.n, 1);
	assert_int_equal(env.fs_out.v[0].port, 3333);
	hostenv_free(&env);

	/* flags beat everything; "" means "not set here"; "none" disables */
	o.node = "n1";
	o.failsafe_in = "udp:4444";
	o.failsafe_out = "";
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_int_equal(env.fs_in.n, 1);
	assert_int_equal(env.fs_in.v[0].port, 4444);
	assert_true(env.fs_out.set);
	assert_int_equal(env.fs_out.n, 0);	/* from FelixConfiguration default */
	hostenv_free(&env);
	o.failsafe_in = "none";
	o.failsafe_out = NULL;
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_true(env.fs_in.set);
	assert_int_equal(env.fs_in.n, 0);
	hostenv_free(&env);

	/* a bad flag fails the build with a reason */
	o.failsafe_in = "tcp:99999";
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "99999"));

	/* nothing configured anywhere: Felix's defaults */
	polset_init(&empty);
	o.failsafe_in = NULL;
	o.node = NULL;
	assert_int_equal(hostenv_build(&env, &empty, &o, why, sizeof(why)), 0);
	assert_int_equal(env.fs_in.n, 9);
	assert_int_equal(env.fs_in.v[0].port, 22);
	assert_int_equal(env.fs_out.n, 9);
	assert_int_equal(env.fs_out.v[0].port, 53);
	assert_true(env.invalid_drop);
	hostenv_free(&env);
	polset_free(&empty);
	polset_free(&ps);
}

static const char heps_text[] =
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: z-eth0, labels: {role: a}}\n"
	"spec: {node: n1, interfaceName: eth0}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: m-wild}\n"
	"spec: {node: n1, interfaceName: '*'}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: b-wild}\n"
	"spec: {node: n1, interfaceName: '*'}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: k-byip}\n"
	"spec: {node: n1, expectedIPs: [10.0.0.5]}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: a-eth3}\n"
	"spec: {node: n1, interfaceName: eth3, expectedIPs: [10.0.0.5, 10.0.0.6]}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: c-eth2}\n"
	"spec: {node: n1, interfaceName: eth2}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: d-byip}\n"
	"spec: {node: n1, expectedIPs: [10.0.0.7]}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: a-other-node}\n"
	"spec: {node: n2, interfaceName: '*', expectedIPs: [10.0.0.9]}\n";


static void
test_hostenv_local_heps(void **state)
{
	struct hostenv_opts o = { .node = "n1" };
	struct hostenv env;
	struct polset ps;
	char why[200];

	(void)state;
	load(&ps, heps_text);
	assert_int_equal(ps.diags.n, 0);
	assert_int_equal(ps.nheps, 8);
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	/* only spec.node == n1, sorted by name */
	assert_int_equal(env.nlocal, 7);
	assert_false(env.has_auto);
	assert_string_equal(env.local[0]->name, "a-eth3");
	assert_string_equal(env.local[1]->name, "b-wild");
	assert_string_equal(env.local[6]->name, "z-eth0");
	for (size_t i = 0; i < env.nlocal; i++)
		assert_string_equal(env.local[i]->node, "n1");
	hostenv_free(&env);

	/* no node: no explicit HEP is local */
	o.node = NULL;
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_int_equal(env.nlocal, 0);
	assert_null(hostenv_hep_for_iface(&env, NULL));
	hostenv_free(&env);
	polset_free(&ps);
}

/*
 * Kubernetes mode: the auto host endpoints kube-controllers would make for
 * this node (autohep.c) are local beside its HostEndpoints, as in Calico,
 * and rule selectors see them after the polset's.
 */
static void
test_hostenv_auto_heps_beside(void **state)
{
	struct hostenv_opts o = { .node = "n2" };
	struct hep *autos[2];
	struct cidr a7 = mkcidr("10.0.0.7");
	struct hostenv env;
	struct polset ps;
	struct ep_ref ref;
	char why[200];

	(void)state;
	load(&ps, "apiVersion: projectcalico.org/v3\n"
		  "kind: HostEndpoint\n"
		  "metadata: {name: n2-eth0}\n"
		  "spec: {node: n2, interfaceName: eth0}\n");
	for (int i = 0; i < 2; i++) {
		autos[i] = calloc(1, sizeof(*autos[i]));
		assert_non_null(autos[i]);
	}
	assert_int_equal(hep_make_auto(autos[0], "n2", NULL, NULL, 0), 0);
	assert_int_equal(hep_make_synthetic(autos[1], "n2-t-auto-hep", "n2", "", NULL, NULL, &a7, 1),
			 0);
	o.auto_heps = autos;
	o.nauto_heps = 2;
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_int_equal(env.nlocal, 3);
	hostenv_add_iface(&env, 2, "eth0", &a7, 1);
	hostenv_add_iface(&env, 3, "eth1", &a7, 1);
	hostenv_add_iface(&env, 4, "eth2", NULL, 0);
	/* by name first, then by address, then the wildcard */
	assert_ptr_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 2)), ps.heps[0]);
	assert_ptr_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 3)), autos[1]);
	assert_ptr_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 4)), autos[0]);
	/* selectors see the polset's, then this node's auto ones, then nothing more */
	assert_ptr_equal(hostenv_any_hep(&env, 0), ps.heps[0]);
	assert_ptr_equal(hostenv_any_hep(&env, 1), autos[0]);
	assert_ptr_equal(hostenv_any_hep(&env, 2), autos[1]);
	assert_null(hostenv_any_hep(&env, 3));
	assert_true(hostenv_endpoint(&env, 2, &ref));
	assert_int_equal(ref.nips, 1);
	assert_false(hostenv_endpoint(&env, 3, &ref));
	hostenv_free(&env);
	polset_free(&ps);
	/* the object kube-controllers wrote, of the same name, is the one enforced */
	load(&ps, "apiVersion: projectcalico.org/v3\n"
		  "kind: HostEndpoint\n"
		  "metadata: {name: n2-auto-hep}\n"
		  "spec: {node: n2, interfaceName: '*'}\n");
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_int_equal(env.nlocal, 2);
	assert_ptr_equal(hostenv_hep_for_iface(&env, NULL), ps.heps[0]);
	/* ... and rule selectors see it once: the object, then the other auto one */
	assert_ptr_equal(hostenv_any_hep(&env, 0), ps.heps[0]);
	assert_ptr_equal(hostenv_any_hep(&env, 1), autos[1]);
	assert_null(hostenv_any_hep(&env, 2));
	hostenv_free(&env);
	for (int i = 0; i < 2; i++) {
		hep_release(autos[i]);
		free(autos[i]);
	}
	polset_free(&ps);
}

static void
test_hostenv_auto_hep(void **state)
{
	struct hostenv_opts o = { .node = "n9" };
	struct labels host;
	struct cidr ips[2];
	struct hostenv env;
	struct polset ps;
	const struct hep *a;
	char why[200];

	(void)state;
	load(&ps, heps_text);
	labels_init(&host);
	assert_int_equal(labels_set(&host, "kubernetes.io/hostname", "n9"), 0);
	assert_int_equal(labels_set(&host, "node-role", "worker"), 0);
	ips[0] = mkcidr("192.168.1.9");
	ips[1] = mkcidr("fd00::9");
	o.host_labels = &host;
	o.host_ips = ips;
	o.nhost_ips = 2;
	/* n9 has no HostEndpoint: an auto HEP stands in (§3.3) */
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_true(env.has_auto);
	assert_int_equal(env.nlocal, 1);
	a = env.local[0];
	assert_ptr_equal(a, &env.auto_hep);
	assert_string_equal(a->name, "n9-auto-hep");
	assert_string_equal(a->node, "n9");
	assert_true(hep_is_wildcard(a));
	assert_true(a->synthetic);
	assert_int_equal(a->nprofiles, 1);
	assert_string_equal(a->profiles[0], PROFILE_DEFAULT_ALLOW);
	assert_string_equal(labels_get(&a->labels, "node-role"), "worker");
	assert_string_equal(labels_get(&a->labels, "kubernetes.io/hostname"), "n9");
	assert_non_null(labels_get(&a->labels, "projectcalico.org/created-by"));
	assert_int_equal(a->nips, 2);
	assert_cidr(&a->ips[0], "192.168.1.9/32");
	assert_cidr(&a->ips[1], "fd00::9/128");
	assert_ptr_equal(hostenv_hep_for_iface(&env, NULL), a);
	hostenv_free(&env);

	/* n1 has HostEndpoints: no auto HEP */
	o.node = "n1";
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_false(env.has_auto);
	assert_int_equal(env.nlocal, 7);
	hostenv_free(&env);
	labels_free(&host);
	polset_free(&ps);
}

static void
test_hostenv_hep_for_iface(void **state)
{
	struct hostenv_opts o = { .node = "n1" };
	struct cidr a5 = mkcidr("10.0.0.5"), a6 = mkcidr("10.0.0.6"), a7 = mkcidr("10.0.0.7");
	struct cidr a9 = mkcidr("10.0.0.9"), both[2] = { a7, a5 };
	struct hostenv env;
	struct polset ps;
	char why[200];

	(void)state;
	load(&ps, heps_text);
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	hostenv_add_iface(&env, 1, "lo", NULL, 0);
	hostenv_add_iface(&env, 2, "eth0", &a5, 1);
	hostenv_add_iface(&env, 3, "eth1", &a5, 1);
	hostenv_add_iface(&env, 4, "eth2", &a7, 1);
	hostenv_add_iface(&env, 5, "eth4", both, 2);
	hostenv_add_iface(&env, 6, "cali123", &a5, 1);
	hostenv_add_iface(&env, 7, "eth5", &a6, 1);
	hostenv_add_iface(&env, 8, "eth6", &a9, 1);
	assert_string_equal(hostenv_iface(&env, 2)->name, "eth0");
	assert_null(hostenv_iface(&env, 99));

	/* eth0 is named by z-eth0, and its address 10.0.0.5 is claimed by
	 * k-byip: the lowest name wins, however it matched (§3.2) */
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 2))->name, "k-byip");
	/* eth1 only by expectedIPs (a-eth3 names another interface, so its
	 * expectedIPs never claim) */
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 3))->name, "k-byip");
	/* eth2 is named by c-eth2 and claimed via 10.0.0.7 by d-byip: c < d */
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 4))->name, "c-eth2");
	/* eth4 carries 10.0.0.7 and 10.0.0.5: d-byip < k-byip */
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 5))->name, "d-byip");
	/* unclaimed interfaces (lo too) get the lowest-named "*" HEP */
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 1))->name, "b-wild");
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 7))->name, "b-wild");
	/* another node's HEP never claims, even by IP */
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 8))->name, "b-wild");
	/* workload interfaces are never host endpoints */
	assert_null(hostenv_hep_for_iface(&env, hostenv_iface(&env, 6)));
	assert_string_equal(hostenv_hep_for_iface(&env, NULL)->name, "b-wild");
	hostenv_free(&env);
	polset_free(&ps);
}

static void
test_hostenv_named_beats_wildcard(void **state)
{
	static const char text[] =
		"apiVersion: projectcalico.org/v3\n"
		"kind: HostEndpoint\n"
		"metadata: {name: a-all}\n"
		"spec: {node: n1, interfaceName: '*'}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: HostEndpoint\n"
		"metadata: {name: z-eth0}\n"
		"spec: {node: n1, interfaceName: eth0}\n";
	struct hostenv_opts o = { .node = "n1" };
	struct hostenv env;
	struct polset ps;
	char why[200];

	(void)state;
	load(&ps, text);
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	hostenv_add_iface(&env, 2, "eth0", NULL, 0);
	hostenv_add_iface(&env, 3, "eth1", NULL, 0);
	hostenv_add_iface(&env, 4, "cali0", NULL, 0);
	/* "*" has the lower name but never beats an interface-specific HEP */
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 2))->name, "z-eth0");
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 3))->name, "a-all");
	assert_null(hostenv_hep_for_iface(&env, hostenv_iface(&env, 4)));
	hostenv_free(&env);
	polset_free(&ps);

	/* only interface-specific HEPs: an unclaimed interface has none */
	load(&ps, "apiVersion: projectcalico.org/v3\n"
		  "kind: HostEndpoint\n"
		  "metadata: {name: only}\n"
		  "spec: {node: n1, interfaceName: eth0}\n");
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	hostenv_add_iface(&env, 1, "lo", NULL, 0);
	assert_null(hostenv_hep_for_iface(&env, hostenv_iface(&env, 1)));
	assert_null(hostenv_hep_for_iface(&env, NULL));
	hostenv_free(&env);
	polset_free(&ps);
}

/* --http-addr -> the loopback destinations that stay open for the daemon's probes. */
static void
test_self_parse(void **state)
{
	static const struct {
		const char *in;
		int err;
		const char *nets[2];
	} cases[] = {
		{ "127.0.0.1:9417", 0, { "127.0.0.1/32" } },
		{ "127.0.0.53:80", 0, { "127.0.0.53/32" } },
		{ "0.0.0.0:9417", 0, { "127.0.0.1/32" } },
		{ "[::]:9417", 0, { "127.0.0.1/32", "::1/128" } },
		{ "[::1]:9417", 0, { "::1/128" } },
		{ "10.0.0.5:9417", 0, { NULL } },	/* not loopback: policed */
		{ "[2001:db8::1]:9417", 0, { NULL } },
		{ "off", 0, { NULL } },
		{ "127.0.0.1", -EINVAL, { NULL } },
		{ "127.0.0.1:0", -EINVAL, { NULL } },
		{ "127.0.0.1:65536", -EINVAL, { NULL } },
		{ "127.0.0.1:94x", -EINVAL, { NULL } },
		{ "localhost:9417", -EINVAL, { NULL } },
		{ ":9417", -EINVAL, { NULL } },
		{ "::1:9417", 0, { "::1/128" } },	/* as the daemon reads it: the last colon */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct failsafe_list l;
		char why[128], net[CIDR_STRLEN];
		size_t n = 0;
		int err = hostenv_self_parse(cases[i].in, &l, why, sizeof(why));

		print_message("# %s\n", cases[i].in);
		assert_int_equal(err, cases[i].err);
		if (err < 0)
			continue;
		while (n < 2 && cases[i].nets[n])
			n++;
		assert_int_equal(l.n, n);
		for (size_t j = 0; j < n; j++) {
			assert_int_equal(l.v[j].proto, IPPROTO_TCP);
			assert_string_equal(cidr_format(&l.v[j].net, net), cases[i].nets[j]);
		}
		failsafe_list_free(&l);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_parse),
		cmocka_unit_test(test_hostenv_failsafe_precedence),
		cmocka_unit_test(test_hostenv_local_heps),
		cmocka_unit_test(test_hostenv_auto_hep),
		cmocka_unit_test(test_hostenv_auto_heps_beside),
		cmocka_unit_test(test_hostenv_hep_for_iface),
		cmocka_unit_test(test_hostenv_named_beats_wildcard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
