/* SPDX-License-Identifier: ISC */
/*
 * smtp-deliver.h - from a finished transaction to durable copies (private
 * to src/smtp/): local mailboxes through store/deliver.h, everything else
 * through queue/queue.h, in batches that share fsyncs.
 */
#ifndef POSTINO_SMTP_DELIVER_H
#define POSTINO_SMTP_DELIVER_H

#include "lib/lib.h"

struct smtp_session;

/* Take the session's transaction (spool file, destinations, accounts),
 * suspend the session and deliver on a worker; the completion journals,
 * replies 250 (or the refusal) and resumes the session. */
void smtp_deliver_submit(struct smtp_session *s, const char *msgid);

#endif
