/* SPDX-License-Identifier: ISC */
/* test-maildir.c - Maildir++ paths and names, lazy folder creation, and
 * durable batch delivery: group-committed directory fsyncs, and a fault
 * injected at every durable step leaving nothing in new/ or tmp/. */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/mem.h"
#include "directory/directory.h"
#include "store/maildir.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MSG "Subject: hi\r\n\r\nhello\r\n"
#define PREFIX "Delivered-To: a@example.com\r\n"

struct fixture {
	char *dir;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	f->dir = test_tmpdir();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fs_fault_inject(0, 0);
	test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* count_files - regular entries of dir/sub (0 when missing). */
static unsigned count_files(const char *dir, const char *sub)
{
	char *path = xasprintf("%s/%s", dir, sub);
	DIR *d = opendir(path);
	struct dirent *de;
	unsigned n = 0;

	free(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static char *read_file(const char *path, size_t *len_r)
{
	char *data;

	assert_int_equal(file_read_all(path, 10 * 1024 * 1024, &data, len_r), 0);
	return data;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void test_paths(void **state)
{
	struct account a = { .domain = "example.com", .local = "anna" };
	const char *error;
	char *path;

	path = maildir_account_path("/data", &a);
	assert_string_equal(path, "/data/mail/example.com/anna");
	free(path);
	assert_int_equal(maildir_folder_path("/r", NULL, &path, &error), 0);
	assert_string_equal(path, "/r");
	free(path);
	assert_int_equal(maildir_folder_path("/r", "inbox", &path, &error), 0);
	assert_string_equal(path, "/r");
	free(path);
	assert_int_equal(maildir_folder_path("/r", "Junk", &path, &error), 0);
	assert_string_equal(path, "/r/.Junk");
	free(path);
	assert_int_equal(maildir_folder_path("/r", "Archive.2024", &path, &error), 0);
	assert_string_equal(path, "/r/.Archive.2024");
	free(path);

	static const char *const bad[] = { "", ".Junk", "Junk.", "a..b", "a/b", "../x", "a\nb",
					   "tab\there" };
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		assert_false(maildir_folder_name_valid(bad[i]));
		assert_int_equal(maildir_folder_path("/r", bad[i], &path, &error), -1);
	}
	char long_name[MAILDIR_FOLDER_NAME_MAX + 2];
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_false(maildir_folder_name_valid(long_name));
	long_name[MAILDIR_FOLDER_NAME_MAX] = '\0';
	assert_true(maildir_folder_name_valid(long_name));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_unique_names(void **state)
{
	enum { N = 5000 };
	char(*names)[MAILDIR_NAME_MAX] = xcalloc(N, MAILDIR_NAME_MAX);
	char pidpart[32];

	snprintf(pidpart, sizeof(pidpart), "P%ldQ", (long)getpid());
	for (size_t i = 0; i < N; i++) {
		maildir_unique_name(names[i]);
		/* <sec>.M<usec>P<pid>Q<n>.<host>, nothing the format reserves */
		const char *m = strstr(names[i], ".M");
		assert_non_null(m);
		assert_true(m > names[i]);
		assert_non_null(strstr(names[i], pidpart));
		assert_null(strchr(names[i], '/'));
		assert_null(strchr(names[i], ':'));
		assert_null(strchr(names[i], ','));
		assert_true(strlen(names[i]) < 160);
	}
	qsort(names, N, MAILDIR_NAME_MAX, cmp_str);
	for (size_t i = 1; i < N; i++)
		assert_string_not_equal(names[i - 1], names[i]);
	free(names);
}

static void test_name_sizes(void **state)
{
	uint64_t size, vsize;

	assert_int_equal(maildir_name_sizes("1.M2P3Q4.host,S=1234,W=1260:2,S", &size, &vsize), 0);
	assert_int_equal(size, 1234);
	assert_int_equal(vsize, 1260);
	assert_int_equal(maildir_name_sizes("1.M2P3.host,S=99", &size, &vsize), 0);
	assert_int_equal(size, 99);
	assert_int_equal(vsize, 99); /* no W=: same as S= */
	assert_int_equal(maildir_name_sizes("1.M2P3.host,S=99:2,", &size, NULL), 0);
	assert_int_equal(size, 99);
	assert_int_equal(maildir_name_sizes("1.M2P3.host", &size, NULL), -1);
	assert_int_equal(maildir_name_sizes("1.M2P3.host,S=", &size, NULL), -1);
	assert_int_equal(maildir_name_sizes("1.M2P3.host,S=12x", &size, NULL), -1);
	/* S= in the info part is a flag list, not a size */
	assert_int_equal(maildir_name_sizes("1.M2P3.host:2,S=5", &size, NULL), -1);
	assert_int_equal(maildir_name_sizes("1.host,S=99999999999999999999999", &size, NULL), -1);
}

static void test_create(void **state)
{
	struct fixture *f = *state;
	char *root = xasprintf("%s/mail/example.com/anna", f->dir);
	char *junk = xasprintf("%s/.Junk", root);
	static const char *const subs[] = { "cur", "new", "tmp" };

	assert_int_equal(maildir_create(root), 0);
	assert_int_equal(maildir_create(root), 0); /* idempotent */
	for (size_t i = 0; i < N_ELEMENTS(subs); i++) {
		char *p = xasprintf("%s/%s", root, subs[i]);
		assert_int_equal(mode_of(p), 0700);
		free(p);
	}
	assert_int_equal(mode_of(root), 0700);
	char *marker = xasprintf("%s/maildirfolder", root);
	assert_int_equal(access(marker, F_OK), -1); /* the root is not a subfolder */
	free(marker);

	assert_int_equal(maildir_create(junk), 0);
	marker = xasprintf("%s/maildirfolder", junk);
	assert_int_equal(access(marker, F_OK), 0);
	assert_int_equal(mode_of(marker), 0600);
	free(marker);

	/* a failing fsync of a created directory fails the creation */
	char *other = xasprintf("%s/mail/example.com/bob", f->dir);
	fs_fault_inject(1, EIO);
	assert_int_equal(maildir_create(other), -1);
	assert_int_equal(errno, EIO);
	fs_fault_inject(0, 0);
	assert_int_equal(maildir_create(other), 0);
	free(other);
	free(junk);
	free(root);
}

static void test_deliver_one(void **state)
{
	struct fixture *f = *state;
	char *root = xasprintf("%s/mail/example.com/anna", f->dir);
	struct maildir_source src = { .fd = -1, .data = MSG, .size = strlen(MSG) };
	struct maildir_delivery it = {
		.dir = root, .prefix = PREFIX, .prefix_len = strlen(PREFIX), .src = &src
	};
	uint64_t size, vsize;
	size_t len;

	/* the Maildir does not exist yet: created on first delivery */
	assert_int_equal(maildir_deliver_batch(&it, 1), 0);
	assert_int_equal(it.error, 0);
	assert_null(it.failed_step);
	assert_int_equal(it.size, strlen(PREFIX MSG));
	assert_int_equal(it.vsize, it.size); /* CRLF already */
	assert_int_equal(maildir_name_sizes(it.name, &size, &vsize), 0);
	assert_int_equal(size, it.size);
	assert_int_equal(vsize, it.vsize);
	assert_int_equal(count_files(root, "new"), 1);
	assert_int_equal(count_files(root, "tmp"), 0);

	char *path = xasprintf("%s/new/%s", root, it.name);
	char *data = read_file(path, &len);
	assert_int_equal(len, strlen(PREFIX MSG));
	assert_memory_equal(data, PREFIX MSG, len);
	assert_int_equal(mode_of(path), 0600);
	free(data);
	free(path);

	/* no prefix, empty body: still a (0-byte) message */
	struct maildir_source empty = { .fd = -1, .data = "", .size = 0 };
	struct maildir_delivery it2 = { .dir = root, .src = &empty };
	assert_int_equal(maildir_deliver_batch(&it2, 1), 0);
	assert_int_equal(it2.size, 0);
	assert_int_equal(count_files(root, "new"), 2);
	free(root);
}

static void test_deliver_spool_fd(void **state)
{
	struct fixture *f = *state;
	char *root = xasprintf("%s/mail/example.com/anna", f->dir);
	char *spool = xasprintf("%s/spool", f->dir);
	struct buf_like {
		char *data;
		size_t len;
	} msg = { NULL, 0 };
	const size_t lines = 20000; /* ~400 KB: several copy chunks */
	size_t len;

	msg.data = xmalloc(lines * 21 + 32);
	for (size_t i = 0; i < lines; i++) /* 21 bytes a line */
		msg.len += (size_t)snprintf(msg.data + msg.len, 22, "line %012zu xx\n", i);
	int fd = open(spool, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, msg.data, msg.len), 0);

	/* two items share one source fd: pread keeps them independent */
	struct maildir_source src = { .fd = fd, .size = msg.len };
	struct maildir_delivery items[2] = {
		{ .dir = root, .prefix = "X: 1\n", .prefix_len = 5, .src = &src },
		{ .dir = root, .prefix = "X: 2\n", .prefix_len = 5, .src = &src },
	};
	assert_int_equal(maildir_deliver_batch(items, 2), 0);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(items[i].size, msg.len + 5);
		assert_int_equal(items[i].vsize, msg.len + 5 + lines + 1); /* bare LFs as CRLF */
		char *path = xasprintf("%s/new/%s", root, items[i].name);
		char *data = read_file(path, &len);
		assert_int_equal(len, msg.len + 5);
		assert_memory_equal(data + 5, msg.data, msg.len);
		assert_int_equal(data[3], i == 0 ? '1' : '2');
		free(data);
		free(path);
	}
	assert_string_not_equal(items[0].name, items[1].name);

	/* a spool shorter than it claims is an error, not a short message */
	struct maildir_source liar = { .fd = fd, .size = msg.len + 100 };
	struct maildir_delivery bad = { .dir = root, .src = &liar };
	assert_int_equal(maildir_deliver_batch(&bad, 1), -1);
	assert_int_equal(bad.error, EIO);
	assert_string_equal(bad.failed_step, "write");
	assert_string_equal(bad.name, "");
	assert_int_equal(count_files(root, "new"), 2);
	assert_int_equal(count_files(root, "tmp"), 0);
	close(fd);
	free(msg.data);
	free(spool);
	free(root);
}

/* durable_ops - how many fault-injectable steps delivering one message
 * into each of dirs (relative to base) takes: the first n whose fault does
 * not fire, minus one. Every attempt uses fresh, existing folders. */
static unsigned durable_ops(const char *base, const char *const *dirs, size_t count)
{
	struct maildir_source src = { .fd = -1, .data = MSG, .size = strlen(MSG) };
	struct maildir_delivery *items = xcalloc(count, sizeof(*items));
	char **paths = xcalloc(count, sizeof(*paths));

	for (unsigned n = 1;; n++) {
		for (size_t i = 0; i < count; i++) {
			paths[i] = xasprintf("%s/ops%u%s", base, n, dirs[i]);
			assert_int_equal(maildir_create(paths[i]), 0);
			items[i] = (struct maildir_delivery){ .dir = paths[i], .prefix = PREFIX,
							      .prefix_len = strlen(PREFIX),
							      .src = &src };
		}
		fs_fault_inject(n, EIO);
		int ret = maildir_deliver_batch(items, count);
		fs_fault_inject(0, 0);
		for (size_t i = 0; i < count; i++)
			free(paths[i]);
		if (ret == 0) {
			free(paths);
			free(items);
			return n - 1;
		}
	}
}

static void test_group_commit(void **state)
{
	struct fixture *f = *state;
	static const char *const dirs[] = { "/a", "/a", "/b", "/a/.Junk", "/a", "/b" };
	static const char *const one_dir[] = { "/a", "/a", "/a", "/a" };

	/* per item: write prefix, write body, fsync, rename; then one fsync
	 * per distinct new/ directory (3 here), not one per message */
	assert_int_equal(durable_ops(f->dir, dirs, N_ELEMENTS(dirs)), 4 * N_ELEMENTS(dirs) + 3);
	assert_int_equal(durable_ops(f->dir, one_dir, N_ELEMENTS(one_dir)),
			 4 * N_ELEMENTS(one_dir) + 1);
	assert_int_equal(durable_ops(f->dir, one_dir, 1), 5);
}

/* check_outcome - what new/ and tmp/ hold matches what each item says. */
static void check_outcome(struct maildir_delivery *items, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		char *path = xasprintf("%s/new/%s", items[i].dir, items[i].name);
		if (items[i].error == 0) {
			assert_null(items[i].failed_step);
			assert_int_equal(access(path, F_OK), 0);
		} else {
			assert_non_null(items[i].failed_step);
			assert_string_equal(items[i].name, "");
		}
		free(path);
		assert_int_equal(count_files(items[i].dir, "tmp"), 0);
	}
}

static void test_fault_each_step(void **state)
{
	struct fixture *f = *state;
	struct maildir_source src = { .fd = -1, .data = MSG, .size = strlen(MSG) };
	static const char *const steps[] = { "write", "write", "fsync", "rename", "fsync-dir" };

	/* one message: the n-th step fails, nothing is visible anywhere */
	for (unsigned n = 1; n <= N_ELEMENTS(steps); n++) {
		char *root = xasprintf("%s/one%u", f->dir, n);
		struct maildir_delivery it = { .dir = root, .prefix = PREFIX,
					       .prefix_len = strlen(PREFIX), .src = &src };
		assert_int_equal(maildir_create(root), 0);
		fs_fault_inject(n, ENOSPC);
		assert_int_equal(maildir_deliver_batch(&it, 1), -1);
		fs_fault_inject(0, 0);
		assert_int_equal(it.error, ENOSPC);
		assert_string_equal(it.failed_step, steps[n - 1]);
		assert_int_equal(count_files(root, "new"), 0);
		assert_int_equal(count_files(root, "tmp"), 0);
		assert_int_equal(count_files(root, "cur"), 0);
		/* and the next delivery works */
		assert_int_equal(maildir_deliver_batch(&it, 1), 0);
		assert_int_equal(count_files(root, "new"), 1);
		free(root);
	}

	/* a batch over three folders: every step of every item fails once */
	static const char *const dirs[] = { "a", "b", "a", "c", "b" };
	const unsigned total = 4 * N_ELEMENTS(dirs) + 3;
	for (unsigned n = 1; n <= total + 1; n++) {
		struct maildir_delivery items[N_ELEMENTS(dirs)];
		char *paths[N_ELEMENTS(dirs)];
		unsigned stored = 0, in_new = 0;
		for (size_t i = 0; i < N_ELEMENTS(dirs); i++) {
			paths[i] = xasprintf("%s/batch%u/%s", f->dir, n, dirs[i]);
			assert_int_equal(maildir_create(paths[i]), 0);
			items[i] = (struct maildir_delivery){ .dir = paths[i], .prefix = PREFIX,
							      .prefix_len = strlen(PREFIX),
							      .src = &src };
		}
		fs_fault_inject(n, EIO);
		int ret = maildir_deliver_batch(items, N_ELEMENTS(items));
		fs_fault_inject(0, 0);
		assert_int_equal(ret, n <= total ? -1 : 0);
		check_outcome(items, N_ELEMENTS(items));
		for (size_t i = 0; i < N_ELEMENTS(items); i++)
			stored += items[i].error == 0;
		static const char *const distinct[] = { "a", "b", "c" };
		for (size_t d = 0; d < N_ELEMENTS(distinct); d++) {
			char *p = xasprintf("%s/batch%u/%s", f->dir, n, distinct[d]);
			in_new += count_files(p, "new");
			free(p);
		}
		assert_int_equal(in_new, stored);
		if (n <= total)
			assert_true(stored < N_ELEMENTS(dirs));
		for (size_t i = 0; i < N_ELEMENTS(dirs); i++)
			free(paths[i]);
	}
}

static void test_lazy_create_fault(void **state)
{
	struct fixture *f = *state;
	char *root = xasprintf("%s/mail/example.com/new-user", f->dir);
	struct maildir_source src = { .fd = -1, .data = MSG, .size = strlen(MSG) };
	struct maildir_delivery it = { .dir = root, .src = &src };

	/* the first fsync is one of the creation's: reported as "open" */
	fs_fault_inject(1, EIO);
	assert_int_equal(maildir_deliver_batch(&it, 1), -1);
	fs_fault_inject(0, 0);
	assert_string_equal(it.failed_step, "open");
	assert_int_equal(count_files(root, "new"), 0);
	assert_int_equal(maildir_deliver_batch(&it, 1), 0);
	assert_int_equal(count_files(root, "new"), 1);
	free(root);
}

static void test_tmp_clean(void **state)
{
	struct fixture *f = *state;
	char *root = xasprintf("%s/m", f->dir);
	int64_t now = (int64_t)time(NULL);

	assert_int_equal(maildir_create(root), 0);
	for (int i = 0; i < 3; i++) {
		char *p = xasprintf("%s/tmp/abandoned%d", root, i);
		int fd = open(p, O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
		close(fd);
		free(p);
	}
	assert_int_equal(maildir_tmp_clean(root, now, MAILDIR_TMP_STALE_SECS), 0);
	assert_int_equal(count_files(root, "tmp"), 3);
	/* seen from 37 hours later, they are abandoned */
	assert_int_equal(maildir_tmp_clean(root, now + 37 * 3600, MAILDIR_TMP_STALE_SECS), 3);
	assert_int_equal(count_files(root, "tmp"), 0);
	free(root);
}

struct scan_totals {
	uint64_t bytes, count;
};

static void scan_sum(const char *folder_dir, const char *name, uint64_t size, void *context)
{
	struct scan_totals *t = context;

	t->bytes += size;
	t->count++;
}

static void test_scan(void **state)
{
	struct fixture *f = *state;
	char *root = xasprintf("%s/m", f->dir);
	char *junk = xasprintf("%s/.Junk", root);
	struct maildir_source src = { .fd = -1, .data = MSG, .size = strlen(MSG) };
	struct maildir_delivery items[3] = {
		{ .dir = root, .src = &src }, { .dir = root, .src = &src }, { .dir = junk, .src = &src },
	};
	struct scan_totals t = { 0, 0 };
	int64_t stamp1, stamp2;

	assert_int_equal(maildir_scan(root, scan_sum, &t), 0); /* missing: empty */
	assert_int_equal(t.count, 0);
	assert_int_equal(maildir_deliver_batch(items, 3), 0);
	/* a message IMAP moved to cur/ with flags, one imported without S=,
	 * and things that are not messages */
	char *from = xasprintf("%s/new/%s", root, items[0].name);
	char *to = xasprintf("%s/cur/%s:2,S", root, items[0].name);
	assert_int_equal(rename(from, to), 0);
	free(from);
	free(to);
	char *imported = xasprintf("%s/cur/1234.imported.host:2,", root);
	assert_int_equal(file_write_durable(imported, "12345", 5, 0600), 0);
	free(imported);
	char *dot = xasprintf("%s/cur/.hidden", root);
	assert_int_equal(file_write_durable(dot, "x", 1, 0600), 0);
	free(dot);
	char *tmpf = xasprintf("%s/tmp/in-progress", root);
	assert_int_equal(file_write_durable(tmpf, "x", 1, 0600), 0);
	free(tmpf);

	assert_int_equal(maildir_scan(root, scan_sum, &t), 0);
	assert_int_equal(t.count, 4);
	assert_int_equal(t.bytes, 3 * strlen(MSG) + 5);

	assert_int_equal(maildir_mtime(root, &stamp1), 0);
	assert_true(stamp1 > 0);
	assert_int_equal(maildir_mtime(root, &stamp2), 0);
	assert_true(stamp1 == stamp2);
	usleep(20000);
	assert_int_equal(maildir_deliver_batch(items + 2, 1), 0);
	assert_int_equal(maildir_mtime(root, &stamp2), 0);
	assert_true(stamp2 > stamp1);
	free(junk);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_unique_names),
		cmocka_unit_test(test_name_sizes),
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_spool_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_each_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lazy_create_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmp_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
