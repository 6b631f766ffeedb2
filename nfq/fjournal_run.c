/*
 * fjournal_run.c - the flow journal's thread, its file and the /flows
 * snapshot (fjournal.h, docs/flow-journal.md).
 *
 * The journal thread is the rings' only consumer and the table's only
 * writer. Every FJ_DRAIN_MS it drains the rings into the table (under
 * j->lock, which /flows readers take to build a snapshot); every flush_ms,
 * and at stop, it appends one line per flow with packets pending and marks
 * them written. The lines are formatted under the lock into one buffer and
 * written after it, so a reader never waits on the disk.
 *
 * The file: opened for appending at start (what an earlier daemon wrote
 * stays). Before a write would take it past max_bytes it is renamed to
 * FILE.1 (replacing the older one) and a new FILE is started, so the two
 * files hold at most 2 * max_bytes (when the rename fails, FILE is
 * truncated instead: the cap holds). A failed write is counted and the
 * lines are lost; the thread goes on.
 *
 * A full table: a new flow is dropped and counted; at the next flush the
 * flows whose lines are all written are forgotten (fj_table_prune), making
 * room again. So memory stays at max_flows entries, and nothing seen is
 * lost from the file unless a flow arrives while the table is full.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fjournal.h"
#include "log.h"
#include "stats.h"

#define IFC_SLOTS	64u			/* interface-name cache (direct mapped) */
#define IFC_TTL_NS	(10ull * 1000000000ull)
#define FJ_ALIVE_NS	(600ull * 1000000000ull)	/* the "alive" log line, this often */

struct ifname_slot {
	uint32_t ifindex;
	bool known;
	uint64_t expires_ns;
	char name[IF_NAMESIZE];
};

/* The thread's own state (no other thread touches it). */
struct fj_state {
	struct ifname_slot ifc[IFC_SLOTS];
	char *out;			/* lines of one flush */
	size_t nout, capout;
	uint64_t next_flush_ns;
	uint64_t next_alive_ns;
};

static const char *
ifname_get(struct ifname_slot *ifc, uint32_t ifindex, uint64_t now)
{
	struct ifname_slot *s;

	if (ifindex == 0)
		return NULL;
	s = &ifc[ifindex % IFC_SLOTS];
	if (s->ifindex != ifindex || now >= s->expires_ns) {
		s->ifindex = ifindex;
		s->known = if_indextoname(ifindex, s->name) != NULL;
		s->expires_ns = now + IFC_TTL_NS;
	}
	return s->known ? s->name : NULL;
}

uint64_t
fj_ring_drops(const struct fj_journal *j)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < j->nrings; i++)
		if (j->rings[i] != NULL)
			n += __atomic_load_n(&j->rings[i]->q.dropped, __ATOMIC_RELAXED);
	return n;
}

static void
drain(struct fj_journal *j)
{
	struct fj_rec rec;

	pthread_mutex_lock(&j->lock);
	for (unsigned i = 0; i < j->nrings; i++) {
		/* at most one ring's worth a pass: a busy worker cannot keep us here */
		for (uint32_t n = 0; n <= j->rings[i]->q.mask && fj_pop(j->rings[i], &rec); n++)
			if (fj_table_add(&j->tab, &rec) < 0)
				STAT_SET(j->table_dropped, j->tab.dropped);
	}
	STAT_SET(j->entries, j->tab.n);
	pthread_mutex_unlock(&j->lock);
}

