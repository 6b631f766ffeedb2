/*
 * test_reload.c - the daemon's reload (control/daemon/reload.c) without
 * queues or netfilter rules: a policy directory that loads, changes, stays
 * the same and breaks, and the Kubernetes store with this Node's labels and
 * InternalIPs, and allocation failure at every allocation of a reload.
 * Checks the published generation, the counters /metrics reads and the
 * last-good-table rule. No worker runs, so no rule is installed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "clock.h"
#include "ctl.h"
#include "kube_int.h"
#include "ruleset.h"

#define POLICY_V1 \
	"apiVersion: projectcalico.org/v3\nkind: HostEndpoint\n" \
	"metadata: {name: n1-all, labels: {role: node}}\n" \
	"spec: {node: n1, interfaceName: \"*\"}\n" \
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n" \
	"metadata: {name: ssh}\nspec:\n  selector: role == 'node'\n" \
	"  ingress:\n    - {action: Allow, protocol: TCP, destination: {ports: [22]}}\n"

struct fixture {
	struct ctl c;
	char dir[64];
	char file[96];
};

static void
write_policy(struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->file, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/nfqwall-test-reload-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->file, sizeof(f->file), "%s/policy.yaml", f->dir);
	urcu_memb_register_thread();
	f->c.ifd = f->c.nlfd = f->c.sfd = f->c.tfd = f->c.store.efd = -1;
	f->c.o.policy_dir = f->dir;
	f->c.o.limits = polset_limits_default;
	f->c.o.node = "n1";
	f->c.o.queues = 1;
	f->c.o.queue_first = 100;
	assert_int_equal(mark_layout_init(&f->c.ml, 0xfff80000u), 0);
	pthread_mutex_init(&f->c.d.lock, NULL);
	labels_init(&f->c.host_labels);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ruleset_unpublish();
	urcu_memb_unregister_thread();
	unlink(f->file);
	rmdir(f->dir);
	pthread_mutex_destroy(&f->c.d.lock);
	free(f);
	return 0;
}

/* Does the current table hold a rule of policy @name? */
static bool
table_has_policy(const char *name)
{
	const struct ruleset *rs = ruleset_current();

	for (uint32_t i = 0; rs != NULL && i < ruleset_nmeta(rs); i++) {
		const struct rs_meta *m = ruleset_meta(rs, i);

		if (m->kind == RS_META_RULE && strstr(ruleset_str(rs, m->policy), name) != NULL)
			return true;
	}
	return false;
}

static void
test_policy_dir(void **state)
{
	struct fixture *f = *state;
	struct ctl *c = &f->c;

	write_policy(f, POLICY_V1);
	assert_int_equal(reload_policy(c, "start"), 0);
	assert_true(c->have_table);
	assert_int_equal(c->gen, 1);
	assert_int_equal(STAT_GET(c->d.gen), 1);
	assert_int_equal(STAT_GET(c->d.tables_published), 1);
	assert_int_equal(STAT_GET(c->d.npolicies), 1);
	assert_int_equal(STAT_GET(c->d.nheps), 1);
	assert_string_equal(c->d.ready_detail, "enforcing generation 1");
	assert_true(table_has_policy("ssh"));

	/* the same policy again: the table and its generation stay */
	assert_int_equal(reload_policy(c, "change"), 0);
	assert_int_equal(c->gen, 1);
	assert_int_equal(STAT_GET(c->d.tables_published), 1);

	/* a change: a new generation */
	write_policy(f, POLICY_V1 "    - {action: Deny}\n");
	assert_int_equal(reload_policy(c, "change"), 0);
	assert_int_equal(c->gen, 2);
	assert_int_equal(STAT_GET(c->d.tables_published), 2);
	assert_int_equal(STAT_GET(c->d.reloads), 3);
	assert_int_equal(STAT_GET(c->d.reload_failures), 0);
}

