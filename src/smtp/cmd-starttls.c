/* SPDX-License-Identifier: ISC */
/*
 * cmd-starttls.c - STARTTLS (RFC 3207).
 *
 * conn_starttls() throws away anything the client pipelined after the
 * command (CVE-2011-0411: it arrived in plaintext, so it must not be
 * executed as if it came over TLS), and once the handshake is done the
 * session forgets everything it learnt before it (RFC 3207 4.2): the
 * EHLO name, the extensions, any authentication.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "core/conn.h"
#include "core/tls.h"
#include "smtp/smtp-private.h"

int cmd_starttls_check(struct smtp_session *s, const char *args)
{
	if (conn_is_tls(s->conn)) {
		smtp_reply_reason(s, "smtp.tls-active", NULL);
		return -1;
	}
	if (tls_server_ctx() == NULL) {
		smtp_refuse(s, "smtp.tls-unavailable", NULL, "no TLS context");
		return -1;
	}
	return 0;
}

void cmd_starttls_proceed(struct smtp_session *s, const char *args)
{
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	smtp_set_state(s, SMTP_STATE_STARTTLS);
	if (conn_starttls(s->conn) < 0) {
		smtp_set_state(s, SMTP_STATE_READY);
		smtp_refuse(s, "smtp.tls-unavailable", NULL, "conn_starttls failed");
	}
}

/* cmd_starttls_ready - the handshake is done: back to the start, as if
 * the connection had just been greeted (no new greeting is sent). */
void cmd_starttls_ready(struct smtp_session *s)
{
	smtp_tx_reset(s);
	s->helo[0] = '\0';
	s->esmtp = false;
	s->ext = 0;
	free(s->account);
	s->account = NULL;
	smtp_set_state(s, SMTP_STATE_HELO);
}
