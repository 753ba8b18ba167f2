/* SPDX-License-Identifier: ISC */
/*
 * why-checks.c - the checks of `postino why`, one row each (F31).
 *
 * Each row is a cause from the support articles (../shared/seeds/) that
 * can stop a user logging in, sending or receiving, checked against live
 * state: the directory, screening, the quota files, the queue, the disk,
 * the journal, and the very policy functions the SMTP server calls (so
 * `why` cannot disagree with what the server does). The table is in the
 * order the verdict should cite causes: the root causes first, then the
 * conditions, then what the journal and the queue observed.
 *
 * To add a cause: write a check_* function that fills the finding (see
 * why-private.h for the helpers) and add its row. Filters, DNS and TLS
 * checks of later issues go in the same way.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "mail/addr.h"
#include "core/db.h"
#include "core/reason.h"
#include "core/config.h"
#include "directory/autoreply.h"
#include "directory/expiry.h"
#include "directory/policy.h"
#include "store/quota.h"
#include "doctor/why-private.h"

#include <sys/statvfs.h>

#define TIME_TEXT_MAX 32
#define SIZE_TEXT_MAX 32
#define MS_PER_SECOND 1000
#define SECONDS_PER_DAY 86400
/* A password expiring within this many days is worth a word now, when
 * password.warn-days (the server's own warning) is 0. */
#define WHY_PASSWORD_WARN_DAYS 7
/* A mailbox or domain this full gets a note (store/quota.h warns there too). */
#define WHY_QUOTA_WARN_PERCENT QUOTA_WARN_PERCENT
/* A size refusal in the journal means "full" only while usage is still
 * this high: after a big clean-up it is history, not the state. */
#define WHY_REFUSED_FULL_PERCENT 50
/* Below this much free space deliveries are about to fail... */
#define WHY_DISK_MIN_FREE (64ULL * 1024 * 1024)
/* ... and below this share of the file system it is time to act. */
#define WHY_DISK_LOW_PERCENT 5

/* ---- small helpers ---- */

static void time_text(int64_t seconds, char *dst, size_t size)
{
	why_time_text(seconds, dst, size);
}

static void size_text(uint64_t bytes, char *dst, size_t size)
{
	size_format(bytes, dst, size);
}

/* reason_match - the entry of codes equal to the row's reason (static,
 * so a finding may keep it after the rows are gone), or NULL. */
static const char *reason_match(const struct journal_row *r, const char *const *codes)
{
	for (size_t i = 0; codes[i] != NULL; i++) {
		if (r->reason != NULL && strcmp(r->reason, codes[i]) == 0)
			return codes[i];
	}
	return NULL;
}

static bool reason_is(const struct journal_row *r, const char *const *codes)
{
	return reason_match(r, codes) != NULL;
}

static bool is_account(const struct why_ctx *ctx, const char *s)
{
	return s != NULL && strcmp(s, ctx->address) == 0;
}

/* ---- journal filters ---- */

static const char *const login_failure_codes[] = {
	"policy.auth-failed", "policy.auth-unknown-user", "policy.auth-no-password",
	"policy.auth-locked", "policy.auth-expired",      "policy.auth-disabled",
	"screen.ip-blocked",  NULL,
};

static bool row_login_failure(const struct why_ctx *ctx, const struct journal_row *r)
{
	return is_account(ctx, r->account) && reason_is(r, login_failure_codes);
}

static bool row_login_ok(const struct why_ctx *ctx, const struct journal_row *r)
{
	static const char *const codes[] = { "policy.auth-ok", NULL };
	return is_account(ctx, r->account) && reason_is(r, codes);
}

static bool row_disable(const struct why_ctx *ctx, const struct journal_row *r)
{
	static const char *const codes[] = { "admin.user-disable", "admin.user-enable", NULL };
	return is_account(ctx, r->account) && reason_is(r, codes);
}

static bool row_lock(const struct why_ctx *ctx, const struct journal_row *r)
{
	static const char *const codes[] = { "screen.account-lock", "policy.auth-locked",
					     "screen.unblock", NULL };
	return is_account(ctx, r->account) && reason_is(r, codes);
}

static bool row_ip_block(const struct why_ctx *ctx, const struct journal_row *r)
{
	static const char *const codes[] = { "screen.ip-block", "screen.ip-blocked", NULL };
	return is_account(ctx, r->account) && reason_is(r, codes);
}

static bool row_password(const struct why_ctx *ctx, const struct journal_row *r)
{
	static const char *const codes[] = { "policy.auth-expired", "policy.auth-no-password",
					     "admin.user-passwd", EXPIRY_REASON_SENT,
					     EXPIRY_REASON_FAILED, NULL };
	return is_account(ctx, r->account) && reason_is(r, codes);
}

static bool row_send_refusal(const struct why_ctx *ctx, const struct journal_row *r)
{
	return is_account(ctx, r->actor) && r->decision != NULL &&
	       strcmp(r->decision, "refuse") == 0 && r->reason != NULL &&
	       !str_has_prefix(r->reason, "policy.auth-") && !str_has_prefix(r->reason, "screen.");
}

