/* SPDX-License-Identifier: ISC */
/* test-index.c - the account mail index: first open and default
 * mailboxes, APPEND with flags and dates, STORE (CONDSTORE), EXPUNGE and
 * VANISHED modseqs, COPY/MOVE, CREATE/DELETE/RENAME (INBOX and children,
 * non-ASCII names), subscriptions, quota refusals, UID stability across
 * reopen, rebuild after the database is lost or corrupt, cached
 * ENVELOPE/BODYSTRUCTURE, and two handles in two threads. */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "directory/directory.h"
#include "store/index.h"
#include "store/maildir.h"
#include "store/quota.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#define MSG "From: a@example.com\r\nSubject: hello\r\n\r\nbody\r\n"
#define KEYWORDS_BUF 256
#define THREADS 4
#define THREAD_APPENDS 25

struct fixture {
	char *dir;
	char *root;
	struct account a;
	struct index *ix;
};

static void account_init(struct account *a, uint64_t quota, uint64_t max)
{
	memset(a, 0, sizeof(*a));
	a->local = xstrdup("anna");
	a->domain = xstrdup("example.com");
	a->address = xstrdup("anna@example.com");
	a->quota_bytes = quota;
	a->max_messages = max;
}

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
	account_init(&f->a, 0, 0);
	f->root = maildir_account_path(f->dir, &f->a);
	f->ix = open_index(f);
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

static int64_t mbox(struct fixture *f, const char *name)
{
	int64_t id = 0;

	assert_int_equal(index_mailbox_find(f->ix, name, &id), 1);
	return id;
}

static uint32_t append_flags(struct index *ix, int64_t id, const char *text, unsigned flags,
			     const char *keyword, int64_t date)
{
	struct maildir_source src = { .fd = -1, .data = text, .size = strlen(text) };
	const char *kw[] = { keyword };
	struct index_append ap = { .src = &src, .flags = flags, .keywords = kw,
				   .keyword_count = keyword != NULL ? 1 : 0, .internaldate = date };
	struct index_error err;
	uint32_t uv, uid;

	if (index_append(ix, id, &ap, &uv, &uid, &err) < 0)
		fail_msg("index_append: %s: %s", err.reason, err.text);
	assert_true(uv > 0);
	return uid;
}

static uint32_t append(struct fixture *f, int64_t id, unsigned flags)
{
	return append_flags(f->ix, id, MSG, flags, NULL, 0);
}

static struct index_status status(struct fixture *f, const char *name, unsigned flags)
{
	struct index_status st;
	struct index_error err;

	if (index_mailbox_status(f->ix, name, flags, &st, &err) < 0)
		fail_msg("status %s: %s: %s", name, err.reason, err.text);
	return st;
}

/* files - entries of root/sub that do not start with '.' */
static unsigned files(const char *dir, const char *sub)
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

/* flags_of - the flags and keywords of uid, or -1 when it is gone. */
static int flags_of(struct index *ix, int64_t id, uint32_t uid, char *keywords,
		    uint64_t *modseq_r)
{
	struct index_uid_range r = { uid, uid };
	struct index_iter *it;
	struct index_message m;
	int flags = -1;

	assert_int_equal(index_iter_init(ix, id, &r, 1, false, &it), 0);
	if (index_iter_next(it, &m) > 0) {
		flags = (int)m.flags;
		if (keywords != NULL)
			assert_int_equal(str_copy(keywords, m.keywords, KEYWORDS_BUF), 0);
		if (modseq_r != NULL)
			*modseq_r = m.modseq;
	}
	index_iter_deinit(&it);
	return flags;
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

/* ---- opening ---- */

static void test_open_defaults(void **state)
{
	static const struct {
		const char *name, *special_use;
	} expect[] = {
		{ "INBOX", NULL },	    { "Archive", "\\Archive" }, { "Drafts", "\\Drafts" },
		{ "Junk", "\\Junk" },	    { "Sent", "\\Sent" },       { "Trash", "\\Trash" },
	};
	struct fixture *f = *state;
	struct index_mailbox_info *list;
	struct index_error err;
	struct index_status st1, st2;
	struct stat sb;
	size_t n;

	assert_int_equal(index_mailbox_list(f->ix, &list, &n, &err), 0);
	assert_int_equal(n, N_ELEMENTS(expect));
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(list[i].name, expect[i].name);
		if (expect[i].special_use == NULL)
			assert_null(list[i].special_use);
		else
			assert_string_equal(list[i].special_use, expect[i].special_use);
		assert_true(list[i].subscribed);
		assert_false(list[i].has_children);
		assert_false(list[i].nonexistent);
		if (i > 0) {
			char *dir = xasprintf("%s/.%s/cur", f->root, expect[i].name);
			assert_int_equal(stat(dir, &sb), 0);
			free(dir);
		}
	}
	index_mailbox_list_free(&list, n);
	char *db = xasprintf("%s/%s", f->root, INDEX_FILE_NAME);
	assert_int_equal(stat(db, &sb), 0);
	free(db);

	/* reopening changes nothing: same UIDVALIDITY, no new mailboxes */
	st1 = status(f, "Sent", 0);
	assert_true(st1.uidvalidity > 0);
	assert_int_equal(st1.uidnext, 1);
	assert_true(st1.highestmodseq >= 1);
	index_close(&f->ix);
	f->ix = open_index(f);
	st2 = status(f, "Sent", 0);
	assert_int_equal(st1.uidvalidity, st2.uidvalidity);
	assert_int_equal(st1.mailbox_id, st2.mailbox_id);
	/* every mailbox has its own UIDVALIDITY */
	assert_int_not_equal(status(f, "INBOX", 0).uidvalidity, st2.uidvalidity);

	/* an unsubscribed default stays unsubscribed */
	assert_int_equal(index_mailbox_subscribe(f->ix, "Junk", false, &err), 0);
	index_close(&f->ix);
	f->ix = open_index(f);
	assert_int_equal(index_mailbox_list(f->ix, &list, &n, &err), 0);
	assert_false(list[3].subscribed);
	index_mailbox_list_free(&list, n);
}

