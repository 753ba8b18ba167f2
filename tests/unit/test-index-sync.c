/* SPDX-License-Identifier: ISC */
/* test-index-sync.c - the index following the Maildir: deliveries into
 * new/ get UIDs in file-name time order, SELECT moves them to cur/, flags
 * renamed by other clients are taken over, vanished files are expunged
 * (with VANISHED modseqs), duplicates and foreign names (qmail, Dovecot)
 * are read, folders appear and vanish, and the mtime check skips scans
 * only when that is safe; new mail is parsed for the cache and the
 * full-text index a bounded slice per sync, newest first. */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "directory/directory.h"
#include "store/fts.h"
#include "store/index.h"
#include "store/maildir.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MSG "Subject: x\r\n\r\nbody\r\n"
/* A directory time far enough in the past that a scan trusts it. */
#define OLD_TIME 1600000000

struct fixture {
	char *dir;
	char *root;
	struct account a;
	struct index *ix;
	int64_t inbox;
};

static struct index *open_index(struct fixture *f)
{
	struct index_settings set = { .data_dir = f->dir, .account = &f->a };
	struct index_error err;
	struct index *ix = NULL;

	if (index_open(&set, &ix, &err) < 0)
		fail_msg("index_open: %s: %s", err.reason, err.text);
	return ix;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	f->dir = test_tmpdir();
	f->a.local = xstrdup("anna");
	f->a.domain = xstrdup("example.com");
	f->a.address = xstrdup("anna@example.com");
	f->root = maildir_account_path(f->dir, &f->a);
	f->ix = open_index(f);
	assert_int_equal(index_mailbox_find(f->ix, "INBOX", &f->inbox), 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	index_close(&f->ix);
	test_rmtree(f->dir);
	free(f->dir);
	free(f->root);
	account_clear(&f->a);
	free(f);
	return 0;
}

/* put - a file written from outside: sub is "new" or "cur" of INBOX. */
static void put(struct fixture *f, const char *sub, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s/%s", f->root, sub, name);

	assert_int_equal(file_write_durable(path, text, strlen(text), 0600), 0);
	free(path);
}

static void ren(struct fixture *f, const char *from, const char *to)
{
	char *a = xasprintf("%s/%s", f->root, from), *b = xasprintf("%s/%s", f->root, to);

	assert_int_equal(rename(a, b), 0);
	free(a);
	free(b);
}

static void sync_box(struct fixture *f, unsigned flags)
{
	struct index_error err;

	if (index_mailbox_sync(f->ix, f->inbox, flags, &err) < 0)
		fail_msg("sync: %s: %s", err.reason, err.text);
}

static struct index_status status(struct fixture *f, unsigned flags)
{
	struct index_status st;
	struct index_error err;

