/* SPDX-License-Identifier: ISC */
/* test-dbpool.c - each thread gets its own connection; all see one db. */
#include "lib/lib.h"
#include "core/dbpool.h"
#include "directory/schema.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>

static struct db *thread_db;

static void *thread_main(void *arg)
{
	thread_db = dbpool_get();
	assert_non_null(thread_db);
	/* a write from this thread is visible to the others (same file) */
	assert_int_equal(db_exec(thread_db, "INSERT INTO settings VALUES ('k', 'v')"), 0);
	return NULL;
}

static void test_per_thread(void **state)
{
	char *dir = test_tmpdir();
	struct db *db;
	char *error;
	pthread_t t;

	assert_int_equal(schema_open(dir, true, &db, &error), 0);
	db_close(&db);
	dbpool_init(dir);
	struct db *mine = dbpool_get();
	assert_non_null(mine);
	assert_ptr_equal(dbpool_get(), mine); /* cached for this thread */
	assert_int_equal(pthread_create(&t, NULL, thread_main, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_ptr_not_equal(thread_db, mine);
	sqlite3_stmt *st = db_prepare(mine, "SELECT value FROM settings WHERE key = 'k'");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "v");
	sqlite3_finalize(st);
	dbpool_deinit();
	test_rmtree(dir);
	free(dir);
}

static void test_missing_db(void **state)
{
	dbpool_init("/nonexistent-postino-dir");
	assert_null(dbpool_get());
	dbpool_deinit();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_thread),
		cmocka_unit_test(test_missing_db),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
