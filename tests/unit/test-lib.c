/* SPDX-License-Identifier: ISC */
/* test-lib.c - layer 0: buffers, strings, sizes, durations, pools, fs. */
#include "lib/lib.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/fs.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"

#include <setjmp.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_buf_bounded(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_append_str(&b, "abcd"), 0);
	assert_int_equal(buf_append_str(&b, "efgh"), 0);
	assert_int_equal(buf_append_str(&b, "i"), -1); /* past max: refused, unchanged */
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "abcdefgh");
	buf_consume(&b, 3);
	assert_string_equal(b.data, "defgh");
	buf_release(&b);

	buf_init(&b, 0);
	assert_int_equal(buf_printf(&b, "A\r\nB%d\r\n", 7), 0);
	assert_int_equal(buf_find_crlf(&b, 0), 1);
	assert_int_equal(buf_find_crlf(&b, 2), 5);
	assert_int_equal(buf_find_crlf(&b, 6), -1);
	buf_release(&b);
}

static void test_str(void **state)
{
	char small[4];
	uint64_t u;
	int64_t s;
	bool v;

	assert_int_equal(str_copy(small, "abc", sizeof(small)), 0);
	assert_int_equal(str_copy(small, "abcd", sizeof(small)), -1);
	assert_int_equal(str_printf(small, sizeof(small), "%d", 1234), -1);
	assert_int_equal(str_casecmp("PostINO", "postino"), 0);
	assert_true(str_casecmp("a", "b") < 0);
	assert_int_equal(str_to_uint64("18446744073709551615", 0, UINT64_MAX, &u), 0);
	assert_int_equal(str_to_uint64("18446744073709551616", 0, UINT64_MAX, &u), -1);
	assert_int_equal(str_to_uint64("12x", 0, 100, &u), -1);
	assert_int_equal(str_to_uint64("", 0, 100, &u), -1);
	assert_int_equal(str_to_uint64("101", 0, 100, &u), -1);
	assert_int_equal(str_to_int64("-5", -10, 10, &s), 0);
	assert_int_equal(s, -5);
	assert_int_equal(str_to_bool("YES", &v), 0);
	assert_true(v);
	assert_int_equal(str_to_bool("off", &v), 0);
	assert_false(v);
	assert_int_equal(str_to_bool("maybe", &v), -1);
	char t[] = "  \t hi there \r\n";
	assert_string_equal(str_trim(t), "hi there");
}

static void test_units(void **state)
{
	uint64_t bytes;
	int64_t secs, t;
	char out[32];

	assert_int_equal(size_parse("100M", &bytes), 0);
	assert_int_equal(bytes, 100ULL << 20);
	assert_int_equal(size_parse("2g", &bytes), 0);
	assert_int_equal(bytes, 2ULL << 30);
	assert_int_equal(size_parse("0", &bytes), 0);
	assert_int_equal(bytes, 0);
	assert_int_equal(size_parse("12Q", &bytes), -1);
	assert_int_equal(size_parse("M", &bytes), -1);
	assert_int_equal(size_parse("99999999999T", &bytes), -1);
	size_format(100ULL << 20, out, sizeof(out));
	assert_string_equal(out, "100M");
	size_format(1536, out, sizeof(out));
	assert_string_equal(out, "1.5K");
	size_format(999, out, sizeof(out));
	assert_string_equal(out, "999");
	assert_int_equal(time_parse_duration("5m", &secs), 0);
	assert_int_equal(secs, 300);
	assert_int_equal(time_parse_duration("2d", &secs), 0);
	assert_int_equal(secs, 172800);
	assert_int_equal(time_parse_duration("2x", &secs), -1);
	assert_int_equal(time_parse_when("2h", 10000, &t), 0);
	assert_int_equal(t, 10000 - 7200);
	assert_int_equal(time_parse_when("1970-01-02", 0, &t), 0);
	assert_int_equal(t, 86400);
	assert_int_equal(time_parse_when("1970-01-01T00:01:00Z", 0, &t), 0);
	assert_int_equal(t, 60);
	assert_int_equal(time_parse_when("yesterday", 0, &t), -1);
	time_format_iso(86400, out, sizeof(out));
	assert_string_equal(out, "1970-01-02T00:00:00Z");
}

