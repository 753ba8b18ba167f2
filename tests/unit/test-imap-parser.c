/* SPDX-License-Identifier: ISC */
/*
 * test-imap-parser.c - the IMAP command parser: the client commands of
 * RFC 3501/9051 (and the extensions we advertise) parse to the expected
 * tree; every input gives the same transcript fed whole, byte by byte and
 * in random pieces; errors give BAD and the next command parses; limits,
 * flags, streamed literals and the argument readers.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "imap/imap-parser.h"

#include <setjmp.h>
#include <cmocka.h>

#define S(lit) lit, sizeof(lit) - 1

/*
 * The transcript: one line per event, literal data merged, so that any
 * two ways of feeding the same bytes can be compared as strings.
 *   CMD <tag> <name>[ <args>]     (imap_args_write form)
 *   ERR <tag|*> <code> <skip|end|fatal> <text>
 *   +                             (continuation wanted)
 *   LIT <size> <sync|nonsync>[ ~] <args so far>  (then ACCEPT or REFUSE)
 *   DATA <bytes>
 */
struct run {
	struct imap_parser *parser;
	struct buf out, data;
	bool refuse;   /* refuse streamed literals */
};

static const char *const code_names[] = {
	[IMAP_PARSER_ERROR_NONE] = "NONE",
	[IMAP_PARSER_ERROR_SYNTAX] = "SYNTAX",
	[IMAP_PARSER_ERROR_TOOBIG] = "TOOBIG",
	[IMAP_PARSER_ERROR_LIMIT] = "LIMIT",
};

static void out_add(struct run *r, const char *s)
{
	assert_int_equal(buf_append_str(&r->out, s), 0);
}

static void flush_data(struct run *r)
{
	if (r->data.len == 0)
		return;
	out_add(r, "DATA ");
	assert_int_equal(buf_append(&r->out, r->data.data, r->data.len), 0);
	out_add(r, "\n");
	buf_reset(&r->data);
}

static void write_command(struct run *r, const char *prefix, const struct imap_command *cmd)
{
	out_add(r, prefix);
	out_add(r, cmd->tag);
	out_add(r, " ");
	out_add(r, cmd->name);
	if (cmd->count > 0) {
		out_add(r, " ");
		assert_int_equal(imap_args_write(&r->out, cmd->args, cmd->count), 0);
	}
	out_add(r, "\n");
}

static void run_feed(struct run *r, const unsigned char *in, size_t len)
{
	size_t off = 0;
	unsigned loops = 0;

	while (off < len) {
		enum imap_parser_event event = IMAP_PARSER_EVENT_COMMAND;
		size_t used = (size_t)-1;
		int ret = imap_parser_feed(r->parser, in + off, len - off, &used, &event);

		assert_true(used <= len - off);
		assert_true(++loops < 100000);
		if (ret == 1 && event == IMAP_PARSER_EVENT_LITERAL_DATA) {
			const struct imap_parser_literal *lit = imap_parser_get_literal(r->parser);
			assert_true(lit->data >= in + off);
			assert_true(lit->data + lit->data_size <= in + off + used);
			assert_int_equal(buf_append(&r->data, lit->data, lit->data_size), 0);
			off += used;
			continue;
		}
		flush_data(r);
		off += used;
		if (imap_parser_continuation_wanted(r->parser))
			out_add(r, "+\n");
		if (ret < 0) {
			const struct imap_parser_error *err = imap_parser_get_error(r->parser);
			char *line = xasprintf("ERR %s %s %s %s\n", err->tag != NULL ? err->tag : "*",
					       code_names[err->code],
					       err->fatal ? "fatal" : err->skip_line ? "skip" : "end",
					       err->text);
			out_add(r, line);
			free(line);
			continue;
		}
		if (ret == 0) {
			/* 0 consumes everything, unless it paused for a "+" */
			assert_true(off == len || imap_parser_continuation_wanted(r->parser));
			continue;
		}
		if (event == IMAP_PARSER_EVENT_COMMAND) {
			write_command(r, "CMD ", imap_parser_command(r->parser));
			continue;
		}
		assert_int_equal(event, IMAP_PARSER_EVENT_LITERAL);
		const struct imap_parser_literal *lit = imap_parser_get_literal(r->parser);
		char *line = xasprintf("LIT %" PRIu64 " %s%s ", lit->size,
				       lit->sync ? "sync" : "nonsync", lit->literal8 ? " ~" : "");
		out_add(r, line);
		free(line);
		write_command(r, "", imap_parser_command(r->parser));
		if (r->refuse) {
			out_add(r, "REFUSE\n");
			imap_parser_literal_refuse(r->parser);
		} else {
			out_add(r, "ACCEPT\n");
			imap_parser_literal_accept(r->parser);
			if (imap_parser_continuation_wanted(r->parser))
				out_add(r, "+\n");
		}
	}
}

/* chunk 0: whole; SIZE_MAX: random pieces from seed. */
static char *transcript_ex(const struct imap_parser_limits *limits, enum imap_parser_flags flags,
			   bool refuse, const void *data, size_t len, size_t chunk, unsigned seed)
{
	const unsigned char *in = data;
	struct run r = { .refuse = refuse };
	size_t off = 0;

	r.parser = imap_parser_new(limits, flags);
	buf_init(&r.out, 0);
	buf_init(&r.data, 0);
	while (off < len) {
		size_t n = chunk == 0 ? len - off : chunk;
		if (chunk == SIZE_MAX) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 23;
		}
		if (n > len - off)
			n = len - off;
		run_feed(&r, in + off, n);
		off += n;
	}
	flush_data(&r);
	imap_parser_free(&r.parser);
	assert_null(r.parser);
	buf_release(&r.data);
	char *s = xstrndup(r.out.data != NULL ? r.out.data : "", r.out.len);
	buf_release(&r.out);
	return s;
}

/* transcript_all - the transcript, after checking that whole, byte by
 * byte and random feeding all agree. */
static char *transcript_all(const struct imap_parser_limits *limits, enum imap_parser_flags flags,
			    bool refuse, const void *data, size_t len)
{
	char *whole = transcript_ex(limits, flags, refuse, data, len, 0, 0);
	char *bytes = transcript_ex(limits, flags, refuse, data, len, 1, 0);

	assert_string_equal(bytes, whole);
	free(bytes);
	for (unsigned seed = 1; seed <= 5; seed++) {
		char *rnd = transcript_ex(limits, flags, refuse, data, len, SIZE_MAX, seed);
		assert_string_equal(rnd, whole);
		free(rnd);
	}
	return whole;
}

static char *transcript(const void *data, size_t len)
{
	return transcript_all(NULL, 0, false, data, len);
}

static void check(const char *in, size_t len, const char *expected)
{
	char *got = transcript(in, len);
	if (strcmp(got, expected) != 0)
		print_error("input: %.*s\n", (int)len, in);
	assert_string_equal(got, expected);
	free(got);
}

struct parse_case {
	const char *in;
	size_t len;
	const char *out;
};

/* RFC 3501/9051 section 8 (the sample session), the client examples of
 * their section 6, and of the extensions in issue 4. */
