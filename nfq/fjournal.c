/*
 * fjournal.c - the flow journal's records, rings, table of distinct flows
 * and line format (fjournal.h; the thread and the file are fjournal_run.c).
 *
 * The ring is vlog.c's: a power-of-two array with free-running 32-bit head
 * (the worker) and tail (the journal thread) indices, the element copy
 * ordered by a release store of the index and an acquire load on the other
 * side. fj_note runs in a worker per judged packet; the table and the
 * format run in the journal thread (and fj_format in /flows).
 *
 * The line of a flow (docs/flow-journal.md), keys always in this order:
 *
 *   v node proto src sport dst dport icmp_type icmp_code hook path direction
 *   iface_in iface_out verdict stage tier policy rule count first last
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "addr.h"
#include "fjournal.h"
#include "json.h"
#include "pkt.h"
#include "verdict.h"

/* ---- the ring (worker -> journal thread) ------------------------------------------ */

int
fj_ring_init(struct fj_ring *r, unsigned order)
{
	return spsc_init(&r->q, order, 20, sizeof(struct fj_rec));
}

void
fj_ring_free(struct fj_ring *r)
{
	spsc_free(&r->q);
}

bool
fj_push(struct fj_ring *r, const struct fj_rec *rec)
{
	return spsc_push(&r->q, rec);
}

bool
fj_pop(struct fj_ring *r, struct fj_rec *out)
{
	return spsc_pop(&r->q, out);
}

/* ---- the worker's note ------------------------------------------------------------ */

/* @src into the @size bytes at @dst, cut between characters with an ellipsis. */
static void
name_copy(char *dst, size_t size, const char *src)
{
	static const char ellipsis[] = "\xe2\x80\xa6";	/* U+2026 */
	size_t len = src != NULL ? strlen(src) : 0, keep;

	if (len < size) {
		memcpy(dst, src != NULL ? src : "", len + 1);
		return;
	}
	keep = json_utf8_cut(src, len, size - sizeof(ellipsis));
	memcpy(dst, src, keep);
	memcpy(dst + keep, ellipsis, sizeof(ellipsis));
}

/* The flow's path: from the hook, or, for a reply judged again, the reverse one. */
static uint8_t
note_path(unsigned hook, bool reply)
{
	switch (hook) {
	case JHOOK_LOCAL_IN:
		return reply ? FJ_PATH_LOCAL_OUT : FJ_PATH_LOCAL_IN;
	case JHOOK_LOCAL_OUT:
		return reply ? FJ_PATH_LOCAL_IN : FJ_PATH_LOCAL_OUT;
	case JHOOK_FORWARD:
		return FJ_PATH_FORWARD;
	default:		/* prerouting: the flow is judged as one to this host */
		return FJ_PATH_LOCAL_IN;
	}
}

static uint8_t
note_rule_kind(const struct rs_meta *m, uint8_t reason)
{
	if (m == NULL)
		return reason == REASON_UNREADABLE ? VLOG_RULE_UNREADABLE : VLOG_RULE_DEFAULT;
	return m->kind == RS_META_RULE ? VLOG_RULE_INDEX :
	       m->kind == RS_META_EOT ? VLOG_RULE_EOT :
	       m->kind == RS_META_PROFILE ? VLOG_RULE_PROFILE :
	       m->kind == RS_META_FAILSAFE ? VLOG_RULE_FAILSAFE :
	       m->kind == RS_META_SELF ? VLOG_RULE_SELF : VLOG_RULE_DEFAULT;
}

