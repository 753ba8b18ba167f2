/* SPDX-License-Identifier: ISC */
/*
 * index-cache.c - reading a message file once for what FETCH and SEARCH
 * need without it: the ENVELOPE, BODY and BODYSTRUCTURE strings (cached
 * in the row) and the full-text document (fts.c).
 *
 * Parsing happens outside the write lock (files are read while other
 * sessions keep working); only storing the results takes it, a batch of
 * messages per transaction. A message expunged or moved meanwhile is
 * harmless: the UPDATE matches by row id and "not parsed yet", so a row
 * that is gone gets nothing, and a moved one (same id) keeps the result.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "core/db.h"
#include "mail/imap-bodystructure.h"
#include "mail/mime.h"
#include "store/fts-private.h"
#include "store/index-private.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Messages parsed per write transaction, and the text a batch may hold
 * (each message's text is bounded by FTS_BODY_MAX): bigger batches make
 * fewer FTS5 segments to merge, smaller ones hold the write lock for
 * less time. */
#define INDEX_PARSE_BATCH 64
#define INDEX_PARSE_BATCH_BYTES (8 * 1024 * 1024)
#define INDEX_PARSE_POOL_BLOCK (64 * 1024)

struct parsed {
	int64_t id;
	char *envelope, *body, *bodystructure;   /* xmalloc'd */
	struct fts_doc doc;                       /* from the batch's pool */
	bool ok;
};

/* render - one of the IMAP strings; NULL when it would be too long to
 * keep (the caller renders it again when asked). */
static char *render(const struct mime_part *root, int which, size_t max)
{
	struct buf out;
	char *s = NULL;
	int ret;

	buf_init(&out, max);
	if (which == 0)
		ret = imap_envelope_write(&out, root->envelope);
	else
		ret = imap_bodystructure_write(&out, root, which == 2);
	if (ret == 0)
		s = xstrndup(out.data != NULL ? out.data : "", out.len);
	buf_release(&out);
	return s;
}

/* parse_file - map the file, build its MIME tree, render the strings and
 * (with doc_r) the full-text document. -1 with errno when the file cannot
 * be read. */
static int parse_file(const char *path, struct pool *pool, size_t max, char **envelope_r,
		      char **body_r, char **bodystructure_r, struct fts_doc *doc_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	void *data = NULL;
	const struct mime_part *root;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	if (st.st_size > 0) {
		data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (data == MAP_FAILED) {
			int err = errno;
			close(fd);
			errno = err;
			return -1;
		}
	}
	close(fd);
	root = mime_parse(pool, data != NULL ? data : "", (size_t)st.st_size);
	*envelope_r = render(root, 0, max);
	*body_r = render(root, 1, max);
	*bodystructure_r = render(root, 2, max);
	if (doc_r != NULL)
		fts_doc_extract(pool, data != NULL ? data : "", (size_t)st.st_size, root, doc_r);
	if (data != NULL)
		munmap(data, (size_t)st.st_size);
	return 0;
}

static void bind_text_or_null(sqlite3_stmt *st, int col, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, col);
}

/* ---- one message, on demand ---- */

static void cache_copy(sqlite3_stmt *st, struct index_cache *cache_r)
{
	const char *v[3];

	for (int i = 0; i < 3; i++)
		v[i] = (const char *)sqlite3_column_text(st, i + 1);
	cache_r->envelope = xstrdup(v[0]);
	cache_r->body = xstrdup(v[1]);
	cache_r->bodystructure = xstrdup(v[2]);
}

int index_message_cache(struct index *index, int64_t mailbox_id, uint32_t uid,
			struct index_cache *cache_r)
{
	sqlite3_stmt *st = db_prepare(index->db, "SELECT id, envelope, body, bodystructure"
				      " FROM messages WHERE mailbox_id = ?1 AND uid = ?2");
	struct pool *pool;
	char *path = NULL;
	int64_t id = 0;
	int rc, ret;

