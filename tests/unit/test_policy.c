/*
 * test_policy.c - unit tests for the policy loader (control/policy/policy.c,
 * control/policy/policy_rule.c) and the node view (control/compile/hostenv.c).
 *
 * Every test loads YAML or JSON text with polset_load_buffer() and checks
 * the resulting model and diagnostics exactly: which objects were kept or
 * rejected, the error and warning counts, and each diagnostic's line,
 * column, object and field path. Covers calico-semantics.md §1.5 (types
 * defaulting), §1.7/§1.8 (rule fields and invalid combinations), §3
 * (HostEndpoints, auto HEP, which HEP governs an interface), §4 (failsafe
 * syntax, defaults and precedence), §5 (network sets) and §8 (stored v1 form).
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

#include "diag.h"
#include "hostenv.h"
#include "model.h"

/* ---- helpers --------------------------------------------------------------- */

#define FILE_NAME	"name.yaml"
#define OBJ_X		"GlobalNetworkPolicy/x"

/* Lines 1-5 of every single-policy document: the rules start on line 6. */
#define GNP_X \
	"apiVersion: projectcalico.org/v3\n" \
	"kind: GlobalNetworkPolicy\n" \
	"metadata:\n" \
	"  name: x\n" \
	"spec:\n"

static void
print_diags(const struct polset *ps)
{
	for (size_t i = 0; i < ps->diags.n; i++) {
		char buf[2048];

		diag_format(&ps->diags.v[i], buf, sizeof(buf));
		print_message("  diag: %s\n", buf);
	}
}

static void
load(struct polset *ps, const char *text)
{
	polset_init(ps);
	assert_int_equal(polset_load_buffer(ps, FILE_NAME, text, strlen(text)), 0);
}

/* The @nth (0-based) diagnostic of @lvl, or NULL. */
static const struct diag *
nth_diag(const struct polset *ps, enum diag_level lvl, size_t nth)
{
	for (size_t i = 0; i < ps->diags.n; i++)
		if (ps->diags.v[i].level == lvl && nth-- == 0)
			return &ps->diags.v[i];
	return NULL;
}

static size_t
count_diags(const struct polset *ps, enum diag_level lvl)
{
	size_t n = 0;

	for (size_t i = 0; i < ps->diags.n; i++)
		n += ps->diags.v[i].level == lvl;
	return n;
}

static void
assert_str_or_null(const char *got, const char *want)
{
	if (want == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
}

/* Check one record: position, object, field, and a piece of its message. */
static void
assert_diag(const struct diag *d, int line, int col, const char *object, const char *field,
	    const char *msg_part)
{
	assert_non_null(d);
	assert_string_equal(d->file, FILE_NAME);
	if (d->line != line || d->col != col)
		print_message("  position %d:%d, wanted %d:%d (%s)\n", d->line, d->col, line, col,
			      d->msg);
	assert_int_equal(d->line, line);
	assert_int_equal(d->col, col);
	assert_str_or_null(d->object, object);
	assert_str_or_null(d->field, field);
	if (strstr(d->msg, msg_part) == NULL)
		print_message("  message \"%s\" lacks \"%s\"\n", d->msg, msg_part);
	assert_non_null(strstr(d->msg, msg_part));
}

/*
 * @text holds one GlobalNetworkPolicy "x" with exactly one error: it must be
 * rejected (absent from the set, counted), the error must sit at
 * @line:@col on @field, and the "object rejected" note must follow.
 */
static void
expect_reject_obj(const char *text, const char *object, int line, int col, const char *field,
		  const char *msg_part)
{
	struct polset ps;

	load(&ps, text);
	if (ps.diags.nerr != 1)
		print_diags(&ps);
	assert_int_equal(ps.diags.nerr, 1);
	assert_int_equal(ps.npolicies, 0);
	assert_int_equal(ps.nobjects, 1);
	assert_int_equal(ps.nrejected, 1);
	assert_diag(nth_diag(&ps, DIAG_ERROR, 0), line, col, object, field, msg_part);
	assert_diag(nth_diag(&ps, DIAG_NOTE, 0), 1, 1, object, NULL, "object rejected");
	polset_free(&ps);
}

static void
expect_reject(const char *text, int line, int col, const char *field, const char *msg_part)
{
	expect_reject_obj(text, OBJ_X, line, col, field, msg_part);
}

/* @text must load as exactly one policy with no error and no warning. */
static const struct policy *
expect_one_policy(struct polset *ps, const char *text)
{
	load(ps, text);
	if (ps->diags.n != 0)
		print_diags(ps);
	assert_int_equal(ps->diags.nerr, 0);
	assert_int_equal(ps->diags.nwarn, 0);
	assert_int_equal(ps->npolicies, 1);
	assert_int_equal(ps->nrejected, 0);
	return ps->policies[0];
}

static const struct policy *
find_policy(const struct polset *ps, const char *name)
{
	for (size_t i = 0; i < ps->npolicies; i++)
		if (strcmp(ps->policies[i]->name, name) == 0)
			return ps->policies[i];
	return NULL;
}

static const struct hep *
find_hep(const struct polset *ps, const char *name)
{
	for (size_t i = 0; i < ps->nheps; i++)
		if (strcmp(ps->heps[i]->name, name) == 0)
			return ps->heps[i];
	return NULL;
}

static struct cidr
mkcidr(const char *s)
{
	struct cidr c;

	assert_int_equal(cidr_parse(s, CIDR_LOOSE, &c), 0);
	return c;
}

static void
assert_cidr(const struct cidr *c, const char *want)
{
	char buf[CIDR_STRLEN];

	assert_string_equal(cidr_format(c, buf), want);
}

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
	load(&ps, text);
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
test_unknown_fields_warn(void **state)
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
	load(&ps, text);
	assert_int_equal(ps.diags.nerr, 0);
	assert_int_equal(ps.diags.nwarn, 3);
	assert_int_equal(ps.npolicies, 1);
	assert_int_equal(ps.nrejected, 0);
	p = ps.policies[0];
	assert_int_equal(p->ingress[0].proto, 0);
	assert_int_equal(p->ingress[0].dst.nports, 0);
	assert_diag(nth_diag(&ps, DIAG_WARN, 0), 6, 3, OBJ_X, "spec.selectr", "unknown field");
	assert_diag(nth_diag(&ps, DIAG_WARN, 1), 9, 5, OBJ_X, "spec.ingress[0].protocl",
		    "unknown field (ignored); check the spelling");
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

/* ---- §1.8 invalid combinations, one per test ----------------------------------- */

static void
test_ports_without_protocol(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    destination:\n"
		      "      ports: [80]\n",
		      9, 7, "spec.ingress[0]", "destination ports need protocol TCP, UDP or SCTP");
	/* notPorts and source ports too; a range counts as numeric */
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Allow\n"
		      "    source:\n"
		      "      notPorts: ['1000:2000']\n",
		      9, 7, "spec.egress[0]", "source ports need protocol TCP, UDP or SCTP");
	/* a named port does not excuse a numeric one in the same list */
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    destination:\n"
		      "      ports: [http, 443]\n",
		      9, 7, "spec.ingress[0]", "destination ports need protocol");
}

