/*
 * explain.c - `nfqwall explain`: which stage, tier, policy and rule decide
 * a packet, and why. Runs the reference evaluator for the trace and the
 * compiled table for the verdict the daemon would reach, and says so if
 * the two ever disagree. Control thread (the CLI process) only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "compile.h"
#include "flow.h"
#include "json.h"
#include "rulefmt.h"
#include "walk.h"

static const char explain_usage[] =
	"usage: nfqwall explain [OPTIONS] 'PROTO SRC[:PORT] -> DST[:PORT]' PATH...\n"
	"       nfqwall explain [OPTIONS] --proto PROTO --src IP --dst IP [--sport N]\n"
	"         [--dport N] [--icmp-type N] [--icmp-code N] PATH...\n"
	"OPTIONS: [--json] [--node NAME] [--host-labels K=V,...] [--path P]\n"
	"         [--failsafe-in LIST] [--failsafe-out LIST] [--in IFACE] [--out IFACE]\n"
	"         [--ct STATE] [--nodeport BACKEND | --dnat-to IP[:PORT]]\n"
	"         [--http-addr ADDR:PORT] [--no-allow-self] [--max-...]\n"
	"\n"
	"Walk one packet through every stage (untracked, conntrack, preDNAT, normal or\n"
	"forward) with the policy in PATH (files or directories of YAML/JSON) and print\n"
	"each step and the final verdict: each rule by policy, index and file:line, and\n"
	"for every policy that did not decide, why: the field of each rule that missed\n"
	"(source.nets, destination.ports, protocol, ...), or why the policy does not\n"
	"apply at all (its selector, its types, applyOnForward).\n"
	"\n"
	"The packet, as one argument (quote it):\n"
	"  'tcp 203.0.113.7:40000 -> 192.168.130.10:30080'    the source port may go\n"
	"  'udp [2001:db8::1]:5353 -> [2001:db8::2]:53'        IPv6 with a port: [addr]\n"
	"  'icmp 203.0.113.7 -> 192.168.130.10 type 8 code 0' no ports; type and code\n"
	"                                                      optional (echo request)\n"
	"  'sctp 10.0.0.1:5000 -> 10.0.0.2:38412'\n"
	"PROTO is tcp, udp, icmp, icmpv6, sctp, udplite or a number; tcp, udp, sctp\n"
	"and udplite need the destination port (the source port defaults to 40000).\n"
	"Or with options: --proto, --src, --dst, --sport, --dport, --icmp-type,\n"
	"--icmp-code (not both forms at once).\n"
	"\n"
	"  --path P             local-in (to this host, the default), local-out (from\n"
	"                       it), forwarded (through it: routed, or DNAT'd to a pod)\n"
	"  --node NAME          enforce the HostEndpoints whose spec.node is NAME\n"
	"  --host-labels K=V,.. when no HostEndpoint is on --node: an auto host endpoint\n"
	"                       (interfaceName \"*\", these labels, default-allow profile)\n"
	"  --failsafe-in LIST   Felix syntax: tcp:22,udp:68, proto:cidr:port,\n"
	"  --failsafe-out LIST  proto:[v6cidr]:port, \"none\"; default: FelixConfiguration\n"
	"                       in PATH, else Felix's defaults\n"
	"  --in/--out IFACE     the input/output interface (default: an unnamed one)\n"
	"  --ct STATE           conntrack state before the queue: new (default),\n"
	"                       established, related, invalid\n"
	"  --dnat-to IP[:PORT]  kube-proxy rewrote the destination to IP[:PORT] (the port\n"
	"                       stays when none is given; IPv6 with a port: [addr]:port).\n"
	"                       The untracked and preDNAT stages see the packet as given,\n"
	"                       the normal or forward stage the rewritten one\n"
	"  --nodeport BACKEND   the packet is for a NodePort and kube-proxy sends it to\n"
	"                       the pod BACKEND (IP[:PORT]): --path forwarded --dnat-to\n"
	"                       BACKEND\n"
	"  --http-addr ADDR:PORT the daemon's --http-addr (default 127.0.0.1:9417): TCP\n"
	"                       from loopback to its loopback side is always accepted\n"
	"  --no-allow-self      as the daemon's --no-allow-self: police that port too\n"
	"  --json               one JSON object: verdict, stage, tier, policy, rule, file,\n"
	"                       line, reason, hep, direction, the packet (src, dst, proto,\n"
	"                       sport, dport, icmp), dnat, logs, trace (each step with its\n"
	"                       file, line and misses: rule, file, line, field, reason),\n"
	"                       trace_cut, misses_dropped (past 256 steps, 2048 reasons)\n"
	"\n"
	"NodePorts, step by step (node 192.168.130.10, NodePort 30080 -> pod\n"
	"10.244.1.5:8080; a preDNAT policy polices NodePorts, a normal one never sees\n"
	"them: docs/semantics.md section 4):\n"
	"  nfqwall explain --node node-1 --nodeport 10.244.1.5:8080 \\\n"
	"      'tcp 203.0.113.7:40000 -> 192.168.130.10:30080' policy/\n"
	"      preDNAT sees 192.168.130.10:30080; the forward stage 10.244.1.5:8080\n"
	"  nfqwall explain --node node-1 --path local-in --dnat-to 192.168.130.10:8080 \\\n"
	"      'tcp 203.0.113.7:40000 -> 192.168.130.10:30080' policy/\n"
	"      the backend is a hostNetwork pod on this node: the normal stage judges\n"
	"      port 8080 as traffic to the host\n"
	"  nfqwall explain --node node-1 'tcp 203.0.113.7:40000 -> 192.168.130.10:30080' \\\n"
	"      policy/\n"
	"      no rewrite: what a host process listening on 30080 would meet\n"
	"\n"
	"Exit status: 0 a verdict was reached, 1 PATH holds invalid objects, 2 usage\n"
	"(a malformed packet included), 70 out of memory.\n";

struct explain_opts {
	bool json;
	const char *flow;		/* the packet as one argument, or NULL */
	const char *nodeport;
	const char *node;
	const char *host_labels;
	const char *fs_in;
	const char *fs_out;
	const char *path;
	const char *proto;
	const char *src;
	const char *dst;
	const char *sport;
	const char *dport;
	const char *icmp_type;
	const char *icmp_code;
	const char *in;
	const char *out;
	const char *ct;
	const char *dnat;
	const char *http_addr;
	bool no_allow_self;
};