	if (index_mailbox_status_id(f->ix, f->inbox, flags, &st, &err) < 0)
		fail_msg("status: %s: %s", err.reason, err.text);
	return st;
}

static unsigned files(struct fixture *f, const char *sub)
{
	char *path = xasprintf("%s/%s", f->root, sub);
	DIR *d = opendir(path);
	struct dirent *de;
	unsigned n = 0;

	free(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* message - uid's flags and sizes; false when it is not there. */
static bool message(struct fixture *f, uint32_t uid, struct index_message *m_r)
{
	struct index_uid_range r = { uid, uid };
	struct index_iter *it;
	bool found;

	assert_int_equal(index_iter_init(f->ix, f->inbox, &r, 1, false, &it), 0);
	found = index_iter_next(it, m_r) > 0;
	/* the strings die with the iterator: keep only numbers */
	m_r->keywords = m_r->envelope = m_r->body = m_r->bodystructure = NULL;
	index_iter_deinit(&it);
	return found;
}

/* check_counts - STATUS's counters (kept by triggers) agree with the
 * messages themselves. */
static void check_counts(struct index *ix, int64_t id)
{
	struct index_status st;
	struct index_error err;
	struct index_iter *it;
	struct index_message m;
	uint32_t messages = 0, unseen = 0, deleted = 0, first_unseen = 0;
	uint64_t size = 0;

	assert_int_equal(index_mailbox_status_id(ix, id, INDEX_SYNC_NONE, &st, &err), 0);
	assert_int_equal(index_iter_init(ix, id, NULL, 0, false, &it), 0);
	while (index_iter_next(it, &m) > 0) {
		messages++;
		if ((m.flags & INDEX_FLAG_SEEN) == 0 && unseen++ == 0)
			first_unseen = m.seq;
		deleted += (m.flags & INDEX_FLAG_DELETED) != 0;
		size += m.vsize;
	}
	index_iter_deinit(&it);
	assert_int_equal(st.messages, messages);
	assert_int_equal(st.unseen, unseen);
	assert_int_equal(st.deleted, deleted);
	assert_int_equal(st.size, size);
	assert_int_equal(st.first_unseen, first_unseen);
}

static void age_dirs(struct fixture *f)
{
	static const char *const subs[] = { "new", "cur" };
	struct timespec t[2] = { { OLD_TIME, 0 }, { OLD_TIME, 0 } };

	for (size_t i = 0; i < N_ELEMENTS(subs); i++) {
		char *path = xasprintf("%s/%s", f->root, subs[i]);
		assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
		free(path);
	}
}

static void test_delivery_order(void **state)
{
	struct fixture *f = *state;
	/* written in another order than they arrived: UIDs follow the time
	 * in the names (seconds, then microseconds), then the name */
	static const char *const names[] = {
		"1700000002.M5P1Q1.host,S=20,W=20",
		"1700000001.M900000P1Q1.host,S=20,W=20",
		"1700000001.M10P1Q2.hostb,S=20,W=20",
		"1700000001.M10P1Q2.hosta,S=20,W=20",
	};
	static const uint32_t order[] = { 4, 3, 2, 1 }; /* UID of names[i] */
	struct index_message m;

	for (size_t i = 0; i < N_ELEMENTS(names); i++)
		put(f, "new", names[i], MSG);
	/* EXAMINE/STATUS: counted, left in new/ */
	assert_int_equal(status(f, 0).messages, 4);
	assert_int_equal(files(f, "new"), 4);
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		char *path;
		assert_int_equal(index_message_path(f->ix, f->inbox, order[i], &path), 1);
		assert_true(str_has_suffix(path, names[i]));
		free(path);
	}
	/* SELECT: moved to cur/ with an empty flag list, UIDs unchanged */
	struct index_status st = status(f, INDEX_SYNC_READ_WRITE);
	assert_int_equal(st.messages, 4);
	assert_int_equal(st.uidnext, 5);
	assert_int_equal(files(f, "new"), 0);
	assert_int_equal(files(f, "cur"), 4);
	char *path;
	assert_int_equal(index_message_path(f->ix, f->inbox, 1, &path), 1);
	assert_true(str_has_suffix(path, "/cur/1700000001.M10P1Q2.hosta,S=20,W=20:2,"));
	free(path);
	assert_true(message(f, 1, &m));
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.size, 20);

	/* one more delivery, the way SMTP makes it */
	struct maildir_source src = { .fd = -1, .data = MSG, .size = strlen(MSG) };
	struct maildir_delivery it = { .dir = f->root, .src = &src };
	assert_int_equal(maildir_deliver_batch(&it, 1), 0);
	st = status(f, INDEX_SYNC_READ_WRITE);
	assert_int_equal(st.messages, 5);
	assert_int_equal(st.unseen, 5);
	assert_true(message(f, 5, &m));
	assert_int_equal(m.vsize, strlen(MSG));
}

static void test_foreign_names(void **state)
{
	struct fixture *f = *state;
	struct index_message m;

	/* qmail/Courier style: no sizes, bare LF line ends */
	put(f, "new", "1700000001.12345.mail.example", "Subject: lf\n\nline one\nline two\n");
	/* Dovecot's, with flags, straight into cur/ */
	put(f, "cur", "1700000002.M1P2.host,S=20,W=22:2,RS", "Subject: dove\n\nbody\n");
	/* unknown letters (P, Dovecot keyword letters) survive our renames */
	put(f, "cur", "1700000003.M1P2.host,S=20,W=22:2,Pab", "Subject: dove\n\nbody\n");
	sync_box(f, 0);
	assert_true(message(f, 1, &m));
	assert_int_equal(m.size, 31);
	assert_int_equal(m.vsize, 35); /* each LF is counted as CRLF */
	assert_int_equal(m.flags, 0);
	assert_true(message(f, 2, &m));
	assert_int_equal(m.flags, INDEX_FLAG_SEEN | INDEX_FLAG_ANSWERED);
	assert_int_equal(m.size, 20);
	assert_int_equal(m.vsize, 22);

	struct index_uid_range r3 = { 3, 3 };
	struct index_store seen = { .mode = INDEX_STORE_ADD, .flags = INDEX_FLAG_SEEN };
	struct index_store_result res;
	struct index_error err;
	char *path;
	assert_int_equal(index_store_flags(f->ix, f->inbox, &r3, 1, &seen, &res, &err), 0);
	index_store_result_clear(&res);
	assert_int_equal(index_message_path(f->ix, f->inbox, 3, &path), 1);
	assert_true(str_has_suffix(path, ":2,PSab"));
	free(path);

	/* a name that is only a number */
	put(f, "cur", "42", "Subject: odd\n\n");
	sync_box(f, 0);
	assert_true(message(f, 4, &m));
}

static void test_outside_flags_and_expunge(void **state)
{
	struct fixture *f = *state;
	struct index_changes ch;
	struct index_error err;
	struct index_message m;
	uint64_t hms;

	put(f, "cur", "1700000001.M1P1.h,S=20,W=20:2,", MSG);
	put(f, "cur", "1700000002.M1P1.h,S=20,W=20:2,S", MSG);
	put(f, "cur", "1700000003.M1P1.h,S=20,W=20:2,", MSG);
	sync_box(f, 0);
	hms = status(f, 0).highestmodseq;

	/* another client flags one and deletes another */
	ren(f, "cur/1700000001.M1P1.h,S=20,W=20:2,", "cur/1700000001.M1P1.h,S=20,W=20:2,FT");
	char *path = xasprintf("%s/cur/1700000002.M1P1.h,S=20,W=20:2,S", f->root);
	assert_int_equal(unlink(path), 0);
	free(path);
	sync_box(f, 0);
	assert_true(message(f, 1, &m));
	assert_int_equal(m.flags, INDEX_FLAG_FLAGGED | INDEX_FLAG_DELETED);
	assert_true(m.modseq > hms);
	assert_false(message(f, 2, &m));
	assert_int_equal(index_changes_since(f->ix, f->inbox, hms, &ch, &err), 0);
	assert_int_equal(ch.changed_count, 1);
	assert_int_equal(ch.changed[0].uid, 1);
	assert_int_equal(ch.vanished_count, 1);
	assert_int_equal(ch.vanished[0], 2);
	index_changes_clear(&ch);

	check_counts(f->ix, f->inbox);
	/* a file moved from new/ to cur/ by another client keeps its UID */
	put(f, "new", "1700000004.M1P1.h,S=20,W=20", MSG);
	sync_box(f, 0);
	ren(f, "new/1700000004.M1P1.h,S=20,W=20", "cur/1700000004.M1P1.h,S=20,W=20:2,S");
	sync_box(f, 0);
	assert_true(message(f, 4, &m));
	assert_int_equal(m.flags, INDEX_FLAG_SEEN);
	assert_int_equal(status(f, 0).messages, 3);
	assert_int_equal(status(f, 0).uidnext, 5);
}

static void test_duplicates(void **state)
{
	struct fixture *f = *state;
	struct index_message m;

	/* the same base twice (an outside copy): both are kept, as two
	 * messages, the second under a fresh name */
	put(f, "cur", "1700000001.M1P1.h,S=20,W=20:2,S", MSG);
	put(f, "new", "1700000001.M1P1.h,S=20,W=20", MSG);
	assert_int_equal(status(f, 0).messages, 2);
	assert_true(message(f, 1, &m));
	assert_true(message(f, 2, &m));
	assert_int_equal(files(f, "new") + files(f, "cur"), 2);
	/* and stay two after a full rescan */
	assert_int_equal(status(f, INDEX_SYNC_FORCE | INDEX_SYNC_READ_WRITE).messages, 2);
	check_counts(f->ix, f->inbox);
}

static void test_mtime_check(void **state)
{
	struct fixture *f = *state;

	put(f, "cur", "1700000001.M1P1.h,S=20,W=20:2,", MSG);
	age_dirs(f);
	assert_int_equal(status(f, 0).messages, 1);
	/* a file slipped in without changing the directory's mtime (as a
	 * change within one timestamp tick would): the cheap check trusts
	 * the old scan ... */
	put(f, "cur", "1700000002.M1P1.h,S=20,W=20:2,", MSG);
	age_dirs(f);
	assert_int_equal(status(f, 0).messages, 1);
	/* ... and a forced sync finds it */
	assert_int_equal(status(f, INDEX_SYNC_FORCE).messages, 2);

	/* a scan of a directory changed within the last second does not
	 * trust its mtime afterwards: the next sync looks again */
	put(f, "cur", "1700000003.M1P1.h,S=20,W=20:2,", MSG);
	char *cur = xasprintf("%s/cur", f->root);
	struct stat sb;
	assert_int_equal(stat(cur, &sb), 0);
	assert_int_equal(status(f, 0).messages, 3);
	put(f, "cur", "1700000004.M1P1.h,S=20,W=20:2,", MSG);
	struct timespec t[2] = { sb.st_mtim, sb.st_mtim };
	assert_int_equal(utimensat(AT_FDCWD, cur, t, 0), 0);
	assert_int_equal(status(f, 0).messages, 4);
	free(cur);

	/* our own STORE leaves the recorded mtime in step: no rescan, so a
	 * file hidden as above stays unseen until forced */
	age_dirs(f);
	assert_int_equal(status(f, INDEX_SYNC_FORCE).messages, 4);
	struct index_uid_range r1 = { 1, 1 };
	struct index_store seen = { .mode = INDEX_STORE_ADD, .flags = INDEX_FLAG_SEEN };
	struct index_store_result res;
	struct index_error err;
	assert_int_equal(index_store_flags(f->ix, f->inbox, &r1, 1, &seen, &res, &err), 0);
	index_store_result_clear(&res);
	cur = xasprintf("%s/cur", f->root);
	assert_int_equal(stat(cur, &sb), 0);
	put(f, "cur", "1700000005.M1P1.h,S=20,W=20:2,", MSG);
	t[0] = t[1] = sb.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, cur, t, 0), 0);
	free(cur);
	assert_int_equal(status(f, 0).messages, 4);
	assert_int_equal(status(f, INDEX_SYNC_FORCE).messages, 5);
}

