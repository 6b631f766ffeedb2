/*
 * test_endpoints.c - from the Kubernetes store's digests to what rule
 * selectors see (control/daemon/endpoints.c, control/policy/cluster.c):
 * the store is filled as a reflector fills it (kstore_obj_make of whole API
 * objects), then endpoints_load builds the cluster: this node's own labels
 * and addresses, the other Nodes' auto host endpoints, and the pods with
 * Calico's labels (implicit ones winning, pcns.* and pcsa.* lent by the
 * Namespace and ServiceAccount), addresses and named ports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoints.h"
#include "kube_int.h"

/* ---- fixture ------------------------------------------------------------------------------ */

struct fx {
	struct kube_store st;
	struct cluster cl;
	struct node_info self;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || kube_store_init(&f->st) < 0) {
		free(f);
		return -1;
	}
	cluster_init(&f->cl);
	labels_init(&f->self.labels);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	cluster_free(&f->cl);
	labels_free(&f->self.labels);
	kube_store_free(&f->st);
	free(f);
	return 0;
}

/* Put the API object @json of kind @k into the store as a reflector would: its digest
 * under its key. Returns kstore_obj_make's result (a dropped pod is not stored). */
static int
put_rc(struct kube_store *st, enum kube_kind k, const char *json)
{
	struct kube_obj o;
	int rc = kstore_obj_make((struct jspan){ json, strlen(json) }, k, "v1", &o);

	if (rc == 0)
		assert_int_equal(kstore_upsert(st, k, o.key, o.json, strlen(o.json)), 0);
	free(o.key);
	free(o.json);
	return rc;
}

static void
put(struct kube_store *st, enum kube_kind k, const char *json)
{
	assert_int_equal(put_rc(st, k, json), 0);
}

static void
load(struct fx *f, const char *self, bool auto_hep)
{
	cluster_free(&f->cl);
	labels_free(&f->self.labels);
	memset(&f->self, 0, sizeof(f->self));
	labels_init(&f->self.labels);
	struct autohep_cfg cfg = { .enabled = auto_hep, .create_default = true };

	assert_int_equal(endpoints_load(&f->st, self, &cfg, auto_hep, &f->cl, &f->self), 0);
}

static const struct hep *
find_hep(const struct cluster *cl, const char *name)
{
	for (size_t i = 0; i < cl->nheps; i++)
		if (strcmp(cl->heps[i]->name, name) == 0)
			return cl->heps[i];
	return NULL;
}

static const struct wep *
find_wep(const struct cluster *cl, const char *key)
{
	for (size_t i = 0; i < cl->nweps; i++)
		if (strcmp(cl->weps[i].key, key) == 0)
			return &cl->weps[i];
	return NULL;
}

static const struct wep_parent *
find_parent(const struct cluster *cl, const char *key)
{
	for (size_t i = 0; i < cl->nparents; i++)
		if (strcmp(cl->parents[i]->key, key) == 0)
			return cl->parents[i];
	fail_msg("no namespace or service account %s", key);
	return NULL;
}

/* The addresses @v[@n] as "a/len,b/len". */
static const char *
ips_text(const struct cidr *v, size_t n, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char one[CIDR_STRLEN];

		o += (size_t)snprintf(buf + o, o < size ? size - o : 0, "%s%s", i ? "," : "",
				      cidr_format(&v[i], one));
	}
	return buf;
}

#define ASSERT_IPS(v, n, want) do { \
	char ips_buf_[512]; \
	assert_string_equal(ips_text((v), (n), ips_buf_, sizeof(ips_buf_)), (want)); \
} while (0)

/* labels_get(@l, @key) is @want (NULL: absent). */
#define ASSERT_LABEL(l, key, want) do { \
	const char *got_ = labels_get((l), (key)); \
	if ((want) == NULL) { \
		if (got_ != NULL) \
			fail_msg("label %s is \"%s\", wanted none", (key), got_); \
	} else { \
		if (got_ == NULL) \
			fail_msg("label %s is absent, wanted \"%s\"", (key), (const char *)(want)); \
		assert_string_equal(got_, (want)); \
	} \
} while (0)

static const char *const NONE = NULL;

/* ---- Nodes -------------------------------------------------------------------------------- */

