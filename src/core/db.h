/* SPDX-License-Identifier: ISC */
/*
 * db.h - postino.db: SQLite in WAL mode, shared by the daemon and the CLI.
 *
 * The migration runner lives here; the list of migrations belongs to the
 * layer that owns the tables (directory/schema.c).
 *
 * Each connection keeps a small cache of prepared statements for the hot
 * lookups (RCPT's directory reads, the journal insert): preparing costs
 * about 22 us, a reset about nothing. A struct db is only ever used by one
 * thread at a time (the loop's, or a worker's own from core/dbpool.c), so
 * the cache needs no lock.
 */
#ifndef POSTINO_DB_H
#define POSTINO_DB_H

#include "lib/lib.h"
#include <sqlite3.h>

#define DB_FILE_NAME "postino.db"
/* Enough for every hot statement of one connection; more are prepared
 * and finalized as before. */
#define DB_STMT_CACHE_MAX 32

struct db_migration {
	int version;
	const char *sql;
};

/* One statement prepared once for the connection's lifetime. */
struct db_cached_stmt {
	const char *sql_ptr; /* the caller's pointer, the usual match */
	char *sql;           /* a copy: the text decides */
	sqlite3_stmt *st;
	bool in_use;
};

struct db {
	sqlite3 *sql;
	char *path;
	struct db_cached_stmt cache[DB_STMT_CACHE_MAX];
	size_t cache_count;
};

/* Open (create when asked) with WAL, busy timeout, foreign keys. */
int db_open(const char *path, bool create, struct db **db_r, char **error_r);
void db_close(struct db **_db);
/* Apply every migration whose version is above PRAGMA user_version. */
int db_migrate(struct db *db, const struct db_migration *migrations, size_t count,
	       char **error_r);
int db_schema_version(struct db *db);
/* Run SQL without results; -1 with the message logged. */
int db_exec(struct db *db, const char *sql);
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);
/* Prepare or die trying (a bad statement is a programming error). */
sqlite3_stmt *db_prepare(struct db *db, const char *sql);
/* db_prepare_cached - the connection's cached statement for sql, prepared
 * on first use; give it back with db_release(), never sqlite3_finalize().
 * A nested use of the same sql (or a full cache) gets a fresh statement,
 * which db_release() finalizes. */
sqlite3_stmt *db_prepare_cached(struct db *db, const char *sql);
/* db_release - a cached statement is reset (ending its read transaction,
 * so the next use sees other connections' commits) and its bindings
 * cleared; any other statement is finalized. NULL is ignored. */
void db_release(struct db *db, sqlite3_stmt *st);
/* Changes by other connections bump this (daemon cache invalidation). */
int64_t db_data_version(struct db *db);
const char *db_errmsg(struct db *db);

#endif