static int __printf(1, 2)
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nfqwall explain: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'nfqwall explain --help'.\n");
	return 2;
}

/* A failure that is no usage error: said on stderr; returns CLI_EXIT_NOMEM. */
static int
explain_fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "nfqwall explain: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return CLI_EXIT_NOMEM;
}

static bool
parse_num(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && *out <= max;
}

/* tcp, udp, ... (any case) or a number 0..255. */
int
cli_parse_proto(const char *s)
{
	return flow_proto(s);
}

int
cli_nomem(const char *cmd)
{
	fprintf(stderr, "nfqwall %s: out of memory\n", cmd);
	return CLI_EXIT_NOMEM;
}

/* "IP" or "IP:PORT" or "[IPv6]:PORT". */
static int
parse_dnat(const char *s, struct eval_input *in, uint8_t family)
{
	char buf[80];
	const char *port = NULL;
	unsigned long p;
	uint8_t fam;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL)
			return -EINVAL;
		memcpy(buf, s + 1, (size_t)(close - s - 1));
		buf[close - s - 1] = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return -EINVAL;
	} else if (strchr(s, '.') != NULL && strchr(s, ':') != NULL) {
		const char *colon = strchr(s, ':');

		memcpy(buf, s, (size_t)(colon - s));
		buf[colon - s] = '\0';
		port = colon + 1;
	} else {
		snprintf(buf, sizeof(buf), "%s", s);	/* fits: checked above */
	}
	if (addr_parse(buf, &in->dnat_addr, &fam) < 0 || fam != family)
		return -EINVAL;
	if (port != NULL) {
		if (!parse_num(port, 65535, &p) || p == 0)
			return -EINVAL;
		in->dnat_port_set = true;
		in->dnat_port = (uint16_t)p;
	}
	in->dnat = true;
	return 0;
}

