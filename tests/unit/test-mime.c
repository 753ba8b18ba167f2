/* SPDX-License-Identifier: ISC */
/*
 * test-mime.c - the MIME tree: ranges, sizes and lines, Content-Type and
 * RFC 2231 parameters, boundaries (nested, missing, broken, wrong case),
 * message/rfc822, digests, limits, signed files; golden files.
 *
 * Run with a file name ("test-mime MSG.eml") it prints the tree of that
 * message as JSON instead, with its BODYSTRUCTURE, BODY and ENVELOPE:
 * tests/integration/test_mime_corpus.py compares that with Python's email
 * package, and it is handy when a client shows a message oddly.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/imap-bodystructure.h"
#include "mail/mime.h"
#include "mail/rfc2047.h"

#include <setjmp.h>
#include <cmocka.h>

/* --- the JSON dump mode ------------------------------------------------ */

static void json_string(FILE *f, const char *s)
{
	bool utf8;

	if (s == NULL) {
		fputs("null", f);
		return;
	}
	utf8 = rfc2047_utf8_valid(s, strlen(s));
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && !utf8))
			fprintf(f, "\\u%04x", *p); /* not UTF-8: octets as Latin-1 */
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void json_params(FILE *f, const struct mime_param *params, unsigned n)
{
	fputc('[', f);
	for (unsigned i = 0; i < n; i++) {
		fputs(i > 0 ? ", [" : "[", f);
		json_string(f, params[i].name);
		fputs(", ", f);
		json_string(f, params[i].utf8);
		fputs(", ", f);
		json_string(f, params[i].value);
		fprintf(f, ", %s, %s]", params[i].extended ? "true" : "false",
			params[i].rfc2231 ? "true" : "false");
	}
	fputc(']', f);
}

static void json_range(FILE *f, const struct mime_size *r)
{
	fprintf(f, "[%zu, %zu, %zu, %u]", r->offset, r->size, r->vsize, r->lines);
}

static const struct {
	unsigned flag;
	const char *name;
} flag_names[] = {
	{ MIME_PART_MULTIPART, "multipart" },	    { MIME_PART_MESSAGE, "message" },
	{ MIME_PART_TEXT, "text" },		    { MIME_PART_TRUNCATED, "truncated" },
	{ MIME_PART_NO_BOUNDARY, "no-boundary" },   { MIME_PART_NO_END, "no-end" },
	{ MIME_PART_NO_HEADER_END, "no-header-end" }, { MIME_PART_8BIT_HEADER, "8bit-header" },
	{ MIME_PART_ATTACHMENT, "attachment" },	    { MIME_PART_SIGNED, "signed" },
	{ MIME_PART_SYNTHETIC, "synthetic" },
};

static void json_part(FILE *f, const struct mime_part *part)
{
	char type[256];
	bool first = true;

	snprintf(type, sizeof(type), "%s/%s", part->type, part->subtype);
	fputs("{\"type\": ", f);
	json_string(f, type);
	fputs(", \"params\": ", f);
	json_params(f, part->params, part->n_params);
	fputs(", \"disposition\": ", f);
	json_string(f, part->disposition);
	fputs(", \"disposition_params\": ", f);
	json_params(f, part->disposition_params, part->n_disposition_params);
	fputs(", \"filename\": ", f);
	json_string(f, part->filename);
	fputs(", \"encoding\": ", f);
	json_string(f, part->encoding);
	fputs(", \"id\": ", f);
	json_string(f, part->id);
	fputs(", \"description\": ", f);
	json_string(f, part->description);
	fputs(", \"flags\": [", f);
	for (size_t i = 0; i < N_ELEMENTS(flag_names); i++) {
		if (part->flags & flag_names[i].flag) {
			fputs(first ? "" : ", ", f);
			json_string(f, flag_names[i].name);
			first = false;
		}
	}
	fputs("], \"header\": ", f);
	json_range(f, &part->header);
	fputs(", \"body\": ", f);
	json_range(f, &part->body);
	if (part->envelope != NULL) {
		const struct mime_envelope *e = part->envelope;
		fputs(", \"subject\": ", f);
		json_string(f, e->subject);
		fputs(", \"from\": ", f);
		json_string(f, e->from);
	}
	fputs(", \"children\": [", f);
	for (const struct mime_part *c = part->children; c != NULL; c = c->next) {
		json_part(f, c);
		if (c->next != NULL)
			fputs(", ", f);
	}
	fputs("]}", f);
}