void
fj_note(struct fj_ring *r, const struct ruleset *rs, const struct pkt_key *k, unsigned hook,
	bool raw, bool reply, const struct judge_result *jr, uint64_t ts_us)
{
	const struct rs_meta *m;
	struct fj_rec rec;

	if (jr->stage == STAGE_NONE)
		return;		/* no lookup ran (preDNAT allowed it, or a reply at prerouting) */
	if (jr->rv.outcome == RS_CONTINUE && (raw || hook == JHOOK_PRE_ROUTING))
		return;		/* the filter hooks decide it, and note it then */
	m = jr->rv.meta != RS_NO_META ? ruleset_meta(rs, jr->rv.meta) : NULL;
	memset(&rec, 0, offsetof(struct fj_rec, tier));
	rec.ts_us = ts_us;
	rec.src = k->src;
	rec.dst = k->dst;
	rec.iif = k->iif;
	rec.oif = k->oif;
	rec.family = k->family;
	rec.proto = k->proto;
	rec.flags = k->flags & (PKT_F_PORTS | PKT_F_ICMP);
	if (rec.flags & PKT_F_PORTS) {
		rec.sport = k->sport;
		rec.dport = k->dport;
	}
	if (rec.flags & PKT_F_ICMP) {
		rec.icmp_type = k->icmp_type;
		rec.icmp_code = k->icmp_code;
	}
	rec.hook = (uint8_t)hook;
	rec.path = note_path(hook, reply);
	rec.deny = jr->verdict == JV_DROP || jr->would_deny;
	rec.stage = m ? m->stage : jr->stage;
	rec.dir = m ? m->dir : FJ_DIR_NONE;
	rec.rule = m ? m->rule : -1;
	rec.rule_kind = note_rule_kind(m, jr->rv.reason);
	if (m != NULL) {
		name_copy(rec.tier, sizeof(rec.tier), ruleset_str(rs, m->tier));
		name_copy(rec.policy, sizeof(rec.policy), ruleset_str(rs, m->policy));
	} else {
		rec.tier[0] = rec.policy[0] = '\0';
	}
	fj_push(r, &rec);
}

/* ---- the table of distinct flows (journal thread) ------------------------------------ */

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The key: everything but ts_us and sport (sport and pad are zeroed first). */
static uint64_t
key_hash(const struct fj_rec *r)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = fnv(h, &r->src, offsetof(struct fj_rec, sport) - offsetof(struct fj_rec, src));
	h = fnv(h, &r->dport, offsetof(struct fj_rec, pad) - offsetof(struct fj_rec, dport));
	h = fnv(h, r->tier, strnlen(r->tier, sizeof(r->tier)));
	h = fnv(h, "", 1);
	h = fnv(h, r->policy, strnlen(r->policy, sizeof(r->policy)));
	return h ? h : 1;
}

static bool
key_eq(const struct fj_rec *a, const struct fj_rec *b)
{
	return memcmp(&a->src, &b->src,
		      offsetof(struct fj_rec, sport) - offsetof(struct fj_rec, src)) == 0 &&
	       memcmp(&a->dport, &b->dport,
		      offsetof(struct fj_rec, pad) - offsetof(struct fj_rec, dport)) == 0 &&
	       strncmp(a->tier, b->tier, sizeof(a->tier)) == 0 &&
	       strncmp(a->policy, b->policy, sizeof(a->policy)) == 0;
}

int
fj_table_init(struct fj_table *t, uint32_t max)
{
	uint32_t slots = 16;

	memset(t, 0, sizeof(*t));
	if (max == 0 || max > (1u << 24))
		return -EINVAL;
	while (slots < 2 * max)
		slots <<= 1;
	t->e = calloc(max, sizeof(*t->e));
	t->idx = calloc(slots, sizeof(*t->idx));
	if (t->e == NULL || t->idx == NULL) {
		fj_table_free(t);
		return -ENOMEM;
	}
	t->max = max;
	t->mask = slots - 1;
	return 0;
}

void
fj_table_free(struct fj_table *t)
{
	free(t->e);
	free(t->idx);
	t->e = NULL;
	t->idx = NULL;
	t->n = t->max = 0;
}

/* The slot of @hash's flow equal to @rec, or of the free slot where it goes. The
 * index is at most half full, so a free slot is always found. */
