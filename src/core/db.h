/* SPDX-License-Identifier: ISC */
/*
 * db.h - postino.db: SQLite in WAL mode, shared by the daemon and the CLI.
 *
 * The migration runner lives here; the list of migrations belongs to the
 * layer that owns the tables (directory/schema.c).
 */
#ifndef POSTINO_DB_H
#define POSTINO_DB_H

#include "lib/lib.h"
#include <sqlite3.h>

#define DB_FILE_NAME "postino.db"

struct db_migration {
	int version;
	const char *sql;
};

struct db {
	sqlite3 *sql;
	char *path;
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
/* Changes by other connections bump this (daemon cache invalidation). */
int64_t db_data_version(struct db *db);
const char *db_errmsg(struct db *db);

#endif
