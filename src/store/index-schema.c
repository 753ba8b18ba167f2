/* SPDX-License-Identifier: ISC */
/*
 * index-schema.c - the tables of postino-index.db, as ordered migrations
 * (core/db.h runs them; released ones are never edited).
 *
 * Why these shapes:
 *  - messages.id is AUTOINCREMENT and survives a MOVE (the row is updated,
 *    not copied), so the full-text row keyed by it follows the message and
 *    an id is never reused by a later message.
 *  - base is the Maildir name before ":": stable while flags change, so it
 *    is how a sync matches files to rows. in_new/info say where the file
 *    is now: dir/(new|cur)/base[:info].
 *  - flags holds the system flags as enum index_flag bits; partial indexes
 *    on "unseen", "deleted", "in new/" and "not parsed yet" keep STATUS,
 *    SELECT, EXPUNGE and the cache filler from scanning whole mailboxes.
 *  - expunged keeps (uid, modseq) per mailbox for QRESYNC VANISHED.
 *  - mailboxes.n_* and vsize_sum are STATUS's counters, kept by triggers
 *    on messages, so STATUS is one row read however big the mailbox.
 *  - fts is an FTS5 table with the trigram tokenizer (SQLite >= 3.34), so
 *    MATCH does IMAP SEARCH's substring matching case-insensitively.
 */
#include "lib/lib.h"
#include "core/db.h"
#include "store/index-private.h"

static const struct db_migration index_migrations[] = {
	{ 1,
	  "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
	  "CREATE TABLE mailboxes ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " name TEXT NOT NULL UNIQUE,"
	  " storage TEXT NOT NULL UNIQUE,"
	  " uidvalidity INTEGER NOT NULL,"
	  " uidnext INTEGER NOT NULL DEFAULT 1,"
	  " highestmodseq INTEGER NOT NULL DEFAULT 1,"
	  " special_use TEXT,"
	  " new_mtime INTEGER NOT NULL DEFAULT -1,"
	  " cur_mtime INTEGER NOT NULL DEFAULT -1,"
	  " expunge_floor INTEGER NOT NULL DEFAULT 0,"
	  " n_messages INTEGER NOT NULL DEFAULT 0,"
	  " n_unseen INTEGER NOT NULL DEFAULT 0,"
	  " n_deleted INTEGER NOT NULL DEFAULT 0,"
	  " vsize_sum INTEGER NOT NULL DEFAULT 0);"
	  "CREATE TABLE subscriptions (name TEXT PRIMARY KEY) WITHOUT ROWID;"
	  "CREATE TABLE keywords ("
	  " id INTEGER PRIMARY KEY,"
	  " mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	  " name TEXT NOT NULL COLLATE NOCASE,"
	  " UNIQUE (mailbox_id, name));"
	  "CREATE TABLE messages ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	  " uid INTEGER NOT NULL,"
	  " base TEXT NOT NULL,"
	  " in_new INTEGER NOT NULL DEFAULT 0,"
	  " info TEXT,"
	  " flags INTEGER NOT NULL DEFAULT 0,"
	  " keywords TEXT NOT NULL DEFAULT '',"
	  " modseq INTEGER NOT NULL,"
	  " internaldate INTEGER NOT NULL,"
	  " size INTEGER NOT NULL,"
	  " vsize INTEGER NOT NULL,"
	  " envelope TEXT, body TEXT, bodystructure TEXT,"
	  " parsed INTEGER NOT NULL DEFAULT 0,"
	  " UNIQUE (mailbox_id, uid),"
	  " UNIQUE (mailbox_id, base));"
	  "CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);"
	  "CREATE INDEX messages_unseen ON messages(mailbox_id, uid) WHERE (flags & 1) = 0;"
	  "CREATE INDEX messages_deleted ON messages(mailbox_id, uid) WHERE (flags & 8) != 0;"
	  "CREATE INDEX messages_in_new ON messages(mailbox_id) WHERE in_new != 0;"
	  "CREATE INDEX messages_unparsed ON messages(mailbox_id) WHERE parsed = 0;"
	  "CREATE TABLE expunged ("
	  " mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	  " uid INTEGER NOT NULL,"
	  " modseq INTEGER NOT NULL,"
	  " PRIMARY KEY (mailbox_id, uid)) WITHOUT ROWID;"
	  "CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);"
	  "CREATE VIRTUAL TABLE fts USING fts5(hfrom, hto, hcc, hbcc, subject, headers, body,"
	  " tokenize = 'trigram');"
	  /* a row leaves the full-text index with its message, also when a
	   * mailbox delete cascades */
	  "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.parsed != 0"
	  " BEGIN DELETE FROM fts WHERE rowid = old.id; END;"
	  /* STATUS counters kept by the rows themselves: O(1) for LIST-STATUS
	   * over many mailboxes, and never out of step with the rows */
	  "CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN"
	  " UPDATE mailboxes SET n_messages = n_messages + 1,"
	  " n_unseen = n_unseen + ((new.flags & 1) = 0),"
	  " n_deleted = n_deleted + ((new.flags & 8) != 0),"
	  " vsize_sum = vsize_sum + new.vsize WHERE id = new.mailbox_id; END;"
	  "CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN"
	  " UPDATE mailboxes SET n_messages = n_messages - 1,"
	  " n_unseen = n_unseen - ((old.flags & 1) = 0),"
	  " n_deleted = n_deleted - ((old.flags & 8) != 0),"
	  " vsize_sum = vsize_sum - old.vsize WHERE id = old.mailbox_id; END;"
	  "CREATE TRIGGER messages_count_update AFTER UPDATE OF mailbox_id, flags, vsize ON messages"
	  " BEGIN"
	  " UPDATE mailboxes SET n_messages = n_messages - 1,"
	  " n_unseen = n_unseen - ((old.flags & 1) = 0),"
	  " n_deleted = n_deleted - ((old.flags & 8) != 0),"
	  " vsize_sum = vsize_sum - old.vsize WHERE id = old.mailbox_id;"
	  " UPDATE mailboxes SET n_messages = n_messages + 1,"
	  " n_unseen = n_unseen + ((new.flags & 1) = 0),"
	  " n_deleted = n_deleted + ((new.flags & 8) != 0),"
	  " vsize_sum = vsize_sum + new.vsize WHERE id = new.mailbox_id; END;" },
};

int index_schema_migrate(struct db *db, char **error_r)
{
	return db_migrate(db, index_migrations, N_ELEMENTS(index_migrations), error_r);
}
