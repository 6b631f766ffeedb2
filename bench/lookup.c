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
 * Single-threaded; DESIGN.md §8 has the targets this is read against.
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
#include "compile.h"
#include "eval.h"
#include "hostenv.h"
#include "ivset.h"
#include "model.h"
#include "ruleset.h"
#include "walk.h"

#define NCOMPILES	5
#define MAX_SIZES	16
#define NODE_V4		"10.0.0.1"
#define NODE_V6		"fd00::1"

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

/* ---- time -------------------------------------------------------------------- */

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- watchdog: a lookup that never returns must not hang the bench ------------ */

static const char *volatile wd_phase = "start";
static const struct pkt_key *volatile wd_key;	/* the packet being judged, if any */

static void key_format(const struct pkt_key *k, char *buf, size_t len);

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

/* ---- a seeded PRNG (splitmix64): the same seed gives the same sets and trace ---- */

struct rng {
	uint64_t s;
};

static uint64_t
rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A number in [0, n). */
static uint32_t
rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

/* A number in [lo, hi]. */
static uint32_t
rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
	return lo + rng_below(r, hi - lo + 1);
}

static bool
rng_pct(struct rng *r, unsigned pct)
{
	return rng_below(r, 100) < pct;
}

/* ---- a growable text buffer ------------------------------------------------------ */

struct sbuf {
	char *p;
	size_t len;
	size_t cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __printf(2, 3);

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			fprintf(stderr, "lookup bench: vsnprintf failed\n");
			exit(2);
		}
		if (b->len + (size_t)n < b->cap)
			break;
		b->cap = (b->cap ? b->cap * 2 : 1 << 16) + (size_t)n;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL) {
			fprintf(stderr, "lookup bench: out of memory\n");
			exit(2);
		}
	}
	b->len += (size_t)n;
}

/* ---- CIDR pool ---------------------------------------------------------------------- */

struct pool {
	struct cidr *v4;
	size_t n4;
	struct cidr *v6;
	size_t n6;
};

static struct addr
addr_mask(struct addr a, uint8_t family, unsigned plen)
{
	unsigned bits = addr_bits(family);
	u128 x = u128_from_addr(&a), m = plen == 0 ? 0 : ~(u128)0 << (bits - plen);

	if (family == AF_INET)
		m &= 0xffffffffu;
	return addr_from_u128(x & m);
}

static struct addr
addr_random(struct rng *r, uint8_t family)
{
	struct addr a;

	if (family == AF_INET) {
		a.hi = 0;
		a.lo = rng_next(r) & 0xffffffffu;
	} else {
		/* half the random IPv6 addresses in fd00::/8, where the pool lives */
		a.hi = rng_next(r);
		a.lo = rng_next(r);
		if (rng_pct(r, 50))
			a.hi = 0xfd00000000000000ull | (a.hi & 0x00ffffffffffffffull);
	}
	return a;
}

/* A random address inside @c. */
static struct addr
addr_in(struct rng *r, const struct cidr *c)
{
	struct addr a = addr_random(r, c->family);
	u128 base = u128_from_addr(&c->addr), host = u128_from_addr(&a);
	unsigned bits = addr_bits(c->family);
	u128 m = c->plen == 0 ? 0 : ~(u128)0 << (bits - c->plen);

	if (c->family == AF_INET)
		m &= 0xffffffffu;	/* host < 2^32 for IPv4, so ~m needs no masking */
	return addr_from_u128(base | (host & ~m));
}

static struct cidr
cidr_random(struct rng *r, uint8_t family)
{
	/* prefix lengths weighted like real allow/deny lists: many /24 and /32 */
	static const uint8_t plen4[] = { 8, 10, 12, 16, 16, 16, 20, 22, 24, 24, 24, 24, 24, 26,
					 27, 28, 29, 30, 32, 32, 32, 32, 32 };
	static const uint8_t plen6[] = { 32, 40, 48, 48, 56, 64, 64, 64, 96, 128, 128 };
	struct cidr c;

	c.family = family;
	c.plen = family == AF_INET ? plen4[rng_below(r, ARRAY_SIZE(plen4))] :
				     plen6[rng_below(r, ARRAY_SIZE(plen6))];
	c.addr = addr_mask(addr_random(r, family), family, c.plen);
	if (family == AF_INET6)	/* keep the pool inside fd00::/8 */
		c.addr.hi = 0xfd00000000000000ull | (c.addr.hi & 0x00ffffffffffffffull);
	return c;
}

