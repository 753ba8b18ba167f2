/* SPDX-License-Identifier: ISC */
/*
 * sendlimit.h - hijack detection (F21): an account that submits more
 * messages or recipients within a sliding window than its limits is
 * stopped from sending, the way a stolen password is usually noticed.
 *
 * The figures are send_log rows (one per accepted message, written by
 * policy_send_record). SMTP asks sendlimit_check() at MAIL (one more
 * message) and at RCPT (one more recipient on top of the transaction's);
 * over a limit the command is refused with send.rate-limited ("452 4.7.1
 * Too many messages in a short time") and sendlimit_trip() stops the
 * account: can-send=no (limits.send-action = suspend) or disabled, with
 * a reason that names the figures. A trip is recorded once (table
 * send_holds): the next attempts find the account stopped and get the
 * can-send refusal, and the postmaster is told once. Letting the account
 * send again (`postino user set ADDR can-send=yes`, or disabled=no) lifts
 * the hold through a trigger, and counting restarts from that moment.
 *
 * Limits come from limits.send-* and may be overridden per domain
 * (`postino domain set DOMAIN send-messages=N send-recipients=N`).
 */
#ifndef POSTINO_SENDLIMIT_H
#define POSTINO_SENDLIMIT_H

#include "lib/lib.h"

struct config;
struct db;

/* Reason codes (core/reason.c). */
#define SENDLIMIT_REASON_LIMITED "send.rate-limited"
#define SENDLIMIT_REASON_SUSPENDED "send.hijack-suspended"
#define SENDLIMIT_REASON_DISABLED "send.hijack-disabled"
#define SENDLIMIT_REASON_NOTIFIED "send.hijack-notified"
#define SENDLIMIT_REASON_NOTIFY_FAILED "send.hijack-notify-failed"

/* Who stopped the account, as disabled_by and the journal's actor. */
#define SENDLIMIT_ACTOR "hijack-detection"
/* send_log rows older than this are pruned (limits.send-window is at
 * most a week). */
#define SENDLIMIT_KEEP_MS (8LL * 86400 * 1000)
/* Client addresses named with a trip (the busiest first). */
#define SENDLIMIT_IPS_MAX 8
#define SENDLIMIT_IPS_TEXT_MAX 256
/* The one-line reason stored with a trip (fits `user set reason=`'s 200). */
#define SENDLIMIT_REASON_TEXT_MAX 200

enum sendlimit_action {
	SENDLIMIT_SUSPEND, /* can-send=no */
	SENDLIMIT_DISABLE, /* disabled=yes */
};

/* The limits as plain values, so a worker job can carry a copy. */
struct sendlimit_params {
	uint64_t messages;    /* per window; 0 = no limit */
	uint64_t recipients;  /* per window; 0 = no limit */
	int64_t window_ms;
	enum sendlimit_action action;
};

/* What a check found: the limits that apply and the figures. */
struct sendlimit_verdict {
	struct sendlimit_params limits; /* the domain's overrides applied */
	uint64_t messages;              /* accepted in the window */
	uint64_t recipients;            /* of those, plus the transaction's so far */
	int64_t since_ms;               /* the window's start (or the last lift) */
	int64_t now_ms;
	const char *exceeded;           /* "messages", "recipients", NULL = within */
};

/* A trip, as send_holds keeps it. */
struct sendlimit_hold {
	enum sendlimit_action action;
	int64_t since_ms;
	int64_t lifted_ms;              /* 0 while in force */
	char exceeded[16];
	uint64_t messages, recipients, limit_messages, limit_recipients;
	int64_t window_ms;
	char ips[SENDLIMIT_IPS_TEXT_MAX];        /* "192.0.2.7 x12, 198.51.100.1 x3" */
	char reason[SENDLIMIT_REASON_TEXT_MAX];  /* what `user show` and `why` print */
};

/* Wall clock in epoch milliseconds: send_log's time base. */
int64_t sendlimit_now_ms(void);
void sendlimit_params_from_config(const struct config *cfg, struct sendlimit_params *params_r);
const char *sendlimit_action_name(enum sendlimit_action action);
/* "1h", "90m", "45s": a window as the config would write it. */
void sendlimit_window_text(int64_t window_ms, char *dst, size_t size);

/* sendlimit_check - may account (normalised) send one more message
 * (tx_rcpts = 0, at MAIL) or one more recipient after tx_rcpts accepted
 * ones (at RCPT)? 0 = yes, 1 = over a limit, -1 = error; verdict_r is
 * filled either way. Cheap: two indexed reads. */
int sendlimit_check(struct db *db, const struct sendlimit_params *global, const char *account,
		    unsigned tx_rcpts, int64_t now_ms, struct sendlimit_verdict *verdict_r);

/* sendlimit_trip - stop account after verdict (over a limit): record the
 * hold, turn can-send off or disable it, journal send.hijack-suspended
 * or -disabled, all in one transaction. ip and sid are the session's
 * (may be NULL). 1 = stopped now (the caller tells the postmaster), 0 =
 * a hold was already in force (nothing changed), -1 = error. */
int sendlimit_trip(struct db *db, const char *account, const struct sendlimit_verdict *verdict,
		   const char *ip, const char *sid, struct sendlimit_hold *hold_r);

/* sendlimit_hold_get - the account's last trip: 1 = one in force, 2 = a
 * lifted one (history), 0 = never tripped, -1 = error. */
int sendlimit_hold_get(struct db *db, const char *account, struct sendlimit_hold *hold_r);

/* sendlimit_domain_get - a domain's overrides: -1 in *messages_r /
 * *recipients_r when it has none (the server's apply). 1/0/-1. */
int sendlimit_domain_get(struct db *db, const char *domain, int64_t *messages_r,
			 int64_t *recipients_r);

/* sendlimit_postmaster - where the notice for account's trip goes:
 * postmaster@<its domain> when that is a mailbox or alias here, else
 * configured (the postmaster key) when set, else postmaster@hostname.
 * Caller frees. */
char *sendlimit_postmaster(struct db *db, const char *account, const char *configured,
			   const char *hostname);

/* sendlimit_notice - the notice to the postmaster, a whole RFC 5322
 * message with CRLF line ends (caller frees): the account, the figures,
 * when, from which addresses and the command that lets it send again. */
char *sendlimit_notice(const char *account, const struct sendlimit_hold *hold, const char *to,
		       const char *hostname, size_t *len_r);

#endif
