/* SPDX-License-Identifier: ISC */
/*
 * test-imap-util.c - the pure helpers of the IMAP server: RFC 3501
 * date-time and date parsing and formatting (INTERNALDATE, APPEND,
 * SEARCH), LIST wildcards (including patterns that would make a
 * backtracking matcher explode), the sequence view (UID <-> sequence
 * number, removal) and flag lists.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "store/index.h"
#include "imap/imap-private.h"

#include <setjmp.h>
#include <cmocka.h>

static void test_datetime_parse(void **state)
{
	int64_t t;

	assert_int_equal(imap_datetime_parse("17-Jul-1996 02:44:25 -0700", &t), 0);
	assert_int_equal(t, 837596665); /* 1996-07-17T09:44:25Z */
	assert_int_equal(imap_datetime_parse(" 7-Jul-1996 02:44:25 +0000", &t), 0);
	assert_int_equal(t, 836707465);
	assert_int_equal(imap_datetime_parse("7-jul-1996 02:44:25 +0100", &t), 0);
	assert_int_equal(t, 836707465 - 3600);
	assert_int_equal(imap_datetime_parse("01-Jan-1970 00:00:00 +0000", &t), 0);
	assert_int_equal(t, 0);

	static const char *const bad[] = {
		"", "17-Jul-1996", "17-Jul-1996 02:44:25", "17-Jux-1996 02:44:25 -0700",
		"32-Jul-1996 02:44:25 -0700", "17-Jul-96 02:44:25 -0700", "17-Jul-1996 24:00:00 +0000",
		"17-Jul-1996 02:60:25 -0700", "17-Jul-1996 02:44:25 0700", "17-Jul-1996 02:44:25 -07",
		"17-Jul-1996 02:44:25 -0700 ", "17-Jul-1996  2:44:25 -0700", "0-Jul-1996 02:44:25 +0000",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		assert_int_equal(imap_datetime_parse(bad[i], &t), -1);
}

static void test_datetime_format(void **state)
{
	char s[IMAP_DATETIME_MAX];
	int64_t t;

	imap_datetime_format(837596665, s);
	assert_string_equal(s, "17-Jul-1996 09:44:25 +0000");
	imap_datetime_format(0, s);
	assert_string_equal(s, "01-Jan-1970 00:00:00 +0000");
	/* what we write, we read back */
	for (int64_t x = 0; x < 4000000000LL; x += 123456789) {
		imap_datetime_format(x, s);
		assert_int_equal(imap_datetime_parse(s, &t), 0);
		assert_int_equal(t, x);
	}
}

static void test_date_parse(void **state)
{
	int64_t t;

	assert_int_equal(imap_date_parse("1-Feb-1994", &t), 0);
	assert_int_equal(t, 760060800);
	assert_int_equal(imap_date_parse("01-feb-1994", &t), 0);
	assert_int_equal(t, 760060800);
	assert_int_equal(imap_date_parse(" 1-Feb-1994", &t), -1);
	assert_int_equal(imap_date_parse("1-Feb-1994 00:00:00 +0000", &t), -1);
	assert_int_equal(imap_date_parse("Feb-1-1994", &t), -1);
}

static void test_match(void **state)
{
	struct {
		const char *pattern, *name;
		bool match;
	} cases[] = {
		{ "*", "INBOX", true },          { "*", "a/b/c", true },
		{ "%", "a/b", false },           { "%", "a", true },
		{ "a/%", "a/b", true },          { "a/%", "a/b/c", false },
		{ "a/*", "a/b/c", true },        { "a*", "a", true },
		{ "inbox", "INBOX", true },      { "Inbox/%", "INBOX/x", true },
		{ "inbox", "inbox2", false },    { "x", "X", false },
		{ "%/%", "a/b", true },          { "*b", "a/b", true },
		{ "", "", true },                { "", "a", false },
		{ "a%c", "abc", true },          { "a%c", "a/c", false },
		{ "Entw\xc3\xbc*", "Entw\xc3\xbcrfe", true },
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		if (imap_mailbox_match(cases[i].pattern, cases[i].name) != cases[i].match)
			fail_msg("%s ~ %s", cases[i].pattern, cases[i].name);
	}
	/* a pattern that makes a backtracking matcher take forever */
	char pattern[2048], name[1024];
	size_t n = 0;
	for (int i = 0; i < 500; i++) {
		pattern[n++] = '*';
		pattern[n++] = 'a';
	}
	pattern[n++] = 'b';
	pattern[n] = '\0';
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_false(imap_mailbox_match(pattern, name));
}

