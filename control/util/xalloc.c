/*
 * xalloc.c - allocation that exits on failure (control path only).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static void __attribute__((noreturn))
xalloc_die(size_t size)
{
	fprintf(stderr, "level=error msg=\"out of memory\" size=%zu\n", size);
	exit(70);
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		xalloc_die(size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		xalloc_die(n * size);
	return p;
}

void *
xrealloc(void *p, size_t size)
{
	void *np = realloc(p, size ? size : 1);

	if (np == NULL)
		xalloc_die(size);
	return np;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		xalloc_die(strlen(s) + 1);
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		xalloc_die(0);
	return s;
}
