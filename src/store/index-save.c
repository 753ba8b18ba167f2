/* SPDX-License-Identifier: ISC */
/*
 * index-save.c - new messages in a mailbox: APPEND (durable delivery with
 * flags and INTERNALDATE), COPY and MOVE (RFC 6851), and the quota checks
 * that answer NO [OVERQUOTA].
 *
 * Files first, then rows, then the commit. An APPEND's file is durable in
 * new/ (maildir.h: fsync, rename, directory fsync) before it is moved to
 * cur/ with its flags and given a UID; if anything after the delivery
 * fails the file is removed again, so a client's retry makes no duplicate.
 * A COPY hard-links each file into the destination's cur/ under a fresh
 * name (the bytes are shared, as with Dovecot), falling back to a real
 * copy where links are refused; a MOVE renames it. Both fsync the
 * destination before the commit, and undo every file operation when the
 * transaction fails. Either way, a crash between the file operation and
 * the commit leaves the files where a sync finds them: at worst a message
 * shows up with a new UID, never vanishes.
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
#include "store/quota.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* A base name longer than this (outside tools) does not lend its size
 * fields to the copy's name; ours are written instead. */
#define INDEX_SIZES_SUFFIX_MAX 64

/* Quota verdicts as the IMAP client hears them (NO [OVERQUOTA]). */
static const struct {
	enum quota_verdict verdict;
	const char *reason;
} quota_reasons[] = {
	{ QUOTA_TOO_BIG, "store.too-big" },
	{ QUOTA_OVER_SIZE, "store.over-quota" },
	{ QUOTA_OVER_COUNT, "store.over-messages" },
	{ QUOTA_DOMAIN_FULL, "store.domain-full" },
};

/* A file operation of a copy or move, for undoing it. */
struct file_op {
	char *from, *to;
	bool renamed;           /* moved (undo: rename back) or created (undo: unlink) */
};

struct file_ops {
	struct file_op *ops;
	size_t count;
	uint64_t bytes, messages;   /* what a copy added, for the quota */
};

/* ---- quota ---- */

static int quota_allow(struct index *index, uint64_t bytes, uint64_t messages,
		       struct index_error *error_r)
{
	const struct account *a = &index->account;
	struct quota_usage usage, domain_usage;
	struct quota_result result;

	if ((a->quota_bytes == 0 && a->max_messages == 0 && index->domain_quota_bytes == 0) ||
	    messages == 0)
		return 0;
	if (quota_usage(index->data_dir, a, &usage) < 0)
		return index_sys_error(error_r, "quota usage of", index->root, errno);
	if (index->domain_quota_bytes != 0 &&
	    quota_domain_usage(index->data_dir, a->domain, &domain_usage) < 0)
		return index_sys_error(error_r, "quota usage of", a->domain, errno);
	/* quota_evaluate counts one incoming message */
	usage.messages += messages - 1;
	quota_evaluate(a, index->domain_quota_bytes, &usage,
		       index->domain_quota_bytes != 0 ? &domain_usage : NULL, bytes, &result);
	if (result.verdict == QUOTA_ALLOWED)
		return 0;
	for (size_t i = 0; i < N_ELEMENTS(quota_reasons); i++) {
		if (quota_reasons[i].verdict != result.verdict)
			continue;
		/* several messages together: "too big" would be misleading */
		index_set_error(error_r,
				result.verdict == QUOTA_TOO_BIG && messages > 1 ? "store.over-quota" :
										  quota_reasons[i].reason,
				"%" PRIu64 " of %" PRIu64 " used", result.used, result.limit);
		return -1;
	}
	panic("index: quota verdict %d has no reason", (int)result.verdict);
}

static void quota_add(struct index *index, int64_t bytes, int64_t messages)
{
	if (messages != 0 && quota_update(index->data_dir, &index->account, bytes, messages) < 0)
		log_warn("index %s: quota update failed (it will be recounted)", index->root);
}

/* ---- append ---- */

