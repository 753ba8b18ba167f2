/* SPDX-License-Identifier: ISC */
/*
 * test-imap-seqset.c - sequence sets: the grammar's edges, "*" and "$",
 * normalising, membership, counting and iterating up to UINT32_MAX
 * without wrapping, and compact UID sets for COPYUID/APPENDUID.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "imap/imap-seqset.h"

#include <setjmp.h>
#include <cmocka.h>

/* The set written back, parsed from str (resolved with star when
 * star != 0). */
static char *roundtrip(const char *str, uint32_t star)
{
	struct imap_seqset set;
	struct buf out;
	const char *error;

	imap_seqset_init(&set);
	assert_int_equal(imap_seqset_parse(str, 0, &set, &error), 0);
	if (star != 0)
		assert_int_equal(imap_seqset_resolve(&set, star), 0);
	buf_init(&out, 0);
	assert_int_equal(imap_seqset_write(&set, &out), 0);
	char *s = xstrndup(out.data != NULL ? out.data : "", out.len);
	buf_release(&out);
	imap_seqset_clear(&set);
	return s;
}

static void check_roundtrip(const char *str, uint32_t star, const char *want)
{
	char *got = roundtrip(str, star);
	assert_string_equal(got, want);
	free(got);
}

static void test_parse(void **state)
{
	/* as parsed: order, direction and stars kept */
	check_roundtrip("1", 0, "1");
	check_roundtrip("1:*", 0, "1:*");
	check_roundtrip("*:5", 0, "*:5");
	check_roundtrip("*", 0, "*");
	check_roundtrip("2,4:7,9,12:*", 0, "2,4:7,9,12:*");
	check_roundtrip("7:4,1", 0, "7:4,1");
	check_roundtrip("4294967295", 0, "4294967295");
	check_roundtrip("1:4294967295", 0, "1:4294967295");
	check_roundtrip("$", 0, "$");
	/* resolved: sorted, merged (overlapping and adjacent) */
	check_roundtrip("1:*", 10, "1:10");
	check_roundtrip("*:5", 3, "3:5");
	check_roundtrip("2,4:7,9,12:*", 15, "2,4:7,9,12:15");
	check_roundtrip("5:3,1,2,10:*", 8, "1:5,8:10");
	check_roundtrip("9,8,7,6,5", 9, "5:9");
	check_roundtrip("1:3,2:4,10,3", 1, "1:4,10");
	check_roundtrip("559:*", 300, "300:559"); /* RFC 9051: n:m = m:n */
	check_roundtrip("4294967295,4294967294,1", 5, "1,4294967294:4294967295");
	check_roundtrip("1:4294967295,7", 5, "1:4294967295");
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "0", "01", "1:0", "0:1", "1:", ":1", "1,,2", "1,", ",1", "a", "1:2:3",
		"4294967296", "99999999999999999999", "$,1", "1,$", "$$", " 1", "1 ", "**",
		"*:", "1:*:2", "-1", "+1", "1.5", "1;2",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct imap_seqset set;
		const char *error = NULL;
		imap_seqset_init(&set);
		if (imap_seqset_parse(bad[i], 0, &set, &error) == 0)
			print_error("accepted '%s'\n", bad[i]);
		assert_string_equal(error, "Invalid sequence set");
		assert_int_equal(set.count, 0);
		imap_seqset_clear(&set);
	}
}

static void test_max_ranges(void **state)
{
	struct imap_seqset set;
	const char *error;

	imap_seqset_init(&set);
	assert_int_equal(imap_seqset_parse("1,2:3,5", 3, &set, &error), 0);
	assert_int_equal(set.count, 3);
	imap_seqset_clear(&set);
	assert_int_equal(imap_seqset_parse("1,2:3,5,7", 3, &set, &error), -1);
	assert_string_equal(error, "Too many ranges in sequence set");
	assert_int_equal(set.count, 0);
	imap_seqset_clear(&set);

	/* the default bound */
	struct buf big;
	buf_init(&big, 0);
	for (unsigned i = 0; i < IMAP_SEQSET_RANGES_MAX; i++)
		assert_int_equal(buf_printf(&big, "%s%u", i == 0 ? "" : ",", i * 2 + 1), 0);
	assert_int_equal(imap_seqset_parse(big.data, 0, &set, &error), 0);
	assert_int_equal(imap_seqset_resolve(&set, 1), 0);
	assert_int_equal(set.count, IMAP_SEQSET_RANGES_MAX);
	assert_true(imap_seqset_contains(&set, 2 * IMAP_SEQSET_RANGES_MAX - 1));
	assert_false(imap_seqset_contains(&set, 2 * IMAP_SEQSET_RANGES_MAX - 2));
	imap_seqset_clear(&set);
	assert_int_equal(buf_append_str(&big, ",99999999"), 0);
	assert_int_equal(imap_seqset_parse(big.data, 0, &set, &error), -1);
	imap_seqset_clear(&set);
	buf_release(&big);
}