static char *read_file(const char *path, size_t *size_r)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[65536];
	size_t n;

	if (f == NULL)
		return NULL;
	buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(&b, chunk, n) < 0)
			abort();
	}
	fclose(f);
	*size_r = b.len;
	return b.data != NULL ? b.data : xstrdup("");
}

static int dump_file(const char *path)
{
	struct pool *pool = pool_new(8192);
	struct mime_part *root;
	struct buf out;
	size_t size;
	char *data = read_file(path, &size);

	if (data == NULL) {
		perror(path);
		return 1;
	}
	root = mime_parse(pool, data, size);
	printf("{\"size\": %zu, \"tree\": ", size);
	json_part(stdout, root);
	buf_init(&out, 0);
	if (imap_bodystructure_write(&out, root, true) < 0)
		abort();
	fputs(", \"bodystructure\": ", stdout);
	json_string(stdout, out.data);
	buf_reset(&out);
	if (imap_bodystructure_write(&out, root, false) < 0)
		abort();
	fputs(", \"body\": ", stdout);
	json_string(stdout, out.data);
	buf_reset(&out);
	if (imap_envelope_write(&out, root->envelope) < 0)
		abort();
	fputs(", \"envelope\": ", stdout);
	json_string(stdout, out.data);
	fputs("}\n", stdout);
	buf_release(&out);
	free(data);
	pool_free(&pool);
	return 0;
}

/* --- unit tests -------------------------------------------------------- */

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

static struct mime_part *parse(const char *msg)
{
	return mime_parse(pool, msg, strlen(msg));
}

/* child - the n-th child (from 1) of part */
static const struct mime_part *child(const struct mime_part *part, unsigned n)
{
	const struct mime_part *c = part->children;

	while (c != NULL && --n > 0)
		c = c->next;
	assert_non_null(c);
	return c;
}

/* text_of - the octets of a range as a string from the pool */
static const char *text_of(const char *msg, const struct mime_size *r)
{
	return p_strndup(pool, msg + r->offset, r->size);
}

static const char *param(const struct mime_param *params, unsigned n, const char *name)
{
	const struct mime_param *p = mime_param_get(params, n, name);
	return p == NULL ? NULL : p->utf8;
}

static void test_defaults(void **state)
{
	const char *msg = "From: a@example.com\nSubject: hi\n\nline 1\nline 2\n";
	struct mime_part *root = parse(msg);

	assert_string_equal(root->type, "text");
	assert_string_equal(root->subtype, "plain");
	assert_int_equal(root->n_params, 0);
	assert_null(root->encoding);
	assert_true(root->flags & MIME_PART_TEXT);
	assert_null(root->children);
	/* the header includes its empty line */
	assert_string_equal(text_of(msg, &root->header), "From: a@example.com\nSubject: hi\n\n");
	assert_int_equal(root->header.lines, 3);
	assert_int_equal(root->header.vsize, root->header.size + 3);
	assert_string_equal(text_of(msg, &root->body), "line 1\nline 2\n");
	assert_int_equal(root->body.lines, 2);
	assert_int_equal(root->body.vsize, 16);
	assert_non_null(root->envelope);
	assert_string_equal(root->envelope->subject, "hi");
	assert_null(root->envelope->date);
	assert_int_equal(mime_part_count(root), 1);

	/* nothing at all */
	root = mime_parse(pool, "", 0);
	assert_string_equal(root->type, "text");
	assert_int_equal(root->header.size + root->body.size, 0);
	assert_true(root->flags & MIME_PART_NO_HEADER_END);
}

