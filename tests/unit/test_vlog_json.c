/*
 * test_vlog_json.c - verdict-log lines are valid JSON in valid UTF-8 whatever
 * the names hold (issue 8, defect 7): control characters, overlong forms,
 * surrogates, truncated sequences, bytes 0x80-0xff, a name cut inside a
 * character by the worker's copy, fields full to their last byte; the
 * longest names nfqwall accepts (253 bytes, policy names with their tier
 * prefix included) come out whole; longer ones are cut between characters
 * by vlog_rec_names. Each line is checked by jsoncheck.h and, when python3
 * is there, by Python's strict UTF-8 decoder and json module with the fixed
 * key order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_vlog.h"

static void
test_format_is_json(void **state)
{
	char path[] = "/tmp/test_vlog_XXXXXX", buf[2048];
	struct vlog_rec r = tcp_deny();
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	for (int i = 0; i < 6; i++) {
		r.action = (uint8_t)(i % 4);
		r.rule_kind = (uint8_t)(i % 5);
		r.flags = i % 2 ? PKT_F_ICMP : PKT_F_PORTS;
		r.proto = (uint8_t)(i * 50);
		snprintf(r.policy, sizeof(r.policy), "p\"%d\\\t\x01", i);
		vlog_format(&r, i % 2 ? "n\x7f" : NULL, (uint64_t)i, buf, sizeof(buf));
		fputs(buf, f);
	}
	assert_int_equal(fclose(f), 0);
	check_json_lines(path, 6);
	unlink(path);
}

/* @src into a record field as the worker's snprintf(dst, size, "%s", src) puts it:
 * cut at size - 1 bytes, wherever that falls. */
static void
field_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* A 253-byte name: @prefix, then a-z repeated. */
static void
long_name(char *out, const char *prefix)
{
	size_t i = strlen(prefix);

	memcpy(out, prefix, i);
	for (; i < 253; i++)
		out[i] = (char)('a' + i % 26);
	out[253] = '\0';
}

/* The longest names nfqwall logs (253 bytes: a Tier's name; a policy's, with its
 * "<tier>." prefix) come out whole, as the worker copies them in. */
static void
test_format_long_names(void **state)
{
	struct vlog_rec r = tcp_deny();
	char tier[254], policy[254], want[600], buf[4096];
	size_t n;

	(void)state;
	r.iif = 0;
	long_name(tier, "");
	long_name(policy, "security-tier.");
	field_copy(r.tier, sizeof(r.tier), tier);
	field_copy(r.policy, sizeof(r.policy), policy);
	n = vlog_format(&r, "node-1", 0, buf, sizeof(buf));
	assert_true(n < sizeof(buf));
	assert_json_line(buf, n);
	snprintf(want, sizeof(want), ",\"tier\":\"%s\",\"policy\":\"%s\",", tier, policy);
	assert_non_null(strstr(buf, want));
}

/* Names that are not valid UTF-8, or hold control characters, still give valid JSON. */
static void
test_format_invalid_utf8(void **state)
{
	static const char *const names[] = {
		"\xc0\xaf-overlong",
		"\xe0\x80\xaf\xf0\x80\x80\xaf",
		"surrogate-\xed\xa0\x80\xed\xbf\xbf",
		"high-\xf4\x90\x80\x80\xf5\xff",
		"cut-\xe2\x82",
		"cut-\xf0\x9f\x98",
		"\x80\x81\x90\xa0\xbf\xfe\xff",
		"ctl-\x01\x1b[2J\x7f\xc2\x9b\n\r\t\"\\",
		"ok-caf\xc3\xa9-\xf0\x9f\x98\x80",
	};
	char path[] = "/tmp/test_vlog_XXXXXX", buf[4096];
	struct vlog_rec r = tcp_deny();
	int fd = mkstemp(path);
	unsigned lines = 0;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	r.iif = 0;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		size_t n;

		snprintf(r.tier, sizeof(r.tier), "%s", names[i]);
		snprintf(r.policy, sizeof(r.policy), "p-%s", names[(i + 1) % ARRAY_SIZE(names)]);
		n = vlog_format(&r, names[(i + 2) % ARRAY_SIZE(names)], 0, buf, sizeof(buf));
		assert_true(n < sizeof(buf));
		assert_json_line(buf, n);
		fputs(buf, f);
		lines++;
	}
	/* a name cut inside a character, as a plain snprintf into the field cuts it */
	{
		char big[600];
		size_t n;

		for (size_t i = 0; i + 2 < sizeof(big); i += 2)
			memcpy(big + i, "\xc3\xa9", 2);
		big[sizeof(big) - 2] = '\0';
		field_copy(r.tier, sizeof(r.tier), big);
		big[0] = 'x';		/* and a stray continuation byte first */
		field_copy(r.policy, sizeof(r.policy), big);
		n = vlog_format(&r, "n1", 0, buf, sizeof(buf));
		assert_json_line(buf, n);
		fputs(buf, f);
		lines++;
	}
	/* fields full to the last byte, without a NUL, of bytes 0x80-0xff */
	for (size_t i = 0; i < sizeof(r.tier); i++)
		r.tier[i] = (char)(0x80 + i % 128);
	memset(r.policy, 0xff, sizeof(r.policy));
	{
		size_t n = vlog_format(&r, "n1", 0, buf, sizeof(buf));

		assert_json_line(buf, n);
		fputs(buf, f);
		lines++;
	}
	assert_int_equal(fclose(f), 0);
	check_json_lines(path, lines);
	unlink(path);
}

