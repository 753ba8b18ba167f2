/* SPDX-License-Identifier: ISC */
/*
 * test-mailbox-name.c - the name <-> Maildir++ folder mapping: Dovecot's
 * spellings, escapes, refusals, the exact length limit, and that the
 * reverse mapping accepts nothing but images of valid names.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "mail/mailbox-name.h"

#include <setjmp.h>
#include <cmocka.h>

struct pair {
	const char *name, *storage;
};

static const struct pair pairs[] = {
	{ "INBOX", "INBOX" },
	{ "INBOX/Sub", "INBOX.Sub" },
	{ "Sent", "Sent" },
	{ "Sent Items", "Sent Items" },
	{ "Archive/2024", "Archive.2024" },
	{ "Archive/2024/Q1", "Archive.2024.Q1" },
	{ "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
	{ "a&b", "a&-b" },
	{ "x/inbox", "x.inbox" },
	{ "INBOXX", "INBOXX" },
	/* Dovecot listescape: '.', '\' and a leading '~' as \NN */
	{ "a.b", "a\\2eb" },
	{ "v1.2/notes", "v1\\2e2.notes" },
	{ "...a", "\\2e\\2e\\2ea" },
	{ "a\\b", "a\\5cb" },
	{ "\\2e", "\\5c2e" },
	{ "~x", "\\7ex" },
	{ "~", "\\7e" },
	{ "a~", "a~" },
	{ "a/~b", "a.~b" },
	{ "[Gmail]/Sent Mail", "[Gmail].Sent Mail" },
	{ "100% *", "100% *" },
};

static void test_pairs(void **state)
{
	for (size_t i = 0; i < N_ELEMENTS(pairs); i++) {
		const char *error = NULL;
		char *s = NULL;
		assert_int_equal(mailbox_name_to_storage(pairs[i].name, &s, &error), 0);
		assert_string_equal(s, pairs[i].storage);
		free(s);
		assert_int_equal(mailbox_name_validate(pairs[i].name, &error), 0);
		if (mailbox_name_is_inbox(pairs[i].storage))
			continue; /* the root is no ".INBOX" folder */
		assert_int_equal(mailbox_name_from_storage(pairs[i].storage, &s, &error), 0);
		assert_string_equal(s, pairs[i].name);
		free(s);
	}
}

static void test_inbox(void **state)
{
	const char *error;
	char *s;

	assert_true(mailbox_name_is_inbox("inbox"));
	assert_true(mailbox_name_is_inbox("InBoX"));
	assert_false(mailbox_name_is_inbox("INBOX/a"));
	assert_int_equal(mailbox_name_to_storage("inbox", &s, &error), 0);
	assert_string_equal(s, "INBOX");
	free(s);
	assert_int_equal(mailbox_name_to_storage("Inbox/Drafts", &s, &error), 0);
	assert_string_equal(s, "INBOX.Drafts");
	free(s);
	/* a ".INBOX" folder would shadow nothing but be reachable by nothing */
	assert_int_equal(mailbox_name_from_storage("INBOX", &s, &error), -1);
	assert_int_equal(mailbox_name_from_storage("inbox", &s, &error), -1);
	/* the one spelling of INBOX's children is "INBOX." */
	assert_int_equal(mailbox_name_from_storage("Inbox.foo", &s, &error), -1);
	assert_string_equal(error, "Folder name is not in canonical form");
}

struct bad {
	const char *name, *error;
};

static const struct bad bad_names[] = {
	{ "", "Empty mailbox name" },
	{ "/a", "Empty hierarchy level in mailbox name" },
	{ "a/", "Empty hierarchy level in mailbox name" },
	{ "a//b", "Empty hierarchy level in mailbox name" },
	{ "/", "Empty hierarchy level in mailbox name" },
	{ "..", "'.' and '..' are not allowed in mailbox names" },
	{ ".", "'.' and '..' are not allowed in mailbox names" },
	{ "a/../b", "'.' and '..' are not allowed in mailbox names" },
	{ "a/./b", "'.' and '..' are not allowed in mailbox names" },
	{ "../../etc/passwd", "'.' and '..' are not allowed in mailbox names" },
	{ "a\x01" "b", "Control character in mailbox name" },
	{ "a\tb", "Control character in mailbox name" },
	{ "a\nb", "Control character in mailbox name" },
	{ "a\x7f", "Control character in mailbox name" },
	{ "a\xc2\x85", "Control character in mailbox name" }, /* C1 NEL */
	{ "a\xc3", "Mailbox name is not valid UTF-8" },
	{ "\xc0\xae\xc0\xae", "Mailbox name is not valid UTF-8" }, /* overlong ".." */
	{ "\xed\xa0\x80", "Mailbox name is not valid UTF-8" },
};

