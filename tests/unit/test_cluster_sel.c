/*
 * test_cluster_sel.c - rule selectors over the rest of the cluster
 * (docs/semantics.md §6.2): a GlobalNetworkPolicy loaded from YAML, a
 * cluster built by hand (pods under namespaces and service accounts, other
 * Nodes' auto host endpoints), and packets judged by both engines, the
 * reference evaluator and the compiled table (test_eval.h). Covered:
 * namespaceSelector (labels, global(), all()), serviceAccounts (names,
 * selector, both, {}), the implicit labels, named ports of pods, and a
 * selector matching another Node's auto host endpoint. The selectors the
 * loader composes are checked as text, and what hostenv_endpoint() offers
 * them is checked with selector_match.
 */
#include "test_eval.h"

#include "cluster.h"
#include "selector.h"

/* ---- the cluster ----------------------------------------------------------------------------- */

/*
 *   obs/prom-0     sa prometheus (role=scraper)  app=prometheus   10.244.1.10, fd00:244:1::10
 *                  metrics TCP 9090
 *   other/prom-0   sa prometheus                 app=prometheus, team=obs (its own label)
 *                  10.244.2.10; metrics TCP 9091
 *   other/web-0    sa default                    app=web          10.244.2.20; metrics UDP 9092
 *   namespace obs: team=obs (listed: pcns.projectcalico.org/name); other: team=dev
 *   n2-auto-hep    pool=blue, app=prometheus     10.0.0.6, fd00::6
 *   n3-auto-hep    zone=c                        10.0.0.7
 */
static void
add_pod(struct cluster *cl, const char *ns, const char *name, const char *sa, const char *labels,
	const char *ip1, const char *ip2, const char *port, uint8_t proto, uint16_t portnum)
{
	struct wep *w = cluster_add_pod(cl, ns, name, sa);

	assert_non_null(w);
	assert_int_equal(labels_parse(labels, &w->labels), 0);
	w->ips = calloc(2, sizeof(*w->ips));
	assert_non_null(w->ips);
	w->ips[w->nips++] = mkcidr(ip1);
	if (ip2 != NULL)
		w->ips[w->nips++] = mkcidr(ip2);
	w->ports = calloc(1, sizeof(*w->ports));
	assert_non_null(w->ports);
	w->ports[0].name = strdup(port);
	assert_non_null(w->ports[0].name);
	w->ports[0].proto = proto;
	w->ports[0].port = portnum;
	w->nports = 1;
}

static void
add_node(struct cluster *cl, const char *node, const char *labels, const char *ip1,
	 const char *ip2)
{
	struct labels l;
	struct cidr ips[2];
	size_t n = 0;

	labels_init(&l);
	assert_int_equal(labels_parse(labels, &l), 0);
	ips[n++] = mkcidr(ip1);
	if (ip2 != NULL)
		ips[n++] = mkcidr(ip2);
	assert_int_equal(cluster_add_node(cl, node, &l, ips, n), 0);
	labels_free(&l);
}

static void
build_cluster(struct cluster *cl)
{
	struct wep_parent *p;

	cluster_init(cl);
	p = cluster_namespace(cl, "obs");
	assert_non_null(p);
	assert_int_equal(cluster_parent_label(p, "team", "obs"), 0);
	assert_int_equal(cluster_parent_label(p, LABEL_PROFILE_NAME, "obs"), 0);
	p = cluster_namespace(cl, "other");
	assert_non_null(p);
	assert_int_equal(cluster_parent_label(p, "team", "dev"), 0);
	p = cluster_service_account(cl, "obs", "prometheus");
	assert_non_null(p);
	assert_int_equal(cluster_parent_label(p, "role", "scraper"), 0);

	add_pod(cl, "obs", "prom-0", "prometheus", "app=prometheus", "10.244.1.10",
		"fd00:244:1::10", "metrics", IPPROTO_TCP, 9090);
	add_pod(cl, "other", "prom-0", "prometheus", "app=prometheus,team=obs", "10.244.2.10",
		NULL, "metrics", IPPROTO_TCP, 9091);
	add_pod(cl, "other", "web-0", "default", "app=web", "10.244.2.20", NULL, "metrics",
		IPPROTO_UDP, 9092);
	add_node(cl, "n2", "pool=blue,app=prometheus", "10.0.0.6", "fd00::6");
	add_node(cl, "n3", "zone=c", "10.0.0.7", NULL);
}

