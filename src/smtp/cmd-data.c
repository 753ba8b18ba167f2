/* SPDX-License-Identifier: ISC */
/*
 * cmd-data.c - DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030): the message
 * octets from the wire into the transaction's spool file.
 *
 * DATA goes through mail/dot.h: only CR LF "." CR LF ends it, and a bare
 * CR or LF anywhere makes the whole message refused once its real end
 * has been read, so no SMTP smuggling variant can end it early and have
 * what follows read as commands.
 *
 * BDAT chunks are read by count. A BDAT command is consumed with its
 * octets even when it is refused (RFC 3030 2: the chunk follows the
 * command whatever the answer), so refused data is never read as commands
 * either; a BDAT whose size cannot be parsed cannot be resynchronised
 * and ends the session.
 *
 * Nothing is buffered beyond one slice: octets are decoded and written
 * as they arrive, and counted against smtp.max-message-size; past it the
 * rest is read and dropped, and the answer is 552 5.3.4.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "core/conn.h"
#include "core/dbpool.h"
#include "directory/policy.h"
#include "smtp/smtp-private.h"

#include <event2/buffer.h>

/* One slice of input, decoded in place (dot_decode's output never
 * overtakes its input). Loop thread only. */
static char data_slice[SMTP_DATA_SLICE];

/* data_send_limit - the hijack hook (F21), asked once per message. */
static int data_send_limit(struct smtp_session *s)
{
	struct db *db;
	const char *reason;
	int ret;

	if (s->account == NULL)
		return 0;
	if ((db = dbpool_get()) == NULL ||
	    (ret = policy_send_limit(db, s->account, s->tx->rcpt_count, &reason)) < 0) {
		smtp_refuse(s, POLICY_REASON_TEMPFAIL, s->account, "send limit lookup failed");
		return -1;
	}
	if (ret == POLICY_DENY) {
		smtp_refuse(s, reason, s->account, NULL);
		return -1;
	}
	return 0;
}

/* data_start - the spool is ready for the first octet; -1 = refused.
 * in_place: DATA, whose octets are CRLF only (not BDAT's). */
static int data_start(struct smtp_session *s, bool in_place)
{
	if (smtp_tx_spool_open(s, in_place) < 0) {
		smtp_refuse(s, "smtp.storage-failed", s->account, "cannot open the spool file");
		smtp_tx_reset(s);
		return -1;
	}
	return 0;
}

int cmd_data_check(struct smtp_session *s, const char *args)
{
	return data_send_limit(s);
}

