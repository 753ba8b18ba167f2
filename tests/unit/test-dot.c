/* SPDX-License-Identifier: ISC */
/* test-dot.c - the DATA decoder: unstuffing, the one true end line, every
 * SMTP smuggling variant, flags and limits; each vector fed whole, in
 * place, and 1, 2, 3 ... N bytes at a time, plus random inputs checked
 * against a reference written the obvious (non-streaming) way. */
#include "lib/lib.h"
#include "lib/mem.h"
#include "mail/dot.h"

#include <setjmp.h>
#include <cmocka.h>

#define X998                                                                               \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxx"

struct vector {
	const char *name;
	const char *in;
	size_t in_len;   /* 0: strlen(in) */
	int ret;         /* after feeding everything */
	const char *out; /* the message produced */
	size_t out_len;  /* 0: strlen(out) */
	const char *rest; /* what is left for the command parser */
	unsigned flags;
};

#define SMUGGLE "MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n"

static const struct vector vectors[] = {
	/* the end line, and only it */
	{ "empty message", ".\r\n", 0, 1, "", 0, "", 0 },
	{ "one line", "Hello\r\n.\r\n", 0, 1, "Hello\r\n", 0, "", 0 },
	{ "pipelined QUIT", "Hi\r\n.\r\nQUIT\r\n", 0, 1, "Hi\r\n", 0, "QUIT\r\n", 0 },
	{ "empty first line", "\r\n.\r\n", 0, 1, "\r\n", 0, "", 0 },
	{ "blank lines", "a\r\n\r\n\r\nb\r\n.\r\n", 0, 1, "a\r\n\r\n\r\nb\r\n", 0, "", 0 },
	{ "two ends", "a\r\n.\r\n.\r\n", 0, 1, "a\r\n", 0, ".\r\n", 0 },
	{ "unfinished", "Hello\r\n.", 0, 0, "Hello\r\n", 0, "", 0 },
	{ "unfinished CR", "Hello\r\n.\r", 0, 0, "Hello\r\n", 0, "", 0 },
	{ "unfinished line", "Hello", 0, 0, "Hello", 0, "", 0 },
	{ "dot inside a line", "a.\r\n.b.\r\n.\r\n", 0, 1, "a.\r\nb.\r\n", 0, "", 0 },
	{ "dot then space", "a\r\n. \r\n.\r\n", 0, 1, "a\r\n \r\n", 0, "", 0 },
	/* transparency (RFC 5321 4.5.2) */
	{ "stuffed dot", "..\r\n.\r\n", 0, 1, ".\r\n", 0, "", 0 },
	{ "stuffed text", "..leading\r\n.\r\n", 0, 1, ".leading\r\n", 0, "", 0 },
	{ "stuffed double", "a\r\n...\r\n.\r\n", 0, 1, "a\r\n..\r\n", 0, "", 0 },
	{ "unstuffed dot removed", "a\r\n.x\r\n.\r\n", 0, 1, "a\r\nx\r\n", 0, "", 0 },
	{ "stuffed end look-alike", "..\r\n..\r\n.\r\n", 0, 1, ".\r\n.\r\n", 0, "", 0 },
	/* SMTP smuggling (2023): none of these ends the message, the bytes
	 * after them are data, and the message is refused at the real end */
	{ "LF.LF", "a\n.\n" SMUGGLE "\r\n.\r\n", 0, -1, "a\n.\n" SMUGGLE "\r\n", 0, "",
	  DOT_BARE_LF },
	{ "LF.CRLF", "a\n.\r\n" SMUGGLE "x\r\n.\r\n", 0, -1, "a\n.\r\n" SMUGGLE "x\r\n", 0, "",
	  DOT_BARE_LF },
	{ "CR.CR", "a\r.\r" SMUGGLE ".\r\n", 0, -1, "a\r.\r" SMUGGLE, 0, "", DOT_BARE_CR },
	{ "CRLF.CR", "a\r\n.\r" SMUGGLE ".\r\n", 0, -1, "a\r\n" SMUGGLE, 0, "", DOT_BARE_CR },
	{ "CRLF.LF", "a\r\n.\n" SMUGGLE ".\r\n", 0, -1, "a\r\n\n" SMUGGLE, 0, "", DOT_BARE_LF },
	{ "CR.LF", "a\r.\n" SMUGGLE ".\r\n", 0, -1, "a\r.\n" SMUGGLE, 0, "",
	  DOT_BARE_CR | DOT_BARE_LF },
	{ "LF.CR", "a\n.\r" SMUGGLE ".\r\n", 0, -1, "a\n.\r" SMUGGLE, 0, "",
	  DOT_BARE_LF | DOT_BARE_CR },
	{ "at start LF", ".\n" SMUGGLE ".\r\n", 0, -1, "\n" SMUGGLE, 0, "", DOT_BARE_LF },
	{ "at start CR", ".\r" SMUGGLE ".\r\n", 0, -1, SMUGGLE, 0, "", DOT_BARE_CR },
	{ "LF at start", "\n.\r\n.\r\n", 0, -1, "\n.\r\n", 0, "", DOT_BARE_LF },
	{ "CR CR LF", "a\r\r\n.\r\n", 0, -1, "a\r\r\n", 0, "", DOT_BARE_CR },
	{ "dot CR CR LF", "a\r\n.\r\r\n.\r\n", 0, -1, "a\r\n\r\n", 0, "", DOT_BARE_CR },
	{ "LF CR LF", "a\n\r\n.\r\n", 0, -1, "a\n\r\n", 0, "", DOT_BARE_LF },
	{ "lone LF only", "\n", 0, 0, "\n", 0, "", DOT_BARE_LF },
	{ "smuggled, unfinished", "a\n.\nQUIT\r\n", 0, 0, "a\n.\nQUIT\r\n", 0, "", DOT_BARE_LF },
	{ "error then pipelining", "a\n.\n\r\n.\r\nQUIT\r\n", 0, -1, "a\n.\n\r\n", 0, "QUIT\r\n",
	  DOT_BARE_LF },
	/* information flags */
	{ "8bit", "caf\xc3\xa9\r\n.\r\n", 0, 1, "caf\xc3\xa9\r\n", 0, "", DOT_8BIT },
	{ "NUL", "a\0b\r\n.\r\n", 8, 1, "a\0b\r\n", 5, "", DOT_NUL },
	{ "998", X998 "\r\n.\r\n", 0, 1, X998 "\r\n", 0, "", 0 },
	{ "999", X998 "y\r\n.\r\n", 0, 1, X998 "y\r\n", 0, "", DOT_LONG_LINE },
	{ "998 stuffed", "." X998 "\r\n.\r\n", 0, 1, X998 "\r\n", 0, "", 0 },
	{ "999 stuffed", ".." X998 "\r\n.\r\n", 0, 1, "." X998 "\r\n", 0, "", DOT_LONG_LINE },
	{ "998 twice", X998 "\r\n" X998 "\r\n.\r\n", 0, 1, X998 "\r\n" X998 "\r\n", 0, "", 0 },
};

