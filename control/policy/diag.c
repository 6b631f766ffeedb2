/*
 * diag.c - collecting and printing policy diagnostics (control thread).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "diag.h"
#include "utf8.h"

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

/* Cut @msg to DIAG_MSG_MAX bytes on a character boundary, ending in "...". */
static void
diag_cut(char *msg)
{
	size_t n = strlen(msg);

	if (n <= DIAG_MSG_MAX)
		return;
	n = DIAG_MSG_MAX - 3;
	while (n > 0 && ((unsigned char)msg[n] & 0xc0) == 0x80)
		n--;	/* msg[n] starts a character: cut before it */
	memcpy(msg + n, "...", 4);
}

void
diag_vadd(struct diags *d, enum diag_level level, const char *file, int line, int col,
	  const char *object, const char *field, const char *fmt, va_list ap)
{
	struct diag r = { .level = level, .line = line, .col = col };

	if (d->n >= DIAG_KEEP_MAX) {
		d->nhidden++;
		diag_count(d, level);
		return;
	}
	if (ARRAY_PUSH_ROOM(d->v, d->cap, d->n) < 0)
		goto out_nomem;
	if (vasprintf(&r.msg, fmt, ap) < 0)
		r.msg = NULL;
	r.file = dup_or_null(file);
	r.object = dup_or_null(object);
	r.field = dup_or_null(field && *field ? field : NULL);
	if (r.msg == NULL || (file && !r.file) || (object && !r.object) ||
	    (field && *field && !r.field))
		goto out_free;
	diag_cut(r.msg);
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

void
diag_add(struct diags *d, enum diag_level level, const char *file, int line, int col,
	 const char *object, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, level, file, line, col, object, field, fmt, ap);
	va_end(ap);
}

/* ---- escaping -------------------------------------------------------------------- */

/* Characters printed as \uXXXX although valid: C1 controls, and those that
 * reorder or break lines in a terminal or an editor (bidi marks and
 * overrides, line and paragraph separators). */
static bool
diag_unsafe_cp(uint32_t cp)
{
	return cp < 0xa0 || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The unit at @s (@n bytes left) as printed, into @out (at least 7 bytes);
 * *@olen is its length. Returns the bytes of @s it stands for. */
static size_t
diag_unit(const unsigned char *s, size_t n, char *out, size_t *olen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c = s[0];
	uint32_t cp;
	size_t len;

	if (c == '\\' || c == '\n' || c == '\t' || c == '\r') {
		out[0] = '\\';
		out[1] = c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
		*olen = 2;
		return 1;
	}
	if (c >= 0x20 && c < 0x7f) {
		out[0] = (char)c;
		*olen = 1;
		return 1;
	}
	len = c < 0x80 ? 0 : utf8_decode(s, n, &cp);
	if (len == 0) {		/* a control character, or a byte of invalid UTF-8 */
		out[0] = '\\';
		out[1] = 'x';
		out[2] = hex[c >> 4];
		out[3] = hex[c & 15];
		*olen = 4;
		return 1;
	}
	if (diag_unsafe_cp(cp)) {
		out[0] = '\\';
		out[1] = 'u';
		for (int i = 0; i < 4; i++)
			out[2 + i] = hex[(cp >> (12 - 4 * i)) & 15];
		*olen = 6;
		return len;
	}
	memcpy(out, s, len);
	*olen = len;
	return len;
}

/* Output into a caller's buffer, snprintf style: at most size - 1 bytes kept. */
struct diag_out {
	char *buf;
	size_t size;
	size_t len;		/* bytes written so far */
};

static void
diag_put(struct diag_out *o, const char *s, size_t n)
{
	size_t room = o->size > o->len + 1 ? o->size - o->len - 1 : 0;

	if (n > room)
		n = room;
	if (n > 0)
		memcpy(o->buf + o->len, s, n);
	o->len += n;
}

/*
 * @s escaped into @o, at most @budget bytes of it: whole units only, and
 * when the whole does not fit, as much as fits before a final "..." (when
 * @dots). Returns the length of the whole escaped text.
 */
static size_t
diag_put_escaped_dots(struct diag_out *o, const char *s, size_t budget, bool dots)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = s ? strlen(s) : 0, full = 0, used = 0, limit;
	bool cut = false;

	/* the length first, to know whether it is cut */
	for (size_t i = 0; i < n;) {
		char u[8];
		size_t ul;

		i += diag_unit(p + i, n - i, u, &ul);
		full += ul;
	}
	if (o == NULL)
		return full;
	limit = full <= budget || !dots ? budget : budget >= 3 ? budget - 3 : 0;
	for (size_t i = 0; i < n;) {
		char u[8];
		size_t ul, used_in = diag_unit(p + i, n - i, u, &ul);

		if (used + ul > limit) {
			cut = true;
			break;
		}
		diag_put(o, u, ul);
		used += ul;
		i += used_in;
	}
	if (cut && dots)
		diag_put(o, "...", budget < 3 ? budget : 3);
	return full;
}