#define NODE(name, labels, annotations, addresses) \
	"{\"metadata\":{\"name\":\"" name "\",\"resourceVersion\":\"5\",\"labels\":{" labels "}," \
	"\"annotations\":{" annotations "},\"managedFields\":[{\"manager\":\"kubelet\"}]}," \
	"\"spec\":{\"podCIDR\":\"10.244.0.0/24\"},\"status\":{\"conditions\":[{\"type\":" \
	"\"Ready\",\"status\":\"True\"}],\"addresses\":[" addresses "],\"images\":[{\"names\":" \
	"[\"registry.k8s.io/pause:3.9\"],\"sizeBytes\":321520}]}}"

static void
put_nodes(struct kube_store *st)
{
	put(st, KK_NODE,
	    NODE("n1", "\"kubernetes.io/hostname\":\"n1\",\"zone\":\"a\"",
		 "\"projectcalico.org/IPv4Address\":\"10.0.0.5/24\"",
		 "{\"type\":\"InternalIP\",\"address\":\"10.0.0.5\"},"
		 "{\"type\":\"Hostname\",\"address\":\"n1\"}"));
	put(st, KK_NODE,
	    NODE("n2", "\"kubernetes.io/hostname\":\"n2\",\"pool\":\"blue\",\"zone\":\"b\"",
		 "\"projectcalico.org/IPv4Address\":\"10.0.0.6/24\","
		 "\"projectcalico.org/IPv4IPIPTunnelAddr\":\"10.244.2.1\","
		 "\"projectcalico.org/IPv6Address\":\"fd00::6/64\","
		 "\"projectcalico.org/ASNumber\":\"64512\","
		 "\"projectcalico.org/Interfaces\":\"[{\\\"name\\\":\\\"eth0\\\",\\\"addresses\\\":"
		 "[\\\"10.0.0.6/24\\\",\\\"fd00::6/64\\\"]},{\\\"name\\\":\\\"eth1\\\","
		 "\\\"addresses\\\":[\\\"192.168.5.6/24\\\",\\\"deadbeef\\\"]}]\"",
		 "{\"type\":\"InternalIP\",\"address\":\"10.0.0.6\"},"
		 "{\"type\":\"ExternalIP\",\"address\":\"203.0.113.6\"},"
		 "{\"type\":\"InternalIP\",\"address\":\"fd00::6\"},"
		 "{\"type\":\"Hostname\",\"address\":\"n2\"}"));
	/* a Node without any address (yet): an auto HEP all the same, with no expectedIPs */
	put(st, KK_NODE, NODE("n3", "\"kubernetes.io/hostname\":\"n3\"", "", ""));
}

static void
test_nodes(void **state)
{
	struct fx *f = *state;
	const struct hep *h;

	put_nodes(&f->st);
	load(f, "n1", true);

	/* this node: its labels and addresses, no auto HEP among the others' */
	assert_true(f->self.found);
	ASSERT_LABEL(&f->self.labels, "zone", "a");
	ASSERT_LABEL(&f->self.labels, "kubernetes.io/hostname", "n1");
	ASSERT_LABEL(&f->self.labels, "projectcalico.org/created-by", NONE);
	ASSERT_IPS(f->self.ips, f->self.nips, "10.0.0.5/32");
	assert_null(find_hep(&f->cl, "n1-auto-hep"));
	assert_int_equal(f->cl.nheps, 2);
	assert_int_equal(f->cl.nweps, 0);

	/* n2: Calico's auto host endpoint */
	h = find_hep(&f->cl, "n2-auto-hep");
	assert_non_null(h);
	assert_string_equal(h->node, "n2");
	assert_string_equal(h->iface, "*");
	assert_true(h->synthetic);
	assert_int_equal(h->nprofiles, 1);
	assert_string_equal(h->profiles[0], PROFILE_DEFAULT_ALLOW);
	assert_int_equal(h->nports, 0);
	ASSERT_LABEL(&h->labels, "pool", "blue");
	ASSERT_LABEL(&h->labels, "zone", "b");
	ASSERT_LABEL(&h->labels, "kubernetes.io/hostname", "n2");
	ASSERT_LABEL(&h->labels, "projectcalico.org/created-by", "calico-kube-controllers");
	assert_int_equal(h->labels.n, 4);
	/* every address once, as a host address, in the digest's order; the ExternalIP and
	 * what is no address are not there */
	ASSERT_IPS(h->ips, h->nips, "10.0.0.6/32,10.244.2.1/32,fd00::6/128,192.168.5.6/32");

	h = find_hep(&f->cl, "n3-auto-hep");
	assert_non_null(h);
	assert_int_equal(h->nips, 0);
	ASSERT_LABEL(&h->labels, "kubernetes.io/hostname", "n3");
	ASSERT_LABEL(&h->labels, "projectcalico.org/created-by", "calico-kube-controllers");
}

