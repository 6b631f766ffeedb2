/*
 * run.c - `nfqwall run`: the daemon.
 *
 * The main thread is the control thread. It loads the policy, compiles it
 * for this node's endpoints and interfaces, publishes the table with RCU,
 * starts one worker per queue, the verdict logger and the HTTP endpoint,
 * installs the netfilter rules, then waits on one poll(2) for: policy
 * directory changes (inotify), interface and address changes (rtnetlink),
 * signals (signalfd: SIGTERM/SIGINT stop, SIGHUP reloads) and its debounce
 * timer. Every change recompiles and swaps the table without stopping the
 * workers; a policy that does not load cleanly is reported and the last good
 * table stays enforced. SIGTERM leaves the netfilter rules in place (a
 * restarting pod must not open the node): `nfqwall uninstall` removes them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <ifaddrs.h>
#include <malloc.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include "clock.h"
#include "compile.h"
#include "daemon.h"
#include "fwrules.h"
#include "jscan.h"
#include "kube.h"
#include "log.h"
#include "run.h"
#include "worker.h"
#include "xalloc.h"

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
	"                                               FelixConfiguration and this node's Node\n"
	"                                               (default when KUBERNETES_SERVICE_HOST is\n"
	"                                               set and no --policy-dir is given)\n"
	"  --api-server URL      NFQWALL_API_SERVER     default https://$KUBERNETES_SERVICE_HOST:\n"
	"                                               $KUBERNETES_SERVICE_PORT (TLS verified)\n"
	"  --token-file PATH     NFQWALL_TOKEN_FILE     default: the service account's; re-read\n"
	"                                               every minute and after a 401\n"
	"  --ca-file PATH        NFQWALL_CA_FILE        default: the service account's ca.crt\n"
	"  --calico-api-group G  NFQWALL_CALICO_API_GROUP  crd.projectcalico.org/v1 or\n"
	"                                               projectcalico.org/v3 (default: discovered)\n"
	"  --auto-host-endpoint  NFQWALL_AUTO_HOST_ENDPOINT=1  with no HostEndpoint on this node,\n"
	"                                               synthesize Calico's auto host endpoint\n"
	"                                               from the Node (labels, InternalIPs)\n"
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
	"  --queue-first N       NFQWALL_QUEUE_FIRST    first queue number (default 100)\n"
	"  --queue-len N         NFQWALL_QUEUE_LEN      packets per queue (default 4096)\n"
	"  --fail-open           NFQWALL_FAIL_OPEN=1    packets pass when nfqwall is down or\n"
	"                                               a queue is full (default: they drop,\n"
	"                                               failsafe ports excepted)\n"
	"  --mark-mask MASK      NFQWALL_MARK_MASK      13+ contiguous mark bits nfqwall owns\n"
	"                                               (default 0xfff80000)\n"
	"  --no-invalid-drop     NFQWALL_NO_INVALID_DROP=1  let conntrack INVALID through\n"
	"  --no-rejudge          NFQWALL_NO_REJUDGE=1   accept established flows in the\n"
	"                                               kernel as Felix does (a policy change\n"
	"                                               then spares existing connections)\n"
	"  --log-allowed         NFQWALL_LOG_ALLOWED=1  log allow verdicts too\n"
	"  --audit               NFQWALL_AUDIT=1        judge but accept everything; log\n"
	"                                               \"would-deny\"\n"
	"  --log-file PATH       NFQWALL_LOG_FILE       verdict log (default stdout)\n"
	"  --log-rate N          NFQWALL_LOG_RATE       lines per second per rule (default 10;\n"
	"  --log-burst N         NFQWALL_LOG_BURST      burst 20; 0 = unlimited)\n"
	"  --http-addr ADDR:PORT NFQWALL_HTTP_ADDR      /metrics, /livez, /readyz (default\n"
	"                                               127.0.0.1:9417; \"off\" disables)\n"
	"  --debounce-ms N       NFQWALL_DEBOUNCE_MS    wait after a change (default 100)\n"
	"\n"
	"SIGHUP reloads; SIGTERM/SIGINT drain, flush the logs and exit 0, leaving the\n"
	"netfilter rules in place (fail-closed keeps the node closed, failsafes excepted,\n"
	"until nfqwall is back); `nfqwall uninstall` removes them.\n";

struct run_opts {
	const char *policy_dir;
	bool kubernetes;
	const char *api_server;
	const char *token_file;
	const char *ca_file;
	const char *api_group;
	bool auto_hep;
	const char *node;
	const char *host_labels;
	const char *fs_in;
	const char *fs_out;
	unsigned queues;
	unsigned queue_first;
	unsigned queue_len;
	bool fail_open;
	uint32_t mark_mask;
	bool no_invalid_drop;
	bool no_rejudge;
	bool log_allowed;
	bool audit;
	const char *log_file;
	double log_rate;
	double log_burst;
	const char *http_addr;
	unsigned debounce_ms;
};

struct ctl {
	struct run_opts o;
	struct labels host_labels;
	struct daemon d;
	struct mark_layout ml;
	struct worker *workers;
	unsigned nworkers;
	struct vlog_logger logger;
	struct http_server *http;
	struct kube_store store;
	struct kube_client *kube;
	uint64_t store_version;		/* of the last reload from the store */
	FILE *logout;
	uint64_t gen;
	bool have_table;
	int ifd;		/* inotify */
	int wd;
	int nlfd;		/* rtnetlink */
	int sfd;		/* signalfd */
	int tfd;		/* debounce timer */
	bool reload_pending;
};

