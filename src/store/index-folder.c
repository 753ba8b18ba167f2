/* SPDX-License-Identifier: ISC */
/*
 * index-folder.c - the mailbox namespace of an account: LIST, CREATE,
 * DELETE, RENAME, SUBSCRIBE, the SPECIAL-USE defaults every account has,
 * and the folders others create or remove on disk.
 *
 * A mailbox is a row plus a Maildir++ folder: INBOX is the Maildir root,
 * "A/B" is the directory ".A.B" (mail/mailbox-name.h maps names, with
 * Dovecot's escaping, so Maildirs move between the two servers). Changes
 * run under the index's write lock, and the directory work is done inside
 * the transaction, so that a handle syncing the folder list never sees the
 * disk and the table disagree. Folder changes are made durable (directory
 * fsync) before the transaction commits.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "core/db.h"
#include "mail/mailbox-name.h"
#include "store/index-private.h"
#include "store/maildir.h"
#include "store/quota.h"

#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

/* Subscriptions mirror: one name per line, bounded like the names. */
#define INDEX_SUBSCRIPTIONS_MAX_BYTES (1024 * 1024)
/* nftw's open directory budget when removing a deleted folder. */
#define INDEX_RMTREE_FDS 8

/* The RFC 6154 attributes a real mailbox may carry (\All and \Flagged
 * name virtual mailboxes, which a Maildir cannot hold). */
static const char *const special_uses[] = {
	"\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash",
};

/* Every account has these (issue 4: created for every account), named as
 * Thunderbird, Apple Mail and Outlook name them by default. */
static const struct {
	const char *name, *special_use;
} mailbox_defaults[] = {
	{ "Sent", "\\Sent" },   { "Drafts", "\\Drafts" },   { "Junk", "\\Junk" },
	{ "Trash", "\\Trash" }, { "Archive", "\\Archive" },
};

/* ---- names ---- */

/* name_check - canonical name and its folder, or store.bad-name. */
static int name_check(const char *name, char **canon_r, char **storage_r,
		      struct index_error *error_r)
{
	char *canon = index_name_canon(name);
	const char *error;

	if (mailbox_name_to_storage(canon, storage_r, &error) < 0) {
		index_set_error(error_r, INDEX_REASON_BAD_NAME, "%s", error);
		free(canon);
		return -1;
	}
	*canon_r = canon;
	return 0;
}

static const char *special_use_canon(const char *attr)
{
	for (size_t i = 0; i < N_ELEMENTS(special_uses); i++) {
		if (str_casecmp(special_uses[i], attr) == 0)
			return special_uses[i];
	}
	return NULL;
}

/* hier_cmp - names in hierarchy order: '/' sorts before every other
 * byte, so a mailbox's children follow it directly ("A", "A/B", "A B"),
 * and INBOX comes first. */
static int hier_cmp(const char *a, const char *b)
{
	bool ia = strcmp(a, "INBOX") == 0, ib = strcmp(b, "INBOX") == 0;

	if (ia || ib)
		return ia && ib ? 0 : ia ? -1 : 1;
	for (;; a++, b++) {
		unsigned ca = *a == '/' ? 1 : (unsigned char)*a;
		unsigned cb = *b == '/' ? 1 : (unsigned char)*b;
		if (ca != cb || ca == 0)
			return (int)ca - (int)cb;
	}
}

static int info_cmp(const void *a, const void *b)
{
	const struct index_mailbox_info *x = a, *y = b;

	if (x->nonexistent != y->nonexistent)
		return x->nonexistent ? 1 : -1;
	return hier_cmp(x->name, y->name);
}

static bool is_child(const char *parent, const char *name)
{
	size_t len = strlen(parent);

	return strncmp(parent, name, len) == 0 && name[len] == '/';
}

