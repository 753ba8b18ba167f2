/* SPDX-License-Identifier: ISC */
/*
 * loop.c - the one event loop of `postino serve`.
 *
 * DESIGN
 * One libevent base drives every session. Signals arrive as ordinary loop
 * events (libevent's self-pipe), so reload and shutdown run on the loop
 * thread between callbacks and never race a session.
 *
 * Shutdown is a drain, not an exit: SIGTERM/SIGINT call the owner's
 * drain_begin hook (stop accepting, ask sessions to finish), then a timer
 * polls drain_done until nothing is in flight or LOOP_DRAIN_TIMEOUT_MS has
 * passed. A second signal during the drain cuts it short.
 *
 * Objects are freed at safe points: loop_defer_free() queues the free and
 * activates an event, so it runs after the current callback chain has
 * unwound (Dovecot's and OpenSMTPD's rule: never free a session inside its
 * own callback).
 *
 * The configuration is an immutable snapshot with a reference count, so a
 * session keeps the settings it started with while SIGHUP swaps in new ones.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "core/config.h"
#include "core/loop.h"

#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <event2/event.h>
#include <event2/thread.h>

/* A drain that takes longer than this is abandoned: in-flight jobs are
 * logged and the process exits anyway (systemd's default stop timeout is
 * 90 s; we stay well inside it). */
#define LOOP_DRAIN_TIMEOUT_MS 10000
#define LOOP_DRAIN_POLL_MS 20

enum loop_state {
	LOOP_STATE_INIT,
	LOOP_STATE_RUNNING,
	LOOP_STATE_DRAINING,
	LOOP_STATE_STOPPED,
};

struct loop_deferred {
	loop_free_fn *fn;
	void *ptr;
	struct loop_deferred *next;
};

struct loop_snapshot {
	struct config *cfg;
	unsigned refs;
	struct loop_snapshot *next;
};

struct loop {
	struct event_base *base;
	pthread_t thread;
	enum loop_state state;
	struct loop_hooks hooks;
	struct event *sig_term, *sig_int, *sig_hup;
	struct event *drain_timer;
	uint64_t drain_deadline_ms;
	int drain_result;
	struct event *defer_ev;
	struct loop_deferred *defer_head, **defer_tail;
	struct loop_snapshot *snapshots; /* current first */
};

static struct loop loop;

static const char *const loop_state_names[] = {
	[LOOP_STATE_INIT] = "init",
	[LOOP_STATE_RUNNING] = "running",
	[LOOP_STATE_DRAINING] = "draining",
	[LOOP_STATE_STOPPED] = "stopped",
};

static void loop_set_state(enum loop_state state)
{
	log_debug("loop state %s -> %s", loop_state_names[loop.state], loop_state_names[state]);
	loop.state = state;
}

static const char *loop_signal_name(int sig)
{
	static const char *const names[] = {
		[SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGTERM] = "SIGTERM",
	};

	return sig >= 0 && (size_t)sig < N_ELEMENTS(names) && names[sig] != NULL ? names[sig]
										  : "signal";
}

static void loop_drain_poll(evutil_socket_t fd, short what, void *ctx);

/* loop_drain_begin - first stop signal: start the drain and its timer. */
static void loop_drain_begin(void)
{
	struct timeval tv = { 0, LOOP_DRAIN_POLL_MS * 1000 };

	loop_set_state(LOOP_STATE_DRAINING);
	loop.drain_deadline_ms = time_monotonic_ms() + LOOP_DRAIN_TIMEOUT_MS;
	if (loop.hooks.drain_begin != NULL)
		loop.hooks.drain_begin(loop.hooks.ctx);
	loop.drain_timer = event_new(loop.base, -1, EV_PERSIST, loop_drain_poll, NULL);
	event_add(loop.drain_timer, &tv);
}

static void loop_drain_finish(int result)
{
	loop.drain_result = result;
	loop_set_state(LOOP_STATE_STOPPED);
	event_base_loopbreak(loop.base);
}

static void loop_drain_poll(evutil_socket_t fd, short what, void *ctx)
{
	if (loop.state != LOOP_STATE_DRAINING)
		return;
	if (loop.hooks.drain_done == NULL || loop.hooks.drain_done(loop.hooks.ctx)) {
		loop_drain_finish(0);
		return;
	}
	if (time_monotonic_ms() >= loop.drain_deadline_ms) {
		log_warn("drain timed out after %d ms; stopping with work in flight",
			 LOOP_DRAIN_TIMEOUT_MS);
		loop_drain_finish(-1);
	}
}

static void loop_on_signal(evutil_socket_t sig, short what, void *ctx)
{
	switch (sig) {
	case SIGHUP:
		if (loop.state != LOOP_STATE_RUNNING) {
			log_info("reload ignored: shutting down");
			return;
		}
		if (loop.hooks.reload != NULL)
			loop.hooks.reload(loop.hooks.ctx);
		return;
	case SIGTERM:
	case SIGINT:
		if (loop.state == LOOP_STATE_DRAINING) {
			log_warn("second %s: stopping without waiting", loop_signal_name((int)sig));
			loop_drain_finish(-1);
			return;
		}
		if (loop.state != LOOP_STATE_RUNNING)
			return;
		log_info("%s: draining connections and jobs", loop_signal_name((int)sig));
		loop_drain_begin();
		return;
	default:
		return;
	}
}