static void test_star(void **state)
{
	struct imap_seqset set;
	const char *error;

	imap_seqset_init(&set);
	assert_int_equal(imap_seqset_parse("1,*", 0, &set, &error), 0);
	assert_true(imap_seqset_has_star(&set));
	assert_false(set.normalized);
	/* "*" in an empty mailbox (sequence numbers) */
	assert_int_equal(imap_seqset_resolve(&set, 0), -1);
	assert_int_equal(imap_seqset_resolve(&set, 1), 0);
	assert_false(imap_seqset_has_star(&set));
	assert_int_equal(set.count, 1);
	assert_int_equal(imap_seqset_last(&set), 1);
	imap_seqset_clear(&set);
	/* no star: resolving with 0 is fine */
	assert_int_equal(imap_seqset_parse("3:2", 0, &set, &error), 0);
	assert_int_equal(imap_seqset_resolve(&set, 0), 0);
	assert_int_equal(set.ranges[0].first, 2);
	imap_seqset_clear(&set);
	/* "$" */
	assert_int_equal(imap_seqset_parse("$", 0, &set, &error), 0);
	assert_true(set.saved);
	assert_int_equal(set.count, 0);
	imap_seqset_clear(&set);
	assert_false(set.saved);
}

static void test_contains_count(void **state)
{
	struct imap_seqset set;
	const char *error;

	imap_seqset_init(&set);
	assert_int_equal(imap_seqset_count(&set), 0);
	assert_int_equal(imap_seqset_last(&set), 0);
	assert_false(imap_seqset_contains(&set, 1));
	assert_int_equal(imap_seqset_parse("2,4:7,9,12:*", 0, &set, &error), 0);
	assert_int_equal(imap_seqset_resolve(&set, 15), 0);
	static const uint32_t in[] = { 2, 4, 5, 7, 9, 12, 15 };
	static const uint32_t out[] = { 1, 3, 8, 10, 11, 16, UINT32_MAX };
	for (size_t i = 0; i < N_ELEMENTS(in); i++)
		assert_true(imap_seqset_contains(&set, in[i]));
	for (size_t i = 0; i < N_ELEMENTS(out); i++)
		assert_false(imap_seqset_contains(&set, out[i]));
	assert_int_equal(imap_seqset_count(&set), 1 + 4 + 1 + 4);
	assert_int_equal(imap_seqset_last(&set), 15);
	imap_seqset_clear(&set);
	/* the whole uint32 range counts 2^32 - 1 without overflow */
	assert_int_equal(imap_seqset_parse("1:*", 0, &set, &error), 0);
	assert_int_equal(imap_seqset_resolve(&set, UINT32_MAX), 0);
	assert_true(imap_seqset_count(&set) == (uint64_t)UINT32_MAX);
	assert_true(imap_seqset_contains(&set, UINT32_MAX));
	assert_int_equal(imap_seqset_last(&set), UINT32_MAX);
	imap_seqset_clear(&set);
}

