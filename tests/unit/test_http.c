/*
 * test_http.c - unit tests for control/daemon/http.c and control/daemon/metrics.c: a real
 * libmicrohttpd server on 127.0.0.1 over a fake daemon (two workers' stats,
 * a logger's counters, a compiled and published ruleset), fetched with plain
 * HTTP/1.0 sockets. Checks status codes, key metric values, the exposition
 * syntax of every line, /livez on stalled components and /readyz detail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "clock.h"
#include "compile.h"
#include "daemon.h"
#include "helpers.h"
#include "hostenv.h"
#include "model.h"
#include "ruleset.h"

static const char policy_yaml[] =
	"apiVersion: projectcalico.org/v3\n"
	"kind: HostEndpoint\n"
	"metadata:\n"
	"  name: n1-eth0\n"
	"  labels: {role: worker}\n"
	"spec:\n"
	"  node: n1\n"
	"  interfaceName: eth0\n"
	"  expectedIPs: [10.0.0.11]\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: GlobalNetworkPolicy\n"
	"metadata:\n"
	"  name: allow-ssh\n"
	"spec:\n"
	"  selector: role == 'worker'\n"
	"  order: 100\n"
	"  ingress:\n"
	"  - action: Allow\n"
	"    protocol: TCP\n"
	"    destination:\n"
	"      ports: [22]\n"
	"  - action: Deny\n"
	"    protocol: TCP\n"
	"    destination:\n"
	"      ports: [23]\n";

struct fixture {
	struct daemon d;
	struct worker_stats ws[2];
	struct worker_stats *wsp[2];
	struct vlog_logger lg;
	struct vlog_ring rings[2];
	struct vlog_ring *ringp[2];
	struct http_server *h;
	uint16_t port;
	struct polset ps;
	struct hostenv env;
	uint32_t hit_meta;	/* the meta of allow-ssh ingress rule 0 */
};

/* Everything fresh: heartbeats now. */
static void
beat(struct fixture *fx)
{
	uint64_t now = mono_ns();

	STAT_SET(fx->ws[0].heartbeat_ns, now);
	STAT_SET(fx->ws[1].heartbeat_ns, now);
	STAT_SET(fx->d.control_heartbeat_ns, now);
	STAT_SET(fx->lg.heartbeat_ns, now);
}

