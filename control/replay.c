/*
 * replay.c - `nfqwall replay`: judge every flow of one or more flow journals
 * (docs/flow-journal.md) under a policy set before and after a change, and
 * print the flows whose verdict changes, newly denied first.
 *
 * Each side is loaded, resolved for --node and compiled exactly as `nfqwall
 * explain` and the daemon do (hostenv_build, compile_ruleset), and every
 * flow walks the compiled table (walk_ruleset), the code explain uses for
 * the daemon's verdict; tests/diff holds it equal to the reference
 * evaluator. Nothing here matches packets itself.
 *
 * The interfaces: every interface name the journals mention becomes one
 * interface of both sides ("lo" is index 1, the loopback the judge knows),
 * with the local addresses the flows show on it (the destination of a
 * local-in flow, the source of a local-out one), so HostEndpoints that
 * name an interface or list expectedIPs govern the same flows as on the
 * node. Control thread (the CLI process) only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compile.h"
#include "fjread.h"
#include "json.h"
#include "judge.h"
#include "pkt.h"
#include "replay.h"
#include "strmap.h"
#include "walk.h"

#define REPLAY_MAX_IFACES	4096	/* distinct interface names over the journals */
#define REPLAY_MAX_ADDRS	1024	/* local addresses kept per interface */

static const char replay_usage[] =
	"usage: nfqwall replay --journal FILE [--journal FILE]... --before PATH\n"
	"         --after PATH [--node NAME] [--host-labels K=V,...] [--json] [FILE...]\n"
	"\n"
	"Judge every flow recorded in the flow journals (`nfqwall run --flow-journal`;\n"
	"give FILE.1 too for the rotated part) under the policy in --before and the\n"
	"policy in --after (each a file or directory of YAML/JSON, as check and explain\n"
	"take), and print the flows whose verdict changes: newly denied first, with the\n"
	"deciding policy and rule before and after and how often the flow was seen.\n"
	"Lines of one flow in several files or flushes are merged (counts add up).\n"
	"\n"
	"  --journal FILE       a flow journal; repeat it, or list more FILEs at the end\n"
	"  --before PATH        the policy enforced when the journal was written\n"
	"  --after PATH         the policy to judge the same flows with\n"
	"  --node NAME          enforce the HostEndpoints whose spec.node is NAME\n"
	"  --host-labels K=V,.. when no HostEndpoint is on --node: an auto host endpoint\n"
	"  --json               one object: {\"changes\": [{\"flow\", \"before\", \"after\",\n"
	"                       \"count\"}], \"summary\": {\"newly_denied\", \"newly_allowed\",\n"
	"                       \"unchanged\"}}\n"
	"\n"
	"A journal line that is not a flow object of version 1 is an error naming its\n"
	"file and line: nothing is skipped.\n"
	"\n"
	"Exit status: 0 no verdict changes, 1 some verdict changes, 2 usage error or an\n"
	"unreadable or invalid journal or policy, 70 out of memory.\n";

struct replay_opts {
	const char **journals;
	size_t njournals;
	const char *before;
	const char *after;
	const char *node;
	const char *host_labels;
	bool json;
};

struct ifmap {
	char name[FJR_IFNAMSIZ];
	uint32_t ifindex;
	struct cidr *addrs;
	size_t naddrs;
};

struct ifaces {
	struct ifmap *v;
	size_t n;
	uint32_t next;		/* the next index to give (1 is lo's) */
};

struct side {
	const char *opt;	/* "--before" or "--after" */
	struct polset ps;
	struct hostenv env;
	bool have_env;
	struct ruleset *rs;
};

struct change {
	size_t flow;
	struct decision before;	/* names point into the sides' tables */
	struct decision after;
};

static int
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "nfqwall replay: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'nfqwall replay --help'.\n");
	return 2;
}

/* ---- the interfaces the journals name -------------------------------------------- */

