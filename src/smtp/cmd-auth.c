/* SPDX-License-Identifier: ISC */
/*
 * cmd-auth.c - AUTH PLAIN and LOGIN (RFC 4954, RFC 4616, the LOGIN
 * draft), on the submission ports and over TLS only.
 *
 * The password is checked on a worker (hashing is slow by design): the
 * session suspends, the job asks directory/policy.c, and the completion
 * finds the session again by id. What the client is told comes from the
 * reason row policy answered with, so "password expired", "account
 * disabled" and "temporarily locked" reach the user in words, not just
 * as 535.
 *
 * Screening (F20) rides along: policy_auth counts failures and refuses
 * blocked addresses and locked accounts; when an address gets blocked,
 * every session from it is closed here (conn_kick_peers). A refusal is
 * answered after screen.failure-delay-ms on a timer, with the session
 * suspended, so guessing is slowed without holding the loop or a worker.
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
#include "smtp/smtp-private.h"

#include <event2/event.h>

#define AUTH_DECODED_MAX SASL_PLAIN_DECODED_MAX(PASSWORD_MAX)

enum auth_mech {
	AUTH_MECH_NONE,
	AUTH_MECH_PLAIN,
	AUTH_MECH_LOGIN_USER,     /* LOGIN: waiting for the user name */
	AUTH_MECH_LOGIN_PASSWORD, /* LOGIN: waiting for the password */
};

static void auth_verify(struct smtp_session *s, const char *login, const char *password);

int cmd_auth_check(struct smtp_session *s, const char *args)
{
	if (!smtp_is_submission(s)) {
		smtp_reply_reason(s, "smtp.auth-not-offered", NULL);
		return -1;
	}
	if (!conn_is_tls(s->conn)) {
		smtp_refuse(s, "smtp.auth-encryption-required", NULL, NULL);
		return -1;
	}
	if (s->account != NULL) {
		smtp_reply_reason(s, "smtp.auth-already", NULL);
		return -1;
	}
	if (args[0] == '\0') {
		smtp_reply_reason(s, "smtp.syntax", "Syntax: AUTH mechanism [initial-response]");
		return -1;
	}
	return 0;
}

/* auth_end - leave the exchange (success, failure or cancel). */
static void auth_end(struct smtp_session *s)
{
	s->auth_mech = AUTH_MECH_NONE;
	if (s->auth_login != NULL) {
		explicit_bzero(s->auth_login, strlen(s->auth_login));
		free(s->auth_login);
		s->auth_login = NULL;
	}
	if (s->state == SMTP_STATE_AUTH)
		smtp_set_state(s, SMTP_STATE_READY);
}

/* auth_plain - the decoded PLAIN message (mail/sasl.h). */
static void auth_plain(struct smtp_session *s, const unsigned char *msg, size_t len)
{
	const char *authcid, *passwd;

	switch (sasl_plain_split((const char *)msg, len, &authcid, &passwd)) {
	case SASL_PLAIN_SYNTAX:
		auth_end(s);
		smtp_reply_reason(s, "smtp.auth-syntax", NULL);
		return;
	case SASL_PLAIN_PROXY:
		auth_end(s);
		smtp_refuse(s, "policy.auth-failed", NULL, "authzid differs from authcid");
		return;
	case SASL_PLAIN_OK:
		break;
	}
	auth_verify(s, authcid, passwd);
}

/* auth_response - one decoded client response for the current step. */
static void auth_response(struct smtp_session *s, const unsigned char *msg, size_t len)
{
	switch (s->auth_mech) {
	case AUTH_MECH_PLAIN:
		auth_plain(s, msg, len);
		return;
	case AUTH_MECH_LOGIN_USER:
		if (len == 0 || memchr(msg, '\0', len) != NULL) {
			auth_end(s);
			smtp_reply_reason(s, "smtp.auth-syntax", NULL);
			return;
		}
		free(s->auth_login);
		s->auth_login = xstrndup((const char *)msg, len);
		s->auth_mech = AUTH_MECH_LOGIN_PASSWORD;
		smtp_set_state(s, SMTP_STATE_AUTH);
		smtp_reply(s, "334 UGFzc3dvcmQ6"); /* "Password:" */
		return;
	case AUTH_MECH_LOGIN_PASSWORD: {
		if (memchr(msg, '\0', len) != NULL) {
			auth_end(s);
			smtp_reply_reason(s, "smtp.auth-syntax", NULL);
			return;
		}
		char *login = s->auth_login;
		s->auth_login = NULL;
		auth_verify(s, login, (const char *)msg);
		explicit_bzero(login, strlen(login));
		free(login);
		return;
	}
	case AUTH_MECH_NONE:
		break;
	}
	panic("smtp: AUTH response without a mechanism");
}

/* auth_decode_and_respond - base64 text of one response ("=" is empty,
 * RFC 4954 4). */
