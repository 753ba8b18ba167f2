/* SPDX-License-Identifier: ISC */
/*
 * index-sync.c - keep a mailbox's messages in step with its Maildir
 * folder: mail delivered into new/ (SMTP, other tools) gets UIDs in
 * file-name time order, files that vanished are expunged, flags renamed
 * by other clients are taken over, and SELECT moves new/ to cur/.
 * (index-folder.c does the same for the folder list, index-file.c knows
 * the file-name rules.)
 *
 * DESIGN. A mailbox records the mtimes (ns) of its new/ and cur/ at the
 * last scan. A sync first compares them, without any lock: equal means
 * nothing to do, which is what makes a sync per IMAP command affordable.
 * Otherwise it takes the write lock and scans only the directories that
 * changed, matching files to rows by base name (the part before ':') with
 * a merge of two sorted lists, so 100,000 messages need no hash table.
 * The scan runs under the lock because every change postino itself makes
 * (flag renames, moves, expunges) is made under it: a scan can then never
 * see half of another handle's change and mistake it for an outside one.
 *
 * Outside changes are another matter: readdir() may miss a file renamed
 * while the directory is read. A row whose file seems missing is
 * therefore only expunged when a second full scan misses it too.
 * Timestamps are coarse (the kernel's clock tick): a directory whose
 * mtime is very recent at the scan may change again without its mtime
 * moving, so it is recorded as "rescan next time" (index_mtime_settled). After postino's own change
 * to a directory that was in step, the new mtime is recorded at once, so
 * a STORE does not cost the next command a rescan of cur/.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "core/db.h"
#include "store/fts.h"
#include "store/index-private.h"
#include "store/maildir.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

/* Maildir's directories, as maildir.c makes them. */
#define INDEX_DIR_MODE 0700
static const char *const maildir_parts[] = { "tmp", "cur", "new" };

struct sync_file {
	char *name;           /* as in the directory */
	char *base;           /* before ':' */
	const char *info;     /* in name, after ':'; NULL when none */
	bool in_new;
};

struct sync_new {
	struct sync_file *file;
	unsigned flags;
	int64_t mtime;
	uint64_t size, vsize;
};

struct sync_ctx {
	struct index *index;
	struct index_mbox *mbox;
	struct index_error *error_r;
	struct sync_file *files;
	size_t nfiles;
	struct index_row *rows;
	size_t nrows;
	struct sync_file **unknown;   /* files without a row */
	size_t nunknown;
	size_t *missing;              /* rows without a file (indexes into rows) */
	size_t nmissing;
	uint64_t modseq;              /* of this sync's changes; 0 until one */
	unsigned added;
};

/* ---- scanning a mailbox ---- */

static void files_free(struct sync_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nfiles; i++) {
		free(ctx->files[i].name);
		free(ctx->files[i].base);
	}
	free(ctx->files);
	ctx->files = NULL;
	ctx->nfiles = 0;
	for (size_t i = 0; i < ctx->nrows; i++)
		index_row_clear(&ctx->rows[i]);
	free(ctx->rows);
	ctx->rows = NULL;
	ctx->nrows = 0;
	free(ctx->unknown);
	ctx->unknown = NULL;
	ctx->nunknown = 0;
	free(ctx->missing);
	ctx->missing = NULL;
	ctx->nmissing = 0;
}

static int scan_dir(struct sync_ctx *ctx, bool in_new)
{
	char *path = xasprintf("%s/%s", ctx->mbox->dir, in_new ? "new" : "cur");
	DIR *d = opendir(path);
	struct dirent *de;
	size_t alloc = ctx->nfiles;

	if (d == NULL) {
		int err = errno;
		free(path);
		if (err == ENOENT)
			return 0;
		return index_sys_error(ctx->error_r, "read", ctx->mbox->dir, err);
	}
	free(path);
	while ((de = readdir(d)) != NULL) {
		struct sync_file *f;
		const char *colon;
		if (de->d_name[0] == '.')
			continue;
		if (ctx->nfiles == alloc) {
			alloc = alloc < 64 ? 64 : alloc * 2;
			ctx->files = xrealloc(ctx->files, alloc * sizeof(*ctx->files));
		}
		f = &ctx->files[ctx->nfiles++];
		f->name = xstrdup(de->d_name);
		colon = strchr(f->name, ':');
		f->base = colon != NULL ? xstrndup(f->name, (size_t)(colon - f->name)) :
					  xstrdup(f->name);
		f->info = colon != NULL ? colon + 1 : NULL;
		f->in_new = in_new;
	}
	closedir(d);
	return 0;
}