int index_mailbox_list(struct index *index, struct index_mailbox_info **list_r,
		       size_t *count_r, struct index_error *error_r)
{
	sqlite3_stmt *st;
	struct index_mailbox_info *list = NULL;
	size_t count = 0, existing;
	int rc;

	if (index_sync_folders(index, error_r) < 0)
		return -1;
	st = db_prepare(index->db,
			"SELECT name, special_use, name IN (SELECT name FROM subscriptions), 0"
			" FROM mailboxes UNION ALL"
			" SELECT name, NULL, 1, 1 FROM subscriptions"
			" WHERE name NOT IN (SELECT name FROM mailboxes)");
	while ((rc = index_step(index, st)) == SQLITE_ROW) {
		const char *su = (const char *)sqlite3_column_text(st, 1);
		list = xrealloc(list, (count + 1) * sizeof(*list));
		memset(&list[count], 0, sizeof(*list));
		list[count].name = xstrdup((const char *)sqlite3_column_text(st, 0));
		list[count].special_use = su != NULL ? special_use_canon(su) : NULL;
		list[count].subscribed = sqlite3_column_int(st, 2) != 0;
		list[count].nonexistent = sqlite3_column_int(st, 3) != 0;
		count++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		index_mailbox_list_free(&list, count);
		return index_db_error(index, error_r, "list mailboxes");
	}
	if (count > 0)
		qsort(list, count, sizeof(*list), info_cmp);
	for (existing = 0; existing < count && !list[existing].nonexistent; existing++)
		;
	/* in hierarchy order a child, if any, is the very next entry */
	for (size_t i = 0; i + 1 < existing; i++)
		list[i].has_children = is_child(list[i].name, list[i + 1].name);
	*list_r = list;
	*count_r = count;
	return 0;
}

void index_mailbox_list_free(struct index_mailbox_info **_list, size_t count)
{
	struct index_mailbox_info *list = *_list;

	if (list == NULL)
		return;
	*_list = NULL;
	for (size_t i = 0; i < count; i++)
		free(list[i].name);
	free(list);
}

/* ---- create ---- */

