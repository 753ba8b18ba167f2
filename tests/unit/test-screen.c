/* SPDX-License-Identifier: ISC */
/* test-screen.c - directory/screen.c on a real postino.db with a fake
 * clock: the window arithmetic (what counts, when a block starts and
 * ends), address keys and trusted networks, locks that count toward the
 * address only, success, unblock, pruning, the journal rows, and the
 * loop's in-memory copy noticing writes from its own process and from
 * another connection (the CLI). */
#include "lib/lib.h"
#include "lib/mem.h"
#include "core/config.h"
#include "core/db.h"
#include "core/journal.h"
#include "directory/schema.h"
#include "directory/screen.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>

#define SEC 1000LL
/* A fixed epoch for the fake clock: 2026-11-22T10:00:00Z. */
#define T0 (1795341600LL * SEC)

struct fixture {
	char *dir;
	struct db *db;
	struct screen_params p;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *error = NULL;

	f->dir = test_tmpdir();
	if (schema_open(f->dir, true, &f->db, &error) < 0)
		fail_msg("schema_open: %s", error);
	/* 3 failures within 10 s block the address for 60 s; 2 within 5 s
	 * lock the login for 30 s */
	f->p = (struct screen_params){ .ip_failures = 3, .ip_window_ms = 10 * SEC,
				       .ip_block_ms = 60 * SEC, .account_failures = 2,
				       .account_window_ms = 5 * SEC, .account_lock_ms = 30 * SEC };
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

static struct screen_event fail_at(struct fixture *f, const char *ip, const char *login,
				   int64_t t)
{
	struct screen_who who = { .service = "smtp", .ip = ip, .login = login, .sid = "s.1" };
	struct screen_event ev;

	assert_int_equal(screen_login_failed(f->db, &f->p, &who, t, &ev), 0);
	return ev;
}

static int blocked(struct fixture *f, enum screen_kind kind, const char *subject, int64_t t)
{
	struct screen_block b;
	return screen_get(f->db, kind, subject, t, &b);
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

static void test_keys(void **state)
{
	char key[SCREEN_SUBJECT_MAX];

	assert_int_equal(screen_ip_key("192.0.2.7", key, sizeof(key)), 0);
	assert_string_equal(key, "192.0.2.7");
	/* an IPv6 client is its /64; a v4-mapped one is its IPv4 address */
	assert_int_equal(screen_ip_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", key, sizeof(key)), 0);
	assert_string_equal(key, "2001:db8:1:2::/64");
	assert_int_equal(screen_ip_key("2001:DB8:1:2::/64", key, sizeof(key)), 0);
	assert_string_equal(key, "2001:db8:1:2::/64");
	assert_int_equal(screen_ip_key("::ffff:192.0.2.7", key, sizeof(key)), 0);
	assert_string_equal(key, "192.0.2.7");
	assert_int_equal(screen_ip_key("alice@example.test", key, sizeof(key)), -1);
	assert_int_equal(screen_ip_key("192.0.2.7/64", key, sizeof(key)), -1);
	assert_int_equal(screen_ip_key("2001:db8::/48", key, sizeof(key)), -1);
	assert_true(screen_same_address("2001:db8:1:2::9", "2001:db8:1:2::1"));
	assert_false(screen_same_address("2001:db8:1:3::1", "2001:db8:1:2::1"));
	assert_true(screen_same_address("::ffff:10.0.0.1", "10.0.0.1"));

	screen_login_key("Alice@EXAMPLE.test", key, sizeof(key));
	assert_string_equal(key, "alice@example.test");
	screen_login_key("ADMIN", key, sizeof(key));
	assert_string_equal(key, "admin");
}

static void test_trusted(void **state)
{
	struct config *cfg = config_new_defaults();
	struct screen_params p;
	char *error = NULL;

	screen_params_from_config(cfg, &p);
	assert_int_equal(p.trusted_count, 0);
	assert_false(screen_is_trusted(&p, "127.0.0.1")); /* loopback is not trusted by default */
	assert_int_equal(p.ip_failures, 10);
	assert_int_equal(p.ip_window_ms, 600 * SEC);
	assert_int_equal(p.ip_block_ms, 1800 * SEC);
	assert_int_equal(p.account_failures, 5);
	assert_int_equal(p.account_lock_ms, 900 * SEC);
	assert_int_equal(config_set(cfg, "screen.trusted", "192.168.1.0/24, 2001:db8::/32,10.1.2.3",
				    &error), 0);
	screen_params_from_config(cfg, &p);
	assert_int_equal(p.trusted_count, 3);
	assert_true(screen_is_trusted(&p, "192.168.1.200"));
	assert_false(screen_is_trusted(&p, "192.168.2.1"));
	assert_true(screen_is_trusted(&p, "2001:db8:ffff::1"));
	assert_false(screen_is_trusted(&p, "2001:db9::1"));
	assert_true(screen_is_trusted(&p, "10.1.2.3"));
	assert_false(screen_is_trusted(&p, "10.1.2.4"));
	assert_true(screen_is_trusted(&p, "::ffff:192.168.1.9"));
	assert_false(screen_is_trusted(&p, "not an ip"));
	/* host bits past the prefix are a typo, refused */
	assert_int_equal(config_set(cfg, "screen.trusted", "192.168.1.7/24", &error), -1);
	free(error);
	assert_int_equal(config_set(cfg, "screen.trusted", "10.0.0.0/33", &error), -1);
	free(error);
	assert_int_equal(config_set(cfg, "screen.ip-window", "90s", &error), 0);
	char *v = config_get(cfg, "screen.ip-window");
	assert_string_equal(v, "90s");
	free(v);
	assert_int_equal(config_set(cfg, "screen.ip-window", "120", &error), 0);
	v = config_get(cfg, "screen.ip-window");
	assert_string_equal(v, "2m");
	free(v);
	assert_int_equal(config_set(cfg, "screen.ip-block", "0", &error), -1);
	free(error);
	config_free(&cfg);
}

/* test_ip_window - the address window slides: a failure leaves it
 * window_ms after it happened, and the block starts at the failure that
 * reaches the threshold inside one window. */
static void test_ip_window(void **state)
{
	struct fixture *f = *state;
	struct screen_event ev;

	f->p.account_failures = 0; /* addresses only */
	ev = fail_at(f, "192.0.2.1", "a@example.test", T0);
	assert_true(ev.counted);
	assert_int_equal(ev.ip_failures, 1);
	ev = fail_at(f, "192.0.2.1", "b@example.test", T0 + 6 * SEC);
	assert_int_equal(ev.ip_failures, 2);
	/* the first has left the 10 s window: still 2 */
	ev = fail_at(f, "192.0.2.1", "c@example.test", T0 + 10 * SEC);
	assert_int_equal(ev.ip_failures, 2);
	assert_false(ev.ip_blocked_now);
	/* another address does not add to this one */
	ev = fail_at(f, "192.0.2.2", "c@example.test", T0 + 11 * SEC);
	assert_int_equal(ev.ip_failures, 1);
	ev = fail_at(f, "192.0.2.1", "d@example.test", T0 + 12 * SEC);
	assert_int_equal(ev.ip_failures, 3);
	assert_true(ev.ip_blocked_now);
	assert_int_equal(ev.ip_until_ms, T0 + 72 * SEC);
	assert_int_equal(blocked(f, SCREEN_KIND_IP, "192.0.2.1", T0 + 71 * SEC), 1);
	assert_int_equal(blocked(f, SCREEN_KIND_IP, "192.0.2.1", T0 + 72 * SEC), 0);
	assert_int_equal(blocked(f, SCREEN_KIND_IP, "192.0.2.2", T0 + 13 * SEC), 0);

	struct screen_block b;
	assert_int_equal(screen_get(f->db, SCREEN_KIND_IP, "192.0.2.1", T0 + 13 * SEC, &b), 1);
	assert_int_equal(b.failures, 3);
	assert_int_equal(b.since_ms, T0 + 12 * SEC);
	/* the logins tried in the window, busiest first, then by name */
	assert_string_equal(b.detail, "b@example.test x1, c@example.test x1, d@example.test x1");
	assert_int_equal(journal_count(f, "screen.ip-block"), 1);
	/* one more failure while blocked starts nothing new */
	ev = fail_at(f, "192.0.2.1", "e@example.test", T0 + 14 * SEC);
	assert_false(ev.ip_blocked_now);
	assert_int_equal(journal_count(f, "screen.ip-block"), 1);
	/* expired, the next threshold crossing blocks again */
	fail_at(f, "192.0.2.1", "x", T0 + 80 * SEC);
	fail_at(f, "192.0.2.1", "x", T0 + 81 * SEC);
	ev = fail_at(f, "192.0.2.1", "x", T0 + 82 * SEC);
	assert_true(ev.ip_blocked_now);
	assert_int_equal(journal_count(f, "screen.ip-block"), 2);
}

static void test_account_lock(void **state)
{
	struct fixture *f = *state;
	struct screen_event ev;
	struct screen_block b;
	const char *reason;

	f->p.ip_failures = 0; /* accounts only */
	ev = fail_at(f, "192.0.2.1", "Alice@Example.test", T0);
	assert_false(ev.account_locked_now);
	/* 6 s later the first is outside the 5 s window */
	ev = fail_at(f, "192.0.2.2", "alice@example.test", T0 + 6 * SEC);
	assert_int_equal(ev.account_failures, 1);
	ev = fail_at(f, "192.0.2.3", "alice@example.test", T0 + 7 * SEC);
	assert_true(ev.account_locked_now);
	assert_int_equal(ev.account_until_ms, T0 + 37 * SEC);
	assert_int_equal(screen_check_login(f->db, &f->p, "198.51.100.1", "ALICE@example.test",
					    T0 + 8 * SEC, &reason, &b), 1);
	assert_string_equal(reason, SCREEN_REASON_ACCOUNT_LOCKED);
	assert_string_equal(b.subject, "alice@example.test");
	assert_string_equal(b.detail, "192.0.2.2 x1, 192.0.2.3 x1");
	assert_int_equal(screen_check_login(f->db, &f->p, "198.51.100.1", "bob@example.test",
					    T0 + 8 * SEC, &reason, &b), 0);
	assert_int_equal(screen_check_login(f->db, &f->p, "198.51.100.1", "alice@example.test",
					    T0 + 37 * SEC, &reason, &b), 0);
	assert_int_equal(journal_count(f, "screen.account-lock"), 1);
	/* addresses are not blocked by account failures */
	assert_int_equal(blocked(f, SCREEN_KIND_IP, "192.0.2.3", T0 + 8 * SEC), 0);
}

static void test_locked_attempts_count_for_the_address_only(void **state)
{
	struct fixture *f = *state;
	struct screen_who who = { .service = "imap", .ip = "192.0.2.9", .login = "a@example.test",
				  .login_locked = true };
	struct screen_event ev;
	uint64_t n;

	for (int i = 0; i < 3; i++)
		assert_int_equal(screen_login_failed(f->db, &f->p, &who, T0 + i * SEC, &ev), 0);
	assert_true(ev.ip_blocked_now);
	assert_int_equal(ev.account_failures, 0);
	assert_int_equal(screen_failure_count(f->db, SCREEN_KIND_ACCOUNT, "a@example.test", 0, &n),
			 0);
	assert_int_equal(n, 0);
	assert_int_equal(blocked(f, SCREEN_KIND_ACCOUNT, "a@example.test", T0 + 3 * SEC), 0);
}

static void test_success_restarts_the_account_only(void **state)
{
	struct fixture *f = *state;
	struct screen_who who = { .service = "smtp", .ip = "192.0.2.1", .login = "a@example.test" };
	struct screen_event ev;

	f->p.account_window_ms = 60 * SEC;
	f->p.ip_window_ms = 60 * SEC;
	fail_at(f, "192.0.2.1", "a@example.test", T0);
	assert_int_equal(screen_login_succeeded(f->db, &who), 0);
	ev = fail_at(f, "192.0.2.1", "a@example.test", T0 + SEC);
	assert_int_equal(ev.account_failures, 1); /* started over */
	assert_int_equal(ev.ip_failures, 2);      /* the address did not */
	assert_false(ev.account_locked_now);
}

static void test_trusted_and_odd_addresses_count_nothing(void **state)
{
	struct fixture *f = *state;
	struct screen_event ev;
	const char *reason;
	struct screen_block b;
	uint64_t n;

	assert_int_equal(config_cidr_parse("192.0.2.0/24", &f->p.trusted[0]), 0);
	f->p.trusted_count = 1;
	for (int i = 0; i < 5; i++) {
		ev = fail_at(f, "192.0.2.50", "a@example.test", T0 + i);
		assert_true(ev.trusted);
		assert_false(ev.counted);
	}
	ev = fail_at(f, "unix-socket", "a@example.test", T0);
	assert_false(ev.counted);
	assert_int_equal(screen_failure_count(f->db, SCREEN_KIND_ACCOUNT, "a@example.test", 0, &n),
			 0);
	assert_int_equal(n, 0);
	/* a lock made from elsewhere does not shut the trusted office out */
	fail_at(f, "198.51.100.1", "a@example.test", T0);
	fail_at(f, "198.51.100.1", "a@example.test", T0 + 1);
	assert_int_equal(screen_check_login(f->db, &f->p, "198.51.100.1", "a@example.test", T0 + 2,
					    &reason, &b), 1);
	assert_int_equal(screen_check_login(f->db, &f->p, "192.0.2.50", "a@example.test", T0 + 2,
					    &reason, &b), 0);
}

static void test_unblock_list_and_prune(void **state)
{
	struct fixture *f = *state;
	struct screen_block *list;
	enum screen_kind kind;
	char key[SCREEN_SUBJECT_MAX];
	size_t n;
	uint64_t count;

	for (int i = 0; i < 3; i++)
		fail_at(f, "2001:db8:5:6::1", i < 2 ? "a@example.test" : "b@example.test", T0 + i);
	assert_int_equal(screen_list(f->db, T0 + 10, &list, &n), 0);
	assert_int_equal(n, 2); /* the address and a@ */
	assert_int_equal(list[0].kind, SCREEN_KIND_IP);
	assert_string_equal(list[0].subject, "2001:db8:5:6::/64");
	assert_int_equal(list[1].kind, SCREEN_KIND_ACCOUNT);
	assert_string_equal(list[1].subject, "a@example.test");
	free(list);
	/* any address of the /64 names the block */
	assert_int_equal(screen_unblock(f->db, "2001:db8:5:6::99", T0 + 20, &kind, key, sizeof(key)),
			 1);
	assert_int_equal(kind, SCREEN_KIND_IP);
	assert_string_equal(key, "2001:db8:5:6::/64");
	assert_int_equal(screen_failure_count(f->db, SCREEN_KIND_IP, key, 0, &count), 0);
	assert_int_equal(count, 0); /* forgotten with the block */
	assert_int_equal(screen_unblock(f->db, "2001:db8:5:6::99", T0 + 20, &kind, key, sizeof(key)),
			 0);
	assert_int_equal(screen_unblock(f->db, "A@example.test", T0 + 20, &kind, key, sizeof(key)),
			 1);
	assert_int_equal(kind, SCREEN_KIND_ACCOUNT);
	assert_int_equal(screen_list(f->db, T0 + 20, &list, &n), 0);
	assert_int_equal(n, 0);
	free(list);
	/* rows older than the longest window go at the next write */
	fail_at(f, "192.0.2.77", "z", T0 + 3600 * SEC);
	assert_int_equal(screen_failure_count(f->db, SCREEN_KIND_ACCOUNT, "b@example.test", 0,
					      &count), 0);
	assert_int_equal(count, 0);
}

/* test_connect_cache - the loop's copy follows writes from this process
 * (same connection: data_version does not move) and from another
 * connection (the CLI), and ignores blocks that have expired. */
static void test_connect_cache(void **state)
{
	struct fixture *f = *state;
	struct screen_block b;
	struct db *cli;
	enum screen_kind kind;
	char key[SCREEN_SUBJECT_MAX], *error = NULL;

	assert_int_equal(screen_check_connect(f->db, &f->p, "192.0.2.1", T0, &b), 0);
	for (int i = 0; i < 3; i++)
		fail_at(f, "192.0.2.1", "a", T0 + i);
	assert_int_equal(screen_check_connect(f->db, &f->p, "192.0.2.1", T0 + 5, &b), 1);
	assert_int_equal(b.until_ms, T0 + 2 + 60 * SEC);
	assert_int_equal(screen_check_connect(f->db, &f->p, "::ffff:192.0.2.1", T0 + 5, &b), 1);
	assert_int_equal(screen_check_connect(f->db, &f->p, "192.0.2.2", T0 + 5, &b), 0);
	assert_int_equal(screen_check_connect(f->db, &f->p, "192.0.2.1", T0 + 61 * SEC, &b), 0);

	if (schema_open(f->dir, false, &cli, &error) < 0)
		fail_msg("second connection: %s", error);
	assert_int_equal(screen_unblock(cli, "192.0.2.1", T0 + 6, &kind, key, sizeof(key)), 1);
	assert_int_equal(screen_check_connect(f->db, &f->p, "192.0.2.1", T0 + 7, &b), 0);
	db_close(&cli);
	/* trusted: never refused, whatever the table says */
	for (int i = 0; i < 3; i++)
		fail_at(f, "192.0.2.1", "a", T0 + 10 + i);
	assert_int_equal(screen_check_connect(f->db, &f->p, "192.0.2.1", T0 + 20, &b), 1);
	assert_int_equal(config_cidr_parse("192.0.2.1", &f->p.trusted[0]), 0);
	f->p.trusted_count = 1;
	assert_int_equal(screen_check_connect(f->db, &f->p, "192.0.2.1", T0 + 20, &b), 0);
}

/* test_connect_cache_trust - every commit to postino.db (journal rows
 * above all) moves data_version, so the copy asks it at most once a
 * second while nothing in this process changed a block: a block written
 * by another connection (no such writer exists; the CLI only lifts them)
 * is seen after that second, never before. */
static void test_connect_cache_trust(void **state)
{
	struct fixture *f = *state;
	struct screen_block b;
	struct db *other;
	char *error = NULL;

	assert_int_equal(screen_check_connect(f->db, &f->p, "192.0.2.9", T0, &b), 0);
	if (schema_open(f->dir, false, &other, &error) < 0)
		fail_msg("second connection: %s", error);
	assert_int_equal(db_exec(other, "INSERT INTO screen_blocks (kind, subject, since_ms,"
					" until_ms, failures) VALUES ('ip', '192.0.2.9', 0,"
					" 9000000000000, 3)"), 0);
	db_close(&other);
	assert_int_equal(screen_check_connect(f->db, &f->p, "192.0.2.9", T0 + 999, &b), 0);
	assert_int_equal(screen_check_connect(f->db, &f->p, "192.0.2.9", T0 + SEC, &b), 1);
	/* a write in this process is seen at once */
	for (int i = 0; i < 3; i++)
		fail_at(f, "192.0.2.10", "c", T0 + SEC + 1 + i);
	assert_int_equal(screen_check_connect(f->db, &f->p, "192.0.2.10", T0 + SEC + 5, &b), 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_trusted),
		T(test_ip_window),
		T(test_account_lock),
		T(test_locked_attempts_count_for_the_address_only),
		T(test_success_restarts_the_account_only),
		T(test_trusted_and_odd_addresses_count_nothing),
		T(test_unblock_list_and_prune),
		T(test_connect_cache),
		T(test_connect_cache_trust),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
