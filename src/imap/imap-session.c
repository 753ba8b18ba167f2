/* SPDX-License-Identifier: ISC */
/*
 * imap-session.c - one IMAP session: its life from accept to close, the
 * input loop that feeds the parser, the reply writer, the one traced
 * state change, worker jobs, timers, timeouts, drain and the deferred
 * free.
 *
 * DESIGN
 * Input goes through the incremental parser (imap-parser.h) a chunk at a
 * time; each whole command is taken from it and dispatched through the
 * table (imap-commands.c). One command runs at a time: while it waits (a
 * worker job, the peer reading a large FETCH, IDLE, a SASL exchange) the
 * loop stops feeding the parser, so pipelined commands are answered
 * strictly in order and their bytes stay in the connection's bounded
 * input buffer. Literals too large to buffer arrive only for APPEND and
 * are streamed to a spool file as they come (cmd-append.c).
 *
 * A command ends with exactly one tagged reply (imap_cmd_ok/no/bad);
 * whoever resumed it (the dispatcher, a job's completion, a timer, a raw
 * input line) then frees it and lets input flow again.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "core/conn.h"
#include "core/dbpool.h"
#include "core/journal.h"
#include "core/loop.h"
#include "core/reason.h"
#include "core/worker.h"
#include "directory/screen.h"
#include "store/index.h"
#include "imap/imap.h"
#include "imap/imap-private.h"

#include <event2/buffer.h>
#include <event2/event.h>

/* Protocol log lines are cut here (a FETCH line can be long). */
#define IMAP_PROTOLOG_MAX 300

static const char *const imap_state_names[IMAP_STATE_COUNT] = {
	[IMAP_STATE_NOT_AUTH] = "not-auth",
	[IMAP_STATE_AUTH] = "auth",
	[IMAP_STATE_SELECTED] = "selected",
	[IMAP_STATE_LOGOUT] = "logout",
};

static void imap_on_input(struct conn *conn, void *ctx);
static void imap_on_timeout(struct conn *conn, void *ctx);
static void imap_on_drain(struct conn *conn, void *ctx);
static void imap_on_tls_ready(struct conn *conn, void *ctx);
static void imap_on_kick(struct conn *conn, void *ctx, const char *reason);
static void imap_on_closed(struct conn *conn, void *ctx, const char *reason);
static void imap_on_output_drained(struct conn *conn, void *ctx);
static void imap_after_callback(struct imap_session *s);

static const struct conn_handler imap_handler = {
	.input = imap_on_input,
	.timeout = imap_on_timeout,
	.drain = imap_on_drain,
	.tls_ready = imap_on_tls_ready,
	.kick = imap_on_kick,
	.closed = imap_on_closed,
	.output_drained = imap_on_output_drained,
};

const char *imap_state_name(enum imap_state state)
{
	return state < IMAP_STATE_COUNT ? imap_state_names[state] : "?";
}

void imap_set_state(struct imap_session *s, enum imap_state state)
{
	log_debug("imap state sid=%s %s -> %s", s->sid, imap_state_name(s->state),
		  imap_state_name(state));
	s->state = state;
	if (s->conn == NULL)
		return;
	/* RFC 9051 5.4: at least 30 minutes once logged in; shorter before */
	if (state == IMAP_STATE_AUTH || state == IMAP_STATE_SELECTED)
		conn_set_idle_timeout(s->conn, (unsigned)(s->cfg->imap_idle_timeout * 1000));
}

/* ---- finding a session again: worker jobs keep its id ---- */

struct imap_session *imap_session_lookup(uint64_t id)
{
	return conn_session(id, &imap_handler);
}

static bool imap_session_of(const void *ctx, const void *account)
{
	const struct imap_session *s = ctx;

	return s->account != NULL && strcmp(s->account, account) == 0;
}

unsigned imap_session_count_account(const char *account)
{
	return conn_count_sessions(&imap_handler, imap_session_of, account);
}

/* ---- output ---- */

