/* SPDX-License-Identifier: ISC */
/*
 * test-utf7.c - modified UTF-7 (RFC 3501 5.1.3): known encodings (checked
 * against Python's UTF-16 + BASE64), every non-canonical spelling refused,
 * invalid UTF-8 refused, round trips both ways, and output limits.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "mail/utf7.h"

#include <setjmp.h>
#include <cmocka.h>

struct pair {
	const char *utf8, *mutf7;
};

static const struct pair pairs[] = {
	{ "", "" },
	{ "INBOX", "INBOX" },
	{ "&", "&-" },
	{ "a&b&&", "a&-b&-&-" },
	{ "Sent Items", "Sent Items" },
	{ "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
	/* RFC 3501 section 5.1.3's example */
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "\xc3\xa9", "&AOk-" },
	{ "\xc3\xa9\xc3\xa9", "&AOkA6Q-" },
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },        /* U+1F600: a surrogate pair */
	{ "a\xf0\x9f\x98\x80" "b\xf0\x9f\x98\x80\xf0\x9f\x98\x80", "a&2D3eAA-b&2D3eANg93gA-" },
	{ "\xf4\x8f\xbf\xbf", "&2,,f,w-" },         /* U+10FFFF */
	{ "\xef\xbf\xbf", "&,,8-" },                /* U+FFFF */
	{ "\xc2\x80", "&AIA-" },
	{ "\t", "&AAk-" },                          /* controls are encoded */
	{ "\x7f", "&AH8-" },
	{ "\xc3\xa9-", "&AOk--" },
	{ "\xc3\xa9&", "&AOk-&-" },
	{ "\xc3\xa9" "a\xc3\xa9", "&AOk-a&AOk-" },
	{ "\xce\x95\xce\xbb\xce\xbb\xce\xb7\xce\xbd\xce\xb9\xce\xba\xce\xac", "&A5UDuwO7A7cDvQO5A7oDrA-" },
};

struct bad {
	const char *in;
	size_t len;
	const char *error;
};

#define B(lit) lit, sizeof(lit) - 1

static const struct bad bad_mutf7[] = {
	{ B("&"), "Modified BASE64 not terminated by '-'" },
	{ B("a&AOk"), "Modified BASE64 not terminated by '-'" },
	{ B("&AOk-&AOk-"), "Two adjacent modified BASE64 runs" },
	{ B("&AGE-"), "Printable ASCII encoded in modified BASE64" },  /* 'a' */
	{ B("&ACY-"), "Printable ASCII encoded in modified BASE64" },  /* '&' itself */
	{ B("&AOk=-"), "Invalid character in modified BASE64" },
	{ B("&AO/-"), "Invalid character in modified BASE64" },        /* '/' is plain BASE64's */
	{ B("&AOkA-"), "Bad padding in modified BASE64" },             /* a spare character */
	{ B("&AO-"), "Bad padding in modified BASE64" },               /* 12 bits */
	{ B("&AOl-"), "Bad padding in modified BASE64" },              /* non-zero pad bits */
	{ B("&2D0-"), "Unpaired UTF-16 surrogate in modified UTF-7" }, /* high alone */
	{ B("&3gA-"), "Unpaired UTF-16 surrogate in modified UTF-7" }, /* low alone */
	{ B("&2D3YPQ-"), "Unpaired UTF-16 surrogate in modified UTF-7" }, /* high, high */
	{ B("&AAA-"), "NUL in mailbox name" },
	{ B("a\0b"), "NUL in mailbox name" },
	{ B("\xc3\xa9"), "8-bit or control character in modified UTF-7" },
	{ B("a\tb"), "8-bit or control character in modified UTF-7" },
	{ B("\x7f"), "8-bit or control character in modified UTF-7" },
};