/* The same message with LF and with CRLF: IMAP sizes and lines agree. */
static void test_crlf_and_lf(void **state)
{
	const char *lf = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\ny\n--b\n"
			 "Content-Type: text/html\n\n<p>\n--b--\n";
	const char *crlf = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\ny\r\n"
			   "--b\r\nContent-Type: text/html\r\n\r\n<p>\r\n--b--\r\n";
	struct mime_part *a = parse(lf), *b = parse(crlf);

	assert_int_equal(a->n_children, 2);
	assert_int_equal(b->n_children, 2);
	for (unsigned i = 1; i <= 2; i++) {
		const struct mime_part *ca = child(a, i), *cb = child(b, i);
		assert_int_equal(ca->body.vsize, cb->body.vsize);
		assert_int_equal(ca->body.lines, cb->body.lines);
		assert_int_equal(ca->header.vsize, cb->header.vsize);
		assert_int_equal(cb->body.vsize, cb->body.size);
	}
	/* the [CR]LF before a delimiter belongs to it (RFC 2046 5.1.1) */
	assert_string_equal(text_of(lf, &child(a, 1)->body), "x\ny");
	assert_string_equal(text_of(crlf, &child(b, 1)->body), "x\r\ny");
	assert_int_equal(child(b, 1)->body.lines, 1);
	assert_int_equal(a->body.vsize + a->header.vsize, strlen(crlf));
}

static const char nested_msg[] =
	"From: \"Doe, Jane\" <jane@example.com>\n"
	"Subject: nested\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\n"
	"\n"
	"preamble\n"
	"--outer\n"
	"Content-Type: multipart/alternative; boundary=inner\n"
	"\n"
	"--inner\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"\n"
	"plain\n"
	"--inner\n"
	"Content-Type: text/html\n"
	"\n"
	"<p>html</p>\n"
	"--inner--\n"
	"--outer\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"From: Alice <alice@example.com>\n"
	"Subject: forwarded\n"
	"Content-Type: multipart/mixed; boundary=fwd\n"
	"\n"
	"--fwd\n"
	"\n"
	"forwarded text\n"
	"--fwd\n"
	"Content-Type: application/pdf; name=\"r.pdf\"\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"JVBERi0xLjQK\n"
	"--fwd--\n"
	"--outer\n"
	"Content-Type: application/octet-stream\n"
	"Content-Disposition: attachment; filename=\"data.bin\"\n"
	"\n"
	"data\n"
	"--outer--\n"
	"epilogue\n";

static void test_nested(void **state)
{
	struct mime_part *root = parse(nested_msg);
	const struct mime_part *alt, *msg, *inner, *pdf, *bin;

	assert_true(root->flags & MIME_PART_MULTIPART);
	assert_int_equal(root->n_children, 3);
	assert_int_equal(mime_part_count(root), 9);

	alt = child(root, 1);
	assert_true(mime_part_is_type(alt, "multipart", "alternative"));
	assert_int_equal(alt->n_children, 2);
	assert_string_equal(text_of(nested_msg, &child(alt, 1)->body), "plain");
	assert_string_equal(param(child(alt, 1)->params, child(alt, 1)->n_params, "charset"), "utf-8");
	assert_string_equal(text_of(nested_msg, &child(alt, 2)->body), "<p>html</p>");
	assert_string_equal(text_of(nested_msg, &child(alt, 2)->header), "Content-Type: text/html\n\n");
	assert_int_equal(child(alt, 2)->depth, 2);

	msg = child(root, 2);
	assert_true(mime_part_is_type(msg, "message", "rfc822"));
	assert_true(msg->flags & MIME_PART_MESSAGE);
	assert_int_equal(msg->n_children, 1);
	inner = msg->children;
	assert_non_null(inner->envelope);
	assert_string_equal(inner->envelope->subject, "forwarded");
	assert_string_equal(inner->envelope->from, "Alice <alice@example.com>");
	/* the message/rfc822 body is the whole encapsulated message */
	assert_int_equal(msg->body.offset, inner->header.offset);
	assert_int_equal(msg->body.size, inner->header.size + inner->body.size);
	assert_true(str_has_prefix(text_of(nested_msg, &inner->header), "From: Alice"));
	assert_int_equal(inner->n_children, 2);
	assert_string_equal(text_of(nested_msg, &child(inner, 1)->body), "forwarded text");
	assert_string_equal(child(inner, 1)->type, "text"); /* empty header */
	pdf = child(inner, 2);
	assert_string_equal(pdf->encoding, "base64");
	assert_string_equal(pdf->filename, "r.pdf");
	assert_true(pdf->flags & MIME_PART_ATTACHMENT);
	assert_string_equal(text_of(nested_msg, &pdf->body), "JVBERi0xLjQK");
	assert_null(pdf->envelope);

	bin = child(root, 3);
	assert_string_equal(bin->disposition, "attachment");
	assert_string_equal(bin->filename, "data.bin");
	assert_string_equal(text_of(nested_msg, &bin->body), "data");
	/* preamble and epilogue stay in the multipart's body */
	assert_true(str_has_prefix(text_of(nested_msg, &root->body), "preamble\n"));
	assert_true(str_has_suffix(text_of(nested_msg, &root->body), "--outer--\nepilogue\n"));
}

