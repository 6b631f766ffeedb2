/*
 * fjread.c - the flow journal reader (fjread.h, docs/flow-journal.md). In the
 * top room only to reverse pkt_proto_name, the names the daemon writes.
 *
 * Each line is read into a fixed buffer (a longer line is an error, never a
 * bigger allocation), parsed by jsonv (strict JSON, bounded depth) and
 * checked key by key: "v" must be 1; proto, src, dst and path are required;
 * the ports, ICMP fields, interfaces, count, first and last are optional
 * (null or absent); other keys (node, verdict, policy, ...) are what the
 * daemon decided and are not needed to judge the flow again, so they are
 * ignored, as are keys a later version may add.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "addr.h"
#include "fjread.h"
#include "jsonv.h"
#include "pkt.h"

const char *const fjr_hooks[5] = { "prerouting", "input", "forward", "output", "postrouting" };

const char *
fjr_path_name(unsigned path)
{
	static const char *const names[] = { "local-in", "local-out", "forwarded" };

	return path < 3 ? names[path] : "local-in";
}

void
fjr_init(struct fjr_flows *fl)
{
	memset(fl, 0, sizeof(*fl));
}

void
fjr_free(struct fjr_flows *fl)
{
	free(fl->v);
	free(fl->idx);
	memset(fl, 0, sizeof(*fl));
}

/* ---- one line ------------------------------------------------------------------- */

struct lctx {
	const struct jsonv *j;
	const struct jsonv_node *root;
	char *why;
	size_t whylen;
};

static int
bad(struct lctx *c, const char *key, const char *what)
{
	snprintf(c->why, c->whylen, "\"%s\": %s", key, what);
	return -EINVAL;
}

/* An unsigned integer up to @max, written as digits only. */
static int
get_uint(struct lctx *c, const char *key, uint64_t max, bool *present, uint64_t *out)
{
	const struct jsonv_node *n = jsonv_get(c->j, c->root, key);
	const char *s;
	uint64_t v = 0;

	*present = false;
	if (n == NULL || n->type == JSONV_NULL)
		return 0;
	if (n->type != JSONV_NUMBER)
		return bad(c, key, "not a number");
	s = jsonv_text(c->j, n);
	if (*s == '\0')
		return bad(c, key, "not a number");
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return bad(c, key, "not a whole number of 0 or more");
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return bad(c, key, "out of range");
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*present = true;
	*out = v;
	return 0;
}

/* A string (NULL when null or absent). */
static int
get_str(struct lctx *c, const char *key, const char **out)
{
	const struct jsonv_node *n = jsonv_get(c->j, c->root, key);

	*out = NULL;
	if (n == NULL || n->type == JSONV_NULL)
		return 0;
	if (n->type != JSONV_STRING)
		return bad(c, key, "not a string");
	*out = jsonv_text(c->j, n);
	return 0;
}

/* A name pkt_proto_name gives (what the daemon writes), any case, or a number 0..255. */
static int
parse_proto(const char *s)
{
	unsigned v = 0;

	for (unsigned p = 0; p < 256; p++) {
		const char *name = pkt_proto_name((uint8_t)p);

		if (name != NULL && strcasecmp(s, name) == 0)
			return (int)p;
	}
	if (*s == '\0' || strlen(s) > 3)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	return v <= 255 ? (int)v : -1;
}

static bool
has_ports(int proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_DCCP;
}

static int
get_iface(struct lctx *c, const char *key, char *name, bool *has)
{
	const char *s;
	int err = get_str(c, key, &s);

	*has = false;
	name[0] = '\0';
	if (err < 0 || s == NULL)
		return err;
	if (strlen(s) >= FJR_IFNAMSIZ)
		return bad(c, key, "longer than an interface name");
	memcpy(name, s, strlen(s) + 1);
	*has = true;
	return 0;
}

