/*
 * log.h - the operational log: one "ts=… level=… msg=… k=v" line on stderr
 * per event (not verdicts: those are vlog.h). Any thread; one write(2) a line.
 */
#ifndef NFQWALL_LOG_H
#define NFQWALL_LOG_H

#include "compiler.h"

enum log_level {
	LOG_ERR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

/* log_set_level - lines above @lvl are not printed (default LOG_INFO). */
void log_set_level(enum log_level lvl);

/* log_msg - print msg="@msg" then the formatted key=value pairs (may be ""). */
void log_msg(enum log_level lvl, const char *msg, const char *kvfmt, ...) __printf(3, 4);

#define log_err(msg, ...)	log_msg(LOG_ERR, msg, __VA_ARGS__)
#define log_warn(msg, ...)	log_msg(LOG_WARN, msg, __VA_ARGS__)
#define log_info(msg, ...)	log_msg(LOG_INFO, msg, __VA_ARGS__)

#endif /* NFQWALL_LOG_H */
