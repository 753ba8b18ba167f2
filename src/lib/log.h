/* SPDX-License-Identifier: ISC */
/*
 * log.h - one line per event: "TIME LEVEL [service] message key=value ...".
 *
 * fatal() is for a broken environment at start-up (exit 1); panic() is for
 * "cannot happen" (abort). Neither is ever for peer input.
 */
#ifndef POSTINO_LOG_H
#define POSTINO_LOG_H

#include "lib.h"

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

/* Where log lines go (default stderr) and the lowest level written. */
void log_set_output(FILE *fp);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "debug", "info", "warn", "error"; -1 when unknown. */
int log_level_parse(const char *name, enum log_level *level_r);

void log_write(enum log_level level, const char *service, const char *fmt, ...)
	ATTR_FORMAT(printf, 3, 4);
void log_vwrite(enum log_level level, const char *service, const char *fmt, va_list ap)
	ATTR_FORMAT(printf, 3, 0);

#define log_debug(...) log_write(LOG_LEVEL_DEBUG, NULL, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, NULL, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, NULL, __VA_ARGS__)
#define log_error(...) log_write(LOG_LEVEL_ERROR, NULL, __VA_ARGS__)

void fatal(const char *fmt, ...) ATTR_FORMAT(printf, 1, 2) ATTR_NORETURN;
void panic(const char *fmt, ...) ATTR_FORMAT(printf, 1, 2) ATTR_NORETURN;

#endif
