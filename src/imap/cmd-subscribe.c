/* SPDX-License-Identifier: ISC */
/*
 * cmd-subscribe.c - SUBSCRIBE and UNSUBSCRIBE (RFC 9051 6.3.7, 6.3.8):
 * any valid name, existing or not (RFC 3501 6.3.6).
 */
#include "lib/lib.h"
#include "store/index.h"
#include "imap/imap-private.h"

static int subscribe_op(struct index *index, const struct imap_mailbox_op *op,
			struct index_error *error_r)
{
	return index_mailbox_subscribe(index, op->name, op->flag, error_r);
}

static void subscribe(struct imap_cmd *cmd, bool on)
{
	const char *detail;
	char *name;

	if (cmd->count != 1) {
		imap_cmd_bad(cmd, "Syntax: %s mailbox", cmd->def->name);
		return;
	}
	if (imap_mailbox_name_in(cmd, &cmd->args[0], &name, &detail) < 0) {
		imap_cmd_refuse(cmd, "store.bad-name", detail);
		return;
	}
	imap_mailbox_op_submit(cmd, subscribe_op, name, NULL, NULL, on);
}

void cmd_subscribe(struct imap_cmd *cmd)
{
	subscribe(cmd, true);
}

void cmd_unsubscribe(struct imap_cmd *cmd)
{
	subscribe(cmd, false);
}