static void test_rfc2231(void **state)
{
	struct mime_part *root = parse(
		"Content-Type: application/octet-stream;\n"
		" title*1=\" world\"; TITLE*0=hello;\n"
		" name*0*=utf-8''%E2%82%AC; name*2*=%2Etxt; name*1=\" rates\"\n"
		"Content-Disposition: attachment; filename=fallback.txt;\n"
		" filename*=iso-8859-1'de'M%E4rz.txt\n"
		"\n");
	const struct mime_param *p;

	assert_string_equal(param(root->params, root->n_params, "title"), "hello world");
	p = mime_param_get(root->params, root->n_params, "title");
	assert_false(p->extended);
	assert_string_equal(p->value, "hello world");
	p = mime_param_get(root->params, root->n_params, "name");
	assert_string_equal(p->utf8, "\xe2\x82\xac rates.txt");
	/* 8-bit: IMAP gets one RFC 2231 value, plain sections %-encoded */
	assert_true(p->extended);
	assert_string_equal(p->value, "utf-8''%E2%82%AC%20rates%2Etxt");
	/* the RFC 2231 form wins over the plain fallback */
	assert_string_equal(root->filename, "M\xc3\xa4rz.txt");
	assert_int_equal(root->n_disposition_params, 2);

	/* printable ASCII after decoding is sent plain */
	root = parse("Content-Type: text/plain; charset*=us-ascii'en'us%2Dascii\n\n");
	p = mime_param_get(root->params, root->n_params, "charset");
	assert_false(p->extended);
	assert_true(p->rfc2231);
	assert_string_equal(p->value, "us-ascii");

	/* no charset'lang' prefix, repeated and missing sections, bad %XX */
	root = parse("Content-Type: text/plain; a*=100%25; b*0=x; b*0=y; b*2=z; c*=''%zz%41\n\n");
	assert_string_equal(param(root->params, root->n_params, "a"), "100%");
	assert_string_equal(param(root->params, root->n_params, "b"), "xz");
	assert_string_equal(param(root->params, root->n_params, "c"), "%zzA");
	/* a section number past the limit is not a parameter */
	root = parse("Content-Type: text/plain; d*99999999999=x\n\n");
	assert_null(param(root->params, root->n_params, "d"));
}

