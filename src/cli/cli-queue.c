/* SPDX-License-Identifier: ISC */
/*
 * cli-queue.c - `postino queue list|show|retry|delete|bounce|hold|release`:
 * the outbound queue as the admin sees it, and the admin's levers on it.
 *
 * A message is its queue id (the `queueid` column, shared by one row per
 * recipient); every command takes the id or any unique prefix of it.
 * The CLI only changes rows in postino.db; the queue manager of the
 * running daemon acts on them at its next look at the table:
 *
 *   retry    rows 'queued' or 'hold' -> 'queued', next_attempt_at = now
 *   hold     rows 'queued' -> 'hold' (not sent until released)
 *   release  rows 'hold' -> 'queued', next_attempt_at = now
 *   bounce   rows 'queued' or 'hold' -> 'failed', last_status 5.0.0,
 *            last_reply "bounced by the administrator", remote_mta NULL:
 *            the queue manager writes the bounce (queue/dsn.c) and
 *            deletes the rows, like any permanent failure
 *   delete   rows gone, and the message file once no row names it.
 *            A row in 'sending' is in the hands of an SMTP client right
 *            now: it becomes 'delete' instead, and the queue manager
 *            drops it (journalling queue.dropped) when the attempt ends,
 *            whatever its outcome, and removes the file if it was the
 *            last row. Rows in 'sending' are never touched otherwise.
 *
 * Rows in 'failed' (a bounce is owed) are left alone except by delete.
 * Each change is journalled per message (admin.queue-*, with the queue
 * id and the recipients changed).
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "lib/utf8.h"
#include "mail/smtp-cmd.h"
#include "queue/queue.h"
#include "cli/cli.h"
#include "cli/commands.h"

#include <fcntl.h>
#include <unistd.h>

#define TIME_TEXT_MAX 32
#define SIZE_TEXT_MAX 32
/* `queue show` prints the message header up to this many octets. */
#define QUEUE_SHOW_HEADER_MAX (64 * 1024)
/* A queue id argument longer than this cannot match anything. */
#define QUEUE_ID_ARG_MAX 128
/* Ambiguous prefixes list this many candidates. */
#define QUEUE_ID_CANDIDATES 3
#define QUEUE_BOUNCE_STATUS "5.0.0"
#define QUEUE_BOUNCE_REPLY "bounced by the administrator"

/* One recipient row, as stored (strings from the listing's pool). */
struct qrow {
	const char *queueid, *file, *sender, *recipient, *state, *origin, *account;
	const char *dsn_orcpt, *dsn_envid, *last_error, *last_status, *last_reply, *remote_mta;
	int64_t size, dsn_notify, dsn_ret, attempts, next_attempt_at, created_at,
		last_attempt_at, warned_at;
};

struct qlist {
	struct pool *pool;
	struct qrow *rows;
	size_t count;
};

/* A state change: which rows qualify, what they become, and its words. */
struct queue_action {
	const char *name;    /* the command word */
	const char *reason;  /* journal reason code */
	const char *set;     /* SET clause; ?2 is now */
	const char *where;   /* the rows it applies to */
	const char *done;    /* "held": printed after the count */
	const char *which;   /* the rows it applies to, for a refusal */
	bool all_allowed;    /* --all accepted */
};

static const struct queue_action act_retry = {
	.name = "retry", .reason = "admin.queue-retry",
	.set = "state = 'queued', next_attempt_at = ?2",
	.where = "state IN ('queued', 'hold')",
	.done = "scheduled for delivery now", .which = "waiting (queued or on hold)",
	.all_allowed = true,
};
static const struct queue_action act_hold = {
	.name = "hold", .reason = "admin.queue-hold",
	.set = "state = 'hold'",
	.where = "state = 'queued'",
	.done = "put on hold", .which = "queued",
	.all_allowed = true,
};
static const struct queue_action act_release = {
	.name = "release", .reason = "admin.queue-release",
	.set = "state = 'queued', next_attempt_at = ?2",
	.where = "state = 'hold'",
	.done = "released", .which = "on hold",
	.all_allowed = true,
};
static const struct queue_action act_bounce = {
	.name = "bounce", .reason = "admin.queue-bounce",
	.set = "state = 'failed', last_status = '" QUEUE_BOUNCE_STATUS "',"
	       " last_reply = '" QUEUE_BOUNCE_REPLY "', remote_mta = NULL",
	.where = "state IN ('queued', 'hold')",
	.done = "bounced (the sender gets a failure report)", .which = "waiting (queued or on hold)",
	.all_allowed = false,
};

