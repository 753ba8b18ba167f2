/* SPDX-License-Identifier: ISC */
/*
 * cmd-basic.c - the small commands: RSET, NOOP, QUIT, HELP, VRFY
 * (RFC 5321 4.1.1.5-4.1.1.10). Any that grows moves to its own file.
 */
#include "lib/lib.h"
#include "smtp/smtp-private.h"

/* RSET - abort the transaction, keep the session (RFC 5321 4.1.1.5). */
void cmd_rset_proceed(struct smtp_session *s, const char *args)
{
	smtp_tx_reset(s);
	smtp_reply(s, "250 2.0.0 Reset state");
}

/* NOOP - its argument, if any, is ignored (RFC 5321 4.1.1.9). */
void cmd_noop_proceed(struct smtp_session *s, const char *args)
{
	smtp_reply(s, "250 2.0.0 OK");
}

void cmd_quit_proceed(struct smtp_session *s, const char *args)
{
	smtp_tx_reset(s);
	smtp_reply(s, "221 2.0.0 %s closing connection", s->cfg->hostname);
	smtp_session_close(s, "quit");
}

void cmd_help_proceed(struct smtp_session *s, const char *args)
{
	static const char *const lines[] = {
		"2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA BDAT",
		"2.0.0 RSET NOOP QUIT HELP VRFY",
		"2.0.0 postino, https://www.rfc-editor.org/rfc/rfc5321",
	};

	smtp_reply_lines(s, "214", lines, N_ELEMENTS(lines));
}

/* VRFY - RFC 5321 3.5.3: 252 when we will not say who exists, which
 * keeps mailbox names from being harvested. */
void cmd_vrfy_proceed(struct smtp_session *s, const char *args)
{
	smtp_reply(s, "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery");
}
