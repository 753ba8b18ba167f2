/* SPDX-License-Identifier: ISC */
/*
 * qmgr-db.c - the queue manager's database side, on worker threads: what
 * is due, what is owed (bounces, delay warnings, expiries), and writing
 * back what the loop's deliveries found.
 *
 * Row life: 'queued' -> 'sending' (picked) -> deleted (delivered),
 * 'queued' again with attempts+1 and a later next_attempt_at (temporary
 * failure), or 'failed' (permanent failure, expiry, `queue bounce`) ->
 * deleted once the bounce is written or suppressed. A message file goes
 * when its last row does.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "core/journal.h"
#include "core/reason.h"
#include "directory/directory.h"
#include "mail/smtp-cmd.h"
#include "queue/dsn.h"
#include "queue/inject.h"
#include "queue/qmgr-private.h"
#include "queue/queue.h"
#include "store/deliver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define QMGR_SCAN_READ 65536

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t != NULL ? xstrdup((const char *)t) : NULL;
}

static const char *col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t != NULL ? (const char *)t : "";
}

static void bind_opt(sqlite3_stmt *st, int i, const char *v)
{
	if (v != NULL)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void qmgr_journal(struct db *db, const char *decision, const char *reason,
			 const char *queueid, const char *account, const char *detail)
{
	struct journal_entry e = {
		.service = "queue", .decision = decision, .reason = reason, .actor = "postino",
		.account = account, .queueid = queueid, .detail = detail,
	};
	(void)journal_add(db, &e);
}

/* file_release - remove the message file once no row refers to it. */
static void file_release(struct db *db, const char *data_dir, const char *file)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT 1 FROM queue WHERE file = ?1 LIMIT 1");
	bool used;

	sqlite3_bind_text(st, 1, file, -1, SQLITE_TRANSIENT);
	used = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!used) {
		char *path = xasprintf("%s/%s/%s", data_dir, QUEUE_MSG_DIR, file);
		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("queue: cannot remove %s: %s", path, strerror(errno));
		free(path);
	}
}

static void row_delete(struct db *db, int64_t id)
{
	sqlite3_stmt *st = db_prepare(db, "DELETE FROM queue WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_error("queue: delete row %" PRId64 ": %s", id, db_errmsg(db));
	sqlite3_finalize(st);
}

void qmgr_db_recover(struct db *db)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE queue SET state = 'queued' WHERE state = 'sending'");
	if (sqlite3_step(st) != SQLITE_DONE)
		log_error("queue: recover: %s", db_errmsg(db));
	else if (sqlite3_changes(db->sql) > 0)
		log_info("queue: %d recipient(s) in flight at the last stop are queued again",
			 sqlite3_changes(db->sql));
	sqlite3_finalize(st);
}

/* ---- admin deletes of rows that were in flight ---- */

static void scan_deleted(struct db *db, const char *data_dir)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT id, file FROM queue WHERE state = 'delete'"
					  " LIMIT 1000");
	int64_t *ids = NULL;
	char **files = NULL;
	size_t n = 0;

	/* collect first: changing rows under a running SELECT is undefined */
	while (sqlite3_step(st) == SQLITE_ROW) {
		ids = xreallocarray(ids, n + 1, sizeof(*ids));
		files = xreallocarray(files, n + 1, sizeof(*files));
		ids[n] = sqlite3_column_int64(st, 0);
		files[n++] = col_dup(st, 1);
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n; i++)
		row_delete(db, ids[i]);
	for (size_t i = 0; i < n; i++) {
		file_release(db, data_dir, files[i]);
		free(files[i]);
	}
	free(files);
	free(ids);
}

/* ---- expiry ---- */

