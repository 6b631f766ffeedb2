/*
 * test_watch.c - the watch stream decoder (control/k8s/watch.c): a stream
 * of events gives the same store whatever its chunking (every split point,
 * every byte alone, three pieces); an event longer than the limit ends the
 * watch whatever the chunking, at the same event, and with bounded memory;
 * an endless line is refused in linear time; ERROR, BOOKMARK and malformed
 * events end or go on as the reflector expects.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube_int.h"

#define API "crd.projectcalico.org/v1"

static const char stream[] =
	"{\"type\":\"ADDED\",\"object\":{\"apiVersion\":\"crd.projectcalico.org/v1\","
	"\"kind\":\"GlobalNetworkPolicy\",\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"11\"},"
	"\"spec\":{\"order\":1}}}\n"
	"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"b\",\"namespace\":\"ns1\","
	"\"resourceVersion\":\"12\"},\"spec\":{\"x\":\"line\\nbreak \\u00e9\"}}}\n"
	"\n"
	"{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"GlobalNetworkPolicy\",\"metadata\":"
	"{\"name\":\"a\",\"resourceVersion\":\"13\"},\"spec\":{\"order\":2}}}\n"
	"{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"GlobalNetworkPolicy\",\"metadata\":"
	"{\"resourceVersion\":\"20\"}}}\n"
	"{\"type\":\"ADDED\",\"object\":{\"kind\":\"GlobalNetworkPolicy\",\"metadata\":"
	"{\"name\":\"c\",\"resourceVersion\":\"21\"}}}\n"
	"{\"type\":\"DELETED\",\"object\":{\"kind\":\"GlobalNetworkPolicy\",\"metadata\":"
	"{\"name\":\"c\",\"resourceVersion\":\"22\"}}}\n"
	"{\"type\":\"ADDED\",\"object\":{\"kind\":\"GlobalNetworkPolicy\",\"metadata\":"
	"{\"name\":\"d\",\"resourceVersion\":\"23\"}}}\n";

/* What a decoded stream left: the result, the resourceVersion and the store as text. */
struct outcome {
	int result;
	char rv[KUBE_RV_MAX + 1];
	unsigned long events;
	char text[4096];
};

static int
by_key(const void *a, const void *b)
{
	return strcmp(((const struct kube_obj *)a)->key, ((const struct kube_obj *)b)->key);
}

/* The kind's objects as "key=json|..." in key order. */
static void
store_text(struct kube_store *st, char *out, size_t size)
{
	struct kube_kind_state *ks = &st->kinds[KK_GNP];
	size_t o = 0;

	if (ks->n > 1)
		qsort(ks->v, ks->n, sizeof(ks->v[0]), by_key);
	out[0] = '\0';
	for (size_t i = 0; i < ks->n; i++) {
		o += (size_t)snprintf(out + o, size - o, "%s=%s|", ks->v[i].key, ks->v[i].json);
		assert_true(o < size);
	}
}

/* Decode @p in the chunks @cuts (sizes, 0-terminated; the rest goes last) with @max. */
static void
decode(const char *p, size_t n, const size_t *cuts, size_t max, struct outcome *out)
{
	struct kube_store st;
	struct watch_dec d;
	size_t off = 0;

	assert_int_equal(kube_store_init(&st), 0);
	watch_dec_init(&d, &st, KK_GNP, API, "10");
	d.max_event = max;
	for (; cuts != NULL && *cuts && off < n; cuts++) {
		size_t k = *cuts < n - off ? *cuts : n - off;

		watch_dec_feed(&d, p + off, k);
		off += k;
	}
	if (off < n)
		watch_dec_feed(&d, p + off, n - off);
	assert_true(d.part.cap <= max + 1);
	out->result = d.result;
	out->events = d.events;
	memcpy(out->rv, d.rv, sizeof(out->rv));
	store_text(&st, out->text, sizeof(out->text));
	watch_dec_free(&d);
	kube_store_free(&st);
}

static void
assert_same(const struct outcome *a, const struct outcome *b)
{
	assert_int_equal(a->result, b->result);
	assert_int_equal(a->events, b->events);
	assert_string_equal(a->rv, b->rv);
	assert_string_equal(a->text, b->text);
}

