/* SPDX-License-Identifier: ISC */
/* test-header.c - the incremental header parser (fields, folding, the
 * header/body split, invalid lines, 8-bit, EOF, both limits exactly at and
 * one past), every vector fed whole and 1..N bytes at a time; the lookups;
 * and the Received: field. */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "mail/header.h"

#include <setjmp.h>
#include <cmocka.h>

struct hvec {
	const char *name;
	const char *in;
	size_t in_len;     /* 0: strlen */
	bool eof;          /* call header_finish() after feeding everything */
	int ret;           /* the last header_feed() result */
	const char *body;  /* in[consumed..]: what the caller keeps as body */
	const char *fields; /* "name=value|..." with \xHH escapes */
	unsigned flags;
	enum header_end end;
};

static const struct hvec hvecs[] = {
	{ "simple", "From: a@b\r\nTo: c@d\r\nSubject: hi\r\n\r\nbody\r\n", 0, false, 1, "body\r\n",
	  "From=a@b|To=c@d|Subject=hi", 0, HEADER_END_BLANK_LINE },
	{ "folded", "Subject: a\r\n b\r\n\tc\r\nX: y\r\n\r\n", 0, false, 1, "",
	  "Subject=a b\tc|X=y", 0, HEADER_END_BLANK_LINE },
	{ "fold then blank", "A: 1\r\n \r\n\r\n", 0, false, 1, "", "A=1", 0,
	  HEADER_END_BLANK_LINE },
	{ "blanks trimmed", "A:   padded  \t\r\n\r\n", 0, false, 1, "", "A=padded", 0,
	  HEADER_END_BLANK_LINE },
	{ "no space", "A:b\r\n\r\n", 0, false, 1, "", "A=b", 0, HEADER_END_BLANK_LINE },
	{ "empty value", "X-Empty:\r\nY: \r\n\r\n", 0, false, 1, "", "X-Empty=|Y=", 0,
	  HEADER_END_BLANK_LINE },
	{ "colon in value", "A: b: c\r\n\r\n", 0, false, 1, "", "A=b: c", 0, HEADER_END_BLANK_LINE },
	{ "obs space before colon", "Subject : x\r\n\r\n", 0, false, 1, "", "Subject=x", 0,
	  HEADER_END_BLANK_LINE },
	{ "no header", "\r\nbody", 0, false, 1, "body", "", 0, HEADER_END_BLANK_LINE },
	{ "body keeps blank lines", "A: 1\r\n\r\n\r\nB: 2\r\n", 0, false, 1, "\r\nB: 2\r\n", "A=1", 0,
	  HEADER_END_BLANK_LINE },
	{ "8bit", "Subject: caf\xc3\xa9\r\n\r\n", 0, false, 1, "", "Subject=caf\\xc3\\xa9",
	  HEADER_8BIT, HEADER_END_BLANK_LINE },
	{ "NUL in value", "X: a\0b\r\n\r\n", 10, false, 1, "", "X=a\\x00b", 0,
	  HEADER_END_BLANK_LINE },
	{ "bare LF", "A: 1\nB: 2\n folded\n\nbody", 0, false, 1, "body", "A=1|B=2 folded",
	  HEADER_BARE_LF, HEADER_END_BLANK_LINE },
	{ "bare LF blank", "A: 1\r\n\nbody", 0, false, 1, "body", "A=1", HEADER_BARE_LF,
	  HEADER_END_BLANK_LINE },
	{ "lone CR in value", "A: x\ry\r\n\r\n", 0, false, 1, "", "A=x\\x0dy", 0,
	  HEADER_END_BLANK_LINE },
	/* lines that are no field stay in the header, flagged */
	{ "mbox From line", "From a@b Mon Jan 1\r\nSubject: x\r\n\r\n", 0, false, 1, "",
	  "=From a@b Mon Jan 1|Subject=x", HEADER_INVALID, HEADER_END_BLANK_LINE },
	{ "no colon", "garbage\r\n\r\n", 0, false, 1, "", "=garbage", HEADER_INVALID,
	  HEADER_END_BLANK_LINE },
	{ "empty name", ": x\r\n\r\n", 0, false, 1, "", "=: x", HEADER_INVALID,
	  HEADER_END_BLANK_LINE },
	{ "8bit name", "S\xc3\xa9: x\r\n\r\n", 0, false, 1, "", "=S\\xc3\\xa9: x",
	  HEADER_INVALID | HEADER_8BIT, HEADER_END_BLANK_LINE },
	{ "leading blank", " x\r\n y\r\nA: b\r\n\r\n", 0, false, 1, "", "=x y|A=b", HEADER_INVALID,
	  HEADER_END_BLANK_LINE },
	{ "line starting with CR", "\rX: y\r\n\r\n", 0, false, 1, "", "=\\x0dX: y", HEADER_INVALID,
	  HEADER_END_BLANK_LINE },
	/* the end of input before the empty line */
	{ "unfinished", "A: 1\r\nB: 2", 0, false, 0, "", "A=1", 0, HEADER_END_NONE },
	{ "EOF mid-line", "A: 1\r\nB: 2", 0, true, 0, "", "A=1|B=2", 0, HEADER_END_EOF },
	{ "EOF after line", "A: 1\r\n", 0, true, 0, "", "A=1", 0, HEADER_END_EOF },
	{ "EOF in fold", "A: 1\r\n 2", 0, true, 0, "", "A=1 2", 0, HEADER_END_EOF },
	{ "EOF after CR", "A: 1\r\n\r", 0, true, 0, "", "A=1|=\\x0d", HEADER_INVALID,
	  HEADER_END_EOF },
	{ "EOF empty", "", 0, true, 0, "", "", 0, HEADER_END_EOF },
	{ "EOF body only", "Hello world\r\n", 0, true, 0, "", "=Hello world", HEADER_INVALID,
	  HEADER_END_EOF },
};