/* The packet from the one-argument form: 0 or 2 (said). */
static int
key_from_flow(const char *text, struct pkt_key *k)
{
	struct flow f;
	char why[300];

	if (flow_parse(text, &f, why, sizeof(why)) < 0)
		return usage_error("the packet '%.*s': %s", FLOW_MAX_LEN, text, why);
	k->family = f.family;
	k->proto = f.proto;
	k->src = f.src;
	k->dst = f.dst;
	if (flow_has_ports(f.proto)) {
		k->flags |= PKT_F_PORTS;
		k->sport = f.has_sport ? f.sport : 40000;
		k->dport = f.dport;
	} else if (f.proto == IPPROTO_ICMP || f.proto == IPPROTO_ICMPV6) {
		k->flags |= PKT_F_ICMP;
		k->icmp_type = f.has_icmp_type ? f.icmp_type : (f.family == AF_INET ? 8 : 128);
		k->icmp_code = f.has_icmp_code ? f.icmp_code : 0;
	}
	return 0;
}

/* The packet from --proto, --src, --dst, ...: 0 or 2 (said). */
static int
key_from_options(const struct explain_opts *o, struct pkt_key *k)
{
	uint8_t fs, fd;
	unsigned long v;
	int proto;

	if (o->proto == NULL || o->src == NULL || o->dst == NULL)
		return usage_error("give the packet as 'PROTO SRC[:PORT] -> DST[:PORT]', or "
				   "with --proto, --src and --dst");
	proto = cli_parse_proto(o->proto);
	if (proto < 0)
		return usage_error("unknown protocol '%s'", o->proto);
	if (addr_parse(o->src, &k->src, &fs) < 0)
		return usage_error("--src: '%s' is not an IP address", o->src);
	if (addr_parse(o->dst, &k->dst, &fd) < 0)
		return usage_error("--dst: '%s' is not an IP address", o->dst);
	if (fs != fd)
		return usage_error("--src and --dst must be of one IP version");
	k->family = fs;
	k->proto = (uint8_t)proto;
	if (flow_has_ports(k->proto)) {
		k->flags |= PKT_F_PORTS;
		if (o->sport && !parse_num(o->sport, 65535, &v))
			return usage_error("--sport: '%s' is not a port", o->sport);
		k->sport = o->sport ? (uint16_t)v : 40000;
		if (o->dport == NULL)
			return usage_error("--dport is required for %s", o->proto);
		if (!parse_num(o->dport, 65535, &v))
			return usage_error("--dport: '%s' is not a port", o->dport);
		k->dport = (uint16_t)v;
	} else if ((proto == IPPROTO_ICMP && fs == AF_INET) ||
		   (proto == IPPROTO_ICMPV6 && fs == AF_INET6)) {
		k->flags |= PKT_F_ICMP;
		if (o->icmp_type && !parse_num(o->icmp_type, 255, &v))
			return usage_error("--icmp-type: '%s' is not 0..255", o->icmp_type);
		k->icmp_type = o->icmp_type ? (uint8_t)v : (fs == AF_INET ? 8 : 128);
		if (o->icmp_code && !parse_num(o->icmp_code, 255, &v))
			return usage_error("--icmp-code: '%s' is not 0..255", o->icmp_code);
		k->icmp_code = o->icmp_code ? (uint8_t)v : 0;
	}
	return 0;
}

