/*
 * test_lint.c - unit tests for control/compile/lint.c (`nfqwall check` warnings):
 * each lint fires on a minimal example, at the right object and field, and
 * stays quiet on the clean variant next to it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lint.h"

/* ---- helpers --------------------------------------------------------------------- */

#define FILE_NAME	"lint.yaml"
#define V3 "apiVersion: projectcalico.org/v3\n"
#define DOC(kind, meta) "---\n" V3 "kind: " kind "\nmetadata: " meta "\n"
#define HEP(meta, spec) DOC("HostEndpoint", meta) "spec: {" spec "}\n"

/* Lines 1-5: the rules of policy x start on line 6. */
#define GNP_X \
	V3 \
	"kind: GlobalNetworkPolicy\n" \
	"metadata:\n" \
	"  name: x\n" \
	"spec:\n"
#define OBJ_X	"GlobalNetworkPolicy/x"

struct lint_run {
	struct polset ps;
	size_t first;		/* the first diagnostic lint added */
};

static void
print_diags(const struct polset *ps, size_t from)
{
	for (size_t i = from; i < ps->diags.n; i++) {
		char buf[2048];

		diag_format(&ps->diags.v[i], buf, sizeof(buf));
		print_message("  diag: %s\n", buf);
	}
}

/*
 * Felix's default failsafe ports draw a lint whenever a policy governs
 * ingress: the other tests narrow them to none unless they bring their own
 * FelixConfiguration.
 */
static const char no_failsafe[] =
	V3 "kind: FelixConfiguration\nmetadata: {name: default}\n"
	"spec: {failsafeInboundHostPorts: []}\n";

/* Load @text (it must be valid), and no_failsafe if @bare is false. */
static void
load_text(struct lint_run *r, const char *text, bool bare)
{
	polset_init(&r->ps);
	assert_int_equal(polset_load_buffer(&r->ps, FILE_NAME, text, strlen(text)), 0);
	if (!bare && strstr(text, "FelixConfiguration") == NULL)
		assert_int_equal(polset_load_buffer(&r->ps, "felix.yaml", no_failsafe,
						    strlen(no_failsafe)), 0);
}

/* Load @text (it must be valid) and lint it for @node. */
static void
lint_text_as(struct lint_run *r, const char *text, const char *node, bool bare)
{
	load_text(r, text, bare);
	if (r->ps.diags.nerr != 0 || r->ps.nrejected != 0) {
		print_diags(&r->ps, 0);
		fail_msg("the example does not load cleanly");
	}
	r->first = r->ps.diags.n;
	assert_int_equal(lint_polset(&r->ps, node), 0);
}

static void
lint_text(struct lint_run *r, const char *text, const char *node)
{
	lint_text_as(r, text, node, false);
}

static size_t
nlints(const struct lint_run *r)
{
	return r->ps.diags.n - r->first;
}

/* The lint warning whose message contains @part (exactly one must). */
static const struct diag *
lint_with(const struct lint_run *r, const char *part)
{
	const struct diag *found = NULL;

	for (size_t i = r->first; i < r->ps.diags.n; i++) {
		const struct diag *d = &r->ps.diags.v[i];

		if (strstr(d->msg, part) == NULL)
			continue;
		if (found != NULL) {
			print_diags(&r->ps, r->first);
			fail_msg("more than one lint says \"%s\"", part);
		}
		found = d;
	}
	if (found == NULL) {
		print_diags(&r->ps, r->first);
		fail_msg("no lint says \"%s\"", part);
	}
	assert_int_equal(found->level, DIAG_WARN);
	assert_string_equal(found->file, FILE_NAME);
	return found;
}

static void
assert_field(const struct diag *d, const char *object, const char *field)
{
	if (object == NULL)
		assert_null(d->object);
	else
		assert_string_equal(d->object, object);
	if (field == NULL)
		assert_null(d->field);
	else
		assert_string_equal(d->field, field);
}

/* @text must lint without any warning. */
static void
expect_clean(const char *text, const char *node)
{
	struct lint_run r;

	lint_text(&r, text, node);
	if (nlints(&r) != 0) {
		print_diags(&r.ps, r.first);
		fail_msg("%zu unexpected lint warnings", nlints(&r));
	}
	polset_free(&r.ps);
}

