/* SPDX-License-Identifier: ISC */
/*
 * smtp-session.c - one SMTP session: its life from accept to close, the
 * input loop, the reply writer, the one traced state change, timeouts,
 * drain, and the deferred free.
 *
 * DESIGN
 * The conn layer hands us buffered input. The input loop runs while the
 * session is not waiting for a worker: in command states it takes one
 * line at a time and gives it to the command table (smtp-commands.c); in
 * DATA/BDAT it gives raw octets to cmd-data.c. A command that needs a
 * worker (AUTH, RCPT, the end of a message) suspends the loop, which
 * also stops reading from the socket; its completion replies and resumes
 * it, so pipelined commands (RFC 2920) are answered strictly in order.
 *
 * Port 25 greets after smtp.greeting-delay-ms: a client that talks
 * before the greeting is refused (RFC 5321 4.3.1 has the server speak
 * first; early talkers are almost always spam engines).
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "core/conn.h"
#include "core/dbpool.h"
#include "core/journal.h"
#include "core/loop.h"
#include "core/reason.h"
#include "directory/screen.h"
#include "smtp/smtp.h"
#include "smtp/smtp-private.h"

#include <event2/event.h>

/* A reply line is at most 512 octets with CRLF (RFC 5321 4.5.3.1.5). */
#define SMTP_REPLY_MAX 510

static const char *const smtp_state_names[SMTP_STATE_COUNT] = {
	[SMTP_STATE_CONNECTED] = "connected",
	[SMTP_STATE_HELO] = "helo",
	[SMTP_STATE_READY] = "ready",
	[SMTP_STATE_MAIL] = "mail",
	[SMTP_STATE_RCPT] = "rcpt",
	[SMTP_STATE_DATA] = "data",
	[SMTP_STATE_BDAT] = "bdat",
	[SMTP_STATE_AUTH] = "auth",
	[SMTP_STATE_STARTTLS] = "starttls",
	[SMTP_STATE_QUIT] = "quit",
};

static void smtp_on_input(struct conn *conn, void *ctx);
static void smtp_on_timeout(struct conn *conn, void *ctx);
static void smtp_on_drain(struct conn *conn, void *ctx);
static void smtp_on_tls_ready(struct conn *conn, void *ctx);
static void smtp_on_kick(struct conn *conn, void *ctx, const char *reason);
static void smtp_on_closed(struct conn *conn, void *ctx, const char *reason);

static const struct conn_handler smtp_handler = {
	.input = smtp_on_input,
	.timeout = smtp_on_timeout,
	.drain = smtp_on_drain,
	.tls_ready = smtp_on_tls_ready,
	.kick = smtp_on_kick,
	.closed = smtp_on_closed,
};

const char *smtp_state_name(enum smtp_state state)
{
	return state < SMTP_STATE_COUNT ? smtp_state_names[state] : "?";
}

void smtp_set_state(struct smtp_session *s, enum smtp_state state)
{
	log_debug("smtp state sid=%s %s -> %s", s->sid, smtp_state_name(s->state),
		  smtp_state_name(state));
	s->state = state;
}

bool smtp_is_submission(const struct smtp_session *s)
{
	return s->kind == LISTENER_SUBMISSION || s->kind == LISTENER_SUBMISSIONS;
}

/* ---- finding a session again: worker jobs keep its id ---- */

struct smtp_session *smtp_session_lookup(uint64_t id)
{
	return conn_session(id, &smtp_handler);
}

/* ---- output ---- */

void smtp_protolog(struct smtp_session *s, char dir, const char *line)
{
	if (s->cfg->smtp_protocol_log)
		log_write(LOG_LEVEL_INFO, "smtp", "proto sid=%s %c %s", s->sid, dir, line);
}

/* smtp_send - one reply line as is, with the protocol log. */
static void smtp_send(struct smtp_session *s, const char *line)
{
	if (s->conn == NULL)
		return;
	smtp_protolog(s, '>', line);
	conn_printf(s->conn, "%s\r\n", line);
}

