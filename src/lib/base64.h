/* SPDX-License-Identifier: ISC */
/* base64.h - RFC 4648 section 4 base64 (SMTP AUTH, MIME, RFC 2047). */
#ifndef POSTINO_BASE64_H
#define POSTINO_BASE64_H

#include "lib/lib.h"
#include "lib/buf.h"

/* Bytes needed to encode len bytes (without NUL). */
size_t base64_encoded_len(size_t len);
/* Append the encoding of data to out; -1 when out's limit is reached. */
int base64_encode(const void *data, size_t len, struct buf *out) ATTR_NODISCARD;
/* Strict decode (no whitespace, correct padding); -1 on bad input or when
 * out's limit is reached. */
int base64_decode(const char *in, size_t len, struct buf *out) ATTR_NODISCARD;

#endif