static void test_iter(void **state)
{
	struct imap_seqset set;
	struct imap_seqset_iter iter;
	const char *error;
	uint32_t n, got[16];
	unsigned count = 0;

	imap_seqset_init(&set);
	assert_int_equal(imap_seqset_parse("4294967295,3,1:2,4294967293:4294967294", 0, &set, &error), 0);
	assert_int_equal(imap_seqset_resolve(&set, 1), 0);
	imap_seqset_iter_init(&iter, &set);
	while (imap_seqset_iter_next(&iter, &n)) {
		assert_true(count < N_ELEMENTS(got));
		got[count++] = n;
	}
	assert_int_equal(count, 6);
	static const uint32_t want[] = { 1, 2, 3, 4294967293u, 4294967294u, 4294967295u };
	for (unsigned i = 0; i < count; i++)
		assert_int_equal(got[i], want[i]);
	assert_false(imap_seqset_iter_next(&iter, &n)); /* stays done */
	imap_seqset_clear(&set);

	/* an unnormalised, star-free set iterates as stored, either way */
	assert_int_equal(imap_seqset_parse("5:3,1", 0, &set, &error), 0);
	imap_seqset_iter_init(&iter, &set);
	count = 0;
	while (imap_seqset_iter_next(&iter, &n))
		got[count++] = n;
	assert_int_equal(count, 4);
	assert_int_equal(got[0], 3);
	assert_int_equal(got[2], 5);
	assert_int_equal(got[3], 1);
	imap_seqset_clear(&set);

	/* empty */
	imap_seqset_iter_init(&iter, &set);
	assert_false(imap_seqset_iter_next(&iter, &n));
}

static char *written(const struct imap_seqset *set)
{
	struct buf out;
	buf_init(&out, 0);
	assert_int_equal(imap_seqset_write(set, &out), 0);
	char *s = xstrndup(out.data != NULL ? out.data : "", out.len);
	buf_release(&out);
	return s;
}

/* COPYUID 38505 304,319:320 3956:3958 (RFC 4315 section 3's example):
 * sources upwards, destinations upwards, aligned by position. */
static void test_build(void **state)
{
	struct imap_seqset src, dst;
	static const uint32_t copied[] = { 304, 319, 320 };
	char *s;

	imap_seqset_init(&src);
	imap_seqset_init(&dst);
	for (size_t i = 0; i < N_ELEMENTS(copied); i++) {
		imap_seqset_add(&src, copied[i]);
		imap_seqset_add(&dst, (uint32_t)(3956 + i));
	}
	s = written(&src);
	assert_string_equal(s, "304,319:320");
	free(s);
	s = written(&dst);
	assert_string_equal(s, "3956:3958");
	free(s);
	assert_true(src.normalized);
	assert_int_equal(imap_seqset_count(&src), 3);
	imap_seqset_clear(&src);
	imap_seqset_clear(&dst);

	/* the order given is the order written */
	imap_seqset_add(&src, 5);
	imap_seqset_add(&src, 3);
	imap_seqset_add(&src, 4);
	s = written(&src);
	assert_string_equal(s, "5,3:4");
	free(s);
	assert_false(src.normalized);
	imap_seqset_normalize(&src);
	s = written(&src);
	assert_string_equal(s, "3:5");
	free(s);
	imap_seqset_clear(&src);

	/* ranges, reversed, overlapping, at the top of the range */
	imap_seqset_add_range(&src, 10, 5);
	imap_seqset_add_range(&src, 7, 12);
	imap_seqset_add_range(&src, UINT32_MAX - 1, UINT32_MAX);
	imap_seqset_add(&src, UINT32_MAX);
	s = written(&src);
	assert_string_equal(s, "5:12,4294967294:4294967295");
	free(s);
	assert_true(src.normalized);
	imap_seqset_clear(&src);
}

static void test_write_limit(void **state)
{
	struct imap_seqset set;
	struct buf out;
	const char *error;

	imap_seqset_init(&set);
	assert_int_equal(imap_seqset_parse("1:*,10,20:30", 0, &set, &error), 0);
	for (size_t max = 1; max < 12; max++) {
		buf_init(&out, max);
		assert_int_equal(imap_seqset_write(&set, &out), -1);
		buf_release(&out);
	}
	buf_init(&out, 12);
	assert_int_equal(imap_seqset_write(&set, &out), 0);
	assert_string_equal(out.data, "1:*,10,20:30");
	buf_release(&out);
	imap_seqset_clear(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_max_ranges),
		cmocka_unit_test(test_star),
		cmocka_unit_test(test_contains_count),
		cmocka_unit_test(test_iter),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_write_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
