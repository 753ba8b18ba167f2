/* SPDX-License-Identifier: ISC */
/*
 * dbpool.c - per-thread postino.db connections (see dbpool.h).
 *
 * A pthread key's destructor closes a worker's connection when the worker
 * thread ends, so a pool stop leaks nothing.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "core/dbpool.h"

#include <pthread.h>

static char *dbpool_path;
static char *dbpool_dir;
static pthread_key_t dbpool_key;
static pthread_once_t dbpool_once = PTHREAD_ONCE_INIT;

static void dbpool_destroy(void *ptr)
{
	struct db *db = ptr;
	db_close(&db);
}

static void dbpool_make_key(void)
{
	if (pthread_key_create(&dbpool_key, dbpool_destroy) != 0)
		panic("dbpool: pthread_key_create failed");
}

void dbpool_init(const char *data_dir)
{
	pthread_once(&dbpool_once, dbpool_make_key);
	free(dbpool_path);
	free(dbpool_dir);
	dbpool_path = xasprintf("%s/%s", data_dir, DB_FILE_NAME);
	dbpool_dir = xstrdup(data_dir);
}

const char *dbpool_data_dir(void)
{
	return dbpool_dir;
}

struct db *dbpool_get(void)
{
	struct db *db;
	char *error;

	if (dbpool_path == NULL)
		panic("dbpool_get before dbpool_init");
	db = pthread_getspecific(dbpool_key);
	if (db != NULL)
		return db;
	if (db_open(dbpool_path, false, &db, &error) < 0) {
		log_error("dbpool: %s", error);
		free(error);
		return NULL;
	}
	if (pthread_setspecific(dbpool_key, db) != 0)
		panic("dbpool: pthread_setspecific failed");
	return db;
}

void dbpool_release(void)
{
	struct db *db;

	if (dbpool_path == NULL)
		return;
	db = pthread_getspecific(dbpool_key);
	if (db != NULL) {
		pthread_setspecific(dbpool_key, NULL);
		db_close(&db);
	}
}

void dbpool_deinit(void)
{
	dbpool_release();
	free(dbpool_path);
	free(dbpool_dir);
	dbpool_path = dbpool_dir = NULL;
}
