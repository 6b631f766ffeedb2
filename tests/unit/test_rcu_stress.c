/*
 * test_rcu_stress.c - the data path's shared state under concurrency: the
 * control thread publishes tables thousands of times (RCU publish and
 * reclaim) while reader threads classify with whatever table is current,
 * and a worker-side producer fills a verdict-log ring that a logger-side
 * consumer drains. Meant for ThreadSanitizer (make check runs it built with
 * -fsanitize=thread) but checks its own invariants in every build:
 *   - a reader always sees one whole table: the probe's verdict matches the
 *     policy that table was compiled from (even generations allow port 80,
 *     odd ones deny it), and generations never go backwards;
 *   - the ring hands over every record once, in order, or counts it dropped.
 * NFQWALL_STRESS_SWAPS=N sets the number of publications (default 2000).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "compile.h"
#include "helpers.h"
#include "vlog.h"

#define READERS 2

#define POLICY(action) \
	HEP("{name: node, labels: {role: node}}", "interfaceName: eth0, expectedIPs: [10.0.0.1]") \
	GNP("web") \
	"  selector: role == 'node'\n" \
	"  ingress:\n" \
	"    - {action: " action ", protocol: TCP, destination: {ports: [80]}}\n" \
	"    - {action: Allow}\n"

struct shared {
	int stop;
	unsigned long lookups[READERS];
	unsigned long wrong;		/* a verdict that does not fit its table */
	unsigned long backwards;	/* a generation older than one seen before */
	unsigned long gens_seen[READERS];
};

struct reader {
	struct shared *sh;
	unsigned id;
};

static struct ruleset *
compile_text(const char *text)
{
	struct polset ps;
	struct hostenv env;
	struct hostenv_opts o = { .node = "n1", .failsafe_in = "none", .failsafe_out = "none" };
	struct cidr eth0 = mkcidr("10.0.0.1");
	struct ruleset *rs;
	char why[128];

	polset_init(&ps);
	assert_int_equal(polset_load_buffer(&ps, "stress.yaml", text, strlen(text)), 0);
	assert_int_equal(ps.diags.nerr, 0);
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_int_equal(hostenv_add_iface(&env, 2, "eth0", &eth0, 1), 0);
	rs = compile_ruleset(&env);
	assert_non_null(rs);
	hostenv_free(&env);
	polset_free(&ps);
	return rs;
}

static void *
reader_main(void *arg)
{
	struct reader *rd = arg;
	struct shared *sh = rd->sh;
	struct pkt_key k;
	uint64_t last = 0;
	uint8_t fam;

	memset(&k, 0, sizeof(k));
	if (addr_parse("192.0.2.9", &k.src, &fam) < 0 || addr_parse("10.0.0.1", &k.dst, &fam) < 0)
		return NULL;
	k.family = fam;
	k.proto = IPPROTO_TCP;
	k.flags = PKT_F_PORTS;
	k.sport = 40000;
	k.dport = 80;
	k.iif = 2;
	urcu_memb_register_thread();
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		const struct ruleset *rs;
		struct rs_verdict v;

		ruleset_read_lock();
		rs = ruleset_current();
		if (rs != NULL) {
			uint64_t gen = ruleset_gen(rs);

			ruleset_lookup(rs, RS_NORMAL_IN, &k, &v);
			if (v.outcome != ((gen & 1) ? RS_DROP : RS_ACCEPT))
				__atomic_fetch_add(&sh->wrong, 1, __ATOMIC_RELAXED);
			if (v.meta != RS_NO_META)
				ruleset_hit(rs, v.meta, 1);
			if (gen < last)
				__atomic_fetch_add(&sh->backwards, 1, __ATOMIC_RELAXED);
			if (gen != last)
				sh->gens_seen[rd->id]++;
			last = gen;
			sh->lookups[rd->id]++;
		}
		ruleset_read_unlock();
	}
	urcu_memb_unregister_thread();
	return NULL;
}

static void
test_publish_while_classifying(void **state __unused)
{
	static const char allow80[] = POLICY("Allow");
	static const char deny80[] = POLICY("Deny");
	const char *env = getenv("NFQWALL_STRESS_SWAPS");
	unsigned long swaps = env ? strtoul(env, NULL, 10) : 2000;
	struct shared sh;
	struct reader rd[READERS];
	pthread_t t[READERS];

	memset(&sh, 0, sizeof(sh));
	urcu_memb_register_thread();
	for (unsigned i = 0; i < READERS; i++) {
		rd[i] = (struct reader){ &sh, i };
		assert_int_equal(pthread_create(&t[i], NULL, reader_main, &rd[i]), 0);
	}
	for (unsigned long gen = 2; gen < swaps + 2; gen++) {
		struct ruleset *rs = compile_text(gen & 1 ? deny80 : allow80);

		ruleset_set_gen(rs, gen);
		ruleset_publish(rs);
		if (gen % 64 == 0)
			urcu_memb_barrier();	/* let reclamation run as it would */
	}
	__atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < READERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	ruleset_unpublish();
	urcu_memb_unregister_thread();

	print_message("  %lu publications; lookups %lu / %lu; generations seen %lu / %lu\n",
		      swaps, sh.lookups[0], sh.lookups[1], sh.gens_seen[0], sh.gens_seen[1]);
	assert_int_equal(sh.wrong, 0);
	assert_int_equal(sh.backwards, 0);
	for (unsigned i = 0; i < READERS; i++) {
		assert_true(sh.lookups[i] > 0);
		assert_true(sh.gens_seen[i] > 1);
	}
}

struct ring_pair {
	struct vlog_ring ring;
	unsigned long n;
	unsigned long popped, dropped, out_of_order;
	int done;
};

static void *
producer_main(void *arg)
{
	struct ring_pair *p = arg;
	struct vlog_rec r;

	memset(&r, 0, sizeof(r));
	for (unsigned long i = 1; i <= p->n; i++) {
		r.ts_us = i;
		r.gen = i * 3;
		if (!vlog_push(&p->ring, &r))
			p->dropped++;
	}
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void
test_log_ring_hands_over_every_record(void **state __unused)
{
	struct ring_pair p;
	pthread_t t;
	uint64_t last = 0;
	struct vlog_rec r;

	memset(&p, 0, sizeof(p));
	p.n = 200000;
	assert_int_equal(vlog_ring_init(&p.ring, 6), 0);
	assert_int_equal(pthread_create(&t, NULL, producer_main, &p), 0);
	for (;;) {
		int done = __atomic_load_n(&p.done, __ATOMIC_ACQUIRE);

		while (vlog_pop(&p.ring, &r)) {
			if (r.ts_us <= last || r.gen != r.ts_us * 3)
				p.out_of_order++;
			last = r.ts_us;
			p.popped++;
		}
		if (done && !vlog_pop(&p.ring, &r))
			break;
		if (done) {	/* one more arrived between the checks */
			if (r.ts_us <= last || r.gen != r.ts_us * 3)
				p.out_of_order++;
			last = r.ts_us;
			p.popped++;
		}
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	print_message("  %lu records: %lu handed over, %lu dropped (ring full)\n", p.n, p.popped,
		      p.dropped);
	assert_int_equal(p.out_of_order, 0);
	assert_int_equal(p.popped + p.dropped, p.n);
	assert_true(p.popped > 0);
	vlog_ring_free(&p.ring);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_while_classifying),
		cmocka_unit_test(test_log_ring_hands_over_every_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
