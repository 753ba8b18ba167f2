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
 * Messages are added ahead of any SEARCH: a sync or an APPEND parses the
 * messages it brings, a bounded slice at once (index-private.h,
 * INDEX_PARSE_INLINE_MAX/_MS), and leaves the rest of a flood (an import,
 * a rebuild, mail nobody picked up for weeks) to the background indexer
 * (fts-bg.c: worker jobs, a slice each). fts_search() still indexes
 * whatever the mailbox lacks before it answers, so results are complete
 * while the background indexer is busy, or where there is none (the CLI,
 * tests without an event loop). fts_search and fts_update read message
 * files: run them on a worker.
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

/* A full-text query may run this long on its worker by default (a term
 * made of a trigram found thousands of times in every message, such as a
 * run of one letter, reads enormous position lists); past it the query
 * stops. imap.search-time-limit sets it for IMAP. */
#define FTS_SEARCH_MAX_MS 15000
#define FTS_SEARCH_TOO_EXPENSIVE (-2)

/* fts_search - the UIDs (ascending, xmalloc'd, NULL when none) of the
 * mailbox's messages whose field contains term (UTF-8). An empty term
 * matches every message. -1 on error, FTS_SEARCH_TOO_EXPENSIVE when the
 * query ran past FTS_SEARCH_MAX_MS. */
int fts_search(struct index *index, int64_t mailbox_id, enum fts_field field, const char *term,
	       uint32_t **uids_r, size_t *count_r) ATTR_NODISCARD;
/* fts_search_bounded - the same, stopped after max_ms (0: never). */
int fts_search_bounded(struct index *index, int64_t mailbox_id, enum fts_field field,
		       const char *term, uint64_t max_ms, uint32_t **uids_r,
		       size_t *count_r) ATTR_NODISCARD;

/* ---- fts-bg.c: the background indexer ---- */

/* Messages one background job parses at most, and for how long: a slice
 * keeps a worker thread (and, per batch, the index's write lock) no
 * longer than a slow IMAP command does. */
#define FTS_BG_SLICE_MAX 256
#define FTS_BG_SLICE_MS 100
/* Mailboxes waiting at most; more are left to their first SEARCH. */
#define FTS_BG_QUEUE_MAX 1024

/* fts_bg_request - parse the mailbox's messages that are not in the
 * full-text index yet on worker jobs, one slice at a time, with a handle
 * of the job's own (index itself is not used after this returns). Any
 * thread; a request for a mailbox already queued or being indexed just
 * makes that run look again at the end. false when there is no event loop
 * to run jobs from (the CLI, unit tests without one) or the queue is
 * full: the next SEARCH indexes what is missing then. */
bool fts_bg_request(struct index *index, int64_t mailbox_id);
/* Mailboxes queued or being indexed (tests, status). Any thread. */
unsigned fts_bg_busy(void);

#endif
