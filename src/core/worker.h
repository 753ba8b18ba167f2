/* SPDX-License-Identifier: ISC */
/*
 * worker.h - a small thread pool for work that may block (fsync, rename,
 * SQLite writes, password hashing), so the event loop never does.
 *
 * A job runs on a worker thread and must touch nothing but its own arg.
 * Its completion runs later on the loop thread with the owner's id: the
 * callback looks the owner (session, connection) up by id and copes with
 * it being gone. Ids, not pointers, cross this boundary.
 */
#ifndef POSTINO_WORKER_H
#define POSTINO_WORKER_H

#include "lib/lib.h"

struct event_base;

/* Runs on a worker thread. */
typedef void worker_job_fn(void *arg);
/* Runs on the loop thread after the job; owns arg from then on. */
typedef void worker_done_fn(uint64_t owner_id, void *arg);

/* Start threads (at least one) whose completions wake base. */
int worker_pool_start(struct event_base *base, unsigned threads, char **error_r);
/* Queue a job (loop thread only). done may be NULL when nobody waits. */
void worker_submit(worker_job_fn *job, worker_done_fn *done, uint64_t owner_id, void *arg);
/* Jobs submitted whose completion has not run yet (drain waits for 0). */
unsigned worker_pending(void);
/* Stop the threads. Jobs not started yet are dropped (logged); a job
 * still running after timeout_ms is abandoned with its thread detached.
 * Returns 0 when every thread was joined. */
int worker_pool_stop(unsigned timeout_ms);

#endif
