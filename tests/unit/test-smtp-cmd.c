/* SPDX-License-Identifier: ISC */
/* test-smtp-cmd.c - SMTP command lines: verb split, MAIL/RCPT with every
 * ESMTP parameter (good, bad, duplicate, unknown, not advertised), BDAT,
 * HELO/EHLO arguments, xtext, and the line-length constants. */
#include "lib/lib.h"
#include "lib/mem.h"
#include "mail/smtp-cmd.h"

#include <setjmp.h>
#include <cmocka.h>

#define ALL_EXT                                                                           \
	(SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_BINARYMIME | SMTP_EXT_SMTPUTF8 |    \
	 SMTP_EXT_DSN | SMTP_EXT_AUTH)

static struct pool *pool;

static int setup(void **state)
{
	pool = pool_new(0);
	return 0;
}

static int teardown(void **state)
{
	pool_free(&pool);
	return 0;
}

static char *repeat(char c, size_t n)
{
	char *s = p_alloc(pool, n + 1);
	memset(s, c, n);
	return s;
}

/* ---- verb split ---- */

struct split_case {
	const char *line;
	size_t len; /* 0: strlen */
	const char *verb, *args; /* verb NULL: refused */
	unsigned code;
	const char *enhanced;
};

static const struct split_case split_cases[] = {
	{ "MAIL FROM:<a@b.c>", 0, "MAIL", "FROM:<a@b.c>", 0, NULL },
	{ "mail FROM:<a@b.c>", 0, "MAIL", "FROM:<a@b.c>", 0, NULL },
	{ "rCpT TO:<a@b.c>", 0, "RCPT", "TO:<a@b.c>", 0, NULL },
	{ "QUIT", 0, "QUIT", "", 0, NULL },
	{ "QUIT ", 0, "QUIT", "", 0, NULL },
	{ "DATA \t ", 0, "DATA", "", 0, NULL },
	{ "NOOP hello  world \t", 0, "NOOP", "hello  world", 0, NULL },
	{ "EHLO  x", 0, "EHLO", " x", 0, NULL }, /* the argument parser refuses it */
	{ "STARTTLS", 0, "STARTTLS", "", 0, NULL },
	{ "ABCDEFGHIJKL", 0, "ABCDEFGHIJKL", "", 0, NULL }, /* SMTP_CMD_VERB_MAX */
	{ "ABCDEFGHIJKLM", 0, NULL, NULL, 500, "5.5.1" },
	{ "", 0, NULL, NULL, 500, "5.5.2" },
	{ " MAIL", 0, NULL, NULL, 500, "5.5.2" },
	{ "MAIL\tFROM:<a@b.c>", 0, NULL, NULL, 500, "5.5.2" },
	{ "MA1L FROM:<a@b.c>", 0, NULL, NULL, 500, "5.5.2" },
	{ "M\xc3\xa9L", 0, NULL, NULL, 500, "5.5.2" },
	{ "HELO\r", 0, NULL, NULL, 500, "5.5.2" },
	{ "MAIL\0FROM", 9, NULL, NULL, 500, "5.5.2" },
	{ "NOOP x\0", 7, NULL, NULL, 500, "5.5.2" },
	{ "QUITTING", 4, "QUIT", "", 0, NULL }, /* only len octets are the line */
};

static void test_split(void **state)
{
	for (size_t i = 0; i < N_ELEMENTS(split_cases); i++) {
		const struct split_case *c = &split_cases[i];
		struct smtp_cmd cmd;
		struct mail_error error;
		size_t len = c->len != 0 ? c->len : strlen(c->line);
		int ret = smtp_cmd_split(pool, c->line, len, &cmd, &error);

		if (c->verb != NULL) {
			if (ret < 0)
				fail_msg("'%s' refused: %s", c->line, error.text);
			assert_string_equal(cmd.verb, c->verb);
			assert_string_equal(cmd.args, c->args);
		} else {
			if (ret == 0)
				fail_msg("'%s' accepted", c->line);
			assert_int_equal(error.code, c->code);
			assert_string_equal(error.enhanced, c->enhanced);
		}
	}
}

/* ---- MAIL and RCPT: refusals ---- */

struct refuse_case {
	const char *args;
	unsigned ext;
	unsigned code;
	const char *enhanced, *text; /* text NULL: not checked */
};

