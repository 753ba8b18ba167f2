/* SPDX-License-Identifier: ISC */
/*
 * sendlimit.c - hijack detection (F21): sliding-window send limits per
 * account, the trip that stops the account, and the postmaster's notice.
 *
 * The window is counted over send_log rather than kept in memory, so it
 * survives a restart, holds across the daemon's sessions and threads,
 * and `postino why` reads the very figures SMTP acted on. A trip is one
 * BEGIN IMMEDIATE transaction (the hold, the account change, the journal
 * row), so two sessions of a hijacked account that cross the limit
 * together stop it once and notify once. See sendlimit.h for the flow.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"
#include "lib/time.h"
#include "mail/addr.h"
#include "mail/date.h"
#include "core/config.h"
#include "core/journal.h"
#include "directory/directory-private.h"
#include "directory/sendlimit.h"

#include <time.h>
#include <unistd.h>

#define MS_PER_SECOND 1000
#define TIME_TEXT_MAX 32
#define WINDOW_TEXT_MAX 24
/* The journal row's detail: the reason line and the client addresses. */
#define TRIP_DETAIL_MAX (SENDLIMIT_REASON_TEXT_MAX + SENDLIMIT_IPS_TEXT_MAX + 16)

static const char *const action_names[] = {
	[SENDLIMIT_SUSPEND] = "suspend",
	[SENDLIMIT_DISABLE] = "disable",
};

int64_t sendlimit_now_ms(void)
{
	return time_now_ms();
}

void sendlimit_params_from_config(const struct config *cfg, struct sendlimit_params *params_r)
{
	params_r->messages = cfg->send_messages;
	params_r->recipients = cfg->send_recipients;
	params_r->window_ms = (int64_t)cfg->send_window * MS_PER_SECOND;
	params_r->action = strcmp(cfg->send_action, "disable") == 0 ? SENDLIMIT_DISABLE
								      : SENDLIMIT_SUSPEND;
}

const char *sendlimit_action_name(enum sendlimit_action action)
{
	return action_names[action];
}

void sendlimit_window_text(int64_t window_ms, char *dst, size_t size)
{
	static const struct {
		char unit;
		int64_t secs;
	} units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 } };
	int64_t secs = window_ms / MS_PER_SECOND;

	for (size_t i = 0; i < N_ELEMENTS(units); i++) {
		if (secs > 0 && secs % units[i].secs == 0) {
			(void)snprintf(dst, size, "%" PRId64 "%c", secs / units[i].secs, units[i].unit);
			return;
		}
	}
	(void)snprintf(dst, size, "%" PRId64 "s", secs);
}

/* ---- the window ---- */

int sendlimit_domain_get(struct db *db, const char *domain, int64_t *messages_r,
			 int64_t *recipients_r)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT coalesce(send_messages, -1),"
					  " coalesce(send_recipients, -1) FROM domains WHERE name = ?1");
	int rc;

	*messages_r = *recipients_r = -1;
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*messages_r = sqlite3_column_int64(st, 0);
		*recipients_r = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* window_start - the window's first instant: now - window, or the moment
 * the admin last let the account send again when that is later. */
static int window_start(struct db *db, const char *account, int64_t now_ms, int64_t window_ms,
			int64_t *since_r)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT coalesce(max(lifted_ms), 0) FROM send_holds"
					  " WHERE account = ?1");
	int64_t lifted;

	sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
	if (dir_query_int(st, &lifted) < 0)
		return -1;
	*since_r = now_ms - window_ms > lifted ? now_ms - window_ms : lifted;
	return 0;
}