static void test_file_moved_under_us(void **state)
{
	struct fixture *f = *state;
	char *path;

	put(f, "cur", "1700000001.M1P1.h,S=20,W=20:2,", MSG);
	sync_box(f, 0);
	/* another client renamed it: the lookup syncs and finds it */
	ren(f, "cur/1700000001.M1P1.h,S=20,W=20:2,", "cur/1700000001.M1P1.h,S=20,W=20:2,S");
	assert_int_equal(index_message_path(f->ix, f->inbox, 1, &path), 1);
	assert_true(str_has_suffix(path, ":2,S"));
	free(path);
	/* ... or removed it: gone */
	ren(f, "cur/1700000001.M1P1.h,S=20,W=20:2,S", "tmp/x");
	assert_int_equal(index_message_path(f->ix, f->inbox, 1, &path), 0);
	struct index_cache c;
	assert_int_equal(index_message_cache(f->ix, f->inbox, 1, &c), 0);
}

static void test_appended_file_left_in_new(void **state)
{
	struct fixture *f = *state;
	struct maildir_source src = { .fd = -1, .data = MSG, .size = strlen(MSG) };
	struct index_append ap = { .src = &src, .flags = INDEX_FLAG_SEEN };
	struct index_error err;
	struct index_message m;
	uint32_t uv, uid;
	char *path, *name, *back;

	/* a crash after an APPEND was indexed but before the move to cur/
	 * survived: the file is in new/ without flags, the row has them */
	assert_int_equal(index_append(f->ix, f->inbox, &ap, &uv, &uid, &err), 0);
	assert_int_equal(index_message_path(f->ix, f->inbox, uid, &path), 1);
	name = xstrdup(strrchr(path, '/') + 1);
	*strchr(name, ':') = '\0';
	back = xasprintf("%s/new/%s", f->root, name);
	assert_int_equal(rename(path, back), 0);
	sync_box(f, INDEX_SYNC_FORCE);
	assert_true(message(f, uid, &m));
	assert_int_equal(m.flags, INDEX_FLAG_SEEN);
	/* SELECT puts it back in cur/ with its flags */
	sync_box(f, INDEX_SYNC_READ_WRITE);
	free(path);
	assert_int_equal(index_message_path(f->ix, f->inbox, uid, &path), 1);
	assert_true(str_has_suffix(path, ":2,S"));
	free(path);
	free(name);
	free(back);
}

