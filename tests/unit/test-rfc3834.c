/* SPDX-License-Identifier: ISC */
/* test-rfc3834.c - when the autoresponder answers, and what it sends. */
#include "lib/lib.h"
#include "mail/rfc3834.h"

#include <setjmp.h>
#include <cmocka.h>

static struct rfc3834_input base(void)
{
	return (struct rfc3834_input){
		.sender = "alice@example.org",
		.recipient = "bob@example.com",
		.subject = "Lunch?",
		.message_id = "<m1@example.org>",
	};
}

static void test_plain_mail_gets_a_reply(void **state)
{
	struct rfc3834_input in = base();
	assert_null(rfc3834_skip_reason(&in));
	in.auto_submitted = "no"; /* explicitly human */
	assert_null(rfc3834_skip_reason(&in));
	in.auto_submitted = " No (comment)";
	assert_null(rfc3834_skip_reason(&in));
	in.precedence = "first-class";
	assert_null(rfc3834_skip_reason(&in));
}

static void test_skip_rules(void **state)
{
	static const struct {
		const char *field;
		const char *value;
		const char *reason;
	} cases[] = {
		{ "sender", "", "autoreply.skip-null-sender" },
		{ "auto_submitted", "auto-replied", "autoreply.skip-auto-submitted" },
		{ "auto_submitted", "auto-generated", "autoreply.skip-auto-submitted" },
		{ "auto_submitted", "nothing", "autoreply.skip-auto-submitted" },
		{ "list_id", "<dev.lists.example.org>", "autoreply.skip-list" },
		{ "list_unsubscribe", "<mailto:u@x>", "autoreply.skip-list" },
		{ "list_post", "<mailto:l@x>", "autoreply.skip-list" },
		{ "precedence", " Bulk ", "autoreply.skip-bulk" },
		{ "precedence", "junk", "autoreply.skip-bulk" },
		{ "precedence", "list", "autoreply.skip-bulk" },
		{ "x_auto_response_suppress", "OOF, AutoReply", "autoreply.skip-bulk" },
		{ "x_auto_response_suppress", "All", "autoreply.skip-bulk" },
		{ "sender", "MAILER-DAEMON@example.org", "autoreply.skip-system-sender" },
		{ "sender", "owner-dev@lists.example.org", "autoreply.skip-system-sender" },
		{ "sender", "dev-request@lists.example.org", "autoreply.skip-system-sender" },
		{ "sender", "noreply@shop.example", "autoreply.skip-system-sender" },
		{ "sender", "postmaster@example.org", "autoreply.skip-system-sender" },
		{ "sender", "Bob@Example.com", "autoreply.skip-self" },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct rfc3834_input in = base();
		const char **field =
			strcmp(cases[i].field, "sender") == 0 ? &in.sender
			: strcmp(cases[i].field, "auto_submitted") == 0 ? &in.auto_submitted
			: strcmp(cases[i].field, "list_id") == 0 ? &in.list_id
			: strcmp(cases[i].field, "list_unsubscribe") == 0 ? &in.list_unsubscribe
			: strcmp(cases[i].field, "list_post") == 0 ? &in.list_post
			: strcmp(cases[i].field, "precedence") == 0 ? &in.precedence
			: &in.x_auto_response_suppress;
		*field = cases[i].value;
		const char *reason = rfc3834_skip_reason(&in);
		if (reason == NULL || strcmp(reason, cases[i].reason) != 0)
			fail_msg("case %zu (%s=%s): got %s, want %s", i, cases[i].field, cases[i].value,
				 reason != NULL ? reason : "reply", cases[i].reason);
	}
	struct rfc3834_input in = base();
	in.is_spam = true;
	assert_string_equal(rfc3834_skip_reason(&in), "autoreply.skip-spam");
	/* a person whose name merely contains a robot word is answered */
	in = base();
	in.sender = "bouncer@example.org";
	assert_null(rfc3834_skip_reason(&in));
}

static void test_compose(void **state)
{
	struct rfc3834_input in = base();
	size_t len;
	in.references = "<m0@example.org>";
	char *msg = rfc3834_compose(&in, NULL, "Back on Monday.\nBob", "mx.example.com", 0, &len);

	assert_int_equal(strlen(msg), len);
	assert_non_null(strstr(msg, "From: <bob@example.com>\r\n"));
	assert_non_null(strstr(msg, "To: <alice@example.org>\r\n"));
	assert_non_null(strstr(msg, "Subject: Auto: Lunch?\r\n"));
	assert_non_null(strstr(msg, "Auto-Submitted: auto-replied\r\n"));
	assert_non_null(strstr(msg, "In-Reply-To: <m1@example.org>\r\n"));
	assert_non_null(strstr(msg, "References: <m0@example.org> <m1@example.org>\r\n"));
	assert_non_null(strstr(msg, "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n"));
	assert_non_null(strstr(msg, "@mx.example.com>\r\n"));
	assert_non_null(strstr(msg, "\r\n\r\nBack on Monday.\r\nBob\r\n"));
	assert_null(strstr(msg, "\n\n")); /* every line end is CRLF */
	free(msg);
}

static void test_compose_sanitises_and_encodes(void **state)
{
	struct rfc3834_input in = base();
	size_t len;
	in.subject = "hi\r\nBcc: victim@example.net";
	char *msg = rfc3834_compose(&in, NULL, "x", "h", 0, &len);
	assert_null(strstr(msg, "\r\nBcc:")); /* no header injection */
	free(msg);

	/* a UTF-8 subject becomes encoded-words, never split inside a character */
	msg = rfc3834_compose(&in, "Fuori sede — rientro lunedì, risponderò al più presto possibile "
				   "a tutte le email ricevute",
			      "x", "h", 0, &len);
	assert_non_null(strstr(msg, "Subject: =?UTF-8?B?"));
	assert_non_null(strstr(msg, "?=\r\n =?UTF-8?B?"));
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_mail_gets_a_reply),
		cmocka_unit_test(test_skip_rules),
		cmocka_unit_test(test_compose),
		cmocka_unit_test(test_compose_sanitises_and_encodes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