static int
build_input(const struct explain_opts *o, struct eval_input *in)
{
	struct pkt_key *k = &in->k;
	const char *path = o->path ? o->path : o->nodeport ? "forwarded" : "local-in";
	const char *dnat = o->nodeport ? o->nodeport : o->dnat;
	int err;

	memset(in, 0, sizeof(*in));
	if (strcmp(path, "local-in") == 0)
		in->path = PATH_LOCAL_IN;
	else if (strcmp(path, "local-out") == 0)
		in->path = PATH_LOCAL_OUT;
	else if (strcmp(path, "forwarded") == 0)
		in->path = PATH_FORWARD;
	else
		return usage_error("--path must be local-in, local-out or forwarded, not '%s'",
				   path);
	if (o->nodeport && (o->dnat || in->path != PATH_FORWARD))
		return usage_error("--nodeport means --path forwarded --dnat-to BACKEND: give "
				   "--dnat-to and --path yourself for any other case");
	if (o->flow && (o->proto || o->src || o->dst || o->sport || o->dport || o->icmp_type ||
			o->icmp_code))
		return usage_error("give the packet either as one argument or with --proto, "
				   "--src, --dst, ..., not both");
	err = o->flow ? key_from_flow(o->flow, k) : key_from_options(o, k);
	if (err != 0)
		return err;
	k->len = 60;
	if (o->ct == NULL || strcmp(o->ct, "new") == 0)
		k->ct = CT_NEW;
	else if (strcmp(o->ct, "established") == 0)
		k->ct = CT_ESTABLISHED;
	else if (strcmp(o->ct, "related") == 0)
		k->ct = CT_RELATED;
	else if (strcmp(o->ct, "invalid") == 0)
		k->ct = CT_INVALID;
	else
		return usage_error("--ct must be new, established, related or invalid, not '%s'",
				   o->ct);
	if (dnat && parse_dnat(dnat, in, k->family) < 0)
		return usage_error("%s: '%s' is not IP[:PORT] of the packet's IP version",
				   o->nodeport ? "--nodeport" : "--dnat-to", dnat);
	if (in->path != PATH_LOCAL_OUT)
		k->iif = 1;
	if (in->path != PATH_LOCAL_IN)
		k->oif = 2;
	return 0;
}

/* Room for reasons: a bound, so that a huge policy costs bounded memory. */
#define EXPLAIN_MAX_MISSES	2048

/* Where rule @rule of @policy in @dir, which matched on the way, was written, or NULL. */
static const struct srcloc *
step_loc(const struct eval_result *r, const char *policy, enum dir dir, int rule)
{
	for (size_t i = r->nsteps; i-- > 0;) {
		const struct step *s = &r->steps[i];

		if (s->kind == STEP_RULE && s->rule == rule && s->policy == policy &&
		    s->dir == dir && s->loc.file != NULL)
			return &s->loc;
	}
	return NULL;
}

/* Where the rule that decided was written, or NULL. */
static const struct srcloc *
decision_loc(const struct eval_result *r)
{
	const struct decision *d = &r->final;

	if (d->reason != REASON_RULE || d->policy == NULL)
		return NULL;
	return step_loc(r, d->policy, d->dir, d->rule);
}

static void
print_decision_text(const struct decision *d, const struct srcloc *loc)
{
	printf("verdict: %s (stage %s", d->allow ? "allow" : "deny", stage_name(d->stage));
	if (d->stage != STAGE_CONNTRACK && d->stage != STAGE_NONE)
		printf(" %s", dir_name(d->dir));
	if (d->hep)
		printf(", host endpoint %s", d->hep);
	if (d->tier)
		printf(", tier %s", d->tier);
	if (d->policy)
		printf(", %s %s", d->reason == REASON_PROFILE ? "profile" : "policy", d->policy);
	if (d->rule >= 0 && d->reason == REASON_RULE) {
		printf(", rule %s[%d]", d->dir == DIR_EGRESS ? "egress" : "ingress", d->rule);
		if (loc != NULL)
			printf(" at %s:%d", loc->file, loc->line);
	}
	printf(", reason %s)\n", reason_name(d->reason));
}

