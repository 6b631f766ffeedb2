/*
 * test_kstore.c - the Kubernetes object store (control/k8s/kstore.c): add,
 * replace, delete and relist objects, the version and eventfd that wake
 * the control loop, the synced and absent flags, the Pods' change log, the keys and copies made
 * of API objects, the growing buffer the API client reads bodies into (and
 * its limit), and the tokens and escaping that go into URLs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
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

	/* the same text again (a heartbeat that left the digest as it was): no change */
	assert_int_equal(kstore_upsert(st, KK_GNP, "p2", a, strlen(a)), 0);
	assert_int_equal(st->version, 3);
	assert_int_equal(wakeups(st), 0);

	kstore_delete(st, KK_GNP, "p1");
	kstore_delete(st, KK_GNP, "absent");	/* nothing changed: no reload for it */
	assert_int_equal(st->kinds[KK_GNP].n, 1);
	assert_null(json_of(st, KK_GNP, "p1"));
	assert_non_null(json_of(st, KK_GNP, "p2"));
	assert_int_equal(st->version, 4);
	assert_int_equal(wakeups(st), 1);

	/* many more: the array grows */
	for (int i = 0; i < 100; i++) {
		char key[16];

		snprintf(key, sizeof(key), "x%d", i);
		assert_int_equal(kstore_upsert(st, KK_HEP, key, a, strlen(a)), 0);
	}
	assert_int_equal(st->kinds[KK_HEP].n, 100);
	assert_string_equal(json_of(st, KK_HEP, "x99"), a);
}

/* After a list the kind is found by its index: deletes move the last object into the
 * hole, upserts after them replace or add, and nothing is ever stored twice. */