static struct ifmap *
iface_get(struct ifaces *ifs, const char *name, int *err)
{
	struct ifmap *m;

	for (size_t i = 0; i < ifs->n; i++)
		if (strcmp(ifs->v[i].name, name) == 0)
			return &ifs->v[i];
	if (ifs->n >= REPLAY_MAX_IFACES) {
		*err = -E2BIG;
		return NULL;
	}
	if (ifs->v == NULL) {
		ifs->v = calloc(REPLAY_MAX_IFACES, sizeof(*ifs->v));
		if (ifs->v == NULL) {
			*err = -ENOMEM;
			return NULL;
		}
		ifs->next = 2;
	}
	m = &ifs->v[ifs->n++];
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->ifindex = strcmp(name, "lo") == 0 ? JUDGE_LOOPBACK_IFINDEX : ifs->next++;
	return m;
}

static int
iface_addr(struct ifmap *m, const struct addr *a, uint8_t family)
{
	struct cidr c = { *a, family, (uint8_t)addr_bits(family) };

	for (size_t i = 0; i < m->naddrs; i++)
		if (m->addrs[i].family == family && memcmp(&m->addrs[i].addr, a, sizeof(*a)) == 0)
			return 0;
	if (m->naddrs >= REPLAY_MAX_ADDRS)
		return 0;	/* bounded: more local addresses on one interface are not kept */
	if (m->addrs == NULL) {
		m->addrs = calloc(REPLAY_MAX_ADDRS, sizeof(*m->addrs));
		if (m->addrs == NULL)
			return -ENOMEM;
	}
	m->addrs[m->naddrs++] = c;
	return 0;
}

/* The interfaces of flow @f, made when new; *@iif, *@oif as judged. */
static int
flow_ifaces(struct ifaces *ifs, const struct fjr_flow *f, uint32_t *iif, uint32_t *oif)
{
	bool need_in = f->path != FJR_PATH_LOCAL_OUT, need_out = f->path != FJR_PATH_LOCAL_IN;
	struct ifmap *mi = NULL, *mo = NULL;
	int err = 0;

	*iif = *oif = 0;
	if (f->has_in || need_in) {
		mi = iface_get(ifs, f->iface_in, &err);
		if (mi == NULL)
			return err;
		*iif = mi->ifindex;
	}
	if (f->has_out || need_out) {
		mo = iface_get(ifs, f->iface_out, &err);
		if (mo == NULL)
			return err;
		*oif = mo->ifindex;
	}
	if (f->path == FJR_PATH_LOCAL_IN)
		err = iface_addr(mi, &f->dst, f->family);
	else if (f->path == FJR_PATH_LOCAL_OUT)
		err = iface_addr(mo, &f->src, f->family);
	return err;
}

static void
ifaces_free(struct ifaces *ifs)
{
	for (size_t i = 0; i < ifs->n; i++)
		free(ifs->v[i].addrs);
	free(ifs->v);
}

/* ---- the two policy sets ------------------------------------------------------------ */

/* Load, resolve and compile one side. 0, or the exit status (said on stderr). */
static int
side_load(struct side *s, const char *path, const struct replay_opts *o, const struct labels *hl,
	  const struct ifaces *ifs)
{
	struct hostenv_opts ho = { 0 };
	char why[200];
	int err;

	polset_init(&s->ps);
	if (cli_load(&s->ps, path) == -ENOMEM)
		return cli_nomem("replay");
	if (s->ps.diags.nerr > 0) {
		diag_print(&s->ps.diags, stderr);
		fprintf(stderr, "nfqwall replay: %s %s: %zu error%s in the policy\n", s->opt, path,
			s->ps.diags.nerr, s->ps.diags.nerr == 1 ? "" : "s");
		return 2;
	}
	ho.node = o->node;
	ho.host_labels = o->host_labels ? hl : NULL;
	ho.self_addr = "127.0.0.1:9417";
	err = hostenv_build(&s->env, &s->ps, &ho, why, sizeof(why));
	if (err < 0)
		return err == -ENOMEM ? cli_nomem("replay") : usage_error("%s", why);
	s->have_env = true;
	if (s->env.nlocal == 0)
		fprintf(stderr, "nfqwall replay: note: %s %s: no HostEndpoint is enforced (give "
			"--node, or --host-labels for an auto host endpoint)\n", s->opt, path);
	for (size_t i = 0; i < ifs->n; i++)
		if (hostenv_add_iface(&s->env, ifs->v[i].ifindex, ifs->v[i].name, ifs->v[i].addrs,
				      ifs->v[i].naddrs) < 0)
			return cli_nomem("replay");
	s->rs = compile_ruleset(&s->env);
	if (s->rs == NULL) {
		if (errno == ENOMEM)
			return cli_nomem("replay");
		fprintf(stderr, "nfqwall replay: %s %s: compiling the table failed: %s\n", s->opt,
			path, strerror(errno));
		return 2;
	}
	return 0;
}

