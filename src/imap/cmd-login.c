/* SPDX-License-Identifier: ISC */
/*
 * cmd-login.c - LOGIN (RFC 9051 6.2.3), and the credential check that
 * AUTHENTICATE shares.
 *
 * The password is checked on a worker (hashing is slow by design) by
 * directory/policy.c, which also screens (F20), refuses disabled
 * accounts, expired passwords and accounts whose IMAP service is off. On
 * success the same job opens the account's index (store/index.h: it may
 * create the Maildir and scan it). The client hears the reason row
 * policy answered with, RFC 5530 code included: AUTHENTICATIONFAILED,
 * CONTACTADMIN, EXPIRED ("change it in webmail"). A refusal is answered
 * after screen.failure-delay-ms on a timer (the loop never sleeps), and
 * an address that the failure got blocked has all its sessions closed.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "core/conn.h"
#include "core/dbpool.h"
#include "directory/directory.h"
#include "directory/auth-check.h"
#include "directory/policy.h"
#include "directory/screen.h"
#include "store/index.h"
#include "imap/imap-private.h"

struct login_job {
	struct imap_job job;
	struct auth_check check;
	const char *data_dir;
	/* out */
	int index_ret;
	struct index_error error;
};

bool imap_login_refused_plaintext(struct imap_cmd *cmd)
{
	if (conn_is_tls(cmd->s->conn))
		return false;
	imap_cmd_refuse(cmd, "imap.privacy-required", NULL);
	return true;
}

int imap_index_open(const char *data_dir, const char *account, struct index **index_r,
		    struct index_error *error_r)
{
	struct db *db = dbpool_get();
	uint64_t domain_quota = 0;
	struct account a;
	struct domain d;
	int ret;

	*index_r = NULL;
	if (db == NULL || account_get(db, account, &a) <= 0) {
		error_r->reason = "policy.tempfail";
		(void)snprintf(error_r->text, sizeof(error_r->text), "account %s not readable",
			       account);
		return -1;
	}
	if (domain_get(db, a.domain, &d) > 0) {
		domain_quota = d.quota_bytes;
		domain_clear(&d);
	}
	struct index_settings set = {
		.data_dir = data_dir,
		.account = &a,
		.domain_quota_bytes = domain_quota,
	};
	ret = index_open(&set, index_r, error_r);
	account_clear(&a);
	return ret;
}

static void login_run(struct imap_job *job)
{
	struct login_job *j = (struct login_job *)job;

	auth_check_run(&j->check);
	if (j->check.ret == POLICY_ALLOW)
		j->index_ret = imap_index_open(j->data_dir, j->check.result.account, &j->job.index,
					       &j->error);
}

static void login_free(struct imap_job *job)
{
	struct login_job *j = (struct login_job *)job;

	auth_check_clear(&j->check);
	free(j);
}

static void login_refusal_delayed(struct imap_cmd *cmd)
{
	imap_cmd_reason(cmd, cmd->ctx, NULL);
}

/* login_refused - journal under the exact code (the client hears the
 * row of result.reason), then close the address's sessions if it is
 * blocked, or answer after the delay. */
static void login_refused(struct imap_cmd *cmd, struct login_job *j)
{
	struct imap_session *s = cmd->s;
	const struct policy_auth_result *r = &j->check.result;
	char login[SCREEN_SUBJECT_MAX], detail[SCREEN_SUBJECT_MAX + 64];
	uint64_t ms = s->cfg->screen_failure_delay_ms;

	auth_check_describe(&j->check, login, sizeof(login), detail, sizeof(detail));
	log_info("imap login failed sid=%s peer=%s login=%.100s reason=%s", s->sid, s->peer, login,
		 r->journal_reason);
	imap_journal(s, "refuse", r->journal_reason, login, detail[0] != '\0' ? detail : NULL);
	if (r->ip_blocked) {
		/* this session is one of them: it gets BYE and closes */
		conn_kick_peers(screen_same_address, s->peer, SCREEN_REASON_IP_BLOCKED);
		return;
	}
	/* only real guesses are slowed down: a right password for a disabled
	 * or expired account is answered at once */
	if (ms == 0 || !r->screen.counted) {
		imap_cmd_reason(cmd, r->reason, NULL);
		return;
	}
	cmd->ctx = (void *)r->reason; /* a static reason code */
	imap_cmd_set_timer(cmd, (unsigned)ms, login_refusal_delayed);
}

static void login_allowed(struct imap_cmd *cmd, struct login_job *j)
{
	struct imap_session *s = cmd->s;
	const char *account = j->check.result.account;
	struct buf b;

	if (j->index_ret < 0) {
		log_warn("imap login sid=%s account=%s: index: %s", s->sid, account, j->error.text);
		imap_journal(s, "refuse", j->error.reason, account, j->error.text);
		index_close(&s->index);
		imap_cmd_reason(cmd, j->error.reason, NULL);
		return;
	}
	if (imap_session_count_account(account) >= s->cfg->imap_max_connections_per_user) {
		index_close(&s->index);
		log_info("imap refuse sid=%s peer=%s account=%s reason=imap.too-many-sessions", s->sid,
			 s->peer, account);
		imap_journal(s, "refuse", "imap.too-many-sessions", account, NULL);
		imap_cmd_reason(cmd, "imap.too-many-sessions", NULL);
		return;
	}
	free(s->root);
	s->root = xstrdup(index_root(s->index));
	imap_session_logged_in(s, j->check.result.account);
	j->check.result.account = NULL;
	log_info("imap login sid=%s peer=%s account=%s", s->sid, s->peer, s->account);
	imap_journal(s, "allow", "policy.auth-ok", s->account, NULL);
	buf_init(&b, IMAP_LINE_MAX);
	if (imap_capability_write(s, &b) < 0)
		panic("imap: capability list does not fit");
	imap_cmd_ok(cmd, "[CAPABILITY %s] Logged in", b.data);
	buf_release(&b);
}

static void login_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct login_job *j = (struct login_job *)job;

	if (j->check.ret == POLICY_ALLOW) {
		login_allowed(cmd, j);
	} else if (j->check.ret == POLICY_DENY) {
		login_refused(cmd, j);
	} else {
		log_warn("imap login sid=%s: directory lookup failed", cmd->s->sid);
		imap_journal(cmd->s, "refuse", "policy.tempfail", NULL, "directory lookup failed");
		imap_cmd_reason(cmd, "policy.tempfail", NULL);
	}
}

void imap_login_verify(struct imap_cmd *cmd, const char *login, const char *password)
{
	struct imap_session *s = cmd->s;
	struct login_job *j = xcalloc(1, sizeof(*j));

	j->job.run = login_run;
	j->job.done = login_done;
	j->job.free = login_free;
	auth_check_init(&j->check, "imap", s->cfg, s->sid, s->peer, login, password);
	j->data_dir = dbpool_data_dir();
	imap_job_submit(cmd, &j->job);
}

void cmd_login(struct imap_cmd *cmd)
{
	const char *login, *password;

	if (cmd->count != 2 || imap_arg_get_astring(&cmd->args[0], &login) < 0 ||
	    imap_arg_get_astring(&cmd->args[1], &password) < 0) {
		imap_cmd_bad(cmd, "Syntax: LOGIN user password");
		return;
	}
	if (imap_login_refused_plaintext(cmd))
		return;
	if (strlen(password) > PASSWORD_MAX || login[0] == '\0') {
		imap_cmd_reason(cmd, "policy.auth-failed", NULL);
		return;
	}
	imap_login_verify(cmd, login, password);
}
