/* SPDX-License-Identifier: ISC */
/*
 * directory-private.h - what domain.c, account.c and alias.c share:
 * refusal texts, address normalisation with directory errors, and the
 * cross-table checks (an alias may not shadow a mailbox, and so on).
 * Not for use outside directory/.
 */
#ifndef POSTINO_DIRECTORY_PRIVATE_H
#define POSTINO_DIRECTORY_PRIVATE_H

#include "lib/lib.h"
#include "core/db.h"
#include "directory/directory.h"

#define DIR_REASON_INVALID "directory.invalid"
#define DIR_REASON_EXISTS "directory.exists"
#define DIR_REASON_UNKNOWN "directory.unknown"
#define DIR_REASON_IN_USE "directory.in-use"

/* Fill error_r (reason may be NULL) and return -1. */
int dir_refuse(struct directory_error *error_r, const char *reason, const char *fmt, ...)
	ATTR_FORMAT(printf, 3, 4);
/* Log the SQLite error, roll back any open transaction, fill error_r and
 * return -1. */
int dir_db_error(struct db *db, struct directory_error *error_r);

/* Normalise with a refusal naming what was wrong ("bad address 'x': ..."). */
int dir_normalize_address(const char *in, char **addr_r, struct directory_error *error_r);
int dir_normalize_domain(const char *in, char **domain_r, struct directory_error *error_r);

/* Step a statement that returns no rows, then finalize it; -1 on error. */
int dir_step_done(sqlite3_stmt *st);
/* A statement with one integer column: its value in the first row (0
 * without rows), finalized; -1 on error. Used for counts and existence. */
int dir_query_int(sqlite3_stmt *st, int64_t *value_r);
/* The text column as an allocated string, NULL for SQL NULL. */
char *dir_column_strdup(sqlite3_stmt *st, int col);
/* Append a copy of s to a NULL-free string vector. */
void dir_strv_add(char ***strv, size_t *count, const char *s);
void dir_strv_free(char ***_strv, size_t count);

/* 1/0/-1: whether the (normalised) name or address exists. */
int dir_domain_exists(struct db *db, const char *domain);
int dir_account_exists(struct db *db, const char *address);
int dir_alias_exists(struct db *db, const char *address);
/* dir_check_target - a forward or alias target: a normalised address, and
 * when its domain is local, something there must receive it (a mailbox,
 * an alias or the domain's catch-all). */
int dir_check_target(struct db *db, const char *target, struct directory_error *error_r);
/* Normalise, check, and de-duplicate targets (at most
 * DIRECTORY_TARGETS_MAX); self (may be NULL) is refused as a target. */
int dir_targets_normalize(struct db *db, const char *self, const char *const *in, size_t count,
			  char ***targets_r, size_t *count_r, struct directory_error *error_r);

#endif