static void
side_free(struct side *s)
{
	ruleset_free(s->rs);
	if (s->have_env)
		hostenv_free(&s->env);
	polset_free(&s->ps);
}

/* ---- judging ------------------------------------------------------------------------- */

static void
flow_input(const struct fjr_flow *f, uint32_t iif, uint32_t oif, struct eval_input *in)
{
	struct pkt_key *k = &in->k;

	memset(in, 0, sizeof(*in));
	in->path = f->path == FJR_PATH_LOCAL_OUT ? PATH_LOCAL_OUT :
		   f->path == FJR_PATH_FORWARD ? PATH_FORWARD : PATH_LOCAL_IN;
	k->src = f->src;
	k->dst = f->dst;
	k->family = f->family;
	k->proto = f->proto;
	k->flags = f->flags;
	k->sport = f->sport;
	k->dport = f->dport;
	k->icmp_type = f->icmp_type;
	k->icmp_code = f->icmp_code;
	k->len = 60;
	k->ct = CT_NEW;
	k->iif = iif;
	k->oif = oif;
}

/*
 * The reference evaluator must reach the compiled table's verdict, as in
 * `nfqwall explain`; a disagreement is a bug in one of them, said on stderr
 * (the compiled table's verdict, the daemon's, is the one reported). 0 or -ENOMEM.
 */
static int
cross_check(const struct side *s, const struct eval_input *in, const struct walk_result *w,
	    struct eval_result *ev)
{
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	if (eval_packet(&s->env, in, ev) < 0)
		return -ENOMEM;
	if (ev->final.allow == w->final.allow)
		return 0;
	fprintf(stderr, "nfqwall replay: WARNING: %s: the compiled table (%s) and the reference "
		"evaluator (%s) disagree on proto %u %s -> %s port %u (%s); please report this\n",
		s->opt, w->final.allow ? "allow" : "deny", ev->final.allow ? "allow" : "deny",
		in->k.proto, addr_format(&in->k.src, in->k.family, a),
		addr_format(&in->k.dst, in->k.family, b), in->k.dport, path_name(in->path));
	return 0;
}

/* Newly denied first, then newly allowed; the most seen first; then journal order. */
static int
change_cmp(const void *pa, const void *pb, void *arg)
{
	const struct change *a = pa, *b = pb;
	const struct fjr_flows *fl = arg;
	uint64_t ca = fl->v[a->flow].count, cb = fl->v[b->flow].count;

	if (a->after.allow != b->after.allow)
		return a->after.allow ? 1 : -1;
	if (ca != cb)
		return ca > cb ? -1 : 1;
	return a->flow < b->flow ? -1 : a->flow > b->flow;
}

/* ---- output ------------------------------------------------------------------------- */

static void
json_kv(const char *key, const char *val, bool comma)
{
	printf("%s\"%s\":", comma ? "," : "", key);
	json_fput(stdout, val);
}

