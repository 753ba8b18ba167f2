/* SPDX-License-Identifier: ISC */
/*
 * cmd-starttls.c - STARTTLS (RFC 3501 6.2.1, RFC 9051 6.2.1).
 *
 * conn_starttls() discards whatever the client pipelined after the
 * command (CVE-2011-0411: it came in plaintext and must not run as if it
 * came over TLS), and the parser forgets any partial command. Nothing
 * learnt before TLS needs forgetting: no login is possible before it on
 * this port (LOGINDISABLED).
 */
#include "lib/lib.h"
#include "core/conn.h"
#include "core/tls.h"
#include "imap/imap-private.h"

void cmd_starttls(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;

	if (conn_is_tls(s->conn)) {
		imap_cmd_bad(cmd, "TLS is already active");
		return;
	}
	if (tls_server_ctx() == NULL) {
		imap_cmd_refuse(cmd, "imap.tls-unavailable", "no TLS context");
		return;
	}
	imap_cmd_ok(cmd, "Begin TLS negotiation now.");
	s->starttls = true;
	if (conn_starttls(s->conn) < 0) {
		s->starttls = false;
		imap_untagged(s, "BYE TLS could not be started");
		imap_session_close(s, "starttls failed");
	}
}