static void
pool_build(struct pool *p, struct rng *r, size_t nrules)
{
	size_t n = 40 + nrules / 4;

	p->n6 = n / 10 + 2;
	p->n4 = n;
	p->v4 = malloc(p->n4 * sizeof(*p->v4));
	p->v6 = malloc(p->n6 * sizeof(*p->v6));
	if (p->v4 == NULL || p->v6 == NULL) {
		fprintf(stderr, "lookup bench: out of memory\n");
		exit(2);
	}
	for (size_t i = 0; i < p->n4; i++)
		p->v4[i] = cidr_random(r, AF_INET);
	for (size_t i = 0; i < p->n6; i++)
		p->v6[i] = cidr_random(r, AF_INET6);
}

static void
pool_free(struct pool *p)
{
	free(p->v4);
	free(p->v6);
}

static const struct cidr *
pool_pick(struct rng *r, const struct pool *p, uint8_t family)
{
	return family == AF_INET ? &p->v4[rng_below(r, (uint32_t)p->n4)] :
				   &p->v6[rng_below(r, (uint32_t)p->n6)];
}

static void
sb_cidr(struct sbuf *b, const struct cidr *c)
{
	char buf[CIDR_STRLEN];

	sb_printf(b, "\"%s\"", cidr_format(c, buf));
}

/* A CIDR strictly inside @c (for notNets carved out of nets), or false for a host. */
static bool
cidr_inside(struct rng *r, const struct cidr *c, struct cidr *out)
{
	unsigned bits = addr_bits(c->family);

	if (c->plen >= bits)
		return false;
	out->family = c->family;
	out->plen = (uint8_t)(c->plen + rng_range(r, 1, 8));
	if (out->plen > bits)
		out->plen = (uint8_t)bits;
	out->addr = addr_mask(addr_in(r, c), c->family, out->plen);
	return true;
}

/* ---- policy set generation -------------------------------------------------------- */

static const uint16_t common_ports[] = {
	22, 53, 80, 443, 179, 2379, 3306, 5432, 6379, 6443, 8080, 8443, 9090, 9100, 10250,
	10255, 30080, 51820,
};

struct gen {
	struct rng *r;
	const struct pool *pool;
	size_t nsets;			/* GlobalNetworkSets gns-0.. with labels set=sK, class=... */
};

static const char *const set_classes[] = { "trusted", "blocked", "partner", "monitoring" };

static void
gen_port_item(struct gen *g, struct sbuf *b)
{
	uint32_t k = rng_below(g->r, 100);

	if (k < 60) {
		sb_printf(b, "%u", common_ports[rng_below(g->r, ARRAY_SIZE(common_ports))]);
	} else if (k < 80) {
		sb_printf(b, "%u", rng_range(g->r, 1024, 65535));
	} else {
		uint32_t lo = rng_range(g->r, 1024, 60000);

		sb_printf(b, "\"%u:%u\"", lo, lo + rng_range(g->r, 1, 2000));
	}
}

static void
gen_ports(struct gen *g, struct sbuf *b, const char *key, unsigned max)
{
	unsigned n = rng_range(g->r, 1, max);

	sb_printf(b, "        %s: [", key);
	for (unsigned i = 0; i < n; i++) {
		if (i)
			sb_printf(b, ", ");
		gen_port_item(g, b);
	}
	sb_printf(b, "]\n");
}

static void
gen_nets(struct gen *g, struct sbuf *b, uint8_t family, bool with_not)
{
	unsigned n = rng_range(g->r, 1, 3);
	const struct cidr *first = NULL;
	struct cidr inner;

	sb_printf(b, "        nets: [");
	for (unsigned i = 0; i < n; i++) {
		const struct cidr *c = pool_pick(g->r, g->pool, family);

		if (first == NULL)
			first = c;
		if (i)
			sb_printf(b, ", ");
		sb_cidr(b, c);
	}
	sb_printf(b, "]\n");
	if (with_not && cidr_inside(g->r, first, &inner)) {
		sb_printf(b, "        notNets: [");
		sb_cidr(b, &inner);
		sb_printf(b, "]\n");
	}
}

