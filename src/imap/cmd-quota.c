/* SPDX-License-Identifier: ISC */
/*
 * cmd-quota.c - GETQUOTA, GETQUOTAROOT and SETQUOTA (RFC 9208). Every
 * mailbox of an account lies under one quota root, "", whose limits are
 * the account's quota (STORAGE, in units of 1024 octets) and max-messages
 * (MESSAGE); usage comes from the Maildir's maildirsize (store/quota.h).
 * A resource without a limit is not reported (RFC 9208 4.3). Quotas are
 * the administrator's: SETQUOTA is refused with NOPERM.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "core/dbpool.h"
#include "directory/directory.h"
#include "store/quota.h"
#include "imap/imap-private.h"

struct quota_job {
	struct imap_job job;
	char *account;
	char *mailbox;   /* GETQUOTAROOT's, or NULL */
	const char *data_dir;
	int ret;
	uint64_t quota_bytes, max_messages;
	struct quota_usage usage;
};

static void quota_run(struct imap_job *job)
{
	struct quota_job *j = (struct quota_job *)job;
	struct db *db = dbpool_get();
	struct account a;

	j->ret = -1;
	if (db == NULL || account_get(db, j->account, &a) <= 0)
		return;
	j->quota_bytes = a.quota_bytes;
	j->max_messages = a.max_messages;
	j->ret = quota_usage(j->data_dir, &a, &j->usage);
	account_clear(&a);
}

static void quota_done(struct imap_cmd *cmd, struct imap_job *job)
{
	struct quota_job *j = (struct quota_job *)job;
	struct buf b;
	bool first = true;

	if (j->ret < 0) {
		imap_cmd_refuse(cmd, "store.io-error", "quota usage could not be read");
		return;
	}
	if (j->mailbox != NULL) {
		buf_init(&b, 0);
		if (buf_append_str(&b, "* QUOTAROOT ") < 0 ||
		    imap_mailbox_name_out(cmd->s, j->mailbox, &b) < 0 ||
		    buf_append_str(&b, " \"\"") < 0)
			panic("imap: QUOTAROOT does not fit");
		imap_send_buf(cmd->s, &b);
		buf_release(&b);
	}
	buf_init(&b, 0);
	if (buf_append_str(&b, "* QUOTA \"\" (") < 0)
		panic("imap: QUOTA does not fit");
	if (j->quota_bytes > 0) {
		if (buf_printf(&b, "STORAGE %llu %llu",
			       (unsigned long long)((j->usage.bytes + 1023) / 1024),
			       (unsigned long long)(j->quota_bytes / 1024)) < 0)
			panic("imap: QUOTA does not fit");
		first = false;
	}
	if (j->max_messages > 0 &&
	    buf_printf(&b, "%sMESSAGE %llu %llu", first ? "" : " ",
		       (unsigned long long)j->usage.messages, (unsigned long long)j->max_messages) < 0)
		panic("imap: QUOTA does not fit");
	if (buf_append_str(&b, ")") < 0)
		panic("imap: QUOTA does not fit");
	imap_send_buf(cmd->s, &b);
	buf_release(&b);
	imap_cmd_ok(cmd, "%s completed.", cmd->def->name);
}

static void quota_free(struct imap_job *job)
{
	struct quota_job *j = (struct quota_job *)job;

	free(j->account);
	free(j->mailbox);
	free(j);
}

static void quota_start(struct imap_cmd *cmd, const char *mailbox)
{
	struct quota_job *j = xcalloc(1, sizeof(*j));

	j->job.run = quota_run;
	j->job.done = quota_done;
	j->job.free = quota_free;
	j->account = xstrdup(cmd->s->account);
	j->mailbox = mailbox != NULL ? xstrdup(mailbox) : NULL;
	j->data_dir = dbpool_data_dir();
	imap_job_submit(cmd, &j->job);
}

void cmd_getquota(struct imap_cmd *cmd)
{
	const char *root;

	if (cmd->count != 1 || imap_arg_get_astring(&cmd->args[0], &root) < 0) {
		imap_cmd_bad(cmd, "Syntax: GETQUOTA root");
		return;
	}
	if (root[0] != '\0') {
		imap_cmd_no(cmd, "[NONEXISTENT] No such quota root");
		return;
	}
	quota_start(cmd, NULL);
}

void cmd_getquotaroot(struct imap_cmd *cmd)
{
	const char *detail;
	char *name;

	if (cmd->count != 1) {
		imap_cmd_bad(cmd, "Syntax: GETQUOTAROOT mailbox");
		return;
	}
	if (imap_mailbox_name_in(cmd, &cmd->args[0], &name, &detail) < 0) {
		imap_cmd_reason(cmd, "store.no-mailbox", NULL);
		return;
	}
	quota_start(cmd, name);
}

void cmd_setquota(struct imap_cmd *cmd)
{
	imap_cmd_refuse(cmd, "imap.quota-readonly", NULL);
}
