/* SPDX-License-Identifier: ISC */
/*
 * test-bodystructure.c - IMAP renderings of the MIME tree: BODYSTRUCTURE
 * and BODY byte for byte (including Dovecot's own test message, so clients
 * see what they see from Dovecot), nstring quoting and literals, ENVELOPE
 * defaults and address forms, BODY[section] numbering, bounded output, and
 * the golden files tests/golden/mime/NAME.eml -> NAME.out.
 *
 * POSTINO_GOLDEN_UPDATE=1 rewrites the .out files (review the diff!).
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/imap-bodystructure.h"
#include "mail/mime.h"

#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>

#define GOLDEN_DIR "tests/golden/mime"

static struct pool *pool;

static int setup(void **state)
{
	pool = pool_new(4096);
	return 0;
}

static int teardown(void **state)
{
	pool_free(&pool);
	return 0;
}

static const char *bodystructure(const char *msg, bool extended)
{
	struct mime_part *root = mime_parse(pool, msg, strlen(msg));
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(imap_bodystructure_write(&b, root, extended), 0);
	const char *s = p_strdup(pool, b.data);
	buf_release(&b);
	return s;
}

static const char *envelope(const char *msg)
{
	struct mime_part *root = mime_parse(pool, msg, strlen(msg));
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(imap_envelope_write(&b, root->envelope), 0);
	const char *s = p_strdup(pool, b.data);
	buf_release(&b);
	return s;
}

/* The message of Dovecot's src/lib-imap/test-imap-bodystructure.c. */
static const char dovecot_msg[] =
	"From: user@domain.org\n"
	"Date: Sat, 24 Mar 2007 23:00:00 +0200\n"
	"Mime-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"foo\n"
	" bar\"\n"
	"\n"
	"Root MIME prologue\n"
	"\n"
	"--foo bar\n"
	"Content-Type: text/x-myown; charset=us-ascii; foo=\"quoted\\\"string\"\n"
	"Content-ID: <foo@example.com>\n"
	"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
	"Content-Disposition: inline; foo=bar\n"
	"Content-Description: hellodescription\n"
	"Content-Language: en, fi, se\n"
	"Content-Location: http://example.com/test.txt\n"
	"\n"
	"hello\n"
	"\n"
	"--foo bar\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"From: sub@domain.org\n"
	"To: sub-to1@domain.org, sub-to2@domain.org\n"
	"Date: Sun, 12 Aug 2012 12:34:56 +0300\n"
	"Subject: submsg\n"
	"Content-Type: multipart/alternative; boundary=\"sub1\"\n"
	"\n"
	"Sub MIME prologue\n"
	"--sub1\n"
	"Content-Type: text/html\n"
	"Content-Transfer-Encoding: 8bit\n"
	"\n"
	"<p>Hello world</p>\n"
	"\n"
	"--sub1\n"
	"Content-Type: text/plain\n"
	"Content-Transfer-Encoding: ?invalid\n"
	"\n"
	"Hello another world\n"
	"\n"
	"--sub1--\n"
	"Sub MIME epilogue\n"
	"\n"
	"--foo bar--\n"
	"Root MIME epilogue\n";

/* Dovecot's imap_bodystructure_write() leaves out the outermost
 * parentheses (its FETCH code adds them); ours writes the whole body
 * production. Inside them the strings are identical. */
