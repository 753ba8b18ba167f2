/* SPDX-License-Identifier: ISC */
/* test-autoreply.c - autoresponder settings and once-per-sender memory. */
#include "lib/lib.h"
#include "core/db.h"
#include "directory/autoreply.h"
#include "directory/directory.h"
#include "directory/schema.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>

struct fixture {
	char *dir;
	struct db *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct directory_error error;
	char *err;

	f->dir = test_tmpdir();
	assert_int_equal(schema_open(f->dir, true, &f->db, &err), 0);
	assert_int_equal(domain_add(f->db, "example.com", 0, 0, &error), 0);
	assert_int_equal(account_add(f->db, "bob@example.com", NULL, 0, 0, &error), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	db_close(&f->db);
	test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void test_set_get_off(void **state)
{
	struct fixture *f = *state;
	struct directory_error error;
	struct autoreply ar = { .body = "away", .interval = 3600 }, got;

	assert_int_equal(autoreply_get(f->db, "bob@example.com", &got), 0);
	assert_int_equal(autoreply_set(f->db, "BOB@example.com", &ar, &error), 0);
	assert_int_equal(autoreply_get(f->db, "bob@example.com", &got), 1);
	assert_string_equal(got.body, "away");
	assert_null(got.subject);
	assert_int_equal(got.interval, 3600);
	autoreply_clear(&got);
	assert_int_equal(autoreply_off(f->db, "bob@example.com", &error), 0);
	assert_int_equal(autoreply_off(f->db, "bob@example.com", &error), -1);
	assert_non_null(strstr(error.text, "has no autoreply"));
	assert_int_equal(autoreply_set(f->db, "nobody@example.com", &ar, &error), -1);
	assert_non_null(strstr(error.text, "no mailbox"));
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	struct directory_error error;
	struct autoreply ar = { .body = "", .interval = 60 };

	assert_int_equal(autoreply_set(f->db, "bob@example.com", &ar, &error), -1);
	ar.body = "x";
	ar.subject = "two\nlines";
	assert_int_equal(autoreply_set(f->db, "bob@example.com", &ar, &error), -1);
	ar.subject = NULL;
	ar.starts_at = 200;
	ar.ends_at = 100;
	assert_int_equal(autoreply_set(f->db, "bob@example.com", &ar, &error), -1);
	assert_non_null(strstr(error.text, "end date"));
}

static void test_window(void **state)
{
	struct autoreply ar = { .starts_at = 100, .ends_at = 200 };
	assert_false(autoreply_in_window(&ar, 99));
	assert_true(autoreply_in_window(&ar, 100));
	assert_true(autoreply_in_window(&ar, 199));
	assert_false(autoreply_in_window(&ar, 200));
	ar.starts_at = ar.ends_at = 0;
	assert_true(autoreply_in_window(&ar, 1));
}

static void test_claim_once_per_interval(void **state)
{
	struct fixture *f = *state;
	struct directory_error error;
	struct autoreply ar = { .body = "away", .interval = 100 };

	assert_int_equal(autoreply_set(f->db, "bob@example.com", &ar, &error), 0);
	assert_int_equal(autoreply_claim(f->db, "bob@example.com", "a@x.org", 100, 1000), 1);
	assert_int_equal(autoreply_claim(f->db, "bob@example.com", "A@X.org", 100, 1050), 0);
	assert_int_equal(autoreply_claim(f->db, "bob@example.com", "b@x.org", 100, 1050), 1);
	assert_int_equal(autoreply_claim(f->db, "bob@example.com", "a@x.org", 100, 1100), 1);
	assert_int_equal(autoreply_claim(f->db, "bob@example.com", "a@x.org", 100, 1101), 0);
	/* a new text forgets who was answered */
	assert_int_equal(autoreply_set(f->db, "bob@example.com", &ar, &error), 0);
	assert_int_equal(autoreply_claim(f->db, "bob@example.com", "a@x.org", 100, 1102), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_get_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test(test_window),
		cmocka_unit_test_setup_teardown(test_claim_once_per_interval, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
