/* SPDX-License-Identifier: ISC */
/* test-directory.c - domains, mailboxes and aliases on a real postino.db
 * in a temporary directory: limits, duplicates, aliases against mailboxes,
 * every `user set` key, and that refused changes change nothing. */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/fs.h"
#include "lib/time.h"
#include "core/db.h"
#include "directory/directory.h"
#include "directory/schema.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>
#include <sys/stat.h>

#define GIB (1024ULL * 1024 * 1024)
#define MIB (1024ULL * 1024)

struct fixture {
	char *dir;
	struct db *db;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *error = NULL;

	f->dir = test_tmpdir();
	if (schema_open(f->dir, true, &f->db, &error) < 0)
		fail_msg("schema_open: %s", error);
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

/* ok - the call succeeded, or the test fails with its refusal. */
#define ok(call)                                                        \
	do {                                                            \
		struct directory_error *e_ = &err;                      \
		memset(e_, 0, sizeof(*e_));                             \
		if ((call) != 0)                                        \
			fail_msg("%s: refused: %s", #call, e_->text);   \
	} while (0)

/* refused - the call failed with this message (and reason, when given). */
#define refused(call, text_, reason_)                                            \
	do {                                                                     \
		memset(&err, 0, sizeof(err));                                    \
		assert_int_equal((call), -1);                                    \
		assert_string_equal(err.text, (text_));                          \
		if ((reason_) != NULL)                                           \
			assert_string_equal(err.reason != NULL ? err.reason : "", \
					    (const char *)(reason_));             \
	} while (0)

static uint64_t account_count(struct db *db, const char *domain)
{
	struct account *accounts;
	size_t count;

	assert_int_equal(account_list(db, domain, &accounts, &count), 0);
	accounts_free(&accounts, count);
	return count;
}

static void test_domains(void **state)
{
	struct fixture *f = *state;
	struct directory_error err;
	struct domain d, *domains;
	size_t count;

	ok(domain_add(f->db, "Example.COM", 5, GIB, &err));
	ok(domain_add(f->db, "B\xc3\xbc" "cher.example", 0, 0, &err));
	refused(domain_add(f->db, "example.com", 0, 0, &err), "domain example.com already exists",
		"directory.exists");
	refused(domain_add(f->db, "xn--bcher-kva.example", 0, 0, &err),
		"domain xn--bcher-kva.example already exists", NULL);
	refused(domain_add(f->db, "bad_domain", 0, 0, &err),
		"bad domain 'bad_domain': invalid character in domain", "directory.invalid");

	assert_int_equal(domain_get(f->db, "EXAMPLE.com", &d), 1);
	assert_string_equal(d.name, "example.com");
	assert_int_equal(d.max_accounts, 5);
	assert_int_equal(d.quota_bytes, GIB);
	assert_int_equal(d.account_count, 0);
	assert_true(d.created_at > 0 && d.created_at <= time_now());
	domain_clear(&d);
	assert_null(d.name);
	assert_int_equal(domain_get(f->db, "nope.example", &d), 0);
	assert_int_equal(domain_get(f->db, "not a domain", &d), 0);

	assert_int_equal(domain_list(f->db, &domains, &count), 0);
	assert_int_equal(count, 2);
	assert_string_equal(domains[0].name, "example.com");
	assert_string_equal(domains[1].name, "xn--bcher-kva.example");
	domains_free(&domains, count);
	assert_null(domains);

	ok(domain_del(f->db, "xn--bcher-kva.example", false, &err));
	refused(domain_del(f->db, "xn--bcher-kva.example", false, &err),
		"no domain xn--bcher-kva.example", "directory.unknown");
}

static void test_max_accounts(void **state)
{
	struct fixture *f = *state;
	struct directory_error err;
	struct directory_setting s;

	ok(domain_add(f->db, "example.com", 2, 0, &err));
	ok(account_add(f->db, "a@example.com", NULL, 0, 0, &err));
	ok(account_add(f->db, "b@example.com", NULL, 0, 0, &err));
	refused(account_add(f->db, "c@example.com", NULL, 0, 0, &err),
		"domain example.com has reached its limit of 2 mailboxes", "domain.max-accounts");
	assert_int_equal(account_count(f->db, "example.com"), 2);
	/* a duplicate says so, even at the limit */
	refused(account_add(f->db, "A@example.com", NULL, 0, 0, &err),
		"mailbox a@example.com already exists", "directory.exists");

	/* lowering below the count is refused with the count; nothing disabled */
	s = (struct directory_setting){ "max-accounts", "1" };
	refused(domain_set(f->db, "example.com", &s, 1, &err),
		"domain example.com already has 2 mailboxes, more than 1; delete some first",
		"directory.in-use");
	s.value = "2";
	ok(domain_set(f->db, "example.com", &s, 1, &err));
	s.value = "0";
	ok(domain_set(f->db, "example.com", &s, 1, &err));
	ok(account_add(f->db, "c@example.com", NULL, 0, 0, &err));
	assert_int_equal(account_count(f->db, "example.com"), 3);
}

static void test_quota_limits(void **state)
{
	struct fixture *f = *state;
	struct directory_error err;
	struct directory_setting s[2];
	struct domain d;
	struct account a;

	ok(domain_add(f->db, "example.com", 0, GIB, &err));
	refused(account_add(f->db, "big@example.com", NULL, 2 * GIB, 0, &err),
		"mailbox quota 2G is larger than the total quota of domain example.com (1G)",
		"domain.quota");
	assert_int_equal(account_count(f->db, NULL), 0);
	ok(account_add(f->db, "fits@example.com", NULL, GIB, 0, &err));
	ok(account_add(f->db, "unlimited@example.com", NULL, 0, 0, &err));

	s[0] = (struct directory_setting){ "quota", "2G" };
	refused(account_set(f->db, "fits@example.com", s, 1, "test", &err),
		"mailbox quota 2G is larger than the total quota of domain example.com (1G)",
		"domain.quota");
	/* the domain's quota cannot drop below a mailbox's */
	s[0] = (struct directory_setting){ "quota", "512M" };
	refused(domain_set(f->db, "example.com", s, 1, &err),
		"mailbox fits@example.com has a quota of 1G, larger than the new domain quota "
		"512M; lower it first",
		"directory.in-use");
	/* one bad key: nothing changes */
	s[0] = (struct directory_setting){ "max-accounts", "7" };
	s[1] = (struct directory_setting){ "colour", "blue" };
	refused(domain_set(f->db, "example.com", s, 2, &err),
		"unknown domain setting 'colour' (known: max-accounts, quota, "
		"password-max-age, send-messages, send-recipients)", NULL);
	s[1] = (struct directory_setting){ "quota", "lots" };
	refused(domain_set(f->db, "example.com", s, 2, &err), "bad value for quota: 'lots'",
		NULL);
	assert_int_equal(domain_get(f->db, "example.com", &d), 1);
	assert_int_equal(d.max_accounts, 0);
	assert_int_equal(d.quota_bytes, GIB);
	domain_clear(&d);
	s[1] = (struct directory_setting){ "quota", "4G" };
	ok(domain_set(f->db, "example.com", s, 2, &err));
	assert_int_equal(domain_get(f->db, "example.com", &d), 1);
	assert_int_equal(d.max_accounts, 7);
	assert_int_equal(d.quota_bytes, 4 * GIB);
	domain_clear(&d);
	s[0] = (struct directory_setting){ "quota", "2G" };
	ok(account_set(f->db, "fits@example.com", s, 1, "test", &err));
	assert_int_equal(account_get(f->db, "fits@example.com", &a), 1);
	assert_int_equal(a.quota_bytes, 2 * GIB);
	account_clear(&a);
	refused(domain_set(f->db, "nope.example", s, 1, &err), "no domain nope.example",
		"directory.unknown");
}

static void test_accounts(void **state)
{
	struct fixture *f = *state;
	struct directory_error err;
	struct account a;

	refused(account_add(f->db, "a@example.com", NULL, 0, 0, &err),
		"no domain example.com (add it first: postino domain add example.com)",
		"directory.unknown");
	ok(domain_add(f->db, "example.com", 0, 0, &err));
	refused(account_add(f->db, "not-an-address", NULL, 0, 0, &err),
		"bad address 'not-an-address': missing @", "directory.invalid");
	refused(account_add(f->db, "a/b@example.com", NULL, 0, 0, &err),
		"bad address 'a/b@example.com': a mailbox name may not contain '/'", NULL);
	ok(account_add(f->db, "Ann.Smith@EXAMPLE.com", NULL, 100 * MIB, 1000, &err));

	assert_int_equal(account_get(f->db, "ANN.SMITH@example.COM", &a), 1);
	assert_string_equal(a.address, "ann.smith@example.com");
	assert_string_equal(a.domain, "example.com");
	assert_string_equal(a.local, "ann.smith");
	assert_null(a.password_hash);
	assert_int_equal(a.password_changed_at, 0);
	assert_int_equal(a.quota_bytes, 100 * MIB);
	assert_int_equal(a.max_messages, 1000);
	assert_false(a.disabled);
	assert_null(a.disabled_reason);
	assert_true(a.can_send && a.can_receive && a.can_imap && a.can_pop3 && a.can_webmail);
	assert_int_equal(a.forward_count, 0);
	assert_true(a.forward_keep_copy);
	assert_int_equal(a.password_max_age_days, 0);
	assert_true(a.created_at > 0);
	account_clear(&a);
	assert_int_equal(account_get(f->db, "nobody@example.com", &a), 0);
	assert_int_equal(account_get(f->db, "garbage", &a), 0);

	ok(account_del(f->db, "ann.smith@example.com", &err));
	refused(account_del(f->db, "ann.smith@example.com", &err), "no mailbox ann.smith@example.com",
		"directory.unknown");
	assert_int_equal(account_count(f->db, NULL), 0);
}

static void test_passwords(void **state)
{
	struct fixture *f = *state;
	struct directory_error err;
	struct account a;
	int64_t before;

	ok(domain_add(f->db, "example.com", 0, 0, &err));
	ok(account_add(f->db, "a@example.com", "first-pass", 0, 0, &err));
	ok(account_add(f->db, "nopass@example.com", NULL, 0, 0, &err));
	refused(account_add(f->db, "empty@example.com", "", 0, 0, &err), "empty password",
		NULL);
	assert_int_equal(account_verify_password(f->db, "A@Example.com", "first-pass"), 1);
	assert_int_equal(account_verify_password(f->db, "a@example.com", "first-pasS"), 0);
	assert_int_equal(account_verify_password(f->db, "nopass@example.com", ""), 0);
	assert_int_equal(account_verify_password(f->db, "nopass@example.com", "x"), 0);
	assert_int_equal(account_verify_password(f->db, "ghost@example.com", "x"), 0);

	assert_int_equal(account_get(f->db, "a@example.com", &a), 1);
	assert_true(strncmp(a.password_hash, "$y$", 3) == 0);
	before = a.password_changed_at;
	assert_true(before > 0);
	account_clear(&a);

	ok(account_set_password(f->db, "nopass@example.com", "second-pass", &err));
	assert_int_equal(account_verify_password(f->db, "nopass@example.com", "second-pass"), 1);
	assert_int_equal(account_get(f->db, "nopass@example.com", &a), 1);
	assert_true(a.password_changed_at >= before);
	account_clear(&a);
	refused(account_set_password(f->db, "ghost@example.com", "x", &err),
		"no mailbox ghost@example.com", "directory.unknown");
	refused(account_set_password(f->db, "a@example.com", "", &err), "empty password", NULL);
	assert_int_equal(account_verify_password(f->db, "a@example.com", "first-pass"), 1);
}

static void test_set_keys(void **state)
{
	struct fixture *f = *state;
	struct directory_error err;
	struct account a;
	const struct directory_setting all[] = {
		{ "can-send", "no" },      { "can-receive", "off" },
		{ "can-imap", "false" },   { "can-pop3", "0" },
		{ "can-webmail", "no" },   { "quota", "2G" },
		{ "max-messages", "500" }, { "forward", "Boss@Elsewhere.org, b@example.com" },
		{ "forward-keep-copy", "no" }, { "password-max-age", "90" },
		{ "disabled", "yes" },     { "reason", "left the company" },
	};

	ok(domain_add(f->db, "example.com", 0, 0, &err));
	ok(account_add(f->db, "a@example.com", "pw", 0, 0, &err));
	ok(account_add(f->db, "b@example.com", NULL, 0, 0, &err));
	ok(account_set(f->db, "a@example.com", all, N_ELEMENTS(all), "cli:admin", &err));
	assert_int_equal(account_get(f->db, "a@example.com", &a), 1);
	assert_false(a.can_send || a.can_receive || a.can_imap || a.can_pop3 || a.can_webmail);
	assert_int_equal(a.quota_bytes, 2 * GIB);
	assert_int_equal(a.max_messages, 500);
	assert_int_equal(a.forward_count, 2);
	assert_string_equal(a.forward[0], "boss@elsewhere.org");
	assert_string_equal(a.forward[1], "b@example.com");
	assert_false(a.forward_keep_copy);
	assert_int_equal(a.password_max_age_days, 90);
	assert_int_equal(password_expires_at(&a), a.password_changed_at + 90 * 86400);
	assert_true(a.disabled);
	assert_string_equal(a.disabled_reason, "left the company");
	assert_string_equal(a.disabled_by, "cli:admin");
	assert_true(a.disabled_at > 0);
	account_clear(&a);

	/* enabling clears the reason; forward= empties the list */
	const struct directory_setting back[] = {
		{ "disabled", "no" }, { "forward", "" }, { "quota", "0" }, { "can-imap", "yes" },
	};
	ok(account_set(f->db, "a@example.com", back, N_ELEMENTS(back), "cli:admin", &err));
	assert_int_equal(account_get(f->db, "a@example.com", &a), 1);
	assert_false(a.disabled);
	assert_null(a.disabled_reason);
	assert_null(a.disabled_by);
	assert_int_equal(a.disabled_at, 0);
	assert_int_equal(a.forward_count, 0);
	assert_int_equal(a.quota_bytes, 0);
	assert_true(a.can_imap);
	assert_false(a.can_send);
	account_clear(&a);
}

/* max_age_of - the max age in force for address, and whose it is. */
static uint64_t max_age_of(struct db *db, const char *address, bool *own_r)
{
	struct account a;
	uint64_t days;

	assert_int_equal(account_get(db, address, &a), 1);
	days = a.password_max_age_days;
	*own_r = a.password_max_age_own;
	account_clear(&a);
	return days;
}

/* test_password_max_age - the domain's default, a mailbox's own value
 * (0 included) over it, "default" back to the domain's, and a new
 * password clearing the expiry warning. */
static void test_password_max_age(void **state)
{
	struct fixture *f = *state;
	struct directory_error err;
	struct domain d;
	bool own;
	const struct directory_setting dom30[] = { { "password-max-age", "30" } };
	const struct directory_setting own0[] = { { "password-max-age", "0" } };
	const struct directory_setting own90[] = { { "password-max-age", "90" } };
	const struct directory_setting inherit[] = { { "password-max-age", "default" } };

	ok(domain_add(f->db, "example.com", 0, 0, &err));
	ok(domain_add(f->db, "other.org", 0, 0, &err));
	ok(account_add(f->db, "a@example.com", "pw", 0, 0, &err));
	ok(account_add(f->db, "b@other.org", "pw", 0, 0, &err));
	assert_int_equal(max_age_of(f->db, "a@example.com", &own), 0);
	assert_false(own);

	ok(domain_set(f->db, "example.com", dom30, 1, &err));
	assert_int_equal(domain_get(f->db, "example.com", &d), 1);
	assert_int_equal(d.password_max_age_days, 30);
	domain_clear(&d);
	assert_int_equal(max_age_of(f->db, "a@example.com", &own), 30);
	assert_false(own);
	assert_int_equal(max_age_of(f->db, "b@other.org", &own), 0); /* not its domain */

	ok(account_set(f->db, "a@example.com", own90, 1, "t", &err));
	assert_int_equal(max_age_of(f->db, "a@example.com", &own), 90);
	assert_true(own);
	ok(account_set(f->db, "a@example.com", own0, 1, "t", &err));
	assert_int_equal(max_age_of(f->db, "a@example.com", &own), 0); /* never, despite 30 */
	assert_true(own);
	ok(account_set(f->db, "a@example.com", inherit, 1, "t", &err));
	assert_int_equal(max_age_of(f->db, "a@example.com", &own), 30);
	assert_false(own);

	/* account_list reads the same rule */
	struct account *all;
	size_t n;
	assert_int_equal(account_list(f->db, "example.com", &all, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(all[0].password_max_age_days, 30);
	accounts_free(&all, n);

	/* "default" is the mailbox's word; a domain's value is a number */
	const struct directory_setting bad[] = { { "password-max-age", "default" } };
	refused(domain_set(f->db, "example.com", bad, 1, &err),
		"bad value for password-max-age: 'default'", "directory.invalid");
	const struct directory_setting big[] = { { "password-max-age", "36501" } };
	refused(domain_set(f->db, "example.com", big, 1, &err),
		"bad value for password-max-age: '36501'", "directory.invalid");

	/* a new password clears the warning of the old one */
	struct account a;
	sqlite3_stmt *st = db_prepare(f->db, "UPDATE accounts SET password_warned_at = 5");
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(account_get(f->db, "a@example.com", &a), 1);
	assert_int_equal(a.password_warned_at, 5);
	account_clear(&a);
	ok(account_set_password(f->db, "a@example.com", "new-pw", &err));
	assert_int_equal(account_get(f->db, "a@example.com", &a), 1);
	assert_int_equal(a.password_warned_at, 0);
	account_clear(&a);
}

/* test_set_refusals - every refusal, and that it changed nothing. */
static void test_set_refusals(void **state)
{
	struct fixture *f = *state;
	struct directory_error err;
	struct account a;
	struct directory_setting s[2] = { { "can-send", "no" } };

	ok(domain_add(f->db, "example.com", 0, 0, &err));
	ok(account_add(f->db, "a@example.com", NULL, 0, 0, &err));

	s[1] = (struct directory_setting){ "colour", "blue" };
	memset(&err, 0, sizeof(err));
	assert_int_equal(account_set(f->db, "a@example.com", s, 2, "t", &err), -1);
	assert_true(strncmp(err.text, "unknown setting 'colour' (known: disabled, reason,", 49) == 0);
	s[1] = (struct directory_setting){ "quota", "10Q" };
	refused(account_set(f->db, "a@example.com", s, 2, "t", &err),
		"bad size for quota: '10Q' (examples: 0, 500M, 2G)", "directory.invalid");
	s[1] = (struct directory_setting){ "can-imap", "maybe" };
	refused(account_set(f->db, "a@example.com", s, 2, "t", &err),
		"can-imap must be yes or no, not 'maybe'", NULL);
	s[1] = (struct directory_setting){ "max-messages", "-1" };
	refused(account_set(f->db, "a@example.com", s, 2, "t", &err),
		"max-messages must be a number, not '-1'", NULL);
	s[1] = (struct directory_setting){ "password-max-age", "36501" };
	refused(account_set(f->db, "a@example.com", s, 2, "t", &err),
		"password-max-age must be a number of days from 0 (never) to 36500, or default "
		"(the domain's), not '36501'",
		NULL);
	s[1] = (struct directory_setting){ "reason", "why not" };
	refused(account_set(f->db, "a@example.com", s, 2, "t", &err),
		"reason= goes with disabled=yes", NULL);
	s[1] = (struct directory_setting){ "forward", "a@example.com" };
	refused(account_set(f->db, "a@example.com", s, 2, "t", &err),
		"a@example.com cannot point to itself", NULL);
	s[1] = (struct directory_setting){ "forward", "x@remote.org,typo@example.com" };
	refused(account_set(f->db, "a@example.com", s, 2, "t", &err),
		"target typo@example.com is in local domain example.com but no mailbox or alias "
		"has that address",
		"directory.unknown");
	s[1] = (struct directory_setting){ "forward", "x@remote.org,not an address" };
	refused(account_set(f->db, "a@example.com", s, 2, "t", &err),
		"bad address 'not an address': missing @", NULL);
	refused(account_set(f->db, "ghost@example.com", s, 1, "t", &err),
		"no mailbox ghost@example.com", "directory.unknown");
	refused(account_set(f->db, "a@example.com", s, 0, "t", &err), "nothing to set", NULL);

	assert_int_equal(account_get(f->db, "a@example.com", &a), 1);
	assert_true(a.can_send); /* the first, valid key was not applied either */
	assert_int_equal(a.forward_count, 0);
	account_clear(&a);
	assert_string_equal(account_setting_key(0), "disabled");
	assert_null(account_setting_key(100));
}

static void test_aliases(void **state)
{
	struct fixture *f = *state;
	struct directory_error err;
	struct alias al, *aliases;
	size_t count;
	const char *t1[] = { "Ann@Example.com", "partner@remote.org" };
	const char *t2[] = { "bob@example.com" };
	const char *self[] = { "sales@example.com" };
	const char *typo[] = { "nobody@example.com" };

	ok(domain_add(f->db, "example.com", 0, 0, &err));
	ok(account_add(f->db, "ann@example.com", NULL, 0, 0, &err));
	ok(account_add(f->db, "bob@example.com", NULL, 0, 0, &err));

	ok(alias_add(f->db, "Sales@Example.com", t1, 2, &err));
	ok(alias_add(f->db, "sales@example.com", t2, 1, &err)); /* adds a target */
	refused(alias_add(f->db, "sales@example.com", t2, 1, &err),
		"alias sales@example.com already has that target", "directory.exists");
	refused(alias_add(f->db, "sales@example.com", self, 1, &err),
		"sales@example.com cannot point to itself", NULL);
	refused(alias_add(f->db, "sales@example.com", typo, 1, &err),
		"target nobody@example.com is in local domain example.com but no mailbox or alias "
		"has that address",
		NULL);
	refused(alias_add(f->db, "sales@example.com", t1, 0, &err),
		"an alias needs at least one target", NULL);
	/* alias vs mailbox, both ways */
	refused(alias_add(f->db, "ann@example.com", t2, 1, &err),
		"ann@example.com is a mailbox; an alias cannot have the same address",
		"directory.in-use");
	refused(account_add(f->db, "sales@example.com", NULL, 0, 0, &err),
		"sales@example.com is an alias; a mailbox cannot have the same address "
		"(postino alias del sales@example.com first)",
		"directory.in-use");
	refused(alias_add(f->db, "info@remote.org", t2, 1, &err),
		"no domain remote.org (an alias must be in a local domain)", "directory.unknown");

	assert_int_equal(alias_get(f->db, "SALES@example.com", &al), 1);
	assert_string_equal(al.address, "sales@example.com");
	assert_string_equal(al.domain, "example.com");
	assert_int_equal(al.target_count, 3);
	assert_string_equal(al.targets[0], "ann@example.com");
	assert_string_equal(al.targets[1], "partner@remote.org");
	assert_string_equal(al.targets[2], "bob@example.com");
	alias_clear(&al);

	/* an alias may point at an alias */
	const char *to_alias[] = { "sales@example.com" };
	ok(alias_add(f->db, "team@example.com", to_alias, 1, &err));

	/* catch-all: for addresses without a mailbox or alias */
	ok(alias_add(f->db, "@Example.com", t2, 1, &err));
	assert_int_equal(alias_resolve(f->db, "random@example.com", &al), 1);
	assert_string_equal(al.address, "@example.com");
	assert_string_equal(al.targets[0], "bob@example.com");
	alias_clear(&al);
	assert_int_equal(alias_resolve(f->db, "ann@example.com", &al), 0);
	assert_int_equal(alias_resolve(f->db, "Sales@example.com", &al), 1);
	assert_string_equal(al.address, "sales@example.com");
	alias_clear(&al);
	assert_int_equal(alias_resolve(f->db, "x@remote.org", &al), 0);
	/* with a catch-all, any local target is reachable */
	ok(alias_add(f->db, "sales@example.com", typo, 1, &err));

	assert_int_equal(alias_list(f->db, "example.com", &aliases, &count), 0);
	assert_int_equal(count, 3);
	assert_string_equal(aliases[0].address, "@example.com");
	assert_true(aliases[0].target_count == 1);
	assert_string_equal(aliases[1].address, "sales@example.com");
	assert_int_equal(aliases[1].target_count, 4);
	assert_string_equal(aliases[2].address, "team@example.com");
	aliases_free(&aliases, count);

	const char *del[] = { "PARTNER@remote.org" };
	ok(alias_del(f->db, "sales@example.com", del, 1, &err));
	refused(alias_del(f->db, "sales@example.com", del, 1, &err),
		"alias sales@example.com has no target partner@remote.org", "directory.unknown");
	assert_int_equal(alias_get(f->db, "sales@example.com", &al), 1);
	assert_int_equal(al.target_count, 3);
	alias_clear(&al);
	ok(alias_del(f->db, "sales@example.com", NULL, 0, &err));
	refused(alias_del(f->db, "sales@example.com", NULL, 0, &err),
		"no alias sales@example.com", "directory.unknown");
	ok(alias_del(f->db, "@example.com", NULL, 0, &err));
	assert_int_equal(alias_resolve(f->db, "random@example.com", &al), 0);
	/* the address is free again for a mailbox */
	ok(account_add(f->db, "sales@example.com", NULL, 0, 0, &err));
}

static void test_domain_del(void **state)
{
	struct fixture *f = *state;
	struct directory_error err;
	struct alias *aliases;
	size_t count;
	const char *t[] = { "a@example.com" };
	const struct directory_setting fwd = { "forward", "a@example.com" };

	ok(domain_add(f->db, "example.com", 0, 0, &err));
	ok(domain_add(f->db, "other.example", 0, 0, &err));
	ok(account_add(f->db, "a@example.com", NULL, 0, 0, &err));
	ok(account_add(f->db, "b@example.com", NULL, 0, 0, &err));
	ok(account_add(f->db, "c@other.example", NULL, 0, 0, &err));
	ok(account_set(f->db, "b@example.com", &fwd, 1, "t", &err));
	ok(alias_add(f->db, "info@example.com", t, 1, &err));
	refused(domain_del(f->db, "example.com", false, &err),
		"domain example.com still has 2 mailbox(es) and 1 alias(es); delete them first "
		"or force the deletion",
		"directory.in-use");
	assert_int_equal(account_count(f->db, "example.com"), 2);
	ok(domain_del(f->db, "EXAMPLE.com", true, &err));
	assert_int_equal(account_count(f->db, "example.com"), 0);
	assert_int_equal(account_count(f->db, NULL), 1);
	assert_int_equal(alias_list(f->db, NULL, &aliases, &count), 0);
	assert_int_equal(count, 0);
	refused(domain_del(f->db, "example.com", true, &err), "no domain example.com", NULL);
}

static void test_remove_mail(void **state)
{
	struct fixture *f = *state;
	const char *error;
	char *maildir = account_mail_path(f->dir, "example.com", "a");
	char *file = xasprintf("%s/cur/1.msg", maildir);
	char *cur = xasprintf("%s/cur", maildir);
	char *domain_dir = xasprintf("%s/mail/example.com", f->dir);
	struct stat st;

	assert_int_equal(mkdir_p(cur, 0700), 0);
	assert_int_equal(file_write_durable(file, "hello", 5, 0600), 0);
	assert_int_equal(dir_size(maildir), 5);
	assert_int_equal(account_remove_mail(f->dir, "example.com", "a", &error), 0);
	assert_int_equal(stat(maildir, &st), -1);
	assert_int_equal(stat(domain_dir, &st), -1); /* left empty, so removed */
	/* missing is fine */
	assert_int_equal(account_remove_mail(f->dir, "example.com", "a", &error), 0);
	free(domain_dir);
	free(cur);
	free(file);
	free(maildir);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_domains),   T(test_max_accounts), T(test_quota_limits),
		T(test_accounts),  T(test_passwords),    T(test_set_keys),
		T(test_set_refusals), T(test_aliases),   T(test_domain_del),
		T(test_remove_mail), T(test_password_max_age),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
