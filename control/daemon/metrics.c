/*
 * metrics.c - the Prometheus text exposition (format 0.0.4) of a running
 * daemon, and the liveness check behind /livez.
 *
 * Runs in the HTTP thread (libmicrohttpd's), or any thread: it only reads.
 * Numbers come from struct daemon and the workers' struct worker_stats with
 * relaxed atomic loads (stats.h), so one scrape is not a snapshot across
 * counters, but each counter is monotonic. The per-rule hit counters are
 * read from the current ruleset inside an RCU read-side section: the caller
 * must be a registered urcu-memb thread (http.c registers around each
 * render). The kernel's per-queue counters come from
 * /proc/net/netfilter/nfnetlink_queue when it is readable.
 *
 * Choices worth knowing:
 * - nfqwall_decision_seconds is summed over the workers; worker_stats'
 *   lat_bucket[] holds per-bucket (not cumulative) counts, made cumulative
 *   here, and _count is the +Inf bucket so the histogram is self-consistent
 *   even though the counters are read one by one.
 * - nfqwall_log_dropped_total is the larger of the rings' drop counts and the
 *   workers' log_dropped: vlog_push counts a drop in its ring and the worker
 *   counts the same drop again, so a sum would count it twice.
 * - nfqwall_worker_up is 1 for a worker that runs and beat within
 *   DAEMON_STALL_NS.
 * - nfqwall_rule_hits_total has one series for every entry meta of the
 *   table (zero included, so rate() sees the first hit). "rule" is the rule
 *   index, or end-of-tier, profile, no-profile, failsafe; "action" is the
 *   entry's action as ruleset_dump names it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "clock.h"
#include "daemon.h"
#include "fjournal.h"
#include "json.h"
#include "kube.h"
#include "ruleset.h"

#define PROC_NFQUEUE	"/proc/net/netfilter/nfnetlink_queue"

/* Has a heartbeat at @hb (CLOCK_MONOTONIC ns) gone quiet? Seconds silent in @ago. */
static bool
stalled(uint64_t hb, uint64_t now, double *ago)
{
	*ago = now > hb ? (double)(now - hb) / 1e9 : 0;
	return now > hb && now - hb > DAEMON_STALL_NS;
}

int
daemon_live(struct daemon *d, char *why, size_t whylen)
{
	uint64_t now = mono_ns();
	double ago;

	for (unsigned i = 0; i < d->nworkers; i++) {
		struct worker_stats *s = d->wstats[i];

		if (s == NULL || !STAT_GET(s->running))
			continue;
		if (stalled(STAT_GET(s->heartbeat_ns), now, &ago)) {
			snprintf(why, whylen, "worker for queue %u stalled: no progress for %.1f s",
				 STAT_GET(s->queue), ago);
			return -1;
		}
	}
	if (stalled(STAT_GET(d->control_heartbeat_ns), now, &ago)) {
		snprintf(why, whylen, "control loop stalled: no progress for %.1f s", ago);
		return -1;
	}
	if (d->logger != NULL && stalled(STAT_GET(d->logger->heartbeat_ns), now, &ago)) {
		snprintf(why, whylen, "verdict logger stalled: no progress for %.1f s", ago);
		return -1;
	}
	if (whylen > 0)
		why[0] = '\0';
	return 0;
}

/* ---- exposition helpers ------------------------------------------------------------- */

static void
head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP nfqwall_%s %s\n# TYPE nfqwall_%s %s\n", name, help, name, type);
}

/* A metric without labels. */
static void
plain(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
	head(f, name, type, help);
	fprintf(f, "nfqwall_%s %" PRIu64 "\n", name, v);
}

/* A label value, escaped: backslash, double quote and newline. */
static void
label_value(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* Nanoseconds as decimal seconds, exactly ("0.00000005", "1.5", "3"). */
static void
seconds(FILE *f, uint64_t ns)
{
	char frac[16];
	int n;

	fprintf(f, "%" PRIu64, ns / 1000000000u);
	if (ns % 1000000000u == 0)
		return;
	n = snprintf(frac, sizeof(frac), "%09" PRIu64, ns % 1000000000u);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	fprintf(f, ".%s", frac);
}

/* A per-queue metric: one series per worker, from the field at @off of worker_stats. */
static void
per_queue(FILE *f, struct daemon *d, const char *name, const char *help, size_t off)
{
	head(f, name, "counter", help);
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct worker_stats *s = d->wstats[i];

		if (s == NULL)
			continue;
		fprintf(f, "nfqwall_%s{queue=\"%u\"} %" PRIu64 "\n", name, STAT_GET(s->queue),
			STAT_GET(*(uint64_t *)(void *)((char *)s + off)));
	}
}