static const struct bad bad_utf8[] = {
	{ B("\xc3"), "Mailbox name is not valid UTF-8" },
	{ B("a\xc3(b"), "Mailbox name is not valid UTF-8" },
	{ B("\xc0\xaf"), "Mailbox name is not valid UTF-8" },         /* overlong '/' */
	{ B("\xe0\x80\xaf"), "Mailbox name is not valid UTF-8" },     /* overlong */
	{ B("\xf0\x80\x80\xaf"), "Mailbox name is not valid UTF-8" }, /* overlong */
	{ B("\xed\xa0\x80"), "Mailbox name is not valid UTF-8" },     /* surrogate */
	{ B("\xf4\x90\x80\x80"), "Mailbox name is not valid UTF-8" }, /* > U+10FFFF */
	{ B("\xff"), "Mailbox name is not valid UTF-8" },
	{ B("\x80"), "Mailbox name is not valid UTF-8" },
	{ B("a\0b"), "NUL in mailbox name" },
};

static char *encode(const void *in, size_t len, int *ret_r, const char **error_r)
{
	struct buf out;
	buf_init(&out, 0);
	*ret_r = utf7_encode(in, len, &out, error_r);
	char *s = xstrndup(out.data != NULL ? out.data : "", out.len);
	buf_release(&out);
	return s;
}

static char *decode(const void *in, size_t len, int *ret_r, const char **error_r)
{
	struct buf out;
	buf_init(&out, 0);
	*ret_r = utf7_decode(in, len, &out, error_r);
	char *s = xstrndup(out.data != NULL ? out.data : "", out.len);
	buf_release(&out);
	return s;
}

static void test_pairs(void **state)
{
	for (size_t i = 0; i < N_ELEMENTS(pairs); i++) {
		const char *error = NULL;
		int ret;
		char *s = encode(pairs[i].utf8, strlen(pairs[i].utf8), &ret, &error);
		assert_int_equal(ret, 0);
		assert_string_equal(s, pairs[i].mutf7);
		free(s);
		s = decode(pairs[i].mutf7, strlen(pairs[i].mutf7), &ret, &error);
		assert_int_equal(ret, 0);
		assert_string_equal(s, pairs[i].utf8);
		free(s);
		assert_true(utf7_valid(pairs[i].mutf7, strlen(pairs[i].mutf7)));
	}
}

static void test_bad(void **state)
{
	for (size_t i = 0; i < N_ELEMENTS(bad_mutf7); i++) {
		const char *error = NULL;
		int ret;
		free(decode(bad_mutf7[i].in, bad_mutf7[i].len, &ret, &error));
		if (ret != -1)
			print_error("accepted: %s\n", bad_mutf7[i].in);
		assert_int_equal(ret, -1);
		assert_string_equal(error, bad_mutf7[i].error);
		assert_false(utf7_valid(bad_mutf7[i].in, bad_mutf7[i].len));
	}
	for (size_t i = 0; i < N_ELEMENTS(bad_utf8); i++) {
		const char *error = NULL;
		int ret;
		free(encode(bad_utf8[i].in, bad_utf8[i].len, &ret, &error));
		assert_int_equal(ret, -1);
		assert_string_equal(error, bad_utf8[i].error);
		if (strcmp(bad_utf8[i].error, "NUL in mailbox name") != 0)
			assert_false(utf8_valid(bad_utf8[i].in, bad_utf8[i].len));
	}
}

static void test_utf8_valid(void **state)
{
	assert_true(utf8_valid(NULL, 0));
	assert_true(utf8_valid("a\0b", 3));
	assert_true(utf8_valid("\xef\xbf\xbf\xf4\x8f\xbf\xbf\xc2\x80\xe0\xa0\x80\xf0\x90\x80\x80", 16));
	assert_false(utf8_valid("\xe0\xa0", 2));   /* truncated */
	assert_false(utf8_valid("\xf8\x88\x80\x80\x80", 5));
	assert_false(utf8_valid("\xc1\xbf", 2));
}

