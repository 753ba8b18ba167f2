/* SPDX-License-Identifier: ISC */
/* test-fts.c - full-text SEARCH over a few hundred generated messages:
 * substring and case-insensitive matching (trigram), short terms (LIKE),
 * every field, RFC 2047 headers, quoted-printable and base64 bodies in
 * other charsets, HTML without its tags, attachments left out, attached
 * messages searched, lazy indexing of mail delivered from outside, rows
 * following EXPUNGE, COPY and MOVE, and the background indexer (worker
 * jobs from a real event loop) filling the index before any search. */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "core/loop.h"
#include "core/worker.h"
#include "directory/directory.h"
#include "store/fts-private.h"
#include "store/fts.h"
#include "store/index.h"
#include "store/maildir.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <unistd.h>
#include <event2/event.h>

#define MESSAGES 300
/* The first ones are APPENDed (indexed at once), the rest dropped into
 * new/ from outside (indexed by the first search). */
#define APPENDED 40

struct fixture {
	char *dir;
	struct account a;
	struct index *ix;
	int64_t inbox, archive;
	char *subjects[MESSAGES]; /* decoded, as a reader sees them */
};

/* ---- the corpus ---- */

static char *subject_of(unsigned i)
{
	if (i % 50 == 0)
		return xasprintf("Gr\xc3\xbc\xc3\x9f" "e aus M\xc3\xbcnchen %u", i);
	return xasprintf("Report number %u", i);
}

static char *subject_field(unsigned i)
{
	/* RFC 2047 Q in ISO-8859-1 */
	if (i % 50 == 0)
		return xasprintf("=?iso-8859-1?q?Gr=FC=DFe_aus_M=FCnchen_%u?=", i);
	return xasprintf("Report number %u", i);
}