static const struct parse_case rfc_cases[] = {
	/* RFC 3501 section 8 = RFC 9051 section 8 */
	{ S("a001 login mrc secret\r\n"), "CMD a001 LOGIN mrc secret\n" },
	{ S("a002 select inbox\r\n"), "CMD a002 SELECT inbox\n" },
	{ S("a003 fetch 12 full\r\n"), "CMD a003 FETCH 12 full\n" },
	{ S("a004 fetch 12 body[header]\r\n"), "CMD a004 FETCH 12 body[header]\n" },
	{ S("a005 store 12 +flags \\deleted\r\n"), "CMD a005 STORE 12 +flags \\deleted\n" },
	{ S("a006 logout\r\n"), "CMD a006 LOGOUT\n" },
	/* section 6 */
	{ S("abcd CAPABILITY\r\n"), "CMD abcd CAPABILITY\n" },
	{ S("a002 NOOP\r\n"), "CMD a002 NOOP\n" },
	{ S("A023 LOGOUT\r\n"), "CMD A023 LOGOUT\n" },
	{ S("a002 STARTTLS\r\n"), "CMD a002 STARTTLS\n" },
	{ S("A001 AUTHENTICATE GSSAPI\r\n"), "CMD A001 AUTHENTICATE GSSAPI\n" },
	{ S("a001 LOGIN SMITH SESAME\r\n"), "CMD a001 LOGIN SMITH SESAME\n" },
	{ S("A142 SELECT INBOX\r\n"), "CMD A142 SELECT INBOX\n" },
	{ S("A932 EXAMINE blurdybloop\r\n"), "CMD A932 EXAMINE blurdybloop\n" },
	{ S("A003 CREATE owatagusiam/\r\n"), "CMD A003 CREATE owatagusiam/\n" },
	{ S("A004 CREATE owatagusiam/blurdybloop\r\n"), "CMD A004 CREATE owatagusiam/blurdybloop\n" },
	{ S("A683 DELETE blurdybloop\r\n"), "CMD A683 DELETE blurdybloop\n" },
	{ S("A683 RENAME blurdybloop sarasoop\r\n"), "CMD A683 RENAME blurdybloop sarasoop\n" },
	{ S("A002 SUBSCRIBE #news.comp.mail.mime\r\n"), "CMD A002 SUBSCRIBE #news.comp.mail.mime\n" },
	{ S("A002 UNSUBSCRIBE #news.comp.mail.mime\r\n"), "CMD A002 UNSUBSCRIBE #news.comp.mail.mime\n" },
	{ S("A101 LIST \"\" \"\"\r\n"), "CMD A101 LIST \"\" \"\"\n" },
	{ S("A102 LIST #news.comp.mail.misc \"\"\r\n"), "CMD A102 LIST #news.comp.mail.misc \"\"\n" },
	{ S("A103 LIST /usr/staff/jones \"\"\r\n"), "CMD A103 LIST /usr/staff/jones \"\"\n" },
	{ S("A202 LIST ~/Mail/ %\r\n"), "CMD A202 LIST ~/Mail/ %\n" },
	{ S("A682 LIST \"\" *\r\n"), "CMD A682 LIST \"\" *\n" },
	{ S("A002 LSUB \"#news.\" \"comp.mail.*\"\r\n"), "CMD A002 LSUB \"#news.\" \"comp.mail.*\"\n" },
	{ S("A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n"),
	  "CMD A042 STATUS blurdybloop (UIDNEXT MESSAGES)\n" },
	{ S("FXXZ CHECK\r\n"), "CMD FXXZ CHECK\n" },
	{ S("A341 CLOSE\r\n"), "CMD A341 CLOSE\n" },
	{ S("A202 EXPUNGE\r\n"), "CMD A202 EXPUNGE\n" },
	{ S("A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n"),
	  "CMD A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\n" },
	{ S("A283 SEARCH TEXT \"string not in mailbox\"\r\n"),
	  "CMD A283 SEARCH TEXT \"string not in mailbox\"\n" },
	{ S("A284 SEARCH CHARSET UTF-8 TEXT {12}\r\n\xd0\xbe\xd1\x82\xd0\xbf\xd1\x83\xd1\x81\xd0\xba\r\n"),
	  "+\nCMD A284 SEARCH CHARSET UTF-8 TEXT {12}\xd0\xbe\xd1\x82\xd0\xbf\xd1\x83\xd1\x81\xd0\xba\n" },
	{ S("A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n"),
	  "CMD A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\n" },
	{ S("A003 STORE 2:4 +FLAGS (\\Deleted)\r\n"), "CMD A003 STORE 2:4 +FLAGS (\\Deleted)\n" },
	{ S("A003 COPY 2:4 MEETING\r\n"), "CMD A003 COPY 2:4 MEETING\n" },
	{ S("A999 UID FETCH 4827313:4828442 FLAGS\r\n"),
	  "CMD A999 UID FETCH 4827313:4828442 FLAGS\n" },
	{ S("A000 UID SEARCH 1:100 UID 443:557\r\n"), "CMD A000 UID SEARCH 1:100 UID 443:557\n" },
	/* RFC 3501 section 7.5 / 9051 section 7.5: synchronising literals */
	{ S("A001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man\r\n"),
	  "+\n+\nCMD A001 LOGIN {11}FRED FOOBAR {7}fat man\n" },
	/* RFC 7888 section 3: LITERAL+ */
	{ S("A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\n"),
	  "CMD A001 LOGIN {11}FRED FOOBAR {7}fat man\n" },
	/* RFC 4959 SASL-IR; RFC 2177 IDLE; RFC 5161 ENABLE; RFC 2342 */
	{ S("A01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n"),
	  "CMD A01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\n" },
	{ S("A002 IDLE\r\n"), "CMD A002 IDLE\n" },
	{ S("a1 ENABLE CONDSTORE QRESYNC UTF8=ACCEPT\r\n"),
	  "CMD a1 ENABLE CONDSTORE QRESYNC UTF8=ACCEPT\n" },
	{ S("A001 NAMESPACE\r\n"), "CMD A001 NAMESPACE\n" },
	/* RFC 2971 ID */
	{ S("a023 ID (\"name\" \"sodr\" \"version\" \"19.34\")\r\n"),
	  "CMD a023 ID (\"name\" \"sodr\" \"version\" \"19.34\")\n" },
	{ S("a024 ID NIL\r\n"), "CMD a024 ID NIL\n" },
	/* RFC 3691 UNSELECT, RFC 6851 MOVE, RFC 4315 UID EXPUNGE */
	{ S("A342 UNSELECT\r\n"), "CMD A342 UNSELECT\n" },
	{ S("a MOVE 1:3 Archive\r\n"), "CMD a MOVE 1:3 Archive\n" },
	{ S("A003 UID EXPUNGE 3000:3002\r\n"), "CMD A003 UID EXPUNGE 3000:3002\n" },
	/* RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154 */
	{ S("A02 LIST (SUBSCRIBED) \"\" \"*\"\r\n"), "CMD A02 LIST (SUBSCRIBED) \"\" \"*\"\n" },
	{ S("A03 LIST () \"\" \"%\" RETURN (CHILDREN)\r\n"),
	  "CMD A03 LIST () \"\" \"%\" RETURN (CHILDREN)\n" },
	{ S("A04 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))\r\n"),
	  "CMD A04 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))\n" },
	{ S("t1 CREATE \"Everything\" (USE (\\All))\r\n"),
	  "CMD t1 CREATE \"Everything\" (USE (\\All))\n" },
	/* RFC 4731 ESEARCH, RFC 5182 SEARCHRES */
	{ S("A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n"),
	  "CMD A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\n" },
	{ S("A301 UID SEARCH RETURN (SAVE) SINCE 1-Jan-2004 NOT FROM \"Smith\"\r\n"),
	  "CMD A301 UID SEARCH RETURN (SAVE) SINCE 1-Jan-2004 NOT FROM \"Smith\"\n" },
	{ S("A302 UID FETCH $ (UID INTERNALDATE)\r\n"), "CMD A302 UID FETCH $ (UID INTERNALDATE)\n" },
	{ S("A283 SEARCH OR (SUBJECT a FROM b) NOT (SEEN) 1:5,7\r\n"),
	  "CMD A283 SEARCH OR (SUBJECT a FROM b) NOT (SEEN) 1:5,7\n" },
	/* RFC 7162 CONDSTORE / QRESYNC */
	{ S("a1 SELECT INBOX (CONDSTORE)\r\n"), "CMD a1 SELECT INBOX (CONDSTORE)\n" },
	{ S("A03 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n"),
	  "CMD A03 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\n" },
	{ S("a103 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n"),
	  "CMD a103 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\n" },
	{ S("d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n"),
	  "CMD d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\n" },
	/* RFC 9208 QUOTA, RFC 8438 STATUS=SIZE */
	{ S("G0001 GETQUOTAROOT INBOX\r\n"), "CMD G0001 GETQUOTAROOT INBOX\n" },
	{ S("A042 STATUS INBOX (MESSAGES SIZE)\r\n"), "CMD A042 STATUS INBOX (MESSAGES SIZE)\n" },
	/* FETCH sections and partials */
	{ S("a004 fetch 12 body[]<0.2048>\r\n"), "CMD a004 FETCH 12 body[]<0.2048>\n" },
	{ S("A5 FETCH 1 (BODY.PEEK[1.2.MIME] BINARY.PEEK[1]<0.100> BINARY.SIZE[2])\r\n"),
	  "CMD A5 FETCH 1 (BODY.PEEK[1.2.MIME] BINARY.PEEK[1]<0.100> BINARY.SIZE[2])\n" },
	{ S("A6 UID FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (\"Received\" {4}\r\nX-Ab)]\r\n"),
	  "+\nCMD A6 UID FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (\"Received\" {4}X-Ab)]\n" },
	{ S("A7 FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)\r\n"),
	  "CMD A7 FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)\n" },
	/* '[' is an atom character outside FETCH: Gmail-style names */
	{ S("A8 SELECT [Gmail]/Sent\r\n"), "CMD A8 SELECT [Gmail]/Sent\n" },
	/* NIL in any case; escapes; an empty quoted string; extra spaces */
	{ S("A9 X nil NIL \"a\\\"b\\\\c\" \"\"\r\n"), "CMD A9 X nil NIL \"a\\\"b\\\\c\" \"\"\n" },
	{ S("A10  NOOP\r\n"), "CMD A10 NOOP\n" },
	{ S("A11 LIST  \"\"  %  \r\n"), "CMD A11 LIST \"\" %\n" },
	{ S("A12 X ( a ( b ) )\r\n"), "CMD A12 X (a (b))\n" },
	/* a bare LF ends a line too (as Dovecot allows) */
	{ S("A13 NOOP\nA14 NOOP\n"), "CMD A13 NOOP\nCMD A14 NOOP\n" },
	{ S("A15 LOGIN {0}\r\n {0+}\r\n\r\n"), "+\nCMD A15 LOGIN {0} {0}\n" },
	/* pipelining: commands come one event at a time */
	{ S("1 NOOP\r\n2 NOOP\r\n3 CHECK\r\n"), "CMD 1 NOOP\nCMD 2 NOOP\nCMD 3 CHECK\n" },
	{ S("a ~ ~a\r\n"), "CMD a ~ ~a\n" },
};