static void test_pool(void **state)
{
	struct pool *p = pool_new(64);
	char *big = p_alloc(p, 10000); /* larger than a block */
	memset(big, 'x', 10000);
	for (int i = 0; i < 1000; i++)
		assert_string_equal(p_printf(p, "n=%d", i), i == 0 ? "n=0" : p_printf(p, "n=%d", i));
	assert_string_equal(p_strndup(p, "abcdef", 3), "abc");
	pool_free(&p);
	assert_null(p);
	pool_free(&p); /* NULL is fine */
}

static void test_fs_durable(void **state)
{
	char dir[] = "/tmp/postino-fs-XXXXXX";
	char *data;
	size_t len;

	assert_non_null(mkdtemp(dir));
	char *path = xasprintf("%s/a/b/c", dir);
	assert_int_equal(mkdir_p(path, 0755), 0);
	assert_int_equal(mkdir_p(path, 0755), 0);
	char *file = xasprintf("%s/f", path);
	assert_int_equal(file_write_durable(file, "hello", 5, 0600), 0);
	assert_int_equal(file_read_all(file, 100, &data, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(data, "hello");
	free(data);
	assert_int_equal(file_read_all(file, 3, &data, &len), -1); /* over max */
	assert_int_equal(dir_size(dir), 5);

	/* an injected fsync/rename failure leaves the old content intact */
	for (unsigned n = 1; n <= 3; n++) {
		fs_fault_inject(n, EIO);
		assert_int_equal(file_write_durable(file, "world!", 6, 0600), -1);
		assert_int_equal(errno, EIO);
		assert_int_equal(file_read_all(file, 100, &data, &len), 0);
		assert_string_equal(data, "hello");
		free(data);
	}
	fs_fault_inject(0, 0);
	char *cmd = xasprintf("rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(file);
	free(path);
}

/* RFC 4648 section 10 test vectors, both ways, then malformed input. */
static void test_base64(void **state)
{
	static const char *const vectors[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	static const char *const bad[] = {
		"Zg=", "Zg===", "Z===", "Zm9v!", "Zh==", "Zm9=", "=Zg=", "Zg==Zg==", "Zm 9v",
	};
	struct buf b;

	for (size_t i = 0; i < N_ELEMENTS(vectors); i++) {
		buf_init(&b, 0);
		assert_int_equal(base64_encode(vectors[i][0], strlen(vectors[i][0]), &b), 0);
		assert_string_equal(b.data != NULL ? b.data : "", vectors[i][1]);
		assert_int_equal(base64_encoded_len(strlen(vectors[i][0])), strlen(vectors[i][1]));
		buf_reset(&b);
		assert_int_equal(base64_decode(vectors[i][1], strlen(vectors[i][1]), &b), 0);
		assert_int_equal(b.len, strlen(vectors[i][0]));
		assert_memory_equal(b.data != NULL ? b.data : "", vectors[i][0], b.len);
		buf_release(&b);
	}
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		buf_init(&b, 0);
		if (base64_decode(bad[i], strlen(bad[i]), &b) != -1)
			fail_msg("accepted bad base64 '%s'", bad[i]);
		buf_release(&b);
	}
	/* "\0user\0pass" (AUTH PLAIN) keeps its NULs */
	buf_init(&b, 0);
	assert_int_equal(base64_decode("AHVzZXIAcGFzcw==", 16, &b), 0);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "\0user\0pass", 10);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_bounded), cmocka_unit_test(test_str),
		cmocka_unit_test(test_units),       cmocka_unit_test(test_pool),
		cmocka_unit_test(test_fs_durable), cmocka_unit_test(test_base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