/* Without --auto-host-endpoint no Node is a HEP; this node's information is still read. */
static void
test_nodes_no_auto_hep(void **state)
{
	struct fx *f = *state;

	put_nodes(&f->st);
	load(f, "n1", false);
	assert_int_equal(f->cl.nheps, 0);
	assert_true(f->self.found);
	ASSERT_LABEL(&f->self.labels, "zone", "a");
	ASSERT_IPS(f->self.ips, f->self.nips, "10.0.0.5/32");

	/* a node name not in the store: nothing found */
	load(f, "n9", true);
	assert_false(f->self.found);
	assert_int_equal(f->self.nips, 0);
	assert_int_equal(f->cl.nheps, 3);
	assert_non_null(find_hep(&f->cl, "n1-auto-hep"));

	/* no own node at all: every Node is another */
	load(f, NULL, true);
	assert_false(f->self.found);
	assert_int_equal(f->cl.nheps, 3);
}

/* endpoints_node alone: dedup across address sources, prefixes dropped, junk skipped, bound. */
static void
test_endpoints_node(void **state)
{
	struct node_info ni;
	char digest[4096];
	size_t n;

	(void)state;
	memset(&ni, 0, sizeof(ni));
	labels_init(&ni.labels);
	assert_int_equal(endpoints_node("{\"name\":\"x\",\"labels\":{\"a\":\"1\",\"b\":\"2\"},"
					"\"ips\":[\"10.1.1.1/16\",\"10.1.1.1\",\"not-an-ip\","
					"\"fd00::1/64\",\"FD00::1\",\"10.1.1.2/33\",\"\","
					"\"10.1.1.3,10.1.1.4\"]}", &ni), 0);
	assert_true(ni.found);
	ASSERT_LABEL(&ni.labels, "a", "1");
	ASSERT_LABEL(&ni.labels, "b", "2");
	/* the address before a bad prefix is still the address (the prefix is dropped) */
	ASSERT_IPS(ni.ips, ni.nips, "10.1.1.1/32,fd00::1/128,10.1.1.2/32,10.1.1.3/32,10.1.1.4/32");
	labels_free(&ni.labels);

	/* more distinct addresses than NODE_MAX_IPS: the first ones are kept */
	memset(&ni, 0, sizeof(ni));
	labels_init(&ni.labels);
	n = (size_t)snprintf(digest, sizeof(digest), "{\"name\":\"x\",\"labels\":{},\"ips\":[");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(digest + n, sizeof(digest) - n, "%s\"10.9.0.%d\"", i ? "," : "",
				      i);
	snprintf(digest + n, sizeof(digest) - n, "]}");
	assert_int_equal(endpoints_node(digest, &ni), 0);
	assert_int_equal(ni.nips, NODE_MAX_IPS);
	{
		char one[CIDR_STRLEN];

		assert_string_equal(cidr_format(&ni.ips[NODE_MAX_IPS - 1], one), "10.9.0.15/32");
	}
	labels_free(&ni.labels);
}

/* ---- Pods --------------------------------------------------------------------------------- */

#define NS(name, labels) \
	"{\"metadata\":{\"name\":\"" name "\",\"uid\":\"u\",\"labels\":{" labels "}}," \
	"\"spec\":{\"finalizers\":[\"kubernetes\"]},\"status\":{\"phase\":\"Active\"}}"
#define SA(ns, name, labels) \
	"{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\",\"labels\":{" labels "}}," \
	"\"secrets\":[{\"name\":\"" name "-token\"}]}"
#define POD(ns, name, sa, labels, ann, containers, status) \
	"{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\",\"labels\":{" labels "}," \
	"\"annotations\":{" ann "},\"managedFields\":[{\"manager\":\"kubelet\"}]}," \
	"\"spec\":{\"nodeName\":\"n2\",\"serviceAccountName\":\"" sa "\",\"containers\":[" \
	containers "]},\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\"}]" \
	status "}}"
#define IPS(a) ",\"podIP\":\"" a "\",\"podIPs\":[{\"ip\":\"" a "\"}]"