struct result {
	int ret;
	char *out;
	size_t out_len, consumed;
	struct dot_decoder d;
};

/* feed - run in through a decoder chunk bytes at a time (0: all at once). */
static struct result feed(const char *in, size_t len, size_t chunk)
{
	struct result r = { .ret = 0, .out = xmalloc(len + 1), .out_len = 0, .consumed = 0 };

	dot_decoder_init(&r.d);
	while (r.consumed < len) {
		size_t n = chunk == 0 || len - r.consumed < chunk ? len - r.consumed : chunk;
		size_t out_len, used;
		/* a private copy: ASan catches reads past the chunk */
		char *piece = xmalloc(n);
		memcpy(piece, in + r.consumed, n);
		r.ret = dot_decode(&r.d, piece, n, r.out + r.out_len, &out_len, &used);
		free(piece);
		assert_true(used <= n);
		assert_true(out_len <= used);
		r.out_len += out_len;
		r.consumed += used;
		if (r.ret != 0)
			break;
		assert_int_equal(used, n); /* 0 means everything was taken */
	}
	return r;
}

static void check_vector(const struct vector *v, size_t chunk)
{
	size_t in_len = v->in_len != 0 ? v->in_len : strlen(v->in);
	size_t out_len = v->out_len != 0 ? v->out_len : strlen(v->out);
	struct result r = feed(v->in, in_len, chunk);

	if (r.ret != v->ret)
		fail_msg("%s (chunk %zu): ret %d, want %d", v->name, chunk, r.ret, v->ret);
	if (r.out_len != out_len || memcmp(r.out, v->out, out_len) != 0)
		fail_msg("%s (chunk %zu): output differs (%zu vs %zu octets)", v->name, chunk,
			 r.out_len, out_len);
	if (r.ret != 0 && strcmp(v->in + r.consumed, v->rest) != 0)
		fail_msg("%s (chunk %zu): rest '%s', want '%s'", v->name, chunk, v->in + r.consumed,
			 v->rest);
	if (r.d.flags != v->flags)
		fail_msg("%s (chunk %zu): flags %#x, want %#x", v->name, chunk, r.d.flags, v->flags);
	assert_true(r.d.size == out_len);
	assert_true(r.d.wire_size == r.consumed);
	free(r.out);
}

static void test_vectors(void **state)
{
	assert_int_equal(strlen(X998), DOT_LINE_MAX);
	for (size_t i = 0; i < N_ELEMENTS(vectors); i++) {
		size_t len = vectors[i].in_len != 0 ? vectors[i].in_len : strlen(vectors[i].in);
		check_vector(&vectors[i], 0);
		for (size_t chunk = 1; chunk <= len; chunk++)
			check_vector(&vectors[i], chunk);
	}
}

