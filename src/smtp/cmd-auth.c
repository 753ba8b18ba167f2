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
#include "directory/policy.h"
#include "directory/screen.h"
#include "smtp/smtp-private.h"

#include <event2/event.h>

/* RFC 4616 2: authzid, authcid and passwd are each at most 255 octets
 * of UTF-8; we allow the directory's password limit. */
#define AUTH_DECODED_MAX (PASSWORD_MAX + 2 * 256 + 2)

enum auth_mech {
	AUTH_MECH_NONE,
	AUTH_MECH_PLAIN,
	AUTH_MECH_LOGIN_USER,     /* LOGIN: waiting for the user name */
	AUTH_MECH_LOGIN_PASSWORD, /* LOGIN: waiting for the password */
};

struct auth_job {
	char *login, *password;
	char sid[32], peer[64];
	int64_t now_ms;
	struct screen_params screen; /* a copy: the job must not read the loop's config */
	/* out */
	int ret;
	struct policy_auth_result result;
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

/* auth_plain - RFC 4616 2: [authzid] NUL authcid NUL passwd. We do not
 * let one account act for another: authzid is empty or the authcid. */
static void auth_plain(struct smtp_session *s, const unsigned char *msg, size_t len)
{
	const char *authzid = (const char *)msg, *authcid, *passwd;
	const unsigned char *nul1 = memchr(msg, '\0', len), *nul2;

	if (nul1 == NULL || (nul2 = memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - msg))) == NULL ||
	    memchr(nul2 + 1, '\0', len - (size_t)(nul2 + 1 - msg)) != NULL) {
		auth_end(s);
		smtp_reply_reason(s, "smtp.auth-syntax", NULL);
		return;
	}
	authcid = (const char *)nul1 + 1;
	passwd = (const char *)nul2 + 1;
	if (authzid[0] != '\0' && strcmp(authzid, authcid) != 0) {
		auth_end(s);
		smtp_refuse(s, "policy.auth-failed", NULL, "authzid differs from authcid");
		return;
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
	if (!(len == 1 && text[0] == '=') && (len == 0 || base64_decode(text, len, &msg) < 0)) {
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

static void auth_job_run(void *arg)
{
	struct auth_job *job = arg;
	struct db *db = dbpool_get();
	struct policy_auth_request req = {
		.service = "smtp",
		.ip = job->peer,
		.sid = job->sid,
		.login = job->login,
		.password = job->password,
		.now_ms = job->now_ms,
		.screen = &job->screen,
	};

	job->ret = db == NULL ? -1 : policy_auth(db, &req, &job->result);
	explicit_bzero(job->password, strlen(job->password));
}

static void auth_job_free(struct auth_job *job)
{
	explicit_bzero(job->password, strlen(job->password));
	free(job->password);
	free(job->login);
	policy_auth_result_clear(&job->result);
	free(job);
}

static void auth_on_delay(evutil_socket_t fd, short what, void *ctx)
{
	struct smtp_session *s = ctx;
	const char *reason = s->auth_delay_reason;

	s->auth_delay_reason = NULL;
	if (s->conn == NULL || s->state == SMTP_STATE_QUIT || reason == NULL)
		return;
	smtp_reply_reason(s, reason, NULL);
	smtp_session_resume(s);
}

/* auth_refuse_later - the 535 after screen.failure-delay-ms; the session
 * stays suspended until then, so pipelined guesses wait too. */
static void auth_refuse_later(struct smtp_session *s, const char *reason)
{
	uint64_t ms = s->cfg->screen_failure_delay_ms;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	if (ms == 0) {
		smtp_reply_reason(s, reason, NULL);
		smtp_session_resume(s);
		return;
	}
	if (s->auth_delay == NULL)
		s->auth_delay = evtimer_new(loop_base(), auth_on_delay, s);
	s->auth_delay_reason = reason;
	evtimer_add(s->auth_delay, &tv);
}

/* auth_refused - journal the refusal under its exact code (the client
 * hears the row of result.reason), then close the address's sessions if
 * it is blocked, or answer after the delay. */
static void auth_refused(struct smtp_session *s, struct auth_job *job)
{
	const struct policy_auth_result *r = &job->result;
	char login[SCREEN_SUBJECT_MAX], until[32], detail[SCREEN_SUBJECT_MAX + 64];

	screen_login_key(job->login, login, sizeof(login));
	detail[0] = '\0';
	if (r->block.until_ms > 0) {
		time_format_iso(r->block.until_ms / 1000, until, sizeof(until));
		(void)snprintf(detail, sizeof(detail), "%s until %s", r->block.subject, until);
	} else if (r->screen.counted) {
		(void)snprintf(detail, sizeof(detail),
			       "failures counted: %" PRIu64 " from this address, %" PRIu64
			       " for this login",
			       r->screen.ip_failures, r->screen.account_failures);
	}
	log_info("smtp auth failed sid=%s peer=%s login=%.100s reason=%s", s->sid, s->peer, login,
		 r->journal_reason);
	smtp_journal(s, "refuse", r->journal_reason, login, NULL, NULL,
		     detail[0] != '\0' ? detail : NULL);
	if (r->ip_blocked) {
		/* this session is one of them: it gets the 421 and closes */
		conn_kick_peers(screen_same_address, s->peer, SCREEN_REASON_IP_BLOCKED);
		return;
	}
	auth_refuse_later(s, r->reason);
}

static void auth_job_done(uint64_t id, void *arg)
{
	struct auth_job *job = arg;
	struct smtp_session *s = smtp_session_lookup(id);

	if (s == NULL) {
		auth_job_free(job);
		return;
	}
	auth_end(s);
	if (job->ret == POLICY_ALLOW) {
		s->account = job->result.account;
		job->result.account = NULL;
		log_info("smtp auth sid=%s peer=%s account=%s", s->sid, s->peer, s->account);
		smtp_journal(s, "allow", "policy.auth-ok", s->account, NULL, NULL, NULL);
		smtp_reply_reason(s, "policy.auth-ok", NULL);
		smtp_session_resume(s);
	} else if (job->ret == POLICY_DENY) {
		auth_refused(s, job);
	} else {
		smtp_refuse(s, "smtp.auth-tempfail", job->login, "directory lookup failed");
		smtp_session_resume(s);
	}
	auth_job_free(job);
}

static void auth_verify(struct smtp_session *s, const char *login, const char *password)
{
	struct auth_job *job = xcalloc(1, sizeof(*job));

	job->login = xstrdup(login);
	job->password = xstrdup(password);
	job->now_ms = screen_now_ms();
	if (str_copy(job->sid, s->sid, sizeof(job->sid)) < 0 ||
	    str_copy(job->peer, s->peer, sizeof(job->peer)) < 0)
		panic("smtp: sid or peer does not fit the auth job");
	screen_params_from_config(s->cfg, &job->screen);
	smtp_session_suspend(s);
	worker_submit(auth_job_run, auth_job_done, s->id, job);
}
