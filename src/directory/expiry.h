/* SPDX-License-Identifier: ISC */
/*
 * expiry.h - password expiry warnings (F16): which mailboxes are due the
 * one "your password expires soon" mail, what it says, and the mark that
 * it went out for the current password.
 *
 * When a password expires is password.c's (password_expires_at), from the
 * max age in force that account.c reads with the mailbox (its own, or its
 * domain's default). The timer and the sending are queue/expiry-warn.c's:
 * this layer writes no mail.
 */
#ifndef POSTINO_EXPIRY_H
#define POSTINO_EXPIRY_H

#include "lib/lib.h"
#include "directory/directory.h"

struct db;

#define EXPIRY_REASON_SENT "notice.password-expiry"
#define EXPIRY_REASON_FAILED "notice.password-expiry-failed"
#define EXPIRY_SECONDS_PER_DAY 86400

/* Days left before expires_at, rounded up ("1 day" for the last hours);
 * 0 once it has passed. */
uint64_t expiry_days_left(int64_t expires_at, int64_t now);

/* expiry_warn_due - is a warning owed to a at now? Its password expires
 * (a max age is in force), has not expired yet, expires within warn_days
 * days (0 = never warn), and was not warned about; the mailbox can act on
 * it (not disabled) and receive the mail (can-receive). */
bool expiry_warn_due(const struct account *a, int64_t now, uint64_t warn_days);

/* Every mailbox expiry_warn_due() holds for, sorted by address. */
int expiry_due_list(struct db *db, int64_t now, uint64_t warn_days, struct account **accounts_r,
		    size_t *count_r);

/* expiry_claim - mark a's password warned at now, unless it was changed
 * or warned about since a was read (two looks never send twice): 1 =
 * claimed, send the mail; 0 = not; -1 on a database error. */
int expiry_claim(struct db *db, const struct account *a, int64_t now);
/* expiry_unclaim - the mail was not sent: the next look tries again. */
int expiry_unclaim(struct db *db, const struct account *a);

/* expiry_notice_compose - the warning as a complete message (CRLF): from
 * postmaster@hostname, Auto-Submitted: auto-generated (RFC 3834 5), when
 * the password expires, how to change it, and the exact words logins get
 * afterwards. Caller frees. */
char *expiry_notice_compose(const struct account *a, int64_t now, const char *hostname,
			    size_t *len_r);

#endif