static char *b64(const char *s)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(s), o = 0;
	char *out = xmalloc(len * 4 / 3 + 8);

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)(unsigned char)s[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char)s[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* message - one of four shapes, each with its own token "token%04ux". */
static char *message(unsigned i)
{
	char *subject = subject_field(i), *msg, *body, *enc;

	switch (i % 4) {
	case 0:
		body = xasprintf("Content-Type: text/plain\r\n\r\n"
				 "The quick brown fox says \"hi\" token%04ux\r\n", i);
		break;
	case 1:
		body = xasprintf("Content-Type: text/plain; charset=iso-8859-1\r\n"
				 "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
				 "Caf=E9 cr=E8me for every=\r\none, token%04ux\r\n", i);
		break;
	case 2: {
		char *text = xasprintf("Hallo Welt token%04ux, sch\xc3\xb6n", i);
		enc = b64(text);
		body = xasprintf("Content-Type: multipart/alternative; boundary=b%u\r\n\r\n"
				 "--b%u\r\nContent-Type: text/plain; charset=utf-8\r\n"
				 "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
				 "--b%u\r\nContent-Type: text/html\r\n\r\n"
				 "<html><head><style>p { color: red }</style></head>"
				 "<p>Hello <b>wor</b>ld &amp; moon</p><script>var hidden;</script>\r\n"
				 "--b%u--\r\n", i, i, enc, i, i);
		free(text);
		free(enc);
		break;
	}
	default:
		enc = b64("secretword inside a binary attachment");
		body = xasprintf("Content-Type: multipart/mixed; boundary=m%u\r\n\r\n"
				 "--m%u\r\nContent-Type: text/plain\r\n\r\nsee attached token%04ux\r\n"
				 "--m%u\r\nContent-Type: application/octet-stream\r\n"
				 "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
				 "--m%u\r\nContent-Type: message/rfc822\r\n\r\n"
				 "From: inner@example.org\r\nSubject: forwarded thing\r\n\r\n"
				 "inner body text\r\n"
				 "--m%u--\r\n", i, i, i, i, enc, i, i);
		free(enc);
		break;
	}
	msg = xasprintf("From: Sender %u <user%u@example.com>\r\n"
			"To: anna@example.com\r\n"
			"Cc: team%u@example.net\r\n"
			"Subject: %s\r\n"
			"X-Mailer: generator\r\n"
			"MIME-Version: 1.0\r\n%s",
			i, i, i % 7, subject, body);
	free(subject);
	free(body);
	return msg;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct index_settings set = { .data_dir = f->dir };
	struct index_error err;
	char *root;

	f->dir = test_tmpdir();
	f->a.local = xstrdup("anna");
	f->a.domain = xstrdup("example.com");
	f->a.address = xstrdup("anna@example.com");
	set.data_dir = f->dir;
	set.account = &f->a;
	if (index_open(&set, &f->ix, &err) < 0)
		fail_msg("index_open: %s", err.text);
	assert_int_equal(index_mailbox_find(f->ix, "INBOX", &f->inbox), 1);
	assert_int_equal(index_mailbox_find(f->ix, "Archive", &f->archive), 1);
	root = maildir_account_path(f->dir, &f->a);
	for (unsigned i = 0; i < MESSAGES; i++) {
		char *msg = message(i);
		struct maildir_source src = { .fd = -1, .data = msg, .size = strlen(msg) };
		f->subjects[i] = subject_of(i);
		if (i < APPENDED) {
			struct index_append ap = { .src = &src };
			uint32_t uv, uid;
			if (index_append(f->ix, f->inbox, &ap, &uv, &uid, &err) < 0)
				fail_msg("append: %s", err.text);
			assert_int_equal(uid, i + 1);
		} else {
			/* dropped into new/ by another tool (plain writes: an
			 * fsync per file would make this test slow, not better) */
			char *path = xasprintf("%s/new/1700000000.M%uP1.gen", root, i);
			FILE *fp = fopen(path, "w");
			assert_non_null(fp);
			assert_int_equal(fwrite(msg, 1, strlen(msg), fp), strlen(msg));
			assert_int_equal(fclose(fp), 0);
			free(path);
		}
		free(msg);
	}
	free(root);
	/* the outside deliveries get their UIDs in delivery order */
	assert_int_equal(index_mailbox_sync(f->ix, f->inbox, INDEX_SYNC_READ_WRITE, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	index_close(&f->ix);
	test_rmtree(f->dir);
	free(f->dir);
	account_clear(&f->a);
	for (unsigned i = 0; i < MESSAGES; i++)
		free(f->subjects[i]);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static size_t search(struct fixture *f, int64_t mbox, enum fts_field field, const char *term,
		     uint32_t **uids_r)
{
	uint32_t *uids;
	size_t n;

	assert_int_equal(fts_search(f->ix, mbox, field, term, &uids, &n), 0);
	for (size_t i = 1; i < n; i++)
		assert_true(uids[i] > uids[i - 1]);
	if (uids_r != NULL)
		*uids_r = uids;
	else
		free(uids);
	return n;
}

static size_t count(struct fixture *f, enum fts_field field, const char *term)
{
	return search(f, f->inbox, field, term, NULL);
}

/* ---- tests ---- */

static void test_tokens(void **state)
{
	struct fixture *f = *state;
	uint32_t *uids;
	unsigned done;

	/* the first search indexed the outside deliveries */
	assert_int_equal(search(f, f->inbox, FTS_FIELD_BODY, "token0042x", &uids), 1);
	assert_int_equal(uids[0], 43);
	free(uids);
	assert_int_equal(fts_update(f->ix, f->inbox, 0, &done), 0);
	assert_int_equal(done, 0);
	assert_int_equal(search(f, f->inbox, FTS_FIELD_BODY, "token0242x", &uids), 1);
	assert_int_equal(uids[0], 243);
	free(uids);
	/* case-insensitive substrings, in every body shape */
	assert_int_equal(count(f, FTS_FIELD_BODY, "TOKEN0042X"), 1);
	assert_int_equal(count(f, FTS_FIELD_BODY, "oken004"), 10);
	assert_int_equal(count(f, FTS_FIELD_BODY, "token00"), 100);
	assert_int_equal(count(f, FTS_FIELD_TEXT, "token02"), 100);
	assert_int_equal(count(f, FTS_FIELD_BODY, "no such text"), 0);
	/* an empty term matches everything (RFC 9051 SEARCH) */
	assert_int_equal(count(f, FTS_FIELD_BODY, ""), MESSAGES);
}

static void test_decoding(void **state)
{
	struct fixture *f = *state;

	/* quoted-printable ISO-8859-1, soft line break joined */
	assert_int_equal(count(f, FTS_FIELD_BODY, "caf\xc3\xa9 cr\xc3\xa8me"), MESSAGES / 4);
	assert_int_equal(count(f, FTS_FIELD_BODY, "CAF\xc3\x89"), MESSAGES / 4);
	assert_int_equal(count(f, FTS_FIELD_BODY, "everyone"), MESSAGES / 4);
	/* base64 UTF-8 */
	assert_int_equal(count(f, FTS_FIELD_BODY, "sch\xc3\xb6n"), MESSAGES / 4);
	/* HTML: tags gone, entities decoded, style and script dropped */
	assert_int_equal(count(f, FTS_FIELD_BODY, "hello world & moon"), MESSAGES / 4);
	assert_int_equal(count(f, FTS_FIELD_BODY, "color: red"), 0);
	assert_int_equal(count(f, FTS_FIELD_BODY, "hidden"), 0);
	assert_int_equal(count(f, FTS_FIELD_BODY, "<b>"), 0);
	/* binary attachments are not text; attached messages are */
	assert_int_equal(count(f, FTS_FIELD_BODY, "secretword"), 0);
	assert_int_equal(count(f, FTS_FIELD_BODY, "forwarded thing"), MESSAGES / 4);
	assert_int_equal(count(f, FTS_FIELD_BODY, "inner body text"), MESSAGES / 4);
	/* quotes in a term are text, not FTS5 syntax */
	assert_int_equal(count(f, FTS_FIELD_BODY, "says \"hi\""), MESSAGES / 4);
	assert_int_equal(count(f, FTS_FIELD_BODY, "\" OR \""), 0);
}

static void test_headers(void **state)
{
	struct fixture *f = *state;
	size_t expect = 0;

	for (unsigned i = 0; i < MESSAGES; i++)
		expect += strstr(f->subjects[i], "number 1") != NULL;
	assert_int_equal(count(f, FTS_FIELD_SUBJECT, "NUMBER 1"), expect);
	/* RFC 2047 in ISO-8859-1, found in UTF-8 and in another case */
	assert_int_equal(count(f, FTS_FIELD_SUBJECT, "M\xc3\xbcnchen"), MESSAGES / 50);
	assert_int_equal(count(f, FTS_FIELD_SUBJECT, "M\xc3\x9cNCHEN"), MESSAGES / 50);
	assert_int_equal(count(f, FTS_FIELD_FROM, "user7@"), 1);
	assert_int_equal(count(f, FTS_FIELD_FROM, "sender 12"), 11); /* 12, 120-129 */
	assert_int_equal(count(f, FTS_FIELD_TO, "anna@example.com"), MESSAGES);
	assert_int_equal(count(f, FTS_FIELD_CC, "team3@"), (MESSAGES + 3) / 7);
	assert_int_equal(count(f, FTS_FIELD_BCC, "anna"), 0);
	/* a field only in the header text, and the subject via TEXT */
	assert_int_equal(count(f, FTS_FIELD_HEADERS, "x-mailer: generator"), MESSAGES);
	assert_int_equal(count(f, FTS_FIELD_TEXT, "generator"), MESSAGES);
	assert_int_equal(count(f, FTS_FIELD_TEXT, "report number 299"), 1);
	/* fields do not leak into each other */
	assert_int_equal(count(f, FTS_FIELD_SUBJECT, "token0042x"), 0);
	assert_int_equal(count(f, FTS_FIELD_BODY, "report number"), 0);
}

static void test_short_terms(void **state)
{
	struct fixture *f = *state;
	size_t expect = 0;

	/* fewer than three characters: no trigram, LIKE instead */
	for (unsigned i = 0; i < MESSAGES; i++)
		expect += strstr(f->subjects[i], "99") != NULL;
	assert_int_equal(count(f, FTS_FIELD_SUBJECT, "99"), expect);
	assert_int_equal(count(f, FTS_FIELD_SUBJECT, "\xc3\xbc"), MESSAGES / 50);
	assert_int_equal(count(f, FTS_FIELD_BODY, "%"), 0);
	assert_int_equal(count(f, FTS_FIELD_BODY, "_"), 0);
	assert_int_equal(count(f, FTS_FIELD_FROM, "R"), MESSAGES); /* ASCII case folded */
	assert_int_equal(count(f, FTS_FIELD_SUBJECT, "rE"), MESSAGES - MESSAGES / 50);
}

static void test_follows_messages(void **state)
{
	struct fixture *f = *state;
	struct index_uid_range r43 = { 43, 43 }, r44 = { 44, 44 }, r45 = { 45, 45 };
	struct index_store del = { .mode = INDEX_STORE_ADD, .flags = INDEX_FLAG_DELETED };
	struct index_store_result sres;
	struct index_copy_result cres;
	struct index_error err;
	uint32_t *uids;
	size_t n;

	/* expunged: no longer found */
	assert_int_equal(index_store_flags(f->ix, f->inbox, &r43, 1, &del, &sres, &err), 0);
	index_store_result_clear(&sres);
	assert_int_equal(index_expunge(f->ix, f->inbox, NULL, 0, &uids, &n, &err), 0);
	free(uids);
	assert_int_equal(count(f, FTS_FIELD_BODY, "token0042x"), 0);
	/* copied: found in both mailboxes */
	assert_int_equal(index_copy(f->ix, f->inbox, &r44, 1, f->archive, false, &cres, &err), 0);
	index_copy_result_clear(&cres);
	assert_int_equal(count(f, FTS_FIELD_BODY, "token0043x"), 1);
	assert_int_equal(search(f, f->archive, FTS_FIELD_BODY, "token0043x", &uids), 1);
	assert_int_equal(uids[0], 1);
	free(uids);
	/* moved: found only where it went, under its new UID */
	assert_int_equal(index_copy(f->ix, f->inbox, &r45, 1, f->archive, true, &cres, &err), 0);
	index_copy_result_clear(&cres);
	assert_int_equal(count(f, FTS_FIELD_BODY, "token0044x"), 0);
	assert_int_equal(search(f, f->archive, FTS_FIELD_BODY, "token0044x", &uids), 1);
	assert_int_equal(uids[0], 2);
	free(uids);
	/* a deleted mailbox takes its rows along */
	assert_int_equal(index_mailbox_delete(f->ix, "Archive", &err), 0);
	assert_int_equal(count(f, FTS_FIELD_BODY, "token0043x"), 1);
}

static void test_bad_requests(void **state)
{
	struct fixture *f = *state;
	char *long_term = xmalloc(FTS_TERM_MAX + 2);
	uint32_t *uids;
	size_t n;

	memset(long_term, 'a', FTS_TERM_MAX + 1);
	long_term[FTS_TERM_MAX + 1] = '\0';
	assert_int_equal(fts_search(f->ix, f->inbox, FTS_FIELD_BODY, long_term, &uids, &n), -1);
	free(long_term);
	assert_int_equal(fts_search(f->ix, f->inbox, (enum fts_field)99, "x", &uids, &n), -1);
	assert_int_equal(fts_search(f->ix, 12345, FTS_FIELD_BODY, "token", &uids, &n), 0);
	assert_int_equal(n, 0);
}

/* ---- the background indexer ---- */

/* fts_rows - full-text rows of the account, read through a connection of
 * the test's own (as another process would). */
static unsigned fts_rows(const char *root)
{
	char *path = xasprintf("%s/%s", root, INDEX_FILE_NAME);
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
	unsigned n;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM fts", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = (unsigned)sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	return n;
}

static void drop_files(const char *root, unsigned first, unsigned count)
{
	for (unsigned i = first; i < first + count; i++) {
		char *msg = message(i);
		char *path = xasprintf("%s/new/1700000000.M%uP2.bg", root, i);
		FILE *fp = fopen(path, "w");
		assert_non_null(fp);
		assert_int_equal(fwrite(msg, 1, strlen(msg), fp), strlen(msg));
		assert_int_equal(fclose(fp), 0);
		free(path);
		free(msg);
	}
}

/* run_until_idle - dispatch the loop until the indexer has nothing left
 * (worker completions and its wake-up are events of this loop). */
static void run_until_idle(void)
{
	uint64_t deadline = time_monotonic_ms() + 60 * 1000;

	while (fts_bg_busy() > 0 || worker_pending() > 0) {
		assert_true(time_monotonic_ms() < deadline);
		event_base_loop(loop_base(), EVLOOP_ONCE);
	}
}

static void sync_inbox(struct index *ix, int64_t inbox)
{
	struct index_error err;

	if (index_mailbox_sync(ix, inbox, INDEX_SYNC_READ_WRITE, &err) < 0)
		fail_msg("sync: %s", err.text);
}

static void test_background(void **state)
{
	struct account a = { .local = xstrdup("bea"), .domain = xstrdup("example.com"),
			     .address = xstrdup("bea@example.com") };
	char *dir = test_tmpdir(), *root, *error = NULL;
	struct index_settings set = { .data_dir = dir, .account = &a };
	struct index *ix = NULL, *ix2 = NULL;
	struct index_error err;
	int64_t inbox;
	unsigned n, done;
	uint32_t *uids;
	size_t count;

	if (index_open(&set, &ix, &err) < 0)
		fail_msg("index_open: %s", err.text);
	assert_int_equal(index_mailbox_find(ix, "INBOX", &inbox), 1);
	root = maildir_account_path(dir, &a);

	/* without an event loop there is no background: a sync parses its
	 * slice and asks for nothing */
	assert_false(fts_bg_request(ix, inbox));
	drop_files(root, 0, 200);
	sync_inbox(ix, inbox);
	n = fts_rows(root);
	assert_true(n >= 1 && n <= 32);
	assert_int_equal(fts_bg_busy(), 0);

	/* the daemon: a loop and a worker. A new session's handle finds the
	 * backlog at its first sync and hands it to the background */
	assert_int_equal(loop_init(NULL, &error), 0);
	assert_int_equal(worker_pool_start(loop_base(), 1, &error), 0);
	if (index_open(&set, &ix2, &err) < 0)
		fail_msg("index_open: %s", err.text);
	sync_inbox(ix2, inbox);
	assert_int_equal(fts_bg_busy(), 1);
	assert_int_equal(fts_rows(root), n); /* the job runs from the loop */
	run_until_idle();
	assert_int_equal(fts_rows(root), 200);

	/* a flood arriving later: a slice now, the rest in the background,
	 * and asking twice for one mailbox queues it once */
	drop_files(root, 200, 100);
	sync_inbox(ix2, inbox);
	n = fts_rows(root);
	assert_true(n > 200 && n <= 232);
	assert_true(fts_bg_request(ix, inbox));
	assert_int_equal(fts_bg_busy(), 1);
	/* held by an indexing SEARCH: no slice starts meanwhile */
	fts_bg_hold();
	for (unsigned i = 0; i < 5; i++)
		event_base_loop(loop_base(), EVLOOP_NONBLOCK);
	usleep(50 * 1000);
	event_base_loop(loop_base(), EVLOOP_NONBLOCK);
	assert_int_equal(fts_rows(root), n);
	assert_int_equal(fts_bg_busy(), 1);
	fts_bg_release();
	run_until_idle();
	assert_int_equal(fts_rows(root), 300);
	/* nothing left for the search to do, and its answer is complete */
	assert_int_equal(fts_update(ix, inbox, 0, &done), 0);
	assert_int_equal(done, 0);
	assert_int_equal(fts_search(ix, inbox, FTS_FIELD_BODY, "token0123x", &uids, &count), 0);
	assert_int_equal(count, 1);
	free(uids);
	assert_int_equal(fts_search(ix, inbox, FTS_FIELD_BODY, "token02", &uids, &count), 0);
	assert_int_equal(count, 100);
	free(uids);

	assert_int_equal(worker_pool_stop(5000), 0);
	loop_deinit();
	index_close(&ix);
	index_close(&ix2);
	test_rmtree(dir);
	free(dir);
	free(root);
	account_clear(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* test_tokens first: it checks the lazy indexing */
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_decoding),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_short_terms),
		cmocka_unit_test(test_bad_requests),
		/* last: it changes the corpus */
		cmocka_unit_test(test_follows_messages),
	};

	const struct CMUnitTest bg_tests[] = {
		cmocka_unit_test(test_background),
	};

	/* one corpus for all: building it costs an fsync per APPEND */
	return cmocka_run_group_tests(tests, setup, teardown) |
	       cmocka_run_group_tests(bg_tests, NULL, NULL);
}