/* vlog_rec_names keeps 253-byte names whole and cuts longer ones between characters. */
static void
test_rec_names(void **state)
{
	struct vlog_rec r;
	char name[254], big[700];
	size_t n;

	(void)state;
	memset(&r, 0x55, sizeof(r));
	long_name(name, "tier-x.");
	vlog_rec_names(&r, "tier-x", name);
	assert_string_equal(r.tier, "tier-x");
	assert_string_equal(r.policy, name);
	vlog_rec_names(&r, NULL, "");
	assert_string_equal(r.tier, "");
	assert_string_equal(r.policy, "");

	/* 255 bytes fit; 256 do not: cut, with an ellipsis */
	memset(big, 'a', 255);
	big[255] = '\0';
	vlog_rec_names(&r, big, big);
	assert_int_equal(strlen(r.tier), 255);
	big[255] = 'b';
	big[256] = '\0';
	vlog_rec_names(&r, big, NULL);
	assert_int_equal(strlen(r.tier), 255);
	assert_memory_equal(r.tier, big, 252);
	assert_string_equal(r.tier + 252, "\xe2\x80\xa6");

	/* never inside a character, whatever its length */
	for (size_t w = 2; w <= 4; w++) {
		static const char *const ch[] = { NULL, NULL, "\xc3\xa9", "\xe2\x82\xac",
						  "\xf0\x9f\x98\x80" };

		for (size_t shift = 0; shift < w; shift++) {
			memset(big, 'a', shift);
			for (n = shift; n + w < sizeof(big); n += w)
				memcpy(big + n, ch[w], w);
			big[n] = '\0';
			vlog_rec_names(&r, big, big);
			n = strlen(r.policy);
			assert_true(n <= sizeof(r.policy) - 1 && n >= sizeof(r.policy) - 1 - 3);
			assert_true(jc_utf8_valid(r.policy, n));
			assert_string_equal(r.policy + n - 3, "\xe2\x80\xa6");
			assert_memory_equal(r.policy, big, n - 3);
		}
	}
}

/* Through the logger thread, lines of records with hostile names are valid JSON. */
static void
test_logger_hostile_names(void **state)
{
	struct vlog_config cfg = { .node = "n\x1b[1m\xff", .rate = 0, .burst = 0 };
	struct vlog_logger lg;
	struct vlog_ring r, *rings[1] = { &r };
	struct vlog_rec rec = tcp_deny();
	struct out_file o;
	char line[8192];
	uint64_t sup;

	(void)state;
	out_open(&o);
	cfg.out = o.f;
	assert_int_equal(vlog_ring_init(&r, 8), 0);
	for (int i = 0; i < 200; i++) {
		for (size_t k = 0; k < sizeof(rec.tier); k++)
			rec.tier[k] = (char)(0x80 + (i * 7 + (int)k) % 128);
		rec.tier[sizeof(rec.tier) - 1 - (size_t)i % 5] = '\0';
		memset(rec.policy, 0, sizeof(rec.policy));
		snprintf(rec.policy, sizeof(rec.policy), "p%d-\xed\xa0\x80\x01\xc3", i);
		assert_true(vlog_push(&r, &rec));
	}
	assert_int_equal(vlog_logger_start(&lg, &cfg, rings, 1), 0);
	vlog_logger_stop(&lg);
	assert_int_equal(out_count(&o, &sup), 200);
	rewind(o.f);
	while (fgets(line, sizeof(line), o.f) != NULL)
		assert_json_line(line, strlen(line));
	check_json_lines(o.path, 200);
	vlog_ring_free(&r);
	out_close(&o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_is_json),
		cmocka_unit_test(test_format_long_names),
		cmocka_unit_test(test_format_invalid_utf8),
		cmocka_unit_test(test_rec_names),
		cmocka_unit_test(test_logger_hostile_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
