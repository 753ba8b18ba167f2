/* SPDX-License-Identifier: ISC */
/*
 * cmd-ehlo.c - HELO and EHLO (RFC 5321 4.1.1.1) and the capability list.
 *
 * Either one ends any transaction (RFC 5321 4.1.4). What EHLO advertises
 * is also what MAIL/RCPT accept as parameters (smtp_session.ext), so the
 * two cannot disagree. AUTH is offered on the submission ports only, and
 * only once TLS is up (RFC 4954 4: no plaintext passwords on the wire).
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "core/conn.h"
#include "core/tls.h"
#include "smtp/smtp-private.h"

/* Room for our capability lines. */
#define EHLO_LINES_MAX 16

int cmd_helo_check(struct smtp_session *s, const char *args)
{
	struct pool *pool = pool_new(512);
	struct smtp_helo helo;
	struct mail_error error;
	int ret = 0;

	if (smtp_cmd_parse_helo(pool, args, &helo, &error) < 0) {
		smtp_reply_error(s, &error, "smtp.syntax");
		ret = -1;
	} else if (str_copy(s->helo, helo.domain, sizeof(s->helo)) < 0) {
		smtp_reply_reason(s, "smtp.syntax", "Syntax error: EHLO name too long");
		s->helo[0] = '\0';
		ret = -1;
	}
	pool_free(&pool);
	return ret;
}

/* cmd_helo_start - what HELO and EHLO share: a fresh start. */
static void cmd_helo_start(struct smtp_session *s)
{
	smtp_tx_reset(s);
	smtp_set_state(s, SMTP_STATE_READY);
}

void cmd_helo_proceed(struct smtp_session *s, const char *args)
{
	cmd_helo_start(s);
	s->esmtp = false;
	s->ext = 0;
	smtp_reply(s, "250 %s", s->cfg->hostname);
}

/* cmd_auth_offered - RFC 4954 4 and our rule: submission ports, over TLS. */
static bool cmd_auth_offered(const struct smtp_session *s)
{
	return smtp_is_submission(s) && s->conn != NULL && conn_is_tls(s->conn);
}

void cmd_ehlo_proceed(struct smtp_session *s, const char *args)
{
	const char *lines[EHLO_LINES_MAX];
	struct pool *pool = pool_new(1024);
	size_t n = 0;

	cmd_helo_start(s);
	s->esmtp = true;
	s->ext = SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 | SMTP_EXT_DSN;
	lines[n++] = p_printf(pool, "%s Hello %s [%s]", s->cfg->hostname, s->helo, s->peer);
	lines[n++] = "PIPELINING";                                   /* RFC 2920 */
	lines[n++] = p_printf(pool, "SIZE %" PRIu64, s->cfg->smtp_max_message_size); /* RFC 1870 */
	lines[n++] = "8BITMIME";                                     /* RFC 6152 */
	lines[n++] = "SMTPUTF8";                                     /* RFC 6531 */
	lines[n++] = "ENHANCEDSTATUSCODES";                          /* RFC 2034 */
	lines[n++] = "CHUNKING";                                     /* RFC 3030 */
	lines[n++] = "DSN";                                          /* RFC 3461 */
	if (s->conn != NULL && !conn_is_tls(s->conn) && tls_server_ctx() != NULL)
		lines[n++] = "STARTTLS";                             /* RFC 3207 */
	if (cmd_auth_offered(s)) {
		lines[n++] = "AUTH PLAIN LOGIN";                     /* RFC 4954 */
		s->ext |= SMTP_EXT_AUTH;
	}
	smtp_reply_lines(s, "250", lines, n);
	pool_free(&pool);
}
