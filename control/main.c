/*
 * main.c - the nfqwall command line: dispatch to the subcommands, and the
 * small ones (check, select) themselves.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cli.h"
#include "compile.h"
#include "lint.h"
#include "replay.h"
#include "rules.h"
#include "run.h"
#include "ydoc.h"

#define NFQWALL_VERSION "0.1.0"

static const char main_usage[] =
	"usage: nfqwall COMMAND [OPTIONS]\n"
	"\n"
	"nfqwall enforces Calico host-endpoint policy (GlobalNetworkPolicy, HostEndpoint,\n"
	"GlobalNetworkSet, NetworkSet, Tier, FelixConfiguration failsafes) on a node.\n"
	"\n"
	"Commands:\n"
	"  run --policy-dir DIR [...]      the daemon: enforce the policy on this node\n"
	"  uninstall                       remove every netfilter rule nfqwall installed\n"
	"  check [--node NAME] [--dump-table] [--allow-unknown-fields] PATH...\n"
	"                                  validate and lint policy files; print the\n"
	"                                  compiled table of node NAME\n"
	"  explain 'PROTO SRC -> DST' PATH...\n"
	"                                  which stage, tier, policy and rule decide a\n"
	"                                  packet, and why the other policies missed\n"
	"  replay --journal FILE --before PATH --after PATH [--node NAME] [--json]\n"
	"                                  the recorded flows (run --flow-journal) whose\n"
	"                                  verdict a policy change would change\n"
	"  rules [--addr HOST:PORT] [--unused DURATION] [--json]\n"
	"                                  the running daemon's rules and when each last\n"
	"                                  matched; with --unused, the dead ones\n"
	"  select [--labels FILE] SELECTOR [KEY=VALUE...]\n"
	"                                  evaluate a Calico selector against labels\n"
	"  version                         print the version\n"
	"\n"
	"PATH is a YAML or JSON file (several documents, List wrappers allowed), a\n"
	"directory of *.yaml, *.yml and *.json files, or - for standard input, in\n"
	"projectcalico.org/v3 or crd.projectcalico.org/v1 form. Only regular files are\n"
	"read. A field Calico does not know is an error; --allow-unknown-fields (check,\n"
	"explain, select, run) makes it a warning. 'nfqwall COMMAND --help' tells more.\n";

static const char check_usage[] =
	"usage: nfqwall check [--node NAME] [--dump-table] [--allow-unknown-fields]\n"
	"                     [--journal FILE]... [--max-...] PATH...\n"
	"\n"
	"Parse and validate every object in PATH as Calico would, then lint it.\n"
	"Errors and warnings are printed as file:line:col: level: Kind/name: field: message.\n"
	"PATH - reads standard input: 'helm template CHART | nfqwall check -' checks a\n"
	"chart; objects of other kinds (Deployment, ConfigMap, ...) are skipped with a\n"
	"note. A field Calico does not know is an error (--allow-unknown-fields: a\n"
	"warning).\n"
	"\n"
	"  --node NAME     the node whose HostEndpoints (spec.node) are enforced\n"
	"  --dump-table    compile the valid objects for --node as the daemon would and\n"
	"                  print the table on stdout (the diagnostics go to stderr):\n"
	"                  per host endpoint, hook and IP family its chain of entries in\n"
	"                  order, each with its action and origin (tier, policy, rule,\n"
	"                  file:line), then each packet field's intervals with the\n"
	"                  entries they select. No interface is known, so packets on any\n"
	"                  interface go to the interfaceName \"*\" endpoint. The text is\n"
	"                  stable: tests/golden/tables/ holds expected dumps.\n"
	"  --journal FILE  a flow journal (nfqwall run --flow-journal; repeatable): judge\n"
	"                  its flows with the table for --node, as nfqwall replay does,\n"
	"                  and warn about every rule none of them matched\n"
	"\n"
	"Lints: unreachable rules after an unconditional Allow/Deny/Pass; duplicate or\n"
	"overlapping ports and nets in one list; a policy whose rules in a direction are\n"
	"all Log (it default-denies what it selects); rule selectors that match nothing\n"
	"(pods are not resolved); service-account and service matches (pods only);\n"
	"with --node, policies that select no HostEndpoint of that node; endpoints that\n"
	"police loopback and default-deny 127.0.0.1 (the loopback trap); destination nets\n"
	"on an ingress Allow of a host-only policy (the node's own addresses, not the\n"
	"clients); NodePorts allowed outside preDNAT; preDNAT policies that only allow\n"
	"(they block nothing); rule selectors matching HostEndpoints without expectedIPs;\n"
	"once, Felix's default failsafe ports, open to every source while no\n"
	"FelixConfiguration narrows them; with --journal, rules no recorded flow matched.\n"
	"Lints are warnings: they never change the exit\n"
	"status.\n"
	"\n"
	"Exit status: 0 all objects valid (warnings allowed), 1 some object invalid or\n"
	"nothing to check (no Calico object at all), 2 usage error, 70 out of memory.\n";

static const char select_usage[] =
	"usage: nfqwall select [--labels FILE] SELECTOR [KEY=VALUE...]\n"
	"\n"
	"Evaluate a Calico selector against a set of labels, taken from FILE (a YAML or\n"
	"JSON map) and/or KEY=VALUE arguments (arguments win). --allow-unknown-fields is\n"
	"accepted, as by the other commands, and changes nothing here.\n"
	"\n"
	"Prints 'match' (exit 0) or 'no match' (exit 1); a syntax error is printed with\n"
	"its column (exit 2).\n";

int
cli_limit_option(const char *cmd, int opt, const char *arg, struct polset_limits *l)
{
	char why[160];

	if (polset_limits_option(l, opt, arg, why, sizeof(why)) < 0) {
		fprintf(stderr, "nfqwall %s: %s\n", cmd, why);
		return 2;
	}
	return 0;
}

int
cli_load(struct polset *ps, const char *path)
{
	size_t len = 0, cap = 0, max = ps->limits.max_file_bytes;
	char *buf = NULL;
	int err = 0;

	if (strcmp(path, "-") != 0)
		return polset_load_path(ps, path);
	/* a pipe is what the user asked for here: read it to its end, capped */
	for (;;) {
		size_t n;

		if (len == cap) {
			err = array_reserve(&buf, &cap, len + 65536 < max + 1 ? len + 65536 : max + 1,
					    1);
			if (err < 0 || len == cap)
				break;
		}
		n = fread(buf + len, 1, cap - len, stdin);
		len += n;
		if (n == 0 || len > max)
			break;
	}
	if (err == 0 && ferror(stdin)) {
		err = -EIO;
		diag_add(&ps->diags, DIAG_ERROR, "<stdin>", 0, 0, NULL, NULL, "cannot read: %s",
			 strerror(EIO));
	} else if (err == 0 && len > max) {
		err = -EFBIG;
		diag_add(&ps->diags, DIAG_ERROR, "<stdin>", 0, 0, NULL, NULL, "not read: more than "
			 "%zu bytes: the limit (--max-file-bytes)", max);
	} else if (err == 0) {
		err = polset_load_buffer(ps, "<stdin>", buf ? buf : "", len);
	}
	free(buf);
	return err;
}

