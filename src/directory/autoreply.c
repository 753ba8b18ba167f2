/* SPDX-License-Identifier: ISC */
/*
 * autoreply.c - autoresponder settings and the per-sender memory (F14).
 *
 * Tables (schema.c): autoreplies (one row per mailbox that has one) and
 * autoreply_sent (mailbox, sender, last reply time). Both go with the
 * mailbox (ON DELETE CASCADE).
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "core/db.h"
#include "directory/autoreply.h"
#include "directory/directory-private.h"

/* account_id_of - the id of a mailbox, or a refusal naming it. */
static int account_id_of(struct db *db, const char *address, int64_t *id_r,
			 struct directory_error *error_r)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT id FROM accounts WHERE address = ?");
	int64_t id = 0;

	sqlite3_bind_text(st, 1, address, -1, SQLITE_TRANSIENT);
	if (dir_query_int(st, &id) < 0)
		return dir_db_error(db, error_r);
	if (id == 0)
		return dir_refuse(error_r, DIR_REASON_UNKNOWN, "no mailbox %s", address);
	*id_r = id;
	return 0;
}

int autoreply_set(struct db *db, const char *address, const struct autoreply *ar,
		  struct directory_error *error_r)
{
	char *addr;
	int64_t id;
	int ret = -1;

	if (ar->body == NULL || ar->body[0] == '\0')
		return dir_refuse(error_r, DIR_REASON_INVALID, "the autoreply text is empty");
	if (strlen(ar->body) > AUTOREPLY_BODY_MAX)
		return dir_refuse(error_r, DIR_REASON_INVALID,
				  "the autoreply text is too long (max %d bytes)", AUTOREPLY_BODY_MAX);
	if (ar->subject != NULL &&
	    (strlen(ar->subject) > AUTOREPLY_SUBJECT_MAX || strpbrk(ar->subject, "\r\n") != NULL))
		return dir_refuse(error_r, DIR_REASON_INVALID,
				  "the subject must be one line of at most %d bytes",
				  AUTOREPLY_SUBJECT_MAX);
	if (ar->ends_at != 0 && ar->ends_at <= ar->starts_at)
		return dir_refuse(error_r, DIR_REASON_INVALID, "the end date is not after the start");
	if (ar->interval <= 0)
		return dir_refuse(error_r, DIR_REASON_INVALID, "the interval must be positive");
	if (dir_normalize_address(address, &addr, error_r) < 0)
		return -1;
	if (account_id_of(db, addr, &id, error_r) < 0)
		goto out;
	if (db_begin(db) < 0) {
		dir_db_error(db, error_r);
		goto out;
	}
	sqlite3_stmt *st = db_prepare(db,
		"INSERT OR REPLACE INTO autoreplies (account_id, subject, body, starts_at, ends_at,"
		" interval_s, updated_at) VALUES (?, ?, ?, ?, ?, ?, strftime('%s','now'))");
	sqlite3_bind_int64(st, 1, id);
	if (ar->subject != NULL)
		sqlite3_bind_text(st, 2, ar->subject, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, ar->body, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, ar->starts_at);
	sqlite3_bind_int64(st, 5, ar->ends_at);
	sqlite3_bind_int64(st, 6, ar->interval);
	if (dir_step_done(st) < 0) {
		dir_db_error(db, error_r);
		goto out;
	}
	st = db_prepare(db, "DELETE FROM autoreply_sent WHERE account_id = ?");
	sqlite3_bind_int64(st, 1, id);
	if (dir_step_done(st) < 0 || db_commit(db) < 0) {
		dir_db_error(db, error_r);
		goto out;
	}
	ret = 0;
out:
	free(addr);
	return ret;
}

int autoreply_off(struct db *db, const char *address, struct directory_error *error_r)
{
	char *addr;
	int64_t id;
	int ret = -1;

	if (dir_normalize_address(address, &addr, error_r) < 0)
		return -1;
	if (account_id_of(db, addr, &id, error_r) < 0)
		goto out;
	sqlite3_stmt *st = db_prepare(db, "DELETE FROM autoreplies WHERE account_id = ?");
	sqlite3_bind_int64(st, 1, id);
	if (dir_step_done(st) < 0) {
		dir_db_error(db, error_r);
		goto out;
	}
	if (sqlite3_changes(db->sql) == 0) {
		dir_refuse(error_r, DIR_REASON_UNKNOWN, "%s has no autoreply", addr);
		goto out;
	}
	ret = 0;
out:
	free(addr);
	return ret;
}

int autoreply_get(struct db *db, const char *address, struct autoreply *ar_r)
{
	struct directory_error error;
	char *addr;
	int ret;

	memset(ar_r, 0, sizeof(*ar_r));
	if (dir_normalize_address(address, &addr, &error) < 0)
		return 0;
	/* cached: delivery notices ask for every mailbox that takes a message */
	sqlite3_stmt *st = db_prepare_cached(db,
		"SELECT r.subject, r.body, r.starts_at, r.ends_at, r.interval_s, r.updated_at"
		" FROM autoreplies r JOIN accounts a ON a.id = r.account_id WHERE a.address = ?");
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_TRANSIENT);
	ret = sqlite3_step(st);
	if (ret == SQLITE_ROW) {
		ar_r->subject = dir_column_strdup(st, 0);
		ar_r->body = dir_column_strdup(st, 1);
		ar_r->starts_at = sqlite3_column_int64(st, 2);
		ar_r->ends_at = sqlite3_column_int64(st, 3);
		ar_r->interval = sqlite3_column_int64(st, 4);
		ar_r->updated_at = sqlite3_column_int64(st, 5);
		ret = 1;
	} else {
		ret = ret == SQLITE_DONE ? 0 : -1;
	}
	db_release(db, st);
	free(addr);
	return ret;
}

bool autoreply_in_window(const struct autoreply *ar, int64_t now)
{
	return (ar->starts_at == 0 || now >= ar->starts_at) &&
	       (ar->ends_at == 0 || now < ar->ends_at);
}

int autoreply_claim(struct db *db, const char *address, const char *sender,
		    int64_t interval, int64_t now)
{
	/* one statement, so concurrent deliveries cannot both win: the row
	 * is inserted or moved forward only when the last reply is old */
	sqlite3_stmt *st = db_prepare_cached(db,
		"INSERT INTO autoreply_sent (account_id, sender, sent_at)"
		" SELECT id, lower(?2), ?3 FROM accounts WHERE address = ?1"
		" ON CONFLICT (account_id, sender) DO UPDATE SET sent_at = excluded.sent_at"
		" WHERE autoreply_sent.sent_at <= ?3 - ?4");
	sqlite3_bind_text(st, 1, address, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, sender, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, interval);
	int rc = sqlite3_step(st);
	int changes = sqlite3_changes(db->sql);
	db_release(db, st);
	if (rc != SQLITE_DONE)
		return -1;
	return changes > 0 ? 1 : 0;
}

void autoreply_clear(struct autoreply *ar)
{
	free(ar->subject);
	free(ar->body);
	memset(ar, 0, sizeof(*ar));
}