void imap_protolog(struct imap_session *s, char dir, const char *fmt, ...)
{
	char line[IMAP_PROTOLOG_MAX + 1];
	va_list ap;

	if (!s->cfg->imap_protocol_log)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap); /* cut on purpose */
	va_end(ap);
	for (char *p = line; *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	}
	log_write(LOG_LEVEL_INFO, "imap", "proto sid=%s %c %s", s->sid, dir, line);
}

void imap_write(struct imap_session *s, const void *data, size_t len)
{
	if (s->conn != NULL)
		conn_write(s->conn, data, len);
}

void imap_send_line(struct imap_session *s, const char *line, size_t len)
{
	if (s->conn == NULL)
		return;
	imap_protolog(s, '>', "%.*s", (int)(len > IMAP_PROTOLOG_MAX ? IMAP_PROTOLOG_MAX : len),
		      line);
	conn_write(s->conn, line, len);
	conn_write(s->conn, "\r\n", 2);
}

void imap_send_buf(struct imap_session *s, const struct buf *b)
{
	imap_send_line(s, b->len > 0 ? b->data : "", b->len);
}

static void imap_vsend(struct imap_session *s, const char *prefix, const char *fmt, va_list ap)
	ATTR_FORMAT(printf, 3, 0);

static void imap_vsend(struct imap_session *s, const char *prefix, const char *fmt, va_list ap)
{
	char line[IMAP_LINE_MAX];
	size_t n = strlen(prefix);

	if (n >= sizeof(line))
		panic("imap: reply prefix too long");
	memcpy(line, prefix, n);
	/* a cut line still carries its tag, status and code first */
	(void)vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	imap_send_line(s, line, strlen(line));
}

void imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_vsend(s, "* ", fmt, ap);
	va_end(ap);
}

void imap_journal(struct imap_session *s, const char *decision, const char *reason,
		  const char *account, const char *detail)
{
	struct journal_session who = { "imap", s->sid, s->peer, s->account };

	journal_session_add(&who, decision, reason, account, detail);
}

/* imap_too_many_errors - Dovecot's answer to a client that keeps sending
 * garbage: BYE and close. */
static void imap_too_many_errors(struct imap_session *s)
{
	const struct reason *r = reason_lookup("imap.too-many-errors");

	log_info("imap too many errors sid=%s peer=%s errors=%u", s->sid, s->peer, s->errors);
	imap_journal(s, "refuse", r->code, s->account, NULL);
	imap_untagged(s, "BYE %s", r->text);
	imap_session_close(s, "too many errors");
}

static void imap_count_error(struct imap_session *s)
{
	if (++s->errors >= IMAP_ERRORS_MAX && s->state != IMAP_STATE_LOGOUT)
		imap_too_many_errors(s);
}

/* imap_cmd_tagged - the one tagged reply of a command. */
static void imap_cmd_tagged(struct imap_cmd *cmd, const char *status, const char *fmt,
			    va_list ap) ATTR_FORMAT(printf, 3, 0);

static void imap_cmd_tagged(struct imap_cmd *cmd, const char *status, const char *fmt,
			    va_list ap)
{
	struct imap_session *s = cmd->s;
	char prefix[IMAP_LINE_MAX];

	if (cmd->finished)
		panic("imap: second tagged reply for %s", cmd->tag);
	cmd->finished = true;
	if (str_printf(prefix, sizeof(prefix), "%s %s ", cmd->tag, status) < 0)
		panic("imap: tag too long for a reply");
	imap_vsend(s, prefix, fmt, ap);
}

void imap_cmd_ok(struct imap_cmd *cmd, const char *fmt, ...)
{
	struct imap_session *s = cmd->s;
	va_list ap;

	if (s->state == IMAP_STATE_SELECTED && s->sel != NULL && s->index != NULL) {
		unsigned flags = cmd->def != NULL ? cmd->def->flags : 0;
		imap_sync_report(s, (flags & IMAP_CMD_USES_SEQS) == 0 || cmd->uid, cmd->uid);
	}
	va_start(ap, fmt);
	imap_cmd_tagged(cmd, "OK", fmt, ap);
	va_end(ap);
}

void imap_cmd_no(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_cmd_tagged(cmd, "NO", fmt, ap);
	va_end(ap);
}