static const struct refuse_case mail_refusals[] = {
	/* the command's own syntax: X.5.2 */
	{ "FROM<a@b.c>", ALL_EXT, 501, "5.5.2", "syntax: MAIL FROM:<address>" },
	{ "FROM :<a@b.c>", ALL_EXT, 501, "5.5.2", NULL },
	{ "FROM:  <a@b.c>", ALL_EXT, 501, "5.5.2", NULL }, /* one space, not two */
	{ "FROM:\t<a@b.c>", ALL_EXT, 501, "5.5.2", NULL },
	{ "FROM:a@b.c", ALL_EXT, 501, "5.5.2", NULL },
	{ "TO:<a@b.c>", ALL_EXT, 501, "5.5.2", NULL },
	{ "", ALL_EXT, 501, "5.5.2", NULL },
	{ "FROM:<a@b.c>SIZE=1", ALL_EXT, 501, "5.5.2", "unexpected text after the address" },
	{ "FROM:<a@b.c>>", ALL_EXT, 501, "5.5.2", "unexpected text after the address" },
	/* the path: X.1.7 for a sender */
	{ "FROM:<a@b@c>", ALL_EXT, 501, "5.1.7", NULL },
	{ "FROM:<Postmaster>", ALL_EXT, 501, "5.1.7", "missing @ in path" },
	{ "FROM:<j\xc3\xbc@x.org>", ALL_EXT, 553, "5.6.7", "non-ASCII address without SMTPUTF8" },
	{ "FROM:<j\xc3\xbc@x.org> SMTPUTF8", ALL_EXT & ~SMTP_EXT_SMTPUTF8, 553, "5.6.7", NULL },
	/* parameter syntax: 501 5.5.4 */
	{ "FROM:<a@b.c> SIZE", ALL_EXT, 501, "5.5.4", "parameter needs a value" },
	{ "FROM:<a@b.c> SIZE=", ALL_EXT, 501, "5.5.4", "empty parameter value" },
	{ "FROM:<a@b.c> =1", ALL_EXT, 501, "5.5.4", "invalid parameter name" },
	{ "FROM:<a@b.c> -X=1", ALL_EXT, 501, "5.5.4", "invalid parameter name" },
	{ "FROM:<a@b.c> A_B=1", ALL_EXT, 501, "5.5.4", "invalid parameter name" },
	{ "FROM:<a@b.c> SIZE=1=2", ALL_EXT, 501, "5.5.4", "invalid character in parameter value" },
	{ "FROM:<a@b.c> SIZE=1\x01", ALL_EXT, 501, "5.5.4", "invalid character in parameter value" },
	{ "FROM:<a@b.c> SIZE=\xc3\xa9", ALL_EXT, 501, "5.5.4", "invalid character in parameter value" },
	{ "FROM:<a@b.c> SIZE=abc", ALL_EXT, 501, "5.5.4", "SIZE value must be a number" },
	{ "FROM:<a@b.c> SIZE=-1", ALL_EXT, 501, "5.5.4", "SIZE value must be a number" },
	{ "FROM:<a@b.c> SIZE=123456789012345678901", ALL_EXT, 501, "5.5.4",
	  "SIZE value too long (max 20 digits)" },
	{ "FROM:<a@b.c> SIZE=1 SIZE=2", ALL_EXT, 501, "5.5.4", "duplicate parameter" },
	{ "FROM:<a@b.c> size=1 SIZE=1", ALL_EXT, 501, "5.5.4", "duplicate parameter" },
	{ "FROM:<a@b.c> BODY=9BIT", ALL_EXT, 501, "5.5.4", NULL },
	{ "FROM:<a@b.c> BODY=", ALL_EXT, 501, "5.5.4", NULL },
	{ "FROM:<a@b.c> BODY=7BIT BODY=7BIT", ALL_EXT, 501, "5.5.4", "duplicate parameter" },
	{ "FROM:<a@b.c> SMTPUTF8=yes", ALL_EXT, 501, "5.5.4", "parameter takes no value" },
	{ "FROM:<a@b.c> SMTPUTF8 SMTPUTF8", ALL_EXT, 501, "5.5.4", "duplicate parameter" },
	{ "FROM:<a@b.c> RET=ALL", ALL_EXT, 501, "5.5.4", "RET must be FULL or HDRS" },
	{ "FROM:<a@b.c> RET=FULL RET=HDRS", ALL_EXT, 501, "5.5.4", "duplicate parameter" },
	{ "FROM:<a@b.c> ENVID=a+2", ALL_EXT, 501, "5.5.4", "ENVID is not valid xtext" },
	{ "FROM:<a@b.c> ENVID=a+GG", ALL_EXT, 501, "5.5.4", "ENVID is not valid xtext" },
	{ "FROM:<a@b.c> ENVID=a+00", ALL_EXT, 501, "5.5.4", "ENVID is not valid xtext" },
	{ "FROM:<a@b.c> ENVID=a+7F", ALL_EXT, 501, "5.5.4", "ENVID is not valid xtext" },
	{ "FROM:<a@b.c> ENVID=a+C3+A9", ALL_EXT, 501, "5.5.4", "ENVID is not valid xtext" },
	{ "FROM:<a@b.c> AUTH=a+zz", ALL_EXT, 501, "5.5.4", "AUTH is not valid xtext" },
	{ "FROM:<a@b.c> AUTH=<> AUTH=<>", ALL_EXT, 501, "5.5.4", "duplicate parameter" },
	/* unknown, wrong command, or not advertised: 555 5.5.4 (RFC 5321 4.1.1.11) */
	{ "FROM:<a@b.c> FOO=bar", ALL_EXT, 555, "5.5.4", "parameter FOO not supported" },
	{ "FROM:<a@b.c> X-Y", ALL_EXT, 555, "5.5.4", "parameter X-Y not supported" },
	{ "FROM:<a@b.c> ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=1", ALL_EXT, 555, "5.5.4",
	  "parameter ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 not supported" },
	{ "FROM:<a@b.c> NOTIFY=NEVER", ALL_EXT, 555, "5.5.4", "parameter NOTIFY not supported" },
	{ "FROM:<a@b.c> ORCPT=rfc822;a@b.c", ALL_EXT, 555, "5.5.4", NULL },
	{ "FROM:<a@b.c> SIZE=1", 0, 555, "5.5.4", "parameter SIZE not supported" },
	{ "FROM:<a@b.c> BODY=8BITMIME", 0, 555, "5.5.4", NULL },
	{ "FROM:<a@b.c> BODY=8BITMIME", SMTP_EXT_BINARYMIME, 555, "5.5.4", "BODY type not supported" },
	{ "FROM:<a@b.c> BODY=BINARYMIME", SMTP_EXT_8BITMIME, 555, "5.5.4", "BODY type not supported" },
	{ "FROM:<a@b.c> SMTPUTF8", ALL_EXT & ~SMTP_EXT_SMTPUTF8, 555, "5.5.4", NULL },
	{ "FROM:<a@b.c> RET=FULL", ALL_EXT & ~SMTP_EXT_DSN, 555, "5.5.4", NULL },
	{ "FROM:<a@b.c> ENVID=x", ALL_EXT & ~SMTP_EXT_DSN, 555, "5.5.4", NULL },
	{ "FROM:<a@b.c> AUTH=<>", ALL_EXT & ~SMTP_EXT_AUTH, 555, "5.5.4", NULL },
	/* the first error wins */
	{ "FROM:<a@b.c> SIZE=1 FOO SIZE=x", ALL_EXT, 555, "5.5.4", NULL },
};