/* @text must draw exactly one warning, containing @part, on @field of @object. */
static void
expect_one(const char *text, const char *node, const char *part, const char *object,
	   const char *field, int line)
{
	struct lint_run r;
	const struct diag *d;

	lint_text(&r, text, node);
	if (nlints(&r) != 1) {
		print_diags(&r.ps, r.first);
		fail_msg("%zu lint warnings, wanted 1", nlints(&r));
	}
	d = lint_with(&r, part);
	assert_field(d, object, field);
	if (line > 0)
		assert_int_equal(d->line, line);
	polset_free(&r.ps);
}

/* ---- unreachable rules ------------------------------------------------------------------ */

static void
test_unreachable(void **state)
{
	(void)state;
	expect_one(GNP_X
		   "  ingress:\n"
		   "  - action: Deny\n"				/* line 7 */
		   "  - {action: Allow, protocol: TCP}\n",	/* line 8 */
		   NULL, "unreachable: ingress[0] is an unconditional Deny, so the 1 rule after "
		   "it never matches", OBJ_X, "spec.ingress[1]", 8);
	/* the first unconditional rule is reported once, counting what follows */
	expect_one(GNP_X
		   "  egress:\n"
		   "  - {action: Allow, protocol: UDP}\n"
		   "  - action: Pass\n"
		   "  - action: Deny\n"
		   "  - action: Allow\n",
		   NULL, "unreachable: egress[1] is an unconditional Pass, so the 2 rules after it "
		   "never match", OBJ_X, "spec.egress[2]", 0);
	/* a Log, even unconditional, does not make later rules unreachable */
	expect_clean(GNP_X
		     "  ingress:\n"
		     "  - action: Log\n"
		     "  - {action: Allow, protocol: TCP}\n"
		     "  - action: Deny\n", NULL);
	/* conditional rules followed by anything, and a Log after a conditional rule */
	expect_clean(GNP_X
		     "  ingress:\n"
		     "  - {action: Deny, source: {nets: [10.0.0.0/8]}}\n"
		     "  - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n"
		     "  - {action: Deny, ipVersion: 6}\n"
		     "  - {action: Allow, notProtocol: UDP}\n"
		     "  - action: Log\n", NULL);
	/* the last rule unconditional is the normal case */
	expect_clean(GNP_X
		     "  ingress:\n"
		     "  - {action: Allow, protocol: TCP}\n"
		     "  - action: Deny\n", NULL);
}

/* ---- overlapping and duplicate list entries -------------------------------------------------- */

static void
test_overlapping_ports(void **state)
{
	(void)state;
	expect_one(GNP_X
		   "  ingress:\n"
		   "  - action: Allow\n"
		   "    protocol: TCP\n"
		   "    destination: {ports: [22, 80, '70:90']}\n",
		   NULL, "overlaps spec.ingress[0].destination.ports[1] (80:80 and 70:90)", OBJ_X,
		   "spec.ingress[0].destination.ports[2]", 0);
	expect_one(GNP_X
		   "  ingress:\n"
		   "  - action: Allow\n"
		   "    protocol: TCP\n"
		   "    source: {notPorts: [443, 443]}\n",
		   NULL, "duplicate of spec.ingress[0].source.notPorts[0]", OBJ_X,
		   "spec.ingress[0].source.notPorts[1]", 0);
	expect_one(GNP_X
		   "  egress:\n"
		   "  - action: Allow\n"
		   "    protocol: TCP\n"
		   "    destination: {ports: [http, 80, http]}\n",
		   NULL, "port \"http\" is listed twice", OBJ_X,
		   "spec.egress[0].destination.ports[2]", 0);
	/* adjacent ranges and distinct names are fine */
	expect_clean(GNP_X
		     "  ingress:\n"
		     "  - action: Allow\n"
		     "    protocol: TCP\n"
		     "    destination: {ports: [22, '80:89', '90:99', http, https]}\n", NULL);
}

static void
test_overlapping_nets(void **state)
{
	(void)state;
	expect_one(GNP_X
		   "  ingress:\n"
		   "  - action: Allow\n"
		   "    source: {nets: [10.0.0.0/8, 192.168.0.0/16, 10.1.0.0/16]}\n",
		   NULL, "10.1.0.0/16 overlaps spec.ingress[0].source.nets[0] 10.0.0.0/8", OBJ_X,
		   "spec.ingress[0].source.nets[2]", 0);
	/* the wider net second */
	expect_one(GNP_X
		   "  ingress:\n"
		   "  - action: Deny\n"
		   "    destination: {notNets: ['fd00:1::/32', 'fd00::/16']}\n",
		   NULL, "fd00::/16 overlaps spec.ingress[0].destination.notNets[0] fd00:1::/32",
		   OBJ_X, "spec.ingress[0].destination.notNets[1]", 0);
	expect_one(GNP_X
		   "  egress:\n"
		   "  - action: Allow\n"
		   "    destination: {nets: [10.0.0.0/8, 10.0.0.0/8]}\n",
		   NULL, "duplicate of spec.egress[0].destination.nets[0]", OBJ_X,
		   "spec.egress[0].destination.nets[1]", 0);
	/* adjacent nets, and nets of both families, do not overlap */
	expect_clean(GNP_X
		     "  egress:\n"
		     "  - action: Allow\n"
		     "    source: {nets: [10.0.0.0/8, 11.0.0.0/8]}\n"
		     "  - action: Allow\n"
		     "    source: {nets: ['::/0']}\n"
		     "    destination: {nets: ['::1/128', '::2/128']}\n", NULL);
}

