/* SPDX-License-Identifier: ISC */
/*
 * imap-util.c - pure helpers of the IMAP server: the date-time and date
 * syntaxes of RFC 3501 9 (INTERNALDATE, APPEND, SEARCH), and astrings.
 * No session, no I/O: tests/unit/test-imap-util.c covers them.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "lib/utf8.h"
#include "mail/imap-bodystructure.h"
#include "imap/imap-private.h"

#include <time.h>

static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* parse_date_part - "1-Feb-1994" / " 1-Feb-1994" at *p; advances it. */
static int parse_date_part(const char **p, struct tm *tm)
{
	const char *s = *p;
	int day = 0, year = 0, n;

	if (*s == ' ')
		s++;
	for (n = 0; n < 2 && *s >= '0' && *s <= '9'; n++, s++)
		day = day * 10 + (*s - '0');
	if (n == 0 || day < 1 || day > 31 || *s++ != '-')
		return -1;
	tm->tm_mon = -1;
	for (int m = 0; m < 12; m++) {
		if (str_ncasecmp(s, months[m], 3) == 0) {
			tm->tm_mon = m;
			break;
		}
	}
	if (tm->tm_mon < 0 || s[3] != '-')
		return -1;
	s += 4;
	for (n = 0; n < 4; n++, s++) {
		if (*s < '0' || *s > '9')
			return -1;
		year = year * 10 + (*s - '0');
	}
	if (year < 1900)
		return -1;
	tm->tm_mday = day;
	tm->tm_year = year - 1900;
	*p = s;
	return 0;
}

static int two_digits(const char *s, int max, int *v_r)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	*v_r = (s[0] - '0') * 10 + (s[1] - '0');
	return *v_r <= max ? 0 : -1;
}

int imap_datetime_parse(const char *in, int64_t *t_r)
{
	struct tm tm;
	const char *p = in;
	int hh, mm, ss, zh, zm, sign;

	memset(&tm, 0, sizeof(tm));
	if (parse_date_part(&p, &tm) < 0 || *p++ != ' ' || two_digits(p, 23, &hh) < 0 ||
	    p[2] != ':' || two_digits(p + 3, 59, &mm) < 0 || p[5] != ':' ||
	    two_digits(p + 6, 60, &ss) < 0 || p[8] != ' ')
		return -1;
	p += 9;
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (two_digits(p, 99, &zh) < 0 || two_digits(p + 2, 59, &zm) < 0 || p[4] != '\0')
		return -1;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*t_r = (int64_t)t - sign * (zh * 3600 + zm * 60);
	return 0;
}

void imap_datetime_format(int64_t t, char dst[IMAP_DATETIME_MAX])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		memcpy(dst, "01-Jan-1970 00:00:00 +0000", 27);
		return;
	}
	(void)snprintf(dst, IMAP_DATETIME_MAX, "%02d-%s-%04d %02d:%02d:%02d +0000", tm.tm_mday,
		       months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int imap_date_parse(const char *in, int64_t *t_r)
{
	struct tm tm;
	const char *p = in;

	memset(&tm, 0, sizeof(tm));
	if (*p == ' ' || parse_date_part(&p, &tm) < 0 || *p != '\0')
		return -1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*t_r = (int64_t)t;
	return 0;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* base64: characters outside the alphabet are skipped (line breaks),
 * the first '=' ends the data (RFC 2045 6.8). */
static int decode_base64(const unsigned char *in, size_t len, struct buf *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;

	for (size_t i = 0; i < len && in[i] != '='; i++) {
		int v = b64_value(in[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			unsigned char byte = (unsigned char)(acc >> bits);
			if (buf_append(out, &byte, 1) < 0)
				return -1;
		}
	}
	return 0;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* quoted-printable: "=XX", soft line breaks "=" CRLF (or LF); a broken
 * "=" sequence is kept as it is (RFC 2045 6.7, note 1). */
static int decode_qp(const unsigned char *in, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (in[i] != '=') {
			if (buf_append(out, &in[i], 1) < 0)
				return -1;
			continue;
		}
		size_t j = i + 1;
		while (j < len && (in[j] == ' ' || in[j] == '\t'))
			j++;
		if (j < len && in[j] == '\n') {
			i = j;
			continue;
		}
		if (j + 1 < len && in[j] == '\r' && in[j + 1] == '\n') {
			i = j + 1;
			continue;
		}
		int hi = i + 1 < len ? hex_value(in[i + 1]) : -1;
		int lo = i + 2 < len ? hex_value(in[i + 2]) : -1;
		if (hi >= 0 && lo >= 0) {
			unsigned char byte = (unsigned char)(hi * 16 + lo);
			if (buf_append(out, &byte, 1) < 0)
				return -1;
			i += 2;
		} else if (buf_append(out, "=", 1) < 0) {
			return -1;
		}
	}
	return 0;
}

int imap_cte_decode(const char *encoding, const void *in, size_t len, struct buf *out)
{
	if (encoding == NULL || str_casecmp(encoding, "7bit") == 0 ||
	    str_casecmp(encoding, "8bit") == 0 || str_casecmp(encoding, "binary") == 0)
		return len == 0 ? 0 : buf_append(out, in, len);
	if (str_casecmp(encoding, "base64") == 0)
		return decode_base64(in, len, out);
	if (str_casecmp(encoding, "quoted-printable") == 0)
		return decode_qp(in, len, out);
	return -1;
}

int imap_astring_write(struct buf *out, const char *s)
{
	return imap_string_write(out, s);
}

int imap_astring_write_utf8(struct buf *out, const char *s)
{
	size_t len = strlen(s);

	/* CR, LF and NUL never go in a quoted string: a literal then */
	if (!utf8_valid(s, len) || strpbrk(s, "\r\n") != NULL)
		return imap_string_write(out, s);
	if (buf_append_str(out, "\"") < 0)
		return -1;
	for (const char *p = s; *p != '\0'; p++) {
		if ((*p == '"' || *p == '\\') && buf_append_str(out, "\\") < 0)
			return -1;
		if (buf_append(out, p, 1) < 0)
			return -1;
	}
	return buf_append_str(out, "\"");
}
