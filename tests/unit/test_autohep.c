/*
 * test_autohep.c - Calico's auto host endpoints (control/policy/autohep.c)
 * and the KubeControllersConfiguration that shapes them (kccfg.c), as
 * kube-controllers v3.31 makes them (docs/semantics.md §3.3): the default
 * endpoint, templates by nodeSelector and interfaceCIDRs, one endpoint per
 * interface by interfacePattern, label precedence, the names, what decides
 * (the flag, or the object "default"), and what the validator refuses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autohep.h"
#include "cluster.h"
#include "test_policy.h"

#define KCC_HEAD \
	"apiVersion: projectcalico.org/v3\n" \
	"kind: KubeControllersConfiguration\n" \
	"metadata: {name: default}\n" \
	"spec:\n" \
	"  controllers:\n" \
	"    node:\n" \
	"      hostEndpoint:\n"

/* A Node: pool=blue, addresses in 10/8, 192.168/16 and fd00::/8, four interfaces. */
struct node_fx {
	struct labels labels;
	struct cidr ips[6];
	struct node_iface ifaces[4];
	struct node_view nv;
};

static void
node_setup(struct node_fx *f, const char *name, const char *pool)
{
	static const char *const ips[] = { "10.0.0.5", "192.168.7.5", "fd00::5", "10.244.1.1" };
	static const struct {
		const char *name;
		const char *ip;
	} ifs[] = { { "eth0", "10.0.0.5" }, { "eth1", "192.168.7.5" }, { "lo", "127.0.0.1" },
		    { "vxlan.calico", "10.244.1.1" } };

	memset(f, 0, sizeof(*f));
	labels_init(&f->labels);
	assert_int_equal(labels_set(&f->labels, "pool", pool), 0);
	assert_int_equal(labels_set(&f->labels, "kubernetes.io/hostname", name), 0);
	for (size_t i = 0; i < ARRAY_SIZE(ips); i++)
		assert_int_equal(cidr_parse(ips[i], CIDR_LOOSE, &f->ips[i]), 0);
	for (size_t i = 0; i < ARRAY_SIZE(ifs); i++) {
		snprintf(f->ifaces[i].name, sizeof(f->ifaces[i].name), "%s", ifs[i].name);
		assert_int_equal(cidr_parse(ifs[i].ip, CIDR_LOOSE, &f->ifaces[i].ips[0]), 0);
		f->ifaces[i].nips = 1;
	}
	f->ifaces[0].nips = 2;	/* eth0 has an address the Node's list lacks */
	assert_int_equal(cidr_parse("fd00::99", CIDR_LOOSE, &f->ifaces[0].ips[1]), 0);
	f->nv = (struct node_view){ name, &f->labels, f->ips, ARRAY_SIZE(ips), f->ifaces, 4 };
}

struct made {
	struct hep **v;
	size_t n, cap;
};

static void
make(const struct polset *ps, bool flag, const struct node_view *nv, struct made *m)
{
	struct autohep_cfg cfg;

	memset(m, 0, sizeof(*m));
	autohep_config(ps, flag, &cfg);
	assert_int_equal(autohep_make(&cfg, nv, &m->v, &m->n, &m->cap), 0);
}

static const struct hep *
named(const struct made *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i]->name, name) == 0)
			return m->v[i];
	return NULL;
}

/* The addresses of @h, formatted and joined by ' '. */
static const char *
ips_of(const struct hep *h)
{
	static char buf[512];
	char one[CIDR_STRLEN];
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < h->nips; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? " " : "",
				      cidr_format(&h->ips[i], one));
	return buf;
}

static void
load_ok(struct polset *ps, const char *text)
{
	load(ps, text);
	if (ps->diags.nerr != 0)
		print_diags(ps);
	assert_int_equal(ps->diags.nerr, 0);
	assert_int_equal(ps->nkccfgs, 1);
}