void imap_cmd_bad(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_cmd_tagged(cmd, "BAD", fmt, ap);
	va_end(ap);
	imap_count_error(cmd->s);
}

void imap_cmd_reason(struct imap_cmd *cmd, const char *reason, const char *text)
{
	const struct reason *r = reason_lookup(reason);

	if (r == NULL)
		panic("imap: unknown reason %s", reason);
	if (r->imap != NULL)
		imap_cmd_no(cmd, "[%s] %s", r->imap, text != NULL ? text : r->text);
	else
		imap_cmd_no(cmd, "%s", text != NULL ? text : r->text);
}

void imap_cmd_refuse(struct imap_cmd *cmd, const char *reason, const char *detail)
{
	struct imap_session *s = cmd->s;

	log_info("imap refuse sid=%s peer=%s cmd=%s reason=%s%s%s", s->sid, s->peer, cmd->pc->name,
		 reason, detail != NULL ? " detail=" : "", detail != NULL ? detail : "");
	imap_journal(s, "refuse", reason, s->account, detail);
	imap_cmd_reason(cmd, reason, NULL);
}

/* ---- jobs and timers ---- */

static void imap_job_run(void *arg)
{
	struct imap_job *job = arg;

	job->run(job);
}

static void imap_job_free(struct imap_job *job)
{
	if (job->free != NULL)
		job->free(job);
	else
		free(job);
}

static void imap_job_done(uint64_t id, void *arg)
{
	struct imap_job *job = arg;
	struct imap_session *s = imap_session_lookup(id);

	if (s == NULL) {
		/* the session went while the job ran: the handle is ours */
		index_close(&job->index);
		imap_job_free(job);
		return;
	}
	s->busy = false;
	s->index = job->index;
	job->index = NULL;
	if (s->cmd != NULL)
		job->done(s->cmd, job);
	imap_job_free(job);
	imap_after_callback(s);
}

void imap_job_submit(struct imap_cmd *cmd, struct imap_job *job)
{
	struct imap_session *s = cmd->s;

	job->index = s->index;
	s->index = NULL;
	s->busy = true;
	s->input_paused = true;
	if (s->conn != NULL)
		conn_pause_input(s->conn);
	worker_submit(imap_job_run, imap_job_done, s->id, job);
}

/* imap_cmd_resume - the timer or the drained output a command waited
 * for has come. */
static void imap_cmd_resume(struct imap_session *s)
{
	struct imap_cmd *cmd = s->cmd;

	if (s->conn == NULL || cmd == NULL || cmd->resume == NULL)
		return;
	if (s->state == IMAP_STATE_LOGOUT)
		return;
	void (*resume)(struct imap_cmd *) = cmd->resume;
	cmd->resume = NULL;
	resume(cmd);
	imap_after_callback(s);
}

static void imap_on_timer(evutil_socket_t fd, short what, void *ctx)
{
	struct imap_session *s = ctx;

	if (!s->wait_output)
		imap_cmd_resume(s);
}

static void imap_on_output_drained(struct conn *conn, void *ctx)
{
	struct imap_session *s = ctx;

	if (s->wait_output) {
		s->wait_output = false;
		imap_cmd_resume(s);
	}
}

static void imap_timer_arm(struct imap_session *s, unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	if (s->timer == NULL)
		s->timer = evtimer_new(loop_base(), imap_on_timer, s);
	evtimer_add(s->timer, &tv);
}

bool imap_output_full(const struct imap_session *s)
{
	return s->conn == NULL || conn_output_pending(s->conn) > IMAP_OUTPUT_HIGH;
}

void imap_cmd_wait_output(struct imap_cmd *cmd, void (*resume)(struct imap_cmd *cmd))
{
	cmd->resume = resume;
	cmd->s->wait_output = true;
	if (cmd->s->conn != NULL)
		conn_want_drained(cmd->s->conn);
}

void imap_cmd_set_timer(struct imap_cmd *cmd, unsigned ms, void (*resume)(struct imap_cmd *cmd))
{
	cmd->resume = resume;
	cmd->s->wait_output = false;
	imap_timer_arm(cmd->s, ms);
}

