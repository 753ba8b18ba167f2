/* SPDX-License-Identifier: ISC */
/*
 * fuzz-imap-parser.c - libFuzzer: the IMAP command parser never crashes,
 * leaks or overruns, its trees respect the limits, and it is
 * chunking-blind: the transcript of events (commands, errors,
 * continuations, literals, literal data) is identical whether the input
 * is fed whole, byte by byte or in pseudo-random pieces.
 *
 * Input: byte 0 picks flags and limits (small ones, so streaming, depth
 * and size limits are reached), byte 1 seeds the random chunking, the
 * rest is the client's byte stream.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "imap/imap-parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct imap_parser *parser;
	const struct imap_parser_limits *limits;
	struct buf out, data;
	bool refuse_odd; /* refuse streamed literals of odd size */
};

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void add(struct buf *b, const void *p, size_t n)
{
	check(buf_append(b, p, n) == 0);
}

/* check_tree - the invariants every tree keeps; returns the number of
 * arguments at every level. */
static unsigned check_tree(const struct imap_arg *args, unsigned count, unsigned depth,
			   const struct imap_parser_limits *limits)
{
	unsigned total = count;

	check(depth <= limits->depth_max);
	check(count == 0 || args != NULL);
	for (unsigned i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];
		switch (a->type) {
		case IMAP_ARG_NIL:
		case IMAP_ARG_ATOM:
		case IMAP_ARG_STRING:
		case IMAP_ARG_LITERAL:
			check(a->str != NULL && a->str[a->len] == '\0');
			if (a->type != IMAP_ARG_LITERAL || !a->literal8)
				check(memchr(a->str, '\0', a->len) == NULL);
			if (a->type == IMAP_ARG_LITERAL)
				check(a->len == a->literal_size && a->len <= limits->literal_buffer_max);
			break;
		case IMAP_ARG_LITERAL_STREAM:
			check(a->literal_size > limits->literal_buffer_max &&
			      a->literal_size <= limits->literal_max);
			break;
		case IMAP_ARG_LIST:
			total += check_tree(a->list, a->list_count, depth + 1, limits);
			break;
		case IMAP_ARG_SECTION:
			check(a->section != NULL && a->section->spec != NULL);
			if (a->section->fields != NULL)
				total += check_tree(a->section->fields, a->section->fields_count,
						    depth + 1, limits);
			break;
		default:
			check(false);
		}
	}
	return total;
}

static void write_command(struct run *r, const struct imap_command *cmd)
{
	check(cmd->tag != NULL && cmd->name != NULL);
	check(check_tree(cmd->args, cmd->count, 0, r->limits) <= r->limits->args_max);
	check(buf_printf(&r->out, "%s %s ", cmd->tag, cmd->name) == 0);
	check(imap_args_write(&r->out, cmd->args, cmd->count) == 0);
	add(&r->out, "\n", 1);
}

static void flush_data(struct run *r)
{
	if (r->data.len == 0)
		return;
	check(buf_printf(&r->out, "DATA %zu ", r->data.len) == 0);
	add(&r->out, r->data.data, r->data.len);
	add(&r->out, "\n", 1);
	buf_reset(&r->data);
}

