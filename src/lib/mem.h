/* SPDX-License-Identifier: ISC */
/* mem.h - allocation that never returns NULL, and arena pools. */
#ifndef POSTINO_MEM_H
#define POSTINO_MEM_H

#include "lib.h"

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
/* n elements of size bytes; an overflowing product is out of memory. */
void *xreallocarray(void *ptr, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) ATTR_FORMAT(printf, 1, 2);

/* A pool frees everything allocated from it at once (session, command). */
struct pool;
struct pool *pool_new(size_t block_size);
void *p_alloc(struct pool *pool, size_t size);
char *p_strdup(struct pool *pool, const char *s);
char *p_strndup(struct pool *pool, const char *s, size_t n);
char *p_printf(struct pool *pool, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);
void pool_free(struct pool **_pool);

#endif