/* smtp_too_many_errors - RFC 5321 4.3.2 lets a server close with 421. */
static void smtp_too_many_errors(struct smtp_session *s)
{
	const struct reason *r = reason_lookup("smtp.too-many-errors");
	char line[SMTP_REPLY_MAX + 1];

	if (str_printf(line, sizeof(line), "%s %s", r->smtp, r->text) < 0)
		panic("smtp: reply does not fit");
	smtp_send(s, line);
	log_info("smtp too many errors sid=%s peer=%s errors=%u", s->sid, s->peer, s->errors);
	smtp_journal(s, "refuse", "smtp.too-many-errors", s->account, NULL, NULL, NULL);
	smtp_session_close(s, "too many errors");
}

void smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	char line[SMTP_REPLY_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	/* a cut reply is still a valid reply: the code and status lead it */
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (s->conn == NULL || s->state == SMTP_STATE_QUIT)
		return;
	smtp_send(s, line);
	if ((line[0] == '4' || line[0] == '5') && strncmp(line, "421", 3) != 0 &&
	    ++s->errors >= SMTP_ERRORS_MAX)
		smtp_too_many_errors(s);
}

void smtp_reply_lines(struct smtp_session *s, const char *code, const char *const *lines,
		      size_t count)
{
	char line[SMTP_REPLY_MAX + 1];

	for (size_t i = 0; i < count; i++) {
		(void)snprintf(line, sizeof(line), "%s%c%s", code, i + 1 < count ? '-' : ' ',
			       lines[i]);
		smtp_send(s, line);
	}
}

void smtp_reply_reason(struct smtp_session *s, const char *reason, const char *text)
{
	const struct reason *r = reason_lookup(reason);

	if (r == NULL || r->smtp == NULL)
		panic("smtp: reason %s has no SMTP reply", reason);
	smtp_reply(s, "%s %s", r->smtp, text != NULL ? text : r->text);
}

void smtp_journal(struct smtp_session *s, const char *decision, const char *reason,
		  const char *account, const char *msgid, const char *queueid, const char *detail)
{
	struct db *db = dbpool_get();
	struct journal_entry e = {
		.service = "smtp",
		.decision = decision,
		.reason = reason,
		.actor = s->account != NULL ? s->account : s->peer,
		.ip = s->peer,
		.account = account,
		.msgid = msgid,
		.queueid = queueid,
		.sid = s->sid,
		.detail = detail,
	};

	if (db == NULL || journal_add(db, &e) < 0)
		log_warn("smtp journal: could not record %s %s sid=%s", decision, reason, s->sid);
}

void smtp_refuse(struct smtp_session *s, const char *reason, const char *rcpt,
		 const char *detail)
{
	log_info("smtp refuse sid=%s peer=%s reason=%s%s%s", s->sid, s->peer, reason,
		 rcpt != NULL ? " rcpt=" : "", rcpt != NULL ? rcpt : "");
	smtp_journal(s, "refuse", reason, rcpt != NULL ? rcpt : s->account, NULL,
		     s->tx != NULL ? s->tx->id : NULL, detail);
	smtp_reply_reason(s, reason, NULL);
}

void smtp_reply_error(struct smtp_session *s, const struct mail_error *error,
		      const char *reason)
{
	log_info("smtp refuse sid=%s peer=%s reason=%s code=%u status=%s text=\"%s\"", s->sid,
		 s->peer, reason, error->code, error->enhanced, error->text);
	smtp_reply(s, "%u %s %s", error->code, error->enhanced, error->text);
}

/* ---- life cycle ---- */

void smtp_session_suspend(struct smtp_session *s)
{
	s->busy = true;
	if (s->conn != NULL)
		conn_pause_input(s->conn);
}

static void smtp_draining_goodbye(struct smtp_session *s)
{
	smtp_reply_reason(s, "smtp.shutdown", NULL);
	smtp_session_close(s, "server stopping");
}

void smtp_session_resume(struct smtp_session *s)
{
	s->busy = false;
	if (s->conn == NULL || s->state == SMTP_STATE_QUIT)
		return;
	if (s->draining && s->state != SMTP_STATE_DATA && s->state != SMTP_STATE_BDAT) {
		smtp_draining_goodbye(s);
		return;
	}
	conn_resume_input(s->conn); /* replays what was pipelined meanwhile */
}

