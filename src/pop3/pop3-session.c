/* SPDX-License-Identifier: ISC */
/*
 * pop3-session.c - one POP3 session: its life from accept to close, the
 * input loop, the reply writer, the one traced state change, timeouts,
 * drain, and the deferred free.
 *
 * DESIGN
 * RFC 1939 3 has three states: AUTHORIZATION (greeted, not logged in),
 * TRANSACTION (logged in, the maildrop locked and listed) and UPDATE
 * (after QUIT: deletions applied). Ours adds the waits between them as
 * states of their own (STLS handshake, SASL exchange, LOGOUT), all
 * changed through pop3_set_state(), which logs.
 *
 * The conn layer hands us buffered input, one line at a time, to the
 * command table (pop3-commands.c). A command that needs a worker (PASS,
 * AUTH, RETR's file lookup, QUIT's update) or streams a message suspends
 * the input, which also stops reading from the socket; its completion
 * replies and resumes, so pipelined commands (RFC 2449 6.6) are answered
 * strictly in order.
 *
 * Only QUIT deletes. A session that ends any other way - the client goes
 * away, the idle timer fires (RFC 1939 3: no reply, no UPDATE), too many
 * errors, a shutdown - releases its maildrop lock with every message kept
 * and journals pop3.aborted.
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
#include "store/index.h"
#include "pop3/pop3.h"
#include "pop3/pop3-private.h"

#include <event2/event.h>


static const char *const pop3_state_names[POP3_STATE_COUNT] = {
	[POP3_STATE_AUTHORIZATION] = "authorization",
	[POP3_STATE_STLS] = "stls",
	[POP3_STATE_SASL] = "sasl",
	[POP3_STATE_TRANSACTION] = "transaction",
	[POP3_STATE_UPDATE] = "update",
	[POP3_STATE_LOGOUT] = "logout",
};

static void pop3_on_input(struct conn *conn, void *ctx);
static void pop3_on_timeout(struct conn *conn, void *ctx);
static void pop3_on_drain(struct conn *conn, void *ctx);
static void pop3_on_tls_ready(struct conn *conn, void *ctx);
static void pop3_on_kick(struct conn *conn, void *ctx, const char *reason);
static void pop3_on_closed(struct conn *conn, void *ctx, const char *reason);
static void pop3_on_output_drained(struct conn *conn, void *ctx);

static const struct conn_handler pop3_handler = {
	.input = pop3_on_input,
	.timeout = pop3_on_timeout,
	.drain = pop3_on_drain,
	.tls_ready = pop3_on_tls_ready,
	.kick = pop3_on_kick,
	.closed = pop3_on_closed,
	.output_drained = pop3_on_output_drained,
};

const char *pop3_state_name(enum pop3_state state)
{
	return state < POP3_STATE_COUNT ? pop3_state_names[state] : "?";
}

void pop3_set_state(struct pop3_session *s, enum pop3_state state)
{
	log_debug("pop3 state sid=%s %s -> %s", s->sid, pop3_state_name(s->state),
		  pop3_state_name(state));
	s->state = state;
}

/* ---- finding a session again: worker jobs keep its id ---- */

struct pop3_session *pop3_session_lookup(uint64_t id)
{
	struct pop3_session *s = conn_session(id, &pop3_handler);

	/* a session on its way out (kicked, timed out) takes no more
	 * results: its jobs clean up after themselves */
	return s != NULL && s->state != POP3_STATE_LOGOUT ? s : NULL;
}

/* ---- output ---- */

void pop3_protolog(struct pop3_session *s, char dir, const char *line)
{
	if (s->cfg->pop3_protocol_log)
		log_write(LOG_LEVEL_INFO, "pop3", "proto sid=%s %c %s", s->sid, dir, line);
}

void pop3_send(struct pop3_session *s, const char *line)
{
	if (s->conn == NULL || s->state == POP3_STATE_LOGOUT)
		return;
	pop3_protolog(s, '>', line);
	conn_printf(s->conn, "%s\r\n", line);
}

void pop3_ok(struct pop3_session *s, const char *fmt, ...)
{
	char line[POP3_REPLY_MAX + 1] = "+OK ";
	va_list ap;

	va_start(ap, fmt);
	/* a cut reply is still a valid reply: "+OK" leads it */
	(void)vsnprintf(line + 4, sizeof(line) - 4, fmt, ap);
	va_end(ap);
	pop3_send(s, line);
}

void pop3_journal(struct pop3_session *s, const char *decision, const char *reason,
		  const char *account, const char *detail)
{
	struct journal_session who = { "pop3", s->sid, s->peer, s->account };

	journal_session_add(&who, decision, reason, account, detail);
}

/* pop3_too_many_errors - hang up on a client that keeps getting it wrong
 * (RFC 1939 leaves it to the server; Dovecot does the same). */
