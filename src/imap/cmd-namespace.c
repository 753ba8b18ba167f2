/* SPDX-License-Identifier: ISC */
/*
 * cmd-namespace.c - NAMESPACE (RFC 2342, RFC 9051 6.3.10): one personal
 * namespace with "/" as the separator; no shared or other users'
 * mailboxes exist, and none can be reached.
 */
#include "lib/lib.h"
#include "imap/imap-private.h"

void cmd_namespace(struct imap_cmd *cmd)
{
	imap_untagged(cmd->s, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_cmd_ok(cmd, "Namespace completed.");
}
