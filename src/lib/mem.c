/* SPDX-License-Identifier: ISC */
/*
 * mem.c - xmalloc family and arena pools.
 *
 * Allocation failure aborts with a log line: no caller handles NULL, so no
 * caller can handle it wrongly. Pools hand out memory from chained blocks
 * and are freed as a unit; large requests get a block of their own.
 */
#include "lib.h"
#include "mem.h"
#include "log.h"

#define POOL_ALIGN 16

struct pool_block {
	struct pool_block *next;
	size_t size, used;
	unsigned char data[];
};

struct pool {
	struct pool_block *blocks;
	size_t block_size;
};

static void ATTR_NORETURN oom(size_t size)
{
	panic("out of memory allocating %zu bytes", size);
}

void *xmalloc(size_t size)
{
	void *p = malloc(size == 0 ? 1 : size);
	if (unlikely(p == NULL))
		oom(size);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
	if (unlikely(p == NULL))
		oom(n * size);
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size == 0 ? 1 : size);
	if (unlikely(p == NULL))
		oom(size);
	return p;
}

void *xreallocarray(void *ptr, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		oom(SIZE_MAX);
	return xrealloc(ptr, n * size);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom(strlen(fmt));
	va_end(ap);
	return s;
}

struct pool *pool_new(size_t block_size)
{
	struct pool *pool = xcalloc(1, sizeof(*pool));
	pool->block_size = block_size < 256 ? 256 : block_size;
	return pool;
}

void *p_alloc(struct pool *pool, size_t size)
{
	struct pool_block *b = pool->blocks;
	size = (size + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
	if (b == NULL || b->size - b->used < size) {
		size_t bsize = size > pool->block_size ? size : pool->block_size;
		b = xmalloc(sizeof(*b) + bsize);
		b->size = bsize;
		b->used = 0;
		b->next = pool->blocks;
		pool->blocks = b;
	}
	void *p = b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

char *p_strndup(struct pool *pool, const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = p_alloc(pool, len + 1);
	memcpy(p, s, len);
	return p;
}

char *p_strdup(struct pool *pool, const char *s)
{
	return p_strndup(pool, s, strlen(s));
}

char *p_printf(struct pool *pool, const char *fmt, ...)
{
	va_list ap;
	char *tmp, *s;

	va_start(ap, fmt);
	if (vasprintf(&tmp, fmt, ap) < 0)
		oom(strlen(fmt));
	va_end(ap);
	s = p_strdup(pool, tmp);
	free(tmp);
	return s;
}

void pool_free(struct pool **_pool)
{
	struct pool *pool = *_pool;
	if (pool == NULL)
		return;
	*_pool = NULL;
	while (pool->blocks != NULL) {
		struct pool_block *next = pool->blocks->next;
		free(pool->blocks);
		pool->blocks = next;
	}
	free(pool);
}
