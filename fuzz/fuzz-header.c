/* SPDX-License-Identifier: ISC */
/*
 * fuzz-header.c - libFuzzer: the header parser never crashes, gives the
 * same fields whether fed whole, one byte at a time or in chunks, keeps
 * the raw bytes exactly; every Date: it reads formats and parses back to
 * the same instant; and a Received: built from hostile strings is one
 * well-formed field.
 *
 * Input: one octet choosing the chunk size, then the message.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "mail/date.h"
#include "mail/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct header *h;
	int ret;
	size_t consumed;
};

static struct run run_chunks(const uint8_t *in, size_t len, size_t chunk)
{
	struct run r = { .h = header_new(), .ret = 0, .consumed = 0 };
	const char *error;

	while (r.consumed < len) {
		size_t n = chunk == 0 || len - r.consumed < chunk ? len - r.consumed : chunk, used;
		uint8_t *piece = xmalloc(n);
		memcpy(piece, in + r.consumed, n);
		r.ret = header_feed(r.h, piece, n, &used, &error);
		free(piece);
		if (used > n || (r.ret == 0 && used != n))
			abort();
		r.consumed += used;
		if (r.ret != 0)
			break;
	}
	if (r.ret == 0 && header_finish(r.h) < 0)
		abort();
	return r;
}

static void same(const struct run *a, const struct run *b)
{
	size_t la, lb;
	const char *ra = header_raw(a->h, &la), *rb = header_raw(b->h, &lb);

	if (a->ret != b->ret || a->consumed != b->consumed || la != lb || memcmp(ra, rb, la) != 0 ||
	    header_flags(a->h) != header_flags(b->h) || header_end(a->h) != header_end(b->h) ||
	    header_field_count(a->h) != header_field_count(b->h))
		abort();
	for (size_t i = 0; i < header_field_count(a->h); i++) {
		const struct header_field *fa = header_field_at(a->h, i), *fb = header_field_at(b->h, i);
		if (strcmp(fa->name, fb->name) != 0 || fa->value_len != fb->value_len ||
		    memcmp(fa->value, fb->value, fa->value_len) != 0 ||
		    fa->raw_offset != fb->raw_offset || fa->raw_len != fb->raw_len ||
		    fa->raw_offset + fa->raw_len > la)
			abort();
	}
}

static void check_dates(const struct header *h)
{
	const struct header_field *f;
	size_t iter = 0;

	while ((f = header_find(h, "Date", &iter)) != NULL) {
		char text[DATE_TEXT_MAX];
		int64_t t, t2;
		int tz, tz2;
		if (date_parse(f->value, &t, &tz) < 0)
			continue;
		if (date_format(t, tz, text, sizeof(text)) < 0)
			continue; /* 1 Jan 1900 in a zone east of UTC */
		if (date_parse(text, &t2, &tz2) < 0 || t2 != t || tz2 != tz)
			abort();
	}
}

/* check_received - hostile strings still make exactly one field. */
static void check_received(const uint8_t *in, size_t len)
{
	struct pool *pool = pool_new(0);
	char *s = p_strndup(pool, (const char *)in, len);
	struct header_received r = {
		.helo = s, .rdns = s, .ip = s, .by = s, .id = s, .rcpt = s, .tls = s,
		.esmtp = len % 2 == 0, .tls_used = len % 3 == 0, .authenticated = len % 5 == 0,
		.smtputf8 = len % 7 == 0, .time = 1700000000, .tz_minutes = 0,
	};
	const char *field = header_received(pool, &r);
	struct run run;

	if (field == NULL)
		abort();
	run = run_chunks((const uint8_t *)field, strlen(field), 0);
	if (header_field_count(run.h) != 1 || header_count(run.h, "Received") != 1 ||
	    (header_flags(run.h) & (HEADER_INVALID | HEADER_BARE_LF)) != 0)
		abort();
	/* every line end is a fold or the field's end */
	for (const char *p = field; (p = strpbrk(p, "\r\n")) != NULL; p += 2) {
		if (p[0] != '\r' || p[1] != '\n' || (p[2] != '\t' && p[2] != '\0'))
			abort();
	}
	header_free(&run.h);
	pool_free(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = data[0] % 31 + 1;
	const uint8_t *in = data + 1;
	size_t len = size - 1;
	struct run whole = run_chunks(in, len, 0);
	struct run bytes = run_chunks(in, len, 1);
	struct run chunks = run_chunks(in, len, chunk);

	same(&whole, &bytes);
	same(&whole, &chunks);
	check_dates(whole.h);
	(void)header_count(whole.h, "Received");
	header_free(&whole.h);
	header_free(&bytes.h);
	header_free(&chunks.h);
	/* the first line as every part of a Received: field */
	const uint8_t *nl = memchr(in, '\n', len > 300 ? 300 : len);
	check_received(in, nl != NULL ? (size_t)(nl - in) : (len > 300 ? 300 : len));
	return 0;
}
