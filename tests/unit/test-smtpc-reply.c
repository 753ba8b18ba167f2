/* SPDX-License-Identifier: ISC */
/*
 * test-smtpc-reply.c - the SMTP client's reply parser (one-line and
 * multi-line replies, enhanced status codes, malformed and mismatched
 * lines, bounds) and its body encoder (CR LF, dot-stuffing, checked
 * against the server's own DATA decoder, fed whole and byte by byte).
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "mail/dot.h"
#include "smtpc/smtpc-private.h"

#include <setjmp.h>
#include <cmocka.h>

/* feed - every line of a reply ("\n"-separated); the last return value. */
static int feed(struct smtpc_reply_parser *p, const char *text)
{
	const char *s = text;
	int ret = 0;

	smtpc_reply_parser_init(p);
	do { /* "" is one empty line */
		size_t len = strcspn(s, "\n");
		ret = smtpc_reply_parser_feed(p, s, len);
		if (ret == 1 && s[len] != '\0' && s[len + 1] != '\0')
			return 99; /* ended before the last line */
		if (ret != 0)
			return ret;
		s += len + (s[len] == '\n');
	} while (*s != '\0');
	return ret;
}

static void test_one_line(void **state)
{
	struct smtpc_reply_parser p;

	assert_int_equal(feed(&p, "250 OK"), 1);
	assert_int_equal(p.reply.code, 250);
	assert_string_equal(p.reply.enhanced, "");
	assert_string_equal(p.reply.text, "OK");
	assert_string_equal(p.reply.reason, "smtpc.ok");

	assert_int_equal(feed(&p, "550 5.1.1 <x@example.org>: Recipient address rejected"), 1);
	assert_int_equal(p.reply.code, 550);
	assert_string_equal(p.reply.enhanced, "5.1.1");
	assert_string_equal(p.reply.text, "<x@example.org>: Recipient address rejected");
	assert_string_equal(p.reply.reason, "smtpc.refused-5xx");

	/* a bare code is a complete reply (RFC 5321 4.2: textstring optional) */
	assert_int_equal(feed(&p, "354"), 1);
	assert_int_equal(p.reply.code, 354);
	assert_string_equal(p.reply.text, "");

	assert_int_equal(feed(&p, "451 4.7.1 Greylisted, try again"), 1);
	assert_string_equal(p.reply.reason, "smtpc.refused-4xx");
	assert_string_equal(p.reply.enhanced, "4.7.1");
}

static void test_multi_line(void **state)
{
	struct smtpc_reply_parser p;

	smtpc_reply_parser_init(&p);
	assert_int_equal(smtpc_reply_parser_feed(&p, "250-mx.example.org", 18), 0);
	assert_int_equal(smtpc_reply_parser_feed(&p, "250-PIPELINING", 14), 0);
	assert_int_equal(smtpc_reply_parser_feed(&p, "250 SIZE 1000", 13), 1);
	assert_int_equal(p.reply.code, 250);
	assert_int_equal(p.lines, 3);
	assert_string_equal(p.reply.text, "mx.example.org; PIPELINING; SIZE 1000");

	/* the enhanced code on every line is kept once */
	assert_int_equal(feed(&p, "452-4.5.3 Too many\n452 4.5.3 recipients"), 1);
	assert_string_equal(p.reply.enhanced, "4.5.3");
	assert_string_equal(p.reply.text, "Too many; recipients");

	/* "250-" with nothing after it, then the last line */
	assert_int_equal(feed(&p, "250-\n250 done"), 1);
	assert_string_equal(p.reply.text, "done");
}

static void test_enhanced_code_forms(void **state)
{
	struct smtpc_reply_parser p;

	/* class must match the reply's class */
	assert_int_equal(feed(&p, "550 4.1.1 odd"), 1);
	assert_string_equal(p.reply.enhanced, "");
	assert_string_equal(p.reply.text, "4.1.1 odd");
	/* three digits at most per part */
	assert_int_equal(feed(&p, "550 5.1234.1 x"), 1);
	assert_string_equal(p.reply.enhanced, "");
	assert_int_equal(feed(&p, "550 5.123.456 x"), 1);
	assert_string_equal(p.reply.enhanced, "5.123.456");
	/* must be followed by a space or the end */
	assert_int_equal(feed(&p, "250 2.0.0"), 1);
	assert_string_equal(p.reply.enhanced, "2.0.0");
	assert_int_equal(feed(&p, "250 2.0.0ok"), 1);
	assert_string_equal(p.reply.enhanced, "");
	assert_int_equal(feed(&p, "250 2.0"), 1);
	assert_string_equal(p.reply.enhanced, "");
	/* a version number is not one */
	assert_int_equal(feed(&p, "220 mx ESMTP 2.5.1"), 1);
	assert_string_equal(p.reply.enhanced, "");
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"", "25", "2500 x", "250x", "abc def", "150 x", "650 x", "260 x", "25a x",
		"250_x", " 250 x",
	};
	struct smtpc_reply_parser p;

	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		assert_int_equal(feed(&p, bad[i]), -1);
		assert_int_equal(p.reply.code, 0);
		assert_string_equal(p.reply.reason, "smtpc.protocol");
		assert_true(p.reply.text[0] != '\0');
	}
	/* a malformed line in the middle of a reply */
	assert_int_equal(feed(&p, "250-a\n25\n250 b"), -1);
}

static void test_mismatched_codes(void **state)
{
	struct smtpc_reply_parser p;

	assert_int_equal(feed(&p, "250-first\n251 second"), -1);
	assert_int_equal(p.reply.code, 0);
	assert_non_null(strstr(p.reply.text, "different codes"));
}

