/*
 * test_policy.c - unit tests for loading policy (control/policy/polset.c,
 * meta.c, policy.c): documents, JSON and List wrappers, unknown kinds and
 * fields, YAML syntax errors, types defaulting (docs/semantics.md §5.3),
 * the stored v1 form (§8), policy names and a second definition.
 *
 * Every test loads YAML or JSON text with polset_load_buffer() and checks
 * the resulting model and diagnostics exactly: which objects were kept or
 * rejected, the error and warning counts, and each diagnostic's line,
 * column, object and field path. The rule checks are in
 * test_policy_validate.c, the other kinds in test_kinds.c, the node view in
 * test_hostenv.c.
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

#include "hostenv.h"
#include "test_policy.h"

/* ---- documents, formats and wrappers ------------------------------------------ */

static void
test_multi_document(void **state)
{
	static const char text[] =
		GNP_X
		"  ingress:\n"
		"  - action: Allow\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: HostEndpoint\n"
		"metadata:\n"
		"  name: h1\n"
		"spec:\n"
		"  node: n1\n"
		"  interfaceName: eth0\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: GlobalNetworkSet\n"
		"metadata:\n"
		"  name: s1\n"
		"spec:\n"
		"  nets: [10.0.0.0/8]\n";
	struct polset ps;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.n, 0);
	assert_int_equal(ps.nobjects, 3);
	assert_int_equal(ps.npolicies, 1);
	assert_int_equal(ps.nheps, 1);
	assert_int_equal(ps.nnetsets, 1);
	assert_string_equal(ps.policies[0]->name, "x");
	assert_int_equal(ps.policies[0]->loc.line, 1);
	assert_string_equal(ps.policies[0]->loc.file, FILE_NAME);
	assert_string_equal(ps.heps[0]->name, "h1");
	assert_int_equal(ps.heps[0]->loc.line, 9);
	assert_string_equal(ps.netsets[0]->name, "s1");
	assert_int_equal(ps.netsets[0]->loc.line, 17);
	polset_free(&ps);
}

static void
test_json_input(void **state)
{
	static const char text[] =
		"{\n"
		"  \"apiVersion\": \"projectcalico.org/v3\",\n"
		"  \"kind\": \"GlobalNetworkPolicy\",\n"
		"  \"metadata\": {\"name\": \"web\"},\n"
		"  \"spec\": {\n"
		"    \"order\": 10.5,\n"
		"    \"selector\": \"role == 'web'\",\n"
		"    \"ingress\": [{\"action\": \"Allow\", \"protocol\": \"TCP\",\n"
		"                 \"destination\": {\"ports\": [80, \"8000:8080\"]}}],\n"
		"    \"bogus\": 1\n"
		"  }\n"
		"}\n";
	struct polset ps;
	const struct policy *p;
	const struct rule *r;

	(void)state;
	polset_init(&ps);
	ps.limits.allow_unknown_fields = true;
	assert_int_equal(polset_load_buffer(&ps, FILE_NAME, text, strlen(text)), 0);
	assert_int_equal(ps.diags.nerr, 0);
	assert_int_equal(ps.npolicies, 1);
	p = ps.policies[0];
	assert_string_equal(p->name, "web");
	assert_string_equal(p->tier, "default");
	assert_true(p->has_order);
	assert_true(p->order == 10.5);
	assert_string_equal(p->sel_text, "role == 'web'");
	assert_int_equal(p->types, TYPE_INGRESS);
	assert_int_equal(p->ningress, 1);
	r = &p->ingress[0];
	assert_int_equal(r->action, ACT_ALLOW);
	assert_int_equal(r->proto, IPPROTO_TCP);
	assert_int_equal(r->dst.nports, 2);
	assert_int_equal(r->dst.ports[0].lo, 80);
	assert_int_equal(r->dst.ports[0].hi, 80);
	assert_int_equal(r->dst.ports[1].lo, 8000);
	assert_int_equal(r->dst.ports[1].hi, 8080);
	assert_int_equal(r->loc.line, 8);
	assert_int_equal(r->loc.col, 17);
	/* positions work in JSON as well */
	assert_int_equal(ps.diags.nwarn, 1);
	assert_diag(nth_diag(&ps, DIAG_WARN, 0), 10, 5, "GlobalNetworkPolicy/web", "spec.bogus",
		    "unknown field");
	polset_free(&ps);
}