static void loop_on_deferred(evutil_socket_t fd, short what, void *ctx)
{
	loop_run_deferred();
}

int loop_init(const struct loop_hooks *hooks, char **error_r)
{
	struct event **sigs[] = { &loop.sig_term, &loop.sig_int, &loop.sig_hup };
	const int signums[] = { SIGTERM, SIGINT, SIGHUP };

	assert(loop.base == NULL);
	if (evthread_use_pthreads() < 0) {
		*error_r = xstrdup("libevent: no pthread support");
		return -1;
	}
	loop.base = event_base_new();
	if (loop.base == NULL) {
		*error_r = xstrdup("libevent: cannot create the event base");
		return -1;
	}
	loop.thread = pthread_self();
	loop.state = LOOP_STATE_INIT;
	if (hooks != NULL)
		loop.hooks = *hooks;
	loop.defer_tail = &loop.defer_head;
	loop.defer_ev = event_new(loop.base, -1, 0, loop_on_deferred, NULL);
	/* a peer that hangs up mid-write must not kill the process */
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < N_ELEMENTS(signums); i++) {
		*sigs[i] = evsignal_new(loop.base, signums[i], loop_on_signal, NULL);
		evsignal_add(*sigs[i], NULL);
	}
	return 0;
}

void loop_deinit(void)
{
	if (loop.base == NULL)
		return;
	loop_run_deferred();
	event_free(loop.sig_term);
	event_free(loop.sig_int);
	event_free(loop.sig_hup);
	if (loop.drain_timer != NULL)
		event_free(loop.drain_timer);
	event_free(loop.defer_ev);
	/* the current snapshot's own reference; sessions are gone by now */
	while (loop.snapshots != NULL) {
		struct loop_snapshot *s = loop.snapshots;
		if (s->refs > 1)
			log_warn("config snapshot still has %u references at exit", s->refs - 1);
		loop.snapshots = s->next;
		config_free(&s->cfg);
		free(s);
	}
	event_base_free(loop.base);
	memset(&loop, 0, sizeof(loop));
}

struct event_base *loop_base(void)
{
	return loop.base;
}

bool loop_is_loop_thread(void)
{
	return loop.base != NULL && pthread_equal(pthread_self(), loop.thread);
}

int loop_run(void)
{
	loop_set_state(LOOP_STATE_RUNNING);
	loop.drain_result = 0;
	while (loop.state != LOOP_STATE_STOPPED) {
		if (event_base_dispatch(loop.base) != 0)
			break; /* nothing left to wait for: cannot happen with signals armed */
	}
	loop_run_deferred();
	return loop.drain_result;
}

void loop_stop(void)
{
	if (loop.state == LOOP_STATE_RUNNING)
		loop_drain_begin();
}

bool loop_draining(void)
{
	return loop.state == LOOP_STATE_DRAINING || loop.state == LOOP_STATE_STOPPED;
}

void loop_defer_free(loop_free_fn *fn, void *ptr)
{
	struct loop_deferred *d = xmalloc(sizeof(*d));

	assert(loop_is_loop_thread());
	d->fn = fn;
	d->ptr = ptr;
	d->next = NULL;
	*loop.defer_tail = d;
	loop.defer_tail = &d->next;
	event_active(loop.defer_ev, EV_TIMEOUT, 0);
}

void loop_run_deferred(void)
{
	/* a free may defer more frees: keep going until the list stays empty */
	while (loop.defer_head != NULL) {
		struct loop_deferred *d = loop.defer_head;
		loop.defer_head = d->next;
		if (loop.defer_head == NULL)
			loop.defer_tail = &loop.defer_head;
		d->fn(d->ptr);
		free(d);
	}
}

/* ---- configuration snapshots ---- */

static struct loop_snapshot **loop_snapshot_find(const struct config *cfg)
{
	for (struct loop_snapshot **sp = &loop.snapshots; *sp != NULL; sp = &(*sp)->next) {
		if ((*sp)->cfg == cfg)
			return sp;
	}
	panic("loop: config snapshot %p is not known", (const void *)cfg);
}

void loop_config_set(struct config *cfg)
{
	struct loop_snapshot *s = xcalloc(1, sizeof(*s));
	struct loop_snapshot *old = loop.snapshots;

	s->cfg = cfg;
	s->refs = 1; /* the loop's own reference to the current snapshot */
	s->next = loop.snapshots;
	loop.snapshots = s;
	if (old != NULL) {
		const struct config *c = old->cfg;
		loop_config_unref(&c);
	}
}

const struct config *loop_config(void)
{
	return loop.snapshots != NULL ? loop.snapshots->cfg : NULL;
}

const struct config *loop_config_ref(void)
{
	if (loop.snapshots == NULL)
		return NULL;
	loop.snapshots->refs++;
	return loop.snapshots->cfg;
}

void loop_config_unref(const struct config **_cfg)
{
	if (*_cfg == NULL)
		return;
	struct loop_snapshot **sp = loop_snapshot_find(*_cfg);
	struct loop_snapshot *s = *sp;
	*_cfg = NULL;
	if (--s->refs > 0)
		return;
	*sp = s->next;
	config_free(&s->cfg);
	free(s);
}
