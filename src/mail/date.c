/* SPDX-License-Identifier: ISC */
/*
 * date.c - RFC 5322 3.3 date-time, formatted and parsed.
 *
 * Parsing accepts the obsolete syntax of RFC 5322 4.3 because old and
 * careless software still writes it, and a filter that cannot read a Date:
 * cannot judge it. Calendar arithmetic is done here (days from civil, the
 * proleptic Gregorian calendar) so nothing depends on TZ or the C locale.
 */
#include "lib/lib.h"
#include "lib/str.h"
#include "mail/date.h"

#define DATE_YEAR_MIN 1900 /* RFC 5322 3.3: year = 4*DIGIT, "1900 or later" */
#define DATE_YEAR_MAX 9999 /* four digits; also keeps the arithmetic small */
#define DATE_COMMENT_DEPTH 8 /* nested comments we follow before giving up */

static const char *const day_names[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const month_names[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* RFC 5322 4.3 obs-zone: the US zones are exact; military letters were
 * defined with the wrong sign in RFC 822, so they mean "-0000" (unknown). */
static const struct {
	const char *name;
	int minutes;
} zone_names[] = {
	{ "UT", 0 }, { "GMT", 0 },
	{ "EST", -5 * 60 }, { "EDT", -4 * 60 },
	{ "CST", -6 * 60 }, { "CDT", -5 * 60 },
	{ "MST", -7 * 60 }, { "MDT", -6 * 60 },
	{ "PST", -8 * 60 }, { "PDT", -7 * 60 },
};

/* days_from_civil - days since 1970-01-01 (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y_r, unsigned *m_r, unsigned *d_r)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	*y_r = (int64_t)yoe + era * 400 + (m <= 2);
	*m_r = m;
	*d_r = doy - (153 * mp + 2) / 5 + 1;
}

static bool leap_year(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
	static const unsigned days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

int date_format(int64_t t, int tz_minutes, char *dst, size_t size)
{
	int64_t local, days, secs, y;
	unsigned m, d;
	int off = tz_minutes < 0 ? -tz_minutes : tz_minutes;

	if (off > DATE_TZ_MAX)
		return -1;
	/* keep every intermediate far from overflow: years 1900..9999 */
	if (t < days_from_civil(DATE_YEAR_MIN, 1, 2) * 86400 ||
	    t > days_from_civil(DATE_YEAR_MAX, 12, 30) * 86400)
		return -1;
	local = t + (int64_t)tz_minutes * 60;
	days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	secs = local - days * 86400;
	civil_from_days(days, &y, &m, &d);
	/* 1970-01-01 was a Thursday */
	int64_t wd = (days % 7 + 7 + 4) % 7;
	return str_printf(dst, size, "%s, %u %s %04" PRId64 " %02d:%02d:%02d %c%02d%02d",
			  day_names[wd], d, month_names[m - 1], y, (int)(secs / 3600),
			  (int)(secs / 60 % 60), (int)(secs % 60), tz_minutes < 0 ? '-' : '+',
			  off / 60, off % 60);
}

/* ---- parsing ---- */

/* skip_cfws - white space and (nested) comments, RFC 5322 3.2.2. */
static const char *skip_cfws(const char *s)
{
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		if (*s != '(')
			return s;
		int depth = 0;
		do {
			if (*s == '\\' && s[1] != '\0')
				s++;
			else if (*s == '(' && ++depth > DATE_COMMENT_DEPTH)
				return s; /* the caller sees '(' and fails */
			else if (*s == ')')
				depth--;
			else if (*s == '\0')
				return s;
			s++;
		} while (depth > 0);
	}
}

/* digits - 1..max decimal digits; the count is returned in *n_r. */
static const char *digits(const char *s, size_t max, int *value_r, size_t *n_r)
{
	size_t n = 0;
	int v = 0;

	while (n < max && s[n] >= '0' && s[n] <= '9') {
		v = v * 10 + (s[n] - '0');
		n++;
	}
	*value_r = v;
	*n_r = n;
	return s + n;
}

