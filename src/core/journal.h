/* SPDX-License-Identifier: ISC */
/*
 * journal.h - the append-only record of every decision.
 *
 * Stored in postino.db table `journal` (see docs/ARCHITECTURE.md). Each row
 * says who acted on what, what was decided, and the reason code from
 * core/reason.c. `postino log`, `why` and `trace` read it back.
 */
#ifndef POSTINO_JOURNAL_H
#define POSTINO_JOURNAL_H

#include "lib/lib.h"
#include "core/db.h"

struct journal_entry {
	int64_t time_ms;      /* 0 = now */
	const char *service;  /* "cli", "smtp", "imap", "pop3", "http", "serve", "queue" */
	const char *decision; /* "accept", "refuse", "allow", "deny", "change", "deliver", ... */
	const char *reason;   /* code from core/reason.c (must exist) */
	const char *actor;    /* who acted: "cli:root", "api:admin", an account */
	const char *ip;
	const char *account;
	const char *msgid;
	const char *queueid;
	const char *sid;      /* session id */
	const char *detail;   /* free text, for humans */
};

struct journal_query {
	const char *account;
	const char *ip;
	const char *reason;   /* exact code or prefix ending in '.' */
	const char *service;
	int64_t since_ms;     /* 0 = no bound */
	int64_t until_ms;     /* 0 = no bound */
	unsigned limit;       /* 0 = no limit; newest entries win */
};

/* Stored row, as read back (strings owned by the row). */
struct journal_row {
	int64_t id, time_ms;
	char *service, *decision, *reason, *actor, *ip, *account, *msgid, *queueid,
		*sid, *detail;
};

/* Append one entry; -1 when the database refuses (logged). */
int journal_add(struct db *db, const struct journal_entry *entry);
/* Who a protocol session's rows are about: the actor is the logged-in
 * account, or the client's address before login. */
struct journal_session {
	const char *service, *sid, *peer;
	const char *login; /* the session's account, NULL before login */
};

/* journal_session_add - one decision of a session, on the calling
 * thread's database connection (core/dbpool.h: loop or worker); a
 * failure is logged, not fatal: the session goes on. */
void journal_session_add(const struct journal_session *who, const char *decision,
			 const char *reason, const char *account, const char *detail);

/* Rows matching q, oldest first; caller frees with journal_rows_free. */
int journal_query(struct db *db, const struct journal_query *q, struct journal_row **rows_r,
		  size_t *count_r);
void journal_rows_free(struct journal_row **_rows, size_t count);

#endif