/* The sum over the workers of the field at @off. */
static uint64_t
sum_workers(struct daemon *d, size_t off)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < d->nworkers; i++)
		if (d->wstats[i] != NULL)
			sum += STAT_GET(*(uint64_t *)(void *)((char *)d->wstats[i] + off));
	return sum;
}

/* ---- sections ------------------------------------------------------------------------- */

static void
render_packets(FILE *f, struct daemon *d)
{
	static const char *const verdicts[SV_NVERDICTS] = {
		[SV_ACCEPT] = "accept", [SV_DROP] = "drop", [SV_WOULD_DROP] = "would_drop",
	};

	head(f, "packets_total", "counter",
	     "Packets judged in userspace, by queue, stage and verdict.");
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct worker_stats *s = d->wstats[i];

		if (s == NULL)
			continue;
		for (int st = 0; st <= STAGE_NONE; st++)
			for (int v = 0; v < SV_NVERDICTS; v++)
				fprintf(f, "nfqwall_packets_total{queue=\"%u\",stage=\"%s\","
					"verdict=\"%s\"} %" PRIu64 "\n", STAT_GET(s->queue),
					stage_name((enum stage)st), verdicts[v],
					STAT_GET(s->by_stage[st][v]));
	}
	per_queue(f, d, "rejudged_total",
		  "Established flows judged again after a ruleset change.",
		  offsetof(struct worker_stats, rejudged));
	per_queue(f, d, "malformed_packets_total",
		  "Packets without a readable IP header (given the failure verdict).",
		  offsetof(struct worker_stats, malformed));
	per_queue(f, d, "unreadable_packets_total",
		  "Packets dropped because no L4 header could be read (cut short or a "
		  "malformed IPv6 extension chain).",
		  offsetof(struct worker_stats, unreadable));
	per_queue(f, d, "deep_requeued_packets_total",
		  "IPv6 packets whose L4 header lay past the copy range, handed to the "
		  "deep queue.",
		  offsetof(struct worker_stats, deep_requeued));
	per_queue(f, d, "queue_enobufs_total",
		  "Times the queue socket overflowed and the kernel dropped messages.",
		  offsetof(struct worker_stats, enobufs));
	plain(f, "recv_errors_total", "counter", "Failed receives on the queue sockets.",
	      sum_workers(d, offsetof(struct worker_stats, recv_errors)));
	plain(f, "verdict_send_errors_total", "counter",
	      "Verdict batches the kernel did not take.",
	      sum_workers(d, offsetof(struct worker_stats, send_errors)));
}

static void
render_latency(FILE *f, struct daemon *d)
{
	uint64_t cum = 0, sum_ns = 0;

	head(f, "decision_seconds", "histogram",
	     "Userspace time to judge one packet, over all queues.");
	for (unsigned b = 0; b < STATS_LAT_BUCKETS; b++) {
		for (unsigned i = 0; i < d->nworkers; i++)
			if (d->wstats[i] != NULL)
				cum += STAT_GET(d->wstats[i]->lat_bucket[b]);
		fputs("nfqwall_decision_seconds_bucket{le=\"", f);
		if (b < STATS_LAT_BUCKETS - 1)
			seconds(f, stats_lat_bounds[b]);
		else
			fputs("+Inf", f);
		fprintf(f, "\"} %" PRIu64 "\n", cum);
	}
	sum_ns = sum_workers(d, offsetof(struct worker_stats, lat_sum_ns));
	fputs("nfqwall_decision_seconds_sum ", f);
	seconds(f, sum_ns);
	fprintf(f, "\nnfqwall_decision_seconds_count %" PRIu64 "\n", cum);
}

static void
render_log(FILE *f, struct daemon *d)
{
	struct vlog_logger *lg = d->logger;
	uint64_t lines = 0, suppressed = 0, ring_drops = 0, worker_drops;

	if (lg != NULL) {
		lines = STAT_GET(lg->lines);
		suppressed = STAT_GET(lg->suppressed);
		for (unsigned i = 0; i < lg->nrings; i++)
			if (lg->rings[i] != NULL)
				ring_drops += STAT_GET(lg->rings[i]->q.dropped);
	}
	worker_drops = sum_workers(d, offsetof(struct worker_stats, log_dropped));
	plain(f, "log_lines_total", "counter", "Verdict log lines written.", lines);
	plain(f, "log_suppressed_total", "counter",
	      "Verdict log records folded by the per-rule rate limit.", suppressed);
	plain(f, "log_dropped_total", "counter",
	      "Verdict log records lost because a worker's ring was full.",
	      ring_drops > worker_drops ? ring_drops : worker_drops);
}