static const struct refuse_case rcpt_refusals[] = {
	{ "TO<a@b.c>", ALL_EXT, 501, "5.5.2", "syntax: RCPT TO:<address>" },
	{ "FROM:<a@b.c>", ALL_EXT, 501, "5.5.2", NULL },
	{ "TO:  <a@b.c>", ALL_EXT, 501, "5.5.2", NULL },
	{ "TO:<>", ALL_EXT, 501, "5.1.3", "the null path <> is only valid in MAIL FROM" },
	{ "TO:<a@b.c", ALL_EXT, 501, "5.1.3", NULL },
	{ "TO:<j\xc3\xbc@x.org>", ALL_EXT, 553, "5.6.7", NULL }, /* MAIL had no SMTPUTF8 */
	{ "TO:<a@b.c> NOTIFY=NEVER,SUCCESS", ALL_EXT, 501, "5.5.4", "NOTIFY=NEVER cannot be combined" },
	{ "TO:<a@b.c> NOTIFY=DELAY,NEVER", ALL_EXT, 501, "5.5.4", "NOTIFY=NEVER cannot be combined" },
	{ "TO:<a@b.c> NOTIFY=SUCCESS,SUCCESS", ALL_EXT, 501, "5.5.4", "NOTIFY lists a value twice" },
	{ "TO:<a@b.c> NOTIFY=SUCCESS,", ALL_EXT, 501, "5.5.4", NULL },
	{ "TO:<a@b.c> NOTIFY=,SUCCESS", ALL_EXT, 501, "5.5.4", NULL },
	{ "TO:<a@b.c> NOTIFY=SOMETIMES", ALL_EXT, 501, "5.5.4", NULL },
	{ "TO:<a@b.c> NOTIFY", ALL_EXT, 501, "5.5.4", "parameter needs a value" },
	{ "TO:<a@b.c> NOTIFY=FAILURE NOTIFY=DELAY", ALL_EXT, 501, "5.5.4", "duplicate parameter" },
	{ "TO:<a@b.c> ORCPT=rfc822", ALL_EXT, 501, "5.5.4", "ORCPT must be addr-type;address" },
	{ "TO:<a@b.c> ORCPT=;a@b.c", ALL_EXT, 501, "5.5.4", "ORCPT must be addr-type;address" },
	{ "TO:<a@b.c> ORCPT=rfc822;", ALL_EXT, 501, "5.5.4", "ORCPT address is not valid xtext" },
	{ "TO:<a@b.c> ORCPT=rfc822;a+4", ALL_EXT, 501, "5.5.4", "ORCPT address is not valid xtext" },
	{ "TO:<a@b.c> ORCPT=rf(c;a@b.c", ALL_EXT, 501, "5.5.4", "ORCPT address type is not an atom" },
	{ "TO:<a@b.c> ORCPT=rfc822;a ORCPT=rfc822;b", ALL_EXT, 501, "5.5.4", "duplicate parameter" },
	{ "TO:<a@b.c> SIZE=1", ALL_EXT, 555, "5.5.4", "parameter SIZE not supported" },
	{ "TO:<a@b.c> SMTPUTF8", ALL_EXT, 555, "5.5.4", NULL },
	{ "TO:<a@b.c> BODY=8BITMIME", ALL_EXT, 555, "5.5.4", NULL },
	{ "TO:<a@b.c> RET=FULL", ALL_EXT, 555, "5.5.4", NULL },
	{ "TO:<a@b.c> AUTH=<>", ALL_EXT, 555, "5.5.4", NULL },
	{ "TO:<a@b.c> NOTIFY=NEVER", ALL_EXT & ~SMTP_EXT_DSN, 555, "5.5.4", NULL },
	{ "TO:<a@b.c> ORCPT=rfc822;x", 0, 555, "5.5.4", NULL },
};

