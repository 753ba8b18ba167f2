/* SPDX-License-Identifier: ISC */
/* test-date.c - RFC 5322 date-time: formatting (zones, leap days, range),
 * parsing of the current and obsolete forms, refusals, round trips. */
#include "lib/lib.h"
#include "mail/date.h"

#include <setjmp.h>
#include <cmocka.h>

static void test_format(void **state)
{
	static const struct {
		int64_t t;
		int tz;
		const char *text;
	} cases[] = {
		{ 0, 0, "Thu, 1 Jan 1970 00:00:00 +0000" },
		{ 1700000000, 0, "Tue, 14 Nov 2023 22:13:20 +0000" },
		{ 1700000000, 60, "Tue, 14 Nov 2023 23:13:20 +0100" },
		{ 1700000000, -300, "Tue, 14 Nov 2023 17:13:20 -0500" },
		{ 1700000000, 330, "Wed, 15 Nov 2023 03:43:20 +0530" },
		{ 1700000000, -DATE_TZ_MAX, "Fri, 10 Nov 2023 18:14:20 -9959" },
		{ -1, 0, "Wed, 31 Dec 1969 23:59:59 +0000" },
		{ 951782400, 0, "Tue, 29 Feb 2000 00:00:00 +0000" },
		{ 1709164800, 0, "Thu, 29 Feb 2024 00:00:00 +0000" },
		{ 253402128000, 0, "Thu, 30 Dec 9999 00:00:00 +0000" },
	};
	char buf[DATE_TEXT_MAX];

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		assert_int_equal(date_format(cases[i].t, cases[i].tz, buf, sizeof(buf)), 0);
		assert_string_equal(buf, cases[i].text);
	}
	assert_int_equal(date_format(0, DATE_TZ_MAX + 1, buf, sizeof(buf)), -1);
	assert_int_equal(date_format(0, -DATE_TZ_MAX - 1, buf, sizeof(buf)), -1);
	assert_int_equal(date_format(INT64_MAX, 0, buf, sizeof(buf)), -1);
	assert_int_equal(date_format(INT64_MIN, 0, buf, sizeof(buf)), -1);
	assert_int_equal(date_format(-2208988800 - 86400, 0, buf, sizeof(buf)), -1); /* 1899 */
	assert_int_equal(date_format(0, 0, buf, 30), -1); /* no room for the NUL */
	assert_int_equal(date_format(0, 0, buf, 31), 0);
}

