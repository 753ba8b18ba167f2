/* SPDX-License-Identifier: ISC */
/*
 * utf7.h - IMAP's modified UTF-7 for mailbox names (RFC 3501 section
 * 5.1.3; RFC 9051 section 5.1.3 keeps it for IMAP4rev1 clients), and a
 * UTF-8 validator.
 *
 * Decoding is strict: every name has exactly one accepted encoding (no
 * BASE64 for printable ASCII, no "-&" null shift between two runs, no
 * spare or non-zero padding bits, surrogates paired), so two different
 * encodings can never name one mailbox, and encode(decode(y)) == y.
 */
#ifndef POSTINO_UTF7_H
#define POSTINO_UTF7_H

#include "lib/lib.h"
#include "lib/utf8.h" /* utf8_valid, for callers that check names */

struct buf;


/* utf7_encode - UTF-8 in[0..len) to modified UTF-7, appended to out.
 * -1 (error_r) for invalid UTF-8, a NUL, or out's limit reached. */
int utf7_encode(const void *in, size_t len, struct buf *out, const char **error_r);

/* utf7_decode - modified UTF-7 in[0..len) to UTF-8, appended to out. -1
 * (error_r) for anything but the canonical encoding of a NUL-free name,
 * or out's limit reached. */
int utf7_decode(const void *in, size_t len, struct buf *out, const char **error_r);

/* A canonical modified UTF-7 name (utf7_decode() would accept it). */
bool utf7_valid(const void *in, size_t len);

#endif