static void
test_list_wrappers(void **state)
{
	static const char text[] =
		"apiVersion: v1\n"
		"kind: List\n"
		"items:\n"
		"- apiVersion: projectcalico.org/v3\n"
		"  kind: GlobalNetworkPolicy\n"
		"  metadata: {name: a}\n"
		"  spec: {ingress: [{action: Deny}]}\n"
		"- apiVersion: projectcalico.org/v3\n"
		"  kind: HostEndpoint\n"
		"  metadata: {name: h}\n"
		"  spec: {node: n1, interfaceName: eth0}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: GlobalNetworkPolicyList\n"
		"items:\n"
		"- apiVersion: projectcalico.org/v3\n"
		"  kind: GlobalNetworkPolicy\n"
		"  metadata: {name: b}\n"
		"  spec: {egress: [{action: Allow}]}\n"
		"- apiVersion: projectcalico.org/v3\n"
		"  kind: GlobalNetworkPolicy\n"
		"  metadata: {name: c}\n"
		"  spec: {}\n"
		"---\n"
		"apiVersion: v1\n"
		"kind: List\n"
		"items: []\n";
	struct polset ps;

	(void)state;
	load(&ps, text);
	if (ps.diags.n)
		print_diags(&ps);
	assert_int_equal(ps.diags.n, 0);
	assert_int_equal(ps.nobjects, 4);	/* the List wrappers are not objects */
	assert_int_equal(ps.npolicies, 3);
	assert_int_equal(ps.nheps, 1);
	assert_non_null(find_policy(&ps, "a"));
	assert_int_equal(find_policy(&ps, "a")->ingress[0].action, ACT_DENY);
	assert_int_equal(find_policy(&ps, "a")->loc.line, 4);
	assert_int_equal(find_policy(&ps, "a")->loc.col, 3);
	assert_int_equal(find_policy(&ps, "b")->types, TYPE_EGRESS);
	assert_int_equal(find_policy(&ps, "c")->types, TYPE_INGRESS);
	polset_free(&ps);
}

static void
test_unknown_kind_skipped(void **state)
{
	static const char text[] =
		"apiVersion: v1\n"
		"kind: ConfigMap\n"
		"metadata:\n"
		"  name: cm\n"
		"data: {a: b}\n"
		"---\n"
		"apiVersion: networking.k8s.io/v1\n"
		"kind: NetworkPolicy\n"
		"metadata: {}\n"
		"---\n"
		GNP_X
		"  ingress: [{action: Allow}]\n";
	struct polset ps;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.nerr, 0);
	assert_int_equal(ps.diags.nwarn, 0);
	assert_int_equal(count_diags(&ps, DIAG_NOTE), 2);
	assert_int_equal(ps.nobjects, 1);
	assert_int_equal(ps.nrejected, 0);
	assert_int_equal(ps.npolicies, 1);
	assert_diag(nth_diag(&ps, DIAG_NOTE, 0), 1, 1, NULL, NULL,
		    "skipping ConfigMap/cm: not a kind nfqwall enforces");
	assert_diag(nth_diag(&ps, DIAG_NOTE, 1), 7, 1, NULL, NULL,
		    "skipping NetworkPolicy/?: not a kind nfqwall enforces");
	polset_free(&ps);
}

