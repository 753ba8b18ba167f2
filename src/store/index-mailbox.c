/* SPDX-License-Identifier: ISC */
/*
 * index-mailbox.c - a mailbox's row: lookup, UIDVALIDITY (unique for the
 * account's life, also across rebuilds), MODSEQ, STATUS counts, and the
 * expunge history QRESYNC reads.
 */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "core/db.h"
#include "store/index-private.h"
#include "store/maildir.h"

/* UIDVALIDITYs the file vouches for beyond the last one handed out. */
#define INDEX_UIDVALIDITY_RESERVE 64

#define MBOX_COLUMNS \
	"id, name, storage, uidvalidity, uidnext, highestmodseq, new_mtime, cur_mtime, " \
	"expunge_floor"

/* ---- rows ---- */

static int mbox_read(struct index *index, sqlite3_stmt *st, struct index_mbox *mbox_r)
{
	const char *error;

	memset(mbox_r, 0, sizeof(*mbox_r));
	mbox_r->id = sqlite3_column_int64(st, 0);
	mbox_r->name = xstrdup((const char *)sqlite3_column_text(st, 1));
	mbox_r->storage = xstrdup((const char *)sqlite3_column_text(st, 2));
	mbox_r->uidvalidity = (uint32_t)sqlite3_column_int64(st, 3);
	mbox_r->uidnext = (uint32_t)sqlite3_column_int64(st, 4);
	mbox_r->highestmodseq = (uint64_t)sqlite3_column_int64(st, 5);
	mbox_r->new_mtime = sqlite3_column_int64(st, 6);
	mbox_r->cur_mtime = sqlite3_column_int64(st, 7);
	mbox_r->expunge_floor = (uint64_t)sqlite3_column_int64(st, 8);
	if (maildir_folder_path(index->root, mbox_r->storage, &mbox_r->dir, &error) < 0) {
		log_error("index %s: mailbox %s has a bad folder %s: %s", index->root,
			  mbox_r->name, mbox_r->storage, error);
		index_mbox_clear(mbox_r);
		return -1;
	}
	return 0;
}

static int mbox_get(struct index *index, sqlite3_stmt *st, struct index_mbox *mbox_r)
{
	int rc = index_step(index, st), ret;

	if (rc == SQLITE_ROW)
		ret = mbox_read(index, st, mbox_r) < 0 ? -1 : 1;
	else
		ret = rc == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return ret;
}

int index_mbox_get(struct index *index, int64_t id, struct index_mbox *mbox_r)
{
	sqlite3_stmt *st = db_prepare(index->db, "SELECT " MBOX_COLUMNS
				      " FROM mailboxes WHERE id = ?1");

	sqlite3_bind_int64(st, 1, id);
	return mbox_get(index, st, mbox_r);
}

int index_mbox_get_name(struct index *index, const char *name, struct index_mbox *mbox_r)
{
	char *canon = index_name_canon(name);
	sqlite3_stmt *st = db_prepare(index->db, "SELECT " MBOX_COLUMNS
				      " FROM mailboxes WHERE name = ?1");
	int ret;

	sqlite3_bind_text(st, 1, canon, -1, SQLITE_TRANSIENT);
	ret = mbox_get(index, st, mbox_r);
	free(canon);
	return ret;
}

void index_mbox_clear(struct index_mbox *mbox)
{
	free(mbox->name);
	free(mbox->storage);
	free(mbox->dir);
	memset(mbox, 0, sizeof(*mbox));
}

uint64_t index_mbox_next_modseq(struct index *index, struct index_mbox *mbox)
{
	return ++mbox->highestmodseq;
}

