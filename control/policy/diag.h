/*
 * diag.h - policy diagnostics: errors, warnings and notes with locations.
 *
 * Like nftables' error records: every problem found while loading,
 * validating or linting policy is collected with its file, line, column,
 * object ("GlobalNetworkPolicy/waf-rules") and field path
 * ("spec.ingress[2].destination.ports[1]"), then printed together.
 * Control thread only.
 */
#ifndef NFQWALL_DIAG_H
#define NFQWALL_DIAG_H

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

struct diags {
	struct diag *v;
	size_t n;
	size_t cap;
	size_t nerr;		/* errors added, also those lost (see nlost) */
	size_t nwarn;		/* warnings added, also those lost */
	size_t nlost;		/* records dropped for lack of memory */
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

/* diag_print - "file:line:col: error: object: field: message" lines. */
void diag_print(const struct diags *d, FILE *out);

/* diag_format - one record as text into @buf (snprintf semantics). */
int diag_format(const struct diag *r, char *buf, size_t size);

#endif /* NFQWALL_DIAG_H */