static void
gen_set_selector(struct gen *g, struct sbuf *b, const char *key)
{
	uint32_t a = rng_below(g->r, (uint32_t)g->nsets), c = rng_below(g->r, 4);

	switch (rng_below(g->r, 4)) {
	case 0:
		sb_printf(b, "        %s: \"set == 's%u'\"\n", key, a);
		break;
	case 1:
		sb_printf(b, "        %s: \"class == '%s'\"\n", key, set_classes[c]);
		break;
	case 2:
		sb_printf(b, "        %s: \"set in {'s%u', 's%u'}\"\n", key, a,
			  rng_below(g->r, (uint32_t)g->nsets));
		break;
	default:
		sb_printf(b, "        %s: \"class == '%s' && set != 's%u'\"\n", key,
			  set_classes[c], a);
		break;
	}
}

/*
 * One rule. The peer side (source for ingress, destination for egress) gets
 * nets/selectors, the local side ports and now and then the node's nets.
 */
static void
gen_rule(struct gen *g, struct sbuf *b, bool ingress)
{
	static const char *const actions[] = { "Allow", "Deny", "Log", "Pass" };
	static const unsigned action_w[] = { 45, 28, 10, 17 };
	uint8_t family = rng_pct(g->r, 88) ? AF_INET : AF_INET6;
	uint32_t k = rng_below(g->r, 100), acc = 0;
	const char *action = actions[0], *proto;
	bool ports, has_peer = false, narrow, lports, lnot;
	const char *peer = ingress ? "source" : "destination";
	const char *local = ingress ? "destination" : "source";

	for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
		acc += action_w[i];
		if (k < acc) {
			action = actions[i];
			break;
		}
	}
	k = rng_below(g->r, 100);
	if (k < 50)
		proto = "TCP";
	else if (k < 75)
		proto = "UDP";
	else if (k < 85)
		proto = family == AF_INET ? "ICMP" : "ICMPv6";
	else
		proto = NULL;
	ports = proto != NULL && proto[0] != 'I';

	sb_printf(b, "    - action: %s\n", action);
	if (proto != NULL)
		sb_printf(b, "      protocol: %s\n", proto);
	if (proto != NULL && !ports) {
		k = rng_below(g->r, 100);
		if (k < 30)
			sb_printf(b, "      icmp: {type: %u}\n", family == AF_INET ? 8 : 128);
		else if (k < 45)
			sb_printf(b, "      icmp: {type: %u, code: %u}\n",
				  family == AF_INET ? 3 : 1, rng_below(g->r, 4));
		else if (k < 55)
			sb_printf(b, "      notICMP: {type: %u}\n", family == AF_INET ? 5 : 137);
	}

	/*
	 * The peer: nets (some with notNets), set selectors, notNets alone. A rule
	 * always narrows by peer or by local port: catch-alls are left to the
	 * tiers' defaultAction, as in hand-written policy.
	 */
	k = rng_below(g->r, 100);
	narrow = k < 75;
	if (!narrow && !ports)
		k = rng_below(g->r, 60);	/* ICMP or any protocol: narrow by nets */
	if (k < 60) {
		sb_printf(b, "      %s:\n", peer);
		gen_nets(g, b, family, rng_pct(g->r, 20));
		if (rng_pct(g->r, 5))
			gen_set_selector(g, b, "notSelector");
		has_peer = true;
	} else if (k < 75) {
		sb_printf(b, "      %s:\n", peer);
		gen_set_selector(g, b, "selector");
		has_peer = true;
	} else if (k < 78) {
		sb_printf(b, "      %s:\n", peer);
		sb_printf(b, "        notNets: [");
		sb_cidr(b, pool_pick(g->r, g->pool, family));
		sb_printf(b, "]\n");
		has_peer = true;
	}
	if (ports && rng_pct(g->r, 5)) {
		if (!has_peer)
			sb_printf(b, "      %s:\n", peer);
		sb_printf(b, "        ports: [%s]\n", rng_pct(g->r, 50) ? "\"1024:65535\"" : "53");
	}

	/* the local side: ports, notPorts, sometimes the node's own nets */
	k = rng_below(g->r, 100);
	lports = ports && (rng_pct(g->r, 75) || !narrow);
	lnot = ports && rng_pct(g->r, 8);
	if (!lports && !lnot && k >= 12)
		return;
	sb_printf(b, "      %s:\n", local);
	if (lports)
		gen_ports(g, b, "ports", 4);
	if (lnot)
		sb_printf(b, "        notPorts: [%s]\n", rng_pct(g->r, 50) ? "22" : "\"6000:6100\"");
	if (k < 9)
		sb_printf(b, "        nets: [\"%s\"]\n", family == AF_INET ? "10.0.0.0/8" :
			  "fd00::/16");
	else if (k < 11)
		sb_printf(b, "        nets: [\"%s\"]\n", family == AF_INET ? NODE_V4 "/32" :
			  NODE_V6 "/128");
	else if (k < 12)
		sb_printf(b, "        nets: [\"%s\"]\n", family == AF_INET ? "192.0.2.0/24" :
			  "2001:db8::/32");
}