static void test_bounds(void **state)
{
	struct smtpc_reply_parser p;
	char line[SMTPC_REPLY_LINE_MAX + 2];
	unsigned i;

	/* lines: SMTPC_REPLY_LINES_MAX are fine, one more is not */
	smtpc_reply_parser_init(&p);
	for (i = 0; i + 1 < SMTPC_REPLY_LINES_MAX; i++)
		assert_int_equal(smtpc_reply_parser_feed(&p, "250-x", 5), 0);
	assert_int_equal(smtpc_reply_parser_feed(&p, "250 x", 5), 1);
	smtpc_reply_parser_init(&p);
	for (i = 0; i < SMTPC_REPLY_LINES_MAX; i++)
		assert_int_equal(smtpc_reply_parser_feed(&p, "250-x", 5), 0);
	assert_int_equal(smtpc_reply_parser_feed(&p, "250 x", 5), -1);
	assert_non_null(strstr(p.reply.text, "too many"));

	/* line length: the maximum passes and the text is truncated, NUL-ended */
	memset(line, 'a', sizeof(line));
	memcpy(line, "250 ", 4);
	smtpc_reply_parser_init(&p);
	assert_int_equal(smtpc_reply_parser_feed(&p, line, SMTPC_REPLY_LINE_MAX), 1);
	assert_int_equal(strlen(p.reply.text), sizeof(p.reply.text) - 1);
	smtpc_reply_parser_init(&p);
	assert_int_equal(smtpc_reply_parser_feed(&p, line, SMTPC_REPLY_LINE_MAX + 1), -1);

	/* control and 8-bit octets never reach logs */
	smtpc_reply_parser_init(&p);
	static const char ctl[] = "550 a\tb\x1b[0m\xc3\xa9\0z";
	assert_int_equal(smtpc_reply_parser_feed(&p, ctl, sizeof(ctl) - 1), 1);
	assert_string_equal(p.reply.text, "a?b?[0m???z");
}

/* ---- the body encoder ---- */

static char *encode(const char *in, size_t len, size_t step, size_t *out_len_r)
{
	struct smtpc_dot_encoder e;
	char *out = xmalloc(2 * len + 16), *tmp = xmalloc(2 * step + 16);
	size_t o = 0, i = 0;

	smtpc_dot_encoder_init(&e);
	do {
		size_t n = len - i < step ? len - i : step;
		size_t w = smtpc_dot_encode(&e, in + i, n, tmp, i + n == len);
		memcpy(out + o, tmp, w);
		o += w;
		i += n;
	} while (i < len);
	free(tmp);
	out[o] = '\0';
	*out_len_r = o;
	return out;
}

static void check_encode(const char *in, const char *want)
{
	size_t len = strlen(in), out_len;

	for (size_t step = 1; step <= len + 1; step++) {
		char *out = encode(in, len, step, &out_len);
		assert_string_equal(out, want);
		free(out);
	}
}

static void test_encoder(void **state)
{
	check_encode("", ".\r\n");
	check_encode("a", "a\r\n.\r\n");
	check_encode("a\n", "a\r\n.\r\n");
	check_encode("a\r\n", "a\r\n.\r\n");
	check_encode("a\nb", "a\r\nb\r\n.\r\n");
	check_encode(".\n..x\n.", "..\r\n...x\r\n..\r\n.\r\n");
	check_encode("x.\n.y\r\n", "x.\r\n..y\r\n.\r\n");
	/* a bare CR is a line end too: no smuggled "\r.\r" */
	check_encode("a\r.\rb", "a\r\n..\r\nb\r\n.\r\n");
	check_encode("a\r", "a\r\n.\r\n");
	check_encode("\n\n", "\r\n\r\n.\r\n");
	check_encode("a\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
}

/* test_encoder_roundtrip - the server's decoder undoes what we send. */
static void test_encoder_roundtrip(void **state)
{
	static const char *const msgs[] = {
		"Subject: x\r\n\r\n.\r\n..\r\n. \r\nend",
		"LF only\n.\n..\nlast line without end",
		"\r\n.\r\n",
	};
	for (size_t m = 0; m < N_ELEMENTS(msgs); m++) {
		size_t len = strlen(msgs[m]), out_len, dec_len, used;
		char *out = encode(msgs[m], len, 3, &out_len), *dec = xmalloc(out_len + 1);
		struct dot_decoder d;

		dot_decoder_init(&d);
		assert_int_equal(dot_decode(&d, out, out_len, dec, &dec_len, &used), 1);
		assert_int_equal(used, out_len);
		assert_int_equal(d.flags & DOT_ERRORS, 0);
		/* the decoded message is the input with CR LF line ends and a final CR LF */
		char *want = xmalloc(2 * len + 3);
		size_t w = 0;
		for (size_t i = 0; i < len; i++) {
			if (msgs[m][i] == '\n' && (i == 0 || msgs[m][i - 1] != '\r'))
				want[w++] = '\r';
			want[w++] = msgs[m][i];
		}
		if (w < 2 || want[w - 1] != '\n') {
			want[w++] = '\r';
			want[w++] = '\n';
		}
		assert_int_equal(dec_len, w);
		assert_memory_equal(dec, want, w);
		free(want);
		free(dec);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_line),
		cmocka_unit_test(test_multi_line),
		cmocka_unit_test(test_enhanced_code_forms),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_mismatched_codes),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_encoder),
		cmocka_unit_test(test_encoder_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
