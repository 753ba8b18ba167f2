/* SPDX-License-Identifier: ISC */
/*
 * why-private.h - what why.c (the engine) and why-checks.c (the table)
 * share: the state gathered once per report, and the helpers checks use
 * to write their findings. Not for use outside doctor/.
 */
#ifndef POSTINO_WHY_PRIVATE_H
#define POSTINO_WHY_PRIVATE_H

#include "lib/lib.h"
#include "directory/directory.h"
#include "directory/screen.h"
#include "doctor/why.h"

/* Journal rows read for one report (the newest); older ones are not
 * evidence of what is wrong now. */
#define WHY_JOURNAL_READ_MAX 2000
/* Addresses named in one evidence list. */
#define WHY_LIST_MAX 8

struct why_ctx {
	struct db *db;
	const struct why_input *in;
	const char *address;          /* normalised */
	bool found;                   /* the mailbox exists: account is filled */
	struct account account;
	bool domain_found;
	struct domain domain;
	struct screen_params screen;
	/* the account's journal (rows where it is the account or the actor)
	 * within in->history_ms, oldest first */
	struct journal_row *rows;
	size_t row_count;
};

/* Which journal rows a finding quotes. */
typedef bool why_row_filter_fn(const struct why_ctx *ctx, const struct journal_row *row);

/* Set the status, the reason code and the one-line summary. */
void why_set(struct why_finding *f, enum why_status status, const char *reason, const char *fmt,
	     ...) ATTR_FORMAT(printf, 4, 5);
/* The exact command that fixes it. */
void why_fix(struct why_finding *f, const char *fmt, ...) ATTR_FORMAT(printf, 2, 3);
/* The fix of a reason row with ADDR and DOMAIN filled in for this
 * mailbox ("postino user set ADDR can-receive=yes" becomes the command
 * to type). */
void why_fix_from_reason(struct why_ctx *ctx, struct why_finding *f, const char *reason);
/* One fact: label and value. */
void why_evidence(struct why_finding *f, const char *label, const char *fmt, ...)
	ATTR_FORMAT(printf, 3, 4);
/* Quote the newest WHY_ROWS_PER_FINDING rows that keep accepts; returns
 * how many rows matched in all. */
size_t why_quote_rows(struct why_ctx *ctx, struct why_finding *f, why_row_filter_fn *keep);
/* "2026-11-22T10:00:00Z" of epoch seconds. */
void why_time_text(int64_t seconds, char *dst, size_t size);

/* "550 5.2.1 mailbox does not accept mail": what a client is told for a
 * reason row (the code itself when the row is unknown). */
void why_smtp_words(const char *reason, char *dst, size_t size);

/* The table (why-checks.c), and the checks that live in their own file. */
int why_check_rcpt(struct why_ctx *ctx, struct why_finding *f);
int why_check_send_limit(struct why_ctx *ctx, struct why_finding *f); /* why-hijack.c */
extern const struct why_check why_checks[];
extern const size_t why_checks_count;

#endif
