/* SPDX-License-Identifier: ISC */
/* test-dkim-canon.c - RFC 6376 3.4 canonicalisation: the 3.4.6 example
 * in both algorithms, relaxed header rules (3.4.2), relaxed and simple
 * body rules (3.4.3, 3.4.4: trailing blanks, empty lines at the end, a
 * body of one CRLF, no body), LF line ends taken as CRLF; every body
 * vector fed whole and 1..N bytes at a time. */
#include "lib/lib.h"
#include "lib/buf.h"
#include "dkim/dkim.h"

#include <setjmp.h>
#include <cmocka.h>

static void header_is(enum dkim_canon canon, const char *raw, const char *want)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(dkim_canon_header(canon, raw, strlen(raw), &b), 0);
	assert_string_equal(b.data, want);
	buf_release(&b);
}

static void sink_buf(void *ctx, const void *data, size_t len)
{
	assert_int_equal(buf_append(ctx, data, len), 0);
}

/* body_is - in fed in pieces of every size from 1 to its length, and
 * whole, always gives want. */
static void body_is(enum dkim_canon canon, const char *in, const char *want)
{
	size_t len = strlen(in);

	for (size_t step = 1; step <= len + 1; step++) {
		struct dkim_body *body = malloc(sizeof(*body));
		struct buf out;
		buf_init(&out, 0);
		dkim_body_init(body, canon, sink_buf, &out);
		for (size_t at = 0; at < len; at += step)
			dkim_body_feed(body, in + at, at + step <= len ? step : len - at);
		dkim_body_finish(body);
		if (out.len != strlen(want) || memcmp(out.data != NULL ? out.data : "", want, out.len) != 0)
			fail_msg("step %zu: got \"%s\" want \"%s\"", step, out.data != NULL ? out.data : "",
				 want);
		buf_release(&out);
		free(body);
	}
}

/* RFC 6376 3.4.6: the example, header then body */
static void test_rfc_example(void **state)
{
	(void)state;
	header_is(DKIM_CANON_RELAXED, "A: X\r\n", "a:X\r\n");
	header_is(DKIM_CANON_RELAXED, "B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n");
	header_is(DKIM_CANON_SIMPLE, "A: X\r\n", "A: X\r\n");
	header_is(DKIM_CANON_SIMPLE, "B : Y\t\r\n\tZ  \r\n", "B : Y\t\r\n\tZ  \r\n");
	body_is(DKIM_CANON_RELAXED, " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n");
	body_is(DKIM_CANON_SIMPLE, " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n");
}

/* RFC 6376 3.4.2: each rule on its own */
static void test_header_relaxed(void **state)
{
	(void)state;
	/* name lower-cased, value case kept */
	header_is(DKIM_CANON_RELAXED, "SuBjEcT: MiXeD\r\n", "subject:MiXeD\r\n");
	/* unfolded; every run of blanks one SP */
	header_is(DKIM_CANON_RELAXED, "Subject: a\r\n b \t c\r\n", "subject:a b c\r\n");
	/* blanks at the end and after the colon go, also before the colon */
	header_is(DKIM_CANON_RELAXED, "To \t:  \t x@y  \t\r\n", "to:x@y\r\n");
	/* a value that is only blanks, or nothing */
	header_is(DKIM_CANON_RELAXED, "X-Empty:   \r\n", "x-empty:\r\n");
	header_is(DKIM_CANON_RELAXED, "X-Empty:\r\n", "x-empty:\r\n");
	/* folding right after the colon */
	header_is(DKIM_CANON_RELAXED, "References:\r\n <a@b>\r\n <c@d>\r\n",
		  "references:<a@b> <c@d>\r\n");
	/* LF alone as the line end, or none at all */
	header_is(DKIM_CANON_RELAXED, "Subject: a\n\tb\n", "subject:a b\r\n");
	header_is(DKIM_CANON_RELAXED, "Subject: a", "subject:a\r\n");
	/* a colon inside the value is data */
	header_is(DKIM_CANON_RELAXED, "Subject: re: x", "subject:re: x\r\n");
	/* 8-bit octets are kept as they are */
	header_is(DKIM_CANON_RELAXED, "Subject: \xc3\xa9t\xc3\xa9\r\n", "subject:\xc3\xa9t\xc3\xa9\r\n");
}

