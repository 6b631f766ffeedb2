/*
 * lookup.c - bench: the compiled classifier (ruleset_lookup) against the
 * reference evaluator (eval_packet), at 10 to 10,000 rules.
 *
 * For each size it generates a reproducible policy set as YAML text (seeded
 * PRNG: tiers, ordered policies, Allow/Deny/Log/Pass rules over TCP, UDP and
 * ICMP with port lists, ranges and notPorts, source nets and notNets from a
 * pool of mixed-length IPv4 and IPv6 CIDRs, GlobalNetworkSets referenced by
 * rule selectors), loads it with polset_load_buffer, compiles it for node
 * "bench" (one "*" host endpoint, eth0 = ifindex 1) and times:
 *
 *   compile    compile_ruleset, median of 5
 *   compiled   ruleset_lookup at RS_NORMAL_IN over a random packet trace
 *   reference  eval_packet on PATH_LOCAL_IN over a prefix of the same trace
 *              (bounded by --ref-seconds per size)
 *
 * Every packet the reference judges is also walked through the compiled
 * table (walk_ruleset) and the two final decisions are compared, as DPDK's
 * test-acl does: a mismatch is printed and fails the run (exit 1).
 * Single-threaded; bench/RESULTS.md has the targets this is read against. The
 * policy sets and the trace come from lookup_gen.h.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "benchlib.h"
#include "compile.h"
#include "eval.h"
#include "hostenv.h"
#include "ivset.h"
#include "lookup_gen.h"
#include "model.h"
#include "ruleset.h"
#include "walk.h"

#define NCOMPILES	5
#define MAX_SIZES	16

/* ---- options ------------------------------------------------------------------- */

struct opts {
	size_t sizes[MAX_SIZES];
	size_t nsizes;
	size_t packets;
	unsigned runs;
	uint64_t seed;
	double ref_seconds;
	const char *dump;		/* write the generated YAML to <dump>-<rules>.yaml */
};

/* ---- watchdog: a lookup that never returns must not hang the bench ------------ */

static const char *volatile wd_phase = "start";
static const struct pkt_key *volatile wd_key;	/* the packet being judged, if any */

static void
wd_write(const char *s)
{
	if (write(2, s, strlen(s)) < 0)
		_exit(3);
}

/*
 * SIGALRM: the phase overran its budget. The main thread is stuck in pure
 * computation (no stdio lock held), so formatting the packet here is safe
 * enough for a bench that is about to exit.
 */
static void
wd_fire(int sig)
{
	static char buf[256];

	(void)sig;
	wd_write("lookup bench: watchdog: phase \"");
	wd_write(wd_phase);
	wd_write("\" made no progress (a lookup that never returns?)\n");
	if (wd_key != NULL) {
		key_format(wd_key, buf, sizeof(buf));
		wd_write("lookup bench: stuck on packet: ");
		wd_write(buf);
		wd_write("\n");
	}
	_exit(3);
}

static void
wd_arm(const char *phase, unsigned seconds)
{
	wd_phase = phase;
	wd_key = NULL;
	alarm(seconds);
}

/* ---- comparison --------------------------------------------------------------------- */

static bool
str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
decision_same(const struct decision *a, const struct decision *b)
{
	return a->allow == b->allow && a->stage == b->stage && a->reason == b->reason &&
	       str_same(a->tier, b->tier) && str_same(a->policy, b->policy) && a->rule == b->rule;
}

/* Log hits: equal as far as the compiled table records them (RS_MAX_LOGS per hook). */
static bool
logs_same(const struct walk_result *w, const struct eval_result *e)
{
	size_t n = e->nlogs < RS_MAX_LOGS ? e->nlogs : RS_MAX_LOGS;

	if (e->nlogs < RS_MAX_LOGS ? w->nlogs != e->nlogs : w->nlogs != RS_MAX_LOGS)
		return false;
	for (size_t i = 0; i < n; i++)
		if (w->logs[i].stage != e->logs[i].stage || w->logs[i].rule != e->logs[i].rule ||
		    !str_same(w->logs[i].tier, e->logs[i].tier) ||
		    !str_same(w->logs[i].policy, e->logs[i].policy))
			return false;
	return true;
}

static void
decision_print(const char *who, const struct decision *d)
{
	printf("    %-9s %s stage=%s reason=%s tier=%s policy=%s rule=%d\n", who,
	       d->allow ? "allow" : "deny", d->stage == STAGE_NONE ? "none" : stage_name(d->stage),
	       reason_name(d->reason), d->tier ? d->tier : "-", d->policy ? d->policy : "-",
	       d->rule);
}