static void test_rfc_examples(void **state)
{
	for (size_t i = 0; i < N_ELEMENTS(rfc_cases); i++)
		check(rfc_cases[i].in, rfc_cases[i].len, rfc_cases[i].out);
}

/* RFC 3501 section 6.3.11 APPEND example (the 310-octet message). */
static void test_rfc_append(void **state)
{
	static const char msg[] =
		"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
		"From: Fred Foobar <foobar@Blurdybloop.COM>\r\n"
		"Subject: afternoon meeting\r\n"
		"To: mooch@owatagu.siam.edu\r\n"
		"Message-Id: <B27397-0100000@Blurdybloop.COM>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
		"\r\n"
		"Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";
	assert_int_equal(strlen(msg), 310);
	char *in = xasprintf("A003 APPEND saved-messages (\\Seen) {310}\r\n%s\r\n", msg);
	char *out = xasprintf("+\nCMD A003 APPEND saved-messages (\\Seen) {310}%s\n", msg);
	check(in, strlen(in), out);
	free(in);
	free(out);
}

struct error_case {
	enum imap_parser_flags flags;
	const char *in;
	size_t len;
	const char *out;
};

#define NEXT "z1 NOOP\r\n"
#define NEXT_OUT "CMD z1 NOOP\n"

static const struct error_case error_cases[] = {
	{ 0, S("a1 LOGIN \"foo\r\n" NEXT), "ERR a1 SYNTAX end Missing closing '\"'\n" NEXT_OUT },
	{ 0, S("a1 LOGIN \"foo\n" NEXT), "ERR a1 SYNTAX end Missing closing '\"'\n" NEXT_OUT },
	{ 0, S("a1 LOGIN {abc}\r\n" NEXT), "ERR a1 SYNTAX skip Invalid literal size\n" NEXT_OUT },
	{ 0, S("a1 LOGIN {5x}\r\n" NEXT), "ERR a1 SYNTAX skip Invalid literal size\n" NEXT_OUT },
	{ 0, S("a1 LOGIN {}\r\n" NEXT), "ERR a1 SYNTAX skip Invalid literal size\n" NEXT_OUT },
	{ 0, S("a1 LOGIN {+}\r\n" NEXT), "ERR a1 SYNTAX skip Invalid literal size\n" NEXT_OUT },
	{ 0, S("a1 LOGIN {5+x\r\n" NEXT),
	  "ERR a1 SYNTAX skip Expected '}' after '+' in literal size\n" NEXT_OUT },
	{ 0, S("a1 LOGIN {5}x\r\n" NEXT), "ERR a1 SYNTAX skip Missing CRLF after literal size\n" NEXT_OUT },
	/* a size past 64 bits: a synchronising literal is just too large... */
	{ 0, S("a1 LOGIN {99999999999999999999}\r\n" NEXT), "ERR a1 TOOBIG end Literal too large\n" NEXT_OUT },
	{ 0, S("a1 LOGIN {99999999999999999999x}\r\n" NEXT),
	  "ERR a1 SYNTAX skip Invalid literal size\n" NEXT_OUT },
	/* ... a non-synchronising one's bytes cannot be skipped: nothing after
	 * it is parsed any more (it could be a relayed "\r\nA1 DELETE x") */
	{ 0, S("a1 LOGIN {99999999999999999999+}\r\n" NEXT),
	  "ERR a1 TOOBIG fatal Literal size too large\n" },
	{ 0, S("a1 X \x80 {99999999999999999999999+}\r\n" NEXT),
	  "ERR a1 SYNTAX skip 8-bit data in atom\nERR * TOOBIG fatal Literal size too large\n" },
	{ 0, S("a1 X \x80 {99999999999999999999999}\r\n" NEXT),
	  "ERR a1 SYNTAX skip 8-bit data in atom\n" NEXT_OUT },
	/* too big: a synchronising literal's bytes never come */
	{ 0, S("a1 APPEND x {99999999999}\r\n" NEXT), "ERR a1 TOOBIG end Literal too large\n" NEXT_OUT },
	/* ... a non-synchronising one's are discarded (LITERAL- here) */
	{ IMAP_PARSER_FLAG_LITERAL_MINUS, S("a1 LOGIN {4097+}\r\n"),
	  "ERR a1 TOOBIG skip Non-synchronizing literal over 4096 bytes (LITERAL-)\n" },
	{ 0, S("a1 X " "((((((((((((((((((((((((((((((((((\r\n" NEXT),
	  "ERR a1 LIMIT skip Too deeply nested lists\n" NEXT_OUT },
	{ 0, S("a1 NOOP\0\r\n" NEXT), "ERR a1 SYNTAX skip Invalid character in command name\n" NEXT_OUT },
	{ 0, S("a1 LOGIN a\0b c\r\n" NEXT), "ERR a1 SYNTAX skip NUL byte in command\n" NEXT_OUT },
	{ 0, S("a1 LOGIN \0\r\n" NEXT), "ERR a1 SYNTAX skip NUL byte in command\n" NEXT_OUT },
	{ 0, S("a1 LOGIN \"a\0\" c\r\n" NEXT), "ERR a1 SYNTAX skip NUL byte in quoted string\n" NEXT_OUT },
	{ 0, S("a1 LOGIN {3+}\r\na\0b c\r\n" NEXT), "ERR a1 SYNTAX skip NUL byte in literal\n" NEXT_OUT },
	/* ... the rest of a literal is skipped, even when it looks like a line end */
	{ 0, S("a1 LOGIN {6+}\r\n\0\r\nz9 {2+}\r\nab c\r\n" NEXT),
	  "ERR a1 SYNTAX skip NUL byte in literal\n" NEXT_OUT },
	{ 0, S("a1 NOOP\rz0 NOOP\r\n" NEXT), "ERR a1 SYNTAX skip CR not followed by LF\n" NEXT_OUT },
	{ 0, S("a1 LOGIN a\rb\r\n" NEXT), "ERR a1 SYNTAX skip CR not followed by LF\n" NEXT_OUT },
	{ 0, S("a1\r\r\n" NEXT), "ERR * SYNTAX skip CR not followed by LF\n" NEXT_OUT },
	{ 0, S("a1 LOGIN a b)\r\n" NEXT), "ERR a1 SYNTAX skip Unexpected ')'\n" NEXT_OUT },
	{ 0, S("a1 LOGIN (a b\r\n" NEXT), "ERR a1 SYNTAX end Missing ')'\n" NEXT_OUT },
	{ 0, S("\r\n" NEXT), "ERR * SYNTAX end Empty command line\n" NEXT_OUT },
	{ 0, S(" a1 NOOP\r\n" NEXT), "ERR * SYNTAX skip Missing tag\n" NEXT_OUT },
	{ 0, S("a1\r\n" NEXT), "ERR a1 SYNTAX end Missing command name\n" NEXT_OUT },
	{ 0, S("a1 \r\n" NEXT), "ERR a1 SYNTAX end Missing command name\n" NEXT_OUT },
	{ 0, S("a1 UID\r\n" NEXT), "ERR a1 SYNTAX end Missing command name after UID\n" NEXT_OUT },
	{ 0, S("a+1 NOOP\r\n" NEXT), "ERR * SYNTAX skip Invalid character in tag\n" NEXT_OUT },
	{ 0, S("a*1 NOOP\r\n" NEXT), "ERR * SYNTAX skip Invalid character in tag\n" NEXT_OUT },
	{ 0, S("a1 NO(OP\r\n" NEXT), "ERR a1 SYNTAX skip Invalid character in command name\n" NEXT_OUT },
	{ 0, S("a1 LOGIN \"a\\x\" b\r\n" NEXT), "ERR a1 SYNTAX skip Invalid escape in quoted string\n" NEXT_OUT },
	{ 0, S("a1 LOGIN \"a\\\r\n" NEXT), "ERR a1 SYNTAX end Missing closing '\"'\n" NEXT_OUT },
	{ 0, S("a1 LOGIN a\"b c\r\n" NEXT), "ERR a1 SYNTAX skip Invalid character in atom\n" NEXT_OUT },
	{ 0, S("a1 LOGIN a{1} c\r\n" NEXT), "ERR a1 SYNTAX skip Invalid character in atom\n" NEXT_OUT },
	{ 0, S("a1 LOGIN \"a\"\"b\"\r\n" NEXT), "ERR a1 SYNTAX skip Missing space after argument\n" NEXT_OUT },
	{ 0, S("a1 X (a)(b)\r\n" NEXT), "ERR a1 SYNTAX skip Missing space after argument\n" NEXT_OUT },
	{ 0, S("a1 X a\tb\r\n" NEXT), "ERR a1 SYNTAX skip Control character in atom\n" NEXT_OUT },
	{ 0, S("a1 SELECT caf\xc3\xa9\r\n" NEXT), "ERR a1 SYNTAX skip 8-bit data in atom\n" NEXT_OUT },
	{ 0, S("a1 SELECT \"caf\xc3\xa9\"\r\n" NEXT),
	  "ERR a1 SYNTAX skip 8-bit data in quoted string (UTF8=ACCEPT not enabled)\n" NEXT_OUT },
	{ IMAP_PARSER_FLAG_UTF8, S("a1 SELECT \"caf\xc3\"\r\n" NEXT),
	  "ERR a1 SYNTAX skip Invalid UTF-8 in quoted string\n" NEXT_OUT },
	{ IMAP_PARSER_FLAG_UTF8, S("a1 SELECT \"caf\xc3\xa9\"\r\n" NEXT),
	  "CMD a1 SELECT \"caf\xc3\xa9\"\n" NEXT_OUT },
	/* literals carry 8-bit data whatever the flags (CHAR8) */
	{ 0, S("a1 SELECT {5}\r\ncaf\xc3\xa9\r\n" NEXT), "+\nCMD a1 SELECT {5}caf\xc3\xa9\n" NEXT_OUT },
	{ 0, S("a1 APPEND x ~{3}\r\n" NEXT), "ERR a1 SYNTAX skip literal8 needs BINARY\n" NEXT_OUT },
	{ IMAP_PARSER_FLAG_LITERAL8, S("a1 APPEND x ~{3}\r\na\0b\r\n" NEXT),
	  "+\nCMD a1 APPEND x ~{3}a\0b\n" NEXT_OUT },
	{ IMAP_PARSER_FLAG_LITERAL8, S("a1 APPEND x ~{3+}\r\na\0b\r\n" NEXT),
	  "CMD a1 APPEND x ~{3}a\0b\n" NEXT_OUT },
	/* FETCH sections */
	{ 0, S("a1 FETCH 1 BODY[HEADER.FIELDS]x\r\n" NEXT),
	  "ERR a1 SYNTAX skip Invalid character after section\n" NEXT_OUT },
	{ 0, S("a1 FETCH 1 BODY[HEADER.FIELDS ()]\r\n" NEXT),
	  "ERR a1 SYNTAX skip Invalid header list in section\n" NEXT_OUT },
	{ 0, S("a1 FETCH 1 BODY[HEADER.FIELDS ((a))]\r\n" NEXT),
	  "ERR a1 SYNTAX skip Invalid header list in section\n" NEXT_OUT },
	{ 0, S("a1 FETCH 1 BODY[HEADER.FIELDS x]\r\n" NEXT),
	  "ERR a1 SYNTAX skip Expected '(' after section text\n" NEXT_OUT },
	{ 0, S("a1 FETCH 1 BODY[HEADER.FIELDS (a)x\r\n" NEXT),
	  "ERR a1 SYNTAX skip Missing ']' after header list\n" NEXT_OUT },
	{ 0, S("a1 FETCH 1 BODY[1\r\n" NEXT), "ERR a1 SYNTAX end Missing ']' in section\n" NEXT_OUT },
	{ 0, S("a1 FETCH 1 BODY[1[2]]\r\n" NEXT), "ERR a1 SYNTAX skip Invalid character in section\n" NEXT_OUT },
	{ 0, S("a1 FETCH 1 BODY[1]<5>\r\n" NEXT), "ERR a1 SYNTAX skip Invalid partial range\n" NEXT_OUT },
	{ 0, S("a1 FETCH 1 BODY[1]<0.0>\r\n" NEXT), "ERR a1 SYNTAX skip Invalid partial range\n" NEXT_OUT },
	{ 0, S("a1 FETCH 1 BODY[1]<.5>\r\n" NEXT), "ERR a1 SYNTAX skip Invalid partial range\n" NEXT_OUT },
	{ 0, S("a1 FETCH 1 BODY[1]<1.5>x\r\n" NEXT),
	  "ERR a1 SYNTAX skip Invalid character after partial range\n" NEXT_OUT },
	/* an error before a literal: its bytes are skipped (non-sync)... */
	{ 0, S("a1 LOGIN \"\x80\" {9+}\r\nz8 NOOP\r\n x\r\n" NEXT),
	  "ERR a1 SYNTAX skip 8-bit data in quoted string (UTF8=ACCEPT not enabled)\n" NEXT_OUT },
	{ 0, S("a1 LOGIN \"\x80\" ~{9+}\r\nz8 NOOP\r\n\r\n" NEXT),
	  "ERR a1 SYNTAX skip 8-bit data in quoted string (UTF8=ACCEPT not enabled)\n" NEXT_OUT },
	/* ... or never sent (sync: the line ends at its header) */
	{ 0, S("a1 LOGIN \"\x80\" {9}\r\n" NEXT),
	  "ERR a1 SYNTAX skip 8-bit data in quoted string (UTF8=ACCEPT not enabled)\n" NEXT_OUT },
	/* brace-like text that is no literal header does not fool the skip */
	{ 0, S("a1 X \x80 {9+} x {z} {1+}\r{2}\r\n" NEXT),
	  "ERR a1 SYNTAX skip 8-bit data in atom\n" NEXT_OUT },
	{ 0, S("a1 X \x80 {99999999999999999999999+}x\r\n" NEXT),
	  "ERR a1 SYNTAX skip 8-bit data in atom\n" NEXT_OUT },
	/* one error per command, then the next parses */
	{ 0, S("a1 X )\r\na2 X )\r\n" NEXT),
	  "ERR a1 SYNTAX skip Unexpected ')'\nERR a2 SYNTAX skip Unexpected ')'\n" NEXT_OUT },
};

