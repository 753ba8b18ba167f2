/* SPDX-License-Identifier: ISC */
/* test-quota.c - maildirsize reading, writing and recounting (Dovecot's
 * format and rules), limits at and across every boundary, domain totals,
 * and the one-time 90% warning. */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/mem.h"
#include "directory/directory.h"
#include "store/maildir.h"
#include "store/quota.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MSG "Subject: x\n\n01234567890123456789012345678\n" /* 42 bytes */
#define MSG_SIZE 42

struct fixture {
	char *dir;
	struct account a, b;
	char *root_a;
};

static void account_init(struct account *a, const char *local, uint64_t quota, uint64_t max)
{
	memset(a, 0, sizeof(*a));
	a->local = xstrdup(local);
	a->domain = xstrdup("example.com");
	a->address = xasprintf("%s@example.com", local);
	a->quota_bytes = quota;
	a->max_messages = max;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	f->dir = test_tmpdir();
	account_init(&f->a, "anna", 0, 0);
	account_init(&f->b, "bob", 0, 0);
	f->root_a = maildir_account_path(f->dir, &f->a);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fs_fault_inject(0, 0);
	test_rmtree(f->dir);
	free(f->dir);
	free(f->root_a);
	account_clear(&f->a);
	account_clear(&f->b);
	free(f);
	return 0;
}

/* store - n messages of MSG_SIZE bytes into the account's folder. */
static void store(const char *data_dir, const struct account *a, const char *folder, unsigned n)
{
	struct maildir_source src = { .fd = -1, .data = MSG, .size = MSG_SIZE };
	char *root = maildir_account_path(data_dir, a), *dir;
	const char *error;

	assert_int_equal(strlen(MSG), MSG_SIZE);
	assert_int_equal(maildir_folder_path(root, folder, &dir, &error), 0);
	for (unsigned i = 0; i < n; i++) {
		struct maildir_delivery it = { .dir = dir, .src = &src };
		assert_int_equal(maildir_deliver_batch(&it, 1), 0);
	}
	free(dir);
	free(root);
}

static char *quota_file(struct fixture *f)
{
	char *path = xasprintf("%s/%s", f->root_a, QUOTA_FILE_NAME);
	char *data = NULL;
	size_t len;

	if (file_read_all(path, 100000, &data, &len) < 0)
		data = NULL;
	free(path);
	return data;
}

static void put_quota_file(struct fixture *f, const char *text)
{
	char *path = xasprintf("%s/%s", f->root_a, QUOTA_FILE_NAME);

	assert_int_equal(file_write_durable(path, text, strlen(text), 0600), 0);
	free(path);
}

static void assert_usage(struct fixture *f, uint64_t bytes, uint64_t messages)
{
	struct quota_usage u;

	assert_int_equal(quota_usage(f->dir, &f->a, &u), 0);
	assert_int_equal(u.bytes, bytes);
	assert_int_equal(u.messages, messages);
}

