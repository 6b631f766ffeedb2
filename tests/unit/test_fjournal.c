/*
 * test_fjournal.c - unit tests for the flow journal: the worker ring
 * (nfq/fjournal.c), the table of distinct flows (aggregation, the cap and
 * its drop count, pruning), the exact line, fj_note's choices, the journal
 * thread's file and rotation (nfq/fjournal_run.c) read back by the replay
 * reader, the /flows snapshot, and the reader (control/fjread.c):
 * parsing, merging, and errors that name the file and line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "fjournal.h"
#include "fjread.h"
#include "pkt.h"
#include "verdict.h"

/* TCP 192.0.2.2:40000 -> 192.0.2.1:@dport, input, allowed by default.node-in rule 2 */
static struct fj_rec
rec_tcp(uint16_t dport, uint64_t ts)
{
	struct fj_rec r;
	uint8_t fam;

	memset(&r, 0, sizeof(r));
	assert_int_equal(addr_parse("192.0.2.2", &r.src, &fam), 0);
	assert_int_equal(addr_parse("192.0.2.1", &r.dst, &fam), 0);
	r.family = AF_INET;
	r.proto = IPPROTO_TCP;
	r.flags = PKT_F_PORTS;
	r.sport = 40000;
	r.dport = dport;
	r.ts_us = ts;
	r.iif = 0;
	r.hook = JHOOK_LOCAL_IN;
	r.path = FJ_PATH_LOCAL_IN;
	r.dir = DIR_INGRESS;
	r.stage = STAGE_NORMAL;
	r.rule = 2;
	r.rule_kind = VLOG_RULE_INDEX;
	snprintf(r.tier, sizeof(r.tier), "default");
	snprintf(r.policy, sizeof(r.policy), "default.node-in");
	return r;
}

/* ---- ring ------------------------------------------------------------------------- */

static void
test_ring(void **state)
{
	struct fj_ring r;
	struct fj_rec in = rec_tcp(22, 1), out;

	(void)state;
	assert_int_equal(fj_ring_init(&r, 21), -EINVAL);
	assert_int_equal(fj_ring_init(&r, 1), 0);
	assert_false(fj_pop(&r, &out));
	assert_true(fj_push(&r, &in));
	in.dport = 23;
	assert_true(fj_push(&r, &in));
	assert_false(fj_push(&r, &in));
	assert_int_equal(r.q.dropped, 1);
	assert_true(fj_pop(&r, &out));
	assert_int_equal(out.dport, 22);
	assert_true(fj_pop(&r, &out));
	assert_int_equal(out.dport, 23);
	assert_false(fj_pop(&r, &out));
	fj_ring_free(&r);
	fj_ring_free(&r);
}

/* ---- the table ---------------------------------------------------------------------- */

static void
test_table_aggregates(void **state)
{
	struct fj_table t;
	struct fj_rec a = rec_tcp(22, 100), b;

	(void)state;
	assert_int_equal(fj_table_init(&t, 0), -EINVAL);
	assert_int_equal(fj_table_init(&t, 8), 0);
	assert_int_equal(fj_table_add(&t, &a), 0);
	b = a;
	b.sport = 40001;	/* another connection of the same flow */
	b.ts_us = 300;
	assert_int_equal(fj_table_add(&t, &b), 0);
	b.ts_us = 200;		/* out of order: last stays 300 */
	assert_int_equal(fj_table_add(&t, &b), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.e[0].count, 3);
	assert_int_equal(t.e[0].pending, 3);
	assert_int_equal(t.e[0].first_us, 100);
	assert_int_equal(t.e[0].last_us, 300);
	assert_int_equal(t.e[0].r.sport, 40000);	/* the first packet's */
	/* each part of the key makes another flow */
	b = a; b.dport = 23; assert_int_equal(fj_table_add(&t, &b), 0);
	b = a; b.deny = 1; assert_int_equal(fj_table_add(&t, &b), 0);
	b = a; b.rule = 3; assert_int_equal(fj_table_add(&t, &b), 0);
	b = a; b.hook = JHOOK_FORWARD; assert_int_equal(fj_table_add(&t, &b), 0);
	b = a; b.iif = 7; assert_int_equal(fj_table_add(&t, &b), 0);
	b = a; b.policy[0] = 'X'; assert_int_equal(fj_table_add(&t, &b), 0);
	assert_int_equal(t.n, 7);
	assert_int_equal(t.dropped, 0);
	fj_table_free(&t);
	fj_table_free(&t);
}

