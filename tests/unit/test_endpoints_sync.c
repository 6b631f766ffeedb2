/*
 * test_endpoints_sync.c - the cluster kept between reloads (endpoints_load
 * on a cluster it filled before) against one built from nothing, after each
 * of 400 rounds of one to four random changes to the store (the pods found
 * by the store's change log, or by a walk after a relist): pods added, relabelled, moved between
 * service accounts, given no address or the host's network, deleted;
 * namespaces and service accounts labelled, relabelled, deleted; nodes
 * added, relabelled, readdressed, deleted; the same text again; a relist.
 * Both must show every selector the same endpoints: the same auto host
 * endpoints and pods, with the same addresses, named ports and every label
 * a selector can see (own, implicit, inherited).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "endpoints.h"
#include "hostenv.h"
#include "kube_int.h"
#include "ruleset.h"
#include "selcache.h"

/* kube-controllers' default: every Node's "<node>-auto-hep" */
static const struct autohep_cfg autohep_on = { .enabled = true, .create_default = true };

/* Templates: pool 1 by CIDR, every Node's eth* by pattern, no default endpoint. */
static const char kcc_templates[] =
	"apiVersion: projectcalico.org/v3\n"
	"kind: KubeControllersConfiguration\n"
	"metadata: {name: default}\n"
	"spec:\n"
	"  controllers:\n"
	"    node:\n"
	"      hostEndpoint:\n"
	"        autoCreate: Enabled\n"
	"        createDefaultHostEndpoint: Disabled\n"
	"        templates:\n"
	"        - {generateName: ten, interfaceCIDRs: [10.0.1.0/24], nodeSelector: pool == '1',\n"
	"           labels: {pool: t}}\n"
	"        - {generateName: phys, interfacePattern: '^eth[0-9]$'}\n";

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* One object into the store as a watch event would put it. */
static void
upsert(struct kube_store *st, enum kube_kind k, const char *json)
{
	struct kube_obj o;
	int err = kstore_obj_make((struct jspan){ json, strlen(json) }, k, "v1", &o);

	if (err == KUBE_TRIM_DROP) {
		kstore_delete(st, k, o.key);
		free(o.key);
		return;
	}
	assert_int_equal(err, 0);
	assert_int_equal(kstore_upsert(st, k, o.key, o.json, strlen(o.json)), 0);
	free(o.key);
	free(o.json);
}

static void
random_pod(struct kube_store *st)
{
	static const char *const apps[] = { "web", "db", "prometheus" };
	char json[1024], ip[32] = "";
	unsigned id = rnd(40), ns = rnd(4);

	if (rnd(8) != 0)	/* sometimes no address yet */
		snprintf(ip, sizeof(ip), "10.1.%u.%u", rnd(4), rnd(250));
	snprintf(json, sizeof(json),
		 "{\"metadata\":{\"name\":\"p%u\",\"namespace\":\"ns%u\",\"labels\":{\"app\":\"%s\""
		 "%s}},\"spec\":{\"nodeName\":\"n1\",\"serviceAccountName\":\"%s\",\"hostNetwork\":%s,"
		 "\"containers\":[{\"name\":\"c\",\"ports\":[{\"name\":\"%s\",\"containerPort\":%u}]}]},"
		 "\"status\":{\"phase\":\"%s\",\"podIP\":\"%s\"}}",
		 id, ns, apps[rnd(3)], rnd(3) ? "" : ",\"pcns.team\":\"forged\"",
		 rnd(2) ? "default" : rnd(2) ? "scraper" : "", rnd(8) ? "false" : "true",
		 rnd(2) ? "http" : "metrics", 8000 + rnd(3), rnd(10) ? "Running" : "Succeeded", ip);
	upsert(st, KK_POD, json);
}