static void
print_flow_json(const struct fjr_flow *f)
{
	const char *pname = pkt_proto_name(f->proto);
	char a[ADDR_STRLEN];

	if (pname != NULL)
		printf("{\"proto\":\"%s\"", pname);
	else
		printf("{\"proto\":\"%u\"", f->proto);
	json_kv("src", addr_format(&f->src, f->family, a), true);
	json_kv("dst", addr_format(&f->dst, f->family, a), true);
	if (f->flags & PKT_F_PORTS)
		printf(",\"dport\":%u", f->dport);
	else
		printf(",\"dport\":null");
	if (f->flags & PKT_F_ICMP)
		printf(",\"icmp_type\":%u,\"icmp_code\":%u", f->icmp_type, f->icmp_code);
	else
		printf(",\"icmp_type\":null,\"icmp_code\":null");
	json_kv("hook", fjr_hooks[f->hook], true);
	json_kv("path", fjr_path_name(f->path), true);
	json_kv("iface_in", f->has_in ? f->iface_in : NULL, true);
	json_kv("iface_out", f->has_out ? f->iface_out : NULL, true);
	json_kv("first", f->first[0] ? f->first : NULL, true);
	json_kv("last", f->last[0] ? f->last : NULL, true);
	printf("}");
}

static void
print_decision_json(const struct decision *d)
{
	printf("{\"verdict\":\"%s\"", d->allow ? "allow" : "deny");
	json_kv("stage", stage_name(d->stage), true);
	json_kv("tier", d->tier, true);
	json_kv("policy", d->policy, true);
	if (d->rule >= 0 && d->reason == REASON_RULE)
		printf(",\"rule\":%d", d->rule);
	else
		printf(",\"rule\":null");
	json_kv("reason", reason_name(d->reason), true);
	printf("}");
}

static void
print_decision_text(const char *label, const struct decision *d)
{
	printf("  %s %s (stage %s", label, d->allow ? "allow" : "deny", stage_name(d->stage));
	if (d->tier)
		printf(", tier %s", d->tier);
	if (d->policy)
		printf(", %s %s", d->reason == REASON_PROFILE ? "profile" : "policy", d->policy);
	if (d->rule >= 0 && d->reason == REASON_RULE)
		printf(", rule %d", d->rule);
	printf(", reason %s)\n", reason_name(d->reason));
}

static void
print_flow_text(const struct fjr_flow *f, bool denied)
{
	const char *pname = pkt_proto_name(f->proto);
	char a[ADDR_STRLEN];

	printf("%s: ", denied ? "newly denied" : "newly allowed");
	if (pname != NULL)
		printf("%s", pname);
	else
		printf("proto %u", f->proto);
	printf(" %s", addr_format(&f->src, f->family, a));
	if ((f->flags & PKT_F_PORTS) && f->family == AF_INET6)
		printf(" -> [%s]:%u", addr_format(&f->dst, f->family, a), f->dport);
	else if (f->flags & PKT_F_PORTS)
		printf(" -> %s:%u", addr_format(&f->dst, f->family, a), f->dport);
	else
		printf(" -> %s", addr_format(&f->dst, f->family, a));
	if (f->flags & PKT_F_ICMP)
		printf(" icmp type %u code %u", f->icmp_type, f->icmp_code);
	printf(" (%s", fjr_path_name(f->path));
	if (f->has_in)
		printf(", in %s", f->iface_in);
	if (f->has_out)
		printf(", out %s", f->iface_out);
	printf("), seen %llu time%s", (unsigned long long)f->count, f->count == 1 ? "" : "s");
	if (f->first[0] && f->last[0])
		printf(" from %s to %s", f->first, f->last);
	printf("\n");
}

static void
print_changes(const struct replay_opts *o, const struct fjr_flows *fl, const struct change *ch,
	      size_t nch, size_t denied)
{
	size_t allowed = nch - denied, unchanged = fl->n - nch;

	if (o->json) {
		printf("{\"changes\":[");
		for (size_t i = 0; i < nch; i++) {
			printf("%s{\"flow\":", i ? "," : "");
			print_flow_json(&fl->v[ch[i].flow]);
			printf(",\"before\":");
			print_decision_json(&ch[i].before);
			printf(",\"after\":");
			print_decision_json(&ch[i].after);
			printf(",\"count\":%llu}", (unsigned long long)fl->v[ch[i].flow].count);
		}
		printf("],\"summary\":{\"newly_denied\":%zu,\"newly_allowed\":%zu,"
		       "\"unchanged\":%zu}}\n", denied, allowed, unchanged);
		return;
	}
	for (size_t i = 0; i < nch; i++) {
		print_flow_text(&fl->v[ch[i].flow], !ch[i].after.allow);
		print_decision_text("before:", &ch[i].before);
		print_decision_text("after: ", &ch[i].after);
	}
	printf("%zu flow%s: %zu newly denied, %zu newly allowed, %zu unchanged\n", fl->n,
	       fl->n == 1 ? "" : "s", denied, allowed, unchanged);
}