static int insert_row(struct index *index, struct index_mbox *mbox, const char *base,
		      bool in_new, const char *info, unsigned flags, const char *keywords,
		      int64_t internaldate, uint64_t size, uint64_t vsize, uint32_t *uid_r)
{
	sqlite3_stmt *st = db_prepare(index->db,
				      "INSERT INTO messages (mailbox_id, uid, base, in_new, info, flags,"
				      " keywords, modseq, internaldate, size, vsize)"
				      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
	int rc;

	sqlite3_bind_int64(st, 1, mbox->id);
	sqlite3_bind_int64(st, 2, mbox->uidnext);
	sqlite3_bind_text(st, 3, base, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, in_new);
	if (info != NULL)
		sqlite3_bind_text(st, 5, info, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, (int)flags);
	sqlite3_bind_text(st, 7, keywords, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, (int64_t)index_mbox_next_modseq(index, mbox));
	sqlite3_bind_int64(st, 9, internaldate);
	sqlite3_bind_int64(st, 10, (int64_t)size);
	sqlite3_bind_int64(st, 11, (int64_t)vsize);
	rc = index_step(index, st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	*uid_r = mbox->uidnext++;
	return 0;
}

static int uids_left(const struct index_mbox *mbox, size_t needed, struct index_error *error_r)
{
	if ((uint64_t)mbox->uidnext + needed <= UINT32_MAX)
		return 0;
	/* RFC 3501 2.3.1.1: UIDs are 32-bit; recreating the mailbox (a new
	 * UIDVALIDITY) is the admin's call, not something to do quietly */
	index_set_error(error_r, INDEX_REASON_IO, "mailbox %s has used up its UIDs", mbox->name);
	return -1;
}

/* append_locked - move the delivered file new/ -> cur/ with its flags
 * and give it a UID; *path_r is where the file is now. */
static int append_locked(struct index *index, int64_t mailbox_id,
			 const struct index_append *append, const struct maildir_delivery *it,
			 int64_t internaldate, uint32_t *uidvalidity_r, uint32_t *uid_r,
			 char **path_r, struct index_error *error_r)
{
	struct index_mbox mbox;
	char *keywords = NULL, *info, *from, *to;
	bool in_new = false, cur_sync;
	int ret = index_mbox_get(index, mailbox_id, &mbox);

	if (ret <= 0) {
		if (ret == 0)
			index_set_error(error_r, INDEX_REASON_NO_MAILBOX, "mailbox %" PRId64
					" is gone", mailbox_id);
		return ret < 0 ? index_db_error(index, error_r, "look up mailbox") : -1;
	}
	from = xasprintf("%s/new/%s", mbox.dir, it->name);
	if (uids_left(&mbox, 1, error_r) < 0 ||
	    index_keywords_canon(index, mailbox_id, append->keywords, append->keyword_count,
				 &keywords, error_r) < 0 ||
	    (keywords[0] != '\0' &&
	     index_keywords_register(index, mailbox_id, keywords, false, error_r) < 0)) {
		*path_r = from;
		free(keywords);
		index_mbox_clear(&mbox);
		return -1;
	}
	cur_sync = index_dir_in_sync(&mbox, "cur");
	info = index_info_build(NULL, append->flags & INDEX_FLAGS_ALL);
	to = index_file_path(mbox.dir, false, it->name, info);
	if (rename(from, to) < 0) {
		/* still a message, in new/: the next SELECT moves it */
		log_warn("index %s: rename %s: %s", mbox.dir, from, strerror(errno));
		in_new = true;
	}
	/* left in new/, the row still has the flags: the next SELECT moves
	 * the file to cur/ with them */
	ret = insert_row(index, &mbox, it->name, in_new, in_new ? NULL : info,
			 append->flags & INDEX_FLAGS_ALL, keywords, internaldate, it->size,
			 it->vsize, uid_r);
	if (ret < 0)
		index_db_error(index, error_r, "add message");
	index_dir_record(&mbox, "cur", cur_sync);
	if (ret == 0 && index_mbox_save(index, &mbox) < 0)
		ret = index_db_error(index, error_r, "save mailbox");
	*uidvalidity_r = mbox.uidvalidity;
	*path_r = in_new ? from : to;
	free(in_new ? to : from);
	free(info);
	free(keywords);
	index_mbox_clear(&mbox);
	return ret;
}

int index_append(struct index *index, int64_t mailbox_id, const struct index_append *append,
		 uint32_t *uidvalidity_r, uint32_t *uid_r, struct index_error *error_r)
{
	struct maildir_delivery it;
	struct index_mbox mbox;
	int64_t internaldate = append->internaldate != 0 ? append->internaldate : time_now();
	char *path = NULL;
	int ret;

	*uidvalidity_r = *uid_r = 0;
	if (index_keywords_check(append->keywords, append->keyword_count, error_r) < 0)
		return -1;
	if ((ret = index_mbox_get(index, mailbox_id, &mbox)) <= 0) {
		if (ret == 0)
			index_set_error(error_r, INDEX_REASON_NO_MAILBOX, "mailbox %" PRId64
					" is gone", mailbox_id);
		return ret < 0 ? index_db_error(index, error_r, "look up mailbox") : -1;
	}
	if (quota_allow(index, append->src->size, 1, error_r) < 0) {
		index_mbox_clear(&mbox);
		return -1;
	}
	/* the durable part, outside the lock: other sessions keep working
	 * while this one waits for the disk */
	memset(&it, 0, sizeof(it));
	it.dir = mbox.dir;
	it.src = append->src;
	if (maildir_deliver_batch(&it, 1) < 0) {
		index_sys_error(error_r, it.failed_step, mbox.dir, it.error);
		index_mbox_clear(&mbox);
		return -1;
	}
	/* INTERNALDATE is the file's mtime, as Dovecot keeps it: a rebuild
	 * (or Dovecot reading this Maildir) finds the same date */
	path = xasprintf("%s/new/%s", mbox.dir, it.name);
	{
		struct timespec times[2] = { { internaldate, 0 }, { internaldate, 0 } };
		if (utimensat(AT_FDCWD, path, times, 0) < 0)
			log_warn("index %s: cannot set the date of %s: %s", mbox.dir, it.name,
				 strerror(errno));
	}
	free(path);
	path = NULL;
	index_mbox_clear(&mbox);
	ret = index_begin(index, error_r);
	if (ret == 0) {
		ret = append_locked(index, mailbox_id, append, &it, internaldate, uidvalidity_r,
				    uid_r, &path, error_r);
		if (ret == 0)
			ret = index_commit(index, error_r);
		else
			index_rollback(index);
	}
	if (ret < 0) {
		/* nothing half-done: the client's retry must not duplicate */
		if (path == NULL)
			path = xasprintf("%s/new/%s", it.dir, it.name);
		(void)unlink(path);
		*uidvalidity_r = *uid_r = 0;
	} else {
		/* newest first: this message, whatever backlog there is */
		struct index_parse parse = { .max = INDEX_PARSE_INLINE_MAX,
					     .deadline_ms = time_monotonic_ms() +
							    INDEX_PARSE_INLINE_MS,
					     .newest_first = true };
		quota_add(index, (int64_t)it.size, 1);
		(void)index_parse_pending(index, mailbox_id, &parse);
	}
	free(path);
	return ret;
}

/* ---- copy and move ---- */

static void ops_add(struct file_ops *ops, char *from, char *to, bool renamed)
{
	ops->ops = xrealloc(ops->ops, (ops->count + 1) * sizeof(*ops->ops));
	ops->ops[ops->count].from = from;
	ops->ops[ops->count].to = to;
	ops->ops[ops->count].renamed = renamed;
	ops->count++;
}

static void ops_undo(struct file_ops *ops)
{
	for (size_t i = ops->count; i-- > 0;) {
		const struct file_op *op = &ops->ops[i];
		if (op->renamed ? rename(op->to, op->from) < 0 : unlink(op->to) < 0)
			log_error("index: cannot undo %s -> %s: %s", op->from, op->to,
				  strerror(errno));
	}
}

static void ops_free(struct file_ops *ops)
{
	for (size_t i = 0; i < ops->count; i++) {
		free(ops->ops[i].from);
		free(ops->ops[i].to);
	}
	free(ops->ops);
	memset(ops, 0, sizeof(*ops));
}

/* copy_base - a fresh base name carrying the message's size fields. */
static char *copy_base(const struct index_row *row)
{
	char unique[MAILDIR_NAME_MAX];
	const char *sizes = strchr(row->base, ',');

	maildir_unique_name(unique);
	if (sizes != NULL && strlen(sizes) <= INDEX_SIZES_SUFFIX_MAX && strchr(sizes, '/') == NULL)
		return xasprintf("%s%s", unique, sizes);
	return xasprintf("%s,S=%" PRIu64 ",W=%" PRIu64, unique, row->size, row->vsize);
}

static bool link_refused(int err)
{
	return err == EXDEV || err == EPERM || err == EMLINK || err == ENOTSUP ||
	       err == EOPNOTSUPP;
}

/* copy_data - where hard links are refused: a real, durable copy through
 * the delivery path; *base_r is its name (in dst/cur/ with info). */
static int copy_data(const char *from, struct index_mbox *dst, const char *info, char **base_r,
		     char **to_r)
{
	struct maildir_delivery it;
	struct maildir_source src;
	struct stat st;
	int fd = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), ret;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	memset(&it, 0, sizeof(it));
	src.fd = fd;
	src.data = NULL;
	src.size = (uint64_t)st.st_size;
	it.dir = dst->dir;
	it.src = &src;
	ret = maildir_deliver_batch(&it, 1);
	close(fd);
	if (ret < 0) {
		errno = it.error;
		return -1;
	}
	char *tmp = xasprintf("%s/new/%s", dst->dir, it.name);
	*to_r = index_file_path(dst->dir, false, it.name, info);
	if (rename(tmp, *to_r) < 0) {
		int err = errno;
		(void)unlink(tmp);
		free(tmp);
		free(*to_r);
		errno = err;
		return -1;
	}
	free(tmp);
	*base_r = xstrdup(it.name);
	return 0;
}

/* copy_file - link (copy) or rename (move) one message into dst/cur/.
 * 1 done, 0 the source is gone (skipped), -1 error. */
static int copy_file(struct index_mbox *src, const struct index_row *row,
		     struct index_mbox *dst, bool move, struct file_ops *ops, char **base_r,
		     char **info_r, struct index_error *error_r)
{
	char *from = index_file_path(src->dir, row->in_new, row->base, row->info);
	char *info = index_info_build(row->info, row->flags);
	char *base = copy_base(row);
	char *to = index_file_path(dst->dir, false, base, info);
	int rc = move ? rename(from, to) : link(from, to);

	if (rc < 0 && !move && link_refused(errno)) {
		free(to);
		free(base);
		rc = copy_data(from, dst, info, &base, &to);
	}
	if (rc < 0) {
		int err = errno;
		/* ENOENT of the source: expunged meanwhile, nothing to copy */
		bool gone = err == ENOENT && access(from, F_OK) < 0;
		free(from);
		free(to);
		free(base);
		free(info);
		return gone ? 0 : index_sys_error(error_r, move ? "move" : "copy", row->base, err);
	}
	ops_add(ops, from, to, move);
	*base_r = base;
	*info_r = info;
	return 1;
}

static int copy_row(struct index *index, const struct index_row *row, struct index_mbox *dst,
		    bool move, const char *base, const char *info, uint64_t modseq)
{
	sqlite3_stmt *st;
	int rc;

	if (move) {
		/* the same row (id) moves: its cache and full-text row follow */
		st = db_prepare(index->db, "UPDATE messages SET mailbox_id = ?2, uid = ?3, base = ?4,"
					   " in_new = 0, info = ?5, modseq = ?6 WHERE id = ?1");
	} else {
		st = db_prepare(index->db,
				"INSERT INTO messages (mailbox_id, uid, base, in_new, info, flags,"
				" keywords, modseq, internaldate, size, vsize, envelope, body,"
				" bodystructure, parsed) SELECT ?2, ?3, ?4, 0, ?5, flags, keywords, ?6,"
				" internaldate, size, vsize, envelope, body, bodystructure, parsed"
				" FROM messages WHERE id = ?1");
	}
	sqlite3_bind_int64(st, 1, row->id);
	sqlite3_bind_int64(st, 2, dst->id);
	sqlite3_bind_int64(st, 3, dst->uidnext);
	sqlite3_bind_text(st, 4, base, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, info, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (int64_t)modseq);
	rc = index_step(index, st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	if (!move) {
		int64_t id = sqlite3_last_insert_rowid(index->db->sql);
		st = db_prepare(index->db, "INSERT INTO fts (rowid, hfrom, hto, hcc, hbcc, subject,"
					   " headers, body) SELECT ?2, hfrom, hto, hcc, hbcc, subject,"
					   " headers, body FROM fts WHERE rowid = ?1");
		sqlite3_bind_int64(st, 1, row->id);
		sqlite3_bind_int64(st, 2, id);
		rc = index_step(index, st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return -1;
	}
	return 0;
}

static void result_add(struct index_copy_result *result, uint32_t src_uid, uint32_t dst_uid)
{
	result->src_uids = xrealloc(result->src_uids, (result->count + 1) * sizeof(uint32_t));
	result->dst_uids = xrealloc(result->dst_uids, (result->count + 1) * sizeof(uint32_t));
	result->src_uids[result->count] = src_uid;
	result->dst_uids[result->count] = dst_uid;
	result->count++;
}

/* copy_rows - every row: its file, then its row. */
static int copy_rows(struct index *index, struct index_mbox *src, const struct index_row *rows,
		     size_t nrows, struct index_mbox *dst, bool move, struct file_ops *ops,
		     uint32_t *moved_uids, size_t *nmoved_r, struct index_copy_result *result_r,
		     struct index_error *error_r)
{
	uint64_t modseq = nrows > 0 ? index_mbox_next_modseq(index, dst) : 0;
	int ret = 0;

	for (size_t i = 0; i < nrows && ret == 0; i++) {
		char *base = NULL, *info = NULL;
		int rc = copy_file(src, &rows[i], dst, move, ops, &base, &info, error_r);
		if (rc <= 0) {
			ret = rc;
			continue;
		}
		if (copy_row(index, &rows[i], dst, move, base, info, modseq) < 0)
			ret = index_db_error(index, error_r, move ? "move message" : "copy message");
		else if (rows[i].keywords[0] != '\0' &&
			 index_keywords_register(index, dst->id, rows[i].keywords, true, error_r) < 0)
			ret = -1;
		if (ret == 0) {
			result_add(result_r, rows[i].uid, dst->uidnext++);
			if (move)
				moved_uids[(*nmoved_r)++] = rows[i].uid;
			else
				ops->bytes += rows[i].size;
			ops->messages++;
		}
		free(base);
		free(info);
	}
	return ret;
}

static int copy_sync_dirs(struct index_mbox *src, struct index_mbox *dst, bool move,
			  struct index_error *error_r)
{
	char *path = xasprintf("%s/cur", dst->dir);
	int ret = 0;

	/* COPYUID promises the copies exist: make the new entries durable */
	if (fsync_dir(path) < 0)
		ret = index_sys_error(error_r, "fsync", path, errno);
	free(path);
	if (ret == 0 && move && src->id != dst->id) {
		path = xasprintf("%s/cur", src->dir);
		if (fsync_dir(path) < 0)
			ret = index_sys_error(error_r, "fsync", path, errno);
		free(path);
	}
	return ret;
}

static int copy_locked(struct index *index, struct index_mbox *src,
		       const struct index_uid_range *ranges, size_t count, struct index_mbox *dst,
		       bool move, struct file_ops *ops, struct index_copy_result *result_r,
		       struct index_error *error_r)
{
	struct index_row *rows = NULL;
	size_t nrows = 0, nmoved = 0;
	uint64_t bytes = 0;
	uint32_t *moved;
	bool dst_sync = index_dir_in_sync(dst, "cur");
	bool src_new = index_dir_in_sync(src, "new"), src_cur = index_dir_in_sync(src, "cur");
	int ret;

	memset(result_r, 0, sizeof(*result_r));
	result_r->uidvalidity = dst->uidvalidity;
	if (index_rows_collect(index, src->id, ranges, count, false, &rows, &nrows) < 0)
		return index_db_error(index, error_r, "read messages");
	for (size_t i = 0; i < nrows; i++)
		bytes += rows[i].size;
	if (uids_left(dst, nrows, error_r) < 0 ||
	    (!move && quota_allow(index, bytes, nrows, error_r) < 0)) {
		index_rows_free(&rows, nrows);
		return -1;
	}
	/* a folder made outside may lack cur/ */
	if (nrows > 0 && maildir_create(dst->dir) < 0) {
		index_rows_free(&rows, nrows);
		return index_sys_error(error_r, "create folder", dst->dir, errno);
	}
	moved = xcalloc(nrows > 0 ? nrows : 1, sizeof(*moved));
	ret = copy_rows(index, src, rows, nrows, dst, move, ops, moved, &nmoved, result_r, error_r);
	if (ret == 0 && ops->count > 0)
		ret = copy_sync_dirs(src, dst, move, error_r);
	if (ret == 0 && nmoved > 0 &&
	    index_expunged_add(index, src, moved, nmoved, index_mbox_next_modseq(index, src)) < 0)
		ret = index_db_error(index, error_r, "record expunges");
	if (move && src != dst) {
		index_dir_record(src, "new", src_new);
		index_dir_record(src, "cur", src_cur);
		if (ret == 0 && index_mbox_save(index, src) < 0)
			ret = index_db_error(index, error_r, "save mailbox");
	}
	index_dir_record(dst, "cur", dst_sync);
	if (ret == 0 && index_mbox_save(index, dst) < 0)
		ret = index_db_error(index, error_r, "save mailbox");
	if (ret < 0) {
		ops_undo(ops);
		index_copy_result_clear(result_r);
	}
	free(moved);
	index_rows_free(&rows, nrows);
	return ret;
}

int index_copy_locked(struct index *index, struct index_mbox *src,
		      const struct index_uid_range *ranges, size_t count, struct index_mbox *dst,
		      bool move, struct index_copy_result *result_r, struct index_error *error_r)
{
	struct file_ops ops;
	int ret;

	memset(&ops, 0, sizeof(ops));
	ret = copy_locked(index, src, ranges, count, dst, move, &ops, result_r, error_r);
	ops_free(&ops);
	return ret;
}

static int mbox_lookup(struct index *index, int64_t id, struct index_mbox *mbox_r,
		       struct index_error *error_r)
{
	int ret = index_mbox_get(index, id, mbox_r);

	if (ret == 0)
		index_set_error(error_r, INDEX_REASON_NO_MAILBOX, "mailbox %" PRId64 " is gone", id);
	else if (ret < 0)
		index_db_error(index, error_r, "look up mailbox");
	return ret > 0 ? 0 : -1;
}

int index_copy(struct index *index, int64_t src_id, const struct index_uid_range *ranges,
	       size_t count, int64_t dst_id, bool move, struct index_copy_result *result_r,
	       struct index_error *error_r)
{
	struct index_mbox src, dst;
	struct file_ops ops;
	int ret;

	memset(result_r, 0, sizeof(*result_r));
	memset(&ops, 0, sizeof(ops));
	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	if (index_begin(index, error_r) < 0)
		return -1;
	ret = mbox_lookup(index, src_id, &src, error_r);
	if (ret == 0 && src_id != dst_id)
		ret = mbox_lookup(index, dst_id, &dst, error_r);
	if (ret == 0) {
		/* into the same mailbox: one row, one UIDNEXT */
		struct index_mbox *d = src_id != dst_id ? &dst : &src;
		ret = copy_locked(index, &src, ranges, count, d, move, &ops, result_r, error_r);
	}
	if (ret == 0 && index_commit(index, error_r) < 0) {
		ops_undo(&ops);
		index_copy_result_clear(result_r);
		ret = -1;
	}
	if (ret < 0)
		index_rollback(index);
	else if (!move)
		quota_add(index, (int64_t)ops.bytes, (int64_t)ops.messages);
	ops_free(&ops);
	index_mbox_clear(&src);
	index_mbox_clear(&dst);
	return ret;
}

void index_copy_result_clear(struct index_copy_result *result)
{
	free(result->src_uids);
	free(result->dst_uids);
	memset(result, 0, sizeof(*result));
}