static void
random_change(struct kube_store *st)
{
	char json[512], key[64];

	switch (rnd(12)) {
	case 0: case 1: case 2: case 3:
		random_pod(st);
		break;
	case 4:
		snprintf(key, sizeof(key), "ns%u/p%u", rnd(4), rnd(40));
		kstore_delete(st, KK_POD, key);
		break;
	case 5:
		snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"ns%u\",\"labels\":{\"team\":"
			 "\"%s\"}}}", rnd(4), rnd(2) ? "obs" : "apps");
		upsert(st, KK_NAMESPACE, json);
		break;
	case 6:
		snprintf(key, sizeof(key), "ns%u", rnd(4));
		kstore_delete(st, KK_NAMESPACE, key);
		break;
	case 7:
		snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns%u\","
			 "\"labels\":{\"role\":\"%s\"}}}", rnd(2) ? "scraper" : "default", rnd(4),
			 rnd(2) ? "metrics" : "none");
		upsert(st, KK_SA, json);
		break;
	case 8:
		snprintf(key, sizeof(key), "ns%u/%s", rnd(4), rnd(2) ? "scraper" : "default");
		kstore_delete(st, KK_SA, key);
		break;
	case 9:
		snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"n%u\",\"labels\":{\"pool\":"
			 "\"%u\"},\"annotations\":{\"projectcalico.org/IPv4Address\":\"10.0.0.%u/24\","
			 "\"projectcalico.org/Interfaces\":\"[{\\\"name\\\":\\\"eth%u\\\","
			 "\\\"addresses\\\":[\\\"192.168.%u.1\\\"]}]\"}},"
			 "\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.0.1.%u\"}]}}",
			 rnd(6), rnd(2), rnd(9), rnd(2), rnd(3), rnd(9));
		upsert(st, KK_NODE, json);
		break;
	case 10:
		snprintf(key, sizeof(key), "n%u", rnd(6));
		kstore_delete(st, KK_NODE, key);
		break;
	default: {	/* a relist of the pods: what the store holds, one of them changed */
		const struct kube_kind_state *ks = &st->kinds[KK_POD];
		struct kube_obj *v = calloc(ks->n + 1, sizeof(*v));

		assert_non_null(v);
		for (size_t i = 0; i < ks->n; i++) {
			v[i].key = strdup(ks->v[i].key);
			v[i].json = strdup(ks->v[i].json);
		}
		if (ks->n > 0 && rnd(2)) {
			size_t i = rnd((uint32_t)ks->n);

			free(v[i].json);
			v[i].json = strdup("{\"ns\":\"ns0\",\"name\":\"relisted\",\"sa\":\"\","
					   "\"labels\":{\"app\":\"web\"},\"ips\":[\"10.9.9.9\"],\"ports\":[]}");
		}
		kstore_replace(st, KK_POD, v, ks->n, false);
		break;
	}
	}
}

