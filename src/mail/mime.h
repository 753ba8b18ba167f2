/* SPDX-License-Identifier: ISC */
/*
 * mime.h - a message as a tree of MIME parts (RFC 2045, 2046, 2231).
 *
 * mime_parse() reads a whole message held in memory (read or mmapped by the
 * caller) once and returns the tree IMAP needs: for every part the byte
 * ranges of its header and body, so BODY[1.2], BODY[1.2.MIME] and
 * BODY[HEADER] are served straight from offsets; its Content-* fields;
 * sizes and line counts as IMAP counts them; and for every message (the
 * top one and each message/rfc822 inside) the raw fields ENVELOPE is built
 * from. imap-bodystructure.h renders ENVELOPE, BODY and BODYSTRUCTURE from
 * it; the index caches those strings.
 *
 * Parsing never fails and never loops: bare LF line ends, missing headers
 * or boundaries, 8-bit headers and absurd nesting all give a tree, with
 * what was repaired recorded in mime_part.flags.
 */
#ifndef POSTINO_MIME_H
#define POSTINO_MIME_H

#include "lib/lib.h"

struct pool;

/* Multiparts and messages nested deeper than this are left as leaves
 * (MIME_PART_TRUNCATED), as Dovecot does with the same default: no real
 * message comes close, and it bounds the work per line. */
#define MIME_MAX_DEPTH 100
/* Parts in one message (Dovecot's default too); past it delimiters are
 * read as content and containers as leaves. */
#define MIME_MAX_PARTS 10000
/* Parameters kept per Content-Type or Content-Disposition field, and
 * RFC 2231 sections joined into one value. */
#define MIME_MAX_PARAMS 100
#define MIME_MAX_PARAM_SECTIONS 1000
/* Boundaries longer than a line cannot be matched (RFC 2046 5.1.1 says 70;
 * longer ones are seen in the wild and cost nothing to accept). */
#define MIME_BOUNDARY_MAX 998 /* RFC 5322 2.1.1 line length */

/* A byte range of the message and what IMAP reports for it. */
struct mime_size {
	size_t offset; /* from the start of the buffer given to mime_parse() */
	size_t size;   /* octets as stored */
	/* Octets with every bare LF counted as CRLF: what IMAP sends (RFC 3501
	 * body-fld-octets, RFC822.SIZE), whether the store kept LF or CRLF. */
	size_t vsize;
	unsigned lines; /* LF count: body-fld-lines (RFC 3501 7.4.2) */
};

/* A Content-Type or Content-Disposition parameter. */
struct mime_param {
	const char *name; /* lower-case attribute, without RFC 2231 "*" or section */
	/* The value for IMAP: quotes removed, RFC 2231 sections joined and,
	 * when the result is printable ASCII, decoded. Otherwise extended is
	 * set, value is the RFC 2231 form "charset'lang'%XX..", and IMAP sends
	 * the name as name "*" (clients decode it; 8-bit has no other safe
	 * form in IMAP4rev1). */
	const char *value;
	bool extended;
	/* Written in RFC 2231 syntax (name*...): wins over a plain parameter
	 * of the same name, which senders add as a fallback. */
	bool rfc2231;
	/* The value for people: RFC 2231 percent-decoding and charset, or
	 * RFC 2047 encoded-words, decoded to UTF-8. */
	const char *utf8;
};

/* What a message's ENVELOPE is made of (RFC 3501 7.4.2): the unfolded
 * fields as written, NULL when absent. addrlist.h parses the addresses. */
struct mime_envelope {
	const char *date, *subject, *from, *sender, *reply_to, *to, *cc, *bcc, *in_reply_to,
		*message_id;
};

