/* SPDX-License-Identifier: ISC */
/*
 * cmd-rcpt.c - RCPT TO (RFC 5321 4.1.1.3) with NOTIFY/ORCPT (RFC 3461).
 *
 * Who may receive is policy.c's answer, asked on a worker (it reads the
 * directory and the mailbox's quota file). Every refusal is made here, at
 * RCPT time, with its own code: the sender's server learns at once, and
 * we never have to bounce to a sender that may be forged.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "core/dbpool.h"
#include "core/worker.h"
#include "directory/policy.h"
#include "smtp/smtp-hijack.h"
#include "smtp/smtp-private.h"

#define RCPT_POOL_SIZE 1024

struct rcpt_job {
	struct pool *pool;          /* the parsed path and parameters */
	struct smtp_path_cmd rcpt;
	struct policy_client client;
	char *account;
	/* hijack detection (F21): asked first when the client is an account */
	bool limited_check;
	struct smtp_hijack_ctx hijack;
	unsigned tx_rcpts;          /* recipients this transaction already has */
	/* out */
	int ret;
	struct policy_rcpt_result result;
	bool limited;               /* over the account's send limit */
	char limited_detail[SMTP_HIJACK_DETAIL_MAX];
};

int cmd_rcpt_check(struct smtp_session *s, const char *args)
{
	if (s->tx->rcpt_count >= s->cfg->smtp_max_recipients) {
		/* RFC 5321 4.5.3.1.10: 452, and the client sends the rest later */
		smtp_refuse(s, "smtp.too-many-recipients", NULL, NULL);
		return -1;
	}
	return 0;
}

static void rcpt_job_run(void *arg)
{
	struct rcpt_job *job = arg;
	struct db *db = dbpool_get();

	if (db == NULL) {
		job->ret = -1;
		return;
	}
	if (job->limited_check) {
		int ret = smtp_hijack_check(db, &job->hijack, job->tx_rcpts, job->limited_detail,
					    sizeof(job->limited_detail));
		if (ret != 0) {
			job->limited = ret > 0;
			job->ret = ret < 0 ? -1 : POLICY_DENY;
			return;
		}
	}
	job->ret = policy_rcpt(db, &job->client, &job->rcpt.path, &job->result);
}

static void rcpt_job_free(struct rcpt_job *job)
{
	policy_rcpt_clear(&job->result);
	if (job->limited_check)
		smtp_hijack_ctx_clear(&job->hijack);
	free(job->account);
	pool_free(&job->pool);
	free(job);
}

static void rcpt_job_done(uint64_t id, void *arg)
{
	struct rcpt_job *job = arg;
	struct smtp_session *s = smtp_session_lookup(id);
	const char *addr = job->rcpt.path.addr;

	if (s == NULL || s->tx == NULL) {
		rcpt_job_free(job);
		return;
	}
	if (job->ret < 0) {
		smtp_refuse(s, POLICY_REASON_TEMPFAIL, addr, "directory lookup failed");
	} else if (job->limited) {
		/* the sender's figures, not the recipient's fault: journalled
		 * under the account, the recipient in the detail */
		char detail[SMTP_HIJACK_DETAIL_MAX + 300];
		s->tx->rcpt_refused++;
		(void)snprintf(detail, sizeof(detail), "to=<%.250s> %s", addr, job->limited_detail);
		smtp_refuse(s, SENDLIMIT_REASON_LIMITED, NULL, detail);
	} else if (job->ret == POLICY_DENY) {
		s->tx->rcpt_refused++;
		log_info("smtp refuse sid=%s peer=%s rcpt=%s reason=%s %s", s->sid, s->peer, addr,
			 job->result.reason, job->result.detail);
		smtp_journal(s, "refuse", job->result.reason, addr, NULL, s->tx->id,
			     job->result.detail[0] != '\0' ? job->result.detail : NULL);
		smtp_reply_reason(s, job->result.reason, NULL);
	} else {
		const char *orcpt = NULL;
		if (job->rcpt.params.orcpt != NULL)
			orcpt = p_printf(job->pool, "%s;%s", job->rcpt.params.orcpt_type,
					 job->rcpt.params.orcpt);
		log_debug("smtp rcpt sid=%s id=%s to=<%s> dests=%zu", s->sid, s->tx->id, addr,
			  job->result.dest_count);
		smtp_tx_add_rcpt(s->tx, addr, job->rcpt.params.notify, orcpt, &job->result);
		smtp_set_state(s, SMTP_STATE_RCPT);
		smtp_reply(s, "250 2.1.5 Recipient OK");
	}
	rcpt_job_free(job);
	smtp_session_resume(s);
}

void cmd_rcpt_proceed(struct smtp_session *s, const char *args)
{
	struct rcpt_job *job = xcalloc(1, sizeof(*job));
	struct mail_error error;

	job->pool = pool_new(RCPT_POOL_SIZE);
	if (smtp_cmd_parse_rcpt(job->pool, args, s->ext, s->tx->mail.smtputf8, &job->rcpt,
				&error) < 0) {
		smtp_reply_error(s, &error, "smtp.syntax");
		rcpt_job_free(job);
		return;
	}
	job->account = s->account != NULL ? xstrdup(s->account) : NULL;
	job->client = (struct policy_client){
		.mx = !smtp_is_submission(s),
		.account = job->account,
		.data_dir = dbpool_data_dir(),
		.quota_temporary = s->cfg->smtp_quota_temporary,
		.size_hint = (s->tx->mail.given & SMTP_PARAM_SIZE) ? s->tx->mail.size : 0,
	};
	if (s->account != NULL) {
		job->limited_check = true;
		job->tx_rcpts = s->tx->rcpt_count;
		smtp_hijack_ctx_init(&job->hijack, s);
	}
	smtp_session_suspend(s);
	worker_submit(rcpt_job_run, rcpt_job_done, s->id, job);
}
