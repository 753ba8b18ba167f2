/* SPDX-License-Identifier: ISC */
/*
 * autoreply.h - a mailbox's autoresponder ("out of office", F14): its
 * text, date window and how often one sender may get it.
 *
 * The decision whether a given message deserves a reply (RFC 3834) is
 * mail/autoreply.c's; this file stores the settings and remembers who was
 * answered when, so each sender gets at most one reply per interval.
 */
#ifndef POSTINO_AUTOREPLY_H
#define POSTINO_AUTOREPLY_H

#include "lib/lib.h"

struct db;
struct directory_error;

#define AUTOREPLY_SUBJECT_MAX 998       /* one header line, RFC 5322 2.1.1 */
#define AUTOREPLY_BODY_MAX (64 * 1024)  /* an out-of-office note, not a newsletter */
#define AUTOREPLY_INTERVAL_DEFAULT (7 * 86400) /* Sieve vacation's default, RFC 5230 4.1 */

struct autoreply {
	char *subject;       /* NULL = "Auto: <original subject>" */
	char *body;          /* UTF-8 text */
	int64_t starts_at;   /* 0 = already */
	int64_t ends_at;     /* 0 = until turned off */
	int64_t interval;    /* seconds between two replies to one sender */
	int64_t updated_at;
};

/* Turn the autoresponder on (or replace it). Replies already sent are
 * forgotten, so a new text reaches everyone once. */
int autoreply_set(struct db *db, const char *address, const struct autoreply *ar,
		  struct directory_error *error_r);
/* Turn it off; refused when there is none. */
int autoreply_off(struct db *db, const char *address, struct directory_error *error_r);
/* 1 and ar_r filled when the mailbox has one (active or not), 0 when not. */
int autoreply_get(struct db *db, const char *address, struct autoreply *ar_r);
/* Inside its date window at time now. */
bool autoreply_in_window(const struct autoreply *ar, int64_t now);
/* Claim the right to answer sender now: 1 when no reply went to sender
 * within the interval (and records this one), 0 when one did, -1 on a
 * database error. Atomic, so two deliveries at once send one reply. */
int autoreply_claim(struct db *db, const char *address, const char *sender,
		    int64_t interval, int64_t now);
void autoreply_clear(struct autoreply *ar);

#endif
