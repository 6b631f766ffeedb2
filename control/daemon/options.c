/*
 * options.c - `nfqwall run`'s options: defaults, then the environment, then
 * the command line (see options.h and the usage text below). Nothing here
 * allocates; strings point into the environment, argv or struct run_opts.
 * Control thread, once at start.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

static const char run_usage[] =
	"usage: nfqwall run --policy-dir DIR [OPTIONS]\n"
	"       nfqwall run --kubernetes [OPTIONS]\n"
	"\n"
	"Enforce the policy in DIR (YAML/JSON files, watched), or the policy in the\n"
	"Kubernetes API (listed and watched). A change recompiles and swaps the table\n"
	"without dropping a packet; a policy with errors is reported and the last good\n"
	"table stays enforced. Every option also reads an environment variable.\n"
	"\n"
	"  --policy-dir DIR      NFQWALL_POLICY_DIR     policy files to enforce\n"
	"  --kubernetes          NFQWALL_KUBERNETES=1   list and watch GlobalNetworkPolicy,\n"
	"                                               StagedGlobalNetworkPolicy, HostEndpoint,\n"
	"                                               GlobalNetworkSet, NetworkSet, Tier,\n"
	"                                               FelixConfiguration, the Nodes, Pods,\n"
	"                                               Namespaces and ServiceAccounts (default\n"
	"                                               when KUBERNETES_SERVICE_HOST is set and\n"
	"                                               no --policy-dir is given)\n"
	"  --api-server URL      NFQWALL_API_SERVER     default https://$KUBERNETES_SERVICE_HOST:\n"
	"                                               $KUBERNETES_SERVICE_PORT (TLS verified)\n"
	"  --token-file PATH     NFQWALL_TOKEN_FILE     default: the service account's; re-read\n"
	"                                               every minute and after a 401\n"
	"  --ca-file PATH        NFQWALL_CA_FILE        default: the service account's ca.crt\n"
	"  --calico-api-group G  NFQWALL_CALICO_API_GROUP  crd.projectcalico.org/v1 or\n"
	"                                               projectcalico.org/v3 (default: discovered)\n"
	"  --max-list-mib N      NFQWALL_MAX_LIST_MIB   the most one kind's list (all pages) may\n"
	"                                               keep, as stored (default 64)\n"
	"  --auto-host-endpoint  NFQWALL_AUTO_HOST_ENDPOINT=1  synthesize Calico's default\n"
	"                                               auto host endpoint of every Node (its\n"
	"                                               labels and addresses): this node's is\n"
	"                                               enforced beside its HostEndpoints, the\n"
	"                                               others' feed rule selectors. Wins over\n"
	"                                               KubeControllersConfiguration \"default\",\n"
	"                                               which decides without it (autoCreate,\n"
	"                                               createDefaultHostEndpoint, templates)\n"
	"  --no-cluster-endpoints  NFQWALL_NO_CLUSTER_ENDPOINTS=1  rule selectors see only\n"
	"                                               HostEndpoints, network sets and this\n"
	"                                               node: no Pods, Namespaces, Service-\n"
	"                                               Accounts or other Nodes are watched\n"
	"  --node NAME           NFQWALL_NODE, NODE_NAME  enforce HostEndpoints of this node\n"
	"                                               (default: the host name)\n"
	"  --host-labels K=V,..  NFQWALL_HOST_LABELS    labels of an auto host endpoint\n"
	"                                               (interfaceName \"*\", default-allow\n"
	"                                               profile) used when no HostEndpoint\n"
	"                                               is on this node\n"
	"  --failsafe-in LIST    NFQWALL_FAILSAFE_IN    Felix syntax (tcp:22,udp:68,\n"
	"  --failsafe-out LIST   NFQWALL_FAILSAFE_OUT   proto:cidr:port, none); default:\n"
	"                                               FelixConfiguration, else Felix's\n"
	"  --queues N            NFQWALL_QUEUES         worker threads and queues (default:\n"
	"                                               one per CPU)\n"
	"  --queue-first N       NFQWALL_QUEUE_FIRST    first queue number (default 100); the\n"
	"                                               number after the last is the deep\n"
	"                                               queue (IPv6 with long header chains)\n"
	"  --queue-len N         NFQWALL_QUEUE_LEN      packets per queue (default 4096)\n"
	"  --fail-open           NFQWALL_FAIL_OPEN=1    packets pass when nfqwall is down or\n"
	"                                               a queue is full (default: they drop,\n"
	"                                               failsafe ports excepted)\n"
	"  --mark-mask MASK      NFQWALL_MARK_MASK      13+ contiguous mark bits nfqwall owns\n"
	"                                               (default 0x1fff; see docs/coexistence.md)\n"
	"  --mark-check MODE     NFQWALL_MARK_CHECK     refuse (default), warn or off: at\n"
	"                                               start, another program's rule using\n"
	"                                               a bit of the mask stops nfqwall\n"
	"  --no-invalid-drop     NFQWALL_NO_INVALID_DROP=1  let conntrack INVALID through\n"
	"  --no-rejudge          NFQWALL_NO_REJUDGE=1   accept established flows in the\n"
	"                                               kernel as Felix does (a policy change\n"
	"                                               then spares existing connections)\n"
	"  --log-allowed         NFQWALL_LOG_ALLOWED=1  log allow verdicts too\n"
	"  --audit               NFQWALL_AUDIT=1        judge but accept everything; log\n"
	"                                               \"would-deny\"\n"
	"  --log-file PATH       NFQWALL_LOG_FILE       verdict log (default stdout)\n"
	"  --flow-journal FILE   NFQWALL_FLOW_JOURNAL   keep the distinct flows judged in FILE\n"
	"                                               (JSON lines, docs/flow-journal.md; also\n"
	"                                               served at /flows) for `nfqwall replay`\n"
	"  --flow-journal-max-mib N  NFQWALL_FLOW_JOURNAL_MAX_MIB  FILE is rotated to FILE.1\n"
	"                                               before it passes N MiB (default 64)\n"
	"  --flow-journal-max-flows N  NFQWALL_FLOW_JOURNAL_MAX_FLOWS  distinct flows held in\n"
	"                                               memory (default 16384; more are dropped\n"
	"                                               and counted until the next flush)\n"
	"  --flow-journal-flush-ms N  NFQWALL_FLOW_JOURNAL_FLUSH_MS  append to FILE this\n"
	"                                               often (default 10000)\n"
	"  --log-rate N          NFQWALL_LOG_RATE       lines per second per rule (default 10;\n"
	"  --log-burst N         NFQWALL_LOG_BURST      burst 20; 0 = unlimited)\n"
	"  --http-addr ADDR:PORT NFQWALL_HTTP_ADDR      /metrics, /livez, /readyz, /flows (default\n"
	"                                               127.0.0.1:9417; \"off\" disables)\n"
	"  --no-allow-self       NFQWALL_NO_ALLOW_SELF=1  police nfqwall's own HTTP port on\n"
	"                                               loopback too (default: TCP from a\n"
	"                                               loopback address to it is always\n"
	"                                               accepted, so probes keep working)\n"
	"  --debounce-ms N       NFQWALL_DEBOUNCE_MS    wait after a change (default 100)\n"
	"  --policy-debounce-ms N  NFQWALL_POLICY_DEBOUNCE_MS  wait after a change of a\n"
	"                                               policy object: quiet among policy\n"
	"                                               changes, at most --debounce-ms\n"
	"                                               after the first (default 20)\n"
	"  --debounce-max-ms N   NFQWALL_DEBOUNCE_MAX_MS  the longest a change waits while\n"
	"                                               others keep coming (default 1000)\n"
	"  --lifeline tcp:HOST:PORT  NFQWALL_LIFELINES (comma-separated)  a destination this\n"
	"                                               node must keep reaching (repeatable):\n"
	"                                               a new table that denies it where the\n"
	"                                               current one allows it is refused; with\n"
	"                                               --kubernetes and --api-server, the API\n"
	"                                               server is one (docs/operations.md)\n"
	"  --confirm-timeout S   NFQWALL_CONFIRM_TIMEOUT  after a policy change, how long a\n"
	"                                               real connection to each lifeline\n"
	"                                               may take before the last confirmed\n"
	"                                               policy is rolled back (default 10)\n"
	"  --no-lockout-guard    NFQWALL_NO_LOCKOUT_GUARD=1  publish every table, lifelines\n"
	"                                               or not; no connection checks\n"
	"  --daemonset NS/NAME   NFQWALL_DAEMONSET      the DaemonSet running this daemon\n"
	"                                               (--kubernetes): watched, and once it\n"
	"                                               is deleted, SIGTERM removes the rules\n"
	"\n"
	"SIGHUP reloads; SIGTERM/SIGINT drain, flush the logs and exit 0, leaving the\n"
	"netfilter rules in place (fail-closed keeps the node closed, failsafes excepted,\n"
	"until nfqwall is back), unless the --daemonset was deleted: then they are\n"
	"removed first. `nfqwall uninstall` removes them.\n"
	"\n"
	"Each limit below also reads NFQWALL_MAX_FILE_BYTES, NFQWALL_MAX_OBJECT_BYTES, ...\n"
	"and --allow-unknown-fields reads NFQWALL_ALLOW_UNKNOWN_FIELDS=1.\n";

static const char *
env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static bool
env_flag(const char *name)
{
	const char *v = getenv(name);

	return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0);
}

static int
parse_uint(const char *what, const char *s, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || s[0] == '\0' || s[0] == '-' || v > max) {
		fprintf(stderr, "nfqwall run: %s: '%s' is not a number up to %lu\n", what, s, max);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

/* Defaults, and the string and flag options of the environment. */
static void
options_defaults(struct run_opts *o)
{
	memset(o->hostname, 0, sizeof(o->hostname));
	gethostname(o->hostname, sizeof(o->hostname) - 1);
	o->policy_dir = env_or("NFQWALL_POLICY_DIR", NULL);
	o->kubernetes = env_flag("NFQWALL_KUBERNETES");
	o->api_server = env_or("NFQWALL_API_SERVER", NULL);
	o->token_file = env_or("NFQWALL_TOKEN_FILE", NULL);
	o->ca_file = env_or("NFQWALL_CA_FILE", NULL);
	o->api_group = env_or("NFQWALL_CALICO_API_GROUP", NULL);
	o->auto_hep = env_flag("NFQWALL_AUTO_HOST_ENDPOINT");
	o->no_cluster = env_flag("NFQWALL_NO_CLUSTER_ENDPOINTS");
	o->lifelines_env = env_or("NFQWALL_LIFELINES", NULL);
	o->no_lockout_guard = env_flag("NFQWALL_NO_LOCKOUT_GUARD");
	o->node = env_or("NFQWALL_NODE", env_or("NODE_NAME", NULL));
	o->host_labels = env_or("NFQWALL_HOST_LABELS", NULL);
	o->fs_in = env_or("NFQWALL_FAILSAFE_IN", NULL);
	o->fs_out = env_or("NFQWALL_FAILSAFE_OUT", NULL);
	o->fail_open = env_flag("NFQWALL_FAIL_OPEN");
	o->no_invalid_drop = env_flag("NFQWALL_NO_INVALID_DROP");
	o->no_rejudge = env_flag("NFQWALL_NO_REJUDGE");
	o->log_allowed = env_flag("NFQWALL_LOG_ALLOWED");
	o->audit = env_flag("NFQWALL_AUDIT");
	o->log_file = env_or("NFQWALL_LOG_FILE", NULL);
	o->flow_journal = env_or("NFQWALL_FLOW_JOURNAL", NULL);
	o->flow_journal_max_mib = 64;
	o->flow_journal_max_flows = 16384;
	o->flow_journal_flush_ms = 10000;
	o->http_addr = env_or("NFQWALL_HTTP_ADDR", "127.0.0.1:9417");
	o->no_allow_self = env_flag("NFQWALL_NO_ALLOW_SELF");
	o->mark_check = env_or("NFQWALL_MARK_CHECK", "refuse");
	o->daemonset = env_or("NFQWALL_DAEMONSET", NULL);
	o->queues = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	o->queue_first = 100;
	o->queue_len = 4096;
	o->mark_mask = 0x00001fffu;	/* clear of Calico, kube-proxy, portmap, Tailscale */
	o->log_rate = 10;
	o->log_burst = 20;
	o->debounce_ms = 100;
	o->policy_debounce_ms = 20;
	o->debounce_max_ms = 1000;
	o->confirm_timeout_s = 10;
	o->limits = polset_limits_default;
	o->limits.allow_unknown_fields = env_flag("NFQWALL_ALLOW_UNKNOWN_FIELDS");
}