static bool row_receive_refusal(const struct why_ctx *ctx, const struct journal_row *r)
{
	return is_account(ctx, r->account) && !is_account(ctx, r->actor) && r->decision != NULL &&
	       strcmp(r->decision, "refuse") == 0 && r->reason != NULL &&
	       (str_has_prefix(r->reason, "deliver.") ||
		strcmp(r->reason, "policy.unknown-recipient") == 0 ||
		strcmp(r->reason, "smtp.over-quota-permanent") == 0);
}

static bool row_forward(const struct why_ctx *ctx, const struct journal_row *r)
{
	static const char *const codes[] = { "deliver.forward-no-copy", "deliver.forward", NULL };
	return is_account(ctx, r->account) && reason_is(r, codes);
}

static bool row_autoreply(const struct why_ctx *ctx, const struct journal_row *r)
{
	return is_account(ctx, r->account) && r->reason != NULL &&
	       (str_has_prefix(r->reason, "autoreply.") ||
		strcmp(r->reason, "admin.autoreply-set") == 0 ||
		strcmp(r->reason, "admin.autoreply-off") == 0);
}

static bool row_quota(const struct why_ctx *ctx, const struct journal_row *r)
{
	static const char *const codes[] = { "deliver.over-quota", "deliver.over-messages",
					     "deliver.over-quota-permanent", "deliver.domain-full",
					     "smtp.over-quota-permanent", "notice.quota-warning",
					     NULL };
	return is_account(ctx, r->account) && reason_is(r, codes);
}

static bool row_send_disabled(const struct why_ctx *ctx, const struct journal_row *r)
{
	static const char *const codes[] = { "policy.send-disabled", "policy.send-account-disabled",
					     NULL };
	return (is_account(ctx, r->account) || is_account(ctx, r->actor)) && reason_is(r, codes);
}

static bool row_receive_disabled(const struct why_ctx *ctx, const struct journal_row *r)
{
	static const char *const codes[] = { "deliver.no-receive", NULL };
	return is_account(ctx, r->account) && reason_is(r, codes);
}

/* last_refused - when the newest delivery outcome for the mailbox (a
 * message stored, or refused for one of codes) is a refusal, that row:
 * the mailbox is full for messages like the last one, even when its
 * usage is a little under the limit. NULL otherwise. */
static const struct journal_row *last_refused(const struct why_ctx *ctx,
					      const char *const *codes)
{
	static const char *const stored[] = { "deliver.ok", NULL };

	for (size_t i = ctx->row_count; i-- > 0;) {
		const struct journal_row *r = &ctx->rows[i];
		if (!is_account(ctx, r->account))
			continue;
		if (reason_is(r, stored))
			return NULL;
		if (reason_is(r, codes))
			return r;
	}
	return NULL;
}

static const char *const size_refusal_codes[] = { "deliver.over-quota",
						  "deliver.over-quota-permanent",
						  "smtp.over-quota-permanent", NULL };
static const char *const domain_refusal_codes[] = { "deliver.domain-full", NULL };

/* ---- the mailbox itself ---- */

static int check_mailbox(struct why_ctx *ctx, struct why_finding *f)
{
	char when[TIME_TEXT_MAX];
	struct alias alias;
	const char *domain = addr_domain(ctx->address);
	int ret;

	if (ctx->found) {
		time_text(ctx->account.created_at, when, sizeof(when));
		why_set(f, WHY_OK, NULL, "mailbox %s exists (created %s)", ctx->address, when);
		return 0;
	}
	why_set(f, WHY_PROBLEM, "why.no-account", "there is no mailbox %s", ctx->address);
	if ((ret = policy_domain_is_local(ctx->db, domain)) < 0)
		return -1;
	if (ret == 0) {
		why_evidence(f, "domain", "%s is not a local domain", domain);
		why_fix(f, "postino domain add %s && postino user add %s --password-stdin", domain,
			ctx->address);
		return 0;
	}
	if ((ret = alias_get(ctx->db, ctx->address, &alias)) < 0)
		return -1;
	if (ret > 0) {
		char targets[512] = "";
		for (size_t i = 0; i < alias.target_count && i < WHY_LIST_MAX; i++) {
			if ((i > 0 && str_append(targets, ", ", sizeof(targets)) < 0) ||
			    str_append(targets, alias.targets[i], sizeof(targets)) < 0)
				break;
		}
		/* an alias receives (the rcpt check says where), but has no login */
		f->dirs = WHY_LOGIN | WHY_SEND;
		why_set(f, WHY_PROBLEM, "why.no-account",
			"%s is an alias of %s, not a mailbox: it has no password and cannot log in "
			"or send; its mail goes to the targets", ctx->address, targets);
		why_evidence(f, "alias-targets", "%s", targets);
		why_fix(f, "log in as one of the targets (%s), or postino alias del %s && "
			   "postino user add %s --password-stdin", targets, ctx->address, ctx->address);
		alias_clear(&alias);
		return 0;
	}
	why_fix_from_reason(ctx, f, "why.no-account");
	return 0;
}