/* file_cmp - by base; the copy in cur/ first, so it wins a duplicate. */
static int file_cmp(const void *a, const void *b)
{
	const struct sync_file *x = a, *y = b;
	int cmp = strcmp(x->base, y->base);

	if (cmp != 0)
		return cmp;
	return (int)x->in_new - (int)y->in_new;
}

enum rows_which { ROWS_ALL, ROWS_NEW, ROWS_CUR };

static int load_rows(struct sync_ctx *ctx, enum rows_which which)
{
	static const char *const sql[] = {
		[ROWS_ALL] = "SELECT " INDEX_ROW_COLUMNS " FROM messages WHERE mailbox_id = ?1"
			     " ORDER BY base",
		[ROWS_NEW] = "SELECT " INDEX_ROW_COLUMNS " FROM messages WHERE mailbox_id = ?1"
			     " AND in_new != 0 ORDER BY base",
		[ROWS_CUR] = "SELECT " INDEX_ROW_COLUMNS " FROM messages WHERE mailbox_id = ?1"
			     " AND in_new = 0 ORDER BY base",
	};
	sqlite3_stmt *st = db_prepare(ctx->index->db, sql[which]);
	size_t alloc = 0;
	int rc;

	sqlite3_bind_int64(st, 1, ctx->mbox->id);
	while ((rc = index_step(ctx->index, st)) == SQLITE_ROW) {
		if (ctx->nrows == alloc) {
			alloc = alloc < 64 ? 64 : alloc * 2;
			ctx->rows = xrealloc(ctx->rows, alloc * sizeof(*ctx->rows));
		}
		index_row_read(st, 0, &ctx->rows[ctx->nrows++]);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : index_db_error(ctx->index, ctx->error_r, "load messages");
}

static uint64_t sync_modseq(struct sync_ctx *ctx)
{
	if (ctx->modseq == 0)
		ctx->modseq = index_mbox_next_modseq(ctx->index, ctx->mbox);
	return ctx->modseq;
}

/* row_update - the file of row is f: record where it is now, and take
 * flags another client renamed onto it. A file without info (new/)
 * keeps the row's flags: that is how our own appends look after a crash
 * lost the move to cur/. */
static int row_update(struct sync_ctx *ctx, const struct index_row *row,
		      const struct sync_file *f)
{
	bool has_flags = f->info != NULL && str_has_prefix(f->info, INDEX_INFO_FLAGS_PREFIX);
	unsigned flags = has_flags ? index_info_flags(f->info) : row->flags;
	bool same_info = (f->info == NULL && row->info == NULL) ||
			 (f->info != NULL && row->info != NULL && strcmp(f->info, row->info) == 0);
	sqlite3_stmt *st;
	int rc;

	if (same_info && f->in_new == row->in_new && flags == row->flags)
		return 0;
	st = db_prepare(ctx->index->db, "UPDATE messages SET in_new = ?2, info = ?3, flags = ?4,"
					" modseq = ?5 WHERE id = ?1");
	sqlite3_bind_int64(st, 1, row->id);
	sqlite3_bind_int(st, 2, f->in_new);
	if (f->info != NULL)
		sqlite3_bind_text(st, 3, f->info, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, (int)flags);
	/* only a flag change is news for clients (a new MODSEQ) */
	sqlite3_bind_int64(st, 5, (int64_t)(flags != row->flags ? sync_modseq(ctx) : row->modseq));
	rc = index_step(ctx->index, st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : index_db_error(ctx->index, ctx->error_r, "update message");
}

/* dup_rename - a second file with a base we already matched (a copy made
 * outside, a crash between link and unlink): give it a fresh base so it
 * becomes a message of its own instead of being lost or fought over. */
static int dup_rename(struct sync_ctx *ctx, struct sync_file *f)
{
	char unique[MAILDIR_NAME_MAX];
	const char *sizes = strchr(f->base, ',');
	char *old_path = index_file_path(ctx->mbox->dir, f->in_new, f->base, f->info);
	char *base, *new_path, *name;
	int ret = 0;

	maildir_unique_name(unique);
	base = xasprintf("%s%s", unique, sizes != NULL ? sizes : "");
	new_path = index_file_path(ctx->mbox->dir, f->in_new, base, f->info);
	name = f->info != NULL ? xasprintf("%s:%s", base, f->info) : xstrdup(base);
	if (rename(old_path, new_path) < 0) {
		ret = -1;
		free(base);
		free(name);
	} else {
		log_info("index %s: duplicate file %s renamed to %s", ctx->mbox->dir, f->name, name);
		free(f->base);
		free(f->name);
		f->base = base;
		f->name = name;
		f->info = strchr(name, ':') != NULL ? strchr(name, ':') + 1 : NULL;
	}
	free(old_path);
	free(new_path);
	return ret;
}

static void add_unknown(struct sync_ctx *ctx, struct sync_file *f)
{
	ctx->unknown = xrealloc(ctx->unknown, (ctx->nunknown + 1) * sizeof(*ctx->unknown));
	ctx->unknown[ctx->nunknown++] = f;
}

/* merge - walk files and rows (both sorted by base) together. */
static int merge(struct sync_ctx *ctx)
{
	size_t i = 0, j = 0;
	const char *last_base = NULL;

	while (i < ctx->nfiles || j < ctx->nrows) {
		struct sync_file *f = i < ctx->nfiles ? &ctx->files[i] : NULL;
		int cmp = f == NULL ? 1 : j >= ctx->nrows ? -1 : strcmp(f->base, ctx->rows[j].base);

		if (f != NULL && last_base != NULL && strcmp(f->base, last_base) == 0) {
			if (dup_rename(ctx, f) == 0)
				add_unknown(ctx, f);
			i++;
			continue;
		}
		if (cmp == 0) {
			if (row_update(ctx, &ctx->rows[j], f) < 0)
				return -1;
			last_base = f->base;
			i++;
			j++;
		} else if (cmp < 0) {
			add_unknown(ctx, f);
			last_base = f->base;
			i++;
		} else {
			ctx->missing = xrealloc(ctx->missing,
						(ctx->nmissing + 1) * sizeof(*ctx->missing));
			ctx->missing[ctx->nmissing++] = j++;
		}
	}
	return 0;
}

/* row_by_base - 1 with the row of base (a file found in the directory
 * that was not scanned for rows), 0, -1. */
static int row_by_base(struct sync_ctx *ctx, const char *base, struct index_row *row_r)
{
	sqlite3_stmt *st = db_prepare(ctx->index->db, "SELECT " INDEX_ROW_COLUMNS
				      " FROM messages WHERE mailbox_id = ?1 AND base = ?2");
	int rc;

	sqlite3_bind_int64(st, 1, ctx->mbox->id);
	sqlite3_bind_text(st, 2, base, -1, SQLITE_STATIC);
	rc = index_step(ctx->index, st);
	if (rc == SQLITE_ROW)
		index_row_read(st, 0, row_r);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int new_cmp(const void *a, const void *b)
{
	const struct sync_new *x = a, *y = b;

	return index_name_time_cmp(x->file->base, y->file->base);
}

/* add_new - UIDs for the files nobody knew, in the order they arrived. */
static int add_new(struct sync_ctx *ctx, struct sync_file **files, size_t count)
{
	struct sync_new *news = xcalloc(count > 0 ? count : 1, sizeof(*news));
	size_t n = 0;
	sqlite3_stmt *st;
	int ret = 0;

	for (size_t i = 0; i < count; i++) {
		struct sync_file *f = files[i];
		char *path = index_file_path(ctx->mbox->dir, f->in_new, f->base, f->info);
		struct stat stbuf;
		if (lstat(path, &stbuf) < 0 || !S_ISREG(stbuf.st_mode)) {
			free(path); /* vanished meanwhile, or not a message */
			continue;
		}
		news[n].file = f;
		news[n].flags = index_info_flags(f->info);
		news[n].mtime = stbuf.st_mtime;
		/* S= and W= spare a read; a name without W= is read once */
		if (maildir_name_sizes(f->base, &news[n].size, &news[n].vsize) < 0 ||
		    strstr(f->base, ",W=") == NULL) {
			if (index_file_sizes(path, &news[n].size, &news[n].vsize) < 0) {
				free(path);
				continue;
			}
		}
		free(path);
		n++;
	}
	if (n > 1)
		qsort(news, n, sizeof(*news), new_cmp);
	st = db_prepare(ctx->index->db,
			"INSERT INTO messages (mailbox_id, uid, base, in_new, info, flags, modseq,"
			" internaldate, size, vsize) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (ctx->mbox->uidnext == UINT32_MAX) {
			/* RFC 3501 2.3.1.1: UIDs are 32-bit; a new UIDVALIDITY would
			 * be needed, which a sync must not do behind clients */
			log_error("index %s: UIDs exhausted", ctx->mbox->dir);
			break;
		}
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, ctx->mbox->id);
		sqlite3_bind_int64(st, 2, ctx->mbox->uidnext);
		sqlite3_bind_text(st, 3, news[i].file->base, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, news[i].file->in_new);
		if (news[i].file->info != NULL)
			sqlite3_bind_text(st, 5, news[i].file->info, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 5);
		sqlite3_bind_int(st, 6, (int)news[i].flags);
		sqlite3_bind_int64(st, 7, (int64_t)sync_modseq(ctx));
		sqlite3_bind_int64(st, 8, news[i].mtime);
		sqlite3_bind_int64(st, 9, (int64_t)news[i].size);
		sqlite3_bind_int64(st, 10, (int64_t)news[i].vsize);
		if (index_step(ctx->index, st) != SQLITE_DONE)
			ret = index_db_error(ctx->index, ctx->error_r, "add message");
		ctx->mbox->uidnext++;
		ctx->added++;
	}
	sqlite3_finalize(st);
	free(news);
	return ret;
}

/* resolve_unknown - after a partial scan, a file may belong to a row of
 * the other directory (moved between new/ and cur/ from outside). */
static int resolve_unknown(struct sync_ctx *ctx, bool full)
{
	struct sync_file **fresh = xcalloc(ctx->nunknown > 0 ? ctx->nunknown : 1, sizeof(*fresh));
	size_t nfresh = 0;
	int ret = 0;

	for (size_t i = 0; i < ctx->nunknown && ret == 0; i++) {
		struct index_row row;
		int rc = full ? 0 : row_by_base(ctx, ctx->unknown[i]->base, &row);
		if (rc < 0) {
			ret = index_db_error(ctx->index, ctx->error_r, "look up message");
		} else if (rc > 0) {
			ret = row_update(ctx, &row, ctx->unknown[i]);
			index_row_clear(&row);
		} else {
			fresh[nfresh++] = ctx->unknown[i];
		}
	}
	if (ret == 0)
		ret = add_new(ctx, fresh, nfresh);
	free(fresh);
	return ret;
}

static int expunge_missing(struct sync_ctx *ctx)
{
	uint32_t *uids = xcalloc(ctx->nmissing > 0 ? ctx->nmissing : 1, sizeof(*uids));
	sqlite3_stmt *st = db_prepare(ctx->index->db, "DELETE FROM messages WHERE id = ?1");
	int ret = 0;

	for (size_t i = 0; i < ctx->nmissing && ret == 0; i++) {
		const struct index_row *row = &ctx->rows[ctx->missing[i]];
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, row->id);
		if (index_step(ctx->index, st) != SQLITE_DONE)
			ret = index_db_error(ctx->index, ctx->error_r, "expunge message");
		uids[i] = row->uid;
	}
	sqlite3_finalize(st);
	if (ret == 0 && ctx->nmissing > 0 &&
	    index_expunged_add(ctx->index, ctx->mbox, uids, ctx->nmissing, sync_modseq(ctx)) < 0)
		ret = index_db_error(ctx->index, ctx->error_r, "record expunges");
	free(uids);
	return ret;
}