static void
test_ports_with_non_port_protocol(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: ICMP\n"
		      "    destination:\n"
		      "      ports: [22, 80]\n",
		      10, 7, "spec.ingress[0]",
		      "destination ports are only allowed with protocol TCP, UDP or SCTP");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: UDPLite\n"
		      "    source:\n"
		      "      ports: [53]\n",
		      10, 7, "spec.ingress[0]", "source ports are only allowed with protocol");
	/* named ports do not help either */
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: 47\n"
		      "    destination:\n"
		      "      ports: [http]\n",
		      10, 7, "spec.ingress[0]", "destination ports are only allowed with protocol");
}

static void
test_ports_accepted(void **state)
{
	struct polset ps;
	const struct rule *r;

	(void)state;
	/* v3.32: named-only port lists need no protocol */
	r = expect_one_policy(&ps, GNP_X
			      "  ingress:\n"
			      "  - action: Allow\n"
			      "    destination:\n"
			      "      ports: [http, metrics-9]\n"
			      "      notPorts: [admin]\n")->ingress;
	assert_int_equal(r->proto, 0);
	assert_int_equal(r->dst.nports, 2);
	assert_string_equal(r->dst.ports[0].name, "http");
	assert_string_equal(r->dst.ports[1].name, "metrics-9");
	assert_int_equal(r->dst.nnot_ports, 1);
	assert_string_equal(r->dst.not_ports[0].name, "admin");
	polset_free(&ps);
	/* a numeric protocol 6/17/132 allows ports; ranges and the extremes parse */
	r = expect_one_policy(&ps, GNP_X
			      "  ingress:\n"
			      "  - action: Allow\n"
			      "    protocol: 6\n"
			      "    source:\n"
			      "      ports: [1, '65535', '10:10', '1:65535']\n")->ingress;
	assert_int_equal(r->proto, 6);
	assert_int_equal(r->src.nports, 4);
	assert_int_equal(r->src.ports[0].lo, 1);
	assert_int_equal(r->src.ports[1].hi, 65535);
	assert_int_equal(r->src.ports[2].lo, 10);
	assert_int_equal(r->src.ports[2].hi, 10);
	assert_int_equal(r->src.ports[3].lo, 1);
	assert_int_equal(r->src.ports[3].hi, 65535);
	assert_null(r->src.ports[3].name);
	polset_free(&ps);
	r = expect_one_policy(&ps, GNP_X
			      "  egress:\n"
			      "  - action: Allow\n"
			      "    protocol: SCTP\n"
			      "    destination: {ports: [9000]}\n")->egress;
	assert_int_equal(r->proto, IPPROTO_SCTP);
	polset_free(&ps);
}

static void
test_port_zero_and_range(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: TCP\n"
		      "    destination:\n"
		      "      ports: [22, 0]\n",
		      10, 19, "spec.ingress[0].destination.ports[1]", "port 0 is not allowed");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: TCP\n"
		      "    destination:\n"
		      "      ports: ['0:100']\n",
		      10, 15, "spec.ingress[0].destination.ports[0]", "port 0 is not allowed");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: TCP\n"
		      "    destination:\n"
		      "      ports: [22, '90:80']\n",
		      10, 19, "spec.ingress[0].destination.ports[1]",
		      "port range \"90:80\": min is greater than max");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: UDP\n"
		      "    source:\n"
		      "      notPorts: [65536]\n",
		      10, 18, "spec.ingress[0].source.notPorts[0]",
		      "port 65536 is out of range (1 to 65535)");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: TCP\n"
		      "    destination:\n"
		      "      ports: [HTTP]\n",
		      10, 15, "spec.ingress[0].destination.ports[0]",
		      "\"HTTP\" is neither a port, a range \"min:max\" nor a port name");
}

static void
test_icmp_needs_icmp_protocol(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: TCP\n"
		      "    icmp: {type: 8}\n",
		      9, 11, "spec.ingress[0].icmp", "icmp needs protocol ICMP or ICMPv6");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    notICMP:\n"
		      "      type: 8\n",
		      9, 7, "spec.ingress[0].notICMP", "notICMP needs protocol ICMP or ICMPv6");
}

static void
test_icmp_code_without_type(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: ICMP\n"
		      "    icmp: {code: 0}\n",
		      9, 18, "spec.ingress[0].icmp", "an ICMP code needs an ICMP type");
}

static void
test_icmp_type_255(void **state)
{
	struct polset ps;
	const struct rule *r;

	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: ICMPv6\n"
		      "    icmp:\n"
		      "      type: 255\n",
		      10, 13, "spec.ingress[0].icmp", "ICMP type 255 is not allowed");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: ICMP\n"
		      "    icmp: {type: 3, code: 256}\n",
		      9, 27, "spec.ingress[0].icmp", "ICMP code must be a number from 0 to 255");
	/* the edges that are valid: type 254, code 255 */
	r = expect_one_policy(&ps, GNP_X
			      "  ingress:\n"
			      "  - action: Allow\n"
			      "    protocol: ICMP\n"
			      "    icmp: {type: 254, code: 255}\n"
			      "    notICMP: {type: 0}\n")->ingress;
	assert_true(r->has_icmp);
	assert_true(r->icmp_has_code);
	assert_int_equal(r->icmp_type, 254);
	assert_int_equal(r->icmp_code, 255);
	assert_true(r->has_not_icmp);
	assert_false(r->not_icmp_has_code);
	assert_int_equal(r->not_icmp_type, 0);
	assert_int_equal(r->ip_version, 4);	/* inferred from the name ICMP */
	polset_free(&ps);
}

static void
test_icmp_ip_version(void **state)
{
	struct polset ps;
	const struct rule *r;

	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: ICMP\n"
		      "    ipVersion: 6\n",
		      7, 5, "spec.ingress[0]", "protocol ICMP cannot be used with ipVersion 6");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    notProtocol: ICMPv6\n"
		      "    ipVersion: 4\n",
		      7, 5, "spec.ingress[0]", "protocol ICMPv6 cannot be used with ipVersion 4");
	/* ICMPv6 infers v6; the number 58 infers nothing */
	r = expect_one_policy(&ps, GNP_X
			      "  ingress:\n"
			      "  - action: Allow\n"
			      "    protocol: ICMPv6\n"
			      "  - action: Allow\n"
			      "    protocol: 58\n"
			      "  - action: Allow\n"
			      "    ipVersion: 6\n")->ingress;
	assert_int_equal(r[0].proto, IPPROTO_ICMPV6);
	assert_int_equal(r[0].ip_version, 6);
	assert_int_equal(r[1].proto, 58);
	assert_int_equal(r[1].ip_version, 0);
	assert_int_equal(r[2].ip_version, 6);
	polset_free(&ps);
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    ipVersion: 5\n",
		      8, 16, "spec.ingress[0].ipVersion", "ipVersion must be 4 or 6");
}