static void test_usage_and_file(void **state)
{
	struct fixture *f = *state;
	char *text;

	/* no Maildir yet: nothing used, nothing written */
	assert_usage(f, 0, 0);
	assert_null(quota_file(f));

	store(f->dir, &f->a, NULL, 2);
	store(f->dir, &f->a, "Junk", 1);
	assert_usage(f, 3 * MSG_SIZE, 3);
	text = quota_file(f);
	assert_string_equal(text, "0S\n126 3\n"); /* Dovecot's form without limits */
	free(text);

	/* deliveries and expunges append deltas, which are summed */
	assert_int_equal(quota_update(f->dir, &f->a, 100, 1), 0);
	assert_int_equal(quota_update(f->dir, &f->a, -26, -1), 0);
	assert_int_equal(quota_update(f->dir, &f->a, 0, 0), 0);
	text = quota_file(f);
	assert_string_equal(text, "0S\n126 3\n100 1\n-26 -1\n");
	free(text);
	assert_usage(f, 200, 3);

	/* new limits: the file is recounted and written for them */
	f->a.quota_bytes = 1000;
	f->a.max_messages = 50;
	assert_usage(f, 3 * MSG_SIZE, 3);
	text = quota_file(f);
	assert_string_equal(text, "1000S,50C\n126 3\n");
	free(text);
	f->a.quota_bytes = 0;
	assert_usage(f, 3 * MSG_SIZE, 3);
	text = quota_file(f);
	assert_string_equal(text, "50C\n126 3\n");
	free(text);

	/* a missing file is not created by an update: the recount covers it */
	char *path = xasprintf("%s/%s", f->root_a, QUOTA_FILE_NAME);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(quota_update(f->dir, &f->a, 42, 1), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_usage(f, 3 * MSG_SIZE, 3);

	/* a failed append removes the file rather than leave a wrong sum */
	fs_fault_inject(1, EIO);
	assert_int_equal(quota_update(f->dir, &f->a, 42, 1), -1);
	fs_fault_inject(0, 0);
	assert_int_equal(access(path, F_OK), -1);
	free(path);
}

static void test_file_rules(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *text;
		uint64_t bytes, messages;  /* what quota_usage answers */
	} cases[] = {
		/* trusted as is */
		{ "0S\n1000 7\n", 1000, 7 },
		{ "0S\n1000 7\n10 1\n-5 -1\n", 1005, 7 },
		{ "0S\n   1000     7\n", 1000, 7 },          /* Courier pads */
		{ "0S\n1000 7\n10 1\n99", 1010, 8 },          /* torn last line ignored */
		/* recounted (2 real messages of MSG_SIZE) */
		{ "", 84, 2 },
		{ "0S\n", 84, 2 },                            /* no total line */
		{ "garbage\n1000 7\n", 84, 2 },
		{ "0S\n1000 seven\n", 84, 2 },
		{ "0S\n1000 7\n-2000 -1\n", 84, 2 },          /* negative total */
		{ "100S\n1000 7\n", 84, 2 },                  /* other limits */
		{ "0S,5C\n1000 7\n", 84, 2 },
		{ "0S\n1000 7 8\n", 84, 2 },
		{ "0S\n9223372036854775807 1\n1 1\n", 84, 2 }, /* overflow */
	};

	store(f->dir, &f->a, NULL, 2);
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		put_quota_file(f, cases[i].text);
		struct quota_usage u;
		assert_int_equal(quota_usage(f->dir, &f->a, &u), 0);
		if (u.bytes != cases[i].bytes || u.messages != cases[i].messages)
			fail_msg("case %zu '%s': %" PRIu64 "/%" PRIu64, i, cases[i].text, u.bytes,
				 u.messages);
	}

	/* a NUL anywhere: recounted */
	char *path = xasprintf("%s/%s", f->root_a, QUOTA_FILE_NAME);
	assert_int_equal(file_write_durable(path, "0S\n10\0 1\n", 9, 0600), 0);
	assert_usage(f, 84, 2);
	/* longer than QUOTA_FILE_MAX: recounted and rewritten short */
	char *big = xmalloc(QUOTA_FILE_MAX + 100);
	size_t len = (size_t)snprintf(big, QUOTA_FILE_MAX, "0S\n84 2\n");
	while (len < QUOTA_FILE_MAX + 10) {
		memcpy(big + len, "0 0\n", 4);
		len += 4;
	}
	assert_int_equal(file_write_durable(path, big, len, 0600), 0);
	assert_usage(f, 84, 2);
	char *text = quota_file(f);
	assert_string_equal(text, "0S\n84 2\n");
	free(text);
	free(big);
	free(path);
}

static void test_over_quota_recount(void **state)
{
	struct fixture *f = *state;
	char *path = xasprintf("%s/%s", f->root_a, QUOTA_FILE_NAME);
	struct timespec old[2] = { { .tv_sec = time(NULL) - QUOTA_STALE_SECS - 60 },
				   { .tv_sec = time(NULL) - QUOTA_STALE_SECS - 60 } };

	store(f->dir, &f->a, NULL, 2);
	f->a.quota_bytes = 100;
	/* over quota with deltas: not trusted, recounted (84 bytes) */
	put_quota_file(f, "100S\n50 1\n80 1\n");
	assert_usage(f, 84, 2);
	/* over quota in a fresh single total: trusted */
	put_quota_file(f, "100S\n130 2\n");
	assert_usage(f, 130, 2);
	/* ... but not once it is older than QUOTA_STALE_SECS */
	assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	assert_usage(f, 84, 2);
	/* under quota: deltas and age do not matter */
	put_quota_file(f, "100S\n10 1\n10 1\n");
	assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	assert_usage(f, 20, 2);
	free(path);
}