/* move_new - SELECT read-write: new/ files go to cur/ with their flags,
 * as Dovecot does; "new" then means "no client has seen it". */
static int move_new(struct sync_ctx *ctx)
{
	sqlite3_stmt *st = db_prepare(ctx->index->db, "SELECT " INDEX_ROW_COLUMNS
				      " FROM messages WHERE mailbox_id = ?1 AND in_new != 0");
	bool new_sync = index_dir_in_sync(ctx->mbox, "new");
	bool cur_sync = index_dir_in_sync(ctx->mbox, "cur");
	struct index_row *rows = NULL;
	size_t n = 0;
	int rc, ret = 0;

	/* read first, then change: rows must not move under a live cursor */
	sqlite3_bind_int64(st, 1, ctx->mbox->id);
	while ((rc = index_step(ctx->index, st)) == SQLITE_ROW) {
		rows = xrealloc(rows, (n + 1) * sizeof(*rows));
		index_row_read(st, 0, &rows[n++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		ret = index_db_error(ctx->index, ctx->error_r, "read new/");
	st = db_prepare(ctx->index->db, "UPDATE messages SET in_new = 0, info = ?2 WHERE id = ?1");
	for (size_t i = 0; i < n && ret == 0; i++) {
		char *info = index_info_build(rows[i].info, rows[i].flags);
		char *from = index_file_path(ctx->mbox->dir, true, rows[i].base, rows[i].info);
		char *to = index_file_path(ctx->mbox->dir, false, rows[i].base, info);
		if (rename(from, to) == 0) {
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, rows[i].id);
			sqlite3_bind_text(st, 2, info, -1, SQLITE_STATIC);
			if (index_step(ctx->index, st) != SQLITE_DONE)
				ret = index_db_error(ctx->index, ctx->error_r, "move message");
		} else if (errno != ENOENT) {
			/* gone: the next scan expunges it; anything else is ours */
			ret = index_sys_error(ctx->error_r, "rename", from, errno);
		}
		free(info);
		free(from);
		free(to);
	}
	sqlite3_finalize(st);
	index_rows_free(&rows, n);
	index_dir_record(ctx->mbox, "new", new_sync);
	index_dir_record(ctx->mbox, "cur", cur_sync);
	return ret;
}

/* sync_scan - one pass over the directories that changed (all of them
 * when full); 1 when rows seem to have lost their files and a second,
 * full pass must confirm it. */
static int sync_scan(struct sync_ctx *ctx, bool full, bool last_pass)
{
	int64_t mn = index_dir_mtime_ns(ctx->mbox->dir, "new");
	int64_t mc = index_dir_mtime_ns(ctx->mbox->dir, "cur");
	bool scan_new = full || mn < 0 || mn != ctx->mbox->new_mtime;
	bool scan_cur = full || mc < 0 || mc != ctx->mbox->cur_mtime;
	int ret;

	if (!scan_new && !scan_cur)
		return 0;
	if ((scan_new && scan_dir(ctx, true) < 0) || (scan_cur && scan_dir(ctx, false) < 0))
		return -1;
	if (ctx->nfiles > 1)
		qsort(ctx->files, ctx->nfiles, sizeof(*ctx->files), file_cmp);
	if (load_rows(ctx, scan_new && scan_cur ? ROWS_ALL : scan_new ? ROWS_NEW : ROWS_CUR) < 0 ||
	    merge(ctx) < 0)
		return -1;
	if (ctx->nmissing > 0 && !last_pass)
		return 1;
	if (resolve_unknown(ctx, scan_new && scan_cur) < 0 || expunge_missing(ctx) < 0)
		return -1;
	/* what the scan saw is what the index now holds */
	if (scan_new)
		ctx->mbox->new_mtime = index_mtime_settled(mn);
	if (scan_cur)
		ctx->mbox->cur_mtime = index_mtime_settled(mc);
	ret = 0;
	return ret;
}

static int has_new_files(struct index *index, int64_t id)
{
	return index_mailbox_has(index, "SELECT 1 FROM messages"
				 " WHERE mailbox_id = ?1 AND in_new != 0 LIMIT 1", id);
}

/* folder_check - new/ and cur/ exist; a folder gone from disk is a
 * mailbox deleted from outside. */
static int folder_check(struct index *index, struct index_mbox *mbox,
			struct index_error *error_r)
{
	struct stat st;

	if (stat(mbox->dir, &st) < 0 && errno == ENOENT && strcmp(mbox->storage, "INBOX") != 0) {
		index->root_mtime = -1;
		(void)index_sync_folders(index, NULL);
		index_set_error(error_r, INDEX_REASON_NO_MAILBOX, "folder %s vanished", mbox->dir);
		return -1;
	}
	if (maildir_create(mbox->dir) < 0)
		return index_sys_error(error_r, "create folder", mbox->dir, errno);
	/* maildir_create() trusts a folder that has new/; one that lost
	 * cur/ or tmp/ to an outside hand gets them back here */
	for (size_t i = 0; i < N_ELEMENTS(maildir_parts); i++) {
		char *path = xasprintf("%s/%s", mbox->dir, maildir_parts[i]);
		int ret = mkdir(path, INDEX_DIR_MODE) < 0 && errno != EEXIST ? -1 : 0;
		if (ret < 0)
			index_sys_error(error_r, "create", path, errno);
		free(path);
		if (ret < 0)
			return -1;
	}
	return 0;
}

/* tmp_cleaned_key - the meta row that says when mbox's tmp/ was swept. */
static void tmp_cleaned_key(int64_t mailbox_id, char key[32])
{
	if (str_printf(key, 32, "tmp-cleaned.%" PRId64, mailbox_id) < 0)
		panic("index: meta key does not fit");
}

/* tmp_clean - index_tmp_clean for a folder whose directory is known.
 * Asked by every sync that scans: statements from the handle's cache. */
static int tmp_clean(struct index *index, int64_t mailbox_id, const char *dir, int64_t now,
		     unsigned *removed_r)
{
	sqlite3_stmt *st;
	int64_t last = 0;
	char key[32];
	int ret;

	*removed_r = 0;
	tmp_cleaned_key(mailbox_id, key);
	st = db_prepare_cached(index->db, "SELECT value FROM meta WHERE key = ?1");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (index_step(index, st) == SQLITE_ROW)
		last = sqlite3_column_int64(st, 0);
	db_release(index->db, st);
	/* a clock that went back sweeps again rather than never */
	if (now >= last && now - last < INDEX_TMP_CLEAN_SECS)
		return 0;
	*removed_r = maildir_tmp_clean(dir, now, MAILDIR_TMP_STALE_SECS);
	if (*removed_r > 0)
		log_info("index: %s: removed %u abandoned file(s) from tmp/", dir, *removed_r);
	st = db_prepare_cached(index->db,
			       "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	ret = index_step(index, st) == SQLITE_DONE ? 1 : -1;
	db_release(index->db, st);
	return ret;
}

int index_tmp_clean(struct index *index, int64_t mailbox_id, int64_t now, unsigned *removed_r)
{
	struct index_mbox mbox;
	int ret = index_mbox_get(index, mailbox_id, &mbox);

	*removed_r = 0;
	if (ret <= 0)
		return ret;
	ret = tmp_clean(index, mailbox_id, mbox.dir, now, removed_r);
	index_mbox_clear(&mbox);
	return ret;
}

static int sync_locked(struct index *index, int64_t id, unsigned flags, unsigned *added_r,
		       struct index_error *error_r)
{
	struct index_mbox mbox;
	struct sync_ctx ctx;
	int ret = index_mbox_get(index, id, &mbox);

	if (ret <= 0) {
		if (ret == 0)
			index_set_error(error_r, INDEX_REASON_NO_MAILBOX, "mailbox %" PRId64
					" is gone", id);
		return ret < 0 ? index_db_error(index, error_r, "look up mailbox") : -1;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.index = index;
	ctx.mbox = &mbox;
	ctx.error_r = error_r;
	ret = sync_scan(&ctx, (flags & INDEX_SYNC_FORCE) != 0, false);
	if (ret > 0) {
		files_free(&ctx);
		ret = sync_scan(&ctx, true, true);
	}
	if (ret == 0 && (flags & INDEX_SYNC_READ_WRITE) != 0)
		ret = move_new(&ctx);
	if (ret == 0 && index_mbox_save(index, &mbox) < 0)
		ret = index_db_error(index, error_r, "save mailbox");
	if (ret == 0) {
		/* the sweep costs only its own bookkeeping when it fails */
		unsigned removed;
		if (tmp_clean(index, id, mbox.dir, time_now(), &removed) < 0)
			log_warn("index: %s: could not record the tmp/ sweep", mbox.dir);
	}
	*added_r = ctx.added;
	files_free(&ctx);
	index_mbox_clear(&mbox);
	return ret;
}

/* parse_new - after a sync: parse what it added (newest first, a bounded
 * slice), and hand a backlog to the background indexer. A handle looks
 * for a backlog the first time it syncs a mailbox, so one left behind by
 * a restart, or by a sync of a handle without an event loop, is picked up
 * by the next session. A failure only costs the first SEARCH time. */
static void parse_new(struct index *index, int64_t mailbox_id, unsigned added)
{
	struct index_parse parse = { .max = added < INDEX_PARSE_INLINE_MAX ? added :
									       INDEX_PARSE_INLINE_MAX,
				     .deadline_ms = time_monotonic_ms() + INDEX_PARSE_INLINE_MS,
				     .newest_first = true };
	bool check = index->backlog_checked != mailbox_id;

	if (added > 0) {
		if (index_parse_pending(index, mailbox_id, &parse) < 0)
			return;
		/* a bound stopped it before the last new message */
		check = check || parse.seen < added;
	}
	if (!check)
		return;
	index->backlog_checked = mailbox_id;
	if (index_parse_backlog(index, mailbox_id) > 0)
		(void)fts_bg_request(index, mailbox_id);
}

int index_sync_mbox(struct index *index, int64_t mailbox_id, unsigned flags,
		    struct index_error *error_r)
{
	struct index_mbox mbox;
	unsigned added = 0;
	int64_t mn, mc;
	int ret;

	if ((flags & INDEX_SYNC_NONE) != 0)
		return 0;
	if ((ret = index_mbox_get(index, mailbox_id, &mbox)) <= 0) {
		if (ret == 0)
			index_set_error(error_r, INDEX_REASON_NO_MAILBOX, "mailbox %" PRId64
					" is gone", mailbox_id);
		return ret < 0 ? index_db_error(index, error_r, "look up mailbox") : -1;
	}
	mn = index_dir_mtime_ns(mbox.dir, "new");
	mc = index_dir_mtime_ns(mbox.dir, "cur");
	if ((mn < 0 || mc < 0) && folder_check(index, &mbox, error_r) < 0) {
		index_mbox_clear(&mbox);
		return -1;
	}
	/* the cheap check: nothing changed since the last scan */
	if ((flags & INDEX_SYNC_FORCE) == 0 && mn >= 0 && mn == mbox.new_mtime && mc >= 0 &&
	    mc == mbox.cur_mtime) {
		ret = (flags & INDEX_SYNC_READ_WRITE) != 0 ? has_new_files(index, mbox.id) : 0;
		if (ret <= 0) {
			index_mbox_clear(&mbox);
			if (ret < 0)
				return index_db_error(index, error_r, "look up new/");
			parse_new(index, mailbox_id, 0);
			return 0;
		}
	}
	index_mbox_clear(&mbox);
	if (index_begin(index, error_r) < 0)
		return -1;
	ret = sync_locked(index, mailbox_id, flags, &added, error_r);
	if (ret == 0)
		ret = index_commit(index, error_r);
	else
		index_rollback(index);
	if (ret == 0)
		parse_new(index, mailbox_id, added);
	return ret;
}

int index_mailbox_sync(struct index *index, int64_t mailbox_id, unsigned sync_flags,
		       struct index_error *error_r)
{
	return index_sync_mbox(index, mailbox_id, sync_flags, error_r);
}
