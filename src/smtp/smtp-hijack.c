/* SPDX-License-Identifier: ISC */
/*
 * smtp-hijack.c - hijack detection at MAIL and RCPT (F21): the check,
 * the trip, the postmaster's notice, and the refusal.
 *
 * The rules and the figures are directory/sendlimit.c's; this file only
 * carries a session's copy of them to a worker and answers. The notice
 * goes through queue/inject.c like every message the server writes, from
 * the null sender (nothing may bounce back to it), once per trip:
 * sendlimit_trip() says whether this attempt is the one that stopped the
 * account.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "core/dbpool.h"
#include "core/journal.h"
#include "core/worker.h"
#include "queue/inject.h"
#include "smtp/smtp-hijack.h"
#include "smtp/smtp-private.h"

/* One MAIL over the limit, waiting for its trip on a worker. */
struct hijack_job {
	struct smtp_hijack_ctx ctx;
	int ret;
	char detail[SMTP_HIJACK_DETAIL_MAX];
};

static char *xstrdup_or_empty(const char *s)
{
	return xstrdup(s != NULL ? s : "");
}

void smtp_hijack_ctx_init(struct smtp_hijack_ctx *ctx, const struct smtp_session *s)
{
	sendlimit_params_from_config(s->cfg, &ctx->limits);
	ctx->account = xstrdup_or_empty(s->account);
	ctx->peer = xstrdup(s->peer);
	ctx->sid = xstrdup(s->sid);
	ctx->hostname = xstrdup(s->cfg->hostname);
	ctx->postmaster = xstrdup_or_empty(s->cfg->postmaster);
	ctx->data_dir = xstrdup_or_empty(dbpool_data_dir());
}

void smtp_hijack_ctx_clear(struct smtp_hijack_ctx *ctx)
{
	free(ctx->account);
	free(ctx->peer);
	free(ctx->sid);
	free(ctx->hostname);
	free(ctx->postmaster);
	free(ctx->data_dir);
	memset(ctx, 0, sizeof(*ctx));
}

static void hijack_journal(struct db *db, const struct smtp_hijack_ctx *ctx, const char *decision,
			   const char *reason, const char *detail)
{
	struct journal_entry e = {
		.service = "smtp",
		.decision = decision,
		.reason = reason,
		.actor = SENDLIMIT_ACTOR,
		.ip = ctx->peer,
		.account = ctx->account,
		.sid = ctx->sid,
		.detail = detail,
	};
	(void)journal_add(db, &e);
}

/* hijack_notify - the one notice of a trip, to the postmaster. */
static void hijack_notify(struct db *db, const struct smtp_hijack_ctx *ctx,
			  const struct sendlimit_hold *hold)
{
	char *to = sendlimit_postmaster(db, ctx->account, ctx->postmaster, ctx->hostname);
	size_t len;
	char *msg = sendlimit_notice(ctx->account, hold, to, ctx->hostname, &len);
	char *detail = xasprintf("to=<%s>", to);
	struct inject_msg m = {
		.data_dir = ctx->data_dir, .sid = ctx->sid, .sender = "", .to = to,
		.origin = "hijack-notice", .data = msg, .len = len,
	};

	if (inject_send(db, &m) == 0) {
		hijack_journal(db, ctx, "send", SENDLIMIT_REASON_NOTIFIED, detail);
	} else {
		log_error("sendlimit: the notice about %s could not be sent to %s", ctx->account, to);
		hijack_journal(db, ctx, "fail", SENDLIMIT_REASON_NOTIFY_FAILED, detail);
	}
	free(detail);
	free(msg);
	free(to);
}

int smtp_hijack_check(struct db *db, const struct smtp_hijack_ctx *ctx, unsigned tx_rcpts,
		      char *detail, size_t size)
{
	struct sendlimit_verdict v;
	struct sendlimit_hold hold;
	char window[24];
	int ret;

	if ((ret = sendlimit_check(db, &ctx->limits, ctx->account, tx_rcpts, sendlimit_now_ms(),
				   &v)) <= 0)
		return ret;
	sendlimit_window_text(v.limits.window_ms, window, sizeof(window));
	(void)snprintf(detail, size,
		       "%s over the limit: %" PRIu64 " messages / %" PRIu64 " recipients in %s "
		       "(limit %" PRIu64 " / %" PRIu64 ", 0 = none)",
		       v.exceeded, v.messages, v.recipients, window, v.limits.messages,
		       v.limits.recipients);
	/* the refusal stands even when the account cannot be stopped: the
	 * next command will be checked (and tried) again */
	if ((ret = sendlimit_trip(db, ctx->account, &v, ctx->peer, ctx->sid, &hold)) > 0)
		hijack_notify(db, ctx, &hold);
	return 1;
}

/* ---- MAIL ---- */

static void hijack_job_run(void *arg)
{
	struct hijack_job *job = arg;
	struct db *db = dbpool_get();

	job->ret = db == NULL ? -1
			      : smtp_hijack_check(db, &job->ctx, 0, job->detail, sizeof(job->detail));
}

static void hijack_job_done(uint64_t id, void *arg)
{
	struct hijack_job *job = arg;
	struct smtp_session *s = smtp_session_lookup(id);

	if (s != NULL) {
		if (job->ret < 0)
			smtp_refuse(s, POLICY_REASON_TEMPFAIL, NULL, "send limit lookup failed");
		else if (job->ret == 0) /* lifted meanwhile: the client may try again */
			smtp_reply_reason(s, POLICY_REASON_TEMPFAIL, NULL);
		else
			smtp_refuse(s, SENDLIMIT_REASON_LIMITED, NULL, job->detail);
		smtp_session_resume(s);
	}
	smtp_hijack_ctx_clear(&job->ctx);
	free(job);
}

int smtp_hijack_mail(struct smtp_session *s, struct db *db)
{
	struct sendlimit_params limits;
	struct sendlimit_verdict v;
	int ret;

	sendlimit_params_from_config(s->cfg, &limits);
	if ((ret = sendlimit_check(db, &limits, s->account, 0, sendlimit_now_ms(), &v)) < 0) {
		smtp_refuse(s, POLICY_REASON_TEMPFAIL, NULL, "send limit lookup failed");
		return -1;
	}
	if (ret == 0)
		return 0;
	/* over: stop the account on a worker, answer when it is done */
	struct hijack_job *job = xcalloc(1, sizeof(*job));
	smtp_hijack_ctx_init(&job->ctx, s);
	smtp_session_suspend(s);
	worker_submit(hijack_job_run, hijack_job_done, s->id, job);
	return 1;
}