static void test_flag_names(void **state)
{
	unsigned flag;

	assert_string_equal(index_flag_name(INDEX_FLAG_SEEN), "\\Seen");
	assert_string_equal(index_flag_name(INDEX_FLAG_DRAFT), "\\Draft");
	assert_null(index_flag_name(0x40));
	assert_int_equal(index_flag_lookup("\\DELETED", &flag), 1);
	assert_int_equal(flag, INDEX_FLAG_DELETED);
	assert_int_equal(index_flag_lookup("\\Recent", &flag), 0);
	assert_true(index_keyword_valid("$Forwarded"));
	assert_true(index_keyword_valid("NonJunk"));
	assert_false(index_keyword_valid(""));
	assert_false(index_keyword_valid("\\Seen"));
	assert_false(index_keyword_valid("a b"));
	assert_false(index_keyword_valid("a(b"));
	assert_false(index_keyword_valid("caf\xc3\xa9"));
}

/* ---- append, status, iteration ---- */

static void test_append(void **state)
{
	struct fixture *f = *state;
	int64_t inbox = mbox(f, "INBOX");
	struct index_status st = status(f, "INBOX", INDEX_SYNC_READ_WRITE);
	char keywords[KEYWORDS_BUF], *path;
	struct stat sb;
	uint64_t modseq;
	uint32_t uid;

	assert_int_equal(st.messages, 0);
	assert_int_equal(st.first_unseen, 0);
	uid = append_flags(f->ix, inbox, MSG, INDEX_FLAG_SEEN | INDEX_FLAG_FLAGGED, "$Forwarded",
			   1000000000);
	assert_int_equal(uid, 1);
	assert_int_equal(append(f, inbox, 0), 2);
	assert_int_equal(append(f, inbox, INDEX_FLAG_SEEN), 3);

	st = status(f, "INBOX", 0);
	assert_int_equal(st.messages, 3);
	assert_int_equal(st.unseen, 1);
	assert_int_equal(st.first_unseen, 2);
	assert_int_equal(st.uidnext, 4);
	assert_int_equal(st.recent, 0);
	assert_int_equal(st.size, 3 * strlen(MSG));

	assert_int_equal(flags_of(f->ix, inbox, 1, keywords, &modseq),
			 INDEX_FLAG_SEEN | INDEX_FLAG_FLAGGED);
	assert_string_equal(keywords, "$Forwarded");
	assert_true(modseq > 1);
	/* the file is in cur/ with Maildir flags and the date as mtime */
	assert_int_equal(index_message_path(f->ix, inbox, 1, &path), 1);
	assert_non_null(strstr(path, "/cur/"));
	assert_true(str_has_suffix(path, ":2,FS"));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mtime, 1000000000);
	assert_int_equal(sb.st_size, strlen(MSG));
	free(path);
	assert_int_equal(files(f->root, "new"), 0);
	assert_int_equal(files(f->root, "cur"), 3);
	assert_int_equal(index_message_path(f->ix, inbox, 99, &path), 0);

	/* the keyword is known to the mailbox (FLAGS / PERMANENTFLAGS) */
	char **kw;
	assert_int_equal(index_mailbox_keywords(f->ix, inbox, &kw), 0);
	assert_string_equal(kw[0], "$Forwarded");
	assert_null(kw[1]);
	index_keywords_free(&kw);
}

