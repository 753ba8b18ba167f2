/* SPDX-License-Identifier: ISC */
/*
 * fts.h - full-text search over an account's index: IMAP SEARCH FROM, TO,
 * CC, BCC, SUBJECT, HEADER text, BODY and TEXT (and webmail's search box)
 * without reading the messages.
 *
 * The text is an FTS5 table in postino-index.db with the trigram
 * tokenizer, so a MATCH finds any substring of three or more characters,
 * case-insensitively (Unicode case folding): IMAP SEARCH's semantics
 * (RFC 9051 6.4.4), answered from the index in milliseconds. Shorter terms
 * fall back to LIKE over the stored text (ASCII case-insensitive, a scan).
 *
 * What is indexed, decoded to UTF-8: From, To, Cc, Bcc and Subject
 * (RFC 2047 encoded-words, mail/rfc2047.h), every header field of the
 * message ("headers"), and the body: every text/ part after its
 * Content-Transfer-Encoding and charset, HTML without its tags, and the
 * headers and text of attached messages. Other attachments are not
 * indexed (base64 of a PDF is no text anyone searches for).
 *
 * Messages are added when a sync or an APPEND brings a few, and otherwise
 * lazily: fts_search() first indexes whatever the mailbox still lacks,
 * and fts_update() lets the daemon do that ahead of time on a worker.
 * Both read message files: run them on a worker.
 */
#ifndef POSTINO_FTS_H
#define POSTINO_FTS_H

#include "lib/lib.h"

struct index;

/* Text kept per message and field: a bound on the index's size per
 * message that no real text body reaches (a novel is about 1 MiB). */
#define FTS_BODY_MAX (1024 * 1024)
#define FTS_HEADERS_MAX (64 * 1024)
/* Terms shorter than this (in characters) cannot use the trigram index. */
#define FTS_TRIGRAM_MIN 3
/* A search term longer than this is refused (SQLite's LIKE pattern limit
 * is 50,000 bytes; no one searches for a page of text). */
#define FTS_TERM_MAX 1000

enum fts_field {
	FTS_FIELD_FROM,
	FTS_FIELD_TO,
	FTS_FIELD_CC,
	FTS_FIELD_BCC,
	FTS_FIELD_SUBJECT,
	FTS_FIELD_HEADERS,   /* the whole header, decoded */
	FTS_FIELD_BODY,
	FTS_FIELD_TEXT,      /* header and body (SEARCH TEXT) */
};

/* fts_update - add up to max (0: all) messages of the mailbox that are not
 * in the full-text index yet; *done_r (may be NULL) counts them. */
int fts_update(struct index *index, int64_t mailbox_id, unsigned max, unsigned *done_r)
	ATTR_NODISCARD;

/* fts_search - the UIDs (ascending, xmalloc'd, NULL when none) of the
 * mailbox's messages whose field contains term (UTF-8). An empty term
 * matches every message. */
int fts_search(struct index *index, int64_t mailbox_id, enum fts_field field, const char *term,
	       uint32_t **uids_r, size_t *count_r) ATTR_NODISCARD;

#endif