static void test_errors(void **state)
{
	for (size_t i = 0; i < N_ELEMENTS(error_cases); i++) {
		const struct error_case *c = &error_cases[i];
		char *got = transcript_all(NULL, c->flags, false, c->in, c->len);
		if (strcmp(got, c->out) != 0)
			print_error("case %zu input: %.*s\n", i, (int)c->len, c->in);
		assert_string_equal(got, c->out);
		free(got);
	}
}

/* A LITERAL- overflow's bytes are discarded before the next command. */
static void test_literal_minus_skip(void **state)
{
	struct buf in;

	buf_init(&in, 0);
	assert_int_equal(buf_append_str(&in, "a1 APPEND x {5000+}\r\n"), 0);
	for (int i = 0; i < 500; i++)  /* 5000 bytes that look like commands */
		assert_int_equal(buf_append_str(&in, "z9 NOOP\r\n "), 0);
	assert_int_equal(buf_append_str(&in, " more args\r\n" NEXT), 0);
	char *got = transcript_all(NULL, IMAP_PARSER_FLAG_LITERAL_MINUS, false, in.data, in.len);
	assert_string_equal(got, "ERR a1 TOOBIG skip Non-synchronizing literal over 4096 bytes (LITERAL-)\n"
			    NEXT_OUT);
	free(got);
	/* without LITERAL- the same command is fine */
	got = transcript_all(NULL, 0, false, in.data, in.len);
	assert_int_equal(strncmp(got, "CMD a1 APPEND x {5000}z9 NOOP", 29), 0);
	assert_non_null(strstr(got, "  more args\n" NEXT_OUT));
	free(got);
	buf_release(&in);
}

