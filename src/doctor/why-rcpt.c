/* SPDX-License-Identifier: ISC */
/*
 * why-rcpt.c - the `rcpt` check of `postino why`: what would happen to a
 * message from SENDER (--from, or any server) to the mailbox right now.
 *
 * It asks the questions the SMTP server asks, through the same functions
 * (policy_may_send and policy_send_limit for a local sender, then
 * policy_mail_from and policy_rcpt), never a copy of their rules, so the
 * answer is the reply a client would get: `why` cannot drift from the
 * server.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "mail/addr.h"
#include "core/config.h"
#include "directory/policy.h"
#include "doctor/why-private.h"

/* The sender assumed when --from is not given: any server on the
 * Internet (RFC 2606 reserves .invalid). */
#define WHY_ANY_SENDER "someone@example.invalid"

/* rcpt_client - how the message would arrive: a local sender submits it
 * through its account (what a mail client does), anyone else through
 * the MX port. */
static int rcpt_client(struct why_ctx *ctx, struct why_finding *f, const char *sender,
		       struct policy_client *client_r, struct account *sender_r, bool *denied_r)
{
	const char *reason;
	int ret;

	*denied_r = false;
	if ((ret = account_get(ctx->db, sender, sender_r)) <= 0)
		return ret; /* the world: client_r stays the MX client */
	client_r->mx = false;
	client_r->account = sender_r->address;
	why_evidence(f, "path", "submitted by the mailbox %s (port 587/465)", sender_r->address);
	if ((ret = policy_may_send(ctx->db, sender_r->address, &reason)) == POLICY_ALLOW)
		ret = policy_send_limit(ctx->db, sender_r->address, 1, &reason);
	if (ret < 0)
		return -1;
	if (ret == POLICY_DENY) {
		char words[256];
		why_smtp_words(reason, words, sizeof(words));
		why_set(f, WHY_PROBLEM, reason,
			"a message from %s would be refused before it is sent: the sender may not "
			"send (\"%s\")", sender_r->address, words);
		why_fix_from_reason(ctx, f, reason);
		*denied_r = true;
	}
	return 1;
}

static void rcpt_dests_evidence(struct why_finding *f, const struct policy_rcpt_result *r,
				char *dst, size_t size)
{
	dst[0] = '\0';
	for (size_t i = 0; i < r->dest_count && i < WHY_LIST_MAX; i++) {
		const struct policy_dest *d = &r->dests[i];
		char item[2 * SCREEN_SUBJECT_MAX + 64];
		if (d->local && d->account.forward_count > 0)
			/* delivery forwards it (store/deliver.c): say where */
			(void)snprintf(item, sizeof(item), "%s (mailbox, forwarded to %s%s%s)",
				       d->address, d->account.forward[0],
				       d->account.forward_count > 1 ? " and others" : "",
				       d->account.forward_keep_copy ? "" : ", no copy kept");
		else
			(void)snprintf(item, sizeof(item), "%s%s", d->address,
				       d->local ? " (mailbox)" : " (remote: outbound queue)");
		if ((i > 0 && str_append(dst, ", ", size) < 0) || str_append(dst, item, size) < 0)
			break;
	}
	why_evidence(f, "destinations", "%s", dst);
}

/* check_rcpt - what would happen to a message from --from (or from any
 * server) to this address right now: policy_rcpt, the function the SMTP
 * server's RCPT TO runs, not a copy of its rules. */
int why_check_rcpt(struct why_ctx *ctx, struct why_finding *f)
{
	const char *sender = ctx->in->from != NULL ? ctx->in->from : WHY_ANY_SENDER;
	struct policy_client client = {
		.mx = true,
		.data_dir = ctx->in->data_dir,
		.quota_temporary = ctx->in->cfg->smtp_quota_temporary,
		.size_hint = 1, /* a message is never empty: at a full quota nothing fits */
	};
	struct pool *pool = pool_new(1024);
	struct addr_path to, from;
	struct mail_error error;
	struct policy_rcpt_result result;
	struct account sender_account = { 0 };
	const char *end, *reason;
	char dests[1024], words[256];
	bool denied;
	int ret = -1;

	if (addr_parse_path(pool, p_printf(pool, "<%s>", ctx->address), ADDR_PATH_OPT_UTF8, &to,
			    &end, &error) < 0) {
		why_set(f, WHY_PROBLEM, "smtp.syntax", "the address is not valid in SMTP: %s",
			error.text);
		ret = 0;
		goto out;
	}
	if (addr_parse_path(pool, p_printf(pool, "<%s>", sender), ADDR_PATH_OPT_REVERSE |
			    ADDR_PATH_OPT_UTF8, &from, &end, &error) < 0) {
		why_set(f, WHY_SKIPPED, NULL, "--from %s is not a valid sender: %s", sender,
			error.text);
		ret = 0;
		goto out;
	}
	why_evidence(f, "from", "%s%s", sender, ctx->in->from == NULL ? " (any server)" : "");
	if ((ret = rcpt_client(ctx, f, from.addr, &client, &sender_account, &denied)) < 0)
		goto out;
	if (ret == 0)
		why_evidence(f, "path", "from another server (port 25)");
	if (denied) {
		ret = 0;
		goto out;
	}
	if ((ret = policy_mail_from(ctx->db, &client, &from, &reason)) < 0)
		goto out;
	if (ret == POLICY_DENY) {
		why_smtp_words(reason, words, sizeof(words));
		why_set(f, WHY_PROBLEM, reason, "a message from %s would be refused at MAIL FROM "
						"(\"%s\")", sender, words);
		why_fix_from_reason(ctx, f, reason);
		ret = 0;
		goto out;
	}
	if ((ret = policy_rcpt(ctx->db, &client, &to, &result)) < 0)
		goto out;
	if (ret == POLICY_DENY) {
		why_smtp_words(result.reason, words, sizeof(words));
		if (result.detail[0] != '\0')
			why_evidence(f, "detail", "%s", result.detail);
		why_set(f, WHY_PROBLEM, result.reason,
			"a message from %s would be refused at RCPT TO with \"%s\" (%s)", sender,
			words, result.reason);
		why_fix_from_reason(ctx, f, result.reason);
	} else {
		rcpt_dests_evidence(f, &result, dests, sizeof(dests));
		why_set(f, WHY_OK, NULL, "a small message from %s would be accepted now and go to "
					 "%s", sender, dests);
	}
	policy_rcpt_clear(&result);
	ret = 0;
out:
	account_clear(&sender_account);
	pool_free(&pool);
	return ret;
}
