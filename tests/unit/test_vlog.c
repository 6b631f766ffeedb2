/*
 * test_vlog.c - unit tests for nfq/vlog.c: the worker->logger ring (full,
 * drops, index wrap), the exact JSON of verdict lines, and the logger
 * thread's rate limiting and accounting (every record is a line or a
 * suppressed count, summary lines included). Hostile names and long names:
 * test_vlog_json.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "test_vlog.h"

static void
assert_line(const struct vlog_rec *r, const char *node, uint64_t suppressed, const char *want)
{
	char buf[2048];
	size_t n = vlog_format(r, node, suppressed, buf, sizeof(buf));

	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

/* ---- ring ------------------------------------------------------------------------- */

static void
test_ring_push_pop_full(void **state)
{
	struct vlog_ring r;
	struct vlog_rec in, out;

	(void)state;
	assert_int_equal(vlog_ring_init(&r, 2), 0);
	assert_int_equal(r.q.mask, 3);
	assert_false(vlog_pop(&r, &out));
	in = tcp_deny();
	for (int i = 0; i < 4; i++) {
		in.rule = i;
		assert_true(vlog_push(&r, &in));
	}
	in.rule = 99;
	assert_false(vlog_push(&r, &in));
	assert_false(vlog_push(&r, &in));
	assert_int_equal(r.q.dropped, 2);
	for (int i = 0; i < 4; i++) {
		assert_true(vlog_pop(&r, &out));
		assert_int_equal(out.rule, i);
		assert_string_equal(out.policy, "default.deny-ssh");
	}
	assert_false(vlog_pop(&r, &out));
	/* room again after the pops */
	assert_true(vlog_push(&r, &in));
	assert_true(vlog_pop(&r, &out));
	assert_int_equal(out.rule, 99);
	assert_int_equal(r.q.dropped, 2);
	vlog_ring_free(&r);
	vlog_ring_free(&r);	/* twice is harmless */
}

static void
test_ring_wrap(void **state)
{
	struct vlog_ring r;
	struct vlog_rec in = tcp_deny(), out;
	int next_in = 0, next_out = 0;
	uint64_t drops = 0;

	(void)state;
	assert_int_equal(vlog_ring_init(&r, 3), 0);
	/* free-running indices just below the 32-bit wrap */
	r.q.head = r.q.tail = UINT32_MAX - 5;
	for (int round = 0; round < 20; round++) {
		int burst = 1 + round % 8;

		for (int i = 0; i < burst; i++) {
			in.rule = next_in++;
			assert_true(vlog_push(&r, &in));
		}
		if (burst == 8) {
			assert_false(vlog_push(&r, &in));	/* full across the wrap */
			assert_int_equal(r.q.dropped, ++drops);
		}
		for (int i = 0; i < burst; i++) {
			assert_true(vlog_pop(&r, &out));
			assert_int_equal(out.rule, next_out++);
		}
		assert_false(vlog_pop(&r, &out));
	}
	assert_true(r.q.head < 1000);	/* it did wrap */
	assert_int_equal(r.q.dropped, 2);
	vlog_ring_free(&r);
}

static void
test_ring_sizes(void **state)
{
	struct vlog_ring r;
	struct vlog_rec in = tcp_deny(), out;

	(void)state;
	assert_int_equal(vlog_ring_init(&r, 0), 0);	/* one record */
	assert_true(vlog_push(&r, &in));
	assert_false(vlog_push(&r, &in));
	assert_true(vlog_pop(&r, &out));
	assert_false(vlog_pop(&r, &out));
	vlog_ring_free(&r);
	assert_int_equal(vlog_ring_init(&r, 40), -EINVAL);
	vlog_ring_free(&r);
}

/* ---- format ------------------------------------------------------------------------- */

static void
test_format_tcp_deny(void **state)
{
	struct vlog_rec r = tcp_deny();

	(void)state;
	assert_line(&r, "node-1", 0,
		    "{\"ts\":\"2026-11-23T01:02:03.000004Z\",\"node\":\"node-1\","
		    "\"action\":\"deny\",\"stage\":\"normal\",\"direction\":\"ingress\","
		    "\"iface_in\":\"lo\",\"iface_out\":null,\"proto\":\"tcp\","
		    "\"src\":\"10.0.0.1\",\"sport\":40000,\"dst\":\"10.0.0.2\",\"dport\":22,"
		    "\"icmp_type\":null,\"icmp_code\":null,\"len\":60,\"tier\":\"default\","
		    "\"policy\":\"default.deny-ssh\",\"rule\":3,\"gen\":7,\"queue\":2}\n");
}

