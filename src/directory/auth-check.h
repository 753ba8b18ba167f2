/* SPDX-License-Identifier: ISC */
/*
 * auth-check.h - one login attempt, carried from a protocol session on
 * the loop to a worker and back. SMTP AUTH, IMAP LOGIN/AUTHENTICATE and
 * POP3 USER/PASS/AUTH each embed one in their worker job:
 *
 *   loop:    auth_check_init(&job->check, "imap", cfg, sid, peer, login, pw);
 *   worker:  auth_check_run(&job->check);          // policy_auth(), hashing
 *   loop:    switch (job->check.ret) { POLICY_ALLOW / POLICY_DENY / -1 }
 *            on DENY: auth_check_describe() for the journal row
 *   either:  auth_check_clear(&job->check);
 *
 * The password is wiped as soon as the worker has checked it, and again
 * when the check is cleared (a check dropped before it ran).
 */
#ifndef POSTINO_DIRECTORY_AUTH_CHECK_H
#define POSTINO_DIRECTORY_AUTH_CHECK_H

#include "lib/lib.h"
#include "directory/policy.h"
#include "directory/screen.h"

struct config;

struct auth_check {
	const char *service; /* a static string: "smtp", "imap", "pop3" */
	char *login, *password;
	char sid[32], peer[64];
	int64_t now_ms;
	struct screen_params screen; /* a copy: the worker must not read the loop's config */
	/* out */
	int ret; /* POLICY_ALLOW, POLICY_DENY, -1 when the directory failed */
	struct policy_auth_result result;
};

/* auth_check_init - fill a check on the loop thread; panics if sid or
 * peer do not fit (both are produced by core/conn.c within bounds). */
void auth_check_init(struct auth_check *c, const char *service, const struct config *cfg,
		     const char *sid, const char *peer, const char *login, const char *password);

/* auth_check_run - on a worker: screening, the password, the account. */
void auth_check_run(struct auth_check *c);

/* auth_check_describe - for a POLICY_DENY: the login as screening keys
 * it (bounded, for the journal's subject) and the journal detail (the
 * block and its end, or the failure counts; "" when neither applies). */
void auth_check_describe(const struct auth_check *c, char *login, size_t login_size,
			 char *detail, size_t detail_size);

void auth_check_clear(struct auth_check *c);

/* For protocols whose worker job is the check alone: a heap check and
 * the worker_submit() run function for it. */
struct auth_check *auth_check_new(const char *service, const struct config *cfg,
				  const char *sid, const char *peer, const char *login,
				  const char *password);
void auth_check_job(void *check);
void auth_check_free(struct auth_check *c);

#endif