	memset(cache_r, 0, sizeof(*cache_r));
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	rc = index_step(index, st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL &&
		    sqlite3_column_type(st, 2) != SQLITE_NULL &&
		    sqlite3_column_type(st, 3) != SQLITE_NULL) {
			cache_copy(st, cache_r);
			sqlite3_finalize(st);
			return 1;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : -1;
	if ((ret = index_message_path(index, mailbox_id, uid, &path)) <= 0)
		return ret;
	pool = pool_new(INDEX_PARSE_POOL_BLOCK);
	/* unbounded here: the client asked for it; only storing is bounded */
	ret = parse_file(path, pool, 0, &cache_r->envelope, &cache_r->body, &cache_r->bodystructure,
			 NULL);
	pool_free(&pool);
	if (ret < 0) {
		ret = errno == ENOENT ? 0 : -1;
		if (ret < 0)
			log_error("index: read %s: %s", path, strerror(errno));
		free(path);
		index_cache_clear(cache_r);
		return ret;
	}
	free(path);
	st = db_prepare(index->db, "UPDATE messages SET envelope = ?2, body = ?3, bodystructure = ?4"
				   " WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	bind_text_or_null(st, 2, strlen(cache_r->envelope) <= INDEX_CACHE_STRING_MAX ?
					 cache_r->envelope : NULL);
	bind_text_or_null(st, 3, strlen(cache_r->body) <= INDEX_CACHE_STRING_MAX ?
					 cache_r->body : NULL);
	bind_text_or_null(st, 4, strlen(cache_r->bodystructure) <= INDEX_CACHE_STRING_MAX ?
					 cache_r->bodystructure : NULL);
	/* a cache: if the database is busy, the next FETCH tries again */
	if (index_step(index, st) != SQLITE_DONE)
		log_warn("index %s: cannot cache message %u: %s", index->root, uid,
			 db_errmsg(index->db));
	sqlite3_finalize(st);
	return 1;
}

void index_cache_clear(struct index_cache *cache)
{
	free(cache->envelope);
	free(cache->body);
	free(cache->bodystructure);
	memset(cache, 0, sizeof(*cache));
}

/* ---- pending messages, in batches ---- */

static bool parse_should_stop(const struct index_parse *parse)
{
	return (parse->deadline_ms != 0 && time_monotonic_ms() >= parse->deadline_ms) ||
	       (parse->yield != NULL && parse->yield());
}

/* pending_read - the next batch of unparsed messages after the cursor
 * (before it, newest first), parsed from their files; stops early at the
 * deadline. */
static size_t pending_read(struct index *index, int64_t mailbox_id, const char *dir,
			   struct index_parse *parse, size_t max, struct pool *pool,
			   struct parsed *out)
{
	static const char *const sql[] = {
		"SELECT id, base, in_new, info FROM messages"
		" WHERE mailbox_id = ?1 AND parsed = 0 AND id > ?2 ORDER BY id LIMIT ?3",
		"SELECT id, base, in_new, info FROM messages"
		" WHERE mailbox_id = ?1 AND parsed = 0 AND id < ?2 ORDER BY id DESC LIMIT ?3",
	};
	sqlite3_stmt *st = db_prepare(index->db, sql[parse->newest_first]);
	int64_t cursor = parse->cursor;
	size_t n = 0, bytes = 0;

	if (parse->newest_first && cursor == 0)
		cursor = INT64_MAX;
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, cursor);
	sqlite3_bind_int64(st, 3, (int64_t)max);
	while (index_step(index, st) == SQLITE_ROW) {
		struct parsed *p = &out[n++];
		char *path = index_file_path(dir, sqlite3_column_int(st, 2) != 0,
					     (const char *)sqlite3_column_text(st, 1),
					     (const char *)sqlite3_column_text(st, 3));
		memset(p, 0, sizeof(*p));
		p->id = sqlite3_column_int64(st, 0);
		parse->cursor = p->id;
		/* a file gone (expunged or renamed from outside) waits for the
		 * next sync, which either drops the row or fixes its name */
		p->ok = parse_file(path, pool, INDEX_CACHE_STRING_MAX, &p->envelope, &p->body,
				   &p->bodystructure, &p->doc) == 0;
		free(path);
		if (p->ok)
			bytes += strlen(p->doc.body) + strlen(p->doc.headers);
		if (bytes >= INDEX_PARSE_BATCH_BYTES || parse_should_stop(parse))
			break;
	}
	sqlite3_finalize(st);
	return n;
}

