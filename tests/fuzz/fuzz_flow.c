/*
 * fuzz_flow.c - libFuzzer target for control/compile/flow.c, the packet
 * `nfqwall explain` takes in one argument.
 *
 * Parses the input as text; when it parses, the fields must keep the
 * protocol's rules (a port protocol has its destination port, ICMP has
 * none), and the flow written back in canonical form must parse to the
 * same fields. Any difference aborts.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "flow.h"

#include "fuzz.h"

/* "[addr]:port", "addr:port" or "addr" into @buf. */
static void
fuzz_end(const struct flow *f, const struct addr *a, bool has_port, uint16_t port, char *buf,
	 size_t size)
{
	char s[ADDR_STRLEN];

	addr_format(a, f->family, s);
	if (!has_port)
		snprintf(buf, size, "%s", s);
	else if (f->family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", s, port);
	else
		snprintf(buf, size, "%s:%u", s, port);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[1024], again[300], src[80], dst[80], why[200];
	struct flow f, g;

	if (size >= sizeof(text))
		size = sizeof(text) - 1;
	memcpy(text, data, size);
	text[size] = '\0';
	if (flow_parse(text, &f, why, sizeof(why)) != 0) {
		if (memchr(why, '\0', sizeof(why)) == NULL || why[0] == '\0')
			abort();	/* a refusal always says why */
		return 0;
	}
	if (flow_has_ports(f.proto) && !f.has_dport)
		abort();
	if (!flow_has_ports(f.proto) && (f.has_sport || f.has_dport))
		abort();
	fuzz_end(&f, &f.src, f.has_sport, f.sport, src, sizeof(src));
	fuzz_end(&f, &f.dst, f.has_dport, f.dport, dst, sizeof(dst));
	if (f.has_icmp_code)
		snprintf(again, sizeof(again), "%u %s -> %s type %u code %u", f.proto, src, dst,
			 f.icmp_type, f.icmp_code);
	else if (f.has_icmp_type)
		snprintf(again, sizeof(again), "%u %s -> %s type %u", f.proto, src, dst,
			 f.icmp_type);
	else
		snprintf(again, sizeof(again), "%u %s -> %s", f.proto, src, dst);
	if (flow_parse(again, &g, why, sizeof(why)) != 0 || memcmp(&f, &g, sizeof(f)) != 0)
		abort();
	return 0;
}