static uint32_t
slot_of(const struct fj_table *t, uint64_t hash, const struct fj_rec *rec)
{
	uint32_t s = (uint32_t)hash & t->mask;

	for (uint32_t i = 0; i <= t->mask; i++, s = (s + 1) & t->mask) {
		const struct fj_entry *e;

		if (t->idx[s] == 0)
			return s;
		e = &t->e[t->idx[s] - 1];
		if (e->hash == hash && key_eq(&e->r, rec))
			return s;
	}
	return s;	/* not reached: n <= max <= (mask + 1) / 2 */
}

int
fj_table_add(struct fj_table *t, const struct fj_rec *rec)
{
	struct fj_rec k = *rec;
	struct fj_entry *e;
	uint64_t hash;
	uint32_t s;

	memset(k.pad, 0, sizeof(k.pad));
	hash = key_hash(&k);
	s = slot_of(t, hash, &k);
	if (t->idx[s] != 0) {
		e = &t->e[t->idx[s] - 1];
		e->count++;
		if (e->pending++ == 0)
			e->pfirst_us = rec->ts_us;
		if (rec->ts_us > e->last_us)
			e->last_us = rec->ts_us;
		return 0;
	}
	if (t->n >= t->max) {
		t->dropped++;
		return -ENOSPC;
	}
	e = &t->e[t->n];
	memset(e, 0, sizeof(*e));
	e->r = k;
	e->hash = hash;
	e->count = e->pending = 1;
	e->first_us = e->last_us = e->pfirst_us = rec->ts_us;
	t->idx[s] = ++t->n;
	return 0;
}

uint32_t
fj_table_prune(struct fj_table *t)
{
	uint32_t kept = 0, gone;

	for (uint32_t i = 0; i < t->n; i++)
		if (t->e[i].pending != 0)
			t->e[kept++] = t->e[i];
	gone = t->n - kept;
	t->n = kept;
	memset(t->idx, 0, ((size_t)t->mask + 1) * sizeof(*t->idx));
	for (uint32_t i = 0; i < t->n; i++)
		t->idx[slot_of(t, t->e[i].hash, &t->e[i].r)] = i + 1;
	return gone;
}

/* ---- the line ------------------------------------------------------------------------- */

const char *
fj_path_name(unsigned path)
{
	static const char *const names[] = {
		[FJ_PATH_LOCAL_IN] = "local-in", [FJ_PATH_LOCAL_OUT] = "local-out",
		[FJ_PATH_FORWARD] = "forwarded",
	};

	return path < ARRAY_SIZE(names) ? names[path] : "local-in";
}

const char *
fj_hook_name(unsigned hook)
{
	static const char *const names[] = {
		[JHOOK_PRE_ROUTING] = "prerouting", [JHOOK_LOCAL_IN] = "input",
		[JHOOK_FORWARD] = "forward", [JHOOK_LOCAL_OUT] = "output",
		[JHOOK_POST_ROUTING] = "postrouting",
	};

	return hook < ARRAY_SIZE(names) ? names[hook] : "input";
}

/* An snprintf-style cursor: counts every byte, writes what fits. */
struct out {
	char *buf;
	size_t size;
	size_t n;
};

static void __printf(2, 3)
out_printf(struct out *o, const char *fmt, ...)
{
	size_t room = o->n < o->size ? o->size - o->n : 0;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(room ? o->buf + o->n : NULL, room, fmt, ap);
	va_end(ap);
	if (r > 0)
		o->n += (size_t)r;
}

/* ,"key": then a JSON string (of at most @max bytes of @s), or null when empty/NULL */
static void
out_kstr(struct out *o, const char *key, const char *s, size_t max)
{
	size_t len = s != NULL ? strnlen(s, max) : 0, room;

	out_printf(o, ",\"%s\":", key);
	if (len == 0) {
		out_printf(o, "null");
		return;
	}
	room = o->n < o->size ? o->size - o->n : 0;
	o->n += json_escape_mem(room ? o->buf + o->n : NULL, room, s, len);
}

