/* SPDX-License-Identifier: ISC */
/*
 * test-worker.c - the thread pool: jobs run off the loop, completions run
 * on it (in order, with their owner id), a drain waits for in-flight jobs,
 * and stop drops what never started.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "core/loop.h"
#include "core/worker.h"

#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <event2/event.h>

#define TEST_JOBS 200
#define TEST_DEADLINE_MS 10000

struct job_arg {
	uint64_t id;
	unsigned sleep_us;
	pthread_t ran_on;
	bool ran;
};

static pthread_t main_thread;
static unsigned done_count;
static uint64_t done_order[TEST_JOBS];

static void job_record(void *ctx)
{
	struct job_arg *a = ctx;

	if (a->sleep_us > 0)
		usleep(a->sleep_us);
	a->ran_on = pthread_self();
	a->ran = true;
}

static void job_done(uint64_t owner_id, void *ctx)
{
	struct job_arg *a = ctx;

	/* completions run on the loop thread, after the job, with its owner */
	assert_true(pthread_equal(pthread_self(), main_thread));
	assert_true(a->ran);
	assert_false(pthread_equal(a->ran_on, main_thread));
	assert_int_equal(owner_id, a->id);
	if (done_count < TEST_JOBS)
		done_order[done_count] = owner_id;
	done_count++;
}

/* run_until_idle - dispatch base until every completion has run. */
static void run_until_idle(struct event_base *base)
{
	uint64_t deadline = time_monotonic_ms() + TEST_DEADLINE_MS;

	while (worker_pending() > 0) {
		assert_true(time_monotonic_ms() < deadline);
		event_base_loop(base, EVLOOP_ONCE);
	}
}

static int setup(void **state)
{
	main_thread = pthread_self();
	done_count = 0;
	memset(done_order, 0, sizeof(done_order));
	return 0;
}

static void test_jobs_off_loop(void **state)
{
	struct event_base *base = event_base_new();
	struct job_arg *args = xcalloc(TEST_JOBS, sizeof(*args));
	char *error = NULL;

	assert_int_equal(worker_pool_start(base, 4, &error), 0);
	for (unsigned i = 0; i < TEST_JOBS; i++) {
		args[i].id = 1000 + i;
		args[i].sleep_us = i % 10 == 0 ? 1000 : 0;
		worker_submit(job_record, job_done, args[i].id, &args[i]);
	}
	assert_int_equal(worker_pending(), TEST_JOBS);
	run_until_idle(base);
	assert_int_equal(done_count, TEST_JOBS);
	assert_int_equal(worker_pool_stop(1000), 0);
	free(args);
	event_base_free(base);
}

static void test_completions_in_order(void **state)
{
	struct event_base *base = event_base_new();
	struct job_arg args[20] = { { 0 } };
	char *error = NULL;

	/* one thread: jobs and therefore completions keep submission order */
	assert_int_equal(worker_pool_start(base, 1, &error), 0);
	for (unsigned i = 0; i < N_ELEMENTS(args); i++) {
		args[i].id = i + 1;
		worker_submit(job_record, job_done, args[i].id, &args[i]);
	}
	run_until_idle(base);
	assert_int_equal(done_count, N_ELEMENTS(args));
	for (unsigned i = 0; i < N_ELEMENTS(args); i++)
		assert_int_equal(done_order[i], i + 1);
	assert_int_equal(worker_pool_stop(1000), 0);
	event_base_free(base);
}

static struct job_arg chain_args[3];

static void job_chain_done(uint64_t owner_id, void *ctx)
{
	job_done(owner_id, ctx);
	/* a completion may start the next step of its session */
	if (owner_id < N_ELEMENTS(chain_args)) {
		chain_args[owner_id].id = owner_id + 1;
		worker_submit(job_record, job_chain_done, owner_id + 1, &chain_args[owner_id]);
	}
}

static void test_done_may_submit(void **state)
{
	struct event_base *base = event_base_new();
	char *error = NULL;

	memset(chain_args, 0, sizeof(chain_args));
	assert_int_equal(worker_pool_start(base, 2, &error), 0);
	chain_args[0].id = 1;
	worker_submit(job_record, job_chain_done, 1, &chain_args[0]);
	run_until_idle(base);
	assert_int_equal(done_count, N_ELEMENTS(chain_args));
	assert_int_equal(worker_pool_stop(1000), 0);
	event_base_free(base);
}

static bool drain_began;

static void drain_begin(void *ctx)
{
	drain_began = true;
}

static bool drain_done(void *ctx)
{
	return worker_pending() == 0;
}

/* SIGTERM with slow jobs in flight: the loop keeps running until every
 * completion has been delivered, then returns 0. */
static void test_drain_waits_for_jobs(void **state)
{
	struct loop_hooks hooks = { .drain_begin = drain_begin, .drain_done = drain_done };
	struct job_arg args[4] = { { 0 } };
	char *error = NULL;

	drain_began = false;
	assert_int_equal(loop_init(&hooks, &error), 0);
	assert_int_equal(worker_pool_start(loop_base(), 2, &error), 0);
	for (unsigned i = 0; i < N_ELEMENTS(args); i++) {
		args[i].id = i + 1;
		args[i].sleep_us = 100 * 1000;
		worker_submit(job_record, job_done, args[i].id, &args[i]);
	}
	raise(SIGTERM); /* caught by the loop's handler, handled in loop_run */
	uint64_t start = time_monotonic_ms();
	assert_int_equal(loop_run(), 0);
	assert_true(drain_began);
	assert_int_equal(done_count, N_ELEMENTS(args));
	assert_int_equal(worker_pending(), 0);
	/* two threads, four 100 ms jobs: the drain really waited */
	assert_true(time_monotonic_ms() - start >= 150);
	assert_int_equal(worker_pool_stop(1000), 0);
	loop_deinit();
}

static void job_sleep(void *ctx)
{
	usleep(200 * 1000);
}

static void test_stop_drops_queued(void **state)
{
	struct event_base *base = event_base_new();
	char *error = NULL;

	assert_int_equal(worker_pool_start(base, 1, &error), 0);
	for (unsigned i = 0; i < 4; i++)
		worker_submit(job_sleep, NULL, i, NULL);
	usleep(50 * 1000); /* the first job is running, three wait */
	uint64_t start = time_monotonic_ms();
	assert_int_equal(worker_pool_stop(5000), 0);
	/* only the running job was waited for, not the three queued ones */
	assert_true(time_monotonic_ms() - start < 500);
	assert_int_equal(worker_pending(), 0);
	event_base_free(base);
}

static void test_bad_thread_count(void **state)
{
	struct event_base *base = event_base_new();
	char *error = NULL;

	assert_int_equal(worker_pool_start(base, 0, &error), -1);
	assert_non_null(strstr(error, "threads"));
	free(error);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_jobs_off_loop, setup),
		cmocka_unit_test_setup(test_completions_in_order, setup),
		cmocka_unit_test_setup(test_done_may_submit, setup),
		cmocka_unit_test_setup(test_drain_waits_for_jobs, setup),
		cmocka_unit_test_setup(test_stop_drops_queued, setup),
		cmocka_unit_test_setup(test_bad_thread_count, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