static void test_folders(void **state)
{
	struct fixture *f = *state;
	struct index_mailbox_info *list;
	struct index_error err;
	size_t n;
	int64_t id;
	char *path;

	/* made by another tool (or imported): found by LIST; names Dovecot
	 * writes (modified UTF-7, listescape) come back as UTF-8 */
	path = xasprintf("%s/.Lists.postino", f->root);
	assert_int_equal(maildir_create(path), 0);
	free(path);
	path = xasprintf("%s/.Gr&APw-\\2ee", f->root);
	assert_int_equal(maildir_create(path), 0);
	free(path);
	/* not a name any IMAP client could have made: ignored */
	path = xasprintf("%s/.bad&AGE-x", f->root); /* "a" as BASE64 */
	assert_int_equal(maildir_create(path), 0);
	free(path);
	path = xasprintf("%s/.Lists.postino/new/1700000001.M1P1.h", f->root);
	assert_int_equal(file_write_durable(path, MSG, strlen(MSG), 0600), 0);
	free(path);

	assert_int_equal(index_mailbox_list(f->ix, &list, &n, &err), 0);
	bool lists = false, gruesse = false;
	for (size_t i = 0; i < n; i++) {
		lists = lists || strcmp(list[i].name, "Lists/postino") == 0;
		gruesse = gruesse || strcmp(list[i].name, "Gr\xc3\xbc.e") == 0;
		assert_null(strstr(list[i].name, "bad"));
	}
	index_mailbox_list_free(&list, n);
	assert_true(lists);
	assert_true(gruesse);
	struct index_status st;
	assert_int_equal(index_mailbox_status(f->ix, "Lists/postino", 0, &st, &err), 0);
	assert_int_equal(st.messages, 1);

	/* removed from disk: gone from the list, and a selected session
	 * learns it at its next sync */
	assert_int_equal(index_mailbox_find(f->ix, "Lists/postino", &id), 1);
	path = xasprintf("%s/.Lists.postino", f->root);
	test_rmtree(path);
	free(path);
	assert_int_equal(index_mailbox_sync(f->ix, id, 0, &err), -1);
	assert_string_equal(err.reason, "store.no-mailbox");
	assert_int_equal(index_mailbox_find(f->ix, "Lists/postino", &id), 0);

	/* INBOX's directories gone: recreated, never dropped */
	path = xasprintf("%s/cur", f->root);
	assert_int_equal(rmdir(path), 0);
	free(path);
	assert_int_equal(status(f, 0).messages, 0);
	assert_int_equal(files(f, "cur"), 0);
}

