/* SPDX-License-Identifier: ISC */
/*
 * expiry-warn.h - the daemon's look for passwords about to expire (F16):
 * once per password.warn-interval (the first a minute after start) a
 * worker finds the mailboxes owed a warning (directory/expiry.h) and
 * mails each one through queue/inject.h, journalling every warning.
 */
#ifndef POSTINO_EXPIRY_WARN_H
#define POSTINO_EXPIRY_WARN_H

#include "lib/lib.h"

/* The first look, this long after start (or sooner when
 * password.warn-interval is shorter). */
#define EXPIRY_WARN_FIRST_S 60

/* Start the timer (loop thread, after the worker pool). */
void expiry_warn_start(const char *data_dir);
/* SIGTERM: no new look starts (one in flight finishes: worker_pending). */
void expiry_warn_drain(void);
void expiry_warn_stop(void);

#endif
