/* SPDX-License-Identifier: ISC */
/*
 * fts.c - the full-text table of the account index: rows in, searches out.
 *
 * One FTS5 table ("fts", index-schema.c) with the trigram tokenizer holds
 * a row per parsed message, keyed by the message's row id; a trigger
 * removes it with the message, and a MOVE keeps it (the row id stays).
 * A search is one MATCH joined with the mailbox's messages: terms of
 * three or more characters become a phrase of trigrams, which is exactly
 * "contains this substring, ignoring case". Shorter terms have no trigram
 * to look up and are answered with LIKE over the stored columns.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "core/db.h"
#include "store/fts-private.h"
#include "store/fts.h"
#include "store/index-private.h"

/* Each searchable field: its FTS5 column filter and the LIKE test on the
 * same columns for short terms (?3 is the pattern). */
static const struct {
	enum fts_field field;
	const char *columns;
	const char *like;
} fts_fields[] = {
	{ FTS_FIELD_FROM, "{hfrom}", "fts.hfrom LIKE ?3 ESCAPE '\\'" },
	{ FTS_FIELD_TO, "{hto}", "fts.hto LIKE ?3 ESCAPE '\\'" },
	{ FTS_FIELD_CC, "{hcc}", "fts.hcc LIKE ?3 ESCAPE '\\'" },
	{ FTS_FIELD_BCC, "{hbcc}", "fts.hbcc LIKE ?3 ESCAPE '\\'" },
	{ FTS_FIELD_SUBJECT, "{subject}", "fts.subject LIKE ?3 ESCAPE '\\'" },
	{ FTS_FIELD_HEADERS, "{headers}", "fts.headers LIKE ?3 ESCAPE '\\'" },
	{ FTS_FIELD_BODY, "{body}", "fts.body LIKE ?3 ESCAPE '\\'" },
	{ FTS_FIELD_TEXT, "{headers body}",
	  "(fts.headers LIKE ?3 ESCAPE '\\' OR fts.body LIKE ?3 ESCAPE '\\')" },
};