/* No configuration: nothing; the flag alone: the default endpoint of every Node. */
static void
test_default_only(void **state)
{
	struct node_fx f;
	struct polset ps;
	struct made m;
	const struct hep *h;

	(void)state;
	node_setup(&f, "n1", "blue");
	polset_init(&ps);
	make(&ps, false, &f.nv, &m);
	assert_int_equal(m.n, 0);
	make(&ps, true, &f.nv, &m);
	assert_int_equal(m.n, 1);
	h = m.v[0];
	assert_string_equal(h->name, "n1-auto-hep");
	assert_string_equal(h->iface, "*");
	assert_string_equal(ips_of(h), "10.0.0.5/32 192.168.7.5/32 fd00::5/128 10.244.1.1/32");
	assert_string_equal(labels_get(&h->labels, "pool"), "blue");
	assert_string_equal(labels_get(&h->labels, "projectcalico.org/created-by"),
			    "calico-kube-controllers");
	assert_true(h->synthetic);
	autohep_free(m.v, m.n);
	polset_free(&ps);
	labels_free(&f.labels);
}

static const char templates[] = KCC_HEAD
	"        autoCreate: Enabled\n"
	"        createDefaultHostEndpoint: Disabled\n"
	"        templates:\n"
	"        - generateName: internal\n"
	"          interfaceCIDRs: [10.0.0.0/8]\n"
	"          nodeSelector: pool == 'blue'\n"
	"          labels: {pool: template, role: internal}\n"
	"        - generateName: phys\n"
	"          interfacePattern: '^eth\\d+$'\n"
	"          interfaceCIDRs: [fd00::/8]\n"
	"        - generateName: none\n"
	"          interfaceCIDRs: [172.16.0.0/12]\n"
	"        - generateName: green\n"
	"          interfaceCIDRs: [0.0.0.0/0]\n"
	"          nodeSelector: pool == 'green'\n";

/* Templates: by nodeSelector and CIDRs; per interface by pattern; labels; names. */
static void
test_templates(void **state)
{
	struct node_fx f;
	struct polset ps;
	struct made m;
	const struct hep *h;

	(void)state;
	node_setup(&f, "n1", "blue");
	load_ok(&ps, templates);
	make(&ps, false, &f.nv, &m);
	/* no default; internal; phys on eth0 and eth1; none matches nothing; not green */
	assert_int_equal(m.n, 3);
	assert_null(named(&m, "n1-auto-hep"));
	h = named(&m, "n1-internal-auto-hep");
	assert_non_null(h);
	assert_string_equal(h->iface, "");	/* by its addresses */
	assert_string_equal(ips_of(h), "10.0.0.5/32 10.244.1.1/32");
	assert_string_equal(labels_get(&h->labels, "pool"), "template");	/* the template wins */
	assert_string_equal(labels_get(&h->labels, "role"), "internal");
	assert_string_equal(labels_get(&h->labels, "kubernetes.io/hostname"), "n1");
	assert_string_equal(labels_get(&h->labels, "projectcalico.org/created-by"),
			    "calico-kube-controllers");
	h = named(&m, "n1-phys-eth0-auto-hep");
	assert_non_null(h);
	assert_string_equal(h->iface, "eth0");
	/* the Node's addresses in fd00::/8, then the interface's own */
	assert_string_equal(ips_of(h), "fd00::5/128 10.0.0.5/32 fd00::99/128");
	h = named(&m, "n1-phys-eth1-auto-hep");
	assert_non_null(h);
	assert_string_equal(ips_of(h), "fd00::5/128 192.168.7.5/32");
	assert_string_equal(labels_get(&h->labels, "pool"), "blue");
	assert_null(named(&m, "n1-phys-lo-auto-hep"));
	assert_null(named(&m, "n1-phys-vxlan.calico-auto-hep"));
	autohep_free(m.v, m.n);
	labels_free(&f.labels);

	/* another Node, pool=green: its own set */
	node_setup(&f, "n2", "green");
	make(&ps, false, &f.nv, &m);
	assert_int_equal(m.n, 3);
	assert_non_null(named(&m, "n2-green-auto-hep"));
	assert_non_null(named(&m, "n2-phys-eth0-auto-hep"));
	assert_null(named(&m, "n2-internal-auto-hep"));
	assert_string_equal(ips_of(named(&m, "n2-green-auto-hep")), "10.0.0.5/32 192.168.7.5/32 "
			    "10.244.1.1/32");
	autohep_free(m.v, m.n);
	/* the flag wins over the object: the default endpoint only */
	make(&ps, true, &f.nv, &m);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.v[0]->name, "n2-auto-hep");
	autohep_free(m.v, m.n);
	polset_free(&ps);
	labels_free(&f.labels);
}

