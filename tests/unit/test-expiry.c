/* SPDX-License-Identifier: ISC */
/* test-expiry.c - password expiry warnings (directory/expiry.c): the day
 * arithmetic at its edges, who is due a warning, the claim that makes it
 * once per password, and the message's text. */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "core/db.h"
#include "directory/directory.h"
#include "directory/expiry.h"
#include "directory/schema.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>

#define DAY EXPIRY_SECONDS_PER_DAY
#define T0 1700000000 /* 2023-11-14T22:13:20Z */

static void test_days_left(void **state)
{
	assert_int_equal(expiry_days_left(T0, T0), 0);        /* expired now */
	assert_int_equal(expiry_days_left(T0, T0 + 1), 0);    /* and after */
	assert_int_equal(expiry_days_left(T0 + 1, T0), 1);    /* a second left: "1 day" */
	assert_int_equal(expiry_days_left(T0 + DAY, T0), 1);
	assert_int_equal(expiry_days_left(T0 + DAY + 1, T0), 2);
	assert_int_equal(expiry_days_left(T0 + 7 * DAY, T0), 7);
	assert_int_equal(expiry_days_left(T0 + 7 * DAY + 1, T0), 8);
}

/* a mailbox that set its password at T0 with a 30-day max age */
static struct account mailbox(void)
{
	struct account a = {
		.password_hash = (char *)"$y$x", .password_changed_at = T0,
		.password_max_age_days = 30, .can_receive = true,
	};
	return a;
}

static void test_warn_due(void **state)
{
	struct account a = mailbox();
	int64_t expires = T0 + 30 * DAY;

	assert_false(expiry_warn_due(&a, expires - 7 * DAY - 1, 7)); /* 8 days left */
	assert_true(expiry_warn_due(&a, expires - 7 * DAY, 7));      /* exactly 7 */
	assert_true(expiry_warn_due(&a, expires - 1, 7));            /* last second */
	assert_false(expiry_warn_due(&a, expires, 7));               /* expired: too late */
	assert_false(expiry_warn_due(&a, expires - DAY, 0));         /* warnings off */
	a.password_warned_at = T0;
	assert_false(expiry_warn_due(&a, expires - DAY, 7));         /* already warned */
	a = mailbox();
	a.password_max_age_days = 0;
	assert_false(expiry_warn_due(&a, T0 + 1000 * DAY, 7));       /* never expires */
	a = mailbox();
	a.disabled = true;
	assert_false(expiry_warn_due(&a, expires - DAY, 7));
	a = mailbox();
	a.can_receive = false;
	assert_false(expiry_warn_due(&a, expires - DAY, 7));
	a = mailbox();
	a.password_hash = NULL;
	assert_false(expiry_warn_due(&a, expires - DAY, 7));
	a = mailbox();
	a.password_changed_at = 0;                                   /* never set */
	assert_false(expiry_warn_due(&a, expires - DAY, 7));
}

