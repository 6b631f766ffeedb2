/*
 * test_k8s_reflector.c - the reflector's list and watch (control/k8s/
 * reflector.c) against a fake API server: the kube_client's GET is
 * replaced by a script of answers, delivered through kapi_body in small
 * chunks as libcurl would. Each case keeps a previous good list in the
 * store and checks what a list or watch leaves there:
 *
 *   - a 410 on a continue token restarts the list from page one; the
 *     store is never replaced by the pages gathered before it (issue 8,
 *     defect 3: the store used to be emptied), a full list wins after it,
 *     and an API that keeps expiring the token costs a bounded number of
 *     requests;
 *   - continuation pages carry the token alone; resourceVersion and
 *     continue values are percent-encoded and their length is checked;
 *   - a list page or a list larger than the limit, or a 200 that is not a
 *     list, is an error that leaves the store alone;
 *   - a watch that streams an endless line ends with an error after at
 *     most the event limit, and asks for a relist; a watch answered 410
 *     with a Status body is a relist, not a malformed event.
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

#include "kube_int.h"

#define MAX_CALLS	32

/* One scripted answer: @status and @body, or @endless bytes of 'x' with no newline. */
struct answer {
	long status;
	const char *body;
	size_t endless;
};

struct fake {
	const struct answer *script;
	size_t n;
	size_t calls;
	size_t chunk;				/* bytes per kapi_body call */
	char urls[MAX_CALLS][KUBE_URL_MAX];
	size_t store_n[MAX_CALLS];		/* the GNPs in the store when each call was made */
	uint64_t store_version[MAX_CALLS];
	size_t delivered;			/* body bytes the last call got accepted */
	bool aborted;				/* the last call's body was refused */
};

static struct fake fake;
static struct kube_store store;
static char server[] = "https://api.test:6443";
static char node[] = "node-1";
static struct kube_client client;
static struct reflector refl;

static long
fake_get(struct reflector *r, const char *url, struct kapi_call *call, CURLcode *cerr)
{
	const struct answer *a;
	static char xs[64 << 10];
	char status_line[64];
	size_t i = fake.calls++;

	(void)r;
	assert_true(i < MAX_CALLS);
	snprintf(fake.urls[i], sizeof(fake.urls[i]), "%s", url);
	fake.store_n[i] = store.kinds[KK_GNP].n;
	fake.store_version[i] = store.version;
	kapi_call_reset(call);
	*cerr = CURLE_OK;
	fake.delivered = 0;
	fake.aborted = false;
	if (i >= fake.n) {
		*cerr = CURLE_COULDNT_CONNECT;	/* the script ran out: the server is gone */
		return -1;
	}
	a = &fake.script[i];
	snprintf(status_line, sizeof(status_line), "HTTP/1.1 %ld X\r\n", a->status);
	kapi_status_line(call, status_line, strlen(status_line));
	if (a->endless) {
		memset(xs, 'x', sizeof(xs));
		while (fake.delivered < a->endless) {
			if (kapi_body(call, xs, sizeof(xs)) != sizeof(xs)) {
				fake.aborted = true;
				*cerr = CURLE_WRITE_ERROR;
				break;
			}
			fake.delivered += sizeof(xs);
		}
		return a->status;
	}
	for (size_t off = 0, len = strlen(a->body); off < len; off += fake.chunk) {
		size_t n = len - off < fake.chunk ? len - off : fake.chunk;
		char buf[512];

		memcpy(buf, a->body + off, n);
		if (kapi_body(call, buf, n) != n) {
			fake.aborted = true;
			*cerr = CURLE_WRITE_ERROR;
			break;
		}
		fake.delivered += n;
	}
	return a->status;
}

static void
script(const struct answer *s, size_t n)
{
	memset(&fake, 0, sizeof(fake));
	fake.script = s;
	fake.n = n;
	fake.chunk = 7;
}

/* The store as a sorted "key key ..." line, for one kind. */
static const char *
keys(enum kube_kind k)
{
	static char out[4096];
	const struct kube_kind_state *ks = &store.kinds[k];
	char *names[256];
	size_t n = ks->n, o = 0;

	assert_true(n < 256);
	for (size_t i = 0; i < n; i++)
		names[i] = ks->v[i].key;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];

			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", i ? " " : "", names[i]);
	return out;
}

/* A good earlier list in the store: old-a and old-b. */
static void
store_old_list(void)
{
	struct kube_obj *v = calloc(2, sizeof(*v));

	assert_non_null(v);
	v[0].key = strdup("old-a");
	v[0].json = strdup("{\"metadata\":{\"name\":\"old-a\"}}");
	v[1].key = strdup("old-b");
	v[1].json = strdup("{\"metadata\":{\"name\":\"old-b\"}}");
	kstore_replace(&store, KK_GNP, v, 2, false);
}