static void
publish_ruleset(struct fixture *fx)
{
	struct hostenv_opts o = { .node = "n1" };
	struct ruleset *rs;
	struct cidr a = mkcidr("10.0.0.11/32");
	char why[128];

	polset_init(&fx->ps);
	assert_int_equal(polset_load_buffer(&fx->ps, "t.yaml", policy_yaml,
					    strlen(policy_yaml)), 0);
	assert_int_equal(fx->ps.nrejected, 0);
	assert_int_equal(hostenv_build(&fx->env, &fx->ps, &o, why, sizeof(why)), 0);
	assert_int_equal(hostenv_add_iface(&fx->env, 1, "eth0", &a, 1), 0);
	rs = compile_ruleset(&fx->env);
	assert_non_null(rs);
	ruleset_set_gen(rs, 9);
	fx->hit_meta = RS_NO_META;
	for (uint32_t i = 0; i < ruleset_nmeta(rs); i++) {
		const struct rs_meta *m = ruleset_meta(rs, i);

		if (m->kind == RS_META_RULE && m->rule == 0 && m->stage == STAGE_NORMAL &&
		    m->dir == DIR_INGRESS && strstr(ruleset_str(rs, m->policy), "allow-ssh"))
			fx->hit_meta = i;
	}
	assert_int_not_equal(fx->hit_meta, RS_NO_META);
	for (int i = 0; i < 3; i++)
		ruleset_hit(rs, fx->hit_meta, 1700000000);
	ruleset_publish(rs);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	int err = -1;

	assert_non_null(fx);
	urcu_memb_register_thread();
	pthread_mutex_init(&fx->d.lock, NULL);
	for (int i = 0; i < 2; i++) {
		fx->ws[i].queue = (uint16_t)(i + 4);
		fx->ws[i].running = 1;
		fx->wsp[i] = &fx->ws[i];
		fx->ringp[i] = &fx->rings[i];
	}
	fx->ws[0].by_stage[STAGE_NORMAL][SV_DROP] = 5;
	fx->ws[1].by_stage[STAGE_NORMAL][SV_DROP] = 2;
	fx->ws[1].by_stage[STAGE_UNTRACKED][SV_WOULD_DROP] = 11;
	fx->ws[0].rejudged = 17;
	fx->ws[1].enobufs = 3;
	fx->ws[0].recv_errors = 1;
	fx->ws[1].recv_errors = 2;
	fx->ws[0].send_errors = 4;
	/* latency: 50 ns, 60 ns, 2 µs, 5 ms */
	fx->ws[0].lat_bucket[0] = 1;
	fx->ws[0].lat_bucket[1] = 1;
	fx->ws[1].lat_bucket[5] = 1;
	fx->ws[1].lat_bucket[STATS_LAT_BUCKETS - 1] = 1;
	fx->ws[0].lat_count = 2;
	fx->ws[1].lat_count = 2;
	fx->ws[0].lat_sum_ns = 110;
	fx->ws[1].lat_sum_ns = 5002000;
	fx->ws[0].log_dropped = 6;
	fx->ws[1].log_dropped = 1;
	fx->rings[0].q.dropped = 6;
	fx->rings[1].q.dropped = 1;
	fx->lg.rings = fx->ringp;
	fx->lg.nrings = 2;
	fx->lg.lines = 1234;
	fx->lg.suppressed = 99;

	fx->d.node = "n1";
	fx->d.source = "policy-dir";
	fx->d.wstats = fx->wsp;
	fx->d.nworkers = 2;
	fx->d.logger = &fx->lg;
	fx->d.gen = 9;
	fx->d.tables_published = 2;
	fx->d.reloads = 3;
	fx->d.reload_failures = 1;
	fx->d.objects_rejected = 1;
	fx->d.last_reload_unix = 1795395723;
	fx->d.last_compile_ns = 1500000;
	fx->d.npolicies = 1;
	fx->d.nentries = 8;
	fx->d.nheps = 1;
	fx->d.table_bytes = 4096;
	snprintf(fx->d.ready_detail, sizeof(fx->d.ready_detail), "waiting for the first sync");
	beat(fx);
	publish_ruleset(fx);

	/* port 0: the kernel picks a free one, so parallel test runs never collide */
	err = http_start(&fx->h, "127.0.0.1", 0, &fx->d);
	assert_int_equal(err, 0);
	fx->port = http_port(fx->h);
	assert_int_not_equal(fx->port, 0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	http_stop(fx->h);
	ruleset_unpublish();
	hostenv_free(&fx->env);
	polset_free(&fx->ps);
	pthread_mutex_destroy(&fx->d.lock);
	urcu_memb_unregister_thread();
	free(fx);
	return 0;
}

/* ---- a tiny HTTP/1.0 client --------------------------------------------------------- */

struct resp {
	int status;
	char *body;		/* malloc'd, NUL-terminated */
	char *headers;
};

static void
resp_free(struct resp *r)
{
	free(r->headers);
}

static struct resp
fetch_raw(uint16_t port, const char *request)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct resp r = { 0, NULL, NULL };
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;
	char *sep;

	assert_non_null(buf);
	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 1024) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	assert_int_equal(n, 0);
	close(fd);
	buf[len] = '\0';
	assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", &r.status), 1);
	sep = strstr(buf, "\r\n\r\n");
	assert_non_null(sep);
	*sep = '\0';
	r.headers = buf;
	r.body = sep + 4;
	return r;
}

static struct resp
fetch(struct fixture *fx, const char *path)
{
	char req[256];

	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
	return fetch_raw(fx->port, req);
}

/* ---- exposition syntax -------------------------------------------------------------- */

static bool
is_name_char(char c, bool first)
{
	return isalpha((unsigned char)c) || c == '_' || c == ':' ||
	       (!first && isdigit((unsigned char)c));
}

/*
 * Check one sample line: name{label="value",...} value, or name value.
 * Returns the length of "name{labels}" (the series key).
 */
static size_t
check_sample(const char *line)
{
	const char *p = line;
	char *end;

	assert_true(is_name_char(*p, true));
	while (is_name_char(*p, false))
		p++;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			assert_true(is_name_char(*p, true));
			while (is_name_char(*p, false))
				p++;
			assert_int_equal(*p++, '=');
			assert_int_equal(*p++, '"');
			while (*p != '"') {
				assert_true(*p != '\0' && *p != '\n');
				if (*p == '\\') {
					p++;
					assert_true(*p == '\\' || *p == '"' || *p == 'n');
				}
				p++;
			}
			p++;
			if (*p == ',')
				p++;
			else
				assert_int_equal(*p, '}');
		}
		p++;
	}
	assert_int_equal(*p, ' ');
	if (strcmp(p + 1, "+Inf") != 0) {
		errno = 0;
		strtod(p + 1, &end);
		assert_int_equal(errno, 0);
		assert_true(end != p + 1 && *end == '\0');
	}
	return (size_t)(p - line);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every line is a comment or a sample; every sample's family was TYPEd; no series twice. */
