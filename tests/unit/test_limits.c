/*
 * test_limits.c - the policy loader's limits (struct polset_limits): their
 * defaults, setting them from option text, each one applied at its bound
 * (one under loads, one over is an error naming the option), and reading
 * only regular files (control/util/readfile.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "readfile.h"
#include "test_policy.h"

/* ---- setting limits ---------------------------------------------------------------- */

static void
test_defaults(void **state)
{
	struct polset ps;

	(void)state;
	assert_int_equal(polset_limits_default.max_file_bytes, 32u << 20);
	assert_int_equal(polset_limits_default.max_object_bytes, 3u << 20);
	assert_int_equal(polset_limits_default.max_nodes, 1000000);
	assert_int_equal(polset_limits_default.max_objects, 100000);
	assert_int_equal(polset_limits_default.max_depth, 64);
	polset_init(&ps);
	assert_memory_equal(&ps.limits, &polset_limits_default, sizeof(ps.limits));
	/* polset_free keeps the limits a caller set */
	ps.limits.max_depth = 7;
	polset_free(&ps);
	assert_int_equal(ps.limits.max_depth, 7);
	polset_free(&ps);
}

static void
test_set(void **state)
{
	struct polset_limits l = polset_limits_default;
	char why[160];

	(void)state;
	assert_int_equal(polset_limits_set(&l, "max-file-bytes", "64M", why, sizeof(why)), 0);
	assert_int_equal(l.max_file_bytes, 64u << 20);
	assert_int_equal(polset_limits_set(&l, "max-object-bytes", "1536K", why, sizeof(why)), 0);
	assert_int_equal(l.max_object_bytes, 1536u << 10);
	assert_int_equal(polset_limits_set(&l, "max-object-bytes", "1G", why, sizeof(why)), 0);
	assert_int_equal(l.max_object_bytes, 1u << 30);
	assert_int_equal(polset_limits_set(&l, "max-nodes", "12345", why, sizeof(why)), 0);
	assert_int_equal(l.max_nodes, 12345);
	assert_int_equal(polset_limits_set(&l, "max-objects", "1", why, sizeof(why)), 0);
	assert_int_equal(l.max_objects, 1);
	assert_int_equal(polset_limits_set(&l, "max-depth", "1000", why, sizeof(why)), 0);
	assert_int_equal(l.max_depth, 1000);

	/* refused, and l left as it was */
	static const struct {
		const char *name, *value;
		int rc;
	} bad[] = {
		{ "max-depth", "1001", -EINVAL }, { "max-depth", "0", -EINVAL },
		{ "max-depth", "8K", -EINVAL }, { "max-nodes", "-1", -EINVAL },
		{ "max-nodes", "1e6", -EINVAL }, { "max-file-bytes", "2G", -EINVAL },
		{ "max-file-bytes", "1KB", -EINVAL }, { "max-file-bytes", "", -EINVAL },
		{ "max-file-bytes", "99999999999999999999999", -EINVAL },
		{ "max-file-bytes", "18014398509481984K", -EINVAL },
		{ "max-objects", " 5", -EINVAL }, { "max-bytes", "5", -ENOENT },
	};
	struct polset_limits before = l;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why[0] = '\0';
		assert_int_equal(polset_limits_set(&l, bad[i].name, bad[i].value, why, sizeof(why)),
				 bad[i].rc);
		assert_true(why[0] != '\0');
	}
	assert_memory_equal(&l, &before, sizeof(l));
	assert_int_equal(polset_limits_set(&l, "max-depth", "x", why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "--max-depth: 'x' is not a number from 1 to 1000");

	/* by getopt value, as the command lines use it */
	assert_int_equal(polset_limits_option(&l, POLSET_OPT_LIMIT + 2, "77", why, sizeof(why)), 0);
	assert_int_equal(l.max_nodes, 77);
	assert_int_equal(polset_limits_option(&l, POLSET_OPT_LIMIT + 4, "9", why, sizeof(why)), 0);
	assert_int_equal(l.max_depth, 9);
	assert_int_equal(polset_limits_option(&l, POLSET_OPT_LIMIT + 5, "9", why, sizeof(why)),
			 -ENOENT);
	assert_int_equal(polset_limits_option(&l, 'n', "9", why, sizeof(why)), -ENOENT);
	/* --allow-unknown-fields rides with the limits, so every loader has it */
	assert_false(l.allow_unknown_fields);
	assert_int_equal(polset_limits_option(&l, POLSET_OPT_ALLOW_UNKNOWN, NULL, why, sizeof(why)),
			 0);
	assert_true(l.allow_unknown_fields);
	for (int i = 0; i < POLSET_NLIMITS; i++)
		assert_int_equal(polset_limits_option(&l, POLSET_OPT_LIMIT + i, "1", why,
						      sizeof(why)), 0);
	assert_int_equal(l.max_file_bytes + l.max_object_bytes + l.max_nodes + l.max_objects +
			 l.max_depth, 5);
}

/* ---- each limit at its bound ---------------------------------------------------------- */

/* Load @text with one limit changed; the number of errors, and a message part of the first. */
static void
load_with(const char *name, const char *value, const char *text, size_t nerr, const char *part)
{
	struct polset ps;
	char why[160];

	polset_init(&ps);
	assert_int_equal(polset_limits_set(&ps.limits, name, value, why, sizeof(why)), 0);
	polset_load_buffer(&ps, FILE_NAME, text, strlen(text));
	if (ps.diags.nerr != nerr)
		print_diags(&ps);
	assert_int_equal(ps.diags.nerr, nerr);
	if (part != NULL) {
		char buf[1024];

		diag_format(nth_diag(&ps, DIAG_ERROR, 0), buf, sizeof(buf));
		if (strstr(buf, part) == NULL)
			fail_msg("\"%s\" lacks \"%s\"", buf, part);
	}
	polset_free(&ps);
}

