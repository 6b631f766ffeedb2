/*
 * test_oom_policy.c - the policy loader under allocation failure.
 *
 * This binary defines malloc, calloc and realloc, so every allocation in the
 * process (ours, libc's strdup/asprintf/fopen, libyaml's) goes through them
 * and on to glibc's __libc_* functions. A countdown makes the Nth allocation
 * from the moment it is armed fail: only that one ("once"), or that one and
 * every one after it ("from"). A realistic policy stream is loaded for
 * N = 1, 2, ... until a load runs with no failure injected, and each run
 * must end in 0 with the full set, or in -ENOMEM with an error counted and a
 * set of whole objects; polset_free then releases everything. To see that,
 * run it under valgrind --soname-synonyms=somalloc=nouserintercepts (by
 * default valgrind replaces this binary's malloc, and the tests skip).
 * ASan and TSan interpose malloc themselves, so sanitizer builds skip too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "model.h"
#include "strmap.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define OOM_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer)
#define OOM_SANITIZER 1
#endif
#endif

/* ---- the failing allocator ----------------------------------------------------- */

/* volatile: the compiler takes libc's allocating calls for pure builtins */
static volatile long oom_countdown;	/* 0: off; n: the nth allocation from now fails */
static volatile bool oom_sticky;	/* after the first failure, keep failing */
static volatile bool oom_failing;	/* a failure was injected since oom_arm() */

static void
oom_arm(long nth, bool sticky)
{
	oom_failing = false;
	oom_sticky = sticky;
	oom_countdown = nth;
}

/* oom_disarm - stop injecting; true when a failure was injected. */
static bool
oom_disarm(void)
{
	oom_countdown = 0;
	oom_sticky = false;
	return oom_failing;
}

#ifndef OOM_SANITIZER
static bool
oom_fail_now(void)
{
	if (oom_failing && oom_sticky)
		return true;
	if (oom_countdown == 0 || --oom_countdown != 0)
		return false;
	oom_failing = true;
	return true;
}

