/* SPDX-License-Identifier: ISC */
/*
 * schema.c - every table of postino.db, as an ordered list of migrations.
 *
 * A migration is applied once, in a transaction, and PRAGMA user_version
 * records the last one applied. Released migrations are never edited:
 * a change is a new row.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "directory/schema.h"

const struct db_migration schema_migrations[] = {
	{ 1,
	  /* The journal: one row per decision (core/journal.c). */
	  "CREATE TABLE journal ("
	  "  id INTEGER PRIMARY KEY,"
	  "  time_ms INTEGER NOT NULL,"
	  "  service TEXT NOT NULL,"
	  "  decision TEXT NOT NULL,"
	  "  reason TEXT NOT NULL,"
	  "  actor TEXT, ip TEXT, account TEXT, msgid TEXT, queueid TEXT, sid TEXT,"
	  "  detail TEXT);"
	  "CREATE INDEX journal_time ON journal(time_ms);"
	  "CREATE INDEX journal_account ON journal(account, time_ms);"
	  "CREATE INDEX journal_ip ON journal(ip, time_ms);"
	  /* Server-wide settings that the admin changes at run time. */
	  "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);" },
	/* directory tables: migration 2 (directory/ owners add it here) */
};

const size_t schema_migrations_count = N_ELEMENTS(schema_migrations);

int schema_open(const char *data_dir, bool create, struct db **db_r, char **error_r)
{
	char *path = xasprintf("%s/%s", data_dir, DB_FILE_NAME);
	struct db *db;
	int ret = db_open(path, create, &db, error_r);

	free(path);
	if (ret < 0)
		return -1;
	if (db_migrate(db, schema_migrations, schema_migrations_count, error_r) < 0) {
		db_close(&db);
		return -1;
	}
	*db_r = db;
	return 0;
}