static void test_params_lenient(void **state)
{
	struct mime_part *root = parse(
		"Content-Type: Text/Plain (comment); Charset=\"UTF-8\" (more);\n"
		" name=my file.txt; path=\"C:\\dir\\f.txt\"; q=\"a\\\"b\\\\c\";\n"
		" noequals; empty=; =novalue; semi=\"a;b\"\n"
		"\n");

	assert_string_equal(root->type, "text");
	assert_string_equal(root->subtype, "plain");
	assert_string_equal(param(root->params, root->n_params, "charset"), "UTF-8");
	assert_string_equal(param(root->params, root->n_params, "name"), "my file.txt");
	assert_string_equal(param(root->params, root->n_params, "path"), "C:\\dir\\f.txt");
	assert_string_equal(param(root->params, root->n_params, "q"), "a\"b\\c");
	assert_null(param(root->params, root->n_params, "noequals"));
	assert_string_equal(param(root->params, root->n_params, "empty"), "");
	assert_string_equal(param(root->params, root->n_params, "semi"), "a;b");
	assert_string_equal(root->filename, "my file.txt");

	/* invalid type: text/plain, parameters kept (RFC 2045 5.2) */
	root = parse("Content-Type: text; charset=koi8-r\nContent-Transfer-Encoding: ?x\n\n");
	assert_true(mime_part_is_type(root, "text", "plain"));
	assert_string_equal(param(root->params, root->n_params, "charset"), "koi8-r");
	assert_null(root->encoding);
	/* unterminated quote runs to the end */
	root = parse("Content-Type: image/png; name=\"a.png; x=y\n\n");
	assert_string_equal(param(root->params, root->n_params, "name"), "a.png; x=y");
	/* encoded-words in a parameter are decoded for people */
	root = parse("Content-Type: image/png; name=\"=?UTF-8?B?w6kucG5n?=\"\n\n");
	assert_string_equal(root->filename, "\xc3\xa9.png");
	assert_string_equal(mime_param_get(root->params, root->n_params, "name")->value,
			    "=?UTF-8?B?w6kucG5n?=");
}

static void test_boundary_problems(void **state)
{
	const char *wrong = "Content-Type: multipart/mixed; boundary=AbC\n\n--abc\n\nhello\n--abc--\n";
	struct mime_part *root = parse(wrong);
	const struct mime_part *c;

	/* RFC 2046 boundaries are case-sensitive: none found, one text part */
	assert_true(root->flags & MIME_PART_NO_BOUNDARY);
	assert_int_equal(root->n_children, 1);
	c = root->children;
	assert_true(c->flags & MIME_PART_SYNTHETIC);
	assert_true(mime_part_is_type(c, "text", "plain"));
	assert_int_equal(c->header.size, 0);
	assert_int_equal(c->body.offset, root->body.offset);
	assert_int_equal(c->body.size, root->body.size);

	/* no boundary parameter at all */
	root = parse("Content-Type: multipart/mixed\n\nbody\n");
	assert_true(root->flags & MIME_PART_NO_BOUNDARY);
	assert_int_equal(root->n_children, 1);

	/* missing close-delimiters: the inner ends at the outer boundary */
	const char *open = "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
			   "Content-Type: multipart/alternative; boundary=i\n\n--i\n\nin\n--o\n\nlast\n";
	root = parse(open);
	assert_true(root->flags & MIME_PART_NO_END);
	assert_int_equal(root->n_children, 2);
	assert_true(child(root, 1)->flags & MIME_PART_NO_END);
	assert_string_equal(text_of(open, &child(child(root, 1), 1)->body), "in");
	assert_string_equal(text_of(open, &child(root, 2)->body), "last\n");

	/* transport padding, prefixes that are no boundary, epilogue */
	const char *pad = "Content-Type: multipart/mixed; boundary=\"b 1\"\n\n--b 1 \t\n\n--b 10\n"
			  "--b 1x\n--b 1\t\n\ntwo\n--b 1--  \n--b 1\nepilogue\n";
	root = parse(pad);
	assert_int_equal(root->n_children, 2);
	assert_false(root->flags & MIME_PART_NO_END);
	assert_string_equal(text_of(pad, &child(root, 1)->body), "--b 10\n--b 1x");
	assert_string_equal(text_of(pad, &child(root, 2)->body), "two");

	/* delimiter lines in a row make no empty parts */
	root = parse("Content-Type: multipart/mixed; boundary=c\n\n--c\n--c\n\none\n--c\n--c\n\ntwo\n--c--\n");
	assert_int_equal(root->n_children, 2);

	/* an inner multipart reusing the outer boundary: innermost first */
	root = parse("Content-Type: multipart/mixed; boundary=s\n\n--s\n"
		     "Content-Type: multipart/alternative; boundary=s\n\n--s\n\na\n--s\n\nb\n--s--\n"
		     "--s\nContent-Type: image/gif\n\nGIF\n--s--\n");
	assert_int_equal(root->n_children, 2);
	assert_int_equal(child(root, 1)->n_children, 2);
	assert_string_equal(child(root, 2)->subtype, "gif");

	/* a boundary with ':' is not read as a header field */
	root = parse("Content-Type: multipart/mixed; boundary=\"a:b\"\n\n--a:b\nContent-Type: text/html\n--a:b--\n");
	assert_int_equal(root->n_children, 1);
	assert_string_equal(child(root, 1)->subtype, "html");
	assert_int_equal(child(root, 1)->body.size, 0);
}