static void test_parse(void **state)
{
	static const struct {
		const char *text;
		int64_t t;
		int tz;
	} good[] = {
		{ "Tue, 14 Nov 2023 22:13:20 +0000", 1700000000, 0 },
		{ "Tue, 14 Nov 2023 23:13:20 +0100", 1700000000, 60 },
		{ "14 Nov 2023 17:13:20 -0500", 1700000000, -300 },
		{ "tue, 14 nov 2023 22:13:20 +0000", 1700000000, 0 },
		{ "Tue,14 Nov 2023 22:13:20 +0000", 1700000000, 0 },
		{ "  Tue ,  14  Nov  2023  22 : 13 : 20  +0000  ", 1700000000, 0 },
		{ "Tue, 14 Nov 2023 22:13:20 +0000 (UTC)", 1700000000, 0 },
		{ "(c) Tue, (x (nested)) 14 Nov 2023 22:13:20 +0000", 1700000000, 0 },
		{ "Tue, 14 Nov 2023 22:13 +0000", 1700000000 - 20, 0 },
		{ "Tue, 14 Nov 23 22:13:20 +0000", 1700000000, 0 },  /* obs 2-digit year */
		{ "Tue, 14 Nov 123 22:13:20 +0000", 1700000000, 0 }, /* obs 3-digit year */
		{ "Sun, 14 Nov 99 22:13:20 +0000", 942617600, 0 },
		{ "Tue, 14 Nov 2023 22:13:20 GMT", 1700000000, 0 },
		{ "Tue, 14 Nov 2023 22:13:20 UT", 1700000000, 0 },
		{ "Tue, 14 Nov 2023 17:13:20 EST", 1700000000, -300 },
		{ "Tue, 14 Nov 2023 15:13:20 pdt", 1700000000, -420 },
		{ "Tue, 14 Nov 2023 22:13:20 Z", 1700000000, 0 }, /* military: -0000 */
		{ "Tue, 14 Nov 2023 22:13:20 -0000", 1700000000, 0 },
		{ "Thu, 1 Jan 1970 00:00:00 +0000", 0, 0 },
		{ "Thu, 29 Feb 2024 00:00:00 +0000", 1709164800, 0 },
		{ "Sat, 31 Dec 2016 23:59:60 +0000", 1483228800, 0 }, /* leap second */
		{ "Mon, 1 Jan 1900 00:00:00 +0000", -2208988800, 0 },
	};
	static const char *const bad[] = {
		"",
		"Mon, 14 Nov 2023 22:13:20 +0000", /* a Tuesday */
		"Tue 14 Nov 2023 22:13:20 +0000",
		"Tues, 14 Nov 2023 22:13:20 +0000",
		"Tue, 14 Novem 2023 22:13:20 +0000",
		"31 Feb 2023 00:00:00 +0000",
		"29 Feb 2023 00:00:00 +0000",
		"29 Feb 1900 00:00:00 +0000",
		"0 Jan 2023 00:00:00 +0000",
		"32 Jan 2023 00:00:00 +0000",
		"123 Jan 2023 00:00:00 +0000",
		"1 Jan 2023 24:00:00 +0000",
		"1 Jan 2023 23:60:00 +0000",
		"1 Jan 2023 23:59:61 +0000",
		"1 Jan 2023 1:00:00 +0000",
		"1 Jan 2023 01:00:00",
		"1 Jan 2023 01:00:00 +000",
		"1 Jan 2023 01:00:00 +00000",
		"1 Jan 2023 01:00:00 +0060",
		"1 Jan 2023 01:00:00 J",
		"1 Jan 2023 01:00:00 XYZ",
		"1 Jan 2023 01:00:00 +0000 junk",
		"1 Jan 20233 01:00:00 +0000",
		"1 Jan 2 01:00:00 +0000",
		"1 Jan 1899 01:00:00 +0000",
		"1 Jan 2023 01:00:00 +0000 ((((((((((deep))))))))))",
		"1 Jan 2023",
	};
	int64_t t;
	int tz;

	for (size_t i = 0; i < N_ELEMENTS(good); i++) {
		if (date_parse(good[i].text, &t, &tz) < 0)
			fail_msg("'%s' refused", good[i].text);
		if (t != good[i].t || tz != good[i].tz)
			fail_msg("'%s': %" PRId64 " %d, want %" PRId64 " %d", good[i].text, t, tz,
				 good[i].t, good[i].tz);
	}
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		if (date_parse(bad[i], &t, &tz) == 0)
			fail_msg("'%s' accepted", bad[i]);
	}
}

/* test_round_trip - format then parse gives the instant and zone back. */
static void test_round_trip(void **state)
{
	char buf[DATE_TEXT_MAX];
	int64_t t;
	int tz;

	for (int64_t x = -2208988800 + 86400; x < 253402128000; x += 7777777 + x % 1000) {
		int64_t span = 2 * DATE_TZ_MAX + 1;
		int zone = (int)((x % span + span) % span) - DATE_TZ_MAX;
		if (date_format(x, zone, buf, sizeof(buf)) < 0)
			fail_msg("%" PRId64 " %d not formatted", x, zone);
		if (date_parse(buf, &t, &tz) < 0)
			fail_msg("'%s' does not parse", buf);
		assert_true(t == x);
		assert_int_equal(tz, zone);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