static void pop3_too_many_errors(struct pop3_session *s)
{
	const struct reason *r = reason_lookup("pop3.too-many-errors");
	char line[POP3_REPLY_MAX + 1];

	(void)snprintf(line, sizeof(line), "-ERR %s", r->text);
	pop3_send(s, line);
	log_info("pop3 too many errors sid=%s peer=%s errors=%u", s->sid, s->peer, s->errors);
	pop3_journal(s, "refuse", "pop3.too-many-errors", s->account, NULL);
	pop3_session_close(s, "too many errors");
}

void pop3_err(struct pop3_session *s, const char *reason, const char *text, bool bad_command)
{
	const struct reason *r = reason_lookup(reason);
	char line[POP3_REPLY_MAX + 1];

	if (r == NULL)
		panic("pop3: unknown reason %s", reason);
	if (text == NULL)
		text = r->text;
	/* RFC 2449 8 / RFC 3206: the code in brackets right after -ERR */
	if (r->pop3 != NULL)
		(void)snprintf(line, sizeof(line), "-ERR [%s] %s", r->pop3, text);
	else
		(void)snprintf(line, sizeof(line), "-ERR %s", text);
	pop3_send(s, line);
	if (bad_command && s->state != POP3_STATE_LOGOUT && ++s->errors >= POP3_ERRORS_MAX)
		pop3_too_many_errors(s);
}

void pop3_refuse(struct pop3_session *s, const char *reason, const char *account,
		 const char *detail)
{
	log_info("pop3 refuse sid=%s peer=%s reason=%s%s%s", s->sid, s->peer, reason,
		 account != NULL ? " account=" : "", account != NULL ? account : "");
	pop3_journal(s, "refuse", reason, account, detail);
	pop3_err(s, reason, NULL, false);
}

/* ---- life cycle ---- */

void pop3_session_suspend(struct pop3_session *s)
{
	s->busy = true;
	if (s->conn != NULL)
		conn_pause_input(s->conn);
}

static void pop3_draining_goodbye(struct pop3_session *s)
{
	pop3_err(s, "pop3.shutdown", NULL, false);
	pop3_session_close(s, "server stopping");
}

void pop3_session_resume(struct pop3_session *s)
{
	s->busy = false;
	if (s->conn == NULL || s->state == POP3_STATE_LOGOUT || s->state == POP3_STATE_UPDATE)
		return;
	if (s->draining) {
		pop3_draining_goodbye(s);
		return;
	}
	conn_resume_input(s->conn); /* replays what was pipelined meanwhile */
}

void pop3_session_close(struct pop3_session *s, const char *reason)
{
	pop3_set_state(s, POP3_STATE_LOGOUT);
	if (s->conn != NULL)
		conn_finish(s->conn, reason);
}

/* pop3_screened - an address that screening blocked hears -ERR [SYS/TEMP]
 * instead of a greeting (RFC 1939 4 lets the server refuse with -ERR) and
 * is closed. Only logged: the block itself is in the journal. */
static bool pop3_screened(struct pop3_session *s)
{
	const struct reason *r = reason_lookup(SCREEN_REASON_IP_BLOCKED);
	struct screen_params sp;
	struct screen_block b;
	char until[32], text[POP3_REPLY_MAX];

	screen_params_from_config(s->cfg, &sp);
	if (screen_check_connect(dbpool_get(), &sp, s->peer, screen_now_ms(), &b) <= 0)
		return false;
	time_format_iso(b.until_ms / 1000, until, sizeof(until));
	(void)snprintf(text, sizeof(text), "%s (blocked until %s)", r->text, until);
	log_info("pop3 refuse sid=%s peer=%s reason=%s until=%s", s->sid, s->peer,
		 SCREEN_REASON_IP_BLOCKED, until);
	pop3_err(s, SCREEN_REASON_IP_BLOCKED, text, false);
	pop3_session_close(s, "address blocked by screening");
	return true;
}

void pop3_accept(struct conn *conn, enum listener_kind kind)
{
	struct pop3_session *s = xcalloc(1, sizeof(*s));

	s->id = conn_id(conn);
	s->conn = conn;
	s->cfg = conn_config(conn);
	s->kind = kind;
	s->state = POP3_STATE_AUTHORIZATION;
	if (str_copy(s->sid, conn_sid(conn), sizeof(s->sid)) < 0 ||
	    str_copy(s->peer, conn_peer(conn), sizeof(s->peer)) < 0)
		panic("pop3: sid or peer does not fit");
	conn_set_handler(conn, &pop3_handler, s);
	conn_set_idle_timeout(conn, (unsigned)(s->cfg->pop3_timeout * 1000));
	if (pop3_screened(s))
		return;
	/* no APOP timestamp: APOP needs the password in clear on the server */
	pop3_ok(s, "postino POP3 ready");
}