/* glibc exports its allocator under these names (no header declares them). */
void *
malloc(size_t size)
{
	extern void *__libc_malloc(size_t);

	if (oom_fail_now()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(size);
}

void *
calloc(size_t n, size_t size)
{
	extern void *__libc_calloc(size_t, size_t);

	if (oom_fail_now()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t size)
{
	extern void *__libc_realloc(void *, size_t);

	if (oom_fail_now()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, size);
}
#endif

/* ---- the policy ------------------------------------------------------------------ */

/* Every kind, both API forms, a List, a duplicate, an invalid object and a warning. */
static const char policy_text[] =
	TIER("security", "{order: 100, defaultAction: Pass}")
	DOC("GlobalNetworkPolicy", "{name: security.ssh, labels: {a: b}}")
	"spec:\n"
	"  tier: security\n"
	"  order: 10\n"
	"  selector: role == 'node' && has(kubernetes.io/hostname)\n"
	"  namespaceSelector: team in {'net', 'ops'}\n"
	"  serviceAccountSelector: all()\n"
	"  types: [Ingress, Egress]\n"
	"  ingress:\n"
	"  - action: Allow\n"
	"    protocol: TCP\n"
	"    http: {methods: [GET]}\n"
	"    source:\n"
	"      nets: [10.0.0.0/8, 192.168.0.0/16]\n"
	"      notNets: [10.1.0.0/16]\n"
	"      selector: env != 'dev'\n"
	"      namespaceSelector: global()\n"
	"    destination: {ports: [22, '8000:8080', ssh], notPorts: [8081]}\n"
	"  - action: Deny\n"
	"    protocol: ICMP\n"
	"    icmp: {type: 8, code: 0}\n"
	"    source: {selector: a == 'b', namespaceSelector: kind == 'x', notSelector: c == 'd'}\n"
	"  - action: Log\n"
	"    protocol: UDP\n"
	"    notProtocol: 1\n"
	"    ipVersion: 6\n"
	"    destination: {nets: ['fd00::/8'], ports: [53]}\n"
	"  egress:\n"
	"  - action: Pass\n"
	"    destination: {serviceAccounts: {names: [a], selector: x == 'y'}}\n"
	"  - action: Allow\n"
	"    destination: {services: {name: api, namespace: default}}\n"
	"  doNotTrack: false\n"
	"  preDNAT: false\n"
	"  applyOnForward: true\n"
	DOC("StagedGlobalNetworkPolicy", "{name: staged}")
	"spec: {stagedAction: Set, selector: all(), egress: [{action: Deny}]}\n"
	HEP("{name: h1, labels: {role: node, kubernetes.io/hostname: n1}}",
	    "interfaceName: eth0, expectedIPs: [192.168.1.10, 'fd00::1'], "
	    "profiles: [p1, p2], ports: [{name: ssh, protocol: TCP, port: 22}, "
	    "{name: dns, protocol: UDP, port: 53}]")
	DOC("GlobalNetworkSet", "{name: s1, labels: {kind: x}}")
	"spec: {nets: [10.0.0.0/8, 1.2.3.4, 'fd00::/64']}\n"
	DOC("NetworkSet", "{name: s2, namespace: ns1, labels: {kind: y}}")
	"spec: {nets: [172.16.0.0/12]}\n"
	DOC("FelixConfiguration", "{name: default}")
	"spec:\n"
	"  failsafeInboundHostPorts: [{protocol: TCP, port: 22}, {protocol: UDP, port: 68, "
	"net: 10.0.0.0/8}]\n"
	"  failsafeOutboundHostPorts: [{port: 443}]\n"
	"---\n"
	"apiVersion: crd.projectcalico.org/v1\n"
	"kind: GlobalNetworkPolicy\n"
	"metadata:\n"
	"  name: default.stored\n"
	"  annotations:\n"
	"    projectcalico.org/metadata: '{\"name\":\"stored\",\"labels\":{\"team\":\"net\"}}'\n"
	"spec: {selector: all(), ingress: [{action: Allow}]}\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: List\n"
	"items:\n"
	"- apiVersion: projectcalico.org/v3\n"
	"  kind: HostEndpoint\n"
	"  metadata: {name: h2}\n"
	"  spec: {node: n2, interfaceName: '*'}\n"
	"- apiVersion: projectcalico.org/v3\n"
	"  kind: Tier\n"
	"  metadata: {name: security}\n"
	"  spec: {order: 200}\n"
	GNP("bad") "  ingress: [{action: allow}]\n"
	GNP("warned") "  bogus: 1\n  egress: [{action: Allow}]\n"
	DOC("ConfigMap", "{name: skipped}") "data: {}\n";

/* What a load without failure gives: the counts and every diagnostic's text. */
struct expect {
	size_t npolicies, nheps, nnetsets, ntiers, nfelixcfgs, nobjects, nrejected, nerr, nwarn;
	char diags[8192];
};

static struct expect
expect_of(const struct polset *ps)
{
	struct expect e = { ps->npolicies, ps->nheps, ps->nnetsets, ps->ntiers, ps->nfelixcfgs,
			    ps->nobjects, ps->nrejected, ps->diags.nerr, ps->diags.nwarn, "" };
	size_t len = 0;

	for (size_t i = 0; i < ps->diags.n && len < sizeof(e.diags); i++) {
		int n = diag_format(&ps->diags.v[i], e.diags + len, sizeof(e.diags) - len);

		len += (size_t)(n > 0 ? n : 0);
		if (len < sizeof(e.diags) - 1)
			e.diags[len++] = '\n';
	}
	return e;
}

static void
assert_same(const struct polset *ps, const struct expect *want)
{
	struct expect got = expect_of(ps);

	if (memcmp(&got, want, offsetof(struct expect, diags)) != 0)
		print_diags(ps);
	assert_memory_equal(&got, want, offsetof(struct expect, diags));
	assert_string_equal(got.diags, want->diags);
}

static void
assert_entity_whole(const struct entity *e)
{
	assert_true(e->nnets == 0 || e->nets != NULL);
	assert_true(e->nnot_nets == 0 || e->not_nets != NULL);
	assert_true(e->nports == 0 || e->ports != NULL);
	assert_true(e->nnot_ports == 0 || e->not_ports != NULL);
	assert_true(e->ns_sel == NULL || e->sel != NULL);	/* scoped */
}

/* Every object in the set is whole: what the decoder always fills is there. */
static void
assert_whole(const struct polset *ps, const struct expect *full)
{
	assert_true(ps->npolicies <= full->npolicies);
	assert_true(ps->nheps <= full->nheps);
	assert_true(ps->nnetsets <= full->nnetsets);
	assert_true(ps->ntiers <= full->ntiers);
	assert_true(ps->nfelixcfgs <= full->nfelixcfgs);
	for (size_t i = 0; i < ps->npolicies; i++) {
		const struct policy *p = ps->policies[i];

		assert_non_null(p->name);
		assert_non_null(p->tier);
		assert_non_null(p->sel);
		assert_non_null(p->sel_text);
		assert_true(p->ningress == 0 || p->ingress != NULL);
		assert_true(p->negress == 0 || p->egress != NULL);
		for (size_t r = 0; r < p->ningress; r++) {
			assert_entity_whole(&p->ingress[r].src);
			assert_entity_whole(&p->ingress[r].dst);
		}
		for (size_t r = 0; r < p->negress; r++) {
			assert_entity_whole(&p->egress[r].src);
			assert_entity_whole(&p->egress[r].dst);
		}
	}
	for (size_t i = 0; i < ps->nheps; i++) {
		assert_non_null(ps->heps[i]->name);
		assert_non_null(ps->heps[i]->node);
		for (size_t j = 0; j < ps->heps[i]->nports; j++)
			assert_non_null(ps->heps[i]->ports[j].name);
		for (size_t j = 0; j < ps->heps[i]->nprofiles; j++)
			assert_non_null(ps->heps[i]->profiles[j]);
	}
	for (size_t i = 0; i < ps->nnetsets; i++) {
		assert_non_null(ps->netsets[i]->name);
		if (ps->netsets[i]->ns != NULL)
			assert_non_null(labels_get(&ps->netsets[i]->labels,
						   "projectcalico.org/namespace"));
	}
	for (size_t i = 0; i < ps->ntiers; i++)
		assert_non_null(ps->tiers[i]->name);
	for (size_t i = 0; i < ps->nfelixcfgs; i++)
		assert_non_null(ps->felixcfgs[i]->name);
}

/* ---- running a load with failures --------------------------------------------- */

typedef int (*load_fn)(struct polset *ps, const void *arg);

static int
load_buffer(struct polset *ps, const void *arg)
{
	(void)arg;
	ps->limits.allow_unknown_fields = true;	/* "warned" keeps its warning */
	return polset_load_buffer(ps, "oom.yaml", policy_text, sizeof(policy_text) - 1);
}

static int
load_path(struct polset *ps, const void *arg)
{
	ps->limits.allow_unknown_fields = true;
	return polset_load_path(ps, arg);
}

/* stderr off while failing: diag_add says each lost record there. */
static int
quiet_begin(void)
{
	int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);

	if (null >= 0) {
		dup2(null, STDERR_FILENO);
		close(null);
	}
	return saved;
}

static void
quiet_end(int saved)
{
	if (saved >= 0) {
		dup2(saved, STDERR_FILENO);
		close(saved);
	}
}

/*
 * Load with the Nth allocation failing for N = 1, 2, ... until a load sees no
 * failure; returns how many loads failed an allocation.
 */
static long
run_failing(load_fn load, const void *arg, bool sticky, const struct expect *full)
{
	long nfailed = 0, nenomem = 0;

	for (long nth = 1;; nth++) {
		struct polset ps;
		bool injected;
		int rc, saved;

		polset_init(&ps);
		saved = quiet_begin();
		oom_arm(nth, sticky);
		rc = load(&ps, arg);
		injected = oom_disarm();
		quiet_end(saved);
		if (!injected) {
			assert_int_equal(rc, 0);
			assert_same(&ps, full);
			polset_free(&ps);
			break;
		}
		nfailed++;
		if (rc != 0 && rc != -ENOMEM)
			fail_msg("allocation %ld failing: load returned %d", nth, rc);
		if (rc == -ENOMEM && ps.diags.nerr == 0)
			fail_msg("allocation %ld failing: -ENOMEM but no error counted", nth);
		if (rc == 0) {
			/* libc absorbed it (stdio buffers, asprintf's final
			 * shrink): nothing may be missing, not one field */
			assert_same(&ps, full);
		} else {
			nenomem++;
			assert_true(ps.diags.nerr > 0);	/* a caller checking nerr rejects it */
			assert_whole(&ps, full);
		}
		polset_free(&ps);
	}
	print_message("  %s: %ld loads with a failed allocation, %ld returned -ENOMEM\n",
		      sticky ? "from the Nth on" : "the Nth only", nfailed, nenomem);
	assert_true(nenomem > 0);
	return nfailed;
}

static struct expect
reference(load_fn load, const void *arg)
{
	struct polset ps;
	struct expect e;

	polset_init(&ps);
	assert_int_equal(load(&ps, arg), 0);
	e = expect_of(&ps);
	polset_free(&ps);
	return e;
}

/*
 * Is this binary's malloc the one in use? Not in a sanitizer build (it is
 * not defined there), nor under valgrind's default malloc replacement: run
 * valgrind with --soname-synonyms=somalloc=nouserintercepts to test there.
 */
static void
skip_unless_interposed(void)
{
	char *volatile p;	/* volatile: the pair may not be dropped */
	bool injected;

	oom_arm(1, false);
	p = strdup("probe");
	injected = oom_disarm();
	free(p);
	if (!injected) {
		print_message("  malloc is not this binary's (sanitizer or valgrind): skipped\n");
		skip();
	}
}

/* ---- tests ------------------------------------------------------------------------ */

static void
test_reference_load(void **state)
{
	struct polset ps;

	(void)state;
	polset_init(&ps);
	assert_int_equal(load_buffer(&ps, NULL), 0);
	if (ps.diags.nerr != 1 || ps.diags.nwarn != 3)
		print_diags(&ps);
	/* the policy must reach every decoder: check it loads as meant */
	assert_int_equal(ps.npolicies, 4);	/* security.ssh, staged, stored, warned */
	assert_int_equal(ps.nheps, 2);
	assert_int_equal(ps.nnetsets, 2);
	assert_int_equal(ps.ntiers, 1);		/* security, defined twice */
	assert_int_equal(ps.nfelixcfgs, 1);
	assert_int_equal(ps.nrejected, 1);	/* bad */
	assert_int_equal(ps.diags.nerr, 1);
	assert_int_equal(ps.diags.nwarn, 3);	/* http, "defined again", "unknown field" */
	polset_free(&ps);
}

static void
test_buffer_nth_fails(void **state)
{
	struct expect full;

	(void)state;
	skip_unless_interposed();
	full = reference(load_buffer, NULL);
	assert_true(run_failing(load_buffer, NULL, false, &full) > 100);
}

static void
test_buffer_all_fail_from_nth(void **state)
{
	struct expect full;

	(void)state;
	skip_unless_interposed();
	full = reference(load_buffer, NULL);
	assert_true(run_failing(load_buffer, NULL, true, &full) > 100);
}

/* A directory of two files: the listing, sorting and per-file loads fail too. */
static void
test_path_nth_fails(void **state)
{
	char dir[] = "/tmp/nfqwall-oom-XXXXXX", a[64], b[64];
	struct expect full;
	FILE *f;

	(void)state;
	skip_unless_interposed();
	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a.yaml", dir);
	snprintf(b, sizeof(b), "%s/b.yml", dir);
	f = fopen(a, "w");
	assert_non_null(f);
	fputs(policy_text, f);
	fclose(f);
	f = fopen(b, "w");
	assert_non_null(f);
	fputs(TIER("other", "{order: 1}"), f);
	fclose(f);
	full = reference(load_path, dir);
	assert_int_equal(full.ntiers, 2);
	run_failing(load_path, dir, false, &full);
	run_failing(load_path, dir, true, &full);
	unlink(a);
	unlink(b);
	rmdir(dir);
}

static void
test_failsafe_nth_fails(void **state)
{
	size_t nenomem = 0;

	(void)state;
	skip_unless_interposed();
	for (long nth = 1;; nth++) {
		struct failsafe_list l, d;
		char why[128] = "";
		int rc, rd;
		bool injected;

		oom_arm(nth, false);
		rc = failsafe_parse("tcp:22, udp:10.0.0.0/8:53, tcp:[fd00::/8]:443", &l, why, sizeof(why));
		rd = failsafe_defaults(&d, true);
		injected = oom_disarm();
		if (!injected) {
			assert_int_equal(rc, 0);
			assert_int_equal(rd, 0);
			assert_int_equal(l.n, 3);
			failsafe_list_free(&l);
			failsafe_list_free(&d);
			break;
		}
		assert_true(rc == 0 || rc == -ENOMEM);
		assert_true(rd == 0 || rd == -ENOMEM);
		if (rc == -ENOMEM) {
			assert_string_equal(why, "out of memory");
			assert_null(l.v);
			assert_int_equal(l.n, 0);
		}
		if (rd == -ENOMEM) {
			assert_false(d.set);
			assert_int_equal(d.n, 0);
		}
		nenomem += (rc < 0) + (rd < 0);
		failsafe_list_free(&l);
		failsafe_list_free(&d);
	}
	assert_true(nenomem > 0);
}

/* A record diag_add cannot keep is still counted, so nerr tells the caller. */
static void
test_diag_lost_is_counted(void **state)
{
	struct diags d;

	(void)state;
	skip_unless_interposed();
	diags_init(&d);
	oom_arm(1, true);
	diag_add(&d, DIAG_ERROR, "f.yaml", 1, 1, "Tier/t", "spec", "lost %d", 1);
	diag_add(&d, DIAG_WARN, "f.yaml", 2, 1, NULL, NULL, "lost too");
	assert_true(oom_disarm());
	assert_int_equal(d.n, 0);
	assert_int_equal(d.nerr, 1);
	assert_int_equal(d.nwarn, 1);
	assert_int_equal(d.nlost, 2);
	diag_add(&d, DIAG_ERROR, "f.yaml", 3, 1, NULL, "spec", "kept");
	assert_int_equal(d.n, 1);
	assert_int_equal(d.nerr, 2);
	diags_free(&d);
}

/* strmap_put fails with -ENOMEM and leaves the map as it was. */
static void
test_strmap_nth_fails(void **state)
{
	long nenomem = 0;

	(void)state;
	skip_unless_interposed();
	for (long nth = 1;; nth++) {
		struct strmap m = { 0 };
		bool in[200] = { false }, injected;
		char key[32];
		size_t v;

		oom_arm(nth, false);
		for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
			snprintf(key, sizeof(key), "key-%zu", i);
			in[i] = strmap_put(&m, key, i) == 0;
		}
		injected = oom_disarm();
		for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
			snprintf(key, sizeof(key), "key-%zu", i);
			assert_int_equal(strmap_get(&m, key, &v), in[i]);
			if (in[i])
				assert_int_equal(v, i);
			nenomem += !in[i];
		}
		strmap_free(&m);
		if (!injected)
			break;
	}
	assert_true(nenomem > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_load),
		cmocka_unit_test(test_buffer_nth_fails),
		cmocka_unit_test(test_buffer_all_fail_from_nth),
		cmocka_unit_test(test_path_nth_fails),
		cmocka_unit_test(test_failsafe_nth_fails),
		cmocka_unit_test(test_diag_lost_is_counted),
		cmocka_unit_test(test_strmap_nth_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