static void
check_exposition(const char *text)
{
	char **keys = NULL, types[8192] = " ";
	size_t nkeys = 0, tlen = 1;

	assert_true(text[0] != '\0' && text[strlen(text) - 1] == '\n');
	for (const char *next, *p = text; *p; p = next) {
		size_t klen, len = strcspn(p, "\n");
		char line[1024], fam[160], *s;

		next = p + len + (p[len] == '\n');
		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char name[128], type[32];

			assert_int_equal(sscanf(line, "# TYPE %127s %31s", name, type), 2);
			assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
				    strcmp(type, "histogram") == 0);
			tlen += (size_t)snprintf(types + tlen, sizeof(types) - tlen, "%s ", name);
			assert_true(tlen < sizeof(types));
			continue;
		}
		assert_int_not_equal(line[0], '#');
		klen = check_sample(line);
		/* the family: the name, less a histogram suffix unless the name was TYPEd */
		snprintf(fam, sizeof(fam), " %.*s ", (int)strcspn(line, "{ "), line);
		if (strstr(types, fam) == NULL &&
		    ((s = strstr(fam, "_bucket ")) != NULL || (s = strstr(fam, "_sum ")) != NULL ||
		     (s = strstr(fam, "_count ")) != NULL)) {
			s[0] = ' ';
			s[1] = '\0';
		}
		assert_non_null(strstr(types, fam));
		keys = realloc(keys, (nkeys + 1) * sizeof(*keys));
		assert_non_null(keys);
		keys[nkeys++] = strndup(line, klen);
	}
	qsort(keys, nkeys, sizeof(*keys), cmp_str);
	for (size_t i = 1; i < nkeys; i++)
		assert_string_not_equal(keys[i - 1], keys[i]);
	for (size_t i = 0; i < nkeys; i++)
		free(keys[i]);
	free(keys);
}

/* @text must hold the whole line @line. */
static void
assert_has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
		p += n;
	}
	fail_msg("missing line: %s", line);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void
