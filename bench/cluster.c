/*
 * cluster.c - bench: what a cluster of Nodes and Pods costs the control
 * thread, without an API server: the store filled with the digests a
 * reflector keeps (kstore_obj_make of realistic objects), then one reload's
 * steps timed apart (median of --rounds):
 *
 *   store      the digests' heap (mallinfo2 before and after filling)
 *   endpoints  endpoints_load: digests to auto host endpoints and pods, from
 *              nothing, then on the cluster kept from the last reload after
 *              one pod changed (what a reload under churn pays)
 *   compile    hostenv_build + compile_ruleset with rule selectors over
 *              nodes, pods, namespaces and service accounts, from nothing,
 *              then with the selector cache after one pod changed
 *   compare    ruleset_widens and ruleset_changed_at against a table
 *              compiled with one pod less
 *
 *   bench/cluster [--nodes N] [--pods N] [--namespaces N] [--rounds N]
 *
 * Single-threaded. bench/RESULTS.md records its figures.
 */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchlib.h"
#include "compile.h"
#include "endpoints.h"
#include "hostenv.h"
#include "kube_int.h"
#include "ruleset.h"
#include "selcache.h"

/* kube-controllers' default: every Node's "<node>-auto-hep" */
static const struct autohep_cfg autohep_on = { .enabled = true, .create_default = true };

#define MAX_ROUNDS	15

static const char policy[] =
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: node-0-eth0, labels: {role: node}}\n"
	"spec: {node: node-0, interfaceName: eth0, expectedIPs: [10.0.0.1]}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: GlobalNetworkPolicy\n"
	"metadata: {name: node-ingress}\n"
	"spec:\n"
	"  selector: role == 'node'\n"
	"  ingress:\n"
	"  - {action: Allow, source: {nets: [127.0.0.0/8]}}\n"
	"  - {action: Allow, protocol: TCP, source: {selector: has(lke.linode.com/pool-id)},\n"
	"     destination: {ports: [10250, 179]}}\n"
	"  - {action: Allow, protocol: TCP, source: {selector: app == 'prometheus',\n"
	"     namespaceSelector: team == 'observability'}, destination: {ports: [9100]}}\n"
	"  - {action: Allow, protocol: TCP, source: {serviceAccounts: {names: [ingress]}},\n"
	"     destination: {ports: [30000:32767]}}\n"
	"  - {action: Allow, protocol: UDP, source: {selector: has(k8s-app), namespaceSelector:\n"
	"     kubernetes.io/metadata.name == 'kube-system'}, destination: {ports: [53]}}\n"
	"  - {action: Deny, source: {selector: quarantine == 'true'}}\n"
	"  - {action: Allow, protocol: TCP, source: {selector: tier == 'frontend'},\n"
	"     destination: {ports: [8080]}}\n"
	"  - action: Deny\n";

static char *
node_json(unsigned i)
{
	char *s;

	if (asprintf(&s,
		"{\"metadata\":{\"name\":\"node-%u\",\"labels\":{\"kubernetes.io/hostname\":"
		"\"node-%u\",\"kubernetes.io/os\":\"linux\",\"kubernetes.io/arch\":\"amd64\","
		"\"node.kubernetes.io/instance-type\":\"g6-standard-8\",\"topology.kubernetes.io/"
		"region\":\"eu-central\",\"topology.kubernetes.io/zone\":\"eu-central-%u\","
		"\"lke.linode.com/pool-id\":\"%u\",\"beta.kubernetes.io/os\":\"linux\"},"
		"\"annotations\":{\"projectcalico.org/IPv4Address\":\"10.%u.%u.%u/16\","
		"\"node.alpha.kubernetes.io/ttl\":\"0\"}},\"spec\":{\"podCIDR\":\"10.244.%u.0/24\"},"
		"\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.%u.%u.%u\"},"
		"{\"type\":\"ExternalIP\",\"address\":\"172.%u.%u.%u\"},{\"type\":\"Hostname\","
		"\"address\":\"node-%u\"}]}}", i, i, i % 3, i % 40,
		i >> 16 & 255, i >> 8 & 255, i & 255, i & 255, i >> 16 & 255, i >> 8 & 255,
		i & 255, 16 + (i >> 16 & 15), i >> 8 & 255, i & 255, i) < 0)
		return NULL;
	return s;
}

