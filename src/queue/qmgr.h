/* SPDX-License-Identifier: ISC */
/*
 * qmgr.h - the outbound queue manager: sends what queue_enqueue() wrote.
 *
 * It runs on the daemon's loop. Every second (and at once after
 * qmgr_kick()) a worker job looks at table `queue`: bounces owed, delay
 * warnings due, messages expired, recipients due. Due remote recipients
 * are marked 'sending' and come back to the loop grouped by message and
 * domain; a destination (domain, or smarthost) resolves its route
 * (queue/route.h) and runs up to queue.destination-concurrency SMTP
 * client connections (smtpc/smtpc.h), each carrying one delivery after
 * another while the destination has work (connection reuse). Outcomes go
 * back to the database on a worker: delivered rows are deleted, temporary
 * failures rescheduled on queue.retry-schedule, permanent ones marked
 * 'failed' for the bounce. At start-up rows left 'sending' by a crash go
 * back to 'queued': a recipient is sent again only if the crash fell in
 * SMTP's own window between the peer's 250 and our delete.
 */
#ifndef POSTINO_QMGR_H
#define POSTINO_QMGR_H

#include "lib/lib.h"

/* Start on the loop thread, after the worker pool and dns_init(). */
int qmgr_start(const char *data_dir, char **error_r) ATTR_NODISCARD;
/* SIGHUP, after the new configuration is in force: connections kept
 * open for reuse are closed (relay credentials or TLS may have changed). */
void qmgr_reload(void);
/* Something was queued: look now rather than at the next tick. */
void qmgr_kick(void);
/* SIGTERM: stop starting work and close connections (rows still
 * 'sending' are picked up again at the next start). */
void qmgr_drain(void);
/* True once nothing of the queue manager is in flight. */
bool qmgr_idle(void);
void qmgr_stop(void);

#endif
