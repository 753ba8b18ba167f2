/* SPDX-License-Identifier: ISC */
/*
 * smtp-notices.h - mail the server itself writes after a delivery: the
 * autoresponder's reply (F14, RFC 3834) and the one-time warning that a
 * mailbox is 90% full (F11).
 */
#ifndef POSTINO_SMTP_NOTICES_H
#define POSTINO_SMTP_NOTICES_H

#include "lib/lib.h"

struct db;
struct deliver_job;

struct smtp_notices_ctx {
	const char *data_dir;
	const char *hostname;   /* Message-IDs and the warning's From */
	const char *sender;     /* the delivered message's envelope sender ("" = null) */
	const char *queueid;    /* for the journal */
	const char *sid;
};

/* smtp_notices_run - after job's local copies are durable, on the worker
 * that delivered them (db is that thread's): answer for every mailbox
 * whose autoresponder should, and warn every mailbox that just crossed
 * its warning level. Each decision is journalled. Failures are logged:
 * a notice never changes the answer given for the message itself. */
void smtp_notices_run(struct db *db, const struct smtp_notices_ctx *ctx,
		      const struct deliver_job *job);

#endif