/* An output limit is an error, never a silently cut name. */
static void test_limits(void **state)
{
	const char *error;
	struct buf out;

	for (size_t max = 1; max < 12; max++) {
		buf_init(&out, max);
		assert_int_equal(utf7_encode("Entw\xc3\xbcrfe", 9, &out, &error), -1);
		assert_string_equal(error, "Mailbox name too long");
		buf_release(&out);
		buf_init(&out, max < 9 ? max : 8);
		assert_int_equal(utf7_decode("Entw&APw-rfe&-", 14, &out, &error), -1);
		assert_string_equal(error, "Mailbox name too long");
		buf_release(&out);
	}
	buf_init(&out, 12);
	assert_int_equal(utf7_encode("Entw\xc3\xbcrfe", 9, &out, &error), 0);
	buf_release(&out);
	buf_init(&out, 10);
	assert_int_equal(utf7_decode("Entw&APw-rfe&-", 14, &out, &error), 0);
	assert_int_equal(out.len, 10);
	buf_release(&out);
}

/* A deterministic pseudo-random UTF-8 string: ASCII, controls, '&',
 * 2/3/4-byte code points, runs of them. */
static size_t random_utf8(unsigned *seed, char *dst, size_t max)
{
	size_t len = 0;

	while (len + 4 <= max) {
		*seed = *seed * 1103515245u + 12345u;
		unsigned r = *seed >> 8;
		uint32_t cp;
		switch (r % 7) {
		case 0:
			cp = '&';
			break;
		case 1:
		case 2:
			cp = 0x20 + (r >> 3) % 0x5f;
			break;
		case 3:
			cp = 1 + (r >> 3) % 0x1f;
			break;
		case 4:
			cp = 0x80 + (r >> 3) % 0x780;
			break;
		case 5:
			cp = 0x800 + (r >> 3) % 0xf800;
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xe000;
			break;
		default:
			cp = 0x10000 + (r >> 3) % 0x100000;
			break;
		}
		if (cp < 0x80) {
			dst[len++] = (char)cp;
		} else if (cp < 0x800) {
			dst[len++] = (char)(0xc0 | (cp >> 6));
			dst[len++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			dst[len++] = (char)(0xe0 | (cp >> 12));
			dst[len++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			dst[len++] = (char)(0x80 | (cp & 0x3f));
		} else {
			dst[len++] = (char)(0xf0 | (cp >> 18));
			dst[len++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			dst[len++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			dst[len++] = (char)(0x80 | (cp & 0x3f));
		}
		if ((r >> 20) % 9 == 0)
			break;
	}
	return len;
}

static void test_round_trip(void **state)
{
	unsigned seed = 42;
	char in[64];

	for (int i = 0; i < 20000; i++) {
		const char *error;
		int ret;
		size_t len = random_utf8(&seed, in, sizeof(in));
		assert_true(utf8_valid(in, len));
		char *enc = encode(in, len, &ret, &error);
		assert_int_equal(ret, 0);
		for (const char *p = enc; *p != '\0'; p++)
			assert_true(*p >= 0x20 && *p <= 0x7e);
		char *dec = decode(enc, strlen(enc), &ret, &error);
		assert_int_equal(ret, 0);
		assert_int_equal(strlen(dec), len);
		assert_memory_equal(dec, in, len);
		free(dec);
		free(enc);
	}
}

/* Every 1..4 character string over a small alphabet that decodes must
 * re-encode to itself: no second spelling survives. */
static void test_canonical_exhaustive(void **state)
{
	static const char alpha[] = "&-AOkAOl2D3e,+a";
	const size_t n = sizeof(alpha) - 1;
	char s[8];
	unsigned accepted = 0;

	for (size_t len = 1; len <= 5; len++) {
		size_t total = 1;
		for (size_t k = 0; k < len; k++)
			total *= n;
		for (size_t idx = 0; idx < total; idx++) {
			size_t v = idx;
			for (size_t k = 0; k < len; k++) {
				s[k] = alpha[v % n];
				v /= n;
			}
			const char *error;
			int ret;
			char *dec = decode(s, len, &ret, &error);
			if (ret == 0) {
				char *again = encode(dec, strlen(dec), &ret, &error);
				assert_int_equal(ret, 0);
				assert_int_equal(strlen(again), len);
				assert_memory_equal(again, s, len);
				free(again);
				accepted++;
			}
			free(dec);
		}
	}
	assert_true(accepted > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_canonical_exhaustive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