int sendlimit_check(struct db *db, const struct sendlimit_params *global, const char *account,
		    unsigned tx_rcpts, int64_t now_ms, struct sendlimit_verdict *verdict_r)
{
	struct sendlimit_verdict *v = verdict_r;
	int64_t dom_messages, dom_recipients;
	sqlite3_stmt *st;
	int rc;

	memset(v, 0, sizeof(*v));
	v->limits = *global;
	v->now_ms = now_ms;
	if (sendlimit_domain_get(db, addr_domain(account), &dom_messages, &dom_recipients) < 0)
		return -1;
	if (dom_messages >= 0)
		v->limits.messages = (uint64_t)dom_messages;
	if (dom_recipients >= 0)
		v->limits.recipients = (uint64_t)dom_recipients;
	if (window_start(db, account, now_ms, v->limits.window_ms, &v->since_ms) < 0)
		return -1;
	st = db_prepare(db, "SELECT count(*), coalesce(sum(recipients), 0) FROM send_log"
			    " WHERE account = ?1 AND time_ms > ?2");
	sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, v->since_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		v->messages = (uint64_t)sqlite3_column_int64(st, 0);
		v->recipients = (uint64_t)sqlite3_column_int64(st, 1) + tx_rcpts;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return -1;
	/* one more is allowed while the count is below the limit: a limit
	 * of 200 lets the 200th message through and stops the 201st */
	if (v->limits.messages != 0 && v->messages >= v->limits.messages)
		v->exceeded = "messages";
	else if (v->limits.recipients != 0 && v->recipients >= v->limits.recipients)
		v->exceeded = "recipients";
	return v->exceeded != NULL ? 1 : 0;
}

/* ---- the trip ---- */

static void hold_read(sqlite3_stmt *st, struct sendlimit_hold *h)
{
	const char *text;

	memset(h, 0, sizeof(*h));
	text = (const char *)sqlite3_column_text(st, 0);
	h->action = text != NULL && strcmp(text, "disable") == 0 ? SENDLIMIT_DISABLE
								   : SENDLIMIT_SUSPEND;
	h->since_ms = sqlite3_column_int64(st, 1);
	h->lifted_ms = sqlite3_column_int64(st, 2);
	if ((text = (const char *)sqlite3_column_text(st, 3)) != NULL)
		(void)snprintf(h->exceeded, sizeof(h->exceeded), "%s", text);
	h->messages = (uint64_t)sqlite3_column_int64(st, 4);
	h->recipients = (uint64_t)sqlite3_column_int64(st, 5);
	h->limit_messages = (uint64_t)sqlite3_column_int64(st, 6);
	h->limit_recipients = (uint64_t)sqlite3_column_int64(st, 7);
	h->window_ms = sqlite3_column_int64(st, 8) * MS_PER_SECOND;
	if ((text = (const char *)sqlite3_column_text(st, 9)) != NULL)
		(void)snprintf(h->ips, sizeof(h->ips), "%s", text);
	if ((text = (const char *)sqlite3_column_text(st, 10)) != NULL)
		(void)snprintf(h->reason, sizeof(h->reason), "%s", text);
}

int sendlimit_hold_get(struct db *db, const char *account, struct sendlimit_hold *hold_r)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT action, since_ms, coalesce(lifted_ms, 0),"
					  " exceeded, messages, recipients, limit_messages,"
					  " limit_recipients, window_s, ips, reason"
					  " FROM send_holds WHERE account = ?1");
	int rc, ret = 0;

	memset(hold_r, 0, sizeof(*hold_r));
	sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		hold_read(st, hold_r);
		ret = hold_r->lifted_ms == 0 ? 1 : 2;
	} else if (rc != SQLITE_DONE) {
		ret = -1;
	}
	sqlite3_finalize(st);
	return ret;
}

/* trip_ips - the client addresses of the account's accepted messages in
 * the window, busiest first, from the journal (smtp.accepted rows carry
 * the session's address), and ip (this attempt's) when it is not one. */