static void
put_workloads(struct kube_store *st)
{
	put(st, KK_NAMESPACE, NS("shop", "\"kubernetes.io/metadata.name\":\"shop\",\"team\":\"obs\","
				 "\"projectcalico.org/name\":\"fake\""));
	put(st, KK_SA, SA("shop", "web-sa", "\"tier\":\"front\",\"team\":\"sa-team\""));
	put(st, KK_SA, SA("shop", "default", ""));
	put(st, KK_POD,
	    POD("shop", "web-1", "web-sa",
		"\"app\":\"web\",\"team\":\"own\","
		/* the implicit labels cannot be forged by the pod */
		"\"projectcalico.org/namespace\":\"kube-system\","
		"\"projectcalico.org/orchestrator\":\"none\","
		"\"projectcalico.org/serviceaccount\":\"admin\","
		/* nor can the labels its Namespace and ServiceAccount lend */
		"\"pcns.team\":\"forged\",\"pcsa.tier\":\"forged\",\"pcns.only-pod\":\"x\","
		"\"pcsa.only-pod\":\"x\"",
		"\"cni.projectcalico.org/podIP\":\"10.244.2.17/32\"",
		"{\"name\":\"web\",\"image\":\"web:1\",\"ports\":["
		"{\"name\":\"http\",\"containerPort\":8080,\"protocol\":\"TCP\"},"
		"{\"name\":\"dns\",\"containerPort\":53,\"protocol\":\"UDP\"},"
		"{\"name\":\"diameter\",\"containerPort\":3868,\"protocol\":\"SCTP\"},"
		"{\"name\":\"weird\",\"containerPort\":7,\"protocol\":\"ICMP\"},"
		"{\"name\":\"lower\",\"containerPort\":8,\"protocol\":\"tcp\"},"
		"{\"name\":\"huge\",\"containerPort\":70000,\"protocol\":\"TCP\"},"
		"{\"name\":\"metrics\",\"containerPort\":9102}]}",
		IPS("10.244.2.17")));
	/* a namespace and service account never listed (not synced yet, or no Role for them) */
	put(st, KK_POD,
	    POD("ghost", "g-1", "default", "\"app\":\"g\"", "", "",
		",\"podIPs\":[{\"ip\":\"10.244.3.3\"},{\"ip\":\"fd00:244:3::3\"}]"));
	/* no service account name at all */
	put(st, KK_POD,
	    "{\"metadata\":{\"name\":\"bare\",\"namespace\":\"shop\"},\"spec\":{\"nodeName\":"
	    "\"n2\"},\"status\":{\"podIP\":\"10.244.2.50\"}}");
	/* addresses from Calico's podIPs annotation: comma-separated, with prefixes, one
	 * repeated and one that does not parse */
	put(st, KK_POD,
	    POD("shop", "ann-1", "default", "\"app\":\"ann\"",
		"\"cni.projectcalico.org/podIPs\":\"10.244.2.60/26,bogus,fd00:244:2::3c/128,"
		"10.244.2.60\"", "", ""));
	/* no usable address at all: not an endpoint */
	put(st, KK_POD, POD("shop", "junk-ip", "default", "\"app\":\"junk\"", "", "",
			    IPS("not-an-address")));
}

