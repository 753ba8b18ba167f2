/* SPDX-License-Identifier: ISC */
/*
 * date.h - the RFC 5322 3.3 date-time: "Mon, 2 Jan 2006 15:04:05 -0700".
 *
 * Written into Received: and Date: headers, read back from Date: headers
 * by filters. Pure functions: the caller supplies the zone offset (the
 * loop knows the local zone; this layer does no I/O, and reading
 * /etc/localtime is I/O).
 */
#ifndef POSTINO_DATE_H
#define POSTINO_DATE_H

#include "lib/lib.h"

/* "Tue, 31 Dec 2024 23:59:59 +0000" is 31 octets; room for 6-digit years. */
#define DATE_TEXT_MAX 40
/* Zone offsets are at most "+9959" (RFC 5322 3.3: 4DIGIT). */
#define DATE_TZ_MAX (99 * 60 + 59)

/* date_format - t in the zone tz_minutes east of UTC; -1 when the offset
 * or the year is out of range or dst[size] is too small. */
int date_format(int64_t t, int tz_minutes, char *dst, size_t size) ATTR_NODISCARD;

/* date_parse - a date-time (RFC 5322 3.3) including the obsolete forms of
 * 4.3 (2- and 3-digit years, named zones, comments and spaces anywhere);
 * gives the instant and the offset as written. -1 on anything else. */
int date_parse(const char *in, int64_t *t_r, int *tz_minutes_r);

#endif
