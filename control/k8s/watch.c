/*
 * watch.c - the watch stream decoder (see kube_int.h). The body of a
 * watch, cut anywhere by the network, is one JSON event per line (ADDED,
 * MODIFIED, DELETED, BOOKMARK, ERROR); each event is applied to the store
 * as it completes, so the store is the same whatever the chunking.
 *
 * The work is bounded by what arrives: every byte is searched for the
 * newline once, events whole inside a chunk are decoded in place, and only
 * the start of an event cut by a chunk boundary is copied (d->part, never
 * more than max_event bytes). An event longer than max_event ends the
 * watch with an error, so a broken or hostile server that streams an
 * endless line costs at most that much memory; the reflector then backs
 * off and relists (watching again from the same resourceVersion would
 * replay the same event).
 *
 * Runs on the kind's reflector thread (and in the tests); the store takes
 * its own lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jscan.h"
#include "kube_int.h"
#include "log.h"
#include "stats.h"

void
watch_dec_init(struct watch_dec *d, struct kube_store *st, enum kube_kind k,
	       const char *api_version, const char *rv)
{
	memset(d, 0, sizeof(*d));
	d->st = st;
	d->kind = k;
	d->api_version = api_version;
	d->max_event = KUBE_EVENT_MAX;
	d->part.max = KUBE_EVENT_MAX;
	snprintf(d->rv, sizeof(d->rv), "%s", rv);
	d->result = KUBE_OK;
}

void
watch_dec_free(struct watch_dec *d)
{
	free(d->part.p);
	d->part.p = NULL;
	d->part.n = d->part.cap = 0;
}

/* The watch ends with @res; @relist: its resourceVersion cannot be watched from again. */
static int
dec_end(struct watch_dec *d, int res, bool relist, const char *why)
{
	if (why != NULL)
		log_warn(why, "kind=%s%s", kube_kind_name(d->kind), relist ? " next=relist" : "");
	if (relist)
		d->rv[0] = '\0';
	d->result = res;
	return res;
}

/* An ERROR event: KUBE_GONE for an expired resourceVersion, else KUBE_ERROR. */
static int
event_error(struct watch_dec *d, struct jspan obj)
{
	char reason[64] = "";
	struct jspan cs = jscan_get(obj, "code");
	long code = cs.p ? strtol(cs.p, NULL, 10) : 0;

	(void)!kube_token(jscan_get(obj, "reason"), reason, sizeof(reason));
	if (code == 410 || strcmp(reason, "Expired") == 0 || strcmp(reason, "Gone") == 0)
		return dec_end(d, KUBE_GONE, false, NULL);
	log_warn("watch: error event", "kind=%s code=%ld reason=%s", kube_kind_name(d->kind),
		 code, reason);
	return dec_end(d, KUBE_ERROR, false, NULL);
}

/* ADDED or MODIFIED: the object into the store. */
static int
event_upsert(struct watch_dec *d, struct jspan obj)
{
	struct kube_obj o;
	int err = kstore_obj_make(obj, d->kind, d->api_version, &o);

	if (err == -ENOENT)
		return KUBE_OK;		/* no name: nothing to keep */
	if (err == KUBE_TRIM_DROP) {	/* no endpoint (any more): forget it */
		kstore_delete(d->st, d->kind, o.key);
		free(o.key);
		return KUBE_OK;
	}
	if (err == -EINVAL)
		return dec_end(d, KUBE_ERROR, true, "watch: malformed object");
	if (err == 0)
		err = kstore_upsert(d->st, d->kind, o.key, o.json, strlen(o.json));
	free(o.key);
	free(o.json);
	if (err < 0)	/* the store missed this event: list again rather than go on without it */
		return dec_end(d, KUBE_ERROR, true, "watch: out of memory");
	return KUBE_OK;
}

/* One event line (without its newline). KUBE_OK to go on, else how the watch ends. */
static int
event_apply(struct watch_dec *d, const char *p, size_t n)
{
	struct jspan ev = { p, n }, obj;
	char type[16], rv[KUBE_RV_MAX + 1], key[KUBE_KEY_MAX];
	int err;

	if (n == 0)
		return KUBE_OK;
	obj = jscan_get(ev, "object");
	if (kube_token(jscan_get(ev, "type"), type, sizeof(type)) < 0 || obj.p == NULL)
		return dec_end(d, KUBE_ERROR, true, "watch: malformed event");
	if (strcmp(type, "ERROR") == 0)
		return event_error(d, obj);
	if (kube_token(jscan_path(obj, "metadata.resourceVersion"), rv, sizeof(rv)) == -EINVAL)
		return dec_end(d, KUBE_ERROR, true, "watch: malformed resourceVersion");
	if (strcmp(type, "BOOKMARK") == 0) {
		kstore_touch(d->st, d->kind);
	} else if (strcmp(type, "DELETED") == 0) {
		err = kstore_obj_key(obj, key, sizeof(key));
		if (err == -EINVAL)
			return dec_end(d, KUBE_ERROR, true, "watch: malformed object");
		if (err == 0)
			kstore_delete(d->st, d->kind, key);
	} else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
		if (event_upsert(d, obj) != KUBE_OK)
			return d->result;
	}
	/* any other type is not understood and skipped, as client-go does */
	d->events++;
	if (rv[0])
		memcpy(d->rv, rv, sizeof(d->rv));
	STAT_SET(d->st->totals.last_sync_unix, (uint64_t)time(NULL));
	return KUBE_OK;
}

static int
too_long(struct watch_dec *d)
{
	log_warn("watch: an event is longer than the limit: relisting after a backoff",
		 "kind=%s limit=%zu", kube_kind_name(d->kind), d->max_event);
	return dec_end(d, KUBE_ERROR, true, NULL);
}

/* The start of an event cut by the end of a chunk: keep it, up to max_event bytes. */
static int
part_add(struct watch_dec *d, const char *p, size_t n)
{
	int err;

	if (n > d->max_event || d->part.n > d->max_event - n)
		return too_long(d);
	d->part.max = d->max_event;
	err = kube_buf_append(&d->part, p, n);
	if (err < 0)
		return dec_end(d, KUBE_ERROR, true, "watch: out of memory");
	return KUBE_OK;
}

int
watch_dec_feed(struct watch_dec *d, const char *p, size_t n)
{
	const char *end = p + n, *nl;

	if (d->result != KUBE_OK || n == 0)
		return d->result;
	if (d->part.n > 0) {
		/* the rest of the event begun in an earlier chunk */
		nl = memchr(p, '\n', n);
		if (part_add(d, p, nl ? (size_t)(nl - p) : n) != KUBE_OK || nl == NULL)
			return d->result;
		event_apply(d, d->part.p, d->part.n);
		d->part.n = 0;
		if (d->result != KUBE_OK)
			return d->result;
		p = nl + 1;
	}
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if ((size_t)(nl - p) > d->max_event)
			return too_long(d);
		if (event_apply(d, p, (size_t)(nl - p)) != KUBE_OK)
			return d->result;
		p = nl + 1;
	}
	if (p < end)
		part_add(d, p, (size_t)(end - p));
	return d->result;
}