static void test_iterate(void **state)
{
	struct fixture *f = *state;
	int64_t inbox = mbox(f, "INBOX");
	struct index_uid_range ranges[] = { { 9, 7 }, { 2, 3 }, { 3, 4 } };
	struct index_uid_range seqs[] = { { 2, 2 }, { 5, 100 } };
	struct index_iter *it;
	struct index_message m;
	uint32_t *uids;
	size_t n;
	struct index_error err;
	uint32_t expunged_uid = 5;
	uint32_t *exp;
	struct index_store_result res;
	struct index_store del = { .mode = INDEX_STORE_ADD, .flags = INDEX_FLAG_DELETED };
	struct index_uid_range r5 = { 5, 5 };

	for (int i = 0; i < 10; i++)
		append(f, inbox, 0);
	/* uid 5 gone: sequence numbers and UIDs part ways */
	assert_int_equal(index_store_flags(f->ix, inbox, &r5, 1, &del, &res, &err), 0);
	index_store_result_clear(&res);
	assert_int_equal(index_expunge(f->ix, inbox, NULL, 0, &exp, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(exp[0], expunged_uid);
	free(exp);

	/* UID ranges, unordered and overlapping: 2,3,4,7,8,9 */
	static const uint32_t want_uids[] = { 2, 3, 4, 7, 8, 9 };
	static const uint32_t want_seqs[] = { 2, 3, 4, 6, 7, 8 };
	size_t i = 0;
	assert_int_equal(index_iter_init(f->ix, inbox, ranges, N_ELEMENTS(ranges), false, &it), 0);
	while (index_iter_next(it, &m) > 0) {
		assert_true(i < N_ELEMENTS(want_uids));
		assert_int_equal(m.uid, want_uids[i]);
		assert_int_equal(m.seq, want_seqs[i]);
		assert_int_equal(m.vsize, strlen(MSG));
		i++;
	}
	assert_int_equal(i, N_ELEMENTS(want_uids));
	index_iter_deinit(&it);

	/* sequence numbers 2 and 5:* (past the end is fine) */
	static const uint32_t seq_uids[] = { 2, 6, 7, 8, 9, 10 };
	i = 0;
	assert_int_equal(index_iter_init(f->ix, inbox, seqs, N_ELEMENTS(seqs), true, &it), 0);
	while (index_iter_next(it, &m) > 0) {
		assert_true(i < N_ELEMENTS(seq_uids));
		assert_int_equal(m.uid, seq_uids[i]);
		assert_int_equal(m.seq, i == 0 ? 2 : 4 + i);
		i++;
	}
	assert_int_equal(i, N_ELEMENTS(seq_uids));
	index_iter_deinit(&it);

	assert_int_equal(index_mailbox_uids(f->ix, inbox, &uids, &n), 0);
	assert_int_equal(n, 9);
	assert_int_equal(uids[3], 4);
	assert_int_equal(uids[4], 6);
	free(uids);
}

/* ---- store ---- */

static void test_store(void **state)
{
	struct fixture *f = *state;
	int64_t inbox = mbox(f, "INBOX");
	struct index_uid_range all = { 1, UINT32_MAX }, one = { 2, 2 };
	const char *kw_add[] = { "$Junk", "Work", "$junk" };
	const char *kw_del[] = { "WORK" };
	struct index_store add = { .mode = INDEX_STORE_ADD, .flags = INDEX_FLAG_SEEN | INDEX_FLAG_DELETED,
				   .keywords = kw_add, .keyword_count = N_ELEMENTS(kw_add) };
	struct index_store res_store = { .mode = INDEX_STORE_REMOVE, .flags = INDEX_FLAG_DELETED,
					 .keywords = kw_del, .keyword_count = 1 };
	struct index_store result_check;
	struct index_store_result res;
	struct index_error err;
	char keywords[KEYWORDS_BUF], *path;
	uint64_t modseq, modseq2, hms;

	append(f, inbox, 0);
	append(f, inbox, INDEX_FLAG_SEEN);
	hms = status(f, "INBOX", 0).highestmodseq;

	assert_int_equal(index_store_flags(f->ix, inbox, &all, 1, &add, &res, &err), 0);
	assert_int_equal(res.count, 2);
	assert_true(res.changes[0].changed);
	assert_int_equal(res.changes[0].flags, INDEX_FLAG_SEEN | INDEX_FLAG_DELETED);
	assert_string_equal(res.changes[0].keywords, "$Junk Work");
	/* one STORE, one new MODSEQ for every message it changed */
	assert_int_equal(res.changes[0].modseq, hms + 1);
	assert_int_equal(res.changes[1].modseq, hms + 1);
	assert_int_equal(res.highestmodseq, hms + 1);
	assert_int_equal(res.modified_count, 0);
	index_store_result_clear(&res);
	assert_int_equal(index_message_path(f->ix, inbox, 1, &path), 1);
	assert_true(str_has_suffix(path, ":2,ST"));
	free(path);

	/* -FLAGS, keywords matched ignoring case */
	assert_int_equal(index_store_flags(f->ix, inbox, &one, 1, &res_store, &res, &err), 0);
	assert_int_equal(res.count, 1);
	assert_int_equal(res.changes[0].flags, INDEX_FLAG_SEEN);
	assert_string_equal(res.changes[0].keywords, "$Junk");
	modseq = res.changes[0].modseq;
	index_store_result_clear(&res);
	assert_int_equal(index_message_path(f->ix, inbox, 2, &path), 1);
	assert_true(str_has_suffix(path, ":2,S"));
	free(path);

	/* the same again changes nothing and keeps the MODSEQ */
	assert_int_equal(index_store_flags(f->ix, inbox, &one, 1, &res_store, &res, &err), 0);
	assert_false(res.changes[0].changed);
	assert_int_equal(res.changes[0].modseq, modseq);
	index_store_result_clear(&res);
	assert_int_equal(flags_of(f->ix, inbox, 2, keywords, &modseq2), INDEX_FLAG_SEEN);
	assert_int_equal(modseq2, modseq);

	/* replace, with a keyword spelled as the mailbox first saw it */
	const char *kw_set[] = { "$JUNK" };
	struct index_store set = { .mode = INDEX_STORE_REPLACE, .flags = INDEX_FLAG_ANSWERED,
				   .keywords = kw_set, .keyword_count = 1 };
	assert_int_equal(index_store_flags(f->ix, inbox, &one, 1, &set, &res, &err), 0);
	assert_int_equal(res.changes[0].flags, INDEX_FLAG_ANSWERED);
	assert_string_equal(res.changes[0].keywords, "$Junk");
	index_store_result_clear(&res);

	/* CONDSTORE UNCHANGEDSINCE: message 1 is older than the bound,
	 * message 2 was changed after it (RFC 7162 3.1.3) */
	modseq = 0;
	assert_true(flags_of(f->ix, inbox, 1, NULL, &modseq) >= 0);
	result_check = (struct index_store){ .mode = INDEX_STORE_ADD, .flags = INDEX_FLAG_FLAGGED,
					     .unchanged_since_set = true, .unchanged_since = modseq };
	assert_int_equal(index_store_flags(f->ix, inbox, &all, 1, &result_check, &res, &err), 0);
	assert_int_equal(res.modified_count, 1);
	assert_int_equal(res.modified[0], 2);
	assert_int_equal(res.count, 1);
	assert_int_equal(res.changes[0].uid, 1);
	assert_true(res.changes[0].changed);
	index_store_result_clear(&res);
	/* UNCHANGEDSINCE 0 fails for every message */
	result_check.unchanged_since = 0;
	assert_int_equal(index_store_flags(f->ix, inbox, &all, 1, &result_check, &res, &err), 0);
	assert_int_equal(res.modified_count, 2);
	assert_int_equal(res.count, 0);
	index_store_result_clear(&res);

	check_counts(f->ix, inbox);
	/* bad keywords are refused before anything changes */
	const char *bad[] = { "no good" };
	struct index_store bad_store = { .mode = INDEX_STORE_ADD, .keywords = bad, .keyword_count = 1 };
	assert_int_equal(index_store_flags(f->ix, inbox, &all, 1, &bad_store, &res, &err), -1);
	assert_string_equal(err.reason, "store.bad-keyword");
}

/* ---- expunge and VANISHED ---- */

static void test_expunge_vanished(void **state)
{
	struct fixture *f = *state;
	int64_t inbox = mbox(f, "INBOX");
	struct index_uid_range r24 = { 2, 4 }, r3 = { 3, 3 };
	struct index_store del = { .mode = INDEX_STORE_ADD, .flags = INDEX_FLAG_DELETED };
	struct index_store_result res;
	struct index_changes ch;
	struct index_error err;
	uint32_t *uids;
	size_t n;
	uint64_t before, after_store;

	for (int i = 0; i < 5; i++)
		append(f, inbox, 0);
	before = status(f, "INBOX", 0).highestmodseq;
	assert_int_equal(index_store_flags(f->ix, inbox, &r24, 1, &del, &res, &err), 0);
	after_store = res.highestmodseq;
	index_store_result_clear(&res);

	/* UID EXPUNGE 3: only 3, though 2 and 4 are \Deleted too */
	assert_int_equal(index_expunge(f->ix, inbox, &r3, 1, &uids, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(uids[0], 3);
	free(uids);
	/* EXPUNGE: the rest of the \Deleted ones */
	assert_int_equal(index_expunge(f->ix, inbox, NULL, 0, &uids, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(uids[0], 2);
	assert_int_equal(uids[1], 4);
	free(uids);
	assert_int_equal(files(f->root, "cur"), 2);
	assert_int_equal(status(f, "INBOX", 0).messages, 2);

	/* QRESYNC: since before the STORE, everything shows */
	assert_int_equal(index_changes_since(f->ix, inbox, before, &ch, &err), 0);
	assert_int_equal(ch.vanished_count, 3);
	assert_int_equal(ch.vanished[0], 2);
	assert_int_equal(ch.vanished[2], 4);
	assert_false(ch.vanished_incomplete);
	assert_int_equal(ch.changed_count, 0);
	assert_int_equal(ch.uidnext, 6);
	index_changes_clear(&ch);
	/* since the STORE: the expunges, each with a MODSEQ after it */
	assert_int_equal(index_changes_since(f->ix, inbox, after_store, &ch, &err), 0);
	assert_int_equal(ch.vanished_count, 3);
	uint64_t first_expunge = after_store + 1;
	index_changes_clear(&ch);
	/* since the first expunge: only the second one */
	assert_int_equal(index_changes_since(f->ix, inbox, first_expunge, &ch, &err), 0);
	assert_int_equal(ch.vanished_count, 2);
	assert_int_equal(ch.vanished[0], 2);
	index_changes_clear(&ch);
	/* since now: nothing */
	assert_int_equal(index_changes_since(f->ix, inbox, status(f, "INBOX", 0).highestmodseq, &ch,
					     &err), 0);
	assert_int_equal(ch.vanished_count + ch.changed_count, 0);
	index_changes_clear(&ch);

	check_counts(f->ix, inbox);
	/* new messages are changes too (CONDSTORE FETCH CHANGEDSINCE) */
	before = status(f, "INBOX", 0).highestmodseq;
	append(f, inbox, 0);
	assert_int_equal(index_changes_since(f->ix, inbox, before, &ch, &err), 0);
	assert_int_equal(ch.changed_count, 1);
	assert_int_equal(ch.changed[0].uid, 6);
	assert_int_equal(ch.highestmodseq, before + 1);
	index_changes_clear(&ch);
}

/* ---- copy and move ---- */

static void test_copy_move(void **state)
{
	struct fixture *f = *state;
	int64_t inbox = mbox(f, "INBOX"), archive = mbox(f, "Archive");
	struct index_uid_range r12 = { 1, 2 }, r3 = { 3, 3 };
	struct index_copy_result res;
	struct index_changes ch;
	struct index_error err;
	char keywords[KEYWORDS_BUF];
	uint64_t hms;

	append_flags(f->ix, inbox, MSG, INDEX_FLAG_SEEN, "Work", 0);
	append(f, inbox, INDEX_FLAG_FLAGGED);
	append(f, inbox, 0);
	append(f, archive, 0); /* the destination's UIDs go on from its own UIDNEXT */

	assert_int_equal(index_copy(f->ix, inbox, &r12, 1, archive, false, &res, &err), 0);
	assert_int_equal(res.count, 2);
	assert_int_equal(res.uidvalidity, status(f, "Archive", 0).uidvalidity);
	assert_int_equal(res.src_uids[0], 1);
	assert_int_equal(res.dst_uids[0], 2);
	assert_int_equal(res.src_uids[1], 2);
	assert_int_equal(res.dst_uids[1], 3);
	index_copy_result_clear(&res);
	assert_int_equal(flags_of(f->ix, archive, 2, keywords, NULL), INDEX_FLAG_SEEN);
	assert_string_equal(keywords, "Work");
	assert_int_equal(flags_of(f->ix, archive, 3, NULL, NULL), INDEX_FLAG_FLAGGED);
	assert_int_equal(status(f, "INBOX", 0).messages, 3);
	assert_int_equal(files(f->root, ".Archive/cur"), 3);
	/* hard links: the copy shares the source's bytes */
	char *src_path, *dst_path;
	struct stat s1, s2;
	assert_int_equal(index_message_path(f->ix, inbox, 1, &src_path), 1);
	assert_int_equal(index_message_path(f->ix, archive, 2, &dst_path), 1);
	assert_int_equal(stat(src_path, &s1), 0);
	assert_int_equal(stat(dst_path, &s2), 0);
	assert_int_equal(s1.st_ino, s2.st_ino);
	free(src_path);
	free(dst_path);

	/* MOVE: gone from INBOX (VANISHED there), present in Archive */
	hms = status(f, "INBOX", 0).highestmodseq;
	assert_int_equal(index_copy(f->ix, inbox, &r3, 1, archive, true, &res, &err), 0);
	assert_int_equal(res.count, 1);
	assert_int_equal(res.dst_uids[0], 4);
	index_copy_result_clear(&res);
	assert_int_equal(status(f, "INBOX", 0).messages, 2);
	assert_int_equal(status(f, "Archive", 0).messages, 4);
	assert_int_equal(index_changes_since(f->ix, inbox, hms, &ch, &err), 0);
	assert_int_equal(ch.vanished_count, 1);
	assert_int_equal(ch.vanished[0], 3);
	index_changes_clear(&ch);
	assert_int_equal(files(f->root, "cur"), 2);

	check_counts(f->ix, inbox);
	check_counts(f->ix, archive);
	/* a copy of nothing is no error, and into the same mailbox works */
	struct index_uid_range none = { 100, 200 };
	assert_int_equal(index_copy(f->ix, inbox, &none, 1, archive, false, &res, &err), 0);
	assert_int_equal(res.count, 0);
	index_copy_result_clear(&res);
	assert_int_equal(index_copy(f->ix, inbox, &r12, 1, inbox, false, &res, &err), 0);
	assert_int_equal(res.count, 2);
	assert_int_equal(res.dst_uids[0], 4);
	index_copy_result_clear(&res);
	assert_int_equal(status(f, "INBOX", 0).messages, 4);

	/* to a mailbox that is gone */
	assert_int_equal(index_copy(f->ix, inbox, &r12, 1, 9999, false, &res, &err), -1);
	assert_string_equal(err.reason, "store.no-mailbox");
}

/* ---- mailboxes ---- */

static void test_mailbox_ops(void **state)
{
	struct fixture *f = *state;
	struct index_mailbox_info *list;
	struct index_error err;
	struct index_status st;
	struct stat sb;
	size_t n;
	char *path;

	assert_int_equal(index_mailbox_create(f->ix, "Work", NULL, &err), 0);
	assert_int_equal(index_mailbox_create(f->ix, "Work/2024", NULL, &err), 0);
	assert_int_equal(index_mailbox_create(f->ix, "Work/2024/Q1", NULL, &err), 0);
	assert_int_equal(index_mailbox_create(f->ix, "Work Stuff", NULL, &err), 0);
	/* non-ASCII names: UTF-8 here, modified UTF-7 on disk (Dovecot's) */
	assert_int_equal(index_mailbox_create(f->ix, "Entw\xc3\xbcrfe", NULL, &err), 0);
	path = xasprintf("%s/.Entw&APw-rfe/cur", f->root);
	assert_int_equal(stat(path, &sb), 0);
	free(path);
	/* a '.' inside a level is escaped, not a hierarchy step */
	assert_int_equal(index_mailbox_create(f->ix, "a.b", NULL, &err), 0);
	path = xasprintf("%s/.a\\2eb", f->root);
	assert_int_equal(stat(path, &sb), 0);
	free(path);

	/* refusals */
	assert_int_equal(index_mailbox_create(f->ix, "Work", NULL, &err), -1);
	assert_string_equal(err.reason, "store.mailbox-exists");
	assert_int_equal(index_mailbox_create(f->ix, "inbox", NULL, &err), -1);
	assert_string_equal(err.reason, "store.mailbox-exists");
	assert_int_equal(index_mailbox_create(f->ix, "../x", NULL, &err), -1);
	assert_string_equal(err.reason, "store.bad-name");
	assert_int_equal(index_mailbox_create(f->ix, "a//b", NULL, &err), -1);
	assert_string_equal(err.reason, "store.bad-name");
	assert_int_equal(index_mailbox_create(f->ix, "Flagged", "\\Flagged", &err), -1);
	assert_string_equal(err.reason, "store.bad-special-use");
	assert_int_equal(index_mailbox_delete(f->ix, "INBOX", &err), -1);
	assert_string_equal(err.reason, "store.delete-inbox");
	assert_int_equal(index_mailbox_delete(f->ix, "Nope", &err), -1);
	assert_string_equal(err.reason, "store.no-mailbox");
	assert_int_equal(index_mailbox_rename(f->ix, "Work", "Work/Sub", &err), -1);
	assert_string_equal(err.reason, "store.rename-into-itself");
	assert_int_equal(index_mailbox_rename(f->ix, "Work", "Sent", &err), -1);
	assert_string_equal(err.reason, "store.mailbox-exists");

	/* CREATE-SPECIAL-USE */
	assert_int_equal(index_mailbox_create(f->ix, "Old", "\\archive", &err), 0);

	/* LIST: hierarchy order, children, special use */
	assert_int_equal(index_mailbox_list(f->ix, &list, &n, &err), 0);
	static const char *const names[] = { "INBOX", "Archive", "Drafts", "Entw\xc3\xbcrfe",
					     "Junk", "Old", "Sent", "Trash", "Work", "Work/2024",
					     "Work/2024/Q1", "Work Stuff", "a.b" };
	assert_int_equal(n, N_ELEMENTS(names));
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(list[i].name, names[i]);
		assert_int_equal(list[i].has_children, strcmp(names[i], "Work") == 0 ||
							       strcmp(names[i], "Work/2024") == 0);
	}
	assert_string_equal(list[5].special_use, "\\Archive");
	index_mailbox_list_free(&list, n);

	/* RENAME moves children, keeps UIDVALIDITY and subscriptions */
	int64_t work = mbox(f, "Work/2024");
	append(f, work, INDEX_FLAG_SEEN);
	st = status(f, "Work/2024", 0);
	assert_int_equal(index_mailbox_subscribe(f->ix, "Work/2024", true, &err), 0);
	assert_int_equal(index_mailbox_rename(f->ix, "Work", "Jobs/Old", &err), 0);
	assert_int_equal(index_mailbox_find(f->ix, "Work/2024", &work), 0);
	assert_int_equal(status(f, "Jobs/Old/2024", 0).uidvalidity, st.uidvalidity);
	assert_int_equal(status(f, "Jobs/Old/2024", 0).messages, 1);
	assert_int_equal(status(f, "Jobs/Old/2024/Q1", 0).messages, 0);
	path = xasprintf("%s/.Jobs.Old.2024/cur", f->root);
	assert_int_equal(stat(path, &sb), 0);
	free(path);
	assert_int_equal(index_mailbox_list(f->ix, &list, &n, &err), 0);
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		assert_string_not_equal(list[i].name, "Work");
		if (strcmp(list[i].name, "Jobs/Old/2024") == 0) {
			found = true;
			assert_true(list[i].subscribed);
		}
	}
	assert_true(found);
	index_mailbox_list_free(&list, n);

	/* DELETE keeps children, removes the folder and its messages */
	int64_t id = mbox(f, "Jobs/Old");
	append(f, id, 0);
	assert_int_equal(index_mailbox_delete(f->ix, "Jobs/Old", &err), 0);
	path = xasprintf("%s/.Jobs.Old", f->root);
	assert_int_equal(stat(path, &sb), -1);
	free(path);
	assert_int_equal(index_mailbox_find(f->ix, "Jobs/Old", &id), 0);
	assert_int_equal(index_mailbox_find(f->ix, "Jobs/Old/2024", &id), 1);
	/* a new mailbox of a deleted one's name is a new UIDVALIDITY */
	uint32_t old_uv = st.uidvalidity;
	assert_int_equal(index_mailbox_delete(f->ix, "Jobs/Old/2024", &err), 0);
	assert_int_equal(index_mailbox_create(f->ix, "Jobs/Old/2024", NULL, &err), 0);
	assert_true(status(f, "Jobs/Old/2024", 0).uidvalidity > old_uv);
	/* ... and its subscription survived the delete (RFC 3501 6.3.6) */
	assert_int_equal(index_mailbox_list(f->ix, &list, &n, &err), 0);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].name, "Jobs/Old/2024") == 0)
			assert_true(list[i].subscribed);
	}
	index_mailbox_list_free(&list, n);
}