static void test_bad(void **state)
{
	for (size_t i = 0; i < N_ELEMENTS(bad_names); i++) {
		const char *error = NULL;
		char *s = NULL;
		assert_int_equal(mailbox_name_to_storage(bad_names[i].name, &s, &error), -1);
		assert_null(s);
		assert_string_equal(error, bad_names[i].error);
		assert_int_equal(mailbox_name_validate(bad_names[i].name, &error), -1);
	}
}

static char *repeat(const char *unit, size_t n)
{
	size_t len = strlen(unit);
	char *s = xmalloc(len * n + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * len, unit, len);
	s[len * n] = '\0';
	return s;
}

static void test_length(void **state)
{
	const char *error;
	char *s, *name;

	name = repeat("a", MAILBOX_STORAGE_NAME_MAX);
	assert_int_equal(mailbox_name_to_storage(name, &s, &error), 0);
	free(s);
	free(name);
	name = repeat("a", MAILBOX_STORAGE_NAME_MAX + 1);
	assert_int_equal(mailbox_name_to_storage(name, &s, &error), -1);
	assert_string_equal(error, "Mailbox name too long");
	free(name);
	/* escapes and encodings count as they land on disk */
	name = repeat(".", MAILBOX_STORAGE_NAME_MAX / 3);  /* 84 * 3 = 252 */
	assert_int_equal(mailbox_name_to_storage(name, &s, &error), 0);
	assert_int_equal(strlen(s), 252);
	free(s);
	free(name);
	name = repeat(".", MAILBOX_STORAGE_NAME_MAX / 3 + 1);
	assert_int_equal(mailbox_name_to_storage(name, &s, &error), -1);
	free(name);
	/* 3 bytes of UTF-8 for ~2.7 of modified BASE64 */
	name = repeat("\xe6\x97\xa5", 100);
	assert_int_equal(mailbox_name_to_storage(name, &s, &error), -1);
	free(name);
	name = repeat("\xe6\x97\xa5", 90);
	assert_int_equal(mailbox_name_to_storage(name, &s, &error), 0);
	assert_true(strlen(s) <= MAILBOX_STORAGE_NAME_MAX);
	free(s);
	free(name);
}

/* Folder names on disk that no name maps to. */
static const char *const bad_storage[] = {
	"",
	".a",
	"a.",
	"a..b",
	"a\\2Eb",       /* upper-case hex: Dovecot writes lower */
	"a\\41b",       /* an escape we never write */
	"a\\2",         /* cut short */
	"a\\",
	"a\\zz",
	"~x",           /* a leading '~' is always escaped */
	"x\\7e",        /* ... and only a leading one */
	"a\\2fb",       /* '/' inside a level */
	"a\\00b",       /* NUL */
	"a\\09b",       /* control */
	"a&AGE-",       /* non-canonical modified UTF-7 */
	"a&",
	"caf\xc3\xa9",  /* raw 8-bit: not what we write */
	"a.\\2e",       /* a level "." */
	"\\2e\\2e",     /* a level ".." */
};

static void test_bad_storage(void **state)
{
	for (size_t i = 0; i < N_ELEMENTS(bad_storage); i++) {
		const char *error = NULL;
		char *s = NULL;
		if (mailbox_name_from_storage(bad_storage[i], &s, &error) == 0)
			print_error("accepted %s as %s\n", bad_storage[i], s);
		assert_null(s);
		assert_non_null(error);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_inbox),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_bad_storage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
