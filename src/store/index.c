/* SPDX-License-Identifier: ISC */
/*
 * index.c - opening an account's mail index: create, migrate, rebuild when
 * missing or corrupt; errors, transactions and the flag names shared by
 * the other index-*.c files.
 *
 * DESIGN. The database is a cache of the Maildir with identities (UIDs,
 * UIDVALIDITY, MODSEQ) that only it holds. When it is missing or SQLite
 * says it is not a database or corrupt, it is moved aside and a fresh one
 * is filled from the Maildir: folders from the directory list, messages
 * (in file-name time order, flags from the names) lazily by the first sync
 * of each mailbox. UIDVALIDITYs are then new, and never an old one again:
 * the last one handed out is also kept in a file of the Maildir root
 * (INDEX_UIDVALIDITY_FILE). A handle that meets corruption later leaves a
 * marker file, so the next open rebuilds instead of failing forever.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "core/db.h"
#include "directory/directory.h"
#include "store/index-private.h"
#include "store/maildir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Page cache per handle (KiB): each IMAP session has a handle, so this
 * bounds what an idle one can hold; SQLite allocates it lazily. */
#define INDEX_CACHE_KIB 1024
#define INDEX_FILE_MODE 0600
/* Opening attempts when the database is locked by another opener. */
#define INDEX_OPEN_TRIES 20
#define INDEX_OPEN_RETRY_US (50 * 1000)

static const struct {
	unsigned flag;
	const char *name;
} index_flag_names[] = {
	{ INDEX_FLAG_SEEN, "\\Seen" },
	{ INDEX_FLAG_ANSWERED, "\\Answered" },
	{ INDEX_FLAG_FLAGGED, "\\Flagged" },
	{ INDEX_FLAG_DELETED, "\\Deleted" },
	{ INDEX_FLAG_DRAFT, "\\Draft" },
};

/* RFC 3501 9: atom-specials that may not appear in a flag keyword. */
static const char keyword_specials[] = "(){ %*\"\\]";

/* ---- errors and transactions ---- */

void index_set_error(struct index_error *error_r, const char *reason, const char *fmt, ...)
{
	va_list ap;

	if (error_r == NULL)
		return;
	error_r->reason = reason;
	va_start(ap, fmt);
	/* a detail for the log: cut rather than lost when very long */
	(void)vsnprintf(error_r->text, sizeof(error_r->text), fmt, ap);
	va_end(ap);
}

/* mark_corrupt - leave the marker that makes the next open rebuild. */
static void mark_corrupt(struct index *index)
{
	char *path = xasprintf("%s/%s", index->root, INDEX_CORRUPT_MARKER);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, INDEX_FILE_MODE);

	log_error("index %s: database is corrupt; it will be rebuilt from the Maildir at the "
		  "next open", index->root);
	if (fd >= 0)
		close(fd);
	free(path);
}

static bool rc_is_corrupt(int rc)
{
	return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

int index_db_error(struct index *index, struct index_error *error_r, const char *what)
{
	int rc = sqlite3_extended_errcode(index->db->sql);

	if (rc_is_corrupt(rc))
		mark_corrupt(index);
	index_set_error(error_r, INDEX_REASON_IO, "index %s: %s: %s", index->root, what,
			sqlite3_errmsg(index->db->sql));
	return -1;
}

int index_sys_error(struct index_error *error_r, const char *what, const char *path, int err)
{
	const char *reason = err == ENOSPC || err == EDQUOT ? INDEX_REASON_DISK_FULL :
							      INDEX_REASON_IO;

	index_set_error(error_r, reason, "%s %s: %s", what, path, strerror(err));
	return -1;
}

int index_step(struct index *index, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc_is_corrupt(rc))
		mark_corrupt(index);
	return rc;
}