void imap_cmd_stop_timer(struct imap_cmd *cmd)
{
	cmd->resume = NULL;
	cmd->s->wait_output = false;
	if (cmd->s->timer != NULL)
		evtimer_del(cmd->s->timer);
}

/* ---- life cycle ---- */

void imap_session_close(struct imap_session *s, const char *reason)
{
	if (s->state != IMAP_STATE_LOGOUT)
		imap_set_state(s, IMAP_STATE_LOGOUT);
	if (s->timer != NULL)
		evtimer_del(s->timer);
	if (s->conn != NULL)
		conn_finish(s->conn, reason);
}

void imap_session_fatal(struct imap_session *s, const char *reason, const char *detail)
{
	const struct reason *r = reason_lookup(reason);

	log_warn("imap fatal sid=%s account=%s reason=%s detail=%s", s->sid,
		 s->account != NULL ? s->account : "-", reason, detail != NULL ? detail : "-");
	imap_journal(s, "refuse", reason, s->account, detail);
	if (r != NULL && r->imap != NULL)
		imap_untagged(s, "BYE [%s] %s", r->imap, r->text);
	else
		imap_untagged(s, "BYE %s", r != NULL ? r->text : "Internal error");
	imap_session_close(s, reason);
}

void imap_session_logged_in(struct imap_session *s, char *account)
{
	free(s->account);
	s->account = account;
	imap_set_state(s, IMAP_STATE_AUTH);
}

static void imap_draining_goodbye(struct imap_session *s)
{
	const struct reason *r = reason_lookup("imap.shutdown");

	imap_untagged(s, "BYE [%s] %s", r->imap, r->text);
	imap_session_close(s, "server stopping");
}

/* imap_after_callback - a job, timer or input line may have ended the
 * command: free it, then let input flow (or say goodbye). */
static void imap_after_callback(struct imap_session *s)
{
	if (s->conn == NULL || s->state == IMAP_STATE_LOGOUT)
		return;
	if (s->cmd != NULL && s->cmd->finished)
		imap_command_finished(s);
	if (s->busy)
		return;
	if (s->cmd == NULL && s->draining) {
		imap_draining_goodbye(s);
		return;
	}
	/* between commands, or a command that reads raw lines (IDLE, SASL)
	 * after a job paused input: replays what was pipelined meanwhile.
	 * (Resuming re-arms the idle timer, so IDLE's polls must not.) */
	if (s->cmd == NULL || (s->cmd->line_input != NULL && s->input_paused))
		conn_resume_input(s->conn);
	s->input_paused = false;
}

/* imap_screened - screening has blocked the address: BYE instead of a
 * greeting (RFC 3501 7.1.5 allows it), logged, not journalled (the block
 * itself is; a bot retrying would fill the journal). */
static bool imap_screened(struct imap_session *s)
{
	const struct reason *r = reason_lookup(SCREEN_REASON_IP_BLOCKED);
	struct screen_params sp;
	struct screen_block b;
	char until[32];

	screen_params_from_config(s->cfg, &sp);
	if (screen_check_connect(dbpool_get(), &sp, s->peer, screen_now_ms(), &b) <= 0)
		return false;
	time_format_iso(b.until_ms / 1000, until, sizeof(until));
	log_info("imap refuse sid=%s peer=%s reason=%s until=%s", s->sid, s->peer,
		 SCREEN_REASON_IP_BLOCKED, until);
	imap_untagged(s, "BYE [%s] %s (blocked until %s)", r->imap, r->text, until);
	imap_session_close(s, "address blocked by screening");
	return true;
}

static void imap_greet(struct imap_session *s)
{
	struct buf b;

	buf_init(&b, IMAP_LINE_MAX);
	if (buf_append_str(&b, "* OK [CAPABILITY ") < 0 || imap_capability_write(s, &b) < 0 ||
	    buf_append_str(&b, "] postino ready.") < 0)
		panic("imap: greeting does not fit");
	imap_send_buf(s, &b);
	buf_release(&b);
}