static void scan_expired(struct db *db, int64_t now, int64_t max_lifetime)
{
	sqlite3_stmt *st = db_prepare(
		db, "SELECT id, queueid, recipient, account, last_reply FROM queue"
		    " WHERE state = 'queued' AND created_at <= ?1");
	sqlite3_bind_int64(st, 1, now - max_lifetime);
	/* rows change state below; each is read before it is changed and
	 * no longer matches afterwards, which SQLite allows */
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *last = col_str(st, 4);
		char *reply = xasprintf("message expired after %" PRId64 " days in the queue%s%s",
					max_lifetime / 86400, last[0] != '\0' ? "; last error: " : "",
					last);
		sqlite3_stmt *up = db_prepare(
			db, "UPDATE queue SET state = 'failed', last_status = '4.4.7', last_reply = ?2"
			    " WHERE id = ?1");
		sqlite3_bind_int64(up, 1, id);
		sqlite3_bind_text(up, 2, reply, -1, SQLITE_TRANSIENT);
		(void)sqlite3_step(up);
		sqlite3_finalize(up);
		char *detail = xasprintf("to=<%s> %s", col_str(st, 2), reply);
		qmgr_journal(db, "fail", "queue.expired", col_str(st, 1),
			     sqlite3_column_type(st, 3) == SQLITE_NULL ? NULL : col_str(st, 3), detail);
		free(detail);
		free(reply);
	}
	sqlite3_finalize(st);
}

/* ---- bounces and delay warnings ---- */

/* One message's rows for a report. */
struct report_group {
	char *file, *queueid, *sender, *envid, *account;
	int ret;
	int64_t created_at;
	struct dsn_rcpt *rcpts;
	int64_t *ids;
	bool *wanted;
	size_t count, alloc;
};

static void group_clear(struct report_group *g)
{
	for (size_t i = 0; i < g->count; i++) {
		free((char *)g->rcpts[i].address);
		free((char *)g->rcpts[i].orcpt);
		free((char *)g->rcpts[i].status);
		free((char *)g->rcpts[i].remote_mta);
		free((char *)g->rcpts[i].diagnostic);
	}
	free(g->rcpts);
	free(g->ids);
	free(g->wanted);
	free(g->file);
	free(g->queueid);
	free(g->sender);
	free(g->envid);
	free(g->account);
	memset(g, 0, sizeof(*g));
}

/* The columns every report query selects, in this order. */
#define REPORT_COLUMNS                                                                     \
	"id, file, queueid, sender, dsn_envid, dsn_ret, created_at, recipient, dsn_orcpt, "  \
	"dsn_notify, last_status, last_reply, remote_mta, last_attempt_at, account"

static void group_add(struct report_group *g, sqlite3_stmt *st, unsigned notify_bit)
{
	if (g->count == g->alloc) {
		g->alloc = g->alloc == 0 ? 8 : g->alloc * 2;
		g->rcpts = xreallocarray(g->rcpts, g->alloc, sizeof(*g->rcpts));
		g->ids = xreallocarray(g->ids, g->alloc, sizeof(*g->ids));
		g->wanted = xreallocarray(g->wanted, g->alloc, sizeof(*g->wanted));
	}
	if (g->count == 0) {
		g->file = col_dup(st, 1);
		g->queueid = col_dup(st, 2);
		g->sender = col_dup(st, 3);
		g->envid = col_dup(st, 4);
		g->ret = sqlite3_column_int(st, 5);
		g->created_at = sqlite3_column_int64(st, 6);
		g->account = col_dup(st, 14);
	}
	unsigned notify = (unsigned)sqlite3_column_int(st, 9);
	const char *status = col_str(st, 10);
	struct dsn_rcpt *r = &g->rcpts[g->count];
	memset(r, 0, sizeof(*r));
	r->address = col_dup(st, 7);
	r->orcpt = col_dup(st, 8);
	r->status = xstrdup(status[0] != '\0' ? status : (notify_bit == SMTP_NOTIFY_DELAY ? "4.0.0" : "5.0.0"));
	r->remote_mta = col_dup(st, 12);
	r->diagnostic = col_dup(st, 11);
	r->last_attempt = sqlite3_column_int64(st, 13);
	g->ids[g->count] = sqlite3_column_int64(st, 0);
	/* RFC 3461 4.1: without NOTIFY, failures (and, at our option,
	 * delays) are reported; with it, only what it names */
	g->wanted[g->count] = notify == 0 || (notify & notify_bit) != 0;
	g->count++;
}

/* report_send - build the DSN of kind for g's wanted rows and send it.
 * 1 sent, 0 nothing to send (suppressed), -1 failure. */
static int report_send(struct db *db, const struct qmgr_scan *scan, struct report_group *g,
		       enum dsn_kind kind, int64_t now)
{
	struct dsn_rcpt *list = xcalloc(g->count, sizeof(*list));
	size_t n = 0;
	int ret;

