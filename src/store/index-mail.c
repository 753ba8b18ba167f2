/* SPDX-License-Identifier: ISC */
/*
 * index-mail.c - messages in the index: iteration by UID or sequence
 * ranges, STORE of flags and keywords (CONDSTORE UNCHANGEDSINCE), EXPUNGE,
 * and what changed since a MODSEQ (CONDSTORE, QRESYNC, session updates).
 *
 * MODSEQ: every write transaction that changes a mailbox takes one new
 * MODSEQ from it and gives it to every message it changes (as Dovecot
 * does); HIGHESTMODSEQ is the mailbox's last one. RFC 7162 asks only that
 * a change gets a MODSEQ above every earlier one.
 *
 * A flag change renames the file (":2,<letters>") inside the transaction
 * that records it. If the commit then fails, the disk shows the new flags
 * and the next sync takes them over, so disk and index converge.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "core/db.h"
#include "store/index-private.h"
#include "store/quota.h"

#include <unistd.h>

struct index_iter {
	struct index *index;
	int64_t mailbox_id;
	struct index_uid_range *ranges;
	size_t count, pos;
	bool by_seq;
	bool own_txn;
	sqlite3_stmt *st;
	uint32_t next_seq;     /* 0: look up the seq of the next row */
};

#define ITER_COLUMNS \
	"uid, flags, keywords, modseq, internaldate, size, vsize, envelope, body, bodystructure"

/* ---- rows and ranges ---- */

static char *column_strdup(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s != NULL ? xstrdup((const char *)s) : NULL;
}

void index_row_read(sqlite3_stmt *st, int col, struct index_row *row_r)
{
	row_r->id = sqlite3_column_int64(st, col);
	row_r->uid = (uint32_t)sqlite3_column_int64(st, col + 1);
	row_r->base = column_strdup(st, col + 2);
	row_r->in_new = sqlite3_column_int(st, col + 3) != 0;
	row_r->info = column_strdup(st, col + 4);
	row_r->flags = (unsigned)sqlite3_column_int(st, col + 5);
	row_r->modseq = (uint64_t)sqlite3_column_int64(st, col + 6);
	row_r->internaldate = sqlite3_column_int64(st, col + 7);
	row_r->size = (uint64_t)sqlite3_column_int64(st, col + 8);
	row_r->vsize = (uint64_t)sqlite3_column_int64(st, col + 9);
	row_r->keywords = column_strdup(st, col + 10);
	if (row_r->keywords == NULL)
		row_r->keywords = xstrdup("");
	if (row_r->base == NULL)
		row_r->base = xstrdup("");
}

void index_row_clear(struct index_row *row)
{
	free(row->base);
	free(row->info);
	free(row->keywords);
	memset(row, 0, sizeof(*row));
}

static int range_cmp(const void *a, const void *b)
{
	const struct index_uid_range *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first ? 1 : 0;
}

struct index_uid_range *index_ranges_normalize(const struct index_uid_range *ranges,
					       size_t count, size_t *count_r)
{
	struct index_uid_range *out;
	size_t n = 0;

	if (ranges == NULL || count == 0) {
		out = xmalloc(sizeof(*out));
		out->first = 1;
		out->last = UINT32_MAX;
		*count_r = 1;
		return out;
	}
	out = xmalloc(count * sizeof(*out));
	for (size_t i = 0; i < count; i++) {
		out[i].first = ranges[i].first < ranges[i].last ? ranges[i].first : ranges[i].last;
		out[i].last = ranges[i].first < ranges[i].last ? ranges[i].last : ranges[i].first;
	}
	qsort(out, count, sizeof(*out), range_cmp);
	for (size_t i = 1; i < count; i++) {
		/* overlapping or adjacent (without wrapping past UINT32_MAX) */
		if (out[n].last == UINT32_MAX || out[i].first <= out[n].last + 1) {
			if (out[i].last > out[n].last)
				out[n].last = out[i].last;
		} else {
			out[++n] = out[i];
		}
	}
	*count_r = n + 1;
	return out;
}

