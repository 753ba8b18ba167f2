/* SPDX-License-Identifier: ISC */
/*
 * expiry.c - who is owed a "your password expires soon" mail, and its text
 * (F16).
 *
 * One warning per password: accounts.password_warned_at is set when the
 * mail is claimed (before it is sent, so two looks cannot both send it),
 * cleared again if the sending failed, and cleared by every new password
 * (account_set_password). A password that has already expired gets no
 * warning: its owner can no longer log in to read it, and `postino why`
 * and the login refusal itself say what happened.
 */
#include "lib/lib.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "mail/date.h"
#include "core/reason.h"
#include "directory/directory-private.h"
#include "directory/expiry.h"

#define TIME_TEXT_MAX 32

uint64_t expiry_days_left(int64_t expires_at, int64_t now)
{
	if (expires_at <= now)
		return 0;
	/* no overflow: both are real times, far from INT64_MAX */
	return (uint64_t)((expires_at - now + EXPIRY_SECONDS_PER_DAY - 1) / EXPIRY_SECONDS_PER_DAY);
}

bool expiry_warn_due(const struct account *a, int64_t now, uint64_t warn_days)
{
	int64_t expires = password_expires_at(a);

	if (warn_days == 0 || expires == 0 || a->password_hash == NULL || a->disabled ||
	    !a->can_receive || a->password_warned_at != 0 || now >= expires)
		return false;
	return expiry_days_left(expires, now) <= warn_days;
}

int expiry_due_list(struct db *db, int64_t now, uint64_t warn_days, struct account **accounts_r,
		    size_t *count_r)
{
	struct account *all, *due = NULL;
	size_t count, n = 0;

	*accounts_r = NULL;
	*count_r = 0;
	if (warn_days == 0)
		return 0;
	/* every mailbox, once per password.warn-interval (a day): the rule
	 * stays in one C function rather than a second copy in SQL */
	if (account_list(db, NULL, &all, &count) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		if (!expiry_warn_due(&all[i], now, warn_days))
			continue;
		due = xrealloc(due, (n + 1) * sizeof(*due));
		due[n++] = all[i];
		memset(&all[i], 0, sizeof(all[i])); /* moved */
	}
	accounts_free(&all, count);
	*accounts_r = due;
	*count_r = n;
	return 0;
}

int expiry_claim(struct db *db, const struct account *a, int64_t now)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE accounts SET password_warned_at = ?1"
					  " WHERE id = ?2 AND password_warned_at IS NULL"
					  " AND password_changed_at = ?3");

	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, a->id);
	sqlite3_bind_int64(st, 3, a->password_changed_at);
	if (dir_step_done(st) < 0)
		return -1;
	return sqlite3_changes(db->sql) > 0 ? 1 : 0;
}

int expiry_unclaim(struct db *db, const struct account *a)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE accounts SET password_warned_at = NULL"
					  " WHERE id = ?1 AND password_changed_at = ?2");

	sqlite3_bind_int64(st, 1, a->id);
	sqlite3_bind_int64(st, 2, a->password_changed_at);
	return dir_step_done(st);
}

char *expiry_notice_compose(const struct account *a, int64_t now, const char *hostname,
			    size_t *len_r)
{
	const struct reason *r = reason_lookup("policy.auth-expired");
	int64_t expires = password_expires_at(a);
	uint64_t days = expiry_days_left(expires, now);
	char date[DATE_TEXT_MAX], when[DATE_TEXT_MAX], iso[TIME_TEXT_MAX];
	char *policy, *msg;

	if (date_format(now, 0, date, sizeof(date)) < 0)
		date[0] = '\0';
	if (date_format(expires, 0, when, sizeof(when)) < 0)
		when[0] = '\0';
	time_format_iso(expires, iso, sizeof(iso));
	if (a->password_max_age_own)
		policy = xasprintf("Passwords of this mailbox must be changed every %" PRIu64
				   " days.", a->password_max_age_days);
	else
		policy = xasprintf("Passwords of %s must be changed every %" PRIu64 " days.",
				   a->domain, a->password_max_age_days);
	/* the Message-ID names the password it warns about: a retry after a
	 * failed send is the same message */
	msg = xasprintf(
		"From: Mail System <postmaster@%s>\r\nTo: <%s>\r\nDate: %s\r\n"
		"Subject: Your password expires in %" PRIu64 " day%s\r\n"
		"Message-ID: <pwexpiry.%" PRId64 ".%" PRId64 "@%s>\r\n"
		"Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n\r\n"
		"The password of your mailbox %s expires in %" PRIu64 " day%s,\r\n"
		"on %s (%s).\r\n\r\n"
		"Change it before then in your mail program or webmail. If you cannot,\r\n"
		"ask your administrator, who sets a new one with:\r\n\r\n"
		"  postino user passwd %s --password-stdin\r\n\r\n"
		"Once it has expired, every login (reading mail with IMAP or POP3, and\r\n"
		"sending) is refused with:\r\n\r\n"
		"  %s\r\n\r\n"
		"%s\r\n",
		hostname, a->address, date, days, days == 1 ? "" : "s", a->id,
		a->password_changed_at, hostname, a->address, days, days == 1 ? "" : "s", when, iso,
		a->address, r != NULL ? r->text : "password expired", policy);
	free(policy);
	*len_r = strlen(msg);
	return msg;
}