static void
test_table_cap_and_prune(void **state)
{
	struct fj_table t;
	struct fj_rec a = rec_tcp(1, 1);

	(void)state;
	assert_int_equal(fj_table_init(&t, 4), 0);
	for (uint16_t p = 1; p <= 4; p++) {
		a.dport = p;
		assert_int_equal(fj_table_add(&t, &a), 0);
	}
	a.dport = 5;
	assert_int_equal(fj_table_add(&t, &a), -ENOSPC);
	assert_int_equal(fj_table_add(&t, &a), -ENOSPC);
	assert_int_equal(t.dropped, 2);
	a.dport = 3;		/* a known flow still counts */
	assert_int_equal(fj_table_add(&t, &a), 0);
	/* flows 1, 2 and 4 are written; 3 has a packet since */
	for (uint32_t i = 0; i < t.n; i++)
		t.e[i].pending = 0;
	assert_int_equal(fj_table_add(&t, &a), 0);
	assert_int_equal(fj_table_prune(&t), 3);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.e[0].r.dport, 3);
	assert_int_equal(t.e[0].count, 3);
	/* the index was rebuilt: flow 3 is found, new flows fit again */
	assert_int_equal(fj_table_add(&t, &a), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.e[0].count, 4);
	a.dport = 5;
	assert_int_equal(fj_table_add(&t, &a), 0);
	assert_int_equal(t.n, 2);
	fj_table_free(&t);
}

/* ---- the line --------------------------------------------------------------------- */

static void
test_format(void **state)
{
	struct fj_entry e;
	char buf[FJ_LINE_MAX];
	size_t n;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.r = rec_tcp(22, 0);
	e.count = 5;
	e.first_us = 1764979200000000ull;	/* 2025-12-06T00:00:00Z */
	e.last_us = 1764979205000001ull;
	e.pending = 2;
	e.pfirst_us = 1764979204000000ull;
	n = fj_format(&e, "node-1", "eth0", NULL, false, buf, sizeof(buf));
	assert_string_equal(buf,
		"{\"v\":1,\"node\":\"node-1\",\"proto\":\"tcp\",\"src\":\"192.0.2.2\",\"sport\":40000,"
		"\"dst\":\"192.0.2.1\",\"dport\":22,\"icmp_type\":null,\"icmp_code\":null,"
		"\"hook\":\"input\",\"path\":\"local-in\",\"direction\":\"ingress\","
		"\"iface_in\":\"eth0\",\"iface_out\":null,\"verdict\":\"allow\",\"stage\":\"normal\","
		"\"tier\":\"default\",\"policy\":\"default.node-in\",\"rule\":2,\"count\":5,"
		"\"first\":\"2025-12-06T00:00:00.000000Z\",\"last\":\"2025-12-06T00:00:05.000001Z\"}\n");
	assert_int_equal(n, strlen(buf));
	/* pending: the packets since the last line */
	e.r.deny = 1;
	e.r.rule_kind = VLOG_RULE_EOT;
	e.r.dir = FJ_DIR_NONE;
	fj_format(&e, "node-1", NULL, NULL, true, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"direction\":null,\"iface_in\":null,\"iface_out\":null,"
				    "\"verdict\":\"deny\""));
	assert_non_null(strstr(buf, "\"rule\":\"end-of-tier\",\"count\":2,"
				    "\"first\":\"2025-12-06T00:00:04.000000Z\""));
	/* the longest line: names of 255 bytes that all need escaping, a 253-byte node */
	{
		char node[254];

		memset(e.r.tier, 0x01, sizeof(e.r.tier) - 1);
		memset(e.r.policy, 0xff, sizeof(e.r.policy) - 1);
		memset(node, 'n', sizeof(node) - 1);
		node[sizeof(node) - 1] = '\0';
		n = fj_format(&e, node, "0123456789abcde", "0123456789abcde", false, buf,
			      sizeof(buf));
		assert_true(n < sizeof(buf));
		assert_non_null(strstr(buf, "\"tier\":\"\\u0001\\u0001"));
		assert_int_equal(buf[n - 1], '\n');
	}
	/* cut: snprintf semantics */
	n = fj_format(&e, "node-1", NULL, NULL, true, buf, 10);
	assert_true(n > 10);
	assert_int_equal(strlen(buf), 9);
}

