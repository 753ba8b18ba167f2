/* SPDX-License-Identifier: ISC */
/*
 * cmd-delete.c - DELETE (RFC 9051 6.3.5): INBOX never; a mailbox with
 * children may be deleted and the children are kept (the store removes
 * only the folder's own mail, crediting the quota; LIST then shows the
 * name as a \Noselect level). A level that is no mailbox but has
 * children is an error, answered NO [HASCHILDREN] (RFC 9051 7.1). The
 * next mailbox of that name gets a new UIDVALIDITY, so UIDs are never
 * reused (6.3.5's last paragraph).
 */
#include "lib/lib.h"
#include "store/index.h"
#include "imap/imap-private.h"

/* delete_has_children - whether a mailbox exists below name. */
static bool delete_has_children(struct index *index, const char *name)
{
	struct index_mailbox_info *list = NULL;
	struct index_error err;
	size_t count = 0, len = strlen(name);
	bool found = false;

	if (index_mailbox_list(index, &list, &count, &err) < 0)
		return false;
	for (size_t i = 0; i < count && !found; i++)
		found = !list[i].nonexistent && strncmp(list[i].name, name, len) == 0 &&
			list[i].name[len] == '/';
	index_mailbox_list_free(&list, count);
	return found;
}

static int delete_op(struct index *index, const struct imap_mailbox_op *op,
		     struct index_error *error_r)
{
	if (index_mailbox_delete(index, op->name, error_r) == 0)
		return 0;
	if (strcmp(error_r->reason, "store.no-mailbox") == 0 &&
	    delete_has_children(index, op->name))
		error_r->reason = "store.has-children";
	return -1;
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