static int
get_time(struct lctx *c, const char *key, char *out, size_t size)
{
	const char *s;
	int err = get_str(c, key, &s);

	out[0] = '\0';
	if (err < 0 || s == NULL)
		return err;
	if (strlen(s) >= size)
		return bad(c, key, "too long for a time");
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/* The addresses, protocol, ports and ICMP fields. */
static int
parse_packet(struct lctx *c, struct fjr_flow *f)
{
	const char *proto, *src, *dst;
	uint8_t fs, fd;
	uint64_t v;
	bool p;
	int pr;

	if (get_str(c, "proto", &proto) < 0 || get_str(c, "src", &src) < 0 ||
	    get_str(c, "dst", &dst) < 0)
		return -EINVAL;
	if (proto == NULL || src == NULL || dst == NULL)
		return bad(c, proto == NULL ? "proto" : src == NULL ? "src" : "dst", "missing");
	pr = parse_proto(proto);
	if (pr < 0)
		return bad(c, "proto", "not a protocol name or number");
	if (addr_parse(src, &f->src, &fs) < 0)
		return bad(c, "src", "not an IP address");
	if (addr_parse(dst, &f->dst, &fd) < 0)
		return bad(c, "dst", "not an IP address");
	if (fs != fd)
		return bad(c, "dst", "not of the IP version of src");
	f->family = fs;
	f->proto = (uint8_t)pr;
	if (get_uint(c, "dport", 65535, &p, &v) < 0)
		return -EINVAL;
	if (p) {
		if (!has_ports(pr))
			return bad(c, "dport", "given for a protocol without ports");
		f->flags |= PKT_F_PORTS;
		f->dport = (uint16_t)v;
		if (get_uint(c, "sport", 65535, &p, &v) < 0)
			return -EINVAL;
		f->sport = p ? (uint16_t)v : 0;
	}	/* no dport on TCP: a later fragment, judged without ports as the daemon did */
	if (get_uint(c, "icmp_type", 255, &p, &v) < 0)
		return -EINVAL;
	if (p) {
		if (!((pr == IPPROTO_ICMP && fs == AF_INET) || (pr == IPPROTO_ICMPV6 && fs == AF_INET6)))
			return bad(c, "icmp_type", "given for a packet that is not ICMP of its IP version");
		f->flags |= PKT_F_ICMP;
		f->icmp_type = (uint8_t)v;
		if (get_uint(c, "icmp_code", 255, &p, &v) < 0)
			return -EINVAL;
		f->icmp_code = p ? (uint8_t)v : 0;
	}
	return 0;
}

static int
parse_fields(struct lctx *c, struct fjr_flow *f)
{
	const char *path, *hook;
	uint64_t v;
	bool p;

	if (c->root->type != JSONV_OBJECT) {
		snprintf(c->why, c->whylen, "not a JSON object");
		return -EINVAL;
	}
	if (get_uint(c, "v", 1000, &p, &v) < 0)
		return -EINVAL;
	if (!p)
		return bad(c, "v", "missing (not a flow journal line?)");
	if (v != 1)
		return bad(c, "v", "a version this nfqwall does not know (it reads 1)");
	if (parse_packet(c, f) < 0)
		return -EINVAL;
	if (get_str(c, "path", &path) < 0 || get_str(c, "hook", &hook) < 0)
		return -EINVAL;
	if (path == NULL)
		return bad(c, "path", "missing");
	if (strcmp(path, "local-in") == 0)
		f->path = FJR_PATH_LOCAL_IN;
	else if (strcmp(path, "local-out") == 0)
		f->path = FJR_PATH_LOCAL_OUT;
	else if (strcmp(path, "forwarded") == 0)
		f->path = FJR_PATH_FORWARD;
	else
		return bad(c, "path", "not local-in, local-out or forwarded");
	f->hook = f->path == FJR_PATH_LOCAL_IN ? 1 : f->path == FJR_PATH_LOCAL_OUT ? 3 : 2;
	if (hook != NULL) {
		unsigned h = 0;

		while (h < 5 && strcmp(hook, fjr_hooks[h]) != 0)
			h++;
		if (h == 5)
			return bad(c, "hook", "not prerouting, input, forward, output or postrouting");
		f->hook = (uint8_t)h;
	}
	if (get_iface(c, "iface_in", f->iface_in, &f->has_in) < 0 ||
	    get_iface(c, "iface_out", f->iface_out, &f->has_out) < 0 ||
	    get_time(c, "first", f->first, sizeof(f->first)) < 0 ||
	    get_time(c, "last", f->last, sizeof(f->last)) < 0)
		return -EINVAL;
	if (get_uint(c, "count", UINT64_MAX, &p, &v) < 0)
		return -EINVAL;
	f->count = p ? v : 1;
	return 0;
}

int
fjr_parse_line(const char *line, size_t len, struct fjr_flow *out, char *why, size_t whylen)
{
	struct jsonv j = { 0 };
	struct jsonv_error je;
	struct lctx c = { &j, NULL, why, whylen };
	int err;

	memset(out, 0, sizeof(*out));
	err = jsonv_parse(&j, line, len, 4, &je);
	if (err == -ENOMEM) {
		snprintf(why, whylen, "out of memory");
	} else if (err < 0) {
		snprintf(why, whylen, "not JSON: %s at byte %zu", je.msg, je.at + 1);
	} else {
		c.root = jsonv_root(&j);
		err = parse_fields(&c, out);
	}
	jsonv_free(&j);
	return err;
}

/* ---- merging ------------------------------------------------------------------------ */

/* The judging input of @f: everything but sport, count, first and last. */
static bool
same_flow(const struct fjr_flow *a, const struct fjr_flow *b)
{
	return memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
	       memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0 && a->dport == b->dport &&
	       a->family == b->family && a->proto == b->proto && a->flags == b->flags &&
	       a->icmp_type == b->icmp_type && a->icmp_code == b->icmp_code &&
	       a->path == b->path && a->hook == b->hook && a->has_in == b->has_in &&
	       a->has_out == b->has_out && strcmp(a->iface_in, b->iface_in) == 0 &&
	       strcmp(a->iface_out, b->iface_out) == 0;
}

static uint64_t
flow_hash(const struct fjr_flow *f)
{
	const unsigned char *parts[] = {
		(const unsigned char *)&f->src, (const unsigned char *)&f->dst,
		(const unsigned char *)f->iface_in, (const unsigned char *)f->iface_out,
	};
	const size_t lens[] = { sizeof(f->src), sizeof(f->dst), strlen(f->iface_in),
				strlen(f->iface_out) };
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t p = 0; p < 4; p++)
		for (size_t i = 0; i < lens[p]; i++)
			h = (h ^ parts[p][i]) * 0x100000001b3ull;
	h = (h ^ f->dport) * 0x100000001b3ull;
	h = (h ^ ((uint64_t)f->proto << 8 | f->path << 4 | f->hook)) * 0x100000001b3ull;
	return (h ^ f->icmp_type ^ (uint64_t)f->icmp_code << 8) * 0x100000001b3ull;
}

