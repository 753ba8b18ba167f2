/* SPDX-License-Identifier: ISC */
/*
 * rfc2047.h - header text for people: encoded-words (RFC 2047) decoded and
 * every charset converted to UTF-8.
 *
 * ENVELOPE and BODYSTRUCTURE carry header text as written (IMAP clients
 * decode it themselves); SEARCH, the full-text index, attachment names and
 * logs need it as UTF-8. Decoding never fails: malformed encoded-words stay
 * as written and unknown charsets fall back to a guess, because a search
 * that silently skips a message is worse than one showing a U+FFFD.
 */
#ifndef POSTINO_RFC2047_H
#define POSTINO_RFC2047_H

#include "lib/lib.h"

struct pool;

/* Longest charset name we hand to iconv_open(3); IANA names are at most
 * 40 characters (RFC 2978 2.3). */
#define RFC2047_CHARSET_MAX 64

/* rfc2047_decode - in[0..len), a header value, as UTF-8 from pool:
 * encoded-words decoded (B and Q, RFC 2047 4), whitespace between adjacent
 * encoded-words dropped (RFC 2047 6.2), CR and LF removed (unfolding),
 * malformed words kept as written, and 8-bit text outside encoded-words
 * kept when it is UTF-8 (RFC 6532) or read as Windows-1252 otherwise.
 * NUL octets become spaces so the result is a C string. */
char *rfc2047_decode(struct pool *pool, const char *in, size_t len);

/* rfc2047_charset_to_utf8 - in[0..len) in charset (a MIME charset name,
 * NULL or unknown: guessed as above) converted to UTF-8 from pool.
 * Invalid sequences become U+FFFD; never fails. Also used for RFC 2231
 * parameter values. */
char *rfc2047_charset_to_utf8(struct pool *pool, const char *charset, const void *in,
			      size_t len);

/* rfc2047_utf8_valid - in[0..len) is well-formed UTF-8 (RFC 3629 4). */
bool rfc2047_utf8_valid(const void *in, size_t len);

#endif