static void auth_decode_and_respond(struct smtp_session *s, const char *text, size_t len)
{
	struct buf msg;

	buf_init(&msg, AUTH_DECODED_MAX);
	if (sasl_decode(text, len, &msg) < 0) {
		auth_end(s);
		smtp_reply_reason(s, "smtp.auth-syntax", NULL);
	} else {
		auth_response(s, (const unsigned char *)(msg.len > 0 ? msg.data : ""), msg.len);
	}
	if (msg.data != NULL)
		explicit_bzero(msg.data, msg.cap);
	buf_release(&msg);
}

void cmd_auth_proceed(struct smtp_session *s, const char *args)
{
	const char *sp = strchr(args, ' ');
	size_t mlen = sp != NULL ? (size_t)(sp - args) : strlen(args);
	const char *initial = sp != NULL ? sp + 1 : NULL;

	if (mlen == 5 && str_ncasecmp(args, "PLAIN", 5) == 0) {
		s->auth_mech = AUTH_MECH_PLAIN;
	} else if (mlen == 5 && str_ncasecmp(args, "LOGIN", 5) == 0) {
		s->auth_mech = AUTH_MECH_LOGIN_USER;
	} else {
		smtp_reply_reason(s, "smtp.auth-mechanism", NULL);
		return;
	}
	if (initial != NULL) {
		auth_decode_and_respond(s, initial, strlen(initial));
		return;
	}
	smtp_set_state(s, SMTP_STATE_AUTH);
	/* PLAIN: an empty challenge; LOGIN: "Username:" */
	smtp_reply(s, s->auth_mech == AUTH_MECH_PLAIN ? "334 " : "334 VXNlcm5hbWU6");
}

/* cmd_auth_input - a SASL response line; NULL when it was too long. */
void cmd_auth_input(struct smtp_session *s, const char *line, size_t len)
{
	if (line == NULL) {
		auth_end(s);
		smtp_reply_reason(s, "smtp.auth-syntax", "Authentication response too long");
		return;
	}
	if (len == 1 && line[0] == '*') { /* RFC 4954 4: the client cancels */
		auth_end(s);
		smtp_reply_reason(s, "smtp.auth-cancelled", NULL);
		return;
	}
	auth_decode_and_respond(s, line, len);
}

/* ---- the check on a worker ---- */

/* auth_refusal_send - the delayed refusal is due (core/delayed-reply.h). */
static void auth_refusal_send(void *ctx, const char *reason)
{
	struct smtp_session *s = ctx;

	if (s->conn == NULL || s->state == SMTP_STATE_QUIT)
		return;
	smtp_reply_reason(s, reason, NULL);
	smtp_session_resume(s);
}

/* auth_refused - journal the refusal under its exact code (the client
 * hears the row of result.reason), then close the address's sessions if
 * it is blocked, or answer after the delay. */
static void auth_refused(struct smtp_session *s, struct auth_check *check)
{
	const struct policy_auth_result *r = &check->result;
	char login[SCREEN_SUBJECT_MAX], detail[SCREEN_SUBJECT_MAX + 64];

	auth_check_describe(check, login, sizeof(login), detail, sizeof(detail));
	log_info("smtp auth failed sid=%s peer=%s login=%.100s reason=%s", s->sid, s->peer, login,
		 r->journal_reason);
	smtp_journal(s, "refuse", r->journal_reason, login, NULL, NULL,
		     detail[0] != '\0' ? detail : NULL);
	if (r->ip_blocked) {
		/* this session is one of them: it gets the 421 and closes */
		conn_kick_peers(screen_same_address, s->peer, SCREEN_REASON_IP_BLOCKED);
		return;
	}
	delayed_reply_start(&s->auth_delay, s->cfg->screen_failure_delay_ms, r->reason,
			    auth_refusal_send, s);
}

static void auth_job_done(uint64_t id, void *arg)
{
	struct auth_check *check = arg;
	struct smtp_session *s = smtp_session_lookup(id);

	if (s == NULL) {
		auth_check_free(check);
		return;
	}
	auth_end(s);
	if (check->ret == POLICY_ALLOW) {
		s->account = check->result.account;
		check->result.account = NULL;
		log_info("smtp auth sid=%s peer=%s account=%s", s->sid, s->peer, s->account);
		smtp_journal(s, "allow", "policy.auth-ok", s->account, NULL, NULL, NULL);
		smtp_reply_reason(s, "policy.auth-ok", NULL);
		smtp_session_resume(s);
	} else if (check->ret == POLICY_DENY) {
		auth_refused(s, check);
	} else {
		smtp_refuse(s, "smtp.auth-tempfail", check->login, "directory lookup failed");
		smtp_session_resume(s);
	}
	auth_check_free(check);
}

static void auth_verify(struct smtp_session *s, const char *login, const char *password)
{
	struct auth_check *check =
		auth_check_new("smtp", s->cfg, s->sid, s->peer, login, password);

	smtp_session_suspend(s);
	worker_submit(auth_check_job, auth_job_done, s->id, check);
}