/* ---- options ------------------------------------------------------------------------ */

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

static int
parse_run_opts(int argc, char **argv, struct run_opts *o)
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
		{ "debounce-ms", required_argument, NULL, 'D' }, { "help", no_argument, NULL, 'h' },
		{ "kubernetes", no_argument, NULL, 'K' }, { "api-server", required_argument, NULL, 'S' },
		{ "token-file", required_argument, NULL, 'T' }, { "ca-file", required_argument, NULL, 'C' },
		{ "calico-api-group", required_argument, NULL, 'G' },
		{ "auto-host-endpoint", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	char host[256] = "";
	const char *s;
	unsigned v;
	int c;

	gethostname(host, sizeof(host) - 1);
	o->policy_dir = env_or("NFQWALL_POLICY_DIR", NULL);
	o->kubernetes = env_flag("NFQWALL_KUBERNETES");
	o->api_server = env_or("NFQWALL_API_SERVER", NULL);
	o->token_file = env_or("NFQWALL_TOKEN_FILE", NULL);
	o->ca_file = env_or("NFQWALL_CA_FILE", NULL);
	o->api_group = env_or("NFQWALL_CALICO_API_GROUP", NULL);
	o->auto_hep = env_flag("NFQWALL_AUTO_HOST_ENDPOINT");
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
	o->http_addr = env_or("NFQWALL_HTTP_ADDR", "127.0.0.1:9417");
	o->queues = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	o->queue_first = 100;
	o->queue_len = 4096;
	o->mark_mask = 0xfff80000u;
	o->log_rate = 10;
	o->log_burst = 20;
	o->debounce_ms = 100;
	/* numeric environment first, flags override */
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
	if ((s = getenv("NFQWALL_DEBOUNCE_MS")) &&
	    parse_uint("NFQWALL_DEBOUNCE_MS", s, 60000, &o->debounce_ms))
		return 2;

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
		case 'D': if (parse_uint("--debounce-ms", optarg, 60000, &o->debounce_ms)) return 2; break;
		case 'K': o->kubernetes = true; break;
		case 'S': o->api_server = optarg; break;
		case 'T': o->token_file = optarg; break;
		case 'C': o->ca_file = optarg; break;
		case 'G': o->api_group = optarg; break;
		case 'U': o->auto_hep = true; break;
		case 'h': fputs(run_usage, stdout); return 1;
		default: fputs(run_usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nfqwall run: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (o->node == NULL)
		o->node = xstrdup(host);
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
	if (o->queues == 0)
		o->queues = 1;
	if (o->queue_first + o->queues > 65535) {
		fprintf(stderr, "nfqwall run: queues %u..%u do not fit in 0..65535\n", o->queue_first,
			o->queue_first + o->queues - 1);
		return 2;
	}
	return 0;
}

/* ---- interfaces ------------------------------------------------------------------------ */

static void
add_host_ifaces(struct hostenv *env)
{
	struct if_nameindex *names = if_nameindex(), *n;
	struct ifaddrs *ifa = NULL;

	if (names == NULL)
		return;
	if (getifaddrs(&ifa) < 0)
		ifa = NULL;
	for (n = names; n->if_index != 0; n++) {
		struct cidr *addrs = NULL;
		size_t na = 0;

		for (struct ifaddrs *a = ifa; a; a = a->ifa_next) {
			uint8_t fam;

			if (a->ifa_addr == NULL || strcmp(a->ifa_name, n->if_name) != 0)
				continue;
			fam = (uint8_t)a->ifa_addr->sa_family;
			if (fam != AF_INET && fam != AF_INET6)
				continue;
			XGROW(addrs, na);
			memset(&addrs[na], 0, sizeof(addrs[na]));
			addrs[na].family = fam;
			addrs[na].plen = (uint8_t)addr_bits(fam);
			if (fam == AF_INET)
				addr_from_bytes(&addrs[na].addr, (const uint8_t *)
						&((struct sockaddr_in *)(void *)a->ifa_addr)->sin_addr, fam);
			else
				addr_from_bytes(&addrs[na].addr, (const uint8_t *)
						&((struct sockaddr_in6 *)(void *)a->ifa_addr)->sin6_addr, fam);
			na++;
		}
		hostenv_add_iface(env, n->if_index, n->if_name, addrs, na);
		free(addrs);
	}
	freeifaddrs(ifa);
	if_freenameindex(names);
}

/* ---- compile and publish ------------------------------------------------------------------ */

static void
set_detail(struct ctl *c, const char *fmt, ...) __printf(2, 3);

static void
set_detail(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&c->d.lock);
	va_start(ap, fmt);
	vsnprintf(c->d.ready_detail, sizeof(c->d.ready_detail), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&c->d.lock);
}