static void test_subscriptions(void **state)
{
	struct fixture *f = *state;
	struct index_mailbox_info *list;
	struct index_error err;
	size_t n;

	/* any valid name, existing or not */
	assert_int_equal(index_mailbox_subscribe(f->ix, "Lists/postino", true, &err), 0);
	assert_int_equal(index_mailbox_subscribe(f->ix, "Sent", false, &err), 0);
	assert_int_equal(index_mailbox_subscribe(f->ix, "bad//name", true, &err), -1);
	assert_int_equal(index_mailbox_list(f->ix, &list, &n, &err), 0);
	assert_int_equal(n, 7);
	assert_string_equal(list[6].name, "Lists/postino");
	assert_true(list[6].nonexistent);
	assert_true(list[6].subscribed);
	assert_false(list[4].subscribed); /* Sent */
	index_mailbox_list_free(&list, n);
}

static void test_rename_inbox(void **state)
{
	struct fixture *f = *state;
	int64_t inbox = mbox(f, "INBOX");
	struct index_error err;
	struct index_status before = status(f, "INBOX", 0), after;
	char keywords[KEYWORDS_BUF];

	assert_int_equal(index_mailbox_create(f->ix, "INBOX/Child", NULL, &err), 0);
	append_flags(f->ix, inbox, MSG, INDEX_FLAG_SEEN, "Kept", 0);
	append(f, inbox, 0);
	append(f, inbox, INDEX_FLAG_DRAFT);

	/* RFC 3501 6.3.5: the messages move, INBOX stays (empty), and so
	 * do its children */
	assert_int_equal(index_mailbox_rename(f->ix, "inbox", "Old Inbox", &err), 0);
	after = status(f, "INBOX", 0);
	assert_int_equal(after.messages, 0);
	assert_int_equal(after.uidvalidity, before.uidvalidity);
	assert_int_equal(after.uidnext, 4);
	assert_int_equal(files(f->root, "cur"), 0);
	int64_t old = mbox(f, "Old Inbox");
	assert_int_equal(status(f, "Old Inbox", 0).messages, 3);
	assert_int_equal(flags_of(f->ix, old, 1, keywords, NULL), INDEX_FLAG_SEEN);
	assert_string_equal(keywords, "Kept");
	assert_int_equal(flags_of(f->ix, old, 3, NULL, NULL), INDEX_FLAG_DRAFT);
	assert_int_equal(index_mailbox_find(f->ix, "INBOX/Child", &old), 1);
	check_counts(f->ix, inbox);
	check_counts(f->ix, mbox(f, "Old Inbox"));
	/* and a new mail after that lands in INBOX as usual */
	assert_int_equal(append(f, inbox, 0), 4);
}