static void escape_into(struct buf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int ret = c < 0x20 && c != '\t' ? buf_printf(b, "\\x%02x", c) :
			  c >= 0x80		? buf_printf(b, "\\x%02x", c) :
						  buf_append(b, &s[i], 1);
		assert_int_equal(ret, 0);
	}
}

/* describe - the fields as "name=value|..." */
static char *describe(const struct header *h)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(buf_append_str(&b, ""), 0);
	for (size_t i = 0; i < header_field_count(h); i++) {
		const struct header_field *f = header_field_at(h, i);
		if (i > 0)
			assert_int_equal(buf_append_str(&b, "|"), 0);
		escape_into(&b, f->name, strlen(f->name));
		assert_int_equal(buf_append_str(&b, "="), 0);
		escape_into(&b, f->value, f->value_len);
	}
	return b.data;
}

struct hresult {
	struct header *h;
	int ret;
	size_t consumed;
};

static struct hresult hfeed(const char *in, size_t len, size_t chunk, bool eof)
{
	struct hresult r = { .h = header_new(), .ret = 0, .consumed = 0 };
	const char *error;

	do {
		size_t n = chunk == 0 || len - r.consumed < chunk ? len - r.consumed : chunk, used;
		char *piece = xmalloc(n + 1);
		memcpy(piece, in + r.consumed, n);
		r.ret = header_feed(r.h, piece, n, &used, &error);
		free(piece);
		assert_true(used <= n);
		r.consumed += used;
		if (r.ret != 0)
			break;
		assert_int_equal(used, n);
	} while (r.consumed < len);
	if (eof && r.ret == 0)
		assert_int_equal(header_finish(r.h), 0);
	return r;
}

