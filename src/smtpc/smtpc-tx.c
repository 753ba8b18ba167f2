/* SPDX-License-Identifier: ISC */
/*
 * smtpc-tx.c - one mail transaction on a ready connection: the checks that
 * need no traffic, MAIL FROM, RCPT TO for each recipient and DATA
 * (pipelined in one write when the server offers PIPELINING, RFC 2920),
 * the replies matched to their commands in order, and the outcome per
 * recipient.
 *
 * Who gets which reply: a refused RCPT keeps its own reply; every
 * recipient gets MAIL's when MAIL was refused; accepted ones get the DATA
 * reply when DATA was refused and the final reply otherwise (delivered
 * only on 2xx after the dot). A broken connection leaves the accepted and
 * unanswered ones with reply code 0 (smtpc.lost/smtpc.timeout).
 */
#include "lib/lib.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "mail/smtp-cmd.h"
#include "smtpc/smtpc-private.h"

#include <event2/event.h>

/* MAIL/RCPT lines: RFC 5321 4.5.3.1.4 plus the extension parameters. */
#define SMTPC_CMD_LINE_MAX (SMTP_CMD_LINE_MAX_ESMTP + SMTP_CMD_DSN_RCPT_EXTRA)

static void smtpc_tx_send_mail(struct smtpc *c, struct buf *out);
static void smtpc_tx_send_rcpt(struct smtpc *c, struct buf *out, size_t i);

static bool is_2xx(const struct smtpc_reply *r)
{
	return r->code / 100 == 2;
}

/* smtpc_tx_precheck - what the peer announced it cannot take (RFC 1870
 * 6.1, RFC 6152 3, RFC 6531 3.2): refused permanently with a reply of our
 * own making (stage "local") so the queue bounces without trying. */
static bool smtpc_tx_precheck(struct smtpc *c, struct smtpc_reply *r)
{
	const struct smtpc_msg *m = c->msg;

	if (c->info.size_limit > 0 && m->size > c->info.size_limit) {
		smtpc_reply_set(r, 552, "5.3.4", "local", "smtpc.too-big",
				"message size %" PRIu64 " exceeds the limit of %s (%" PRIu64 ")",
				m->size, c->peer_name, c->info.size_limit);
		return false;
	}
	if (m->eight_bit && !c->info.eightbitmime) {
		smtpc_reply_set(r, 554, "5.6.3", "local", "smtpc.no-8bitmime",
				"8-bit message but %s does not offer 8BITMIME", c->peer_name);
		return false;
	}
	if (m->smtputf8 && !c->info.smtputf8) {
		smtpc_reply_set(r, 553, "5.6.7", "local", "smtpc.no-smtputf8",
				"UTF-8 addresses but %s does not offer SMTPUTF8", c->peer_name);
		return false;
	}
	return true;
}

static void smtpc_tx_all_rcpts(struct smtpc *c, const struct smtpc_reply *r)
{
	for (size_t i = 0; i < c->msg->rcpt_count; i++)
		c->msg->rcpts[i].reply = *r;
}

/* smtpc_tx_finish - settle, log one line, tell the caller. */
static void smtpc_tx_finish(struct smtpc *c, const struct smtpc_reply *reply, bool conn_lost)
{
	size_t delivered = 0;

	for (size_t i = 0; i < c->msg->rcpt_count; i++)
		delivered += c->msg->rcpts[i].delivered;
	smtpc_data_end(c);
	evtimer_del(c->timer);
	if (c->state != SMTPC_STATE_BROKEN)
		smtpc_set_state(c, conn_lost ? SMTPC_STATE_BROKEN : SMTPC_STATE_READY);
	log_write(LOG_LEVEL_INFO, "smtpc",
		  "sent id=%s peer=%s[%s] tls=%s from=<%s> size=%" PRIu64
		  " rcpts=%zu delivered=%zu stage=%s code=%d enhanced=%s reason=%s%s text=\"%s\""
		  " duration_ms=%" PRIu64,
		  c->log_id, c->peer_name, c->info.peer_addr, c->info.tls ? "yes" : "no",
		  c->msg->sender, c->msg->size, c->msg->rcpt_count, delivered, reply->stage,
		  reply->code, reply->enhanced[0] != '\0' ? reply->enhanced : "-", reply->reason,
		  conn_lost ? " conn_lost=yes" : "", reply->text,
		  time_monotonic_ms() - c->tx_started_ms);
	smtpc_notify_sent(c, reply, conn_lost);
}

static void smtpc_tx_refuse(struct smtpc *c, const struct smtpc_reply *r, bool conn_lost)
{
	smtpc_tx_all_rcpts(c, r);
	smtpc_tx_finish(c, r, conn_lost);
}