/* ---- quota ---- */

static void test_quota(void **state)
{
	struct fixture *f = *state;
	int64_t inbox = mbox(f, "INBOX"), archive = mbox(f, "Archive");
	struct maildir_source src = { .fd = -1, .data = MSG, .size = strlen(MSG) };
	struct index_append ap = { .src = &src };
	struct index_uid_range all = { 1, UINT32_MAX };
	struct index_copy_result res;
	struct index_error err;
	struct quota_usage usage;
	uint32_t uv, uid;
	uint32_t *uids;
	size_t n;

	/* room for exactly two messages */
	f->a.quota_bytes = 2 * strlen(MSG);
	index_set_limits(f->ix, &f->a, 0);
	append(f, inbox, 0);
	append(f, inbox, 0);
	assert_int_equal(index_append(f->ix, inbox, &ap, &uv, &uid, &err), -1);
	assert_string_equal(err.reason, "store.over-quota");
	assert_int_equal(uid, 0);
	assert_int_equal(status(f, "INBOX", INDEX_SYNC_FORCE).messages, 2);
	assert_int_equal(files(f->root, "new") + files(f->root, "cur"), 2);
	assert_int_equal(quota_usage(f->dir, &f->a, &usage), 0);
	assert_int_equal(usage.bytes, 2 * strlen(MSG));
	assert_int_equal(usage.messages, 2);

	/* COPY checks too; MOVE adds nothing and is allowed */
	assert_int_equal(index_copy(f->ix, inbox, &all, 1, archive, false, &res, &err), -1);
	assert_string_equal(err.reason, "store.over-quota");
	assert_int_equal(files(f->root, ".Archive/cur"), 0);
	assert_int_equal(index_copy(f->ix, inbox, &all, 1, archive, true, &res, &err), 0);
	assert_int_equal(res.count, 2);
	index_copy_result_clear(&res);

	/* a message larger than the whole quota can never fit */
	char *big = xmalloc(3 * strlen(MSG) + 1);
	memset(big, 'x', 3 * strlen(MSG));
	big[3 * strlen(MSG)] = '\0';
	struct maildir_source big_src = { .fd = -1, .data = big, .size = strlen(big) };
	ap.src = &big_src;
	assert_int_equal(index_append(f->ix, inbox, &ap, &uv, &uid, &err), -1);
	assert_string_equal(err.reason, "store.too-big");
	free(big);

	/* expunging gives the room back */
	struct index_store del = { .mode = INDEX_STORE_ADD, .flags = INDEX_FLAG_DELETED };
	struct index_store_result sres;
	assert_int_equal(index_store_flags(f->ix, archive, &all, 1, &del, &sres, &err), 0);
	index_store_result_clear(&sres);
	assert_int_equal(index_expunge(f->ix, archive, NULL, 0, &uids, &n, &err), 0);
	assert_int_equal(n, 2);
	free(uids);
	assert_int_equal(quota_usage(f->dir, &f->a, &usage), 0);
	assert_int_equal(usage.messages, 0);
	ap.src = &src;
	assert_int_equal(index_append(f->ix, inbox, &ap, &uv, &uid, &err), 0);

	/* the message count limit */
	f->a.quota_bytes = 0;
	f->a.max_messages = 1;
	index_set_limits(f->ix, &f->a, 0);
	assert_int_equal(index_append(f->ix, inbox, &ap, &uv, &uid, &err), -1);
	assert_string_equal(err.reason, "store.over-messages");
}