static void
test_rejected_keeps_last_good(void **state)
{
	struct fixture *f = *state;
	struct ctl *c = &f->c;
	const struct ruleset *before;

	write_policy(f, POLICY_V1);
	assert_int_equal(reload_policy(c, "start"), 0);
	before = ruleset_current();
	assert_non_null(before);
	write_policy(f, POLICY_V1 "  egress: [{action: Bogus}]\n");
	assert_int_equal(reload_policy(c, "change"), -EINVAL);
	assert_int_equal(c->gen, 1);
	assert_ptr_equal(ruleset_current(), before);
	assert_int_equal(STAT_GET(c->d.reload_failures), 1);
	assert_non_null(strstr(c->d.ready_detail, "last policy load rejected"));
	assert_non_null(strstr(c->d.ready_detail, "enforcing generation 1"));

	/* fixed: published again */
	write_policy(f, POLICY_V1 "    - {action: Deny}\n");
	assert_int_equal(reload_policy(c, "change"), 0);
	assert_int_equal(c->gen, 2);
}

/* A first load with errors still enforces its valid objects: there is nothing older. */
static void
test_first_load_with_errors(void **state)
{
	struct fixture *f = *state;
	struct ctl *c = &f->c;

	write_policy(f, POLICY_V1 "---\napiVersion: projectcalico.org/v3\n"
		     "kind: GlobalNetworkPolicy\nmetadata: {name: bad}\nspec: {order: x}\n");
	assert_int_equal(reload_policy(c, "start"), 0);
	assert_true(c->have_table);
	assert_int_equal(STAT_GET(c->d.objects_rejected), 1);
	assert_int_equal(STAT_GET(c->d.npolicies), 1);
	assert_non_null(strstr(c->d.ready_detail, "1 invalid objects were skipped"));
}

/* The debounce: a scheduled reload runs when the timer is due, once. */
static void
test_debounce(void **state)
{
	struct fixture *f = *state;
	struct ctl *c = &f->c;

	write_policy(f, POLICY_V1);
	reload_schedule(c, false);
	assert_true(c->reload_pending);
	reload_due(c);
	assert_false(c->reload_pending);
	assert_int_equal(STAT_GET(c->d.reloads), 1);
	reload_due(c);
	assert_int_equal(STAT_GET(c->d.reloads), 1);
}

/*
 * A stream of changes closer than the debounce does not postpone the reload
 * for ever: it comes at most --debounce-max-ms after the first change.
 */
static void
test_debounce_max_wait(void **state)
{
	struct fixture *f = *state;
	struct ctl *c = &f->c;
	struct itimerspec cur;
	struct timespec tick = { 0, 50 * 1000000L };
	struct pollfd p;
	uint64_t t0, left_max;

	c->o.debounce_ms = 100;
	c->o.debounce_max_ms = 300;
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	assert_true(c->tfd >= 0);
	reload_schedule(c, false);
	t0 = mono_ns();
	for (int i = 0; i < 5; i++) {	/* a change every 50 ms: each one restarts the debounce */
		nanosleep(&tick, NULL);
		reload_schedule(c, false);
	}
	assert_int_equal(timerfd_gettime(c->tfd, &cur), 0);
	left_max = 300000000ull - (mono_ns() - t0) + 5000000ull;
	print_message("# left %ld ms after %llu ms of changes\n", cur.it_value.tv_nsec / 1000000,
		      (unsigned long long)((mono_ns() - t0) / 1000000));
	/* without the bound, 100 ms would be left after the last change */
	assert_true(cur.it_value.tv_sec == 0 && (uint64_t)cur.it_value.tv_nsec <= left_max);
	assert_true(cur.it_value.tv_nsec < 90 * 1000000L);
	p = (struct pollfd){ c->tfd, POLLIN, 0 };
	assert_int_equal(poll(&p, 1, 200), 1);
	/* once reloaded, the next change waits the plain debounce again */
	reload_due(c);
	assert_false(c->reload_pending);
	reload_schedule(c, false);
	assert_int_equal(timerfd_gettime(c->tfd, &cur), 0);
	assert_true(cur.it_value.tv_nsec > 90 * 1000000L);
	close(c->tfd);
	c->tfd = -1;
}

