/* SPDX-License-Identifier: ISC */
/*
 * fuzz-dot.c - libFuzzer, differential: the DATA decoder gives the same
 * output, end, flags and counts whether fed whole, in place, one byte at a
 * time or in chunks of a size taken from the input; and it agrees with a
 * non-streaming reference: the end is the first CR LF "." CR LF (counting
 * the CR LF of the DATA line), errors are exactly the bare CRs and LFs
 * before it, and a clean message is its lines minus their first dot.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "mail/dot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	int ret;
	size_t consumed, out_len;
	char *out;
	struct dot_decoder d;
};

static struct run run_chunks(const uint8_t *in, size_t len, size_t chunk)
{
	struct run r = { .ret = 0, .consumed = 0, .out_len = 0, .out = xmalloc(len + 1) };

	dot_decoder_init(&r.d);
	while (r.consumed < len) {
		size_t n = chunk == 0 || len - r.consumed < chunk ? len - r.consumed : chunk;
		size_t out_len, used;
		/* a private copy so ASan sees reads past the chunk */
		uint8_t *piece = xmalloc(n);
		memcpy(piece, in + r.consumed, n);
		r.ret = dot_decode(&r.d, piece, n, r.out + r.out_len, &out_len, &used);
		free(piece);
		if (used > n || out_len > used || (r.ret == 0 && used != n))
			abort();
		r.consumed += used;
		r.out_len += out_len;
		if (r.ret != 0)
			break;
	}
	return r;
}

static void same(const struct run *a, const struct run *b)
{
	if (a->ret != b->ret || a->consumed != b->consumed || a->out_len != b->out_len ||
	    memcmp(a->out, b->out, a->out_len) != 0 || a->d.flags != b->d.flags ||
	    a->d.size != b->d.size || a->d.wire_size != b->d.wire_size ||
	    a->d.error_at != b->d.error_at || a->d.state != b->d.state)
		abort();
}

static size_t ref_end(const uint8_t *s, size_t len)
{
	if (len >= 3 && memcmp(s, ".\r\n", 3) == 0)
		return 3;
	for (size_t i = 0; i + 5 <= len; i++) {
		if (memcmp(s + i, "\r\n.\r\n", 5) == 0)
			return i + 5;
	}
	return 0;
}

static bool ref_bad(const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r' && (i + 1 >= len || s[i + 1] != '\n'))
			return true;
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = data[0] % 17 + 1;
	const uint8_t *in = data + 1;
	size_t len = size - 1;
	struct run whole = run_chunks(in, len, 0);
	struct run bytes = run_chunks(in, len, 1);
	struct run chunks = run_chunks(in, len, chunk);

	same(&whole, &bytes);
	same(&whole, &chunks);
	if (whole.d.size != whole.out_len || whole.d.wire_size != whole.consumed)
		abort();

	/* in place */
	uint8_t *buf = xmalloc(len + 1);
	struct dot_decoder d;
	size_t out_len, used;
	memcpy(buf, in, len);
	dot_decoder_init(&d);
	if (dot_decode(&d, buf, len, buf, &out_len, &used) != whole.ret || used != whole.consumed ||
	    out_len != whole.out_len || memcmp(buf, whole.out, out_len) != 0)
		abort();
	free(buf);

	/* the reference */
	size_t end = ref_end(in, len);
	if ((whole.ret != 0) != (end != 0))
		abort();
	if (end != 0) {
		if (whole.consumed != end || (whole.ret == -1) != ref_bad(in, end))
			abort();
		if (whole.ret == 1) {
			size_t o = 0;
			bool line_start = true;
			for (size_t i = 0; i < end - 3; i++) {
				if (line_start && in[i] == '.') {
					line_start = false;
					continue;
				}
				if (o >= whole.out_len || whole.out[o++] != (char)in[i])
					abort();
				line_start = in[i] == '\n';
			}
			if (o != whole.out_len)
				abort();
		}
	}
	free(whole.out);
	free(bytes.out);
	free(chunks.out);
	return 0;
}