/* The flow journal (--flow-journal); nothing without it. */
static void
render_journal(FILE *f, struct daemon *d)
{
	struct fj_journal *j = d->journal;

	if (j == NULL)
		return;
	plain(f, "flow_journal_entries", "gauge",
	      "Distinct flows the flow journal holds in memory.", STAT_GET(j->entries));
	plain(f, "flow_journal_lines_total", "counter", "Flow journal lines written.",
	      STAT_GET(j->lines));
	plain(f, "flow_journal_bytes_total", "counter", "Flow journal bytes written.",
	      STAT_GET(j->bytes));
	plain(f, "flow_journal_writes_total", "counter",
	      "Flow journal flushes (each appends the flows seen since the last).",
	      STAT_GET(j->flushes));
	plain(f, "flow_journal_rotations_total", "counter",
	      "Flow journal files rotated to FILE.1.", STAT_GET(j->rotations));
	plain(f, "flow_journal_write_errors_total", "counter",
	      "Flow journal writes that failed (their lines are lost).",
	      STAT_GET(j->write_errors));
	plain(f, "flow_journal_dropped_total", "counter",
	      "Judged packets the flow journal did not count: a new flow while the table was "
	      "full, or a worker's journal ring full.",
	      STAT_GET(j->table_dropped) + fj_ring_drops(j));
	plain(f, "flow_journal_snapshots_total", "counter",
	      "Snapshots built for /flows (every reader within 10 s shares one).",
	      STAT_GET(j->snaps));
	plain(f, "flow_journal_pruned_total", "counter",
	      "Flows forgotten from memory (after their lines were written) to make room.",
	      STAT_GET(j->pruned));
}

static void
render_api_kinds(FILE *f, struct kube_store *st)
{
	static const struct {
		const char *name, *type, *help;
	} m[] = {
		{ "api_kind_watch_restarts_total", "counter", "Watches started, by kind." },
		{ "api_kind_relists_total", "counter", "Lists, by kind." },
		{ "api_kind_errors_total", "counter", "Failed requests, by kind." },
		{ "api_kind_last_sync_timestamp_seconds", "gauge",
		  "Unix time of the last list, event or bookmark, by kind." },
		{ "api_kind_synced", "gauge", "1 once the kind was listed." },
		{ "api_kind_objects", "gauge", "Objects held, by kind." },
	};

	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < ARRAY_SIZE(m); i++) {
		fprintf(f, "# HELP nfqwall_%s %s\n# TYPE nfqwall_%s %s\n", m[i].name, m[i].help,
			m[i].name, m[i].type);
		for (int k = 0; k < KK_NKINDS; k++) {
			const struct kube_kind_state *ks = &st->kinds[k];
			uint64_t v = i == 0 ? ks->watch_restarts : i == 1 ? ks->relists :
				     i == 2 ? ks->errors : i == 3 ? ks->last_sync_unix :
				     i == 4 ? ks->synced : ks->n;

			fprintf(f, "nfqwall_%s{kind=\"%s\"} %llu\n", m[i].name,
				kube_kind_name((enum kube_kind)k), (unsigned long long)v);
		}
	}
	pthread_mutex_unlock(&st->lock);
}