	for (size_t i = 0; i < g->count; i++) {
		if (g->wanted[i]) {
			list[n] = g->rcpts[i];
			if (kind == DSN_DELAY)
				list[n].will_retry_until = g->created_at + scan->max_lifetime;
			n++;
		}
	}
	if (g->sender[0] == '\0' || n == 0) {
		free(list);
		return 0;
	}
	char *path = xasprintf("%s/%s/%s", scan->data_dir, QUEUE_MSG_DIR, g->file);
	struct dsn_report rep = {
		.kind = kind, .hostname = scan->hostname, .sender = g->sender,
		.queueid = g->queueid, .envid = g->envid, .arrival = g->created_at, .ret = g->ret,
		.msg_path = path, .rcpts = list, .rcpt_count = n,
	};
	char *data = NULL;
	size_t len = 0;
	const char *error = NULL;
	ret = dsn_build(&rep, &data, &len, &error);
	if (ret < 0) {
		log_error("queue: cannot build the report for %s: %s", g->queueid, error);
	} else {
		struct inject_msg m = {
			.data_dir = scan->data_dir, .queueid = g->queueid, .sender = "",
			.to = g->sender, .origin = kind == DSN_DELAY ? "delay-warning" : "bounce",
			.data = data, .len = len,
		};
		ret = inject_send(db, &m) == 0 ? 1 : -1;
	}
	(void)now;
	free(data);
	free(path);
	free(list);
	return ret;
}

static void bounce_group(struct db *db, const struct qmgr_scan *scan, struct report_group *g,
			 int64_t now)
{
	int sent = report_send(db, scan, g, DSN_FAILURE, now);

	if (sent < 0)
		return; /* rows stay 'failed': the next scan tries again */
	for (size_t i = 0; i < g->count; i++) {
		char *detail = xasprintf("to=<%s> sender=<%s> status=%s", g->rcpts[i].address,
					 g->sender, g->rcpts[i].status);
		qmgr_journal(db, sent == 1 && g->wanted[i] ? "bounce" : "drop",
			     sent == 1 && g->wanted[i] ? "queue.bounced" : "queue.bounce-suppressed",
			     g->queueid, g->account, detail);
		free(detail);
		row_delete(db, g->ids[i]);
	}
	file_release(db, scan->data_dir, g->file);
}

static void warn_group(struct db *db, const struct qmgr_scan *scan, struct report_group *g,
		       int64_t now)
{
	int sent = report_send(db, scan, g, DSN_DELAY, now);

	if (sent < 0)
		return;
	for (size_t i = 0; i < g->count; i++) {
		sqlite3_stmt *up = db_prepare(db, "UPDATE queue SET warned_at = ?2 WHERE id = ?1");
		sqlite3_bind_int64(up, 1, g->ids[i]);
		sqlite3_bind_int64(up, 2, now);
		(void)sqlite3_step(up);
		sqlite3_finalize(up);
		if (sent == 1 && g->wanted[i]) {
			char *detail = xasprintf("to=<%s> sender=<%s>", g->rcpts[i].address, g->sender);
			qmgr_journal(db, "notify", "queue.delay-warning", g->queueid, g->account, detail);
			free(detail);
		}
	}
}

typedef void group_fn(struct db *db, const struct qmgr_scan *scan, struct report_group *g,
		      int64_t now);

/* for_each_group - run fn over the rows of st (ordered by file), one
 * message at a time. */
static void for_each_group(struct db *db, const struct qmgr_scan *scan, sqlite3_stmt *st,
			   unsigned notify_bit, group_fn *fn, int64_t now)
{
	struct report_group g = { 0 };
	struct report_group *all = NULL;
	size_t n = 0;

	/* collect first: fn writes to the table the statement reads */
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (g.count > 0 && strcmp(g.file, col_str(st, 1)) != 0) {
			all = xreallocarray(all, n + 1, sizeof(*all));
			all[n++] = g;
			memset(&g, 0, sizeof(g));
		}
		group_add(&g, st, notify_bit);
	}
	sqlite3_finalize(st);
	if (g.count > 0) {
		all = xreallocarray(all, n + 1, sizeof(*all));
		all[n++] = g;
	}
	for (size_t i = 0; i < n; i++) {
		fn(db, scan, &all[i], now);
		group_clear(&all[i]);
	}
	free(all);
}