/* fj_note: what decided is copied; a lookup that let the packet go on is not noted */
static void
test_note(void **state)
{
	struct fj_ring r;
	struct judge_result jr;
	struct pkt_key k;
	struct fj_rec out;
	uint8_t fam;

	(void)state;
	assert_int_equal(fj_ring_init(&r, 3), 0);
	memset(&k, 0, sizeof(k));
	assert_int_equal(addr_parse("192.0.2.1", &k.src, &fam), 0);
	assert_int_equal(addr_parse("198.51.100.7", &k.dst, &fam), 0);
	k.family = AF_INET;
	k.proto = IPPROTO_UDP;
	k.flags = PKT_F_PORTS | PKT_F_FRAG;
	k.sport = 5000;
	k.dport = 53;
	k.oif = 3;
	memset(&jr, 0, sizeof(jr));
	jr.verdict = JV_DROP;
	jr.stage = STAGE_NORMAL;
	jr.rv.outcome = RS_DROP;
	jr.rv.reason = REASON_NO_PROFILE;
	jr.rv.meta = RS_NO_META;
	fj_note(&r, NULL, &k, JHOOK_LOCAL_OUT, false, false, &jr, 42);
	assert_true(fj_pop(&r, &out));
	assert_int_equal(out.path, FJ_PATH_LOCAL_OUT);
	assert_int_equal(out.hook, JHOOK_LOCAL_OUT);
	assert_int_equal(out.deny, 1);
	assert_int_equal(out.flags, PKT_F_PORTS);
	assert_int_equal(out.dport, 53);
	assert_int_equal(out.oif, 3);
	assert_int_equal(out.dir, FJ_DIR_NONE);
	assert_int_equal(out.rule_kind, VLOG_RULE_DEFAULT);
	assert_string_equal(out.policy, "");
	/* a reply judged again at INPUT is the local-out flow it answers */
	fj_note(&r, NULL, &k, JHOOK_LOCAL_IN, false, true, &jr, 43);
	assert_true(fj_pop(&r, &out));
	assert_int_equal(out.path, FJ_PATH_LOCAL_OUT);
	/* audit: would be denied */
	jr.verdict = JV_ACCEPT;
	jr.would_deny = 1;
	fj_note(&r, NULL, &k, JHOOK_FORWARD, false, false, &jr, 44);
	assert_true(fj_pop(&r, &out));
	assert_int_equal(out.deny, 1);
	assert_int_equal(out.path, FJ_PATH_FORWARD);
	/* not noted: nothing decided, or preDNAT / untracked let it go on */
	jr.stage = STAGE_NONE;
	fj_note(&r, NULL, &k, JHOOK_LOCAL_IN, false, false, &jr, 45);
	jr.stage = STAGE_PREDNAT;
	jr.rv.outcome = RS_CONTINUE;
	fj_note(&r, NULL, &k, JHOOK_PRE_ROUTING, false, false, &jr, 46);
	jr.stage = STAGE_UNTRACKED;
	fj_note(&r, NULL, &k, JHOOK_LOCAL_OUT, true, false, &jr, 47);
	assert_false(fj_pop(&r, &out));
	fj_ring_free(&r);
}

/* ---- the thread, the file, rotation, /flows ------------------------------------------ */