static int mailbox_count(struct index *index, uint64_t *count_r)
{
	sqlite3_stmt *st = db_prepare(index->db, "SELECT count(*) FROM mailboxes");
	int rc = index_step(index, st);

	if (rc == SQLITE_ROW)
		*count_r = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* create_locked - the folder on disk (durably) and its row; write txn. */
static int create_locked(struct index *index, const char *name, const char *storage,
			 const char *special_use, int64_t *id_r, struct index_error *error_r)
{
	struct index_mbox existing;
	uint64_t count;
	char *dir;
	const char *error;
	int ret;

	if ((ret = index_mbox_get_name(index, name, &existing)) != 0) {
		if (ret > 0) {
			index_mbox_clear(&existing);
			index_set_error(error_r, INDEX_REASON_EXISTS, "mailbox %s exists", name);
		} else {
			index_db_error(index, error_r, "look up mailbox");
		}
		return -1;
	}
	if (mailbox_count(index, &count) < 0)
		return index_db_error(index, error_r, "count mailboxes");
	if (count >= index->max_mailboxes) {
		index_set_error(error_r, INDEX_REASON_MAILBOXES, "%" PRIu64 " mailboxes (limit %u)",
				count, index->max_mailboxes);
		return -1;
	}
	if (maildir_folder_path(index->root, storage, &dir, &error) < 0) {
		index_set_error(error_r, INDEX_REASON_BAD_NAME, "%s", error);
		return -1;
	}
	ret = maildir_create(dir);
	if (ret < 0)
		index_sys_error(error_r, "create folder", dir, errno);
	free(dir);
	if (ret == 0)
		ret = index_mbox_insert(index, name, storage, special_use, id_r, error_r);
	return ret;
}

int index_mailbox_create(struct index *index, const char *name, const char *special_use,
			 struct index_error *error_r)
{
	const char *su = NULL;
	char *canon, *storage;
	int ret;

	if (special_use != NULL && (su = special_use_canon(special_use)) == NULL) {
		index_set_error(error_r, INDEX_REASON_SPECIAL_USE, "unsupported attribute %s",
				special_use);
		return -1;
	}
	if (name_check(name, &canon, &storage, error_r) < 0)
		return -1;
	ret = index_begin(index, error_r);
	if (ret == 0)
		ret = create_locked(index, canon, storage, su, NULL, error_r);
	if (ret == 0)
		ret = index_commit(index, error_r);
	else
		index_rollback(index);
	free(canon);
	free(storage);
	return ret;
}

/* ---- delete ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (remove(path) < 0 && errno != ENOENT)
		log_warn("index: cannot remove %s: %s", path, strerror(errno));
	return 0;
}

/* trash_path - where a folder goes to be removed: "..*" is skipped by
 * every Maildir++ scanner, so it is gone from the client's view at once. */
static char *trash_path(const struct index *index)
{
	char unique[MAILDIR_NAME_MAX];

	maildir_unique_name(unique);
	return xasprintf("%s/%s%s", index->root, INDEX_TRASH_PREFIX, unique);
}

void index_rmtree(const char *path)
{
	(void)nftw(path, rm_entry, INDEX_RMTREE_FDS, FTW_DEPTH | FTW_PHYS);
}

static int mbox_usage(struct index *index, int64_t id, struct quota_usage *usage_r)
{
	sqlite3_stmt *st = db_prepare(index->db, "SELECT count(*), coalesce(sum(size), 0)"
				      " FROM messages WHERE mailbox_id = ?1");
	int rc;

	sqlite3_bind_int64(st, 1, id);
	rc = index_step(index, st);
	if (rc == SQLITE_ROW) {
		usage_r->messages = (uint64_t)sqlite3_column_int64(st, 0);
		usage_r->bytes = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int index_mailbox_delete(struct index *index, const char *name, struct index_error *error_r)
{
	struct index_mbox mbox;
	struct quota_usage usage = { 0, 0 };
	char *canon = index_name_canon(name), *trash = NULL;
	sqlite3_stmt *st;
	int ret;

	if (strcmp(canon, "INBOX") == 0) {
		free(canon);
		index_set_error(error_r, INDEX_REASON_DELETE_INBOX, "INBOX cannot be deleted");
		return -1;
	}
	if (index_begin(index, error_r) < 0) {
		free(canon);
		return -1;
	}
	ret = index_mbox_get_name(index, canon, &mbox);
	if (ret <= 0) {
		index_rollback(index);
		if (ret == 0)
			index_set_error(error_r, INDEX_REASON_NO_MAILBOX, "no mailbox %s", canon);
		else
			index_db_error(index, error_r, "look up mailbox");
		free(canon);
		return -1;
	}
	free(canon);
	ret = mbox_usage(index, mbox.id, &usage) < 0 ? index_db_error(index, error_r, "count") : 0;
	if (ret == 0) {
		trash = trash_path(index);
		if (rename(mbox.dir, trash) < 0 && errno != ENOENT)
			ret = index_sys_error(error_r, "rename", mbox.dir, errno);
		else if (fsync_dir(index->root) < 0)
			ret = index_sys_error(error_r, "fsync", index->root, errno);
	}
	if (ret == 0) {
		/* cascades to messages (and through the trigger to fts),
		 * expunge records and keywords */
		st = db_prepare(index->db, "DELETE FROM mailboxes WHERE id = ?1");
		sqlite3_bind_int64(st, 1, mbox.id);
		if (index_step(index, st) != SQLITE_DONE)
			ret = index_db_error(index, error_r, "delete mailbox");
		sqlite3_finalize(st);
	}
	if (ret == 0)
		ret = index_commit(index, error_r);
	if (ret < 0) {
		index_rollback(index);
		if (trash != NULL)
			(void)rename(trash, mbox.dir);
	} else {
		index_rmtree(trash);
		if ((usage.bytes > 0 || usage.messages > 0) &&
		    quota_update(index->data_dir, &index->account, -(int64_t)usage.bytes,
				 -(int64_t)usage.messages) < 0)
			log_warn("index %s: quota update after deleting %s failed", index->root,
				 mbox.name);
	}
	free(trash);
	index_mbox_clear(&mbox);
	return ret;
}

/* ---- rename ---- */

struct rename_item {
	int64_t id;
	char *old_name, *new_name;
	char *old_dir, *new_dir, *new_storage;
	bool moved;
};

static void rename_items_free(struct rename_item *items, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(items[i].old_name);
		free(items[i].new_name);
		free(items[i].old_dir);
		free(items[i].new_dir);
		free(items[i].new_storage);
	}
	free(items);
}

/* rename_collect - the mailbox and its children with their new names,
 * folders and directories; refuses when any new name is taken or
 * invalid. */
static int rename_collect(struct index *index, const char *from, const char *to,
			  struct rename_item **items_r, size_t *count_r, struct index_error *error_r)
{
	sqlite3_stmt *st = db_prepare(index->db,
				      "SELECT id, name, storage FROM mailboxes"
				      " WHERE name = ?1 OR substr(name, 1, length(?1) + 1) = ?1 || '/'"
				      " ORDER BY length(name)");
	struct rename_item *items = NULL;
	size_t count = 0, from_len = strlen(from);
	int rc, ret = 0;

	sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
	while (ret == 0 && (rc = index_step(index, st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *storage = (const char *)sqlite3_column_text(st, 2);
		const char *error;
		struct rename_item *it;
		int64_t other;

		items = xrealloc(items, (count + 1) * sizeof(*items));
		it = &items[count++];
		memset(it, 0, sizeof(*it));
		it->id = sqlite3_column_int64(st, 0);
		it->old_name = xstrdup(name);
		it->new_name = xasprintf("%s%s", to, name + from_len);
		if (maildir_folder_path(index->root, storage, &it->old_dir, &error) < 0 ||
		    mailbox_name_to_storage(it->new_name, &it->new_storage, &error) < 0 ||
		    maildir_folder_path(index->root, it->new_storage, &it->new_dir, &error) < 0) {
			index_set_error(error_r, INDEX_REASON_BAD_NAME, "%s: %s", it->new_name,
					error);
			ret = -1;
		} else if ((rc = index_mailbox_find(index, it->new_name, &other)) != 0) {
			if (rc > 0)
				index_set_error(error_r, INDEX_REASON_EXISTS, "mailbox %s exists",
						it->new_name);
			else
				index_db_error(index, error_r, "look up mailbox");
			ret = -1;
		}
	}
	sqlite3_finalize(st);
	if (ret == 0 && count == 0) {
		index_set_error(error_r, INDEX_REASON_NO_MAILBOX, "no mailbox %s", from);
		ret = -1;
	}
	if (ret < 0) {
		rename_items_free(items, count);
		return -1;
	}
	*items_r = items;
	*count_r = count;
	return 0;
}

/* rename_apply - directories first (parent first: its children's folders
 * are siblings in Maildir++, not inside it), then rows and
 * subscriptions. */
static int rename_apply(struct index *index, struct rename_item *items, size_t count,
			struct index_error *error_r)
{
	int ret = 0;

	for (size_t i = 0; i < count && ret == 0; i++) {
		if (rename(items[i].old_dir, items[i].new_dir) == 0)
			items[i].moved = true;
		else if (errno != ENOENT) /* a child row whose folder vanished */
			ret = index_sys_error(error_r, "rename", items[i].old_dir, errno);
	}
	if (ret == 0 && fsync_dir(index->root) < 0)
		ret = index_sys_error(error_r, "fsync", index->root, errno);
	for (size_t i = 0; i < count && ret == 0; i++) {
		sqlite3_stmt *st = db_prepare(index->db, "UPDATE mailboxes SET name = ?2,"
					      " storage = ?3 WHERE id = ?1");
		sqlite3_bind_int64(st, 1, items[i].id);
		sqlite3_bind_text(st, 2, items[i].new_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, items[i].new_storage, -1, SQLITE_STATIC);
		if (index_step(index, st) != SQLITE_DONE)
			ret = index_db_error(index, error_r, "rename mailbox");
		sqlite3_finalize(st);
		st = db_prepare(index->db, "UPDATE OR REPLACE subscriptions SET name = ?2"
					   " WHERE name = ?1");
		sqlite3_bind_text(st, 1, items[i].old_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, items[i].new_name, -1, SQLITE_STATIC);
		if (ret == 0 && index_step(index, st) != SQLITE_DONE)
			ret = index_db_error(index, error_r, "rename subscription");
		sqlite3_finalize(st);
	}
	return ret;
}

static void rename_undo(struct rename_item *items, size_t count)
{
	for (size_t i = count; i-- > 0;) {
		if (items[i].moved && rename(items[i].new_dir, items[i].old_dir) < 0)
			log_error("index: cannot move %s back to %s: %s", items[i].new_dir,
				  items[i].old_dir, strerror(errno));
	}
}

/* rename_inbox - RFC 3501 6.3.5: a new mailbox receives every message of
 * INBOX (new UIDs there), INBOX stays, empty, with its children. */
static int rename_inbox(struct index *index, const char *to, const char *storage,
			struct index_error *error_r)
{
	struct index_mbox inbox, dst;
	struct index_copy_result result;
	struct index_uid_range all = { 1, UINT32_MAX };
	int64_t id;
	int ret;

	if (create_locked(index, to, storage, NULL, &id, error_r) < 0)
		return -1;
	if ((ret = index_mbox_get_name(index, "INBOX", &inbox)) <= 0)
		return index_db_error(index, error_r, "look up INBOX");
	if (index_mbox_get(index, id, &dst) <= 0) {
		index_mbox_clear(&inbox);
		return index_db_error(index, error_r, "look up mailbox");
	}
	ret = index_copy_locked(index, &inbox, &all, 1, &dst, true, &result, error_r);
	if (ret == 0)
		index_copy_result_clear(&result);
	index_mbox_clear(&inbox);
	index_mbox_clear(&dst);
	return ret;
}

int index_mailbox_rename(struct index *index, const char *from, const char *to,
			 struct index_error *error_r)
{
	char *cfrom = index_name_canon(from), *cto, *storage;
	struct rename_item *items = NULL;
	size_t count = 0;
	int ret;

	if (name_check(to, &cto, &storage, error_r) < 0) {
		free(cfrom);
		return -1;
	}
	/* INBOX is the exception: its messages move, not the mailbox */
	if (strcmp(cfrom, cto) == 0 || (strcmp(cfrom, "INBOX") != 0 && is_child(cfrom, cto))) {
		index_set_error(error_r, strcmp(cfrom, cto) == 0 ? INDEX_REASON_EXISTS :
								   INDEX_REASON_RENAME_INTO,
				"cannot rename %s to %s", cfrom, cto);
		ret = -1;
	} else if ((ret = index_begin(index, error_r)) == 0) {
		if (strcmp(cfrom, "INBOX") == 0)
			ret = rename_inbox(index, cto, storage, error_r);
		else if ((ret = rename_collect(index, cfrom, cto, &items, &count, error_r)) == 0)
			ret = rename_apply(index, items, count, error_r);
		if (ret == 0)
			ret = index_commit(index, error_r);
		if (ret < 0) {
			index_rollback(index);
			rename_undo(items, count);
		}
		rename_items_free(items, count);
		if (ret == 0)
			(void)index_subscriptions_save(index);
	}
	free(cfrom);
	free(cto);
	free(storage);
	return ret;
}

/* ---- subscriptions ---- */

int index_subscriptions_save(struct index *index)
{
	char *path = xasprintf("%s/%s", index->root, INDEX_SUBSCRIPTIONS_FILE);
	sqlite3_stmt *st = db_prepare(index->db, "SELECT name FROM subscriptions ORDER BY name");
	struct buf out;
	int rc, ret = 0;

	buf_init(&out, INDEX_SUBSCRIPTIONS_MAX_BYTES);
	while (ret == 0 && (rc = index_step(index, st)) == SQLITE_ROW) {
		if (buf_printf(&out, "%s\n", (const char *)sqlite3_column_text(st, 0)) < 0)
			ret = -1;
	}
	sqlite3_finalize(st);
	if (ret == 0 && file_write_durable(path, out.data, out.len, 0600) < 0) {
		log_warn("index %s: cannot write %s: %s", index->root, path, strerror(errno));
		ret = -1;
	}
	buf_release(&out);
	free(path);
	return ret;
}

int index_subscriptions_load(struct index *index)
{
	char *path = xasprintf("%s/%s", index->root, INDEX_SUBSCRIPTIONS_FILE);
	char *data = NULL, *save = NULL;
	size_t len;
	int ret = 0;

	if (file_read_all(path, INDEX_SUBSCRIPTIONS_MAX_BYTES, &data, &len) < 0) {
		ret = errno == ENOENT ? 0 : -1;
		free(path);
		return ret;
	}
	for (char *line = strtok_r(data, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *error;
		sqlite3_stmt *st;
		if (mailbox_name_validate(line, &error) < 0)
			continue;
		st = db_prepare(index->db, "INSERT OR IGNORE INTO subscriptions (name) VALUES (?1)");
		sqlite3_bind_text(st, 1, line, -1, SQLITE_STATIC);
		if (index_step(index, st) != SQLITE_DONE)
			ret = -1;
		sqlite3_finalize(st);
	}
	free(data);
	free(path);
	return ret < 0 ? -1 : 1;
}

int index_mailbox_subscribe(struct index *index, const char *name, bool subscribe,
			    struct index_error *error_r)
{
	char *canon, *storage;
	sqlite3_stmt *st;
	int ret = 0;

	if (name_check(name, &canon, &storage, error_r) < 0)
		return -1;
	free(storage);
	st = db_prepare(index->db, subscribe ?
				   "INSERT OR IGNORE INTO subscriptions (name) VALUES (?1)" :
				   "DELETE FROM subscriptions WHERE name = ?1");
	sqlite3_bind_text(st, 1, canon, -1, SQLITE_TRANSIENT);
	if (index_step(index, st) != SQLITE_DONE)
		ret = index_db_error(index, error_r, "subscribe");
	sqlite3_finalize(st);
	free(canon);
	if (ret == 0 && sqlite3_changes(index->db->sql) > 0)
		(void)index_subscriptions_save(index);
	return ret;
}

/* ---- defaults ---- */

/* default_check - 1 when a mailbox already has the attribute, or the
 * default's name and gets the attribute now; 0 when it must be created. */
static int default_check(struct index *index, const char *name, const char *special_use)
{
	sqlite3_stmt *st = db_prepare(index->db, "SELECT 1 FROM mailboxes"
				      " WHERE special_use = ?1 COLLATE NOCASE");
	int rc;

	sqlite3_bind_text(st, 1, special_use, -1, SQLITE_STATIC);
	rc = index_step(index, st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc == SQLITE_ROW ? 1 : -1;
	st = db_prepare(index->db, "UPDATE mailboxes SET special_use = ?2 WHERE name = ?1");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, special_use, -1, SQLITE_STATIC);
	rc = index_step(index, st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(index->db->sql) > 0 ? 1 : 0;
}

static int subscribe_locked(struct index *index, const char *name)
{
	sqlite3_stmt *st = db_prepare(index->db, "INSERT OR IGNORE INTO subscriptions (name)"
				      " VALUES (?1)");
	int rc;

	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = index_step(index, st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int index_mailbox_defaults(struct index *index, bool fresh, struct index_error *error_r)
{
	bool subscribed = false;
	int ret = index_begin(index, error_r);

	/* a new index without a subscriptions mirror: a new account (or one
	 * imported without one), whose client should see INBOX */
	if (ret == 0 && fresh && index_subscriptions_load(index) == 0) {
		if (subscribe_locked(index, "INBOX") < 0)
			ret = index_db_error(index, error_r, "subscribe");
		subscribed = true;
	}
	for (size_t i = 0; i < N_ELEMENTS(mailbox_defaults) && ret == 0; i++) {
		int rc = default_check(index, mailbox_defaults[i].name,
				       mailbox_defaults[i].special_use);
		if (rc < 0) {
			ret = index_db_error(index, error_r, "default mailboxes");
		} else if (rc == 0) {
			/* subscribed once, when created: an UNSUBSCRIBE sticks */
			ret = create_locked(index, mailbox_defaults[i].name,
					    mailbox_defaults[i].name, mailbox_defaults[i].special_use,
					    NULL, error_r);
			if (ret == 0 && subscribe_locked(index, mailbox_defaults[i].name) < 0)
				ret = index_db_error(index, error_r, "subscribe");
			subscribed = true;
		}
	}
	if (ret == 0)
		ret = index_commit(index, error_r);
	else
		index_rollback(index);
	if (ret == 0 && subscribed)
		(void)index_subscriptions_save(index);
	return ret;
}

/* ---- folders ---- */

struct folder {
	char *storage;
	char *name;
};

static int folder_cmp(const void *a, const void *b)
{
	return strcmp(((const struct folder *)a)->storage, ((const struct folder *)b)->storage);
}

static void folders_free(struct folder *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].storage);
		free(f[i].name);
	}
	free(f);
}

/* disk_folders - the ".Name" directories of the root that map to a
 * mailbox name (others are left alone and logged), sorted by folder. */
static int disk_folders(struct index *index, struct folder **folders_r, size_t *count_r)
{
	DIR *d = opendir(index->root);
	struct dirent *de;
	struct folder *f = NULL;
	size_t n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		const char *error;
		char *name;
		/* "." and ".." entries, our trash "..postino-deleted-*" */
		if (de->d_name[0] != '.' || de->d_name[1] == '.' || de->d_name[1] == '\0')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (mailbox_name_from_storage(de->d_name + 1, &name, &error) < 0) {
			log_warn("index %s: folder %s is not reachable over IMAP: %s", index->root,
				 de->d_name, error);
			continue;
		}
		f = xrealloc(f, (n + 1) * sizeof(*f));
		f[n].storage = xstrdup(de->d_name + 1);
		f[n].name = name;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(f, n, sizeof(*f), folder_cmp);
	*folders_r = f;
	*count_r = n;
	return 0;
}

static int folder_drop(struct index *index, int64_t id)
{
	sqlite3_stmt *st = db_prepare(index->db, "DELETE FROM mailboxes WHERE id = ?1");
	int rc;

	sqlite3_bind_int64(st, 1, id);
	rc = index_step(index, st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* A mailbox row of the folder merge. */
struct folder_row {
	int64_t id;
	char *storage;
};

static void folder_rows_free(struct folder_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].storage);
	free(rows);
}

/* folder_rows - read first, then change: rows must not change under a
 * live cursor. */
static int folder_rows(struct index *index, struct folder_row **rows_r, size_t *count_r)
{
	sqlite3_stmt *st = db_prepare(index->db, "SELECT id, storage FROM mailboxes"
				      " WHERE storage != 'INBOX' ORDER BY storage");
	struct folder_row *rows = NULL;
	size_t n = 0;
	int rc;

	while ((rc = index_step(index, st)) == SQLITE_ROW) {
		rows = xrealloc(rows, (n + 1) * sizeof(*rows));
		rows[n].id = sqlite3_column_int64(st, 0);
		rows[n].storage = xstrdup((const char *)sqlite3_column_text(st, 1));
		n++;
	}
	sqlite3_finalize(st);
	*rows_r = rows;
	*count_r = n;
	return rc == SQLITE_DONE ? 0 : -1;
}

/* folders_merge - rows for new folders, none for vanished ones (both
 * lists sorted by folder; SQLite's BINARY order is strcmp's). */
static int folders_merge(struct index *index, struct folder *disk, size_t ndisk,
			 struct index_error *error_r)
{
	struct folder_row *rows;
	size_t nrows, i = 0, j = 0;
	int ret = 0;

	if (folder_rows(index, &rows, &nrows) < 0)
		return index_db_error(index, error_r, "list folders");
	while (ret == 0 && (i < ndisk || j < nrows)) {
		int cmp = i >= ndisk ? 1 : j >= nrows ? -1 : strcmp(disk[i].storage, rows[j].storage);
		if (cmp == 0) {
			i++;
			j++;
		} else if (cmp < 0) {
			/* a folder made by another tool, or a Maildir imported */
			ret = index_mbox_insert(index, disk[i].name, disk[i].storage, NULL, NULL,
						error_r);
			i++;
		} else {
			log_info("index %s: folder %s vanished, mailbox dropped", index->root,
				 rows[j].storage);
			if (folder_drop(index, rows[j].id) < 0)
				ret = index_db_error(index, error_r, "drop mailbox");
			j++;
		}
	}
	folder_rows_free(rows, nrows);
	return ret;
}

static int inbox_ensure(struct index *index, struct index_error *error_r)
{
	int64_t id;
	int ret = index_mailbox_find(index, "INBOX", &id);

	if (ret < 0)
		return index_db_error(index, error_r, "look up INBOX");
	if (ret > 0)
		return 0;
	return index_mbox_insert(index, "INBOX", "INBOX", NULL, NULL, error_r);
}

int index_sync_folders(struct index *index, struct index_error *error_r)
{
	int64_t mtime = index_path_mtime_ns(index->root);
	struct folder *disk = NULL;
	size_t ndisk = 0;
	int ret;

	if (mtime >= 0 && mtime == index->root_mtime)
		return 0;
	if (index_begin(index, error_r) < 0)
		return -1;
	/* the directory is read under the lock: see DESIGN */
	ret = disk_folders(index, &disk, &ndisk);
	if (ret < 0)
		index_sys_error(error_r, "read", index->root, errno);
	if (ret == 0)
		ret = inbox_ensure(index, error_r);
	if (ret == 0)
		ret = folders_merge(index, disk, ndisk, error_r);
	if (ret == 0)
		ret = index_commit(index, error_r);
	else
		index_rollback(index);
	folders_free(disk, ndisk);
	if (ret == 0)
		index->root_mtime = index_mtime_settled(mtime);
	return ret;
}

void index_trash_clean(struct index *index)
{
	DIR *d = opendir(index->root);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!str_has_prefix(de->d_name, INDEX_TRASH_PREFIX))
			continue;
		char *path = xasprintf("%s/%s", index->root, de->d_name);
		index_rmtree(path);
		free(path);
	}
	closedir(d);
}

