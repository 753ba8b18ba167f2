/* SPDX-License-Identifier: ISC */
/*
 * fts-bg.c - the background indexer: the messages a sync added beyond
 * what it parses at once (index-sync.c) get their cached IMAP strings and
 * full-text rows from worker jobs, so the first SEARCH TEXT of an
 * imported or long-unread mailbox answers from the index in milliseconds
 * instead of reading every message first.
 *
 * DESIGN. A FIFO of requests, one per mailbox (keyed by Maildir root and
 * mailbox id), guarded by a mutex: syncs run on worker threads and add to
 * it from there. Adding to an idle indexer activates a libevent event
 * (the loop's base has pthread locking), and its callback on the loop
 * thread submits the job, since worker_submit() is loop-thread only. One
 * job runs at a time, whatever the number of mailboxes waiting: the
 * indexer takes at most one worker thread and one core from sessions.
 * A job parses one slice (FTS_BG_SLICE_MAX messages or FTS_BG_SLICE_MS,
 * oldest first, from a cursor so unreadable files are not retried in a
 * loop) through a handle of its own (index_clone), opened by its first
 * slice and closed by its last (or by each, when others wait). Its
 * completion puts an unfinished request back at the tail, so mailboxes
 * take turns and queued session jobs run between slices. A request made
 * again while its mailbox is queued or being indexed sets `again`: the
 * run then looks once more from the start when it would have ended, so
 * nothing added meanwhile is left behind. A SEARCH that must index
 * (fts.c) holds the indexer: the slice in flight stops at the next
 * message and none starts until the SEARCH is done.
 *
 * While the loop drains (SIGTERM) no slice is started: a restart leaves
 * the rest, and the first sync of the mailbox by a new session asks
 * again (index-sync.c looks for a backlog once per handle and mailbox).
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "core/loop.h"
#include "core/worker.h"
#include "store/fts-private.h"
#include "store/fts.h"
#include "store/index-private.h"

#include <pthread.h>
#include <event2/event.h>

struct fts_bg_req {
	struct fts_bg_req *next;
	struct index *index;      /* index_clone(): connected while running */
	int64_t mailbox_id;
	int64_t cursor;           /* last row id read */
	bool again;               /* asked for again while queued or running */
	/* the last slice (written by the job, read by its completion) */
	int ret;
	unsigned seen;
	struct index_error error;
	/* the whole run, for its log line */
	unsigned total;
	uint64_t start_ms, busy_ms;
};

static struct {
	pthread_mutex_t lock;
	struct fts_bg_req *head, **tail;  /* waiting for their next slice */
	unsigned queued;
	struct fts_bg_req *running;       /* the one job in flight */
	struct event_base *base;          /* the loop the wake event is on */
	struct event *wake;
	unsigned holds;                   /* SEARCHes indexing (fts_bg_hold) */
} bg = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void bg_wake(evutil_socket_t fd, short what, void *ctx);
static void bg_slice_done(uint64_t owner_id, void *arg);

static bool req_same(const struct fts_bg_req *req, const struct index *index,
		     int64_t mailbox_id)
{
	return req->mailbox_id == mailbox_id && strcmp(index_root(req->index),
						       index_root(index)) == 0;
}

static void req_free(struct fts_bg_req *req)
{
	index_close(&req->index);
	free(req);
}

/* queue_push - at the tail (lock held). */
static void queue_push(struct fts_bg_req *req)
{
	req->next = NULL;
	*bg.tail = req;
	bg.tail = &req->next;
	bg.queued++;
}

/* queue_pop - from the head (lock held); NULL when empty. */
static struct fts_bg_req *queue_pop(void)
{
	struct fts_bg_req *req = bg.head;

	if (req != NULL) {
		bg.head = req->next;
		if (bg.head == NULL)
			bg.tail = &bg.head;
		bg.queued--;
	}
	return req;
}

/* attach - make the state belong to base (lock held). A new loop (only
 * unit tests start more than one) forgets the old one's requests: their
 * jobs were dropped with its worker pool, and its event went with it. */
static void attach(struct event_base *base)
{
	struct fts_bg_req *req;

	if (bg.base == base)
		return;
	if (bg.base != NULL)
		log_warn("fts: background indexer moved to a new event loop; "
			 "%u mailboxes left to their first SEARCH", bg.queued + (bg.running != NULL));
	while ((req = queue_pop()) != NULL)
		req_free(req);
	bg.head = NULL;
	bg.tail = &bg.head;
	bg.queued = 0;
	bg.running = NULL;   /* its job was dropped; nothing will free it */
	bg.base = base;
	bg.wake = event_new(base, -1, 0, bg_wake, NULL);
}