static void
test_format_icmpv6_log(void **state)
{
	struct vlog_rec r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.ts_us = TS_2026 * 1000000u + 999999;
	r.gen = 12;
	set_addr(&r.src, "fd00::1");
	set_addr(&r.dst, "2001:db8::a:2");
	r.iif = 999999;		/* no such interface: null */
	r.oif = 1;
	r.rule = 0;
	r.len = 104;
	r.family = AF_INET6;
	r.proto = 58;
	r.icmp_type = 128;
	r.flags = PKT_F_ICMP;
	r.action = VLOG_LOG;
	r.stage = STAGE_UNTRACKED;
	r.dir = DIR_EGRESS;
	r.rule_kind = VLOG_RULE_INDEX;
	snprintf(r.tier, sizeof(r.tier), "security");
	snprintf(r.policy, sizeof(r.policy), "security.log-ping");
	assert_line(&r, "n2", 0,
		    "{\"ts\":\"2026-11-23T01:02:03.999999Z\",\"node\":\"n2\",\"action\":\"log\","
		    "\"stage\":\"untracked\",\"direction\":\"egress\",\"iface_in\":null,"
		    "\"iface_out\":\"lo\",\"proto\":\"icmpv6\",\"src\":\"fd00::1\","
		    "\"sport\":null,\"dst\":\"2001:db8::a:2\",\"dport\":null,\"icmp_type\":128,"
		    "\"icmp_code\":0,\"len\":104,\"tier\":\"security\","
		    "\"policy\":\"security.log-ping\",\"rule\":0,\"gen\":12,\"queue\":0}\n");
}

static void
test_format_end_of_tier(void **state)
{
	struct vlog_rec r = tcp_deny();

	(void)state;
	r.iif = 0;
	r.rule_kind = VLOG_RULE_EOT;
	r.rule = -1;
	r.policy[0] = '\0';
	r.stage = STAGE_PREDNAT;
	assert_line(&r, "node-1", 0,
		    "{\"ts\":\"2026-11-23T01:02:03.000004Z\",\"node\":\"node-1\","
		    "\"action\":\"deny\",\"stage\":\"prednat\",\"direction\":\"ingress\","
		    "\"iface_in\":null,\"iface_out\":null,\"proto\":\"tcp\","
		    "\"src\":\"10.0.0.1\",\"sport\":40000,\"dst\":\"10.0.0.2\",\"dport\":22,"
		    "\"icmp_type\":null,\"icmp_code\":null,\"len\":60,\"tier\":\"default\","
		    "\"policy\":null,\"rule\":\"end-of-tier\",\"gen\":7,\"queue\":2}\n");
}