static void check_refusals(const struct refuse_case *cases, size_t n, bool mail)
{
	for (size_t i = 0; i < n; i++) {
		const struct refuse_case *c = &cases[i];
		struct smtp_path_cmd cmd;
		struct mail_error error = { 0, NULL, NULL };
		int ret = mail ? smtp_cmd_parse_mail(pool, c->args, c->ext, &cmd, &error) :
				 smtp_cmd_parse_rcpt(pool, c->args, c->ext, false, &cmd, &error);

		if (ret == 0)
			fail_msg("'%s' accepted", c->args);
		if (error.code != c->code || strcmp(error.enhanced, c->enhanced) != 0 ||
		    (c->text != NULL && strcmp(error.text, c->text) != 0))
			fail_msg("'%s': got %u %s '%s', want %u %s '%s'", c->args, error.code,
				 error.enhanced, error.text, c->code, c->enhanced,
				 c->text != NULL ? c->text : "*");
	}
}

static void test_mail_refused(void **state)
{
	check_refusals(mail_refusals, N_ELEMENTS(mail_refusals), true);
}

static void test_rcpt_refused(void **state)
{
	check_refusals(rcpt_refusals, N_ELEMENTS(rcpt_refusals), false);
}

/* ---- MAIL and RCPT: accepted forms and their values ---- */

static struct smtp_path_cmd mail_ok(const char *args, unsigned ext)
{
	struct smtp_path_cmd cmd;
	struct mail_error error;