enum mime_part_flag {
	/* children are the body parts of this multipart */
	MIME_PART_MULTIPART = 0x0001,
	/* message/rfc822: the one child is the encapsulated message */
	MIME_PART_MESSAGE = 0x0002,
	/* text/ *: IMAP reports its lines */
	MIME_PART_TEXT = 0x0004,
	/* a message/rfc822 or multipart left as a leaf: nesting or part limit,
	 * or a message/rfc822 body in base64/quoted-printable (RFC 2046 5.2.1
	 * forbids it, so its content cannot be parsed in place). IMAP shows it
	 * as application/octet-stream so clients see a file, not a structure
	 * they would misparse. */
	MIME_PART_TRUNCATED = 0x0008,
	/* multipart with no boundary parameter, or whose boundary never
	 * starts a line (wrong case, mangled): its body is one text/plain
	 * child, so clients can still read it */
	MIME_PART_NO_BOUNDARY = 0x0010,
	/* multipart whose close-delimiter is missing (RFC 2046 5.1.1): ended
	 * by an enclosing boundary or the end of the message */
	MIME_PART_NO_END = 0x0020,
	/* the header did not end with an empty line: it ended at the first
	 * line that is not a header field, or at the end of the part */
	MIME_PART_NO_HEADER_END = 0x0040,
	/* the header holds 8-bit octets (RFC 6532, or plain broken) */
	MIME_PART_8BIT_HEADER = 0x0080,
	/* a file: Content-Disposition "attachment", or a file name given */
	MIME_PART_ATTACHMENT = 0x0100,
	/* a digitally signed file or signature (CAdES .p7m, S/MIME): filters
	 * must pass it untouched, byte for byte (MISSION F26) */
	MIME_PART_SIGNED = 0x0200,
	/* the part's child is made up (MIME_PART_NO_BOUNDARY), not read from
	 * a header: it has no MIME header of its own */
	MIME_PART_SYNTHETIC = 0x0400,
};

struct mime_part {
	struct mime_part *parent, *next, *children;
	unsigned n_children;
	unsigned depth; /* 0 for the message itself */
	unsigned flags; /* enum mime_part_flag */

	/* The header including the empty line that ends it, and the body. For
	 * a message/rfc822 part the body is the whole encapsulated message;
	 * the body of a multipart holds preamble, parts and epilogue. */
	struct mime_size header, body;

	/* Content-Type (RFC 2045 5): lower-case, defaults applied (RFC 2045
	 * 5.2: text/plain; message/rfc822 inside multipart/digest, RFC 2046
	 * 5.1.5). params are as written, possibly none. */
	const char *type, *subtype;
	const struct mime_param *params;
	unsigned n_params;
	/* Content-Transfer-Encoding, lower-case; NULL when absent or not a
	 * token (IMAP then says "7bit", RFC 2045 6.1). */
	const char *encoding;
	/* Unfolded values as written, NULL when absent. */
	const char *id, *description, *md5, *language, *location;
	/* Content-Disposition (RFC 2183): lower-case type or NULL. */
	const char *disposition;
	const struct mime_param *disposition_params;
	unsigned n_disposition_params;
	/* UTF-8 file name: disposition "filename", else type "name"; NULL. */
	const char *filename;

	/* Set on the message itself and on each message/rfc822 child. */
	const struct mime_envelope *envelope;
};

/* mime_parse - the tree of data[0..size), allocated from pool. Strings are
 * copies; offsets refer to data. Never fails. */
struct mime_part *mime_parse(struct pool *pool, const void *data, size_t size);

/* mime_param_get - the first parameter called name (lower-case) in
 * params[0..n), the RFC 2231 one when both forms are there; NULL. */
const struct mime_param *mime_param_get(const struct mime_param *params, unsigned n,
					const char *name);

/* mime_part_is_type - type/subtype compare (case-insensitive); subtype
 * NULL matches any. */
bool mime_part_is_type(const struct mime_part *part, const char *type, const char *subtype);

/* mime_part_count - parts in the tree under and including part. */
unsigned mime_part_count(const struct mime_part *part);

#endif
