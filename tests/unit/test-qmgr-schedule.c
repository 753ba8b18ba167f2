/* SPDX-License-Identifier: ISC */
/* test-qmgr-schedule.c - the retry schedule of the outbound queue. */
#include "lib/lib.h"
#include "queue/qmgr-private.h"

#include <setjmp.h>
#include <cmocka.h>

static void test_parse(void **state)
{
	int64_t w[QMGR_SCHEDULE_MAX];
	size_t n;

	assert_int_equal(qmgr_schedule_parse("5m,10m, 1h ,4h", w, QMGR_SCHEDULE_MAX, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(w[0], 300);
	assert_int_equal(w[1], 600);
	assert_int_equal(w[2], 3600);
	assert_int_equal(w[3], 14400);
	assert_int_equal(qmgr_schedule_parse("30", w, QMGR_SCHEDULE_MAX, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(w[0], 30);
	/* refused: empty, empty items, junk, zero, too many */
	assert_int_equal(qmgr_schedule_parse("", w, QMGR_SCHEDULE_MAX, &n), -1);
	assert_int_equal(qmgr_schedule_parse("5m,,1h", w, QMGR_SCHEDULE_MAX, &n), -1);
	assert_int_equal(qmgr_schedule_parse("5m,soon", w, QMGR_SCHEDULE_MAX, &n), -1);
	assert_int_equal(qmgr_schedule_parse("0", w, QMGR_SCHEDULE_MAX, &n), -1);
	assert_int_equal(qmgr_schedule_parse("1m,1m,1m", w, 2, &n), -1);
}

static void test_next(void **state)
{
	int64_t w[] = { 300, 600, 3600 };

	/* attempt n waits w[n-1]; past the list the last wait repeats */
	assert_int_equal(qmgr_schedule_next(w, 3, 1, 1000, 0), 1300);
	assert_int_equal(qmgr_schedule_next(w, 3, 2, 1000, 0), 1600);
	assert_int_equal(qmgr_schedule_next(w, 3, 3, 1000, 0), 4600);
	assert_int_equal(qmgr_schedule_next(w, 3, 9, 1000, 0), 4600);
	assert_int_equal(qmgr_schedule_next(w, 3, 0, 1000, 0), 1300);
	/* jitter adds at most a tenth and never shortens the wait */
	for (uint32_t j = 0; j < 1000; j++) {
		int64_t t = qmgr_schedule_next(w, 3, 1, 1000, j * 7919u);
		assert_true(t >= 1300 && t <= 1330);
	}
	/* short waits get no jitter */
	int64_t s[] = { 5 };
	assert_int_equal(qmgr_schedule_next(s, 1, 1, 0, 12345), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_next),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