bool fts_bg_request(struct index *index, int64_t mailbox_id)
{
	struct event_base *base = loop_base();
	struct fts_bg_req *req;
	bool queued = true, wake = false;

	if (base == NULL)
		return false;
	pthread_mutex_lock(&bg.lock);
	attach(base);
	for (req = bg.head; req != NULL && !req_same(req, index, mailbox_id); req = req->next)
		;
	if (req != NULL) {
		/* waiting anyway; a message moved in may sit below its cursor */
		req->again = true;
	} else if (bg.running != NULL && req_same(bg.running, index, mailbox_id)) {
		bg.running->again = true;
	} else if (bg.queued >= FTS_BG_QUEUE_MAX || bg.wake == NULL) {
		queued = false;
	} else {
		req = xcalloc(1, sizeof(*req));
		req->index = index_clone(index);
		req->mailbox_id = mailbox_id;
		queue_push(req);
		wake = bg.running == NULL;
	}
	pthread_mutex_unlock(&bg.lock);
	/* after the unlock: the callback takes the lock on the loop thread */
	if (wake)
		event_active(bg.wake, EV_TIMEOUT, 1);
	return queued;
}

unsigned fts_bg_busy(void)
{
	unsigned n;

	pthread_mutex_lock(&bg.lock);
	n = bg.queued + (bg.running != NULL);
	pthread_mutex_unlock(&bg.lock);
	return n;
}

void fts_bg_hold(void)
{
	pthread_mutex_lock(&bg.lock);
	__atomic_add_fetch(&bg.holds, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&bg.lock);
}

void fts_bg_release(void)
{
	bool wake;

	pthread_mutex_lock(&bg.lock);
	wake = __atomic_sub_fetch(&bg.holds, 1, __ATOMIC_RELAXED) == 0 && bg.running == NULL &&
	       bg.head != NULL && bg.wake != NULL;
	pthread_mutex_unlock(&bg.lock);
	if (wake)
		event_active(bg.wake, EV_TIMEOUT, 1);
}

/* held - the job's yield test: polled per message, so no lock. */
static bool held(void)
{
	return __atomic_load_n(&bg.holds, __ATOMIC_RELAXED) > 0;
}

/* ---- the job ---- */

/* bg_slice - one slice of one mailbox, on a worker thread. */
static void bg_slice(void *arg)
{
	struct fts_bg_req *req = arg;
	uint64_t now = time_monotonic_ms();
	bool others;
	struct index_parse parse = { .max = FTS_BG_SLICE_MAX,
				     .deadline_ms = now + FTS_BG_SLICE_MS,
				     .cursor = req->cursor,
				     .yield = held };

	if (req->start_ms == 0)
		req->start_ms = now;
	req->seen = 0;
	req->ret = req->index->db == NULL ? index_connect(req->index, &req->error) : 0;
	if (req->ret == 0) {
		req->ret = index_parse_pending(req->index, req->mailbox_id, &parse);
		if (req->ret < 0)
			index_set_error(&req->error, INDEX_REASON_IO, "parse messages");
	}
	req->cursor = parse.cursor;
	req->seen = parse.seen;
	req->total += parse.done;
	/* the last slice closes the connection here, off the loop (closing
	 * the last one of a database checkpoints its WAL); so does one with
	 * other mailboxes waiting, so that a thousand of them queued hold no
	 * thousand connections and page caches */
	pthread_mutex_lock(&bg.lock);
	others = bg.head != NULL;
	pthread_mutex_unlock(&bg.lock);
	if (req->ret < 0 || (parse.seen == 0 && !held()) || others)
		index_disconnect(req->index);
	req->busy_ms += time_monotonic_ms() - now;
}

/* bg_next - start the next slice unless one runs (loop thread). */
static void bg_next(void)
{
	struct fts_bg_req *req = NULL;

	pthread_mutex_lock(&bg.lock);
	/* held: fts_bg_release() wakes the loop again */
	if (bg.running == NULL && bg.holds == 0 && !loop_draining()) {
		req = queue_pop();
		bg.running = req;
	}
	pthread_mutex_unlock(&bg.lock);
	if (req != NULL)
		worker_submit(bg_slice, bg_slice_done, 0, req);
}

static void bg_wake(evutil_socket_t fd, short what, void *ctx)
{
	bg_next();
}

/* bg_slice_done - back on the loop: the next slice of this mailbox goes
 * to the tail, so others take their turn. */
static void bg_slice_done(uint64_t owner_id, void *arg)
{
	struct fts_bg_req *req = arg;
	/* a slice that gave way to a SEARCH at once has not finished */
	bool finished = req->ret < 0 || (req->seen == 0 && !held());

	pthread_mutex_lock(&bg.lock);
	if (bg.running == req)
		bg.running = NULL;
	if (finished && req->again && req->ret == 0) {
		/* from the start: a message moved in keeps its older id */
		req->again = false;
		req->cursor = 0;
		finished = false;
	}
	if (!finished && !loop_draining()) {
		queue_push(req);
		req = NULL;
	}
	pthread_mutex_unlock(&bg.lock);
	if (req != NULL) {
		if (req->ret < 0)
			log_warn("fts: background indexing of %s mailbox=%" PRId64 " stopped: %s",
				 index_root(req->index), req->mailbox_id, req->error.text);
		else if (req->total > 0)
			log_info("fts: indexed in background root=%s mailbox=%" PRId64 " messages=%u"
				 " busy_ms=%" PRIu64 " elapsed_ms=%" PRIu64 "%s",
				 index_root(req->index), req->mailbox_id, req->total, req->busy_ms,
				 time_monotonic_ms() - req->start_ms,
				 req->seen != 0 ? " cut_short=drain" : "");
		req_free(req);
	}
	bg_next();
}