/* Tiers t0..t(k-1) (t0's defaultAction is Pass), plus the built-in default tier. */
static unsigned
tiers_for(size_t nrules)
{
	unsigned k = 2;

	for (size_t n = nrules; n >= 100; n /= 10)
		k++;
	return k;
}

static unsigned
rules_per_policy(size_t nrules)
{
	return nrules <= 10 ? 3 : nrules <= 100 ? 5 : nrules <= 1000 ? 10 : 20;
}

struct genstats {
	size_t npolicies;
	size_t napplied;		/* policies whose selector picks the bench HEP */
	size_t ntiers;
	size_t nsets;
};

static char *
gen_policy_set(size_t nrules, uint64_t seed, size_t *len, struct genstats *st)
{
	struct rng r = { seed ^ (0x5bd1e995ull * nrules) };
	struct pool pool;
	struct sbuf b = { NULL, 0, 0 };
	unsigned ntiers = tiers_for(nrules), avg = rules_per_policy(nrules);
	struct gen g = { &r, &pool, 4 + nrules / 100 };
	size_t left = nrules, pi = 0;

	memset(st, 0, sizeof(*st));
	pool_build(&pool, &r, nrules);
	st->ntiers = ntiers;
	st->nsets = g.nsets;

	sb_printf(&b, "# nfqwall lookup bench: %zu rules, seed %llu\n", nrules,
		  (unsigned long long)seed);
	sb_printf(&b, "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n"
		      "  name: bench-hep\n  labels:\n    role: node\n    bench: \"true\"\n"
		      "spec:\n  node: bench\n  interfaceName: \"*\"\n"
		      "  expectedIPs: [\"" NODE_V4 "\", \"" NODE_V6 "\"]\n"
		      "  profiles: [projectcalico-default-allow]\n");
	for (unsigned t = 0; t < ntiers; t++)
		sb_printf(&b, "---\napiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n"
			      "  name: t%u\nspec:\n  order: %u\n  defaultAction: %s\n", t,
			  (t + 1) * 100, t == 0 ? "Pass" : "Deny");
	for (size_t s = 0; s < g.nsets; s++) {
		unsigned n = rng_range(&r, 1, 10);

		sb_printf(&b, "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\n"
			      "metadata:\n  name: gns-%zu\n  labels:\n    set: s%zu\n"
			      "    class: %s\nspec:\n  nets: [", s, s,
			  set_classes[rng_below(&r, ARRAY_SIZE(set_classes))]);
		for (unsigned i = 0; i < n; i++) {
			if (i)
				sb_printf(&b, ", ");
			sb_cidr(&b, pool_pick(&r, &pool, rng_pct(&r, 85) ? AF_INET : AF_INET6));
		}
		sb_printf(&b, "]\n");
	}

	while (left > 0) {
		size_t nr = rng_range(&r, 1, 2 * avg - 1), ne = 0;
		uint32_t k = rng_below(&r, 100);
		/* t0 (Pass) holds 40 % of the policies, the other tiers and default share the rest */
		unsigned tier = k < 40 ? 0 : 1 + rng_below(&r, ntiers);
		const char *sel;

		if (nr > left)
			nr = left;
		left -= nr;
		if (nr > 1 && rng_pct(&r, 15))
			ne = nr / 3;
		k = rng_below(&r, 100);
		sel = k < 75 ? "role == 'node'" : k < 80 ? "all()" : k < 85 ? "has(bench)" :
		      k < 93 ? "role == 'db'" : "has(gpu)";
		st->napplied += k < 85;
		sb_printf(&b, "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
			      "metadata:\n");
		if (tier < ntiers)
			sb_printf(&b, "  name: t%u.p%zu\nspec:\n  tier: t%u\n", tier, pi, tier);
		else
			sb_printf(&b, "  name: p%zu\nspec:\n", pi);
		if (rng_pct(&r, 90))
			sb_printf(&b, "  order: %u.%u\n", rng_range(&r, 1, 1000), rng_below(&r, 10));
		sb_printf(&b, "  selector: \"%s\"\n  types: [Ingress%s]\n", sel,
			  ne ? ", Egress" : "");
		sb_printf(&b, "  ingress:\n");
		for (size_t i = 0; i < nr - ne; i++)
			gen_rule(&g, &b, true);
		if (ne) {
			sb_printf(&b, "  egress:\n");
			for (size_t i = 0; i < ne; i++)
				gen_rule(&g, &b, false);
		}
		pi++;
	}
	st->npolicies = pi;
	pool_free(&pool);
	*len = b.len;
	return b.p;
}