static void check_hvec(const struct hvec *v, size_t chunk)
{
	size_t len = v->in_len != 0 ? v->in_len : strlen(v->in), raw_len;
	struct hresult r = hfeed(v->in, len, chunk, v->eof);
	char *fields = describe(r.h);

	if (r.ret != v->ret)
		fail_msg("%s (chunk %zu): ret %d, want %d", v->name, chunk, r.ret, v->ret);
	if (strcmp(fields, v->fields) != 0)
		fail_msg("%s (chunk %zu): fields '%s', want '%s'", v->name, chunk, fields, v->fields);
	if (header_flags(r.h) != v->flags)
		fail_msg("%s (chunk %zu): flags %#x, want %#x", v->name, chunk, header_flags(r.h),
			 v->flags);
	assert_int_equal(header_end(r.h), v->end);
	if (r.ret == 1)
		assert_string_equal(v->in + r.consumed, v->body);
	/* the raw copy is the input exactly, and each field points into it */
	const char *raw = header_raw(r.h, &raw_len);
	assert_int_equal(raw_len, r.consumed);
	assert_memory_equal(raw, v->in, raw_len);
	for (size_t i = 0; i < header_field_count(r.h); i++) {
		const struct header_field *f = header_field_at(r.h, i);
		assert_true(f->raw_offset + f->raw_len <= raw_len);
		if (f->name[0] != '\0')
			assert_memory_equal(raw + f->raw_offset, f->name, strlen(f->name));
		if (i + 1 < header_field_count(r.h))
			assert_int_equal(f->raw_offset + f->raw_len,
					 header_field_at(r.h, i + 1)->raw_offset);
	}
	assert_null(header_field_at(r.h, header_field_count(r.h)));
	free(fields);
	header_free(&r.h);
	assert_null(r.h);
}

static void test_vectors(void **state)
{
	for (size_t i = 0; i < N_ELEMENTS(hvecs); i++) {
		size_t len = hvecs[i].in_len != 0 ? hvecs[i].in_len : strlen(hvecs[i].in);
		check_hvec(&hvecs[i], 0);
		for (size_t chunk = 1; chunk <= len; chunk++)
			check_hvec(&hvecs[i], chunk);
	}
}

static void test_lookup(void **state)
{
	static const char msg[] =
		"Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
		"received: from c\r\n by d; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
		"RECEIVED: from e by f; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
		"Delivered-To: alice@example.com\r\n"
		"Auto-Submitted: auto-replied\r\n"
		"List-Id: Friends <friends.lists.example.com>\r\n"
		"Precedence: bulk\r\n"
		"Message-ID: <1@example.com>\r\n"
		"delivered-to: bob@example.com\r\n"
		"Received-SPF: pass\r\n"
		"X-Received: no\r\n"
		"\r\n"
		"Received: in the body\r\n";
	struct hresult r = hfeed(msg, strlen(msg), 0, false);
	const struct header_field *f;
	size_t iter = 0;

	assert_int_equal(r.ret, 1);
	assert_int_equal(header_count(r.h, "Received"), 3);
	assert_int_equal(header_count(r.h, "Delivered-To"), 2);
	assert_int_equal(header_count(r.h, "Resent-From"), 0);
	f = header_find(r.h, "DELIVERED-TO", &iter);
	assert_non_null(f);
	assert_string_equal(f->value, "alice@example.com");
	f = header_find(r.h, "DELIVERED-TO", &iter);
	assert_non_null(f);
	assert_string_equal(f->value, "bob@example.com");
	assert_null(header_find(r.h, "DELIVERED-TO", &iter));
	assert_null(header_find(r.h, "DELIVERED-TO", &iter));
	iter = 0;
	assert_string_equal(header_find(r.h, "Auto-Submitted", &iter)->value, "auto-replied");
	iter = 0;
	assert_string_equal(header_find(r.h, "list-id", &iter)->value,
			    "Friends <friends.lists.example.com>");
	iter = 0;
	assert_string_equal(header_find(r.h, "Precedence", &iter)->value, "bulk");
	iter = 0;
	assert_string_equal(header_find(r.h, "Message-Id", &iter)->value, "<1@example.com>");
	iter = 0;
	f = header_find(r.h, "Received", &iter);
	f = header_find(r.h, "Received", &iter);
	assert_string_equal(f->value, "from c by d; Mon, 1 Jan 2024 00:00:00 +0000");
	/* an invalid line never matches, even by an empty name */
	header_free(&r.h);
	r = hfeed("junk\r\n\r\n", 8, 0, false);
	assert_int_equal(header_count(r.h, ""), 0);
	iter = 0;
	assert_null(header_find(r.h, "", &iter));
	header_free(&r.h);
	header_free(&r.h); /* NULL is fine */
}