void smtpc_send(struct smtpc *c, struct smtpc_msg *msg, smtpc_sent_fn *sent, void *ctx)
{
	struct smtpc_reply r;
	struct buf out;
	char *error = NULL;

	c->msg = msg;
	c->sent_fn = sent;
	c->ctx = ctx;
	c->tx_started_ms = time_monotonic_ms();
	c->expect_rset = c->expect_mail = c->expect_data = false;
	c->rcpt_sent = c->rcpt_replied = c->rcpt_accepted = 0;
	c->mail_ok = c->aborting = false;
	c->body_bytes = 0;
	smtpc_reply_set(&c->mail_reply, 0, "", "", "", "%s", "");
	c->last_rcpt_reply = c->mail_reply;
	/* every recipient gets a reply before sent_fn runs */
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		msg->rcpts[i].delivered = false;
		memset(&msg->rcpts[i].reply, 0, sizeof(msg->rcpts[i].reply));
	}
	if (c->state != SMTPC_STATE_READY) {
		smtpc_reply_set(&r, 0, "", "connect", "smtpc.lost",
				"the connection to %s is no longer usable", c->peer_name);
		smtpc_tx_refuse(c, &r, true);
		return;
	}
	if (msg->rcpt_count == 0) {
		smtpc_reply_set(&r, 0, "", "local", "smtpc.local-error", "no recipients");
		smtpc_tx_refuse(c, &r, false);
		return;
	}
	if (!smtpc_tx_precheck(c, &r)) {
		smtpc_tx_refuse(c, &r, false);
		return;
	}
	if (smtpc_data_begin(c, &error) < 0) {
		smtpc_reply_set(&r, 0, "", "local", "smtpc.local-error", "%s", error);
		free(error);
		smtpc_tx_refuse(c, &r, false);
		return;
	}

	c->pipelined = c->info.pipelining;
	smtpc_set_state(c, SMTPC_STATE_TX);
	buf_init(&out, 0);
	if (c->need_rset) {
		/* RSET may sit anywhere in a pipelined group (RFC 2920 3.1) */
		if (buf_append_str(&out, "RSET\r\n") < 0)
			panic("smtpc: buffer");
		c->expect_rset = true;
	}
	if (!c->need_rset || c->pipelined)
		smtpc_tx_send_mail(c, &out);
	if (c->pipelined) {
		for (size_t i = 0; i < msg->rcpt_count; i++)
			smtpc_tx_send_rcpt(c, &out, i);
		if (buf_append_str(&out, "DATA\r\n") < 0)
			panic("smtpc: buffer");
		c->expect_data = true;
	}
	smtpc_write(c, out.data, out.len);
	buf_release(&out);
	smtpc_arm_timer(c, SMTPC_TIMEOUT_CMD_MS);
}

/* ---- the commands ---- */

static void smtpc_tx_send_mail(struct smtpc *c, struct buf *out)
{
	const struct smtpc_msg *m = c->msg;
	struct pool *pool = pool_new(512);
	int ret = buf_printf(out, "MAIL FROM:<%s>", m->sender);

	/* RFC 1870 3, RFC 6152 2, RFC 6531 3.4, RFC 3461 4.3/4.4: only what
	 * the server offered */
	if (ret == 0 && c->size_offered)
		ret = buf_printf(out, " SIZE=%" PRIu64, m->size);
	if (ret == 0 && m->eight_bit && c->info.eightbitmime)
		ret = buf_append_str(out, " BODY=8BITMIME");
	if (ret == 0 && m->smtputf8 && c->info.smtputf8)
		ret = buf_append_str(out, " SMTPUTF8");
	if (ret == 0 && c->info.dsn && (m->dsn_ret == 1 || m->dsn_ret == 2))
		ret = buf_append_str(out, m->dsn_ret == 1 ? " RET=FULL" : " RET=HDRS");
	if (ret == 0 && c->info.dsn && m->dsn_envid != NULL && m->dsn_envid[0] != '\0')
		ret = buf_printf(out, " ENVID=%s", smtp_xtext_encode(pool, m->dsn_envid));
	if (ret == 0)
		ret = buf_append_str(out, "\r\n");
	if (ret < 0)
		panic("smtpc: buffer");
	pool_free(&pool);
	c->expect_mail = true;
}

/* smtpc_tx_notify - NOTIFY=NEVER or a list of SUCCESS,FAILURE,DELAY
 * (RFC 3461 4.1). */