static void test_view(void **state)
{
	struct imap_mailbox sel;

	memset(&sel, 0, sizeof(sel));
	for (uint32_t uid = 10; uid <= 100; uid += 10)
		imap_view_append(&sel, uid);
	assert_int_equal(sel.count, 10);
	assert_int_equal(imap_view_seq(&sel, 10), 1);
	assert_int_equal(imap_view_seq(&sel, 100), 10);
	assert_int_equal(imap_view_seq(&sel, 55), 0);
	/* EXPUNGE numbering: removing shifts the later ones down */
	assert_int_equal(imap_view_remove(&sel, 30), 3);
	assert_int_equal(imap_view_remove(&sel, 40), 3);
	assert_int_equal(imap_view_remove(&sel, 40), 0);
	assert_int_equal(imap_view_seq(&sel, 50), 3);
	assert_int_equal(sel.count, 8);
	free(sel.uids);
}

static void test_flags_write(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(imap_flags_write(&b, 0, ""), 0);
	assert_string_equal(b.data, "()");
	buf_reset(&b);
	assert_int_equal(imap_flags_write(&b, INDEX_FLAG_SEEN | INDEX_FLAG_DRAFT, "$Work x"), 0);
	assert_string_equal(b.data, "(\\Seen \\Draft $Work x)");
	buf_reset(&b);
	assert_int_equal(imap_flags_write(&b, INDEX_FLAGS_ALL, NULL), 0);
	assert_string_equal(b.data, "(\\Seen \\Answered \\Flagged \\Deleted \\Draft)");
	buf_release(&b);
}

static void check_decode(const char *cte, const char *in, const char *want, size_t want_len)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(imap_cte_decode(cte, in, strlen(in), &b), 0);
	assert_int_equal(b.len, want_len);
	if (want_len > 0)
		assert_memory_equal(b.data, want, want_len);
	buf_release(&b);
}

static void test_cte_decode(void **state)
{
	struct buf b;

	check_decode(NULL, "as is\r\n", "as is\r\n", 7);
	check_decode("7BIT", "x", "x", 1);
	check_decode("base64", "aGVs\r\nbG8=\r\n", "hello", 5);
	check_decode("base64", "AAEC/w==", "\x00\x01\x02\xff", 4);
	check_decode("base64", "  aGVsbG8  !!\r\n", "hello", 5);
	check_decode("Quoted-Printable", "caf=C3=A9=\r\nau lait", "caf\xc3\xa9" "au lait", 12);
	check_decode("quoted-printable", "soft=  \nbreak", "softbreak", 9);
	check_decode("quoted-printable", "bad =ZZ and =", "bad =ZZ and =", 13);
	check_decode("quoted-printable", "a=3d=3Db", "a==b", 4);
	buf_init(&b, 0);
	assert_int_equal(imap_cte_decode("x-uuencode", "begin", 5, &b), -1);
	buf_release(&b);
}

static void check_astring_utf8(const char *in, const char *want)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(imap_astring_write_utf8(&b, in), 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	buf_release(&b);
}

/* UTF-8 names for UTF8=ACCEPT and IMAP4rev2 clients: quoted, escaped */
static void test_astring_utf8(void **state)
{
	check_astring_utf8("\xc3\xa9t\xc3\xa9", "\"\xc3\xa9t\xc3\xa9\"");
	check_astring_utf8("a\"b\\c", "\"a\\\"b\\\\c\"");
	check_astring_utf8("", "\"\"");
	check_astring_utf8("bad\xff", "{4}\r\nbad\xff");
	check_astring_utf8("two\nlines", "{9}\r\ntwo\nlines");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_datetime_parse), cmocka_unit_test(test_datetime_format),
		cmocka_unit_test(test_date_parse),     cmocka_unit_test(test_match),
		cmocka_unit_test(test_view),           cmocka_unit_test(test_flags_write),
		cmocka_unit_test(test_cte_decode),     cmocka_unit_test(test_astring_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