int index_mbox_save(struct index *index, const struct index_mbox *mbox)
{
	sqlite3_stmt *st = db_prepare(index->db,
				      "UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3,"
				      " new_mtime = ?4, cur_mtime = ?5, expunge_floor = ?6"
				      " WHERE id = ?1");
	int rc;

	sqlite3_bind_int64(st, 1, mbox->id);
	sqlite3_bind_int64(st, 2, mbox->uidnext);
	sqlite3_bind_int64(st, 3, (int64_t)mbox->highestmodseq);
	sqlite3_bind_int64(st, 4, mbox->new_mtime);
	sqlite3_bind_int64(st, 5, mbox->cur_mtime);
	sqlite3_bind_int64(st, 6, (int64_t)mbox->expunge_floor);
	rc = index_step(index, st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

char *index_name_canon(const char *name)
{
	size_t level = strcspn(name, "/");
	char *canon = xstrdup(name);

	/* RFC 3501 5.1: INBOX is case-insensitive, and so is the INBOX
	 * level of its children ("inbox/x" is "INBOX/x", as in Dovecot) */
	if (level == 5 && str_ncasecmp(name, "INBOX", 5) == 0)
		memcpy(canon, "INBOX", 5);
	return canon;
}

/* ---- UIDVALIDITY ---- */

static uint32_t uidvalidity_file_read(const char *path)
{
	char *data = NULL;
	size_t len;
	uint64_t v = 0;

	if (file_read_all(path, 64, &data, &len) < 0)
		return 0;
	if (str_to_uint64(str_trim(data), 0, UINT32_MAX, &v) < 0)
		v = 0;
	free(data);
	return (uint32_t)v;
}

int index_uidvalidity_next(struct index *index, uint32_t *uidvalidity_r,
			   struct index_error *error_r)
{
	char *path = xasprintf("%s/%s", index->root, INDEX_UIDVALIDITY_FILE);
	sqlite3_stmt *st = db_prepare(index->db,
				      "SELECT value FROM meta WHERE key = 'uidvalidity'");
	uint64_t last = 0, now = (uint64_t)time_now(), next, reserved;
	bool known = false;
	char line[32];
	int ret = 0;

	if (index_step(index, st) == SQLITE_ROW) {
		last = (uint64_t)sqlite3_column_int64(st, 0);
		known = true;
	}
	sqlite3_finalize(st);
	reserved = uidvalidity_file_read(path);
	/* a fresh (rebuilt) index goes past everything the file vouches
	 * was ever handed out */
	if (!known)
		last = reserved;
	/* epoch seconds, as Dovecot chooses them; +1 when several are made
	 * within a second, or the clock went back */
	next = now > last ? now : last + 1;
	if (next > UINT32_MAX - INDEX_UIDVALIDITY_RESERVE) {
		free(path);
		index_set_error(error_r, INDEX_REASON_IO, "index %s: UIDVALIDITY exhausted",
				index->root);
		return -1;
	}
	st = db_prepare(index->db, "INSERT OR REPLACE INTO meta (key, value)"
				   " VALUES ('uidvalidity', ?1)");
	sqlite3_bind_int64(st, 1, (int64_t)next);
	if (index_step(index, st) != SQLITE_DONE)
		ret = index_db_error(index, error_r, "store uidvalidity");
	sqlite3_finalize(st);
	/* the file runs a little ahead, so a burst (the defaults of a new
	 * account) costs one durable write, not one each */
	if (ret == 0 && next > reserved &&
	    (str_printf(line, sizeof(line), "%" PRIu64 "\n", next + INDEX_UIDVALIDITY_RESERVE) < 0 ||
	     file_write_durable(path, line, strlen(line), 0600) < 0))
		ret = index_sys_error(error_r, "write", path, errno);
	free(path);
	if (ret == 0)
		*uidvalidity_r = (uint32_t)next;
	return ret;
}

int index_mbox_insert(struct index *index, const char *name, const char *storage,
		      const char *special_use, int64_t *id_r, struct index_error *error_r)
{
	uint32_t uidvalidity;
	sqlite3_stmt *st;
	int ret = 0;

	if (index_uidvalidity_next(index, &uidvalidity, error_r) < 0)
		return -1;
	st = db_prepare(index->db, "INSERT INTO mailboxes (name, storage, uidvalidity, special_use)"
				   " VALUES (?1, ?2, ?3, ?4)");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, storage, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, uidvalidity);
	if (special_use != NULL)
		sqlite3_bind_text(st, 4, special_use, -1, SQLITE_STATIC);
	if (index_step(index, st) != SQLITE_DONE)
		ret = index_db_error(index, error_r, "insert mailbox");
	else if (id_r != NULL)
		*id_r = sqlite3_last_insert_rowid(index->db->sql);
	sqlite3_finalize(st);
	return ret;
}

/* ---- lookup ---- */

int index_mailbox_find(struct index *index, const char *name, int64_t *id_r)
{
	char *canon = index_name_canon(name);
	sqlite3_stmt *st = db_prepare(index->db, "SELECT id FROM mailboxes WHERE name = ?1");
	int rc, ret;

	sqlite3_bind_text(st, 1, canon, -1, SQLITE_TRANSIENT);
	rc = index_step(index, st);
	if (rc == SQLITE_ROW)
		*id_r = sqlite3_column_int64(st, 0);
	ret = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	free(canon);
	return ret;
}

/* ---- status ---- */

static int status_counts(struct index *index, struct index_mbox *mbox,
			 struct index_status *status_r)
{
	sqlite3_stmt *st = db_prepare(index->db,
				      "SELECT n_messages, n_unseen, n_deleted, vsize_sum,"
				      " (SELECT min(uid) FROM messages WHERE mailbox_id = ?1"
				      " AND (flags & 1) = 0) FROM mailboxes WHERE id = ?1");
	int64_t first_unseen = 0;
	int ret = 0;

	sqlite3_bind_int64(st, 1, mbox->id);
	if (index_step(index, st) == SQLITE_ROW) {
		status_r->messages = (uint32_t)sqlite3_column_int64(st, 0);
		status_r->unseen = (uint32_t)sqlite3_column_int64(st, 1);
		status_r->deleted = (uint32_t)sqlite3_column_int64(st, 2);
		status_r->size = (uint64_t)sqlite3_column_int64(st, 3);
		first_unseen = sqlite3_column_int64(st, 4);
	} else {
		ret = -1;
	}
	sqlite3_finalize(st);
	if (ret == 0 && first_unseen > 0) {
		/* its position: counted over the UID index up to it */
		st = db_prepare(index->db, "SELECT count(*) FROM messages"
					   " WHERE mailbox_id = ?1 AND uid < ?2");
		sqlite3_bind_int64(st, 1, mbox->id);
		sqlite3_bind_int64(st, 2, first_unseen);
		if (index_step(index, st) == SQLITE_ROW)
			status_r->first_unseen = (uint32_t)sqlite3_column_int64(st, 0) + 1;
		else
			ret = -1;
		sqlite3_finalize(st);
	}
	return ret;
}

int index_mailbox_status_id(struct index *index, int64_t mailbox_id, unsigned sync_flags,
			    struct index_status *status_r, struct index_error *error_r)
{
	struct index_mbox mbox;
	int ret;

	memset(status_r, 0, sizeof(*status_r));
	if ((sync_flags & INDEX_SYNC_NONE) == 0 &&
	    index_sync_mbox(index, mailbox_id, sync_flags, error_r) < 0)
		return -1;
	/* one read transaction: the counts and UIDNEXT agree */
	if (db_exec(index->db, "BEGIN") < 0)
		return index_db_error(index, error_r, "begin");
	ret = index_mbox_get(index, mailbox_id, &mbox);
	if (ret <= 0) {
		index_rollback(index);
		if (ret == 0)
			index_set_error(error_r, INDEX_REASON_NO_MAILBOX, "mailbox %" PRId64 " is gone",
					mailbox_id);
		else
			index_db_error(index, error_r, "look up mailbox");
		return -1;
	}
	status_r->mailbox_id = mbox.id;
	status_r->uidvalidity = mbox.uidvalidity;
	status_r->uidnext = mbox.uidnext;
	status_r->highestmodseq = mbox.highestmodseq;
	ret = status_counts(index, &mbox, status_r) < 0 ? index_db_error(index, error_r, "count") :
							      0;
	index_rollback(index);
	index_mbox_clear(&mbox);
	return ret;
}

int index_mailbox_status(struct index *index, const char *name, unsigned sync_flags,
			 struct index_status *status_r, struct index_error *error_r)
{
	int64_t id;
	int ret = index_mailbox_find(index, name, &id);

	if (ret <= 0) {
		memset(status_r, 0, sizeof(*status_r));
		if (ret == 0)
			index_set_error(error_r, INDEX_REASON_NO_MAILBOX, "no mailbox %s", name);
		else
			index_db_error(index, error_r, "look up mailbox");
		return -1;
	}
	return index_mailbox_status_id(index, id, sync_flags, status_r, error_r);
}

/* ---- expunge history ---- */

int index_expunged_add(struct index *index, struct index_mbox *mbox, const uint32_t *uids,
		       size_t count, uint64_t modseq)
{
	sqlite3_stmt *st = db_prepare(index->db, "INSERT OR REPLACE INTO expunged"
				      " (mailbox_id, uid, modseq) VALUES (?1, ?2, ?3)");
	int64_t kept = 0;
	int ret = 0;

	for (size_t i = 0; i < count && ret == 0; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, mbox->id);
		sqlite3_bind_int64(st, 2, uids[i]);
		sqlite3_bind_int64(st, 3, (int64_t)modseq);
		if (index_step(index, st) != SQLITE_DONE)
			ret = -1;
	}
	sqlite3_finalize(st);
	if (ret < 0 || count == 0)
		return ret;
	st = db_prepare(index->db, "SELECT count(*) FROM expunged WHERE mailbox_id = ?1");
	sqlite3_bind_int64(st, 1, mbox->id);
	if (index_step(index, st) == SQLITE_ROW)
		kept = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (kept <= INDEX_EXPUNGED_KEEP)
		return 0;
	/* forget the oldest; clients asking from before them learn that
	 * the history is incomplete (index_changes.vanished_incomplete) */
	st = db_prepare(index->db,
			"SELECT max(modseq) FROM (SELECT modseq FROM expunged WHERE mailbox_id = ?1"
			" ORDER BY modseq LIMIT ?2)");
	sqlite3_bind_int64(st, 1, mbox->id);
	sqlite3_bind_int64(st, 2, kept - INDEX_EXPUNGED_KEEP);
	if (index_step(index, st) == SQLITE_ROW)
		mbox->expunge_floor = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = db_prepare(index->db, "DELETE FROM expunged WHERE mailbox_id = ?1 AND modseq <= ?2");
	sqlite3_bind_int64(st, 1, mbox->id);
	sqlite3_bind_int64(st, 2, (int64_t)mbox->expunge_floor);
	if (index_step(index, st) != SQLITE_DONE)
		ret = -1;
	sqlite3_finalize(st);
	return ret;
}