static void
test_unknown_fields(void **state)
{
	static const char text[] =
		GNP_X
		"  selectr: all()\n"
		"  ingress:\n"
		"  - action: Allow\n"
		"    protocl: TCP\n"
		"    destination:\n"
		"      port: [80]\n";
	struct polset ps;
	const struct policy *p;

	(void)state;
	/* by default an error, as kubectl's strict field validation has it */
	load(&ps, text);
	assert_int_equal(ps.diags.nerr, 3);
	assert_int_equal(ps.diags.nwarn, 0);
	assert_int_equal(ps.npolicies, 0);
	assert_int_equal(ps.nrejected, 1);
	assert_diag(nth_diag(&ps, DIAG_ERROR, 0), 6, 3, OBJ_X, "spec.selectr",
		    "unknown field: Calico does not know it (check the spelling; "
		    "--allow-unknown-fields makes this a warning)");
	assert_diag(nth_diag(&ps, DIAG_ERROR, 2), 11, 7, OBJ_X,
		    "spec.ingress[0].destination.port", nth_diag(&ps, DIAG_ERROR, 0)->msg);
	polset_free(&ps);

	/* --allow-unknown-fields: warnings, and the object loads without them */
	polset_init(&ps);
	ps.limits.allow_unknown_fields = true;
	assert_int_equal(polset_load_buffer(&ps, FILE_NAME, text, strlen(text)), 0);
	assert_int_equal(ps.diags.nerr, 0);
	assert_int_equal(ps.diags.nwarn, 3);
	assert_int_equal(ps.npolicies, 1);
	assert_int_equal(ps.nrejected, 0);
	p = ps.policies[0];
	assert_int_equal(p->ingress[0].proto, 0);
	assert_int_equal(p->ingress[0].dst.nports, 0);
	assert_diag(nth_diag(&ps, DIAG_WARN, 0), 6, 3, OBJ_X, "spec.selectr", "unknown field");
	assert_diag(nth_diag(&ps, DIAG_WARN, 1), 9, 5, OBJ_X, "spec.ingress[0].protocl",
		    "unknown field (ignored: --allow-unknown-fields); check the spelling");
	assert_diag(nth_diag(&ps, DIAG_WARN, 2), 11, 7, OBJ_X,
		    "spec.ingress[0].destination.port", "unknown field");
	polset_free(&ps);
}

static void
test_document_errors(void **state)
{
	static const char text[] =
		"- just a list\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"metadata: {name: nokind}\n"
		"---\n"
		"apiVersion: projectcalico.org/v2\n"
		"kind: GlobalNetworkPolicy\n"
		"metadata: {name: oldapi}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: GlobalNetworkPolicy\n"
		"metadata: {labels: {a: b}}\n";
	struct polset ps;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.nerr, 4);
	assert_int_equal(ps.npolicies, 0);
	assert_int_equal(ps.nrejected, 4);
	assert_diag(nth_diag(&ps, DIAG_ERROR, 0), 1, 1, NULL, NULL,
		    "a document must be a mapping with apiVersion and kind");
	assert_diag(nth_diag(&ps, DIAG_ERROR, 1), 3, 1, NULL, NULL, "kind is required");
	assert_diag(nth_diag(&ps, DIAG_ERROR, 2), 6, 13, "GlobalNetworkPolicy/?", NULL,
		    "apiVersion must be projectcalico.org/v3 or crd.projectcalico.org/v1");
	assert_diag(nth_diag(&ps, DIAG_ERROR, 3), 12, 11, "GlobalNetworkPolicy/?", "metadata.name",
		    "a name is required");
	polset_free(&ps);
}

static void
test_yaml_syntax_error_keeps_earlier_docs(void **state)
{
	static const char text[] =
		GNP_X
		"  ingress: [{action: Allow}]\n"
		"---\n"
		"apiVersion: [unclosed\n";
	struct polset ps;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.nerr, 1);
	assert_int_equal(ps.npolicies, 1);
	assert_non_null(strstr(nth_diag(&ps, DIAG_ERROR, 0)->msg, "YAML"));
	assert_int_equal(nth_diag(&ps, DIAG_ERROR, 0)->line, 9);
	polset_free(&ps);
}

/* ---- types defaulting (§1.5) ------------------------------------------------- */

static unsigned
types_of(const char *spec_lines)
{
	char text[1024];
	struct polset ps;
	unsigned t;

	snprintf(text, sizeof(text), "%s%s", GNP_X, spec_lines);
	expect_one_policy(&ps, text);
	t = ps.policies[0]->types;
	polset_free(&ps);
	return t;
}


