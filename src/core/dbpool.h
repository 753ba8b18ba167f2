/* SPDX-License-Identifier: ISC */
/*
 * dbpool.h - one postino.db connection per thread, opened on first use.
 *
 * SQLite connections are opened without a mutex (NOMUTEX), so one must
 * never be used by two threads. The daemon's loop thread and each worker
 * thread call dbpool_get() and get their own; the connection closes when
 * its thread exits. This is how protocol sessions (loop thread) and
 * blocking jobs (password checks, deliveries on workers) reach the
 * directory and the journal.
 */
#ifndef POSTINO_DBPOOL_H
#define POSTINO_DBPOOL_H

#include "lib/lib.h"
#include "core/db.h"

/* Remember the data directory (call once, before any thread uses it). */
void dbpool_init(const char *data_dir);
/* The data directory given to dbpool_init (the daemon's one handle on it
 * for layers that store files: mail, queue). */
const char *dbpool_data_dir(void);
/* This thread's connection; NULL (logged) when postino.db cannot be
 * opened. The schema is expected to be current (serve migrated it). */
struct db *dbpool_get(void);
/* Close this thread's connection now (the loop thread at shutdown). */
void dbpool_release(void);
void dbpool_deinit(void);

#endif