static void test_two_handles_sync(void **state)
{
	struct fixture *f = *state;
	struct index *other = open_index(f);
	struct index_uid_range all = { 1, UINT32_MAX };
	struct index_store seen = { .mode = INDEX_STORE_ADD, .flags = INDEX_FLAG_SEEN };
	struct index_store_result res;
	struct index_changes ch;
	struct index_error err;
	uint64_t hms;

	put(f, "new", "1700000001.M1P1.h,S=20,W=20", MSG);
	put(f, "new", "1700000002.M1P1.h,S=20,W=20", MSG);
	/* the other session selects (moves to cur/) and flags them; ours
	 * must see its renames as its own changes, not outside ones */
	assert_int_equal(index_mailbox_sync(other, f->inbox, INDEX_SYNC_READ_WRITE, &err), 0);
	sync_box(f, 0);
	hms = status(f, 0).highestmodseq;
	assert_int_equal(index_store_flags(other, f->inbox, &all, 1, &seen, &res, &err), 0);
	assert_int_equal(res.count, 2);
	index_store_result_clear(&res);
	sync_box(f, INDEX_SYNC_FORCE);
	assert_int_equal(index_changes_since(f->ix, f->inbox, hms, &ch, &err), 0);
	assert_int_equal(ch.changed_count, 2);
	assert_int_equal(ch.changed[0].modseq, hms + 1);
	assert_int_equal(ch.changed[1].modseq, hms + 1);
	assert_int_equal(ch.highestmodseq, hms + 1);
	index_changes_clear(&ch);
	assert_int_equal(status(f, 0).unseen, 0);
	check_counts(f->ix, f->inbox);
	index_close(&other);
}