/* Rename FILE to FILE.1 and start a new FILE. */
static void
rotate(struct fj_journal *j)
{
	char old[4096];
	FILE *f;

	snprintf(old, sizeof(old), "%s.1", j->cfg.path);	/* fits: checked at start */
	if (j->file != NULL)
		fclose(j->file);
	j->file = NULL;
	if (rename(j->cfg.path, old) < 0 && errno != ENOENT) {
		/* the cap holds anyway: start FILE again, losing what it held */
		log_warn("cannot rotate the flow journal; truncating it", "path=%s error=\"%s\"",
			 j->cfg.path, strerror(errno));
		f = fopen(j->cfg.path, "w");
	} else {
		f = fopen(j->cfg.path, "a");
	}
	if (f == NULL) {
		STAT_ADD(j->write_errors, 1);
		log_warn("cannot reopen the flow journal", "path=%s error=\"%s\"", j->cfg.path,
			 strerror(errno));
	}
	j->file = f;
	j->fsize = 0;
	STAT_ADD(j->rotations, 1);
	log_info("flow journal rotated", "path=%s old=%s", j->cfg.path, old);
}

/* Append @len bytes of whole lines, rotating first when they would pass max_bytes. */
static void
write_lines(struct fj_journal *j, const char *buf, size_t len, unsigned nlines)
{
	if (len == 0)
		return;
	if (j->fsize > 0 && j->fsize + len > j->cfg.max_bytes)
		rotate(j);
	if (j->file == NULL) {
		j->file = fopen(j->cfg.path, "a");	/* try again: the disk may be back */
		if (j->file == NULL) {
			STAT_ADD(j->write_errors, 1);
			return;
		}
	}
	if (fwrite(buf, 1, len, j->file) != len || fflush(j->file) != 0) {
		STAT_ADD(j->write_errors, 1);
		clearerr(j->file);
		return;
	}
	j->fsize += len;
	STAT_ADD(j->lines, nlines);
	STAT_ADD(j->bytes, len);
}

static bool
out_room(struct fj_state *st, size_t need)
{
	size_t cap = st->capout ? st->capout : 65536;
	char *p;

	if (st->nout + need <= st->capout)
		return true;
	while (cap < st->nout + need)
		cap *= 2;
	p = realloc(st->out, cap);
	if (p == NULL)
		return false;
	st->out = p;
	st->capout = cap;
	return true;
}

/*
 * Format every flow with packets pending and mark them written; then, with the
 * lock released, write. A chunk is written whenever it would pass max_bytes, so
 * rotation keeps the file under it.
 */
static void
flush(struct fj_journal *j, struct fj_state *st, uint64_t now)
{
	unsigned nlines = 0;

	st->nout = 0;
	pthread_mutex_lock(&j->lock);
	for (uint32_t i = 0; i < j->tab.n; i++) {
		struct fj_entry *e = &j->tab.e[i];
		size_t len;

		if (e->pending == 0)
			continue;
		if (!out_room(st, FJ_LINE_MAX))
			break;	/* out of memory: the rest stays pending */
		len = fj_format(e, j->cfg.node, ifname_get(st->ifc, e->r.iif, now),
				ifname_get(st->ifc, e->r.oif, now), true, st->out + st->nout,
				FJ_LINE_MAX);
		if (len >= FJ_LINE_MAX) {	/* cannot happen: names are cut to 255 bytes */
			e->pending = 0;		/* never stuck pending (and never pruned) */
			continue;
		}
		st->nout += len;
		nlines++;
		e->pending = 0;
	}
	if (j->tab.n >= j->tab.max)
		STAT_ADD(j->pruned, fj_table_prune(&j->tab));
	STAT_SET(j->entries, j->tab.n);
	pthread_mutex_unlock(&j->lock);

	/* whole lines, in chunks no larger than max_bytes / 4 */
	for (size_t at = 0; at < st->nout; ) {
		size_t end = at, n = 0;

		while (end < st->nout && (end == at || end - at < j->cfg.max_bytes / 4)) {
			const char *nl = memchr(st->out + end, '\n', st->nout - end);

			end = nl ? (size_t)(nl - st->out) + 1 : st->nout;
			n++;
		}
		write_lines(j, st->out + at, end - at, (unsigned)n);
		at = end;
	}
	STAT_ADD(j->flushes, 1);
}

