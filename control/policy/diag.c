/*
 * diag.c - collecting and printing policy diagnostics (control thread).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "diag.h"

void
diags_init(struct diags *d)
{
	memset(d, 0, sizeof(*d));
}

void
diags_free(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].object);
		free(d->v[i].field);
		free(d->v[i].msg);
	}
	free(d->v);
	diags_init(d);
}

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void
diag_count(struct diags *d, enum diag_level level)
{
	if (level == DIAG_ERROR)
		d->nerr++;
	else if (level == DIAG_WARN)
		d->nwarn++;
}

void
diag_add(struct diags *d, enum diag_level level, const char *file, int line, int col,
	 const char *object, const char *field, const char *fmt, ...)
{
	struct diag r = { .level = level, .line = line, .col = col };
	va_list ap;

	if (ARRAY_PUSH_ROOM(d->v, d->cap, d->n) < 0)
		goto out_nomem;
	va_start(ap, fmt);
	if (vasprintf(&r.msg, fmt, ap) < 0)
		r.msg = NULL;
	va_end(ap);
	r.file = dup_or_null(file);
	r.object = dup_or_null(object);
	r.field = dup_or_null(field && *field ? field : NULL);
	if (r.msg == NULL || (file && !r.file) || (object && !r.object) ||
	    (field && *field && !r.field))
		goto out_free;
	d->v[d->n++] = r;
	diag_count(d, level);
	return;
out_free:
	free(r.msg);
	free(r.file);
	free(r.object);
	free(r.field);
out_nomem:
	fprintf(stderr, "nfqwall: out of memory while recording a diagnostic\n");
	d->nlost++;
	diag_count(d, level);
}

static const char *const level_names[] = {
	[DIAG_ERROR] = "error",
	[DIAG_WARN] = "warning",
	[DIAG_NOTE] = "note",
};

int
diag_format(const struct diag *r, char *buf, size_t size)
{
	char loc[64] = "";

	if (r->line > 0 && r->col > 0)
		snprintf(loc, sizeof(loc), ":%d:%d", r->line, r->col);
	else if (r->line > 0)
		snprintf(loc, sizeof(loc), ":%d", r->line);
	return snprintf(buf, size, "%s%s: %s: %s%s%s%s%s", r->file ? r->file : "<input>", loc,
			level_names[r->level], r->object ? r->object : "",
			r->object ? ": " : "", r->field ? r->field : "", r->field ? ": " : "", r->msg);
}

void
diag_print(const struct diags *d, FILE *out)
{
	for (size_t i = 0; i < d->n; i++) {
		char buf[2048];

		diag_format(&d->v[i], buf, sizeof(buf));
		fprintf(out, "%s\n", buf);
	}
}