static int check_disabled(struct why_ctx *ctx, struct why_finding *f)
{
	const struct account *a = &ctx->account;
	char when[TIME_TEXT_MAX];

	why_quote_rows(ctx, f, row_disable);
	if (!a->disabled) {
		why_set(f, WHY_OK, NULL, "account enabled");
		return 0;
	}
	time_text(a->disabled_at, when, sizeof(when));
	why_set(f, WHY_PROBLEM, "admin.user-disable", "account disabled by %s on %s (reason: %s)",
		a->disabled_by != NULL ? a->disabled_by : "an administrator",
		a->disabled_at != 0 ? when : "an unknown date",
		a->disabled_reason != NULL && a->disabled_reason[0] != '\0' ? a->disabled_reason
									    : "none given");
	why_evidence(f, "disabled", "yes");
	why_evidence(f, "disabled-by", "%s", a->disabled_by != NULL ? a->disabled_by : "-");
	why_evidence(f, "disabled-at", "%s", a->disabled_at != 0 ? when : "-");
	why_evidence(f, "reason", "%s", a->disabled_reason != NULL ? a->disabled_reason : "-");
	why_fix(f, "postino user set %s disabled=no", ctx->address);
	return 0;
}

/* check_domain_accounts - MDaemon's "licence exceeded" disables accounts;
 * postino never does, but an admin reading the seed article will ask. */
static int check_domain_accounts(struct why_ctx *ctx, struct why_finding *f)
{
	const struct domain *d = &ctx->domain;

	if (!ctx->domain_found) {
		why_set(f, WHY_PROBLEM, "directory.unknown", "the mailbox's domain %s is missing",
			ctx->account.domain);
		why_fix(f, "postino domain add %s", ctx->account.domain);
		return 0;
	}
	why_evidence(f, "mailboxes", "%" PRIu64, d->account_count);
	why_evidence(f, "max-accounts", "%" PRIu64 "%s", d->max_accounts,
		     d->max_accounts == 0 ? " (unlimited)" : "");
	if (d->max_accounts == 0 || d->account_count < d->max_accounts) {
		why_set(f, WHY_OK, NULL, "domain %s: %" PRIu64 " mailbox%s%s", d->name,
			d->account_count, d->account_count == 1 ? "" : "es",
			d->max_accounts == 0 ? ", no limit" : " (within max-accounts)");
		return 0;
	}
	/* a note, never a problem: the limit only stops new mailboxes */
	why_set(f, WHY_NOTE, "why.domain-limits",
		"domain %s has %" PRIu64 " mailboxes, its max-accounts is %" PRIu64
		": no new mailbox can be added (existing ones, this one included, keep working)",
		d->name, d->account_count, d->max_accounts);
	why_fix(f, "postino domain set %s max-accounts=%" PRIu64, d->name, d->account_count + 10);
	return 0;
}

static int check_domain_quota(struct why_ctx *ctx, struct why_finding *f)
{
	const struct domain *d = &ctx->domain;
	struct quota_usage u;
	char used[SIZE_TEXT_MAX], limit[SIZE_TEXT_MAX];

	if (!ctx->domain_found || d->quota_bytes == 0) {
		why_set(f, WHY_OK, NULL, "the domain has no total quota");
		return 0;
	}
	if (quota_domain_usage(ctx->in->data_dir, d->name, &u) < 0)
		return -1;
	size_text(u.bytes, used, sizeof(used));
	size_text(d->quota_bytes, limit, sizeof(limit));
	why_evidence(f, "domain-used", "%s (%" PRIu64 " bytes)", used, u.bytes);
	why_evidence(f, "domain-quota", "%s (%" PRIu64 " bytes)", limit, d->quota_bytes);
	if (u.bytes >= d->quota_bytes) {
		why_set(f, WHY_PROBLEM, "deliver.domain-full",
			"domain %s is full: %s used of its %s total quota, so its mailboxes refuse mail",
			d->name, used, limit);
		size_text(d->quota_bytes * 2, limit, sizeof(limit));
		why_fix(f, "postino domain set %s quota=%s (or free space in its mailboxes)", d->name,
			limit);
		return 0;
	}
	const struct journal_row *refused = last_refused(ctx, domain_refusal_codes);
	if (refused != NULL && u.bytes * 100 >= d->quota_bytes * WHY_REFUSED_FULL_PERCENT) {
		char when[TIME_TEXT_MAX];
		time_text(refused->time_ms / MS_PER_SECOND, when, sizeof(when));
		why_set(f, WHY_PROBLEM, "deliver.domain-full",
			"domain %s is full: %s used of its %s total quota, and the last message to "
			"this mailbox (%s) was refused for it", d->name, used, limit, when);
		size_text(d->quota_bytes * 2, limit, sizeof(limit));
		why_fix(f, "postino domain set %s quota=%s (or free space in its mailboxes)", d->name,
			limit);
		return 0;
	}
	if (u.bytes * 100 >= d->quota_bytes * WHY_QUOTA_WARN_PERCENT) {
		why_set(f, WHY_NOTE, "why.domain-limits", "domain %s is almost full: %s of %s", d->name,
			used, limit);
		return 0;
	}
	why_set(f, WHY_OK, NULL, "domain %s: %s used of %s", d->name, used, limit);
	return 0;
}

/* ---- screening (F20) ---- */