static void
log_diags(const struct diags *ds)
{
	for (size_t i = 0; i < ds->n; i++) {
		const struct diag *r = &ds->v[i];
		char line[1200];

		if (r->level == DIAG_NOTE)
			continue;
		diag_format(r, line, sizeof(line));
		log_msg(r->level == DIAG_ERROR ? LOG_ERR : LOG_WARN,
			r->level == DIAG_ERROR ? "policy error" : "policy warning", "where=\"%s\"",
			line);
	}
}

static void
fw_config_for(const struct ctl *c, const struct polset *ps, const struct hostenv *env,
	      struct fw_config *fc, const char **claimed)
{
	memset(fc, 0, sizeof(*fc));
	fc->claimed_all = hostenv_hep_for_iface(env, NULL) != NULL;
	fc->claimed = claimed;
	for (size_t i = 0; i < env->nifaces; i++)
		if (hostenv_hep_for_iface(env, &env->ifaces[i]) != NULL)
			claimed[fc->nclaimed++] = env->ifaces[i].name;
	fc->ml = c->ml;
	fc->gen = c->gen;
	fc->queue_first = (uint16_t)c->o.queue_first;
	fc->queue_count = (uint16_t)c->o.queues;
	fc->fail_open = c->o.fail_open;
	fc->invalid_drop = !c->o.no_invalid_drop;
	fc->rejudge = !c->o.no_rejudge;
	fc->fs_in = &env->fs_in;
	fc->fs_out = &env->fs_out;
	/* queue only from the hooks the policy needs */
	for (size_t i = 0; i < ps->npolicies; i++) {
		const struct policy *p = ps->policies[i];

		if (p->kind != KIND_GNP)
			continue;
		if (p->pre_dnat)
			fc->prednat = true;
		if (p->apply_on_forward || p->pre_dnat)
			fc->forward = true;
		if (p->do_not_track) {
			for (size_t j = 0; j < env->nlocal; j++)
				if (!hep_is_wildcard(env->local[j]) &&
				    selector_match(p->sel, &env->local[j]->labels))
					fc->untracked = true;
		}
	}
}

struct node_info {
	struct labels labels;
	struct cidr ips[16];
	size_t nips;
};

static bool
node_label(const char *key, struct jspan v, void *arg)
{
	struct labels *l = arg;
	char val[512];

	if (jscan_string(v, val, sizeof(val)) && labels_set(l, key, val) < 0)
		exit(70);
	return true;
}

static bool
node_address(struct jspan item, void *arg)
{
	struct node_info *ni = arg;
	char type[32], addr[64];

	if (jscan_string(jscan_get(item, "type"), type, sizeof(type)) &&
	    strcmp(type, "InternalIP") == 0 &&
	    jscan_string(jscan_get(item, "address"), addr, sizeof(addr)) &&
	    ni->nips < ARRAY_SIZE(ni->ips) && cidr_parse(addr, CIDR_LOOSE, &ni->ips[ni->nips]) == 0)
		ni->nips++;
	return true;
}