/* ---- the command ---------------------------------------------------------------------- */

/* Judge every flow under both sides; print; the exit status. */
static int
replay_run(const struct replay_opts *o, const struct fjr_flows *fl, const struct ifaces *ifs,
	   const uint32_t *ifidx, const struct labels *hl)
{
	struct side before = { .opt = "--before" }, after = { .opt = "--after" };
	struct walk_result *wb = malloc(sizeof(*wb)), *wa = malloc(sizeof(*wa));
	struct eval_result *ev = malloc(sizeof(*ev));
	struct change *ch = NULL;
	size_t nch = 0, denied = 0;
	int rc;

	if (wb == NULL || wa == NULL || ev == NULL) {
		rc = cli_nomem("replay");
		goto out;
	}
	rc = side_load(&before, o->before, o, hl, ifs);
	if (rc == 0)
		rc = side_load(&after, o->after, o, hl, ifs);
	if (rc != 0)
		goto out;
	for (size_t i = 0; i < fl->n; i++) {
		struct eval_input in;

		flow_input(&fl->v[i], ifidx[2 * i], ifidx[2 * i + 1], &in);
		walk_ruleset(before.rs, &in, wb);
		walk_ruleset(after.rs, &in, wa);
		if (cross_check(&before, &in, wb, ev) < 0 || cross_check(&after, &in, wa, ev) < 0) {
			rc = cli_nomem("replay");
			goto out;
		}
		if (wb->final.allow == wa->final.allow)
			continue;
		if ((nch & (nch - 1)) == 0) {	/* grow at 0, 1, 2, 4, ... */
			struct change *p = realloc(ch, (nch ? 2 * nch : 1) * sizeof(*p));

			if (p == NULL) {
				rc = cli_nomem("replay");
				goto out;
			}
			ch = p;
		}
		ch[nch].flow = i;
		ch[nch].before = wb->final;
		ch[nch].after = wa->final;
		nch++;
		denied += !wa->final.allow;
	}
	if (nch > 1)
		qsort_r(ch, nch, sizeof(*ch), change_cmp, (void *)(uintptr_t)fl);
	print_changes(o, fl, ch, nch, denied);
	rc = nch > 0 ? 1 : 0;
out:
	free(ch);
	free(wb);
	free(wa);
	free(ev);
	side_free(&before);
	side_free(&after);
	return rc;
}

/* Read every journal. 0 or the exit status. */
static int
read_journals(const struct replay_opts *o, struct fjr_flows *fl)
{
	char why[512];

	for (size_t i = 0; i < o->njournals; i++) {
		const char *name = o->journals[i];
		FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "r");
		int err;

		if (f == NULL) {
			fprintf(stderr, "nfqwall replay: %s: %s\n", name, strerror(errno));
			return 2;
		}
		err = fjr_read(fl, f, f == stdin ? "<stdin>" : name, why, sizeof(why));
		if (f != stdin)
			fclose(f);
		if (err == -ENOMEM)
			return cli_nomem("replay");
		if (err < 0) {
			fprintf(stderr, "nfqwall replay: %s\n", why);
			return 2;
		}
	}
	return 0;
}

/* The interfaces of every flow: ifidx[2i], ifidx[2i+1]. 0 or the exit status. */
static int
map_ifaces(const struct fjr_flows *fl, struct ifaces *ifs, uint32_t **ifidx)
{
	*ifidx = calloc(2 * fl->n + 2, sizeof(**ifidx));
	if (*ifidx == NULL)
		return cli_nomem("replay");
	for (size_t i = 0; i < fl->n; i++) {
		int err = flow_ifaces(ifs, &fl->v[i], &(*ifidx)[2 * i], &(*ifidx)[2 * i + 1]);

		if (err == -ENOMEM)
			return cli_nomem("replay");
		if (err < 0) {
			fprintf(stderr, "nfqwall replay: the journals name more than %u interfaces\n",
				REPLAY_MAX_IFACES);
			return 2;
		}
	}
	return 0;
}