static int check_screen_lock(struct why_ctx *ctx, struct why_finding *f)
{
	struct screen_block b;
	char until[TIME_TEXT_MAX], since[TIME_TEXT_MAX], window[SIZE_TEXT_MAX];
	uint64_t count;
	int ret;

	why_quote_rows(ctx, f, row_lock);
	if ((ret = screen_get(ctx->db, SCREEN_KIND_ACCOUNT, ctx->address, ctx->in->now_ms, &b)) < 0)
		return -1;
	if (ret > 0) {
		time_text(b.until_ms / MS_PER_SECOND, until, sizeof(until));
		time_text(b.since_ms / MS_PER_SECOND, since, sizeof(since));
		why_set(f, WHY_PROBLEM, "policy.auth-locked",
			"account locked by screening until %s after %" PRIu64
			" failed logins (from %s): even the right password is refused",
			until, b.failures, b.detail[0] != '\0' ? b.detail : "unknown addresses");
		why_evidence(f, "locked-since", "%s", since);
		why_evidence(f, "locked-until", "%s", until);
		why_evidence(f, "failures", "%" PRIu64, b.failures);
		why_evidence(f, "from", "%s", b.detail);
		why_fix(f, "postino screen unblock %s", ctx->address);
		return 0;
	}
	if (screen_failure_count(ctx->db, SCREEN_KIND_ACCOUNT, ctx->address,
				 ctx->in->now_ms - ctx->screen.account_window_ms, &count) < 0)
		return -1;
	(void)snprintf(window, sizeof(window), "%" PRId64 "m",
		       ctx->screen.account_window_ms / (60 * MS_PER_SECOND));
	why_evidence(f, "failures-counted", "%" PRIu64 " within %s", count, window);
	if (ctx->screen.account_failures == 0)
		why_set(f, WHY_OK, NULL, "not locked (account locking is off: screen.account-failures=0)");
	else
		why_set(f, WHY_OK, NULL, "not locked (%" PRIu64 " of %" PRIu64
			" failed logins counted within %s)", count, ctx->screen.account_failures,
			window);
	return 0;
}

/* check_screen_ip - the addresses this account logged in (or tried) from
 * lately: is any of them blocked? That is how one user's phone with an
 * old password shuts out the whole office behind the same address. */
static int check_screen_ip(struct why_ctx *ctx, struct why_finding *f)
{
	char seen[WHY_LIST_MAX][SCREEN_SUBJECT_MAX];
	size_t nseen = 0, nblocked = 0;
	struct screen_block b, first = { 0 };
	char until[TIME_TEXT_MAX];

	/* newest first: the addresses in use now */
	for (size_t i = ctx->row_count; i-- > 0 && nseen < WHY_LIST_MAX;) {
		const struct journal_row *r = &ctx->rows[i];
		char key[SCREEN_SUBJECT_MAX];
		bool dup = false;
		if (r->ip == NULL || !is_account(ctx, r->account) ||
		    (!row_login_failure(ctx, r) && !row_login_ok(ctx, r)) ||
		    screen_ip_key(r->ip, key, sizeof(key)) < 0)
			continue;
		for (size_t k = 0; k < nseen; k++)
			dup = dup || strcmp(seen[k], key) == 0;
		if (dup)
			continue;
		memcpy(seen[nseen++], key, sizeof(key));
		int ret = screen_get(ctx->db, SCREEN_KIND_IP, key, ctx->in->now_ms, &b);
		if (ret < 0)
			return -1;
		if (ret == 0) {
			why_evidence(f, key, "not blocked");
			continue;
		}
		time_text(b.until_ms / MS_PER_SECOND, until, sizeof(until));
		why_evidence(f, key, "blocked until %s after %" PRIu64 " failed logins (%s)", until,
			     b.failures, b.detail);
		if (nblocked++ == 0)
			first = b;
	}
	why_quote_rows(ctx, f, row_ip_block);
	if (nblocked == 0) {
		if (nseen == 0)
			why_set(f, WHY_OK, NULL, "no login recorded lately, so no address to check");
		else
			why_set(f, WHY_OK, NULL, "none of the %zu addresses it logged in from lately is "
						 "blocked", nseen);
		return 0;
	}
	time_text(first.until_ms / MS_PER_SECOND, until, sizeof(until));
	why_set(f, WHY_PROBLEM, SCREEN_REASON_IP_BLOCKED,
		"the address %s it logs in from is blocked by screening until %s after %" PRIu64
		" failed logins%s",
		first.subject, until, first.failures,
		nblocked > 1 ? " (and others: see the evidence)" : "");
	why_fix(f, "postino screen unblock %s", first.subject);
	return 0;
}

/* ---- the password (F16) ---- */

