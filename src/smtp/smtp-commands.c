/* SPDX-License-Identifier: ISC */
/*
 * smtp-commands.c - the command table and the dispatcher.
 *
 * Adding a command is one cmd-*.c file and one row here. The dispatcher
 * does the generic checks once, in a fixed order, so every command gets
 * the same answer to the same mistake: the line length for this command
 * (RFC 5321 4.5.3.1.4 plus what the extensions allow), arguments where
 * none are taken, EHLO first, AUTH first on submission ports, no AUTH or
 * STARTTLS inside a transaction, MAIL before RCPT before DATA. Then the
 * command's own check, then its proceed step.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "smtp/smtp-private.h"

/* Per-command pool: parsed arguments live until the command returns. */
#define SMTP_CMD_POOL_SIZE 1024

static const struct smtp_command smtp_commands[] = {
	{ "EHLO", cmd_helo_check, cmd_ehlo_proceed, 0 },
	{ "HELO", cmd_helo_check, cmd_helo_proceed, 0 },
	{ "STARTTLS", cmd_starttls_check, cmd_starttls_proceed,
	  SMTP_CMD_NO_ARGS | SMTP_CMD_NEEDS_HELO | SMTP_CMD_NO_TX },
	{ "AUTH", cmd_auth_check, cmd_auth_proceed, SMTP_CMD_NEEDS_HELO | SMTP_CMD_NO_TX },
	{ "MAIL", cmd_mail_check, cmd_mail_proceed,
	  SMTP_CMD_NEEDS_HELO | SMTP_CMD_NEEDS_AUTH | SMTP_CMD_NO_TX },
	{ "RCPT", cmd_rcpt_check, cmd_rcpt_proceed,
	  SMTP_CMD_NEEDS_HELO | SMTP_CMD_NEEDS_AUTH | SMTP_CMD_NEEDS_MAIL | SMTP_CMD_NO_BDAT },
	{ "DATA", cmd_data_check, cmd_data_proceed,
	  SMTP_CMD_NO_ARGS | SMTP_CMD_NEEDS_HELO | SMTP_CMD_NEEDS_AUTH | SMTP_CMD_NEEDS_MAIL |
		  SMTP_CMD_NEEDS_RCPT | SMTP_CMD_NO_BDAT },
	/* no generic checks: a refused BDAT must still have its chunk read
	 * (cmd-data.c makes the same checks after the octets) */
	{ "BDAT", cmd_bdat_check, cmd_bdat_proceed, 0 },
	{ "RSET", NULL, cmd_rset_proceed, SMTP_CMD_NO_ARGS },
	{ "NOOP", NULL, cmd_noop_proceed, 0 },
	{ "QUIT", NULL, cmd_quit_proceed, SMTP_CMD_NO_ARGS },
	{ "HELP", NULL, cmd_help_proceed, 0 },
	{ "VRFY", NULL, cmd_vrfy_proceed, 0 },
};

const struct smtp_command *smtp_command_find(const char *verb)
{
	for (size_t i = 0; i < N_ELEMENTS(smtp_commands); i++) {
		if (strcmp(smtp_commands[i].name, verb) == 0)
			return &smtp_commands[i];
	}
	return NULL;
}

/* smtp_line_limit - octets (without CRLF) this command may use. */
static size_t smtp_line_limit(const struct smtp_session *s, const char *verb)
{
	if (strcmp(verb, "AUTH") == 0)
		return SMTP_AUTH_LINE_MAX; /* RFC 4954 4 */
	if (s->esmtp && (strcmp(verb, "MAIL") == 0 || strcmp(verb, "RCPT") == 0))
		return SMTP_LINE_MAX_ESMTP; /* RFC 5321 4.1.1.11: extensions add room */
	return SMTP_LINE_MAX;
}

static bool smtp_in_tx(const struct smtp_session *s)
{
	return s->tx != NULL;
}