static void
out_time(struct out *o, const char *key, uint64_t ts_us)
{
	time_t sec = (time_t)(ts_us / 1000000u);
	struct tm tm;
	char date[32];

	if (gmtime_r(&sec, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(date, sizeof(date), "1970-01-01T00:00:00");
	out_printf(o, ",\"%s\":\"%s.%06uZ\"", key, date, (unsigned)(ts_us % 1000000u));
}

size_t
fj_format(const struct fj_entry *e, const char *node, const char *iname_in,
	  const char *iname_out, bool pending, char *buf, size_t size)
{
	static const char *const kinds[] = {
		[VLOG_RULE_EOT] = "end-of-tier", [VLOG_RULE_PROFILE] = "profile",
		[VLOG_RULE_FAILSAFE] = "failsafe", [VLOG_RULE_SELF] = "self",
		[VLOG_RULE_DEFAULT] = "default", [VLOG_RULE_UNREADABLE] = "l4-unreadable",
	};
	const struct fj_rec *r = &e->r;
	struct out o = { buf, size, 0 };
	const char *pname = pkt_proto_name(r->proto);
	bool ip = r->family == AF_INET || r->family == AF_INET6;
	char a[ADDR_STRLEN];

	out_printf(&o, "{\"v\":%d", FJ_VERSION);
	out_kstr(&o, "node", node, 256);
	if (pname != NULL)
		out_printf(&o, ",\"proto\":\"%s\"", pname);
	else
		out_printf(&o, ",\"proto\":\"%u\"", r->proto);
	out_kstr(&o, "src", ip ? addr_format(&r->src, r->family, a) : NULL, ADDR_STRLEN);
	if (r->flags & PKT_F_PORTS)
		out_printf(&o, ",\"sport\":%u", r->sport);
	else
		out_printf(&o, ",\"sport\":null");
	out_kstr(&o, "dst", ip ? addr_format(&r->dst, r->family, a) : NULL, ADDR_STRLEN);
	if (r->flags & PKT_F_PORTS)
		out_printf(&o, ",\"dport\":%u", r->dport);
	else
		out_printf(&o, ",\"dport\":null");
	if (r->flags & PKT_F_ICMP)
		out_printf(&o, ",\"icmp_type\":%u,\"icmp_code\":%u", r->icmp_type, r->icmp_code);
	else
		out_printf(&o, ",\"icmp_type\":null,\"icmp_code\":null");
	out_printf(&o, ",\"hook\":\"%s\",\"path\":\"%s\"", fj_hook_name(r->hook),
		   fj_path_name(r->path));
	out_kstr(&o, "direction", r->dir == FJ_DIR_NONE ? NULL : dir_name((enum dir)r->dir), 16);
	out_kstr(&o, "iface_in", iname_in, 64);
	out_kstr(&o, "iface_out", iname_out, 64);
	out_printf(&o, ",\"verdict\":\"%s\"", r->deny ? "deny" : "allow");
	out_kstr(&o, "stage", stage_name((enum stage)r->stage), 32);
	out_kstr(&o, "tier", r->tier, sizeof(r->tier));
	out_kstr(&o, "policy", r->policy, sizeof(r->policy));
	if (r->rule_kind == VLOG_RULE_INDEX)
		out_printf(&o, ",\"rule\":%d", r->rule);
	else
		out_kstr(&o, "rule", r->rule_kind < ARRAY_SIZE(kinds) ? kinds[r->rule_kind] : NULL,
			 32);
	out_printf(&o, ",\"count\":%llu",
		   (unsigned long long)(pending ? e->pending : e->count));
	out_time(&o, "first", pending ? e->pfirst_us : e->first_us);
	out_time(&o, "last", e->last_us);
	out_printf(&o, "}\n");
	return o.n;
}