int index_rows_collect(struct index *index, int64_t mailbox_id,
		       const struct index_uid_range *ranges, size_t count, bool deleted_only,
		       struct index_row **rows_r, size_t *nrows_r)
{
	size_t nranges, n = 0, alloc = 0;
	struct index_uid_range *norm = index_ranges_normalize(ranges, count, &nranges);
	sqlite3_stmt *st = db_prepare(index->db,
				      deleted_only ?
				      "SELECT " INDEX_ROW_COLUMNS " FROM messages WHERE mailbox_id = ?1"
				      " AND uid BETWEEN ?2 AND ?3 AND (flags & 8) != 0 ORDER BY uid" :
				      "SELECT " INDEX_ROW_COLUMNS " FROM messages WHERE mailbox_id = ?1"
				      " AND uid BETWEEN ?2 AND ?3 ORDER BY uid");
	struct index_row *rows = NULL;
	int rc = SQLITE_DONE;

	for (size_t i = 0; i < nranges && rc == SQLITE_DONE; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, mailbox_id);
		sqlite3_bind_int64(st, 2, norm[i].first);
		sqlite3_bind_int64(st, 3, norm[i].last);
		while ((rc = index_step(index, st)) == SQLITE_ROW) {
			if (n == alloc) {
				alloc = alloc < 16 ? 16 : alloc * 2;
				rows = xrealloc(rows, alloc * sizeof(*rows));
			}
			index_row_read(st, 0, &rows[n++]);
		}
	}
	sqlite3_finalize(st);
	free(norm);
	if (rc != SQLITE_DONE) {
		index_rows_free(&rows, n);
		return -1;
	}
	*rows_r = rows;
	*nrows_r = n;
	return 0;
}

void index_rows_free(struct index_row **_rows, size_t count)
{
	struct index_row *rows = *_rows;

	if (rows == NULL)
		return;
	*_rows = NULL;
	for (size_t i = 0; i < count; i++)
		index_row_clear(&rows[i]);
	free(rows);
}

/* ---- keywords ---- */

int index_keywords_check(const char *const *keywords, size_t count,
			 struct index_error *error_r)
{
	if (count > INDEX_KEYWORDS_MAX) {
		index_set_error(error_r, INDEX_REASON_KEYWORDS, "%zu keywords (limit %d)", count,
				INDEX_KEYWORDS_MAX);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (!index_keyword_valid(keywords[i])) {
			index_set_error(error_r, INDEX_REASON_BAD_KEYWORD, "invalid keyword %.100s",
					keywords[i]);
			return -1;
		}
	}
	return 0;
}

/* kw_find - whether the space-separated set holds word (any case). */
static bool kw_find(const char *set, const char *word, size_t len)
{
	for (const char *p = set; *p != '\0';) {
		size_t n = strcspn(p, " ");
		if (n == len && str_ncasecmp(p, word, len) == 0)
			return true;
		p += n;
		while (*p == ' ')
			p++;
	}
	return false;
}

/* set_append - into an unbounded buffer, which cannot refuse. */
static void set_append(struct buf *set, const char *s, size_t len)
{
	if (buf_append(set, s, len) < 0)
		panic("index: unbounded buffer refused an append");
}

static void kw_add(struct buf *set, const char *word, size_t len)
{
	if (kw_find(set->data != NULL ? set->data : "", word, len))
		return;
	if (set->len > 0)
		set_append(set, " ", 1);
	set_append(set, word, len);
}

int index_keywords_canon(struct index *index, int64_t mailbox_id, const char *const *keywords,
			 size_t count, char **set_r, struct index_error *error_r)
{
	sqlite3_stmt *st = db_prepare(index->db, "SELECT name FROM keywords"
				      " WHERE mailbox_id = ?1 AND name = ?2");
	struct buf set;
	int ret = 0;

	buf_init(&set, 0);
	set_append(&set, "", 0);
	for (size_t i = 0; i < count && ret == 0; i++) {
		const char *word = keywords[i];
		int rc;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, mailbox_id);
		sqlite3_bind_text(st, 2, word, -1, SQLITE_STATIC);
		rc = index_step(index, st);
		/* keywords are case-insensitive (RFC 9051 2.3.2): the first
		 * spelling the mailbox saw is the one every client gets */
		if (rc == SQLITE_ROW)
			kw_add(&set, (const char *)sqlite3_column_text(st, 0),
			       (size_t)sqlite3_column_bytes(st, 0));
		else if (rc == SQLITE_DONE)
			kw_add(&set, word, strlen(word));
		else
			ret = index_db_error(index, error_r, "look up keyword");
	}
	sqlite3_finalize(st);
	if (ret == 0)
		*set_r = xstrdup(set.data);
	buf_release(&set);
	return ret;
}