/* A policy change under churn: --policy-debounce-ms after it, whatever churn follows. */
static void
test_debounce_urgent(void **state)
{
	struct fixture *f = *state;
	struct ctl *c = &f->c;
	struct itimerspec cur;
	struct timespec tick = { 0, 20 * 1000000L };
	uint64_t t_urgent, left;

	c->o.debounce_ms = 100;
	c->o.policy_debounce_ms = 30;
	c->o.debounce_max_ms = 1000;
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	assert_true(c->tfd >= 0);
	for (int i = 0; i < 5; i++) {	/* churn every 20 ms */
		reload_schedule(c, false);
		nanosleep(&tick, NULL);
	}
	reload_schedule(c, true);	/* the policy changes */
	t_urgent = mono_ns();
	nanosleep(&tick, NULL);
	reload_schedule(c, false);	/* the churn goes on */
	assert_int_equal(timerfd_gettime(c->tfd, &cur), 0);
	left = (uint64_t)cur.it_value.tv_sec * 1000000000ull + (uint64_t)cur.it_value.tv_nsec;
	/* due 30 ms after the policy change, not 100 ms after the last churn event */
	assert_true(mono_ns() - t_urgent + left <= 30000000ull + 5000000ull);
	assert_true(left < 15000000ull);
	reload_due(c);
	assert_false(c->reload_pending);
	/* the next pending reload starts without it: churn alone waits the plain debounce */
	reload_schedule(c, false);
	assert_int_equal(c->urgent_due_ns, 0);
	assert_int_equal(c->urgent_first_ns, 0);
	close(c->tfd);
	c->tfd = -1;
}

/* A stream of policy changes closer than --policy-debounce-ms is one reload, at most
 * --debounce-ms after the first of them. */
static void
test_debounce_urgent_burst(void **state)
{
	struct fixture *f = *state;
	struct ctl *c = &f->c;
	struct itimerspec cur;
	struct timespec tick = { 0, 15 * 1000000L };
	uint64_t t_first, left;

	c->o.debounce_ms = 100;
	c->o.policy_debounce_ms = 40;
	c->o.debounce_max_ms = 1000;
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	assert_true(c->tfd >= 0);
	reload_schedule(c, true);
	t_first = mono_ns();
	nanosleep(&tick, NULL);
	reload_schedule(c, true);	/* 15 ms later: still one burst */
	assert_int_equal(timerfd_gettime(c->tfd, &cur), 0);
	left = (uint64_t)cur.it_value.tv_sec * 1000000000ull + (uint64_t)cur.it_value.tv_nsec;
	assert_true(left > 20000000ull);	/* quiet restarted by the second change */
	for (int i = 0; i < 4; i++) {	/* 60 ms more of policy changes every 15 ms */
		nanosleep(&tick, NULL);
		reload_schedule(c, true);
	}
	assert_int_equal(timerfd_gettime(c->tfd, &cur), 0);
	left = (uint64_t)cur.it_value.tv_sec * 1000000000ull + (uint64_t)cur.it_value.tv_nsec;
	/* bounded: 100 ms after the first, however long the burst */
	assert_true(mono_ns() - t_first + left <= 100000000ull + 5000000ull);
	reload_due(c);
	close(c->tfd);
	c->tfd = -1;
}

static void
store_put(struct kube_store *st, enum kube_kind k, const char *key, const char *json)
{
	struct kube_kind_state *ks = &st->kinds[k];
	struct kube_obj o = { NULL, NULL, 0 };

	ks->v = realloc(ks->v, (ks->n + 1) * sizeof(*ks->v));
	assert_non_null(ks->v);
	ks->v[ks->n].key = strdup(key);
	if (kube_trimmed(k)) {	/* the digest, as a reflector would store it */
		assert_int_equal(kstore_obj_make((struct jspan){ json, strlen(json) }, k, "v1", &o),
				 0);
		free(o.key);
		ks->v[ks->n].json = o.json;
	} else {
		ks->v[ks->n].json = strdup(json);
	}
	assert_non_null(ks->v[ks->n].json);
	ks->v[ks->n].seq = ++st->next_seq;
	ks->n++;
	ks->cap = ks->n;
	st->version++;
}