/* ---- persistence and rebuild ---- */

static void test_reopen_keeps_uids(void **state)
{
	struct fixture *f = *state;
	int64_t inbox = mbox(f, "INBOX");
	struct index_status st;
	char keywords[KEYWORDS_BUF];

	append_flags(f->ix, inbox, MSG, INDEX_FLAG_ANSWERED, "Kw", 0);
	append(f, inbox, 0);
	append(f, inbox, 0);
	st = status(f, "INBOX", 0);
	index_close(&f->ix);
	f->ix = open_index(f);
	struct index_status again = status(f, "INBOX", INDEX_SYNC_READ_WRITE | INDEX_SYNC_FORCE);
	assert_int_equal(again.uidvalidity, st.uidvalidity);
	assert_int_equal(again.uidnext, st.uidnext);
	assert_int_equal(again.highestmodseq, st.highestmodseq);
	assert_int_equal(again.messages, 3);
	assert_int_equal(flags_of(f->ix, inbox, 1, keywords, NULL), INDEX_FLAG_ANSWERED);
	assert_string_equal(keywords, "Kw");
}

static void rebuild_check(struct fixture *f, uint32_t old_uidvalidity)
{
	struct index_status st = status(f, "INBOX", 0);
	int64_t inbox = mbox(f, "INBOX");

	/* same messages, same flags (from the names), in the same order;
	 * a new UIDVALIDITY, never one used before */
	assert_true(st.uidvalidity > old_uidvalidity);
	assert_int_equal(st.messages, 3);
	assert_int_equal(flags_of(f->ix, inbox, 1, NULL, NULL), INDEX_FLAG_SEEN | INDEX_FLAG_FLAGGED);
	assert_int_equal(flags_of(f->ix, inbox, 2, NULL, NULL), 0);
	assert_int_equal(flags_of(f->ix, inbox, 3, NULL, NULL), INDEX_FLAG_DELETED);
	assert_int_equal(status(f, "Work", 0).messages, 1);
	assert_int_equal(flags_of(f->ix, mbox(f, "Work"), 1, NULL, NULL), INDEX_FLAG_DRAFT);
}