static int smtpc_tx_notify(struct buf *out, unsigned bits)
{
	static const struct {
		unsigned bit;
		const char *word;
	} words[] = {
		{ SMTP_NOTIFY_SUCCESS, "SUCCESS" },
		{ SMTP_NOTIFY_FAILURE, "FAILURE" },
		{ SMTP_NOTIFY_DELAY, "DELAY" },
	};
	const char *sep = " NOTIFY=";

	if ((bits & SMTP_NOTIFY_NEVER) != 0)
		return buf_append_str(out, " NOTIFY=NEVER");
	for (size_t i = 0; i < N_ELEMENTS(words); i++) {
		if ((bits & words[i].bit) == 0)
			continue;
		if (buf_append_str(out, sep) < 0 || buf_append_str(out, words[i].word) < 0)
			return -1;
		sep = ",";
	}
	return 0;
}

static void smtpc_tx_send_rcpt(struct smtpc *c, struct buf *out, size_t i)
{
	const struct smtpc_rcpt *rcpt = &c->msg->rcpts[i];
	int ret = buf_printf(out, "RCPT TO:<%s>", rcpt->address);

	if (ret == 0 && c->info.dsn && rcpt->dsn_notify != 0)
		ret = smtpc_tx_notify(out, rcpt->dsn_notify);
	if (ret == 0 && c->info.dsn && rcpt->dsn_orcpt != NULL) {
		/* stored as "type;address" decoded; the address goes as xtext */
		const char *semi = strchr(rcpt->dsn_orcpt, ';');
		if (semi != NULL && semi > rcpt->dsn_orcpt && semi[1] != '\0') {
			struct pool *pool = pool_new(512);
			ret = buf_printf(out, " ORCPT=%.*s;%s", (int)(semi - rcpt->dsn_orcpt),
					 rcpt->dsn_orcpt, smtp_xtext_encode(pool, semi + 1));
			pool_free(&pool);
		}
	}
	if (ret == 0)
		ret = buf_append_str(out, "\r\n");
	if (ret < 0)
		panic("smtpc: buffer");
	c->rcpt_sent++;
}

/* smtpc_tx_next - without PIPELINING: the next command after a reply. */
static void smtpc_tx_next(struct smtpc *c, void (*add)(struct smtpc *, struct buf *, size_t),
			  size_t i)
{
	struct buf out;

	buf_init(&out, 0);
	add(c, &out, i);
	smtpc_write(c, out.data, out.len);
	buf_release(&out);
}

static void smtpc_tx_add_mail(struct smtpc *c, struct buf *out, size_t i)
{
	smtpc_tx_send_mail(c, out);
}

static void smtpc_tx_add_data(struct smtpc *c, struct buf *out, size_t i)
{
	if (buf_append_str(out, "DATA\r\n") < 0)
		panic("smtpc: buffer");
	c->expect_data = true;
}

/* ---- the replies ---- */

/* smtpc_tx_no_rcpt - nothing accepted: the deciding reply is MAIL's when
 * it failed, else the last refusal. */
static const struct smtpc_reply *smtpc_tx_no_rcpt_reply(const struct smtpc *c)
{
	return c->mail_ok ? &c->last_rcpt_reply : &c->mail_reply;
}

static void smtpc_tx_data_reply(struct smtpc *c, struct smtpc_reply *reply)
{
	reply->stage = "data";
	if (reply->code / 100 == 2 || (reply->code / 100 == 3 && reply->code != 354)) {
		reply->reason = "smtpc.protocol";
		c->in_sync = false;
		smtpc_tx_lost(c, reply);
		return;
	}
	if (reply->code == 354 && c->mail_ok && c->rcpt_accepted > 0) {
		smtpc_set_state(c, SMTPC_STATE_BODY);
		smtpc_data_pump(c);
		return;
	}
	if (reply->code == 354) {
		/* pipelined DATA accepted though no recipient was (RFC 2920 3.1
		 * says 554): end the empty message at once, then report */
		smtpc_write(c, ".\r\n", 3);
		c->aborting = true;
		smtpc_set_state(c, SMTPC_STATE_DOT);
		smtpc_arm_timer(c, SMTPC_TIMEOUT_DOT_MS);
		return;
	}
	/* the transaction stays open after MAIL: RSET before the next one */
	c->need_rset = c->mail_ok;
	if (c->rcpt_accepted == 0) {
		smtpc_tx_finish(c, smtpc_tx_no_rcpt_reply(c), reply->code == 421);
		return;
	}
	for (size_t i = 0; i < c->msg->rcpt_count; i++) {
		if (is_2xx(&c->msg->rcpts[i].reply))
			c->msg->rcpts[i].reply = *reply;
	}
	smtpc_tx_finish(c, reply, reply->code == 421);
}

/* smtpc_tx_data_next - the next reply due answers DATA. */
static bool smtpc_tx_data_next(const struct smtpc *c)
{
	return !c->expect_rset && !c->expect_mail && c->rcpt_replied == c->rcpt_sent &&
	       c->expect_data;
}