/* ---- check --journal: the rules no recorded flow matched ----------------------------------- */

/* What names one rule of the table: tier, policy, rule, direction, stage. */
static void
rule_key(const char *tier, const char *policy, int rule, unsigned dir, unsigned stage, char *key,
	 size_t len)
{
	snprintf(key, len, "%s\x1f%s\x1f%d\x1f%u\x1f%u", tier ? tier : "", policy ? policy : "",
		 rule, dir, stage);
}

/* The rules the flows matched (deciding or logging), into @seen. 0 or -ENOMEM. */
static int
unused_walk(const struct ruleset *rs, const struct fjr_flows *fl, const uint32_t *ifidx,
	    struct strmap *seen, struct walk_result *w)
{
	char key[600];

	for (size_t i = 0; i < fl->n; i++) {
		struct eval_input in;

		flow_input(&fl->v[i], ifidx[2 * i], ifidx[2 * i + 1], &in);
		walk_ruleset(rs, &in, w);
		if (w->final.policy != NULL && w->final.rule >= 0) {
			rule_key(w->final.tier, w->final.policy, w->final.rule, w->final.dir,
				 w->final.stage, key, sizeof(key));
			if (strmap_put(seen, key, 1) < 0)
				return -ENOMEM;
		}
		for (size_t j = 0; j < w->nlogs; j++) {
			rule_key(w->logs[j].tier, w->logs[j].policy, w->logs[j].rule, w->logs[j].dir,
				 w->logs[j].stage, key, sizeof(key));
			if (strmap_put(seen, key, 1) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

/* One warning per rule of @rs the flows never matched. 0 or -ENOMEM. */
static int
unused_report(struct polset *ps, const struct ruleset *rs, const struct fjr_flows *fl,
	      struct strmap *seen)
{
	const char *from = "", *to = "";
	char key[600], obj[600], field[64];
	size_t at;

	for (size_t i = 0; i < fl->n; i++) {
		if (fl->v[i].first[0] != '\0' && (*from == '\0' || strcmp(fl->v[i].first, from) < 0))
			from = fl->v[i].first;
		if (strcmp(fl->v[i].last, to) > 0)
			to = fl->v[i].last;
	}
	for (uint32_t i = 0; i < ruleset_nmeta(rs); i++) {
		const struct rs_meta *m = ruleset_meta(rs, i);
		uint32_t line;
		const char *file;

		if (m->kind != RS_META_RULE)
			continue;
		rule_key(ruleset_str(rs, m->tier), ruleset_str(rs, m->policy), m->rule, m->dir,
			 m->stage, key, sizeof(key));
		if (strmap_get(seen, key, &at))
			continue;
		if (strmap_put(seen, key, 0) < 0)	/* said once, whatever the families */
			return -ENOMEM;
		file = ruleset_origin(rs, i, &line);
		snprintf(obj, sizeof(obj), "GlobalNetworkPolicy/%s", ruleset_str(rs, m->policy));
		snprintf(field, sizeof(field), "spec.%s[%d]",
			 m->dir == DIR_EGRESS ? "egress" : "ingress", m->rule);
		diag_add(&ps->diags, DIAG_WARN, *file ? file : NULL, (int)line, 0, obj, field,
			 "never matched by the %zu flows of the journal (%s to %s, %s stage): "
			 "traffic that needs it did not occur while it was recorded, or the rule "
			 "is dead and can go", fl->n, *from ? from : "?", *to ? to : "?",
			 stage_name((enum stage)m->stage));
	}
	return 0;
}

int
replay_unused(struct polset *ps, const char *node, const char *const *journals, size_t n)
{
	struct replay_opts o = { .journals = (const char **)journals, .njournals = n,
				 .node = node };
	struct hostenv_opts ho = { .node = node, .self_addr = "127.0.0.1:9417" };
	struct walk_result *w = malloc(sizeof(*w));
	struct strmap seen = { 0 };
	struct ifaces ifs = { 0 };
	struct fjr_flows fl;
	struct hostenv env;
	struct ruleset *rs = NULL;
	uint32_t *ifidx = NULL;
	bool have_env = false;
	char why[200];
	int rc;

	fjr_init(&fl);
	rc = w == NULL ? cli_nomem("check") : read_journals(&o, &fl);
	if (rc == 0)
		rc = map_ifaces(&fl, &ifs, &ifidx);
	if (rc == 0 && hostenv_build(&env, ps, &ho, why, sizeof(why)) < 0)
		rc = cli_nomem("check");	/* the polset's failsafes parsed already */
	have_env = rc == 0;
	for (size_t i = 0; rc == 0 && i < ifs.n; i++)
		if (hostenv_add_iface(&env, ifs.v[i].ifindex, ifs.v[i].name, ifs.v[i].addrs,
				      ifs.v[i].naddrs) < 0)
			rc = cli_nomem("check");
	if (rc == 0 && (rs = compile_ruleset(&env)) == NULL)
		rc = cli_nomem("check");
	if (rc == 0 && (unused_walk(rs, &fl, ifidx, &seen, w) < 0 ||
			unused_report(ps, rs, &fl, &seen) < 0))
		rc = cli_nomem("check");
	strmap_free(&seen);
	ruleset_free(rs);
	if (have_env)
		hostenv_free(&env);
	ifaces_free(&ifs);
	free(ifidx);
	fjr_free(&fl);
	free(w);
	return rc;
}

static int
parse_args(int argc, char **argv, struct replay_opts *o)
{
	static const struct option longopts[] = {
		{ "journal", required_argument, NULL, 'J' }, { "before", required_argument, NULL, 'b' },
		{ "after", required_argument, NULL, 'a' }, { "node", required_argument, NULL, 'n' },
		{ "host-labels", required_argument, NULL, 'L' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c;

	o->journals = calloc((size_t)argc + 1, sizeof(*o->journals));
	if (o->journals == NULL)
		return cli_nomem("replay");
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'J': o->journals[o->njournals++] = optarg; break;
		case 'b': o->before = optarg; break;
		case 'a': o->after = optarg; break;
		case 'n': o->node = optarg; break;
		case 'L': o->host_labels = optarg; break;
		case 'j': o->json = true; break;
		case 'h': fputs(replay_usage, stdout); return -1;
		default: fputs(replay_usage, stderr); return 2;
		}
	}
	for (int i = optind; i < argc; i++)
		o->journals[o->njournals++] = argv[i];
	if (o->njournals == 0)
		return usage_error("no --journal FILE given%s", "");
	if (o->before == NULL || o->after == NULL)
		return usage_error("--before PATH and --after PATH are required%s", "");
	return 0;
}

int
replay_main(int argc, char **argv)
{
	struct replay_opts o = { 0 };
	struct fjr_flows fl;
	struct ifaces ifs = { 0 };
	struct labels hl;
	uint32_t *ifidx = NULL;
	int rc;

	fjr_init(&fl);
	labels_init(&hl);
	rc = parse_args(argc, argv, &o);
	if (rc != 0)
		goto out;
	if (o.host_labels && labels_parse(o.host_labels, &hl) < 0) {
		rc = usage_error("--host-labels: '%s' is not K=V,K=V", o.host_labels);
		goto out;
	}
	rc = read_journals(&o, &fl);
	if (rc == 0)
		rc = map_ifaces(&fl, &ifs, &ifidx);
	if (rc == 0)
		rc = replay_run(&o, &fl, &ifs, ifidx, &hl);
out:
	free(ifidx);
	ifaces_free(&ifs);
	labels_free(&hl);
	fjr_free(&fl);
	free(o.journals);
	return rc < 0 ? 0 : rc;
}