static void
test_mixed_families(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Deny\n"
		      "    source:\n"
		      "      nets: [10.0.0.0/8, 'fd00::/8']\n",
		      7, 5, "spec.ingress[0]", "IPv4 and IPv6 CIDRs are mixed in one rule");
	/* across source and destination, and nets/notNets, still one rule */
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Deny\n"
		      "    source:\n"
		      "      notNets: ['fd00::/8']\n"
		      "    destination:\n"
		      "      nets: [192.168.0.0/16]\n",
		      7, 5, "spec.egress[0]", "IPv4 and IPv6 CIDRs are mixed in one rule");
	/* CIDRs contradicting ipVersion */
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Deny\n"
		      "    ipVersion: 6\n"
		      "    source:\n"
		      "      nets: [10.0.0.0/8]\n",
		      7, 5, "spec.ingress[0]", "the rule's CIDRs are IPv4 but ipVersion is 6");
}

static void
test_host_bits_set(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    source:\n"
		      "      nets: [10.0.0.0/8, 10.1.2.3/8]\n",
		      9, 26, "spec.ingress[0].source.nets[1]",
		      "\"10.1.2.3/8\" has host bits set");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    destination:\n"
		      "      notNets: ['fd00::1/64']\n",
		      9, 17, "spec.ingress[0].destination.notNets[0]", "has host bits set");
}

static void
test_bare_ip_in_nets(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    source:\n"
		      "      nets: [10.0.0.1]\n",
		      9, 14, "spec.ingress[0].source.nets[0]",
		      "\"10.0.0.1\" needs a prefix length (write 10.0.0.1/32)");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    source:\n"
		      "      nets: ['fd00::1']\n",
		      9, 14, "spec.ingress[0].source.nets[0]", "(write fd00::1/128)");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    source:\n"
		      "      nets: [not-a-net]\n",
		      9, 14, "spec.ingress[0].source.nets[0]", "\"not-a-net\" is not a CIDR");
}

static void
test_catch_all_not_nets(void **state)
{
	(void)state;
	/* The error points at the entry (line 9, column 29), so its field path
	 * names the entry as well, like every other per-entry CIDR error. */
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Deny\n"
		      "    source:\n"
		      "      notNets: [10.0.0.0/8, 0.0.0.0/0]\n",
		      9, 29, "spec.ingress[0].source.notNets[1]",
		      "a catch-all notNets (/0) matches nothing");
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Deny\n"
		      "    destination:\n"
		      "      notNets: ['::/0']\n",
		      9, 17, "spec.egress[0].destination.notNets[0]", "catch-all notNets");
}

static void
test_pre_dnat_with_egress(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  preDNAT: true\n"
		      "  applyOnForward: true\n"
		      "  ingress: [{action: Allow}]\n"
		      "  egress:\n"
		      "  - action: Allow\n",
		      10, 3, "spec", "a preDNAT policy may only have ingress rules");
	expect_reject(GNP_X
		      "  preDNAT: true\n"
		      "  applyOnForward: true\n"
		      "  types: [Ingress, Egress]\n",
		      8, 10, "spec", "a preDNAT policy may only have ingress rules and the Ingress");
}

static void
test_flags_need_apply_on_forward(void **state)
{
	struct polset ps;
	const struct policy *p;

	(void)state;
	expect_reject(GNP_X
		      "  preDNAT: true\n"
		      "  ingress: [{action: Deny}]\n",
		      6, 3, "spec", "preDNAT needs applyOnForward: true");
	expect_reject(GNP_X
		      "  doNotTrack: true\n"
		      "  applyOnForward: false\n"
		      "  ingress: [{action: Deny}]\n",
		      6, 3, "spec", "doNotTrack needs applyOnForward: true");
	expect_reject(GNP_X
		      "  doNotTrack: true\n"
		      "  preDNAT: true\n"
		      "  applyOnForward: true\n",
		      6, 3, "spec", "preDNAT and doNotTrack cannot both be true");
	p = expect_one_policy(&ps, GNP_X
			      "  preDNAT: true\n"
			      "  applyOnForward: true\n"
			      "  ingress: [{action: Deny}]\n");
	assert_true(p->pre_dnat);
	assert_true(p->apply_on_forward);
	assert_false(p->do_not_track);
	assert_int_equal(p->types, TYPE_INGRESS);
	polset_free(&ps);
	p = expect_one_policy(&ps, GNP_X
			      "  doNotTrack: true\n"
			      "  applyOnForward: true\n"
			      "  egress: [{action: Allow}]\n");
	assert_true(p->do_not_track);
	assert_int_equal(p->types, TYPE_EGRESS);
	polset_free(&ps);
	expect_reject(GNP_X "  applyOnForward: yes-please\n", 6, 19, "spec.applyOnForward",
		      "must be true or false");
}

static void
test_global_in_policy_selector(void **state)
{
	struct polset ps;
	const struct rule *r;

	(void)state;
	expect_reject(GNP_X "  selector: global()\n", 6, 13, "spec.selector",
		      "global() is only allowed alone in a rule's namespaceSelector");
	expect_reject(GNP_X "  namespaceSelector: \"global() || has(a)\"\n", 6, 22,
		      "spec.namespaceSelector", "global() is only allowed");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    source: {selector: 'has(a) && global()'}\n",
		      8, 24, "spec.ingress[0].source.selector", "global() is only allowed");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    source: {namespaceSelector: 'global() && has(a)'}\n",
		      8, 33, "spec.ingress[0].source.namespaceSelector",
		      "global() must be the whole namespaceSelector");
	/* global() alone in a rule's namespaceSelector is fine */
	r = expect_one_policy(&ps, GNP_X
			      "  ingress:\n"
			      "  - action: Allow\n"
			      "    source:\n"
			      "      selector: role == 'lb'\n"
			      "      namespaceSelector: global()\n")->ingress;
	{
		struct labels hep, pod;

		assert_true(r->src.ns_global);
		labels_init(&hep);
		labels_init(&pod);
		assert_int_equal(labels_set(&hep, "role", "lb"), 0);
		assert_int_equal(labels_set(&pod, "role", "lb"), 0);
		assert_int_equal(labels_set(&pod, "projectcalico.org/namespace", "ns1"), 0);
		assert_true(selector_match(r->src.sel, &hep));
		assert_false(selector_match(r->src.sel, &pod));
		labels_free(&hep);
		labels_free(&pod);
	}
	polset_free(&ps);
}

static void
test_lowercase_names(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    protocol: tcp\n",
		      8, 15, "spec.ingress[0].protocol", "protocol names are case-sensitive");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: allow\n",
		      7, 13, "spec.ingress[0].action", "actions are case-sensitive");
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Accept\n",
		      7, 13, "spec.egress[0].action", "action must be Allow, Deny, Pass or Log");
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - protocol: TCP\n",
		      7, 5, "spec.egress[0].action", "action is required");
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Allow\n"
		      "    notProtocol: icmpv6\n",
		      8, 18, "spec.egress[0].notProtocol", "protocol names are case-sensitive");
}