/* NFQWALL_MAX_FILE_BYTES ...: the loader's limits from the environment. 0 or 2. */
static int
options_env_limits(struct run_opts *o)
{
	for (unsigned i = 0; i < POLSET_NLIMITS; i++) {
		char var[64] = "NFQWALL_", why[160];
		size_t n = strlen(var);
		const char *s;

		for (const char *p = polset_limit_names[i]; *p && n + 1 < sizeof(var); p++)
			var[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
		var[n] = '\0';
		s = getenv(var);
		if (s != NULL && polset_limits_set(&o->limits, polset_limit_names[i], s, why,
						   sizeof(why)) < 0) {
			fprintf(stderr, "nfqwall run: %s: %s\n", var, why);
			return 2;
		}
	}
	return 0;
}

/* The numeric options of the environment (flags override them). 0 or 2. */
static int
options_env_numbers(struct run_opts *o)
{
	const char *s;
	unsigned v;

	if ((s = getenv("NFQWALL_QUEUES")) && parse_uint("NFQWALL_QUEUES", s, 64, &o->queues))
		return 2;
	if ((s = getenv("NFQWALL_QUEUE_FIRST")) &&
	    parse_uint("NFQWALL_QUEUE_FIRST", s, 65000, &o->queue_first))
		return 2;
	if ((s = getenv("NFQWALL_QUEUE_LEN")) &&
	    parse_uint("NFQWALL_QUEUE_LEN", s, 1u << 20, &o->queue_len))
		return 2;
	if ((s = getenv("NFQWALL_MARK_MASK")) && parse_uint("NFQWALL_MARK_MASK", s, 0xffffffffu, &v))
		return 2;
	if (s)
		o->mark_mask = v;
	if ((s = getenv("NFQWALL_LOG_RATE")) && parse_uint("NFQWALL_LOG_RATE", s, 1000000, &v) == 0)
		o->log_rate = v;
	if ((s = getenv("NFQWALL_LOG_BURST")) && parse_uint("NFQWALL_LOG_BURST", s, 1000000, &v) == 0)
		o->log_burst = v;
	if ((s = getenv("NFQWALL_MAX_LIST_MIB")) &&
	    parse_uint("NFQWALL_MAX_LIST_MIB", s, 4096, &o->max_list_mib))
		return 2;
	if ((s = getenv("NFQWALL_FLOW_JOURNAL_MAX_MIB")) &&
	    parse_uint("NFQWALL_FLOW_JOURNAL_MAX_MIB", s, 65536, &o->flow_journal_max_mib))
		return 2;
	if ((s = getenv("NFQWALL_FLOW_JOURNAL_MAX_FLOWS")) &&
	    parse_uint("NFQWALL_FLOW_JOURNAL_MAX_FLOWS", s, 1u << 24, &o->flow_journal_max_flows))
		return 2;
	if ((s = getenv("NFQWALL_FLOW_JOURNAL_FLUSH_MS")) &&
	    parse_uint("NFQWALL_FLOW_JOURNAL_FLUSH_MS", s, 3600000, &o->flow_journal_flush_ms))
		return 2;
	if ((s = getenv("NFQWALL_DEBOUNCE_MS")) &&
	    parse_uint("NFQWALL_DEBOUNCE_MS", s, 60000, &o->debounce_ms))
		return 2;
	if ((s = getenv("NFQWALL_POLICY_DEBOUNCE_MS")) &&
	    parse_uint("NFQWALL_POLICY_DEBOUNCE_MS", s, 60000, &o->policy_debounce_ms))
		return 2;
	if ((s = getenv("NFQWALL_DEBOUNCE_MAX_MS")) &&
	    parse_uint("NFQWALL_DEBOUNCE_MAX_MS", s, 600000, &o->debounce_max_ms))
		return 2;
	if ((s = getenv("NFQWALL_CONFIRM_TIMEOUT")) &&
	    parse_uint("NFQWALL_CONFIRM_TIMEOUT", s, 600, &o->confirm_timeout_s))
		return 2;
	return options_env_limits(o);
}

/* The command line. 0, 1 (--help) or 2. */
static int
options_flags(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{ "policy-dir", required_argument, NULL, 'p' }, { "node", required_argument, NULL, 'n' },
		{ "host-labels", required_argument, NULL, 'L' },
		{ "failsafe-in", required_argument, NULL, 'I' },
		{ "failsafe-out", required_argument, NULL, 'O' },
		{ "queues", required_argument, NULL, 'q' },
		{ "queue-first", required_argument, NULL, 'f' },
		{ "queue-len", required_argument, NULL, 'l' },
		{ "fail-open", no_argument, NULL, 'o' }, { "mark-mask", required_argument, NULL, 'm' },
		{ "no-invalid-drop", no_argument, NULL, 'i' }, { "no-rejudge", no_argument, NULL, 'r' },
		{ "log-allowed", no_argument, NULL, 'a' }, { "audit", no_argument, NULL, 'A' },
		{ "log-file", required_argument, NULL, 'F' }, { "log-rate", required_argument, NULL, 'R' },
		{ "log-burst", required_argument, NULL, 'B' },
		{ "http-addr", required_argument, NULL, 'H' },
		{ "no-allow-self", no_argument, NULL, 'x' },
		{ "mark-check", required_argument, NULL, 'k' },
		{ "daemonset", required_argument, NULL, 'd' },
		{ "debounce-ms", required_argument, NULL, 'D' }, { "help", no_argument, NULL, 'h' },
		{ "debounce-max-ms", required_argument, NULL, 'W' },
		{ "policy-debounce-ms", required_argument, NULL, 'P' },
		{ "lifeline", required_argument, NULL, 'Y' },
		{ "no-lockout-guard", no_argument, NULL, 'g' },
		{ "confirm-timeout", required_argument, NULL, 'Q' },
		{ "kubernetes", no_argument, NULL, 'K' }, { "api-server", required_argument, NULL, 'S' },
		{ "token-file", required_argument, NULL, 'T' }, { "ca-file", required_argument, NULL, 'C' },
		{ "calico-api-group", required_argument, NULL, 'G' },
		{ "max-list-mib", required_argument, NULL, 'M' },
		{ "auto-host-endpoint", no_argument, NULL, 'U' },
		{ "no-cluster-endpoints", no_argument, NULL, 'E' },
		{ "flow-journal", required_argument, NULL, 'j' },
		{ "flow-journal-max-mib", required_argument, NULL, 'J' },
		{ "flow-journal-max-flows", required_argument, NULL, 'N' },
		{ "flow-journal-flush-ms", required_argument, NULL, 'y' },
		POLSET_LIMIT_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	unsigned v;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o->policy_dir = optarg; break;
		case 'n': o->node = optarg; break;
		case 'L': o->host_labels = optarg; break;
		case 'I': o->fs_in = optarg; break;
		case 'O': o->fs_out = optarg; break;
		case 'q': if (parse_uint("--queues", optarg, 64, &o->queues)) return 2; break;
		case 'f': if (parse_uint("--queue-first", optarg, 65000, &o->queue_first)) return 2; break;
		case 'l': if (parse_uint("--queue-len", optarg, 1u << 20, &o->queue_len)) return 2; break;
		case 'o': o->fail_open = true; break;
		case 'm':
			if (parse_uint("--mark-mask", optarg, 0xffffffffu, &v))
				return 2;
			o->mark_mask = v;
			break;
		case 'i': o->no_invalid_drop = true; break;
		case 'r': o->no_rejudge = true; break;
		case 'a': o->log_allowed = true; break;
		case 'A': o->audit = true; break;
		case 'F': o->log_file = optarg; break;
		case 'R': if (parse_uint("--log-rate", optarg, 1000000, &v)) return 2; o->log_rate = v; break;
		case 'B': if (parse_uint("--log-burst", optarg, 1000000, &v)) return 2; o->log_burst = v; break;
		case 'H': o->http_addr = optarg; break;
		case 'x': o->no_allow_self = true; break;
		case 'k': o->mark_check = optarg; break;
		case 'd': o->daemonset = optarg; break;
		case 'D': if (parse_uint("--debounce-ms", optarg, 60000, &o->debounce_ms)) return 2; break;
		case 'Y':
			if (o->nlifelines >= ARRAY_SIZE(o->lifelines)) {
				fprintf(stderr, "nfqwall run: at most %zu --lifeline options\n",
					ARRAY_SIZE(o->lifelines));
				return 2;
			}
			o->lifelines[o->nlifelines++] = optarg;
			break;
		case 'g': o->no_lockout_guard = true; break;
		case 'P':
			if (parse_uint("--policy-debounce-ms", optarg, 60000, &o->policy_debounce_ms))
				return 2;
			break;
		case 'Q':
			if (parse_uint("--confirm-timeout", optarg, 600, &o->confirm_timeout_s))
				return 2;
			break;
		case 'W':
			if (parse_uint("--debounce-max-ms", optarg, 600000, &o->debounce_max_ms))
				return 2;
			break;
		case 'K': o->kubernetes = true; break;
		case 'S': o->api_server = optarg; break;
		case 'T': o->token_file = optarg; break;
		case 'C': o->ca_file = optarg; break;
		case 'G': o->api_group = optarg; break;
		case 'M': if (parse_uint("--max-list-mib", optarg, 4096, &o->max_list_mib)) return 2; break;
		case 'U': o->auto_hep = true; break;
		case 'E': o->no_cluster = true; break;
		case 'j': o->flow_journal = optarg; break;
		case 'J':
			if (parse_uint("--flow-journal-max-mib", optarg, 65536, &o->flow_journal_max_mib))
				return 2;
			break;
		case 'N':
			if (parse_uint("--flow-journal-max-flows", optarg, 1u << 24,
				       &o->flow_journal_max_flows))
				return 2;
			break;
		case 'y':
			if (parse_uint("--flow-journal-flush-ms", optarg, 3600000,
				       &o->flow_journal_flush_ms))
				return 2;
			break;
		case 'h': fputs(run_usage, stdout); fputs(POLSET_LIMIT_USAGE, stdout); return 1;
		default:
			if (c >= POLSET_OPT_LIMIT) {
				char why[160];

				if (polset_limits_option(&o->limits, c, optarg, why, sizeof(why)) < 0) {
					fprintf(stderr, "nfqwall run: %s\n", why);
					return 2;
				}
				break;
			}
			fputs(run_usage, stderr);
			return 2;
		}
	}
	return 0;
}

