/*
 * vlog.c - the verdict log (docs/operations.md): per-worker rings and the logger
 * thread that turns their records into JSON lines.
 *
 * Threads: vlog_push runs in a worker (the ring's only producer) and never
 * blocks or allocates; vlog_pop, the rate limiter and the writer run in the
 * logger thread (the rings' only consumer), which vlog_logger_start creates
 * and vlog_logger_stop joins; vlog_format is pure and runs in any thread.
 * Nothing here is read under RCU: a record carries copies of the names it
 * prints, so the table it came from may be gone by the time it is written.
 *
 * The ring is a power-of-two array with free-running 32-bit head (written by
 * the worker) and tail (written by the logger) indices; the element copy is
 * ordered by a release store of the index and an acquire load on the other
 * side. A full ring drops the record and counts it (relaxed).
 *
 * Every line has the same keys in the same order:
 *
 *   ts node action stage direction iface_in iface_out proto src sport dst
 *   dport icmp_type icmp_code len tier policy rule gen queue [suppressed]
 *
 * "proto" is always a JSON string: the lowercase protocol name when
 * pkt_proto_name knows it ("tcp", "icmpv6"), else the decimal number as a
 * string ("253"), so the key never changes JSON type between lines (log
 * pipelines map a key to one type). Absent values are null: ports without
 * PKT_F_PORTS, ICMP type/code without PKT_F_ICMP, interfaces with index 0
 * or no name, an empty tier or policy, addresses of an unknown family.
 * "rule" is the rule index as a number for VLOG_RULE_INDEX, else one of
 * "end-of-tier", "profile", "failsafe", "default", "l4-unreadable" (a packet
 * whose L4 header could not be read: dropped before any table). "suppressed" appears only
 * when it is > 0. Strings (node, interface, tier and policy names) go
 * through json.h: control characters escaped, invalid UTF-8 as \ufffd, so
 * every line is valid JSON in valid UTF-8 whatever bytes a name holds. A
 * record keeps names of up to VLOG_NAME_SIZE - 1 bytes (253-byte Kubernetes
 * names whole; vlog_rec_names cuts longer ones between characters).
 *
 * Rate limiting: a token bucket per key (action, tier, policy, rule kind,
 * rule) with cfg.rate tokens a second up to cfg.burst (rate 0: unlimited),
 * in a fixed table of VLOG_SLOTS buckets allocated at start (a key probes
 * VLOG_PROBE slots; when all are taken the least recently used one is
 * evicted). A record that finds no token is held as the key's pending
 * record; a later one replaces it and the replaced one is counted as
 * suppressed. The next line written for the key carries "suppressed": the
 * records folded since its previous line. Either a new record finds a token
 * (the pending one is folded too and the new one is written) or, on a pass
 * of the logger once the bucket has refilled, the pending record itself is
 * written as a summary line. Stop and eviction write pending records
 * regardless of tokens. So every record popped is exactly one line or one
 * suppressed count: lines + suppressed == records popped after stop, and the
 * sum over lines of (1 + "suppressed") is the same number.
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "addr.h"
#include "json.h"
#include "pkt.h"
#include "verdict.h"
#include "vlog.h"

#define VLOG_SLOTS	4096u			/* rate-limiter buckets (power of two) */
#define VLOG_PROBE	8u			/* slots a key may occupy */
#define VLOG_PERIOD_NS	(20ull * 1000000ull)	/* logger pass interval */
#define IFC_SLOTS	64u			/* interface-name cache (direct mapped) */
#define IFC_TTL_NS	(10ull * 1000000000ull)	/* re-resolve names this often */
#define LINE_INIT	8192u		/* fits a line whose names are all \ufffd */

/* ---- records and the ring (worker -> logger) ----------------------------------- */

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

void
vlog_rec_names(struct vlog_rec *r, const char *tier, const char *policy)
{
	name_copy(r->tier, sizeof(r->tier), tier);
	name_copy(r->policy, sizeof(r->policy), policy);
}

int
vlog_ring_init(struct vlog_ring *r, unsigned order)
{
	return spsc_init(&r->q, order, 24, sizeof(struct vlog_rec));
}

void
vlog_ring_free(struct vlog_ring *r)
{
	spsc_free(&r->q);
}

bool
vlog_push(struct vlog_ring *r, const struct vlog_rec *rec)
{
	return spsc_push(&r->q, rec);
}

bool
vlog_pop(struct vlog_ring *r, struct vlog_rec *out)
{
	return spsc_pop(&r->q, out);
}