static void
test_types_default_v3(void **state)
{
	(void)state;
	/* no rules at all, or ingress only: Ingress */
	assert_int_equal(types_of("  selector: all()\n"), TYPE_INGRESS);
	assert_int_equal(types_of("  ingress: [{action: Allow}]\n"), TYPE_INGRESS);
	/* egress only: Egress */
	assert_int_equal(types_of("  egress: [{action: Allow}]\n"), TYPE_EGRESS);
	/* both kinds of rule: both */
	assert_int_equal(types_of("  ingress: [{action: Allow}]\n  egress: [{action: Deny}]\n"),
			 TYPE_INGRESS | TYPE_EGRESS);
	/* an empty list of types is the same as none */
	assert_int_equal(types_of("  types: []\n  egress: [{action: Allow}]\n"), TYPE_EGRESS);
	/* empty egress list: no egress rules, so Ingress (Go defaulting) */
	assert_int_equal(types_of("  egress: []\n"), TYPE_INGRESS);
}

static void
test_types_explicit_win(void **state)
{
	struct polset ps;
	const struct policy *p;

	(void)state;
	assert_int_equal(types_of("  types: [Egress]\n  ingress: [{action: Allow}]\n"),
			 TYPE_EGRESS);
	assert_int_equal(types_of("  types: [Ingress, Egress]\n"), TYPE_INGRESS | TYPE_EGRESS);
	assert_int_equal(types_of("  types: [Ingress]\n  egress: [{action: Allow}]\n"),
			 TYPE_INGRESS);
	/* the ignored direction's rules are still decoded (and validated) */
	p = expect_one_policy(&ps, GNP_X "  types: [Egress]\n  ingress: [{action: Deny}]\n");
	assert_int_equal(p->ningress, 1);
	assert_int_equal(p->ingress[0].action, ACT_DENY);
	polset_free(&ps);
}

/* ---- stored v1 form (§8) ------------------------------------------------------- */

#define V1_HDR(name) \
	"apiVersion: crd.projectcalico.org/v1\n" \
	"kind: GlobalNetworkPolicy\n" \
	"metadata:\n" \
	"  name: " name "\n"


static void
test_v1_types_both(void **state)
{
	struct polset ps;
	const struct policy *p;

	(void)state;
	p = expect_one_policy(&ps, V1_HDR("p") "spec:\n  ingress: [{action: Allow}]\n");
	assert_int_equal(p->form, FORM_V1);
	assert_int_equal(p->types, TYPE_INGRESS | TYPE_EGRESS);
	polset_free(&ps);
	p = expect_one_policy(&ps, V1_HDR("p") "spec:\n  selector: all()\n");
	assert_int_equal(p->types, TYPE_INGRESS | TYPE_EGRESS);
	polset_free(&ps);
	/* explicit types still win in v1 */
	p = expect_one_policy(&ps, V1_HDR("p") "spec:\n  types: [Ingress]\n"
				   "  egress: [{action: Allow}]\n");
	assert_int_equal(p->types, TYPE_INGRESS);
	polset_free(&ps);
}

static void
test_v1_default_prefix(void **state)
{
	struct polset ps;
	const struct policy *p;

	(void)state;
	/* ≤ v3.31 stores default-tier policies as "default.<name>" */
	p = expect_one_policy(&ps, V1_HDR("default.allow-ssh") "spec:\n  selector: all()\n");
	assert_string_equal(p->name, "allow-ssh");
	assert_string_equal(p->tier, "default");
	polset_free(&ps);
	p = expect_one_policy(&ps, V1_HDR("default.allow-ssh") "spec:\n  tier: default\n");
	assert_string_equal(p->name, "allow-ssh");
	polset_free(&ps);
	/* other tiers keep the CR name */
	p = expect_one_policy(&ps, V1_HDR("sec.allow-ssh") "spec:\n  tier: sec\n");
	assert_string_equal(p->name, "sec.allow-ssh");
	assert_string_equal(p->tier, "sec");
	polset_free(&ps);
	/* only one prefix is stripped, and a v3 name is not touched */
	p = expect_one_policy(&ps, GNP_X "  tier: default\n");
	assert_string_equal(p->name, "x");
	polset_free(&ps);
}