/* Compile @ps for @node and print the table on stdout; the exit status (0 when printed). */
static int
dump_table(const struct polset *ps, const char *node)
{
	struct hostenv_opts ho = { .node = node };
	struct hostenv env;
	struct ruleset *rs;
	char why[200];
	int err;

	err = hostenv_build(&env, ps, &ho, why, sizeof(why));
	if (err < 0) {
		if (err == -ENOMEM)
			return cli_nomem("check");
		fprintf(stderr, "nfqwall check: %s\n", why);
		return 1;
	}
	rs = compile_ruleset(&env);
	if (rs == NULL) {
		err = errno;
		hostenv_free(&env);
		if (err == ENOMEM)
			return cli_nomem("check");
		fprintf(stderr, "nfqwall check: compiling the table failed: %s\n", strerror(err));
		return CLI_EXIT_NOMEM;
	}
	ruleset_dump(rs, stdout);
	ruleset_free(rs);
	hostenv_free(&env);
	return 0;
}

static int
check_run(int argc, char **argv, const char **journals)
{
	static const struct option longopts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "dump-table", no_argument, NULL, 'T' },
		{ "journal", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		POLSET_LIMIT_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct polset_limits limits = polset_limits_default;
	const char *node = NULL;
	size_t njournals = 0;
	bool dump = false;
	struct polset ps;
	FILE *diag_out;
	int c, rc;

	while ((c = getopt_long(argc, argv, "hn:", longopts, NULL)) != -1) {
		if (c == 'h') {
			printf("%s\n%s", check_usage, POLSET_LIMIT_USAGE);
			return 0;
		}
		if (c == 'T') {
			dump = true;
			continue;
		}
		if (c == 'J') {
			journals[njournals++] = optarg;
			continue;
		}
		if (c >= POLSET_OPT_LIMIT) {
			if (cli_limit_option("check", c, optarg, &limits) != 0)
				return 2;
			continue;
		}
		if (c != 'n') {
			fputs(check_usage, stderr);
			return 2;
		}
		node = optarg;
	}
	if (optind >= argc) {
		fprintf(stderr, "nfqwall check: no PATH given\n%s", check_usage);
		return 2;
	}
	polset_init(&ps);
	ps.limits = limits;
	for (int i = optind; i < argc; i++) {
		if (cli_load(&ps, argv[i]) == -ENOMEM) {
			polset_free(&ps);
			return cli_nomem("check");
		}
	}
	if (lint_polset(&ps, node) < 0) {
		polset_free(&ps);
		return cli_nomem("check");
	}
	if (njournals > 0 && (rc = replay_unused(&ps, node, journals, njournals)) != 0) {
		polset_free(&ps);
		return rc;
	}
	diag_out = dump ? stderr : stdout;
	diag_print(&ps.diags, diag_out);
	fprintf(diag_out, "%zu object%s checked: %zu invalid, %zu error%s, %zu warning%s\n",
		ps.nobjects, ps.nobjects == 1 ? "" : "s", ps.nrejected, ps.diags.nerr,
		ps.diags.nerr == 1 ? "" : "s", ps.diags.nwarn, ps.diags.nwarn == 1 ? "" : "s");
	rc = ps.diags.nerr > 0 ? 1 : 0;
	if (ps.nobjects == 0 && rc == 0) {
		/* an empty pipe or a chart with no Calico object: say so, and fail */
		if (ps.nskipped == 0)
			fprintf(diag_out, "nothing to check: the input holds no object at all\n");
		else
			fprintf(diag_out, "nothing to check: the input holds no Calico object of a "
				"kind nfqwall reads (%zu object%s of other kinds skipped)\n",
				ps.nskipped, ps.nskipped == 1 ? "" : "s");
		rc = 1;
	}
	if (dump) {
		int drc = dump_table(&ps, node);

		if (drc != 0)
			rc = drc;
	}
	polset_free(&ps);
	return rc;
}

