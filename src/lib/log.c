/* SPDX-License-Identifier: ISC */
/*
 * log.c - line-oriented logging.
 *
 * Each line is written with a single fwrite of a preformatted buffer, so
 * lines from worker threads never interleave mid-line.
 */
#include "lib.h"
#include "log.h"

#include <time.h>

#define LOG_LINE_MAX 4096

static FILE *log_fp;
static enum log_level log_min_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};

void log_set_output(FILE *fp)
{
	log_fp = fp;
}

void log_set_level(enum log_level level)
{
	log_min_level = level;
}

enum log_level log_get_level(void)
{
	return log_min_level;
}

int log_level_parse(const char *name, enum log_level *level_r)
{
	for (size_t i = 0; i < N_ELEMENTS(level_names); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*level_r = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_vwrite(enum log_level level, const char *service, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	size_t len;
	int n;

	if (level < log_min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line + len, sizeof(line) - len, ".%03ldZ %s %s%s%s", ts.tv_nsec / 1000000,
		     level_names[level], service != NULL ? "[" : "",
		     service != NULL ? service : "", service != NULL ? "] " : "");
	len += (size_t)n;
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (n < 0)
		n = 0;
	len += (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2; /* truncated: keep it one line */
	/* a log line never carries a raw newline from peer data */
	for (size_t i = 0; i < len; i++) {
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	}
	line[len++] = '\n';
	FILE *fp = log_fp != NULL ? log_fp : stderr;
	fwrite(line, 1, len, fp);
	fflush(fp);
}

void log_write(enum log_level level, const char *service, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(level, service, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, "fatal", fmt, ap);
	va_end(ap);
	exit(1);
}

void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, "panic", fmt, ap);
	va_end(ap);
	abort();
}