static void
open_with_cluster(struct fx *f, const char *yaml, const struct cluster *cl)
{
	struct hostenv_opts o = { .node = "n1", .cluster = cl };

	fx_open_opts(f, yaml, &o);
}

#define ALLOW(rule) w_rule(true, STAGE_NORMAL, "default", "sel", (rule))
#define EOT w_eot(STAGE_NORMAL, "default")

/* ---- rule source selectors ------------------------------------------------------------------ */

/* Rule i allows TCP to port 80 + i, from the sources its selectors name. */
static const char sel_yaml[] =
	HEP_BARE_ETH0
	GNP("sel")
	"  ingress:\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [80]},\n"
	"     source: {selector: app == 'prometheus', namespaceSelector: team == 'obs'}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [81]},\n"
	"     source: {selector: app == 'prometheus', namespaceSelector: global()}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [82]},\n"
	"     source: {selector: app == 'prometheus', namespaceSelector: all()}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [83]},\n"
	"     source: {selector: app == 'prometheus'}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [84]},\n"
	"     source: {serviceAccounts: {names: [prometheus]}}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [85]},\n"
	"     source: {serviceAccounts: {selector: role == 'scraper'}}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [86]},\n"
	"     source: {serviceAccounts: {names: [prometheus, default], selector: role == 'scraper'}}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [87]},\n"
	"     source: {selector: app == 'web', serviceAccounts: {names: [default]}}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [88]},\n"
	"     source: {selector: app == 'prometheus', serviceAccounts: {}}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [89]},\n"
	"     source: {serviceAccounts: {}}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [90]},\n"
	"     source: {selector: has(pool)}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [91]},\n"
	"     source: {serviceAccounts: {names: [prometheus]},\n"
	"              namespaceSelector: projectcalico.org/name == 'obs'}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [92]},\n"
	"     source: {selector: projectcalico.org/namespace == 'other'}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [93]},\n"
	"     source: {selector: team == 'obs'}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [94]},\n"
	"     source: {selector: projectcalico.org/orchestrator == 'k8s' && !has(pcsa.role)}}\n"
	"  - {action: Allow, protocol: TCP, destination: {ports: [95]},\n"
	"     source: {notSelector: app == 'prometheus'}}\n";

#define P1 "10.244.1.10"		/* obs/prom-0 */
#define P1V6 "fd00:244:1::10"
#define P2 "10.244.2.10"		/* other/prom-0 */
#define P3 "10.244.2.20"		/* other/web-0 */
#define N2 "10.0.0.6"
#define N2V6 "fd00::6"
#define N3 "10.0.0.7"