/* Every stored object into @ps (and this Node's labels and InternalIPs into @ni). */
static void
load_from_store(struct ctl *c, struct polset *ps, struct node_info *ni)
{
	struct kube_store *st = &c->store;

	pthread_mutex_lock(&st->lock);
	c->store_version = st->version;
	for (int k = 0; k < KK_NKINDS; k++) {
		const struct kube_kind_state *ks = &st->kinds[k];

		for (size_t i = 0; i < ks->n; i++) {
			char name[600];

			if (k == KK_NODE) {
				struct jspan obj = { ks->v[i].json, strlen(ks->v[i].json) };

				jscan_each_pair(jscan_path(obj, "metadata.labels"), node_label,
						&ni->labels);
				jscan_each(jscan_path(obj, "status.addresses"), node_address, ni);
				continue;
			}
			snprintf(name, sizeof(name), "k8s:%s/%s", kube_kind_name((enum kube_kind)k),
				 ks->v[i].key);
			polset_load_buffer(ps, name, ks->v[i].json, strlen(ks->v[i].json));
		}
	}
	pthread_mutex_unlock(&st->lock);
}

/*
 * Load, compile, publish, install. On the first load a policy with errors
 * still loads its valid objects (there is no older table to keep); later, a
 * load with errors is rejected as a whole and the last good table stays.
 */
static int
control_reload(struct ctl *c, const char *why)
{
	struct hostenv_opts ho = {
		.node = c->o.node,
		.host_labels = c->o.host_labels ? &c->host_labels : NULL,
		.failsafe_in = c->o.fs_in,
		.failsafe_out = c->o.fs_out,
		.no_invalid_drop = c->o.no_invalid_drop,
	};
	struct polset ps;
	struct hostenv env;
	struct fw_config fc;
	struct ruleset *rs;
	struct node_info ni;
	char reason[512];
	uint64_t t0 = mono_ns(), t1;
	uint32_t nchains, nentries, nbitsets;
	int err;

	STAT_ADD(c->d.reloads, 1);
	polset_init(&ps);
	memset(&ni, 0, sizeof(ni));
	labels_init(&ni.labels);
	if (c->o.kubernetes) {
		load_from_store(c, &ps, &ni);
		if (c->o.auto_hep) {
			/* Calico's auto host endpoint: the Node's labels and InternalIPs */
			ho.host_labels = &ni.labels;
			ho.host_ips = ni.ips;
			ho.nhost_ips = ni.nips;
		}
	} else {
		polset_load_path(&ps, c->o.policy_dir);
	}
	STAT_SET(c->d.objects_rejected, ps.nrejected);
	log_diags(&ps.diags);
	if (ps.diags.nerr > 0 && c->have_table) {
		STAT_ADD(c->d.reload_failures, 1);
		log_err("policy rejected, the last good table stays enforced",
			"errors=%zu gen=%llu trigger=%s", ps.diags.nerr, (unsigned long long)c->gen, why);
		set_detail(c, "last policy load rejected (%zu errors); enforcing generation %llu",
			   ps.diags.nerr, (unsigned long long)c->gen);
		polset_free(&ps);
		labels_free(&ni.labels);
		return -EINVAL;
	}
	if (hostenv_build(&env, &ps, &ho, reason, sizeof(reason)) < 0) {
		log_err("failsafe list invalid", "reason=\"%s\"", reason);
		polset_free(&ps);
		labels_free(&ni.labels);
		return -EINVAL;
	}
	add_host_ifaces(&env);
	rs = compile_ruleset(&env);
	t1 = mono_ns();
	if (c->have_table && ruleset_equal(rs, ruleset_current())) {
		/*
		 * Nothing changed (an interface event, a rewritten file): keep the
		 * table and its generation, so established flows are not judged
		 * again for nothing. The rules are still written below.
		 */
		ruleset_free(rs);
		rs = NULL;
	} else {
		c->gen = c->gen % MARK_GEN_MAX + 1;
		ruleset_set_gen(rs, c->gen);
	}
	ruleset_stats(rs ? rs : ruleset_current(), &nchains, &nentries, &nbitsets);
	STAT_SET(c->d.gen, c->gen);
	STAT_SET(c->d.npolicies, (uint32_t)ps.npolicies);
	STAT_SET(c->d.nentries, nentries);
	STAT_SET(c->d.nheps, (uint32_t)env.nlocal);
	STAT_SET(c->d.last_compile_ns, t1 - t0);
	STAT_SET(c->d.last_reload_unix, (uint64_t)time(NULL));
	if (rs != NULL) {
		STAT_SET(c->d.table_bytes, (uint32_t)ruleset_size(rs));
		ruleset_publish(rs);
		STAT_ADD(c->d.tables_published, 1);
		c->have_table = true;
	}
	const char **claimed = xcalloc(env.nifaces + 1, sizeof(*claimed));

	fw_config_for(c, &ps, &env, &fc, claimed);
	log_info(rs ? "table published" : "table unchanged", "gen=%llu policies=%zu "
		 "host_endpoints=%zu interfaces=%zu entries=%u bytes=%zu compile_ms=%.2f prednat=%d "
		 "forward=%d untracked=%d invalid_objects=%zu trigger=%s",
		 (unsigned long long)c->gen, ps.npolicies, env.nlocal, env.nifaces, nentries,
		 ruleset_size(rs ? rs : ruleset_current()), (double)(t1 - t0) / 1e6, fc.prednat,
		 fc.forward, fc.untracked, ps.nrejected, why);
	if (env.nlocal == 0)
		log_warn("no host endpoint on this node: nothing is policed",
			 "node=%s hint=\"give HostEndpoints with spec.node, or --host-labels\"",
			 c->o.node);
	if (c->nworkers > 0) {
		err = fwrules_install(&fc, reason, sizeof(reason));
		if (err < 0) {
			STAT_ADD(c->d.rules_install_failures, 1);
			log_err("installing netfilter rules failed", "error=\"%s\"", reason);
		}
	}
	if (ps.nrejected > 0)
		set_detail(c, "enforcing generation %llu; %zu invalid objects were skipped",
			   (unsigned long long)c->gen, ps.nrejected);
	else
		set_detail(c, "enforcing generation %llu", (unsigned long long)c->gen);
	free(claimed);
	hostenv_free(&env);
	polset_free(&ps);
	labels_free(&ni.labels);
	malloc_trim(0);		/* give the loader's and compiler's temporaries back */
	return 0;
}

