/* SPDX-License-Identifier: ISC */
/* test-deliver.c - local delivery: Return-Path/Delivered-To, the refusal
 * table (disabled, can-receive, hops, Delivered-To loop), forwarding with
 * and without a copy, quota inside one batch, every durable step failing,
 * and the journal rows written afterwards. */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/mem.h"
#include "core/db.h"
#include "core/journal.h"
#include "core/reason.h"
#include "directory/directory.h"
#include "directory/schema.h"
#include "store/deliver.h"
#include "store/maildir.h"
#include "store/quota.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MSG_CRLF "Received: from a by b; Sun, 22 Nov 2026 10:00:00 +0000\r\n" \
		 "Subject: hello\r\n\r\nbody\r\nReceived: not a header\r\n"
#define MSG_LF "Subject: hello\n\nbody\n"

struct fixture {
	char *dir;
	struct account a, b, c;
};

static void account_init(struct account *a, const char *local)
{
	memset(a, 0, sizeof(*a));
	a->local = xstrdup(local);
	a->domain = xstrdup("example.com");
	a->address = xasprintf("%s@example.com", local);
	a->can_send = a->can_receive = a->can_imap = a->can_pop3 = a->can_webmail = true;
	a->forward_keep_copy = true;
}

static void account_forward(struct account *a, const char *target, bool keep_copy)
{
	a->forward = xrealloc(a->forward, (a->forward_count + 1) * sizeof(*a->forward));
	a->forward[a->forward_count++] = xstrdup(target);
	a->forward_keep_copy = keep_copy;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	f->dir = test_tmpdir();
	account_init(&f->a, "anna");
	account_init(&f->b, "bob");
	account_init(&f->c, "carl");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fs_fault_inject(0, 0);
	test_rmtree(f->dir);
	free(f->dir);
	account_clear(&f->a);
	account_clear(&f->b);
	account_clear(&f->c);
	free(f);
	return 0;
}

/* only_file - the one message in the account's new/ (NULL if none;
 * fails on more than one). Caller frees. */
static char *only_file(const char *data_dir, const struct account *a)
{
	char *root = maildir_account_path(data_dir, a);
	char *newdir = xasprintf("%s/new", root);
	DIR *d = opendir(newdir);
	struct dirent *de;
	char *found = NULL;

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		assert_null(found);
		found = xasprintf("%s/%s", newdir, de->d_name);
	}
	if (d != NULL)
		closedir(d);
	free(newdir);
	free(root);
	return found;
}