static void
test_pods(void **state)
{
	struct fx *f = *state;
	const struct wep *w;
	const struct labels *l;

	put_nodes(&f->st);
	put_workloads(&f->st);
	/* pods that are no endpoints never reach the store */
	assert_int_equal(put_rc(&f->st, KK_POD,
				"{\"metadata\":{\"name\":\"done\",\"namespace\":\"shop\"},"
				"\"spec\":{\"nodeName\":\"n2\"},\"status\":{\"phase\":"
				"\"Succeeded\"" IPS("10.244.2.99") "}}"),
			 KUBE_TRIM_DROP);
	assert_int_equal(put_rc(&f->st, KK_POD,
				"{\"metadata\":{\"name\":\"hn\",\"namespace\":\"kube-system\"},"
				"\"spec\":{\"nodeName\":\"n2\",\"hostNetwork\":true},"
				"\"status\":{\"podIP\":\"10.0.0.6\"}}"), KUBE_TRIM_DROP);
	load(f, "n1", true);
	assert_int_equal(f->cl.nheps, 2);
	assert_int_equal(f->cl.nweps, 4);
	assert_null(find_wep(&f->cl, "shop/junk-ip"));
	assert_null(find_wep(&f->cl, "shop/done"));

	w = find_wep(&f->cl, "shop/web-1");
	assert_non_null(w);
	l = &w->labels;
	ASSERT_IPS(w->ips, w->nips, "10.244.2.17/32");
	/* its own labels */
	ASSERT_LABEL(l, "app", "web");
	ASSERT_LABEL(l, "team", "own");
	/* the implicit ones win over the pod's own */
	ASSERT_LABEL(l, "projectcalico.org/namespace", "shop");
	ASSERT_LABEL(l, "projectcalico.org/orchestrator", "k8s");
	ASSERT_LABEL(l, "projectcalico.org/serviceaccount", "web-sa");
	/* the Namespace's labels as pcns.*, its name (not its forged label) */
	ASSERT_LABEL(l, "pcns.team", "obs");
	ASSERT_LABEL(l, "pcns.kubernetes.io/metadata.name", "shop");
	ASSERT_LABEL(l, "pcns.projectcalico.org/name", "shop");
	/* the ServiceAccount's as pcsa.* */
	ASSERT_LABEL(l, "pcsa.tier", "front");
	ASSERT_LABEL(l, "pcsa.team", "sa-team");
	ASSERT_LABEL(l, "pcsa.projectcalico.org/name", "web-sa");
	/* the pod's own pcns.* and pcsa.* are dropped, not just shadowed */
	ASSERT_LABEL(l, "pcns.only-pod", NONE);
	ASSERT_LABEL(l, "pcsa.only-pod", NONE);
	/* nothing unprefixed is lent */
	ASSERT_LABEL(l, "tier", NONE);
	ASSERT_LABEL(l, "projectcalico.org/name", NONE);
	/* only the pod's own pairs are stored in the pod: the rest is shared */
	assert_int_equal(l->n, 5);
	/* named ports: TCP, UDP, SCTP and the default; unknown protocols and ports skipped */
	assert_int_equal(w->nports, 4);
	assert_string_equal(w->ports[0].name, "http");
	assert_int_equal(w->ports[0].proto, IPPROTO_TCP);
	assert_int_equal(w->ports[0].port, 8080);
	assert_string_equal(w->ports[1].name, "dns");
	assert_int_equal(w->ports[1].proto, IPPROTO_UDP);
	assert_int_equal(w->ports[1].port, 53);
	assert_string_equal(w->ports[2].name, "diameter");
	assert_int_equal(w->ports[2].proto, IPPROTO_SCTP);
	assert_int_equal(w->ports[2].port, 3868);
	assert_string_equal(w->ports[3].name, "metrics");
	assert_int_equal(w->ports[3].proto, IPPROTO_TCP);
	assert_int_equal(w->ports[3].port, 9102);

	/* unlisted Namespace and ServiceAccount: the implicit labels, no profile names */
	w = find_wep(&f->cl, "ghost/g-1");
	assert_non_null(w);
	ASSERT_IPS(w->ips, w->nips, "10.244.3.3/32,fd00:244:3::3/128");
	ASSERT_LABEL(&w->labels, "app", "g");
	ASSERT_LABEL(&w->labels, "projectcalico.org/namespace", "ghost");
	ASSERT_LABEL(&w->labels, "projectcalico.org/orchestrator", "k8s");
	ASSERT_LABEL(&w->labels, "projectcalico.org/serviceaccount", "default");
	ASSERT_LABEL(&w->labels, "pcns.projectcalico.org/name", NONE);
	ASSERT_LABEL(&w->labels, "pcsa.projectcalico.org/name", NONE);
	assert_int_equal(w->nports, 0);

	/* the Namespace and ServiceAccount objects seen are marked, the others not */
	assert_true(find_parent(&f->cl, "shop")->listed);
	assert_true(find_parent(&f->cl, "shop/web-sa")->listed);
	assert_false(find_parent(&f->cl, "ghost")->listed);
	assert_false(find_parent(&f->cl, "ghost/default")->listed);

	/* no service account: no serviceaccount label, the namespace's labels all the same */
	w = find_wep(&f->cl, "shop/bare");
	assert_non_null(w);
	ASSERT_IPS(w->ips, w->nips, "10.244.2.50/32");
	ASSERT_LABEL(&w->labels, "projectcalico.org/namespace", "shop");
	ASSERT_LABEL(&w->labels, "projectcalico.org/serviceaccount", NONE);
	ASSERT_LABEL(&w->labels, "pcns.team", "obs");
	ASSERT_LABEL(&w->labels, "pcns.projectcalico.org/name", "shop");
	ASSERT_LABEL(&w->labels, "pcsa.projectcalico.org/name", NONE);
	ASSERT_LABEL(&w->labels, "pcsa.tier", NONE);

	/* the annotation's comma-separated addresses, each once, as host addresses */
	w = find_wep(&f->cl, "shop/ann-1");
	assert_non_null(w);
	ASSERT_IPS(w->ips, w->nips, "10.244.2.60/32,fd00:244:2::3c/128");
	/* a listed ServiceAccount without labels still names itself */
	ASSERT_LABEL(&w->labels, "pcsa.projectcalico.org/name", "default");
	ASSERT_LABEL(&w->labels, "projectcalico.org/serviceaccount", "default");
	ASSERT_LABEL(&w->labels, "pcsa.tier", NONE);
}