static char *repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_limits(void **state)
{
	struct imap_parser_limits limits = imap_parser_default_limits;
	char *in, *got, *a;

	/* the line limit counts the tag and everything up to the LF */
	limits.line_max = 32;
	a = repeat('a', 32 - strlen("t LOGIN ") - 2);
	in = xasprintf("t LOGIN %s\r\n" NEXT, a); /* exactly 32 */
	got = transcript_all(&limits, 0, false, in, strlen(in));
	char *want = xasprintf("CMD t LOGIN %s\n" NEXT_OUT, a);
	assert_string_equal(got, want);
	free(want);
	free(got);
	free(in);
	in = xasprintf("t LOGIN %sb\r\n" NEXT, a); /* 33 */
	got = transcript_all(&limits, 0, false, in, strlen(in));
	assert_string_equal(got, "ERR t TOOBIG end Command line too long\n" NEXT_OUT);
	free(got);
	free(in);
	/* ... per line: a literal starts a new one */
	in = xasprintf("t LOGIN %s {3+}\r\nabc %s\r\n" NEXT, a + 6, a + 6);
	got = transcript_all(&limits, 0, false, in, strlen(in));
	want = xasprintf("CMD t LOGIN %s {3}abc %s\n" NEXT_OUT, a + 6, a + 6);
	assert_string_equal(got, want);
	free(want);
	free(got);
	free(in);
	free(a);

	/* the command limit counts buffered literals too */
	limits = imap_parser_default_limits;
	limits.command_max = 64;
	got = transcript_all(&limits, 0, false, S("t LOGIN {50+}\r\n01234567890123456789012345678901234567890123456789 x\r\n" NEXT));
	assert_string_equal(got, "ERR t TOOBIG skip Command too large\n" NEXT_OUT);
	free(got);
	got = transcript_all(&limits, 0, false, S("t LOGIN {60}\r\n" NEXT));
	assert_string_equal(got, "ERR t TOOBIG end Command too large\n" NEXT_OUT);
	free(got);
	got = transcript_all(&limits, 0, false, S("t LOGIN {30+}\r\n012345678901234567890123456789 {30+}\r\n"
						  "012345678901234567890123456789\r\n" NEXT));
	assert_string_equal(got, "ERR t TOOBIG skip Command too large\n" NEXT_OUT);
	free(got);

	/* the literal limit; larger than the buffer limit streams */
	limits = imap_parser_default_limits;
	limits.literal_max = 10;
	got = transcript_all(&limits, 0, false, S("t LOGIN {11}\r\n" NEXT));
	assert_string_equal(got, "ERR t TOOBIG end Literal too large\n" NEXT_OUT);
	free(got);
	got = transcript_all(&limits, 0, false, S("t LOGIN {11+}\r\n01234567890 x\r\n" NEXT));
	assert_string_equal(got, "ERR t TOOBIG skip Literal too large\n" NEXT_OUT);
	free(got);
	got = transcript_all(&limits, 0, false, S("t LOGIN {10}\r\n0123456789 x\r\n" NEXT));
	assert_string_equal(got, "+\nCMD t LOGIN {10}0123456789 x\n" NEXT_OUT);
	free(got);

	/* nesting: depth_max lists are fine, one more is not */
	limits = imap_parser_default_limits;
	limits.depth_max = 3;
	got = transcript_all(&limits, 0, false, S("t X (((a)))\r\n" NEXT));
	assert_string_equal(got, "CMD t X (((a)))\n" NEXT_OUT);
	free(got);
	got = transcript_all(&limits, 0, false, S("t X ((((a))))\r\n" NEXT));
	assert_string_equal(got, "ERR t LIMIT skip Too deeply nested lists\n" NEXT_OUT);
	free(got);
	/* a FETCH header list is a level too */
	got = transcript_all(&limits, 0, false, S("t FETCH 1 ((BODY[HEADER.FIELDS (a)]))\r\n" NEXT));
	assert_string_equal(got, "CMD t FETCH 1 ((BODY[HEADER.FIELDS (a)]))\n" NEXT_OUT);
	free(got);
	got = transcript_all(&limits, 0, false, S("t FETCH 1 (((BODY[HEADER.FIELDS (a)])))\r\n" NEXT));
	assert_string_equal(got, "ERR t LIMIT skip Too deeply nested lists\n" NEXT_OUT);
	free(got);
	/* the default: 32 */
	char *open32 = repeat('(', 32), *close32 = repeat(')', 32);
	in = xasprintf("t X %s%s\r\n" NEXT, open32, close32);
	got = transcript(in, strlen(in));
	want = xasprintf("CMD t X %s%s\n" NEXT_OUT, open32, close32);
	assert_string_equal(got, want);
	free(want);
	free(got);
	free(in);
	in = xasprintf("t X (%s%s)\r\n" NEXT, open32, close32);
	got = transcript(in, strlen(in));
	assert_string_equal(got, "ERR t LIMIT skip Too deeply nested lists\n" NEXT_OUT);
	free(got);
	free(in);
	free(open32);
	free(close32);

	/* arguments, counted at every level */
	limits = imap_parser_default_limits;
	limits.args_max = 4;
	got = transcript_all(&limits, 0, false, S("t X a (b c)\r\n" NEXT));
	assert_string_equal(got, "CMD t X a (b c)\n" NEXT_OUT);
	free(got);
	got = transcript_all(&limits, 0, false, S("t X a (b c) d\r\n" NEXT));
	assert_string_equal(got, "ERR t LIMIT skip Too many arguments\n" NEXT_OUT);
	free(got);
	got = transcript_all(&limits, 0, false, S("t X a (b c {1+}\r\nd)\r\n" NEXT));
	assert_string_equal(got, "ERR t LIMIT skip Too many arguments\n" NEXT_OUT);
	free(got);
}