static const char *smtpc_tx_stage(const struct smtpc *c)
{
	if (c->expect_rset || c->expect_mail)
		return "mail";
	return c->rcpt_replied < c->rcpt_sent ? "rcpt" : "data";
}

void smtpc_tx_reply(struct smtpc *c, struct smtpc_reply *reply)
{
	if (reply->code == 421) {
		/* the server is closing (RFC 5321 3.8): whatever is pending
		 * fails with this reply */
		c->in_sync = false;
		reply->stage = smtpc_tx_stage(c);
		smtpc_tx_lost(c, reply);
		return;
	}
	if (reply->code / 100 == 3 && !smtpc_tx_data_next(c)) {
		/* 3xx belongs to DATA only: we are out of step */
		reply->reason = "smtpc.protocol";
		reply->stage = smtpc_tx_stage(c);
		c->in_sync = false;
		smtpc_tx_lost(c, reply);
		return;
	}
	if (c->expect_rset) {
		c->expect_rset = false;
		c->need_rset = false;
		if (!c->pipelined)
			smtpc_tx_next(c, smtpc_tx_add_mail, 0);
	} else if (c->expect_mail) {
		c->expect_mail = false;
		reply->stage = "mail";
		c->mail_reply = *reply;
		c->mail_ok = is_2xx(reply);
		if (!c->mail_ok && !c->pipelined) {
			smtpc_tx_refuse(c, reply, false);
			return;
		}
		if (c->mail_ok && !c->pipelined)
			smtpc_tx_next(c, smtpc_tx_send_rcpt, 0);
	} else if (c->rcpt_replied < c->rcpt_sent) {
		struct smtpc_rcpt *rcpt = &c->msg->rcpts[c->rcpt_replied++];
		reply->stage = "rcpt";
		rcpt->reply = c->mail_ok ? *reply : c->mail_reply;
		if (c->mail_ok && is_2xx(reply))
			c->rcpt_accepted++;
		else if (c->mail_ok)
			c->last_rcpt_reply = *reply;
		if (!c->pipelined) {
			if (c->rcpt_sent < c->msg->rcpt_count) {
				smtpc_tx_next(c, smtpc_tx_send_rcpt, c->rcpt_sent);
			} else if (c->rcpt_accepted > 0) {
				smtpc_tx_next(c, smtpc_tx_add_data, 0);
			} else {
				/* nothing to send; MAIL opened a transaction */
				c->need_rset = true;
				smtpc_tx_finish(c, smtpc_tx_no_rcpt_reply(c), false);
				return;
			}
		}
	} else if (c->expect_data) {
		c->expect_data = false;
		smtpc_tx_data_reply(c, reply);
		return;
	}
	smtpc_arm_timer(c, smtpc_tx_data_next(c) ? SMTPC_TIMEOUT_DATA_MS : SMTPC_TIMEOUT_CMD_MS);
}

void smtpc_tx_dot_reply(struct smtpc *c, struct smtpc_reply *reply)
{
	reply->stage = "dot";
	if (reply->code / 100 == 3) {
		reply->reason = "smtpc.protocol";
		c->in_sync = false;
		smtpc_tx_lost(c, reply);
		return;
	}
	/* whatever the answer, the transaction is over (RFC 5321 4.1.1.4) */
	c->need_rset = false;
	if (c->aborting) {
		smtpc_tx_finish(c, smtpc_tx_no_rcpt_reply(c), reply->code == 421);
		return;
	}
	for (size_t i = 0; i < c->msg->rcpt_count; i++) {
		struct smtpc_rcpt *rcpt = &c->msg->rcpts[i];
		if (!is_2xx(&rcpt->reply))
			continue;
		rcpt->reply = *reply;
		rcpt->delivered = is_2xx(reply);
	}
	if (reply->code == 421)
		c->in_sync = false;
	smtpc_tx_finish(c, reply, reply->code == 421);
}

void smtpc_tx_lost(struct smtpc *c, const struct smtpc_reply *reply)
{
	bool mail_refused = c->mail_reply.code != 0 && !c->mail_ok;

	for (size_t i = 0; i < c->msg->rcpt_count; i++) {
		struct smtpc_rcpt *rcpt = &c->msg->rcpts[i];
		if (mail_refused)
			rcpt->reply = c->mail_reply;
		else if (i >= c->rcpt_replied || is_2xx(&rcpt->reply))
			rcpt->reply = *reply; /* unanswered, or accepted but not taken */
		rcpt->delivered = false;
	}
	if (c->state != SMTPC_STATE_BROKEN) {
		evtimer_del(c->timer);
		smtpc_set_state(c, SMTPC_STATE_BROKEN);
	}
	smtpc_tx_finish(c, reply, true);
}