static char *
pod_json(unsigned i, unsigned nns, unsigned nodes, bool quarantine)
{
	static const char *const apps[] = { "web", "api", "worker", "prometheus", "cache",
					    "coredns", "ingress" };
	unsigned ns = i % nns, app = i % 7;
	char *s;

	if (asprintf(&s,
		"{\"metadata\":{\"name\":\"%s-%u\",\"namespace\":\"ns-%u\",\"labels\":{\"app\":"
		"\"%s\",\"pod-template-hash\":\"%08x\",\"tier\":\"%s\",\"version\":\"v%u\"%s%s},"
		"\"annotations\":{\"kubectl.kubernetes.io/restartedAt\":\"2026-12-01T00:00:00Z\"}},"
		"\"spec\":{\"nodeName\":\"node-%u\",\"serviceAccountName\":\"%s\",\"containers\":"
		"[{\"name\":\"main\",\"image\":\"registry.example/%s:1.%u\",\"ports\":[{\"name\":"
		"\"http\",\"containerPort\":8080,\"protocol\":\"TCP\"},{\"name\":\"metrics\","
		"\"containerPort\":9090}]}]},\"status\":{\"phase\":\"Running\",\"podIP\":"
		"\"10.%u.%u.%u\",\"podIPs\":[{\"ip\":\"10.%u.%u.%u\"}]}}",
		apps[app], i, ns, apps[app], i * 2654435761u, app < 2 ? "frontend" : "backend",
		i % 5, app == 5 ? ",\"k8s-app\":\"kube-dns\"" : "",
		quarantine ? ",\"quarantine\":\"true\"" : "", i % nodes,
		app == 6 ? "ingress" : "default", apps[app], i % 9,
		128 + (i >> 16 & 63), i >> 8 & 255, i & 255, 128 + (i >> 16 & 63), i >> 8 & 255,
		i & 255) < 0)
		return NULL;
	return s;
}

/* Objects of one kind, gathered as a reflector's list gathers them. */
struct list {
	struct kube_obj *v;
	size_t n;
};

/* One object into @l, as a reflector keeps it. */
static void
put(struct list *l, enum kube_kind k, char *json)
{
	struct kube_obj *o;

	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	if (l->v == NULL || json == NULL)
		exit(1);
	o = &l->v[l->n++];
	if (kstore_obj_make((struct jspan){ json, strlen(json) }, k, "v1", o) != 0) {
		fprintf(stderr, "cluster: cannot make an object\n");
		exit(1);
	}
	free(json);
}

/* hostenv + compile for @cl (@sc: the selector cache, or NULL). */
static struct ruleset *
compile_for(struct polset *ps, const struct cluster *cl, struct selcache *sc)
{
	struct hostenv_opts o = { .node = "node-0", .failsafe_in = "none", .failsafe_out = "none",
				  .cluster = cl, .selcache = sc };
	struct cidr a = { .family = AF_INET, .plen = 32 };
	struct ruleset *rs;
	struct hostenv env;
	char why[200];

	if (hostenv_build(&env, ps, &o, why, sizeof(why)) != 0) {
		fprintf(stderr, "cluster: %s\n", why);
		exit(1);
	}
	a.addr.lo = 0x0a000001;
	if (hostenv_add_iface(&env, 1, "eth0", &a, 1) != 0)
		exit(1);
	rs = compile_ruleset(&env);
	if (rs == NULL)
		exit(1);
	hostenv_free(&env);
	return rs;
}