/* Disabled, or an object of another name: nothing (kube-controllers reads "default"). */
static void
test_disabled(void **state)
{
	struct node_fx f;
	struct polset ps;
	struct made m;
	char text[1024];

	(void)state;
	node_setup(&f, "n1", "blue");
	load_ok(&ps, KCC_HEAD "        autoCreate: Disabled\n"
			      "        templates: [{generateName: a, interfaceCIDRs: [0.0.0.0/0]}]\n");
	make(&ps, false, &f.nv, &m);
	assert_int_equal(m.n, 0);
	polset_free(&ps);
	/* unset createDefaultHostEndpoint is Enabled */
	load_ok(&ps, KCC_HEAD "        autoCreate: Enabled\n");
	make(&ps, false, &f.nv, &m);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.v[0]->name, "n1-auto-hep");
	autohep_free(m.v, m.n);
	polset_free(&ps);
	snprintf(text, sizeof(text), "%s", KCC_HEAD "        autoCreate: Enabled\n");
	memcpy(strstr(text, "name: default"), "name: other  ", 13);
	load(&ps, text);
	assert_int_equal(ps.diags.nerr, 0);
	assert_int_equal(count_diags(&ps, DIAG_WARN), 1);	/* "only default is read" */
	make(&ps, false, &f.nv, &m);
	assert_int_equal(m.n, 0);
	polset_free(&ps);
	labels_free(&f.labels);
}

/*
 * A bare address among interfaceCIDRs: kube-controllers' ParseCIDR fails on
 * it when an address reaches it, and the template gets no address at all;
 * an address that matched an earlier CIDR never reaches it.
 */
static void
test_bare_address_cidr(void **state)
{
	struct node_fx f;
	struct polset ps;
	struct made m;

	(void)state;
	node_setup(&f, "n1", "blue");
	load(&ps, KCC_HEAD "        autoCreate: Enabled\n"
			   "        createDefaultHostEndpoint: Disabled\n"
			   "        templates:\n"
			   "        - {generateName: a, interfaceCIDRs: [10.0.0.5]}\n"
			   "        - {generateName: b, interfaceCIDRs: ['::/0', 0.0.0.0/0, 1.2.3.4]}\n"
			   "        - {generateName: c, interfaceCIDRs: [10.0.0.0/8, 1.2.3.4]}\n");
	assert_int_equal(ps.diags.nerr, 0);
	assert_int_equal(count_diags(&ps, DIAG_WARN), 3);
	make(&ps, false, &f.nv, &m);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.v[0]->name, "n1-b-auto-hep");
	assert_string_equal(ips_of(m.v[0]), "10.0.0.5/32 192.168.7.5/32 fd00::5/128 10.244.1.1/32");
	autohep_free(m.v, m.n);
	polset_free(&ps);
	labels_free(&f.labels);
}

/*
 * No generateName (Calico's validator lets it be): without a pattern the
 * endpoint takes the default one's name and replaces it; with a pattern
 * kube-controllers cannot name it and stops at that template for the Node.
 */
