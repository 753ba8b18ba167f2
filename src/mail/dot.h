/* SPDX-License-Identifier: ISC */
/*
 * dot.h - the DATA phase as a streaming state machine (RFC 5321 4.5.2).
 *
 * The SMTP session feeds whatever bytes arrived after its 354 reply; the
 * decoder removes dot-stuffing, finds the end of the message and reports
 * what the policy layer needs without buffering the message: its size,
 * 8-bit octets, over-long lines, and any bare CR or LF. Only CR LF "." CR LF
 * ends the message, so the SMTP smuggling variants ("\n.\n", "\n.\r\n",
 * "\r.\r", "\r\n.\r", "\r\n.\n") stay inside the data, are flagged, and the
 * session refuses the message once the real end has been read, never
 * mistaking what follows them for commands.
 */
#ifndef POSTINO_DOT_H
#define POSTINO_DOT_H

#include "lib/lib.h"

#define DOT_LINE_MAX 998 /* octets per line without CRLF, RFC 5322 2.1.1 */

enum dot_flag {
	DOT_BARE_LF = 0x01,   /* error: LF not preceded by CR */
	DOT_BARE_CR = 0x02,   /* error: CR not followed by LF */
	DOT_8BIT = 0x04,      /* an octet >= 0x80 (needs 8BITMIME, RFC 6152) */
	DOT_LONG_LINE = 0x08, /* a line over DOT_LINE_MAX */
	DOT_NUL = 0x10,       /* a NUL octet (RFC 5322 2.1 allows none) */
};
/* The flags that make the message unacceptable. */
#define DOT_ERRORS (DOT_BARE_LF | DOT_BARE_CR)

enum dot_state {
	DOT_STATE_LINE_START, /* after CR LF (or right after DATA) */
	DOT_STATE_TEXT,       /* inside a line */
	DOT_STATE_CR,         /* after a CR inside a line */
	DOT_STATE_DOT,        /* after a line-initial dot (already removed) */
	DOT_STATE_DOT_CR,     /* after "." CR at a line start: the end, if LF follows */
	DOT_STATE_DONE,       /* the end line was consumed */
};

/* Fields are read-only for callers. */
struct dot_decoder {
	enum dot_state state;
	unsigned flags;     /* enum dot_flag seen so far */
	uint64_t size;      /* message octets produced (what SIZE counts, RFC 1870) */
	uint64_t wire_size; /* octets consumed, stuffing and end line included */
	uint64_t error_at;  /* wire offset of the first DOT_ERRORS octet, for logs */
	size_t line_len;    /* octets in the current line so far */
};

void dot_decoder_init(struct dot_decoder *d);

/* dot_decode - consume in[0..len) up to the end line. The unstuffed
 * message bytes go to out (room for len octets; out may equal in, as
 * output never overtakes input), *out_len_r says how many. Returns 0 when
 * everything was consumed and the message goes on; 1 when the end line was
 * consumed and the message is good; -1 when the end line was consumed but
 * DOT_ERRORS were seen (refuse it: 5xx, the session stays in sync). After
 * 1/-1, in[*consumed_r..len) is the next command (PIPELINING). Once an
 * error is flagged the output is no longer the message: discard it. */
int dot_decode(struct dot_decoder *d, const void *in, size_t len, void *out, size_t *out_len_r,
	       size_t *consumed_r);

#endif