/* test_in_place - out may be the input buffer itself. */
static void test_in_place(void **state)
{
	for (size_t i = 0; i < N_ELEMENTS(vectors); i++) {
		const struct vector *v = &vectors[i];
		size_t in_len = v->in_len != 0 ? v->in_len : strlen(v->in);
		size_t out_len = v->out_len != 0 ? v->out_len : strlen(v->out);
		char *buf = xmalloc(in_len + 1);
		struct dot_decoder d;
		size_t n, used;

		memcpy(buf, v->in, in_len);
		dot_decoder_init(&d);
		assert_int_equal(dot_decode(&d, buf, in_len, buf, &n, &used), v->ret);
		assert_int_equal(n, out_len);
		assert_memory_equal(buf, v->out, out_len);
		free(buf);
	}
}

static void test_after_end(void **state)
{
	struct dot_decoder d;
	char out[16];
	size_t n, used;

	dot_decoder_init(&d);
	assert_int_equal(dot_decode(&d, ".\r\nMORE", 7, out, &n, &used), 1);
	assert_int_equal(used, 3);
	/* the decoder stays finished: nothing more is taken */
	assert_int_equal(dot_decode(&d, "MORE", 4, out, &n, &used), 1);
	assert_int_equal(used, 0);
	assert_int_equal(n, 0);
	/* and an empty feed is harmless before the end */
	dot_decoder_init(&d);
	assert_int_equal(dot_decode(&d, "", 0, out, &n, &used), 0);
	assert_int_equal(used, 0);
}

static void test_error_at(void **state)
{
	struct dot_decoder d;
	char out[64];
	size_t n, used;

	/* the offset of the first offending octet, across calls */
	dot_decoder_init(&d);
	assert_int_equal(dot_decode(&d, "ab\r\ncd", 6, out, &n, &used), 0);
	assert_int_equal(dot_decode(&d, "\r", 1, out, &n, &used), 0);
	assert_int_equal(dot_decode(&d, "x\n\r\n.\r\n", 7, out, &n, &used), -1);
	assert_true(d.error_at == 6); /* the CR, not the later LF */
	assert_int_equal(d.flags, DOT_BARE_CR | DOT_BARE_LF);
	dot_decoder_init(&d);
	assert_int_equal(dot_decode(&d, ".\rx\r\n.\r\n", 8, out, &n, &used), -1);
	assert_true(d.error_at == 1);
}

/* ---- random inputs against a reference ---- */

/* ref_end - offset just past the end line: the first CR LF "." CR LF in
 * CR LF + data; 0 when there is none. */
static size_t ref_end(const char *s, size_t len)
{
	if (len >= 3 && memcmp(s, ".\r\n", 3) == 0)
		return 3;
	for (size_t i = 0; i + 5 <= len; i++) {
		if (memcmp(s + i, "\r\n.\r\n", 5) == 0)
			return i + 5;
	}
	return 0;
}

/* ref_bad - a CR not followed by LF or an LF not preceded by CR in
 * data[0..len) (the CR LF before the data counts as preceding it). */
static bool ref_bad(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r' && (i + 1 >= len || s[i + 1] != '\n'))
			return true;
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			return true;
	}
	return false;
}

/* ref_unstuff - the message of a well-formed data[0..end): lines without
 * their first dot, end line dropped. */
static size_t ref_unstuff(const char *s, size_t end, char *out)
{
	size_t o = 0;
	bool line_start = true;

	for (size_t i = 0; i < end - 3; i++) {
		if (line_start && s[i] == '.') {
			line_start = false;
			continue;
		}
		out[o++] = s[i];
		line_start = s[i] == '\n'; /* well-formed: every LF ends a CR LF */
	}
	return o;
}

static void test_random(void **state)
{
	static const char alphabet[] = { '\r', '\n', '.', 'a', '\r', '\n', '.', '\x80' };
	unsigned seed = 20240101;
	char in[48], ref[48];

	for (int iter = 0; iter < 40000; iter++) {
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(in));
		for (size_t i = 0; i < len; i++)
			in[i] = alphabet[rand_r(&seed) % (int)sizeof(alphabet)];
		struct result whole = feed(in, len, 0);
		size_t end = ref_end(in, len);

		/* the end is exactly the first CR LF "." CR LF */
		assert_int_equal(whole.ret != 0, end != 0);
		if (end != 0) {
			assert_int_equal(whole.consumed, end);
			assert_int_equal(whole.ret == -1, ref_bad(in, end));
			if (whole.ret == 1) {
				size_t n = ref_unstuff(in, end, ref);
				assert_int_equal(whole.out_len, n);
				assert_memory_equal(whole.out, ref, n);
			}
		} else {
			assert_int_equal(whole.consumed, len);
		}
		/* any split gives the same result */
		for (size_t chunk = 1; chunk <= len; chunk++) {
			struct result part = feed(in, len, chunk);
			assert_int_equal(part.ret, whole.ret);
			assert_int_equal(part.consumed, whole.consumed);
			assert_int_equal(part.out_len, whole.out_len);
			assert_memory_equal(part.out, whole.out, whole.out_len);
			assert_int_equal(part.d.flags, whole.d.flags);
			assert_true(part.d.error_at == whole.d.error_at);
			free(part.out);
		}
		free(whole.out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_in_place),
		cmocka_unit_test(test_after_end),
		cmocka_unit_test(test_error_at),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
