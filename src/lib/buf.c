/* SPDX-License-Identifier: ISC */
/* buf.c - growable byte buffer with an optional hard limit. */
#include "lib.h"
#include "buf.h"
#include "mem.h"

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b, b->max);
}

int buf_append(struct buf *b, const void *data, size_t len)
{
	if (b->max != 0 && (len > b->max || b->len > b->max - len))
		return -1;
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap < 64 ? 64 : b->cap;
		while (cap < b->len + len + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, ret;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	ret = buf_append(b, s, (size_t)n);
	free(s);
	return ret;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

ssize_t buf_find_crlf(const struct buf *b, size_t from)
{
	for (size_t i = from; i + 1 < b->len; i++) {
		if (b->data[i] == '\r' && b->data[i + 1] == '\n')
			return (ssize_t)i;
	}
	return -1;
}
