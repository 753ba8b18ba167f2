/* SPDX-License-Identifier: ISC */
/*
 * test-dsn.c - delivery status notifications (queue/dsn.c): the
 * multipart/report structure, the RFC 3464 fields, what is embedded, and
 * that nothing a peer says can break out of its field.
 *
 * Set POSTINO_TEST_DSN_DIR=DIR to keep each report built here as
 * DIR/<test>.eml, for checking with another parser (Python's email
 * package: see tests/integration/test_queue_cli.py for the end-to-end
 * check through the queue manager).
 */
#include "lib/lib.h"
#include "lib/fs.h"
#include "lib/mem.h"
#include "queue/dsn.h"
#include "helpers.h"

#include <setjmp.h>
#include <cmocka.h>

#define ORIGINAL                                                 \
	"Received: from client by mail.example.test\r\n"         \
	"From: Alice <alice@example.test>\r\n"                   \
	"To: bob@remote.test\r\n"                                \
	"Subject: quarterly numbers\r\n"                         \
	"Message-ID: <orig-1@example.test>\r\n"                  \
	"\r\n"                                                   \
	"The body line that only a full return carries.\r\n"

struct fixture {
	char *dir;
	char *msg;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	f->dir = test_tmpdir();
	f->msg = xasprintf("%s/msg", f->dir);
	assert_int_equal(file_write_durable(f->msg, ORIGINAL, strlen(ORIGINAL), 0600), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	test_rmtree(f->dir);
	free(f->dir);
	free(f->msg);
	free(f);
	return 0;
}

static const struct dsn_rcpt bob_550 = {
	.address = "bob@remote.test",
	.orcpt = "rfc822;Bob@Remote.test",
	.status = "5.1.1",
	.remote_mta = "mx1.remote.test",
	.diagnostic = "550 5.1.1 <bob@remote.test>: Recipient address rejected",
	.last_attempt = 1700000100,
};

static struct dsn_report report(const char *msg, const struct dsn_rcpt *rcpts, size_t n)
{
	return (struct dsn_report){
		.kind = DSN_FAILURE,
		.hostname = "mail.example.test",
		.sender = "alice@example.test",
		.queueid = "18c2f3a4b5.1234.1",
		.envid = "env-42",
		.arrival = 1700000000,
		.msg_path = msg,
		.rcpts = rcpts,
		.rcpt_count = n,
	};
}

/* build - the report as a NUL-terminated string, kept when asked. */
static char *build(const struct dsn_report *r, const char *name)
{
	const char *error = NULL, *keep = getenv("POSTINO_TEST_DSN_DIR");
	char *data;
	size_t len;

	assert_int_equal(dsn_build(r, &data, &len, &error), 0);
	assert_null(error);
	assert_int_equal(strlen(data), len);
	if (keep != NULL && keep[0] != '\0') {
		char *path = xasprintf("%s/%s.eml", keep, name);
		assert_int_equal(file_write_durable(path, data, len, 0644), 0);
		free(path);
	}
	return data;
}

/* has_line - text holds line as a whole CRLF-terminated line. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
		if ((p == text || p[-1] == '\n') && strncmp(p + n, "\r\n", 2) == 0)
			return true;
	}
	return false;
}

/* boundary - the value of boundary="..." in the top header. */
static char *boundary(const char *data)
{
	const char *p = strstr(data, "boundary=\"");
	assert_non_null(p);
	p += strlen("boundary=\"");
	return xstrndup(p, strcspn(p, "\""));
}

/* part_count - the body parts: delimiter lines before the close one. */
static int part_count(const char *data, const char *bnd)
{
	char *delim = xasprintf("\r\n--%s\r\n", bnd), *close = xasprintf("\r\n--%s--\r\n", bnd);
	int n = 0;

	for (const char *p = data; (p = strstr(p, delim)) != NULL; p++)
		n++;
	assert_non_null(strstr(data, close));
	/* the close delimiter ends the message */
	assert_string_equal(strstr(data, close) + strlen(close), "");
	free(delim);
	free(close);
	return n;
}

static void test_failure_structure(void **state)
{
	struct fixture *f = *state;
	struct dsn_report r = report(f->msg, &bob_550, 1);
	char *data = build(&r, "failure"), *bnd = boundary(data);

	assert_true(has_line(data, "From: \"Mail Delivery System\" <MAILER-DAEMON@mail.example.test>"));
	assert_true(has_line(data, "To: <alice@example.test>"));
	assert_true(has_line(data, "Subject: Undelivered Mail Returned to Sender"));
	assert_true(has_line(data, "Auto-Submitted: auto-replied"));
	assert_true(has_line(data, "MIME-Version: 1.0"));
	assert_non_null(strstr(data, "\r\nMessage-ID: <dsn."));
	assert_non_null(strstr(data, "\r\nDate: "));
	assert_non_null(strstr(data, "Content-Type: multipart/report; report-type=delivery-status;"));
	assert_int_equal(part_count(data, bnd), 3);
	/* the three parts, in order */
	const char *p1 = strstr(data, "Content-Type: text/plain; charset=us-ascii");
	const char *p2 = strstr(data, "Content-Type: message/delivery-status");
	const char *p3 = strstr(data, "Content-Type: message/rfc822");
	assert_true(p1 != NULL && p2 != NULL && p3 != NULL && p1 < p2 && p2 < p3);
	assert_non_null(strstr(p1, "mail delivery system at mail.example.test"));
	assert_non_null(strstr(p1, "<bob@remote.test>: host mx1.remote.test said: 550 5.1.1"));
	/* a 7-bit original needs no transfer encoding */
	assert_null(strstr(data, "Content-Transfer-Encoding: 8bit"));
	free(bnd);
	free(data);
}

static void test_failure_fields(void **state)
{
	struct fixture *f = *state;
	struct dsn_report r = report(f->msg, &bob_550, 1);
	char *data = build(&r, "fields");
	const char *status = strstr(data, "Content-Type: message/delivery-status");

	assert_non_null(status);
	assert_true(has_line(status, "Reporting-MTA: dns; mail.example.test"));
	assert_true(has_line(status, "X-Postino-Queue-ID: 18c2f3a4b5.1234.1"));
	assert_true(has_line(status, "Original-Envelope-Id: env-42"));
	assert_true(has_line(status, "Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000"));
	assert_true(has_line(status, "Original-Recipient: rfc822;Bob@Remote.test"));
	assert_true(has_line(status, "Final-Recipient: rfc822; bob@remote.test"));
	assert_true(has_line(status, "Action: failed"));
	assert_true(has_line(status, "Status: 5.1.1"));
	assert_true(has_line(status, "Remote-MTA: dns; mx1.remote.test"));
	assert_non_null(strstr(status, "Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.test>:"));
	assert_true(has_line(status, "Last-Attempt-Date: Tue, 14 Nov 2023 22:15:00 +0000"));
	/* per-message fields, empty line, then the recipient's (RFC 3464 2.1) */
	assert_non_null(strstr(status, "+0000\r\n\r\nOriginal-Recipient:"));
	assert_null(strstr(status, "Will-Retry-Until"));
	free(data);
}

static void test_original_embedded(void **state)
{
	struct fixture *f = *state;
	struct dsn_report r = report(f->msg, &bob_550, 1);
	char *data = build(&r, "embedded");
	const char *p3 = strstr(data, "Content-Type: message/rfc822\r\n\r\n");

	assert_non_null(p3);
	p3 += strlen("Content-Type: message/rfc822\r\n\r\n");
	assert_memory_equal(p3, ORIGINAL, strlen(ORIGINAL));
	/* RET=FULL asks for the same */
	r.ret = 1;
	free(data);
	data = build(&r, "ret-full");
	assert_non_null(strstr(data, ORIGINAL));
	free(data);
}

static void test_hdrs_cut(void **state)
{
	struct fixture *f = *state;
	struct dsn_report r = report(f->msg, &bob_550, 1);
	const char *header_end = strstr(ORIGINAL, "\r\n\r\n") + 2;
	char *data, *hdr;

	r.ret = 2;
	data = build(&r, "ret-hdrs");
	assert_null(strstr(data, "message/rfc822"));
	assert_null(strstr(data, "only a full return carries"));
	hdr = strstr(data, "Content-Type: text/rfc822-headers\r\n\r\n");
	assert_non_null(hdr);
	hdr += strlen("Content-Type: text/rfc822-headers\r\n\r\n");
	assert_memory_equal(hdr, ORIGINAL, (size_t)(header_end - ORIGINAL));
	assert_non_null(strstr(data, "The header of your message is attached."));
	free(data);

	/* larger than full_max: only the header, and the human part says why */
	r.ret = 0;
	r.full_max = 20;
	data = build(&r, "too-large");
	assert_non_null(strstr(data, "Content-Type: text/rfc822-headers"));
	assert_null(strstr(data, "only a full return carries"));
	assert_non_null(strstr(data, "too large to return"));
	assert_non_null(strstr(data, "Subject: quarterly numbers"));
	free(data);
}

static void test_rcpt_without_reply(void **state)
{
	struct fixture *f = *state;
	const struct dsn_rcpt rcpts[] = {
		{ .address = "carol@nowhere.test", .status = "5.4.4",
		  .text = "no mail exchanger for nowhere.test (null MX)" },
		{ .address = "dave@remote.test", .status = "5.0.0" },
		/* `postino queue bounce`: a diagnostic that is no SMTP reply */
		{ .address = "erin@remote.test", .status = "5.0.0",
		  .diagnostic = "bounced by the administrator" },
	};
	struct dsn_report r = report(f->msg, rcpts, N_ELEMENTS(rcpts));
	char *data = build(&r, "no-reply");
	const char *status = strstr(data, "Content-Type: message/delivery-status");

	assert_null(strstr(data, "Remote-MTA"));
	assert_null(strstr(data, "Original-Recipient"));
	assert_null(strstr(data, "Last-Attempt-Date"));
	assert_non_null(strstr(status, "Diagnostic-Code: X-Postino; no mail exchanger for"));
	assert_true(has_line(status, "Final-Recipient: rfc822; dave@remote.test"));
	assert_true(has_line(status, "Status: 5.0.0"));
	assert_non_null(strstr(status, "Diagnostic-Code: X-Postino; bounced by the administrator"));
	/* two Diagnostic-Codes: dave has nothing to say */
	const char *second = strstr(strstr(status, "Diagnostic-Code") + 1, "Diagnostic-Code");
	assert_non_null(second);
	assert_null(strstr(second + 1, "Diagnostic-Code"));
	assert_null(strstr(status, "smtp; bounced"));
	assert_non_null(strstr(data, "<carol@nowhere.test>: no mail exchanger"));
	assert_non_null(strstr(data, "<dave@remote.test>: delivery status 5.0.0"));
	free(data);
}

static void test_delay_and_success(void **state)
{
	struct fixture *f = *state;
	struct dsn_rcpt rc = bob_550;
	struct dsn_report r = report(f->msg, &rc, 1);
	char *data;

	rc.status = "4.2.0";
	rc.diagnostic = "450 4.2.0 mailbox busy";
	rc.will_retry_until = 1700432000;
	r.kind = DSN_DELAY;
	r.ret = 1; /* RET applies to failures only: delays carry the header */
	data = build(&r, "delay");
	assert_true(has_line(data, "Subject: Delayed Mail (still being retried)"));
	assert_true(has_line(data, "Action: delayed"));
	assert_true(has_line(data, "Will-Retry-Until: Sun, 19 Nov 2023 22:13:20 +0000"));
	assert_non_null(strstr(data, "Content-Type: text/rfc822-headers"));
	assert_null(strstr(data, "only a full return carries"));
	assert_non_null(strstr(data, "only a warning"));
	free(data);

	rc.status = "2.0.0";
	rc.diagnostic = "250 2.0.0 Ok: queued as 4XyZ";
	r.kind = DSN_SUCCESS;
	data = build(&r, "success");
	assert_true(has_line(data, "Subject: Successful Mail Delivery Report"));
	assert_true(has_line(data, "Action: relayed"));
	assert_null(strstr(data, "Will-Retry-Until"));
	assert_non_null(strstr(data, "Content-Type: text/rfc822-headers"));
	free(data);
}

static void test_8bit_original(void **state)
{
	struct fixture *f = *state;
	static const char eight[] = "Subject: caf\xc3\xa9\nFrom: a@example.test\n\nna\xc3\xafve body\n";
	struct dsn_report r = report(f->msg, &bob_550, 1);
	char *data, *p3;

	assert_int_equal(file_write_durable(f->msg, eight, strlen(eight), 0600), 0);
	data = build(&r, "eightbit");
	p3 = strstr(data, "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
	assert_non_null(p3);
	/* the multipart around an 8bit part is 8bit too (RFC 2045 6.4) */
	assert_non_null(strstr(data, "\r\nContent-Transfer-Encoding: 8bit\r\n\r\nThis is a MIME"));
	/* our own parts are 7-bit; bare LFs of the original became CRLF */
	for (const char *p = data; p < p3; p++)
		assert_true((unsigned char)*p < 0x80);
	for (const char *p = data; *p != '\0'; p++)
		assert_false(*p == '\n' && (p == data || p[-1] != '\r'));
	assert_non_null(strstr(p3, "Subject: caf\xc3\xa9\r\nFrom: a@example.test\r\n\r\nna\xc3\xafve"));
	free(data);
}

static void test_hostile_reply(void **state)
{
	struct fixture *f = *state;
	char long_reply[1500];
	struct dsn_rcpt rc = bob_550;
	struct dsn_report r = report(f->msg, &rc, 1);
	char *data;

	rc.diagnostic = "550 5.7.1 nope\r\nBcc: victim@example.org\r\n\r\n--x\xff\x01";
	rc.remote_mta = "mx\r\nX-Evil: 1";
	data = build(&r, "hostile");
	assert_null(strstr(data, "\nBcc:"));
	assert_null(strstr(data, "\nX-Evil"));
	assert_non_null(strstr(data, "Diagnostic-Code: smtp; 550 5.7.1 nope Bcc: victim@example.org --x??"));
	free(data);

	/* a long multi-word reply is folded, every line of ours stays short */
	memset(long_reply, 0, sizeof(long_reply));
	for (size_t i = 0; i + 6 < sizeof(long_reply) - 1; i += 6)
		memcpy(long_reply + i, "word  ", 6);
	memcpy(long_reply, "550 ", 4);
	rc.diagnostic = long_reply;
	rc.remote_mta = "mx1.remote.test";
	data = build(&r, "long-reply");
	const char *end = strstr(data, "Content-Type: message/rfc822");
	for (const char *line = data; line < end;) {
		const char *eol = strstr(line, "\r\n");
		assert_true(eol - line <= 78);
		line = eol + 2;
	}
	assert_non_null(strstr(data, "Diagnostic-Code: smtp; 550 word word"));
	free(data);

	/* one unbreakable 1500-octet word still gives lines under 998 */
	memset(long_reply, 'a', sizeof(long_reply) - 1);
	long_reply[sizeof(long_reply) - 1] = '\0';
	rc.address = long_reply;
	data = build(&r, "long-word");
	for (const char *line = data; *line != '\0';) {
		const char *eol = strstr(line, "\r\n");
		assert_non_null(eol);
		assert_true(eol - line <= 998);
		line = eol + 2;
	}
	free(data);
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	struct dsn_report r = report(f->msg, &bob_550, 1);
	const char *error = NULL;
	char *data = NULL;
	size_t len;

	r.sender = "";
	assert_int_equal(dsn_build(&r, &data, &len, &error), -1);
	assert_non_null(error);
	assert_null(data);
	r.sender = "alice@example.test";
	/* an empty original still gives a well-formed report: an empty
	 * part, its delimiter's CRLF right after the part's header */
	assert_int_equal(file_write_durable(f->msg, "", 0, 0600), 0);
	assert_int_equal(dsn_build(&r, &data, &len, &error), 0);
	assert_non_null(strstr(data, "Content-Type: message/rfc822\r\n\r\n\r\n--"));
	free(data);
	data = NULL;
	r.msg_path = "/nonexistent/postino-test/msg";
	error = NULL;
	assert_int_equal(dsn_build(&r, &data, &len, &error), -1);
	assert_string_equal(error, "cannot read the original message");
}

static void test_boundaries_unique(void **state)
{
	struct fixture *f = *state;
	struct dsn_report r = report(f->msg, &bob_550, 1);
	char *a = build(&r, "unique-a"), *b = build(&r, "unique-b");
	char *ba = boundary(a), *bb = boundary(b);

	assert_string_not_equal(ba, bb);
	free(ba);
	free(bb);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failure_structure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_original_embedded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hdrs_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rcpt_without_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delay_and_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_8bit_original, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boundaries_unique, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