static void
test_no_generate_name(void **state)
{
	struct node_fx f;
	struct polset ps;
	struct made m;

	(void)state;
	node_setup(&f, "n1", "blue");
	load(&ps, KCC_HEAD "        autoCreate: Enabled\n"
			   "        templates:\n"
			   "        - {interfaceCIDRs: [192.168.0.0/16], labels: {t: x}}\n"
			   "        - {generateName: a, interfaceCIDRs: [0.0.0.0/0]}\n"
			   "        - {interfacePattern: '^nomatch$'}\n"
			   "        - {generateName: mid, interfaceCIDRs: [0.0.0.0/0]}\n"
			   "        - {interfacePattern: eth}\n"
			   "        - {generateName: late, interfaceCIDRs: [0.0.0.0/0]}\n");
	assert_int_equal(ps.diags.nerr, 0);
	assert_int_equal(count_diags(&ps, DIAG_WARN), 3);
	make(&ps, false, &f.nv, &m);
	assert_int_equal(m.n, 3);
	assert_string_equal(m.v[0]->name, "n1-auto-hep");
	assert_string_equal(m.v[0]->iface, "");			/* the template's, in its place */
	assert_string_equal(ips_of(m.v[0]), "192.168.7.5/32");
	assert_string_equal(labels_get(&m.v[0]->labels, "t"), "x");
	assert_string_equal(m.v[1]->name, "n1-a-auto-hep");
	/* a pattern that matches no interface names nothing: kube-controllers goes on */
	assert_string_equal(m.v[2]->name, "n1-mid-auto-hep");
	assert_null(named(&m, "n1-late-auto-hep"));		/* never reached */
	autohep_free(m.v, m.n);
	polset_free(&ps);
	labels_free(&f.labels);
}

/* Interface patterns: RE2 shorthands translate, the match is anywhere in the name. */
static void
test_patterns(void **state)
{
	static const struct {
		const char *pattern;
		const char *want;	/* the interfaces matched, joined */
	} cases[] = {
		{ "eth", "eth0 eth1" },
		{ "^eth[01]$", "eth0 eth1" },
		{ "\\\\Aeth\\\\d\\\\z", "eth0 eth1" },
		{ "\\\\.", "vxlan.calico" },
		{ "^(lo|eth1)$", "eth1 lo" },
		{ "c.*?o", "vxlan.calico" },
		{ "^[^e]", "lo vxlan.calico" },
		{ "[[:digit:]]", "eth0 eth1" },
		{ "\\\\w+\\\\.\\\\w+", "vxlan.calico" },
		{ "x{2,}", "" },
		{ "^[a-z]{2,4}[0-9]{1}$", "eth0 eth1" },
		{ "^[a-z.]{1,900}$", "lo vxlan.calico" },	/* clamped, same answer */
		{ "^(a*){999}lo", "lo" },
		{ "(?i)^ETH", "eth0 eth1" },
		{ "\\\\beth", "eth0 eth1" },
		{ "\\\\<eth", "" },			/* RE2: a literal '<' */
		{ "h{1, 2}", "" },			/* RE2: no count, literal text */
		{ "h{1}?0", "eth0" },
		{ "{", "" },				/* a literal brace */
		{ "h{1,x}", "" },			/* no count: literal */
	};
	struct node_fx f;

	(void)state;
	node_setup(&f, "n1", "blue");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char text[1024], got[256] = "";
		struct polset ps;
		struct made m;

		snprintf(text, sizeof(text), KCC_HEAD "        autoCreate: Enabled\n"
			 "        createDefaultHostEndpoint: Disabled\n"
			 "        templates: [{generateName: t, interfacePattern: \"%s\"}]\n",
			 cases[i].pattern);
		load_ok(&ps, text);
		make(&ps, false, &f.nv, &m);
		for (size_t j = 0, o = 0; j < m.n; j++)
			o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s", j ? " " : "",
					      m.v[j]->iface);
		if (strcmp(got, cases[i].want) != 0)
			print_message("pattern %s: got \"%s\"\n", cases[i].pattern, got);
		assert_string_equal(got, cases[i].want);
		autohep_free(m.v, m.n);
		polset_free(&ps);
	}
	labels_free(&f.labels);
}