static struct imap_parser_limits stream_limits(void)
{
	struct imap_parser_limits limits = imap_parser_default_limits;
	limits.literal_buffer_max = 16;
	return limits;
}

static void test_stream(void **state)
{
	struct imap_parser_limits limits = stream_limits();
	char *got;

	/* APPEND: the arguments so far, then the data, then the command */
	got = transcript_all(&limits, 0, false,
			     S("A1 APPEND INBOX (\\Seen) {40}\r\n0123456789012345678901234567890123456789\r\n" NEXT));
	assert_string_equal(got, "LIT 40 sync A1 APPEND INBOX (\\Seen) {40:stream}\nACCEPT\n+\n"
			    "DATA 0123456789012345678901234567890123456789\n"
			    "CMD A1 APPEND INBOX (\\Seen) {40:stream}\n" NEXT_OUT);
	free(got);
	/* MULTIAPPEND (RFC 3502), non-synchronising: no continuations */
	got = transcript_all(&limits, 0, false,
			     S("A2 APPEND INBOX {20+}\r\n01234567890123456789 (\\Seen) \"1-Jan-2024 00:00:00 +0000\" {17+}\r\nabcdefghijklmnopq\r\n" NEXT));
	assert_string_equal(got, "LIT 20 nonsync A2 APPEND INBOX {20:stream}\nACCEPT\n"
			    "DATA 01234567890123456789\n"
			    "LIT 17 nonsync A2 APPEND INBOX {20:stream} (\\Seen) \"1-Jan-2024 00:00:00 +0000\" {17:stream}\nACCEPT\n"
			    "DATA abcdefghijklmnopq\n"
			    "CMD A2 APPEND INBOX {20:stream} (\\Seen) \"1-Jan-2024 00:00:00 +0000\" {17:stream}\n"
			    NEXT_OUT);
	free(got);
	/* inside lists (CATENATE-like): open lists show what they hold */
	got = transcript_all(&limits, IMAP_PARSER_FLAG_LITERAL8, false,
			     S("A3 APPEND x (a (b ~{17+}\r\nabcdefghijklmnop\0 c)) d\r\n" NEXT));
	assert_string_equal(got, "LIT 17 nonsync ~ A3 APPEND x (a (b ~{17:stream}))\nACCEPT\n"
			    "DATA abcdefghijklmnop\0\n"
			    "CMD A3 APPEND x (a (b ~{17:stream} c)) d\n" NEXT_OUT);
	free(got);
	/* the refusal ends a synchronising literal's command at once... */
	got = transcript_all(&limits, 0, true, S("A4 APPEND INBOX {40}\r\n" NEXT));
	assert_string_equal(got, "LIT 40 sync A4 APPEND INBOX {40:stream}\nREFUSE\n" NEXT_OUT);
	free(got);
	/* ... and skips a non-synchronising one's bytes and line */
	got = transcript_all(&limits, 0, true,
			     S("A5 APPEND INBOX {40+}\r\nz9 NOOP\r\nz9 NOOP\r\nz9 NOOP\r\nz9 NOOP\r\nz9 NOOP {3+}\r\nabc\r\n" NEXT));
	assert_string_equal(got, "LIT 40 nonsync A5 APPEND INBOX {40:stream}\nREFUSE\n" NEXT_OUT);
	free(got);
	/* a NUL in a streamed literal aborts the command */
	got = transcript_all(&limits, 0, false,
			     S("A6 APPEND INBOX {20+}\r\n0123456789\0" "123456789 x\r\n" NEXT));
	assert_string_equal(got, "LIT 20 nonsync A6 APPEND INBOX {20:stream}\nACCEPT\n"
			    "DATA 0123456789\nERR A6 SYNTAX skip NUL byte in literal\n" NEXT_OUT);
	free(got);
	/* a streamed literal in a header list is just not an astring */
	got = transcript_all(&limits, 0, false,
			     S("A7 FETCH 1 BODY[HEADER.FIELDS ({20+}\r\n01234567890123456789)]\r\n" NEXT));
	assert_string_equal(got, "LIT 20 nonsync A7 FETCH 1 ({20:stream})\nACCEPT\n"
			    "DATA 01234567890123456789\n"
			    "ERR A7 SYNTAX skip Invalid header list in section\n" NEXT_OUT);
	free(got);
}