/* ---- the event loop ---------------------------------------------------------------------- */

static void
arm_debounce(struct ctl *c)
{
	struct itimerspec its = { { 0, 0 }, { c->o.debounce_ms / 1000,
					      (long)(c->o.debounce_ms % 1000) * 1000000 } };

	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	timerfd_settime(c->tfd, 0, &its, NULL);
	c->reload_pending = true;
}

static int
open_watches(struct ctl *c)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
	sigset_t set;

	c->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (c->ifd < 0)
		return -errno;
	c->wd = c->o.kubernetes ? 0 : inotify_add_watch(c->ifd, c->o.policy_dir, IN_CREATE | IN_DELETE | IN_MOVED_FROM |
				  IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF |
				  IN_ATTRIB);
	if (c->wd < 0)
		log_warn("cannot watch the policy directory; SIGHUP reloads", "dir=%s error=\"%s\"",
			 c->o.policy_dir, strerror(errno));
	c->nlfd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (c->nlfd >= 0 && bind(c->nlfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(c->nlfd);
		c->nlfd = -1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	c->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	return c->sfd < 0 || c->tfd < 0 ? -errno : 0;
}

static void
drain(int fd)
{
	char buf[8192];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* With the Kubernetes source, ready once every kind was listed and a table built from it. */
static void
kube_ready_check(struct ctl *c)
{
	uint64_t now;

	if (!c->o.kubernetes || STAT_GET(c->d.ready) || !kube_store_synced(&c->store))
		return;
	pthread_mutex_lock(&c->store.lock);
	now = c->store.version;
	pthread_mutex_unlock(&c->store.lock);
	if (c->store_version != now) {
		arm_debounce(c);	/* the table predates the sync: build it again first */
		return;
	}
	STAT_SET(c->d.ready, 1);
	log_info("synced with the Kubernetes API: ready", "gen=%llu", (unsigned long long)c->gen);
}

static int
event_loop(struct ctl *c)
{
	for (;;) {
		struct pollfd p[5] = {
			{ c->sfd, POLLIN, 0 }, { c->tfd, POLLIN, 0 }, { c->ifd, POLLIN, 0 },
			{ c->nlfd, POLLIN, 0 }, { c->o.kubernetes ? c->store.efd : -1, POLLIN, 0 },
		};
		int n = poll(p, 5, 1000);

		STAT_SET(c->d.control_heartbeat_ns, mono_ns());
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(c->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					log_info("SIGHUP: reloading", "%s", "");
					control_reload(c, "sighup");
				} else {
					log_info("stopping", "signal=%u", si.ssi_signo);
					return 0;
				}
			}
		}
		if (p[2].revents & POLLIN) {
			drain(c->ifd);
			arm_debounce(c);
		}
		if (p[3].revents & POLLIN) {
			drain(c->nlfd);
			arm_debounce(c);
		}
		if (p[4].revents & POLLIN) {
			drain(c->store.efd);
			arm_debounce(c);
		}
		if (p[1].revents & POLLIN) {
			drain(c->tfd);
			if (c->reload_pending) {
				c->reload_pending = false;
				control_reload(c, "change");
			}
			kube_ready_check(c);
		}
	}
}