/* ---- formatting -------------------------------------------------------------------- */

/* An snprintf-style cursor: counts every byte, writes what fits. */
struct out {
	char *buf;
	size_t size;
	size_t n;
};

static char *
out_at(const struct out *o, size_t *room)
{
	if (o->n >= o->size) {
		*room = 0;
		return NULL;
	}
	*room = o->size - o->n;
	return o->buf + o->n;
}

static void __printf(2, 3)
out_printf(struct out *o, const char *fmt, ...)
{
	size_t room;
	char *p = out_at(o, &room);
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(p, room, fmt, ap);
	va_end(ap);
	if (r > 0)
		o->n += (size_t)r;
}

/* A JSON string, or null for NULL. */
static void
out_str(struct out *o, const char *s)
{
	size_t room;
	char *p;

	if (s == NULL) {
		out_printf(o, "null");
		return;
	}
	p = out_at(o, &room);
	o->n += json_escape(p, room, s);
}

/* ,"key": then a JSON string or null */
static void
out_kstr(struct out *o, const char *key, const char *s)
{
	out_printf(o, ",\"%s\":", key);
	out_str(o, s);
}

/* ,"key": then a record's fixed-size name field (NUL-terminated or full), null when empty */
static void
out_kname(struct out *o, const char *key, const char *field, size_t size)
{
	size_t len = strnlen(field, size), room;
	char *p;

	out_printf(o, ",\"%s\":", key);
	if (len == 0) {
		out_printf(o, "null");
		return;
	}
	p = out_at(o, &room);
	o->n += json_escape_mem(p, room, field, len);
}

static const char *
action_str(uint8_t a)
{
	static const char *const names[] = {
		[VLOG_ALLOW] = "allow", [VLOG_DENY] = "deny", [VLOG_LOG] = "log",
		[VLOG_WOULD_DENY] = "would-deny", [VLOG_STAGED_ALLOW] = "staged-allow",
		[VLOG_STAGED_DENY] = "staged-deny",
	};

	return a < ARRAY_SIZE(names) ? names[a] : "unknown";
}

