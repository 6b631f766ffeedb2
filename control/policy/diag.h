/*
 * diag.h - policy diagnostics: errors, warnings and notes with locations.
 *
 * Like nftables' error records: every problem found while loading,
 * validating or linting policy is collected with its file, line, column,
 * object ("GlobalNetworkPolicy/waf-rules") and field path
 * ("spec.ingress[2].destination.ports[1]"), then printed together.
 *
 * The parts come from policy files and may hold anything: every record is
 * printed as exactly one line, with control characters, backslashes,
 * invalid UTF-8 and the Unicode characters that move or split lines
 * escaped (\n, \t, \\, \x1b, \u202e), so no name can forge a line or reach
 * the terminal. When a line must be shortened, the message (the reason)
 * is kept first and the field, file and object are shortened before it.
 * Control thread only.
 */
#ifndef NFQWALL_DIAG_H
#define NFQWALL_DIAG_H

#include <stdarg.h>
#include <stdio.h>

#include "compiler.h"

enum diag_level {
	DIAG_ERROR,
	DIAG_WARN,
	DIAG_NOTE,
};

struct diag {
	enum diag_level level;
	char *file;
	int line;		/* 1-based, 0 = unknown */
	int col;		/* 1-based, 0 = unknown */
	char *object;		/* "Kind/name", may be NULL */
	char *field;		/* field path, may be NULL */
	char *msg;
};

/* Records kept per list; later ones are counted (nerr, nwarn, nhidden) but
 * not kept, so a flood of problems costs bounded memory. */
#define DIAG_KEEP_MAX	10000

/* Longest message kept, in bytes; a longer one is cut (on a character
 * boundary) and ends with "...". Messages put the reason before any text
 * they quote, so the cut only shortens the quote. */
#define DIAG_MSG_MAX	2048

struct diags {
	struct diag *v;
	size_t n;
	size_t cap;
	size_t nerr;		/* errors added, also those lost or hidden */
	size_t nwarn;		/* warnings added, also those lost or hidden */
	size_t nlost;		/* records dropped for lack of memory */
	size_t nhidden;		/* records not kept past DIAG_KEEP_MAX */
};

/* diags_init - an empty list. */
void diags_init(struct diags *d);

/* diags_free - release every record. */
void diags_free(struct diags *d);

/* diag_add - append a record; strings are copied. Allocation failure is
 * reported on stderr and the record dropped (diagnostics never fail), but
 * still counted in nerr/nwarn, so a caller that checks nerr sees the error,
 * and in nlost. */
void diag_add(struct diags *d, enum diag_level level, const char *file, int line, int col,
	      const char *object, const char *field, const char *fmt, ...) __printf(8, 9);

/* diag_vadd - diag_add with a va_list. */
void diag_vadd(struct diags *d, enum diag_level level, const char *file, int line, int col,
	       const char *object, const char *field, const char *fmt, va_list ap)
	__printf(8, 0);

/* diag_print - "file:line:col: error: object: field: message" lines, then a
 * note with the number of records not kept, if any. */
void diag_print(const struct diags *d, FILE *out);

/*
 * diag_format - one record as one line of text into @buf, escaped as said
 * above. snprintf semantics: returns the length of the whole line and
 * writes at most @size bytes, always terminated when @size > 0. When the
 * line is longer than @size - 1, the field, the file and the object are
 * shortened (ending in "...") before the message is.
 */
int diag_format(const struct diag *r, char *buf, size_t size);

/*
 * diag_escape - @s escaped as diagnostics print it, into @buf (snprintf
 * semantics, but only whole escapes and characters are written). Returns
 * the length of the whole escaped text.
 */
size_t diag_escape(const char *s, char *buf, size_t size);

#endif /* NFQWALL_DIAG_H */