/* One reload's steps from nothing: the cluster, the table. Times in seconds into @t. */
static struct ruleset *
reload(struct kube_store *st, struct polset *ps, double t[2], size_t *npods)
{
	struct node_info self = { .found = false };
	struct ruleset *rs;
	struct cluster cl;
	double t0;

	labels_init(&self.labels);
	cluster_init(&cl);
	t0 = bench_now_s();
	if (endpoints_load(st, "node-0", &autohep_on, 1, &cl, &self) != 0 ||
	    endpoints_netsets(&cl, ps) != 0)
		exit(1);
	t[0] = bench_now_s() - t0;
	*npods = cl.nweps;
	t0 = bench_now_s();
	rs = compile_for(ps, &cl, NULL);
	t[1] = bench_now_s() - t0;
	cluster_free(&cl);
	labels_free(&self.labels);
	return rs;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/*
 * The cluster and the selector cache kept between reloads: @rounds times one pod
 * changes, then the sync (into @tk) and the compile (into @tkc); what they keep
 * between reloads into *@kept_mib. 0, or 1 when a step failed.
 */
static int
kept_rounds(struct kube_store *st, struct polset *ps, unsigned nodes, unsigned nns,
	    unsigned rounds, double *tk, double *tkc, double *kept_mib)
{
	struct node_info self = { .found = false };
	struct selcache *sc = selcache_new();
	struct cluster kept;
	struct mallinfo2 k0, k1;
	char *pod;

	labels_init(&self.labels);
	cluster_init(&kept);
	k0 = mallinfo2();
	if (sc == NULL || endpoints_load(st, "node-0", &autohep_on, 1, &kept, &self) != 0)
		return 1;
	selcache_sync(sc, &kept);
	ruleset_free(compile_for(ps, &kept, sc));	/* the cache's first fill */
	selcache_sweep(sc);
	cluster_retired_free(&kept);
	k1 = mallinfo2();
	*kept_mib = (double)(k1.uordblks - k0.uordblks) / (1 << 20);
	for (unsigned r = 0; r < rounds; r++) {
		struct list one = { NULL, 0 };
		double t0;

		pod = pod_json(1000 + r, nns, nodes, r % 2 == 0);	/* relabelled */
		put(&one, KK_POD, pod);
		if (kstore_upsert(st, KK_POD, one.v[0].key, one.v[0].json,
				  strlen(one.v[0].json)) != 0)
			return 1;
		kstore_objs_free(one.v, one.n);
		t0 = bench_now_s();
		if (endpoints_load(st, "node-0", &autohep_on, 1, &kept, &self) != 0)
			return 1;
		tk[r] = bench_now_s() - t0;
		t0 = bench_now_s();
		selcache_sync(sc, &kept);
		ruleset_free(compile_for(ps, &kept, sc));
		tkc[r] = bench_now_s() - t0;
		cluster_retired_free(&kept);
		selcache_sweep(sc);
	}
	selcache_free(sc);
	cluster_free(&kept);
	labels_free(&self.labels);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nodes", required_argument, NULL, 'n' }, { "pods", required_argument, NULL, 'p' },
		{ "namespaces", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 },
	};
	unsigned nodes = 5000, pods = 150000, nns = 500, rounds = 5;
	double te[MAX_ROUNDS], tc[MAX_ROUNDS], tw[MAX_ROUNDS], tca[MAX_ROUNDS], tk[MAX_ROUNDS];
	double tkc[MAX_ROUNDS], t[2], kept_mib = 0;
	struct mallinfo2 m0, m1;
	struct list lists[3] = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
	struct kube_store st;
	struct polset ps;
	struct ruleset *rs = NULL, *rs2;
	size_t npods = 0, ncarry = 0;
	struct cidr carry[64];
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		unsigned long v = strtoul(optarg ? optarg : "0", NULL, 10);

		switch (c) {
		case 'n': nodes = (unsigned)v; break;
		case 'p': pods = (unsigned)v; break;
		case 's': nns = (unsigned)v; break;
		case 'r': rounds = (unsigned)v; break;
		default:
			fprintf(stderr, "usage: cluster [--nodes N] [--pods N] [--namespaces N] "
				"[--rounds N]\n");
			return 2;
		}
	}
	if (nodes == 0 || nns == 0 || rounds == 0 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "cluster: nodes, namespaces and rounds (1-%d) must be positive\n",
			MAX_ROUNDS);
		return 2;
	}
	if (kube_store_init(&st) != 0)
		return 1;
	m0 = mallinfo2();
	for (unsigned i = 0; i < nodes; i++)
		put(&lists[0], KK_NODE, node_json(i));
	for (unsigned i = 0; i < nns; i++) {
		char *s;

		if (asprintf(&s, "{\"metadata\":{\"name\":\"ns-%u\",\"labels\":{\"kubernetes.io/"
			     "metadata.name\":\"ns-%u\",\"team\":\"%s\"}}}", i, i,
			     i % 10 == 0 ? "observability" : "apps") < 0)
			return 1;
		put(&lists[1], KK_NAMESPACE, s);
	}
	for (unsigned i = 0; i < pods; i++)
		put(&lists[2], KK_POD, pod_json(i, nns, nodes, i % 1000 == 999));
	kstore_replace(&st, KK_NODE, lists[0].v, lists[0].n, false);
	kstore_replace(&st, KK_NAMESPACE, lists[1].v, lists[1].n, false);
	kstore_replace(&st, KK_POD, lists[2].v, lists[2].n, false);
	m1 = mallinfo2();
	polset_init(&ps);
	if (polset_load_buffer(&ps, "bench.yaml", policy, strlen(policy)) != 0 ||
	    ps.diags.nerr != 0) {
		fprintf(stderr, "cluster: the bench policy does not load\n");
		return 1;
	}
	for (unsigned r = 0; r < rounds; r++) {
		ruleset_free(rs);
		rs = reload(&st, &ps, t, &npods);
		te[r] = t[0];
		tc[r] = t[1];
	}
	printf("cluster: %u nodes, %u pods (%zu of them endpoints), %u namespaces\n",
	       nodes, pods, npods, nns);
	/* the cluster kept between reloads: one pod changes, then the sync */
	if (kept_rounds(&st, &ps, nodes, nns, rounds, tk, tkc, &kept_mib) != 0)
		return 1;
	/* one pod less: prometheus-10 of ns-10, an observability namespace (selected) */
	kstore_delete(&st, KK_POD, "ns-10/prometheus-10");
	rs2 = reload(&st, &ps, t, &npods);
	for (unsigned r = 0; r < rounds; r++) {
		double t0 = bench_now_s();

		if (ruleset_widens(rs, rs2))
			fprintf(stderr, "cluster: a pod less widens?\n");
		tw[r] = bench_now_s() - t0;
		t0 = bench_now_s();
		if (!ruleset_changed_at(rs, rs2, carry, 64, &ncarry))
			fprintf(stderr, "cluster: a pod less is not a change at its address?\n");
		tca[r] = bench_now_s() - t0;
	}
	printf("  store (digests, index) %5.1f MiB  (%.0f bytes per object)\n",
	       (double)(m1.uordblks - m0.uordblks) / (1 << 20),
	       (double)(m1.uordblks - m0.uordblks) / (nodes + pods + nns));
	printf("  cluster kept + selector cache %.1f MiB (between reloads)\n", kept_mib);
	printf("  endpoints_load      %8.1f ms   (median of %u)\n", median(te, (int)rounds) * 1e3,
	       rounds);
	printf("  endpoints_load kept %8.1f ms   (the last reload's cluster, one pod changed)\n",
	       median(tk, (int)rounds) * 1e3);
	printf("  hostenv + compile   %8.1f ms\n", median(tc, (int)rounds) * 1e3);
	printf("  ... with the cache  %8.1f ms   (selector sets kept, one pod changed)\n",
	       median(tkc, (int)rounds) * 1e3);
	printf("  ruleset_widens      %8.3f ms   (one pod less: no)\n",
	       median(tw, (int)rounds) * 1e3);
	printf("  ruleset_changed_at  %8.3f ms   (one pod less: %zu CIDR)\n",
	       median(tca, (int)rounds) * 1e3, ncarry);
	printf("  table               %8zu bytes\n", ruleset_size(rs));
	ruleset_free(rs);
	ruleset_free(rs2);
	polset_free(&ps);
	kube_store_free(&st);
	return 0;
}
