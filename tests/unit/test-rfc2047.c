/* SPDX-License-Identifier: ISC */
/* test-rfc2047.c - encoded-words and charsets: B and Q, joining adjacent
 * words, malformed words left alone, charset aliases and guesses,
 * stateful encodings, and the always-valid-UTF-8 guarantee. */
#include "lib/lib.h"
#include "lib/mem.h"
#include "mail/rfc2047.h"

#include <setjmp.h>
#include <cmocka.h>

struct decode_case {
	const char *in, *out;
};

static const struct decode_case decode_cases[] = {
	{ "", "" },
	{ "plain text", "plain text" },
	{ "=?UTF-8?B?w6k=?=", "\xc3\xa9" },
	{ "=?UTF-8?B?w6k?=", "\xc3\xa9" }, /* padding left out */
	{ "=?UTF-8?B?w6kx?=", "\xc3\xa9" "1" },
	{ "=?UTF-8?B?w?=", "=?UTF-8?B?w?=" },
	{ "=?utf-8?q?caf=C3=A9_au_lait?=", "caf\xc3\xa9 au lait" },
	{ "=?utf-8?Q?caf=c3=a9?=", "caf\xc3\xa9" },
	/* RFC 2047 6.2: space between adjacent words goes, around text stays */
	{ "=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab" },
	{ "=?ISO-8859-1?Q?a?=\r\n =?ISO-8859-1?Q?b?=", "ab" },
	{ "Re: =?utf-8?q?x?=  y", "Re: x  y" },
	{ "a =?utf-8?q?x?= b", "a x b" },
	/* a character split across two words (RFC 2047 5 forbids it) */
	{ "=?utf-8?B?4oI=?= =?utf-8?B?rA==?=", "\xe2\x82\xac" },
	{ "=?utf-8?q?=E2=82?= =?UTF-8?q?=AC?=", "\xe2\x82\xac" },
	/* different charsets side by side */
	{ "=?iso-8859-1?q?=E9?= =?utf-8?q?=C3=A9?=", "\xc3\xa9\xc3\xa9" },
	/* Latin-1 labels mean Windows-1252 */
	{ "=?iso-8859-1?q?=80_=93x=94?=", "\xe2\x82\xac \xe2\x80\x9cx\xe2\x80\x9d" },
	/* unknown charsets: UTF-8 if it is, Windows-1252 otherwise */
	{ "=?x-foo?q?caf=C3=A9?=", "caf\xc3\xa9" },
	{ "=?x-foo?q?caf=E9?=", "caf\xc3\xa9" },
	{ "=?iso-2022-cn-ext?q?=41?=", "A" },
	{ "=?utf-8//TRANSLIT?q?x?=", "x" },
	/* iconv: CJK, and a stateful encoding */
	{ "=?ISO-2022-JP?B?GyRCJEskWyRzGyhC?=", "\xe3\x81\xab\xe3\x81\xbb\xe3\x82\x93" },
	{ "=?gb2312?B?1tDOxA==?=", "\xe4\xb8\xad\xe6\x96\x87" },
	{ "=?ks_c_5601-1987?B?x9Gx2w==?=", "\xed\x95\x9c\xea\xb8\x80" },
	{ "=?KOI8-R?B?8NLJ18XU?=", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
	/* RFC 2231 5: a language after the charset */
	{ "=?utf-8*en?q?hi?=", "hi" },
	/* glued to other text: decoded anyway, as clients do */
	{ "foo=?utf-8?q?bar?=baz", "foobarbaz" },
	/* malformed: left as written */
	{ "=?utf-8?x?abc?=", "=?utf-8?x?abc?=" },
	{ "=?utf-8?b?!!!?=", "=?utf-8?b?!!!?=" },
	{ "=?utf-8?b?QUJD?==", "ABC=" },
	{ "=?utf-8?q?unterminated", "=?utf-8?q?unterminated" },
	{ "=??q?a?=", "=??q?a?=" },
	{ "=?utf-8?q?a", "=?utf-8?q?a" },
	{ "=?", "=?" },
	{ "a=?=b", "a=?=b" },
	/* stray '=' in Q text is kept */
	{ "=?utf-8?q?1=2?=", "1=2" },
	/* no CR, LF or NUL may come out; invalid UTF-8 becomes U+FFFD */
	{ "=?utf-8?q?a=0Db=0Ac=00d?=", "a b c d" },
	{ "=?utf-8?q?a=FFb?=", "a\xef\xbf\xbd" "b" },
	{ "line\r\n folded", "line folded" },
	/* raw 8-bit text: UTF-8 kept, anything else read as Windows-1252 */
	{ "Gr\xc3\xbc\xc3\x9f" "e", "Gr\xc3\xbc\xc3\x9f" "e" },
	{ "Gr\xfc\xdf" "e", "Gr\xc3\xbc\xc3\x9f" "e" },
};

static void test_decode(void **state)
{
	struct pool *pool = pool_new(1024);

	for (size_t i = 0; i < N_ELEMENTS(decode_cases); i++) {
		const char *in = decode_cases[i].in;
		const char *out = rfc2047_decode(pool, in, strlen(in));
		if (strcmp(out, decode_cases[i].out) != 0)
			fail_msg("decode(\"%s\") = \"%s\", want \"%s\"", in, out, decode_cases[i].out);
		assert_true(rfc2047_utf8_valid(out, strlen(out)));
	}
	pool_free(&pool);
}

static void test_charset_to_utf8(void **state)
{
	struct pool *pool = pool_new(1024);

	assert_string_equal(rfc2047_charset_to_utf8(pool, "windows-1252", "\x93x\x94", 3),
			    "\xe2\x80\x9cx\xe2\x80\x9d");
	assert_string_equal(rfc2047_charset_to_utf8(pool, NULL, "abc", 3), "abc");
	assert_string_equal(rfc2047_charset_to_utf8(pool, "UTF-16LE", "a\0b\0", 4), "ab");
	/* a truncated sequence at the end is marked, not dropped silently */
	assert_string_equal(rfc2047_charset_to_utf8(pool, "UTF-16LE", "a\0b", 3), "a\xef\xbf\xbd");
	assert_string_equal(rfc2047_charset_to_utf8(pool, "bogus//TRANSLIT", "\xe9", 1), "\xc3\xa9");
	assert_string_equal(rfc2047_charset_to_utf8(pool, "", "x", 1), "x");
	assert_string_equal(rfc2047_charset_to_utf8(pool, "us-ascii", "\xc3\xa9", 2), "\xc3\xa9");
	assert_string_equal(rfc2047_charset_to_utf8(pool, "utf-8", "a\0b", 3), "a b");
	pool_free(&pool);
}

static void test_utf8_valid(void **state)
{
	assert_true(rfc2047_utf8_valid("", 0));
	assert_true(rfc2047_utf8_valid("\xf0\x9f\x98\x80", 4));
	assert_false(rfc2047_utf8_valid("\xc0\xaf", 2));         /* overlong */
	assert_false(rfc2047_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(rfc2047_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(rfc2047_utf8_valid("\xe2\x82", 2));         /* truncated */
	assert_false(rfc2047_utf8_valid("\x80", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_charset_to_utf8),
		cmocka_unit_test(test_utf8_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
