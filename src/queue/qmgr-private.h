/* SPDX-License-Identifier: ISC */
/*
 * qmgr-private.h - what the queue manager's loop side (qmgr.c) and its
 * database side (qmgr-db.c, on workers) hand each other.
 */
#ifndef POSTINO_QMGR_PRIVATE_H
#define POSTINO_QMGR_PRIVATE_H

#include "lib/lib.h"
#include "queue/qmgr.h"

#include <sys/queue.h>

struct db;

/* How many deliveries a scan may hand the loop at once. */
#define QMGR_PICK_MAX 500
/* Entries in queue.retry-schedule. */
#define QMGR_SCHEDULE_MAX 32

enum qmgr_outcome {
	QMGR_PENDING,
	QMGR_DELIVERED,
	QMGR_DEFERRED,
	QMGR_FAILED,
};

struct qmgr_rcpt {
	int64_t row_id;
	char *address;
	unsigned dsn_notify;
	char *dsn_orcpt;
	int64_t attempts;
	/* outcome, filled on the loop */
	enum qmgr_outcome outcome;
	const char *reason;         /* core/reason.c code */
	char status[16];            /* "5.1.1" */
	char *reply;                /* the peer's reply or our sentence */
	char *remote_mta;           /* host that answered, or NULL */
};

/* One message's recipients at one domain: what one SMTP transaction carries. */
struct qmgr_delivery {
	TAILQ_ENTRY(qmgr_delivery) entry;
	char *queueid, *file, *path, *sender, *account, *dsn_envid, *domain;
	int dsn_ret;
	int64_t created_at;
	uint64_t size;
	bool eight_bit, smtputf8;
	struct qmgr_rcpt *rcpts;
	size_t rcpt_count;
	bool tls;                   /* the attempt was encrypted (journal) */
	bool peer_dsn;              /* the peer offered DSN (RFC 3461 6.2.1) */
	char *peer;                 /* "host[addr]" of the attempt */
};
TAILQ_HEAD(qmgr_delivery_list, qmgr_delivery);

/* What a scan job is told and returns. */
struct qmgr_scan {
	/* in */
	char *data_dir;
	char *hostname;
	int64_t max_lifetime, delay_warning;
	unsigned pick_max;
	/* out */
	struct qmgr_delivery_list picked;
	unsigned picked_count;
	bool more;                  /* more rows were due than pick_max */
};

/* What a result job writes. */
struct qmgr_results {
	char *data_dir;
	char *hostname;
	int64_t schedule[QMGR_SCHEDULE_MAX];
	size_t schedule_count;
	int64_t max_lifetime;
	struct qmgr_delivery_list done;
};

/* qmgr-db.c (worker threads) */
void qmgr_db_recover(struct db *db);
void qmgr_db_scan(struct db *db, struct qmgr_scan *scan);
void qmgr_db_results(struct db *db, struct qmgr_results *res);

void qmgr_delivery_free(struct qmgr_delivery *d);

/* qmgr-schedule.c (pure) */
/* "5m,10m,1h" -> seconds; -1 on a bad list. */
int qmgr_schedule_parse(const char *text, int64_t *waits, size_t max, size_t *count_r);
/* When to try again after the attempts-th failed attempt (1-based). */
int64_t qmgr_schedule_next(const int64_t *waits, size_t count, int64_t attempts, int64_t now,
			   uint32_t jitter);

#endif
