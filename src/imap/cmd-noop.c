/* SPDX-License-Identifier: ISC */
/*
 * cmd-noop.c - NOOP (RFC 9051 6.1.2) and CHECK (RFC 3501 6.4.1): the way
 * a client polls. With a mailbox selected the Maildir is looked at on a
 * worker (mail delivered or changed by other tools), then the changes are
 * reported before the OK.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "store/index.h"
#include "imap/imap-private.h"

struct noop_job {
	struct imap_job job;
	int64_t mailbox_id;
	unsigned sync_flags;
	int ret;
	struct index_error error;
};

static void noop_run(struct imap_job *job)
{
	struct noop_job *j = (struct noop_job *)job;

	j->ret = index_mailbox_sync(job->index, j->mailbox_id, j->sync_flags, &j->error);
}

static void noop_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct noop_job *j = (struct noop_job *)job;

	if (j->ret < 0) {
		imap_cmd_refuse(cmd, j->error.reason, j->error.text);
		return;
	}
	imap_cmd_ok(cmd, "%s completed.", cmd->def->name);
}

/* imap_sync_job - sync the selected mailbox on a worker, then OK. */
static void noop_sync(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct noop_job *j;

	if (s->state != IMAP_STATE_SELECTED || s->sel == NULL) {
		imap_cmd_ok(cmd, "%s completed.", cmd->def->name);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->job.run = noop_run;
	j->job.done = noop_done;
	j->mailbox_id = s->sel->id;
	j->sync_flags = s->sel->readonly ? 0 : INDEX_SYNC_READ_WRITE;
	imap_job_submit(cmd, &j->job);
}

void cmd_noop(struct imap_cmd *cmd)
{
	noop_sync(cmd);
}

void cmd_check(struct imap_cmd *cmd)
{
	noop_sync(cmd);
}