/* The order the store lists kinds in does not matter: pods loaded, then the Namespace
 * arrives in the next reload; and two pods share one Namespace's labels. */
static void
test_pods_namespace_later(void **state)
{
	struct fx *f = *state;
	const struct wep *a, *b;

	put(&f->st, KK_POD, POD("obs", "prom-0", "prometheus", "\"app\":\"prometheus\"", "", "",
				IPS("10.244.5.5")));
	put(&f->st, KK_POD, POD("obs", "prom-1", "prometheus", "\"app\":\"prometheus\"", "", "",
				IPS("10.244.5.6")));
	load(f, "n1", true);
	a = find_wep(&f->cl, "obs/prom-0");
	assert_non_null(a);
	ASSERT_LABEL(&a->labels, "pcns.team", NONE);
	ASSERT_LABEL(&a->labels, "pcns.projectcalico.org/name", NONE);

	put(&f->st, KK_NAMESPACE, NS("obs", "\"team\":\"obs\""));
	put(&f->st, KK_SA, SA("obs", "prometheus", "\"role\":\"scraper\""));
	load(f, "n1", true);
	a = find_wep(&f->cl, "obs/prom-0");
	b = find_wep(&f->cl, "obs/prom-1");
	assert_non_null(a);
	assert_non_null(b);
	ASSERT_LABEL(&a->labels, "pcns.team", "obs");
	ASSERT_LABEL(&b->labels, "pcns.team", "obs");
	ASSERT_LABEL(&b->labels, "pcsa.role", "scraper");
	ASSERT_LABEL(&b->labels, "pcns.projectcalico.org/name", "obs");
	/* shared, not copied */
	assert_ptr_equal(a->labels.under, b->labels.under);
	assert_ptr_equal(a->labels.over, b->labels.over);
}

/* A pod's name is unique per namespace, not across namespaces. */
static void
test_pods_same_name(void **state)
{
	struct fx *f = *state;
	const struct wep *a, *b;

	put(&f->st, KK_NAMESPACE, NS("a", "\"env\":\"prod\""));
	put(&f->st, KK_NAMESPACE, NS("b", "\"env\":\"dev\""));
	put(&f->st, KK_POD, POD("a", "p", "default", "\"app\":\"x\"", "", "", IPS("10.1.0.1")));
	put(&f->st, KK_POD, POD("b", "p", "default", "\"app\":\"x\"", "", "", IPS("10.2.0.1")));
	load(f, NULL, false);
	assert_int_equal(f->cl.nweps, 2);
	a = find_wep(&f->cl, "a/p");
	b = find_wep(&f->cl, "b/p");
	assert_non_null(a);
	assert_non_null(b);
	ASSERT_LABEL(&a->labels, "pcns.env", "prod");
	ASSERT_LABEL(&b->labels, "pcns.env", "dev");
	ASSERT_LABEL(&a->labels, "projectcalico.org/namespace", "a");
	ASSERT_LABEL(&b->labels, "projectcalico.org/namespace", "b");
	ASSERT_IPS(a->ips, a->nips, "10.1.0.1/32");
	ASSERT_IPS(b->ips, b->nips, "10.2.0.1/32");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nodes_no_auto_hep, setup, teardown),
		cmocka_unit_test(test_endpoints_node),
		cmocka_unit_test_setup_teardown(test_pods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pods_namespace_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pods_same_name, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