static void test_rebuild(void **state)
{
	struct fixture *f = *state;
	int64_t inbox = mbox(f, "INBOX");
	struct index_error err;
	struct index_mailbox_info *list;
	size_t n;
	uint32_t uv;
	char *db = xasprintf("%s/%s", f->root, INDEX_FILE_NAME);

	assert_int_equal(index_mailbox_create(f->ix, "Work", NULL, &err), 0);
	assert_int_equal(index_mailbox_subscribe(f->ix, "Work", true, &err), 0);
	append_flags(f->ix, inbox, MSG, INDEX_FLAG_SEEN | INDEX_FLAG_FLAGGED, NULL, 1000);
	append_flags(f->ix, inbox, MSG, 0, NULL, 2000);
	append_flags(f->ix, inbox, MSG, INDEX_FLAG_DELETED, NULL, 3000);
	append_flags(f->ix, mbox(f, "Work"), MSG, INDEX_FLAG_DRAFT, NULL, 0);
	uv = status(f, "INBOX", 0).uidvalidity;

	/* the database is lost */
	index_close(&f->ix);
	assert_int_equal(unlink(db), 0);
	f->ix = open_index(f);
	rebuild_check(f, uv);
	check_counts(f->ix, mbox(f, "INBOX"));
	/* INTERNALDATE came back from the files' mtimes */
	struct index_iter *it;
	struct index_message m;
	assert_int_equal(index_iter_init(f->ix, mbox(f, "INBOX"), NULL, 0, false, &it), 0);
	assert_int_equal(index_iter_next(it, &m), 1);
	assert_int_equal(m.internaldate, 1000);
	index_iter_deinit(&it);
	/* subscriptions came back from their mirror */
	assert_int_equal(index_mailbox_list(f->ix, &list, &n, &err), 0);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].name, "Work") == 0)
			assert_true(list[i].subscribed);
	}
	index_mailbox_list_free(&list, n);
	uv = status(f, "INBOX", 0).uidvalidity;

	/* the database is garbage */
	index_close(&f->ix);
	char junk[8192];
	memset(junk, 'J', sizeof(junk));
	assert_int_equal(file_write_durable(db, junk, sizeof(junk), 0600), 0);
	f->ix = open_index(f);
	rebuild_check(f, uv);
	uv = status(f, "INBOX", 0).uidvalidity;

	/* a session met corruption and left the marker */
	index_close(&f->ix);
	char *marker = xasprintf("%s/postino-index.corrupt", f->root);
	assert_int_equal(file_write_durable(marker, "", 0, 0600), 0);
	f->ix = open_index(f);
	assert_int_equal(access(marker, F_OK), -1);
	rebuild_check(f, uv);
	free(marker);
	free(db);
}

/* ---- cache ---- */

