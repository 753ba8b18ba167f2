/* SPDX-License-Identifier: ISC */
/*
 * cmd-mail.c - MAIL FROM (RFC 5321 4.1.1.2) with SIZE (RFC 1870), BODY
 * (RFC 6152), SMTPUTF8 (RFC 6531), RET/ENVID (RFC 3461) and AUTH= (RFC
 * 4954 5), and the submission sender rules (asked of policy.c).
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "core/dbpool.h"
#include "directory/policy.h"
#include "smtp/smtp-hijack.h"
#include "smtp/smtp-private.h"

#define MAIL_POOL_SIZE 1024

/* mail_policy - the sender rules for this session; -1 = refused. */
static int mail_policy(struct smtp_session *s, const struct smtp_path_cmd *mail)
{
	struct db *db = dbpool_get();
	struct policy_client client = { .mx = !smtp_is_submission(s), .account = s->account };
	const char *reason = NULL;
	int ret;

	if (db == NULL) {
		smtp_refuse(s, POLICY_REASON_TEMPFAIL, NULL, "no database");
		return -1;
	}
	if (s->account != NULL) {
		if ((ret = policy_may_send(db, s->account, &reason)) == POLICY_ALLOW)
			ret = policy_mail_from(db, &client, &mail->path, &reason);
	} else {
		ret = policy_mail_from(db, &client, &mail->path, &reason);
	}
	if (ret < 0) {
		smtp_refuse(s, POLICY_REASON_TEMPFAIL, NULL, "directory lookup failed");
		return -1;
	}
	if (ret == POLICY_DENY) {
		char detail[300];
		(void)snprintf(detail, sizeof(detail), "from=<%.250s>", mail->path.addr);
		smtp_refuse(s, reason, s->account, detail);
		return -1;
	}
	/* hijack detection (F21): over its window the answer comes later */
	if (s->account != NULL && smtp_hijack_mail(s, db) != 0)
		return -1;
	return 0;
}

int cmd_mail_check(struct smtp_session *s, const char *args)
{
	struct pool *pool = pool_new(MAIL_POOL_SIZE);
	struct smtp_path_cmd mail;
	struct mail_error error;
	int ret = -1;

	if (smtp_cmd_parse_mail(pool, args, s->ext, &mail, &error) < 0) {
		smtp_reply_error(s, &error, "smtp.syntax");
		goto out;
	}
	if ((mail.params.given & SMTP_PARAM_SIZE) &&
	    mail.params.size > s->cfg->smtp_max_message_size) {
		char detail[64];
		(void)snprintf(detail, sizeof(detail), "SIZE=%" PRIu64, mail.params.size);
		smtp_refuse(s, "smtp.message-too-big", s->account, detail);
		goto out;
	}
	if (mail_policy(s, &mail) < 0)
		goto out;
	ret = 0;
out:
	pool_free(&pool);
	return ret;
}

void cmd_mail_proceed(struct smtp_session *s, const char *args)
{
	struct smtp_tx *tx = smtp_tx_new(s);
	struct smtp_path_cmd mail;
	struct mail_error error;

	/* parsed again into the transaction's pool: check already passed it */
	if (smtp_cmd_parse_mail(tx->pool, args, s->ext, &mail, &error) < 0)
		panic("smtp: MAIL arguments changed between check and proceed");
	tx->from = mail.path.addr;
	tx->mail = mail.params;
	s->tx = tx;
	smtp_set_state(s, SMTP_STATE_MAIL);
	log_debug("smtp mail sid=%s id=%s from=<%s>", s->sid, tx->id, tx->from);
	smtp_reply(s, "250 2.1.0 Sender OK");
}