/* A DNS-1123 subdomain (Kubernetes object name) of @n bytes, at most @max. */
static bool
dns_name(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' ||
		      (s[i] == '.' && max > 63)))
			return false;
	return true;
}

int
options_daemonset(const char *s, char *ns, size_t nslen, char *name, size_t namelen)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL || !dns_name(s, (size_t)(slash - s), 63) ||
	    !dns_name(slash + 1, strlen(slash + 1), 253))
		return -EINVAL;
	if (ns != NULL)
		snprintf(ns, nslen, "%.*s", (int)(slash - s), s);
	if (name != NULL)
		snprintf(name, namelen, "%s", slash + 1);
	return 0;
}

/* What the options must agree on. 0 or 2. */
static int
options_check(int argc, char **argv, struct run_opts *o)
{
	if (optind < argc) {
		fprintf(stderr, "nfqwall run: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (o->node == NULL)
		o->node = o->hostname;
	if (o->policy_dir == NULL && !o->kubernetes && getenv("KUBERNETES_SERVICE_HOST"))
		o->kubernetes = true;
	if (o->policy_dir == NULL && !o->kubernetes) {
		fprintf(stderr, "nfqwall run: give --policy-dir DIR or --kubernetes\n");
		return 2;
	}
	if (o->policy_dir != NULL && o->kubernetes) {
		fprintf(stderr, "nfqwall run: --policy-dir and --kubernetes exclude each other\n");
		return 2;
	}
	if (o->api_group && strcmp(o->api_group, "crd.projectcalico.org/v1") &&
	    strcmp(o->api_group, "projectcalico.org/v3")) {
		fprintf(stderr, "nfqwall run: --calico-api-group must be crd.projectcalico.org/v1 or "
			"projectcalico.org/v3\n");
		return 2;
	}
	if (o->daemonset != NULL && options_daemonset(o->daemonset, NULL, 0, NULL, 0) < 0) {
		fprintf(stderr, "nfqwall run: --daemonset '%s': want NAMESPACE/NAME (DNS labels)\n",
			o->daemonset);
		return 2;
	}
	if (strcmp(o->http_addr, "off") != 0) {
		char host[64];
		uint16_t port;

		if (options_http_addr(o->http_addr, host, sizeof(host), &port) < 0 || port == 0) {
			fprintf(stderr, "nfqwall run: --http-addr '%s': want HOST:PORT with a port "
				"from 1 to 65535, or off\n", o->http_addr);
			return 2;
		}
	}
	if (strcmp(o->mark_check, "refuse") && strcmp(o->mark_check, "warn") &&
	    strcmp(o->mark_check, "off")) {
		fprintf(stderr, "nfqwall run: --mark-check must be refuse, warn or off\n");
		return 2;
	}
	if (o->daemonset != NULL && !o->kubernetes) {
		fprintf(stderr, "nfqwall run: --daemonset needs --kubernetes\n");
		return 2;
	}
	if (o->confirm_timeout_s == 0) {
		fprintf(stderr, "nfqwall run: --confirm-timeout must be 1 to 600 seconds\n");
		return 2;
	}
	if (o->debounce_max_ms < o->debounce_ms)	/* a change waits at least the debounce */
		o->debounce_max_ms = o->debounce_ms;
	if (o->policy_debounce_ms > o->debounce_ms)	/* never slower than any other change */
		o->policy_debounce_ms = o->debounce_ms;
	if (o->queues == 0)
		o->queues = 1;
	if (o->queue_first + o->queues > 65535) {
		fprintf(stderr, "nfqwall run: queues %u..%u and the deep queue %u do not fit in "
			"0..65535\n", o->queue_first, o->queue_first + o->queues - 1,
			o->queue_first + o->queues);
		return 2;
	}
	return 0;
}

int
options_parse(int argc, char **argv, struct run_opts *o)
{
	int rc;

	options_defaults(o);
	rc = options_env_numbers(o);
	if (rc == 0)
		rc = options_flags(argc, argv, o);
	if (rc == 0)
		rc = options_check(argc, argv, o);
	return rc;
}

int
options_http_addr(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	unsigned p;
	size_t n;

	if (colon == NULL || colon == s)
		return -EINVAL;
	n = (size_t)(colon - s);
	if (s[0] == '[' && colon[-1] == ']') {
		s++;
		n -= 2;
	}
	if (n >= hostlen || parse_uint("--http-addr port", colon + 1, 65535, &p) < 0)
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	*port = (uint16_t)p;
	return 0;
}
