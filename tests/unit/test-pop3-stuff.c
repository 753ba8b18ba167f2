/* SPDX-License-Identifier: ISC */
/* test-pop3-stuff.c - the POP3 pure helpers: the RETR/TOP encoder (CRLF
 * line ends, byte-stuffing, TOP's header and line count, the terminator)
 * fed whole and 1..N octets at a time, a round trip of random messages
 * through SMTP's independent DATA decoder (mail/dot.h), UID ranges for
 * the UPDATE state, the UIDL format, and the maildrop lock table. */
#include "lib/lib.h"
#include "lib/mem.h"
#include "mail/dot.h"
#include "pop3/pop3-private.h"

#include <setjmp.h>
#include <cmocka.h>

/* Random messages in the round trip, and their largest size. */
#define ROUNDS 500
#define ROUND_MAX 300

struct vector {
	const char *name;
	const char *in;
	int64_t lines;   /* -1 = RETR */
	const char *out; /* the whole response body, terminator included */
};

static const struct vector vectors[] = {
	{ "empty", "", -1, ".\r\n" },
	{ "one line", "a\r\n", -1, "a\r\n.\r\n" },
	{ "no final newline", "a\r\nb", -1, "a\r\nb\r\n.\r\n" },
	{ "bare LF", "a\nb\n", -1, "a\r\nb\r\n.\r\n" },
	{ "mixed ends", "a\r\nb\nc\r\n", -1, "a\r\nb\r\nc\r\n.\r\n" },
	{ "lone CR kept", "a\rb\r\n", -1, "a\rb\r\n.\r\n" },
	{ "final lone CR", "a\r", -1, "a\r\n.\r\n" },
	{ "dot line", "a\r\n.\r\nb\r\n", -1, "a\r\n..\r\nb\r\n.\r\n" },
	{ "dot first", ".a\r\n", -1, "..a\r\n.\r\n" },
	{ "dots", "..\r\n...\n", -1, "...\r\n....\r\n.\r\n" },
	{ "dot inside", "a.b\r\n a.\r\n", -1, "a.b\r\n a.\r\n.\r\n" },
	{ "dot after LF", "x\n.\n", -1, "x\r\n..\r\n.\r\n" },
	{ "CR then dot", "x\r.y\r\n", -1, "x\r.y\r\n.\r\n" },
	{ "end look-alike", "a\r\n.\r\n.\r\n", -1, "a\r\n..\r\n..\r\n.\r\n" },
	/* TOP (RFC 1939 7) */
	{ "top 0", "H: 1\r\nI: 2\r\n\r\nbody1\r\nbody2\r\n", 0, "H: 1\r\nI: 2\r\n\r\n.\r\n" },
	{ "top 1", "H: 1\r\n\r\nbody1\r\nbody2\r\n", 1, "H: 1\r\n\r\nbody1\r\n.\r\n" },
	{ "top more than body", "H: 1\r\n\r\nb\r\n", 5, "H: 1\r\n\r\nb\r\n.\r\n" },
	{ "top no body", "H: 1\r\nI: 2\r\n", 0, "H: 1\r\nI: 2\r\n.\r\n" },
	{ "top empty body line", "H: 1\r\n\r\n\r\nx\r\n", 1, "H: 1\r\n\r\n\r\n.\r\n" },
	{ "top LF", "H: 1\n\nb1\nb2\n", 1, "H: 1\r\n\r\nb1\r\n.\r\n" },
	{ "top stuffed", "H: 1\r\n\r\n.\r\n.x\r\ny\r\n", 2, "H: 1\r\n\r\n..\r\n..x\r\n.\r\n" },
	{ "top unterminated", "H: 1\r\n\r\nb", 3, "H: 1\r\n\r\nb\r\n.\r\n" },
	{ "top empty message", "", 0, ".\r\n" },
	{ "top header starts empty", "\r\nbody\r\nmore\r\n", 1, "\r\nbody\r\n.\r\n" },
};

/* encode - the response for in, fed in pieces of step octets (0: whole). */
static char *encode(const char *in, size_t len, int64_t lines, size_t step, size_t *out_len_r)
{
	char *out = xmalloc(POP3_STUFF_OUT_MAX(len) + POP3_STUFF_FINISH_MAX);
	struct pop3_stuff st;
	size_t n = 0;

	pop3_stuff_init(&st, lines);
	for (size_t off = 0; off < len;) {
		size_t take = step == 0 || step > len - off ? len - off : step;
		n += pop3_stuff_feed(&st, in + off, take, out + n);
		off += take;
	}
	n += pop3_stuff_finish(&st, out + n);
	*out_len_r = n;
	return out;
}

static void test_vectors(void **state)
{
	for (size_t i = 0; i < N_ELEMENTS(vectors); i++) {
		const struct vector *v = &vectors[i];
		size_t len = strlen(v->in);

		for (size_t step = 0; step <= len + 1; step++) {
			size_t n;
			char *out = encode(v->in, len, v->lines, step, &n);
			if (n != strlen(v->out) || memcmp(out, v->out, n) != 0)
				fail_msg("%s (step %zu): got \"%.*s\"", v->name, step, (int)n, out);
			free(out);
		}
	}
}