/* The session's view of one literal, by hand: chunk offsets and "last". */
static void test_stream_chunks(void **state)
{
	struct imap_parser_limits limits = stream_limits();
	struct imap_parser *p = imap_parser_new(&limits, 0);
	enum imap_parser_event ev;
	const struct imap_parser_literal *lit;
	const char *hdr = "A1 APPEND INBOX {20}\r\n";
	size_t used;

	assert_int_equal(imap_parser_feed(p, hdr, strlen(hdr), &used, &ev), 1);
	assert_int_equal(used, strlen(hdr));
	assert_int_equal(ev, IMAP_PARSER_EVENT_LITERAL);
	assert_false(imap_parser_continuation_wanted(p));
	lit = imap_parser_get_literal(p);
	assert_int_equal(lit->size, 20);
	assert_true(lit->sync);
	const struct imap_command *cmd = imap_parser_command(p);
	assert_string_equal(cmd->tag, "A1");
	assert_string_equal(cmd->name, "APPEND");
	assert_int_equal(cmd->count, 2);
	assert_int_equal(cmd->args[1].type, IMAP_ARG_LITERAL_STREAM);
	assert_int_equal(cmd->args[1].literal_size, 20);
	imap_parser_literal_accept(p);
	assert_true(imap_parser_continuation_wanted(p));

	assert_int_equal(imap_parser_feed(p, "0123456789ab", 12, &used, &ev), 1);
	assert_int_equal(ev, IMAP_PARSER_EVENT_LITERAL_DATA);
	assert_int_equal(used, 12);
	assert_false(imap_parser_continuation_wanted(p));
	assert_int_equal(lit->offset, 0);
	assert_int_equal(lit->data_size, 12);
	assert_false(lit->last);
	/* the snapshot stays valid while the literal streams */
	assert_string_equal(cmd->args[0].str, "INBOX");
	assert_int_equal(imap_parser_feed(p, "cdefghij\r\nz1 NOOP\r\n", 19, &used, &ev), 1);
	assert_int_equal(ev, IMAP_PARSER_EVENT_LITERAL_DATA);
	assert_int_equal(used, 8);
	assert_int_equal(lit->offset, 12);
	assert_int_equal(lit->data_size, 8);
	assert_memory_equal(lit->data, "cdefghij", 8);
	assert_true(lit->last);
	assert_int_equal(imap_parser_feed(p, "\r\nz1 NOOP\r\n", 11, &used, &ev), 1);
	assert_int_equal(ev, IMAP_PARSER_EVENT_COMMAND);
	assert_int_equal(used, 2);
	assert_int_equal(imap_parser_feed(p, "z1 NOOP\r\n", 9, &used, &ev), 1);
	assert_string_equal(imap_parser_command(p)->name, "NOOP");
	imap_parser_free(&p);
}

/* A continuation is asked for even when the client sent the data early,
 * and the parser stops right after the literal header. */
static void test_continuation_stop(void **state)
{
	struct imap_parser *p = imap_parser_new(NULL, 0);
	enum imap_parser_event ev;
	const char *in = "a LOGIN {3}\r\nabc def\r\n";
	size_t used;

	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used, &ev), 0);
	assert_int_equal(used, 13);
	assert_true(imap_parser_continuation_wanted(p));
	assert_int_equal(imap_parser_feed(p, in + 13, strlen(in) - 13, &used, &ev), 1);
	assert_false(imap_parser_continuation_wanted(p));
	assert_int_equal(used, strlen(in) - 13);
	imap_parser_free(&p);
}

static void test_take_command(void **state)
{
	struct imap_parser *p = imap_parser_new(NULL, 0);
	enum imap_parser_event ev;
	const char *in = "a1 SELECT \"x\"\r\na2 NOOP\r\n";
	size_t used;

	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used, &ev), 1);
	struct imap_command *cmd = imap_parser_take_command(p);
	assert_null(imap_parser_command(p));
	assert_int_equal(imap_parser_feed(p, in + used, strlen(in) - used, &used, &ev), 1);
	assert_string_equal(imap_parser_command(p)->tag, "a2");
	/* the taken command survives the next one */
	assert_string_equal(cmd->tag, "a1");
	assert_string_equal(cmd->args[0].str, "x");
	imap_command_free(&cmd);
	assert_null(cmd);
	imap_command_free(&cmd);
	imap_parser_free(&p);
	imap_parser_free(&p);
}

/* reset drops a half-read command (STARTTLS discards plaintext). */
static void test_reset(void **state)
{
	struct imap_parser *p = imap_parser_new(NULL, 0);
	enum imap_parser_event ev;
	size_t used;

	assert_int_equal(imap_parser_feed(p, S("a1 LOGIN (x \"y"), &used, &ev), 0);
	imap_parser_reset(p);
	assert_int_equal(imap_parser_feed(p, S("a2 NOOP\r\n"), &used, &ev), 1);
	assert_string_equal(imap_parser_command(p)->tag, "a2");
	/* flags apply from the next byte */
	imap_parser_set_flags(p, IMAP_PARSER_FLAG_UTF8);
	assert_int_equal(imap_parser_feed(p, S("a3 SELECT \"\xc3\xa9\"\r\n"), &used, &ev), 1);
	imap_parser_free(&p);
}

