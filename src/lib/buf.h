/* SPDX-License-Identifier: ISC */
/* buf.h - a growable byte buffer that always carries its length. */
#ifndef POSTINO_BUF_H
#define POSTINO_BUF_H

#include "lib.h"

struct buf {
	char *data; /* always NUL-terminated for convenience */
	size_t len, cap;
	size_t max; /* 0 = unbounded; appends past it fail */
};

void buf_init(struct buf *b, size_t max);
void buf_reset(struct buf *b);
void buf_release(struct buf *b);
int buf_append(struct buf *b, const void *data, size_t len) ATTR_NODISCARD;
int buf_append_str(struct buf *b, const char *s) ATTR_NODISCARD;
int buf_printf(struct buf *b, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3) ATTR_NODISCARD;
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* Offset of the first "\r\n" at or after from, or -1. */
ssize_t buf_find_crlf(const struct buf *b, size_t from);

#endif
