/* SPDX-License-Identifier: ISC */
/*
 * cmd-idle.c - IDLE (RFC 2177, RFC 9051 6.3.13): "+ idling", then
 * untagged updates as they happen until the client says DONE.
 *
 * New mail must show within a second (issue 4 item 3). Every
 * IMAP_IDLE_POLL_MS the session stats the folder's new/ and cur/
 * (imap_idle_stamp: two stat() calls, no SQLite, no worker); only when
 * the stamp moved does a worker sync the Maildir, and the changes go out
 * as EXISTS/EXPUNGE/FETCH. Meanwhile the session holds no index handle. An idle client sends
 * nothing, so the session's autologout timer (imap.idle-timeout, 30
 * minutes by default as RFC 9051 5.4 asks) ends a forgotten IDLE.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "core/dbpool.h"
#include "store/index.h"
#include "imap/imap-private.h"

struct idle_job {
	struct imap_job job;
	char *account;
	const char *data_dir;
	int64_t mailbox_id;
	unsigned sync_flags;
	int ret;
	struct index_error error;
};

static void idle_poll(struct imap_cmd *cmd);

static void idle_sync_run(struct imap_job *job)
{
	struct idle_job *j = (struct idle_job *)job;

	/* the session gave its handle back while idling */
	if (job->index == NULL &&
	    imap_index_open(j->data_dir, j->account, &job->index, &j->error) < 0) {
		j->ret = -1;
		return;
	}
	j->ret = index_mailbox_sync(job->index, j->mailbox_id, j->sync_flags, &j->error);
}

static void idle_job_free(struct imap_job *job)
{
	struct idle_job *j = (struct idle_job *)job;

	free(j->account);
	free(j);
}

/* idle_give_back - an idle session holds no SQLite handle: an open one is
 * most of a session's memory (issue 4 item 8: under 20 KB per idle
 * connection). The next command reopens it (imap-commands.c). */
static void idle_give_back(struct imap_session *s)
{
	index_close(&s->index);
}

static void idle_sync_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct idle_job *j = (struct idle_job *)job;
	struct imap_session *s = cmd->s;

	if (j->ret < 0) {
		imap_cmd_refuse(cmd, j->error.reason, j->error.text);
		return;
	}
	if (s->sel != NULL)
		imap_sync_report(s, true, false);
	idle_give_back(s);
	imap_cmd_set_timer(cmd, IMAP_IDLE_POLL_MS, idle_poll);
}

static void idle_poll(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	uint64_t stamp;
	struct idle_job *j;

	if (s->sel == NULL)
		return;
	stamp = imap_idle_stamp(s);
	if (stamp == s->sel->idle_stamp) {
		imap_cmd_set_timer(cmd, IMAP_IDLE_POLL_MS, idle_poll);
		return;
	}
	s->sel->idle_stamp = stamp;
	j = xcalloc(1, sizeof(*j));
	j->job.run = idle_sync_run;
	j->job.done = idle_sync_done;
	j->job.free = idle_job_free;
	j->account = xstrdup(s->account);
	j->data_dir = dbpool_data_dir();
	j->mailbox_id = s->sel->id;
	j->sync_flags = s->sel->readonly ? 0 : INDEX_SYNC_READ_WRITE;
	imap_job_submit(cmd, &j->job);
}

static void idle_line(struct imap_cmd *cmd, const char *line, size_t len)
{
	imap_protolog(cmd->s, '<', "%.*s", (int)(len > 20 ? 20 : len), line != NULL ? line : "");
	cmd->line_input = NULL;
	imap_cmd_stop_timer(cmd);
	if (line == NULL || len != 4 || str_ncasecmp(line, "DONE", 4) != 0) {
		imap_cmd_bad(cmd, "Expected DONE to end IDLE");
		return;
	}
	imap_cmd_ok(cmd, "Idle completed.");
}

void cmd_idle(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;

	cmd->line_input = idle_line;
	imap_send_line(s, "+ idling", 8);
	if (s->sel == NULL)
		idle_give_back(s);
	if (s->sel != NULL) {
		/* what happened before IDLE goes out at once; the first poll
		 * looks at the Maildir whatever the stamp says */
		imap_sync_report(s, true, false);
		s->sel->idle_stamp = 0;
		idle_give_back(s);
		imap_cmd_set_timer(cmd, IMAP_IDLE_POLL_MS, idle_poll);
	}
}