/* Every key of the maps a label lookup on @l consults (over, own, under, ...). */
static void
keys_of(const struct labels *l, char **out, size_t *n, size_t max)
{
	for (const struct labels *m = l; m != NULL; m = m->under) {
		for (const struct labels *x = m == l ? m->over : NULL; x; x = NULL)
			for (size_t i = 0; i < x->n && *n < max; i++)
				out[(*n)++] = x->v[i].key;
		for (size_t i = 0; i < m->n && *n < max; i++)
			out[(*n)++] = m->v[i].key;
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What a selector sees of an endpoint, as one line. */
static void
endpoint_line(FILE *f, const char *name, const struct labels *l, const struct cidr *ips,
	      size_t nips, const struct named_port *ports, size_t nports)
{
	char *keys[128], buf[CIDR_STRLEN];
	size_t n = 0;

	fprintf(f, "%s", name);
	for (size_t i = 0; i < nips; i++)
		fprintf(f, " %s", cidr_format(&ips[i], buf));
	for (size_t i = 0; i < nports; i++)
		fprintf(f, " %s/%u/%u", ports[i].name, ports[i].proto, ports[i].port);
	keys_of(l, keys, &n, 128);
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(keys[i], keys[i - 1]) != 0)
			fprintf(f, " %s=%s", keys[i], labels_get(l, keys[i]));
}

static int
cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The cluster as sorted lines, one per endpoint. */
static char *
dump(const struct cluster *cl)
{
	size_t n = cl->nheps + cl->nweps, len = 0, o = 0;
	char **lines = calloc(n + 1, sizeof(*lines)), *text;

	assert_non_null(lines);
	for (size_t i = 0; i < n; i++) {
		FILE *f = open_memstream(&lines[i], &len);

		if (i < cl->nheps)
			endpoint_line(f, cl->heps[i]->name, &cl->heps[i]->labels, cl->heps[i]->ips,
				      cl->heps[i]->nips, NULL, 0);
		else
			endpoint_line(f, cl->weps[i - cl->nheps].key, &cl->weps[i - cl->nheps].labels,
				      cl->weps[i - cl->nheps].ips, cl->weps[i - cl->nheps].nips,
				      cl->weps[i - cl->nheps].ports, cl->weps[i - cl->nheps].nports);
		fclose(f);
	}
	qsort(lines, n, sizeof(*lines), cmp_line);
	for (size_t i = 0; i < n; i++)
		len += strlen(lines[i]) + 1;
	text = malloc(len + 1);
	assert_non_null(text);
	text[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		o += (size_t)snprintf(text + o, len + 1 - o, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	return text;
}

static void
test_kept_equals_fresh(void **state)
{
	struct kube_store st;
	struct cluster kept;
	unsigned changed = 0, pods_seen = 0;

	struct polset kcc;
	struct autohep_cfg cfgs[3];

	(void)state;
	assert_int_equal(kube_store_init(&st), 0);
	cluster_init(&kept);
	/* every 50 changes the configuration changes too: the default endpoint,
	 * templates, none */
	polset_init(&kcc);
	assert_int_equal(polset_load_buffer(&kcc, "kcc.yaml", kcc_templates, strlen(kcc_templates)),
			 0);
	assert_int_equal(kcc.diags.nerr, 0);
	cfgs[0] = autohep_on;
	autohep_config(&kcc, false, &cfgs[1]);
	assert_true(cfgs[1].enabled && cfgs[1].ntpl == 2);
	memset(&cfgs[2], 0, sizeof(cfgs[2]));
	for (int step = 0; step < 400; step++) {
		struct node_info a = { .found = false }, b = { .found = false };
		struct cluster fresh;
		unsigned ci = (unsigned)(step / 50) % 3;
		char *da, *db;

		for (uint32_t k = 1 + rnd(4); k > 0; k--)
			random_change(&st);
		labels_init(&a.labels);
		labels_init(&b.labels);
		cluster_init(&fresh);
		assert_int_equal(endpoints_load(&st, "n0", &cfgs[ci], ci + 1, &kept, &a), 0);
		assert_int_equal(endpoints_load(&st, "n0", &cfgs[ci], ci + 1, &fresh, &b), 0);
		changed += kept.nretired > 0 || kept.parents_changed;
		pods_seen += kept.nweps > 0;
		da = dump(&kept);
		db = dump(&fresh);
		if (strcmp(da, db) != 0)
			fail_msg("step %d: the kept cluster differs from a fresh one\n--- kept\n%s"
				 "--- fresh\n%s", step, da, db);
		free(da);
		free(db);
		cluster_retired_free(&kept);
		cluster_free(&fresh);
		labels_free(&a.labels);
		labels_free(&b.labels);
	}
	print_message("# 400 rounds: %u retired an endpoint or changed a parent; pods by the "
		      "change log %llu times, by a walk %llu\n", changed,
		      (unsigned long long)kept.pod_syncs_log, (unsigned long long)kept.pod_syncs_full);
	assert_true(changed > 50);
	assert_true(pods_seen > 300);
	assert_true(kept.pod_syncs_log > 250);	/* the change log did most of them */
	assert_true(kept.pod_syncs_full > 10);	/* relists: the walk */
	polset_free(&kcc);
	cluster_free(&kept);
	kube_store_free(&st);
}

/* Nothing changed: nothing is read again, nothing retired. */
static void
test_unchanged_is_free(void **state)
{
	struct kube_store st;
	struct cluster cl;
	struct node_info ni = { .found = false };

	(void)state;
	assert_int_equal(kube_store_init(&st), 0);
	for (int i = 0; i < 100; i++)
		random_change(&st);
	cluster_init(&cl);
	labels_init(&ni.labels);
	assert_int_equal(endpoints_load(&st, "n0", &autohep_on, 1, &cl, &ni), 0);
	cluster_retired_free(&cl);
	assert_int_equal(endpoints_load(&st, "n0", &autohep_on, 1, &cl, &ni), 0);
	assert_int_equal(cl.nretired, 0);
	assert_int_equal(cl.nretired_heps, 0);
	assert_false(cl.parents_changed);
	labels_free(&ni.labels);
	cluster_free(&cl);
	kube_store_free(&st);
}

static const char policy[] =
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: n0-eth0, labels: {role: node}}\n"
	"spec: {node: n0, interfaceName: eth0, expectedIPs: [10.0.0.100]}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: GlobalNetworkPolicy\n"
	"metadata: {name: p}\n"
	"spec:\n"
	"  selector: role == 'node'\n"
	"  ingress:\n"
	"  - {action: Allow, protocol: TCP, source: {selector: has(pool)}, destination: {ports: [1]}}\n"
	"  - {action: Allow, protocol: TCP, source: {selector: app == 'prometheus',\n"
	"     namespaceSelector: team == 'obs'}, destination: {ports: [2]}}\n"
	"  - {action: Allow, protocol: TCP, source: {serviceAccounts: {names: [scraper]}},\n"
	"     destination: {ports: [3]}}\n"
	"  - {action: Deny, source: {selector: pcsa.role == 'metrics'}}\n"
	"  - {action: Allow, protocol: TCP, source: {selector: app == 'web'}, destination: {ports: [4]}}\n"
	"  - {action: Allow, protocol: UDP, source: {notSelector: app == 'db'}}\n";

/* The table for @cl (and @sc: NULL matches every endpoint anew). */
static struct ruleset *
compile_with(const struct polset *ps, const struct cluster *cl, struct selcache *sc)
{
	struct hostenv_opts o = { .node = "n0", .failsafe_in = "none", .failsafe_out = "none",
				  .cluster = cl, .selcache = sc };
	struct cidr a = { .family = AF_INET, .plen = 32 };
	struct ruleset *rs;
	struct hostenv env;
	char why[200];

	assert_int_equal(hostenv_build(&env, ps, &o, why, sizeof(why)), 0);
	a.addr.lo = 0x0a000064;
	assert_int_equal(hostenv_add_iface(&env, 2, "eth0", &a, 1), 0);
	rs = compile_ruleset(&env);
	assert_non_null(rs);
	hostenv_free(&env);
	return rs;
}

/* The kept cluster with the selector cache compiles to the table a fresh cluster
 * without it compiles to, after every change. */
static void
test_cache_equals_fresh(void **state)
{
	struct selcache *sc = selcache_new();
	struct kube_store st;
	struct cluster kept;
	struct polset ps;
	uint64_t hits, builds;

	(void)state;
	assert_non_null(sc);
	assert_int_equal(kube_store_init(&st), 0);
	polset_init(&ps);
	assert_int_equal(polset_load_buffer(&ps, "p.yaml", policy, strlen(policy)), 0);
	assert_int_equal(ps.diags.nerr, 0);
	cluster_init(&kept);
	for (int step = 0; step < 300; step++) {
		struct node_info a = { .found = false }, b = { .found = false };
		struct ruleset *ra, *rb;
		struct cluster fresh;

		for (uint32_t k = 1 + rnd(4); k > 0; k--)
			random_change(&st);
		labels_init(&a.labels);
		labels_init(&b.labels);
		cluster_init(&fresh);
		assert_int_equal(endpoints_load(&st, "n0", &autohep_on, 1, &kept, &a), 0);
		selcache_sync(sc, &kept);
		assert_int_equal(endpoints_load(&st, "n0", &autohep_on, 1, &fresh, &b), 0);
		ra = compile_with(&ps, &kept, sc);
		rb = compile_with(&ps, &fresh, NULL);
		if (!ruleset_equal(ra, rb)) {
			fprintf(stderr, "--- with the cache\n");
			ruleset_dump(ra, stderr);
			fprintf(stderr, "--- fresh\n");
			ruleset_dump(rb, stderr);
			fail_msg("step %d: the cached selectors compile to another table", step);
		}
		ruleset_free(ra);
		ruleset_free(rb);
		cluster_retired_free(&kept);
		selcache_sweep(sc);
		cluster_free(&fresh);
		labels_free(&a.labels);
		labels_free(&b.labels);
	}
	selcache_stats(sc, &hits, &builds);
	print_message("# 300 compiles: %llu selector sets from the cache, %llu built\n",
		      (unsigned long long)hits, (unsigned long long)builds);
	assert_true(hits > builds);
	selcache_free(sc);
	cluster_free(&kept);
	polset_free(&ps);
	kube_store_free(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_equals_fresh),
		cmocka_unit_test(test_unchanged_is_free),
		cmocka_unit_test(test_cache_equals_fresh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