	if (smtp_cmd_parse_mail(pool, args, ext, &cmd, &error) < 0)
		fail_msg("'%s' refused: %u %s %s", args, error.code, error.enhanced, error.text);
	return cmd;
}

static struct smtp_path_cmd rcpt_ok(const char *args, unsigned ext, bool utf8)
{
	struct smtp_path_cmd cmd;
	struct mail_error error;

	if (smtp_cmd_parse_rcpt(pool, args, ext, utf8, &cmd, &error) < 0)
		fail_msg("'%s' refused: %u %s %s", args, error.code, error.enhanced, error.text);
	return cmd;
}

static void test_mail_accepted(void **state)
{
	struct smtp_path_cmd m;

	m = mail_ok("FROM:<User@Example.com>", 0);
	assert_string_equal(m.path.addr, "user@example.com");
	assert_int_equal(m.params.given, 0);
	assert_null(m.params.envid);
	assert_null(m.params.auth);
	m = mail_ok("from:<a@b.c>", 0);
	assert_string_equal(m.path.addr, "a@b.c");
	m = mail_ok("FROM: <a@b.c>", 0); /* tolerated */
	assert_string_equal(m.path.addr, "a@b.c");
	m = mail_ok("FROM:<>", 0);
	assert_int_equal(m.path.flags, ADDR_PATH_NULL);
	m = mail_ok("FROM:<> ", ALL_EXT);
	assert_int_equal(m.params.given, 0);
	m = mail_ok("FROM:<@relay.example:a@b.c>", 0);
	assert_int_equal(m.path.flags, ADDR_PATH_SOURCE_ROUTE);

	m = mail_ok("FROM:<a@b.c> SIZE=1000", ALL_EXT);
	assert_int_equal(m.params.given, SMTP_PARAM_SIZE);
	assert_int_equal(m.params.size, 1000);
	m = mail_ok("FROM:<a@b.c> SIZE=0", ALL_EXT);
	assert_int_equal(m.params.size, 0);
	m = mail_ok("FROM:<a@b.c> size=00000000000000000042", ALL_EXT); /* 20 digits */
	assert_int_equal(m.params.size, 42);
	m = mail_ok("FROM:<a@b.c> SIZE=18446744073709551615", ALL_EXT);
	assert_true(m.params.size == UINT64_MAX);
	m = mail_ok("FROM:<a@b.c> SIZE=99999999999999999999", ALL_EXT); /* saturates */
	assert_true(m.params.size == UINT64_MAX);

	m = mail_ok("FROM:<a@b.c> BODY=7BIT", ALL_EXT);
	assert_int_equal(m.params.body, SMTP_BODY_7BIT);
	m = mail_ok("FROM:<a@b.c> BODY=7bit", SMTP_EXT_8BITMIME);
	assert_int_equal(m.params.body, SMTP_BODY_7BIT);
	m = mail_ok("FROM:<a@b.c> BODY=8bitmime", SMTP_EXT_8BITMIME);
	assert_int_equal(m.params.body, SMTP_BODY_8BITMIME);
	m = mail_ok("FROM:<a@b.c> BODY=BINARYMIME", SMTP_EXT_BINARYMIME);
	assert_int_equal(m.params.body, SMTP_BODY_BINARYMIME);

	m = mail_ok("FROM:<J\xc3\xbc@b\xc3\xbc" "cher.example> SMTPUTF8", SMTP_EXT_SMTPUTF8);
	assert_true(m.params.smtputf8);
	assert_int_equal(m.path.flags, ADDR_PATH_UTF8);
	assert_string_equal(m.path.addr, "j\xc3\xbc@xn--bcher-kva.example");
	m = mail_ok("FROM:<a@b.c> smtputf8", SMTP_EXT_SMTPUTF8);
	assert_true(m.params.smtputf8);

	m = mail_ok("FROM:<a@b.c> RET=FULL", SMTP_EXT_DSN);
	assert_int_equal(m.params.ret, SMTP_RET_FULL);
	m = mail_ok("FROM:<a@b.c> ret=hdrs", SMTP_EXT_DSN);
	assert_int_equal(m.params.ret, SMTP_RET_HDRS);
	m = mail_ok("FROM:<a@b.c> ENVID=QQ314159+2Bx+3Dy+20z", SMTP_EXT_DSN);
	assert_string_equal(m.params.envid, "QQ314159+x=y z");
	m = mail_ok("FROM:<a@b.c> ENVID=a+2b", SMTP_EXT_DSN); /* lower-case hex tolerated */
	assert_string_equal(m.params.envid, "a+");

	m = mail_ok("FROM:<a@b.c> AUTH=<>", SMTP_EXT_AUTH);
	assert_int_equal(m.params.given, SMTP_PARAM_AUTH);
	assert_string_equal(m.params.auth, "");
	m = mail_ok("FROM:<a@b.c> AUTH=e+2Bf@example.com", SMTP_EXT_AUTH);
	assert_string_equal(m.params.auth, "e+f@example.com");

	/* everything at once, any order, runs of spaces */
	m = mail_ok("FROM:<a@b.c> AUTH=<>  ENVID=x  SMTPUTF8 RET=HDRS BODY=8BITMIME SIZE=10", ALL_EXT);
	assert_int_equal(m.params.given, SMTP_PARAM_SIZE | SMTP_PARAM_BODY | SMTP_PARAM_SMTPUTF8 |
						 SMTP_PARAM_RET | SMTP_PARAM_ENVID | SMTP_PARAM_AUTH);
	assert_int_equal(m.params.size, 10);
	assert_int_equal(m.params.body, SMTP_BODY_8BITMIME);
	assert_int_equal(m.params.ret, SMTP_RET_HDRS);
	assert_string_equal(m.params.envid, "x");
}