static void scan_bounces(struct db *db, const struct qmgr_scan *scan, int64_t now)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT " REPORT_COLUMNS " FROM queue"
					  " WHERE state = 'failed' ORDER BY file, id LIMIT 1000");
	for_each_group(db, scan, st, SMTP_NOTIFY_FAILURE, bounce_group, now);
}

static void scan_delays(struct db *db, const struct qmgr_scan *scan, int64_t now)
{
	if (scan->delay_warning <= 0)
		return;
	sqlite3_stmt *st = db_prepare(
		db, "SELECT " REPORT_COLUMNS " FROM queue WHERE state IN ('queued', 'sending')"
		    " AND warned_at IS NULL AND created_at <= ?1 ORDER BY file, id LIMIT 1000");
	sqlite3_bind_int64(st, 1, now - scan->delay_warning);
	for_each_group(db, scan, st, SMTP_NOTIFY_DELAY, warn_group, now);
}

/* ---- due recipients ---- */

/* The columns pick_due() and local_retry() read, in this order. */
#define PICK_COLUMNS                                                                       \
	"id, queueid, file, sender, recipient, domain, account, size, dsn_notify, dsn_orcpt, " \
	"dsn_ret, dsn_envid, attempts, created_at"

/* local_retry - a due recipient in one of our domains (a local delivery
 * that failed temporarily, or a notice): store it here. */
static void local_retry(struct db *db, const struct qmgr_scan *scan, sqlite3_stmt *st,
			int64_t now)
{
	int64_t id = sqlite3_column_int64(st, 0);
	const char *queueid = col_str(st, 1), *file = col_str(st, 2), *sender = col_str(st, 3);
	const char *rcpt_addr = col_str(st, 4);
	const char *account = sqlite3_column_type(st, 6) == SQLITE_NULL ? NULL : col_str(st, 6);
	int64_t attempts = sqlite3_column_int64(st, 12);
	char *path = xasprintf("%s/%s/%s", scan->data_dir, QUEUE_MSG_DIR, file);
	struct account a;
	const char *reason, *status, *local_reason = NULL;
	char *detail;
	int got = account_get(db, rcpt_addr, &a);

	if (got < 0) {
		free(path);
		return; /* database trouble: the row waits for the next scan */
	}
	if (got == 0) {
		reason = "queue.failed";
		status = "5.1.1";
		detail = xasprintf("to=<%s> no such mailbox here any more", rcpt_addr);
	} else {
		struct domain d = { 0 };
		struct deliver_rcpt r = { .account = &a };
		if (domain_get(db, a.domain, &d) == 1)
			r.domain_quota_bytes = d.quota_bytes;
		domain_clear(&d);
		struct deliver_job job = {
			.data_dir = scan->data_dir, .return_path = sender, .spool_path = path,
			.msgid = NULL, .sid = NULL, .rcpts = &r, .rcpt_count = 1,
		};
		(void)deliver_run(&job);
		(void)deliver_journal(db, &job);
		if (r.action != DELIVER_REFUSED) {
			reason = "queue.delivered-local";
			status = "2.0.0";
		} else {
			const struct reason *rs = reason_lookup(r.reason);
			bool temp = rs != NULL && rs->smtp != NULL && rs->smtp[0] == '4';
			reason = temp ? "queue.deferred" : "queue.failed";
			status = temp ? "4.2.0" : "5.2.0";
		}
		detail = xasprintf("to=<%s> local delivery: %s", rcpt_addr,
				   r.reason != NULL ? r.reason : "stored");
		local_reason = r.reason; /* a static reason code */
		account_clear(&a);
	}
	if (strcmp(reason, "queue.delivered-local") == 0) {
		row_delete(db, id);
		file_release(db, scan->data_dir, file);
		qmgr_journal(db, "deliver", reason, queueid, account, detail);
	} else {
		int64_t waits[1] = { 300 };
		sqlite3_stmt *up = db_prepare(
			db, "UPDATE queue SET state = ?2, attempts = attempts + 1, last_attempt_at = ?3,"
			    " next_attempt_at = ?4, last_status = ?5, last_reply = ?6,"
			    " last_error = coalesce(?7, last_error) WHERE id = ?1");
		sqlite3_bind_int64(up, 1, id);
		sqlite3_bind_text(up, 2, reason[6] == 'd' ? "queued" : "failed", -1, SQLITE_STATIC);
		sqlite3_bind_int64(up, 3, now);
		sqlite3_bind_int64(up, 4, qmgr_schedule_next(waits, 1, attempts + 1, now, 0));
		sqlite3_bind_text(up, 5, status, -1, SQLITE_STATIC);
		sqlite3_bind_text(up, 6, detail, -1, SQLITE_TRANSIENT);
		bind_opt(up, 7, local_reason);
		(void)sqlite3_step(up);
		sqlite3_finalize(up);
		qmgr_journal(db, reason[6] == 'd' ? "defer" : "fail", reason, queueid, account, detail);
	}
	free(detail);
	free(path);
}