static void test_header_end(void **state)
{
	const char *msg = "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n"
			  "<p>no empty line</p>\n--b\njust text\n--b\nContent-Type: text/plain\n--b--\n";
	struct mime_part *root = parse(msg);
	const struct mime_part *c;

	assert_int_equal(root->n_children, 3);
	c = child(root, 1);
	assert_true(c->flags & MIME_PART_NO_HEADER_END);
	assert_string_equal(c->subtype, "html");
	assert_string_equal(text_of(msg, &c->body), "<p>no empty line</p>");
	c = child(root, 2);
	assert_int_equal(c->header.size, 0);
	assert_string_equal(text_of(msg, &c->body), "just text");
	/* a header cut short by the boundary gives its last LF to it */
	c = child(root, 3);
	assert_string_equal(text_of(msg, &c->header), "Content-Type: text/plain");
	assert_int_equal(c->body.size, 0);
	assert_int_equal(c->body.offset, c->header.offset + c->header.size);

	/* mbox From_ line, obsolete "Name :", folding, first occurrence wins,
	 * 8-bit, a continuation with no field before it */
	msg = "From someone Mon Jun  3 10:00:00 2024\n  stray continuation\nSubject : first\n"
	      "Subject: second\nFrom: J\xc3\xb6rg <j@example.de>\nContent-Type: text/plain;\n"
	      "\tcharset=utf-8\n\nbody\n";
	root = parse(msg);
	assert_string_equal(root->envelope->subject, "first");
	assert_string_equal(root->envelope->from, "J\xc3\xb6rg <j@example.de>");
	assert_string_equal(param(root->params, root->n_params, "charset"), "utf-8");
	assert_true(root->flags & MIME_PART_8BIT_HEADER);
	assert_false(root->flags & MIME_PART_NO_HEADER_END);
	assert_string_equal(text_of(msg, &root->body), "body\n");

	/* folded values are unfolded, NULs dropped */
	root = mime_parse(pool, "Subject: a\r\n  b\0c\r\n\r\n", 21);
	assert_string_equal(root->envelope->subject, "a  bc");
}

static void test_message_parts(void **state)
{
	struct mime_part *root;
	const struct mime_part *c;

	/* base64 message/rfc822 (RFC 2046 5.2.1 forbids it): opaque */
	root = parse("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
		     "U3ViamVjdDogaGkKCmhpCg==\n");
	assert_true(root->flags & MIME_PART_TRUNCATED);
	assert_false(root->flags & MIME_PART_MESSAGE);
	assert_null(root->children);

	/* multipart/digest: parts default to message/rfc822 */
	root = parse("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\n1\n"
		     "--d\nContent-Type: text/plain\n\n2\n--d--\n");
	c = child(root, 1);
	assert_true(mime_part_is_type(c, "message", "rfc822"));
	assert_string_equal(c->children->envelope->subject, "one");
	assert_true(mime_part_is_type(child(root, 2), "text", "plain"));

	/* message/rfc822 at the top, ending without a body */
	root = parse("Content-Type: message/rfc822\n\nSubject: inner");
	assert_true(root->flags & MIME_PART_MESSAGE);
	assert_string_equal(root->children->envelope->subject, "inner");
	assert_true(root->children->flags & MIME_PART_NO_HEADER_END);
}