static void
test_source_selectors(void **state)
{
	struct cluster cl;
	struct fx f;

	(void)state;
	build_cluster(&cl);
	open_with_cluster(&f, sel_yaml, &cl);

	/* namespaceSelector team == 'obs': the pod in the labelled namespace, not the same
	 * labels elsewhere (not even with its own team=obs), not a host endpoint */
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 80), ALLOW(0));
	EXPECT(&f, tcp_in(P1V6, "fd00::1", 80), ALLOW(0));
	EXPECT(&f, tcp_in(P2, "10.0.0.1", 80), EOT);
	EXPECT(&f, tcp_in(N2, "10.0.0.1", 80), EOT);
	/* global(): non-namespaced endpoints only */
	EXPECT(&f, tcp_in(N2, "10.0.0.1", 81), ALLOW(1));
	EXPECT(&f, tcp_in(N2V6, "fd00::1", 81), ALLOW(1));
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 81), EOT);
	EXPECT(&f, tcp_in(P2, "10.0.0.1", 81), EOT);
	/* all(): every namespace, no host endpoint */
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 82), ALLOW(2));
	EXPECT(&f, tcp_in(P2, "10.0.0.1", 82), ALLOW(2));
	EXPECT(&f, tcp_in(N2, "10.0.0.1", 82), EOT);
	/* no namespaceSelector: pods and host endpoints alike */
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 83), ALLOW(3));
	EXPECT(&f, tcp_in(P2, "10.0.0.1", 83), ALLOW(3));
	EXPECT(&f, tcp_in(N2, "10.0.0.1", 83), ALLOW(3));
	EXPECT(&f, tcp_in(P3, "10.0.0.1", 83), EOT);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 83), EOT);
	/* serviceAccounts.names: the pods running as prometheus, in any namespace */
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 84), ALLOW(4));
	EXPECT(&f, tcp_in(P2, "10.0.0.1", 84), ALLOW(4));
	EXPECT(&f, tcp_in(P3, "10.0.0.1", 84), EOT);
	EXPECT(&f, tcp_in(N2, "10.0.0.1", 84), EOT);
	/* serviceAccounts.selector: the service account's labels */
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 85), ALLOW(5));
	EXPECT(&f, tcp_in(P2, "10.0.0.1", 85), EOT);
	EXPECT(&f, tcp_in(P3, "10.0.0.1", 85), EOT);
	/* both: ANDed */
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 86), ALLOW(6));
	EXPECT(&f, tcp_in(P2, "10.0.0.1", 86), EOT);
	EXPECT(&f, tcp_in(P3, "10.0.0.1", 86), EOT);
	/* with the rule's selector: ANDed */
	EXPECT(&f, tcp_in(P3, "10.0.0.1", 87), ALLOW(7));
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 87), EOT);
	/* serviceAccounts: {} restricts nothing */
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 88), ALLOW(8));
	EXPECT(&f, tcp_in(P2, "10.0.0.1", 88), ALLOW(8));
	EXPECT(&f, tcp_in(N2, "10.0.0.1", 88), ALLOW(8));
	EXPECT(&f, tcp_in(P3, "10.0.0.1", 88), EOT);
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 89), ALLOW(9));
	EXPECT(&f, tcp_in(P3, "10.0.0.1", 89), ALLOW(9));
	/* has(pool): another Node's auto host endpoint, both families */
	EXPECT(&f, tcp_in(N2, "10.0.0.1", 90), ALLOW(10));
	EXPECT(&f, tcp_in(N2V6, "fd00::1", 90), ALLOW(10));
	EXPECT(&f, tcp_in(N3, "10.0.0.1", 90), EOT);
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 90), EOT);
	/* serviceAccounts and namespaceSelector together */
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 91), ALLOW(11));
	EXPECT(&f, tcp_in(P2, "10.0.0.1", 91), EOT);
	/* the implicit labels are selectable */
	EXPECT(&f, tcp_in(P2, "10.0.0.1", 92), ALLOW(12));
	EXPECT(&f, tcp_in(P3, "10.0.0.1", 92), ALLOW(12));
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 92), EOT);
	/* a namespace's labels are not the pod's own */
	EXPECT(&f, tcp_in(P2, "10.0.0.1", 93), ALLOW(13));
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 93), EOT);
	EXPECT(&f, tcp_in(P3, "10.0.0.1", 93), EOT);
	/* the service account's labels by their pcsa. keys */
	EXPECT(&f, tcp_in(P2, "10.0.0.1", 94), ALLOW(14));
	EXPECT(&f, tcp_in(P3, "10.0.0.1", 94), ALLOW(14));
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 94), EOT);
	EXPECT(&f, tcp_in(N2, "10.0.0.1", 94), EOT);
	/* notSelector: every address no prometheus endpoint owns */
	EXPECT(&f, tcp_in(P3, "10.0.0.1", 95), ALLOW(15));
	EXPECT(&f, tcp_in(N3, "10.0.0.1", 95), ALLOW(15));
	EXPECT(&f, tcp_in("8.8.8.8", "10.0.0.1", 95), ALLOW(15));
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 95), EOT);
	EXPECT(&f, tcp_in(P1V6, "fd00::1", 95), EOT);
	EXPECT(&f, tcp_in(N2, "10.0.0.1", 95), EOT);
	fx_close(&f);

	/* without the cluster (not in Kubernetes mode), pods and other Nodes are unknown */
	fx_open(&f, sel_yaml);
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 80), EOT);
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 84), EOT);
	EXPECT(&f, tcp_in(N2, "10.0.0.1", 90), EOT);
	EXPECT(&f, tcp_in(P1, "10.0.0.1", 95), ALLOW(15));
	fx_close(&f);
	cluster_free(&cl);
}