static void
test_protocol_values(void **state)
{
	(void)state;
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Allow\n"
		      "    protocol: 0\n",
		      8, 15, "spec.egress[0].protocol", "\"0\" is not a protocol");
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Allow\n"
		      "    protocol: 256\n",
		      8, 15, "spec.egress[0].protocol", "\"256\" is not a protocol");
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Allow\n"
		      "    protocol: GRE\n",
		      8, 15, "spec.egress[0].protocol", "\"GRE\" is not a protocol");
}

static void
test_duplicate_types(void **state)
{
	(void)state;
	/* the error points at the second entry, so the path names it */
	expect_reject(GNP_X "  types: [Ingress, Egress, Ingress]\n", 6, 28, "spec.types[2]",
		      "Ingress is listed twice in types");
	expect_reject(GNP_X "  types: [ingress]\n", 6, 11, "spec.types[0]",
		      "types entries must be Ingress or Egress");
}

static void
test_bad_selector_syntax(void **state)
{
	(void)state;
	/* plain scalar: the column points inside the selector */
	expect_reject(GNP_X "  selector: role = 'db'\n", 6, 18, "spec.selector",
		      "invalid selector \"role = 'db'\"");
	/* quoted scalar: one more for the quote */
	expect_reject(GNP_X "  selector: \"a == 'b' &&\"\n", 6, 25, "spec.selector",
		      "found end of selector (column 12 of the selector)");
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    destination:\n"
		      "      notSelector: has(a\n",
		      9, 25, "spec.ingress[0].destination.notSelector",
		      "expected ')' to close has( (column 6 of the selector)");
	expect_reject(GNP_X "  serviceAccountSelector: a b\n", 6, 29,
		      "spec.serviceAccountSelector", "invalid selector");
}

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
test_services_and_http(void **state)
{
	struct polset ps;
	const struct rule *r;

	(void)state;
	expect_reject(GNP_X
		      "  ingress:\n"
		      "  - action: Allow\n"
		      "    destination:\n"
		      "      services: {name: kube-dns, namespace: kube-system}\n",
		      9, 7, "spec.ingress[0]",
		      "services may only be an ingress source or an egress destination");
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Allow\n"
		      "    destination:\n"
		      "      services: {name: kube-dns}\n",
		      9, 17, "spec.egress[0].destination.services",
		      "services.namespace is required in a GlobalNetworkPolicy");
	expect_reject(GNP_X
		      "  egress:\n"
		      "  - action: Allow\n"
		      "    destination:\n"
		      "      nets: [10.0.0.0/8]\n"
		      "      services: {name: kube-dns, namespace: kube-system}\n",
		      10, 17, "spec.egress[0].destination.services",
		      "services cannot be combined with nets");
	/* http is ignored with a warning, not an error */
	load(&ps, GNP_X
		  "  ingress:\n"
		  "  - action: Allow\n"
		  "    http: {methods: [GET]}\n");
	assert_int_equal(ps.diags.nerr, 0);
	assert_int_equal(ps.diags.nwarn, 1);
	assert_int_equal(ps.npolicies, 1);
	r = ps.policies[0]->ingress;
	assert_true(r->has_http);
	assert_diag(nth_diag(&ps, DIAG_WARN, 0), 8, 11, OBJ_X, "spec.ingress[0].http",
		    "nfqwall ignores them");
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

/* ---- HostEndpoint ------------------------------------------------------------------ */

#define HEP_HDR \
	"apiVersion: projectcalico.org/v3\n" \
	"kind: HostEndpoint\n" \
	"metadata:\n" \
	"  name: h\n" \
	"spec:\n"

static void
expect_hep_reject(const char *text, int line, int col, const char *field, const char *msg)
{
	struct polset ps;

	load(&ps, text);
	if (ps.diags.nerr != 1)
		print_diags(&ps);
	assert_int_equal(ps.diags.nerr, 1);
	assert_int_equal(ps.nheps, 0);
	assert_int_equal(ps.nrejected, 1);
	assert_diag(nth_diag(&ps, DIAG_ERROR, 0), line, col, "HostEndpoint/h", field, msg);
	polset_free(&ps);
}

static void
test_hep_valid(void **state)
{
	static const char text[] =
		HEP_HDR
		"  node: n1\n"
		"  expectedIPs: [10.0.0.5, 'fd00::5']\n"
		"  profiles: [p1, p2]\n"
		"  ports:\n"
		"  - {name: https, protocol: TCP, port: 443}\n"
		"  - {name: dns, protocol: UDP, port: 53}\n";
	struct polset ps;
	const struct hep *h;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.n, 0);
	assert_int_equal(ps.nheps, 1);
	h = ps.heps[0];
	assert_string_equal(h->name, "h");
	assert_string_equal(h->node, "n1");
	assert_null(h->iface);
	assert_false(hep_is_wildcard(h));
	assert_int_equal(h->nprofiles, 2);
	assert_string_equal(h->profiles[1], "p2");
	assert_int_equal(h->nports, 2);
	assert_string_equal(h->ports[0].name, "https");
	assert_int_equal(h->ports[0].proto, IPPROTO_TCP);
	assert_int_equal(h->ports[0].port, 443);
	assert_int_equal(h->ports[1].proto, IPPROTO_UDP);
	assert_int_equal(h->nips, 2);
	assert_int_equal(h->ips[0].family, AF_INET);
	assert_int_equal(h->ips[1].family, AF_INET6);
	/* model.h: expectedIPs are kept as /32 or /128 host prefixes */
	assert_cidr(&h->ips[0], "10.0.0.5/32");
	assert_cidr(&h->ips[1], "fd00::5/128");
	polset_free(&ps);
}

static void
test_hep_invalid(void **state)
{
	(void)state;
	expect_hep_reject(HEP_HDR "  interfaceName: eth0\n", 6, 3, "spec.node",
			  "node is required");
	expect_hep_reject(HEP_HDR "  node: n1\n  profiles: [p]\n", 6, 3, "spec",
			  "interfaceName or expectedIPs is required");
	expect_hep_reject(HEP_HDR "  node: n1\n  interfaceName: ''\n", 6, 3, "spec",
			  "interfaceName or expectedIPs is required");
	expect_hep_reject(HEP_HDR "  node: n1\n  interfaceName: eth0/1\n", 7, 18,
			  "spec.interfaceName", "\"eth0/1\" is not an interface name");
	expect_hep_reject(HEP_HDR "  node: n1\n  interfaceName: abcdefghijklmnop\n", 7, 18,
			  "spec.interfaceName", "is not an interface name");
	expect_hep_reject(HEP_HDR "  node: n1\n  interfaceName: eth0\n"
				  "  expectedIPs: [10.0.0.0/24]\n",
			  8, 17, "spec.expectedIPs[0]", "\"10.0.0.0/24\" is not an IP address");
	expect_hep_reject(HEP_HDR "  node: n1\n  interfaceName: eth0\n"
				  "  ports: [{name: web, protocol: ICMP, port: 80}]\n",
			  8, 33, "spec.ports[0]", "protocol must be TCP, UDP or SCTP");
	expect_hep_reject(HEP_HDR "  node: n1\n  interfaceName: eth0\n"
				  "  ports: [{name: Web, protocol: TCP, port: 80}]\n",
			  8, 18, "spec.ports[0]", "name must be a port name");
}