static int trip_ips(struct db *db, const char *account, int64_t since_ms, const char *ip,
		    char *dst, size_t size)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT ip, count(*) AS n FROM journal"
					  " WHERE account = ?1 AND time_ms > ?2"
					  " AND reason = 'smtp.accepted' AND ip IS NOT NULL"
					  " GROUP BY ip ORDER BY n DESC, ip LIMIT ?3");
	bool ip_seen = ip == NULL;
	char item[96];
	int rc;

	dst[0] = '\0';
	sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, since_ms);
	sqlite3_bind_int(st, 3, SENDLIMIT_IPS_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *addr = (const char *)sqlite3_column_text(st, 0);
		if (ip != NULL && strcmp(addr, ip) == 0)
			ip_seen = true;
		(void)snprintf(item, sizeof(item), "%s%.64s x%" PRId64, dst[0] != '\0' ? ", " : "",
			       addr, (int64_t)sqlite3_column_int64(st, 1));
		if (str_append(dst, item, size) < 0)
			break;
	}
	sqlite3_finalize(st);
	if (!ip_seen) {
		(void)snprintf(item, sizeof(item), "%s%.64s (the refused attempt)",
			       dst[0] != '\0' ? ", " : "", ip);
		if (str_append(dst, item, size) < 0)
			log_warn("sendlimit: client list of %s cut", account);
	}
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* trip_reason - the one line `user show`, `why` and the journal print. */
static void trip_reason(const struct sendlimit_verdict *v, char *dst, size_t size)
{
	char when[TIME_TEXT_MAX], window[WINDOW_TEXT_MAX], lm[24], lr[24];

	time_format_iso(v->now_ms / MS_PER_SECOND, when, sizeof(when));
	sendlimit_window_text(v->limits.window_ms, window, sizeof(window));
	if (v->limits.messages != 0)
		(void)snprintf(lm, sizeof(lm), "%" PRIu64, v->limits.messages);
	else
		(void)snprintf(lm, sizeof(lm), "%s", "no limit");
	if (v->limits.recipients != 0)
		(void)snprintf(lr, sizeof(lr), "%" PRIu64, v->limits.recipients);
	else
		(void)snprintf(lr, sizeof(lr), "%s", "no limit");
	(void)snprintf(dst, size,
		       "hijack detection at %s: %" PRIu64 " messages / %" PRIu64
		       " recipients in %s (limit %s messages / %s recipients)",
		       when, v->messages, v->recipients, window, lm, lr);
}

static int hold_write(struct db *db, const char *account, const struct sendlimit_hold *h)
{
	sqlite3_stmt *st = db_prepare(db, "INSERT OR REPLACE INTO send_holds (account, action,"
					  " since_ms, lifted_ms, exceeded, messages, recipients,"
					  " limit_messages, limit_recipients, window_s, ips, reason)"
					  " VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");

	sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, sendlimit_action_name(h->action), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, h->since_ms);
	sqlite3_bind_text(st, 4, h->exceeded, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)h->messages);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)h->recipients);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)h->limit_messages);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)h->limit_recipients);
	sqlite3_bind_int64(st, 9, h->window_ms / MS_PER_SECOND);
	sqlite3_bind_text(st, 10, h->ips, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 11, h->reason, -1, SQLITE_TRANSIENT);
	return dir_step_done(st);
}