static void test_evaluate(void **state)
{
	struct account a = { .domain = "example.com", .address = "a@example.com" };
	static const struct {
		uint64_t quota, max, domain_quota;
		struct quota_usage usage, domain_usage;
		uint64_t incoming;
		enum quota_verdict verdict;
		const char *reason;
		uint64_t used, limit;
	} cases[] = {
		/* unlimited */
		{ 0, 0, 0, { UINT64_MAX - 5, UINT64_MAX - 1 }, { 0, 0 }, 1000, QUOTA_ALLOWED, NULL, 0, 0 },
		/* bytes: exactly at the limit fits, one byte more does not */
		{ 1000, 0, 0, { 900, 5 }, { 0, 0 }, 100, QUOTA_ALLOWED, NULL, 0, 0 },
		{ 1000, 0, 0, { 900, 5 }, { 0, 0 }, 101, QUOTA_OVER_SIZE, "deliver.over-quota", 1001, 1000 },
		{ 1000, 0, 0, { 1000, 5 }, { 0, 0 }, 1, QUOTA_OVER_SIZE, "deliver.over-quota", 1001, 1000 },
		{ 1000, 0, 0, { 5000, 5 }, { 0, 0 }, 0, QUOTA_OVER_SIZE, "deliver.over-quota", 5000, 1000 },
		/* a message that alone exceeds the quota: permanent */
		{ 1000, 0, 0, { 0, 0 }, { 0, 0 }, 1000, QUOTA_ALLOWED, NULL, 0, 0 },
		{ 1000, 0, 0, { 0, 0 }, { 0, 0 }, 1001, QUOTA_TOO_BIG, "deliver.over-quota-permanent", 1001, 1000 },
		{ 1000, 0, 0, { 999, 0 }, { 0, 0 }, 1001, QUOTA_TOO_BIG, "deliver.over-quota-permanent", 1001, 1000 },
		/* messages */
		{ 0, 3, 0, { 10, 2 }, { 0, 0 }, 10, QUOTA_ALLOWED, NULL, 0, 0 },
		{ 0, 3, 0, { 10, 3 }, { 0, 0 }, 10, QUOTA_OVER_COUNT, "deliver.over-messages", 4, 3 },
		/* size is reported before count */
		{ 100, 3, 0, { 100, 3 }, { 0, 0 }, 10, QUOTA_OVER_SIZE, "deliver.over-quota", 110, 100 },
		/* domain */
		{ 0, 0, 1000, { 0, 0 }, { 940, 9 }, 60, QUOTA_ALLOWED, NULL, 0, 0 },
		{ 0, 0, 1000, { 0, 0 }, { 950, 9 }, 60, QUOTA_DOMAIN_FULL, "deliver.domain-full", 1010, 1000 },
		{ 0, 0, 1000, { 0, 0 }, { 0, 0 }, 1001, QUOTA_TOO_BIG, "deliver.over-quota-permanent", 1001, 1000 },
		/* the mailbox's own limit is named first */
		{ 500, 0, 1000, { 480, 1 }, { 990, 9 }, 30, QUOTA_OVER_SIZE, "deliver.over-quota", 510, 500 },
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct quota_result r;
		a.quota_bytes = cases[i].quota;
		a.max_messages = cases[i].max;
		quota_evaluate(&a, cases[i].domain_quota, &cases[i].usage,
			       cases[i].domain_quota != 0 ? &cases[i].domain_usage : NULL,
			       cases[i].incoming, &r);
		if (r.verdict != cases[i].verdict)
			fail_msg("case %zu: verdict %d, want %d", i, r.verdict, cases[i].verdict);
		if (cases[i].reason == NULL) {
			assert_null(r.reason);
			continue;
		}
		assert_non_null(r.reason);
		assert_string_equal(r.reason, cases[i].reason);
		assert_int_equal(r.used, cases[i].used);
		assert_int_equal(r.limit, cases[i].limit);
	}
}