/* ---- start and stop ----------------------------------------------------------------------------- */

static int
parse_http_addr(const char *s, char *host, size_t hostlen, uint16_t *port)
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

static int
start_workers(struct ctl *c)
{
	char why[256];

	c->workers = xcalloc(c->o.queues, sizeof(*c->workers));
	c->d.wstats = xcalloc(c->o.queues, sizeof(*c->d.wstats));
	for (unsigned i = 0; i < c->o.queues; i++) {
		struct worker_config wc = {
			.q = { .num = (uint16_t)(c->o.queue_first + i), .maxlen = c->o.queue_len,
			       .copy_range = 128, .fail_open = c->o.fail_open },
			.ml = c->ml,
			.jo = { .audit = c->o.audit, .log_allowed = c->o.log_allowed },
			.log_ring_order = 12,
		};
		int err = worker_open(&c->workers[i], &wc, why, sizeof(why));

		if (err < 0) {
			log_err("cannot open queue", "queue=%u error=\"%s\"", wc.q.num, why);
			return err;
		}
		c->nworkers++;
		c->d.wstats[i] = &c->workers[i].stats;
		if (i == 0)
			log_info("queue configured", "queue=%u rcvbuf=%u conntrack_glue=%s", wc.q.num,
				 c->workers[i].q.rcvbuf, c->workers[i].q.ct_glue ? "present" :
				 "absent (using packet-mark bits)");
	}
	c->d.nworkers = c->nworkers;
	for (unsigned i = 0; i < c->nworkers; i++) {
		int err = worker_start(&c->workers[i]);

		if (err < 0) {
			log_err("cannot start worker", "error=\"%s\"", strerror(-err));
			return err;
		}
	}
	return 0;
}

static void
stop_all(struct ctl *c)
{
	kube_stop(c->kube);
	c->kube = NULL;
	for (unsigned i = 0; i < c->nworkers; i++)
		worker_stop(&c->workers[i]);
	http_stop(c->http);
	c->http = NULL;
	if (c->logger.rings != NULL)
		vlog_logger_stop(&c->logger);
	for (unsigned i = 0; i < c->nworkers; i++)
		worker_close(&c->workers[i]);
	ruleset_unpublish();
	free(c->workers);
	free(c->d.wstats);
	free(c->logger.rings);
	if (c->logout && c->logout != stdout)
		fclose(c->logout);
}