static unsigned count_in(const char *data_dir, const struct account *a, const char *sub)
{
	char *root = maildir_account_path(data_dir, a);
	char *path = xasprintf("%s/%s", root, sub);
	DIR *d = opendir(path);
	struct dirent *de;
	unsigned n = 0;

	while (d != NULL && (de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	free(path);
	free(root);
	return n;
}

static char *slurp(const char *path)
{
	char *data;
	size_t len;

	assert_int_equal(file_read_all(path, 1024 * 1024, &data, &len), 0);
	return data;
}

static void test_loop_helpers(void **state)
{
	static const char crlf[] =
		"Received: from x\r\n\tby y; date\r\n"
		"received : from z\r\n"
		"RECEIVED:x\r\n"
		"X-Received: not counted\r\n"
		"Delivered-To: Anna@Example.com\r\n"
		"Delivered-To:\r\n <bob@example.com>\r\n"
		"Subject: Received: no\r\n"
		"\r\n"
		"Received: in the body\r\n"
		"Delivered-To: carl@example.com\r\n";
	static const char lf[] = "Received: a\nReceived: b\n\nReceived: c\n";

	assert_int_equal(deliver_count_received(crlf, strlen(crlf)), 3);
	assert_int_equal(deliver_count_received(lf, strlen(lf)), 2);
	assert_int_equal(deliver_count_received("", 0), 0);
	assert_int_equal(deliver_count_received("Received: x", 11), 1); /* no line end */
	/* a header block cut short (the scan limit) still counts what it has */
	assert_int_equal(deliver_count_received(crlf, 20), 1);

	assert_true(deliver_has_delivered_to(crlf, strlen(crlf), "anna@example.com"));
	assert_true(deliver_has_delivered_to(crlf, strlen(crlf), "bob@example.com")); /* folded, <> */
	assert_false(deliver_has_delivered_to(crlf, strlen(crlf), "carl@example.com")); /* body */
	assert_false(deliver_has_delivered_to(crlf, strlen(crlf), "ann@example.com"));
	assert_false(deliver_has_delivered_to(crlf, strlen(crlf), "anna@example.co"));
	assert_false(deliver_has_delivered_to("X-Delivered-To: anna@example.com\n\n", 34,
					      "anna@example.com"));

	/* leading continuation and junk lines are skipped, not fields */
	static const char odd[] = " orphan\nnot a field\nReceived: 1\n";
	assert_int_equal(deliver_count_received(odd, strlen(odd)), 1);

	char *p = deliver_header_prefix("s@x.org", "anna@example.com", true);
	assert_string_equal(p, "Return-Path: <s@x.org>\r\nDelivered-To: anna@example.com\r\n");
	free(p);
	p = deliver_header_prefix("", "anna@example.com", false);
	assert_string_equal(p, "Return-Path: <>\nDelivered-To: anna@example.com\n");
	free(p);
	p = deliver_header_prefix(NULL, "anna@example.com", false);
	assert_string_equal(p, "Delivered-To: anna@example.com\n");
	free(p);
	/* an envelope cannot inject a header line */
	p = deliver_header_prefix("a@b\r\nX-Evil: 1", "anna@example.com", false);
	assert_string_equal(p, "Return-Path: <a@bX-Evil: 1>\nDelivered-To: anna@example.com\n");
	free(p);
}

static void test_deliver_buffer(void **state)
{
	struct fixture *f = *state;
	struct deliver_rcpt rcpts[2] = { { .account = &f->a }, { .account = &f->b } };
	struct deliver_job job = {
		.data_dir = f->dir, .return_path = "sender@remote.example",
		.data = MSG_CRLF, .size = strlen(MSG_CRLF), .rcpts = rcpts, .rcpt_count = 2,
	};

	assert_int_equal(deliver_run(&job), 0);
	assert_int_equal(job.hops, 1);
	for (size_t i = 0; i < 2; i++) {
		const struct account *a = rcpts[i].account;
		assert_int_equal(rcpts[i].action, DELIVER_STORED);
		assert_string_equal(rcpts[i].reason, "deliver.ok");
		assert_int_equal(rcpts[i].forward_count, 0);
		char *path = only_file(f->dir, a);
		assert_non_null(path);
		assert_non_null(strstr(path, rcpts[i].file));
		char *data = slurp(path);
		char *want = xasprintf("Return-Path: <sender@remote.example>\r\nDelivered-To: %s\r\n%s",
				       a->address, MSG_CRLF);
		assert_string_equal(data, want);
		assert_int_equal(rcpts[i].stored_size, strlen(want));
		assert_int_equal(rcpts[i].usage.bytes, strlen(want));
		assert_int_equal(rcpts[i].usage.messages, 1);
		assert_non_null(strstr(rcpts[i].detail, "folder=INBOX"));
		free(want);
		free(data);
		free(path);

		/* maildirsize follows */
		struct quota_usage u;
		assert_int_equal(quota_usage(f->dir, a, &u), 0);
		assert_int_equal(u.bytes, rcpts[i].stored_size);
		assert_int_equal(u.messages, 1);
	}
	assert_int_equal(count_in(f->dir, &f->a, "tmp"), 0);

	/* a second message updates the sum by appending */
	assert_int_equal(deliver_run(&job), 0);
	struct quota_usage u;
	assert_int_equal(quota_usage(f->dir, &f->a, &u), 0);
	assert_int_equal(u.messages, 2);
	assert_int_equal(rcpts[0].usage.messages, 2);
}

static void test_deliver_spool(void **state)
{
	struct fixture *f = *state;
	char *spool = xasprintf("%s/spool-1", f->dir);
	struct deliver_rcpt rcpt = { .account = &f->a, .folder = "Junk" };
	struct deliver_job job = {
		.data_dir = f->dir, .return_path = "", .spool_path = spool,
		.rcpts = &rcpt, .rcpt_count = 1,
	};

	assert_int_equal(file_write_durable(spool, MSG_LF, strlen(MSG_LF), 0600), 0);
	assert_int_equal(deliver_run(&job), 0);
	assert_int_equal(rcpt.action, DELIVER_STORED);
	char *root = maildir_account_path(f->dir, &f->a);
	char *path = xasprintf("%s/.Junk/new/%s", root, rcpt.file);
	char *data = slurp(path);
	/* LF message: LF header lines; null sender */
	assert_string_equal(data, "Return-Path: <>\nDelivered-To: anna@example.com\n" MSG_LF);
	uint64_t size, vsize;
	assert_int_equal(maildir_name_sizes(rcpt.file, &size, &vsize), 0);
	assert_int_equal(vsize, size + 5); /* five bare LFs */
	assert_non_null(strstr(rcpt.detail, "folder=Junk"));
	free(data);
	free(path);

	/* a bad folder name from a filter falls back to INBOX */
	rcpt.folder = "../escape";
	assert_int_equal(deliver_run(&job), 0);
	path = only_file(f->dir, &f->a);
	assert_non_null(path);
	free(path);

	/* an unreadable spool refuses every recipient, temporarily */
	job.spool_path = "/nonexistent/spool";
	assert_int_equal(deliver_run(&job), -1);
	assert_int_equal(rcpt.action, DELIVER_REFUSED);
	assert_string_equal(rcpt.reason, "deliver.io-error");
	free(root);
	free(spool);
}

/* in_place_file - a copy written the way smtp-tx.c does: in root's tmp/,
 * prefix first. Returns its open descriptor; *path_r is its path. */
static int in_place_file(const char *root, const char *prefix, const char *msg, char **path_r)
{
	int fd;

	assert_int_equal(maildir_create(root), 0);
	fd = maildir_tmp_create(root, path_r);
	assert_true(fd > 0);
	assert_int_equal(write_all(fd, prefix, strlen(prefix)), 0);
	assert_int_equal(write_all(fd, msg, strlen(msg)), 0);
	return fd;
}

/* test_deliver_in_place - a copy already in the recipient's tmp/ is
 * checked like any message (without its own first lines) and stored by
 * rename; one made for someone else is refused and left to the caller. */
static void test_deliver_in_place(void **state)
{
	struct fixture *f = *state;
	char *root = maildir_account_path(f->dir, &f->a), *tmp_path, *prefix;
	struct deliver_rcpt rcpt = { .account = &f->a };
	struct deliver_job job = {
		.data_dir = f->dir, .return_path = "x@remote.test", .rcpts = &rcpt,
		.rcpt_count = 1,
	};

	prefix = deliver_header_prefix("x@remote.test", f->a.address, true);
	job.spool_fd = in_place_file(root, prefix, MSG_CRLF, &tmp_path);
	job.spool_path = tmp_path;
	job.in_place_prefix = strlen(prefix);
	assert_int_equal(deliver_run(&job), 0);
	assert_int_equal(rcpt.action, DELIVER_STORED);
	assert_int_equal(job.hops, 1); /* the message's Received, not ours */
	assert_int_equal(access(tmp_path, F_OK), -1); /* renamed, not copied */
	assert_int_equal(count_in(f->dir, &f->a, "tmp"), 0);
	char *path = only_file(f->dir, &f->a), *data = slurp(path);
	char *want = xasprintf("%s%s", prefix, MSG_CRLF);
	assert_string_equal(data, want);
	uint64_t size, vsize;
	assert_int_equal(maildir_name_sizes(rcpt.file, &size, &vsize), 0);
	assert_int_equal(size, strlen(want));
	assert_int_equal(vsize, size);
	assert_int_equal(close(job.spool_fd), 0); /* the caller's, still open */
	free(want);
	free(data);
	free(path);
	free(tmp_path);

	/* written for anna, delivered to bob: refused, the file stays */
	rcpt.account = &f->b;
	job.spool_fd = in_place_file(root, prefix, MSG_CRLF, &tmp_path);
	job.spool_path = tmp_path;
	assert_int_equal(deliver_run(&job), -1);
	assert_string_equal(rcpt.reason, "deliver.io-error");
	assert_non_null(strstr(rcpt.detail, "does not match"));
	assert_int_equal(access(tmp_path, F_OK), 0);
	assert_int_equal(count_in(f->dir, &f->b, "new"), 0);
	close(job.spool_fd);
	free(tmp_path);
	free(prefix);
	free(root);
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	struct account d;
	static const char msg[] = "Delivered-To: carl@example.com\r\nSubject: x\r\n\r\nhi\r\n";

	account_init(&d, "dora");
	f->a.disabled = true;
	f->a.disabled_reason = xstrdup("unpaid invoice 42");
	f->a.disabled_by = xstrdup("cli:root");
	f->b.can_receive = false;
	struct deliver_rcpt rcpts[4] = {
		{ .account = &f->a }, { .account = &f->b }, { .account = &f->c }, { .account = &d },
	};
	struct deliver_job job = {
		.data_dir = f->dir, .return_path = "s@remote.example", .data = msg,
		.size = strlen(msg), .rcpts = rcpts, .rcpt_count = 4,
	};

	assert_int_equal(deliver_run(&job), -1);
	static const char *const want[] = { "deliver.disabled", "deliver.no-receive",
					    "deliver.loop", "deliver.ok" };
	for (size_t i = 0; i < N_ELEMENTS(want); i++) {
		assert_string_equal(rcpts[i].reason, want[i]);
		assert_int_equal(rcpts[i].action, i < 3 ? DELIVER_REFUSED : DELIVER_STORED);
		char *path = only_file(f->dir, rcpts[i].account);
		assert_true((path != NULL) == (i == 3));
		free(path);
	}
	/* the admin's reason reaches the journal detail, never the client */
	assert_non_null(strstr(rcpts[0].detail, "unpaid invoice 42"));
	const struct reason *r = reason_lookup("deliver.disabled");
	assert_non_null(r);
	assert_string_equal(r->smtp, "550 5.2.1");
	assert_null(strstr(r->text, "unpaid"));
	assert_non_null(strstr(rcpts[2].detail, "carl@example.com"));

	/* forwarding does not bypass a refusal */
	account_forward(&f->b, "elsewhere@remote.example", true);
	assert_int_equal(deliver_run(&job), -1);
	assert_int_equal(rcpts[1].action, DELIVER_REFUSED);
	assert_int_equal(rcpts[1].forward_count, 0);
	assert_null(rcpts[1].forward);
	account_clear(&d);
}

static void test_hops(void **state)
{
	struct fixture *f = *state;
	struct deliver_rcpt rcpts[2] = { { .account = &f->a }, { .account = &f->b } };
	size_t cap = (DELIVER_HOPS_MAX + 2) * 40 + 64, len = 0;
	char *msg = xmalloc(cap);

	for (unsigned i = 0; i < DELIVER_HOPS_MAX; i++)
		len += (size_t)snprintf(msg + len, cap - len, "Received: from h%u by h%u\r\n", i, i + 1);
	len += (size_t)snprintf(msg + len, cap - len, "\r\nbody\r\n");
	struct deliver_job job = { .data_dir = f->dir, .return_path = "", .data = msg, .size = len,
				   .rcpts = rcpts, .rcpt_count = 2 };
	/* exactly the limit passes */
	assert_int_equal(deliver_run(&job), 0);
	assert_int_equal(job.hops, DELIVER_HOPS_MAX);

	/* one more is a loop, for every recipient */
	char *more = xasprintf("Received: from x by y\r\n%s", msg);
	job.data = more;
	job.size = strlen(more);
	assert_int_equal(deliver_run(&job), -1);
	assert_int_equal(job.hops, DELIVER_HOPS_MAX + 1);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(rcpts[i].action, DELIVER_REFUSED);
		assert_string_equal(rcpts[i].reason, "deliver.too-many-hops");
	}
	assert_string_equal(reason_lookup("deliver.too-many-hops")->smtp, "554 5.4.6");
	free(more);
	free(msg);
}

static void test_forward(void **state)
{
	struct fixture *f = *state;
	struct deliver_rcpt rcpts[2] = { { .account = &f->a }, { .account = &f->b } };
	struct deliver_job job = { .data_dir = f->dir, .return_path = "s@r.example",
				   .data = MSG_CRLF, .size = strlen(MSG_CRLF), .rcpts = rcpts,
				   .rcpt_count = 2 };

	account_forward(&f->a, "one@remote.example", true);
	account_forward(&f->a, "two@remote.example", true);
	account_forward(&f->b, "three@remote.example", false);
	assert_int_equal(deliver_run(&job), 0);

	/* keep-copy: stored and forwarded */
	assert_int_equal(rcpts[0].action, DELIVER_STORED);
	assert_string_equal(rcpts[0].reason, "deliver.ok");
	assert_int_equal(rcpts[0].forward_count, 2);
	assert_string_equal(rcpts[0].forward[0], "one@remote.example");
	assert_string_equal(rcpts[0].forward[1], "two@remote.example");
	char *path = only_file(f->dir, &f->a);
	assert_non_null(path);
	free(path);

	/* no copy: forwarded only, nothing stored, no quota involved */
	assert_int_equal(rcpts[1].action, DELIVER_FORWARDED);
	assert_string_equal(rcpts[1].reason, "deliver.forward-no-copy");
	assert_int_equal(rcpts[1].forward_count, 1);
	assert_string_equal(rcpts[1].forward[0], "three@remote.example");
	assert_null(only_file(f->dir, &f->b));
	f->b.quota_bytes = 1;
	assert_int_equal(deliver_run(&job), 0);
	assert_int_equal(rcpts[1].action, DELIVER_FORWARDED);
}

static void test_quota(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "Subject: q\n\n0123456789\n"; /* 23 bytes */
	char *prefix = deliver_header_prefix("", f->a.address, false);
	uint64_t one = strlen(prefix) + strlen(msg);
	struct deliver_rcpt r1 = { .account = &f->a }, r2 = { .account = &f->a };
	struct deliver_job j1 = { .data_dir = f->dir, .return_path = "", .data = msg,
				  .size = strlen(msg), .rcpts = &r1, .rcpt_count = 1 };
	struct deliver_job j2 = j1;
	j2.rcpts = &r2;
	struct deliver_job *jobs[2] = { &j1, &j2 };

	/* room for exactly one: two concurrent messages in one batch see
	 * each other's size, so the second is refused */
	f->a.quota_bytes = one + one / 2;
	assert_int_equal(deliver_run_batch(jobs, 2), -1);
	assert_int_equal(r1.action, DELIVER_STORED);
	assert_int_equal(r2.action, DELIVER_REFUSED);
	assert_string_equal(r2.reason, "deliver.over-quota");
	assert_string_equal(reason_lookup(r2.reason)->smtp, "452 4.2.2");
	assert_false(r1.quota_warning); /* 66% of the quota */
	assert_int_equal(count_in(f->dir, &f->a, "new"), 1);

	/* a message larger than the whole quota: permanent */
	f->a.quota_bytes = one - 1;
	assert_int_equal(deliver_run(&j1), -1);
	assert_string_equal(r1.reason, "deliver.over-quota-permanent");
	assert_string_equal(reason_lookup(r1.reason)->smtp, "552 5.2.2");

	/* by count */
	f->a.quota_bytes = 0;
	f->a.max_messages = 1;
	assert_int_equal(deliver_run(&j1), -1);
	assert_string_equal(r1.reason, "deliver.over-messages");
	f->a.max_messages = 0;

	/* the domain's total, shared with bob */
	struct deliver_rcpt rb = { .account = &f->b, .domain_quota_bytes = 2 * one };
	struct deliver_job jb = j1;
	jb.rcpts = &rb;
	assert_int_equal(deliver_run(&jb), 0); /* anna's one + bob's one = 2 * one */
	assert_int_equal(deliver_run(&jb), -1);
	assert_string_equal(rb.reason, "deliver.domain-full");
	free(prefix);
}

static void test_quota_warning(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "Subject: q\n\n0123456789\n";
	struct deliver_rcpt r = { .account = &f->a };
	struct deliver_job j = { .data_dir = f->dir, .return_path = "", .data = msg,
				 .size = strlen(msg), .rcpts = &r, .rcpt_count = 1 };

	f->a.max_messages = 10;
	for (unsigned i = 1; i <= 10; i++) {
		assert_int_equal(deliver_run(&j), 0);
		/* the 9th message crosses 90%: warned once, not again at 10 */
		if ((i == 9) != r.quota_warning)
			fail_msg("message %u: quota_warning=%d", i, r.quota_warning);
	}
	assert_int_equal(deliver_run(&j), -1);
	assert_string_equal(r.reason, "deliver.over-messages");
	assert_false(r.quota_warning);
}

/* test_fault_each_step - whatever durable step fails, a recipient is
 * either stored (its file complete in new/) or refused with
 * deliver.io-error (nothing in new/), and tmp/ is empty. */
static void test_fault_each_step(void **state)
{
	struct fixture *f = *state;
	static const char *const steps[] = { "open", "write", "fsync", "rename", "fsync-dir" };
	/* 3 new Maildirs (8 directory fsyncs), 3 x (2 writes + fsync), 3
	 * renames, 3 fsyncs of new/: 23 steps; the last runs are clean */
	const unsigned runs = 30;
	bool seen[N_ELEMENTS(steps)] = { false };
	unsigned stored = 0;

	for (unsigned n = 1; n <= runs; n++) {
		char *data_dir = xasprintf("%s/run%u", f->dir, n);
		struct deliver_rcpt rcpts[3] = { { .account = &f->a }, { .account = &f->b },
						 { .account = &f->c } };
		struct deliver_job job = { .data_dir = data_dir, .return_path = "s@r.example",
					   .data = MSG_CRLF, .size = strlen(MSG_CRLF),
					   .rcpts = rcpts, .rcpt_count = 3 };
		assert_int_equal(mkdir(data_dir, 0700), 0);
		fs_fault_inject(n, EIO);
		int ret = deliver_run(&job);
		fs_fault_inject(0, 0);
		stored = 0;
		for (size_t i = 0; i < 3; i++) {
			const struct account *a = rcpts[i].account;
			char *path = only_file(data_dir, a);
			if (rcpts[i].action == DELIVER_STORED) {
				stored++;
				assert_non_null(path);
				char *data = slurp(path);
				assert_non_null(strstr(data, MSG_CRLF));
				free(data);
			} else {
				assert_null(path);
				assert_string_equal(rcpts[i].reason, "deliver.io-error");
				for (size_t s = 0; s < N_ELEMENTS(steps); s++) {
					size_t l = strlen(steps[s]);
					if (strncmp(rcpts[i].detail, steps[s], l) == 0 &&
					    rcpts[i].detail[l] == ':')
						seen[s] = true;
				}
			}
			assert_int_equal(count_in(data_dir, a, "tmp"), 0);
			free(path);
		}
		assert_int_equal(ret, stored == 3 ? 0 : -1);
		free(data_dir);
	}
	assert_int_equal(stored, 3);
	for (size_t s = 0; s < N_ELEMENTS(steps); s++) {
		if (!seen[s])
			fail_msg("no recipient was refused at step '%s'", steps[s]);
	}
}

static void test_journal(void **state)
{
	struct fixture *f = *state;
	struct db *db;
	char *error = NULL;
	struct journal_row *rows;
	size_t count;

	assert_int_equal(schema_open(f->dir, true, &db, &error), 0);
	f->a.max_messages = 1; /* the first message crosses 90% */
	account_forward(&f->a, "out@remote.example", true);
	f->b.disabled = true;
	f->b.disabled_reason = xstrdup("left the company");
	struct deliver_rcpt rcpts[2] = { { .account = &f->a }, { .account = &f->b } };
	struct deliver_job job = { .data_dir = f->dir, .return_path = "s@r.example",
				   .data = MSG_CRLF, .size = strlen(MSG_CRLF), .sid = "S1",
				   .msgid = "<m1@r.example>", .rcpts = rcpts, .rcpt_count = 2 };
	assert_int_equal(deliver_run(&job), -1);
	assert_int_equal(deliver_journal(db, &job), 0);

	struct journal_query q = { .service = "deliver" };
	assert_int_equal(journal_query(db, &q, &rows, &count), 0);
	static const struct {
		const char *decision, *reason, *account, *detail;
	} want[] = {
		{ "deliver", "deliver.ok", "anna@example.com", "folder=INBOX" },
		{ "forward", "deliver.forward", "anna@example.com", "to=out@remote.example" },
		{ "warn", "deliver.quota-warning", "anna@example.com", "1 messages" },
		{ "refuse", "deliver.disabled", "bob@example.com", "left the company" },
	};
	assert_int_equal(count, N_ELEMENTS(want));
	for (size_t i = 0; i < count; i++) {
		assert_string_equal(rows[i].decision, want[i].decision);
		assert_string_equal(rows[i].reason, want[i].reason);
		assert_string_equal(rows[i].account, want[i].account);
		assert_string_equal(rows[i].service, "deliver");
		assert_string_equal(rows[i].sid, "S1");
		assert_string_equal(rows[i].msgid, "<m1@r.example>");
		if (strstr(rows[i].detail, want[i].detail) == NULL)
			fail_msg("row %zu detail '%s' lacks '%s'", i, rows[i].detail, want[i].detail);
	}
	journal_rows_free(&rows, count);
	db_close(&db);
}

static void test_reason_rows(void **state)
{
	/* every code delivery can produce is in the table (journal_add
	 * panics otherwise), with the replies the RFCs ask for */
	static const struct {
		const char *code, *smtp;
	} codes[] = {
		{ "deliver.ok", "250 2.0.0" },
		{ "deliver.disabled", "550 5.2.1" },
		{ "deliver.no-receive", "550 5.2.1" },
		{ "deliver.over-quota", "452 4.2.2" },
		{ "deliver.over-messages", "452 4.2.2" },
		{ "deliver.over-quota-permanent", "552 5.2.2" },
		{ "deliver.domain-full", "452 4.2.2" },
		{ "deliver.too-many-hops", "554 5.4.6" },
		{ "deliver.loop", "554 5.4.6" },
		{ "deliver.io-error", "451 4.3.0" },
		{ "deliver.forward", NULL },
		{ "deliver.forward-no-copy", NULL },
		{ "deliver.quota-warning", NULL },
	};

	for (size_t i = 0; i < N_ELEMENTS(codes); i++) {
		const struct reason *r = reason_lookup(codes[i].code);
		if (r == NULL)
			fail_msg("reason %s missing", codes[i].code);
		if (codes[i].smtp == NULL)
			assert_null(r->smtp);
		else
			assert_string_equal(r->smtp, codes[i].smtp);
		assert_non_null(r->text);
		assert_non_null(r->explanation);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_helpers),
		cmocka_unit_test_setup_teardown(test_deliver_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_spool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_each_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
		cmocka_unit_test(test_reason_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