/* ---- network sets, tiers, FelixConfiguration -------------------------------------------- */

static void
test_global_network_set(void **state)
{
	static const char text[] =
		"apiVersion: projectcalico.org/v3\n"
		"kind: GlobalNetworkSet\n"
		"metadata:\n"
		"  name: blocked\n"
		"  labels: {feed: bad}\n"
		"spec:\n"
		"  nets: [10.0.0.1, 10.1.2.3/8, 'fd00::1', '2001:db8::7/32', 0.0.0.0/0]\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: GlobalNetworkSet\n"
		"metadata: {name: broken}\n"
		"spec:\n"
		"  nets: [10.0.0.0/8, nope]\n";
	struct polset ps;
	const struct netset *s;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.nerr, 1);
	assert_int_equal(ps.nnetsets, 1);
	s = ps.netsets[0];
	assert_string_equal(s->name, "blocked");
	assert_null(s->ns);
	assert_int_equal(s->labels.n, 1);
	assert_string_equal(labels_get(&s->labels, "feed"), "bad");
	assert_int_equal(s->nnets, 5);
	assert_cidr(&s->nets[0], "10.0.0.1/32");
	assert_cidr(&s->nets[1], "10.0.0.0/8");
	assert_cidr(&s->nets[2], "fd00::1/128");
	assert_cidr(&s->nets[3], "2001:db8::/32");
	assert_cidr(&s->nets[4], "0.0.0.0/0");
	assert_diag(nth_diag(&ps, DIAG_ERROR, 0), 13, 22, "GlobalNetworkSet/broken", "spec.nets[1]",
		    "\"nope\" is not a CIDR or IP address");
	polset_free(&ps);
}

static void
test_network_set_namespace(void **state)
{
	static const char text[] =
		"apiVersion: projectcalico.org/v3\n"
		"kind: NetworkSet\n"
		"metadata:\n"
		"  name: office\n"
		"  namespace: ops\n"
		"  labels: {site: hq}\n"
		"spec:\n"
		"  nets: [192.0.2.0/24]\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: NetworkSet\n"
		"metadata: {name: office}\n"
		"spec: {nets: [198.51.100.0/24]}\n";
	struct polset ps;
	const struct netset *s;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.n, 0);
	/* same name, different namespaces: two objects */
	assert_int_equal(ps.nnetsets, 2);
	s = ps.netsets[0];
	assert_string_equal(s->ns, "ops");
	assert_string_equal(labels_get(&s->labels, "site"), "hq");
	assert_string_equal(labels_get(&s->labels, "projectcalico.org/namespace"), "ops");
	assert_string_equal(labels_get(&s->labels, "pcns.projectcalico.org/name"), "ops");
	s = ps.netsets[1];
	assert_string_equal(s->ns, "default");
	assert_string_equal(labels_get(&s->labels, "projectcalico.org/namespace"), "default");
	assert_cidr(&s->nets[0], "198.51.100.0/24");
	polset_free(&ps);
}

static void
test_tiers(void **state)
{
	static const char text[] =
		"apiVersion: projectcalico.org/v3\n"
		"kind: Tier\n"
		"metadata: {name: security}\n"
		"spec: {order: 100, defaultAction: Pass}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: Tier\n"
		"metadata: {name: default}\n"
		"spec: {}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: Tier\n"
		"metadata: {name: plain}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: Tier\n"
		"metadata: {name: bad1}\n"
		"spec: {defaultAction: Allow}\n"
		"---\n"
		"apiVersion: crd.projectcalico.org/v1\n"
		"kind: Tier\n"
		"metadata: {name: default}\n"
		"spec:\n"
		"  defaultAction: Pass\n";
	struct polset ps;
	const struct tier *t;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.nerr, 2);
	assert_int_equal(ps.ntiers, 3);
	t = polset_tier(&ps, "security");
	assert_non_null(t);
	assert_true(t->has_order);
	assert_true(t->order == 100);
	assert_int_equal(t->default_action, ACT_PASS);
	t = polset_tier(&ps, "default");
	assert_non_null(t);
	assert_true(t->has_order);
	assert_true(t->order == 1000000);
	assert_int_equal(t->default_action, ACT_DENY);
	t = polset_tier(&ps, "plain");
	assert_false(t->has_order);
	assert_int_equal(t->default_action, ACT_DENY);
	assert_null(polset_tier(&ps, "bad1"));
	assert_diag(nth_diag(&ps, DIAG_ERROR, 0), 18, 23, "Tier/bad1", "spec.defaultAction",
		    "defaultAction must be Deny or Pass");
	/* the rejected second "default" did not replace the first */
	assert_diag(nth_diag(&ps, DIAG_ERROR, 1), 24, 3, "Tier/default", "spec",
		    "the default tier's defaultAction must be Deny");
	polset_free(&ps);
}

static void
test_felixconfiguration(void **state)
{
	static const char text[] =
		"apiVersion: projectcalico.org/v3\n"
		"kind: FelixConfiguration\n"
		"metadata: {name: default}\n"
		"spec:\n"
		"  logSeverityScreen: Info\n"
		"  failsafeInboundHostPorts:\n"
		"  - {protocol: TCP, port: 22}\n"
		"  - {protocol: UDP, port: 68, net: 10.0.0.0/8}\n"
		"  - {port: 6443, net: 'fd00::/8'}\n"
		"  failsafeOutboundHostPorts: []\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: FelixConfiguration\n"
		"metadata: {name: node.n1}\n"
		"spec:\n"
		"  failsafeInboundHostPorts: ~\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: FelixConfiguration\n"
		"metadata: {name: node.n2}\n"
		"spec:\n"
		"  failsafeOutboundHostPorts:\n"
		"  - {protocol: ICMP, port: 1}\n";
	struct polset ps;
	const struct felixcfg *f;

	(void)state;
	load(&ps, text);
	assert_int_equal(ps.diags.nerr, 1);
	assert_int_equal(ps.diags.nwarn, 0);	/* Felix fields nfqwall ignores are fine */
	assert_int_equal(ps.nfelixcfgs, 2);
	f = ps.felixcfgs[0];
	assert_string_equal(f->name, "default");
	assert_true(f->in.set);
	assert_int_equal(f->in.n, 3);
	assert_int_equal(f->in.v[0].proto, IPPROTO_TCP);
	assert_int_equal(f->in.v[0].port, 22);
	assert_false(f->in.v[0].has_net);
	assert_int_equal(f->in.v[1].proto, IPPROTO_UDP);
	assert_int_equal(f->in.v[1].port, 68);
	assert_true(f->in.v[1].has_net);
	assert_cidr(&f->in.v[1].net, "10.0.0.0/8");
	assert_int_equal(f->in.v[2].proto, IPPROTO_TCP);	/* default protocol */
	assert_cidr(&f->in.v[2].net, "fd00::/8");
	/* [] disables: set, with no entries */
	assert_true(f->out.set);
	assert_int_equal(f->out.n, 0);
	f = ps.felixcfgs[1];
	assert_string_equal(f->name, "node.n1");
	assert_false(f->in.set);
	assert_false(f->out.set);
	assert_diag(nth_diag(&ps, DIAG_ERROR, 0), 23, 16, "FelixConfiguration/node.n2",
		    "spec.failsafeOutboundHostPorts[0]", "protocol must be TCP or UDP");
	polset_free(&ps);
}

