/*
 * rules.c - `nfqwall rules [--addr HOST:PORT] [--unused DURATION] [--json]`:
 * the running daemon's rules and when each last matched, from GET /rules
 * (control/daemon/metrics.c rules_render), so that dead rules can be
 * removed with evidence. Exit 0: listed (with --unused: none unused); 1:
 * with --unused, some rule did not match within it; 2: usage, or the daemon
 * did not answer.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compiler.h"
#include "jsonv.h"
#include "rules.h"

#define RULES_MAX_BODY	(64u << 20)	/* the answer for 100,000 rules is about 25 MiB */

static const char usage[] =
	"usage: nfqwall rules [--addr HOST:PORT] [--unused DURATION] [--json]\n"
	"\n"
	"The rules of the table the daemon on this node enforces, with their file:line,\n"
	"their hits in this table and when each last matched (since the daemon started:\n"
	"the time carries over from table to table for a rule that stays).\n"
	"  --addr HOST:PORT      the daemon's --http-addr (default 127.0.0.1:9417)\n"
	"  --unused DURATION     only the rules that did not match in the last DURATION\n"
	"                        (seconds, or with s, m, h or d), never-matched included;\n"
	"                        exit 1 when there is any\n"
	"  --json                the daemon's answer as it is\n";

struct body {
	char *p;
	size_t n;
};

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;
	char *grown;

	if (b->n + n > RULES_MAX_BODY)
		return 0;
	grown = realloc(b->p, b->n + n + 1);
	if (grown == NULL)
		return 0;
	b->p = grown;
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

/* "90", "90s", "15m", "12h", "30d": seconds, or 0 when it is none of those. */
static unsigned long long
duration(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || errno != 0 || v == 0 || v > 3650ull * 86400)
		return 0;
	if (*end == 'm')
		v *= 60, end++;
	else if (*end == 'h')
		v *= 3600, end++;
	else if (*end == 'd')
		v *= 86400, end++;
	else if (*end == 's')
		end++;
	return *end == '\0' && v <= 3650ull * 86400 ? v : 0;
}

static const char *
str(const struct jsonv *j, const struct jsonv_node *o, const char *key)
{
	const struct jsonv_node *n = jsonv_get(j, o, key);

	return n != NULL && (n->type == JSONV_STRING || n->type == JSONV_NUMBER) ?
	       jsonv_text(j, n) : "";
}

static void
ago(unsigned long long now, const char *last, char *buf, size_t len)
{
	unsigned long long t = strtoull(last, NULL, 10), d = now > t ? now - t : 0;

	if (*last == '\0')
		snprintf(buf, len, "never");
	else if (d < 120)
		snprintf(buf, len, "%llus ago", d);
	else if (d < 7200)
		snprintf(buf, len, "%llum ago", d / 60);
	else if (d < 172800)
		snprintf(buf, len, "%lluh ago", d / 3600);
	else
		snprintf(buf, len, "%llud ago", d / 86400);
}

/* The answer as a table; returns how many rules it lists. */
static int
print_table(const char *text, size_t len, bool filtered)
{
	struct jsonv j = { 0 };
	struct jsonv_error e;
	const struct jsonv_node *root, *rules, *r;
	unsigned long long now, started;
	char when[32];
	time_t st;
	int n = 0;

	if (jsonv_parse(&j, text, len, 8, &e) != 0 || jsonv_root(&j)->type != JSONV_OBJECT ||
	    (rules = jsonv_get(&j, jsonv_root(&j), "rules")) == NULL ||
	    rules->type != JSONV_ARRAY) {
		fprintf(stderr, "nfqwall rules: the daemon's answer is not what it should be\n");
		jsonv_free(&j);
		return -1;
	}
	root = jsonv_root(&j);
	now = strtoull(str(&j, root, "now"), NULL, 10);
	started = strtoull(str(&j, root, "started"), NULL, 10);
	st = (time_t)started;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&st));
	printf("generation %s; the daemon started %s%s\n", str(&j, root, "generation"), when,
	       filtered ? "; rules that did not match within the horizon:" : "");
	r = rules + 1;
	for (uint32_t i = 0; i < rules->n; i++, r = jsonv_next(r)) {
		const char *file = str(&j, r, "file");
		char last[32];

		ago(now, str(&j, r, "last_hit"), last, sizeof(last));
		printf("%-10s %s/%s %s %s rule %s (%s) %s%s%s hits=%s\n", last, str(&j, r, "tier"),
		       str(&j, r, "policy"), str(&j, r, "direction"), str(&j, r, "stage"),
		       str(&j, r, "rule"), str(&j, r, "action"), file, *file ? ":" : "",
		       *file ? str(&j, r, "line") : "", str(&j, r, "hits"));
		n++;
	}
	jsonv_free(&j);
	return n;
}

int
rules_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "addr", required_argument, NULL, 'a' }, { "unused", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *addr = "127.0.0.1:9417";
	unsigned long long unused = 0;
	struct body b = { NULL, 0 };
	bool json = false;
	char url[600];
	long status = 0;
	CURLcode ce;
	CURL *h;
	int c, n;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'u':
			unused = duration(optarg);
			if (unused == 0) {
				fprintf(stderr, "nfqwall rules: --unused '%s': want 90, 90s, 15m, 12h "
					"or 30d\n", optarg);
				return 2;
			}
			break;
		case 'j': json = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc || strlen(addr) > 300 || strpbrk(addr, "/?#@ ") != NULL) {
		fputs(usage, stderr);
		return 2;
	}
	if (unused)
		snprintf(url, sizeof(url), "http://%s/rules?unused=%llu", addr, unused);
	else
		snprintf(url, sizeof(url), "http://%s/rules", addr);
	h = curl_easy_init();
	if (h == NULL) {
		fprintf(stderr, "nfqwall rules: out of memory\n");
		return 2;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	ce = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	if (ce != CURLE_OK || status != 200 || b.p == NULL) {
		fprintf(stderr, "nfqwall rules: %s: %s\n", url,
			ce != CURLE_OK ? curl_easy_strerror(ce) : "the daemon did not answer 200");
		free(b.p);
		return 2;
	}
	if (json) {
		fwrite(b.p, 1, b.n, stdout);
		n = strstr(b.p, "\"rules\":[]") == NULL;
	} else {
		n = print_table(b.p, b.n, unused != 0);
	}
	free(b.p);
	if (n < 0)
		return 2;
	return unused != 0 && n > 0 ? 1 : 0;
}
