/* SPDX-License-Identifier: ISC */
/*
 * cmd-create.c - CREATE (RFC 9051 6.3.4) with CREATE-SPECIAL-USE (RFC
 * 6154 3): "CREATE name (USE (\Sent))". A trailing separator is dropped
 * (RFC 9051 6.3.4: it only says the client means to create children);
 * parents need not exist (Maildir++ folders are flat).
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "store/index.h"
#include "imap/imap-private.h"

static const char *const special_uses[] = {
	"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash",
};

static int create_op(struct index *index, const struct imap_mailbox_op *op,
		     struct index_error *error_r)
{
	return index_mailbox_create(index, op->name, op->special_use, error_r);
}

/* create_use - "(USE (\Sent))": the one attribute, or NULL. -1 = BAD. */
static int create_use(struct imap_cmd *cmd, const char **use_r)
{
	const struct imap_arg *list, *uses;
	unsigned count, ucount;
	const char *attr;

	*use_r = NULL;
	if (cmd->count == 1)
		return 0;
	if (cmd->count != 2 || imap_arg_get_list(&cmd->args[1], &list, &count) < 0 ||
	    count != 2 || !imap_arg_atom_equals(&list[0], "USE") ||
	    imap_arg_get_list(&list[1], &uses, &ucount) < 0 || ucount > 1)
		return -1;
	if (ucount == 0)
		return 0;
	if (imap_arg_get_atom(&uses[0], &attr) < 0)
		return -1;
	for (size_t i = 0; i < N_ELEMENTS(special_uses); i++) {
		if (str_casecmp(attr, special_uses[i]) == 0) {
			*use_r = special_uses[i];
			return 0;
		}
	}
	*use_r = "";
	return 0;
}

void cmd_create(struct imap_cmd *cmd)
{
	const char *sent, *use, *detail;
	struct imap_arg arg;
	char *name;
	size_t len;

	if (cmd->count < 1 || imap_arg_get_astring(&cmd->args[0], &sent) < 0 ||
	    create_use(cmd, &use) < 0) {
		imap_cmd_bad(cmd, "Syntax: CREATE mailbox [(USE (\\Attribute))]");
		return;
	}
	if (use != NULL && use[0] == '\0') {
		imap_cmd_reason(cmd, "store.bad-special-use", NULL);
		return;
	}
	arg = cmd->args[0];
	len = strlen(sent);
	if (len > 1 && sent[len - 1] == '/') {
		char *trimmed = p_strndup(cmd->pool, sent, len - 1);
		arg.type = IMAP_ARG_STRING;
		arg.str = trimmed;
		arg.len = len - 1;
	}
	if (imap_mailbox_name_in(cmd, &arg, &name, &detail) < 0) {
		imap_cmd_refuse(cmd, "store.bad-name", detail);
		return;
	}
	if (strcmp(name, "INBOX") == 0) {
		imap_cmd_reason(cmd, "store.mailbox-exists", NULL);
		return;
	}
	imap_mailbox_op_submit(cmd, create_op, name, NULL, use, false);
}