test_metrics(void **state)
{
	struct fixture *fx = *state;
	struct resp r = fetch(fx, "/metrics");
	const struct ruleset *rs;
	char line[512];

	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "text/plain; version=0.0.4"));
	if (getenv("TEST_HTTP_DUMP") != NULL)
		fputs(r.body, stderr);
	check_exposition(r.body);
	assert_has_line(r.body, "# TYPE nfqwall_packets_total counter");
	assert_has_line(r.body,
			"nfqwall_packets_total{queue=\"4\",stage=\"normal\",verdict=\"drop\"} 5");
	assert_has_line(r.body,
			"nfqwall_packets_total{queue=\"5\",stage=\"normal\",verdict=\"drop\"} 2");
	assert_has_line(r.body, "nfqwall_packets_total{queue=\"5\",stage=\"untracked\","
				"verdict=\"would_drop\"} 11");
	assert_has_line(r.body,
			"nfqwall_packets_total{queue=\"4\",stage=\"normal\",verdict=\"accept\"} 0");
	assert_has_line(r.body, "nfqwall_rejudged_total{queue=\"4\"} 17");
	assert_has_line(r.body, "nfqwall_queue_enobufs_total{queue=\"5\"} 3");
	assert_has_line(r.body, "nfqwall_malformed_packets_total{queue=\"4\"} 0");
	assert_has_line(r.body, "nfqwall_recv_errors_total 3");
	assert_has_line(r.body, "nfqwall_verdict_send_errors_total 4");
	assert_has_line(r.body, "# TYPE nfqwall_decision_seconds histogram");
	assert_has_line(r.body, "nfqwall_decision_seconds_bucket{le=\"0.00000005\"} 1");
	assert_has_line(r.body, "nfqwall_decision_seconds_bucket{le=\"0.0000001\"} 2");
	assert_has_line(r.body, "nfqwall_decision_seconds_bucket{le=\"0.000001\"} 2");
	assert_has_line(r.body, "nfqwall_decision_seconds_bucket{le=\"0.000002\"} 3");
	assert_has_line(r.body, "nfqwall_decision_seconds_bucket{le=\"0.001\"} 3");
	assert_has_line(r.body, "nfqwall_decision_seconds_bucket{le=\"+Inf\"} 4");
	assert_has_line(r.body, "nfqwall_decision_seconds_sum 0.00500211");
	assert_has_line(r.body, "nfqwall_decision_seconds_count 4");
	assert_has_line(r.body, "nfqwall_log_lines_total 1234");
	assert_has_line(r.body, "nfqwall_log_suppressed_total 99");
	assert_has_line(r.body, "nfqwall_log_dropped_total 7");
	assert_has_line(r.body, "nfqwall_ruleset_generation 9");
	assert_has_line(r.body, "nfqwall_tables_published_total 2");
	assert_has_line(r.body, "nfqwall_policy_reloads_total 3");
	assert_has_line(r.body, "nfqwall_policy_reload_failures_total 1");
	assert_has_line(r.body, "nfqwall_policy_objects_rejected 1");
	assert_has_line(r.body, "nfqwall_policies 1");
	assert_has_line(r.body, "nfqwall_table_entries 8");
	assert_has_line(r.body, "nfqwall_host_endpoints 1");
	assert_has_line(r.body, "nfqwall_table_bytes 4096");
	assert_has_line(r.body, "nfqwall_last_compile_seconds 0.0015");
	assert_has_line(r.body, "nfqwall_last_reload_timestamp_seconds 1795395723");
	assert_has_line(r.body, "nfqwall_rules_install_failures_total 0");
	assert_has_line(r.body, "nfqwall_api_watch_restarts_total 0");
	assert_has_line(r.body, "nfqwall_api_relists_total 0");
	assert_has_line(r.body, "nfqwall_api_errors_total 0");
	assert_has_line(r.body, "nfqwall_api_last_sync_timestamp_seconds 0");
	assert_has_line(r.body, "nfqwall_ready 0");
	assert_has_line(r.body, "nfqwall_worker_up{queue=\"4\"} 1");
	assert_has_line(r.body, "nfqwall_worker_up{queue=\"5\"} 1");
	assert_has_line(r.body, "# TYPE nfqwall_kernel_queue_dropped_total counter");
	assert_has_line(r.body, "nfqwall_http_connections 1");
	snprintf(line, sizeof(line), "nfqwall_http_max_connections %llu",
		 (unsigned long long)STAT_GET(fx->d.http_max_connections));
	assert_has_line(r.body, line);
	assert_true(STAT_GET(fx->d.http_max_connections) >= 16);
	assert_true(STAT_GET(fx->d.http_max_connections) <= HTTP_MAX_CONNECTIONS);
	assert_has_line(r.body, "nfqwall_http_connections_closed_total{reason=\"deadline\"} 0");
	assert_has_line(r.body, "nfqwall_http_connections_closed_total{reason=\"evicted\"} 0");

	/* the rule hit counter, labelled from the published table */
	urcu_memb_read_lock();
	rs = ruleset_current();
	assert_non_null(rs);
	snprintf(line, sizeof(line), "nfqwall_rule_hits_total{tier=\"%s\",policy=\"%s\",rule=\"0\","
		 "action=\"allow\",stage=\"normal\",direction=\"ingress\"} 3",
		 ruleset_str(rs, ruleset_meta(rs, fx->hit_meta)->tier),
		 ruleset_str(rs, ruleset_meta(rs, fx->hit_meta)->policy));
	urcu_memb_read_unlock();
	assert_has_line(r.body, line);
	assert_non_null(strstr(r.body, "rule=\"end-of-tier\",action=\"end-of-tier-deny\""));
	assert_non_null(strstr(r.body, "rule=\"1\",action=\"deny\""));
	resp_free(&r);
}

/* metrics_render from any registered thread gives the same text. */
static void
test_metrics_render_direct(void **state)
{
	struct fixture *fx = *state;
	char *text = NULL;
	size_t len = metrics_render(&fx->d, &text);

	assert_non_null(text);
	assert_int_equal(len, strlen(text));
	check_exposition(text);
	assert_has_line(text, "nfqwall_ruleset_generation 9");
	free(text);
}