static int
setup(void **state)
{
	(void)state;
	if (kube_store_init(&store) < 0)
		return -1;
	snprintf(store.group_version, sizeof(store.group_version), "crd.projectcalico.org/v1");
	memset(&client, 0, sizeof(client));
	client.server = server;
	client.node = node;
	client.st = &store;
	client.get = fake_get;
	client.list_max = KUBE_LIST_MAX_DEFAULT;
	memset(&refl, 0, sizeof(refl));
	refl.kc = &client;
	refl.kind = KK_GNP;
	store_old_list();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	watch_dec_free(&refl.dec);
	kube_store_free(&store);
	return 0;
}

#define GNP_ITEM(n) "{\"apiVersion\":\"crd.projectcalico.org/v1\",\"kind\":\"GlobalNetworkPolicy\"," \
	"\"metadata\":{\"name\":\"" n "\",\"resourceVersion\":\"5\"},\"spec\":{}}"
#define PAGE(rv, cont, items) "{\"apiVersion\":\"crd.projectcalico.org/v1\"," \
	"\"kind\":\"GlobalNetworkPolicyList\",\"metadata\":{\"resourceVersion\":\"" rv "\"" \
	cont "},\"items\":[" items "]}\n"
#define CONT(tok) ",\"continue\":\"" tok "\""
#define EXPIRED "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{\"continue\":\"x\"}," \
	"\"status\":\"Failure\",\"message\":\"The provided continue parameter is too old\"," \
	"\"reason\":\"Expired\",\"code\":410}\n"

/* Defect 3: a 410 on page two restarts the list; the store never holds a partial list. */
static void
test_list_continue_expired_restarts(void **state)
{
	static const struct answer s[] = {
		{ 200, PAGE("100", CONT("tok1"), GNP_ITEM("p1") "," GNP_ITEM("p2")), 0 },
		{ 410, EXPIRED, 0 },
		{ 200, PAGE("200", CONT("tok2"), GNP_ITEM("a") "," GNP_ITEM("b")), 0 },
		{ 200, PAGE("200", "", GNP_ITEM("c")), 0 },
	};
	uint64_t v0 = store.version;

	(void)state;
	script(s, 4);
	assert_int_equal(reflector_list(&refl), KUBE_OK);
	/* the complete list wins: the restarted list's objects, nothing of the expired one */
	assert_string_equal(keys(KK_GNP), "a b c");
	assert_int_equal(fake.calls, 4);
	/* while the pages came in, the store still held the earlier list, untouched */
	for (size_t i = 0; i < fake.calls; i++) {
		assert_int_equal(fake.store_n[i], 2);
		assert_int_equal(fake.store_version[i], v0);
	}
	assert_string_equal(refl.rv, "200");
	assert_true(store.kinds[KK_GNP].synced);
	/* page one at resourceVersion=0; continuations carry the token alone */
	assert_non_null(strstr(fake.urls[0], "/apis/crd.projectcalico.org/v1/globalnetworkpolicies?"));
	assert_non_null(strstr(fake.urls[0], "limit=500&resourceVersion=0"));
	assert_non_null(strstr(fake.urls[1], "limit=500&continue=tok1"));
	assert_null(strstr(fake.urls[1], "resourceVersion"));
	assert_non_null(strstr(fake.urls[2], "limit=500&resourceVersion=0"));
	assert_null(strstr(fake.urls[2], "continue"));
	assert_non_null(strstr(fake.urls[3], "continue=tok2"));
}

/* An API that expires every continue token: bounded retries, then an error; the store stays. */
static void
test_list_continue_always_expired(void **state)
{
	static const struct answer s[] = {
		{ 200, PAGE("100", CONT("t"), GNP_ITEM("p1")), 0 }, { 410, EXPIRED, 0 },
		{ 200, PAGE("101", CONT("t"), GNP_ITEM("p1")), 0 }, { 410, EXPIRED, 0 },
		{ 200, PAGE("102", CONT("t"), GNP_ITEM("p1")), 0 }, { 410, EXPIRED, 0 },
		{ 200, PAGE("103", CONT("t"), GNP_ITEM("p1")), 0 }, { 410, EXPIRED, 0 },
		{ 200, PAGE("104", "", GNP_ITEM("late")), 0 },
	};
	uint64_t v0 = store.version;

	(void)state;
	script(s, 9);
	assert_int_equal(reflector_list(&refl), KUBE_ERROR);
	assert_string_equal(keys(KK_GNP), "old-a old-b");
	assert_int_equal(fake.calls, 8);	/* the first try and 3 restarts, 2 pages each */
	assert_int_equal(store.version, v0);
	assert_string_equal(refl.rv, "");
}