static void
test_format_would_deny_and_kinds(void **state)
{
	struct vlog_rec r = tcp_deny();

	(void)state;
	r.iif = 0;
	r.action = VLOG_WOULD_DENY;
	r.rule_kind = VLOG_RULE_PROFILE;
	r.tier[0] = '\0';
	snprintf(r.policy, sizeof(r.policy), "kns.default");
	r.dir = DIR_EGRESS;
	r.stage = STAGE_FORWARD;
	assert_line(&r, "node-1", 0,
		    "{\"ts\":\"2026-11-23T01:02:03.000004Z\",\"node\":\"node-1\","
		    "\"action\":\"would-deny\",\"stage\":\"forward\",\"direction\":\"egress\","
		    "\"iface_in\":null,\"iface_out\":null,\"proto\":\"tcp\","
		    "\"src\":\"10.0.0.1\",\"sport\":40000,\"dst\":\"10.0.0.2\",\"dport\":22,"
		    "\"icmp_type\":null,\"icmp_code\":null,\"len\":60,\"tier\":null,"
		    "\"policy\":\"kns.default\",\"rule\":\"profile\",\"gen\":7,\"queue\":2}\n");

	/* failsafe and default; allow; an unnamed protocol is its number as a string */
	r.action = VLOG_ALLOW;
	r.rule_kind = VLOG_RULE_FAILSAFE;
	r.policy[0] = '\0';
	r.proto = 253;
	r.flags = 0;
	assert_line(&r, "node-1", 0,
		    "{\"ts\":\"2026-11-23T01:02:03.000004Z\",\"node\":\"node-1\","
		    "\"action\":\"allow\",\"stage\":\"forward\",\"direction\":\"egress\","
		    "\"iface_in\":null,\"iface_out\":null,\"proto\":\"253\","
		    "\"src\":\"10.0.0.1\",\"sport\":null,\"dst\":\"10.0.0.2\",\"dport\":null,"
		    "\"icmp_type\":null,\"icmp_code\":null,\"len\":60,\"tier\":null,"
		    "\"policy\":null,\"rule\":\"failsafe\",\"gen\":7,\"queue\":2}\n");
	r.rule_kind = VLOG_RULE_DEFAULT;
	r.stage = STAGE_NONE;
	r.proto = 17;
	r.flags = PKT_F_PORTS;
	r.sport = 53;
	r.dport = 5353;
	assert_line(&r, NULL, 0,
		    "{\"ts\":\"2026-11-23T01:02:03.000004Z\",\"node\":null,"
		    "\"action\":\"allow\",\"stage\":\"none\",\"direction\":\"egress\","
		    "\"iface_in\":null,\"iface_out\":null,\"proto\":\"udp\","
		    "\"src\":\"10.0.0.1\",\"sport\":53,\"dst\":\"10.0.0.2\",\"dport\":5353,"
		    "\"icmp_type\":null,\"icmp_code\":null,\"len\":60,\"tier\":null,"
		    "\"policy\":null,\"rule\":\"default\",\"gen\":7,\"queue\":2}\n");
}

static void
test_format_suppressed_and_escapes(void **state)
{
	struct vlog_rec r = tcp_deny();

	(void)state;
	r.iif = 0;
	snprintf(r.policy, sizeof(r.policy), "we\"ird\\name\n");
	assert_line(&r, "a\"b", 41,
		    "{\"ts\":\"2026-11-23T01:02:03.000004Z\",\"node\":\"a\\\"b\","
		    "\"action\":\"deny\",\"stage\":\"normal\",\"direction\":\"ingress\","
		    "\"iface_in\":null,\"iface_out\":null,\"proto\":\"tcp\","
		    "\"src\":\"10.0.0.1\",\"sport\":40000,\"dst\":\"10.0.0.2\",\"dport\":22,"
		    "\"icmp_type\":null,\"icmp_code\":null,\"len\":60,\"tier\":\"default\","
		    "\"policy\":\"we\\\"ird\\\\name\\n\",\"rule\":3,\"gen\":7,\"queue\":2,"
		    "\"suppressed\":41}\n");
}

static void
test_format_truncation(void **state)
{
	struct vlog_rec r = tcp_deny();
	char full[2048], small[40];
	size_t n, m;

	(void)state;
	/* a tier and policy that fill their fields exactly (no NUL) are still bounded */
	memset(r.tier, 't', sizeof(r.tier));
	memset(r.policy, 'p', sizeof(r.policy));
	n = vlog_format(&r, "node-1", 0, full, sizeof(full));
	assert_int_equal(n, strlen(full));
	{
		char want[sizeof(r.tier) + 16];

		snprintf(want, sizeof(want), "\"tier\":\"%.*s\",", (int)sizeof(r.tier), r.tier);
		assert_non_null(strstr(full, want));
	}
	m = vlog_format(&r, "node-1", 0, small, sizeof(small));
	assert_int_equal(m, n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, full, sizeof(small) - 1);
	assert_int_equal(vlog_format(&r, "node-1", 0, NULL, 0), n);
}

/* ---- the logger thread ----------------------------------------------------------------- */

