/* SPDX-License-Identifier: ISC */
/*
 * fts-private.h - shared by the full-text files only: fts-text.c makes a
 * document out of a parsed message, fts.c stores and searches it, and
 * index-cache.c (which parses messages once for the cache and the
 * full-text index together) hands one to the other.
 */
#ifndef POSTINO_FTS_PRIVATE_H
#define POSTINO_FTS_PRIVATE_H

#include "lib/lib.h"

struct index;
struct mime_part;
struct pool;

/* A message's searchable text, UTF-8, from a pool; "" when absent. */
struct fts_doc {
	const char *from, *to, *cc, *bcc, *subject;
	const char *headers;   /* every field: "Name: value\n", decoded */
	const char *body;      /* text parts (and attached messages), decoded */
};

/* fts_doc_extract - the document of data[0..size), whose MIME tree is
 * root. Strings are copied into pool: data may go away afterwards. */
void fts_doc_extract(struct pool *pool, const void *data, size_t size,
		     const struct mime_part *root, struct fts_doc *doc_r);

/* fts_doc_insert - the full-text row of message rowid (write txn). */
int fts_doc_insert(struct index *index, int64_t rowid, const struct fts_doc *doc);

/* fts_bg_hold - a SEARCH is about to index what its mailbox lacks: the
 * background indexer stops its slice and starts none until the matching
 * fts_bg_release(), so the two do not fight over the write lock (SQLite's
 * busy handler sleeps) and the SEARCH gets the whole core. Any thread. */
void fts_bg_hold(void);
void fts_bg_release(void);

#endif