/* ---- failsafe strings (§4) ------------------------------------------------------------- */

static void
test_failsafe_parse(void **state)
{
	struct failsafe_list l;
	char why[200];

	(void)state;
	assert_int_equal(failsafe_parse("tcp:22,udp:68", &l, why, sizeof(why)), 0);
	assert_true(l.set);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].proto, IPPROTO_TCP);
	assert_int_equal(l.v[0].port, 22);
	assert_int_equal(l.v[1].proto, IPPROTO_UDP);
	assert_int_equal(l.v[1].port, 68);
	failsafe_list_free(&l);

	/* a bare port is tcp; a space after the comma is tolerated */
	assert_int_equal(failsafe_parse("443, udp:53", &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].proto, IPPROTO_TCP);
	assert_int_equal(l.v[0].port, 443);
	assert_false(l.v[0].has_net);
	assert_int_equal(l.v[1].port, 53);
	failsafe_list_free(&l);

	assert_int_equal(failsafe_parse("udp:10.0.0.0/8:53", &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].proto, IPPROTO_UDP);
	assert_int_equal(l.v[0].port, 53);
	assert_true(l.v[0].has_net);
	assert_cidr(&l.v[0].net, "10.0.0.0/8");
	failsafe_list_free(&l);

	assert_int_equal(failsafe_parse("tcp:[fd00::/8]:22", &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].proto, IPPROTO_TCP);
	assert_int_equal(l.v[0].port, 22);
	assert_true(l.v[0].has_net);
	assert_int_equal(l.v[0].net.family, AF_INET6);
	assert_cidr(&l.v[0].net, "fd00::/8");
	failsafe_list_free(&l);

	/* "none": set and empty; "": not set (use the defaults) */
	assert_int_equal(failsafe_parse("none", &l, why, sizeof(why)), 0);
	assert_true(l.set);
	assert_int_equal(l.n, 0);
	failsafe_list_free(&l);
	assert_int_equal(failsafe_parse("", &l, why, sizeof(why)), 0);
	assert_false(l.set);
	assert_int_equal(l.n, 0);
	failsafe_list_free(&l);
}

static void
test_failsafe_parse_errors(void **state)
{
	static const struct {
		const char *text;
		const char *why;
	} cases[] = {
		{ "icmp:8", "\"icmp\": protocol must be tcp or udp" },
		{ "tcp:0", "\"0\" is not a port from 1 to 65535" },
		{ "tcp:65536", "\"65536\" is not a port from 1 to 65535" },
		{ "tcp:", "\"\" is not a port" },
		{ "tcp:22,,udp:x", "\"x\" is not a port" },
		{ "tcp:nonsense:22", "\"nonsense\" is not a CIDR" },
		{ "tcp:10.0.0.0/8:22:1", "too many ':'" },
		{ "ssh", "\"ssh\" is not a port" },
	};
	struct failsafe_list l;
	char why[200];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		if (failsafe_parse(cases[i].text, &l, why, sizeof(why)) != -EINVAL)
			fail_msg("\"%s\" parsed", cases[i].text);
		if (strstr(why, cases[i].why) == NULL)
			fail_msg("\"%s\": why = \"%s\", wanted \"%s\"", cases[i].text, why,
				 cases[i].why);
		assert_null(l.v);
		assert_int_equal(l.n, 0);
	}
}

/* Felix lower-cases the protocol of each entry (PortListParam.Parse). */
static void
test_failsafe_parse_protocol_case(void **state)
{
	struct failsafe_list l;
	char why[200] = "";

	(void)state;
	if (failsafe_parse("TCP:22,Udp:10.0.0.0/8:53", &l, why, sizeof(why)) != 0)
		fail_msg("\"TCP:22,Udp:10.0.0.0/8:53\" rejected: %s", why);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].proto, IPPROTO_TCP);
	assert_int_equal(l.v[0].port, 22);
	assert_int_equal(l.v[1].proto, IPPROTO_UDP);
	assert_int_equal(l.v[1].port, 53);
	failsafe_list_free(&l);
}

static void
test_failsafe_defaults(void **state)
{
	static const struct {
		uint8_t proto;
		uint16_t port;
	} in[] = {
		{ IPPROTO_TCP, 22 }, { IPPROTO_UDP, 68 }, { IPPROTO_TCP, 179 },
		{ IPPROTO_TCP, 2379 }, { IPPROTO_TCP, 2380 }, { IPPROTO_TCP, 5473 },
		{ IPPROTO_TCP, 6443 }, { IPPROTO_TCP, 6666 }, { IPPROTO_TCP, 6667 },
	}, out[] = {
		{ IPPROTO_UDP, 53 }, { IPPROTO_UDP, 67 }, { IPPROTO_TCP, 179 },
		{ IPPROTO_TCP, 2379 }, { IPPROTO_TCP, 2380 }, { IPPROTO_TCP, 5473 },
		{ IPPROTO_TCP, 6443 }, { IPPROTO_TCP, 6666 }, { IPPROTO_TCP, 6667 },
	};
	struct failsafe_list l;

	(void)state;
	failsafe_defaults(&l, true);
	assert_true(l.set);
	assert_int_equal(l.n, 9);
	for (size_t i = 0; i < 9; i++) {
		assert_int_equal(l.v[i].proto, in[i].proto);
		assert_int_equal(l.v[i].port, in[i].port);
		assert_false(l.v[i].has_net);
	}
	failsafe_list_free(&l);
	failsafe_defaults(&l, false);
	assert_int_equal(l.n, 9);
	for (size_t i = 0; i < 9; i++) {
		assert_int_equal(l.v[i].proto, out[i].proto);
		assert_int_equal(l.v[i].port, out[i].port);
	}
	failsafe_list_free(&l);
}

/* ---- hostenv ------------------------------------------------------------------------------ */

static const char felix_cfgs[] =
	"apiVersion: projectcalico.org/v3\n"
	"kind: FelixConfiguration\n"
	"metadata: {name: node.n1}\n"
	"spec:\n"
	"  failsafeInboundHostPorts: [{protocol: TCP, port: 1111}]\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: FelixConfiguration\n"
	"metadata: {name: default}\n"
	"spec:\n"
	"  failsafeInboundHostPorts: [{protocol: UDP, port: 2222}]\n"
	"  failsafeOutboundHostPorts: []\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: FelixConfiguration\n"
	"metadata: {name: node.n3}\n"
	"spec:\n"
	"  failsafeOutboundHostPorts: [{protocol: TCP, port: 3333}]\n";