static void test_rcpt_accepted(void **state)
{
	struct smtp_path_cmd r;

	r = rcpt_ok("TO:<a@b.c>", 0, false);
	assert_string_equal(r.path.addr, "a@b.c");
	assert_int_equal(r.params.given, 0);
	r = rcpt_ok("to: <a@b.c>", 0, false);
	assert_string_equal(r.path.addr, "a@b.c");
	r = rcpt_ok("TO:<Postmaster>", 0, false);
	assert_int_equal(r.path.flags, ADDR_PATH_POSTMASTER);
	assert_string_equal(r.path.addr, "postmaster");
	r = rcpt_ok("TO:<\"x y\"@b.c>", 0, false);
	assert_int_equal(r.path.flags, ADDR_PATH_QUOTED);
	r = rcpt_ok("TO:<j\xc3\xbc@x.org>", 0, true); /* SMTPUTF8 was on the MAIL */
	assert_int_equal(r.path.flags, ADDR_PATH_UTF8);

	r = rcpt_ok("TO:<a@b.c> NOTIFY=NEVER", SMTP_EXT_DSN, false);
	assert_int_equal(r.params.notify, SMTP_NOTIFY_NEVER);
	r = rcpt_ok("TO:<a@b.c> NOTIFY=success", SMTP_EXT_DSN, false);
	assert_int_equal(r.params.notify, SMTP_NOTIFY_SUCCESS);
	r = rcpt_ok("TO:<a@b.c> NOTIFY=SUCCESS,FAILURE,DELAY", SMTP_EXT_DSN, false);
	assert_int_equal(r.params.notify,
			 SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY);
	r = rcpt_ok("TO:<a@b.c> NOTIFY=delay,Failure", SMTP_EXT_DSN, false);
	assert_int_equal(r.params.notify, SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY);

	r = rcpt_ok("TO:<a@b.c> ORCPT=rfc822;Bob@Example.com", SMTP_EXT_DSN, false);
	assert_string_equal(r.params.orcpt_type, "rfc822");
	assert_string_equal(r.params.orcpt, "Bob@Example.com");
	r = rcpt_ok("TO:<a@b.c> ORCPT=RFC822;+22a+20b+22@x", SMTP_EXT_DSN, false);
	assert_string_equal(r.params.orcpt_type, "rfc822");
	assert_string_equal(r.params.orcpt, "\"a b\"@x");
	r = rcpt_ok("TO:<a@b.c> NOTIFY=FAILURE ORCPT=rfc822;a@b.c", SMTP_EXT_DSN, false);
	assert_int_equal(r.params.given, SMTP_PARAM_NOTIFY | SMTP_PARAM_ORCPT);
}

/* test_param_limits - ENVID 100 and ORCPT 500 octets (RFC 3461 4.4, 4.2)
 * exactly and one past; the longest MAIL line fits the ESMTP line limit. */