/* The selectors the loader composes, as text (the canonical form of selector_format). */
static void
test_composed_selectors(void **state)
{
	static const char *const want[] = {
		/* 0 */ "(app == \"prometheus\" && pcns.team == \"obs\")",
		/* 1 */ "(app == \"prometheus\" && !has(projectcalico.org/namespace))",
		/* 2 */ "(app == \"prometheus\" && has(projectcalico.org/namespace))",
		/* 3 */ "app == \"prometheus\"",
		/* 4 */ "projectcalico.org/serviceaccount in {\"prometheus\"}",
		/* 5 */ "pcsa.role == \"scraper\"",
		/* 6 */ "(pcsa.role == \"scraper\" && "
			"projectcalico.org/serviceaccount in {\"default\", \"prometheus\"})",
		/* 7 */ "(projectcalico.org/serviceaccount in {\"default\"} && app == \"web\")",
		/* 8 */ "app == \"prometheus\"",
		/* 9 */ NULL,
		/* 10 */ "has(pool)",
		/* 11 */ "(projectcalico.org/serviceaccount in {\"prometheus\"} && "
			 "pcns.projectcalico.org/name == \"obs\")",
	};
	struct polset ps;
	const struct policy *p;
	char buf[512];

	(void)state;
	polset_init(&ps);
	assert_int_equal(polset_load_buffer(&ps, "sel.yaml", sel_yaml, strlen(sel_yaml)), 0);
	if (ps.diags.nerr != 0)
		print_diags(&ps);
	assert_int_equal(ps.diags.nerr, 0);
	assert_int_equal(ps.npolicies, 1);
	p = ps.policies[0];
	assert_int_equal(p->ningress, 16);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct selector *s = p->ingress[i].src.sel;

		if (want[i] == NULL) {
			if (s != NULL && !selector_is_all(s)) {
				selector_format(s, buf, sizeof(buf));
				fail_msg("rule %zu: selector %s, wanted none", i, buf);
			}
			continue;
		}
		assert_non_null(s);
		selector_format(s, buf, sizeof(buf));
		if (strcmp(buf, want[i]) != 0)
			fail_msg("rule %zu: selector\n  got  %s\n  want %s", i, buf, want[i]);
		assert_true(p->ingress[i].src.has_sa == ((i >= 4 && i <= 9) || i == 11));
	}
	polset_free(&ps);
}

/* ---- what hostenv_endpoint offers a selector ---------------------------------------------- */

/* The addresses of the endpoints @sel_text matches, as "a/len,b/len". */
static void
expect_matched_at(int line, const struct hostenv *env, const char *sel_text, const char *want)
{
	struct selector *s;
	struct ep_ref ep;
	char got[1024], one[CIDR_STRLEN];
	size_t o = 0;

	assert_int_equal(selector_parse(sel_text, &s, NULL), 0);
	got[0] = '\0';
	for (size_t i = 0; hostenv_endpoint(env, i, &ep); i++) {
		if (!selector_match(s, ep.labels))
			continue;
		for (size_t j = 0; j < ep.nips; j++)
			o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s", o ? "," : "",
					      cidr_format(&ep.ips[j], one));
	}
	selector_free(s);
	if (strcmp(got, want) != 0)
		fail_msg("line %d: %s matches\n  %s\n  wanted\n  %s", line, sel_text, got, want);
}