static void
test_logger_rate_limit(void **state)
{
	struct vlog_config cfg = { .node = "n1", .rate = 10, .burst = 5 };
	struct vlog_logger lg;
	struct vlog_ring r, *rings[1] = { &r };
	struct vlog_rec rec = tcp_deny();
	struct out_file o;
	uint64_t t0, ms, sup;
	unsigned lines;

	(void)state;
	out_open(&o);
	cfg.out = o.f;
	assert_int_equal(vlog_ring_init(&r, 10), 0);
	t0 = mono_ns() / 1000000u;
	for (int i = 0; i < 1000; i++) {
		rec.len = (uint16_t)(1000 + i);
		assert_true(vlog_push(&r, &rec));
	}
	assert_int_equal(vlog_logger_start(&lg, &cfg, rings, 1), 0);
	/* the first pass takes the burst; the rest are folded */
	for (int i = 0; i < 200 && __atomic_load_n(&lg.lines, __ATOMIC_RELAXED) < 5; i++)
		sleep_ms(5);
	vlog_logger_stop(&lg);
	ms = mono_ns() / 1000000u - t0;
	lines = out_count(&o, &sup);
	assert_int_equal(lg.lines, lines);
	assert_true(lines >= 6);	/* the burst, and the last record as a summary */
	assert_true(lines <= 5 + 2 + ms / 100);
	assert_int_equal(lg.lines + lg.suppressed, 1000);
	assert_int_equal(lines + sup, 1000);
	/* the summary line is the last record pushed */
	{
		char line[4096] = "", last[4096] = "";

		rewind(o.f);
		while (fgets(line, sizeof(line), o.f) != NULL)
			memcpy(last, line, sizeof(line));
		assert_non_null(strstr(last, "\"len\":1999,"));
		assert_non_null(strstr(last, "\"suppressed\":"));
	}
	check_json_lines(o.path, lines);
	vlog_ring_free(&r);
	out_close(&o);
}

static void
test_logger_summary_on_refill(void **state)
{
	struct vlog_config cfg = { .node = "n1", .rate = 50, .burst = 1 };
	struct vlog_logger lg;
	struct vlog_ring r, *rings[1] = { &r };
	struct vlog_rec rec = tcp_deny();
	struct out_file o;
	uint64_t sup;
	unsigned lines;
	int i;

	(void)state;
	out_open(&o);
	cfg.out = o.f;
	assert_int_equal(vlog_ring_init(&r, 6), 0);
	for (i = 0; i < 40; i++)
		assert_true(vlog_push(&r, &rec));
	assert_int_equal(vlog_logger_start(&lg, &cfg, rings, 1), 0);
	/* one line at once, then (after 20 ms of refill) the summary, without a stop */
	for (i = 0; i < 400 && __atomic_load_n(&lg.lines, __ATOMIC_RELAXED) < 2; i++)
		sleep_ms(5);
	assert_int_equal(__atomic_load_n(&lg.lines, __ATOMIC_RELAXED), 2);
	assert_int_equal(__atomic_load_n(&lg.suppressed, __ATOMIC_RELAXED), 38);
	/* the heartbeat moves */
	{
		uint64_t hb = __atomic_load_n(&lg.heartbeat_ns, __ATOMIC_RELAXED);

		for (i = 0; i < 100 && __atomic_load_n(&lg.heartbeat_ns, __ATOMIC_RELAXED) == hb;
		     i++)
			sleep_ms(5);
		assert_true(__atomic_load_n(&lg.heartbeat_ns, __ATOMIC_RELAXED) > hb);
	}
	vlog_logger_stop(&lg);
	lines = out_count(&o, &sup);
	assert_int_equal(lines, 2);
	assert_int_equal(sup, 38);
	vlog_ring_free(&r);
	out_close(&o);
}

static void
test_logger_unlimited_two_rings(void **state)
{
	struct vlog_config cfg = { .node = "n1", .rate = 0, .burst = 0 };
	struct vlog_logger lg;
	struct vlog_ring r[2], *rings[2] = { &r[0], &r[1] };
	struct vlog_rec rec = tcp_deny();
	struct out_file o;
	uint64_t sup;

	(void)state;
	out_open(&o);
	cfg.out = o.f;
	assert_int_equal(vlog_ring_init(&r[0], 8), 0);
	assert_int_equal(vlog_ring_init(&r[1], 8), 0);
	assert_int_equal(vlog_logger_start(&lg, &cfg, rings, 2), 0);
	for (int i = 0; i < 100; i++) {
		rec.queue = (uint16_t)(i % 2);
		assert_true(vlog_push(&r[i % 2], &rec));
	}
	vlog_logger_stop(&lg);
	assert_int_equal(out_count(&o, &sup), 100);
	assert_int_equal(sup, 0);
	assert_int_equal(lg.lines, 100);
	assert_int_equal(lg.suppressed, 0);
	vlog_logger_stop(&lg);	/* a second stop is a no-op */
	vlog_ring_free(&r[0]);
	vlog_ring_free(&r[1]);
	out_close(&o);
}