static void test_dovecot_vector(void **state)
{
	assert_string_equal(
		bodystructure(dovecot_msg, true),
		"((\"text\" \"x-myown\" (\"charset\" \"us-ascii\" \"foo\" \"quoted\\\"string\") "
		"\"<foo@example.com>\" \"hellodescription\" \"7bit\" 7 1 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" "
		"(\"inline\" (\"foo\" \"bar\")) (\"en\" \"fi\" \"se\") \"http://example.com/test.txt\")"
		"(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 412 "
		"(\"Sun, 12 Aug 2012 12:34:56 +0300\" \"submsg\" ((NIL NIL \"sub\" \"domain.org\")) "
		"((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) "
		"((NIL NIL \"sub-to1\" \"domain.org\")(NIL NIL \"sub-to2\" \"domain.org\")) NIL NIL NIL NIL) "
		"((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"8bit\" 20 1 NIL NIL NIL NIL)"
		"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 21 1 NIL NIL NIL NIL) "
		"\"alternative\" (\"boundary\" \"sub1\") NIL NIL NIL) 21 NIL NIL NIL NIL) "
		"\"mixed\" (\"boundary\" \"foo bar\") NIL NIL NIL)");
	assert_string_equal(
		bodystructure(dovecot_msg, false),
		"((\"text\" \"x-myown\" (\"charset\" \"us-ascii\" \"foo\" \"quoted\\\"string\") "
		"\"<foo@example.com>\" \"hellodescription\" \"7bit\" 7 1)"
		"(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 412 "
		"(\"Sun, 12 Aug 2012 12:34:56 +0300\" \"submsg\" ((NIL NIL \"sub\" \"domain.org\")) "
		"((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) "
		"((NIL NIL \"sub-to1\" \"domain.org\")(NIL NIL \"sub-to2\" \"domain.org\")) NIL NIL NIL NIL) "
		"((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"8bit\" 20 1)"
		"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 21 1) \"alternative\") 21) "
		"\"mixed\")");
}

static void test_leaf_forms(void **state)
{
	/* a single part: no outer list of parts, extension data present */
	assert_string_equal(bodystructure("Subject: x\n\nhi\n", true),
			    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 1 NIL NIL NIL NIL)");
	/* parameters other than charset: written as they are */
	assert_string_equal(bodystructure("Content-Type: text/plain; format=flowed\n\nhi", false),
			    "(\"text\" \"plain\" (\"format\" \"flowed\") NIL NIL \"7bit\" 2 0)");
	/* basic type: no lines */
	assert_string_equal(bodystructure("Content-Type: image/png\nContent-Transfer-Encoding: BASE64\n\nAAAA\n", true),
			    "(\"image\" \"png\" NIL NIL NIL \"base64\" 6 NIL NIL NIL NIL)");
	/* an opaque container is application/octet-stream */
	assert_string_equal(bodystructure("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nAA==\n", false),
			    "(\"application\" \"octet-stream\" NIL NIL NIL \"base64\" 6)");
	/* 8-bit and RFC 2231 parameters: literal, or encoded under name* */
	assert_string_equal(bodystructure("Content-Type: application/pdf; name=\"\xc3\xa9.pdf\"\n"
					  "Content-Disposition: attachment; filename*=utf-8''%C3%A9.pdf\n\nx", true),
			    "(\"application\" \"pdf\" (\"name\" {6}\r\n\xc3\xa9.pdf) NIL NIL \"7bit\" 1 NIL "
			    "(\"attachment\" (\"filename*\" \"utf-8''%C3%A9.pdf\")) NIL NIL)");
	/* one language is a string, a comment is no tag */
	assert_string_equal(bodystructure("Content-Language: de (German)\n\nx", true),
			    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0 NIL NIL \"de\" NIL)");
	/* a multipart without boundary: one text/plain part with its body */
	assert_string_equal(bodystructure("Content-Type: multipart/mixed\n\nraw\n", true),
			    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1 NIL NIL NIL NIL) "
			    "\"mixed\" NIL NIL NIL NIL)");
}

static void test_nstring(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ NULL, "NIL" },
		{ "", "\"\"" },
		{ "plain", "\"plain\"" },
		{ "say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\"" },
		{ "caf\xc3\xa9", "{5}\r\ncaf\xc3\xa9" },
		{ "a\r\nb", "{4}\r\na\r\nb" },
		{ "tab\tok", "\"tab\tok\"" },
	};
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		buf_reset(&b);
		assert_int_equal(imap_string_write(&b, cases[i].in), 0);
		assert_string_equal(b.data, cases[i].out);
	}
	buf_release(&b);
}