#define NETSET(name) \
	"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\n" \
	"metadata: {name: " name "}\nspec: {nets: [10.0.0.0/8]}\n"

static void
test_each_limit(void **state)
{
	static const char three[] = NETSET("a") NETSET("b") NETSET("c");
	static const char list[] = "kind: List\nitems:\n- {kind: List, items: [{kind: X}]}\n";
	size_t one = strlen(NETSET("a")) - 4;	/* the object, without "---\n" */
	char n[32], msg[200];

	(void)state;
	load_with("max-objects", "3", three, 0, NULL);
	load_with("max-objects", "2", three, 1, "name.yaml:12:1: error: more than 2 objects in "
		  "this file, List items included: the limit (--max-objects)");
	/* a List and the Lists in it are objects too */
	load_with("max-objects", "3", list, 0, NULL);
	load_with("max-objects", "2", list, 1, "(--max-objects)");

	snprintf(n, sizeof(n), "%zu", one);
	load_with("max-object-bytes", n, three, 0, NULL);
	snprintf(n, sizeof(n), "%zu", one - 1);
	snprintf(msg, sizeof(msg), "name.yaml:2:1: error: GlobalNetworkSet/a: the object is %zu "
		 "bytes, more than %zu: the limit (--max-object-bytes)", one, one - 1);
	load_with("max-object-bytes", n, three, 3, msg);
	/* a List is no object of its own: only its items count */
	load_with("max-object-bytes", "20", list, 0, NULL);

	snprintf(n, sizeof(n), "%zu", strlen(three));
	load_with("max-file-bytes", n, three, 0, NULL);
	snprintf(n, sizeof(n), "%zu", strlen(three) - 1);
	snprintf(msg, sizeof(msg), "name.yaml: error: not read: %zu bytes, more than %zu: the "
		 "limit (--max-file-bytes)", strlen(three), strlen(three) - 1);
	load_with("max-file-bytes", n, three, 1, msg);

	/* 3 documents x 9 nodes (mapping, 3 pairs, the metadata and spec maps, ...) */
	load_with("max-nodes", "42", three, 0, NULL);
	load_with("max-nodes", "41", three, 1, "name.yaml:15:15: error: more than 41 YAML nodes, "
		  "counting an alias as the nodes it names: the limit (--max-nodes)");

	/* a document is 3 levels deep: the object, spec, nets */
	load_with("max-depth", "3", three, 0, NULL);
	load_with("max-depth", "2", three, 1, "name.yaml:5:14: error: nested deeper than 2 "
		  "levels: the limit (--max-depth)");
}

/* Aliases are fine in moderation, and counted as the nodes they name. */
static void
test_aliases_counted(void **state)
{
	static const char text[] =
		"kind: List\n"
		"items:\n"
		"- &n {apiVersion: projectcalico.org/v3, kind: GlobalNetworkSet, "
		"metadata: {name: a}, spec: {nets: [10.0.0.0/8]}}\n"
		"- *n\n"
		"- *n\n";
	struct polset ps;

	(void)state;
	/* the List: 5 nodes; the object: 14; each alias: 14 more */
	load(&ps, text);
	assert_int_equal(ps.diags.nerr, 0);
	assert_int_equal(ps.nnetsets, 1);	/* defined three times: replaced twice */
	assert_int_equal(ps.diags.nwarn, 2);
	polset_free(&ps);
	load_with("max-nodes", "47", text, 0, NULL);
	load_with("max-nodes", "46", text, 1, "name.yaml:5:3: error: more than 46 YAML nodes");
}

/* ---- regular files only -------------------------------------------------------------- */

static void
test_readfile(void **state)
{
	char dir[] = "/tmp/nfqwall-limits-XXXXXX", path[80], link_path[80];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	mode_t mode;
	char *buf;
	FILE *f;
	int s;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("a: 1\n", f);
	fclose(f);
	assert_int_equal(readfile_regular(path, 5, &buf, &len, &mode), 0);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "a: 1\n");
	free(buf);
	assert_int_equal(readfile_regular(path, 4, &buf, &len, &mode), -EFBIG);
	assert_null(buf);
	assert_int_equal(len, 5);
	/* an empty file is a file */
	assert_int_equal(readfile_regular("/dev/null", 10, &buf, &len, &mode), -EINVAL);
	assert_true(S_ISCHR(mode));
	assert_string_equal(readfile_type_name(mode), "a character device");
	assert_int_equal(readfile_regular(dir, 10, &buf, &len, &mode), -EINVAL);
	assert_string_equal(readfile_type_name(mode), "a directory");
	/* symbolic links are followed */
	snprintf(link_path, sizeof(link_path), "%s/l.yaml", dir);
	assert_int_equal(symlink("f.yaml", link_path), 0);
	assert_int_equal(readfile_regular(link_path, 10, &buf, &len, &mode), 0);
	free(buf);
	unlink(link_path);
	assert_int_equal(symlink("/dev/zero", link_path), 0);
	assert_int_equal(readfile_regular(link_path, 10, &buf, &len, &mode), -EINVAL);
	unlink(link_path);
	/* a socket */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s.yaml", dir);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(readfile_regular(sa.sun_path, 10, &buf, &len, &mode), -EINVAL);
	assert_string_equal(readfile_type_name(mode), "a socket");
	close(s);
	unlink(sa.sun_path);
	/* missing */
	assert_int_equal(readfile_regular(link_path, 10, &buf, &len, &mode), -ENOENT);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_each_limit),
		cmocka_unit_test(test_aliases_counted),
		cmocka_unit_test(test_readfile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