/* More keys than the rate limiter has slots: evictions write their pending records. */
static void
test_logger_eviction(void **state)
{
	struct vlog_config cfg = { .node = "n1", .rate = 1, .burst = 1 };
	struct vlog_logger lg;
	struct vlog_ring r, *rings[1] = { &r };
	struct vlog_rec rec = tcp_deny();
	struct out_file o;
	uint64_t sup;

	(void)state;
	out_open(&o);
	cfg.out = o.f;
	assert_int_equal(vlog_ring_init(&r, 14), 0);
	for (int i = 0; i < 6000; i++) {
		rec.rule = i;
		assert_true(vlog_push(&r, &rec));	/* a line */
		assert_true(vlog_push(&r, &rec));	/* pending */
	}
	assert_int_equal(vlog_logger_start(&lg, &cfg, rings, 1), 0);
	vlog_logger_stop(&lg);
	assert_int_equal(lg.lines + lg.suppressed, 12000);
	assert_int_equal(out_count(&o, &sup) + sup, 12000);
	vlog_ring_free(&r);
	out_close(&o);
}

struct producer {
	struct vlog_ring *r;
	unsigned n;
	unsigned pushed;
};

static void *
produce(void *arg)
{
	struct producer *p = arg;
	struct vlog_rec rec = tcp_deny();

	for (unsigned i = 0; i < p->n; i++) {
		rec.rule = (int32_t)(i % 3);
		rec.len = (uint16_t)i;
		if (vlog_push(p->r, &rec))
			p->pushed++;
		if (i % 64 == 0)
			sched_yield();
	}
	return NULL;
}

/* A live producer against the logger: nothing lost that was not counted. */
static void
test_logger_concurrent(void **state)
{
	struct vlog_config cfg = { .node = "n1", .rate = 1000, .burst = 100 };
	struct vlog_logger lg;
	struct vlog_ring r[2], *rings[2] = { &r[0], &r[1] };
	struct producer p[2] = { { &r[0], 20000, 0 }, { &r[1], 20000, 0 } };
	pthread_t t[2];
	struct out_file o;
	uint64_t sup;

	(void)state;
	out_open(&o);
	cfg.out = o.f;
	assert_int_equal(vlog_ring_init(&r[0], 6), 0);
	assert_int_equal(vlog_ring_init(&r[1], 6), 0);
	assert_int_equal(vlog_logger_start(&lg, &cfg, rings, 2), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, produce, &p[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	vlog_logger_stop(&lg);
	for (int i = 0; i < 2; i++)
		assert_int_equal(p[i].pushed + r[i].q.dropped, p[i].n);
	assert_int_equal(lg.lines + lg.suppressed, p[0].pushed + p[1].pushed);
	assert_int_equal(out_count(&o, &sup) + sup, p[0].pushed + p[1].pushed);
	vlog_ring_free(&r[0]);
	vlog_ring_free(&r[1]);
	out_close(&o);
}

static void
test_logger_bad_config(void **state)
{
	struct vlog_config cfg = { .node = "n1", .rate = 0, .burst = 0, .out = NULL };
	struct vlog_logger lg;

	(void)state;
	memset(&lg, 0, sizeof(lg));
	assert_int_equal(vlog_logger_start(&lg, &cfg, NULL, 0), -EINVAL);
	vlog_logger_stop(&lg);	/* never started: a no-op */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_push_pop_full),
		cmocka_unit_test(test_ring_wrap),
		cmocka_unit_test(test_ring_sizes),
		cmocka_unit_test(test_format_tcp_deny),
		cmocka_unit_test(test_format_icmpv6_log),
		cmocka_unit_test(test_format_end_of_tier),
		cmocka_unit_test(test_format_would_deny_and_kinds),
		cmocka_unit_test(test_format_suppressed_and_escapes),
		cmocka_unit_test(test_format_truncation),
		cmocka_unit_test(test_logger_rate_limit),
		cmocka_unit_test(test_logger_summary_on_refill),
		cmocka_unit_test(test_logger_unlimited_two_rings),
		cmocka_unit_test(test_logger_eviction),
		cmocka_unit_test(test_logger_concurrent),
		cmocka_unit_test(test_logger_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
