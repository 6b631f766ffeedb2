/*
 * test_kstore.c - the Kubernetes object store (control/k8s/kstore.c): add,
 * replace, delete and relist objects, the version and eventfd that wake
 * the control loop, the synced and absent flags, and the growing buffer
 * the API client reads bodies into.
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

#include "kube_int.h"

static int
setup(void **state)
{
	struct kube_store *st = calloc(1, sizeof(*st));

	if (st == NULL || kube_store_init(st) < 0)
		return -1;
	*state = st;
	return 0;
}

static int
teardown(void **state)
{
	struct kube_store *st = *state;

	kube_store_free(st);
	free(st);
	return 0;
}

/* The control loop is woken: the eventfd counts the changes since it was last read. */
static uint64_t
wakeups(struct kube_store *st)
{
	uint64_t n = 0;

	if (read(st->efd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return 0;
	return n;
}

static const char *
json_of(struct kube_store *st, enum kube_kind k, const char *key)
{
	for (size_t i = 0; i < st->kinds[k].n; i++)
		if (strcmp(st->kinds[k].v[i].key, key) == 0)
			return st->kinds[k].v[i].json;
	return NULL;
}

static void
test_upsert_delete(void **state)
{
	struct kube_store *st = *state;
	const char *a = "{\"a\":1}", *b = "{\"b\":2}xx";

	assert_int_equal(kstore_upsert(st, KK_GNP, "p1", a, strlen(a)), 0);
	assert_int_equal(kstore_upsert(st, KK_GNP, "p2", a, strlen(a)), 0);
	assert_int_equal(kstore_upsert(st, KK_GNP, "p1", b, 7), 0);	/* only @n bytes */
	assert_int_equal(st->kinds[KK_GNP].n, 2);
	assert_string_equal(json_of(st, KK_GNP, "p1"), "{\"b\":2}");
	assert_int_equal(st->version, 3);
	assert_int_equal(wakeups(st), 3);
	assert_true(st->kinds[KK_GNP].last_sync_ns > 0);

	kstore_delete(st, KK_GNP, "p1");
	kstore_delete(st, KK_GNP, "absent");
	assert_int_equal(st->kinds[KK_GNP].n, 1);
	assert_null(json_of(st, KK_GNP, "p1"));
	assert_non_null(json_of(st, KK_GNP, "p2"));
	assert_int_equal(st->version, 5);
	assert_int_equal(wakeups(st), 2);

	/* many more: the array grows */
	for (int i = 0; i < 100; i++) {
		char key[16];

		snprintf(key, sizeof(key), "x%d", i);
		assert_int_equal(kstore_upsert(st, KK_HEP, key, a, strlen(a)), 0);
	}
	assert_int_equal(st->kinds[KK_HEP].n, 100);
	assert_string_equal(json_of(st, KK_HEP, "x99"), a);
}

static void
test_replace_synced_absent(void **state)
{
	struct kube_store *st = *state;
	struct kube_obj *v = calloc(2, sizeof(*v));

	assert_non_null(v);
	v[0].key = strdup("n1");
	v[0].json = strdup("{}");
	v[1].key = strdup("n2");
	v[1].json = strdup("{}");
	assert_int_equal(kstore_upsert(st, KK_NODE, "gone", "{}", 2), 0);
	assert_false(kube_store_synced(st));

	kstore_replace(st, KK_NODE, v, 2, false);	/* the relist: "gone" is swept */
	assert_int_equal(st->kinds[KK_NODE].n, 2);
	assert_null(json_of(st, KK_NODE, "gone"));
	assert_true(st->kinds[KK_NODE].synced);
	assert_int_equal(kstore_upsert(st, KK_NODE, "n3", "{}", 2), 0);	/* grows after a relist */
	assert_int_equal(st->kinds[KK_NODE].n, 3);

	/* a kind the API does not serve: synced, empty, and it stays marked absent */
	kstore_replace(st, KK_SGNP, NULL, 0, true);
	assert_true(st->kinds[KK_SGNP].synced);
	assert_true(st->kinds[KK_SGNP].absent);
	kstore_touch(st, KK_SGNP);
	assert_true(st->kinds[KK_SGNP].absent);

	for (int k = 0; k < KK_NKINDS; k++)
		if (!st->kinds[k].synced)
			kstore_replace(st, (enum kube_kind)k, NULL, 0, false);
	assert_true(kube_store_synced(st));
	assert_string_equal(kube_kind_name(KK_SGNP), "StagedGlobalNetworkPolicy");
	assert_string_equal(kube_kind_name(KK_NKINDS), "?");
}

static void
test_buf_append(void **state)
{
	struct kube_buf b = { NULL, 0, 0 };

	(void)state;
	assert_int_equal(kube_buf_append(&b, "abc", 3), 0);
	assert_int_equal(kube_buf_append(&b, "", 0), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(kube_buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(b.n, 10003);
	assert_int_equal(b.p[b.n], '\0');
	assert_memory_equal(b.p, "abc0123", 7);
	free(b.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_upsert_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_synced_absent, setup, teardown),
		cmocka_unit_test(test_buf_append),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