#define EXPECT_MATCHED(env, sel, want) expect_matched_at(__LINE__, (env), (sel), (want))

static void
test_endpoint_walk(void **state)
{
	static const char yaml[] =
		HEP("{name: eth0-hep, labels: {role: host}}", "interfaceName: eth0, "
		    "expectedIPs: [10.0.0.1]")
		DOC("HostEndpoint", "{name: db-n4, labels: {role: db, app: prometheus}}")
		"spec: {node: n4, interfaceName: '*', expectedIPs: [10.0.0.8]}\n";
	struct hostenv_opts o = { .node = "n1" };
	struct cluster cl;
	struct hostenv env;
	struct polset ps;
	struct ep_ref ep;
	char why[200];
	size_t n = 0;

	(void)state;
	build_cluster(&cl);
	polset_init(&ps);
	assert_int_equal(polset_load_buffer(&ps, "w.yaml", yaml, strlen(yaml)), 0);
	assert_int_equal(ps.diags.nerr, 0);
	o.cluster = &cl;
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	/* the HostEndpoints, then the other Nodes' auto HEPs, then the pods */
	while (hostenv_endpoint(&env, n, &ep))
		n++;
	assert_int_equal(n, 2 + 2 + 3);
	assert_true(hostenv_endpoint(&env, 2, &ep));
	assert_string_equal(labels_get(ep.labels, "pool"), "blue");
	assert_true(hostenv_endpoint(&env, 4, &ep));
	assert_string_equal(labels_get(ep.labels, LABEL_NAMESPACE), "obs");
	assert_int_equal(ep.nports, 1);
	assert_string_equal(ep.ports[0].name, "metrics");
	assert_false(hostenv_endpoint(&env, 7, &ep));
	assert_false(hostenv_endpoint(&env, 1000, &ep));

	EXPECT_MATCHED(&env, "app == 'prometheus'",
		       "10.0.0.8/32,10.0.0.6/32,fd00::6/128,10.244.1.10/32,fd00:244:1::10/128,"
		       "10.244.2.10/32");
	EXPECT_MATCHED(&env, "app == 'prometheus' && pcns.team == 'obs'",
		       "10.244.1.10/32,fd00:244:1::10/128");
	EXPECT_MATCHED(&env, "has(pool)", "10.0.0.6/32,fd00::6/128");
	EXPECT_MATCHED(&env, "projectcalico.org/created-by == 'calico-kube-controllers'",
		       "10.0.0.6/32,fd00::6/128,10.0.0.7/32");
	EXPECT_MATCHED(&env, "projectcalico.org/orchestrator == 'k8s'",
		       "10.244.1.10/32,fd00:244:1::10/128,10.244.2.10/32,10.244.2.20/32");
	EXPECT_MATCHED(&env, "pcsa.role == 'scraper'", "10.244.1.10/32,fd00:244:1::10/128");
	EXPECT_MATCHED(&env, "pcns.projectcalico.org/name == 'obs'",
		       "10.244.1.10/32,fd00:244:1::10/128");
	EXPECT_MATCHED(&env, "projectcalico.org/serviceaccount == 'default'", "10.244.2.20/32");
	hostenv_free(&env);

	/* without a cluster: the HostEndpoints only */
	o.cluster = NULL;
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	n = 0;
	while (hostenv_endpoint(&env, n, &ep))
		n++;
	assert_int_equal(n, 2);
	EXPECT_MATCHED(&env, "app == 'prometheus'", "10.0.0.8/32");
	hostenv_free(&env);
	polset_free(&ps);
	cluster_free(&cl);
}

/* ---- named ports ---------------------------------------------------------------------------- */