static int
check_main(int argc, char **argv)
{
	const char **journals = calloc((size_t)argc + 1, sizeof(*journals));
	int rc;

	if (journals == NULL)
		return cli_nomem("check");
	rc = check_run(argc, argv, journals);
	free(journals);
	return rc;
}

/* The labels of the map in @path into @out: 0, -EINVAL (said on stderr) or -ENOMEM. */
static int
labels_from_file(const char *path, struct labels *out)
{
	struct diags d;
	struct ydocs docs;
	int rc = 0;

	diags_init(&d);
	if (ydocs_load(&docs, path, NULL, 0, NULL, &d) < 0 || docs.n != 1 ||
	    ydoc_root(&docs.v[0])->type != YAML_MAPPING_NODE) {
		diag_print(&d, stderr);
		fprintf(stderr, "nfqwall select: %s must hold one map of labels\n", path);
		rc = -EINVAL;
		goto out;
	}
	yaml_node_t *root = ydoc_root(&docs.v[0]);

	for (size_t i = 0; i < ydoc_len(root); i++) {
		yaml_node_t *k, *v;

		ydoc_pair(&docs.v[0], root, i, &k, &v);
		if (ydoc_str(k) == NULL || ydoc_str(v) == NULL) {
			fprintf(stderr, "%s:%d:%d: label keys and values must be strings\n", path,
				ydoc_line(k), ydoc_col(k));
			rc = -EINVAL;
			break;
		}
		if (labels_set(out, ydoc_str(k), ydoc_str(v)) < 0) {
			rc = -ENOMEM;
			break;
		}
	}
out:
	ydocs_free(&docs);
	diags_free(&d);
	return rc;
}

static int
select_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "labels", required_argument, NULL, 'l' },
		{ "allow-unknown-fields", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct selector_error se;
	struct selector *sel = NULL;
	struct labels l;
	int c, rc;

	labels_init(&l);
	while ((c = getopt_long(argc, argv, "+hl:", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(select_usage, stdout);
			return 0;
		}
		if (c == 'u')
			continue;	/* a labels map has no fields to know */
		if (c != 'l') {
			fputs(select_usage, stderr);
			return 2;
		}
		rc = labels_from_file(optarg, &l);
		if (rc < 0) {
			labels_free(&l);
			return rc == -ENOMEM ? cli_nomem("select") : 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "nfqwall select: no SELECTOR given\n%s", select_usage);
		labels_free(&l);
		return 2;
	}
	for (int i = optind + 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (eq == NULL || eq == argv[i]) {
			fprintf(stderr, "nfqwall select: '%s' is not KEY=VALUE\n", argv[i]);
			labels_free(&l);
			return 2;
		}
		*eq = '\0';
		if (labels_set(&l, argv[i], eq + 1) < 0) {
			labels_free(&l);
			return cli_nomem("select");
		}
	}
	if (selector_parse(argv[optind], &sel, &se) < 0) {
		printf("error: column %d: %s\n  %s\n  %*s^\n", se.col, se.msg, argv[optind],
		       se.col - 1, "");
		labels_free(&l);
		return 2;
	}
	rc = selector_match(sel, &l) ? 0 : 1;
	puts(rc == 0 ? "match" : "no match");
	selector_free(sel);
	labels_free(&l);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "check", check_main },
		{ "explain", explain_main },
		{ "replay", replay_main },
		{ "rules", rules_main },
		{ "run", run_main },
		{ "uninstall", uninstall_main },
		{ "select", select_main },
	};

	if (argc < 2) {
		fputs(main_usage, stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("nfqwall %s\n", NFQWALL_VERSION);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "nfqwall: unknown command '%s'\n%s", argv[1], main_usage);
	return 2;
}
