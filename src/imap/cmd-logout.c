/* SPDX-License-Identifier: ISC */
/*
 * cmd-logout.c - LOGOUT (RFC 9051 6.1.3): BYE, the tagged OK, close.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "imap/imap-private.h"

void cmd_logout(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;

	imap_untagged(s, "BYE Logging out");
	imap_cmd_ok(cmd, "Logout completed.");
	log_info("imap logout sid=%s account=%s", s->sid, s->account != NULL ? s->account : "-");
	imap_session_close(s, "logout");
}