static void
test_named_ports(void **state)
{
	static const char yaml[] =
		HEP_BARE_ETH0
		GNP("sel")
		"  types: [Egress]\n"
		"  egress:\n"
		"  - {action: Allow, protocol: TCP,\n"
		"     destination: {selector: app == 'prometheus', namespaceSelector: team == 'obs',\n"
		"                   ports: [metrics]}}\n"
		"  - {action: Deny, protocol: TCP,\n"
		"     destination: {selector: app == 'prometheus', ports: [metrics]}}\n"
		"  - {action: Allow, protocol: UDP, destination: {ports: [metrics]}}\n"
		"  - {action: Allow, protocol: TCP,\n"
		"     destination: {serviceAccounts: {names: [default]}, ports: [metrics, 443]}}\n";
	struct cluster cl;
	struct fx f;

	(void)state;
	build_cluster(&cl);
	open_with_cluster(&f, yaml, &cl);
	/* obs/prom-0's metrics is TCP 9090, on both its addresses */
	EXPECT(&f, tcp_out("10.0.0.1", P1, 9090), ALLOW(0));
	EXPECT(&f, tcp_out("fd00::1", P1V6, 9090), ALLOW(0));
	/* other/prom-0's metrics (9091) is no match of the namespaced rule, but of the next */
	EXPECT(&f, tcp_out("10.0.0.1", P2, 9091), w_rule(false, STAGE_NORMAL, "default", "sel", 1));
	/* the port must be the pod's own: 9091 is not obs/prom-0's, 9090 not other/prom-0's */
	EXPECT(&f, tcp_out("10.0.0.1", P1, 9091), EOT);
	EXPECT(&f, tcp_out("10.0.0.1", P2, 9090), EOT);
	/* a named port elsewhere is not an address anywhere */
	EXPECT(&f, tcp_out("10.0.0.1", "10.244.9.9", 9090), EOT);
	/* other/web-0's metrics is UDP 9092: the UDP rule, not the TCP ones */
	EXPECT(&f, mkpkt(PATH_LOCAL_OUT, "10.0.0.1", P3, IPPROTO_UDP, 40000, 9092), ALLOW(2));
	EXPECT(&f, mkpkt(PATH_LOCAL_OUT, "10.0.0.1", P1, IPPROTO_UDP, 40000, 9090), EOT);
	/* TCP to web-0 on 9092: its metrics port is UDP, only 443 (a number) matches */
	EXPECT(&f, tcp_out("10.0.0.1", P3, 9092), EOT);
	EXPECT(&f, tcp_out("10.0.0.1", P3, 443), ALLOW(3));
	EXPECT(&f, tcp_out("10.0.0.1", P1, 443), EOT);
	fx_close(&f);
	cluster_free(&cl);
}

/* ---- serviceAccounts names are checked ------------------------------------------------------- */

static void
test_sa_names_checked(void **state)
{
	static const char bad[] =
		GNP("sel")
		"  ingress:\n"
		"  - action: Allow\n"
		"    source: {serviceAccounts: {names: [\"a'b\"]}}\n";
	static const char empty[] =
		GNP("sel")
		"  ingress:\n"
		"  - action: Allow\n"
		"    source: {serviceAccounts: {names: []}}\n";
	struct polset ps;

	(void)state;
	/* a quote would end the string of the selector made of the names: refused */
	polset_init(&ps);
	assert_int_equal(polset_load_buffer(&ps, "bad.yaml", bad, strlen(bad)), 0);
	assert_int_equal(ps.diags.nerr, 1);
	assert_int_equal(ps.npolicies, 0);
	polset_free(&ps);
	/* no names: no restriction */
	polset_init(&ps);
	assert_int_equal(polset_load_buffer(&ps, "empty.yaml", empty, strlen(empty)), 0);
	assert_int_equal(ps.diags.nerr, 0);
	assert_int_equal(ps.npolicies, 1);
	assert_true(ps.policies[0]->ingress[0].src.sel == NULL ||
		    selector_is_all(ps.policies[0]->ingress[0].src.sel));
	polset_free(&ps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source_selectors),
		cmocka_unit_test(test_composed_selectors),
		cmocka_unit_test(test_endpoint_walk),
		cmocka_unit_test(test_named_ports),
		cmocka_unit_test(test_sa_names_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