static void test_param_limits(void **state)
{
	struct smtp_path_cmd cmd;
	struct mail_error error;
	char *args;

	args = p_printf(pool, "FROM:<a@b.c> ENVID=%s", repeat('e', SMTP_CMD_ENVID_MAX));
	assert_int_equal(smtp_cmd_parse_mail(pool, args, ALL_EXT, &cmd, &error), 0);
	args = p_printf(pool, "FROM:<a@b.c> ENVID=%s", repeat('e', SMTP_CMD_ENVID_MAX + 1));
	assert_int_equal(smtp_cmd_parse_mail(pool, args, ALL_EXT, &cmd, &error), -1);
	assert_string_equal(error.text, "ENVID too long (max 100)");

	/* "rfc822;" is 7 of the 500 */
	args = p_printf(pool, "TO:<a@b.c> ORCPT=rfc822;%s", repeat('o', SMTP_CMD_ORCPT_MAX - 7));
	assert_int_equal(smtp_cmd_parse_rcpt(pool, args, ALL_EXT, false, &cmd, &error), 0);
	assert_int_equal(strlen(cmd.params.orcpt), SMTP_CMD_ORCPT_MAX - 7);
	args = p_printf(pool, "TO:<a@b.c> ORCPT=rfc822;%s", repeat('o', SMTP_CMD_ORCPT_MAX - 6));
	assert_int_equal(smtp_cmd_parse_rcpt(pool, args, ALL_EXT, false, &cmd, &error), -1);
	assert_string_equal(error.text, "ORCPT too long (max 500)");

	/* a 254-octet sender with every MAIL parameter at its longest */
	char *label = repeat('d', 63);
	char *line = p_printf(pool,
			      "MAIL FROM:<%s@%s.%s.%.61s> SIZE=%s BODY=BINARYMIME SMTPUTF8 "
			      "RET=HDRS ENVID=%s AUTH=%s",
			      repeat('l', 64), label, label, label, repeat('9', 20),
			      repeat('e', SMTP_CMD_ENVID_MAX), repeat('a', 500));
	struct smtp_cmd split;
	assert_true(strlen(line) + 2 <= SMTP_CMD_LINE_MAX_ESMTP);
	assert_int_equal(smtp_cmd_split(pool, line, strlen(line), &split, &error), 0);
	assert_string_equal(split.verb, "MAIL");
	assert_int_equal(smtp_cmd_parse_mail(pool, split.args, ALL_EXT, &cmd, &error), 0);
	assert_int_equal(strlen(cmd.path.addr), 254);
	assert_int_equal(SMTP_CMD_LINE_MAX, 512);
}

/* ---- BDAT ---- */

static void test_bdat(void **state)
{
	static const struct {
		const char *args;
		int ret;
		uint64_t size;
		bool last;
	} cases[] = {
		{ "0", 0, 0, false },
		{ "0 LAST", 0, 0, true },
		{ "1000", 0, 1000, false },
		{ "1000 last", 0, 1000, true },
		{ "007 Last", 0, 7, true },
		{ "18446744073709551615", 0, UINT64_MAX, false },
		{ "18446744073709551616", -1, 0, false },
		{ "99999999999999999999999", -1, 0, false },
		{ "", -1, 0, false },
		{ "LAST", -1, 0, false },
		{ "abc", -1, 0, false },
		{ "-1", -1, 0, false },
		{ "+5", -1, 0, false },
		{ " 5", -1, 0, false },
		{ "5 ", -1, 0, false },
		{ "5  LAST", -1, 0, false },
		{ "5 LAST x", -1, 0, false },
		{ "5 LASTX", -1, 0, false },
		{ "5 FIRST", -1, 0, false },
		{ "5x", -1, 0, false },
		{ "0x10", -1, 0, false },
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		uint64_t size = 12345;
		bool last = false;
		struct mail_error error;
		int ret = smtp_cmd_parse_bdat(cases[i].args, &size, &last, &error);

		if (ret != cases[i].ret)
			fail_msg("BDAT '%s': %d, want %d", cases[i].args, ret, cases[i].ret);
		if (ret == 0) {
			assert_true(size == cases[i].size);
			assert_int_equal(last, cases[i].last);
		} else {
			assert_int_equal(error.code, 501);
			assert_string_equal(error.enhanced, "5.5.4");
		}
	}
}

