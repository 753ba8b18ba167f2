/* SPDX-License-Identifier: ISC */
/*
 * db.c - open postino.db and keep its schema current.
 *
 * WAL lets the CLI write while the daemon reads; busy_timeout turns short
 * lock contention into a wait instead of an error. Migrations run in one
 * transaction each, so a crash mid-migration leaves the previous version.
 *
 * The statement cache (db_prepare_cached/db_release) is a fixed array
 * searched linearly: it holds a handful of statements, and a scan costs
 * far less than the ~22 us a prepare does. No lock: one struct db is used
 * by one thread at a time (see db.h).
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "core/db.h"

#include <sys/stat.h>
#include <unistd.h>

#define DB_BUSY_TIMEOUT_MS 10000

static int db_error(struct db *db, const char *what, char **error_r)
{
	if (error_r != NULL)
		*error_r = xasprintf("%s: %s: %s", db->path, what, sqlite3_errmsg(db->sql));
	return -1;
}

int db_open(const char *path, bool create, struct db **db_r, char **error_r)
{
	struct db *db = xcalloc(1, sizeof(*db));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	struct stat st;

	db->path = xstrdup(path);
	if (!create && stat(path, &st) < 0) {
		*error_r = xasprintf("%s: %s (run 'postino init' first?)", path, strerror(errno));
		db_close(&db);
		return -1;
	}
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &db->sql, flags, NULL) != SQLITE_OK) {
		db_error(db, "open", error_r);
		db_close(&db);
		return -1;
	}
	sqlite3_busy_timeout(db->sql, DB_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(db->sql, 1);
	if (sqlite3_exec(db->sql,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			 "PRAGMA foreign_keys=ON;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		db_error(db, "configure", error_r);
		db_close(&db);
		return -1;
	}
	*db_r = db;
	return 0;
}

void db_close(struct db **_db)
{
	struct db *db = *_db;
	if (db == NULL)
		return;
	*_db = NULL;
	for (size_t i = 0; i < db->cache_count; i++) {
		sqlite3_finalize(db->cache[i].st);
		free(db->cache[i].sql);
	}
	if (db->sql != NULL)
		sqlite3_close_v2(db->sql);
	free(db->path);
	free(db);
}

int db_schema_version(struct db *db)
{
	sqlite3_stmt *st = db_prepare(db, "PRAGMA user_version");
	int version = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return version;
}

int db_migrate(struct db *db, const struct db_migration *migrations, size_t count, char **error_r)
{
	int current = db_schema_version(db);

	if (current < 0)
		return db_error(db, "read schema version", error_r);
	if (count > 0 && current > migrations[count - 1].version) {
		*error_r = xasprintf("%s: schema version %d is newer than this postino (%d); "
				     "upgrade postino", db->path, current,
				     migrations[count - 1].version);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		const struct db_migration *m = &migrations[i];
		if (m->version <= current)
			continue;
		/* IMMEDIATE: two processes migrating at once serialise here */
		if (sqlite3_exec(db->sql, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			return db_error(db, "begin migration", error_r);
		if (db_schema_version(db) >= m->version) {
			db_rollback(db); /* someone else applied it meanwhile */
			continue;
		}
		char *pragma = xasprintf("PRAGMA user_version=%d", m->version);
		int ok = sqlite3_exec(db->sql, m->sql, NULL, NULL, NULL) == SQLITE_OK &&
			 sqlite3_exec(db->sql, pragma, NULL, NULL, NULL) == SQLITE_OK;
		free(pragma);
		if (!ok) {
			char *what = xasprintf("migration %d", m->version);
			db_error(db, what, error_r);
			free(what);
			db_rollback(db);
			return -1;
		}
		if (db_commit(db) < 0)
			return db_error(db, "commit migration", error_r);
	}
	return 0;
}

int db_exec(struct db *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db->sql, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_error("db %s: %s: %s", db->path, sql, err != NULL ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

int db_begin(struct db *db)
{
	return db_exec(db, "BEGIN IMMEDIATE");
}

int db_commit(struct db *db)
{
	return db_exec(db, "COMMIT");
}

void db_rollback(struct db *db)
{
	/* harmless when no transaction is open */
	(void)sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
}

sqlite3_stmt *db_prepare(struct db *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK)
		panic("db %s: cannot prepare \"%s\": %s", db->path, sql, sqlite3_errmsg(db->sql));
	return st;
}

/* db_cache_find - the entry for sql. The pointer finds a literal at once,
 * but the text decides: a string built at run time may sit where a freed
 * one with other text was. */
static struct db_cached_stmt *db_cache_find(struct db *db, const char *sql)
{
	for (size_t i = 0; i < db->cache_count; i++) {
		struct db_cached_stmt *e = &db->cache[i];
		if (e->sql_ptr == sql && strcmp(e->sql, sql) == 0)
			return e;
	}
	for (size_t i = 0; i < db->cache_count; i++) {
		struct db_cached_stmt *e = &db->cache[i];
		if (strcmp(e->sql, sql) == 0) {
			e->sql_ptr = sql;
			return e;
		}
	}
	return NULL;
}

sqlite3_stmt *db_prepare_cached(struct db *db, const char *sql)
{
	struct db_cached_stmt *e = db_cache_find(db, sql);
	sqlite3_stmt *st = NULL;

	if (e != NULL && !e->in_use) {
		e->in_use = true;
		return e->st;
	}
	if (e != NULL || db->cache_count == DB_STMT_CACHE_MAX)
		return db_prepare(db, sql); /* nested use, or full: not cached */
	if (sqlite3_prepare_v3(db->sql, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
	    SQLITE_OK)
		panic("db %s: cannot prepare \"%s\": %s", db->path, sql, sqlite3_errmsg(db->sql));
	e = &db->cache[db->cache_count++];
	e->sql_ptr = sql;
	e->sql = xstrdup(sql);
	e->st = st;
	e->in_use = true;
	return st;
}

void db_release(struct db *db, sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < db->cache_count; i++) {
		struct db_cached_stmt *e = &db->cache[i];
		if (e->st == st) {
			/* the step's error, if any, was seen by the caller */
			(void)sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			e->in_use = false;
			return;
		}
	}
	sqlite3_finalize(st);
}

int64_t db_data_version(struct db *db)
{
	sqlite3_stmt *st = db_prepare_cached(db, "PRAGMA data_version");
	int64_t v = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	db_release(db, st);
	return v;
}

const char *db_errmsg(struct db *db)
{
	return sqlite3_errmsg(db->sql);
}