static void
test_livez(void **state)
{
	struct fixture *fx = *state;
	uint64_t stale = mono_ns() - DAEMON_STALL_NS - 1000000000ull;
	struct resp r;
	char *text = NULL;

	beat(fx);
	r = fetch(fx, "/livez");
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok\n");
	resp_free(&r);

	STAT_SET(fx->ws[1].heartbeat_ns, stale);
	r = fetch(fx, "/livez");
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.body, "worker for queue 5 stalled"));
	resp_free(&r);
	assert_true(metrics_render(&fx->d, &text) > 0);
	assert_has_line(text, "nfqwall_worker_up{queue=\"5\"} 0");
	assert_has_line(text, "nfqwall_worker_up{queue=\"4\"} 1");
	free(text);

	/* a worker that has stopped running is not watched */
	STAT_SET(fx->ws[1].running, 0);
	r = fetch(fx, "/livez");
	assert_int_equal(r.status, 200);
	resp_free(&r);
	STAT_SET(fx->ws[1].running, 1);

	beat(fx);
	STAT_SET(fx->d.control_heartbeat_ns, stale);
	r = fetch(fx, "/livez");
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.body, "control loop stalled"));
	resp_free(&r);

	beat(fx);
	STAT_SET(fx->lg.heartbeat_ns, stale);
	r = fetch(fx, "/livez");
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.body, "logger stalled"));
	resp_free(&r);

	beat(fx);
	r = fetch(fx, "/livez");
	assert_int_equal(r.status, 200);
	resp_free(&r);
}

static void
test_readyz(void **state)
{
	struct fixture *fx = *state;
	struct resp r = fetch(fx, "/readyz");
	char *text = NULL;

	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "waiting for the first sync\n");
	resp_free(&r);

	pthread_mutex_lock(&fx->d.lock);
	fx->d.ready_detail[0] = '\0';
	pthread_mutex_unlock(&fx->d.lock);
	r = fetch(fx, "/readyz");
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "not ready\n");
	resp_free(&r);

	STAT_SET(fx->d.ready, 1);
	r = fetch(fx, "/readyz");
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ready\n");
	resp_free(&r);
	/* ready, with what is enforced and what was refused last */
	pthread_mutex_lock(&fx->d.lock);
	snprintf(fx->d.ready_detail, sizeof(fx->d.ready_detail), "enforcing generation 3");
	pthread_mutex_unlock(&fx->d.lock);
	r = fetch(fx, "/readyz");
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ready: enforcing generation 3\n");
	resp_free(&r);
	pthread_mutex_lock(&fx->d.lock);
	fx->d.ready_detail[0] = '\0';
	pthread_mutex_unlock(&fx->d.lock);
	assert_true(metrics_render(&fx->d, &text) > 0);
	assert_has_line(text, "nfqwall_ready 1");
	free(text);
	STAT_SET(fx->d.ready, 0);
}

static void
test_not_found_and_method(void **state)
{
	struct fixture *fx = *state;
	struct resp r = fetch(fx, "/nope");

	assert_int_equal(r.status, 404);
	resp_free(&r);
	r = fetch(fx, "/metrics/extra");
	assert_int_equal(r.status, 404);
	resp_free(&r);
	r = fetch_raw(fx->port, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.headers, "Allow: GET"));
	resp_free(&r);
	r = fetch_raw(fx->port, "DELETE /livez HTTP/1.0\r\n\r\n");
	assert_int_equal(r.status, 405);
	resp_free(&r);
}

static void
test_start_addresses(void **state)
{
	struct fixture *fx = *state;
	struct http_server *h = (struct http_server *)1;

	assert_int_equal(http_start(&h, "localhost", fx->port, &fx->d), -EINVAL);
	assert_null(h);
	assert_int_equal(http_start(&h, "10.0.0.300", fx->port, &fx->d), -EINVAL);
	/* the port is taken by the fixture's server */
	assert_int_equal(http_start(&h, "127.0.0.1", fx->port, &fx->d), -EADDRINUSE);
	assert_null(h);
	/* IPv6 loopback, when the host has it */
	{
		int err = http_start(&h, "::1", 0, &fx->d);

		if (err == 0) {
			assert_int_not_equal(http_port(h), 0);
			http_stop(h);
		}
		assert_int_not_equal(err, -EINVAL);
	}
	http_stop(NULL);
}

int
main(void)
{

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_metrics_render_direct),
		cmocka_unit_test(test_livez),
		cmocka_unit_test(test_readyz),
		cmocka_unit_test(test_not_found_and_method),
		cmocka_unit_test(test_start_addresses),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