/* ---- one size ----------------------------------------------------------------------- */

struct result {
	size_t nrules;
	uint32_t nchains;
	uint32_t nentries;
	uint32_t nbitsets;
	size_t table_bytes;
	double gen_ms;
	double load_ms;
	double compile_ms;
	double ns_lookup;		/* median over runs of the mean per lookup */
	double ns_min;
	double ns_max;
	double p50;			/* per-packet latency, timer overhead subtracted */
	double p99;
	double ns_ref;
	size_t nref;
	size_t mismatches;
	size_t log_mismatches;
	long rss_kib;			/* VmRSS right after the compiles */
	long rss_loaded_kib;		/* VmRSS after loading, before compiling */
	long rss_trim_kib;		/* VmRSS after malloc_trim(0): what glibc held back */
	long hwm_kib;			/* VmHWM: the peak so far */
	size_t reasons[REASON_NREASONS];
	size_t accepted;
};

/* A "Vm...:" figure of /proc/self/status in KiB, or -1. */
static long
status_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	size_t klen = strlen(key);
	char line[256];
	long v = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void
write_dump(const struct opts *o, size_t nrules, const char *yaml, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s-%zu.yaml", o->dump, nrules);
	f = fopen(path, "w");
	if (f == NULL || fwrite(yaml, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "lookup bench: cannot write %s: %s\n", path, strerror(errno));
		exit(2);
	}
	printf("  wrote %s\n", path);
}

static void
time_lookups(const struct ruleset *rs, const struct pkt_key *keys, size_t n, unsigned runs,
	     struct result *res)
{
	double *per = calloc(runs, sizeof(*per));
	double *lat = calloc(n, sizeof(*lat));
	double t0, t1, ovh;
	struct rs_verdict v;
	uint64_t sink = 0;

	if (per == NULL || lat == NULL)
		exit(2);
	for (size_t i = 0; i < n; i++) {	/* warm up, and the verdict mix */
		wd_key = &keys[i];
		ruleset_lookup(rs, RS_NORMAL_IN, &keys[i], &v);
		res->reasons[v.reason]++;
		res->accepted += v.outcome == RS_ACCEPT;
	}
	wd_key = NULL;
	for (unsigned run = 0; run < runs; run++) {
		t0 = bench_now_ns();
		for (size_t i = 0; i < n; i++) {
			ruleset_lookup(rs, RS_NORMAL_IN, &keys[i], &v);
			sink += v.outcome + v.meta;
		}
		t1 = bench_now_ns();
		per[run] = (t1 - t0) / (double)n;
	}
	res->ns_lookup = bench_median(per, runs);
	res->ns_min = per[0];
	res->ns_max = per[runs - 1];

	/* per-packet latency: each lookup timed alone, minus the timer's own cost */
	for (size_t i = 0; i < n; i++) {
		t0 = bench_now_ns();
		t1 = bench_now_ns();
		lat[i] = t1 - t0;
	}
	ovh = bench_median(lat, n);
	for (size_t i = 0; i < n; i++) {
		t0 = bench_now_ns();
		ruleset_lookup(rs, RS_NORMAL_IN, &keys[i], &v);
		t1 = bench_now_ns();
		lat[i] = t1 - t0 - ovh;
		sink += v.outcome;
	}
	qsort(lat, n, sizeof(*lat), bench_cmp_double);
	res->p50 = lat[n / 2];
	res->p99 = lat[(size_t)((double)n * 0.99)];
	if (sink == 42)		/* keep the loops */
		putchar(' ');
	free(per);
	free(lat);
}

static void
check_reference(const struct hostenv *env, const struct ruleset *rs, const struct pkt_key *keys,
		size_t n, double budget_ns, struct result *res)
{
	static struct eval_result er;	/* large: steps are recorded */
	static struct walk_result wr;
	double total = 0, start = bench_now_ns();
	size_t i;

	for (i = 0; i < n && bench_now_ns() - start < budget_ns; i++) {
		struct eval_input in;
		double t0;
		bool dsame;

		memset(&in, 0, sizeof(in));
		in.k = keys[i];
		in.path = PATH_LOCAL_IN;
		t0 = bench_now_ns();
		eval_packet(env, &in, &er);
		total += bench_now_ns() - t0;
		wd_key = &keys[i];
		walk_ruleset(rs, &in, &wr);
		wd_key = NULL;
		dsame = decision_same(&wr.final, &er.final);
		if (dsame && logs_same(&wr, &er))
			continue;
		if (!dsame)
			res->mismatches++;
		else
			res->log_mismatches++;
		if (res->mismatches + res->log_mismatches == 1) {
			char buf[256];

			key_format(&keys[i], buf, sizeof(buf));
			printf("  MISMATCH (%s) at packet %zu: %s\n", dsame ? "log hits" : "decision",
			       i, buf);
			decision_print("compiled", &wr.final);
			decision_print("reference", &er.final);
			printf("    logs: compiled %zu, reference %zu\n", wr.nlogs, er.nlogs);
		}
	}
	res->nref = i;
	res->ns_ref = i ? total / (double)i : 0;
}