int fts_doc_insert(struct index *index, int64_t rowid, const struct fts_doc *doc)
{
	sqlite3_stmt *st = db_prepare(index->db, "INSERT OR REPLACE INTO fts (rowid, hfrom, hto,"
				      " hcc, hbcc, subject, headers, body)"
				      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	const char *values[] = { doc->from, doc->to, doc->cc, doc->bcc, doc->subject,
				 doc->headers, doc->body };
	int rc;

	sqlite3_bind_int64(st, 1, rowid);
	for (size_t i = 0; i < N_ELEMENTS(values); i++)
		sqlite3_bind_text(st, (int)i + 2, values[i] != NULL ? values[i] : "", -1,
				  SQLITE_STATIC);
	rc = index_step(index, st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int fts_update(struct index *index, int64_t mailbox_id, unsigned max, unsigned *done_r)
{
	struct index_parse parse = { .max = max };
	int ret = index_parse_pending(index, mailbox_id, &parse);

	if (done_r != NULL)
		*done_r = parse.done;
	return ret;
}

/* utf8_chars - characters, not octets: the trigram tokenizer counts
 * characters. */
/* How many SQLite VM steps between looks at the clock. */
#define FTS_PROGRESS_OPS 1000

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void append_or_panic(struct buf *b, const char *s, size_t len)
{
	if (buf_append(b, s, len) < 0)
		panic("fts: unbounded buffer refused %zu bytes", len);
}

/* match_query - "{cols} : "term"" with the term as one FTS5 string (its
 * quotes doubled), so no FTS5 query syntax can be injected. */
static char *match_query(const char *columns, const char *term)
{
	struct buf q;
	char *s;

	buf_init(&q, 0);
	append_or_panic(&q, columns, strlen(columns));
	append_or_panic(&q, " : \"", 4);
	for (const char *p = term; *p != '\0'; p++) {
		if (*p == '"')
			append_or_panic(&q, "\"\"", 2);
		else
			append_or_panic(&q, p, 1);
	}
	append_or_panic(&q, "\"", 1);
	s = xstrdup(q.data);
	buf_release(&q);
	return s;
}

/* like_pattern - "%term%" with LIKE's wildcards escaped. */
static char *like_pattern(const char *term)
{
	struct buf q;
	char *s;

	buf_init(&q, 0);
	append_or_panic(&q, "%", 1);
	for (const char *p = term; *p != '\0'; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			append_or_panic(&q, "\\", 1);
		append_or_panic(&q, p, 1);
	}
	append_or_panic(&q, "%", 1);
	s = xstrdup(q.data);
	buf_release(&q);
	return s;
}

/* fts_deadline_passed - SQLite's progress handler: nonzero stops the
 * statement (SQLITE_INTERRUPT). */
static int fts_deadline_passed(void *arg)
{
	return time_monotonic_ms() > *(const uint64_t *)arg;
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int fts_search(struct index *index, int64_t mailbox_id, enum fts_field field, const char *term,
	       uint32_t **uids_r, size_t *count_r)
{
	return fts_search_bounded(index, mailbox_id, field, term, FTS_SEARCH_MAX_MS, uids_r,
				  count_r);
}

int fts_search_bounded(struct index *index, int64_t mailbox_id, enum fts_field field,
		       const char *term, uint64_t max_ms, uint32_t **uids_r, size_t *count_r)
{
	size_t f, n = 0, alloc = 0;
	uint32_t *uids = NULL;
	sqlite3_stmt *st;
	char *arg, *sql;
	bool trigram = utf8_chars(term) >= FTS_TRIGRAM_MIN;
	int rc;

	*uids_r = NULL;
	*count_r = 0;
	for (f = 0; f < N_ELEMENTS(fts_fields) && fts_fields[f].field != field; f++)
		;
	if (f == N_ELEMENTS(fts_fields) || strlen(term) > FTS_TERM_MAX)
		return -1;
	if (term[0] == '\0')
		return index_mailbox_uids(index, mailbox_id, uids_r, count_r);
	/* what the mailbox holds but the index not yet (normally nothing:
	 * syncs and the background indexer keep up): all of it first, with
	 * the background paused */
	if ((rc = index_parse_backlog(index, mailbox_id)) < 0)
		return -1;
	if (rc > 0) {
		fts_bg_hold();
		rc = index_parse_pending(index, mailbox_id, &(struct index_parse){ 0 });
		fts_bg_release();
		if (rc < 0)
			return -1;
	}
	if (trigram) {
		arg = match_query(fts_fields[f].columns, term);
		/* the MATCH drives, once (CROSS JOIN keeps SQLite from
		 * turning it round): each match is one primary-key lookup, so
		 * a rare word costs the same in a mailbox of any size; the
		 * UIDs are sorted below, cheaper than SQLite's temp b-tree */
		sql = xstrdup("SELECT m.uid FROM (SELECT rowid AS id FROM fts WHERE fts MATCH ?1)"
			      " AS f CROSS JOIN messages AS m ON m.id = f.id"
			      " WHERE m.mailbox_id = ?2");
	} else {
		arg = like_pattern(term);
		sql = xasprintf("SELECT m.uid FROM messages m JOIN fts ON fts.rowid = m.id"
				" WHERE m.mailbox_id = ?2 AND %s ORDER BY m.uid", fts_fields[f].like);
	}
	st = db_prepare(index->db, sql);
	if (trigram)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	else
		sqlite3_bind_text(st, 3, arg, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, mailbox_id);
	uint64_t deadline = time_monotonic_ms() + max_ms;
	if (max_ms > 0)
		sqlite3_progress_handler(index->db->sql, FTS_PROGRESS_OPS, fts_deadline_passed,
					 &deadline);
	while ((rc = index_step(index, st)) == SQLITE_ROW) {
		if (n == alloc) {
			alloc = alloc < 64 ? 64 : alloc * 2;
			uids = xrealloc(uids, alloc * sizeof(*uids));
		}
		uids[n++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_progress_handler(index->db->sql, 0, NULL, NULL);
	sqlite3_finalize(st);
	free(arg);
	free(sql);
	if (rc == SQLITE_INTERRUPT) {
		log_warn("fts: a search for %zu characters stopped after %" PRIu64 " ms",
			 strlen(term), max_ms);
		free(uids);
		return FTS_SEARCH_TOO_EXPENSIVE;
	}
	if (rc != SQLITE_DONE) {
		free(uids);
		return -1;
	}
	if (trigram && n > 1)
		qsort(uids, n, sizeof(*uids), uid_cmp);
	*uids_r = uids;
	*count_r = n;
	return 0;
}
