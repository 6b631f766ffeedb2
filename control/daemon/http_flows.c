/*
 * http_flows.c - the answer to GET /flows: the distinct flows the flow
 * journal holds (fjournal.h, docs/flow-journal.md), as JSON lines.
 *
 * Every reader gets the same immutable snapshot (fj_snapshot_get, rebuilt
 * at most every FJ_SNAP_TTL_MS, at most FJ_SNAP_MAX bytes), which the
 * response reads in place and releases when libmicrohttpd is done with it.
 * So a client that reads slowly costs no memory of its own: it holds a
 * reference to a snapshot until http.c's answer deadline (HTTP_ANSWER_MS)
 * shuts its connection down, and with one snapshot per TTL at most
 * HTTP_ANSWER_MS / FJ_SNAP_TTL_MS + 1 snapshots are alive at once. Runs in
 * libmicrohttpd's thread.
 */
#include <stdio.h>
#include <string.h>

#include <microhttpd.h>

#include "daemon.h"
#include "fjournal.h"

static ssize_t
flows_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	const struct fj_snap *s = cls;
	size_t n;

	if (pos >= s->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = s->len - (size_t)pos < max ? s->len - (size_t)pos : max;
	memcpy(buf, s->buf + pos, n);
	return (ssize_t)n;
}

static void
flows_done(void *cls)
{
	fj_snapshot_put(cls);
}

struct MHD_Response *
http_flows_response(struct daemon *d, unsigned *status)
{
	struct MHD_Response *r;
	struct fj_snap *s;
	char n[32];

	if (d->journal == NULL) {
		static const char off[] = "the flow journal is off (nfqwall run --flow-journal FILE)\n";

		*status = MHD_HTTP_NOT_FOUND;
		return MHD_create_response_from_buffer(strlen(off), (void *)(uintptr_t)off,
						       MHD_RESPMEM_PERSISTENT);
	}
	s = fj_snapshot_get(d->journal);
	if (s == NULL) {
		static const char oom[] = "out of memory\n";

		*status = MHD_HTTP_SERVICE_UNAVAILABLE;
		return MHD_create_response_from_buffer(strlen(oom), (void *)(uintptr_t)oom,
						       MHD_RESPMEM_PERSISTENT);
	}
	r = MHD_create_response_from_callback(s->len, 64 * 1024, flows_read, s, flows_done);
	if (r == NULL) {
		fj_snapshot_put(s);
		return NULL;
	}
	*status = MHD_HTTP_OK;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson");
	snprintf(n, sizeof(n), "%u", s->flows);
	MHD_add_response_header(r, "X-Nfqwall-Flows", n);
	snprintf(n, sizeof(n), "%u", s->omitted);
	MHD_add_response_header(r, "X-Nfqwall-Flows-Omitted", n);
	return r;
}