void imap_accept(struct conn *conn, enum listener_kind kind)
{
	struct imap_session *s = xcalloc(1, sizeof(*s));

	s->id = conn_id(conn);
	s->conn = conn;
	s->cfg = conn_config(conn);
	s->kind = kind;
	s->state = IMAP_STATE_NOT_AUTH;
	if (str_copy(s->sid, conn_sid(conn), sizeof(s->sid)) < 0 ||
	    str_copy(s->peer, conn_peer(conn), sizeof(s->peer)) < 0)
		panic("imap: sid or peer does not fit");
	/* BINARY (RFC 3516) is offered: APPEND may send ~{n} */
	s->parser = imap_parser_new(NULL, IMAP_PARSER_FLAG_LITERAL8);
	conn_set_handler(conn, &imap_handler, s);
	conn_set_idle_timeout(conn, (unsigned)(s->cfg->imap_login_timeout * 1000));
	if (imap_screened(s))
		return;
	imap_greet(s);
}

/* ---- input ---- */

/* imap_parse_error - the parser's BAD, with its code (imap-parser.h). */
static void imap_parse_error(struct imap_session *s)
{
	const struct imap_parser_error *e = imap_parser_get_error(s->parser);
	const char *code = e->code == IMAP_PARSER_ERROR_TOOBIG ? "[TOOBIG] "
			   : e->code == IMAP_PARSER_ERROR_LIMIT ? "[LIMIT] "
								: "";
	char line[IMAP_LINE_MAX];

	imap_append_spool_free(&s->spool); /* a streamed literal is abandoned */
	imap_protolog(s, '<', "(parse error: %s)", e->text);
	(void)snprintf(line, sizeof(line), "%s BAD %s%s", e->tag != NULL ? e->tag : "*", code,
		       e->text);
	imap_send_line(s, line, strlen(line));
	if (e->fatal) {
		log_info("imap fatal parse error sid=%s peer=%s: %s", s->sid, s->peer, e->text);
		imap_untagged(s, "BYE %s", e->text);
		imap_session_close(s, "unparsable input");
		return;
	}
	imap_count_error(s);
}

/* imap_feed - give the parser the next chunk of input; 1 = go on, 0 =
 * wait for more input. */
static int imap_feed(struct imap_session *s)
{
	struct evbuffer *in = conn_input(s->conn);
	size_t len = evbuffer_get_length(in), n, used = 0;
	enum imap_parser_event ev = IMAP_PARSER_EVENT_COMMAND;
	const unsigned char *data;
	int ret;

	if (len == 0)
		return 0;
	n = len < IMAP_FEED_CHUNK ? len : IMAP_FEED_CHUNK;
	data = evbuffer_pullup(in, (ssize_t)n);
	ret = imap_parser_feed(s->parser, data, n, &used, &ev);
	if (ret > 0 && ev == IMAP_PARSER_EVENT_LITERAL_DATA) {
		const struct imap_parser_literal *lit = imap_parser_get_literal(s->parser);
		/* data points into the bytes just fed: use them before draining */
		imap_append_literal_data(s, lit->data, lit->data_size);
	}
	evbuffer_drain(in, used);
	if (imap_parser_continuation_wanted(s->parser))
		imap_send_line(s, "+ OK", 4);
	if (ret < 0) {
		imap_parse_error(s);
		return 1;
	}
	if (ret == 0)
		return used < n || n < len ? 1 : 0;
	switch (ev) {
	case IMAP_PARSER_EVENT_COMMAND:
		imap_command_dispatch(s, imap_parser_take_command(s->parser));
		break;
	case IMAP_PARSER_EVENT_LITERAL:
		if (imap_append_literal(s) == 0) {
			imap_parser_literal_accept(s->parser);
			if (imap_parser_continuation_wanted(s->parser))
				imap_send_line(s, "+ OK", 4);
		} else {
			imap_parser_literal_refuse(s->parser);
		}
		break;
	case IMAP_PARSER_EVENT_LITERAL_DATA:
		break;
	}
	return 1;
}