static void test_envelope(void **state)
{
	/* absent fields NIL; Sender and Reply-To default to From */
	assert_string_equal(envelope("From: A <a@example.com>\n\n"),
			    "(NIL NIL ((\"A\" NIL \"a\" \"example.com\")) ((\"A\" NIL \"a\" \"example.com\")) "
			    "((\"A\" NIL \"a\" \"example.com\")) NIL NIL NIL NIL NIL)");
	/* present but empty: "" for the strings, From for Sender/Reply-To */
	assert_string_equal(envelope("Subject:\nDate: \nFrom: a@x\nSender:\nReply-To: r@x\n\n"),
			    "(\"\" \"\" ((NIL NIL \"a\" \"x\")) ((NIL NIL \"a\" \"x\")) ((NIL NIL \"r\" \"x\")) "
			    "NIL NIL NIL NIL NIL)");
	/* groups, routes, missing domains, raw encoded-words, 8-bit */
	assert_string_equal(envelope("To: list:;, x:<@r.example:u@h.example>;, MAILER-DAEMON\n"
				     "Cc: =?utf-8?q?J=C3=B6rg?= <j@de>\nBcc: J\xc3\xb6rg <j@de>\n"
				     "Subject: =?utf-8?q?caf=C3=A9?=\nIn-Reply-To: <a@b>\nMessage-ID: <c@d>\n\n"),
			    "(NIL \"=?utf-8?q?caf=C3=A9?=\" NIL NIL NIL "
			    "((NIL NIL \"list\" NIL)(NIL NIL NIL NIL)(NIL NIL \"x\" NIL)"
			    "(NIL \"@r.example\" \"u\" \"h.example\")(NIL NIL NIL NIL)"
			    "(NIL NIL \"MAILER-DAEMON\" \"" IMAP_MISSING_HOST "\")) "
			    "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"de\")) (({5}\r\nJ\xc3\xb6rg NIL \"j\" \"de\")) "
			    "\"<a@b>\" \"<c@d>\")");
	/* no envelope at all (a part that is no message) */
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(imap_envelope_write(&b, NULL), 0);
	assert_string_equal(b.data, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	buf_release(&b);
}

struct section_case {
	const char *section;
	const char *content; /* expected octets, or NULL for an error */
};

static const char section_msg[] =
	"Subject: top\n"
	"Content-Type: multipart/mixed; boundary=o\n"
	"\n"
	"--o\n"
	"\n"
	"one\n"
	"--o\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"Subject: inner\n"
	"Content-Type: multipart/alternative; boundary=i\n"
	"\n"
	"--i\n"
	"\n"
	"2.1\n"
	"--i\n"
	"Content-Type: text/html\n"
	"\n"
	"2.2\n"
	"--i--\n"
	"--o\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"Subject: simple\n"
	"\n"
	"3.1\n"
	"--o--\n";

static const struct section_case section_cases[] = {
	{ "1", "one" },
	{ "1.MIME", "\n" },
	{ "2.HEADER", "Subject: inner\nContent-Type: multipart/alternative; boundary=i\n\n" },
	{ "2.header.fields", "Subject: inner\nContent-Type: multipart/alternative; boundary=i\n\n" },
	{ "2.1", "2.1" },
	{ "2.2", "2.2" },
	{ "2.2.MIME", "Content-Type: text/html\n\n" },
	{ "2.TEXT", "--i\n\n2.1\n--i\nContent-Type: text/html\n\n2.2\n--i--" },
	{ "2.MIME", "Content-Type: message/rfc822\n\n" },
	{ "3", "Subject: simple\n\n3.1" },
	{ "3.1", "3.1" },
	{ "3.TEXT", "3.1" },
	{ "3.1.MIME", "Subject: simple\n\n" },
	{ "HEADER", "Subject: top\nContent-Type: multipart/mixed; boundary=o\n\n" },
	{ "HEADER.FIELDS.NOT", "Subject: top\nContent-Type: multipart/mixed; boundary=o\n\n" },
	{ "0", NULL },
	{ "4", NULL },
	{ "1.1", NULL },
	{ "2.3", NULL },
	{ "1.HEADER", NULL },
	{ "1.TEXT", NULL },
	{ "MIME", NULL },
	{ "1.", NULL },
	{ "1..2", NULL },
	{ "01", NULL },
	{ "1HEADER", NULL },
	{ "FOO", NULL },
	{ "2.1.2", NULL },
	{ "99999999999999999999999", NULL },
};

static void test_sections(void **state)
{
	struct mime_part *root = mime_parse(pool, section_msg, strlen(section_msg));
	const struct mime_part *part;
	struct mime_size r;
	const char *error;

	for (size_t i = 0; i < N_ELEMENTS(section_cases); i++) {
		const struct section_case *c = &section_cases[i];
		int ret = imap_section_find(root, c->section, &r, &part, &error);
		if (c->content == NULL) {
			if (ret != -1)
				fail_msg("section %s: found, want an error", c->section);
			continue;
		}
		if (ret != 0)
			fail_msg("section %s: %s", c->section, error);
		const char *got = p_strndup(pool, section_msg + r.offset, r.size);
		if (strcmp(got, c->content) != 0)
			fail_msg("section %s = \"%s\", want \"%s\"", c->section, got, c->content);
	}
	/* BODY[] is the whole message */
	assert_int_equal(imap_section_find(root, "", &r, &part, &error), 0);
	assert_int_equal(r.offset, 0);
	assert_int_equal(r.size, strlen(section_msg));
	assert_ptr_equal(part, root);

	/* a message that is not multipart has a part 1: its body */
	root = mime_parse(pool, "Subject: s\n\nbody\n", 17);
	assert_int_equal(imap_section_find(root, "1", &r, &part, &error), 0);
	assert_int_equal(r.offset, 12);
	assert_int_equal(r.size, 5);
	assert_int_equal(imap_section_find(root, "2", &r, &part, &error), -1);
	assert_int_equal(imap_section_find(root, "TEXT", &r, &part, &error), 0);
	assert_int_equal(r.offset, 12);
}

/* Output past the caller's limit fails cleanly. */
static void test_bounded(void **state)
{
	struct mime_part *root = mime_parse(pool, dovecot_msg, strlen(dovecot_msg));
	struct buf b;

	buf_init(&b, 64);
	assert_int_equal(imap_bodystructure_write(&b, root, true), -1);
	assert_true(b.len <= 64);
	buf_release(&b);
	buf_init(&b, 32);
	assert_int_equal(imap_envelope_write(&b, root->children->next->children->envelope), -1);
	buf_release(&b);
}

static char *read_all(const char *path, size_t *size_r)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[8192];
	size_t n;

	if (f == NULL)
		return NULL;
	buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(buf_append(&b, chunk, n), 0);
	fclose(f);
	*size_r = b.len;
	return b.data != NULL ? b.data : xstrdup("");
}