static void
test_v1_metadata_annotation(void **state)
{
	static const char text[] =
		"apiVersion: crd.projectcalico.org/v1\n"
		"kind: GlobalNetworkPolicy\n"
		"metadata:\n"
		"  name: default.stored-name\n"
		"  annotations:\n"
		"    projectcalico.org/metadata: '{\"name\":\"real-name\",\"labels\":"
		"{\"team\":\"net\"},\"creationTimestamp\":null}'\n"
		"spec:\n"
		"  ingress: [{action: Allow}]\n";
	struct polset ps;
	const struct policy *p;

	(void)state;
	p = expect_one_policy(&ps, text);
	/* the annotation's name wins over the CR name and is not prefix-stripped */
	assert_string_equal(p->name, "real-name");
	assert_int_equal(p->types, TYPE_INGRESS | TYPE_EGRESS);
	polset_free(&ps);
}

static void
test_v1_hep_labels(void **state)
{
	static const char text[] =
		"apiVersion: crd.projectcalico.org/v1\n"
		"kind: HostEndpoint\n"
		"metadata:\n"
		"  name: n1-auto-hep\n"
		"  labels:\n"
		"    projectcalico.org/created-by: calico-kube-controllers\n"
		"    role: from-cr\n"
		"  annotations:\n"
		"    projectcalico.org/metadata: '{\"labels\":{\"role\":\"worker\","
		"\"kubernetes.io/hostname\":\"n1\"}}'\n"
		"spec:\n"
		"  node: n1\n"
		"  interfaceName: '*'\n"
		"  expectedIPs: [192.168.1.10]\n"
		"  profiles: [projectcalico-default-allow]\n"
		"---\n"
		/* the v3 form ignores the annotation */
		"apiVersion: projectcalico.org/v3\n"
		"kind: HostEndpoint\n"
		"metadata:\n"
		"  name: v3hep\n"
		"  labels: {role: from-cr}\n"
		"  annotations:\n"
		"    projectcalico.org/metadata: '{\"labels\":{\"role\":\"worker\"}}'\n"
		"spec:\n"
		"  node: n1\n"
		"  interfaceName: eth0\n";
	struct polset ps;
	const struct hep *h;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.n, 0);
	assert_int_equal(ps.nheps, 2);
	h = find_hep(&ps, "n1-auto-hep");
	assert_non_null(h);
	assert_int_equal(h->labels.n, 3);
	assert_string_equal(labels_get(&h->labels, "role"), "worker");
	assert_string_equal(labels_get(&h->labels, "kubernetes.io/hostname"), "n1");
	assert_string_equal(labels_get(&h->labels, "projectcalico.org/created-by"),
			    "calico-kube-controllers");
	assert_true(hep_is_wildcard(h));
	assert_int_equal(h->nprofiles, 1);
	assert_string_equal(h->profiles[0], PROFILE_DEFAULT_ALLOW);
	h = find_hep(&ps, "v3hep");
	assert_non_null(h);
	assert_string_equal(labels_get(&h->labels, "role"), "from-cr");
	polset_free(&ps);
}

static void
test_v1_bad_annotation(void **state)
{
	static const char text[] =
		"apiVersion: crd.projectcalico.org/v1\n"
		"kind: GlobalNetworkPolicy\n"
		"metadata:\n"
		"  name: default.x\n"
		"  annotations:\n"
		"    projectcalico.org/metadata: '[1, 2'\n"
		"spec: {}\n";
	struct polset ps;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.nerr, 1);
	assert_int_equal(ps.npolicies, 0);
	assert_int_equal(ps.nrejected, 1);
	assert_diag(nth_diag(&ps, DIAG_ERROR, 0), 6, 33, "GlobalNetworkPolicy/default.x",
		    "metadata.annotations[projectcalico.org/metadata]", "is not valid JSON");
	polset_free(&ps);
}

/* ---- names and definitions ---------------------------------------------------------- */

static void
test_policy_names(void **state)
{
	(void)state;
	expect_reject_obj("apiVersion: projectcalico.org/v3\n"
		      "kind: GlobalNetworkPolicy\n"
		      "metadata:\n"
		      "  name: Bad_Name\n"
		      "spec: {}\n",
		      "GlobalNetworkPolicy/Bad_Name", 4, 9, NULL, "\"Bad_Name\" is not a valid policy name");
	/* a "." name must start with its tier: the whole part before the dot */
	expect_reject_obj("apiVersion: projectcalico.org/v3\n"
		      "kind: GlobalNetworkPolicy\n"
		      "metadata:\n"
		      "  name: x.allow\n"
		      "spec: {}\n",
		      "GlobalNetworkPolicy/x.allow", 4, 9, NULL, "a policy name with a '.' must start with its tier (\"default.\")");
	expect_reject_obj("apiVersion: projectcalico.org/v3\n"
		      "kind: GlobalNetworkPolicy\n"
		      "metadata:\n"
		      "  name: defaultx.allow\n"
		      "spec: {}\n",
		      "GlobalNetworkPolicy/defaultx.allow", 4, 9, NULL, "must start with its tier (\"default.\")");
}