#define GNP_ZONE_JSON(action) \
	"{\"apiVersion\":\"projectcalico.org/v3\",\"kind\":\"GlobalNetworkPolicy\"," \
	"\"metadata\":{\"name\":\"ssh\"},\"spec\":{\"selector\":\"zone == 'a'\"," \
	"\"ingress\":[{\"action\":\"" action "\"}]}}"

/* The Kubernetes source, with a policy for zone=a and this Node (zone=a, an InternalIP). */
static void
kube_setup(struct ctl *c)
{
	c->o.policy_dir = NULL;
	c->o.kubernetes = true;
	c->o.auto_hep = true;
	assert_int_equal(kube_store_init(&c->store), 0);
	snprintf(c->store.group_version, sizeof(c->store.group_version), "projectcalico.org/v3");
	store_put(&c->store, KK_GNP, "ssh", GNP_ZONE_JSON("Allow"));
	store_put(&c->store, KK_NODE, "n1",
		  "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\","
		  "\"labels\":{\"zone\":\"a\",\"kubernetes.io/hostname\":\"n1\"}},"
		  "\"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":\"n1\"},"
		  "{\"type\":\"InternalIP\",\"address\":\"10.0.0.5\"}]}}");
	for (int k = 0; k < KK_NKINDS; k++)	/* every kind listed once */
		c->store.kinds[k].synced = true;
}

/* Before every kind is listed once, no table: a partial store would enforce a partial policy. */
static void
test_kube_no_table_before_sync(void **state)
{
	struct fixture *f = *state;
	struct ctl *c = &f->c;

	kube_setup(c);
	c->store.kinds[KK_HEP].synced = false;
	assert_int_equal(reload_policy(c, "start"), 0);
	assert_false(c->have_table);
	assert_null(ruleset_current());
	assert_non_null(strstr(c->d.ready_detail, "waiting for the first list of every kind"));
	/* the DaemonSet watch never holds the table back */
	c->store.kinds[KK_HEP].synced = true;
	c->store.kinds[KK_DAEMONSET].synced = false;
	assert_int_equal(reload_policy(c, "synced"), 0);
	assert_true(c->have_table);
	kube_store_free(&c->store);
}

/* The Kubernetes store, with Calico's auto host endpoint from this Node. */
static void
test_kube_store_auto_hep(void **state)
{
	struct fixture *f = *state;
	struct ctl *c = &f->c;

	kube_setup(c);
	assert_int_equal(reload_policy(c, "start"), 0);
	assert_true(c->have_table);
	assert_int_equal(c->store_version, c->store.version);
	assert_int_equal(STAT_GET(c->d.npolicies), 1);
	assert_int_equal(STAT_GET(c->d.nheps), 1);	/* the auto host endpoint */
	/* the policy selects the Node's label zone=a: the labels reached the auto HEP */
	assert_true(table_has_policy("ssh"));
	kube_store_free(&c->store);
}

/*
 * Allocation failure, at every allocation of one reload in turn: the
 * process never exits, and a reload that fails keeps the last good table
 * and is counted. malloc, calloc and realloc of the whole test binary pass
 * through here (fail_at < 0: never fail); not under ASan or TSan, which
 * bring their own allocator.
 */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define NOMEM_SWEEP 1

/* glibc's allocator entry points: exported by libc.so.6, declared in no header. */
typedef void *libc_malloc_fn(size_t n);
typedef void *libc_calloc_fn(size_t n, size_t size);
typedef void *libc_realloc_fn(void *p, size_t n);
extern libc_malloc_fn __libc_malloc;
extern libc_calloc_fn __libc_calloc;
extern libc_realloc_fn __libc_realloc;