/* A host route inside a wider net, after a net it does not touch. */
static void
test_overlapping_nets_host(void **state)
{
	struct lint_run r;

	(void)state;
	lint_text(&r, GNP_X
		  "  ingress:\n"
		  "  - action: Allow\n"
		  "    source: {nets: [10.0.0.0/8, 11.0.0.0/8, 10.0.0.0/32]}\n", NULL);
	assert_int_equal(nlints(&r), 1);
	assert_field(lint_with(&r, "10.0.0.0/32 overlaps spec.ingress[0].source.nets[0]"),
		     OBJ_X, "spec.ingress[0].source.nets[2]");
	polset_free(&r.ps);
}

/* ---- Log-only policies (§9.2) ----------------------------------------------------------------- */

static void
test_log_only(void **state)
{
	(void)state;
	expect_one(GNP_X
		   "  ingress:\n"
		   "  - action: Log\n"
		   "  - {action: Log, protocol: TCP}\n",
		   NULL, "every ingress rule is Log", OBJ_X, "spec.ingress", 1);
	expect_one(GNP_X
		   "  types: [Ingress, Egress]\n"
		   "  ingress:\n"
		   "  - action: Allow\n"
		   "  egress:\n"
		   "  - action: Log\n",
		   NULL, "every egress rule is Log", OBJ_X, "spec.egress", 1);
	/* paired with an Allow, as the docs recommend */
	expect_clean(GNP_X
		     "  ingress:\n"
		     "  - action: Log\n"
		     "  - action: Allow\n", NULL);
}

/* ---- --node ------------------------------------------------------------------------------------- */

static void
test_node_without_hep(void **state)
{
	static const char text[] =
		HEP("{name: web, labels: {role: web}}", "node: n1, interfaceName: eth0")
		HEP("{name: db, labels: {role: db}}", "node: n2, interfaceName: eth0")
		"---\n" GNP_X
		"  selector: role == 'db'\n"
		"  ingress:\n"
		"  - action: Allow\n";

	(void)state;
	expect_one(text, "n1", "selects no HostEndpoint of node n1, so it does nothing there",
		   OBJ_X, "spec.selector", 0);
	/* n2 has the db endpoint; without --node nothing is checked */
	expect_clean(text, "n2");
	expect_clean(text, NULL);
}

/* ---- the loopback trap (§9.3) ----------------------------------------------------------------- */