/* word - the run of letters at s, matched case-insensitively. */
static const char *word(const char *s, size_t *len_r)
{
	size_t n = 0;
	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z'))
		n++;
	*len_r = n;
	return s + n;
}

static int name_index(const char *const *names, size_t count, const char *s, size_t len)
{
	if (len != 3)
		return -1;
	for (size_t i = 0; i < count; i++) {
		if (str_ncasecmp(names[i], s, 3) == 0)
			return (int)i;
	}
	return -1;
}

static int parse_zone(const char *s, const char **end_r, int *tz_r)
{
	size_t n;
	int v;

	if (*s == '+' || *s == '-') {
		const char *e = digits(s + 1, 4, &v, &n);
		if (n != 4 || v % 100 > 59)
			return -1;
		*tz_r = (v / 100 * 60 + v % 100) * (*s == '-' ? -1 : 1);
		*end_r = e;
		return 0;
	}
	const char *e = word(s, &n);
	for (size_t i = 0; i < N_ELEMENTS(zone_names); i++) {
		if (strlen(zone_names[i].name) == n && str_ncasecmp(zone_names[i].name, s, n) == 0) {
			*tz_r = zone_names[i].minutes;
			*end_r = e;
			return 0;
		}
	}
	if (n == 1 && *s != 'j' && *s != 'J') {
		*tz_r = 0; /* military zone: "-0000", RFC 5322 4.3 */
		*end_r = e;
		return 0;
	}
	return -1;
}

int date_parse(const char *in, int64_t *t_r, int *tz_minutes_r)
{
	const char *s = skip_cfws(in), *e;
	int day, year, hour, min, sec = 0, tz, wday = -1, month;
	size_t n;

	/* [ day-of-week "," ] */
	e = word(s, &n);
	if (n > 0) {
		if ((wday = name_index(day_names, 7, s, n)) < 0)
			return -1;
		s = skip_cfws(e);
		if (*s++ != ',')
			return -1;
		s = skip_cfws(s);
	}
	s = digits(s, 2, &day, &n);
	if (n == 0 || day < 1)
		return -1;
	s = skip_cfws(s);
	e = word(s, &n);
	if ((month = name_index(month_names, 12, s, n)) < 0)
		return -1;
	s = skip_cfws(e);
	s = digits(s, 4, &year, &n);
	if (n < 2 || (*s >= '0' && *s <= '9'))
		return -1;
	/* RFC 5322 4.3: two digits are 1950-2049, three add 1900 */
	if (n == 2)
		year += year < 50 ? 2000 : 1900;
	else if (n == 3)
		year += 1900;
	if (year < DATE_YEAR_MIN)
		return -1;
	s = skip_cfws(s);
	s = digits(s, 2, &hour, &n);
	if (n != 2 || hour > 23)
		return -1;
	s = skip_cfws(s);
	if (*s++ != ':')
		return -1;
	s = skip_cfws(s);
	s = digits(s, 2, &min, &n);
	if (n != 2 || min > 59)
		return -1;
	e = skip_cfws(s);
	if (*e == ':') {
		s = digits(skip_cfws(e + 1), 2, &sec, &n);
		/* 60: a leap second, RFC 5322 3.3 */
		if (n != 2 || sec > 60)
			return -1;
	}
	s = skip_cfws(s);
	if (parse_zone(s, &s, &tz) < 0)
		return -1;
	if (*skip_cfws(s) != '\0')
		return -1;
	if ((unsigned)day > month_days(year, (unsigned)month + 1))
		return -1;
	int64_t days = days_from_civil(year, (unsigned)month + 1, (unsigned)day);
	/* a day-of-week that contradicts the date makes the date suspect */
	if (wday >= 0 && (days % 7 + 7 + 4) % 7 != wday)
		return -1;
	*t_r = days * 86400 + hour * 3600 + min * 60 + sec - (int64_t)tz * 60;
	*tz_minutes_r = tz;
	return 0;
}