void smtp_session_close(struct smtp_session *s, const char *reason)
{
	smtp_set_state(s, SMTP_STATE_QUIT);
	if (s->conn != NULL)
		conn_finish(s->conn, reason);
}

static void smtp_greet(struct smtp_session *s)
{
	smtp_set_state(s, SMTP_STATE_HELO);
	smtp_reply(s, "220 %s ESMTP postino", s->cfg->hostname);
}

static void smtp_on_greet_timer(evutil_socket_t fd, short what, void *ctx)
{
	struct smtp_session *s = ctx;

	if (s->conn != NULL && s->state == SMTP_STATE_CONNECTED)
		smtp_greet(s);
}

/* smtp_screened - an address that screening blocked is answered 421
 * before any greeting (RFC 5321 3.1, 4.2.3: a server may refuse a
 * connection with 421) and closed. Only logged, not journalled: the block
 * itself is in the journal, and a bot retrying would fill it. */
static bool smtp_screened(struct smtp_session *s)
{
	const struct reason *r = reason_lookup(SCREEN_REASON_IP_BLOCKED);
	struct screen_params sp;
	struct screen_block b;
	char until[32], text[SMTP_REPLY_MAX];

	screen_params_from_config(s->cfg, &sp);
	if (screen_check_connect(dbpool_get(), &sp, s->peer, screen_now_ms(), &b) <= 0)
		return false;
	time_format_iso(b.until_ms / 1000, until, sizeof(until));
	/* a cut text still starts with the row's words */
	(void)snprintf(text, sizeof(text), "%s (blocked until %s)", r->text, until);
	log_info("smtp refuse sid=%s peer=%s reason=%s until=%s", s->sid, s->peer,
		 SCREEN_REASON_IP_BLOCKED, until);
	smtp_reply_reason(s, SCREEN_REASON_IP_BLOCKED, text);
	smtp_session_close(s, "address blocked by screening");
	return true;
}

void smtp_accept(struct conn *conn, enum listener_kind kind)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));

	s->id = conn_id(conn);
	s->conn = conn;
	s->cfg = conn_config(conn);
	s->kind = kind;
	s->state = SMTP_STATE_CONNECTED;
	if (str_copy(s->sid, conn_sid(conn), sizeof(s->sid)) < 0 ||
	    str_copy(s->peer, conn_peer(conn), sizeof(s->peer)) < 0)
		panic("smtp: sid or peer does not fit");
	conn_set_handler(conn, &smtp_handler, s);
	conn_set_idle_timeout(conn, (unsigned)(s->cfg->smtp_timeout * 1000));
	if (smtp_screened(s))
		return;
	if (kind == LISTENER_SMTP && s->cfg->smtp_greeting_delay_ms > 0) {
		struct timeval tv = { (time_t)(s->cfg->smtp_greeting_delay_ms / 1000),
				      (suseconds_t)(s->cfg->smtp_greeting_delay_ms % 1000) * 1000 };
		s->greet_timer = evtimer_new(loop_base(), smtp_on_greet_timer, s);
		evtimer_add(s->greet_timer, &tv);
		return;
	}
	smtp_greet(s);
}

/* smtp_early_talker - input before our greeting (RFC 5321 4.3.1: the
 * server speaks first). The client is not listening; refuse and close. */
static void smtp_early_talker(struct smtp_session *s)
{
	if (s->greet_timer != NULL)
		evtimer_del(s->greet_timer);
	log_info("smtp early talker sid=%s peer=%s", s->sid, s->peer);
	smtp_journal(s, "refuse", "smtp.early-talker", NULL, NULL, NULL, NULL);
	smtp_reply_reason(s, "smtp.early-talker", NULL);
	smtp_session_close(s, "early talker");
}