#define ROW_COLUMNS                                                                          \
	"queueid, file, sender, recipient, state, origin, account, dsn_orcpt, dsn_envid,"     \
	" last_error, last_status, last_reply, remote_mta, size, dsn_notify, dsn_ret,"        \
	" attempts, next_attempt_at, created_at, last_attempt_at, warned_at"

/* ---- reading ---- */

static const char *col_str(struct pool *pool, sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s != NULL ? p_strdup(pool, (const char *)s) : NULL;
}

/* qlist_load - every row (queueid NULL) or one message's, oldest first. */
static int qlist_load(struct db *db, const char *queueid, struct qlist *list)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT " ROW_COLUMNS " FROM queue"
					  " WHERE ?1 IS NULL OR queueid = ?1"
					  " ORDER BY created_at, queueid, id");
	size_t cap = 0;
	int rc;

	list->pool = pool_new(0);
	list->rows = NULL;
	list->count = 0;
	if (queueid != NULL)
		sqlite3_bind_text(st, 1, queueid, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (list->count == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			list->rows = xrealloc(list->rows, cap * sizeof(*list->rows));
		}
		struct qrow *r = &list->rows[list->count++];
		struct pool *p = list->pool;
		*r = (struct qrow){
			.queueid = col_str(p, st, 0), .file = col_str(p, st, 1),
			.sender = col_str(p, st, 2), .recipient = col_str(p, st, 3),
			.state = col_str(p, st, 4), .origin = col_str(p, st, 5),
			.account = col_str(p, st, 6), .dsn_orcpt = col_str(p, st, 7),
			.dsn_envid = col_str(p, st, 8), .last_error = col_str(p, st, 9),
			.last_status = col_str(p, st, 10), .last_reply = col_str(p, st, 11),
			.remote_mta = col_str(p, st, 12),
			.size = sqlite3_column_int64(st, 13),
			.dsn_notify = sqlite3_column_int64(st, 14),
			.dsn_ret = sqlite3_column_int64(st, 15),
			.attempts = sqlite3_column_int64(st, 16),
			.next_attempt_at = sqlite3_column_int64(st, 17),
			.created_at = sqlite3_column_int64(st, 18),
			.last_attempt_at = sqlite3_column_int64(st, 19),
			.warned_at = sqlite3_column_int64(st, 20),
		};
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void qlist_free(struct qlist *list)
{
	free(list->rows);
	list->rows = NULL;
	pool_free(&list->pool);
}

/* message_end - the index after the rows of the message starting at i. */
static size_t message_end(const struct qlist *list, size_t i)
{
	size_t j = i + 1;

	while (j < list->count && strcmp(list->rows[j].queueid, list->rows[i].queueid) == 0)
		j++;
	return j;
}

/* resolve_id - the queue id arg names: itself, or the one id it is a
 * prefix of. CLI_OK or the refusal's exit code. */
static int resolve_id(struct cli *cli, struct db *db, const char *arg, char **queueid_r)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT DISTINCT queueid FROM queue"
					  " WHERE substr(queueid, 1, length(?1)) = ?1"
					  " ORDER BY queueid = ?1 DESC, queueid LIMIT ?2");
	char *found[QUEUE_ID_CANDIDATES] = { NULL };
	size_t n = 0;
	int rc, ret;

	sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, QUEUE_ID_CANDIDATES);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < QUEUE_ID_CANDIDATES)
		found[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = cli_refuse(cli, "cannot read the queue: %s", db_errmsg(db));
	else if (n == 0)
		ret = cli_refuse(cli, "no message %s in the queue", arg);
	else if (n > 1 && strcmp(found[0], arg) != 0)
		ret = cli_refuse(cli, "%s is ambiguous: %s, %s%s", arg, found[0], found[1],
				 n > 2 ? ", ..." : "");
	else {
		*queueid_r = found[0];
		found[0] = NULL;
		ret = CLI_OK;
	}
	for (size_t i = 0; i < n; i++)
		free(found[i]);
	return ret;
}