void cmd_data_proceed(struct smtp_session *s, const char *args)
{
	if (data_start(s, true) < 0)
		return;
	dot_decoder_init(&s->tx->dot);
	smtp_set_state(s, SMTP_STATE_DATA);
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* data_input - DATA octets; 1 = keep going, 0 = need more input. */
static int data_input(struct smtp_session *s)
{
	struct evbuffer *in = conn_input(s->conn);
	struct smtp_tx *tx = s->tx;
	size_t avail = evbuffer_get_length(in), n, out_len, consumed;
	int ret;

	if (avail == 0)
		return 0;
	n = avail < sizeof(data_slice) ? avail : sizeof(data_slice);
	if (evbuffer_copyout(in, data_slice, n) != (ssize_t)n)
		panic("smtp: evbuffer_copyout short read");
	ret = dot_decode(&tx->dot, data_slice, n, data_slice, &out_len, &consumed);
	evbuffer_drain(in, consumed);
	/* once a bare CR/LF is seen the output is not the message any more */
	if (!(tx->dot.flags & DOT_ERRORS))
		smtp_tx_spool_write(tx, data_slice, out_len, s->cfg->smtp_max_message_size);
	if (ret == 0)
		return evbuffer_get_length(in) > 0 ? 1 : 0;
	if (ret < 0) {
		tx->bare_newline = true;
		log_info("smtp bare newline sid=%s id=%s at=%" PRIu64 " flags=0x%x", s->sid, tx->id,
			 tx->dot.error_at, tx->dot.flags);
	}
	smtp_protolog(s, '<', "(message data)");
	smtp_tx_commit(s);
	return 1;
}

/* ---- BDAT ---- */

int cmd_bdat_check(struct smtp_session *s, const char *args)
{
	struct mail_error error;
	uint64_t size;
	bool last;

	if (smtp_cmd_parse_bdat(args, &size, &last, &error) < 0) {
		/* the chunk's length is unknown: its octets would be read as
		 * commands, so the session cannot go on */
		smtp_reply_error(s, &error, "smtp.syntax");
		smtp_session_close(s, "unparsable BDAT");
		return -1;
	}
	return 0;
}

/* bdat_refusal - the generic checks the table does not do for BDAT (its
 * chunk must be read whatever the answer); NULL = accepted. */
static const char *bdat_refusal(struct smtp_session *s, const char **text_r)
{
	*text_r = NULL;
	if (s->helo[0] == '\0') {
		*text_r = "Send EHLO or HELO first";
		return "smtp.bad-sequence";
	}
	if (smtp_is_submission(s) && s->account == NULL)
		return "smtp.auth-required";
	if (s->tx == NULL) {
		*text_r = "Send MAIL first";
		return "smtp.bad-sequence";
	}
	if (s->tx->rcpt_count == 0)
		return "smtp.no-recipients";
	return NULL;
}

void cmd_bdat_proceed(struct smtp_session *s, const char *args)
{
	struct mail_error error;
	uint64_t size;
	bool last;

	if (smtp_cmd_parse_bdat(args, &size, &last, &error) < 0)
		panic("smtp: BDAT arguments changed between check and proceed");
	s->bdat_left = size;
	s->bdat_last = last;
	s->bdat_refusal = bdat_refusal(s, &s->bdat_refusal_text);
	if (s->bdat_refusal == NULL && !s->tx->bdat) {
		if (data_send_limit(s) < 0 || data_start(s, false) < 0) {
			/* answered already; the chunk is read and dropped quietly */
			s->bdat_refusal = "";
		} else {
			s->tx->bdat = true;
		}
	}
	smtp_set_state(s, SMTP_STATE_BDAT);
}

/* bdat_chunk_done - all octets of the chunk are in: answer it. */
static void bdat_chunk_done(struct smtp_session *s)
{
	const char *refusal = s->bdat_refusal;

	s->bdat_refusal = NULL;
	smtp_protolog(s, '<', "(chunk data)");
	if (refusal != NULL) {
		smtp_set_state(s, s->tx != NULL ? (s->tx->rcpt_count > 0 ? SMTP_STATE_RCPT
									  : SMTP_STATE_MAIL)
						: smtp_idle_state(s));
		if (refusal[0] != '\0')
			smtp_reply_reason(s, refusal, s->bdat_refusal_text);
		return;
	}
	if (s->tx->too_big) {
		/* RFC 3030 2: a failed chunk fails the transaction */
		smtp_refuse(s, "smtp.message-too-big", s->account, NULL);
		smtp_tx_reset(s);
		return;
	}
	if (s->bdat_last) {
		smtp_tx_commit(s);
		return;
	}
	smtp_set_state(s, SMTP_STATE_RCPT);
	smtp_reply(s, "250 2.0.0 %" PRIu64 " octets received", s->tx->size);
}

/* bdat_input - chunk octets; 1 = keep going, 0 = need more input. */
static int bdat_input(struct smtp_session *s)
{
	struct evbuffer *in = conn_input(s->conn);
	size_t avail = evbuffer_get_length(in), n;

	if (s->bdat_left > 0) {
		if (avail == 0)
			return 0;
		n = avail < sizeof(data_slice) ? avail : sizeof(data_slice);
		if (n > s->bdat_left)
			n = (size_t)s->bdat_left;
		if (s->bdat_refusal == NULL) {
			if (evbuffer_copyout(in, data_slice, n) != (ssize_t)n)
				panic("smtp: evbuffer_copyout short read");
			smtp_tx_spool_write(s->tx, data_slice, n, s->cfg->smtp_max_message_size);
		}
		evbuffer_drain(in, n);
		s->bdat_left -= n;
		if (s->bdat_left > 0)
			return evbuffer_get_length(in) > 0 ? 1 : 0;
	}
	bdat_chunk_done(s);
	return 1;
}

int cmd_data_input(struct smtp_session *s)
{
	return s->state == SMTP_STATE_DATA ? data_input(s) : bdat_input(s);
}