/* A 410 on page one: the version asked for is gone, so the list asks for the latest ("").*/
static void
test_list_first_page_expired(void **state)
{
	static const struct answer s[] = {
		{ 410, EXPIRED, 0 },
		{ 200, PAGE("300", "", GNP_ITEM("x")), 0 },
	};

	(void)state;
	script(s, 2);
	assert_int_equal(reflector_list(&refl), KUBE_OK);
	assert_string_equal(keys(KK_GNP), "x");
	assert_non_null(strstr(fake.urls[0], "resourceVersion=0"));
	assert_non_null(strstr(fake.urls[1], "resourceVersion="));
	assert_null(strstr(fake.urls[1], "resourceVersion=0"));
	assert_false(refl.list_fresh);
}

/* A 200 that is not a list (no resourceVersion) is an error, not an empty list. */
static void
test_list_not_a_list(void **state)
{
	static const struct answer s[] = {
		{ 200, "<html>proxy error</html>\n", 0 },
		{ 200, "{\"items\":[]}", 0 },
		{ 200, "{\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[{\"metadata\":"
		       "{\"name\":\"a\"}},{\"metadata\":{\"name\":7}}]}", 0 },
	};
	uint64_t v0 = store.version;

	(void)state;
	script(s, 3);
	assert_int_equal(reflector_list(&refl), KUBE_ERROR);
	assert_int_equal(reflector_list(&refl), KUBE_ERROR);
	assert_int_equal(reflector_list(&refl), KUBE_ERROR);	/* a name that is not a string */
	assert_string_equal(keys(KK_GNP), "old-a old-b");
	assert_int_equal(store.version, v0);
}

/* Limits: a page larger than the list limit is cut off; so is a list whose pages add up past it. */
static void
test_list_size_limits(void **state)
{
	static const struct answer big[] = {
		{ 200, PAGE("1", "", GNP_ITEM("a") "," GNP_ITEM("b") "," GNP_ITEM("c") ","
			    GNP_ITEM("d") "," GNP_ITEM("e") "," GNP_ITEM("f")), 0 },
	};
	static const struct answer pages[] = {
		{ 200, PAGE("1", CONT("t1"), GNP_ITEM("a") "," GNP_ITEM("b")), 0 },
		{ 200, PAGE("1", CONT("t2"), GNP_ITEM("c") "," GNP_ITEM("d")), 0 },
		{ 200, PAGE("1", CONT("t3"), GNP_ITEM("e") "," GNP_ITEM("f")), 0 },
		{ 200, PAGE("1", "", GNP_ITEM("g")), 0 },
	};
	static const struct answer endless[] = {
		{ 200, NULL, (size_t)64 << 20 },
	};
	uint64_t v0 = store.version;

	(void)state;
	client.list_max = 600;
	script(big, 1);
	assert_int_equal(reflector_list(&refl), KUBE_ERROR);
	/* the objects are kept as they arrive: the transfer stops at the one past the limit */
	assert_true(fake.aborted);
	assert_true(fake.delivered < strlen(big[0].body));
	script(pages, 4);
	assert_int_equal(reflector_list(&refl), KUBE_ERROR);
	assert_true(fake.calls < 4);
	/* an endless body costs at most the envelope's bound, whatever list_max says */
	client.list_max = (size_t)1 << 30;
	script(endless, 1);
	assert_int_equal(reflector_list(&refl), KUBE_ERROR);
	assert_true(fake.aborted);
	assert_true(fake.delivered <= KUBE_ENVELOPE_MAX + ((size_t)64 << 10));
	assert_string_equal(keys(KK_GNP), "old-a old-b");
	assert_int_equal(store.version, v0);
	/* the same pages within the limit make one list */
	client.list_max = KUBE_LIST_MAX_DEFAULT;
	script(pages, 4);
	assert_int_equal(reflector_list(&refl), KUBE_OK);
	assert_string_equal(keys(KK_GNP), "a b c d e f g");
}

/*
 * A list is decoded as it arrives: what counts against list_max is what the
 * store keeps (a pod's digest), not what was sent; one element is bounded by
 * KUBE_EVENT_MAX; elements that are no objects, or an answer cut short, fail.
 */
