/*
 * fuzz_fjread.c - libFuzzer target for the flow journal reader
 * (control/fjread.c) and its agreement with the writer (nfq/fjournal.c).
 *
 * The input is read as a journal. When it reads, every flow must be one the
 * reader can hold (a known family, ports only for protocols with ports,
 * ICMP only for ICMP of its family, a known path and hook), and written
 * back as a journal line by fj_format it must read again as the same flow.
 * When it does not read, the reason must name the file and a line. Any
 * difference aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fjournal.h"
#include "fjread.h"

#include "fuzz.h"

static void
check_roundtrip(const struct fjr_flow *f)
{
	struct fj_entry e;
	struct fjr_flow g;
	char line[FJ_LINE_MAX], why[256];
	size_t n;

	if (f->family != AF_INET && f->family != AF_INET6)
		abort();
	if (f->path > FJR_PATH_FORWARD || f->hook > 4)
		abort();
	memset(&e, 0, sizeof(e));
	e.r.src = f->src;
	e.r.dst = f->dst;
	e.r.family = f->family;
	e.r.proto = f->proto;
	e.r.flags = f->flags;
	e.r.sport = f->sport;
	e.r.dport = f->dport;
	e.r.icmp_type = f->icmp_type;
	e.r.icmp_code = f->icmp_code;
	e.r.hook = f->hook;
	e.r.path = f->path;
	e.r.dir = FJ_DIR_NONE;
	e.r.rule_kind = VLOG_RULE_DEFAULT;
	e.count = f->count;
	n = fj_format(&e, "n", f->has_in ? f->iface_in : NULL, f->has_out ? f->iface_out : NULL,
		      false, line, sizeof(line));
	if (n >= sizeof(line) || n == 0 || line[n - 1] != '\n')
		abort();
	if (fjr_parse_line(line, n - 1, &g, why, sizeof(why)) != 0) {
		fprintf(stderr, "written line does not read back: %s\n%s", why, line);
		abort();
	}
	/* an empty interface name is written as null */
	if (memcmp(&g.src, &f->src, sizeof(g.src)) || memcmp(&g.dst, &f->dst, sizeof(g.dst)) ||
	    g.family != f->family || g.proto != f->proto || g.flags != f->flags ||
	    g.dport != f->dport || g.sport != f->sport || g.icmp_type != f->icmp_type ||
	    g.icmp_code != f->icmp_code || g.path != f->path || g.hook != f->hook ||
	    g.count != f->count || strcmp(g.iface_in, f->iface_in) != 0 ||
	    strcmp(g.iface_out, f->iface_out) != 0 || g.has_in != (f->has_in && f->iface_in[0]) ||
	    g.has_out != (f->has_out && f->iface_out[0]))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fjr_flows fl;
	char why[512];
	FILE *f;
	int err;

	if (size == 0)
		return 0;
	f = fmemopen((void *)(uintptr_t)data, size, "r");
	if (f == NULL)
		return 0;
	fjr_init(&fl);
	why[0] = '\0';
	err = fjr_read(&fl, f, "fuzz", why, sizeof(why));
	fclose(f);
	if (err == 0) {
		for (size_t i = 0; i < fl.n; i++)
			check_roundtrip(&fl.v[i]);
	} else if (err == -EINVAL && strncmp(why, "fuzz:", 5) != 0) {
		abort();
	}
	fjr_free(&fl);
	return 0;
}
