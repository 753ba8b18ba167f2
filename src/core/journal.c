/* SPDX-License-Identifier: ISC */
/*
 * journal.c - append and query decision records in postino.db.
 *
 * The journal is append-only: nothing in postino updates or deletes a row
 * (retention, when added, drops whole old ranges). A reason code that is
 * not in core/reason.c is a programming error, caught here, so the table
 * and docs/REASONS.md stay the complete list.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/buf.h"
#include "lib/time.h"
#include "core/dbpool.h"
#include "core/journal.h"
#include "core/reason.h"


static void bind_text(sqlite3_stmt *st, int idx, const char *value)
{
	if (value != NULL)
		sqlite3_bind_text(st, idx, value, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, idx);
}

int journal_add(struct db *db, const struct journal_entry *e)
{
	sqlite3_stmt *st;
	int rc;

	if (reason_lookup(e->reason) == NULL)
		panic("journal: unknown reason code '%s' (add it to core/reason.c)", e->reason);
	st = db_prepare_cached(db,
			       "INSERT INTO journal (time_ms, service, decision, reason, actor, ip,"
			       " account, msgid, queueid, sid, detail)"
			       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	sqlite3_bind_int64(st, 1, e->time_ms != 0 ? e->time_ms : time_now_ms());
	bind_text(st, 2, e->service);
	bind_text(st, 3, e->decision);
	bind_text(st, 4, e->reason);
	bind_text(st, 5, e->actor);
	bind_text(st, 6, e->ip);
	bind_text(st, 7, e->account);
	bind_text(st, 8, e->msgid);
	bind_text(st, 9, e->queueid);
	bind_text(st, 10, e->sid);
	bind_text(st, 11, e->detail);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		log_error("journal: cannot record %s %s: %s", e->decision, e->reason, db_errmsg(db));
	db_release(db, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static char *column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	return s != NULL ? xstrdup((const char *)s) : NULL;
}

/* Conditions are appended to the SQL and their values bound in order. */
struct query_builder {
	struct buf sql;
	const char *text_args[8];
	unsigned ntext;
};

static void cond_text(struct query_builder *qb, const char *sql, const char *value)
{
	if (value == NULL)
		return;
	if (buf_append_str(&qb->sql, sql) < 0)
		panic("journal: query too long");
	qb->text_args[qb->ntext++] = value;
}

int journal_query(struct db *db, const struct journal_query *q, struct journal_row **rows_r,
		  size_t *count_r)
{
	struct query_builder qb = { .ntext = 0 };
	struct journal_row *rows = NULL;
	size_t count = 0, cap = 0;
	char *reason_prefix = NULL;
	sqlite3_stmt *st;
	int idx = 1;

	buf_init(&qb.sql, 0);
	if (buf_append_str(&qb.sql,
			   "SELECT id, time_ms, service, decision, reason, actor, ip, account,"
			   " msgid, queueid, sid, detail FROM journal WHERE 1") < 0)
		panic("journal: query too long");
	cond_text(&qb, " AND account = ? COLLATE NOCASE", q->account);
	cond_text(&qb, " AND ip = ?", q->ip);
	cond_text(&qb, " AND service = ?", q->service);
	if (q->reason != NULL && q->reason[0] != '\0' &&
	    q->reason[strlen(q->reason) - 1] == '.') {
		/* "auth." matches every auth.* code */
		reason_prefix = xasprintf("%s%%", q->reason);
		cond_text(&qb, " AND reason LIKE ?", reason_prefix);
	} else {
		cond_text(&qb, " AND reason = ?", q->reason);
	}
	/* the newest `limit` rows, returned oldest first; by decision time,
	 * since a row may be written after a later decision's (a received
	 * message's rows wait to be written together: smtp-deliver.c) */
	if (buf_printf(&qb.sql, "%s%s ORDER BY time_ms DESC, id DESC%s",
		       q->since_ms != 0 ? " AND time_ms >= ?" : "",
		       q->until_ms != 0 ? " AND time_ms <= ?" : "",
		       q->limit != 0 ? " LIMIT ?" : "") < 0)
		panic("journal: query too long");
	st = db_prepare(db, qb.sql.data);
	for (unsigned i = 0; i < qb.ntext; i++)
		sqlite3_bind_text(st, idx++, qb.text_args[i], -1, SQLITE_TRANSIENT);
	if (q->since_ms != 0)
		sqlite3_bind_int64(st, idx++, q->since_ms);
	if (q->until_ms != 0)
		sqlite3_bind_int64(st, idx++, q->until_ms);
	if (q->limit != 0)
		sqlite3_bind_int64(st, idx++, q->limit);

	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			rows = xrealloc(rows, cap * sizeof(*rows));
		}
		struct journal_row *r = &rows[count++];
		r->id = sqlite3_column_int64(st, 0);
		r->time_ms = sqlite3_column_int64(st, 1);
		r->service = column_dup(st, 2);
		r->decision = column_dup(st, 3);
		r->reason = column_dup(st, 4);
		r->actor = column_dup(st, 5);
		r->ip = column_dup(st, 6);
		r->account = column_dup(st, 7);
		r->msgid = column_dup(st, 8);
		r->queueid = column_dup(st, 9);
		r->sid = column_dup(st, 10);
		r->detail = column_dup(st, 11);
	}
	sqlite3_finalize(st);
	buf_release(&qb.sql);
	free(reason_prefix);
	if (rc != SQLITE_DONE) {
		log_error("journal: query failed: %s", db_errmsg(db));
		journal_rows_free(&rows, count);
		return -1;
	}
	/* reverse into chronological order */
	for (size_t i = 0; i < count / 2; i++) {
		struct journal_row tmp = rows[i];
		rows[i] = rows[count - 1 - i];
		rows[count - 1 - i] = tmp;
	}
	*rows_r = rows;
	*count_r = count;
	return 0;
}

void journal_rows_free(struct journal_row **_rows, size_t count)
{
	struct journal_row *rows = *_rows;
	if (rows == NULL)
		return;
	*_rows = NULL;
	for (size_t i = 0; i < count; i++) {
		struct journal_row *r = &rows[i];
		free(r->service);
		free(r->decision);
		free(r->reason);
		free(r->actor);
		free(r->ip);
		free(r->account);
		free(r->msgid);
		free(r->queueid);
		free(r->sid);
		free(r->detail);
	}
	free(rows);
}

void journal_session_add(const struct journal_session *who, const char *decision,
			 const char *reason, const char *account, const char *detail)
{
	struct db *db = dbpool_get();
	struct journal_entry e = {
		.service = who->service,
		.decision = decision,
		.reason = reason,
		.actor = who->login != NULL ? who->login : who->peer,
		.ip = who->peer,
		.account = account,
		.sid = who->sid,
		.detail = detail,
	};

	if (db == NULL || journal_add(db, &e) < 0)
		log_warn("%s journal: could not record %s %s sid=%s", who->service, decision,
			 reason, who->sid);
}
