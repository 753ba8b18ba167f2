/* SPDX-License-Identifier: ISC */
/*
 * cmd-authenticate.c - AUTHENTICATE PLAIN (RFC 9051 6.2.2, RFC 4616),
 * with SASL-IR (RFC 4959): the initial response on the command line, or
 * after an empty "+ " continuation. "*" cancels (BAD, RFC 9051 6.2.2).
 * The check itself is LOGIN's (cmd-login.c).
 */
#include "lib/lib.h"
#include "lib/base64.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "directory/directory.h"
#include "mail/sasl.h"
#include "imap/imap-private.h"

#define AUTH_DECODED_MAX SASL_PLAIN_DECODED_MAX(PASSWORD_MAX)

/* auth_plain - the decoded PLAIN message (mail/sasl.h). */
static void auth_plain(struct imap_cmd *cmd, const char *msg, size_t len)
{
	const char *authcid, *passwd;

	switch (sasl_plain_split(msg, len, &authcid, &passwd)) {
	case SASL_PLAIN_SYNTAX:
		imap_cmd_bad(cmd, "Invalid PLAIN authentication data");
		return;
	case SASL_PLAIN_PROXY:
		imap_cmd_refuse(cmd, "policy.auth-failed", "authzid differs from authcid");
		return;
	case SASL_PLAIN_OK:
		break;
	}
	if (authcid[0] == '\0') {
		imap_cmd_reason(cmd, "policy.auth-failed", NULL);
		return;
	}
	imap_login_verify(cmd, authcid, passwd);
}

/* auth_response - base64 of one response; "=" is empty (RFC 4959 3). */
static void auth_response(struct imap_cmd *cmd, const char *text, size_t len)
{
	struct buf msg;

	buf_init(&msg, AUTH_DECODED_MAX);
	if (sasl_decode(text, len, &msg) < 0)
		imap_cmd_bad(cmd, "Invalid base64 in the authentication response");
	else
		auth_plain(cmd, msg.len > 0 ? msg.data : "", msg.len);
	if (msg.data != NULL)
		explicit_bzero(msg.data, msg.cap);
	buf_release(&msg);
}

static void auth_line(struct imap_cmd *cmd, const char *line, size_t len)
{
	cmd->line_input = NULL;
	imap_protolog(cmd->s, '<', "(sasl response)");
	if (line == NULL) {
		imap_cmd_bad(cmd, "Authentication response too long");
		return;
	}
	if (len == 1 && line[0] == '*') {
		imap_cmd_bad(cmd, "Authentication cancelled");
		return;
	}
	auth_response(cmd, line, len);
}

void cmd_authenticate(struct imap_cmd *cmd)
{
	const char *mech, *ir = NULL;

	if (cmd->count < 1 || cmd->count > 2 || imap_arg_get_atom(&cmd->args[0], &mech) < 0 ||
	    (cmd->count == 2 && imap_arg_get_atom(&cmd->args[1], &ir) < 0)) {
		imap_cmd_bad(cmd, "Syntax: AUTHENTICATE mechanism [initial-response]");
		return;
	}
	if (str_casecmp(mech, "PLAIN") != 0) {
		imap_cmd_reason(cmd, "imap.auth-mechanism", NULL);
		return;
	}
	if (imap_login_refused_plaintext(cmd))
		return;
	if (ir != NULL) {
		auth_response(cmd, ir, strlen(ir));
		return;
	}
	cmd->line_input = auth_line;
	imap_send_line(cmd->s, "+ ", 2);
}
