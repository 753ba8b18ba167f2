/* SPDX-License-Identifier: ISC */
/*
 * why-hijack.c - the `why` check for hijack detection (F21): is sending
 * stopped because the account went over its send limits, and if not,
 * how close is it?
 *
 * It reads what SMTP acted on: the hold sendlimit_trip() recorded (when,
 * the figures, the limits, the client addresses) and the same window
 * sendlimit_check() counts, with the same limits (the domain's over the
 * server's), so `why` cannot disagree with the server. It sits before
 * the can-send check in the table: a can-send=no set by hijack detection
 * is explained by its cause, not by the flag.
 */
#include "lib/lib.h"
#include "lib/str.h"
#include "mail/addr.h"
#include "directory/sendlimit.h"
#include "doctor/why-private.h"

#define TIME_TEXT_MAX 32
#define WINDOW_TEXT_MAX 24
#define LIMIT_TEXT_MAX 24
#define MS_PER_SECOND 1000
/* Past this share of a limit the account gets a note. */
#define WHY_SEND_NEAR_PERCENT 80

static bool row_send_limit(const struct why_ctx *ctx, const struct journal_row *r)
{
	return r->account != NULL && strcmp(r->account, ctx->address) == 0 && r->reason != NULL &&
	       str_has_prefix(r->reason, "send.");
}

static void limit_text(uint64_t limit, char *dst, size_t size)
{
	if (limit == 0)
		(void)snprintf(dst, size, "%s", "no limit");
	else
		(void)snprintf(dst, size, "%" PRIu64, limit);
}

/* near - used is at least WHY_SEND_NEAR_PERCENT of a non-zero limit. */
static bool near(uint64_t used, uint64_t limit)
{
	return limit != 0 && used * 100 >= limit * WHY_SEND_NEAR_PERCENT;
}

/* hold_in_force - the hold still explains the account's state: the flag
 * it turned off is still off. */
static bool hold_in_force(const struct why_ctx *ctx, const struct sendlimit_hold *h)
{
	return h->action == SENDLIMIT_SUSPEND ? !ctx->account.can_send : ctx->account.disabled;
}

static void report_hold(struct why_ctx *ctx, struct why_finding *f, const struct sendlimit_hold *h)
{
	char when[TIME_TEXT_MAX], window[WINDOW_TEXT_MAX], lm[LIMIT_TEXT_MAX], lr[LIMIT_TEXT_MAX];
	bool suspend = h->action == SENDLIMIT_SUSPEND;

	why_time_text(h->since_ms / MS_PER_SECOND, when, sizeof(when));
	sendlimit_window_text(h->window_ms, window, sizeof(window));
	limit_text(h->limit_messages, lm, sizeof(lm));
	limit_text(h->limit_recipients, lr, sizeof(lr));
	why_set(f, WHY_PROBLEM, suspend ? SENDLIMIT_REASON_SUSPENDED : SENDLIMIT_REASON_DISABLED,
		"%s by hijack detection at %s: %" PRIu64 " messages / %" PRIu64
		" recipients in %s (limit %s messages / %s recipients)",
		suspend ? "sending suspended" : "account disabled", when, h->messages,
		h->recipients, window, lm, lr);
	why_evidence(f, "tripped-at", "%s", when);
	why_evidence(f, "exceeded", "%s", h->exceeded);
	why_evidence(f, "action", "%s", suspend ? "suspend (can-send=no)" : "disable (disabled=yes)");
	why_evidence(f, "clients", "%s", h->ips[0] != '\0' ? h->ips : "-");
	why_fix(f, "postino user passwd %s --password-stdin (if the password was stolen), then "
		   "postino user set %s %s",
		ctx->address, ctx->address, suspend ? "can-send=yes" : "disabled=no");
}

int why_check_send_limit(struct why_ctx *ctx, struct why_finding *f)
{
	struct sendlimit_params global;
	struct sendlimit_verdict v;
	struct sendlimit_hold h;
	char since[TIME_TEXT_MAX], window[WINDOW_TEXT_MAX], lm[LIMIT_TEXT_MAX], lr[LIMIT_TEXT_MAX];
	int held, over;

	sendlimit_params_from_config(ctx->in->cfg, &global);
	if ((held = sendlimit_hold_get(ctx->db, ctx->address, &h)) < 0 ||
	    (over = sendlimit_check(ctx->db, &global, ctx->address, 0, ctx->in->now_ms, &v)) < 0)
		return -1;
	why_quote_rows(ctx, f, row_send_limit);
	if (held == 1 && hold_in_force(ctx, &h)) {
		report_hold(ctx, f, &h);
		return 0;
	}
	why_time_text(v.since_ms / MS_PER_SECOND, since, sizeof(since));
	sendlimit_window_text(v.limits.window_ms, window, sizeof(window));
	limit_text(v.limits.messages, lm, sizeof(lm));
	limit_text(v.limits.recipients, lr, sizeof(lr));
	why_evidence(f, "sent-in-window", "%" PRIu64 " messages to %" PRIu64 " recipients since %s",
		     v.messages, v.recipients, since);
	why_evidence(f, "limits", "%s messages / %s recipients per %s, then %s", lm, lr, window,
		     sendlimit_action_name(v.limits.action));
	if (held == 2) {
		char lifted[TIME_TEXT_MAX];
		why_time_text(h.lifted_ms / MS_PER_SECOND, lifted, sizeof(lifted));
		why_evidence(f, "last-trip", "%s; allowed again %s", h.reason, lifted);
	}
	if (over > 0) {
		/* not stopped yet, but the next message will stop it */
		why_set(f, WHY_PROBLEM, SENDLIMIT_REASON_LIMITED,
			"at the hijack limit: %" PRIu64 " messages / %" PRIu64
			" recipients in %s (limit %s / %s); its next message will be refused and "
			"sending stopped", v.messages, v.recipients, window, lm, lr);
		why_fix(f, "postino domain set %s send-messages=N send-recipients=N (or raise "
			   "limits.send-messages / limits.send-recipients) if the volume is legitimate",
			addr_domain(ctx->address));
		return 0;
	}
	if (near(v.messages, v.limits.messages) || near(v.recipients, v.limits.recipients)) {
		why_set(f, WHY_NOTE, SENDLIMIT_REASON_LIMITED,
			"close to the hijack limit: %" PRIu64 " messages / %" PRIu64
			" recipients in %s (limit %s / %s)", v.messages, v.recipients, window, lm, lr);
		return 0;
	}
	why_set(f, WHY_OK, NULL,
		"not stopped by hijack detection (%" PRIu64 " messages / %" PRIu64
		" recipients in %s, limit %s / %s)", v.messages, v.recipients, window, lm, lr);
	return 0;
}
