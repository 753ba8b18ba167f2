/* SPDX-License-Identifier: ISC */
/* test-db-cache.c - the per-connection prepared-statement cache: reuse,
 * nesting, a fresh snapshot after release, cleared bindings, and nothing
 * left open at close. */
#include "lib/lib.h"
#include "lib/mem.h"
#include "core/db.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>

#define SELECT_V "SELECT v FROM t WHERE k = ?1"

struct fixture {
	char *dir;
	char *path;
	struct db *db;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *error = NULL;

	f->dir = test_tmpdir();
	f->path = xasprintf("%s/cache.db", f->dir);
	assert_int_equal(db_open(f->path, true, &f->db, &error), 0);
	assert_int_equal(db_exec(f->db, "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER);"
					 "INSERT INTO t VALUES ('a', 1), ('b', 2);"),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	db_close(&f->db);
	test_rmtree(f->dir);
	free(f->path);
	free(f->dir);
	free(f);
	return 0;
}

/* read_v - v of key k through the cached statement, -1 without a row. */
static int64_t read_v(struct db *db, const char *k)
{
	sqlite3_stmt *st = db_prepare_cached(db, SELECT_V);
	int64_t v = -1;

	sqlite3_bind_text(st, 1, k, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	db_release(db, st);
	return v;
}

static void test_reused(void **state)
{
	struct fixture *f = *state;
	sqlite3_stmt *st1 = db_prepare_cached(f->db, SELECT_V);
	sqlite3_stmt *st2;
	char *copy;

	assert_non_null(st1);
	db_release(f->db, st1);
	st2 = db_prepare_cached(f->db, SELECT_V);
	assert_ptr_equal(st1, st2);
	db_release(f->db, st2);
	/* the same text at another address (built at run time) */
	copy = xstrdup(SELECT_V);
	st2 = db_prepare_cached(f->db, copy);
	assert_ptr_equal(st1, st2);
	db_release(f->db, st2);
	free(copy);
	assert_int_equal(f->db->cache_count, 1);
	assert_int_equal(read_v(f->db, "a"), 1);
	assert_int_equal(read_v(f->db, "b"), 2);
	assert_int_equal(read_v(f->db, "zz"), -1);
	assert_int_equal(f->db->cache_count, 1);
	db_release(f->db, NULL); /* no-op */
}

/* A buffer reused for other text must not find the old statement. */
static void test_pointer_reused(void **state)
{
	struct fixture *f = *state;
	char sql[64];
	sqlite3_stmt *st;

	snprintf(sql, sizeof(sql), "SELECT 'first'");
	st = db_prepare_cached(f->db, sql);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "first");
	db_release(f->db, st);
	snprintf(sql, sizeof(sql), "SELECT 'second'");
	st = db_prepare_cached(f->db, sql);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "second");
	db_release(f->db, st);
	assert_int_equal(f->db->cache_count, 2);
}

/* Alias expansion may look up an account while another lookup of the
 * same SQL is still stepping. */
static void test_nested(void **state)
{
	struct fixture *f = *state;
	sqlite3_stmt *outer = db_prepare_cached(f->db, SELECT_V);
	sqlite3_stmt *inner;

	sqlite3_bind_text(outer, 1, "a", -1, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(outer), SQLITE_ROW);
	inner = db_prepare_cached(f->db, SELECT_V);
	assert_non_null(inner);
	assert_ptr_not_equal(inner, outer);
	sqlite3_bind_text(inner, 1, "b", -1, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(inner), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(inner, 0), 2);
	/* the outer one still holds its own row */
	assert_int_equal(sqlite3_column_int64(outer, 0), 1);
	db_release(f->db, inner); /* not cached: finalized */
	assert_int_equal(f->db->cache_count, 1);
	db_release(f->db, outer);
	assert_ptr_equal(db_prepare_cached(f->db, SELECT_V), outer);
	db_release(f->db, outer);
}

/* A statement left after SQLITE_ROW holds a read transaction; release
 * must end it, or the connection would keep reading an old snapshot. */
static void test_fresh_after_release(void **state)
{
	struct fixture *f = *state;
	struct db *other = NULL;
	char *error = NULL;
	sqlite3_stmt *st;
	int64_t version;

	assert_int_equal(db_open(f->path, false, &other, &error), 0);
	st = db_prepare_cached(f->db, SELECT_V);
	sqlite3_bind_text(st, 1, "a", -1, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW); /* not stepped to DONE */
	assert_int_equal(sqlite3_column_int64(st, 0), 1);
	db_release(f->db, st);
	version = db_data_version(f->db);
	assert_int_equal(db_exec(other, "UPDATE t SET v = 10 WHERE k = 'a'"), 0);
	assert_int_equal(read_v(f->db, "a"), 10);
	assert_true(db_data_version(f->db) != version);
	/* and the data_version statement itself is cached and fresh */
	version = db_data_version(f->db);
	assert_int_equal(db_data_version(f->db), version);
	assert_int_equal(db_exec(other, "UPDATE t SET v = 11 WHERE k = 'a'"), 0);
	assert_true(db_data_version(f->db) != version);
	assert_int_equal(read_v(f->db, "a"), 11);
	db_close(&other);
}

static void test_bindings_cleared(void **state)
{
	struct fixture *f = *state;
	sqlite3_stmt *st = db_prepare_cached(f->db, "SELECT ?1");

	sqlite3_bind_text(st, 1, "bound", -1, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "bound");
	db_release(f->db, st);
	assert_ptr_equal(db_prepare_cached(f->db, "SELECT ?1"), st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(st, 0), SQLITE_NULL);
	db_release(f->db, st);
}

/* Past DB_STMT_CACHE_MAX statements are prepared and finalized as before. */
static void test_full(void **state)
{
	struct fixture *f = *state;
	char sql[64];
	sqlite3_stmt *st;

	for (int i = 0; i < DB_STMT_CACHE_MAX + 5; i++) {
		snprintf(sql, sizeof(sql), "SELECT %d", i);
		st = db_prepare_cached(f->db, sql);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), i);
		db_release(f->db, st);
	}
	assert_int_equal(f->db->cache_count, DB_STMT_CACHE_MAX);
	/* the cached ones are still found by text */
	snprintf(sql, sizeof(sql), "SELECT %d", 3);
	st = db_prepare_cached(f->db, sql);
	assert_ptr_equal(st, f->db->cache[3].st);
	db_release(f->db, st);
}

/* db_close finalizes the cache, so the connection really closes: SQLite's
 * own allocations return to where they were before the open (a statement
 * left behind would keep a zombie connection and its memory). */
static void test_close_frees(void **state)
{
	struct fixture *f = *state;
	struct db *db = NULL;
	char *error = NULL;
	sqlite3_int64 before;
	sqlite3_stmt *st;

	db_close(&f->db); /* SQLite is initialised; measure from here */
	before = sqlite3_memory_used();
	assert_int_equal(db_open(f->path, false, &db, &error), 0);
	assert_int_equal(read_v(db, "a"), 1);
	(void)db_data_version(db);
	st = db_prepare_cached(db, "SELECT ?1");
	db_release(db, st);
	assert_int_equal(db->cache_count, 3);
	assert_true(sqlite3_memory_used() > before);
	db_close(&db);
	assert_null(db);
	assert_int_equal(sqlite3_memory_used(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pointer_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fresh_after_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bindings_cleared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_frees, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