static void
bench_size(const struct opts *o, size_t nrules, struct pkt_key *keys, struct result *res)
{
	struct genstats gs;
	struct polset ps;
	struct hostenv env;
	struct hostenv_opts ho;
	struct ruleset *rs = NULL;
	struct cidr addrs[2];
	double t0, ct[NCOMPILES];
	size_t len, loaded = 0;
	char why[256], *yaml;

	memset(res, 0, sizeof(*res));
	res->nrules = nrules;
	printf("== %zu rules\n", nrules);

	wd_arm("generate", 60);
	t0 = bench_now_ns();
	yaml = gen_policy_set(nrules, o->seed, &len, &gs);
	res->gen_ms = (bench_now_ns() - t0) / 1e6;
	if (o->dump)
		write_dump(o, nrules, yaml, len);

	wd_arm("load", 60);
	polset_init(&ps);
	t0 = bench_now_ns();
	if (polset_load_buffer(&ps, "bench.yaml", yaml, len) < 0 || ps.diags.nerr > 0 ||
	    ps.nrejected > 0) {
		diag_print(&ps.diags, stderr);
		fprintf(stderr, "lookup bench: the generated %zu-rule set does not load\n", nrules);
		exit(2);
	}
	res->load_ms = (bench_now_ns() - t0) / 1e6;
	res->rss_loaded_kib = status_kib("VmRSS");
	for (size_t i = 0; i < ps.npolicies; i++)
		loaded += ps.policies[i]->ningress + ps.policies[i]->negress;
	printf("  policy set: %zu KiB YAML, %zu tiers + default, %zu policies (%zu select the "
	       "HEP), %zu rules, %zu GlobalNetworkSets; generated in %.1f ms, loaded in %.1f ms\n",
	       len / 1024, gs.ntiers, ps.npolicies, gs.napplied, loaded, ps.nnetsets, res->gen_ms,
	       res->load_ms);
	if (loaded != nrules) {
		fprintf(stderr, "lookup bench: %zu rules loaded, %zu generated\n", loaded, nrules);
		exit(2);
	}

	memset(&ho, 0, sizeof(ho));
	ho.node = "bench";
	if (hostenv_build(&env, &ps, &ho, why, sizeof(why)) < 0) {
		fprintf(stderr, "lookup bench: hostenv: %s\n", why);
		exit(2);
	}
	if (cidr_parse(NODE_V4 "/32", CIDR_STRICT, &addrs[0]) < 0 ||
	    cidr_parse(NODE_V6 "/128", CIDR_STRICT, &addrs[1]) < 0)
		exit(2);
	if (hostenv_add_iface(&env, 1, "eth0", addrs, 2) < 0) {
		fprintf(stderr, "lookup bench: hostenv: out of memory\n");
		exit(2);
	}

	wd_arm("compile", 60);
	for (int i = 0; i < NCOMPILES; i++) {
		ruleset_free(rs);
		t0 = bench_now_ns();
		rs = compile_ruleset(&env);
		ct[i] = (bench_now_ns() - t0) / 1e6;
		if (rs == NULL) {
			fprintf(stderr, "lookup bench: compile: %s\n", strerror(errno));
			exit(2);
		}
	}
	res->compile_ms = bench_median(ct, NCOMPILES);
	ruleset_stats(rs, &res->nchains, &res->nentries, &res->nbitsets);
	res->table_bytes = ruleset_size(rs);
	res->rss_kib = status_kib("VmRSS");
	res->hwm_kib = status_kib("VmHWM");
	malloc_trim(0);
	res->rss_trim_kib = status_kib("VmRSS");
	printf("  compiled: %u chains, %u entries, %u bitsets, %zu bytes; compile median %.2f ms "
	       "(min %.2f, max %.2f)\n", res->nchains, res->nentries, res->nbitsets,
	       res->table_bytes, res->compile_ms, ct[0], ct[NCOMPILES - 1]);
	printf("  memory: VmRSS %ld KiB after loading, %ld KiB after compiling (%ld KiB after "
	       "malloc_trim), VmHWM %ld KiB\n", res->rss_loaded_kib, res->rss_kib,
	       res->rss_trim_kib, res->hwm_kib);

	wd_arm("trace", 30);
	gen_trace(keys, o->packets, nrules, o->seed);

	wd_arm("compiled lookup", 20);
	time_lookups(rs, keys, o->packets, o->runs, res);
	printf("  compiled: %.1f ns/lookup median of %u runs over %zu packets (min %.1f, max "
	       "%.1f); per packet p50 %.0f ns, p99 %.0f ns\n", res->ns_lookup, o->runs,
	       o->packets, res->ns_min, res->ns_max, res->p50, res->p99);
	printf("  verdicts: %.1f%% accept; by rule %.1f%%, end of tier %.1f%%, failsafe %.1f%%, "
	       "profile %.1f%%\n", 100.0 * (double)res->accepted / (double)o->packets,
	       100.0 * (double)res->reasons[REASON_RULE] / (double)o->packets,
	       100.0 * (double)res->reasons[REASON_END_OF_TIER] / (double)o->packets,
	       100.0 * (double)res->reasons[REASON_FAILSAFE] / (double)o->packets,
	       100.0 * (double)res->reasons[REASON_PROFILE] / (double)o->packets);

	wd_arm("reference + check", (unsigned)o->ref_seconds + 60);
	check_reference(&env, rs, keys, o->packets, o->ref_seconds * 1e9, res);
	printf("  reference: %.0f ns/lookup over %zu packets (%s); checked %zu packets: %zu "
	       "decision mismatches, %zu log mismatches\n", res->ns_ref, res->nref,
	       res->nref == o->packets ? "the whole trace" : "time budget reached", res->nref,
	       res->mismatches, res->log_mismatches);
	alarm(0);

	ruleset_free(rs);
	hostenv_free(&env);
	polset_free(&ps);
	free(yaml);
}

