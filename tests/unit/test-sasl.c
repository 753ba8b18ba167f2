/* SPDX-License-Identifier: ISC */
/* test-sasl.c - SASL response lines and the PLAIN message (RFC 4616). */
#include "lib/lib.h"
#include "lib/buf.h"
#include "mail/sasl.h"

#include <setjmp.h>
#include <cmocka.h>

/* decode - a response line into b; the result of sasl_decode. */
static int decode(struct buf *b, const char *line)
{
	buf_init(b, SASL_PLAIN_DECODED_MAX(1024));
	return sasl_decode(line, strlen(line), b);
}

static void test_decode(void **state)
{
	struct buf b;

	assert_int_equal(decode(&b, "AGJvYgBzZWNyZXQ="), 0); /* "\0bob\0secret" */
	assert_int_equal(b.len, 11);
	assert_memory_equal(b.data, "\0bob\0secret", 11);
	buf_release(&b);
	assert_int_equal(decode(&b, "="), 0); /* an empty response */
	assert_int_equal(b.len, 0);
	buf_release(&b);
	assert_int_equal(decode(&b, ""), -1);
	buf_release(&b);
	assert_int_equal(decode(&b, "AGJvYgBzZWNyZXQ"), -1); /* padding missing */
	buf_release(&b);
	assert_int_equal(decode(&b, "AGJv YgBz"), -1);
	buf_release(&b);
}

static void test_decode_is_bounded(void **state)
{
	char line[4096];
	struct buf b;

	memset(line, 'A', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	buf_init(&b, 64);
	assert_int_equal(sasl_decode(line, strlen(line), &b), -1);
	buf_release(&b);
}

static void test_plain(void **state)
{
	const char *authcid = NULL, *passwd = NULL;

	assert_int_equal(sasl_plain_split("\0bob\0secret", 11, &authcid, &passwd), SASL_PLAIN_OK);
	assert_string_equal(authcid, "bob");
	assert_string_equal(passwd, "secret");
	/* an authzid equal to the authcid is the same login */
	assert_int_equal(sasl_plain_split("bob\0bob\0pw", 10, &authcid, &passwd), SASL_PLAIN_OK);
	assert_string_equal(authcid, "bob");
	assert_string_equal(passwd, "pw");
	/* an empty password and an empty authcid still parse: policy refuses */
	assert_int_equal(sasl_plain_split("\0bob\0", 5, &authcid, &passwd), SASL_PLAIN_OK);
	assert_string_equal(passwd, "");
	assert_int_equal(sasl_plain_split("\0\0pw", 4, &authcid, &passwd), SASL_PLAIN_OK);
	assert_string_equal(authcid, "");
}

static void test_plain_refusals(void **state)
{
	const char *authcid = NULL, *passwd = NULL;

	assert_int_equal(sasl_plain_split("bob", 3, &authcid, &passwd), SASL_PLAIN_SYNTAX);
	assert_int_equal(sasl_plain_split("\0bob", 4, &authcid, &passwd), SASL_PLAIN_SYNTAX);
	assert_int_equal(sasl_plain_split("\0bob\0pw\0", 8, &authcid, &passwd), SASL_PLAIN_SYNTAX);
	assert_int_equal(sasl_plain_split("", 0, &authcid, &passwd), SASL_PLAIN_SYNTAX);
	/* acting for another account is not offered */
	assert_int_equal(sasl_plain_split("alice\0bob\0pw", 12, &authcid, &passwd),
			 SASL_PLAIN_PROXY);
	assert_null(authcid);
	assert_null(passwd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_decode_is_bounded),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_plain_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