int
run_main(int argc, char **argv)
{
	struct ctl c;
	int rc, err;

	memset(&c, 0, sizeof(c));
	c.ifd = c.nlfd = c.sfd = c.tfd = -1;
	rc = parse_run_opts(argc, argv, &c.o);
	if (rc != 0)
		return rc == 1 ? 0 : 2;
	if (mark_layout_init(&c.ml, c.o.mark_mask) < 0) {
		fprintf(stderr, "nfqwall run: --mark-mask 0x%x must be at least 13 contiguous bits\n",
			c.o.mark_mask);
		return 2;
	}
	labels_init(&c.host_labels);
	if (c.o.host_labels && labels_parse(c.o.host_labels, &c.host_labels) < 0) {
		fprintf(stderr, "nfqwall run: --host-labels: '%s' is not K=V,K=V\n", c.o.host_labels);
		return 2;
	}
	pthread_mutex_init(&c.d.lock, NULL);
	c.d.node = c.o.node;
	c.d.source = "policy-dir";
	STAT_SET(c.d.control_heartbeat_ns, mono_ns());
	urcu_memb_register_thread();
	log_info("starting", "node=%s source=%s queues=%u..%u fail=%s rejudge=%d audit=%d",
		 c.o.node, c.o.kubernetes ? "kubernetes" : c.o.policy_dir, c.o.queue_first, c.o.queue_first + c.o.queues - 1,
		 c.o.fail_open ? "open" : "closed", !c.o.no_rejudge, c.o.audit);

	err = open_watches(&c);
	if (err < 0) {
		log_err("cannot set up event sources", "error=\"%s\"", strerror(-err));
		rc = 1;
		goto out;
	}
	if (kube_store_init(&c.store) < 0) {
		rc = 1;
		goto out;
	}
	if (c.o.kubernetes) {
		struct kube_config kcfg = {
			.server = c.o.api_server, .token_file = c.o.token_file, .ca_file = c.o.ca_file,
			.node = c.o.node, .group_version = c.o.api_group,
		};
		char why[256];

		c.d.source = "kubernetes";
		c.d.kstore = &c.store;
		set_detail(&c, "waiting for the first list of every kind from the Kubernetes API");
		if (kube_start(&c.kube, &kcfg, &c.store, why, sizeof(why)) < 0) {
			log_err("cannot start the Kubernetes client", "error=\"%s\"", why);
			rc = 1;
			goto out;
		}
	}
	/* A daemon restarted over its own rules must not reuse their generation. */
	c.gen = fwrules_installed_gen(&c.ml);
	control_reload(&c, "start");

	c.logout = c.o.log_file ? fopen(c.o.log_file, "a") : stdout;
	if (c.logout == NULL) {
		log_err("cannot open the verdict log", "path=%s error=\"%s\"", c.o.log_file,
			strerror(errno));
		rc = 1;
		goto out;
	}
	if (start_workers(&c) < 0) {
		rc = 1;
		goto out_stop;
	}
	{
		struct vlog_config vc = { c.o.node, c.o.log_rate, c.o.log_burst, c.logout };
		struct vlog_ring **rings = xcalloc(c.nworkers, sizeof(*rings));

		for (unsigned i = 0; i < c.nworkers; i++)
			rings[i] = &c.workers[i].ring;
		if (vlog_logger_start(&c.logger, &vc, rings, c.nworkers) < 0) {
			free(rings);
			log_err("cannot start the verdict logger", "%s", "");
			rc = 1;
			goto out_stop;
		}
		c.d.logger = &c.logger;
	}
	if (strcmp(c.o.http_addr, "off") != 0) {
		char host[64];
		uint16_t port;

		if (parse_http_addr(c.o.http_addr, host, sizeof(host), &port) < 0 ||
		    http_start(&c.http, host, port, &c.d) < 0) {
			log_err("cannot serve HTTP", "addr=%s", c.o.http_addr);
			rc = 1;
			goto out_stop;
		}
	}
	/* Queues are bound: now steer traffic to them. */
	control_reload(&c, "rules");
	if (!c.o.kubernetes)
		STAT_SET(c.d.ready, 1);
	log_info("running", "gen=%llu http=%s", (unsigned long long)c.gen, c.o.http_addr);
	rc = event_loop(&c) < 0 ? 1 : 0;
out_stop:
	stop_all(&c);
	log_info("stopped; netfilter rules left in place (nfqwall uninstall removes them)", "%s",
		 "");
out:
	kube_stop(c.kube);
	kube_store_free(&c.store);
	urcu_memb_unregister_thread();
	labels_free(&c.host_labels);
	if (c.ifd >= 0)
		close(c.ifd);
	if (c.nlfd >= 0)
		close(c.nlfd);
	if (c.sfd >= 0)
		close(c.sfd);
	if (c.tfd >= 0)
		close(c.tfd);
	return rc;
}

int
uninstall_main(int argc, char **argv)
{
	char why[512];
	int err;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: nfqwall uninstall\n\nRemove every netfilter rule and chain nfqwall "
		       "installed (IPv4 and IPv6). Exit 0 when done, 1 on failure.\n");
		return 0;
	}
	err = fwrules_uninstall(why, sizeof(why));
	if (err < 0) {
		fprintf(stderr, "nfqwall uninstall: %s\n", why[0] ? why : strerror(-err));
		return 1;
	}
	printf("nfqwall: netfilter rules removed\n");
	return 0;
}
