/* SPDX-License-Identifier: ISC */
/*
 * dot.c - DATA-phase unstuffing and end detection (RFC 5321 4.5.2, 4.1.1.4).
 *
 * One byte at a time through five states, so the result cannot depend on
 * how TCP split the stream. A line-initial dot is always dropped (it is
 * either stuffing or the end line), so the only octet ever held back is
 * the CR of "." CR, which is why output never overtakes input. Bare CR and
 * bare LF are errors, never line ends: treating them as line ends is what
 * SMTP smuggling exploits (lines ending differently for us and the next
 * hop). Scanning continues past an error to the genuine CR LF "." CR LF.
 */
#include "lib/lib.h"
#include "mail/dot.h"

void dot_decoder_init(struct dot_decoder *d)
{
	memset(d, 0, sizeof(*d));
	d->state = DOT_STATE_LINE_START;
}

static void dot_error(struct dot_decoder *d, unsigned flag, uint64_t at)
{
	if ((d->flags & DOT_ERRORS) == 0)
		d->error_at = at;
	d->flags |= flag;
}

/* text_byte - c inside a line; returns the octets written to out. */
static size_t text_byte(struct dot_decoder *d, unsigned char c, unsigned char *out, uint64_t at)
{
	*out = c;
	if (c == '\r') {
		d->state = DOT_STATE_CR;
		return 1;
	}
	d->state = DOT_STATE_TEXT;
	if (c == '\n') {
		/* not a line end: the next octet starts no line, so "\n.\n"
		 * and "\n.\r\n" are plain data */
		dot_error(d, DOT_BARE_LF, at);
		return 1;
	}
	if (++d->line_len > DOT_LINE_MAX)
		d->flags |= DOT_LONG_LINE;
	if (c >= 0x80)
		d->flags |= DOT_8BIT;
	else if (c == '\0')
		d->flags |= DOT_NUL;
	return 1;
}

/* plain_run - how many octets from in need no state change: inside a line,
 * neither CR, LF nor NUL. They are copied as they are; the run's 8-bit and
 * line-length flags are set here. The common case, so it is one tight
 * loop instead of the state machine's switch per octet (the result is the
 * same; test-dot and fuzz-dot compare). */
static size_t plain_run(struct dot_decoder *d, const unsigned char *in, size_t n,
			unsigned char *out)
{
	unsigned char high = 0;
	size_t k = 0;

	for (; k < n; k++) {
		unsigned char c = in[k];
		if (c == '\r' || c == '\n' || c == '\0')
			break;
		high |= c;
		out[k] = c;
	}
	if (high & 0x80)
		d->flags |= DOT_8BIT;
	d->line_len += k;
	if (d->line_len > DOT_LINE_MAX)
		d->flags |= DOT_LONG_LINE;
	return k;
}

int dot_decode(struct dot_decoder *d, const void *in_, size_t len, void *out_, size_t *out_len_r,
	       size_t *consumed_r)
{
	const unsigned char *in = in_;
	unsigned char *out = out_;
	size_t i, o = 0;

	for (i = 0; i < len && d->state != DOT_STATE_DONE; i++) {
		unsigned char c = in[i];
		uint64_t at = d->wire_size + i;

		if (d->state == DOT_STATE_TEXT) {
			size_t run = plain_run(d, in + i, len - i, out + o);
			o += run;
			i += run;
			if (i == len)
				break;
			c = in[i];
			at = d->wire_size + i;
		}
		switch (d->state) {
		case DOT_STATE_LINE_START:
			if (c == '.') {
				/* stuffing or the end line: dropped either way */
				d->state = DOT_STATE_DOT;
				break;
			}
			o += text_byte(d, c, out + o, at);
			break;
		case DOT_STATE_TEXT:
			o += text_byte(d, c, out + o, at);
			break;
		case DOT_STATE_CR:
			if (c == '\n') {
				out[o++] = c;
				d->line_len = 0;
				d->state = DOT_STATE_LINE_START;
				break;
			}
			dot_error(d, DOT_BARE_CR, at - 1);
			o += text_byte(d, c, out + o, at);
			break;
		case DOT_STATE_DOT:
			if (c == '\r') {
				d->state = DOT_STATE_DOT_CR;
				break;
			}
			o += text_byte(d, c, out + o, at);
			break;
		case DOT_STATE_DOT_CR:
			if (c == '\n') {
				/* CR LF "." CR LF: the first CR LF was the last line's
				 * end and is already out; the rest is the terminator */
				d->state = DOT_STATE_DONE;
				break;
			}
			/* "." CR without LF: the held CR is dropped; the message is
			 * refused anyway */
			dot_error(d, DOT_BARE_CR, at - 1);
			o += text_byte(d, c, out + o, at);
			break;
		case DOT_STATE_DONE:
			break;
		}
	}
	d->wire_size += i;
	d->size += o;
	*out_len_r = o;
	*consumed_r = i;
	if (d->state != DOT_STATE_DONE)
		return 0;
	return (d->flags & DOT_ERRORS) != 0 ? -1 : 1;
}