/* ---- HELO/EHLO ---- */

static void test_helo(void **state)
{
	static const struct {
		const char *args, *domain;
		unsigned flags;
	} good[] = {
		{ "mail.example.com", "mail.example.com", 0 },
		{ "Mail.Example.COM", "mail.example.com", 0 },
		{ "localhost", "localhost", 0 },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example", 0 },
		{ "a-b.c-d", "a-b.c-d", 0 },
		{ "192.0.2.1", "192.0.2.1", SMTP_HELO_NUMERIC },
		{ "host.123", "host.123", SMTP_HELO_NUMERIC },
		{ "[192.0.2.1]", "[192.0.2.1]", SMTP_HELO_LITERAL },
		{ "[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]", SMTP_HELO_LITERAL },
		{ "[ipv6:2001:DB8:0::1]", "[IPv6:2001:db8::1]", SMTP_HELO_LITERAL },
	};
	static const char *const bad[] = {
		"", "a_b.example", "a b", "-a.com", "a-.com", "a..b", "a.b.", ".a", "[1.2.3]",
		"[x-tag:y]", "[192.0.2.1", "192.0.2.1]", "\xc3\xa9t\xc3\xa9.fr", "a.b\t", "a.b,c",
	};
	struct smtp_helo helo;
	struct mail_error error;

	for (size_t i = 0; i < N_ELEMENTS(good); i++) {
		if (smtp_cmd_parse_helo(pool, good[i].args, &helo, &error) < 0)
			fail_msg("HELO '%s' refused: %s", good[i].args, error.text);
		assert_string_equal(helo.domain, good[i].domain);
		assert_int_equal(helo.flags, good[i].flags);
	}
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		if (smtp_cmd_parse_helo(pool, bad[i], &helo, &error) == 0)
			fail_msg("HELO '%s' accepted", bad[i]);
		assert_int_equal(error.code, 501);
		assert_string_equal(error.enhanced, "5.5.4");
	}
	/* 255 octets exactly (RFC 5321 4.5.3.1.2), then one more */
	char *label = repeat('h', 63);
	char *d255 = p_printf(pool, "%s.%s.%s.%s", label, label, label, label);
	assert_int_equal(smtp_cmd_parse_helo(pool, d255, &helo, &error), 0);
	assert_int_equal(smtp_cmd_parse_helo(pool, p_printf(pool, "%sh", d255), &helo, &error), -1);
	assert_string_equal(error.text, "domain too long (max 255)");
}

/* ---- xtext ---- */

static void test_xtext(void **state)
{
	const char *out;

	assert_string_equal(smtp_xtext_encode(pool, "a+b=c d"), "a+2Bb+3Dc+20d");
	assert_string_equal(smtp_xtext_encode(pool, ""), "");
	assert_string_equal(smtp_xtext_encode(pool, "\x7f\x01"), "+7F+01");
	assert_int_equal(smtp_xtext_decode(pool, "a+2Bb+3Dc+20d", &out), 0);
	assert_string_equal(out, "a+b=c d");
	assert_int_equal(smtp_xtext_decode(pool, "", &out), 0);
	assert_string_equal(out, "");
	assert_int_equal(smtp_xtext_decode(pool, "+", &out), -1);
	assert_int_equal(smtp_xtext_decode(pool, "+4", &out), -1);
	assert_int_equal(smtp_xtext_decode(pool, "a=b", &out), -1);
	assert_int_equal(smtp_xtext_decode(pool, "a b", &out), -1);
	assert_int_equal(smtp_xtext_decode(pool, "+0A", &out), -1); /* LF: never in a value */
	/* every printable octet survives the round trip */
	char all[96];
	for (int i = 0; i < 95; i++)
		all[i] = (char)(' ' + i);
	all[95] = '\0';
	assert_int_equal(smtp_xtext_decode(pool, smtp_xtext_encode(pool, all), &out), 0);
	assert_string_equal(out, all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_mail_refused),
		cmocka_unit_test(test_rcpt_refused),
		cmocka_unit_test(test_mail_accepted),
		cmocka_unit_test(test_rcpt_accepted),
		cmocka_unit_test(test_param_limits),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_helo),
		cmocka_unit_test(test_xtext),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