/* smtp_line_input - one command line, or a SASL response in AUTH. */
static int smtp_line_input(struct smtp_session *s)
{
	char *line;
	size_t len;
	int ret = conn_read_line(s->conn, SMTP_AUTH_LINE_MAX, &line, &len);

	if (ret == 0)
		return 0;
	if (ret < 0) {
		smtp_protolog(s, '<', "(line too long)");
		if (s->state == SMTP_STATE_AUTH) {
			cmd_auth_input(s, NULL, 0); /* ends the exchange */
		} else {
			smtp_reply_reason(s, "smtp.line-too-long", NULL);
		}
		return 1;
	}
	if (s->state == SMTP_STATE_AUTH) {
		smtp_protolog(s, '<', "(sasl response)");
		cmd_auth_input(s, line, len);
		return 1;
	}
	smtp_command_dispatch(s, line, len);
	return 1;
}

static void smtp_on_input(struct conn *conn, void *ctx)
{
	struct smtp_session *s = ctx;

	while (!s->busy && s->conn != NULL) {
		switch (s->state) {
		case SMTP_STATE_CONNECTED:
			smtp_early_talker(s);
			return;
		case SMTP_STATE_DATA:
		case SMTP_STATE_BDAT:
			if (cmd_data_input(s) == 0)
				return;
			break;
		case SMTP_STATE_STARTTLS:
		case SMTP_STATE_QUIT:
		case SMTP_STATE_COUNT:
			return;
		case SMTP_STATE_HELO:
		case SMTP_STATE_READY:
		case SMTP_STATE_MAIL:
		case SMTP_STATE_RCPT:
		case SMTP_STATE_AUTH:
			if (smtp_line_input(s) == 0)
				return;
			break;
		}
	}
}

/* smtp_on_timeout - RFC 5321 4.5.3.2.7, 3.8: 421 and close. */
static void smtp_on_timeout(struct conn *conn, void *ctx)
{
	struct smtp_session *s = ctx;

	log_info("smtp timeout sid=%s peer=%s state=%s", s->sid, s->peer,
		 smtp_state_name(s->state));
	smtp_journal(s, "refuse", "smtp.timeout", s->account, NULL,
		     s->tx != NULL ? s->tx->id : NULL, smtp_state_name(s->state));
	smtp_reply_reason(s, "smtp.timeout", NULL);
	smtp_session_close(s, "timeout");
}

/* smtp_on_drain - the server stops: a session waiting for a worker ends
 * once the job has replied; the others are told 421 now. */
static void smtp_on_drain(struct conn *conn, void *ctx)
{
	struct smtp_session *s = ctx;

	s->draining = true;
	if (s->busy)
		return;
	if (s->state == SMTP_STATE_CONNECTED || s->state == SMTP_STATE_STARTTLS) {
		smtp_session_close(s, "server stopping");
		return;
	}
	smtp_draining_goodbye(s);
}

static void smtp_on_tls_ready(struct conn *conn, void *ctx)
{
	cmd_starttls_ready(ctx);
}

/* smtp_on_kick - screening blocked this client's address: 421 (RFC 5321
 * 3.8 allows it at any point) and close, whatever the session was doing;
 * a message not yet acknowledged is the sender's to retry. */
static void smtp_on_kick(struct conn *conn, void *ctx, const char *reason)
{
	struct smtp_session *s = ctx;

	if (s->state == SMTP_STATE_QUIT)
		return;
	log_info("smtp kick sid=%s peer=%s reason=%s state=%s", s->sid, s->peer, reason,
		 smtp_state_name(s->state));
	smtp_journal(s, "refuse", reason, s->account, NULL, s->tx != NULL ? s->tx->id : NULL,
		     "session closed");
	smtp_reply_reason(s, reason, NULL);
	smtp_session_close(s, "address blocked by screening");
}

static void smtp_session_free(void *ptr)
{
	struct smtp_session *s = ptr;

	smtp_tx_free(&s->tx);
	if (s->greet_timer != NULL)
		event_free(s->greet_timer);
	delayed_reply_free(&s->auth_delay);
	free(s->account);
	if (s->auth_login != NULL)
		explicit_bzero(s->auth_login, strlen(s->auth_login));
	free(s->auth_login);
	free(s);
}

static void smtp_on_closed(struct conn *conn, void *ctx, const char *reason)
{
	struct smtp_session *s = ctx;

	if (s->greet_timer != NULL)
		evtimer_del(s->greet_timer);
	delayed_reply_cancel(&s->auth_delay);
	s->conn = NULL;
	loop_defer_free(smtp_session_free, s);
}
