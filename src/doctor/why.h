/* SPDX-License-Identifier: ISC */
/*
 * why.h - `postino why ADDR` (F31): why a user cannot log in, send or
 * receive, answered from live state and the journal.
 *
 * Every cause the support articles list (../shared/seeds/) is one check:
 * a row {id, directions, title, run} in the table of why-checks.c. A
 * check looks at one thing (the account's flags, screening, the quota,
 * the journal, the queue, the policy code SMTP runs) and returns a
 * finding: a status, a one-line summary, the reason code, the exact
 * command that fixes it, and its evidence (values, times, journal rows).
 * why_run() runs the table and folds the findings into one verdict per
 * direction. The CLI prints the report; the HTTP API (later) sends the
 * same report as JSON. Adding a cause (filters, DNS, TLS in later issues)
 * is one function and one row.
 */
#ifndef POSTINO_WHY_H
#define POSTINO_WHY_H

#include "lib/lib.h"
#include "core/journal.h"

#include <jansson.h>

struct config;
struct db;

/* The three questions a user's complaint reduces to. */
enum why_dir {
	WHY_LOGIN = 1 << 0,
	WHY_SEND = 1 << 1,
	WHY_RECEIVE = 1 << 2,
};
#define WHY_DIRS_ALL (WHY_LOGIN | WHY_SEND | WHY_RECEIVE)
#define WHY_DIR_COUNT 3

enum why_status {
	WHY_OK,      /* nothing wrong here */
	WHY_NOTE,    /* works, but the user may see it as a problem (forwarded, away, held) */
	WHY_PROBLEM, /* this is why it does not work */
	WHY_SKIPPED, /* not checked: no mailbox, or no --from given */
};

/* How far back the journal is read by default, and how many of the rows
 * found a finding quotes (the newest). */
#define WHY_HISTORY_DEFAULT_MS (7LL * 24 * 3600 * 1000)
#define WHY_ROWS_PER_FINDING 5

struct why_input {
	const char *address;        /* as typed; normalised by why_run */
	const char *from;           /* --from SENDER, or NULL */
	unsigned dirs;              /* enum why_dir bits to evaluate */
	const char *data_dir;       /* quota files, the file system */
	const struct config *cfg;   /* screening thresholds */
	int64_t now_ms;
	int64_t history_ms;         /* journal look-back */
};

struct why_evidence {
	char *label;                /* "used", "disabled-by" */
	char *value;
};

struct why_check;

struct why_finding {
	const struct why_check *check;
	enum why_status status;
	unsigned dirs;              /* the directions this finding affects */
	const char *reason;         /* core/reason.c code, NULL when all is well */
	char *summary;              /* one line, no final period */
	char *fix;                  /* the exact command, or NULL */
	struct why_evidence *evidence;
	size_t evidence_count;
	struct journal_row *rows;   /* the relevant journal entries, oldest first */
	size_t row_count;
};

struct why_verdict {
	enum why_status status;               /* the worst finding of the direction */
	const struct why_finding *cause;      /* the first problem (NULL when none) */
};

struct why_report {
	char *address;              /* normalised */
	bool exists;                /* a mailbox has this address */
	unsigned dirs;              /* what was asked */
	int64_t now_ms;
	struct why_finding *findings;
	size_t count;
	struct why_verdict verdicts[WHY_DIR_COUNT]; /* by why_dir_index() */
};

/* One row of the table (why-checks.c). */
struct why_ctx;
struct why_check {
	const char *id;             /* "disabled", "quota": stable, for tools */
	unsigned dirs;              /* directions it can explain */
	const char *title;          /* what it checks, for the listing */
	bool needs_account;         /* skipped when there is no mailbox */
	/* Fill f (status, summary, reason, fix, evidence); -1 only when the
	 * state could not be read. */
	int (*run)(struct why_ctx *ctx, struct why_finding *f);
};

/* why_run - every check of the table for in->address. -1 with *error_r
 * on a bad address or a database error. */
int why_run(struct db *db, const struct why_input *in, struct why_report *report_r,
	    const char **error_r);
void why_report_free(struct why_report *report);
/* The report as data: {address, exists, verdicts{login,send,receive},
 * checks[]}; the caller owns it. */
json_t *why_report_json(const struct why_report *report);

/* "login", "send", "receive"; index 0..2 in enum order. */
const char *why_dir_name(size_t index);
size_t why_dir_index(enum why_dir dir);
/* "ok", "note", "problem", "skipped". */
const char *why_status_name(enum why_status status);
/* The table, for listings and tests: NULL past the end. */
const struct why_check *why_check_at(size_t i);

#endif