static bool
same_decision(const struct decision *a, const struct decision *b)
{
	return a->allow == b->allow && a->stage == b->stage && a->reason == b->reason &&
	       a->rule == b->rule && !strcmp(a->tier ? a->tier : "", b->tier ? b->tier : "") &&
	       !strcmp(a->policy ? a->policy : "", b->policy ? b->policy : "");
}

static void
json_kv(const char *key, const char *val, bool comma)
{
	printf("%s\"%s\":", comma ? "," : "", key);
	json_fput(stdout, val);
}

/* ,"file":...,"line":... (null when unknown). */
static void
json_loc(const struct srcloc *loc)
{
	json_kv("file", loc ? loc->file : NULL, true);
	if (loc != NULL && loc->file != NULL)
		printf(",\"line\":%d", loc->line);
	else
		printf(",\"line\":null");
}

/* The packet's fields: src, dst, proto, protocol, sport, dport, icmp, dnat. */
static void
json_packet(const struct eval_input *in)
{
	const struct pkt_key *k = &in->k;
	char a[ADDR_STRLEN], pb[8];

	json_kv("src", addr_format(&k->src, k->family, a), true);
	json_kv("dst", addr_format(&k->dst, k->family, a), true);
	printf(",\"proto\":%u", k->proto);
	json_kv("protocol", rulefmt_proto(k->proto, pb), true);
	if (k->flags & PKT_F_PORTS)
		printf(",\"sport\":%u,\"dport\":%u", k->sport, k->dport);
	else
		printf(",\"sport\":null,\"dport\":null");
	if (k->flags & PKT_F_ICMP)
		printf(",\"icmp\":{\"type\":%u,\"code\":%u}", k->icmp_type, k->icmp_code);
	else
		printf(",\"icmp\":null");
	if (in->dnat) {
		printf(",\"dnat\":{");
		json_kv("dst", addr_format(&in->dnat_addr, k->family, a), false);
		if (k->flags & PKT_F_PORTS)
			printf(",\"dport\":%u}", in->dnat_port_set ? in->dnat_port : k->dport);
		else
			printf(",\"dport\":null}");
	} else {
		printf(",\"dnat\":null");
	}
}

static void
json_misses(const struct eval_why *why, size_t step)
{
	bool first = true;

	printf(",\"misses\":[");
	for (size_t j = 0; j < why->n; j++) {
		const struct eval_miss *m = &why->v[j];

		if (m->step != step)
			continue;
		printf("%s{", first ? "" : ",");
		first = false;
		if (m->rule >= 0)
			printf("\"rule\":%d", m->rule);
		else
			printf("\"rule\":null");
		json_loc(&m->loc);
		json_kv("field", m->field, true);
		json_kv("reason", m->text, true);
		printf("}");
	}
	printf("]");
}

static void
print_json(const struct eval_input *in, const struct eval_result *r, const struct walk_result *w,
	   const struct eval_why *why)
{
	const struct decision *d = &r->final;

	printf("{\"verdict\":\"%s\"", d->allow ? "allow" : "deny");
	json_kv("stage", stage_name(d->stage), true);
	json_kv("tier", d->tier, true);
	json_kv("policy", d->policy, true);
	if (d->rule >= 0)
		printf(",\"rule\":%d", d->rule);
	else
		printf(",\"rule\":null");
	json_loc(decision_loc(r));
	json_kv("reason", reason_name(d->reason), true);
	json_kv("direction", d->stage == STAGE_CONNTRACK ? NULL : dir_name(d->dir), true);
	json_kv("hep", d->hep, true);
	json_kv("path", path_name(in->path), true);
	json_packet(in);
	printf(",\"logs\":[");
	for (size_t i = 0; i < r->nlogs; i++) {
		printf("%s{", i ? "," : "");
		json_kv("stage", stage_name(r->logs[i].stage), false);
		json_kv("tier", r->logs[i].tier, true);
		json_kv("policy", r->logs[i].policy, true);
		printf(",\"rule\":%d}", r->logs[i].rule);
	}
	printf("],\"trace\":[");
	for (size_t i = 0; i < r->nsteps; i++) {
		const struct step *s = &r->steps[i];

		printf("%s{", i ? "," : "");
		json_kv("stage", stage_name(s->stage), false);
		json_kv("direction", dir_name(s->dir), true);
		json_kv("tier", s->tier, true);
		json_kv("policy", s->policy, true);
		if (s->rule >= 0)
			printf(",\"rule\":%d", s->rule);
		if (s->loc.file != NULL)
			json_loc(&s->loc);
		json_kv("action", s->action, true);
		json_kv("detail", s->detail, true);
		json_misses(why, i);
		printf("}");
	}
	printf("],\"trace_cut\":%s,\"misses_dropped\":%zu",
	       r->nsteps == EVAL_MAX_STEPS ? "true" : "false", why->dropped);
	printf(",\"compiled\":{\"verdict\":\"%s\",\"agrees\":%s}}\n",
	       w->final.allow ? "allow" : "deny",
	       same_decision(&r->final, &w->final) ? "true" : "false");
}