/* golden_render - what NAME.out holds for a message */
static void golden_render(struct buf *out, const char *data, size_t size)
{
	struct mime_part *root = mime_parse(pool, data, size);

	assert_int_equal(buf_append_str(out, "BODYSTRUCTURE "), 0);
	assert_int_equal(imap_bodystructure_write(out, root, true), 0);
	assert_int_equal(buf_append_str(out, "\nBODY "), 0);
	assert_int_equal(imap_bodystructure_write(out, root, false), 0);
	assert_int_equal(buf_append_str(out, "\nENVELOPE "), 0);
	assert_int_equal(imap_envelope_write(out, root->envelope), 0);
	assert_int_equal(buf_append_str(out, "\n"), 0);
}

static void test_golden(void **state)
{
	DIR *dir = opendir(GOLDEN_DIR);
	bool update = getenv("POSTINO_GOLDEN_UPDATE") != NULL;
	unsigned checked = 0, failed = 0;
	struct dirent *de;

	if (dir == NULL)
		skip(); /* not run from the source tree */
	while ((de = readdir(dir)) != NULL) {
		if (!str_has_suffix(de->d_name, ".eml"))
			continue;
		char *eml = xasprintf("%s/%s", GOLDEN_DIR, de->d_name);
		char *ref = xasprintf("%.*s.out", (int)(strlen(eml) - 4), eml);
		size_t size, ref_size = 0;
		char *data = read_all(eml, &size), *want = read_all(ref, &ref_size);
		struct buf got;

		assert_non_null(data);
		buf_init(&got, 0);
		golden_render(&got, data, size);
		if (update) {
			FILE *f = fopen(ref, "wb");
			assert_non_null(f);
			assert_int_equal(fwrite(got.data, 1, got.len, f), got.len);
			assert_int_equal(fclose(f), 0);
		} else if (want == NULL || ref_size != got.len || memcmp(want, got.data, got.len) != 0) {
			print_error("golden %s differs from %s:\n%s\n", eml, ref, got.data);
			failed++;
		}
		checked++;
		buf_release(&got);
		free(data);
		free(want);
		free(eml);
		free(ref);
	}
	closedir(dir);
	assert_true(checked > 0);
	assert_int_equal(failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dovecot_vector),
		cmocka_unit_test(test_leaf_forms),
		cmocka_unit_test(test_nstring),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_golden),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