/* ---- main ---------------------------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f, "usage: lookup [--sizes 10,100,1000,10000] [--packets 100000] [--runs 7]\n"
		   "              [--seed N] [--ref-seconds 2] [--dump PREFIX]\n");
}

static bool
parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno == 0 && end != s && *end == '\0';
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "packets", required_argument, NULL, 'p' },
		{ "runs", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 'S' },
		{ "ref-seconds", required_argument, NULL, 'R' },
		{ "dump", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->sizes[0] = 10;
	o->sizes[1] = 100;
	o->sizes[2] = 1000;
	o->sizes[3] = 10000;
	o->nsizes = 4;
	o->packets = 100000;
	o->runs = 7;
	o->seed = 1;
	o->ref_seconds = 2;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's': {
			const char *q = optarg;
			char *end;

			o->nsizes = 0;
			for (;;) {
				errno = 0;
				v = strtoull(q, &end, 10);
				if (errno != 0 || end == q || v == 0 || v > 1000000 ||
				    o->nsizes == MAX_SIZES || (*end != ',' && *end != '\0')) {
					fprintf(stderr, "lookup: bad --sizes \"%s\"\n", optarg);
					exit(2);
				}
				o->sizes[o->nsizes++] = (size_t)v;
				if (*end == '\0')
					break;
				q = end + 1;
			}
			break;
		}
		case 'p':
			if (!parse_u64(optarg, &v) || v < 100 || v > 100000000) {
				fprintf(stderr, "lookup: --packets must be 100 .. 100000000\n");
				exit(2);
			}
			o->packets = (size_t)v;
			break;
		case 'r':
			if (!parse_u64(optarg, &v) || v == 0 || v > 1000) {
				fprintf(stderr, "lookup: --runs must be 1 .. 1000\n");
				exit(2);
			}
			o->runs = (unsigned)v;
			break;
		case 'S':
			if (!parse_u64(optarg, &o->seed)) {
				fprintf(stderr, "lookup: bad --seed\n");
				exit(2);
			}
			break;
		case 'R': {
			char *end;

			o->ref_seconds = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || !(o->ref_seconds > 0) ||
			    o->ref_seconds > 3600) {
				fprintf(stderr, "lookup: --ref-seconds must be > 0\n");
				exit(2);
			}
			break;
		}
		case 'd':
			o->dump = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
}

static void
print_table(const struct opts *o, const struct result *res)
{
	printf("\n| rules | entries | bitsets | table KiB | compile ms | compiled ns/lookup | "
	       "Mlookups/s | reference ns/lookup | speedup | mismatches |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < o->nsizes; i++) {
		const struct result *r = &res[i];

		printf("| %zu | %u | %u | %.1f | %.2f | %.1f | %.2f | %.0f (%zu pkts) | %.0fx | "
		       "%zu |\n", r->nrules, r->nentries, r->nbitsets,
		       (double)r->table_bytes / 1024, r->compile_ms, r->ns_lookup,
		       1e3 / r->ns_lookup, r->ns_ref, r->nref,
		       r->ns_lookup > 0 ? r->ns_ref / r->ns_lookup : 0,
		       r->mismatches + r->log_mismatches);
	}
}

static void
print_targets(const struct opts *o, const struct result *res)
{
	const struct result *lo = &res[0], *hi = &res[0];
	double ratio;

	for (size_t i = 1; i < o->nsizes; i++) {
		if (res[i].nrules < lo->nrules)
			lo = &res[i];
		if (res[i].nrules > hi->nrules)
			hi = &res[i];
	}
	ratio = hi->ns_lookup / lo->ns_lookup;
	printf("\nratio %zu-rule / %zu-rule ns/lookup: %.2f\n", hi->nrules, lo->nrules, ratio);
	printf("per-packet p50/p99 at %zu rules: %.0f / %.0f ns\n", hi->nrules, hi->p50, hi->p99);
	printf("VmRSS after compiling the %zu-rule set: %ld KiB (%.1f MiB; %ld KiB after "
	       "malloc_trim; peak VmHWM %ld KiB)\n", hi->nrules, hi->rss_kib,
	       (double)hi->rss_kib / 1024, hi->rss_trim_kib, hi->hwm_kib);
	printf("(the process also holds the policy set, its YAML text and the %zu-packet trace, "
	       "%zu KiB, once a trace was generated)\n", o->packets,
	       o->packets * sizeof(struct pkt_key) / 1024);
	printf("\ntargets (bench/RESULTS.md), read at %zu rules:\n", hi->nrules);
	printf("  lookup under 100 ns (mean per lookup, median run): %.1f ns   %s\n",
	       hi->ns_lookup, hi->ns_lookup < 100 ? "met" : "MISSED");
	printf("  lookup under 100 ns (per-packet p50):              %.0f ns   %s\n", hi->p50,
	       hi->p50 < 100 ? "met" : "MISSED");
	printf("  no more than 3x the %zu-rule figure:               %.2fx     %s\n", lo->nrules,
	       ratio, ratio <= 3 ? "met" : "MISSED");
	printf("  at least 20x faster than the reference:            %.0fx      %s\n",
	       hi->ns_ref / hi->ns_lookup, hi->ns_ref / hi->ns_lookup >= 20 ? "met" : "MISSED");
	printf("  compile under 100 ms:                              %.1f ms  %s\n",
	       hi->compile_ms, hi->compile_ms < 100 ? "met" : "MISSED");
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct result res[MAX_SIZES];
	struct pkt_key *keys;
	size_t bad = 0;
	double t0 = bench_now_ns();

	parse_opts(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, wd_fire);
	keys = calloc(o.packets, sizeof(*keys));
	if (keys == NULL) {
		fprintf(stderr, "lookup bench: out of memory\n");
		return 2;
	}
	printf("command: %s --sizes ", argv[0]);
	for (size_t i = 0; i < o.nsizes; i++)
		printf("%s%zu", i ? "," : "", o.sizes[i]);
	printf(" --packets %zu --runs %u --seed %llu --ref-seconds %g\n", o.packets, o.runs,
	       (unsigned long long)o.seed, o.ref_seconds);
	printf("seed %llu (rerun with --seed %llu to get the same policy sets and trace)\n\n",
	       (unsigned long long)o.seed, (unsigned long long)o.seed);

	for (size_t i = 0; i < o.nsizes; i++) {
		bench_size(&o, o.sizes[i], keys, &res[i]);
		bad += res[i].mismatches + res[i].log_mismatches;
	}
	print_table(&o, res);
	print_targets(&o, res);
	printf("\ntotal %.1f s; %s\n", (bench_now_ns() - t0) / 1e9,
	       bad ? "FAIL: compiled and reference disagree" : "compiled == reference on every "
							 "checked packet");
	free(keys);
	return bad ? 1 : 0;
}
