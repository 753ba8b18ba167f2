/* SPDX-License-Identifier: ISC */
/* time.h - clocks and the human units admins type: "5m", "2d", "100M". */
#ifndef POSTINO_TIME_H
#define POSTINO_TIME_H

#include "lib.h"

/* Milliseconds on the monotonic clock (for timeouts and windows). */
uint64_t time_monotonic_ms(void);
/* Seconds since the epoch (for anything stored or shown). */
int64_t time_now(void);
/* Milliseconds since the epoch (journal rows, their decision times). */
int64_t time_now_ms(void);

/* "30" (seconds), "30s", "5m", "2h", "7d", "1w" -> seconds. */
int time_parse_duration(const char *s, int64_t *seconds_r);
/* "0", "512", "100K", "100M", "2G", "1T" (powers of 1024) -> bytes. */
int size_parse(const char *s, uint64_t *bytes_r);
/* bytes -> "1.5G" style, exact units when they divide ("100M"). */
void size_format(uint64_t bytes, char *dst, size_t size);
/* epoch -> "2026-11-22T11:50:00Z" (UTC, RFC 3339). */
void time_format_iso(int64_t t, char *dst, size_t size);
/* Parse RFC 3339 "YYYY-MM-DD[THH:MM[:SS]][Z]" (UTC) or a relative
 * duration in the past like "2h" / "3d" -> epoch seconds. */
int time_parse_when(const char *s, int64_t now, int64_t *t_r);

#endif
