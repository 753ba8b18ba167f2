/* SPDX-License-Identifier: ISC */
/* str.h - bounded string helpers; truncation is reported, never silent. */
#ifndef POSTINO_STR_H
#define POSTINO_STR_H

#include "lib.h"

/* Copy/append into dst[size]; -1 when the result would not fit (dst is
 * then left NUL-terminated but must not be used). */
int str_copy(char *dst, const char *src, size_t size) ATTR_NODISCARD;
int str_append(char *dst, const char *src, size_t size) ATTR_NODISCARD;
int str_printf(char *dst, size_t size, const char *fmt, ...)
	ATTR_FORMAT(printf, 3, 4) ATTR_NODISCARD;

/* ASCII-only case handling (never locale-dependent). */
int str_casecmp(const char *a, const char *b);
int str_ncasecmp(const char *a, const char *b, size_t n);
void str_lcase(char *s);
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);

/* Trim ASCII whitespace in place; returns s advanced past leading space. */
char *str_trim(char *s);

/* Parse a whole decimal number in [min, max]; -1 on junk or range. */
int str_to_uint64(const char *s, uint64_t min, uint64_t max, uint64_t *value_r);
int str_to_int64(const char *s, int64_t min, int64_t max, int64_t *value_r);

/* "yes"/"no" (also true/false, on/off, 1/0); -1 when neither. */
int str_to_bool(const char *s, bool *value_r);

#endif