static void
test_loopback_trap(void **state)
{
	static const char bare_wildcard[] =
		HEP("{name: all}", "node: n1, interfaceName: '*'");
	static const char deny_policy[] =
		HEP("{name: all}", "node: n1, interfaceName: '*', "
		    "profiles: [projectcalico-default-allow]")
		"---\n" GNP_X
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [443]}}\n";
	static const char loopback_allowed[] =
		HEP("{name: all}", "node: n1, interfaceName: '*'")
		"---\n" GNP_X
		"  ingress:\n"
		"  - {action: Allow, source: {nets: [127.0.0.0/8]}}\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [443]}}\n";
	struct lint_run r;
	const struct diag *d;

	(void)state;
	/* a "*" endpoint without profiles denies loopback */
	lint_text(&r, bare_wildcard, "n1");
	assert_int_equal(nlints(&r), 1);
	d = lint_with(&r, "loopback trap: this endpoint polices lo and ingress from 127.0.0.1 is "
		      "denied (no-profile-matched)");
	assert_field(d, "HostEndpoint/all", NULL);
	assert_int_equal(d->line, 2);		/* the object, after the leading "---" */
	polset_free(&r.ps);

	/* one policy flips the default-allow endpoint to end-of-tier deny */
	lint_text(&r, deny_policy, NULL);
	assert_int_equal(nlints(&r), 1);
	d = lint_with(&r, "loopback trap");
	assert_non_null(strstr(d->msg, "(end-of-tier of tier default)"));
	assert_non_null(strstr(d->msg, "add an ingress Allow for source nets 127.0.0.0/8"));
	polset_free(&r.ps);

	/* a rule that denies loopback by name */
	lint_text(&r, HEP("{name: lo-hep}", "node: n1, interfaceName: lo, "
			  "profiles: [projectcalico-default-allow]")
		  "---\n" GNP_X
		  "  ingress:\n"
		  "  - {action: Deny, source: {nets: [127.0.0.0/8]}}\n"
		  "  - action: Allow\n", "n1");
	assert_int_equal(nlints(&r), 1);
	d = lint_with(&r, "loopback trap");
	assert_field(d, "HostEndpoint/lo-hep", NULL);
	assert_non_null(strstr(d->msg, "(rule 0 of x)"));
	polset_free(&r.ps);

	/* quiet: 127.0.0.0/8 allowed; the default-allow profile alone; no "*" endpoint */
	expect_clean(loopback_allowed, "n1");
	expect_clean(HEP("{name: all}", "node: n1, interfaceName: '*', "
			 "profiles: [projectcalico-default-allow]"), "n1");
	expect_clean(HEP("{name: eth0}", "node: n1, interfaceName: eth0"), "n1");
	/* --node elsewhere: n1's endpoints are not linted */
	expect_clean(bare_wildcard, "n2");
}

/*
 * Only the endpoint that actually governs lo is blamed (§3.2: one HEP per
 * interface; a named HEP beats "*", and the lowest "*" name wins).
 */
static void
test_loopback_trap_attribution(void **state)
{
	struct lint_run r;

	(void)state;
	/* a-all governs lo and denies; b-all never sees lo */
	lint_text(&r, HEP("{name: a-all}", "node: n1, interfaceName: '*'")
		  HEP("{name: b-all}", "node: n1, interfaceName: '*', "
		      "profiles: [projectcalico-default-allow]"), "n1");
	if (nlints(&r) != 1)
		print_diags(&r.ps, r.first);
	assert_int_equal(nlints(&r), 1);
	assert_field(lint_with(&r, "loopback trap"), "HostEndpoint/a-all", NULL);
	polset_free(&r.ps);

	/* a lo endpoint beats "*": only it is blamed */
	lint_text(&r, HEP("{name: all}", "node: n1, interfaceName: '*', "
			  "profiles: [projectcalico-default-allow]")
		  HEP("{name: lo-hep}", "node: n1, interfaceName: lo"), "n1");
	if (nlints(&r) != 1)
		print_diags(&r.ps, r.first);
	assert_int_equal(nlints(&r), 1);
	assert_field(lint_with(&r, "loopback trap"), "HostEndpoint/lo-hep", NULL);
	polset_free(&r.ps);

	/* ... and when it allows, nobody is */
	expect_clean(HEP("{name: all}", "node: n1, interfaceName: '*'")
		     HEP("{name: lo-hep}", "node: n1, interfaceName: lo, "
			 "profiles: [projectcalico-default-allow]"), "n1");
}

/* ---- rule parts that match nothing for hosts -------------------------------------------------------- */

static void
test_selector_matches_nothing(void **state)
{
	static const char text[] =
		DOC("GlobalNetworkSet", "{name: nets, labels: {kind: net}}")
		"spec: {nets: [192.0.2.0/24]}\n"
		HEP("{name: other, labels: {role: db}}", "node: n2, interfaceName: eth0, "
		    "expectedIPs: [10.9.9.9]")
		"---\n" GNP_X
		"  ingress:\n"
		"  - action: Allow\n"
		"    source: {selector: role == 'nobody'}\n"
		"  - action: Allow\n"
		"    source: {selector: kind == 'net'}\n"
		"    destination: {selector: role == 'db'}\n";

	(void)state;
	expect_one(text, NULL, "matches no HostEndpoint or network set loaded here", OBJ_X,
		   "spec.ingress[0].source.selector", 0);
	/* notSelector is not checked: matching nothing is what it is for */
	expect_clean(GNP_X
		     "  ingress:\n"
		     "  - action: Allow\n"
		     "    source: {notSelector: role == 'nobody'}\n", NULL);
}