/* read_header - the message file's header (up to the empty line), at
 * most QUEUE_SHOW_HEADER_MAX octets; NULL when the file cannot be read. */
static char *read_header(const char *data_dir, const char *file, bool *cut_r)
{
	char *path = xasprintf("%s/%s/%s", data_dir, QUEUE_MSG_DIR, file);
	char *data = xmalloc(QUEUE_SHOW_HEADER_MAX + 1);
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	free(path);
	if (fd < 0) {
		free(data);
		return NULL;
	}
	while (len < QUEUE_SHOW_HEADER_MAX) {
		ssize_t n = read(fd, data + len, QUEUE_SHOW_HEADER_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	data[len] = '\0';
	*cut_r = true;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && (data[i + 1] == '\n' ||
					(data[i + 1] == '\r' && data[i + 2] == '\n'))) {
			data[i + 1] = '\0';
			*cut_r = false;
			break;
		}
	}
	if (*cut_r && len < QUEUE_SHOW_HEADER_MAX)
		*cut_r = false; /* a message without a body: all of it is header */
	return data;
}

/* ---- output ---- */

static json_t *json_time(int64_t t)
{
	char text[TIME_TEXT_MAX];

	if (t <= 0)
		return json_null();
	time_format_iso(t, text, sizeof(text));
	return json_string(text);
}

/* json_text - s as a JSON string; octets that are not UTF-8 become '?'
 * (peer replies and 8-bit headers are not ours to vouch for). */
static json_t *json_text(const char *s)
{
	if (s == NULL)
		return json_null();
	if (utf8_valid(s, strlen(s)))
		return json_string(s);
	char *copy = xstrdup(s);
	for (char *p = copy; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	}
	json_t *j = json_string(copy);
	free(copy);
	return j;
}

static json_t *notify_json(int64_t bits)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ SMTP_NOTIFY_NEVER, "never" }, { SMTP_NOTIFY_SUCCESS, "success" },
		{ SMTP_NOTIFY_FAILURE, "failure" }, { SMTP_NOTIFY_DELAY, "delay" },
	};
	json_t *arr = json_array();

	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if ((bits & names[i].bit) != 0)
			json_array_append_new(arr, json_string(names[i].name));
	}
	return arr;
}

static const char *ret_name(int64_t ret)
{
	return ret == SMTP_RET_FULL ? "full" : ret == SMTP_RET_HDRS ? "hdrs" : NULL;
}

static json_t *rcpt_json(const struct qrow *r, bool full)
{
	json_t *o = json_object();

	json_object_set_new(o, "recipient", json_text(r->recipient));
	json_object_set_new(o, "state", json_string(r->state));
	json_object_set_new(o, "origin", json_string(r->origin));
	json_object_set_new(o, "attempts", json_integer(r->attempts));
	json_object_set_new(o, "next_attempt", json_time(r->next_attempt_at));
	json_object_set_new(o, "last_attempt", json_time(r->last_attempt_at));
	json_object_set_new(o, "last_status", json_text(r->last_status));
	json_object_set_new(o, "last_reply", json_text(r->last_reply));
	json_object_set_new(o, "remote_mta", json_text(r->remote_mta));
	json_object_set_new(o, "last_error", json_text(r->last_error));
	if (full) {
		json_object_set_new(o, "dsn_notify", notify_json(r->dsn_notify));
		json_object_set_new(o, "dsn_orcpt", json_text(r->dsn_orcpt));
		json_object_set_new(o, "warned_at", json_time(r->warned_at));
	}
	return o;
}