static void backdate(struct db *db, const char *address, int64_t changed_at)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE accounts SET password_changed_at = ?1"
					  " WHERE address = ?2");

	sqlite3_bind_int64(st, 1, changed_at);
	sqlite3_bind_text(st, 2, address, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* test_list_and_claim - on a real postino.db: the domain's default makes
 * a mailbox due, the claim wins once, a new password starts over. */
static void test_list_and_claim(void **state)
{
	char *dir = test_tmpdir(), *error = NULL;
	struct directory_error err;
	struct account *due;
	size_t n;
	struct db *db;
	int64_t now = time_now();
	const struct directory_setting dom[] = { { "password-max-age", "30" } };
	const struct directory_setting never[] = { { "password-max-age", "0" } };

	if (schema_open(dir, true, &db, &error) < 0)
		fail_msg("schema_open: %s", error);
	assert_int_equal(domain_add(db, "example.com", 0, 0, &err), 0);
	assert_int_equal(account_add(db, "a@example.com", "pw-a", 0, 0, &err), 0);
	assert_int_equal(account_add(db, "b@example.com", "pw-b", 0, 0, &err), 0);
	assert_int_equal(account_add(db, "c@example.com", "pw-c", 0, 0, &err), 0);
	assert_int_equal(domain_set(db, "example.com", dom, 1, &err), 0);
	assert_int_equal(account_set(db, "c@example.com", never, 1, "t", &err), 0);
	backdate(db, "a@example.com", now - 25 * DAY); /* 5 days left */
	backdate(db, "b@example.com", now - 10 * DAY); /* 20 days left */
	backdate(db, "c@example.com", now - 29 * DAY); /* its own 0: never */

	assert_int_equal(expiry_due_list(db, now, 7, &due, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(due[0].address, "a@example.com");
	assert_int_equal(expiry_claim(db, &due[0], now), 1);
	assert_int_equal(expiry_claim(db, &due[0], now), 0); /* a second look loses */
	accounts_free(&due, n);
	assert_int_equal(expiry_due_list(db, now, 7, &due, &n), 0);
	assert_int_equal(n, 0);

	/* a failed send gives it back */
	struct account a;
	assert_int_equal(account_get(db, "a@example.com", &a), 1);
	assert_true(a.password_warned_at >= now);
	assert_int_equal(expiry_unclaim(db, &a), 0);
	account_clear(&a);
	assert_int_equal(expiry_due_list(db, now, 7, &due, &n), 0);
	assert_int_equal(n, 1);
	/* a password changed since the list was read is not claimed */
	assert_int_equal(account_set_password(db, "a@example.com", "pw-new", &err), 0);
	backdate(db, "a@example.com", now - 26 * DAY);
	assert_int_equal(expiry_claim(db, &due[0], now), 0);
	accounts_free(&due, n);
	/* and the new password is due its own warning */
	assert_int_equal(expiry_due_list(db, now, 7, &due, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(expiry_claim(db, &due[0], now), 1);
	accounts_free(&due, n);

	db_close(&db);
	test_rmtree(dir);
	free(dir);
}

/* test_migration - a postino.db of schema 8: a mailbox's max age above 0
 * stays its own, a 0 (then the only way to say "never") follows the
 * domain, whose default starts at 0, so nothing expires that did not. */
static void test_migration(void **state)
{
	char *dir = test_tmpdir(), *error = NULL, *path = xasprintf("%s/postino.db", dir);
	struct account a;
	struct db *db;

	assert_int_equal(db_open(path, true, &db, &error), 0);
	assert_int_equal(db_migrate(db, schema_migrations, 8, &error), 0);
	assert_int_equal(db_exec(db, "INSERT INTO domains (name, created_at) VALUES ('x.org', 1);"
				     "INSERT INTO accounts (address, domain, local, created_at,"
				     " password_max_age_days) VALUES ('a@x.org', 'x.org', 'a', 1, 90),"
				     " ('b@x.org', 'x.org', 'b', 1, 0);"),
			 0);
	assert_int_equal(db_migrate(db, schema_migrations, schema_migrations_count, &error), 0);
	assert_int_equal(account_get(db, "a@x.org", &a), 1);
	assert_true(a.password_max_age_own);
	assert_int_equal(a.password_max_age_days, 90);
	assert_int_equal(a.password_warned_at, 0);
	account_clear(&a);
	assert_int_equal(account_get(db, "b@x.org", &a), 1);
	assert_false(a.password_max_age_own);
	assert_int_equal(a.password_max_age_days, 0);
	account_clear(&a);
	db_close(&db);
	test_rmtree(dir);
	free(path);
	free(dir);
}

static void test_compose(void **state)
{
	struct account a = mailbox();
	size_t len;
	char *msg;

	a.id = 42;
	a.address = (char *)"ann@example.com";
	a.domain = (char *)"example.com";
	msg = expiry_notice_compose(&a, T0 + 27 * DAY, "mx.example.com", &len);
	assert_int_equal(len, strlen(msg));
	assert_non_null(strstr(msg, "From: Mail System <postmaster@mx.example.com>\r\n"));
	assert_non_null(strstr(msg, "To: <ann@example.com>\r\n"));
	assert_non_null(strstr(msg, "Subject: Your password expires in 3 days\r\n"));
	assert_non_null(strstr(msg, "Auto-Submitted: auto-generated\r\n"));
	assert_non_null(strstr(msg, "Message-ID: <pwexpiry.42.1700000000@mx.example.com>\r\n"));
	/* expires T0 + 30 days = 2023-12-14T22:13:20Z */
	assert_non_null(strstr(msg, "on Thu, 14 Dec 2023 22:13:20 +0000 (2023-12-14T22:13:20Z)"));
	assert_non_null(strstr(msg, "postino user passwd ann@example.com --password-stdin"));
	assert_non_null(strstr(msg, "  Authentication failed: password expired, change it in "
				    "webmail\r\n"));
	assert_non_null(strstr(msg, "Passwords of example.com must be changed every 30 days."));
	assert_non_null(strstr(msg, "\r\n\r\nThe password of your mailbox"));
	/* nothing but CRLF line ends */
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\n')
			assert_true(i > 0 && msg[i - 1] == '\r');
	}
	free(msg);

	a.password_max_age_own = true;
	msg = expiry_notice_compose(&a, T0 + 30 * DAY - 60, "mx.example.com", &len);
	assert_non_null(strstr(msg, "Subject: Your password expires in 1 day\r\n"));
	assert_non_null(strstr(msg, "Passwords of this mailbox must be changed every 30 days."));
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_days_left),
		cmocka_unit_test(test_warn_due),
		cmocka_unit_test(test_list_and_claim),
		cmocka_unit_test(test_migration),
		cmocka_unit_test(test_compose),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