static void
out_ts(struct out *o, uint64_t ts_us)
{
	time_t sec = (time_t)(ts_us / 1000000u);
	struct tm tm;
	char date[32];

	if (gmtime_r(&sec, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(date, sizeof(date), "1970-01-01T00:00:00");
	out_printf(o, "{\"ts\":\"%s.%06uZ\"", date, (unsigned)(ts_us % 1000000u));
}

/* The line for @rec with interface names already resolved (NULL = null). */
static size_t
format_line(const struct vlog_rec *rec, const char *node, const char *iname_in,
	    const char *iname_out, uint64_t suppressed, char *buf, size_t size)
{
	static const char *const kinds[] = {
		[VLOG_RULE_EOT] = "end-of-tier", [VLOG_RULE_PROFILE] = "profile",
		[VLOG_RULE_FAILSAFE] = "failsafe", [VLOG_RULE_SELF] = "self",
		[VLOG_RULE_DEFAULT] = "default",
		[VLOG_RULE_UNREADABLE] = "l4-unreadable",
	};
	struct out o = { buf, size, 0 };
	char a[ADDR_STRLEN];
	const char *pname = pkt_proto_name(rec->proto);
	bool ip = rec->family == AF_INET || rec->family == AF_INET6;

	out_ts(&o, rec->ts_us);
	out_kstr(&o, "node", node);
	out_kstr(&o, "action", action_str(rec->action));
	out_kstr(&o, "stage", stage_name((enum stage)rec->stage));
	out_kstr(&o, "direction", dir_name((enum dir)rec->dir));
	out_kstr(&o, "iface_in", iname_in);
	out_kstr(&o, "iface_out", iname_out);
	if (pname != NULL)
		out_kstr(&o, "proto", pname);
	else
		out_printf(&o, ",\"proto\":\"%u\"", rec->proto);
	out_kstr(&o, "src", ip ? addr_format(&rec->src, rec->family, a) : NULL);
	if (rec->flags & PKT_F_PORTS)
		out_printf(&o, ",\"sport\":%u", rec->sport);
	else
		out_printf(&o, ",\"sport\":null");
	out_kstr(&o, "dst", ip ? addr_format(&rec->dst, rec->family, a) : NULL);
	if (rec->flags & PKT_F_PORTS)
		out_printf(&o, ",\"dport\":%u", rec->dport);
	else
		out_printf(&o, ",\"dport\":null");
	if (rec->flags & PKT_F_ICMP)
		out_printf(&o, ",\"icmp_type\":%u,\"icmp_code\":%u", rec->icmp_type,
			   rec->icmp_code);
	else
		out_printf(&o, ",\"icmp_type\":null,\"icmp_code\":null");
	out_printf(&o, ",\"len\":%u", rec->len);
	out_kname(&o, "tier", rec->tier, sizeof(rec->tier));
	out_kname(&o, "policy", rec->policy, sizeof(rec->policy));
	if (rec->rule_kind == VLOG_RULE_INDEX)
		out_printf(&o, ",\"rule\":%d", rec->rule);
	else
		out_kstr(&o, "rule", rec->rule_kind < ARRAY_SIZE(kinds) ?
			 kinds[rec->rule_kind] : NULL);
	out_printf(&o, ",\"gen\":%llu,\"queue\":%u", (unsigned long long)rec->gen, rec->queue);
	if (suppressed > 0)
		out_printf(&o, ",\"suppressed\":%llu", (unsigned long long)suppressed);
	out_printf(&o, "}\n");
	return o.n;
}

size_t
vlog_format(const struct vlog_rec *rec, const char *node, uint64_t suppressed,
	    char *buf, size_t size)
{
	char in[IF_NAMESIZE], out[IF_NAMESIZE];
	const char *iname_in = NULL, *iname_out = NULL;

	if (rec->iif != 0)
		iname_in = if_indextoname(rec->iif, in);
	if (rec->oif != 0)
		iname_out = if_indextoname(rec->oif, out);
	return format_line(rec, node, iname_in, iname_out, suppressed, buf, size);
}

/* ---- the logger thread -------------------------------------------------------------- */

struct vlog_bucket {
	uint64_t hash;			/* 0 = free slot */
	uint64_t used_ns;		/* last record of this key: LRU eviction */
	uint64_t refill_ns;		/* when tokens were last brought up to date */
	double tokens;
	uint64_t suppressed;		/* records folded since the key's last line */
	bool pending;			/* @last is a record still to be written or folded */
	struct vlog_rec last;		/* the key (and the pending record) */
};

struct ifname_slot {
	uint32_t ifindex;		/* 0 = empty */
	bool known;
	uint64_t expires_ns;
	char name[IF_NAMESIZE];
};

/* The private state behind lg->buckets. */
struct vlog_state {
	struct vlog_bucket *slots;	/* VLOG_SLOTS, only with a rate */
	size_t npending;
	double burst;
	char *line;
	size_t cap;
	bool wrote;			/* something to fflush this pass */
	pthread_mutex_t mu;		/* guards lg->stop for the timed wait */
	pthread_cond_t cv;
	struct ifname_slot ifc[IFC_SLOTS];
};

static const char *
ifname_get(struct vlog_state *st, uint32_t ifindex, uint64_t now)
{
	struct ifname_slot *s;

	if (ifindex == 0)
		return NULL;
	s = &st->ifc[ifindex % IFC_SLOTS];
	if (s->ifindex != ifindex || now >= s->expires_ns) {
		s->ifindex = ifindex;
		s->known = if_indextoname(ifindex, s->name) != NULL;
		s->expires_ns = now + IFC_TTL_NS;
	}
	return s->known ? s->name : NULL;
}

/* Format @rec into st->line (growing it when needed) and write it. */
static void
emit(struct vlog_logger *lg, struct vlog_state *st, const struct vlog_rec *rec,
     uint64_t suppressed, uint64_t now)
{
	const char *in = ifname_get(st, rec->iif, now), *out = ifname_get(st, rec->oif, now);
	size_t n = format_line(rec, lg->cfg.node, in, out, suppressed, st->line, st->cap);

	if (n >= st->cap) {
		char *bigger = realloc(st->line, n + 1);

		if (bigger == NULL)
			return;		/* cannot happen with sane names; the line is lost */
		st->line = bigger;
		st->cap = n + 1;
		n = format_line(rec, lg->cfg.node, in, out, suppressed, st->line, st->cap);
	}
	if (fwrite(st->line, 1, n, lg->cfg.out) != n)
		clearerr(lg->cfg.out);	/* keep trying on the next line */
	__atomic_fetch_add(&lg->lines, 1, __ATOMIC_RELAXED);
	st->wrote = true;
}

static uint64_t
key_hash(const struct vlog_rec *r)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */
	const uint8_t head[] = { r->action, r->rule_kind, (uint8_t)r->rule,
				 (uint8_t)(r->rule >> 8), (uint8_t)(r->rule >> 16),
				 (uint8_t)(r->rule >> 24) };
	size_t lt = strnlen(r->tier, sizeof(r->tier)), lp = strnlen(r->policy, sizeof(r->policy));

	for (size_t i = 0; i < sizeof(head); i++)
		h = (h ^ head[i]) * 1099511628211ull;
	for (size_t i = 0; i < lt; i++)
		h = (h ^ (uint8_t)r->tier[i]) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull;
	for (size_t i = 0; i < lp; i++)
		h = (h ^ (uint8_t)r->policy[i]) * 1099511628211ull;
	return h ? h : 1;
}

static bool
key_eq(const struct vlog_rec *a, const struct vlog_rec *b)
{
	return a->action == b->action && a->rule_kind == b->rule_kind && a->rule == b->rule &&
	       strncmp(a->tier, b->tier, sizeof(a->tier)) == 0 &&
	       strncmp(a->policy, b->policy, sizeof(a->policy)) == 0;
}

/* Write the pending record of @b as its summary line. */
static void
flush_pending(struct vlog_logger *lg, struct vlog_state *st, struct vlog_bucket *b,
	      uint64_t now)
{
	emit(lg, st, &b->last, b->suppressed, now);
	b->suppressed = 0;
	b->pending = false;
	st->npending--;
}

/* The bucket of @rec's key: found, a free slot, or the LRU of its probe window. */
static struct vlog_bucket *
bucket_get(struct vlog_logger *lg, struct vlog_state *st, const struct vlog_rec *rec,
	   uint64_t now)
{
	uint64_t h = key_hash(rec);
	struct vlog_bucket *victim = NULL;

	for (unsigned i = 0; i < VLOG_PROBE; i++) {
		struct vlog_bucket *b = &st->slots[(h + i) & (VLOG_SLOTS - 1)];

		if (b->hash == h && key_eq(&b->last, rec))
			return b;
		if (b->hash == 0) {
			if (victim == NULL || victim->hash != 0)
				victim = b;
		} else if (victim == NULL || (victim->hash != 0 && b->used_ns < victim->used_ns)) {
			victim = b;
		}
	}
	if (victim->hash != 0 && victim->pending)
		flush_pending(lg, st, victim, now);
	memset(victim, 0, sizeof(*victim));
	victim->hash = h;
	victim->tokens = st->burst;
	victim->refill_ns = now;
	victim->last = *rec;
	return victim;
}

static void
refill(const struct vlog_logger *lg, const struct vlog_state *st, struct vlog_bucket *b,
       uint64_t now)
{
	if (now > b->refill_ns) {
		b->tokens += (double)(now - b->refill_ns) * lg->cfg.rate / 1e9;
		if (b->tokens > st->burst)
			b->tokens = st->burst;
	}
	b->refill_ns = now;
}

/* One record popped from a ring: write it, or fold it into its key's bucket. */
static void
take(struct vlog_logger *lg, struct vlog_state *st, const struct vlog_rec *rec, uint64_t now)
{
	struct vlog_bucket *b;

	if (st->slots == NULL) {
		emit(lg, st, rec, 0, now);
		return;
	}
	b = bucket_get(lg, st, rec, now);
	refill(lg, st, b, now);
	b->used_ns = now;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		if (b->pending) {	/* superseded: folded into this line's count */
			b->pending = false;
			st->npending--;
			b->suppressed++;
			__atomic_fetch_add(&lg->suppressed, 1, __ATOMIC_RELAXED);
		}
		emit(lg, st, rec, b->suppressed, now);
		b->suppressed = 0;
		return;
	}
	if (b->pending) {
		b->suppressed++;
		__atomic_fetch_add(&lg->suppressed, 1, __ATOMIC_RELAXED);
	} else {
		b->pending = true;
		st->npending++;
	}
	b->last = *rec;
}