/* parsed - how many messages of the account have their full-text row,
 * and (uid_r) whether INBOX's uid is one of them: read through a
 * connection of the test's own, as another process would. */
static unsigned parsed(struct fixture *f, uint32_t uid, bool *uid_parsed_r)
{
	char *path = xasprintf("%s/%s", f->root, INDEX_FILE_NAME);
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
	unsigned n;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), sum(m.uid = ?1 AND m.mailbox_id = ?2)"
					    " FROM fts JOIN messages m ON m.id = fts.rowid"
					    " WHERE m.parsed = 1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, uid);
	sqlite3_bind_int64(st, 2, f->inbox);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = (unsigned)sqlite3_column_int(st, 0);
	*uid_parsed_r = sqlite3_column_int(st, 1) > 0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	return n;
}

/* A flood of outside deliveries: one sync parses a bounded slice of it,
 * the newest messages first, and without an event loop (no background
 * indexer) later syncs leave the rest to the first search. */
static void test_new_mail_parsed_in_slices(void **state)
{
	struct fixture *f = *state;
	unsigned n, done;
	bool hit;

	for (unsigned i = 1; i <= 100; i++) {
		char *name = xasprintf("new/%u.M%uP1.s", 1700000000 + i, i);
		char *path = xasprintf("%s/%s", f->root, name);
		char *text = xasprintf("Subject: flood %u\r\n\r\nword%03uz\r\n", i, i);
		FILE *fp = fopen(path, "w");
		assert_non_null(fp);
		assert_int_equal(fputs(text, fp) >= 0, 1);
		assert_int_equal(fclose(fp), 0);
		free(text);
		free(path);
		free(name);
	}
	sync_box(f, INDEX_SYNC_READ_WRITE);
	assert_int_equal(status(f, 0).messages, 100);
	/* at most 32 (fewer when 50 ms ran out first), the last one among them */
	n = parsed(f, 100, &hit);
	assert_true(n >= 1 && n <= 32);
	assert_true(hit);
	assert_int_equal(parsed(f, 1, &hit), n);
	assert_false(hit);
	/* nothing new: no further parsing on this handle's syncs */
	sync_box(f, INDEX_SYNC_READ_WRITE | INDEX_SYNC_FORCE);
	assert_int_equal(parsed(f, 1, &hit), n);
	assert_int_equal(fts_update(f->ix, f->inbox, 0, &done), 0);
	assert_int_equal(done, 100 - n);
	assert_int_equal(parsed(f, 1, &hit), 100);
	assert_true(hit);
	check_counts(f->ix, f->inbox);
}

/* test_tmp_swept - a sync sweeps tmp/ (Maildir's 36-hour rule) and
 * records when, so the next sweep waits INDEX_TMP_CLEAN_SECS; a fresh
 * file (a delivery under way) is never taken. */
static void test_tmp_swept(void **state)
{
	struct fixture *f = *state;
	int64_t now = time_now();
	unsigned removed;

	put(f, "tmp", "1.M1P1Q1.host", MSG);
	put(f, "new", "2.M2P2Q2.host", MSG);
	sync_box(f, INDEX_SYNC_READ_WRITE);
	assert_int_equal(files(f, "tmp"), 1);
	/* the sync swept just now: not due again for a while */
	assert_int_equal(index_tmp_clean(f->ix, f->inbox, now + 60, &removed), 0);
	/* 37 hours on, the file is abandoned */
	now += 37 * 3600;
	assert_int_equal(index_tmp_clean(f->ix, f->inbox, now, &removed), 1);
	assert_int_equal(removed, 1);
	assert_int_equal(files(f, "tmp"), 0);
	assert_int_equal(files(f, "new") + files(f, "cur"), 1);
	assert_int_equal(index_tmp_clean(f->ix, f->inbox, now + INDEX_TMP_CLEAN_SECS - 1, &removed),
			 0);
	assert_int_equal(index_tmp_clean(f->ix, f->inbox, now + INDEX_TMP_CLEAN_SECS, &removed),
			 1);
	assert_int_equal(removed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_delivery_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outside_flags_and_expunge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mtime_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_moved_under_us, setup, teardown),
		cmocka_unit_test_setup_teardown(test_appended_file_left_in_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_handles_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_mail_parsed_in_slices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmp_swept, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
