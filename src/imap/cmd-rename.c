/* SPDX-License-Identifier: ISC */
/*
 * cmd-rename.c - RENAME (RFC 9051 6.3.6): children move along and keep
 * their UIDVALIDITY; renaming INBOX moves its mail into a new mailbox and
 * leaves INBOX empty (done by the store).
 */
#include "lib/lib.h"
#include "store/index.h"
#include "imap/imap-private.h"

static int rename_op(struct index *index, const struct imap_mailbox_op *op,
		     struct index_error *error_r)
{
	return index_mailbox_rename(index, op->name, op->name2, error_r);
}

void cmd_rename(struct imap_cmd *cmd)
{
	const char *detail;
	char *from, *to;

	if (cmd->count != 2) {
		imap_cmd_bad(cmd, "Syntax: RENAME mailbox newname");
		return;
	}
	if (imap_mailbox_name_in(cmd, &cmd->args[0], &from, &detail) < 0 ||
	    imap_mailbox_name_in(cmd, &cmd->args[1], &to, &detail) < 0) {
		imap_cmd_refuse(cmd, "store.bad-name", detail);
		return;
	}
	if (strcmp(to, "INBOX") == 0) {
		imap_cmd_reason(cmd, "store.mailbox-exists", NULL);
		return;
	}
	imap_mailbox_op_submit(cmd, rename_op, from, to, NULL, false);
}