static void
alive(struct fj_journal *j)
{
	log_info("flow journal", "path=%s flows=%llu lines=%llu bytes=%llu rotations=%llu "
		 "dropped_table=%llu dropped_ring=%llu write_errors=%llu", j->cfg.path,
		 (unsigned long long)STAT_GET(j->entries), (unsigned long long)STAT_GET(j->lines),
		 (unsigned long long)STAT_GET(j->bytes), (unsigned long long)STAT_GET(j->rotations),
		 (unsigned long long)STAT_GET(j->table_dropped),
		 (unsigned long long)fj_ring_drops(j), (unsigned long long)STAT_GET(j->write_errors));
}

static void *
journal_main(void *arg)
{
	struct fj_journal *j = arg;
	struct fj_state *st = calloc(1, sizeof(*st));
	uint64_t now = mono_ns();

	if (st == NULL) {
		log_err("the flow journal stopped: out of memory", "path=%s", j->cfg.path);
		return NULL;
	}
	st->next_flush_ns = now + (uint64_t)j->cfg.flush_ms * 1000000ull;
	st->next_alive_ns = now + FJ_ALIVE_NS;
	pthread_mutex_lock(&j->wmu);
	while (!j->stop) {
		struct timespec ts;

		pthread_mutex_unlock(&j->wmu);
		now = mono_ns();
		STAT_SET(j->heartbeat_ns, now);
		drain(j);
		if (now >= st->next_flush_ns) {
			flush(j, st, now);
			st->next_flush_ns = now + (uint64_t)j->cfg.flush_ms * 1000000ull;
		}
		if (now >= st->next_alive_ns) {
			alive(j);
			st->next_alive_ns = now + FJ_ALIVE_NS;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += FJ_DRAIN_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&j->wmu);
		if (!j->stop)
			pthread_cond_timedwait(&j->wcv, &j->wmu, &ts);
	}
	pthread_mutex_unlock(&j->wmu);
	drain(j);
	flush(j, st, mono_ns());
	alive(j);
	free(st->out);
	free(st);
	return NULL;
}

int
fj_journal_start(struct fj_journal *j, const struct fj_config *cfg, struct fj_ring **rings,
		 unsigned nrings, char *why, size_t whylen)
{
	pthread_condattr_t ca;
	struct stat sb;
	FILE *f;
	int err;

	memset(j, 0, sizeof(*j));
	if (strlen(cfg->path) + sizeof(".1") > 4096) {
		snprintf(why, whylen, "the path is too long");
		return -ENAMETOOLONG;
	}
	j->cfg = *cfg;
	if (j->cfg.max_bytes < 65536)
		j->cfg.max_bytes = 65536;
	if (j->cfg.flush_ms == 0)
		j->cfg.flush_ms = 10000;
	err = fj_table_init(&j->tab, cfg->max_flows);
	if (err < 0) {
		snprintf(why, whylen, "%s", err == -ENOMEM ? "out of memory" : "bad --flow-journal-max-flows");
		return err;
	}
	f = fopen(cfg->path, "a");
	if (f == NULL) {
		err = -errno;
		snprintf(why, whylen, "cannot open %s: %s", cfg->path, strerror(errno));
		fj_table_free(&j->tab);
		return err;
	}
	j->file = f;
	j->fsize = fstat(fileno(f), &sb) == 0 ? (uint64_t)sb.st_size : 0;
	j->rings = rings;
	j->nrings = nrings;
	pthread_mutex_init(&j->lock, NULL);
	pthread_mutex_init(&j->wmu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->wcv, &ca);
	pthread_condattr_destroy(&ca);
	STAT_SET(j->heartbeat_ns, mono_ns());
	err = pthread_create(&j->thread, NULL, journal_main, j);
	if (err != 0) {
		snprintf(why, whylen, "cannot start its thread: %s", strerror(err));
		fclose(f);
		j->file = NULL;
		fj_table_free(&j->tab);
		return -err;
	}
	j->started = true;
	log_info("flow journal started", "path=%s max_bytes=%llu max_flows=%u flush_ms=%u "
		 "size=%llu", cfg->path, (unsigned long long)j->cfg.max_bytes, cfg->max_flows,
		 j->cfg.flush_ms, (unsigned long long)j->fsize);
	return 0;
}

