/* SPDX-License-Identifier: ISC */
/*
 * cmd-expunge.c - EXPUNGE (RFC 9051 6.4.3) and UID EXPUNGE (RFC 4315
 * 2.1): remove the \Deleted messages (of the UID set), then one EXPUNGE
 * per message (VANISHED with QRESYNC) before the OK.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "store/index.h"
#include "imap/imap-private.h"

struct expunge_job {
	struct imap_job job;
	int64_t mailbox_id;
	struct index_uid_range *ranges; /* NULL: every \Deleted message */
	size_t count;
	int ret;
	uint32_t *uids;
	size_t uid_count;
	struct index_error error;
};

static void expunge_run(struct imap_job *job)
{
	struct expunge_job *j = (struct expunge_job *)job;

	j->ret = index_expunge(job->index, j->mailbox_id, j->ranges, j->count, &j->uids,
			       &j->uid_count, &j->error);
}

static void expunge_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct expunge_job *j = (struct expunge_job *)job;

	if (j->ret < 0) {
		imap_cmd_refuse(cmd, j->error.reason, j->error.text);
		return;
	}
	imap_sync_expunged(cmd->s, j->uids, j->uid_count);
	imap_cmd_ok(cmd, "Expunge completed.");
}

static void expunge_free(struct imap_job *job)
{
	struct expunge_job *j = (struct expunge_job *)job;

	free(j->ranges);
	free(j->uids);
	free(j);
}

void cmd_expunge(struct imap_cmd *cmd)
{
	struct expunge_job *j;
	struct index_uid_range *ranges = NULL;
	size_t count = 0;
	const char *set;

	if (cmd->uid) {
		if (cmd->count != 1 || imap_arg_get_atom(&cmd->args[0], &set) < 0) {
			imap_cmd_bad(cmd, "Syntax: UID EXPUNGE uid-set");
			return;
		}
		if (imap_view_ranges(cmd, set, true, &ranges, &count) < 0)
			return;
		if (count == 0) {
			imap_cmd_ok(cmd, "Expunge completed.");
			return;
		}
	}
	if (cmd->s->sel->readonly) {
		imap_cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->job.run = expunge_run;
	j->job.done = expunge_done;
	j->job.free = expunge_free;
	j->mailbox_id = cmd->s->sel->id;
	if (count > 0) {
		j->ranges = xmalloc(count * sizeof(*ranges));
		memcpy(j->ranges, ranges, count * sizeof(*ranges));
		j->count = count;
	}
	imap_job_submit(cmd, &j->job);
}