static bool is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* file_facts - size and whether any byte is 8-bit (BODY=8BITMIME). */
static int file_facts(const char *path, uint64_t *size_r, bool *eight_bit_r)
{
	unsigned char *buf;
	ssize_t n;
	struct stat stt;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*eight_bit_r = false;
	if (fd < 0)
		return -1;
	if (fstat(fd, &stt) < 0) {
		close(fd);
		return -1;
	}
	*size_r = (uint64_t)stt.st_size;
	buf = xmalloc(QMGR_SCAN_READ);
	while (!*eight_bit_r && (n = read(fd, buf, QMGR_SCAN_READ)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] >= 0x80) {
				*eight_bit_r = true;
				break;
			}
		}
	}
	free(buf);
	close(fd);
	return 0;
}

static struct qmgr_delivery *delivery_find(struct qmgr_scan *scan, const char *file,
					   const char *domain)
{
	struct qmgr_delivery *d;

	TAILQ_FOREACH(d, &scan->picked, entry) {
		if (strcmp(d->file, file) == 0 && strcmp(d->domain, domain) == 0)
			return d;
	}
	return NULL;
}

static struct qmgr_delivery *delivery_new(struct qmgr_scan *scan, sqlite3_stmt *st)
{
	struct qmgr_delivery *d = xcalloc(1, sizeof(*d));

	d->queueid = col_dup(st, 1);
	d->file = col_dup(st, 2);
	d->path = xasprintf("%s/%s/%s", scan->data_dir, QUEUE_MSG_DIR, d->file);
	d->sender = col_dup(st, 3);
	d->domain = col_dup(st, 5);
	d->account = col_dup(st, 6);
	d->dsn_ret = sqlite3_column_int(st, 10);
	d->dsn_envid = col_dup(st, 11);
	d->created_at = sqlite3_column_int64(st, 13);
	d->smtputf8 = !is_ascii(d->sender);
	if (file_facts(d->path, &d->size, &d->eight_bit) < 0)
		log_warn("queue: %s: cannot read %s: %s", d->queueid, d->path, strerror(errno));
	TAILQ_INSERT_TAIL(&scan->picked, d, entry);
	scan->picked_count++;
	return d;
}

static void pick_due(struct db *db, struct qmgr_scan *scan, int64_t now)
{
	sqlite3_stmt *st = db_prepare(
		db, "SELECT " PICK_COLUMNS " FROM queue"
		    " WHERE state = 'queued' AND next_attempt_at <= ?1"
		    " ORDER BY next_attempt_at, file LIMIT ?2");
	unsigned rows = 0;
	int64_t *local_ids = NULL;
	size_t nlocal = 0;

	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, (int64_t)scan->pick_max + 1);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *domain = col_str(st, 5);
		struct domain dom = { 0 };

		if (++rows > scan->pick_max) {
			scan->more = true;
			break;
		}
		if (domain_get(db, domain, &dom) == 1) {
			domain_clear(&dom);
			local_ids = xreallocarray(local_ids, nlocal + 1, sizeof(*local_ids));
			local_ids[nlocal++] = sqlite3_column_int64(st, 0);
			continue;
		}
		struct qmgr_delivery *d = delivery_find(scan, col_str(st, 2), domain);
		if (d == NULL)
			d = delivery_new(scan, st);
		d->rcpts = xreallocarray(d->rcpts, d->rcpt_count + 1, sizeof(*d->rcpts));
		struct qmgr_rcpt *r = &d->rcpts[d->rcpt_count++];
		memset(r, 0, sizeof(*r));
		r->row_id = sqlite3_column_int64(st, 0);
		r->address = col_dup(st, 4);
		r->dsn_notify = (unsigned)sqlite3_column_int(st, 8);
		r->dsn_orcpt = col_dup(st, 9);
		r->attempts = sqlite3_column_int64(st, 12);
		if (!is_ascii(r->address))
			d->smtputf8 = true;
	}
	sqlite3_finalize(st);

	for (size_t i = 0; i < nlocal; i++) {
		st = db_prepare(db, "SELECT " PICK_COLUMNS " FROM queue WHERE id = ?1");
		sqlite3_bind_int64(st, 1, local_ids[i]);
		if (sqlite3_step(st) == SQLITE_ROW)
			local_retry(db, scan, st, now);
		sqlite3_finalize(st);
	}
	free(local_ids);

	/* claim them: from now on only the loop's delivery touches these rows */
	struct qmgr_delivery *d;
	TAILQ_FOREACH(d, &scan->picked, entry) {
		for (size_t i = 0; i < d->rcpt_count; i++) {
			sqlite3_stmt *up = db_prepare(
				db, "UPDATE queue SET state = 'sending' WHERE id = ?1 AND state = 'queued'");
			sqlite3_bind_int64(up, 1, d->rcpts[i].row_id);
			(void)sqlite3_step(up);
			sqlite3_finalize(up);
		}
	}
}