/* pop3_line_input - one command line, or a SASL response. */
static int pop3_line_input(struct pop3_session *s)
{
	char *line;
	size_t len;
	int ret = conn_read_line(s->conn, POP3_AUTH_LINE_MAX, &line, &len);

	if (ret == 0)
		return 0;
	if (ret < 0) {
		pop3_protolog(s, '<', "(line too long)");
		if (s->state == POP3_STATE_SASL)
			pop3_auth_input(s, NULL, 0); /* ends the exchange */
		else
			pop3_err(s, "pop3.line-too-long", NULL, true);
		return 1;
	}
	if (s->state == POP3_STATE_SASL) {
		pop3_protolog(s, '<', "(sasl response)");
		pop3_auth_input(s, line, len);
		return 1;
	}
	pop3_command_dispatch(s, line, len);
	return 1;
}

static void pop3_on_input(struct conn *conn, void *ctx)
{
	struct pop3_session *s = ctx;

	while (!s->busy && s->conn != NULL) {
		switch (s->state) {
		case POP3_STATE_AUTHORIZATION:
		case POP3_STATE_SASL:
		case POP3_STATE_TRANSACTION:
			if (pop3_line_input(s) == 0)
				return;
			break;
		case POP3_STATE_STLS:
		case POP3_STATE_UPDATE:
		case POP3_STATE_LOGOUT:
		case POP3_STATE_COUNT:
			return;
		}
	}
}

/* pop3_on_timeout - RFC 1939 3: the autologout timer closes the
 * connection without a response and without entering UPDATE. */
static void pop3_on_timeout(struct conn *conn, void *ctx)
{
	struct pop3_session *s = ctx;

	log_info("pop3 timeout sid=%s peer=%s state=%s", s->sid, s->peer,
		 pop3_state_name(s->state));
	pop3_journal(s, "refuse", "pop3.timeout", s->account, pop3_state_name(s->state));
	pop3_session_close(s, "timeout");
}

/* pop3_on_drain - the server stops: a session waiting for a worker or
 * streaming a message ends once that is done; the others hear
 * -ERR [SYS/TEMP] now. Deletions are not applied: only QUIT does that. */
static void pop3_on_drain(struct conn *conn, void *ctx)
{
	struct pop3_session *s = ctx;

	s->draining = true;
	if (s->busy || s->state == POP3_STATE_UPDATE || s->state == POP3_STATE_LOGOUT)
		return;
	if (s->state == POP3_STATE_STLS) {
		pop3_session_close(s, "server stopping");
		return;
	}
	pop3_draining_goodbye(s);
}

static void pop3_on_tls_ready(struct conn *conn, void *ctx)
{
	pop3_stls_ready(ctx);
}

/* pop3_on_kick - screening blocked this client's address: -ERR [SYS/TEMP]
 * and close, whatever the session was doing; nothing is deleted. In the
 * middle of a message a reply would be read as its text: close only. */
static void pop3_on_kick(struct conn *conn, void *ctx, const char *reason)
{
	struct pop3_session *s = ctx;

	if (s->state == POP3_STATE_LOGOUT || s->state == POP3_STATE_UPDATE)
		return;
	log_info("pop3 kick sid=%s peer=%s reason=%s state=%s", s->sid, s->peer, reason,
		 pop3_state_name(s->state));
	pop3_journal(s, "refuse", reason, s->account, "session closed");
	if (s->retr == NULL)
		pop3_err(s, reason, NULL, false);
	pop3_retr_free(&s->retr);
	pop3_session_close(s, "address blocked by screening");
}

static void pop3_on_output_drained(struct conn *conn, void *ctx)
{
	pop3_retr_output_drained(ctx);
}

static void pop3_session_free(void *ptr)
{
	struct pop3_session *s = ptr;

	pop3_retr_free(&s->retr);
	index_close(&s->index);
	pop3_maildrop_clear(&s->drop);
	delayed_reply_free(&s->auth_delay);
	free(s->user);
	free(s->account);
	free(s);
}

static void pop3_on_closed(struct conn *conn, void *ctx, const char *reason)
{
	struct pop3_session *s = ctx;

	delayed_reply_cancel(&s->auth_delay);
	pop3_retr_free(&s->retr);
	/* logged in, no QUIT: nothing is deleted (RFC 1939 6) */
	if (s->state == POP3_STATE_TRANSACTION ||
	    (s->state == POP3_STATE_LOGOUT && s->locked))
		pop3_maildrop_abandon(s, reason);
	/* a job in flight holds the index and answers for the lock: its
	 * completion finds the session gone and lets both go */
	if (s->locked && s->index != NULL) {
		pop3_lock_release(s->account, s->id);
		s->locked = false;
	}
	log_debug("pop3 closed sid=%s state=%s", s->sid, pop3_state_name(s->state));
	s->conn = NULL;
	loop_defer_free(pop3_session_free, s);
}