static int check_password(struct why_ctx *ctx, struct why_finding *f)
{
	const struct account *a = &ctx->account;
	int64_t now = ctx->in->now_ms / MS_PER_SECOND, expires = password_expires_at(a);
	char changed[TIME_TEXT_MAX], at[TIME_TEXT_MAX];

	why_quote_rows(ctx, f, row_password);
	if (a->password_hash == NULL) {
		why_set(f, WHY_PROBLEM, "policy.auth-no-password",
			"no password is set: no login can succeed");
		why_fix(f, "postino user passwd %s --password-stdin", ctx->address);
		return 0;
	}
	time_text(a->password_changed_at, changed, sizeof(changed));
	why_evidence(f, "password-changed", "%s", a->password_changed_at != 0 ? changed : "never");
	why_evidence(f, "password-max-age", "%" PRIu64 " days (%s%s)", a->password_max_age_days,
		     a->password_max_age_days == 0 ? "never expires; " : "",
		     a->password_max_age_own ? "this mailbox's own" : "domain default");
	if (expires == 0) {
		why_set(f, WHY_OK, NULL, "password set%s%s, never expires",
			a->password_changed_at != 0 ? " on " : "",
			a->password_changed_at != 0 ? changed : "");
		return 0;
	}
	time_text(expires, at, sizeof(at));
	why_evidence(f, "password-expires", "%s", at);
	if (password_expired(a, now)) {
		why_set(f, WHY_PROBLEM, "policy.auth-expired",
			"password expired on %s (set %s, password-max-age %" PRIu64
			" days, %s): clients get \"password expired\"",
			at, changed, a->password_max_age_days,
			a->password_max_age_own ? "this mailbox's own" : "the domain's default");
		why_fix(f, "postino user passwd %s --password-stdin (or the user changes it in "
			   "webmail)", ctx->address);
		return 0;
	}
	uint64_t warn_days = ctx->in->cfg->password_warn_days;
	uint64_t days = expiry_days_left(expires, now);
	if (days <= (warn_days != 0 ? warn_days : WHY_PASSWORD_WARN_DAYS)) {
		char warned[TIME_TEXT_MAX + 32];
		if (a->password_warned_at != 0) {
			time_text(a->password_warned_at, at, sizeof(at));
			why_evidence(f, "password-warned", "%s", at);
			(void)snprintf(warned, sizeof(warned), "warned by mail at %s", at);
		} else if (warn_days == 0) {
			(void)snprintf(warned, sizeof(warned), "no warning mail: password.warn-days=0");
		} else {
			(void)snprintf(warned, sizeof(warned), "not warned by mail yet");
		}
		time_text(expires, at, sizeof(at));
		why_set(f, WHY_NOTE, "why.password-expiring",
			"password expires in %" PRIu64 " day%s, on %s; %s", days, days == 1 ? "" : "s",
			at, warned);
		why_fix(f, "postino user passwd %s --password-stdin", ctx->address);
		return 0;
	}
	why_set(f, WHY_OK, NULL, "password set on %s, expires %s", changed, at);
	return 0;
}

/* ---- per-service logins ---- */

static int check_service(struct why_ctx *ctx, struct why_finding *f, bool on, const char *key,
			 const char *what)
{
	if (on) {
		why_set(f, WHY_OK, NULL, "%s login allowed (%s=yes)", what, key);
		return 0;
	}
	why_set(f, WHY_NOTE, "why.service-off",
		"%s login is off (%s=no): clients using %s cannot log in (mail still arrives)", what,
		key, what);
	why_fix(f, "postino user set %s %s=yes", ctx->address, key);
	return 0;
}

static int check_imap(struct why_ctx *ctx, struct why_finding *f)
{
	return check_service(ctx, f, ctx->account.can_imap, "can-imap", "IMAP");
}

static int check_pop3(struct why_ctx *ctx, struct why_finding *f)
{
	return check_service(ctx, f, ctx->account.can_pop3, "can-pop3", "POP3");
}

static int check_webmail(struct why_ctx *ctx, struct why_finding *f)
{
	return check_service(ctx, f, ctx->account.can_webmail, "can-webmail", "webmail");
}

static int check_login_history(struct why_ctx *ctx, struct why_finding *f)
{
	size_t failures = why_quote_rows(ctx, f, row_login_failure);
	const struct journal_row *last_ok = NULL, *last_bad = NULL;
	char when[TIME_TEXT_MAX];

	for (size_t i = 0; i < ctx->row_count; i++) {
		if (row_login_ok(ctx, &ctx->rows[i]))
			last_ok = &ctx->rows[i];
		if (row_login_failure(ctx, &ctx->rows[i]))
			last_bad = &ctx->rows[i];
	}
	if (last_ok != NULL) {
		time_text(last_ok->time_ms / MS_PER_SECOND, when, sizeof(when));
		why_evidence(f, "last-login", "%s from %s (%s)", when,
			     last_ok->ip != NULL ? last_ok->ip : "?", last_ok->service);
	}
	if (failures == 0) {
		why_set(f, WHY_OK, NULL, "no failed login in the journal lately");
		return 0;
	}
	time_text(last_bad->time_ms / MS_PER_SECOND, when, sizeof(when));
	why_set(f, WHY_NOTE, "why.login-failures",
		"%zu failed logins lately, the last on %s from %s (%s)", failures, when,
		last_bad->ip != NULL ? last_bad->ip : "?", last_bad->reason);
	why_fix(f, "find the client with the old password at %s; postino log --account %s "
		   "--reason policy.auth-", last_bad->ip != NULL ? last_bad->ip : "that address",
		ctx->address);
	return 0;
}

/* ---- sending ---- */

/* check_can_send - the question SMTP asks at MAIL FROM (policy_may_send). */
static int check_can_send(struct why_ctx *ctx, struct why_finding *f)
{
	const char *reason;
	int ret = policy_may_send(ctx->db, ctx->address, &reason);

	if (ret < 0)
		return -1;
	why_quote_rows(ctx, f, row_send_disabled);
	if (ret == POLICY_ALLOW) {
		why_set(f, WHY_OK, NULL, "may send (can-send=yes)");
		return 0;
	}
	if (strcmp(reason, "policy.send-disabled") == 0) {
		why_set(f, WHY_PROBLEM, reason,
			"sending is off for this account (can-send=no): it may log in and receive, "
			"but every message it submits is refused");
		why_fix(f, "postino user set %s can-send=yes", ctx->address);
	} else {
		why_set(f, WHY_PROBLEM, reason, "the account may not send (%s)", reason);
		why_fix_from_reason(ctx, f, reason);
	}
	return 0;
}