static void test_signed(void **state)
{
	static const struct {
		const char *header;
		bool is_signed;
	} cases[] = {
		{ "Content-Type: application/pkcs7-mime; smime-type=signed-data\n", true },
		{ "Content-Type: application/x-pkcs7-mime\n", true },
		{ "Content-Type: application/pkcs7-signature; name=smime.p7s\n", true },
		{ "Content-Type: application/X-PKCS7-Signature\n", true },
		{ "Content-Type: application/octet-stream; name=\"fattura.xml.p7m\"\n", true },
		{ "Content-Disposition: attachment; filename=\"CONTRATTO.PDF.P7M\"\n", true },
		{ "Content-Disposition: attachment; filename*=utf-8''atto%20firmato.m7m\n", true },
		{ "Content-Type: application/timestamped-data; name=x.tsd\n", true },
		{ "Content-Type: application/octet-stream; name=\"fattura.p7m.txt\"\n", false },
		{ "Content-Type: application/pdf; name=p7m\n", false },
		{ "Content-Type: text/plain\n", false },
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		char *msg = p_printf(pool, "%s\nbody\n", cases[i].header);
		struct mime_part *root = parse(msg);
		assert_int_equal(!!(root->flags & MIME_PART_SIGNED), cases[i].is_signed);
	}
}

/* depth_bomb - n multiparts (or messages) nested in each other */
static char *depth_bomb(unsigned n, bool messages)
{
	struct buf b;

	buf_init(&b, 0);
	for (unsigned i = 0; i < n; i++) {
		int r = messages ? buf_printf(&b, "Content-Type: message/rfc822\n\n")
				 : buf_printf(&b, "Content-Type: multipart/mixed; boundary=b%u\n\n--b%u\n", i, i);
		assert_int_equal(r, 0);
	}
	assert_int_equal(buf_append_str(&b, "\ndeepest\n"), 0);
	return b.data;
}

static void test_limits(void **state)
{
	for (int messages = 0; messages < 2; messages++) {
		char *msg = depth_bomb(MIME_MAX_DEPTH + 50, messages);
		struct mime_part *root = parse(msg);
		const struct mime_part *p = root;
		unsigned depth = 0;

		while (p->children != NULL) {
			p = p->children;
			depth++;
		}
		assert_int_equal(depth, MIME_MAX_DEPTH);
		assert_int_equal(p->depth, MIME_MAX_DEPTH);
		assert_true(p->flags & MIME_PART_TRUNCATED);
		free(msg);
	}

	/* more parts than the limit: never more than the limit */
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(buf_append_str(&b, "Content-Type: multipart/mixed; boundary=p\n\n"), 0);
	for (unsigned i = 0; i < MIME_MAX_PARTS + 100; i++)
		assert_int_equal(buf_append_str(&b, "--p\n\nx\n"), 0);
	struct mime_part *root = mime_parse(pool, b.data, b.len);
	assert_int_equal(mime_part_count(root), MIME_MAX_PARTS);
	assert_int_equal(root->n_children, MIME_MAX_PARTS - 1);
	/* the last part holds what could not be split */
	assert_true(str_has_suffix(text_of(b.data, &child(root, MIME_MAX_PARTS - 1)->body),
				   "\n--p\n\nx\n"));
	buf_release(&b);
}

/* Junk of every kind parses into something, never crashes. */
static void test_garbage(void **state)
{
	static const char *const junk[] = {
		"\n", "\r\n", "\r", ":", "--", "--\n--",
		"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n",
		"Content-Type: multipart/mixed; boundary=x\n\n--x",
		"Content-Type: multipart/mixed; boundary=x\n\n--x--",
		"Content-Type: message/rfc822\n",
		"Content-Type: message/rfc822\n\n",
		"Content-Type: ;;;;===\"\"\"(((\n\n",
		"Content-Disposition: ;\n\n",
		"Content-Type: text/plain; a*0*='''; a*1*=%; a*2*=%%\n\n",
	};

	for (size_t i = 0; i < N_ELEMENTS(junk); i++) {
		struct mime_part *root = parse(junk[i]);
		assert_non_null(root->type);
		assert_int_equal(root->body.offset + root->body.size, strlen(junk[i]));
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_crlf_and_lf),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_rfc2231),
		cmocka_unit_test(test_params_lenient),
		cmocka_unit_test(test_boundary_problems),
		cmocka_unit_test(test_header_end),
		cmocka_unit_test(test_message_parts),
		cmocka_unit_test(test_signed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_garbage),
	};

	if (argc > 1)
		return dump_file(argv[1]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
