/* SPDX-License-Identifier: ISC */
/* time.c - clocks, durations and sizes as admins write them. */
#include "lib.h"
#include "time.h"
#include "str.h"

#include <time.h>

uint64_t time_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t time_now(void)
{
	return (int64_t)time(NULL);
}

int64_t time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Split "123X" into number and a one-letter unit ('\0' when none). */
static int split_unit(const char *s, uint64_t *num_r, char *unit_r)
{
	char digits[32];
	size_t len = strlen(s);

	if (len == 0 || len >= sizeof(digits))
		return -1;
	*unit_r = '\0';
	if (s[len - 1] < '0' || s[len - 1] > '9') {
		*unit_r = s[len - 1];
		len--;
	}
	memcpy(digits, s, len);
	digits[len] = '\0';
	return str_to_uint64(digits, 0, UINT64_MAX, num_r);
}

static int scale(uint64_t num, uint64_t mult, uint64_t max, uint64_t *out_r)
{
	if (num > max / mult)
		return -1;
	*out_r = num * mult;
	return 0;
}

int time_parse_duration(const char *s, int64_t *seconds_r)
{
	static const struct { char unit; uint64_t mult; } units[] = {
		{ '\0', 1 }, { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 },
	};
	uint64_t num, out;
	char unit;

	if (split_unit(s, &num, &unit) < 0)
		return -1;
	for (size_t i = 0; i < N_ELEMENTS(units); i++) {
		if (units[i].unit == unit) {
			if (scale(num, units[i].mult, INT64_MAX, &out) < 0)
				return -1;
			*seconds_r = (int64_t)out;
			return 0;
		}
	}
	return -1;
}

int size_parse(const char *s, uint64_t *bytes_r)
{
	static const struct { char unit; uint64_t mult; } units[] = {
		{ '\0', 1 }, { 'B', 1 }, { 'K', 1ULL << 10 }, { 'M', 1ULL << 20 },
		{ 'G', 1ULL << 30 }, { 'T', 1ULL << 40 },
	};
	uint64_t num;
	char unit;

	if (split_unit(s, &num, &unit) < 0)
		return -1;
	if (unit >= 'a' && unit <= 'z')
		unit = (char)(unit - 'a' + 'A');
	for (size_t i = 0; i < N_ELEMENTS(units); i++) {
		if (units[i].unit == unit)
			return scale(num, units[i].mult, INT64_MAX, bytes_r);
	}
	return -1;
}

void size_format(uint64_t bytes, char *dst, size_t size)
{
	static const char units[] = "KMGT";
	int u = -1;
	double v = (double)bytes;

	if (bytes < 1024) {
		snprintf(dst, size, "%" PRIu64, bytes);
		return;
	}
	for (int i = 3; i >= 0; i--) {
		uint64_t mult = 1ULL << (10 * (i + 1));
		if (bytes >= mult) {
			u = i;
			v = (double)bytes / (double)mult;
			if (bytes % mult == 0) {
				snprintf(dst, size, "%" PRIu64 "%c", bytes / mult, units[i]);
				return;
			}
			break;
		}
	}
	snprintf(dst, size, "%.1f%c", v, units[u]);
}

void time_format_iso(int64_t t, char *dst, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	if (strftime(dst, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 && size > 0)
		dst[0] = '\0';
}

int time_parse_when(const char *s, int64_t now, int64_t *t_r)
{
	static const char *const formats[] = {
		"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
		"%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d",
	};
	int64_t ago;

	if (time_parse_duration(s, &ago) == 0) {
		*t_r = now - ago;
		return 0;
	}
	for (size_t i = 0; i < N_ELEMENTS(formats); i++) {
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		const char *end = strptime(s, formats[i], &tm);
		if (end != NULL && *end == '\0') {
			*t_r = (int64_t)timegm(&tm);
			return 0;
		}
	}
	return -1;
}