void qmgr_db_scan(struct db *db, struct qmgr_scan *scan)
{
	int64_t now = time_now();

	TAILQ_INIT(&scan->picked);
	scan->picked_count = 0;
	scan->more = false;
	scan_deleted(db, scan->data_dir);
	scan_expired(db, now, scan->max_lifetime);
	scan_bounces(db, scan, now);
	scan_delays(db, scan, now);
	if (db_begin(db) < 0)
		return;
	pick_due(db, scan, now);
	if (db_commit(db) < 0) {
		db_rollback(db);
		/* nothing was claimed: hand nothing to the loop */
		struct qmgr_delivery *d;
		while ((d = TAILQ_FIRST(&scan->picked)) != NULL) {
			TAILQ_REMOVE(&scan->picked, d, entry);
			qmgr_delivery_free(d);
		}
		scan->picked_count = 0;
	}
}

/* ---- results ---- */

static const char *row_state(struct db *db, int64_t id)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT state FROM queue WHERE id = ?1");
	static __thread char state[16];

	sqlite3_bind_int64(st, 1, id);
	state[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW)
		if (str_copy(state, col_str(st, 0), sizeof(state)) < 0)
			state[0] = '?';
	sqlite3_finalize(st);
	return state;
}

static void result_rcpt(struct db *db, const struct qmgr_results *res,
			const struct qmgr_delivery *d, const struct qmgr_rcpt *r, int64_t now)
{
	const char *state = row_state(db, r->row_id);
	char *detail = xasprintf("to=<%s> relay=%s tls=%s status=%s reply=%s", r->address,
				 d->peer != NULL ? d->peer : "none", d->tls ? "yes" : "no",
				 r->status, r->reply != NULL ? r->reply : "");

	if (state[0] == '\0') {
		/* deleted meanwhile (queue delete): nothing to record on the row */
	} else if (strcmp(state, "delete") == 0) {
		row_delete(db, r->row_id);
		qmgr_journal(db, "drop", "queue.dropped", d->queueid, d->account, detail);
	} else if (r->outcome == QMGR_DELIVERED) {
		row_delete(db, r->row_id);
		qmgr_journal(db, "deliver", "queue.delivered", d->queueid, d->account, detail);
		log_info("queue: %s to=<%s> relay=%s tls=%s delivered (%s)", d->queueid, r->address,
			 d->peer != NULL ? d->peer : "none", d->tls ? "yes" : "no",
			 r->reply != NULL ? r->reply : "");
	} else {
		bool failed = r->outcome == QMGR_FAILED;
		int64_t next = qmgr_schedule_next(res->schedule, res->schedule_count,
						  r->attempts + 1, now, (uint32_t)random());
		sqlite3_stmt *up = db_prepare(
			db, "UPDATE queue SET state = ?2, attempts = attempts + 1, last_attempt_at = ?3,"
			    " next_attempt_at = ?4, last_status = ?5, last_reply = ?6, remote_mta = ?7"
			    " WHERE id = ?1");
		sqlite3_bind_int64(up, 1, r->row_id);
		sqlite3_bind_text(up, 2, failed ? "failed" : "queued", -1, SQLITE_STATIC);
		sqlite3_bind_int64(up, 3, now);
		sqlite3_bind_int64(up, 4, next);
		sqlite3_bind_text(up, 5, r->status, -1, SQLITE_TRANSIENT);
		bind_opt(up, 6, r->reply);
		bind_opt(up, 7, r->remote_mta);
		if (sqlite3_step(up) != SQLITE_DONE)
			log_error("queue: update row %" PRId64 ": %s", r->row_id, db_errmsg(db));
		sqlite3_finalize(up);
		qmgr_journal(db, failed ? "fail" : "defer", r->reason != NULL ? r->reason
						: (failed ? "queue.failed" : "queue.deferred"),
			     d->queueid, d->account, detail);
		log_info("queue: %s to=<%s> relay=%s %s: %s", d->queueid, r->address,
			 d->peer != NULL ? d->peer : "none", failed ? "failed" : "deferred",
			 r->reply != NULL ? r->reply : "");
	}
	free(detail);
}