static void
test_events(void **state)
{
	struct outcome whole;

	(void)state;
	decode(stream, strlen(stream), NULL, KUBE_EVENT_MAX, &whole);
	assert_int_equal(whole.result, KUBE_OK);
	assert_int_equal(whole.events, 7);
	assert_string_equal(whole.rv, "23");
	/* a, ns1/b and d; c came and went; items without kind/apiVersion get them */
	assert_non_null(strstr(whole.text, "a={\"kind\":\"GlobalNetworkPolicy\",\"metadata\":"
				"{\"name\":\"a\",\"resourceVersion\":\"13\"},\"spec\":{\"order\":2}}|"));
	assert_non_null(strstr(whole.text, "ns1/b={\"apiVersion\":\"" API "\",\"kind\":"
				"\"GlobalNetworkPolicy\",\"metadata\":{\"name\":\"b\""));
	assert_non_null(strstr(whole.text, "d={"));
	assert_null(strstr(whole.text, "c={"));
}

/* Every split point, every byte alone, and three pieces: the same outcome. */
static void
test_chunkings(void **state)
{
	size_t n = strlen(stream);
	struct outcome whole, o;
	size_t ones[1024];

	(void)state;
	decode(stream, n, NULL, KUBE_EVENT_MAX, &whole);
	for (size_t i = 1; i < n; i++) {
		size_t cuts[] = { i, 0 };

		decode(stream, n, cuts, KUBE_EVENT_MAX, &o);
		assert_same(&whole, &o);
	}
	assert_true(n < 1024);
	for (size_t i = 0; i < n; i++)
		ones[i] = 1;
	ones[n - 1] = 0;
	decode(stream, n, ones, KUBE_EVENT_MAX, &o);
	assert_same(&whole, &o);
	for (size_t i = 1; i < n; i += 13)
		for (size_t j = 1; i + j < n; j += 17) {
			size_t cuts[] = { i, j, 0 };

			decode(stream, n, cuts, KUBE_EVENT_MAX, &o);
			assert_same(&whole, &o);
		}
}

/* The event limit: the longest event allowed passes, one byte more ends the watch at that
 * event (the events before it stay applied) whatever the chunking. */
static void
test_event_limit(void **state)
{
	const char *first = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"z\","
			    "\"resourceVersion\":\"5\"}}}\n";
	size_t pad = 400, n;
	char buf[2048];
	struct outcome whole, o;
	size_t max;

	(void)state;
	n = (size_t)snprintf(buf, sizeof(buf), "%s{\"type\":\"ADDED\",\"object\":{\"metadata\":"
			     "{\"name\":\"big\",\"resourceVersion\":\"6\"},\"x\":\"%*s\"}}\n", first,
			     (int)pad, "");
	max = n - strlen(first) - 1;	/* the second event, exactly */
	decode(buf, n, NULL, max, &whole);
	assert_int_equal(whole.result, KUBE_OK);
	assert_int_equal(whole.events, 2);
	for (size_t i = 1; i < n; i += 3) {
		size_t cuts[] = { i, 0 };

		decode(buf, n, cuts, max, &o);
		assert_same(&whole, &o);
	}
	decode(buf, n, NULL, max - 1, &whole);
	assert_int_equal(whole.result, KUBE_ERROR);
	assert_int_equal(whole.events, 1);		/* "z" is in, "big" is not */
	assert_string_equal(whole.rv, "");		/* the watch must relist */
	assert_non_null(strstr(whole.text, "z={"));
	assert_null(strstr(whole.text, "big={"));
	for (size_t i = 1; i < n; i += 3) {
		size_t cuts[] = { i, 0 };

		decode(buf, n, cuts, max - 1, &o);
		assert_same(&whole, &o);
	}
}

