/* SPDX-License-Identifier: ISC */
/*
 * index-private.h - shared by the files of the mail index only (index.c,
 * index-mailbox.c, index-mail.c, index-sync.c, index-cache.c, fts.c):
 * the handle, the mailbox row, transactions, MODSEQ and the Maildir file
 * name helpers.
 */
#ifndef POSTINO_INDEX_PRIVATE_H
#define POSTINO_INDEX_PRIVATE_H

#include "lib/lib.h"
#include "directory/directory.h"
#include "store/index.h"

#include <sqlite3.h>

struct db;

/* Where the last UIDVALIDITY handed out is kept besides the database, so
 * a rebuilt index never reuses one (RFC 3501 2.3.1.1). */
#define INDEX_UIDVALIDITY_FILE "postino-uidvalidity"
/* Subscriptions, mirrored beside the database so a rebuild keeps them. */
#define INDEX_SUBSCRIPTIONS_FILE "postino-subscriptions"
/* Left by a handle that met a corrupt database: the next open rebuilds. */
#define INDEX_CORRUPT_MARKER "postino-index.corrupt"
/* A deleted folder is renamed to this prefix (plus a unique part) before
 * it is removed: invisible at once (Maildir++ scanners skip "..*"), and
 * cleaned up at the next open when a crash interrupted the removal. */
#define INDEX_TRASH_PREFIX "..postino-deleted-"
/* Expunge records kept per mailbox for QRESYNC; older ones are pruned
 * and clients asking from before that get vanished_incomplete. */
#define INDEX_EXPUNGED_KEEP 100000
/* New messages of one sync or append that are parsed at once for the
 * cache and the full-text index: at most this many, for at most this
 * long, so a sync never keeps its session waiting on a flood (an import,
 * a rebuild, a week of mail nobody picked up). The rest is left to the
 * background indexer (fts-bg.c), or to the first SEARCH without one. */
#define INDEX_PARSE_INLINE_MAX 32
#define INDEX_PARSE_INLINE_MS 50
/* Cached IMAP strings longer than this are not stored (a message with
 * MIME_MAX_PARTS parts makes a BODYSTRUCTURE of about a megabyte). */
#define INDEX_CACHE_STRING_MAX (4 * 1024 * 1024)

/* Reason codes (core/reason.c, "mail store (index)"). */
#define INDEX_REASON_IO "store.io-error"
#define INDEX_REASON_DISK_FULL "store.disk-full"
#define INDEX_REASON_NO_MAILBOX "store.no-mailbox"
#define INDEX_REASON_EXISTS "store.mailbox-exists"
#define INDEX_REASON_BAD_NAME "store.bad-name"
#define INDEX_REASON_DELETE_INBOX "store.delete-inbox"
#define INDEX_REASON_RENAME_INTO "store.rename-into-itself"
#define INDEX_REASON_MAILBOXES "store.too-many-mailboxes"
#define INDEX_REASON_KEYWORDS "store.too-many-keywords"
#define INDEX_REASON_BAD_KEYWORD "store.bad-keyword"
#define INDEX_REASON_SPECIAL_USE "store.bad-special-use"
#define INDEX_REASON_EXPUNGED "store.expunged"

struct index {
	struct db *db;
	char *data_dir;
	char *root;               /* the Maildir root */
	struct account account;   /* domain, local, address and quota limits */
	uint64_t domain_quota_bytes;
	unsigned max_mailboxes;
	int64_t root_mtime;       /* of the root when the folder list was synced */
	/* the mailbox whose unparsed backlog this handle last looked for
	 * (index-sync.c): once per handle and mailbox, not per command */
	int64_t backlog_checked;
};

/* A mailbox row. */
struct index_mbox {
	int64_t id;
	char *name;
	char *storage;            /* Maildir++ folder, "INBOX" for the root */
	char *dir;                /* its directory */
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	int64_t new_mtime, cur_mtime;  /* ns; -1: rescan next time */
	uint64_t expunge_floor;   /* MODSEQ before which history was pruned */
};

/* A message row, as the file operations need it: read with
 * INDEX_ROW_COLUMNS and index_row_read(). */
#define INDEX_ROW_COLUMNS \
	"id, uid, base, in_new, info, flags, modseq, internaldate, size, vsize, keywords"
struct index_row {
	int64_t id;
	uint32_t uid;
	char *base;
	bool in_new;
	char *info;               /* after ':' ("2,FS"), NULL when none */
	unsigned flags;
	uint64_t modseq;
	int64_t internaldate;
	uint64_t size, vsize;
	char *keywords;           /* space-separated, "" for none */
};