/* imap_raw_line - a line the running command reads itself (SASL, DONE). */
static int imap_raw_line(struct imap_session *s)
{
	char *line;
	size_t len;
	int ret = conn_read_line(s->conn, IMAP_SASL_LINE_MAX, &line, &len);

	if (ret == 0)
		return 0;
	s->cmd->line_input(s->cmd, ret < 0 ? NULL : line, ret < 0 ? 0 : len);
	if (s->cmd != NULL && s->cmd->finished)
		imap_command_finished(s);
	return 1;
}

static void imap_on_input(struct conn *conn, void *ctx)
{
	struct imap_session *s = ctx;

	while (s->conn != NULL && !s->busy && !s->starttls && s->state != IMAP_STATE_LOGOUT) {
		if (s->cmd != NULL) {
			if (s->cmd->line_input == NULL)
				return; /* output or a timer is awaited */
			if (imap_raw_line(s) == 0)
				return;
			continue;
		}
		if (s->draining) {
			imap_draining_goodbye(s);
			return;
		}
		if (imap_feed(s) == 0)
			return;
	}
}

/* imap_on_timeout - RFC 9051 5.4 autologout; a command still running
 * (a long FETCH to a slow reader, a worker job) is not idleness. */
static void imap_on_timeout(struct conn *conn, void *ctx)
{
	struct imap_session *s = ctx;
	const struct reason *r = reason_lookup("imap.timeout");

	if (s->busy || (s->cmd != NULL && s->cmd->line_input == NULL)) {
		conn_resume_input(conn);
		return;
	}
	log_info("imap timeout sid=%s peer=%s state=%s", s->sid, s->peer,
		 imap_state_name(s->state));
	imap_journal(s, "refuse", r->code, s->account, imap_state_name(s->state));
	imap_untagged(s, "BYE %s", r->text);
	imap_session_close(s, "timeout");
}

/* imap_on_drain - the server stops: a running command ends first, then
 * BYE [UNAVAILABLE]; IDLE and SASL exchanges end now. */
static void imap_on_drain(struct conn *conn, void *ctx)
{
	struct imap_session *s = ctx;

	s->draining = true;
	if (s->busy || s->starttls)
		return;
	if (s->cmd != NULL && s->cmd->line_input == NULL)
		return; /* imap_after_callback says goodbye when it ends */
	imap_draining_goodbye(s);
}

static void imap_on_tls_ready(struct conn *conn, void *ctx)
{
	struct imap_session *s = ctx;

	s->starttls = false;
	imap_parser_reset(s->parser);
	imap_after_callback(s);
}

/* imap_on_kick - screening blocked this client's address: BYE (RFC 3501
 * 7.1.5: at any time) and close, whatever the session was doing. */
static void imap_on_kick(struct conn *conn, void *ctx, const char *reason)
{
	struct imap_session *s = ctx;
	const struct reason *r = reason_lookup(reason);

	if (s->state == IMAP_STATE_LOGOUT)
		return;
	log_info("imap kick sid=%s peer=%s reason=%s state=%s", s->sid, s->peer, reason,
		 imap_state_name(s->state));
	imap_journal(s, "refuse", reason, s->account, "session closed");
	if (r != NULL && r->imap != NULL)
		imap_untagged(s, "BYE [%s] %s", r->imap, r->text);
	else
		imap_untagged(s, "BYE %s", r != NULL ? r->text : reason);
	imap_session_close(s, "address blocked by screening");
}

static void imap_session_free(void *ptr)
{
	struct imap_session *s = ptr;

	imap_cmd_free(&s->cmd);
	imap_append_spool_free(&s->spool);
	imap_mailbox_free(&s->sel);
	/* NULL while a job holds it: the job's completion closes it */
	index_close(&s->index);
	imap_parser_free(&s->parser);
	if (s->timer != NULL)
		event_free(s->timer);
	free(s->account);
	free(s->root);
	free(s);
}

static void imap_on_closed(struct conn *conn, void *ctx, const char *reason)
{
	struct imap_session *s = ctx;

	if (s->timer != NULL)
		evtimer_del(s->timer);
	log_debug("imap closed sid=%s account=%s reason=%s", s->sid,
		  s->account != NULL ? s->account : "-", reason);
	s->conn = NULL;
	loop_defer_free(imap_session_free, s);
}