/* An endless line: refused after the limit, with at most the limit held, in linear time. */
static void
test_endless_line(void **state)
{
	const size_t max = (size_t)4 << 20, chunk = 64;
	struct kube_store st;
	struct watch_dec d;
	char xs[64];
	size_t fed = 0;
	clock_t t0 = clock();
	double secs;

	(void)state;
	memset(xs, 'x', sizeof(xs));
	assert_int_equal(kube_store_init(&st), 0);
	watch_dec_init(&d, &st, KK_GNP, API, "10");
	assert_int_equal(d.max_event, KUBE_EVENT_MAX);
	d.max_event = max;
	while (watch_dec_feed(&d, xs, chunk) == KUBE_OK) {
		fed += chunk;
		assert_true(fed <= max);
	}
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	print_message("# %zu bytes in %zu-byte chunks refused after %.3f s\n", fed, chunk, secs);
	assert_int_equal(d.result, KUBE_ERROR);
	assert_true(fed >= max - chunk);
	assert_true(d.part.cap <= max + 1);
	/* linear: 65,536 chunks of a 4 MiB line; rescanning it all on every chunk took minutes */
	assert_true(secs < 2.0);
	/* once ended, it stays ended and takes nothing more */
	assert_int_equal(watch_dec_feed(&d, "\n", 1), KUBE_ERROR);
	assert_int_equal(watch_dec_feed(&d, "{}\n", 3), KUBE_ERROR);
	assert_int_equal(st.kinds[KK_GNP].n, 0);
	watch_dec_free(&d);
	kube_store_free(&st);
}

/* Many events in one chunk: each is handled in place, not shifted through a buffer. */
static void
test_many_events_one_chunk(void **state)
{
	const char *ev = "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\n";
	size_t len = strlen(ev), count = 100000, n = len * count;
	char *buf = malloc(n);
	struct kube_store st;
	struct watch_dec d;
	clock_t t0;

	(void)state;
	assert_non_null(buf);
	for (size_t i = 0; i < count; i++)
		memcpy(buf + i * len, ev, len);
	assert_int_equal(kube_store_init(&st), 0);
	watch_dec_init(&d, &st, KK_GNP, API, "1");
	t0 = clock();
	assert_int_equal(watch_dec_feed(&d, buf, n), KUBE_OK);
	assert_int_equal(d.events, count);
	assert_null(d.part.p);				/* nothing was copied */
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0);
	assert_string_equal(d.rv, "9");
	watch_dec_free(&d);
	kube_store_free(&st);
	free(buf);
}

/* ERROR events and malformed ones. */
static void
test_errors(void **state)
{
	static const struct {
		const char *line;
		int result;
		const char *rv;		/* after it ("" = relist) */
	} cases[] = {
		{ "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}}\n",
		  KUBE_GONE, "10" },
		{ "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"reason\":\"Gone\"}}\n",
		  KUBE_GONE, "10" },
		{ "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500}}\n", KUBE_ERROR, "10" },
		{ "not json\n", KUBE_ERROR, "" },
		{ "{\"type\":\"ADDED\"}\n", KUBE_ERROR, "" },
		{ "{\"type\":1,\"object\":{}}\n", KUBE_ERROR, "" },
		{ "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":[1]}}}\n", KUBE_ERROR, "" },
		{ "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":5}}}\n",
		  KUBE_ERROR, "" },
		{ "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":\"5\"}}}\n",
		  KUBE_OK, "5" },	/* no name: nothing stored, but the version moves on */
		{ "{\"type\":\"WHAT\",\"object\":{\"metadata\":{\"resourceVersion\":\"6\"}}}\n",
		  KUBE_OK, "6" },	/* not understood: skipped */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct outcome o;

		decode(cases[i].line, strlen(cases[i].line), NULL, KUBE_EVENT_MAX, &o);
		print_message("# case %zu: result %d rv '%s'\n", i, o.result, o.rv);
		assert_int_equal(o.result, cases[i].result);
		assert_string_equal(o.rv, cases[i].rv);
		assert_string_equal(o.text, "");
	}
}

/* A name with a NUL byte, or too long, is refused; it would alias another object's key. */
static void
test_bad_names(void **state)
{
	static const char nul[] = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"},"
				  "\"x\":\"\0\"}}\n";
	char line[1024];
	struct outcome o;
	int n;

	(void)state;
	n = snprintf(line, sizeof(line), "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":"
		     "\"%0300d\"}}}\n", 0);
	decode(line, (size_t)n, NULL, KUBE_EVENT_MAX, &o);
	assert_int_equal(o.result, KUBE_ERROR);
	assert_string_equal(o.text, "");
	decode(nul, sizeof(nul) - 1, NULL, KUBE_EVENT_MAX, &o);
	assert_int_equal(o.result, KUBE_ERROR);
	assert_string_equal(o.text, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_chunkings),
		cmocka_unit_test(test_event_limit),
		cmocka_unit_test(test_endless_line),
		cmocka_unit_test(test_many_events_one_chunk),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_bad_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
