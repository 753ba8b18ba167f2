/* SPDX-License-Identifier: ISC */
/*
 * cmd-copy.c - COPY and UID COPY (RFC 9051 6.4.7), MOVE and UID MOVE (RFC
 * 6851), with UIDPLUS's COPYUID (RFC 4315 3). The store copies durably
 * and checks the quota (NO [OVERQUOTA]); a move expunges the sources in
 * the same transaction, so other sessions never see the message twice or
 * not at all. MOVE answers "* OK [COPYUID ...]", the EXPUNGEs, then OK
 * (RFC 6851 3.3).
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "store/index.h"
#include "imap/imap-private.h"

struct copy_job {
	struct imap_job job;
	int64_t src_id;
	struct index_uid_range *ranges;
	size_t count;
	char *dst;
	bool move;
	/* out */
	int ret;               /* -1 error, 0 no such mailbox, 1 done */
	struct index_copy_result result;
	struct index_error error;
};

static void copy_run(struct imap_job *job)
{
	struct copy_job *j = (struct copy_job *)job;
	int64_t dst_id;

	j->ret = index_mailbox_find(job->index, j->dst, &dst_id);
	if (j->ret <= 0) {
		if (j->ret < 0) {
			j->error.reason = "store.io-error";
			(void)snprintf(j->error.text, sizeof(j->error.text), "mailbox lookup failed");
		}
		return;
	}
	if (index_copy(job->index, j->src_id, j->ranges, j->count, dst_id, j->move, &j->result,
		       &j->error) < 0)
		j->ret = -1;
}

/* copy_uid_code - "COPYUID v src dst" (RFC 4315 3), pairs in order. */
static int copy_uid_code(const struct index_copy_result *r, struct buf *b)
{
	struct imap_seqset src, dst;
	int ret;

	imap_seqset_init(&src);
	imap_seqset_init(&dst);
	for (size_t i = 0; i < r->count; i++) {
		imap_seqset_add(&src, r->src_uids[i]);
		imap_seqset_add(&dst, r->dst_uids[i]);
	}
	ret = buf_printf(b, "COPYUID %u ", r->uidvalidity) < 0 || imap_seqset_write(&src, b) < 0 ||
			      buf_append_str(b, " ") < 0 || imap_seqset_write(&dst, b) < 0
		      ? -1
		      : 0;
	imap_seqset_clear(&src);
	imap_seqset_clear(&dst);
	return ret;
}

static void copy_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct copy_job *j = (struct copy_job *)job;
	struct buf b;

	if (j->ret == 0) {
		imap_cmd_no(cmd, "[TRYCREATE] Mailbox does not exist");
		return;
	}
	if (j->ret < 0) {
		imap_cmd_refuse(cmd, j->error.reason, j->error.text);
		return;
	}
	buf_init(&b, 0);
	if (j->result.count > 0 && copy_uid_code(&j->result, &b) < 0)
		panic("imap: COPYUID does not fit");
	if (j->move) {
		if (b.len > 0)
			imap_untagged(cmd->s, "OK [%s] Moved", b.data);
		imap_sync_expunged(cmd->s, j->result.src_uids, j->result.count);
		imap_cmd_ok(cmd, "Move completed.");
	} else if (b.len > 0) {
		imap_cmd_ok(cmd, "[%s] Copy completed.", b.data);
	} else {
		imap_cmd_ok(cmd, "Copy completed.");
	}
	buf_release(&b);
}

static void copy_free(struct imap_job *job)
{
	struct copy_job *j = (struct copy_job *)job;

	free(j->ranges);
	free(j->dst);
	index_copy_result_clear(&j->result);
	free(j);
}

static void copy_start(struct imap_cmd *cmd, bool move)
{
	struct index_uid_range *ranges;
	struct copy_job *j;
	const char *set, *detail;
	size_t count;
	char *dst;

	if (cmd->count != 2 || imap_arg_get_atom(&cmd->args[0], &set) < 0) {
		imap_cmd_bad(cmd, "Syntax: %s set mailbox", cmd->def->name);
		return;
	}
	if (imap_mailbox_name_in(cmd, &cmd->args[1], &dst, &detail) < 0) {
		imap_cmd_refuse(cmd, "store.bad-name", detail);
		return;
	}
	if (imap_view_ranges(cmd, set, cmd->uid, &ranges, &count) < 0)
		return;
	if (move && cmd->s->sel->readonly) {
		imap_cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->job.run = copy_run;
	j->job.done = copy_done;
	j->job.free = copy_free;
	j->src_id = cmd->s->sel->id;
	j->ranges = xmalloc((count + 1) * sizeof(*ranges));
	memcpy(j->ranges, ranges, count * sizeof(*ranges));
	j->count = count;
	j->dst = xstrdup(dst);
	j->move = move;
	imap_job_submit(cmd, &j->job);
}

void cmd_copy(struct imap_cmd *cmd)
{
	copy_start(cmd, false);
}

void cmd_move(struct imap_cmd *cmd)
{
	copy_start(cmd, true);
}