/* test_limits - HEADER_FIELDS_MAX and HEADER_BLOCK_MAX, at and one past. */
static void test_limits(void **state)
{
	struct buf b;
	struct header *h;
	size_t used;
	const char *error;

	/* fields: "A: x\r\n" each */
	buf_init(&b, 0);
	for (int i = 0; i < HEADER_FIELDS_MAX; i++)
		assert_int_equal(buf_append_str(&b, "A: x\r\n"), 0);
	assert_int_equal(buf_append_str(&b, "\r\n"), 0);
	h = header_new();
	assert_int_equal(header_feed(h, b.data, b.len, &used, &error), 1);
	assert_int_equal(header_count(h, "A"), HEADER_FIELDS_MAX);
	header_free(&h);
	b.len -= 2;
	assert_int_equal(buf_append_str(&b, "B: y\r\n\r\n"), 0);
	h = header_new();
	assert_int_equal(header_feed(h, b.data, b.len, &used, &error), -1);
	assert_string_equal(error, "too many header fields");
	assert_int_equal(used, HEADER_FIELDS_MAX * 6); /* the 'B' was not taken */
	/* a failed parser stays failed */
	assert_int_equal(header_feed(h, "\r\n", 2, &used, &error), -1);
	assert_int_equal(header_finish(h), -1);
	header_free(&h);
	/* continuation lines are not fields */
	buf_reset(&b);
	assert_int_equal(buf_append_str(&b, "A: x\r\n"), 0);
	for (int i = 0; i < HEADER_FIELDS_MAX + 10; i++)
		assert_int_equal(buf_append_str(&b, " y\r\n"), 0);
	assert_int_equal(buf_append_str(&b, "\r\n"), 0);
	h = header_new();
	assert_int_equal(header_feed(h, b.data, b.len, &used, &error), 1);
	header_free(&h);

	/* block: one field filling HEADER_BLOCK_MAX with the empty line */
	buf_reset(&b);
	assert_int_equal(buf_append_str(&b, "A: "), 0);
	while (b.len < HEADER_BLOCK_MAX - 4)
		assert_int_equal(buf_append_str(&b, "x"), 0);
	assert_int_equal(buf_append_str(&b, "\r\n\r\nbody"), 0);
	h = header_new();
	assert_int_equal(header_feed(h, b.data, b.len, &used, &error), 1);
	assert_int_equal(used, HEADER_BLOCK_MAX);
	header_free(&h);
	/* one octet more, whole and one byte at a time */
	buf_reset(&b);
	assert_int_equal(buf_append_str(&b, "A: "), 0);
	while (b.len < HEADER_BLOCK_MAX - 3)
		assert_int_equal(buf_append_str(&b, "x"), 0);
	assert_int_equal(buf_append_str(&b, "\r\n\r\n"), 0);
	h = header_new();
	assert_int_equal(header_feed(h, b.data, b.len, &used, &error), -1);
	assert_string_equal(error, "header too large");
	assert_int_equal(used, HEADER_BLOCK_MAX);
	header_free(&h);
	h = header_new();
	size_t total = 0;
	int ret = 0;
	for (size_t i = 0; i < b.len && ret == 0; i++) {
		ret = header_feed(h, b.data + i, 1, &used, &error);
		total += used;
	}
	assert_int_equal(ret, -1);
	assert_int_equal(total, HEADER_BLOCK_MAX);
	header_free(&h);
	buf_release(&b);
}

