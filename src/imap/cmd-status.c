/* SPDX-License-Identifier: ISC */
/*
 * cmd-status.c - STATUS (RFC 9051 6.3.11) with SIZE (RFC 8438) and
 * HIGHESTMODSEQ (RFC 7162 3.1.9); the item list is shared with
 * LIST-STATUS (RFC 5819). Counting syncs the mailbox with its Maildir
 * first (without moving new/ to cur/), so mail delivered a moment ago
 * counts: on a worker.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "store/index.h"
#include "imap/imap-private.h"

static const struct {
	const char *name;
	unsigned item;
} status_items[] = {
	{ "MESSAGES", IMAP_STATUS_MESSAGES },
	{ "UIDNEXT", IMAP_STATUS_UIDNEXT },
	{ "UIDVALIDITY", IMAP_STATUS_UIDVALIDITY },
	{ "UNSEEN", IMAP_STATUS_UNSEEN },
	{ "RECENT", IMAP_STATUS_RECENT },
	{ "SIZE", IMAP_STATUS_SIZE },
	{ "HIGHESTMODSEQ", IMAP_STATUS_HIGHESTMODSEQ },
	{ "DELETED", IMAP_STATUS_DELETED },
};

int imap_status_items_parse(const struct imap_arg *arg, unsigned *items_r)
{
	const struct imap_arg *list;
	unsigned count;
	const char *name;

	*items_r = 0;
	if (imap_arg_get_list(arg, &list, &count) < 0 || count == 0)
		return -1;
	for (unsigned i = 0; i < count; i++) {
		size_t k;
		if (imap_arg_get_atom(&list[i], &name) < 0)
			return -1;
		for (k = 0; k < N_ELEMENTS(status_items); k++) {
			if (str_casecmp(name, status_items[k].name) == 0)
				break;
		}
		if (k == N_ELEMENTS(status_items))
			return -1;
		*items_r |= status_items[k].item;
	}
	return 0;
}

int imap_status_write(struct buf *out, unsigned items, const struct index_status *st)
{
	const uint64_t values[] = {
		st->messages, st->uidnext, st->uidvalidity, st->unseen,
		st->recent,   st->size,    st->highestmodseq, st->deleted,
	};
	bool first = true;

	if (buf_append_str(out, "(") < 0)
		return -1;
	for (size_t k = 0; k < N_ELEMENTS(status_items); k++) {
		if ((items & status_items[k].item) == 0)
			continue;
		if (buf_printf(out, "%s%s %llu", first ? "" : " ", status_items[k].name,
			       (unsigned long long)values[k]) < 0)
			return -1;
		first = false;
	}
	return buf_append_str(out, ")");
}

struct status_job {
	struct imap_job job;
	char *name;
	unsigned items;
	int ret;
	struct index_error error;
	struct index_status status;
};

static void status_run(struct imap_job *job)
{
	struct status_job *j = (struct status_job *)job;

	j->ret = index_mailbox_status(job->index, j->name, 0, &j->status, &j->error);
}

static void status_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct status_job *j = (struct status_job *)job;
	struct buf b;

	if (j->ret < 0) {
		if (strcmp(j->error.reason, "store.no-mailbox") == 0)
			imap_cmd_reason(cmd, j->error.reason, NULL);
		else
			imap_cmd_refuse(cmd, j->error.reason, j->error.text);
		return;
	}
	buf_init(&b, 0);
	if (buf_append_str(&b, "* STATUS ") < 0 || imap_mailbox_name_out(cmd->s, j->name, &b) < 0 ||
	    buf_append_str(&b, " ") < 0 || imap_status_write(&b, j->items, &j->status) < 0)
		panic("imap: STATUS does not fit");
	imap_send_buf(cmd->s, &b);
	buf_release(&b);
	imap_cmd_ok(cmd, "Status completed.");
}

static void status_free(struct imap_job *job)
{
	struct status_job *j = (struct status_job *)job;

	free(j->name);
	free(j);
}

void cmd_status(struct imap_cmd *cmd)
{
	struct status_job *j;
	const char *detail;
	unsigned items;
	char *name;

	if (cmd->count != 2 || imap_status_items_parse(&cmd->args[1], &items) < 0) {
		imap_cmd_bad(cmd, "Syntax: STATUS mailbox (MESSAGES UIDNEXT UIDVALIDITY UNSEEN "
				  "RECENT SIZE HIGHESTMODSEQ DELETED)");
		return;
	}
	if (imap_mailbox_name_in(cmd, &cmd->args[0], &name, &detail) < 0) {
		imap_cmd_reason(cmd, "store.no-mailbox", NULL);
		return;
	}
	if (items & IMAP_STATUS_HIGHESTMODSEQ)
		cmd->s->enabled |= IMAP_FEATURE_CONDSTORE; /* RFC 7162 3.1 */
	j = xcalloc(1, sizeof(*j));
	j->job.run = status_run;
	j->job.done = status_done;
	j->job.free = status_free;
	j->name = xstrdup(name);
	j->items = items;
	imap_job_submit(cmd, &j->job);
}