/* ---- index.c: a second handle ---- */
/* index_clone - a handle with from's account, paths and limits but no
 * database connection yet (cheap, any thread): for a worker job that must
 * not share from's connection. index_connect() opens it (files: run it on
 * the worker), index_disconnect() closes it again; index_close() frees. */
struct index *index_clone(const struct index *from);
int index_connect(struct index *index, struct index_error *error_r);
void index_disconnect(struct index *index);

/* ---- index-schema.c ---- */
int index_schema_migrate(struct db *db, char **error_r) ATTR_NODISCARD;

/* ---- index.c ---- */
void index_set_error(struct index_error *error_r, const char *reason, const char *fmt, ...)
	ATTR_FORMAT(printf, 3, 4);
/* The database failed: store.io-error, with SQLite's message; a corrupt
 * database is marked for rebuild at the next open. */
int index_db_error(struct index *index, struct index_error *error_r, const char *what);
/* A system call failed: store.disk-full for ENOSPC/EDQUOT, else
 * store.io-error. */
int index_sys_error(struct index_error *error_r, const char *what, const char *path, int err);
/* sqlite3_step that notices corruption. */
int index_step(struct index *index, sqlite3_stmt *st);
/* index_mailbox_has - whether sql (a "SELECT 1 ... LIMIT 1" with the
 * mailbox id as ?1) finds a row: 1, 0, or -1 on error. */
int index_mailbox_has(struct index *index, const char *sql, int64_t mailbox_id);
int index_begin(struct index *index, struct index_error *error_r);
int index_commit(struct index *index, struct index_error *error_r);
void index_rollback(struct index *index);

/* ---- index-mailbox.c ---- */
/* The row of mailbox id (1/0/-1). */
int index_mbox_get(struct index *index, int64_t id, struct index_mbox *mbox_r);
int index_mbox_get_name(struct index *index, const char *name, struct index_mbox *mbox_r);
void index_mbox_clear(struct index_mbox *mbox);
/* Take the next MODSEQ of mbox (in a write transaction). */
uint64_t index_mbox_next_modseq(struct index *index, struct index_mbox *mbox);
/* Write uidnext and highestmodseq of mbox back. */
int index_mbox_save(struct index *index, const struct index_mbox *mbox);
/* A fresh UIDVALIDITY, unique for the account's life (write transaction). */
int index_uidvalidity_next(struct index *index, uint32_t *uidvalidity_r,
			   struct index_error *error_r);
/* Insert a mailbox row for a folder that exists on disk (write txn). */
int index_mbox_insert(struct index *index, const char *name, const char *storage,
		      const char *special_use, int64_t *id_r, struct index_error *error_r);
/* Canonical name: a first level spelled INBOX in any case becomes "INBOX".
 * Caller frees. */
char *index_name_canon(const char *name);
/* Record expunges of mbox at modseq and prune old records (write txn). */
int index_expunged_add(struct index *index, struct index_mbox *mbox, const uint32_t *uids,
		       size_t count, uint64_t modseq);

/* ---- index-folder.c ---- */
/* Make the mailbox table match the folders on disk (own transaction). */
int index_sync_folders(struct index *index, struct index_error *error_r);
/* Remove "..postino-deleted-*" leftovers of an interrupted delete. */
void index_trash_clean(struct index *index);
/* Ensure the special-use defaults exist (own transaction); created ones
 * are subscribed, and so is INBOX in a fresh index without a mirror. */
int index_mailbox_defaults(struct index *index, bool fresh, struct index_error *error_r);
/* Re-read the subscriptions mirror into an empty table (at rebuild):
 * 1 when it was there, 0 when not, -1. */
int index_subscriptions_load(struct index *index);
/* Rewrite the mirror from the table (after each change). */
int index_subscriptions_save(struct index *index);
/* rm -r without following symlinks. */
void index_rmtree(const char *path);

/* ---- index-sync.c ---- */
int index_sync_mbox(struct index *index, int64_t mailbox_id, unsigned flags,
		    struct index_error *error_r);

/* ---- index-file.c: Maildir names and directory mtimes ---- */
/* Maildir spec: the info after ':' of a name in cur/; "2," means the
 * rest are flag letters, in ASCII order. */
#define INDEX_INFO_FLAGS_PREFIX "2,"
/* The flags of an info string ("2,FRS"); unknown letters ignored. */
unsigned index_info_flags(const char *info);
/* The info string for flags, keeping the letters of old_info that are no
 * system flags (Dovecot keyword letters, 'P'). Caller frees. */