/* account_stop - can-send=no, or disabled with the trip as its reason. */
static int account_stop(struct db *db, const char *account, const struct sendlimit_hold *h)
{
	sqlite3_stmt *st;

	if (h->action == SENDLIMIT_SUSPEND) {
		st = db_prepare(db, "UPDATE accounts SET can_send = 0 WHERE address = ?1");
	} else {
		st = db_prepare(db, "UPDATE accounts SET disabled = 1, disabled_reason = ?2,"
				    " disabled_at = ?3, disabled_by = ?4"
				    " WHERE address = ?1 AND disabled = 0");
		sqlite3_bind_text(st, 2, h->reason, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, h->since_ms / MS_PER_SECOND);
		sqlite3_bind_text(st, 4, SENDLIMIT_ACTOR, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
	return dir_step_done(st);
}

int sendlimit_trip(struct db *db, const char *account, const struct sendlimit_verdict *verdict,
		   const char *ip, const char *sid, struct sendlimit_hold *hold_r)
{
	struct sendlimit_hold *h = hold_r;
	char detail[TRIP_DETAIL_MAX];
	int ret;

	if (db_begin(db) < 0)
		return -1;
	/* a hold in force: another attempt (or session) tripped it already */
	if ((ret = sendlimit_hold_get(db, account, h)) != 0 && ret != 2) {
		db_rollback(db);
		return ret < 0 ? -1 : 0;
	}
	memset(h, 0, sizeof(*h));
	h->action = verdict->limits.action;
	h->since_ms = verdict->now_ms;
	(void)snprintf(h->exceeded, sizeof(h->exceeded), "%s",
		       verdict->exceeded != NULL ? verdict->exceeded : "messages");
	h->messages = verdict->messages;
	h->recipients = verdict->recipients;
	h->limit_messages = verdict->limits.messages;
	h->limit_recipients = verdict->limits.recipients;
	h->window_ms = verdict->limits.window_ms;
	trip_reason(verdict, h->reason, sizeof(h->reason));
	if (trip_ips(db, account, verdict->since_ms, ip, h->ips, sizeof(h->ips)) < 0 ||
	    hold_write(db, account, h) < 0 || account_stop(db, account, h) < 0)
		goto fail;
	(void)snprintf(detail, sizeof(detail), "%s; clients: %s", h->reason,
		       h->ips[0] != '\0' ? h->ips : "-");
	struct journal_entry e = {
		.time_ms = verdict->now_ms,
		.service = "smtp",
		.decision = h->action == SENDLIMIT_SUSPEND ? "suspend" : "disable",
		.reason = h->action == SENDLIMIT_SUSPEND ? SENDLIMIT_REASON_SUSPENDED
							 : SENDLIMIT_REASON_DISABLED,
		.actor = SENDLIMIT_ACTOR,
		.ip = ip,
		.account = account,
		.sid = sid,
		.detail = detail,
	};
	if (journal_add(db, &e) < 0 || db_commit(db) < 0)
		goto fail;
	log_warn("sendlimit: %s %s: %s; clients: %s", account,
		 h->action == SENDLIMIT_SUSPEND ? "suspended" : "disabled", h->reason, h->ips);
	return 1;
fail:
	log_error("sendlimit: cannot stop %s: %s", account, db_errmsg(db));
	db_rollback(db);
	return -1;
}

/* ---- the notice ---- */

char *sendlimit_postmaster(struct db *db, const char *account, const char *configured,
			   const char *hostname)
{
	char *pm = xasprintf("postmaster@%s", addr_domain(account));
	struct account a;
	struct alias alias;
	int ret;

	if ((ret = account_get(db, pm, &a)) > 0)
		account_clear(&a);
	else if (ret == 0 && (ret = alias_resolve(db, pm, &alias)) > 0)
		alias_clear(&alias);
	if (ret > 0)
		return pm;
	free(pm);
	if (configured != NULL && configured[0] != '\0')
		return xstrdup(configured);
	return xasprintf("postmaster@%s", hostname);
}

char *sendlimit_notice(const char *account, const struct sendlimit_hold *hold, const char *to,
		       const char *hostname, size_t *len_r)
{
	bool suspend = hold->action == SENDLIMIT_SUSPEND;
	char date[DATE_TEXT_MAX], when[TIME_TEXT_MAX], window[WINDOW_TEXT_MAX];
	int64_t t = hold->since_ms / MS_PER_SECOND;
	char *msg;

	if (date_format(t, 0, date, sizeof(date)) < 0)
		date[0] = '\0';
	time_format_iso(t, when, sizeof(when));
	sendlimit_window_text(hold->window_ms, window, sizeof(window));
	msg = xasprintf(
		"From: Mail System <MAILER-DAEMON@%s>\r\nTo: <%s>\r\nDate: %s\r\n"
		"Subject: %s %s: too many messages in a short time\r\n"
		"Message-ID: <hijack.%" PRId64 ".%ld@%s>\r\n"
		"Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n\r\n"
		"Hijack detection stopped %s at %s.\r\n\r\n"
		"In %s it submitted %" PRIu64 " messages to %" PRIu64 " recipients.\r\n"
		"The limits are %" PRIu64 " messages and %" PRIu64 " recipients (0 = no limit);\r\n"
		"the %s limit was reached.\r\n"
		"Client addresses: %s\r\n\r\n"
		"%s\r\n\r\n"
		"Sudden volume like this usually means the password was stolen. Talk to\r\n"
		"the user, change the password:\r\n\r\n"
		"  postino user passwd %s --password-stdin\r\n\r\n"
		"then let the account send again:\r\n\r\n"
		"  postino user set %s %s\r\n\r\n"
		"Details: postino why %s --send\r\n"
		"         postino log --account %s --reason send.\r\n",
		hostname, to, date, suspend ? "Sending suspended for" : "Account disabled:", account,
		hold->since_ms, (long)getpid(), hostname, account, when, window, hold->messages,
		hold->recipients, hold->limit_messages, hold->limit_recipients, hold->exceeded,
		hold->ips[0] != '\0' ? hold->ips : "-",
		suspend ? "Its sending is suspended (can-send=no): it can still log in and read mail."
			: "The account is disabled: it can neither log in nor receive mail.",
		account, account, suspend ? "can-send=yes" : "disabled=no", account, account);
	*len_r = strlen(msg);
	return msg;
}
