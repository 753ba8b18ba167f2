/* SPDX-License-Identifier: ISC */
/*
 * pop3-retr.c - RETR and TOP: the message file, streamed.
 *
 * The file is found and opened on a worker (the index may have to sync
 * when another client renamed it, which reads directories), then read on
 * the loop in POP3_CHUNK pieces, encoded (pop3-stuff.c: CRLF, byte-
 * stuffing, TOP's line count) and written while the connection's output
 * holds less than POP3_OUTPUT_HIGH. A message is never held whole in
 * memory, and a client that reads slowly costs a bounded buffer: above
 * the mark the stream waits for the conn's output_drained callback (the
 * queue has gone to the kernel, whose socket buffer keeps the stream
 * flowing meanwhile), and the peer that stops reading altogether meets
 * the conn's write timeout. After POP3_SLICE octets in one callback the
 * stream yields to other sessions on a zero timer.
 *
 * Input stays paused while a message streams, so a pipelined command
 * waits for the terminating ".\r\n" of the one before it.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "core/conn.h"
#include "core/loop.h"
#include "core/worker.h"
#include "store/index.h"
#include "pop3/pop3-private.h"

#include <event2/event.h>
#include <fcntl.h>
#include <unistd.h>

/* Octets read from the file at once. */
#define POP3_CHUNK (32 * 1024)
/* Stop writing while this much output waits (below conn.c's own 256 KiB
 * mark, which would pause reading as well). */
#define POP3_OUTPUT_HIGH (128 * 1024)
/* Octets written per loop callback before yielding to other sessions. */
#define POP3_SLICE (512 * 1024)
/* A file renamed between its lookup and its open (new flags from IMAP)
 * is looked up again this many times. */
#define POP3_OPEN_TRIES 3

struct pop3_retr {
	int fd;
	uint32_t msg;               /* 1-based */
	bool top;
	struct pop3_stuff stuff;
	struct event *timer;        /* yielding after a slice */
	uint64_t sent;              /* message octets written, stuffing included */
	char in[POP3_CHUNK];
	char out[POP3_STUFF_OUT_MAX(POP3_CHUNK) + POP3_STUFF_FINISH_MAX];
};

struct retr_job {
	char *account;
	struct index *index;
	int64_t mailbox_id;
	uint32_t uid, msg;
	int64_t lines;
	/* out */
	int ret;                    /* 1 open, 0 gone, -1 error */
	int fd;
};

static void retr_pump(struct pop3_session *s);

void pop3_retr_free(struct pop3_retr **_retr)
{
	struct pop3_retr *r = *_retr;

	if (r == NULL)
		return;
	*_retr = NULL;
	if (r->timer != NULL)
		event_free(r->timer);
	if (r->fd >= 0)
		(void)close(r->fd);
	free(r);
}

static void retr_on_timer(evutil_socket_t fd, short what, void *ctx)
{
	struct pop3_session *s = ctx;

	if (s->conn != NULL && s->retr != NULL && s->state == POP3_STATE_TRANSACTION)
		retr_pump(s);
}

/* retr_wait - come back on the next loop round (yielding after a
 * slice), or once the output has drained. */
static void retr_wait(struct pop3_session *s, bool yielding)
{
	struct timeval tv = { 0, 0 };

	if (yielding)
		evtimer_add(s->retr->timer, &tv);
	else
		conn_want_drained(s->conn);
}

void pop3_retr_output_drained(struct pop3_session *s)
{
	if (s->retr != NULL && s->state == POP3_STATE_TRANSACTION &&
	    !evtimer_pending(s->retr->timer, NULL))
		retr_pump(s);
}

/* retr_end - the terminator is out: the next command may run. */
static void retr_end(struct pop3_session *s)
{
	struct pop3_retr *r = s->retr;

	if (!r->top) {
		s->drop.msgs[r->msg - 1].retrieved = true;
		s->retrieved++;
		s->retrieved_octets += r->sent;
	}
	log_debug("pop3 %s sid=%s msg=%u octets=%" PRIu64, r->top ? "top" : "retr", s->sid, r->msg,
		  r->sent);
	pop3_retr_free(&s->retr);
	pop3_session_resume(s);
}

