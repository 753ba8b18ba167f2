/* SPDX-License-Identifier: ISC */
/* test-addrlist.c - RFC 5322 address lists for ENVELOPE: display names,
 * quoting, comments, groups, obsolete routes and spacing, and the repairs
 * for broken lists. Each case is rendered compactly: a mailbox as
 * [name|route|mailbox|domain] ("-" for NULL, "!" after a repaired one),
 * a group as "name:" ... ";". */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "mail/addrlist.h"

#include <setjmp.h>
#include <cmocka.h>

struct list_case {
	const char *in, *out;
};

static const struct list_case cases[] = {
	{ "", "" },
	{ "   ", "" },
	{ "user@example.com", "[-|-|user|example.com]" },
	{ "User <user@Example.COM>", "[User|-|user|Example.COM]" },
	{ "<user@example.com>", "[-|-|user|example.com]" },
	{ "\"Doe, Jane\" <jane@example.com>, bob@example.org",
	  "[Doe, Jane|-|jane|example.com] [-|-|bob|example.org]" },
	{ "\"quoted \\\"name\\\" \\\\ x\" <a@b.example>", "[quoted \"name\" \\ x|-|a|b.example]" },
	{ "John Q. Public <jqp@example.com>", "[John Q. Public|-|jqp|example.com]" },
	{ "=?utf-8?q?J=C3=B6rg?= <j@example.de>", "[=?utf-8?q?J=C3=B6rg?=|-|j|example.de]" },
	/* an encoded-word with a comma inside stays one word */
	{ "=?UTF-8?Q?Doe,_J?= <j@example.de>", "[=?UTF-8?Q?Doe,_J?=|-|j|example.de]" },
	/* comments: skipped, or the name when there is none */
	{ "user@example.com (User Name)", "[User Name|-|user|example.com]" },
	{ "(User Name) <user@example.com>", "[User Name|-|user|example.com]" },
	{ "Name (comment) <u@example.com> (more)", "[Name|-|u|example.com]" },
	{ "u@example.com (outer (nested) text)", "[outer (nested) text|-|u|example.com]" },
	/* the last comment, as Dovecot and Python's getaddresses() take it */
	{ "u(c1)@(c2)example.com", "[c2|-|u|example.com]" },
	/* quoted local parts keep their quotes */
	{ "\"first last\"@example.com", "[-|-|\"first last\"|example.com]" },
	/* obsolete syntax (RFC 5322 4.4) */
	{ "a.b . c @ example . com", "[-|-|a.b.c|example.com]" },
	{ "<@r1.example,@r2.example:user@host.example>",
	  "[-|@r1.example,@r2.example|user|host.example]" },
	{ "a@b.example,,, ,c@d.example", "[-|-|a|b.example] [-|-|c|d.example]" },
	{ "u@[192.0.2.1]", "[-|-|u|[192.0.2.1]]" },
	/* groups */
	{ "undisclosed-recipients:;", "undisclosed-recipients: ;" },
	{ "team: a@b.example, \"C D\" <c@d.example>;, e@f.example",
	  "team: [-|-|a|b.example] [C D|-|c|d.example] ; [-|-|e|f.example]" },
	{ "open group: a@b.example", "open group: [-|-|a|b.example] ;!" },
	{ ": a@b.example;", "-: [-|-|a|b.example] ;" },
	{ "g1: a@x; g2: b@y;", "g1: [-|-|a|x] ; g2: [-|-|b|y] ;" },
	{ "g1: a@x, g2: b@y;", "g1: [-|-|a|x] ;! g2: [-|-|b|y] ;" },
	/* repairs */
	{ "MAILER-DAEMON", "[-|-|MAILER-DAEMON|-]!" },
	{ "John Smith", "[-|-|John Smith|-]!" },
	{ "John <j@example.com", "[John|-|j|example.com]!" },
	{ "John <j@example.com, k@example.com", "[John|-|j|example.com]! [-|-|k|example.com]" },
	{ "<>", "[-|-||-]!" },
	{ "<@example.com>", "[-|-||example.com]!" },
	{ "<user>", "[-|-|user|-]!" },
	{ "a@b.example junk", "[-|-|a|b.example]!" },
	{ "> a@b.example", "[-|-|a|b.example]" },
	{ "\"unterminated <a@b.example>", "[-|-|unterminated <a@b.example>|-]!" },
	{ ";;;", "" },
	{ "user@", "[-|-|user|-]" },
};

static void render(struct buf *b, const struct addrlist_addr *a)
{
	for (; a != NULL; a = a->next) {
		int r = 0;
		if (b->len > 0)
			r |= buf_append_str(b, " ");
		switch (a->kind) {
		case ADDRLIST_GROUP_START:
			r |= buf_printf(b, "%s:", a->name != NULL ? a->name : "-");
			break;
		case ADDRLIST_GROUP_END:
			r |= buf_append_str(b, ";");
			break;
		case ADDRLIST_MAILBOX:
			r |= buf_printf(b, "[%s|%s|%s|%s]", a->name != NULL ? a->name : "-",
					a->route != NULL ? a->route : "-", a->mailbox,
					a->domain != NULL ? a->domain : "-");
			break;
		}
		if (a->invalid)
			r |= buf_append_str(b, "!");
		assert_int_equal(r, 0);
	}
}

static void test_cases(void **state)
{
	struct pool *pool = pool_new(1024);
	struct buf b;
	unsigned failed = 0;

	buf_init(&b, 0);
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		buf_reset(&b);
		render(&b, addrlist_parse(pool, cases[i].in, strlen(cases[i].in)));
		const char *got = b.data != NULL ? b.data : "";
		if (strcmp(got, cases[i].out) != 0) {
			print_error("addrlist(%s) = \"%s\", want \"%s\"\n", cases[i].in, got,
				    cases[i].out);
			failed++;
		}
	}
	buf_release(&b);
	pool_free(&pool);
	assert_int_equal(failed, 0);
}

/* A hostile list stops at ADDRLIST_MAX entries, groups still closed. */
static void test_limit(void **state)
{
	struct pool *pool = pool_new(1024);
	struct buf b;
	unsigned n = 0;
	const struct addrlist_addr *a, *last = NULL;

	buf_init(&b, 0);
	assert_int_equal(buf_append_str(&b, "g:"), 0);
	for (unsigned i = 0; i < ADDRLIST_MAX + 10; i++)
		assert_int_equal(buf_append_str(&b, "a@b,"), 0);
	for (a = addrlist_parse(pool, b.data, b.len); a != NULL; a = a->next) {
		n++;
		last = a;
	}
	assert_true(n <= ADDRLIST_MAX);
	assert_true(n > ADDRLIST_MAX - 5);
	assert_int_equal(last->kind, ADDRLIST_GROUP_END);
	buf_release(&b);
	pool_free(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
