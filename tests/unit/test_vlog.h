/*
 * test_vlog.h - what the verdict log's tests share (test_vlog.c: the ring,
 * exact lines, the logger thread; test_vlog_json.c: lines that stay valid
 * JSON whatever the names hold): a sample record, a temporary output file,
 * and checks that each line is valid JSON in valid UTF-8 (jsoncheck.h, and
 * Python's strict decoder when python3 is there). Include after <cmocka.h>.
 */
#ifndef NFQWALL_TEST_VLOG_H
#define NFQWALL_TEST_VLOG_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "jsoncheck.h"
#include "verdict.h"
#include "vlog.h"

#define TS_2026	1795395723ull	/* 2026-11-23T01:02:03Z */

static inline void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static inline void
set_addr(struct addr *a, const char *s)
{
	uint8_t family;

	assert_int_equal(addr_parse(s, a, &family), 0);
}

/* A TCP/IPv4 deny by rule 3 of default.deny-ssh in tier default. */
static inline struct vlog_rec
tcp_deny(void)
{
	struct vlog_rec r;

	memset(&r, 0, sizeof(r));
	r.ts_us = TS_2026 * 1000000u + 4;
	r.gen = 7;
	set_addr(&r.src, "10.0.0.1");
	set_addr(&r.dst, "10.0.0.2");
	r.iif = 1;
	r.rule = 3;
	r.sport = 40000;
	r.dport = 22;
	r.len = 60;
	r.queue = 2;
	r.family = AF_INET;
	r.proto = 6;
	r.flags = PKT_F_PORTS;
	r.action = VLOG_DENY;
	r.stage = STAGE_NORMAL;
	r.dir = DIR_INGRESS;
	r.rule_kind = VLOG_RULE_INDEX;
	snprintf(r.tier, sizeof(r.tier), "default");
	snprintf(r.policy, sizeof(r.policy), "default.deny-ssh");
	return r;
}

/* Each line of @path must parse as JSON with the fixed keys in order. */
static inline void
check_json_lines(const char *path, unsigned want_lines)
{
	char cmd[1024];
	FILE *p;
	int rc;
	unsigned got = 0;

	if (system("python3 -c 'import json' >/dev/null 2>&1") != 0) {
		fprintf(stderr, "# python3 not found: JSON syntax not checked\n");
		return;
	}
	snprintf(cmd, sizeof(cmd),
		 "python3 -c '\n"
		 "import json, sys\n"
		 "keys = [\"ts\",\"node\",\"action\",\"stage\",\"direction\",\"iface_in\","
		 "\"iface_out\",\"proto\",\"src\",\"sport\",\"dst\",\"dport\",\"icmp_type\","
		 "\"icmp_code\",\"len\",\"tier\",\"policy\",\"rule\",\"gen\",\"queue\"]\n"
		 "n = 0\n"
		 "for line in open(sys.argv[1], encoding=\"utf-8\", errors=\"strict\"):\n"
		 "    o = json.loads(line)\n"
		 "    k = list(o)\n"
		 "    assert k[:20] == keys, k\n"
		 "    assert k[20:] in ([], [\"suppressed\"]), k\n"
		 "    n += 1\n"
		 "print(n)\n"
		 "' %s", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%u", &got), 1);
	rc = pclose(p);
	assert_int_equal(rc, 0);
	assert_int_equal(got, want_lines);
}

/* @line (with its '\n') is one valid JSON object in valid UTF-8. */
static inline void
assert_json_line(const char *line, size_t n)
{
	assert_true(n > 0 && line[n - 1] == '\n');
	assert_int_equal(strlen(line), n);
	if (!jc_utf8_valid(line, n) || !jc_valid(line, n) || line[0] != '{')
		fail_msg("not a valid JSON line: %s", line);
}

struct out_file {
	char path[32];
	FILE *f;
};

static inline void
out_open(struct out_file *o)
{
	int fd;

	snprintf(o->path, sizeof(o->path), "/tmp/test_vlog_XXXXXX");
	fd = mkstemp(o->path);
	assert_true(fd >= 0);
	o->f = fdopen(fd, "w+");
	assert_non_null(o->f);
}

/* Lines in the output, and the sum of their "suppressed" values. */
static inline unsigned
out_count(struct out_file *o, uint64_t *suppressed)
{
	char line[4096];
	unsigned n = 0;

	*suppressed = 0;
	rewind(o->f);
	while (fgets(line, sizeof(line), o->f) != NULL) {
		const char *s = strstr(line, "\"suppressed\":");

		assert_int_equal(line[strlen(line) - 1], '\n');
		if (s != NULL)
			*suppressed += strtoull(s + 13, NULL, 10);
		n++;
	}
	return n;
}

static inline void
out_close(struct out_file *o)
{
	fclose(o->f);
	unlink(o->path);
}

#endif /* NFQWALL_TEST_VLOG_H */