/* What Calico's validator refuses is refused, with the field named. */
static void
test_invalid(void **state)
{
	static const struct {
		const char *yaml;	/* under hostEndpoint: */
		const char *field;
		const char *msg;
	} cases[] = {
		{ "        autoCreate: yes\n", "spec.controllers.node.hostEndpoint.autoCreate",
		  "Enabled or Disabled" },
		{ "        createDefaultHostEndpoint: Off\n",
		  "spec.controllers.node.hostEndpoint.createDefaultHostEndpoint",
		  "Enabled or Disabled" },
		{ "        templates: [{generateName: Bad_Name, interfaceCIDRs: [10.0.0.0/8]}]\n",
		  "spec.controllers.node.hostEndpoint.templates[0].generateName", "not a name" },
		{ "        templates: [{generateName: a, interfaceCIDRs: [10.0.0.0/33]}]\n",
		  "spec.controllers.node.hostEndpoint.templates[0].interfaceCIDRs[0]", "not a CIDR" },
		{ "        templates: [{generateName: a, interfacePattern: 'eth['}]\n",
		  "spec.controllers.node.hostEndpoint.templates[0].interfacePattern",
		  "missing closing ]" },
		{ "        templates: [{generateName: a, interfacePattern: 'eth**'}]\n",
		  "spec.controllers.node.hostEndpoint.templates[0].interfacePattern",
		  "nested repetition" },
		{ "        templates: [{generateName: a, interfacePattern: 'eth\\q'}]\n",
		  "spec.controllers.node.hostEndpoint.templates[0].interfacePattern", "escape" },
		{ "        templates: [{generateName: a, interfacePattern: '(eth'}]\n",
		  "spec.controllers.node.hostEndpoint.templates[0].interfacePattern",
		  "missing closing )" },
		{ "        templates: [{generateName: a, interfacePattern: 'a{1001}'}]\n",
		  "spec.controllers.node.hostEndpoint.templates[0].interfacePattern",
		  "invalid repeat count" },
		{ "        templates: [{generateName: a, interfacePattern: 'a{3,2}'}]\n",
		  "spec.controllers.node.hostEndpoint.templates[0].interfacePattern",
		  "invalid repeat count" },
		{ "        templates: [{generateName: a, nodeSelector: 'a ==', "
		  "interfaceCIDRs: [10.0.0.0/8]}]\n",
		  "spec.controllers.node.hostEndpoint.templates[0].nodeSelector", "" },
		{ "        templates: {generateName: a}\n",
		  "spec.controllers.node.hostEndpoint.templates", "" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char text[1024];
		struct polset ps;
		const struct diag *d;

		snprintf(text, sizeof(text), "%s%s", KCC_HEAD, cases[i].yaml);
		load(&ps, text);
		d = nth_diag(&ps, DIAG_ERROR, 0);
		if (d == NULL || d->field == NULL || strcmp(d->field, cases[i].field) != 0 ||
		    strstr(d->msg, cases[i].msg) == NULL)
			print_diags(&ps);
		assert_non_null(d);
		assert_string_equal(d->object, "KubeControllersConfiguration/default");
		assert_string_equal(d->field, cases[i].field);
		assert_non_null(strstr(d->msg, cases[i].msg));
		assert_int_equal(ps.nkccfgs, 0);	/* rejected */
		polset_free(&ps);
	}
}

/* The rest of a KubeControllersConfiguration is none of nfqwall's business. */
static void
test_other_fields(void **state)
{
	struct polset ps;

	(void)state;
	load(&ps, "apiVersion: projectcalico.org/v3\n"
		  "kind: KubeControllersConfiguration\n"
		  "metadata: {name: default}\n"
		  "spec:\n"
		  "  logSeverityScreen: Info\n"
		  "  healthChecks: Enabled\n"
		  "  controllers:\n"
		  "    node: {reconcilerPeriod: 5m, syncLabels: Enabled, leakGracePeriod: 15m}\n"
		  "    policy: {reconcilerPeriod: 5m}\n");
	assert_int_equal(ps.diags.n, 0);
	assert_int_equal(ps.nkccfgs, 1);
	assert_false(ps.kccfgs[0]->has_hep);
	polset_free(&ps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_only),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_bare_address_cidr),
		cmocka_unit_test(test_no_generate_name),
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_other_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
