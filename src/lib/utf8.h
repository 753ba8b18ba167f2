/* SPDX-License-Identifier: ISC */
/*
 * utf8.h - well-formed UTF-8 per RFC 3629 section 4: no overlong forms,
 * no surrogates, nothing past U+10FFFF. One validator for every parser
 * (addresses, encoded-words, mailbox names, IMAP strings), so they cannot
 * disagree about what is UTF-8.
 */
#ifndef POSTINO_UTF8_H
#define POSTINO_UTF8_H

#include "lib/lib.h"

/* Length of the well-formed sequence at s (1 for ASCII, NUL included),
 * never reading past avail bytes; 0 when malformed or truncated. */
size_t utf8_seq_len(const void *s, size_t avail);
/* Decode the code point at in[*pos] and advance *pos; -1 when malformed. */
int utf8_next(const void *in, size_t len, size_t *pos, uint32_t *cp_r);
/* The whole of data[0..size) is well-formed UTF-8. */
bool utf8_valid(const void *data, size_t size);

#endif
