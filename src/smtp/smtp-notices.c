/* SPDX-License-Identifier: ISC */
/*
 * smtp-notices.c - the autoresponder's replies and the quota warnings.
 *
 * Both are new messages with a null envelope sender (RFC 3834 3.3, so no
 * bounce can answer them). A notice for a mailbox here is delivered at
 * once; one for anyone else goes to the outbound queue like any remote
 * recipient. They run after the message's own copies are durable and
 * never change the reply the client gets for it.
 */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "core/journal.h"
#include "directory/autoreply.h"
#include "directory/directory.h"
#include "mail/date.h"
#include "mail/header.h"
#include "mail/rfc3834.h"
#include "queue/inject.h"
#include "store/deliver.h"
#include "store/quota.h"
#include "smtp/smtp-notices.h"

#include <fcntl.h>
#include <unistd.h>

#define NOTICE_HEADER_READ_MAX HEADER_BLOCK_MAX

/* The header fields RFC 3834's rules look at, by their slot in the input. */
static const struct {
	const char *name;
	size_t offset;
} rfc3834_fields[] = {
	{ "Auto-Submitted", offsetof(struct rfc3834_input, auto_submitted) },
	{ "Precedence", offsetof(struct rfc3834_input, precedence) },
	{ "List-Id", offsetof(struct rfc3834_input, list_id) },
	{ "List-Unsubscribe", offsetof(struct rfc3834_input, list_unsubscribe) },
	{ "List-Post", offsetof(struct rfc3834_input, list_post) },
	{ "X-Auto-Response-Suppress", offsetof(struct rfc3834_input, x_auto_response_suppress) },
	{ "Subject", offsetof(struct rfc3834_input, subject) },
	{ "Message-ID", offsetof(struct rfc3834_input, message_id) },
	{ "References", offsetof(struct rfc3834_input, references) },
};

static void notice_journal(struct db *db, const struct smtp_notices_ctx *ctx,
			   const char *decision, const char *reason, const char *account,
			   const char *detail)
{
	struct journal_entry e = {
		.service = "autoreply",
		.decision = decision,
		.reason = reason,
		.actor = "postino",
		.account = account,
		.queueid = ctx->queueid,
		.sid = ctx->sid,
		.detail = detail,
	};
	(void)journal_add(db, &e);
}

/* read_header - the delivered message's header block, parsed; NULL when
 * it cannot be read (the caller then skips the autoreplies). */
static struct header *read_header(const struct deliver_job *job)
{
	struct header *h = header_new();
	const char *error;
	size_t used;

	if (job->spool_path == NULL) {
		(void)header_feed(h, job->data, job->size, &used, &error);
		header_finish(h);
		return h;
	}
	/* an in-place copy has been renamed by now: read it by descriptor,
	 * after its Return-Path and Delivered-To lines */
	int fd = job->spool_fd > 0 ? job->spool_fd : open(job->spool_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		header_free(&h);
		return NULL;
	}
	char *buf = xmalloc(NOTICE_HEADER_READ_MAX);
	ssize_t n = pread(fd, buf, NOTICE_HEADER_READ_MAX, (off_t)job->in_place_prefix);
	if (fd != job->spool_fd)
		close(fd);
	if (n > 0)
		(void)header_feed(h, buf, (size_t)n, &used, &error);
	header_finish(h);
	free(buf);
	return h;
}

/* notice_send - one generated message to one address, from the null
 * sender (RFC 3834 3.3): queue/inject.c delivers or queues it. */
static int notice_send(struct db *db, const struct smtp_notices_ctx *ctx, const char *to,
		       const char *origin, const char *data, size_t len)
{
	struct inject_msg m = {
		.data_dir = ctx->data_dir, .queueid = ctx->queueid, .sid = ctx->sid, .sender = "",
		.to = to, .origin = origin, .data = data, .len = len,
	};
	return inject_send(db, &m);
}

/* autoreply_one - the autoresponder of one mailbox that took the message. */
/* autoreply_one - the message's header is read (into *h, once per
 * message) only for a mailbox that has an autoresponder: most have none. */