/* "203.0.113.7:40000", "[2001:db8::1]:443" or the bare address into @buf. */
static const char *
endpoint_text(const struct pkt_key *k, const struct addr *a, uint16_t port, char *buf,
	      size_t size)
{
	char s[ADDR_STRLEN];

	addr_format(a, k->family, s);
	if (!(k->flags & PKT_F_PORTS))
		snprintf(buf, size, "%s", s);
	else if (k->family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", s, port);
	else
		snprintf(buf, size, "%s:%u", s, port);
	return buf;
}

/* The reasons recorded for step @i, indented under it. */
static void
print_misses(const struct eval_why *why, const struct step *s, size_t i)
{
	const char *dir = s->dir == DIR_EGRESS ? "egress" : "ingress";

	for (size_t j = 0; j < why->n; j++) {
		const struct eval_miss *m = &why->v[j];

		if (m->step != i)
			continue;
		if (m->rule < 0) {
			if (s->kind != STEP_POLICY_SKIPPED)	/* else the step says it */
				printf("        %s: %s\n", m->field, m->text);
			continue;
		}
		printf("        %s[%d] (%s:%d) missed: %s: %s\n", dir, m->rule,
		       m->loc.file ? m->loc.file : "?", m->loc.line, m->field, m->text);
	}
}

static void
print_text(const struct eval_input *in, const struct eval_result *r, const struct walk_result *w,
	   const struct hostenv *env, const struct eval_why *why)
{
	const struct pkt_key *k = &in->k;
	char s[ADDR_STRLEN + 10], d[ADDR_STRLEN + 10], pb[8];
	const struct iface *ifi = hostenv_iface(env, k->iif), *ifo = hostenv_iface(env, k->oif);

	printf("packet: %s %s -> %s", rulefmt_proto(k->proto, pb),
	       endpoint_text(k, &k->src, k->sport, s, sizeof(s)),
	       endpoint_text(k, &k->dst, k->dport, d, sizeof(d)));
	if (k->flags & PKT_F_ICMP)
		printf(" type %u code %u", k->icmp_type, k->icmp_code);
	printf(" (%s", path_name(in->path));
	if (ifi)
		printf(", in %s", *ifi->name ? ifi->name : "(unnamed)");
	if (ifo)
		printf(", out %s", *ifo->name ? ifo->name : "(unnamed)");
	printf(")\n");
	for (size_t i = 0; i < r->nsteps; i++) {
		printf("  %2zu. [%s] %s\n", i + 1, stage_name(r->steps[i].stage), r->steps[i].detail);
		print_misses(why, &r->steps[i], i);
	}
	if (r->nsteps == EVAL_MAX_STEPS)
		printf("  (the trace is cut after %d steps; the verdict below is whole)\n",
		       EVAL_MAX_STEPS);
	if (why->dropped > 0)
		printf("  (%zu more reasons did not fit and are not shown)\n", why->dropped);
	for (size_t i = 0; i < r->nlogs; i++) {
		const struct log_hit *l = &r->logs[i];
		const struct srcloc *loc = step_loc(r, l->policy, l->dir, l->rule);

		printf("  log: %s %s[%d]", l->policy, l->dir == DIR_EGRESS ? "egress" : "ingress",
		       l->rule);
		if (loc != NULL)
			printf(" at %s:%d", loc->file, loc->line);
		printf(" (tier %s) would log this packet\n", l->tier ? l->tier : "-");
	}
	print_decision_text(&r->final, decision_loc(r));
	if (!same_decision(&r->final, &w->final)) {
		printf("WARNING: the compiled table decides differently; please report this:\n  ");
		print_decision_text(&w->final, NULL);
	}
}

/* Judge @in with both engines over @env and print the result; the exit status. */
static int
explain_run(const struct explain_opts *o, const struct eval_input *given, struct hostenv *env)
{
	struct eval_result *res = malloc(sizeof(*res));
	struct walk_result *w = malloc(sizeof(*w));
	struct eval_why why = { .cap = EXPLAIN_MAX_MISSES };
	struct eval_input in = *given;
	struct ruleset *rs = NULL;
	int rc = 0;

	why.v = malloc(why.cap * sizeof(*why.v));
	in.why = &why;
	/* The interfaces: the packet's local address is an address of its interface. */
	if (in.k.iif) {
		struct cidr a = { in.k.dst, in.k.family, (uint8_t)addr_bits(in.k.family) };

		(void)hostenv_add_iface(env, 1, o->in ? o->in : "", &a, in.path == PATH_LOCAL_IN);
	}
	if (in.k.oif) {
		struct cidr a = { in.k.src, in.k.family, (uint8_t)addr_bits(in.k.family) };

		(void)hostenv_add_iface(env, 2, o->out ? o->out : "", &a,
					in.path == PATH_LOCAL_OUT);
	}
	/* a failed hostenv_add_iface is in env->err */
	if (res == NULL || w == NULL || why.v == NULL || env->err < 0 ||
	    eval_packet(env, &in, res) < 0) {
		rc = cli_nomem("explain");
		goto out;
	}
	rs = compile_ruleset(env);
	if (rs == NULL) {
		if (errno == ENOMEM)
			rc = cli_nomem("explain");
		else
			rc = explain_fail("compiling the table failed: %s", strerror(errno));
		goto out;
	}
	if (env->nlocal == 0 && !o->json)
		printf("note: no HostEndpoint is enforced (give --node, or --host-labels for an "
		       "auto host endpoint)\n");
	walk_ruleset(rs, &in, w);
	if (o->json)
		print_json(&in, res, w, &why);
	else
		print_text(&in, res, w, env, &why);
out:
	ruleset_free(rs);
	free(why.v);
	free(res);
	free(w);
	return rc;
}

int
explain_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' }, { "node", required_argument, NULL, 'n' },
		{ "host-labels", required_argument, NULL, 'L' },
		{ "failsafe-in", required_argument, NULL, 'I' },
		{ "failsafe-out", required_argument, NULL, 'O' },
		{ "path", required_argument, NULL, 'p' }, { "proto", required_argument, NULL, 'P' },
		{ "src", required_argument, NULL, 's' }, { "dst", required_argument, NULL, 'd' },
		{ "sport", required_argument, NULL, 'S' }, { "dport", required_argument, NULL, 'D' },
		{ "icmp-type", required_argument, NULL, 't' },
		{ "icmp-code", required_argument, NULL, 'c' },
		{ "in", required_argument, NULL, 'i' }, { "out", required_argument, NULL, 'o' },
		{ "ct", required_argument, NULL, 'C' }, { "dnat-to", required_argument, NULL, 'N' },
		{ "http-addr", required_argument, NULL, 'H' },
		{ "no-allow-self", no_argument, NULL, 'x' },
		{ "nodeport", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' }, POLSET_LIMIT_OPTIONS, { NULL, 0, NULL, 0 },
	};
	struct polset_limits limits = polset_limits_default;
	struct explain_opts o = { .http_addr = "127.0.0.1:9417" };
	struct eval_input in;
	struct labels hl;
	struct polset ps;
	struct hostenv env;
	struct hostenv_opts ho = { 0 };
	char why[200];
	int c, err, rc;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		const char **slot[] = {
			['n'] = &o.node, ['L'] = &o.host_labels, ['I'] = &o.fs_in, ['O'] = &o.fs_out,
			['p'] = &o.path, ['P'] = &o.proto, ['s'] = &o.src, ['d'] = &o.dst,
			['S'] = &o.sport, ['D'] = &o.dport, ['t'] = &o.icmp_type,
			['c'] = &o.icmp_code, ['i'] = &o.in, ['o'] = &o.out, ['C'] = &o.ct,
			['N'] = &o.dnat, ['H'] = &o.http_addr, ['K'] = &o.nodeport,
		};

		if (c == 'h') {
			printf("%s\n%s", explain_usage, POLSET_LIMIT_USAGE);
			return 0;
		}
		if (c == 'j' || c == 'x') {
			*(c == 'j' ? &o.json : &o.no_allow_self) = true;
			continue;
		}
		if (c >= POLSET_OPT_LIMIT) {
			if (cli_limit_option("explain", c, optarg, &limits) != 0)
				return 2;
			continue;
		}
		if (c > 0 && (size_t)c < ARRAY_SIZE(slot) && slot[c] != NULL) {
			*slot[c] = optarg;
			continue;
		}
		fputs(explain_usage, stderr);
		return 2;
	}
	/* the packet as one argument: the one holding "->", anywhere among the PATHs */
	for (int i = optind; i < argc; i++) {
		if (strstr(argv[i], "->") == NULL)
			continue;
		if (o.flow != NULL)
			return usage_error("two packets given: '%.*s' and '%.*s'", FLOW_MAX_LEN,
					   o.flow, FLOW_MAX_LEN, argv[i]);
		o.flow = argv[i];
		memmove(&argv[i], &argv[i + 1], (size_t)(argc - i - 1) * sizeof(*argv));
		argc--;
		i--;
	}
	if (optind >= argc)
		return usage_error("no policy PATH given");
	err = build_input(&o, &in);
	if (err != 0)
		return err;

	labels_init(&hl);
	if (o.host_labels && labels_parse(o.host_labels, &hl) < 0)
		return usage_error("--host-labels: '%s' is not K=V,K=V", o.host_labels);
	polset_init(&ps);
	ps.limits = limits;
	for (int i = optind; i < argc; i++) {
		if (cli_load(&ps, argv[i]) == -ENOMEM) {
			polset_free(&ps);
			labels_free(&hl);
			fprintf(stderr, "nfqwall explain: out of memory\n");
			return 70;
		}
	}
	if (ps.diags.nerr > 0) {
		diag_print(&ps.diags, stderr);
		fprintf(stderr, "nfqwall explain: %zu error%s in the policy; fix them first\n",
			ps.diags.nerr, ps.diags.nerr == 1 ? "" : "s");
		polset_free(&ps);
		labels_free(&hl);
		return 1;
	}
	ho.node = o.node;
	ho.host_labels = o.host_labels ? &hl : NULL;
	ho.failsafe_in = o.fs_in;
	ho.failsafe_out = o.fs_out;
	ho.self_addr = o.no_allow_self ? NULL : o.http_addr;
	err = hostenv_build(&env, &ps, &ho, why, sizeof(why));
	if (err < 0) {
		polset_free(&ps);
		labels_free(&hl);
		if (err == -ENOMEM)
			return cli_nomem("explain");
		return usage_error("%s", why);
	}
	rc = explain_run(&o, &in, &env);
	hostenv_free(&env);
	polset_free(&ps);
	labels_free(&hl);
	return rc;
}