static void test_received(void **state)
{
	struct pool *pool = pool_new(0);
	struct header_received r = {
		.helo = "mail.example.org",
		.rdns = "mail.example.org",
		.ip = "192.0.2.1",
		.by = "mx.example.com",
		.id = "4ABC123",
		.rcpt = "alice@example.com",
		.esmtp = true,
		.tls_used = true,
		.time = 1700000000,
		.tz_minutes = 60,
	};

	assert_string_equal(header_received(pool, &r),
			    "Received: from mail.example.org (mail.example.org [192.0.2.1])\r\n"
			    "\tby mx.example.com with ESMTPS id 4ABC123\r\n"
			    "\tfor <alice@example.com>;\r\n"
			    "\tTue, 14 Nov 2023 23:13:20 +0100\r\n");
	/* no rDNS, IPv6, authenticated, TLS details, several recipients */
	r.rdns = NULL;
	r.ip = "2001:db8::25";
	r.authenticated = true;
	r.tls = "TLSv1.3 TLS_AES_256_GCM_SHA384 (x)";
	r.rcpt = NULL;
	r.tz_minutes = -5 * 60;
	assert_string_equal(header_received(pool, &r),
			    "Received: from mail.example.org ([IPv6:2001:db8::25])\r\n"
			    "\tby mx.example.com with ESMTPSA (TLSv1.3 TLS_AES_256_GCM_SHA384 ?x?)"
			    " id 4ABC123;\r\n"
			    "\tTue, 14 Nov 2023 17:13:20 -0500\r\n");
	/* the protocol names of RFC 3848 and RFC 6531 */
	static const struct {
		bool esmtp, tls, auth, utf8;
		const char *with;
	} protos[] = {
		{ false, false, false, false, " with SMTP " },
		{ true, false, false, false, " with ESMTP " },
		{ true, true, false, false, " with ESMTPS " },
		{ true, false, true, false, " with ESMTPA " },
		{ true, true, true, false, " with ESMTPSA " },
		{ true, false, false, true, " with UTF8SMTP " },
		{ true, true, false, true, " with UTF8SMTPS " },
		{ true, false, true, true, " with UTF8SMTPA " },
		{ true, true, true, true, " with UTF8SMTPSA " },
	};
	r.tls = NULL;
	for (size_t i = 0; i < N_ELEMENTS(protos); i++) {
		r.esmtp = protos[i].esmtp;
		r.tls_used = protos[i].tls;
		r.authenticated = protos[i].auth;
		r.smtputf8 = protos[i].utf8;
		assert_non_null(strstr(header_received(pool, &r), protos[i].with));
	}
	/* hostile strings cannot end the field or a clause */
	r.helo = "evil\r\nX-Injected: 1 (a);b";
	r.rdns = "";
	r.id = NULL;
	r.ip = "192.0.2.9";
	r.rcpt = "a>b\r\n@x\xc3\xa9";
	r.esmtp = true;
	r.smtputf8 = false;
	r.tls_used = r.authenticated = false;
	assert_string_equal(header_received(pool, &r),
			    "Received: from evil??X-Injected:?1??a??b ([192.0.2.9])\r\n"
			    "\tby mx.example.com with ESMTP\r\n"
			    "\tfor <a?b??@x?\?>;\r\n"
			    "\tTue, 14 Nov 2023 17:13:20 -0500\r\n");
	r.smtputf8 = true; /* RFC 6532: UTF-8 may appear once SMTPUTF8 is in force */
	assert_non_null(strstr(header_received(pool, &r), "for <a?b??@x\xc3\xa9>;"));
	r.helo = NULL;
	assert_non_null(strstr(header_received(pool, &r), "from unknown ([192.0.2.9])"));
	/* what the parser makes of it */
	struct hresult hr = hfeed(header_received(pool, &r), strlen(header_received(pool, &r)), 0,
				  true);
	assert_int_equal(header_count(hr.h, "Received"), 1);
	header_free(&hr.h);
	/* an unwritable date */
	r.tz_minutes = 100 * 60;
	assert_null(header_received(pool, &r));
	pool_free(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_received),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