static size_t
diag_put_escaped(struct diag_out *o, const char *s, size_t budget)
{
	return diag_put_escaped_dots(o, s, budget, true);
}

size_t
diag_escape(const char *s, char *buf, size_t size)
{
	struct diag_out o = { buf, size, 0 };
	size_t full = diag_put_escaped(NULL, s, 0);

	diag_put_escaped_dots(&o, s, o.size > 0 ? o.size - 1 : 0, false);
	if (size > 0)
		buf[o.len] = '\0';
	return full;
}

/* ---- formatting ------------------------------------------------------------------ */

static const char *const level_names[] = {
	[DIAG_ERROR] = "error",
	[DIAG_WARN] = "warning",
	[DIAG_NOTE] = "note",
};

/* Shorten *@b (a part's byte budget) by up to *@over, down to "..." at least. */
static void
diag_shrink(size_t *b, size_t *over)
{
	size_t keep = *b < 3 ? *b : 3, take = *b - keep;

	if (take > *over)
		take = *over;
	*b -= take;
	*over -= take;
}

int
diag_format(const struct diag *r, char *buf, size_t size)
{
	const char *file = r->file ? r->file : "<input>";
	struct diag_out o = { buf, size, 0 };
	size_t lf, lo, ld, lm, fixed, total, room, over;
	size_t bf, bo, bd, bm;
	char head[64] = "";

	if (r->line > 0 && r->col > 0)
		snprintf(head, sizeof(head), ":%d:%d: %s: ", r->line, r->col, level_names[r->level]);
	else if (r->line > 0)
		snprintf(head, sizeof(head), ":%d: %s: ", r->line, level_names[r->level]);
	else
		snprintf(head, sizeof(head), ": %s: ", level_names[r->level]);
	lf = diag_put_escaped(NULL, file, 0);
	lo = r->object ? diag_put_escaped(NULL, r->object, 0) : 0;
	ld = r->field ? diag_put_escaped(NULL, r->field, 0) : 0;
	lm = diag_put_escaped(NULL, r->msg, 0);
	fixed = strlen(head) + (r->object ? 2 : 0) + (r->field ? 2 : 0);
	total = fixed + lf + lo + ld + lm;
	if (size == 0)
		return (int)total;
	/* the reason first: shorten the field, the file and the object before it */
	bf = lf, bo = lo, bd = ld, bm = lm;
	room = size - 1;
	over = total > room ? total - room : 0;
	diag_shrink(&bd, &over);
	diag_shrink(&bf, &over);
	diag_shrink(&bo, &over);
	if (over > 0)
		bm = bm > over ? bm - over : 0;
	diag_put_escaped(&o, file, bf);
	diag_put(&o, head, strlen(head));
	if (r->object) {
		diag_put_escaped(&o, r->object, bo);
		diag_put(&o, ": ", 2);
	}
	if (r->field) {
		diag_put_escaped(&o, r->field, bd);
		diag_put(&o, ": ", 2);
	}
	diag_put_escaped(&o, r->msg, bm);
	buf[o.len] = '\0';
	return (int)total;
}

void
diag_print(const struct diags *d, FILE *out)
{
	for (size_t i = 0; i < d->n; i++) {
		char small[1024], *line = small;
		int n = diag_format(&d->v[i], small, sizeof(small));

		if ((size_t)n >= sizeof(small)) {
			line = malloc((size_t)n + 1);
			if (line != NULL)
				diag_format(&d->v[i], line, (size_t)n + 1);
			else
				line = small;	/* shortened, the reason kept */
		}
		fprintf(out, "%s\n", line);
		if (line != small)
			free(line);
	}
	if (d->nhidden > 0)
		fprintf(out, "note: %zu more diagnostic%s not shown (at most %d are kept)\n",
			d->nhidden, d->nhidden == 1 ? "" : "s", DIAG_KEEP_MAX);
}