static size_t
read_back(const char *path, struct fjr_flows *fl)
{
	FILE *f = fopen(path, "r");
	char why[256];
	size_t before = fl->lines;

	if (f == NULL)
		return 0;
	if (fjr_read(fl, f, path, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	fclose(f);
	return fl->lines - before;
}

static void
test_thread_rotates(void **state)
{
	char dir[] = "/tmp/nfqwall-fj.XXXXXX", path[128], old[140];
	struct fj_journal j;
	struct fj_ring ring, *rings[1] = { &ring };
	struct fj_config cfg = { .node = "node-1", .max_bytes = 65536, .max_flows = 1000,
				 .flush_ms = 20 };
	struct fjr_flows fl;
	struct fj_snap *s;
	struct stat sb;
	char why[256];
	uint64_t total = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/flows.jsonl", dir);
	snprintf(old, sizeof(old), "%s.1", path);
	cfg.path = path;
	assert_int_equal(fj_ring_init(&ring, 10), 0);
	assert_int_equal(fj_journal_start(&j, &cfg, rings, 1, why, sizeof(why)), 0);
	/* 300 flows of about 420 bytes: more than 65536 bytes, so FILE.1 appears */
	for (unsigned i = 0; i < 300; i++) {
		struct fj_rec r = rec_tcp((uint16_t)(1000 + i), 1000 + i);

		while (!fj_push(&ring, &r))
			usleep(1000);
		if (i % 3 == 0)
			assert_true(fj_push(&ring, &r) || true);	/* a second packet, if room */
	}
	for (int tries = 0; tries < 500 && __atomic_load_n(&j.entries, __ATOMIC_RELAXED) < 300;
	     tries++)
		usleep(10000);
	s = fj_snapshot_get(&j);
	assert_non_null(s);
	assert_int_equal(s->flows, 300);
	assert_int_equal(s->omitted, 0);
	assert_ptr_equal(fj_snapshot_get(&j), s);	/* shared while fresh */
	fj_snapshot_put(s);
	fj_snapshot_put(s);
	fj_journal_stop(&j);
	assert_true(j.rotations >= 1);
	assert_int_equal(j.write_errors, 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size <= 65536);
	assert_int_equal(stat(old, &sb), 0);
	assert_true(sb.st_size <= 65536);
	/* whatever rotated away is gone; what is left reads back whole */
	fjr_init(&fl);
	read_back(old, &fl);
	read_back(path, &fl);
	assert_true(fl.n > 0);
	for (size_t i = 0; i < fl.n; i++) {
		assert_int_equal(fl.v[i].path, FJR_PATH_LOCAL_IN);
		assert_true(fl.v[i].dport >= 1000 && fl.v[i].dport < 1300);
		total += fl.v[i].count;
	}
	assert_true(total >= fl.n);
	fjr_free(&fl);
	fj_ring_free(&ring);
	unlink(path);
	unlink(old);
	rmdir(dir);
}

/* /flows stays under FJ_SNAP_MAX: the flows past it are omitted and counted */
static void
test_snapshot_bounded(void **state)
{
	char dir[] = "/tmp/nfqwall-fj.XXXXXX", path[128];
	struct fj_journal j;
	struct fj_ring ring, *rings[1] = { &ring };
	struct fj_config cfg = { .node = "node-1", .max_bytes = 1 << 20, .max_flows = 40000,
				 .flush_ms = 3600000 };
	struct fj_snap *s;
	char why[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/flows.jsonl", dir);
	cfg.path = path;
	assert_int_equal(fj_ring_init(&ring, 2), 0);
	assert_int_equal(fj_journal_start(&j, &cfg, rings, 1, why, sizeof(why)), 0);
	pthread_mutex_lock(&j.lock);	/* as the journal thread would, from its rings */
	for (uint32_t i = 0; i < 40000; i++) {
		struct fj_rec r = rec_tcp((uint16_t)i, i);

		r.iif = i >> 16;
		assert_int_equal(fj_table_add(&j.tab, &r), 0);
	}
	pthread_mutex_unlock(&j.lock);
	s = fj_snapshot_get(&j);
	assert_non_null(s);
	assert_true(s->len <= FJ_SNAP_MAX);
	assert_true(s->omitted > 0);
	assert_int_equal(s->flows + s->omitted, 40000);
	assert_int_equal(s->buf[s->len - 1], '\n');
	fj_snapshot_put(s);
	fj_journal_stop(&j);
	assert_int_equal(j.lines, 40000);	/* the stop flushed them all */
	fj_ring_free(&ring);
	unlink(path);
	snprintf(path, sizeof(path), "%s/flows.jsonl.1", dir);
	unlink(path);
	rmdir(dir);
}

/* FILE.1 cannot be replaced (a directory is there): FILE is truncated, the cap holds */
static void
test_rotate_fails(void **state)
{
	char dir[] = "/tmp/nfqwall-fj.XXXXXX", path[128], old[140], inner[160];
	struct fj_journal j;
	struct fj_ring ring, *rings[1] = { &ring };
	struct fj_config cfg = { .node = "node-1", .max_bytes = 65536, .max_flows = 1000,
				 .flush_ms = 3600000 };
	struct stat sb;
	char why[256];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/flows.jsonl", dir);
	snprintf(old, sizeof(old), "%s.1", path);
	snprintf(inner, sizeof(inner), "%s/x", old);
	assert_int_equal(mkdir(old, 0700), 0);
	f = fopen(inner, "w");
	assert_non_null(f);
	fclose(f);
	cfg.path = path;
	assert_int_equal(fj_ring_init(&ring, 2), 0);
	assert_int_equal(fj_journal_start(&j, &cfg, rings, 1, why, sizeof(why)), 0);
	pthread_mutex_lock(&j.lock);
	for (uint32_t i = 0; i < 1000; i++) {
		struct fj_rec r = rec_tcp((uint16_t)i, i);

		assert_int_equal(fj_table_add(&j.tab, &r), 0);
	}
	pthread_mutex_unlock(&j.lock);
	fj_journal_stop(&j);
	assert_true(j.rotations > 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size > 0 && sb.st_size <= 65536);
	fj_ring_free(&ring);
	unlink(path);
	unlink(inner);
	rmdir(old);
	rmdir(dir);
}

static void
test_start_fails(void **state)
{
	struct fj_journal j;
	struct fj_ring ring, *rings[1] = { &ring };
	struct fj_config cfg = { .path = "/nonexistent-dir/x", .node = "n", .max_bytes = 1 << 20,
				 .max_flows = 10, .flush_ms = 100 };
	char why[256];

	(void)state;
	assert_int_equal(fj_ring_init(&ring, 2), 0);
	assert_int_equal(fj_journal_start(&j, &cfg, rings, 1, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "/nonexistent-dir/x"));
	fj_journal_stop(&j);	/* never started: nothing to do */
	assert_null(fj_snapshot_get(&j));
	fj_ring_free(&ring);
}

/* ---- the reader ------------------------------------------------------------------------ */

static int
parse(const char *line, struct fjr_flow *f, char *why)
{
	return fjr_parse_line(line, strlen(line), f, why, 256);
}

static void
test_parse_good(void **state)
{
	struct fjr_flow f;
	char why[256];

	(void)state;
	assert_int_equal(parse("{\"v\":1,\"proto\":\"udp\",\"src\":\"2001:db8::2\",\"sport\":5353,"
			       "\"dst\":\"2001:db8::1\",\"dport\":53,\"hook\":\"forward\","
			       "\"path\":\"forwarded\",\"iface_in\":\"eth0\",\"iface_out\":\"eth1\","
			       "\"count\":18446744073709551615,\"first\":\"a\",\"last\":\"b\","
			       "\"future\":{\"x\":[1]}}", &f, why), 0);
	assert_int_equal(f.family, AF_INET6);
	assert_int_equal(f.proto, IPPROTO_UDP);
	assert_int_equal(f.flags, PKT_F_PORTS);
	assert_int_equal(f.sport, 5353);
	assert_int_equal(f.dport, 53);
	assert_int_equal(f.path, FJR_PATH_FORWARD);
	assert_string_equal(fjr_hooks[f.hook], "forward");
	assert_true(f.has_in && f.has_out);
	assert_string_equal(f.iface_out, "eth1");
	assert_true(f.count == UINT64_MAX);
	assert_int_equal(parse("{\"v\":1,\"proto\":\"icmp\",\"src\":\"192.0.2.1\",\"dst\":\"192.0.2.2\","
			       "\"icmp_type\":8,\"path\":\"local-out\"}", &f, why), 0);
	assert_int_equal(f.flags, PKT_F_ICMP);
	assert_int_equal(f.icmp_type, 8);
	assert_int_equal(f.count, 1);
	assert_false(f.has_in);
	assert_string_equal(fjr_hooks[f.hook], "output");
	assert_int_equal(parse("{\"v\":1,\"proto\":\"47\",\"src\":\"192.0.2.1\",\"dst\":\"192.0.2.2\","
			       "\"path\":\"local-in\"}", &f, why), 0);
	assert_int_equal(f.proto, 47);
	/* TCP without dport: a later fragment, judged without ports */
	assert_int_equal(parse("{\"v\":1,\"proto\":\"tcp\",\"src\":\"192.0.2.1\",\"dst\":\"192.0.2.2\","
			       "\"dport\":null,\"path\":\"local-in\"}", &f, why), 0);
	assert_int_equal(f.flags, 0);
	/* every name the daemon writes reads back */
	for (unsigned p = 0; p < 256; p++) {
		char line[256];

		snprintf(line, sizeof(line), "{\"v\":1,\"proto\":\"%s\",\"src\":\"192.0.2.1\","
			 "\"dst\":\"192.0.2.2\",\"path\":\"local-in\"%s}",
			 pkt_proto_name((uint8_t)p) ? pkt_proto_name((uint8_t)p) : "0",
			 p == 6 || p == 17 || p == 33 || p == 132 || p == 136 ? ",\"dport\":1" : "");
		if (pkt_proto_name((uint8_t)p) == NULL)
			continue;
		if (parse(line, &f, why) != 0 || f.proto != p)
			fail_msg("%s: %s", line, why);
	}
}

static void
test_parse_bad(void **state)
{
	static const struct {
		const char *line, *why;
	} cases[] = {
		{ "", "not JSON" },
		{ "[1]", "not a JSON object" },
		{ "{\"proto\":\"tcp\"}", "\"v\": missing" },
		{ "{\"v\":2}", "\"v\": a version" },
		{ "{\"v\":1.0}", "\"v\": not a whole number" },
		{ "{\"v\":1,\"proto\":\"tcp\",\"src\":\"192.0.2.1\",\"dport\":1,\"path\":\"local-in\"}",
		  "\"dst\": missing" },
		{ "{\"v\":1,\"proto\":\"bogus\",\"src\":\"1.1.1.1\",\"dst\":\"1.1.1.2\",\"path\":\"local-in\"}",
		  "\"proto\": not a protocol" },
		{ "{\"v\":1,\"proto\":\"256\",\"src\":\"1.1.1.1\",\"dst\":\"1.1.1.2\",\"path\":\"local-in\"}",
		  "\"proto\": not a protocol" },
		{ "{\"v\":1,\"proto\":\"tcp\",\"src\":\"1.1.1.300\",\"dst\":\"1.1.1.2\",\"dport\":1,\"path\":\"local-in\"}",
		  "\"src\": not an IP" },
		{ "{\"v\":1,\"proto\":\"tcp\",\"src\":\"1.1.1.1\",\"dst\":\"::1\",\"dport\":1,\"path\":\"local-in\"}",
		  "\"dst\": not of the IP version" },
		{ "{\"v\":1,\"proto\":\"tcp\",\"src\":\"1.1.1.1\",\"dst\":\"1.1.1.2\",\"dport\":\"22\",\"path\":\"local-in\"}",
		  "\"dport\": not a number" },
		{ "{\"v\":1,\"proto\":\"tcp\",\"src\":\"1.1.1.1\",\"dst\":\"1.1.1.2\",\"dport\":65536,\"path\":\"local-in\"}",
		  "\"dport\": out of range" },
		{ "{\"v\":1,\"proto\":\"tcp\",\"src\":\"1.1.1.1\",\"dst\":\"1.1.1.2\",\"dport\":-1,\"path\":\"local-in\"}",
		  "\"dport\": not a whole number" },
		{ "{\"v\":1,\"proto\":\"icmp\",\"src\":\"1.1.1.1\",\"dst\":\"1.1.1.2\",\"dport\":1,\"path\":\"local-in\"}",
		  "\"dport\": given for a protocol without ports" },
		{ "{\"v\":1,\"proto\":\"icmpv6\",\"src\":\"1.1.1.1\",\"dst\":\"1.1.1.2\",\"icmp_type\":1,\"path\":\"local-in\"}",
		  "\"icmp_type\": given" },
		{ "{\"v\":1,\"proto\":\"tcp\",\"src\":\"1.1.1.1\",\"dst\":\"1.1.1.2\",\"dport\":1,\"path\":\"sideways\"}",
		  "\"path\": not local-in" },
		{ "{\"v\":1,\"proto\":\"tcp\",\"src\":\"1.1.1.1\",\"dst\":\"1.1.1.2\",\"dport\":1,\"path\":\"local-in\",\"hook\":\"x\"}",
		  "\"hook\": not" },
		{ "{\"v\":1,\"proto\":\"tcp\",\"src\":\"1.1.1.1\",\"dst\":\"1.1.1.2\",\"dport\":1,\"path\":\"local-in\",\"iface_in\":\"0123456789abcdef\"}",
		  "\"iface_in\": longer" },
		{ "{\"v\":1,\"proto\":\"tcp\",\"src\":\"1.1.1.1\",\"dst\":\"1.1.1.2\",\"dport\":1,\"path\":\"local-in\",\"count\":\"3\"}",
		  "\"count\": not a number" },
		{ "{\"v\":1,\"proto\":\"tcp\",\"src\":\"1.1.1.1\",\"dst\":\"1.1.1.2\",\"dport\":1,\"path\":\"local-in\",\"count\":18446744073709551616}",
		  "\"count\": out of range" },
		{ "{\"v\":1,\"v\":1}", "not JSON" },
		{ "{\"v\":1,\"x\":[[[[[[1]]]]]]}", "not JSON" },
	};
	struct fjr_flow f;
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		if (parse(cases[i].line, &f, why) != -EINVAL || strstr(why, cases[i].why) == NULL)
			fail_msg("case %zu: %s: got \"%s\", want \"%s\"", i, cases[i].line, why,
				 cases[i].why);
	}
}

static int
read_text(struct fjr_flows *fl, const char *text, char *why)
{
	FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	int err;

	assert_non_null(f);
	err = fjr_read(fl, f, "j.jsonl", why, 256);
	fclose(f);
	return err;
}

#define L80 "{\"v\":1,\"proto\":\"tcp\",\"src\":\"1.1.1.1\",\"dst\":\"1.1.1.2\",\"dport\":80,\"path\":\"local-in\","

static void
test_read_merges(void **state)
{
	struct fjr_flows fl;
	char why[256];

	(void)state;
	fjr_init(&fl);
	assert_int_equal(read_text(&fl,
		L80 "\"sport\":1,\"count\":2,\"first\":\"2026-01-02\",\"last\":\"2026-01-03\"}\n"
		"\n"
		L80 "\"sport\":2,\"count\":5,\"first\":\"2026-01-01\",\"last\":\"2026-01-02\"}\r\n"
		L80 "\"iface_in\":\"eth0\"}\n"
		L80 "\"count\":1}", why), 0);	/* no newline at the end */
	assert_int_equal(fl.lines, 5);
	assert_int_equal(fl.n, 2);
	assert_int_equal(fl.v[0].count, 8);
	assert_int_equal(fl.v[0].sport, 1);
	assert_string_equal(fl.v[0].first, "2026-01-01");
	assert_string_equal(fl.v[0].last, "2026-01-03");
	assert_int_equal(fl.v[1].count, 1);
	assert_string_equal(fl.v[1].iface_in, "eth0");
	/* many distinct flows: the index grows and every flow is still found */
	for (unsigned i = 0; i < 5000; i++) {
		struct fjr_flow f = fl.v[0];

		f.dport = (uint16_t)i;
		f.count = 1;
		assert_int_equal(fjr_add(&fl, &f), 0);
		assert_int_equal(fjr_add(&fl, &f), 0);
	}
	assert_int_equal(fl.n, 5001);	/* port 80 was there already */
	assert_int_equal(fl.v[0].count, 10);
	fjr_free(&fl);
}

static void
test_read_errors(void **state)
{
	struct fjr_flows fl;
	char why[256];
	char *big;

	(void)state;
	fjr_init(&fl);
	assert_int_equal(read_text(&fl, L80 "\"count\":1}\n" L80 "\"count\":1}\n{\"v\":1}\n", why),
			 -EINVAL);
	assert_string_equal(why, "j.jsonl:3: \"proto\": missing");
	fjr_free(&fl);
	fjr_init(&fl);
	big = malloc(FJR_LINE_MAX + 10);
	assert_non_null(big);
	memset(big, ' ', FJR_LINE_MAX + 8);
	big[FJR_LINE_MAX + 8] = '\n';
	big[FJR_LINE_MAX + 9] = '\0';
	assert_int_equal(read_text(&fl, big, why), -EINVAL);
	assert_string_equal(why, "j.jsonl:1: longer than 16383 bytes");
	free(big);
	fjr_free(&fl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_table_aggregates),
		cmocka_unit_test(test_table_cap_and_prune),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_note),
		cmocka_unit_test(test_thread_rotates),
		cmocka_unit_test(test_snapshot_bounded),
		cmocka_unit_test(test_rotate_fails),
		cmocka_unit_test(test_start_fails),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_read_merges),
		cmocka_unit_test(test_read_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