static void feed(struct run *r, const uint8_t *in, size_t len)
{
	size_t off = 0;

	while (off < len) {
		enum imap_parser_event event;
		size_t used = SIZE_MAX;
		int ret = imap_parser_feed(r->parser, in + off, len - off, &used, &event);

		check(used <= len - off);
		if (ret == 1 && event == IMAP_PARSER_EVENT_LITERAL_DATA) {
			const struct imap_parser_literal *lit = imap_parser_get_literal(r->parser);
			check(lit->data >= in + off && lit->data + lit->data_size <= in + off + used);
			check(lit->data_size > 0 && lit->offset + lit->data_size <= lit->size);
			add(&r->data, lit->data, lit->data_size);
			off += used;
			continue;
		}
		flush_data(r);
		off += used;
		if (imap_parser_continuation_wanted(r->parser))
			add(&r->out, "+\n", 2);
		if (ret < 0) {
			const struct imap_parser_error *err = imap_parser_get_error(r->parser);
			check(err->code != IMAP_PARSER_ERROR_NONE && err->text != NULL);
			check(buf_printf(&r->out, "ERR %s %d %d %d %s\n", err->tag != NULL ? err->tag : "*",
					 err->code, err->skip_line, err->fatal, err->text) == 0);
			continue;
		}
		if (ret == 0) {
			check(off == len || imap_parser_continuation_wanted(r->parser));
			continue;
		}
		if (event == IMAP_PARSER_EVENT_COMMAND) {
			write_command(r, imap_parser_command(r->parser));
			continue;
		}
		check(event == IMAP_PARSER_EVENT_LITERAL);
		const struct imap_parser_literal *lit = imap_parser_get_literal(r->parser);
		check(buf_printf(&r->out, "LIT %" PRIu64 " %d ", lit->size, lit->sync) == 0);
		write_command(r, imap_parser_command(r->parser));
		if (r->refuse_odd && lit->size % 2 == 1) {
			imap_parser_literal_refuse(r->parser);
		} else {
			imap_parser_literal_accept(r->parser);
			if (imap_parser_continuation_wanted(r->parser))
				add(&r->out, "+\n", 2);
		}
	}
}

/* chunk 0: whole; SIZE_MAX: pseudo-random pieces. */
static char *transcript(const struct imap_parser_limits *limits, enum imap_parser_flags flags,
			bool refuse_odd, const uint8_t *in, size_t len, size_t chunk, unsigned seed,
			size_t *len_r)
{
	struct run r = { .limits = limits, .refuse_odd = refuse_odd };
	size_t off = 0;

	r.parser = imap_parser_new(limits, flags);
	buf_init(&r.out, 0);
	buf_init(&r.data, 0);
	while (off < len) {
		size_t n = chunk == 0 ? len - off : chunk;
		if (chunk == SIZE_MAX) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 17;
		}
		if (n > len - off)
			n = len - off;
		feed(&r, in + off, n);
		off += n;
	}
	flush_data(&r);
	imap_parser_free(&r.parser);
	buf_release(&r.data);
	*len_r = r.out.len;
	return r.out.data; /* NULL when empty */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits limits = imap_parser_default_limits;
	enum imap_parser_flags flags = 0;
	size_t len_whole, len_bytes, len_rnd;

	if (size < 2)
		return 0;
	uint8_t opt = data[0];
	unsigned seed = data[1];
	data += 2;
	size -= 2;

	if (opt & 1)
		flags |= IMAP_PARSER_FLAG_UTF8;
	if (opt & 2)
		flags |= IMAP_PARSER_FLAG_LITERAL8;
	if (opt & 4)
		flags |= IMAP_PARSER_FLAG_LITERAL_MINUS;
	if (opt & 8) {
		/* small limits, to reach every one of them */
		limits.line_max = 48;
		limits.command_max = 96;
		limits.literal_max = 64;
		limits.literal_buffer_max = 8;
		limits.depth_max = 4;
		limits.args_max = 12;
	}
	bool refuse_odd = (opt & 16) != 0;

	char *whole = transcript(&limits, flags, refuse_odd, data, size, 0, 0, &len_whole);
	char *bytes = transcript(&limits, flags, refuse_odd, data, size, 1, 0, &len_bytes);
	char *rnd = transcript(&limits, flags, refuse_odd, data, size, SIZE_MAX, seed, &len_rnd);

	check(len_whole == len_bytes && len_whole == len_rnd);
	check(len_whole == 0 || (memcmp(whole, bytes, len_whole) == 0 &&
				 memcmp(whole, rnd, len_whole) == 0));
	free(whole);
	free(bytes);
	free(rnd);
	return 0;
}
