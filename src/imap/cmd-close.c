/* SPDX-License-Identifier: ISC */
/*
 * cmd-close.c - CLOSE (RFC 9051 6.4.1: expunge silently, unless the
 * mailbox is read-only) and UNSELECT (RFC 3691: no expunge).
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "store/index.h"
#include "imap/imap-private.h"

struct close_job {
	struct imap_job job;
	int64_t mailbox_id;
	int ret;
	struct index_error error;
};

static void close_run(struct imap_job *job)
{
	struct close_job *j = (struct close_job *)job;
	uint32_t *uids = NULL;
	size_t count = 0;

	j->ret = index_expunge(job->index, j->mailbox_id, NULL, 0, &uids, &count, &j->error);
	free(uids);
}

static void close_deselect(struct imap_cmd *cmd)
{
	imap_mailbox_free(&cmd->s->sel);
	imap_set_state(cmd->s, IMAP_STATE_AUTH);
}

static void close_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct close_job *j = (struct close_job *)job;

	close_deselect(cmd);
	if (j->ret < 0) {
		imap_cmd_refuse(cmd, j->error.reason, j->error.text);
		return;
	}
	imap_cmd_ok(cmd, "Close completed.");
}

void cmd_close(struct imap_cmd *cmd)
{
	struct close_job *j;

	if (cmd->s->sel->readonly) {
		close_deselect(cmd);
		imap_cmd_ok(cmd, "Close completed.");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->job.run = close_run;
	j->job.done = close_done;
	j->mailbox_id = cmd->s->sel->id;
	imap_job_submit(cmd, &j->job);
}

void cmd_unselect(struct imap_cmd *cmd)
{
	close_deselect(cmd);
	imap_cmd_ok(cmd, "Unselect completed.");
}