/* pending_store - the batch in one transaction, in ascending row id
 * order whichever way it was read: FTS5 flushes its pending terms into a
 * new segment whenever a rowid goes down, so descending inserts cost a
 * segment (and later merges) per message. */
static int pending_store(struct index *index, struct parsed *batch, size_t n, bool descending,
			 unsigned *done)
{
	sqlite3_stmt *st;
	int ret = 0;

	if (index_begin(index, NULL) < 0)
		return -1;
	st = db_prepare(index->db,
			"UPDATE messages SET envelope = coalesce(envelope, ?2), body = coalesce(body, ?3),"
			" bodystructure = coalesce(bodystructure, ?4), parsed = 1"
			" WHERE id = ?1 AND parsed = 0");
	for (size_t k = 0; k < n && ret == 0; k++) {
		struct parsed *p = &batch[descending ? n - 1 - k : k];
		if (!p->ok)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, p->id);
		bind_text_or_null(st, 2, p->envelope);
		bind_text_or_null(st, 3, p->body);
		bind_text_or_null(st, 4, p->bodystructure);
		/* no change: another handle (a SEARCH, the background indexer)
		 * stored it meanwhile */
		if (index_step(index, st) != SQLITE_DONE)
			ret = -1;
		else if (sqlite3_changes(index->db->sql) > 0 &&
			 fts_doc_insert(index, p->id, &p->doc) < 0)
			ret = -1;
		else
			(*done)++;
	}
	sqlite3_finalize(st);
	if (ret == 0)
		ret = index_commit(index, NULL);
	else
		index_rollback(index);
	return ret;
}

int index_parse_pending(struct index *index, int64_t mailbox_id, struct index_parse *parse)
{
	struct parsed batch[INDEX_PARSE_BATCH];
	struct index_mbox mbox;
	unsigned max = parse->max != 0 ? parse->max : UINT_MAX;
	int ret = index_mbox_get(index, mailbox_id, &mbox);

	parse->seen = parse->done = 0;
	if (ret <= 0)
		return ret;
	ret = 0;
	while (ret == 0 && parse->seen < max) {
		struct pool *pool = pool_new(INDEX_PARSE_POOL_BLOCK);
		size_t want = max - parse->seen < INDEX_PARSE_BATCH ? max - parse->seen :
								     INDEX_PARSE_BATCH;
		size_t n = pending_read(index, mailbox_id, mbox.dir, parse, want, pool, batch);

		if (n > 0 && pending_store(index, batch, n, parse->newest_first, &parse->done) < 0) {
			log_error("index %s: cannot store parsed messages: %s", index->root,
				  db_errmsg(index->db));
			ret = -1;
		}
		for (size_t i = 0; i < n; i++) {
			free(batch[i].envelope);
			free(batch[i].body);
			free(batch[i].bodystructure);
		}
		pool_free(&pool);
		parse->seen += (unsigned)n;
		if (n == 0 || parse_should_stop(parse))
			break;
	}
	index_mbox_clear(&mbox);
	return ret;
}

int index_parse_backlog(struct index *index, int64_t mailbox_id)
{
	/* the partial index messages_unparsed makes this a lookup */
	return index_mailbox_has(index, "SELECT 1 FROM messages"
				 " WHERE mailbox_id = ?1 AND parsed = 0 LIMIT 1", mailbox_id);
}