/* ---- packet trace ------------------------------------------------------------------- */

/* The trace draws its inside-the-pool addresses from the same pool as the set. */
static void
gen_trace(struct pkt_key *keys, size_t n, size_t nrules, uint64_t seed)
{
	struct rng pr = { seed ^ (0x5bd1e995ull * nrules) };
	struct rng r = { seed * 31 + nrules + 7 };
	struct pool pool;
	struct addr node4, node6;
	uint8_t fam;

	pool_build(&pool, &pr, nrules);	/* the same pool: pr starts as in gen_policy_set */
	if (addr_parse(NODE_V4, &node4, &fam) < 0 || addr_parse(NODE_V6, &node6, &fam) < 0)
		exit(2);
	for (size_t i = 0; i < n; i++) {
		struct pkt_key *k = &keys[i];
		uint8_t family = rng_pct(&r, 88) ? AF_INET : AF_INET6;
		uint32_t p = rng_below(&r, 100);

		memset(k, 0, sizeof(*k));
		k->family = family;
		k->iif = 1;
		k->ct = CT_NEW;
		k->len = 64;
		k->src = rng_pct(&r, 65) ? addr_in(&r, pool_pick(&r, &pool, family)) :
			 addr_random(&r, family);
		p = rng_below(&r, 100);
		if (p < 85)
			k->dst = family == AF_INET ? node4 : node6;
		else if (p < 95)
			k->dst = addr_in(&r, pool_pick(&r, &pool, family));
		else
			k->dst = addr_random(&r, family);

		p = rng_below(&r, 100);
		if (p < 55)
			k->proto = IPPROTO_TCP;
		else if (p < 83)
			k->proto = IPPROTO_UDP;
		else if (p < 95)
			k->proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
		else
			k->proto = IPPROTO_GRE;
		if (k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP) {
			k->flags = PKT_F_PORTS;
			k->sport = (uint16_t)(rng_pct(&r, 75) ? rng_range(&r, 32768, 60999) :
					      rng_pct(&r, 50) ? 53 : rng_range(&r, 1, 65535));
			p = rng_below(&r, 100);
			if (p < 55)
				k->dport = common_ports[rng_below(&r, ARRAY_SIZE(common_ports))];
			else if (p < 65)
				k->dport = (uint16_t)rng_range(&r, 30000, 32767);
			else
				k->dport = (uint16_t)rng_range(&r, 1, 65535);
		} else if (k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6) {
			static const uint8_t t4[] = { 0, 3, 5, 8, 8, 11 }, t6[] = { 1, 128, 128, 129,
										   135, 137 };

			k->flags = PKT_F_ICMP;
			k->icmp_type = family == AF_INET ? t4[rng_below(&r, ARRAY_SIZE(t4))] :
				       t6[rng_below(&r, ARRAY_SIZE(t6))];
			if (rng_pct(&r, 10))
				k->icmp_type = (uint8_t)rng_below(&r, 256);
			k->icmp_code = (uint8_t)rng_below(&r, 4);
		}
	}
	pool_free(&pool);
}

