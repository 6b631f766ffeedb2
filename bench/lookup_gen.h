/*
 * lookup_gen.h - the lookup bench's inputs, reproducible from a seed: a
 * policy set as YAML text (tiers, ordered policies, Allow/Deny/Log/Pass
 * rules over TCP, UDP and ICMP with port lists, ranges and notPorts, nets
 * and notNets from a pool of mixed-length IPv4 and IPv6 CIDRs,
 * GlobalNetworkSets referenced by rule selectors) and a packet trace drawn
 * from the same CIDR pool. Included by bench/lookup.c only; static inline,
 * as each .c file of bench/ is a program of its own.
 */
#ifndef NFQWALL_LOOKUP_GEN_H
#define NFQWALL_LOOKUP_GEN_H

#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "compiler.h"
#include "pktkey.h"

#define NODE_V4		"10.0.0.1"
#define NODE_V6		"fd00::1"

/* ---- a seeded PRNG (splitmix64): the same seed gives the same sets and trace ---- */

struct rng {
	uint64_t s;
};

static inline uint64_t
rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A number in [0, n). */
static inline uint32_t
rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

/* A number in [lo, hi]. */
static inline uint32_t
rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
	return lo + rng_below(r, hi - lo + 1);
}

static inline bool
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

static inline void __printf(2, 3)
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

static inline struct addr
addr_mask(struct addr a, uint8_t family, unsigned plen)
{
	unsigned bits = addr_bits(family);
	u128 x = u128_from_addr(&a), m = plen == 0 ? 0 : ~(u128)0 << (bits - plen);

	if (family == AF_INET)
		m &= 0xffffffffu;
	return addr_from_u128(x & m);
}

static inline struct addr
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
static inline struct addr
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

static inline struct cidr
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

static inline void
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

static inline void
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

static inline void
sb_cidr(struct sbuf *b, const struct cidr *c)
{
	char buf[CIDR_STRLEN];

	sb_printf(b, "\"%s\"", cidr_format(c, buf));
}

/* A CIDR strictly inside @c (for notNets carved out of nets), or false for a host. */
static inline bool
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

static inline void
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

static inline void
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

static inline void
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

static inline void
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
static inline void
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
static inline unsigned
tiers_for(size_t nrules)
{
	unsigned k = 2;

	for (size_t n = nrules; n >= 100; n /= 10)
		k++;
	return k;
}

static inline unsigned
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

static inline char *
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
static inline void
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

static inline void
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

#endif /* NFQWALL_LOOKUP_GEN_H */