static void autoreply_one(struct db *db, const struct smtp_notices_ctx *ctx,
			  const struct account *a, const struct deliver_job *job, struct header **h)
{
	struct autoreply ar;
	int64_t now = time_now();

	if (autoreply_get(db, a->address, &ar) != 1)
		return; /* none: nothing to decide, nothing to journal */
	if (*h == NULL && (*h = read_header(job)) == NULL)
		goto out;
	if (!autoreply_in_window(&ar, now)) {
		notice_journal(db, ctx, "skip", "autoreply.skip-window", a->address, NULL);
		goto out;
	}
	struct rfc3834_input in = { .sender = ctx->sender, .recipient = a->address };
	for (size_t i = 0; i < N_ELEMENTS(rfc3834_fields); i++) {
		size_t iter = 0;
		const struct header_field *f = header_find(*h, rfc3834_fields[i].name, &iter);
		if (f != NULL)
			*(const char **)((char *)&in + rfc3834_fields[i].offset) = f->value;
	}
	const char *skip = rfc3834_skip_reason(&in);
	char *detail = xasprintf("to=<%s>", ctx->sender);
	if (skip != NULL) {
		notice_journal(db, ctx, "skip", skip, a->address, detail);
	} else {
		int claim = autoreply_claim(db, a->address, ctx->sender, ar.interval, now);
		if (claim == 0) {
			notice_journal(db, ctx, "skip", "autoreply.skip-recent", a->address, detail);
		} else if (claim == 1) {
			size_t len;
			char *msg = rfc3834_compose(&in, ar.subject, ar.body, ctx->hostname, now, &len);
			if (notice_send(db, ctx, ctx->sender, "autoreply", msg, len) == 0)
				notice_journal(db, ctx, "send", "autoreply.sent", a->address, detail);
			else
				log_error("autoreply: %s to %s could not be sent", a->address, ctx->sender);
			free(msg);
		}
	}
	free(detail);
out:
	autoreply_clear(&ar);
}

/* quota_warning - the one message a mailbox gets when it crosses the
 * warning level (store/quota.c remembers it was sent). */
static void quota_warning(struct db *db, const struct smtp_notices_ctx *ctx,
			  const struct deliver_rcpt *r)
{
	const struct account *a = r->account;
	char used[32], limit[32] = "", count[64], date[DATE_TEXT_MAX];
	uint64_t pct = 0;
	int64_t t = time_now();

	size_format(r->usage.bytes, used, sizeof(used));
	if (a->quota_bytes != 0) {
		size_format(a->quota_bytes, limit, sizeof(limit));
		pct = r->usage.bytes * 100 / a->quota_bytes;
	}
	if (a->max_messages != 0 && r->usage.messages * 100 / a->max_messages > pct)
		pct = r->usage.messages * 100 / a->max_messages;
	if (a->max_messages != 0)
		snprintf(count, sizeof(count), "%" PRIu64 " of %" PRIu64 " messages",
			 r->usage.messages, a->max_messages);
	else
		snprintf(count, sizeof(count), "%" PRIu64 " messages", r->usage.messages);
	if (date_format(t, 0, date, sizeof(date)) < 0)
		date[0] = '\0';
	char *msg = xasprintf(
		"From: Mail System <MAILER-DAEMON@%s>\r\nTo: <%s>\r\nDate: %s\r\n"
		"Subject: Your mailbox is %" PRIu64 "%% full\r\n"
		"Message-ID: <quota.%" PRId64 ".%" PRIu64 "@%s>\r\n"
		"Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n\r\n"
		"Your mailbox %s is %" PRIu64 "%% full: %s used%s%s, %s.\r\n\r\n"
		"When it is full, new mail to you will be refused. Delete or archive old\r\n"
		"messages (and empty the Trash), or ask your administrator for more space.\r\n",
		ctx->hostname, a->address, date, pct, t, time_monotonic_ms(), ctx->hostname,
		a->address, pct, used, limit[0] != '\0' ? " of " : "", limit, count);
	char *detail = xasprintf("used=%s messages=%" PRIu64 " percent=%" PRIu64, used,
				 r->usage.messages, pct);
	if (notice_send(db, ctx, a->address, "quota-warning", msg, strlen(msg)) == 0)
		notice_journal(db, ctx, "send", "notice.quota-warning", a->address, detail);
	else
		log_error("quota warning for %s could not be delivered", a->address);
	free(detail);
	free(msg);
}

void smtp_notices_run(struct db *db, const struct smtp_notices_ctx *ctx,
		      const struct deliver_job *job)
{
	struct header *h = NULL;

	if (db == NULL)
		return;
	for (size_t i = 0; i < job->rcpt_count; i++) {
		const struct deliver_rcpt *r = &job->rcpts[i];
		if (r->action == DELIVER_REFUSED)
			continue;
		if (r->quota_warning)
			quota_warning(db, ctx, r);
		autoreply_one(db, ctx, r->account, job, &h);
	}
	header_free(&h);
}
