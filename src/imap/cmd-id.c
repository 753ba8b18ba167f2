/* SPDX-License-Identifier: ISC */
/*
 * cmd-id.c - ID (RFC 2971): log what the client says it is (a support
 * desk wants to know which client a user runs) and name ourselves.
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "imap/imap-private.h"

/* RFC 2971 3.3: at most 30 field-value pairs, fields of 30 octets and
 * values of 1024; we log a shortened line. */
#define ID_PAIRS_MAX 30
#define ID_LOG_MAX 400

void cmd_id(struct imap_cmd *cmd)
{
	const struct imap_arg *list;
	unsigned count;
	struct buf b;

	if (cmd->count != 1 ||
	    (cmd->args[0].type != IMAP_ARG_NIL &&
	     imap_arg_get_list(&cmd->args[0], &list, &count) < 0)) {
		imap_cmd_bad(cmd, "Syntax: ID (\"field\" \"value\" ...) or ID NIL");
		return;
	}
	if (cmd->args[0].type != IMAP_ARG_NIL) {
		if (count % 2 != 0 || count > 2 * ID_PAIRS_MAX) {
			imap_cmd_bad(cmd, "ID takes at most 30 field-value pairs");
			return;
		}
		buf_init(&b, ID_LOG_MAX);
		for (unsigned i = 0; i + 1 < count; i += 2) {
			const char *field, *value;
			size_t flen, vlen;
			if (imap_arg_get_string(&list[i], &field, &flen) < 0 ||
			    imap_arg_get_nstring(&list[i + 1], &value, &vlen) < 0) {
				buf_release(&b);
				imap_cmd_bad(cmd, "ID fields and values are strings");
				return;
			}
			/* a full buffer only shortens the log line */
			if (buf_printf(&b, "%s%.30s=\"%.60s\"", i > 0 ? " " : "", field,
				       value != NULL ? value : "NIL") < 0)
				break;
		}
		log_info("imap id sid=%s %s", cmd->s->sid, b.len > 0 ? b.data : "");
		buf_release(&b);
	}
	imap_untagged(cmd->s, "ID (\"name\" \"postino\" \"vendor\" \"postino\")");
	imap_cmd_ok(cmd, "ID completed.");
}