static void
key_format(const struct pkt_key *k, char *buf, size_t len)
{
	char s[ADDR_STRLEN], d[ADDR_STRLEN];

	addr_format(&k->src, k->family, s);
	addr_format(&k->dst, k->family, d);
	if (k->flags & PKT_F_PORTS)
		snprintf(buf, len, "ipv%d proto %u %s:%u -> %s:%u iif %u ct new",
			 k->family == AF_INET ? 4 : 6, k->proto, s, k->sport, d, k->dport, k->iif);
	else if (k->flags & PKT_F_ICMP)
		snprintf(buf, len, "ipv%d proto %u %s -> %s icmp type %u code %u iif %u ct new",
			 k->family == AF_INET ? 4 : 6, k->proto, s, d, k->icmp_type, k->icmp_code,
			 k->iif);
	else
		snprintf(buf, len, "ipv%d proto %u %s -> %s iif %u ct new",
			 k->family == AF_INET ? 4 : 6, k->proto, s, d, k->iif);
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
	size_t reasons[REASON_INVALID + 1];
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
		t0 = now_ns();
		for (size_t i = 0; i < n; i++) {
			ruleset_lookup(rs, RS_NORMAL_IN, &keys[i], &v);
			sink += v.outcome + v.meta;
		}
		t1 = now_ns();
		per[run] = (t1 - t0) / (double)n;
	}
	res->ns_lookup = median(per, runs);
	res->ns_min = per[0];
	res->ns_max = per[runs - 1];

	/* per-packet latency: each lookup timed alone, minus the timer's own cost */
	for (size_t i = 0; i < n; i++) {
		t0 = now_ns();
		t1 = now_ns();
		lat[i] = t1 - t0;
	}
	ovh = median(lat, n);
	for (size_t i = 0; i < n; i++) {
		t0 = now_ns();
		ruleset_lookup(rs, RS_NORMAL_IN, &keys[i], &v);
		t1 = now_ns();
		lat[i] = t1 - t0 - ovh;
		sink += v.outcome;
	}
	qsort(lat, n, sizeof(*lat), cmp_double);
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
	double total = 0, start = now_ns();
	size_t i;

	for (i = 0; i < n && now_ns() - start < budget_ns; i++) {
		struct eval_input in;
		double t0;
		bool dsame;

		memset(&in, 0, sizeof(in));
		in.k = keys[i];
		in.path = PATH_LOCAL_IN;
		t0 = now_ns();
		eval_packet(env, &in, &er);
		total += now_ns() - t0;
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
	t0 = now_ns();
	yaml = gen_policy_set(nrules, o->seed, &len, &gs);
	res->gen_ms = (now_ns() - t0) / 1e6;
	if (o->dump)
		write_dump(o, nrules, yaml, len);

	wd_arm("load", 60);
	polset_init(&ps);
	t0 = now_ns();
	if (polset_load_buffer(&ps, "bench.yaml", yaml, len) < 0 || ps.diags.nerr > 0 ||
	    ps.nrejected > 0) {
		diag_print(&ps.diags, stderr);
		fprintf(stderr, "lookup bench: the generated %zu-rule set does not load\n", nrules);
		exit(2);
	}
	res->load_ms = (now_ns() - t0) / 1e6;
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
	hostenv_add_iface(&env, 1, "eth0", addrs, 2);

	wd_arm("compile", 60);
	for (int i = 0; i < NCOMPILES; i++) {
		ruleset_free(rs);
		t0 = now_ns();
		rs = compile_ruleset(&env);
		ct[i] = (now_ns() - t0) / 1e6;
	}
	res->compile_ms = median(ct, NCOMPILES);
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
	printf("\nDESIGN.md §8 targets, read at %zu rules:\n", hi->nrules);
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
	double t0 = now_ns();

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
	printf("\ntotal %.1f s; %s\n", (now_ns() - t0) / 1e9,
	       bad ? "FAIL: compiled and reference disagree" : "compiled == reference on every "
							 "checked packet");
	free(keys);
	return bad ? 1 : 0;
}