static long fail_at = -1;	/* allocations to let through before one fails; -1: never */
static long failed;		/* allocations failed since the last reset */

static bool
nomem_now(void)
{
	if (fail_at < 0 || fail_at-- > 0)
		return false;
	failed++;
	return true;
}

void *
malloc(size_t n)
{
	return nomem_now() ? NULL : __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	return nomem_now() ? NULL : __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
	return nomem_now() ? NULL : __libc_realloc(p, n);
}
#endif

#ifdef NOMEM_SWEEP
/* Make the source hold the policy before (@v2 false) or after the change. */
typedef void set_policy_fn(struct fixture *f, bool v2);

/*
 * Fail allocation k of a reload that changes the table, for k = 0, 1, ...
 * until a reload runs out of allocations to fail. Returns that count.
 */
static long
nomem_sweep(struct fixture *f, set_policy_fn *set)
{
	struct ctl *c = &f->c;
	uint32_t want_entries, want_bytes;
	long k;

	/* what the reload under test should publish, when it publishes */
	set(f, true);
	assert_int_equal(reload_policy(c, "start"), 0);
	want_entries = (uint32_t)STAT_GET(c->d.nentries);
	want_bytes = (uint32_t)STAT_GET(c->d.table_bytes);
	for (k = 0; k < 1000000; k++) {
		const struct ruleset *last_good;
		uint64_t failures, gen;
		int rc;

		set(f, false);
		assert_int_equal(reload_policy(c, "change"), 0);
		set(f, true);
		last_good = ruleset_current();
		failures = STAT_GET(c->d.reload_failures);
		gen = c->gen;
		failed = 0;
		fail_at = k;
		rc = reload_policy(c, "change");
		fail_at = -1;
		if (failed == 0) {		/* past the last allocation of a reload */
			assert_int_equal(rc, 0);
			break;
		}
		if (rc < 0) {			/* failed: nothing changed but the count */
			assert_ptr_equal(ruleset_current(), last_good);
			assert_int_equal(c->gen, gen);
			assert_int_equal(STAT_GET(c->d.reload_failures), failures + 1);
		} else {			/* the failure was absorbed: the same table */
			assert_int_not_equal(c->gen, gen);
			assert_int_equal(STAT_GET(c->d.nentries), want_entries);
			assert_int_equal(STAT_GET(c->d.table_bytes), want_bytes);
		}
	}
	return k;
}

static void
set_policy_file(struct fixture *f, bool v2)
{
	write_policy(f, v2 ? POLICY_V1 "    - {action: Deny}\n" : POLICY_V1);
}

static void
set_policy_store(struct fixture *f, bool v2)
{
	struct kube_kind_state *ks = &f->c.store.kinds[KK_GNP];
	char *json = strdup(v2 ? GNP_ZONE_JSON("Deny") : GNP_ZONE_JSON("Allow"));

	assert_non_null(json);
	free(ks->v[0].json);
	ks->v[0].json = json;
	f->c.store.version++;
}
#endif

static void
test_nomem_sweep(void **state)
{
#ifdef NOMEM_SWEEP
	long k = nomem_sweep(*state, set_policy_file);

	print_message("%ld allocation points of one reload failed in turn\n", k);
	assert_true(k > 0);
#else
	(void)state;
	skip();
#endif
}

/* The same from the Kubernetes store, with the Node's labels (the auto HEP). */
static void
test_nomem_sweep_kube(void **state)
{
#ifdef NOMEM_SWEEP
	struct fixture *f = *state;
	long k;

	kube_setup(&f->c);
	k = nomem_sweep(f, set_policy_store);
	print_message("%ld allocation points of one reload failed in turn\n", k);
	assert_true(k > 0);
	kube_store_free(&f->c.store);
#else
	(void)state;
	skip();
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_policy_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejected_keeps_last_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_load_with_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debounce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debounce_max_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debounce_urgent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debounce_urgent_burst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kube_store_auto_hep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kube_no_table_before_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nomem_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nomem_sweep_kube, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
