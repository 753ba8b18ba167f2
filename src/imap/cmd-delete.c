/* SPDX-License-Identifier: ISC */
/*
 * cmd-delete.c - DELETE (RFC 9051 6.3.5): INBOX never; children are kept
 * (the store removes only the folder's own mail, crediting the quota).
 */
#include "lib/lib.h"
#include "store/index.h"
#include "imap/imap-private.h"

static int delete_op(struct index *index, const struct imap_mailbox_op *op,
		     struct index_error *error_r)
{
	return index_mailbox_delete(index, op->name, error_r);
}

void cmd_delete(struct imap_cmd *cmd)
{
	const char *detail;
	char *name;

	if (cmd->count != 1) {
		imap_cmd_bad(cmd, "Syntax: DELETE mailbox");
		return;
	}
	if (imap_mailbox_name_in(cmd, &cmd->args[0], &name, &detail) < 0) {
		imap_cmd_refuse(cmd, "store.bad-name", detail);
		return;
	}
	if (strcmp(name, "INBOX") == 0) {
		imap_cmd_refuse(cmd, "store.delete-inbox", NULL);
		return;
	}
	imap_mailbox_op_submit(cmd, delete_op, name, NULL, NULL, false);
}