static void
render_control(FILE *f, struct daemon *d)
{
	static const struct kube_totals none;
	const struct kube_totals *t = d->kstore ? &d->kstore->totals : &none;

	plain(f, "ruleset_generation", "gauge", "Generation of the published ruleset.",
	      STAT_GET(d->gen));
	plain(f, "tables_published_total", "counter", "Rulesets published.",
	      STAT_GET(d->tables_published));
	plain(f, "tables_widened_total", "counter",
	      "Rulesets published under the same generation: they accept all the last one did "
	      "(a pod or node joined an Allow rule), so established flows were not judged again.",
	      STAT_GET(d->tables_widened));
	plain(f, "selector_cache_hits_total", "counter",
	      "Rule selectors' addresses among the cluster's endpoints taken from the cache "
	      "(kept between compiles, updated by the changed endpoints).",
	      STAT_GET(d->selcache_hits));
	plain(f, "selector_cache_builds_total", "counter",
	      "Rule selectors matched against every cluster endpoint (first use, or the cache "
	      "was emptied by a namespace or service account change).",
	      STAT_GET(d->selcache_builds));
	head(f, "cluster_pod_syncs_total", "counter",
	     "Reloads that brought the cluster's pods up to date, by how: from the store's change "
	     "log (only the pods that changed), or by a walk over every pod (the first, after a "
	     "relist or an overflowing log).");
	fprintf(f, "nfqwall_cluster_pod_syncs_total{by=\"log\"} %" PRIu64 "\n"
		"nfqwall_cluster_pod_syncs_total{by=\"walk\"} %" PRIu64 "\n",
		STAT_GET(d->pod_syncs_log), STAT_GET(d->pod_syncs_full));
	plain(f, "tables_carried_total", "counter",
	      "Rulesets whose verdicts changed only at some addresses (a pod left an Allow rule): "
	      "only those addresses' flows were judged again.",
	      STAT_GET(d->tables_carried));
	plain(f, "policy_reloads_total", "counter", "Policy loads attempted.",
	      STAT_GET(d->reloads));
	plain(f, "policy_reload_failures_total", "counter",
	      "Policy loads rejected (the last good ruleset stayed).",
	      STAT_GET(d->reload_failures));
	plain(f, "policy_rollbacks_total", "counter",
	      "Tables the lockout guard refused or undid: they would cut a lifeline.",
	      STAT_GET(d->policy_rollbacks));
	plain(f, "policy_objects_rejected", "gauge", "Invalid objects in the last policy load.",
	      STAT_GET(d->objects_rejected));
	plain(f, "policies", "gauge", "Policies loaded (enforced kinds).",
	      STAT_GET(d->npolicies));
	plain(f, "table_entries", "gauge", "Entries of the published ruleset over all chains.",
	      STAT_GET(d->nentries));
	plain(f, "host_endpoints", "gauge", "Host endpoints enforced.", STAT_GET(d->nheps));
	plain(f, "table_bytes", "gauge", "Size of the published ruleset.",
	      STAT_GET(d->table_bytes));
	head(f, "last_compile_seconds", "gauge", "Time the last ruleset took to compile.");
	fputs("nfqwall_last_compile_seconds ", f);
	seconds(f, STAT_GET(d->last_compile_ns));
	fputc('\n', f);
	plain(f, "last_reload_timestamp_seconds", "gauge",
	      "Unix time of the last policy load.", STAT_GET(d->last_reload_unix));
	plain(f, "rules_install_failures_total", "counter",
	      "Failed installs of nfqwall's netfilter rules.",
	      STAT_GET(d->rules_install_failures));
	plain(f, "api_watch_restarts_total", "counter",
	      "Kubernetes API watches restarted.", STAT_GET(t->watch_restarts));
	plain(f, "api_relists_total", "counter", "Kubernetes API relists.",
	      STAT_GET(t->relists));
	plain(f, "api_errors_total", "counter", "Kubernetes API request errors.",
	      STAT_GET(t->errors));
	plain(f, "api_last_sync_timestamp_seconds", "gauge",
	      "Unix time of the last complete sync with the Kubernetes API.",
	      STAT_GET(t->last_sync_unix));
	plain(f, "mark_conflicts", "gauge",
	      "Other programs' rules using a bit of --mark-mask (checked every minute).",
	      STAT_GET(d->mark_conflicts));
	plain(f, "ready", "gauge", "1 once the daemon is ready (see /readyz).",
	      STAT_GET(d->ready) ? 1 : 0);
	if (d->kstore != NULL)
		render_api_kinds(f, d->kstore);
}

static void
render_http(FILE *f, struct daemon *d)
{
	plain(f, "http_connections", "gauge", "Connections the HTTP server holds.",
	      STAT_GET(d->http_connections));
	plain(f, "http_max_connections", "gauge", "The HTTP server's connection limit.",
	      STAT_GET(d->http_max_connections));
	head(f, "http_connections_closed_total", "counter",
	     "HTTP connections closed by the server: request not in time (deadline), or the "
	     "oldest waiting one, to make room (evicted).");
	fprintf(f, "nfqwall_http_connections_closed_total{reason=\"deadline\"} %" PRIu64 "\n",
		STAT_GET(d->http_deadline_closed));
	fprintf(f, "nfqwall_http_connections_closed_total{reason=\"evicted\"} %" PRIu64 "\n",
		STAT_GET(d->http_evicted));
}

