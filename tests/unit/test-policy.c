/* SPDX-License-Identifier: ISC */
/* test-policy.c - directory/policy.c on a real postino.db: relay rules
 * (no open relay, no routing tricks), recipient resolution through
 * mailboxes, aliases and catch-alls, account rules, sender ownership and
 * authentication answers. */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "core/db.h"
#include "mail/addr.h"
#include "directory/directory.h"
#include "directory/policy.h"
#include "directory/schema.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>

struct fixture {
	char *dir;
	struct db *db;
	struct pool *pool;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct directory_error err;
	char *error = NULL;
	const char *targets[] = { "alice@example.test", "friend@remote.test" };

	f->dir = test_tmpdir();
	f->pool = pool_new(4096);
	if (schema_open(f->dir, true, &f->db, &error) < 0)
		fail_msg("schema_open: %s", error);
	assert_int_equal(domain_add(f->db, "example.test", 0, 0, &err), 0);
	assert_int_equal(account_add(f->db, "alice@example.test", "pw-alice", 0, 0, &err), 0);
	assert_int_equal(account_add(f->db, "bob@example.test", "pw-bob", 0, 0, &err), 0);
	assert_int_equal(alias_add(f->db, "team@example.test", targets, 2, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	db_close(&f->db);
	pool_free(&f->pool);
	test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static struct addr_path path(struct fixture *f, const char *text)
{
	struct addr_path p;
	struct mail_error error;
	const char *end;

	if (addr_parse_path(f->pool, text, 0, &p, &end, &error) < 0)
		fail_msg("%s: %s", text, error.text);
	return p;
}

/* rcpt - policy_rcpt's verdict: "" when allowed, else the reason. */
static const char *rcpt(struct fixture *f, const char *account, const char *to, size_t *ndest_r)
{
	struct policy_client client = { .mx = account == NULL, .account = account,
					 .quota_temporary = true };
	struct addr_path p = path(f, to);
	struct policy_rcpt_result r;
	int ret = policy_rcpt(f->db, &client, &p, &r);
	const char *answer;

	assert_true(ret >= 0);
	answer = ret == POLICY_ALLOW ? "" : p_strdup(f->pool, r.reason);
	if (ndest_r != NULL)
		*ndest_r = r.dest_count;
	policy_rcpt_clear(&r);
	return answer;
}

static void test_relay(void **state)
{
	struct fixture *f = *state;
	size_t n;

	assert_string_equal(rcpt(f, NULL, "<alice@example.test>", &n), "");
	assert_int_equal(n, 1);
	assert_string_equal(rcpt(f, NULL, "<ALICE@Example.TEST>", NULL), "");
	assert_string_equal(rcpt(f, NULL, "<friend@remote.test>", NULL), "policy.relay-denied");
	assert_string_equal(rcpt(f, NULL, "<friend%remote.test@example.test>", NULL),
			    "policy.relay-hack");
	assert_string_equal(rcpt(f, NULL, "<@hop.test:alice@example.test>", NULL),
			    "policy.relay-hack");
	assert_string_equal(rcpt(f, NULL, "<\"alice\"@example.test>", NULL), "policy.relay-hack");
	assert_string_equal(rcpt(f, NULL, "<alice@[127.0.0.1]>", NULL), "policy.relay-denied");
	assert_string_equal(rcpt(f, NULL, "<nobody@example.test>", NULL),
			    "policy.unknown-recipient");
	/* authenticated: anywhere */
	assert_string_equal(rcpt(f, "alice@example.test", "<friend@remote.test>", &n), "");
	assert_int_equal(n, 1);
}

static void test_alias_and_rules(void **state)
{
	struct fixture *f = *state;
	struct directory_error err;
	size_t n;

	assert_string_equal(rcpt(f, NULL, "<team@example.test>", &n), "");
	assert_int_equal(n, 2);
	const struct directory_setting off[] = { { "can-receive", "no" } };
	assert_int_equal(account_set(f->db, "bob@example.test", off, 1, "test", &err), 0);
	assert_string_equal(rcpt(f, NULL, "<bob@example.test>", NULL), "deliver.no-receive");
	const struct directory_setting dis[] = { { "disabled", "yes" }, { "reason", "x" } };
	assert_int_equal(account_set(f->db, "alice@example.test", dis, 2, "test", &err), 0);
	assert_string_equal(rcpt(f, NULL, "<alice@example.test>", NULL), "deliver.disabled");
	/* the alias keeps its remote target */
	assert_string_equal(rcpt(f, NULL, "<team@example.test>", &n), "");
	assert_int_equal(n, 1);
}

static void test_sender_and_auth(void **state)
{
	struct fixture *f = *state;
	struct policy_client client = { .account = "alice@example.test" };
	struct addr_path own = path(f, "<alice@example.test>");
	struct addr_path alias = path(f, "<team@example.test>");
	struct addr_path other = path(f, "<bob@example.test>");
	const char *reason = NULL;

	assert_int_equal(policy_mail_from(f->db, &client, &own, &reason), POLICY_ALLOW);
	assert_int_equal(policy_mail_from(f->db, &client, &alias, &reason), POLICY_ALLOW);
	assert_int_equal(policy_mail_from(f->db, &client, &other, &reason), POLICY_DENY);
	assert_string_equal(reason, "policy.sender-not-owned");
	struct policy_auth_request req = { .service = "smtp", .ip = "192.0.2.1",
					   .login = "alice@example.test", .password = "pw-alice",
					   .now_ms = time_now() * 1000 };
	struct policy_auth_result res;
	assert_int_equal(policy_auth(f->db, &req, &res), POLICY_ALLOW);
	assert_string_equal(res.account, "alice@example.test");
	policy_auth_result_clear(&res);
	req.password = "nope";
	assert_int_equal(policy_auth(f->db, &req, &res), POLICY_DENY);
	assert_string_equal(res.reason, "policy.auth-failed");
	assert_string_equal(res.journal_reason, "policy.auth-failed");
	/* an unknown name gets the same answer; only the journal knows */
	req.login = "nobody@example.test";
	assert_int_equal(policy_auth(f->db, &req, &res), POLICY_DENY);
	assert_string_equal(res.reason, "policy.auth-failed");
	assert_string_equal(res.journal_reason, "policy.auth-unknown-user");
	policy_auth_result_clear(&res);
	assert_int_equal(policy_may_send(f->db, "alice@example.test", &reason), POLICY_ALLOW);
	assert_int_equal(policy_send_record(f->db, "alice@example.test", 3, "id1"), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_relay),
		T(test_alias_and_rules),
		T(test_sender_and_auth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