/* smtp_generic_checks - the flags of the row, in order; -1 = refused. */
static int smtp_generic_checks(struct smtp_session *s, const struct smtp_command *cmd,
			       const char *args)
{
	unsigned f = cmd->flags;

	if ((f & SMTP_CMD_NO_ARGS) && args[0] != '\0') {
		smtp_reply_reason(s, "smtp.syntax", "Syntax error: no arguments allowed");
		return -1;
	}
	if ((f & SMTP_CMD_NEEDS_HELO) && s->helo[0] == '\0') {
		smtp_reply_reason(s, "smtp.bad-sequence", "Send EHLO or HELO first");
		return -1;
	}
	if ((f & SMTP_CMD_NEEDS_AUTH) && smtp_is_submission(s) && s->account == NULL) {
		smtp_refuse(s, "smtp.auth-required", NULL, cmd->name);
		return -1;
	}
	if ((f & SMTP_CMD_NO_TX) && smtp_in_tx(s)) {
		smtp_reply_reason(s, "smtp.bad-sequence",
				  strcmp(cmd->name, "MAIL") == 0
					  ? "Nested MAIL command: send RSET or finish the message"
					  : "Not allowed inside a mail transaction; send RSET first");
		return -1;
	}
	if ((f & SMTP_CMD_NEEDS_MAIL) && !smtp_in_tx(s)) {
		smtp_reply_reason(s, "smtp.bad-sequence", "Send MAIL first");
		return -1;
	}
	if ((f & SMTP_CMD_NO_BDAT) && s->tx != NULL && s->tx->bdat) {
		smtp_reply_reason(s, "smtp.bad-sequence",
				  "Not allowed once BDAT has started; finish with BDAT LAST or RSET");
		return -1;
	}
	if ((f & SMTP_CMD_NEEDS_RCPT) && (s->tx == NULL || s->tx->rcpt_count == 0)) {
		smtp_reply_reason(s, "smtp.no-recipients", NULL);
		return -1;
	}
	return 0;
}

/* smtp_protolog_command - the command as logged: AUTH's initial response
 * carries a password and is masked. */
static void smtp_protolog_command(struct smtp_session *s, const struct smtp_cmd *cmd,
				  const char *line)
{
	char masked[64];

	if (!s->cfg->smtp_protocol_log)
		return;
	if (strcmp(cmd->verb, "AUTH") == 0) {
		const char *sp = strchr(cmd->args, ' ');
		(void)snprintf(masked, sizeof(masked), "AUTH %.*s%s",
			       (int)(sp != NULL ? (size_t)(sp - cmd->args) : strlen(cmd->args)),
			       cmd->args, sp != NULL ? " ****" : "");
		smtp_protolog(s, '<', masked);
		return;
	}
	smtp_protolog(s, '<', line);
}

void smtp_command_dispatch(struct smtp_session *s, const char *line, size_t len)
{
	struct pool *pool = pool_new(SMTP_CMD_POOL_SIZE);
	const struct smtp_command *cmd;
	struct mail_error error;
	struct smtp_cmd parsed;

	if (smtp_cmd_split(pool, line, len, &parsed, &error) < 0) {
		smtp_protolog(s, '<', "(unparsable line)");
		smtp_reply_error(s, &error, "smtp.syntax");
		goto done;
	}
	smtp_protolog_command(s, &parsed, line);
	if ((cmd = smtp_command_find(parsed.verb)) == NULL) {
		log_info("smtp unknown command sid=%s peer=%s verb=%.20s", s->sid, s->peer,
			 parsed.verb);
		smtp_reply_reason(s, "smtp.unknown-command", NULL);
		goto done;
	}
	if (len > smtp_line_limit(s, cmd->name)) {
		smtp_reply_reason(s, "smtp.line-too-long", NULL);
		goto done;
	}
	if (smtp_generic_checks(s, cmd, parsed.args) < 0)
		goto done;
	if (cmd->check != NULL && cmd->check(s, parsed.args) < 0)
		goto done;
	cmd->proceed(s, parsed.args);
done:
	pool_free(&pool);
}