void
fj_journal_stop(struct fj_journal *j)
{
	if (!j->started)
		return;
	pthread_mutex_lock(&j->wmu);
	j->stop = 1;
	pthread_cond_signal(&j->wcv);
	pthread_mutex_unlock(&j->wmu);
	pthread_join(j->thread, NULL);
	j->started = false;
	if (j->file != NULL)
		fclose(j->file);
	j->file = NULL;
	pthread_mutex_lock(&j->lock);
	if (j->snap != NULL) {
		struct fj_snap *s = j->snap;

		j->snap = NULL;
		s->j = NULL;		/* readers still holding it free it themselves */
		if (--s->refs == 0) {
			free(s->buf);
			free(s);
		}
	}
	fj_table_free(&j->tab);
	pthread_mutex_unlock(&j->lock);
}

/* ---- /flows ------------------------------------------------------------------------- */

/* Build a snapshot of the table (under j->lock). NULL out of memory. */
static struct fj_snap *
snap_build(struct fj_journal *j, uint64_t now)
{
	struct ifname_slot ifc[16];
	struct fj_snap *s = calloc(1, sizeof(*s));
	size_t cap = 65536;

	memset(ifc, 0, sizeof(ifc));
	if (s == NULL)
		return NULL;
	s->buf = malloc(cap);
	if (s->buf == NULL) {
		free(s);
		return NULL;
	}
	for (uint32_t i = 0; i < j->tab.n; i++) {
		const struct fj_entry *e = &j->tab.e[i];
		size_t len;

		if (s->len + FJ_LINE_MAX > FJ_SNAP_MAX) {
			s->omitted = j->tab.n - i;
			break;
		}
		if (s->len + FJ_LINE_MAX > cap) {
			char *p = realloc(s->buf, cap * 2);

			if (p == NULL) {
				s->omitted = j->tab.n - i;
				break;
			}
			s->buf = p;
			cap *= 2;
		}
		len = fj_format(e, j->cfg.node, ifname_get(ifc, e->r.iif, now),
				ifname_get(ifc, e->r.oif, now), false, s->buf + s->len, FJ_LINE_MAX);
		if (len >= FJ_LINE_MAX)
			continue;
		s->len += len;
		s->flows++;
	}
	s->made_ns = now;
	s->refs = 1;		/* the cache's */
	s->j = j;
	STAT_ADD(j->snaps, 1);	/* under j->lock; read by /metrics */
	return s;
}

struct fj_snap *
fj_snapshot_get(struct fj_journal *j)
{
	uint64_t now = mono_ns();
	struct fj_snap *s;

	pthread_mutex_lock(&j->lock);
	s = j->snap;
	if (s == NULL || now - s->made_ns > (uint64_t)FJ_SNAP_TTL_MS * 1000000ull) {
		struct fj_snap *n = j->started ? snap_build(j, now) : NULL;

		if (n != NULL) {
			if (s != NULL && --s->refs == 0) {
				free(s->buf);
				free(s);
			}
			j->snap = s = n;
		}
	}
	if (s != NULL)
		s->refs++;
	pthread_mutex_unlock(&j->lock);
	return s;
}

void
fj_snapshot_put(struct fj_snap *s)
{
	struct fj_journal *j;
	bool last;

	if (s == NULL)
		return;
	j = s->j;
	if (j != NULL)
		pthread_mutex_lock(&j->lock);
	last = --s->refs == 0;
	if (j != NULL)
		pthread_mutex_unlock(&j->lock);
	if (last) {
		free(s->buf);
		free(s);
	}
}
