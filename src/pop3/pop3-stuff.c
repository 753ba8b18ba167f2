/* SPDX-License-Identifier: ISC */
/*
 * pop3-stuff.c - the encoder between a stored message and a RETR or TOP
 * response: CRLF line ends, byte-stuffing, and TOP's line count.
 *
 * RFC 1939 3: a multi-line response ends with ".\r\n", so every line of
 * the message that starts with '.' gets one more '.' in front of it.
 * Maildir files may end their lines in LF or CRLF (store/maildir.c keeps
 * what it was given), and the octet count LIST and STAT gave is the CRLF
 * one (the W= of the file name): a bare LF goes out as CRLF. A CR not
 * followed by LF is passed through as data, as it was stored.
 *
 * TOP msg n (RFC 1939 7) sends the header, the empty line after it, and
 * then n lines of the body. The encoder counts lines as they pass, so the
 * file is read in chunks of any size and never held whole. It is a pure
 * state machine; test-pop3-stuff.c feeds it one octet at a time too.
 */
#include "lib/lib.h"
#include "pop3/pop3-private.h"

void pop3_stuff_init(struct pop3_stuff *st, int64_t lines)
{
	memset(st, 0, sizeof(*st));
	st->line_start = true;
	st->line_empty = true;
	st->limited = lines >= 0;
	st->lines_left = lines >= 0 ? (uint64_t)lines : 0;
}

/* stuff_line_end - a line ended: count it for TOP. */
static void stuff_line_end(struct pop3_stuff *st)
{
	bool was_empty = st->line_empty;

	st->line_start = true;
	st->line_empty = true;
	if (!st->limited)
		return;
	if (!st->in_body) {
		if (was_empty) {
			st->in_body = true; /* the empty line is sent, not counted */
			st->done = st->lines_left == 0;
		}
		return;
	}
	if (st->lines_left > 0)
		st->lines_left--;
	st->done = st->lines_left == 0;
}

/* stuff_data - one octet that is not a line end. */
static size_t stuff_data(struct pop3_stuff *st, char c, char *out)
{
	size_t n = 0;

	if (st->line_start && c == '.')
		out[n++] = '.';
	out[n++] = c;
	st->line_start = false;
	st->line_empty = false;
	return n;
}

size_t pop3_stuff_feed(struct pop3_stuff *st, const char *in, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len && !st->done; i++) {
		char c = in[i];

		if (st->pending_cr) {
			st->pending_cr = false;
			if (c == '\n') {
				out[n++] = '\r';
				out[n++] = '\n';
				stuff_line_end(st);
				continue;
			}
			n += stuff_data(st, '\r', out + n);
		}
		if (c == '\r') {
			st->pending_cr = true;
		} else if (c == '\n') {
			out[n++] = '\r';
			out[n++] = '\n';
			stuff_line_end(st);
		} else {
			n += stuff_data(st, c, out + n);
		}
	}
	return n;
}

size_t pop3_stuff_finish(struct pop3_stuff *st, char *out)
{
	size_t n = 0;

	/* a last line without its line end (or ending in a lone CR) still
	 * ends before the terminator, or the client would read ".\r\n" as
	 * part of it */
	if (st->pending_cr || (!st->line_start && !st->done)) {
		out[n++] = '\r';
		out[n++] = '\n';
	}
	st->pending_cr = false;
	st->line_start = true;
	memcpy(out + n, ".\r\n", 3);
	return n + 3;
}