static void
test_invalid_beside_valid(void **state)
{
	static const char text[] =
		GNP_X
		"  ingress:\n"
		"  - action: Allow\n"
		"    destination: {ports: [22]}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: GlobalNetworkPolicy\n"
		"metadata:\n"
		"  name: good\n"
		"spec:\n"
		"  ingress:\n"
		"  - action: Allow\n"
		"    protocol: TCP\n"
		"    destination: {ports: [22]}\n";
	struct polset ps;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.nobjects, 2);
	assert_int_equal(ps.nrejected, 1);
	assert_int_equal(ps.diags.nerr, 1);
	assert_int_equal(ps.npolicies, 1);
	assert_string_equal(ps.policies[0]->name, "good");
	assert_null(find_policy(&ps, "x"));
	assert_int_equal(ps.policies[0]->ingress[0].dst.ports[0].lo, 22);
	assert_diag(nth_diag(&ps, DIAG_ERROR, 0), 8, 18, OBJ_X, "spec.ingress[0]",
		    "destination ports need protocol");
	polset_free(&ps);
}

static void
test_duplicate_definition(void **state)
{
	static const char text[] =
		GNP_X
		"  order: 1\n"
		"---\n"
		GNP_X
		"  order: 2\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: HostEndpoint\n"
		"metadata: {name: x}\n"
		"spec: {node: n1, interfaceName: eth0}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: HostEndpoint\n"
		"metadata: {name: x}\n"
		"spec: {node: n1, interfaceName: eth1}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: StagedGlobalNetworkPolicy\n"
		"metadata: {name: x}\n"
		"spec: {order: 3}\n";
	struct polset ps;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.nerr, 0);
	assert_int_equal(ps.diags.nwarn, 2);
	assert_int_equal(ps.nobjects, 5);
	/* GNP x (the second), and the staged x: a different kind */
	assert_int_equal(ps.npolicies, 2);
	assert_int_equal(ps.policies[0]->kind, KIND_GNP);
	assert_true(ps.policies[0]->order == 2);
	assert_int_equal(ps.policies[0]->loc.line, 8);
	assert_int_equal(ps.policies[1]->kind, KIND_SGNP);
	/* a HEP named like a policy is no duplicate of it; the second HEP x wins */
	assert_int_equal(ps.nheps, 1);
	assert_string_equal(ps.heps[0]->iface, "eth1");
	assert_diag(nth_diag(&ps, DIAG_WARN, 0), 8, 1, OBJ_X, NULL,
		    "defined again (first at name.yaml:1); this definition replaces it");
	assert_diag(nth_diag(&ps, DIAG_WARN, 1), 20, 1, "HostEndpoint/x", NULL,
		    "defined again (first at name.yaml:15)");
	polset_free(&ps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multi_document),
		cmocka_unit_test(test_json_input),
		cmocka_unit_test(test_list_wrappers),
		cmocka_unit_test(test_unknown_kind_skipped),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_document_errors),
		cmocka_unit_test(test_yaml_syntax_error_keeps_earlier_docs),
		cmocka_unit_test(test_types_default_v3),
		cmocka_unit_test(test_types_explicit_win),
		cmocka_unit_test(test_v1_types_both),
		cmocka_unit_test(test_v1_default_prefix),
		cmocka_unit_test(test_v1_metadata_annotation),
		cmocka_unit_test(test_v1_hep_labels),
		cmocka_unit_test(test_v1_bad_annotation),
		cmocka_unit_test(test_policy_names),
		cmocka_unit_test(test_invalid_beside_valid),
		cmocka_unit_test(test_duplicate_definition),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
