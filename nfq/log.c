/*
 * log.c - the operational log on stderr (any thread).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level log_level = LOG_INFO;

void
log_set_level(enum log_level lvl)
{
	log_level = lvl;
}

void
log_msg(enum log_level lvl, const char *msg, const char *kvfmt, ...)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char line[2048], ts[32];
	struct timespec now;
	struct tm tm;
	size_t n;
	va_list ap;

	if (lvl > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = (size_t)snprintf(line, sizeof(line), "ts=%s.%03ldZ level=%s msg=\"", ts,
			     now.tv_nsec / 1000000, names[lvl]);
	for (const char *p = msg; *p && n + 3 < sizeof(line); p++) {
		if (*p == '"' || *p == '\\')
			line[n++] = '\\';
		line[n++] = *p == '\n' ? ' ' : *p;
	}
	if (n + 1 < sizeof(line))
		line[n++] = '"';
	if (kvfmt && *kvfmt && n + 1 < sizeof(line)) {
		line[n++] = ' ';
		va_start(ap, kvfmt);
		n += (size_t)vsnprintf(line + n, sizeof(line) - n, kvfmt, ap);
		va_end(ap);
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(2, line, n);
}