static void
render_workers_up(FILE *f, struct daemon *d)
{
	uint64_t now = mono_ns();
	double ago;

	head(f, "worker_up", "gauge", "1 when the queue's worker runs and made progress lately.");
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct worker_stats *s = d->wstats[i];

		if (s == NULL)
			continue;
		fprintf(f, "nfqwall_worker_up{queue=\"%u\"} %d\n", STAT_GET(s->queue),
			STAT_GET(s->running) && !stalled(STAT_GET(s->heartbeat_ns), now, &ago));
	}
}

static const char *
meta_rule(const struct rs_meta *m, char *buf, size_t size)
{
	switch (m->kind) {
	case RS_META_RULE:
		snprintf(buf, size, "%d", m->rule);
		return buf;
	case RS_META_EOT:
		return "end-of-tier";
	case RS_META_PROFILE:
		return "profile";
	case RS_META_NO_PROFILE:
		return "no-profile";
	case RS_META_FAILSAFE:
		return "failsafe";
	case RS_META_SELF:
		return "self";
	default:
		return "unknown";
	}
}

static const char *
meta_action(uint8_t a)
{
	static const char *const names[] = {
		[RS_A_ALLOW] = "allow", [RS_A_DENY] = "deny", [RS_A_PASS] = "pass",
		[RS_A_LOG] = "log", [RS_A_FAILSAFE] = "failsafe",
		[RS_A_EOT_DENY] = "end-of-tier-deny", [RS_A_NO_PROFILE] = "no-profile-deny",
	};

	return a < ARRAY_SIZE(names) && names[a] ? names[a] : "unknown";
}

/* One series per entry meta of the table: @last for the last-hit time, else the count. */
static void
render_rule_family(FILE *f, const struct ruleset *rs, const char *name, bool last)
{
	for (uint32_t i = 0; rs != NULL && i < ruleset_nmeta(rs); i++) {
		const struct rs_meta *m = ruleset_meta(rs, i);
		char rule[16];

		fprintf(f, "nfqwall_%s{tier=", name);
		label_value(f, ruleset_str(rs, m->tier));
		fputs(",policy=", f);
		label_value(f, ruleset_str(rs, m->policy));
		fprintf(f, ",rule=\"%s\",action=\"%s\",stage=\"%s\",direction=\"%s\"} %"
			PRIu64 "\n",
			meta_rule(m, rule, sizeof(rule)), meta_action(m->action),
			stage_name((enum stage)m->stage), dir_name((enum dir)m->dir),
			last ? ruleset_last_hit(rs, i) : ruleset_hits(rs, i));
	}
}

static void
render_rule_hits(FILE *f)
{
	const struct ruleset *rs;

	ruleset_read_lock();
	rs = ruleset_current();
	head(f, "rule_hits_total", "counter",
	     "Decisions and Log matches by ruleset entry (rule, end of tier, profile, failsafe).");
	render_rule_family(f, rs, "rule_hits_total", false);
	head(f, "rule_last_hit_timestamp_seconds", "gauge",
	     "When the entry last decided or logged (unix seconds; 0: not since the daemon "
	     "started).");
	render_rule_family(f, rs, "rule_last_hit_timestamp_seconds", true);
	/* the staged view: what it decides, whether or not the enforced table agrees */
	rs = ruleset_staged_current();
	head(f, "staged_rule_hits_total", "counter",
	     "Decisions of the staged view (staged policies applied) by entry; never enforced.");
	render_rule_family(f, rs, "staged_rule_hits_total", false);
	ruleset_read_unlock();	/* tells TSan the grace period too */
}

static void
render_staged(FILE *f, struct daemon *d)
{
	head(f, "staged_verdicts_total", "counter",
	     "Packets the staged view judges otherwise than the enforced table: staged-deny "
	     "(it would drop what is accepted) or staged-allow.");
	fprintf(f, "nfqwall_staged_verdicts_total{action=\"staged-allow\"} %" PRIu64 "\n",
		sum_workers(d, offsetof(struct worker_stats, staged_differs[0])));
	fprintf(f, "nfqwall_staged_verdicts_total{action=\"staged-deny\"} %" PRIu64 "\n",
		sum_workers(d, offsetof(struct worker_stats, staged_differs[1])));
}

