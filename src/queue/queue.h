/* SPDX-License-Identifier: ISC */
/*
 * queue.h - the outbound queue, as far as issue 3 needs it: a durable
 * enqueue of messages for recipients we do not deliver locally.
 *
 * One message file under DATA/queue/msg/ and one row per recipient in
 * postino.db table `queue`, state 'queued'. queue_enqueue() returns only
 * once both are durable, so the SMTP 250 that follows never acknowledges
 * something a crash could lose. The outbound transport (a later issue)
 * picks rows up from there.
 */
#ifndef POSTINO_QUEUE_H
#define POSTINO_QUEUE_H

#include "lib/lib.h"

struct db;

#define QUEUE_DIR "queue"
#define QUEUE_MSG_DIR "queue/msg"
/* Incoming messages are spooled here (same file system as msg/). */
#define QUEUE_TMP_DIR "queue/tmp"
#define QUEUE_FILE_MAX 128

struct queue_rcpt {
	const char *address;
	const char *origin;      /* "submission", "forward", "alias", "retry" */
	unsigned dsn_notify;     /* RFC 3461 NOTIFY bits, 0 = not given */
	const char *dsn_orcpt;   /* "rfc822;addr", NULL = not given */
	const char *last_error;  /* a reason code ("retry" rows), NULL otherwise */
};

struct queue_msg {
	const char *file;        /* unique file name under queue/msg/ */
	const char *queueid;     /* the transaction id (journal queueid) */
	const char *sender;      /* reverse-path; "" = null sender */
	const char *account;     /* submitting account, NULL for inbound */
	const char *spool_path;  /* the message as received */
	const char *prefix;      /* lines written before it (Delivered-To), or NULL */
	int dsn_ret;             /* RFC 3461 RET (0 none, 1 FULL, 2 HDRS) */
	const char *dsn_envid;
	const struct queue_rcpt *rcpts;
	size_t rcpt_count;
	/* DKIM-sign with the From: domain's active key, if it has one: our
	 * users' submissions and the server's own notices, never relayed mail */
	bool dkim_sign;
};

/* queue_enqueue - copy the message durably into queue/msg/<file> and
 * insert its rows in one transaction; on any failure nothing stays.
 * Blocks (fsync): call it on a worker with that worker's db. */
int queue_enqueue(struct db *db, const char *data_dir, const struct queue_msg *msg,
		  const char **error_r) ATTR_NODISCARD;

/* Held rows (for tests and `postino why`): count of queue rows in state. */
int queue_count(struct db *db, const char *state, int64_t *count_r);

#endif