/*
 * One pass: drain every ring (at most one ring's worth each, so a flood
 * cannot starve the heartbeat), write the summary lines of keys whose bucket
 * has refilled (all of them when @final), flush.
 */
static void
logger_pass(struct vlog_logger *lg, bool final)
{
	struct vlog_state *st = lg->buckets;
	uint64_t now = mono_ns();
	struct vlog_rec rec;

	for (unsigned i = 0; i < lg->nrings; i++) {
		struct vlog_ring *r = lg->rings[i];

		if (r == NULL || r->q.v == NULL)
			continue;
		for (uint32_t n = 0; n <= r->q.mask && vlog_pop(r, &rec); n++)
			take(lg, st, &rec, now);
	}
	for (unsigned i = 0; st->npending > 0 && i < VLOG_SLOTS; i++) {
		struct vlog_bucket *b = &st->slots[i];

		if (!b->pending)
			continue;
		if (!final) {
			refill(lg, st, b, now);
			if (b->tokens < 1.0)
				continue;
			b->tokens -= 1.0;
		}
		flush_pending(lg, st, b, now);
	}
	if (st->wrote) {
		if (fflush(lg->cfg.out) != 0)
			clearerr(lg->cfg.out);
		st->wrote = false;
	}
	__atomic_store_n(&lg->heartbeat_ns, mono_ns(), __ATOMIC_RELAXED);
}

