/* SPDX-License-Identifier: ISC */
/*
 * loop.h - the daemon's one libevent loop, its signals, the running
 * configuration snapshot and the deferred-free list.
 *
 * Everything that touches a session runs on this loop's thread. Worker
 * threads never do; they hand results back through core/worker.h.
 */
#ifndef POSTINO_LOOP_H
#define POSTINO_LOOP_H

#include "lib/lib.h"

struct config;
struct event_base;

/* What the owner of the loop (cli-serve.c) does on signals. All run on the
 * loop thread, outside any session's callback chain. */
struct loop_hooks {
	/* SIGHUP: re-read the configuration, then loop_config_set(). */
	void (*reload)(void *ctx);
	/* SIGTERM/SIGINT: stop accepting, ask sessions to finish. */
	void (*drain_begin)(void *ctx);
	/* Polled while draining: true when nothing is left in flight. */
	bool (*drain_done)(void *ctx);
	void *ctx;
};

typedef void loop_free_fn(void *ptr);

/* Create the event base (with pthread locking enabled) and install the
 * signal handlers; SIGPIPE is ignored from here on. */
int loop_init(const struct loop_hooks *hooks, char **error_r);
/* Tear the loop down: runs pending deferred frees, drops the config. */
void loop_deinit(void);
struct event_base *loop_base(void);
/* True on the loop's own thread (for assertions). */
bool loop_is_loop_thread(void);

/* Dispatch until a drain finishes. Returns 0 when the drain completed,
 * -1 when it timed out (LOOP_DRAIN_TIMEOUT_MS) or a second signal cut it
 * short; the caller then closes what is left. */
int loop_run(void);
/* Begin a drain as if SIGTERM had arrived (tests, fatal conditions). */
void loop_stop(void);
bool loop_draining(void);

/* Call fn(ptr) at the next safe point: after the current callback has
 * returned to the loop, never inside it. How sessions and connections are
 * freed. */
void loop_defer_free(loop_free_fn *fn, void *ptr);
/* Run the deferred list now (shutdown, tests). */
void loop_run_deferred(void);

/* The configuration in force. loop_config_set() takes ownership and swaps
 * the snapshot; the old one is freed when its last reference goes. */
void loop_config_set(struct config *cfg);
/* Borrowed: valid until the current callback returns. */
const struct config *loop_config(void);
/* Kept across callbacks (a session's whole life): take and drop a ref. */
const struct config *loop_config_ref(void);
void loop_config_unref(const struct config **_cfg);

#endif