/* retr_pump - write as much as the output mark and the slice allow. */
static void retr_pump(struct pop3_session *s)
{
	struct pop3_retr *r = s->retr;
	size_t written = 0, n;
	ssize_t got;

	while (conn_output_pending(s->conn) < POP3_OUTPUT_HIGH) {
		if (written >= POP3_SLICE) {
			retr_wait(s, true);
			return;
		}
		got = r->stuff.done ? 0 : read(r->fd, r->in, sizeof(r->in));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			/* half a message was sent: only a close tells the client */
			log_error("pop3 retr sid=%s msg=%u: read: %s", s->sid, r->msg,
				  strerror(errno));
			conn_close(s->conn, "message file read error");
			return;
		}
		if (got == 0) {
			n = pop3_stuff_finish(&r->stuff, r->out);
			conn_write(s->conn, r->out, n);
			retr_end(s);
			return;
		}
		n = pop3_stuff_feed(&r->stuff, r->in, (size_t)got, r->out);
		conn_write(s->conn, r->out, n);
		r->sent += n;
		written += n;
	}
	retr_wait(s, false);
}

/* ---- finding the file on a worker ---- */

static void retr_job_run(void *arg)
{
	struct retr_job *job = arg;
	char *path;

	job->ret = 0;
	job->fd = -1;
	for (unsigned i = 0; i < POP3_OPEN_TRIES; i++) {
		path = NULL;
		if ((job->ret = index_message_path(job->index, job->mailbox_id, job->uid, &path)) <= 0)
			return;
		job->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		free(path);
		if (job->fd >= 0)
			return;
		if (errno != ENOENT) {
			log_error("pop3 retr uid=%u: open: %s", job->uid, strerror(errno));
			job->ret = -1;
			return;
		}
	}
	job->ret = 0;
}

static void retr_job_free(struct retr_job *job)
{
	if (job->fd >= 0)
		(void)close(job->fd);
	index_close(&job->index);
	free(job->account);
	free(job);
}

/* retr_begin - the file is open: the +OK line, then the stream. */
static void retr_begin(struct pop3_session *s, struct retr_job *job)
{
	struct pop3_retr *r = xcalloc(1, sizeof(*r));

	r->fd = job->fd;
	job->fd = -1;
	r->msg = job->msg;
	r->top = job->lines >= 0;
	pop3_stuff_init(&r->stuff, job->lines);
	r->timer = evtimer_new(loop_base(), retr_on_timer, s);
	s->retr = r;
	if (r->top)
		pop3_ok(s, "Top of message %u follows", r->msg);
	else
		pop3_ok(s, "%" PRIu64 " octets", s->drop.msgs[r->msg - 1].size);
	retr_pump(s);
}

static void retr_job_done(uint64_t id, void *arg)
{
	struct retr_job *job = arg;
	struct pop3_session *s = pop3_session_lookup(id);
	char text[POP3_REPLY_MAX];

	if (s == NULL) {
		/* the session went while we held its index: its lock is ours to drop */
		pop3_lock_release(job->account, id);
		retr_job_free(job);
		return;
	}
	s->index = job->index;
	job->index = NULL;
	if (job->ret > 0) {
		retr_begin(s, job);
	} else if (job->ret == 0) {
		(void)snprintf(text, sizeof(text), "Message %u was removed by another client",
			       job->msg);
		pop3_err(s, "pop3.message-gone", text, false);
		pop3_session_resume(s);
	} else {
		pop3_refuse(s, "pop3.store-error", s->account, "message file lookup failed");
		pop3_session_resume(s);
	}
	retr_job_free(job);
}

void pop3_retr_start(struct pop3_session *s, uint32_t msg, int64_t lines)
{
	struct retr_job *job = xcalloc(1, sizeof(*job));

	job->account = xstrdup(s->account);
	job->index = s->index;
	s->index = NULL;
	job->mailbox_id = s->drop.mailbox_id;
	job->uid = s->drop.msgs[msg - 1].uid;
	job->msg = msg;
	job->lines = lines;
	job->fd = -1;
	pop3_session_suspend(s);
	worker_submit(retr_job_run, retr_job_done, s->id, job);
}