static void test_cache(void **state)
{
	struct fixture *f = *state;
	int64_t inbox = mbox(f, "INBOX");
	static const char mime[] =
		"From: Anna <anna@example.com>\r\n"
		"To: bob@example.com\r\n"
		"Subject: parts\r\n"
		"Message-ID: <1@example.com>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=XX\r\n"
		"\r\n"
		"--XX\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"\r\n"
		"hello\r\n"
		"--XX\r\n"
		"Content-Type: application/pdf; name=a.pdf\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"\r\n"
		"AAAA\r\n"
		"--XX--\r\n";
	struct index_cache c1, c2;
	struct index_iter *it;
	struct index_message m;
	uint32_t uid = append_flags(f->ix, inbox, mime, 0, NULL, 0);

	assert_int_equal(index_message_cache(f->ix, inbox, uid, &c1), 1);
	assert_non_null(strstr(c1.envelope, "\"parts\""));
	assert_non_null(strstr(c1.envelope, "\"<1@example.com>\""));
	assert_non_null(strstr(c1.bodystructure, "\"mixed\""));
	assert_non_null(strstr(c1.bodystructure, "\"pdf\""));
	assert_non_null(strstr(c1.body, "\"mixed\""));
	assert_true(strlen(c1.body) < strlen(c1.bodystructure));
	/* cached: iteration has the strings without reading the file */
	assert_int_equal(index_iter_init(f->ix, inbox, NULL, 0, false, &it), 0);
	assert_int_equal(index_iter_next(it, &m), 1);
	assert_non_null(m.envelope);
	assert_string_equal(m.bodystructure, c1.bodystructure);
	index_iter_deinit(&it);
	assert_int_equal(index_message_cache(f->ix, inbox, uid, &c2), 1);
	assert_string_equal(c1.envelope, c2.envelope);
	index_cache_clear(&c1);
	index_cache_clear(&c2);
	assert_int_equal(index_message_cache(f->ix, inbox, 77, &c1), 0);
}

/* ---- two handles, two threads ---- */

static void test_two_handles(void **state)
{
	struct fixture *f = *state;
	struct index *other = open_index(f);
	int64_t inbox = mbox(f, "INBOX");
	struct index_uid_range r1 = { 1, 1 };
	struct index_store seen = { .mode = INDEX_STORE_ADD, .flags = INDEX_FLAG_SEEN };
	struct index_store_result res;
	struct index_changes ch;
	struct index_error err;
	uint64_t hms;

	append(f, inbox, 0);
	hms = status(f, "INBOX", 0).highestmodseq;
	/* the other session sees the new mail and then a flag change */
	assert_int_equal(append_flags(other, inbox, MSG, 0, NULL, 0), 2);
	assert_int_equal(index_store_flags(other, inbox, &r1, 1, &seen, &res, &err), 0);
	index_store_result_clear(&res);
	assert_int_equal(index_mailbox_sync(f->ix, inbox, 0, &err), 0);
	assert_int_equal(index_changes_since(f->ix, inbox, hms, &ch, &err), 0);
	assert_int_equal(ch.changed_count, 2);
	assert_int_equal(ch.changed[0].uid, 1);
	assert_int_equal(ch.changed[0].flags, INDEX_FLAG_SEEN);
	assert_int_equal(ch.changed[1].uid, 2);
	index_changes_clear(&ch);
	/* a mailbox created by one handle is listed by the other */
	assert_int_equal(index_mailbox_create(other, "Shared", NULL, &err), 0);
	int64_t id;
	assert_int_equal(index_mailbox_find(f->ix, "Shared", &id), 1);
	index_close(&other);
}

struct thread_arg {
	struct fixture *f;
	int64_t mailbox;
	uint32_t uids[THREAD_APPENDS];
};

static void *appender(void *p)
{
	struct thread_arg *arg = p;
	struct index *ix = open_index(arg->f);

	for (int i = 0; i < THREAD_APPENDS; i++)
		arg->uids[i] = append_flags(ix, arg->mailbox, MSG, 0, NULL, 0);
	index_close(&ix);
	return NULL;
}

static void test_threads(void **state)
{
	struct fixture *f = *state;
	struct thread_arg args[THREADS];
	pthread_t threads[THREADS];
	bool seen[THREADS * THREAD_APPENDS + 1] = { false };

	for (int i = 0; i < THREADS; i++) {
		args[i].f = f;
		args[i].mailbox = mbox(f, "INBOX");
		assert_int_equal(pthread_create(&threads[i], NULL, appender, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	/* every UID handed out exactly once, 1..N, each thread's in order */
	for (int i = 0; i < THREADS; i++) {
		for (int j = 0; j < THREAD_APPENDS; j++) {
			uint32_t uid = args[i].uids[j];
			assert_true(uid >= 1 && uid <= THREADS * THREAD_APPENDS);
			assert_false(seen[uid]);
			seen[uid] = true;
			if (j > 0)
				assert_true(uid > args[i].uids[j - 1]);
		}
	}
	assert_int_equal(status(f, "INBOX", INDEX_SYNC_FORCE).messages, THREADS * THREAD_APPENDS);
	check_counts(f->ix, mbox(f, "INBOX"));
	assert_int_equal(files(f->root, "cur"), THREADS * THREAD_APPENDS);
}

static void *opener(void *p)
{
	struct fixture *f = p;
	struct index *ix = open_index(f);

	index_close(&ix);
	return NULL;
}

static void test_concurrent_first_open(void **state)
{
	struct fixture *f = *state;
	pthread_t threads[THREADS];
	struct index_mailbox_info *list;
	struct index_error err;
	size_t n;

	/* a new account: every session of its first minute races to create
	 * the database, the folders and the defaults */
	index_close(&f->ix);
	test_rmtree(f->root);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, opener, f), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	f->ix = open_index(f);
	assert_int_equal(index_mailbox_list(f->ix, &list, &n, &err), 0);
	assert_int_equal(n, 6);
	index_mailbox_list_free(&list, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flag_names),
		cmocka_unit_test_setup_teardown(test_open_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iterate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunge_vanished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscriptions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_inbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_uids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_first_open, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