size_t
rules_render(struct daemon *d, uint64_t unused_s, char **out)
{
	const struct ruleset *rs;
	uint64_t now = (uint64_t)time(NULL);
	size_t len = 0, n = 0;
	char esc[1100];
	FILE *f;

	*out = NULL;
	f = open_memstream(out, &len);
	if (f == NULL)
		return 0;
	ruleset_read_lock();
	rs = ruleset_current();
	fprintf(f, "{\"started\":%" PRIu64 ",\"now\":%" PRIu64 ",\"generation\":%" PRIu64
		",\"unused_seconds\":%" PRIu64 ",\"rules\":[", STAT_GET(d->started_unix), now,
		rs != NULL ? ruleset_gen(rs) : 0, unused_s);
	for (uint32_t i = 0; rs != NULL && i < ruleset_nmeta(rs); i++) {
		const struct rs_meta *m = ruleset_meta(rs, i);
		uint64_t last = ruleset_last_hit(rs, i);
		const char *file;
		uint32_t line;
		char rule[16];

		/* with a horizon, only the rules people wrote that did not match within it */
		if (unused_s != 0 && (m->kind != RS_META_RULE || (last != 0 && now - last < unused_s)))
			continue;
		file = ruleset_origin(rs, i, &line);
		fprintf(f, "%s{\"tier\":", n++ ? "," : "");
		json_escape(esc, sizeof(esc), ruleset_str(rs, m->tier));
		fputs(esc, f);
		json_escape(esc, sizeof(esc), ruleset_str(rs, m->policy));
		fprintf(f, ",\"policy\":%s,\"rule\":\"%s\",\"action\":\"%s\",\"stage\":\"%s\","
			"\"direction\":\"%s\",", esc, meta_rule(m, rule, sizeof(rule)),
			meta_action(m->action), stage_name((enum stage)m->stage),
			dir_name((enum dir)m->dir));
		json_escape(esc, sizeof(esc), file);
		fprintf(f, "\"file\":%s,\"line\":%u,\"hits\":%" PRIu64 ",\"last_hit\":", esc, line,
			ruleset_hits(rs, i));
		if (last != 0)
			fprintf(f, "%" PRIu64 "}", last);
		else
			fputs("null}", f);
	}
	ruleset_read_unlock();
	fputs("]}\n", f);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return 0;
	}
	return len;
}

static bool
owned_queue(struct daemon *d, unsigned q)
{
	for (unsigned i = 0; i < d->nworkers; i++)
		if (d->wstats[i] != NULL && STAT_GET(d->wstats[i]->queue) == q)
			return true;
	return false;
}

/* The kernel's view of our queues: length and drops (docs/architecture.md §3). */
static void
render_kernel(FILE *f, struct daemon *d)
{
	struct kq {
		unsigned q;
		unsigned long long total, dropped, user_dropped;
	} *v = NULL;
	size_t n = 0;
	char line[256];
	FILE *p = fopen(PROC_NFQUEUE, "re");

	while (p != NULL && fgets(line, sizeof(line), p) != NULL) {
		unsigned q, portid, mode, range;
		unsigned long long total, dropped, udropped;
		struct kq *bigger;

		if (sscanf(line, "%u %u %llu %u %u %llu %llu", &q, &portid, &total, &mode, &range,
			   &dropped, &udropped) != 7 || !owned_queue(d, q))
			continue;
		bigger = realloc(v, (n + 1) * sizeof(*v));
		if (bigger == NULL)
			break;
		v = bigger;
		v[n++] = (struct kq){ q, total, dropped, udropped };
	}
	if (p != NULL)
		fclose(p);
	head(f, "kernel_queue_dropped_total", "counter",
	     "Packets the kernel dropped because the queue was full.");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "nfqwall_kernel_queue_dropped_total{queue=\"%u\"} %llu\n", v[i].q,
			v[i].dropped);
	head(f, "kernel_queue_user_dropped_total", "counter",
	     "Packets the kernel dropped because the netlink socket was full.");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "nfqwall_kernel_queue_user_dropped_total{queue=\"%u\"} %llu\n", v[i].q,
			v[i].user_dropped);
	head(f, "kernel_queue_length", "gauge", "Packets waiting in the kernel queue.");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "nfqwall_kernel_queue_length{queue=\"%u\"} %llu\n", v[i].q,
			v[i].total);
	free(v);
}

size_t
metrics_render(struct daemon *d, char **out)
{
	size_t len = 0;
	FILE *f;

	*out = NULL;
	f = open_memstream(out, &len);
	if (f == NULL)
		return 0;
	render_packets(f, d);
	render_latency(f, d);
	render_log(f, d);
	render_journal(f, d);
	render_control(f, d);
	render_http(f, d);
	render_workers_up(f, d);
	render_rule_hits(f);
	render_staged(f, d);
	render_kernel(f, d);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return 0;
	}
	return len;
}