static void
test_pods_and_services(void **state)
{
	struct lint_run r;

	(void)state;
	lint_text(&r, GNP_X
		  "  types: [Ingress, Egress]\n"
		  "  ingress:\n"
		  "  - action: Allow\n"
		  "    source: {serviceAccounts: {names: [builder]}}\n"
		  "  egress:\n"
		  "  - action: Allow\n"
		  "    destination: {services: {name: kube-dns, namespace: kube-system}}\n", NULL);
	assert_int_equal(nlints(&r), 2);
	assert_field(lint_with(&r, "service accounts select pods, which nfqwall resolves in "
			       "Kubernetes mode only"), OBJ_X,
		     "spec.ingress[0].source.serviceAccounts");
	assert_field(lint_with(&r, "Kubernetes Service endpoints are not resolved by nfqwall"),
		     OBJ_X, "spec.egress[0].destination.services");
	polset_free(&r.ps);
}

/* Staged policies are linted under their own kind. */
static void
test_staged_object_name(void **state)
{
	(void)state;
	expect_one(V3
		   "kind: StagedGlobalNetworkPolicy\n"
		   "metadata: {name: st}\n"
		   "spec:\n"
		   "  ingress:\n"
		   "  - action: Log\n",
		   NULL, "every ingress rule is Log", "StagedGlobalNetworkPolicy/st", "spec.ingress",
		   1);
}

/* ---- Felix's default failsafe ports -------------------------------------------------------- */

#define FELIX(name, list) DOC("FelixConfiguration", "{name: " name "}") \
	"spec: {failsafeInboundHostPorts: " list "}\n"

/* Said once per run, on the first policy that governs ingress. */
static void
test_failsafe_defaults(void **state)
{
	static const char two[] =
		GNP_X
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [443]}}\n"
		"---\n" V3
		"kind: GlobalNetworkPolicy\n"
		"metadata: {name: y}\n"
		"spec:\n"
		"  ingress:\n"
		"  - {action: Allow, protocol: TCP, destination: {ports: [80]}}\n";
	static const char egress_only[] =
		GNP_X
		"  types: [Egress]\n"
		"  egress:\n"
		"  - action: Allow\n";
	static const char nodes_n1_n2[] =
		GNP_X "  ingress:\n  - action: Allow\n"
		HEP("{name: h1}", "node: n1, interfaceName: eth0")
		HEP("{name: h2}", "node: n2, interfaceName: eth0")
		FELIX("node.n1", "[]");
	struct lint_run r;
	const struct diag *d;

	(void)state;
	lint_text_as(&r, two, NULL, true);
	if (nlints(&r) != 1)
		print_diags(&r.ps, r.first);
	assert_int_equal(nlints(&r), 1);
	d = lint_with(&r, "Felix's default failsafe ports are open to every source");
	assert_field(d, OBJ_X, "spec.ingress");
	assert_int_equal(d->line, 1);
	assert_non_null(strstr(d->msg, "tcp 22, udp 68, tcp 179, tcp 2379, tcp 2380, tcp 5473, "
			       "tcp 6443, tcp 6666, tcp 6667"));
	assert_non_null(strstr(d->msg, "FelixConfiguration named default with "
			       "spec.failsafeInboundHostPorts"));
	polset_free(&r.ps);

	/* a node's own FelixConfiguration narrows them for that node only */
	lint_text_as(&r, nodes_n1_n2, "n2", true);
	assert_int_equal(nlints(&r), 1);
	(void)lint_with(&r, "Felix's default failsafe ports");
	polset_free(&r.ps);
	lint_text_as(&r, nodes_n1_n2, "n1", true);
	assert_int_equal(nlints(&r), 0);
	polset_free(&r.ps);
	/* the default, set to anything (even Felix's own list), is a decision: quiet */
	lint_text_as(&r, GNP_X "  ingress:\n  - action: Allow\n"
		     FELIX("default", "[{protocol: TCP, port: 22}]"), NULL, true);
	assert_int_equal(nlints(&r), 0);
	polset_free(&r.ps);
	/* no policy governs ingress: nothing is closed, nothing to say */
	lint_text_as(&r, egress_only, NULL, true);
	assert_int_equal(nlints(&r), 0);
	polset_free(&r.ps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_overlapping_ports),
		cmocka_unit_test(test_overlapping_nets),
		cmocka_unit_test(test_overlapping_nets_host),
		cmocka_unit_test(test_log_only),
		cmocka_unit_test(test_node_without_hep),
		cmocka_unit_test(test_loopback_trap),
		cmocka_unit_test(test_loopback_trap_attribution),
		cmocka_unit_test(test_selector_matches_nothing),
		cmocka_unit_test(test_pods_and_services),
		cmocka_unit_test(test_staged_object_name),
		cmocka_unit_test(test_failsafe_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
