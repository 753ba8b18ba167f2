/* SPDX-License-Identifier: ISC */
/*
 * fuzz-smtpc-reply.c - libFuzzer: what a remote SMTP server sends the
 * outbound client. The input is split into lines and fed to the reply
 * parser, which must never crash or read past a line, and whose complete
 * replies must be sane: a valid code, an enhanced code of the reply's
 * class or none, text bounded and printable. The same input, taken as a
 * message file, goes through the body encoder whole and in chunks: the
 * outputs must agree, and the server's DATA decoder must find exactly one
 * clean end, at the very end.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "mail/dot.h"
#include "smtpc/smtpc-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply(const struct smtpc_reply_parser *p)
{
	const struct smtpc_reply *r = &p->reply;
	size_t len = strnlen(r->text, sizeof(r->text));

	if (r->code < 200 || r->code > 559 || r->code != p->code || p->lines == 0 ||
	    p->lines > SMTPC_REPLY_LINES_MAX || len >= sizeof(r->text) || len != p->text_len)
		abort();
	for (size_t i = 0; i < len; i++) {
		if (r->text[i] < 0x20 || r->text[i] > 0x7e)
			abort();
	}
	if (r->enhanced[0] != '\0' && r->enhanced[0] != '0' + r->code / 100)
		abort();
	if (strnlen(r->enhanced, sizeof(r->enhanced)) >= sizeof(r->enhanced))
		abort();
}

static void fuzz_replies(const uint8_t *data, size_t size)
{
	struct smtpc_reply_parser p;
	size_t pos = 0;

	smtpc_reply_parser_init(&p);
	while (pos < size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t len = nl != NULL ? (size_t)(nl - (data + pos)) : size - pos;
		size_t line_len = len > 0 && data[pos + len - 1] == '\r' ? len - 1 : len;
		/* a private copy of exactly the line, so ASan sees any overread */
		char *line = xmalloc(line_len + 1);
		int ret;

		memcpy(line, data + pos, line_len);
		ret = smtpc_reply_parser_feed(&p, line, line_len);
		free(line);
		if (ret == 1)
			check_reply(&p);
		else if (ret == -1 && (p.reply.code != 0 || p.reply.text[0] == '\0'))
			abort();
		else if (ret != 0 && ret != 1 && ret != -1)
			abort();
		if (ret != 0)
			smtpc_reply_parser_init(&p);
		pos += len + 1;
	}
}

static size_t encode(const uint8_t *data, size_t size, size_t chunk, char *out)
{
	struct smtpc_dot_encoder e;
	size_t o = 0, i = 0;

	smtpc_dot_encoder_init(&e);
	do {
		size_t n = size - i < chunk ? size - i : chunk;
		char *piece = xmalloc(n + 1), *tmp = xmalloc(2 * n + 8);
		memcpy(piece, data + i, n);
		size_t w = smtpc_dot_encode(&e, piece, n, tmp, i + n == size);
		if (w > 2 * n + 8)
			abort();
		memcpy(out + o, tmp, w);
		free(piece);
		free(tmp);
		o += w;
		i += n;
	} while (i < size);
	return o;
}

static void fuzz_body(const uint8_t *data, size_t size)
{
	size_t cap = 2 * size + 16, whole_len, chunk_len, dec_len, used;
	char *whole = xmalloc(cap), *chunked = xmalloc(cap), *dec = xmalloc(cap);
	size_t chunk = size > 0 ? (size_t)data[0] % 7 + 1 : 1;
	struct dot_decoder d;

	whole_len = encode(data, size, size > 0 ? size : 1, whole);
	chunk_len = encode(data, size, chunk, chunked);
	if (whole_len != chunk_len || memcmp(whole, chunked, whole_len) != 0)
		abort();
	dot_decoder_init(&d);
	if (dot_decode(&d, whole, whole_len, dec, &dec_len, &used) != 1 || used != whole_len ||
	    (d.flags & DOT_ERRORS) != 0)
		abort();
	free(whole);
	free(chunked);
	free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_replies(data, size);
	fuzz_body(data, size);
	return 0;
}
