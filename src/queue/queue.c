/* SPDX-License-Identifier: ISC */
/*
 * queue.c - durable enqueue into the outbound queue.
 *
 * Order of the durable steps: the message file is written to
 * queue/msg/<file>.tmp, fsynced, renamed and its directory fsynced; then
 * the rows are inserted in one transaction committed with
 * synchronous=FULL (the daemon's connections otherwise use NORMAL, which
 * WAL keeps safe against a crash of the process but not of the machine).
 * A crash between the two leaves a file without rows, never a row
 * without its file; the sender was not told 250 and sends again.
 */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "core/db.h"
#include "core/journal.h"
#include "dkim/dkim.h"
#include "queue/queue.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define QUEUE_COPY_BUF (64 * 1024)

/* queue_dkim - the DKIM-Signature field for msg, or NULL: no key, or
 * signing failed (logged and journalled; the message goes unsigned
 * rather than being lost or refused). Signed here, once, so that every
 * delivery attempt sends the same bytes. */
static char *queue_dkim(struct db *db, const char *data_dir, const struct queue_msg *msg)
{
	char *field, *error;
	int ret;

	if (!msg->dkim_sign)
		return NULL;
	ret = dkim_sign_spool(db, data_dir, msg->prefix, msg->spool_path, &field, &error);
	if (ret < 0) {
		log_error("queue: dkim signing failed queueid=%s: %s", msg->queueid, error);
		struct journal_entry e = {
			.service = "queue", .decision = "unsigned", .reason = "dkim.sign-failed",
			.account = msg->account, .queueid = msg->queueid, .detail = error,
		};
		(void)journal_add(db, &e);
		free(error);
	}
	return ret > 0 ? field : NULL;
}

/* queue_copy - the DKIM signature (or NULL), prefix and the spool file
 * into fd. */
static int queue_copy(int fd, const struct queue_msg *msg, const char *dkim, uint64_t *size_r)
{
	char *buf;
	ssize_t n;
	int in, ret = 0;

	*size_r = 0;
	if (dkim != NULL) {
		if (write_all(fd, dkim, strlen(dkim)) < 0)
			return -1;
		*size_r += strlen(dkim);
	}
	if (msg->prefix != NULL && msg->prefix[0] != '\0') {
		if (write_all(fd, msg->prefix, strlen(msg->prefix)) < 0)
			return -1;
		*size_r += strlen(msg->prefix);
	}
	if ((in = open(msg->spool_path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	buf = xmalloc(QUEUE_COPY_BUF);
	while ((n = read(in, buf, QUEUE_COPY_BUF)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -1;
			break;
		}
		if (write_all(fd, buf, (size_t)n) < 0) {
			ret = -1;
			break;
		}
		*size_r += (uint64_t)n;
	}
	free(buf);
	close(in);
	return ret;
}

/* queue_write_file - the message file, durably. */
static int queue_write_file(struct db *db, const char *data_dir, const struct queue_msg *msg,
			    uint64_t *size_r, const char **error_r)
{
	char *dkim = queue_dkim(db, data_dir, msg);
	char *dir = xasprintf("%s/%s", data_dir, QUEUE_MSG_DIR);
	char *path = xasprintf("%s/%s", dir, msg->file);
	char *tmp = xasprintf("%s.tmp", path);
	int fd = -1, ret = -1;

	if (mkdir_p(dir, 0700) < 0) {
		*error_r = "cannot create the queue directory";
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		*error_r = "cannot create the queue file";
		goto out;
	}
	if (queue_copy(fd, msg, dkim, size_r) < 0) {
		*error_r = "cannot write the queue file";
		goto out;
	}
	if (fsync_fd(fd) < 0) {
		*error_r = "cannot fsync the queue file";
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		*error_r = "cannot close the queue file";
		goto out;
	}
	fd = -1;
	if (rename_file(tmp, path) < 0) {
		*error_r = "cannot rename the queue file";
		goto out;
	}
	if (fsync_dir(dir) < 0) {
		*error_r = "cannot fsync the queue directory";
		(void)unlink(path);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		(void)unlink(tmp);
	if (ret == 0 && dkim != NULL)
		log_info("queue: dkim signed queueid=%s file=%s", msg->queueid, msg->file);
	free(dkim);
	free(tmp);
	free(path);
	free(dir);
	return ret;
}

static void bind_opt(sqlite3_stmt *st, int idx, const char *value)
{
	if (value != NULL)
		sqlite3_bind_text(st, idx, value, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, idx);
}

/* queue_insert - the rows, in one transaction. */
static int queue_insert(struct db *db, const struct queue_msg *msg, uint64_t size)
{
	int64_t now = time_now();
	int ret;

	/* this commit is what the 250 rests on: make it survive power loss */
	(void)db_exec(db, "PRAGMA synchronous=FULL");
	if (db_begin(db) < 0) {
		(void)db_exec(db, "PRAGMA synchronous=NORMAL");
		return -1;
	}
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		const struct queue_rcpt *r = &msg->rcpts[i];
		sqlite3_stmt *st = db_prepare(
			db, "INSERT INTO queue (queueid, file, sender, recipient, state, origin,"
			    " account, size, dsn_notify, dsn_orcpt, dsn_ret, dsn_envid, last_error,"
			    " created_at, next_attempt_at, domain)"
			    " VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13,"
			    " lower(substr(?4, instr(?4, '@') + 1)))");
		sqlite3_bind_text(st, 1, msg->queueid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, msg->file, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, msg->sender, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, r->address, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 5, r->origin, -1, SQLITE_TRANSIENT);
		bind_opt(st, 6, msg->account);
		sqlite3_bind_int64(st, 7, (int64_t)size);
		sqlite3_bind_int64(st, 8, r->dsn_notify);
		bind_opt(st, 9, r->dsn_orcpt);
		sqlite3_bind_int64(st, 10, msg->dsn_ret);
		bind_opt(st, 11, msg->dsn_envid);
		bind_opt(st, 12, r->last_error);
		sqlite3_bind_int64(st, 13, now);
		int rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			log_error("queue: insert %s: %s", msg->queueid, db_errmsg(db));
			db_rollback(db);
			(void)db_exec(db, "PRAGMA synchronous=NORMAL");
			return -1;
		}
	}
	if ((ret = db_commit(db)) < 0)
		db_rollback(db);
	(void)db_exec(db, "PRAGMA synchronous=NORMAL");
	return ret;
}

int queue_enqueue(struct db *db, const char *data_dir, const struct queue_msg *msg,
		  const char **error_r)
{
	uint64_t size;

	if (msg->rcpt_count == 0)
		return 0;
	if (queue_write_file(db, data_dir, msg, &size, error_r) < 0)
		return -1;
	if (queue_insert(db, msg, size) < 0) {
		char *path = xasprintf("%s/%s/%s", data_dir, QUEUE_MSG_DIR, msg->file);
		(void)unlink(path);
		free(path);
		*error_r = "cannot record the queue entries";
		return -1;
	}
	log_info("queue: queued queueid=%s file=%s from=<%s> nrcpt=%zu size=%" PRIu64, msg->queueid,
		 msg->file, msg->sender, msg->rcpt_count, size);
	return 0;
}

int queue_count(struct db *db, const char *state, int64_t *count_r)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT count(*) FROM queue WHERE state = ?1");
	int rc;

	sqlite3_bind_text(st, 1, state, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	*count_r = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}