static void
test_index(void **state)
{
	struct kube_store *st = *state;
	struct kube_obj *v = calloc(1000, sizeof(*v));
	char key[32], json[64];

	assert_non_null(v);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "ns/p%d", i);
		snprintf(json, sizeof(json), "{\"v\":%d}", i);
		v[i].key = strdup(key);
		v[i].json = strdup(json);
	}
	kstore_replace(st, KK_POD, v, 1000, false);
	assert_true(st->kinds[KK_POD].index_ok);
	for (int i = 0; i < 1000; i += 3) {	/* a third goes, from everywhere */
		snprintf(key, sizeof(key), "ns/p%d", i);
		kstore_delete(st, KK_POD, key);
	}
	for (int i = 0; i < 1000; i += 2) {	/* half again: some replace, some come back */
		snprintf(key, sizeof(key), "ns/p%d", i);
		snprintf(json, sizeof(json), "{\"w\":%d}", i);
		assert_int_equal(kstore_upsert(st, KK_POD, key, json, strlen(json)), 0);
	}
	for (int i = 0; i < 1000; i++) {
		const char *got;

		snprintf(key, sizeof(key), "ns/p%d", i);
		got = json_of(st, KK_POD, key);
		if (i % 2 == 0) {
			snprintf(json, sizeof(json), "{\"w\":%d}", i);
			assert_non_null(got);
			assert_string_equal(got, json);
		} else if (i % 3 == 0) {
			assert_null(got);
		} else {
			snprintf(json, sizeof(json), "{\"v\":%d}", i);
			assert_string_equal(got, json);
		}
	}
	/* 1000 - 334 deleted + 167 even ones that came back (multiples of 6) */
	assert_int_equal(st->kinds[KK_POD].n, 1000 - 334 + 167);
	assert_int_equal(st->kinds[KK_POD].index.n, st->kinds[KK_POD].n);

	/* a relist that finds what the store holds (in another order) changes nothing */
	{
		size_t n = st->kinds[KK_POD].n;
		struct kube_obj *same = calloc(n, sizeof(*same));
		uint64_t v0 = st->version;

		assert_non_null(same);
		for (size_t i = 0; i < n; i++) {
			same[i].key = strdup(st->kinds[KK_POD].v[n - 1 - i].key);
			same[i].json = strdup(st->kinds[KK_POD].v[n - 1 - i].json);
		}
		kstore_replace(st, KK_POD, same, n, false);
		assert_int_equal(st->version, v0);
		/* one object different: a change */
		same = calloc(n, sizeof(*same));
		assert_non_null(same);
		for (size_t i = 0; i < n; i++) {
			same[i].key = strdup(st->kinds[KK_POD].v[i].key);
			same[i].json = strdup(i == 7 ? "{\"x\":1}" : st->kinds[KK_POD].v[i].json);
		}
		kstore_replace(st, KK_POD, same, n, false);
		assert_int_equal(st->version, v0 + 1);
	}
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
	struct kube_buf b = { .max = 0 }, lim = { .max = 25 };

	(void)state;
	assert_int_equal(kube_buf_append(&b, "abc", 3), 0);
	assert_int_equal(kube_buf_append(&b, "", 0), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(kube_buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(b.n, 10003);
	assert_int_equal(b.p[b.n], '\0');
	assert_memory_equal(b.p, "abc0123", 7);
	free(b.p);

	/* a limit: up to max bytes, never more than max + 1 allocated, unchanged when refused */
	assert_int_equal(kube_buf_append(&lim, "0123456789", 10), 0);
	assert_int_equal(kube_buf_append(&lim, "0123456789", 10), 0);
	assert_int_equal(kube_buf_append(&lim, "0123456789", 10), -EMSGSIZE);
	assert_int_equal(kube_buf_append(&lim, "01234", 5), 0);
	assert_int_equal(kube_buf_append(&lim, "x", 1), -EMSGSIZE);
	assert_int_equal(lim.n, 25);
	assert_true(lim.cap <= 26);
	assert_int_equal(lim.p[25], '\0');
	assert_int_equal(kube_buf_append(&lim, "x", (size_t)-1), -EMSGSIZE);
	free(lim.p);
}

static void
test_tokens_and_escape(void **state)
{
	struct jspan doc = { "{\"s\":\"a\\u00e9b\",\"n\":5,\"long\":\"0123456789\"}", 0 };
	char buf[8], out[32];

	(void)state;
	doc.n = strlen(doc.p);
	assert_int_equal(kube_token(jscan_get(doc, "s"), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a\xc3\xa9" "b");
	assert_int_equal(kube_token(jscan_get(doc, "absent"), buf, sizeof(buf)), -ENOENT);
	assert_string_equal(buf, "");
	assert_int_equal(kube_token(jscan_get(doc, "n"), buf, sizeof(buf)), -EINVAL);
	assert_string_equal(buf, "");
	/* too long: refused and emptied, never a shorter token */
	assert_int_equal(kube_token(jscan_get(doc, "long"), buf, sizeof(buf)), -EINVAL);
	assert_string_equal(buf, "");

	assert_int_equal(kube_escape("Az09-._~", out, sizeof(out)), 0);
	assert_string_equal(out, "Az09-._~");
	assert_int_equal(kube_escape("a&b=c d/%", out, sizeof(out)), 0);
	assert_string_equal(out, "a%26b%3Dc%20d%2F%25");
	assert_int_equal(kube_escape("a&b=c d/%", out, 20), 0);		/* 19 and the NUL */
	assert_int_equal(kube_escape("a&b=c d/%", out, 19), -ENAMETOOLONG);
	assert_string_equal(out, "");
	assert_int_equal(kube_escape("\xff\n", out, sizeof(out)), 0);
	assert_string_equal(out, "%FF%0A");
	assert_int_equal(kube_escape("", out, 1), 0);
	assert_int_equal(kube_escape("a", out, 1), -ENAMETOOLONG);
}

static void
test_obj_make(void **state)
{
	static const char *good = "{\"metadata\":{\"name\":\"n1\",\"namespace\":\"ns\"},\"spec\":{}}";
	struct jspan item = { good, strlen(good) };
	struct kube_obj o;
	char key[KUBE_KEY_MAX], big[400];

	(void)state;
	assert_int_equal(kstore_obj_make(item, KK_NS, "crd.projectcalico.org/v1", &o), 0);
	assert_string_equal(o.key, "ns/n1");
	assert_string_equal(o.json, "{\"apiVersion\":\"crd.projectcalico.org/v1\",\"kind\":"
			    "\"NetworkSet\",\"metadata\":{\"name\":\"n1\",\"namespace\":\"ns\"},"
			    "\"spec\":{}}");
	free(o.key);
	free(o.json);

	item.p = "{\"kind\":\"Node\",\"metadata\":{\"name\":\"node-1\"}}  ";
	item.n = strlen(item.p) - 2;
	assert_int_equal(kstore_obj_make(item, KK_NODE, "v1", &o), 0);
	assert_string_equal(o.key, "node-1");
	assert_string_equal(o.json, "{\"name\":\"node-1\",\"labels\":{},\"ips\":[],\"ifaces\":[]}");
	free(o.key);
	free(o.json);

	item.p = "{\"metadata\":{}}";
	item.n = strlen(item.p);
	assert_int_equal(kstore_obj_make(item, KK_GNP, "v", &o), -ENOENT);
	assert_null(o.key);
	item.p = "{\"metadata\":{\"name\":\"a\",\"namespace\":7}}";
	item.n = strlen(item.p);
	assert_int_equal(kstore_obj_key(item, key, sizeof(key)), -EINVAL);
	assert_int_equal(kstore_obj_make(item, KK_GNP, "v", &o), -EINVAL);
	assert_null(o.json);
	snprintf(big, sizeof(big), "{\"metadata\":{\"name\":\"%0300d\"}}", 7);
	item.p = big;
	item.n = strlen(big);
	assert_int_equal(kstore_obj_key(item, key, sizeof(key)), -EINVAL);
	assert_string_equal(key, "");
	snprintf(big, sizeof(big), "{\"metadata\":{\"name\":\"%0253d\",\"namespace\":\"%063d\"}}",
		 7, 8);
	item.n = strlen(big);
	assert_int_equal(kstore_obj_key(item, key, sizeof(key)), 0);
	assert_int_equal(strlen(key), 253 + 1 + 63);
}

/* The keys the log holds since @pos, joined by spaces ("-" when it cannot say). */
static const char *
log_text(const struct kube_kind_state *ks, uint64_t pos)
{
	static char out[256];
	char *const *keys;
	size_t n, o = 0;

	if (!kube_log_since(ks, pos, &keys, &n))
		return "-";
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", i ? " " : "", keys[i]);
	return out;
}

/* Pods keep a change log: what a reload reads instead of every pod. */
static void
test_change_log(void **state)
{
	struct kube_store *st = *state;
	struct kube_kind_state *ks = &st->kinds[KK_POD];
	struct kube_obj *v;
	uint64_t pos;

	assert_false(st->kinds[KK_NODE].logged);	/* only the Pods keep one */
	assert_int_equal(kstore_upsert(st, KK_NODE, "n1", "{}", 2), 0);
	assert_string_equal(log_text(&st->kinds[KK_NODE], 0), "-");

	pos = kube_log_end(ks);
	assert_string_equal(log_text(ks, pos), "");
	assert_int_equal(kstore_upsert(st, KK_POD, "a/p1", "{\"x\":1}", 7), 0);
	assert_int_equal(kstore_upsert(st, KK_POD, "a/p2", "{\"x\":1}", 7), 0);
	assert_int_equal(kstore_upsert(st, KK_POD, "a/p1", "{\"x\":1}", 7), 0);	/* same text */
	assert_int_equal(kstore_upsert(st, KK_POD, "a/p1", "{\"x\":2}", 7), 0);
	kstore_delete(st, KK_POD, "a/p2");
	kstore_delete(st, KK_POD, "a/gone");		/* never stored: no change */
	assert_string_equal(log_text(ks, pos), "a/p1 a/p2 a/p1 a/p2");
	assert_non_null(kube_store_get(ks, "a/p1"));
	assert_null(kube_store_get(ks, "a/p2"));

	/* a reader that read two entries sees the rest; trimmed, the old position is gone */
	assert_string_equal(log_text(ks, pos + 2), "a/p1 a/p2");
	kube_log_trim(ks, pos + 2);
	assert_string_equal(log_text(ks, pos), "-");
	assert_string_equal(log_text(ks, pos + 2), "a/p1 a/p2");
	assert_string_equal(log_text(ks, kube_log_end(ks) + 1), "-");	/* not of this store */

	/* a relist that changed something: every reader reads it all */
	pos = kube_log_end(ks);
	v = calloc(1, sizeof(*v));
	assert_non_null(v);
	v[0].key = strdup("a/p3");
	v[0].json = strdup("{}");
	kstore_replace(st, KK_POD, v, 1, false);
	assert_string_equal(log_text(ks, pos), "-");
	pos = kube_log_end(ks);
	assert_string_equal(log_text(ks, pos), "");

	/* too long a log is dropped */
	for (int i = 0; i <= KUBE_LOG_MAX; i++) {
		char key[32];

		snprintf(key, sizeof(key), "a/q%d", i);
		assert_int_equal(kstore_upsert(st, KK_POD, key, "{}", 2), 0);
	}
	assert_string_equal(log_text(ks, pos), "-");
	assert_true(ks->nlog <= KUBE_LOG_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_upsert_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_synced_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_log, setup, teardown),
		cmocka_unit_test(test_buf_append),
		cmocka_unit_test(test_tokens_and_escape),
		cmocka_unit_test(test_obj_make),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