#define POD_ITEM(n, hostnet) "{\"metadata\":{\"name\":\"" n "\",\"namespace\":\"ns\"," \
	"\"managedFields\":[{\"manager\":\"kubelet\",\"fieldsV1\":{\"f:status\":{\"f:conditions\":" \
	"{\".\":{},\"k:{\\\"type\\\":\\\"Ready\\\"}\":{}}}}}]},\"spec\":{\"nodeName\":\"n1\"," \
	"\"hostNetwork\":" hostnet ",\"containers\":[{\"name\":\"c\",\"image\":\"registry.example/" \
	"a-long-image-name-to-make-this-pod-large:1.2.3\",\"args\":[\"--listen=0.0.0.0:8080\"," \
	"\"--log-level=info\",\"--config=/etc/app/config.yaml\"]}]},\"status\":{\"phase\":\"Running\"," \
	"\"podIP\":\"10.1.2.3\"}}"

static void
test_list_streamed(void **state)
{
	static const struct answer pods[] = {
		{ 200, PAGE("7", "", POD_ITEM("p1", "false") "," POD_ITEM("p2", "false") ","
			    POD_ITEM("h1", "true") "," POD_ITEM("h2", "true") ","
			    POD_ITEM("p3", "false")), 0 },
	};
	static const struct answer junk[] = {
		{ 200, PAGE("7", "", POD_ITEM("p1", "false") ", 17"), 0 },
	};
	static const struct answer cut[] = {
		{ 200, "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"7\"},\"items\":["
		       POD_ITEM("p1", "false") ",", 0 },
	};
	static const struct answer twice[] = {	/* p1 listed twice: the last one counts */
		{ 200, PAGE("9", "", POD_ITEM("p1", "false") "," POD_ITEM("p2", "false") ","
			    "{\"metadata\":{\"name\":\"p1\",\"namespace\":\"ns\"},\"spec\":{\"nodeName\":"
			    "\"n1\"},\"status\":{\"podIP\":\"10.7.7.7\"}}"), 0 },
	};
	static const struct answer two_items[] = {	/* which "items" counts? neither */
		{ 200, "{\"items\":[" POD_ITEM("p5", "false") "],\"metadata\":{\"resourceVersion\":"
		       "\"9\"},\"items\":[]}", 0 },
	};
	static const struct answer late_meta[] = {	/* the envelope after the items */
		{ 200, "{\"items\":[" POD_ITEM("p9", "false") "],\"kind\":\"PodList\",\"metadata\":"
		       "{\"resourceVersion\":\"8\"}}", 0 },
	};
	size_t sent = strlen(pods[0].body);

	(void)state;
	refl.kind = KK_POD;
	/* 5 pods of ~450 bytes sent, 3 digests of ~100 kept: fit in 400 bytes, the answer not */
	client.list_max = 400;
	assert_true(sent > 2000);
	script(pods, 1);
	assert_int_equal(reflector_list(&refl), KUBE_OK);
	assert_string_equal(keys(KK_POD), "ns/p1 ns/p2 ns/p3");
	assert_string_equal(refl.rv, "7");
	assert_false(fake.aborted);
	assert_int_equal(fake.delivered, sent);
	/* an element that is no object */
	script(junk, 1);
	assert_int_equal(reflector_list(&refl), KUBE_ERROR);
	assert_string_equal(keys(KK_POD), "ns/p1 ns/p2 ns/p3");
	/* cut short: no list, the store as it was */
	script(cut, 1);
	assert_int_equal(reflector_list(&refl), KUBE_ERROR);
	assert_string_equal(keys(KK_POD), "ns/p1 ns/p2 ns/p3");
	/* a key listed twice: kept once, the last text */
	script(twice, 1);
	assert_int_equal(reflector_list(&refl), KUBE_OK);
	assert_string_equal(keys(KK_POD), "ns/p1 ns/p2");
	assert_true(strstr(store.kinds[KK_POD].v[0].json, "10.7.7.7") != NULL ||
		    strstr(store.kinds[KK_POD].v[1].json, "10.7.7.7") != NULL);
	/* two "items" arrays: malformed */
	script(two_items, 1);
	assert_int_equal(reflector_list(&refl), KUBE_ERROR);
	assert_string_equal(keys(KK_POD), "ns/p1 ns/p2");
	/* the metadata may come after the items */
	script(late_meta, 1);
	assert_int_equal(reflector_list(&refl), KUBE_OK);
	assert_string_equal(keys(KK_POD), "ns/p9");
	assert_string_equal(refl.rv, "8");
	refl.kind = KK_GNP;
}