static int
grow(struct fjr_flows *fl)
{
	size_t cap = fl->cap ? fl->cap * 2 : 64, slots = 2 * cap;
	struct fjr_flow *v;
	uint32_t *idx;

	if (fl->cap >= FJR_MAX_FLOWS)
		return -E2BIG;
	v = realloc(fl->v, cap * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	fl->v = v;
	idx = calloc(slots, sizeof(*idx));
	if (idx == NULL)
		return -ENOMEM;
	free(fl->idx);
	fl->idx = idx;
	fl->cap = cap;
	fl->mask = slots - 1;
	for (size_t i = 0; i < fl->n; i++) {
		size_t s = flow_hash(&fl->v[i]) & fl->mask;

		while (fl->idx[s] != 0)
			s = (s + 1) & fl->mask;
		fl->idx[s] = (uint32_t)i + 1;
	}
	return 0;
}

int
fjr_add(struct fjr_flows *fl, const struct fjr_flow *f)
{
	size_t s;
	int err;

	if (fl->n >= fl->cap && (err = grow(fl)) < 0)
		return err;
	/* at most half full: the probe ends at a free slot */
	for (s = flow_hash(f) & fl->mask; fl->idx[s] != 0; s = (s + 1) & fl->mask) {
		struct fjr_flow *g = &fl->v[fl->idx[s] - 1];

		if (!same_flow(g, f))
			continue;
		g->count = g->count > UINT64_MAX - f->count ? UINT64_MAX : g->count + f->count;
		if (f->first[0] && (!g->first[0] || strcmp(f->first, g->first) < 0))
			memcpy(g->first, f->first, sizeof(g->first));
		if (strcmp(f->last, g->last) > 0)
			memcpy(g->last, f->last, sizeof(g->last));
		return 0;
	}
	fl->v[fl->n] = *f;
	fl->idx[s] = (uint32_t)++fl->n;
	return 0;
}

/* ---- a file --------------------------------------------------------------------------- */

int
fjr_read(struct fjr_flows *fl, FILE *f, const char *name, char *why, size_t whylen)
{
	char *buf = malloc(FJR_LINE_MAX);
	char reason[256];
	size_t lineno = 0;
	int err = 0;

	if (buf == NULL)
		return -ENOMEM;
	for (;;) {
		size_t len = 0;
		int ch = EOF;
		struct fjr_flow flow;

		while (len < FJR_LINE_MAX && (ch = getc(f)) != EOF && ch != '\n')
			buf[len++] = (char)ch;
		if (ch == EOF && ferror(f)) {
			snprintf(why, whylen, "%s: %s", name, strerror(errno ? errno : EIO));
			err = -EIO;
			break;
		}
		if (ch == EOF && len == 0)
			break;
		lineno++;
		fl->lines++;
		if (len == FJR_LINE_MAX) {
			snprintf(why, whylen, "%s:%zu: longer than %u bytes", name, lineno,
				 FJR_LINE_MAX - 1);
			err = -EINVAL;
			break;
		}
		if (len == 0 || (len == 1 && buf[0] == '\r'))
			continue;
		err = fjr_parse_line(buf, len, &flow, reason, sizeof(reason));
		if (err == 0)
			err = fjr_add(fl, &flow);
		if (err == -E2BIG)
			snprintf(reason, sizeof(reason), "more than %u distinct flows", FJR_MAX_FLOWS);
		if (err < 0) {
			snprintf(why, whylen, "%s:%zu: %s", name, lineno,
				 err == -ENOMEM ? "out of memory" : reason);
			if (err == -E2BIG)
				err = -EINVAL;
			break;
		}
		if (ch == EOF)
			break;
	}
	free(buf);
	return err;
}
