/* SPDX-License-Identifier: ISC */
/*
 * pop3-auth.c - logging in: USER/PASS (RFC 1939 7) and AUTH PLAIN
 * (RFC 5034, RFC 4616) end in pop3_login(), over TLS only.
 *
 * The password is checked on a worker (hashing is slow by design): the
 * session suspends, the job asks directory/policy.c with service "pop3"
 * (which also says whether the account may use POP3 at all: can-pop3),
 * and the completion finds the session again by id. What the client is
 * told comes from the reason row policy answered with, so "password
 * expired", "account disabled" and "POP3 disabled" reach the user in
 * words, each with its RFC 3206 code ([AUTH], [SYS/PERM]).
 *
 * Screening (F20), as directory/screen.h describes: policy_auth counts
 * failures and refuses blocked addresses and locked accounts; when an
 * address gets blocked every session from it is kicked; a refusal is
 * answered after screen.failure-delay-ms on a timer with the session
 * suspended, so pipelined guesses wait too.
 *
 * A right password is not yet a session: the maildrop lock (one POP3
 * session per mailbox, -ERR [IN-USE]) is taken on the loop, then the
 * maildrop is opened on a worker (pop3-maildrop.c).
 */
#include "lib/lib.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "core/conn.h"
#include "core/dbpool.h"
#include "core/loop.h"
#include "core/worker.h"
#include "directory/auth-check.h"
#include "directory/policy.h"
#include "directory/screen.h"
#include "mail/sasl.h"
#include "pop3/pop3-private.h"

#include <event2/event.h>

/* RFC 4616 2: authzid, authcid and passwd are each at most 255 octets of
 * UTF-8; we allow the directory's password limit. */
#define POP3_SASL_DECODED_MAX (PASSWORD_MAX + 2 * 256 + 2)

/* ---- SASL PLAIN ---- */

/* auth_end - leave the SASL exchange (success, failure or cancel). */
static void auth_end(struct pop3_session *s)
{
	if (s->state == POP3_STATE_SASL)
		pop3_set_state(s, POP3_STATE_AUTHORIZATION);
}

/* auth_plain - the decoded PLAIN message (mail/sasl.h). */
static void auth_plain(struct pop3_session *s, const char *msg, size_t len)
{
	const char *authcid, *passwd;

	switch (sasl_plain_split(msg, len, &authcid, &passwd)) {
	case SASL_PLAIN_SYNTAX:
		pop3_err(s, "pop3.auth-syntax", NULL, true);
		return;
	case SASL_PLAIN_PROXY:
		pop3_refuse(s, "policy.auth-failed", NULL, "authzid differs from authcid");
		return;
	case SASL_PLAIN_OK:
		break;
	}
	pop3_login(s, authcid, passwd);
}

/* auth_decode_and_login - one base64 response ("=" is empty, RFC 5034 4). */
static void auth_decode_and_login(struct pop3_session *s, const char *text, size_t len)
{
	struct buf msg;

	auth_end(s);
	buf_init(&msg, POP3_SASL_DECODED_MAX);
	if (sasl_decode(text, len, &msg) < 0)
		pop3_err(s, "pop3.auth-syntax", NULL, true);
	else
		auth_plain(s, msg.len > 0 ? msg.data : "", msg.len);
	if (msg.data != NULL)
		explicit_bzero(msg.data, msg.cap);
	buf_release(&msg);
}

void pop3_auth_begin(struct pop3_session *s, const char *mech, const char *initial)
{
	if (str_casecmp(mech, "PLAIN") != 0) {
		pop3_err(s, "pop3.auth-mechanism", NULL, true);
		return;
	}
	if (initial != NULL) {
		auth_decode_and_login(s, initial, strlen(initial));
		return;
	}
	pop3_set_state(s, POP3_STATE_SASL);
	pop3_send(s, "+ "); /* RFC 5034 4: PLAIN's challenge is empty */
}

void pop3_auth_input(struct pop3_session *s, const char *line, size_t len)
{
	if (line == NULL) {
		auth_end(s);
		pop3_err(s, "pop3.auth-syntax", "Authentication response too long", true);
		return;
	}
	if (len == 1 && line[0] == '*') { /* RFC 5034 4: the client cancels */
		auth_end(s);
		pop3_err(s, "pop3.auth-cancelled", NULL, false);
		return;
	}
	auth_decode_and_login(s, line, len);
}

/* ---- the check on a worker ---- */

/* auth_refusal_send - the delayed refusal is due (core/delayed-reply.h). */
static void auth_refusal_send(void *ctx, const char *reason)
{
	struct pop3_session *s = ctx;

	if (s->conn == NULL || s->state == POP3_STATE_LOGOUT)
		return;
	pop3_err(s, reason, NULL, false);
	pop3_session_resume(s);
}

/* auth_refused - journal the refusal under its exact code (the client
 * hears the row of result.reason), then kick the address's sessions if
 * it is blocked, or answer after the delay. */
static void auth_refused(struct pop3_session *s, struct auth_check *check)
{
	const struct policy_auth_result *r = &check->result;
	char login[SCREEN_SUBJECT_MAX], detail[SCREEN_SUBJECT_MAX + 64];

	auth_check_describe(check, login, sizeof(login), detail, sizeof(detail));
	log_info("pop3 auth failed sid=%s peer=%s login=%.100s reason=%s", s->sid, s->peer, login,
		 r->journal_reason);
	pop3_journal(s, "refuse", r->journal_reason, login, detail[0] != '\0' ? detail : NULL);
	if (r->ip_blocked) {
		/* this session is one of them: it hears -ERR [SYS/TEMP] and closes */
		conn_kick_peers(screen_same_address, s->peer, SCREEN_REASON_IP_BLOCKED);
		return;
	}
	delayed_reply_start(&s->auth_delay, s->cfg->screen_failure_delay_ms, r->reason,
			    auth_refusal_send, s);
}

/* auth_allowed - the password is right: lock the maildrop, then open it
 * (its completion says +OK and resumes). */
static void auth_allowed(struct pop3_session *s, struct auth_check *check)
{
	char *account = check->result.account;

	if (pop3_lock_take(account, s->id) < 0) {
		pop3_refuse(s, "pop3.in-use", account, "password accepted");
		pop3_session_resume(s);
		return;
	}
	check->result.account = NULL;
	s->account = account;
	s->locked = true;
	log_info("pop3 login sid=%s peer=%s account=%s", s->sid, s->peer, s->account);
	pop3_journal(s, "allow", "policy.auth-ok", s->account, NULL);
	pop3_maildrop_open(s);
}

static void auth_job_done(uint64_t id, void *arg)
{
	struct auth_check *check = arg;
	struct pop3_session *s = pop3_session_lookup(id);

	if (s == NULL) {
		auth_check_free(check);
		return;
	}
	if (check->ret == POLICY_ALLOW) {
		auth_allowed(s, check);
	} else if (check->ret == POLICY_DENY) {
		auth_refused(s, check);
	} else {
		pop3_refuse(s, "policy.tempfail", check->login, "directory lookup failed");
		pop3_session_resume(s);
	}
	auth_check_free(check);
}

void pop3_login(struct pop3_session *s, const char *login, const char *password)
{
	struct auth_check *check =
		auth_check_new("pop3", s->cfg, s->sid, s->peer, login, password);

	pop3_session_suspend(s);
	worker_submit(auth_check_job, auth_job_done, s->id, check);
}