/* Defect 9: tokens from the server are percent-encoded into the URL, and their length checked. */
static void
test_tokens_escaped(void **state)
{
	static const struct answer s[] = {
		{ 200, PAGE("7&x=1 #", CONT("a+b/c=&watch=true"), GNP_ITEM("a")), 0 },
		{ 200, PAGE("7&x=1 #", "", GNP_ITEM("b")), 0 },
		{ 200, "", 0 },
	};
	char rv[300], body[1024];
	struct answer long_rv[1];

	(void)state;
	script(s, 3);
	assert_int_equal(reflector_list(&refl), KUBE_OK);
	assert_non_null(strstr(fake.urls[1], "&continue=a%2Bb%2Fc%3D%26watch%3Dtrue"));
	assert_null(strstr(fake.urls[1], "&watch=true"));
	assert_string_equal(refl.rv, "7&x=1 #");
	assert_int_equal(reflector_watch(&refl), KUBE_ERROR);	/* an empty, instant end */
	assert_non_null(strstr(fake.urls[2], "watch=true&resourceVersion=7%26x%3D1%20%23&"));
	assert_null(strstr(fake.urls[2], "x=1 "));

	/* a resourceVersion longer than KUBE_RV_MAX is refused, not cut short */
	memset(rv, '9', sizeof(rv) - 1);
	rv[sizeof(rv) - 1] = '\0';
	snprintf(body, sizeof(body), "{\"metadata\":{\"resourceVersion\":\"%s\"},\"items\":[]}", rv);
	long_rv[0] = (struct answer){ 200, body, 0 };
	script(long_rv, 1);
	assert_int_equal(reflector_list(&refl), KUBE_ERROR);
	assert_string_equal(keys(KK_GNP), "a b");
}

/* A continue token longer than KUBE_CONTINUE_MAX is an error, not a shorter token. */
static void
test_continue_too_long(void **state)
{
	size_t n = KUBE_CONTINUE_MAX + 10;
	char *body = malloc(n + 256);
	struct answer s[2];

	(void)state;
	assert_non_null(body);
	memcpy(body, "{\"metadata\":{\"resourceVersion\":\"1\",\"continue\":\"", 47);
	memset(body + 47, 'A', n);
	snprintf(body + 47 + n, 256, "\"},\"items\":[" GNP_ITEM("a") "]}");
	s[0] = (struct answer){ 200, body, 0 };
	s[1] = (struct answer){ 200, PAGE("1", "", GNP_ITEM("b")), 0 };
	script(s, 2);
	fake.chunk = 500;
	assert_int_equal(reflector_list(&refl), KUBE_ERROR);
	assert_int_equal(fake.calls, 1);
	assert_string_equal(keys(KK_GNP), "old-a old-b");
	free(body);
}

/* Defect 9: a watch that streams an endless line ends after the event limit, and relists. */
static void
test_watch_endless_line(void **state)
{
	static const struct answer s[] = {
		{ 200, NULL, (size_t)64 << 20 },
	};
	uint64_t v0 = store.version;

	(void)state;
	snprintf(refl.rv, sizeof(refl.rv), "42");
	script(s, 1);
	assert_int_equal(reflector_watch(&refl), KUBE_ERROR);
	assert_true(fake.aborted);
	assert_true(fake.delivered <= KUBE_EVENT_MAX);
	assert_string_equal(refl.rv, "");		/* the same event would come again: relist */
	assert_string_equal(keys(KK_GNP), "old-a old-b");
	assert_int_equal(store.version, v0);
}

/* Events applied, then a clean end; a 410 answered as an HTTP status with a Status body. */
static void
test_watch_events_and_410(void **state)
{
	static const struct answer s[] = {
		{ 200, "{\"type\":\"ADDED\",\"object\":" GNP_ITEM("new") "}\n"
		       "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"old-a\","
		       "\"resourceVersion\":\"77\"}}}\n", 0 },
		{ 410, EXPIRED, 0 },
		{ 500, "{\"kind\":\"Status\",\"code\":500}\n", 0 },
	};

	(void)state;
	snprintf(refl.rv, sizeof(refl.rv), "42");
	script(s, 3);
	assert_int_equal(reflector_watch(&refl), KUBE_OK);
	assert_string_equal(keys(KK_GNP), "new old-b");
	assert_string_equal(refl.rv, "77");
	assert_int_equal(reflector_watch(&refl), KUBE_GONE);
	assert_string_equal(refl.rv, "77");
	assert_int_equal(reflector_watch(&refl), KUBE_ERROR);
	assert_string_equal(refl.rv, "77");			/* an error, not a relist */
	assert_non_null(strstr(fake.urls[2], "resourceVersion=77&"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_continue_expired_restarts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_continue_always_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_first_page_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_not_a_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_size_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_streamed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_continue_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_endless_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_events_and_410, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