static void
test_hostenv_failsafe_precedence(void **state)
{
	struct hostenv_opts o = { 0 };
	struct hostenv env;
	struct polset ps, empty;
	char why[200];

	(void)state;
	load(&ps, felix_cfgs);
	assert_int_equal(ps.diags.n, 0);

	/* node.n1 beats default (even though it comes first); out from default: [] */
	o.node = "n1";
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_int_equal(env.fs_in.n, 1);
	assert_int_equal(env.fs_in.v[0].port, 1111);
	assert_true(env.fs_out.set);
	assert_int_equal(env.fs_out.n, 0);
	hostenv_free(&env);

	/* no node.n2: default */
	o.node = "n2";
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_int_equal(env.fs_in.n, 1);
	assert_int_equal(env.fs_in.v[0].proto, IPPROTO_UDP);
	assert_int_equal(env.fs_in.v[0].port, 2222);
	assert_int_equal(env.fs_out.n, 0);
	hostenv_free(&env);

	/* node.n3 sets only the outbound list: inbound falls back to default */
	o.node = "n3";
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_int_equal(env.fs_in.v[0].port, 2222);
	assert_int_equal(env.fs_out.n, 1);
	assert_int_equal(env.fs_out.v[0].port, 3333);
	hostenv_free(&env);

	/* flags beat everything; "" means "not set here"; "none" disables */
	o.node = "n1";
	o.failsafe_in = "udp:4444";
	o.failsafe_out = "";
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_int_equal(env.fs_in.n, 1);
	assert_int_equal(env.fs_in.v[0].port, 4444);
	assert_true(env.fs_out.set);
	assert_int_equal(env.fs_out.n, 0);	/* from FelixConfiguration default */
	hostenv_free(&env);
	o.failsafe_in = "none";
	o.failsafe_out = NULL;
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_true(env.fs_in.set);
	assert_int_equal(env.fs_in.n, 0);
	hostenv_free(&env);

	/* a bad flag fails the build with a reason */
	o.failsafe_in = "tcp:99999";
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "99999"));

	/* nothing configured anywhere: Felix's defaults */
	polset_init(&empty);
	o.failsafe_in = NULL;
	o.node = NULL;
	assert_int_equal(hostenv_build(&env, &empty, &o, why, sizeof(why)), 0);
	assert_int_equal(env.fs_in.n, 9);
	assert_int_equal(env.fs_in.v[0].port, 22);
	assert_int_equal(env.fs_out.n, 9);
	assert_int_equal(env.fs_out.v[0].port, 53);
	assert_true(env.invalid_drop);
	hostenv_free(&env);
	polset_free(&empty);
	polset_free(&ps);
}

static const char heps_text[] =
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: z-eth0, labels: {role: a}}\n"
	"spec: {node: n1, interfaceName: eth0}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: m-wild}\n"
	"spec: {node: n1, interfaceName: '*'}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: b-wild}\n"
	"spec: {node: n1, interfaceName: '*'}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: k-byip}\n"
	"spec: {node: n1, expectedIPs: [10.0.0.5]}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: a-eth3}\n"
	"spec: {node: n1, interfaceName: eth3, expectedIPs: [10.0.0.5, 10.0.0.6]}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: c-eth2}\n"
	"spec: {node: n1, interfaceName: eth2}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: d-byip}\n"
	"spec: {node: n1, expectedIPs: [10.0.0.7]}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata: {name: a-other-node}\n"
	"spec: {node: n2, interfaceName: '*', expectedIPs: [10.0.0.9]}\n";

static void
test_hostenv_local_heps(void **state)
{
	struct hostenv_opts o = { .node = "n1" };
	struct hostenv env;
	struct polset ps;
	char why[200];

	(void)state;
	load(&ps, heps_text);
	assert_int_equal(ps.diags.n, 0);
	assert_int_equal(ps.nheps, 8);
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	/* only spec.node == n1, sorted by name */
	assert_int_equal(env.nlocal, 7);
	assert_false(env.has_auto);
	assert_string_equal(env.local[0]->name, "a-eth3");
	assert_string_equal(env.local[1]->name, "b-wild");
	assert_string_equal(env.local[6]->name, "z-eth0");
	for (size_t i = 0; i < env.nlocal; i++)
		assert_string_equal(env.local[i]->node, "n1");
	hostenv_free(&env);

	/* no node: no explicit HEP is local */
	o.node = NULL;
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_int_equal(env.nlocal, 0);
	assert_null(hostenv_hep_for_iface(&env, NULL));
	hostenv_free(&env);
	polset_free(&ps);
}

static void
test_hostenv_auto_hep(void **state)
{
	struct hostenv_opts o = { .node = "n9" };
	struct labels host;
	struct cidr ips[2];
	struct hostenv env;
	struct polset ps;
	const struct hep *a;
	char why[200];

	(void)state;
	load(&ps, heps_text);
	labels_init(&host);
	assert_int_equal(labels_set(&host, "kubernetes.io/hostname", "n9"), 0);
	assert_int_equal(labels_set(&host, "node-role", "worker"), 0);
	ips[0] = mkcidr("192.168.1.9");
	ips[1] = mkcidr("fd00::9");
	o.host_labels = &host;
	o.host_ips = ips;
	o.nhost_ips = 2;
	/* n9 has no HostEndpoint: an auto HEP stands in (§3.3) */
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_true(env.has_auto);
	assert_int_equal(env.nlocal, 1);
	a = env.local[0];
	assert_ptr_equal(a, &env.auto_hep);
	assert_string_equal(a->name, "n9-auto-hep");
	assert_string_equal(a->node, "n9");
	assert_true(hep_is_wildcard(a));
	assert_true(a->synthetic);
	assert_int_equal(a->nprofiles, 1);
	assert_string_equal(a->profiles[0], PROFILE_DEFAULT_ALLOW);
	assert_string_equal(labels_get(&a->labels, "node-role"), "worker");
	assert_string_equal(labels_get(&a->labels, "kubernetes.io/hostname"), "n9");
	assert_non_null(labels_get(&a->labels, "projectcalico.org/created-by"));
	assert_int_equal(a->nips, 2);
	assert_cidr(&a->ips[0], "192.168.1.9/32");
	assert_cidr(&a->ips[1], "fd00::9/128");
	assert_ptr_equal(hostenv_hep_for_iface(&env, NULL), a);
	hostenv_free(&env);

	/* n1 has HostEndpoints: no auto HEP */
	o.node = "n1";
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	assert_false(env.has_auto);
	assert_int_equal(env.nlocal, 7);
	hostenv_free(&env);
	labels_free(&host);
	polset_free(&ps);
}