static void *
logger_main(void *arg)
{
	struct vlog_logger *lg = arg;
	struct vlog_state *st = lg->buckets;
	struct timespec deadline;
	uint64_t next;

	pthread_mutex_lock(&st->mu);
	while (!lg->stop) {
		pthread_mutex_unlock(&st->mu);
		logger_pass(lg, false);
		next = mono_ns() + VLOG_PERIOD_NS;
		deadline.tv_sec = (time_t)(next / 1000000000u);
		deadline.tv_nsec = (long)(next % 1000000000u);
		pthread_mutex_lock(&st->mu);
		if (!lg->stop)
			pthread_cond_timedwait(&st->cv, &st->mu, &deadline);
	}
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

static void
state_free(struct vlog_state *st)
{
	if (st == NULL)
		return;
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mu);
	free(st->slots);
	free(st->line);
	free(st);
}

static int
state_new(const struct vlog_config *cfg, struct vlog_state **out)
{
	struct vlog_state *st = calloc(1, sizeof(*st));
	pthread_condattr_t ca;
	int err;

	if (st == NULL)
		return -ENOMEM;
	st->burst = cfg->burst < 1.0 ? 1.0 : cfg->burst;
	st->cap = LINE_INIT;
	st->line = malloc(st->cap);
	if (cfg->rate > 0)
		st->slots = calloc(VLOG_SLOTS, sizeof(*st->slots));
	if (st->line == NULL || (cfg->rate > 0 && st->slots == NULL)) {
		free(st->slots);
		free(st->line);
		free(st);
		return -ENOMEM;
	}
	err = pthread_condattr_init(&ca);
	if (err == 0) {
		err = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		if (err == 0)
			err = pthread_cond_init(&st->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (err != 0)
		goto out_free;
	err = pthread_mutex_init(&st->mu, NULL);
	if (err != 0) {
		pthread_cond_destroy(&st->cv);
		goto out_free;
	}
	*out = st;
	return 0;
out_free:
	free(st->slots);
	free(st->line);
	free(st);
	return -err;
}

int
vlog_logger_start(struct vlog_logger *lg, const struct vlog_config *cfg,
		  struct vlog_ring **rings, unsigned nrings)
{
	struct vlog_state *st = NULL;
	struct vlog_config c;
	sigset_t all, old;
	int err;

	if (cfg == NULL || cfg->out == NULL || (nrings > 0 && rings == NULL)) {
		lg->buckets = NULL;	/* a stop after a failed start is a no-op */
		return -EINVAL;
	}
	c = *cfg;		/* @cfg may be &lg->cfg */
	memset(lg, 0, sizeof(*lg));
	err = state_new(&c, &st);
	if (err < 0)
		return err;
	lg->cfg = c;
	lg->rings = rings;
	lg->nrings = nrings;
	lg->heartbeat_ns = mono_ns();
	lg->buckets = st;

	/* the logger takes no signals: they belong to the control thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&lg->thread, NULL, logger_main, lg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		state_free(st);
		lg->buckets = NULL;
		return -err;
	}
	return 0;
}

void
vlog_logger_stop(struct vlog_logger *lg)
{
	struct vlog_state *st = lg->buckets;

	if (st == NULL)
		return;
	pthread_mutex_lock(&st->mu);
	lg->stop = 1;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
	pthread_join(lg->thread, NULL);
	/* the consumer side is ours now: take what the workers left, write the pending */
	logger_pass(lg, true);
	state_free(st);
	lg->buckets = NULL;
}