int index_mailbox_has(struct index *index, const char *sql, int64_t mailbox_id)
{
	sqlite3_stmt *st = db_prepare(index->db, sql);
	int rc;

	sqlite3_bind_int64(st, 1, mailbox_id);
	rc = index_step(index, st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int index_begin(struct index *index, struct index_error *error_r)
{
	/* IMMEDIATE: the write lock up front, so two handles never both
	 * read UIDNEXT and then both write it (busy_timeout waits for it) */
	if (sqlite3_exec(index->db->sql, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return index_db_error(index, error_r, "begin");
	return 0;
}

int index_commit(struct index *index, struct index_error *error_r)
{
	if (sqlite3_exec(index->db->sql, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		int ret = index_db_error(index, error_r, "commit");
		index_rollback(index);
		return ret;
	}
	return 0;
}

void index_rollback(struct index *index)
{
	if (!sqlite3_get_autocommit(index->db->sql))
		(void)sqlite3_exec(index->db->sql, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- flags ---- */

const char *index_flag_name(unsigned flag)
{
	for (size_t i = 0; i < N_ELEMENTS(index_flag_names); i++) {
		if (index_flag_names[i].flag == flag)
			return index_flag_names[i].name;
	}
	return NULL;
}

int index_flag_lookup(const char *name, unsigned *flag_r)
{
	for (size_t i = 0; i < N_ELEMENTS(index_flag_names); i++) {
		if (str_casecmp(index_flag_names[i].name, name) == 0) {
			*flag_r = index_flag_names[i].flag;
			return 1;
		}
	}
	return 0;
}

bool index_keyword_valid(const char *keyword)
{
	size_t len = strlen(keyword);

	if (len == 0 || len > INDEX_KEYWORD_LEN_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)keyword; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr(keyword_specials, *p) != NULL)
			return false;
	}
	return true;
}

/* ---- opening ---- */

static void account_copy(struct account *dst, const struct account *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->id = src->id;
	dst->address = src->address != NULL ? xstrdup(src->address) : NULL;
	dst->domain = xstrdup(src->domain);
	dst->local = xstrdup(src->local);
	dst->quota_bytes = src->quota_bytes;
	dst->max_messages = src->max_messages;
}

/* db_file_corrupt - SQLite itself calls the file no database or corrupt
 * (and not merely busy, locked or unreadable: those must not cost the
 * user their UIDs). */
static bool db_file_corrupt(const char *path)
{
	sqlite3 *sql = NULL;
	bool corrupt = false;

	if (sqlite3_open_v2(path, &sql, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
		sqlite3_extended_result_codes(sql, 1);
		if (sqlite3_exec(sql, "PRAGMA schema_version; SELECT count(*) FROM sqlite_master",
				 NULL, NULL, NULL) != SQLITE_OK)
			corrupt = rc_is_corrupt(sqlite3_extended_errcode(sql));
	}
	sqlite3_close(sql);
	return corrupt;
}

/* db_discard - move a broken database aside (kept once for a post-mortem)
 * together with its WAL, so the next db_open starts afresh. */
static void db_discard(const char *path, const char *why)
{
	static const char *const suffixes[] = { "-wal", "-shm" };
	char *aside = xasprintf("%s.corrupt", path);

	/* why names the file already */
	log_warn("index: %s; rebuilding it from the Maildir (new UIDVALIDITY)", why);
	if (rename(path, aside) < 0 && errno != ENOENT)
		(void)unlink(path);
	free(aside);
	for (size_t i = 0; i < N_ELEMENTS(suffixes); i++) {
		char *p = xasprintf("%s%s", path, suffixes[i]);
		(void)unlink(p);
		free(p);
	}
}

/* db_open_index - open and migrate; *fresh_r: the schema was created now
 * (a new or rebuilt index). */
static int db_open_index(const char *path, struct db **db_r, bool *fresh_r, char **error_r)
{
	struct db *db = NULL;

	if (db_open(path, true, &db, error_r) < 0)
		return -1;
	*fresh_r = db_schema_version(db) == 0;
	if (index_schema_migrate(db, error_r) < 0) {
		db_close(&db);
		return -1;
	}
	*db_r = db;
	return 0;
}

static int index_open_db(struct index *index, bool *fresh_r, struct index_error *error_r)
{
	char *path = xasprintf("%s/%s", index->root, INDEX_FILE_NAME);
	char *marker = xasprintf("%s/%s", index->root, INDEX_CORRUPT_MARKER);
	char *error = NULL;
	int ret = 0;

	if (access(marker, F_OK) == 0) {
		db_discard(path, "database marked corrupt by an earlier session");
		(void)unlink(marker);
	}
	for (unsigned tries = 1; db_open_index(path, &index->db, fresh_r, &error) < 0; tries++) {
		if (db_file_corrupt(path) && tries == 1) {
			db_discard(path, error);
		} else if (tries >= INDEX_OPEN_TRIES) {
			ret = -1;
			break;
		} else {
			/* sessions racing to create a new account's database:
			 * switching it to WAL takes a lock the busy handler does
			 * not wait for */
			usleep(INDEX_OPEN_RETRY_US);
		}
		free(error);
		error = NULL;
	}
	if (ret < 0)
		index_set_error(error_r, INDEX_REASON_IO, "%s", error);
	free(error);
	free(marker);
	free(path);
	if (ret == 0) {
		char *pragma = xasprintf("PRAGMA cache_size = -%d", INDEX_CACHE_KIB);
		(void)db_exec(index->db, pragma);
		free(pragma);
	}
	return ret;
}

int index_open(const struct index_settings *set, struct index **index_r,
	       struct index_error *error_r)
{
	struct index *index = xcalloc(1, sizeof(*index));
	bool fresh = false;

	index->data_dir = xstrdup(set->data_dir);
	account_copy(&index->account, set->account);
	index->domain_quota_bytes = set->domain_quota_bytes;
	index->max_mailboxes = set->max_mailboxes != 0 ? set->max_mailboxes :
							  INDEX_MAILBOXES_DEFAULT;
	index->root = maildir_account_path(set->data_dir, set->account);
	index->root_mtime = -1;
	if (maildir_create(index->root) < 0) {
		index_sys_error(error_r, "create Maildir", index->root, errno);
		index_close(&index);
		return -1;
	}
	if (index_open_db(index, &fresh, error_r) < 0) {
		index_close(&index);
		return -1;
	}
	index_trash_clean(index);
	if (index_sync_folders(index, error_r) < 0 ||
	    index_mailbox_defaults(index, fresh, error_r) < 0) {
		index_close(&index);
		return -1;
	}
	*index_r = index;
	return 0;
}

struct index *index_clone(const struct index *from)
{
	struct index *index = xcalloc(1, sizeof(*index));

	index->data_dir = xstrdup(from->data_dir);
	account_copy(&index->account, &from->account);
	index->domain_quota_bytes = from->domain_quota_bytes;
	index->max_mailboxes = from->max_mailboxes;
	index->root = xstrdup(from->root);
	index->root_mtime = -1;
	return index;
}

/* index_connect - open the database a handle of the account has opened
 * (created, migrated, checked) before: no rebuild here, a clone that
 * finds no database leaves that to the next session's index_open. */
int index_connect(struct index *index, struct index_error *error_r)
{
	char *path = xasprintf("%s/%s", index->root, INDEX_FILE_NAME);
	char *error = NULL, *pragma;
	int ret = db_open(path, false, &index->db, &error);

	free(path);
	if (ret < 0) {
		index_set_error(error_r, INDEX_REASON_IO, "%s", error);
		free(error);
		return -1;
	}
	pragma = xasprintf("PRAGMA cache_size = -%d", INDEX_CACHE_KIB);
	(void)db_exec(index->db, pragma);
	free(pragma);
	return 0;
}

void index_disconnect(struct index *index)
{
	db_close(&index->db);
}

void index_close(struct index **_index)
{
	struct index *index = *_index;

	if (index == NULL)
		return;
	*_index = NULL;
	db_close(&index->db);
	account_clear(&index->account);
	free(index->data_dir);
	free(index->root);
	free(index);
}

void index_set_limits(struct index *index, const struct account *account,
		      uint64_t domain_quota_bytes)
{
	index->account.quota_bytes = account->quota_bytes;
	index->account.max_messages = account->max_messages;
	index->domain_quota_bytes = domain_quota_bytes;
}

const char *index_root(const struct index *index)
{
	return index->root;
}

void index_release_memory(struct index *index)
{
	(void)sqlite3_db_release_memory(index->db->sql);
}
