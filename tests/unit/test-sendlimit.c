/* SPDX-License-Identifier: ISC */
/* test-sendlimit.c - directory/sendlimit.c on a real postino.db: the
 * window arithmetic (what counts, the off-by-one at the limit, the
 * transaction's recipients), a domain's overrides over the server's
 * limits and 0 = no limit, a trip recorded once with its journal row,
 * the lift by `user set` through the triggers (and the count starting
 * over), the disable action, where the notice goes and what it says. */
#include "lib/lib.h"
#include "lib/mem.h"
#include "core/db.h"
#include "core/journal.h"
#include "directory/directory.h"
#include "directory/schema.h"
#include "directory/sendlimit.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>

#define SEC 1000LL
#define HOUR (3600 * SEC)
#define ALICE "alice@example.com"
#define BOB "bob@example.com"

struct fixture {
	char *dir;
	struct db *db;
	struct sendlimit_params p;
	int64_t now;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct directory_error err;
	char *error = NULL;

	f->dir = test_tmpdir();
	if (schema_open(f->dir, true, &f->db, &error) < 0)
		fail_msg("schema_open: %s", error);
	assert_int_equal(domain_add(f->db, "example.com", 0, 0, &err), 0);
	assert_int_equal(account_add(f->db, ALICE, NULL, 0, 0, &err), 0);
	assert_int_equal(account_add(f->db, BOB, NULL, 0, 0, &err), 0);
	f->p = (struct sendlimit_params){ .messages = 3, .recipients = 10, .window_ms = HOUR,
					  .action = SENDLIMIT_SUSPEND };
	/* the triggers stamp lifts with the real clock: so does the test */
	f->now = sendlimit_now_ms();
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

/* sent - one send_log row as policy_send_record writes it, at time t. */
static void sent(struct fixture *f, const char *account, int64_t t, unsigned rcpts)
{
	sqlite3_stmt *st = db_prepare(f->db, "INSERT INTO send_log (account, time_ms, recipients)"
					     " VALUES (?1, ?2, ?3)");

	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, t);
	sqlite3_bind_int(st, 3, (int)rcpts);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static int check(struct fixture *f, const char *account, unsigned tx, struct sendlimit_verdict *v)
{
	return sendlimit_check(f->db, &f->p, account, tx, f->now, v);
}

static size_t journal_count(struct fixture *f, const char *reason)
{
	struct journal_query q = { .reason = reason };
	struct journal_row *rows;
	size_t n;

	assert_int_equal(journal_query(f->db, &q, &rows, &n), 0);
	journal_rows_free(&rows, n);
	return n;
}

static void user_set(struct fixture *f, const char *account, const char *key, const char *value)
{
	struct directory_setting s = { key, value };
	struct directory_error err;

	assert_int_equal(account_set(f->db, account, &s, 1, "test", &err), 0);
}

static void domain_limit(struct fixture *f, const char *key, const char *value)
{
	struct directory_setting s = { key, value };
	struct directory_error err;

	if (domain_set(f->db, "example.com", &s, 1, &err) < 0)
		fail_msg("domain_set %s=%s: %s", key, value, err.text);
}

static void test_window(void **state)
{
	struct fixture *f = *state;
	struct sendlimit_verdict v;

	sent(f, ALICE, f->now - HOUR - SEC, 50); /* before the window */
	sent(f, ALICE, f->now - 10 * SEC, 2);
	sent(f, ALICE, f->now - 5 * SEC, 3);
	sent(f, BOB, f->now - 5 * SEC, 9);       /* somebody else's */
	assert_int_equal(check(f, ALICE, 0, &v), 0);
	assert_int_equal(v.messages, 2);
	assert_int_equal(v.recipients, 5);
	assert_null(v.exceeded);
	assert_int_equal(v.since_ms, f->now - HOUR);
	/* a recipient after 4 in this transaction: 9 < 10 still fits; after 5 not */
	assert_int_equal(check(f, ALICE, 4, &v), 0);
	assert_int_equal(check(f, ALICE, 5, &v), 1);
	assert_string_equal(v.exceeded, "recipients");
	assert_int_equal(v.recipients, 10);
	/* the 3rd message is allowed, the 4th is not */
	sent(f, ALICE, f->now - SEC, 1);
	assert_int_equal(check(f, ALICE, 0, &v), 1);
	assert_string_equal(v.exceeded, "messages");
	assert_int_equal(v.messages, 3);
	/* 0 = no limit */
	f->p.messages = f->p.recipients = 0;
	assert_int_equal(check(f, ALICE, 1000, &v), 0);
}

static void test_domain_overrides(void **state)
{
	struct fixture *f = *state;
	struct sendlimit_verdict v;
	int64_t m, r;

	sent(f, ALICE, f->now - SEC, 1);
	assert_int_equal(sendlimit_domain_get(f->db, "example.com", &m, &r), 1);
	assert_true(m == -1 && r == -1);
	domain_limit(f, "send-messages", "1");
	assert_int_equal(check(f, ALICE, 0, &v), 1);
	assert_int_equal(v.limits.messages, 1);
	assert_int_equal(v.limits.recipients, 10); /* the server's */
	domain_limit(f, "send-messages", "0");
	f->p.messages = 1;
	assert_int_equal(check(f, ALICE, 0, &v), 0); /* the domain's 0 beats the server's 1 */
	domain_limit(f, "send-messages", "default");
	assert_int_equal(check(f, ALICE, 0, &v), 1);
	assert_int_equal(sendlimit_domain_get(f->db, "example.com", &m, &r), 1);
	assert_int_equal(m, -1);
	domain_limit(f, "send-recipients", "7");
	assert_int_equal(sendlimit_domain_get(f->db, "example.com", &m, &r), 1);
	assert_int_equal(r, 7);
}

static void test_trip_once_then_lift(void **state)
{
	struct fixture *f = *state;
	struct sendlimit_verdict v;
	struct sendlimit_hold h;
	struct account a;

	for (int i = 0; i < 3; i++)
		sent(f, ALICE, f->now - (10 - i) * SEC, 2);
	assert_int_equal(sendlimit_hold_get(f->db, ALICE, &h), 0);
	assert_int_equal(check(f, ALICE, 0, &v), 1);
	assert_int_equal(sendlimit_trip(f->db, ALICE, &v, "192.0.2.7", "s.1", &h), 1);
	assert_non_null(strstr(h.reason, ": 3 messages / 6 recipients in 1h (limit 3 messages / "
					 "10 recipients)"));
	assert_string_equal(h.ips, "192.0.2.7 (the refused attempt)");
	assert_int_equal(account_get(f->db, ALICE, &a), 1);
	assert_false(a.can_send);
	assert_false(a.disabled);
	account_clear(&a);
	/* a second attempt, or a parallel session: nothing new */
	assert_int_equal(sendlimit_trip(f->db, ALICE, &v, "192.0.2.8", "s.2", &h), 0);
	assert_int_equal(journal_count(f, SENDLIMIT_REASON_SUSPENDED), 1);
	assert_int_equal(sendlimit_hold_get(f->db, ALICE, &h), 1);
	assert_int_equal(h.messages, 3);
	assert_int_equal(h.limit_messages, 3);
	assert_string_equal(h.exceeded, "messages");
	assert_int_equal(h.window_ms, HOUR);
	/* an unrelated change does not lift it; can-send=yes does */
	user_set(f, ALICE, "can-receive", "yes");
	assert_int_equal(sendlimit_hold_get(f->db, ALICE, &h), 1);
	user_set(f, ALICE, "can-send", "yes");
	assert_int_equal(sendlimit_hold_get(f->db, ALICE, &h), 2);
	assert_true(h.lifted_ms >= f->now - SEC);
	/* counting starts over at the lift */
	f->now = sendlimit_now_ms() + 1;
	assert_int_equal(check(f, ALICE, 0, &v), 0);
	assert_int_equal(v.messages, 0);
	/* and the next trip is a new one */
	for (int i = 0; i < 3; i++)
		sent(f, ALICE, f->now + i, 1);
	f->now += 10;
	assert_int_equal(check(f, ALICE, 0, &v), 1);
	assert_int_equal(sendlimit_trip(f->db, ALICE, &v, NULL, NULL, &h), 1);
	assert_int_equal(journal_count(f, SENDLIMIT_REASON_SUSPENDED), 2);
}

static void test_disable_action(void **state)
{
	struct fixture *f = *state;
	struct sendlimit_verdict v;
	struct sendlimit_hold h;
	struct account a;

	f->p.action = SENDLIMIT_DISABLE;
	for (int i = 0; i < 3; i++)
		sent(f, BOB, f->now - SEC, 1);
	assert_int_equal(check(f, BOB, 0, &v), 1);
	assert_int_equal(sendlimit_trip(f->db, BOB, &v, "192.0.2.9", NULL, &h), 1);
	assert_int_equal(account_get(f->db, BOB, &a), 1);
	assert_true(a.disabled && a.can_send);
	assert_string_equal(a.disabled_by, SENDLIMIT_ACTOR);
	assert_string_equal(a.disabled_reason, h.reason);
	account_clear(&a);
	assert_int_equal(journal_count(f, SENDLIMIT_REASON_DISABLED), 1);
	user_set(f, BOB, "can-send", "yes"); /* not what it turned off */
	assert_int_equal(sendlimit_hold_get(f->db, BOB, &h), 1);
	user_set(f, BOB, "disabled", "no");
	assert_int_equal(sendlimit_hold_get(f->db, BOB, &h), 2);
}

static void test_postmaster_and_notice(void **state)
{
	struct fixture *f = *state;
	const char *pm = "postmaster@example.com";
	struct directory_error err;
	struct sendlimit_verdict v;
	struct sendlimit_hold h;
	char *to, *msg;
	size_t len;

	to = sendlimit_postmaster(f->db, ALICE, "", "mail.example.net");
	assert_string_equal(to, "postmaster@mail.example.net");
	free(to);
	to = sendlimit_postmaster(f->db, ALICE, "admin@example.org", "mail.example.net");
	assert_string_equal(to, "admin@example.org");
	free(to);
	assert_int_equal(alias_add(f->db, pm, (const char *const[]){ BOB }, 1, &err), 0);
	to = sendlimit_postmaster(f->db, ALICE, "admin@example.org", "mail.example.net");
	assert_string_equal(to, pm);

	for (int i = 0; i < 3; i++)
		sent(f, ALICE, f->now - SEC, 1);
	assert_int_equal(check(f, ALICE, 0, &v), 1);
	assert_int_equal(sendlimit_trip(f->db, ALICE, &v, "192.0.2.7", NULL, &h), 1);
	msg = sendlimit_notice(ALICE, &h, to, "mail.example.net", &len);
	assert_int_equal(len, strlen(msg));
	assert_non_null(strstr(msg, "From: Mail System <MAILER-DAEMON@mail.example.net>\r\n"));
	assert_non_null(strstr(msg, "To: <postmaster@example.com>\r\n"));
	assert_non_null(strstr(msg, "Subject: Sending suspended for alice@example.com: too many "
				    "messages in a short time\r\n"));
	assert_non_null(strstr(msg, "Auto-Submitted: auto-generated\r\n"));
	assert_non_null(strstr(msg, "submitted 3 messages to 3 recipients.\r\n"));
	assert_non_null(strstr(msg, "  postino user set alice@example.com can-send=yes\r\n"));
	/* CRLF only: no bare LF anywhere */
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\n')
			assert_true(i > 0 && msg[i - 1] == '\r');
	}
	free(msg);
	free(to);
}

static void test_names(void **state)
{
	char text[24];

	sendlimit_window_text(HOUR, text, sizeof(text));
	assert_string_equal(text, "1h");
	sendlimit_window_text(90 * 60 * SEC, text, sizeof(text));
	assert_string_equal(text, "90m");
	sendlimit_window_text(86400 * SEC, text, sizeof(text));
	assert_string_equal(text, "1d");
	sendlimit_window_text(61 * SEC, text, sizeof(text));
	assert_string_equal(text, "61s");
	assert_string_equal(sendlimit_action_name(SENDLIMIT_DISABLE), "disable");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		T(test_window),
		T(test_domain_overrides),
		T(test_trip_once_then_lift),
		T(test_disable_action),
		T(test_postmaster_and_notice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