/* relayed_report - RFC 3461 6.2.1: a recipient with NOTIFY=SUCCESS handed
 * to a peer that does not speak DSN gets a "relayed" report from us, as
 * the peer will send none. */
static void relayed_report(struct db *db, const struct qmgr_results *res,
			   const struct qmgr_delivery *d)
{
	struct dsn_rcpt *list = xcalloc(d->rcpt_count, sizeof(*list));
	size_t n = 0;

	for (size_t i = 0; i < d->rcpt_count; i++) {
		const struct qmgr_rcpt *r = &d->rcpts[i];
		if (r->outcome != QMGR_DELIVERED || (r->dsn_notify & SMTP_NOTIFY_SUCCESS) == 0)
			continue;
		list[n++] = (struct dsn_rcpt){
			.address = r->address, .orcpt = r->dsn_orcpt, .status = "2.0.0",
			.remote_mta = r->remote_mta, .diagnostic = r->reply,
			.last_attempt = time_now(),
		};
	}
	if (n > 0 && d->sender[0] != '\0' && !d->peer_dsn) {
		struct dsn_report rep = {
			.kind = DSN_SUCCESS, .hostname = res->hostname, .sender = d->sender,
			.queueid = d->queueid, .envid = d->dsn_envid, .arrival = d->created_at,
			.ret = d->dsn_ret, .msg_path = d->path, .rcpts = list, .rcpt_count = n,
		};
		char *data = NULL;
		size_t len = 0;
		const char *error = NULL;
		if (dsn_build(&rep, &data, &len, &error) < 0) {
			log_error("queue: cannot build the relay report for %s: %s", d->queueid, error);
		} else {
			struct inject_msg m = {
				.data_dir = res->data_dir, .queueid = d->queueid, .sender = "",
				.to = d->sender, .origin = "relay-report", .data = data, .len = len,
			};
			if (inject_send(db, &m) == 0)
				qmgr_journal(db, "notify", "queue.relay-report", d->queueid, d->account,
					     d->sender);
		}
		free(data);
	}
	free(list);
}

void qmgr_db_results(struct db *db, struct qmgr_results *res)
{
	int64_t now = time_now();
	struct qmgr_delivery *d;
	bool in_tx = db_begin(db) == 0;

	TAILQ_FOREACH(d, &res->done, entry) {
		for (size_t i = 0; i < d->rcpt_count; i++)
			result_rcpt(db, res, d, &d->rcpts[i], now);
	}
	if (in_tx && db_commit(db) < 0)
		db_rollback(db);
	/* before the files go: a report may quote the message */
	TAILQ_FOREACH(d, &res->done, entry)
		relayed_report(db, res, d);
	TAILQ_FOREACH(d, &res->done, entry)
		file_release(db, res->data_dir, d->file);
}

void qmgr_delivery_free(struct qmgr_delivery *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->rcpt_count; i++) {
		free(d->rcpts[i].address);
		free(d->rcpts[i].dsn_orcpt);
		free(d->rcpts[i].reply);
		free(d->rcpts[i].remote_mta);
	}
	free(d->rcpts);
	free(d->queueid);
	free(d->file);
	free(d->path);
	free(d->sender);
	free(d->account);
	free(d->dsn_envid);
	free(d->domain);
	free(d->peer);
	free(d);
}