int index_keywords_register(struct index *index, int64_t mailbox_id, const char *set,
			    bool force, struct index_error *error_r)
{
	sqlite3_stmt *count_st = db_prepare(index->db, "SELECT count(*) FROM keywords"
					    " WHERE mailbox_id = ?1");
	sqlite3_stmt *st = db_prepare(index->db, "INSERT OR IGNORE INTO keywords (mailbox_id, name)"
				      " VALUES (?1, ?2)");
	int64_t known = 0;
	int ret = 0;

	sqlite3_bind_int64(count_st, 1, mailbox_id);
	if (index_step(index, count_st) == SQLITE_ROW)
		known = sqlite3_column_int64(count_st, 0);
	sqlite3_finalize(count_st);
	for (const char *p = set; *p != '\0' && ret == 0;) {
		size_t n = strcspn(p, " ");
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, mailbox_id);
		sqlite3_bind_text(st, 2, p, (int)n, SQLITE_STATIC);
		if (index_step(index, st) != SQLITE_DONE) {
			ret = index_db_error(index, error_r, "register keyword");
		} else if (sqlite3_changes(index->db->sql) > 0 && ++known > INDEX_KEYWORDS_MAX &&
			   !force) {
			index_set_error(error_r, INDEX_REASON_KEYWORDS,
					"mailbox has %d keywords already", INDEX_KEYWORDS_MAX);
			ret = -1;
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	sqlite3_finalize(st);
	return ret;
}

int index_mailbox_keywords(struct index *index, int64_t mailbox_id, char ***keywords_r)
{
	sqlite3_stmt *st = db_prepare(index->db, "SELECT name FROM keywords WHERE mailbox_id = ?1"
				      " ORDER BY id");
	char **v = xcalloc(1, sizeof(*v));
	size_t n = 0;
	int rc;

	sqlite3_bind_int64(st, 1, mailbox_id);
	while ((rc = index_step(index, st)) == SQLITE_ROW) {
		v = xrealloc(v, (n + 2) * sizeof(*v));
		v[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
		v[n] = NULL;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		index_keywords_free(&v);
		return -1;
	}
	*keywords_r = v;
	return 0;
}

void index_keywords_free(char ***_keywords)
{
	char **v = *_keywords;

	if (v == NULL)
		return;
	*_keywords = NULL;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* ---- iteration ---- */

int index_iter_init(struct index *index, int64_t mailbox_id,
		    const struct index_uid_range *ranges, size_t count, bool by_seq,
		    struct index_iter **iter_r)
{
	struct index_iter *iter = xcalloc(1, sizeof(*iter));

	iter->index = index;
	iter->mailbox_id = mailbox_id;
	iter->ranges = index_ranges_normalize(ranges, count, &iter->count);
	iter->by_seq = by_seq;
	/* one read transaction: every row comes from the same snapshot */
	if (sqlite3_get_autocommit(index->db->sql)) {
		if (db_exec(index->db, "BEGIN") < 0) {
			index_iter_deinit(&iter);
			return -1;
		}
		iter->own_txn = true;
	}
	*iter_r = iter;
	return 0;
}

/* iter_next_range - the statement for the next range. */
static void iter_next_range(struct index_iter *iter)
{
	const struct index_uid_range *r = &iter->ranges[iter->pos++];

	sqlite3_finalize(iter->st);
	if (iter->by_seq) {
		iter->st = db_prepare(iter->index->db, "SELECT " ITER_COLUMNS " FROM messages"
				      " WHERE mailbox_id = ?1 ORDER BY uid LIMIT ?2 OFFSET ?3");
		sqlite3_bind_int64(iter->st, 2, (int64_t)r->last - r->first + 1);
		sqlite3_bind_int64(iter->st, 3, (int64_t)r->first - 1);
		iter->next_seq = r->first;
	} else {
		iter->st = db_prepare(iter->index->db, "SELECT " ITER_COLUMNS " FROM messages"
				      " WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid");
		sqlite3_bind_int64(iter->st, 2, r->first);
		sqlite3_bind_int64(iter->st, 3, r->last);
		iter->next_seq = r->first == 1 ? 1 : 0;
	}
	sqlite3_bind_int64(iter->st, 1, iter->mailbox_id);
}

static uint32_t seq_of(struct index_iter *iter, uint32_t uid)
{
	sqlite3_stmt *st = db_prepare(iter->index->db, "SELECT count(*) FROM messages"
				      " WHERE mailbox_id = ?1 AND uid < ?2");
	uint32_t seq = 0;

	sqlite3_bind_int64(st, 1, iter->mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	if (index_step(iter->index, st) == SQLITE_ROW)
		seq = (uint32_t)sqlite3_column_int64(st, 0) + 1;
	sqlite3_finalize(st);
	return seq;
}

static const char *column_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

int index_iter_next(struct index_iter *iter, struct index_message *msg_r)
{
	for (;;) {
		int rc;
		if (iter->st == NULL) {
			if (iter->pos >= iter->count)
				return 0;
			iter_next_range(iter);
		}
		rc = index_step(iter->index, iter->st);
		if (rc == SQLITE_DONE) {
			sqlite3_finalize(iter->st);
			iter->st = NULL;
			continue;
		}
		if (rc != SQLITE_ROW)
			return -1;
		memset(msg_r, 0, sizeof(*msg_r));
		msg_r->uid = (uint32_t)sqlite3_column_int64(iter->st, 0);
		msg_r->flags = (unsigned)sqlite3_column_int(iter->st, 1);
		msg_r->keywords = column_text(iter->st, 2);
		if (msg_r->keywords == NULL)
			msg_r->keywords = "";
		msg_r->modseq = (uint64_t)sqlite3_column_int64(iter->st, 3);
		msg_r->internaldate = sqlite3_column_int64(iter->st, 4);
		msg_r->size = (uint64_t)sqlite3_column_int64(iter->st, 5);
		msg_r->vsize = (uint64_t)sqlite3_column_int64(iter->st, 6);
		msg_r->envelope = column_text(iter->st, 7);
		msg_r->body = column_text(iter->st, 8);
		msg_r->bodystructure = column_text(iter->st, 9);
		/* rows of one range are consecutive in UID order, so only the
		 * first of a UID range needs its position counted */
		if (iter->next_seq == 0)
			iter->next_seq = seq_of(iter, msg_r->uid);
		msg_r->seq = iter->next_seq++;
		return 1;
	}
}

void index_iter_deinit(struct index_iter **_iter)
{
	struct index_iter *iter = *_iter;

	if (iter == NULL)
		return;
	*_iter = NULL;
	sqlite3_finalize(iter->st);
	if (iter->own_txn)
		index_rollback(iter->index);
	free(iter->ranges);
	free(iter);
}

int index_mailbox_uids(struct index *index, int64_t mailbox_id, uint32_t **uids_r,
		       size_t *count_r)
{
	sqlite3_stmt *st = db_prepare(index->db, "SELECT uid FROM messages WHERE mailbox_id = ?1"
				      " ORDER BY uid");
	uint32_t *uids = NULL;
	size_t n = 0, alloc = 0;
	int rc;

	sqlite3_bind_int64(st, 1, mailbox_id);
	while ((rc = index_step(index, st)) == SQLITE_ROW) {
		if (n == alloc) {
			alloc = alloc < 64 ? 64 : alloc * 2;
			uids = xrealloc(uids, alloc * sizeof(*uids));
		}
		uids[n++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(uids);
		return -1;
	}
	*uids_r = uids;
	*count_r = n;
	return 0;
}

/* ---- the message file ---- */

/* path_lookup - 1 with the recorded path of the message, 0, -1. */
static int path_lookup(struct index *index, int64_t mailbox_id, uint32_t uid, char **path_r)
{
	struct index_mbox mbox;
	sqlite3_stmt *st;
	int rc, ret = index_mbox_get(index, mailbox_id, &mbox);

	if (ret <= 0)
		return ret;
	st = db_prepare(index->db, "SELECT base, in_new, info FROM messages"
				   " WHERE mailbox_id = ?1 AND uid = ?2");
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	rc = index_step(index, st);
	if (rc == SQLITE_ROW)
		*path_r = index_file_path(mbox.dir, sqlite3_column_int(st, 1) != 0,
					  column_text(st, 0), column_text(st, 2));
	ret = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	index_mbox_clear(&mbox);
	return ret;
}

int index_message_path(struct index *index, int64_t mailbox_id, uint32_t uid, char **path_r)
{
	char *path = NULL;
	int ret = path_lookup(index, mailbox_id, uid, &path);

	if (ret <= 0 || access(path, F_OK) == 0) {
		if (ret > 0)
			*path_r = path;
		return ret;
	}
	free(path);
	/* renamed by another client (new flags) or moved to cur/, or gone:
	 * either changed the directory's mtime, so a plain sync finds it (a
	 * forced one would rescan a big mailbox for every such FETCH) */
	if (index_sync_mbox(index, mailbox_id, 0, NULL) < 0)
		return -1;
	path = NULL;
	ret = path_lookup(index, mailbox_id, uid, &path);
	if (ret > 0 && access(path, F_OK) < 0)
		ret = 0;
	if (ret > 0)
		*path_r = path;
	else
		free(path);
	return ret;
}

/* ---- store ---- */

/* flags_apply - the flags and keyword set a STORE leaves on a row. */
static void flags_apply(const struct index_store *store, const char *req_set,
			const struct index_row *row, unsigned *flags_r, struct buf *set)
{
	const char *old = row->keywords;

	buf_reset(set);
	set_append(set, "", 0);
	switch (store->mode) {
	case INDEX_STORE_REPLACE:
		*flags_r = store->flags & INDEX_FLAGS_ALL;
		set_append(set, req_set, strlen(req_set));
		return;
	case INDEX_STORE_ADD:
		*flags_r = row->flags | (store->flags & INDEX_FLAGS_ALL);
		set_append(set, old, strlen(old));
		for (const char *p = req_set; *p != '\0';) {
			size_t n = strcspn(p, " ");
			kw_add(set, p, n);
			p += n + (p[n] == ' ');
		}
		return;
	case INDEX_STORE_REMOVE:
		*flags_r = row->flags & ~(store->flags & INDEX_FLAGS_ALL);
		for (const char *p = old; *p != '\0';) {
			size_t n = strcspn(p, " ");
			if (!kw_find(req_set, p, n))
				kw_add(set, p, n);
			p += n + (p[n] == ' ');
		}
		return;
	}
}

static void change_add(struct index_store_result *result, uint32_t uid, unsigned flags,
		       const char *keywords, uint64_t modseq, bool changed)
{
	struct index_change *c;

	result->changes = xrealloc(result->changes, (result->count + 1) * sizeof(*c));
	c = &result->changes[result->count++];
	c->uid = uid;
	c->flags = flags;
	c->keywords = xstrdup(keywords);
	c->modseq = modseq;
	c->changed = changed;
}

/* store_row - rename the file when system flags change (into cur/), and
 * update the row. 1 stored, 0 the file is gone (left to the next sync),
 * -1 error. */
static int store_row(struct index *index, struct index_mbox *mbox, const struct index_row *row,
		     unsigned flags, const char *keywords, uint64_t modseq,
		     struct index_error *error_r)
{
	char *info = row->info != NULL ? xstrdup(row->info) : NULL;
	bool in_new = row->in_new;
	sqlite3_stmt *st;
	int rc;

	if (flags != row->flags || row->in_new) {
		char *from = index_file_path(mbox->dir, row->in_new, row->base, row->info);
		char *to;
		free(info);
		info = index_info_build(row->info, flags);
		to = index_file_path(mbox->dir, false, row->base, info);
		rc = rename(from, to);
		if (rc < 0) {
			int err = errno;
			free(from);
			free(to);
			free(info);
			return err == ENOENT ? 0 : index_sys_error(error_r, "rename", row->base, err);
		}
		free(from);
		free(to);
		in_new = false;
	}
	st = db_prepare(index->db, "UPDATE messages SET flags = ?2, keywords = ?3, modseq = ?4,"
				   " in_new = ?5, info = ?6 WHERE id = ?1");
	sqlite3_bind_int64(st, 1, row->id);
	sqlite3_bind_int(st, 2, (int)flags);
	sqlite3_bind_text(st, 3, keywords, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)modseq);
	sqlite3_bind_int(st, 5, in_new);
	if (info != NULL)
		sqlite3_bind_text(st, 6, info, -1, SQLITE_STATIC);
	rc = index_step(index, st);
	sqlite3_finalize(st);
	free(info);
	return rc == SQLITE_DONE ? 1 : index_db_error(index, error_r, "store flags");
}

static int store_locked(struct index *index, struct index_mbox *mbox,
			const struct index_uid_range *ranges, size_t count,
			const struct index_store *store, struct index_store_result *result_r,
			struct index_error *error_r)
{
	struct index_row *rows = NULL;
	size_t nrows = 0;
	char *req_set = NULL;
	struct buf set;
	uint64_t modseq = 0;
	bool new_sync = index_dir_in_sync(mbox, "new"), cur_sync = index_dir_in_sync(mbox, "cur");
	bool added_keywords = false;
	int ret;

	if (index_keywords_canon(index, mbox->id, store->keywords, store->keyword_count, &req_set,
				 error_r) < 0)
		return -1;
	if (index_rows_collect(index, mbox->id, ranges, count, false, &rows, &nrows) < 0) {
		free(req_set);
		return index_db_error(index, error_r, "read messages");
	}
	buf_init(&set, 0);
	ret = 0;
	for (size_t i = 0; i < nrows && ret == 0; i++) {
		const struct index_row *row = &rows[i];
		unsigned flags = row->flags;
		int rc;

		if (store->unchanged_since_set && row->modseq > store->unchanged_since) {
			result_r->modified = xrealloc(result_r->modified, (result_r->modified_count + 1) *
							sizeof(*result_r->modified));
			result_r->modified[result_r->modified_count++] = row->uid;
			continue;
		}
		flags_apply(store, req_set, row, &flags, &set);
		if (flags == row->flags && strcmp(set.data, row->keywords) == 0) {
			change_add(result_r, row->uid, row->flags, row->keywords, row->modseq, false);
			continue;
		}
		if (modseq == 0)
			modseq = index_mbox_next_modseq(index, mbox);
		rc = store_row(index, mbox, row, flags, set.data, modseq, error_r);
		if (rc < 0)
			ret = -1;
		else if (rc > 0)
			change_add(result_r, row->uid, flags, set.data, modseq, true);
		added_keywords = added_keywords || store->mode != INDEX_STORE_REMOVE;
	}
	if (ret == 0 && added_keywords && req_set[0] != '\0')
		ret = index_keywords_register(index, mbox->id, req_set, false, error_r);
	if (modseq != 0) {
		index_dir_record(mbox, "new", new_sync);
		index_dir_record(mbox, "cur", cur_sync);
	}
	if (ret == 0 && index_mbox_save(index, mbox) < 0)
		ret = index_db_error(index, error_r, "save mailbox");
	result_r->highestmodseq = mbox->highestmodseq;
	buf_release(&set);
	free(req_set);
	index_rows_free(&rows, nrows);
	return ret;
}

int index_store_flags(struct index *index, int64_t mailbox_id,
		      const struct index_uid_range *ranges, size_t count,
		      const struct index_store *store, struct index_store_result *result_r,
		      struct index_error *error_r)
{
	struct index_mbox mbox;
	int ret;

	memset(result_r, 0, sizeof(*result_r));
	if (index_keywords_check(store->keywords, store->keyword_count, error_r) < 0)
		return -1;
	if (index_begin(index, error_r) < 0)
		return -1;
	ret = index_mbox_get(index, mailbox_id, &mbox);
	if (ret <= 0) {
		index_rollback(index);
		if (ret == 0)
			index_set_error(error_r, INDEX_REASON_NO_MAILBOX, "mailbox %" PRId64
					" is gone", mailbox_id);
		return ret < 0 ? index_db_error(index, error_r, "look up mailbox") : -1;
	}
	ret = store_locked(index, &mbox, ranges, count, store, result_r, error_r);
	if (ret == 0)
		ret = index_commit(index, error_r);
	else
		index_rollback(index);
	if (ret < 0)
		index_store_result_clear(result_r);
	index_mbox_clear(&mbox);
	return ret;
}

void index_store_result_clear(struct index_store_result *result)
{
	for (size_t i = 0; i < result->count; i++)
		free(result->changes[i].keywords);
	free(result->changes);
	free(result->modified);
	memset(result, 0, sizeof(*result));
}

/* ---- expunge ---- */

static int expunge_locked(struct index *index, struct index_mbox *mbox,
			  const struct index_uid_range *ranges, size_t count, uint32_t **uids_r,
			  size_t *count_r, struct quota_usage *freed_r, struct index_error *error_r)
{
	struct index_row *rows = NULL;
	size_t nrows = 0, n = 0;
	uint32_t *uids;
	bool new_sync = index_dir_in_sync(mbox, "new"), cur_sync = index_dir_in_sync(mbox, "cur");
	sqlite3_stmt *st;
	int ret = 0;

	if (index_rows_collect(index, mbox->id, ranges, count, true, &rows, &nrows) < 0)
		return index_db_error(index, error_r, "read messages");
	uids = xcalloc(nrows > 0 ? nrows : 1, sizeof(*uids));
	st = db_prepare(index->db, "DELETE FROM messages WHERE id = ?1");
	for (size_t i = 0; i < nrows && ret == 0; i++) {
		char *path = index_file_path(mbox->dir, rows[i].in_new, rows[i].base, rows[i].info);
		/* ENOENT: someone removed it already; it is expunged all the same */
		if (unlink(path) < 0 && errno != ENOENT)
			ret = index_sys_error(error_r, "unlink", path, errno);
		free(path);
		if (ret < 0)
			break;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, rows[i].id);
		if (index_step(index, st) != SQLITE_DONE)
			ret = index_db_error(index, error_r, "expunge");
		uids[n++] = rows[i].uid;
		freed_r->bytes += rows[i].size;
		freed_r->messages++;
	}
	sqlite3_finalize(st);
	if (ret == 0 && n > 0) {
		if (index_expunged_add(index, mbox, uids, n, index_mbox_next_modseq(index, mbox)) < 0)
			ret = index_db_error(index, error_r, "record expunges");
		index_dir_record(mbox, "new", new_sync);
		index_dir_record(mbox, "cur", cur_sync);
		if (ret == 0 && index_mbox_save(index, mbox) < 0)
			ret = index_db_error(index, error_r, "save mailbox");
	}
	index_rows_free(&rows, nrows);
	if (ret < 0) {
		free(uids);
		return -1;
	}
	*uids_r = uids;
	*count_r = n;
	return 0;
}

int index_expunge(struct index *index, int64_t mailbox_id,
		  const struct index_uid_range *ranges, size_t count, uint32_t **uids_r,
		  size_t *count_r, struct index_error *error_r)
{
	struct quota_usage freed = { 0, 0 };
	struct index_mbox mbox;
	int ret;

	*uids_r = NULL;
	*count_r = 0;
	if (index_begin(index, error_r) < 0)
		return -1;
	ret = index_mbox_get(index, mailbox_id, &mbox);
	if (ret <= 0) {
		index_rollback(index);
		if (ret == 0)
			index_set_error(error_r, INDEX_REASON_NO_MAILBOX, "mailbox %" PRId64
					" is gone", mailbox_id);
		return ret < 0 ? index_db_error(index, error_r, "look up mailbox") : -1;
	}
	/* files are unlinked before the commit: if it fails, the next sync
	 * finds them gone and expunges the rows */
	ret = expunge_locked(index, &mbox, ranges, count, uids_r, count_r, &freed, error_r);
	if (ret == 0)
		ret = index_commit(index, error_r);
	else
		index_rollback(index);
	if (freed.messages > 0 &&
	    quota_update(index->data_dir, &index->account, -(int64_t)freed.bytes,
			 -(int64_t)freed.messages) < 0)
		log_warn("index %s: quota update after expunge failed", index->root);
	if (ret < 0) {
		free(*uids_r);
		*uids_r = NULL;
		*count_r = 0;
	}
	index_mbox_clear(&mbox);
	return ret;
}

/* ---- changes ---- */

static int changes_read(struct index *index, const struct index_mbox *mbox, uint64_t since,
			struct index_changes *changes_r)
{
	sqlite3_stmt *st = db_prepare(index->db, "SELECT uid, flags, keywords, modseq FROM messages"
				      " WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid");
	size_t alloc = 0;
	int rc;

	sqlite3_bind_int64(st, 1, mbox->id);
	sqlite3_bind_int64(st, 2, (int64_t)since);
	while ((rc = index_step(index, st)) == SQLITE_ROW) {
		struct index_change *c;
		if (changes_r->changed_count == alloc) {
			alloc = alloc < 16 ? 16 : alloc * 2;
			changes_r->changed = xrealloc(changes_r->changed, alloc * sizeof(*c));
		}
		c = &changes_r->changed[changes_r->changed_count++];
		c->uid = (uint32_t)sqlite3_column_int64(st, 0);
		c->flags = (unsigned)sqlite3_column_int(st, 1);
		c->keywords = column_strdup(st, 2);
		if (c->keywords == NULL)
			c->keywords = xstrdup("");
		c->modseq = (uint64_t)sqlite3_column_int64(st, 3);
		c->changed = true;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	st = db_prepare(index->db, "SELECT uid FROM expunged WHERE mailbox_id = ?1 AND modseq > ?2"
				   " ORDER BY uid");
	sqlite3_bind_int64(st, 1, mbox->id);
	sqlite3_bind_int64(st, 2, (int64_t)since);
	alloc = 0;
	while ((rc = index_step(index, st)) == SQLITE_ROW) {
		if (changes_r->vanished_count == alloc) {
			alloc = alloc < 16 ? 16 : alloc * 2;
			changes_r->vanished = xrealloc(changes_r->vanished,
						       alloc * sizeof(*changes_r->vanished));
		}
		changes_r->vanished[changes_r->vanished_count++] =
			(uint32_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int index_changes_since(struct index *index, int64_t mailbox_id, uint64_t modseq,
			struct index_changes *changes_r, struct index_error *error_r)
{
	struct index_mbox mbox;
	int ret;

	memset(changes_r, 0, sizeof(*changes_r));
	if (db_exec(index->db, "BEGIN") < 0)
		return index_db_error(index, error_r, "begin");
	ret = index_mbox_get(index, mailbox_id, &mbox);
	if (ret <= 0) {
		index_rollback(index);
		if (ret == 0)
			index_set_error(error_r, INDEX_REASON_NO_MAILBOX, "mailbox %" PRId64
					" is gone", mailbox_id);
		return ret < 0 ? index_db_error(index, error_r, "look up mailbox") : -1;
	}
	ret = changes_read(index, &mbox, modseq, changes_r);
	if (ret < 0)
		index_db_error(index, error_r, "read changes");
	changes_r->highestmodseq = mbox.highestmodseq;
	changes_r->uidnext = mbox.uidnext;
	changes_r->vanished_incomplete = modseq < mbox.expunge_floor;
	index_rollback(index);
	index_mbox_clear(&mbox);
	if (ret < 0)
		index_changes_clear(changes_r);
	return ret;
}

void index_changes_clear(struct index_changes *changes)
{
	for (size_t i = 0; i < changes->changed_count; i++)
		free(changes->changed[i].keywords);
	free(changes->changed);
	free(changes->vanished);
	memset(changes, 0, sizeof(*changes));
}