static void test_check_and_domain(void **state)
{
	struct fixture *f = *state;
	struct quota_usage du;
	struct quota_result r;

	assert_int_equal(quota_domain_usage(f->dir, "example.com", &du), 0);
	assert_int_equal(du.bytes, 0);
	store(f->dir, &f->a, NULL, 3);
	store(f->dir, &f->b, "Sent", 2);
	assert_usage(f, 3 * MSG_SIZE, 3); /* writes anna's maildirsize; bob has none */
	assert_int_equal(quota_domain_usage(f->dir, "example.com", &du), 0);
	assert_int_equal(du.bytes, 5 * MSG_SIZE);
	assert_int_equal(du.messages, 5);
	/* anna's figure comes from her file */
	assert_int_equal(quota_update(f->dir, &f->a, 1000, 1), 0);
	assert_int_equal(quota_domain_usage(f->dir, "example.com", &du), 0);
	assert_int_equal(du.bytes, 5 * MSG_SIZE + 1000);
	assert_int_equal(quota_domain_usage(f->dir, "nowhere.example", &du), 0);
	assert_int_equal(du.messages, 0);

	/* quota_check reads both */
	f->a.quota_bytes = 0;
	assert_int_equal(quota_check(f->dir, &f->a, 5 * MSG_SIZE + 1100, 100, &r), 0);
	assert_int_equal(r.verdict, QUOTA_ALLOWED);
	assert_int_equal(quota_check(f->dir, &f->a, 5 * MSG_SIZE + 1100, 101, &r), 0);
	assert_int_equal(r.verdict, QUOTA_DOMAIN_FULL);
	f->a.max_messages = 3;
	assert_int_equal(quota_check(f->dir, &f->a, 0, 1, &r), 0);
	assert_int_equal(r.verdict, QUOTA_OVER_COUNT); /* recounted for the new limit: 3 */
	assert_int_equal(r.used, 4);
}

static void test_warning(void **state)
{
	struct fixture *f = *state;
	char *marker = xasprintf("%s/%s", f->root_a, QUOTA_WARNED_FILE);
	struct quota_usage u = { 0, 0 };
	bool send;

	f->a.quota_bytes = 1000;
	/* no Maildir yet: nothing to remember, nothing sent */
	assert_int_equal(quota_warning_update(f->dir, &f->a, &u, &send), 0);
	assert_false(send);
	store(f->dir, &f->a, NULL, 1);

	u.bytes = 899;
	assert_false(quota_over_warning(&f->a, &u));
	assert_int_equal(quota_warning_update(f->dir, &f->a, &u, &send), 0);
	assert_false(send);
	u.bytes = 900; /* exactly 90% */
	assert_true(quota_over_warning(&f->a, &u));
	assert_int_equal(quota_warning_update(f->dir, &f->a, &u, &send), 0);
	assert_true(send);
	assert_int_equal(access(marker, F_OK), 0);
	/* once per crossing */
	u.bytes = 990;
	assert_int_equal(quota_warning_update(f->dir, &f->a, &u, &send), 0);
	assert_false(send);
	/* back under: forgotten, so the next crossing warns again */
	u.bytes = 500;
	assert_int_equal(quota_warning_update(f->dir, &f->a, &u, &send), 0);
	assert_false(send);
	assert_int_equal(access(marker, F_OK), -1);
	u.bytes = 950;
	assert_int_equal(quota_warning_update(f->dir, &f->a, &u, &send), 0);
	assert_true(send);

	/* by message count too; unlimited never warns */
	f->a.quota_bytes = 0;
	f->a.max_messages = 10;
	u = (struct quota_usage){ UINT64_MAX, 8 };
	assert_false(quota_over_warning(&f->a, &u));
	u.messages = 9;
	assert_true(quota_over_warning(&f->a, &u));
	f->a.max_messages = 0;
	assert_false(quota_over_warning(&f->a, &u));
	/* huge limits do not overflow */
	f->a.quota_bytes = UINT64_MAX;
	u.bytes = UINT64_MAX / 10 * 9 + 100;
	assert_true(quota_over_warning(&f->a, &u));
	u.bytes = UINT64_MAX / 10 * 8;
	assert_false(quota_over_warning(&f->a, &u));
	free(marker);
}

static void test_recalc_cache_write_failure(void **state)
{
	struct fixture *f = *state;
	struct quota_usage u;

	store(f->dir, &f->a, NULL, 2);
	assert_int_equal(quota_recalc(f->dir, &f->a, &u), 0);
	assert_int_equal(u.messages, 2);
	char *text = quota_file(f);
	assert_string_equal(text, "0S\n84 2\n");
	free(text);
	/* a write failure of the cache is not an error of the count */
	fs_fault_inject(1, EIO);
	assert_int_equal(quota_recalc(f->dir, &f->a, &u), 0);
	fs_fault_inject(0, 0);
	assert_int_equal(u.bytes, 84);
	text = quota_file(f);
	assert_string_equal(text, "0S\n84 2\n"); /* the old one stayed */
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_usage_and_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_over_quota_recount, setup, teardown),
		cmocka_unit_test(test_evaluate),
		cmocka_unit_test_setup_teardown(test_check_and_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recalc_cache_write_failure, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
