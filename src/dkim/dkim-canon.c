/* SPDX-License-Identifier: ISC */
/*
 * dkim-canon.c - the "simple" and "relaxed" canonicalisations of RFC 6376
 * 3.4, for header fields and for a body that streams past.
 *
 * Messages in our spool and queue files normally end lines in CRLF, but a
 * file written by another tool may use LF alone: both are taken as the
 * CRLF the message has on the wire, so the hash is the one a verifier
 * computes on the received bytes.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "dkim/dkim.h"

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* is_line_break - raw[i] is the LF, or the CR of a CRLF, of a line end
 * (a CR at the very end counts: the LF was cut off with the field). */
static bool is_line_break(const char *raw, size_t len, size_t i)
{
	return raw[i] == '\n' || (raw[i] == '\r' && (i + 1 == len || raw[i + 1] == '\n'));
}

/* canon_header_simple - RFC 6376 3.4.1: unchanged, except that each line
 * ends in CRLF, and the field ends in CRLF. */
static int canon_header_simple(const char *raw, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n')
			continue;
		if (raw[i] == '\n' || (raw[i] == '\r' && i + 1 == len)) {
			if (buf_append(out, "\r\n", 2) < 0)
				return -1;
			continue;
		}
		if (buf_append(out, &raw[i], 1) < 0)
			return -1;
	}
	if (len == 0 || (raw[len - 1] != '\n' && raw[len - 1] != '\r'))
		return buf_append(out, "\r\n", 2);
	return 0;
}

/* canon_header_relaxed - RFC 6376 3.4.2: name lower-cased, lines
 * unfolded, blank runs made one SP, blanks at the end of the value and
 * around the colon removed. */
static int canon_header_relaxed(const char *raw, size_t len, struct buf *out)
{
	size_t colon = 0, name_end;
	bool wsp = false, started = false;

	while (colon < len && raw[colon] != ':')
		colon++;
	name_end = colon;
	while (name_end > 0 && (is_wsp(raw[name_end - 1]) || is_line_break(raw, len, name_end - 1)))
		name_end--;
	for (size_t i = 0; i < name_end; i++) {
		char c = ascii_lower(raw[i]);
		if (buf_append(out, &c, 1) < 0)
			return -1;
	}
	if (buf_append(out, ":", 1) < 0)
		return -1;
	for (size_t i = colon + 1; i < len; i++) {
		if (is_line_break(raw, len, i))
			continue; /* unfolding (RFC 5322 2.2.3) */
		if (is_wsp(raw[i])) {
			wsp = true;
			continue;
		}
		/* a blank run is written only once something follows it */
		if (wsp && started && buf_append(out, " ", 1) < 0)
			return -1;
		wsp = false;
		started = true;
		if (buf_append(out, &raw[i], 1) < 0)
			return -1;
	}
	return buf_append(out, "\r\n", 2);
}

int dkim_canon_header(enum dkim_canon canon, const char *raw, size_t len, struct buf *out)
{
	return canon == DKIM_CANON_SIMPLE ? canon_header_simple(raw, len, out)
					  : canon_header_relaxed(raw, len, out);
}

/* ---- body ---- */

void dkim_body_init(struct dkim_body *b, enum dkim_canon canon, dkim_sink_fn *sink, void *ctx)
{
	memset(b, 0, sizeof(*b));
	b->canon = canon;
	b->sink = sink;
	b->ctx = ctx;
}

static void body_flush(struct dkim_body *b)
{
	if (b->out_len > 0)
		b->sink(b->ctx, b->out, b->out_len);
	b->out_len = 0;
}

static void body_put(struct dkim_body *b, char c)
{
	if (b->out_len == sizeof(b->out))
		body_flush(b);
	b->out[b->out_len++] = c;
}

/* body_content - one octet of line content: the empty lines held back
 * were not the end of the body after all. */
static void body_content(struct dkim_body *b, char c)
{
	if (b->canon == DKIM_CANON_RELAXED && is_wsp(c)) {
		b->wsp = true; /* 3.4.4 a/b: a run becomes one SP, or nothing at the end */
		return;
	}
	for (; b->empty_lines > 0; b->empty_lines--) {
		body_put(b, '\r');
		body_put(b, '\n');
	}
	if (b->wsp)
		body_put(b, ' ');
	b->wsp = false;
	body_put(b, c);
	b->content = true;
	b->any = true;
}

/* body_line_end - an empty line is held back (3.4.3, 3.4.4: empty lines
 * at the end of the body are ignored). */
static void body_line_end(struct dkim_body *b)
{
	b->wsp = false;
	if (!b->content) {
		b->empty_lines++;
		return;
	}
	body_put(b, '\r');
	body_put(b, '\n');
	b->content = false;
}

void dkim_body_feed(struct dkim_body *b, const void *data_, size_t len)
{
	const char *data = data_;

	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		if (b->cr) {
			b->cr = false;
			if (c == '\n') {
				body_line_end(b);
				continue;
			}
			body_content(b, '\r');
		}
		if (c == '\r')
			b->cr = true;
		else if (c == '\n')
			body_line_end(b);
		else
			body_content(b, c);
	}
}

void dkim_body_finish(struct dkim_body *b)
{
	if (b->cr) {
		b->cr = false;
		body_content(b, '\r');
	}
	/* a last line without its line end gets one (3.4.3, 3.4.4 c) */
	if (b->content)
		body_line_end(b);
	/* 3.4.3: an empty body is one CRLF in "simple"; 3.4.4 leaves it
	 * empty in "relaxed" */
	if (!b->any && b->canon == DKIM_CANON_SIMPLE) {
		body_put(b, '\r');
		body_put(b, '\n');
	}
	b->empty_lines = 0;
	body_flush(b);
}