static void test_sections(void **state)
{
	struct imap_parser *p = imap_parser_new(NULL, 0);
	enum imap_parser_event ev;
	const char *in = "a UID FETCH 1:* (body.peek[HEADER.FIELDS (From \"To\")]<10.200> BINARY[1.2] BODY[])\r\n";
	size_t used;

	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used, &ev), 1);
	const struct imap_command *cmd = imap_parser_command(p);
	assert_string_equal(cmd->name, "UID FETCH");
	assert_int_equal(cmd->count, 2);
	const struct imap_arg *items;
	unsigned n;
	assert_int_equal(imap_arg_get_list(&cmd->args[1], &items, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(items[0].type, IMAP_ARG_SECTION);
	assert_string_equal(items[0].str, "body.peek");
	const struct imap_section *s = items[0].section;
	assert_string_equal(s->spec, "HEADER.FIELDS");
	assert_int_equal(s->fields_count, 2);
	assert_string_equal(s->fields[0].str, "From");
	assert_int_equal(s->fields[1].type, IMAP_ARG_STRING);
	assert_true(s->partial);
	assert_int_equal(s->partial_offset, 10);
	assert_int_equal(s->partial_size, 200);
	assert_string_equal(items[1].section->spec, "1.2");
	assert_null(items[1].section->fields);
	assert_false(items[1].section->partial);
	assert_string_equal(items[2].section->spec, "");
	imap_parser_free(&p);
}

static void test_arg_getters(void **state)
{
	struct imap_parser *p = imap_parser_new(NULL, IMAP_PARSER_FLAG_LITERAL8);
	enum imap_parser_event ev;
	const char *str;
	size_t len, used;
	uint32_t n32;
	uint64_t n64;
	const struct imap_arg *list;
	unsigned count;
	static const char in[] = "a X atom nil \"q\" {2+}\r\nlt ~{3+}\r\na\0b (l) 4294967295 4294967296 "
		"18446744073709551615 18446744073709551616 12a 007\r\n";

	assert_int_equal(imap_parser_feed(p, in, sizeof(in) - 1, &used, &ev), 1);
	const struct imap_arg *a = imap_parser_command(p)->args;
	assert_int_equal(imap_parser_command(p)->count, 12);
	/* atom */
	assert_int_equal(imap_arg_get_atom(&a[0], &str), 0);
	assert_string_equal(str, "atom");
	assert_true(imap_arg_atom_equals(&a[0], "ATOM"));
	assert_false(imap_arg_atom_equals(&a[2], "q"));
	assert_int_equal(imap_arg_get_atom(&a[1], &str), -1);
	assert_int_equal(imap_arg_get_atom(&a[2], &str), -1);
	/* astring: NIL keeps its spelling; literal8 with NUL is no astring */
	assert_int_equal(a[1].type, IMAP_ARG_NIL);
	assert_int_equal(imap_arg_get_astring(&a[1], &str), 0);
	assert_string_equal(str, "nil");
	assert_int_equal(imap_arg_get_astring(&a[2], &str), 0);
	assert_int_equal(imap_arg_get_astring(&a[3], &str), 0);
	assert_string_equal(str, "lt");
	assert_int_equal(imap_arg_get_astring(&a[4], &str), -1);
	assert_int_equal(imap_arg_get_astring(&a[5], &str), -1);
	/* string / nstring */
	assert_int_equal(imap_arg_get_string(&a[0], &str, &len), -1);
	assert_int_equal(imap_arg_get_string(&a[4], &str, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(str, "a\0b", 3);
	assert_true(a[4].literal8);
	assert_int_equal(imap_arg_get_nstring(&a[1], &str, &len), 0);
	assert_null(str);
	assert_int_equal(imap_arg_get_nstring(&a[2], &str, &len), 0);
	assert_string_equal(str, "q");
	/* list */
	assert_int_equal(imap_arg_get_list(&a[5], &list, &count), 0);
	assert_int_equal(count, 1);
	assert_string_equal(list[0].str, "l");
	assert_int_equal(imap_arg_get_list(&a[0], &list, &count), -1);
	/* numbers */
	assert_int_equal(imap_arg_get_number(&a[6], &n32), 0);
	assert_int_equal(n32, UINT32_MAX);
	assert_int_equal(imap_arg_get_number(&a[7], &n32), -1);
	assert_int_equal(imap_arg_get_number64(&a[7], &n64), 0);
	assert_int_equal(n64, 4294967296ull);
	assert_int_equal(imap_arg_get_number64(&a[8], &n64), 0);
	assert_true(n64 == UINT64_MAX);
	assert_int_equal(imap_arg_get_number64(&a[9], &n64), -1);
	assert_int_equal(imap_arg_get_number64(&a[10], &n64), -1);
	assert_int_equal(imap_arg_get_number64(&a[11], &n64), 0);
	assert_int_equal(n64, 7);
	assert_int_equal(imap_arg_get_number(&a[2], &n32), -1);
	imap_parser_free(&p);
}

static void test_write_limit(void **state)
{
	struct imap_parser *p = imap_parser_new(NULL, 0);
	enum imap_parser_event ev;
	struct buf out;
	size_t used;

	assert_int_equal(imap_parser_feed(p, S("a X (abc \"d\\\"e\" {1+}\r\nf) g\r\n"), &used, &ev), 1);
	const struct imap_command *cmd = imap_parser_command(p);
	for (size_t max = 1; max < 19; max++) {
		buf_init(&out, max);
		assert_int_equal(imap_args_write(&out, cmd->args, cmd->count), -1);
		buf_release(&out);
	}
	buf_init(&out, 19);
	assert_int_equal(imap_args_write(&out, cmd->args, cmd->count), 0);
	assert_string_equal(out.data, "(abc \"d\\\"e\" {1}f) g");
	buf_release(&out);
	imap_parser_free(&p);
}

/* Every prefix of a valid stream leaves the parser ready for the rest. */
static void test_all_splits(void **state)
{
	static const char in[] = "a1 LOGIN {3}\r\nabc \"d e\"\r\n"
		"a2 FETCH 1 (BODY[HEADER.FIELDS (A {1+}\r\nB)]<1.2> FLAGS)\r\n"
		"a3 X \x80\r\na4 NOOP\r\n";
	char *whole = transcript(in, sizeof(in) - 1);

	for (size_t cut = 1; cut < sizeof(in) - 1; cut++) {
		struct run r = { .refuse = false };
		r.parser = imap_parser_new(NULL, 0);
		buf_init(&r.out, 0);
		buf_init(&r.data, 0);
		run_feed(&r, (const unsigned char *)in, cut);
		run_feed(&r, (const unsigned char *)in + cut, sizeof(in) - 1 - cut);
		flush_data(&r);
		assert_string_equal(r.out.data, whole);
		imap_parser_free(&r.parser);
		buf_release(&r.out);
		buf_release(&r.data);
	}
	free(whole);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_examples),
		cmocka_unit_test(test_rfc_append),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_literal_minus_skip),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_chunks),
		cmocka_unit_test(test_continuation_stop),
		cmocka_unit_test(test_take_command),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_arg_getters),
		cmocka_unit_test(test_write_limit),
		cmocka_unit_test(test_all_splits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
