/* SPDX-License-Identifier: ISC */
/*
 * fuzz-imap-check.h - shared by the fuzz targets: abort unless s[0..len)
 * is exactly one well-formed IMAP parenthesised list (RFC 3501 9:
 * quoted strings of QUOTED-CHARs, literals with exact lengths, NIL,
 * numbers), so a quoting bug in imap-bodystructure.c is a crash.
 */
#ifndef POSTINO_FUZZ_IMAP_CHECK_H
#define POSTINO_FUZZ_IMAP_CHECK_H

#include "lib/lib.h"

static inline void fuzz_check_imap_list(const char *s, size_t len)
{
	size_t i = 0;
	int depth = 0;

	do {
		if (i < len && s[i] == ' ' && depth > 0)
			i++;
		if (i >= len)
			abort();
		if (s[i] == '(') {
			depth++;
			i++;
		} else if (s[i] == ')') {
			if (--depth < 0)
				abort();
			i++;
		} else if (s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\\') {
					i++;
					if (i >= len || (s[i] != '"' && s[i] != '\\'))
						abort();
				}
				if (i >= len || s[i] == '\r' || s[i] == '\n' || (unsigned char)s[i] >= 0x80)
					abort();
			}
			if (i >= len)
				abort();
			i++;
		} else if (s[i] == '{') {
			size_t n = 0;
			for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
				n = n * 10 + (size_t)(s[i] - '0');
			if (i + 3 > len || memcmp(s + i, "}\r\n", 3) != 0)
				abort();
			i += 3;
			if (n > len - i || memchr(s + i, '\0', n) != NULL)
				abort();
			i += n;
		} else if (len - i >= 3 && memcmp(s + i, "NIL", 3) == 0) {
			i += 3;
		} else if (s[i] >= '0' && s[i] <= '9') {
			while (i < len && s[i] >= '0' && s[i] <= '9')
				i++;
		} else
			abort();
	} while (depth > 0);
	if (i != len)
		abort();
}

#endif
