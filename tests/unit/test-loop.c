/* SPDX-License-Identifier: ISC */
/*
 * test-loop.c - the loop's safe points and signals: deferred frees run
 * after the current callback (in order, including frees they defer),
 * SIGHUP calls the reload hook, SIGTERM drains, a second one cuts the
 * drain short, and config snapshots live while referenced.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "core/config.h"
#include "core/loop.h"

#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <event2/event.h>

static char order[16];
static size_t order_len;
static bool in_callback;

static void note(void *ptr)
{
	/* never inside the callback that deferred it */
	assert_false(in_callback);
	order[order_len++] = *(const char *)ptr;
}

static void note_and_defer(void *ptr)
{
	static const char c = 'c';

	note(ptr);
	loop_defer_free(note, (void *)&c);
}

static void on_timer(evutil_socket_t fd, short what, void *ctx)
{
	static const char a = 'a', b = 'b';

	in_callback = true;
	loop_defer_free(note_and_defer, (void *)&a);
	loop_defer_free(note, (void *)&b);
	assert_int_equal(order_len, 0);
	in_callback = false;
}

static void stop_when_noted(evutil_socket_t fd, short what, void *ctx)
{
	if (order_len == 3)
		loop_stop();
}

static bool always_done(void *ctx)
{
	return true;
}

static void test_deferred_free(void **state)
{
	struct loop_hooks hooks = { .drain_done = always_done };
	struct timeval zero = { 0, 0 }, tick = { 0, 1000 };
	char *error;

	order_len = 0;
	assert_int_equal(loop_init(&hooks, &error), 0);
	struct event *t = evtimer_new(loop_base(), on_timer, NULL);
	struct event *s = event_new(loop_base(), -1, EV_PERSIST, stop_when_noted, NULL);
	evtimer_add(t, &zero);
	event_add(s, &tick);
	assert_int_equal(loop_run(), 0);
	assert_int_equal(order_len, 3);
	assert_memory_equal(order, "abc", 3);
	event_free(t);
	event_free(s);
	loop_deinit();
}

static unsigned reloads;

static void on_reload(void *ctx)
{
	reloads++;
	loop_stop();
}

static void test_sighup_reloads(void **state)
{
	struct loop_hooks hooks = { .reload = on_reload, .drain_done = always_done };
	char *error;

	reloads = 0;
	assert_int_equal(loop_init(&hooks, &error), 0);
	raise(SIGHUP);
	assert_int_equal(loop_run(), 0);
	assert_int_equal(reloads, 1);
	loop_deinit();
}

static bool never_done(void *ctx)
{
	return false;
}

static void second_term(evutil_socket_t fd, short what, void *ctx)
{
	raise(SIGTERM);
}

static void test_second_signal_cuts_drain(void **state)
{
	struct loop_hooks hooks = { .drain_done = never_done };
	struct timeval later = { 0, 50 * 1000 };
	char *error;

	assert_int_equal(loop_init(&hooks, &error), 0);
	struct event *t = evtimer_new(loop_base(), second_term, NULL);
	evtimer_add(t, &later);
	raise(SIGTERM);
	/* never done: only the second SIGTERM ends the drain, early */
	assert_int_equal(loop_run(), -1);
	assert_true(loop_draining());
	event_free(t);
	loop_deinit();
}

static void test_config_snapshots(void **state)
{
	char *error;

	assert_int_equal(loop_init(NULL, &error), 0);
	assert_null(loop_config());
	loop_config_set(config_new_defaults());
	const struct config *held = loop_config_ref();
	assert_ptr_equal(held, loop_config());
	loop_config_set(config_new_defaults());
	/* the old snapshot lives on for its holder (ASan would catch a free) */
	assert_ptr_not_equal(held, loop_config());
	assert_string_equal(held->hostname, "localhost");
	loop_config_unref(&held);
	assert_null(held);
	loop_deinit();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deferred_free),
		cmocka_unit_test(test_sighup_reloads),
		cmocka_unit_test(test_second_signal_cuts_drain),
		cmocka_unit_test(test_config_snapshots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