static void test_header_simple(void **state)
{
	(void)state;
	header_is(DKIM_CANON_SIMPLE, "Subject: a\n b\n", "Subject: a\r\n b\r\n");
	header_is(DKIM_CANON_SIMPLE, "Subject:  a  ", "Subject:  a  \r\n");
}

/* RFC 6376 3.4.4 */
static void test_body_relaxed(void **state)
{
	(void)state;
	/* a: blanks at line ends go; b: runs inside a line become one SP,
	 * also at the start */
	body_is(DKIM_CANON_RELAXED, "a  \t\r\n\t\tb  c\r\n", "a\r\n b c\r\n");
	/* empty lines at the end go, those in the middle stay; a line of
	 * blanks only is an empty line */
	body_is(DKIM_CANON_RELAXED, "a\r\n\r\n \t\r\nb\r\n\r\n  \r\n\r\n", "a\r\n\r\n\r\nb\r\n");
	/* a body of only "\r\n", and no body at all, are empty */
	body_is(DKIM_CANON_RELAXED, "\r\n", "");
	body_is(DKIM_CANON_RELAXED, "\r\n\r\n \r\n", "");
	body_is(DKIM_CANON_RELAXED, "", "");
	/* c: a last line without its line end gets one */
	body_is(DKIM_CANON_RELAXED, "a\r\nb  ", "a\r\nb\r\n");
	/* LF alone is a line end; a CR not before LF is data */
	body_is(DKIM_CANON_RELAXED, "a \nb\n\n", "a\r\nb\r\n");
	body_is(DKIM_CANON_RELAXED, "a\rb\r\n", "a\rb\r\n");
	body_is(DKIM_CANON_RELAXED, "a\r", "a\r\r\n");
	/* a long body crosses the output buffer */
	char *big = malloc(3 * DKIM_BODY_OUT + 10);
	memset(big, 'x', 3 * DKIM_BODY_OUT);
	strcpy(big + 3 * DKIM_BODY_OUT, " \r\n\r\n");
	char *want = malloc(3 * DKIM_BODY_OUT + 10);
	memset(want, 'x', 3 * DKIM_BODY_OUT);
	strcpy(want + 3 * DKIM_BODY_OUT, "\r\n");
	struct dkim_body *body = malloc(sizeof(*body));
	struct buf out;
	buf_init(&out, 0);
	dkim_body_init(body, DKIM_CANON_RELAXED, sink_buf, &out);
	dkim_body_feed(body, big, strlen(big));
	dkim_body_finish(body);
	assert_string_equal(out.data, want);
	buf_release(&out);
	free(body);
	free(want);
	free(big);
}

/* RFC 6376 3.4.3 */
static void test_body_simple(void **state)
{
	(void)state;
	body_is(DKIM_CANON_SIMPLE, "a  \r\n\r\n\r\n", "a  \r\n");
	body_is(DKIM_CANON_SIMPLE, "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n");
	/* no body, or only empty lines: one CRLF */
	body_is(DKIM_CANON_SIMPLE, "", "\r\n");
	body_is(DKIM_CANON_SIMPLE, "\r\n", "\r\n");
	body_is(DKIM_CANON_SIMPLE, "\r\n\r\n", "\r\n");
	/* blank lines are not empty lines in simple */
	body_is(DKIM_CANON_SIMPLE, "a\r\n \r\n", "a\r\n \r\n");
	/* no final line end: one is added; LF alone counts as CRLF */
	body_is(DKIM_CANON_SIMPLE, "a\nb", "a\r\nb\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_example),
		cmocka_unit_test(test_header_relaxed),
		cmocka_unit_test(test_header_simple),
		cmocka_unit_test(test_body_relaxed),
		cmocka_unit_test(test_body_simple),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