static void
test_hostenv_hep_for_iface(void **state)
{
	struct hostenv_opts o = { .node = "n1" };
	struct cidr a5 = mkcidr("10.0.0.5"), a6 = mkcidr("10.0.0.6"), a7 = mkcidr("10.0.0.7");
	struct cidr a9 = mkcidr("10.0.0.9"), both[2] = { a7, a5 };
	struct hostenv env;
	struct polset ps;
	char why[200];

	(void)state;
	load(&ps, heps_text);
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	hostenv_add_iface(&env, 1, "lo", NULL, 0);
	hostenv_add_iface(&env, 2, "eth0", &a5, 1);
	hostenv_add_iface(&env, 3, "eth1", &a5, 1);
	hostenv_add_iface(&env, 4, "eth2", &a7, 1);
	hostenv_add_iface(&env, 5, "eth4", both, 2);
	hostenv_add_iface(&env, 6, "cali123", &a5, 1);
	hostenv_add_iface(&env, 7, "eth5", &a6, 1);
	hostenv_add_iface(&env, 8, "eth6", &a9, 1);
	assert_string_equal(hostenv_iface(&env, 2)->name, "eth0");
	assert_null(hostenv_iface(&env, 99));

	/* eth0 is named by z-eth0, and its address 10.0.0.5 is claimed by
	 * k-byip: the lowest name wins, however it matched (§3.2) */
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 2))->name, "k-byip");
	/* eth1 only by expectedIPs (a-eth3 names another interface, so its
	 * expectedIPs never claim) */
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 3))->name, "k-byip");
	/* eth2 is named by c-eth2 and claimed via 10.0.0.7 by d-byip: c < d */
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 4))->name, "c-eth2");
	/* eth4 carries 10.0.0.7 and 10.0.0.5: d-byip < k-byip */
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 5))->name, "d-byip");
	/* unclaimed interfaces (lo too) get the lowest-named "*" HEP */
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 1))->name, "b-wild");
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 7))->name, "b-wild");
	/* another node's HEP never claims, even by IP */
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 8))->name, "b-wild");
	/* workload interfaces are never host endpoints */
	assert_null(hostenv_hep_for_iface(&env, hostenv_iface(&env, 6)));
	assert_string_equal(hostenv_hep_for_iface(&env, NULL)->name, "b-wild");
	hostenv_free(&env);
	polset_free(&ps);
}

static void
test_hostenv_named_beats_wildcard(void **state)
{
	static const char text[] =
		"apiVersion: projectcalico.org/v3\n"
		"kind: HostEndpoint\n"
		"metadata: {name: a-all}\n"
		"spec: {node: n1, interfaceName: '*'}\n"
		"---\n"
		"apiVersion: projectcalico.org/v3\n"
		"kind: HostEndpoint\n"
		"metadata: {name: z-eth0}\n"
		"spec: {node: n1, interfaceName: eth0}\n";
	struct hostenv_opts o = { .node = "n1" };
	struct hostenv env;
	struct polset ps;
	char why[200];

	(void)state;
	load(&ps, text);
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	hostenv_add_iface(&env, 2, "eth0", NULL, 0);
	hostenv_add_iface(&env, 3, "eth1", NULL, 0);
	hostenv_add_iface(&env, 4, "cali0", NULL, 0);
	/* "*" has the lower name but never beats an interface-specific HEP */
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 2))->name, "z-eth0");
	assert_string_equal(hostenv_hep_for_iface(&env, hostenv_iface(&env, 3))->name, "a-all");
	assert_null(hostenv_hep_for_iface(&env, hostenv_iface(&env, 4)));
	hostenv_free(&env);
	polset_free(&ps);

	/* only interface-specific HEPs: an unclaimed interface has none */
	load(&ps, "apiVersion: projectcalico.org/v3\n"
		  "kind: HostEndpoint\n"
		  "metadata: {name: only}\n"
		  "spec: {node: n1, interfaceName: eth0}\n");
	assert_int_equal(hostenv_build(&env, &ps, &o, why, sizeof(why)), 0);
	hostenv_add_iface(&env, 1, "lo", NULL, 0);
	assert_null(hostenv_hep_for_iface(&env, hostenv_iface(&env, 1)));
	assert_null(hostenv_hep_for_iface(&env, NULL));
	hostenv_free(&env);
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
		cmocka_unit_test(test_unknown_fields_warn),
		cmocka_unit_test(test_document_errors),
		cmocka_unit_test(test_yaml_syntax_error_keeps_earlier_docs),
		cmocka_unit_test(test_types_default_v3),
		cmocka_unit_test(test_types_explicit_win),
		cmocka_unit_test(test_v1_types_both),
		cmocka_unit_test(test_v1_default_prefix),
		cmocka_unit_test(test_v1_metadata_annotation),
		cmocka_unit_test(test_v1_hep_labels),
		cmocka_unit_test(test_v1_bad_annotation),
		cmocka_unit_test(test_ports_without_protocol),
		cmocka_unit_test(test_ports_with_non_port_protocol),
		cmocka_unit_test(test_ports_accepted),
		cmocka_unit_test(test_port_zero_and_range),
		cmocka_unit_test(test_icmp_needs_icmp_protocol),
		cmocka_unit_test(test_icmp_code_without_type),
		cmocka_unit_test(test_icmp_type_255),
		cmocka_unit_test(test_icmp_ip_version),
		cmocka_unit_test(test_mixed_families),
		cmocka_unit_test(test_host_bits_set),
		cmocka_unit_test(test_bare_ip_in_nets),
		cmocka_unit_test(test_catch_all_not_nets),
		cmocka_unit_test(test_pre_dnat_with_egress),
		cmocka_unit_test(test_flags_need_apply_on_forward),
		cmocka_unit_test(test_global_in_policy_selector),
		cmocka_unit_test(test_lowercase_names),
		cmocka_unit_test(test_protocol_values),
		cmocka_unit_test(test_duplicate_types),
		cmocka_unit_test(test_bad_selector_syntax),
		cmocka_unit_test(test_policy_names),
		cmocka_unit_test(test_invalid_beside_valid),
		cmocka_unit_test(test_services_and_http),
		cmocka_unit_test(test_duplicate_definition),
		cmocka_unit_test(test_hep_valid),
		cmocka_unit_test(test_hep_invalid),
		cmocka_unit_test(test_global_network_set),
		cmocka_unit_test(test_network_set_namespace),
		cmocka_unit_test(test_tiers),
		cmocka_unit_test(test_felixconfiguration),
		cmocka_unit_test(test_failsafe_parse),
		cmocka_unit_test(test_failsafe_parse_errors),
		cmocka_unit_test(test_failsafe_parse_protocol_case),
		cmocka_unit_test(test_failsafe_defaults),
		cmocka_unit_test(test_hostenv_failsafe_precedence),
		cmocka_unit_test(test_hostenv_local_heps),
		cmocka_unit_test(test_hostenv_auto_hep),
		cmocka_unit_test(test_hostenv_hep_for_iface),
		cmocka_unit_test(test_hostenv_named_beats_wildcard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