static int check_send_refusals(struct why_ctx *ctx, struct why_finding *f)
{
	size_t n = why_quote_rows(ctx, f, row_send_refusal);
	const struct journal_row *last;

	if (n == 0) {
		why_set(f, WHY_OK, NULL, "no message from it was refused lately");
		return 0;
	}
	last = &f->rows[f->row_count - 1];
	why_set(f, WHY_NOTE, "why.refusals", "%zu commands of its sessions refused lately, the last "
					     "%s (%s)", n, last->reason,
		last->detail != NULL ? last->detail : last->account != NULL ? last->account : "-");
	why_fix_from_reason(ctx, f, last->reason);
	return 0;
}

/* queue_summary - queued rows of one query: count, oldest, newest error. */
static int queue_summary(struct why_ctx *ctx, struct why_finding *f, const char *where,
			 const char *what)
{
	char *sql = xasprintf("SELECT count(*), min(created_at),"
			      " (SELECT coalesce(last_error, last_reply) FROM queue WHERE %s AND"
			      "  coalesce(last_error, last_reply) IS NOT NULL ORDER BY id DESC LIMIT 1),"
			      " (SELECT state FROM queue WHERE %s ORDER BY id DESC LIMIT 1)"
			      " FROM queue WHERE %s", where, where, where);
	sqlite3_stmt *st = db_prepare(ctx->db, sql);
	char oldest[TIME_TEXT_MAX], *error = NULL, *state = NULL;
	int64_t count = 0, first = 0;
	int rc;

	free(sql);
	sqlite3_bind_text(st, 1, ctx->address, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		count = sqlite3_column_int64(st, 0);
		first = sqlite3_column_int64(st, 1);
		if (sqlite3_column_text(st, 2) != NULL)
			error = xstrdup((const char *)sqlite3_column_text(st, 2));
		if (sqlite3_column_text(st, 3) != NULL)
			state = xstrdup((const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return -1;
	if (count == 0) {
		why_set(f, WHY_OK, NULL, "no message %s waits in the queue", what);
	} else {
		time_text(first, oldest, sizeof(oldest));
		why_evidence(f, "queued", "%" PRId64, count);
		why_evidence(f, "oldest", "%s", oldest);
		why_evidence(f, "state", "%s", state != NULL ? state : "-");
		if (error != NULL)
			why_evidence(f, "last-error", "%s", error);
		why_set(f, WHY_NOTE, "why.queue-held",
			"%" PRId64 " messages %s wait in the queue (state %s, oldest %s)%s%s", count,
			what, state != NULL ? state : "-", oldest, error != NULL ? ": " : "",
			error != NULL ? error : "");
		if (error != NULL)
			why_fix_from_reason(ctx, f, error);
		if (f->fix == NULL)
			why_fix_from_reason(ctx, f, "why.queue-held");
	}
	free(error);
	free(state);
	return 0;
}

static int check_queue_from(struct why_ctx *ctx, struct why_finding *f)
{
	return queue_summary(ctx, f, "account = ?1", "from it");
}

/* ---- receiving ---- */

static int check_can_receive(struct why_ctx *ctx, struct why_finding *f)
{
	why_quote_rows(ctx, f, row_receive_disabled);
	if (ctx->account.can_receive) {
		why_set(f, WHY_OK, NULL, "receives mail (can-receive=yes)");
		return 0;
	}
	why_set(f, WHY_PROBLEM, "deliver.no-receive",
		"receiving is off for this account (can-receive=no): every message to it is "
		"refused");
	why_fix(f, "postino user set %s can-receive=yes", ctx->address);
	return 0;
}

static int check_quota(struct why_ctx *ctx, struct why_finding *f)
{
	const struct account *a = &ctx->account;
	char used[SIZE_TEXT_MAX], limit[SIZE_TEXT_MAX], bigger[SIZE_TEXT_MAX];
	struct quota_usage u;

	why_quote_rows(ctx, f, row_quota);
	if (a->forward_count > 0 && !a->forward_keep_copy) {
		why_set(f, WHY_OK, NULL, "no local copies are kept (forwarded), so no quota applies");
		return 0;
	}
	if (quota_usage(ctx->in->data_dir, a, &u) < 0)
		return -1;
	size_text(u.bytes, used, sizeof(used));
	why_evidence(f, "used", "%s (%" PRIu64 " bytes) in %" PRIu64 " messages", used, u.bytes,
		     u.messages);
	size_text(a->quota_bytes, limit, sizeof(limit));
	why_evidence(f, "quota", "%s", a->quota_bytes == 0 ? "unlimited" : limit);
	why_evidence(f, "max-messages", "%" PRIu64 "%s", a->max_messages,
		     a->max_messages == 0 ? " (unlimited)" : "");
	if (a->quota_bytes > 0 && u.bytes >= a->quota_bytes) {
		size_text(a->quota_bytes * 2, bigger, sizeof(bigger));
		why_set(f, WHY_PROBLEM, "deliver.over-quota",
			"mailbox full: %s used of its %s quota, new mail is refused (senders retry)",
			used, limit);
		why_fix(f, "postino user set %s quota=%s (or delete old mail)", ctx->address, bigger);
		return 0;
	}
	if (a->max_messages > 0 && u.messages >= a->max_messages) {
		why_set(f, WHY_PROBLEM, "deliver.over-messages",
			"mailbox full: %" PRIu64 " messages, its max-messages is %" PRIu64
			", new mail is refused (senders retry)", u.messages, a->max_messages);
		why_fix(f, "postino user set %s max-messages=%" PRIu64 " (or delete old mail)",
			ctx->address, a->max_messages * 2);
		return 0;
	}
	const struct journal_row *refused = last_refused(ctx, size_refusal_codes);
	if (a->quota_bytes > 0 && refused != NULL &&
	    u.bytes * 100 >= a->quota_bytes * WHY_REFUSED_FULL_PERCENT) {
		char when[TIME_TEXT_MAX];
		time_text(refused->time_ms / MS_PER_SECOND, when, sizeof(when));
		size_text(a->quota_bytes * 2, bigger, sizeof(bigger));
		size_text(a->quota_bytes - u.bytes, limit, sizeof(limit));
		const char *code = reason_match(refused, size_refusal_codes);
		why_set(f, WHY_PROBLEM, code,
			"mailbox full: %s used, room for %s more, and the last message to it (%s) "
			"was refused for its size (%s)", used, limit, when, code);
		why_evidence(f, "last-refusal", "%s %s", when,
			     refused->detail != NULL ? refused->detail : refused->reason);
		why_fix(f, "postino user set %s quota=%s (or delete old mail)", ctx->address, bigger);
		return 0;
	}
	if (quota_over_warning(a, &u)) {
		why_set(f, WHY_NOTE, "deliver.quota-warning", "mailbox almost full: %s used of %s, "
			"%" PRIu64 " of %" PRIu64 " messages", used,
			a->quota_bytes == 0 ? "unlimited" : limit, u.messages, a->max_messages);
		why_fix_from_reason(ctx, f, "deliver.over-quota");
		return 0;
	}
	if (a->quota_bytes == 0 && a->max_messages == 0)
		why_set(f, WHY_OK, NULL, "no quota (%s used)", used);
	else
		why_set(f, WHY_OK, NULL, "within quota (%s used of %s, %" PRIu64 " messages)", used,
			a->quota_bytes == 0 ? "unlimited" : limit, u.messages);
	return 0;
}

static int check_forward(struct why_ctx *ctx, struct why_finding *f)
{
	const struct account *a = &ctx->account;
	char targets[512] = "";

	why_quote_rows(ctx, f, row_forward);
	if (a->forward_count == 0) {
		why_set(f, WHY_OK, NULL, "not forwarded");
		return 0;
	}
	for (size_t i = 0; i < a->forward_count && i < WHY_LIST_MAX; i++) {
		if ((i > 0 && str_append(targets, ", ", sizeof(targets)) < 0) ||
		    str_append(targets, a->forward[i], sizeof(targets)) < 0)
			break;
	}
	why_evidence(f, "forward", "%s", targets);
	why_evidence(f, "forward-keep-copy", "%s", a->forward_keep_copy ? "yes" : "no");
	if (a->forward_keep_copy) {
		why_set(f, WHY_OK, NULL, "also forwarded to %s (a copy is kept here)", targets);
		return 0;
	}
	why_set(f, WHY_NOTE, "deliver.forward-no-copy",
		"every message is forwarded to %s and no copy is kept: the mailbox stays empty",
		targets);
	why_fix(f, "postino user set %s forward-keep-copy=yes", ctx->address);
	return 0;
}

static int check_autoreply(struct why_ctx *ctx, struct why_finding *f)
{
	int64_t now = ctx->in->now_ms / MS_PER_SECOND;
	char from[TIME_TEXT_MAX], until[TIME_TEXT_MAX];
	struct autoreply ar;
	int ret;

	why_quote_rows(ctx, f, row_autoreply);
	if ((ret = autoreply_get(ctx->db, ctx->address, &ar)) < 0)
		return -1;
	if (ret == 0) {
		why_set(f, WHY_OK, NULL, "no autoresponder");
		return 0;
	}
	time_text(ar.starts_at, from, sizeof(from));
	time_text(ar.ends_at, until, sizeof(until));
	why_evidence(f, "from", "%s", ar.starts_at != 0 ? from : "(at once)");
	why_evidence(f, "until", "%s", ar.ends_at != 0 ? until : "(until turned off)");
	why_evidence(f, "interval", "%" PRId64 " days", ar.interval / SECONDS_PER_DAY);
	why_evidence(f, "subject", "%s", ar.subject != NULL ? ar.subject : "Auto: <subject>");
	if (autoreply_in_window(&ar, now)) {
		why_set(f, WHY_NOTE, "admin.autoreply-set",
			"autoresponder on%s%s%s%s: each sender gets one automatic reply per %" PRId64
			" days (mail is still delivered)",
			ar.starts_at != 0 ? " since " : "", ar.starts_at != 0 ? from : "",
			ar.ends_at != 0 ? " until " : "", ar.ends_at != 0 ? until : "",
			ar.interval / SECONDS_PER_DAY);
		why_fix(f, "postino autoreply off %s", ctx->address);
	} else {
		why_set(f, WHY_OK, NULL, "autoresponder set but outside its dates (%s to %s)",
			ar.starts_at != 0 ? from : "-", ar.ends_at != 0 ? until : "-");
	}
	autoreply_clear(&ar);
	return 0;
}

/* check_filters - F22-F24 put spam, list and content filters before
 * delivery; until they exist nothing is diverted, and `why` says so
 * rather than leave the admin wondering. */
static int check_filters(struct why_ctx *ctx, struct why_finding *f)
{
	why_set(f, WHY_OK, NULL, "no spam, list or content filter runs in this version: nothing "
				 "is diverted to Junk, deleted or redirected");
	return 0;
}

static int check_receive_refusals(struct why_ctx *ctx, struct why_finding *f)
{
	size_t n = why_quote_rows(ctx, f, row_receive_refusal);
	const struct journal_row *last;
	char words[256], when[TIME_TEXT_MAX];

	if (n == 0) {
		why_set(f, WHY_OK, NULL, "no message to it was refused lately");
		return 0;
	}
	last = &f->rows[f->row_count - 1];
	why_smtp_words(last->reason, words, sizeof(words));
	time_text(last->time_ms / MS_PER_SECOND, when, sizeof(when));
	why_set(f, WHY_NOTE, "why.refusals",
		"%zu messages to it refused lately, the last on %s: %s (\"%s\")", n, when,
		last->reason, words);
	why_fix_from_reason(ctx, f, last->reason);
	return 0;
}

static int check_queue_for(struct why_ctx *ctx, struct why_finding *f)
{
	return queue_summary(ctx, f, "recipient = ?1", "for it");
}

static int check_disk(struct why_ctx *ctx, struct why_finding *f)
{
	struct statvfs vfs;
	uint64_t avail, total;
	char free_text[SIZE_TEXT_MAX], total_text[SIZE_TEXT_MAX];

	if (statvfs(ctx->in->data_dir, &vfs) < 0)
		return -1;
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	size_text(avail, free_text, sizeof(free_text));
	size_text(total, total_text, sizeof(total_text));
	why_evidence(f, "free", "%s of %s", free_text, total_text);
	if (avail < WHY_DISK_MIN_FREE) {
		why_set(f, WHY_PROBLEM, "why.disk-space",
			"the data directory's disk is full: %s free of %s; deliveries fail",
			free_text, total_text);
		why_fix_from_reason(ctx, f, "why.disk-space");
		return 0;
	}
	if (total > 0 && avail * 100 < total * WHY_DISK_LOW_PERCENT) {
		why_set(f, WHY_NOTE, "why.disk-space", "the data directory's disk is almost full: "
			"%s free of %s", free_text, total_text);
		why_fix_from_reason(ctx, f, "why.disk-space");
		return 0;
	}
	why_set(f, WHY_OK, NULL, "%s free on the data directory's disk", free_text);
	return 0;
}

/* ---- the table ---- */

#define L WHY_LOGIN
#define S WHY_SEND
#define R WHY_RECEIVE

const struct why_check why_checks[] = {
	/* the mailbox and who stopped it */
	{ "mailbox", L | S | R, "the address is a mailbox", false, check_mailbox },
	/* before disabled and can-send: when hijack detection set either, the
	 * send verdict names that cause and its figures (why-hijack.c) */
	{ "send-limit", S, "sending is not stopped by hijack detection", true,
	  why_check_send_limit },
	{ "disabled", L | S | R, "the account is not disabled by an administrator", true,
	  check_disabled },
	{ "domain-accounts", L, "the domain is within max-accounts", true, check_domain_accounts },
	/* logging in (and so sending, which needs a login) */
	{ "screen-lock", L | S, "the account is not locked by screening", true, check_screen_lock },
	{ "screen-ip", L | S, "its client addresses are not blocked by screening", true,
	  check_screen_ip },
	{ "password", L | S, "a password is set and not expired", true, check_password },
	{ "can-imap", L, "IMAP login is allowed", true, check_imap },
	{ "can-pop3", L, "POP3 login is allowed", true, check_pop3 },
	{ "can-webmail", L, "webmail login is allowed", true, check_webmail },
	{ "login-history", L | S, "recent logins in the journal", true, check_login_history },
	/* sending */
	{ "can-send", S, "the account may send", true, check_can_send },
	{ "send-refusals", S, "recent refusals of its messages", true, check_send_refusals },
	{ "queue-from", S, "its messages waiting in the queue", true, check_queue_from },
	/* receiving */
	{ "can-receive", R, "the account may receive", true, check_can_receive },
	{ "quota", R, "the mailbox is within its quota", true, check_quota },
	{ "domain-quota", R, "the domain is within its total quota", true, check_domain_quota },
	{ "rcpt", R, "a message to it would be accepted now (the SMTP server's own policy)", false,
	  why_check_rcpt },
	{ "forward", R, "mail is kept here, not only forwarded", true, check_forward },
	{ "autoreply", R, "the autoresponder", true, check_autoreply },
	{ "filters", R, "no filter diverts its mail", true, check_filters },
	{ "receive-refusals", R, "recent refusals of mail to it", true, check_receive_refusals },
	{ "queue-for", R, "mail for it waiting in the queue", true, check_queue_for },
	{ "disk", S | R, "the server has disk space", false, check_disk },
};

#undef L
#undef S
#undef R

const size_t why_checks_count = N_ELEMENTS(why_checks);