/* message_json - the message of rows [i, end). */
static json_t *message_json(const struct qlist *list, size_t i, size_t end, bool full)
{
	const struct qrow *m = &list->rows[i];
	json_t *o = json_object(), *rcpts = json_array();

	json_object_set_new(o, "queueid", json_string(m->queueid));
	json_object_set_new(o, "arrival", json_time(m->created_at));
	json_object_set_new(o, "size", json_integer(m->size));
	json_object_set_new(o, "sender", json_text(m->sender));
	json_object_set_new(o, "account", json_text(m->account));
	json_object_set_new(o, "file", json_string(m->file));
	if (full) {
		const char *ret = ret_name(m->dsn_ret);
		json_object_set_new(o, "dsn_ret", ret != NULL ? json_string(ret) : json_null());
		json_object_set_new(o, "dsn_envid", json_text(m->dsn_envid));
	}
	for (size_t j = i; j < end; j++)
		json_array_append_new(rcpts, rcpt_json(&list->rows[j], full));
	json_object_set_new(o, "recipients", rcpts);
	return o;
}

static const char *or_dash(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "-";
}

static void print_time(const char *label, int64_t t)
{
	char text[TIME_TEXT_MAX];

	if (t <= 0)
		return;
	time_format_iso(t, text, sizeof(text));
	printf("%s%s\n", label, text);
}

/* print_rcpt_line - one recipient in the listing: state, address,
 * attempts and when next, then the last reply indented under it. */
static void print_rcpt_line(const struct qrow *r)
{
	char next[TIME_TEXT_MAX] = "", last[TIME_TEXT_MAX] = "";

	if (r->next_attempt_at > 0 && strcmp(r->state, "queued") == 0)
		time_format_iso(r->next_attempt_at, next, sizeof(next));
	printf("    %-8s %s  attempts %" PRId64 "%s%s\n", r->state, r->recipient, r->attempts,
	       next[0] != '\0' ? ", next " : "", next);
	if (r->last_reply != NULL || r->last_status != NULL) {
		if (r->last_attempt_at > 0)
			time_format_iso(r->last_attempt_at, last, sizeof(last));
		printf("             last: %s%s%s%s%s%s\n",
		       r->last_reply != NULL ? r->last_reply : or_dash(r->last_status),
		       r->remote_mta != NULL ? " (from " : "", r->remote_mta != NULL ? r->remote_mta : "",
		       r->remote_mta != NULL ? ")" : "", last[0] != '\0' ? " at " : "", last);
	}
}

/* ---- list and show ---- */

