/* SPDX-License-Identifier: ISC */
/*
 * imap-bodystructure.h - ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501
 * 7.4.2, RFC 9051 7.5.2) rendered from a mime.h tree, and BODY[section]
 * numbering (RFC 3501 6.4.5) resolved to byte ranges of the message.
 *
 * Pure string building: the index calls these once per message and
 * caches the strings; FETCH sends them as they are and serves BODY[...]
 * from the ranges. Strings are quoted when IMAP allows it and sent as
 * literals otherwise (8-bit, CR, LF), so the output is valid for IMAP4rev1
 * and IMAP4rev2 clients alike, UTF8=ACCEPT or not.
 */
#ifndef POSTINO_IMAP_BODYSTRUCTURE_H
#define POSTINO_IMAP_BODYSTRUCTURE_H

#include "lib/lib.h"

struct buf;
struct mime_envelope;
struct mime_part;
struct mime_size;

/* Host sent for an address without a domain: c-client's convention, which
 * clients recognise (leading '.') and display as a bare local name. */
#define IMAP_MISSING_HOST ".MISSING-HOST-NAME."

/* imap_envelope_write - append "(date subject from sender ... message-id)"
 * for env (the envelope of a message root); sender and reply-to fall back
 * to from as RFC 3501 7.4.2 requires. -1 when out's limit was reached
 * (out then holds a truncated string). */
int imap_envelope_write(struct buf *out, const struct mime_envelope *env) ATTR_NODISCARD;

/* imap_bodystructure_write - append the BODYSTRUCTURE of part (extended:
 * with md5, disposition, language and location) or its BODY (not
 * extended). -1 when out's limit was reached. */
int imap_bodystructure_write(struct buf *out, const struct mime_part *part, bool extended)
	ATTR_NODISCARD;

/* imap_string_write - append s as an IMAP nstring: NIL for NULL, a quoted
 * string when every octet allows it, a literal "{n}\r\n..." otherwise. */
int imap_string_write(struct buf *out, const char *s) ATTR_NODISCARD;

/* imap_section_find - resolve a FETCH BODY[section] specifier without its
 * field list ("", "1.2", "HEADER", "2.HEADER.FIELDS", "1.2.MIME", "3.TEXT";
 * case-insensitive) against the tree of root into the message's byte
 * range *range_r (offsets into the buffer given to mime_parse()); *part_r
 * is the part it names (the message for ""). A part that does not exist is
 * an error (RFC 3501 6.4.5 lets servers answer it with an empty string:
 * the caller decides); so is HEADER/TEXT on a part that is no message. */
int imap_section_find(const struct mime_part *root, const char *section,
		      struct mime_size *range_r, const struct mime_part **part_r,
		      const char **error_r);

#endif