/* test_done_stops - TOP tells the streamer to stop reading the file. */
static void test_done_stops(void **state)
{
	const char *msg = "H: 1\r\n\r\nb1\r\nb2\r\nb3\r\n";
	char out[POP3_STUFF_OUT_MAX(64)];
	struct pop3_stuff st;

	pop3_stuff_init(&st, 1);
	assert_int_equal(pop3_stuff_feed(&st, msg, 10, out), 10);
	assert_false(st.done);
	(void)pop3_stuff_feed(&st, msg + 10, strlen(msg) - 10, out);
	assert_true(st.done);
	assert_int_equal(pop3_stuff_feed(&st, "more\r\n", 6, out), 0);
	pop3_stuff_init(&st, -1);
	(void)pop3_stuff_feed(&st, msg, strlen(msg), out);
	assert_false(st.done);
}

/* decode - SMTP's DATA decoder reading our response back. */
static char *decode(const char *in, size_t len, size_t *out_len_r)
{
	char *out = xmalloc(len + 1);
	struct dot_decoder d;
	size_t consumed;

	dot_decoder_init(&d);
	assert_int_equal(dot_decode(&d, in, len, out, out_len_r, &consumed), 1);
	assert_int_equal(consumed, len);
	return out;
}

/* test_round_trip - random messages of "\r\n", "\n", "." and letters:
 * whatever the client unstuffs is the message with CRLF line ends. */
static void test_round_trip(void **state)
{
	static const char alphabet[] = "..\n\n\r\nab";
	unsigned seed = 4242;

	for (unsigned r = 0; r < ROUNDS; r++) {
		size_t len = (size_t)(rand_r(&seed) % ROUND_MAX), n, dn, want_len = 0;
		char *in = xmalloc(len + 1), *want = xmalloc(2 * len + 3);

		for (size_t i = 0; i < len; i++) {
			char c = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
			/* no lone CR: SMTP never stores one, and the decoder refuses it */
			if (c == '\r' && i + 1 < len) {
				in[i++] = '\r';
				in[i] = '\n';
				continue;
			}
			in[i] = c == '\r' ? 'c' : c;
		}
		for (size_t i = 0; i < len; i++) {
			if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
				want[want_len++] = '\r';
			want[want_len++] = in[i];
		}
		if (want_len > 0 && want[want_len - 1] != '\n') {
			want[want_len++] = '\r';
			want[want_len++] = '\n';
		}
		char *out = encode(in, len, -1, (size_t)(rand_r(&seed) % 7), &n);
		char *back = decode(out, n, &dn);
		if (dn != want_len || memcmp(back, want, dn) != 0)
			fail_msg("round %u: message of %zu octets changed", r, len);
		free(back);
		free(out);
		free(want);
		free(in);
	}
}

static void test_uid_ranges(void **state)
{
	const uint32_t uids[] = { 1, 2, 3, 5, 7, 8, UINT32_MAX - 1, UINT32_MAX };
	uint32_t ranges[N_ELEMENTS(uids)][2];
	size_t n = pop3_uid_ranges(uids, N_ELEMENTS(uids), ranges);

	assert_int_equal(n, 4);
	assert_int_equal(ranges[0][0], 1);
	assert_int_equal(ranges[0][1], 3);
	assert_int_equal(ranges[1][0], 5);
	assert_int_equal(ranges[1][1], 5);
	assert_int_equal(ranges[2][0], 7);
	assert_int_equal(ranges[2][1], 8);
	assert_int_equal(ranges[3][0], UINT32_MAX - 1);
	assert_int_equal(ranges[3][1], UINT32_MAX);
	assert_int_equal(pop3_uid_ranges(uids, 0, ranges), 0);
}

/* test_uidl - Dovecot's %08Xu%08Xv: 16 characters in 0x21..0x7E. */
static void test_uidl(void **state)
{
	char out[POP3_UIDL_MAX];

	pop3_uidl(0x6b02e6df, 1, out);
	assert_string_equal(out, "000000016B02E6DF");
	pop3_uidl(UINT32_MAX, UINT32_MAX, out);
	assert_string_equal(out, "FFFFFFFFFFFFFFFF");
}

static void test_lock(void **state)
{
	assert_int_equal(pop3_lock_take("ann@example.com", 1), 0);
	assert_int_equal(pop3_lock_take("ann@example.com", 1), 0); /* its own */
	assert_int_equal(pop3_lock_take("ann@example.com", 2), -1);
	assert_int_equal(pop3_lock_take("bob@example.com", 2), 0);
	pop3_lock_release("ann@example.com", 2); /* not the owner: no effect */
	assert_int_equal(pop3_lock_take("ann@example.com", 3), -1);
	pop3_lock_release("ann@example.com", 1);
	assert_int_equal(pop3_lock_take("ann@example.com", 3), 0);
	pop3_lock_release("ann@example.com", 3);
	pop3_lock_release("bob@example.com", 2);
	pop3_lock_release("nobody@example.com", 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_done_stops),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_uid_ranges),
		cmocka_unit_test(test_uidl),
		cmocka_unit_test(test_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