char *index_info_build(const char *old_info, unsigned flags);
/* dir/new/base[:info] or dir/cur/base[:info]. Caller frees. */
char *index_file_path(const char *dir, bool in_new, const char *base, const char *info);
/* Size and virtual size (bare LFs as CRLF) of a file without S=/W=. */
int index_file_sizes(const char *path, uint64_t *size_r, uint64_t *vsize_r);
/* Time order of Maildir names "<sec>.M<usec>P...": strcmp-like. */
int index_name_time_cmp(const char *a, const char *b);
/* mtime in ns of path (dir/sub); -1 when it cannot be read. */
int64_t index_path_mtime_ns(const char *path);
int64_t index_dir_mtime_ns(const char *dir, const char *sub);
/* The mtime a scan that saw mtime may record: -1 ("rescan next time")
 * when it is recent enough to hide a change within the same tick. */
int64_t index_mtime_settled(int64_t mtime);
/* Before a change of our own to dir/sub ("new" or "cur") under the write
 * lock: whether the recorded mtime matched the directory. */
bool index_dir_in_sync(const struct index_mbox *mbox, const char *sub);
/* After it: record the directory's mtime in mbox (saved by the caller)
 * when it was in sync before. */
void index_dir_record(struct index_mbox *mbox, const char *sub, bool was_in_sync);

/* ---- index-mail.c ---- */
void index_row_read(sqlite3_stmt *st, int col, struct index_row *row_r);
void index_row_clear(struct index_row *row);
/* The rows of mailbox_id in ranges (sorted, merged; NULL = all), by UID;
 * only those with \Deleted when deleted_only. */
int index_rows_collect(struct index *index, int64_t mailbox_id,
		       const struct index_uid_range *ranges, size_t count, bool deleted_only,
		       struct index_row **rows_r, size_t *nrows_r);
void index_rows_free(struct index_row **_rows, size_t count);
/* Sorted, merged copy of ranges (NULL/0: everything). Caller frees. */
struct index_uid_range *index_ranges_normalize(const struct index_uid_range *ranges,
					       size_t count, size_t *count_r);
/* Validate keywords (store.bad-keyword). */
int index_keywords_check(const char *const *keywords, size_t count,
			 struct index_error *error_r);
/* The space-separated set of keywords[0..count), deduplicated ignoring
 * case, spelled as the mailbox first saw them (write txn). */
int index_keywords_canon(struct index *index, int64_t mailbox_id, const char *const *keywords,
			 size_t count, char **set_r, struct index_error *error_r);
/* Remember the keywords of set for the mailbox (FLAGS); refused past
 * INDEX_KEYWORDS_MAX unless force (a copy keeps what it copies). */
int index_keywords_register(struct index *index, int64_t mailbox_id, const char *set,
			    bool force, struct index_error *error_r);

/* index_copy_locked - copy or move (write transaction held) the messages
 * of ranges from src to dst: files linked or renamed into dst/cur/ and
 * made durable, rows inserted or moved, quota checked for a copy. On
 * error every file operation is undone and the caller rolls back. */
int index_copy_locked(struct index *index, struct index_mbox *src,
		      const struct index_uid_range *ranges, size_t count, struct index_mbox *dst,
		      bool move, struct index_copy_result *result_r, struct index_error *error_r);

/* ---- index-cache.c ---- */
/* A run over the messages that have no cache or full-text row yet. */
struct index_parse {
	unsigned max;            /* messages to read at most; 0: all */
	uint64_t deadline_ms;    /* time_monotonic_ms() to stop at; 0: none */
	/* read from the newest row down: what a sync or an APPEND just
	 * added, even with a backlog below it (stored in ascending order) */
	bool newest_first;
	int64_t cursor;          /* in/out: the last row id read; 0 to start */
	/* polled between messages: true stops the run (the background
	 * indexer giving way to a SEARCH that indexes); NULL: never */
	bool (*yield)(void);
	unsigned seen;           /* out: rows read (files gone count too) */
	unsigned done;           /* out: rows parsed and stored */
};
/* Parse what parse asks for (own transactions, a batch each). */
int index_parse_pending(struct index *index, int64_t mailbox_id, struct index_parse *parse);
/* 1 when the mailbox has messages not parsed yet, 0, -1. */
int index_parse_backlog(struct index *index, int64_t mailbox_id);

#endif