static int cmd_queue_list(struct cli *cli, int argc, char **argv)
{
	struct qlist list;
	size_t messages = 0;
	struct db *db;

	if (argc > 0)
		return cli_usage(cli, "unexpected argument '%s'", argv[0]);
	if ((db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	if (qlist_load(db, NULL, &list) < 0) {
		qlist_free(&list);
		return cli_refuse(cli, "cannot read the queue: %s", db_errmsg(db));
	}
	json_t *arr = cli->json ? json_array() : NULL;
	for (size_t i = 0; i < list.count; i = message_end(&list, i), messages++) {
		size_t end = message_end(&list, i);
		const struct qrow *m = &list.rows[i];
		char arrival[TIME_TEXT_MAX], size[SIZE_TEXT_MAX];
		if (arr != NULL) {
			json_array_append_new(arr, message_json(&list, i, end, false));
			continue;
		}
		time_format_iso(m->created_at, arrival, sizeof(arrival));
		size_format((uint64_t)m->size, size, sizeof(size));
		printf("%s  %s  %6s  from <%s>%s%s\n", m->queueid, arrival, size, m->sender,
		       m->account != NULL ? " by " : "", m->account != NULL ? m->account : "");
		for (size_t j = i; j < end; j++)
			print_rcpt_line(&list.rows[j]);
	}
	if (arr != NULL)
		cli_print_json(arr);
	else if (list.count == 0)
		printf("the queue is empty\n");
	else
		printf("%zu message%s, %zu recipient%s\n", messages, messages == 1 ? "" : "s",
		       list.count, list.count == 1 ? "" : "s");
	qlist_free(&list);
	return CLI_OK;
}

static void print_show(const struct qlist *list, const char *header, bool cut)
{
	const struct qrow *m = &list->rows[0];
	char size[SIZE_TEXT_MAX];

	size_format((uint64_t)m->size, size, sizeof(size));
	printf("queue id:      %s\n", m->queueid);
	printf("file:          %s/%s\n", QUEUE_MSG_DIR, m->file);
	print_time("arrival:       ", m->created_at);
	printf("size:          %s (%" PRId64 " bytes)\n", size, m->size);
	printf("sender:        <%s>\n", m->sender);
	printf("account:       %s\n", or_dash(m->account));
	printf("dsn ret:       %s\n", or_dash(ret_name(m->dsn_ret)));
	printf("dsn envid:     %s\n", or_dash(m->dsn_envid));
	printf("recipients:\n");
	for (size_t i = 0; i < list->count; i++) {
		const struct qrow *r = &list->rows[i];
		printf("  %s\n", r->recipient);
		printf("    state:         %s\n", r->state);
		printf("    origin:        %s\n", r->origin);
		printf("    attempts:      %" PRId64 "\n", r->attempts);
		print_time("    next attempt:  ", r->next_attempt_at);
		print_time("    last attempt:  ", r->last_attempt_at);
		printf("    last status:   %s\n", or_dash(r->last_status));
		printf("    last reply:    %s\n", or_dash(r->last_reply));
		printf("    remote mta:    %s\n", or_dash(r->remote_mta));
		if (r->last_error != NULL)
			printf("    last error:    %s\n", r->last_error);
		if (r->dsn_orcpt != NULL)
			printf("    dsn orcpt:     %s\n", r->dsn_orcpt);
		print_time("    delay warned:  ", r->warned_at);
	}
	if (header == NULL) {
		printf("header: (the message file cannot be read)\n");
		return;
	}
	printf("header:\n");
	for (const char *p = header; *p != '\0';) {
		size_t n = strcspn(p, "\r\n");
		printf("  %.*s\n", (int)n, p);
		p += n;
		p += *p == '\r' ? 1 : 0;
		p += *p == '\n' ? 1 : 0;
	}
	if (cut)
		printf("  (cut at %d bytes)\n", QUEUE_SHOW_HEADER_MAX);
}

static int cmd_queue_show(struct cli *cli, int argc, char **argv)
{
	struct qlist list;
	char *queueid, *header;
	struct db *db;
	bool cut = false;
	int ret;

	if (argc != 1 || argv[0][0] == '-' || strlen(argv[0]) > QUEUE_ID_ARG_MAX)
		return cli_usage(cli, argc == 0 ? "which message?" : "unexpected argument '%s'",
				 argv[argc - 1]);
	if ((db = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	if ((ret = resolve_id(cli, db, argv[0], &queueid)) != CLI_OK)
		return ret;
	if (qlist_load(db, queueid, &list) < 0 || list.count == 0) {
		qlist_free(&list);
		free(queueid);
		return cli_refuse(cli, "cannot read the queue: %s", db_errmsg(db));
	}
	header = read_header(cli->data_dir, list.rows[0].file, &cut);
	if (cli->json) {
		json_t *o = message_json(&list, 0, list.count, true);
		json_object_set_new(o, "header", json_text(header));
		json_object_set_new(o, "header_cut", json_boolean(cut));
		cli_print_json(o);
	} else
		print_show(&list, header, cut);
	free(header);
	qlist_free(&list);
	free(queueid);
	return CLI_OK;
}

/* ---- changes ---- */

/* parse_target - "ID" or (when allowed) "--all": the queue id in
 * *queueid_r, NULL for all. CLI_OK or the exit code. */
static int parse_target(struct cli *cli, int argc, char **argv, bool all_allowed,
			struct db **db_r, char **queueid_r)
{
	*queueid_r = NULL;
	if (argc != 1)
		return cli_usage(cli, argc == 0 ? "which message?" : "unexpected argument '%s'",
				 argv[argc - 1]);
	if (strcmp(argv[0], "--all") == 0 && !all_allowed)
		return cli_usage(cli, "--all is not accepted here: name the message");
	if (strcmp(argv[0], "--all") != 0 &&
	    (argv[0][0] == '-' || argv[0][0] == '\0' || strlen(argv[0]) > QUEUE_ID_ARG_MAX))
		return cli_usage(cli, "unexpected argument '%s'", argv[0]);
	if ((*db_r = cli_db(cli)) == NULL)
		return CLI_REFUSED;
	if (strcmp(argv[0], "--all") == 0)
		return CLI_OK;
	return resolve_id(cli, *db_r, argv[0], queueid_r);
}

/* The messages a change touches: id, account, recipients. */
struct touched {
	char *queueid, *account, *recipients;
	int64_t count;
};

/* touched_load - per message, the rows matching where (in the open
 * transaction, so the UPDATE that follows changes exactly these). */
static int touched_load(struct db *db, const char *queueid, const char *where,
			struct touched **t_r, size_t *n_r)
{
	char *sql = xasprintf("SELECT queueid, min(account), group_concat(recipient, ' '), count(*)"
			      " FROM queue WHERE (?1 IS NULL OR queueid = ?1) AND %s"
			      " GROUP BY queueid ORDER BY min(created_at), queueid", where);
	sqlite3_stmt *st = db_prepare(db, sql);
	struct touched *t = NULL;
	size_t n = 0;
	int rc;

	free(sql);
	if (queueid != NULL)
		sqlite3_bind_text(st, 1, queueid, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *acc = sqlite3_column_text(st, 1);
		t = xrealloc(t, (n + 1) * sizeof(*t));
		t[n].queueid = xstrdup((const char *)sqlite3_column_text(st, 0));
		t[n].account = acc != NULL ? xstrdup((const char *)acc) : NULL;
		t[n].recipients = xstrdup((const char *)sqlite3_column_text(st, 2));
		t[n].count = sqlite3_column_int64(st, 3);
		n++;
	}
	sqlite3_finalize(st);
	*t_r = t;
	*n_r = n;
	return rc == SQLITE_DONE ? 0 : -1;
}

static void touched_free(struct touched **_t, size_t n)
{
	struct touched *t = *_t;

	for (size_t i = 0; t != NULL && i < n; i++) {
		free(t[i].queueid);
		free(t[i].account);
		free(t[i].recipients);
	}
	free(t);
	*_t = NULL;
}

/* run_update - "UPDATE queue SET set WHERE <message> AND where". */
static int run_update(struct db *db, const char *queueid, const char *set, const char *where,
		      int64_t now)
{
	char *sql = xasprintf("UPDATE queue SET %s WHERE (?1 IS NULL OR queueid = ?1) AND %s", set,
			      where);
	sqlite3_stmt *st = db_prepare(db, sql);
	int rc;

	free(sql);
	if (queueid != NULL)
		sqlite3_bind_text(st, 1, queueid, -1, SQLITE_TRANSIENT);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void journal_touched(struct cli *cli, const char *reason, const struct touched *t,
			    const char *extra)
{
	char *detail = xasprintf("%" PRId64 " recipient%s: %s%s", t->count,
				 t->count == 1 ? "" : "s", t->recipients, extra != NULL ? extra : "");
	struct journal_entry e = {
		.service = "cli",
		.decision = "change",
		.reason = reason,
		.actor = cli->actor,
		.account = t->account,
		.queueid = t->queueid,
		.detail = detail,
	};

	if (journal_add(cli->db, &e) < 0)
		fprintf(stderr, "postino: warning: change not journalled (%s)\n", reason);
	free(detail);
}

/* nothing_to_do - the refusal when no row of a named message qualifies. */
static int nothing_to_do(struct cli *cli, struct db *db, const char *queueid,
			 const char *name, const char *which)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT group_concat(DISTINCT state) FROM queue"
					  " WHERE queueid = ?1");
	char *states = NULL;

	sqlite3_bind_text(st, 1, queueid, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
		states = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	int ret = cli_refuse(cli, "nothing to %s: no recipient of %s is %s (state %s)", name,
			     queueid, which, states != NULL ? states : "gone");
	free(states);
	return ret;
}

static int queue_change(struct cli *cli, int argc, char **argv, const struct queue_action *a)
{
	struct touched *t = NULL;
	char *queueid;
	size_t n = 0;
	struct db *db;
	int ret;

	if ((ret = parse_target(cli, argc, argv, a->all_allowed, &db, &queueid)) != CLI_OK)
		return ret;
	if (db_begin(db) < 0) {
		free(queueid);
		return cli_refuse(cli, "cannot change the queue: %s", db_errmsg(db));
	}
	if (touched_load(db, queueid, a->where, &t, &n) < 0 ||
	    run_update(db, queueid, a->set, a->where, time_now()) < 0 || db_commit(db) < 0) {
		ret = cli_refuse(cli, "cannot change the queue: %s", db_errmsg(db));
		db_rollback(db);
		touched_free(&t, n);
		free(queueid);
		return ret;
	}
	if (n == 0 && queueid != NULL)
		ret = nothing_to_do(cli, db, queueid, a->name, a->which);
	else if (n == 0)
		printf("no message to %s\n", a->name);
	for (size_t i = 0; i < n; i++) {
		journal_touched(cli, a->reason, &t[i], NULL);
		printf("%s: %" PRId64 " recipient%s %s\n", t[i].queueid, t[i].count,
		       t[i].count == 1 ? "" : "s", a->done);
	}
	touched_free(&t, n);
	free(queueid);
	return ret;
}

static int cmd_queue_retry(struct cli *cli, int argc, char **argv)
{
	return queue_change(cli, argc, argv, &act_retry);
}

static int cmd_queue_hold(struct cli *cli, int argc, char **argv)
{
	return queue_change(cli, argc, argv, &act_hold);
}

static int cmd_queue_release(struct cli *cli, int argc, char **argv)
{
	return queue_change(cli, argc, argv, &act_release);
}

static int cmd_queue_bounce(struct cli *cli, int argc, char **argv)
{
	return queue_change(cli, argc, argv, &act_bounce);
}

/* files_of - the distinct message files of the message (or all). */
static int files_of(struct db *db, const char *queueid, char ***files_r, size_t *n_r)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT DISTINCT file FROM queue"
					  " WHERE ?1 IS NULL OR queueid = ?1");
	char **files = NULL;
	size_t n = 0;
	int rc;

	if (queueid != NULL)
		sqlite3_bind_text(st, 1, queueid, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		files = xrealloc(files, (n + 1) * sizeof(*files));
		files[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	*files_r = files;
	*n_r = n;
	return rc == SQLITE_DONE ? 0 : -1;
}

/* remove_unused - unlink the files no row names any more. After the
 * commit: a crash in between leaves a file without rows (harmless, and
 * what queue.c's own order can leave), never rows without their file. */
static void remove_unused(struct cli *cli, struct db *db, char **files, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = db_prepare(db, "SELECT count(*) FROM queue WHERE file = ?1");
		int64_t used = 1;
		sqlite3_bind_text(st, 1, files[i], -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			used = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (used != 0 || strchr(files[i], '/') != NULL)
			continue;
		char *path = xasprintf("%s/%s/%s", cli->data_dir, QUEUE_MSG_DIR, files[i]);
		if (unlink(path) < 0 && errno != ENOENT)
			fprintf(stderr, "postino: warning: cannot remove %s: %s\n", path,
				strerror(errno));
		free(path);
	}
}

/* delete_rows - the message's rows (or all) that no client is sending. */
static int delete_rows(struct db *db, const char *queueid)
{
	sqlite3_stmt *st = db_prepare(db, "DELETE FROM queue WHERE (?1 IS NULL OR queueid = ?1)"
					  " AND state NOT IN ('sending', 'delete')");
	int rc;

	if (queueid != NULL)
		sqlite3_bind_text(st, 1, queueid, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int cmd_queue_delete(struct cli *cli, int argc, char **argv)
{
	struct touched *gone = NULL, *later = NULL;
	size_t ngone = 0, nlater = 0, nfiles = 0;
	char *queueid, **files = NULL;
	struct db *db;
	int ret;

	if ((ret = parse_target(cli, argc, argv, true, &db, &queueid)) != CLI_OK)
		return ret;
	if (db_begin(db) < 0) {
		free(queueid);
		return cli_refuse(cli, "cannot change the queue: %s", db_errmsg(db));
	}
	/* rows in flight are marked; the queue manager drops them after the
	 * attempt (see the top of this file) */
	if (files_of(db, queueid, &files, &nfiles) < 0 ||
	    touched_load(db, queueid, "state NOT IN ('sending', 'delete')", &gone, &ngone) < 0 ||
	    touched_load(db, queueid, "state = 'sending'", &later, &nlater) < 0 ||
	    run_update(db, queueid, "state = 'delete'", "state = 'sending'", 0) < 0 ||
	    delete_rows(db, queueid) < 0 || db_commit(db) < 0) {
		ret = cli_refuse(cli, "cannot change the queue: %s", db_errmsg(db));
		db_rollback(db);
	} else {
		remove_unused(cli, db, files, nfiles);
		for (size_t i = 0; i < ngone; i++) {
			journal_touched(cli, "admin.queue-delete", &gone[i], NULL);
			printf("%s: %" PRId64 " recipient%s deleted\n", gone[i].queueid,
			       gone[i].count, gone[i].count == 1 ? "" : "s");
		}
		for (size_t i = 0; i < nlater; i++) {
			journal_touched(cli, "admin.queue-delete", &later[i],
					" (being sent now: dropped after this attempt)");
			printf("%s: %" PRId64 " recipient%s being sent now, dropped after this "
			       "attempt\n", later[i].queueid, later[i].count,
			       later[i].count == 1 ? "" : "s");
		}
		if (ngone + nlater == 0 && queueid != NULL)
			ret = nothing_to_do(cli, db, queueid, "delete", "left to delete");
		else if (ngone + nlater == 0)
			printf("the queue is empty\n");
	}
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	touched_free(&gone, ngone);
	touched_free(&later, nlater);
	free(queueid);
	return ret;
}

const struct cli_command cli_queue_commands[] = {
	{ "queue list", cmd_queue_list, "[--json]",
	  "messages waiting to be sent, with each recipient's state" },
	{ "queue show", cmd_queue_show, "ID [--json]",
	  "one queued message: recipients, last replies, header" },
	{ "queue retry", cmd_queue_retry, "ID|--all", "try a queued or held message now" },
	{ "queue delete", cmd_queue_delete, "ID|--all", "remove a message, sending nothing" },
	{ "queue bounce", cmd_queue_bounce, "ID", "give up on a message: its sender gets a bounce" },
	{ "queue hold", cmd_queue_hold, "ID|--all", "keep a message from being sent" },
	{ "queue release", cmd_queue_release, "ID|--all", "send a held message again" },
};
const size_t cli_queue_commands_count = N_ELEMENTS(cli_queue_commands);
