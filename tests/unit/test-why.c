/* SPDX-License-Identifier: ISC */
/* test-why.c - the `why` table and engine (doctor/why*.c) on a real
 * postino.db: the table's shape, the verdict folding (problem over note
 * over ok, first problem in table order is the cause), direction filters,
 * fixes with the address filled in, and the JSON form. The causes
 * themselves are proven end to end in tests/integration/test_why.py. */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "core/config.h"
#include "core/db.h"
#include "directory/directory.h"
#include "directory/schema.h"
#include "doctor/why.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>

struct fixture {
	char *dir;
	struct db *db;
	struct config *cfg;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct directory_error err;
	char *error = NULL;

	f->dir = test_tmpdir();
	if (schema_open(f->dir, true, &f->db, &error) < 0)
		fail_msg("schema_open: %s", error);
	f->cfg = config_new_defaults();
	assert_int_equal(domain_add(f->db, "example.test", 0, 0, &err), 0);
	assert_int_equal(account_add(f->db, "ann@example.test", "pw-ann", 0, 0, &err), 0);
	assert_int_equal(account_add(f->db, "bob@example.test", "pw-bob", 0, 0, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	config_free(&f->cfg);
	db_close(&f->db);
	test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void run(struct fixture *f, const char *addr, unsigned dirs, const char *from,
		struct why_report *r)
{
	struct why_input in = { .address = addr, .from = from, .dirs = dirs, .data_dir = f->dir,
				.cfg = f->cfg, .now_ms = time_now() * 1000,
				.history_ms = WHY_HISTORY_DEFAULT_MS };
	const char *error;

	if (why_run(f->db, &in, r, &error) < 0)
		fail_msg("why_run: %s", error);
}

static const struct why_finding *finding(const struct why_report *r, const char *id)
{
	for (size_t i = 0; i < r->count; i++) {
		if (strcmp(r->findings[i].check->id, id) == 0)
			return &r->findings[i];
	}
	return NULL;
}

static void set(struct fixture *f, const char *addr, const char *key, const char *value)
{
	struct directory_setting s = { key, value };
	struct directory_error err;

	assert_int_equal(account_set(f->db, addr, &s, 1, "test", &err), 0);
}

static void test_table(void **state)
{
	const struct why_check *c;
	size_t n = 0;
	unsigned seen = 0;

	assert_string_equal(why_check_at(0)->id, "mailbox"); /* the root cause comes first */
	for (size_t i = 0; (c = why_check_at(i)) != NULL; i++, n++) {
		assert_non_null(c->id);
		assert_non_null(c->title);
		assert_non_null(c->run);
		assert_true(c->dirs != 0 && (c->dirs & ~(unsigned)WHY_DIRS_ALL) == 0);
		seen |= c->dirs;
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(why_check_at(j)->id, c->id);
	}
	assert_int_equal(seen, WHY_DIRS_ALL);
	assert_true(n >= 20);
	assert_string_equal(why_dir_name(why_dir_index(WHY_RECEIVE)), "receive");
	assert_string_equal(why_status_name(WHY_PROBLEM), "problem");
}

static void test_healthy(void **state)
{
	struct fixture *f = *state;
	struct why_report r;

	run(f, "ANN@example.test", WHY_DIRS_ALL, NULL, &r);
	assert_string_equal(r.address, "ann@example.test");
	assert_true(r.exists);
	for (size_t d = 0; d < WHY_DIR_COUNT; d++) {
		assert_int_equal(r.verdicts[d].status, WHY_OK);
		assert_null(r.verdicts[d].cause);
	}
	assert_int_equal(finding(&r, "rcpt")->status, WHY_OK);
	why_report_free(&r);
}

static void test_problem_beats_note_and_first_is_the_cause(void **state)
{
	struct fixture *f = *state;
	struct why_report r;
	const struct why_verdict *recv;

	set(f, "ann@example.test", "forward", "bob@example.test");
	set(f, "ann@example.test", "forward-keep-copy", "no");
	run(f, "ann@example.test", WHY_DIRS_ALL, NULL, &r);
	recv = &r.verdicts[why_dir_index(WHY_RECEIVE)];
	assert_int_equal(recv->status, WHY_NOTE); /* forwarded: works, but... */
	assert_int_equal(finding(&r, "forward")->status, WHY_NOTE);
	assert_string_equal(finding(&r, "forward")->fix,
			    "postino user set ann@example.test forward-keep-copy=yes");
	why_report_free(&r);

	set(f, "ann@example.test", "can-receive", "no");
	set(f, "ann@example.test", "disabled", "yes");
	run(f, "ann@example.test", WHY_DIRS_ALL, NULL, &r);
	recv = &r.verdicts[why_dir_index(WHY_RECEIVE)];
	assert_int_equal(recv->status, WHY_PROBLEM);
	assert_string_equal(recv->cause->check->id, "disabled"); /* before can-receive */
	assert_int_equal(finding(&r, "can-receive")->status, WHY_PROBLEM);
	assert_string_equal(finding(&r, "can-receive")->reason, "deliver.no-receive");
	/* the rcpt check ran the policy: disabled answers first there too */
	assert_string_equal(finding(&r, "rcpt")->reason, "deliver.disabled");
	assert_string_equal(finding(&r, "rcpt")->fix, "postino user set ann@example.test disabled=no");
	for (size_t d = 0; d < WHY_DIR_COUNT; d++)
		assert_string_equal(r.verdicts[d].cause->check->id, "disabled");
	why_report_free(&r);
}

static void test_directions(void **state)
{
	struct fixture *f = *state;
	struct why_report r;

	set(f, "ann@example.test", "can-send", "no");
	run(f, "ann@example.test", WHY_LOGIN, NULL, &r);
	assert_int_equal(r.verdicts[why_dir_index(WHY_LOGIN)].status, WHY_OK);
	assert_int_equal(r.verdicts[why_dir_index(WHY_SEND)].status, WHY_SKIPPED);
	assert_null(finding(&r, "can-send"));
	why_report_free(&r);
	run(f, "ann@example.test", WHY_SEND, NULL, &r);
	assert_int_equal(r.verdicts[why_dir_index(WHY_SEND)].status, WHY_PROBLEM);
	assert_string_equal(r.verdicts[why_dir_index(WHY_SEND)].cause->reason,
			    "policy.send-disabled");
	why_report_free(&r);
	/* --from a sender that may not send: the same answer, from the policy */
	run(f, "bob@example.test", WHY_RECEIVE, "ann@example.test", &r);
	assert_string_equal(finding(&r, "rcpt")->reason, "policy.send-disabled");
	why_report_free(&r);
}

static void test_no_mailbox(void **state)
{
	struct fixture *f = *state;
	struct why_report r;
	const char *targets[] = { "ann@example.test" };
	struct directory_error err;

	run(f, "nobody@example.test", WHY_DIRS_ALL, NULL, &r);
	assert_false(r.exists);
	assert_string_equal(r.verdicts[0].cause->check->id, "mailbox");
	assert_string_equal(r.verdicts[0].cause->fix,
			    "postino user add nobody@example.test --password-stdin");
	assert_int_equal(finding(&r, "quota")->status, WHY_SKIPPED);
	assert_string_equal(finding(&r, "rcpt")->reason, "policy.unknown-recipient");
	why_report_free(&r);
	/* an alias cannot log in, but receives */
	assert_int_equal(alias_add(f->db, "sales@example.test", targets, 1, &err), 0);
	run(f, "sales@example.test", WHY_DIRS_ALL, NULL, &r);
	assert_int_equal(r.verdicts[why_dir_index(WHY_LOGIN)].status, WHY_PROBLEM);
	assert_int_equal(r.verdicts[why_dir_index(WHY_RECEIVE)].status, WHY_OK);
	why_report_free(&r);
	/* not an address at all: refused, nothing to free */
	struct why_input in = { .address = "not an address", .dirs = WHY_DIRS_ALL,
				.data_dir = f->dir, .cfg = f->cfg };
	const char *error = NULL;
	assert_int_equal(why_run(f->db, &in, &r, &error), -1);
	assert_non_null(error);
	assert_int_equal(r.count, 0);
}

static void test_json(void **state)
{
	struct fixture *f = *state;
	struct why_report r;
	json_t *j, *checks, *login;

	set(f, "ann@example.test", "can-imap", "no");
	run(f, "ann@example.test", WHY_DIRS_ALL, NULL, &r);
	j = why_report_json(&r);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "address")), "ann@example.test");
	checks = json_object_get(j, "checks");
	assert_int_equal(json_array_size(checks), r.count);
	login = json_object_get(json_object_get(j, "verdicts"), "login");
	assert_true(json_is_true(json_object_get(login, "ok")));
	assert_string_equal(json_string_value(json_object_get(login, "status")), "note");
	assert_string_equal(json_string_value(json_array_get(json_object_get(login, "notes"), 0)),
			    "can-imap");
	json_decref(j);
	why_report_free(&r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		T(test_healthy),
		T(test_problem_beats_note_and_first_is_the_cause),
		T(test_directions),
		T(test_no_mailbox),
		T(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
