/* SPDX-License-Identifier: ISC */
/*
 * header.h - the header block of a message (RFC 5322 2.2), parsed as it
 * streams past, plus the Received: field we prepend (RFC 5321 4.4).
 *
 * The SMTP session feeds the unstuffed DATA (or BDAT) bytes to
 * header_feed() until it returns 1 (the empty line was read; the rest is
 * body) or -1 (a limit was hit); at the end of the input it calls
 * header_finish() so a message without a body still has its last field.
 * Then loop detection counts Received:, filters read Delivered-To:,
 * Auto-Submitted:, List-Id:, Precedence:, Message-ID: with header_find().
 * The raw bytes are kept exactly as received, so nothing here rewrites the
 * message.
 */
#ifndef POSTINO_HEADER_H
#define POSTINO_HEADER_H

#include "lib/lib.h"

struct pool;

/* RFC 5322 sets no limit on a header. These bound one session's memory
 * and stay far above real mail (a few KiB, under 100 fields after many
 * hops; Postfix refuses 100 KiB per field, hop count 50). */
#define HEADER_BLOCK_MAX (256 * 1024) /* octets up to and including the empty line */
#define HEADER_FIELDS_MAX 1000        /* fields (continuation lines not counted) */

enum header_flag {
	HEADER_8BIT = 0x01,     /* octets >= 0x80 (RFC 6532 allows UTF-8 in values) */
	HEADER_INVALID = 0x02,  /* a line that is neither a field nor a continuation */
	HEADER_BARE_LF = 0x04,  /* a line ended by LF alone (accepted as a line end) */
};

enum header_end {
	HEADER_END_NONE = 0,   /* still reading */
	HEADER_END_BLANK_LINE, /* the empty line that starts the body */
	HEADER_END_EOF,        /* header_finish() before any empty line: no body */
};

struct header_field {
	const char *name;  /* as sent, case kept; "" for an invalid line */
	const char *value; /* unfolded (line ends removed), outer blanks trimmed */
	size_t value_len;  /* value may hold NUL octets: they are data too */
	size_t raw_offset; /* the field's octets in header_raw(), line ends included */
	size_t raw_len;
};

/* One Received: field (RFC 5321 4.4). Strings other than ip and by may be
 * NULL; characters that could break the field are replaced by '?'. */
struct header_received {
	const char *helo;    /* the HELO/EHLO argument */
	const char *rdns;    /* the client's verified reverse DNS name */
	const char *ip;      /* "192.0.2.1" or "2001:db8::1" */
	const char *by;      /* our host name */
	const char *id;      /* our id for the message */
	const char *rcpt;    /* the one recipient; NULL when several (RFC 5321 7.2) */
	const char *tls;     /* comment such as "TLSv1.3 TLS_AES_256_GCM_SHA384" */
	bool esmtp;          /* EHLO (not HELO) */
	bool tls_used;       /* STARTTLS or implicit TLS */
	bool authenticated;  /* AUTH succeeded */
	bool smtputf8;       /* the MAIL carried SMTPUTF8 */
	int64_t time;        /* when the message was received */
	int tz_minutes;      /* local zone offset east of UTC */
};

struct header;

struct header *header_new(void);
void header_free(struct header **_h);

/* header_feed - consume data; 0 = all consumed, the header goes on; 1 = the
 * header ended, data[*consumed_r..len) is body; -1 = a limit was exceeded
 * (data[0..*consumed_r) was taken, *error_r says which; the caller decides
 * between 552 and passing the rest through unparsed). */
int header_feed(struct header *h, const void *data, size_t len, size_t *consumed_r,
		const char **error_r);
/* header_finish - the input ended: complete a last field without an empty
 * line after it. -1 if header_feed() had failed. */
int header_finish(struct header *h);

enum header_end header_end(const struct header *h);
unsigned header_flags(const struct header *h);
size_t header_field_count(const struct header *h);
const struct header_field *header_field_at(const struct header *h, size_t i);
/* The header octets consumed so far, exactly as received. */
const char *header_raw(const struct header *h, size_t *len_r);

/* Fields named name (ASCII case-insensitive): how many, and one by one
 * (start with *iter = 0; NULL after the last). */
unsigned header_count(const struct header *h, const char *name);
const struct header_field *header_find(const struct header *h, const char *name, size_t *iter);

/* header_received - the whole "Received: ...\r\n" field, folded, from pool;
 * NULL when the time or zone cannot be written. */
const char *header_received(struct pool *pool, const struct header_received *r);

#endif
